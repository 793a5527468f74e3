//! The SQLite store: one file (or memory), no set-up, WAL journal.
//!
//! * Schema from the migrations embedded at build time (`migrations/sqlite/`), applied on open.
//! * A batch of footprints is one `BEGIN IMMEDIATE` transaction: each window's old rows are
//!   deleted and its new rows inserted (256 rows per statement); an invalid row or any failure
//!   rolls the whole batch back.
//! * Aggregation is one `GROUP BY` query over the key index; period buckets are integer
//!   arithmetic on microseconds (weeks start on Monday), labelled by the core.
//! * Pages are keyset pages over the unique key `(window_start_us, cluster, namespace, pod)`.

mod error;
mod history;
mod model;
mod rollup;
mod sql;

use std::path::Path;
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
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Row, SqliteConnection};

use self::error::{convert_migrate_err, convert_sqlx_err};
use self::model::{micros, micros_ceil};
use super::{AppliedMigration, MigrationReport, OpenOptions};

const BACKEND: &str = "sqlite";

/// The schema migrations, embedded at build time.
static MIGRATOR: Migrator = sqlx::migrate!("migrations/sqlite");

/// Footprint rows in SQLite.
#[derive(Debug, Clone)]
pub struct SqliteFootprintRepository {
    pool: SqlitePool,
}

fn is_memory(url: &str) -> bool {
    url.contains(":memory:") || url.contains("mode=memory")
}

impl SqliteFootprintRepository {
    /// Opens (and, with `create_if_missing`, creates) the database a `sqlite:` URL names, and
    /// applies the migrations it lacks.
    pub async fn open(
        url: &str,
        options: OpenOptions,
    ) -> Result<(Self, MigrationReport), StoreError> {
        let memory = is_memory(url);
        let connect = SqliteConnectOptions::from_str(url)
            .map_err(|e| {
                StoreError::invalid_data(BACKEND, format!("invalid SQLite URL `{url}`"))
                    .with_source(e)
            })?
            .create_if_missing(options.create_if_missing)
            .busy_timeout(Duration::from_secs(10));
        if !memory {
            let path = connect.get_filename();
            if path.as_os_str().is_empty() {
                return Err(StoreError::invalid_data(
                    BACKEND,
                    format!("no file in `{url}`; write `sqlite://PATH` or `sqlite::memory:`"),
                ));
            }
            if !options.create_if_missing && !exists(path) {
                return Err(StoreError::unavailable(
                    BACKEND,
                    format!("no database at `{}`", path.display()),
                ));
            }
        }
        let connect = if memory {
            connect
        } else {
            connect
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
        };
        // An in-memory database lives as long as its connections: keep exactly one, forever.
        let pool_options = if memory {
            SqlitePoolOptions::new()
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None)
        } else {
            SqlitePoolOptions::new().max_connections(4)
        };
        let pool = pool_options
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(connect)
            .await
            .map_err(|e| convert_sqlx_err(&format!("opening `{url}`"), e))?;
        let migrations = migrate(&pool).await?;
        Ok((Self { pool }, migrations))
    }

    /// The connection pool (for tests and tools).
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }
}

fn exists(path: &Path) -> bool {
    path.try_exists().unwrap_or(false)
}

async fn migrate(pool: &SqlitePool) -> Result<MigrationReport, StoreError> {
    let has_table: Option<i64> = sqlx::query_scalar(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
    )
    .fetch_optional(pool)
    .await
    .map_err(|e| convert_sqlx_err("reading the schema version", e))?;
    let before: Vec<i64> = if has_table.is_some() {
        sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success")
            .fetch_all(pool)
            .await
            .map_err(|e| convert_sqlx_err("reading the schema version", e))?
    } else {
        Vec::new()
    };
    MIGRATOR.run(pool).await.map_err(convert_migrate_err)?;
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

/// The insert of a full chunk of pod rows.
static FULL_POD_INSERT: LazyLock<String> =
    LazyLock::new(|| sql::insert("pod_footprints", &sql::POD_COLUMNS, sql::ROWS_PER_INSERT));

/// Writes one window: deletes its rows, inserts the new ones. Returns the pod rows replaced.
async fn write_window(conn: &mut SqliteConnection, w: &WindowRecords) -> Result<u64, StoreError> {
    let start = micros(w.window_start);
    let cluster = w.cluster.as_deref().unwrap_or("");
    let replaced = sqlx::query(sql::DELETE_POD_WINDOW)
        .bind(start)
        .bind(cluster)
        .execute(&mut *conn)
        .await
        .map_err(|e| convert_sqlx_err("replacing a window", e))?
        .rows_affected();
    sqlx::query(sql::DELETE_NODE_WINDOW)
        .bind(start)
        .bind(cluster)
        .execute(&mut *conn)
        .await
        .map_err(|e| convert_sqlx_err("replacing a window", e))?;
    for chunk in w.pods.chunks(sql::ROWS_PER_INSERT) {
        // Full chunks share one statement text, built once per process (and prepared once per
        // connection); only a window's last chunk has a text of its own.
        let partial;
        let text: &str = if chunk.len() == sql::ROWS_PER_INSERT {
            FULL_POD_INSERT.as_str()
        } else {
            partial = sql::insert("pod_footprints", &sql::POD_COLUMNS, chunk.len());
            &partial
        };
        let mut q = sqlx::query(text);
        for p in chunk {
            q = model::bind_pod(q, p);
        }
        q.execute(&mut *conn)
            .await
            .map_err(|e| convert_sqlx_err("inserting pod rows", e))?;
    }
    for chunk in w.nodes.chunks(sql::ROWS_PER_INSERT) {
        let text = sql::insert("node_footprints", &sql::NODE_COLUMNS, chunk.len());
        let mut q = sqlx::query(&text);
        for n in chunk {
            q = model::bind_node(q, n);
        }
        q.execute(&mut *conn)
            .await
            .map_err(|e| convert_sqlx_err("inserting node rows", e))?;
    }
    Ok(replaced)
}

#[async_trait]
impl FootprintRepository for SqliteFootprintRepository {
    fn backend(&self) -> &'static str {
        BACKEND
    }

    async fn write_footprints(&self, batch: &[Footprint]) -> Result<WriteSummary, StoreError> {
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(|e| convert_sqlx_err("starting a write", e))?;
        let mut summary = WriteSummary::default();
        let retention = rollup::state(&mut tx).await?;
        for fp in batch {
            let w = WindowRecords::from_footprint(fp);
            // Checked inside the transaction: a bad window rolls back the ones before it.
            w.validate()
                .map_err(|e| StoreError::invalid_data(BACKEND, e.to_string()))?;
            rollup::before_window(&mut tx, &retention, &w).await?;
            let replaced = write_window(&mut tx, &w).await?;
            summary.windows += 1;
            summary.pod_rows += w.pods.len();
            summary.node_rows += w.nodes.len();
            summary.replaced_pod_rows += usize::try_from(replaced).unwrap_or(usize::MAX);
        }
        tx.commit()
            .await
            .map_err(|e| convert_sqlx_err("committing a write", e))?;
        Ok(summary)
    }

    async fn aggregate(&self, query: &ReportQuery) -> Result<Vec<AggregateRow>, StoreError> {
        // One read transaction: the plan and the rows it reads see the same state.
        let mut tx = self
            .pool
            .begin()
            .await
            .map_err(|e| convert_sqlx_err("starting a read", e))?;
        let plan = rollup::plan(&mut tx, query.range, query.period).await?;
        let Some(text) = sql::aggregate(query.group_by, query.period, &plan) else {
            return Ok(Vec::new());
        };
        let rows = sqlx::query(&text)
            .fetch_all(&mut *tx)
            .await
            .map_err(|e| convert_sqlx_err("aggregating footprints", e))?;
        drop(tx);
        let mut out = rows
            .iter()
            .map(|row| model::aggregate_from_row(row, query.period))
            .collect::<Result<Vec<_>, _>>()?;
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
            .bind(micros_ceil(range.from()))
            .bind(micros_ceil(range.to()));
        if let Some(c) = after {
            q = q
                .bind(micros(c.window_start()))
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
        let mut conn = self
            .pool
            .acquire()
            .await
            .map_err(|e| convert_sqlx_err("reading the retention state", e))?;
        rollup::state(&mut conn).await
    }
}

/// Rows currently stored (pod rows, node rows), for tests and tools.
pub async fn count_rows(repo: &SqliteFootprintRepository) -> Result<(u64, u64), StoreError> {
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
