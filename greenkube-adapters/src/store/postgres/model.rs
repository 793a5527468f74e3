//! Rows to and from PostgreSQL values.

use std::str::FromStr;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use greenkube_core::aggregate::GroupKey;
use greenkube_core::ports::{NodeRecord, PodRecord, StoreError, WindowRecords};
use greenkube_core::units::{Bytes, Cores, Money};
use greenkube_core::{AggregateRow, IdlePolicy, Methodology, MethodologyInfo, Period, Ranged};
use sqlx::postgres::{PgArguments, PgRow};
use sqlx::{Postgres, Row};

use super::BACKEND;
use super::error::convert_sqlx_err;

type Query<'q> = sqlx::query::Query<'q, Postgres, PgArguments>;

/// A range bound as PostgreSQL compares it: rounded up to the microsecond (a whole-microsecond
/// window start `s` satisfies `s >= t` exactly when `s >= ceil(t)`, and `s < t` exactly when
/// `s < ceil(t)`), and clamped to the instants a `timestamptz` can hold (4713 BC to 294276 AD,
/// wider than any window greenkube can store).
pub(super) fn bound(t: DateTime<Utc>) -> DateTime<Utc> {
    let earliest = NaiveDate::from_ymd_opt(-4712, 11, 24)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map_or(DateTime::<Utc>::MIN_UTC, |d| d.and_utc());
    let floor = t.timestamp_micros();
    let micros = if t.timestamp_subsec_nanos().is_multiple_of(1000) {
        floor
    } else {
        floor.saturating_add(1)
    };
    DateTime::from_timestamp_micros(micros)
        .unwrap_or(t)
        .max(earliest)
}

fn text(v: Option<&Arc<str>>) -> Option<&str> {
    v.map(AsRef::as_ref)
}

fn reasons_json(reasons: &[String]) -> String {
    serde_json::to_string(reasons).unwrap_or_else(|_| "[]".to_string())
}

/// Binds what every row of a window shares, as `$1..$7` ([`super::sql::WINDOW_COLUMNS`]).
pub(super) fn bind_window<'q>(
    q: Query<'q>,
    w: &'q WindowRecords,
    m: &'q MethodologyInfo,
) -> Query<'q> {
    q.bind(w.window_start)
        .bind(w.window_end)
        .bind(w.cluster.as_deref().unwrap_or(""))
        .bind(m.name.name())
        .bind(m.version.as_str())
        .bind(m.data_version.as_str())
        .bind(m.idle_policy.name())
}

/// One array per column: the rows of `items` projected by `f`.
fn column<'a, T, U>(items: &'a [T], f: impl Fn(&'a T) -> U) -> Vec<U> {
    items.iter().map(f).collect()
}

fn bind_ranged<'q, T>(q: Query<'q>, items: &'q [T], f: impl Fn(&T) -> Ranged) -> Query<'q> {
    q.bind(column(items, |x| f(x).point))
        .bind(column(items, |x| f(x).low))
        .bind(column(items, |x| f(x).high))
}

/// Binds the pod rows of a window as one array per column, in
/// [`super::sql::POD_ROW_COLUMNS`] order.
pub(super) fn bind_pods<'q>(q: Query<'q>, pods: &'q [PodRecord]) -> Query<'q> {
    let q = q
        .bind(column(pods, |p| p.namespace.as_ref()))
        .bind(column(pods, |p| p.pod.as_ref()))
        .bind(column(pods, |p| text(p.owner_kind.as_ref())))
        .bind(column(pods, |p| text(p.owner_name.as_ref())))
        .bind(column(pods, |p| p.workload_kind.as_ref()))
        .bind(column(pods, |p| p.workload.as_ref()))
        .bind(column(pods, |p| text(p.node.as_ref())))
        .bind(column(pods, |p| text(p.zone.as_ref())))
        .bind(column(pods, |p| text(p.region.as_ref())))
        .bind(column(pods, |p| text(p.provider.as_ref())))
        .bind(column(pods, |p| text(p.instance_type.as_ref())))
        .bind(column(pods, |p| p.cpu_usage_cores.map(Cores::value)))
        .bind(column(pods, |p| p.cpu_request_cores.map(Cores::value)))
        .bind(column(pods, |p| p.memory_usage_bytes.map(Bytes::value)))
        .bind(column(pods, |p| p.memory_request_bytes.map(Bytes::value)))
        .bind(column(pods, |p| {
            p.restarts.map(|r| i64::try_from(r).unwrap_or(i64::MAX))
        }));
    let q = bind_ranged(q, pods, |p| p.energy_joules);
    let q = bind_ranged(q, pods, |p| p.co2e_grams);
    let q = bind_ranged(q, pods, |p| p.embodied_co2e_grams);
    let q = q.bind(column(pods, |p| p.cost.map(Money::value)));
    let q = bind_ranged(q, pods, |p| p.pue);
    let q = bind_ranged(q, pods, |p| p.grid_intensity);
    q.bind(column(pods, |p| p.estimated))
        .bind(column(pods, |p| reasons_json(&p.estimation_reasons)))
}

/// Binds the node rows of a window as one array per column, in
/// [`super::sql::NODE_ROW_COLUMNS`] order.
pub(super) fn bind_nodes<'q>(q: Query<'q>, nodes: &'q [NodeRecord]) -> Query<'q> {
    let q = q
        .bind(column(nodes, |n| n.node.as_deref().unwrap_or("")))
        .bind(column(nodes, |n| text(n.provider.as_ref())))
        .bind(column(nodes, |n| text(n.instance_type.as_ref())))
        .bind(column(nodes, |n| text(n.zone.as_ref())))
        .bind(column(nodes, |n| text(n.region.as_ref())))
        .bind(column(nodes, |n| n.cpu_capacity_cores.map(Cores::value)))
        .bind(column(nodes, |n| n.memory_capacity_bytes.map(Bytes::value)))
        .bind(column(nodes, |n| n.synthetic));
    let q = bind_ranged(q, nodes, |n| n.pue);
    let q = bind_ranged(q, nodes, |n| n.grid_intensity);
    let q = bind_ranged(q, nodes, |n| n.overhead_energy_joules);
    let q = bind_ranged(q, nodes, |n| n.overhead_co2e_grams);
    let q = bind_ranged(q, nodes, |n| n.unallocated_embodied_co2e_grams);
    q.bind(column(nodes, |n| reasons_json(&n.estimation_reasons)))
}

/// Reads columns in order.
struct Columns<'r> {
    row: &'r PgRow,
    next: usize,
}

impl<'r> Columns<'r> {
    fn new(row: &'r PgRow) -> Self {
        Self { row, next: 0 }
    }

    fn get<T>(&mut self) -> Result<T, StoreError>
    where
        T: sqlx::Decode<'r, Postgres> + sqlx::Type<Postgres>,
    {
        let i = self.next;
        self.next += 1;
        self.row
            .try_get(i)
            .map_err(|e| convert_sqlx_err("reading a stored row", e))
    }

    fn name(&mut self) -> Result<Option<Arc<str>>, StoreError> {
        Ok(self.get::<Option<&str>>()?.map(Arc::from))
    }

    fn ranged(&mut self) -> Result<Ranged, StoreError> {
        Ok(Ranged {
            point: self.get()?,
            low: self.get()?,
            high: self.get()?,
        })
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
pub(super) fn pod_from_row(row: &PgRow) -> Result<PodRecord, StoreError> {
    let mut c = Columns::new(row);
    let window_start: DateTime<Utc> = c.get()?;
    let window_end: DateTime<Utc> = c.get()?;
    let cluster: &str = c.get()?;
    let namespace: &str = c.get()?;
    let pod: &str = c.get()?;
    let owner_kind = c.name()?;
    let owner_name = c.name()?;
    let workload_kind: &str = c.get()?;
    let workload: &str = c.get()?;
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
    let reasons: &str = c.get()?;
    let estimation_reasons: Vec<String> = serde_json::from_str(reasons).map_err(|e| {
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
    row: &PgRow,
    period: Option<Period>,
) -> Result<AggregateRow, StoreError> {
    let mut c = Columns::new(row);
    let cluster = c.name()?;
    let namespace = c.name()?;
    let workload_kind = c.name()?;
    let workload = c.name()?;
    let pod = c.name()?;
    let node = c.name()?;
    let bucket: Option<DateTime<Utc>> = c.get()?;
    let period = match (period, bucket) {
        (Some(p), Some(start)) => Some(p.label(start)),
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
        first_window: Some(c.get()?),
        last_window: Some(c.get()?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};

    #[test]
    fn bounds_round_up_to_the_microsecond_and_clamp() {
        let t = Utc.with_ymd_and_hms(2025, 6, 2, 10, 0, 0).unwrap();
        assert_eq!(bound(t), t);
        assert_eq!(
            bound(t + Duration::nanoseconds(1)),
            t + Duration::microseconds(1)
        );
        assert_eq!(
            bound(t - Duration::nanoseconds(999)),
            t,
            "-999 ns rounds up to t"
        );
        assert_eq!(
            bound(DateTime::<Utc>::MIN_UTC)
                .format("%Y-%m-%d")
                .to_string(),
            "-4712-11-24"
        );
        assert_eq!(bound(DateTime::<Utc>::MAX_UTC), DateTime::<Utc>::MAX_UTC);
    }
}
