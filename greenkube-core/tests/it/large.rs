//! Snapshots large enough for the engine's parallel paths: the figures, and the JSON written,
//! are the same bit for bit on any number of threads, and equal to a single pass's.

use greenkube_core::{EstimateOptions, Footprint, Methodology, Snapshot, estimate};
use serde_json::{Value, json};

use crate::common::{parse, snapshot};

const PODS: usize = 40_000;

/// Nodes of a few kinds, pods on them and on nodes not in the snapshot, costs in no particular
/// order (some missing, one for a pod that is not there), and a dropped value.
fn large() -> Snapshot {
    let kinds = [
        json!({"provider": "aws", "instance_type": "m5.large", "zone": "eu-west-3a"}),
        json!({"provider": "gcp", "instance_type": "n2-standard-8", "region": "europe-west1"}),
        json!({"instance_type": "cpu-4"}),
        json!({"provider": "azure"}),
    ];
    let nodes: Vec<Value> = (0..60)
        .map(|i| {
            let mut node = kinds[i % kinds.len()].clone();
            node["name"] = json!(format!("node-{i}"));
            node
        })
        .collect();
    let pods: Vec<Value> = (0..PODS)
        .map(|i| {
            let mut pod = json!({
                "namespace": format!("ns-{}", i % 7),
                "name": format!("pod-{i}"),
                "node": format!("node-{}", (i * 7919) % 64),
                "cpu_request_cores": 0.1,
            });
            if i % 5 != 0 {
                pod["cpu_usage_cores"] = json!((i % 13) as f64 * 0.013);
            }
            if i % 3 != 0 {
                pod["memory_usage_bytes"] = json!((i % 17) as f64 * 1.0e8);
            }
            pod
        })
        .collect();
    // A fixed shuffle: costs for every pod but one in 20, in a scrambled order, and an orphan.
    let mut costs: Vec<Value> = (0..PODS)
        .map(|k| (k * 7_919) % PODS)
        .filter(|i| i % 20 != 7)
        .map(|i| json!({"namespace": format!("ns-{}", i % 7), "pod": format!("pod-{i}"), "cost": i as f64 * 1e-5}))
        .collect();
    costs.push(json!({"namespace": "gone", "pod": "away", "cost": 1.0}));
    let mut value = snapshot(Value::Array(nodes), Value::Array(pods));
    value["costs"] = Value::Array(costs);
    value["dropped_values"] =
        json!(["cpu_usage_cores of ns-3/pod-10 in the window starting 2025-06-02T10:00:00Z: NaN"]);
    parse(value)
}

fn on_threads(threads: usize, snapshot: &Snapshot, options: &EstimateOptions) -> Footprint {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("a thread pool")
        .install(|| estimate(snapshot, options).expect("the snapshot estimates"))
}

fn bytes(footprint: &Footprint) -> Vec<u8> {
    serde_json::to_vec(footprint).expect("a footprint serialises")
}

#[test]
fn figures_are_the_same_on_any_number_of_threads() {
    let snapshot = large();
    for methodology in [Methodology::Full, Methodology::Classic] {
        let options = EstimateOptions::new(methodology);
        let one = on_threads(1, &snapshot, &options);
        assert_eq!(one.pods.len(), PODS);
        assert!(one.totals.pods_without_cost > 0);
        assert!(one.warnings.iter().any(|w| w.contains("gone/away")));
        let one_bytes = bytes(&one);
        for threads in [2, 4] {
            let many = on_threads(threads, &snapshot, &options);
            assert_eq!(many, one, "{methodology} on {threads} threads");
            assert_eq!(
                bytes(&many),
                one_bytes,
                "{methodology} on {threads} threads"
            );
        }
    }
}

#[test]
fn write_json_writes_what_serde_writes() {
    let snapshot = large();
    let footprint = on_threads(4, &snapshot, &EstimateOptions::new(Methodology::Full));
    let expected = bytes(&footprint);
    for threads in [1, 4] {
        let mut written = Vec::new();
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("a thread pool")
            .install(|| footprint.write_json(&mut written))
            .expect("the footprint is written");
        assert!(written == expected, "write_json on {threads} threads");
    }
    // Fewer rows than one chunk, and none.
    let mut small = footprint.clone();
    small.pods.truncate(10);
    let mut written = Vec::new();
    small.write_json(&mut written).unwrap();
    assert!(written == bytes(&small));
    small.pods.clear();
    written.clear();
    small.write_json(&mut written).unwrap();
    assert!(written == bytes(&small));
}
