//! Property tests of the physics: energy is never negative, grows with CPU usage, `full`
//! conserves energy (pods + overhead = node), and every point estimate lies in its interval.

use greenkube_core::{
    EstimateOptions, Footprint, IdlePolicy, Methodology, Ranged, Snapshot, estimate,
};
use proptest::prelude::*;
use serde_json::{Value, json};

const TYPES: [(&str, &str); 6] = [
    ("aws", "m5.large"),
    ("gcp", "n2-standard-8"),
    ("azure", "Standard_D4s_v5"),
    ("ovh", "b3-8"),
    ("aws", "not-a-type"),
    ("scaleway", "cpu-4"),
];

fn node_strategy() -> impl Strategy<Value = Value> {
    (0..TYPES.len(), prop::option::of(1u32..=64), prop::bool::ANY).prop_map(
        |(t, capacity, with_memory)| {
            let (provider, instance_type) = TYPES[t];
            let mut n = json!({"provider": provider, "instance_type": instance_type,
                               "region": "eu-west-3"});
            if let Some(c) = capacity {
                n["cpu_capacity_cores"] = json!(c);
            }
            if with_memory {
                n["memory_capacity_bytes"] = json!(16u64 << 30);
            }
            n
        },
    )
}

fn pod_strategy() -> impl Strategy<Value = Value> {
    (
        0usize..4,
        prop::option::of(0.0f64..16.0),
        prop::option::of(0.0f64..8.0),
        prop::option::of(0u64..(24u64 << 30)),
        prop::option::of(0u64..(8u64 << 30)),
    )
        .prop_map(|(node, cpu, request, memory, memory_request)| {
            json!({"node_index": node, "cpu_usage_cores": cpu, "cpu_request_cores": request,
                   "memory_usage_bytes": memory, "memory_request_bytes": memory_request})
        })
}

fn build(nodes: &[Value], pods: &[Value]) -> Snapshot {
    let nodes: Vec<Value> = nodes
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let mut n = n.clone();
            n["name"] = json!(format!("n{i}"));
            n
        })
        .collect();
    let pods: Vec<Value> = pods
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let mut p = p.clone();
            let idx = p["node_index"].as_u64().unwrap_or(0);
            p.as_object_mut().map(|o| o.remove("node_index"));
            p["namespace"] = json!("ns");
            p["name"] = json!(format!("p{i}"));
            p["node"] = json!(format!("n{idx}"));
            p
        })
        .collect();
    let value = json!({
        "schema": "greenkube.snapshot/v1",
        "window_start": "2025-06-02T10:00:00Z", "window_end": "2025-06-02T10:05:00Z",
        "nodes": nodes, "pods": pods,
    });
    Snapshot::from_json_value(value).expect("generated snapshot parses")
}

fn options() -> Vec<EstimateOptions> {
    let mut out = vec![EstimateOptions::new(Methodology::Classic)];
    for policy in IdlePolicy::ALL {
        out.push(EstimateOptions {
            idle_policy: policy,
            ..EstimateOptions::new(Methodology::Full)
        });
    }
    out
}

fn check_ranged(what: &str, r: Ranged) -> Result<(), TestCaseError> {
    prop_assert!(
        r.is_consistent(),
        "{what}: {r:?} is not low <= point <= high"
    );
    prop_assert!(r.low >= 0.0, "{what}: negative {r:?}");
    Ok(())
}

fn check_footprint(fp: &Footprint, full: bool) -> Result<(), TestCaseError> {
    for p in &fp.pods {
        check_ranged("pod energy", p.energy_joules)?;
        check_ranged("pod co2e", p.co2e_grams)?;
        check_ranged("pod embodied", p.embodied_co2e_grams)?;
    }
    for (i, n) in fp.nodes.iter().enumerate() {
        check_ranged("node energy", n.energy_joules)?;
        check_ranged("node overhead", n.overhead_energy_joules)?;
        check_ranged("node embodied", n.embodied_co2e_grams)?;
        if full {
            let name = n.node.name.as_deref();
            let pods: Vec<_> = fp
                .pods
                .iter()
                .filter(|p| p.node.name.as_deref() == name)
                .collect();
            for (bound, get) in [
                ("point", (|r: Ranged| r.point) as fn(Ranged) -> f64),
                ("low", |r: Ranged| r.low),
                ("high", |r: Ranged| r.high),
            ] {
                let sum: f64 = pods.iter().map(|p| get(p.energy_joules)).sum::<f64>()
                    + get(n.overhead_energy_joules);
                let node = get(n.energy_joules);
                prop_assert!(
                    (sum - node).abs() <= 1e-9 * node.abs().max(1.0),
                    "node {i} ({bound}): pods + overhead = {sum}, node = {node}"
                );
                let emb: f64 = pods.iter().map(|p| get(p.embodied_co2e_grams)).sum::<f64>()
                    + get(n.unallocated_embodied_co2e_grams);
                let node_emb = get(n.embodied_co2e_grams);
                prop_assert!(
                    (emb - node_emb).abs() <= 1e-9 * node_emb.abs().max(1.0),
                    "node {i} ({bound}) embodied: pods + unallocated = {emb}, node = {node_emb}"
                );
            }
        }
    }
    check_ranged("total energy", fp.totals.energy_joules)?;
    let sum: f64 = fp.nodes.iter().map(|n| n.energy_joules.point).sum();
    prop_assert!((sum - fp.totals.energy_joules.point).abs() <= 1e-9 * sum.max(1.0));
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn figures_are_non_negative_bounded_and_conserved(
        nodes in prop::collection::vec(node_strategy(), 1..4),
        pods in prop::collection::vec(pod_strategy(), 0..12),
    ) {
        let snap = build(&nodes, &pods);
        for opts in options() {
            let fp = estimate(&snap, &opts).expect("valid snapshot estimates");
            check_footprint(&fp, opts.methodology == Methodology::Full)?;
        }
    }

    #[test]
    fn energy_is_monotone_in_cpu_usage(
        nodes in prop::collection::vec(node_strategy(), 1..3),
        pods in prop::collection::vec(pod_strategy(), 1..8),
        which in 0usize..8,
        extra in 0.001f64..4.0,
    ) {
        let mut base = build(&nodes, &pods);
        let which = which % base.pods.len();
        // Compare two known usages (an unknown usage falls back to the request).
        let before = base.pods[which].cpu_usage_cores.map_or(0.0, |c| c.0);
        base.pods[which].cpu_usage_cores = Some(greenkube_core::units::Cores(before));
        let mut more = base.clone();
        more.pods[which].cpu_usage_cores = Some(greenkube_core::units::Cores(before + extra));
        for opts in options() {
            let a = estimate(&base, &opts).expect("estimates");
            let b = estimate(&more, &opts).expect("estimates");
            let (pa, pb) = (&a.pods[which], &b.pods[which]);
            prop_assert!(
                pb.energy_joules.point >= pa.energy_joules.point * (1.0 - 1e-12) - 1e-9,
                "{}: pod energy fell from {} to {}", opts.methodology,
                pa.energy_joules.point, pb.energy_joules.point
            );
            prop_assert!(
                b.totals.energy_joules.point >= a.totals.energy_joules.point * (1.0 - 1e-12) - 1e-9,
                "{}: total energy fell", opts.methodology
            );
        }
    }
}
