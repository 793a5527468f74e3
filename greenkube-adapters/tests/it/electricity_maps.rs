//! The Electricity Maps intensity source against a wiremock server replaying the v3 API's
//! answers (services.md A6): the token header, the zone and emission factor parameters, null
//! intensities never read as zero, one request per zone and hour, and every failure typed.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use greenkube_adapters::sources::clock::Clock;
use greenkube_adapters::sources::electricity_maps::{ElectricityMapsSource, EmissionFactorType};
use greenkube_adapters::sources::http::HttpPolicy;
use greenkube_core::ports::{
    IntensityPoint, IntensitySource, SourceError, SourceErrorKind, SourceKind,
};
use serde_json::{Value, json};
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const TOKEN: &str = "em-test-token-0123";

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

/// A clock the test moves.
#[derive(Clone)]
struct TestClock(Arc<Mutex<DateTime<Utc>>>);

impl TestClock {
    fn at(t: DateTime<Utc>) -> Self {
        Self(Arc::new(Mutex::new(t)))
    }

    fn set(&self, t: DateTime<Utc>) {
        *self.0.lock().unwrap() = t;
    }

    fn clock(&self) -> Clock {
        let inner = self.0.clone();
        Arc::new(move || *inner.lock().unwrap())
    }
}

fn t(h: u32, m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 1, 27, h, m, 0).unwrap()
}

fn source(server: &MockServer, clock: &TestClock) -> ElectricityMapsSource {
    ElectricityMapsSource::new(&format!("{}/v3", server.uri()), TOKEN, policy())
        .expect("source")
        .with_clock(clock.clock())
}

/// One hour as `latest` and `history` give it.
fn record(zone: &str, at: &str, intensity: Value) -> Value {
    let mut record = json!({
        "zone": zone,
        "datetime": at,
        "updatedAt": "2024-01-27T13:44:44.419Z",
        "createdAt": "2024-01-24T13:47:15.036Z",
        "emissionFactorType": "lifecycle",
        "isEstimated": true,
        "estimationMethod": "TIME_SLICER_AVERAGE",
        "temporalGranularity": "hourly"
    });
    record["carbonIntensity"] = intensity;
    record
}

fn point(zone: &str, at: DateTime<Utc>, value: f64, source: &str) -> IntensityPoint {
    IntensityPoint {
        zone: zone.to_owned(),
        at,
        gco2e_per_kwh: value,
        source: source.to_owned(),
    }
}

/// Mounts an answer for `endpoint` and `zone`, with the token and lifecycle factors required.
async fn mount(server: &MockServer, endpoint: &str, zone: &str, answer: Value, times: u64) {
    Mock::given(method("GET"))
        .and(path(format!("/v3/carbon-intensity/{endpoint}")))
        .and(header("auth-token", TOKEN))
        .and(query_param("zone", zone))
        .and(query_param("emissionFactorType", "lifecycle"))
        .respond_with(ResponseTemplate::new(200).set_body_json(answer))
        .expect(times)
        .mount(server)
        .await;
}

async fn latest_err(server: &MockServer) -> SourceError {
    source(server, &TestClock::at(t(13, 5)))
        .latest("FR")
        .await
        .expect_err("must fail")
}

#[tokio::test]
async fn latest_is_one_point_with_the_token_zone_and_lifecycle_factors() {
    let server = MockServer::start().await;
    mount(
        &server,
        "latest",
        "FR",
        record("FR", "2024-01-27T13:00:00.000Z", json!(42)),
        1,
    )
    .await;
    let got = source(&server, &TestClock::at(t(13, 5)))
        .latest("FR")
        .await
        .expect("latest");
    assert_eq!(got, point("FR", t(13, 0), 42.0, "electricity-maps"));
}

#[tokio::test]
async fn the_same_zone_twice_in_an_hour_makes_one_request() {
    let server = MockServer::start().await;
    mount(
        &server,
        "latest",
        "DE",
        record("DE", "2024-01-27T13:00:00.000Z", json!(381.5)),
        2,
    )
    .await;
    mount(
        &server,
        "latest",
        "FR",
        record("FR", "2024-01-27T13:00:00.000Z", json!(42)),
        1,
    )
    .await;
    let clock = TestClock::at(t(13, 5));
    let source = source(&server, &clock);
    let first = source.latest("DE").await.expect("first");
    clock.set(t(13, 59));
    let second = source.latest("DE").await.expect("cached");
    assert_eq!(first, second);
    assert_eq!(first.gco2e_per_kwh, 381.5);
    // Another zone is another request.
    assert_eq!(source.latest("FR").await.expect("FR").gco2e_per_kwh, 42.0);
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
    // A new hour asks again.
    clock.set(t(14, 0));
    source.latest("DE").await.expect("next hour");
    assert_eq!(server.received_requests().await.unwrap().len(), 3);
}

#[tokio::test]
async fn concurrent_calls_for_a_zone_share_one_request() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v3/carbon-intensity/latest"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(record("FR", "2024-01-27T13:00:00.000Z", json!(42)))
                .set_delay(Duration::from_millis(100)),
        )
        .expect(1)
        .mount(&server)
        .await;
    let source = source(&server, &TestClock::at(t(13, 5)));
    let (a, b, c) = tokio::join!(
        source.latest("FR"),
        source.latest("FR"),
        source.latest(" FR ")
    );
    assert_eq!(a.expect("a").gco2e_per_kwh, 42.0);
    assert_eq!(b.expect("b").gco2e_per_kwh, 42.0);
    assert_eq!(c.expect("c").zone, "FR");
}

/// 24 hourly records from 2024-01-26T14:00Z, values 30 + hour index, the 21st null.
fn history_answer() -> Value {
    let history: Vec<Value> = (0..24)
        .map(|i| {
            let at = t(14, 0) - chrono::Duration::days(1) + chrono::Duration::hours(i);
            let value = if i == 20 { Value::Null } else { json!(30 + i) };
            record(
                "FR",
                &at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                value,
            )
        })
        .collect();
    json!({"zone": "FR", "history": history})
}

#[tokio::test]
async fn history_skips_null_hours_and_is_cached_per_hour() {
    let server = MockServer::start().await;
    mount(&server, "history", "FR", history_answer(), 1).await;
    let source = source(&server, &TestClock::at(t(13, 5)));
    let points = source.history("FR").await.expect("history");
    assert_eq!(points.len(), 23);
    let start = t(14, 0) - chrono::Duration::days(1);
    assert_eq!(points[0], point("FR", start, 30.0, "electricity-maps"));
    assert_eq!(
        points[19],
        point(
            "FR",
            start + chrono::Duration::hours(19),
            49.0,
            "electricity-maps"
        )
    );
    // Hour 20 is missing, not zero.
    assert_eq!(
        points[20],
        point(
            "FR",
            start + chrono::Duration::hours(21),
            51.0,
            "electricity-maps"
        )
    );
    assert_eq!(points[22], point("FR", t(13, 0), 53.0, "electricity-maps"));
    assert!(points.windows(2).all(|w| w[0].at < w[1].at));
    assert_eq!(source.history("FR").await.expect("cached"), points);
}

#[tokio::test]
async fn history_with_only_null_hours_is_a_bad_response() {
    let server = MockServer::start().await;
    let history: Vec<Value> = (0..3)
        .map(|h| record("FR", &format!("2024-01-27T1{h}:00:00.000Z"), Value::Null))
        .collect();
    mount(
        &server,
        "history",
        "FR",
        json!({"zone": "FR", "history": history}),
        1,
    )
    .await;
    let err = source(&server, &TestClock::at(t(13, 5)))
        .history("FR")
        .await
        .expect_err("all null");
    assert_eq!(err.kind, SourceErrorKind::BadResponse);
    assert_eq!(
        err.message,
        "carbon-intensity/history of zone FR: carbonIntensity is null at all 3 hours"
    );
}

#[tokio::test]
async fn forecast_points_carry_the_forecast_source() {
    let server = MockServer::start().await;
    let forecast = json!({
        "zone": "DE",
        "forecast": [
            {"carbonIntensity": 312, "datetime": "2024-01-27T15:00:00.000Z"},
            {"carbonIntensity": 298.25, "datetime": "2024-01-27T14:00:00.000Z"},
            {"carbonIntensity": null, "datetime": "2024-01-27T16:00:00.000Z"},
            {"carbonIntensity": 305, "datetime": "2024-01-27T17:00:00.000Z"}
        ],
        "updatedAt": "2024-01-27T13:44:44.419Z"
    });
    mount(&server, "forecast", "DE", forecast, 1).await;
    let points = source(&server, &TestClock::at(t(13, 5)))
        .forecast("DE")
        .await
        .expect("forecast");
    assert_eq!(
        points,
        vec![
            point("DE", t(14, 0), 298.25, "electricity-maps-forecast"),
            point("DE", t(15, 0), 312.0, "electricity-maps-forecast"),
            point("DE", t(17, 0), 305.0, "electricity-maps-forecast"),
        ]
    );
}

#[tokio::test]
async fn a_null_latest_intensity_is_a_bad_response_not_zero() {
    let server = MockServer::start().await;
    mount(
        &server,
        "latest",
        "FR",
        record("FR", "2024-01-27T13:00:00.000Z", Value::Null),
        1,
    )
    .await;
    let err = latest_err(&server).await;
    assert_eq!(err.kind, SourceErrorKind::BadResponse);
    assert_eq!(err.source_kind, SourceKind::ElectricityMaps);
    assert_eq!(
        err.message,
        "latest carbonIntensity of zone FR at 2024-01-27T13:00:00+00:00 is null"
    );
}

#[tokio::test]
async fn a_negative_intensity_is_a_bad_response() {
    let server = MockServer::start().await;
    mount(
        &server,
        "latest",
        "FR",
        record("FR", "2024-01-27T13:00:00.000Z", json!(-4)),
        1,
    )
    .await;
    let err = latest_err(&server).await;
    assert_eq!(err.kind, SourceErrorKind::BadResponse);
    assert!(err.message.contains("carbonIntensity -4 is not"), "{err}");
}

#[tokio::test]
async fn direct_factors_are_asked_and_checked() {
    let server = MockServer::start().await;
    let mut direct = record("FR", "2024-01-27T13:00:00.000Z", json!(17));
    direct["emissionFactorType"] = json!("direct");
    Mock::given(method("GET"))
        .and(path("/v3/carbon-intensity/latest"))
        .and(query_param("zone", "FR"))
        .and(query_param("emissionFactorType", "direct"))
        .respond_with(ResponseTemplate::new(200).set_body_json(direct))
        .expect(1)
        .mount(&server)
        .await;
    let clock = TestClock::at(t(13, 5));
    let direct_source =
        source(&server, &clock).with_emission_factor_type(EmissionFactorType::Direct);
    assert_eq!(
        direct_source.latest("FR").await.expect("direct"),
        point("FR", t(13, 0), 17.0, "electricity-maps")
    );

    // An answer of the other kind than asked is refused.
    let server = MockServer::start().await;
    let mut wrong = record("FR", "2024-01-27T13:00:00.000Z", json!(17));
    wrong["emissionFactorType"] = json!("direct");
    mount(&server, "latest", "FR", wrong, 1).await;
    let err = latest_err(&server).await;
    assert_eq!(err.kind, SourceErrorKind::BadResponse);
    assert!(
        err.message
            .contains("emissionFactorType is \"direct\", \"lifecycle\" was asked"),
        "{err}"
    );
}

#[tokio::test]
async fn unauthorized_is_not_retried_nor_cached() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "status": "error",
            "message": "Invalid authentication token"
        })))
        .expect(2)
        .mount(&server)
        .await;
    let source = source(&server, &TestClock::at(t(13, 5)));
    let err = source.latest("FR").await.expect_err("401");
    assert_eq!(err.kind, SourceErrorKind::Unauthorized);
    assert!(!err.message.contains(TOKEN), "{err}");
    // Errors are not cached: the next call asks again (once, not retried).
    let err = source.latest("FR").await.expect_err("401 again");
    assert_eq!(err.kind, SourceErrorKind::Unauthorized);
}

#[tokio::test]
async fn rate_limited_then_answered() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "0"))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    mount(
        &server,
        "latest",
        "FR",
        record("FR", "2024-01-27T13:00:00.000Z", json!(42)),
        1,
    )
    .await;
    let got = source(&server, &TestClock::at(t(13, 5)))
        .latest("FR")
        .await
        .expect("second attempt");
    assert_eq!(got.gco2e_per_kwh, 42.0);
}

#[tokio::test]
async fn server_errors_are_retried_a_bounded_number_of_times() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(502).set_body_string("Bad Gateway"))
        .expect(3)
        .mount(&server)
        .await;
    let err = latest_err(&server).await;
    assert_eq!(err.kind, SourceErrorKind::ServerError);
    assert!(err.message.contains("after 3 attempts"), "{err}");
}

#[tokio::test]
async fn a_slow_server_times_out() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(record("FR", "2024-01-27T13:00:00.000Z", json!(42)))
                .set_delay(Duration::from_secs(2)),
        )
        .expect(3)
        .mount(&server)
        .await;
    let err = latest_err(&server).await;
    assert_eq!(err.kind, SourceErrorKind::Timeout);
}

#[tokio::test]
async fn malformed_answers_are_bad_responses() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_string("<html>maintenance</html>"))
        .expect(1)
        .mount(&server)
        .await;
    let err = latest_err(&server).await;
    assert_eq!(err.kind, SourceErrorKind::BadResponse);

    let server = MockServer::start().await;
    mount(
        &server,
        "latest",
        "FR",
        record("FR", "2024-01-27T13:00:00.000Z", json!("42")),
        1,
    )
    .await;
    let err = latest_err(&server).await;
    assert_eq!(err.kind, SourceErrorKind::BadResponse);
    assert!(err.message.contains("at carbonIntensity"), "{err}");

    let server = MockServer::start().await;
    mount(&server, "history", "FR", json!({"zone": "FR"}), 1).await;
    let err = source(&server, &TestClock::at(t(13, 5)))
        .history("FR")
        .await
        .expect_err("no history list");
    assert_eq!(err.kind, SourceErrorKind::BadResponse);
    assert_eq!(
        err.message,
        "carbon-intensity/history of zone FR: the answer has no history list"
    );
}

#[tokio::test]
async fn an_empty_zone_asks_nothing() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(&server)
        .await;
    let err = source(&server, &TestClock::at(t(13, 5)))
        .latest("  ")
        .await
        .expect_err("empty zone");
    assert_eq!(err.kind, SourceErrorKind::NotFound);
}
