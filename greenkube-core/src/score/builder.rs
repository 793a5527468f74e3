//! The streaming pass: each window's node and pod rows go to the dimensions' accumulators and to
//! the state kept per workload and per namespace.

use std::collections::HashSet;
use std::sync::Arc;

use super::carbon_aware_scheduling::{WorkloadIntensity, ZoneIntensity};
use super::carbon_efficiency::CarbonEfficiency;
use super::node_efficiency::NodeEfficiency;
use super::resource_efficiency::ResourceEfficiency;
use super::scaling_practices::{HourSlices, WorkloadScaling};
use super::stability::Stability;
use super::{ScoreConfig, SustainabilityScore, finite_or_zero, overall_score};
use crate::aggregate::workload_key;
use crate::fastmap::FastMap;
use crate::footprint::{Footprint, PodFootprint};
use crate::inventory::Inventory;
use crate::waste::{UsageTotals, WindowUsage};

/// Computes the score over a history fed one window at a time.
#[derive(Debug)]
pub struct ScoreBuilder {
    config: ScoreConfig,
    hpas: HashSet<(String, String, String)>,
    namespace_ids: FastMap<Arc<str>, u32>,
    namespaces: Vec<NamespaceState>,
    last_namespace: Option<(Arc<str>, u32)>,
    target_ids: FastMap<TargetKey, u32>,
    targets: Vec<Target>,
    touched_targets: Vec<u32>,
    touched_namespaces: Vec<u32>,
    windows: u64,
    /// Windows longer than an hour (they give no hourly point).
    long_windows: u64,
    rows: u64,
    resource: ResourceEfficiency,
    carbon: CarbonEfficiency,
    nodes: NodeEfficiency,
    zones: ZoneIntensity,
    stability: Stability,
}

/// A workload: namespace, kind, name.
type TargetKey = (Arc<str>, Arc<str>, Arc<str>);

/// Marks a pod whose namespace is left out.
const EXCLUDED: u32 = u32::MAX;

/// A workload's or namespace's usage in the window being read.
#[derive(Debug, Default)]
struct OpenWindow {
    /// Number of the window `usage` belongs to.
    number: u64,
    usage: WindowUsage,
}

impl OpenWindow {
    /// Adds a pod row of window `number`; true for the first row of that window.
    fn add(
        &mut self,
        number: u64,
        cpu: Option<f64>,
        cpu_request: Option<f64>,
        cost: Option<f64>,
    ) -> bool {
        let first = self.number != number;
        if first {
            self.number = number;
            self.usage = WindowUsage::default();
        }
        self.usage.add(cpu, cpu_request, cost);
        first
    }
}

/// What the score keeps per workload.
#[derive(Debug)]
struct Target {
    open: OpenWindow,
    totals: UsageTotals,
    scaling: WorkloadScaling,
    intensity: WorkloadIntensity,
}

impl Target {
    fn new(hpa: bool) -> Self {
        Self {
            open: OpenWindow::default(),
            totals: UsageTotals::default(),
            scaling: WorkloadScaling::new(hpa),
            intensity: WorkloadIntensity::default(),
        }
    }

    fn close_window(&mut self, seconds: f64, hours: &HourSlices) {
        let usage = &self.open.usage;
        self.totals.close_window(usage, seconds);
        if usage.has_cpu() {
            self.scaling.add(usage.cpu(), hours);
        }
    }
}

/// What the score keeps per namespace.
#[derive(Debug)]
struct NamespaceState {
    excluded: bool,
    /// Pod name → workload id ([`EXCLUDED`] in an excluded namespace).
    pods: FastMap<Arc<str>, u32>,
    open: OpenWindow,
    totals: UsageTotals,
}

impl NamespaceState {
    fn new(excluded: bool) -> Self {
        Self {
            excluded,
            pods: FastMap::default(),
            open: OpenWindow::default(),
            totals: UsageTotals::default(),
        }
    }
}

impl ScoreBuilder {
    /// A builder with these thresholds and, optionally, the cluster's inventory (node capacities
    /// and HPA targets).
    pub fn new(config: &ScoreConfig, inventory: Option<&Inventory>) -> Self {
        let hpas = inventory
            .iter()
            .flat_map(|inventory| &inventory.hpas)
            .map(|hpa| {
                (
                    hpa.namespace.clone(),
                    hpa.target_kind.clone(),
                    hpa.target_name.clone(),
                )
            })
            .collect();
        Self {
            config: config.clone(),
            hpas,
            namespace_ids: FastMap::default(),
            namespaces: Vec::new(),
            last_namespace: None,
            target_ids: FastMap::default(),
            targets: Vec::new(),
            touched_targets: Vec::new(),
            touched_namespaces: Vec::new(),
            windows: 0,
            long_windows: 0,
            rows: 0,
            resource: ResourceEfficiency::default(),
            carbon: CarbonEfficiency::default(),
            nodes: NodeEfficiency::new(inventory),
            zones: ZoneIntensity::default(),
            stability: Stability::default(),
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
        if hours.is_empty() {
            self.long_windows += 1;
        }

        for node in &footprint.nodes {
            self.zones.observe(node, seconds);
            self.nodes.observe(node, seconds);
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
            let namespace = &mut self.namespaces[id as usize];
            namespace
                .totals
                .close_window(&namespace.open.usage, seconds);
        }
    }

    /// The score of everything observed.
    pub fn finish(mut self) -> SustainabilityScore {
        for target in &mut self.targets {
            target.scaling.flush();
        }
        let config = &self.config;
        let dimensions = vec![
            self.resource.dimension(),
            self.carbon.dimension(config),
            super::waste_elimination::dimension(
                self.targets.iter().map(|target| target.totals.activity()),
                self.namespaces
                    .iter()
                    .filter(|namespace| !namespace.excluded)
                    .map(|namespace| namespace.totals.activity()),
                config,
            ),
            self.nodes.dimension(config),
            super::scaling_practices::dimension(
                self.targets.iter().map(|target| &target.scaling),
                self.long_windows,
                config,
            ),
            super::carbon_aware_scheduling::dimension(
                self.targets.iter().map(|target| &target.intensity),
                &self.zones,
                config,
            ),
            self.stability.dimension(config),
        ];
        let scores: [f64; 7] = std::array::from_fn(|i| dimensions[i].score);
        SustainabilityScore {
            score: overall_score(scores),
            dimensions,
            pods: self
                .namespaces
                .iter()
                .map(|namespace| namespace.pods.len() as u64)
                .sum(),
            rows: self.rows,
            windows: self.windows,
        }
    }

    fn observe_pod(&mut self, pod: &PodFootprint, window: u64, seconds: f64) {
        self.rows += 1;
        let energy = finite_or_zero(pod.energy_joules.point);
        // Carbon efficiency is physical: every pod.
        self.carbon.observe(pod, energy);

        let namespace = self.namespace_id(&pod.namespace);
        let target = self.target_id(namespace, pod);
        if target == EXCLUDED {
            return;
        }
        self.resource.observe(pod, seconds, energy);
        self.stability.observe(pod, seconds);

        let usage = pod.cpu_usage_cores.map(|c| c.0);
        let request = pod.cpu_request_cores.map(|c| c.0);
        let cost = pod.cost.map(|c| c.0);

        let workload = &mut self.targets[target as usize];
        if workload.open.add(window, usage, request, cost) {
            self.touched_targets.push(target);
        }
        workload.scaling.observe_request(request);
        workload.intensity.observe(pod, seconds, energy);
        if self.namespaces[namespace as usize]
            .open
            .add(window, usage, request, cost)
        {
            self.touched_namespaces.push(namespace);
        }
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

    fn target_id(&mut self, namespace: u32, pod: &PodFootprint) -> u32 {
        let state = &mut self.namespaces[namespace as usize];
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
}
