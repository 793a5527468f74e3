//! Sized clusters, for benchmarks and scale tests: any number of nodes spread over the whole
//! catalogue by weight, and any number of pods owned by `DaemonSets`, `ReplicaSets`,
//! `StatefulSets`, Jobs or nothing, in platform and team namespaces, placed on nodes in
//! proportion to their vCPUs. Their usage, costs and intensities come from the same models as the
//! demo's cluster, with each pod's daily curve in its node's local time.

use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;

use greenkube_core::Node;
use greenkube_core::ports::PodSpec;
use greenkube_core::units::{Bytes, Cores};

use super::catalogue::{
    NAME_ALPHABET, NodeDraw, PROVIDERS, REGIONS, Region, UNKNOWN_TYPES, UNMAPPABLE_ZONES, make_node,
};
use super::load::Role;
use super::random::{Rng, cumulative, mix};
use super::{DAY_MS, MIB, Mess, NodeInfo, PodModel, SyntheticCluster, SyntheticConfig};

/// The shape of a sized cluster.
///
/// Always, as real clusters are: about 3 % of the nodes give their instance type, region and
/// zone only as well-known labels; about 5 % of the pods have no CPU request and 5 % no memory
/// request (they are charged for 0.1 core and 256 MiB); about 5 % of the pods are unknown to the
/// cost source; about 0.5 % of the pods miss their metrics in any window. Untidy data (the
/// default, `tidy: false`) adds what real snapshots also have: about 2 % of the nodes run an
/// instance type the reference catalogue does not know, about 2 % report a region and zone that
/// map to no electricity zone, and the cost source lists its entries in a shuffled order,
/// different in every range. A tidy and an untidy cluster of the same seed differ only by those.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SizedConfig {
    /// Number of nodes (with none, every pod is pending).
    pub nodes: usize,
    /// Number of pods, exactly.
    pub pods: usize,
    /// Tidy data: every instance type known, every zone mapped, costs sorted.
    pub tidy: bool,
}

impl SizedConfig {
    /// `nodes` nodes and `pods` pods, untidy.
    pub fn new(nodes: usize, pods: usize) -> Self {
        Self {
            nodes,
            pods,
            tidy: false,
        }
    }
}

/// Salt of a sized cluster's generator (the demo's has its own).
const SIZED_SALT: u64 = 0x7369_7A65_6463_6C75;

/// Namespaces of the platform (`DaemonSets` and shared services live there).
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

#[rustfmt::skip]
const WORDS: [&str; 32] = [
    "api", "web", "worker", "gateway", "cache", "indexer", "scheduler", "consumer", "producer",
    "router", "auth", "ledger", "notifier", "renderer", "crawler", "exporter", "frontend",
    "backend", "sync", "batch", "stream", "feature", "model", "ranker", "proxy", "queue", "store",
    "report", "audit", "mailer", "thumbnail", "resolver",
];

/// `DaemonSets` run on every node: `(namespace, name, CPU request, memory request MiB)`.
const DAEMONSETS: [(&str, &str, f64, f64); 3] = [
    ("kube-system", "kube-proxy", 0.1, 128.0),
    ("monitoring", "node-exporter", 0.05, 64.0),
    ("logging", "fluent-bit", 0.1, 256.0),
];

/// Owners of the other workloads, with their weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Owner {
    ReplicaSet,
    StatefulSet,
    Job,
    Bare,
}

const OWNERS: [(Owner, f64); 4] = [
    (Owner::ReplicaSet, 0.75),
    (Owner::StatefulSet, 0.10),
    (Owner::Job, 0.07),
    (Owner::Bare, 0.08),
];

const ROLES: [(Role, f64); 5] = [
    (Role::Web, 0.55),
    (Role::Steady, 0.25),
    (Role::Night, 0.08),
    (Role::Oversized, 0.07),
    (Role::Zombie, 0.05),
];

#[rustfmt::skip]
const CPU_REQUESTS: [(f64, f64); 6] = [
    (0.05, 0.25), (0.1, 0.30), (0.25, 0.25), (0.5, 0.12), (1.0, 0.06), (2.0, 0.02),
];

#[rustfmt::skip]
const MEMORY_REQUESTS_MIB: [(f64, f64); 7] = [
    (64.0, 0.10), (128.0, 0.20), (256.0, 0.25), (512.0, 0.25), (1024.0, 0.12), (2048.0, 0.06),
    (4096.0, 0.02),
];

/// What a pod without a CPU or memory request uses and is charged for.
const DEFAULT_CPU: f64 = 0.1;
const DEFAULT_MEMORY: f64 = 256.0 * MIB;

/// The sized cluster of `seed`.
pub(super) fn sized_cluster(seed: u64, config: SizedConfig) -> SyntheticCluster {
    let mut rng = Rng(mix(seed ^ SIZED_SALT));
    let (nodes, mut node_info, offsets) = draw_nodes(&mut rng, config.nodes, config.tidy);
    let (planned, namespaces) = draw_pods(&mut rng, &nodes, &offsets, config.pods);
    let mut planned = planned;
    for (_, model) in &planned {
        if let Some(info) = model.node.and_then(|n| node_info.get_mut(n)) {
            info.cpu_requested += model.cpu_request;
        }
    }
    planned.sort_by(|a, b| (&a.0.namespace, &a.0.name).cmp(&(&b.0.namespace, &b.0.name)));
    let (pods, models) = planned.into_iter().unzip();
    let defaults = SyntheticConfig::default();
    SyntheticCluster {
        seed,
        config: SyntheticConfig {
            nodes: nodes.len(),
            pods: config.pods,
            namespaces: namespaces.len(),
            now: defaults.now,
        },
        nodes,
        node_info,
        pods,
        models,
        cronjobs: Vec::new(),
        hpas: Vec::new(),
        namespaces,
        crash_start_ms: defaults.now.timestamp_millis().saturating_sub(3 * DAY_MS),
        mess: Mess {
            missing_metrics: 0.005,
            shuffled_costs: !config.tidy,
        },
    }
}

/// The nodes, what the cluster knows of them, and their local time (seconds from UTC).
fn draw_nodes(rng: &mut Rng, count: usize, tidy: bool) -> (Vec<Node>, Vec<NodeInfo>, Vec<f64>) {
    let provider_weights = cumulative(PROVIDERS.iter().map(|p| p.weight));
    let regions: Vec<Vec<&Region>> = PROVIDERS
        .iter()
        .map(|p| REGIONS.iter().filter(|r| r.provider == p.name).collect())
        .collect();
    let region_weights: Vec<Vec<f64>> = regions
        .iter()
        .map(|rs| cumulative(rs.iter().map(|r| r.weight)))
        .collect();
    let mut nodes = Vec::with_capacity(count);
    let mut infos = Vec::with_capacity(count);
    let mut offsets = Vec::with_capacity(count);
    let mut taken = HashSet::new();
    for i in 0..count {
        let p = rng.weighted_index(&provider_weights);
        let (Some(pools), Some(weights)) = (regions.get(p), region_weights.get(p)) else {
            continue;
        };
        let Some(&pool) = pools.get(rng.weighted_index(weights)) else {
            continue;
        };
        let Some(&itype) = rng.weighted(pool.types) else {
            continue;
        };
        let zone = rng.pick(pool.zones).copied().unwrap_or(pool.name);
        let Some(mut draw) = NodeDraw::of(pool, itype, zone) else {
            continue;
        };
        // Drawn for tidy clusters too, so both differ only by the mess.
        let (unknown_type, unmappable) = (rng.chance(0.02), rng.chance(0.02));
        let odd_place = rng.pick(UNMAPPABLE_ZONES).copied();
        if !tidy
            && unknown_type
            && let Some((_, odd)) = UNKNOWN_TYPES.iter().find(|t| t.0 == pool.provider)
        {
            // It keeps the capacity of the type drawn.
            draw.itype = odd;
        }
        let (mut node, info) = make_node(rng, &draw, i, &mut taken);
        if !tidy
            && unmappable
            && let Some((region, zone)) = odd_place
        {
            node.region = Some(Arc::from(region));
            node.zone = Some(Arc::from(zone));
            if let Some(labels) = &mut node.labels {
                labels.insert("topology.kubernetes.io/region".into(), region.into());
                labels.insert("topology.kubernetes.io/zone".into(), zone.into());
            }
        }
        if rng.chance(0.03) {
            // Known only from its well-known labels.
            node.instance_type = None;
            node.region = None;
            node.zone = None;
        }
        nodes.push(node);
        infos.push(info);
        offsets.push(pool.utc_offset_hours as f64 * 3600.0);
    }
    (nodes, infos, offsets)
}

/// A workload: an owner and the template of its pods.
struct Workload {
    namespace: Arc<str>,
    kind: Option<Arc<str>>,
    owner: Option<Arc<str>>,
    /// Pod names are this, `-` and a suffix (a replica index for a `StatefulSet`).
    base: String,
    ordinal: bool,
    cpu_request: Option<f64>,
    memory_request: Option<f64>,
    role: Role,
    /// Peak CPU as a share of the request.
    cpu_ratio: f64,
    /// Labels shared by its pods.
    labels: Option<greenkube_core::snapshot::Labels>,
    /// Working set as a share of the memory request.
    memory_ratio: f64,
}

/// The pods (spec and model, unsorted) and the namespaces they use, sorted.
fn draw_pods(
    rng: &mut Rng,
    nodes: &[Node],
    offsets: &[f64],
    count: usize,
) -> (Vec<(PodSpec, PodModel)>, Vec<Arc<str>>) {
    let mut namespaces: Vec<Arc<str>> = PLATFORM_NAMESPACES.iter().map(|n| Arc::from(*n)).collect();
    for team in TEAMS {
        for env in ENVIRONMENTS {
            namespaces.push(Arc::from(format!("{team}-{env}")));
        }
    }
    // Pods land on nodes in proportion to their vCPUs.
    let node_weights = cumulative(
        nodes
            .iter()
            .map(|n| n.cpu_capacity_cores.map_or(1.0, |c| c.0)),
    );
    let mut pods = Vec::with_capacity(count);
    let mut used = vec![false; namespaces.len()];
    let mut serial: u64 = 0;
    let mut place = |rng: &mut Rng, w: &Workload, name: String, node: Option<usize>| {
        let pod = pod(rng, w, name, node, nodes, offsets);
        pods.push(pod);
    };

    // DaemonSets: one pod per node and DaemonSet, at most a tenth of the pods.
    let daemon_pods = (nodes.len() * DAEMONSETS.len()).min(count / 10);
    for k in 0..daemon_pods {
        let (ns, name, cpu, memory_mib) = DAEMONSETS[k / nodes.len()];
        let ns_index = PLATFORM_NAMESPACES
            .iter()
            .position(|n| *n == ns)
            .unwrap_or(0);
        used[ns_index] = true;
        let workload = Workload {
            namespace: namespaces[ns_index].clone(),
            kind: Some(Arc::from("DaemonSet")),
            owner: Some(Arc::from(name)),
            base: name.to_string(),
            ordinal: false,
            cpu_request: Some(cpu),
            memory_request: Some(memory_mib * MIB),
            role: Role::Steady,
            cpu_ratio: rng.range(0.2, 0.8),
            memory_ratio: rng.range(0.4, 0.9),
            labels: Some(super::pod_labels(&namespaces[ns_index], name)),
        };
        let pod_name = format!("{name}-{}", safe_suffix(serial));
        serial += 1;
        place(rng, &workload, pod_name, Some(k % nodes.len()));
    }

    // Everything else: workloads in the namespaces until the count is reached.
    let mut names_taken: HashSet<(usize, String)> = HashSet::new();
    let mut placed = daemon_pods;
    while placed < count {
        let ns_index = if rng.chance(0.1) {
            rng.below(PLATFORM_NAMESPACES.len())
        } else {
            PLATFORM_NAMESPACES.len() + rng.below(namespaces.len() - PLATFORM_NAMESPACES.len())
        };
        used[ns_index] = true;
        let words = (rng.pick(&WORDS), rng.pick(&WORDS));
        let mut base = format!("{}-{}", words.0.unwrap_or(&"app"), words.1.unwrap_or(&"x"));
        if !names_taken.insert((ns_index, base.clone())) {
            base = format!("{base}-{}", names_taken.len());
            names_taken.insert((ns_index, base.clone()));
        }
        let owner = rng.weighted(&OWNERS).copied().unwrap_or(Owner::Bare);
        let replicas = match owner {
            Owner::ReplicaSet => 1 + (rng.unit().powi(3) * 24.0) as usize,
            Owner::StatefulSet => 1 + rng.below(5),
            Owner::Job => 1 + rng.below(3),
            Owner::Bare => 1,
        }
        .min(count - placed);
        let owner_name: Option<Arc<str>> = match owner {
            Owner::ReplicaSet => Some(Arc::from(format!(
                "{base}-{}",
                rng.token(10, NAME_ALPHABET)
            ))),
            Owner::StatefulSet => Some(Arc::from(base.as_str())),
            Owner::Job if rng.chance(0.5) => Some(Arc::from(format!(
                "{base}-{}",
                29_000_000 + rng.below(1_000_000)
            ))),
            Owner::Job => Some(Arc::from(format!("{base}-migrate"))),
            Owner::Bare => None,
        };
        let cpu_request = (!rng.chance(0.05))
            .then(|| rng.weighted(&CPU_REQUESTS).copied())
            .flatten();
        let memory_request = (!rng.chance(0.05))
            .then(|| rng.weighted(&MEMORY_REQUESTS_MIB).map(|m| m * MIB))
            .flatten();
        let role = rng.weighted(&ROLES).copied().unwrap_or(Role::Web);
        let workload = Workload {
            namespace: namespaces[ns_index].clone(),
            kind: match owner {
                Owner::ReplicaSet => Some(Arc::from("ReplicaSet")),
                Owner::StatefulSet => Some(Arc::from("StatefulSet")),
                Owner::Job => Some(Arc::from("Job")),
                Owner::Bare => None,
            },
            base: owner_name.as_deref().unwrap_or(&base).to_string(),
            labels: Some(super::pod_labels(
                &namespaces[ns_index],
                owner_name.as_deref().unwrap_or(&base),
            )),
            owner: owner_name,
            ordinal: owner == Owner::StatefulSet,
            cpu_request,
            memory_request,
            role,
            cpu_ratio: match role {
                Role::Oversized => rng.range(0.03, 0.08),
                _ => rng.range(0.05, 1.0).powf(1.5) * 1.3,
            },
            memory_ratio: rng.range(0.3, 1.1),
        };
        for replica in 0..replicas {
            let name = if workload.ordinal {
                format!("{}-{replica}", workload.base)
            } else {
                format!("{}-{}", workload.base, safe_suffix(serial))
            };
            serial += 1;
            let node = (!nodes.is_empty()).then(|| rng.weighted_index(&node_weights));
            place(rng, &workload, name, node);
        }
        placed += replicas;
    }
    let used: BTreeSet<Arc<str>> = namespaces
        .into_iter()
        .zip(used)
        .filter_map(|(ns, used)| used.then_some(ns))
        .collect();
    (pods, used.into_iter().collect())
}

/// One pod of a workload, on `node`.
fn pod(
    rng: &mut Rng,
    w: &Workload,
    name: String,
    node: Option<usize>,
    nodes: &[Node],
    offsets: &[f64],
) -> (PodSpec, PodModel) {
    let cpu_request = w.cpu_request.unwrap_or(DEFAULT_CPU);
    let memory_request = w.memory_request.unwrap_or(DEFAULT_MEMORY);
    let jitter = rng.range(0.8, 1.25);
    let cpu_peak = match w.role {
        Role::Zombie => 0.0005,
        _ => cpu_request * w.cpu_ratio * jitter,
    };
    let memory = memory_request * w.memory_ratio * rng.range(0.9, 1.1);
    let restarts = if w.role != Role::Zombie && rng.chance(0.12) {
        1 + rng.below(3) as u64
    } else {
        0
    };
    let local = node.and_then(|n| offsets.get(n)).copied().unwrap_or(0.0);
    let spec = PodSpec {
        namespace: w.namespace.clone(),
        name: Arc::from(name),
        node: node.and_then(|n| nodes.get(n)).map(|n| n.name.clone()),
        owner_kind: w.kind.clone(),
        owner_name: w.owner.clone(),
        cpu_request_cores: w.cpu_request.map(Cores),
        memory_request_bytes: w.memory_request.map(Bytes),
        labels: w.labels.clone(),
    };
    let model = PodModel {
        node,
        role: w.role,
        cpu_peak,
        memory,
        cpu_request,
        memory_request,
        key: rng.next_u64(),
        restarts,
        phase_s: local + rng.range(-0.04, 0.04) * 86_400.0,
        has_cost: rng.chance(0.95),
    };
    (spec, model)
}

/// Kubernetes' "safe" alphabet, as `&[u8; 27]` for [`safe_suffix`].
const SAFE: &[u8; 27] = b"bcdfghjklmnpqrstvwxz2456789";

/// A unique suffix for `n` from the safe alphabet: a bijection of `0..27^len` scrambled so
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
        *slot = SAFE[(x % 27) as usize];
        x /= 27;
    }
    String::from_utf8(out).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use chrono::{TimeDelta, TimeZone, Utc};
    use greenkube_core::ports::TimeRange;
    use greenkube_core::{Provider, ReferenceData};

    use super::*;

    fn provider_of(node: &Node) -> Provider {
        Provider::parse(node.provider.as_deref().unwrap_or_default())
    }

    /// The nodes whose `label` is odd for their provider.
    fn odd_nodes(c: &SyntheticCluster, label: &str, odd: impl Fn(&str, Provider) -> bool) -> usize {
        c.cluster_nodes()
            .iter()
            .filter(|n| {
                let value = n.labels.as_ref().and_then(|l| l.get(label));
                value.is_some_and(|v| odd(v, provider_of(n)))
            })
            .count()
    }

    fn sized(nodes: usize, pods: usize, seed: u64, tidy: bool) -> SyntheticCluster {
        SyntheticCluster::sized(seed, SizedConfig { nodes, pods, tidy })
    }

    #[test]
    fn a_sized_cluster_has_the_size_asked_and_is_deterministic() {
        let a = sized(60, 2_000, 1, false);
        assert_eq!(a.cluster_nodes().len(), 60);
        assert_eq!(a.pods().len(), 2_000);
        assert!(a.namespaces().len() > 10);
        let b = sized(60, 2_000, 1, false);
        assert_eq!(a.pods(), b.pods());
        assert_eq!(a.cluster_nodes(), b.cluster_nodes());
        assert_ne!(sized(60, 2_000, 2, false).pods(), a.pods());
        let mut keys: Vec<(&str, &str)> =
            a.pods().iter().map(|p| (&*p.namespace, &*p.name)).collect();
        let listed = keys.clone();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys, listed, "pods sorted and unique");
        let providers: BTreeSet<Provider> = a.cluster_nodes().iter().map(provider_of).collect();
        assert_eq!(providers.len(), 5, "{providers:?}");
        let kinds: BTreeSet<Option<&str>> =
            a.pods().iter().map(|p| p.owner_kind.as_deref()).collect();
        assert_eq!(kinds.len(), 5, "{kinds:?}");
        assert!(a.pods().iter().all(|p| p.node.is_some()));
        let none = sized(0, 50, 1, false);
        assert!(none.pods().iter().all(|p| p.node.is_none()));
        let t = Utc.with_ymd_and_hms(2025, 6, 2, 12, 0, 0).unwrap();
        assert!(
            none.window_usage(t, t + TimeDelta::minutes(5))
                .pods
                .is_empty()
        );
    }

    #[test]
    fn untidy_data_differs_from_tidy_data_only_by_its_mess() {
        let reference = ReferenceData::embedded();
        let (tidy, messy) = (sized(400, 4_000, 5, true), sized(400, 4_000, 5, false));
        let names = |c: &SyntheticCluster| -> Vec<(Arc<str>, Arc<str>, Option<Cores>)> {
            c.pods()
                .iter()
                .map(|p| (p.namespace.clone(), p.name.clone(), p.cpu_request_cores))
                .collect()
        };
        assert_eq!(names(&tidy), names(&messy));
        let unknown = |c: &SyntheticCluster| {
            odd_nodes(c, "node.kubernetes.io/instance-type", |t, p| {
                reference.instance_type(p, t).is_none()
            })
        };
        let unmapped = |c: &SyntheticCluster| {
            odd_nodes(c, "topology.kubernetes.io/zone", |z, p| {
                reference.map_zone(z, p, false).is_none()
            })
        };
        assert_eq!((unknown(&tidy), unmapped(&tidy)), (0, 0));
        assert!((2..=20).contains(&unknown(&messy)), "{}", unknown(&messy));
        assert!((2..=20).contains(&unmapped(&messy)), "{}", unmapped(&messy));
        let labels_only = tidy
            .cluster_nodes()
            .iter()
            .filter(|n| n.zone.is_none())
            .count();
        assert!((3..=30).contains(&labels_only), "{labels_only}");

        let t = Utc.with_ymd_and_hms(2025, 6, 2, 15, 0, 0).unwrap();
        let window = TimeRange::new(t, t + TimeDelta::minutes(5)).unwrap();
        let (sorted, shuffled) = (tidy.costs_in(window), messy.costs_in(window));
        assert!(
            sorted
                .windows(2)
                .all(|p| (&p[0].namespace, &p[0].pod) < (&p[1].namespace, &p[1].pod))
        );
        assert_ne!(sorted, shuffled);
        let share = sorted.len() as f64 / tidy.pods().len() as f64;
        assert!((0.92..0.98).contains(&share), "{share}");
        let measured = tidy.window_usage(t, t + TimeDelta::minutes(5)).pods.len();
        assert!(measured < tidy.pods().len() && measured > tidy.pods().len() * 98 / 100);
        // The same entries, in another order.
        let by_pod: BTreeMap<_, _> = shuffled
            .iter()
            .map(|c| ((c.namespace.clone(), c.pod.clone()), c.cost.0.to_bits()))
            .collect();
        let listed: BTreeMap<_, _> = sorted
            .iter()
            .map(|c| ((c.namespace.clone(), c.pod.clone()), c.cost.0.to_bits()))
            .collect();
        assert_eq!(by_pod, listed);
    }
}
