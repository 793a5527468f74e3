//! Roll-ups and retention in SQLite (see `greenkube_core::ports::RetentionPolicy`).
//!
//! A write marks its hour and day dirty (and no longer rolled up) in its own transaction.
//! `maintain` rolls up complete dirty hours a day's worth at a time, then complete dirty days
//! without dirty hours, then applies the cuts; every step is one `BEGIN IMMEDIATE`
//! transaction, so an interrupted run leaves a consistent store and the next one finishes.

use chrono::{DateTime, Utc};
use greenkube_core::ports::{
    MaintenanceSummary, RetentionPolicy, RetentionState, StoreError, WindowRecords,
};
use sqlx::{Sqlite, SqliteConnection, SqlitePool};

use super::sql::{MICROS_PER_DAY, MICROS_PER_HOUR};
use crate::store::codec::{from_micros, micros};
use crate::store::sql::{self as shared, Dialect as _};

/// Hours rolled up per transaction.
const HOURS_PER_TRANSACTION: usize = 24;

/// Inside a write: refuses a sealed window, marks its hour and day dirty.
pub(super) async fn before_window(
    conn: &mut SqliteConnection,
    retention: &RetentionState,
    w: &WindowRecords,
) -> Result<(), StoreError> {
    retention.check_writable(Sqlite::BACKEND, w)?;
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
    .map_err(|e| Sqlite::error("marking a window for roll-up", e))?;
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
    let statements = if level == 1 {
        [ROLL_HOUR_PODS, ROLL_HOUR_NODES]
    } else {
        [ROLL_DAY_PODS, ROLL_DAY_NODES]
    };
    let time = |us| from_micros(Sqlite::BACKEND, us);
    shared::roll::<Sqlite>(conn, level, time(start)?, time(start + width)?, statements).await
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
    .map_err(|e| Sqlite::error("finding hours to roll up", e))?;
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
    .map_err(|e| Sqlite::error("finding days to roll up", e))?;
    for chunk in days.chunks(HOURS_PER_TRANSACTION) {
        let mut tx = begin(pool).await?;
        for day in chunk {
            roll(&mut tx, 2, *day, MICROS_PER_DAY).await?;
        }
        commit(tx).await?;
        summary.days_rolled += chunk.len();
    }

    let mut tx = begin(pool).await?;
    let before = shared::retention_in::<Sqlite>(&mut tx).await?;
    let after = before.advance(policy.cuts(now));
    shared::apply_cuts::<Sqlite>(&mut tx, before, after, &mut summary).await?;
    commit(tx).await?;
    summary.state = after;
    Ok(summary)
}

async fn begin(pool: &SqlitePool) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, StoreError> {
    pool.begin_with("BEGIN IMMEDIATE")
        .await
        .map_err(|e| Sqlite::error("starting maintenance", e))
}

async fn commit(tx: sqlx::Transaction<'static, sqlx::Sqlite>) -> Result<(), StoreError> {
    tx.commit()
        .await
        .map_err(|e| Sqlite::error("committing maintenance", e))
}
