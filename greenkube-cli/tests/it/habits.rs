//! The command line's habits: exit codes, where commands find the store and the range (flags,
//! environment, configuration file), filters, durations, closed pipes, formats, completions and
//! the man page.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use chrono::{DateTime, Duration, DurationRound, Utc};
use predicates::prelude::*;
use serde_json::Value;
use tempfile::TempDir;

/// The binary, run in `dir`, with no store or configuration from the environment.
fn greenkube(dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("greenkube").expect("binary built");
    cmd.current_dir(dir)
        .env_remove("GREENKUBE_STORE")
        .env_remove("GREENKUBE_CONFIG")
        .env_remove("GREENKUBE_CURRENCY");
    cmd
}

fn example() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/snapshots/cluster.json")
}

fn url(dir: &TempDir) -> String {
    format!("sqlite://{}", dir.path().join("gk.db").display())
}

fn ok(out: &std::process::Output) -> String {
    assert!(
        out.status.success(),
        "{:?}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).expect("utf-8")
}

fn json(out: &std::process::Output) -> Value {
    serde_json::from_str(&ok(out)).expect("JSON")
}

/// `hours` hourly windows of the example cluster ending at the last whole hour, estimated into
/// the store of `dir` (archived too) with their footprints written to `history.jsonl`.
fn fill_recent(dir: &TempDir, hours: i64) -> PathBuf {
    let base: Value =
        serde_json::from_str(&std::fs::read_to_string(example()).expect("example")).expect("JSON");
    let now = DateTime::<Utc>::from(std::time::SystemTime::now());
    let end = now.duration_trunc(Duration::hours(1)).expect("truncates");
    let mut lines = String::new();
    for h in 0..hours {
        let start = end - Duration::hours(hours - h);
        let mut snapshot = base.clone();
        snapshot["window_start"] = Value::from(start.to_rfc3339());
        snapshot["window_end"] = Value::from((start + Duration::hours(1)).to_rfc3339());
        let out = greenkube(dir.path())
            .args(["estimate", "--snapshot", "-", "--format", "json", "--store"])
            .arg(url(dir))
            .write_stdin(snapshot.to_string())
            .output()
            .expect("runs");
        lines.push_str(&ok(&out));
    }
    let history = dir.path().join("history.jsonl");
    std::fs::write(&history, lines).expect("write");
    history
}

// --- exit codes -------------------------------------------------------------------------

#[test]
fn exit_codes_have_one_meaning_each() {
    let dir = TempDir::new().expect("temp dir");
    // 0: success.
    greenkube(dir.path()).arg("--version").assert().code(0);
    // 2: usage, from clap (unknown flag, invalid value) and from the command (no range).
    greenkube(dir.path())
        .args(["report", "--since", "30d", "--bogus"])
        .assert()
        .code(2);
    greenkube(dir.path())
        .args(["report", "--since", "30x"])
        .assert()
        .code(2);
    greenkube(dir.path())
        .arg("report")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--since"));
    // 1: an error (a snapshot that is not there).
    greenkube(dir.path())
        .args(["estimate", "--snapshot", "missing.json"])
        .assert()
        .code(1);
    // 4: the store is unavailable (missing).
    greenkube(dir.path())
        .args(["report", "--since", "30d", "--store"])
        .arg(url(&dir))
        .assert()
        .code(4)
        .stderr(predicate::str::contains("greenkube migrate"));
    // 3: a CI gate tripped, and not otherwise.
    let history = fill_recent(&dir, 3);
    greenkube(dir.path())
        .args(["recommend", "--fail-on-co2-savings", "0", "--history"])
        .arg(&history)
        .assert()
        .code(3)
        .stderr(predicate::str::contains("gate:"));
    greenkube(dir.path())
        .args(["recommend", "--fail-on-co2-savings", "1e15", "--history"])
        .arg(&history)
        .assert()
        .code(0);
}

#[test]
fn help_lists_the_exit_codes() {
    let dir = TempDir::new().expect("temp dir");
    greenkube(dir.path())
        .arg("--help")
        .assert()
        .success()
        .stdout(predicate::str::contains("Exit status:"))
        .stdout(predicate::str::contains("3  a CI gate tripped"))
        .stdout(predicate::str::contains("4  the store is unavailable"));
    let readme =
        std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../README.md"))
            .expect("README");
    for row in ["| 0 |", "| 1 |", "| 2 |", "| 3 |", "| 4 |"] {
        assert!(readme.contains(row), "README exit-code table lacks {row}");
    }
}

// --- where the store and the range come from ------------------------------------------------

#[test]
fn recommend_since_reads_greenkube_store_and_the_configuration_file() {
    let dir = TempDir::new().expect("temp dir");
    fill_recent(&dir, 6);
    let by_flag = json(
        &greenkube(dir.path())
            .args(["recommend", "--since", "30d", "--format", "json", "--store"])
            .arg(url(&dir))
            .output()
            .expect("runs"),
    );
    assert!(
        by_flag.as_array().is_some_and(|a| !a.is_empty()),
        "{by_flag}"
    );
    let by_env = json(
        &greenkube(dir.path())
            .env("GREENKUBE_STORE", url(&dir))
            .args(["recommend", "--since", "30d", "--format", "json"])
            .output()
            .expect("runs"),
    );
    assert_eq!(by_env, by_flag, "GREENKUBE_STORE is honoured");
    let config = dir.path().join("gk.toml");
    std::fs::write(
        &config,
        format!("store = \"{}\"\n[recommend]\nsince = \"30d\"\n", url(&dir)),
    )
    .expect("write");
    let by_file = json(
        &greenkube(dir.path())
            .args(["recommend", "--format", "json", "--config"])
            .arg(&config)
            .output()
            .expect("runs"),
    );
    assert_eq!(by_file, by_flag, "the configuration file's store and since");
    // Without a history or a range: a usage error naming both.
    greenkube(dir.path())
        .env("GREENKUBE_STORE", url(&dir))
        .arg("recommend")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--history"))
        .stderr(predicate::str::contains("--since"));
}

#[test]
fn report_uses_since_from_the_configuration_files_report_table() {
    let dir = TempDir::new().expect("temp dir");
    fill_recent(&dir, 3);
    let config = dir.path().join("gk.toml");
    std::fs::write(
        &config,
        format!("store = \"{}\"\n[report]\nsince = \"30d\"\n", url(&dir)),
    )
    .expect("write");
    let from_file = json(
        &greenkube(dir.path())
            .args(["report", "--format", "json", "--config"])
            .arg(&config)
            .output()
            .expect("runs"),
    );
    let from_flag = json(
        &greenkube(dir.path())
            .args(["report", "--format", "json", "--since", "30d", "--store"])
            .arg(url(&dir))
            .output()
            .expect("runs"),
    );
    assert_eq!(from_file, from_flag);
    assert!(from_file.as_array().is_some_and(|rows| !rows.is_empty()));
    // `--from`/`--to` on the command line win over the file's `since`.
    let old = json(
        &greenkube(dir.path())
            .args(["report", "--format", "json", "--from", "2020-01-01", "--to"])
            .arg("2020-01-02")
            .arg("--config")
            .arg(&config)
            .output()
            .expect("runs"),
    );
    assert_eq!(old, Value::Array(Vec::new()));
}

#[test]
fn score_and_what_if_read_a_store_range_as_recommend_does() {
    let dir = TempDir::new().expect("temp dir");
    let history = fill_recent(&dir, 6);
    let from_file = json(
        &greenkube(dir.path())
            .args(["score", "--format", "json", "--history"])
            .arg(&history)
            .output()
            .expect("runs"),
    );
    let from_store = json(
        &greenkube(dir.path())
            .env("GREENKUBE_STORE", url(&dir))
            .args(["score", "--format", "json", "--since", "7d"])
            .output()
            .expect("runs"),
    );
    assert_eq!(from_store, from_file);
    let changes = dir.path().join("changes.json");
    std::fs::write(&changes, r#"[{"change": "remove", "namespace": "legacy"}]"#).expect("write");
    let from_file = json(
        &greenkube(dir.path())
            .args(["what-if", "--format", "json", "--apply"])
            .arg(&changes)
            .arg("--history")
            .arg(&history)
            .output()
            .expect("runs"),
    );
    let now = DateTime::<Utc>::from(std::time::SystemTime::now());
    let from_store = json(
        &greenkube(dir.path())
            .args(["what-if", "--format", "json", "--apply"])
            .arg(&changes)
            .args(["--store", &url(&dir), "--from"])
            .arg((now - Duration::days(2)).format("%Y-%m-%d").to_string())
            .arg("--to")
            .arg((now + Duration::days(1)).format("%Y-%m-%d").to_string())
            .output()
            .expect("runs"),
    );
    assert_eq!(from_store, from_file);
    assert_eq!(from_store["windows"], 6);
    // A cluster that is not in the store: no windows.
    greenkube(dir.path())
        .args([
            "score",
            "--since",
            "7d",
            "--cluster",
            "elsewhere",
            "--store",
        ])
        .arg(url(&dir))
        .assert()
        .success();
}

// --- report filters and durations --------------------------------------------------------

#[test]
fn report_filters_by_namespace_and_cluster() {
    let dir = TempDir::new().expect("temp dir");
    fill_recent(&dir, 2);
    let report = |args: &[&str]| {
        json(
            &greenkube(dir.path())
                .args(["report", "--since", "1d", "--format", "json", "--store"])
                .arg(url(&dir))
                .args(args)
                .output()
                .expect("runs"),
        )
    };
    let all = report(&["--group-by", "workload"]);
    let shop = report(&["--group-by", "workload", "--namespace", "shop"]);
    let shop_rows = shop.as_array().expect("rows");
    assert!(!shop_rows.is_empty());
    assert!(shop_rows.iter().all(|r| r["namespace"] == "shop"), "{shop}");
    assert_eq!(
        shop_rows.len(),
        all.as_array()
            .expect("rows")
            .iter()
            .filter(|r| r["namespace"] == "shop")
            .count()
    );
    assert_eq!(report(&["--cluster", "prod-multicloud"]), report(&[]));
    assert_eq!(
        report(&["--cluster", "elsewhere"]),
        Value::Array(Vec::new())
    );
    greenkube(dir.path())
        .args([
            "report",
            "--since",
            "1d",
            "--group-by",
            "node",
            "--namespace",
            "shop",
        ])
        .args(["--store", &url(&dir)])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("node overhead"));
}

#[test]
fn durations_accept_months_years_and_the_year_to_date() {
    let dir = TempDir::new().expect("temp dir");
    fill_recent(&dir, 2);
    let rows = |since: &str| {
        json(
            &greenkube(dir.path())
                .args(["report", "--format", "json", "--since", since, "--store"])
                .arg(url(&dir))
                .output()
                .expect("runs"),
        )
    };
    let day = rows("1d");
    for since in [
        "30d", "12h", "2w", "1mo", "1month", "1y", "24h", "1440m", "1440min",
    ] {
        assert_eq!(rows(since), day, "{since}");
    }
    // `ytd` reaches back to 1 January; two hours ago may be last year on 1 January.
    let now = DateTime::<Utc>::from(std::time::SystemTime::now());
    if now.format("%m-%d").to_string() != "01-01" {
        assert_eq!(rows("ytd"), day);
    }
    greenkube(dir.path())
        .args(["report", "--since", "1M", "--store", &url(&dir)])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("`mo` or `month`"));
    let help = ok(&greenkube(dir.path())
        .args(["report", "--help"])
        .output()
        .expect("runs"));
    let help = help.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(help.contains("`m` or `min` (minutes)"), "{help}");
    assert!(help.contains("`mo` (30 days)"), "{help}");
    assert!(help.contains("`ytd`"), "{help}");
}

/// `greenkube report ... --format csv | head -2`: the closed pipe ends the command quietly.
#[test]
fn report_csv_into_a_pipe_closed_early_is_not_an_error() {
    use assert_cmd::cargo::CommandCargoExt as _;
    use std::io::{BufRead, BufReader};
    let dir = TempDir::new().expect("temp dir");
    fill_recent(&dir, 48);
    for format in ["csv", "json", "table"] {
        let mut child = std::process::Command::cargo_bin("greenkube")
            .expect("binary")
            .current_dir(dir.path())
            .args([
                "report",
                "--since",
                "7d",
                "--group-by",
                "pod",
                "--period",
                "hour",
            ])
            .args(["--store", &url(&dir), "--format", format])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("runs");
        let mut reader = BufReader::new(child.stdout.take().expect("stdout"));
        let mut lines = String::new();
        for _ in 0..2 {
            reader.read_line(&mut lines).expect("a line");
        }
        drop(reader);
        let out = child.wait_with_output().expect("ends");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!lines.is_empty(), "{format}");
        assert!(out.status.success(), "{format}: {:?} {stderr}", out.status);
        assert!(!stderr.contains("Broken pipe"), "{format}: {stderr}");
    }
}

// --- formats, tables, completions, man page ------------------------------------------------

#[test]
fn every_command_that_prints_rows_speaks_table_json_csv_and_yaml() {
    let dir = TempDir::new().expect("temp dir");
    let history = fill_recent(&dir, 6);
    let changes = dir.path().join("changes.json");
    std::fs::write(&changes, r#"[{"change": "remove", "namespace": "legacy"}]"#).expect("write");
    let h = history.to_str().expect("utf-8");
    let c = changes.to_str().expect("utf-8");
    let store = url(&dir);
    let snapshot = example();
    let commands: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["recommend", "--history", h],
            "id,type,scope,cluster,namespace,target",
        ),
        (vec!["what-if", "--history", h, "--apply", c], "scope,what,"),
        (
            vec!["score", "--history", h],
            "dimension,weight,score,detail",
        ),
        (
            vec![
                "restate",
                "--since",
                "7d",
                "-m",
                "classic",
                "--dry-run",
                "--store",
                &store,
            ],
            "cluster,what,",
        ),
        (
            vec!["report", "--since", "7d", "--store", &store],
            "namespace,rows,",
        ),
        (
            vec!["estimate", "--snapshot", snapshot.to_str().expect("utf-8")],
            "window_start,",
        ),
    ];
    for (args, csv_header) in &commands {
        let csv = ok(&greenkube(dir.path())
            .args(args)
            .args(["--format", "csv"])
            .output()
            .expect("runs"));
        assert!(csv.starts_with(csv_header), "{args:?}: {csv}");
        assert!(csv.lines().count() > 1, "{args:?}: {csv}");
        let json = greenkube(dir.path())
            .args(args)
            .args(["--format", "json"])
            .output()
            .expect("runs");
        serde_json::from_slice::<Value>(&json.stdout).expect("JSON");
        ok(&greenkube(dir.path())
            .args(args)
            .args(["--format", "table"])
            .output()
            .expect("runs"));
    }
    // YAML where the analysis commands print rows (KRR prints YAML too).
    let yaml = ok(&greenkube(dir.path())
        .args(["recommend", "--history", h, "--format", "yaml"])
        .output()
        .expect("runs"));
    assert!(yaml.starts_with("- "), "{yaml}");
    assert!(yaml.contains("\n  type: "), "{yaml}");
    // `recommendations list` after a saved scan.
    ok(&greenkube(dir.path())
        .args(["recommend", "--since", "7d", "--save", "--store", &store])
        .output()
        .expect("runs"));
    let list = ok(&greenkube(dir.path())
        .args([
            "recommendations",
            "--store",
            &store,
            "list",
            "--format",
            "csv",
        ])
        .output()
        .expect("runs"));
    assert!(list.starts_with("recommendation.id,status,"), "{list}");
}

#[test]
fn tables_in_a_pipe_are_full_width_and_costs_name_their_currency() {
    let dir = TempDir::new().expect("temp dir");
    let out = ok(&greenkube(dir.path())
        .env("GREENKUBE_CURRENCY", "EUR")
        .args(["estimate", "--snapshot"])
        .arg(example())
        .output()
        .expect("runs"));
    let table: Vec<&str> = out.lines().skip(2).take_while(|l| !l.is_empty()).collect();
    assert_eq!(
        table.len(),
        32,
        "one line per pod and the overhead, unwrapped: {out}"
    );
    assert!(table[0].contains("COST (EUR)"), "{out}");
    assert!(out.contains(" EUR"), "{out}");
    let out = ok(&greenkube(dir.path())
        .args(["--currency", "CHF", "estimate", "--snapshot"])
        .arg(example())
        .args(["--group-by", "namespace"])
        .output()
        .expect("runs"));
    assert!(out.contains("COST (CHF)"), "{out}");
    // From a configuration file too (a flag or the environment wins over it).
    std::fs::write(dir.path().join("gk.toml"), "currency = \"GBP\"\n").expect("writes");
    let out = ok(&greenkube(dir.path())
        .args(["--config", "gk.toml", "estimate", "--snapshot"])
        .arg(example())
        .output()
        .expect("runs"));
    assert!(out.contains("COST (GBP)"), "{out}");
    let out = ok(&greenkube(dir.path())
        .env("GREENKUBE_CURRENCY", "EUR")
        .args(["--config", "gk.toml", "estimate", "--snapshot"])
        .arg(example())
        .output()
        .expect("runs"));
    assert!(out.contains("COST (EUR)"), "{out}");
}

#[test]
fn completions_and_the_man_page_name_the_commands() {
    let dir = TempDir::new().expect("temp dir");
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let script = ok(&greenkube(dir.path())
            .args(["completions", shell])
            .output()
            .expect("runs"));
        for command in ["report", "recommend", "what-if", "completions"] {
            assert!(script.contains(command), "{shell}: {command}");
        }
    }
    let page = ok(&greenkube(dir.path()).arg("man").output().expect("runs"));
    assert!(
        page.starts_with(".ie") || page.contains(".TH greenkube"),
        "{page}"
    );
    for command in ["report", "recommend", "what\\-if", "Exit status"] {
        assert!(page.contains(command), "{command}: {page}");
    }
    let pages = dir.path().join("man1");
    greenkube(dir.path())
        .args(["man", "--out-dir"])
        .arg(&pages)
        .assert()
        .success();
    assert!(pages.join("greenkube.1").is_file());
    assert!(pages.join("greenkube-report.1").is_file());
}

// --- totals that add up ---------------------------------------------------------------------

/// The figure after `= ` in a `... embodied = 3.781 kg (...)` line, or after `stored ...:`.
fn total_in(line: &str) -> String {
    let after = line
        .split(" = ")
        .nth(1)
        .unwrap_or_else(|| panic!("no total in {line}"));
    after.split(" (").next().expect("a figure").to_string()
}

/// The demo's first line (what it stored), its namespace table (which ends with the node
/// overhead) and `report` by namespace, workload, pod and cluster all give the same total.
#[test]
fn the_demo_its_table_and_report_agree_on_the_total() {
    let dir = TempDir::new().expect("temp dir");
    let store = url(&dir);
    let out = greenkube(dir.path())
        .args(["demo", "--no-serve", "--days", "1", "--top", "1"])
        .args(["--end", "2025-06-10T00:00:00Z", "--store", &store])
        .output()
        .expect("runs");
    let table = ok(&out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stored = stderr
        .lines()
        .find(|l| l.contains(": stored "))
        .unwrap_or_else(|| panic!("{stderr}"));
    // `...: 8684 pod rows, 1.891 kg CO2e (operational + embodied)`
    let stored_total = stored
        .rsplit(", ")
        .next()
        .and_then(|t| t.strip_suffix(" CO2e (operational + embodied)"))
        .unwrap_or_else(|| panic!("{stored}"))
        .to_string();
    assert!(table.contains("node overhead (no pod)"), "{table}");
    let demo_total = table
        .lines()
        .find(|l| l.starts_with("total (the cluster's"))
        .map_or_else(|| panic!("{table}"), total_in);
    assert_eq!(demo_total, stored_total, "{stderr}\n{table}");
    for group in ["namespace", "workload", "pod", "cluster", "node"] {
        let report = ok(&greenkube(dir.path())
            .args([
                "report",
                "--from",
                "2025-06-09",
                "--to",
                "2025-06-10",
                "--group-by",
                group,
            ])
            .args(["--store", &store])
            .output()
            .expect("runs"));
        let total = report
            .lines()
            .find(|l| l.starts_with("total (the cluster's"))
            .map_or_else(|| panic!("{group}: {report}"), total_in);
        assert_eq!(total, stored_total, "{group}: {report}");
    }
    // One namespace's table says its total is the rows' own, without the overhead.
    let shop = ok(&greenkube(dir.path())
        .args([
            "report",
            "--from",
            "2025-06-09",
            "--to",
            "2025-06-10",
            "--namespace",
            "shop",
        ])
        .args(["--store", &store])
        .output()
        .expect("runs"));
    assert!(!shop.contains("node overhead (no pod)"), "{shop}");
    assert!(shop.contains("total of these rows"), "{shop}");
}

/// `estimate`'s tables end with the node overhead too, so they add up to its cluster total.
#[test]
fn estimate_tables_end_with_the_node_overhead() {
    let dir = TempDir::new().expect("temp dir");
    for group in ["pod", "namespace", "workload"] {
        let out = ok(&greenkube(dir.path())
            .args(["estimate", "--group-by", group, "--snapshot"])
            .arg(example())
            .output()
            .expect("runs"));
        assert!(out.contains("node overhead (no pod)"), "{group}: {out}");
    }
}

// --- labels -----------------------------------------------------------------------------

/// The example cluster with pod labels: `team` on most pods (`storefront` across the shop
/// pods and the payments API, `data` on the data namespace), none on the notebook.
fn labelled_example() -> Value {
    let mut snapshot: Value =
        serde_json::from_str(&std::fs::read_to_string(example()).expect("example")).expect("JSON");
    for pod in snapshot["pods"].as_array_mut().expect("pods") {
        let namespace = pod["namespace"].as_str().expect("namespace").to_string();
        let name = pod["name"].as_str().expect("name").to_string();
        let team = match namespace.as_str() {
            "shop" => Some("storefront"),
            "payments" if name.starts_with("payments-api") => Some("storefront"),
            "data" => Some("data"),
            _ => None,
        };
        if name == "notebook-alice" {
            continue;
        }
        let mut labels = serde_json::Map::new();
        labels.insert("app".into(), Value::from(name.clone()));
        if let Some(team) = team {
            labels.insert("team".into(), Value::from(team));
        }
        pod["labels"] = Value::Object(labels);
    }
    snapshot
}

#[test]
fn report_filters_and_groups_by_label() {
    let dir = TempDir::new().expect("temp dir");
    let base = labelled_example();
    let now = DateTime::<Utc>::from(std::time::SystemTime::now());
    let end = now.duration_trunc(Duration::hours(1)).expect("truncates");
    for h in 1..=2 {
        let start = end - Duration::hours(h);
        let mut snapshot = base.clone();
        snapshot["window_start"] = Value::from(start.to_rfc3339());
        snapshot["window_end"] = Value::from((start + Duration::hours(1)).to_rfc3339());
        ok(&greenkube(dir.path())
            .args(["estimate", "--snapshot", "-", "--format", "json", "--store"])
            .arg(url(&dir))
            .write_stdin(snapshot.to_string())
            .output()
            .expect("runs"));
    }
    let run = |args: &[&str]| {
        greenkube(dir.path())
            .args(["report", "--since", "1d", "--store"])
            .arg(url(&dir))
            .args(args)
            .output()
            .expect("runs")
    };
    let rows = |args: &[&str]| -> Vec<Value> {
        let mut all = vec!["--format", "json"];
        all.extend_from_slice(args);
        json(&run(&all)).as_array().expect("rows").clone()
    };
    let total = |rows: &[Value]| -> f64 {
        rows.iter()
            .map(|r| r["total_co2e_grams"].as_f64().expect("total"))
            .sum()
    };
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1e-12);
    let pods = rows(&["--group-by", "pod"]);
    let team_of = |r: &Value| -> Option<&str> {
        let name = r["pod"].as_str()?;
        let pod = base["pods"]
            .as_array()?
            .iter()
            .find(|p| p["name"] == name && p["namespace"] == r["namespace"])?;
        pod["labels"]["team"].as_str()
    };
    let pods_of = |team: Option<&str>| -> Vec<Value> {
        pods.iter()
            .filter(|r| team_of(r) == team)
            .cloned()
            .collect()
    };

    // One row per value of the label, and one for the pods without it; they add up.
    let by_team = rows(&["--group-by", "label:team"]);
    let teams: Vec<&Value> = by_team.iter().map(|r| &r["label"]["team"]).collect();
    assert_eq!(
        teams,
        [
            &Value::Null,
            &Value::from("data"),
            &Value::from("storefront")
        ],
        "{by_team:?}"
    );
    assert!(close(total(&by_team), total(&pods)));
    for (row, team) in by_team.iter().zip([None, Some("data"), Some("storefront")]) {
        assert!(
            close(total(std::slice::from_ref(row)), total(&pods_of(team))),
            "{team:?}: {row}"
        );
        assert_eq!(
            row["rows"].as_u64(),
            Some(
                pods_of(team)
                    .iter()
                    .map(|r| r["rows"].as_u64().unwrap_or(0))
                    .sum()
            ),
        );
    }

    // A filter keeps the labelled pods, whatever their namespace, in any grouping.
    let storefront = rows(&["--group-by", "namespace", "--label", "team=storefront"]);
    let namespaces: Vec<&str> = storefront
        .iter()
        .map(|r| r["namespace"].as_str().expect("namespace"))
        .collect();
    assert_eq!(namespaces, ["payments", "shop"]);
    let payments_api: f64 = total(
        &pods_of(Some("storefront"))
            .into_iter()
            .filter(|r| r["namespace"] == "payments")
            .collect::<Vec<_>>(),
    );
    assert!(close(total(&storefront[..1]), payments_api));
    let workloads = rows(&[
        "--group-by",
        "workload",
        "-l",
        "team=storefront",
        "-n",
        "payments",
    ]);
    assert_eq!(workloads.len(), 1, "{workloads:?}");
    assert_eq!(workloads[0]["workload"], "payments-api");
    assert!(rows(&["-l", "team=storefront", "-l", "app=nothing"]).is_empty());
    let by_app = rows(&["-g", "label:app", "-l", "team=data"]);
    assert_eq!(by_app.len(), 4, "one row per data pod's app: {by_app:?}");

    // Tables name the label and its missing value; CSV headers name the key.
    let table = ok(&run(&["--group-by", "label:team"]));
    assert!(table.contains("LABEL team"), "{table}");
    assert!(table.contains("(none)"), "{table}");
    assert!(table.contains("node overhead (no pod)"), "{table}");
    let csv = ok(&run(&["--group-by", "label:team", "--format", "csv"]));
    assert!(
        csv.lines()
            .next()
            .is_some_and(|h| h.starts_with("label:team,rows,")),
        "{csv}"
    );

    // Usage errors: not KEY=VALUE, an empty key, node groups, an empty label grouping.
    for (args, says) in [
        (vec!["--label", "team"], "expected KEY=VALUE"),
        (vec!["--label", "=x"], "the key is empty"),
        (
            vec!["--group-by", "node", "--label", "team=data"],
            "node overhead",
        ),
        (vec!["--group-by", "label:"], "label:KEY"),
    ] {
        let out = run(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{args:?}: {err}");
    }
}
