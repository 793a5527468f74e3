//! The SQLite store: the footprint repository contract in memory and in a file, and what only a
//! real database can show (WAL, reopening, a failure inside the database, a newer schema,
//! concurrent writers).

use std::sync::Arc;

use chrono::Duration;
use greenkube_adapters::store::sqlite::{SqliteStore, count_rows};
use greenkube_adapters::store::{self, OpenOptions};
use greenkube_core::ports::{FootprintRepository, ReportQuery, StoreErrorKind, TimeRange};
use greenkube_core::testsuite::RepositoryFixture;
use greenkube_core::testsuite::fixtures::{at, footprint, methodology};
use greenkube_core::{GroupBy, Methodology, aggregate};
use tempfile::TempDir;

async fn open_file(dir: &TempDir) -> SqliteStore {
    let url = format!("sqlite://{}", dir.path().join("greenkube.db").display());
    SqliteStore::open(&url, OpenOptions::default())
        .await
        .expect("opens a new file")
        .0
}

mod in_memory {
    use super::*;

    async fn fixture() -> RepositoryFixture {
        let (repo, _) = SqliteStore::open("sqlite::memory:", OpenOptions::default())
            .await
            .expect("opens in memory");
        RepositoryFixture::new(repo)
    }

    greenkube_core::footprint_repository_contract_suite!(fixture);

    mod retention {
        use super::fixture;

        greenkube_core::retention_contract_suite!(fixture);
    }
}

mod file {
    use super::*;

    async fn fixture() -> RepositoryFixture {
        let dir = tempfile::tempdir().expect("temporary directory");
        let repo = open_file(&dir).await;
        RepositoryFixture::with_guard(repo, dir)
    }

    greenkube_core::footprint_repository_contract_suite!(fixture);

    mod retention {
        use super::fixture;

        greenkube_core::retention_contract_suite!(fixture);
    }
}

fn everything() -> TimeRange {
    TimeRange::new(at(1970, 1, 1, 0, 0), at(9999, 1, 1, 0, 0)).expect("range")
}

#[tokio::test]
async fn files_use_the_wal_journal() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let repo = open_file(&dir).await;
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(repo.pool())
        .await
        .expect("pragma");
    assert_eq!(mode, "wal");
}

#[tokio::test]
async fn reopening_keeps_rows_and_migrates_once() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let url = format!("sqlite://{}", dir.path().join("gk.db").display());
    let first = store::open(&url).await.expect("creates");
    assert_eq!(first.migrations.applied.len(), 5);
    assert_eq!(first.migrations.applied[0].description, "footprints");
    assert_eq!(first.migrations.applied[1].description, "history");
    assert_eq!(first.migrations.applied[2].description, "rollups");
    assert_eq!(first.migrations.applied[3].description, "pod labels");
    assert_eq!(first.migrations.applied[4].description, "row notes");
    let m = methodology(Methodology::Full, "gkdata-0123456789ab");
    let fp = footprint(Some("prod"), at(2025, 6, 2, 10, 0), 1, &m);
    first
        .footprints
        .write_footprints(std::slice::from_ref(&fp))
        .await
        .expect("writes");
    drop(first);
    let again = store::open_with(
        &url,
        OpenOptions {
            create_if_missing: false,
        },
    )
    .await
    .expect("reopens");
    assert!(again.migrations.applied.is_empty());
    assert_eq!(again.migrations.schema_version, 5);
    let rows = again
        .footprints
        .aggregate(&ReportQuery::new(everything(), GroupBy::Namespace))
        .await
        .expect("aggregates");
    assert_eq!(rows, aggregate([&fp], GroupBy::Namespace, None));
}

#[tokio::test]
async fn a_failure_inside_the_database_rolls_the_batch_back() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let repo = open_file(&dir).await;
    let m = methodology(Methodology::Full, "gkdata-0123456789ab");
    let t0 = at(2025, 6, 2, 10, 0);
    let stored = footprint(Some("prod"), t0, 1, &m);
    repo.write_footprints(std::slice::from_ref(&stored))
        .await
        .expect("writes");
    // The database itself refuses one row of the last window (the rows are valid for the core),
    // after the batch has already replaced a window and inserted others.
    sqlx::query(
        "CREATE TRIGGER refuse BEFORE INSERT ON pod_footprints WHEN NEW.pod = 'kube-proxy-x2x4q' \
         AND NEW.window_start_us > 1748858400000000 BEGIN SELECT RAISE(ABORT, 'refused'); END",
    )
    .execute(repo.pool())
    .await
    .expect("trigger");
    let batch = vec![
        footprint(Some("prod"), t0, 2, &m),
        footprint(Some("staging"), t0, 3, &m),
        footprint(Some("prod"), t0 + Duration::minutes(5), 4, &m),
    ];
    let err = repo.write_footprints(&batch).await.expect_err("refused");
    assert!(format!("{err:#}").contains("inserting pod rows"), "{err}");
    assert_eq!(count_rows(&repo).await.expect("counts"), (8, 3));
    let by_pod = repo
        .aggregate(&ReportQuery::new(everything(), GroupBy::Pod))
        .await
        .expect("aggregates");
    assert_eq!(by_pod, aggregate([&stored], GroupBy::Pod, None));
    // Once the cause is gone, the same batch goes through: retrying is safe.
    sqlx::query("DROP TRIGGER refuse")
        .execute(repo.pool())
        .await
        .expect("drop trigger");
    repo.write_footprints(&batch).await.expect("retry");
    assert_eq!(count_rows(&repo).await.expect("counts"), (24, 9));
}

#[tokio::test]
async fn a_schema_from_a_newer_greenkube_is_a_conflict() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let url = format!("sqlite://{}", dir.path().join("gk.db").display());
    drop(store::open(&url).await.expect("creates"));
    let raw = sqlx::SqlitePool::connect(&url).await.expect("raw pool");
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (9999, 'from the future', TRUE, X'00', 0)",
    )
    .execute(&raw)
    .await
    .expect("insert");
    raw.close().await;
    let err = store::open(&url).await.expect_err("refused");
    assert_eq!(err.kind(), StoreErrorKind::Conflict, "{err}");
    assert!(err.to_string().contains("newer greenkube"), "{err}");
}

#[tokio::test]
async fn a_missing_file_is_unavailable_unless_created() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let url = format!("sqlite://{}", dir.path().join("missing.db").display());
    let err = store::open_with(
        &url,
        OpenOptions {
            create_if_missing: false,
        },
    )
    .await
    .expect_err("missing");
    assert_eq!(err.kind(), StoreErrorKind::Unavailable, "{err}");
    assert!(err.to_string().contains("missing.db"), "{err}");
    assert!(!dir.path().join("missing.db").exists());
}

#[tokio::test]
async fn a_file_that_is_not_a_database_is_refused() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("notes.db");
    std::fs::write(
        &path,
        "these are not the pages you are looking for".repeat(200),
    )
    .expect("write");
    let err = store::open(&format!("sqlite://{}", path.display()))
        .await
        .expect_err("not a database");
    assert_eq!(err.kind(), StoreErrorKind::InvalidData, "{err:#}");
}

#[tokio::test]
async fn a_directory_that_does_not_exist_is_unavailable() {
    let err = store::open("sqlite:///nonexistent-greenkube-dir/sub/gk.db")
        .await
        .expect_err("cannot create");
    assert_eq!(err.kind(), StoreErrorKind::Unavailable, "{err:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writers_all_land() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let repo = Arc::new(open_file(&dir).await);
    let m = methodology(Methodology::Full, "gkdata-0123456789ab");
    let t0 = at(2025, 6, 2, 0, 0);
    let mut tasks = Vec::new();
    for writer in 0..4_i64 {
        let repo = repo.clone();
        let m = m.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..10_i64 {
                let start = t0 + Duration::minutes(5 * (writer * 10 + i));
                let fp = footprint(Some("prod"), start, 1, &m);
                repo.write_footprints(std::slice::from_ref(&fp))
                    .await
                    .expect("concurrent write");
            }
        }));
    }
    for t in tasks {
        t.await.expect("task");
    }
    assert_eq!(count_rows(&repo).await.expect("counts"), (40 * 8, 40 * 3));
}

/// Eight stores opened at once on a file that does not exist yet: every one migrates or finds
/// the schema made, and every window lands (before the migration lock, as few as two did).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_first_opens_all_migrate_and_write() {
    for round in 0..3 {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("fresh.db").display());
        let m = methodology(Methodology::Full, "gkdata-0123456789ab");
        let tasks: Vec<_> = (0..8)
            .map(|i| {
                let url = url.clone();
                let m = m.clone();
                tokio::spawn(async move {
                    let (store, _) = SqliteStore::open(&url, OpenOptions::default())
                        .await
                        .map_err(|e| format!("open {i}: {e}"))?;
                    let window = footprint(
                        Some("c"),
                        at(2025, 6, 2, 10, 0) + Duration::minutes(5 * i),
                        u64::try_from(i).unwrap(),
                        &m,
                    );
                    store
                        .write_footprints(&[window])
                        .await
                        .map_err(|e| format!("write {i}: {e}"))?;
                    Ok::<_, String>(())
                })
            })
            .collect();
        for task in tasks {
            task.await
                .unwrap()
                .unwrap_or_else(|e| panic!("round {round}: {e}"));
        }
        let store = SqliteStore::open(&url, OpenOptions::default())
            .await
            .unwrap()
            .0;
        let per_window = footprint(Some("c"), at(2025, 6, 2, 10, 0), 0, &m)
            .pods
            .len();
        let (pod_rows, _) = count_rows(&store).await.unwrap();
        assert_eq!(
            pod_rows,
            8 * u64::try_from(per_window).unwrap(),
            "round {round}: every window stored"
        );
    }
}

/// A window of `pods` pods (the fixture's pods, renamed).
fn large_window(cluster: &str, seed: u64, pods: usize) -> greenkube_core::Footprint {
    let m = methodology(Methodology::Full, "gkdata-0123456789ab");
    let mut fp = footprint(Some(cluster), at(2025, 6, 2, 10, 0), seed, &m);
    let base = fp.pods.clone();
    fp.pods = (0..pods)
        .map(|i| {
            let mut p = base[i % base.len()].clone();
            p.pod = Arc::from(format!("{}-{i}", p.pod));
            p
        })
        .collect();
    fp
}

/// Every stored pod row, through the pager.
async fn all_rows(repo: &dyn FootprintRepository) -> Vec<greenkube_core::ports::PodRecord> {
    let mut pager = greenkube_core::ports::PodRowPager::new(repo, everything(), 2_000);
    let mut out = Vec::new();
    while let Some(rows) = pager.next_page().await.expect("reads a page") {
        out.extend(rows);
    }
    out
}

/// A store in a file is written on a connection of its own (rusqlite), one in memory through
/// sqlx statements: the same batch reads back the same, field for field, and writing it again
/// replaces it (same rows, all counted as replaced); the kept writer connection lets the store
/// close cleanly (no log left).
#[tokio::test]
async fn file_writes_read_back_as_memory_writes_and_rewrite_idempotently() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("gk.db");
    let url = format!("sqlite://{}", path.display());
    let file = store::open(&url).await.expect("creates");
    let (memory, _) = SqliteStore::open("sqlite::memory:", OpenOptions::default())
        .await
        .expect("opens in memory");
    let batch = vec![
        large_window("prod", 7, 3_000),
        large_window("staging", 8, 10),
    ];
    let first = file
        .footprints
        .write_footprints(&batch)
        .await
        .expect("writes");
    assert_eq!((first.pod_rows, first.replaced_pod_rows), (3_010, 0));
    memory.write_footprints(&batch).await.expect("writes");
    let stored = all_rows(file.footprints.as_ref()).await;
    assert_eq!(stored.len(), 3_010);
    assert_eq!(stored, all_rows(&memory).await);
    let again = file
        .footprints
        .write_footprints(&batch)
        .await
        .expect("rewrites");
    assert_eq!(again.replaced_pod_rows, 3_010);
    assert_eq!(all_rows(file.footprints.as_ref()).await, stored);
    file.close().await;
    let mut wal = path.clone().into_os_string();
    wal.push("-wal");
    assert!(!std::path::Path::new(&wal).exists(), "the log is gone");
}

/// A SQLite file at schema version 4 with `rows` written into it as version 4 stored them
/// (every pod row with its own reasons and methodology), the rows taken from a current store.
async fn schema_4_file(dir: &TempDir, rows: &[greenkube_core::Footprint]) -> String {
    let source = dir.path().join("source.db");
    let current = store::open(&format!("sqlite://{}", source.display()))
        .await
        .expect("creates the source");
    current
        .footprints
        .write_footprints(rows)
        .await
        .expect("writes the source");
    current.close().await;
    let path = dir.path().join("v4.db");
    let url = format!("sqlite://{}", path.display());
    let pool = sqlx::SqlitePool::connect_with(
        sqlx::sqlite::SqliteConnectOptions::new()
            .filename(&path)
            .create_if_missing(true),
    )
    .await
    .expect("creates the file");
    let dir_of = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/sqlite");
    let mut migrator = sqlx::migrate::Migrator::new(dir_of)
        .await
        .expect("reads the migrations");
    migrator.migrations = migrator
        .migrations
        .iter()
        .filter(|m| m.version <= 4)
        .cloned()
        .collect::<Vec<_>>()
        .into();
    migrator.run(&pool).await.expect("migrates to version 4");
    let mut conn = pool.acquire().await.expect("a connection");
    sqlx::raw_sql(&format!(
        "ATTACH DATABASE '{}' AS source; \
         INSERT INTO pod_footprints SELECT * FROM source.pod_footprint_rows; \
         INSERT INTO node_footprints SELECT * FROM source.node_footprints; \
         INSERT INTO pod_labels SELECT * FROM source.pod_labels; \
         DETACH DATABASE source",
        source.display()
    ))
    .execute(&mut *conn)
    .await
    .expect("copies the rows as version 4 stored them");
    drop(conn);
    pool.close().await;
    url
}

/// Pod rows stored before row notes (schema 4: reasons and methodology on every row) read
/// back as they were after migration 5, by row and by column, beside rows written since (with
/// a note); rewriting an old window replaces its rows; new rows store none of the noted text.
#[tokio::test]
async fn rows_stored_before_row_notes_read_as_before_beside_new_ones() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let history = greenkube_core::testsuite::fixtures::history();
    let (old, new) = history.split_at(history.len() / 2);
    let url = schema_4_file(&dir, old).await;
    let (expected, _) = SqliteStore::open("sqlite::memory:", OpenOptions::default())
        .await
        .expect("opens in memory");
    expected.write_footprints(old).await.expect("writes");

    let (migrated, report) = SqliteStore::open(&url, OpenOptions::default())
        .await
        .expect("opens and migrates");
    assert_eq!(report.applied.len(), 1);
    assert_eq!(report.applied[0].description, "row notes");
    let stored = all_rows(&migrated).await;
    assert!(!stored.is_empty());
    assert_eq!(stored, all_rows(&expected).await, "old rows read as before");
    let columns = migrated
        .read_pod_columns(everything(), None, 100_000)
        .await
        .expect("reads by column");
    assert_eq!(
        columns.columns,
        greenkube_core::ports::PodColumns::from_rows(&stored)
    );

    migrated
        .write_footprints(new)
        .await
        .expect("writes new rows");
    expected.write_footprints(new).await.expect("writes");
    assert_eq!(all_rows(&migrated).await, all_rows(&expected).await);
    // An old window written again is replaced by rows with a note.
    migrated
        .write_footprints(&old[..2])
        .await
        .expect("rewrites");
    expected
        .write_footprints(&old[..2])
        .await
        .expect("rewrites");
    let both = all_rows(&migrated).await;
    assert_eq!(both, all_rows(&expected).await);
    for group_by in [GroupBy::Namespace, GroupBy::Workload] {
        let query = ReportQuery::new(everything(), group_by);
        assert_eq!(
            migrated.aggregate(&query).await.expect("aggregates"),
            expected.aggregate(&query).await.expect("aggregates"),
        );
    }

    let (own, noted, noted_text): (i64, i64, i64) = sqlx::query_as(
        "SELECT SUM(note IS NULL), SUM(note IS NOT NULL), \
         TOTAL(length(estimation_reasons) + length(methodology) + length(methodology_version) \
         + length(data_version) + length(idle_policy)) FILTER (WHERE note IS NOT NULL) \
         FROM pod_footprints",
    )
    .fetch_one(migrated.pool())
    .await
    .map(|(a, b, c): (i64, i64, f64)| (a, b, c as i64))
    .expect("counts");
    let rewritten: usize = old[..2].iter().map(|fp| fp.pods.len()).sum();
    let old_rows: usize = old.iter().map(|fp| fp.pods.len()).sum();
    assert_eq!(
        own as usize,
        old_rows - rewritten,
        "old rows keep their own notes"
    );
    assert_eq!(noted as usize, both.len() - (old_rows - rewritten));
    assert_eq!(
        noted_text,
        2 * noted,
        "a noted row stores '[]' and four empty names"
    );
    let notes: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM row_notes")
        .fetch_one(migrated.pool())
        .await
        .expect("counts notes");
    assert!(notes > 0 && notes < noted, "{notes} notes for {noted} rows");
}

/// A row whose note is gone is refused as invalid data by both read paths, never read as a
/// row without reasons.
#[tokio::test]
async fn a_row_whose_note_is_missing_is_invalid_data() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let repo = open_file(&dir).await;
    let m = methodology(Methodology::Full, "gkdata-0123456789ab");
    repo.write_footprints(&[footprint(Some("prod"), at(2025, 6, 2, 10, 0), 1, &m)])
        .await
        .expect("writes");
    sqlx::query("UPDATE pod_footprints SET note = note + 1000")
        .execute(repo.pool())
        .await
        .expect("breaks the notes");
    let by_row = repo
        .read_pod_rows(everything(), None, 100)
        .await
        .expect_err("refused");
    assert_eq!(by_row.kind(), StoreErrorKind::InvalidData, "{by_row}");
    let by_column = repo
        .read_pod_columns(everything(), None, 100)
        .await
        .expect_err("refused");
    assert_eq!(by_column.kind(), StoreErrorKind::InvalidData, "{by_column}");
}

#[tokio::test]
async fn a_window_s_pod_rows_are_stored_in_key_order() {
    // The fixture lists its pods out of key order ("shop" before "data"); the file writer
    // inserts them in key order, so a window's rows sit in the table as reads ask for them.
    let dir = tempfile::tempdir().expect("temporary directory");
    let repo = open_file(&dir).await;
    let m = methodology(Methodology::Full, "gkdata-0123456789ab");
    let fp = footprint(Some("prod"), at(2025, 6, 2, 10, 0), 1, &m);
    let listed: Vec<(String, String)> = fp
        .pods
        .iter()
        .map(|p| (p.namespace.to_string(), p.pod.to_string()))
        .collect();
    let mut sorted = listed.clone();
    sorted.sort();
    assert_ne!(
        listed, sorted,
        "the fixture's pods are listed out of key order"
    );
    repo.write_footprints(&[fp]).await.expect("writes");
    let stored: Vec<(String, String)> =
        sqlx::query_as("SELECT namespace, pod FROM pod_footprints ORDER BY rowid")
            .fetch_all(repo.pool())
            .await
            .expect("reads");
    assert_eq!(stored, sorted);
}
