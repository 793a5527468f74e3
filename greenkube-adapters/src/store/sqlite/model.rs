//! Rows to and from SQLite values.

use std::str::FromStr;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use greenkube_core::aggregate::GroupKey;
use greenkube_core::ports::{NodeRecord, PodRecord, StoreError};
use greenkube_core::units::{Bytes, Cores, Money};
use greenkube_core::{AggregateRow, IdlePolicy, Methodology, MethodologyInfo, Period, Ranged};
use sqlx::sqlite::{SqliteArguments, SqliteRow};
use sqlx::{Row, Sqlite};

use super::BACKEND;
use super::error::convert_sqlx_err;

type Query<'q> = sqlx::query::Query<'q, Sqlite, SqliteArguments<'q>>;

/// A stored instant: whole microseconds since 1970 (windows are checked to be whole
/// microseconds before they are written).
pub(super) fn micros(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

/// A range bound in microseconds, rounded up: a whole-microsecond window start `s` satisfies
/// `s >= t` exactly when `micros(s) >= micros_ceil(t)`, and `s < t` exactly when
/// `micros(s) < micros_ceil(t)`.
pub(super) fn micros_ceil(t: DateTime<Utc>) -> i64 {
    let floor = t.timestamp_micros();
    if t.timestamp_subsec_nanos().is_multiple_of(1000) {
        floor
    } else {
        floor.saturating_add(1)
    }
}

pub(super) fn instant(us: i64) -> Result<DateTime<Utc>, StoreError> {
    DateTime::from_timestamp_micros(us).ok_or_else(|| {
        StoreError::invalid_data(BACKEND, format!("stored time {us} µs is out of range"))
    })
}

fn text(v: Option<&Arc<str>>) -> Option<&str> {
    v.map(AsRef::as_ref)
}

fn reasons_json(reasons: &[String]) -> String {
    serde_json::to_string(reasons).unwrap_or_else(|_| "[]".to_string())
}

fn bind_ranged(q: Query<'_>, r: Ranged) -> Query<'_> {
    q.bind(r.point).bind(r.low).bind(r.high)
}

fn bind_methodology<'q>(q: Query<'q>, m: &'q MethodologyInfo) -> Query<'q> {
    q.bind(m.name.name())
        .bind(m.version.as_str())
        .bind(m.data_version.as_str())
        .bind(m.idle_policy.name())
}

/// Binds one pod row, in [`super::sql::POD_COLUMNS`] order.
pub(super) fn bind_pod<'q>(q: Query<'q>, p: &'q PodRecord) -> Query<'q> {
    let q = q
        .bind(micros(p.window_start))
        .bind(micros(p.window_end))
        .bind(p.cluster.as_deref().unwrap_or(""))
        .bind(p.namespace.as_ref())
        .bind(p.pod.as_ref())
        .bind(text(p.owner_kind.as_ref()))
        .bind(text(p.owner_name.as_ref()))
        .bind(p.workload_kind.as_ref())
        .bind(p.workload.as_ref())
        .bind(text(p.node.as_ref()))
        .bind(text(p.zone.as_ref()))
        .bind(text(p.region.as_ref()))
        .bind(text(p.provider.as_ref()))
        .bind(text(p.instance_type.as_ref()))
        .bind(p.cpu_usage_cores.map(Cores::value))
        .bind(p.cpu_request_cores.map(Cores::value))
        .bind(p.memory_usage_bytes.map(Bytes::value))
        .bind(p.memory_request_bytes.map(Bytes::value))
        .bind(p.restarts.and_then(|r| i64::try_from(r).ok()));
    let q = bind_ranged(q, p.energy_joules);
    let q = bind_ranged(q, p.co2e_grams);
    let q = bind_ranged(q, p.embodied_co2e_grams);
    let q = q.bind(p.cost.map(Money::value));
    let q = bind_ranged(q, p.pue);
    let q = bind_ranged(q, p.grid_intensity);
    let q = q
        .bind(p.estimated)
        .bind(reasons_json(&p.estimation_reasons));
    bind_methodology(q, &p.methodology)
}

/// Binds one node row, in [`super::sql::NODE_COLUMNS`] order.
pub(super) fn bind_node<'q>(q: Query<'q>, n: &'q NodeRecord) -> Query<'q> {
    let q = q
        .bind(micros(n.window_start))
        .bind(micros(n.window_end))
        .bind(n.cluster.as_deref().unwrap_or(""))
        .bind(n.node.as_deref().unwrap_or(""))
        .bind(text(n.provider.as_ref()))
        .bind(text(n.instance_type.as_ref()))
        .bind(text(n.zone.as_ref()))
        .bind(text(n.region.as_ref()))
        .bind(n.cpu_capacity_cores.map(Cores::value))
        .bind(n.memory_capacity_bytes.map(Bytes::value))
        .bind(n.synthetic);
    let q = bind_ranged(q, n.pue);
    let q = bind_ranged(q, n.grid_intensity);
    let q = bind_ranged(q, n.overhead_energy_joules);
    let q = bind_ranged(q, n.overhead_co2e_grams);
    let q = bind_ranged(q, n.unallocated_embodied_co2e_grams);
    let q = q.bind(reasons_json(&n.estimation_reasons));
    bind_methodology(q, &n.methodology)
}

/// Reads columns in order.
struct Columns<'r> {
    row: &'r SqliteRow,
    next: usize,
}

impl<'r> Columns<'r> {
    fn new(row: &'r SqliteRow) -> Self {
        Self { row, next: 0 }
    }

    fn get<T>(&mut self) -> Result<T, StoreError>
    where
        T: sqlx::Decode<'r, Sqlite> + sqlx::Type<Sqlite>,
    {
        let i = self.next;
        self.next += 1;
        self.row
            .try_get(i)
            .map_err(|e| convert_sqlx_err("reading a stored row", e))
    }

    fn name(&mut self) -> Result<Option<Arc<str>>, StoreError> {
        Ok(self.get::<Option<String>>()?.map(Arc::from))
    }

    fn ranged(&mut self) -> Result<Ranged, StoreError> {
        Ok(Ranged {
            point: self.get()?,
            low: self.get()?,
            high: self.get()?,
        })
    }

    fn instant(&mut self) -> Result<DateTime<Utc>, StoreError> {
        instant(self.get()?)
    }

    fn count(&mut self) -> Result<usize, StoreError> {
        let n: i64 = self.get()?;
        usize::try_from(n).map_err(|_| StoreError::invalid_data(BACKEND, "negative row count"))
    }

    fn methodology(&mut self) -> Result<MethodologyInfo, StoreError> {
        let name: String = self.get()?;
        let version: String = self.get()?;
        let data_version: String = self.get()?;
        let idle_policy: String = self.get()?;
        let bad = |e: greenkube_core::UnknownNameError| {
            StoreError::invalid_data(BACKEND, format!("stored row: {e}"))
        };
        Ok(MethodologyInfo {
            name: Methodology::from_str(&name).map_err(bad)?,
            version,
            data_version,
            idle_policy: IdlePolicy::from_str(&idle_policy).map_err(bad)?,
        })
    }
}

/// Decodes a row of [`super::sql::select_pods`].
pub(super) fn pod_from_row(row: &SqliteRow) -> Result<PodRecord, StoreError> {
    let mut c = Columns::new(row);
    let window_start = c.instant()?;
    let window_end = c.instant()?;
    let cluster: String = c.get()?;
    let namespace: String = c.get()?;
    let pod: String = c.get()?;
    let owner_kind = c.name()?;
    let owner_name = c.name()?;
    let workload_kind: String = c.get()?;
    let workload: String = c.get()?;
    let node = c.name()?;
    let zone = c.name()?;
    let region = c.name()?;
    let provider = c.name()?;
    let instance_type = c.name()?;
    let cpu_usage_cores = c.get::<Option<f64>>()?.map(Cores);
    let cpu_request_cores = c.get::<Option<f64>>()?.map(Cores);
    let memory_usage_bytes = c.get::<Option<f64>>()?.map(Bytes);
    let memory_request_bytes = c.get::<Option<f64>>()?.map(Bytes);
    let restarts = c
        .get::<Option<i64>>()?
        .map(|r| {
            u64::try_from(r)
                .map_err(|_| StoreError::invalid_data(BACKEND, "stored row: negative restarts"))
        })
        .transpose()?;
    let energy_joules = c.ranged()?;
    let co2e_grams = c.ranged()?;
    let embodied_co2e_grams = c.ranged()?;
    let cost = c.get::<Option<f64>>()?.map(Money);
    let pue = c.ranged()?;
    let grid_intensity = c.ranged()?;
    let estimated: bool = c.get()?;
    let reasons: String = c.get()?;
    let estimation_reasons: Vec<String> = serde_json::from_str(&reasons).map_err(|e| {
        StoreError::invalid_data(
            BACKEND,
            "stored row: estimation reasons are not a JSON list",
        )
        .with_source(e)
    })?;
    let methodology = c.methodology()?;
    Ok(PodRecord {
        cluster: (!cluster.is_empty()).then(|| Arc::from(cluster)),
        window_start,
        window_end,
        namespace: Arc::from(namespace),
        pod: Arc::from(pod),
        owner_kind,
        owner_name,
        workload_kind: Arc::from(workload_kind),
        workload: Arc::from(workload),
        node,
        zone,
        region,
        provider,
        instance_type,
        cpu_usage_cores,
        cpu_request_cores,
        memory_usage_bytes,
        memory_request_bytes,
        restarts,
        energy_joules,
        co2e_grams,
        embodied_co2e_grams,
        cost,
        pue,
        grid_intensity,
        estimated,
        estimation_reasons,
        methodology,
    })
}

/// Decodes a row of [`super::sql::aggregate`].
pub(super) fn aggregate_from_row(
    row: &SqliteRow,
    period: Option<Period>,
) -> Result<AggregateRow, StoreError> {
    let mut c = Columns::new(row);
    let cluster = c.name()?;
    let namespace = c.name()?;
    let workload_kind = c.name()?;
    let workload = c.name()?;
    let pod = c.name()?;
    let node = c.name()?;
    let bucket: Option<i64> = c.get()?;
    let period = match (period, bucket) {
        (Some(p), Some(start)) => Some(p.label(instant(start)?)),
        _ => None,
    };
    Ok(AggregateRow {
        key: GroupKey {
            period,
            cluster,
            namespace,
            workload_kind,
            workload,
            pod,
            node,
        },
        energy_joules: c.ranged()?,
        co2e_grams: c.ranged()?,
        embodied_co2e_grams: c.ranged()?,
        cost: Money(c.get()?),
        rows: c.count()?,
        estimated_rows: c.count()?,
        rows_without_cost: c.count()?,
        first_window: Some(c.instant()?),
        last_window: Some(c.instant()?),
    })
}
