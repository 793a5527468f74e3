//! `maintain` on Elasticsearch: rolling up dirty hours and days, advancing the retention cuts
//! and deleting what they seal; and the upgrade of a store made before roll-ups. Each step
//! holds the write lock and ends with one compare-and-swap of the ledger (which also releases
//! the lock); see the store's module docs.

use chrono::{DateTime, Utc};
use elasticsearch::BulkOperations;
use greenkube_core::ports::{MaintenanceSummary, RetentionPolicy, RetentionState, StoreError};
use serde_json::Value;

use super::documents::push_document;
use super::fields::{NODE_ROW, POD_ROW, micros};
use super::ledger::Versioned;
use super::query::Visibility;
use super::rollup::{self, BUCKETS_PER_STEP, Level};
use super::store::ElasticsearchStore;

/// What one step of `maintain` did.
enum Step {
    /// Rolled up some buckets (and released the lock): there may be more.
    Rolled,
    /// Nothing was left to roll up; the cuts are now these (the lock is released).
    Done(RetentionState),
}

impl ElasticsearchStore {
    /// See `FootprintRepository::maintain`.
    pub(super) async fn run_maintenance(
        &self,
        policy: &RetentionPolicy,
        now: DateTime<Utc>,
    ) -> Result<MaintenanceSummary, StoreError> {
        let _one_writer = self.writer.lock().await;
        let mut summary = MaintenanceSummary::default();
        // Each step takes the lock anew, so writers get a turn between steps.
        let state = loop {
            let mut current = self.acquire().await?;
            match self
                .maintenance_step(&mut current, policy, now, &mut summary)
                .await
            {
                Ok(Step::Rolled) => {}
                Ok(Step::Done(state)) => break state,
                Err(e) => {
                    self.release(&mut current).await;
                    return Err(e);
                }
            }
        };
        // The cuts are recorded, so reads no longer look at what is deleted here. Deleting
        // below them on every run also finishes what an interrupted run left; a write cannot
        // add rows there (sealed windows are refused).
        if let Some(cut) = state.raw_before {
            summary.raw_rows_deleted = self
                .delete_in(
                    &self.indices.footprints,
                    &rollup::raw_before_query(micros(cut)),
                    "deleting sealed raw rows",
                )
                .await?;
        }
        for (level, cut, deleted) in [
            (
                Level::Hour,
                state.hourly_before,
                &mut summary.hourly_rows_deleted,
            ),
            (
                Level::Day,
                state.daily_before,
                &mut summary.daily_rows_deleted,
            ),
        ] {
            if let Some(cut) = cut {
                *deleted = self
                    .delete_in(
                        &self.indices.rollups,
                        &rollup::before_query(level, micros(cut)),
                        "deleting sealed roll-ups",
                    )
                    .await?;
            }
        }
        summary.state = state;
        Ok(summary)
    }

    /// One step, under the write lock: rolls up a chunk of complete dirty hours, or else of
    /// complete dirty days without dirty hours, or else advances the cuts.
    async fn maintenance_step(
        &self,
        current: &mut Versioned,
        policy: &RetentionPolicy,
        now: DateTime<Utc>,
        summary: &mut MaintenanceSummary,
    ) -> Result<Step, StoreError> {
        let now_us = micros(now);
        let state = current.ledger.rollups()?.clone();
        let visibility = current.ledger.visibility_under_lock();
        for level in [Level::Hour, Level::Day] {
            let buckets = match level {
                Level::Hour => state.hours_to_roll(now_us, BUCKETS_PER_STEP),
                Level::Day => state.days_to_roll(now_us, BUCKETS_PER_STEP),
            };
            if buckets.is_empty() {
                continue;
            }
            self.roll(current, level, &buckets, &visibility).await?;
            let mut next = current.ledger.clone();
            next.rollups_mut()?.mark_rolled(level, &buckets);
            next.lock = None;
            self.meta
                .replace(current, next, "recording roll-ups")
                .await?;
            match level {
                Level::Hour => summary.hours_rolled += buckets.len(),
                Level::Day => summary.days_rolled += buckets.len(),
            }
            return Ok(Step::Rolled);
        }
        // Every hour before the new raw cut is complete, so none is dirty any more; likewise
        // every day before the new hourly cut. Sealing loses nothing.
        let before = state.retention()?;
        let after = before.advance(policy.cuts(now));
        let mut next = current.ledger.clone();
        next.lock = None;
        let doing = if after == before {
            "releasing the write lock"
        } else {
            let rollups = next.rollups_mut()?;
            rollups.set_retention(after);
            rollups.epoch += 1;
            "advancing the retention cuts"
        };
        self.meta.replace(current, next, doing).await?;
        Ok(Step::Done(after))
    }

    /// Replaces the roll-ups of `buckets` (dirty, so no read uses them meanwhile): clears
    /// them, sums the visible raw rows (hours) or the hourly roll-ups (days) by bucket and
    /// group keys, indexes one document per group and refreshes the roll-up index.
    async fn roll(
        &self,
        current: &mut Versioned,
        level: Level,
        buckets: &[i64],
        visibility: &Visibility,
    ) -> Result<(), StoreError> {
        self.keep_lock(current).await?;
        self.delete_in(
            &self.indices.rollups,
            &rollup::buckets_query(level, buckets),
            "clearing stale roll-ups",
        )
        .await?;
        let source = match level {
            Level::Hour => &self.indices.footprints,
            Level::Day => &self.indices.rollups,
        };
        let doing = "rolling up footprints";
        let mut body = BulkOperations::new();
        let mut documents = 0;
        for row in [POD_ROW, NODE_ROW] {
            let mut after: Option<Value> = None;
            loop {
                self.keep_lock(current).await?;
                let request = rollup::roll_body(level, row, buckets, visibility, after.as_ref());
                let (groups, next) = self.composite_page(source, &request, doing).await?;
                for group in &groups {
                    let (id, document) = rollup::document(group, level, row, buckets)?;
                    push_document(&mut body, &self.indices.rollups, &id, &document)?;
                    documents += 1;
                    if documents == self.config.bulk_documents {
                        self.send_bulk(current, std::mem::take(&mut body)).await?;
                        documents = 0;
                    }
                }
                match next {
                    Some(key) => after = Some(key),
                    None => break,
                }
            }
        }
        if documents > 0 {
            self.send_bulk(current, body).await?;
        }
        self.refresh_index(&self.indices.rollups).await
    }

    /// Upgrades a store of schema 1: every hour (and day) holding rows is marked dirty, so the
    /// next `maintain` rolls it up before any retention cut can seal it. Idempotent.
    pub(super) async fn mark_stored_rows_dirty(&self) -> Result<(), StoreError> {
        let _one_writer = self.writer.lock().await;
        let mut current = self.acquire().await?;
        let marked = async {
            let visibility = current.ledger.visibility_under_lock();
            let mut hours = Vec::new();
            let mut after: Option<Value> = None;
            loop {
                self.keep_lock(&mut current).await?;
                let request = rollup::hours_with_rows_body(&visibility, after.as_ref());
                let (groups, next) = self
                    .composite_page(
                        &self.indices.footprints,
                        &request,
                        "listing the hours of stored rows",
                    )
                    .await?;
                for group in &groups {
                    hours.push(rollup::bucket_start_us(group)?);
                }
                match next {
                    Some(key) => after = Some(key),
                    None => break,
                }
            }
            let mut next = current.ledger.clone();
            let rollups = next.rollups.get_or_insert_with(Default::default);
            for hour in hours {
                rollups.mark_written(hour);
            }
            rollups.epoch += 1;
            next.lock = None;
            self.meta
                .replace(&mut current, next, "marking stored rows for roll-up")
                .await
        }
        .await;
        if marked.is_err() {
            self.release(&mut current).await;
        }
        marked
    }
}
