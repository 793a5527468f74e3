//! The store commands end to end against a temporary SQLite file: `migrate`, `estimate --store`
//! and `report`, their agreement with `estimate --group-by`, idempotence, and clear errors.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use chrono::{DateTime, Duration, DurationRound, Utc};
use predicates::prelude::*;
use serde_json::Value;
use tempfile::TempDir;

fn example() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/snapshots/cluster.json")
}

/// The binary, run in `dir`, with no store configured in the environment.
fn greenkube(dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("greenkube").expect("binary built");
    cmd.current_dir(dir).env_remove("GREENKUBE_STORE");
    cmd
}

fn url(dir: &TempDir) -> String {
    format!("sqlite://{}", dir.path().join("gk.db").display())
}

fn run_json(cmd: &mut Command) -> Value {
    let out = cmd.output().expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("valid JSON")
}

fn estimate_into(dir: &TempDir, snapshot: &Path) -> String {
    let out = greenkube(dir.path())
        .args(["estimate", "--snapshot"])
        .arg(snapshot)
        .args(["--store", &url(dir), "--format", "json"])
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stderr).expect("utf-8")
}

fn report(dir: &TempDir, args: &[&str]) -> Value {
    run_json(
        greenkube(dir.path())
            .args(["report", "--store", &url(dir), "--format", "json"])
            .args(args),
    )
}

const JUNE_2: [&str; 4] = ["--from", "2025-06-02", "--to", "2025-06-03"];

fn close(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(a), Some(b)) => (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1e-12),
        _ => false,
    }
}

const FIGURES: [&str; 5] = [
    "energy_joules",
    "co2e_grams",
    "embodied_co2e_grams",
    "total_co2e_grams",
    "cost",
];

#[test]
fn migrate_creates_the_schema_once() {
    let dir = tempfile::tempdir().expect("temporary directory");
    greenkube(dir.path())
        .args(["migrate", "--store", &url(&dir)])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "applied 5 migrations (0001 footprints, 0002 history, 0003 rollups, 0004 pod labels, 0005 row notes); schema version 5",
        ));
    greenkube(dir.path())
        .args(["migrate", "--store", &url(&dir)])
        .assert()
        .success()
        .stdout(predicate::str::contains("schema up to date (version 5)"));
}

#[test]
fn the_default_store_is_greenkube_db_in_the_working_directory() {
    let dir = tempfile::tempdir().expect("temporary directory");
    greenkube(dir.path())
        .arg("migrate")
        .assert()
        .success()
        .stdout(predicate::str::starts_with(
            "sqlite://greenkube.db: applied",
        ));
    assert!(dir.path().join("greenkube.db").is_file());
}

#[test]
fn greenkube_store_overrides_the_default() {
    let dir = tempfile::tempdir().expect("temporary directory");
    greenkube(dir.path())
        .arg("migrate")
        .env("GREENKUBE_STORE", url(&dir))
        .assert()
        .success();
    assert!(dir.path().join("gk.db").is_file());
    assert!(!dir.path().join("greenkube.db").exists());
    // `estimate --store` without a URL uses it too.
    let stderr = String::from_utf8(
        greenkube(dir.path())
            .args(["estimate", "--snapshot"])
            .arg(example())
            .args(["--store", "--format", "json"])
            .env("GREENKUBE_STORE", url(&dir))
            .output()
            .expect("runs")
            .stderr,
    )
    .expect("utf-8");
    assert!(
        stderr.contains("gk.db: 30 pod rows, 5 node rows"),
        "{stderr}"
    );
    assert!(!dir.path().join("greenkube.db").exists());
}

#[test]
fn estimate_without_store_writes_nothing() {
    let dir = tempfile::tempdir().expect("temporary directory");
    greenkube(dir.path())
        .args(["estimate", "--snapshot"])
        .arg(example())
        .env("GREENKUBE_STORE", url(&dir))
        .assert()
        .success()
        .stderr(predicate::str::is_empty());
    assert!(!dir.path().join("gk.db").exists());
    assert!(!dir.path().join("greenkube.db").exists());
}

#[test]
fn estimating_the_same_window_twice_leaves_totals_unchanged() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let first = estimate_into(&dir, &example());
    assert!(
        first.starts_with(
            "stored window 2025-06-02T10:00:00Z of cluster prod-multicloud in sqlite://"
        ),
        "{first}"
    );
    assert!(first.contains("30 pod rows, 5 node rows"), "{first}");
    assert!(!first.contains("replacing"), "{first}");
    let once = report(&dir, &[&JUNE_2[..], &["--group-by", "cluster"]].concat());
    let second = estimate_into(&dir, &example());
    assert!(
        second.contains("replacing the 30 pod rows stored before"),
        "{second}"
    );
    let twice = report(&dir, &[&JUNE_2[..], &["--group-by", "cluster"]].concat());
    assert_eq!(
        once, twice,
        "writing the same window again changed the report"
    );
    let rows = twice.as_array().expect("array");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["cluster"], "prod-multicloud");
    assert_eq!(rows[0]["rows"], 30);
    // The cluster row is the footprint's own totals (node overhead included).
    let fp = run_json(
        greenkube(dir.path())
            .args(["estimate", "--snapshot"])
            .arg(example())
            .args(["--format", "json"]),
    );
    for figure in FIGURES {
        assert!(
            close(&rows[0][figure], &fp["totals"][figure]),
            "{figure}: report {} vs estimate {}",
            rows[0][figure],
            fp["totals"][figure]
        );
    }
}

#[test]
fn report_by_namespace_equals_estimate_group_by_namespace() {
    let dir = tempfile::tempdir().expect("temporary directory");
    estimate_into(&dir, &example());
    let stored = report(&dir, &[&JUNE_2[..], &["--group-by", "namespace"]].concat());
    let direct = run_json(
        greenkube(dir.path())
            .args(["estimate", "--snapshot"])
            .arg(example())
            .args(["--group-by", "namespace", "--format", "json"]),
    );
    let stored = stored.as_array().expect("array");
    let direct = direct["rows"].as_array().expect("rows");
    assert_eq!(stored.len(), direct.len());
    assert!(stored.len() >= 4);
    for (s, d) in stored.iter().zip(direct) {
        assert_eq!(s["namespace"], d["namespace"]);
        assert_eq!(s["rows"], d["rows"]);
        assert_eq!(s["estimated_rows"], d["estimated_rows"]);
        for figure in FIGURES {
            assert!(
                close(&s[figure], &d[figure]),
                "{} {figure}: {} vs {}",
                s["namespace"],
                s[figure],
                d[figure]
            );
        }
        for (bound, i) in [("low", 0), ("high", 1)] {
            for figure in [
                "energy_joules",
                "co2e_grams",
                "embodied_co2e_grams",
                "total_co2e_grams",
            ] {
                assert!(
                    close(&s["uncertainty"][figure][i], &d["uncertainty"][figure][i]),
                    "{} {figure} {bound}",
                    s["namespace"]
                );
            }
        }
    }
}

/// The example snapshot, moved to a window that ended `ago` before now (whole minutes).
fn recent_snapshot(dir: &TempDir, ago: Duration) -> PathBuf {
    let text = std::fs::read_to_string(example()).expect("example");
    let mut snapshot: Value = serde_json::from_str(&text).expect("json");
    let now = DateTime::<Utc>::from(std::time::SystemTime::now());
    let end: DateTime<Utc> = (now - ago)
        .duration_trunc(Duration::minutes(1))
        .expect("truncates");
    let start = end - Duration::minutes(5);
    snapshot["window_start"] = Value::from(start.to_rfc3339());
    snapshot["window_end"] = Value::from(end.to_rfc3339());
    let path = dir.path().join("recent.json");
    std::fs::write(&path, snapshot.to_string()).expect("write");
    path
}

#[test]
fn since_is_relative_to_now() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let recent = recent_snapshot(&dir, Duration::hours(2));
    estimate_into(&dir, &recent);
    estimate_into(&dir, &example()); // June 2025: long before --since 1d
    let day = report(&dir, &["--since", "1d", "--group-by", "cluster"]);
    assert_eq!(day.as_array().map(Vec::len), Some(1), "{day}");
    assert_eq!(day[0]["rows"], 30);
    let hour = report(&dir, &["--since", "1h"]);
    assert_eq!(hour, Value::Array(Vec::new()));
}

#[test]
fn periods_label_rows_in_every_format() {
    let dir = tempfile::tempdir().expect("temporary directory");
    estimate_into(&dir, &example());
    let json = report(
        &dir,
        &[&JUNE_2[..], &["--group-by", "cluster", "--period", "week"]].concat(),
    );
    assert_eq!(json[0]["period"], "2025-W23");
    let without = report(&dir, &[&JUNE_2[..], &["--group-by", "cluster"]].concat());
    assert!(without[0].get("period").is_none(), "{without}");
    assert!(without[0]["uncertainty"]["total_co2e_grams"].is_array());
    greenkube(dir.path())
        .args([
            "report",
            "--store",
            &url(&dir),
            "--period",
            "hour",
            "--format",
            "csv",
        ])
        .args(JUNE_2)
        .assert()
        .success()
        .stdout(predicate::str::starts_with(
            "period,namespace,rows,energy_joules,energy_joules_low,",
        ))
        .stdout(predicate::str::contains("\n2025-06-02T10:00,data,4,"));
    greenkube(dir.path())
        .args([
            "report",
            "--store",
            &url(&dir),
            "--period",
            "day",
            "-g",
            "workload",
        ])
        .args(JUNE_2)
        .assert()
        .success()
        .stdout(predicate::str::contains("by workload per day"))
        .stdout(predicate::str::contains("PERIOD"))
        .stdout(predicate::str::contains("2025-06-02"))
        .stdout(predicate::str::contains(
            "total (the cluster's, node overhead included): energy",
        ))
        .stdout(predicate::str::contains("node overhead (no pod)"));
}

#[test]
fn an_empty_range_reports_nothing() {
    let dir = tempfile::tempdir().expect("temporary directory");
    estimate_into(&dir, &example());
    greenkube(dir.path())
        .args([
            "report",
            "--store",
            &url(&dir),
            "--from",
            "2025-06-03",
            "--to",
            "2025-06-04",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("no footprints stored"));
}

#[test]
fn bad_store_urls_are_clear_errors() {
    let dir = tempfile::tempdir().expect("temporary directory");
    // Exit 1 for a URL that is wrong, 4 for a store that cannot be reached.
    for (store, message, code) in [
        ("mysql://root:hunter2@db/gk", "is not a store URL", 1),
        ("gk.db", "write `sqlite://gk.db`", 1),
        #[cfg(feature = "postgres")]
        (
            "postgres://gk:hunter2@127.0.0.1:1/gk",
            "cannot connect (`postgres://gk:***@127.0.0.1:1/gk`)",
            4,
        ),
        #[cfg(not(feature = "postgres"))]
        (
            "postgres://gk:hunter2@127.0.0.1:1/gk",
            "rebuild with `--features postgres`",
            1,
        ),
        #[cfg(feature = "elasticsearch")]
        (
            "http://elastic:hunter2@127.0.0.1:1",
            "cannot connect (`http://elastic:***@127.0.0.1:1`)",
            4,
        ),
        #[cfg(not(feature = "elasticsearch"))]
        (
            "https://elastic:hunter2@es.example:9200",
            "rebuild with `--features elasticsearch`",
            1,
        ),
    ] {
        greenkube(dir.path())
            .args(["report", "--store", store, "--since", "30d"])
            .assert()
            .failure()
            .code(code)
            .stdout(predicate::str::is_empty())
            .stderr(predicate::str::contains(message))
            .stderr(predicate::str::contains("hunter2").not());
        greenkube(dir.path())
            .args(["estimate", "--snapshot"])
            .arg(example())
            .args(["--store", store])
            .assert()
            .failure()
            .code(code)
            .stdout(predicate::str::is_empty())
            .stderr(predicate::str::contains(message));
    }
}

#[test]
fn reporting_from_a_missing_store_says_how_to_make_one() {
    let dir = tempfile::tempdir().expect("temporary directory");
    greenkube(dir.path())
        .args(["report", "--store", &url(&dir), "--since", "30d"])
        .assert()
        .failure()
        .code(4)
        .stderr(predicate::str::contains("no database at"))
        .stderr(predicate::str::contains("greenkube migrate --store"));
    assert!(
        !dir.path().join("gk.db").exists(),
        "report created the store"
    );
}

#[test]
fn report_ranges_are_checked() {
    let dir = tempfile::tempdir().expect("temporary directory");
    for args in [
        vec!["report"],
        vec!["report", "--from", "2025-06-01"],
        vec![
            "report",
            "--since",
            "30d",
            "--from",
            "2025-06-01",
            "--to",
            "2025-06-02",
        ],
        vec!["report", "--since", "30x"],
        vec!["report", "--from", "yesterday", "--to", "2025-06-02"],
    ] {
        greenkube(dir.path()).args(&args).assert().failure().code(2);
    }
    greenkube(dir.path())
        .args(["report", "--from", "2025-06-02", "--to", "2025-06-01"])
        .assert()
        .failure()
        .code(2)
        .stderr(predicate::str::contains("before it starts"));
}

/// The example snapshot moved to `start` (five-minute window).
fn snapshot_at(dir: &TempDir, start: &str, name: &str) -> PathBuf {
    let text = std::fs::read_to_string(example()).expect("example");
    let mut snapshot: Value = serde_json::from_str(&text).expect("json");
    let start: DateTime<Utc> = start.parse().expect("time");
    snapshot["window_start"] = Value::from(start.to_rfc3339());
    snapshot["window_end"] = Value::from((start + Duration::minutes(5)).to_rfc3339());
    let path = dir.path().join(name);
    std::fs::write(&path, snapshot.to_string()).expect("write");
    path
}

#[test]
fn maintain_rolls_up_and_seals_without_changing_reports() {
    let dir = tempfile::tempdir().expect("temporary directory");
    for (i, start) in [
        "2025-06-01T23:55:00Z",
        "2025-06-02T00:00:00Z",
        "2025-06-02T00:05:00Z",
        "2025-06-02T01:10:00Z",
        "2025-06-02T09:00:00Z",
    ]
    .iter()
    .enumerate()
    {
        estimate_into(&dir, &snapshot_at(&dir, start, &format!("s{i}.json")));
    }
    let whole = [
        "--from",
        "2025-06-01",
        "--to",
        "2025-06-03",
        "--group-by",
        "cluster",
    ];
    let by_hour = [
        "--from",
        "2025-06-01",
        "--to",
        "2025-06-03",
        "--group-by",
        "namespace",
        "--period",
        "hour",
    ];
    let before = (report(&dir, &whole), report(&dir, &by_hour));

    let out = run_json(greenkube(dir.path()).args([
        "maintain",
        "--store",
        &url(&dir),
        "--keep-raw",
        "2h",
        "--keep-hourly",
        "30d",
        "--now",
        "2025-06-02T10:30:00Z",
        "--format",
        "json",
    ]));
    assert_eq!(out["schema"], "greenkube.maintenance/v1");
    assert_eq!(out["hours_rolled"], 4, "{out}");
    assert_eq!(out["days_rolled"], 1, "{out}");
    assert_eq!(
        out["raw_rows_deleted"].as_u64().map(|n| n > 0),
        Some(true),
        "{out}"
    );
    assert_eq!(out["raw_kept_from"], "2025-06-02T08:00:00Z");

    let after = (report(&dir, &whole), report(&dir, &by_hour));
    for (b, a) in [(&before.0, &after.0), (&before.1, &after.1)] {
        let (b, a) = (b.as_array().expect("rows"), a.as_array().expect("rows"));
        assert_eq!(a.len(), b.len());
        for (x, y) in a.iter().zip(b) {
            assert_eq!(x["rows"], y["rows"]);
            for f in FIGURES {
                assert!(close(&x[f], &y[f]), "{f}: {x} vs {y}");
            }
        }
    }

    // A range inside a sealed hour is widened, and says so.
    let out = greenkube(dir.path())
        .args(["report", "--store", &url(&dir), "--format", "json"])
        .args([
            "--from",
            "2025-06-02T00:03:00Z",
            "--to",
            "2025-06-02T00:04:00Z",
        ])
        .output()
        .expect("runs");
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("widened to [2025-06-02T00:00:00Z"),
        "{stderr}"
    );
    let rows: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(
        rows.as_array().map(|r| r
            .iter()
            .map(|x| x["rows"].as_u64().unwrap_or(0))
            .sum::<u64>()),
        Some(60)
    );

    // Sealed history cannot be written again.
    let sealed = snapshot_at(&dir, "2025-06-02T00:10:00Z", "late.json");
    greenkube(dir.path())
        .args(["estimate", "--snapshot"])
        .arg(&sealed)
        .args(["--store", &url(&dir)])
        .assert()
        .failure()
        .stderr(predicate::str::contains("sealed history"));
}

#[test]
fn a_configuration_file_gives_defaults_that_flags_and_environment_override() {
    let dir = tempfile::tempdir().expect("temporary directory");
    estimate_into(&dir, &example());
    let config = dir.path().join("gk.toml");
    std::fs::write(
        &config,
        format!("store = \"{}\"\n[maintain]\nkeep-raw = \"2d\"\n", url(&dir)),
    )
    .expect("write");
    let out = greenkube(dir.path())
        .args(["maintain", "--config"])
        .arg(&config)
        .args(["--now", "2025-06-03", "--format", "json"])
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(doc["store"], url(&dir), "the store comes from the file");
    assert_eq!(doc["retention"], "raw 2d, hourly 90d, daily forever");
    // GREENKUBE_CONFIG names the file too; a flag wins over it.
    let out = greenkube(dir.path())
        .env("GREENKUBE_CONFIG", &config)
        .args([
            "maintain",
            "--keep-raw",
            "3d",
            "--now",
            "2025-06-03",
            "--format",
            "json",
        ])
        .output()
        .expect("runs");
    let doc: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(doc["retention"], "raw 3d, hourly 90d, daily forever");
    // A typo is an error naming the key.
    std::fs::write(&config, "[maintain]\nkeep-rwa = \"2d\"\n").expect("write");
    greenkube(dir.path())
        .args(["maintain", "--config"])
        .arg(&config)
        .assert()
        .failure()
        .stderr(predicate::str::contains("has no flag --keep-rwa"));
}

/// Every command that opens a store lets go of it before it exits, on success and on a refusal:
/// SQLite's write-ahead log is folded into the file, so the database file alone is the whole
/// store: a `-wal` left beside it (sqlx can keep a connection past the pool's close) is empty.
#[test]
fn every_store_command_leaves_only_the_database_file() {
    let dir = TempDir::new().expect("temp dir");
    let store = url(&dir);
    let leftovers = |after: &str| {
        let wal = dir.path().join("gk.db-wal");
        let size = std::fs::metadata(&wal).map_or(0, |m| m.len());
        assert_eq!(
            size, 0,
            "`{after}` left a log of {size} bytes beside the store"
        );
    };
    let mut commands: Vec<Vec<&str>> = vec![
        vec!["migrate", "--store", &store],
        vec!["report", "--store", &store, "--since", "3650d"],
        vec![
            "recommend",
            "--store",
            &store,
            "--since",
            "3650d",
            "--save",
            "--format",
            "json",
        ],
        vec!["recommendations", "--store", &store, "list"],
        vec![
            "restate",
            "--store",
            &store,
            "--since",
            "3650d",
            "--methodology",
            "classic",
            "--dry-run",
        ],
        vec!["maintain", "--store", &store],
        // A refusal after the store is open: an unknown recommendation.
        vec!["recommendations", "--store", &store, "apply", "no-such-id"],
    ];
    estimate_into(&dir, &example());
    leftovers("estimate --store");
    let last = commands.len() - 1;
    for (i, args) in commands.drain(..).enumerate() {
        let out = greenkube(dir.path()).args(&args).output().expect("runs");
        // All succeed but the last, which is refused with the store open.
        assert_eq!(
            out.status.success(),
            i != last,
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        leftovers(&args.join(" "));
    }
}
