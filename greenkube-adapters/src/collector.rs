//! The collector: for each window, ask the sources (concurrently), build the snapshot, estimate
//! it and store it, so each window is collected once and survives a source that is down.
//!
//! * **Watermark.** The archive of snapshots is the record of what was collected: a window is
//!   done when its snapshot is archived, and the archive is written *after* its footprints. A
//!   crash between the two leaves the window to be collected again, which rewrites the same rows
//!   (writes are idempotent); nothing is lost or doubled.
//! * **Batches.** Windows are collected a batch at a time (usage for the whole batch in one
//!   range query, footprints in one transaction), so backfilling days of history is quick.
//! * **Degradation.** A source that fails does not stop collection: its part of the window is
//!   missing, the snapshot records a [`SourceNote`], and every figure of the window carries a
//!   reason naming the source. Only the store failing stops a batch (nothing of it is kept, and
//!   the same windows are collected again on the next attempt).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, TimeDelta, Utc};
use greenkube_core::collect::{WindowInputs, assemble};
use greenkube_core::ports::{
    ClusterInventory, CostSource, EmbodiedSource, FootprintRepository, IntensityHistory,
    IntensityPoint, IntensitySource, InventorySource, MaintenanceSummary, NodeHistory, Refusal,
    RetentionPolicy, SnapshotArchive, SourceError, SourceKind, SourceNote, StoreError, TimeRange,
    UsageSource, WindowUsage,
};
use greenkube_core::snapshot::EmbodiedEntry;
use greenkube_core::units::GramsPerKwh;
use greenkube_core::{EstimateOptions, Footprint, ReferenceData, Snapshot, SnapshotError};

/// The data sources of a collector. Only usage is required; a source left out is simply not
/// used (its absence is not a degradation: the engine's own fallbacks and reasons apply).
#[derive(Clone, Default)]
pub struct Sources {
    /// Per-pod usage (Prometheus).
    pub usage: Option<Arc<dyn UsageSource>>,
    /// Nodes, pods, autoscalers (Kubernetes).
    pub inventory: Option<Arc<dyn InventorySource>>,
    /// Cost per pod (OpenCost).
    pub costs: Option<Arc<dyn CostSource>>,
    /// Grid intensity (Electricity Maps).
    pub intensity: Option<Arc<dyn IntensitySource>>,
    /// Embodied emissions per instance type (Boavizta).
    pub embodied: Option<Arc<dyn EmbodiedSource>>,
}

impl fmt::Debug for Sources {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sources")
            .field("usage", &self.usage.is_some())
            .field("inventory", &self.inventory.is_some())
            .field("costs", &self.costs.is_some())
            .field("intensity", &self.intensity.is_some())
            .field("embodied", &self.embodied.is_some())
            .finish()
    }
}

/// Where a collector keeps what it collects.
#[derive(Clone)]
pub struct Stores {
    /// Footprint rows.
    pub footprints: Arc<dyn FootprintRepository>,
    /// Archived snapshots (the watermark).
    pub archive: Arc<dyn SnapshotArchive>,
    /// Nodes as a history of changes.
    pub nodes: Arc<dyn NodeHistory>,
    /// Grid intensities.
    pub intensities: Arc<dyn IntensityHistory>,
}

impl fmt::Debug for Stores {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Stores")
            .field("footprints", &self.footprints.backend())
            .finish_non_exhaustive()
    }
}

/// How a collector works.
#[derive(Debug, Clone)]
pub struct CollectorConfig {
    /// Cluster name recorded with every window.
    pub cluster: Option<String>,
    /// Window length.
    pub step: TimeDelta,
    /// Estimation options (methodology, idle policy, defaults).
    pub options: EstimateOptions,
    /// Retention applied after each batch.
    pub retention: RetentionPolicy,
    /// Oldest measured intensity used for a window.
    pub intensity_max_age: TimeDelta,
    /// Whether a run of many batches ([`crate::app::collect::run_windows`]) rolls up and
    /// applies retention after each batch it stores, as of that batch's end (as a collector
    /// running all along would have), instead of leaving it all to the caller at the end. The
    /// store then never holds much more than the raw retention's rows, and the work overlaps
    /// with reading the next batch. Off by default; the demo turns it on.
    pub maintain_each_batch: bool,
}

impl Default for CollectorConfig {
    /// Five-minute windows, the default methodology, the default retention, intensities up to
    /// two hours old.
    fn default() -> Self {
        Self {
            cluster: None,
            step: TimeDelta::minutes(5),
            options: EstimateOptions::default(),
            retention: RetentionPolicy::default(),
            intensity_max_age: TimeDelta::hours(2),
            maintain_each_batch: false,
        }
    }
}

/// Why a batch could not be collected.
#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    /// The store failed: nothing of the batch is kept; collect the same windows again later.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A snapshot the sources produced is not valid (a bug in a source adapter, or data the
    /// engine refuses): the batch is not stored.
    #[error("window {window}: {source}")]
    Snapshot {
        /// Start of the window.
        window: DateTime<Utc>,
        /// The engine's error.
        source: SnapshotError,
    },
    /// No usage source is configured.
    #[error("no usage source (Prometheus) is configured")]
    NoUsageSource,
    /// Neither the usage source nor the inventory answered, so there is nothing to store: the
    /// windows are left for the next attempt (storing them empty would lose them for good).
    #[error("nothing to collect, the windows are left for the next attempt: {0}")]
    NoData(SourceError),
}

/// What one batch stored.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BatchOutcome {
    /// Windows stored.
    pub windows: usize,
    /// Pod rows stored.
    pub pod_rows: usize,
    /// Sources that failed during the batch (one note per source).
    pub degraded: Vec<SourceNote>,
    /// Sum of the windows' total CO2e (operational + embodied), grams (point estimates).
    pub co2e_grams: f64,
}

/// Windows read from the sources and estimated, not yet stored.
#[derive(Debug, Clone, Default)]
pub struct Gathered {
    /// The snapshots, oldest first.
    pub snapshots: Vec<Snapshot>,
    /// Their footprints, in the same order.
    pub footprints: Vec<Footprint>,
    /// What storing them stores.
    pub outcome: BatchOutcome,
}

/// Collects windows from [`Sources`] into [`Stores`].
#[derive(Debug)]
pub struct Collector {
    sources: Sources,
    stores: Stores,
    config: CollectorConfig,
    reference: &'static ReferenceData,
    embodied_memo: Mutex<HashMap<(String, String), Option<EmbodiedEntry>>>,
    /// Per zone, the intensity history this collector last stored (the source's last answer).
    intensity_memo: Mutex<HashMap<String, Vec<IntensityPoint>>>,
}

impl Collector {
    /// A collector over these sources and stores.
    pub fn new(sources: Sources, stores: Stores, config: CollectorConfig) -> Self {
        Self {
            sources,
            stores,
            config,
            reference: ReferenceData::embedded(),
            embodied_memo: Mutex::new(HashMap::new()),
            intensity_memo: Mutex::new(HashMap::new()),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &CollectorConfig {
        &self.config
    }

    /// The end of the last collected window of this cluster that started in
    /// `[now - lookback, now)`, or `None` when none was.
    pub async fn watermark(
        &self,
        now: DateTime<Utc>,
        lookback: TimeDelta,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        let from = now.checked_sub_signed(lookback).unwrap_or(now);
        let range = TimeRange::new(from, now)
            .map_err(|e| StoreError::invalid_data(self.stores.archive.backend(), e.to_string()))?;
        let cluster = self.config.cluster.as_deref().filter(|c| !c.is_empty());
        let windows = self.stores.archive.archived_windows(range).await?;
        Ok(windows
            .into_iter()
            .filter(|(c, _)| c.as_deref().filter(|c| !c.is_empty()) == cluster)
            .map(|(_, start)| start + self.config.step)
            .max())
    }

    /// Collects `windows` (consecutive, oldest first, each one step long) as one batch: gathers
    /// them ([`Collector::gather`]) and keeps them ([`Collector::keep`]).
    pub async fn collect(&self, windows: &[TimeRange]) -> Result<BatchOutcome, CollectError> {
        let gathered = self.gather(windows).await?;
        self.keep(&gathered).await?;
        Ok(gathered.outcome)
    }

    /// Reads `windows` (consecutive, oldest first, each one step long) from the sources and
    /// estimates them, without storing them: the snapshots and their footprints. Measured grid
    /// intensities the source gives are kept in the intensity history on the way (the windows
    /// read them back from there).
    pub async fn gather(&self, windows: &[TimeRange]) -> Result<Gathered, CollectError> {
        let (Some(first), Some(last)) = (windows.first(), windows.last()) else {
            return Ok(Gathered::default());
        };
        let usage_source = self
            .sources
            .usage
            .as_ref()
            .ok_or(CollectError::NoUsageSource)?;
        // One window more before the batch: restart counters are cumulative, and the restarts
        // of a window are the difference with the window before.
        let span = TimeRange::new(first.from() - self.config.step, last.to()).unwrap_or(*first);
        let step = self
            .config
            .step
            .to_std()
            .unwrap_or(std::time::Duration::from_secs(300));
        let mut notes: Vec<SourceNote> = Vec::new();

        // Usage for the whole batch and the inventory, concurrently; the metric nodes window by
        // window below (the nodes of one instant applied to a whole batch would give a window
        // nodes it did not have, and make the figures depend on where batches start).
        let inventory_fut = async {
            match &self.sources.inventory {
                Some(s) => Some(s.inventory().await),
                None => None,
            }
        };
        let (usage, inventory) = tokio::join!(usage_source.usage(span, step), inventory_fut);
        let mut usage_error = None;
        let usage: BTreeMap<DateTime<Utc>, WindowUsage> = match usage {
            Ok(windows) => restarts_per_window(windows, self.config.step),
            Err(e) => {
                notes.push(SourceNote::from(&e));
                usage_error = Some(e);
                BTreeMap::new()
            }
        };
        let inventory: Option<ClusterInventory> = match inventory {
            Some(Ok(i)) => Some(i),
            Some(Err(e)) => {
                notes.push(SourceNote::from(&e));
                None
            }
            None => None,
        };
        let usage_failed = usage_error.is_some();
        if let Some(e) = usage_error
            && inventory.is_none()
        {
            return Err(CollectError::NoData(e));
        }

        let mut footprints: Vec<Footprint> = Vec::with_capacity(windows.len());
        let mut snapshots: Vec<Snapshot> = Vec::with_capacity(windows.len());
        let mut outcome = BatchOutcome::default();
        let mut batch_intensities: Option<BatchIntensities> = None;
        for window in windows {
            let mut window_notes = notes.clone();
            let metric_nodes = match usage_source.nodes(window.from()).await {
                Ok(nodes) => nodes,
                Err(e) => {
                    // One note per source: a failed usage call has already made it.
                    if !usage_failed {
                        window_notes.push(SourceNote::from(&e));
                    }
                    Vec::new()
                }
            };
            let costs = match &self.sources.costs {
                Some(s) => match s.costs(*window).await {
                    Ok(c) => c,
                    Err(e) => {
                        window_notes.push(SourceNote::from(&e));
                        Vec::new()
                    }
                },
                None => Vec::new(),
            };
            let mut snapshot = assemble(
                window.from(),
                window.to(),
                WindowInputs {
                    cluster: self.config.cluster.as_deref().map(Arc::from),
                    inventory: inventory.as_ref(),
                    metric_nodes: &metric_nodes,
                    usage: usage.get(&window.from()),
                    costs,
                    degraded_sources: window_notes,
                    ..WindowInputs::default()
                },
            );
            if batch_intensities.is_none() {
                let zones =
                    greenkube_core::zones_of(&snapshot, &self.config.options, self.reference);
                batch_intensities = Some(self.intensities(&zones, span).await?);
            }
            if let Some(b) = &batch_intensities {
                b.apply(&mut snapshot, window.from(), self.config.intensity_max_age);
            }
            self.add_embodied(&mut snapshot).await;
            let fp = greenkube_core::estimate_with(&snapshot, &self.config.options, self.reference)
                .map_err(|source| CollectError::Snapshot {
                    window: window.from(),
                    source,
                })?;
            outcome.windows += 1;
            outcome.pod_rows += fp.pods.len();
            outcome.co2e_grams += fp.totals.co2e_grams.point + fp.totals.embodied_co2e_grams.point;
            for n in &snapshot.degraded_sources {
                if !outcome.degraded.iter().any(|d| d.source == n.source) {
                    outcome.degraded.push(n.clone());
                }
            }
            footprints.push(fp);
            snapshots.push(snapshot);
        }
        Ok(Gathered {
            snapshots,
            footprints,
            outcome,
        })
    }

    /// Stores what [`Collector::gather`] read: the footprints first (one transaction), the
    /// nodes of the last window, then the archive that marks the windows done (one transaction
    /// too). The snapshots are packed for the archive while the footprints are written: the
    /// write runs on the store's thread (or server), the packing on this one.
    pub async fn keep(&self, gathered: &Gathered) -> Result<(), StoreError> {
        let archive = &self.stores.archive;
        let write = self
            .stores
            .footprints
            .write_footprints(&gathered.footprints);
        let pack = async {
            let mut packed = Vec::with_capacity(gathered.snapshots.len());
            for snapshot in &gathered.snapshots {
                packed.push(archive.pack(snapshot)?);
                // Lets the runtime run other tasks between two snapshots.
                tokio::task::yield_now().await;
            }
            Ok::<_, StoreError>(packed)
        };
        let (written, packed) = tokio::join!(write, pack);
        written?;
        let packed = packed?;
        if let Some(last) = gathered.snapshots.last() {
            self.record_nodes(last).await?;
        }
        archive.archive_packed(&packed).await
    }

    /// Records the nodes of a batch's last window. Node observations arrive in window order, so
    /// one older than the latest recorded (a backfill behind newer windows) is refused by the
    /// store, marked [`Refusal::OlderObservation`], and is not an error for the collector; any
    /// other failure is, an unmarked `InvalidData` included.
    async fn record_nodes(&self, last: &Snapshot) -> Result<(), StoreError> {
        let cluster = last.cluster.as_deref();
        let Err(e) = self
            .stores
            .nodes
            .record_nodes(cluster, last.window_start, &last.nodes)
            .await
        else {
            return Ok(());
        };
        match e.refusal() {
            Some(Refusal::OlderObservation) => Ok(()),
            _ => Err(e),
        }
    }

    /// Rolls up and applies retention as of `now`.
    pub async fn maintain(&self, now: DateTime<Utc>) -> Result<MaintenanceSummary, StoreError> {
        self.stores
            .footprints
            .maintain(&self.config.retention, now)
            .await
    }

    /// Measured intensities for a batch: the source's recent history of each zone (the adapter
    /// caches per zone and hour) is kept in the intensity history, and the points the batch's
    /// windows may use are read back once.
    async fn intensities(
        &self,
        zones: &BTreeSet<String>,
        span: TimeRange,
    ) -> Result<BatchIntensities, StoreError> {
        let mut out = BatchIntensities::default();
        let Some(source) = &self.sources.intensity else {
            return Ok(out);
        };
        let from = span
            .from()
            .checked_sub_signed(self.config.intensity_max_age)
            .unwrap_or(span.from());
        let range = TimeRange::new(from, span.to()).unwrap_or(span);
        for zone in zones {
            match source.history(zone).await {
                Ok(points) if !points.is_empty() => {
                    // Only what this collector has not stored already: the source answers the
                    // same recent history batch after batch, and each write would wait for the
                    // store's lock while the previous batch is being stored.
                    let new: Vec<IntensityPoint> = {
                        let memo = self.intensity_memo();
                        let stored = memo.get(zone).map_or(&[][..], Vec::as_slice);
                        points
                            .iter()
                            .filter(|p| !stored.contains(p))
                            .cloned()
                            .collect()
                    };
                    if !new.is_empty() {
                        self.stores.intensities.put_intensities(&new).await?;
                    }
                    self.intensity_memo().insert(zone.clone(), points);
                }
                Ok(_) => {}
                Err(e) => out.failed = Some(SourceNote::from(&e)),
            }
            let points = self.stores.intensities.intensities(zone, range).await?;
            out.points.insert(zone.clone(), points);
        }
        Ok(out)
    }

    /// Embodied figures for the instance types of the window's nodes, asked once per process
    /// for each type (the source adapter may cache across processes).
    async fn add_embodied(&self, snapshot: &mut Snapshot) {
        let Some(source) = &self.sources.embodied else {
            return;
        };
        let types: BTreeSet<(String, String)> = snapshot
            .nodes
            .iter()
            .filter_map(|n| {
                Some((
                    n.provider.as_deref()?.to_ascii_lowercase(),
                    n.instance_type.as_deref()?.to_string(),
                ))
            })
            .collect();
        for key in types {
            let known = self.memo().get(&key).cloned();
            let entry = match known {
                Some(entry) => entry,
                None => match source.embodied(&key.0, &key.1).await {
                    Ok(figure) => {
                        let entry = figure.map(|f| EmbodiedEntry {
                            provider: Arc::from(key.0.as_str()),
                            instance_type: Arc::from(key.1.as_str()),
                            kgco2e: f.kgco2e,
                            lifespan_hours: Some(f.duration_hours),
                        });
                        self.memo().insert(key.clone(), entry.clone());
                        entry
                    }
                    Err(e) => {
                        if !snapshot
                            .degraded_sources
                            .iter()
                            .any(|n| n.source == SourceKind::Boavizta)
                        {
                            snapshot.degraded_sources.push(SourceNote::from(&e));
                        }
                        None
                    }
                },
            };
            if let Some(entry) = entry {
                snapshot.embodied.push(entry);
            }
        }
    }

    fn intensity_memo(&self) -> std::sync::MutexGuard<'_, HashMap<String, Vec<IntensityPoint>>> {
        self.intensity_memo
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn memo(&self) -> std::sync::MutexGuard<'_, HashMap<(String, String), Option<EmbodiedEntry>>> {
        self.embodied_memo
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The measured intensities a batch's windows may use, per zone, oldest first.
#[derive(Debug, Default)]
struct BatchIntensities {
    points: BTreeMap<String, Vec<IntensityPoint>>,
    failed: Option<SourceNote>,
}

impl BatchIntensities {
    /// Puts each zone's latest point at or before `at` (no older than `max_age`) into the
    /// snapshot, and records a failed source.
    fn apply(&self, snapshot: &mut Snapshot, at: DateTime<Utc>, max_age: TimeDelta) {
        for (zone, points) in &self.points {
            let latest = points
                .iter()
                .rev()
                .find(|p| p.at <= at)
                .filter(|p| at - p.at <= max_age);
            if let Some(p) = latest {
                snapshot
                    .grid_intensity
                    .insert(zone.clone(), GramsPerKwh(p.gco2e_per_kwh));
            }
        }
        if let Some(note) = &self.failed
            && !snapshot
                .degraded_sources
                .iter()
                .any(|n| n.source == note.source)
        {
            snapshot.degraded_sources.push(note.clone());
        }
    }
}

/// A pod in a window: (window start, namespace, pod).
type PodAt = (DateTime<Utc>, Arc<str>, Arc<str>);

/// Turns the cumulative restart counts of the usage port into restarts during each window: the
/// difference with the previous window's count for the same pod (the count itself after a
/// counter reset, or when the pod has no count in the previous window).
fn restarts_per_window(
    windows: Vec<WindowUsage>,
    step: TimeDelta,
) -> BTreeMap<DateTime<Utc>, WindowUsage> {
    let mut by_start: BTreeMap<DateTime<Utc>, WindowUsage> =
        windows.into_iter().map(|w| (w.window_start, w)).collect();
    let totals: HashMap<PodAt, u64, foldhash::fast::RandomState> = by_start
        .values()
        .flat_map(|w| {
            w.pods.iter().filter_map(move |p| {
                p.restarts
                    .map(|r| ((w.window_start, p.namespace.clone(), p.pod.clone()), r))
            })
        })
        .collect();
    for w in by_start.values_mut() {
        let previous = w.window_start - step;
        for p in &mut w.pods {
            if let Some(now) = p.restarts {
                let before = totals.get(&(previous, p.namespace.clone(), p.pod.clone()));
                p.restarts = Some(match before {
                    Some(b) if *b <= now => now - b,
                    _ => now,
                });
            }
        }
    }
    by_start
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use greenkube_core::ports::PodUsage;

    use super::*;

    fn window(minute: u32, counts: &[(&str, Option<u64>)]) -> WindowUsage {
        WindowUsage {
            dropped: Vec::new(),
            window_start: Utc.with_ymd_and_hms(2025, 6, 2, 10, minute, 0).unwrap(),
            pods: counts
                .iter()
                .map(|(pod, restarts)| PodUsage {
                    namespace: "ns".into(),
                    pod: (*pod).into(),
                    node: None,
                    cpu_usage_cores: None,
                    memory_usage_bytes: None,
                    restarts: *restarts,
                })
                .collect(),
        }
    }

    #[test]
    fn restarts_are_counted_per_window() {
        let windows = vec![
            window(0, &[("a", Some(3)), ("b", Some(1))]),
            window(5, &[("a", Some(5)), ("b", Some(0)), ("c", Some(2))]),
            window(10, &[("a", Some(5)), ("b", None)]),
        ];
        let out = restarts_per_window(windows, TimeDelta::minutes(5));
        let counts = |minute: u32| -> Vec<Option<u64>> {
            let t = Utc.with_ymd_and_hms(2025, 6, 2, 10, minute, 0).unwrap();
            out[&t].pods.iter().map(|p| p.restarts).collect()
        };
        // The first window has nothing before it: its cumulative count stays.
        assert_eq!(counts(0), [Some(3), Some(1)]);
        // a: 5 - 3; b: the counter was reset (0 < 1); c: new pod.
        assert_eq!(counts(5), [Some(2), Some(0), Some(2)]);
        assert_eq!(counts(10), [Some(0), None]);
    }
}
