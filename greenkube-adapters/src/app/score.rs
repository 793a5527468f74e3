//! The sustainability score of a store's archived windows.

use greenkube_core::ports::TimeRange;
use greenkube_core::{EstimateOptions, Inventory, ScoreBuilder, ScoreConfig, SustainabilityScore};

use super::AppError;
use super::recommend::observe_archived;
use crate::store::Store;

/// The score of the archived windows of `range` (re-estimated with the default methodology),
/// and how many windows it read.
pub async fn score(
    store: &Store,
    range: TimeRange,
    inventory: Option<&Inventory>,
) -> Result<(SustainabilityScore, usize), AppError> {
    let mut builder = ScoreBuilder::new(&ScoreConfig::default(), inventory);
    let windows = observe_archived(store, range, &EstimateOptions::default(), |footprint| {
        builder.observe(&footprint);
    })
    .await?;
    Ok((builder.finish(), windows))
}
