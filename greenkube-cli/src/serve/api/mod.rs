//! The REST API under `/api/v1`, a drop-in for GreenKube 0.2.12's: same methods, paths,
//! parameters, field names and status codes; every figure also carries its interval.

pub(crate) mod health;
pub(crate) mod metrics;
pub(crate) mod recommendations;
pub(crate) mod report;
pub(crate) mod score;

use axum::Router;
use axum::routing::{get, patch, post};
use greenkube_adapters::app::dashboard::Totals;
use serde::Serialize;
use utoipa::{IntoParams, ToSchema};

use super::state::AppState;

/// The routes under `/api/v1`.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/health", get(health::health))
        .route("/health/services", get(health::services))
        .route("/health/services/{service_name}", get(health::service))
        .route("/version", get(health::version))
        .route("/config", get(health::config))
        .route("/config/services", post(health::set_services))
        .route("/metrics", get(metrics::list))
        .route("/metrics/summary", get(metrics::summary))
        .route("/metrics/timeseries", get(metrics::timeseries))
        .route("/metrics/by-namespace", get(metrics::by_namespace))
        .route("/metrics/top-pods", get(metrics::top_pods))
        .route(
            "/metrics/dashboard-summary",
            get(metrics::dashboard_summary),
        )
        .route(
            "/metrics/dashboard-summary/refresh",
            post(metrics::refresh_dashboard_summary),
        )
        .route(
            "/metrics/dashboard-timeseries/{window_slug}",
            get(metrics::dashboard_timeseries),
        )
        .route("/namespaces", get(metrics::namespaces))
        .route("/nodes", get(metrics::nodes))
        .route("/recommendations", get(recommendations::scan))
        .route("/recommendations/active", get(recommendations::active))
        .route("/recommendations/top", get(recommendations::top))
        .route("/recommendations/ignored", get(recommendations::ignored))
        .route("/recommendations/applied", get(recommendations::applied))
        .route("/recommendations/history", get(recommendations::history))
        .route("/recommendations/savings", get(recommendations::savings))
        .route("/recommendations/{id}/apply", patch(recommendations::apply))
        .route(
            "/recommendations/{id}/ignore",
            patch(recommendations::ignore).delete(recommendations::unignore),
        )
        .route("/score", get(score::score))
        .route("/report/summary", get(report::summary))
        .route("/report/years", get(report::years))
        .route("/report/export", get(report::export))
}

/// `[low, high]`.
pub(crate) type Interval = [f64; 2];

/// The intervals of the emission and energy figures beside them (greenkube's addition: every
/// figure carries its uncertainty).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Intervals {
    /// Operational CO2e, grams.
    #[schema(value_type = Vec<f64>)]
    pub(crate) co2e_grams: Interval,
    /// Embodied CO2e, grams.
    #[schema(value_type = Vec<f64>)]
    pub(crate) embodied_co2e_grams: Interval,
    /// Operational plus embodied CO2e, grams.
    #[schema(value_type = Vec<f64>)]
    pub(crate) total_co2e_all_scopes: Interval,
    /// Energy, joules.
    #[schema(value_type = Vec<f64>)]
    pub(crate) energy_joules: Interval,
}

impl Intervals {
    pub(crate) fn of(totals: &Totals) -> Self {
        let total = totals.total_co2e_grams();
        Self {
            co2e_grams: [totals.co2e_grams.low, totals.co2e_grams.high],
            embodied_co2e_grams: [
                totals.embodied_co2e_grams.low,
                totals.embodied_co2e_grams.high,
            ],
            total_co2e_all_scopes: [total.low, total.high],
            energy_joules: [totals.energy_joules.low, totals.energy_joules.high],
        }
    }
}

/// How many rows a figure sums and how many of them were estimated (greenkube's addition).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Coverage {
    /// Pod rows (pod × window) summed.
    pub(crate) rows: usize,
    /// Rows whose figures used a fallback (see each row's estimation reasons).
    pub(crate) estimated_rows: usize,
    /// Rows without cost data: `total_cost` counts only known costs.
    pub(crate) rows_without_cost: usize,
}

impl Coverage {
    pub(crate) fn of(totals: &Totals) -> Self {
        Self {
            rows: totals.rows,
            estimated_rows: totals.estimated_rows,
            rows_without_cost: totals.rows_without_cost,
        }
    }
}

/// `namespace` and `last`, as most reads take them.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
#[expect(
    dead_code,
    reason = "documents the parameters; they are read through `Params`"
)]
pub(crate) struct NamespaceLast {
    /// One cluster of the store (greenkube's addition), or all of them.
    cluster: Option<String>,
    /// One namespace (Kubernetes naming rule), or all of them.
    namespace: Option<String>,
    /// The range ending now: `30min`, `24h` (default), `7d`, `2w`, `1m` (30 days), `1y`, `ytd`.
    last: Option<String>,
}
