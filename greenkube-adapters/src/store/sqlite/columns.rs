//! Pages of pod rows by column, read with read-only connections of their own.
//!
//! sqlx runs each SQLite statement on a worker thread and hands every row to the reading task
//! through a channel, copying each value: about 20 µs a row of 41 columns, most of it the
//! hand-off. Here the page statement is stepped where the columns are built (a blocking task),
//! values are read in place, and a name already seen is not copied again: under 3 µs a row,
//! nearly all of it SQLite decoding the record.
//!
//! Two things more than the row path:
//! - a page of more than a few thousand rows is read in parts, one per core (up to four), each
//!   part on a connection of its own between keys taken from the key index
//!   ([`read_in_parts`]);
//! - rows are read from the table with their note id, and each row note is read once per page
//!   instead of joined on every row ([`PAGE`]).
//!
//! The rows, their order and their bounds are the row path's (`select_pods_upto` writes both
//! statements), and the values are checked the same way (times in range, known methodology
//! and idle policy, reasons a JSON list of sentences, restarts not negative, a note that
//! exists), so both paths return the same page; the contract suite checks it. A store in
//! memory has no file another connection could open, and reads through the rows.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use chrono::DateTime;
use greenkube_core::ports::{
    NameColumn, PodColumnPage, PodColumns, PodCursor, REASON_SEPARATOR, RangedColumn, StoreError,
    StoreErrorKind, TimeRange, page_size,
};
use greenkube_core::{IdlePolicy, Methodology};
use rusqlite::Statement;
use rusqlite::types::ValueRef;
use sqlx::{Sqlite, SqlitePool};

use super::{INVALID_CODES, UNAVAILABLE_CODES};
use crate::store::codec::{micros, micros_ceil};
use crate::store::sql::{Dialect as _, POD_SELECT_COLUMNS, PageSql, page_start, select_pods_upto};

const BACKEND: &str = "sqlite";

/// The page statement: each row's own columns and its note id, from the table. A row's note
/// is read once per page (`PageReader::note_keys`), not joined on every row as the view
/// `pod_footprint_rows` the row path reads does.
const PAGE: PageSql = PageSql {
    rows: "pod_footprints",
    with_note: true,
    ..Sqlite::PAGE_SQL
};

/// The place of the note id in a row of [`PAGE`]: after the row's own columns.
const NOTE_COLUMN: usize = POD_SELECT_COLUMNS;

/// How long a read waits for a writer holding the database (as the pool's connections do).
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// How much of the database file a reading connection maps into memory: none.
///
/// Mapped pages that were read stay in the process's resident memory (the kernel's page
/// cache, counted in `VmRSS`) for as long as the connection is kept: a read of 1 M rows held
/// the whole 382 MB file, and twice that once pages are read in parts by two connections,
/// which a notebook's memory meter shows as the reader's. Read into SQLite's page cache
/// instead, the same read holds about 20 MB, for about 5 % more CPU time (30 % more on a
/// store of 50,000-pod windows written before rows were stored in key order); figures in
/// `benches/README.md`, "Stored rows to `DataFrames`".
const MMAP_SIZE: i64 = 0;

/// The page of pod rows after `after`, by column, or `None` when the store is in memory (the
/// caller then reads the rows).
pub(super) async fn read_pod_columns(
    pool: &SqlitePool,
    range: TimeRange,
    after: Option<&PodCursor>,
    limit: usize,
) -> Result<Option<PodColumnPage>, StoreError> {
    let limit = page_size(BACKEND, limit)?;
    let Some(file) = database_file(pool) else {
        return Ok(None);
    };
    let after = after.cloned();
    let page = tokio::task::spawn_blocking(move || read_page(&file, range, after.as_ref(), limit))
        .await
        .map_err(|e| {
            StoreError::other(BACKEND, "reading pod rows: the reader stopped").with_source(e)
        })??;
    Ok(Some(page))
}

/// The database file of the pool, when it is a file (not a store in memory).
pub(super) fn database_file(pool: &SqlitePool) -> Option<PathBuf> {
    let options = pool.connect_options();
    let name = options.get_filename();
    let text = name.to_string_lossy();
    // sqlx names a store in memory `file:sqlx-in-memory-N` (shared cache) or `:memory:`.
    if text.starts_with("file:") || text.contains(":memory:") || text.is_empty() {
        return None;
    }
    name.is_file().then(|| name.to_path_buf())
}

fn read_page(
    file: &Path,
    range: TimeRange,
    after: Option<&PodCursor>,
    limit: usize,
) -> Result<PodColumnPage, StoreError> {
    let conn = idle::take(file)?;
    let page = match parts(limit) {
        Some(share) => read_in_parts(file, &conn, range, after, limit, share),
        None => read_with(&conn, range, after, None, limit),
    };
    // A connection that failed is not kept: the next read opens a fresh one.
    if page.is_ok() {
        idle::give_back(file, conn);
    }
    page
}

/// Rows a part of a page holds at least: below it, a page is read on one thread.
const MIN_PART: usize = 1_024;

/// Parts a page is read in at most, one per thread.
const MAX_PARTS: usize = 4;

/// The rows of each part of a page of `limit` rows read on several threads, or `None` to read
/// it on one (one core, or a small page).
fn parts(limit: usize) -> Option<usize> {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let parts = cores.min(MAX_PARTS).min(limit / MIN_PART);
    (parts > 1).then(|| limit / parts)
}

/// The page after `after`, read in parts of `share` rows on as many threads, each with a
/// read-only connection of its own: the key that ends each part comes from the key index
/// (`key_after`), each part reads the rows after the key before it up to its own key, and the
/// last part the rest of the page. SQLite decoding the records is most of a page's time, and
/// this divides it between the cores.
///
/// Each part reads in a transaction of its own, as pages do. A part that does not hold
/// exactly its share (a writer changed the rows between the key look-ups and the part's
/// read) throws the parts away, and the page is read again on one thread; so the page is
/// always the one [`read_with`] gives.
fn read_in_parts(
    file: &Path,
    conn: &rusqlite::Connection,
    range: TimeRange,
    after: Option<&PodCursor>,
    limit: usize,
    share: usize,
) -> Result<PodColumnPage, StoreError> {
    let parts = limit / share;
    let mut ends: Vec<PodCursor> = Vec::with_capacity(parts - 1);
    for _ in 1..parts {
        match key_after(conn, range, ends.last().or(after), share)? {
            Some(end) => ends.push(end),
            None => break,
        }
    }
    if ends.is_empty() {
        // Fewer rows left than one part.
        return read_with(conn, range, after, None, limit);
    }
    read_parts(file, conn, range, after, limit, share, &ends)
}

/// The page after `after` read in parts of `share` rows, the `i`th ending at `ends[i]` and the
/// last reading the rest of the page ([`read_in_parts`]); `ends` is not empty.
fn read_parts(
    file: &Path,
    conn: &rusqlite::Connection,
    range: TimeRange,
    after: Option<&PodCursor>,
    limit: usize,
    share: usize,
    ends: &[PodCursor],
) -> Result<PodColumnPage, StoreError> {
    let (first, rest) = std::thread::scope(|scope| {
        let others: Vec<_> = (0..ends.len())
            .map(|i| {
                let (from, upto) = (&ends[i], ends.get(i + 1));
                // The last part reads the rest of the page, with the key of the row past it.
                let rows = if upto.is_some() {
                    share
                } else {
                    limit - share * (i + 1)
                };
                scope.spawn(move || read_on_own(file, range, Some(from), upto, rows))
            })
            .collect();
        let first = read_with(conn, range, after, ends.first(), share);
        let rest: Vec<_> = others
            .into_iter()
            .map(|part| {
                part.join().unwrap_or_else(|_| {
                    Err(StoreError::other(
                        BACKEND,
                        "reading pod rows: a reading thread stopped",
                    ))
                })
            })
            .collect();
        (first, rest)
    });
    let mut page = first?;
    let mut rest = rest.into_iter().collect::<Result<Vec<_>, _>>()?;
    let last = rest.pop();
    // Every part but the last holds its share and ends at its key (no row past it).
    let whole = std::iter::once(&page)
        .chain(&rest)
        .all(|part| part.columns.len() == share && part.next.is_none());
    let Some(last) = last.filter(|_| whole) else {
        return read_with(conn, range, after, None, limit);
    };
    let parts = || rest.iter().chain(std::iter::once(&last));
    page.columns
        .reserve(parts().map(|part| part.columns.len()).sum());
    for part in parts() {
        page.columns.append(&part.columns);
    }
    page.next = last.next;
    Ok(page)
}

/// A part of a page ([`read_with`]) read with a connection taken for it.
fn read_on_own(
    file: &Path,
    range: TimeRange,
    after: Option<&PodCursor>,
    upto: Option<&PodCursor>,
    limit: usize,
) -> Result<PodColumnPage, StoreError> {
    let conn = idle::take(file)?;
    let part = read_with(&conn, range, after, upto, limit);
    if part.is_ok() {
        idle::give_back(file, conn);
    }
    part
}

/// The key of the `n`th row after `after` in the range (`n` >= 1), read from the key index
/// alone, or `None` when fewer rows are left.
fn key_after(
    conn: &rusqlite::Connection,
    range: TimeRange,
    after: Option<&PodCursor>,
    n: usize,
) -> Result<Option<PodCursor>, StoreError> {
    let mut sql =
        String::from("SELECT window_start_us, cluster, namespace, pod FROM pod_footprints WHERE ");
    // Searched by the cursor's key, as the page statement is (`select_pods_upto`).
    if after.is_some() {
        sql.push('+');
    }
    sql.push_str("window_start_us >= $1 AND window_start_us < $2");
    if after.is_some() {
        sql.push_str(" AND (window_start_us, cluster, namespace, pod) > ($3, $4, $5, $6)");
    }
    sql.push_str(" ORDER BY window_start_us, cluster, namespace, pod LIMIT 1 OFFSET ");
    sql.push_str(if after.is_some() { "$7" } else { "$3" });
    let reading = |e| error("reading the keys of pod rows", e);
    let mut statement = conn.prepare_cached(&sql).map_err(reading)?;
    let next = bind(&mut statement, range, after, None).map_err(reading)?;
    statement
        .raw_bind_parameter(next, i64::try_from(n.saturating_sub(1)).unwrap_or(i64::MAX))
        .map_err(reading)?;
    let mut rows = statement.raw_query();
    let Some(row) = rows.next().map_err(reading)? else {
        return Ok(None);
    };
    let us: i64 = row.get(0).map_err(reading)?;
    let window_start = DateTime::from_timestamp_micros(us)
        .ok_or_else(|| invalid(format!("stored time {us} µs is out of range")))?;
    let name = |i: usize| -> Result<Arc<str>, StoreError> {
        let text = row.get_ref(i).map_err(reading)?;
        let bytes = text
            .as_bytes()
            .map_err(|e| invalid(format!("stored key: column {i}: {e}")))?;
        Ok(Arc::from(utf8(bytes)?))
    };
    let cluster = name(1)?;
    Ok(Some(PodCursor::at(
        window_start,
        (!cluster.is_empty()).then_some(cluster),
        name(2)?,
        name(3)?,
    )))
}

/// The page (or part of a page) of at most `limit` rows after `after`, and up to `upto`
/// (inclusive) when given.
fn read_with(
    conn: &rusqlite::Connection,
    range: TimeRange,
    after: Option<&PodCursor>,
    upto: Option<&PodCursor>,
    limit: usize,
) -> Result<PodColumnPage, StoreError> {
    let sql = select_pods_upto(PAGE, after.is_some(), upto.is_some());
    let mut statement = conn
        .prepare_cached(&sql)
        .map_err(|e| error("preparing the read of pod rows", e))?;
    let reading = |e| error("reading pod rows", e);
    let next = bind(&mut statement, range, after, upto).map_err(reading)?;
    // One row more than the page: the row past it says there is a next page.
    statement
        .raw_bind_parameter(next, i64::try_from(limit + 1).unwrap_or(i64::MAX))
        .map_err(reading)?;
    let mut reader = PageReader::new(limit);
    let mut rows = statement.raw_query();
    while let Some(row) = rows.next().map_err(reading)? {
        if reader.columns.len() == limit {
            // The row past the page: there is a next page.
            let next = limit
                .checked_sub(1)
                .and_then(|last| reader.columns.cursor_after(last));
            return Ok(PodColumnPage {
                columns: reader.columns,
                next,
            });
        }
        reader.push(conn, row)?;
    }
    Ok(PodColumnPage {
        columns: reader.columns,
        next: None,
    })
}

/// Read-only connections kept between pages (opening one costs its page cache and its
/// mapping), a few per database file; the store's close lets them go.
pub(super) mod idle {
    use std::collections::HashMap;
    use std::path::{Path, PathBuf};
    use std::sync::{LazyLock, Mutex};

    use greenkube_core::ports::StoreError;
    use rusqlite::{Connection, OpenFlags};

    use super::{BUSY_TIMEOUT, MMAP_SIZE, error};

    /// Connections kept per file at most (one per reader working at once).
    const KEEP: usize = 2;

    static IDLE: LazyLock<Mutex<HashMap<PathBuf, Vec<Connection>>>> =
        LazyLock::new(|| Mutex::new(HashMap::new()));

    /// A kept connection to `file`, or a new one.
    pub(crate) fn take(file: &Path) -> Result<Connection, StoreError> {
        let kept = IDLE
            .lock()
            .ok()
            .and_then(|mut idle| idle.get_mut(file)?.pop());
        match kept {
            Some(conn) => Ok(conn),
            None => open(file),
        }
    }

    /// Keeps `conn` for the next read of `file` (or closes it when enough are kept).
    pub(crate) fn give_back(file: &Path, conn: Connection) {
        if let Ok(mut idle) = IDLE.lock() {
            let kept = idle.entry(file.to_path_buf()).or_default();
            if kept.len() < KEEP {
                kept.push(conn);
            }
        }
    }

    /// Closes the connections kept for `file` (before the store closes, so the last
    /// connection to close removes the write-ahead log).
    pub(crate) fn forget(file: &Path) {
        let kept = IDLE.lock().ok().and_then(|mut idle| idle.remove(file));
        drop(kept);
    }

    fn open(file: &Path) -> Result<Connection, StoreError> {
        let opening = |e| error("opening the database to read pod rows", e);
        let conn = Connection::open_with_flags(
            file,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(opening)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(opening)?;
        // Pages read into SQLite's page cache (its default size), not mapped: see `MMAP_SIZE`.
        conn.pragma_update(None, "mmap_size", MMAP_SIZE)
            .map_err(opening)?;
        Ok(conn)
    }
}

/// Binds the page statement as the row path does: the page's bounds ([`page_start`], the
/// range's end) rounded up to the microsecond, then the key of the cursor and of `upto` when
/// given (no cluster is stored as `""`). Returns the index of the next parameter (the limit).
fn bind(
    statement: &mut Statement<'_>,
    range: TimeRange,
    after: Option<&PodCursor>,
    upto: Option<&PodCursor>,
) -> rusqlite::Result<usize> {
    statement.raw_bind_parameter(1, micros_ceil(page_start(range, after)))?;
    statement.raw_bind_parameter(2, micros_ceil(range.to()))?;
    let mut next = 3;
    for c in [after, upto].into_iter().flatten() {
        statement.raw_bind_parameter(next, micros(c.window_start()))?;
        statement.raw_bind_parameter(next + 1, c.cluster().unwrap_or(""))?;
        statement.raw_bind_parameter(next + 2, c.namespace())?;
        statement.raw_bind_parameter(next + 3, c.pod())?;
        next += 4;
    }
    Ok(next)
}

/// The columns of a page being read, and what was already decoded once: the keys of each row
/// note, and the key of each reasons text a row stored itself.
struct PageReader {
    columns: PodColumns,
    notes: HashMap<i64, [Option<u32>; 5], foldhash::fast::RandomState>,
    reasons: HashMap<Vec<u8>, Option<u32>, foldhash::fast::RandomState>,
}

impl PageReader {
    fn new(limit: usize) -> Self {
        let mut columns = PodColumns::new();
        columns.reserve(limit.min(16_384));
        Self {
            columns,
            notes: HashMap::default(),
            reasons: HashMap::default(),
        }
    }

    /// Appends one row of the page statement (the columns of `sql::pod_columns`, in order).
    fn push(
        &mut self,
        conn: &rusqlite::Connection,
        row: &rusqlite::Row<'_>,
    ) -> Result<(), StoreError> {
        let mut r = Row { row, next: 0 };
        let c = &mut self.columns;
        let start = r.integer()?;
        let end = r.integer()?;
        for us in [start, end] {
            if DateTime::from_timestamp_micros(us).is_none() {
                return Err(invalid(format!("stored time {us} µs is out of range")));
            }
        }
        c.window_start_us.push(start);
        c.window_end_us.push(end);
        // No cluster is stored as "".
        r.name_into(&mut c.cluster, true)?;
        for names in [&mut c.namespace, &mut c.pod] {
            r.name_into(names, false)?;
        }
        for names in [&mut c.owner_kind, &mut c.owner_name] {
            r.name_into(names, false)?;
        }
        for names in [&mut c.workload_kind, &mut c.workload] {
            r.name_into(names, false)?;
        }
        for names in [
            &mut c.node,
            &mut c.zone,
            &mut c.region,
            &mut c.provider,
            &mut c.instance_type,
        ] {
            r.name_into(names, false)?;
        }
        for figures in [
            &mut c.cpu_usage_cores,
            &mut c.cpu_request_cores,
            &mut c.memory_usage_bytes,
            &mut c.memory_request_bytes,
        ] {
            figures.push(r.opt_real()?);
        }
        let restarts = r
            .opt_integer()?
            .map(|n| u64::try_from(n).map_err(|_| invalid("stored row: negative restarts")))
            .transpose()?;
        c.restarts.push(restarts);
        for ranged in [
            &mut c.energy_joules,
            &mut c.co2e_grams,
            &mut c.embodied_co2e_grams,
        ] {
            r.ranged_into(ranged)?;
        }
        c.cost.push(r.opt_real()?);
        r.ranged_into(&mut c.pue)?;
        r.ranged_into(&mut c.grid_intensity)?;
        c.estimated.push(r.integer()? != 0);
        match note(row)? {
            // Rows stored before row notes (migration 5) keep their own.
            None => self.push_own_notes(&mut r),
            Some(id) => {
                let keys = match self.notes.get(&id) {
                    Some(keys) => *keys,
                    None => {
                        let keys = self.note_keys(conn, id)?;
                        self.notes.insert(id, keys);
                        keys
                    }
                };
                let c = &mut self.columns;
                for (column, key) in [
                    &mut c.estimation_reasons,
                    &mut c.methodology,
                    &mut c.methodology_version,
                    &mut c.data_version,
                    &mut c.idle_policy,
                ]
                .into_iter()
                .zip(keys)
                {
                    column.push_key(key);
                }
                Ok(())
            }
        }
    }

    /// The row's own reasons, methodology, versions and idle policy (a row stored before row
    /// notes).
    fn push_own_notes(&mut self, r: &mut Row<'_, '_>) -> Result<(), StoreError> {
        let c = &mut self.columns;
        let reasons = r.text()?;
        let key = match self.reasons.get(reasons) {
            Some(&key) => key,
            None => {
                let key = reasons_key(&mut c.estimation_reasons, reasons)?;
                self.reasons.insert(reasons.to_vec(), key);
                key
            }
        };
        c.estimation_reasons.push_key(key);
        r.checked_name_into(&mut c.methodology, |v| Methodology::from_str(v).is_ok())?;
        r.name_into(&mut c.methodology_version, false)?;
        r.name_into(&mut c.data_version, false)?;
        r.checked_name_into(&mut c.idle_policy, |v| IdlePolicy::from_str(v).is_ok())?;
        Ok(())
    }

    /// The keys, in this page's columns, of note `id`'s reasons, methodology, versions and
    /// idle policy, checked as a row's own are.
    fn note_keys(
        &mut self,
        conn: &rusqlite::Connection,
        id: i64,
    ) -> Result<[Option<u32>; 5], StoreError> {
        let reading = |e| error("reading a row note", e);
        let mut statement = conn
            .prepare_cached(
                "SELECT estimation_reasons, methodology, methodology_version, data_version, \
                 idle_policy FROM row_notes WHERE id = ?1",
            )
            .map_err(reading)?;
        let mut rows = statement.query([id]).map_err(reading)?;
        let Some(row) = rows.next().map_err(reading)? else {
            return Err(invalid(format!("stored row: its note {id} is missing")));
        };
        let mut r = Row { row, next: 0 };
        let c = &mut self.columns;
        let reasons = reasons_key(&mut c.estimation_reasons, r.text()?)?;
        let mut name = |column: &mut NameColumn, known: fn(&str) -> bool| {
            let i = r.next;
            let text = utf8(r.text()?)?;
            if !known(text) {
                return Err(invalid(format!(
                    "row note {id}: column {i}: unknown name `{text}`"
                )));
            }
            Ok(Some(column.intern(text)))
        };
        Ok([
            reasons,
            name(&mut c.methodology, |v| Methodology::from_str(v).is_ok())?,
            name(&mut c.methodology_version, |_| true)?,
            name(&mut c.data_version, |_| true)?,
            name(&mut c.idle_policy, |v| IdlePolicy::from_str(v).is_ok())?,
        ])
    }
}

/// The row's note id (the last column of the page statement), or none.
fn note(row: &rusqlite::Row<'_>) -> Result<Option<i64>, StoreError> {
    match row
        .get_ref(NOTE_COLUMN)
        .map_err(|e| error("reading a stored row", e))?
    {
        ValueRef::Integer(id) => Ok(Some(id)),
        ValueRef::Null => Ok(None),
        other => Err(wrong_type(NOTE_COLUMN, "an integer", other)),
    }
}

/// The key of a stored reasons text (a JSON list of sentences) in the reasons column: the
/// sentences joined, or none for an empty list.
fn reasons_key(column: &mut NameColumn, json: &[u8]) -> Result<Option<u32>, StoreError> {
    let list: Vec<String> = serde_json::from_slice(json).map_err(|e| {
        invalid("stored row: estimation reasons are not a JSON list").with_source(e)
    })?;
    Ok((!list.is_empty()).then(|| column.intern(&list.join(REASON_SEPARATOR))))
}

/// Reads the columns of a row in order.
struct Row<'a, 'r> {
    row: &'a rusqlite::Row<'r>,
    next: usize,
}

impl Row<'_, '_> {
    fn value(&mut self) -> Result<ValueRef<'_>, StoreError> {
        let i = self.next;
        self.next += 1;
        self.row
            .get_ref(i)
            .map_err(|e| error("reading a stored row", e))
    }

    fn integer(&mut self) -> Result<i64, StoreError> {
        self.opt_integer()?
            .ok_or_else(|| invalid(format!("stored row: column {} is empty", self.next - 1)))
    }

    fn opt_integer(&mut self) -> Result<Option<i64>, StoreError> {
        let i = self.next;
        match self.value()? {
            ValueRef::Integer(n) => Ok(Some(n)),
            ValueRef::Null => Ok(None),
            other => Err(wrong_type(i, "an integer", other)),
        }
    }

    fn opt_real(&mut self) -> Result<Option<f64>, StoreError> {
        let i = self.next;
        match self.value()? {
            ValueRef::Real(x) => Ok(Some(x)),
            // SQLite keeps a whole REAL as an integer on disk only in non-STRICT tables; read
            // one as the number it is all the same.
            #[allow(
                clippy::cast_precision_loss,
                reason = "a stored whole number, as SQLite reads it"
            )]
            ValueRef::Integer(n) => Ok(Some(n as f64)),
            ValueRef::Null => Ok(None),
            other => Err(wrong_type(i, "a number", other)),
        }
    }

    fn real(&mut self) -> Result<f64, StoreError> {
        self.opt_real()?
            .ok_or_else(|| invalid(format!("stored row: column {} is empty", self.next - 1)))
    }

    fn ranged_into(&mut self, column: &mut RangedColumn) -> Result<(), StoreError> {
        column.point.push(self.real()?);
        column.low.push(self.real()?);
        column.high.push(self.real()?);
        Ok(())
    }

    fn opt_text(&mut self) -> Result<Option<&[u8]>, StoreError> {
        let i = self.next;
        match self.value()? {
            ValueRef::Text(t) => Ok(Some(t)),
            ValueRef::Null => Ok(None),
            other => Err(wrong_type(i, "text", other)),
        }
    }

    fn text(&mut self) -> Result<&[u8], StoreError> {
        let i = self.next;
        self.opt_text()?
            .ok_or_else(|| invalid(format!("stored row: column {i} is empty")))
    }

    /// The next column into a name column; with `empty_is_none`, `""` is no name.
    fn name_into(
        &mut self,
        column: &mut NameColumn,
        empty_is_none: bool,
    ) -> Result<(), StoreError> {
        let value = match self.opt_text()? {
            None => None,
            Some(b"") if empty_is_none => None,
            Some(bytes) => Some(utf8(bytes)?),
        };
        column.push(value);
        Ok(())
    }

    /// The next column into a name column, each distinct value checked by `known` once.
    fn checked_name_into(
        &mut self,
        column: &mut NameColumn,
        known: impl Fn(&str) -> bool,
    ) -> Result<(), StoreError> {
        let i = self.next;
        let text = utf8(self.text()?)?;
        let seen = column.values().len();
        column.push(Some(text));
        if column.values().len() > seen && !known(text) {
            return Err(invalid(format!(
                "stored row: column {i}: unknown name `{text}`"
            )));
        }
        Ok(())
    }
}

fn wrong_type(column: usize, expected: &str, got: ValueRef<'_>) -> StoreError {
    invalid(format!(
        "stored row: column {column} holds {:?}, not {expected}",
        got.data_type()
    ))
}

fn utf8(bytes: &[u8]) -> Result<&str, StoreError> {
    std::str::from_utf8(bytes)
        .map_err(|e| invalid("stored row: a name is not UTF-8").with_source(e))
}

fn invalid(message: impl Into<String>) -> StoreError {
    StoreError::invalid_data(BACKEND, message)
}

/// A SQLite error while `doing` something, classified as the row path classifies it.
fn error(doing: &str, e: rusqlite::Error) -> StoreError {
    let kind = match e.sqlite_error_code() {
        Some(_) => {
            let primary = i64::from(e.sqlite_error().map_or(0, |f| f.extended_code) & 0xff);
            if UNAVAILABLE_CODES.contains(&primary) {
                StoreErrorKind::Unavailable
            } else if INVALID_CODES.contains(&primary) {
                StoreErrorKind::InvalidData
            } else {
                StoreErrorKind::Other
            }
        }
        None => StoreErrorKind::Other,
    };
    StoreError::new(kind, BACKEND, format!("{doing}: {e}")).with_source(e)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use greenkube_core::ports::FootprintRepository;

    use super::*;
    use crate::store::OpenOptions;
    use crate::store::sqlite::SqliteStore;

    fn everything() -> TimeRange {
        let from = chrono::Utc.with_ymd_and_hms(1970, 1, 1, 0, 0, 0).unwrap();
        let to = chrono::Utc.with_ymd_and_hms(9999, 1, 1, 0, 0, 0).unwrap();
        TimeRange::new(from, to).unwrap()
    }

    /// A stored row whose methodology, restarts, reasons or time is bad, written past the
    /// store's checks.
    async fn with_bad_row(store: &SqliteStore, column: &str, value: &str) {
        let values = "1000000, 2000000, 'c', 'ns', 'pod', NULL, NULL, 'Pod', 'pod', NULL, NULL, \
             NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 1, 1, 1, 1, 1, 1, 0, 0, 0, NULL, \
             1, 1, 1, 1, 1, 1, 0, '[]', 'full', '1', 'gkdata-x', 'request', NULL";
        sqlx::query(&format!("INSERT INTO pod_footprints VALUES ({values})"))
            .execute(store.pool())
            .await
            .unwrap();
        sqlx::query(&format!("UPDATE pod_footprints SET {column} = {value}"))
            .execute(store.pool())
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn a_file_is_read_by_column_and_memory_through_the_rows() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("g.db").display());
        let (file, _) = SqliteStore::open(&url, OpenOptions::default())
            .await
            .unwrap();
        let page = read_pod_columns(file.pool(), everything(), None, 10)
            .await
            .unwrap();
        assert!(page.is_some_and(|p| p.columns.is_empty() && p.next.is_none()));
        let (memory, _) = SqliteStore::open("sqlite::memory:", OpenOptions::default())
            .await
            .unwrap();
        assert!(
            read_pod_columns(memory.pool(), everything(), None, 10)
                .await
                .unwrap()
                .is_none()
        );
    }

    #[tokio::test]
    async fn bad_stored_values_are_invalid_data_in_both_paths() {
        for (column, value, says) in [
            ("methodology", "'nonsense'", "unknown name `nonsense`"),
            ("idle_policy", "'spread'", "unknown name `spread`"),
            ("restarts", "-1", "negative restarts"),
            ("estimation_reasons", "'not json'", "not a JSON list"),
        ] {
            let dir = tempfile::tempdir().unwrap();
            let url = format!("sqlite://{}", dir.path().join("g.db").display());
            let (store, _) = SqliteStore::open(&url, OpenOptions::default())
                .await
                .unwrap();
            with_bad_row(&store, column, value).await;
            let by_column = store
                .read_pod_columns(everything(), None, 10)
                .await
                .expect_err(column);
            assert_eq!(by_column.kind(), StoreErrorKind::InvalidData, "{column}");
            assert!(
                by_column.to_string().contains(says),
                "{column}: {by_column}"
            );
            let by_row = store
                .read_pod_rows(everything(), None, 10)
                .await
                .expect_err(column);
            assert_eq!(by_row.kind(), StoreErrorKind::InvalidData, "{column}");
        }
    }

    #[tokio::test]
    async fn a_good_row_reads_the_same_both_ways() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("g.db").display());
        let (store, _) = SqliteStore::open(&url, OpenOptions::default())
            .await
            .unwrap();
        with_bad_row(&store, "estimation_reasons", "'[\"a; b\", \"c\"]'").await;
        let rows = store.read_pod_rows(everything(), None, 10).await.unwrap();
        let columns = store
            .read_pod_columns(everything(), None, 10)
            .await
            .unwrap();
        assert_eq!(columns.columns, PodColumns::from_rows(&rows.rows));
        assert_eq!(
            columns.columns.estimation_reasons.get(0).map(|v| &**v),
            Some("a; b; c")
        );
    }

    /// A store in a file holding the test suite's history (about 290 pod rows).
    async fn history_store(dir: &tempfile::TempDir) -> (SqliteStore, PathBuf) {
        let path = dir.path().join("g.db");
        let url = format!("sqlite://{}", path.display());
        let (store, _) = SqliteStore::open(&url, OpenOptions::default())
            .await
            .unwrap();
        store
            .write_footprints(&greenkube_core::testsuite::fixtures::history())
            .await
            .unwrap();
        (store, path)
    }

    /// Every page, each read by `read` after the one before it.
    fn pages(mut read: impl FnMut(Option<&PodCursor>) -> PodColumnPage) -> Vec<PodColumnPage> {
        let mut out: Vec<PodColumnPage> = Vec::new();
        loop {
            let page = read(out.last().and_then(|p| p.next.as_ref()));
            let done = page.next.is_none();
            out.push(page);
            if done {
                return out;
            }
        }
    }

    #[tokio::test]
    async fn a_page_read_in_parts_is_the_page_read_on_one_thread() {
        let dir = tempfile::tempdir().unwrap();
        let (_store, file) = history_store(&dir).await;
        let conn = idle::take(&file).unwrap();
        let one =
            |limit| pages(|after| read_with(&conn, everything(), after, None, limit).unwrap());
        let total: usize = one(1000).iter().map(|p| p.columns.len()).sum();
        assert!(total > 250, "{total} rows");
        for limit in [4, 7, 10, 64, 100, total - 1, total, 1000] {
            let expected = one(limit);
            for share in [1, 2, 3, limit / 4, limit / 2] {
                if share == 0 || limit / share < 2 {
                    continue;
                }
                let got = pages(|after| {
                    read_in_parts(&file, &conn, everything(), after, limit, share).unwrap()
                });
                assert_eq!(got, expected, "pages of {limit} in parts of {share}");
            }
        }
        // A range that starts and ends inside the history.
        let from = chrono::Utc.with_ymd_and_hms(2024, 12, 30, 0, 0, 0).unwrap();
        let to = chrono::Utc.with_ymd_and_hms(2025, 6, 2, 10, 5, 0).unwrap();
        let inside = TimeRange::new(from, to).unwrap();
        let expected = pages(|after| read_with(&conn, inside, after, None, 9).unwrap());
        let got = pages(|after| read_in_parts(&file, &conn, inside, after, 9, 2).unwrap());
        assert_eq!(got, expected);
    }

    #[tokio::test]
    async fn parts_that_miss_their_share_are_read_again_on_one_thread() {
        let dir = tempfile::tempdir().unwrap();
        let (_store, file) = history_store(&dir).await;
        let conn = idle::take(&file).unwrap();
        let range = everything();
        let page = |after: Option<&PodCursor>| read_with(&conn, range, after, None, 12).unwrap();
        let first = page(None);
        let after = first.next.as_ref();
        let expected = page(after);
        // Keys as a writer changing rows between the look-ups and the reads would leave them:
        // one row late, one row early, and a key past the page.
        for offsets in [[5, 9], [3, 6], [4, 30]] {
            let ends: Vec<PodCursor> = offsets
                .iter()
                .map(|&n| key_after(&conn, range, after, n).unwrap().unwrap())
                .collect();
            let got = read_parts(&file, &conn, range, after, 12, 4, &ends).unwrap();
            assert_eq!(got, expected, "ends at rows {offsets:?}");
        }
        // The right keys read the same page in parts.
        let ends: Vec<PodCursor> = [4, 8]
            .iter()
            .map(|&n| key_after(&conn, range, after, n).unwrap().unwrap())
            .collect();
        assert_eq!(
            read_parts(&file, &conn, range, after, 12, 4, &ends).unwrap(),
            expected
        );
        assert!(key_after(&conn, range, None, 100_000).unwrap().is_none());
    }

    #[test]
    fn small_pages_are_read_on_one_thread() {
        assert_eq!(parts(MIN_PART), None);
        assert_eq!(parts(MIN_PART * 2 - 1), None);
        if std::thread::available_parallelism().map_or(1, std::num::NonZero::get) > 1 {
            assert_eq!(parts(MIN_PART * 2), Some(MIN_PART));
            assert!(parts(10_000).is_some_and(|share| share >= 2_500));
        }
    }

    /// The plan SQLite makes for `sql`, one line per step.
    fn plan(conn: &rusqlite::Connection, sql: &str) -> String {
        let mut statement = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        // Unbound parameters are NULL: the plan does not depend on them.
        let mut rows = statement.raw_query();
        let mut steps = Vec::new();
        while let Some(row) = rows.next().unwrap() {
            steps.push(row.get::<_, String>(3).unwrap());
        }
        steps.join("\n")
    }

    #[tokio::test]
    async fn pages_search_the_index_by_the_whole_key() {
        let dir = tempfile::tempdir().unwrap();
        let (_store, file) = history_store(&dir).await;
        let conn = idle::take(&file).unwrap();
        let key = "(window_start_us,cluster,namespace,pod)";
        // After a cursor and up to a key, both ends are searched by the whole key: by the
        // window start alone, a page would step over every row of the cursor's window before
        // the cursor, and a part over every row to the range's end.
        let part = plan(&conn, &select_pods_upto(PAGE, true, true));
        assert!(
            part.contains(&format!("{key}>(?,?,?,?) AND {key}<(?,?,?,?)")),
            "{part}"
        );
        let rows = plan(&conn, &select_pods_upto(Sqlite::PAGE_SQL, true, false));
        assert!(
            rows.contains(&format!("{key}>(?,?,?,?) AND window_start_us<?")),
            "{rows}"
        );
        let first = plan(&conn, &select_pods_upto(PAGE, false, true));
        assert!(
            first.contains(&format!("window_start_us>? AND {key}<(?,?,?,?)")),
            "{first}"
        );
        // The notes are not joined.
        assert!(!part.contains("JOIN"), "{part}");
        assert!(rows.contains("LEFT-JOIN"), "{rows}");
    }
}
