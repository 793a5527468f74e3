//! Reports: sums of a range from the store.

use greenkube_core::AggregateRow;
use greenkube_core::ports::{ReportQuery, RetentionState, TimeRange};

use super::AppError;
use crate::store::Store;

/// A report: its rows and the range they cover.
#[derive(Debug, Clone)]
pub struct Report {
    /// The rows, sorted by period, then group key.
    pub rows: Vec<AggregateRow>,
    /// The range the rows cover: the range asked for, widened to whole hours or days where it
    /// reaches history kept only as roll-ups.
    pub range: TimeRange,
    /// True when [`range`](Self::range) is wider than the range asked for.
    pub widened: bool,
    /// What the store keeps at which detail.
    pub retention: RetentionState,
}

/// Sums the footprint rows of `query` in the store (the database aggregates; rows and
/// roll-ups are combined so the totals are those of the raw rows).
pub async fn report(store: &Store, query: &ReportQuery) -> Result<Report, AppError> {
    let rows = store.footprints.aggregate(query).await?;
    let retention = store.footprints.retention_state().await?;
    let range = retention.effective_range(query.range);
    Ok(Report {
        rows,
        range,
        widened: range != query.range,
        retention,
    })
}
