//! Pod rows into PostgreSQL with `COPY ... FROM STDIN (FORMAT binary)`.
//!
//! An `INSERT ... SELECT unnest(...)` sends every column as one array, which the server
//! decodes, then unnests and casts row by row (the reasons parsed as JSON each time): about
//! 10 µs a pod row. `COPY` in the binary format streams the rows as they are stored (floats
//! bit for bit, instants as microseconds), with no plan and no array: the server only checks
//! and stores them. It runs inside the write's transaction, after the window's rows are
//! deleted, so the write stays idempotent and a failure rolls back everything.

use std::collections::HashMap;
use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use greenkube_core::ports::{PodRecord, StoreError, WindowRecords};
use greenkube_core::units::{Bytes, Cores, Money};
use greenkube_core::{MethodologyInfo, Ranged};
use sqlx::{PgConnection, Postgres};

use super::model::instant;
use crate::store::codec::micros;
use crate::store::sql::{Dialect as _, POD_ROW_COLUMNS, columns, reasons_json};

/// The `COPY` statement of pod rows, columns in [`columns`] order.
static COPY_PODS: LazyLock<String> = LazyLock::new(|| {
    format!(
        "COPY pod_footprints ({}) FROM STDIN (FORMAT binary)",
        columns("window_start", "window_end", &POD_ROW_COLUMNS).join(", ")
    )
});

/// Bytes buffered before they are sent: the rows of a large window go out as they are
/// encoded, so memory stays flat whatever the window's size.
const SEND_AT: usize = 1 << 20;

/// Microseconds from 1970-01-01 to 2000-01-01, PostgreSQL's epoch.
const PG_EPOCH_US: i64 = 946_684_800_000_000;

/// Copies the pod rows of `w` (none stored yet for its window) in one `COPY`.
pub(super) async fn copy_pods(
    conn: &mut PgConnection,
    w: &WindowRecords,
) -> Result<(), StoreError> {
    if w.pods.is_empty() {
        return Ok(());
    }
    let doing = "inserting pod rows";
    let mut copy = conn
        .copy_in_raw(COPY_PODS.as_str())
        .await
        .map_err(|e| Postgres::error(doing, e))?;
    let mut rows = Rows::default();
    rows.header();
    for p in &w.pods {
        rows.pod(p);
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

/// Rows in `COPY`'s binary format, and the reasons lists encoded so far (a window's rows give
/// a few: one per node, with or without cost, ...).
#[derive(Default)]
struct Rows {
    buf: Vec<u8>,
    reasons: HashMap<Vec<String>, String>,
}

/// Distinct reasons lists kept at most; past it the cache starts over.
const REASON_LISTS: usize = 4096;

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

    /// A `jsonb` value: the format version (1), then the JSON text.
    fn reasons(&mut self, reasons: &[String]) {
        if !self.reasons.contains_key(reasons) {
            if self.reasons.len() >= REASON_LISTS {
                self.reasons.clear();
            }
            self.reasons.insert(reasons.to_vec(), reasons_json(reasons));
        }
        let json = self.reasons.get(reasons).map_or("[]", String::as_str);
        let len = i32::try_from(json.len() + 1).unwrap_or(i32::MAX);
        self.buf.extend_from_slice(&len.to_be_bytes());
        self.buf.push(1);
        self.buf.extend_from_slice(json.as_bytes());
    }

    fn methodology(&mut self, m: &MethodologyInfo) {
        self.text(m.name.name());
        self.text(&m.version);
        self.text(&m.data_version);
        self.text(m.idle_policy.name());
    }

    /// One pod row, in [`COPY_PODS`] column order.
    fn pod(&mut self, p: &PodRecord) {
        let fields = i16::try_from(3 + POD_ROW_COLUMNS.len() + 4).unwrap_or(i16::MAX);
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
        self.reasons(&p.estimation_reasons);
        self.methodology(&p.methodology);
    }
}
