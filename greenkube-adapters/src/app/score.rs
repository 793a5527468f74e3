//! The sustainability score of a store's archived windows.

use greenkube_core::ports::TimeRange;
use greenkube_core::{EstimateOptions, Inventory, ScoreBuilder, ScoreConfig, SustainabilityScore};

use super::AppError;
use super::recommend::observe_archived;
use crate::store::Store;

/// The score of the archived windows of `range` (of one cluster, or every cluster with
/// `None`; re-estimated with the default methodology), and how many windows it read.
pub async fn score(
    store: &Store,
    range: TimeRange,
    cluster: Option<&str>,
    inventory: Option<&Inventory>,
) -> Result<(SustainabilityScore, usize), AppError> {
    let mut builder = ScoreBuilder::new(&ScoreConfig::default(), inventory);
    let options = EstimateOptions::default();
    let windows = observe_archived(store, range, cluster, &options, |footprint| {
        builder.observe(&footprint);
    })
    .await?;
    Ok((builder.finish(), windows))
}
