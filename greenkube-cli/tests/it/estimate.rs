//! `greenkube estimate` end to end: formats, groupings, stdin, errors and exit codes.

use std::path::PathBuf;

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;

fn example() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/snapshots/cluster.json")
}

fn greenkube() -> Command {
    Command::cargo_bin("greenkube").expect("binary built")
}

fn json_output(args: &[&str]) -> Value {
    let out = greenkube().args(args).output().expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("utf-8");
    assert_eq!(text.lines().count(), 1, "one JSON document per line");
    serde_json::from_str(&text).expect("valid JSON")
}

#[test]
fn version_names_methodologies_and_data_version() {
    greenkube()
        .arg("--version")
        .assert()
        .success()
        .stdout(predicate::str::contains(env!("CARGO_PKG_VERSION")))
        .stdout(predicate::str::contains("classic 1.0.0"))
        .stdout(predicate::str::contains("full 1.0.0 (default)"))
        .stdout(predicate::str::contains("reference data: gkdata-"));
}

#[test]
fn help_explains_the_command() {
    greenkube()
        .args(["estimate", "--help"])
        .assert()
        .success()
        .stdout(predicate::str::contains("--snapshot <FILE>"))
        .stdout(predicate::str::contains("--methodology"))
        .stdout(predicate::str::contains("Examples:"));
}

#[test]
fn json_is_the_footprint_contract() {
    let example = example();
    let fp = json_output(&[
        "estimate",
        "-s",
        example.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(fp["schema"], "greenkube.footprint/v1");
    assert_eq!(fp["methodology"]["name"], "full");
    assert!(
        fp["methodology"]["data_version"]
            .as_str()
            .unwrap()
            .starts_with("gkdata-")
    );
    let pods = fp["pods"].as_array().unwrap();
    assert_eq!(pods.len(), 30);
    for p in pods {
        for key in [
            "namespace",
            "pod",
            "node",
            "zone",
            "provider",
            "instance_type",
            "owner_kind",
            "owner_name",
            "cpu_usage_cores",
            "cpu_request_cores",
            "memory_usage_bytes",
            "memory_request_bytes",
            "energy_joules",
            "co2e_grams",
            "embodied_co2e_grams",
            "total_co2e_grams",
            "cost",
            "pue",
            "grid_intensity",
            "estimated",
            "estimation_reasons",
            "uncertainty",
        ] {
            assert!(p.get(key).is_some(), "pod row lacks {key}");
        }
        let e = p["energy_joules"].as_f64().unwrap();
        let [lo, hi] = [0, 1].map(|i| p["uncertainty"]["energy_joules"][i].as_f64().unwrap());
        assert!(lo <= e && e <= hi, "{e} not in [{lo}, {hi}]");
    }
    let total: f64 = fp["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["energy_joules"].as_f64().unwrap())
        .sum();
    let reported = fp["totals"]["energy_joules"].as_f64().unwrap();
    assert!((total - reported).abs() < 1e-6 * reported);
}

#[test]
fn classic_and_full_give_different_figures() {
    let example = example();
    let path = example.to_str().unwrap();
    let full = json_output(&["estimate", "-s", path, "-f", "json"]);
    let classic = json_output(&["estimate", "-s", path, "-f", "json", "-m", "classic"]);
    assert_eq!(classic["methodology"]["name"], "classic");
    assert_ne!(
        full["totals"]["energy_joules"],
        classic["totals"]["energy_joules"]
    );
}

#[test]
fn reads_stdin() {
    let text = std::fs::read_to_string(example()).unwrap();
    let out = greenkube()
        .args(["estimate", "--snapshot", "-", "--format", "json"])
        .write_stdin(text)
        .output()
        .unwrap();
    assert!(out.status.success());
    let fp: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(fp["pods"].as_array().unwrap().len(), 30);
}

#[test]
fn table_is_readable() {
    greenkube()
        .args(["estimate", "-s", example().to_str().unwrap()])
        .assert()
        .success()
        .stdout(predicate::str::contains("NAMESPACE"))
        .stdout(predicate::str::contains("frontend-6d8f7c9b4-x2k9p"))
        .stdout(predicate::str::contains("cluster total: energy"))
        .stdout(predicate::str::contains("methodology full"));
}

#[test]
fn group_by_namespace_sums_the_pods() {
    let example = example();
    let path = example.to_str().unwrap();
    let fp = json_output(&["estimate", "-s", path, "-f", "json"]);
    let agg = json_output(&[
        "estimate",
        "-s",
        path,
        "-f",
        "json",
        "--group-by",
        "namespace",
    ]);
    assert_eq!(agg["schema"], "greenkube.aggregate/v1");
    assert_eq!(agg["group_by"], "namespace");
    let rows = agg["rows"].as_array().unwrap();
    let shop = rows
        .iter()
        .find(|r| r["namespace"] == "shop")
        .expect("shop row");
    let expected: f64 = fp["pods"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["namespace"] == "shop")
        .map(|p| p["co2e_grams"].as_f64().unwrap())
        .sum();
    assert!((shop["co2e_grams"].as_f64().unwrap() - expected).abs() < 1e-12);
    assert_eq!(shop["rows"], 8);
}

#[test]
fn group_by_workload_folds_replicasets() {
    let example = example();
    let agg = json_output(&[
        "estimate",
        "-s",
        example.to_str().unwrap(),
        "-f",
        "json",
        "-g",
        "workload",
    ]);
    let rows = agg["rows"].as_array().unwrap();
    let api = rows
        .iter()
        .find(|r| r["namespace"] == "shop" && r["workload"] == "api")
        .expect("shop api deployment");
    assert_eq!(api["workload_kind"], "Deployment");
    assert_eq!(api["rows"], 3);
}

#[test]
fn group_by_node_includes_overhead() {
    let example = example();
    let path = example.to_str().unwrap();
    let fp = json_output(&["estimate", "-s", path, "-f", "json"]);
    let agg = json_output(&["estimate", "-s", path, "-f", "json", "-g", "node"]);
    let sum: f64 = agg["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["energy_joules"].as_f64().unwrap())
        .sum();
    let total = fp["totals"]["energy_joules"].as_f64().unwrap();
    assert!((sum - total).abs() < 1e-6 * total, "{sum} vs {total}");
}

#[test]
fn csv_has_a_header_and_a_row_per_pod() {
    let out = greenkube()
        .args(["estimate", "-s", example().to_str().unwrap(), "-f", "csv"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let mut reader = csv::Reader::from_reader(out.stdout.as_slice());
    let headers = reader.headers().unwrap().clone();
    assert!(headers.iter().any(|h| h == "total_co2e_grams_high"));
    assert_eq!(reader.records().count(), 30);
}

#[test]
fn missing_file_is_a_clear_error() {
    greenkube()
        .args(["estimate", "-s", "/nonexistent/snapshot.json"])
        .assert()
        .failure()
        .stdout(predicate::str::is_empty())
        .stderr(predicate::str::contains(
            "error: cannot read /nonexistent/snapshot.json",
        ));
}

#[test]
fn bad_snapshot_names_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.json");
    std::fs::write(
        &path,
        r#"{"schema":"greenkube.snapshot/v1","window_start":"2025-06-02T10:00:00Z",
            "window_end":"2025-06-02T10:05:00Z",
            "pods":[{"namespace":"a","name":"p","cpu_usage_cores":-1}]}"#,
    )
    .unwrap();
    greenkube()
        .args(["estimate", "-s", path.to_str().unwrap()])
        .assert()
        .failure()
        .stderr(predicate::str::contains("pods[0].cpu_usage_cores"))
        .stderr(predicate::str::contains("must not be negative"));
    std::fs::write(
        &path,
        r#"{"schema":"greenkube.snapshot/v1","window_start":"x"}"#,
    )
    .unwrap();
    greenkube()
        .args(["estimate", "-s", path.to_str().unwrap()])
        .assert()
        .failure()
        .stderr(predicate::str::contains("window_start"));
}

#[test]
fn bad_flag_values_are_usage_errors() {
    greenkube()
        .args(["estimate", "-s", "x.json", "--methodology", "fancy"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("classic"));
    greenkube()
        .args([
            "estimate",
            "-s",
            example().to_str().unwrap(),
            "--default-intensity",
            "NaN",
        ])
        .assert()
        .failure()
        .stderr(predicate::str::contains(
            "invalid option: default_intensity",
        ));
}

/// A reader that stops early (`greenkube estimate ... | head -1`) is not an error: every format
/// ends quietly with success, nothing on standard error.
#[test]
fn a_reader_that_stops_early_is_not_an_error() {
    use assert_cmd::cargo::CommandCargoExt as _;
    use std::io::{BufRead, BufReader};
    // 3,000 pods: each output is far larger than a pipe's buffer.
    let mut snapshot: Value =
        serde_json::from_str(&std::fs::read_to_string(example()).expect("example")).expect("JSON");
    let pods = snapshot["pods"].as_array().expect("pods").clone();
    let many: Vec<Value> = (0..100)
        .flat_map(|copy| {
            pods.iter().map(move |pod| {
                let mut pod = pod.clone();
                pod["name"] = Value::from(format!("{}-{copy}", pod["name"].as_str().unwrap()));
                pod
            })
        })
        .collect();
    snapshot["pods"] = Value::from(many);
    snapshot["costs"] = Value::from(Vec::<Value>::new());
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("big.json");
    std::fs::write(&path, snapshot.to_string()).expect("written");
    for format in ["json", "csv", "table"] {
        let mut child = std::process::Command::cargo_bin("greenkube")
            .expect("binary")
            .args(["estimate", "--format", format, "--snapshot"])
            .arg(&path)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("runs");
        let mut first = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut first)
            .expect("a first line");
        // The reader is dropped here: the pipe closes with most of the output unread.
        let out = child.wait_with_output().expect("ends");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!first.is_empty(), "{format}");
        assert!(out.status.success(), "{format}: {:?} {stderr}", out.status);
        assert!(!stderr.contains("Broken pipe"), "{format}: {stderr}");
    }
}
