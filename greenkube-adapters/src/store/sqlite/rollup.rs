//! Roll-ups and retention in SQLite (see `greenkube_core::ports::RetentionPolicy`).
//!
//! A write marks its hour and day dirty (and no longer rolled up) in its own transaction.
//! `maintain` (shared with PostgreSQL, `crate::store::sql`) rolls up complete dirty hours a
//! day's worth at a time, then complete dirty days without dirty hours, then applies the cuts;
//! every step is one `BEGIN IMMEDIATE` transaction, so no write runs during a step, an
//! interrupted run leaves a consistent store and the next one finishes.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use greenkube_core::ports::{RetentionState, StoreError, WindowRecords};
use sqlx::{Sqlite, SqliteConnection, SqlitePool, Transaction};

use super::sql::{MICROS_PER_DAY, MICROS_PER_HOUR};
use crate::store::codec::micros;
use crate::store::sql::{self as shared, Dialect as _, MaintenanceOps};

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
        "INSERT OR IGNORE INTO dirty_buckets (level, bucket_us) VALUES (1, $1), (2, $2); \
         DELETE FROM rolled_buckets WHERE (level = 1 AND bucket_us = $1) \
         OR (level = 2 AND bucket_us = $2);",
    )
    .bind(hour)
    .bind(day)
    .execute(&mut *conn)
    .await
    .map_err(|e| Sqlite::error("marking a window for roll-up", e))?;
    Ok(())
}

const ROLL_HOUR_PODS: &str = "INSERT INTO pod_rollups SELECT 1, $1, cluster, namespace, pod, \
    workload_kind, workload, node, MIN(window_start_us), MAX(window_end_us), \
    TOTAL(energy_joules), TOTAL(energy_joules_low), TOTAL(energy_joules_high), \
    TOTAL(co2e_grams), TOTAL(co2e_grams_low), TOTAL(co2e_grams_high), \
    TOTAL(embodied_co2e_grams), TOTAL(embodied_co2e_grams_low), TOTAL(embodied_co2e_grams_high), \
    TOTAL(cost), COUNT(*), SUM(estimated), SUM(cost IS NULL) FROM pod_footprints \
    WHERE window_start_us >= $1 AND window_start_us < $2 \
    GROUP BY cluster, namespace, pod, workload_kind, workload, node";

const ROLL_HOUR_NODES: &str = "INSERT INTO node_rollups SELECT 1, $1, cluster, node, \
    MIN(window_start_us), MAX(window_end_us), \
    TOTAL(overhead_energy_joules), TOTAL(overhead_energy_joules_low), \
    TOTAL(overhead_energy_joules_high), TOTAL(overhead_co2e_grams), \
    TOTAL(overhead_co2e_grams_low), TOTAL(overhead_co2e_grams_high), \
    TOTAL(unallocated_embodied_co2e_grams), TOTAL(unallocated_embodied_co2e_grams_low), \
    TOTAL(unallocated_embodied_co2e_grams_high) FROM node_footprints \
    WHERE window_start_us >= $1 AND window_start_us < $2 GROUP BY cluster, node";

const ROLL_DAY_PODS: &str = "INSERT INTO pod_rollups SELECT 2, $1, cluster, namespace, pod, \
    workload_kind, workload, node, MIN(first_window_us), MAX(last_window_end_us), \
    TOTAL(energy_joules), TOTAL(energy_joules_low), TOTAL(energy_joules_high), \
    TOTAL(co2e_grams), TOTAL(co2e_grams_low), TOTAL(co2e_grams_high), \
    TOTAL(embodied_co2e_grams), TOTAL(embodied_co2e_grams_low), TOTAL(embodied_co2e_grams_high), \
    TOTAL(cost), SUM(rows), SUM(estimated_rows), SUM(no_cost_rows) FROM pod_rollups \
    WHERE level = 1 AND bucket_us >= $1 AND bucket_us < $2 \
    GROUP BY cluster, namespace, pod, workload_kind, workload, node";

const ROLL_DAY_NODES: &str = "INSERT INTO node_rollups SELECT 2, $1, cluster, node, \
    MIN(first_window_us), MAX(last_window_end_us), \
    TOTAL(energy_joules), TOTAL(energy_joules_low), TOTAL(energy_joules_high), \
    TOTAL(co2e_grams), TOTAL(co2e_grams_low), TOTAL(co2e_grams_high), \
    TOTAL(embodied_co2e_grams), TOTAL(embodied_co2e_grams_low), TOTAL(embodied_co2e_grams_high) \
    FROM node_rollups WHERE level = 1 AND bucket_us >= $1 AND bucket_us < $2 \
    GROUP BY cluster, node";

#[async_trait]
impl MaintenanceOps for Sqlite {
    fn roll_statements(level: i64) -> [String; 2] {
        let [pods, nodes] = if level == 1 {
            [ROLL_HOUR_PODS, ROLL_HOUR_NODES]
        } else {
            [ROLL_DAY_PODS, ROLL_DAY_NODES]
        };
        [pods.to_string(), nodes.to_string()]
    }

    /// A step: `BEGIN IMMEDIATE` holds writers back until it ends.
    async fn begin_step(
        pool: &SqlitePool,
    ) -> Result<(Transaction<'static, Sqlite>, RetentionState), StoreError> {
        let mut tx = pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(|e| Self::error("starting maintenance", e))?;
        let state = shared::retention_in::<Self>(&mut tx).await?;
        Ok((tx, state))
    }

    /// Rolls up every candidate (rolling one up again is harmless).
    async fn roll_ready(
        conn: &mut SqliteConnection,
        level: i64,
        candidates: &[DateTime<Utc>],
    ) -> Result<usize, StoreError> {
        for start in candidates {
            shared::roll::<Self>(conn, level, *start).await?;
        }
        Ok(candidates.len())
    }
}
