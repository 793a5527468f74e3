//! Footprint rows bound to SQLite statements.

use greenkube_core::ports::{NodeRecord, PodRecord};
use greenkube_core::units::{Bytes, Cores, Money};
use greenkube_core::{MethodologyInfo, Ranged};
use sqlx::Sqlite;

use crate::store::codec::micros;
use crate::store::sql::{Query as SqlQuery, reasons_json, text};

type Query<'q> = SqlQuery<'q, Sqlite>;

fn bind_ranged(q: Query<'_>, r: Ranged) -> Query<'_> {
    q.bind(r.point).bind(r.low).bind(r.high)
}

fn bind_methodology<'q>(q: Query<'q>, m: &'q MethodologyInfo) -> Query<'q> {
    q.bind(m.name.name())
        .bind(m.version.as_str())
        .bind(m.data_version.as_str())
        .bind(m.idle_policy.name())
}

/// Binds one pod row written with its note's id (`note`), as
/// [`super::sql::insert_noted_pods`] takes it.
pub(super) fn bind_pod<'q>(q: Query<'q>, (p, note): (&'q PodRecord, i64)) -> Query<'q> {
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
    q.bind(p.estimated).bind(note)
}

/// Binds one node row, in [`super::sql::node_columns`] order.
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
