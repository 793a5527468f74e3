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

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use chrono::{Datelike, Timelike};
use serde::{Deserialize, Serialize};

use crate::aggregate::workload_key;
use crate::error::SnapshotError;
use crate::footprint::Footprint;
use crate::ranged::Ranged;
use crate::replay::{options_of, snapshot_of};
use crate::snapshot::{Pod, Snapshot};
use crate::units::{BYTES_PER_GIB, Cores, Money};

/// OpenCost's default on-demand price of a vCPU-hour (USD), used only for the CPU/memory split.
const OPENCOST_CPU_HOUR: f64 = 0.031_611;
/// OpenCost's default on-demand price of a GiB-hour of memory (USD), for the same split.
const OPENCOST_GIB_HOUR: f64 = 0.004_237;
/// Seconds in a (365-day) year, for annualisation.
pub const SECONDS_PER_YEAR: f64 = 31_536_000.0;

fn default_target_utilisation() -> f64 {
    0.7
}

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

/// Energy, emissions and cost summed over windows.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Figures {
    /// Energy, joules.
    pub energy_joules: Ranged,
    /// Operational emissions, grams.
    pub co2e_grams: Ranged,
    /// Embodied emissions, grams.
    pub embodied_co2e_grams: Ranged,
    /// Cost; `None` when a change's cost effect is not known.
    pub cost: Option<f64>,
}

impl Figures {
    /// Operational plus embodied.
    pub fn total_co2e_grams(&self) -> Ranged {
        self.co2e_grams + self.embodied_co2e_grams
    }

    pub(crate) fn add_footprint(&mut self, fp: &Footprint) {
        self.energy_joules += fp.totals.energy_joules;
        self.co2e_grams += fp.totals.co2e_grams;
        self.embodied_co2e_grams += fp.totals.embodied_co2e_grams;
        if let Some(c) = &mut self.cost {
            *c += fp.totals.cost.0;
        }
    }

    pub(crate) fn add_pod(&mut self, pod: &crate::PodFootprint) {
        self.energy_joules += pod.energy_joules;
        self.co2e_grams += pod.co2e_grams;
        self.embodied_co2e_grams += pod.embodied_co2e_grams;
        if let (Some(c), Some(p)) = (&mut self.cost, pod.cost) {
            *c += p.0;
        }
    }

    /// `self − other`, bound by bound (the same coefficients apply to both).
    pub fn minus(&self, other: &Self) -> Self {
        Self {
            energy_joules: difference(self.energy_joules, other.energy_joules),
            co2e_grams: difference(self.co2e_grams, other.co2e_grams),
            embodied_co2e_grams: difference(self.embodied_co2e_grams, other.embodied_co2e_grams),
            cost: self.cost.zip(other.cost).map(|(a, b)| a - b),
        }
    }

    /// Scales every figure.
    pub fn scale(&self, factor: f64) -> Self {
        Self {
            energy_joules: self.energy_joules.scale(factor),
            co2e_grams: self.co2e_grams.scale(factor),
            embodied_co2e_grams: self.embodied_co2e_grams.scale(factor),
            cost: self.cost.map(|c| c * factor),
        }
    }
}

/// `a − b` scenario by scenario, ordered and widened to contain the point.
pub fn difference(a: Ranged, b: Ranged) -> Ranged {
    let x = a.low - b.low;
    let y = a.high - b.high;
    Ranged::new(a.point - b.point, x.min(y), x.max(y))
}

impl Serialize for Figures {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Wire {
            energy_joules: f64,
            co2e_grams: f64,
            embodied_co2e_grams: f64,
            total_co2e_grams: f64,
            cost: Option<f64>,
            uncertainty: Intervals,
        }
        #[derive(Serialize)]
        struct Intervals {
            energy_joules: Ranged,
            co2e_grams: Ranged,
            embodied_co2e_grams: Ranged,
            total_co2e_grams: Ranged,
        }
        let total = self.total_co2e_grams();
        Wire {
            energy_joules: self.energy_joules.point,
            co2e_grams: self.co2e_grams.point,
            embodied_co2e_grams: self.embodied_co2e_grams.point,
            total_co2e_grams: total.point,
            cost: self.cost,
            uncertainty: Intervals {
                energy_joules: self.energy_joules,
                co2e_grams: self.co2e_grams,
                embodied_co2e_grams: self.embodied_co2e_grams,
                total_co2e_grams: total,
            },
        }
        .serialize(serializer)
    }
}

/// Baseline, projection and savings of one scope.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct Comparison {
    /// Without the changes (the history re-estimated).
    pub baseline: Figures,
    /// With the changes.
    pub projected: Figures,
    /// `baseline − projected`: what the changes save (negative: what they add).
    pub savings: Figures,
    /// Savings per (365-day) year at the history's rate.
    pub savings_per_year: Figures,
}

impl Comparison {
    fn new(baseline: Figures, projected: Figures, annualise: f64) -> Self {
        let savings = baseline.minus(&projected);
        Self {
            baseline,
            projected,
            savings,
            savings_per_year: savings.scale(annualise),
        }
    }
}

/// The result of a what-if.
///
/// `cluster` is the whole cluster (physical: a request change moves a pod's idle share to the
/// node's overhead and saves nothing until freed capacity lets a node go); `targets` is the
/// footprint attributed to what the changes touch (the changed workloads' and namespaces' pods,
/// and every pod for node changes): what the methodology charges them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WhatIfReport {
    /// Windows in the history.
    pub windows: usize,
    /// Windows re-estimated (all, unless sampled).
    pub windows_evaluated: usize,
    /// Seconds the history covers (distinct windows).
    pub covered_seconds: f64,
    /// The whole cluster.
    pub cluster: Comparison,
    /// The pods the changes touch.
    pub targets: Comparison,
    /// Notes (for example, cost effects that are not modelled).
    pub notes: Vec<String>,
}

fn matches(pod: &Pod, namespace: &str, kind: &str, name: &str) -> bool {
    if pod.namespace.as_ref() != namespace {
        return false;
    }
    let (k, n) = workload_key(
        pod.owner_kind.as_deref(),
        pod.owner_name.as_deref(),
        &pod.name,
    );
    k.as_ref() == kind && n.as_ref() == name
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
            _ => {}
        }
        Ok(())
    }

    /// True when the change touches this pod row (node changes touch every pod).
    pub(crate) fn touches(&self, namespace: &str, kind: &str, name: &str) -> bool {
        match self.target() {
            Target::Workload(ns, k, n) => ns == namespace && k == kind && n == name,
            Target::Namespace(ns) => ns == namespace,
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

/// Share of a pod's cost that is its CPU part, from OpenCost's default prices.
fn cpu_cost_share(cpu_alloc: f64, memory_alloc_bytes: Option<f64>) -> f64 {
    let cpu = cpu_alloc * OPENCOST_CPU_HOUR;
    let mem = memory_alloc_bytes.map_or(0.0, |b| b / BYTES_PER_GIB * OPENCOST_GIB_HOUR);
    if cpu + mem > 0.0 {
        cpu / (cpu + mem)
    } else {
        0.5
    }
}

fn alloc(request: Option<f64>, usage: Option<f64>) -> f64 {
    request.unwrap_or(0.0).max(usage.unwrap_or(0.0))
}

/// A window as time shifting sees it.
#[derive(Debug, Clone)]
pub(crate) struct ShiftWindow {
    /// Index of the window in the history.
    pub index: usize,
    /// Start of the window.
    pub start: chrono::DateTime<chrono::Utc>,
    /// The workload's CPU load in the window, cores.
    pub load: f64,
    /// Grid intensity the workload ran at, or would run at on its usual node.
    pub intensity: Option<f64>,
    /// One of the workload's pods in this window, if it ran.
    pub template: Option<Pod>,
}

/// Time-shift plan: `(window index, change index)` → the workload's new load and a pod to run
/// it with where the workload had none.
type ShiftPlan = HashMap<(usize, usize), (f64, Option<Pod>)>;

/// Re-orders a workload's per-window loads within each UTC day so the heaviest loads run in the
/// cleanest windows of the day, including windows where it did not run (on the node it used
/// first that day). Days it did not run are left alone.
pub(crate) fn shift_plan(windows: &[ShiftWindow]) -> HashMap<usize, (f64, Option<Pod>)> {
    let mut days: BTreeMap<(i32, u32), Vec<&ShiftWindow>> = BTreeMap::new();
    for w in windows {
        days.entry((w.start.year(), w.start.ordinal()))
            .or_default()
            .push(w);
    }
    let mut out = HashMap::new();
    for day in days.values() {
        let Some(template) = day.iter().find_map(|w| w.template.clone()) else {
            continue;
        };
        let mut slots: Vec<&&ShiftWindow> = day.iter().filter(|w| w.intensity.is_some()).collect();
        slots.sort_by(|a, b| {
            a.intensity
                .unwrap_or(f64::INFINITY)
                .total_cmp(&b.intensity.unwrap_or(f64::INFINITY))
                .then_with(|| a.index.cmp(&b.index))
        });
        let mut loads: Vec<f64> = slots.iter().map(|w| w.load).collect();
        loads.sort_by(|a, b| b.total_cmp(a));
        for (w, load) in slots.iter().zip(loads) {
            out.insert(w.index, (load, Some(template.clone())));
        }
    }
    out
}

/// The time-shift view of a sequence of footprints (with their indexes): in each, the workload's
/// load, the intensity it ran at (or, where it did not run, the intensity of the node it first ran
/// on) and a template pod.
pub(crate) fn shift_windows(
    footprints: &[(usize, &Footprint)],
    namespace: &str,
    kind: &str,
    name: &str,
) -> Vec<ShiftWindow> {
    let mut windows: Vec<ShiftWindow> = footprints
        .iter()
        .map(|&(i, fp)| shift_window(i, fp, namespace, kind, name))
        .collect();
    let usual: Option<std::sync::Arc<str>> = windows
        .iter()
        .find_map(|w| w.template.as_ref().and_then(|t| t.node.clone()));
    if let Some(usual) = usual {
        for (w, (_, fp)) in windows.iter_mut().zip(footprints) {
            if w.intensity.is_none() {
                w.intensity = fp
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
    fp: &Footprint,
    namespace: &str,
    kind: &str,
    name: &str,
) -> ShiftWindow {
    let mut load = 0.0;
    let mut weighted = 0.0;
    let mut template = None;
    for p in &fp.pods {
        let (k, n) = workload_key(p.owner_kind.as_deref(), p.owner_name.as_deref(), &p.pod);
        if p.namespace.as_ref() == namespace && k.as_ref() == kind && n.as_ref() == name {
            let c = p.cpu_usage_cores.map_or(0.0, |c| c.0);
            load += c;
            weighted += c * p.node.grid_intensity.point;
            if template.is_none() {
                template = Some(crate::replay::pod_of(p));
            }
        }
    }
    let intensity = (load > 0.0).then(|| weighted / load);
    ShiftWindow {
        index,
        start: fp.window_start,
        load,
        intensity,
        template: template.filter(|_| load > 0.0),
    }
}

/// Builds the time-shift plan of a history for each time-shift change.
fn time_shift_plan(history: &[Footprint], changes: &[Change]) -> ShiftPlan {
    let mut out = ShiftPlan::new();
    for (ci, change) in changes.iter().enumerate() {
        let Change::TimeShift {
            namespace,
            kind,
            name,
        } = change
        else {
            continue;
        };
        let footprints: Vec<(usize, &Footprint)> = history.iter().enumerate().collect();
        for (wi, plan) in shift_plan(&shift_windows(&footprints, namespace, kind, name)) {
            out.insert((wi, ci), plan);
        }
    }
    out
}

pub(crate) fn node_selected(
    node: &crate::snapshot::Node,
    nodes: &[String],
    from: Option<&str>,
    current: Option<&str>,
) -> bool {
    if nodes.is_empty() {
        from.is_some_and(|f| current.is_some_and(|c| c.eq_ignore_ascii_case(f)))
    } else {
        nodes.iter().any(|n| n.as_str() == node.name.as_ref())
    }
}

/// Applies the changes to one window's snapshot. `window` is the window's index in the history
/// (for time shifting).
pub(crate) fn apply(
    snap: &mut Snapshot,
    changes: &[Change],
    window: usize,
    shifts: &HashMap<(usize, usize), (f64, Option<Pod>)>,
) {
    for (ci, change) in changes.iter().enumerate() {
        match change {
            Change::Requests {
                namespace,
                kind,
                name,
                cpu_request_cores,
                memory_request_bytes,
            } => {
                let mut factors: HashMap<Arc<str>, f64> = HashMap::new();
                for pod in snap
                    .pods
                    .iter_mut()
                    .filter(|p| matches(p, namespace, kind, name))
                {
                    let usage_cpu = pod.cpu_usage_cores.map(|c| c.0);
                    let usage_mem = pod.memory_usage_bytes.map(|b| b.0);
                    let old_cpu = alloc(pod.cpu_request_cores.map(|c| c.0), usage_cpu);
                    let old_mem = alloc(pod.memory_request_bytes.map(|b| b.0), usage_mem);
                    if let Some(c) = cpu_request_cores {
                        pod.cpu_request_cores = Some(Cores(*c));
                    }
                    if let Some(m) = memory_request_bytes {
                        pod.memory_request_bytes = Some(crate::units::Bytes(*m));
                    }
                    let new_cpu = alloc(pod.cpu_request_cores.map(|c| c.0), usage_cpu);
                    let new_mem = alloc(pod.memory_request_bytes.map(|b| b.0), usage_mem);
                    let share = cpu_cost_share(old_cpu, (old_mem > 0.0).then_some(old_mem));
                    let ratio = |new: f64, old: f64| if old > 0.0 { new / old } else { 1.0 };
                    let factor =
                        share * ratio(new_cpu, old_cpu) + (1.0 - share) * ratio(new_mem, old_mem);
                    factors.insert(pod.name.clone(), factor);
                }
                for c in &mut snap.costs {
                    if c.namespace.as_ref() == namespace
                        && let Some(f) = factors.get(&c.pod)
                    {
                        c.cost = Money(c.cost.0 * f);
                    }
                }
            }
            Change::Replicas {
                namespace,
                kind,
                name,
                replicas,
            } => set_replicas(snap, namespace, kind, name, |_, _| *replicas as usize),
            Change::Autoscale {
                namespace,
                kind,
                name,
                target_utilisation,
                min_replicas,
            } => set_replicas(snap, namespace, kind, name, |pods, k| {
                let usage: f64 = pods
                    .iter()
                    .map(|p| p.cpu_usage_cores.map_or(0.0, |c| c.0))
                    .sum();
                let requests: Vec<f64> = pods
                    .iter()
                    .filter_map(|p| p.cpu_request_cores.map(|c| c.0))
                    .filter(|r| *r > 0.0)
                    .collect();
                if requests.is_empty() {
                    return k;
                }
                let per_pod = requests.iter().sum::<f64>() / requests.len() as f64;
                let needed = (usage / (per_pod * target_utilisation)).ceil() as usize;
                needed.clamp((*min_replicas as usize).min(k), k)
            }),
            Change::Schedule {
                namespace,
                kind,
                name,
                off_from_hour,
                off_to_hour,
            } => {
                let h = snap.window_start.hour() as u8;
                let off = if off_from_hour < off_to_hour {
                    h >= *off_from_hour && h < *off_to_hour
                } else {
                    h >= *off_from_hour || h < *off_to_hour
                };
                if off {
                    remove_pods(snap, |p| matches(p, namespace, kind, name));
                }
            }
            Change::Remove {
                namespace,
                kind,
                name,
            } => match (kind, name) {
                (Some(k), Some(n)) => remove_pods(snap, |p| matches(p, namespace, k, n)),
                _ => remove_pods(snap, |p| p.namespace.as_ref() == namespace),
            },
            Change::TimeShift {
                namespace,
                kind,
                name,
            } => {
                if let Some((load, template)) = shifts.get(&(window, ci)) {
                    shift_load(snap, namespace, kind, name, *load, template.as_ref());
                }
            }
            Change::InstanceType {
                nodes,
                from_instance_type,
                instance_type,
            } => {
                for node in &mut snap.nodes {
                    if node_selected(
                        node,
                        nodes,
                        from_instance_type.as_deref(),
                        node.instance_type.as_deref(),
                    ) {
                        node.instance_type = Some(Arc::from(instance_type.as_str()));
                        // Capacities come from the catalogue for the new type.
                        node.cpu_capacity_cores = None;
                        node.memory_capacity_bytes = None;
                    }
                }
            }
            Change::Region {
                nodes,
                from_region,
                region,
                zone,
            } => {
                for node in &mut snap.nodes {
                    if node_selected(node, nodes, from_region.as_deref(), node.region.as_deref()) {
                        node.region = Some(Arc::from(region.as_str()));
                        node.zone = zone.as_deref().map(Arc::from);
                    }
                }
            }
            Change::Drain { nodes } => drain(snap, nodes),
        }
    }
}

/// Gives a workload `load` cores in this window: its pods share it; with no load its pods do not
/// run; with no pods, the template runs it on its node (if that node is in the window).
fn shift_load(
    snap: &mut Snapshot,
    namespace: &str,
    kind: &str,
    name: &str,
    load: f64,
    template: Option<&Pod>,
) {
    let count = snap
        .pods
        .iter()
        .filter(|p| matches(p, namespace, kind, name))
        .count();
    if load <= 0.0 {
        remove_pods(snap, |p| matches(p, namespace, kind, name));
    } else if count > 0 {
        let old: f64 = snap
            .pods
            .iter()
            .filter(|p| matches(p, namespace, kind, name))
            .map(|p| p.cpu_usage_cores.map_or(0.0, |c| c.0))
            .sum();
        for pod in snap
            .pods
            .iter_mut()
            .filter(|p| matches(p, namespace, kind, name))
        {
            let share = if old > 0.0 {
                pod.cpu_usage_cores.map_or(0.0, |c| c.0) / old
            } else {
                1.0 / count as f64
            };
            pod.cpu_usage_cores = Some(Cores(load * share));
        }
    } else if let Some(t) = template
        && t.node
            .as_ref()
            .is_some_and(|n| snap.nodes.iter().any(|x| &x.name == n))
    {
        let mut pod = t.clone();
        pod.name = Arc::from(format!("{}~shifted", t.name));
        pod.cpu_usage_cores = Some(Cores(load));
        snap.pods.push(pod);
    }
}

fn remove_pods(snap: &mut Snapshot, mut selected: impl FnMut(&Pod) -> bool) {
    let mut removed: HashSet<(Arc<str>, Arc<str>)> = HashSet::new();
    snap.pods.retain(|p| {
        if selected(p) {
            removed.insert((p.namespace.clone(), p.name.clone()));
            false
        } else {
            true
        }
    });
    snap.costs
        .retain(|c| !removed.contains(&(c.namespace.clone(), c.pod.clone())));
}

/// Resizes a workload to `target(pods, k)` replicas sharing its CPU and memory usage; new
/// replicas are copies placed round-robin on the nodes the workload already uses and cost what
/// its pods cost on average.
fn set_replicas(
    snap: &mut Snapshot,
    namespace: &str,
    kind: &str,
    name: &str,
    target: impl FnOnce(&[&Pod], usize) -> usize,
) {
    let mut idx: Vec<usize> = (0..snap.pods.len())
        .filter(|&i| matches(&snap.pods[i], namespace, kind, name))
        .collect();
    let k = idx.len();
    if k == 0 {
        return;
    }
    idx.sort_by(|&a, &b| snap.pods[a].name.cmp(&snap.pods[b].name));
    let pods: Vec<&Pod> = idx.iter().map(|&i| &snap.pods[i]).collect();
    let n = target(&pods, k);
    if n == k {
        return;
    }
    let sum = |f: &dyn Fn(&Pod) -> Option<f64>| -> Option<f64> {
        let v: Vec<f64> = pods.iter().filter_map(|p| f(p)).collect();
        (!v.is_empty()).then(|| v.iter().sum())
    };
    let cpu = sum(&|p| p.cpu_usage_cores.map(|c| c.0));
    let mem = sum(&|p| p.memory_usage_bytes.map(|b| b.0));
    let names: HashSet<Arc<str>> = pods.iter().map(|p| p.name.clone()).collect();
    let costs: Vec<f64> = snap
        .costs
        .iter()
        .filter(|c| c.namespace.as_ref() == namespace && names.contains(&c.pod))
        .map(|c| c.cost.0)
        .collect();
    let mean_cost = (!costs.is_empty()).then(|| costs.iter().sum::<f64>() / costs.len() as f64);
    let template: Vec<Pod> = pods.iter().map(|p| (*p).clone()).collect();
    if n == 0 {
        remove_pods(snap, |p| {
            p.namespace.as_ref() == namespace && names.contains(&p.name)
        });
        return;
    }
    let share = |total: Option<f64>| total.map(|t| t / n as f64);
    let (cpu_each, mem_each) = (share(cpu), share(mem));
    // Keep the first min(n, k) pods, add copies beyond k.
    let keep: HashSet<Arc<str>> = template.iter().take(n).map(|p| p.name.clone()).collect();
    remove_pods(snap, |p| {
        p.namespace.as_ref() == namespace && names.contains(&p.name) && !keep.contains(&p.name)
    });
    for pod in snap
        .pods
        .iter_mut()
        .filter(|p| p.namespace.as_ref() == namespace && keep.contains(&p.name))
    {
        pod.cpu_usage_cores = cpu_each.map(Cores);
        pod.memory_usage_bytes = mem_each.map(crate::units::Bytes);
    }
    for i in k..n {
        let mut p = template[i % k].clone();
        p.name = Arc::from(format!("{}~whatif{}", template[i % k].name, i - k + 1));
        p.cpu_usage_cores = cpu_each.map(Cores);
        p.memory_usage_bytes = mem_each.map(crate::units::Bytes);
        if let Some(c) = mean_cost {
            snap.costs.push(crate::snapshot::CostEntry {
                namespace: p.namespace.clone(),
                pod: p.name.clone(),
                cost: Money(c),
            });
        }
        snap.pods.push(p);
    }
}

/// Removes nodes and moves their pods, largest first, to the remaining node with the most free
/// CPU (capacity minus reserved CPU).
fn drain(snap: &mut Snapshot, nodes: &[String]) {
    let drained: HashSet<&str> = nodes.iter().map(String::as_str).collect();
    let reference = crate::ReferenceData::embedded();
    let capacity = |n: &crate::snapshot::Node| -> f64 {
        n.cpu_capacity_cores
            .map(|c| c.0)
            .or_else(|| {
                n.instance_type.as_deref().and_then(|t| {
                    reference
                        .instance_type(
                            n.provider
                                .as_deref()
                                .map_or(crate::Provider::Unknown, crate::Provider::parse),
                            t,
                        )
                        .map(|it| it.vcpus)
                })
            })
            .unwrap_or(0.0)
    };
    let mut free: Vec<(Arc<str>, f64)> = snap
        .nodes
        .iter()
        .filter(|n| !drained.contains(n.name.as_ref()))
        .map(|n| (n.name.clone(), capacity(n)))
        .collect();
    if free.is_empty() {
        return;
    }
    for p in &snap.pods {
        if let Some(node) = &p.node
            && let Some(slot) = free.iter_mut().find(|(n, _)| n == node)
        {
            slot.1 -= alloc(
                p.cpu_request_cores.map(|c| c.0),
                p.cpu_usage_cores.map(|c| c.0),
            );
        }
    }
    let mut moving: Vec<usize> = (0..snap.pods.len())
        .filter(|&i| {
            snap.pods[i]
                .node
                .as_deref()
                .is_some_and(|n| drained.contains(n))
        })
        .collect();
    let reserved = |p: &Pod| {
        alloc(
            p.cpu_request_cores.map(|c| c.0),
            p.cpu_usage_cores.map(|c| c.0),
        )
    };
    moving.sort_by(|&a, &b| reserved(&snap.pods[b]).total_cmp(&reserved(&snap.pods[a])));
    for i in moving {
        let r = reserved(&snap.pods[i]);
        let Some(best) = free.iter_mut().max_by(|a, b| a.1.total_cmp(&b.1)) else {
            break;
        };
        best.1 -= r;
        snap.pods[i].node = Some(best.0.clone());
    }
    snap.nodes.retain(|n| !drained.contains(n.name.as_ref()));
}

/// Options of a what-if run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WhatIfOptions {
    /// Re-estimate at most this many windows, evenly spread over the history, and scale up
    /// (`None`: every window).
    pub max_windows: Option<usize>,
}

/// Windows to evaluate: all, or an even spread of at most `max`.
pub(crate) fn sample(total: usize, max: Option<usize>) -> Vec<usize> {
    match max {
        Some(m) if m > 0 && total > m => (0..m).map(|i| i * total / m).collect(),
        _ => (0..total).collect(),
    }
}

/// Applies `changes` to `history` and reports the baseline, the projection and the savings.
pub fn what_if(
    history: &[Footprint],
    changes: &[Change],
    options: WhatIfOptions,
) -> Result<WhatIfReport, WhatIfError> {
    for (i, c) in changes.iter().enumerate() {
        c.validate(i)?;
    }
    let shifts = time_shift_plan(history, changes);
    let node_cost_changes = changes.iter().any(Change::changes_node_cost);
    let mut baseline = Figures {
        cost: Some(0.0),
        ..Figures::default()
    };
    let mut projected = baseline;
    let mut target_base = baseline;
    let mut target_proj = baseline;
    let touched = |p: &crate::PodFootprint| {
        let (kind, name) = workload_key(p.owner_kind.as_deref(), p.owner_name.as_deref(), &p.pod);
        changes
            .iter()
            .any(|c| c.touches(&p.namespace, &kind, &name))
    };
    let mut covered = 0.0;
    let mut seen_windows: HashSet<(i64, i64)> = HashSet::new();
    let mut total_covered = 0.0;
    for fp in history {
        if seen_windows.insert((fp.window_start.timestamp(), fp.window_end.timestamp())) {
            total_covered += (fp.window_end - fp.window_start).num_milliseconds() as f64 / 1000.0;
        }
    }
    let evaluated = sample(history.len(), options.max_windows);
    for &wi in &evaluated {
        let fp = &history[wi];
        let opts = options_of(fp);
        let snap = snapshot_of(fp);
        let err = |source| WhatIfError::Window {
            window: fp.window_start,
            source,
        };
        let base = crate::estimate(&snap, &opts).map_err(err)?;
        let mut changed = snap;
        apply(&mut changed, changes, wi, &shifts);
        let proj = crate::estimate(&changed, &opts).map_err(err)?;
        baseline.add_footprint(&base);
        projected.add_footprint(&proj);
        for p in base.pods.iter().filter(|p| touched(p)) {
            target_base.add_pod(p);
        }
        for p in proj.pods.iter().filter(|p| touched(p)) {
            target_proj.add_pod(p);
        }
        covered += (fp.window_end - fp.window_start).num_milliseconds() as f64 / 1000.0;
    }
    // Scale a sample up to the whole history.
    let scale = if covered > 0.0 && evaluated.len() < history.len() {
        history
            .iter()
            .map(|f| (f.window_end - f.window_start).num_milliseconds() as f64 / 1000.0)
            .sum::<f64>()
            / covered
    } else {
        1.0
    };
    let baseline = baseline.scale(scale);
    let mut projected = projected.scale(scale);
    let target_base = target_base.scale(scale);
    let mut target_proj = target_proj.scale(scale);
    let mut notes = Vec::new();
    if node_cost_changes {
        projected.cost = None;
        target_proj.cost = None;
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
        targets: Comparison::new(target_base, target_proj, annualise),
        notes,
    })
}

/// Parses a list of changes (a JSON array); errors name the offending change and field.
pub fn changes_from_json(text: &str) -> Result<Vec<Change>, SnapshotError> {
    let de = &mut serde_json::Deserializer::from_str(text);
    serde_path_to_error::deserialize(de).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        SnapshotError::Parse {
            path,
            message: inner.to_string(),
            line: inner.line(),
            column: inner.column(),
        }
    })
}
