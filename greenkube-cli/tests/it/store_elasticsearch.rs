//! The store commands end to end against an Elasticsearch-API server: `migrate`, the same
//! reports as SQLite, idempotent writes, and a clear error for a missing store.
//!
//! The server comes from `GREENKUBE_TEST_ES_URL`, which `scripts/test.sh` sets (it starts the
//! `osmem-server` emulator with `scripts/es-service.sh`; no real Elasticsearch can be installed
//! on the development machine); without it these tests fail, saying so. Each test uses an index
//! prefix of its own (`gk-cli-PID-N`), which `greenkube` creates; the emulator keeps them in
//! memory and is stopped after the run.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;

const URL_VAR: &str = "GREENKUBE_TEST_ES_URL";

/// The test server's URL with an index prefix no other test uses.
fn fresh_store() -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let server = match std::env::var(URL_VAR) {
        Ok(url) if !url.trim().is_empty() => url.trim().trim_end_matches('/').to_string(),
        _ => panic!(
            "{URL_VAR} is not set, so `greenkube` cannot be tested against Elasticsearch. Run \
             scripts/test.sh (it starts the osmem-server emulator and sets {URL_VAR}), or start \
             it yourself with `eval \"$(scripts/es-service.sh start)\"` before `cargo test`"
        ),
    };
    format!(
        "{server}?index_prefix=gk-cli-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

fn example() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/snapshots/cluster.json")
}

fn greenkube(dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("greenkube").expect("binary built");
    cmd.current_dir(dir).env_remove("GREENKUBE_STORE");
    cmd
}

/// Runs and returns stdout, asserting success.
fn run(cmd: &mut Command) -> String {
    let out = cmd.output().expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).to_string()
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
fn elasticsearch_stores_and_reports_what_sqlite_does() {
    let es = fresh_store();
    let dir = tempfile::tempdir().expect("temporary directory");
    let sqlite = format!("sqlite://{}", dir.path().join("gk.db").display());

    let migrated = run(greenkube(dir.path()).args(["migrate", "--store", &es]));
    assert!(
        migrated.contains(
            "applied 2 migrations (0001 footprints (index templates and mappings), 0002 roll-ups and retention (the rollups index, roll-up state in the ledger)); schema version 2"
        ),
        "{migrated}"
    );
    let again = run(greenkube(dir.path()).args(["migrate", "--store", &es]));
    assert!(again.contains("schema up to date (version 2)"), "{again}");
    // Twice into Elasticsearch (the second write replaces the first), once into SQLite.
    for store in [&es, &es, &sqlite] {
        run(greenkube(dir.path())
            .args(["estimate", "--snapshot"])
            .arg(example())
            .args(["--store", store]));
    }
    for (group_by, period) in [
        ("namespace", "day"),
        ("workload", "hour"),
        ("node", "week"),
        ("cluster", "month"),
    ] {
        let report = |store: &str| -> Value {
            let out = run(greenkube(dir.path()).args([
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
            ]));
            serde_json::from_str(&out).expect("JSON")
        };
        let (from_es, from_sqlite) = (report(&es), report(&sqlite));
        assert!(
            from_es.as_array().is_some_and(|rows| !rows.is_empty()),
            "{from_es}"
        );
        assert!(
            close(&from_es, &from_sqlite),
            "by {group_by} per {period}:\nelasticsearch {from_es}\nsqlite {from_sqlite}"
        );
    }
}

#[test]
fn reporting_from_a_missing_elasticsearch_store_says_how_to_make_one() {
    let es = fresh_store();
    let dir = tempfile::tempdir().expect("temporary directory");
    greenkube(dir.path())
        .args(["report", "--store", &es, "--since", "30d"])
        .assert()
        .failure()
        .code(4)
        .stdout(predicate::str::is_empty())
        .stderr(predicate::str::contains("no greenkube indices"))
        .stderr(predicate::str::contains(format!(
            "greenkube migrate --store {es}"
        )));
}
