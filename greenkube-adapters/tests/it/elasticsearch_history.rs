//! The history repositories' contract against an Elasticsearch-API server, and what only a
//! server shows: opening from a URL, schema versions, archived snapshots compressed and
//! surviving a reopening, a node-history writer cut off after its commit, concurrent writers.
//!
//! The server comes from `GREENKUBE_TEST_ES_URL` (`eval "$(scripts/es-service.sh start)"`, or
//! `scripts/test.sh`, which starts the `osmem-server` emulator). Without it every test here
//! fails, saying so. Each test works under an index prefix of its own and removes its indices
//! at the end.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::time::Duration as StdDuration;

use chrono::Duration;
use greenkube_adapters::store::OpenOptions;
use greenkube_adapters::store::elasticsearch::{
    ElasticsearchConfig, ElasticsearchStore, HISTORY_INDICES,
};
use greenkube_adapters::store::open_with;
use greenkube_core::Node;
use greenkube_core::ports::{
    IntensityHistory, IntensityPoint, NodeHistory, RecommendationStore, SnapshotArchive,
    StoreErrorKind,
};
use greenkube_core::recommend::{
    Recommendation, RecommendationStatus, RecommendationType, Scope, reconcile,
};
use greenkube_core::testsuite::fixtures::{at, snapshot};
use greenkube_core::testsuite::history_contract::HistoryFixture;
use greenkube_core::units::Cores;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const URL_VAR: &str = "GREENKUBE_TEST_ES_URL";

/// The test server's URL. Fails the test when it is not set: these tests never skip.
fn server_url() -> String {
    match std::env::var(URL_VAR) {
        Ok(url) if !url.trim().is_empty() => url.trim().trim_end_matches('/').to_string(),
        _ => panic!(
            "{URL_VAR} is not set, so the Elasticsearch history repositories cannot be tested. \
             Run scripts/test.sh (it starts the osmem-server emulator and sets {URL_VAR}), or \
             start it yourself with `eval \"$(scripts/es-service.sh start)\"` before `cargo test`"
        ),
    }
}

/// `host:port` of an `http://host:port` URL.
fn authority(url: &str) -> String {
    let rest = url
        .strip_prefix("http://")
        .unwrap_or_else(|| panic!("{URL_VAR} must be an http:// URL, not `{url}`"));
    rest.split(['/', '?']).next().unwrap_or(rest).to_string()
}

/// An index prefix no other test (in this process or another) uses.
fn unique_prefix() -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!(
        "gk-hist-{}-{nanos}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// Sends one request with a plain blocking socket (usable in `Drop`); returns the status and
/// the body.
fn blocking_request(url: &str, method: &str, path: &str, body: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let host = authority(url);
    let Ok(mut stream) = std::net::TcpStream::connect(&host) else {
        return (0, String::new());
    };
    let _ = stream.set_read_timeout(Some(StdDuration::from_secs(10)));
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    if stream.write_all(request.as_bytes()).is_err() {
        return (0, String::new());
    }
    let mut reply = String::new();
    let _ = stream.read_to_string(&mut reply);
    let status = reply
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = reply
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

/// The indices of one test: a prefix, removed (indices and templates) when dropped.
struct Indices {
    server: String,
    prefix: String,
}

impl Indices {
    fn new() -> Self {
        Self {
            server: server_url(),
            prefix: unique_prefix(),
        }
    }

    fn url(&self) -> String {
        format!("{}?index_prefix={}", self.server, self.prefix)
    }

    async fn open(&self) -> ElasticsearchStore {
        ElasticsearchStore::open(&self.url(), OpenOptions::default())
            .await
            .unwrap_or_else(|e| panic!("opens the test indices at {}: {e}", self.server))
            .0
    }

    fn request(&self, method: &str, path: &str, body: &str) -> (u16, String) {
        blocking_request(&self.server, method, path, body)
    }

    fn names(&self) -> Vec<String> {
        HISTORY_INDICES
            .iter()
            .chain(&["footprints", "meta", "rollups"])
            .map(|s| format!("{}-{s}", self.prefix))
            .collect()
    }
}

impl Drop for Indices {
    fn drop(&mut self) {
        // One by one: a request naming a missing index fails as a whole.
        for name in self.names() {
            self.request("DELETE", &format!("/{name}"), "");
            self.request("DELETE", &format!("/_index_template/{name}"), "");
        }
    }
}

mod contract {
    use super::*;

    async fn fixture() -> HistoryFixture {
        let indices = Indices::new();
        let repository = indices.open().await;
        HistoryFixture::all(repository).with_guard(indices)
    }

    greenkube_core::history_contract_suite!(fixture);
}

#[tokio::test]
async fn open_history_serves_http_urls_and_migrates_once() {
    let indices = Indices::new();
    let history = open_with(&indices.url(), OpenOptions::default())
        .await
        .expect("opens");
    assert_eq!(history.archive.backend(), "elasticsearch");
    assert_eq!(history.nodes.backend(), "elasticsearch");
    assert_eq!(history.ledger.backend(), "elasticsearch");
    let snap = snapshot("prod", at(2025, 6, 2, 10, 0));
    history.archive.archive(&snap).await.expect("archives");
    for name in &indices.names()[..HISTORY_INDICES.len()] {
        let (status, _) = indices.request("GET", &format!("/_index_template/{name}"), "");
        assert_eq!(status, 200, "the index template of {name} is installed");
    }
    let (again, report) = ElasticsearchStore::open(&indices.url(), OpenOptions::default())
        .await
        .expect("opens again");
    assert!(report.applied.is_empty(), "already up to date: {report:?}");
    assert_eq!(
        again
            .snapshot(Some("prod"), snap.window_start)
            .await
            .unwrap(),
        Some(snap)
    );
}

#[tokio::test]
async fn a_missing_store_is_unavailable_and_an_existing_one_gets_its_history_indices() {
    let indices = Indices::new();
    let must_exist = OpenOptions {
        create_if_missing: false,
    };
    let err = open_with(&indices.url(), must_exist)
        .await
        .expect_err("no indices");
    assert_eq!(err.kind(), StoreErrorKind::Unavailable, "{err}");
    assert!(err.to_string().contains("no greenkube indices"), "{err}");
    // A store made before the history indices existed (its footprint indices only) gets them.
    drop(indices.open().await);
    for name in &indices.names()[..HISTORY_INDICES.len()] {
        indices.request("DELETE", &format!("/{name}"), "");
        indices.request("DELETE", &format!("/_index_template/{name}"), "");
    }
    let (history, report) = ElasticsearchStore::open(&indices.url(), must_exist)
        .await
        .expect("an existing store is migrated");
    assert!(
        report.applied.is_empty(),
        "footprints up to date: {report:?}"
    );
    for name in &indices.names()[..HISTORY_INDICES.len()] {
        let (status, _) = indices.request("GET", &format!("/_index_template/{name}"), "");
        assert_eq!(
            status, 200,
            "the index template of {name} is installed again"
        );
    }
    assert!(history.records().await.unwrap().is_empty());
}

#[tokio::test]
async fn newer_or_foreign_history_indices_are_conflicts() {
    let indices = Indices::new();
    drop(indices.open().await);
    let (status, _) = indices.request(
        "PUT",
        &format!("/{}-nodes/_mapping", indices.prefix),
        r#"{"_meta": {"greenkube_schema_version": 2}}"#,
    );
    assert_eq!(status, 200, "the test can change the mapping's _meta");
    let err = ElasticsearchStore::open(&indices.url(), OpenOptions::default())
        .await
        .expect_err("newer schema");
    assert_eq!(err.kind(), StoreErrorKind::Conflict, "{err}");
    assert!(err.to_string().contains("newer greenkube"), "{err}");

    let foreign = Indices::new();
    let (status, _) = foreign.request(
        "PUT",
        &format!("/{}-savings", foreign.prefix),
        r#"{"mappings": {"properties": {"x": {"type": "keyword"}}}}"#,
    );
    assert_eq!(status, 200);
    let err = ElasticsearchStore::open(&foreign.url(), OpenOptions::default())
        .await
        .expect_err("foreign index");
    assert_eq!(err.kind(), StoreErrorKind::Conflict, "{err}");
    assert!(err.to_string().contains("not made by greenkube"), "{err}");
}

#[tokio::test]
async fn archived_snapshots_are_gzip_in_a_binary_field_and_survive_reopening() {
    let indices = Indices::new();
    let snap = snapshot("prod", at(2025, 6, 2, 10, 0));
    indices.open().await.archive(&snap).await.expect("archives");
    let (status, body) = indices.request(
        "POST",
        &format!("/{}-snapshots/_search", indices.prefix),
        r#"{"query": {"match_all": {}}}"#,
    );
    assert_eq!(status, 200, "{body}");
    let reply: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    let hits = reply["hits"]["hits"].as_array().expect("hits");
    assert_eq!(hits.len(), 1);
    let stored = hits[0]["_source"]["body"].as_str().expect("base64 body");
    let json = serde_json::to_vec(&snap).unwrap().len();
    assert!(
        stored.len() < json,
        "archived {} base64 characters for {json} bytes of JSON",
        stored.len()
    );
    assert!(
        stored.starts_with("H4sI"),
        "gzip magic, base64: {stored:.8}"
    );
    let (_, mapping) = indices.request(
        "GET",
        &format!("/{}-snapshots/_mapping", indices.prefix),
        "",
    );
    assert!(mapping.contains(r#""binary""#), "{mapping}");
    let reopened = indices.open().await;
    assert_eq!(
        reopened
            .snapshot(Some("prod"), snap.window_start)
            .await
            .unwrap(),
        Some(snap)
    );
}

/// A TCP proxy in front of the test server that cuts every connection at the first `_bulk`
/// request once armed.
struct Proxy {
    address: SocketAddr,
    armed: Arc<AtomicBool>,
}

impl Proxy {
    async fn start() -> Self {
        let target = authority(&server_url());
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("binds");
        let address = listener.local_addr().expect("address");
        let armed = Arc::new(AtomicBool::new(false));
        let cut = Arc::new(AtomicBool::new(false));
        let (a, c) = (armed.clone(), cut.clone());
        tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    return;
                };
                if c.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                let Ok(server) = TcpStream::connect(&target).await else {
                    continue;
                };
                tokio::spawn(pump(client, server, a.clone(), c.clone()));
            }
        });
        Self { address, armed }
    }

    fn url(&self, indices: &Indices) -> String {
        format!("http://{}?index_prefix={}", self.address, indices.prefix)
    }
}

async fn pump(
    mut client: TcpStream,
    mut server: TcpStream,
    armed: Arc<AtomicBool>,
    cut: Arc<AtomicBool>,
) {
    let (mut client_read, mut client_write) = client.split();
    let (mut server_read, mut server_write) = server.split();
    let upstream = async {
        let mut buf = vec![0_u8; 64 * 1024];
        loop {
            let n = match client_read.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            let bulk = buf[..n]
                .windows(b"POST /_bulk".len())
                .any(|w| w == b"POST /_bulk");
            if bulk && armed.load(Ordering::SeqCst) {
                cut.store(true, Ordering::SeqCst);
            }
            if cut.load(Ordering::SeqCst) || server_write.write_all(&buf[..n]).await.is_err() {
                return;
            }
        }
    };
    let downstream = async {
        let mut buf = vec![0_u8; 64 * 1024];
        loop {
            let n = match server_read.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            if cut.load(Ordering::SeqCst) || client_write.write_all(&buf[..n]).await.is_err() {
                return;
            }
        }
    };
    tokio::select! {
        () = upstream => {},
        () = downstream => {},
    }
}

fn node(name: &str, cores: f64) -> Node {
    Node {
        name: Arc::from(name),
        provider: Some(Arc::from("aws")),
        instance_type: Some(Arc::from("m5.large")),
        cpu_capacity_cores: Some(Cores(cores)),
        ..Node::default()
    }
}

#[tokio::test]
async fn a_node_change_committed_but_cut_off_is_finished_by_the_next_caller() {
    let indices = Indices::new();
    let direct = indices.open().await;
    let (t1, t2) = (at(2025, 6, 1, 0, 0), at(2025, 6, 2, 0, 0));
    direct
        .record_nodes(Some("c"), t1, &[node("a", 2.0), node("b", 2.0)])
        .await
        .expect("records");
    let proxy = Proxy::start().await;
    let mut config = ElasticsearchConfig::from_url(&proxy.url(&indices)).expect("proxy URL");
    config.request_timeout = StdDuration::from_secs(5);
    let (through_proxy, _) = ElasticsearchStore::open_with_config(config, OpenOptions::default())
        .await
        .expect("opens through the proxy");
    proxy.armed.store(true, Ordering::SeqCst);
    // The state swap (a PUT) goes through; the version documents (a _bulk) never arrive.
    let err = through_proxy
        .record_nodes(Some("c"), t2, &[node("a", 4.0)])
        .await
        .expect_err("cut off after the commit");
    assert_eq!(err.kind(), StoreErrorKind::Unavailable, "{err}");
    // A reader finishes the committed change before it reads.
    assert_eq!(
        direct.nodes_at(Some("c"), t2).await.unwrap(),
        vec![node("a", 4.0)]
    );
    let a = direct.node_versions(Some("c"), "a").await.unwrap();
    assert_eq!(a.len(), 2);
    assert_eq!(
        (a[0].valid_to, a[1].valid_from, a[1].valid_to),
        (Some(t2), t2, None)
    );
    let b = direct.node_versions(Some("c"), "b").await.unwrap();
    assert_eq!(b[0].valid_to, Some(t2), "b vanished at t2");
    // The writer's retry of the same observation changes nothing more.
    direct
        .record_nodes(Some("c"), t2, &[node("a", 4.0)])
        .await
        .expect("records again");
    assert_eq!(direct.node_versions(Some("c"), "a").await.unwrap(), a);
}

#[tokio::test]
async fn concurrent_node_writers_leave_one_consistent_history() {
    let indices = Indices::new();
    let repo = Arc::new(indices.open().await);
    let t0 = at(2025, 6, 1, 0, 0);
    let ok = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for i in 0..8_i64 {
        let (repo, ok) = (repo.clone(), ok.clone());
        tasks.push(tokio::spawn(async move {
            let when = t0 + Duration::hours(i);
            // Each writer resizes `a` and keeps `b` as it is.
            match repo
                .record_nodes(
                    Some("c"),
                    when,
                    &[node("a", (i + 1) as f64), node("b", 2.0)],
                )
                .await
            {
                Ok(()) => {
                    ok.fetch_add(1, Ordering::SeqCst);
                }
                Err(e) => assert_eq!(e.kind(), StoreErrorKind::InvalidData, "{e}"),
            }
        }));
    }
    for t in tasks {
        t.await.expect("task");
    }
    let written = ok.load(Ordering::SeqCst);
    assert!(written >= 1);
    let a = repo.node_versions(Some("c"), "a").await.unwrap();
    assert_eq!(
        a.len(),
        written,
        "one version of a per accepted observation: {a:?}"
    );
    for pair in a.windows(2) {
        assert_eq!(
            pair[0].valid_to,
            Some(pair[1].valid_from),
            "contiguous: {a:?}"
        );
    }
    assert_eq!(
        a.last().and_then(|v| v.valid_to),
        None,
        "the last one is current"
    );
    let b = repo.node_versions(Some("c"), "b").await.unwrap();
    assert_eq!(b.len(), 1, "b never changed: {b:?}");
    assert_eq!(b[0].valid_to, None);
}

fn recommendation(id: &str) -> Recommendation {
    Recommendation {
        id: id.into(),
        kind: RecommendationType::UnderutilizedNode,
        scope: Scope::Node,
        priority: RecommendationType::UnderutilizedNode.priority(),
        namespace: None,
        target_kind: None,
        target: id.into(),
        node: Some(id.into()),
        reason: "test".into(),
        current_cpu_request_cores: None,
        recommended_cpu_request_cores: None,
        current_memory_request_bytes: None,
        recommended_memory_request_bytes: None,
        schedule: None,
        changes: Vec::new(),
        savings_co2e_grams_per_year: 10.0,
        savings_cost_per_year: None,
        savings_co2e_grams_per_year_interval: [5.0, 20.0],
        savings_basis: "cluster".into(),
        methodology: "full".into(),
        data_version: "gkdata-test".into(),
        cluster: None,
    }
}

#[tokio::test]
async fn concurrent_lifecycle_changes_are_all_kept() {
    let indices = Indices::new();
    let repo = Arc::new(indices.open().await);
    let now = at(2025, 6, 2, 10, 0);
    let fresh: Vec<Recommendation> = (0..12)
        .map(|i| recommendation(&format!("n{i:02}")))
        .collect();
    repo.replace_records(&reconcile(Vec::new(), &fresh, now))
        .await
        .expect("stores");
    let records = repo.records().await.unwrap();
    let mut tasks = Vec::new();
    for mut record in records {
        let repo = repo.clone();
        tasks.push(tokio::spawn(async move {
            record.ignore(Some("reserve".into()), now);
            repo.update_record(&record).await.expect("updates");
        }));
    }
    for t in tasks {
        t.await.expect("task");
    }
    let stored = repo.records().await.unwrap();
    assert_eq!(stored.len(), 12);
    assert!(
        stored
            .iter()
            .all(|r| r.status == RecommendationStatus::Ignored),
        "no update lost: {:?}",
        stored.iter().map(|r| r.status).collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn intensities_page_past_one_search_page() {
    let indices = Indices::new();
    let repo = indices.open().await;
    let t0 = at(2025, 6, 1, 0, 0);
    let points: Vec<IntensityPoint> = (0..2500)
        .map(|i| IntensityPoint {
            zone: "FR".into(),
            at: t0 + Duration::minutes(i),
            gco2e_per_kwh: i as f64,
            source: "test".into(),
        })
        .collect();
    repo.put_intensities(&points).await.expect("stores");
    let range = greenkube_core::ports::TimeRange::new(t0, t0 + Duration::days(10)).unwrap();
    let back = repo.intensities("FR", range).await.unwrap();
    assert_eq!(back, points);
}
