//! The estimation engine: `estimate(snapshot, options, reference) -> footprint`, a pure function.
//!
//! Per node and window of `d` seconds:
//!
//! * CPU power is linear in utilisation: `P = min + u × (max − min)` with
//!   `u = min(Σ pod CPU / vCPUs, 1)`; `min` and `max` are per-vCPU watts × vCPUs.
//! * `classic` gives each pod `P × d × (pod CPU / node CPU)` (idle power shared by CPU share);
//!   with no CPU used, each of the `n` pods gets `min × d / n`; a node without pods keeps
//!   `min × d` as unallocated energy.
//! * `full` adds memory power (W per GB × memory capacity), gives each pod the dynamic CPU
//!   power by CPU share and the memory power by memory share, and attributes the idle pool
//!   (CPU idle watts plus unused memory power) by the [`IdlePolicy`]; what is not attributed
//!   stays on the node as overhead, so pods + overhead = node exactly.
//! * Operational emissions: `E / 3.6e6 × PUE × intensity`.
//! * Embodied: `kg × 1000 / lifespan hours × d / 3600 × share`, where the share is
//!   `min(max(CPU request, CPU usage) / capacity, 1)` (`full` takes the larger of the CPU and
//!   memory shares and normalises an over-committed node).
//!
//! Every figure is computed with all coefficients at their low, point and high values, which
//! bounds the point estimate because each formula is monotone in each coefficient.

mod node_model;
mod pricer;

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Arc;

use rayon::prelude::*;

use crate::error::SnapshotError;
use crate::fastmap::{FastMap, fast_map};
use crate::footprint::{
    FOOTPRINT_SCHEMA, Footprint, MethodologyInfo, NodeFootprint, PodFootprint, Totals,
};
use crate::methodology::{EstimateOptions, IdlePolicy, Methodology};
use crate::ranged::Ranged;
use crate::reason::{Reason, Reasons};
use crate::reference::ReferenceData;
use crate::snapshot::{Pod, Snapshot};
use crate::units::{Cores, JOULES_PER_KWH, Money};

use self::node_model::{Demand, EmbodiedTable, NodeModel, Resolver, embodied_table};
pub(crate) use self::pricer::{ChangedPod, WindowPricer};

/// Estimates the footprint of one snapshot with the embedded reference data.
pub fn estimate(
    snapshot: &Snapshot,
    options: &EstimateOptions,
) -> Result<Footprint, SnapshotError> {
    estimate_with(snapshot, options, ReferenceData::embedded())
}

/// Parses a JSON snapshot and estimates it with the embedded reference data.
pub fn estimate_json(text: &str, options: &EstimateOptions) -> Result<Footprint, SnapshotError> {
    estimate(&Snapshot::from_json_str(text)?, options)
}

/// What the first pass learns about each pod.
#[derive(Clone, Copy)]
struct PodInput {
    slot: u32,
    /// CPU used for the power model and shares, cores.
    cpu: f64,
    /// `max(request, usage)`, cores.
    cpu_reserved: f64,
    /// Memory used for the memory share, bytes (`full`).
    memory: f64,
    /// `max(request, usage)`, bytes (`full`).
    memory_reserved: f64,
    cpu_reason: Option<OwnReason>,
    memory_reason: Option<OwnReason>,
}

/// The electricity zones the nodes of `snapshot` are in, as the engine resolves them (labels,
/// regions, the configured default zone), so a collector knows which intensities to fetch.
pub fn zones_of(
    snapshot: &Snapshot,
    options: &EstimateOptions,
    reference: &ReferenceData,
) -> std::collections::BTreeSet<String> {
    let resolver = Resolver::new(snapshot, options, reference);
    let mut zones: std::collections::BTreeSet<String> = snapshot
        .nodes
        .iter()
        .filter_map(|node| {
            resolver
                .resolve(Some(node), Some(&node.name), node_model::Demand::default())
                .context
                .zone
                .as_deref()
                .map(str::to_string)
        })
        .collect();
    zones.extend(options.default_zone.clone());
    zones
}

/// The per-pod usage reasons in one byte (a [`Reason`] is 64), expanded in pass 3: keeps the
/// per-pod scratch small.
#[derive(Clone, Copy)]
enum OwnReason {
    CpuUsageFromRequest,
    CpuUsageUnknown,
    MemoryUsageFromRequest,
    MemoryUsageUnknown,
}

impl OwnReason {
    fn reason(self) -> Reason {
        match self {
            Self::CpuUsageFromRequest => Reason::CpuUsageFromRequest,
            Self::CpuUsageUnknown => Reason::CpuUsageUnknown,
            Self::MemoryUsageFromRequest => Reason::MemoryUsageFromRequest,
            Self::MemoryUsageUnknown => Reason::MemoryUsageUnknown,
        }
    }
}

/// The dropped values a collector recorded (`dropped_values`), by the pod each names: the
/// collector writes each as `{figure} of {namespace}/{pod} in the window starting ...` (names
/// hold no space or `/`, so the split is exact). Empty, and free, when nothing was dropped.
fn dropped_by_pod(snapshot: &Snapshot) -> HashMap<(&str, &str), Vec<&str>> {
    let mut by_pod: HashMap<(&str, &str), Vec<&str>> = HashMap::new();
    for line in &snapshot.dropped_values {
        let named = line
            .split_once(" of ")
            .and_then(|(_, rest)| rest.split_once(' '))
            .and_then(|(who, _)| who.split_once('/'));
        if let Some(pod) = named {
            by_pod.entry(pod).or_default().push(line);
        }
    }
    by_pod
}

/// Per-node attribution factors computed in the second pass.
#[derive(Clone, Copy, Default)]
struct NodeFactors {
    /// Energy per core of pod CPU (classic: whole power; full: dynamic power), joules.
    per_core: Ranged,
    /// Energy given to every pod regardless of usage (classic with no CPU used), joules.
    per_pod: Ranged,
    /// Energy per byte of pod memory (full), joules.
    per_byte: Ranged,
    /// Idle pool per unit of idle weight (full), joules.
    idle_per_weight: Ranged,
    /// Embodied grams for a share of 1.
    embodied_per_share: Ranged,
    /// Normalisers for over-committed nodes (1 when not over-committed).
    idle_norm: f64,
    embodied_norm: f64,
    memory_norm: f64,
}

#[derive(Clone, Copy, Default)]
struct NodeSums {
    pods: u32,
    cpu: f64,
    cpu_reserved: f64,
    memory: f64,
    idle_weight: f64,
    embodied_share: f64,
}

/// Estimates the footprint of one snapshot with the given reference data.
pub fn estimate_with(
    snapshot: &Snapshot,
    options: &EstimateOptions,
    reference: &ReferenceData,
) -> Result<Footprint, SnapshotError> {
    estimate_inner(snapshot, None, options, reference, None)
}

/// What every part of one window shares: its measured grid intensities and its embodied
/// figures, keyed once (see [`estimate_part`]).
pub(crate) struct WindowShared<'a> {
    grid_intensity: &'a std::collections::BTreeMap<String, crate::units::GramsPerKwh>,
    embodied: EmbodiedTable,
}

impl<'a> WindowShared<'a> {
    /// The shared inputs of `whole` (a snapshot that validates).
    pub(crate) fn new(whole: &'a Snapshot) -> Self {
        Self {
            grid_intensity: &whole.grid_intensity,
            embodied: embodied_table(whole),
        }
    }
}

/// Estimates a part of a window: `part` holds some of the window's nodes and pods (and costs)
/// with no grid intensities or embodied figures of its own; those come from `shared`, the whole
/// window's. Every pod and node row, and the totals, are those [`estimate_with`] gives for the
/// part with the window's intensities and embodied figures; the warnings do not mention zones
/// the part has no node in.
///
/// With `keep`, the footprint has the rows of the pods `keep` selects only (each computed as
/// without it: every pod still counts in its node's figures), and its totals' pod counts and
/// cost are theirs; the node rows and the energy and emission totals are the whole part's.
pub(crate) fn estimate_part(
    part: &Snapshot,
    shared: &WindowShared<'_>,
    options: &EstimateOptions,
    reference: &ReferenceData,
    keep: Option<&(dyn Fn(&Pod) -> bool + Sync)>,
) -> Result<Footprint, SnapshotError> {
    estimate_inner(part, Some(shared), options, reference, keep)
}

fn estimate_inner(
    snapshot: &Snapshot,
    shared: Option<&WindowShared<'_>>,
    options: &EstimateOptions,
    reference: &ReferenceData,
    keep: Option<&(dyn Fn(&Pod) -> bool + Sync)>,
) -> Result<Footprint, SnapshotError> {
    options.validate()?;
    let cost_index = snapshot.validate_indexed()?;
    let classic = options.methodology == Methodology::Classic;
    let seconds = snapshot.duration().0;
    let hours = seconds / 3600.0;

    // Node slots: the snapshot's nodes, then one synthetic node per unknown node name.
    let mut slot_of: FastMap<&str, u32> = fast_map(snapshot.nodes.len());
    for (slot, node) in snapshot.nodes.iter().enumerate() {
        slot_of.insert(&node.name, slot as u32);
    }
    let mut synthetic: Vec<Option<Arc<str>>> = Vec::new();
    let mut synthetic_slot: HashMap<Option<&str>, u32> = HashMap::new();
    let real = snapshot.nodes.len() as u32;

    // Pass 1: inputs per pod (on every core; a pod whose node is not in the snapshot gets
    // `UNKNOWN_SLOT` here), then synthetic slots in pod order.
    let mut inputs: Vec<PodInput> = Vec::with_capacity(snapshot.pods.len());
    let pod_input = |pod: &Pod| pod_input(classic, &slot_of, pod);
    if snapshot.pods.len() < PARALLEL_PODS {
        inputs.extend(snapshot.pods.iter().map(pod_input));
    } else {
        snapshot
            .pods
            .par_iter()
            .with_min_len(POD_CHUNK)
            .map(pod_input)
            .collect_into_vec(&mut inputs);
    }
    for (pod, input) in snapshot.pods.iter().zip(&mut inputs) {
        if input.slot == UNKNOWN_SLOT {
            input.slot = *synthetic_slot
                .entry(pod.node.as_deref())
                .or_insert_with(|| {
                    synthetic.push(pod.node.clone());
                    real + synthetic.len() as u32 - 1
                });
        }
    }
    let slots = real as usize + synthetic.len();
    let mut sums = vec![NodeSums::default(); slots];
    for input in &inputs {
        let node = &mut sums[input.slot as usize];
        node.pods += 1;
        node.cpu += input.cpu;
        node.cpu_reserved += input.cpu_reserved;
        node.memory += input.memory;
    }

    // Node models.
    let resolver = match shared {
        Some(shared) => Resolver::for_part(
            snapshot,
            shared.grid_intensity,
            &shared.embodied,
            options,
            reference,
        ),
        None => Resolver::new(snapshot, options, reference),
    };
    let mut models: Vec<NodeModel> = Vec::with_capacity(slots);
    for slot in 0..slots {
        let demand = Demand {
            cpu_usage: sums[slot].cpu,
            cpu_reserved: sums[slot].cpu_reserved,
        };
        let model = if slot < real as usize {
            let node = &snapshot.nodes[slot];
            resolver.resolve(Some(node), Some(&node.name), demand)
        } else {
            resolver.resolve(None, synthetic[slot - real as usize].as_ref(), demand)
        };
        models.push(model);
    }

    // Shares that need the node model (capacities), summed per node.
    for input in &inputs {
        let model = &models[input.slot as usize];
        let node = &mut sums[input.slot as usize];
        node.idle_weight += idle_weight(options.idle_policy, input, model);
        node.embodied_share += embodied_share(classic, input, model);
    }

    // Pass 2: per-node factors and node rows.
    let mut factors = vec![NodeFactors::default(); slots];
    let mut node_rows: Vec<NodeFootprint> = Vec::with_capacity(slots);
    let mut extra_reasons: Vec<Vec<Reason>> = vec![Vec::new(); slots];
    for slot in 0..slots {
        let (row, node_factors) = node_energy(
            classic,
            options.idle_policy,
            &models[slot],
            sums[slot],
            seconds,
            hours,
            &mut extra_reasons[slot],
        );
        factors[slot] = node_factors;
        node_rows.push(row);
    }
    // Node-level reasons discovered in pass 2 (over-capacity) join the node's context.
    for slot in 0..slots {
        if !extra_reasons[slot].is_empty() {
            let mut context = (*models[slot].context).clone();
            let mut all: Vec<Reason> = context.reasons.iter().cloned().collect();
            all.append(&mut extra_reasons[slot]);
            context.reasons = all.into();
            let context = Arc::new(context);
            models[slot].context = context.clone();
            node_rows[slot].node = context;
        }
    }

    // Pass 3: pod rows, on every core; the rows stay in pod order.
    let dropped = dropped_by_pod(snapshot);
    let row = |((pod, input), &cost): ((&Pod, &PodInput), &Option<Money>)| {
        let model = &models[input.slot as usize];
        pod_row(
            classic,
            options.idle_policy,
            pod,
            input,
            cost,
            model,
            &factors[input.slot as usize],
            &dropped,
        )
    };
    let mut pods = Vec::with_capacity(if keep.is_some() {
        0
    } else {
        snapshot.pods.len()
    });
    // A part being priced (only the selected pods' rows) or a small window: on this thread.
    if keep.is_some() || snapshot.pods.len() < PARALLEL_PODS {
        pods.extend(
            snapshot
                .pods
                .iter()
                .zip(&inputs)
                .zip(&cost_index.by_pod)
                .filter(|((pod, _), _)| keep.is_none_or(|keep| keep(pod)))
                .map(row),
        );
    } else {
        snapshot
            .pods
            .par_iter()
            .zip(&inputs)
            .zip(&cost_index.by_pod)
            .with_min_len(POD_CHUNK)
            .map(row)
            .collect_into_vec(&mut pods);
    }
    drop(inputs);
    // Totals in pod order, as one pass would sum them.
    let mut totals = Totals {
        pods: pods.len(),
        ..Totals::default()
    };
    // Each row's cost is its pod's entry (the rows are the pods', or the kept ones', in order).
    for row in &pods {
        if row.reasons.any() {
            totals.estimated_pods += 1;
        }
        if row.cost.is_none() {
            totals.pods_without_cost += 1;
        }
        totals.cost += row.cost.unwrap_or(Money::ZERO);
    }

    for row in &node_rows {
        totals.energy_joules += row.energy_joules;
        totals.co2e_grams += row.co2e_grams;
        totals.embodied_co2e_grams += row.embodied_co2e_grams;
    }

    let mut warnings: Vec<String> = snapshot
        .degraded_sources
        .iter()
        .map(|n| {
            format!(
                "{} {}: {}; {}",
                n.source,
                n.kind.description(),
                n.detail,
                n.source.fallback()
            )
        })
        .collect();
    if !snapshot.dropped_values.is_empty() {
        const SHOWN: usize = 5;
        let mut listed = snapshot
            .dropped_values
            .iter()
            .take(SHOWN)
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join("; ");
        if snapshot.dropped_values.len() > SHOWN {
            let _ = write!(
                listed,
                "; and {} more",
                snapshot.dropped_values.len() - SHOWN
            );
        }
        warnings.push(format!(
            "{} unusable value(s) from the sources dropped (those pods' figures are unknown and \
             flagged): {listed}",
            snapshot.dropped_values.len()
        ));
    }
    if !cost_index.orphans.is_empty() {
        let orphans: Vec<String> = cost_index
            .orphans
            .iter()
            .map(|(namespace, pod)| format!("{namespace}/{pod}"))
            .collect();
        warnings.push(format!(
            "{} cost entr{} for pods not in the snapshot ignored: {}",
            orphans.len(),
            if orphans.len() == 1 { "y" } else { "ies" },
            orphans.join(", ")
        ));
    }
    let mut unused_zones: Vec<&str> = snapshot
        .grid_intensity
        .keys()
        .filter(|z| {
            !models.iter().any(|m| {
                m.context
                    .zone
                    .as_deref()
                    .is_some_and(|mz| mz.eq_ignore_ascii_case(z))
            })
        })
        .map(String::as_str)
        .collect();
    if !unused_zones.is_empty() {
        unused_zones.sort_unstable();
        warnings.push(format!(
            "grid intensity given for zones no node is in: {}",
            unused_zones.join(", ")
        ));
    }

    Ok(Footprint {
        schema: FOOTPRINT_SCHEMA,
        methodology: MethodologyInfo::new(
            options.methodology,
            options.idle_policy,
            reference.version(),
        ),
        cluster: snapshot.cluster.clone(),
        window_start: snapshot.window_start,
        window_end: snapshot.window_end,
        pods,
        nodes: node_rows,
        totals,
        warnings,
    })
}

/// Below this many pods the engine runs on the calling thread only (the figures are the same
/// either way).
const PARALLEL_PODS: usize = 16_384;

/// The fewest pods a thread takes at a time.
const POD_CHUNK: usize = 4_096;

/// The slot of a pod whose node is not in the snapshot, until pass 1 gives it a synthetic one.
const UNKNOWN_SLOT: u32 = u32::MAX;

/// What pass 1 learns about one pod: its node's slot (`UNKNOWN_SLOT` when the node is not in
/// the snapshot) and the usage the figures are computed from.
fn pod_input(classic: bool, slot_of: &FastMap<&str, u32>, pod: &Pod) -> PodInput {
    let slot = pod
        .node
        .as_deref()
        .and_then(|n| slot_of.get(n))
        .copied()
        .unwrap_or(UNKNOWN_SLOT);
    PodInput {
        slot,
        ..usage_input(classic, pod)
    }
}

/// The usage the figures of `pod` are computed from (slot 0: the caller places it).
fn usage_input(classic: bool, pod: &Pod) -> PodInput {
    let request = pod.cpu_request_cores.map_or(0.0, |c| c.0);
    let (cpu, cpu_reason) = match pod.cpu_usage_cores {
        Some(cores) => (cores.0, None),
        None if !classic && request > 0.0 => (request, Some(OwnReason::CpuUsageFromRequest)),
        None => (0.0, Some(OwnReason::CpuUsageUnknown)),
    };
    let memory_request = pod.memory_request_bytes.map_or(0.0, |b| b.0);
    let (memory, memory_reason) = if classic {
        (0.0, None)
    } else {
        match pod.memory_usage_bytes {
            Some(bytes) => (bytes.0, None),
            None if memory_request > 0.0 => {
                (memory_request, Some(OwnReason::MemoryUsageFromRequest))
            }
            None => (0.0, Some(OwnReason::MemoryUsageUnknown)),
        }
    };
    PodInput {
        slot: 0,
        cpu,
        cpu_reserved: request.max(cpu),
        memory,
        memory_reserved: memory_request.max(memory),
        cpu_reason,
        memory_reason,
    }
}

/// One pod's row (pass 3).
#[allow(clippy::too_many_arguments)]
fn pod_row(
    classic: bool,
    policy: IdlePolicy,
    pod: &Pod,
    input: &PodInput,
    cost: Option<Money>,
    model: &NodeModel,
    factor: &NodeFactors,
    dropped: &HashMap<(&str, &str), Vec<&str>>,
) -> PodFootprint {
    let (energy, co2e, embodied) = pod_figures(classic, policy, input, model, factor);
    let mut own = Vec::new();
    if let Some(reason) = input.cpu_reason {
        own.push(reason.reason());
    }
    if let Some(reason) = input.memory_reason {
        own.push(reason.reason());
    }
    if !dropped.is_empty()
        && let Some(lines) = dropped.get(&(&*pod.namespace, &*pod.name))
    {
        own.extend(lines.iter().map(|line| Reason::ValueDropped {
            value: Arc::from(*line),
        }));
    }
    if cost.is_none() {
        own.push(Reason::NoCost);
    }
    PodFootprint {
        namespace: pod.namespace.clone(),
        pod: pod.name.clone(),
        owner_kind: pod.owner_kind.clone(),
        owner_name: pod.owner_name.clone(),
        node: model.context.clone(),
        cpu_usage_cores: pod.cpu_usage_cores,
        cpu_request_cores: pod.cpu_request_cores,
        memory_usage_bytes: pod.memory_usage_bytes,
        memory_request_bytes: pod.memory_request_bytes,
        restarts: pod.restarts,
        energy_joules: energy,
        co2e_grams: co2e,
        embodied_co2e_grams: embodied,
        cost,
        reasons: Reasons {
            node: model.context.reasons.clone(),
            own,
        },
        labels: pod.labels.clone(),
    }
}

/// A pod's energy, operational emissions and embodied emissions on its node (pass 3).
#[inline]
fn pod_figures(
    classic: bool,
    policy: IdlePolicy,
    input: &PodInput,
    model: &NodeModel,
    factor: &NodeFactors,
) -> (Ranged, Ranged, Ranged) {
    let mut energy = factor.per_core.scale(input.cpu) + factor.per_pod;
    if !classic {
        energy += factor.per_byte.scale(input.memory * factor.memory_norm)
            + factor
                .idle_per_weight
                .scale(idle_weight(policy, input, model) * factor.idle_norm);
    }
    let co2e = emissions(energy, model);
    let embodied = factor
        .embodied_per_share
        .scale(embodied_share(classic, input, model) * factor.embodied_norm);
    (energy, co2e, embodied)
}

#[inline]
fn emissions(energy: Ranged, model: &NodeModel) -> Ranged {
    energy.scale(1.0 / JOULES_PER_KWH) * model.context.pue * model.context.grid_intensity
}

/// Weight of a pod in its node's idle pool (`full`).
#[inline]
fn idle_weight(policy: IdlePolicy, input: &PodInput, model: &NodeModel) -> f64 {
    match policy {
        IdlePolicy::Request => {
            if model.vcpus > 0.0 {
                input.cpu_reserved / model.vcpus
            } else {
                0.0
            }
        }
        IdlePolicy::Usage => input.cpu,
        IdlePolicy::Even => 1.0,
        IdlePolicy::Overhead => 0.0,
    }
}

/// Share of the node's embodied emissions a pod carries.
#[inline]
fn embodied_share(classic: bool, input: &PodInput, model: &NodeModel) -> f64 {
    let capacity = model.embodied_cpu_capacity;
    let cpu_share = if capacity > 0.0 && input.cpu_reserved > 0.0 {
        (input.cpu_reserved / capacity).min(1.0)
    } else {
        0.0
    };
    if classic {
        return cpu_share;
    }
    let memory_share = match model.memory_capacity {
        Some(bytes) if bytes > 0.0 => (input.memory_reserved / bytes).min(1.0),
        _ => 0.0,
    };
    cpu_share.max(memory_share)
}

/// Node energy and the factors that split it between pods and overhead.
fn node_energy(
    classic: bool,
    policy: IdlePolicy,
    model: &NodeModel,
    sums: NodeSums,
    seconds: f64,
    hours: f64,
    reasons: &mut Vec<Reason>,
) -> (NodeFootprint, NodeFactors) {
    let (factors, totals) = node_factors(classic, policy, model, sums, seconds, hours, reasons);
    let NodeTotals {
        utilisation,
        energy,
        idle_energy,
        overhead,
        embodied,
        unallocated_embodied,
    } = totals;
    let row = NodeFootprint {
        node: model.context.clone(),
        vcpus: model.vcpus,
        cpu_usage_cores: Cores(sums.cpu),
        utilisation,
        pods: sums.pods as usize,
        energy_joules: energy,
        idle_energy_joules: idle_energy,
        overhead_energy_joules: overhead,
        co2e_grams: emissions(energy, model),
        overhead_co2e_grams: emissions(overhead, model),
        embodied_co2e_grams: embodied,
        unallocated_embodied_co2e_grams: unallocated_embodied,
    };
    (row, factors)
}

/// A node's own figures for a window, before they become its row.
struct NodeTotals {
    utilisation: f64,
    energy: Ranged,
    idle_energy: Ranged,
    overhead: Ranged,
    embodied: Ranged,
    unallocated_embodied: Ranged,
}

/// The factors that split a node's energy between its pods and overhead, and the node's own
/// figures ([`node_energy`] makes its row of them; pricing needs the factors alone).
fn node_factors(
    classic: bool,
    policy: IdlePolicy,
    model: &NodeModel,
    sums: NodeSums,
    seconds: f64,
    hours: f64,
    reasons: &mut Vec<Reason>,
) -> (NodeFactors, NodeTotals) {
    let name = || {
        model
            .context
            .name
            .clone()
            .unwrap_or_else(|| Arc::from("(none)"))
    };
    let utilisation = if model.vcpus > 0.0 {
        if sums.cpu > model.vcpus * (1.0 + 1e-9) {
            reasons.push(Reason::NodeCpuOverCapacity {
                node: name(),
                usage: sums.cpu,
                capacity: model.vcpus,
            });
        }
        (sums.cpu / model.vcpus).min(1.0)
    } else {
        0.0
    };
    // CPU power is `min + u × (max − min)` (u: the utilisation). The dynamic range `max − min` is
    // carried as its own coefficient so every formula below is monotone in every coefficient.
    let dynamic_watts = Ranged::new(
        model.cpu_max_watts.point - model.cpu_min_watts.point,
        (model.cpu_max_watts.low - model.cpu_min_watts.low).max(0.0),
        (model.cpu_max_watts.high - model.cpu_min_watts.high).max(0.0),
    );
    let cpu_idle = model.cpu_min_watts.scale(seconds);
    let cpu_dynamic = dynamic_watts.scale(utilisation * seconds);
    let mut factors = NodeFactors {
        idle_norm: 1.0,
        embodied_norm: 1.0,
        memory_norm: 1.0,
        ..NodeFactors::default()
    };
    let node_embodied = model.embodied_window(hours);
    factors.embodied_per_share = node_embodied;

    let (energy, idle_energy, overhead) = if classic {
        let energy = cpu_idle + cpu_dynamic;
        if sums.cpu > 0.0 {
            factors.per_core = energy.scale(1.0 / sums.cpu);
            (energy, cpu_idle, Ranged::ZERO)
        } else if sums.pods > 0 {
            factors.per_pod = cpu_idle.scale(1.0 / f64::from(sums.pods));
            (energy, cpu_idle, Ranged::ZERO)
        } else {
            (energy, cpu_idle, energy)
        }
    } else {
        let memory_energy = model.memory_watts.scale(seconds);
        let energy = cpu_idle + cpu_dynamic + memory_energy;
        // Fraction of the memory power explained by pod memory.
        let memory_fraction = match model.memory_capacity {
            Some(capacity) if capacity > 0.0 => {
                factors.per_byte = memory_energy.scale(1.0 / capacity);
                let fraction = sums.memory / capacity;
                if fraction > 1.0 {
                    factors.memory_norm = 1.0 / fraction;
                    reasons.push(Reason::NodeOvercommitted { node: name() });
                    1.0
                } else {
                    fraction
                }
            }
            _ => 0.0,
        };
        if sums.cpu > 0.0 {
            factors.per_core = cpu_dynamic.scale(1.0 / sums.cpu);
        }
        let idle_pool = cpu_idle + memory_energy.scale(1.0 - memory_fraction);
        // Share of the idle pool attributed to pods.
        let covered = if sums.pods == 0 {
            0.0
        } else if policy == IdlePolicy::Usage && sums.cpu <= 0.0 {
            // No CPU used: split evenly, as GreenKube does.
            factors.per_pod = idle_pool.scale(1.0 / f64::from(sums.pods));
            1.0
        } else if sums.idle_weight > 0.0 {
            factors.idle_per_weight = idle_pool;
            match policy {
                IdlePolicy::Request if sums.idle_weight <= 1.0 => sums.idle_weight,
                IdlePolicy::Request => {
                    reasons.push(Reason::NodeOvercommitted { node: name() });
                    factors.idle_norm = 1.0 / sums.idle_weight;
                    1.0
                }
                _ => {
                    factors.idle_norm = 1.0 / sums.idle_weight;
                    1.0
                }
            }
        } else {
            0.0
        };
        let overhead = idle_pool.scale(1.0 - covered);
        (energy, cpu_idle + memory_energy, overhead)
    };

    if sums.embodied_share > 1.0 + 1e-9 && !classic {
        factors.embodied_norm = 1.0 / sums.embodied_share;
    }
    let pods_embodied_share = if classic {
        sums.embodied_share
    } else {
        sums.embodied_share.min(1.0)
    };
    let unallocated_share = (1.0 - pods_embodied_share).max(0.0);
    let unallocated_embodied = node_embodied.scale(unallocated_share);
    // In `classic` an over-committed node's pods may carry more than the node's figure.
    let embodied_total = node_embodied.scale(pods_embodied_share.max(1.0));

    let totals = NodeTotals {
        utilisation,
        energy,
        idle_energy,
        overhead,
        embodied: embodied_total,
        unallocated_embodied,
    };
    (factors, totals)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A part estimated keeping some pods' rows: those rows, the node rows and the energy and
    /// emission totals are the whole part's; the pod counts and cost are the kept pods'.
    #[test]
    fn a_part_keeping_some_rows_makes_those_rows_only() {
        let snapshot = Snapshot::from_json_str(
            r#"{"schema":"greenkube.snapshot/v1","cluster":"c",
            "window_start":"2025-06-02T10:00:00Z","window_end":"2025-06-02T10:05:00Z",
            "nodes":[{"name":"n1","provider":"aws","instance_type":"m5.large","region":"eu-west-3"},
                     {"name":"n2","provider":"aws","instance_type":"m5.xlarge","region":"eu-west-3"}],
            "pods":[{"namespace":"a","name":"p1","node":"n1","cpu_usage_cores":0.5,"cpu_request_cores":1},
                    {"namespace":"a","name":"p2","node":"n1","cpu_usage_cores":0.2},
                    {"namespace":"b","name":"p3","node":"n2","cpu_request_cores":0.5},
                    {"namespace":"b","name":"p4","node":"n2","cpu_usage_cores":1.5}],
            "costs":[{"namespace":"a","pod":"p2","cost":0.5},{"namespace":"b","pod":"p4","cost":0.25}]}"#,
        )
        .unwrap();
        let options = EstimateOptions::default();
        let reference = ReferenceData::embedded();
        let whole = estimate_with(&snapshot, &options, reference).unwrap();
        let shared = WindowShared::new(&snapshot);
        let all = estimate_part(&snapshot, &shared, &options, reference, None).unwrap();
        assert_eq!(all.pods, whole.pods);
        let keep = |pod: &Pod| pod.name.ends_with('2') || pod.name.ends_with('3');
        let kept = estimate_part(&snapshot, &shared, &options, reference, Some(&keep)).unwrap();
        let expected: Vec<_> = whole
            .pods
            .iter()
            .filter(|p| p.pod.ends_with('2') || p.pod.ends_with('3'))
            .cloned()
            .collect();
        assert_eq!(kept.pods, expected);
        assert_eq!(kept.nodes, whole.nodes);
        assert_eq!(kept.totals.energy_joules, whole.totals.energy_joules);
        assert_eq!(kept.totals.co2e_grams, whole.totals.co2e_grams);
        assert_eq!(
            (
                kept.totals.pods,
                kept.totals.pods_without_cost,
                kept.totals.cost
            ),
            (2, 1, Money(0.5))
        );
        assert_eq!(
            (
                whole.totals.pods,
                whole.totals.pods_without_cost,
                whole.totals.cost
            ),
            (4, 2, Money(0.75))
        );
    }
}
