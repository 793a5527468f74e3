//! Helpers to build snapshots and run the engine in tests.

use greenkube_core::{EstimateOptions, Footprint, Methodology, PodFootprint, Snapshot, estimate};
use serde_json::{Value, json};

/// A five-minute window snapshot with the given nodes and pods (JSON values).
#[expect(
    clippy::needless_pass_by_value,
    reason = "callers build the JSON inline"
)]
pub(crate) fn snapshot(nodes: Value, pods: Value) -> Value {
    json!({
        "schema": "greenkube.snapshot/v1",
        "window_start": "2025-06-02T10:00:00Z",
        "window_end": "2025-06-02T10:05:00Z",
        "nodes": nodes,
        "pods": pods,
    })
}

pub(crate) fn parse(value: Value) -> Snapshot {
    Snapshot::from_json_value(value).expect("test snapshot parses")
}

pub(crate) fn run(value: Value, methodology: Methodology) -> Footprint {
    run_with(value, &EstimateOptions::new(methodology))
}

pub(crate) fn run_with(value: Value, options: &EstimateOptions) -> Footprint {
    estimate(&parse(value), options).expect("test snapshot estimates")
}

pub(crate) fn pod<'a>(fp: &'a Footprint, name: &str) -> &'a PodFootprint {
    fp.pods
        .iter()
        .find(|p| p.pod.as_ref() == name)
        .unwrap_or_else(|| panic!("pod {name} in footprint"))
}

pub(crate) fn reasons(p: &PodFootprint) -> Vec<String> {
    p.reasons.iter().map(ToString::to_string).collect()
}

#[track_caller]
pub(crate) fn close(actual: f64, expected: f64, tolerance: f64) {
    assert!(
        (actual - expected).abs() <= tolerance,
        "expected {expected} ± {tolerance}, got {actual}"
    );
}
