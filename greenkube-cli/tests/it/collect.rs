//! `greenkube collect --once` end to end against the real servers the test command starts:
//! Prometheus (synthetic history backfilled with promtool), the kmock Kubernetes emulator and a
//! real boaviztapi, with OpenCost and Electricity Maps replayed by wiremock; and `greenkube demo`.

use std::path::Path;

use assert_cmd::Command;
use greenkube_adapters::store;
use greenkube_core::ports::{PodRecord, PodRowPager, TimeRange};
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::Api;
use kube::api::PostParams;
use serde_json::json;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

pub(super) fn required(var: &str) -> String {
    match std::env::var(var) {
        Ok(v) if !v.trim().is_empty() => v.trim().to_string(),
        _ => panic!(
            "{var} is not set: run scripts/test.sh, which starts Prometheus, the Kubernetes \
             emulator and boaviztapi for this test"
        ),
    }
}

/// Creates an object in the emulator; one left by an earlier run is fine.
async fn create<K>(api: &Api<K>, value: serde_json::Value)
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + serde::Serialize + std::fmt::Debug,
{
    let object: K = serde_json::from_value(value).expect("a valid object");
    if let Err(e) = api.create(&PostParams::default(), &object).await {
        let text = e.to_string();
        assert!(
            text.contains("409") || text.contains("AlreadyExists") || text.contains("exists"),
            "{text}"
        );
    }
}

/// node-a and node-b and the pods of the Prometheus history that have a spec.
pub(super) async fn seed_kubernetes(kubeconfig: &str) {
    let source = greenkube_adapters::sources::kubernetes::KubernetesSource::from_kubeconfig(Some(
        Path::new(kubeconfig),
    ))
    .await
    .expect("kubeconfig");
    let client = source.client().clone();
    let nodes: Api<Node> = Api::all(client.clone());
    create(
        &nodes,
        json!({
            "apiVersion": "v1", "kind": "Node",
            "metadata": {"name": "node-a", "resourceVersion": "1", "labels": {
                "node.kubernetes.io/instance-type": "m5.large",
                "topology.kubernetes.io/region": "eu-west-3",
                "topology.kubernetes.io/zone": "eu-west-3a"}},
            "spec": {"providerID": "aws:///eu-west-3a/i-0abc"},
            "status": {"capacity": {"cpu": "2", "memory": "8Gi"}}
        }),
    )
    .await;
    create(
        &nodes,
        json!({
            "apiVersion": "v1", "kind": "Node",
            "metadata": {"name": "node-b", "resourceVersion": "1", "labels": {
                "node.kubernetes.io/instance-type": "n2-standard-4",
                "topology.kubernetes.io/region": "europe-west1",
                "topology.kubernetes.io/zone": "europe-west1-b"}},
            "spec": {"providerID": "gce://greenkube-test/europe-west1-b/node-b"},
            "status": {"capacity": {"cpu": "4", "memory": "16Gi"}}
        }),
    )
    .await;
    let pods: Api<Pod> = Api::namespaced(client, "default");
    for (name, node, cpu) in [("web-1", "node-a", "500m"), ("web-2", "node-b", "1")] {
        create(&pods, json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "default", "resourceVersion": "1",
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "web",
                    "uid": "u-web", "controller": true}]},
            "spec": {"nodeName": node, "containers": [{"name": "web", "image": "nginx",
                "resources": {"requests": {"cpu": cpu, "memory": "256Mi"}}}]},
            "status": {"phase": "Running"}
        })).await;
    }
}

pub(super) async fn opencost() -> MockServer {
    let server = MockServer::start().await;
    let alloc = |ns: &str, pod: &str, cost: f64| {
        json!({"name": format!("{ns}/{pod}"), "properties": {"namespace": ns, "pod": pod},
               "window": {"start": "2024-01-01T00:55:00Z", "end": "2024-01-01T01:00:00Z"},
               "cpuCost": cost / 2.0, "ramCost": cost / 2.0, "totalCost": cost})
    };
    Mock::given(method("GET"))
        .and(path("/allocation"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"code": 200, "data": [{
                "default/web-1": alloc("default", "web-1", 0.0125),
                "default/web-2": alloc("default", "web-2", 0.025),
                "__idle__": alloc("", "__idle__", 1.0)
            }]})),
        )
        .mount(&server)
        .await;
    server
}

/// Electricity Maps v3 history for any zone: 44 g/kWh in FR, 150 elsewhere (other tests' nodes
/// share the Kubernetes emulator, so more zones than ours may be asked).
struct History;

impl wiremock::Respond for History {
    fn respond(&self, request: &wiremock::Request) -> ResponseTemplate {
        let zone = request
            .url
            .query_pairs()
            .find(|(k, _)| k == "zone")
            .map_or_else(String::new, |(_, v)| v.to_string());
        let g = if zone == "FR" { 44.0 } else { 150.0 };
        let first: chrono::DateTime<chrono::Utc> = "2023-12-31T02:00:00Z".parse().expect("time");
        let history: Vec<_> = (0..24)
            .map(|h| {
                let at = first + chrono::TimeDelta::hours(h);
                json!({"zone": zone, "carbonIntensity": g,
                    "datetime": at.format("%Y-%m-%dT%H:%M:%S.000Z").to_string(),
                    "updatedAt": "2024-01-01T02:00:00.000Z", "createdAt": "2024-01-01T00:00:00.000Z",
                    "emissionFactorType": "lifecycle", "isEstimated": false, "estimationMethod": null})
            })
            .collect();
        ResponseTemplate::new(200).set_body_json(json!({"zone": zone, "history": history}))
    }
}

pub(super) async fn electricity_maps() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/carbon-intensity/history"))
        .and(header("auth-token", "test-token"))
        .respond_with(History)
        .mount(&server)
        .await;
    server
}

pub(super) async fn rows(url: &str, range: TimeRange) -> Vec<PodRecord> {
    let repos = store::open(url).await.expect("store");
    let mut pager = PodRowPager::new(repos.footprints.as_ref(), range, 1000);
    let mut out = Vec::new();
    while let Some(page) = pager.next_page().await.expect("rows") {
        out.extend(page);
    }
    out
}

fn find<'a>(rows: &'a [PodRecord], ns: &str, pod: &str) -> &'a PodRecord {
    rows.iter()
        .find(|r| &*r.namespace == ns && &*r.pod == pod)
        .unwrap_or_else(|| panic!("no row for {ns}/{pod}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn collect_once_against_every_source() {
    let prometheus = required("GREENKUBE_TEST_PROMETHEUS_URL");
    let kubeconfig = required("GREENKUBE_TEST_KUBECONFIG");
    let boavizta = required("GREENKUBE_TEST_BOAVIZTA_URL");
    seed_kubernetes(&kubeconfig).await;
    let opencost = opencost().await;
    let em = electricity_maps().await;
    let dir = tempfile::tempdir().expect("dir");
    let url = format!("sqlite://{}", dir.path().join("gk.db").display());

    let run = |now: &str, extra: Vec<String>| {
        let mut cmd = Command::cargo_bin("greenkube").expect("binary");
        cmd.current_dir(dir.path())
            .env_remove("GREENKUBE_STORE")
            .args(["collect", "--once", "--now", now, "--cluster", "e2e"])
            .args([
                "--store",
                &url,
                "--prometheus-url",
                &prometheus,
                "--kubeconfig",
                &kubeconfig,
            ])
            .args([
                "--boavizta-url",
                &boavizta,
                "--electricity-maps-token",
                "test-token",
            ])
            .args(["--electricity-maps-url", &em.uri(), "--source-timeout", "5"])
            .args(extra);
        cmd
    };
    let out = tokio::task::spawn_blocking({
        let mut cmd = run(
            "2024-01-01T01:00:00Z",
            vec!["--opencost-url".into(), opencost.uri()],
        );
        move || cmd.output().expect("runs")
    })
    .await
    .expect("joins");
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("stored window 2024-01-01 00:55"),
        "{stderr}"
    );
    assert!(!stderr.contains("degraded"), "{stderr}");

    let window = TimeRange::new(
        "2024-01-01T00:55:00Z".parse().unwrap(),
        "2024-01-01T01:00:00Z".parse().unwrap(),
    )
    .unwrap();
    let stored = rows(&url, window).await;
    let web1 = find(&stored, "default", "web-1");
    // Prometheus: the web and proxy containers only (not the pause container or the cgroup).
    assert_eq!(web1.cpu_usage_cores.map(|c| c.0), Some(0.375));
    assert_eq!(
        web1.memory_usage_bytes.map(|b| b.0),
        Some(250.0 * 1024.0 * 1024.0)
    );
    // Kubernetes: requests, owner, node and its provider and zone.
    assert_eq!(web1.cpu_request_cores.map(|c| c.0), Some(0.5));
    assert_eq!(web1.owner_kind.as_deref(), Some("StatefulSet"));
    assert_eq!(web1.node.as_deref(), Some("node-a"));
    assert_eq!(web1.provider.as_deref(), Some("aws"));
    assert_eq!(web1.instance_type.as_deref(), Some("m5.large"));
    // OpenCost and Electricity Maps.
    assert_eq!(web1.cost.map(|c| c.0), Some(0.0125));
    assert_eq!(web1.zone.as_deref(), Some("FR"));
    assert_eq!(web1.grid_intensity.point, 44.0);
    assert!(
        !web1
            .estimation_reasons
            .iter()
            .any(|r| r.contains("unavailable") || r.contains("default intensity")),
        "{:?}",
        web1.estimation_reasons
    );
    let web2 = find(&stored, "default", "web-2");
    assert_eq!(web2.cpu_usage_cores.map(|c| c.0), Some(0.5));
    // Restarts during the window (the counter went to 1 at 00:30 and stays there until 01:30).
    assert_eq!(web2.restarts, Some(0));
    assert_eq!(web2.provider.as_deref(), Some("gcp"));
    // A pod with metrics but no spec (the legacy label variant) is kept.
    let old = find(&stored, "legacy", "old-1");
    assert_eq!(old.cpu_usage_cores.map(|c| c.0), Some(1.5));
    assert_eq!(old.cpu_request_cores, None);

    // The same window again: nothing to do, nothing doubled.
    let out = tokio::task::spawn_blocking({
        let mut cmd = run(
            "2024-01-01T01:00:00Z",
            vec!["--opencost-url".into(), opencost.uri()],
        );
        move || cmd.output().expect("runs")
    })
    .await
    .expect("joins");
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("already stored"));
    assert_eq!(rows(&url, window).await.len(), stored.len());

    // OpenCost down: the next window is still collected, its costs unknown and flagged.
    let out = tokio::task::spawn_blocking({
        let mut cmd = run(
            "2024-01-01T01:05:00Z",
            vec!["--opencost-url".into(), "http://127.0.0.1:9/".into()],
        );
        move || cmd.output().expect("runs")
    })
    .await
    .expect("joins");
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("degraded: opencost (unreachable)"),
        "{stderr}"
    );
    let next = TimeRange::new(
        "2024-01-01T01:00:00Z".parse().unwrap(),
        "2024-01-01T01:05:00Z".parse().unwrap(),
    )
    .unwrap();
    let later = rows(&url, next).await;
    let web1 = find(&later, "default", "web-1");
    assert_eq!(web1.cost, None);
    assert!(
        web1.estimation_reasons
            .iter()
            .any(|r| r.starts_with("opencost was unavailable")),
        "{:?}",
        web1.estimation_reasons
    );
}

#[test]
fn demo_runs_a_synthetic_cluster_through_the_store() {
    let dir = tempfile::tempdir().expect("dir");
    let url = format!("sqlite://{}", dir.path().join("demo.db").display());
    let out = Command::cargo_bin("greenkube")
        .expect("binary")
        .current_dir(dir.path())
        .args([
            "demo",
            "--days",
            "2",
            "--end",
            "2025-06-30",
            "--store",
            &url,
            "--no-serve",
        ])
        .output()
        .expect("runs");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("stored 576 windows"), "{stderr}");
    assert!(stdout.contains("by namespace"), "{stdout}");
    assert!(
        stdout.contains("recommendations from 576 windows"),
        "{stdout}"
    );
    // The store is closed on exit: the log is folded into the file, so the file alone is the
    // whole store (a log left beside it is empty).
    let wal = std::fs::metadata(dir.path().join("demo.db-wal")).map_or(0, |m| m.len());
    assert_eq!(wal, 0, "a log of {wal} bytes left beside the store");
    // Same seed and end: the data is already there.
    let again = Command::cargo_bin("greenkube")
        .expect("binary")
        .current_dir(dir.path())
        .args([
            "demo",
            "--days",
            "2",
            "--end",
            "2025-06-30",
            "--store",
            &url,
            "--no-serve",
        ])
        .output()
        .expect("runs");
    assert!(String::from_utf8_lossy(&again.stderr).contains("already stored"));
    assert_eq!(
        String::from_utf8_lossy(&again.stdout),
        stdout,
        "same seed, same report"
    );
    // And report works on it.
    let report = Command::cargo_bin("greenkube")
        .expect("binary")
        .current_dir(dir.path())
        .args([
            "report",
            "--store",
            &url,
            "--from",
            "2025-06-28",
            "--to",
            "2025-06-30",
        ])
        .args(["--group-by", "cluster", "--format", "json"])
        .output()
        .expect("runs");
    let rows: serde_json::Value = serde_json::from_slice(&report.stdout).expect("json");
    assert_eq!(rows[0]["cluster"], "demo", "{rows}");
}

#[test]
fn sigterm_ends_the_daemon_cleanly_after_the_current_batch() {
    let prometheus = required("GREENKUBE_TEST_PROMETHEUS_URL");
    let dir = tempfile::tempdir().expect("dir");
    let url = format!("sqlite://{}", dir.path().join("gk.db").display());
    let bin = assert_cmd::cargo::cargo_bin("greenkube");
    // The daemon collects the latest window (Prometheus has no data that recent: the pods are
    // simply absent), then sleeps until the next one.
    let mut child = std::process::Command::new(bin)
        .current_dir(dir.path())
        .env_remove("GREENKUBE_STORE")
        .args([
            "collect",
            "--store",
            &url,
            "--prometheus-url",
            &prometheus,
            "--no-kubernetes",
        ])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("starts");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let db = dir.path().join("gk.db");
    // Wait until the first window is archived (the database exists and has a snapshot).
    loop {
        assert!(
            std::time::Instant::now() < deadline,
            "no window collected in 60 s"
        );
        if db.exists() {
            let rt = tokio::runtime::Runtime::new().expect("runtime");
            let archived = rt.block_on(async {
                let history = store::open(&url).await.expect("store");
                let range = TimeRange::new(
                    "2000-01-01T00:00:00Z".parse().unwrap(),
                    "2100-01-01T00:00:00Z".parse().unwrap(),
                )
                .unwrap();
                history
                    .archive
                    .archived_windows(range)
                    .await
                    .expect("windows")
                    .len()
            });
            if archived > 0 {
                break;
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let started = std::time::Instant::now();
    let exit = child.wait().expect("waits");
    assert!(exit.success(), "exit status {exit:?}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "took {:?} to stop",
        started.elapsed()
    );
}

#[test]
fn a_backfill_beyond_ten_years_is_refused_not_reported_as_done() {
    let dir = tempfile::tempdir().expect("dir");
    let url = format!("sqlite://{}", dir.path().join("gk.db").display());
    let out = Command::cargo_bin("greenkube")
        .unwrap()
        .current_dir(dir.path())
        .env_remove("GREENKUBE_STORE")
        .args([
            "collect",
            "--once",
            "--since",
            "1000000000d",
            "--store",
            &url,
            // Nothing listens on port 9: the refusal comes before any source is asked.
            "--prometheus-url",
            "http://127.0.0.1:9",
            "--no-kubernetes",
        ])
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("at most 3660 days"), "{stderr}");
    assert!(!stderr.contains("nothing to collect"), "{stderr}");
}

/// `--log-format json`: the daemon's lines are JSON objects (time, level, target, message,
/// fields; the spans of batches and source requests at `debug`), and no token or password it
/// was given appears anywhere in what it prints, even with two sources failing.
#[test]
fn json_logs_carry_the_cycle_and_no_secret() {
    let prometheus = required("GREENKUBE_TEST_PROMETHEUS_URL");
    let dir = tempfile::tempdir().expect("dir");
    let url = format!("sqlite://{}", dir.path().join("gk.db").display());
    let token = "em-token-Zq81xVv";
    let password = "oc-pass-Wm27";
    let out = Command::cargo_bin("greenkube")
        .expect("binary")
        .current_dir(dir.path())
        .env_remove("GREENKUBE_STORE")
        .env_remove("RUST_LOG")
        .args(["collect", "--once", "--now", "2024-01-01T01:00:00Z"])
        .args([
            "--store",
            &url,
            "--prometheus-url",
            &prometheus,
            "--no-kubernetes",
        ])
        .args(["--electricity-maps-token", token])
        .args(["--electricity-maps-url", "http://127.0.0.1:9/"])
        .arg("--opencost-url")
        .arg(format!("http://greenkube:{password}@127.0.0.1:9/"))
        .args([
            "--source-timeout",
            "5",
            "--log-format",
            "json",
            "--log-level",
            "debug",
        ])
        .output()
        .expect("runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    for secret in [token, password] {
        assert!(
            !stdout.contains(secret) && !stderr.contains(secret),
            "`{secret}` printed:\n{stderr}"
        );
    }
    let events: Vec<serde_json::Value> = stderr
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let cycle = events
        .iter()
        .find(|e| {
            e["message"]
                .as_str()
                .is_some_and(|m| m.contains(": stored window 2024-01-01 00:55"))
        })
        .unwrap_or_else(|| panic!("no cycle event in\n{stderr}"));
    assert_eq!(cycle["level"], "WARN", "two sources were down: {cycle}");
    assert_eq!(cycle["windows"], 1, "{cycle}");
    assert!(cycle["pod_rows"].as_u64().is_some_and(|n| n > 0), "{cycle}");
    assert!(
        cycle["degraded"]
            .as_str()
            .is_some_and(|d| d.contains("opencost")),
        "{cycle}"
    );
    assert!(
        cycle["timestamp"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z')),
        "{cycle}"
    );
    assert!(
        cycle["target"]
            .as_str()
            .is_some_and(|t| t.starts_with("greenkube")),
        "{cycle}"
    );
    // Debug: a source request in its span, naming the source and the URL without password.
    let request = events
        .iter()
        .find(|e| e["span"]["name"] == "source_request" && e["span"]["source"] == "opencost")
        .unwrap_or_else(|| panic!("no opencost request event in\n{stderr}"));
    let shown = request["span"]["request"].as_str().unwrap_or_default();
    assert!(shown.contains("127.0.0.1:9"), "{request}");
    // The libraries stay at warn: no sqlx or hyper debug events.
    assert!(
        !events.iter().any(|e| e["level"] == "DEBUG"
            && e["target"]
                .as_str()
                .is_some_and(|t| !t.starts_with("greenkube"))),
        "{stderr}"
    );
}

/// `serve --collect` runs the daemon with `collect`'s flags: `--since` backfills (twelve
/// five-minute windows of the last hour, not just the latest), and a bad retention is a usage
/// error before anything starts.
#[test]
fn serve_collect_takes_the_daemons_flags() {
    let prometheus = required("GREENKUBE_TEST_PROMETHEUS_URL");
    let dir = tempfile::tempdir().expect("dir");
    let url = format!("sqlite://{}", dir.path().join("gk.db").display());
    let bin = assert_cmd::cargo::cargo_bin("greenkube");
    let refused = std::process::Command::new(&bin)
        .current_dir(dir.path())
        .env_remove("GREENKUBE_STORE")
        .args(["serve", "--collect", "--store", &url, "--keep-raw", "1h"])
        .args(["--keep-hourly", "30m", "--listen", "127.0.0.1:9"])
        .output()
        .expect("runs");
    assert_eq!(
        refused.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let mut child = std::process::Command::new(&bin)
        .current_dir(dir.path())
        .env_remove("GREENKUBE_STORE")
        .args(["serve", "--collect", "--store", &url])
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .args(["--prometheus-url", &prometheus, "--no-kubernetes"])
        .args(["--since", "1h", "--delay-seconds", "0", "-m", "classic"])
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("starts");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(90);
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let archived = loop {
        assert!(
            std::time::Instant::now() < deadline,
            "the backfill did not finish in 90 s"
        );
        let count = rt.block_on(async {
            let Ok(history) = store::open(&url).await else {
                return 0;
            };
            let range = TimeRange::new(
                "2000-01-01T00:00:00Z".parse().unwrap(),
                "2100-01-01T00:00:00Z".parse().unwrap(),
            )
            .unwrap();
            history
                .archive
                .archived_windows(range)
                .await
                .map_or(0, |w| w.len())
        });
        if count >= 12 {
            break count;
        }
        std::thread::sleep(std::time::Duration::from_millis(300));
    };
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let exit = child.wait().expect("waits");
    assert!(exit.success(), "exit status {exit:?}");
    assert!(archived >= 12, "{archived} windows");
}
