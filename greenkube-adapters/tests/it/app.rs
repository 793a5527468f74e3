//! The shared use cases over one store opened once (`sqlite::memory:` holds rows and archive in
//! the same database only when the store is opened once).

use std::sync::Mutex;

use chrono::{DateTime, TimeZone, Utc};
use greenkube_adapters::app::collect::Stop;
use greenkube_adapters::app::demo::{Demo, DemoPlan};
use greenkube_adapters::app::recommend::{Change, change, records, save_scan, scan};
use greenkube_adapters::app::restate::restate;
use greenkube_adapters::app::{AppError, NoProgress, Progress, report};
use greenkube_adapters::store::{self, Store};
use greenkube_core::ports::{ReportQuery, TimeRange};
use greenkube_core::recommend::{AppliedValues, RecommendationStatus, RecommenderConfig};
use greenkube_core::{EstimateOptions, GroupBy, Methodology, ReferenceData};

fn end() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 6, 3, 0, 0, 0).unwrap()
}

/// Counts what a use case reports.
#[derive(Debug, Default)]
struct Counted {
    total: Mutex<usize>,
    done: Mutex<usize>,
    finished: Mutex<bool>,
}

impl Progress for Counted {
    fn start(&self, total: usize, _what: &str) {
        *self.total.lock().unwrap() = total;
    }
    fn advance(&self, done: usize) {
        *self.done.lock().unwrap() += done;
    }
    fn finish(&self) {
        *self.finished.lock().unwrap() = true;
    }
}

/// One day of the demo cluster in a store opened once from `sqlite::memory:`.
async fn demo_store() -> (Store, Demo) {
    let store = store::open("sqlite::memory:").await.expect("opens");
    let demo = Demo::new(DemoPlan {
        seed: 7,
        days: 1,
        end: end(),
    })
    .expect("plan");
    let progress = Counted::default();
    let loaded = demo
        .load(&store, &Stop::new(), &progress)
        .await
        .expect("loads");
    assert_eq!(loaded.summary.windows, 288);
    assert_eq!(*progress.total.lock().unwrap(), 288);
    assert_eq!(*progress.done.lock().unwrap(), 288);
    assert!(*progress.finished.lock().unwrap());
    (store, demo)
}

/// Recommendations from the demo's archived windows, with the defaults.
async fn scan_demo(
    store: &Store,
    demo: &Demo,
) -> Result<greenkube_adapters::app::recommend::Scan, AppError> {
    scan(
        store,
        demo.range,
        RecommenderConfig::default(),
        Some(&demo.inventory()),
        ReferenceData::embedded(),
    )
    .await
}

fn total_co2e(rows: &[greenkube_core::AggregateRow]) -> f64 {
    rows.iter().map(|r| r.co2e_grams.point).sum()
}

#[tokio::test]
async fn one_store_holds_rows_and_archive_and_the_use_cases_read_both() {
    let (store, demo) = demo_store().await;
    let report = report::report(&store, &ReportQuery::new(demo.range, GroupBy::Cluster))
        .await
        .expect("report");
    assert_eq!(report.rows.len(), 1);
    assert_eq!(report.rows[0].key.cluster.as_deref(), Some("demo"));
    assert!(total_co2e(&report.rows) > 0.0);
    assert!(!report.widened);
    // The archive is in the same database as the rows.
    let found = scan_demo(&store, &demo).await.expect("scan");
    assert_eq!(found.windows, 288);
    assert!(!found.recommendations.is_empty());
    // Loading the same plan again finds every window stored.
    let again = demo
        .load(&store, &Stop::new(), &NoProgress)
        .await
        .expect("loads again");
    assert!(
        again.due.is_empty(),
        "{} windows due again",
        again.due.len()
    );
}

/// The demo's recommendations from the footprints it collected (a fresh store) are the ones a
/// scan of the store finds, field for field; a second run, which collects nothing, scans the
/// store and finds them again. Tested on a file, where the writes and the archive take the
/// paths a user's demo takes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_scan_while_loading_is_the_scan_of_the_store() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("demo.db").display());
    let store = store::open(&url).await.expect("opens");
    let demo = Demo::new(DemoPlan {
        seed: 11,
        days: 2,
        end: end(),
    })
    .expect("plan");
    let (loaded, observed) = demo
        .load_and_scan(
            &store,
            &Stop::new(),
            &NoProgress,
            RecommenderConfig::default(),
        )
        .await
        .expect("loads and scans");
    assert_eq!(loaded.summary.windows, 576);
    let observed = observed.expect("not stopped");
    let scanned = scan_demo(&store, &demo).await.expect("scan");
    assert_eq!(observed.windows, 576);
    assert!(!observed.read_back, "a first run observes what it collects");
    assert_eq!(scanned.windows, 576);
    assert!(scanned.read_back);
    assert!(!scanned.recommendations.is_empty());
    assert_eq!(
        serde_json::to_value(&observed.recommendations).unwrap(),
        serde_json::to_value(&scanned.recommendations).unwrap(),
        "observed while loading = scanned from the store"
    );
    let (again, rescanned) = demo
        .load_and_scan(
            &store,
            &Stop::new(),
            &NoProgress,
            RecommenderConfig::default(),
        )
        .await
        .expect("second run");
    assert!(again.due.is_empty());
    let rescanned = rescanned.expect("not stopped");
    assert_eq!(rescanned.windows, 576);
    assert!(
        rescanned.read_back,
        "a second run collects nothing: it reads the store"
    );
    assert_eq!(
        serde_json::to_value(&rescanned.recommendations).unwrap(),
        serde_json::to_value(&scanned.recommendations).unwrap()
    );
    // The archive holds every window, each readable.
    let windows = store
        .archive
        .archived_windows(demo.range)
        .await
        .expect("lists");
    assert_eq!(windows.len(), 576);
    store.close().await;
}

#[tokio::test]
async fn restate_dry_run_predicts_what_restating_stores() {
    let (store, demo) = demo_store().await;
    let classic = EstimateOptions {
        methodology: Methodology::Classic,
        ..EstimateOptions::default()
    };
    let dry = restate(&store, demo.range, &classic, true, &NoProgress)
        .await
        .expect("dry run");
    assert_eq!(dry.windows, 288);
    assert!(!dry.stored);
    let before = total_co2e(&dry.before);
    let predicted = total_co2e(&dry.after);
    assert!(
        (before - predicted).abs() > 1e-6 * before,
        "classic differs from full"
    );
    // Nothing was written by the dry run.
    let unchanged = report::report(&store, &ReportQuery::new(demo.range, GroupBy::Cluster))
        .await
        .unwrap();
    assert!((total_co2e(&unchanged.rows) - before).abs() <= 1e-9 * before);

    let progress = Counted::default();
    let done = restate(&store, demo.range, &classic, false, &progress)
        .await
        .expect("restates");
    assert!(done.stored);
    assert_eq!(*progress.done.lock().unwrap(), 288);
    let stored = total_co2e(&done.after);
    assert!(
        (stored - predicted).abs() <= 1e-6 * predicted,
        "stored {stored} vs predicted {predicted}"
    );
}

#[tokio::test]
async fn restate_refuses_invalid_options() {
    let store = store::open("sqlite::memory:").await.unwrap();
    let range = TimeRange::new(end() - chrono::TimeDelta::hours(1), end()).unwrap();
    let bad = EstimateOptions {
        default_intensity: Some(-1.0),
        ..EstimateOptions::default()
    };
    let err = restate(&store, range, &bad, true, &NoProgress)
        .await
        .expect_err("refused");
    assert!(matches!(err, AppError::Invalid(_)), "{err}");
}

#[tokio::test]
async fn saved_scans_keep_their_lifecycle() {
    let (store, demo) = demo_store().await;
    let found = scan_demo(&store, &demo).await.unwrap();
    let fresh = found.recommendations;
    let saved = save_scan(&store, &fresh, end()).await.unwrap();
    assert_eq!(saved.new, fresh.len());
    assert_eq!(saved.stale, 0);
    let first = &fresh[0].id;
    // A unique prefix is enough.
    let ignored = change(
        &store,
        &first[..10],
        Change::Ignore {
            reason: Some("planned".into()),
        },
        end(),
    )
    .await
    .expect("ignores");
    assert_eq!(ignored.status, RecommendationStatus::Ignored);
    assert_eq!(ignored.ignored_reason.as_deref(), Some("planned"));
    // The same scan again: nothing new, the ignored one reported so a front end hides it.
    let again = save_scan(&store, &fresh, end()).await.unwrap();
    assert_eq!(again.new, 0);
    assert_eq!(again.ignored, vec![first.clone()]);
    assert_eq!(
        records(&store, Some(RecommendationStatus::Ignored))
            .await
            .unwrap()
            .len(),
        1
    );
    // An empty scan: the active ones become stale, the ignored one stays ignored.
    let empty = save_scan(&store, &[], end()).await.unwrap();
    assert_eq!(empty.stale, fresh.len() - 1);
    let back = change(&store, first, Change::Unignore, end())
        .await
        .unwrap();
    assert_eq!(back.status, RecommendationStatus::Active);
    assert!(matches!(
        change(
            &store,
            "zzzz-no-such-id",
            Change::Apply(AppliedValues::default()),
            end()
        )
        .await,
        Err(AppError::NotFound(_))
    ));
    assert!(matches!(
        change(&store, "  ", Change::Apply(AppliedValues::default()), end()).await,
        Err(AppError::Invalid(_))
    ));
    assert_eq!(records(&store, None).await.unwrap().len(), fresh.len());
}

#[tokio::test]
async fn a_stop_asked_before_a_batch_stores_nothing() {
    let store = store::open("sqlite::memory:").await.unwrap();
    let demo = Demo::new(DemoPlan {
        seed: 7,
        days: 1,
        end: end(),
    })
    .unwrap();
    let stop = Stop::new();
    stop.request();
    let loaded = demo.load(&store, &stop, &NoProgress).await.unwrap();
    assert!(loaded.summary.stopped);
    assert_eq!(loaded.summary.windows, 0);
    assert_eq!(loaded.due.len(), 288, "every window stays due");
    let report = report::report(&store, &ReportQuery::new(demo.range, GroupBy::Cluster))
        .await
        .unwrap();
    assert!(report.rows.is_empty());
}

#[test]
fn demo_plans_out_of_range_are_refused() {
    for days in [0, 367] {
        let err = Demo::new(DemoPlan {
            seed: 1,
            days,
            end: end(),
        })
        .expect_err("refused");
        assert!(err.to_string().contains("between 1 and 366"), "{err}");
    }
}

/// Sum of operational CO2e of a report, for comparing reads of several clusters.
fn co2e_of(report: &report::Report) -> f64 {
    total_co2e(&report.rows)
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

#[tokio::test]
async fn every_read_can_keep_one_cluster() {
    use greenkube_adapters::app::dashboard::{self, Scope};
    use greenkube_adapters::app::score::score;
    use std::collections::HashSet;

    let (store, demo) = demo_store().await;
    let before = scan_demo(&store, &demo).await.unwrap();
    assert!(
        before
            .recommendations
            .iter()
            .all(|r| r.cluster.as_deref() == Some("demo")),
        "every recommendation names its cluster"
    );

    // A second cluster, `edge`: the demo's last 12 windows archived and stored again.
    let windows = store.archive.archived_windows(demo.range).await.unwrap();
    let mut edge_footprints = Vec::new();
    for (_, start) in windows.iter().rev().take(12) {
        let mut snapshot = store
            .archive
            .snapshot(Some("demo"), *start)
            .await
            .unwrap()
            .expect("archived");
        snapshot.cluster = Some("edge".into());
        store.archive.archive(&snapshot).await.unwrap();
        edge_footprints
            .push(greenkube_core::estimate(&snapshot, &EstimateOptions::default()).unwrap());
    }
    store
        .footprints
        .write_footprints(&edge_footprints)
        .await
        .unwrap();

    // Reports: each cluster alone, and together their sum.
    let query = |cluster: Option<&str>| {
        ReportQuery::new(demo.range, GroupBy::Namespace).in_cluster(cluster.map(Into::into))
    };
    let all = report::report(&store, &query(None)).await.unwrap();
    let demo_only = report::report(&store, &query(Some("demo"))).await.unwrap();
    let edge = report::report(&store, &query(Some("edge"))).await.unwrap();
    let nowhere = report::report(&store, &query(Some("nowhere")))
        .await
        .unwrap();
    assert!(nowhere.rows.is_empty());
    let edge_want: f64 = edge_footprints
        .iter()
        .flat_map(|f| f.pods.iter())
        .map(|p| p.co2e_grams.point)
        .sum();
    assert!(
        close(co2e_of(&edge), edge_want),
        "{} vs {edge_want}",
        co2e_of(&edge)
    );
    assert!(close(co2e_of(&all), co2e_of(&demo_only) + co2e_of(&edge)));
    assert!(co2e_of(&edge) < co2e_of(&demo_only));

    // The dashboard's reads follow the scope's cluster.
    let edge_scope = Scope::default().in_cluster(Some("edge".to_string()));
    let summary = dashboard::summary(&store, demo.range, &edge_scope)
        .await
        .unwrap();
    assert!(close(summary.totals.co2e_grams.point, edge_want));
    let namespaces = dashboard::by_namespace(&store, demo.range, &edge_scope)
        .await
        .unwrap();
    let by_namespace: f64 = namespaces.iter().map(|g| g.totals.co2e_grams.point).sum();
    assert!(close(by_namespace, edge_want));

    // The score of one cluster reads that cluster's windows only.
    let (_, read) = score(&store, demo.range, Some("edge"), None).await.unwrap();
    assert_eq!(read, 12);
    let (_, read) = score(&store, demo.range, None, None).await.unwrap();
    assert_eq!(read, 288 + 12);

    // A scan analyses each cluster on its own: every finding names its cluster, and the same
    // finding in two clusters is two recommendations with two ids.
    let found = scan_demo(&store, &demo).await.unwrap();
    let clusters: HashSet<Option<&str>> = found
        .recommendations
        .iter()
        .map(|r| r.cluster.as_deref())
        .collect();
    assert_eq!(clusters, HashSet::from([Some("demo"), Some("edge")]));
    let ids: HashSet<&str> = found
        .recommendations
        .iter()
        .map(|r| r.id.as_str())
        .collect();
    assert_eq!(ids.len(), found.recommendations.len(), "ids are unique");
    let demo_found = found
        .recommendations
        .iter()
        .filter(|r| r.cluster.as_deref() == Some("demo"))
        .count();
    assert_eq!(demo_found, before.recommendations.len());
}

/// Two clusters with the same pod names and other labels: a label report reads each cluster's
/// pods with that cluster's labels, and a report of one cluster sees only its own.
#[tokio::test]
async fn label_reports_never_mix_the_pods_of_two_clusters() {
    use greenkube_adapters::app::report::{ReportRequest, report_request};
    use greenkube_core::testsuite::fixtures::{at, footprint, methodology};
    use greenkube_core::{Grouping, LabelSelector};
    use std::sync::Arc;

    let store = store::open("sqlite::memory:").await.expect("opens");
    let m = methodology(Methodology::Full, "gkdata-0123456789ab");
    let t0 = at(2025, 6, 2, 10, 0);
    let a = footprint(Some("a"), t0, 1, &m);
    let mut b = footprint(Some("b"), t0, 2, &m);
    // In cluster b, every labelled pod belongs to team "b-team".
    for pod in &mut b.pods {
        if let Some(labels) = &pod.labels {
            let mut labels = (**labels).clone();
            labels.insert("team".into(), "b-team".into());
            pod.labels = Some(Arc::new(labels));
        }
    }
    store
        .footprints
        .write_footprints(&[a.clone(), b.clone()])
        .await
        .expect("writes");
    let range = TimeRange::new(t0, t0 + chrono::Duration::hours(1)).unwrap();
    let total = |pods: &[greenkube_core::PodFootprint]| -> f64 {
        pods.iter().map(|p| p.total_co2e_grams().point).sum()
    };
    let team = |p: &greenkube_core::PodFootprint, wanted: &str| {
        p.labels
            .as_ref()
            .and_then(|l| l.get("team"))
            .is_some_and(|t| t == wanted)
    };
    let request =
        |cluster: Option<&str>, labels: Vec<LabelSelector>, grouping: Grouping| ReportRequest {
            labels,
            ..ReportRequest::new(
                ReportQuery::new(range, GroupBy::Namespace).in_cluster(cluster.map(Arc::from)),
                grouping,
            )
        };
    let storefront = vec!["team=storefront".parse().unwrap()];
    let both = report_request(
        &store,
        &request(None, storefront.clone(), GroupBy::Namespace.into()),
    )
    .await
    .expect("reports");
    let expected: Vec<_> = a
        .pods
        .iter()
        .filter(|p| team(p, "storefront"))
        .cloned()
        .collect();
    assert!(!expected.is_empty());
    let sum = |rows: &[greenkube_core::AggregateRow]| -> f64 {
        rows.iter().map(|r| r.total_co2e_grams().point).sum()
    };
    assert!(close(sum(&both.rows), total(&expected)), "{:?}", both.rows);
    assert_eq!(both.pods_without_labels, 0);
    let only_b = report_request(
        &store,
        &request(Some("b"), storefront, GroupBy::Namespace.into()),
    )
    .await
    .expect("reports");
    assert!(only_b.rows.is_empty(), "cluster b has no storefront pod");
    let by_team = report_request(
        &store,
        &request(None, Vec::new(), Grouping::Label("team".into())),
    )
    .await
    .expect("reports");
    let b_team: Vec<_> = b
        .pods
        .iter()
        .filter(|p| team(p, "b-team"))
        .cloned()
        .collect();
    let row = by_team
        .rows
        .iter()
        .find(|r| r.key.label.as_ref().and_then(|(_, v)| v.as_deref()) == Some("b-team"))
        .expect("a b-team row");
    assert!(close(row.total_co2e_grams().point, total(&b_team)));
    assert!(close(
        by_team
            .rows
            .iter()
            .map(|r| r.total_co2e_grams().point)
            .sum(),
        total(&a.pods) + total(&b.pods)
    ));
    // Node groups take no label filter.
    let refused = report_request(
        &store,
        &request(None, vec!["team=x".parse().unwrap()], GroupBy::Node.into()),
    )
    .await
    .expect_err("refused");
    assert!(matches!(refused, AppError::Invalid(_)), "{refused}");
}
