//! What a dashboard shows: totals, time series, namespaces and top pods over a range, each
//! figure with its interval. The database aggregates (roll-ups for sealed history); nothing
//! here reads raw rows one by one.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Datelike, TimeDelta, TimeZone, Utc};
use greenkube_core::ports::{PodRecord, ReportQuery, TimeRange};
use greenkube_core::{AggregateRow, GroupBy, Period, Ranged};

use super::AppError;
use crate::store::Store;

/// Sums of pod rows, each emission and energy figure with its interval.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Totals {
    /// Energy, joules.
    pub energy_joules: Ranged,
    /// Operational (Scope 2) emissions, grams.
    pub co2e_grams: Ranged,
    /// Embodied (Scope 3) emissions, grams.
    pub embodied_co2e_grams: Ranged,
    /// Sum of the known costs.
    pub cost: f64,
    /// Pod rows summed.
    pub rows: usize,
    /// Pod rows whose figures were estimated (a fallback was used).
    pub estimated_rows: usize,
    /// Pod rows without cost data (not counted in `cost`).
    pub rows_without_cost: usize,
}

impl Totals {
    /// Adds one aggregate row.
    pub fn add(&mut self, row: &AggregateRow) {
        self.energy_joules += row.energy_joules;
        self.co2e_grams += row.co2e_grams;
        self.embodied_co2e_grams += row.embodied_co2e_grams;
        self.cost += row.cost.0;
        self.rows += row.rows;
        self.estimated_rows += row.estimated_rows;
        self.rows_without_cost += row.rows_without_cost;
    }

    /// Adds other totals.
    pub fn merge(&mut self, other: &Totals) {
        self.energy_joules += other.energy_joules;
        self.co2e_grams += other.co2e_grams;
        self.embodied_co2e_grams += other.embodied_co2e_grams;
        self.cost += other.cost;
        self.rows += other.rows;
        self.estimated_rows += other.estimated_rows;
        self.rows_without_cost += other.rows_without_cost;
    }

    /// Operational plus embodied emissions.
    pub fn total_co2e_grams(&self) -> Ranged {
        self.co2e_grams + self.embodied_co2e_grams
    }

    /// The totals of rows.
    pub fn of<'a>(rows: impl IntoIterator<Item = &'a AggregateRow>) -> Self {
        let mut totals = Self::default();
        for row in rows {
            totals.add(row);
        }
        totals
    }
}

/// Which rows a dashboard read covers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    /// One cluster, or all of them (the store filters, so groups that span clusters, such as
    /// a namespace, count this cluster's rows only).
    pub cluster: Option<String>,
    /// One namespace, or all of them.
    pub namespace: Option<String>,
}

impl Scope {
    /// The scope of one namespace (`None`: all), in every cluster.
    pub fn namespace(namespace: Option<String>) -> Self {
        Self {
            cluster: None,
            namespace,
        }
    }

    /// The same scope in one cluster (`None`: every cluster).
    pub fn in_cluster(mut self, cluster: Option<String>) -> Self {
        self.cluster = cluster;
        self
    }

    /// The store query of `range` grouped by `group_by`, in the scope's cluster.
    pub fn query(&self, range: TimeRange, group_by: GroupBy) -> ReportQuery {
        ReportQuery::new(range, group_by).in_cluster(self.cluster.as_deref().map(Arc::from))
    }

    /// Whether something of `cluster` and `namespace` belongs to the scope.
    pub fn keeps_names(&self, cluster: Option<&str>, namespace: Option<&str>) -> bool {
        self.cluster
            .as_deref()
            .is_none_or(|wanted| cluster == Some(wanted))
            && self
                .namespace
                .as_deref()
                .is_none_or(|wanted| namespace == Some(wanted))
    }

    /// Whether a row the store returned for [`Scope::query`] belongs to the scope (the store
    /// kept the cluster already; groupings other than by cluster have no cluster key).
    pub fn keeps(&self, row: &AggregateRow) -> bool {
        self.namespace
            .as_deref()
            .is_none_or(|wanted| row.key.namespace.as_deref() == Some(wanted))
    }

    /// Whether a stored pod row belongs to the scope (its cluster and namespace).
    pub fn keeps_pod_row(&self, row: &PodRecord) -> bool {
        self.keeps_names(row.cluster.as_deref(), Some(&row.namespace))
    }
}

/// Totals of a range.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    /// The range.
    pub range: TimeRange,
    /// Sums over the pods of the scope.
    pub totals: Totals,
    /// Distinct pods.
    pub pod_count: usize,
    /// Distinct namespaces.
    pub namespace_count: usize,
}

/// Totals of `range` for the pods of `scope`.
pub async fn summary(store: &Store, range: TimeRange, scope: &Scope) -> Result<Summary, AppError> {
    let rows = store
        .footprints
        .aggregate(&scope.query(range, GroupBy::Pod))
        .await?;
    let kept: Vec<&AggregateRow> = rows.iter().filter(|r| scope.keeps(r)).collect();
    let namespaces: std::collections::BTreeSet<&str> = kept
        .iter()
        .filter_map(|r| r.key.namespace.as_deref())
        .collect();
    Ok(Summary {
        range,
        totals: Totals::of(kept.iter().copied()),
        pod_count: kept.len(),
        namespace_count: namespaces.len(),
    })
}

/// One bucket of a time series.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    /// Start of the bucket (UTC).
    pub bucket: DateTime<Utc>,
    /// Sums over the bucket.
    pub totals: Totals,
    /// Namespaces with rows in the bucket.
    pub namespace_count: usize,
}

/// The totals of `range` bucketed by `period` (oldest first), for the pods of `scope`.
pub async fn timeseries(
    store: &Store,
    range: TimeRange,
    period: Period,
    scope: &Scope,
) -> Result<Vec<Point>, AppError> {
    let rows = store
        .footprints
        .aggregate(
            &scope
                .query(range, GroupBy::Namespace)
                .with_period(Some(period)),
        )
        .await?;
    let mut buckets: BTreeMap<DateTime<Utc>, Point> = BTreeMap::new();
    for row in rows.iter().filter(|r| scope.keeps(r)) {
        let Some(bucket) = row
            .key
            .period
            .as_deref()
            .and_then(|label| period.start_of(label))
        else {
            return Err(AppError::Invalid(format!(
                "the store returned a bucket `{:?}` that is not a {} label",
                row.key.period,
                period.name()
            )));
        };
        let point = buckets.entry(bucket).or_insert_with(|| Point {
            bucket,
            totals: Totals::default(),
            namespace_count: 0,
        });
        point.totals.add(row);
        point.namespace_count += 1;
    }
    Ok(buckets.into_values().collect())
}

/// Totals of one group.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    /// Namespace.
    pub namespace: Option<String>,
    /// Pod (pod groups).
    pub pod: Option<String>,
    /// Sums.
    pub totals: Totals,
}

fn group(row: &AggregateRow) -> Group {
    Group {
        namespace: row.key.namespace.as_deref().map(str::to_string),
        pod: row.key.pod.as_deref().map(str::to_string),
        totals: Totals::of([row]),
    }
}

fn by_co2e_desc(a: &Group, b: &Group) -> std::cmp::Ordering {
    b.totals
        .co2e_grams
        .point
        .total_cmp(&a.totals.co2e_grams.point)
        .then_with(|| a.namespace.cmp(&b.namespace))
        .then_with(|| a.pod.cmp(&b.pod))
}

/// Totals per group (namespace or pod) of `range`, most operational CO2e first.
async fn groups_by(
    store: &Store,
    range: TimeRange,
    scope: &Scope,
    group_by: GroupBy,
) -> Result<Vec<Group>, AppError> {
    let rows = store
        .footprints
        .aggregate(&scope.query(range, group_by))
        .await?;
    let mut groups: Vec<Group> = rows.iter().filter(|r| scope.keeps(r)).map(group).collect();
    groups.sort_by(by_co2e_desc);
    Ok(groups)
}

/// Totals per namespace of `range`, most operational CO2e first.
pub async fn by_namespace(
    store: &Store,
    range: TimeRange,
    scope: &Scope,
) -> Result<Vec<Group>, AppError> {
    groups_by(store, range, scope, GroupBy::Namespace).await
}

/// Totals per pod of `range`, most operational CO2e first.
pub async fn by_pod(
    store: &Store,
    range: TimeRange,
    scope: &Scope,
) -> Result<Vec<Group>, AppError> {
    groups_by(store, range, scope, GroupBy::Pod).await
}

/// The `limit` pods of `range` with the most operational CO2e.
pub async fn top_pods(
    store: &Store,
    range: TimeRange,
    scope: &Scope,
    limit: usize,
) -> Result<Vec<Group>, AppError> {
    let mut groups = by_pod(store, range, scope).await?;
    groups.truncate(limit);
    Ok(groups)
}

/// The summary of `range` for the pods of `scope` and
/// for each of their namespaces, from one read.
pub async fn summaries(
    store: &Store,
    range: TimeRange,
    scope: &Scope,
) -> Result<(Summary, BTreeMap<String, Summary>), AppError> {
    let pods = by_pod(store, range, scope).await?;
    let mut all = Summary {
        range,
        totals: Totals::default(),
        pod_count: 0,
        namespace_count: 0,
    };
    let mut namespaces: BTreeMap<String, Summary> = BTreeMap::new();
    for pod in &pods {
        let name = pod.namespace.clone().unwrap_or_default();
        let one = namespaces.entry(name).or_insert_with(|| Summary {
            range,
            totals: Totals::default(),
            pod_count: 0,
            namespace_count: 1,
        });
        for summary in [&mut all, one] {
            summary.pod_count += 1;
            summary.totals.merge(&pod.totals);
        }
    }
    all.namespace_count = namespaces.len();
    Ok((all, namespaces))
}

/// Namespaces with rows in `range` (in the cluster of `scope`, every cluster when it names
/// none), sorted.
pub async fn namespaces(
    store: &Store,
    range: TimeRange,
    scope: &Scope,
) -> Result<Vec<String>, AppError> {
    let rows = store
        .footprints
        .aggregate(&scope.query(range, GroupBy::Namespace))
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| r.key.namespace.as_deref().map(str::to_string))
        .collect())
}

/// Calendar years with rows, newest first.
pub async fn years(store: &Store, now: DateTime<Utc>, scope: &Scope) -> Result<Vec<i32>, AppError> {
    let from = Utc
        .with_ymd_and_hms(1970, 1, 1, 0, 0, 0)
        .single()
        .unwrap_or(DateTime::<Utc>::MIN_UTC);
    let range = TimeRange::new(from, now + TimeDelta::days(1))
        .map_err(|e| AppError::Invalid(format!("invalid range: {e}")))?;
    let rows = store
        .footprints
        .aggregate(
            &scope
                .query(range, GroupBy::Namespace)
                .with_period(Some(Period::Year)),
        )
        .await?;
    let mut years: Vec<i32> = rows
        .iter()
        .filter(|r| scope.keeps(r))
        .filter_map(|r| r.key.period.as_deref()?.parse().ok())
        .collect();
    years.sort_unstable_by(|a, b| b.cmp(a));
    years.dedup();
    Ok(years)
}

/// The windows a dashboard offers, with GreenKube's slugs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Window {
    /// The last hour, by hour.
    Hour,
    /// The last 6 hours, by hour.
    SixHours,
    /// The last 24 hours, by hour.
    Day,
    /// The last 7 days, by day.
    Week,
    /// The last 30 days, by day.
    Month,
    /// The last 365 days, by week.
    Year,
    /// Since 1 January (UTC), by month.
    YearToDate,
}

impl Window {
    /// Every window, shortest first.
    pub const ALL: [Self; 7] = [
        Self::Hour,
        Self::SixHours,
        Self::Day,
        Self::Week,
        Self::Month,
        Self::Year,
        Self::YearToDate,
    ];

    /// GreenKube's slug (`1h`, `6h`, `24h`, `7d`, `30d`, `1y`, `ytd`).
    pub const fn slug(self) -> &'static str {
        match self {
            Self::Hour => "1h",
            Self::SixHours => "6h",
            Self::Day => "24h",
            Self::Week => "7d",
            Self::Month => "30d",
            Self::Year => "1y",
            Self::YearToDate => "ytd",
        }
    }

    /// The window a slug names.
    pub fn from_slug(slug: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|w| w.slug() == slug)
    }

    /// The window's length in seconds, for `ytd` none (GreenKube's second-based aliases).
    pub const fn seconds(self) -> Option<i64> {
        match self {
            Self::Hour => Some(3_600),
            Self::SixHours => Some(21_600),
            Self::Day => Some(86_400),
            Self::Week => Some(604_800),
            Self::Month => Some(2_592_000),
            Self::Year => Some(31_536_000),
            Self::YearToDate => None,
        }
    }

    /// The buckets of its time series.
    pub const fn granularity(self) -> Period {
        match self {
            Self::Hour | Self::SixHours | Self::Day => Period::Hour,
            Self::Week | Self::Month => Period::Day,
            Self::Year => Period::Week,
            Self::YearToDate => Period::Month,
        }
    }

    /// The range of the window ending at `now`.
    pub fn range(self, now: DateTime<Utc>) -> TimeRange {
        let from = match self.seconds() {
            Some(seconds) => now - TimeDelta::seconds(seconds),
            None => Utc
                .with_ymd_and_hms(now.year(), 1, 1, 0, 0, 0)
                .single()
                .unwrap_or(now),
        };
        TimeRange::new(from, now).unwrap_or_else(|_| {
            TimeRange::new(now - TimeDelta::seconds(1), now).expect("a second before now")
        })
    }
}

/// Clusters with rows in `range` (`None` for rows written without a cluster name), sorted.
pub async fn clusters(store: &Store, range: TimeRange) -> Result<Vec<Option<String>>, AppError> {
    let rows = store
        .footprints
        .aggregate(&ReportQuery::new(range, GroupBy::Cluster))
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| r.key.cluster.as_deref().map(str::to_string))
        .collect())
}
