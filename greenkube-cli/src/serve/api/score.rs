//! `/api/v1/score`: the sustainability score (greenkube's addition; GreenKube exposes it only
//! as a Prometheus gauge).

use axum::Json;
use axum::extract::State;
use greenkube_adapters::app::{nodes, score as use_case};
use serde::Serialize;
use utoipa::ToSchema;

use crate::serve::error::{ApiResult, Detail};
use crate::serve::params::Params;
use crate::serve::state::AppState;

/// The score and what it was computed from.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ScoreView {
    /// The overall score (0 to 100), its dimensions and their weights, as `greenkube score
    /// --format json` prints them.
    #[schema(value_type = Object)]
    score: serde_json::Value,
    /// Windows read.
    windows: usize,
}

/// The sustainability score of the whole store over `last` (default `24h`), from the archived
/// windows.
#[utoipa::path(get, path = "/api/v1/score", tag = "metrics",
    params(("last" = Option<String>, Query, description = "The range ending now: `24h` (default), `7d`, `1m`, ..."),
           ("cluster" = Option<String>, Query, description = "One cluster of the store, or all of them")),
    responses((status = 200, body = ScoreView), (status = 400, body = Detail)))]
pub(crate) async fn score(
    State(state): State<AppState>,
    params: Params,
) -> ApiResult<Json<ScoreView>> {
    let now = state.now();
    let range = params.last(now)?;
    let cluster = params.cluster()?;
    let inventory = nodes::inventory(state.store(), now).await?;
    let (score, windows) =
        use_case::score(state.store(), range, cluster.as_deref(), Some(&inventory)).await?;
    Ok(Json(ScoreView {
        score: serde_json::to_value(&score).unwrap_or(serde_json::Value::Null),
        windows,
    }))
}
