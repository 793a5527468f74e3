//! The PostgreSQL store: for many clusters and years of history.
//!
//! * `postgres://USER:PASSWORD@HOST:PORT/DATABASE?...` (or `postgresql://`), with the usual
//!   parameters (`sslmode`, `sslrootcert`, `application_name`, `options`, ...); TLS goes through
//!   rustls. `options[search_path]=SCHEMA` keeps greenkube's tables in a schema of their own.
//! * Opening connects once (failing fast with the reason: refused, unknown host, bad password),
//!   creates the database when it is missing and `create_if_missing` is set (the user needs
//!   `CREATEDB`), and applies the migrations embedded at build time (`migrations/postgres/`),
//!   which sqlx serialises with an advisory lock so several greenkubes can start at once.
//! * A batch of footprints is one transaction: each window's old rows are deleted and its new
//!   rows inserted: pods with one binary `COPY` (see `copy.rs`), nodes with one
//!   `INSERT ... SELECT unnest(...), ...` (one array per column); an invalid row, a lost connection or any failure rolls the
//!   whole batch back. Writers of the same window take turns (a transaction-scoped advisory
//!   lock per window) instead of failing on the key.
//! * Aggregation is one `GROUP BY` query; period buckets are `date_trunc` in UTC (weeks start on
//!   Monday), labelled by the core. It reads the read plan's sources (raw rows, hourly and daily
//!   roll-ups) in one `UNION ALL`; the plan and the query run in one `REPEATABLE READ`
//!   snapshot, so they agree.
//! * Roll-ups and retention (`maintain`, migration `0003_rollups`): the same design as SQLite's;
//!   a write holds the retention state `FOR SHARE` and each maintenance step holds it
//!   `FOR UPDATE`, so a step never runs under a write (see `rollup.rs`).
//! * Pages are keyset pages over the primary key `(window_start, cluster, namespace, pod)`,
//!   whose text columns use the "C" collation, so keys compare byte by byte as in the core.
//! * The same store implements the history ports (snapshot archive, node history,
//!   intensities, recommendations, savings ledger, embodied cache): see `history.rs`.
//!
//! What PostgreSQL and SQLite share (every port, decoding, paging, the history reads) is in
//! [`super::sql`]; this module has PostgreSQL's SQL and what it does its own way.

mod copy;
mod error;
mod history;
mod model;
mod rollup;
mod sql;

use std::str::FromStr;
use std::sync::LazyLock;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use greenkube_core::Footprint;
use greenkube_core::ports::{ReportQuery, StoreError, StoreErrorKind, WindowRecords, WriteSummary};
use sqlx::error::DatabaseError;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions, PgQueryResult, PgRow};
use sqlx::{ConnectOptions as _, Connection as _, Postgres, Row as _, Transaction};

use self::error::sqlstate;
use self::model::{bound, instant};
use super::sql::notes::NoteIds;
use super::sql::{self as shared, Dialect, FootprintOps, Query, SqlStore, Statements};
use super::{MigrationReport, OpenOptions, redact};

/// How long opening waits for the server before giving up.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
/// How long a query waits for a pooled connection.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(30);
/// Connections per store.
const MAX_CONNECTIONS: u32 = 8;

/// The PostgreSQL store: footprint rows, roll-ups and the history repositories in one
/// PostgreSQL database; one object implements every port.
pub type PostgresStore = SqlStore<Postgres>;

impl PostgresStore {
    /// Connects to the database a `postgres://` URL names (creating it when missing and
    /// `create_if_missing` is set), and applies the migrations it lacks.
    pub async fn open(
        url: &str,
        options: OpenOptions,
    ) -> Result<(Self, MigrationReport), StoreError> {
        let location = redact(url);
        let mut connect = PgConnectOptions::from_str(url).map_err(|e| {
            StoreError::invalid_data(
                Postgres::BACKEND,
                format!("invalid PostgreSQL URL `{location}`"),
            )
            .with_source(e)
        })?;
        if connect.get_application_name().is_none() {
            connect = connect.application_name("greenkube");
        }
        // Never log statements: a slow INSERT would print thousands of values.
        connect = connect.disable_statement_logging();
        // One connection first, failing fast with the reason (and creating the database).
        let conn = match first_connection(&connect, &location).await {
            Err(e) if options.create_if_missing && e.0.as_deref() == Some("3D000") => {
                create_database(&connect, &location).await?;
                first_connection(&connect, &location).await
            }
            other => other,
        }
        .map_err(|(_, e)| e)?;
        // Closing is a courtesy; a failure here changes nothing.
        let _ = conn.close().await;
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_lazy_with(connect);
        let migrations = shared::migrate(&pool).await?;
        Ok((Self::new(pool), migrations))
    }
}

/// Rows currently stored (pod rows, node rows), for tests and tools.
pub async fn count_rows(repo: &PostgresStore) -> Result<(u64, u64), StoreError> {
    shared::count_rows(repo).await
}

/// A connection failed: its SQLSTATE (if the server answered) and the error to report.
type ConnectError = (Option<String>, StoreError);

/// One connection, with a time-out and an error that says what went wrong and where.
async fn first_connection(
    connect: &PgConnectOptions,
    location: &str,
) -> Result<PgConnection, ConnectError> {
    match tokio::time::timeout(CONNECT_TIMEOUT, connect.connect()).await {
        Ok(Ok(conn)) => Ok(conn),
        Ok(Err(e)) => {
            let code = sqlstate(&e);
            let why = match code.as_deref() {
                Some("3D000") => format!("database `{}` does not exist", database_name(connect)),
                Some(c) if c.starts_with("28") => "the server refused the credentials".to_string(),
                _ => "cannot connect".to_string(),
            };
            let err = StoreError::new(
                shared::kind_of::<Postgres>(&e),
                Postgres::BACKEND,
                format!("{why} (`{location}`)"),
            )
            .with_source(e);
            Err((code, err))
        }
        Err(_) => Err((
            None,
            StoreError::unavailable(
                Postgres::BACKEND,
                format!(
                    "no answer from `{location}` within {} s",
                    CONNECT_TIMEOUT.as_secs()
                ),
            ),
        )),
    }
}

/// The database a URL names (the user name when it names none, as libpq does).
fn database_name(connect: &PgConnectOptions) -> &str {
    connect
        .get_database()
        .unwrap_or_else(|| connect.get_username())
}

/// `CREATE DATABASE`, through the `postgres` maintenance database. Another greenkube creating
/// it at the same moment is fine.
async fn create_database(connect: &PgConnectOptions, location: &str) -> Result<(), StoreError> {
    let name = database_name(connect).to_string();
    let maintenance = connect.clone().database("postgres");
    let mut conn = first_connection(&maintenance, location)
        .await
        .map_err(|(_, e)| e)?;
    let statement = format!("CREATE DATABASE \"{}\"", name.replace('"', "\"\""));
    let created = sqlx::raw_sql(&statement).execute(&mut conn).await;
    let _ = conn.close().await;
    match created {
        Ok(_) => Ok(()),
        // 42P04: it exists; 23505: another session created it while this one did (the
        // unique index on `pg_database` names the loser).
        Err(e) if matches!(sqlstate(&e).as_deref(), Some("42P04" | "23505")) => Ok(()),
        Err(e) => Err(Postgres::error(
            &format!("creating database `{name}` (`{location}`)"),
            e,
        )),
    }
}

/// The insert statements, built once.
static INSERT_NODES: LazyLock<String> =
    LazyLock::new(|| sql::insert("node_footprints", &shared::NODE_ROW_COLUMNS));

/// Writes one window: deletes its rows, inserts the new ones. Returns the pod rows replaced.
async fn write_window(
    conn: &mut PgConnection,
    w: &WindowRecords,
    fp: &Footprint,
    notes: &mut NoteIds,
) -> Result<u64, StoreError> {
    let cluster = w.cluster.as_deref().unwrap_or("");
    let replaced = sqlx::query(sql::DELETE_POD_WINDOW)
        .bind(w.window_start)
        .bind(cluster)
        .execute(&mut *conn)
        .await
        .map_err(|e| Postgres::error("replacing a window", e))?
        .rows_affected();
    sqlx::query(sql::DELETE_NODE_WINDOW)
        .bind(w.window_start)
        .bind(cluster)
        .execute(&mut *conn)
        .await
        .map_err(|e| Postgres::error("replacing a window", e))?;
    copy::copy_pods(&mut *conn, w, notes).await?;
    if !w.nodes.is_empty() {
        let q = model::bind_window(sqlx::query(INSERT_NODES.as_str()), w, &fp.methodology);
        model::bind_nodes(q, &w.nodes)
            .execute(&mut *conn)
            .await
            .map_err(|e| Postgres::error("inserting node rows", e))?;
    }
    Ok(replaced)
}

/// Writes a batch inside a transaction.
async fn write_batch(
    conn: &mut PgConnection,
    batch: &[Footprint],
) -> Result<WriteSummary, StoreError> {
    // Writers of the same window take turns (the last to commit wins) instead of failing on
    // the key; locks are taken in one order, so two batches never wait for each other.
    sqlx::query(sql::LOCK_WINDOWS)
        .bind(window_locks(batch))
        .execute(&mut *conn)
        .await
        .map_err(|e| Postgres::error("locking the windows of a write", e))?;
    // Held until the write ends: no maintenance step (roll-up or cut) runs meanwhile.
    let retention = rollup::lock_for_write(&mut *conn).await?;
    let mut summary = WriteSummary::default();
    let mut labels = shared::LabelBatch::default();
    let mut notes = NoteIds::default();
    for fp in batch {
        let w = shared::window_of::<Postgres>(fp)?;
        retention.check_writable(Postgres::BACKEND, &w)?;
        let replaced = write_window(&mut *conn, &w, fp, &mut notes).await?;
        labels.add(&w);
        shared::count_window(&mut summary, &w, replaced);
    }
    let upsert = shared::UpsertSql {
        least: "LEAST",
        greatest: "GREATEST",
        numbered: true,
    };
    labels.write::<Postgres>(&mut *conn, upsert).await?;
    rollup::mark_written(&mut *conn, batch).await?;
    Ok(summary)
}

/// One advisory-lock key per window of the batch (64-bit FNV-1a of the cluster, as stored, and
/// the window start), sorted and without duplicates. Two windows sharing a key only take turns.
fn window_locks(batch: &[Footprint]) -> Vec<i64> {
    let mut keys: Vec<i64> = batch
        .iter()
        .map(|fp| {
            let cluster = fp.cluster.as_deref().unwrap_or("");
            let mut h: u64 = 0xcbf2_9ce4_8422_2325;
            let start = fp.window_start.timestamp_micros().to_le_bytes();
            for b in cluster.bytes().chain([0xff]).chain(start) {
                h ^= u64::from(b);
                h = h.wrapping_mul(0x0100_0000_01b3);
            }
            i64::from_ne_bytes(h.to_ne_bytes())
        })
        .collect();
    keys.sort_unstable();
    keys.dedup();
    keys
}

impl Dialect for Postgres {
    const BACKEND: &'static str = "postgres";
    const TIME_SUFFIX: &'static str = "";
    const TEXT: &'static str = "::text";
    // Each row's notes from `row_notes` (migration 5), or its own for rows stored before.
    const POD_ROWS: &'static str = "pod_footprint_rows";
    const NOT_INDEXED: &'static str = "";
    const MIGRATOR: Migrator = sqlx::migrate!("migrations/postgres");
    const SQL: Statements = Statements {
        has_migrations: "SELECT 1 WHERE to_regclass('_sqlx_migrations') IS NOT NULL",
        retention_state: "SELECT raw_before, hourly_before, daily_before \
            FROM retention_state WHERE id = 1",
        rolled_buckets: "SELECT level::int8, bucket FROM rolled_buckets \
            WHERE bucket >= $1 AND bucket < $2",
        dirty_before: [
            "SELECT bucket FROM dirty_buckets WHERE level = 1 AND bucket < $1 ORDER BY bucket",
            "SELECT bucket FROM dirty_buckets d WHERE level = 2 AND bucket < $1 \
             AND NOT EXISTS (SELECT 1 FROM dirty_buckets h WHERE h.level = 1 \
             AND h.bucket >= d.bucket AND h.bucket < d.bucket + interval '24 hours') \
             ORDER BY bucket",
        ],
        note_id: "SELECT id FROM row_notes WHERE md5(estimation_reasons::text) = md5($1::jsonb::text) \
            AND estimation_reasons = $1::jsonb AND methodology = $2 AND methodology_version = $3 \
            AND data_version = $4 AND idle_policy = $5",
        note_insert: "INSERT INTO row_notes \
            (estimation_reasons, methodology, methodology_version, data_version, idle_policy) \
            VALUES ($1::jsonb, $2, $3, $4, $5) ON CONFLICT DO NOTHING RETURNING id",
        archive: "INSERT INTO snapshot_archive (cluster, window_start, body) \
            VALUES ($1, $2, $3) ON CONFLICT (window_start, cluster) DO UPDATE \
            SET body = excluded.body, archived_at = now()",
        snapshot: "SELECT body FROM snapshot_archive WHERE window_start = $2 AND cluster = $1",
        archived_windows: "SELECT cluster, window_start FROM snapshot_archive \
            WHERE window_start >= $1 AND window_start < $2 ORDER BY window_start, cluster",
        nodes_at: "SELECT valid_from, valid_to, body::text FROM node_versions \
            WHERE cluster = $1 AND valid_from <= $2 AND (valid_to IS NULL OR $2 < valid_to) \
            ORDER BY name",
        node_versions: "SELECT valid_from, valid_to, body::text FROM node_versions \
            WHERE cluster = $1 AND name = $2 ORDER BY valid_from",
        intensity_at: "SELECT zone, at_time, gco2e_per_kwh, source FROM intensities \
            WHERE zone = $1 AND at_time <= $2 AND at_time > $3 ORDER BY at_time DESC LIMIT 1",
        intensities: "SELECT zone, at_time, gco2e_per_kwh, source FROM intensities \
            WHERE zone = $1 AND at_time >= $2 AND at_time < $3 ORDER BY at_time",
        records: "SELECT body::text FROM recommendations ORDER BY id",
        update_record: "UPDATE recommendations SET body = $2::jsonb WHERE id = $1 RETURNING id",
        savings_by_kind: "SELECT kind, SUM(co2e_grams), COALESCE(SUM(cost), 0), \
            COUNT(*) FILTER (WHERE cost IS NULL) FROM savings_ledger \
            WHERE period_start >= $1 AND period_start < $2 GROUP BY kind",
    };

    fn bind_time(query: Query<'_, Self>, t: Option<DateTime<Utc>>) -> Query<'_, Self> {
        query.bind(t.map(instant))
    }

    fn bind_bound(query: Query<'_, Self>, t: DateTime<Utc>) -> Query<'_, Self> {
        query.bind(bound(t))
    }

    fn read_time(row: &PgRow, index: usize) -> Result<Option<DateTime<Utc>>, StoreError> {
        row.try_get(index)
            .map_err(|e| Self::error("reading a stored time", e))
    }

    fn rows_affected(done: &PgQueryResult) -> u64 {
        done.rows_affected()
    }

    fn database_error_kind(db: &dyn DatabaseError) -> StoreErrorKind {
        error::database_error_kind(db)
    }
}

/// Commits a transaction whose work succeeded, rolls back one whose work failed (now, rather
/// than when the connection is next used, so its locks go at once; a lost connection has
/// rolled back already). `doing` is what a failed commit was doing.
async fn finish<T>(
    tx: Transaction<'static, Postgres>,
    result: Result<T, StoreError>,
    doing: &str,
) -> Result<T, StoreError> {
    match result {
        Ok(value) => {
            tx.commit().await.map_err(|e| Postgres::error(doing, e))?;
            Ok(value)
        }
        Err(e) => {
            let _ = tx.rollback().await;
            Err(e)
        }
    }
}

#[async_trait]
impl FootprintOps for Postgres {
    async fn write_footprints(
        pool: &PgPool,
        batch: &[Footprint],
    ) -> Result<WriteSummary, StoreError> {
        let mut tx = pool
            .begin()
            .await
            .map_err(|e| Postgres::error("starting a write", e))?;
        let written = write_batch(&mut tx, batch).await;
        finish(tx, written, "committing a write").await
    }

    async fn aggregate_rows(pool: &PgPool, query: &ReportQuery) -> Result<Vec<PgRow>, StoreError> {
        // One snapshot: the plan and the rows it reads see the same roll-ups and cuts.
        let mut tx = pool
            .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .await
            .map_err(|e| Postgres::error("starting a read", e))?;
        let plan = shared::plan::<Self, _>(&mut tx, query.range, query.period, bound).await?;
        let Some(statement) = sql::aggregate(
            query.group_by,
            query.period,
            &plan,
            query.cluster.as_deref(),
        ) else {
            return Ok(Vec::new());
        };
        let mut q = sqlx::query(&statement.text);
        for b in &statement.binds {
            q = match b {
                sql::Bind::Time(t) => q.bind(*t),
                sql::Bind::Times(ts) => q.bind(ts.as_slice()),
                sql::Bind::Text(text) => q.bind(text.as_str()),
            };
        }
        let rows = q
            .fetch_all(&mut *tx)
            .await
            .map_err(|e| Postgres::error("aggregating footprints", e))?;
        // Read only: ending it is a courtesy, the rows are already here.
        let _ = tx.commit().await;
        Ok(rows)
    }
}
