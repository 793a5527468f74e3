//! The footprint repository: footprint rows written by window, aggregated in the database.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::aggregate::{AggregateRow, GroupBy, Period};
use crate::footprint::Footprint;
use crate::labels::PodLabels;
use crate::ports::pod_columns::PodColumnPage;
use crate::ports::records::PodRecord;
use crate::ports::retention::{MaintenanceSummary, RetentionPolicy, RetentionState};
use crate::ports::store_error::StoreError;
use crate::ports::time_range::TimeRange;

/// The largest page [`FootprintRepository::read_pod_rows`] returns; larger limits are clamped.
pub const MAX_PAGE_SIZE: usize = 10_000;

/// The page size a repository of `backend` reads when asked for `limit` rows: `limit` clamped to
/// [`MAX_PAGE_SIZE`]; a limit of 0 is `InvalidData`.
pub fn page_size(backend: &'static str, limit: usize) -> Result<usize, StoreError> {
    if limit == 0 {
        return Err(StoreError::invalid_data(
            backend,
            "page limit must be at least 1",
        ));
    }
    Ok(limit.min(MAX_PAGE_SIZE))
}

/// What one [`FootprintRepository::write_footprints`] call stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WriteSummary {
    /// Windows written (footprints in the batch).
    pub windows: usize,
    /// Pod rows written.
    pub pod_rows: usize,
    /// Node overhead rows written.
    pub node_rows: usize,
    /// Pod rows that were already stored for these windows and were replaced.
    pub replaced_pod_rows: usize,
}

/// An aggregation: which windows, of which cluster, grouped how, bucketed by which calendar
/// period.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReportQuery {
    /// Windows whose start is in this range.
    pub range: TimeRange,
    /// Grouping.
    pub group_by: GroupBy,
    /// Calendar period (UTC, by window start), or one row per group for the whole range.
    pub period: Option<Period>,
    /// Only the rows (pod and node) of this cluster; `None` reads every cluster. Rows written
    /// without a cluster name belong to no named cluster, so a filter never keeps them.
    pub cluster: Option<Arc<str>>,
}

impl ReportQuery {
    /// Groups the windows of `range` by `group_by`, over the whole range.
    pub fn new(range: TimeRange, group_by: GroupBy) -> Self {
        Self {
            range,
            group_by,
            period: None,
            cluster: None,
        }
    }

    /// Buckets by a calendar period too.
    pub fn with_period(mut self, period: Option<Period>) -> Self {
        self.period = period;
        self
    }

    /// Reads the rows of one cluster only (`None`: every cluster).
    pub fn in_cluster(mut self, cluster: Option<Arc<str>>) -> Self {
        self.cluster = cluster;
        self
    }

    /// Whether a row of `cluster` (`None`: written without a cluster name) is read.
    pub fn reads_cluster(&self, cluster: Option<&str>) -> bool {
        self.cluster
            .as_deref()
            .is_none_or(|wanted| cluster == Some(wanted))
    }
}

/// Where a page of pod rows ended: the key of its last row. Rows are ordered by
/// `(window_start, cluster, namespace, pod)`, names compared byte by byte, no cluster first.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PodCursor {
    window_start: DateTime<Utc>,
    cluster: Option<Arc<str>>,
    namespace: Arc<str>,
    pod: Arc<str>,
}

impl PodCursor {
    /// The cursor just after `row`.
    pub fn after(row: &PodRecord) -> Self {
        Self {
            window_start: row.window_start,
            cluster: row.cluster.clone(),
            namespace: row.namespace.clone(),
            pod: row.pod.clone(),
        }
    }

    /// The cursor just after the row with this key (`cluster` none for a footprint that names
    /// none), for a backend that reads keys without their rows.
    pub fn at(
        window_start: DateTime<Utc>,
        cluster: Option<Arc<str>>,
        namespace: Arc<str>,
        pod: Arc<str>,
    ) -> Self {
        Self {
            window_start,
            cluster,
            namespace,
            pod,
        }
    }

    /// Window start of the last row.
    pub fn window_start(&self) -> DateTime<Utc> {
        self.window_start
    }

    /// Cluster of the last row (`None` sorts first).
    pub fn cluster(&self) -> Option<&str> {
        self.cluster.as_deref()
    }

    /// Namespace of the last row.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// Pod of the last row.
    pub fn pod(&self) -> &str {
        &self.pod
    }
}

/// One page of pod rows.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PodPage {
    /// The rows, in key order.
    pub rows: Vec<PodRecord>,
    /// Where to continue, or `None` when no row is left in the range.
    pub next: Option<PodCursor>,
}

/// Footprint rows: one per pod and window (keyed by `(cluster, namespace, pod, window_start)`),
/// plus one overhead row per node and window, each with the methodology and data version that
/// produced it.
///
/// Implementations live in `greenkube-adapters` (`SQLite`, and later `PostgreSQL` and
/// Elasticsearch); `testsuite::fakes::InMemoryFootprintRepository` is the reference. The
/// contract suite (`testsuite::contract`) checks every rule below.
#[async_trait]
pub trait FootprintRepository: Send + Sync + fmt::Debug {
    /// Short name of the backend (`sqlite`, `memory`, ...), as used in errors.
    fn backend(&self) -> &'static str;

    /// Writes a batch of footprints, one window each.
    ///
    /// * A window is identified by `(cluster, window_start)`. Writing a window MUST replace
    ///   everything stored for it (its pod rows and node rows), so writing the same footprint
    ///   twice leaves exactly one row per pod, and a restated window leaves no stale pod.
    ///   Within a batch, a later footprint for the same window replaces an earlier one.
    /// * The batch MUST be all-or-nothing: if any window is invalid or the store fails midway,
    ///   nothing of the batch is visible and what was stored before is unchanged.
    /// * Rows MUST be checked with [`crate::ports::WindowRecords::validate`]; a bad row MUST
    ///   fail the batch with [`crate::ports::StoreErrorKind::InvalidData`], naming the window
    ///   and the row.
    /// * A store that cannot be reached MUST return
    ///   [`crate::ports::StoreErrorKind::Unavailable`]; retrying the same batch is safe.
    /// * A window that starts in sealed history ([`RetentionState::is_sealed`]) MUST fail the
    ///   batch with [`crate::ports::StoreErrorKind::Conflict`], naming the window and the cut.
    async fn write_footprints(&self, batch: &[Footprint]) -> Result<WriteSummary, StoreError>;

    /// Aggregates the stored rows in the store (never by loading them all).
    ///
    /// MUST return the same rows, in the same order, as [`crate::aggregate::aggregate`] over
    /// the stored footprints whose `window_start` is in `query.range` (half-open), grouped by
    /// `query.group_by` and bucketed by `query.period`: period labels from
    /// [`Period::label`] of the window start (ISO weeks with the ISO year), node and cluster
    /// groupings including node overhead rows, intervals summed bound by bound, `cost`
    /// summing known costs, `rows` counting pod rows. Sums may differ from an in-memory sum
    /// only by floating-point summation order; a cluster named `""` is stored, and grouped, as
    /// no cluster.
    ///
    /// Roll-ups MUST NOT change the answer: after [`Self::maintain`], the rows are the same
    /// as before, over [`RetentionState::effective_range`] of the query's range (a range that
    /// starts or ends in sealed history covers whole hours, or whole days). A report by hour
    /// that reaches days whose hourly detail is gone MUST fail with
    /// [`crate::ports::StoreErrorKind::InvalidData`] ([`crate::ports::HourlyDetailGone`]).
    async fn aggregate(&self, query: &ReportQuery) -> Result<Vec<AggregateRow>, StoreError>;

    /// Reads stored pod rows whose `window_start` is in `range`, a page at a time, in
    /// `(window_start, cluster, namespace, pod)` order, starting after `after`.
    ///
    /// MUST return at most `limit` rows (clamped to [`MAX_PAGE_SIZE`]) and a `next` cursor
    /// that is `None` exactly when no row is left; following the cursors MUST visit every row
    /// of the range once. `limit == 0` MUST fail with
    /// [`crate::ports::StoreErrorKind::InvalidData`].
    async fn read_pod_rows(
        &self,
        range: TimeRange,
        after: Option<&PodCursor>,
        limit: usize,
    ) -> Result<PodPage, StoreError>;

    /// The same page as [`Self::read_pod_rows`], by column (for readers that build tables).
    ///
    /// MUST hold exactly the rows, in the order, and return the `next` cursor that
    /// `read_pod_rows` returns for the same arguments. The default reads the rows and
    /// transposes them; a backend that can read its rows column by column overrides it.
    async fn read_pod_columns(
        &self,
        range: TimeRange,
        after: Option<&PodCursor>,
        limit: usize,
    ) -> Result<PodColumnPage, StoreError> {
        self.read_pod_rows(range, after, limit)
            .await
            .map(PodColumnPage::from)
    }

    /// Rolls up complete hours and days and applies `policy` as of `now` (see
    /// [`crate::ports::RetentionPolicy`] and [`crate::ports::ReadPlan`]).
    ///
    /// * Every hour that ends at or before `now` and holds rows written since it was last
    ///   rolled up MUST be rolled up (again), then every such day whose hours are all rolled up.
    /// * The retention state MUST then advance to `policy.cuts(now)` (never backwards): raw rows
    ///   before the raw cut, hourly roll-ups before the hourly cut and daily roll-ups before the
    ///   daily cut are deleted. Raw pages ([`Self::read_pod_rows`]) no longer see sealed rows.
    /// * Each step MUST be all-or-nothing, so an interrupted run leaves a consistent store and
    ///   the next run finishes the work; a second run at the same `now` does nothing.
    ///
    /// The default implementation reports that the backend does not support it.
    async fn maintain(
        &self,
        policy: &RetentionPolicy,
        now: DateTime<Utc>,
    ) -> Result<MaintenanceSummary, StoreError> {
        let _ = (policy, now);
        Err(StoreError::unsupported(
            self.backend(),
            "roll-ups and retention are not available on this backend",
        ))
    }

    /// The workload and latest labels of every pod with a stored window in `range` (of
    /// `cluster` only, when given), in `(cluster, namespace, pod)` order.
    ///
    /// * Every pod row written MUST leave one entry per `(cluster, namespace, pod)`, with
    ///   `first_window` and `last_window` the earliest and latest window starts written for it,
    ///   and its workload and labels from the latest of those windows (rewriting an older
    ///   window does not change them; a pod without labels has `None`).
    /// * An entry is returned when `first_window < range.end` and `last_window >=
    ///   range.start`; roll-ups and retention cuts do not remove entries.
    /// * `cluster` compares as in [`ReportQuery::cluster`]; rows written without a cluster
    ///   name are returned only when `cluster` is `None`.
    ///
    /// The default reports that the backend does not keep labels.
    async fn pod_labels(
        &self,
        range: TimeRange,
        cluster: Option<&str>,
    ) -> Result<Vec<PodLabels>, StoreError> {
        let _ = (range, cluster);
        Err(StoreError::unsupported(
            self.backend(),
            "pod labels are not kept by this backend",
        ))
    }

    /// Where history is sealed (nothing sealed by default).
    async fn retention_state(&self) -> Result<RetentionState, StoreError> {
        Ok(RetentionState::default())
    }
}

/// Walks the pod rows of a range page by page, holding one page in memory at a time.
///
/// ```
/// # async fn demo(repo: &dyn greenkube_core::ports::FootprintRepository,
/// #               range: greenkube_core::ports::TimeRange)
/// #               -> Result<(), greenkube_core::ports::StoreError> {
/// let mut pager = greenkube_core::ports::PodRowPager::new(repo, range, 1000);
/// while let Some(rows) = pager.next_page().await? {
///     for row in &rows {
///         let _ = row.energy_joules.point;
///     }
/// }
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct PodRowPager<'a> {
    repository: &'a dyn FootprintRepository,
    range: TimeRange,
    page_size: usize,
    cursor: Option<PodCursor>,
    done: bool,
}

impl<'a> PodRowPager<'a> {
    /// Pages of `page_size` rows (at least 1) over `range`.
    pub fn new(
        repository: &'a dyn FootprintRepository,
        range: TimeRange,
        page_size: usize,
    ) -> Self {
        Self {
            repository,
            range,
            page_size: page_size.max(1),
            cursor: None,
            done: false,
        }
    }

    /// The next page, or `None` when every row has been read.
    pub async fn next_page(&mut self) -> Result<Option<Vec<PodRecord>>, StoreError> {
        if self.done {
            return Ok(None);
        }
        let page = self
            .repository
            .read_pod_rows(self.range, self.cursor.as_ref(), self.page_size)
            .await?;
        self.done = page.next.is_none();
        self.cursor = page.next;
        if page.rows.is_empty() {
            self.done = true;
            return Ok(None);
        }
        Ok(Some(page.rows))
    }
}
