//! The changes a what-if applies, what each acts on, and their validation.

use serde::{Deserialize, Serialize};

use super::WhatIfError;
use crate::aggregate::workload_ref;
use crate::footprint::PodFootprint;

fn default_target_utilisation() -> f64 {
    0.7
}

/// The most replicas a change may ask for: each one is a pod the what-if engine estimates in
/// every window, so an unbounded count would be unbounded memory (a Deployment of more than
/// 10,000 replicas is far beyond what clusters run).
pub const MAX_REPLICAS: u32 = 10_000;

fn default_min_replicas() -> u32 {
    1
}

/// One change to apply to a history. JSON: an object with `"change"` naming the variant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "change", rename_all = "snake_case", deny_unknown_fields)]
pub enum Change {
    /// Set the CPU and/or memory request of every pod of a workload.
    Requests {
        /// Namespace.
        namespace: String,
        /// Workload kind (`Deployment`, `StatefulSet`, ..., `Pod` for a bare pod).
        kind: String,
        /// Workload name (a ReplicaSet's pods belong to their Deployment).
        name: String,
        /// New CPU request per pod, cores.
        #[serde(default)]
        cpu_request_cores: Option<f64>,
        /// New memory request per pod, bytes.
        #[serde(default)]
        memory_request_bytes: Option<f64>,
    },
    /// Run a workload with a fixed number of replicas sharing its load.
    Replicas {
        /// Namespace.
        namespace: String,
        /// Workload kind.
        kind: String,
        /// Workload name.
        name: String,
        /// Replicas.
        replicas: u32,
    },
    /// Scale a workload with its load, as a HorizontalPodAutoscaler on CPU would: in each window,
    /// `ceil(usage / (request × target))` replicas, between `min_replicas` and the observed count.
    Autoscale {
        /// Namespace.
        namespace: String,
        /// Workload kind.
        kind: String,
        /// Workload name.
        name: String,
        /// Target CPU utilisation of the request (default 0.7).
        #[serde(default = "default_target_utilisation")]
        target_utilisation: f64,
        /// Fewest replicas (default 1).
        #[serde(default = "default_min_replicas")]
        min_replicas: u32,
    },
    /// Scale a workload to zero every day from `off_from_hour` to `off_to_hour` (UTC, may wrap
    /// midnight).
    Schedule {
        /// Namespace.
        namespace: String,
        /// Workload kind.
        kind: String,
        /// Workload name.
        name: String,
        /// First hour off (0–23).
        off_from_hour: u8,
        /// First hour on again (0–23).
        off_to_hour: u8,
    },
    /// Remove a workload, or a whole namespace when `kind` and `name` are absent.
    Remove {
        /// Namespace.
        namespace: String,
        /// Workload kind.
        #[serde(default)]
        kind: Option<String>,
        /// Workload name.
        #[serde(default)]
        name: Option<String>,
    },
    /// Run a workload's load in each day's cleanest windows: its per-window loads are re-ordered
    /// within the day so the heaviest run when the grid intensity is lowest.
    TimeShift {
        /// Namespace.
        namespace: String,
        /// Workload kind.
        kind: String,
        /// Workload name.
        name: String,
    },
    /// Change the instance type of nodes (named, or all of a current type).
    InstanceType {
        /// Nodes to change (empty: select by `from_instance_type`).
        #[serde(default)]
        nodes: Vec<String>,
        /// Change every node of this type.
        #[serde(default)]
        from_instance_type: Option<String>,
        /// New instance type.
        instance_type: String,
    },
    /// Move nodes (named, or all of a region) to another region (and electricity zone).
    Region {
        /// Nodes to move (empty: select by `from_region`).
        #[serde(default)]
        nodes: Vec<String>,
        /// Move every node of this region.
        #[serde(default)]
        from_region: Option<String>,
        /// New region.
        region: String,
        /// New electricity zone or availability zone (derived from the region when absent).
        #[serde(default)]
        zone: Option<String>,
    },
    /// Remove nodes; their pods move to the remaining node with the most free CPU.
    Drain {
        /// Nodes to remove.
        nodes: Vec<String>,
    },
}

/// What a change acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target<'a> {
    /// One workload: namespace, kind, name.
    Workload(&'a str, &'a str, &'a str),
    /// A whole namespace.
    Namespace(&'a str),
    /// Nodes (and so, potentially, every pod).
    Nodes,
}

impl Change {
    pub(crate) fn validate(&self, index: usize) -> Result<(), WhatIfError> {
        let bad = |message: &str| {
            Err(WhatIfError::InvalidChange {
                index,
                message: message.to_string(),
            })
        };
        let finite = |v: Option<f64>| v.is_none_or(|v| v.is_finite() && v >= 0.0);
        match self {
            Self::Requests {
                cpu_request_cores,
                memory_request_bytes,
                ..
            } => {
                if cpu_request_cores.is_none() && memory_request_bytes.is_none() {
                    return bad("give cpu_request_cores and/or memory_request_bytes");
                }
                if !finite(*cpu_request_cores) || !finite(*memory_request_bytes) {
                    return bad("requests must be finite and not negative");
                }
            }
            Self::Autoscale {
                target_utilisation, ..
            } if !(target_utilisation.is_finite() && *target_utilisation > 0.0) => {
                return bad("target_utilisation must be greater than 0");
            }
            Self::Schedule {
                off_from_hour,
                off_to_hour,
                ..
            } if *off_from_hour > 23 || *off_to_hour > 23 || off_from_hour == off_to_hour => {
                return bad("off_from_hour and off_to_hour must be distinct hours 0–23");
            }
            Self::Remove { kind, name, .. } if kind.is_some() != name.is_some() => {
                return bad("give both kind and name, or neither (whole namespace)");
            }
            Self::InstanceType {
                nodes,
                from_instance_type,
                ..
            } if nodes.is_empty() && from_instance_type.is_none() => {
                return bad("select nodes with `nodes` or `from_instance_type`");
            }
            Self::Region {
                nodes, from_region, ..
            } if nodes.is_empty() && from_region.is_none() => {
                return bad("select nodes with `nodes` or `from_region`");
            }
            Self::Drain { nodes } if nodes.is_empty() => return bad("name the nodes to drain"),
            Self::Replicas { replicas, .. } if *replicas > MAX_REPLICAS => {
                return bad(&format!(
                    "replicas must be at most {MAX_REPLICAS} (each replica is a pod to estimate)"
                ));
            }
            Self::Autoscale { min_replicas, .. } if *min_replicas > MAX_REPLICAS => {
                return bad(&format!("min_replicas must be at most {MAX_REPLICAS}"));
            }
            _ => {}
        }
        Ok(())
    }

    /// True when the change touches this pod row (node changes touch every pod).
    pub(crate) fn touches(&self, namespace: &str, kind: &str, name: &str) -> bool {
        match self.target() {
            Target::Workload(its_namespace, its_kind, its_name) => {
                its_namespace == namespace && its_kind == kind && its_name == name
            }
            Target::Namespace(its_namespace) => its_namespace == namespace,
            Target::Nodes => true,
        }
    }

    /// What the change acts on.
    pub(crate) fn target(&self) -> Target<'_> {
        match self {
            Self::Requests {
                namespace,
                kind,
                name,
                ..
            }
            | Self::Replicas {
                namespace,
                kind,
                name,
                ..
            }
            | Self::Autoscale {
                namespace,
                kind,
                name,
                ..
            }
            | Self::Schedule {
                namespace,
                kind,
                name,
                ..
            }
            | Self::TimeShift {
                namespace,
                kind,
                name,
            }
            | Self::Remove {
                namespace,
                kind: Some(kind),
                name: Some(name),
            } => Target::Workload(namespace, kind, name),
            Self::Remove { namespace, .. } => Target::Namespace(namespace),
            Self::InstanceType { .. } | Self::Region { .. } | Self::Drain { .. } => Target::Nodes,
        }
    }

    /// True when the change alters nodes, whose prices no footprint records.
    pub(crate) fn changes_node_cost(&self) -> bool {
        matches!(
            self,
            Self::InstanceType { .. } | Self::Region { .. } | Self::Drain { .. }
        )
    }
}

/// True when one of the changes touches the pod `name` of `namespace` with this owner (node
/// changes touch every pod).
fn touches(
    changes: &[Change],
    namespace: &str,
    owner_kind: Option<&str>,
    owner_name: Option<&str>,
    name: &str,
) -> bool {
    let (kind, workload) = workload_ref(owner_kind, owner_name, name);
    changes
        .iter()
        .any(|change| change.touches(namespace, kind, workload))
}

/// True when one of the changes touches this pod of a snapshot: [`touches_pod`] of the row the
/// engine makes of it.
pub(crate) fn touches_snapshot_pod(changes: &[Change], pod: &crate::snapshot::Pod) -> bool {
    let owner = (pod.owner_kind.as_deref(), pod.owner_name.as_deref());
    touches(changes, &pod.namespace, owner.0, owner.1, &pod.name)
}

/// True when one of the changes touches this pod row (node changes touch every pod).
pub(crate) fn touches_pod(changes: &[Change], pod: &PodFootprint) -> bool {
    let owner = (pod.owner_kind.as_deref(), pod.owner_name.as_deref());
    touches(changes, &pod.namespace, owner.0, owner.1, &pod.pod)
}
