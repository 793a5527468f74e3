//! Pricing: each candidate's changes run through the what-if engine on the sampled windows.
//!
//! A workload or namespace change only affects the nodes its pods run on (the engine attributes
//! each node's energy among that node's pods), so each sampled window is cut down to those nodes
//! before it is re-estimated; node changes use the whole window. Changes that act on each pod
//! alone (new requests, removals, schedules) are priced node by node instead
//! ([`WindowPricer`]): only the touched pods are copied and changed, and each of their nodes'
//! figures is computed from the window's prepared inputs, with the same arithmetic in the same
//! order, so the figures are those of the cut-down window to the bit. Savings are the difference
//! between the window as it was and with the change, scaled from the sample to the history and
//! then to a year.

use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;

use rayon::prelude::*;

use self::index::{Baseline, Index, Resolved, Targets};
use super::Recommendation;
use super::analysis::{Analysis, SampledWindow};
use super::rules::{Basis, Candidate};
use crate::engine::{ChangedPod, WindowPricer, WindowShared, estimate_part, estimate_with};
use crate::reference::ReferenceData;
use crate::snapshot::{Pod, Snapshot};
use crate::whatif::{
    Change, Figures, SECONDS_PER_YEAR, ShiftPlan, apply, apply_to_pod, difference, pod_local,
    time_shift_plan, touches_pod, touches_snapshot_pod,
};

mod index;

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
#[allow(clippy::too_many_arguments)] // The pricing context of every window.
fn price_one(
    candidate: &Candidate,
    targets: &[Resolved],
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
                    .nodes_of(&sample.snapshot, changes, targets)
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
                    .filter_map(|n| index.node_position(n))
                    .collect()
            } else {
                index.nodes_of(&sample.snapshot, changes, targets)
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
    for ((((sample, index), window), baseline), shared) in analysis
        .samples
        .iter()
        .zip(indexes)
        .zip(windows)
        .zip(baselines)
        .zip(shared)
    {
        let Some(baseline) = baseline else { continue };
        sums.add_window(
            candidate,
            targets,
            sample,
            window,
            (index, baseline),
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
        targets: &[Resolved],
        sample: &SampledWindow,
        window: Snapshot,
        (index, baseline): (&Index, &Baseline),
        shared: Option<&WindowShared<'_>>,
        shifts: &ShiftPlan,
        reference: &ReferenceData,
    ) {
        let changes = &candidate.rec.changes;
        let baseline = match candidate.basis {
            Basis::Cluster => baseline.of_nodes(&window),
            Basis::Attributed => baseline.of(index, targets),
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

    /// Adds one sampled window priced node by node: for a candidate on the attributed basis
    /// whose changes act on each pod alone ([`pod_local`]). The same figures, added in the same
    /// order, as [`Sums::add_window`] on the window cut down to the touched pods' nodes.
    fn add_window_by_node(
        &mut self,
        plan: &Plan<'_>,
        sample: &SampledWindow,
        index: &Index,
        baseline: &Baseline,
        pricer: &WindowPricer<'_>,
        scratch: &mut PodScratch,
    ) {
        let (changes, targets) = (&plan.candidate.rec.changes, &plan.targets[..]);
        let window = &sample.snapshot;
        let PodScratch { touched, changed } = scratch;
        index.touched_pods(targets, touched);
        changed.clear();
        for &(_, position) in touched.iter() {
            let mut pod = window.pods[position as usize].clone();
            let mut cost = index
                .cost_of_pod(position)
                .map(|entry| window.costs[entry as usize].cost);
            let kept = apply_to_pod(&mut pod, &mut cost, changes, window.window_start);
            // A window whose changed pods would not validate fails to estimate: it is left out.
            if kept && !WindowPricer::valid(&pod, cost) {
                return;
            }
            changed.push(ChangedPod {
                position,
                pod: kept.then_some(pod),
                cost,
            });
        }
        self.before.add(&baseline.of(index, targets));
        let after = &mut self.after;
        // The touched pods come sorted by node (`changed` in step with them): each node's run of
        // them is priced at once.
        let mut start = 0;
        for run in touched.chunk_by(|a, b| a.0 == b.0) {
            let (node, end) = (run[0].0, start + run.len());
            pricer.price_node(
                node,
                index.pods_of_node(node),
                &changed[start..end],
                |pod| {
                    after.add_pod_figures(
                        pod.energy_joules,
                        pod.co2e_grams,
                        pod.embodied_co2e_grams,
                        pod.cost,
                    );
                },
            );
            start = end;
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
    price_with(candidates, analysis, reference, Pricing::ByNode)
}

/// How candidates whose changes act on each pod alone are priced.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Pricing {
    /// Node by node, from the window's prepared inputs ([`WindowPricer`]).
    ByNode,
    /// Each on the window cut down to its nodes, estimated (the way every other candidate is
    /// priced; kept for tests to compare with).
    #[cfg_attr(not(test), allow(dead_code))]
    CutWindow,
}

/// [`price`], pricing candidates whose changes act on each pod alone as `pricing` says.
fn price_with(
    candidates: &[Candidate],
    analysis: &Analysis,
    reference: &ReferenceData,
    pricing: Pricing,
) -> Vec<Recommendation> {
    let mut targets = Targets::new();
    let indexes: Vec<Index> = analysis
        .samples
        .iter()
        .map(|sample| Index::new(&sample.snapshot, &mut targets))
        .collect();
    let baselines: Vec<Option<Baseline>> = analysis
        .samples
        .iter()
        .zip(&indexes)
        .map(|(sample, index)| {
            estimate_with(&sample.snapshot, &sample.options, reference)
                .ok()
                .map(|footprint| Baseline::new(&footprint, index))
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
    let plans: Vec<Plan<'_>> = candidates
        .iter()
        .map(|candidate| Plan {
            candidate,
            targets: targets.resolve(&candidate.rec.changes),
            by_node: pricing == Pricing::ByNode
                && candidate.basis == Basis::Attributed
                && pod_local(&candidate.rec.changes),
        })
        .collect();
    for (((sample, index), baseline), shared) in analysis
        .samples
        .iter()
        .zip(&indexes)
        .zip(&baselines)
        .zip(&shared)
    {
        let Some(baseline) = baseline else { continue };
        let pricer = shared
            .as_ref()
            .map(|shared| WindowPricer::new(&sample.snapshot, shared, &sample.options, reference));
        let add = |scratch: &mut PodScratch, (plan, sums): (&Plan<'_>, &mut Option<Sums>)| {
            let Some(sums) = sums else { return };
            let changes = &plan.candidate.rec.changes;
            if plan.by_node
                && let Some(pricer) = &pricer
            {
                sums.add_window_by_node(plan, sample, index, baseline, pricer, scratch);
                return;
            }
            let nodes = index.nodes_of(&sample.snapshot, changes, &plan.targets);
            let window = index.restrict(&sample.snapshot, &nodes, shared.is_some());
            sums.add_window(
                plan.candidate,
                &plan.targets,
                sample,
                window,
                (index, baseline),
                shared.as_ref(),
                &no_shifts,
                reference,
            );
        };
        if parallel {
            plans
                .par_iter()
                .zip(sums.par_iter_mut())
                .with_min_len(CANDIDATES_PER_TASK)
                .for_each_init(PodScratch::default, add);
        } else {
            let mut scratch = PodScratch::default();
            plans
                .iter()
                .zip(sums.iter_mut())
                .for_each(|item| add(&mut scratch, item));
        }
    }
    let finish = |(plan, sums): (&Plan<'_>, Option<Sums>)| match sums {
        Some(sums) => sums.priced(plan.candidate, annualise),
        None => price_one(
            plan.candidate,
            &plan.targets,
            analysis,
            &indexes,
            &baselines,
            &shared,
            annualise,
            reference,
        ),
    };
    let saves = |rec: &Recommendation| {
        rec.savings_co2e_grams_per_year > 0.0
            || rec.savings_cost_per_year.is_some_and(|cost| cost > 0.0)
    };
    if parallel {
        plans
            .par_iter()
            .zip(sums.into_par_iter())
            .with_min_len(CANDIDATES_PER_TASK)
            .map(finish)
            .filter(saves)
            .collect()
    } else {
        plans.iter().zip(sums).map(finish).filter(saves).collect()
    }
}

/// What pricing a candidate node by node needs for a while, kept from one candidate-window to
/// the next (one per task) so that none allocates.
#[derive(Default)]
struct PodScratch {
    /// The touched pods as (node position, pod position), sorted.
    touched: Vec<(u32, u32)>,
    /// The touched pods as changed, in step with `touched`.
    changed: Vec<ChangedPod>,
}

/// How one candidate is priced: what its changes act on, by number, and whether node by node.
struct Plan<'c> {
    candidate: &'c Candidate,
    targets: Vec<Resolved>,
    by_node: bool,
}

/// Candidates from which pricing divides over the cores when there are several (fewer: one
/// thread, no task overhead).
const PARALLEL_CANDIDATES: usize = 64;

/// Candidates a pricing task takes at least (one part each: small, so tasks batch them).
const CANDIDATES_PER_TASK: usize = 8;

#[cfg(test)]
mod tests;
