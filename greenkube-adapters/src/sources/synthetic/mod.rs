//! Deterministic synthetic clusters behind every source port, for `greenkube demo`, tests and
//! benchmarks (feature `demo`).
//!
//! [`SyntheticCluster`] stands in for Prometheus
//! ([`UsageSource`](greenkube_core::ports::UsageSource)), the Kubernetes API
//! ([`InventorySource`](greenkube_core::ports::InventorySource)), OpenCost
//! ([`CostSource`](greenkube_core::ports::CostSource)), Electricity Maps
//! ([`IntensitySource`](greenkube_core::ports::IntensitySource)) and Boavizta
//! ([`EmbodiedSource`](greenkube_core::ports::EmbodiedSource)), so the real collect → snapshot →
//! estimate → store path can run
//! on realistic data without a cluster. It comes in two shapes drawn from one catalogue
//! (providers, regions, zones, instance types) with one seeded generator:
//!
//! * **The demo's cluster** ([`SyntheticCluster::new`], [`SyntheticCluster::with_config`]), a
//!   cluster with stories to tell, described below.
//! * **A sized cluster** ([`SyntheticCluster::sized`]): any number of nodes and pods (thousands,
//!   a hundred thousand) for benchmarks and scale tests, see [`SizedConfig`].
//!
//! **Everything it answers is synthetic.** The shapes are realistic, the numbers are made up.
//! The demo's cluster:
//!
//! * **Nodes**: about 15, spread over AWS, GCP, Azure and OVHcloud regions and zones, with
//!   instance types of the reference catalogue and the capacities the catalogue gives them, and
//!   the well-known labels (`node.kubernetes.io/instance-type`, `topology.kubernetes.io/region`,
//!   `topology.kubernetes.io/zone`).
//! * **Pods**: about 60 long-running pods in about 12 namespaces (Deployments, `StatefulSets`, a
//!   DaemonSet on every node, a bare pod), scheduled by request; two `HorizontalPodAutoscalers`;
//!   `CronJobs` whose Jobs run only at their hours (they show in usage and costs only while they
//!   run, like a finished pod the API no longer lists).
//! * **Usage**: a per-pod peak × a daily curve (business hours in UTC) × a weekly curve (weekend
//!   dip) × a little deterministic noise; a batch namespace busy at night; a few zombies (requests
//!   but about 0.0005 cores of use), a few heavily oversized requests (about 5 % used), one pod
//!   crash-looping since three days before [`SyntheticConfig::now`]. On every node the pods never
//!   reserve or use more than the node has (`max(request, usage)` summed stays under 97 % of the
//!   CPU, memory under 95 %): bursts are scaled down when they would not fit.
//! * **Costs**: `max(request, usage)` × a synthetic per-provider price per core-hour and per
//!   GiB-hour (see [`ProviderPrice`]); not any provider's price list.
//! * **Grid intensity**: the reference data's default intensity of the zone × a day-to-day
//!   "weather" factor × a daily solar dip (deeper where solar is a large share) × an evening
//!   peak; hourly. Points carry the source `synthetic` (`synthetic-forecast` for forecasts).
//! * **Embodied figures**: the reference data's embodied table, passed through (`None` for
//!   types the table does not know, as Boavizta would answer).
//!
//! Deterministic: a hand-written splitmix64 generator, seeded; the same seed and configuration
//! give the very same answers on every platform and version (no `rand`, no hash maps in the
//! output path), different seeds give different clusters. Usage, costs and intensity are pure
//! functions of the seed, the configuration and the instant, so any range can be asked in any
//! order. Restarts are cumulative counts at the window's end, as [`PodUsage::restarts`] says.
//!
//! The ports that take no time (the inventory; the latest intensity, its history and forecast)
//! answer for [`SyntheticConfig::now`]. A backfill that wants each window as it was can use
//! [`SyntheticCluster::inventory_at`] (with the Jobs running then, owned by their CronJob) and
//! [`SyntheticCluster::intensity_at`]; [`SyntheticCluster::window_usage`] and
//! [`SyntheticCluster::costs_in`] are the synchronous forms of the usage and cost ports.
//!
//! The parts: `random` (the generator), `catalogue` (providers, prices, regions, types, nodes),
//! `topology` (the demo's nodes, workloads, Jobs and scheduling), `sized` (sized clusters),
//! `load` (usage over time), `prices` (costs), `grid` (intensities) and `ports` (the five source
//! ports).

mod catalogue;
mod grid;
mod load;
mod ports;
mod prices;
mod random;
mod sized;
mod topology;

use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use greenkube_core::ports::{ClusterInventory, PodSpec, PodUsage, WindowUsage};
use greenkube_core::units::{Bytes, Cores};
use greenkube_core::{HpaTarget, Node};

pub use self::catalogue::{ProviderPrice, provider_price};
use self::load::Role;
pub use self::sized::SizedConfig;

/// Source label of measured (synthetic) intensity points.
pub const INTENSITY_SOURCE: &str = "synthetic";
/// Source label of forecast (synthetic) intensity points.
pub const FORECAST_SOURCE: &str = "synthetic-forecast";
/// Most windows one [`UsageSource::usage`] call answers (a month of 5-minute windows is 8 640).
///
/// [`UsageSource::usage`]: greenkube_core::ports::UsageSource::usage
pub const MAX_WINDOWS: usize = 1_000_000;

const GIB: f64 = 1024.0 * 1024.0 * 1024.0;
const MIB: f64 = 1024.0 * 1024.0;
const DAY_MS: i64 = 86_400_000;
const HOUR_MS: i64 = 3_600_000;
/// Share of a node's CPU and memory the scheduler lets requests take.
const ALLOCATABLE: f64 = 0.9;
/// Bound on `Σ max(request, usage)` of the pods of a node, as a share of its CPU.
const CPU_CEILING: f64 = 0.97;
/// Bound on the summed working sets of the pods of a node, as a share of its memory.
const MEMORY_CEILING: f64 = 0.95;

/// Shape of the demo's synthetic cluster. Out-of-range values are clamped (see each field).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyntheticConfig {
    /// Number of nodes (1 to 500; default 15).
    pub nodes: usize,
    /// Number of long-running pods aimed at, DaemonSet pods included (default 60). Reached by
    /// changing the replicas of scalable Deployments, so a cluster with many nodes (one
    /// DaemonSet pod each) or few namespaces may land above or below it.
    pub pods: usize,
    /// Number of namespaces (8 to 16; default 12): the eight that carry the demo's stories
    /// (system, web, batch, zombies, oversized requests) plus optional ones the seed picks.
    pub namespaces: usize,
    /// The instant the cluster treats as now: the inventory's Jobs, the latest intensity, its
    /// history and forecast, and the start of the crash loop (three days before) are relative to
    /// it. Default 2025-06-30T00:00:00Z.
    pub now: DateTime<Utc>,
}

impl Default for SyntheticConfig {
    fn default() -> Self {
        Self {
            nodes: 15,
            pods: 60,
            namespaces: 12,
            now: Utc
                .with_ymd_and_hms(2025, 6, 30, 0, 0, 0)
                .single()
                .unwrap_or(DateTime::UNIX_EPOCH),
        }
    }
}

/// What the cluster knows of one of its nodes beyond [`Node`].
#[derive(Debug, Clone)]
struct NodeInfo {
    name: Arc<str>,
    cpu: f64,
    memory: f64,
    price: ProviderPrice,
    /// Summed CPU requests of the long-running pods scheduled on it.
    cpu_requested: f64,
}

/// The model of a long-running pod (parallel to [`SyntheticCluster::pods`]).
#[derive(Debug, Clone)]
struct PodModel {
    node: Option<usize>,
    role: Role,
    /// Peak CPU, cores.
    cpu_peak: f64,
    /// Typical working set, bytes.
    memory: f64,
    /// CPU request, cores (what a pod without one is charged for in a sized cluster).
    cpu_request: f64,
    /// Memory request, bytes (likewise; also the limit of the working set).
    memory_request: f64,
    key: u64,
    /// Restarts before anything this model shows.
    restarts: u64,
    /// Shift of the pod's daily curve, seconds: its node's local time (0 in the demo's cluster,
    /// whose curves follow UTC).
    phase_s: f64,
    /// Whether the cost source knows the pod.
    has_cost: bool,
}

/// A CronJob of the cluster.
#[derive(Debug, Clone)]
struct CronModel {
    namespace: Arc<str>,
    name: Arc<str>,
    hours: u32,
    minute_ms: i64,
    duration_ms: i64,
    cpu_request: f64,
    memory_request: f64,
    cpu: f64,
    memory: f64,
    key: u64,
}

/// How untidy the answers are (all off in the demo's cluster; see [`SizedConfig::tidy`]).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Mess {
    /// Share of pod-windows without metrics.
    missing_metrics: f64,
    /// Costs in a shuffled order (different in every window) rather than sorted.
    shuffled_costs: bool,
}

/// One pod in one window, before it becomes a [`PodUsage`] or a cost.
#[derive(Debug, Clone)]
struct Entry {
    namespace: Arc<str>,
    pod: Arc<str>,
    node: usize,
    cpu: f64,
    memory: f64,
    cpu_request: f64,
    memory_request: f64,
    restarts: u64,
    long_running: bool,
    /// Whether the usage source has its metrics in this window.
    measured: bool,
    /// Whether the cost source knows it.
    has_cost: bool,
}

/// Per-call scratch, reused across windows.
#[derive(Debug, Default)]
struct Scratch {
    entries: Vec<Entry>,
    cpu_extra: Vec<f64>,
    memory: Vec<f64>,
}

/// A deterministic synthetic cluster implementing every source port (see the module docs).
#[derive(Debug, Clone)]
pub struct SyntheticCluster {
    seed: u64,
    config: SyntheticConfig,
    nodes: Vec<Node>,
    node_info: Vec<NodeInfo>,
    /// Long-running pods, sorted by namespace then name.
    pods: Vec<PodSpec>,
    models: Vec<PodModel>,
    cronjobs: Vec<CronModel>,
    hpas: Vec<HpaTarget>,
    namespaces: Vec<Arc<str>>,
    /// Start of the crash loop, ms since the epoch.
    crash_start_ms: i64,
    mess: Mess,
}

impl SyntheticCluster {
    /// The demo's cluster of `seed` with the default shape ([`SyntheticConfig::default`]).
    pub fn new(seed: u64) -> Self {
        Self::with_config(seed, SyntheticConfig::default())
    }

    /// The demo's cluster of `seed` with the given shape (clamped as [`SyntheticConfig`]
    /// documents).
    pub fn with_config(seed: u64, config: SyntheticConfig) -> Self {
        topology::demo_cluster(seed, config)
    }

    /// A sized cluster of `seed`: the nodes and pods of `config` (see [`SizedConfig`]).
    pub fn sized(seed: u64, config: SizedConfig) -> Self {
        sized::sized_cluster(seed, config)
    }

    /// The seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The shape, after clamping (for a sized cluster: its node and pod counts, 16 namespaces
    /// as the most the demo has, and the default `now`).
    pub fn config(&self) -> &SyntheticConfig {
        &self.config
    }

    /// The nodes, with provider, instance type, region, zone, capacities and labels.
    pub fn cluster_nodes(&self) -> &[Node] {
        &self.nodes
    }

    /// The long-running pods (sorted by namespace then name). A pod that did not fit on any node
    /// is pending (`node` is `None`) and has no usage.
    pub fn pods(&self) -> &[PodSpec] {
        &self.pods
    }

    /// The autoscalers.
    pub fn hpas(&self) -> &[HpaTarget] {
        &self.hpas
    }

    /// The namespaces, sorted.
    pub fn namespaces(&self) -> &[Arc<str>] {
        &self.namespaces
    }

    /// The inventory at `at`: the nodes, the long-running pods, the Jobs running at `at`
    /// (owned by their CronJob) and the autoscalers. [`InventorySource::inventory`] gives this at
    /// [`SyntheticConfig::now`] without the Jobs.
    ///
    /// [`InventorySource::inventory`]: greenkube_core::ports::InventorySource::inventory
    pub fn inventory_at(&self, at: DateTime<Utc>) -> ClusterInventory {
        let mut pods = self.pods.clone();
        let t = at.timestamp_millis();
        let mut scratch = Scratch::default();
        self.push_jobs(t, t.saturating_add(1), &mut scratch.entries);
        for e in scratch.entries {
            let owner = self
                .cronjobs
                .iter()
                .find(|c| c.namespace == e.namespace && e.pod.starts_with(&*c.name));
            pods.push(PodSpec {
                namespace: e.namespace,
                name: e.pod,
                node: self.node_info.get(e.node).map(|n| n.name.clone()),
                owner_kind: owner.map(|_| Arc::from("CronJob")),
                owner_name: owner.map(|c| c.name.clone()),
                cpu_request_cores: Some(Cores(e.cpu_request)),
                memory_request_bytes: Some(Bytes(e.memory_request)),
                labels: owner.map(|c| pod_labels(&c.namespace, &c.name)),
            });
        }
        pods.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
        ClusterInventory {
            nodes: self.nodes.clone(),
            pods,
            hpas: self.hpas.clone(),
        }
    }

    /// The usage of every running pod in `[start, end)` (averages over the window; an empty
    /// window when `end <= start`). In a sized cluster with untidy data, a few pods miss their
    /// metrics in any window.
    pub fn window_usage(&self, start: DateTime<Utc>, end: DateTime<Utc>) -> WindowUsage {
        let mut scratch = Scratch::default();
        self.usage_window(start, end, &mut scratch)
    }

    fn usage_window(
        &self,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        s: &mut Scratch,
    ) -> WindowUsage {
        self.fill(start.timestamp_millis(), end.timestamp_millis(), s);
        WindowUsage {
            dropped: Vec::new(),
            window_start: start,
            pods: s
                .entries
                .iter()
                .filter(|e| e.measured)
                .map(|e| PodUsage {
                    namespace: e.namespace.clone(),
                    pod: e.pod.clone(),
                    node: self.node_info.get(e.node).map(|n| n.name.clone()),
                    cpu_usage_cores: Some(Cores(e.cpu)),
                    memory_usage_bytes: Some(Bytes(e.memory)),
                    restarts: Some(e.restarts),
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests;

/// The labels of a synthetic workload's pods: `app.kubernetes.io/name` (the workload) and
/// `team` (the team owning the namespace), as real clusters label pods for cost reports.
fn pod_labels(namespace: &str, workload: &str) -> greenkube_core::snapshot::Labels {
    let team = match namespace {
        "shop" | "catalog" | "search" => "storefront",
        "payments" | "auth" => "payments",
        "data-pipeline" | "analytics" | "ml-serving" => "data",
        "staging" | "legacy" | "notifications" => "apps",
        _ => "platform",
    };
    let mut labels = std::collections::BTreeMap::new();
    labels.insert("app.kubernetes.io/name".to_string(), workload.to_string());
    labels.insert("team".to_string(), team.to_string());
    Arc::new(labels)
}
