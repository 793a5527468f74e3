//! Restating: recomputing the stored windows of a range from their archived snapshots under
//! another methodology or idle policy.

use greenkube_core::ports::{ReportQuery, TimeRange};
use greenkube_core::{AggregateRow, Aggregator, EstimateOptions, GroupBy, estimate};

use super::{AppError, Progress};
use crate::store::Store;

/// Windows written per transaction.
pub const BATCH: usize = 64;

/// What a restatement did.
#[derive(Debug, Clone)]
pub struct Restated {
    /// Archived windows of the range.
    pub windows: usize,
    /// False for a dry run (nothing written).
    pub stored: bool,
    /// Totals per cluster before.
    pub before: Vec<AggregateRow>,
    /// Totals per cluster after (for a dry run: what they would be).
    pub after: Vec<AggregateRow>,
}

/// Re-estimates every archived window of `range` with `options` and, unless `dry_run`,
/// replaces its stored rows (in transactions of [`BATCH`] windows; rewriting a window is
/// idempotent, so an interrupted restatement can simply be run again). Memory stays bounded
/// by one batch whatever the range.
pub async fn restate(
    store: &Store,
    range: TimeRange,
    options: &EstimateOptions,
    dry_run: bool,
    progress: &dyn Progress,
) -> Result<Restated, AppError> {
    options
        .validate()
        .map_err(|e| AppError::Invalid(format!("invalid option: {e}")))?;
    let query = ReportQuery::new(range, GroupBy::Cluster);
    let before = store.footprints.aggregate(&query).await?;
    let archived = store.archive.archived_windows(range).await?;
    progress.start(archived.len(), "restating");
    let mut batch = Vec::with_capacity(archived.len().min(BATCH));
    let mut would_be = Aggregator::new(GroupBy::Cluster, None);
    for (cluster, start) in &archived {
        let snapshot = store
            .archive
            .snapshot(cluster.as_deref(), *start)
            .await?
            .ok_or_else(|| {
                AppError::NotFound(format!(
                    "archived window {start} disappeared during the restatement"
                ))
            })?;
        let footprint = estimate(&snapshot, options).map_err(|source| AppError::Estimate {
            window: *start,
            source,
        })?;
        if dry_run {
            would_be.add(&footprint);
            progress.advance(1);
        } else {
            batch.push(footprint);
            if batch.len() == BATCH {
                store.footprints.write_footprints(&batch).await?;
                progress.advance(batch.len());
                batch.clear();
            }
        }
    }
    if !batch.is_empty() {
        store.footprints.write_footprints(&batch).await?;
        progress.advance(batch.len());
    }
    progress.finish();
    let after = if dry_run {
        would_be.finish()
    } else {
        store.footprints.aggregate(&query).await?
    };
    Ok(Restated {
        windows: archived.len(),
        stored: !dry_run,
        before,
        after,
    })
}
