//! The demo: a synthetic cluster's history loaded into a store through the real collector.

use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use greenkube_core::collect::{WindowInputs, assemble, due_windows};
use greenkube_core::ports::{IntensityPoint, RetentionPolicy, TimeRange, floor_time};
use greenkube_core::{EstimateOptions, Inventory, ReferenceData};

use greenkube_core::recommend::{Recommender, RecommenderConfig};

use super::collect::{RunSummary, Stop, run_windows_observed};
use super::recommend::{self, Scan};
use super::{AppError, Progress};
use crate::collector::{Collector, CollectorConfig, Gathered, Sources};
use crate::sources::synthetic::{SyntheticCluster, SyntheticConfig};
use crate::store::Store;

/// Windows per batch: one day of five-minute windows per transaction.
pub const BATCH: usize = 288;
/// The demo cluster's name.
pub const CLUSTER: &str = "demo";
/// The demo's window length.
pub const STEP: TimeDelta = TimeDelta::minutes(5);

/// What to load.
#[derive(Debug, Clone, Copy)]
pub struct DemoPlan {
    /// Seed of the synthetic cluster: same seed and end, same data.
    pub seed: u64,
    /// Days of history (1 to 366).
    pub days: u32,
    /// The end of the history (rounded down to the hour).
    pub end: DateTime<Utc>,
}

/// The demo's synthetic cluster and range, before anything is loaded.
#[derive(Debug, Clone)]
pub struct Demo {
    /// The synthetic cluster (also its inventory for the recommender).
    pub cluster: Arc<SyntheticCluster>,
    /// The range of the history.
    pub range: TimeRange,
    /// The plan.
    pub plan: DemoPlan,
}

impl Demo {
    /// The synthetic cluster and range of a plan.
    pub fn new(plan: DemoPlan) -> Result<Self, AppError> {
        if plan.days == 0 || plan.days > 366 {
            return Err(AppError::Invalid(
                "the demo's days must be between 1 and 366".to_string(),
            ));
        }
        let end = floor_time(plan.end, TimeDelta::hours(1));
        let range = TimeRange::new(end - TimeDelta::days(i64::from(plan.days)), end)
            .map_err(|e| AppError::Invalid(format!("invalid demo end: {e}")))?;
        let cluster = Arc::new(SyntheticCluster::with_config(
            plan.seed,
            SyntheticConfig {
                now: end,
                ..SyntheticConfig::default()
            },
        ));
        Ok(Self {
            cluster,
            range,
            plan,
        })
    }

    /// The cluster's nodes and autoscalers, for the recommender.
    pub fn inventory(&self) -> Inventory {
        Inventory {
            nodes: self.cluster.cluster_nodes().to_vec(),
            hpas: self.cluster.hpas().to_vec(),
        }
    }

    /// Loads the history into `store`: hourly grid intensities as if Electricity Maps had been
    /// collected all along, then every window not stored yet through the collector (a second
    /// run with the same plan finds them all stored), rolled up and cut after each day stored
    /// (as of its end, as a collector running all along would have), and once more at the end.
    pub async fn load(
        &self,
        store: &Store,
        stop: &Stop,
        progress: &dyn Progress,
    ) -> Result<Loaded, AppError> {
        self.load_observed(store, stop, progress, &mut |_| {}).await
    }

    /// Loads the history ([`Demo::load`]) and scans it for recommendations as
    /// [`recommend::scan`] scans a store, with the cluster's inventory. When this run collected
    /// every window the store archives in the range (a first run into a fresh store), the
    /// recommender observes the footprints as they are collected, which gives what a scan of
    /// the store gives without reading it back; otherwise (a second run, a store holding other
    /// windows) the store is scanned. `None` when a stop cut the load short.
    pub async fn load_and_scan(
        &self,
        store: &Store,
        stop: &Stop,
        progress: &dyn Progress,
        config: RecommenderConfig,
    ) -> Result<(Loaded, Option<Scan>), AppError> {
        let inventory = self.inventory();
        let reference = ReferenceData::embedded();
        let mut recommender = Recommender::new(config.clone(), Some(&inventory));
        let mut observed = 0usize;
        let loaded = self
            .load_observed(store, stop, progress, &mut |gathered| {
                for footprint in &gathered.footprints {
                    recommender.observe(footprint);
                }
                observed += gathered.footprints.len();
            })
            .await?;
        if loaded.summary.stopped {
            return Ok((loaded, None));
        }
        let archived = store.archive.archived_windows(self.range).await?.len();
        let scan = if observed > 0 && observed == archived {
            Scan {
                recommendations: recommender.finish(reference),
                windows: observed,
                read_back: false,
            }
        } else {
            recommend::scan(store, self.range, config, Some(&inventory), reference).await?
        };
        Ok((loaded, Some(scan)))
    }

    async fn load_observed(
        &self,
        store: &Store,
        stop: &Stop,
        progress: &dyn Progress,
        observe: &mut (dyn FnMut(&Gathered) + Send),
    ) -> Result<Loaded, AppError> {
        let cluster = &self.cluster;
        let (range, end) = (self.range, self.range.to());
        let probe = assemble(
            end - STEP,
            end,
            WindowInputs {
                metric_nodes: cluster.cluster_nodes(),
                ..WindowInputs::default()
            },
        );
        let zones = greenkube_core::zones_of(
            &probe,
            &EstimateOptions::default(),
            ReferenceData::embedded(),
        );
        let mut points = Vec::new();
        let mut at = range.from();
        while at < range.to() {
            for zone in &zones {
                if let Some(intensity) = cluster.intensity_at(zone, at) {
                    points.push(IntensityPoint {
                        zone: zone.clone(),
                        at,
                        gco2e_per_kwh: intensity,
                        source: "synthetic".to_string(),
                    });
                }
            }
            at += TimeDelta::hours(1);
        }
        store.intensities.put_intensities(&points).await?;

        let collector = Collector::new(
            Sources {
                usage: Some(cluster.clone()),
                inventory: Some(cluster.clone()),
                costs: Some(cluster.clone()),
                intensity: Some(cluster.clone()),
                embodied: Some(cluster.clone()),
            },
            store.collector_stores(),
            CollectorConfig {
                cluster: Some(CLUSTER.to_string()),
                step: STEP,
                retention: RetentionPolicy::default(),
                // Rolled up and cut day by day while the next day is read, not all at the end:
                // the same store, but its file never holds the whole history raw (90 days:
                // 229 MB instead of 956 MB).
                maintain_each_batch: true,
                ..CollectorConfig::default()
            },
        );
        let span = range.to() - range.from();
        let watermark = collector
            .watermark(end, span + TimeDelta::days(1))
            .await?
            .filter(|w| *w > range.from());
        let due = due_windows(watermark, end, STEP, span, usize::MAX);
        let summary =
            run_windows_observed(&collector, &due, BATCH, 0, stop, progress, observe).await?;
        if !summary.stopped {
            collector.maintain(end).await?;
        }
        Ok(Loaded { due, summary })
    }
}

/// What loading the demo did.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The windows that were not stored yet (empty on a second run).
    pub due: Vec<TimeRange>,
    /// What was stored.
    pub summary: RunSummary,
}
