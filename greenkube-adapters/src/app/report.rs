//! Reports: sums of a range from the store.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeDelta, Utc};
use greenkube_core::ports::{ReportQuery, RetentionState, TimeRange};
use greenkube_core::{AggregateRow, GroupBy, Ranged};

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

/// [`report`] of one namespace's pods (`None`: every namespace). Only groupings with a
/// namespace in their key (pod, workload, namespace) can be narrowed to one: node and cluster
/// groups hold node overhead, which belongs to no namespace ([`AppError::Invalid`]).
pub async fn report_in_namespace(
    store: &Store,
    query: &ReportQuery,
    namespace: Option<&str>,
) -> Result<Report, AppError> {
    if namespace.is_some() && matches!(query.group_by, GroupBy::Node | GroupBy::Cluster) {
        return Err(AppError::Invalid(format!(
            "a namespace filter needs a grouping by namespace, workload or pod, not by {}: node \
             and cluster groups hold node overhead, which belongs to no namespace",
            query.group_by
        )));
    }
    let mut report = report(store, query).await?;
    if let Some(wanted) = namespace {
        report
            .rows
            .retain(|row| row.key.namespace.as_deref() == Some(wanted));
    }
    Ok(report)
}

/// The energy and emissions of `query`'s range (and cluster) that no pod carries: node
/// overhead (idle power not attributed, embodied emissions of unreserved capacity), one row per
/// period (or one row), keyed by the period only. It is the cluster total minus the pod rows
/// `pod_rows` (the rows of `query`, grouped by pod, workload or namespace, unfiltered), so the
/// pod rows and these add up to the cluster total, as `greenkube estimate` and the demo's first
/// line count it. Empty for node and cluster groupings, which include the overhead already.
pub async fn node_overhead(
    store: &Store,
    query: &ReportQuery,
    pod_rows: &[AggregateRow],
) -> Result<Vec<AggregateRow>, AppError> {
    if matches!(query.group_by, GroupBy::Node | GroupBy::Cluster) {
        return Ok(Vec::new());
    }
    let mut clusters = query.clone();
    clusters.group_by = GroupBy::Cluster;
    let mut overhead: BTreeMap<Option<String>, AggregateRow> = BTreeMap::new();
    for row in store.footprints.aggregate(&clusters).await? {
        let period = row.key.period.clone();
        let sum = overhead.entry(period.clone()).or_default();
        sum.key.period = period;
        sum.energy_joules += row.energy_joules;
        sum.co2e_grams += row.co2e_grams;
        sum.embodied_co2e_grams += row.embodied_co2e_grams;
        sum.cost += row.cost;
        sum.first_window = match (sum.first_window, row.first_window) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        sum.last_window = sum.last_window.max(row.last_window);
    }
    let less = |a: Ranged, b: Ranged| {
        Ranged::new(
            (a.point - b.point).max(0.0),
            (a.low - b.low).max(0.0),
            (a.high - b.high).max(0.0),
        )
    };
    for row in pod_rows {
        if let Some(sum) = overhead.get_mut(&row.key.period) {
            sum.energy_joules = less(sum.energy_joules, row.energy_joules);
            sum.co2e_grams = less(sum.co2e_grams, row.co2e_grams);
            sum.embodied_co2e_grams = less(sum.embodied_co2e_grams, row.embodied_co2e_grams);
            sum.cost.0 = (sum.cost.0 - row.cost.0).max(0.0);
        }
    }
    Ok(overhead.into_values().collect())
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
