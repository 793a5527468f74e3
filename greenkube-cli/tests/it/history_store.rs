//! Stored history: `estimate --store` archives snapshots; `recommend --store --since` and
//! `restate` replay them.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;

fn greenkube(dir: &Path) -> Command {
    let mut c = Command::cargo_bin("greenkube").expect("binary built");
    c.current_dir(dir).env_remove("GREENKUBE_STORE");
    c
}

/// Estimates 12 hourly windows of the example into a SQLite store; returns the store URL and the
/// footprints printed as JSON lines.
fn fill(dir: &Path) -> (String, PathBuf) {
    let url = format!("sqlite://{}", dir.join("gk.db").display());
    let base: Value = serde_json::from_str(
        &std::fs::read_to_string(
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/snapshots/cluster.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let start = chrono::DateTime::parse_from_rfc3339("2025-06-02T00:00:00Z").unwrap();
    let mut lines = String::new();
    for h in 0..12i64 {
        let mut s = base.clone();
        let ws = start + chrono::Duration::hours(h);
        s["window_start"] = Value::from(ws.to_rfc3339());
        s["window_end"] = Value::from((ws + chrono::Duration::hours(1)).to_rfc3339());
        let out = greenkube(dir)
            .args([
                "estimate",
                "--snapshot",
                "-",
                "--format",
                "json",
                "--store",
                &url,
            ])
            .write_stdin(s.to_string())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        lines.push_str(&String::from_utf8(out.stdout).unwrap());
    }
    let history = dir.join("history.jsonl");
    std::fs::write(&history, lines).unwrap();
    (url, history)
}

fn json(out: &std::process::Output) -> Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON")
}

#[test]
fn recommend_from_the_store_equals_recommend_from_the_history_file() {
    let dir = tempfile::tempdir().unwrap();
    let (url, history) = fill(dir.path());
    let from_file = json(
        &greenkube(dir.path())
            .args([
                "recommend",
                "--history",
                history.to_str().unwrap(),
                "-f",
                "json",
            ])
            .output()
            .unwrap(),
    );
    let from_store = json(
        &greenkube(dir.path())
            .args([
                "recommend",
                "--store",
                &url,
                "--since",
                "3000d",
                "-f",
                "json",
            ])
            .output()
            .unwrap(),
    );
    assert!(!from_file.as_array().unwrap().is_empty());
    assert_eq!(from_store, from_file);
}

#[test]
fn recommend_needs_a_history_or_a_store() {
    let dir = tempfile::tempdir().unwrap();
    greenkube(dir.path())
        .arg("recommend")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--history"));
    greenkube(dir.path())
        .args(["recommend", "--store", "sqlite://x.db"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--since"));
}

#[test]
fn restate_recomputes_under_another_methodology() {
    let dir = tempfile::tempdir().unwrap();
    let (url, _) = fill(dir.path());
    let report = |dir: &Path| {
        json(
            &greenkube(dir)
                .args([
                    "report", "--store", &url, "--since", "3000d", "-g", "cluster", "-f", "json",
                ])
                .output()
                .unwrap(),
        )
    };
    let before = report(dir.path());
    let dry = json(
        &greenkube(dir.path())
            .args([
                "restate",
                "--store",
                &url,
                "--since",
                "3000d",
                "-m",
                "classic",
                "--dry-run",
                "-f",
                "json",
            ])
            .output()
            .unwrap(),
    );
    assert_eq!(dry["windows"], 12);
    assert_eq!(dry["stored"], false);
    assert_eq!(report(dir.path()), before, "a dry run stores nothing");
    let done = json(
        &greenkube(dir.path())
            .args([
                "restate", "--store", &url, "--since", "3000d", "-m", "classic", "-f", "json",
            ])
            .output()
            .unwrap(),
    );
    let after = report(dir.path());
    assert_ne!(after, before);
    let e = |v: &Value| v[0]["energy_joules"].as_f64().unwrap();
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * a.abs().max(b.abs());
    assert!(
        close(e(&after), e(&done["after"])),
        "the report reads what restate stored"
    );
    assert!(
        close(e(&done["after"]), e(&dry["after"])),
        "the dry run computed the same"
    );
    assert!(close(e(&done["before"]), e(&before)));
    // Restating back to full gives the original figures again.
    greenkube(dir.path())
        .args(["restate", "--store", &url, "--since", "3000d", "-m", "full"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "12 archived windows restated under full",
        ));
    let back = report(dir.path());
    assert!(close(e(&back), e(&before)));
}

#[test]
fn saved_scans_keep_their_lifecycle() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let url = format!("sqlite://{}", dir.path().join("demo.db").display());
    let bin = || {
        let mut cmd = assert_cmd::Command::cargo_bin("greenkube").expect("binary");
        cmd.current_dir(dir.path()).env_remove("GREENKUBE_STORE");
        cmd
    };
    bin()
        .args([
            "demo",
            "--days",
            "1",
            "--end",
            "2025-06-30",
            "--store",
            &url,
            "--no-serve",
        ])
        .assert()
        .success();
    let scan = |extra: &[&str]| {
        let out = bin()
            .args([
                "recommend",
                "--store",
                &url,
                "--since",
                "100000d",
                "--save",
                "--format",
                "json",
            ])
            .args(extra)
            .output()
            .expect("runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let recs: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
        (recs, String::from_utf8_lossy(&out.stderr).to_string())
    };
    let (first, note) = scan(&[]);
    let n = first.as_array().map_or(0, Vec::len);
    assert!(n >= 2, "{first}");
    assert!(note.contains(&format!("{n} new")), "{note}");
    let id = first[0]["id"].as_str().expect("id").to_string();

    let out = bin()
        .args([
            "recommendations",
            "--store",
            &url,
            "ignore",
            &id[..10],
            "--reason",
            "contractual",
        ])
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("now ignored"));

    // The next scan finds it again but leaves it out; it stays ignored.
    let (second, note) = scan(&[]);
    assert_eq!(second.as_array().map_or(0, Vec::len), n - 1);
    assert!(
        note.contains("0 new") && note.contains("1 ignored"),
        "{note}"
    );
    let listed = bin()
        .args([
            "recommendations",
            "--store",
            &url,
            "list",
            "--status",
            "ignored",
            "--format",
            "json",
        ])
        .output()
        .expect("runs");
    let ignored: serde_json::Value = serde_json::from_slice(&listed.stdout).expect("json");
    assert_eq!(ignored.as_array().map_or(0, Vec::len), 1, "{ignored}");
    assert_eq!(ignored[0]["ignored_reason"], "contractual");

    bin()
        .args(["recommendations", "--store", &url, "unignore", &id])
        .assert()
        .success();
    let table = bin()
        .args(["recommendations", "--store", &url])
        .output()
        .expect("runs");
    assert!(String::from_utf8_lossy(&table.stdout).contains(&id[..12]));
    bin()
        .args(["recommendations", "--store", &url, "apply", "no-such-id"])
        .assert()
        .failure()
        .stderr(predicates::str::contains("no recommendation `no-such-id`"));
}
