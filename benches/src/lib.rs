//! Deterministic synthetic Kubernetes clusters for greenkube's benchmarks.
//!
//! [`SyntheticCluster::new`] draws, from a seed, a cluster spread over five providers (AWS, Google
//! Cloud, Azure, `OVHcloud`, Scaleway) with instance types of the embedded reference catalogue,
//! regions and availability zones, node capacities, and pods owned by Deployments (through
//! `ReplicaSet`s), `StatefulSet`s, `DaemonSet`s, `Job`s, or nothing. [`SyntheticCluster::snapshot`]
//! then renders any 5-minute window as a [`Snapshot`]: usage follows a daily pattern in the
//! node's local time with per-window noise, about 95 % of the pods have a cost, and most
//! electricity zones have a measured grid intensity.
//!
//! The same `(nodes, pods, seed)` always gives the same cluster, and the same window always gives
//! the same snapshot, on every machine: the generator uses its own [`SplitMix64`] and a stateless
//! hash for per-window noise, never the clock or the OS's randomness.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::f64::consts::TAU;
use std::sync::Arc;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use greenkube_core::units::{BYTES_PER_GIB, Bytes, Cores, GramsPerKwh, Money};
use greenkube_core::{CostEntry, Node, Pod, Provider, ReferenceData, SNAPSHOT_SCHEMA, Snapshot};

/// Length of one window, in seconds.
pub const WINDOW_SECONDS: i64 = 300;

/// Windows in one day.
pub const WINDOWS_PER_DAY: usize = 288;

/// Start of window 0, in seconds since the Unix epoch (2025-06-02T00:00:00Z, a Monday).
pub const START_EPOCH_SECONDS: i64 = 1_748_822_400;

/// Cluster name written into every snapshot.
pub const CLUSTER_NAME: &str = "synthetic";

/// The `SplitMix64` generator (Steele, Lea and Flood, 2014): small, fast and good enough to draw
/// a synthetic cluster. Not for cryptography.
#[derive(Debug, Clone)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// A generator seeded with `seed`.
    pub const fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix64(self.state)
    }

    /// A float uniformly drawn from `[0, 1)`.
    pub fn next_f64(&mut self) -> f64 {
        unit(self.next_u64())
    }

    /// An index uniformly drawn from `0..n` (`n` must be positive).
    pub fn below(&mut self, n: usize) -> usize {
        assert!(n > 0, "below(0)");
        // Multiply-shift reduction; the bias is negligible for the sizes used here.
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }

    /// A float uniformly drawn from `[low, high)`.
    pub fn range(&mut self, low: f64, high: f64) -> f64 {
        low + (high - low) * self.next_f64()
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.next_f64() < p
    }

    /// An element of `items` drawn with the given weights (weights need not sum to 1).
    pub fn weighted<'a, T>(&mut self, items: &'a [(T, f64)]) -> &'a T {
        let total: f64 = items.iter().map(|(_, w)| w).sum();
        let mut x = self.next_f64() * total;
        for (item, w) in items {
            if x < *w {
                return item;
            }
            x -= w;
        }
        &items[items.len() - 1].0
    }

    /// An element of `items`, uniformly.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// `SplitMix64`'s finaliser: a bijective 64-bit mix.
pub const fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Stateless hash of `(seed, a, b, stream)`, used for per-window noise so that any window can be
/// generated without generating the ones before it.
pub const fn hash4(seed: u64, a: u64, b: u64, stream: u64) -> u64 {
    let mut h = mix64(seed ^ 0x243F_6A88_85A3_08D3);
    h = mix64(h ^ a.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    h = mix64(h ^ b.wrapping_mul(0xC2B2_AE3D_27D4_EB4F));
    mix64(h ^ stream.wrapping_mul(0x1656_67B1_9E37_79F9))
}

/// Maps 64 random bits to a float in `[0, 1)`.
pub fn unit(bits: u64) -> f64 {
    (bits >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// An instance type offered by a provider, and its memory when the catalogue does not give it.
#[derive(Debug, Clone, Copy)]
struct Offer {
    instance_type: &'static str,
    /// Used only when the reference catalogue has no memory figure (`OVHcloud`, Scaleway).
    memory_gib: f64,
    weight: f64,
}

/// A region of a provider and the availability zones Kubernetes reports in it.
#[derive(Debug, Clone, Copy)]
struct Site {
    region: &'static str,
    zones: &'static [&'static str],
    /// Offset of local time from UTC, hours (drives the daily pattern).
    utc_offset_hours: f64,
    weight: f64,
}

/// What the generator knows about one provider.
#[derive(Debug, Clone, Copy)]
struct ProviderProfile {
    name: &'static str,
    provider: Provider,
    weight: f64,
    offers: &'static [Offer],
    sites: &'static [Site],
    /// Price of one vCPU-hour and one GiB-hour of requests (currency units).
    cpu_hour: f64,
    gib_hour: f64,
}

const fn offer(instance_type: &'static str, weight: f64) -> Offer {
    Offer {
        instance_type,
        memory_gib: 0.0,
        weight,
    }
}

const fn offer_mem(instance_type: &'static str, memory_gib: f64, weight: f64) -> Offer {
    Offer {
        instance_type,
        memory_gib,
        weight,
    }
}

const fn site(
    region: &'static str,
    zones: &'static [&'static str],
    utc_offset_hours: f64,
    weight: f64,
) -> Site {
    Site {
        region,
        zones,
        utc_offset_hours,
        weight,
    }
}

const PROVIDERS: [ProviderProfile; 5] = [
    ProviderProfile {
        name: "aws",
        provider: Provider::Aws,
        weight: 0.35,
        offers: &[
            offer("m5.large", 1.0),
            offer("m5.xlarge", 2.0),
            offer("m5.2xlarge", 2.0),
            offer("m5.4xlarge", 0.5),
            offer("m6i.xlarge", 1.5),
            offer("m6i.2xlarge", 2.0),
            offer("m6i.4xlarge", 1.0),
            offer("c6i.2xlarge", 1.0),
            offer("r5.2xlarge", 0.7),
            offer("m6g.2xlarge", 1.0),
            offer("m7i.2xlarge", 0.8),
        ],
        sites: &[
            site(
                "eu-west-3",
                &["eu-west-3a", "eu-west-3b", "eu-west-3c"],
                2.0,
                2.0,
            ),
            site(
                "us-east-1",
                &["us-east-1a", "us-east-1b", "us-east-1c", "us-east-1d"],
                -4.0,
                3.0,
            ),
            site(
                "eu-central-1",
                &["eu-central-1a", "eu-central-1b", "eu-central-1c"],
                2.0,
                1.5,
            ),
            site(
                "us-west-2",
                &["us-west-2a", "us-west-2b", "us-west-2c"],
                -7.0,
                1.5,
            ),
        ],
        cpu_hour: 0.0316,
        gib_hour: 0.0042,
    },
    ProviderProfile {
        name: "gcp",
        provider: Provider::Gcp,
        weight: 0.25,
        offers: &[
            offer("n2-standard-4", 2.0),
            offer("n2-standard-8", 2.0),
            offer("n2-standard-16", 0.7),
            offer("e2-standard-4", 1.5),
            offer("e2-standard-8", 1.5),
            offer("n2d-standard-8", 1.0),
            offer("c2-standard-8", 0.5),
        ],
        sites: &[
            site(
                "europe-west9",
                &["europe-west9-a", "europe-west9-b", "europe-west9-c"],
                2.0,
                1.5,
            ),
            site(
                "us-central1",
                &[
                    "us-central1-a",
                    "us-central1-b",
                    "us-central1-c",
                    "us-central1-f",
                ],
                -5.0,
                2.0,
            ),
            site(
                "europe-west4",
                &["europe-west4-a", "europe-west4-b", "europe-west4-c"],
                2.0,
                1.5,
            ),
        ],
        cpu_hour: 0.0316,
        gib_hour: 0.0042,
    },
    ProviderProfile {
        name: "azure",
        provider: Provider::Azure,
        weight: 0.20,
        offers: &[
            offer("Standard_D4s_v5", 2.0),
            offer("Standard_D8s_v5", 2.0),
            offer("Standard_D16s_v5", 0.7),
            offer("Standard_E8s_v5", 0.8),
            offer("Standard_D4as_v5", 1.0),
            offer("Standard_F8s_v2", 0.5),
        ],
        sites: &[
            site(
                "westeurope",
                &["westeurope-1", "westeurope-2", "westeurope-3"],
                2.0,
                2.0,
            ),
            site("eastus", &["eastus-1", "eastus-2", "eastus-3"], -4.0, 2.0),
            site(
                "swedencentral",
                &["swedencentral-1", "swedencentral-2", "swedencentral-3"],
                2.0,
                1.0,
            ),
        ],
        cpu_hour: 0.0336,
        gib_hour: 0.0045,
    },
    ProviderProfile {
        name: "ovh",
        provider: Provider::Ovh,
        weight: 0.10,
        offers: &[
            offer_mem("b3-16", 16.0, 2.0),
            offer_mem("b3-32", 32.0, 2.0),
            offer_mem("b3-64", 64.0, 1.0),
            offer_mem("c3-16", 16.0, 1.0),
            offer_mem("r3-64", 64.0, 0.5),
        ],
        sites: &[
            site("gra", &["GRA9", "GRA11"], 2.0, 2.0),
            site("sbg", &["SBG5"], 2.0, 1.0),
            site("bhs", &["BHS5"], -4.0, 1.0),
            site("waw", &["WAW1"], 2.0, 0.5),
        ],
        cpu_hour: 0.0190,
        gib_hour: 0.0025,
    },
    ProviderProfile {
        name: "scaleway",
        provider: Provider::Scaleway,
        weight: 0.10,
        offers: &[
            offer_mem("VPS-PRO-L", 16.0, 2.0),
            offer_mem("VPS-PRO-XL", 32.0, 2.0),
            offer_mem("VPS-PRO-XXL", 64.0, 1.0),
            offer_mem("VPS-START-XL", 16.0, 1.0),
        ],
        sites: &[
            site("fr-par", &["fr-par-1", "fr-par-2", "fr-par-3"], 2.0, 2.0),
            site("nl-ams", &["nl-ams-1", "nl-ams-2"], 2.0, 1.0),
            site("pl-waw", &["pl-waw-1"], 2.0, 0.5),
        ],
        cpu_hour: 0.0210,
        gib_hour: 0.0028,
    },
];

/// Namespaces of the platform (`DaemonSet`s and shared services live there).
const PLATFORM_NAMESPACES: [&str; 6] = [
    "kube-system",
    "monitoring",
    "logging",
    "ingress-nginx",
    "cert-manager",
    "argocd",
];

const TEAMS: [&str; 14] = [
    "payments", "checkout", "search", "catalog", "identity", "billing", "ml", "data", "growth",
    "mobile", "support", "risk", "ads", "media",
];

const ENVIRONMENTS: [&str; 3] = ["prod", "staging", "dev"];

const WORDS: [&str; 32] = [
    "api",
    "web",
    "worker",
    "gateway",
    "cache",
    "indexer",
    "scheduler",
    "consumer",
    "producer",
    "router",
    "auth",
    "ledger",
    "notifier",
    "renderer",
    "crawler",
    "exporter",
    "frontend",
    "backend",
    "sync",
    "batch",
    "stream",
    "feature",
    "model",
    "ranker",
    "proxy",
    "queue",
    "store",
    "report",
    "audit",
    "mailer",
    "thumbnail",
    "resolver",
];

/// `DaemonSet`s run on every node: `(namespace, name, cpu request, memory request MiB)`.
const DAEMONSETS: [(&str, &str, f64, f64); 3] = [
    ("kube-system", "kube-proxy", 0.1, 128.0),
    ("monitoring", "node-exporter", 0.05, 64.0),
    ("logging", "fluent-bit", 0.1, 256.0),
];

/// Kubernetes' "safe" alphabet for generated name suffixes (no vowels, no look-alikes).
const SAFE_ALPHABET: &[u8; 27] = b"bcdfghjklmnpqrstvwxz2456789";

/// A unique suffix for `n` drawn from the safe alphabet: a bijection of `0..27^len` scrambled so
/// consecutive pods do not get consecutive names.
fn safe_suffix(n: u64) -> String {
    let (len, modulus) = if n < 27u64.pow(5) {
        (5, 27u64.pow(5))
    } else {
        (10, 27u64.pow(10))
    };
    // 2654435761 is not divisible by 3, so multiplication is a bijection modulo 27^len.
    let mut x = ((u128::from(n) * 2_654_435_761u128) % u128::from(modulus)) as u64;
    let mut out = vec![b'b'; len];
    for slot in out.iter_mut().rev() {
        *slot = SAFE_ALPHABET[(x % 27) as usize];
        x /= 27;
    }
    String::from_utf8(out).unwrap_or_default()
}

/// A random suffix of `len` characters from the safe alphabet (may repeat across calls).
fn random_suffix(rng: &mut SplitMix64, len: usize) -> String {
    (0..len)
        .map(|_| char::from(SAFE_ALPHABET[rng.below(SAFE_ALPHABET.len())]))
        .collect()
}

/// A node of the synthetic cluster, with what the generator needs to vary its load.
#[derive(Debug, Clone)]
struct NodeSpec {
    node: Node,
    provider: usize,
    /// Offset of local time from UTC, as a fraction of a day.
    local_offset_days: f64,
    /// Electricity zone the node is in (as the `full` methodology resolves it).
    electricity_zone: Arc<str>,
}

/// A pod of the synthetic cluster: its static description and its load parameters.
#[derive(Debug, Clone)]
struct PodSpec {
    /// Static fields; usage is filled in per window.
    template: Pod,
    node: Option<u32>,
    /// CPU the pod uses on average, cores, before the daily pattern and noise.
    cpu_mean: f64,
    /// Memory working set on average, bytes.
    memory_mean: f64,
    /// Daily swing of the CPU usage (0 = flat).
    amplitude: f64,
    /// Phase shift of the pod's daily pattern, fraction of a day.
    phase_days: f64,
    /// Whether the cost source knows this pod.
    has_cost: bool,
    /// Cost accrued per window at mean load.
    cost_per_window: f64,
}

/// Order of the cost entries in a snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CostOrder {
    /// In pod order (pods without a cost skipped), as a collector that walks the pods writes them.
    #[default]
    PodOrder,
    /// Shuffled (differently in every window), as a cost source may return them.
    Shuffled,
}

/// A deterministic synthetic cluster: see the crate documentation.
#[derive(Debug, Clone)]
pub struct SyntheticCluster {
    seed: u64,
    nodes: Vec<NodeSpec>,
    pods: Vec<PodSpec>,
    /// Electricity zones with a measured intensity, and their base intensity (gCO2e/kWh).
    grid: Vec<(String, f64)>,
    namespaces: usize,
    cluster: Arc<str>,
    cost_order: CostOrder,
}

impl SyntheticCluster {
    /// Draws a cluster of `nodes` nodes and `pods` pods from `seed`.
    ///
    /// With no nodes, the pods are unscheduled (no node).
    pub fn new(nodes: usize, pods: usize, seed: u64) -> Self {
        let reference = ReferenceData::embedded();
        let mut rng = SplitMix64::new(seed);
        let node_specs = make_nodes(&mut rng, reference, nodes);
        let (pod_specs, namespaces) = make_pods(&mut rng, &node_specs, pods);

        // Measured intensities for every electricity zone a node is in but one (when there are
        // at least three), which falls back to the reference data's yearly default.
        let zones: BTreeSet<&str> = node_specs
            .iter()
            .map(|n| n.electricity_zone.as_ref())
            .collect();
        let skip = (zones.len() >= 3).then(|| rng.below(zones.len()));
        let grid: Vec<(String, f64)> = zones
            .into_iter()
            .enumerate()
            .filter(|(i, _)| Some(*i) != skip)
            .map(|(_, zone)| {
                let base = reference
                    .zone_intensity(zone)
                    .map_or(400.0, |z| z.intensity.point);
                (zone.to_string(), base)
            })
            .collect();

        Self {
            seed,
            nodes: node_specs,
            pods: pod_specs,
            grid,
            namespaces,
            cluster: Arc::from(CLUSTER_NAME),
            cost_order: CostOrder::PodOrder,
        }
    }

    /// The same cluster, writing its cost entries in `order`.
    #[must_use]
    pub fn with_cost_order(mut self, order: CostOrder) -> Self {
        self.cost_order = order;
        self
    }

    /// The seed the cluster was drawn from.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Number of nodes.
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// Number of pods (every pod runs in every window).
    pub fn pod_count(&self) -> usize {
        self.pods.len()
    }

    /// Number of distinct namespaces.
    pub fn namespace_count(&self) -> usize {
        self.namespaces
    }

    /// Electricity zones that get a measured grid intensity in every snapshot.
    pub fn measured_zones(&self) -> impl Iterator<Item = &str> {
        self.grid.iter().map(|(z, _)| z.as_str())
    }

    /// Start of window `window` (5-minute windows from 2025-06-02T00:00:00Z).
    pub fn window_start(window: usize) -> DateTime<Utc> {
        let window = i64::try_from(window).unwrap_or(i64::MAX / WINDOW_SECONDS / 2);
        let seconds = START_EPOCH_SECONDS.saturating_add(window.saturating_mul(WINDOW_SECONDS));
        Utc.timestamp_opt(seconds, 0)
            .single()
            .unwrap_or(DateTime::<Utc>::UNIX_EPOCH)
    }

    /// The snapshot of window `window`: the same nodes and pods in every window, usage following
    /// a daily pattern (peak mid-afternoon, local time) with per-window noise, a few pods
    /// without metrics in any window, costs for about 95 % of the pods, and measured intensities
    /// for most zones.
    pub fn snapshot(&self, window: usize) -> Snapshot {
        let start = Self::window_start(window);
        let end = start + TimeDelta::seconds(WINDOW_SECONDS);
        let utc_day = (window % WINDOWS_PER_DAY) as f64 / WINDOWS_PER_DAY as f64
            + 0.5 / WINDOWS_PER_DAY as f64;
        let w = window as u64;
        let seed = self.seed;

        let nodes: Vec<Node> = self.nodes.iter().map(|n| n.node.clone()).collect();
        let mut pods: Vec<Pod> = Vec::with_capacity(self.pods.len());
        let mut costs: Vec<CostEntry> = Vec::with_capacity(self.pods.len());
        for (i, spec) in self.pods.iter().enumerate() {
            let i = i as u64;
            let local = spec
                .node
                .map_or(0.0, |n| self.nodes[n as usize].local_offset_days);
            // Daily pattern: trough around 03:00, peak around 15:00 local time.
            let day = utc_day + local + spec.phase_days;
            let daily = spec
                .amplitude
                .mul_add((TAU * (day - 0.375)).sin(), 1.0)
                .max(0.05);
            let h = hash4(seed, i, w, 0);
            let noise = 0.85 + 0.3 * unit(h);
            let mut pod = spec.template.clone();
            // About 0.5 % of the pods miss their metrics in any window.
            if unit(hash4(seed, i, w, 1)) >= 0.005 {
                pod.cpu_usage_cores = Some(Cores(spec.cpu_mean * daily * noise));
                let memory_swing = 0.9 + 0.1 * daily + 0.05 * unit(h.rotate_left(21));
                pod.memory_usage_bytes = Some(Bytes((spec.memory_mean * memory_swing).round()));
            }
            pod.restarts = Some(u64::from(unit(h.rotate_left(42)) < 0.002));
            if spec.has_cost {
                costs.push(CostEntry {
                    namespace: pod.namespace.clone(),
                    pod: pod.name.clone(),
                    cost: Money(spec.cost_per_window * (0.97 + 0.06 * unit(h.rotate_left(7)))),
                });
            }
            pods.push(pod);
        }

        if self.cost_order == CostOrder::Shuffled {
            // Fisher-Yates, seeded by the window.
            let mut rng = SplitMix64::new(hash4(seed, w, 0, 3));
            for i in (1..costs.len()).rev() {
                costs.swap(i, rng.below(i + 1));
            }
        }

        let grid_intensity: BTreeMap<String, GramsPerKwh> = self
            .grid
            .iter()
            .enumerate()
            .map(|(z, (zone, base))| {
                // Solar dip around 13:00 UTC, a few percent of noise.
                let solar = 1.0 - 0.15 * (TAU * (utc_day - 0.3)).cos();
                let noise = 0.95 + 0.1 * unit(hash4(seed, z as u64, w, 2));
                (zone.clone(), GramsPerKwh(base * solar * noise))
            })
            .collect();

        Snapshot {
            schema: SNAPSHOT_SCHEMA.to_string(),
            cluster: Some(self.cluster.clone()),
            window_start: start,
            window_end: end,
            nodes,
            pods,
            grid_intensity,
            costs,
            embodied: Vec::new(),
            degraded_sources: Vec::new(),
        }
    }

    /// The snapshot of window `window` as `greenkube.snapshot/v1` JSON.
    pub fn snapshot_json(&self, window: usize) -> String {
        serde_json::to_string(&self.snapshot(window)).unwrap_or_default()
    }
}

/// Cumulative weights for weighted picks.
fn cumulative(weights: impl Iterator<Item = f64>) -> Vec<f64> {
    let mut total = 0.0;
    weights
        .map(|w| {
            total += w;
            total
        })
        .collect()
}

fn pick_cumulative(rng: &mut SplitMix64, cumulative: &[f64]) -> usize {
    let total = cumulative.last().copied().unwrap_or(0.0);
    let x = rng.next_f64() * total;
    cumulative
        .partition_point(|&c| c <= x)
        .min(cumulative.len() - 1)
}

fn make_nodes(rng: &mut SplitMix64, reference: &ReferenceData, count: usize) -> Vec<NodeSpec> {
    let provider_weights = cumulative(PROVIDERS.iter().map(|p| p.weight));
    let mut nodes = Vec::with_capacity(count);
    for i in 0..count {
        let p = pick_cumulative(rng, &provider_weights);
        let profile = &PROVIDERS[p];
        let offer_weights = cumulative(profile.offers.iter().map(|o| o.weight));
        let offer = profile.offers[pick_cumulative(rng, &offer_weights)];
        let site_weights = cumulative(profile.sites.iter().map(|s| s.weight));
        let site = profile.sites[pick_cumulative(rng, &site_weights)];
        let zone = *rng.pick(site.zones);
        let catalogue = reference
            .instance_type(profile.provider, offer.instance_type)
            .unwrap_or_else(|| {
                panic!(
                    "{}/{} is not in the embedded catalogue",
                    profile.name, offer.instance_type
                )
            });
        let memory_gib = catalogue.memory_gib.unwrap_or(offer.memory_gib);
        let electricity_zone = reference
            .map_zone(zone, profile.provider, false)
            .map_or_else(|| Arc::from("?"), |(z, _)| Arc::from(z));

        let name = node_name(rng, profile.name, site.region, i);
        let mut node = Node {
            name: Arc::from(name),
            provider: Some(Arc::from(profile.name)),
            instance_type: Some(Arc::from(offer.instance_type)),
            region: Some(Arc::from(site.region)),
            zone: Some(Arc::from(zone)),
            cpu_capacity_cores: Some(Cores(catalogue.vcpus)),
            memory_capacity_bytes: Some(Bytes(memory_gib * BYTES_PER_GIB)),
            labels: None,
        };
        // About 3 % of the nodes give their type, region and zone only as well-known labels.
        if rng.chance(0.03) {
            let labels: BTreeMap<String, String> = [
                ("node.kubernetes.io/instance-type", offer.instance_type),
                ("topology.kubernetes.io/region", site.region),
                ("topology.kubernetes.io/zone", zone),
                ("kubernetes.io/os", "linux"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
            node.instance_type = None;
            node.region = None;
            node.zone = None;
            node.labels = Some(labels);
        }
        nodes.push(NodeSpec {
            node,
            provider: p,
            local_offset_days: site.utc_offset_hours / 24.0,
            electricity_zone,
        });
    }
    nodes
}

fn node_name(rng: &mut SplitMix64, provider: &str, region: &str, i: usize) -> String {
    match provider {
        "aws" => format!(
            "ip-10-{}-{}-{}.{region}.compute.internal",
            (i >> 16) & 255,
            (i >> 8) & 255,
            i & 255
        ),
        "gcp" => format!(
            "gke-prod-pool-{}-{:08x}-{}",
            rng.below(4) + 1,
            rng.next_u64() as u32,
            safe_suffix(i as u64)
        ),
        "azure" => format!(
            "aks-nodepool{}-{:08}-vmss{i:06x}",
            rng.below(3) + 1,
            rng.next_u64() % 100_000_000
        ),
        "ovh" => format!("node-{:08x}-{i:05}", rng.next_u64() as u32),
        _ => format!("scw-prod-pool-{:08x}-{i:05}", rng.next_u64() as u32),
    }
}

/// A workload: an owner and the template of its pods.
struct Workload {
    namespace: Arc<str>,
    kind: Option<Arc<str>>,
    owner: Option<Arc<str>>,
    base_name: String,
    replicas: usize,
    cpu_request: Option<f64>,
    memory_request: Option<f64>,
    /// Usage as a fraction of the request.
    cpu_ratio: f64,
    memory_ratio: f64,
    amplitude: f64,
}

const MIB: f64 = 1_048_576.0;

fn make_pods(rng: &mut SplitMix64, nodes: &[NodeSpec], count: usize) -> (Vec<PodSpec>, usize) {
    // Namespaces: the platform's, then one per team and environment.
    let mut namespaces: Vec<Arc<str>> = PLATFORM_NAMESPACES
        .iter()
        .map(|n| Arc::<str>::from(*n))
        .collect();
    for team in TEAMS {
        for env in ENVIRONMENTS {
            namespaces.push(Arc::from(format!("{team}-{env}")));
        }
    }
    let kinds: [Arc<str>; 4] = [
        Arc::from("ReplicaSet"),
        Arc::from("StatefulSet"),
        Arc::from("DaemonSet"),
        Arc::from("Job"),
    ];
    // Pods land on nodes in proportion to their vCPUs.
    let node_weights = cumulative(
        nodes
            .iter()
            .map(|n| n.node.cpu_capacity_cores.map_or(1.0, |c| c.0)),
    );
    let mut pods: Vec<PodSpec> = Vec::with_capacity(count);
    let mut used_ns = vec![false; namespaces.len()];
    let mut serial: u64 = 0;

    // DaemonSets: one pod per node and DaemonSet, at most a tenth of the pods.
    let daemon_pods = (nodes.len() * DAEMONSETS.len()).min(count / 10);
    for k in 0..daemon_pods {
        let (ns, name, cpu, mem_mib) = DAEMONSETS[k / nodes.len()];
        let node = k % nodes.len();
        let ns_index = PLATFORM_NAMESPACES
            .iter()
            .position(|n| *n == ns)
            .unwrap_or(0);
        used_ns[ns_index] = true;
        let workload = Workload {
            namespace: namespaces[ns_index].clone(),
            kind: Some(kinds[2].clone()),
            owner: Some(Arc::from(name)),
            base_name: name.to_string(),
            replicas: 1,
            cpu_request: Some(cpu),
            memory_request: Some(mem_mib * MIB),
            cpu_ratio: rng.range(0.2, 0.8),
            memory_ratio: rng.range(0.4, 0.9),
            amplitude: 0.3,
        };
        let name = format!("{name}-{}", safe_suffix(serial));
        serial += 1;
        pods.push(pod_spec(rng, &workload, name, Some(node as u32), nodes));
    }

    // Everything else: workloads in the namespaces until the count is reached.
    let mut names_taken: HashSet<(usize, String)> = HashSet::new();
    while pods.len() < count {
        let ns_index = if rng.chance(0.1) {
            rng.below(PLATFORM_NAMESPACES.len())
        } else {
            PLATFORM_NAMESPACES.len() + rng.below(namespaces.len() - PLATFORM_NAMESPACES.len())
        };
        used_ns[ns_index] = true;
        let mut base = format!("{}-{}", rng.pick(&WORDS), rng.pick(&WORDS));
        if !names_taken.insert((ns_index, base.clone())) {
            base = format!("{base}-{}", names_taken.len());
            names_taken.insert((ns_index, base.clone()));
        }
        let kind = *rng.weighted(&[(0usize, 0.75), (1, 0.10), (3, 0.07), (4, 0.08)]);
        let replicas = match kind {
            0 => 1 + (rng.next_f64().powi(3) * 24.0) as usize,
            1 => 1 + rng.below(5),
            3 => 1 + rng.below(3),
            _ => 1,
        };
        let replicas = replicas.min(count - pods.len());
        let owner: Option<Arc<str>> = match kind {
            0 => Some(Arc::from(format!("{base}-{}", random_suffix(rng, 10)))),
            1 => Some(Arc::from(base.as_str())),
            3 if rng.chance(0.5) => Some(Arc::from(format!(
                "{base}-{}",
                29_000_000 + rng.below(1_000_000)
            ))),
            3 => Some(Arc::from(format!("{base}-migrate"))),
            _ => None,
        };
        let cpu_request = if rng.chance(0.05) {
            None
        } else {
            Some(*rng.weighted(&[
                (0.05, 0.25),
                (0.1, 0.30),
                (0.25, 0.25),
                (0.5, 0.12),
                (1.0, 0.06),
                (2.0, 0.02),
            ]))
        };
        let memory_request = if rng.chance(0.05) {
            None
        } else {
            Some(
                *rng.weighted(&[
                    (64.0, 0.10),
                    (128.0, 0.20),
                    (256.0, 0.25),
                    (512.0, 0.25),
                    (1024.0, 0.12),
                    (2048.0, 0.06),
                    (4096.0, 0.02),
                ]) * MIB,
            )
        };
        let workload = Workload {
            namespace: namespaces[ns_index].clone(),
            kind: match kind {
                0 => Some(kinds[0].clone()),
                1 => Some(kinds[1].clone()),
                3 => Some(kinds[3].clone()),
                _ => None,
            },
            base_name: owner.as_deref().unwrap_or(&base).to_string(),
            owner,
            replicas,
            cpu_request,
            memory_request,
            cpu_ratio: rng.range(0.05, 1.0).powf(1.5) * 1.3,
            memory_ratio: rng.range(0.3, 1.1),
            amplitude: rng.range(0.0, 0.6),
        };
        for replica in 0..workload.replicas {
            let name = if kind == 1 {
                format!("{}-{replica}", workload.base_name)
            } else {
                format!("{}-{}", workload.base_name, safe_suffix(serial))
            };
            serial += 1;
            let node = if nodes.is_empty() {
                None
            } else {
                Some(pick_cumulative(rng, &node_weights) as u32)
            };
            pods.push(pod_spec(rng, &workload, name, node, nodes));
        }
    }
    let namespace_count = used_ns.iter().filter(|u| **u).count();
    (pods, namespace_count)
}

fn pod_spec(
    rng: &mut SplitMix64,
    w: &Workload,
    name: String,
    node: Option<u32>,
    nodes: &[NodeSpec],
) -> PodSpec {
    let node_spec = node.map(|n| &nodes[n as usize]);
    let profile = &PROVIDERS[node_spec.map_or(0, |n| n.provider)];
    // A pod without a request still uses something.
    let cpu_reference = w.cpu_request.unwrap_or(0.1);
    let memory_reference = w.memory_request.unwrap_or(256.0 * MIB);
    let jitter = rng.range(0.8, 1.25);
    let cpu_mean = cpu_reference * w.cpu_ratio * jitter;
    let memory_mean = memory_reference * w.memory_ratio * rng.range(0.9, 1.1);
    let hours = WINDOW_SECONDS as f64 / 3600.0;
    let cost_per_window = (cpu_reference.max(cpu_mean) * profile.cpu_hour
        + memory_reference.max(memory_mean) / BYTES_PER_GIB * profile.gib_hour)
        * hours;
    PodSpec {
        template: Pod {
            namespace: w.namespace.clone(),
            name: Arc::from(name),
            node: node_spec.map(|n| n.node.name.clone()),
            owner_kind: w.kind.clone(),
            owner_name: w.owner.clone(),
            cpu_usage_cores: None,
            memory_usage_bytes: None,
            cpu_request_cores: w.cpu_request.map(Cores),
            memory_request_bytes: w.memory_request.map(Bytes),
            restarts: None,
        },
        node,
        cpu_mean,
        memory_mean,
        amplitude: w.amplitude,
        phase_days: rng.range(-0.04, 0.04),
        has_cost: rng.chance(0.95),
        cost_per_window,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use greenkube_core::{EstimateOptions, Methodology, estimate};

    #[test]
    fn every_offer_and_zone_exists_in_the_reference_data() {
        let reference = ReferenceData::embedded();
        for p in &PROVIDERS {
            for o in p.offers {
                let it = reference
                    .instance_type(p.provider, o.instance_type)
                    .unwrap_or_else(|| panic!("{}/{}", p.name, o.instance_type));
                assert!(
                    it.memory_gib.is_some() || o.memory_gib > 0.0,
                    "{}/{} needs a memory figure",
                    p.name,
                    o.instance_type
                );
            }
            for s in p.sites {
                for z in s.zones {
                    let full = reference.map_zone(z, p.provider, false);
                    let classic = reference.map_zone(z, p.provider, true);
                    assert!(full.is_some(), "{}/{z} (full)", p.name);
                    assert!(classic.is_some(), "{}/{z} (classic)", p.name);
                    let zone = full.map(|(z, _)| z).unwrap_or_default();
                    assert!(reference.zone_intensity(zone).is_some(), "{zone}");
                }
            }
        }
    }

    #[test]
    fn same_seed_same_snapshot() {
        let a = SyntheticCluster::new(40, 1_000, 7);
        let b = SyntheticCluster::new(40, 1_000, 7);
        assert_eq!(a.snapshot(5), b.snapshot(5));
        assert_ne!(a.snapshot(5), a.snapshot(6));
        let c = SyntheticCluster::new(40, 1_000, 8);
        assert_ne!(a.snapshot(5), c.snapshot(5));
    }

    #[test]
    fn snapshots_validate_and_have_the_requested_size() {
        let cluster = SyntheticCluster::new(60, 2_000, 1);
        let snap = cluster.snapshot(0);
        snap.validate().unwrap();
        assert_eq!(snap.nodes.len(), 60);
        assert_eq!(snap.pods.len(), 2_000);
        let with_cost = snap.costs.len() as f64 / snap.pods.len() as f64;
        assert!((0.92..0.98).contains(&with_cost), "{with_cost}");
        assert!(!snap.grid_intensity.is_empty());
        assert!(cluster.namespace_count() > 10);
        let providers: BTreeSet<&str> = snap
            .nodes
            .iter()
            .filter_map(|n| n.provider.as_deref())
            .collect();
        assert_eq!(providers.len(), 5, "{providers:?}");
        let kinds: BTreeSet<Option<&str>> =
            snap.pods.iter().map(|p| p.owner_kind.as_deref()).collect();
        assert_eq!(kinds.len(), 5, "{kinds:?}");
    }

    #[test]
    fn shuffled_costs_are_the_same_entries() {
        let cluster = SyntheticCluster::new(10, 500, 9);
        let ordered = cluster.snapshot(2);
        let shuffled = cluster
            .clone()
            .with_cost_order(CostOrder::Shuffled)
            .snapshot(2);
        assert_ne!(ordered.costs, shuffled.costs);
        let key = |c: &CostEntry| (c.namespace.clone(), c.pod.clone(), c.cost.0.to_bits());
        let mut a: Vec<_> = ordered.costs.iter().map(key).collect();
        let mut b: Vec<_> = shuffled.costs.iter().map(key).collect();
        a.sort();
        b.sort();
        assert_eq!(a, b);
    }

    #[test]
    fn json_round_trips() {
        let cluster = SyntheticCluster::new(10, 200, 3);
        let text = cluster.snapshot_json(3);
        let parsed = Snapshot::from_json_str(&text).unwrap();
        parsed.validate().unwrap();
        assert_eq!(parsed.pods.len(), 200);
    }

    #[test]
    fn usage_follows_a_daily_pattern() {
        let cluster = SyntheticCluster::new(30, 1_000, 11);
        let cpu = |w: usize| -> f64 {
            cluster
                .snapshot(w)
                .pods
                .iter()
                .filter_map(|p| p.cpu_usage_cores)
                .map(|c| c.0)
                .sum()
        };
        // 03:00 and 15:00 UTC on a mostly-European cluster.
        let night = cpu(36);
        let afternoon = cpu(180);
        assert!(
            afternoon > night * 1.2,
            "night {night}, afternoon {afternoon}"
        );
    }

    #[test]
    fn every_node_resolves_without_fallbacks_on_profile_or_zone() {
        let cluster = SyntheticCluster::new(200, 2_000, 5);
        let snap = cluster.snapshot(100);
        for methodology in Methodology::ALL {
            let fp = estimate(&snap, &EstimateOptions::new(methodology)).unwrap();
            assert_eq!(fp.nodes.len(), 200, "no synthetic nodes");
            for n in &fp.nodes {
                assert!(n.node.zone.is_some(), "{:?}", n.node.name);
                assert!(n.vcpus > 0.0);
            }
            assert_eq!(fp.totals.pods, 2_000);
            assert!(fp.totals.pods_without_cost > 0);
            assert!(fp.totals.energy_joules.point > 0.0);
        }
    }
}
