//! The OpenCost cost source against a wiremock server replaying OpenCost's `/allocation`
//! answers (services.md A6): steps merged, pods keyed by namespace and name, pseudo-allocations
//! skipped, bad totals named, and every failure typed.

use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use greenkube_adapters::sources::http::HttpPolicy;
use greenkube_adapters::sources::opencost::OpenCostSource;
use greenkube_core::CostEntry;
use greenkube_core::ports::{CostSource, SourceError, SourceErrorKind, SourceKind, TimeRange};
use greenkube_core::units::Money;
use serde_json::{Value, json};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn policy() -> HttpPolicy {
    HttpPolicy {
        connect_timeout: Duration::from_millis(500),
        request_timeout: Duration::from_millis(400),
        attempts: 3,
        backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(50),
        ..HttpPolicy::default()
    }
}

fn source(server: &MockServer) -> OpenCostSource {
    OpenCostSource::new(&server.uri(), policy()).expect("source")
}

/// 10:00 to 11:00 UTC on 2 June 2025.
fn hour() -> TimeRange {
    TimeRange::new(
        Utc.with_ymd_and_hms(2025, 6, 2, 10, 0, 0).unwrap(),
        Utc.with_ymd_and_hms(2025, 6, 2, 11, 0, 0).unwrap(),
    )
    .unwrap()
}

const WINDOW: &str = "2025-06-02T10:00:00Z,2025-06-02T11:00:00Z";

/// One allocation as OpenCost writes it (all the documented fields), for a step of 30 minutes.
fn allocation(
    name: &str,
    namespace: Option<&str>,
    pod: Option<&str>,
    step: u32,
    total: Value,
) -> Value {
    let start = format!("2025-06-02T10:{:02}:00Z", step * 30);
    let end = if step == 0 {
        "2025-06-02T10:30:00Z".to_owned()
    } else {
        "2025-06-02T11:00:00Z".to_owned()
    };
    let mut properties = json!({
        "cluster": "prod-eu",
        "node": "ip-10-0-1-12.eu-west-3.compute.internal",
        "controller": "web",
        "controllerKind": "deployment",
        "providerID": "i-0abc123",
        "labels": {"app": "web"},
    });
    if let Some(ns) = namespace {
        properties["namespace"] = json!(ns);
    }
    if let Some(pod) = pod {
        properties["pod"] = json!(pod);
    }
    let mut value = json!({
        "name": name,
        "properties": properties,
        "window": {"start": start, "end": end},
        "start": start,
        "end": end,
        "minutes": 30.0,
        "cpuCores": 0.25,
        "cpuCoreRequestAverage": 0.25,
        "cpuCoreUsageAverage": 0.118,
        "cpuCoreHours": 0.125,
        "cpuCost": 0.004,
        "cpuCostAdjustment": 0.0,
        "cpuEfficiency": 0.472,
        "gpuCount": 0.0,
        "gpuHours": 0.0,
        "gpuCost": 0.0,
        "gpuCostAdjustment": 0.0,
        "networkTransferBytes": 10240.0,
        "networkReceiveBytes": 20480.0,
        "networkCost": 0.0,
        "networkCostAdjustment": 0.0,
        "loadBalancerCost": 0.0,
        "loadBalancerCostAdjustment": 0.0,
        "pvBytes": 0.0,
        "pvByteHours": 0.0,
        "pvCost": 0.0,
        "pvs": null,
        "pvCostAdjustment": 0.0,
        "ramBytes": 268_435_456.0,
        "ramByteRequestAverage": 268_435_456.0,
        "ramByteUsageAverage": 104_857_600.0,
        "ramByteHours": 134_217_728.0,
        "ramCost": 0.001,
        "ramCostAdjustment": 0.0,
        "ramEfficiency": 0.39,
        "sharedCost": 0.0,
        "externalCost": 0.0,
        "totalEfficiency": 0.45,
        "rawAllocationOnly": null
    });
    value["totalCost"] = total;
    value
}

fn pod(namespace: &str, name: &str, step: u32, total: f64) -> (String, Value) {
    let key = format!("{namespace}/{name}");
    let value = allocation(&key, Some(namespace), Some(name), step, json!(total));
    (key, value)
}

fn step(entries: Vec<(String, Value)>) -> Value {
    Value::Object(entries.into_iter().collect())
}

fn body(steps: Vec<Value>) -> Value {
    let mut body = json!({"code": 200, "status": "success"});
    body["data"] = Value::Array(steps);
    body
}

fn entry(namespace: &str, pod: &str, cost: f64) -> CostEntry {
    CostEntry {
        namespace: Arc::from(namespace),
        pod: Arc::from(pod),
        cost: Money(cost),
    }
}

async fn mount_ok(server: &MockServer, answer: Value) {
    Mock::given(method("GET"))
        .and(path("/allocation"))
        .and(query_param("window", WINDOW))
        .and(query_param("aggregate", "namespace,pod"))
        .respond_with(ResponseTemplate::new(200).set_body_json(answer))
        .expect(1)
        .mount(server)
        .await;
}

async fn costs_err(server: &MockServer) -> SourceError {
    source(server).costs(hour()).await.expect_err("must fail")
}

#[tokio::test]
async fn steps_are_merged_per_namespace_and_pod_and_pseudo_allocations_skipped() {
    let server = MockServer::start().await;
    let idle = allocation("__idle__", None, None, 0, json!(3.5));
    let idle_by_node = allocation("ip-10-0-1-12/__idle__", None, None, 1, json!(1.5));
    let unallocated = allocation(
        "default/__unallocated__",
        Some("default"),
        Some("__unallocated__"),
        0,
        json!(0.75),
    );
    let unmounted = allocation(
        "__unmounted__/__unmounted__",
        Some("__unmounted__"),
        Some("__unmounted__"),
        1,
        json!(2.0),
    );
    let answer = body(vec![
        step(vec![
            pod("default", "web-1", 0, 0.125),
            pod("default", "web-2", 0, 0.5),
            pod("kube-system", "coredns-5d78c9869d-x7k2p", 0, 0.0625),
            pod("shop", "web-1", 0, 1.0),
            ("__idle__".to_owned(), idle),
            ("default/__unallocated__".to_owned(), unallocated),
        ]),
        step(vec![
            pod("default", "web-1", 1, 0.25),
            pod("kube-system", "coredns-5d78c9869d-x7k2p", 1, 0.0625),
            pod("shop", "web-1", 1, 2.0),
            pod("batch", "report-29160000-abcde", 1, 0.0),
            ("ip-10-0-1-12/__idle__".to_owned(), idle_by_node),
            ("__unmounted__/__unmounted__".to_owned(), unmounted),
        ]),
    ]);
    mount_ok(&server, answer).await;
    let costs = source(&server).costs(hour()).await.expect("costs");
    assert_eq!(
        costs,
        vec![
            entry("batch", "report-29160000-abcde", 0.0),
            entry("default", "web-1", 0.375),
            entry("default", "web-2", 0.5),
            entry("kube-system", "coredns-5d78c9869d-x7k2p", 0.125),
            entry("shop", "web-1", 3.0),
        ]
    );
}

#[tokio::test]
async fn an_empty_answer_gives_no_pod_and_never_a_zero() {
    let server = MockServer::start().await;
    mount_ok(&server, json!({"code": 200, "data": [{}]})).await;
    assert_eq!(source(&server).costs(hour()).await.expect("costs"), vec![]);

    let server = MockServer::start().await;
    mount_ok(&server, json!({"code": 200, "data": null})).await;
    assert_eq!(source(&server).costs(hour()).await.expect("costs"), vec![]);
}

#[tokio::test]
async fn an_empty_range_asks_nothing() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(&server)
        .await;
    let at = Utc.with_ymd_and_hms(2025, 6, 2, 10, 0, 0).unwrap();
    let empty = TimeRange::new(at, at).unwrap();
    assert_eq!(source(&server).costs(empty).await.expect("costs"), vec![]);
}

#[tokio::test]
async fn a_null_total_is_a_bad_response_naming_the_pod() {
    let server = MockServer::start().await;
    let nan = allocation(
        "default/web-2",
        Some("default"),
        Some("web-2"),
        0,
        Value::Null,
    );
    mount_ok(
        &server,
        body(vec![step(vec![
            pod("default", "web-1", 0, 0.125),
            ("default/web-2".to_owned(), nan),
        ])]),
    )
    .await;
    let err = costs_err(&server).await;
    assert_eq!(err.kind, SourceErrorKind::BadResponse);
    assert_eq!(err.source_kind, SourceKind::Opencost);
    assert_eq!(
        err.message,
        "/allocation step 0: totalCost of pod default/web-2 is null, not a finite, non-negative \
         number"
    );
}

#[tokio::test]
async fn a_negative_total_is_a_bad_response_naming_the_pod() {
    let server = MockServer::start().await;
    mount_ok(
        &server,
        body(vec![
            step(vec![pod("default", "web-1", 0, 0.125)]),
            step(vec![pod("default", "web-1", 1, -0.5)]),
        ]),
    )
    .await;
    let err = costs_err(&server).await;
    assert_eq!(err.kind, SourceErrorKind::BadResponse);
    assert_eq!(
        err.message,
        "/allocation step 1: totalCost of pod default/web-1 is -0.5, not a finite, non-negative \
         number"
    );
}

#[tokio::test]
async fn an_allocation_without_namespace_is_a_bad_response_naming_its_key() {
    let server = MockServer::start().await;
    let orphan = allocation("web-9", None, Some("web-9"), 0, json!(0.25));
    mount_ok(
        &server,
        body(vec![step(vec![("web-9".to_owned(), orphan)])]),
    )
    .await;
    let err = costs_err(&server).await;
    assert_eq!(err.kind, SourceErrorKind::BadResponse);
    assert_eq!(
        err.message,
        "/allocation step 0: allocation \"web-9\" has no properties.namespace and properties.pod"
    );
}

#[tokio::test]
async fn an_error_code_inside_a_200_is_a_bad_response() {
    let server = MockServer::start().await;
    mount_ok(
        &server,
        json!({"code": 500, "message": "error querying Prometheus: connection refused", "data": null}),
    )
    .await;
    let err = costs_err(&server).await;
    assert_eq!(err.kind, SourceErrorKind::BadResponse);
    assert_eq!(
        err.message,
        "/allocation answered code 500: error querying Prometheus: connection refused"
    );
}

#[tokio::test]
async fn unauthorized_is_not_retried() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/allocation"))
        .respond_with(ResponseTemplate::new(401).set_body_string("Unauthorized"))
        .expect(1)
        .mount(&server)
        .await;
    let err = costs_err(&server).await;
    assert_eq!(err.kind, SourceErrorKind::Unauthorized);
    assert_eq!(err.source_kind, SourceKind::Opencost);
}

#[tokio::test]
async fn rate_limited_then_answered() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/allocation"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "0"))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    mount_ok(
        &server,
        body(vec![step(vec![pod("default", "web-1", 0, 0.125)])]),
    )
    .await;
    let costs = source(&server).costs(hour()).await.expect("second attempt");
    assert_eq!(costs, vec![entry("default", "web-1", 0.125)]);
}

#[tokio::test]
async fn server_errors_are_retried_a_bounded_number_of_times() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/allocation"))
        .respond_with(ResponseTemplate::new(503).set_body_string("no healthy upstream"))
        .expect(3)
        .mount(&server)
        .await;
    let err = costs_err(&server).await;
    assert_eq!(err.kind, SourceErrorKind::ServerError);
    assert!(err.message.contains("after 3 attempts"), "{err}");
    assert!(err.message.contains("no healthy upstream"), "{err}");
}

#[tokio::test]
async fn a_slow_server_times_out() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/allocation"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(body(vec![]))
                .set_delay(Duration::from_secs(2)),
        )
        .expect(3)
        .mount(&server)
        .await;
    let err = costs_err(&server).await;
    assert_eq!(err.kind, SourceErrorKind::Timeout);
}

#[tokio::test]
async fn malformed_json_is_a_bad_response_and_not_retried() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/allocation"))
        .respond_with(ResponseTemplate::new(200).set_body_string(r#"{"code":200,"data":[{"#))
        .expect(1)
        .mount(&server)
        .await;
    let err = costs_err(&server).await;
    assert_eq!(err.kind, SourceErrorKind::BadResponse);

    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/allocation"))
        .respond_with(ResponseTemplate::new(200).set_body_string(r#"{"code":200,"data":{"a":1}}"#))
        .expect(1)
        .mount(&server)
        .await;
    let err = costs_err(&server).await;
    assert_eq!(err.kind, SourceErrorKind::BadResponse);
    assert!(err.message.contains("at data"), "{err}");
}

#[tokio::test]
async fn a_closed_port_is_unreachable() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    drop(listener);
    let source = OpenCostSource::new(
        &url,
        HttpPolicy {
            attempts: 2,
            ..policy()
        },
    )
    .expect("source");
    let err = source.costs(hour()).await.expect_err("nothing listens");
    assert_eq!(err.kind, SourceErrorKind::Unreachable);
    assert!(err.message.contains("after 2 attempts"), "{err}");
}
