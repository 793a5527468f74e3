//! A deterministic synthetic cluster behind every source port, for `greenkube demo` and tests.
//!
//! [`SyntheticCluster`] stands in for Prometheus ([`UsageSource`]), the Kubernetes API
//! ([`InventorySource`]), OpenCost ([`CostSource`]), Electricity Maps ([`IntensitySource`]) and
//! Boavizta ([`EmbodiedSource`]), so the real collect → snapshot → estimate → store path can run
//! on realistic data without a cluster.
//!
//! **Everything it answers is synthetic.** The shapes are realistic, the numbers are made up:
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

use std::collections::BTreeMap;
use std::f64::consts::PI;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, TimeZone, Utc};
use greenkube_core::ports::{
    ClusterInventory, CostSource, EmbodiedFigure, EmbodiedSource, IntensityPoint, IntensitySource,
    InventorySource, PodSpec, PodUsage, SourceError, SourceErrorKind, SourceKind, TimeRange,
    UsageSource, WindowUsage,
};
use greenkube_core::units::{Bytes, Cores, Money};
use greenkube_core::{CostEntry, HpaTarget, Node, Provider, ReferenceData};

/// Source label of measured (synthetic) intensity points.
pub const INTENSITY_SOURCE: &str = "synthetic";
/// Source label of forecast (synthetic) intensity points.
pub const FORECAST_SOURCE: &str = "synthetic-forecast";
/// Most windows one [`UsageSource::usage`] call answers (a month of 5-minute windows is 8 640).
pub const MAX_WINDOWS: usize = 1_000_000;

const GIB: f64 = 1024.0 * 1024.0 * 1024.0;
const MIB: f64 = 1024.0 * 1024.0;
const DAY_MS: i64 = 86_400_000;
const HOUR_MS: i64 = 3_600_000;
/// Sub-window of [`SyntheticCluster::costs_in`] (costs follow usage, which changes by window).
const COST_STEP_MS: i64 = 300_000;
/// The crash-looping pod is OOM-killed this often (ms).
const CRASH_PERIOD_MS: i64 = 25 * 60_000;
/// Share of a node's CPU and memory the scheduler lets requests take.
const ALLOCATABLE: f64 = 0.9;
/// Bound on `Σ max(request, usage)` of the pods of a node, as a share of its CPU.
const CPU_CEILING: f64 = 0.97;
/// Bound on the summed working sets of the pods of a node, as a share of its memory.
const MEMORY_CEILING: f64 = 0.95;
/// Alphabet Kubernetes uses for generated name suffixes.
const NAME_ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

/// Shape of the synthetic cluster. Out-of-range values are clamped (see each field).
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

/// Synthetic price of one provider (documented as synthetic: not a price list).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProviderPrice {
    /// Money per core-hour of `max(request, usage)`.
    pub per_core_hour: f64,
    /// Money per GiB-hour of `max(request, usage)`.
    pub per_gib_hour: f64,
}

/// The synthetic price of a provider: `aws`, `gcp`, `azure`, `ovh` (anything else is priced like
/// `aws`).
pub fn provider_price(provider: &str) -> ProviderPrice {
    let (per_core_hour, per_gib_hour) = match provider {
        "gcp" => (0.0332, 0.00445),
        "azure" => (0.0360, 0.0048),
        "ovh" => (0.0220, 0.0030),
        _ => (0.0316, 0.00424),
    };
    ProviderPrice {
        per_core_hour,
        per_gib_hour,
    }
}

// ---------------------------------------------------------------------------------------------
// Deterministic randomness.

/// The splitmix64 finaliser: a bijective mix of 64 bits.
const fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

/// A hash of two words.
const fn hash2(a: u64, b: u64) -> u64 {
    mix(a.wrapping_add(GOLDEN) ^ mix(b.wrapping_add(GOLDEN.rotate_left(17))))
}

/// A uniform number in `[0, 1)` from 53 bits of `h`.
fn unit(h: u64) -> f64 {
    (h >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// A uniform number in `[-1, 1)`.
fn signed(h: u64) -> f64 {
    2.0 * unit(h) - 1.0
}

/// FNV-1a of a string, case-insensitive (zone codes).
fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xCBF2_9CE4_8422_2325, |h, b| {
        (h ^ u64::from(b.to_ascii_uppercase())).wrapping_mul(0x0100_0000_01B3)
    })
}

/// splitmix64: small, fast, and the same on every platform and version.
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(GOLDEN);
        mix(self.0)
    }

    fn unit(&mut self) -> f64 {
        unit(self.next_u64())
    }

    fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }

    /// An index below `n` (`0` when `n` is 0).
    fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }

    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        items.get(self.below(items.len()))
    }

    fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i + 1);
            items.swap(i, j);
        }
    }

    fn token(&mut self, len: usize, alphabet: &[u8]) -> String {
        (0..len)
            .map(|_| {
                char::from(
                    alphabet
                        .get(self.below(alphabet.len()))
                        .copied()
                        .unwrap_or(b'x'),
                )
            })
            .collect()
    }
}

// ---------------------------------------------------------------------------------------------
// The catalogue the cluster is drawn from.

/// A node pool: a provider's region, its zones, and instance types of the reference catalogue
/// with the catalogue's vCPUs and memory (GiB).
struct Pool {
    provider: &'static str,
    region: &'static str,
    zones: &'static [&'static str],
    types: &'static [(&'static str, f64, f64)],
}

const POOLS: &[Pool] = &[
    Pool {
        provider: "aws",
        region: "eu-west-3",
        zones: &["eu-west-3a", "eu-west-3b", "eu-west-3c"],
        types: &[
            ("m5.xlarge", 4.0, 16.0),
            ("m6i.xlarge", 4.0, 16.0),
            ("m5.2xlarge", 8.0, 32.0),
            ("c5.2xlarge", 8.0, 16.0),
        ],
    },
    Pool {
        provider: "aws",
        region: "us-east-1",
        zones: &["us-east-1a", "us-east-1b", "us-east-1c"],
        types: &[("m5.2xlarge", 8.0, 32.0), ("r5.xlarge", 4.0, 32.0)],
    },
    Pool {
        provider: "gcp",
        region: "europe-west1",
        zones: &["europe-west1-b", "europe-west1-c", "europe-west1-d"],
        types: &[
            ("n2-standard-4", 4.0, 16.0),
            ("n2-standard-8", 8.0, 32.0),
            ("e2-standard-8", 8.0, 32.0),
        ],
    },
    Pool {
        provider: "gcp",
        region: "us-central1",
        zones: &[
            "us-central1-a",
            "us-central1-b",
            "us-central1-c",
            "us-central1-f",
        ],
        types: &[("n2-standard-8", 8.0, 32.0), ("n2-highmem-4", 4.0, 32.0)],
    },
    Pool {
        provider: "azure",
        region: "westeurope",
        zones: &["westeurope-1", "westeurope-2", "westeurope-3"],
        types: &[
            ("Standard_D4s_v4", 4.0, 16.0),
            ("Standard_D8s_v4", 8.0, 32.0),
            ("Standard_E4s_v4", 4.0, 32.0),
        ],
    },
    Pool {
        provider: "azure",
        region: "northeurope",
        zones: &["northeurope-1", "northeurope-2", "northeurope-3"],
        types: &[
            ("Standard_D4as_v4", 4.0, 16.0),
            ("Standard_D8as_v4", 8.0, 32.0),
        ],
    },
    Pool {
        provider: "ovh",
        region: "eu-west-par",
        zones: &["eu-west-par-a", "eu-west-par-b", "eu-west-par-c"],
        types: &[("b3-16", 4.0, 16.0), ("b3-32", 8.0, 32.0)],
    },
];

/// Providers and their weight when drawing the nodes after the first four.
const PROVIDERS: [(&str, usize); 4] = [("aws", 4), ("gcp", 3), ("azure", 3), ("ovh", 1)];

/// How a pod's usage behaves over time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// Business hours, weekend dip.
    Web,
    /// Mostly flat (databases, system agents).
    Steady,
    /// Busy at night (batch).
    Night,
    /// Holds requests, does nothing: about 0.0005 cores, never restarts.
    Zombie,
    /// Web-shaped, but about 5 % of a large request.
    Oversized,
    /// Web-shaped; crash-loops (OOM) from three days before now.
    CrashLoop,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Deployment,
    StatefulSet,
    DaemonSet,
    Bare,
}

impl Kind {
    const fn owner(self) -> Option<&'static str> {
        match self {
            Self::Deployment => Some("Deployment"),
            Self::StatefulSet => Some("StatefulSet"),
            Self::DaemonSet => Some("DaemonSet"),
            Self::Bare => None,
        }
    }
}

/// A workload template: requests per pod, and the peak CPU (share of the request) and working
/// set (share of the memory request) of its pods.
struct Workload {
    namespace: &'static str,
    kind: Kind,
    name: &'static str,
    replicas: usize,
    scalable: bool,
    cpu_request: f64,
    memory_request_mib: f64,
    role: Role,
    cpu_peak: f64,
    memory: f64,
}

#[allow(clippy::too_many_arguments)] // a table row, read in the table below
const fn w(
    namespace: &'static str,
    kind: Kind,
    name: &'static str,
    replicas: usize,
    cpu_request: f64,
    memory_request_mib: f64,
    role: Role,
    cpu_peak: f64,
    memory: f64,
) -> Workload {
    Workload {
        namespace,
        kind,
        name,
        replicas,
        scalable: false,
        cpu_request,
        memory_request_mib,
        role,
        cpu_peak,
        memory,
    }
}

const fn scalable(mut workload: Workload) -> Workload {
    workload.scalable = true;
    workload
}

/// The namespaces every cluster has: system, web, batch, zombies, oversized requests.
const CORE_NAMESPACES: [&str; 8] = [
    "kube-system",
    "monitoring",
    "ingress-nginx",
    "shop",
    "payments",
    "data-pipeline",
    "staging",
    "legacy",
];

/// The namespaces the seed picks from.
const OPTIONAL_NAMESPACES: [&str; 8] = [
    "catalog",
    "search",
    "auth",
    "analytics",
    "cert-manager",
    "notifications",
    "ml-serving",
    "platform",
];

use Kind::{Bare, DaemonSet, Deployment, StatefulSet};
use Role::{CrashLoop, Night, Oversized, Steady, Web, Zombie};

#[rustfmt::skip]
const WORKLOADS: &[Workload] = &[
    // namespace, kind, name, replicas, CPU request, memory request (MiB), role, peak CPU (share
    // of the request), working set (share of the memory request).
    w("kube-system", DaemonSet, "kube-proxy", 1, 0.1, 128.0, Steady, 0.15, 0.35),
    w("kube-system", Deployment, "coredns", 2, 0.1, 170.0, Web, 0.35, 0.3),
    w("kube-system", Deployment, "metrics-server", 1, 0.1, 200.0, Steady, 0.2, 0.4),
    w("monitoring", StatefulSet, "prometheus", 1, 1.0, 4096.0, Steady, 0.55, 0.75),
    w("monitoring", Deployment, "grafana", 1, 0.25, 512.0, Web, 0.2, 0.45),
    w("monitoring", Deployment, "kube-state-metrics", 1, 0.1, 256.0, Steady, 0.3, 0.5),
    scalable(w("ingress-nginx", Deployment, "ingress-nginx-controller", 2, 0.5, 512.0, Web, 0.9, 0.5)),
    scalable(w("shop", Deployment, "storefront", 4, 0.5, 768.0, Web, 1.0, 0.6)),
    scalable(w("shop", Deployment, "cart", 2, 0.25, 512.0, Web, 0.9, 0.55)),
    w("shop", Deployment, "recommendations", 1, 0.5, 1024.0, CrashLoop, 0.8, 0.8),
    scalable(w("payments", Deployment, "payments-api", 3, 0.5, 1024.0, Web, 0.9, 0.6)),
    w("payments", StatefulSet, "payments-db", 2, 1.0, 4096.0, Steady, 0.45, 0.7),
    w("data-pipeline", StatefulSet, "kafka", 3, 1.0, 4096.0, Steady, 0.5, 0.75),
    w("data-pipeline", Deployment, "etl-worker", 2, 1.5, 3072.0, Night, 0.9, 0.6),
    w("staging", Deployment, "checkout-v1", 2, 0.5, 1024.0, Zombie, 0.0, 0.08),
    w("staging", Deployment, "feature-flags-preview", 1, 0.25, 512.0, Zombie, 0.0, 0.1),
    w("staging", Bare, "debug-shell", 1, 0.1, 128.0, Zombie, 0.0, 0.2),
    w("legacy", Deployment, "reporting-api", 2, 2.0, 4096.0, Oversized, 0.08, 0.1),
    w("legacy", Deployment, "invoice-renderer", 1, 1.0, 2048.0, Oversized, 0.08, 0.12),
    scalable(w("catalog", Deployment, "catalog-api", 3, 0.5, 1024.0, Web, 0.85, 0.55)),
    w("catalog", StatefulSet, "redis", 1, 0.25, 1024.0, Steady, 0.4, 0.6),
    w("search", StatefulSet, "elasticsearch", 3, 1.0, 6144.0, Steady, 0.5, 0.8),
    scalable(w("auth", Deployment, "auth-service", 2, 0.25, 512.0, Web, 0.8, 0.5)),
    w("auth", Deployment, "keycloak", 1, 0.5, 1536.0, Web, 0.5, 0.7),
    w("analytics", Deployment, "metabase", 1, 0.5, 2048.0, Web, 0.5, 0.6),
    w("cert-manager", Deployment, "cert-manager", 1, 0.05, 128.0, Steady, 0.4, 0.5),
    w("cert-manager", Deployment, "cert-manager-webhook", 1, 0.05, 64.0, Steady, 0.3, 0.5),
    scalable(w("notifications", Deployment, "email-sender", 2, 0.25, 256.0, Web, 0.7, 0.5)),
    w("ml-serving", Deployment, "model-server", 2, 2.0, 4096.0, Web, 0.6, 0.7),
    w("platform", Deployment, "argocd-server", 1, 0.25, 512.0, Steady, 0.3, 0.5),
    w("platform", Deployment, "argocd-repo-server", 1, 0.25, 512.0, Web, 0.5, 0.5),
];

/// A CronJob template: its hours (UTC, a bit mask), minute, run length, and what a run uses.
struct CronTemplate {
    namespace: &'static str,
    name: &'static str,
    hours: u32,
    minute: i64,
    minutes: i64,
    cpu_request: f64,
    memory_request_mib: f64,
    cpu: f64,
    memory_mib: f64,
}

const EVERY_HOUR: u32 = (1 << 24) - 1;

const CRONJOBS: &[CronTemplate] = &[
    CronTemplate {
        namespace: "payments",
        name: "reconcile",
        hours: 1 << 3,
        minute: 0,
        minutes: 20,
        cpu_request: 0.5,
        memory_request_mib: 512.0,
        cpu: 0.45,
        memory_mib: 380.0,
    },
    CronTemplate {
        namespace: "data-pipeline",
        name: "nightly-etl",
        hours: 1 << 1,
        minute: 0,
        minutes: 150,
        cpu_request: 1.5,
        memory_request_mib: 2048.0,
        cpu: 1.4,
        memory_mib: 1700.0,
    },
    CronTemplate {
        namespace: "analytics",
        name: "hourly-report",
        hours: EVERY_HOUR,
        minute: 5,
        minutes: 8,
        cpu_request: 0.3,
        memory_request_mib: 512.0,
        cpu: 0.25,
        memory_mib: 300.0,
    },
    CronTemplate {
        namespace: "platform",
        name: "db-backup",
        hours: 1 << 2,
        minute: 0,
        minutes: 30,
        cpu_request: 0.5,
        memory_request_mib: 1024.0,
        cpu: 0.35,
        memory_mib: 600.0,
    },
];

/// The autoscalers: (namespace, Deployment).
const HPAS: [(&str, &str); 2] = [
    ("ingress-nginx", "ingress-nginx-controller"),
    ("shop", "storefront"),
];

// ---------------------------------------------------------------------------------------------
// The cluster.

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
    cpu_request: f64,
    memory_request: f64,
    key: u64,
    /// Restarts before anything this model shows.
    restarts: u64,
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
}

impl SyntheticCluster {
    /// The cluster of `seed` with the default shape ([`SyntheticConfig::default`]).
    pub fn new(seed: u64) -> Self {
        Self::with_config(seed, SyntheticConfig::default())
    }

    /// The cluster of `seed` with the given shape (clamped as [`SyntheticConfig`] documents).
    pub fn with_config(seed: u64, config: SyntheticConfig) -> Self {
        let config = SyntheticConfig {
            nodes: config.nodes.clamp(1, 500),
            pods: config.pods,
            namespaces: config.namespaces.clamp(
                CORE_NAMESPACES.len(),
                CORE_NAMESPACES.len() + OPTIONAL_NAMESPACES.len(),
            ),
            now: config.now,
        };
        let mut rng = Rng(mix(seed ^ 0x6772_6565_6E6B_7562));
        let (nodes, mut node_info) = build_nodes(&mut rng, config.nodes);

        // Namespaces: the core ones, plus optional ones the seed picks.
        let mut optional = OPTIONAL_NAMESPACES;
        rng.shuffle(&mut optional);
        let mut namespaces: Vec<&'static str> = CORE_NAMESPACES.to_vec();
        namespaces.extend_from_slice(&optional[..config.namespaces - CORE_NAMESPACES.len()]);

        // Workloads and their replicas.
        let workloads: Vec<&Workload> = WORKLOADS
            .iter()
            .filter(|w| namespaces.contains(&w.namespace))
            .collect();
        let mut replicas: Vec<usize> = workloads
            .iter()
            .map(|w| {
                if w.kind == DaemonSet {
                    config.nodes
                } else if w.scalable {
                    w.replicas + rng.below(2)
                } else {
                    w.replicas
                }
            })
            .collect();
        fit_replicas(&workloads, &mut replicas, config.pods);

        // Pods, with names and models.
        let mut planned: Vec<(PodSpec, PodModel, usize)> = Vec::new();
        for (wi, (wl, &n)) in workloads.iter().zip(&replicas).enumerate() {
            let rs_hash = rng.token(10, NAME_ALPHABET);
            let workload_jitter = rng.range(0.85, 1.15);
            for i in 0..n {
                let name = match wl.kind {
                    Deployment => format!("{}-{rs_hash}-{}", wl.name, rng.token(5, NAME_ALPHABET)),
                    StatefulSet => format!("{}-{i}", wl.name),
                    DaemonSet => format!("{}-{}", wl.name, rng.token(5, NAME_ALPHABET)),
                    Bare => wl.name.to_string(),
                };
                let cpu_request = wl.cpu_request;
                let memory_request = wl.memory_request_mib * MIB;
                let jitter = workload_jitter * rng.range(0.92, 1.08);
                let cpu_peak = match wl.role {
                    Zombie => 0.0005,
                    _ => (wl.cpu_peak * cpu_request * jitter).min(cpu_request * 1.1),
                };
                let memory = (wl.memory * memory_request * rng.range(0.9, 1.1)).min(memory_request);
                let restarts = match wl.role {
                    Zombie => 0,
                    CrashLoop => 2,
                    _ if rng.chance(0.12) => 1 + rng.below(3) as u64,
                    _ => 0,
                };
                let spec = PodSpec {
                    namespace: Arc::from(wl.namespace),
                    name: Arc::from(name.as_str()),
                    node: None,
                    owner_kind: wl.kind.owner().map(Arc::from),
                    owner_name: wl.kind.owner().map(|_| Arc::from(wl.name)),
                    cpu_request_cores: Some(Cores(cpu_request)),
                    memory_request_bytes: Some(Bytes(memory_request)),
                };
                let model = PodModel {
                    node: (wl.kind == DaemonSet).then_some(i),
                    role: wl.role,
                    cpu_peak,
                    memory,
                    cpu_request,
                    memory_request,
                    key: rng.next_u64(),
                    restarts,
                };
                planned.push((spec, model, wi));
            }
        }
        schedule(&mut rng, &mut planned, &mut node_info);
        planned.sort_by(|a, b| (&a.0.namespace, &a.0.name).cmp(&(&b.0.namespace, &b.0.name)));
        let (pods, models): (Vec<PodSpec>, Vec<PodModel>) = planned
            .into_iter()
            .map(|(mut spec, model, _)| {
                spec.node = model
                    .node
                    .and_then(|n| node_info.get(n))
                    .map(|n| n.name.clone());
                (spec, model)
            })
            .unzip();

        let cronjobs = CRONJOBS
            .iter()
            .filter(|c| namespaces.contains(&c.namespace))
            .map(|c| CronModel {
                namespace: Arc::from(c.namespace),
                name: Arc::from(c.name),
                hours: c.hours,
                minute_ms: c.minute * 60_000,
                duration_ms: c.minutes * 60_000,
                cpu_request: c.cpu_request,
                memory_request: c.memory_request_mib * MIB,
                cpu: c.cpu * rng.range(0.9, 1.1),
                memory: c.memory_mib * MIB * rng.range(0.9, 1.1),
                key: rng.next_u64(),
            })
            .collect();
        let hpas = HPAS
            .iter()
            .filter(|(ns, _)| namespaces.contains(ns))
            .map(|(ns, name)| HpaTarget {
                namespace: (*ns).to_string(),
                target_kind: "Deployment".to_string(),
                target_name: (*name).to_string(),
            })
            .collect();
        namespaces.sort_unstable();
        let crash_start_ms = config.now.timestamp_millis().saturating_sub(3 * DAY_MS);
        Self {
            seed,
            config,
            nodes,
            node_info,
            pods,
            models,
            cronjobs,
            hpas,
            namespaces: namespaces.into_iter().map(Arc::from).collect(),
            crash_start_ms,
        }
    }

    /// The seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The shape, after clamping.
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
    /// window when `end <= start`).
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
            window_start: start,
            pods: s
                .entries
                .iter()
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

    /// The cost of every pod that ran in `range`, sorted by namespace then pod: `max(request,
    /// usage)` × the node's provider price ([`provider_price`]), integrated over 5-minute
    /// sub-windows (coarser for ranges over about a month).
    pub fn costs_in(&self, range: TimeRange) -> Vec<CostEntry> {
        let (from, to) = (
            range.from().timestamp_millis(),
            range.to().timestamp_millis(),
        );
        let span = to.saturating_sub(from);
        if span <= 0 {
            return Vec::new();
        }
        let step = COST_STEP_MS.max(span / 10_000 + 1);
        let mut totals: BTreeMap<(Arc<str>, Arc<str>), f64> = BTreeMap::new();
        let mut scratch = Scratch::default();
        let mut t = from;
        while t < to {
            let end = t.saturating_add(step).min(to);
            self.fill(t, end, &mut scratch);
            let hours = (end - t) as f64 / HOUR_MS as f64;
            for e in &scratch.entries {
                let Some(node) = self.node_info.get(e.node) else {
                    continue;
                };
                let cost = (e.cpu.max(e.cpu_request) * node.price.per_core_hour
                    + e.memory.max(e.memory_request) / GIB * node.price.per_gib_hour)
                    * hours;
                *totals
                    .entry((e.namespace.clone(), e.pod.clone()))
                    .or_insert(0.0) += cost;
            }
            t = end;
        }
        totals
            .into_iter()
            .map(|((namespace, pod), cost)| CostEntry {
                namespace,
                pod,
                cost: Money(cost),
            })
            .collect()
    }

    /// The synthetic grid intensity (gCO2e/kWh) of an electricity zone (`FR`, `US-MIDA-PJM`) or
    /// a cloud region or zone the reference data maps to one (`eu-west-3a`), in the hour of `t`;
    /// `None` for a zone the reference data does not know.
    pub fn intensity_at(&self, zone: &str, t: DateTime<Utc>) -> Option<f64> {
        let reference = ReferenceData::try_embedded().ok()?;
        let canonical = match reference.zone_intensity(zone) {
            Some(z) => z,
            None => {
                let (mapped, _) = reference.map_zone(zone, Provider::Unknown, false)?;
                reference.zone_intensity(mapped)?
            }
        };
        let base = canonical.intensity.point;
        let (depth, offset_hours) = zone_shape(&canonical.zone);
        let hour = t.timestamp().div_euclid(3600);
        let day = (hour + offset_hours).div_euclid(24);
        let local = (hour + offset_hours).rem_euclid(24) as f64 + 0.5;
        let zone_key = fnv(&canonical.zone);
        let weather = 0.85 + 0.3 * unit(hash2(self.seed ^ zone_key, day as u64));
        let solar = if (6.0..=20.0).contains(&local) {
            (PI * (local - 6.0) / 14.0).sin()
        } else {
            0.0
        };
        let evening = (-((local - 19.0) / 1.5).powi(2)).exp();
        let noise = 1.0 + 0.03 * signed(hash2(zone_key ^ self.seed.rotate_left(7), hour as u64));
        Some((base * weather * (1.0 - depth * solar) * (1.0 + 0.1 * evening) * noise).max(0.0))
    }

    fn intensity_points(
        &self,
        zone: &str,
        hours: std::ops::RangeInclusive<i64>,
        source: &str,
    ) -> Result<Vec<IntensityPoint>, SourceError> {
        let now = self.config.now.timestamp().div_euclid(3600) * 3600;
        hours
            .map(|h| {
                let at = DateTime::from_timestamp(now.saturating_add(h * 3600), 0)
                    .ok_or_else(|| intensity_error(zone, "time out of range"))?;
                let value = self
                    .intensity_at(zone, at)
                    .ok_or_else(|| intensity_error(zone, "unknown zone"))?;
                Ok(IntensityPoint {
                    zone: zone.trim().to_string(),
                    at,
                    gco2e_per_kwh: value,
                    source: source.to_string(),
                })
            })
            .collect()
    }

    /// Fills `s.entries` with the pods running in `[from, to)` (ms), sorted, on-node sums fitted.
    fn fill(&self, from: i64, to: i64, s: &mut Scratch) {
        s.entries.clear();
        if to <= from {
            return;
        }
        let mid = f64::midpoint(from as f64, to as f64) / 1000.0;
        for (spec, m) in self.pods.iter().zip(&self.models) {
            let Some(node) = m.node else { continue };
            let load = load(m.role, mid);
            let noise = signed(hash2(m.key ^ self.seed, from as u64));
            let cpu = match m.role {
                Zombie => m.cpu_peak * (1.0 + 0.4 * noise),
                _ => m.cpu_peak * load * (1.0 + 0.1 * noise),
            };
            let mut memory = match m.role {
                Zombie | Steady => m.memory * (1.0 + 0.02 * noise),
                _ => m.memory * (0.85 + 0.25 * load.min(1.0)) * (1.0 + 0.02 * noise),
            };
            let mut restarts = m.restarts;
            if m.role == CrashLoop && to > self.crash_start_ms {
                // OOM-killed every 25 minutes: the working set climbs to the limit, then resets.
                let since = to - self.crash_start_ms;
                restarts += (since / CRASH_PERIOD_MS) as u64;
                let phase = (from.max(self.crash_start_ms) - self.crash_start_ms) % CRASH_PERIOD_MS;
                memory = m.memory_request * (0.45 + 0.5 * phase as f64 / CRASH_PERIOD_MS as f64);
            }
            s.entries.push(Entry {
                namespace: spec.namespace.clone(),
                pod: spec.name.clone(),
                node,
                cpu: cpu.max(0.0),
                memory: memory.clamp(0.0, m.memory_request * 0.97),
                cpu_request: m.cpu_request,
                memory_request: m.memory_request,
                restarts,
                long_running: true,
            });
        }
        let before = s.entries.len();
        self.push_jobs(from, to, &mut s.entries);
        self.fit_to_nodes(s);
        if s.entries.len() > before {
            s.entries
                .sort_by(|a, b| (&a.namespace, &a.pod).cmp(&(&b.namespace, &b.pod)));
        }
    }

    /// Scales down bursts and Jobs where a node would hold more than it has.
    fn fit_to_nodes(&self, s: &mut Scratch) {
        let n = self.node_info.len();
        s.cpu_extra.clear();
        s.cpu_extra.resize(n, 0.0);
        s.memory.clear();
        s.memory.resize(n, 0.0);
        for e in &s.entries {
            let request = if e.long_running { e.cpu_request } else { 0.0 };
            if let Some(x) = s.cpu_extra.get_mut(e.node) {
                *x += (e.cpu - request).max(0.0);
            }
            if let Some(x) = s.memory.get_mut(e.node) {
                *x += e.memory;
            }
        }
        for (i, info) in self.node_info.iter().enumerate() {
            let allowed = (CPU_CEILING * info.cpu - info.cpu_requested).max(0.0);
            if let Some(x) = s.cpu_extra.get_mut(i) {
                *x = if *x > allowed { allowed / *x } else { 1.0 };
            }
            let memory_allowed = MEMORY_CEILING * info.memory;
            if let Some(x) = s.memory.get_mut(i) {
                *x = if *x > memory_allowed {
                    memory_allowed / *x
                } else {
                    1.0
                };
            }
        }
        for e in &mut s.entries {
            let f = s.cpu_extra.get(e.node).copied().unwrap_or(1.0);
            if f < 1.0 {
                let request = if e.long_running { e.cpu_request } else { 0.0 };
                if e.cpu > request {
                    e.cpu = request + (e.cpu - request) * f;
                }
            }
            e.memory *= s.memory.get(e.node).copied().unwrap_or(1.0);
        }
    }

    /// Appends the Job pods that run in `[from, to)` (ms).
    fn push_jobs(&self, from: i64, to: i64, out: &mut Vec<Entry>) {
        if self.node_info.is_empty() || to <= from {
            return;
        }
        let span = (to - from) as f64;
        for c in &self.cronjobs {
            let first_day = from.saturating_sub(c.duration_ms).div_euclid(DAY_MS);
            let last_day = to.div_euclid(DAY_MS);
            for day in first_day..=last_day {
                for hour in 0..24 {
                    if c.hours & (1 << hour) == 0 {
                        continue;
                    }
                    let start = day * DAY_MS + hour * HOUR_MS + c.minute_ms;
                    let end = start + c.duration_ms;
                    let overlap = to.min(end) - from.max(start);
                    if overlap <= 0 {
                        continue;
                    }
                    let run = hash2(c.key ^ self.seed, start as u64);
                    let node = (run % self.node_info.len() as u64) as usize;
                    // A run ramps up, works, and winds down.
                    let mid = (from.max(start) + to.min(end)) as f64 / 2.0;
                    let x = (mid - start as f64) / c.duration_ms as f64;
                    let shape = 0.6 + 0.4 * (PI * x).sin();
                    let noise = signed(hash2(run, from as u64));
                    let mut rng = Rng(run);
                    let pod = format!(
                        "{}-{}-{}",
                        c.name,
                        start.div_euclid(60_000),
                        rng.token(5, NAME_ALPHABET)
                    );
                    out.push(Entry {
                        namespace: c.namespace.clone(),
                        pod: Arc::from(pod.as_str()),
                        node,
                        cpu: c.cpu * shape * (1.0 + 0.08 * noise) * overlap as f64 / span,
                        memory: c.memory * (0.7 + 0.3 * x.clamp(0.0, 1.0)),
                        cpu_request: c.cpu_request,
                        memory_request: c.memory_request,
                        restarts: 0,
                        long_running: false,
                    });
                }
            }
        }
    }
}

/// The load of a role at `t` (seconds since the epoch), about 0 to 1.
fn load(role: Role, t: f64) -> f64 {
    let hour = t.rem_euclid(86_400.0) / 3600.0;
    let weekday = ((t / 86_400.0).floor() as i64 + 3).rem_euclid(7); // 0 = Monday
    let week = match weekday {
        0..=3 => 1.0,
        4 => 0.92,
        5 => 0.5,
        _ => 0.4,
    };
    // Business hours: 07:00 to 21:00 UTC, peak at 14:00.
    let day = if (7.0..=21.0).contains(&hour) {
        (PI * (hour - 7.0) / 14.0).sin()
    } else {
        0.0
    };
    match role {
        Web | Oversized | CrashLoop => (0.15 + 0.85 * day) * week,
        Steady => 0.8 + 0.2 * day * week,
        Night => {
            // 23:00 to 06:00 UTC, peak around 02:30.
            let x = (hour + 1.0).rem_euclid(24.0);
            let night = if x < 7.0 { (PI * x / 7.0).sin() } else { 0.0 };
            0.04 + 0.96 * night
        }
        Zombie => 1.0,
    }
}

/// Depth of the daily solar dip and UTC offset (hours) of an electricity zone.
fn zone_shape(zone: &str) -> (f64, i64) {
    match zone {
        "FR" => (0.12, 1),
        "DE" => (0.35, 1),
        "BE" => (0.25, 1),
        "NL" => (0.3, 1),
        "IE" | "GB" => (0.15, 0),
        "SE-SE3" | "FI" => (0.05, 1),
        "PL" => (0.15, 1),
        "US-MIDA-PJM" => (0.12, -5),
        "US-MIDW-MISO" => (0.15, -6),
        _ => (0.2, 0),
    }
}

fn intensity_error(zone: &str, what: &str) -> SourceError {
    SourceError::new(
        SourceKind::ElectricityMaps,
        SourceErrorKind::NotFound,
        format!("synthetic grid: {what} for zone {}", zone.trim()),
    )
}

/// Draws the nodes: the first four on four different providers, then weighted by provider.
fn build_nodes(rng: &mut Rng, count: usize) -> (Vec<Node>, Vec<NodeInfo>) {
    let mut first: Vec<&str> = PROVIDERS.iter().map(|(p, _)| *p).collect();
    rng.shuffle(&mut first);
    let total_weight: usize = PROVIDERS.iter().map(|(_, w)| w).sum();
    // The regions each provider uses: one primary, and a second one for some seeds.
    let mut regions: BTreeMap<&str, Vec<&Pool>> = BTreeMap::new();
    for (provider, _) in PROVIDERS {
        let mut pools: Vec<&Pool> = POOLS.iter().filter(|p| p.provider == provider).collect();
        rng.shuffle(&mut pools);
        if pools.len() > 1 && !rng.chance(0.6) {
            pools.truncate(1);
        }
        regions.insert(provider, pools);
    }
    let mut nodes = Vec::with_capacity(count);
    let mut infos = Vec::with_capacity(count);
    for i in 0..count {
        let provider = match first.get(i) {
            Some(p) => *p,
            None => {
                let mut r = rng.below(total_weight);
                PROVIDERS
                    .iter()
                    .find(|(_, w)| {
                        let hit = r < *w;
                        r = r.saturating_sub(*w);
                        hit
                    })
                    .map_or("aws", |(p, _)| *p)
            }
        };
        let Some(pool) = regions
            .get(provider)
            .and_then(|pools| rng.pick(pools))
            .copied()
        else {
            continue;
        };
        let Some(&(itype, vcpus, memory_gib)) = rng.pick(pool.types) else {
            continue;
        };
        let zone = rng.pick(pool.zones).copied().unwrap_or(pool.region);
        let mut name = node_name(rng, pool, itype, zone, i);
        if nodes.iter().any(|n: &Node| *n.name == *name) {
            name = format!("{name}-{i}");
        }
        let mut labels = BTreeMap::new();
        for (k, v) in [
            ("kubernetes.io/hostname", name.as_str()),
            ("kubernetes.io/os", "linux"),
            ("kubernetes.io/arch", "amd64"),
            ("node.kubernetes.io/instance-type", itype),
            ("topology.kubernetes.io/region", pool.region),
            ("topology.kubernetes.io/zone", zone),
        ] {
            labels.insert(k.to_string(), v.to_string());
        }
        let (pool_label, pool_name) = match pool.provider {
            "aws" => (
                "eks.amazonaws.com/nodegroup",
                format!("ng-{}", itype.replace('.', "-")),
            ),
            "gcp" => ("cloud.google.com/gke-nodepool", format!("pool-{itype}")),
            "azure" => ("kubernetes.azure.com/agentpool", azure_pool(itype)),
            _ => ("nodepool", format!("pool-{itype}")),
        };
        labels.insert(pool_label.to_string(), pool_name);
        let name: Arc<str> = Arc::from(name.as_str());
        nodes.push(Node {
            name: name.clone(),
            provider: Some(Arc::from(pool.provider)),
            instance_type: Some(Arc::from(itype)),
            region: Some(Arc::from(pool.region)),
            zone: Some(Arc::from(zone)),
            cpu_capacity_cores: Some(Cores(vcpus)),
            memory_capacity_bytes: Some(Bytes(memory_gib * GIB)),
            labels: Some(labels),
        });
        infos.push(NodeInfo {
            name,
            cpu: vcpus,
            memory: memory_gib * GIB,
            price: provider_price(pool.provider),
            cpu_requested: 0.0,
        });
    }
    (nodes, infos)
}

/// `Standard_D4s_v4` → `d4sv4`.
fn azure_pool(itype: &str) -> String {
    itype
        .trim_start_matches("Standard_")
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// A node name in the style of the provider's managed Kubernetes.
fn node_name(rng: &mut Rng, pool: &Pool, itype: &str, zone: &str, i: usize) -> String {
    match pool.provider {
        "aws" => {
            let subnet = pool.zones.iter().position(|z| *z == zone).unwrap_or(0) * 32;
            format!(
                "ip-10-0-{}-{}.{}.compute.internal",
                subnet + rng.below(32),
                1 + rng.below(254),
                pool.region
            )
        }
        "gcp" => format!(
            "gke-demo-pool-{}-{:08x}-{}",
            itype.split('-').next().unwrap_or("n2"),
            rng.next_u64() as u32,
            rng.token(4, b"abcdefghijklmnopqrstuvwxyz0123456789")
        ),
        "azure" => format!(
            "aks-{}-{:08}-vmss{:06x}",
            azure_pool(itype),
            rng.below(100_000_000),
            i
        ),
        _ => format!("{}-node-{}", itype, rng.token(6, b"abcdef0123456789")),
    }
}

/// Moves the replicas of scalable workloads until the pod count is `target` (or nothing more
/// can change).
fn fit_replicas(workloads: &[&Workload], replicas: &mut [usize], target: usize) {
    let scalable: Vec<usize> = (0..workloads.len())
        .filter(|&i| workloads.get(i).is_some_and(|w| w.scalable))
        .collect();
    if scalable.is_empty() {
        return;
    }
    let mut total: usize = replicas.iter().sum();
    let mut turn = 0usize;
    let mut stuck = 0usize;
    while total != target && stuck < scalable.len() {
        let Some(r) = scalable
            .get(turn % scalable.len())
            .and_then(|&i| replicas.get_mut(i))
        else {
            break;
        };
        turn += 1;
        if total < target && *r < 50 {
            *r += 1;
            total += 1;
            stuck = 0;
        } else if total > target && *r > 1 {
            *r -= 1;
            total -= 1;
            stuck = 0;
        } else {
            stuck += 1;
        }
    }
}

/// Places the pods: DaemonSet pods are bound already; the others, largest first, on the node
/// with the most free CPU where both requests fit, preferring nodes without a sibling. A pod that
/// fits nowhere stays pending.
fn schedule(rng: &mut Rng, planned: &mut [(PodSpec, PodModel, usize)], nodes: &mut [NodeInfo]) {
    let mut free_cpu: Vec<f64> = nodes.iter().map(|n| n.cpu * ALLOCATABLE).collect();
    let mut free_memory: Vec<f64> = nodes.iter().map(|n| n.memory * ALLOCATABLE).collect();
    let mut on_node: Vec<Vec<usize>> = vec![Vec::new(); nodes.len()];
    let mut order: Vec<usize> = (0..planned.len()).collect();
    order.sort_by(|&a, &b| {
        let (pa, pb) = (&planned[a], &planned[b]);
        pb.1.node
            .is_some()
            .cmp(&pa.1.node.is_some())
            .then(pb.1.cpu_request.total_cmp(&pa.1.cpu_request))
            .then(pb.1.memory_request.total_cmp(&pa.1.memory_request))
            .then(a.cmp(&b))
    });
    for i in order {
        let Some((_, model, workload)) = planned.get(i) else {
            continue;
        };
        let (cpu, memory, workload) = (model.cpu_request, model.memory_request, *workload);
        let chosen = match model.node {
            Some(n) => Some(n).filter(|&n| n < nodes.len()),
            None => {
                let jitter = rng.next_u64();
                (0..nodes.len())
                    .filter(|&n| free_cpu[n] >= cpu && free_memory[n] >= memory)
                    .max_by(|&a, &b| {
                        let score = |n: usize| {
                            let siblings = on_node[n].iter().filter(|&&w| w == workload).count();
                            free_cpu[n] / nodes[n].cpu - siblings as f64
                                + 0.05 * unit(hash2(jitter, n as u64))
                        };
                        score(a).total_cmp(&score(b)).then(b.cmp(&a))
                    })
            }
        };
        if let Some(n) = chosen {
            free_cpu[n] -= cpu;
            free_memory[n] -= memory;
            on_node[n].push(workload);
            nodes[n].cpu_requested += cpu;
        }
        if let Some((_, model, _)) = planned.get_mut(i) {
            model.node = chosen;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The ports.

#[async_trait]
impl UsageSource for SyntheticCluster {
    async fn usage(
        &self,
        range: TimeRange,
        step: Duration,
    ) -> Result<Vec<WindowUsage>, SourceError> {
        let step_ms = i64::try_from(step.as_millis()).unwrap_or(i64::MAX);
        if step_ms <= 0 {
            return Err(SourceError::new(
                SourceKind::Prometheus,
                SourceErrorKind::BadResponse,
                format!("synthetic usage: the window length {step:?} is shorter than 1 ms"),
            ));
        }
        let (from, to) = (
            range.from().timestamp_millis(),
            range.to().timestamp_millis(),
        );
        let span = to.saturating_sub(from).max(0);
        let windows = span / step_ms + i64::from(span % step_ms != 0);
        if usize::try_from(windows).map_or(true, |w| w > MAX_WINDOWS) {
            return Err(SourceError::new(
                SourceKind::Prometheus,
                SourceErrorKind::BadResponse,
                format!("synthetic usage: {windows} windows asked, at most {MAX_WINDOWS} answered"),
            ));
        }
        let mut out = Vec::with_capacity(windows as usize);
        let mut scratch = Scratch::default();
        for k in 0..windows {
            let start = from + k * step_ms;
            let end = start.saturating_add(step_ms);
            let (Some(s), Some(e)) = (
                DateTime::from_timestamp_millis(start),
                DateTime::from_timestamp_millis(end),
            ) else {
                break;
            };
            out.push(self.usage_window(s, e, &mut scratch));
        }
        Ok(out)
    }

    async fn nodes(&self, _at: DateTime<Utc>) -> Result<Vec<Node>, SourceError> {
        Ok(self.nodes.clone())
    }
}

#[async_trait]
impl InventorySource for SyntheticCluster {
    async fn inventory(&self) -> Result<ClusterInventory, SourceError> {
        Ok(ClusterInventory {
            nodes: self.nodes.clone(),
            pods: self.pods.clone(),
            hpas: self.hpas.clone(),
        })
    }
}

#[async_trait]
impl CostSource for SyntheticCluster {
    async fn costs(&self, range: TimeRange) -> Result<Vec<CostEntry>, SourceError> {
        Ok(self.costs_in(range))
    }
}

#[async_trait]
impl IntensitySource for SyntheticCluster {
    async fn latest(&self, zone: &str) -> Result<IntensityPoint, SourceError> {
        self.intensity_points(zone, 0..=0, INTENSITY_SOURCE)?
            .pop()
            .ok_or_else(|| intensity_error(zone, "no point"))
    }

    async fn history(&self, zone: &str) -> Result<Vec<IntensityPoint>, SourceError> {
        self.intensity_points(zone, -23..=0, INTENSITY_SOURCE)
    }

    async fn forecast(&self, zone: &str) -> Result<Vec<IntensityPoint>, SourceError> {
        self.intensity_points(zone, 1..=24, FORECAST_SOURCE)
    }
}

#[async_trait]
impl EmbodiedSource for SyntheticCluster {
    async fn embodied(
        &self,
        provider: &str,
        instance_type: &str,
    ) -> Result<Option<EmbodiedFigure>, SourceError> {
        let Ok(reference) = ReferenceData::try_embedded() else {
            return Ok(None);
        };
        let provider = Provider::parse(provider);
        if provider == Provider::Unknown {
            return Ok(None);
        }
        Ok(reference
            .embodied(provider, instance_type)
            .map(|fig| EmbodiedFigure {
                kgco2e: fig.kgco2e.point,
                kgco2e_min: fig.kgco2e.low,
                kgco2e_max: fig.kgco2e.high,
                duration_hours: fig.lifespan_hours,
            }))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use chrono::TimeDelta;
    use greenkube_core::collect::{WindowInputs, assemble};
    use greenkube_core::recommend::{RecommendationType, Recommender, RecommenderConfig};
    use greenkube_core::units::GramsPerKwh;
    use greenkube_core::{EmbodiedEntry, EstimateOptions, Inventory, Reason};

    use super::*;

    fn at(day: u32, hour: u32, minute: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 6, day, hour, minute, 0)
            .single()
            .expect("a valid instant")
    }

    fn range(from: DateTime<Utc>, to: DateTime<Utc>) -> TimeRange {
        TimeRange::new(from, to).expect("a valid range")
    }

    const FIVE_MINUTES: Duration = Duration::from_secs(300);

    /// Summed CPU of a namespace's pods over the 5-minute windows of `[from, to)`.
    fn namespace_cpu(
        c: &SyntheticCluster,
        ns: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> f64 {
        let mut total = 0.0;
        let mut t = from;
        while t < to {
            let end = t + TimeDelta::minutes(5);
            total += c
                .window_usage(t, end)
                .pods
                .iter()
                .filter(|p| &*p.namespace == ns)
                .filter_map(|p| p.cpu_usage_cores)
                .map(|c| c.0)
                .sum::<f64>();
            t = end;
        }
        total
    }

    #[tokio::test]
    async fn the_same_seed_gives_the_same_answers() {
        let (a, b) = (SyntheticCluster::new(7), SyntheticCluster::new(7));
        let day = range(at(23, 0, 0), at(24, 0, 0));
        assert_eq!(
            a.inventory().await.expect("inventory"),
            b.inventory().await.expect("inventory")
        );
        let ua = a.usage(day, FIVE_MINUTES).await.expect("usage");
        assert_eq!(ua, b.usage(day, FIVE_MINUTES).await.expect("usage"));
        assert_eq!(ua.len(), 288);
        assert_eq!(a.costs_in(day), b.costs_in(day));
        assert_eq!(
            a.history("DE").await.expect("history"),
            b.history("DE").await.expect("history")
        );
        // Usage is a function of the instant: a window asked alone is the window asked in a day.
        let alone = a.window_usage(at(23, 14, 0), at(23, 14, 5));
        assert_eq!(
            Some(&alone),
            ua.iter().find(|w| w.window_start == at(23, 14, 0))
        );
    }

    #[test]
    fn different_seeds_give_different_clusters() {
        let (a, b) = (SyntheticCluster::new(1), SyntheticCluster::new(2));
        let names = |c: &SyntheticCluster| -> Vec<Arc<str>> {
            c.cluster_nodes().iter().map(|n| n.name.clone()).collect()
        };
        assert_ne!(names(&a), names(&b));
        let (t, e) = (at(25, 10, 0), at(25, 10, 5));
        let cpu = |c: &SyntheticCluster| -> Vec<u64> {
            c.window_usage(t, e)
                .pods
                .iter()
                .filter_map(|p| p.cpu_usage_cores)
                .map(|c| c.0.to_bits())
                .collect()
        };
        assert_ne!(cpu(&a), cpu(&b));
        assert_ne!(a.intensity_at("DE", t), b.intensity_at("DE", t));
    }

    #[test]
    fn clusters_have_a_realistic_shape_for_any_seed() {
        let reference = ReferenceData::embedded();
        for seed in 0..40 {
            let c = SyntheticCluster::new(seed);
            let nodes = c.cluster_nodes();
            assert!(
                (12..=18).contains(&nodes.len()),
                "seed {seed}: {} nodes",
                nodes.len()
            );
            assert!(
                (50..=70).contains(&c.pods().len()),
                "seed {seed}: {} pods",
                c.pods().len()
            );
            let namespaces: BTreeSet<&str> = c.pods().iter().map(|p| &*p.namespace).collect();
            assert!(
                (10..=14).contains(&namespaces.len()),
                "seed {seed}: {namespaces:?}"
            );
            assert_eq!(namespaces.len(), c.namespaces().len());
            for ns in [
                "kube-system",
                "monitoring",
                "staging",
                "legacy",
                "data-pipeline",
            ] {
                assert!(namespaces.contains(ns), "seed {seed}: no {ns}");
            }
            let providers: BTreeSet<&str> =
                nodes.iter().filter_map(|n| n.provider.as_deref()).collect();
            assert!(providers.len() >= 3, "seed {seed}: {providers:?}");
            let zones: BTreeSet<&str> = nodes.iter().filter_map(|n| n.zone.as_deref()).collect();
            assert!(zones.len() >= 4, "seed {seed}: {zones:?}");

            for node in nodes {
                let provider = Provider::parse(node.provider.as_deref().unwrap_or_default());
                let itype = node.instance_type.as_deref().unwrap_or_default();
                let known = reference
                    .instance_type(provider, itype)
                    .unwrap_or_else(|| panic!("{itype} not in the catalogue"));
                assert_eq!(node.cpu_capacity_cores, Some(Cores(known.vcpus)), "{itype}");
                if let Some(gib) = known.memory_gib {
                    assert_eq!(
                        node.memory_capacity_bytes,
                        Some(Bytes(gib * GIB)),
                        "{itype}"
                    );
                }
                let zone = node.zone.as_deref().unwrap_or_default();
                let (electricity, _) = reference
                    .map_zone(zone, provider, false)
                    .unwrap_or_else(|| panic!("zone {zone} does not map"));
                assert!(
                    reference.zone_intensity(electricity).is_some(),
                    "{electricity}"
                );
                let labels = node.labels.as_ref().expect("labels");
                assert_eq!(
                    labels
                        .get("node.kubernetes.io/instance-type")
                        .map(String::as_str),
                    Some(itype)
                );
                // Scheduled requests fit in the allocatable share of the node.
                let requested: f64 = c
                    .pods()
                    .iter()
                    .filter(|p| p.node.as_ref() == Some(&node.name))
                    .filter_map(|p| p.cpu_request_cores)
                    .map(|c| c.0)
                    .sum();
                assert!(
                    requested <= ALLOCATABLE * known.vcpus + 1e-9,
                    "{}",
                    node.name
                );
                let daemons = c
                    .pods()
                    .iter()
                    .filter(|p| p.owner_kind.as_deref() == Some("DaemonSet"))
                    .filter(|p| p.node.as_ref() == Some(&node.name))
                    .count();
                assert_eq!(daemons, 1, "seed {seed}: DaemonSet pods on {}", node.name);
            }
            assert!(
                c.pods().iter().all(|p| p.node.is_some()),
                "seed {seed}: a pending pod"
            );
            let kinds: BTreeSet<Option<&str>> =
                c.pods().iter().map(|p| p.owner_kind.as_deref()).collect();
            for kind in [
                Some("Deployment"),
                Some("StatefulSet"),
                Some("DaemonSet"),
                None,
            ] {
                assert!(kinds.contains(&kind), "seed {seed}: no {kind:?}");
            }
            assert_eq!(c.hpas().len(), 2);
            for h in c.hpas() {
                assert!(c.pods().iter().any(|p| {
                    *p.namespace == *h.namespace && p.owner_name.as_deref() == Some(&*h.target_name)
                }));
            }
            let mut keys: Vec<(&str, &str)> =
                c.pods().iter().map(|p| (&*p.namespace, &*p.name)).collect();
            let sorted = keys.clone();
            keys.sort_unstable();
            keys.dedup();
            assert_eq!(keys, sorted, "pods sorted and unique");
        }
    }

    #[test]
    fn the_shape_follows_the_configuration() {
        let small = SyntheticCluster::with_config(
            3,
            SyntheticConfig {
                nodes: 4,
                pods: 30,
                namespaces: 8,
                ..SyntheticConfig::default()
            },
        );
        assert_eq!(small.cluster_nodes().len(), 4);
        assert_eq!(small.namespaces().len(), 8);
        assert!(small.pods().len() <= 40, "{}", small.pods().len());
        let big = SyntheticCluster::with_config(
            3,
            SyntheticConfig {
                nodes: 30,
                pods: 120,
                namespaces: 99,
                ..SyntheticConfig::default()
            },
        );
        assert_eq!(big.namespaces().len(), 16, "clamped");
        assert_eq!(big.pods().len(), 120);
        assert!(big.pods().iter().all(|p| p.node.is_some()));
    }

    #[test]
    fn a_crowded_node_never_holds_more_than_it_has() {
        let c = SyntheticCluster::with_config(
            6,
            SyntheticConfig {
                nodes: 4,
                pods: 70,
                namespaces: 16,
                ..SyntheticConfig::default()
            },
        );
        assert!(
            c.pods().iter().any(|p| p.node.is_none()),
            "some pods stay pending"
        );
        let mut fullest: f64 = 0.0;
        let mut t = at(23, 0, 0);
        while t < at(26, 0, 0) {
            let end = t + TimeDelta::minutes(5);
            let usage = c.window_usage(t, end);
            for node in c.cluster_nodes() {
                let cpu_capacity = node.cpu_capacity_cores.map_or(0.0, |c| c.0);
                let memory_capacity = node.memory_capacity_bytes.map_or(0.0, |b| b.0);
                let on_node = usage
                    .pods
                    .iter()
                    .filter(|p| p.node.as_ref() == Some(&node.name));
                let (mut cpu, mut memory) = (0.0, 0.0);
                for p in on_node {
                    // Jobs are not in the inventory: the engine reserves their usage.
                    let request = c
                        .pods()
                        .iter()
                        .find(|s| s.name == p.pod && s.namespace == p.namespace)
                        .and_then(|s| s.cpu_request_cores)
                        .map_or(0.0, |c| c.0);
                    cpu += request.max(p.cpu_usage_cores.map_or(0.0, |c| c.0));
                    memory += p.memory_usage_bytes.map_or(0.0, |b| b.0);
                }
                assert!(
                    cpu <= CPU_CEILING * cpu_capacity + 1e-9,
                    "{t} {}: {cpu}",
                    node.name
                );
                assert!(
                    memory <= MEMORY_CEILING * memory_capacity + 1.0,
                    "{t} {}",
                    node.name
                );
                fullest = fullest.max(cpu / cpu_capacity);
            }
            t = end;
        }
        assert!(fullest > 0.92, "the nodes were under pressure ({fullest})");
    }

    #[tokio::test]
    async fn usage_answers_every_window_of_the_range() {
        let c = SyntheticCluster::new(5);
        let windows = c
            .usage(range(at(25, 7, 0), at(25, 7, 7)), FIVE_MINUTES)
            .await
            .expect("usage");
        let starts: Vec<DateTime<Utc>> = windows.iter().map(|w| w.window_start).collect();
        assert_eq!(starts, [at(25, 7, 0), at(25, 7, 5)]);
        for w in &windows {
            let keys: Vec<(&str, &str)> = w.pods.iter().map(|p| (&*p.namespace, &*p.pod)).collect();
            let mut sorted = keys.clone();
            sorted.sort_unstable();
            sorted.dedup();
            assert_eq!(keys, sorted, "sorted by namespace then pod, once each");
            assert!(
                w.pods
                    .iter()
                    .all(|p| p.node.is_some() && p.restarts.is_some())
            );
        }
        let none = c
            .usage(range(at(25, 7, 0), at(25, 7, 0)), FIVE_MINUTES)
            .await
            .expect("usage");
        assert!(none.is_empty());
        let err = c
            .usage(range(at(25, 7, 0), at(25, 8, 0)), Duration::ZERO)
            .await
            .expect_err("no zero step");
        assert_eq!(err.kind, SourceErrorKind::BadResponse);
        let err = c
            .usage(range(at(1, 0, 0), at(30, 0, 0)), Duration::from_millis(1))
            .await
            .expect_err("too many windows");
        assert_eq!(err.kind, SourceErrorKind::BadResponse);
    }

    #[tokio::test]
    async fn jobs_run_only_at_their_hours() {
        let c = SyntheticCluster::new(5);
        let etl = |w: &WindowUsage| {
            w.pods
                .iter()
                .filter(|p| p.pod.starts_with("nightly-etl-"))
                .count()
        };
        assert_eq!(etl(&c.window_usage(at(25, 2, 0), at(25, 2, 5))), 1);
        assert_eq!(etl(&c.window_usage(at(25, 12, 0), at(25, 12, 5))), 0);
        let long_running = c.inventory().await.expect("inventory").pods;
        assert!(
            long_running
                .iter()
                .all(|p| !p.name.starts_with("nightly-etl-"))
        );
        let at_night = c.inventory_at(at(25, 2, 0));
        let job = at_night
            .pods
            .iter()
            .find(|p| p.name.starts_with("nightly-etl-"))
            .expect("the job in the inventory while it runs");
        assert_eq!(job.owner_kind.as_deref(), Some("CronJob"));
        assert_eq!(job.owner_name.as_deref(), Some("nightly-etl"));
        // The same run keeps its name through its windows.
        let name = |t: DateTime<Utc>| {
            c.window_usage(t, t + TimeDelta::minutes(5))
                .pods
                .into_iter()
                .find(|p| p.pod.starts_with("nightly-etl-"))
                .map(|p| p.pod)
        };
        assert_eq!(name(at(25, 1, 30)), name(at(25, 3, 0)));
        assert_ne!(name(at(25, 1, 30)), name(at(26, 1, 30)));
    }

    #[test]
    fn weekdays_and_business_hours_are_busier_and_batch_runs_at_night() {
        let c = SyntheticCluster::new(11);
        // 2025-06-25 is a Wednesday, 2025-06-29 a Sunday.
        let wednesday = namespace_cpu(&c, "shop", at(25, 10, 0), at(25, 16, 0));
        let sunday = namespace_cpu(&c, "shop", at(29, 10, 0), at(29, 16, 0));
        assert!(wednesday > 1.6 * sunday, "{wednesday} vs {sunday}");
        let afternoon = namespace_cpu(&c, "shop", at(25, 13, 0), at(25, 15, 0));
        let night = namespace_cpu(&c, "shop", at(25, 2, 0), at(25, 4, 0));
        assert!(afternoon > 3.0 * night, "{afternoon} vs {night}");
        let batch_night = namespace_cpu(&c, "data-pipeline", at(25, 1, 0), at(25, 3, 0));
        let batch_day = namespace_cpu(&c, "data-pipeline", at(25, 13, 0), at(25, 15, 0));
        assert!(
            batch_night > 2.0 * batch_day,
            "{batch_night} vs {batch_day}"
        );
    }

    #[tokio::test]
    async fn zombies_and_oversized_requests_exist() {
        let c = SyntheticCluster::new(3);
        let windows = c
            .usage(range(at(23, 0, 0), at(24, 0, 0)), FIVE_MINUTES)
            .await
            .expect("usage");
        let mut zombies = 0;
        let mut oversized = 0;
        for spec in c.pods() {
            let cpu: Vec<f64> = windows
                .iter()
                .flat_map(|w| w.pods.iter())
                .filter(|p| p.namespace == spec.namespace && p.pod == spec.name)
                .filter_map(|p| p.cpu_usage_cores)
                .map(|c| c.0)
                .collect();
            assert_eq!(cpu.len(), 288, "{} runs all day", spec.name);
            let mean = cpu.iter().sum::<f64>() / cpu.len() as f64;
            let peak = cpu.iter().copied().fold(0.0, f64::max);
            let request = spec.cpu_request_cores.map_or(0.0, |c| c.0);
            if mean <= 0.001 && peak <= 0.005 && request >= 0.1 {
                zombies += 1;
                let restarts = windows
                    .iter()
                    .flat_map(|w| w.pods.iter())
                    .find(|p| p.pod == spec.name)
                    .and_then(|p| p.restarts);
                assert_eq!(restarts, Some(0), "zombies do not restart");
            }
            if request >= 1.0 && mean <= 0.1 * request {
                oversized += 1;
            }
        }
        assert!(zombies >= 3, "{zombies} zombies");
        assert!(oversized >= 2, "{oversized} oversized");
    }

    #[test]
    fn one_pod_crash_loops_from_three_days_before_now() {
        let c = SyntheticCluster::new(9);
        let now = c.config().now;
        let restarts = |t: DateTime<Utc>| {
            c.window_usage(t, t + TimeDelta::minutes(5))
                .pods
                .into_iter()
                .find(|p| p.pod.starts_with("recommendations-"))
                .and_then(|p| p.restarts)
                .expect("the crash-looping pod")
        };
        let before = restarts(now - TimeDelta::days(5));
        assert_eq!(
            before,
            restarts(now - TimeDelta::days(4)),
            "stable before the loop"
        );
        let mut last = before;
        for h in (0..=72).rev() {
            let r = restarts(now - TimeDelta::hours(h));
            assert!(r >= last, "a cumulative counter");
            last = r;
        }
        assert!(last >= before + 150, "{before} then {last}");
    }

    #[test]
    fn costs_are_requests_times_a_provider_price() {
        let c = SyntheticCluster::new(4);
        let hour = range(at(25, 10, 0), at(25, 11, 0));
        let costs = c.costs_in(hour);
        let keys: Vec<(&str, &str)> = costs.iter().map(|e| (&*e.namespace, &*e.pod)).collect();
        let mut sorted = keys.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(keys, sorted);
        for spec in c.pods() {
            assert!(
                costs.iter().any(|e| e.pod == spec.name),
                "{} has a cost",
                spec.name
            );
        }
        let jobs = costs.len() - c.pods().len();
        assert!(jobs <= 1, "at most the hourly report runs at 10:05");
        // A zombie pays for its requests.
        let zombie = c
            .pods()
            .iter()
            .find(|p| &*p.name == "debug-shell")
            .expect("the bare zombie");
        let node = c
            .cluster_nodes()
            .iter()
            .find(|n| Some(&n.name) == zombie.node.as_ref())
            .expect("its node");
        let price = provider_price(node.provider.as_deref().unwrap_or_default());
        let expected = zombie.cpu_request_cores.map_or(0.0, |c| c.0) * price.per_core_hour
            + zombie.memory_request_bytes.map_or(0.0, |b| b.0) / GIB * price.per_gib_hour;
        let got = costs
            .iter()
            .find(|e| e.pod == zombie.name)
            .map(|e| e.cost.0)
            .expect("a cost");
        assert!((got - expected).abs() < 1e-12, "{got} vs {expected}");
        // Costs add up over sub-ranges.
        let halves: f64 = [
            range(at(25, 10, 0), at(25, 10, 30)),
            range(at(25, 10, 30), at(25, 11, 0)),
        ]
        .into_iter()
        .flat_map(|r| c.costs_in(r))
        .map(|e| e.cost.0)
        .sum();
        let whole: f64 = costs.iter().map(|e| e.cost.0).sum();
        assert!((halves - whole).abs() < 1e-9 * whole, "{halves} vs {whole}");
    }

    #[tokio::test]
    async fn intensity_follows_the_sun_around_the_reference_value() {
        let c = SyntheticCluster::new(8);
        let de = |h: u32| c.intensity_at("DE", at(25, h, 0)).expect("DE is known");
        // Noon in Germany is 11:00 UTC.
        assert!(de(11) < 0.8 * de(1), "{} vs {}", de(11), de(1));
        let fr: Vec<f64> = (0..24)
            .filter_map(|h| c.intensity_at("FR", at(25, h, 0)))
            .collect();
        assert!(fr.iter().all(|v| (15.0..40.0).contains(v)), "{fr:?}");
        assert_eq!(
            c.intensity_at("eu-west-3a", at(25, 9, 0)),
            c.intensity_at("FR", at(25, 9, 0)),
            "cloud zones map to their grid"
        );
        assert_eq!(c.intensity_at("NOT-A-ZONE", at(25, 9, 0)), None);

        let now = c.config().now;
        let history = c.history("DE").await.expect("history");
        assert_eq!(history.len(), 24);
        assert_eq!(history.last().map(|p| p.at), Some(now));
        assert!(
            history
                .windows(2)
                .all(|p| p[1].at - p[0].at == TimeDelta::hours(1))
        );
        assert!(
            history
                .iter()
                .all(|p| p.source == INTENSITY_SOURCE && p.zone == "DE")
        );
        assert_eq!(c.latest("DE").await.expect("latest"), history[23]);
        let forecast = c.forecast("DE").await.expect("forecast");
        assert_eq!(forecast.len(), 24);
        assert_eq!(forecast[0].at, now + TimeDelta::hours(1));
        assert!(forecast.iter().all(|p| p.source == FORECAST_SOURCE));
        IntensityPoint::check_all(&history).expect("finite, not negative");
        let err = c.latest("NOT-A-ZONE").await.expect_err("unknown zone");
        assert_eq!(err.kind, SourceErrorKind::NotFound);
    }

    #[tokio::test]
    async fn embodied_figures_come_from_the_reference_data() {
        let c = SyntheticCluster::new(0);
        let m5 = c
            .embodied("aws", "m5.xlarge")
            .await
            .expect("answers")
            .expect("known");
        assert!((m5.kgco2e - 67.116).abs() < 1e-9);
        assert!(m5.kgco2e_min <= m5.kgco2e && m5.kgco2e <= m5.kgco2e_max);
        assert!((m5.duration_hours - 35_040.0).abs() < 1e-9);
        assert_eq!(c.embodied("ovh", "b3-16").await.expect("answers"), None);
        assert_eq!(
            c.embodied("acme", "m5.xlarge").await.expect("answers"),
            None
        );
    }

    fn over_capacity(reason: &Reason) -> bool {
        matches!(
            reason,
            Reason::NodeCpuOverCapacity { .. } | Reason::NodeOvercommitted { .. }
        )
    }

    #[tokio::test]
    async fn a_week_goes_through_collect_estimate_and_recommend() {
        let c = SyntheticCluster::new(42);
        let now = c.config().now;
        let week = range(now - TimeDelta::days(7), now);
        let inventory = c.inventory().await.expect("inventory");
        let metric_nodes = UsageSource::nodes(&c, now).await.expect("nodes");
        let usage = c.usage(week, FIVE_MINUTES).await.expect("usage");
        assert_eq!(usage.len(), 7 * 288);
        let mut embodied = Vec::new();
        let types: BTreeSet<(Arc<str>, Arc<str>)> = inventory
            .nodes
            .iter()
            .filter_map(|n| Some((n.provider.clone()?, n.instance_type.clone()?)))
            .collect();
        for (provider, itype) in types {
            if let Some(fig) = c.embodied(&provider, &itype).await.expect("embodied") {
                embodied.push(EmbodiedEntry {
                    provider,
                    instance_type: itype,
                    kgco2e: fig.kgco2e,
                    lifespan_hours: Some(fig.duration_hours),
                });
            }
        }
        assert!(!embodied.is_empty());
        let options = EstimateOptions::default();
        let hpa_inventory = Inventory {
            nodes: inventory.nodes.clone(),
            hpas: inventory.hpas.clone(),
        };
        let mut recommender = Recommender::new(RecommenderConfig::default(), Some(&hpa_inventory));
        let mut zones: Option<BTreeSet<String>> = None;
        for w in &usage {
            let end = w.window_start + TimeDelta::minutes(5);
            let mut snapshot = assemble(
                w.window_start,
                end,
                WindowInputs {
                    cluster: Some(Arc::from("demo")),
                    inventory: Some(&inventory),
                    metric_nodes: &metric_nodes,
                    usage: Some(w),
                    costs: c.costs_in(range(w.window_start, end)),
                    embodied: embodied.clone(),
                    ..WindowInputs::default()
                },
            );
            let zones = zones.get_or_insert_with(|| {
                greenkube_core::zones_of(&snapshot, &options, ReferenceData::embedded())
            });
            snapshot.grid_intensity = zones
                .iter()
                .map(|z| {
                    let v = c.intensity_at(z, w.window_start).expect("a known zone");
                    (z.clone(), GramsPerKwh(v))
                })
                .collect();
            snapshot.validate().expect("a valid snapshot");
            let fp = greenkube_core::estimate(&snapshot, &options).expect("estimates");
            for n in &fp.nodes {
                assert!(
                    !n.node.reasons.iter().any(over_capacity),
                    "{}: {:?}",
                    w.window_start,
                    n.node.reasons
                );
                assert!(
                    !n.node.reasons.iter().any(|r| matches!(
                        r,
                        Reason::DefaultZoneIntensity { .. } | Reason::GlobalDefaultIntensity { .. }
                    )),
                    "measured intensity used: {:?}",
                    n.node.reasons
                );
            }
            for p in &fp.pods {
                assert!(
                    !p.reasons.iter().any(over_capacity),
                    "{}: {:?}",
                    p.pod,
                    p.reasons
                );
            }
            assert_eq!(fp.totals.pods_without_cost, 0, "every pod has a cost");
            recommender.observe(&fp);
        }
        let zones = zones.expect("zones");
        assert!(zones.len() >= 3, "{zones:?}");
        let recs = recommender.finish(ReferenceData::embedded());
        let kinds: BTreeSet<RecommendationType> = recs.iter().map(|r| r.kind).collect();
        assert!(kinds.contains(&RecommendationType::ZombiePod), "{kinds:?}");
        assert!(
            kinds.contains(&RecommendationType::RightsizingCpu),
            "{kinds:?}"
        );
        assert!(
            recs.iter()
                .filter(|r| r.kind == RecommendationType::ZombiePod)
                .all(|r| r.namespace.as_deref() == Some("staging")),
            "only the staging zombies"
        );
        assert!(
            recs.iter()
                .any(|r| r.kind == RecommendationType::RightsizingCpu
                    && r.namespace.as_deref() == Some("legacy")),
            "the oversized legacy requests"
        );
    }
}
