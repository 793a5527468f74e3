//! The contract of the history repositories: one async function per rule. Run them all against
//! a backend with `history_contract_suite!`.

use std::any::Any;
use std::sync::Arc;

use chrono::Duration;

use super::fixtures::{at, snapshot};
use crate::ports::{
    EmbodiedCache, EmbodiedCacheEntry, IntensityHistory, IntensityPoint, LedgerEntry, NodeHistory,
    RecommendationStore, Refusal, SavingsLedger, SnapshotArchive, StoreErrorKind, TimeRange,
};
use crate::recommend::{RecommendationRecord, RecommendationStatus, RecommendationType, reconcile};
use crate::snapshot::Node;
use crate::units::Cores;

/// A backend under test: one implementation of every history port (usually the same object), and
/// what must outlive it.
pub struct HistoryFixture {
    /// Snapshot archive.
    pub archive: Arc<dyn SnapshotArchive>,
    /// Node history.
    pub nodes: Arc<dyn NodeHistory>,
    /// Intensity history.
    pub intensities: Arc<dyn IntensityHistory>,
    /// Recommendations.
    pub recommendations: Arc<dyn RecommendationStore>,
    /// Savings ledger.
    pub ledger: Arc<dyn SavingsLedger>,
    /// Embodied cache.
    pub embodied: Arc<dyn EmbodiedCache>,
    guard: Option<Box<dyn Any + Send>>,
}

impl HistoryFixture {
    /// One object implementing every port.
    pub fn all<T>(store: T) -> Self
    where
        T: SnapshotArchive
            + NodeHistory
            + IntensityHistory
            + RecommendationStore
            + SavingsLedger
            + EmbodiedCache
            + 'static,
    {
        let store = Arc::new(store);
        Self {
            archive: store.clone(),
            nodes: store.clone(),
            intensities: store.clone(),
            recommendations: store.clone(),
            ledger: store.clone(),
            embodied: store,
            guard: None,
        }
    }

    /// Keeps something alive (a temporary directory, a server) as long as the fixture.
    #[must_use]
    pub fn with_guard(mut self, guard: impl Any + Send) -> Self {
        self.guard = Some(Box::new(guard));
        self
    }
}

fn range(from: (i32, u32, u32), to: (i32, u32, u32)) -> TimeRange {
    TimeRange::new(at(from.0, from.1, from.2, 0, 0), at(to.0, to.1, to.2, 0, 0)).expect("range")
}

/// Archived snapshots come back equal; archiving a window again replaces it.
pub async fn archive_round_trip_and_replace(f: &HistoryFixture) {
    let a = snapshot("prod", at(2025, 6, 2, 10, 0));
    f.archive.archive(&a).await.expect("archives");
    let back = f
        .archive
        .snapshot(Some("prod"), a.window_start)
        .await
        .expect("reads")
        .expect("archived");
    assert_eq!(back, a);
    let mut b = a.clone();
    b.pods.truncate(1);
    f.archive.archive(&b).await.expect("re-archives");
    let back = f
        .archive
        .snapshot(Some("prod"), a.window_start)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(back, b, "the second archive replaces the first");
    assert!(
        f.archive
            .snapshot(Some("other"), a.window_start)
            .await
            .unwrap()
            .is_none(),
        "clusters are separate"
    );
    let other = snapshot("prod", at(2025, 6, 2, 10, 5));
    f.archive.archive(&other).await.unwrap();
    let windows = f
        .archive
        .archived_windows(range((2025, 6, 2), (2025, 6, 3)))
        .await
        .unwrap();
    assert_eq!(windows.len(), 2);
    assert!(windows[0].1 < windows[1].1, "ordered by start");
    let none = f
        .archive
        .archived_windows(range((2025, 6, 3), (2025, 6, 4)))
        .await
        .unwrap();
    assert!(none.is_empty());
}

/// Packed snapshots are stored as archiving each would store it, a later one of a window
/// replacing an earlier one, and the archive reads them back equal.
pub async fn archive_packed_stores_each(f: &HistoryFixture) {
    let first = snapshot("prod", at(2025, 6, 5, 10, 0));
    let second = snapshot("prod", at(2025, 6, 5, 10, 5));
    let mut again = second.clone();
    again.pods.truncate(1);
    let other = snapshot("staging", at(2025, 6, 5, 10, 0));
    let packed = [&first, &second, &again, &other]
        .iter()
        .map(|s| f.archive.pack(s).expect("packs"))
        .collect::<Vec<_>>();
    assert_eq!(packed[1].window_start, second.window_start);
    assert_eq!(packed[3].cluster.as_deref(), Some("staging"));
    f.archive
        .archive_packed(&packed)
        .await
        .expect("stores packed snapshots");
    for (cluster, start, want) in [
        ("prod", first.window_start, &first),
        ("prod", second.window_start, &again),
        ("staging", other.window_start, &other),
    ] {
        let back = f
            .archive
            .snapshot(Some(cluster), start)
            .await
            .expect("reads")
            .unwrap_or_else(|| panic!("{cluster} {start} archived"));
        assert_eq!(&back, want, "{cluster} {start}");
    }
    let windows = f
        .archive
        .archived_windows(range((2025, 6, 5), (2025, 6, 6)))
        .await
        .unwrap();
    assert_eq!(
        windows.len(),
        3,
        "one entry per (cluster, window): {windows:?}"
    );
    f.archive
        .archive_packed(&[])
        .await
        .expect("nothing to store is not an error");
}

fn node(name: &str, cores: f64) -> Node {
    Node {
        name: Arc::from(name),
        provider: Some(Arc::from("aws")),
        instance_type: Some(Arc::from("m5.large")),
        region: Some(Arc::from("eu-west-3")),
        cpu_capacity_cores: Some(Cores(cores)),
        ..Node::default()
    }
}

/// Node history keeps versions, closes vanished nodes, ignores unchanged observations, and
/// refuses an observation older than the latest with the marked refusal
/// ([`Refusal::OlderObservation`]).
pub async fn node_history_versions(f: &HistoryFixture) {
    let t1 = at(2025, 6, 1, 0, 0);
    let t2 = at(2025, 6, 2, 0, 0);
    let t3 = at(2025, 6, 3, 0, 0);
    f.nodes
        .record_nodes(Some("c"), t1, &[node("a", 2.0), node("b", 2.0)])
        .await
        .expect("records");
    // Same nodes again: nothing changes.
    f.nodes
        .record_nodes(Some("c"), t1, &[node("a", 2.0), node("b", 2.0)])
        .await
        .expect("records again");
    assert_eq!(
        f.nodes.node_versions(Some("c"), "a").await.unwrap().len(),
        1
    );
    // a is resized, b disappears.
    f.nodes
        .record_nodes(Some("c"), t2, &[node("a", 4.0)])
        .await
        .unwrap();
    let a = f.nodes.node_versions(Some("c"), "a").await.unwrap();
    assert_eq!(a.len(), 2);
    assert_eq!(a[0].valid_to, Some(t2));
    assert_eq!(a[1].valid_from, t2);
    assert_eq!(a[1].valid_to, None);
    let b = f.nodes.node_versions(Some("c"), "b").await.unwrap();
    assert_eq!(b.len(), 1);
    assert_eq!(b[0].valid_to, Some(t2), "a vanished node is closed");
    let before = f
        .nodes
        .nodes_at(Some("c"), t1 + Duration::hours(1))
        .await
        .unwrap();
    assert_eq!(before.len(), 2);
    assert_eq!(before[0].cpu_capacity_cores, Some(Cores(2.0)));
    let after = f.nodes.nodes_at(Some("c"), t3).await.unwrap();
    assert_eq!(after, vec![node("a", 4.0)]);
    assert!(
        f.nodes
            .nodes_at(Some("other"), t3)
            .await
            .unwrap()
            .is_empty()
    );
    // Going back in time is refused.
    let err = f
        .nodes
        .record_nodes(Some("c"), t1, &[node("a", 8.0)])
        .await
        .expect_err("older observation refused");
    assert_eq!(err.kind(), StoreErrorKind::InvalidData);
    assert_eq!(
        err.refusal(),
        Some(Refusal::OlderObservation),
        "the refusal is marked (`StoreError::older_observation`): {err}"
    );
    // The refusal changed nothing.
    assert_eq!(
        f.nodes.nodes_at(Some("c"), t3).await.unwrap(),
        vec![node("a", 4.0)]
    );
}

fn point(zone: &str, when: chrono::DateTime<chrono::Utc>, g: f64) -> IntensityPoint {
    IntensityPoint {
        zone: zone.into(),
        at: when,
        gco2e_per_kwh: g,
        source: "test".into(),
    }
}

/// Intensities: upsert by (zone, time), latest-before lookup bounded by age, bad values refused.
pub async fn intensity_history_lookup(f: &HistoryFixture) {
    let h = |hour| at(2025, 6, 2, hour, 0);
    f.intensities
        .put_intensities(&[
            point("FR", h(10), 30.0),
            point("FR", h(11), 35.0),
            point("DE", h(10), 300.0),
        ])
        .await
        .expect("stores");
    f.intensities
        .put_intensities(&[point("FR", h(11), 40.0)])
        .await
        .expect("replaces");
    let got = f
        .intensities
        .intensity_at("FR", h(11) + Duration::minutes(30), Duration::hours(2))
        .await
        .unwrap()
        .expect("found");
    assert_eq!(got.gco2e_per_kwh, 40.0);
    let old = f
        .intensities
        .intensity_at("FR", h(20), Duration::hours(2))
        .await
        .unwrap();
    assert!(old.is_none(), "a value older than max_age is not used");
    assert!(
        f.intensities
            .intensity_at("FR", h(9), Duration::hours(2))
            .await
            .unwrap()
            .is_none(),
        "nothing before the first point"
    );
    let all = f
        .intensities
        .intensities("FR", range((2025, 6, 2), (2025, 6, 3)))
        .await
        .unwrap();
    assert_eq!(
        all.iter().map(|p| p.gco2e_per_kwh).collect::<Vec<_>>(),
        [30.0, 40.0]
    );
    let err = f
        .intensities
        .put_intensities(&[point("FR", h(12), 1.0), point("FR", h(13), f64::NAN)])
        .await
        .expect_err("NaN refused");
    assert_eq!(err.kind(), StoreErrorKind::InvalidData);
    assert_eq!(
        f.intensities
            .intensities("FR", range((2025, 6, 2), (2025, 6, 3)))
            .await
            .unwrap()
            .len(),
        2,
        "nothing of the refused batch was stored"
    );
}

fn recommendation(id: &str, kind: RecommendationType) -> crate::recommend::Recommendation {
    crate::recommend::Recommendation {
        id: id.into(),
        kind,
        scope: crate::recommend::Scope::Node,
        priority: kind.priority(),
        namespace: None,
        target_kind: None,
        target: id.into(),
        node: Some(id.into()),
        reason: "test".into(),
        current_cpu_request_cores: None,
        recommended_cpu_request_cores: None,
        current_memory_request_bytes: None,
        recommended_memory_request_bytes: None,
        schedule: None,
        changes: Vec::new(),
        savings_co2e_grams_per_year: 10.0,
        savings_cost_per_year: None,
        savings_co2e_grams_per_year_interval: [5.0, 20.0],
        savings_basis: "cluster".into(),
        methodology: "full".into(),
        data_version: "gkdata-test".into(),
        cluster: None,
    }
}

/// Recommendations: replace, update, lifecycle across scans, duplicate ids and unknown ids.
pub async fn recommendation_lifecycle(f: &HistoryFixture) {
    let now = at(2025, 6, 2, 10, 0);
    let fresh = [
        recommendation("n1", RecommendationType::UnderutilizedNode),
        recommendation("n2", RecommendationType::UnderutilizedNode),
    ];
    let records = reconcile(f.recommendations.records().await.unwrap(), &fresh, now);
    f.recommendations
        .replace_records(&records)
        .await
        .expect("stores");
    let mut stored = f.recommendations.records().await.unwrap();
    assert_eq!(stored.len(), 2, "same type on two nodes: no collision");
    assert_eq!(stored, records);
    stored[0].ignore(Some("capacity reserve".into()), now);
    f.recommendations
        .update_record(&stored[0])
        .await
        .expect("updates");
    // Next scan finds both again: the ignored one stays ignored.
    let records = reconcile(f.recommendations.records().await.unwrap(), &fresh, now);
    f.recommendations.replace_records(&records).await.unwrap();
    let stored = f.recommendations.records().await.unwrap();
    let ignored = stored.iter().find(|r| r.recommendation.id == "n1").unwrap();
    assert_eq!(ignored.status, RecommendationStatus::Ignored);
    assert_eq!(ignored.ignored_reason.as_deref(), Some("capacity reserve"));
    // Duplicates refused, store unchanged.
    let dup: Vec<RecommendationRecord> = vec![stored[0].clone(), stored[0].clone()];
    let err = f
        .recommendations
        .replace_records(&dup)
        .await
        .expect_err("duplicate ids");
    assert_eq!(err.kind(), StoreErrorKind::InvalidData);
    assert_eq!(f.recommendations.records().await.unwrap(), stored);
    let mut unknown = stored[0].clone();
    unknown.recommendation.id = "nope".into();
    let err = f
        .recommendations
        .update_record(&unknown)
        .await
        .expect_err("unknown id");
    assert_eq!(err.kind(), StoreErrorKind::InvalidData);
}

/// The ledger: recording a period twice counts it once; sums by kind over a range.
pub async fn ledger_is_idempotent(f: &HistoryFixture) {
    let entry = |id: &str, hour, g, cost| LedgerEntry {
        recommendation_id: id.into(),
        kind: RecommendationType::RightsizingCpu,
        namespace: Some("shop".into()),
        period_start: at(2025, 6, 2, hour, 0),
        period_end: at(2025, 6, 2, hour + 1, 0),
        co2e_grams: g,
        cost,
    };
    let batch = [
        entry("a", 10, 2.0, Some(0.5)),
        entry("a", 11, 3.0, None),
        entry("b", 10, 4.0, Some(1.0)),
    ];
    f.ledger.record_savings(&batch).await.expect("records");
    f.ledger
        .record_savings(&batch)
        .await
        .expect("records again");
    let totals = f
        .ledger
        .savings_by_kind(range((2025, 6, 2), (2025, 6, 3)))
        .await
        .unwrap();
    assert_eq!(totals.len(), 1);
    assert_eq!(totals[0].co2e_grams, 9.0);
    assert_eq!(totals[0].cost, 1.5);
    assert_eq!(totals[0].entries_without_cost, 1);
    assert!(
        f.ledger
            .savings_by_kind(range((2025, 6, 3), (2025, 6, 4)))
            .await
            .unwrap()
            .is_empty()
    );
}

/// The embodied cache keeps "unknown instance" answers too and matches case-insensitively.
pub async fn embodied_cache_round_trip(f: &HistoryFixture) {
    let known = EmbodiedCacheEntry {
        provider: "aws".into(),
        instance_type: "m5.large".into(),
        kgco2e: Some(160.0),
        lifespan_hours: Some(35_040.0),
        fetched_at: at(2025, 6, 2, 10, 0),
    };
    let unknown = EmbodiedCacheEntry {
        provider: "ovh".into(),
        instance_type: "b3-8".into(),
        kgco2e: None,
        lifespan_hours: None,
        fetched_at: at(2025, 6, 2, 10, 0),
    };
    f.embodied.cache_embodied(&known).await.expect("caches");
    f.embodied
        .cache_embodied(&unknown)
        .await
        .expect("caches unknown");
    assert_eq!(
        f.embodied.cached_embodied("AWS", "M5.LARGE").await.unwrap(),
        Some(known.clone())
    );
    assert_eq!(
        f.embodied.cached_embodied("ovh", "b3-8").await.unwrap(),
        Some(unknown),
        "an unknown instance is remembered"
    );
    assert!(
        f.embodied
            .cached_embodied("gcp", "e2-small")
            .await
            .unwrap()
            .is_none()
    );
    let newer = EmbodiedCacheEntry {
        kgco2e: Some(170.0),
        ..known
    };
    f.embodied.cache_embodied(&newer).await.unwrap();
    assert_eq!(
        f.embodied.cached_embodied("aws", "m5.large").await.unwrap(),
        Some(newer)
    );
}

/// Generates one `#[tokio::test]` per rule of [`crate::testsuite::history_contract`].
///
/// The argument is an async function producing a [`HistoryFixture`] around empty repositories.
#[macro_export]
macro_rules! history_contract_suite {
    ($make:expr) => {
        $crate::history_contract_suite!(
            @tests $make;
            archive_round_trip_and_replace,
            archive_packed_stores_each,
            node_history_versions,
            intensity_history_lookup,
            recommendation_lifecycle,
            ledger_is_idempotent,
            embodied_cache_round_trip,
        );
    };
    (@tests $make:expr; $($rule:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $rule() {
                let fixture: $crate::testsuite::history_contract::HistoryFixture = ($make)().await;
                $crate::testsuite::history_contract::$rule(&fixture).await;
            }
        )*
    };
}
