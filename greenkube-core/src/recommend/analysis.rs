//! Streaming statistics over a history of footprints: per workload, namespace, node and zone,
//! plus an evenly spread sample of windows (as snapshots) for pricing changes.

use std::collections::HashSet;
use std::sync::Arc;

use chrono::{DateTime, Timelike, Utc};

use super::RecommenderConfig;
use crate::aggregate::workload_key;
use crate::fastmap::{FastMap, fast_map};
use crate::footprint::{Footprint, PodFootprint};
use crate::methodology::EstimateOptions;
use crate::replay::{options_of, snapshot_of};
use crate::snapshot::Snapshot;
use crate::waste::{DailyProfile, UsageTotals, WindowUsage};

/// `(namespace, kind, name)` of a workload.
pub(super) type TargetKey = (Arc<str>, Arc<str>, Arc<str>);

/// Statistics of one workload.
#[derive(Debug, Default)]
pub(super) struct TargetStats {
    /// Per pod-window CPU usage, cores.
    pub cpu_points: Vec<f32>,
    pub cpu_sum: f64,
    pub cpu_max: f64,
    /// Per pod-window memory usage, bytes.
    pub mem_points: Vec<f32>,
    pub mem_sum: f64,
    pub mem_max: f64,
    /// Requests in the latest window the workload appeared in (max over its pods).
    pub latest_window: Option<DateTime<Utc>>,
    pub latest_cpu_request: Option<f64>,
    pub latest_mem_request: Option<f64>,
    /// CPU, reservation and cost of the workload (sum over its pods), window by window.
    pub usage: UsageTotals,
    /// Per-window workload load (sum over its pods): windows, sum, sum of squares, max.
    pub load_windows: u64,
    pub load_sum: f64,
    pub load_sum_of_squares: f64,
    pub load_max: f64,
    /// Load by UTC hour of day (of the window start).
    pub hourly: DailyProfile,
    /// Grid intensity the workload ran at, per zone: (zone, sum, count).
    pub intensities: Vec<(Arc<str>, f64, u64)>,
}

impl TargetStats {
    pub(super) fn cpu_mean(&self) -> Option<f64> {
        (!self.cpu_points.is_empty()).then(|| self.cpu_sum / self.cpu_points.len() as f64)
    }

    pub(super) fn mem_mean(&self) -> Option<f64> {
        (!self.mem_points.is_empty()).then(|| self.mem_sum / self.mem_points.len() as f64)
    }

    /// Adds a pod row of the window starting at `window_start`.
    fn observe(&mut self, pod: &PodFootprint, window_start: DateTime<Utc>) {
        let cpu = pod.cpu_usage_cores.map(|c| c.0);
        let memory = pod.memory_usage_bytes.map(|b| b.0);
        let cpu_request = pod.cpu_request_cores.map(|c| c.0);
        let memory_request = pod.memory_request_bytes.map(|b| b.0);
        if let Some(cores) = cpu {
            self.cpu_points.push(cores as f32);
            self.cpu_sum += cores;
            self.cpu_max = self.cpu_max.max(cores);
        }
        if let Some(bytes) = memory {
            self.mem_points.push(bytes as f32);
            self.mem_sum += bytes;
            self.mem_max = self.mem_max.max(bytes);
        }
        if self.latest_window == Some(window_start) {
            self.latest_cpu_request = larger(self.latest_cpu_request, cpu_request);
            self.latest_mem_request = larger(self.latest_mem_request, memory_request);
        } else if self.latest_window.is_none_or(|w| w < window_start) {
            self.latest_window = Some(window_start);
            self.latest_cpu_request = cpu_request;
            self.latest_mem_request = memory_request;
        }
        let intensity = pod.node.grid_intensity.point;
        if intensity > 0.0
            && let Some(zone) = &pod.node.zone
        {
            match self.intensities.iter_mut().find(|(z, _, _)| z == zone) {
                Some((_, sum, count)) => {
                    *sum += intensity;
                    *count += 1;
                }
                None => self.intensities.push((zone.clone(), intensity, 1)),
            }
        }
    }

    /// Closes a window in which the workload had this usage, at this UTC hour.
    fn close_window(&mut self, usage: &WindowUsage, seconds: f64, hour: usize) {
        let load = usage.cpu();
        self.usage.close_window(usage, seconds);
        self.load_windows += 1;
        self.load_sum += load;
        self.load_sum_of_squares += load * load;
        self.load_max = self.load_max.max(load);
        self.hourly.add(hour, load);
    }
}

/// Linear-interpolated percentile `quantile` (0 to 1) of unsorted points (sorts a copy).
pub(super) fn percentile(points: &[f32], quantile: f64) -> Option<f64> {
    if points.is_empty() {
        return None;
    }
    let mut sorted: Vec<f32> = points.to_vec();
    sorted.sort_by(f32::total_cmp);
    let rank = (sorted.len() - 1) as f64 * quantile;
    let (below, above) = (rank.floor() as usize, rank.ceil() as usize);
    let (low, high) = (f64::from(sorted[below]), f64::from(sorted[above]));
    Some(low + (high - low) * (rank - below as f64))
}

/// Statistics of one namespace.
#[derive(Debug, Default)]
pub(super) struct NamespaceStats {
    /// CPU, reservation and cost of the namespace (sum over its pods), window by window.
    pub usage: UsageTotals,
}

/// Statistics of one node.
#[derive(Debug, Default)]
pub(super) struct NodeStats {
    pub provider: Option<Arc<str>>,
    pub instance_type: Option<Arc<str>>,
    pub region: Option<Arc<str>>,
    pub zone: Option<Arc<str>>,
    pub vcpus: f64,
    pub memory_capacity: Option<f64>,
    pub windows: u64,
    /// Sum over windows of the pods' CPU usage, cores.
    pub cpu_sum: f64,
    /// Sum over windows of the pods' memory usage, bytes.
    pub mem_sum: f64,
    pub peak_reserved: f64,
    pub peak_usage: f64,
    pub peak_memory: f64,
    /// Distinct pods seen, up to `DISTINCT_PODS_CAP` (enough for the underutilised rule).
    pub pods: Vec<Arc<str>>,
}

impl NodeStats {
    pub(super) fn cpu_util(&self) -> f64 {
        if self.windows == 0 || self.vcpus <= 0.0 {
            0.0
        } else {
            self.cpu_sum / self.windows as f64 / self.vcpus
        }
    }
}

/// A window kept for pricing changes. Its snapshot holds nothing of the footprint it was
/// rebuilt from: its strings are the analysis's own ([`SampleNames`]) and its pods carry no
/// labels (pricing never reads them).
#[derive(Debug)]
pub(super) struct SampledWindow {
    pub index: usize,
    pub snapshot: Snapshot,
    pub options: EstimateOptions,
    pub seconds: f64,
}

/// The strings of the sampled windows, each once, allocated by the analysis. A history read
/// from a file gives every window its own strings; a sampled window that shared them would keep
/// small pieces of each footprint alive, scattered over memory the rest of the footprint freed,
/// so the allocator could not reuse it (the resident set grew by about 50 MB a window).
#[derive(Debug)]
struct SampleNames(HashSet<Arc<str>, foldhash::fast::RandomState>);

impl SampleNames {
    fn new() -> Self {
        Self(HashSet::default())
    }

    /// The analysis's copy of `name`.
    fn get(&mut self, name: &Arc<str>) -> Arc<str> {
        if let Some(own) = self.0.get(&**name) {
            return own.clone();
        }
        let own: Arc<str> = Arc::from(&**name);
        self.0.insert(own.clone());
        own
    }

    fn get_option(&mut self, name: &mut Option<Arc<str>>) {
        if let Some(value) = name {
            *value = self.get(value);
        }
    }

    /// Makes `snapshot` hold the analysis's strings instead of its own, and no labels.
    fn detach(&mut self, snapshot: &mut Snapshot) {
        self.get_option(&mut snapshot.cluster);
        for node in &mut snapshot.nodes {
            node.name = self.get(&node.name);
            self.get_option(&mut node.provider);
            self.get_option(&mut node.instance_type);
            self.get_option(&mut node.region);
            self.get_option(&mut node.zone);
        }
        for pod in &mut snapshot.pods {
            pod.namespace = self.get(&pod.namespace);
            pod.name = self.get(&pod.name);
            self.get_option(&mut pod.node);
            self.get_option(&mut pod.owner_kind);
            self.get_option(&mut pod.owner_name);
            pod.labels = None;
        }
        for cost in &mut snapshot.costs {
            cost.namespace = self.get(&cost.namespace);
            cost.pod = self.get(&cost.pod);
        }
        for entry in &mut snapshot.embodied {
            entry.provider = self.get(&entry.provider);
            entry.instance_type = self.get(&entry.instance_type);
        }
    }

    /// Forgets the names no sampled window holds any more.
    fn forget_unused(&mut self) {
        self.0.retain(|name| Arc::strong_count(name) > 1);
    }
}

/// How many distinct pods per node are remembered.
pub(super) const DISTINCT_PODS_CAP: usize = 16;

/// What the pods of one window put on each node row of that window (by position).
struct WindowNodes<'a> {
    /// Node position by the address of the context its pod rows share (the engine's output).
    by_context: FastMap<usize, usize>,
    /// Node position by name.
    by_name: FastMap<&'a str, usize>,
    /// Reserved CPU (`max(request, usage)`) of the node's pods, cores.
    reserved: Vec<f64>,
    /// Memory used by the node's pods, bytes.
    memory: Vec<f64>,
    /// The node's first pods, up to `DISTINCT_PODS_CAP`.
    pods: Vec<Vec<&'a Arc<str>>>,
}

impl<'a> WindowNodes<'a> {
    fn new(footprint: &'a Footprint) -> Self {
        let count = footprint.nodes.len();
        let mut nodes = Self {
            by_context: fast_map(count),
            by_name: fast_map(count),
            reserved: vec![0.0; count],
            memory: vec![0.0; count],
            pods: vec![Vec::new(); count],
        };
        for (position, row) in footprint.nodes.iter().enumerate() {
            nodes
                .by_context
                .insert(Arc::as_ptr(&row.node) as usize, position);
            if let Some(name) = row.node.name.as_deref() {
                nodes.by_name.insert(name, position);
            }
        }
        nodes
    }

    /// Adds a pod row to its node's sums.
    fn add(&mut self, pod: &'a PodFootprint) {
        let position = self
            .by_context
            .get(&(Arc::as_ptr(&pod.node) as usize))
            .copied()
            .or_else(|| {
                pod.node
                    .name
                    .as_deref()
                    .and_then(|name| self.by_name.get(name).copied())
            });
        let Some(position) = position else { return };
        let cpu = pod.cpu_usage_cores.map_or(0.0, |c| c.0);
        let request = pod.cpu_request_cores.map_or(0.0, |c| c.0);
        self.reserved[position] += request.max(cpu);
        self.memory[position] += pod.memory_usage_bytes.map_or(0.0, |b| b.0);
        if self.pods[position].len() < DISTINCT_PODS_CAP {
            self.pods[position].push(&pod.pod);
        }
    }
}

/// Everything the rules and the pricing need.
#[derive(Debug)]
pub(super) struct Analysis {
    /// Workloads, and their statistics at the same index.
    pub target_keys: Vec<TargetKey>,
    pub targets: Vec<TargetStats>,
    /// Namespace index of each workload.
    target_namespace: Vec<u32>,
    target_index: FastMap<TargetKey, u32>,
    /// The previous window's (pod, namespace, workload) by row.
    row_cache: Vec<(Arc<str>, Arc<str>, u32)>,
    /// Pod name → (namespace, workload index), so rows do not rebuild workload keys.
    pod_targets: FastMap<Arc<str>, Vec<(Arc<str>, u32)>>,
    pub namespace_names: Vec<Arc<str>>,
    pub namespaces: Vec<NamespaceStats>,
    namespace_index: FastMap<Arc<str>, u32>,
    pub nodes: FastMap<Arc<str>, NodeStats>,
    /// Per-window scratch: usage per workload and per namespace, with the touched indexes.
    window_target_usage: Vec<WindowUsage>,
    /// Window number (plus one) in which each workload / namespace was last touched.
    target_mark: Vec<u32>,
    touched_targets: Vec<u32>,
    window_namespace_usage: Vec<WindowUsage>,
    namespace_mark: Vec<u32>,
    touched_namespaces: Vec<u32>,
    /// Zone → (sum of intensity over node-windows, count).
    pub zones: FastMap<Arc<str>, (f64, u64)>,
    pub windows: usize,
    pub covered_seconds: f64,
    seen: HashSet<(i64, i64)>,
    pub methodology: Option<String>,
    pub data_version: Option<String>,
    /// Evenly spread sample of windows: every `stride`-th window, at most `max_samples`.
    pub samples: Vec<SampledWindow>,
    sample_names: SampleNames,
    max_samples: usize,
    stride: usize,
}

impl Analysis {
    pub(super) fn new(max_samples: usize) -> Self {
        Self {
            target_keys: Vec::new(),
            targets: Vec::new(),
            target_namespace: Vec::new(),
            target_index: fast_map(0),
            row_cache: Vec::new(),
            pod_targets: fast_map(0),
            namespace_names: Vec::new(),
            namespaces: Vec::new(),
            namespace_index: fast_map(0),
            nodes: fast_map(0),
            window_target_usage: Vec::new(),
            target_mark: Vec::new(),
            touched_targets: Vec::new(),
            window_namespace_usage: Vec::new(),
            namespace_mark: Vec::new(),
            touched_namespaces: Vec::new(),
            zones: fast_map(0),
            windows: 0,
            covered_seconds: 0.0,
            seen: HashSet::new(),
            methodology: None,
            data_version: None,
            samples: Vec::new(),
            sample_names: SampleNames::new(),
            max_samples: max_samples.max(1),
            stride: 1,
        }
    }

    /// Index of the workload of the pod at `row`: first from the same row of the previous window
    /// when the pod's name and namespace are the very same shared strings (streams that reuse
    /// them across windows skip the hash lookup; the cache holds the strings, so an address is
    /// never reused by another string while cached), else from the pod-name map.
    fn target_of(&mut self, row: usize, pod: &PodFootprint) -> u32 {
        if let Some((name, namespace, target)) = self.row_cache.get(row)
            && Arc::ptr_eq(name, &pod.pod)
            && Arc::ptr_eq(namespace, &pod.namespace)
        {
            return *target;
        }
        let target = self.lookup_target(pod);
        let entry = (pod.pod.clone(), pod.namespace.clone(), target);
        if row < self.row_cache.len() {
            self.row_cache[row] = entry;
        } else if row == self.row_cache.len() {
            self.row_cache.push(entry);
        }
        target
    }

    fn lookup_target(&mut self, pod: &PodFootprint) -> u32 {
        if let Some(list) = self.pod_targets.get(pod.pod.as_ref())
            && let Some((_, target)) = list
                .iter()
                .find(|(namespace, _)| *namespace == pod.namespace)
        {
            return *target;
        }
        let (kind, name) = workload_key(
            pod.owner_kind.as_deref(),
            pod.owner_name.as_deref(),
            &pod.pod,
        );
        let key: TargetKey = (pod.namespace.clone(), kind, name);
        let target = match self.target_index.get(&key) {
            Some(&target) => target,
            None => {
                let namespace = self.namespace_of(&pod.namespace);
                let target = self.targets.len() as u32;
                self.targets.push(TargetStats::default());
                self.target_keys.push(key.clone());
                self.target_namespace.push(namespace);
                self.window_target_usage.push(WindowUsage::default());
                self.target_mark.push(0);
                self.target_index.insert(key, target);
                target
            }
        };
        self.pod_targets
            .entry(pod.pod.clone())
            .or_default()
            .push((pod.namespace.clone(), target));
        target
    }

    /// Index of the namespace, added when new.
    fn namespace_of(&mut self, namespace: &Arc<str>) -> u32 {
        if let Some(&index) = self.namespace_index.get(namespace.as_ref()) {
            return index;
        }
        let index = self.namespace_names.len() as u32;
        self.namespace_names.push(namespace.clone());
        self.namespaces.push(NamespaceStats::default());
        self.window_namespace_usage.push(WindowUsage::default());
        self.namespace_mark.push(0);
        self.namespace_index.insert(namespace.clone(), index);
        index
    }

    /// Takes one window.
    pub(super) fn observe(&mut self, footprint: &Footprint, config: &RecommenderConfig) {
        let index = self.windows;
        self.windows += 1;
        let seconds = footprint.seconds();
        if self.seen.insert((
            footprint.window_start.timestamp(),
            footprint.window_end.timestamp(),
        )) {
            self.covered_seconds += seconds;
        }
        self.methodology
            .get_or_insert_with(|| footprint.methodology.name.name().to_string());
        self.data_version
            .get_or_insert_with(|| footprint.methodology.data_version.clone());

        let mut nodes = WindowNodes::new(footprint);
        for (row, pod) in footprint.pods.iter().enumerate() {
            if config
                .namespace
                .as_ref()
                .is_none_or(|only| pod.namespace.as_ref() == only)
            {
                self.observe_pod(row, pod, footprint.window_start);
                nodes.add(pod);
            }
        }
        self.close_window(seconds, footprint.window_start.hour() as usize);
        self.observe_nodes(footprint, &nodes);
        self.sample(index, footprint, seconds);
    }

    /// Adds a pod row to its workload's and namespace's statistics.
    fn observe_pod(&mut self, row: usize, pod: &PodFootprint, window_start: DateTime<Utc>) {
        let target = self.target_of(row, pod) as usize;
        let namespace = self.target_namespace[target] as usize;
        self.targets[target].observe(pod, window_start);
        let cpu = pod.cpu_usage_cores.map(|c| c.0);
        let request = pod.cpu_request_cores.map(|c| c.0);
        let cost = pod.cost.map(|c| c.0);
        let mark = self.windows as u32;
        if self.target_mark[target] != mark {
            self.target_mark[target] = mark;
            self.touched_targets.push(target as u32);
        }
        self.window_target_usage[target].add(cpu, request, cost);
        if self.namespace_mark[namespace] != mark {
            self.namespace_mark[namespace] = mark;
            self.touched_namespaces.push(namespace as u32);
        }
        self.window_namespace_usage[namespace].add(cpu, request, cost);
    }

    /// Closes the window of `seconds` starting at UTC `hour` for the workloads and namespaces it
    /// touched.
    fn close_window(&mut self, seconds: f64, hour: usize) {
        for target in self.touched_targets.drain(..) {
            let target = target as usize;
            let usage = std::mem::take(&mut self.window_target_usage[target]);
            self.targets[target].close_window(&usage, seconds, hour);
        }
        for namespace in self.touched_namespaces.drain(..) {
            let namespace = namespace as usize;
            let usage = std::mem::take(&mut self.window_namespace_usage[namespace]);
            self.namespaces[namespace]
                .usage
                .close_window(&usage, seconds);
        }
    }

    /// Adds the window's node rows (not the nodes synthesised for orphan pods) and their zones.
    fn observe_nodes(&mut self, footprint: &Footprint, window: &WindowNodes<'_>) {
        for (position, row) in footprint.nodes.iter().enumerate() {
            let context = &row.node;
            if context.synthetic {
                continue;
            }
            let Some(name) = context.name.clone() else {
                continue;
            };
            if let Some(zone) = &context.zone
                && context.grid_intensity.point > 0.0
            {
                let (sum, count) = self.zones.entry(zone.clone()).or_default();
                *sum += context.grid_intensity.point;
                *count += 1;
            }
            let stats = self.nodes.entry(name).or_default();
            for pod in &window.pods[position] {
                if stats.pods.len() < DISTINCT_PODS_CAP && !stats.pods.contains(pod) {
                    stats.pods.push((*pod).clone());
                }
            }
            stats.provider.clone_from(&context.provider);
            stats.instance_type.clone_from(&context.instance_type);
            stats.region.clone_from(&context.region);
            stats.zone.clone_from(&context.zone);
            stats.vcpus = context.cpu_capacity_cores.map_or(row.vcpus, |c| c.0);
            if let Some(bytes) = context.memory_capacity_bytes {
                stats.memory_capacity = Some(bytes.0);
            }
            stats.windows += 1;
            stats.cpu_sum += row.cpu_usage_cores.0;
            stats.mem_sum += window.memory[position];
            stats.peak_reserved = stats.peak_reserved.max(window.reserved[position]);
            stats.peak_usage = stats.peak_usage.max(row.cpu_usage_cores.0);
            stats.peak_memory = stats.peak_memory.max(window.memory[position]);
        }
    }

    /// Keeps every `stride`-th window; when full, keeps every other and doubles the stride.
    fn sample(&mut self, index: usize, footprint: &Footprint, seconds: f64) {
        if !index.is_multiple_of(self.stride) {
            return;
        }
        if self.samples.len() >= self.max_samples {
            self.samples
                .retain(|sample| (sample.index / self.stride).is_multiple_of(2));
            self.sample_names.forget_unused();
            self.stride *= 2;
        }
        if index.is_multiple_of(self.stride) {
            let mut snapshot = snapshot_of(footprint);
            self.sample_names.detach(&mut snapshot);
            self.samples.push(SampledWindow {
                index,
                snapshot,
                options: options_of(footprint),
                seconds,
            });
        }
    }

    /// The names the sampled windows share, each held by some sampled window (tests).
    #[cfg(test)]
    pub(super) fn sample_names(&self) -> Vec<Arc<str>> {
        self.sample_names.0.iter().cloned().collect()
    }

    /// Factor from the sampled windows' seconds to the history's.
    pub(super) fn sample_scale(&self) -> f64 {
        let sampled: f64 = self.samples.iter().map(|sample| sample.seconds).sum();
        if sampled > 0.0 {
            // All windows' seconds (not just distinct ones): windows of several clusters count.
            self.all_seconds() / sampled
        } else {
            0.0
        }
    }

    fn all_seconds(&self) -> f64 {
        // Windows are usually the same length; use the mean sampled length × windows.
        let samples = self.samples.len().max(1) as f64;
        let mean: f64 = self
            .samples
            .iter()
            .map(|sample| sample.seconds)
            .sum::<f64>()
            / samples;
        mean * self.windows as f64
    }

    /// Inventory capacity overrides for nodes.
    pub(super) fn apply_inventory(&mut self, inventory: &crate::Inventory) {
        for node in &inventory.nodes {
            if let Some(stats) = self.nodes.get_mut(node.name.as_ref()) {
                if let Some(cores) = node.cpu_capacity_cores {
                    stats.vcpus = cores.0;
                }
                if let Some(bytes) = node.memory_capacity_bytes {
                    stats.memory_capacity = Some(bytes.0);
                }
            }
        }
    }
}

/// The larger of two optional values (either, when only one is known).
fn larger(current: Option<f64>, other: Option<f64>) -> Option<f64> {
    match (current, other) {
        (Some(current), Some(other)) => Some(current.max(other)),
        (known, None) | (None, known) => known,
    }
}
