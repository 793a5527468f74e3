//! The demo's cluster: its nodes (the first four on four providers, then by weight, from the
//! catalogue's demo regions), its workloads (the namespaces that carry the demo's stories and
//! optional ones the seed picks), its `CronJobs` and autoscalers, and the scheduling of its pods by
//! request.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use greenkube_core::ports::PodSpec;
use greenkube_core::units::{Bytes, Cores};
use greenkube_core::{HpaTarget, Node};

use self::Kind::{Bare, DaemonSet, Deployment, StatefulSet};
use super::catalogue::{NAME_ALPHABET, NodeDraw, PROVIDERS, REGIONS, Region, make_node};
use super::load::Role::{self, CrashLoop, Night, Oversized, Steady, Web, Zombie};
use super::random::{Rng, hash2, mix, unit};
use super::{
    ALLOCATABLE, CronModel, DAY_MS, MIB, Mess, NodeInfo, PodModel, SyntheticCluster,
    SyntheticConfig,
};

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

/// The demo's cluster of `seed` with the given shape (clamped as [`SyntheticConfig`] documents).
pub(super) fn demo_cluster(seed: u64, config: SyntheticConfig) -> SyntheticCluster {
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
        let labels = Some(super::pod_labels(wl.namespace, wl.name));
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
                labels: labels.clone(),
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
                phase_s: 0.0,
                has_cost: true,
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
    SyntheticCluster {
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
        mess: Mess::default(),
    }
}

/// Draws the nodes from the demo's regions: the first four on four different providers, then
/// weighted by provider.
fn build_nodes(rng: &mut Rng, count: usize) -> (Vec<Node>, Vec<NodeInfo>) {
    let providers: Vec<_> = PROVIDERS.iter().filter(|p| p.demo_weight > 0).collect();
    let mut first: Vec<&str> = providers.iter().map(|p| p.name).collect();
    rng.shuffle(&mut first);
    let total_weight: usize = providers.iter().map(|p| p.demo_weight).sum();
    // The regions each provider uses: one primary, and a second one for some seeds.
    let mut regions: BTreeMap<&str, Vec<&Region>> = BTreeMap::new();
    for p in &providers {
        let mut pools: Vec<&Region> = REGIONS
            .iter()
            .filter(|r| r.demo && r.provider == p.name)
            .collect();
        rng.shuffle(&mut pools);
        if pools.len() > 1 && !rng.chance(0.6) {
            pools.truncate(1);
        }
        regions.insert(p.name, pools);
    }
    let mut nodes = Vec::with_capacity(count);
    let mut infos = Vec::with_capacity(count);
    let mut taken = HashSet::new();
    for i in 0..count {
        let provider = match first.get(i) {
            Some(p) => *p,
            None => {
                let mut r = rng.below(total_weight);
                providers
                    .iter()
                    .find(|p| {
                        let hit = r < p.demo_weight;
                        r = r.saturating_sub(p.demo_weight);
                        hit
                    })
                    .map_or("aws", |p| p.name)
            }
        };
        let Some(pool) = regions
            .get(provider)
            .and_then(|pools| rng.pick(pools))
            .copied()
        else {
            continue;
        };
        let Some(&(itype, _)) = rng.pick(pool.types) else {
            continue;
        };
        let zone = rng.pick(pool.zones).copied().unwrap_or(pool.name);
        let Some(draw) = NodeDraw::of(pool, itype, zone) else {
            continue;
        };
        let (node, info) = make_node(rng, &draw, i, &mut taken);
        nodes.push(node);
        infos.push(info);
    }
    (nodes, infos)
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
