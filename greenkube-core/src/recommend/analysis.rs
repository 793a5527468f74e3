//! Streaming statistics over a history of footprints: per workload, namespace, node and zone,
//! plus an evenly spread sample of windows (as snapshots) for pricing changes.

use std::collections::HashSet;
use std::sync::Arc;

use chrono::{DateTime, Timelike, Utc};

use super::RecommenderConfig;
use crate::aggregate::workload_key;
use crate::fastmap::{FastMap, fast_map};
use crate::footprint::Footprint;
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
    /// Per-window workload load (sum over its pods): count, sum, sum of squares, max.
    pub load_n: u64,
    pub load_sum: f64,
    pub load_sumsq: f64,
    pub load_max: f64,
    /// Load by UTC hour of day (of the window start).
    pub hourly: DailyProfile,
    /// Grid intensity the workload ran at, per zone: (zone, sum, count).
    pub intensities: Vec<(Arc<str>, f64, u64)>,
    /// CO2e attributed (operational + embodied), grams.
    pub co2e: f64,
}

impl TargetStats {
    pub(super) fn cpu_mean(&self) -> Option<f64> {
        (!self.cpu_points.is_empty()).then(|| self.cpu_sum / self.cpu_points.len() as f64)
    }

    pub(super) fn mem_mean(&self) -> Option<f64> {
        (!self.mem_points.is_empty()).then(|| self.mem_sum / self.mem_points.len() as f64)
    }
}

/// Linear-interpolated percentile of unsorted points (sorts a copy).
pub(super) fn percentile(points: &[f32], q: f64) -> Option<f64> {
    if points.is_empty() {
        return None;
    }
    let mut v: Vec<f32> = points.to_vec();
    v.sort_by(f32::total_cmp);
    let k = (v.len() - 1) as f64 * q;
    let (lo, hi) = (k.floor() as usize, k.ceil() as usize);
    let (a, b) = (f64::from(v[lo]), f64::from(v[hi]));
    Some(a + (b - a) * (k - lo as f64))
}

/// Statistics of one namespace.
#[derive(Debug, Default)]
pub(super) struct NamespaceStats {
    /// CPU, reservation and cost of the namespace (sum over its pods), window by window.
    pub usage: UsageTotals,
    pub co2e: f64,
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
    pub energy: f64,
    pub co2e: f64,
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

/// A window kept for pricing changes.
#[derive(Debug)]
pub(super) struct SampledWindow {
    pub index: usize,
    pub snapshot: Snapshot,
    pub options: EstimateOptions,
    pub seconds: f64,
}

/// How many distinct pods per node are remembered.
pub(super) const DISTINCT_PODS_CAP: usize = 16;

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
            max_samples: max_samples.max(1),
            stride: 1,
        }
    }

    /// Index of the workload of the pod at `row`: first from the same row of the previous window
    /// when the pod's name and namespace are the very same shared strings (streams that reuse
    /// them across windows skip the hash lookup; the cache holds the strings, so an address is
    /// never reused by another string while cached), else from the pod-name map.
    fn target_of(&mut self, row: usize, pod: &crate::PodFootprint) -> u32 {
        if let Some((name, ns, t)) = self.row_cache.get(row)
            && Arc::ptr_eq(name, &pod.pod)
            && Arc::ptr_eq(ns, &pod.namespace)
        {
            return *t;
        }
        let t = self.lookup_target(pod);
        let entry = (pod.pod.clone(), pod.namespace.clone(), t);
        if row < self.row_cache.len() {
            self.row_cache[row] = entry;
        } else if row == self.row_cache.len() {
            self.row_cache.push(entry);
        }
        t
    }

    fn lookup_target(&mut self, pod: &crate::PodFootprint) -> u32 {
        if let Some(list) = self.pod_targets.get(pod.pod.as_ref())
            && let Some((_, t)) = list.iter().find(|(ns, _)| *ns == pod.namespace)
        {
            return *t;
        }
        let (kind, name) = workload_key(
            pod.owner_kind.as_deref(),
            pod.owner_name.as_deref(),
            &pod.pod,
        );
        let key: TargetKey = (pod.namespace.clone(), kind, name);
        let t = match self.target_index.get(&key) {
            Some(&t) => t,
            None => {
                let ns = match self.namespace_index.get(pod.namespace.as_ref()) {
                    Some(&n) => n,
                    None => {
                        let n = self.namespace_names.len() as u32;
                        self.namespace_names.push(pod.namespace.clone());
                        self.namespaces.push(NamespaceStats::default());
                        self.window_namespace_usage.push(WindowUsage::default());
                        self.namespace_mark.push(0);
                        self.namespace_index.insert(pod.namespace.clone(), n);
                        n
                    }
                };
                let t = self.targets.len() as u32;
                self.targets.push(TargetStats::default());
                self.target_keys.push(key.clone());
                self.target_namespace.push(ns);
                self.window_target_usage.push(WindowUsage::default());
                self.target_mark.push(0);
                self.target_index.insert(key, t);
                t
            }
        };
        self.pod_targets
            .entry(pod.pod.clone())
            .or_default()
            .push((pod.namespace.clone(), t));
        t
    }

    pub(super) fn observe(&mut self, fp: &Footprint, config: &RecommenderConfig) {
        let index = self.windows;
        self.windows += 1;
        let seconds = (fp.window_end - fp.window_start).num_milliseconds() as f64 / 1000.0;
        if self
            .seen
            .insert((fp.window_start.timestamp(), fp.window_end.timestamp()))
        {
            self.covered_seconds += seconds;
        }
        self.methodology
            .get_or_insert_with(|| fp.methodology.name.name().to_string());
        self.data_version
            .get_or_insert_with(|| fp.methodology.data_version.clone());
        let hour = fp.window_start.hour() as usize;

        // Nodes of the window: by the context each pod row shares with its node row (the
        // engine's output), else by name.
        let mut by_context: FastMap<usize, usize> = fast_map(fp.nodes.len());
        let mut by_name: FastMap<&str, usize> = fast_map(fp.nodes.len());
        let mut reserved = vec![0.0f64; fp.nodes.len()];
        let mut memory = vec![0.0f64; fp.nodes.len()];
        for (i, n) in fp.nodes.iter().enumerate() {
            by_context.insert(Arc::as_ptr(&n.node) as usize, i);
            if let Some(name) = n.node.name.as_deref() {
                by_name.insert(name, i);
            }
        }
        let mut node_pods: Vec<Vec<&Arc<str>>> = vec![Vec::new(); fp.nodes.len()];

        // Pods: per-row statistics, per-window workload loads.
        for (row, pod) in fp.pods.iter().enumerate() {
            if let Some(ns) = &config.namespace
                && pod.namespace.as_ref() != ns
            {
                continue;
            }
            let ti = self.target_of(row, pod) as usize;
            let ni = self.target_namespace[ti] as usize;
            let cpu = pod.cpu_usage_cores.map(|c| c.0);
            let mem = pod.memory_usage_bytes.map(|b| b.0);
            let request = pod.cpu_request_cores.map(|c| c.0);
            let cost = pod.cost.map(|c| c.0);
            let t = &mut self.targets[ti];
            if let Some(c) = cpu {
                t.cpu_points.push(c as f32);
                t.cpu_sum += c;
                t.cpu_max = t.cpu_max.max(c);
            }
            if let Some(m) = mem {
                t.mem_points.push(m as f32);
                t.mem_sum += m;
                t.mem_max = t.mem_max.max(m);
            }
            let reserve = request.unwrap_or(0.0).max(cpu.unwrap_or(0.0));
            if t.latest_window == Some(fp.window_start) {
                t.latest_cpu_request = max_opt(t.latest_cpu_request, request);
                t.latest_mem_request =
                    max_opt(t.latest_mem_request, pod.memory_request_bytes.map(|b| b.0));
            } else if t.latest_window.is_none_or(|w| w < fp.window_start) {
                t.latest_window = Some(fp.window_start);
                t.latest_cpu_request = request;
                t.latest_mem_request = pod.memory_request_bytes.map(|b| b.0);
            }
            let intensity = pod.node.grid_intensity.point;
            if intensity > 0.0
                && let Some(zone) = &pod.node.zone
            {
                match t.intensities.iter_mut().find(|(z, _, _)| z == zone) {
                    Some(e) => {
                        e.1 += intensity;
                        e.2 += 1;
                    }
                    None => t.intensities.push((zone.clone(), intensity, 1)),
                }
            }
            let total = pod.total_co2e_grams().point;
            t.co2e += total;
            let mark = self.windows as u32;
            if self.target_mark[ti] != mark {
                self.target_mark[ti] = mark;
                self.touched_targets.push(ti as u32);
            }
            self.window_target_usage[ti].add(cpu, request, cost);
            if self.namespace_mark[ni] != mark {
                self.namespace_mark[ni] = mark;
                self.touched_namespaces.push(ni as u32);
            }
            self.window_namespace_usage[ni].add(cpu, request, cost);
            self.namespaces[ni].co2e += total;
            let node = by_context
                .get(&(Arc::as_ptr(&pod.node) as usize))
                .copied()
                .or_else(|| {
                    pod.node
                        .name
                        .as_deref()
                        .and_then(|n| by_name.get(n).copied())
                });
            if let Some(i) = node {
                reserved[i] += reserve;
                memory[i] += mem.unwrap_or(0.0);
                if node_pods[i].len() < DISTINCT_PODS_CAP {
                    node_pods[i].push(&pod.pod);
                }
            }
        }
        for ti in self.touched_targets.drain(..) {
            let ti = ti as usize;
            let usage = std::mem::take(&mut self.window_target_usage[ti]);
            let load = usage.cpu();
            let t = &mut self.targets[ti];
            t.usage.close_window(&usage, seconds);
            t.load_n += 1;
            t.load_sum += load;
            t.load_sumsq += load * load;
            t.load_max = t.load_max.max(load);
            t.hourly.add(hour, load);
        }
        for ni in self.touched_namespaces.drain(..) {
            let ni = ni as usize;
            let usage = std::mem::take(&mut self.window_namespace_usage[ni]);
            self.namespaces[ni].usage.close_window(&usage, seconds);
        }

        // Node rows.
        for (i, n) in fp.nodes.iter().enumerate() {
            let ctx = &n.node;
            if ctx.synthetic {
                continue;
            }
            let Some(name) = ctx.name.clone() else {
                continue;
            };
            if let Some(zone) = &ctx.zone
                && ctx.grid_intensity.point > 0.0
            {
                let z = self.zones.entry(zone.clone()).or_default();
                z.0 += ctx.grid_intensity.point;
                z.1 += 1;
            }
            let s = self.nodes.entry(name).or_default();
            for p in &node_pods[i] {
                if s.pods.len() < DISTINCT_PODS_CAP && !s.pods.contains(p) {
                    s.pods.push((*p).clone());
                }
            }
            s.provider.clone_from(&ctx.provider);
            s.instance_type.clone_from(&ctx.instance_type);
            s.region.clone_from(&ctx.region);
            s.zone.clone_from(&ctx.zone);
            s.vcpus = ctx.cpu_capacity_cores.map_or(n.vcpus, |c| c.0);
            if let Some(m) = ctx.memory_capacity_bytes {
                s.memory_capacity = Some(m.0);
            }
            s.windows += 1;
            s.cpu_sum += n.cpu_usage_cores.0;
            s.mem_sum += memory[i];
            s.peak_reserved = s.peak_reserved.max(reserved[i]);
            s.peak_usage = s.peak_usage.max(n.cpu_usage_cores.0);
            s.peak_memory = s.peak_memory.max(memory[i]);
            s.energy += n.energy_joules.point;
            s.co2e += (n.co2e_grams + n.embodied_co2e_grams).point;
        }

        // Sample: keep every `stride`-th window; when full, keep every other and double.
        if index.is_multiple_of(self.stride) {
            if self.samples.len() >= self.max_samples {
                self.samples
                    .retain(|s| (s.index / self.stride).is_multiple_of(2));
                self.stride *= 2;
            }
            if index.is_multiple_of(self.stride) {
                self.samples.push(SampledWindow {
                    index,
                    snapshot: snapshot_of(fp),
                    options: options_of(fp),
                    seconds,
                });
            }
        }
    }

    /// Factor from the sampled windows' seconds to the history's.
    pub(super) fn sample_scale(&self) -> f64 {
        let sampled: f64 = self.samples.iter().map(|s| s.seconds).sum();
        if sampled > 0.0 {
            // All windows' seconds (not just distinct ones): windows of several clusters count.
            self.all_seconds() / sampled
        } else {
            0.0
        }
    }

    fn all_seconds(&self) -> f64 {
        // Windows are usually the same length; use the mean sampled length × windows.
        let n = self.samples.len().max(1) as f64;
        let mean: f64 = self.samples.iter().map(|s| s.seconds).sum::<f64>() / n;
        mean * self.windows as f64
    }

    /// Inventory capacity overrides for nodes.
    pub(super) fn apply_inventory(&mut self, inventory: &crate::Inventory) {
        for node in &inventory.nodes {
            if let Some(s) = self.nodes.get_mut(node.name.as_ref()) {
                if let Some(c) = node.cpu_capacity_cores {
                    s.vcpus = c.0;
                }
                if let Some(m) = node.memory_capacity_bytes {
                    s.memory_capacity = Some(m.0);
                }
            }
        }
    }
}

fn max_opt(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.max(y)),
        (x, None) => x,
        (None, y) => y,
    }
}
