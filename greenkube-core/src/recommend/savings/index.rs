//! What pricing looks up in each sampled window: the workloads and namespaces numbered once
//! for all windows ([`Targets`]), each window's pods by node, workload and namespace
//! ([`Index`]), and its baseline figures by workload, namespace and node ([`Baseline`]).

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::sync::Arc;

use crate::aggregate::workload_ref;
use crate::fastmap::{FastMap, fast_map};
use crate::snapshot::{Node, Pod, Snapshot};
use crate::whatif::{Change, Figures, Target, node_selected};

/// The workloads and namespaces of the sampled windows, each given a number once for all
/// windows, so a candidate finds its targets by number in every window instead of by name.
pub(super) struct Targets {
    /// Workload numbers by [`workload_id_key`].
    workloads: FastMap<Box<str>, u32>,
    namespaces: FastMap<Arc<str>, u32>,
    /// Scratch for keys being looked up.
    key: String,
}

/// What a change acts on, by number ([`Targets::resolve`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Resolved {
    /// A workload of the sampled windows.
    Workload(u32),
    /// A namespace of the sampled windows.
    Namespace(u32),
    /// A workload or namespace in none of the sampled windows.
    Absent,
    /// Nodes (instance type, region, drain).
    Nodes,
}

/// The key of a workload: lengths make it unambiguous whatever the names hold.
fn workload_id_key<'k>(key: &'k mut String, namespace: &str, kind: &str, name: &str) -> &'k str {
    key.clear();
    let _ = write!(
        key,
        "{}:{namespace}{}:{kind}{name}",
        namespace.len(),
        kind.len()
    );
    key
}

impl Targets {
    pub(super) fn new() -> Self {
        Self {
            workloads: fast_map(1024),
            namespaces: fast_map(64),
            key: String::new(),
        }
    }

    /// The numbers of the pod's workload and namespace, numbering them if new.
    fn number(&mut self, pod: &Pod) -> (u32, u32) {
        let (kind, name) = workload_ref(
            pod.owner_kind.as_deref(),
            pod.owner_name.as_deref(),
            &pod.name,
        );
        let key = workload_id_key(&mut self.key, &pod.namespace, kind, name);
        let workload = match self.workloads.get(key) {
            Some(&number) => number,
            None => {
                let number = self.workloads.len() as u32;
                self.workloads.insert(Box::from(key), number);
                number
            }
        };
        let namespace = match self.namespaces.get(&*pod.namespace) {
            Some(&number) => number,
            None => {
                let number = self.namespaces.len() as u32;
                self.namespaces.insert(pod.namespace.clone(), number);
                number
            }
        };
        (workload, namespace)
    }

    /// What each of the changes acts on.
    pub(super) fn resolve(&self, changes: &[Change]) -> Vec<Resolved> {
        let mut key = String::new();
        changes
            .iter()
            .map(|change| match change.target() {
                Target::Workload(namespace, kind, name) => self
                    .workloads
                    .get(workload_id_key(&mut key, namespace, kind, name))
                    .map_or(Resolved::Absent, |&n| Resolved::Workload(n)),
                Target::Namespace(namespace) => self
                    .namespaces
                    .get(namespace)
                    .map_or(Resolved::Absent, |&n| Resolved::Namespace(n)),
                Target::Nodes => Resolved::Nodes,
            })
            .collect()
    }
}

/// Items grouped by number, each group in the order the items were listed.
struct Grouped {
    /// Where each group starts in `items` (one more entry than groups).
    starts: Vec<u32>,
    items: Vec<u32>,
}

impl Grouped {
    /// Items `0..group_of.len()` grouped by `group_of`, into `groups` groups.
    fn new(groups: usize, group_of: &[u32]) -> Self {
        let mut starts = vec![0u32; groups + 1];
        for &group in group_of {
            starts[group as usize + 1] += 1;
        }
        for group in 0..groups {
            starts[group + 1] += starts[group];
        }
        let mut next = starts.clone();
        let mut items = vec![0u32; group_of.len()];
        for (item, &group) in group_of.iter().enumerate() {
            items[next[group as usize] as usize] = item as u32;
            next[group as usize] += 1;
        }
        Self { starts, items }
    }

    /// The items of `group` (none for a group numbered after these were grouped).
    fn get(&self, group: u32) -> &[u32] {
        let group = group as usize;
        match (self.starts.get(group), self.starts.get(group + 1)) {
            (Some(&start), Some(&end)) => &self.items[start as usize..end as usize],
            _ => &[],
        }
    }
}

/// [`Index`]'s node position of a pod on no node of the window.
const NO_NODE: u32 = u32::MAX;

/// Indexes of one sampled window.
pub(super) struct Index {
    /// Position of each node in the window.
    node_position: FastMap<Arc<str>, u32>,
    /// Pods on each node (by node position), in window order.
    pods_of_node: Vec<Vec<u32>>,
    /// Node position of each pod ([`NO_NODE`]: on no node of the window).
    node_of_pod: Vec<u32>,
    /// Each pod's workload and namespace numbers ([`Targets`]).
    workload_of_pod: Vec<u32>,
    namespace_of_pod: Vec<u32>,
    /// Pods of each workload and of each namespace, in window order.
    workload_pods: Grouped,
    namespace_pods: Grouped,
    /// Cost entry of each pod (by pod position).
    cost_of_pod: Vec<Option<u32>>,
}

impl Index {
    /// Indexes `snapshot`, numbering its workloads and namespaces in `targets`.
    pub(super) fn new(snapshot: &Snapshot, targets: &mut Targets) -> Self {
        let mut node_position: FastMap<Arc<str>, u32> = fast_map(snapshot.nodes.len());
        for (position, node) in snapshot.nodes.iter().enumerate() {
            node_position.insert(node.name.clone(), position as u32);
        }
        let mut pods_of_node = vec![Vec::new(); snapshot.nodes.len()];
        let mut node_of_pod = vec![NO_NODE; snapshot.pods.len()];
        let mut workload_of_pod = Vec::with_capacity(snapshot.pods.len());
        let mut namespace_of_pod = Vec::with_capacity(snapshot.pods.len());
        let mut pod_position: FastMap<(&str, &str), u32> = fast_map(snapshot.pods.len());
        for (position, pod) in snapshot.pods.iter().enumerate() {
            let position = position as u32;
            if let Some(&node) = pod.node.as_ref().and_then(|n| node_position.get(n)) {
                pods_of_node[node as usize].push(position);
                node_of_pod[position as usize] = node;
            }
            let (workload, namespace) = targets.number(pod);
            workload_of_pod.push(workload);
            namespace_of_pod.push(namespace);
            pod_position.insert((&pod.namespace, &pod.name), position);
        }
        let mut cost_of_pod = vec![None; snapshot.pods.len()];
        for (position, entry) in snapshot.costs.iter().enumerate() {
            if let Some(&pod) = pod_position.get(&(&*entry.namespace, &*entry.pod)) {
                cost_of_pod[pod as usize] = Some(position as u32);
            }
        }
        Self {
            node_position,
            pods_of_node,
            node_of_pod,
            workload_pods: Grouped::new(targets.workloads.len(), &workload_of_pod),
            namespace_pods: Grouped::new(targets.namespaces.len(), &namespace_of_pod),
            workload_of_pod,
            namespace_of_pod,
            cost_of_pod,
        }
    }

    /// Position of the node named `name`.
    pub(super) fn node_position(&self, name: &str) -> Option<u32> {
        self.node_position.get(name).copied()
    }

    /// Positions of the pods on the node at `node`, in window order.
    pub(super) fn pods_of_node(&self, node: u32) -> &[u32] {
        &self.pods_of_node[node as usize]
    }

    /// The cost entry of the pod at `pod`.
    pub(super) fn cost_of_pod(&self, pod: u32) -> Option<u32> {
        self.cost_of_pod[pod as usize]
    }

    /// The pods a resolved workload or namespace target holds in this window.
    fn pods_of(&self, target: Resolved) -> &[u32] {
        match target {
            Resolved::Workload(workload) => self.workload_pods.get(workload),
            Resolved::Namespace(namespace) => self.namespace_pods.get(namespace),
            Resolved::Absent | Resolved::Nodes => &[],
        }
    }

    /// The window cut down to the given nodes (positions, in snapshot order) and their pods.
    /// With `lean`, the grid intensities and embodied figures are left out: the part is
    /// estimated with the whole window's ([`crate::engine::estimate_part`]).
    pub(super) fn restrict(
        &self,
        snapshot: &Snapshot,
        nodes: &BTreeSet<u32>,
        lean: bool,
    ) -> Snapshot {
        let count: usize = nodes
            .iter()
            .map(|&node| self.pods_of_node[node as usize].len())
            .sum();
        let mut pods = Vec::with_capacity(count);
        let mut costs = Vec::with_capacity(count);
        for &node in nodes {
            for &pod in &self.pods_of_node[node as usize] {
                if let Some(cost) = self.cost_of_pod[pod as usize] {
                    costs.push(snapshot.costs[cost as usize].clone());
                }
                pods.push(snapshot.pods[pod as usize].clone());
            }
        }
        Snapshot {
            schema: snapshot.schema.clone(),
            cluster: snapshot.cluster.clone(),
            window_start: snapshot.window_start,
            window_end: snapshot.window_end,
            nodes: nodes
                .iter()
                .map(|&n| snapshot.nodes[n as usize].clone())
                .collect(),
            pods,
            grid_intensity: if lean {
                std::collections::BTreeMap::new()
            } else {
                snapshot.grid_intensity.clone()
            },
            costs,
            embodied: if lean {
                Vec::new()
            } else {
                snapshot.embodied.clone()
            },
            degraded_sources: snapshot.degraded_sources.clone(),
            dropped_values: snapshot.dropped_values.clone(),
        }
    }

    /// Positions of the nodes `nodes` selects by `current` (instance type or region).
    fn selected_nodes<'a>(
        &'a self,
        snapshot: &'a Snapshot,
        nodes: &'a [String],
        from: Option<&'a str>,
        current: impl Fn(&Node) -> Option<&str> + 'a,
    ) -> impl Iterator<Item = u32> + 'a {
        snapshot
            .nodes
            .iter()
            .filter(move |n| node_selected(n, nodes, from, current(n)))
            .map(|n| self.node_position[&n.name])
    }

    /// The pods the workload and namespace changes (resolved as `targets`) touch, as (node
    /// position, pod position), sorted, each once, into `out` (cleared first); pods whose node
    /// is not in the window are left out (as from a window cut down to nodes).
    pub(super) fn touched_pods(&self, targets: &[Resolved], out: &mut Vec<(u32, u32)>) {
        out.clear();
        for &target in targets {
            out.extend(self.pods_of(target).iter().filter_map(|&pod| {
                let node = self.node_of_pod[pod as usize];
                (node != NO_NODE).then_some((node, pod))
            }));
        }
        out.sort_unstable();
        out.dedup();
    }

    /// Nodes hosting the pods the changes (resolved as `targets`) touch.
    pub(super) fn nodes_of(
        &self,
        snapshot: &Snapshot,
        changes: &[Change],
        targets: &[Resolved],
    ) -> BTreeSet<u32> {
        let mut out = BTreeSet::new();
        for (change, &target) in changes.iter().zip(targets) {
            match change {
                // Instance type and region changes touch only the selected nodes.
                Change::InstanceType {
                    nodes,
                    from_instance_type,
                    ..
                } => out.extend(self.selected_nodes(
                    snapshot,
                    nodes,
                    from_instance_type.as_deref(),
                    |n| n.instance_type.as_deref(),
                )),
                Change::Region {
                    nodes, from_region, ..
                } => out.extend(self.selected_nodes(
                    snapshot,
                    nodes,
                    from_region.as_deref(),
                    |n| n.region.as_deref(),
                )),
                // A drain moves pods to any other node.
                Change::Drain { .. } => return (0..snapshot.nodes.len() as u32).collect(),
                _ => {
                    for &pod in self.pods_of(target) {
                        if let Some(&node) = snapshot.pods[pod as usize]
                            .node
                            .as_ref()
                            .and_then(|n| self.node_position.get(n))
                        {
                            out.insert(node);
                        }
                    }
                }
            }
        }
        out
    }
}

/// The baseline of one sampled window, summed per workload and namespace, estimated once for
/// all candidates (each pod's figures depend only on its node, so they equal those of any
/// restricted window holding that node).
pub(super) struct Baseline {
    /// By workload and namespace number (those of this window; the others are not in it).
    workloads: Vec<Figures>,
    namespaces: Vec<Figures>,
    /// Whole-node figures (pods and overhead), with the cost of the node's pods.
    nodes: FastMap<Arc<str>, Figures>,
}

impl Baseline {
    /// The baseline of the window `index` indexes, from its footprint (whose pod rows are the
    /// window's pods, in order).
    pub(super) fn new(footprint: &crate::Footprint, index: &Index) -> Self {
        let zero = Figures::zero();
        let mut workloads = vec![zero; index.workload_pods.starts.len() - 1];
        let mut namespaces = vec![zero; index.namespace_pods.starts.len() - 1];
        for ((pod, &workload), &namespace) in footprint
            .pods
            .iter()
            .zip(&index.workload_of_pod)
            .zip(&index.namespace_of_pod)
        {
            workloads[workload as usize].add_pod(pod);
            namespaces[namespace as usize].add_pod(pod);
        }
        let mut nodes: FastMap<Arc<str>, Figures> = fast_map(footprint.nodes.len());
        for row in &footprint.nodes {
            if let Some(name) = &row.node.name {
                nodes.entry(name.clone()).or_insert(zero).add(&Figures {
                    energy_joules: row.energy_joules,
                    co2e_grams: row.co2e_grams,
                    embodied_co2e_grams: row.embodied_co2e_grams,
                    cost: Some(0.0),
                });
            }
        }
        for pod in &footprint.pods {
            if let (Some(name), Some(pod_cost)) = (&pod.node.name, pod.cost)
                && let Some(Some(cost)) = nodes.get_mut(name).map(|f| f.cost.as_mut())
            {
                *cost += pod_cost.0;
            }
        }
        Self {
            workloads,
            namespaces,
            nodes,
        }
    }

    /// The baseline of whole nodes.
    pub(super) fn of_nodes(&self, snapshot: &Snapshot) -> Figures {
        let mut out = Figures::zero();
        for figures in snapshot
            .nodes
            .iter()
            .filter_map(|n| self.nodes.get(&n.name))
        {
            out.add(figures);
        }
        out
    }

    /// The baseline of the workloads and namespaces the changes (resolved as `targets`) touch,
    /// those in this window (`index`).
    pub(super) fn of(&self, index: &Index, targets: &[Resolved]) -> Figures {
        let mut out = Figures::zero();
        for &target in targets {
            // Node changes are measured on whole nodes: see `of_nodes`.
            let figures = match target {
                Resolved::Workload(n) if !index.pods_of(target).is_empty() => {
                    &self.workloads[n as usize]
                }
                Resolved::Namespace(n) if !index.pods_of(target).is_empty() => {
                    &self.namespaces[n as usize]
                }
                _ => continue,
            };
            out.add(figures);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Grouping keeps each group's items in order; groups numbered later hold nothing.
    #[test]
    fn groups_keep_their_items_in_order() {
        let grouped = Grouped::new(4, &[2, 0, 2, 3, 0, 2]);
        assert_eq!(grouped.get(0), &[1, 4]);
        assert_eq!(grouped.get(1), &[] as &[u32]);
        assert_eq!(grouped.get(2), &[0, 2, 5]);
        assert_eq!(grouped.get(3), &[3]);
        assert_eq!(grouped.get(4), &[] as &[u32]);
    }

    /// Workload keys cannot run into each other, whatever the names hold.
    #[test]
    fn workload_keys_are_unambiguous() {
        let (mut a, mut b) = (String::new(), String::new());
        assert_ne!(
            workload_id_key(&mut a, "a1:b", "c", "d"),
            workload_id_key(&mut b, "a", "1:bc", "d")
        );
        assert_ne!(
            workload_id_key(&mut a, "ns", "Pod", "x"),
            workload_id_key(&mut b, "ns", "Po", "dx")
        );
    }
}
