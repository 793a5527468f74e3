//! `greenkube serve`: the REST API (a drop-in for GreenKube 0.2.12's), health probes and the
//! OpenAPI document over one store, opened once and shared by every request.
//!
//! Every request passes [`security::guard`] (rate limit, API key, read-only, headers); CORS,
//! body size and time-out come from tower-http. Handlers parse parameters, call the use cases
//! of `greenkube_adapters::app` and shape GreenKube's JSON: nothing else.

mod api;
mod dashboard;
mod error;
mod openapi;
mod params;
mod prometheus;
mod reuse;
mod security;
pub(crate) mod self_metrics;
mod state;
mod static_files;

use std::net::SocketAddr;

use anyhow::Context;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use greenkube_adapters::app::collect::Stop;
use greenkube_adapters::store::Store;
use tower_http::cors::{AllowOrigin, CorsLayer};

pub(crate) use state::{AppState, ServerConfig};

/// Every reader of a query string of the API, on `query` (for the fuzz targets).
#[cfg(feature = "fuzzing")]
pub(crate) fn fuzz_params(query: &str) -> Result<(), error::ApiError> {
    let params = params::Params::parse(query)?;
    let now = chrono::DateTime::from_timestamp(1_780_000_000, 0).unwrap_or_default();
    let _ = params.scope();
    let _ = params.last(now);
    let _ = params.bounded("limit", 10, 1, 1000);
    let _ = params.flag("refresh");
    let _ = params::report_ranges(&params, now);
    Ok(())
}

use crate::printer;

/// The whole application: API, probes, OpenAPI, and the front end at `/`.
pub(crate) fn router(state: AppState) -> Router {
    let limit = security::RateLimit::per_minute(state.config().rate_limit_per_minute);
    let cors = cors(&state.config().cors_origins);
    let timeout = state.config().request_timeout;
    let max_body = state.config().max_body_bytes;
    let mut app = Router::new()
        .nest(
            "/api/v1",
            api::routes().route_layer(axum::middleware::from_fn_with_state(
                state.clone(),
                reuse::reads,
            )),
        )
        .route("/api/v1/openapi.json", get(openapi::document))
        .route("/api/v1/docs", get(openapi::page))
        .route("/prometheus/metrics", get(prometheus::metrics))
        .route("/metrics", get(prometheus::metrics))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .fallback(static_files::serve)
        .with_state(state.clone());
    if let Some(cors) = cors {
        app = app.layer(cors);
    }
    app.layer(axum::middleware::from_fn_with_state(
        (state, limit),
        security::guard,
    ))
    .layer(tower_http::limit::RequestBodyLimitLayer::new(max_body))
    .layer(tower_http::timeout::TimeoutLayer::with_status_code(
        StatusCode::REQUEST_TIMEOUT,
        timeout,
    ))
    .layer(tower_http::catch_panic::CatchPanicLayer::custom(
        |_: Box<dyn std::any::Any + Send>| {
            error::ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
                .into_response()
        },
    ))
}

fn cors(origins: &[String]) -> Option<CorsLayer> {
    if origins.is_empty() {
        return None;
    }
    let layer = CorsLayer::new()
        .allow_methods([
            Method::GET,
            Method::POST,
            Method::PATCH,
            Method::DELETE,
            Method::OPTIONS,
        ])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE]);
    if origins.iter().any(|o| o == "*") {
        return Some(layer.allow_origin(AllowOrigin::any()));
    }
    let list: Vec<HeaderValue> = origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o.trim()).ok())
        .collect();
    Some(layer.allow_origin(list).allow_credentials(true))
}

/// `GET /healthz`: the process answers.
async fn healthz() -> &'static str {
    "ok\n"
}

/// `GET /readyz`: the store answers and its schema is current (503 otherwise).
async fn readyz(State(state): State<AppState>) -> Response {
    match state.store().footprints.retention_state().await {
        Ok(_) => (StatusCode::OK, "ready\n").into_response(),
        Err(e) => error::ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("the store is not ready: {e}"),
        )
        .into_response(),
    }
}

/// Serves until `stop`; then finishes the requests in flight.
pub(crate) async fn serve(store: Store, config: ServerConfig, stop: Stop) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let address = listener
        .local_addr()
        .context("reading the listening address")?;
    let location = store.location.clone();
    // The address really bound (`/config` reports it; port 0 picks one).
    let config = ServerConfig {
        listen: address,
        ..config
    };
    let state = AppState::new(store, config);
    let metrics = tokio::spawn(prometheus::keep_fresh(state.clone(), stop.clone()));
    let app = router(state);
    printer::progress_line(&format!(
        "serving {location} on http://{address} (API at /api/v1, docs at /api/v1/docs); Ctrl-C stops"
    ));
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown({
        let stop = stop.clone();
        async move { stop.requested().await }
    })
    .await
    .context("serving")?;
    stop.request();
    let _ = metrics.await;
    printer::note("stopped serving");
    Ok(())
}
