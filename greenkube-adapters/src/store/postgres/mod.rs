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
//!   rows inserted with one `INSERT ... SELECT unnest(...), ...` per table (one array per
//!   column, however many pods); an invalid row, a lost connection or any failure rolls the
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
//! * The same repository implements the history ports (snapshot archive, node history,
//!   intensities, recommendations, savings ledger, embodied cache): see `history.rs`.

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
use greenkube_core::ports::{
    FootprintRepository, MAX_PAGE_SIZE, MaintenanceSummary, PodCursor, PodPage, ReportQuery,
    RetentionPolicy, RetentionState, StoreError, TimeRange, WindowRecords, WriteSummary,
};
use greenkube_core::{AggregateRow, Footprint};
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions};
use sqlx::{ConnectOptions as _, Connection as _, Row};

use self::error::{convert_migrate_err, convert_sqlx_err, kind_of, sqlstate};
use self::model::bound;
use super::{AppliedMigration, MigrationReport, OpenOptions, redact};

const BACKEND: &str = "postgres";

/// How long opening waits for the server before giving up.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
/// How long a query waits for a pooled connection.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(30);
/// Connections per store.
const MAX_CONNECTIONS: u32 = 8;

/// The schema migrations, embedded at build time.
static MIGRATOR: Migrator = sqlx::migrate!("migrations/postgres");

/// Footprint rows in PostgreSQL.
#[derive(Debug, Clone)]
pub struct PostgresFootprintRepository {
    pool: PgPool,
}

impl PostgresFootprintRepository {
    /// Connects to the database a `postgres://` URL names (creating it when missing and
    /// `create_if_missing` is set), and applies the migrations it lacks.
    pub async fn open(
        url: &str,
        options: OpenOptions,
    ) -> Result<(Self, MigrationReport), StoreError> {
        let location = redact(url);
        let mut connect = PgConnectOptions::from_str(url).map_err(|e| {
            StoreError::invalid_data(BACKEND, format!("invalid PostgreSQL URL `{location}`"))
                .with_source(e)
        })?;
        if connect.get_application_name().is_none() {
            connect = connect.application_name("greenkube");
        }
        // Never log statements: a slow INSERT would print thousands of values.
        connect = connect.disable_statement_logging();
        let mut conn = match first_connection(&connect, &location).await {
            Err(e) if options.create_if_missing && e.0.as_deref() == Some("3D000") => {
                create_database(&connect, &location).await?;
                first_connection(&connect, &location).await
            }
            other => other,
        }
        .map_err(|(_, e)| e)?;
        let migrations = migrate(&mut conn).await;
        // Closing is a courtesy; a failure here changes nothing.
        let _ = conn.close().await;
        let migrations = migrations?;
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_lazy_with(connect);
        Ok((Self { pool }, migrations))
    }

    /// The connection pool (for tests and tools).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
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
            let err = StoreError::new(kind_of(&e), BACKEND, format!("{why} (`{location}`)"))
                .with_source(e);
            Err((code, err))
        }
        Err(_) => Err((
            None,
            StoreError::unavailable(
                BACKEND,
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
        Err(e) if sqlstate(&e).as_deref() == Some("42P04") => Ok(()),
        Err(e) => Err(convert_sqlx_err(
            &format!("creating database `{name}` (`{location}`)"),
            e,
        )),
    }
}

async fn migrate(conn: &mut PgConnection) -> Result<MigrationReport, StoreError> {
    let has_table: bool = sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
        .fetch_one(&mut *conn)
        .await
        .map_err(|e| convert_sqlx_err("reading the schema version", e))?;
    let before: Vec<i64> = if has_table {
        sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success")
            .fetch_all(&mut *conn)
            .await
            .map_err(|e| convert_sqlx_err("reading the schema version", e))?
    } else {
        Vec::new()
    };
    MIGRATOR
        .run(&mut *conn)
        .await
        .map_err(convert_migrate_err)?;
    let applied = MIGRATOR
        .iter()
        .filter(|m| !before.contains(&m.version))
        .map(|m| AppliedMigration {
            version: m.version,
            description: m.description.to_string(),
        })
        .collect();
    let schema_version = MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0);
    Ok(MigrationReport {
        applied,
        schema_version,
    })
}

/// The insert statements, built once.
static INSERT_PODS: LazyLock<String> =
    LazyLock::new(|| sql::insert("pod_footprints", &sql::POD_ROW_COLUMNS));
static INSERT_NODES: LazyLock<String> =
    LazyLock::new(|| sql::insert("node_footprints", &sql::NODE_ROW_COLUMNS));

/// Writes one window: deletes its rows, inserts the new ones. Returns the pod rows replaced.
async fn write_window(
    conn: &mut PgConnection,
    w: &WindowRecords,
    fp: &Footprint,
) -> Result<u64, StoreError> {
    let cluster = w.cluster.as_deref().unwrap_or("");
    let replaced = sqlx::query(sql::DELETE_POD_WINDOW)
        .bind(w.window_start)
        .bind(cluster)
        .execute(&mut *conn)
        .await
        .map_err(|e| convert_sqlx_err("replacing a window", e))?
        .rows_affected();
    sqlx::query(sql::DELETE_NODE_WINDOW)
        .bind(w.window_start)
        .bind(cluster)
        .execute(&mut *conn)
        .await
        .map_err(|e| convert_sqlx_err("replacing a window", e))?;
    if !w.pods.is_empty() {
        let q = model::bind_window(sqlx::query(INSERT_PODS.as_str()), w, &fp.methodology);
        model::bind_pods(q, &w.pods)
            .execute(&mut *conn)
            .await
            .map_err(|e| convert_sqlx_err("inserting pod rows", e))?;
    }
    if !w.nodes.is_empty() {
        let q = model::bind_window(sqlx::query(INSERT_NODES.as_str()), w, &fp.methodology);
        model::bind_nodes(q, &w.nodes)
            .execute(&mut *conn)
            .await
            .map_err(|e| convert_sqlx_err("inserting node rows", e))?;
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
        .map_err(|e| convert_sqlx_err("locking the windows of a write", e))?;
    // Held until the write ends: no maintenance step (roll-up or cut) runs meanwhile.
    let retention = rollup::lock_for_write(&mut *conn).await?;
    let mut summary = WriteSummary::default();
    for fp in batch {
        let w = WindowRecords::from_footprint(fp);
        // Checked inside the transaction: a bad window rolls back the ones before it.
        w.validate()
            .map_err(|e| StoreError::invalid_data(BACKEND, e.to_string()))?;
        retention.check_writable(BACKEND, &w)?;
        let replaced = write_window(&mut *conn, &w, fp).await?;
        summary.windows += 1;
        summary.pod_rows += w.pods.len();
        summary.node_rows += w.nodes.len();
        summary.replaced_pod_rows += usize::try_from(replaced).unwrap_or(usize::MAX);
    }
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

#[async_trait]
impl FootprintRepository for PostgresFootprintRepository {
    fn backend(&self) -> &'static str {
        BACKEND
    }

    async fn write_footprints(&self, batch: &[Footprint]) -> Result<WriteSummary, StoreError> {
        let mut tx = self
            .pool
            .begin()
            .await
            .map_err(|e| convert_sqlx_err("starting a write", e))?;
        match write_batch(&mut tx, batch).await {
            Ok(summary) => {
                tx.commit()
                    .await
                    .map_err(|e| convert_sqlx_err("committing a write", e))?;
                Ok(summary)
            }
            Err(e) => {
                // Rolled back now rather than when the connection is next used, so the
                // window locks go at once; a lost connection has rolled back already.
                let _ = tx.rollback().await;
                Err(e)
            }
        }
    }

    async fn aggregate(&self, query: &ReportQuery) -> Result<Vec<AggregateRow>, StoreError> {
        // One snapshot: the plan and the rows it reads see the same roll-ups and cuts.
        let mut tx = self
            .pool
            .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .await
            .map_err(|e| convert_sqlx_err("starting a read", e))?;
        let plan = rollup::plan(&mut tx, query.range, query.period).await?;
        let Some(statement) = sql::aggregate(query.group_by, query.period, &plan) else {
            return Ok(Vec::new());
        };
        let mut q = sqlx::query(&statement.text);
        for b in &statement.binds {
            q = match b {
                sql::Bind::Time(t) => q.bind(*t),
                sql::Bind::Times(ts) => q.bind(ts.as_slice()),
            };
        }
        let rows = q
            .fetch_all(&mut *tx)
            .await
            .map_err(|e| convert_sqlx_err("aggregating footprints", e))?;
        // Read only: ending it is a courtesy, the rows are already here.
        let _ = tx.commit().await;
        let mut out = rows
            .iter()
            .map(|row| model::aggregate_from_row(row, query.period))
            .collect::<Result<Vec<_>, _>>()?;
        // Sorted here, byte by byte, whatever the database's collation.
        out.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(out)
    }

    async fn read_pod_rows(
        &self,
        range: TimeRange,
        after: Option<&PodCursor>,
        limit: usize,
    ) -> Result<PodPage, StoreError> {
        if limit == 0 {
            return Err(StoreError::invalid_data(
                BACKEND,
                "page limit must be at least 1",
            ));
        }
        let limit = limit.min(MAX_PAGE_SIZE);
        // One more row than asked tells whether a next page exists.
        let fetch = i64::try_from(limit + 1).unwrap_or(i64::MAX);
        let text = sql::select_pods(after.is_some());
        let mut q = sqlx::query(&text)
            .bind(bound(range.from()))
            .bind(bound(range.to()));
        if let Some(c) = after {
            q = q
                .bind(c.window_start())
                .bind(c.cluster().unwrap_or(""))
                .bind(c.namespace())
                .bind(c.pod());
        }
        let rows = q
            .bind(fetch)
            .fetch_all(&self.pool)
            .await
            .map_err(|e| convert_sqlx_err("reading pod rows", e))?;
        let mut records = rows
            .iter()
            .map(model::pod_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        let next = if records.len() > limit {
            records.truncate(limit);
            records.last().map(PodCursor::after)
        } else {
            None
        };
        Ok(PodPage {
            rows: records,
            next,
        })
    }

    async fn maintain(
        &self,
        policy: &RetentionPolicy,
        now: DateTime<Utc>,
    ) -> Result<MaintenanceSummary, StoreError> {
        rollup::maintain(&self.pool, policy, now).await
    }

    async fn retention_state(&self) -> Result<RetentionState, StoreError> {
        rollup::state(&self.pool).await
    }
}

/// Rows currently stored (pod rows, node rows), for tests and tools.
pub async fn count_rows(repo: &PostgresFootprintRepository) -> Result<(u64, u64), StoreError> {
    let row = sqlx::query(
        "SELECT (SELECT COUNT(*) FROM pod_footprints), (SELECT COUNT(*) FROM node_footprints)",
    )
    .fetch_one(&repo.pool)
    .await
    .map_err(|e| convert_sqlx_err("counting rows", e))?;
    let get = |i| -> Result<u64, StoreError> {
        let n: i64 = row
            .try_get(i)
            .map_err(|e| convert_sqlx_err("counting rows", e))?;
        Ok(u64::try_from(n).unwrap_or(0))
    };
    Ok((get(0)?, get(1)?))
}
