//! `greenkube serve` end to end: the binary serves a store loaded by `greenkube demo`, and a
//! real HTTP client checks GreenKube's shapes (insta snapshots of field names and JSON types),
//! that the figures equal `greenkube report`'s, every error status, the security switches, the
//! mutations' effect on the store, the streamed export and a clean stop on SIGTERM. The read
//! paths run against SQLite, PostgreSQL and Elasticsearch.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use assert_cmd::cargo::CommandCargoExt;
use serde_json::{Value, json};
use tempfile::TempDir;

/// The instant the demo history ends and the server answers at.
const END: &str = "2025-06-03T00:00:00Z";

fn greenkube() -> std::process::Command {
    let mut cmd = std::process::Command::cargo_bin("greenkube").expect("binary built");
    cmd.env_remove("GREENKUBE_STORE")
        .env_remove("GREENKUBE_API_KEY")
        .env_remove("GREENKUBE_CONFIG");
    cmd
}

/// Loads two days of the demo cluster into `store`.
fn load_demo(store: &str, dir: &Path, days: u32) {
    let out = greenkube()
        .current_dir(dir)
        .args([
            "demo",
            "--no-serve",
            "--end",
            END,
            "--days",
            &days.to_string(),
        ])
        .args(["--store", store])
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A SQLite store with the demo loaded, copied from one loaded once per test binary.
fn sqlite_store() -> (TempDir, String) {
    static TEMPLATE: OnceLock<PathBuf> = OnceLock::new();
    let template = TEMPLATE.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temp dir").keep();
        load_demo("sqlite://demo.db", &dir, 2);
        dir.join("demo.db")
    });
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::copy(template, dir.path().join("gk.db")).expect("copies the store");
    // The write-ahead log holds the last writes until a checkpoint: copied with the file.
    let wal = template.with_extension("db-wal");
    if wal.exists() {
        std::fs::copy(&wal, dir.path().join("gk.db-wal")).expect("copies the log");
    }
    let url = format!("sqlite://{}", dir.path().join("gk.db").display());
    (dir, url)
}

/// A running `greenkube serve`, stopped with SIGTERM on drop.
struct Server {
    child: Child,
    base: String,
}

impl Server {
    fn start(store: &str, extra: &[&str]) -> Self {
        let mut child = greenkube()
            .args([
                "serve",
                "--store",
                store,
                "--listen",
                "127.0.0.1:0",
                "--now",
                END,
            ])
            .args(["--no-kubernetes"])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starts");
        let stderr = child.stderr.take().expect("stderr");
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut seen = Vec::new();
        let base = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match receiver.recv_timeout(left) {
                Ok(line) => {
                    if let Some(rest) = line.split(" on http://").nth(1) {
                        let address = rest.split_whitespace().next().expect("an address");
                        break format!("http://{address}");
                    }
                    seen.push(line);
                }
                Err(e) => panic!("the server did not start ({e}): {seen:?}"),
            }
        };
        Self { child, base }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// SIGTERM, then the exit status.
    fn stop(mut self) -> std::process::ExitStatus {
        let status = terminate(&mut self.child);
        std::mem::forget(self);
        status
    }
}

fn terminate(child: &mut Child) -> std::process::ExitStatus {
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = child.try_wait().expect("waits") {
            return status;
        }
        assert!(Instant::now() < deadline, "no exit 20 s after SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .expect("client")
}

async fn get(server: &Server, path: &str) -> (u16, Value) {
    let response = client()
        .get(server.url(path))
        .send()
        .await
        .expect("answers");
    let status = response.status().as_u16();
    let body = response.text().await.expect("body");
    let value = serde_json::from_str(&body).unwrap_or(Value::String(body));
    (status, value)
}

async fn ok(server: &Server, path: &str) -> Value {
    let (status, body) = get(server, path).await;
    assert_eq!(status, 200, "{path}: {body}");
    body
}

/// Field names and JSON types, not values: arrays by their first element.
fn shape(value: &Value) -> Value {
    match value {
        Value::Null => json!("null"),
        Value::Bool(_) => json!("bool"),
        Value::Number(_) => json!("number"),
        Value::String(_) => json!("string"),
        Value::Array(items) => Value::Array(items.first().map(shape).into_iter().collect()),
        Value::Object(map) => {
            Value::Object(map.iter().map(|(k, v)| (k.clone(), shape(v))).collect())
        }
    }
}

fn number(value: &Value, field: &str) -> f64 {
    value[field]
        .as_f64()
        .unwrap_or_else(|| panic!("`{field}` is a number in {value}"))
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-6 * a.abs().max(b.abs()).max(1e-9)
}

#[tokio::test]
async fn every_endpoint_answers_with_greenkubes_shapes() {
    let (_dir, store) = sqlite_store();
    let server = Server::start(&store, &[]);
    // A scan first, so the recommendation endpoints have records.
    ok(&server, "/api/v1/recommendations").await;
    let id = ok(&server, "/api/v1/recommendations/active").await[0]["id"]
        .as_str()
        .expect("an id")
        .to_string();
    let applied = client()
        .patch(server.url(&format!("/api/v1/recommendations/{id}/apply")))
        .send()
        .await
        .expect("answers");
    assert_eq!(applied.status().as_u16(), 200);
    let endpoints = [
        ("health", "/api/v1/health"),
        ("version", "/api/v1/version"),
        ("config", "/api/v1/config"),
        ("metrics_list", "/api/v1/metrics?last=1h&limit=2"),
        ("metrics_summary", "/api/v1/metrics/summary"),
        ("metrics_timeseries", "/api/v1/metrics/timeseries?last=6h"),
        ("metrics_by_namespace", "/api/v1/metrics/by-namespace"),
        ("metrics_top_pods", "/api/v1/metrics/top-pods"),
        ("dashboard_summary", "/api/v1/metrics/dashboard-summary"),
        (
            "dashboard_timeseries",
            "/api/v1/metrics/dashboard-timeseries/7d",
        ),
        ("namespaces", "/api/v1/namespaces"),
        ("nodes", "/api/v1/nodes"),
        ("score", "/api/v1/score"),
        ("recommendations_active", "/api/v1/recommendations/active"),
        ("recommendations_applied", "/api/v1/recommendations/applied"),
        ("recommendations_top", "/api/v1/recommendations/top"),
        (
            "recommendations_history",
            "/api/v1/recommendations/history?start=2000-01-01T00:00:00Z&end=2100-01-01T00:00:00Z",
        ),
        ("recommendations_savings", "/api/v1/recommendations/savings"),
        ("report_summary", "/api/v1/report/summary?last=2d"),
        ("report_years", "/api/v1/report/years"),
    ];
    for (name, path) in endpoints {
        let body = ok(&server, path).await;
        insta::assert_json_snapshot!(format!("shape_{name}"), shape(&body));
    }
    // Applied recommendations no longer count as active.
    let active = ok(&server, "/api/v1/recommendations/active").await;
    assert!(
        active
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["id"] != id.as_str())
    );
    assert_eq!(
        server.stop().code(),
        Some(0),
        "SIGTERM ends the server cleanly"
    );
}

/// The API's totals equal `greenkube report`'s (pod rows, by namespace) for the same range.
async fn totals_match_the_report(store: &str, dir: &Path) {
    let out = greenkube()
        .current_dir(dir)
        .args([
            "report",
            "--store",
            store,
            "--format",
            "json",
            "--group-by",
            "namespace",
        ])
        .args(["--from", "2025-06-02T00:00:00Z", "--to", END])
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let rows = rows.as_array().expect("rows");
    let sum = |field: &str| rows.iter().map(|r| number(r, field)).sum::<f64>();
    assert!(sum("co2e_grams") > 0.0);

    let server = Server::start(store, &[]);
    let summary = ok(&server, "/api/v1/metrics/summary?last=24h").await;
    assert!(
        close(number(&summary, "total_co2e_grams"), sum("co2e_grams")),
        "{summary}"
    );
    assert!(close(
        number(&summary, "total_embodied_co2e_grams"),
        sum("embodied_co2e_grams")
    ));
    assert!(close(
        number(&summary, "total_energy_joules"),
        sum("energy_joules")
    ));
    assert!(close(number(&summary, "total_cost"), sum("cost")));
    assert_eq!(summary["namespace_count"], json!(rows.len()));
    let [low, high] = [
        summary["uncertainty"]["co2e_grams"][0].as_f64().unwrap(),
        summary["uncertainty"]["co2e_grams"][1].as_f64().unwrap(),
    ];
    assert!(
        low <= number(&summary, "total_co2e_grams") && high >= number(&summary, "total_co2e_grams")
    );

    let by_namespace = ok(&server, "/api/v1/metrics/by-namespace?last=24h").await;
    let by_namespace = by_namespace.as_array().expect("rows");
    assert_eq!(by_namespace.len(), rows.len());
    for row in rows {
        let name = row["namespace"].as_str().unwrap();
        let api = by_namespace
            .iter()
            .find(|r| r["namespace"] == name)
            .expect(name);
        assert!(
            close(number(api, "co2e_grams"), number(row, "co2e_grams")),
            "{name}"
        );
    }
    let sorted: Vec<f64> = by_namespace
        .iter()
        .map(|r| number(r, "co2e_grams"))
        .collect();
    assert!(sorted.windows(2).all(|w| w[0] >= w[1]), "most CO2e first");

    // One namespace: the summary equals its row.
    let first = by_namespace[0]["namespace"].as_str().unwrap();
    let one = ok(
        &server,
        &format!("/api/v1/metrics/summary?last=24h&namespace={first}"),
    )
    .await;
    assert!(close(
        number(&one, "total_co2e_grams"),
        number(&by_namespace[0], "co2e_grams")
    ));
    assert_eq!(one["namespace_count"], json!(1));

    // Hourly series add up to the summary.
    let series = ok(
        &server,
        "/api/v1/metrics/timeseries?last=24h&granularity=hour",
    )
    .await;
    let series = series.as_array().unwrap();
    assert_eq!(series.len(), 24);
    let total: f64 = series.iter().map(|p| number(p, "co2e_grams")).sum();
    assert!(close(total, number(&summary, "total_co2e_grams")));

    // The report summary over the same day, and top pods within it.
    let report = ok(
        &server,
        "/api/v1/report/summary?start=2025-06-02&end=2025-06-02",
    )
    .await;
    assert!(
        close(number(&report, "total_co2e_grams"), sum("co2e_grams")),
        "{report}"
    );
    assert_eq!(
        report["total_rows"],
        json!(
            rows.iter()
                .map(|r| r["rows"].as_u64().unwrap())
                .sum::<u64>()
        )
    );
    let top = ok(&server, "/api/v1/metrics/top-pods?last=24h&limit=3").await;
    assert_eq!(top.as_array().unwrap().len(), 3);
    assert!(
        ok(&server, "/api/v1/namespaces")
            .await
            .as_array()
            .unwrap()
            .len()
            >= rows.len()
    );
    assert!(
        !ok(&server, "/api/v1/nodes")
            .await
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert_eq!(server.stop().code(), Some(0));
}

#[tokio::test]
async fn sqlite_figures_are_the_reports() {
    let (dir, store) = sqlite_store();
    totals_match_the_report(&store, dir.path()).await;
}

#[cfg(feature = "postgres")]
#[tokio::test]
async fn postgres_figures_are_the_reports() {
    let url = std::env::var("GREENKUBE_TEST_POSTGRES_URL").expect(
        "GREENKUBE_TEST_POSTGRES_URL is not set: run scripts/test.sh, which starts PostgreSQL",
    );
    let (base, query) = url
        .split_once('?')
        .map_or((url.as_str(), None), |(b, q)| (b, Some(q)));
    let (server, _) = base.rsplit_once('/').expect("a database in the URL");
    let name = format!("greenkube_serve_{}", std::process::id());
    let store = match query {
        Some(q) => format!("{server}/{name}?{q}"),
        None => format!("{server}/{name}"),
    };
    let dir = tempfile::tempdir().unwrap();
    load_demo(&store, dir.path(), 2);
    totals_match_the_report(&store, dir.path()).await;
    answers_as_sqlite(&store).await;
}

#[cfg(feature = "elasticsearch")]
#[tokio::test]
async fn elasticsearch_figures_are_the_reports() {
    let server = std::env::var("GREENKUBE_TEST_ES_URL")
        .expect("GREENKUBE_TEST_ES_URL is not set: run scripts/test.sh, which starts the emulator");
    let store = format!("{server}?index_prefix=gk-serve-{}", std::process::id());
    let dir = tempfile::tempdir().unwrap();
    load_demo(&store, dir.path(), 2);
    totals_match_the_report(&store, dir.path()).await;
    answers_as_sqlite(&store).await;
}

#[tokio::test]
async fn bad_parameters_get_greenkubes_statuses() {
    let (_dir, store) = sqlite_store();
    let server = Server::start(&store, &[]);
    for (path, status) in [
        ("/api/v1/metrics/summary?namespace=Bad_NS", 400),
        ("/api/v1/metrics/summary?last=7x", 400),
        ("/api/v1/metrics/summary?last=0h", 400),
        ("/api/v1/metrics/timeseries?granularity=minute", 400),
        ("/api/v1/metrics/top-pods?limit=51", 422),
        ("/api/v1/metrics/top-pods?limit=0", 422),
        ("/api/v1/metrics/top-pods?limit=ten", 422),
        ("/api/v1/metrics?last=31d", 400),
        ("/api/v1/metrics?limit=10001", 422),
        ("/api/v1/metrics/dashboard-timeseries/2h", 400),
        ("/api/v1/report/summary?last=7d&years=2024", 400),
        ("/api/v1/report/summary?start=2025-06-01", 400),
        (
            "/api/v1/report/summary?start=2025-06-03&end=2025-06-01",
            400,
        ),
        ("/api/v1/report/summary?years=10000", 400),
        ("/api/v1/report/summary?granularity=hourlyish", 400),
        ("/api/v1/report/summary?group_by=node", 400),
        ("/api/v1/report/export?format=xml", 400),
        ("/api/v1/recommendations/top?metric=joules", 422),
        (
            "/api/v1/recommendations/history?start=2025-06-01T00:00:00Z",
            422,
        ),
        ("/api/v1/recommendations/history?start=soon&end=later", 400),
        (
            "/api/v1/recommendations/history?start=2025-06-01T00:00:00Z&end=2025-06-02T00:00:00Z&type=NOPE",
            400,
        ),
        ("/api/v1/health/services/nope", 404),
        ("/api/v1/no-such-endpoint", 404),
        ("/api/v1/metrics/summary?cluster=a%01b", 400),
        ("/api/v1/report/export?cluster=a%0Ab", 400),
        ("/api/v1/recommendations/active?cluster=a%7Fb", 400),
        (
            "/api/v1/metrics/summary?force=maybe&last=24h&namespace=shop",
            200,
        ),
    ] {
        let (got, body) = get(&server, path).await;
        assert_eq!(got, status, "{path}: {body}");
        if status != 200 {
            assert!(
                body["detail"].as_str().is_some_and(|d| !d.is_empty()),
                "{path}: errors are {{\"detail\": ...}}, got {body}"
            );
        }
    }
    let response = client()
        .patch(server.url("/api/v1/recommendations/nope/apply"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 404);
    let response = client()
        .patch(server.url("/api/v1/recommendations/nope/ignore"))
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 422);
}

/// The reads of the API over the demo store (after a scan and an applied recommendation,
/// every one has something to answer).
const READS: [&str; 19] = [
    "/api/v1/metrics/summary?last=7d",
    "/api/v1/metrics/timeseries?last=7d&granularity=day",
    "/api/v1/metrics/by-namespace?last=7d",
    "/api/v1/metrics/top-pods?last=7d",
    "/api/v1/metrics/dashboard-summary",
    "/api/v1/metrics/dashboard-timeseries/7d",
    "/api/v1/metrics?last=24h&limit=5",
    "/api/v1/namespaces",
    "/api/v1/nodes",
    "/api/v1/report/summary?last=7d",
    "/api/v1/report/years",
    "/api/v1/report/export?last=24h&format=json&aggregate=true",
    "/api/v1/report/export?last=1h&format=json",
    "/api/v1/recommendations",
    "/api/v1/recommendations/active",
    "/api/v1/recommendations/applied",
    "/api/v1/recommendations/top",
    "/api/v1/recommendations/savings",
    "/api/v1/score?last=7d",
];

/// Applies the first active recommendation (after a scan), with measured savings.
async fn apply_one(server: &Server) -> String {
    let active = ok(server, "/api/v1/recommendations/active?refresh=true").await;
    let id = active[0]["id"]
        .as_str()
        .expect("an active recommendation")
        .to_string();
    let response = client()
        .patch(server.url(&format!("/api/v1/recommendations/{id}/apply")))
        .json(&json!({"carbon_saved_co2e_grams": 1000.0, "cost_saved": 5.0}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    id
}

/// Every read answers over `store` what it answers over the SQLite demo store, to the
/// figure (the same demo, loaded into each).
async fn answers_as_sqlite(store: &str) {
    let (_dir, sqlite) = sqlite_store();
    let reference = Server::start(&sqlite, &[]);
    let other = Server::start(store, &[]);
    let applied = apply_one(&reference).await;
    assert_eq!(
        apply_one(&other).await,
        applied,
        "the same recommendation first"
    );
    for path in READS {
        let want = ok(&reference, path).await;
        let got = ok(&other, path).await;
        if let Some(difference) = crate::figures::differs(&want, &got, path) {
            panic!("{store}: {difference}");
        }
    }
}

#[tokio::test]
async fn every_read_takes_a_cluster() {
    let (_dir, store) = sqlite_store();
    let server = Server::start(&store, &[]);
    // One applied recommendation, so savings have something to count.
    apply_one(&server).await;
    // The demo store holds one cluster, `demo`: naming it reads what no cluster reads, and
    // any other name reads nothing.
    for path in READS {
        let every = ok(&server, path).await;
        let joined = |cluster: &str| {
            if path.contains('?') {
                format!("{path}&cluster={cluster}")
            } else {
                format!("{path}?cluster={cluster}")
            }
        };
        let demo = ok(&server, &joined("demo")).await;
        assert_eq!(demo, every, "{path}: the only cluster is the whole store");
        let nowhere = ok(&server, &joined("nowhere")).await;
        let empty = match &nowhere {
            Value::Array(items) => items.is_empty(),
            Value::Object(map) if map.contains_key("total_co2e_grams") => {
                number(&nowhere, "total_co2e_grams") == 0.0
            }
            Value::Object(map) if map.contains_key("items") => {
                nowhere["items"].as_array().is_some_and(Vec::is_empty)
            }
            Value::Object(map) if map.contains_key("points") => {
                nowhere["points"].as_array().is_some_and(Vec::is_empty)
            }
            Value::Object(map) if map.contains_key("windows") && map.contains_key("score") => {
                nowhere["windows"] == json!(0)
            }
            Value::Object(map) if map.contains_key("windows") => nowhere["windows"]
                .as_object()
                .is_some_and(|w| w.values().all(|row| row["total_co2e_grams"] == json!(0.0))),
            Value::Object(map) if map.contains_key("namespace_breakdown") => {
                nowhere["applied_count"] == json!(0)
            }
            _ => false,
        };
        assert!(empty, "{path}: cluster `nowhere` read {nowhere}");
        assert_ne!(nowhere, every, "{path}: the filter changed nothing");
    }
}

#[tokio::test]
async fn mutations_change_the_store() {
    let (dir, store) = sqlite_store();
    let server = Server::start(&store, &[]);
    let found = ok(&server, "/api/v1/recommendations").await;
    let found = found.as_array().expect("a list");
    assert!(!found.is_empty());
    for field in [
        "pod_name",
        "type",
        "priority",
        "scope",
        "potential_savings_co2e_grams",
        "id",
        "changes",
    ] {
        assert!(found[0].get(field).is_some(), "{field} in {}", found[0]);
    }
    let ids: Vec<String> = found
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect();
    let http = client();
    let ignored: Value = http
        .patch(server.url(&format!("/api/v1/recommendations/{}/ignore", ids[0])))
        .json(&json!({"reason": "planned for Q3"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ignored["status"], "ignored");
    assert_eq!(ignored["ignored_reason"], "planned for Q3");
    let applied: Value = http
        .patch(server.url(&format!("/api/v1/recommendations/{}/apply", ids[1])))
        .json(&json!({"carbon_saved_co2e_grams": 1234.5}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(applied["status"], "applied");
    assert_eq!(applied["carbon_saved_co2e_grams"], json!(1234.5));
    let savings = ok(&server, "/api/v1/recommendations/savings").await;
    assert_eq!(savings["total_carbon_saved_co2e_grams"], json!(1234.5));
    assert_eq!(savings["applied_count"], json!(1));
    // A new scan keeps the ignored one ignored and out of the answer.
    let again = ok(&server, "/api/v1/recommendations").await;
    assert!(
        again
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["id"] != ids[0].as_str())
    );
    assert_eq!(server.stop().code(), Some(0));

    // The store says the same to the command line.
    let out = greenkube()
        .current_dir(dir.path())
        .args([
            "recommendations",
            "--store",
            &store,
            "list",
            "--status",
            "all",
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
    let records: Value = serde_json::from_slice(&out.stdout).unwrap();
    let status_of = |id: &str| {
        records
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["recommendation"]["id"] == id)
            .map(|r| r["status"].clone())
    };
    assert_eq!(status_of(&ids[0]), Some(json!("ignored")));
    assert_eq!(status_of(&ids[1]), Some(json!("applied")));

    // Unignore through the API.
    let server = Server::start(&store, &[]);
    let back: Value = client()
        .delete(server.url(&format!("/api/v1/recommendations/{}/ignore", &ids[0][..8])))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(back["status"], "active");
}

#[tokio::test]
async fn exports_stream_every_row() {
    let (_dir, store) = sqlite_store();
    let server = Server::start(&store, &[]);
    let listed = ok(&server, "/api/v1/metrics?last=24h&limit=1").await;
    let total = listed["total"].as_u64().unwrap();
    let response = client()
        .get(server.url("/api/v1/report/export?last=24h"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let disposition = response.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        disposition.starts_with("attachment; filename=\"greenkube-report-20250603-000000.csv\""),
        "{disposition}"
    );
    let csv = response.text().await.unwrap();
    let mut lines = csv.lines();
    let header = lines.next().unwrap();
    assert!(
        header.starts_with("cluster,namespace,pod_name,timestamp"),
        "{header}"
    );
    assert_eq!(lines.count() as u64, total);
    let json: Value = client()
        .get(server.url("/api/v1/report/export?last=24h&format=json&namespace=shop"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let rows = json.as_array().unwrap();
    assert!(!rows.is_empty());
    assert!(rows.iter().all(|r| r["namespace"] == "shop"));
    let grouped = client()
        .get(server.url(
            "/api/v1/report/export?last=24h&aggregate=true&granularity=daily&group_by=namespace",
        ))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let summary = ok(
        &server,
        "/api/v1/report/summary?last=24h&aggregate=true&granularity=daily&group_by=namespace",
    )
    .await;
    assert_eq!(
        grouped.lines().count() as u64 - 1,
        summary["total_rows"].as_u64().unwrap()
    );
}

#[tokio::test]
async fn the_api_key_protects_the_api_but_not_health_nor_docs() {
    let (_dir, store) = sqlite_store();
    let server = Server::start(&store, &["--api-key", "s3cret-key"]);
    let http = client();
    let status = |response: reqwest::Response| response.status().as_u16();
    let summary = server.url("/api/v1/metrics/summary");
    assert_eq!(status(http.get(&summary).send().await.unwrap()), 401);
    assert_eq!(
        status(
            http.get(&summary)
                .bearer_auth("wrong")
                .send()
                .await
                .unwrap()
        ),
        401
    );
    assert_eq!(
        status(
            http.get(&summary)
                .bearer_auth("s3cret-key")
                .send()
                .await
                .unwrap()
        ),
        200
    );
    assert_eq!(
        status(
            http.get(&summary)
                .header("authorization", "s3cret-key")
                .send()
                .await
                .unwrap()
        ),
        200
    );
    let (code, body) = get(&server, "/api/v1/metrics/summary").await;
    assert_eq!(
        (code, body),
        (401, json!({"detail": "Invalid or missing API key."}))
    );
    for open in [
        "/api/v1/health",
        "/api/v1/openapi.json",
        "/api/v1/docs",
        "/healthz",
        "/readyz",
    ] {
        assert_eq!(get(&server, open).await.0, 200, "{open}");
    }
    // Without --trust-auth-proxy, the proxy header is not enough.
    assert_eq!(
        status(
            http.get(&summary)
                .header("x-forwarded-user", "ana")
                .send()
                .await
                .unwrap()
        ),
        401
    );
    // The key is never shown.
    let config = ok_with_key(&server, "/api/v1/config").await;
    assert!(!config.to_string().contains("s3cret"), "{config}");
    assert_eq!(config["api_key_required"], json!(true));
    drop(server);

    let proxied = Server::start(&store, &["--api-key", "k", "--trust-auth-proxy"]);
    assert_eq!(
        status(
            http.get(proxied.url("/api/v1/metrics/summary"))
                .header("x-forwarded-user", "ana")
                .send()
                .await
                .unwrap()
        ),
        200
    );
}

async fn ok_with_key(server: &Server, path: &str) -> Value {
    client()
        .get(server.url(path))
        .bearer_auth("s3cret-key")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn read_only_refuses_every_change() {
    let (_dir, store) = sqlite_store();
    let server = Server::start(&store, &["--read-only"]);
    let http = client();
    for (method, path) in [
        (reqwest::Method::PATCH, "/api/v1/recommendations/x/apply"),
        (reqwest::Method::PATCH, "/api/v1/recommendations/x/ignore"),
        (reqwest::Method::DELETE, "/api/v1/recommendations/x/ignore"),
        (
            reqwest::Method::POST,
            "/api/v1/metrics/dashboard-summary/refresh",
        ),
        (reqwest::Method::POST, "/api/v1/config/services"),
    ] {
        let response = http
            .request(method.clone(), server.url(path))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 403, "{method} {path}");
    }
    assert_eq!(
        get(&server, "/api/v1/recommendations").await.0,
        403,
        "a scan saves"
    );
    assert_eq!(get(&server, "/api/v1/recommendations/active").await.0, 200);
    // Configuration changes are refused unless allowed, even when not read-only.
    drop(server);
    let server = Server::start(&store, &[]);
    let response = http
        .post(server.url("/api/v1/config/services"))
        .json(&json!({"prometheus_url": "http://127.0.0.1:1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 403);
    drop(server);
    let server = Server::start(&store, &["--allow-config-changes"]);
    let health: Value = http
        .post(server.url("/api/v1/config/services"))
        .json(&json!({"prometheus_url": "http://127.0.0.1:1"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        health["services"]["prometheus"]["status"], "unreachable",
        "{health}"
    );
    assert_eq!(health["status"], "degraded");
    let response = http
        .post(server.url("/api/v1/config/services"))
        .json(&json!({"grafana_url": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status().as_u16(),
        422,
        "unknown fields are refused"
    );
}

#[tokio::test]
async fn limits_are_enforced() {
    let (_dir, store) = sqlite_store();
    let server = Server::start(&store, &["--rate-limit", "5"]);
    let http = client();
    let mut statuses = Vec::new();
    let mut retry_after = None;
    for _ in 0..8 {
        let response = http
            .get(server.url("/api/v1/version"))
            .send()
            .await
            .unwrap();
        statuses.push(response.status().as_u16());
        if response.status().as_u16() == 429 {
            retry_after = response.headers().get("retry-after").cloned();
        }
    }
    assert_eq!(&statuses[..5], &[200; 5]);
    assert!(statuses[5..].iter().all(|s| *s == 429), "{statuses:?}");
    let seconds: u64 = retry_after
        .expect("Retry-After")
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&seconds), "{seconds}");
    // Probes are not limited.
    assert_eq!(
        http.get(server.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        200
    );
    drop(server);

    let server = Server::start(&store, &[]);
    let big = "x".repeat(200 * 1024);
    let response = http
        .patch(server.url("/api/v1/recommendations/x/ignore"))
        .body(big.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 413, "body limit");
    // A new connection: the server answered 413 without reading the body, so the last one
    // may be closed under the client.
    let response = client()
        .get(server.url("/api/v1/version"))
        .header("x-padding", "y".repeat(20 * 1024))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 431, "header limit");
}

#[tokio::test]
async fn answers_carry_the_security_headers() {
    let (_dir, store) = sqlite_store();
    let server = Server::start(&store, &["--cors-origins", "https://dash.example.com"]);
    let http = client();
    let api = http
        .get(server.url("/api/v1/version"))
        .send()
        .await
        .unwrap();
    assert_eq!(api.headers()["x-content-type-options"], "nosniff");
    assert_eq!(
        api.headers()["referrer-policy"],
        "strict-origin-when-cross-origin"
    );
    assert_eq!(api.headers()["cache-control"], "no-cache");
    let docs = http.get(server.url("/api/v1/docs")).send().await.unwrap();
    assert_eq!(docs.headers()["x-frame-options"], "DENY");
    assert!(
        docs.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("default-src 'self'")
    );
    let page = docs.text().await.unwrap();
    assert!(
        page.contains("/api/v1/metrics/summary"),
        "the docs list the endpoints"
    );
    let openapi = ok(&server, "/api/v1/openapi.json").await;
    assert!(openapi["paths"]["/api/v1/recommendations/{id}/apply"]["patch"].is_object());
    let preflight = http
        .request(
            reqwest::Method::OPTIONS,
            server.url("/api/v1/metrics/summary"),
        )
        .header("origin", "https://dash.example.com")
        .header("access-control-request-method", "GET")
        .send()
        .await
        .unwrap();
    assert_eq!(
        preflight.headers()["access-control-allow-origin"],
        "https://dash.example.com"
    );
    let other = http
        .get(server.url("/api/v1/version"))
        .header("origin", "https://evil.example.com")
        .send()
        .await
        .unwrap();
    assert!(other.headers().get("access-control-allow-origin").is_none());
    // Auth-proxy paths are never answered with an app.
    assert_eq!(get(&server, "/oauth2/callback").await.0, 404);
}

#[tokio::test]
async fn frontend_serves_a_single_page_app() {
    let (dir, store) = sqlite_store();
    let app = dir.path().join("app");
    std::fs::create_dir_all(app.join("_app")).unwrap();
    std::fs::write(app.join("index.html"), "<html>spa</html>").unwrap();
    std::fs::write(app.join("_app/main.js"), "console.log(1)").unwrap();
    let server = Server::start(&store, &["--frontend", app.to_str().unwrap()]);
    let http = client();
    let index = http.get(server.url("/some/route")).send().await.unwrap();
    assert_eq!(index.headers()["cache-control"], "no-store");
    assert_eq!(index.text().await.unwrap(), "<html>spa</html>");
    let asset = http.get(server.url("/_app/main.js")).send().await.unwrap();
    assert_eq!(
        asset.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    assert_eq!(get(&server, "/_app/missing.js").await.0, 404);
    assert_eq!(
        get(&server, "/.well-known/openid-configuration").await.0,
        404
    );
    assert_eq!(
        get(&server, "/../../etc/passwd").await.1,
        json!("<html>spa</html>")
    );
}

#[test]
fn demo_serves_what_it_loaded_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = greenkube()
        .current_dir(dir.path())
        .args([
            "demo",
            "--days",
            "1",
            "--end",
            END,
            "--listen",
            "127.0.0.1:0",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut base = None;
    for line in lines.by_ref().map_while(Result::ok) {
        if let Some(rest) = line.split(" on http://").nth(1) {
            base = rest.split_whitespace().next().map(str::to_string);
            break;
        }
    }
    // Keep reading, so the demo's last words do not meet a closed pipe.
    std::thread::spawn(move || lines.for_each(drop));
    let base = base.expect("the demo says where it serves");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let health: Value = runtime.block_on(async {
        client()
            .get(format!("http://{base}/api/v1/config"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    });
    assert_eq!(health["cluster"], "demo");
    assert_eq!(terminate(&mut child).code(), Some(0));
}

#[tokio::test]
async fn prometheus_exposition_has_greenkubes_gauges() {
    let (_dir, store) = sqlite_store();
    let server = Server::start(&store, &[]);
    ok(&server, "/api/v1/recommendations").await;
    for path in ["/prometheus/metrics", "/metrics"] {
        let response = client().get(server.url(path)).send().await.unwrap();
        assert_eq!(response.status().as_u16(), 200);
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/openmetrics-text"),
        );
        let text = response.text().await.unwrap();
        assert!(
            text.ends_with("# EOF\n"),
            "OpenMetrics text ends with # EOF"
        );
        assert_eq!(text.matches("# EOF").count(), 1, "one exposition: {text}");
        // greenkube's own metrics follow; a server that does not collect has only its build.
        assert!(text.contains("greenkube_build_info{version=\""), "{text}");
        assert!(!text.contains("greenkube_windows_stored"), "{text}");
        for name in [
            "greenkube_pod_co2e_grams{",
            "greenkube_pod_embodied_co2e_grams{",
            "greenkube_pod_cost_dollars{",
            "greenkube_pod_energy_joules{",
            "greenkube_pod_cpu_request_millicores{",
            "greenkube_pod_cpu_usage_millicores{",
            "greenkube_pod_memory_request_bytes{",
            "greenkube_pod_memory_usage_bytes{",
            "greenkube_pue{",
            "greenkube_grid_intensity_gco2_kwh{",
            "greenkube_pod_cpu_efficiency_ratio{",
            "greenkube_namespace_co2e_grams_total{",
            "greenkube_namespace_pod_count{",
            "greenkube_cluster_co2e_grams_total{cluster=\"demo\"}",
            "greenkube_cluster_co2e_grams_low{cluster=\"demo\"}",
            "greenkube_cluster_co2e_grams_high{cluster=\"demo\"}",
            "greenkube_cluster_pod_count{",
            "greenkube_cluster_namespace_count{",
            "greenkube_metrics_total{",
            "greenkube_last_collection_timestamp_seconds{",
            "greenkube_carbon_intensity_score{",
            "greenkube_sustainability_score{cluster=\"demo\",namespace=\"__all__\"}",
            "greenkube_sustainability_dimension_score{",
            "greenkube_estimated_metrics_ratio{",
            "greenkube_carbon_intensity_zone{",
            "greenkube_zone_grid_intensity_gco2_kwh{",
            "greenkube_node_info{",
            "greenkube_node_cpu_capacity_millicores{",
            "greenkube_node_cpu_allocated_millicores{",
            "greenkube_recommendations_total{",
            "greenkube_recommendations_savings_co2e_grams{",
            "greenkube_top_recommendations{",
            "greenkube_dashboard_summary_co2e_grams_total{cluster=\"demo\",window=\"7d\",namespace=\"__all__\",scope=\"all\"}",
            "greenkube_dashboard_summary_co2e_grams_total{cluster=\"demo\",window=\"604800s\",namespace=\"__all__\",scope=\"scope2\"}",
            "greenkube_dashboard_summary_co2e_grams_low{",
            "greenkube_dashboard_summary_cost_dollars_total{",
            "greenkube_dashboard_summary_pod_count{",
            "greenkube_dashboard_savings_co2e_grams_total{",
            "greenkube_cluster_co2e_saved_grams_total{",
        ] {
            assert!(text.contains(name), "{path}: no {name}");
        }
        // The headline figure equals the API's.
        let line = text
            .lines()
            .find(|l| l.starts_with("greenkube_dashboard_summary_co2e_grams_total{cluster=\"demo\",window=\"24h\",namespace=\"__all__\",scope=\"scope2\"}"))
            .unwrap();
        let exposed: f64 = line.rsplit(' ').next().unwrap().parse().unwrap();
        let summary = ok(&server, "/api/v1/metrics/summary?last=24h").await;
        assert!(
            close(exposed, number(&summary, "total_co2e_grams")),
            "{line} vs {summary}"
        );
    }
}
