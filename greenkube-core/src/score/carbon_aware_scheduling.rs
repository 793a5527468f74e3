//! `carbon_aware_scheduling` (weight 0.10): workloads that run when their grid is dirtier than
//! their zone's average.

use std::sync::Arc;

use super::{Dimension, Mean, ScoreConfig, count, measured, no_data};
use crate::fastmap::FastMap;
use crate::footprint::{NodeFootprint, PodFootprint};

/// The time-weighted mean grid intensity of each zone, from node rows.
#[derive(Debug, Default)]
pub(super) struct ZoneIntensity {
    zones: FastMap<Arc<str>, Mean>,
}

impl ZoneIntensity {
    /// Adds a node row of a window of `seconds`.
    pub(super) fn observe(&mut self, row: &NodeFootprint, seconds: f64) {
        let intensity = row.node.grid_intensity.point;
        if let Some(zone) = &row.node.zone
            && intensity > 0.0
            && intensity.is_finite()
        {
            self.zones
                .entry(zone.clone())
                .or_default()
                .add(intensity, seconds);
        }
    }

    fn mean(&self, zone: &str) -> Option<f64> {
        self.zones.get(zone).and_then(Mean::mean)
    }
}

/// The grid intensity a workload ran at, and the zone it ran in last.
#[derive(Debug, Default)]
pub(super) struct WorkloadIntensity {
    by_energy: Mean,
    by_time: Mean,
    zone: Option<Arc<str>>,
}

impl WorkloadIntensity {
    /// Adds a pod row of the workload, of a window of `seconds`, with this energy.
    pub(super) fn observe(&mut self, pod: &PodFootprint, seconds: f64, energy: f64) {
        let intensity = pod.node.grid_intensity.point;
        if !(intensity > 0.0 && intensity.is_finite()) {
            return;
        }
        self.by_time.add(intensity, seconds);
        if energy > 0.0 {
            self.by_energy.add(intensity, energy);
        }
        if let Some(zone) = &pod.node.zone
            && self.zone.as_deref() != Some(zone.as_ref())
        {
            self.zone = Some(zone.clone());
        }
    }

    /// Energy-weighted mean intensity (time-weighted without energy).
    fn mean(&self) -> Option<f64> {
        self.by_energy.mean().or(self.by_time.mean())
    }
}

/// `(1 − workloads above ratio × their zone's mean / workloads with a zone) × 100`.
pub(super) fn dimension<'a>(
    workloads: impl Iterator<Item = &'a WorkloadIntensity>,
    zones: &ZoneIntensity,
    config: &ScoreConfig,
) -> Dimension {
    let ratio = config.carbon_aware_ratio;
    let mut judged = 0u64;
    let mut high = 0u64;
    for workload in workloads {
        let Some(zone_mean) = workload
            .zone
            .as_deref()
            .and_then(|zone| zones.mean(zone))
            .filter(|mean| *mean > 0.0)
        else {
            continue;
        };
        let Some(mean) = workload.mean() else {
            continue;
        };
        judged += 1;
        high += u64::from(mean > ratio * zone_mean);
    }
    if judged == 0 {
        return no_data(5, "no workload ran in a zone with a known grid intensity");
    }
    measured(
        5,
        (1.0 - high as f64 / judged as f64) * 100.0,
        format!(
            "{} of {} workloads ran at a mean grid intensity above {ratio} × their zone's mean",
            count(high),
            count(judged)
        ),
    )
}
