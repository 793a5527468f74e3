//! Roll-ups and retention in SQLite (see `greenkube_core::ports::RetentionPolicy`).
//!
//! A write marks its hour and day dirty (and no longer rolled up) in its own transaction.
//! `maintain` rolls up complete dirty hours a day's worth at a time, then complete dirty days
//! without dirty hours, then applies the cuts; every step is one `BEGIN IMMEDIATE`
//! transaction, so an interrupted run leaves a consistent store and the next one finishes.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use greenkube_core::Period;
use greenkube_core::ports::{
    MaintenanceSummary, ReadPlan, RetentionPolicy, RetentionState, StoreError, TimeRange,
    WindowRecords,
};
use sqlx::{Row, SqliteConnection, SqlitePool};

use super::BACKEND;
use super::error::convert_sqlx_err;
use super::model::{instant, micros, micros_ceil};
use super::sql::{MICROS_PER_DAY, MICROS_PER_HOUR, PlanMicros};

/// Hours rolled up per transaction.
const HOURS_PER_TRANSACTION: usize = 24;

fn opt_instant(us: Option<i64>) -> Result<Option<DateTime<Utc>>, StoreError> {
    us.map(instant).transpose()
}

/// The retention state, read on `conn` (inside a transaction when it must not change).
pub(super) async fn state(conn: &mut SqliteConnection) -> Result<RetentionState, StoreError> {
    let row = sqlx::query(
        "SELECT raw_before_us, hourly_before_us, daily_before_us FROM retention_state WHERE id = 1",
    )
    .fetch_one(&mut *conn)
    .await
    .map_err(|e| convert_sqlx_err("reading the retention state", e))?;
    let get = |i: usize| -> Result<Option<i64>, StoreError> {
        row.try_get(i)
            .map_err(|e| convert_sqlx_err("reading the retention state", e))
    };
    Ok(RetentionState {
        raw_before: opt_instant(get(0)?)?,
        hourly_before: opt_instant(get(1)?)?,
        daily_before: opt_instant(get(2)?)?,
    })
}

/// Inside a write: refuses a sealed window, marks its hour and day dirty.
pub(super) async fn before_window(
    conn: &mut SqliteConnection,
    retention: &RetentionState,
    w: &WindowRecords,
) -> Result<(), StoreError> {
    retention.check_writable(BACKEND, w)?;
    let start = micros(w.window_start);
    let hour = start - start.rem_euclid(MICROS_PER_HOUR);
    let day = start - start.rem_euclid(MICROS_PER_DAY);
    sqlx::query(
        "INSERT OR IGNORE INTO dirty_buckets (level, bucket_us) VALUES (1, ?1), (2, ?2); \
         DELETE FROM rolled_buckets WHERE (level = 1 AND bucket_us = ?1) \
         OR (level = 2 AND bucket_us = ?2);",
    )
    .bind(hour)
    .bind(day)
    .execute(&mut *conn)
    .await
    .map_err(|e| convert_sqlx_err("marking a window for roll-up", e))?;
    Ok(())
}

const ROLL_HOUR_PODS: &str = "INSERT INTO pod_rollups SELECT 1, ?1, cluster, namespace, pod, \
    workload_kind, workload, node, MIN(window_start_us), MAX(window_end_us), \
    TOTAL(energy_joules), TOTAL(energy_joules_low), TOTAL(energy_joules_high), \
    TOTAL(co2e_grams), TOTAL(co2e_grams_low), TOTAL(co2e_grams_high), \
    TOTAL(embodied_co2e_grams), TOTAL(embodied_co2e_grams_low), TOTAL(embodied_co2e_grams_high), \
    TOTAL(cost), COUNT(*), SUM(estimated), SUM(cost IS NULL) FROM pod_footprints \
    WHERE window_start_us >= ?1 AND window_start_us < ?2 \
    GROUP BY cluster, namespace, pod, workload_kind, workload, node";

const ROLL_HOUR_NODES: &str = "INSERT INTO node_rollups SELECT 1, ?1, cluster, node, \
    MIN(window_start_us), MAX(window_end_us), \
    TOTAL(overhead_energy_joules), TOTAL(overhead_energy_joules_low), \
    TOTAL(overhead_energy_joules_high), TOTAL(overhead_co2e_grams), \
    TOTAL(overhead_co2e_grams_low), TOTAL(overhead_co2e_grams_high), \
    TOTAL(unallocated_embodied_co2e_grams), TOTAL(unallocated_embodied_co2e_grams_low), \
    TOTAL(unallocated_embodied_co2e_grams_high) FROM node_footprints \
    WHERE window_start_us >= ?1 AND window_start_us < ?2 GROUP BY cluster, node";

const ROLL_DAY_PODS: &str = "INSERT INTO pod_rollups SELECT 2, ?1, cluster, namespace, pod, \
    workload_kind, workload, node, MIN(first_window_us), MAX(last_window_end_us), \
    TOTAL(energy_joules), TOTAL(energy_joules_low), TOTAL(energy_joules_high), \
    TOTAL(co2e_grams), TOTAL(co2e_grams_low), TOTAL(co2e_grams_high), \
    TOTAL(embodied_co2e_grams), TOTAL(embodied_co2e_grams_low), TOTAL(embodied_co2e_grams_high), \
    TOTAL(cost), SUM(rows), SUM(estimated_rows), SUM(no_cost_rows) FROM pod_rollups \
    WHERE level = 1 AND bucket_us >= ?1 AND bucket_us < ?2 \
    GROUP BY cluster, namespace, pod, workload_kind, workload, node";

const ROLL_DAY_NODES: &str = "INSERT INTO node_rollups SELECT 2, ?1, cluster, node, \
    MIN(first_window_us), MAX(last_window_end_us), \
    TOTAL(energy_joules), TOTAL(energy_joules_low), TOTAL(energy_joules_high), \
    TOTAL(co2e_grams), TOTAL(co2e_grams_low), TOTAL(co2e_grams_high), \
    TOTAL(embodied_co2e_grams), TOTAL(embodied_co2e_grams_low), TOTAL(embodied_co2e_grams_high) \
    FROM node_rollups WHERE level = 1 AND bucket_us >= ?1 AND bucket_us < ?2 \
    GROUP BY cluster, node";

/// Replaces the roll-up of one bucket and marks it current.
async fn roll(
    conn: &mut SqliteConnection,
    level: i64,
    start: i64,
    width: i64,
) -> Result<(), StoreError> {
    let (pods, nodes) = if level == 1 {
        (ROLL_HOUR_PODS, ROLL_HOUR_NODES)
    } else {
        (ROLL_DAY_PODS, ROLL_DAY_NODES)
    };
    let err = |e| convert_sqlx_err("rolling up footprints", e);
    sqlx::query("DELETE FROM pod_rollups WHERE level = ?1 AND bucket_us = ?2")
        .bind(level)
        .bind(start)
        .execute(&mut *conn)
        .await
        .map_err(err)?;
    sqlx::query("DELETE FROM node_rollups WHERE level = ?1 AND bucket_us = ?2")
        .bind(level)
        .bind(start)
        .execute(&mut *conn)
        .await
        .map_err(err)?;
    for text in [pods, nodes] {
        sqlx::query(text)
            .bind(start)
            .bind(start + width)
            .execute(&mut *conn)
            .await
            .map_err(err)?;
    }
    sqlx::query(
        "INSERT OR IGNORE INTO rolled_buckets (level, bucket_us) VALUES (?1, ?2); \
         DELETE FROM dirty_buckets WHERE level = ?1 AND bucket_us = ?2;",
    )
    .bind(level)
    .bind(start)
    .execute(&mut *conn)
    .await
    .map_err(err)?;
    Ok(())
}

/// See `FootprintRepository::maintain`.
pub(super) async fn maintain(
    pool: &SqlitePool,
    policy: &RetentionPolicy,
    now: DateTime<Utc>,
) -> Result<MaintenanceSummary, StoreError> {
    let now_us = micros(now);
    let mut summary = MaintenanceSummary::default();
    let hours: Vec<i64> = sqlx::query_scalar(
        "SELECT bucket_us FROM dirty_buckets WHERE level = 1 AND bucket_us + ?1 <= ?2 \
         ORDER BY bucket_us",
    )
    .bind(MICROS_PER_HOUR)
    .bind(now_us)
    .fetch_all(pool)
    .await
    .map_err(|e| convert_sqlx_err("finding hours to roll up", e))?;
    for chunk in hours.chunks(HOURS_PER_TRANSACTION) {
        let mut tx = begin(pool).await?;
        for hour in chunk {
            roll(&mut tx, 1, *hour, MICROS_PER_HOUR).await?;
        }
        commit(tx).await?;
        summary.hours_rolled += chunk.len();
    }
    let days: Vec<i64> = sqlx::query_scalar(
        "SELECT d.bucket_us FROM dirty_buckets d WHERE d.level = 2 AND d.bucket_us + ?1 <= ?2 \
         AND NOT EXISTS (SELECT 1 FROM dirty_buckets h WHERE h.level = 1 \
         AND h.bucket_us >= d.bucket_us AND h.bucket_us < d.bucket_us + ?1) ORDER BY d.bucket_us",
    )
    .bind(MICROS_PER_DAY)
    .bind(now_us)
    .fetch_all(pool)
    .await
    .map_err(|e| convert_sqlx_err("finding days to roll up", e))?;
    for chunk in days.chunks(HOURS_PER_TRANSACTION) {
        let mut tx = begin(pool).await?;
        for day in chunk {
            roll(&mut tx, 2, *day, MICROS_PER_DAY).await?;
        }
        commit(tx).await?;
        summary.days_rolled += chunk.len();
    }

    let mut tx = begin(pool).await?;
    let before = state(&mut tx).await?;
    let after = before.advance(policy.cuts(now));
    let cut = |t: Option<DateTime<Utc>>| t.map_or(i64::MIN, micros);
    let err = |e| convert_sqlx_err("applying retention", e);
    if after.raw_before != before.raw_before {
        for table in ["pod_footprints", "node_footprints"] {
            summary.raw_rows_deleted +=
                sqlx::query(&format!("DELETE FROM {table} WHERE window_start_us < ?1"))
                    .bind(cut(after.raw_before))
                    .execute(&mut *tx)
                    .await
                    .map_err(err)?
                    .rows_affected();
        }
    }
    for (level, moved, deleted) in [
        (
            1,
            after.hourly_before != before.hourly_before,
            &mut summary.hourly_rows_deleted,
        ),
        (
            2,
            after.daily_before != before.daily_before,
            &mut summary.daily_rows_deleted,
        ),
    ] {
        if !moved {
            continue;
        }
        let limit = cut(if level == 1 {
            after.hourly_before
        } else {
            after.daily_before
        });
        for table in ["pod_rollups", "node_rollups"] {
            *deleted += sqlx::query(&format!(
                "DELETE FROM {table} WHERE level = ?1 AND bucket_us < ?2"
            ))
            .bind(level)
            .bind(limit)
            .execute(&mut *tx)
            .await
            .map_err(err)?
            .rows_affected();
        }
        sqlx::query("DELETE FROM rolled_buckets WHERE level = ?1 AND bucket_us < ?2")
            .bind(level)
            .bind(limit)
            .execute(&mut *tx)
            .await
            .map_err(err)?;
    }
    if after != before {
        sqlx::query(
            "UPDATE retention_state SET raw_before_us = ?1, hourly_before_us = ?2, \
             daily_before_us = ?3 WHERE id = 1",
        )
        .bind(after.raw_before.map(micros))
        .bind(after.hourly_before.map(micros))
        .bind(after.daily_before.map(micros))
        .execute(&mut *tx)
        .await
        .map_err(err)?;
    }
    commit(tx).await?;
    summary.state = after;
    Ok(summary)
}

async fn begin(pool: &SqlitePool) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, StoreError> {
    pool.begin_with("BEGIN IMMEDIATE")
        .await
        .map_err(|e| convert_sqlx_err("starting maintenance", e))
}

async fn commit(tx: sqlx::Transaction<'static, sqlx::Sqlite>) -> Result<(), StoreError> {
    tx.commit()
        .await
        .map_err(|e| convert_sqlx_err("committing maintenance", e))
}

/// Plans a read (in one snapshot of the store: call inside a read transaction).
pub(super) async fn plan(
    conn: &mut SqliteConnection,
    range: TimeRange,
    period: Option<Period>,
) -> Result<PlanMicros, StoreError> {
    let retention = state(conn).await?;
    let eff = retention.effective_range(range);
    let rows = sqlx::query(
        "SELECT level, bucket_us FROM rolled_buckets WHERE bucket_us >= ?1 AND bucket_us < ?2",
    )
    .bind(micros(eff.from()))
    .bind(micros(eff.to()))
    .fetch_all(&mut *conn)
    .await
    .map_err(|e| convert_sqlx_err("planning a read", e))?;
    let mut hours = BTreeSet::new();
    let mut days = BTreeSet::new();
    for row in rows {
        let level: i64 = row
            .try_get(0)
            .map_err(|e| convert_sqlx_err("planning a read", e))?;
        let at = instant(
            row.try_get(1)
                .map_err(|e| convert_sqlx_err("planning a read", e))?,
        )?;
        if level == 1 {
            hours.insert(at);
        } else {
            days.insert(at);
        }
    }
    let plan = ReadPlan::new(range, period, &retention, &hours, &days)
        .map_err(|e| StoreError::invalid_data(BACKEND, e.to_string()))?;
    let us = |ranges: &[TimeRange]| -> Vec<(i64, i64)> {
        ranges
            .iter()
            .map(|r| (micros_ceil(r.from()), micros_ceil(r.to())))
            .collect()
    };
    Ok(PlanMicros {
        raw: us(&plan.raw),
        hourly: us(&plan.hourly),
        daily: us(&plan.daily),
    })
}
