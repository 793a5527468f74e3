//! Pricing: each candidate's changes run through the what-if engine on the sampled windows.
//!
//! A workload or namespace change only affects the nodes its pods run on (the engine attributes
//! each node's energy among that node's pods), so each sampled window is cut down to those nodes
//! before it is re-estimated; node changes use the whole window. Savings are the difference
//! between the window as it was and with the change, scaled from the sample to the history and
//! then to a year.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use super::Recommendation;
use super::analysis::{Analysis, SampledWindow, TargetKey};
use super::rules::{Basis, Candidate};
use crate::aggregate::workload_key;
use crate::snapshot::Snapshot;
use crate::whatif::{
    Change, Figures, SECONDS_PER_YEAR, apply, difference, shift_plan, shift_window,
};

/// Indexes of one sampled window.
struct Index {
    by_node: HashMap<Arc<str>, Vec<u32>>,
    by_target: HashMap<TargetKey, Vec<u32>>,
    by_namespace: HashMap<Arc<str>, Vec<u32>>,
    cost_of: HashMap<(Arc<str>, Arc<str>), u32>,
}

impl Index {
    fn new(snap: &Snapshot) -> Self {
        let mut index = Self {
            by_node: HashMap::new(),
            by_target: HashMap::new(),
            by_namespace: HashMap::new(),
            cost_of: HashMap::new(),
        };
        for (i, p) in snap.pods.iter().enumerate() {
            let i = i as u32;
            if let Some(n) = &p.node {
                index.by_node.entry(n.clone()).or_default().push(i);
            }
            let (kind, name) =
                workload_key(p.owner_kind.as_deref(), p.owner_name.as_deref(), &p.name);
            index
                .by_target
                .entry((p.namespace.clone(), kind, name))
                .or_default()
                .push(i);
            index
                .by_namespace
                .entry(p.namespace.clone())
                .or_default()
                .push(i);
        }
        for (i, c) in snap.costs.iter().enumerate() {
            index
                .cost_of
                .insert((c.namespace.clone(), c.pod.clone()), i as u32);
        }
        index
    }

    /// The window cut down to the given nodes and their pods.
    fn restrict(&self, snap: &Snapshot, nodes: &HashSet<Arc<str>>) -> Snapshot {
        let mut pods = Vec::new();
        let mut costs = Vec::new();
        // In snapshot order, so sums are the same on every run.
        for n in snap
            .nodes
            .iter()
            .map(|n| &n.name)
            .filter(|n| nodes.contains(*n))
        {
            for &i in self.by_node.get(n).map_or(&[][..], Vec::as_slice) {
                let p = &snap.pods[i as usize];
                if let Some(&c) = self.cost_of.get(&(p.namespace.clone(), p.name.clone())) {
                    costs.push(snap.costs[c as usize].clone());
                }
                pods.push(p.clone());
            }
        }
        Snapshot {
            schema: snap.schema.clone(),
            cluster: snap.cluster.clone(),
            window_start: snap.window_start,
            window_end: snap.window_end,
            nodes: snap
                .nodes
                .iter()
                .filter(|n| nodes.contains(&n.name))
                .cloned()
                .collect(),
            pods,
            grid_intensity: snap.grid_intensity.clone(),
            costs,
            embodied: snap.embodied.clone(),
        }
    }

    /// Nodes hosting the pods a workload change touches.
    fn nodes_of(&self, snap: &Snapshot, changes: &[Change]) -> HashSet<Arc<str>> {
        let mut out = HashSet::new();
        for c in changes {
            let pods: &[u32] = match c {
                Change::Requests {
                    namespace,
                    kind,
                    name,
                    ..
                }
                | Change::Replicas {
                    namespace,
                    kind,
                    name,
                    ..
                }
                | Change::Autoscale {
                    namespace,
                    kind,
                    name,
                    ..
                }
                | Change::Schedule {
                    namespace,
                    kind,
                    name,
                    ..
                }
                | Change::TimeShift {
                    namespace,
                    kind,
                    name,
                }
                | Change::Remove {
                    namespace,
                    kind: Some(kind),
                    name: Some(name),
                } => self
                    .by_target
                    .get(&(
                        Arc::from(namespace.as_str()),
                        Arc::from(kind.as_str()),
                        Arc::from(name.as_str()),
                    ))
                    .map_or(&[], Vec::as_slice),
                Change::Remove { namespace, .. } => self
                    .by_namespace
                    .get(namespace.as_str())
                    .map_or(&[], Vec::as_slice),
                Change::InstanceType { .. } | Change::Region { .. } | Change::Drain { .. } => {
                    return snap.nodes.iter().map(|n| n.name.clone()).collect();
                }
            };
            for &i in pods {
                if let Some(n) = &snap.pods[i as usize].node {
                    out.insert(n.clone());
                }
            }
        }
        out
    }
}

fn estimate_pair(
    sample: &SampledWindow,
    sub: &Snapshot,
    changes: &[Change],
    shifts: &HashMap<(usize, usize), (f64, Option<crate::Pod>)>,
) -> Option<(crate::Footprint, crate::Footprint)> {
    let base = crate::estimate(sub, &sample.options).ok()?;
    let mut changed = sub.clone();
    apply(&mut changed, changes, sample.index, shifts);
    let proj = crate::estimate(&changed, &sample.options).ok()?;
    Some((base, proj))
}

fn price_one(
    c: &Candidate,
    analysis: &Analysis,
    indexes: &[Index],
    annualise: f64,
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
            .flat_map(|(s, idx)| idx.nodes_of(&s.snapshot, changes))
            .collect()
    } else {
        HashSet::new()
    };
    let subs: Vec<Snapshot> = analysis
        .samples
        .iter()
        .zip(indexes)
        .map(|(s, idx)| match c.basis {
            Basis::Attributed if shifting => idx.restrict(&s.snapshot, &union),
            Basis::Attributed => idx.restrict(&s.snapshot, &idx.nodes_of(&s.snapshot, changes)),
            Basis::Cluster => s.snapshot.clone(),
        })
        .collect();
    let mut shifts: HashMap<(usize, usize), (f64, Option<crate::Pod>)> = HashMap::new();
    for (ci, change) in changes.iter().enumerate() {
        if let Change::TimeShift {
            namespace,
            kind,
            name,
        } = change
        {
            let baselines: Vec<(usize, crate::Footprint)> = analysis
                .samples
                .iter()
                .zip(&subs)
                .filter_map(|(s, sub)| Some((s.index, crate::estimate(sub, &s.options).ok()?)))
                .collect();
            let usual = baselines.iter().find_map(|(i, fp)| {
                shift_window(*i, fp, namespace, kind, name, None)
                    .template
                    .and_then(|t| t.node)
            });
            let windows: Vec<_> = baselines
                .iter()
                .map(|(i, fp)| shift_window(*i, fp, namespace, kind, name, usual.as_deref()))
                .collect();
            for (wi, plan) in shift_plan(&windows) {
                shifts.insert((wi, ci), plan);
            }
        }
    }
    let zero = Figures {
        cost: Some(0.0),
        ..Figures::default()
    };
    let (mut base, mut proj) = (zero, zero);
    for (s, sub) in analysis.samples.iter().zip(&subs) {
        let Some((b, p)) = estimate_pair(s, sub, changes, &shifts) else {
            continue;
        };
        match c.basis {
            Basis::Cluster => {
                base.add_footprint(&b);
                proj.add_footprint(&p);
            }
            Basis::Attributed => {
                let touched = |pod: &crate::PodFootprint| {
                    let (k, n) = workload_key(
                        pod.owner_kind.as_deref(),
                        pod.owner_name.as_deref(),
                        &pod.pod,
                    );
                    changes.iter().any(|ch| ch.touches(&pod.namespace, &k, &n))
                };
                for pod in b.pods.iter().filter(|p| touched(p)) {
                    base.add_pod(pod);
                }
                for pod in p.pods.iter().filter(|p| touched(p)) {
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

/// Prices every candidate; drops those the what-if engine says save nothing.
pub(super) fn price(candidates: &[Candidate], analysis: &Analysis) -> Vec<Recommendation> {
    let indexes: Vec<Index> = analysis
        .samples
        .iter()
        .map(|s| Index::new(&s.snapshot))
        .collect();
    let sampled: f64 = analysis.samples.iter().map(|s| s.seconds).sum();
    let annualise = if sampled > 0.0 && analysis.covered_seconds > 0.0 {
        analysis.sample_scale() * SECONDS_PER_YEAR / analysis.covered_seconds
    } else {
        0.0
    };
    candidates
        .iter()
        .map(|c| price_one(c, analysis, &indexes, annualise))
        .filter(|r| {
            r.savings_co2e_grams_per_year > 0.0 || r.savings_cost_per_year.is_some_and(|c| c > 0.0)
        })
        .collect()
}
