//! `/api/v1/metrics/*`, `/api/v1/namespaces` and `/api/v1/nodes`.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, TimeDelta, Utc};
use greenkube_adapters::app::dashboard::{self, Scope, Totals, Window};
use greenkube_adapters::app::nodes;
use greenkube_core::Period;
use greenkube_core::ports::{PodCursor, TimeRange};
use serde::Serialize;
use utoipa::ToSchema;

use super::{Coverage, Interval, Intervals, NamespaceLast};
use crate::serve::error::{ApiError, ApiResult, Detail};
use crate::serve::params::Params;
use crate::serve::state::AppState;

/// Totals of a range (GreenKube's `MetricsSummary`, plus intervals and coverage).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct MetricsSummary {
    /// Operational (Scope 2) CO2e, grams.
    total_co2e_grams: f64,
    /// Embodied (Scope 3) CO2e, grams.
    total_embodied_co2e_grams: f64,
    /// Both, grams.
    total_co2e_all_scopes: f64,
    /// Sum of known costs.
    total_cost: f64,
    /// Energy, joules.
    total_energy_joules: f64,
    /// Distinct pods.
    pod_count: usize,
    /// Distinct namespaces.
    namespace_count: usize,
    /// Intervals of the figures.
    uncertainty: Intervals,
    /// Rows summed.
    coverage: Coverage,
    /// Start of the range.
    start: DateTime<Utc>,
    /// End of the range.
    end: DateTime<Utc>,
}

impl MetricsSummary {
    fn of(summary: &dashboard::Summary) -> Self {
        let totals = &summary.totals;
        Self {
            total_co2e_grams: totals.co2e_grams.point,
            total_embodied_co2e_grams: totals.embodied_co2e_grams.point,
            total_co2e_all_scopes: totals.total_co2e_grams().point,
            total_cost: totals.cost,
            total_energy_joules: totals.energy_joules.point,
            pod_count: summary.pod_count,
            namespace_count: summary.namespace_count,
            uncertainty: Intervals::of(totals),
            coverage: Coverage::of(totals),
            start: summary.range.from(),
            end: summary.range.to(),
        }
    }
}

/// Totals of the pods of a namespace (or all) over `last`.
#[utoipa::path(get, path = "/api/v1/metrics/summary", tag = "metrics", params(NamespaceLast),
    responses((status = 200, body = MetricsSummary), (status = 400, body = Detail)))]
pub(crate) async fn summary(
    State(state): State<AppState>,
    params: Params,
) -> ApiResult<Json<MetricsSummary>> {
    let scope = params.scope()?;
    let range = params.last(state.now())?;
    let summary = dashboard::summary(state.store(), range, &scope).await?;
    Ok(Json(MetricsSummary::of(&summary)))
}

/// One bucket of a time series.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct TimeseriesPoint {
    /// Start of the bucket.
    timestamp: DateTime<Utc>,
    /// Operational CO2e, grams.
    co2e_grams: f64,
    /// Embodied CO2e, grams.
    embodied_co2e_grams: f64,
    /// Both, grams.
    total_co2e_all_scopes: f64,
    /// Known costs.
    total_cost: f64,
    /// Energy, joules.
    joules: f64,
    /// Not computed per bucket: `null` (GreenKube always answers 0 here).
    pod_count: Option<usize>,
    /// Namespaces with rows in the bucket.
    namespace_count: usize,
    /// Intervals of the figures.
    uncertainty: Intervals,
}

fn granularity(params: &Params) -> Result<Period, ApiError> {
    match params.get("granularity").unwrap_or("hour") {
        "hour" => Ok(Period::Hour),
        "day" => Ok(Period::Day),
        "week" => Ok(Period::Week),
        "month" => Ok(Period::Month),
        other => Err(ApiError::bad_request(format!(
            "invalid granularity `{other}`: use hour, day, week or month"
        ))),
    }
}

/// Totals over `last`, bucketed by `granularity` (`hour`, `day`, `week`, `month`).
#[utoipa::path(get, path = "/api/v1/metrics/timeseries", tag = "metrics",
    params(NamespaceLast, ("granularity" = Option<String>, Query, description = "hour (default), day, week or month")),
    responses((status = 200, body = [TimeseriesPoint]), (status = 400, body = Detail)))]
pub(crate) async fn timeseries(
    State(state): State<AppState>,
    params: Params,
) -> ApiResult<Json<Vec<TimeseriesPoint>>> {
    let scope = params.scope()?;
    let range = params.last(state.now())?;
    let period = granularity(&params)?;
    let points = dashboard::timeseries(state.store(), range, period, &scope).await?;
    Ok(Json(
        points
            .iter()
            .map(|p| TimeseriesPoint {
                timestamp: p.bucket,
                co2e_grams: p.totals.co2e_grams.point,
                embodied_co2e_grams: p.totals.embodied_co2e_grams.point,
                total_co2e_all_scopes: p.totals.total_co2e_grams().point,
                total_cost: p.totals.cost,
                joules: p.totals.energy_joules.point,
                pod_count: None,
                namespace_count: p.namespace_count,
                uncertainty: Intervals::of(&p.totals),
            })
            .collect(),
    ))
}

/// Totals of one namespace.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct NamespaceMetric {
    /// Namespace.
    namespace: String,
    /// Operational CO2e, grams.
    co2e_grams: f64,
    /// Embodied CO2e, grams.
    embodied_co2e_grams: f64,
    /// Known costs.
    total_cost: f64,
    /// Energy, joules.
    energy_joules: f64,
    /// Intervals of the figures.
    uncertainty: Intervals,
    /// Rows summed.
    coverage: Coverage,
}

/// Totals per namespace over `last`, most CO2e first.
#[utoipa::path(get, path = "/api/v1/metrics/by-namespace", tag = "metrics", params(NamespaceLast),
    responses((status = 200, body = [NamespaceMetric]), (status = 400, body = Detail)))]
pub(crate) async fn by_namespace(
    State(state): State<AppState>,
    params: Params,
) -> ApiResult<Json<Vec<NamespaceMetric>>> {
    let scope = params.scope()?;
    let range = params.last(state.now())?;
    let groups = dashboard::by_namespace(state.store(), range, &scope).await?;
    Ok(Json(
        groups
            .iter()
            .map(|g| NamespaceMetric {
                namespace: g.namespace.clone().unwrap_or_default(),
                co2e_grams: g.totals.co2e_grams.point,
                embodied_co2e_grams: g.totals.embodied_co2e_grams.point,
                total_cost: g.totals.cost,
                energy_joules: g.totals.energy_joules.point,
                uncertainty: Intervals::of(&g.totals),
                coverage: Coverage::of(&g.totals),
            })
            .collect(),
    ))
}

/// Totals of one pod.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct PodMetric {
    /// Namespace.
    namespace: String,
    /// Pod.
    pod_name: String,
    /// Operational CO2e, grams.
    co2e_grams: f64,
    /// Embodied CO2e, grams.
    embodied_co2e_grams: f64,
    /// Known costs.
    total_cost: f64,
    /// Energy, joules.
    energy_joules: f64,
    /// Intervals of the figures.
    uncertainty: Intervals,
    /// Rows summed.
    coverage: Coverage,
}

/// The pods with the most CO2e over `last`.
#[utoipa::path(get, path = "/api/v1/metrics/top-pods", tag = "metrics",
    params(NamespaceLast, ("limit" = Option<usize>, Query, description = "1 to 50, default 10")),
    responses((status = 200, body = [PodMetric]), (status = 400, body = Detail), (status = 422, body = Detail)))]
pub(crate) async fn top_pods(
    State(state): State<AppState>,
    params: Params,
) -> ApiResult<Json<Vec<PodMetric>>> {
    let scope = params.scope()?;
    let range = params.last(state.now())?;
    let limit = params.bounded("limit", 10, 1, 50)?;
    let groups = dashboard::top_pods(state.store(), range, &scope, limit).await?;
    Ok(Json(
        groups
            .iter()
            .map(|g| PodMetric {
                namespace: g.namespace.clone().unwrap_or_default(),
                pod_name: g.pod.clone().unwrap_or_default(),
                co2e_grams: g.totals.co2e_grams.point,
                embodied_co2e_grams: g.totals.embodied_co2e_grams.point,
                total_cost: g.totals.cost,
                energy_joules: g.totals.energy_joules.point,
                uncertainty: Intervals::of(&g.totals),
                coverage: Coverage::of(&g.totals),
            })
            .collect(),
    ))
}

/// One window of the dashboard summary.
#[derive(Debug, Clone, Serialize, serde::Deserialize, ToSchema)]
pub(crate) struct MetricsSummaryRow {
    /// `1h`, `6h`, `24h`, `7d`, `30d`, `1y` or `ytd`.
    window_slug: String,
    /// The namespace, or `null` for the whole cluster.
    namespace: Option<String>,
    /// Operational CO2e, grams.
    total_co2e_grams: f64,
    /// Embodied CO2e, grams.
    total_embodied_co2e_grams: f64,
    /// Both, grams.
    total_co2e_all_scopes: f64,
    /// Known costs.
    total_cost: f64,
    /// Energy, joules.
    total_energy_joules: f64,
    /// Distinct pods.
    pod_count: usize,
    /// Distinct namespaces.
    namespace_count: usize,
    /// When it was computed.
    updated_at: DateTime<Utc>,
    /// Operational CO2e interval, grams.
    #[schema(value_type = Vec<f64>)]
    total_co2e_grams_interval: Interval,
    /// Embodied CO2e interval, grams.
    #[schema(value_type = Vec<f64>)]
    total_embodied_co2e_grams_interval: Interval,
    /// Energy interval, joules.
    #[schema(value_type = Vec<f64>)]
    total_energy_joules_interval: Interval,
}

/// The dashboard summary: one row per window.
#[derive(Debug, Clone, Serialize, serde::Deserialize, ToSchema)]
pub(crate) struct DashboardSummary {
    /// Rows by window slug.
    windows: BTreeMap<String, MetricsSummaryRow>,
    /// The namespace, or `null` for the whole cluster.
    namespace: Option<String>,
}

/// The summary of every dashboard window, computed at `now`.
pub(crate) async fn window_summaries(
    state: &AppState,
    scope: &Scope,
    now: DateTime<Utc>,
) -> ApiResult<DashboardSummary> {
    let key = format!("summary:{:?}:{:?}", scope.cluster, scope.namespace);
    if let Some(cached) = state.cached(&key)
        && let Ok(summary) = serde_json::from_value(cached)
    {
        return Ok(summary);
    }
    let mut windows = BTreeMap::new();
    for window in Window::ALL {
        let summary = dashboard::summary(state.store(), window.range(now), scope).await?;
        let totals: &Totals = &summary.totals;
        windows.insert(
            window.slug().to_string(),
            MetricsSummaryRow {
                window_slug: window.slug().to_string(),
                namespace: scope.namespace.clone(),
                total_co2e_grams: totals.co2e_grams.point,
                total_embodied_co2e_grams: totals.embodied_co2e_grams.point,
                total_co2e_all_scopes: totals.total_co2e_grams().point,
                total_cost: totals.cost,
                total_energy_joules: totals.energy_joules.point,
                pod_count: summary.pod_count,
                namespace_count: summary.namespace_count,
                updated_at: now,
                total_co2e_grams_interval: [totals.co2e_grams.low, totals.co2e_grams.high],
                total_embodied_co2e_grams_interval: [
                    totals.embodied_co2e_grams.low,
                    totals.embodied_co2e_grams.high,
                ],
                total_energy_joules_interval: [totals.energy_joules.low, totals.energy_joules.high],
            },
        );
    }
    let summary = DashboardSummary {
        windows,
        namespace: scope.namespace.clone(),
    };
    if let Ok(value) = serde_json::to_value(&summary) {
        state.keep(key, value);
    }
    Ok(summary)
}

/// The summary of every dashboard window (reused for a minute; `POST .../refresh` recomputes).
#[utoipa::path(get, path = "/api/v1/metrics/dashboard-summary", tag = "metrics",
    params(("namespace" = Option<String>, Query, description = "One namespace, or the whole cluster"),
           ("cluster" = Option<String>, Query, description = "One cluster of the store, or all of them")),
    responses((status = 200, body = DashboardSummary), (status = 400, body = Detail)))]
pub(crate) async fn dashboard_summary(
    State(state): State<AppState>,
    params: Params,
) -> ApiResult<Json<DashboardSummary>> {
    let scope = params.scope()?;
    Ok(Json(window_summaries(&state, &scope, state.now()).await?))
}

/// Forgets the cached dashboard summaries: the next read recomputes them.
#[utoipa::path(post, path = "/api/v1/metrics/dashboard-summary/refresh", tag = "metrics",
    params(("namespace" = Option<String>, Query, description = "One namespace, or all"),
           ("cluster" = Option<String>, Query, description = "One cluster of the store, or all of them")),
    responses((status = 202, body = Detail), (status = 400, body = Detail), (status = 403, body = Detail)))]
pub(crate) async fn refresh_dashboard_summary(
    State(state): State<AppState>,
    params: Params,
) -> ApiResult<(StatusCode, Json<Detail>)> {
    params.scope()?;
    state.forget();
    Ok((
        StatusCode::ACCEPTED,
        Json(Detail {
            detail: "Dashboard summary refresh started.".to_string(),
        }),
    ))
}

/// One bucket of a dashboard window's series.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct DashboardPoint {
    /// The window.
    window_slug: String,
    /// The namespace, or `null`.
    namespace: Option<String>,
    /// Start of the bucket.
    bucket_ts: DateTime<Utc>,
    /// Operational CO2e, grams.
    co2e_grams: f64,
    /// Embodied CO2e, grams.
    embodied_co2e_grams: f64,
    /// Both, grams.
    total_co2e_all_scopes: f64,
    /// Known costs.
    total_cost: f64,
    /// Energy, joules.
    joules: f64,
    /// Intervals of the figures.
    uncertainty: Intervals,
}

/// A dashboard window's series.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct DashboardTimeseries {
    /// The window.
    window_slug: String,
    /// The namespace, or `null`.
    namespace: Option<String>,
    /// Buckets, oldest first.
    points: Vec<DashboardPoint>,
}

/// The series of one dashboard window (`1h`, `6h`, `24h`, `7d`, `30d`, `1y`, `ytd`).
#[utoipa::path(get, path = "/api/v1/metrics/dashboard-timeseries/{window_slug}", tag = "metrics",
    params(("window_slug" = String, Path, description = "1h, 6h, 24h, 7d, 30d, 1y or ytd"),
           ("namespace" = Option<String>, Query, description = "One namespace, or the whole cluster"),
           ("cluster" = Option<String>, Query, description = "One cluster of the store, or all of them")),
    responses((status = 200, body = DashboardTimeseries), (status = 400, body = Detail)))]
pub(crate) async fn dashboard_timeseries(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    params: Params,
) -> ApiResult<Json<DashboardTimeseries>> {
    let window = Window::from_slug(&slug).ok_or_else(|| {
        ApiError::bad_request(format!(
            "invalid window `{slug}`: use 1h, 6h, 24h, 7d, 30d, 1y or ytd"
        ))
    })?;
    let scope = params.scope()?;
    let points = dashboard::timeseries(
        state.store(),
        window.range(state.now()),
        window.granularity(),
        &scope,
    )
    .await?;
    Ok(Json(DashboardTimeseries {
        window_slug: slug.clone(),
        namespace: scope.namespace.clone(),
        points: points
            .iter()
            .map(|p| DashboardPoint {
                window_slug: slug.clone(),
                namespace: scope.namespace.clone(),
                bucket_ts: p.bucket,
                co2e_grams: p.totals.co2e_grams.point,
                embodied_co2e_grams: p.totals.embodied_co2e_grams.point,
                total_co2e_all_scopes: p.totals.total_co2e_grams().point,
                total_cost: p.totals.cost,
                joules: p.totals.energy_joules.point,
                uncertainty: Intervals::of(&p.totals),
            })
            .collect(),
    }))
}

/// How far back the namespace and cluster lists look.
const KNOWN_SPAN: TimeDelta = TimeDelta::days(366);

pub(crate) fn known_range(now: DateTime<Utc>) -> TimeRange {
    TimeRange::new(now - KNOWN_SPAN, now).unwrap_or_else(|_| {
        TimeRange::new(now - TimeDelta::days(1), now).expect("a day before now")
    })
}

/// Namespaces with rows in the last year, sorted.
#[utoipa::path(get, path = "/api/v1/namespaces", tag = "metrics",
    params(("cluster" = Option<String>, Query, description = "One cluster of the store, or all of them")),
    responses((status = 200, body = [String])))]
pub(crate) async fn namespaces(
    State(state): State<AppState>,
    params: Params,
) -> ApiResult<Json<Vec<String>>> {
    let scope = Scope::default().in_cluster(params.cluster()?);
    Ok(Json(
        dashboard::namespaces(state.store(), known_range(state.now()), &scope).await?,
    ))
}

/// A node as GreenKube describes it.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct NodeInfo {
    /// Name.
    name: String,
    /// Instance type.
    instance_type: Option<String>,
    /// Cloud zone (the topology label) or electricity zone.
    zone: Option<String>,
    /// Cloud region.
    region: Option<String>,
    /// Cloud provider.
    cloud_provider: Option<String>,
    /// CPU architecture (`kubernetes.io/arch`).
    architecture: Option<String>,
    /// Node pool (EKS node group, GKE node pool, AKS agent pool).
    node_pool: Option<String>,
    /// CPU capacity, cores.
    cpu_capacity_cores: Option<f64>,
    /// Memory capacity, bytes.
    memory_capacity_bytes: Option<f64>,
    /// Recorded as present now.
    is_active: bool,
    /// When the listing was made.
    timestamp: DateTime<Utc>,
    /// Not kept per node: `null`.
    embodied_emissions_kg: Option<f64>,
    /// CPU capacity, millicores.
    cpu_capacity_millicores: Option<f64>,
    /// Allocatable CPU is not recorded: `null`.
    cpu_allocatable_millicores: Option<f64>,
    /// Allocatable memory is not recorded: `null`.
    memory_allocatable_bytes: Option<f64>,
    /// The cluster the node belongs to (greenkube's addition).
    cluster: Option<String>,
}

fn label(node: &greenkube_core::Node, keys: &[&str]) -> Option<String> {
    let labels = node.labels.as_ref()?;
    keys.iter()
        .find_map(|key| labels.get(*key))
        .map(ToString::to_string)
}

/// The nodes recorded as present now, in every cluster of the store.
#[utoipa::path(get, path = "/api/v1/nodes", tag = "metrics",
    params(("include_inactive" = Option<bool>, Query, description = "Accepted for compatibility; only nodes present now are listed"),
           ("cluster" = Option<String>, Query, description = "One cluster of the store, or all of them")),
    responses((status = 200, body = [NodeInfo])))]
pub(crate) async fn nodes(
    State(state): State<AppState>,
    params: Params,
) -> ApiResult<Json<Vec<NodeInfo>>> {
    params.flag("include_inactive")?;
    let wanted = params.cluster()?;
    let now = state.now();
    let clusters = dashboard::clusters(state.store(), known_range(now)).await?;
    let mut out = Vec::new();
    for cluster in clusters
        .into_iter()
        .filter(|c| wanted.is_none() || *c == wanted)
    {
        for node in nodes::nodes_at(state.store(), cluster.as_deref(), now).await? {
            let cores = node.cpu_capacity_cores.map(|c| c.0);
            out.push(NodeInfo {
                name: node.name.to_string(),
                instance_type: node.instance_type.as_deref().map(str::to_string),
                zone: node.zone.as_deref().map(str::to_string),
                region: node.region.as_deref().map(str::to_string),
                cloud_provider: node.provider.as_deref().map(str::to_string),
                architecture: label(&node, &["kubernetes.io/arch", "beta.kubernetes.io/arch"]),
                node_pool: label(
                    &node,
                    &[
                        "eks.amazonaws.com/nodegroup",
                        "cloud.google.com/gke-nodepool",
                        "kubernetes.azure.com/agentpool",
                        "agentpool",
                    ],
                ),
                cpu_capacity_cores: cores,
                memory_capacity_bytes: node.memory_capacity_bytes.map(|b| b.0),
                is_active: true,
                timestamp: now,
                embodied_emissions_kg: None,
                cpu_capacity_millicores: cores.map(|c| c * 1000.0),
                cpu_allocatable_millicores: None,
                memory_allocatable_bytes: None,
                cluster: cluster.clone(),
            });
        }
    }
    Ok(Json(out))
}

/// One stored pod row (GreenKube's `CombinedMetric`, plus greenkube's fields).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CombinedMetric {
    /// Pod.
    pod_name: String,
    /// Namespace.
    namespace: String,
    /// Cost of the window; `null` when unknown.
    total_cost: Option<f64>,
    /// Operational CO2e, grams.
    co2e_grams: f64,
    /// Embodied CO2e, grams.
    embodied_co2e_grams: f64,
    /// Both, grams.
    total_co2e_grams: f64,
    /// PUE applied.
    pue: f64,
    /// Grid intensity, gCO2e/kWh.
    grid_intensity: f64,
    /// Energy, joules.
    joules: f64,
    /// CPU request, millicores.
    cpu_request: Option<f64>,
    /// Memory request, bytes.
    memory_request: Option<f64>,
    /// CPU usage, millicores (average over the window).
    cpu_usage_millicores: Option<f64>,
    /// Memory usage, bytes (average over the window).
    memory_usage_bytes: Option<f64>,
    /// Restarts in the window.
    restart_count: Option<u64>,
    /// Owner kind.
    owner_kind: Option<String>,
    /// Owner name.
    owner_name: Option<String>,
    /// Start of the window.
    timestamp: DateTime<Utc>,
    /// Length of the window, seconds.
    duration_seconds: i64,
    /// Node.
    node: Option<String>,
    /// Instance type of the node.
    node_instance_type: Option<String>,
    /// Electricity zone.
    emaps_zone: Option<String>,
    /// Cloud region.
    region: Option<String>,
    /// Cloud provider.
    provider: Option<String>,
    /// Cluster.
    cluster: Option<String>,
    /// A fallback was used.
    is_estimated: bool,
    /// Why.
    estimation_reasons: Vec<String>,
    /// Methodology and version (`full 1`).
    calculation_version: String,
    /// Reference-data version.
    data_version: String,
    /// Intervals of the figures.
    uncertainty: RowIntervals,
}

/// Intervals of one row.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RowIntervals {
    /// Operational CO2e, grams.
    #[schema(value_type = Vec<f64>)]
    co2e_grams: Interval,
    /// Embodied CO2e, grams.
    #[schema(value_type = Vec<f64>)]
    embodied_co2e_grams: Interval,
    /// Energy, joules.
    #[schema(value_type = Vec<f64>)]
    joules: Interval,
}

impl CombinedMetric {
    pub(crate) fn of(row: &greenkube_core::ports::PodRecord) -> Self {
        let text = |v: &Option<std::sync::Arc<str>>| v.as_deref().map(str::to_string);
        Self {
            pod_name: row.pod.to_string(),
            namespace: row.namespace.to_string(),
            total_cost: row.cost.map(|c| c.0),
            co2e_grams: row.co2e_grams.point,
            embodied_co2e_grams: row.embodied_co2e_grams.point,
            total_co2e_grams: row.co2e_grams.point + row.embodied_co2e_grams.point,
            pue: row.pue.point,
            grid_intensity: row.grid_intensity.point,
            joules: row.energy_joules.point,
            cpu_request: row.cpu_request_cores.map(|c| c.0 * 1000.0),
            memory_request: row.memory_request_bytes.map(|b| b.0),
            cpu_usage_millicores: row.cpu_usage_cores.map(|c| c.0 * 1000.0),
            memory_usage_bytes: row.memory_usage_bytes.map(|b| b.0),
            restart_count: row.restarts,
            owner_kind: text(&row.owner_kind),
            owner_name: text(&row.owner_name),
            timestamp: row.window_start,
            duration_seconds: (row.window_end - row.window_start).num_seconds(),
            node: text(&row.node),
            node_instance_type: text(&row.instance_type),
            emaps_zone: text(&row.zone),
            region: text(&row.region),
            provider: text(&row.provider),
            cluster: text(&row.cluster),
            is_estimated: row.estimated,
            estimation_reasons: row.estimation_reasons.clone(),
            calculation_version: format!("{} {}", row.methodology.name, row.methodology.version),
            data_version: row.methodology.data_version.clone(),
            uncertainty: RowIntervals {
                co2e_grams: [row.co2e_grams.low, row.co2e_grams.high],
                embodied_co2e_grams: [row.embodied_co2e_grams.low, row.embodied_co2e_grams.high],
                joules: [row.energy_joules.low, row.energy_joules.high],
            },
        }
    }
}

/// A page of stored rows.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct MetricsPage {
    /// Rows of the range and namespace.
    total: usize,
    /// Rows skipped.
    offset: usize,
    /// Page size.
    limit: usize,
    /// The rows, by window, then cluster, namespace and pod.
    items: Vec<CombinedMetric>,
}

/// Longest range `/metrics` lists.
const LIST_MAX_DAYS: i64 = 30;

/// Stored pod rows of `last` (at most 30 days), a page at a time.
#[utoipa::path(get, path = "/api/v1/metrics", tag = "metrics",
    params(NamespaceLast,
        ("offset" = Option<usize>, Query, description = "Rows to skip, default 0"),
        ("limit" = Option<usize>, Query, description = "1 to 10000, default 1000")),
    responses((status = 200, body = MetricsPage), (status = 400, body = Detail), (status = 422, body = Detail)))]
pub(crate) async fn list(
    State(state): State<AppState>,
    params: Params,
) -> ApiResult<Json<MetricsPage>> {
    let scope = params.scope()?;
    let range = params.last(state.now())?;
    if range.to() - range.from() > TimeDelta::days(LIST_MAX_DAYS) {
        return Err(ApiError::bad_request(format!(
            "the range is longer than {LIST_MAX_DAYS} days: use /api/v1/report/export for \
             longer ranges"
        )));
    }
    let offset = params.bounded("offset", 0, 0, usize::MAX)?;
    let limit = params.bounded("limit", 1000, 1, 10_000)?;
    let mut total = 0;
    let mut items = Vec::new();
    let mut cursor: Option<PodCursor> = None;
    loop {
        let page = state
            .store()
            .footprints
            .read_pod_rows(range, cursor.as_ref(), greenkube_core::ports::MAX_PAGE_SIZE)
            .await
            .map_err(greenkube_adapters::app::AppError::from)?;
        for row in page.rows.iter().filter(|r| scope.keeps_pod_row(r)) {
            if total >= offset && items.len() < limit {
                items.push(CombinedMetric::of(row));
            }
            total += 1;
        }
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    Ok(Json(MetricsPage {
        total,
        offset,
        limit,
        items,
    }))
}
