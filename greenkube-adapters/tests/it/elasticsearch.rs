//! The Elasticsearch store against an Elasticsearch-API server: the footprint repository
//! contract, and what only a server shows (a connection cut mid-batch, a writer that dies
//! holding the lock, readers during writes, concurrent writers, schema versions, unreachable
//! servers).
//!
//! The server comes from `GREENKUBE_TEST_ES_URL`. `scripts/test.sh` starts the `osmem-server`
//! emulator (`scripts/es-service.sh`) and sets it; no real Elasticsearch can be installed on the
//! development machine. Without it every test here fails, saying so. Each test works under an
//! index prefix of its own, so they run in parallel, and removes its indices at the end.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::time::Duration as StdDuration;

use chrono::Duration;
use greenkube_adapters::store::elasticsearch::{
    ElasticsearchConfig, ElasticsearchStore, HISTORY_INDICES, ledger_summary,
};
use greenkube_adapters::store::{self, Backend, OpenOptions};
use greenkube_core::ports::{
    FootprintRepository, PodRecord, PodRowPager, ReportQuery, RetentionPolicy, StoreErrorKind,
    TimeRange, WindowRecords,
};
use greenkube_core::testsuite::RepositoryFixture;
use greenkube_core::testsuite::fixtures::{at, footprint, history, methodology};
use greenkube_core::{Footprint, GroupBy, Methodology, Period, aggregate};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const URL_VAR: &str = "GREENKUBE_TEST_ES_URL";

/// The test server's URL. Fails the test when it is not set: these tests never skip.
fn server_url() -> String {
    match std::env::var(URL_VAR) {
        Ok(url) if !url.trim().is_empty() => url.trim().trim_end_matches('/').to_string(),
        _ => panic!(
            "{URL_VAR} is not set, so the Elasticsearch store cannot be tested. Run \
             scripts/test.sh (it starts the osmem-server emulator and sets {URL_VAR}), or start \
             it yourself with `eval \"$(scripts/es-service.sh start)\"` before `cargo test`"
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
        "gk-test-{}-{nanos}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// Sends one request with a plain blocking socket (usable in `Drop`); returns the status.
fn blocking_request(url: &str, method: &str, path: &str, body: &str) -> u16 {
    use std::io::{Read, Write};
    let host = authority(url);
    let Ok(mut stream) = std::net::TcpStream::connect(&host) else {
        return 0;
    };
    let _ = stream.set_read_timeout(Some(StdDuration::from_secs(10)));
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    if stream.write_all(request.as_bytes()).is_err() {
        return 0;
    }
    let mut reply = String::new();
    let _ = stream.read_to_string(&mut reply);
    reply
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
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

    fn config(&self) -> ElasticsearchConfig {
        ElasticsearchConfig::from_url(&self.url()).expect("test URL parses")
    }

    async fn open(&self) -> ElasticsearchStore {
        ElasticsearchStore::open(&self.url(), OpenOptions::default())
            .await
            .unwrap_or_else(|e| panic!("opens the test indices at {}: {e}", self.server))
            .0
    }

    fn request(&self, method: &str, path: &str, body: &str) -> u16 {
        blocking_request(&self.server, method, path, body)
    }
}

impl Drop for Indices {
    fn drop(&mut self) {
        let p = &self.prefix;
        // One by one: a request naming a missing index fails as a whole.
        for index in ["footprints", "meta", "rollups"]
            .iter()
            .chain(&HISTORY_INDICES)
        {
            self.request("DELETE", &format!("/{p}-{index}"), "");
            self.request("DELETE", &format!("/_index_template/{p}-{index}"), "");
        }
    }
}

async fn fixture() -> RepositoryFixture {
    let indices = Indices::new();
    let repository = indices.open().await;
    RepositoryFixture::with_guard(repository, indices)
}

greenkube_core::footprint_repository_contract_suite!(fixture);

mod retention {
    use super::fixture;

    greenkube_core::retention_contract_suite!(fixture);
}

fn everything() -> TimeRange {
    TimeRange::new(at(1970, 1, 1, 0, 0), at(9999, 12, 31, 0, 0)).expect("range")
}

async fn read_all(repo: &dyn FootprintRepository) -> Vec<PodRecord> {
    let mut pager = PodRowPager::new(repo, everything(), 1000);
    let mut out = Vec::new();
    while let Some(rows) = pager.next_page().await.expect("reads a page") {
        out.extend(rows);
    }
    out
}

/// The pod rows after writing `batches` in order, in key order.
fn expected_rows(batches: &[&[Footprint]]) -> Vec<PodRecord> {
    let mut latest: Vec<&Footprint> = Vec::new();
    for fp in batches.iter().flat_map(|b| b.iter()) {
        let cluster = WindowRecords::from_footprint(fp).cluster;
        latest.retain(|f| {
            !(f.window_start == fp.window_start
                && WindowRecords::from_footprint(f).cluster == cluster)
        });
        latest.push(fp);
    }
    let mut rows: Vec<PodRecord> = latest
        .iter()
        .flat_map(|fp| WindowRecords::from_footprint(fp).pods)
        .collect();
    rows.sort_by(|a, b| {
        (a.window_start, &a.cluster, &a.namespace, &a.pod).cmp(&(
            b.window_start,
            &b.cluster,
            &b.namespace,
            &b.pod,
        ))
    });
    rows
}

fn windows_of(cluster: &str, seed: u64, count: usize) -> Vec<Footprint> {
    let m = methodology(Methodology::Full, "gkdata-0123456789ab");
    let t0 = at(2025, 6, 2, 0, 0);
    (0..count)
        .map(|i| {
            let start = t0 + Duration::minutes(5 * i64::try_from(i).expect("small"));
            footprint(Some(cluster), start, seed + i as u64, &m)
        })
        .collect()
}

fn document_count(footprints: &[Footprint]) -> (u64, u64) {
    let pods = footprints.iter().map(|f| f.pods.len() as u64).sum();
    let nodes = footprints.iter().map(|f| f.nodes.len() as u64).sum();
    (pods, nodes)
}

/// A TCP proxy in front of the test server that can cut connections (after a number of
/// `_bulk` requests, the next one dropped before it reaches the server, or at once) and hold
/// `_search` requests back for a while.
struct Proxy {
    address: SocketAddr,
    /// `_bulk` requests still let through; below zero the proxy is cut.
    bulk_budget: Arc<AtomicI64>,
    cut: Arc<AtomicBool>,
    /// Milliseconds each `_search` request waits before it is forwarded.
    search_delay_ms: Arc<AtomicU64>,
}

impl Proxy {
    async fn start() -> Self {
        let target = authority(&server_url());
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("binds");
        let address = listener.local_addr().expect("address");
        let bulk_budget = Arc::new(AtomicI64::new(i64::MAX));
        let cut = Arc::new(AtomicBool::new(false));
        let search_delay_ms = Arc::new(AtomicU64::new(0));
        let (budget, state, delay) = (bulk_budget.clone(), cut.clone(), search_delay_ms.clone());
        tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    return;
                };
                if state.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                let Ok(server) = TcpStream::connect(&target).await else {
                    continue;
                };
                tokio::spawn(pump(
                    client,
                    server,
                    budget.clone(),
                    state.clone(),
                    delay.clone(),
                ));
            }
        });
        Self {
            address,
            bulk_budget,
            cut,
            search_delay_ms,
        }
    }

    fn url(&self, indices: &Indices) -> String {
        format!("http://{}?index_prefix={}", self.address, indices.prefix)
    }

    /// Lets `n` more `_bulk` requests through, then cuts every connection.
    fn cut_after_bulk_requests(&self, n: i64) {
        self.bulk_budget.store(n, Ordering::SeqCst);
    }

    /// Cuts every connection now (each at its next byte) and refuses new ones.
    fn cut_now(&self) {
        self.cut.store(true, Ordering::SeqCst);
    }

    /// Holds each `_search` request back for `delay` before forwarding it.
    fn delay_searches(&self, delay: StdDuration) {
        let ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
        self.search_delay_ms.store(ms, Ordering::SeqCst);
    }

    /// Lets everything through again.
    fn heal(&self) {
        self.bulk_budget.store(i64::MAX, Ordering::SeqCst);
        self.cut.store(false, Ordering::SeqCst);
    }
}

async fn pump(
    mut client: TcpStream,
    mut server: TcpStream,
    budget: Arc<AtomicI64>,
    cut: Arc<AtomicBool>,
    search_delay_ms: Arc<AtomicU64>,
) {
    let (mut client_read, mut client_write) = client.split();
    let (mut server_read, mut server_write) = server.split();
    let upstream = async {
        let mut buf = vec![0_u8; 64 * 1024];
        let mut tail: Vec<u8> = Vec::new();
        loop {
            let n = match client_read.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            if cut.load(Ordering::SeqCst) {
                return;
            }
            let mut seen = tail.clone();
            seen.extend_from_slice(&buf[..n]);
            let bulks = seen
                .windows(b"POST /_bulk".len())
                .filter(|w| *w == b"POST /_bulk")
                .count();
            let searches = seen.windows(b"/_search".len()).any(|w| w == b"/_search");
            tail = seen[seen.len().saturating_sub(16)..].to_vec();
            let delay = search_delay_ms.load(Ordering::SeqCst);
            if searches && delay > 0 {
                tokio::time::sleep(StdDuration::from_millis(delay)).await;
            }
            for _ in 0..bulks {
                if budget.fetch_sub(1, Ordering::SeqCst) <= 0 {
                    cut.store(true, Ordering::SeqCst);
                    return;
                }
            }
            if server_write.write_all(&buf[..n]).await.is_err() {
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

#[tokio::test]
async fn store_open_migrates_once_and_redacts() {
    let indices = Indices::new();
    let url = format!(
        "{}?index_prefix={}",
        server_url().replacen("http://", "http://greenkube:s3cret@", 1),
        indices.prefix
    );
    let repos = store::open(&url).await.expect("opens");
    assert_eq!(repos.backend, Backend::Elasticsearch);
    assert_eq!(repos.footprints.backend(), "elasticsearch");
    assert!(
        repos.location.contains("greenkube:***@"),
        "{}",
        repos.location
    );
    assert!(!repos.location.contains("s3cret"));
    assert_eq!(repos.migrations.schema_version, 2);
    assert_eq!(repos.migrations.applied.len(), 2, "{:?}", repos.migrations);
    let again = store::open(&url).await.expect("opens again");
    assert!(again.migrations.applied.is_empty(), "already up to date");
    assert_eq!(
        indices.request(
            "GET",
            &format!("/_index_template/{}-footprints", indices.prefix),
            ""
        ),
        200,
        "the index template is installed"
    );
    for index in HISTORY_INDICES {
        let path = format!("/_index_template/{}-{index}", indices.prefix);
        assert_eq!(
            indices.request("GET", &path, ""),
            200,
            "the history indices are created with the footprint ones"
        );
    }
}

#[tokio::test]
async fn reading_a_missing_store_is_unavailable() {
    let indices = Indices::new();
    let err = store::open_with(
        &indices.url(),
        OpenOptions {
            create_if_missing: false,
        },
    )
    .await
    .expect_err("no indices");
    assert_eq!(err.kind(), StoreErrorKind::Unavailable, "{err}");
    assert!(err.to_string().contains("no greenkube indices"), "{err}");
}

#[tokio::test]
async fn newer_or_foreign_indices_are_conflicts() {
    let indices = Indices::new();
    drop(indices.open().await);
    let status = indices.request(
        "PUT",
        &format!("/{}-footprints/_mapping", indices.prefix),
        r#"{"_meta": {"greenkube_schema_version": 3}}"#,
    );
    assert_eq!(status, 200, "the test can change the mapping's _meta");
    let err = store::open(&indices.url()).await.expect_err("newer schema");
    assert_eq!(err.kind(), StoreErrorKind::Conflict, "{err}");
    assert!(err.to_string().contains("newer greenkube"), "{err}");

    let foreign = Indices::new();
    let status = foreign.request(
        "PUT",
        &format!("/{}-footprints", foreign.prefix),
        r#"{"mappings": {"properties": {"x": {"type": "keyword"}}}}"#,
    );
    assert_eq!(status, 200);
    let err = store::open(&foreign.url())
        .await
        .expect_err("foreign index");
    assert_eq!(err.kind(), StoreErrorKind::Conflict, "{err}");
    assert!(err.to_string().contains("not made by greenkube"), "{err}");
}

#[tokio::test]
async fn unreachable_servers_are_unavailable() {
    let err = store::open("http://127.0.0.1:1?index_prefix=nothing")
        .await
        .expect_err("nothing listens on port 1");
    assert_eq!(err.kind(), StoreErrorKind::Unavailable, "{err}");

    let indices = Indices::new();
    let proxy = Proxy::start().await;
    let (repo, _) = ElasticsearchStore::open(&proxy.url(&indices), OpenOptions::default())
        .await
        .expect("opens through the proxy");
    let batch = windows_of("prod", 1, 2);
    repo.write_footprints(&batch).await.expect("writes");
    proxy.cut_now();
    let err = repo
        .aggregate(&ReportQuery::new(everything(), GroupBy::Cluster))
        .await
        .expect_err("server gone");
    assert_eq!(err.kind(), StoreErrorKind::Unavailable, "{err}");
    let err = repo
        .read_pod_rows(everything(), None, 10)
        .await
        .expect_err("server gone");
    assert_eq!(err.kind(), StoreErrorKind::Unavailable, "{err}");
    let err = repo
        .write_footprints(&batch)
        .await
        .expect_err("server gone");
    assert_eq!(err.kind(), StoreErrorKind::Unavailable, "{err}");
    proxy.heal();
    repo.write_footprints(&batch)
        .await
        .expect("writes once the server is back");
    assert_eq!(read_all(&repo).await, expected_rows(&[&batch]));
}

/// The issue's fault test: the connection breaks in the middle of a batch (after some of its
/// `_bulk` requests); nothing of the batch is visible, what was stored before is intact, and
/// retrying the same batch completes.
#[tokio::test]
async fn connection_lost_mid_batch_leaves_nothing_and_a_retry_completes() {
    let indices = Indices::new();
    let proxy = Proxy::start().await;
    let mut config = ElasticsearchConfig::from_url(&proxy.url(&indices)).expect("parses");
    config.bulk_documents = 10;
    let (repo, _) = ElasticsearchStore::open_with_config(config, OpenOptions::default())
        .await
        .expect("opens through the proxy");
    let direct = indices.open().await;

    let first = windows_of("prod", 1, 3);
    repo.write_footprints(&first).await.expect("first batch");
    let rows_before = read_all(&direct).await;
    let totals_before = direct
        .aggregate(&ReportQuery::new(everything(), GroupBy::Node))
        .await
        .expect("aggregates");

    // Restates the three windows (other figures) and adds seven: 110 documents, 11 requests.
    let second = windows_of("prod", 50, 10);
    proxy.cut_after_bulk_requests(4);
    let err = repo
        .write_footprints(&second)
        .await
        .expect_err("the connection breaks mid-batch");
    assert_eq!(err.kind(), StoreErrorKind::Unavailable, "{err}");
    proxy.heal();

    assert_eq!(
        read_all(&direct).await,
        rows_before,
        "half a batch is visible"
    );
    assert_eq!(
        direct
            .aggregate(&ReportQuery::new(everything(), GroupBy::Node))
            .await
            .expect("aggregates"),
        totals_before,
        "half a batch is counted"
    );
    let (committed, _, lock, in_flight) = ledger_summary(&direct).await.expect("ledger");
    assert_eq!(committed, 1);
    assert!(lock.is_some(), "the broken writer still holds the lock");
    assert_eq!(in_flight, vec![(2, "pending".to_string())]);
    let (pods, _) = direct.count_documents().await.expect("counts");
    assert!(
        pods > document_count(&first).0,
        "the cut came after some rows were written ({pods} pod documents)"
    );

    let summary = repo
        .write_footprints(&second)
        .await
        .expect("the retry completes");
    assert_eq!(summary.pod_rows, document_count(&second).0 as usize);
    assert_eq!(summary.replaced_pod_rows, document_count(&first).0 as usize);
    assert_eq!(read_all(&direct).await, expected_rows(&[&first, &second]));
    assert_eq!(
        direct
            .aggregate(&ReportQuery::new(everything(), GroupBy::Node))
            .await
            .expect("aggregates"),
        aggregate(&second, GroupBy::Node, None)
    );
    assert_eq!(
        direct.count_documents().await.expect("counts"),
        document_count(&second),
        "one document per pod and node: the broken batch's rows are gone"
    );
    let (committed, _, lock, in_flight) = ledger_summary(&direct).await.expect("ledger");
    assert_eq!(committed, 3);
    assert_eq!(lock, None);
    assert_eq!(
        in_flight,
        vec![(2, "aborted".to_string())],
        "the aborted batch stays listed (hidden) for its quarantine"
    );
}

/// A writer dies holding the lock mid-batch; another writer waits for its lease, takes over,
/// aborts the dead batch and writes. Once the quarantine is over, the aborted batch is
/// forgotten.
#[tokio::test]
async fn a_dead_writers_lock_expires_and_its_batch_is_aborted() {
    let indices = Indices::new();
    let proxy = Proxy::start().await;
    let mut config = ElasticsearchConfig::from_url(&proxy.url(&indices)).expect("parses");
    config.bulk_documents = 10;
    config.lock_lease = StdDuration::from_secs(1);
    let (dead, _) = ElasticsearchStore::open_with_config(config, OpenOptions::default())
        .await
        .expect("opens through the proxy");
    let first = windows_of("prod", 1, 4);
    proxy.cut_after_bulk_requests(2);
    dead.write_footprints(&first)
        .await
        .expect_err("dies mid-batch");

    let mut config = indices.config();
    config.lock_lease = StdDuration::from_secs(1);
    config.request_timeout = StdDuration::from_secs(2);
    config.lock_wait = StdDuration::from_secs(20);
    let (live, _) = ElasticsearchStore::open_with_config(config, OpenOptions::default())
        .await
        .expect("opens");
    assert!(
        read_all(&live).await.is_empty(),
        "the dead batch is invisible"
    );
    let second = windows_of("prod", 9, 2);
    live.write_footprints(&second)
        .await
        .expect("takes the expired lock over");
    assert_eq!(read_all(&live).await, expected_rows(&[&second]));
    assert_eq!(
        live.count_documents().await.expect("counts"),
        document_count(&second)
    );
    let (_, _, lock, in_flight) = ledger_summary(&live).await.expect("ledger");
    assert_eq!(lock, None);
    assert_eq!(in_flight, vec![(1, "aborted".to_string())]);

    // Lease plus request time-out later, the next write forgets the aborted batch.
    tokio::time::sleep(StdDuration::from_millis(3200)).await;
    live.write_footprints(&second).await.expect("writes again");
    let (_, _, _, in_flight) = ledger_summary(&live).await.expect("ledger");
    assert!(in_flight.is_empty(), "{in_flight:?}");
    assert_eq!(read_all(&live).await, expected_rows(&[&second]));
}

/// Readers running while a writer rewrites the same windows again and again (each batch in
/// many `_bulk` requests) always see one whole version, never a mix.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readers_never_see_half_a_batch() {
    let indices = Indices::new();
    let mut config = indices.config();
    config.bulk_documents = 8;
    let (writer, _) = ElasticsearchStore::open_with_config(config, OpenOptions::default())
        .await
        .expect("opens");
    let reader = indices.open().await;
    let a = windows_of("prod", 1, 12);
    let b = {
        let mut b = windows_of("prod", 40, 12);
        for fp in &mut b {
            fp.pods.truncate(5);
        }
        b
    };
    writer.write_footprints(&a).await.expect("writes a");
    let versions = [
        (aggregate(&a, GroupBy::Cluster, None), expected_rows(&[&a])),
        (aggregate(&b, GroupBy::Cluster, None), expected_rows(&[&b])),
    ];
    let done = Arc::new(AtomicBool::new(false));
    let reads = Arc::new(AtomicUsize::new(0));
    let read_task = {
        let (done, reads) = (done.clone(), reads.clone());
        let versions = versions.clone();
        tokio::spawn(async move {
            while !done.load(Ordering::SeqCst) {
                let totals = reader
                    .aggregate(&ReportQuery::new(everything(), GroupBy::Cluster))
                    .await
                    .expect("aggregates");
                assert!(
                    versions.iter().any(|(t, _)| *t == totals),
                    "a report saw a mix of two batches: {totals:#?}"
                );
                let page = reader
                    .read_pod_rows(everything(), None, 10_000)
                    .await
                    .expect("reads");
                assert!(
                    versions.iter().any(|(_, rows)| *rows == page.rows),
                    "a page saw a mix of two batches ({} rows)",
                    page.rows.len()
                );
                reads.fetch_add(1, Ordering::SeqCst);
            }
        })
    };
    for round in 0..6 {
        let batch = if round % 2 == 0 { &b } else { &a };
        writer.write_footprints(batch).await.expect("rewrites");
    }
    done.store(true, Ordering::SeqCst);
    read_task.await.expect("the reader saw whole batches only");
    assert!(
        reads.load(Ordering::SeqCst) >= 3,
        "the reader ran during the writes"
    );
    assert_eq!(
        read_all(&writer).await,
        versions[0].1,
        "a is the last version written"
    );
    assert_eq!(
        writer.count_documents().await.expect("counts"),
        document_count(&a)
    );
}

/// A read whose search runs after a commit and its clean-up, with the ledger it read before
/// them, would see neither version (the old rows are deleted, the new ones hidden by its stale
/// watermark); it notices the commit and reads again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_overlapping_a_commit_reads_again() {
    let indices = Indices::new();
    let proxy = Proxy::start().await;
    let (reader, _) = ElasticsearchStore::open(&proxy.url(&indices), OpenOptions::default())
        .await
        .expect("opens through the proxy");
    let writer = indices.open().await;
    let a = windows_of("prod", 1, 4);
    let b = windows_of("prod", 20, 4);
    writer.write_footprints(&a).await.expect("writes a");
    proxy.delay_searches(StdDuration::from_secs(2));
    let read = tokio::spawn(async move {
        reader
            .aggregate(&ReportQuery::new(everything(), GroupBy::Namespace))
            .await
    });
    // The reader has read the ledger and its search is held back: commit b meanwhile.
    tokio::time::sleep(StdDuration::from_millis(300)).await;
    writer.write_footprints(&b).await.expect("writes b");
    let got = read.await.expect("joins").expect("aggregates");
    assert_eq!(
        got,
        aggregate(&b, GroupBy::Namespace, None),
        "the read saw a state mixed from before and after the commit"
    );
}

/// Two repositories writing the same windows at once take turns: the store ends with one
/// writer's whole batch, one document per pod.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writers_take_turns() {
    let indices = Indices::new();
    let one = indices.open().await;
    let two = indices.open().await;
    let a = windows_of("prod", 1, 6);
    let b = windows_of("prod", 30, 6);
    let (ra, rb) = tokio::join!(
        async {
            for _ in 0..3 {
                one.write_footprints(&a).await?;
            }
            Ok::<_, greenkube_core::ports::StoreError>(())
        },
        async {
            for _ in 0..3 {
                two.write_footprints(&b).await?;
            }
            Ok::<_, greenkube_core::ports::StoreError>(())
        }
    );
    ra.expect("writer one");
    rb.expect("writer two");
    let rows = read_all(&one).await;
    assert!(
        rows == expected_rows(&[&a]) || rows == expected_rows(&[&b]),
        "the stored rows are one writer's batch"
    );
    assert_eq!(
        one.count_documents().await.expect("counts"),
        document_count(&a)
    );
    let (committed, next, lock, in_flight) = ledger_summary(&one).await.expect("ledger");
    assert_eq!((committed, next, lock), (6, 7, None));
    assert!(in_flight.is_empty());
}

/// At rest the index holds exactly one document per pod and node of each stored window: a
/// rewritten window replaces its documents, a restated one loses the pods it no longer has.
#[tokio::test]
async fn one_document_per_pod_at_rest() {
    let indices = Indices::new();
    let repo = indices.open().await;
    let batch = windows_of("prod", 1, 3);
    repo.write_footprints(&batch).await.expect("writes");
    repo.write_footprints(&batch).await.expect("rewrites");
    assert_eq!(
        repo.count_documents().await.expect("counts"),
        document_count(&batch)
    );
    let mut restated = batch.clone();
    restated[1].pods.truncate(2);
    restated[1].nodes.truncate(1);
    repo.write_footprints(&restated[1..2])
        .await
        .expect("restates");
    assert_eq!(
        repo.count_documents().await.expect("counts"),
        document_count(&restated)
    );
    assert_eq!(read_all(&repo).await, expected_rows(&[&restated]));
}

/// Reports equal the in-memory aggregation when the composite aggregation needs several
/// requests (over 1,000 groups by node and hour).
#[tokio::test]
async fn reports_page_through_many_groups() {
    let indices = Indices::new();
    let repo = indices.open().await;
    let m = methodology(Methodology::Classic, "gkdata-0000000000a1");
    // 400 windows, one every 5 hours (83 days): 1,200 groups by node and hour.
    let batch: Vec<Footprint> = (0..400)
        .map(|i| {
            footprint(
                Some("prod"),
                at(2024, 12, 1, 0, 0) + Duration::hours(5 * i),
                i as u64,
                &m,
            )
        })
        .collect();
    repo.write_footprints(&batch).await.expect("writes");
    for (group_by, period, groups) in [
        (GroupBy::Node, Some(Period::Hour), 1200),
        (GroupBy::Namespace, Some(Period::Day), 3 * 84),
        (GroupBy::Workload, Some(Period::Week), 7 * 13),
        (GroupBy::Pod, None, 8),
    ] {
        let got = repo
            .aggregate(&ReportQuery::new(everything(), group_by).with_period(period))
            .await
            .expect("aggregates");
        assert_eq!(got.len(), groups, "by {group_by} per {period:?}");
        assert_eq!(
            got,
            aggregate(&batch, group_by, period),
            "by {group_by} per {period:?}"
        );
    }
}

/// Raw rows kept `raw_hours`, hourly roll-ups `hourly_days`, daily roll-ups forever.
fn keep(raw_hours: i64, hourly_days: i64) -> RetentionPolicy {
    RetentionPolicy::new(
        Duration::hours(raw_hours),
        Duration::days(hourly_days),
        None,
    )
    .expect("valid policy")
}

/// After the last window of the fixture history.
fn after_history() -> chrono::DateTime<chrono::Utc> {
    at(2025, 6, 2, 12, 0)
}

/// Every report of the history by cluster and namespace, per day and over everything.
async fn assert_history_reports(repo: &dyn FootprintRepository, history: &[Footprint], when: &str) {
    for group_by in [GroupBy::Cluster, GroupBy::Namespace] {
        for period in [None, Some(Period::Day)] {
            let got = repo
                .aggregate(&ReportQuery::new(everything(), group_by).with_period(period))
                .await
                .unwrap_or_else(|e| panic!("{when}: aggregates: {e}"));
            assert_eq!(
                got,
                aggregate(history, group_by, period),
                "{when}: by {group_by} per {period:?}"
            );
        }
    }
}

/// `maintain` cut off mid-step (after some roll-up documents were written) changes no report;
/// the next run goes on from there, until one finishes; one more then does nothing.
#[tokio::test]
async fn maintenance_cut_off_midway_is_finished_by_the_next_run() {
    let indices = Indices::new();
    let proxy = Proxy::start().await;
    let mut config = ElasticsearchConfig::from_url(&proxy.url(&indices)).expect("parses");
    config.bulk_documents = 10;
    let (repo, _) = ElasticsearchStore::open_with_config(config, OpenOptions::default())
        .await
        .expect("opens through the proxy");
    let direct = indices.open().await;
    let history = history();
    repo.write_footprints(&history).await.expect("writes");
    let policy = keep(1, 1);
    let mut cuts = 0;
    let mut budget = 1;
    let summary = loop {
        proxy.cut_after_bulk_requests(budget);
        let attempt = repo.maintain(&policy, after_history()).await;
        proxy.heal();
        match attempt {
            Ok(summary) => break summary,
            Err(e) => {
                assert_eq!(e.kind(), StoreErrorKind::Unavailable, "{e}");
                cuts += 1;
                assert_history_reports(&direct, &history, &format!("cut {cuts}")).await;
                budget += 3;
            }
        }
    };
    assert!(cuts >= 2, "the run was cut during several steps ({cuts})");
    assert_eq!(summary.state.raw_before, Some(at(2025, 6, 2, 11, 0)));
    assert!(summary.raw_rows_deleted > 0, "{summary:?}");
    assert_history_reports(&direct, &history, "finished").await;
    let again = direct
        .maintain(&policy, after_history())
        .await
        .expect("maintains");
    assert_eq!(
        (
            again.hours_rolled,
            again.days_rolled,
            again.raw_rows_deleted
        ),
        (0, 0, 0),
        "{again:?}"
    );
    let (_, _, lock, in_flight) = ledger_summary(&direct).await.expect("ledger");
    assert_eq!((lock, in_flight), (None, Vec::new()));
}

/// Reports read while `maintain` rolls up and seals history (in another repository, as another
/// process would) always have the same totals.
#[tokio::test]
async fn readers_see_the_same_totals_while_maintain_runs() {
    let indices = Indices::new();
    let maintainer = indices.open().await;
    let reader = indices.open().await;
    let history = history();
    maintainer.write_footprints(&history).await.expect("writes");
    let query = ReportQuery::new(everything(), GroupBy::Cluster).with_period(Some(Period::Day));
    let want = aggregate(&history, GroupBy::Cluster, Some(Period::Day));
    let done = Arc::new(AtomicBool::new(false));
    let task = tokio::spawn({
        let done = done.clone();
        async move {
            for policy in [
                keep(24 * 365 * 100, 365 * 100),
                keep(1, 365 * 100),
                keep(1, 1),
            ] {
                maintainer
                    .maintain(&policy, after_history())
                    .await
                    .expect("maintains");
            }
            done.store(true, Ordering::SeqCst);
        }
    });
    let mut reads = 0;
    while !done.load(Ordering::SeqCst) {
        let got = reader.aggregate(&query).await.expect("reads");
        assert_eq!(got, want, "read {reads} during maintenance");
        reads += 1;
    }
    task.await.expect("maintenance task");
    assert!(reads > 0);
    assert_eq!(reader.aggregate(&query).await.expect("reads"), want);
}

/// A store made before roll-ups (schema 1: no roll-up index, no roll-up state in the ledger)
/// is upgraded on open: the hours of its rows are rolled up by the next `maintain` before any
/// is sealed. A ledger that loses its roll-up state again (rewritten by an older greenkube) is
/// refused, not read as if nothing were sealed.
#[tokio::test]
async fn a_store_from_before_roll_ups_is_upgraded() {
    let indices = Indices::new();
    let p = indices.prefix.clone();
    let history = history();
    let repo = indices.open().await;
    repo.write_footprints(&history).await.expect("writes");
    let (committed, next, _, _) = ledger_summary(&repo).await.expect("ledger");
    drop(repo);
    let schema_1_ledger = format!(
        r#"{{"kind": "ledger", "committed_through": {committed}, "next_batch": {next}, "lock": null, "batches": []}}"#
    );
    let put_schema_1_ledger = || {
        indices.request(
            "PUT",
            &format!("/{p}-meta/_doc/ledger?refresh=true"),
            &schema_1_ledger,
        )
    };
    assert_eq!(put_schema_1_ledger(), 200);
    for index in ["footprints", "meta"] {
        let status = indices.request(
            "PUT",
            &format!("/{p}-{index}/_mapping"),
            r#"{"_meta": {"greenkube_schema_version": 1}}"#,
        );
        assert_eq!(status, 200);
    }
    assert_eq!(indices.request("DELETE", &format!("/{p}-rollups"), ""), 200);

    let repos = store::open(&indices.url()).await.expect("upgrades");
    assert_eq!(repos.migrations.schema_version, 2);
    let versions: Vec<i64> = repos.migrations.applied.iter().map(|m| m.version).collect();
    assert_eq!(versions, vec![2], "{:?}", repos.migrations);
    let repo = repos.footprints;
    let summary = repo
        .maintain(&keep(1, 365 * 100), after_history())
        .await
        .expect("maintains");
    assert!(summary.hours_rolled > 0, "{summary:?}");
    assert!(summary.raw_rows_deleted > 0, "{summary:?}");
    assert_history_reports(repo.as_ref(), &history, "upgraded and sealed").await;
    let again = store::open(&indices.url()).await.expect("opens");
    assert!(
        again.migrations.applied.is_empty(),
        "{:?}",
        again.migrations
    );

    assert_eq!(put_schema_1_ledger(), 200);
    let err = repo
        .aggregate(&ReportQuery::new(everything(), GroupBy::Cluster))
        .await
        .expect_err("the roll-up state is gone");
    assert_eq!(err.kind(), StoreErrorKind::Conflict, "{err}");
    assert!(err.to_string().contains("older than schema 2"), "{err}");
    let err = store::open(&indices.url()).await.expect_err("refused");
    assert_eq!(err.kind(), StoreErrorKind::Conflict, "{err}");
}
