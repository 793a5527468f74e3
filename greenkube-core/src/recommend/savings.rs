//! Pricing: each candidate's changes run through the what-if engine on the sampled windows.
//!
//! A workload or namespace change only affects the nodes its pods run on (the engine attributes
//! each node's energy among that node's pods), so each sampled window is cut down to those nodes
//! before it is re-estimated; node changes use the whole window. Savings are the difference
//! between the window as it was and with the change, scaled from the sample to the history and
//! then to a year.

use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;

use rayon::prelude::*;

use super::Recommendation;
use super::analysis::{Analysis, SampledWindow, TargetKey};
use super::rules::{Basis, Candidate};
use crate::aggregate::workload_key;
use crate::engine::{WindowShared, estimate_part, estimate_with};
use crate::fastmap::{FastMap, fast_map};
use crate::reference::ReferenceData;
use crate::snapshot::{Pod, Snapshot};
use crate::whatif::{
    Change, Figures, SECONDS_PER_YEAR, ShiftPlan, Target, apply, difference, node_selected,
    time_shift_plan, touches_pod, touches_snapshot_pod,
};

/// Indexes of one sampled window.
struct Index {
    /// Position of each node in the window.
    node_position: FastMap<Arc<str>, u32>,
    /// Pods on each node (by node position).
    pods_of_node: Vec<Vec<u32>>,
    targets: FastMap<TargetKey, Vec<u32>>,
    namespaces: FastMap<Arc<str>, Vec<u32>>,
    /// Cost entry of each pod (by pod position).
    cost_of_pod: Vec<Option<u32>>,
}

impl Index {
    fn new(snapshot: &Snapshot) -> Self {
        let mut index = Self {
            node_position: fast_map(snapshot.nodes.len()),
            pods_of_node: vec![Vec::new(); snapshot.nodes.len()],
            targets: fast_map(snapshot.pods.len() / 2),
            namespaces: fast_map(64),
            cost_of_pod: vec![None; snapshot.pods.len()],
        };
        for (position, node) in snapshot.nodes.iter().enumerate() {
            index
                .node_position
                .insert(node.name.clone(), position as u32);
        }
        let mut pod_position: FastMap<(Arc<str>, Arc<str>), u32> = fast_map(snapshot.pods.len());
        for (position, pod) in snapshot.pods.iter().enumerate() {
            let position = position as u32;
            if let Some(&node) = pod.node.as_ref().and_then(|n| index.node_position.get(n)) {
                index.pods_of_node[node as usize].push(position);
            }
            let (kind, name) = workload_key(
                pod.owner_kind.as_deref(),
                pod.owner_name.as_deref(),
                &pod.name,
            );
            index
                .targets
                .entry((pod.namespace.clone(), kind, name))
                .or_default()
                .push(position);
            index
                .namespaces
                .entry(pod.namespace.clone())
                .or_default()
                .push(position);
            pod_position.insert((pod.namespace.clone(), pod.name.clone()), position);
        }
        for (position, entry) in snapshot.costs.iter().enumerate() {
            if let Some(&pod) = pod_position.get(&(entry.namespace.clone(), entry.pod.clone())) {
                index.cost_of_pod[pod as usize] = Some(position as u32);
            }
        }
        index
    }

    /// The window cut down to the given nodes (positions, in snapshot order) and their pods.
    /// With `lean`, the grid intensities and embodied figures are left out: the part is
    /// estimated with the whole window's ([`estimate_part`]).
    fn restrict(&self, snapshot: &Snapshot, nodes: &BTreeSet<u32>, lean: bool) -> Snapshot {
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
        current: impl Fn(&crate::snapshot::Node) -> Option<&str> + 'a,
    ) -> impl Iterator<Item = u32> + 'a {
        snapshot
            .nodes
            .iter()
            .filter(move |n| node_selected(n, nodes, from, current(n)))
            .map(|n| self.node_position[&n.name])
    }

    /// Nodes hosting the pods a workload change touches.
    fn nodes_of(&self, snapshot: &Snapshot, changes: &[Change]) -> BTreeSet<u32> {
        let mut out = BTreeSet::new();
        for change in changes {
            let pods: &[u32] = match (change, change.target()) {
                (_, Target::Workload(namespace, kind, name)) => self
                    .targets
                    .get(&(Arc::from(namespace), Arc::from(kind), Arc::from(name)))
                    .map_or(&[], Vec::as_slice),
                (_, Target::Namespace(namespace)) => {
                    self.namespaces.get(namespace).map_or(&[], Vec::as_slice)
                }
                // Instance type and region changes touch only the selected nodes.
                (
                    Change::InstanceType {
                        nodes,
                        from_instance_type,
                        ..
                    },
                    _,
                ) => {
                    out.extend(self.selected_nodes(
                        snapshot,
                        nodes,
                        from_instance_type.as_deref(),
                        |n| n.instance_type.as_deref(),
                    ));
                    &[]
                }
                (
                    Change::Region {
                        nodes, from_region, ..
                    },
                    _,
                ) => {
                    out.extend(
                        self.selected_nodes(snapshot, nodes, from_region.as_deref(), |n| {
                            n.region.as_deref()
                        }),
                    );
                    &[]
                }
                // A drain moves pods to any other node.
                (_, Target::Nodes) => {
                    return (0..snapshot.nodes.len() as u32).collect();
                }
            };
            for &pod in pods {
                if let Some(&node) = snapshot.pods[pod as usize]
                    .node
                    .as_ref()
                    .and_then(|n| self.node_position.get(n))
                {
                    out.insert(node);
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
    fn new(footprint: &crate::Footprint) -> Self {
        let zero = Figures::zero();
        let mut targets: FastMap<TargetKey, Figures> = fast_map(footprint.pods.len() / 2);
        let mut namespaces: FastMap<Arc<str>, Figures> = fast_map(64);
        for pod in &footprint.pods {
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
            targets,
            namespaces,
            nodes,
        }
    }

    /// The baseline of whole nodes.
    fn of_nodes(&self, snapshot: &Snapshot) -> Figures {
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

    /// The baseline of the workloads and namespaces the changes touch.
    fn of(&self, changes: &[Change]) -> Figures {
        let mut out = Figures::zero();
        for change in changes {
            let figures = match change.target() {
                Target::Workload(namespace, kind, name) => {
                    self.targets
                        .get(&(Arc::from(namespace), Arc::from(kind), Arc::from(name)))
                }
                Target::Namespace(namespace) => self.namespaces.get(namespace),
                // Node changes are measured on whole nodes: see `of_nodes`.
                Target::Nodes => None,
            };
            if let Some(figures) = figures {
                out.add(figures);
            }
        }
        out
    }
}

/// Estimates a (restricted) window: with the whole window's shared inputs when it has them
/// (the window was cut down `lean`), else on its own. With `touched` (the changes of a
/// candidate priced on the pods it touches), only those pods' rows are made (see
/// [`estimate_part`]); the rows of a window estimated on its own are all made.
fn estimate_window(
    window: &Snapshot,
    sample: &SampledWindow,
    shared: Option<&WindowShared<'_>>,
    reference: &ReferenceData,
    touched: Option<&[Change]>,
) -> Option<crate::Footprint> {
    match shared {
        Some(shared) => {
            let keep = touched.map(|changes| move |pod: &Pod| touches_snapshot_pod(changes, pod));
            let keep = keep.as_ref().map(|k| k as &(dyn Fn(&Pod) -> bool + Sync));
            estimate_part(window, shared, &sample.options, reference, keep).ok()
        }
        None => estimate_with(window, &sample.options, reference).ok(),
    }
}

/// The sampled window with the changes applied, estimated (only the touched pods' rows with
/// `touched_only`).
fn projected(
    sample: &SampledWindow,
    shared: Option<&WindowShared<'_>>,
    mut window: Snapshot,
    changes: &[Change],
    shifts: &ShiftPlan,
    reference: &ReferenceData,
    touched_only: bool,
) -> Option<crate::Footprint> {
    apply(&mut window, changes, sample.index, shifts, reference);
    let touched = touched_only.then_some(changes);
    estimate_window(&window, sample, shared, reference, touched)
}

/// True when the candidate's changes can be priced (some, each valid).
fn priceable(changes: &[Change]) -> bool {
    !changes.is_empty()
        && changes
            .iter()
            .enumerate()
            .all(|(i, change)| change.validate(i).is_ok())
}

/// True when a change moves load between windows (time shifting), so the windows of a
/// candidate cannot be priced one at a time.
fn shifts_time(changes: &[Change]) -> bool {
    changes
        .iter()
        .any(|change| matches!(change, Change::TimeShift { .. }))
}

/// What the candidate's changes save per year, on the sampled windows, all its windows at once
/// (time shifting needs every window's footprint before any is changed).
fn price_one(
    candidate: &Candidate,
    analysis: &Analysis,
    indexes: &[Index],
    baselines: &[Option<Baseline>],
    shared: &[Option<WindowShared<'_>>],
    annualise: f64,
    reference: &ReferenceData,
) -> Recommendation {
    let changes = &candidate.rec.changes;
    if !priceable(changes) {
        return candidate.rec.clone();
    }
    // Time shifting moves load between windows: use the nodes the workload ran on in any sample.
    let shifting = changes
        .iter()
        .any(|change| matches!(change, Change::TimeShift { .. }));
    let union: HashSet<Arc<str>> = if shifting {
        analysis
            .samples
            .iter()
            .zip(indexes)
            .flat_map(|(sample, index)| {
                index
                    .nodes_of(&sample.snapshot, changes)
                    .into_iter()
                    .map(|n| sample.snapshot.nodes[n as usize].name.clone())
                    .collect::<Vec<_>>()
            })
            .collect()
    } else {
        HashSet::new()
    };
    let windows: Vec<Snapshot> = analysis
        .samples
        .iter()
        .zip(indexes)
        .enumerate()
        .map(|(position, (sample, index))| {
            let nodes: BTreeSet<u32> = if shifting && candidate.basis == Basis::Attributed {
                union
                    .iter()
                    .filter_map(|n| index.node_position.get(n).copied())
                    .collect()
            } else {
                index.nodes_of(&sample.snapshot, changes)
            };
            index.restrict(&sample.snapshot, &nodes, shared[position].is_some())
        })
        .collect();
    let shifts = if shifting {
        let estimated: Vec<(usize, crate::Footprint)> = analysis
            .samples
            .iter()
            .zip(&windows)
            .zip(shared)
            .filter_map(|((sample, window), shared)| {
                Some((
                    sample.index,
                    estimate_window(window, sample, shared.as_ref(), reference, None)?,
                ))
            })
            .collect();
        let footprints: Vec<(usize, &crate::Footprint)> = estimated
            .iter()
            .map(|(index, footprint)| (*index, footprint))
            .collect();
        time_shift_plan(&footprints, changes)
    } else {
        ShiftPlan::new()
    };
    let mut sums = Sums::new();
    for (((sample, window), baseline), shared) in analysis
        .samples
        .iter()
        .zip(windows)
        .zip(baselines)
        .zip(shared)
    {
        let Some(baseline) = baseline else { continue };
        sums.add_window(
            candidate,
            sample,
            window,
            baseline,
            shared.as_ref(),
            &shifts,
            reference,
        );
    }
    sums.priced(candidate, annualise)
}

/// A candidate's baseline and projection, summed window by window in window order.
struct Sums {
    before: Figures,
    after: Figures,
}

impl Sums {
    fn new() -> Self {
        Self {
            before: Figures::zero(),
            after: Figures::zero(),
        }
    }

    /// Adds one sampled window: `window` is the sample cut down to the nodes the candidate
    /// touches, `baseline` the sample's baseline.
    #[allow(clippy::too_many_arguments)] // The pricing context of one window.
    fn add_window(
        &mut self,
        candidate: &Candidate,
        sample: &SampledWindow,
        window: Snapshot,
        baseline: &Baseline,
        shared: Option<&WindowShared<'_>>,
        shifts: &ShiftPlan,
        reference: &ReferenceData,
    ) {
        let changes = &candidate.rec.changes;
        let baseline = match candidate.basis {
            Basis::Cluster => baseline.of_nodes(&window),
            Basis::Attributed => baseline.of(changes),
        };
        // Priced on the pods it touches: only their rows are needed.
        let touched_only = candidate.basis == Basis::Attributed;
        let Some(projection) = projected(
            sample,
            shared,
            window,
            changes,
            shifts,
            reference,
            touched_only,
        ) else {
            return;
        };
        self.before.add(&baseline);
        match candidate.basis {
            Basis::Cluster => self.after.add_footprint(&projection),
            Basis::Attributed => {
                for pod in projection.pods.iter().filter(|p| touches_pod(changes, p)) {
                    self.after.add_pod(pod);
                }
            }
        }
    }

    /// The candidate's recommendation with these sums as its savings per year.
    fn priced(self, candidate: &Candidate, annualise: f64) -> Recommendation {
        let Self { before, mut after } = self;
        let changes = &candidate.rec.changes;
        let mut rec = candidate.rec.clone();
        if changes.iter().any(Change::changes_node_cost) {
            after.cost = None;
        }
        let per_year = before.minus(&after).scale(annualise);
        let total = difference(
            before.total_co2e_grams().scale(annualise),
            after.total_co2e_grams().scale(annualise),
        );
        // A recommendation never claims negative savings: a change that adds emissions is priced at 0.
        let clamp = |x: f64| x.max(0.0);
        rec.savings_co2e_grams_per_year = clamp(total.point);
        rec.savings_co2e_grams_per_year_interval = [clamp(total.low), clamp(total.high)];
        rec.savings_cost_per_year = per_year.cost.map(clamp);
        rec
    }
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
        .map(|sample| Index::new(&sample.snapshot))
        .collect();
    let baselines: Vec<Option<Baseline>> = analysis
        .samples
        .iter()
        .map(|sample| {
            estimate_with(&sample.snapshot, &sample.options, reference)
                .ok()
                .map(|footprint| Baseline::new(&footprint))
        })
        .collect();
    // A window whose whole estimate succeeded has valid intensities and embodied figures, so
    // its parts are estimated with them, prepared once.
    let shared: Vec<Option<WindowShared<'_>>> = analysis
        .samples
        .iter()
        .zip(&baselines)
        .map(|(sample, baseline)| {
            baseline
                .as_ref()
                .map(|_| WindowShared::new(&sample.snapshot))
        })
        .collect();
    let sampled: f64 = analysis.samples.iter().map(|sample| sample.seconds).sum();
    let annualise = if sampled > 0.0 && analysis.covered_seconds > 0.0 {
        analysis.sample_scale() * SECONDS_PER_YEAR / analysis.covered_seconds
    } else {
        0.0
    };
    // Candidates are priced window by window (the sample's data stays in cache while every
    // candidate takes its part of it); each candidate's sums still add its windows in window
    // order, so the figures are those of pricing it alone. Time shifts need all windows at once.
    let mut sums: Vec<Option<Sums>> = candidates
        .iter()
        .map(|candidate| {
            let changes = &candidate.rec.changes;
            (priceable(changes) && !shifts_time(changes)).then(Sums::new)
        })
        .collect();
    // Candidates are independent: with many, they are priced on every core, each still adding
    // its windows in window order, so the figures do not depend on the number of threads.
    let parallel = candidates.len() >= PARALLEL_CANDIDATES && rayon::current_num_threads() > 1;
    let no_shifts = ShiftPlan::new();
    for (((sample, index), baseline), shared) in analysis
        .samples
        .iter()
        .zip(&indexes)
        .zip(&baselines)
        .zip(&shared)
    {
        let Some(baseline) = baseline else { continue };
        let add = |(candidate, sums): (&Candidate, &mut Option<Sums>)| {
            let Some(sums) = sums else { return };
            let nodes = index.nodes_of(&sample.snapshot, &candidate.rec.changes);
            let window = index.restrict(&sample.snapshot, &nodes, shared.is_some());
            sums.add_window(
                candidate,
                sample,
                window,
                baseline,
                shared.as_ref(),
                &no_shifts,
                reference,
            );
        };
        if parallel {
            candidates
                .par_iter()
                .zip(sums.par_iter_mut())
                .with_min_len(CANDIDATES_PER_TASK)
                .for_each(add);
        } else {
            candidates.iter().zip(sums.iter_mut()).for_each(add);
        }
    }
    let finish = |(candidate, sums): (&Candidate, Option<Sums>)| match sums {
        Some(sums) => sums.priced(candidate, annualise),
        None => price_one(
            candidate, analysis, &indexes, &baselines, &shared, annualise, reference,
        ),
    };
    let saves = |rec: &Recommendation| {
        rec.savings_co2e_grams_per_year > 0.0
            || rec.savings_cost_per_year.is_some_and(|cost| cost > 0.0)
    };
    if parallel {
        candidates
            .par_iter()
            .zip(sums.into_par_iter())
            .with_min_len(CANDIDATES_PER_TASK)
            .map(finish)
            .filter(saves)
            .collect()
    } else {
        candidates
            .iter()
            .zip(sums)
            .map(finish)
            .filter(saves)
            .collect()
    }
}

/// Candidates from which pricing divides over the cores when there are several (fewer: one
/// thread, no task overhead).
const PARALLEL_CANDIDATES: usize = 64;

/// Candidates a pricing task takes at least (one part each: small, so tasks batch them).
const CANDIDATES_PER_TASK: usize = 8;
