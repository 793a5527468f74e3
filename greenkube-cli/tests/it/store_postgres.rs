//! The store commands end to end against a real PostgreSQL server: the same reports as SQLite,
//! idempotent writes, archived snapshots replayed by `recommend --since` and `restate`, a clear
//! error for a missing database, and no password in any output.
//!
//! The server comes from `GREENKUBE_TEST_POSTGRES_URL`, which `scripts/test.sh` sets (it starts
//! a throwaway PostgreSQL with `scripts/services.sh`); without it these tests fail, saying so.
//! Each test uses a database of its own (`greenkube_cli_PID_N`), which `greenkube` creates;
//! they are left to the throwaway server, which is removed with them.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;

const URL_VAR: &str = "GREENKUBE_TEST_POSTGRES_URL";

fn server_url() -> String {
    match std::env::var(URL_VAR) {
        Ok(url) if !url.trim().is_empty() => url,
        _ => panic!(
            "{URL_VAR} is not set, so `greenkube` cannot be tested against PostgreSQL. Run \
             scripts/test.sh (it starts a throwaway PostgreSQL and sets {URL_VAR}), or start one \
             yourself with `eval \"$(scripts/services.sh start)\"` before `cargo test`"
        ),
    }
}

/// The test server's URL naming a database no other test uses (it does not exist yet).
fn fresh_database() -> (String, String) {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let name = format!(
        "greenkube_cli_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    let url = server_url();
    let (base, query) = url
        .split_once('?')
        .map_or((url.as_str(), None), |(b, q)| (b, Some(q)));
    let (server, _) = base.rsplit_once('/').expect("the URL names a database");
    let url = match query {
        Some(q) => format!("{server}/{name}?{q}"),
        None => format!("{server}/{name}"),
    };
    (url, name)
}

/// The password in the URL, if any.
fn password(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let user_info = rest.split_once('@')?.0;
    let password = user_info.split_once(':')?.1;
    (!password.is_empty()).then(|| password.to_string())
}

fn example() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/snapshots/cluster.json")
}

fn greenkube(dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("greenkube").expect("binary built");
    cmd.current_dir(dir).env_remove("GREENKUBE_STORE");
    cmd
}

/// Runs and returns stdout, asserting success and that no output shows the password.
fn run(cmd: &mut Command, secret: Option<&str>) -> String {
    let out = cmd.output().expect("runs");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "{stderr}");
    if let Some(secret) = secret {
        assert!(
            !stdout.contains(secret) && !stderr.contains(secret),
            "password shown"
        );
    }
    stdout
}

fn close(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            let (x, y) = (
                x.as_f64().unwrap_or(f64::NAN),
                y.as_f64().unwrap_or(f64::NAN),
            );
            (x - y).abs() <= 1e-9 * x.abs().max(y.abs()).max(1e-12)
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| close(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| close(v, w)))
        }
        _ => a == b,
    }
}

#[test]
fn postgres_stores_and_reports_what_sqlite_does() {
    let (pg, _) = fresh_database();
    let secret = password(&pg);
    let secret = secret.as_deref();
    let dir = tempfile::tempdir().expect("temporary directory");
    let sqlite = format!("sqlite://{}", dir.path().join("gk.db").display());

    let migrated = run(
        greenkube(dir.path()).args(["migrate", "--store", &pg]),
        secret,
    );
    assert!(
        migrated.contains(
            "applied 5 migrations (0001 footprints, 0002 history, 0003 rollups, 0004 pod labels, 0005 row notes); schema version 5"
        ),
        "{migrated}"
    );
    // Twice into PostgreSQL (the second write replaces the first), once into SQLite.
    for store in [&pg, &pg, &sqlite] {
        run(
            greenkube(dir.path())
                .args(["estimate", "--snapshot"])
                .arg(example())
                .args(["--store", store]),
            secret,
        );
    }
    for (group_by, period) in [
        ("namespace", "day"),
        ("workload", "hour"),
        ("node", "week"),
        ("cluster", "month"),
    ] {
        let report = |store: &str| -> Value {
            let out = run(
                greenkube(dir.path()).args([
                    "report",
                    "--store",
                    store,
                    "--from",
                    "2025-06-01",
                    "--to",
                    "2025-07-01",
                    "--group-by",
                    group_by,
                    "--period",
                    period,
                    "--format",
                    "json",
                ]),
                secret,
            );
            serde_json::from_str(&out).expect("JSON")
        };
        let (from_pg, from_sqlite) = (report(&pg), report(&sqlite));
        assert!(
            from_pg.as_array().is_some_and(|rows| !rows.is_empty()),
            "{from_pg}"
        );
        assert!(
            close(&from_pg, &from_sqlite),
            "by {group_by} per {period}:\npostgres {from_pg}\nsqlite {from_sqlite}"
        );
    }
}

#[test]
fn reporting_from_a_missing_postgres_database_says_how_to_make_one() {
    let (pg, name) = fresh_database();
    let dir = tempfile::tempdir().expect("temporary directory");
    let out = greenkube(dir.path())
        .args(["report", "--store", &pg, "--since", "30d"])
        .assert()
        .failure()
        // Exit status 4: the store is missing or unreachable.
        .code(4)
        .stdout(predicate::str::is_empty())
        .stderr(predicate::str::contains(format!(
            "database `{name}` does not exist"
        )))
        .stderr(predicate::str::contains(
            "greenkube migrate --store postgres://",
        ));
    if let Some(secret) = password(&pg) {
        let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
        assert!(!stderr.contains(&secret), "password shown: {stderr}");
    }
}

/// Estimates 12 hourly windows of the example into `store`; returns the footprints printed as
/// JSON lines (a history file for `recommend --history`).
fn fill(dir: &Path, store: &str, secret: Option<&str>) -> String {
    let base: Value =
        serde_json::from_str(&std::fs::read_to_string(example()).expect("the example snapshot"))
            .expect("JSON");
    let start = chrono::DateTime::parse_from_rfc3339("2025-06-02T00:00:00Z").expect("a time");
    let mut lines = String::new();
    for h in 0..12 {
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
                store,
            ])
            .write_stdin(s.to_string())
            .output()
            .expect("runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{stderr}");
        assert!(!stderr.contains("not archived"), "{stderr}");
        if let Some(secret) = secret {
            assert!(!stderr.contains(secret), "password shown");
        }
        lines.push_str(&String::from_utf8(out.stdout).expect("UTF-8"));
    }
    lines
}

#[test]
fn postgres_archives_snapshots_for_recommend_and_restate() {
    let (pg, _) = fresh_database();
    let secret = password(&pg);
    let secret = secret.as_deref();
    let dir = tempfile::tempdir().expect("temporary directory");
    let history = dir.path().join("history.jsonl");
    std::fs::write(&history, fill(dir.path(), &pg, secret)).expect("writes the history");
    let json =
        |cmd: &mut Command| -> Value { serde_json::from_str(&run(cmd, secret)).expect("JSON") };

    let from_file = json(
        greenkube(dir.path())
            .args(["recommend", "--history"])
            .arg(&history)
            .args(["-f", "json"]),
    );
    let from_store = json(greenkube(dir.path()).args([
        "recommend",
        "--store",
        &pg,
        "--since",
        "3000d",
        "-f",
        "json",
    ]));
    assert!(
        from_file.as_array().is_some_and(|r| !r.is_empty()),
        "{from_file}"
    );
    assert_eq!(
        from_store, from_file,
        "recommend --store replays the archive"
    );

    let report = || {
        json(greenkube(dir.path()).args([
            "report", "--store", &pg, "--since", "3000d", "-g", "cluster", "-f", "json",
        ]))
    };
    let before = report();
    let dry = json(greenkube(dir.path()).args([
        "restate",
        "--store",
        &pg,
        "--since",
        "3000d",
        "-m",
        "classic",
        "--dry-run",
        "-f",
        "json",
    ]));
    assert_eq!(dry["windows"], 12);
    assert_eq!(dry["stored"], false);
    // PostgreSQL may sum in another order from one query to the next (the last digit).
    let again = report();
    assert!(
        close(&again, &before),
        "a dry run stores nothing: {again} vs {before}"
    );
    let done = json(greenkube(dir.path()).args([
        "restate", "--store", &pg, "--since", "3000d", "-m", "classic", "-f", "json",
    ]));
    assert_eq!(done["windows"], 12);
    let after = report();
    assert!(
        !close(&after, &before),
        "restating changed the stored figures"
    );
    // The restate document's rows and the report's rows are compared by their energy.
    let energy = |v: &Value| v[0]["energy_joules"].clone();
    assert!(
        close(&energy(&after), &energy(&done["after"])),
        "the report reads what restate stored"
    );
    assert!(
        close(&energy(&done["after"]), &energy(&dry["after"])),
        "the dry run computed the same"
    );
    assert!(close(&energy(&done["before"]), &energy(&before)));
    // Restating back to full gives the original figures again.
    let back = run(
        greenkube(dir.path()).args(["restate", "--store", &pg, "--since", "3000d", "-m", "full"]),
        secret,
    );
    assert!(
        back.contains("12 archived windows restated under full"),
        "{back}"
    );
    assert!(close(&report(), &before));
}

/// Many clusters, one store: three `collect` processes, one per cluster, started at once
/// against one PostgreSQL database that does not exist yet (so they race to create and migrate
/// it), each backfilling the same hour from the test Prometheus. Nothing collides: every
/// process succeeds, each cluster has its own twelve windows of the same rows, the report by
/// cluster has the three with equal totals, `--cluster` reads one of them, and running the
/// three again doubles nothing.
#[test]
fn three_collectors_share_one_postgres_store() {
    let prometheus = std::env::var("GREENKUBE_TEST_PROMETHEUS_URL").expect(
        "GREENKUBE_TEST_PROMETHEUS_URL is not set: run scripts/test.sh, which starts Prometheus",
    );
    let (pg, _) = fresh_database();
    let secret = password(&pg);
    let secret = secret.as_deref();
    let dir = tempfile::tempdir().expect("temporary directory");
    let clusters = ["east", "west", "north"];
    // All three spawned first, then waited for: they run at once.
    let run_concurrently = || {
        let children: Vec<_> = clusters
            .iter()
            .map(|cluster| {
                std::process::Command::new(assert_cmd::cargo::cargo_bin("greenkube"))
                    .current_dir(dir.path())
                    .env_remove("GREENKUBE_STORE")
                    .args(["collect", "--once", "--since", "1h"])
                    .args(["--now", "2024-01-01T01:00:00Z", "--cluster", cluster])
                    .args(["--store", &pg, "--prometheus-url", &prometheus])
                    .args(["--no-kubernetes", "--source-timeout", "10"])
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .expect("starts")
            })
            .collect();
        for (cluster, child) in clusters.iter().zip(children) {
            let out = child.wait_with_output().expect("runs");
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(out.status.success(), "{cluster}: {stderr}");
            if let Some(secret) = secret {
                assert!(!stderr.contains(secret), "password shown");
            }
        }
    };
    run_concurrently();

    let report = |extra: &[&str]| -> Value {
        let out = run(
            greenkube(dir.path())
                .args(["report", "--store", &pg])
                .args([
                    "--from",
                    "2024-01-01",
                    "--to",
                    "2024-01-02",
                    "--format",
                    "json",
                ])
                .args(extra),
            secret,
        );
        serde_json::from_str(&out).expect("JSON")
    };
    let by_cluster = report(&["--group-by", "cluster"]);
    let rows = by_cluster.as_array().expect("rows");
    let names: Vec<&str> = rows
        .iter()
        .filter_map(|r| r.get("cluster").and_then(Value::as_str))
        .collect();
    assert_eq!(names, ["east", "north", "west"], "{by_cluster}");
    let field = |row: &Value, key: &str| row.get(key).cloned().unwrap_or(Value::Null);
    for row in rows {
        assert!(
            close(&field(row, "co2e_grams"), &field(&rows[0], "co2e_grams")),
            "every cluster read the same Prometheus: {by_cluster}"
        );
        assert!(
            row.get("rows")
                .and_then(Value::as_u64)
                .is_some_and(|n| n > 0),
            "{row}"
        );
    }
    let west = report(&["--group-by", "cluster", "--cluster", "west"]);
    assert_eq!(west.as_array().map(Vec::len), Some(1), "{west}");
    assert!(close(&west[0], &rows[2]), "{west} vs {}", rows[2]);

    // Again: the windows are stored, nothing is doubled.
    run_concurrently();
    let again = report(&["--group-by", "cluster"]);
    assert!(close(&again, &by_cluster), "{again} vs {by_cluster}");
}
