//! `instance_type`, `region` and `drain`: changes to nodes. What nodes cost is not in any
//! footprint, so their cost difference is unknown.

use std::collections::HashSet;
use std::sync::Arc;

use super::allocation;
use crate::reference::{Provider, ReferenceData};
use crate::snapshot::{Node, Pod, Snapshot};

/// True when the change selects this node: by name when `nodes` names any, else when its
/// `current` value (instance type, region) is `from`, ignoring case.
pub(crate) fn node_selected(
    node: &Node,
    nodes: &[String],
    from: Option<&str>,
    current: Option<&str>,
) -> bool {
    if nodes.is_empty() {
        from.is_some_and(|wanted| current.is_some_and(|value| value.eq_ignore_ascii_case(wanted)))
    } else {
        nodes.iter().any(|name| name.as_str() == node.name.as_ref())
    }
}

/// Gives the selected nodes another instance type; their capacities then come from the
/// catalogue.
pub(super) fn set_instance_type(
    snapshot: &mut Snapshot,
    nodes: &[String],
    from_instance_type: Option<&str>,
    instance_type: &str,
) {
    for node in &mut snapshot.nodes {
        if node_selected(
            node,
            nodes,
            from_instance_type,
            node.instance_type.as_deref(),
        ) {
            node.instance_type = Some(Arc::from(instance_type));
            node.cpu_capacity_cores = None;
            node.memory_capacity_bytes = None;
        }
    }
}

/// Moves the selected nodes to another region and zone (derived from the region when absent).
pub(super) fn move_region(
    snapshot: &mut Snapshot,
    nodes: &[String],
    from_region: Option<&str>,
    region: &str,
    zone: Option<&str>,
) {
    for node in &mut snapshot.nodes {
        if node_selected(node, nodes, from_region, node.region.as_deref()) {
            node.region = Some(Arc::from(region));
            node.zone = zone.map(Arc::from);
        }
    }
}

/// Removes nodes and moves their pods, largest first, to the remaining node with the most free
/// CPU (capacity, from the snapshot or the reference catalogue, minus reserved CPU).
pub(super) fn drain(snapshot: &mut Snapshot, nodes: &[String], reference: &ReferenceData) {
    let drained: HashSet<&str> = nodes.iter().map(String::as_str).collect();
    let capacity = |node: &Node| -> f64 {
        node.cpu_capacity_cores
            .map(|c| c.0)
            .or_else(|| {
                let provider = node
                    .provider
                    .as_deref()
                    .map_or(Provider::Unknown, Provider::parse);
                node.instance_type
                    .as_deref()
                    .and_then(|name| reference.instance_type(provider, name))
                    .map(|catalogued| catalogued.vcpus)
            })
            .unwrap_or(0.0)
    };
    let mut free: Vec<(Arc<str>, f64)> = snapshot
        .nodes
        .iter()
        .filter(|n| !drained.contains(n.name.as_ref()))
        .map(|n| (n.name.clone(), capacity(n)))
        .collect();
    if free.is_empty() {
        return;
    }
    let reserved = |pod: &Pod| {
        allocation(
            pod.cpu_request_cores.map(|c| c.0),
            pod.cpu_usage_cores.map(|c| c.0),
        )
    };
    for pod in &snapshot.pods {
        if let Some(node) = &pod.node
            && let Some(slot) = free.iter_mut().find(|(name, _)| name == node)
        {
            slot.1 -= reserved(pod);
        }
    }
    let mut moving: Vec<usize> = (0..snapshot.pods.len())
        .filter(|&i| {
            snapshot.pods[i]
                .node
                .as_deref()
                .is_some_and(|node| drained.contains(node))
        })
        .collect();
    moving.sort_by(|&x, &y| reserved(&snapshot.pods[y]).total_cmp(&reserved(&snapshot.pods[x])));
    for position in moving {
        let cores = reserved(&snapshot.pods[position]);
        let Some(best) = free.iter_mut().max_by(|x, y| x.1.total_cmp(&y.1)) else {
            break;
        };
        best.1 -= cores;
        snapshot.pods[position].node = Some(best.0.clone());
    }
    snapshot
        .nodes
        .retain(|n| !drained.contains(n.name.as_ref()));
}
