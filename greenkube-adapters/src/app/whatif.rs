//! What-if over a store: the archived windows of a range, re-estimated, with changes applied.

use greenkube_core::ports::TimeRange;
use greenkube_core::whatif::{Change, WhatIfOptions, WhatIfReport};
use greenkube_core::{EstimateOptions, ReferenceData};

use super::AppError;
use super::recommend::observe_archived;
use crate::store::Store;

/// Applies `changes` to the archived windows of `range` (of one cluster, or every cluster with
/// `None`; re-estimated with the default methodology) and reports the baseline, the projection
/// and the savings, as [`greenkube_core::whatif::what_if`] does for a history in memory. The
/// windows of the range are held in memory (a time shift needs the whole history);
/// `options.max_windows` bounds the re-estimation, not the reading. Also returns how many
/// windows it read.
pub async fn what_if(
    store: &Store,
    range: TimeRange,
    cluster: Option<&str>,
    changes: &[Change],
    options: WhatIfOptions,
) -> Result<(WhatIfReport, usize), AppError> {
    let mut history = Vec::new();
    let windows = observe_archived(
        store,
        range,
        cluster,
        &EstimateOptions::default(),
        |footprint| history.push(footprint),
    )
    .await?;
    let report =
        greenkube_core::whatif::what_if(&history, changes, options, ReferenceData::embedded())
            .map_err(|e| AppError::Invalid(e.to_string()))?;
    Ok((report, windows))
}
