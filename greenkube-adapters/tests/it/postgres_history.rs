//! The history repositories' contract against a real PostgreSQL server, and what only a real
//! server can show: the archive is compressed and survives reopening, `open_history` opens
//! PostgreSQL, concurrent writers of node history and recommendations take turns, and the
//! database itself refuses what the contract refuses.
//!
//! The server comes from `GREENKUBE_TEST_POSTGRES_URL` (see `postgres.rs`); without it every
//! test here fails, saying so. Each test works in a schema of its own, dropped when it ends.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use chrono::Duration;
use greenkube_adapters::store::OpenOptions;
use greenkube_adapters::store::open_with;
use greenkube_adapters::store::postgres::PostgresStore;
use greenkube_core::Node;
use greenkube_core::ports::{
    IntensityHistory, IntensityPoint, LedgerEntry, NodeHistory, RecommendationStore, SavingsLedger,
    SnapshotArchive, StoreErrorKind, TimeRange,
};
use greenkube_core::recommend::{RecommendationRecord, RecommendationType};
use greenkube_core::testsuite::fixtures::{at, snapshot};
use greenkube_core::testsuite::history_contract::HistoryFixture;
use greenkube_core::units::Cores;
use sqlx::{Connection as _, PgConnection};

const URL_VAR: &str = "GREENKUBE_TEST_POSTGRES_URL";

/// The test server's URL. Fails the test when it is not set: these tests never skip.
fn server_url() -> String {
    match std::env::var(URL_VAR) {
        Ok(url) if !url.trim().is_empty() => url,
        _ => panic!(
            "{URL_VAR} is not set, so the PostgreSQL history repositories cannot be tested. Run \
             scripts/test.sh (it starts a throwaway PostgreSQL and sets {URL_VAR}), or start one \
             yourself with `eval \"$(scripts/services.sh start)\"` before `cargo test`"
        ),
    }
}

/// A schema of the test's own; dropped (with everything in it) when the test ends.
struct Schema {
    name: String,
    /// The server URL with `search_path` set to the schema.
    url: String,
}

impl Schema {
    async fn new() -> Self {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let name = format!(
            "gk_history_{}_{nanos}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let mut conn = PgConnection::connect(&server_url())
            .await
            .unwrap_or_else(|e| panic!("cannot connect to the test server ({URL_VAR}): {e}"));
        sqlx::raw_sql(&format!("CREATE SCHEMA {name}"))
            .execute(&mut conn)
            .await
            .expect("creates a schema");
        let _ = conn.close().await;
        let sep = if server_url().contains('?') { '&' } else { '?' };
        let url = format!("{}{sep}options[search_path]={name}", server_url());
        Self { name, url }
    }

    async fn open(&self) -> PostgresStore {
        PostgresStore::open(&self.url, OpenOptions::default())
            .await
            .expect("opens the test schema")
            .0
    }

    /// A connection to the schema (for what a test does behind the repository's back).
    async fn connect(&self) -> PgConnection {
        PgConnection::connect(&self.url)
            .await
            .expect("connects to the test schema")
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        // Blocking is fine at the end of a test; a runtime of its own keeps it off the test's.
        let statement = format!("SET lock_timeout = '5s'; DROP SCHEMA {} CASCADE", self.name);
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async {
                if let Ok(mut conn) = PgConnection::connect(&server_url()).await {
                    let _ = sqlx::raw_sql(&statement).execute(&mut conn).await;
                    let _ = conn.close().await;
                }
            });
        })
        .join();
    }
}

mod contract {
    use super::*;

    async fn fixture() -> HistoryFixture {
        let schema = Schema::new().await;
        let repo = schema.open().await;
        HistoryFixture::all(repo).with_guard(schema)
    }

    greenkube_core::history_contract_suite!(fixture);
}

#[tokio::test]
async fn archived_snapshots_are_compressed_and_survive_reopening() {
    let schema = Schema::new().await;
    let snap = snapshot("prod", at(2025, 6, 2, 10, 0));
    {
        let repo = schema.open().await;
        repo.archive(&snap).await.expect("archives");
        let stored: i32 = sqlx::query_scalar("SELECT octet_length(body) FROM snapshot_archive")
            .fetch_one(repo.pool())
            .await
            .expect("length");
        let json = serde_json::to_vec(&snap).expect("JSON").len();
        assert!(
            usize::try_from(stored).expect("positive") < json,
            "archived {stored} bytes for {json} bytes of JSON"
        );
        repo.pool().close().await;
    }
    let repo = schema.open().await;
    assert_eq!(
        repo.snapshot(Some("prod"), snap.window_start)
            .await
            .expect("reads"),
        Some(snap)
    );
}

#[tokio::test]
async fn open_history_opens_postgres_and_migrates() {
    let schema = Schema::new().await;
    let history = open_with(&schema.url, OpenOptions::default())
        .await
        .expect("opens the history of a PostgreSQL store");
    assert_eq!(history.archive.backend(), "postgres");
    assert_eq!(history.ledger.backend(), "postgres");
    let mut snap = snapshot("", at(2025, 6, 2, 10, 0));
    snap.cluster = None;
    history.archive.archive(&snap).await.expect("archives");
    let range = TimeRange::new(at(2025, 6, 2, 0, 0), at(2025, 6, 3, 0, 0)).expect("range");
    assert_eq!(
        history
            .archive
            .archived_windows(range)
            .await
            .expect("lists"),
        vec![(None, snap.window_start)],
        "no cluster is stored as none"
    );
    assert_eq!(
        history
            .archive
            .snapshot(None, snap.window_start)
            .await
            .expect("reads"),
        Some(snap)
    );
    let store = greenkube_adapters::store::open(&schema.url)
        .await
        .expect("opens the footprints too");
    assert!(store.migrations.applied.is_empty(), "migrated once");
    assert_eq!(store.migrations.schema_version, 5);
}

fn node(name: &str, cores: f64) -> Node {
    Node {
        name: Arc::from(name),
        cpu_capacity_cores: Some(Cores(cores)),
        ..Node::default()
    }
}

/// Many writers record the nodes of one cluster at once, each at its own time and in no
/// particular order: every write either lands or is refused as older than the latest, and the
/// versions never overlap (at most one current version per node, each closed where the next
/// opens).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_node_observations_keep_one_history() {
    let schema = Schema::new().await;
    let repo = Arc::new(schema.open().await);
    let t0 = at(2025, 6, 1, 0, 0);
    let mut tasks = Vec::new();
    for writer in 0..8_i64 {
        let repo = repo.clone();
        tasks.push(tokio::spawn(async move {
            let mut landed = 0;
            for i in 0..10_i64 {
                // Every writer goes forward in time; together they interleave.
                let step = i * 8 + (writer * 5) % 8;
                let cores = [1.0, 2.0, 4.0][(step % 3) as usize];
                let nodes = [node("a", cores), node("b", 2.0)];
                match repo
                    .record_nodes(Some("c"), t0 + Duration::minutes(step), &nodes)
                    .await
                {
                    Ok(()) => landed += 1,
                    Err(e) => assert_eq!(e.kind(), StoreErrorKind::InvalidData, "{e:#}"),
                }
            }
            landed
        }));
    }
    let mut landed = 0;
    for t in tasks {
        landed += t.await.expect("task");
    }
    assert!(landed > 0);
    for name in ["a", "b"] {
        let versions = repo.node_versions(Some("c"), name).await.expect("reads");
        assert!(!versions.is_empty());
        assert_eq!(
            versions.iter().filter(|v| v.valid_to.is_none()).count(),
            1,
            "{name}: one current version"
        );
        for pair in versions.windows(2) {
            assert_eq!(
                pair[0].valid_to,
                Some(pair[1].valid_from),
                "{name}: versions follow each other"
            );
            assert_ne!(pair[0].node, pair[1].node, "{name}: a version is a change");
        }
    }
    assert_eq!(
        repo.node_versions(Some("c"), "b")
            .await
            .expect("reads")
            .len(),
        1,
        "b never changed"
    );
}

fn record(id: &str) -> RecommendationRecord {
    let rec = greenkube_core::recommend::Recommendation {
        id: id.into(),
        kind: RecommendationType::UnderutilizedNode,
        scope: greenkube_core::recommend::Scope::Node,
        priority: RecommendationType::UnderutilizedNode.priority(),
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
    };
    greenkube_core::recommend::reconcile(Vec::new(), &[rec], at(2025, 6, 2, 10, 0))
        .pop()
        .expect("one record")
}

/// Replacements racing each other never fail on the key and never mix: the store ends up with
/// exactly one writer's records.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_replacements_of_recommendations_take_turns() {
    let schema = Schema::new().await;
    let repo = Arc::new(schema.open().await);
    let mut tasks = Vec::new();
    for writer in 0..6 {
        let repo = repo.clone();
        // Overlapping ids between writers.
        let records: Vec<_> = (writer..writer + 4)
            .map(|i| record(&format!("n{i}")))
            .collect();
        tasks.push(tokio::spawn(async move {
            for _ in 0..10 {
                repo.replace_records(&records)
                    .await
                    .unwrap_or_else(|e| panic!("a racing replacement failed: {e:#}"));
            }
            records
        }));
    }
    let mut written = Vec::new();
    for t in tasks {
        written.push(t.await.expect("task"));
    }
    let stored = repo.records().await.expect("reads");
    assert!(
        written.contains(&stored),
        "the store holds one writer's records: {stored:?}"
    );
}

/// The database refuses what the contract refuses even when a writer goes around the
/// repository: negative, NaN and infinite intensities, two current versions of a node.
#[tokio::test]
async fn the_schema_refuses_what_the_contract_refuses() {
    let schema = Schema::new().await;
    let repo = schema.open().await;
    repo.record_nodes(Some("c"), at(2025, 6, 1, 0, 0), &[node("a", 2.0)])
        .await
        .expect("records");
    let mut conn = schema.connect().await;
    for value in ["-1", "'NaN'", "'Infinity'"] {
        let refused = sqlx::raw_sql(&format!(
            "INSERT INTO intensities (zone, at_time, gco2e_per_kwh, source) \
             VALUES ('FR', now(), {value}, 'test')"
        ))
        .execute(&mut conn)
        .await;
        assert!(refused.is_err(), "intensity {value} accepted");
    }
    let refused = sqlx::raw_sql(
        "INSERT INTO node_versions (cluster, name, valid_from, valid_to, body) \
         VALUES ('c', 'a', '2025-06-05T00:00:00Z', NULL, '{}')",
    )
    .execute(&mut conn)
    .await;
    assert!(refused.is_err(), "a second current version accepted");
    // Through the repository: typed errors, nothing stored.
    let err = repo
        .put_intensities(&[IntensityPoint {
            zone: "FR".into(),
            at: at(2025, 6, 2, 10, 0),
            gco2e_per_kwh: f64::INFINITY,
            source: "test".into(),
        }])
        .await
        .expect_err("infinite intensity");
    assert_eq!(err.kind(), StoreErrorKind::InvalidData);
    let entry = LedgerEntry {
        recommendation_id: "r".into(),
        kind: RecommendationType::RightsizingCpu,
        namespace: None,
        period_start: at(2025, 6, 2, 10, 0),
        period_end: at(2025, 6, 2, 11, 0),
        co2e_grams: f64::NAN,
        cost: None,
    };
    let err = repo
        .record_savings(&[entry])
        .await
        .expect_err("NaN savings");
    assert_eq!(err.kind(), StoreErrorKind::InvalidData);
    let err = repo
        .record_nodes(
            Some("c"),
            at(2025, 6, 2, 0, 0),
            &[node("a", 2.0), node("a", 4.0)],
        )
        .await
        .expect_err("a node observed twice");
    assert_eq!(err.kind(), StoreErrorKind::InvalidData);
    assert_eq!(
        repo.node_versions(Some("c"), "a")
            .await
            .expect("reads")
            .len(),
        1,
        "a refused observation changes nothing"
    );
}

/// A batch naming the same key twice keeps the last, as writing them one by one would.
#[tokio::test]
async fn a_batch_with_a_key_twice_keeps_the_last() {
    let schema = Schema::new().await;
    let repo = schema.open().await;
    let p = |g| IntensityPoint {
        zone: "FR".into(),
        at: at(2025, 6, 2, 10, 0),
        gco2e_per_kwh: g,
        source: "test".into(),
    };
    repo.put_intensities(&[p(1.0), p(2.0)])
        .await
        .expect("stores");
    let got = repo
        .intensity_at("FR", at(2025, 6, 2, 10, 0), Duration::hours(1))
        .await
        .expect("reads")
        .expect("found");
    assert_eq!(got.gco2e_per_kwh, 2.0);
    // A max age beyond the calendar is no bound rather than a panic.
    assert!(
        repo.intensity_at("FR", at(2025, 6, 2, 10, 0), Duration::MAX)
            .await
            .expect("reads")
            .is_some()
    );
    let e = |g| LedgerEntry {
        recommendation_id: "r".into(),
        kind: RecommendationType::RightsizingCpu,
        namespace: Some("shop".into()),
        period_start: at(2025, 6, 2, 10, 0),
        period_end: at(2025, 6, 2, 11, 0),
        co2e_grams: g,
        cost: None,
    };
    repo.record_savings(&[e(1.0), e(5.0)])
        .await
        .expect("records");
    let range = TimeRange::new(at(2025, 6, 2, 0, 0), at(2025, 6, 3, 0, 0)).expect("range");
    let totals = repo.savings_by_kind(range).await.expect("sums");
    assert_eq!(totals.len(), 1);
    assert_eq!(totals[0].co2e_grams, 5.0);
    assert_eq!(totals[0].entries_without_cost, 1);
}
