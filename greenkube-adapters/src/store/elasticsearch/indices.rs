//! The indices of an Elasticsearch store: the names a prefix gives them, their built-in
//! mappings (`mappings/*.json`) and the schema versions those mappings carry in `_meta`.

/// The schema version the footprint mappings are: 1 footprints, ledger and batch windows;
/// 2 roll-ups and retention (the `PREFIX-rollups` index and the roll-up state in the ledger).
/// It is the schema version of the store.
pub const SCHEMA_VERSION: i64 = 2;

pub(super) const FOOTPRINTS_MAPPING: &str = include_str!("mappings/footprints.json");
pub(super) const META_MAPPING: &str = include_str!("mappings/meta.json");
pub(super) const ROLLUPS_MAPPING: &str = include_str!("mappings/rollups.json");

/// The migrations of the footprint indices, by schema version.
pub(super) const MIGRATIONS: [(i64, &str); 2] = [
    (1, "footprints (index templates and mappings)"),
    (
        2,
        "roll-ups and retention (the rollups index, roll-up state in the ledger)",
    ),
];

/// The schema version of the history indices (kept in each mapping's `_meta`).
pub const HISTORY_SCHEMA_VERSION: i64 = 1;

/// The suffixes of the history indices: `PREFIX-snapshots`, `PREFIX-nodes`, ...
pub const HISTORY_INDICES: [&str; 7] = [
    "snapshots",
    "nodes",
    "intensities",
    "recommendations",
    "savings",
    "embodied",
    "pods",
];

/// The mappings of the history indices, in the order of [`HISTORY_INDICES`].
pub(super) const HISTORY_MAPPINGS: [&str; 7] = [
    include_str!("mappings/snapshots.json"),
    include_str!("mappings/nodes.json"),
    include_str!("mappings/intensities.json"),
    include_str!("mappings/recommendations.json"),
    include_str!("mappings/savings.json"),
    include_str!("mappings/embodied.json"),
    include_str!("mappings/pods.json"),
];

/// The names of the indices of a prefix.
#[derive(Debug, Clone)]
pub(super) struct Indices {
    pub(super) footprints: String,
    pub(super) meta: String,
    pub(super) rollups: String,
    pub(super) snapshots: String,
    pub(super) nodes: String,
    pub(super) intensities: String,
    pub(super) recommendations: String,
    pub(super) savings: String,
    pub(super) embodied: String,
    pub(super) pods: String,
}

impl Indices {
    pub(super) fn new(prefix: &str) -> Self {
        let name = |suffix: &str| format!("{prefix}-{suffix}");
        Self {
            footprints: name("footprints"),
            meta: name("meta"),
            rollups: name("rollups"),
            snapshots: name(HISTORY_INDICES[0]),
            nodes: name(HISTORY_INDICES[1]),
            intensities: name(HISTORY_INDICES[2]),
            recommendations: name(HISTORY_INDICES[3]),
            savings: name(HISTORY_INDICES[4]),
            embodied: name(HISTORY_INDICES[5]),
            pods: name(HISTORY_INDICES[6]),
        }
    }

    /// The history indices, in the order of [`HISTORY_INDICES`].
    pub(super) fn history(&self) -> [&str; 7] {
        [
            &self.snapshots,
            &self.nodes,
            &self.intensities,
            &self.recommendations,
            &self.savings,
            &self.embodied,
            &self.pods,
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    #[test]
    fn indices_follow_the_prefix() {
        let i = Indices::new("gk");
        assert_eq!(
            (i.footprints.as_str(), i.meta.as_str(), i.rollups.as_str()),
            ("gk-footprints", "gk-meta", "gk-rollups")
        );
        assert_eq!(
            i.history(),
            [
                "gk-snapshots",
                "gk-nodes",
                "gk-intensities",
                "gk-recommendations",
                "gk-savings",
                "gk-embodied",
                "gk-pods"
            ]
        );
        for mapping in HISTORY_MAPPINGS {
            let v: Value = serde_json::from_str(mapping).unwrap();
            assert_eq!(
                v.pointer("/mappings/_meta/greenkube_schema_version"),
                Some(&json!(HISTORY_SCHEMA_VERSION))
            );
            assert_eq!(v.pointer("/mappings/dynamic"), Some(&json!("strict")));
        }
    }
}
