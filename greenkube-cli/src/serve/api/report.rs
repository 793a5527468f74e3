//! `/api/v1/report/*`: report totals over any range or calendar years, the years with data,
//! and the export of rows (streamed at constant memory, CSV or JSON).

use std::collections::BTreeSet;

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use greenkube_adapters::app::dashboard::{self, Scope, Totals};
use greenkube_core::ports::{PodCursor, TimeRange};
use greenkube_core::{AggregateRow, GroupBy, Period};
use serde::Serialize;
use utoipa::ToSchema;

use super::metrics::CombinedMetric;
use super::{Coverage, Intervals};
use crate::serve::error::{ApiError, ApiResult, Detail};
use crate::serve::params::{Params, report_ranges};
use crate::serve::state::AppState;

/// The selectors and options of a report.
#[derive(Debug, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[expect(
    dead_code,
    reason = "documents the parameters; they are read through `Params`"
)]
pub(crate) struct ReportParams {
    /// One cluster of the store (greenkube's addition), or all of them.
    cluster: Option<String>,
    /// One namespace, or all of them.
    namespace: Option<String>,
    /// The range ending now (`24h`, `7d`, `1m`, `ytd`, ...). Give one of `last`, `start` and
    /// `end`, or `years`.
    last: Option<String>,
    /// Start: a date (whole day) or an ISO date-time.
    start: Option<String>,
    /// End: a date (included to its end) or an ISO date-time.
    end: Option<String>,
    /// Whole calendar years (repeat the parameter for several).
    years: Option<Vec<i32>>,
    /// Group rows by `group_by` and `granularity`.
    aggregate: Option<bool>,
    /// `hourly`, `daily`, `weekly`, `monthly` or `yearly`.
    granularity: Option<String>,
    /// `pod` or `namespace`.
    group_by: Option<String>,
}

/// Options of a report request, checked.
struct Options {
    scope: Scope,
    ranges: Vec<TimeRange>,
    aggregate: bool,
    granularity: Option<Period>,
    group_by: GroupBy,
}

fn options(params: &Params, state: &AppState) -> ApiResult<Options> {
    let scope = params.scope()?;
    let ranges = report_ranges(params, state.now())?;
    let granularity = match params.get("granularity") {
        None => None,
        Some("hourly") => Some(Period::Hour),
        Some("daily") => Some(Period::Day),
        Some("weekly") => Some(Period::Week),
        Some("monthly") => Some(Period::Month),
        Some("yearly") => Some(Period::Year),
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "invalid granularity `{other}`: use hourly, daily, weekly, monthly or yearly"
            )));
        }
    };
    let group_by = match params.get("group_by") {
        None | Some("namespace") => GroupBy::Namespace,
        Some("pod") => GroupBy::Pod,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "invalid group_by `{other}`: use pod or namespace"
            )));
        }
    };
    Ok(Options {
        scope,
        ranges,
        aggregate: params.flag("aggregate")?,
        granularity,
        group_by,
    })
}

/// Totals of a report.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ReportSummary {
    /// Stored pod rows; with `aggregate=true`, the (group, bucket) rows of the export.
    total_rows: usize,
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
    unique_pods: usize,
    /// Distinct namespaces.
    unique_namespaces: usize,
    /// Intervals of the figures.
    uncertainty: Intervals,
    /// Rows summed.
    coverage: Coverage,
}

/// Totals over `last`, `start` to `end`, or whole `years`.
#[utoipa::path(get, path = "/api/v1/report/summary", tag = "report", params(ReportParams),
    responses((status = 200, body = ReportSummary), (status = 400, body = Detail)))]
pub(crate) async fn summary(
    State(state): State<AppState>,
    params: Params,
) -> ApiResult<Json<ReportSummary>> {
    let options = options(&params, &state)?;
    let mut totals = Totals::default();
    let mut pods = BTreeSet::new();
    let mut namespaces = BTreeSet::new();
    let mut grouped_rows = 0;
    for range in &options.ranges {
        let rows = state
            .store()
            .footprints
            .aggregate(&options.scope.query(*range, GroupBy::Pod))
            .await
            .map_err(greenkube_adapters::app::AppError::from)?;
        for row in rows.iter().filter(|r| options.scope.keeps(r)) {
            totals.add(row);
            pods.insert((row.key.namespace.clone(), row.key.pod.clone()));
            namespaces.insert(row.key.namespace.clone());
        }
        if options.aggregate {
            let query = options
                .scope
                .query(*range, options.group_by)
                .with_period(options.granularity);
            grouped_rows += state
                .store()
                .footprints
                .aggregate(&query)
                .await
                .map_err(greenkube_adapters::app::AppError::from)?
                .iter()
                .filter(|r| options.scope.keeps(r))
                .count();
        }
    }
    Ok(Json(ReportSummary {
        total_rows: if options.aggregate {
            grouped_rows
        } else {
            totals.rows
        },
        total_co2e_grams: totals.co2e_grams.point,
        total_embodied_co2e_grams: totals.embodied_co2e_grams.point,
        total_co2e_all_scopes: totals.total_co2e_grams().point,
        total_cost: totals.cost,
        total_energy_joules: totals.energy_joules.point,
        unique_pods: pods.len(),
        unique_namespaces: namespaces.len(),
        uncertainty: Intervals::of(&totals),
        coverage: Coverage::of(&totals),
    }))
}

/// Calendar years with data, newest first.
#[utoipa::path(get, path = "/api/v1/report/years", tag = "report",
    params(("namespace" = Option<String>, Query, description = "Only this namespace's"),
           ("cluster" = Option<String>, Query, description = "One cluster of the store, or all of them")),
    responses((status = 200, body = [i32]), (status = 400, body = Detail)))]
pub(crate) async fn years(
    State(state): State<AppState>,
    params: Params,
) -> ApiResult<Json<Vec<i32>>> {
    let scope = params.scope()?;
    Ok(Json(
        dashboard::years(state.store(), state.now(), &scope).await?,
    ))
}

/// A cell that a spreadsheet would read as a formula gets a leading `'`.
fn guard(cell: &str) -> std::borrow::Cow<'_, str> {
    if cell.starts_with(['=', '+', '-', '@']) {
        std::borrow::Cow::Owned(format!("'{cell}"))
    } else {
        std::borrow::Cow::Borrowed(cell)
    }
}

/// The columns of a row export.
const ROW_COLUMNS: [&str; 32] = [
    "cluster",
    "namespace",
    "pod_name",
    "timestamp",
    "duration_seconds",
    "owner_kind",
    "owner_name",
    "node",
    "node_instance_type",
    "provider",
    "region",
    "emaps_zone",
    "cpu_request",
    "cpu_usage_millicores",
    "memory_request",
    "memory_usage_bytes",
    "restart_count",
    "joules",
    "joules_low",
    "joules_high",
    "co2e_grams",
    "co2e_grams_low",
    "co2e_grams_high",
    "embodied_co2e_grams",
    "embodied_co2e_grams_low",
    "embodied_co2e_grams_high",
    "total_co2e_grams",
    "total_cost",
    "pue",
    "grid_intensity",
    "is_estimated",
    "calculation_version",
];

fn opt<T: ToString>(value: Option<T>) -> String {
    value.map(|v| v.to_string()).unwrap_or_default()
}

fn row_cells(row: &greenkube_core::ports::PodRecord) -> Vec<String> {
    let text = |v: &Option<std::sync::Arc<str>>| v.as_deref().unwrap_or("").to_string();
    vec![
        text(&row.cluster),
        row.namespace.to_string(),
        row.pod.to_string(),
        row.window_start
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        (row.window_end - row.window_start)
            .num_seconds()
            .to_string(),
        text(&row.owner_kind),
        text(&row.owner_name),
        text(&row.node),
        text(&row.instance_type),
        text(&row.provider),
        text(&row.region),
        text(&row.zone),
        opt(row.cpu_request_cores.map(|c| c.0 * 1000.0)),
        opt(row.cpu_usage_cores.map(|c| c.0 * 1000.0)),
        opt(row.memory_request_bytes.map(|b| b.0)),
        opt(row.memory_usage_bytes.map(|b| b.0)),
        opt(row.restarts),
        row.energy_joules.point.to_string(),
        row.energy_joules.low.to_string(),
        row.energy_joules.high.to_string(),
        row.co2e_grams.point.to_string(),
        row.co2e_grams.low.to_string(),
        row.co2e_grams.high.to_string(),
        row.embodied_co2e_grams.point.to_string(),
        row.embodied_co2e_grams.low.to_string(),
        row.embodied_co2e_grams.high.to_string(),
        (row.co2e_grams.point + row.embodied_co2e_grams.point).to_string(),
        opt(row.cost.map(|c| c.0)),
        row.pue.point.to_string(),
        row.grid_intensity.point.to_string(),
        row.estimated.to_string(),
        format!("{} {}", row.methodology.name, row.methodology.version),
    ]
}

const GROUP_COLUMNS: [&str; 17] = [
    "period",
    "namespace",
    "pod_name",
    "rows",
    "estimated_rows",
    "rows_without_cost",
    "joules",
    "joules_low",
    "joules_high",
    "co2e_grams",
    "co2e_grams_low",
    "co2e_grams_high",
    "embodied_co2e_grams",
    "embodied_co2e_grams_low",
    "embodied_co2e_grams_high",
    "total_co2e_grams",
    "total_cost",
];

fn group_cells(row: &AggregateRow) -> Vec<String> {
    let key = &row.key;
    vec![
        opt(key.period.as_deref()),
        opt(key.namespace.as_deref()),
        opt(key.pod.as_deref()),
        row.rows.to_string(),
        row.estimated_rows.to_string(),
        row.rows_without_cost.to_string(),
        row.energy_joules.point.to_string(),
        row.energy_joules.low.to_string(),
        row.energy_joules.high.to_string(),
        row.co2e_grams.point.to_string(),
        row.co2e_grams.low.to_string(),
        row.co2e_grams.high.to_string(),
        row.embodied_co2e_grams.point.to_string(),
        row.embodied_co2e_grams.low.to_string(),
        row.embodied_co2e_grams.high.to_string(),
        row.total_co2e_grams().point.to_string(),
        row.cost.0.to_string(),
    ]
}

/// A group row of an aggregated JSON export.
#[derive(Debug, Serialize)]
struct GroupView<'a> {
    period: Option<&'a str>,
    namespace: Option<&'a str>,
    pod_name: Option<&'a str>,
    rows: usize,
    estimated_rows: usize,
    rows_without_cost: usize,
    joules: f64,
    co2e_grams: f64,
    embodied_co2e_grams: f64,
    total_co2e_grams: f64,
    total_cost: f64,
    uncertainty: Intervals,
}

fn group_view(row: &AggregateRow) -> GroupView<'_> {
    GroupView {
        period: row.key.period.as_deref(),
        namespace: row.key.namespace.as_deref(),
        pod_name: row.key.pod.as_deref(),
        rows: row.rows,
        estimated_rows: row.estimated_rows,
        rows_without_cost: row.rows_without_cost,
        joules: row.energy_joules.point,
        co2e_grams: row.co2e_grams.point,
        embodied_co2e_grams: row.embodied_co2e_grams.point,
        total_co2e_grams: row.total_co2e_grams().point,
        total_cost: row.cost.0,
        uncertainty: Intervals::of(&Totals::of([row])),
    }
}

fn csv_line(cells: &[String]) -> Bytes {
    let mut writer = csv::Writer::from_writer(Vec::with_capacity(256));
    let guarded: Vec<std::borrow::Cow<'_, str>> = cells.iter().map(|c| guard(c)).collect();
    // Writing into memory cannot fail.
    let _ = writer.write_record(guarded.iter().map(AsRef::as_ref));
    Bytes::from(writer.into_inner().unwrap_or_default())
}

/// Pages of an export in flight at once (each up to a store page of rows).
const EXPORT_BUFFER: usize = 2;

/// The rows of a report as a file, streamed at constant memory: stored pod rows, or with
/// `aggregate=true` the groups of `group_by` and `granularity` over the whole range.
#[utoipa::path(get, path = "/api/v1/report/export", tag = "report",
    params(ReportParams, ("format" = Option<String>, Query, description = "csv (default) or json")),
    responses((status = 200, description = "The file (`Content-Disposition: attachment`)"), (status = 400, body = Detail)))]
pub(crate) async fn export(State(state): State<AppState>, params: Params) -> ApiResult<Response> {
    let options = options(&params, &state)?;
    let json = match params.get("format").unwrap_or("csv") {
        "csv" => false,
        "json" => true,
        other => {
            return Err(ApiError::bad_request(format!(
                "invalid format `{other}`: use csv or json"
            )));
        }
    };
    let now = state.now();
    let filename = format!(
        "greenkube-report-{}.{}",
        now.format("%Y%m%d-%H%M%S"),
        if json { "json" } else { "csv" }
    );
    let (sender, receiver) =
        tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(EXPORT_BUFFER);
    let store = state.store().clone();
    tokio::spawn(async move {
        let failed = |e: &dyn std::fmt::Display| Err(std::io::Error::other(e.to_string()));
        let mut first = true;
        let send = async |bytes: Bytes| sender.send(Ok(bytes)).await.is_ok();
        let opening = if json {
            Bytes::from_static(b"[")
        } else if options.aggregate {
            csv_line(&GROUP_COLUMNS.map(String::from))
        } else {
            csv_line(&ROW_COLUMNS.map(String::from))
        };
        if !send(opening).await {
            return;
        }
        let item = |text: Vec<u8>, first: &mut bool| {
            let mut out = Vec::with_capacity(text.len() + 1);
            if !*first {
                out.push(b',');
            }
            *first = false;
            out.extend_from_slice(&text);
            Bytes::from(out)
        };
        for range in &options.ranges {
            if options.aggregate {
                let query = options
                    .scope
                    .query(*range, options.group_by)
                    .with_period(options.granularity);
                let rows = match store.footprints.aggregate(&query).await {
                    Ok(rows) => rows,
                    Err(e) => {
                        let _ = sender.send(failed(&e)).await;
                        return;
                    }
                };
                for row in rows.iter().filter(|r| options.scope.keeps(r)) {
                    let bytes = if json {
                        item(
                            serde_json::to_vec(&group_view(row)).unwrap_or_default(),
                            &mut first,
                        )
                    } else {
                        csv_line(&group_cells(row))
                    };
                    if !send(bytes).await {
                        return;
                    }
                }
                continue;
            }
            let mut cursor: Option<PodCursor> = None;
            loop {
                let page = match store
                    .footprints
                    .read_pod_rows(*range, cursor.as_ref(), 2_000)
                    .await
                {
                    Ok(page) => page,
                    Err(e) => {
                        let _ = sender.send(failed(&e)).await;
                        return;
                    }
                };
                let mut chunk = Vec::with_capacity(page.rows.len() * 512);
                for row in page.rows.iter().filter(|r| options.scope.keeps_pod_row(r)) {
                    if json {
                        chunk.extend_from_slice(&item(
                            serde_json::to_vec(&CombinedMetric::of(row)).unwrap_or_default(),
                            &mut first,
                        ));
                    } else {
                        chunk.extend_from_slice(&csv_line(&row_cells(row)));
                    }
                }
                if !chunk.is_empty() && !send(Bytes::from(chunk)).await {
                    return;
                }
                match page.next {
                    Some(next) => cursor = Some(next),
                    None => break,
                }
            }
        }
        if json {
            let _ = send(Bytes::from_static(b"]")).await;
        }
    });
    let stream = futures_util::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|chunk| (chunk, receiver))
    });
    let content_type = if json {
        "application/json"
    } else {
        "text/csv; charset=utf-8"
    };
    Ok((
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
        ],
        Body::from_stream(stream),
    )
        .into_response())
}
