//! The SQLite store: one file (or memory), no set-up, WAL journal.
//!
//! * Schema from the migrations embedded at build time (`migrations/sqlite/`), applied on open.
//! * A batch of footprints is one `BEGIN IMMEDIATE` transaction: each window's old rows are
//!   deleted and its new rows inserted (256 rows per statement); an invalid row or any failure
//!   rolls the whole batch back.
//! * Aggregation is one `GROUP BY` query over the key index; period buckets are integer
//!   arithmetic on microseconds (weeks start on Monday), labelled by the core.
//! * Pages are keyset pages over the unique key `(window_start_us, cluster, namespace, pod)`.
//! * Instants are whole microseconds since 1970 in `INTEGER` columns (`*_us`).
//!
//! What SQLite and PostgreSQL share (every port, decoding, paging, the history reads) is in
//! [`super::sql`]; this module has SQLite's SQL and what it does its own way.

mod columns;
mod history;
mod model;
mod rollup;
mod sql;
mod write;

use std::path::Path;
use std::str::FromStr;
use std::sync::LazyLock;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use greenkube_core::Footprint;
use greenkube_core::ports::{
    PodColumnPage, PodCursor, ReportQuery, StoreError, StoreErrorKind, TimeRange, WindowRecords,
    WriteSummary,
};
use sqlx::error::{DatabaseError, ErrorKind as DbErrorKind};
use sqlx::migrate::Migrator;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteQueryResult,
    SqliteSynchronous,
};
use sqlx::{Row as _, Sqlite, SqliteConnection};

use super::codec::{from_micros, micros, micros_ceil};
use super::sql::notes::{NoteIds, note_id};
use super::sql::{self as shared, Dialect, FootprintOps, Query, SqlStore, Statements};
use super::{MigrationReport, OpenOptions};

/// The SQLite store: footprint rows, roll-ups and the history repositories in one SQLite
/// database; one object implements every port.
pub type SqliteStore = SqlStore<Sqlite>;

impl SqliteStore {
    /// Opens (and, with `create_if_missing`, creates) the database a `sqlite:` URL names, and
    /// applies the migrations it lacks.
    pub async fn open(
        url: &str,
        options: OpenOptions,
    ) -> Result<(Self, MigrationReport), StoreError> {
        let (connect, pool_options) = connect_options(url, options)?;
        // Held until the schema is current: processes opening a fresh file at once migrate one
        // after the other, and the later ones find the tables made.
        let migrating = if is_memory(url) {
            None
        } else {
            migration_lock(connect.get_filename()).await?
        };
        let pool = pool_options
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(connect)
            .await
            .map_err(|e| Sqlite::error(&format!("opening `{url}`"), e))?;
        let migrations = shared::migrate(&pool).await?;
        drop(migrating);
        Ok((Self::new(pool), migrations))
    }
}

/// Lets go of a SQLite store's connections and of its write-ahead log.
///
/// The log is first checkpointed into the database file and truncated, so the file alone is
/// the whole store from here on, whatever happens next (another process keeping the database
/// open, a connection that outlives the pool). Then the pool closes. SQLite removes `-wal` and
/// `-shm` when the last connection closes, but sqlx closes connections on their own worker
/// threads, which can outlive the pool's close, and several closing at once each see the
/// others still open, so the files can stay. So: while the log is there, wait for this
/// process's closing threads; once none is left (or after [`LONE_AFTER`], as in a process with
/// other stores open), open and close one connection alone, which removes the files unless
/// another connection is open, retrying until [`CLOSE_WAIT`] while threads here are still
/// closing. Another process holding the database keeps them; whatever remains is an empty log.
pub(crate) async fn close(store: &SqliteStore, file: Option<std::path::PathBuf>) {
    let pool = store.pool();
    columns::idle::forget(pool.connect_options().get_filename());
    write::kept::forget(pool.connect_options().get_filename());
    if let Ok(mut conn) = pool.acquire().await {
        // Best effort: a checkpoint that cannot run now (another writer) leaves the log to
        // SQLite, which replays it on the next open; nothing is lost either way.
        let _ = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&mut *conn)
            .await;
    }
    pool.close().await;
    let Some(file) = file else { return };
    let mut wal = file.clone().into_os_string();
    wal.push("-wal");
    let wal = std::path::PathBuf::from(wal);
    let started = tokio::time::Instant::now();
    loop {
        if !exists(&wal) {
            return;
        }
        let waited = started.elapsed();
        // Once this process has no closing connection left (or has waited for them a while:
        // in a process with other stores open, some thread is always closing), one lone
        // connection removes the files unless another connection is still open.
        if !closing_here() || waited >= LONE_AFTER {
            close_alone(&file).await;
            if !exists(&wal) || !closing_here() {
                return;
            }
        }
        if waited >= CLOSE_WAIT {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Opens and closes one connection to `file` alone: a read opens the log, so closing this
/// connection, if it is the last one, checkpoints the log and removes `-wal` and `-shm`.
async fn close_alone(file: &Path) {
    let last = SqliteConnectOptions::new()
        .filename(file)
        .create_if_missing(false)
        .busy_timeout(Duration::from_millis(500));
    if let Ok(mut conn) = sqlx::ConnectOptions::connect(&last).await {
        let _ = sqlx::query("SELECT 1 FROM sqlite_master LIMIT 1")
            .execute(&mut conn)
            .await;
        let _ = sqlx::Connection::close(conn).await;
    }
}

/// How long [`close`] waits for this process's own connections before it also tries closing a
/// lone connection (which cannot remove the log while another connection is open).
const LONE_AFTER: Duration = Duration::from_millis(50);

/// How long [`close`] waits at most for this process's connections to finish closing, trying a
/// lone connection meanwhile (another process holding the database keeps the log past it).
const CLOSE_WAIT: Duration = Duration::from_secs(1);

/// Whether a connection of this process may still be closing (a sqlx SQLite worker thread is
/// alive). On Linux the threads are listed; elsewhere this is assumed until [`CLOSE_WAIT`].
fn closing_here() -> bool {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return true;
    };
    tasks.filter_map(Result::ok).any(|task| {
        std::fs::read_to_string(task.path().join("comm"))
            .is_ok_and(|name| name.starts_with("sqlx-sqlite"))
    })
}

fn is_memory(url: &str) -> bool {
    url.contains(":memory:") || url.contains("mode=memory")
}

/// An exclusive advisory lock (`flock`) on the directory of the database file, waited for off
/// the async threads; released when dropped. Processes opening the same store at once migrate
/// one after the other.
///
/// The directory, not the file: closing any descriptor of a database file releases every POSIX
/// lock the process holds on it, SQLite's own included, so greenkube never opens the file
/// beside SQLite. `None` when the directory cannot be opened or locked (a platform or file
/// system without directory locks): opening then goes on without it.
async fn migration_lock(path: &Path) -> Result<Option<std::fs::File>, StoreError> {
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    let shown = dir.display().to_string();
    tokio::task::spawn_blocking(move || {
        let Ok(handle) = std::fs::File::open(&dir) else {
            return None;
        };
        handle.lock().ok().map(|()| handle)
    })
    .await
    .map_err(|e| {
        StoreError::other(Sqlite::BACKEND, format!("locking `{shown}` to migrate")).with_source(e)
    })
}

/// Rows a query may buffer between SQLite's worker thread and the task reading them.
const ROW_BUFFER: usize = 1024;

/// How to connect to the database a `sqlite:` URL names, and the pool to keep: a file in WAL
/// mode with a few connections, or memory, which lives as long as its connections (exactly one,
/// kept forever). A missing file is refused unless `create_if_missing`.
fn connect_options(
    url: &str,
    options: OpenOptions,
) -> Result<(SqliteConnectOptions, SqlitePoolOptions), StoreError> {
    let connect = SqliteConnectOptions::from_str(url)
        .map_err(|e| {
            StoreError::invalid_data(Sqlite::BACKEND, format!("invalid SQLite URL `{url}`"))
                .with_source(e)
        })?
        .create_if_missing(options.create_if_missing)
        .busy_timeout(Duration::from_secs(10))
        // Rows cross from SQLite's worker thread in a channel: a deeper buffer lets a long read
        // (a page of pod rows) run without a thread hand-off every 50 rows.
        .row_buffer_size(ROW_BUFFER);
    if is_memory(url) {
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None);
        return Ok((connect, pool));
    }
    let path = connect.get_filename();
    if path.as_os_str().is_empty() {
        return Err(StoreError::invalid_data(
            Sqlite::BACKEND,
            format!("no file in `{url}`; write `sqlite://PATH` or `sqlite::memory:`"),
        ));
    }
    if !options.create_if_missing && !exists(path) {
        return Err(StoreError::unavailable(
            Sqlite::BACKEND,
            format!("no database at `{}`", path.display()),
        ));
    }
    let connect = connect
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal);
    Ok((connect, SqlitePoolOptions::new().max_connections(4)))
}

/// The database file a `sqlite:` URL names; `None` for memory or a URL that names no file.
pub(crate) fn file_of(url: &str) -> Option<std::path::PathBuf> {
    if is_memory(url) {
        return None;
    }
    let connect = SqliteConnectOptions::from_str(url).ok()?;
    let path = connect.get_filename();
    (!path.as_os_str().is_empty()).then(|| path.to_path_buf())
}

fn exists(path: &Path) -> bool {
    path.try_exists().unwrap_or(false)
}

/// Rows currently stored (pod rows, node rows), for tests and tools.
pub async fn count_rows(repo: &SqliteStore) -> Result<(u64, u64), StoreError> {
    shared::count_rows(repo).await
}

/// SQLite primary result codes that mean "not now" or "not reachable".
/// `SQLITE_BUSY` 5, `SQLITE_LOCKED` 6, `SQLITE_NOMEM` 7, `SQLITE_READONLY` 8,
/// `SQLITE_IOERR` 10, `SQLITE_FULL` 13, `SQLITE_CANTOPEN` 14, `SQLITE_PROTOCOL` 15.
const UNAVAILABLE_CODES: [i64; 8] = [5, 6, 7, 8, 10, 13, 14, 15];
/// `SQLITE_CORRUPT` 11, `SQLITE_MISMATCH` 20, `SQLITE_NOTADB` 26: the file is not what we wrote.
const INVALID_CODES: [i64; 3] = [11, 20, 26];

impl Dialect for Sqlite {
    const BACKEND: &'static str = "sqlite";
    const TIME_SUFFIX: &'static str = "_us";
    const TEXT: &'static str = "";
    // Each row's notes from `row_notes` (migration 5), or its own for rows stored before.
    const POD_ROWS: &'static str = "pod_footprint_rows";
    const NOT_INDEXED: &'static str = "+";
    const MIGRATOR: Migrator = sqlx::migrate!("migrations/sqlite");
    const SQL: Statements = Statements {
        has_migrations: "SELECT 1 FROM sqlite_master \
            WHERE type = 'table' AND name = '_sqlx_migrations'",
        retention_state: "SELECT raw_before_us, hourly_before_us, daily_before_us \
            FROM retention_state WHERE id = 1",
        rolled_buckets: "SELECT level, bucket_us FROM rolled_buckets \
            WHERE bucket_us >= $1 AND bucket_us < $2",
        dirty_before: [
            "SELECT bucket_us FROM dirty_buckets WHERE level = 1 AND bucket_us < $1 \
             ORDER BY bucket_us",
            "SELECT d.bucket_us FROM dirty_buckets d WHERE d.level = 2 AND d.bucket_us < $1 \
             AND NOT EXISTS (SELECT 1 FROM dirty_buckets h WHERE h.level = 1 \
             AND h.bucket_us >= d.bucket_us AND h.bucket_us < d.bucket_us + 86400000000) \
             ORDER BY d.bucket_us",
        ],
        note_id: "SELECT id FROM row_notes WHERE estimation_reasons = $1 AND methodology = $2 \
            AND methodology_version = $3 AND data_version = $4 AND idle_policy = $5",
        note_insert: "INSERT INTO row_notes \
            (estimation_reasons, methodology, methodology_version, data_version, idle_policy) \
            VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING RETURNING id",
        archive: "INSERT INTO snapshot_archive (cluster, window_start_us, body) \
            VALUES ($1, $2, $3) \
            ON CONFLICT (window_start_us, cluster) DO UPDATE SET body = excluded.body",
        snapshot: "SELECT body FROM snapshot_archive \
            WHERE cluster = $1 AND window_start_us = $2",
        archived_windows: "SELECT cluster, window_start_us FROM snapshot_archive \
            WHERE window_start_us >= $1 AND window_start_us < $2 \
            ORDER BY window_start_us, cluster",
        nodes_at: "SELECT valid_from_us, valid_to_us, body FROM node_versions \
            WHERE cluster = $1 AND valid_from_us <= $2 \
            AND (valid_to_us IS NULL OR $2 < valid_to_us) ORDER BY name",
        node_versions: "SELECT valid_from_us, valid_to_us, body FROM node_versions \
            WHERE cluster = $1 AND name = $2 ORDER BY valid_from_us",
        intensity_at: "SELECT zone, at_us, gco2e_per_kwh, source FROM intensities \
            WHERE zone = $1 AND at_us <= $2 AND at_us > $3 ORDER BY at_us DESC LIMIT 1",
        intensities: "SELECT zone, at_us, gco2e_per_kwh, source FROM intensities \
            WHERE zone = $1 AND at_us >= $2 AND at_us < $3 ORDER BY at_us",
        records: "SELECT body FROM recommendations ORDER BY id",
        update_record: "UPDATE recommendations SET body = $2 WHERE id = $1 RETURNING id",
        savings_by_kind: "SELECT kind, SUM(co2e_grams), COALESCE(SUM(cost), 0), \
            SUM(cost IS NULL) FROM savings_ledger \
            WHERE period_start_us >= $1 AND period_start_us < $2 GROUP BY kind",
    };

    fn bind_time(query: Query<'_, Self>, t: Option<DateTime<Utc>>) -> Query<'_, Self> {
        query.bind(t.map(micros))
    }

    fn bind_bound(query: Query<'_, Self>, t: DateTime<Utc>) -> Query<'_, Self> {
        query.bind(micros_ceil(t))
    }

    fn read_time(
        row: &sqlx::sqlite::SqliteRow,
        index: usize,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        let us: Option<i64> = row
            .try_get(index)
            .map_err(|e| Self::error("reading a stored time", e))?;
        us.map(|us| from_micros(Self::BACKEND, us)).transpose()
    }

    fn rows_affected(done: &SqliteQueryResult) -> u64 {
        done.rows_affected()
    }

    fn database_error_kind(db: &dyn DatabaseError) -> StoreErrorKind {
        match db.kind() {
            DbErrorKind::UniqueViolation => StoreErrorKind::Conflict,
            DbErrorKind::CheckViolation
            | DbErrorKind::NotNullViolation
            | DbErrorKind::ForeignKeyViolation => StoreErrorKind::InvalidData,
            _ => {
                let primary = db
                    .code()
                    .and_then(|c| c.parse::<i64>().ok())
                    .map(|c| c & 0xff);
                match primary {
                    Some(c) if UNAVAILABLE_CODES.contains(&c) => StoreErrorKind::Unavailable,
                    Some(c) if INVALID_CODES.contains(&c) => StoreErrorKind::InvalidData,
                    _ => StoreErrorKind::Other,
                }
            }
        }
    }
}

/// The insert of a full chunk of pod rows.
static FULL_POD_INSERT: LazyLock<String> =
    LazyLock::new(|| sql::insert_noted_pods(sql::ROWS_PER_INSERT));

/// Writes one window: deletes its rows, inserts the new ones. Returns the pod rows replaced.
async fn write_window(
    conn: &mut SqliteConnection,
    w: &WindowRecords,
    notes: &mut NoteIds,
) -> Result<u64, StoreError> {
    let start = micros(w.window_start);
    let cluster = w.cluster.as_deref().unwrap_or("");
    let mut replaced = 0;
    for (text, pods) in [
        (sql::DELETE_POD_WINDOW, true),
        (sql::DELETE_NODE_WINDOW, false),
    ] {
        let deleted = sqlx::query(text)
            .bind(start)
            .bind(cluster)
            .execute(&mut *conn)
            .await
            .map_err(|e| Sqlite::error("replacing a window", e))?;
        if pods {
            replaced = deleted.rows_affected();
        }
    }
    let mut ids = Vec::with_capacity(w.pods.len());
    for p in &w.pods {
        ids.push(note_id::<Sqlite>(conn, notes, &p.estimation_reasons, &p.methodology).await?);
    }
    for (chunk, ids) in w
        .pods
        .chunks(sql::ROWS_PER_INSERT)
        .zip(ids.chunks(sql::ROWS_PER_INSERT))
    {
        // Full chunks share one statement text, built once per process (and prepared once per
        // connection); only a window's last chunk has a text of its own.
        let partial;
        let text: &str = if chunk.len() == sql::ROWS_PER_INSERT {
            FULL_POD_INSERT.as_str()
        } else {
            partial = sql::insert_noted_pods(chunk.len());
            &partial
        };
        let q = chunk
            .iter()
            .zip(ids.iter().copied())
            .fold(sqlx::query(text), model::bind_pod);
        q.execute(&mut *conn)
            .await
            .map_err(|e| Sqlite::error("inserting pod rows", e))?;
    }
    for chunk in w.nodes.chunks(sql::ROWS_PER_INSERT) {
        let text = sql::insert("node_footprints", &sql::node_columns(), chunk.len());
        let q = chunk.iter().fold(sqlx::query(&text), model::bind_node);
        q.execute(&mut *conn)
            .await
            .map_err(|e| Sqlite::error("inserting node rows", e))?;
    }
    Ok(replaced)
}

#[async_trait]
impl FootprintOps for Sqlite {
    async fn write_footprints(
        pool: &SqlitePool,
        batch: &[Footprint],
    ) -> Result<WriteSummary, StoreError> {
        // A store in a file is written on a connection of its own, off sqlx (see `write`).
        if let Some(file) = columns::database_file(pool) {
            let windows = batch.iter().map(WindowRecords::from_footprint).collect();
            return write::write_windows(file, windows).await;
        }
        let mut tx = pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(|e| Sqlite::error("starting a write", e))?;
        let mut summary = WriteSummary::default();
        let retention = shared::retention_in::<Self>(&mut tx).await?;
        let mut labels = shared::LabelBatch::default();
        let mut notes = NoteIds::default();
        for fp in batch {
            let w = shared::window_of::<Self>(fp)?;
            rollup::before_window(&mut tx, &retention, &w).await?;
            let replaced = write_window(&mut tx, &w, &mut notes).await?;
            labels.add(&w);
            shared::count_window(&mut summary, &w, replaced);
        }
        let upsert = shared::UpsertSql {
            least: "MIN",
            greatest: "MAX",
            numbered: false,
        };
        labels.write::<Self>(&mut tx, upsert).await?;
        tx.commit()
            .await
            .map_err(|e| Sqlite::error("committing a write", e))?;
        Ok(summary)
    }

    async fn read_pod_columns(
        pool: &SqlitePool,
        range: TimeRange,
        after: Option<&PodCursor>,
        limit: usize,
    ) -> Result<Option<PodColumnPage>, StoreError> {
        columns::read_pod_columns(pool, range, after, limit).await
    }

    async fn aggregate_rows(
        pool: &SqlitePool,
        query: &ReportQuery,
    ) -> Result<Vec<sqlx::sqlite::SqliteRow>, StoreError> {
        // One read transaction: the plan and the rows it reads see the same state.
        let mut tx = pool
            .begin()
            .await
            .map_err(|e| Sqlite::error("starting a read", e))?;
        let plan = shared::plan::<Self, _>(&mut tx, query.range, query.period, micros_ceil).await?;
        let Some(text) =
            sql::aggregate(query.group_by, query.period, &plan, query.cluster.is_some())
        else {
            return Ok(Vec::new());
        };
        let mut statement = sqlx::query(&text);
        if let Some(cluster) = &query.cluster {
            statement = statement.bind(cluster.to_string());
        }
        statement
            .fetch_all(&mut *tx)
            .await
            .map_err(|e| Sqlite::error("aggregating footprints", e))
    }
}
