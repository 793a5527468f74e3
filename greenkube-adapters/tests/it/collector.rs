//! The collector over the synthetic cluster into SQLite: windows stored once, a source that is
//! down degrades the figures with a reason naming it, the watermark resumes where it left, and
//! only an older node observation (the marked refusal) is not a store failure.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use greenkube_adapters::collector::{CollectError, Collector, CollectorConfig, Sources};
use greenkube_adapters::sources::synthetic::{SyntheticCluster, SyntheticConfig};
use greenkube_adapters::store::{self, Store};
use greenkube_core::GroupBy;
use greenkube_core::collect::due_windows;
use greenkube_core::ports::{
    CostSource, IntensityHistory, IntensityPoint, NodeHistory, NodeVersion, PodRowPager,
    ReportQuery, SourceError, SourceErrorKind, SourceKind, StoreError, StoreErrorKind, TimeRange,
    UsageSource, WindowUsage,
};
use greenkube_core::snapshot::{CostEntry, Node};

fn end() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 6, 30, 0, 0, 0).unwrap()
}

fn synthetic() -> Arc<SyntheticCluster> {
    Arc::new(SyntheticCluster::with_config(
        7,
        SyntheticConfig {
            now: end(),
            ..SyntheticConfig::default()
        },
    ))
}

/// A cost source that is down.
#[derive(Debug)]
struct DownCosts;

#[async_trait]
impl CostSource for DownCosts {
    async fn costs(&self, _: TimeRange) -> Result<Vec<CostEntry>, SourceError> {
        Err(SourceError::new(
            SourceKind::Opencost,
            SourceErrorKind::Unreachable,
            "connection refused",
        ))
    }
}

/// A usage source that is down.
#[derive(Debug)]
struct DownUsage;

#[async_trait]
impl UsageSource for DownUsage {
    async fn usage(&self, _: TimeRange, _: Duration) -> Result<Vec<WindowUsage>, SourceError> {
        Err(SourceError::new(
            SourceKind::Prometheus,
            SourceErrorKind::Timeout,
            "no answer in 30 s",
        ))
    }

    async fn nodes(&self, _: DateTime<Utc>) -> Result<Vec<Node>, SourceError> {
        Err(SourceError::new(
            SourceKind::Prometheus,
            SourceErrorKind::Timeout,
            "no answer in 30 s",
        ))
    }
}

async fn make_collector(url: &str, sources: Sources) -> (Collector, Store) {
    let repos = store::open(url).await.expect("store");
    let collector = Collector::new(
        sources,
        repos.collector_stores(),
        CollectorConfig {
            cluster: Some("demo".into()),
            ..CollectorConfig::default()
        },
    );
    (collector, repos)
}

fn all(cluster: &Arc<SyntheticCluster>) -> Sources {
    Sources {
        usage: Some(cluster.clone()),
        inventory: Some(cluster.clone()),
        costs: Some(cluster.clone()),
        intensity: Some(cluster.clone()),
        embodied: Some(cluster.clone()),
    }
}

async fn pod_rows(repos: &Store, range: TimeRange) -> usize {
    let mut pager = PodRowPager::new(repos.footprints.as_ref(), range, 1000);
    let mut n = 0;
    while let Some(rows) = pager.next_page().await.expect("pages") {
        n += rows.len();
    }
    n
}

#[tokio::test]
async fn windows_are_collected_once_and_resume_at_the_watermark() {
    let dir = tempfile::tempdir().expect("dir");
    let url = format!("sqlite://{}", dir.path().join("c.db").display());
    let cluster = synthetic();
    let (collector, repos) = make_collector(&url, all(&cluster)).await;
    let step = TimeDelta::minutes(5);
    let first_end = end() - TimeDelta::hours(1);
    assert_eq!(
        collector
            .watermark(first_end, TimeDelta::days(1))
            .await
            .unwrap(),
        None
    );
    let due = due_windows(None, first_end, step, TimeDelta::hours(2), usize::MAX);
    assert_eq!(due.len(), 24);
    let outcome = collector.collect(&due).await.expect("collects");
    assert_eq!(outcome.windows, 24);
    assert!(outcome.degraded.is_empty(), "{:?}", outcome.degraded);
    let stored = pod_rows(
        &repos,
        TimeRange::new(end() - TimeDelta::days(1), end()).unwrap(),
    )
    .await;
    assert_eq!(stored, outcome.pod_rows);

    // A restart an hour later owes exactly the 12 windows of the last hour.
    let mark = collector
        .watermark(end(), TimeDelta::days(1))
        .await
        .unwrap();
    assert_eq!(mark, Some(first_end));
    let due = due_windows(mark, end(), step, TimeDelta::hours(2), usize::MAX);
    assert_eq!(due.len(), 12);
    assert_eq!(due[0].from(), first_end);
    let second = collector.collect(&due).await.expect("collects");

    // Collecting the same windows again leaves one row per pod and window.
    collector.collect(&due).await.expect("again");
    let all_rows = pod_rows(
        &repos,
        TimeRange::new(end() - TimeDelta::days(1), end()).unwrap(),
    )
    .await;
    assert_eq!(all_rows, outcome.pod_rows + second.pod_rows);

    // Reports agree with the collected totals.
    let rows = repos
        .footprints
        .aggregate(&ReportQuery::new(
            TimeRange::new(end() - TimeDelta::days(1), end()).unwrap(),
            GroupBy::Namespace,
        ))
        .await
        .expect("report");
    let reported: usize = rows.iter().map(|r| r.rows).sum();
    assert_eq!(reported, all_rows);
    assert!(rows.len() >= 10, "namespaces: {}", rows.len());
}

#[tokio::test]
async fn a_source_that_is_down_degrades_the_window_with_a_reason_naming_it() {
    let cluster = synthetic();
    let mut sources = all(&cluster);
    sources.costs = Some(Arc::new(DownCosts));
    let (collector, repos) = make_collector("sqlite::memory:", sources).await;
    let due = due_windows(
        None,
        end(),
        TimeDelta::minutes(5),
        TimeDelta::minutes(10),
        10,
    );
    let outcome = collector.collect(&due).await.expect("collection goes on");
    assert_eq!(outcome.windows, 2);
    assert_eq!(outcome.degraded.len(), 1);
    assert_eq!(outcome.degraded[0].source, SourceKind::Opencost);
    let range = TimeRange::new(due[0].from(), end()).unwrap();
    let mut pager = PodRowPager::new(repos.footprints.as_ref(), range, 1000);
    let rows = pager.next_page().await.unwrap().expect("rows");
    assert!(
        rows.iter().all(|r| r.cost.is_none()),
        "no cost is ever a zero"
    );
    assert!(rows.iter().all(|r| r.estimated));
    assert!(
        rows[0]
            .estimation_reasons
            .iter()
            .any(|r| r
                .contains("opencost was unavailable for this window (unreachable); cost unknown")),
        "{:?}",
        rows[0].estimation_reasons
    );

    // Prometheus down: the window is still stored, usage unknown and flagged.
    let mut sources = all(&cluster);
    sources.usage = Some(Arc::new(DownUsage));
    let (collector, repos) = make_collector("sqlite::memory:", sources).await;
    let outcome = collector.collect(&due).await.expect("collection goes on");
    assert_eq!(outcome.degraded[0].source, SourceKind::Prometheus);
    let mut pager = PodRowPager::new(repos.footprints.as_ref(), range, 1000);
    let rows = pager
        .next_page()
        .await
        .unwrap()
        .expect("rows from the inventory");
    assert!(rows.iter().all(|r| r.cpu_usage_cores.is_none()));
    assert!(
        rows[0]
            .estimation_reasons
            .iter()
            .any(|r| r.starts_with("prometheus was unavailable"))
    );
}

#[tokio::test]
async fn with_neither_usage_nor_inventory_the_windows_are_left_for_later() {
    let sources = Sources {
        usage: Some(Arc::new(DownUsage)),
        ..Sources::default()
    };
    let (collector, _repos) = make_collector("sqlite::memory:", sources).await;
    let due = due_windows(
        None,
        end(),
        TimeDelta::minutes(5),
        TimeDelta::minutes(10),
        10,
    );
    let err = collector.collect(&due).await.expect_err("nothing to store");
    assert!(
        matches!(err, greenkube_adapters::collector::CollectError::NoData(_)),
        "{err}"
    );
    assert!(
        err.to_string().contains("left for the next attempt"),
        "{err}"
    );
    assert_eq!(
        collector
            .watermark(end(), TimeDelta::days(1))
            .await
            .unwrap(),
        None,
        "no window is marked collected"
    );
}

/// A node history that fails every `record_nodes` with `error`, and records nothing.
#[derive(Debug)]
struct RefusingHistory {
    inner: Arc<dyn NodeHistory>,
    error: fn() -> StoreError,
}

#[async_trait]
impl NodeHistory for RefusingHistory {
    fn backend(&self) -> &'static str {
        self.inner.backend()
    }

    async fn record_nodes(
        &self,
        _: Option<&str>,
        _: DateTime<Utc>,
        _: &[Node],
    ) -> Result<(), StoreError> {
        Err((self.error)())
    }

    async fn nodes_at(
        &self,
        cluster: Option<&str>,
        time: DateTime<Utc>,
    ) -> Result<Vec<Node>, StoreError> {
        self.inner.nodes_at(cluster, time).await
    }

    async fn node_versions(
        &self,
        cluster: Option<&str>,
        name: &str,
    ) -> Result<Vec<NodeVersion>, StoreError> {
        self.inner.node_versions(cluster, name).await
    }
}

/// A collector into a fresh in-memory SQLite store whose node history fails with `error`.
async fn refusing_collector(error: fn() -> StoreError) -> (Collector, Store) {
    let repos = store::open("sqlite::memory:").await.expect("store");
    (refusing_collector_over(&repos, error), repos)
}

/// A collector into `repos` whose node history fails with `error`.
fn refusing_collector_over(repos: &Store, error: fn() -> StoreError) -> Collector {
    let mut stores = repos.collector_stores();
    stores.nodes = Arc::new(RefusingHistory {
        inner: stores.nodes.clone(),
        error,
    });
    Collector::new(
        all(&synthetic()),
        stores,
        CollectorConfig {
            cluster: Some("demo".into()),
            ..CollectorConfig::default()
        },
    )
}

fn last_two_windows() -> Vec<TimeRange> {
    due_windows(
        None,
        end(),
        TimeDelta::minutes(5),
        TimeDelta::minutes(10),
        10,
    )
}

#[tokio::test]
async fn a_node_history_that_refuses_other_invalid_data_fails_the_batch() {
    // Not an older observation: the batch stops and nothing marks its windows done.
    let (collector, _repos) =
        refusing_collector(|| StoreError::invalid_data("sqlite", "node cannot be encoded")).await;
    let due = last_two_windows();
    let err = collector.collect(&due).await.expect_err("the store failed");
    let CollectError::Store(e) = err else {
        panic!("a store error: {err}");
    };
    assert_eq!(e.kind(), StoreErrorKind::InvalidData);
    assert_eq!(e.message(), "node cannot be encoded");
    let mark = collector.watermark(end(), TimeDelta::days(1)).await;
    assert_eq!(mark.expect("watermark"), None, "the windows are owed again");
}

#[tokio::test]
async fn an_unmarked_refusal_fails_even_a_backfill() {
    // A backfill behind newer windows, refused with a plain `InvalidData` that reads like an
    // older observation: only the marked refusal is ignored, so the batch fails and its
    // windows stay owed.
    let (newest, repos) = make_collector("sqlite::memory:", all(&synthetic())).await;
    newest
        .collect(&last_two_windows())
        .await
        .expect("the newest windows");
    let collector = refusing_collector_over(&repos, || {
        StoreError::invalid_data(
            "sqlite",
            "node observation at t is older than the latest recorded one",
        )
    });
    let older = due_windows(
        None,
        end() - TimeDelta::hours(1),
        TimeDelta::minutes(5),
        TimeDelta::minutes(10),
        10,
    );
    let err = collector
        .collect(&older)
        .await
        .expect_err("an unmarked refusal is a store failure");
    let CollectError::Store(e) = err else {
        panic!("a store error: {err}");
    };
    assert_eq!(e.kind(), StoreErrorKind::InvalidData);
    assert_eq!(e.refusal(), None);
    let span = TimeRange::new(older[0].from(), older[older.len() - 1].to()).expect("span");
    let archived = repos
        .archive
        .archived_windows(span)
        .await
        .expect("archived windows");
    assert!(
        archived.is_empty(),
        "the backfill is owed again: {archived:?}"
    );
}

#[tokio::test]
async fn an_older_node_observation_is_not_an_error() {
    // Marked by the store.
    let (collector, _repos) = refusing_collector(|| {
        StoreError::older_observation("memory", "node observation at t is older")
    })
    .await;
    let due = last_two_windows();
    let outcome = collector.collect(&due).await.expect("collects");
    assert_eq!(outcome.windows, 2);
    assert_eq!(
        collector
            .watermark(end(), TimeDelta::days(1))
            .await
            .unwrap(),
        Some(end())
    );

    // A real store, backfilling behind newer windows.
    let (collector, repos) = make_collector("sqlite::memory:", all(&synthetic())).await;
    collector.collect(&due).await.expect("the newest windows");
    let older = due_windows(
        None,
        end() - TimeDelta::hours(1),
        TimeDelta::minutes(5),
        TimeDelta::minutes(10),
        10,
    );
    let outcome = collector.collect(&older).await.expect("the backfill");
    assert_eq!(outcome.windows, 2);
    let nodes = repos
        .nodes
        .nodes_at(Some("demo"), end() - TimeDelta::minutes(1))
        .await
        .expect("nodes");
    assert!(!nodes.is_empty(), "the newest observation stays");
}

/// The synthetic usage with one unusable CPU sample in the batch's first window (the answer's
/// second: the collector asks from one step earlier, for restart deltas), as the Prometheus
/// source reports one: the pod's figure unknown, the value listed as dropped.
#[derive(Debug)]
struct OneBadSample(Arc<SyntheticCluster>);

#[async_trait]
impl UsageSource for OneBadSample {
    async fn usage(
        &self,
        range: TimeRange,
        step: Duration,
    ) -> Result<Vec<WindowUsage>, SourceError> {
        let mut windows = self.0.usage(range, step).await?;
        if let Some(first) = windows.get_mut(1)
            && let Some(pod) = first.pods.first_mut()
        {
            pod.cpu_usage_cores = None;
            first.dropped.push(format!(
                "CPU of {}/{} in the window starting {}: NaN (not a number)",
                pod.namespace, pod.pod, first.window_start
            ));
        }
        Ok(windows)
    }

    async fn nodes(&self, at: DateTime<Utc>) -> Result<Vec<Node>, SourceError> {
        self.0.nodes(at).await
    }
}

#[tokio::test]
async fn one_unusable_sample_costs_one_figure_not_the_range() {
    let cluster = synthetic();
    let mut sources = all(&cluster);
    sources.usage = Some(Arc::new(OneBadSample(cluster.clone())));
    let (collector, repos) = make_collector("sqlite::memory:", sources).await;
    let due = due_windows(None, end(), TimeDelta::minutes(5), TimeDelta::hours(1), 100);
    assert_eq!(due.len(), 12);
    let outcome = collector.collect(&due).await.expect("every window stored");
    assert_eq!(outcome.windows, 12);
    // The first window is stored whole, the bad figure unknown and flagged, and its snapshot
    // keeps the dropped value, so its footprint warns about it.
    let snapshot = repos
        .archive
        .snapshot(Some("demo"), due[0].from())
        .await
        .unwrap()
        .expect("archived");
    assert_eq!(snapshot.dropped_values.len(), 1);
    let bad = &snapshot.pods[0];
    assert_eq!(bad.cpu_usage_cores, None);
    let footprint =
        greenkube_core::estimate(&snapshot, &greenkube_core::EstimateOptions::default()).unwrap();
    assert!(
        footprint
            .warnings
            .iter()
            .any(|w| w.starts_with("1 unusable value(s) from the sources dropped")),
        "{:?}",
        footprint.warnings
    );
    let row = footprint
        .pods
        .iter()
        .find(|p| p.namespace == bad.namespace && p.pod == bad.name)
        .expect("the pod is still there");
    // Its row names the dropped value: which figure, which pod, which window, what and why.
    let named = row
        .reasons
        .own
        .iter()
        .map(ToString::to_string)
        .find(|r| r.starts_with("unusable value dropped: "))
        .unwrap_or_else(|| panic!("no dropped-value reason in {:?}", row.reasons.own));
    assert_eq!(
        named,
        format!("unusable value dropped: {}", snapshot.dropped_values[0])
    );
    assert!(
        named.contains(&format!("of {}/{} in the window", bad.namespace, bad.name)),
        "{named}"
    );
    // No other row of the window carries it.
    let others = footprint
        .pods
        .iter()
        .filter(|p| {
            p.reasons
                .own
                .iter()
                .any(|r| r.to_string().starts_with("unusable"))
        })
        .count();
    assert_eq!(others, 1);
    // The other windows are untouched.
    let second = repos
        .archive
        .snapshot(Some("demo"), due[1].from())
        .await
        .unwrap()
        .expect("archived");
    assert!(second.dropped_values.is_empty());
}

/// A run that rolls up and cuts after each batch, as of the batch's end
/// (`maintain_each_batch`, the demo's way), leaves the store as a run maintained once at the
/// end does: the same reports by hour, by day and in total, read from raw rows, hourly and
/// daily roll-ups alike. Batches of 50 windows end mid-hour, so hours rolled up early are
/// rolled up again when the rest of their rows come; the short retention makes every level
/// cut during the run. The final maintenance then has nothing left to cut.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn maintaining_each_batch_ends_as_maintaining_once_at_the_end() {
    use greenkube_adapters::app::NoProgress;
    use greenkube_adapters::app::collect::{Stop, run_windows};
    use greenkube_core::Period;
    use greenkube_core::ports::RetentionPolicy;

    let span = TimeDelta::days(2);
    let due = due_windows(None, end(), TimeDelta::minutes(5), span, usize::MAX);
    assert_eq!(due.len(), 576);
    let retention = RetentionPolicy::new(
        TimeDelta::hours(6),
        TimeDelta::hours(12),
        Some(TimeDelta::days(400)),
    )
    .expect("a retention");
    let range = TimeRange::new(end() - span, end()).expect("range");
    let dir = tempfile::tempdir().expect("temp dir");
    let mut runs = Vec::new();
    for each_batch in [true, false] {
        let url = format!(
            "sqlite://{}",
            dir.path().join(format!("each-{each_batch}.db")).display()
        );
        let repos = store::open(&url).await.expect("store");
        let collector = Collector::new(
            all(&synthetic()),
            repos.collector_stores(),
            CollectorConfig {
                cluster: Some("demo".into()),
                retention,
                maintain_each_batch: each_batch,
                ..CollectorConfig::default()
            },
        );
        let summary = run_windows(&collector, &due, 50, 0, &Stop::new(), &NoProgress)
            .await
            .expect("collects");
        assert_eq!(summary.windows, 576);
        let last = collector.maintain(end()).await.expect("maintains");
        let mut reports = Vec::new();
        // Hourly detail is kept for the last 12 hours only (the store refuses it before).
        let last_day = TimeRange::new(end() - TimeDelta::days(1), end()).expect("range");
        for (range, group, period) in [
            (last_day, GroupBy::Namespace, Some(Period::Hour)),
            (range, GroupBy::Workload, Some(Period::Day)),
            (range, GroupBy::Node, None),
        ] {
            let rows = repos
                .footprints
                .aggregate(&ReportQuery::new(range, group).with_period(period))
                .await
                .expect("reports");
            assert!(!rows.is_empty());
            reports.push(serde_json::to_value(&rows).expect("serialises"));
        }
        runs.push((reports, last));
    }
    let (each, at_end) = (&runs[0], &runs[1]);
    assert_eq!(
        each.1.raw_rows_deleted, 0,
        "maintained as it went: nothing raw left to cut"
    );
    assert!(at_end.1.raw_rows_deleted > 0, "{:?}", at_end.1);
    assert!(at_end.1.hourly_rows_deleted > 0, "{:?}", at_end.1);
    assert_eq!(each.0, at_end.0, "the same history either way");
}

/// An intensity source whose recent history the test revises between batches.
#[derive(Debug)]
struct RevisedHistory(std::sync::Mutex<Vec<(i64, f64)>>);

#[async_trait]
impl greenkube_core::ports::IntensitySource for RevisedHistory {
    async fn latest(&self, zone: &str) -> Result<IntensityPoint, SourceError> {
        let mut history = self.history(zone).await?;
        Ok(history.pop().expect("a point"))
    }

    async fn history(&self, zone: &str) -> Result<Vec<IntensityPoint>, SourceError> {
        let points = self.0.lock().expect("lock").clone();
        Ok(points
            .into_iter()
            .map(|(hours_before_end, value)| IntensityPoint {
                zone: zone.to_owned(),
                at: end() - TimeDelta::hours(hours_before_end),
                gco2e_per_kwh: value,
                source: "revised".to_owned(),
            })
            .collect())
    }

    async fn forecast(&self, _: &str) -> Result<Vec<IntensityPoint>, SourceError> {
        Ok(Vec::new())
    }
}

/// An intensity history that remembers what it was asked to store.
#[derive(Debug)]
struct CountingPuts {
    inner: Arc<dyn IntensityHistory>,
    puts: std::sync::Mutex<Vec<IntensityPoint>>,
}

#[async_trait]
impl IntensityHistory for CountingPuts {
    fn backend(&self) -> &'static str {
        self.inner.backend()
    }

    async fn put_intensities(&self, points: &[IntensityPoint]) -> Result<(), StoreError> {
        self.puts.lock().expect("lock").extend_from_slice(points);
        self.inner.put_intensities(points).await
    }

    async fn intensity_at(
        &self,
        zone: &str,
        time: DateTime<Utc>,
        max_age: chrono::Duration,
    ) -> Result<Option<IntensityPoint>, StoreError> {
        self.inner.intensity_at(zone, time, max_age).await
    }

    async fn intensities(
        &self,
        zone: &str,
        range: TimeRange,
    ) -> Result<Vec<IntensityPoint>, StoreError> {
        self.inner.intensities(zone, range).await
    }
}

/// The collector stores the intensity source's history once: a batch whose source answers
/// what is already stored writes nothing (such a write would wait for the store's lock while
/// the previous batch is being stored), and a revised or new point is stored when it comes.
#[tokio::test]
async fn intensity_history_is_stored_once_and_again_when_revised() {
    let repos = store::open("sqlite::memory:").await.expect("store");
    let source = Arc::new(RevisedHistory(std::sync::Mutex::new(vec![
        (3, 100.0),
        (2, 110.0),
        (1, 120.0),
    ])));
    let puts = Arc::new(CountingPuts {
        inner: repos.intensities.clone(),
        puts: std::sync::Mutex::new(Vec::new()),
    });
    let mut stores = repos.collector_stores();
    stores.intensities = puts.clone();
    let mut sources = all(&synthetic());
    sources.intensity = Some(source.clone());
    let collector = Collector::new(
        sources,
        stores,
        CollectorConfig {
            cluster: Some("demo".into()),
            ..CollectorConfig::default()
        },
    );
    let windows = due_windows(
        None,
        end(),
        TimeDelta::minutes(5),
        TimeDelta::minutes(15),
        10,
    );
    let taken = |puts: &CountingPuts| std::mem::take(&mut *puts.puts.lock().expect("lock"));

    collector.collect(&windows[..1]).await.expect("first batch");
    let first = taken(&puts);
    let zones: std::collections::BTreeSet<String> = first.iter().map(|p| p.zone.clone()).collect();
    assert!(!zones.is_empty());
    assert_eq!(
        first.len(),
        3 * zones.len(),
        "the whole history, once a zone"
    );

    collector
        .collect(&windows[1..2])
        .await
        .expect("second batch");
    assert_eq!(taken(&puts), [], "nothing new: nothing written");

    {
        let mut history = source.0.lock().expect("lock");
        history[2].1 = 125.0; // revised
        history.push((0, 130.0)); // new
    }
    collector
        .collect(&windows[2..3])
        .await
        .expect("third batch");
    let third = taken(&puts);
    assert_eq!(third.len(), 2 * zones.len(), "{third:?}");
    let zone = zones.first().expect("a zone");
    let range =
        TimeRange::new(end() - TimeDelta::hours(4), end() + TimeDelta::hours(1)).expect("range");
    let stored: Vec<f64> = repos
        .intensities
        .intensities(zone, range)
        .await
        .expect("reads")
        .iter()
        .map(|p| p.gco2e_per_kwh)
        .collect();
    assert_eq!(stored, [100.0, 110.0, 125.0, 130.0]);
}
