//! Inventory the recommender and the score may use besides footprints: nodes with their capacity
//! and the workloads an autoscaler governs.

use serde::{Deserialize, Serialize};

use crate::snapshot::Node;

/// A HorizontalPodAutoscaler's target.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HpaTarget {
    /// Namespace of the autoscaler and its target.
    pub namespace: String,
    /// Kind of the scaled workload (`Deployment`, `StatefulSet`, ...).
    pub target_kind: String,
    /// Name of the scaled workload.
    pub target_name: String,
}

/// `{"nodes": [snapshot node objects], "hpas": [{"namespace", "target_kind", "target_name"}]}`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Inventory {
    /// Nodes, as in a snapshot.
    #[serde(default)]
    pub nodes: Vec<Node>,
    /// Autoscaler targets.
    #[serde(default)]
    pub hpas: Vec<HpaTarget>,
}

impl Inventory {
    /// Parses an inventory document; errors name the offending field.
    pub fn from_json_str(text: &str) -> Result<Self, crate::SnapshotError> {
        crate::error::parse_json(text)
    }

    /// True when an autoscaler governs the workload.
    pub fn has_hpa(&self, namespace: &str, kind: &str, name: &str) -> bool {
        self.hpas
            .iter()
            .any(|h| h.namespace == namespace && h.target_kind == kind && h.target_name == name)
    }
}
