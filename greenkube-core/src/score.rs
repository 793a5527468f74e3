//! Sustainability score: 0 to 100 over seven weighted dimensions, from a history of footprints.
//!
//! The dimensions and weights are GreenKube's (reference section 5.8). Each dimension scores 0 to
//! 100, rounded to 0.1; the overall score is `Σ weight × dimension score`, rounded to 0.1 and
//! clamped to 0–100. A dimension scores the neutral 50 **only** when the history has no data for
//! it, and then says so (`has_data = false` and a detail starting with "no data").
//!
//! | Dimension | Weight | Measure |
//! |---|---|---|
//! | `resource_efficiency` | 0.25 | Per pod row with a request and a usage: the mean of `min(usage / request, 1)` over CPU and memory (those available), weighted by the row's energy (by its duration when no row has energy); × 100. |
//! | `carbon_efficiency` | 0.20 | Over pod rows with energy: `grid intensity × PUE` (PUE below 1 counts as 1), energy-weighted; `100 × (1 − mean / 800)`, at least 0. |
//! | `waste_elimination` | 0.15 | `((1 − zombie workloads / workloads) × 0.7 + (1 − idle namespaces / namespaces) × 0.3) × 100`, over workloads and namespaces with CPU usage ([`crate::waste`] says which are zombies and idle). |
//! | `node_efficiency` | 0.15 | Per node: the time-weighted mean of pod CPU / capacity per window (each window capped at 100 %); `min(util / 0.7, 1) × 100`; mean over nodes weighted by the time each was observed. |
//! | `scaling_practices` | 0.10 | Over workloads with at least 3 hourly CPU points and a CPU request: `(1 − (autoscaling candidates / n × 0.6 + off-peak candidates / n × 0.4)) × 100`. |
//! | `carbon_aware_scheduling` | 0.10 | `(1 − workloads whose mean grid intensity exceeds 1.5 × their zone's mean / workloads with a zone) × 100`. |
//! | `stability` | 0.05 | `max(0, 100 − 10 × restarts per pod-day)`. |
//!
//! What differs from the original, and why:
//!
//! * **Rates, not window totals** (reference section 13 item 19). Zombie workloads and idle
//!   namespaces are those of [`crate::waste`], the recommender's own rule: a low mean CPU and a
//!   low peak while costing more than a threshold per day (or, with no cost data, while reserving
//!   CPU). Restarts are counted per pod-day.
//!   Every mean is weighted by time or energy, both proportional to window length, so the same
//!   load observed as twelve 5-minute windows or one 1-hour window scores the same.
//! * **Targets are workloads** (owner kind and name, a ReplicaSet folded into its Deployment, see
//!   [`workload_key`]), so a rollout that renames pods does not change the counts. A workload's
//!   CPU is the sum over its pods.
//! * **Scaling points are hourly**: a workload's CPU is averaged per UTC hour (the original
//!   reads hourly rollups beyond 24 hours). Coefficient of variation, spike ratio (max / mean)
//!   and the off-peak hour-of-day profile are computed over those points, so they do not depend
//!   on the sampling window either. Windows longer than one hour contribute no point (they
//!   cannot show hourly variation). Workloads an HPA governs (matched on namespace, kind, name)
//!   are never autoscaling candidates; they still count among the workloads, as a good practice.
//! * **Node efficiency is measured** from the footprints' node rows (the original's only caller
//!   passed no node information, leaving it at 50). Capacity is the inventory node's
//!   `cpu_capacity_cores` when the inventory has the node, else the snapshot's, else the vCPUs
//!   the power model used (not for nodes synthesised for orphan pods).
//! * **Carbon-aware scheduling** compares each workload's energy-weighted mean intensity with
//!   the time-weighted mean intensity of its zone (from node rows): a workload that runs evenly
//!   scores a ratio of 1 whatever the zone's daily cycle.
//! * **System namespaces** ([`ScoreConfig::system_namespaces`]) are left out of the workload
//!   dimensions (resource efficiency, waste, scaling, carbon-aware scheduling, stability), from
//!   both numerator and denominator, unless [`ScoreConfig::include_system_namespaces`]. Carbon
//!   and node efficiency are physical and count every pod.
//!
//! The state kept per workload is a few sums, the open hour and 24 hour-of-day buckets, so a
//! history of millions of rows is scored in one pass without holding it: feed windows one at a
//! time to a [`ScoreBuilder`]. Windows should come in time order (as `greenkube estimate` writes
//! them); an hour split across out-of-order windows makes two hourly points.

use std::collections::HashSet;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::aggregate::workload_key;
use crate::fastmap::FastMap;
use crate::footprint::{Footprint, NodeFootprint, PodFootprint};
use crate::inventory::Inventory;
pub use crate::waste::SYSTEM_NAMESPACES;
use crate::waste::{
    DailyProfile, IdleRule, OffPeakRule, UsageTotals, WindowUsage, default_system_namespaces,
};

/// The seven dimensions, in order, with their weights (they sum to 1).
pub const DIMENSIONS: [(&str, f64); 7] = [
    ("resource_efficiency", 0.25),
    ("carbon_efficiency", 0.20),
    ("waste_elimination", 0.15),
    ("node_efficiency", 0.15),
    ("scaling_practices", 0.10),
    ("carbon_aware_scheduling", 0.10),
    ("stability", 0.05),
];

/// The score a dimension takes when the history has no data for it.
pub const NO_DATA_SCORE: f64 = 50.0;

const SECONDS_PER_DAY: f64 = 86_400.0;
const MS_PER_HOUR: i64 = 3_600_000;

/// Thresholds of the score. Every field has a default; a JSON object may give any subset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScoreConfig {
    /// Count system namespaces in the workload dimensions (default `false`).
    pub include_system_namespaces: bool,
    /// The system namespaces (default [`SYSTEM_NAMESPACES`]).
    pub system_namespaces: Vec<String>,
    /// Zombie workload (the rule: [`IdleRule`]): mean CPU, summed over its pods, below this
    /// many cores (default [`IdleRule::ZOMBIE`]'s 0.001)...
    pub zombie_max_cpu_cores: f64,
    /// ... and peak CPU below this many cores (default 0.005) ...
    pub zombie_max_peak_cpu_cores: f64,
    /// ... while costing more than this per day (default 0.01, in the cost source's currency)...
    pub zombie_min_cost_per_day: f64,
    /// ... or, with no cost data, reserving at least this many cores (default 0.01).
    pub zombie_min_reserved_cpu_cores: f64,
    /// Idle namespace (the same rule over all its pods): mean CPU below this many cores (default
    /// [`IdleRule::IDLE_NAMESPACE`]'s 0.005)...
    pub idle_namespace_max_cpu_cores: f64,
    /// ... and peak CPU below this many cores (default 0.025) ...
    pub idle_namespace_max_peak_cpu_cores: f64,
    /// ... while costing more than this per day (default 0.01) ...
    pub idle_namespace_min_cost_per_day: f64,
    /// ... or, with no cost data, reserving at least this many cores (default 0.01).
    pub idle_namespace_min_reserved_cpu_cores: f64,
    /// Effective intensity (gCO2e/kWh × PUE) at which carbon efficiency reaches 0 (default 800).
    pub carbon_efficiency_zero_g_per_kwh: f64,
    /// Node CPU utilisation that earns full marks (default 0.7).
    pub node_target_utilisation: f64,
    /// Coefficient of variation of hourly CPU above which a workload may need autoscaling
    /// (default 0.7).
    pub autoscaling_cv: f64,
    /// ... and ratio of the peak hour to the mean above which it does (default 3).
    pub autoscaling_spike_ratio: f64,
    /// Hourly CPU points a workload needs to be judged on scaling (default 3).
    pub scaling_min_points: u32,
    /// An hour of the day is idle when its mean CPU is below this fraction of the busiest hour's
    /// (default 0.05).
    pub off_peak_idle_fraction: f64,
    /// Consecutive idle hours of the day (wrapping midnight, UTC) that make an off-peak candidate
    /// (default 4).
    pub off_peak_min_idle_hours: u32,
    /// Hourly CPU points a workload needs for the off-peak rule (default 6).
    pub off_peak_min_points: u32,
    /// A workload whose mean grid intensity exceeds this multiple of its zone's mean runs at
    /// dirty times (default 1.5).
    pub carbon_aware_ratio: f64,
    /// Points of stability lost per restart per pod-day (default 10: three restarts a day
    /// score 70, ten or more score 0).
    pub stability_points_per_daily_restart: f64,
}

impl Default for ScoreConfig {
    fn default() -> Self {
        Self {
            include_system_namespaces: false,
            system_namespaces: default_system_namespaces(),
            zombie_max_cpu_cores: IdleRule::ZOMBIE.max_mean_cpu_cores,
            zombie_max_peak_cpu_cores: IdleRule::ZOMBIE.max_peak_cpu_cores,
            zombie_min_cost_per_day: IdleRule::ZOMBIE.min_cost_per_day,
            zombie_min_reserved_cpu_cores: IdleRule::ZOMBIE.min_reserved_cpu_cores,
            idle_namespace_max_cpu_cores: IdleRule::IDLE_NAMESPACE.max_mean_cpu_cores,
            idle_namespace_max_peak_cpu_cores: IdleRule::IDLE_NAMESPACE.max_peak_cpu_cores,
            idle_namespace_min_cost_per_day: IdleRule::IDLE_NAMESPACE.min_cost_per_day,
            idle_namespace_min_reserved_cpu_cores: IdleRule::IDLE_NAMESPACE.min_reserved_cpu_cores,
            carbon_efficiency_zero_g_per_kwh: 800.0,
            node_target_utilisation: 0.7,
            autoscaling_cv: 0.7,
            autoscaling_spike_ratio: 3.0,
            scaling_min_points: 3,
            off_peak_idle_fraction: OffPeakRule::DEFAULT.idle_fraction,
            off_peak_min_idle_hours: OffPeakRule::DEFAULT.min_idle_hours,
            off_peak_min_points: OffPeakRule::DEFAULT.min_points,
            carbon_aware_ratio: 1.5,
            stability_points_per_daily_restart: 10.0,
        }
    }
}

crate::waste::waste_rules!(ScoreConfig);

impl ScoreConfig {
    /// The off-peak rule with these thresholds.
    pub fn off_peak_rule(&self) -> OffPeakRule {
        OffPeakRule {
            idle_fraction: self.off_peak_idle_fraction,
            min_idle_hours: self.off_peak_min_idle_hours,
            min_points: self.off_peak_min_points,
        }
    }
}

/// One dimension of the score.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Dimension {
    /// Name (see [`DIMENSIONS`]).
    pub name: &'static str,
    /// Weight in the overall score.
    pub weight: f64,
    /// Score, 0 to 100, rounded to 0.1; [`NO_DATA_SCORE`] when `has_data` is false.
    pub score: f64,
    /// True when the history had data for this dimension.
    pub has_data: bool,
    /// What was measured, in words.
    pub detail: String,
}

/// The sustainability score of a history.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SustainabilityScore {
    /// Overall score, 0 to 100, rounded to 0.1.
    pub score: f64,
    /// The seven dimensions, in the order of [`DIMENSIONS`].
    pub dimensions: Vec<Dimension>,
    /// Distinct pods (namespace and name) seen.
    pub pods: u64,
    /// Pod rows seen.
    pub rows: u64,
    /// Windows (footprints) seen; one that ends before it starts is counted but not scored.
    pub windows: u64,
}

impl SustainabilityScore {
    /// The dimension of that name.
    pub fn dimension(&self, name: &str) -> Option<&Dimension> {
        self.dimensions.iter().find(|d| d.name == name)
    }
}

/// The overall score from the seven dimension scores, in the order of [`DIMENSIONS`]:
/// `Σ weight × score`, rounded to 0.1, clamped to 0–100.
pub fn overall_score(scores: [f64; 7]) -> f64 {
    let sum: f64 = DIMENSIONS
        .iter()
        .zip(scores)
        .map(|((_, weight), score)| weight * score)
        .sum();
    round1(sum).clamp(0.0, 100.0)
}

/// Scores a whole history at once (see [`ScoreBuilder`] to stream it).
pub fn score(
    history: &[Footprint],
    inventory: Option<&Inventory>,
    config: &ScoreConfig,
) -> SustainabilityScore {
    let mut builder = ScoreBuilder::new(config, inventory);
    for footprint in history {
        builder.observe(footprint);
    }
    builder.finish()
}

/// Computes the score over a history fed one window at a time.
#[derive(Debug)]
pub struct ScoreBuilder {
    config: ScoreConfig,
    hpas: HashSet<(String, String, String)>,
    capacities: FastMap<Arc<str>, f64>,
    namespace_ids: FastMap<Arc<str>, u32>,
    namespaces: Vec<NamespaceState>,
    last_namespace: Option<(Arc<str>, u32)>,
    target_ids: FastMap<TargetKey, u32>,
    targets: Vec<Target>,
    nodes: FastMap<Arc<str>, Mean>,
    zones: FastMap<Arc<str>, Mean>,
    touched_targets: Vec<u32>,
    touched_namespaces: Vec<u32>,
    windows: u64,
    long_windows: u64,
    rows: u64,
    resource_by_energy: Mean,
    resource_by_time: Mean,
    resource_rows: u64,
    carbon: Mean,
    carbon_rows: u64,
    restarts: f64,
    restart_seconds: f64,
    restart_rows: u64,
}

/// A workload: namespace, kind, name.
type TargetKey = (Arc<str>, Arc<str>, Arc<str>);

/// Marks a pod whose namespace is left out.
const EXCLUDED: u32 = u32::MAX;

impl ScoreBuilder {
    /// A builder with these thresholds and, optionally, the cluster's inventory (node capacities
    /// and HPA targets).
    pub fn new(config: &ScoreConfig, inventory: Option<&Inventory>) -> Self {
        let mut hpas = HashSet::new();
        let mut capacities = FastMap::default();
        if let Some(inv) = inventory {
            for h in &inv.hpas {
                hpas.insert((
                    h.namespace.clone(),
                    h.target_kind.clone(),
                    h.target_name.clone(),
                ));
            }
            for n in &inv.nodes {
                if let Some(c) = n
                    .cpu_capacity_cores
                    .filter(|c| c.0 > 0.0 && c.0.is_finite())
                {
                    capacities.insert(n.name.clone(), c.0);
                }
            }
        }
        Self {
            config: config.clone(),
            hpas,
            capacities,
            namespace_ids: FastMap::default(),
            namespaces: Vec::new(),
            last_namespace: None,
            target_ids: FastMap::default(),
            targets: Vec::new(),
            nodes: FastMap::default(),
            zones: FastMap::default(),
            touched_targets: Vec::new(),
            touched_namespaces: Vec::new(),
            windows: 0,
            long_windows: 0,
            rows: 0,
            resource_by_energy: Mean::default(),
            resource_by_time: Mean::default(),
            resource_rows: 0,
            carbon: Mean::default(),
            carbon_rows: 0,
            restarts: 0.0,
            restart_seconds: 0.0,
            restart_rows: 0,
        }
    }

    /// Adds one window.
    pub fn observe(&mut self, footprint: &Footprint) {
        self.windows += 1;
        let window = self.windows;
        let start_ms = footprint.window_start.timestamp_millis();
        let end_ms = footprint.window_end.timestamp_millis();
        if end_ms <= start_ms {
            return;
        }
        let seconds = (end_ms - start_ms) as f64 / 1000.0;
        let hours = HourSlices::of(start_ms, end_ms);
        if hours.len == 0 {
            self.long_windows += 1;
        }

        for node in &footprint.nodes {
            self.observe_node(node, seconds);
        }
        self.touched_targets.clear();
        self.touched_namespaces.clear();
        for pod in &footprint.pods {
            self.observe_pod(pod, window, seconds);
        }
        for &id in &self.touched_targets {
            self.targets[id as usize].close_window(seconds, &hours);
        }
        for &id in &self.touched_namespaces {
            self.namespaces[id as usize].close_window(seconds);
        }
    }

    /// The score of everything observed.
    pub fn finish(mut self) -> SustainabilityScore {
        for t in &mut self.targets {
            t.flush_hour();
        }
        let dimensions = vec![
            self.resource_efficiency(),
            self.carbon_efficiency(),
            self.waste_elimination(),
            self.node_efficiency(),
            self.scaling_practices(),
            self.carbon_aware_scheduling(),
            self.stability(),
        ];
        let scores: [f64; 7] = std::array::from_fn(|i| dimensions[i].score);
        SustainabilityScore {
            score: overall_score(scores),
            dimensions,
            pods: self.namespaces.iter().map(|n| n.pods.len() as u64).sum(),
            rows: self.rows,
            windows: self.windows,
        }
    }

    fn observe_node(&mut self, row: &NodeFootprint, seconds: f64) {
        let ctx = &row.node;
        let intensity = ctx.grid_intensity.point;
        if let Some(zone) = &ctx.zone
            && intensity > 0.0
            && intensity.is_finite()
        {
            self.zones
                .entry(zone.clone())
                .or_default()
                .add(intensity, seconds);
        }
        let Some(name) = &ctx.name else { return };
        let capacity = self
            .capacities
            .get(name)
            .copied()
            .or_else(|| ctx.cpu_capacity_cores.map(|c| c.0))
            .filter(|c| *c > 0.0 && c.is_finite())
            .or_else(|| (!ctx.synthetic && row.vcpus > 0.0).then_some(row.vcpus));
        let Some(capacity) = capacity else { return };
        let used = row.cpu_usage_cores.0;
        if !used.is_finite() {
            return;
        }
        let util = (used / capacity).clamp(0.0, 1.0);
        self.nodes
            .entry(name.clone())
            .or_default()
            .add(util, seconds);
    }

    fn observe_pod(&mut self, pod: &PodFootprint, window: u64, seconds: f64) {
        self.rows += 1;
        let energy = finite_or_zero(pod.energy_joules.point);
        let intensity = finite_or_zero(pod.node.grid_intensity.point);

        // Carbon efficiency: every pod.
        if energy > 0.0 {
            let pue = finite_or_zero(pod.node.pue.point).max(1.0);
            self.carbon.add(intensity.max(0.0) * pue, energy);
            self.carbon_rows += 1;
        }

        let ns = self.namespace_id(&pod.namespace);
        let target = self.target_id(ns, pod);
        if target == EXCLUDED {
            return;
        }

        // Resource efficiency.
        let cpu = usage_ratio(
            pod.cpu_usage_cores.map(|c| c.0),
            pod.cpu_request_cores.map(|c| c.0),
        );
        let memory = usage_ratio(
            pod.memory_usage_bytes.map(|b| b.0),
            pod.memory_request_bytes.map(|b| b.0),
        );
        let ratio = match (cpu, memory) {
            (Some(c), Some(m)) => Some(f64::midpoint(c, m)),
            (Some(r), None) | (None, Some(r)) => Some(r),
            (None, None) => None,
        };
        if let Some(r) = ratio {
            self.resource_rows += 1;
            self.resource_by_time.add(r, seconds);
            if energy > 0.0 {
                self.resource_by_energy.add(r, energy);
            }
        }

        // Stability.
        if let Some(r) = pod.restarts {
            self.restarts += r as f64;
            self.restart_seconds += seconds;
            self.restart_rows += 1;
        }

        let usage = pod.cpu_usage_cores.map(|c| c.0);
        let request = pod.cpu_request_cores.map(|c| c.0);
        let cost = pod.cost.map(|c| c.0);

        let t = &mut self.targets[target as usize];
        if t.window != window {
            t.window = window;
            t.usage = WindowUsage::default();
            self.touched_targets.push(target);
        }
        t.usage.add(usage, request, cost);
        t.requests_cpu |= request.is_some_and(|r| r > 0.0);
        if intensity > 0.0 {
            t.intensity_by_time.add(intensity, seconds);
            if energy > 0.0 {
                t.intensity_by_energy.add(intensity, energy);
            }
            if let Some(zone) = &pod.node.zone
                && t.zone.as_deref() != Some(zone.as_ref())
            {
                t.zone = Some(zone.clone());
            }
        }

        let n = &mut self.namespaces[ns as usize];
        if n.window != window {
            n.window = window;
            n.usage = WindowUsage::default();
            self.touched_namespaces.push(ns);
        }
        n.usage.add(usage, request, cost);
    }

    fn namespace_id(&mut self, namespace: &Arc<str>) -> u32 {
        if let Some((name, id)) = &self.last_namespace
            && name.as_ref() == namespace.as_ref()
        {
            return *id;
        }
        let id = if let Some(&id) = self.namespace_ids.get(namespace.as_ref()) {
            id
        } else {
            let id = self.namespaces.len() as u32;
            let excluded = self.config.excludes(namespace);
            self.namespaces.push(NamespaceState::new(excluded));
            self.namespace_ids.insert(namespace.clone(), id);
            id
        };
        self.last_namespace = Some((namespace.clone(), id));
        id
    }

    fn target_id(&mut self, ns: u32, pod: &PodFootprint) -> u32 {
        let state = &mut self.namespaces[ns as usize];
        if let Some(&id) = state.pods.get(pod.pod.as_ref()) {
            return id;
        }
        let id = if state.excluded {
            EXCLUDED
        } else {
            let (kind, name) = workload_key(
                pod.owner_kind.as_deref(),
                pod.owner_name.as_deref(),
                &pod.pod,
            );
            let key = (pod.namespace.clone(), kind, name);
            if let Some(&id) = self.target_ids.get(&key) {
                id
            } else {
                let id = self.targets.len() as u32;
                let hpa = key.1.as_ref() != "Pod"
                    && self.hpas.contains(&(
                        key.0.to_string(),
                        key.1.to_string(),
                        key.2.to_string(),
                    ));
                self.targets.push(Target::new(hpa));
                self.target_ids.insert(key, id);
                id
            }
        };
        state.pods.insert(pod.pod.clone(), id);
        id
    }

    fn resource_efficiency(&self) -> Dimension {
        let (mean, weighting) = match self.resource_by_energy.mean() {
            Some(m) => (Some(m), "energy-weighted"),
            None => (self.resource_by_time.mean(), "time-weighted"),
        };
        match mean {
            Some(m) => dimension(
                0,
                m * 100.0,
                format!(
                    "{weighting} mean of usage/request (CPU and memory, each capped at 100%): \
                     {:.1}% over {} rows",
                    m * 100.0,
                    count(self.resource_rows)
                ),
            ),
            None => no_data(0, "no pod row has both a request and a usage"),
        }
    }

    fn carbon_efficiency(&self) -> Dimension {
        let zero = self.config.carbon_efficiency_zero_g_per_kwh;
        match self.carbon.mean() {
            Some(m) => dimension(
                1,
                (100.0 * (1.0 - m / zero)).clamp(0.0, 100.0),
                format!(
                    "energy-weighted grid intensity × PUE: {m:.1} gCO2e/kWh over {} rows \
                     (100 at 0, 0 at {zero} or more)",
                    count(self.carbon_rows)
                ),
            ),
            None => no_data(1, "no pod row has energy"),
        }
    }

    fn waste_elimination(&self) -> Dimension {
        let zombie = self.config.zombie_rule();
        let idle_namespace = self.config.idle_namespace_rule();
        let mut workloads = 0u64;
        let mut zombies = 0u64;
        for activity in self.targets.iter().filter_map(|t| t.totals.activity()) {
            workloads += 1;
            zombies += u64::from(zombie.is_idle(&activity));
        }
        let mut namespaces = 0u64;
        let mut idle = 0u64;
        for activity in self
            .namespaces
            .iter()
            .filter(|n| !n.excluded)
            .filter_map(|n| n.totals.activity())
        {
            namespaces += 1;
            idle += u64::from(idle_namespace.is_idle(&activity));
        }
        if workloads == 0 {
            return no_data(2, "no workload has CPU usage");
        }
        let zombie_ratio = zombies as f64 / workloads as f64;
        let idle_ratio = if namespaces == 0 {
            0.0
        } else {
            idle as f64 / namespaces as f64
        };
        dimension(
            2,
            ((1.0 - zombie_ratio) * 0.7 + (1.0 - idle_ratio) * 0.3) * 100.0,
            format!(
                "{} of {} workloads are zombies ({}); {} of {} namespaces idle ({})",
                count(zombies),
                count(workloads),
                rule_in_words(&zombie),
                count(idle),
                count(namespaces),
                rule_in_words(&idle_namespace),
            ),
        )
    }

    fn node_efficiency(&self) -> Dimension {
        let target = self.config.node_target_utilisation;
        let mut score = Mean::default();
        let mut util = Mean::default();
        for node in self.nodes.values() {
            if let Some(u) = node.mean() {
                score.add((u / target).min(1.0) * 100.0, node.weight);
                util.add(u, node.weight);
            }
        }
        let missing = self
            .capacities
            .keys()
            .filter(|n| !self.nodes.contains_key(*n))
            .count();
        let note = if missing > 0 {
            format!(
                "; {} inventory node{} not in the history, not scored",
                count(missing as u64),
                if missing == 1 { " is" } else { "s are" }
            )
        } else {
            String::new()
        };
        match (score.mean(), util.mean()) {
            (Some(s), Some(u)) => dimension(
                3,
                s,
                format!(
                    "mean CPU utilisation {:.1}% of capacity over {} node{} (full marks at \
                     {:.0}%){note}",
                    u * 100.0,
                    count(self.nodes.len() as u64),
                    if self.nodes.len() == 1 { "" } else { "s" },
                    target * 100.0
                ),
            ),
            _ => no_data(3, &format!("no node row with a known CPU capacity{note}")),
        }
    }

    fn scaling_practices(&self) -> Dimension {
        let c = &self.config;
        let off_peak_rule = c.off_peak_rule();
        let mut n = 0u64;
        let mut auto = 0u64;
        let mut off_peak = 0u64;
        let mut governed = 0u64;
        for t in &self.targets {
            let s = &t.scaling;
            if s.points < c.scaling_min_points.max(1) || !t.requests_cpu || s.mean <= 0.0 {
                continue;
            }
            n += 1;
            if t.hpa {
                governed += 1;
            } else {
                let cv = s.std_dev() / s.mean;
                let spike = s.max / s.mean;
                if cv > c.autoscaling_cv && spike > c.autoscaling_spike_ratio {
                    auto += 1;
                }
            }
            if off_peak_rule.run(&s.profile, u64::from(s.points)).is_some() {
                off_peak += 1;
            }
        }
        let long = if self.long_windows > 0 {
            format!(
                "; {} window{} longer than an hour gave no hourly point",
                count(self.long_windows),
                if self.long_windows == 1 { "" } else { "s" }
            )
        } else {
            String::new()
        };
        if n == 0 {
            return no_data(
                4,
                &format!(
                    "no workload has {} hourly CPU points and a CPU request{long}",
                    c.scaling_min_points
                ),
            );
        }
        let nf = n as f64;
        dimension(
            4,
            (1.0 - (auto as f64 / nf * 0.6 + off_peak as f64 / nf * 0.4)) * 100.0,
            format!(
                "{} of {} workloads with {}+ hourly CPU points are autoscaling candidates (CV \
                 above {} and peak/mean above {}), {} off-peak candidates ({}+ consecutive idle \
                 UTC hours); {} governed by an HPA{long}",
                count(auto),
                count(n),
                c.scaling_min_points,
                c.autoscaling_cv,
                c.autoscaling_spike_ratio,
                count(off_peak),
                c.off_peak_min_idle_hours,
                count(governed),
            ),
        )
    }

    fn carbon_aware_scheduling(&self) -> Dimension {
        let ratio = self.config.carbon_aware_ratio;
        let mut n = 0u64;
        let mut high = 0u64;
        for t in &self.targets {
            let Some(zone) = &t.zone else { continue };
            let Some(zone_mean) = self.zones.get(zone).and_then(Mean::mean) else {
                continue;
            };
            let Some(mean) = t.intensity_by_energy.mean().or(t.intensity_by_time.mean()) else {
                continue;
            };
            if zone_mean <= 0.0 {
                continue;
            }
            n += 1;
            if mean > ratio * zone_mean {
                high += 1;
            }
        }
        if n == 0 {
            return no_data(5, "no workload ran in a zone with a known grid intensity");
        }
        dimension(
            5,
            (1.0 - high as f64 / n as f64) * 100.0,
            format!(
                "{} of {} workloads ran at a mean grid intensity above {ratio} × their zone's \
                 mean",
                count(high),
                count(n)
            ),
        )
    }

    fn stability(&self) -> Dimension {
        if self.restart_seconds <= 0.0 {
            return no_data(6, "no pod row reports restarts");
        }
        let per_day = self.restarts / self.restart_seconds * SECONDS_PER_DAY;
        dimension(
            6,
            (100.0 - self.config.stability_points_per_daily_restart * per_day).clamp(0.0, 100.0),
            format!(
                "{per_day:.2} restarts per pod-day over {} rows",
                count(self.restart_rows)
            ),
        )
    }
}

fn dimension(index: usize, score: f64, detail: String) -> Dimension {
    let (name, weight) = DIMENSIONS[index];
    Dimension {
        name,
        weight,
        score: round1(if score.is_finite() { score } else { 0.0 }.clamp(0.0, 100.0)),
        has_data: true,
        detail,
    }
}

fn no_data(index: usize, why: &str) -> Dimension {
    let (name, weight) = DIMENSIONS[index];
    Dimension {
        name,
        weight,
        score: NO_DATA_SCORE,
        has_data: false,
        detail: format!("no data: {why}; neutral {NO_DATA_SCORE}"),
    }
}

/// The idle rule's thresholds, in words.
fn rule_in_words(rule: &IdleRule) -> String {
    format!(
        "mean CPU below {} cores and peak below {} while costing more than {}/day, or reserving \
         {} cores without cost data",
        rule.max_mean_cpu_cores,
        rule.max_peak_cpu_cores,
        rule.min_cost_per_day,
        rule.min_reserved_cpu_cores
    )
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

fn finite_or_zero(x: f64) -> f64 {
    if x.is_finite() { x } else { 0.0 }
}

/// `min(usage / request, 1)` when both are known and the request is positive.
fn usage_ratio(usage: Option<f64>, request: Option<f64>) -> Option<f64> {
    match (usage, request) {
        (Some(u), Some(r)) if r > 0.0 && r.is_finite() && u.is_finite() && u >= 0.0 => {
            Some((u / r).min(1.0))
        }
        _ => None,
    }
}

/// An integer with thousands separators: `1,234`.
fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// A weighted mean in the making.
#[derive(Debug, Clone, Copy, Default)]
struct Mean {
    sum: f64,
    weight: f64,
}

impl Mean {
    #[inline]
    fn add(&mut self, value: f64, weight: f64) {
        if value.is_finite() && weight.is_finite() && weight > 0.0 {
            self.sum += value * weight;
            self.weight += weight;
        }
    }

    fn mean(&self) -> Option<f64> {
        (self.weight > 0.0).then(|| self.sum / self.weight)
    }
}

#[derive(Debug)]
struct NamespaceState {
    excluded: bool,
    /// Pod name → workload id ([`EXCLUDED`] in an excluded namespace).
    pods: FastMap<Arc<str>, u32>,
    window: u64,
    usage: WindowUsage,
    totals: UsageTotals,
}

impl NamespaceState {
    fn new(excluded: bool) -> Self {
        Self {
            excluded,
            pods: FastMap::default(),
            window: 0,
            usage: WindowUsage::default(),
            totals: UsageTotals::default(),
        }
    }

    fn close_window(&mut self, seconds: f64) {
        self.totals.close_window(&self.usage, seconds);
    }
}

/// The hours (since the epoch) a window of at most one hour overlaps, with the overlap in
/// seconds; empty for longer windows.
#[derive(Debug, Clone, Copy)]
struct HourSlices {
    slices: [(i64, f64); 2],
    len: usize,
}

impl HourSlices {
    fn of(start_ms: i64, end_ms: i64) -> Self {
        let mut out = Self {
            slices: [(0, 0.0); 2],
            len: 0,
        };
        if end_ms - start_ms > MS_PER_HOUR {
            return out;
        }
        let first = start_ms.div_euclid(MS_PER_HOUR);
        let last = (end_ms - 1).div_euclid(MS_PER_HOUR);
        if first == last {
            out.slices[0] = (first, (end_ms - start_ms) as f64 / 1000.0);
            out.len = 1;
        } else {
            let boundary = last * MS_PER_HOUR;
            out.slices[0] = (first, (boundary - start_ms) as f64 / 1000.0);
            out.slices[1] = (last, (end_ms - boundary) as f64 / 1000.0);
            out.len = 2;
        }
        out
    }

    fn iter(&self) -> impl Iterator<Item = (i64, f64)> + '_ {
        self.slices[..self.len].iter().copied()
    }
}

/// Hourly CPU points of a workload: the open hour, running moments and the hour-of-day profile.
#[derive(Debug, Clone)]
struct Scaling {
    open_hour: i64,
    open_core_seconds: f64,
    open_seconds: f64,
    points: u32,
    mean: f64,
    m2: f64,
    max: f64,
    profile: DailyProfile,
}

impl Default for Scaling {
    fn default() -> Self {
        Self {
            open_hour: i64::MIN,
            open_core_seconds: 0.0,
            open_seconds: 0.0,
            points: 0,
            mean: 0.0,
            m2: 0.0,
            max: 0.0,
            profile: DailyProfile::default(),
        }
    }
}

impl Scaling {
    fn add(&mut self, hour: i64, cores: f64, seconds: f64) {
        if hour != self.open_hour {
            self.flush();
            self.open_hour = hour;
        }
        self.open_core_seconds += cores * seconds;
        self.open_seconds += seconds;
    }

    /// Closes the open hour into a point (Welford's running mean and variance).
    fn flush(&mut self) {
        if self.open_seconds > 0.0 {
            let x = self.open_core_seconds / self.open_seconds;
            self.points += 1;
            let delta = x - self.mean;
            self.mean += delta / f64::from(self.points);
            self.m2 += delta * (x - self.mean);
            self.max = self.max.max(x);
            self.profile.add(self.open_hour.rem_euclid(24) as usize, x);
        }
        self.open_core_seconds = 0.0;
        self.open_seconds = 0.0;
    }

    /// Population standard deviation of the points.
    fn std_dev(&self) -> f64 {
        if self.points == 0 {
            0.0
        } else {
            (self.m2 / f64::from(self.points)).max(0.0).sqrt()
        }
    }
}

/// What the score keeps per workload.
#[derive(Debug)]
struct Target {
    hpa: bool,
    window: u64,
    usage: WindowUsage,
    totals: UsageTotals,
    /// One of its pods requested CPU (scaling practices judge only such workloads).
    requests_cpu: bool,
    scaling: Scaling,
    intensity_by_energy: Mean,
    intensity_by_time: Mean,
    zone: Option<Arc<str>>,
}

impl Target {
    fn new(hpa: bool) -> Self {
        Self {
            hpa,
            window: 0,
            usage: WindowUsage::default(),
            totals: UsageTotals::default(),
            requests_cpu: false,
            scaling: Scaling::default(),
            intensity_by_energy: Mean::default(),
            intensity_by_time: Mean::default(),
            zone: None,
        }
    }

    fn close_window(&mut self, seconds: f64, hours: &HourSlices) {
        self.totals.close_window(&self.usage, seconds);
        if self.usage.has_cpu() {
            for (hour, overlap) in hours.iter() {
                self.scaling.add(hour, self.usage.cpu(), overlap);
            }
        }
    }

    fn flush_hour(&mut self) {
        self.scaling.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hour_slices_split_at_the_hour() {
        let h = MS_PER_HOUR;
        let s = HourSlices::of(10 * h, 10 * h + 300_000);
        assert_eq!(s.iter().collect::<Vec<_>>(), vec![(10, 300.0)]);
        let s = HourSlices::of(11 * h - 120_000, 11 * h + 180_000);
        assert_eq!(s.iter().collect::<Vec<_>>(), vec![(10, 120.0), (11, 180.0)]);
        let s = HourSlices::of(10 * h, 11 * h);
        assert_eq!(s.iter().collect::<Vec<_>>(), vec![(10, 3600.0)]);
        assert_eq!(HourSlices::of(10 * h, 12 * h).len, 0);
    }

    #[test]
    fn hourly_points_fill_the_daily_profile() {
        let mut s = Scaling::default();
        for h in 0..24 {
            let busy = (9..17).contains(&h);
            s.add(h, if busy { 0.8 } else { 0.005 }, 3600.0);
        }
        s.flush();
        assert_eq!(s.points, 24);
        let run = OffPeakRule::DEFAULT.run(&s.profile, 24).unwrap();
        assert_eq!((run.start, run.hours), (17, 16));
    }

    #[test]
    fn counts_have_separators() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(1234), "1,234");
        assert_eq!(count(1_234_567), "1,234,567");
    }
}
