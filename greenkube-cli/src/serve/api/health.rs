//! `/api/v1/health*`, `/api/v1/version` and `/api/v1/config`.

use greenkube_adapters::secret::Secret;
use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::serve::error::{ApiError, ApiResult, Detail};
use crate::serve::params::Params;
use crate::serve::state::AppState;

/// `{status, version}`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Health {
    /// `ok`.
    status: String,
    /// greenkube's version.
    version: String,
}

/// The process is up (always `ok`; `/readyz` also checks the store).
#[utoipa::path(get, path = "/api/v1/health", tag = "health", responses((status = 200, body = Health)))]
pub(crate) async fn health() -> Json<Health> {
    Json(Health {
        status: "ok".to_string(),
        version: greenkube_core::VERSION.to_string(),
    })
}

/// `{version}`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Version {
    /// greenkube's version.
    version: String,
}

/// greenkube's version.
#[utoipa::path(get, path = "/api/v1/version", tag = "health", responses((status = 200, body = Version)))]
pub(crate) async fn version() -> Json<Version> {
    Json(Version {
        version: greenkube_core::VERSION.to_string(),
    })
}

/// The running configuration, without secrets.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Config {
    /// `sqlite`, `postgres` or `elasticsearch`.
    db_type: String,
    /// Not fixed: each node's provider is read from the node (`null`).
    cloud_provider: Option<String>,
    /// Not fixed: each node's zone comes from its region (`null`).
    default_zone: Option<String>,
    /// Grid intensity used when a zone is unknown, gCO2e/kWh.
    default_intensity: f64,
    /// PUE the classic methodology uses when the provider is unknown.
    default_pue: f64,
    /// Log level.
    log_level: String,
    /// Log format.
    log_format: String,
    /// Not used (costs come per window): `null`.
    normalization_granularity: Option<String>,
    /// Not used by the server: `null`.
    prometheus_query_range_step: Option<String>,
    /// Listening address.
    api_host: String,
    /// Listening port.
    api_port: u16,
    /// The store, password redacted (greenkube's addition, as every field below).
    store: String,
    /// Default methodology and its version.
    methodology: String,
    /// Reference-data version.
    data_version: String,
    /// Mutations refused.
    read_only: bool,
    /// An API key is required.
    api_key_required: bool,
    /// Cluster label of the metrics (`--cluster`; `null`: the store's only cluster).
    cluster: Option<String>,
    /// Started at.
    started_at: DateTime<Utc>,
    /// greenkube's version.
    version: String,
}

/// GreenKube's PUE for a provider it does not know (classic methodology).
const CLASSIC_UNKNOWN_PUE: f64 = 1.3;

/// The running configuration; secrets are never returned.
#[utoipa::path(get, path = "/api/v1/config", tag = "health", responses((status = 200, body = Config)))]
pub(crate) async fn config(State(state): State<AppState>) -> Json<Config> {
    let reference = greenkube_core::ReferenceData::embedded();
    let methodology = greenkube_core::Methodology::default();
    let coefficients = reference.coefficients();
    let listen = state.config().listen;
    Json(Config {
        db_type: state.store().backend.name().to_string(),
        cloud_provider: None,
        default_zone: None,
        default_intensity: coefficients.default_intensity.point,
        default_pue: CLASSIC_UNKNOWN_PUE,
        log_level: "info".to_string(),
        log_format: "text".to_string(),
        normalization_granularity: None,
        prometheus_query_range_step: None,
        api_host: listen.ip().to_string(),
        api_port: listen.port(),
        store: state.store().location.clone(),
        methodology: format!("{} {}", methodology.name(), methodology.version()),
        data_version: reference.version().to_string(),
        read_only: state.config().read_only,
        api_key_required: state.config().api_key.is_some(),
        cluster: state.config().cluster.clone(),
        started_at: state.started(),
        version: greenkube_core::VERSION.to_string(),
    })
}

/// The health of one source.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub(crate) struct ServiceHealth {
    /// Source name.
    name: String,
    /// `healthy`, `degraded`, `unreachable` or `unconfigured`.
    status: String,
    /// URL probed (passwords redacted).
    url: Option<String>,
    /// What happened.
    message: String,
    /// Time to answer, milliseconds.
    latency_ms: Option<f64>,
    /// When probed.
    last_check: DateTime<Utc>,
    /// Configured explicitly.
    configured: bool,
    /// Found by discovery.
    discovered: bool,
}

/// The health of every source.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ServicesHealth {
    /// `ok` when every source is healthy, else `degraded`.
    status: String,
    /// greenkube's version.
    version: String,
    /// By name.
    services: BTreeMap<String, ServiceHealth>,
}

async fn probe_all(state: &AppState) -> Vec<ServiceHealth> {
    let settings = state.sources();
    // Probes happen now, whatever `--now` says.
    greenkube_adapters::app::health::check(&settings, crate::clock::wall_clock())
        .await
        .into_iter()
        .map(|h| ServiceHealth {
            name: h.name.to_string(),
            status: h.status.name().to_string(),
            url: h.url,
            message: h.message,
            latency_ms: h.latency_ms,
            last_check: h.last_check,
            configured: h.configured,
            discovered: h.discovered,
        })
        .collect()
}

fn overall(services: Vec<ServiceHealth>) -> ServicesHealth {
    let healthy = services
        .iter()
        .all(|s| s.status == "healthy" || s.status == "unconfigured");
    ServicesHealth {
        status: if healthy { "ok" } else { "degraded" }.to_string(),
        version: greenkube_core::VERSION.to_string(),
        services: services.into_iter().map(|s| (s.name.clone(), s)).collect(),
    }
}

/// Probes every source (Prometheus, OpenCost, Electricity Maps, Boavizta, Kubernetes).
#[utoipa::path(get, path = "/api/v1/health/services", tag = "health",
    params(("force" = Option<bool>, Query, description = "Accepted for compatibility: every call probes")),
    responses((status = 200, body = ServicesHealth)))]
pub(crate) async fn services(
    State(state): State<AppState>,
    params: Params,
) -> ApiResult<Json<ServicesHealth>> {
    params.flag("force")?;
    Ok(Json(overall(probe_all(&state).await)))
}

/// Probes one source.
#[utoipa::path(get, path = "/api/v1/health/services/{service_name}", tag = "health",
    params(("service_name" = String, Path, description = "prometheus, opencost, electricity_maps, boavizta or kubernetes")),
    responses((status = 200, body = ServiceHealth), (status = 404, body = Detail)))]
pub(crate) async fn service(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> ApiResult<Json<ServiceHealth>> {
    if !greenkube_adapters::app::health::SERVICES.contains(&name.as_str()) {
        return Err(ApiError::not_found(format!(
            "unknown service `{name}`; valid names: {}",
            greenkube_adapters::app::health::SERVICES.join(", ")
        )));
    }
    probe_all(&state)
        .await
        .into_iter()
        .find(|s| s.name == name)
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("unknown service `{name}`")))
}

/// New source settings (every field optional).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ServicesUpdate {
    /// Prometheus URL.
    prometheus_url: Option<String>,
    /// OpenCost URL.
    opencost_url: Option<String>,
    /// Electricity Maps token (never returned).
    #[schema(value_type = Option<String>)]
    electricity_maps_token: Option<Secret>,
    /// Boavizta URL.
    boavizta_url: Option<String>,
}

/// Changes the source settings of the running server (only when started with
/// `--allow-config-changes`), then probes them.
#[utoipa::path(post, path = "/api/v1/config/services", tag = "health",
    request_body = ServicesUpdate,
    responses((status = 200, body = ServicesHealth), (status = 403, body = Detail), (status = 422, body = Detail)))]
pub(crate) async fn set_services(
    State(state): State<AppState>,
    body: axum::body::Bytes,
) -> ApiResult<Json<ServicesHealth>> {
    if state.config().read_only || !state.config().allow_config_changes {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "changing the configuration is not allowed: start the server with \
             --allow-config-changes (and without --read-only)",
        ));
    }
    let update: ServicesUpdate = serde_json::from_slice(&body)
        .map_err(|e| ApiError::unprocessable(format!("the request body is not valid: {e}")))?;
    let clean = |v: Option<String>| v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
    state.update_sources(|settings| {
        if let Some(url) = clean(update.prometheus_url) {
            settings.prometheus_url = Some(url);
        }
        if let Some(url) = clean(update.opencost_url) {
            settings.opencost_url = Some(url);
        }
        let token = update.electricity_maps_token.map(|t| t.expose().to_owned());
        if let Some(token) = clean(token) {
            settings.electricity_maps_token = Some(Secret::new(token));
        }
        if let Some(url) = clean(update.boavizta_url) {
            settings.boavizta_url = Some(url);
        }
    });
    Ok(Json(overall(probe_all(&state).await)))
}
