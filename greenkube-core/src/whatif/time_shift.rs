//! `time_shift`: a workload's load run in each day's cleanest windows.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use chrono::{DateTime, Datelike, Utc};

use super::removal::remove_pods;
use super::{Change, belongs_to};
use crate::aggregate::workload_ref;
use crate::footprint::Footprint;
use crate::snapshot::{Pod, Snapshot};
use crate::units::Cores;

/// Time-shift plan: `(window index, change index)` → the workload's new load and a pod to run
/// it with where the workload had none.
pub(crate) type ShiftPlan = HashMap<(usize, usize), (f64, Option<Pod>)>;

/// The plan of every time-shift change among `changes`, over these footprints (with their
/// indexes in the history).
pub(crate) fn time_shift_plan(footprints: &[(usize, &Footprint)], changes: &[Change]) -> ShiftPlan {
    let mut out = ShiftPlan::new();
    for (change_index, change) in changes.iter().enumerate() {
        let Change::TimeShift {
            namespace,
            kind,
            name,
        } = change
        else {
            continue;
        };
        let windows = shift_windows(footprints, namespace, kind, name);
        for (window_index, plan) in shift_plan(&windows) {
            out.insert((window_index, change_index), plan);
        }
    }
    out
}

/// A window as time shifting sees it.
#[derive(Debug, Clone)]
struct ShiftWindow {
    /// Index of the window in the history.
    index: usize,
    /// Start of the window.
    start: DateTime<Utc>,
    /// The workload's CPU load in the window, cores.
    load: f64,
    /// Grid intensity the workload ran at, or would run at on its usual node.
    intensity: Option<f64>,
    /// One of the workload's pods in this window, if it ran.
    template: Option<Pod>,
}

/// Re-orders a workload's per-window loads within each UTC day so the heaviest loads run in the
/// cleanest windows of the day, including windows where it did not run (on the node it used
/// first that day). Days it did not run are left alone.
fn shift_plan(windows: &[ShiftWindow]) -> HashMap<usize, (f64, Option<Pod>)> {
    let mut days: BTreeMap<(i32, u32), Vec<&ShiftWindow>> = BTreeMap::new();
    for window in windows {
        days.entry((window.start.year(), window.start.ordinal()))
            .or_default()
            .push(window);
    }
    let mut out = HashMap::new();
    for day in days.values() {
        let Some(template) = day.iter().find_map(|w| w.template.clone()) else {
            continue;
        };
        let mut slots: Vec<&&ShiftWindow> = day.iter().filter(|w| w.intensity.is_some()).collect();
        slots.sort_by(|x, y| {
            x.intensity
                .unwrap_or(f64::INFINITY)
                .total_cmp(&y.intensity.unwrap_or(f64::INFINITY))
                .then_with(|| x.index.cmp(&y.index))
        });
        let mut loads: Vec<f64> = slots.iter().map(|w| w.load).collect();
        loads.sort_by(|x, y| y.total_cmp(x));
        for (slot, load) in slots.iter().zip(loads) {
            out.insert(slot.index, (load, Some(template.clone())));
        }
    }
    out
}

/// The time-shift view of a sequence of footprints (with their indexes): in each, the workload's
/// load, the intensity it ran at (or, where it did not run, the intensity of the node it first ran
/// on) and a template pod.
fn shift_windows(
    footprints: &[(usize, &Footprint)],
    namespace: &str,
    kind: &str,
    name: &str,
) -> Vec<ShiftWindow> {
    let mut windows: Vec<ShiftWindow> = footprints
        .iter()
        .map(|&(index, footprint)| shift_window(index, footprint, namespace, kind, name))
        .collect();
    let usual: Option<Arc<str>> = windows
        .iter()
        .find_map(|w| w.template.as_ref().and_then(|t| t.node.clone()));
    if let Some(usual) = usual {
        for (window, (_, footprint)) in windows.iter_mut().zip(footprints) {
            if window.intensity.is_none() {
                window.intensity = footprint
                    .nodes
                    .iter()
                    .find(|n| n.node.name.as_deref() == Some(usual.as_ref()))
                    .map(|n| n.node.grid_intensity.point);
            }
        }
    }
    windows
}

/// The workload's load, the intensity it ran at (`None` where it did not run) and a template pod.
fn shift_window(
    index: usize,
    footprint: &Footprint,
    namespace: &str,
    kind: &str,
    name: &str,
) -> ShiftWindow {
    let mut load = 0.0;
    let mut weighted = 0.0;
    let mut template = None;
    for pod in &footprint.pods {
        let (pod_kind, pod_workload) = workload_ref(
            pod.owner_kind.as_deref(),
            pod.owner_name.as_deref(),
            &pod.pod,
        );
        if pod.namespace.as_ref() == namespace && pod_kind == kind && pod_workload == name {
            let cores = pod.cpu_usage_cores.map_or(0.0, |c| c.0);
            load += cores;
            weighted += cores * pod.node.grid_intensity.point;
            if template.is_none() {
                template = Some(crate::replay::pod_of(pod));
            }
        }
    }
    let intensity = (load > 0.0).then(|| weighted / load);
    ShiftWindow {
        index,
        start: footprint.window_start,
        load,
        intensity,
        template: template.filter(|_| load > 0.0),
    }
}

/// Gives a workload `load` cores in this window: its pods share it; with no load its pods do not
/// run; with no pods, the template runs it on its node (if that node is in the window).
pub(super) fn shift_load(
    snapshot: &mut Snapshot,
    namespace: &str,
    kind: &str,
    name: &str,
    load: f64,
    template: Option<&Pod>,
) {
    let count = snapshot
        .pods
        .iter()
        .filter(|p| belongs_to(p, namespace, kind, name))
        .count();
    if load <= 0.0 {
        remove_pods(snapshot, |p| belongs_to(p, namespace, kind, name));
    } else if count > 0 {
        let old: f64 = snapshot
            .pods
            .iter()
            .filter(|p| belongs_to(p, namespace, kind, name))
            .map(|p| p.cpu_usage_cores.map_or(0.0, |c| c.0))
            .sum();
        for pod in snapshot
            .pods
            .iter_mut()
            .filter(|p| belongs_to(p, namespace, kind, name))
        {
            let share = if old > 0.0 {
                pod.cpu_usage_cores.map_or(0.0, |c| c.0) / old
            } else {
                1.0 / count as f64
            };
            pod.cpu_usage_cores = Some(Cores(load * share));
        }
    } else if let Some(template) = template
        && template
            .node
            .as_ref()
            .is_some_and(|node| snapshot.nodes.iter().any(|n| &n.name == node))
    {
        let mut pod = template.clone();
        pod.name = Arc::from(format!("{}~shifted", template.name));
        pod.cpu_usage_cores = Some(Cores(load));
        snapshot.pods.push(pod);
    }
}
