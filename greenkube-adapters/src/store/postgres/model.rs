//! Instants as PostgreSQL stores them, and footprint rows bound to its statements.

use chrono::{DateTime, NaiveDate, Utc};
use greenkube_core::ports::{NodeRecord, WindowRecords};
use greenkube_core::units::{Bytes, Cores};
use greenkube_core::{MethodologyInfo, Ranged};
use sqlx::Postgres;

use crate::store::codec::{micros, micros_ceil};
use crate::store::sql::{Query as SqlQuery, reasons_json, text};

type Query<'q> = SqlQuery<'q, Postgres>;

/// A range bound as PostgreSQL compares it: rounded up to the microsecond (a whole-microsecond
/// window start `s` satisfies `s >= t` exactly when `s >= ceil(t)`, and `s < t` exactly when
/// `s < ceil(t)`), and clamped to the instants a `timestamptz` can hold (4713 BC to 294276 AD,
/// wider than any window greenkube can store).
pub(super) fn bound(t: DateTime<Utc>) -> DateTime<Utc> {
    let earliest = NaiveDate::from_ymd_opt(-4712, 11, 24)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map_or(DateTime::<Utc>::MIN_UTC, |d| d.and_utc());
    DateTime::from_timestamp_micros(micros_ceil(t))
        .unwrap_or(t)
        .max(earliest)
}

/// An instant as stored: whole microseconds, rounded down (as the SQLite store stores it), so
/// writing and looking up the same instant always meet. Clamped like [`bound`] to what a
/// `timestamptz` can hold.
pub(super) fn instant(t: DateTime<Utc>) -> DateTime<Utc> {
    bound(DateTime::from_timestamp_micros(micros(t)).unwrap_or(t))
}

/// Binds what every row of a window shares, as `$1..$7` (the window columns of [`super::sql::insert`]).
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

/// Binds the node rows of a window as one array per column, in
/// `NODE_ROW_COLUMNS` order.
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

    #[test]
    fn instants_round_down_to_the_microsecond() {
        let t = Utc.with_ymd_and_hms(2025, 6, 2, 10, 0, 0).unwrap();
        assert_eq!(instant(t), t);
        assert_eq!(instant(t + Duration::nanoseconds(999)), t);
        assert_eq!(
            instant(t - Duration::nanoseconds(1)),
            t - Duration::microseconds(1)
        );
        assert_eq!(
            instant(DateTime::<Utc>::MIN_UTC),
            bound(DateTime::<Utc>::MIN_UTC)
        );
    }
}
