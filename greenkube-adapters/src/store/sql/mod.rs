//! What the SQL stores share: one store type, [`SqlStore`], with one implementation of every
//! port for both backends (`SqliteStore` and `PostgresStore` are its two instances).
//!
//! The backends differ in their SQL, in how they store an instant (whole microseconds in a
//! SQLite `INTEGER`, a PostgreSQL `timestamptz`), in how they classify database errors, and in
//! the operations whose SQL and concurrency control are their own: writing footprints, a step
//! of `maintain` and the roll-up statements, the report statement, recording node versions,
//! batch writes of the history, the embodied cache. A backend says all that by implementing the
//! crate-private traits `Dialect`, `FootprintOps`, `MaintenanceOps` and `HistoryOps` for its
//! sqlx database type; everything else (decoding rows, paging, the read plan, the steps of
//! `maintain`, migrations, the history reads, errors) is written once here.

mod error;
mod exec;
mod footprints;
mod history;
pub(crate) mod labels;
mod maintain;
pub(crate) mod notes;
mod rows;
mod schema;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use greenkube_core::ports::{
    EmbodiedCacheEntry, IntensityPoint, LedgerEntry, PodColumnPage, PodCursor, ReportQuery,
    RetentionState, StoreError, StoreErrorKind, TimeRange, WriteSummary,
};
use greenkube_core::{Footprint, Node};
use sqlx::error::DatabaseError;
use sqlx::migrate::Migrator;
use sqlx::{Database, Pool, Transaction};

#[cfg(feature = "postgres")]
pub(crate) use self::error::kind_of;
pub(crate) use self::error::{migrate_error, sqlx_error};
pub(crate) use self::exec::Query;
use self::exec::{Column, Exec, fetch_all, fetch_optional};
#[cfg(feature = "sqlite")]
pub(crate) use self::footprints::page_start;
#[cfg(feature = "sqlite")]
pub(crate) use self::footprints::retention_in;
pub(crate) use self::footprints::{count_window, plan, window_of};
pub(crate) use self::labels::{LabelBatch, UpsertSql};
pub(crate) use self::maintain::roll;
#[cfg(feature = "postgres")]
pub(crate) use self::rows::retention_from_row;
pub(crate) use self::rows::{Columns, invalid};
#[cfg(feature = "sqlite")]
pub(crate) use self::schema::columns;
pub(crate) use self::schema::{
    AggregateSql, NODE_ROW_COLUMNS, POD_ROW_COLUMNS, Plan, Restriction, aggregate, reasons_json,
    text,
};
#[cfg(feature = "sqlite")]
pub(crate) use self::schema::{POD_SELECT_COLUMNS, PageSql, select_pods_upto};
use super::{AppliedMigration, MigrationReport};

/// A SQL store: footprint rows, their roll-ups and the history repositories (snapshot archive,
/// node history, intensities, recommendations, savings ledger, embodied cache) in one SQLite or
/// PostgreSQL database. One object implements every port. Open one with `SqliteStore::open` or
/// `PostgresStore::open`.
#[derive(Debug)]
pub struct SqlStore<D: Database> {
    pool: Pool<D>,
}

impl<D: Database> SqlStore<D> {
    pub(crate) fn new(pool: Pool<D>) -> Self {
        Self { pool }
    }

    /// The connection pool (for tests and tools).
    pub fn pool(&self) -> &Pool<D> {
        &self.pool
    }
}

impl<D: Database> Clone for SqlStore<D> {
    fn clone(&self) -> Self {
        Self {
            pool: self.pool.clone(),
        }
    }
}

/// The statements the shared code runs, in the backend's SQL. Placeholders are `$1`, `$2`, ...
/// in both backends (SQLite reads `$N` as the N-th argument).
#[derive(Debug)]
pub(crate) struct Statements {
    /// A row when sqlx's migrations table exists.
    pub(crate) has_migrations: &'static str,
    /// The retention state: raw, hourly and daily cuts.
    pub(crate) retention_state: &'static str,
    /// `$1`, `$2` a range: level (an integer: 1 hourly, 2 daily) and start of the buckets
    /// rolled up (and current) in it.
    pub(crate) rolled_buckets: &'static str,
    /// `$1` a time: the dirty buckets of a level, hourly (`[0]`) or daily (`[1]`, only those
    /// none of whose hours is dirty), that start before it, in order.
    pub(crate) dirty_before: [&'static str; 2],
    /// `$1` reasons (a JSON list), `$2` methodology, `$3` its version, `$4` data version, `$5`
    /// idle policy: the id of that row note, when stored (see `notes`).
    pub(crate) note_id: &'static str,
    /// Adds the row note bound as [`Self::note_id`] and returns its id; returns no row when
    /// another writer added it first.
    pub(crate) note_insert: &'static str,
    /// `$1` cluster, `$2` window start, `$3` body: stores or replaces an archived snapshot.
    pub(crate) archive: &'static str,
    /// `$1` cluster, `$2` window start: the archived body.
    pub(crate) snapshot: &'static str,
    /// `$1`, `$2` a range: cluster and window start of the snapshots archived in it, in order.
    pub(crate) archived_windows: &'static str,
    /// `$1` cluster, `$2` a time: valid from, valid to and body (JSON text) of the node versions
    /// then, by name.
    pub(crate) nodes_at: &'static str,
    /// `$1` cluster, `$2` node name: its versions as [`Self::nodes_at`], oldest first.
    pub(crate) node_versions: &'static str,
    /// `$1` zone, `$2` a time, `$3` an older time: zone, time, value and source of the latest
    /// intensity after `$3` up to `$2`.
    pub(crate) intensity_at: &'static str,
    /// `$1` zone, `$2`, `$3` a range: its intensities as [`Self::intensity_at`], in order.
    pub(crate) intensities: &'static str,
    /// Every recommendation record (JSON text), by id.
    pub(crate) records: &'static str,
    /// `$1` id, `$2` record (JSON text): replaces a record, returning a row when it exists.
    pub(crate) update_record: &'static str,
    /// `$1`, `$2` a range: per kind, its CO2e sum, its cost sum (0 when none) and the count
    /// of entries without a cost.
    pub(crate) savings_by_kind: &'static str,
}

/// What one SQL backend is: its name, how it stores instants, how it classifies database
/// errors, and the SQL of the statements the shared code runs.
pub(crate) trait Dialect:
    Exec
    + Column<String>
    + Column<Option<String>>
    + Column<f64>
    + Column<Option<f64>>
    + Column<i64>
    + Column<Option<i64>>
    + Column<bool>
    + Column<Vec<u8>>
{
    /// The backend's name, as `backend()` and errors give it.
    const BACKEND: &'static str;
    /// What ends the name of a time column (`window_start`, `bucket`, `raw_before`, ...).
    const TIME_SUFFIX: &'static str;
    /// What makes a text placeholder or a JSON column text: a cast, or nothing.
    const TEXT: &'static str;
    /// The table or view pod rows are read from, with the columns of `pod_footprints` as
    /// [`schema::POD_ROW_COLUMNS`] names them.
    const POD_ROWS: &'static str;
    /// What goes before a column in a condition the planner must not search the index by
    /// (`+` in SQLite; nothing in PostgreSQL, whose planner searches by the whole row
    /// comparison with the column's bound beside it).
    const NOT_INDEXED: &'static str;
    /// How this backend writes the page statement of pod rows.
    const PAGE_SQL: schema::PageSql = schema::PageSql {
        us: Self::TIME_SUFFIX,
        text: Self::TEXT,
        rows: Self::POD_ROWS,
        not_indexed: Self::NOT_INDEXED,
        with_note: false,
    };
    /// The schema migrations, embedded at build time.
    const MIGRATOR: Migrator;
    /// The statements the shared code runs.
    const SQL: Statements;

    /// Binds an instant (or NULL) as the backend stores it: whole microseconds, rounded down.
    fn bind_time(query: Query<'_, Self>, t: Option<DateTime<Utc>>) -> Query<'_, Self>;

    /// Binds the bound of a range of stored instants: rounded up to the microsecond, so that
    /// a stored `s` is `>=` (`<`) the bound exactly when `s >= t` (`s < t`).
    fn bind_bound(query: Query<'_, Self>, t: DateTime<Utc>) -> Query<'_, Self>;

    /// Reads an instant (NULL is `None`).
    fn read_time(row: &Self::Row, index: usize) -> Result<Option<DateTime<Utc>>, StoreError>;

    /// What an error the database reported means.
    fn database_error_kind(e: &dyn DatabaseError) -> StoreErrorKind;

    /// The rows a statement changed.
    fn rows_affected(done: &Self::QueryResult) -> u64;

    /// A sqlx error while `doing` something (lower-case, no trailing period).
    fn error(doing: &str, e: sqlx::Error) -> StoreError {
        sqlx_error::<Self>(doing, e)
    }
}

/// How a backend maintains its roll-ups: the shared `maintain` runs its steps.
#[async_trait]
pub(crate) trait MaintenanceOps: Dialect {
    /// The roll-up statements of a level (1 hourly, 2 daily): the pod and the node roll-up of
    /// one bucket, `$1` its start and `$2` its end.
    fn roll_statements(level: i64) -> [String; 2];

    /// Starts a step of `maintain`: a transaction in which no write runs, and the retention
    /// state.
    async fn begin_step(
        pool: &Pool<Self>,
    ) -> Result<(Transaction<'static, Self>, RetentionState), StoreError>;

    /// Inside a step: rolls up the buckets of `level` among `candidates` (ready when listed)
    /// that are still to roll up; returns how many.
    async fn roll_ready(
        conn: &mut Self::Connection,
        level: i64,
        candidates: &[DateTime<Utc>],
    ) -> Result<usize, StoreError>;
}

/// The footprint operations a backend does its own way.
#[async_trait]
pub(crate) trait FootprintOps: MaintenanceOps {
    /// See `FootprintRepository::write_footprints`.
    async fn write_footprints(
        pool: &Pool<Self>,
        batch: &[Footprint],
    ) -> Result<WriteSummary, StoreError>;

    /// The rows of the aggregate statement of `query` (decoded and sorted by the caller), read
    /// with its plan in one snapshot.
    async fn aggregate_rows(
        pool: &Pool<Self>,
        query: &ReportQuery,
    ) -> Result<Vec<Self::Row>, StoreError>;

    /// See `FootprintRepository::read_pod_columns`: the page by column when the backend reads
    /// it its own way, `None` to read the rows and transpose them (the default).
    async fn read_pod_columns(
        _pool: &Pool<Self>,
        _range: TimeRange,
        _after: Option<&PodCursor>,
        _limit: usize,
    ) -> Result<Option<PodColumnPage>, StoreError> {
        Ok(None)
    }
}

/// The history writes a backend does its own way, and its embodied cache.
#[async_trait]
pub(crate) trait HistoryOps: Dialect {
    /// See `NodeHistory::record_nodes`; the cluster as stored (`""` for none).
    async fn record_nodes(
        pool: &Pool<Self>,
        cluster: &str,
        at: DateTime<Utc>,
        nodes: &[Node],
    ) -> Result<(), StoreError>;

    /// See `IntensityHistory::put_intensities` (the points are checked).
    async fn put_intensities(
        pool: &Pool<Self>,
        points: &[IntensityPoint],
    ) -> Result<(), StoreError>;

    /// See `RecommendationStore::replace_records`: the records' ids (no two alike) and JSON.
    async fn replace_records(
        pool: &Pool<Self>,
        ids: &[&str],
        bodies: &[String],
    ) -> Result<(), StoreError>;

    /// See `SavingsLedger::record_savings`.
    async fn record_savings(pool: &Pool<Self>, entries: &[LedgerEntry]) -> Result<(), StoreError>;

    /// See `EmbodiedCache::cached_embodied`.
    async fn cached_embodied(
        pool: &Pool<Self>,
        provider: &str,
        instance_type: &str,
    ) -> Result<Option<EmbodiedCacheEntry>, StoreError>;

    /// See `EmbodiedCache::cache_embodied`.
    async fn cache_embodied(
        pool: &Pool<Self>,
        entry: &EmbodiedCacheEntry,
    ) -> Result<(), StoreError>;
}

/// Applies the migrations the database lacks, and says which.
pub(crate) async fn migrate<D: Dialect>(pool: &Pool<D>) -> Result<MigrationReport, StoreError> {
    const DOING: &str = "reading the schema version";
    let migrator = &D::MIGRATOR;
    let has_table = fetch_optional(pool, sqlx::query(D::SQL.has_migrations), DOING).await?;
    let before = if has_table.is_some() {
        let versions = "SELECT version FROM _sqlx_migrations WHERE success";
        fetch_all(pool, sqlx::query(versions), DOING)
            .await?
            .iter()
            .map(|row| Columns::<D>::new(row).get::<i64>())
            .collect::<Result<Vec<_>, _>>()?
    } else {
        Vec::new()
    };
    D::migrate(pool, migrator)
        .await
        .map_err(migrate_error::<D>)?;
    Ok(MigrationReport {
        applied: migrator
            .iter()
            .filter(|m| !before.contains(&m.version))
            .map(|m| AppliedMigration {
                version: m.version,
                description: m.description.to_string(),
            })
            .collect(),
        schema_version: migrator.iter().map(|m| m.version).max().unwrap_or(0),
    })
}

/// Rows currently stored (pod rows, node rows).
pub(crate) async fn count_rows<D: Dialect>(store: &SqlStore<D>) -> Result<(u64, u64), StoreError> {
    const DOING: &str = "counting rows";
    let text =
        "SELECT (SELECT COUNT(*) FROM pod_footprints), (SELECT COUNT(*) FROM node_footprints)";
    let rows = fetch_all(&store.pool, sqlx::query(text), DOING).await?;
    let row = rows
        .first()
        .ok_or_else(|| StoreError::other(D::BACKEND, "counting rows: no answer"))?;
    let mut c = Columns::<D>::new(row);
    let mut count = || c.get::<i64>().map(|n| u64::try_from(n).unwrap_or(0));
    Ok((count()?, count()?))
}
