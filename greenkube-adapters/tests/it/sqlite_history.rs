//! The history repositories' contract against SQLite, in memory and in a file, and the
//! archive's compression.

use greenkube_adapters::store::OpenOptions;
use greenkube_adapters::store::sqlite::SqliteStore;
use greenkube_core::ports::SnapshotArchive;
use greenkube_core::testsuite::fixtures::{at, snapshot};
use greenkube_core::testsuite::history_contract::HistoryFixture;

mod in_memory {
    use super::*;

    async fn fixture() -> HistoryFixture {
        let (repo, _) = SqliteStore::open("sqlite::memory:", OpenOptions::default())
            .await
            .expect("opens in memory");
        HistoryFixture::all(repo)
    }

    greenkube_core::history_contract_suite!(fixture);
}

mod in_a_file {
    use super::*;

    async fn fixture() -> HistoryFixture {
        let dir = tempfile::tempdir().expect("temporary directory");
        let url = format!("sqlite://{}", dir.path().join("greenkube.db").display());
        let (repo, _) = SqliteStore::open(&url, OpenOptions::default())
            .await
            .expect("opens a file");
        HistoryFixture::all(repo).with_guard(dir)
    }

    greenkube_core::history_contract_suite!(fixture);
}

#[tokio::test]
async fn archived_snapshots_are_compressed_and_survive_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("greenkube.db").display());
    let snap = snapshot("prod", at(2025, 6, 2, 10, 0));
    {
        let (repo, _) = SqliteStore::open(&url, OpenOptions::default())
            .await
            .unwrap();
        repo.archive(&snap).await.unwrap();
        let stored: i64 = sqlx::query_scalar("SELECT length(body) FROM snapshot_archive")
            .fetch_one(repo.pool())
            .await
            .unwrap();
        let json = serde_json::to_vec(&snap).unwrap().len();
        assert!(
            (stored as usize) < json,
            "archived {stored} bytes for {json} bytes of JSON"
        );
    }
    let (repo, _) = SqliteStore::open(&url, OpenOptions::default())
        .await
        .unwrap();
    assert_eq!(
        repo.snapshot(Some("prod"), snap.window_start)
            .await
            .unwrap(),
        Some(snap)
    );
}

/// The node history reads its current versions, then writes: on one SQLite file, other writes
/// landing meanwhile (the intensity history, as a collector reading its next batch does while
/// the current one is stored) make it wait for the lock, never fail with "database is locked".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_history_waits_for_concurrent_writes_on_a_file() {
    use std::sync::Arc;

    use chrono::Duration;
    use greenkube_core::Node;
    use greenkube_core::ports::{IntensityHistory, IntensityPoint, NodeHistory};
    use greenkube_core::units::Cores;

    const ROUNDS: i64 = 150;

    let dir = tempfile::tempdir().expect("temporary directory");
    let url = format!("sqlite://{}", dir.path().join("greenkube.db").display());
    let (repo, _) = SqliteStore::open(&url, OpenOptions::default())
        .await
        .expect("opens a file");
    let start = at(2025, 6, 1, 0, 0);
    let intensities = {
        let repo = repo.clone();
        tokio::spawn(async move {
            for i in 0..ROUNDS * 4 {
                let point = IntensityPoint {
                    zone: format!("Z{}", i % 7),
                    at: start + Duration::minutes(i),
                    gco2e_per_kwh: 100.0,
                    source: "test".into(),
                };
                repo.put_intensities(&[point]).await?;
                tokio::task::yield_now().await;
            }
            Ok::<_, greenkube_core::ports::StoreError>(())
        })
    };
    for i in 0..ROUNDS {
        // A new capacity every round, so every round closes and opens versions (writes).
        let nodes: Vec<Node> = (0..5)
            .map(|n| Node {
                name: Arc::from(format!("node-{n}")),
                cpu_capacity_cores: Some(Cores(2.0 + (i % 2) as f64)),
                ..Node::default()
            })
            .collect();
        repo.record_nodes(Some("c"), start + Duration::minutes(5 * i), &nodes)
            .await
            .unwrap_or_else(|e| panic!("round {i}: {e}"));
    }
    intensities
        .await
        .expect("the writer task ends")
        .expect("every intensity write succeeds");
}
