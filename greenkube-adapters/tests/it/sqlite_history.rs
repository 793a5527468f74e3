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
