//! Deterministic footprints for the contract suites.
//!
//! Hand-built footprints use figures that are multiples of 1/16, so sums are exact in any order
//! and a store's sums can be compared with `==` against [`crate::aggregate::aggregate`].
//! Engine-made footprints (from a small multi-cloud snapshot) check real figures, compared with
//! a relative tolerance.

use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};

use crate::footprint::{
    FOOTPRINT_SCHEMA, Footprint, MethodologyInfo, NodeContext, NodeFootprint, PodFootprint, Totals,
};
use crate::methodology::{EstimateOptions, IdlePolicy, Methodology};
use crate::ranged::Ranged;
use crate::reason::{Reason, Reasons};
use crate::snapshot::Snapshot;
use crate::units::{Bytes, Cores, Money};

/// An instant, UTC. Panics on an invalid date (fixtures only).
pub fn at(year: i32, month: u32, day: u32, hour: u32, minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(year, month, day, hour, minute, 0)
        .single()
        .unwrap_or_else(|| panic!("valid fixture date {year}-{month}-{day}"))
}

/// Methodology information as a footprint carries it.
pub fn methodology(name: Methodology, data_version: &str) -> MethodologyInfo {
    MethodologyInfo::new(name, IdlePolicy::Request, data_version)
}

/// A figure `k/16` with the interval `[k/32, 2k/16]`: exact in binary, so sums are exact.
fn figure(k: u64) -> Ranged {
    let point = k as f64 / 16.0;
    Ranged {
        point,
        low: point / 2.0,
        high: point * 2.0,
    }
}

fn arc(s: &str) -> Arc<str> {
    Arc::from(s)
}

fn node_context(
    name: Option<&str>,
    zone: &str,
    synthetic: bool,
    reasons: Vec<Reason>,
) -> NodeContext {
    NodeContext {
        name: name.map(arc),
        provider: (!synthetic).then(|| arc("aws")),
        instance_type: (!synthetic).then(|| arc("m5.large")),
        zone: Some(arc(zone)),
        region: (!synthetic).then(|| arc("eu-west-3")),
        cpu_capacity_cores: (!synthetic).then_some(Cores(2.0)),
        memory_capacity_bytes: (!synthetic).then_some(Bytes(8_589_934_592.0)),
        embodied_grams_per_hour: figure(72),
        pue: Ranged {
            point: 1.125,
            low: 1.0625,
            high: 1.25,
        },
        grid_intensity: Ranged::exact(32.0),
        synthetic,
        reasons: Arc::from(reasons),
    }
}

/// A pod of a hand-built footprint: `(namespace, pod, owner kind, owner name, node slot)`.
type PodSpec = (
    &'static str,
    &'static str,
    Option<&'static str>,
    Option<&'static str>,
    usize,
);

/// The pods every hand-built footprint has: three namespaces; workloads that fold (two
/// ReplicaSets of one Deployment, a CronJob's Job), a StatefulSet and a bare pod; three nodes,
/// the last one synthesised for pods that name none.
const PODS: [PodSpec; 8] = [
    (
        "shop",
        "api-7d9f8c6b5-abcde",
        Some("ReplicaSet"),
        Some("api-7d9f8c6b5"),
        0,
    ),
    (
        "shop",
        "api-5c4b3a291-fghij",
        Some("ReplicaSet"),
        Some("api-5c4b3a291"),
        1,
    ),
    ("shop", "web-0", Some("StatefulSet"), Some("web"), 1),
    ("data", "db-0", Some("StatefulSet"), Some("db"), 0),
    (
        "data",
        "backup-28391234-xyz",
        Some("Job"),
        Some("backup-28391234"),
        2,
    ),
    ("data", "debug-shell", None, None, 2),
    (
        "kube-system",
        "coredns-6d4b75cb6d-q8x9z",
        Some("ReplicaSet"),
        Some("coredns-6d4b75cb6d"),
        0,
    ),
    (
        "kube-system",
        "kube-proxy-x2x4q",
        Some("DaemonSet"),
        Some("kube-proxy"),
        1,
    ),
];

/// The labels of a fixture pod: a `team` for every pod of `shop` and `data` but the debug shell
/// (which has none at all), `tier` for `shop`, and `k8s-app` for `kube-system`.
pub fn fixture_labels(namespace: &str, pod: &str) -> Option<crate::snapshot::Labels> {
    let pairs: &[(&str, &str)] = match (namespace, pod) {
        (_, "debug-shell") => return None,
        ("shop", _) => &[("team", "storefront"), ("tier", "web")],
        ("data", _) => &[("team", "data")],
        _ => &[("k8s-app", "system")],
    };
    Some(Arc::new(
        pairs
            .iter()
            .map(|&(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    ))
}

/// A hand-built footprint of one five-minute window with exact (multiple of 1/16) figures that
/// depend on `seed`. Pod 5 has no cost; pods on the synthetic node are estimated.
pub fn footprint(
    cluster: Option<&str>,
    window_start: DateTime<Utc>,
    seed: u64,
    methodology: &MethodologyInfo,
) -> Footprint {
    let nodes: Vec<Arc<NodeContext>> = vec![
        Arc::new(node_context(Some("node-a"), "FR", false, Vec::new())),
        Arc::new(node_context(Some("node-b"), "DE", false, Vec::new())),
        Arc::new(node_context(
            None,
            "US-MIDA-PJM",
            true,
            vec![Reason::NodeNotInSnapshot { node: None }],
        )),
    ];
    let pods: Vec<PodFootprint> = PODS
        .iter()
        .enumerate()
        .map(|(i, &(namespace, pod, kind, owner, slot))| {
            let k = seed * 13 + i as u64 * 5 + 1;
            let mut own = Vec::new();
            let cost = if i == 5 {
                own.push(Reason::NoCost);
                None
            } else {
                Some(Money(k as f64 / 64.0))
            };
            if i == 3 {
                own.push(Reason::CpuUsageFromRequest);
            }
            PodFootprint {
                namespace: arc(namespace),
                pod: arc(pod),
                owner_kind: kind.map(arc),
                owner_name: owner.map(arc),
                node: nodes[slot].clone(),
                cpu_usage_cores: (i != 3).then(|| Cores(k as f64 / 32.0)),
                cpu_request_cores: Some(Cores(0.25)),
                memory_usage_bytes: Some(Bytes(k as f64 * 1_048_576.0)),
                memory_request_bytes: (i % 2 == 0).then_some(Bytes(268_435_456.0)),
                restarts: Some(i as u64 % 3),
                energy_joules: figure(k * 100),
                co2e_grams: figure(k),
                embodied_co2e_grams: figure(k + 3),
                cost,
                reasons: Reasons {
                    node: nodes[slot].reasons.clone(),
                    own,
                },
                labels: fixture_labels(namespace, pod),
            }
        })
        .collect();
    let node_rows: Vec<NodeFootprint> = nodes
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let k = seed * 7 + i as u64 * 3 + 2;
            NodeFootprint {
                node: n.clone(),
                vcpus: 2.0,
                cpu_usage_cores: Cores(0.5),
                utilisation: 0.25,
                pods: PODS.iter().filter(|p| p.4 == i).count(),
                energy_joules: figure(k * 1000),
                idle_energy_joules: figure(k * 500),
                overhead_energy_joules: figure(k * 50),
                co2e_grams: figure(k * 10),
                overhead_co2e_grams: figure(k),
                embodied_co2e_grams: figure(k * 20),
                unallocated_embodied_co2e_grams: figure(k + 1),
            }
        })
        .collect();
    let mut totals = Totals {
        pods: pods.len(),
        ..Totals::default()
    };
    for p in &pods {
        totals.energy_joules += p.energy_joules;
        totals.co2e_grams += p.co2e_grams;
        totals.embodied_co2e_grams += p.embodied_co2e_grams;
        totals.cost += p.cost.unwrap_or(Money::ZERO);
        totals.estimated_pods += usize::from(p.estimated());
        totals.pods_without_cost += usize::from(p.cost.is_none());
    }
    for n in &node_rows {
        totals.energy_joules += n.overhead_energy_joules;
        totals.co2e_grams += n.overhead_co2e_grams;
        totals.embodied_co2e_grams += n.unallocated_embodied_co2e_grams;
    }
    Footprint {
        schema: FOOTPRINT_SCHEMA,
        methodology: methodology.clone(),
        cluster: cluster.map(arc),
        window_start,
        window_end: window_start + Duration::minutes(5),
        pods,
        nodes: node_rows,
        totals,
        warnings: Vec::new(),
    }
}

/// Window starts of [`history`]: around two New Years (ISO weeks 2020-W53, 2024-W52/2025-W01),
/// month and day boundaries, and several windows inside one hour.
pub fn history_window_starts() -> Vec<DateTime<Utc>> {
    vec![
        at(2020, 12, 31, 23, 55), // Thursday, ISO 2020-W53
        at(2021, 1, 3, 12, 0),    // Sunday, still 2020-W53
        at(2021, 1, 4, 0, 0),     // Monday, 2021-W01
        at(2024, 12, 29, 23, 55), // Sunday, 2024-W52
        at(2024, 12, 30, 0, 0),   // Monday, 2025-W01 (calendar year 2024)
        at(2024, 12, 31, 23, 55), // 2025-W01, December
        at(2025, 1, 1, 0, 0),     // 2025-W01, January
        at(2025, 1, 1, 0, 5),
        at(2025, 1, 5, 23, 55), // Sunday, 2025-W01
        at(2025, 1, 6, 0, 0),   // Monday, 2025-W02
        at(2025, 2, 28, 23, 55),
        at(2025, 3, 1, 0, 0),
        at(2025, 6, 2, 10, 0),
        at(2025, 6, 2, 10, 5),
        at(2025, 6, 2, 10, 55),
        at(2025, 6, 2, 11, 0),
    ]
}

/// A history of hand-built footprints: [`history_window_starts`] for clusters `prod` and
/// `staging` (with different figures) plus a few windows of a footprint that names no cluster;
/// `classic` and `full` windows alternate, with two data versions.
pub fn history() -> Vec<Footprint> {
    let classic = methodology(Methodology::Classic, "gkdata-0000000000a1");
    let full = methodology(Methodology::Full, "gkdata-0000000000b2");
    let mut out = Vec::new();
    for (i, start) in history_window_starts().into_iter().enumerate() {
        let m = if i % 3 == 0 { &classic } else { &full };
        out.push(footprint(Some("prod"), start, i as u64, m));
        out.push(footprint(Some("staging"), start, i as u64 + 100, m));
        if i % 4 == 1 {
            out.push(footprint(None, start, i as u64 + 200, &full));
        }
    }
    out
}

/// The snapshot engine-made fixtures are estimated from: two nodes on two clouds, a pod on a
/// node that is not in the snapshot, costs for most pods.
pub fn snapshot(cluster: &str, window_start: DateTime<Utc>) -> Snapshot {
    let end = window_start + Duration::minutes(5);
    let text = format!(
        r#"{{"schema":"greenkube.snapshot/v1","cluster":"{cluster}",
        "window_start":"{}","window_end":"{}",
        "nodes":[
          {{"name":"ip-10-0-1-23","provider":"aws","instance_type":"m5.xlarge","region":"eu-west-3",
            "cpu_capacity_cores":4,"memory_capacity_bytes":17179869184}},
          {{"name":"gke-pool-1","provider":"gcp","instance_type":"n2-standard-4","region":"europe-west1",
            "cpu_capacity_cores":4,"memory_capacity_bytes":17179869184}}],
        "pods":[
          {{"namespace":"shop","name":"api-7d9f8c6b5-a","node":"ip-10-0-1-23","owner_kind":"ReplicaSet",
            "owner_name":"api-7d9f8c6b5","cpu_usage_cores":0.5,"cpu_request_cores":0.5,
            "memory_usage_bytes":536870912,"memory_request_bytes":1073741824}},
          {{"namespace":"shop","name":"api-7d9f8c6b5-b","node":"gke-pool-1","owner_kind":"ReplicaSet",
            "owner_name":"api-7d9f8c6b5","cpu_usage_cores":0.25,"cpu_request_cores":0.5}},
          {{"namespace":"data","name":"db-0","node":"gke-pool-1","owner_kind":"StatefulSet",
            "owner_name":"db","cpu_usage_cores":1.5,"memory_usage_bytes":4294967296}},
          {{"namespace":"data","name":"report-28391234-x","node":"ip-10-0-1-23","owner_kind":"Job",
            "owner_name":"report-28391234","cpu_usage_cores":0.1}},
          {{"namespace":"ml","name":"trainer","node":"gpu-9","cpu_usage_cores":2}}],
        "costs":[
          {{"namespace":"shop","pod":"api-7d9f8c6b5-a","cost":0.0015}},
          {{"namespace":"shop","pod":"api-7d9f8c6b5-b","cost":0.0012}},
          {{"namespace":"data","pod":"db-0","cost":0.004}}]}}"#,
        window_start.to_rfc3339(),
        end.to_rfc3339()
    );
    Snapshot::from_json_str(&text).unwrap_or_else(|e| panic!("fixture snapshot parses: {e}"))
}

/// Engine-made footprints: the [`snapshot`] of two clusters over a few windows, estimated with
/// both methodologies.
pub fn engine_history() -> Vec<Footprint> {
    let mut out = Vec::new();
    for (i, start) in [
        at(2025, 6, 1, 23, 55),
        at(2025, 6, 2, 0, 0),
        at(2025, 6, 2, 10, 0),
        at(2025, 6, 9, 10, 0),
    ]
    .into_iter()
    .enumerate()
    {
        for cluster in ["eu", "us"] {
            let options = if i % 2 == 0 {
                EstimateOptions::new(Methodology::Full)
            } else {
                EstimateOptions::new(Methodology::Classic)
            };
            let fp = crate::engine::estimate(&snapshot(cluster, start), &options)
                .unwrap_or_else(|e| panic!("fixture snapshot estimates: {e}"));
            out.push(fp);
        }
    }
    out
}
