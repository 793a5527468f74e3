//! Roll-ups and retention in PostgreSQL (see `greenkube_core::ports::RetentionPolicy`); the same
//! design as the SQLite store's (`migrations/postgres/0003_rollups.sql`).
//!
//! * A write reads the retention state `FOR SHARE` before its windows, refuses a window in sealed
//!   history, and marks the hours and days it wrote dirty (and no longer rolled up), all in its
//!   own transaction. The shared lock is held until the write ends, so writers never wait for
//!   each other on it.
//! * Every step of `maintain` is one transaction that starts by locking the retention state
//!   `FOR UPDATE`: it waits for the writes in flight and holds new ones back until it commits.
//!   So a step sees every row of the hours it rolls up, no write can mark an hour dirty while
//!   it is being rolled up (and be forgotten when the step clears the mark), and no cut moves
//!   under a writer that has checked it. Concurrent `maintain` runs take turns on the same lock,
//!   and a step rolls up only the buckets that are still dirty once it holds it, so no bucket is
//!   rolled up twice for one write.
//! * `maintain` rolls up complete dirty hours a day's worth per transaction, then complete dirty
//!   days without dirty hours, then advances the cuts and deletes what they seal. A write can
//!   land between the steps (into an hour the first step had already passed): the last step,
//!   under the lock, rolls up any dirty hour (and day) before the cuts before deleting their raw
//!   rows (hourly roll-ups), so nothing written is ever lost.
//! * A read plans its sources and reads them in one `REPEATABLE READ` snapshot.
//!
//! The steps of `maintain`, the read plan and the roll-up of a bucket are shared with SQLite
//! (`crate::store::sql`); here are PostgreSQL's step (the lock), the roll-up statements and
//! the write side.
//!
//! All bucket arithmetic is done in Rust or in absolute time (`interval '24 hours'`), never
//! with calendar intervals, which depend on the session's `TimeZone`.

use std::collections::BTreeSet;

use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};
use greenkube_core::Footprint;
use greenkube_core::ports::{RetentionState, StoreError, floor_time};
use sqlx::postgres::{PgConnection, PgPool};
use sqlx::{Postgres, Transaction};

use crate::store::sql::{self as shared, Dialect as _, MaintenanceOps};

/// Level of hourly roll-ups.
const HOURLY: i16 = 1;
/// Level of daily roll-ups.
const DAILY: i16 = 2;

fn width(level: i16) -> TimeDelta {
    if level == HOURLY {
        TimeDelta::hours(1)
    } else {
        TimeDelta::days(1)
    }
}

/// How the retention state is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lock {
    /// A write: held until it ends, shared with other writes.
    Share,
    /// A maintenance step: waits for the writes in flight, holds new ones back.
    Update,
}

/// The retention state, read on `conn` (inside a transaction when it must not change).
async fn read_state(conn: &mut PgConnection, lock: Lock) -> Result<RetentionState, StoreError> {
    let text = match lock {
        Lock::Share => {
            "SELECT raw_before, hourly_before, daily_before FROM retention_state WHERE id = 1 \
             FOR SHARE"
        }
        Lock::Update => {
            "SELECT raw_before, hourly_before, daily_before FROM retention_state WHERE id = 1 \
             FOR UPDATE"
        }
    };
    let row = sqlx::query(text)
        .fetch_one(&mut *conn)
        .await
        .map_err(|e| Postgres::error("reading the retention state", e))?;
    shared::retention_from_row::<Postgres>(&row)
}

/// Inside a write, before its windows: the retention state, locked against maintenance until
/// the write ends. Check each window with [`RetentionState::check_writable`].
pub(super) async fn lock_for_write(conn: &mut PgConnection) -> Result<RetentionState, StoreError> {
    read_state(conn, Lock::Share).await
}

/// The hour and day buckets of `batch`, sorted by (level, bucket) and without duplicates.
fn buckets_of(batch: &[Footprint]) -> (Vec<i16>, Vec<DateTime<Utc>>) {
    let buckets: BTreeSet<(i16, DateTime<Utc>)> = batch
        .iter()
        .flat_map(|fp| {
            [HOURLY, DAILY].map(|level| (level, floor_time(fp.window_start, width(level))))
        })
        .collect();
    buckets.into_iter().unzip()
}

/// Sorted, so writers of the same new buckets queue in one order instead of deadlocking.
const MARK_DIRTY: &str = "INSERT INTO dirty_buckets (level, bucket) \
    SELECT level, bucket FROM unnest($1::int2[], $2::timestamptz[]) AS b(level, bucket) \
    ORDER BY level, bucket ON CONFLICT DO NOTHING";

/// Locks the rows in order before deleting them, for the same reason.
const UNMARK_ROLLED: &str = "DELETE FROM rolled_buckets WHERE (level, bucket) IN ( \
    SELECT level, bucket FROM rolled_buckets \
    WHERE (level, bucket) IN (SELECT * FROM unnest($1::int2[], $2::timestamptz[])) \
    ORDER BY level, bucket FOR UPDATE)";

/// Inside a write, after its windows: marks their hours and days dirty and not rolled up.
pub(super) async fn mark_written(
    conn: &mut PgConnection,
    batch: &[Footprint],
) -> Result<(), StoreError> {
    if batch.is_empty() {
        return Ok(());
    }
    let (levels, buckets) = buckets_of(batch);
    for text in [MARK_DIRTY, UNMARK_ROLLED] {
        sqlx::query(text)
            .bind(&levels)
            .bind(&buckets)
            .execute(&mut *conn)
            .await
            .map_err(|e| Postgres::error("marking windows for roll-up", e))?;
    }
    Ok(())
}

const POD_ROLLUP_COLUMNS: &str = "level, bucket, cluster, namespace, pod, workload_kind, \
    workload, node, first_window, last_window_end, energy_joules, energy_joules_low, \
    energy_joules_high, co2e_grams, co2e_grams_low, co2e_grams_high, embodied_co2e_grams, \
    embodied_co2e_grams_low, embodied_co2e_grams_high, cost, rows, estimated_rows, no_cost_rows";

const NODE_ROLLUP_COLUMNS: &str = "level, bucket, cluster, node, first_window, last_window_end, \
    energy_joules, energy_joules_low, energy_joules_high, co2e_grams, co2e_grams_low, \
    co2e_grams_high, embodied_co2e_grams, embodied_co2e_grams_low, embodied_co2e_grams_high";

/// `$1` the hour, `$2` its end.
fn roll_hour_pods() -> String {
    format!(
        "INSERT INTO pod_rollups ({POD_ROLLUP_COLUMNS}) SELECT 1, $1::timestamptz, cluster, \
         namespace, pod, workload_kind, workload, node, MIN(window_start), MAX(window_end), \
         SUM(energy_joules), SUM(energy_joules_low), SUM(energy_joules_high), \
         SUM(co2e_grams), SUM(co2e_grams_low), SUM(co2e_grams_high), \
         SUM(embodied_co2e_grams), SUM(embodied_co2e_grams_low), SUM(embodied_co2e_grams_high), \
         COALESCE(SUM(cost), 0), COUNT(*), COUNT(*) FILTER (WHERE estimated), \
         COUNT(*) FILTER (WHERE cost IS NULL) FROM pod_footprints \
         WHERE window_start >= $1 AND window_start < $2 \
         GROUP BY cluster, namespace, pod, workload_kind, workload, node"
    )
}

fn roll_hour_nodes() -> String {
    format!(
        "INSERT INTO node_rollups ({NODE_ROLLUP_COLUMNS}) SELECT 1, $1::timestamptz, cluster, \
         node, MIN(window_start), MAX(window_end), \
         SUM(overhead_energy_joules), SUM(overhead_energy_joules_low), \
         SUM(overhead_energy_joules_high), SUM(overhead_co2e_grams), \
         SUM(overhead_co2e_grams_low), SUM(overhead_co2e_grams_high), \
         SUM(unallocated_embodied_co2e_grams), SUM(unallocated_embodied_co2e_grams_low), \
         SUM(unallocated_embodied_co2e_grams_high) FROM node_footprints \
         WHERE window_start >= $1 AND window_start < $2 GROUP BY cluster, node"
    )
}

/// `$1` the day, `$2` its end: the sum of the day's hourly roll-ups.
fn roll_day_pods() -> String {
    format!(
        "INSERT INTO pod_rollups ({POD_ROLLUP_COLUMNS}) SELECT 2, $1::timestamptz, cluster, \
         namespace, pod, workload_kind, workload, node, MIN(first_window), \
         MAX(last_window_end), SUM(energy_joules), SUM(energy_joules_low), \
         SUM(energy_joules_high), SUM(co2e_grams), SUM(co2e_grams_low), SUM(co2e_grams_high), \
         SUM(embodied_co2e_grams), SUM(embodied_co2e_grams_low), SUM(embodied_co2e_grams_high), \
         SUM(cost), SUM(rows)::int8, SUM(estimated_rows)::int8, SUM(no_cost_rows)::int8 \
         FROM pod_rollups WHERE level = 1 AND bucket >= $1 AND bucket < $2 \
         GROUP BY cluster, namespace, pod, workload_kind, workload, node"
    )
}

fn roll_day_nodes() -> String {
    format!(
        "INSERT INTO node_rollups ({NODE_ROLLUP_COLUMNS}) SELECT 2, $1::timestamptz, cluster, \
         node, MIN(first_window), MAX(last_window_end), \
         SUM(energy_joules), SUM(energy_joules_low), SUM(energy_joules_high), \
         SUM(co2e_grams), SUM(co2e_grams_low), SUM(co2e_grams_high), \
         SUM(embodied_co2e_grams), SUM(embodied_co2e_grams_low), SUM(embodied_co2e_grams_high) \
         FROM node_rollups WHERE level = 1 AND bucket >= $1 AND bucket < $2 \
         GROUP BY cluster, node"
    )
}

/// Dirty days none of whose hours is dirty (`d` is the day's row; as in `dirty_before`).
const NO_DIRTY_HOURS: &str = "NOT EXISTS (SELECT 1 FROM dirty_buckets h WHERE h.level = 1 \
    AND h.bucket >= d.bucket AND h.bucket < d.bucket + interval '24 hours')";

#[async_trait]
impl MaintenanceOps for Postgres {
    fn roll_statements(level: i64) -> [String; 2] {
        if level == 1 {
            [roll_hour_pods(), roll_hour_nodes()]
        } else {
            [roll_day_pods(), roll_day_nodes()]
        }
    }

    /// Starts a maintenance step: a transaction holding the retention state `FOR UPDATE`.
    async fn begin_step(
        pool: &PgPool,
    ) -> Result<(Transaction<'static, Postgres>, RetentionState), StoreError> {
        let mut tx = pool
            .begin()
            .await
            .map_err(|e| Self::error("starting maintenance", e))?;
        match read_state(&mut tx, Lock::Update).await {
            Ok(state) => Ok((tx, state)),
            Err(e) => {
                let _ = tx.rollback().await;
                Err(e)
            }
        }
    }

    /// Inside a step: rolls up those of `candidates` that are still dirty (another `maintain` may
    /// have rolled them up meanwhile), and still ready. Returns how many.
    async fn roll_ready(
        conn: &mut PgConnection,
        level: i64,
        candidates: &[DateTime<Utc>],
    ) -> Result<usize, StoreError> {
        let text = if level == 1 {
            "SELECT bucket FROM dirty_buckets d WHERE level = 1 AND bucket = ANY($1) ORDER BY bucket"
                .to_string()
        } else {
            format!(
                "SELECT bucket FROM dirty_buckets d WHERE level = 2 AND bucket = ANY($1) \
                 AND {NO_DIRTY_HOURS} ORDER BY bucket"
            )
        };
        let still: Vec<DateTime<Utc>> = sqlx::query_scalar(&text)
            .bind(candidates)
            .fetch_all(&mut *conn)
            .await
            .map_err(|e| Self::error("finding buckets to roll up", e))?;
        for bucket in &still {
            shared::roll::<Self>(conn, level, *bucket).await?;
        }
        Ok(still.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone as _;
    use greenkube_core::testsuite::fixtures::{footprint, methodology};

    #[test]
    fn a_batch_marks_each_hour_and_day_once_in_order() {
        let m = methodology(greenkube_core::Methodology::Full, "gkdata-0123456789ab");
        let at = |d, h, min| Utc.with_ymd_and_hms(2025, 6, d, h, min, 0).unwrap();
        let batch = [
            footprint(Some("b"), at(2, 10, 5), 1, &m),
            footprint(Some("a"), at(1, 23, 55), 1, &m),
            footprint(Some("a"), at(2, 10, 0), 1, &m),
        ];
        let (levels, buckets) = buckets_of(&batch);
        assert_eq!(levels, [1, 1, 2, 2]);
        assert_eq!(
            buckets,
            [at(1, 23, 0), at(2, 10, 0), at(1, 0, 0), at(2, 0, 0)]
        );
    }
}
