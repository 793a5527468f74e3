//! The what-if engine: apply changes (requests, replicas, autoscaling, schedules, removals,
//! instance types, regions, node drains, time shifting) to a history of footprints and recompute
//! it with the same methodology, giving the projected footprint and the difference.
//!
//! Each window of the history is rebuilt into its snapshot ([`crate::replay`]), estimated as it
//! was (the baseline) and with the changes applied (the projection), both with the methodology
//! the footprint names, so the difference is the methodology's own answer. Intervals of the
//! difference are taken scenario by scenario (low − low, high − high): the same coefficients
//! apply to both sides.
//!
//! Cost follows OpenCost's allocation: a pod's cost is split into a CPU part and a memory part in
//! the proportion of OpenCost's default on-demand prices, and each part scales with the pod's
//! allocation `max(request, usage)`. Changes to nodes (instance type, region, drain) change what
//! the cluster's nodes cost, which no footprint records: their cost difference is unknown
//! (`null`), not zero.
//!
//! Layout: `change` (the changes and what each acts on), `report` (figures and comparisons),
//! and one file per kind of change: `requests`, `replicas` (and autoscaling), `removal` (and
//! schedules), `time_shift`, `nodes` (instance type, region, drain).

mod change;
mod nodes;
mod removal;
mod replicas;
mod report;
mod requests;
mod time_shift;

use std::collections::HashSet;

pub use self::change::{Change, MAX_REPLICAS};
pub(crate) use self::change::{Target, touches_pod, touches_snapshot_pod};
pub(crate) use self::nodes::node_selected;
pub use self::report::{Comparison, Figures, WhatIfReport, difference};
pub(crate) use self::time_shift::{ShiftPlan, time_shift_plan};
use crate::aggregate::workload_ref;
use crate::engine::estimate_with;
use crate::error::SnapshotError;
use crate::footprint::Footprint;
use crate::reference::ReferenceData;
use crate::replay::{options_of, snapshot_of};
use crate::snapshot::{Pod, Snapshot};

/// Seconds in a (365-day) year, for annualisation.
pub const SECONDS_PER_YEAR: f64 = 31_536_000.0;

/// Why a what-if could not run.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum WhatIfError {
    /// A change is malformed.
    #[error("changes[{index}]: {message}")]
    InvalidChange {
        /// Index of the change in the list.
        index: usize,
        /// What is wrong.
        message: String,
    },
    /// A window of the history could not be estimated.
    #[error("window {window}: {source}")]
    Window {
        /// Start of the window.
        window: chrono::DateTime<chrono::Utc>,
        /// The error.
        #[source]
        source: SnapshotError,
    },
}

/// Options of a what-if run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WhatIfOptions {
    /// Re-estimate at most this many windows, evenly spread over the history, and scale up
    /// (`None`: every window).
    pub max_windows: Option<usize>,
}

/// Windows to evaluate: all, or an even spread of at most `max`.
fn sample(total: usize, max: Option<usize>) -> Vec<usize> {
    match max {
        Some(max) if max > 0 && total > max => (0..max).map(|i| i * total / max).collect(),
        _ => (0..total).collect(),
    }
}

/// Applies `changes` to `history` and reports the baseline, the projection and the savings.
/// Both sides are estimated with `reference` (the catalogue a drain also takes node capacities
/// from); pass the reference data the history was estimated with, usually
/// [`ReferenceData::embedded`].
pub fn what_if(
    history: &[Footprint],
    changes: &[Change],
    options: WhatIfOptions,
    reference: &ReferenceData,
) -> Result<WhatIfReport, WhatIfError> {
    for (index, change) in changes.iter().enumerate() {
        change.validate(index)?;
    }
    let indexed: Vec<(usize, &Footprint)> = history.iter().enumerate().collect();
    let shifts = time_shift_plan(&indexed, changes);
    let mut baseline = Figures::zero();
    let mut projected = Figures::zero();
    let mut target_baseline = Figures::zero();
    let mut target_projected = Figures::zero();
    let mut seen_windows: HashSet<(i64, i64)> = HashSet::new();
    let mut total_covered = 0.0;
    for footprint in history {
        if seen_windows.insert((
            footprint.window_start.timestamp(),
            footprint.window_end.timestamp(),
        )) {
            total_covered += footprint.seconds();
        }
    }
    let evaluated = sample(history.len(), options.max_windows);
    let mut covered = 0.0;
    for &window in &evaluated {
        let footprint = &history[window];
        let estimate_options = options_of(footprint);
        let snapshot = snapshot_of(footprint);
        let failed = |source| WhatIfError::Window {
            window: footprint.window_start,
            source,
        };
        let base = estimate_with(&snapshot, &estimate_options, reference).map_err(failed)?;
        let mut changed = snapshot;
        apply(&mut changed, changes, window, &shifts, reference);
        let projection = estimate_with(&changed, &estimate_options, reference).map_err(failed)?;
        baseline.add_footprint(&base);
        projected.add_footprint(&projection);
        for pod in base.pods.iter().filter(|p| touches_pod(changes, p)) {
            target_baseline.add_pod(pod);
        }
        for pod in projection.pods.iter().filter(|p| touches_pod(changes, p)) {
            target_projected.add_pod(pod);
        }
        covered += footprint.seconds();
    }
    // Scale a sample up to the whole history.
    let scale = if covered > 0.0 && evaluated.len() < history.len() {
        history.iter().map(Footprint::seconds).sum::<f64>() / covered
    } else {
        1.0
    };
    let baseline = baseline.scale(scale);
    let mut projected = projected.scale(scale);
    let target_baseline = target_baseline.scale(scale);
    let mut target_projected = target_projected.scale(scale);
    let mut notes = Vec::new();
    if changes.iter().any(Change::changes_node_cost) {
        projected.cost = None;
        target_projected.cost = None;
        notes.push(
            "cost: changes to nodes change what the nodes cost, which the history does not record; \
             the cost difference is unknown"
                .to_string(),
        );
    }
    if evaluated.len() < history.len() {
        notes.push(format!(
            "estimated from {} of {} windows, evenly spread, scaled to the whole history",
            evaluated.len(),
            history.len()
        ));
    }
    let annualise = if total_covered > 0.0 {
        SECONDS_PER_YEAR / total_covered
    } else {
        0.0
    };
    Ok(WhatIfReport {
        windows: history.len(),
        windows_evaluated: evaluated.len(),
        covered_seconds: total_covered,
        cluster: Comparison::new(baseline, projected, annualise),
        targets: Comparison::new(target_baseline, target_projected, annualise),
        notes,
    })
}

/// Applies the changes to one window's snapshot. `window` is the window's index in the history
/// (for time shifting); `reference` gives the capacity of nodes a drain fills.
pub(crate) fn apply(
    snapshot: &mut Snapshot,
    changes: &[Change],
    window: usize,
    shifts: &ShiftPlan,
    reference: &ReferenceData,
) {
    for (change_index, change) in changes.iter().enumerate() {
        match change {
            Change::Requests {
                namespace,
                kind,
                name,
                cpu_request_cores,
                memory_request_bytes,
            } => requests::set_requests(
                snapshot,
                namespace,
                kind,
                name,
                *cpu_request_cores,
                *memory_request_bytes,
            ),
            Change::Replicas {
                namespace,
                kind,
                name,
                replicas,
            } => replicas::set_replicas(snapshot, namespace, kind, name, |_, _| *replicas as usize),
            Change::Autoscale {
                namespace,
                kind,
                name,
                target_utilisation,
                min_replicas,
            } => replicas::set_replicas(snapshot, namespace, kind, name, |pods, count| {
                replicas::autoscaled(pods, count, *target_utilisation, *min_replicas)
            }),
            Change::Schedule {
                namespace,
                kind,
                name,
                off_from_hour,
                off_to_hour,
            } => removal::schedule(
                snapshot,
                namespace,
                kind,
                name,
                *off_from_hour,
                *off_to_hour,
            ),
            Change::Remove {
                namespace,
                kind,
                name,
            } => removal::remove(snapshot, namespace, kind.as_deref(), name.as_deref()),
            Change::TimeShift {
                namespace,
                kind,
                name,
            } => {
                if let Some((load, template)) = shifts.get(&(window, change_index)) {
                    time_shift::shift_load(
                        snapshot,
                        namespace,
                        kind,
                        name,
                        *load,
                        template.as_ref(),
                    );
                }
            }
            Change::InstanceType {
                nodes,
                from_instance_type,
                instance_type,
            } => nodes::set_instance_type(
                snapshot,
                nodes,
                from_instance_type.as_deref(),
                instance_type,
            ),
            Change::Region {
                nodes,
                from_region,
                region,
                zone,
            } => nodes::move_region(
                snapshot,
                nodes,
                from_region.as_deref(),
                region,
                zone.as_deref(),
            ),
            Change::Drain { nodes } => nodes::drain(snapshot, nodes, reference),
        }
    }
}

/// True when every change acts on each pod on its own (new requests, removal, a schedule): a
/// pod's projection then depends on that pod alone, so [`apply_to_pod`] gives what [`apply`]
/// does to it.
pub(crate) fn pod_local(changes: &[Change]) -> bool {
    changes.iter().all(|change| {
        matches!(
            change,
            Change::Requests { .. } | Change::Remove { .. } | Change::Schedule { .. }
        )
    })
}

/// Applies pod-local changes ([`pod_local`]) to one pod of the window starting at
/// `window_start` and to its cost: what [`apply`] does to that pod and its cost entry. Returns
/// false when the pod is removed. Changes that are not pod-local are left out.
pub(crate) fn apply_to_pod(
    pod: &mut Pod,
    cost: &mut Option<crate::units::Money>,
    changes: &[Change],
    window_start: chrono::DateTime<chrono::Utc>,
) -> bool {
    for change in changes {
        match change {
            Change::Requests {
                namespace,
                kind,
                name,
                cpu_request_cores,
                memory_request_bytes,
            } if belongs_to(pod, namespace, kind, name) => {
                let factor =
                    requests::set_pod_requests(pod, *cpu_request_cores, *memory_request_bytes);
                if let Some(cost) = cost {
                    cost.0 *= factor;
                }
            }
            Change::Remove {
                namespace,
                kind,
                name,
            } if removal::removes(pod, namespace, kind.as_deref(), name.as_deref()) => {
                return false;
            }
            Change::Schedule {
                namespace,
                kind,
                name,
                off_from_hour,
                off_to_hour,
            } if removal::off_hours(window_start, *off_from_hour, *off_to_hour)
                && belongs_to(pod, namespace, kind, name) =>
            {
                return false;
            }
            _ => {}
        }
    }
    true
}

/// True when the pod belongs to the workload.
fn belongs_to(pod: &Pod, namespace: &str, kind: &str, name: &str) -> bool {
    if pod.namespace.as_ref() != namespace {
        return false;
    }
    let (pod_kind, pod_workload) = workload_ref(
        pod.owner_kind.as_deref(),
        pod.owner_name.as_deref(),
        &pod.name,
    );
    pod_kind == kind && pod_workload == name
}

/// `max(request, usage)`, 0 where neither is known.
fn allocation(request: Option<f64>, usage: Option<f64>) -> f64 {
    request.unwrap_or(0.0).max(usage.unwrap_or(0.0))
}

/// Parses a list of changes (a JSON array); errors name the offending change and field.
pub fn changes_from_json(text: &str) -> Result<Vec<Change>, SnapshotError> {
    crate::error::parse_json(text)
}
