//! `greenkube recommend`, `what-if` and `score` on a history written by `greenkube estimate`.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;

fn greenkube() -> Command {
    Command::cargo_bin("greenkube").expect("binary built")
}

/// A day of hourly windows of the example cluster (busy 09:00–18:00), one footprint per line.
fn history(dir: &Path) -> PathBuf {
    let base: Value = serde_json::from_str(
        &std::fs::read_to_string(
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/snapshots/cluster.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let start = chrono::DateTime::parse_from_rfc3339("2025-06-02T00:00:00Z").unwrap();
    let mut lines = String::new();
    for h in 0..24i64 {
        let mut s = base.clone();
        let ws = start + chrono::Duration::hours(h);
        s["window_start"] = Value::from(ws.to_rfc3339());
        s["window_end"] = Value::from((ws + chrono::Duration::hours(1)).to_rfc3339());
        let load = if (9..18).contains(&h) { 1.0 } else { 0.3 };
        for p in s["pods"].as_array_mut().unwrap() {
            if let Some(c) = p["cpu_usage_cores"].as_f64() {
                p["cpu_usage_cores"] = Value::from(c * load);
            }
        }
        let out = greenkube()
            .args(["estimate", "--snapshot", "-", "--format", "json"])
            .write_stdin(s.to_string())
            .output()
            .unwrap();
        assert!(out.status.success());
        lines.push_str(&String::from_utf8(out.stdout).unwrap());
    }
    let path = dir.join("history.jsonl");
    std::fs::write(&path, lines).unwrap();
    path
}

#[test]
fn recommend_json_lists_priced_recommendations() {
    let dir = tempfile::tempdir().unwrap();
    let h = history(dir.path());
    let out = greenkube()
        .args([
            "recommend",
            "--history",
            h.to_str().unwrap(),
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let recs: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert!(!recs.is_empty());
    for r in &recs {
        for key in [
            "type",
            "scope",
            "namespace",
            "target",
            "node",
            "savings_co2e_grams_per_year",
            "savings_cost_per_year",
            "savings_co2e_grams_per_year_interval",
            "reason",
        ] {
            assert!(r.get(key).is_some(), "recommendation lacks {key}: {r}");
        }
        let s = r["savings_co2e_grams_per_year"].as_f64().unwrap();
        let lo = r["savings_co2e_grams_per_year_interval"][0]
            .as_f64()
            .unwrap();
        let hi = r["savings_co2e_grams_per_year_interval"][1]
            .as_f64()
            .unwrap();
        assert!(lo <= s && s <= hi && lo >= 0.0);
    }
    assert!(
        recs.iter()
            .any(|r| r["type"] == "IDLE_NAMESPACE" && r["target"] == "legacy")
    );
    assert!(recs.iter().any(|r| r["type"] == "RIGHTSIZING_CPU"));
}

#[test]
fn recommend_namespace_filter_and_table() {
    let dir = tempfile::tempdir().unwrap();
    let h = history(dir.path());
    let out = greenkube()
        .args([
            "recommend",
            "--history",
            h.to_str().unwrap(),
            "-n",
            "staging",
            "-f",
            "json",
        ])
        .output()
        .unwrap();
    let recs: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        recs.iter()
            .all(|r| r["namespace"].is_null() || r["namespace"] == "staging")
    );
    greenkube()
        .args(["recommend", "--history", h.to_str().unwrap()])
        .assert()
        .success()
        .stdout(predicate::str::contains("RIGHTSIZING_CPU"))
        .stdout(predicate::str::contains("what-if engine"));
}

#[test]
fn gates_exit_three_when_tripped_and_zero_otherwise() {
    let dir = tempfile::tempdir().unwrap();
    let h = history(dir.path());
    let h = h.to_str().unwrap();
    greenkube()
        .args(["recommend", "--history", h, "--fail-on-co2-savings", "1"])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("--fail-on-co2-savings"));
    greenkube()
        .args([
            "recommend",
            "--history",
            h,
            "--fail-on-cost-savings",
            "0.01",
        ])
        .assert()
        .code(3);
    greenkube()
        .args(["recommend", "--history", h, "--fail-on-co2-savings", "1e15"])
        .assert()
        .code(0);
    // A threshold no saving can exceed would turn the gate off silently: refused.
    for bad in ["NaN", "inf", "-1", "lots"] {
        for flag in ["--fail-on-co2-savings", "--fail-on-cost-savings"] {
            greenkube()
                .args(["recommend", "--history", h, &format!("{flag}={bad}")])
                .assert()
                .code(2)
                .stderr(predicate::str::contains(flag).and(predicate::str::contains(bad)));
        }
    }
}

#[test]
fn what_if_no_change_is_zero_and_a_removal_saves() {
    let dir = tempfile::tempdir().unwrap();
    let h = history(dir.path());
    let empty = dir.path().join("none.json");
    std::fs::write(&empty, "[]").unwrap();
    let out = greenkube()
        .args([
            "what-if",
            "--history",
            h.to_str().unwrap(),
            "--apply",
            empty.to_str().unwrap(),
            "-f",
            "json",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["cluster"]["savings"]["total_co2e_grams"], 0.0);
    let changes = dir.path().join("changes.json");
    std::fs::write(&changes, r#"[{"change": "remove", "namespace": "legacy"}]"#).unwrap();
    let out = greenkube()
        .args([
            "what-if",
            "--history",
            h.to_str().unwrap(),
            "--apply",
            changes.to_str().unwrap(),
            "-f",
            "json",
        ])
        .output()
        .unwrap();
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(r["cluster"]["savings_per_year"]["cost"].as_f64().unwrap() > 0.0);
    greenkube()
        .args([
            "what-if",
            "--history",
            h.to_str().unwrap(),
            "--apply",
            changes.to_str().unwrap(),
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("saved per year"));
}

#[test]
fn what_if_bad_changes_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let h = history(dir.path());
    let changes = dir.path().join("bad.json");
    std::fs::write(&changes, r#"[{"change": "teleport"}]"#).unwrap();
    greenkube()
        .args([
            "what-if",
            "--history",
            h.to_str().unwrap(),
            "--apply",
            changes.to_str().unwrap(),
        ])
        .assert()
        .failure()
        .stderr(predicate::str::contains("invalid changes"))
        .stderr(predicate::str::contains("teleport"));
}

#[test]
fn score_prints_seven_dimensions() {
    let dir = tempfile::tempdir().unwrap();
    let h = history(dir.path());
    let out = greenkube()
        .args(["score", "--history", h.to_str().unwrap(), "-f", "json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let s: Value = serde_json::from_slice(&out.stdout).unwrap();
    let score = s["score"].as_f64().unwrap();
    assert!((0.0..=100.0).contains(&score));
    assert_eq!(s["dimensions"].as_array().unwrap().len(), 7);
    greenkube()
        .args(["score", "--history", h.to_str().unwrap()])
        .assert()
        .success()
        .stdout(predicate::str::contains("sustainability score:"))
        .stdout(predicate::str::contains("node_efficiency"));
}

#[test]
fn bad_history_names_the_document() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h.jsonl");
    std::fs::write(&path, "{\"schema\": \"nope\"}\n").unwrap();
    greenkube()
        .args(["recommend", "--history", path.to_str().unwrap()])
        .assert()
        .failure()
        .stderr(predicate::str::contains("document 1"));
}

#[test]
fn endless_input_is_refused_at_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let h = history(dir.path());
    let h = h.to_str().unwrap();
    let runs: [&[&str]; 4] = [
        &["recommend", "--history", "/dev/zero"],
        &["score", "--history", "/dev/zero"],
        &["estimate", "--snapshot", "/dev/zero"],
        &["what-if", "--history", h, "--apply", "/dev/zero"],
    ];
    for args in runs {
        let out = greenkube()
            .env("GREENKUBE_MAX_INPUT_BYTES", "1000000")
            .args(args)
            .timeout(std::time::Duration::from_secs(60))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} succeeded");
        assert!(
            stderr.contains("larger than 1000000 bytes") && stderr.contains("/dev/zero"),
            "{args:?}: {stderr}"
        );
    }
    // Under the limit, the same history reads as before.
    greenkube()
        .env("GREENKUBE_MAX_INPUT_BYTES", "100000000")
        .args(["recommend", "--history", h])
        .assert()
        .success();
}
