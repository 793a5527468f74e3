//! Pod rows into PostgreSQL with `COPY ... FROM STDIN (FORMAT binary)`.
//!
//! An `INSERT ... SELECT unnest(...)` sends every column as one array, which the server
//! decodes, then unnests and casts row by row (the reasons parsed as JSON each time): about
//! 10 µs a pod row. `COPY` in the binary format streams the rows as they are stored (floats
//! bit for bit, instants as microseconds), with no plan and no array: the server only checks
//! and stores them. It runs inside the write's transaction, after the window's rows are
//! deleted, so the write stays idempotent and a failure rolls back everything. A row's
//! reasons and methodology go in as its note's id (migration 5; `sql::notes`): the five
//! columns the note replaces take their defaults.

use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use greenkube_core::Ranged;
use greenkube_core::ports::{PodRecord, StoreError, WindowRecords};
use greenkube_core::units::{Bytes, Cores, Money};
use sqlx::{PgConnection, Postgres};

use super::model::instant;
use crate::store::codec::micros;
use crate::store::sql::notes::{NoteIds, note_id};
use crate::store::sql::{Dialect as _, POD_ROW_COLUMNS};

/// The columns `COPY` fills: the window, the cluster, the row columns but the reasons (their
/// note has them), and the note.
fn copied_columns() -> Vec<&'static str> {
    ["window_start", "window_end", "cluster"]
        .into_iter()
        .chain(
            POD_ROW_COLUMNS
                .iter()
                .map(|(name, _)| *name)
                .filter(|name| *name != "estimation_reasons"),
        )
        .chain(["note"])
        .collect()
}

/// Fields of a copied row: the three window columns, the row columns with the note in place
/// of the reasons.
const COPIED_FIELDS: usize = 3 + POD_ROW_COLUMNS.len();

/// The `COPY` statement of pod rows, columns in [`copied_columns`] order.
static COPY_PODS: LazyLock<String> = LazyLock::new(|| {
    format!(
        "COPY pod_footprints ({}) FROM STDIN (FORMAT binary)",
        copied_columns().join(", ")
    )
});

/// Bytes buffered before they are sent: the rows of a large window go out as they are
/// encoded, so memory stays flat whatever the window's size.
const SEND_AT: usize = 1 << 20;

/// Microseconds from 1970-01-01 to 2000-01-01, PostgreSQL's epoch.
const PG_EPOCH_US: i64 = 946_684_800_000_000;

/// Copies the pod rows of `w` (none stored yet for its window) in one `COPY`, after looking up
/// or adding their notes (this write's `notes`).
pub(super) async fn copy_pods(
    conn: &mut PgConnection,
    w: &WindowRecords,
    notes: &mut NoteIds,
) -> Result<(), StoreError> {
    if w.pods.is_empty() {
        return Ok(());
    }
    let mut ids = Vec::with_capacity(w.pods.len());
    for p in &w.pods {
        ids.push(note_id::<Postgres>(conn, notes, &p.estimation_reasons, &p.methodology).await?);
    }
    let doing = "inserting pod rows";
    let mut copy = conn
        .copy_in_raw(COPY_PODS.as_str())
        .await
        .map_err(|e| Postgres::error(doing, e))?;
    let mut rows = Rows::default();
    rows.header();
    for (p, note) in w.pods.iter().zip(ids) {
        rows.pod(p, note);
        if rows.buf.len() >= SEND_AT {
            if let Err(e) = copy.send(rows.buf.as_slice()).await {
                let _ = copy.abort("greenkube: sending rows failed").await;
                return Err(Postgres::error(doing, e));
            }
            rows.buf.clear();
        }
    }
    rows.trailer();
    if let Err(e) = copy.send(rows.buf.as_slice()).await {
        let _ = copy.abort("greenkube: sending rows failed").await;
        return Err(Postgres::error(doing, e));
    }
    copy.finish().await.map_err(|e| Postgres::error(doing, e))?;
    Ok(())
}

/// Rows in `COPY`'s binary format.
#[derive(Default)]
struct Rows {
    buf: Vec<u8>,
}

impl Rows {
    fn header(&mut self) {
        self.buf.extend_from_slice(b"PGCOPY\n\xff\r\n\0");
        // Flags, then the length of the header extension: none.
        self.buf.extend_from_slice(&0_i32.to_be_bytes());
        self.buf.extend_from_slice(&0_i32.to_be_bytes());
    }

    fn trailer(&mut self) {
        self.buf.extend_from_slice(&(-1_i16).to_be_bytes());
    }

    fn field(&mut self, bytes: &[u8]) {
        // A field is at most a few kilobytes (a name, a list of sentences).
        let len = i32::try_from(bytes.len()).unwrap_or(i32::MAX);
        self.buf.extend_from_slice(&len.to_be_bytes());
        self.buf.extend_from_slice(bytes);
    }

    fn null(&mut self) {
        self.buf.extend_from_slice(&(-1_i32).to_be_bytes());
    }

    fn time(&mut self, t: DateTime<Utc>) {
        let us = micros(instant(t)).saturating_sub(PG_EPOCH_US);
        self.field(&us.to_be_bytes());
    }

    fn text(&mut self, s: &str) {
        self.field(s.as_bytes());
    }

    fn opt_text(&mut self, s: Option<&str>) {
        match s {
            Some(s) => self.text(s),
            None => self.null(),
        }
    }

    fn float(&mut self, v: f64) {
        self.field(&v.to_bits().to_be_bytes());
    }

    fn opt_float(&mut self, v: Option<f64>) {
        match v {
            Some(v) => self.float(v),
            None => self.null(),
        }
    }

    fn ranged(&mut self, r: Ranged) {
        self.float(r.point);
        self.float(r.low);
        self.float(r.high);
    }

    /// One pod row with its note's id, in [`COPY_PODS`] column order.
    fn pod(&mut self, p: &PodRecord, note: i64) {
        let fields = i16::try_from(COPIED_FIELDS).unwrap_or(i16::MAX);
        self.buf.extend_from_slice(&fields.to_be_bytes());
        self.time(p.window_start);
        self.time(p.window_end);
        self.text(p.cluster.as_deref().unwrap_or(""));
        self.text(&p.namespace);
        self.text(&p.pod);
        self.opt_text(p.owner_kind.as_deref());
        self.opt_text(p.owner_name.as_deref());
        self.text(&p.workload_kind);
        self.text(&p.workload);
        for name in [&p.node, &p.zone, &p.region, &p.provider, &p.instance_type] {
            self.opt_text(name.as_deref());
        }
        self.opt_float(p.cpu_usage_cores.map(Cores::value));
        self.opt_float(p.cpu_request_cores.map(Cores::value));
        self.opt_float(p.memory_usage_bytes.map(Bytes::value));
        self.opt_float(p.memory_request_bytes.map(Bytes::value));
        match p.restarts {
            Some(r) => self.field(&i64::try_from(r).unwrap_or(i64::MAX).to_be_bytes()),
            None => self.null(),
        }
        self.ranged(p.energy_joules);
        self.ranged(p.co2e_grams);
        self.ranged(p.embodied_co2e_grams);
        self.opt_float(p.cost.map(Money::value));
        self.ranged(p.pue);
        self.ranged(p.grid_intensity);
        self.field(&[u8::from(p.estimated)]);
        self.field(&note.to_be_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_copied_row_has_a_field_per_copied_column() {
        assert_eq!(copied_columns().len(), COPIED_FIELDS);
        assert!(
            COPY_PODS.contains("estimated, note) FROM STDIN"),
            "{}",
            *COPY_PODS
        );
        assert!(!COPY_PODS.contains("methodology"), "{}", *COPY_PODS);
    }
}
