//! `maintain` for both SQL backends (see `greenkube_core::ports::RetentionPolicy`): complete
//! dirty hours are rolled up a day's worth per step, then complete dirty days without dirty
//! hours, then the cuts advance and what they seal is deleted, each step one transaction.
//!
//! What a step is differs ([`MaintenanceOps::begin_step`]): SQLite takes the write lock
//! (`BEGIN IMMEDIATE`); PostgreSQL locks the retention state `FOR UPDATE`, which writes hold
//! `FOR SHARE`, and rolls up only the buckets still dirty once it holds it. Either way a write
//! can land between two steps, into an hour an earlier step passed: the last step rolls up any
//! dirty hour (and day) before the cuts before it deletes their raw rows (hourly roll-ups), so
//! nothing written is ever lost.

use chrono::{DateTime, TimeDelta, Utc};
use greenkube_core::ports::{
    MaintenanceSummary, RetentionPolicy, RetentionState, StoreError, floor_time,
};
use sqlx::{Pool, Transaction};

use super::exec::{Bind as _, execute_in, fetch_all_in};
use super::rows::Columns;
use super::{Dialect, MaintenanceOps, sqlx_error};

/// Hours (or days) rolled up per step.
const BUCKETS_PER_STEP: usize = 24;

/// The width of a bucket of `level` (1 hourly, 2 daily).
fn width(level: i64) -> TimeDelta {
    if level == 1 {
        TimeDelta::hours(1)
    } else {
        TimeDelta::days(1)
    }
}

/// See `FootprintRepository::maintain`.
pub(crate) async fn maintain<D: MaintenanceOps>(
    pool: &Pool<D>,
    policy: &RetentionPolicy,
    now: DateTime<Utc>,
) -> Result<MaintenanceSummary, StoreError> {
    let mut summary = MaintenanceSummary::default();
    for level in [1, 2] {
        // An hour (day) is complete when it ends at or before `now`: it starts before the start
        // of `now`'s hour (day).
        let mut conn = pool
            .acquire()
            .await
            .map_err(|e| sqlx_error::<D>("starting maintenance", e))?;
        let ready = dirty_before::<D>(&mut conn, level, floor_time(now, width(level))).await?;
        drop(conn);
        for chunk in ready.chunks(BUCKETS_PER_STEP) {
            let (mut tx, _) = D::begin_step(pool).await?;
            let rolled = D::roll_ready(&mut tx, level, chunk).await;
            let rolled = end_step(tx, rolled).await?;
            if level == 1 {
                summary.hours_rolled += rolled;
            } else {
                summary.days_rolled += rolled;
            }
        }
    }
    let (mut tx, before) = D::begin_step(pool).await?;
    let sealed = seal::<D>(&mut tx, before, policy.cuts(now), &mut summary).await;
    summary.state = end_step(tx, sealed).await?;
    Ok(summary)
}

/// Commits a step that succeeded, rolls back one that failed (now, so its locks go at once).
async fn end_step<D: Dialect, T>(
    tx: Transaction<'static, D>,
    result: Result<T, StoreError>,
) -> Result<T, StoreError> {
    match result {
        Ok(value) => {
            tx.commit()
                .await
                .map_err(|e| sqlx_error::<D>("committing maintenance", e))?;
            Ok(value)
        }
        Err(e) => {
            let _ = tx.rollback().await;
            Err(e)
        }
    }
}

/// The dirty buckets of `level` starting before `before`, ready to roll up (days: without
/// dirty hours), in order.
pub(crate) async fn dirty_before<D: Dialect>(
    conn: &mut D::Connection,
    level: i64,
    before: DateTime<Utc>,
) -> Result<Vec<DateTime<Utc>>, StoreError> {
    let text = D::SQL.dirty_before[usize::from(level != 1)];
    let query = sqlx::query::<D>(text).bound(before);
    fetch_all_in(conn, query, "finding buckets to roll up")
        .await?
        .iter()
        .map(|row| Columns::<D>::new(row).time())
        .collect()
}

/// Inside the last step: advances the cuts, rolls up what was written since the roll-up steps
/// before them, and deletes what they seal. Returns the new state.
async fn seal<D: MaintenanceOps>(
    conn: &mut D::Connection,
    before: RetentionState,
    cuts: RetentionState,
    summary: &mut MaintenanceSummary,
) -> Result<RetentionState, StoreError> {
    let after = before.advance(cuts);
    // Hours before the raw cut are complete, as are days before the hourly cut, whose hours
    // are all before the raw cut.
    for (level, cut) in [(1, after.raw_before), (2, after.hourly_before)] {
        let Some(cut) = cut else {
            continue;
        };
        for start in dirty_before::<D>(conn, level, cut).await? {
            roll::<D>(conn, level, start).await?;
            if level == 1 {
                summary.hours_rolled += 1;
            } else {
                summary.days_rolled += 1;
            }
        }
    }
    apply_cuts::<D>(conn, before, after, summary).await?;
    Ok(after)
}

/// Inside a maintenance step: deletes what the cuts `after` seal and `before` did not (raw
/// rows, then hourly and daily roll-ups and their marks) and records `after`.
async fn apply_cuts<D: Dialect>(
    conn: &mut D::Connection,
    before: RetentionState,
    after: RetentionState,
    summary: &mut MaintenanceSummary,
) -> Result<(), StoreError> {
    const DOING: &str = "applying retention";
    let us = D::TIME_SUFFIX;
    if after.raw_before != before.raw_before
        && let Some(cut) = after.raw_before
    {
        for table in ["pod_footprints", "node_footprints"] {
            let text = format!("DELETE FROM {table} WHERE window_start{us} < $1");
            let query = sqlx::query::<D>(&text).bound(cut);
            summary.raw_rows_deleted += execute_in(conn, query, DOING).await?;
        }
    }
    for (level, from, to) in [
        (1_i64, before.hourly_before, after.hourly_before),
        (2, before.daily_before, after.daily_before),
    ] {
        let Some(cut) = to.filter(|_| to != from) else {
            continue;
        };
        for table in ["pod_rollups", "node_rollups", "rolled_buckets"] {
            let text = format!("DELETE FROM {table} WHERE level = $1 AND bucket{us} < $2");
            let query = sqlx::query::<D>(&text).arg(level).bound(cut);
            let deleted = execute_in(conn, query, DOING).await?;
            match (table, level) {
                ("rolled_buckets", _) => {}
                (_, 1) => summary.hourly_rows_deleted += deleted,
                _ => summary.daily_rows_deleted += deleted,
            }
        }
    }
    if after != before {
        let text = format!(
            "UPDATE retention_state SET raw_before{us} = $1, hourly_before{us} = $2, \
             daily_before{us} = $3 WHERE id = 1"
        );
        let query = sqlx::query::<D>(&text)
            .opt_time(after.raw_before)
            .opt_time(after.hourly_before)
            .opt_time(after.daily_before);
        execute_in(conn, query, DOING).await?;
    }
    Ok(())
}

/// Inside a maintenance step: replaces the roll-ups of the bucket of `level` (1 hourly, 2
/// daily) starting at `start` with what the backend's roll-up statements sum, and marks it
/// rolled up and no longer dirty.
pub(crate) async fn roll<D: MaintenanceOps>(
    conn: &mut D::Connection,
    level: i64,
    start: DateTime<Utc>,
) -> Result<(), StoreError> {
    const DOING: &str = "rolling up footprints";
    let us = D::TIME_SUFFIX;
    let end = start
        .checked_add_signed(width(level))
        .unwrap_or(DateTime::<Utc>::MAX_UTC);
    let clear = ["pod_rollups", "node_rollups"]
        .map(|table| format!("DELETE FROM {table} WHERE level = $1 AND bucket{us} = $2"));
    for text in &clear {
        let query = sqlx::query::<D>(text).arg(level).time(start);
        execute_in(&mut *conn, query, DOING).await?;
    }
    for text in &D::roll_statements(level) {
        let query = sqlx::query::<D>(text).time(start).time(end);
        execute_in(&mut *conn, query, DOING).await?;
    }
    let mark = [
        format!(
            "INSERT INTO rolled_buckets (level, bucket{us}) VALUES ($1, $2) ON CONFLICT DO NOTHING"
        ),
        format!("DELETE FROM dirty_buckets WHERE level = $1 AND bucket{us} = $2"),
    ];
    for text in &mark {
        let query = sqlx::query::<D>(text).arg(level).time(start);
        execute_in(&mut *conn, query, DOING).await?;
    }
    Ok(())
}

#[cfg(all(test, feature = "sqlite"))]
mod tests {
    use super::*;
    use crate::store::OpenOptions;
    use crate::store::sqlite::SqliteStore;
    use greenkube_core::ports::{FootprintRepository, ReportQuery, TimeRange};
    use greenkube_core::testsuite::fixtures::{at, footprint, methodology};
    use greenkube_core::{GroupBy, Methodology};
    use sqlx::Sqlite;

    /// A write that lands after the roll-up steps, into an hour the new raw cut seals: the last
    /// step rolls it up before it deletes the raw rows.
    #[tokio::test]
    async fn the_last_step_rolls_up_what_the_cuts_would_lose() {
        let (store, _) = SqliteStore::open("sqlite::memory:", OpenOptions::default())
            .await
            .expect("opens");
        let m = methodology(Methodology::Full, "gkdata-0123456789ab");
        let fp = footprint(Some("a"), at(2025, 6, 2, 10, 5), 3, &m);
        store.write_footprints(&[fp]).await.expect("writes");
        let range = TimeRange::new(at(2025, 6, 1, 0, 0), at(2025, 6, 4, 0, 0)).expect("range");
        let query = ReportQuery::new(range, GroupBy::Namespace);
        let want = store.aggregate(&query).await.expect("reads");
        assert!(!want.is_empty());

        let (mut tx, before) = Sqlite::begin_step(store.pool()).await.expect("begins");
        let cuts = RetentionState {
            raw_before: Some(at(2025, 6, 3, 0, 0)),
            ..RetentionState::default()
        };
        let mut summary = MaintenanceSummary::default();
        seal::<Sqlite>(&mut tx, before, cuts, &mut summary)
            .await
            .expect("seals");
        tx.commit().await.expect("commits");
        assert_eq!(summary.hours_rolled, 1, "{summary:?}");
        assert!(summary.raw_rows_deleted > 0, "{summary:?}");
        assert_eq!(store.aggregate(&query).await.expect("reads"), want);
    }
}
