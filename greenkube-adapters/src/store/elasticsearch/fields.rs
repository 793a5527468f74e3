//! The fields of the footprint documents and how values are written in them: the `row` kinds,
//! times (whole microseconds in `*_us` longs, milliseconds in `date`s), window and key
//! digests, and which fields a report groups by and sums. Both the documents (`model`) and the
//! request bodies (`query`, `rollup`) read them from here.

use chrono::{DateTime, Utc};
use greenkube_core::GroupBy;
use greenkube_core::ports::StoreError;
use sha2::{Digest, Sha256};

use super::BACKEND;
pub(super) use crate::store::codec::{micros, micros_ceil};

/// `row` of a pod document.
pub(super) const POD_ROW: &str = "pod";
/// `row` of a node document.
pub(super) const NODE_ROW: &str = "node";

/// A stored instant (microseconds since 1970) as a time.
pub(super) fn instant(us: i64) -> Result<DateTime<Utc>, StoreError> {
    crate::store::codec::from_micros(BACKEND, us)
}

/// Milliseconds for a `date` field.
pub(super) fn millis(us: i64) -> i64 {
    us.div_euclid(1000)
}

/// The window a row belongs to, as stored in `window`: `START_US/CLUSTER` (the digits end at
/// the first `/`, so any cluster name is unambiguous).
pub(super) fn window_id(cluster: Option<&str>, start: DateTime<Utc>) -> String {
    format!("{}/{}", micros(start), cluster.unwrap_or(""))
}

/// A short, stable digest of key parts (length-prefixed, so no two keys collide by
/// concatenation).
pub(super) fn digest(parts: &[&str]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update((part.len() as u64).to_le_bytes());
        hasher.update(part.as_bytes());
    }
    hasher.finalize()[..16]
        .iter()
        .fold(String::with_capacity(32), |mut out, b| {
            use std::fmt::Write as _;
            let _ = write!(out, "{b:02x}");
            out
        })
}

/// Composite sources of the group keys: `(source name, field)`, in [`GroupKey`] order.
///
/// [`GroupKey`]: greenkube_core::aggregate::GroupKey
pub(super) const KEY_SOURCES: &[(&str, &str)] = &[
    ("k_cluster", "cluster"),
    ("k_namespace", "namespace"),
    ("k_workload_kind", "workload_kind"),
    ("k_workload", "workload"),
    ("k_pod", "pod"),
    ("k_node", "node"),
];

/// The composite source of the period bucket.
pub(super) const PERIOD_SOURCE: &str = "k_period";

/// The figures summed per group: `(pod field, node field)`; each also has `_low` and `_high`.
pub(super) const AGGREGATED_FIGURES: &[(&str, &str)] = &[
    ("energy_joules", "overhead_energy_joules"),
    ("co2e_grams", "overhead_co2e_grams"),
    ("embodied_co2e_grams", "unallocated_embodied_co2e_grams"),
];

/// Fields a grouping groups by.
pub(super) fn group_fields(group_by: GroupBy) -> &'static [&'static str] {
    match group_by {
        GroupBy::Pod => &["namespace", "pod"],
        GroupBy::Workload => &["namespace", "workload_kind", "workload"],
        GroupBy::Namespace => &["namespace"],
        GroupBy::Node => &["node"],
        GroupBy::Cluster => &["cluster"],
    }
}

/// Node and cluster groupings count node overhead rows too.
pub(super) fn includes_nodes(group_by: GroupBy) -> bool {
    matches!(group_by, GroupBy::Node | GroupBy::Cluster)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_and_times() {
        // Length prefixes: ("ab", "c") and ("a", "bc") differ.
        assert_ne!(digest(&["ab", "c"]), digest(&["a", "bc"]));
        assert_eq!(digest(&["x"]).len(), 32);
        assert_eq!(millis(1_999), 1);
        assert_eq!(millis(-1), -1);
        assert!(instant(i64::MAX).is_err());
    }
}
