//! [`FootprintRepository`] for both SQL backends: the writes and the report statements are the
//! backend's ([`FootprintOps`]); decoding, paging, the read plan, the retention state and the
//! steps of `maintain` (`super::maintain`) are shared.

use std::collections::BTreeSet;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use greenkube_core::ports::{
    FootprintRepository, MaintenanceSummary, PodColumnPage, PodCursor, PodPage, ReadPlan,
    ReportQuery, RetentionPolicy, RetentionState, StoreError, TimeRange, WindowRecords,
    WriteSummary, page_size,
};
use greenkube_core::{AggregateRow, Footprint, Period, PodLabels};

use super::error::sqlx_error;
use super::exec::{Bind as _, fetch_all, fetch_all_in};
use super::maintain::maintain;
use super::rows::{Columns, aggregate_from_row, pod_from_row, retention_from_row};
use super::schema::{Plan, select_pods};
use super::{Dialect, FootprintOps, SqlStore};

#[async_trait]
impl<D: FootprintOps> FootprintRepository for SqlStore<D> {
    fn backend(&self) -> &'static str {
        D::BACKEND
    }

    async fn write_footprints(&self, batch: &[Footprint]) -> Result<WriteSummary, StoreError> {
        D::write_footprints(&self.pool, batch).await
    }

    async fn aggregate(&self, query: &ReportQuery) -> Result<Vec<AggregateRow>, StoreError> {
        let rows = D::aggregate_rows(&self.pool, query).await?;
        let mut out = rows
            .iter()
            .map(|row| aggregate_from_row::<D>(row, query.period))
            .collect::<Result<Vec<_>, _>>()?;
        // Sorted here, byte by byte, whatever the database's collation.
        out.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(out)
    }

    async fn read_pod_rows(
        &self,
        range: TimeRange,
        after: Option<&PodCursor>,
        limit: usize,
    ) -> Result<PodPage, StoreError> {
        let limit = page_size(D::BACKEND, limit)?;
        // One more row than asked tells whether a next page exists.
        let fetch = i64::try_from(limit + 1).unwrap_or(i64::MAX);
        let text = select_pods(D::PAGE_SQL, after.is_some());
        let mut query = sqlx::query(&text)
            .bound(page_start(range, after))
            .bound(range.to());
        if let Some(c) = after {
            query = query
                .time(c.window_start())
                .arg(c.cluster().unwrap_or("").to_string())
                .arg(c.namespace().to_string())
                .arg(c.pod().to_string());
        }
        let rows = fetch_all(&self.pool, query.arg(fetch), "reading pod rows").await?;
        let mut records = rows
            .iter()
            .map(pod_from_row::<D>)
            .collect::<Result<Vec<_>, _>>()?;
        let next = if records.len() > limit {
            records.truncate(limit);
            records.last().map(PodCursor::after)
        } else {
            None
        };
        Ok(PodPage {
            rows: records,
            next,
        })
    }

    async fn read_pod_columns(
        &self,
        range: TimeRange,
        after: Option<&PodCursor>,
        limit: usize,
    ) -> Result<PodColumnPage, StoreError> {
        if let Some(page) = D::read_pod_columns(&self.pool, range, after, limit).await? {
            return Ok(page);
        }
        self.read_pod_rows(range, after, limit)
            .await
            .map(PodColumnPage::from)
    }

    async fn maintain(
        &self,
        policy: &RetentionPolicy,
        now: DateTime<Utc>,
    ) -> Result<MaintenanceSummary, StoreError> {
        maintain::<D>(&self.pool, policy, now).await
    }

    async fn pod_labels(
        &self,
        range: TimeRange,
        cluster: Option<&str>,
    ) -> Result<Vec<PodLabels>, StoreError> {
        super::labels::read_labels(self, range, cluster).await
    }

    async fn retention_state(&self) -> Result<RetentionState, StoreError> {
        let mut conn = self
            .pool
            .acquire()
            .await
            .map_err(|e| sqlx_error::<D>("reading the retention state", e))?;
        retention_in::<D>(&mut conn).await
    }
}

/// The lower bound of a page's window starts: the range's start, or the cursor's window when
/// it is later. The rows after the cursor all start at or after its window, and with this bound
/// the database seeks straight to it: given the range's start instead (with the cursor only in
/// the row-value condition), SQLite scans the index from the range's start on every page, so
/// reading a long history page by page grew with the square of its length.
pub(crate) fn page_start(range: TimeRange, after: Option<&PodCursor>) -> DateTime<Utc> {
    after.map_or(range.from(), |c| c.window_start().max(range.from()))
}

/// The rows of one footprint of a write, checked. Check inside the write's transaction: a bad
/// window then rolls back the ones before it.
pub(crate) fn window_of<D: Dialect>(fp: &Footprint) -> Result<WindowRecords, StoreError> {
    let w = WindowRecords::from_footprint(fp);
    w.validate()
        .map_err(|e| StoreError::invalid_data(D::BACKEND, e.to_string()))?;
    Ok(w)
}

/// Counts a written window, which replaced `replaced` stored pod rows.
pub(crate) fn count_window(summary: &mut WriteSummary, w: &WindowRecords, replaced: u64) {
    summary.windows += 1;
    summary.pod_rows += w.pods.len();
    summary.node_rows += w.nodes.len();
    summary.replaced_pod_rows += usize::try_from(replaced).unwrap_or(usize::MAX);
}

/// The retention state, read on `conn` (in a transaction when it must not change).
pub(crate) async fn retention_in<D: Dialect>(
    conn: &mut D::Connection,
) -> Result<RetentionState, StoreError> {
    let query = sqlx::query::<D>(D::SQL.retention_state);
    let rows = fetch_all_in(conn, query, "reading the retention state").await?;
    let row = rows
        .first()
        .ok_or_else(|| StoreError::invalid_data(D::BACKEND, "no retention state"))?;
    retention_from_row::<D>(row)
}

/// Plans a read of `range` from the retention state and the rolled-up buckets, each bound
/// converted by `bound`. Call in one snapshot of the store (a transaction that also reads the
/// rows the plan names).
pub(crate) async fn plan<D: Dialect, T>(
    conn: &mut D::Connection,
    range: TimeRange,
    period: Option<Period>,
    bound: impl Fn(DateTime<Utc>) -> T,
) -> Result<Plan<T>, StoreError> {
    let retention = retention_in::<D>(conn).await?;
    let eff = retention.effective_range(range);
    let query = sqlx::query::<D>(D::SQL.rolled_buckets)
        .bound(eff.from())
        .bound(eff.to());
    let mut hours = BTreeSet::new();
    let mut days = BTreeSet::new();
    for row in fetch_all_in(conn, query, "planning a read").await? {
        let mut c = Columns::<D>::new(&row);
        let level: i64 = c.get()?;
        let start = c.time()?;
        if level == 1 {
            hours.insert(start);
        } else {
            days.insert(start);
        }
    }
    let plan = ReadPlan::new(range, period, &retention, &hours, &days)
        .map_err(|e| StoreError::invalid_data(D::BACKEND, e.to_string()))?;
    let bounds = |ranges: &[TimeRange]| -> Vec<(T, T)> {
        ranges
            .iter()
            .map(|r| (bound(r.from()), bound(r.to())))
            .collect()
    };
    Ok(Plan {
        raw: bounds(&plan.raw),
        hourly: bounds(&plan.hourly),
        daily: bounds(&plan.daily),
    })
}
