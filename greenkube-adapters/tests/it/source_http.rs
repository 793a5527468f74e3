//! The shared HTTP client of the sources against a wiremock server: retries what may pass,
//! stops at what cannot, and names the source in every error.

use std::time::{Duration, Instant};

use greenkube_adapters::sources::http::{HttpPolicy, SourceHttp};
use greenkube_core::ports::{SourceErrorKind, SourceKind};
use serde::Deserialize;
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[derive(Debug, Deserialize, PartialEq)]
struct Answer {
    value: f64,
}

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

fn client(server: &MockServer) -> SourceHttp {
    SourceHttp::new(SourceKind::Opencost, &server.uri(), policy()).expect("client")
}

#[tokio::test]
async fn server_errors_are_retried_until_an_answer_comes() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/x"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(2)
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/x"))
        .and(query_param("window", "5m"))
        .respond_with(ResponseTemplate::new(200).set_body_string(r#"{"value": 2.5}"#))
        .expect(1)
        .mount(&server)
        .await;
    let answer: Answer = client(&server)
        .get_json("/api/x", &[("window", "5m".to_owned())])
        .await
        .expect("third attempt answers");
    assert_eq!(answer, Answer { value: 2.5 });
}

#[tokio::test]
async fn retries_are_bounded() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(500).set_body_string("boom"))
        .expect(3)
        .mount(&server)
        .await;
    let err = client(&server)
        .get_json::<Answer>("x", &[])
        .await
        .expect_err("always 500");
    assert_eq!(err.kind, SourceErrorKind::ServerError);
    assert_eq!(err.source_kind, SourceKind::Opencost);
    assert!(err.message.contains("after 3 attempts"), "{err}");
    assert!(err.message.contains("boom"), "{err}");
}

#[tokio::test]
async fn unauthorized_is_not_retried() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(401))
        .expect(1)
        .mount(&server)
        .await;
    let err = client(&server)
        .get_json::<Answer>("x", &[])
        .await
        .expect_err("401");
    assert_eq!(err.kind, SourceErrorKind::Unauthorized);
    assert!(!err.message.contains("attempts"), "{err}");
}

#[tokio::test]
async fn rate_limits_wait_and_retry() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "0"))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_string(r#"{"value": 1}"#))
        .expect(1)
        .mount(&server)
        .await;
    let answer: Answer = client(&server)
        .get_json("x", &[])
        .await
        .expect("second attempt");
    assert_eq!(answer.value, 1.0);
}

#[tokio::test]
async fn malformed_answers_name_the_field_and_are_not_retried() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_string(r#"{"value": "high"}"#))
        .expect(1)
        .mount(&server)
        .await;
    let err = client(&server)
        .get_json::<Answer>("x", &[])
        .await
        .expect_err("string instead of number");
    assert_eq!(err.kind, SourceErrorKind::BadResponse);
    assert!(err.message.contains("at value"), "{err}");
}

#[tokio::test]
async fn slow_answers_time_out_after_bounded_attempts() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_string(r#"{"value": 1}"#)
                .set_delay(Duration::from_secs(2)),
        )
        .mount(&server)
        .await;
    let started = Instant::now();
    let err = client(&server)
        .get_json::<Answer>("x", &[])
        .await
        .expect_err("too slow");
    assert_eq!(err.kind, SourceErrorKind::Timeout);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "bounded: {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn not_found_is_an_answer_when_asked() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(404))
        .mount(&server)
        .await;
    let http = client(&server);
    assert_eq!(
        http.get_json_or_404::<Answer>("x", &[])
            .await
            .expect("none"),
        None
    );
    let err = http.get_json::<Answer>("x", &[]).await.expect_err("404");
    assert_eq!(err.kind, SourceErrorKind::NotFound);
}

#[tokio::test]
async fn headers_are_sent_and_unreachable_servers_are_reported() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(header("auth-token", "s3cret"))
        .respond_with(ResponseTemplate::new(200).set_body_string(r#"{"value": 3}"#))
        .expect(1)
        .mount(&server)
        .await;
    let http = client(&server)
        .with_header("auth-token", "s3cret")
        .expect("header");
    assert!(!format!("{http:?}").contains("s3cret"));
    assert_eq!(
        http.get_json::<Answer>("x", &[]).await.expect("ok").value,
        3.0
    );

    let closed =
        SourceHttp::new(SourceKind::Prometheus, "http://127.0.0.1:9/", policy()).expect("client");
    let err = closed
        .get_json::<Answer>("x", &[])
        .await
        .expect_err("port 9 is closed");
    assert_eq!(err.kind, SourceErrorKind::Unreachable);
    assert!(
        err.to_string().starts_with("prometheus unreachable"),
        "{err}"
    );
}

fn small_answers(server: &str) -> SourceHttp {
    let policy = HttpPolicy {
        max_answer_bytes: 1024 * 1024,
        request_timeout: Duration::from_secs(20),
        ..policy()
    };
    SourceHttp::new(SourceKind::Prometheus, server, policy).expect("client")
}

#[tokio::test]
async fn an_answer_over_the_limit_is_refused_and_not_retried() {
    let server = MockServer::start().await;
    let big = format!(
        r#"{{"value": 1, "pad": "{}"}}"#,
        "x".repeat(2 * 1024 * 1024)
    );
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_string(big))
        .expect(1)
        .mount(&server)
        .await;
    let err = small_answers(&server.uri())
        .get_json::<serde_json::Value>("x", &[])
        .await
        .expect_err("too large");
    assert_eq!(err.kind, SourceErrorKind::BadResponse);
    assert!(err.message.contains("larger than 1048576 bytes"), "{err}");
}

/// A server whose answer never ends (chunked, no length): the client stops at the limit, long
/// before the time-out, with bounded memory.
#[tokio::test]
async fn an_answer_that_never_ends_stops_at_the_limit() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut request = [0u8; 4096];
                let _ = socket.read(&mut request).await;
                let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\
                            transfer-encoding: chunked\r\n\r\n";
                if socket.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                let chunk = format!("{:x}\r\n{}\r\n", 64 * 1024, "[".repeat(64 * 1024));
                while socket.write_all(chunk.as_bytes()).await.is_ok() {}
            });
        }
    });
    let started = Instant::now();
    let err = small_answers(&format!("http://{address}"))
        .get_json::<serde_json::Value>("x", &[])
        .await
        .expect_err("never ends");
    assert_eq!(err.kind, SourceErrorKind::BadResponse, "{err}");
    assert!(err.message.contains("larger than 1048576 bytes"), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "stopped at the limit, not the time-out"
    );
}

/// A server that echoes the token it was sent and the URL's password (in an error body and in
/// a malformed answer) does not get them printed: every error masks the client's secrets.
#[tokio::test]
async fn secrets_echoed_by_a_server_are_masked_in_errors() {
    let server = MockServer::start().await;
    let echo = "auth-token PLANTED\"TOKEN-1 or password PLANTED:PW/2 is not valid here";
    Mock::given(method("GET"))
        .and(path("/denied"))
        .respond_with(ResponseTemplate::new(401).set_body_string(echo))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/malformed"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(serde_json::json!({ "value": echo })),
        )
        .mount(&server)
        .await;
    let port = server.address().port();
    // The password as it is written in the URL (percent-encoded) and as it is sent.
    let url = format!("http://user:PLANTED%3APW%2F2@127.0.0.1:{port}");
    let http = SourceHttp::new(SourceKind::ElectricityMaps, &url, policy())
        .expect("client")
        .with_header("auth-token", "PLANTED\"TOKEN-1")
        .expect("header");
    for what in ["denied", "malformed"] {
        let err = http
            .get_json::<Answer>(what, &[])
            .await
            .expect_err("refused");
        let shown = format!("{err} {err:?}");
        assert!(!shown.contains("PLANTED"), "{shown}");
        // The rest of the answer is still shown: the masking is of the secrets only.
        assert!(shown.contains("is not valid here"), "{shown}");
        assert!(shown.contains("***"), "{shown}");
    }
}
