//! Footprint writes stepped on one thread with a connection of their own (a store in a file).
//!
//! Through sqlx, every value of every row is boxed into an argument list, sent to SQLite's
//! worker thread with its statement and bound there: about 9 µs a pod row of 41 columns, most
//! of it that hand-off, not SQLite. Here the batch is written by a blocking task on a read-write
//! connection kept for the file: one cached single-row statement per table, values bound in
//! place from the records, a pod row's reasons and methodology stored once per distinct set
//! (its note, `super::notes`), a node row's reasons serialised once per distinct list.
//!
//! The transaction is the one the sqlx path runs, statement for statement: `BEGIN IMMEDIATE`,
//! the retention state, then per window the retention check, the roll-up marks, the deletes and
//! the inserts, then `COMMIT`; any failure rolls the whole batch back (the transaction is rolled
//! back when dropped), so a failed write leaves nothing. A store in memory has no file another
//! connection could open and writes through sqlx.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use greenkube_core::ports::{
    NodeRecord, PodRecord, RetentionState, StoreError, StoreErrorKind, WindowRecords, WriteSummary,
};
use greenkube_core::units::{Bytes, Cores, Money};
use greenkube_core::{MethodologyInfo, Ranged};
use rusqlite::{Connection, OptionalExtension as _, Statement, TransactionBehavior};
use sqlx::Sqlite;

use super::sql::{self, MICROS_PER_DAY, MICROS_PER_HOUR};
use super::{INVALID_CODES, UNAVAILABLE_CODES};
use crate::store::codec::{from_micros, micros};
use crate::store::sql::labels::{LabelBatch, UpsertSql, labels_json, upsert};
use crate::store::sql::notes::{NoteIds, note_values};
use crate::store::sql::{Dialect as _, count_window, reasons_json};

const BACKEND: &str = "sqlite";

/// How long a write waits for another writer (as the pool's connections do).
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Writes `windows` (checked here, in the transaction, as the sqlx path checks them) into the database `file` in one transaction, on a blocking task.
pub(super) async fn write_windows(
    file: PathBuf,
    windows: Vec<WindowRecords>,
) -> Result<WriteSummary, StoreError> {
    tokio::task::spawn_blocking(move || write_batch(&file, &windows))
        .await
        .map_err(|e| {
            StoreError::other(BACKEND, "writing footprints: the writer stopped").with_source(e)
        })?
}

fn write_batch(file: &Path, windows: &[WindowRecords]) -> Result<WriteSummary, StoreError> {
    let mut conn = kept::take(file)?;
    let written = write_with(&mut conn, windows);
    // A connection that failed is not kept: the next write opens a fresh one.
    if written.is_ok() {
        kept::give_back(file, conn);
    }
    written
}

/// The write's transaction on `conn`.
fn write_with(
    conn: &mut Connection,
    windows: &[WindowRecords],
) -> Result<WriteSummary, StoreError> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(|e| error("starting a write", e))?;
    let retention = retention(&tx)?;
    let mut summary = WriteSummary::default();
    let mut reasons = Reasons::default();
    let mut notes = NoteIds::default();
    let mut labels = LabelBatch::default();
    for w in windows {
        w.validate()
            .map_err(|e| StoreError::invalid_data(BACKEND, e.to_string()))?;
        retention.check_writable(BACKEND, w)?;
        mark_for_rollup(&tx, w).map_err(|e| error("marking a window for roll-up", e))?;
        let replaced = delete_window(&tx, w).map_err(|e| error("replacing a window", e))?;
        insert_pods(&tx, &w.pods, &mut notes).map_err(|e| error("inserting pod rows", e))?;
        insert_nodes(&tx, &w.nodes, &mut reasons).map_err(|e| error("inserting node rows", e))?;
        labels.add(w);
        count_window(&mut summary, w, replaced);
    }
    upsert_labels(&tx, labels).map_err(|e| error("recording pod labels", e))?;
    tx.commit().map_err(|e| error("committing a write", e))?;
    Ok(summary)
}

/// Upserts the pods' workloads and latest labels, folded over the batch, one cached statement
/// per pod in key order (the same statement and rules as the sqlx path, `sql::labels`).
fn upsert_labels(conn: &Connection, labels: LabelBatch) -> rusqlite::Result<()> {
    let text = upsert(
        "_us",
        UpsertSql {
            least: "MIN",
            greatest: "MAX",
            numbered: false,
        },
        1,
    );
    let mut statement = conn.prepare_cached(&text)?;
    for (cluster, entry) in labels.into_entries() {
        statement.execute(rusqlite::params![
            &*cluster,
            &*entry.namespace,
            &*entry.pod,
            &*entry.workload_kind,
            &*entry.workload,
            labels_json(entry.labels.as_deref()),
            micros(entry.first_window),
            micros(entry.last_window),
        ])?;
    }
    Ok(())
}

/// The retention state, read inside the write's transaction.
fn retention(conn: &Connection) -> Result<RetentionState, StoreError> {
    let cuts: [Option<i64>; 3] = conn
        .query_row(
            "SELECT raw_before_us, hourly_before_us, daily_before_us \
             FROM retention_state WHERE id = 1",
            [],
            |row| Ok([row.get(0)?, row.get(1)?, row.get(2)?]),
        )
        .map_err(|e| match e {
            rusqlite::Error::QueryReturnedNoRows => {
                StoreError::invalid_data(BACKEND, "no retention state")
            }
            e => error("reading the retention state", e),
        })?;
    let time = |us: Option<i64>| us.map(|us| from_micros(BACKEND, us)).transpose();
    Ok(RetentionState {
        raw_before: time(cuts[0])?,
        hourly_before: time(cuts[1])?,
        daily_before: time(cuts[2])?,
    })
}

/// Marks the window's hour and day dirty and no longer rolled up (as the sqlx path does).
fn mark_for_rollup(conn: &Connection, w: &WindowRecords) -> rusqlite::Result<()> {
    let start = micros(w.window_start);
    let hour = start - start.rem_euclid(MICROS_PER_HOUR);
    let day = start - start.rem_euclid(MICROS_PER_DAY);
    conn.prepare_cached(
        "INSERT OR IGNORE INTO dirty_buckets (level, bucket_us) VALUES (1, ?1), (2, ?2)",
    )?
    .execute((hour, day))?;
    conn.prepare_cached(
        "DELETE FROM rolled_buckets WHERE (level = 1 AND bucket_us = ?1) \
         OR (level = 2 AND bucket_us = ?2)",
    )?
    .execute((hour, day))?;
    Ok(())
}

/// Deletes the window's rows; returns the pod rows deleted.
fn delete_window(conn: &Connection, w: &WindowRecords) -> rusqlite::Result<u64> {
    let key = (micros(w.window_start), w.cluster.as_deref().unwrap_or(""));
    let replaced = conn.prepare_cached(sql::DELETE_POD_WINDOW)?.execute(key)?;
    conn.prepare_cached(sql::DELETE_NODE_WINDOW)?.execute(key)?;
    Ok(u64::try_from(replaced).unwrap_or(u64::MAX))
}

/// Estimation reasons as stored (a JSON list), serialised once per distinct list in a write
/// (a window's rows give a few lists: one per node, with or without cost, ...).
#[derive(Default)]
struct Reasons {
    json: HashMap<Vec<String>, String, foldhash::fast::RandomState>,
}

/// Distinct lists kept at most; past it the cache starts over (memory stays bounded whatever
/// the reasons).
const REASON_LISTS: usize = 4096;

impl Reasons {
    fn json(&mut self, reasons: &[String]) -> &str {
        if !self.json.contains_key(reasons) {
            if self.json.len() >= REASON_LISTS {
                self.json.clear();
            }
            self.json.insert(reasons.to_vec(), reasons_json(reasons));
        }
        self.json.get(reasons).map_or("[]", String::as_str)
    }
}

/// Binds values in column order.
struct Binder<'s, 'c> {
    statement: &'s mut Statement<'c>,
    next: usize,
}

impl Binder<'_, '_> {
    fn put<T: rusqlite::ToSql>(&mut self, value: T) -> rusqlite::Result<()> {
        self.next += 1;
        self.statement.raw_bind_parameter(self.next, value)
    }

    fn ranged(&mut self, r: Ranged) -> rusqlite::Result<()> {
        self.put(r.point)?;
        self.put(r.low)?;
        self.put(r.high)
    }

    fn methodology(&mut self, m: &MethodologyInfo) -> rusqlite::Result<()> {
        self.put(m.name.name())?;
        self.put(m.version.as_str())?;
        self.put(m.data_version.as_str())?;
        self.put(m.idle_policy.name())
    }
}

/// The id of the note `(reasons, methodology)`: this write's, the stored one, or a new one.
fn note_id(
    conn: &Connection,
    notes: &mut NoteIds,
    reasons: &[String],
    methodology: &MethodologyInfo,
) -> rusqlite::Result<i64> {
    if let Some(id) = notes.get(reasons, methodology) {
        return Ok(id);
    }
    // The statements of the sqlx path (`$N` is the N-th value for SQLite too); the write holds
    // the write lock, so no other writer adds the note between the look and the insert.
    let values = note_values(reasons, methodology);
    let stored = conn
        .prepare_cached(Sqlite::SQL.note_id)?
        .query_row(values.clone(), |row| row.get(0))
        .optional()?;
    let id = match stored {
        Some(id) => id,
        None => conn
            .prepare_cached(Sqlite::SQL.note_insert)?
            .query_row(values, |row| row.get(0))?,
    };
    notes.insert(reasons, methodology, id);
    Ok(id)
}

fn insert_pods(conn: &Connection, pods: &[PodRecord], notes: &mut NoteIds) -> rusqlite::Result<()> {
    if pods.is_empty() {
        return Ok(());
    }
    let mut statement = conn.prepare_cached(&sql::insert_noted_pods(1))?;
    // In key order (a window's rows share their window and cluster): the key index then grows
    // at one end instead of at random places, and the table's pages hold the window's rows in
    // the order reads ask for them. Text keys compare as SQLite's BINARY collation does.
    let mut order: Vec<&PodRecord> = pods.iter().collect();
    order.sort_unstable_by(|a, b| (&a.namespace, &a.pod).cmp(&(&b.namespace, &b.pod)));
    for p in order {
        let note = note_id(conn, notes, &p.estimation_reasons, &p.methodology)?;
        let mut b = Binder {
            statement: &mut statement,
            next: 0,
        };
        b.put(micros(p.window_start))?;
        b.put(micros(p.window_end))?;
        b.put(p.cluster.as_deref().unwrap_or(""))?;
        b.put(p.namespace.as_ref())?;
        b.put(p.pod.as_ref())?;
        b.put(p.owner_kind.as_deref())?;
        b.put(p.owner_name.as_deref())?;
        b.put(p.workload_kind.as_ref())?;
        b.put(p.workload.as_ref())?;
        for name in [&p.node, &p.zone, &p.region, &p.provider, &p.instance_type] {
            b.put(name.as_deref())?;
        }
        b.put(p.cpu_usage_cores.map(Cores::value))?;
        b.put(p.cpu_request_cores.map(Cores::value))?;
        b.put(p.memory_usage_bytes.map(Bytes::value))?;
        b.put(p.memory_request_bytes.map(Bytes::value))?;
        b.put(p.restarts.and_then(|r| i64::try_from(r).ok()))?;
        b.ranged(p.energy_joules)?;
        b.ranged(p.co2e_grams)?;
        b.ranged(p.embodied_co2e_grams)?;
        b.put(p.cost.map(Money::value))?;
        b.ranged(p.pue)?;
        b.ranged(p.grid_intensity)?;
        b.put(p.estimated)?;
        b.put(note)?;
        debug_assert_eq!(b.next, sql::NOTED_POD_VALUES);
        statement.raw_execute()?;
    }
    Ok(())
}

fn insert_nodes(
    conn: &Connection,
    nodes: &[NodeRecord],
    reasons: &mut Reasons,
) -> rusqlite::Result<()> {
    if nodes.is_empty() {
        return Ok(());
    }
    let mut statement =
        conn.prepare_cached(&sql::insert("node_footprints", &sql::node_columns(), 1))?;
    for n in nodes {
        let mut b = Binder {
            statement: &mut statement,
            next: 0,
        };
        b.put(micros(n.window_start))?;
        b.put(micros(n.window_end))?;
        b.put(n.cluster.as_deref().unwrap_or(""))?;
        b.put(n.node.as_deref().unwrap_or(""))?;
        for name in [&n.provider, &n.instance_type, &n.zone, &n.region] {
            b.put(name.as_deref())?;
        }
        b.put(n.cpu_capacity_cores.map(Cores::value))?;
        b.put(n.memory_capacity_bytes.map(Bytes::value))?;
        b.put(n.synthetic)?;
        b.ranged(n.pue)?;
        b.ranged(n.grid_intensity)?;
        b.ranged(n.overhead_energy_joules)?;
        b.ranged(n.overhead_co2e_grams)?;
        b.ranged(n.unallocated_embodied_co2e_grams)?;
        b.put(reasons.json(&n.estimation_reasons))?;
        b.methodology(&n.methodology)?;
        statement.raw_execute()?;
    }
    Ok(())
}

/// One read-write connection kept per database file between writes (its prepared statements
/// with it); the store's close lets it go.
pub(super) mod kept {
    use std::collections::HashMap;
    use std::path::{Path, PathBuf};
    use std::sync::{LazyLock, Mutex};

    use greenkube_core::ports::StoreError;
    use rusqlite::{Connection, OpenFlags};

    use super::{BUSY_TIMEOUT, error};

    /// The writer's page cache, in KiB (negative: SQLite reads a size, not a page count).
    const CACHE_KIB: i64 = -16_384;

    static KEPT: LazyLock<Mutex<HashMap<PathBuf, Connection>>> =
        LazyLock::new(|| Mutex::new(HashMap::new()));

    /// The kept connection to `file`, or a new one.
    pub(crate) fn take(file: &Path) -> Result<Connection, StoreError> {
        let kept = KEPT.lock().ok().and_then(|mut kept| kept.remove(file));
        match kept {
            Some(conn) => Ok(conn),
            None => open(file),
        }
    }

    /// Keeps `conn` for the next write to `file` (or closes it when one is kept already).
    pub(crate) fn give_back(file: &Path, conn: Connection) {
        if let Ok(mut kept) = KEPT.lock() {
            kept.entry(file.to_path_buf()).or_insert(conn);
        }
    }

    /// Closes the connection kept for `file` (before the store closes).
    pub(crate) fn forget(file: &Path) {
        let kept = KEPT.lock().ok().and_then(|mut kept| kept.remove(file));
        drop(kept);
    }

    fn open(file: &Path) -> Result<Connection, StoreError> {
        let opening = |e| error("opening the database to write footprints", e);
        let conn = Connection::open_with_flags(
            file,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(opening)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(opening)?;
        // As the pool's connections: the file is in WAL mode (set when it was opened), and a
        // commit syncs at checkpoints only.
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(opening)?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(opening)?;
        // A batch's pages stay in memory until it commits (SQLite's default, 2 MB, spills a
        // batch of ten 1,000-pod windows, about 8 MB, to the log mid-transaction and reads
        // pages back). Bounded: a larger batch spills, but memory stays flat.
        conn.pragma_update(None, "cache_size", CACHE_KIB)
            .map_err(opening)?;
        // One statement per table and the roll-up marks and deletes: a few.
        conn.set_prepared_statement_cache_capacity(16);
        Ok(conn)
    }
}

/// A SQLite error while `doing` something, classified as the sqlx path classifies it.
fn error(doing: &str, e: rusqlite::Error) -> StoreError {
    let kind = match e.sqlite_error() {
        Some(f) => {
            let extended = f.extended_code;
            let primary = i64::from(extended & 0xff);
            match extended {
                // SQLITE_CONSTRAINT_PRIMARYKEY, SQLITE_CONSTRAINT_UNIQUE
                1555 | 2067 => StoreErrorKind::Conflict,
                // SQLITE_CONSTRAINT_CHECK, _FOREIGNKEY, _NOTNULL
                275 | 787 | 1299 => StoreErrorKind::InvalidData,
                _ if UNAVAILABLE_CODES.contains(&primary) => StoreErrorKind::Unavailable,
                _ if INVALID_CODES.contains(&primary) => StoreErrorKind::InvalidData,
                _ => StoreErrorKind::Other,
            }
        }
        None => StoreErrorKind::Other,
    };
    StoreError::new(kind, BACKEND, format!("{doing}: {e}")).with_source(e)
}
