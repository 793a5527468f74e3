//! Fault injection, through the `greenkube` binary: each source down, slow, answering garbage
//! or an answer that never ends during a multi-window collection; `kill -9` at moments spread
//! over `collect` and `demo`; a full disk; the clock going backwards. Each asserts: no panic,
//! nothing half-stored, every window stored exactly once after recovery, every degradation
//! flagged. (A PostgreSQL connection cut mid-batch is in the adapters' `postgres` tests:
//! `a_connection_killed_mid_batch_leaves_nothing_and_a_retry_completes`.)

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read as _, Write as _};
use std::path::Path;
use std::process::Output;
use std::time::{Duration, Instant};

use assert_cmd::cargo::CommandCargoExt as _;
use greenkube_adapters::store;
use greenkube_core::ports::TimeRange;
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::collect::{electricity_maps, opencost, required, rows, seed_kubernetes};

/// Six windows of five minutes, 00:30 to 01:00, inside the test Prometheus's history.
const NOW: &str = "2024-01-01T01:00:00Z";
const SINCE: &str = "30m";
const WINDOWS: usize = 6;

fn all_time() -> TimeRange {
    TimeRange::new(
        "2000-01-01T00:00:00Z".parse().unwrap(),
        "2100-01-01T00:00:00Z".parse().unwrap(),
    )
    .unwrap()
}

/// How a source misbehaves.
#[derive(Debug, Clone, Copy)]
enum Fault {
    /// Nothing listens.
    Down,
    /// Answers after the source time-out (1 s).
    Slow,
    /// Answers 200 with something that is not the source's JSON.
    Garbage,
    /// Answers 200 and never stops sending.
    Endless,
}

const FAULTS: [Fault; 4] = [Fault::Down, Fault::Slow, Fault::Garbage, Fault::Endless];

/// A server with the fault; its URL. The servers live as long as the returned guard.
async fn faulty(fault: Fault) -> (String, Option<MockServer>) {
    match fault {
        Fault::Down => ("http://127.0.0.1:9".to_owned(), None),
        Fault::Slow | Fault::Garbage => {
            let server = MockServer::start().await;
            let answer = match fault {
                Fault::Slow => ResponseTemplate::new(200)
                    .set_body_string("{}")
                    .set_delay(Duration::from_secs(4)),
                _ => ResponseTemplate::new(200)
                    .insert_header("content-type", "text/html")
                    .set_body_string("<html><body>502 Bad Gateway</body></html>"),
            };
            Mock::given(wiremock::matchers::any())
                .respond_with(answer)
                .mount(&server)
                .await;
            (server.uri(), Some(server))
        }
        Fault::Endless => (endless_server(), None),
    }
}

/// A server that answers every request with a 200 whose chunked body never ends.
fn endless_server() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("binds");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            std::thread::spawn(move || {
                let mut request = [0_u8; 4096];
                let _ = stream.read(&mut request);
                let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\
                            transfer-encoding: chunked\r\n\r\n";
                if stream.write_all(head.as_bytes()).is_err() {
                    return;
                }
                let chunk = format!("400\r\n{}\r\n", "[".repeat(1024));
                while stream.write_all(chunk.as_bytes()).is_ok() {}
            });
        }
    });
    url
}

/// Where every source is, healthy unless replaced.
struct Sources {
    prometheus: String,
    kubeconfig: String,
    opencost: String,
    electricity_maps: String,
    boavizta: String,
}

async fn healthy(keep: &mut Vec<MockServer>) -> Sources {
    let kubeconfig = required("GREENKUBE_TEST_KUBECONFIG");
    seed_kubernetes(&kubeconfig).await;
    let cost = opencost().await;
    let em = electricity_maps().await;
    let sources = Sources {
        prometheus: required("GREENKUBE_TEST_PROMETHEUS_URL"),
        kubeconfig,
        opencost: cost.uri(),
        electricity_maps: em.uri(),
        boavizta: required("GREENKUBE_TEST_BOAVIZTA_URL"),
    };
    keep.extend([cost, em]);
    sources
}

/// A kubeconfig for an API server at `url` (no credentials).
fn kubeconfig_for(dir: &Path, url: &str) -> String {
    let path = dir.join("kubeconfig");
    std::fs::write(
        &path,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: {url}\n\
             users:\n- name: u\n  user: {{}}\ncontexts:\n- name: x\n  context: {{cluster: c, user: u}}\n\
             current-context: x\n"
        ),
    )
    .expect("kubeconfig written");
    path.to_str().expect("utf-8").to_owned()
}

/// `greenkube collect --once` of the six windows, in `dir`, into `url`.
async fn collect(dir: &Path, url: &str, sources: &Sources) -> Output {
    let mut cmd = std::process::Command::cargo_bin("greenkube").expect("binary");
    cmd.current_dir(dir)
        .env_remove("GREENKUBE_STORE")
        .env_remove("GREENKUBE_CONFIG")
        .args([
            "collect",
            "--once",
            "--now",
            NOW,
            "--since",
            SINCE,
            "--cluster",
            "faults",
        ])
        .args(["--store", url, "--source-timeout", "1"])
        .args(["--prometheus-url", &sources.prometheus])
        .args(["--kubeconfig", &sources.kubeconfig])
        .args(["--opencost-url", &sources.opencost])
        .args(["--electricity-maps-url", &sources.electricity_maps])
        .args(["--electricity-maps-token", "test-token"])
        .args(["--boavizta-url", &sources.boavizta]);
    let started = Instant::now();
    let out = tokio::task::spawn_blocking(move || cmd.output().expect("runs"))
        .await
        .expect("joins");
    assert!(
        // A bound against hanging (each source times out in 1 s), not a speed target: generous,
        // so a loaded machine does not fail it.
        started.elapsed() < Duration::from_secs(300),
        "took {:?}",
        started.elapsed()
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_ne!(out.status.code(), Some(101), "{stderr}");
    out
}

/// The windows the store holds: every archived window once, its pod rows each once; returns
/// the windows' starts and the rows' reasons by window.
async fn stored(url: &str) -> BTreeMap<String, Vec<Vec<String>>> {
    let opened = store::open(url).await.expect("store");
    let archived = opened
        .archive
        .archived_windows(all_time())
        .await
        .expect("windows");
    let starts: BTreeSet<_> = archived.iter().map(|(_, at)| *at).collect();
    assert_eq!(
        starts.len(),
        archived.len(),
        "a window archived twice: {archived:?}"
    );
    let mut by_window: BTreeMap<String, Vec<Vec<String>>> = BTreeMap::new();
    let mut seen = BTreeSet::new();
    for row in rows(url, all_time()).await {
        let key = (row.window_start, row.namespace.clone(), row.pod.clone());
        assert!(seen.insert(key.clone()), "a pod row stored twice: {key:?}");
        assert!(
            starts.contains(&row.window_start),
            "pod rows of a window that is not archived: {key:?}"
        );
        by_window
            .entry(row.window_start.to_rfc3339())
            .or_default()
            .push(row.estimation_reasons.clone());
    }
    opened.close().await;
    for at in starts {
        by_window.entry(at.to_rfc3339()).or_default();
    }
    by_window
}

/// One source at a time, each fault: the collection goes on without it, every window is
/// stored once, and the degradation is said on standard error and on every row.
async fn a_degrading_source(which: &str) {
    let mut keep = Vec::new();
    let base = healthy(&mut keep).await;
    for fault in FAULTS {
        let dir = tempfile::tempdir().expect("dir");
        let url = format!("sqlite://{}", dir.path().join("gk.db").display());
        let (bad, server) = faulty(fault).await;
        let mut sources = Sources { ..clone_of(&base) };
        match which {
            "opencost" => sources.opencost = bad,
            "electricity-maps" => sources.electricity_maps = bad,
            "boavizta" => sources.boavizta = bad,
            "kubernetes" => sources.kubeconfig = kubeconfig_for(dir.path(), &bad),
            other => panic!("no source {other}"),
        }
        let out = collect(dir.path(), &url, &sources).await;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{which} {fault:?}: {stderr}");
        assert!(
            stderr.contains(&format!("degraded: {which}"))
                || stderr.contains(&format!(", {which} (")),
            "{which} {fault:?} is not said: {stderr}"
        );
        let windows = stored(&url).await;
        assert_eq!(windows.len(), WINDOWS, "{which} {fault:?}: {windows:?}");
        let flag = format!("{which} was unavailable");
        for (at, rows) in &windows {
            assert!(!rows.is_empty(), "{which} {fault:?}: no rows in {at}");
            assert!(
                rows.iter()
                    .all(|reasons| reasons.iter().any(|r| r.starts_with(&flag))),
                "{which} {fault:?}: a row of {at} is not flagged: {rows:?}"
            );
        }
        drop(server);
    }
}

fn clone_of(s: &Sources) -> Sources {
    Sources {
        prometheus: s.prometheus.clone(),
        kubeconfig: s.kubeconfig.clone(),
        opencost: s.opencost.clone(),
        electricity_maps: s.electricity_maps.clone(),
        boavizta: s.boavizta.clone(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opencost_faults_degrade_costs_only() {
    a_degrading_source("opencost").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn electricity_maps_faults_degrade_intensity_only() {
    a_degrading_source("electricity-maps").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn boavizta_faults_degrade_embodied_only() {
    a_degrading_source("boavizta").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubernetes_faults_degrade_the_inventory_only() {
    a_degrading_source("kubernetes").await;
}

/// Prometheus failing: the windows are stored degraded (usage from requests, flagged) or left
/// for later, never half-stored; once it answers again, every window is there exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_faults_leave_nothing_half_stored_and_recovery_completes() {
    let mut keep = Vec::new();
    let base = healthy(&mut keep).await;
    for fault in FAULTS {
        let dir = tempfile::tempdir().expect("dir");
        let url = format!("sqlite://{}", dir.path().join("gk.db").display());
        let (bad, server) = faulty(fault).await;
        let sources = Sources {
            prometheus: bad,
            ..clone_of(&base)
        };
        let out = collect(dir.path(), &url, &sources).await;
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        if out.status.success() {
            assert!(stderr.contains("prometheus"), "{fault:?}: {stderr}");
            let windows = stored(&url).await;
            assert_eq!(windows.len(), WINDOWS, "{fault:?}");
            for (at, rows) in &windows {
                assert!(
                    rows.iter().all(|reasons| reasons
                        .iter()
                        .any(|r| r.starts_with("prometheus was unavailable"))),
                    "{fault:?}: a row of {at} is not flagged"
                );
            }
        } else {
            assert!(stderr.contains("prometheus"), "{fault:?}: {stderr}");
            if dir.path().join("gk.db").exists() {
                assert!(stored(&url).await.is_empty(), "{fault:?}: half-stored");
            }
        }
        drop(server);
        // Recovery: Prometheus answers again.
        let out = collect(dir.path(), &url, &base).await;
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            stored(&url).await.len(),
            WINDOWS,
            "{fault:?} after recovery"
        );
    }
}

/// The clock going backwards between runs (a host corrected by NTP, a restored snapshot): a
/// collection resumes at the latest window stored before `now` (the watermark), so nothing is
/// collected twice, and what the clock skips back over is collected when it is due again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clock_jump_backwards_stores_no_window_twice() {
    let mut keep = Vec::new();
    let sources = healthy(&mut keep).await;
    let dir = tempfile::tempdir().expect("dir");
    let url = format!("sqlite://{}", dir.path().join("gk.db").display());
    let run = |now: &'static str| {
        let mut cmd = std::process::Command::cargo_bin("greenkube").expect("binary");
        cmd.current_dir(dir.path())
            .env_remove("GREENKUBE_STORE")
            .args([
                "collect",
                "--once",
                "--now",
                now,
                "--since",
                SINCE,
                "--cluster",
                "faults",
            ])
            .args(["--store", &url, "--source-timeout", "5", "--no-kubernetes"])
            .args(["--prometheus-url", &sources.prometheus]);
        cmd
    };
    // 01:00 collects 00:30-01:00; back to 00:40: 00:30 and 00:35 are stored, so nothing is
    // due; 01:00 again: nothing; back to 00:20: nothing stored before it, so 23:50-00:20.
    let expected_notes = [
        (NOW, "stored 6 windows"),
        ("2024-01-01T00:40:00Z", "nothing to collect"),
        (NOW, "nothing to collect"),
        ("2024-01-01T00:20:00Z", "stored 6 windows"),
    ];
    for (now, said) in expected_notes {
        let out = tokio::task::spawn_blocking({
            let mut cmd = run(now);
            move || cmd.output().expect("runs")
        })
        .await
        .expect("joins");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{now}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert!(stderr.contains(said), "{now}: {stderr}");
    }
    let windows: Vec<String> = stored(&url).await.into_keys().collect();
    let at = |hm: &str| format!("{hm}:00+00:00");
    let mut expected: Vec<String> = ["2023-12-31T23:50", "2023-12-31T23:55"]
        .iter()
        .map(|t| at(t))
        .collect();
    for minute in [0, 5, 10, 15, 30, 35, 40, 45, 50, 55] {
        expected.push(at(&format!("2024-01-01T00:{minute:02}")));
    }
    assert_eq!(windows, expected);
}

/// Totals of a store by cluster, for comparing two runs.
fn totals(dir: &Path, url: &str) -> serde_json::Value {
    let out = std::process::Command::cargo_bin("greenkube")
        .expect("binary")
        .current_dir(dir)
        .env_remove("GREENKUBE_STORE")
        .args([
            "report",
            "--store",
            url,
            "--from",
            "2000-01-01",
            "--to",
            "2100-01-01",
        ])
        .args(["--group-by", "cluster", "--format", "json"])
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("json")
}

fn demo_cmd(dir: &Path, url: &str) -> std::process::Command {
    let mut cmd = std::process::Command::cargo_bin("greenkube").expect("binary");
    cmd.current_dir(dir)
        .env_remove("GREENKUBE_STORE")
        .args([
            "demo",
            "--no-serve",
            "--days",
            "2",
            "--end",
            "2026-01-03T00:00:00Z",
        ])
        .args(["--store", url])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    cmd
}

/// `kill -9` at moments spread over a demo's loading, then the demo again: the store opens, and
/// its windows and totals are those of an uninterrupted run.
#[test]
fn kill_9_during_the_demo_then_a_rerun_equals_an_uninterrupted_run() {
    let reference = tempfile::tempdir().expect("dir");
    let reference_url = format!("sqlite://{}", reference.path().join("gk.db").display());
    let out = demo_cmd(reference.path(), &reference_url)
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let expected = totals(reference.path(), &reference_url);
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let expected_windows = runtime.block_on(stored(&reference_url)).len();
    assert_eq!(expected_windows, 576);
    for delay_ms in [30, 120, 300, 700, 1500] {
        let dir = tempfile::tempdir().expect("dir");
        let url = format!("sqlite://{}", dir.path().join("gk.db").display());
        let mut child = demo_cmd(dir.path(), &url).spawn().expect("starts");
        std::thread::sleep(Duration::from_millis(delay_ms));
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        let out = demo_cmd(dir.path(), &url).output().expect("runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "after a kill at {delay_ms} ms: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert_eq!(
            runtime.block_on(stored(&url)).len(),
            expected_windows,
            "kill at {delay_ms} ms"
        );
        let got = totals(dir.path(), &url);
        assert_eq!(
            crate::figures::differs(&got, &expected, "totals"),
            None,
            "kill at {delay_ms} ms (sums to a relative 1e-9: roll-ups add in another order)"
        );
    }
}

/// The disk fills up during the demo (the file size limit is lowered, as a full file system
/// refuses writes): a clear error naming the store, no panic, nothing half-stored; with room
/// again, the demo completes exactly as an uninterrupted run.
#[test]
fn a_full_disk_fails_clearly_and_a_rerun_completes() {
    let dir = tempfile::tempdir().expect("dir");
    let url = format!("sqlite://{}", dir.path().join("gk.db").display());
    let bin = assert_cmd::cargo::cargo_bin("greenkube");
    // `ulimit -f` in 512-byte blocks: 2 MiB, a few batches; SIGXFSZ ignored so writes fail
    // with EFBIG instead of killing the process.
    let out = std::process::Command::new("sh")
        .current_dir(dir.path())
        .env_remove("GREENKUBE_STORE")
        .arg("-c")
        .arg(format!(
            "trap '' XFSZ; ulimit -f 4096; exec '{}' demo --no-serve --days 2 \
             --end 2026-01-03T00:00:00Z --store '{url}'",
            bin.display()
        ))
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "the write limit was not reached: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        stderr.contains("error:") && stderr.contains("gk.db"),
        "{stderr}"
    );
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let partial = runtime.block_on(stored(&url)).len();
    assert!(partial < 576, "{partial} windows");
    let out = demo_cmd(dir.path(), &url).output().expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(runtime.block_on(stored(&url)).len(), 576);
}

/// `kill -9` at moments spread over a collection of twelve hours, then the collection again:
/// every window once, the same totals as an uninterrupted collection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_during_collect_then_a_rerun_equals_an_uninterrupted_run() {
    let prometheus = required("GREENKUBE_TEST_PROMETHEUS_URL");
    let command = |dir: &Path, url: &str| {
        let mut cmd = std::process::Command::cargo_bin("greenkube").expect("binary");
        cmd.current_dir(dir)
            .env_remove("GREENKUBE_STORE")
            .args([
                "collect",
                "--once",
                "--now",
                "2024-01-01T02:00:00Z",
                "--since",
                "12h",
            ])
            .args(["--cluster", "faults", "--no-kubernetes", "--store", url])
            .args(["--prometheus-url", &prometheus, "--source-timeout", "5"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped());
        cmd
    };
    let reference = tempfile::tempdir().expect("dir");
    let reference_url = format!("sqlite://{}", reference.path().join("gk.db").display());
    let out = command(reference.path(), &reference_url)
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let expected = stored(&reference_url).await;
    assert_eq!(expected.len(), 144);
    let expected_totals = totals(reference.path(), &reference_url);
    let expected_rows = rows(&reference_url, all_time()).await;
    for delay_ms in [40, 150, 400, 900] {
        let dir = tempfile::tempdir().expect("dir");
        let url = format!("sqlite://{}", dir.path().join("gk.db").display());
        let mut child = command(dir.path(), &url).spawn().expect("starts");
        tokio::time::sleep(Duration::from_millis(delay_ms)).await;
        let _ = child.kill();
        let _ = child.wait();
        let out = command(dir.path(), &url).output().expect("runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "after a kill at {delay_ms} ms: {stderr}"
        );
        assert_eq!(stored(&url).await.len(), 144, "kill at {delay_ms} ms");
        // Every row the same, field for field and bit for bit.
        let got_rows = rows(&url, all_time()).await;
        assert_eq!(got_rows.len(), expected_rows.len(), "kill at {delay_ms} ms");
        if let Some((got, want)) = got_rows.iter().zip(&expected_rows).find(|(a, b)| a != b) {
            panic!("kill at {delay_ms} ms: a row differs:\n{got:?}\nwanted\n{want:?}");
        }
        // The same rows; their sums may differ in the last bits (a partial run may have
        // rolled some hours up before the rerun, and a roll-up adds in another order).
        let got = totals(dir.path(), &url);
        assert_eq!(
            crate::figures::differs(&got, &expected_totals, "totals"),
            None,
            "kill at {delay_ms} ms"
        );
    }
}
