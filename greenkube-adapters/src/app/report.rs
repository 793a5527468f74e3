//! Reports: sums of a range from the store.

use chrono::{DateTime, TimeDelta, Utc};
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

/// The range a front end asks for: the last `since` before `now`, or `from` to `to`. Anything
/// else (neither, both, half of a pair) is [`AppError::Invalid`], naming the choices with the
/// front end's own words for them (`names`: `("--since", "--from", "--to")` on the command line,
/// `("since", "start", "end")` in Python).
pub fn range_of(
    since: Option<TimeDelta>,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    names: (&str, &str, &str),
) -> Result<TimeRange, AppError> {
    let (since_name, from_name, to_name) = names;
    let (from, to) = match (since, from, to) {
        (Some(since), None, None) => {
            let from = now.checked_sub_signed(since).ok_or_else(|| {
                AppError::Invalid(format!(
                    "{since_name} reaches before the earliest representable time"
                ))
            })?;
            (from, now)
        }
        (None, Some(from), Some(to)) => (from, to),
        _ => {
            return Err(AppError::Invalid(format!(
                "give either {since_name} DURATION, or {from_name} TIME and {to_name} TIME"
            )));
        }
    };
    TimeRange::new(from, to).map_err(|e| AppError::Invalid(format!("invalid range: {e}")))
}
