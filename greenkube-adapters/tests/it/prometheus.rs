//! The Prometheus usage source against a real Prometheus serving the synthetic history of
//! scripts/gen-prometheus-history.py (started by scripts/prometheus-service.sh, URL in
//! `GREENKUBE_TEST_PROMETHEUS_URL`), and against wiremock for the answers a healthy server does
//! not give (errors, malformed JSON, NaN, a 503 that passes).

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use greenkube_adapters::sources::http::HttpPolicy;
use greenkube_adapters::sources::prometheus::{PrometheusSource, UsageMetric};
use greenkube_adapters::sources::promql::{self, PromDuration};
use greenkube_core::Node;
use greenkube_core::ports::{
    PodUsage, SourceErrorKind, SourceKind, TimeRange, UsageSource, WindowUsage,
};
use greenkube_core::units::{Bytes, Cores};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const URL_VAR: &str = "GREENKUBE_TEST_PROMETHEUS_URL";

/// Start of the synthetic history: 2024-01-01T00:00:00Z.
const S: i64 = 1_704_067_200;
const MIB: f64 = 1_048_576.0;
const GIB: f64 = 1_073_741_824.0;
const FIVE_MINUTES: Duration = Duration::from_secs(300);

/// The test server's URL. Fails the test when it is not set: these tests never skip.
fn server_url() -> String {
    match std::env::var(URL_VAR) {
        Ok(url) if !url.trim().is_empty() => url.trim().to_owned(),
        _ => panic!(
            "{URL_VAR} is not set, so the Prometheus source cannot be tested. Run scripts/test.sh \
             (it starts Prometheus with the synthetic history and sets {URL_VAR}), or start it \
             yourself with `eval \"$(scripts/prometheus-service.sh start)\"` before `cargo test`"
        ),
    }
}

fn policy() -> HttpPolicy {
    HttpPolicy {
        connect_timeout: Duration::from_secs(2),
        request_timeout: Duration::from_secs(10),
        attempts: 3,
        backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(50),
        ..HttpPolicy::default()
    }
}

fn real() -> PrometheusSource {
    PrometheusSource::new(&server_url(), policy()).expect("valid URL")
}

fn t(offset: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(S + offset, 0)
        .single()
        .expect("valid time")
}

fn range(from: i64, to: i64) -> TimeRange {
    TimeRange::new(t(from), t(to)).expect("ordered")
}

fn usage(
    namespace: &str,
    pod: &str,
    node: Option<&str>,
    cpu: Option<f64>,
    memory: Option<f64>,
    restarts: Option<u64>,
) -> PodUsage {
    PodUsage {
        namespace: namespace.into(),
        pod: pod.into(),
        node: node.map(Arc::from),
        cpu_usage_cores: cpu.map(Cores),
        memory_usage_bytes: memory.map(Bytes),
        restarts,
    }
}

/// Restarts of default/web-2 at the end of the window starting at `offset`: the counter becomes
/// 1 at 1800 and 2 at 5400, both window boundaries.
fn web2_restarts(offset: i64) -> u64 {
    match offset {
        ..1800 => 0,
        1800..5400 => 1,
        _ => 2,
    }
}

/// CPU Prometheus 2.42 computes for a window whose last sample is 15 s before its end (a
/// container that stopped): `rate` extrapolates the 285 s of samples to the whole 300 s window,
/// `increase x (300 / 285) / 300`. Other Prometheus versions order these operations differently,
/// so the tests compare such values to 1e-12.
fn extrapolated(cores: f64) -> f64 {
    (285.0 * cores) * ((300.0 / 285.0) / 300.0)
}

/// What the synthetic history holds for the five-minute window starting `offset` seconds after
/// its start (scripts/gen-prometheus-history.py), sorted by namespace then pod.
fn expected_window(offset: i64) -> Vec<PodUsage> {
    let mut pods = Vec::new();
    if (2400..4200).contains(&offset) {
        let cpu = if offset == 3900 {
            extrapolated(2.0)
        } else {
            2.0
        };
        pods.push(usage(
            "batch",
            "job-1",
            Some("node-b"),
            Some(cpu),
            Some(GIB),
            None,
        ));
    }
    if offset == 2400 {
        // Starts at 2550 with its counter at 0: half the window at 1 core, no extrapolation
        // below zero.
        pods.push(usage(
            "batch",
            "job-2",
            Some("node-a"),
            Some(0.5),
            Some(128.0 * MIB),
            None,
        ));
    }
    if offset == 2700 {
        let cpu = extrapolated(1.0);
        pods.push(usage(
            "batch",
            "job-2",
            Some("node-a"),
            Some(cpu),
            Some(128.0 * MIB),
            None,
        ));
    }
    pods.push(usage(
        "default",
        "web-1",
        Some("node-a"),
        Some(0.375),
        Some(250.0 * MIB),
        None,
    ));
    let web2_memory = if offset < 3600 { 400.0 } else { 500.0 } * MIB;
    pods.push(usage(
        "default",
        "web-2",
        Some("node-b"),
        Some(0.5),
        Some(web2_memory),
        Some(web2_restarts(offset)),
    ));
    pods.push(usage(
        "default",
        "web-3",
        None,
        Some(0.25),
        Some(64.0 * MIB),
        None,
    ));
    pods.push(usage(
        "kube-system",
        "coredns-1",
        Some("node-a"),
        Some(0.0625),
        Some(32.0 * MIB),
        Some(4),
    ));
    pods.push(usage(
        "legacy",
        "old-1",
        Some("node-b"),
        Some(1.5),
        Some(100.0 * MIB),
        None,
    ));
    pods
}

/// Asserts a window equals the expected one: exactly, except the CPU of the batch jobs, which
/// Prometheus extrapolates in their last window ([`extrapolated`]) and must be within 1e-12.
fn assert_window(actual: &WindowUsage, start: DateTime<Utc>, expected: &[PodUsage]) {
    assert_eq!(actual.window_start, start);
    let mut actual_pods = actual.pods.clone();
    for (a, e) in actual_pods.iter_mut().zip(expected) {
        if let (Some(Cores(got)), Some(Cores(want))) = (a.cpu_usage_cores, e.cpu_usage_cores)
            && a.pod.starts_with("job-")
            && (got - want).abs() < 1e-12
        {
            a.cpu_usage_cores = e.cpu_usage_cores;
        }
    }
    assert_eq!(actual_pods, expected, "window starting {start}");
}

#[tokio::test]
async fn two_hours_of_five_minute_windows_hold_the_exact_usage_of_every_pod() {
    let windows = real()
        .usage(range(0, 7200), FIVE_MINUTES)
        .await
        .expect("usage");
    assert_eq!(windows.len(), 24);
    for (i, window) in windows.iter().enumerate() {
        let offset = 300 * i64::try_from(i).expect("small");
        assert_window(window, t(offset), &expected_window(offset));
    }
}

#[tokio::test]
async fn the_pod_level_cgroup_and_the_pause_container_are_not_counted() {
    let report = real()
        .usage_report(range(600, 900), FIVE_MINUTES)
        .await
        .expect("usage");
    assert!(report.rejected.is_empty());
    let pods = &report.windows[0].pods;
    let web1 = pods.iter().find(|p| &*p.pod == "web-1").expect("web-1");
    // Containers web 0.25 + proxy 0.125; not + pause 0.0625, not + the cgroup's 0.4375.
    assert_eq!(web1.cpu_usage_cores, Some(Cores(0.375)));
    assert_eq!(web1.memory_usage_bytes, Some(Bytes(250.0 * MIB)));
    // The legacy `container_name` spelling gets the same treatment.
    let old1 = pods.iter().find(|p| &*p.pod == "old-1").expect("old-1");
    assert_eq!(old1.cpu_usage_cores, Some(Cores(1.5)));
    assert_eq!(old1.memory_usage_bytes, Some(Bytes(100.0 * MIB)));
    // The system cgroup (no pod) is not a pod.
    assert_eq!(pods.len(), 5);
}

#[tokio::test]
async fn label_variants_name_the_pod_and_the_node() {
    let windows = real()
        .usage(range(0, 300), FIVE_MINUTES)
        .await
        .expect("usage");
    let pods = &windows[0].pods;
    let find = |ns: &str, pod: &str| {
        pods.iter()
            .find(|p| &*p.namespace == ns && &*p.pod == pod)
            .unwrap_or_else(|| panic!("{ns}/{pod} missing from {pods:?}"))
    };
    // `pod_name` + `instance` = node name (cAdvisor before Kubernetes 1.16, `role: node` scrape).
    assert_eq!(find("legacy", "old-1").node.as_deref(), Some("node-b"));
    // `node` wins over `instance` = the kubelet's address.
    assert_eq!(find("default", "web-1").node.as_deref(), Some("node-a"));
    // `instance` = `host:port` is not a node name: unknown, not made up.
    assert_eq!(find("default", "web-3").node, None);
    // kube-state-metrics' restarts: two containers (3 + 1), two replicas counted once.
    assert_eq!(find("kube-system", "coredns-1").restarts, Some(4));
}

#[tokio::test]
async fn gauges_belong_to_the_window_their_sample_falls_in() {
    let source = real();
    // [3450, 3750): ten samples of 400 MiB (3450..3585) and ten of 500 MiB (3600..3735). A
    // window closed at both ends would also take the 500 MiB sample at 3750.
    let windows = source
        .usage(range(3450, 3750), FIVE_MINUTES)
        .await
        .expect("usage");
    let web2 = windows[0]
        .pods
        .iter()
        .find(|p| &*p.pod == "web-2")
        .expect("web-2");
    assert_eq!(web2.memory_usage_bytes, Some(Bytes(450.0 * MIB)));
    assert_eq!(web2.cpu_usage_cores, Some(Cores(0.5)));
    // The restart counter becomes 1 at 1800: the window ending there still says 0, the one
    // starting there says 1.
    let windows = source
        .usage(range(1500, 2100), FIVE_MINUTES)
        .await
        .expect("usage");
    let restarts: Vec<Option<u64>> = windows
        .iter()
        .map(|w| {
            w.pods
                .iter()
                .find(|p| &*p.pod == "web-2")
                .and_then(|p| p.restarts)
        })
        .collect();
    assert_eq!(restarts, vec![Some(0), Some(1)]);
}

#[tokio::test]
async fn windows_without_data_are_returned_empty() {
    let source = real();
    // Ten minutes before the history, and the first window of it.
    let windows = source
        .usage(range(-600, 300), FIVE_MINUTES)
        .await
        .expect("usage");
    assert_eq!(windows.len(), 3);
    assert_eq!(windows[0].window_start, t(-600));
    assert!(windows[0].pods.is_empty());
    assert_eq!(windows[1].window_start, t(-300));
    assert!(
        windows[1].pods.is_empty(),
        "one CPU sample at the window's end is no rate, and the gauge sample at 0 belongs to the next window"
    );
    assert_window(&windows[2], t(0), &expected_window(0));
    // Long after the history: every window, no pods, no error.
    let windows = source
        .usage(range(7800, 9000), FIVE_MINUTES)
        .await
        .expect("usage");
    assert_eq!(windows.len(), 4);
    assert!(windows.iter().all(|w| w.pods.is_empty()));
    // The history's last sample (7200) starts a window: its gauges are known, its CPU is not
    // (one counter sample is no rate), and unknown stays `None`, never zero.
    let windows = source
        .usage(range(7200, 7500), FIVE_MINUTES)
        .await
        .expect("usage");
    let web2 = windows[0]
        .pods
        .iter()
        .find(|p| &*p.pod == "web-2")
        .expect("web-2");
    assert_eq!(
        *web2,
        usage(
            "default",
            "web-2",
            Some("node-b"),
            None,
            Some(500.0 * MIB),
            Some(2)
        )
    );
    // An empty range asks nothing and answers nothing.
    assert!(
        source
            .usage(range(0, 0), FIVE_MINUTES)
            .await
            .expect("usage")
            .is_empty()
    );
}

#[tokio::test]
async fn split_queries_give_the_same_windows() {
    let whole = real()
        .usage(range(0, 7200), FIVE_MINUTES)
        .await
        .expect("usage");
    for points in [1, 5, 7] {
        let split = real()
            .with_max_points_per_query(points)
            .usage(range(0, 7200), FIVE_MINUTES)
            .await
            .expect("usage");
        assert_eq!(split, whole, "{points} points per query");
    }
}

#[tokio::test]
async fn other_window_lengths_and_unaligned_starts() {
    // Ten-minute windows from 150 s into the history.
    let windows = real()
        .usage(range(150, 7200), Duration::from_secs(600))
        .await
        .expect("usage");
    assert_eq!(windows.len(), 12);
    assert_eq!(windows[11].window_start, t(150 + 6600));
    let web = |w: &WindowUsage, pod: &str| {
        w.pods
            .iter()
            .find(|p| &*p.pod == pod)
            .cloned()
            .unwrap_or_else(|| panic!("{pod} missing"))
    };
    // [3150, 3750): 30 samples at 400 MiB, 10 at 500 MiB.
    assert_eq!(
        web(&windows[5], "web-2").memory_usage_bytes,
        Some(Bytes(425.0 * MIB))
    );
    assert_eq!(
        web(&windows[5], "web-1").cpu_usage_cores,
        Some(Cores(0.375))
    );
    assert_eq!(web(&windows[0], "web-2").restarts, Some(0));
    // [1950, 2550): web-2's counter is 1 from 1800.
    assert_eq!(web(&windows[3], "web-2").restarts, Some(1));
}

#[tokio::test]
async fn nodes_come_from_kube_state_metrics() {
    let nodes = real().nodes(t(3600)).await.expect("nodes");
    assert_eq!(
        nodes,
        vec![
            Node {
                name: "node-a".into(),
                provider: Some("aws".into()),
                instance_type: Some("m5.large".into()),
                region: Some("eu-west-3".into()),
                zone: Some("eu-west-3a".into()),
                cpu_capacity_cores: Some(Cores(2.0)),
                memory_capacity_bytes: Some(Bytes(8.0 * GIB)),
                labels: None,
            },
            Node {
                name: "node-b".into(),
                provider: Some("gcp".into()),
                instance_type: Some("n2-standard-4".into()),
                region: Some("europe-west1".into()),
                zone: Some("europe-west1-b".into()),
                cpu_capacity_cores: Some(Cores(4.0)),
                memory_capacity_bytes: Some(Bytes(16.0 * GIB)),
                labels: None,
            },
            Node {
                name: "node-c".into(),
                ..Node::default()
            },
        ]
    );
    // Ten minutes after the history, beyond Prometheus's five-minute look-back: no nodes.
    assert_eq!(real().nodes(t(7800)).await.expect("nodes"), Vec::new());
}

// ---------------------------------------------------------------------------------------------
// Answers a healthy server does not give, from wiremock.

const Q_START: &str = "1704067500.000";

fn step() -> PromDuration {
    PromDuration::from_millis(300_000).expect("not zero")
}

fn matrix(result: &str) -> String {
    format!(r#"{{"status":"success","data":{{"resultType":"matrix","result":[{result}]}}}}"#)
}

const EMPTY_MATRIX: &str = r#"{"status":"success","data":{"resultType":"matrix","result":[]}}"#;

fn mock_source(server: &MockServer) -> PrometheusSource {
    PrometheusSource::new(&server.uri(), policy()).expect("valid URL")
}

/// Mounts an answer to one of the three usage queries.
async fn answer(server: &MockServer, query: String, response: ResponseTemplate, times: u64) {
    Mock::given(method("GET"))
        .and(path("/api/v1/query_range"))
        .and(query_param("query", query))
        .respond_with(response)
        .expect(times)
        .mount(server)
        .await;
}

fn ok(body: &str) -> ResponseTemplate {
    ResponseTemplate::new(200)
        .insert_header("content-type", "application/json")
        .set_body_string(body)
}

fn memory_query() -> String {
    promql::memory_bytes(step()).expect("long enough")
}

fn restarts_query() -> String {
    promql::restarts(step()).expect("long enough")
}

#[tokio::test]
async fn an_empty_answer_is_empty_windows_asked_once() {
    let server = MockServer::start().await;
    answer(&server, promql::cpu_cores(step()), ok(EMPTY_MATRIX), 1).await;
    answer(&server, memory_query(), ok(EMPTY_MATRIX), 1).await;
    answer(&server, restarts_query(), ok(EMPTY_MATRIX), 1).await;
    let windows = mock_source(&server)
        .usage(range(0, 900), FIVE_MINUTES)
        .await
        .expect("usage");
    assert_eq!(
        windows,
        vec![
            WindowUsage {
                dropped: Vec::new(),
                window_start: t(0),
                pods: Vec::new()
            },
            WindowUsage {
                dropped: Vec::new(),
                window_start: t(300),
                pods: Vec::new()
            },
            WindowUsage {
                dropped: Vec::new(),
                window_start: t(600),
                pods: Vec::new()
            },
        ]
    );
    // `expect(1)` on each mock is verified when the server drops: no query was repeated.
}

#[tokio::test]
async fn queries_are_evaluated_at_the_windows_ends_and_split() {
    let server = MockServer::start().await;
    // 25 windows, at most 10 points per query: 10 + 10 + 5, evaluated at the windows' ends.
    for (start, end) in [
        ("1704067500.000", "1704070200.000"),
        ("1704070500.000", "1704073200.000"),
        ("1704073500.000", "1704074700.000"),
    ] {
        Mock::given(method("GET"))
            .and(path("/api/v1/query_range"))
            .and(query_param("start", start))
            .and(query_param("end", end))
            .and(query_param("step", "300.000"))
            .respond_with(ok(EMPTY_MATRIX))
            .expect(3)
            .mount(&server)
            .await;
    }
    let windows = mock_source(&server)
        .with_max_points_per_query(10)
        .usage(range(0, 7500), FIVE_MINUTES)
        .await
        .expect("usage");
    assert_eq!(windows.len(), 25);
    assert_eq!(windows[24].window_start, t(7200));
}

#[tokio::test]
async fn a_status_error_is_a_bad_response_not_retried() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(400).set_body_string(
                r#"{"status":"error","errorType":"bad_data","error":"1:5: parse error: unclosed left parenthesis"}"#,
            ),
        )
        .expect(3) // the three queries of the window, each once
        .mount(&server)
        .await;
    let err = mock_source(&server)
        .usage(range(0, 300), FIVE_MINUTES)
        .await
        .expect_err("HTTP 400");
    assert_eq!(err.source_kind, SourceKind::Prometheus);
    assert_eq!(err.kind, SourceErrorKind::BadResponse);
    assert!(err.message.contains("HTTP 400"), "{err}");
    assert!(err.message.contains("unclosed left parenthesis"), "{err}");
}

#[tokio::test]
async fn a_status_error_inside_a_200_is_a_bad_response() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ok(
            r#"{"status":"error","errorType":"execution","error":"query processing would load too many samples into memory"}"#,
        ))
        .expect(3)
        .mount(&server)
        .await;
    let err = mock_source(&server)
        .usage(range(0, 300), FIVE_MINUTES)
        .await
        .expect_err("status error");
    assert_eq!(err.kind, SourceErrorKind::BadResponse);
    assert_eq!(
        err.message,
        "the CPU query from 1704067500.000 to 1704067500.000 every 300.000: Prometheus answered \
         status \"error\" (execution): query processing would load too many samples into memory"
    );
}

#[tokio::test]
async fn malformed_json_is_a_bad_response() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ok(
            r#"{"status":"success","data":{"resultType":"matrix","result":[{"#,
        ))
        .expect(3)
        .mount(&server)
        .await;
    let err = mock_source(&server)
        .usage(range(0, 300), FIVE_MINUTES)
        .await
        .expect_err("truncated JSON");
    assert_eq!(err.kind, SourceErrorKind::BadResponse);
    assert!(err.message.contains("not the documented JSON"), "{err}");
}

#[tokio::test]
async fn a_result_type_other_than_matrix_is_a_bad_response() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ok(
            r#"{"status":"success","data":{"resultType":"vector","result":[]}}"#,
        ))
        .mount(&server)
        .await;
    let err = mock_source(&server)
        .usage(range(0, 300), FIVE_MINUTES)
        .await
        .expect_err("vector");
    assert_eq!(err.kind, SourceErrorKind::BadResponse);
    assert!(
        err.message
            .ends_with("Prometheus answered resultType \"vector\", expected \"matrix\""),
        "{err}"
    );
}

#[tokio::test]
async fn a_503_then_an_answer_is_retried_by_the_shared_client() {
    let server = MockServer::start().await;
    let cpu = matrix(
        r#"{"metric":{"namespace":"default","pod":"web-1","node":"node-a"},"values":[[1704067500,"0.25"]]}"#,
    );
    // The first two CPU requests fail with 503, the third is answered.
    Mock::given(method("GET"))
        .and(path("/api/v1/query_range"))
        .and(query_param("query", promql::cpu_cores(step())))
        .respond_with(ResponseTemplate::new(503).set_body_string("overloaded"))
        .up_to_n_times(2)
        .expect(2)
        .mount(&server)
        .await;
    answer(&server, promql::cpu_cores(step()), ok(&cpu), 1).await;
    answer(&server, memory_query(), ok(EMPTY_MATRIX), 1).await;
    answer(&server, restarts_query(), ok(EMPTY_MATRIX), 1).await;
    let windows = mock_source(&server)
        .usage(range(0, 300), FIVE_MINUTES)
        .await
        .expect("third attempt answers");
    assert_eq!(
        windows[0].pods,
        vec![usage(
            "default",
            "web-1",
            Some("node-a"),
            Some(0.25),
            None,
            None
        )]
    );
}

#[tokio::test]
async fn a_nan_sample_is_never_a_silent_zero() {
    let server = MockServer::start().await;
    let cpu = matrix(concat!(
        r#"{"metric":{"namespace":"default","pod":"web-1","node":"node-a"},"values":[[1704067500,"NaN"],[1704067800,"0.25"]]},"#,
        r#"{"metric":{"namespace":"default","pod":"web-2","node":"node-b"},"values":[[1704067500,"0.5"],[1704067800,"-Inf"]]}"#
    ));
    let memory = matrix(
        r#"{"metric":{"namespace":"default","pod":"web-1","node":"node-a"},"values":[[1704067500,"1024"],[1704067800,"-1"]]}"#,
    );
    let restarts = matrix(
        r#"{"metric":{"namespace":"default","pod":"web-2"},"values":[[1704067500,"1.5"],[1704067800,"2"]]}"#,
    );
    answer(&server, promql::cpu_cores(step()), ok(&cpu), 2).await;
    answer(&server, memory_query(), ok(&memory), 2).await;
    answer(&server, restarts_query(), ok(&restarts), 2).await;
    let source = mock_source(&server);

    // Through the port: every window, the bad figures unknown and listed with their window.
    let windows = source
        .usage(range(0, 600), FIVE_MINUTES)
        .await
        .expect("one bad sample costs one figure, not the range");
    assert_eq!(windows.len(), 2);
    assert_eq!(windows[0].pods.len(), 2);
    assert_eq!(windows[0].pods[0].cpu_usage_cores, None);
    assert_eq!(
        windows[0].dropped,
        vec![
            "CPU of default/web-1 in the window starting 2024-01-01T00:00:00Z: NaN (not a number)"
                .to_string(),
            "restarts of default/web-2 in the window starting 2024-01-01T00:00:00Z: 1.5 (not a \
             whole number)"
                .to_string(),
        ]
    );
    assert_eq!(windows[1].dropped.len(), 2);

    // Through the report: the bad figures are unknown (`None`), the good ones kept, every drop
    // listed.
    let report = source
        .usage_report(range(0, 600), FIVE_MINUTES)
        .await
        .expect("report");
    assert_eq!(
        report.windows[0].pods,
        vec![
            usage("default", "web-1", Some("node-a"), None, Some(1024.0), None),
            usage("default", "web-2", Some("node-b"), Some(0.5), None, None),
        ]
    );
    assert_eq!(
        report.windows[1].pods,
        vec![
            usage("default", "web-1", Some("node-a"), Some(0.25), None, None),
            // The node of a series stays known even when its value is not.
            usage("default", "web-2", Some("node-b"), None, None, Some(2)),
        ]
    );
    let rejected: Vec<(i64, &str, UsageMetric, &str)> = report
        .rejected
        .iter()
        .map(|r| (r.window_start.timestamp() - S, &*r.pod, r.metric, r.reason))
        .collect();
    assert_eq!(
        rejected,
        vec![
            (0, "web-1", UsageMetric::CpuCores, "not a number"),
            (0, "web-2", UsageMetric::Restarts, "not a whole number"),
            (300, "web-1", UsageMetric::MemoryBytes, "negative"),
            (300, "web-2", UsageMetric::CpuCores, "infinite"),
        ]
    );
}

#[tokio::test]
async fn a_sample_at_a_time_not_asked_for_is_a_bad_response() {
    let server = MockServer::start().await;
    // A query frontend that aligned the query to another grid.
    let cpu = matrix(
        r#"{"metric":{"namespace":"default","pod":"web-1"},"values":[[1704067440,"0.25"]]}"#,
    );
    answer(&server, promql::cpu_cores(step()), ok(&cpu), 1).await;
    answer(&server, memory_query(), ok(EMPTY_MATRIX), 1).await;
    answer(&server, restarts_query(), ok(EMPTY_MATRIX), 1).await;
    let err = mock_source(&server)
        .usage(range(0, 300), FIVE_MINUTES)
        .await
        .expect_err("misaligned");
    assert_eq!(err.kind, SourceErrorKind::BadResponse);
    assert_eq!(
        err.message,
        "the CPU answer has a sample at 1704067440.000, which is not one of the query's \
         evaluation times"
    );
}

#[tokio::test]
async fn invalid_steps_are_refused_before_any_request() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ok(EMPTY_MATRIX))
        .expect(0)
        .mount(&server)
        .await;
    let err = mock_source(&server)
        .usage(range(0, 300), Duration::from_millis(500))
        .await
        .expect_err("too short");
    assert_eq!(err.kind, SourceErrorKind::NotConfigured);
    assert_eq!(err.source_kind, SourceKind::Prometheus);
}

#[tokio::test]
async fn nodes_need_a_vector() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/query"))
        .and(query_param("query", promql::NODES))
        .and(query_param("time", Q_START))
        .respond_with(ok(EMPTY_MATRIX))
        .expect(1)
        .mount(&server)
        .await;
    let err = mock_source(&server)
        .nodes(t(300))
        .await
        .expect_err("matrix");
    assert_eq!(err.kind, SourceErrorKind::BadResponse);
    assert_eq!(
        err.message,
        "the node query at 1704067500.000: Prometheus answered resultType \"matrix\", expected \
         \"vector\""
    );
}
