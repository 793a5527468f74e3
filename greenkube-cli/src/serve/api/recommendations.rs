//! `/api/v1/recommendations/*`: scans, the saved recommendations with their lifecycle, the
//! ranking, and the savings of applied ones.

use std::collections::BTreeMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use chrono::{DateTime, TimeDelta, Utc};
use greenkube_adapters::app::dashboard::Scope as ReadScope;
use greenkube_adapters::app::nodes;
use greenkube_adapters::app::recommend::{self, Change};
use greenkube_core::ReferenceData;
use greenkube_core::recommend::{
    AppliedValues, Priority, RankBy, Recommendation, RecommendationRecord, RecommendationStatus,
    RecommendationType, RecommenderConfig, Scope, rank,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::Interval;
use crate::serve::error::{ApiError, ApiResult, Detail};
use crate::serve::params::Params;
use crate::serve::state::AppState;

/// How far back a scan looks (GreenKube's `RECOMMENDATION_LOOKBACK_DAYS`).
const LOOKBACK: TimeDelta = TimeDelta::days(7);

/// A recommendation with GreenKube's field names, and greenkube's beside them.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RecommendationView {
    /// The workload or pod name (`null` for namespace and node scopes).
    pod_name: Option<String>,
    /// Namespace (`null` for node scope).
    namespace: Option<String>,
    /// `ZOMBIE_POD`, `RIGHTSIZING_CPU`, ... (GreenKube's names; greenkube adds `REGION_SHIFT`,
    /// `INSTANCE_FAMILY` and `NODE_CONSOLIDATION`).
    #[serde(rename = "type")]
    kind: String,
    /// One line.
    description: String,
    /// Why, with the numbers.
    reason: String,
    /// `high`, `medium` or `low`.
    #[schema(value_type = String)]
    priority: Priority,
    /// `pod`, `workload`, `namespace` or `node`.
    scope: String,
    /// CO2e saved per year, grams.
    potential_savings_co2e_grams: f64,
    /// Money saved per year; `null` when the cost effect is not known.
    potential_savings_cost: Option<f64>,
    /// Current CPU request per pod, millicores.
    current_cpu_request_millicores: Option<f64>,
    /// Recommended CPU request per pod, millicores.
    recommended_cpu_request_millicores: Option<f64>,
    /// Current memory request per pod, bytes.
    current_memory_request_bytes: Option<f64>,
    /// Recommended memory request per pod, bytes.
    recommended_memory_request_bytes: Option<f64>,
    /// Off-peak schedule.
    cron_schedule: Option<String>,
    /// Node (node scope).
    target_node: Option<String>,
    /// Stable identity: the same finding in a later scan has the same id.
    id: String,
    /// What it is about: a workload, pod, namespace, node or region name.
    target: String,
    /// Workload kind.
    target_kind: Option<String>,
    /// Interval of the CO2e savings per year, grams.
    #[schema(value_type = Vec<f64>)]
    potential_savings_co2e_grams_interval: Interval,
    /// `attributed` or `cluster`: how the savings were measured.
    savings_basis: String,
    /// The changes that realise it (what-if changes).
    #[schema(value_type = Vec<Object>)]
    changes: serde_json::Value,
    /// Methodology of the savings.
    methodology: String,
    /// Reference-data version.
    data_version: String,
}

fn scope_name(scope: Scope) -> &'static str {
    match scope {
        Scope::Pod => "pod",
        Scope::Workload => "workload",
        Scope::Namespace => "namespace",
        Scope::Node => "node",
    }
}

fn describe(rec: &Recommendation) -> String {
    let what = match rec.kind {
        RecommendationType::ZombiePod => "Idle but paid for: remove or scale to zero",
        RecommendationType::RightsizingCpu => "Lower the CPU request",
        RecommendationType::RightsizingMemory => "Lower the memory request",
        RecommendationType::AutoscalingCandidate => "Add a horizontal autoscaler",
        RecommendationType::OffPeakScaling => "Scale down off-peak",
        RecommendationType::IdleNamespace => "Idle namespace: clean up",
        RecommendationType::CarbonAwareScheduling => "Run where the grid is cleaner",
        RecommendationType::OverprovisionedNode => "Overprovisioned node",
        RecommendationType::UnderutilizedNode => "Underutilized node",
        RecommendationType::RegionShift => "Move to a cleaner region",
        RecommendationType::InstanceFamily => "Change instance family",
        RecommendationType::NodeConsolidation => "Consolidate nodes",
    };
    match (&rec.target_kind, &rec.namespace) {
        (Some(kind), Some(namespace)) => format!("{what}: {kind} {namespace}/{}", rec.target),
        (None, Some(namespace)) if rec.scope != Scope::Namespace => {
            format!("{what}: {namespace}/{}", rec.target)
        }
        _ => format!("{what}: {}", rec.target),
    }
}

impl RecommendationView {
    pub(crate) fn of(rec: &Recommendation) -> Self {
        let pod_scoped = matches!(rec.scope, Scope::Pod | Scope::Workload);
        Self {
            pod_name: pod_scoped.then(|| rec.target.clone()),
            namespace: rec.namespace.clone(),
            kind: rec.kind.name().to_string(),
            description: describe(rec),
            reason: rec.reason.clone(),
            priority: rec.priority,
            scope: scope_name(rec.scope).to_string(),
            potential_savings_co2e_grams: rec.savings_co2e_grams_per_year,
            potential_savings_cost: rec.savings_cost_per_year,
            current_cpu_request_millicores: rec.current_cpu_request_cores.map(|c| c * 1000.0),
            recommended_cpu_request_millicores: rec
                .recommended_cpu_request_cores
                .map(|c| c * 1000.0),
            current_memory_request_bytes: rec.current_memory_request_bytes,
            recommended_memory_request_bytes: rec.recommended_memory_request_bytes,
            cron_schedule: rec.schedule.clone(),
            target_node: rec
                .node
                .clone()
                .or_else(|| (rec.scope == Scope::Node).then(|| rec.target.clone())),
            id: rec.id.clone(),
            target: rec.target.clone(),
            target_kind: rec.target_kind.clone(),
            potential_savings_co2e_grams_interval: rec.savings_co2e_grams_per_year_interval,
            savings_basis: rec.savings_basis.clone(),
            changes: serde_json::to_value(&rec.changes).unwrap_or(serde_json::Value::Null),
            methodology: rec.methodology.clone(),
            data_version: rec.data_version.clone(),
        }
    }
}

/// A saved recommendation: the recommendation, its state and dates.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RecordView {
    /// The recommendation.
    #[serde(flatten)]
    recommendation: RecommendationView,
    /// `active`, `applied`, `ignored` or `stale`.
    #[schema(value_type = String)]
    status: RecommendationStatus,
    /// First found.
    created_at: DateTime<Utc>,
    /// Last changed.
    updated_at: DateTime<Utc>,
    /// When applied.
    applied_at: Option<DateTime<Utc>>,
    /// When ignored.
    ignored_at: Option<DateTime<Utc>>,
    /// Why ignored.
    ignored_reason: Option<String>,
    /// The CPU request set when applied, millicores (as reported).
    actual_cpu_request_millicores: Option<f64>,
    /// The memory request set when applied, bytes (as reported).
    actual_memory_request_bytes: Option<f64>,
    /// CO2e savings per year of an applied recommendation, grams: measured if reported, else
    /// the projection (for a rightsizing applied part-way, its share).
    carbon_saved_co2e_grams: Option<f64>,
    /// Money savings per year of an applied recommendation, likewise.
    cost_saved: Option<f64>,
}

impl RecordView {
    pub(crate) fn of(record: &RecommendationRecord) -> Self {
        let rec = &record.recommendation;
        let savings = record.applied_savings();
        let values = record.applied_values.clone().unwrap_or_default();
        Self {
            recommendation: RecommendationView::of(rec),
            status: record.status,
            created_at: record.created_at,
            updated_at: record.updated_at,
            applied_at: record.applied_at,
            ignored_at: record.ignored_at,
            ignored_reason: record.ignored_reason.clone(),
            actual_cpu_request_millicores: values.actual_cpu_request_cores.map(|c| c * 1000.0),
            actual_memory_request_bytes: values.actual_memory_request_bytes,
            carbon_saved_co2e_grams: savings.map(|s| s.co2e_grams_per_year),
            cost_saved: savings.and_then(|s| s.cost_per_year),
        }
    }
}

/// Whether a recommendation is of the cluster and namespace a read asks for.
fn in_scope(rec: &Recommendation, scope: &ReadScope) -> bool {
    scope.keeps_names(rec.cluster.as_deref(), rec.namespace.as_deref())
}

/// Scans the last 7 days, saves the scan (new ones active, ones no longer found stale, applied
/// and ignored ones kept) and returns what it found, ignored ones left out.
async fn run_scan(state: &AppState, scope: &ReadScope) -> ApiResult<Vec<Recommendation>> {
    let now = state.now();
    let store = state.store();
    let range = greenkube_core::ports::TimeRange::new(now - LOOKBACK, now)
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let inventory = nodes::inventory(store, now).await?;
    // Every cluster: the scan replaces the saved recommendations of all of them.
    let scan = recommend::scan(
        store,
        range,
        RecommenderConfig::default(),
        Some(&inventory),
        ReferenceData::embedded(),
    )
    .await?;
    let saved = recommend::save_scan(store, &scan.recommendations, now).await?;
    state.forget();
    Ok(scan
        .recommendations
        .into_iter()
        .filter(|r| !saved.ignored.contains(&r.id) && in_scope(r, scope))
        .collect())
}

/// Runs a scan over the last 7 days, saves it, and returns the recommendations found.
#[utoipa::path(get, path = "/api/v1/recommendations", tag = "recommendations",
    params(("namespace" = Option<String>, Query, description = "Only this namespace's"),
           ("cluster" = Option<String>, Query, description = "One cluster of the store, or all of them")),
    responses((status = 200, body = [RecommendationView]), (status = 400, body = Detail), (status = 403, body = Detail)))]
pub(crate) async fn scan(
    State(state): State<AppState>,
    params: Params,
) -> ApiResult<Json<Vec<RecommendationView>>> {
    let scope = params.scope()?;
    if state.config().read_only {
        return Err(read_only());
    }
    let found = run_scan(&state, &scope).await?;
    Ok(Json(found.iter().map(RecommendationView::of).collect()))
}

fn read_only() -> ApiError {
    ApiError::new(
        axum::http::StatusCode::FORBIDDEN,
        "the server is read-only: scans that save and state changes are refused",
    )
}

async fn with_status(
    state: &AppState,
    params: &Params,
    status: RecommendationStatus,
) -> ApiResult<Json<Vec<RecordView>>> {
    let scope = params.scope()?;
    if params.flag("refresh")? && !state.config().read_only {
        run_scan(state, &ReadScope::default()).await?;
    }
    let records = recommend::records(state.store(), Some(status)).await?;
    Ok(Json(
        records
            .iter()
            .filter(|r| in_scope(&r.recommendation, &scope))
            .map(RecordView::of)
            .collect(),
    ))
}

/// The saved recommendations nobody acted on yet (`refresh=true` scans first).
#[utoipa::path(get, path = "/api/v1/recommendations/active", tag = "recommendations",
    params(("namespace" = Option<String>, Query, description = "Only this namespace's"),
           ("cluster" = Option<String>, Query, description = "One cluster of the store, or all of them"),
           ("refresh" = Option<bool>, Query, description = "Scan and save first")),
    responses((status = 200, body = [RecordView]), (status = 400, body = Detail)))]
pub(crate) async fn active(
    State(state): State<AppState>,
    params: Params,
) -> ApiResult<Json<Vec<RecordView>>> {
    with_status(&state, &params, RecommendationStatus::Active).await
}

/// The recommendations the team ignored.
#[utoipa::path(get, path = "/api/v1/recommendations/ignored", tag = "recommendations",
    params(("namespace" = Option<String>, Query, description = "Only this namespace's"),
           ("cluster" = Option<String>, Query, description = "One cluster of the store, or all of them")),
    responses((status = 200, body = [RecordView]), (status = 400, body = Detail)))]
pub(crate) async fn ignored(
    State(state): State<AppState>,
    params: Params,
) -> ApiResult<Json<Vec<RecordView>>> {
    with_status(&state, &params, RecommendationStatus::Ignored).await
}

/// The recommendations the team applied.
#[utoipa::path(get, path = "/api/v1/recommendations/applied", tag = "recommendations",
    params(("namespace" = Option<String>, Query, description = "Only this namespace's"),
           ("cluster" = Option<String>, Query, description = "One cluster of the store, or all of them")),
    responses((status = 200, body = [RecordView]), (status = 400, body = Detail)))]
pub(crate) async fn applied(
    State(state): State<AppState>,
    params: Params,
) -> ApiResult<Json<Vec<RecordView>>> {
    with_status(&state, &params, RecommendationStatus::Applied).await
}

/// A ranked recommendation (GreenKube's `TopRecommendation`).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct TopRecommendation {
    /// 1 for the best.
    rank: usize,
    /// Id.
    id: String,
    /// Type.
    #[serde(rename = "type")]
    kind: String,
    /// Namespace.
    namespace: Option<String>,
    /// Node, else pod or workload, else namespace, else `_cluster`.
    resource: String,
    /// Scope.
    scope: String,
    /// Priority.
    #[schema(value_type = String)]
    priority: Priority,
    /// One line.
    description: String,
    /// Why.
    reason: String,
    /// `co2` or `cost`.
    sort_metric: String,
    /// The savings ranked by.
    sort_value: f64,
    /// CO2e saved per year, grams.
    projected_savings_co2e_grams: f64,
    /// Money saved per year.
    projected_savings_cost: Option<f64>,
}

/// The active recommendations that save the most, by `co2` (default) or `cost`.
#[utoipa::path(get, path = "/api/v1/recommendations/top", tag = "recommendations",
    params(("namespace" = Option<String>, Query, description = "Only this namespace's"),
           ("cluster" = Option<String>, Query, description = "One cluster of the store, or all of them"),
           ("limit" = Option<usize>, Query, description = "1 to 50, default 5"),
           ("metric" = Option<String>, Query, description = "co2 (default) or cost"),
           ("refresh" = Option<bool>, Query, description = "Scan and save first")),
    responses((status = 200, body = [TopRecommendation]), (status = 400, body = Detail), (status = 422, body = Detail)))]
pub(crate) async fn top(
    State(state): State<AppState>,
    params: Params,
) -> ApiResult<Json<Vec<TopRecommendation>>> {
    let scope = params.scope()?;
    let limit = params.bounded("limit", 5, 1, 50)?;
    let by_cost = match params.get("metric").unwrap_or("co2") {
        "co2" => false,
        "cost" => true,
        other => {
            return Err(ApiError::unprocessable(format!(
                "invalid metric `{other}`: use co2 or cost"
            )));
        }
    };
    if params.flag("refresh")? && !state.config().read_only {
        run_scan(&state, &ReadScope::default()).await?;
    }
    let records = recommend::records(state.store(), Some(RecommendationStatus::Active)).await?;
    let active: Vec<Recommendation> = records
        .into_iter()
        .map(|r| r.recommendation)
        .filter(|r| in_scope(r, &scope))
        .collect();
    let by = if by_cost { RankBy::Cost } else { RankBy::Co2e };
    let kept = rank(&active, by, limit);
    Ok(Json(
        kept.iter()
            .enumerate()
            .map(|(index, rec)| {
                let view = RecommendationView::of(rec);
                TopRecommendation {
                    rank: index + 1,
                    id: rec.id.clone(),
                    kind: view.kind,
                    namespace: rec.namespace.clone(),
                    resource: view
                        .target_node
                        .or(view.pod_name)
                        .or_else(|| rec.namespace.clone())
                        .unwrap_or_else(|| "_cluster".to_string()),
                    scope: view.scope,
                    priority: rec.priority,
                    description: view.description,
                    reason: rec.reason.clone(),
                    sort_metric: if by_cost { "cost" } else { "co2" }.to_string(),
                    sort_value: if by_cost {
                        rec.savings_cost_per_year.unwrap_or(0.0)
                    } else {
                        rec.savings_co2e_grams_per_year
                    },
                    projected_savings_co2e_grams: rec.savings_co2e_grams_per_year,
                    projected_savings_cost: rec.savings_cost_per_year,
                }
            })
            .collect(),
    ))
}

fn instant(name: &str, text: Option<&str>) -> ApiResult<DateTime<Utc>> {
    let text = text.ok_or_else(|| ApiError::unprocessable(format!("`{name}` is required")))?;
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .or_else(|_| {
            chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f").map(|t| t.and_utc())
        })
        .map_err(|_| {
            ApiError::bad_request(format!(
                "invalid `{name}` `{text}`: use an ISO date-time such as 2025-06-02T10:00:00Z"
            ))
        })
}

/// Saved recommendations first found between `start` and `end`, in any state.
#[utoipa::path(get, path = "/api/v1/recommendations/history", tag = "recommendations",
    params(("start" = String, Query, description = "ISO date-time"),
           ("end" = String, Query, description = "ISO date-time"),
           ("type" = Option<String>, Query, description = "Only this type, such as RIGHTSIZING_CPU"),
           ("namespace" = Option<String>, Query, description = "Only this namespace's"),
           ("cluster" = Option<String>, Query, description = "One cluster of the store, or all of them")),
    responses((status = 200, body = [RecordView]), (status = 400, body = Detail), (status = 422, body = Detail)))]
pub(crate) async fn history(
    State(state): State<AppState>,
    params: Params,
) -> ApiResult<Json<Vec<RecordView>>> {
    let scope = params.scope()?;
    let start = instant("start", params.get("start"))?;
    let end = instant("end", params.get("end"))?;
    let kind = match params.get("type").filter(|t| !t.is_empty()) {
        None => None,
        Some(name) => Some(
            RecommendationType::ALL
                .into_iter()
                .find(|k| k.name().eq_ignore_ascii_case(name))
                .ok_or_else(|| {
                    ApiError::bad_request(format!("unknown recommendation type `{name}`"))
                })?,
        ),
    };
    let records = recommend::records(state.store(), None).await?;
    Ok(Json(
        records
            .iter()
            .filter(|r| {
                r.created_at >= start
                    && r.created_at <= end
                    && kind.is_none_or(|k| r.recommendation.kind == k)
                    && in_scope(&r.recommendation, &scope)
            })
            .map(RecordView::of)
            .collect(),
    ))
}

/// Savings of one namespace.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct NamespaceSavings {
    /// Namespace, `_cluster` for node- and cluster-level recommendations.
    namespace: String,
    /// CO2e, grams.
    carbon_saved_co2e_grams: f64,
    /// Money.
    cost_saved: f64,
    /// Applied recommendations.
    count: usize,
}

/// Savings of applied recommendations.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SavingsSummary {
    /// CO2e, grams.
    total_carbon_saved_co2e_grams: f64,
    /// Money (recommendations of unknown cost effect count as nothing).
    total_cost_saved: f64,
    /// Applied recommendations.
    applied_count: usize,
    /// By namespace.
    namespace_breakdown: Vec<NamespaceSavings>,
    /// `annual` (projected savings per year of the applied recommendations) or `accrued`
    /// (the ledger's savings over `last`): the unit of the figures.
    basis: String,
}

/// Savings of applied recommendations: per year as projected, or, with `last`, as accrued in
/// the savings ledger over that range (the projection when the ledger has nothing).
#[utoipa::path(get, path = "/api/v1/recommendations/savings", tag = "recommendations",
    params(NamespaceLastOptional),
    responses((status = 200, body = SavingsSummary), (status = 400, body = Detail)))]
pub(crate) async fn savings(
    State(state): State<AppState>,
    params: Params,
) -> ApiResult<Json<SavingsSummary>> {
    let scope = params.scope()?;
    // The savings ledger is per store: a namespace or a cluster is read from the records.
    if params.get("last").is_some() && scope == ReadScope::default() {
        let range = params.last(state.now())?;
        let totals = state
            .store()
            .ledger
            .savings_by_kind(range)
            .await
            .map_err(greenkube_adapters::app::AppError::from)?;
        if !totals.is_empty() {
            return Ok(Json(SavingsSummary {
                total_carbon_saved_co2e_grams: totals.iter().map(|t| t.co2e_grams).sum::<f64>()
                    + 0.0,
                total_cost_saved: totals.iter().map(|t| t.cost).sum::<f64>() + 0.0,
                applied_count: recommend::records(
                    state.store(),
                    Some(RecommendationStatus::Applied),
                )
                .await?
                .len(),
                namespace_breakdown: Vec::new(),
                basis: "accrued".to_string(),
            }));
        }
    } else if params.get("last").is_some() {
        params.last(state.now())?;
    }
    let records = recommend::records(state.store(), Some(RecommendationStatus::Applied)).await?;
    let mut breakdown: BTreeMap<String, NamespaceSavings> = BTreeMap::new();
    for record in records
        .iter()
        .filter(|r| in_scope(&r.recommendation, &scope))
    {
        let rec = &record.recommendation;
        let key = rec
            .namespace
            .clone()
            .unwrap_or_else(|| "_cluster".to_string());
        let entry = breakdown.entry(key.clone()).or_insert(NamespaceSavings {
            namespace: key,
            carbon_saved_co2e_grams: 0.0,
            cost_saved: 0.0,
            count: 0,
        });
        if let Some(savings) = record.applied_savings() {
            entry.carbon_saved_co2e_grams += savings.co2e_grams_per_year;
            entry.cost_saved += savings.cost_per_year.unwrap_or(0.0);
        }
        entry.count += 1;
    }
    let breakdown: Vec<NamespaceSavings> = breakdown.into_values().collect();
    Ok(Json(SavingsSummary {
        // `+ 0.0`: a sum of nothing is -0.0.
        total_carbon_saved_co2e_grams: breakdown
            .iter()
            .map(|b| b.carbon_saved_co2e_grams)
            .sum::<f64>()
            + 0.0,
        total_cost_saved: breakdown.iter().map(|b| b.cost_saved).sum::<f64>() + 0.0,
        applied_count: breakdown.iter().map(|b| b.count).sum(),
        namespace_breakdown: breakdown,
        basis: "annual".to_string(),
    }))
}

/// `namespace` and an optional `last`.
#[derive(Debug, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[expect(
    dead_code,
    reason = "documents the parameters; they are read through `Params`"
)]
pub(crate) struct NamespaceLastOptional {
    /// One cluster of the store (greenkube's addition), or all of them.
    cluster: Option<String>,
    /// One namespace, or all of them.
    namespace: Option<String>,
    /// Savings accrued over this range (`7d`, `1m`, `ytd`, ...) instead of per year.
    last: Option<String>,
}

/// GreenKube's `ApplyRecommendationRequest` (every field optional).
#[derive(Debug, Default, Deserialize, ToSchema)]
pub(crate) struct ApplyRequest {
    /// The CPU request actually set, millicores.
    pub(crate) actual_cpu_request_millicores: Option<f64>,
    /// The memory request actually set, bytes.
    pub(crate) actual_memory_request_bytes: Option<f64>,
    /// Realised CO2e savings per year, grams.
    pub(crate) carbon_saved_co2e_grams: Option<f64>,
    /// Realised money savings per year.
    pub(crate) cost_saved: Option<f64>,
}

/// `{reason?}`.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub(crate) struct IgnoreRequest {
    /// Why.
    pub(crate) reason: Option<String>,
}

/// An optional JSON body: empty is the default, anything else must be the type.
fn body<T: Default + for<'de> Deserialize<'de>>(bytes: &Bytes) -> ApiResult<T> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(bytes)
        .map_err(|e| ApiError::unprocessable(format!("the request body is not valid: {e}")))
}

async fn change(state: &AppState, id: &str, change: Change) -> ApiResult<Json<RecordView>> {
    if state.config().read_only {
        return Err(read_only());
    }
    let record = recommend::change(state.store(), id, change, state.now()).await?;
    state.forget();
    Ok(Json(RecordView::of(&record)))
}

/// Marks a recommendation applied, with the requests actually set or the savings measured
/// (a rightsizing applied part-way realises its share of the projected savings).
#[utoipa::path(patch, path = "/api/v1/recommendations/{id}/apply", tag = "recommendations",
    params(("id" = String, Path, description = "The id, or a unique prefix of it")),
    request_body(content = ApplyRequest, description = "Optional"),
    responses((status = 200, body = RecordView), (status = 403, body = Detail), (status = 404, body = Detail), (status = 422, body = Detail)))]
pub(crate) async fn apply(
    State(state): State<AppState>,
    Path(id): Path<String>,
    bytes: Bytes,
) -> ApiResult<Json<RecordView>> {
    let request: ApplyRequest = body(&bytes)?;
    let values = AppliedValues {
        actual_cpu_request_cores: request.actual_cpu_request_millicores.map(|m| m / 1000.0),
        actual_memory_request_bytes: request.actual_memory_request_bytes,
        co2e_grams_per_year: request.carbon_saved_co2e_grams,
        cost_per_year: request.cost_saved,
    };
    let finite = [
        values.actual_cpu_request_cores,
        values.actual_memory_request_bytes,
        values.co2e_grams_per_year,
        values.cost_per_year,
    ];
    if finite.iter().flatten().any(|v| !v.is_finite() || *v < 0.0) {
        return Err(ApiError::unprocessable(
            "the values applied must be finite and not negative",
        ));
    }
    change(&state, &id, Change::Apply(values)).await
}

/// Marks a recommendation ignored, with an optional reason.
#[utoipa::path(patch, path = "/api/v1/recommendations/{id}/ignore", tag = "recommendations",
    params(("id" = String, Path, description = "The id, or a unique prefix of it")),
    request_body(content = IgnoreRequest, description = "Optional"),
    responses((status = 200, body = RecordView), (status = 403, body = Detail), (status = 404, body = Detail), (status = 422, body = Detail)))]
pub(crate) async fn ignore(
    State(state): State<AppState>,
    Path(id): Path<String>,
    bytes: Bytes,
) -> ApiResult<Json<RecordView>> {
    let request: IgnoreRequest = body(&bytes)?;
    let reason = request.reason.filter(|r| !r.trim().is_empty());
    change(&state, &id, Change::Ignore { reason }).await
}

/// Brings an ignored recommendation back to active.
#[utoipa::path(delete, path = "/api/v1/recommendations/{id}/ignore", tag = "recommendations",
    params(("id" = String, Path, description = "The id, or a unique prefix of it")),
    responses((status = 200, body = RecordView), (status = 403, body = Detail), (status = 404, body = Detail)))]
pub(crate) async fn unignore(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<RecordView>> {
    change(&state, &id, Change::Unignore).await
}
