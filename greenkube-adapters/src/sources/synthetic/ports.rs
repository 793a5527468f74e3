//! The five source ports over a synthetic cluster: usage and nodes (Prometheus), the inventory
//! (Kubernetes), costs (OpenCost), grid intensity (Electricity Maps) and embodied figures
//! (Boavizta).

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use greenkube_core::ports::{
    ClusterInventory, CostSource, EmbodiedFigure, EmbodiedSource, IntensityPoint, IntensitySource,
    InventorySource, SourceError, SourceErrorKind, SourceKind, TimeRange, UsageSource, WindowUsage,
};
use greenkube_core::{CostEntry, Node, Provider, ReferenceData};

use super::grid::intensity_error;
use super::{FORECAST_SOURCE, INTENSITY_SOURCE, MAX_WINDOWS, Scratch, SyntheticCluster};

#[async_trait]
impl UsageSource for SyntheticCluster {
    async fn usage(
        &self,
        range: TimeRange,
        step: Duration,
    ) -> Result<Vec<WindowUsage>, SourceError> {
        let step_ms = i64::try_from(step.as_millis()).unwrap_or(i64::MAX);
        if step_ms <= 0 {
            return Err(SourceError::new(
                SourceKind::Prometheus,
                SourceErrorKind::BadResponse,
                format!("synthetic usage: the window length {step:?} is shorter than 1 ms"),
            ));
        }
        let (from, to) = (
            range.from().timestamp_millis(),
            range.to().timestamp_millis(),
        );
        let span = to.saturating_sub(from).max(0);
        let windows = span / step_ms + i64::from(span % step_ms != 0);
        if usize::try_from(windows).map_or(true, |w| w > MAX_WINDOWS) {
            return Err(SourceError::new(
                SourceKind::Prometheus,
                SourceErrorKind::BadResponse,
                format!("synthetic usage: {windows} windows asked, at most {MAX_WINDOWS} answered"),
            ));
        }
        let mut out = Vec::with_capacity(windows as usize);
        let mut scratch = Scratch::default();
        for k in 0..windows {
            let start = from + k * step_ms;
            let end = start.saturating_add(step_ms);
            let (Some(s), Some(e)) = (
                DateTime::from_timestamp_millis(start),
                DateTime::from_timestamp_millis(end),
            ) else {
                break;
            };
            out.push(self.usage_window(s, e, &mut scratch));
        }
        Ok(out)
    }

    async fn nodes(&self, _at: DateTime<Utc>) -> Result<Vec<Node>, SourceError> {
        Ok(self.nodes.clone())
    }
}

#[async_trait]
impl InventorySource for SyntheticCluster {
    async fn inventory(&self) -> Result<ClusterInventory, SourceError> {
        Ok(ClusterInventory {
            nodes: self.nodes.clone(),
            pods: self.pods.clone(),
            hpas: self.hpas.clone(),
        })
    }
}

#[async_trait]
impl CostSource for SyntheticCluster {
    async fn costs(&self, range: TimeRange) -> Result<Vec<CostEntry>, SourceError> {
        Ok(self.costs_in(range))
    }
}

#[async_trait]
impl IntensitySource for SyntheticCluster {
    async fn latest(&self, zone: &str) -> Result<IntensityPoint, SourceError> {
        self.intensity_points(zone, 0..=0, INTENSITY_SOURCE)?
            .pop()
            .ok_or_else(|| intensity_error(zone, "no point"))
    }

    async fn history(&self, zone: &str) -> Result<Vec<IntensityPoint>, SourceError> {
        self.intensity_points(zone, -23..=0, INTENSITY_SOURCE)
    }

    async fn forecast(&self, zone: &str) -> Result<Vec<IntensityPoint>, SourceError> {
        self.intensity_points(zone, 1..=24, FORECAST_SOURCE)
    }
}

#[async_trait]
impl EmbodiedSource for SyntheticCluster {
    async fn embodied(
        &self,
        provider: &str,
        instance_type: &str,
    ) -> Result<Option<EmbodiedFigure>, SourceError> {
        let Ok(reference) = ReferenceData::try_embedded() else {
            return Ok(None);
        };
        let provider = Provider::parse(provider);
        if provider == Provider::Unknown {
            return Ok(None);
        }
        Ok(reference
            .embodied(provider, instance_type)
            .map(|fig| EmbodiedFigure {
                kgco2e: fig.kgco2e.point,
                kgco2e_min: fig.kgco2e.low,
                kgco2e_max: fig.kgco2e.high,
                duration_hours: fig.lifespan_hours,
            }))
    }
}
