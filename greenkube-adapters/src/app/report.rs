//! Reports: sums of a range from the store.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use greenkube_core::aggregate::GroupKey;
use greenkube_core::labels::regroup;
use greenkube_core::ports::{ReportQuery, RetentionState, TimeRange};
use greenkube_core::{AggregateRow, GroupBy, Grouping, LabelSelector, PodLabels, Ranged};

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
    /// Pods whose labels the store does not know (written before greenkube kept labels), in a
    /// report that filters or groups by label: they match no label filter, and a label grouping
    /// counts them among the pods without the label. Zero otherwise.
    pub pods_without_labels: usize,
}

/// A report as a front end asks for it: the store query (range, period, cluster), the grouping
/// (a store grouping or a label's value) and which pods (one namespace, label filters).
#[derive(Debug, Clone)]
pub struct ReportRequest {
    /// Range, period and cluster; its `group_by` is replaced by the grouping's.
    pub query: ReportQuery,
    /// How rows are grouped.
    pub grouping: Grouping,
    /// Only this namespace's pods.
    pub namespace: Option<String>,
    /// Only the pods whose labels match every selector.
    pub labels: Vec<LabelSelector>,
}

impl ReportRequest {
    /// Every pod of `query`, grouped by `grouping`.
    pub fn new(query: ReportQuery, grouping: Grouping) -> Self {
        Self {
            query,
            grouping,
            namespace: None,
            labels: Vec::new(),
        }
    }

    /// Whether the request keeps only some pods (a namespace or label filter).
    pub fn filters_pods(&self) -> bool {
        self.namespace.is_some() || !self.labels.is_empty()
    }

    /// Whether the pods' labels select or group the rows.
    pub fn by_labels(&self) -> bool {
        !self.labels.is_empty() || matches!(self.grouping, Grouping::Label(_))
    }

    /// The query the store answers: by the request's grouping, or by pod when labels select
    /// or group the rows.
    pub fn store_query(&self) -> ReportQuery {
        let mut query = self.query.clone();
        query.group_by = match self.grouping.store_grouping() {
            Some(group_by) if !self.by_labels() => group_by,
            _ => GroupBy::Pod,
        };
        query
    }

    /// Refuses what cannot be answered: a namespace or label filter on node or cluster groups,
    /// which hold node overhead, a share of no pod ([`AppError::Invalid`]).
    pub fn check(&self) -> Result<(), AppError> {
        if self.filters_pods() && self.grouping.holds_node_overhead() {
            let what = if self.namespace.is_some() {
                "a namespace filter"
            } else {
                "a label filter"
            };
            return Err(AppError::Invalid(format!(
                "{what} needs a grouping by namespace, workload, pod or label, not by {}: node \
                 and cluster groups hold node overhead, which belongs to no pod",
                self.grouping
            )));
        }
        Ok(())
    }
}

/// The report a front end asks for ([`ReportRequest`]): the store sums by the grouping, or, for
/// a label filter or grouping, by pod, and the pods' labels ([`FootprintRepository::pod_labels`])
/// select and regroup them ([`greenkube_core::labels::regroup`]), one cluster at a time so a pod
/// name in two clusters is never confused. A namespace filter keeps that namespace's rows.
///
/// [`FootprintRepository::pod_labels`]: greenkube_core::ports::FootprintRepository::pod_labels
pub async fn report_request(store: &Store, request: &ReportRequest) -> Result<Report, AppError> {
    request.check()?;
    let query = request.store_query();
    if !request.by_labels() {
        let mut report = report(store, &query).await?;
        if let Some(wanted) = &request.namespace {
            report
                .rows
                .retain(|row| row.key.namespace.as_deref() == Some(wanted.as_str()));
        }
        return Ok(report);
    }
    let entries = store
        .footprints
        .pod_labels(query.range, query.cluster.as_deref())
        .await?;
    let clusters: BTreeSet<Option<Arc<str>>> = entries.iter().map(|e| e.cluster.clone()).collect();
    // One store read per cluster when several hold labels (none filtered): pod names repeat
    // across clusters, and rows grouped by pod do not say their cluster.
    let scopes: Vec<Option<Arc<str>>> = if query.cluster.is_some() || clusters.len() <= 1 {
        vec![query.cluster.clone()]
    } else if clusters.contains(&None) {
        return Err(AppError::Invalid(
            "this store holds pods of several clusters, some written without a cluster name: \
             pass a cluster to filter or group them by label"
                .to_string(),
        ));
    } else {
        clusters.into_iter().collect()
    };
    let mut groups: BTreeMap<GroupKey, AggregateRow> = BTreeMap::new();
    let mut unlabelled = 0;
    let mut first: Option<Report> = None;
    for scope in scopes {
        let directory: BTreeMap<(Arc<str>, Arc<str>), &PodLabels> = entries
            .iter()
            .filter(|e| scope.is_none() || e.cluster == scope)
            .map(|e| ((e.namespace.clone(), e.pod.clone()), e))
            .collect();
        let mut pods = report(store, &query.clone().in_cluster(scope)).await?;
        let rows = std::mem::take(&mut pods.rows).into_iter().filter(|row| {
            request
                .namespace
                .as_deref()
                .is_none_or(|wanted| row.key.namespace.as_deref() == Some(wanted))
        });
        let (rows, notes) = regroup(rows, &directory, &request.labels, &request.grouping);
        unlabelled += notes.pods_without_entry;
        for row in rows {
            groups
                .entry(row.key.clone())
                .or_insert_with(|| AggregateRow {
                    key: row.key.clone(),
                    ..AggregateRow::default()
                })
                .absorb(&row);
        }
        first.get_or_insert(pods);
    }
    let mut out = first.unwrap_or(Report {
        rows: Vec::new(),
        range: query.range,
        widened: false,
        retention: RetentionState::default(),
        pods_without_labels: 0,
    });
    out.rows = groups.into_values().collect();
    out.pods_without_labels = unlabelled;
    Ok(out)
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
        pods_without_labels: 0,
    })
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
