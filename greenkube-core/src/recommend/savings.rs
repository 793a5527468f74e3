//! Pricing: each candidate's changes run through the what-if engine on the sampled windows.
//!
//! A workload or namespace change only affects the nodes its pods run on (the engine attributes
//! each node's energy among that node's pods), so each sampled window is cut down to those nodes
//! before it is re-estimated; node changes use the whole window. Savings are the difference
//! between the window as it was and with the change, scaled from the sample to the history and
//! then to a year.

use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;

use super::Recommendation;
use super::analysis::{Analysis, SampledWindow, TargetKey};
use super::rules::{Basis, Candidate};
use crate::aggregate::workload_key;
use crate::engine::estimate_with;
use crate::fastmap::{FastMap, fast_map};
use crate::reference::ReferenceData;
use crate::snapshot::Snapshot;
use crate::whatif::{
    Change, Figures, SECONDS_PER_YEAR, ShiftPlan, Target, apply, difference, node_selected,
    time_shift_plan, touches_pod,
};

/// Indexes of one sampled window.
struct Index {
    /// Position of each node in the window.
    node_pos: FastMap<Arc<str>, u32>,
    /// Pods on each node (by node position).
    pods_of_node: Vec<Vec<u32>>,
    targets: FastMap<TargetKey, Vec<u32>>,
    namespaces: FastMap<Arc<str>, Vec<u32>>,
    /// Cost entry of each pod (by pod position).
    cost_of_pod: Vec<Option<u32>>,
}

impl Index {
    fn new(snap: &Snapshot) -> Self {
        let mut index = Self {
            node_pos: fast_map(snap.nodes.len()),
            pods_of_node: vec![Vec::new(); snap.nodes.len()],
            targets: fast_map(snap.pods.len() / 2),
            namespaces: fast_map(64),
            cost_of_pod: vec![None; snap.pods.len()],
        };
        for (i, n) in snap.nodes.iter().enumerate() {
            index.node_pos.insert(n.name.clone(), i as u32);
        }
        let mut pod_pos: FastMap<(Arc<str>, Arc<str>), u32> = fast_map(snap.pods.len());
        for (i, p) in snap.pods.iter().enumerate() {
            let i = i as u32;
            if let Some(&n) = p.node.as_ref().and_then(|n| index.node_pos.get(n)) {
                index.pods_of_node[n as usize].push(i);
            }
            let (kind, name) =
                workload_key(p.owner_kind.as_deref(), p.owner_name.as_deref(), &p.name);
            index
                .targets
                .entry((p.namespace.clone(), kind, name))
                .or_default()
                .push(i);
            index
                .namespaces
                .entry(p.namespace.clone())
                .or_default()
                .push(i);
            pod_pos.insert((p.namespace.clone(), p.name.clone()), i);
        }
        for (i, c) in snap.costs.iter().enumerate() {
            if let Some(&p) = pod_pos.get(&(c.namespace.clone(), c.pod.clone())) {
                index.cost_of_pod[p as usize] = Some(i as u32);
            }
        }
        index
    }

    /// The window cut down to the given nodes (positions, in snapshot order) and their pods.
    fn restrict(&self, snap: &Snapshot, nodes: &BTreeSet<u32>) -> Snapshot {
        let mut pods = Vec::new();
        let mut costs = Vec::new();
        for &n in nodes {
            for &i in &self.pods_of_node[n as usize] {
                if let Some(c) = self.cost_of_pod[i as usize] {
                    costs.push(snap.costs[c as usize].clone());
                }
                pods.push(snap.pods[i as usize].clone());
            }
        }
        Snapshot {
            schema: snap.schema.clone(),
            cluster: snap.cluster.clone(),
            window_start: snap.window_start,
            window_end: snap.window_end,
            nodes: nodes
                .iter()
                .map(|&n| snap.nodes[n as usize].clone())
                .collect(),
            pods,
            grid_intensity: snap.grid_intensity.clone(),
            costs,
            embodied: snap.embodied.clone(),
            degraded_sources: snap.degraded_sources.clone(),
        }
    }

    /// Nodes hosting the pods a workload change touches.
    fn nodes_of(&self, snap: &Snapshot, changes: &[Change]) -> BTreeSet<u32> {
        let mut out = BTreeSet::new();
        for c in changes {
            let pods: &[u32] = match (c, c.target()) {
                (_, Target::Workload(ns, kind, name)) => self
                    .targets
                    .get(&(Arc::from(ns), Arc::from(kind), Arc::from(name)))
                    .map_or(&[], Vec::as_slice),
                (_, Target::Namespace(ns)) => self.namespaces.get(ns).map_or(&[], Vec::as_slice),
                // Instance type and region changes touch only the selected nodes.
                (
                    Change::InstanceType {
                        nodes,
                        from_instance_type,
                        ..
                    },
                    _,
                ) => {
                    out.extend(
                        snap.nodes
                            .iter()
                            .filter(|n| {
                                node_selected(
                                    n,
                                    nodes,
                                    from_instance_type.as_deref(),
                                    n.instance_type.as_deref(),
                                )
                            })
                            .map(|n| self.node_pos[&n.name]),
                    );
                    &[]
                }
                (
                    Change::Region {
                        nodes, from_region, ..
                    },
                    _,
                ) => {
                    out.extend(
                        snap.nodes
                            .iter()
                            .filter(|n| {
                                node_selected(n, nodes, from_region.as_deref(), n.region.as_deref())
                            })
                            .map(|n| self.node_pos[&n.name]),
                    );
                    &[]
                }
                // A drain moves pods to any other node.
                (_, Target::Nodes) => {
                    return (0..snap.nodes.len() as u32).collect();
                }
            };
            for &i in pods {
                if let Some(&n) = snap.pods[i as usize]
                    .node
                    .as_ref()
                    .and_then(|n| self.node_pos.get(n))
                {
                    out.insert(n);
                }
            }
        }
        out
    }
}

/// The baseline of one sampled window, summed per workload and namespace, estimated once for
/// all candidates (each pod's figures depend only on its node, so they equal those of any
/// restricted window holding that node).
struct Baseline {
    targets: FastMap<TargetKey, Figures>,
    namespaces: FastMap<Arc<str>, Figures>,
    /// Whole-node figures (pods and overhead), with the cost of the node's pods.
    nodes: FastMap<Arc<str>, Figures>,
}

impl Baseline {
    fn new(fp: &crate::Footprint) -> Self {
        let zero = Figures::zero();
        let mut targets: FastMap<TargetKey, Figures> = fast_map(fp.pods.len() / 2);
        let mut namespaces: FastMap<Arc<str>, Figures> = fast_map(64);
        for pod in &fp.pods {
            let (kind, name) = workload_key(
                pod.owner_kind.as_deref(),
                pod.owner_name.as_deref(),
                &pod.pod,
            );
            targets
                .entry((pod.namespace.clone(), kind, name))
                .or_insert(zero)
                .add_pod(pod);
            namespaces
                .entry(pod.namespace.clone())
                .or_insert(zero)
                .add_pod(pod);
        }
        let mut nodes: FastMap<Arc<str>, Figures> = fast_map(fp.nodes.len());
        for n in &fp.nodes {
            if let Some(name) = &n.node.name {
                let f = nodes.entry(name.clone()).or_insert(zero);
                f.energy_joules += n.energy_joules;
                f.co2e_grams += n.co2e_grams;
                f.embodied_co2e_grams += n.embodied_co2e_grams;
            }
        }
        for pod in &fp.pods {
            if let (Some(name), Some(c)) = (&pod.node.name, pod.cost)
                && let Some(Some(cost)) = nodes.get_mut(name).map(|f| f.cost.as_mut())
            {
                *cost += c.0;
            }
        }
        Self {
            targets,
            namespaces,
            nodes,
        }
    }

    /// The baseline of whole nodes.
    fn of_nodes(&self, snap: &Snapshot) -> Figures {
        let mut out = Figures::zero();
        for n in &snap.nodes {
            if let Some(f) = self.nodes.get(&n.name) {
                out.add(f);
            }
        }
        out
    }

    /// The baseline of the workloads and namespaces the changes touch.
    fn of(&self, changes: &[Change]) -> Figures {
        let mut out = Figures::zero();
        let mut add = |f: Option<&Figures>| {
            if let Some(f) = f {
                out.add(f);
            }
        };
        for c in changes {
            match c.target() {
                Target::Workload(ns, kind, name) => {
                    add(self
                        .targets
                        .get(&(Arc::from(ns), Arc::from(kind), Arc::from(name))));
                }
                Target::Namespace(ns) => add(self.namespaces.get(ns)),
                // Node changes are measured on whole nodes: see `of_nodes`.
                Target::Nodes => {}
            }
        }
        out
    }
}

fn projected(
    sample: &SampledWindow,
    mut sub: Snapshot,
    changes: &[Change],
    shifts: &ShiftPlan,
    reference: &ReferenceData,
) -> Option<crate::Footprint> {
    apply(&mut sub, changes, sample.index, shifts, reference);
    estimate_with(&sub, &sample.options, reference).ok()
}

fn price_one(
    c: &Candidate,
    analysis: &Analysis,
    indexes: &[Index],
    baselines: &[Option<Baseline>],
    annualise: f64,
    reference: &ReferenceData,
) -> Recommendation {
    let changes = &c.rec.changes;
    let mut rec = c.rec.clone();
    if changes.is_empty()
        || changes
            .iter()
            .enumerate()
            .any(|(i, ch)| ch.validate(i).is_err())
    {
        return rec;
    }
    // Time shifting moves load between windows: use the nodes the workload ran on in any sample.
    let shifting = changes
        .iter()
        .any(|ch| matches!(ch, Change::TimeShift { .. }));
    let union: HashSet<Arc<str>> = if shifting {
        analysis
            .samples
            .iter()
            .zip(indexes)
            .flat_map(|(s, idx)| {
                idx.nodes_of(&s.snapshot, changes)
                    .into_iter()
                    .map(|n| s.snapshot.nodes[n as usize].name.clone())
                    .collect::<Vec<_>>()
            })
            .collect()
    } else {
        HashSet::new()
    };
    let subs: Vec<Snapshot> = analysis
        .samples
        .iter()
        .zip(indexes)
        .map(|(s, idx)| match c.basis {
            Basis::Attributed if shifting => {
                let positions: BTreeSet<u32> = union
                    .iter()
                    .filter_map(|n| idx.node_pos.get(n).copied())
                    .collect();
                idx.restrict(&s.snapshot, &positions)
            }
            Basis::Attributed => idx.restrict(&s.snapshot, &idx.nodes_of(&s.snapshot, changes)),
            Basis::Cluster => idx.restrict(&s.snapshot, &idx.nodes_of(&s.snapshot, changes)),
        })
        .collect();
    let shifts = if shifting {
        let baselines: Vec<(usize, crate::Footprint)> = analysis
            .samples
            .iter()
            .zip(&subs)
            .filter_map(|(s, sub)| Some((s.index, estimate_with(sub, &s.options, reference).ok()?)))
            .collect();
        let footprints: Vec<(usize, &crate::Footprint)> =
            baselines.iter().map(|(i, fp)| (*i, fp)).collect();
        time_shift_plan(&footprints, changes)
    } else {
        ShiftPlan::new()
    };
    let (mut base, mut proj) = (Figures::zero(), Figures::zero());
    for ((s, sub), b) in analysis.samples.iter().zip(subs).zip(baselines) {
        let Some(b) = b else { continue };
        let b = match c.basis {
            Basis::Cluster => b.of_nodes(&sub),
            Basis::Attributed => b.of(changes),
        };
        let Some(p) = projected(s, sub, changes, &shifts, reference) else {
            continue;
        };
        base.add(&b);
        match c.basis {
            Basis::Cluster => proj.add_footprint(&p),
            Basis::Attributed => {
                for pod in p.pods.iter().filter(|p| touches_pod(changes, p)) {
                    proj.add_pod(pod);
                }
            }
        }
    }
    if changes.iter().any(Change::changes_node_cost) {
        proj.cost = None;
    }
    let per_year = base.minus(&proj).scale(annualise);
    let total = difference(
        base.total_co2e_grams().scale(annualise),
        proj.total_co2e_grams().scale(annualise),
    );
    // A recommendation never claims negative savings: a change that adds emissions is priced at 0.
    let clamp = |x: f64| x.max(0.0);
    rec.savings_co2e_grams_per_year = clamp(total.point);
    rec.savings_co2e_grams_per_year_interval = [clamp(total.low), clamp(total.high)];
    rec.savings_cost_per_year = per_year.cost.map(clamp);
    rec
}

/// Prices every candidate with this reference data; drops those the what-if engine says save
/// nothing.
pub(super) fn price(
    candidates: &[Candidate],
    analysis: &Analysis,
    reference: &ReferenceData,
) -> Vec<Recommendation> {
    let indexes: Vec<Index> = analysis
        .samples
        .iter()
        .map(|s| Index::new(&s.snapshot))
        .collect();
    let baselines: Vec<Option<Baseline>> = analysis
        .samples
        .iter()
        .map(|s| {
            estimate_with(&s.snapshot, &s.options, reference)
                .ok()
                .map(|fp| Baseline::new(&fp))
        })
        .collect();
    let sampled: f64 = analysis.samples.iter().map(|s| s.seconds).sum();
    let annualise = if sampled > 0.0 && analysis.covered_seconds > 0.0 {
        analysis.sample_scale() * SECONDS_PER_YEAR / analysis.covered_seconds
    } else {
        0.0
    };
    candidates
        .iter()
        .map(|c| price_one(c, analysis, &indexes, &baselines, annualise, reference))
        .filter(|r| {
            r.savings_co2e_grams_per_year > 0.0 || r.savings_cost_per_year.is_some_and(|c| c > 0.0)
        })
        .collect()
}
