//! The write lock of an Elasticsearch store and the batches in flight: taking the lock (or
//! an expired one over), renewing and releasing it, finishing what earlier writers left, and
//! giving up a batch (see the store's module documentation).

use std::time::{Duration, Instant};

use greenkube_core::ports::{StoreError, StoreErrorKind};

use super::BACKEND;
use super::ledger::{BatchState, Lock, Versioned, now_ms};
use super::query::{self, TERMS_PER_CLAUSE};
use super::store::ElasticsearchStore;

impl ElasticsearchStore {
    /// How long an aborted batch stays listed: its writer's last request may still land.
    fn quarantine_ms(&self) -> i64 {
        let total = self.config.lock_lease + self.config.request_timeout;
        i64::try_from(total.as_millis()).unwrap_or(i64::MAX)
    }

    fn lease_ms(&self) -> i64 {
        i64::try_from(self.config.lock_lease.as_millis()).unwrap_or(i64::MAX)
    }

    /// Takes the write lock, waiting up to `lock_wait` for another writer's, then finishes
    /// what earlier writers left in flight.
    pub(super) async fn acquire(&self) -> Result<Versioned, StoreError> {
        let started = Instant::now();
        let mut pause = Duration::from_millis(20);
        loop {
            let mut current = self.meta.read().await?;
            let now = now_ms();
            if current.ledger.lock_available(&self.owner, now) {
                let mut next = current.ledger.clone();
                next.lock = Some(Lock {
                    owner: self.owner.clone(),
                    expires_at_ms: now.saturating_add(self.lease_ms()),
                });
                match self
                    .meta
                    .replace(&mut current, next, "taking the write lock")
                    .await
                {
                    Ok(()) => {
                        if let Err(e) = self.recover(&mut current).await {
                            self.release(&mut current).await;
                            return Err(e);
                        }
                        return Ok(current);
                    }
                    // Another writer took it first: look again.
                    Err(e) if e.kind() == StoreErrorKind::Conflict => {}
                    Err(e) => return Err(e),
                }
            } else if started.elapsed() >= self.config.lock_wait {
                let holder = current.ledger.lock.as_ref().map_or_else(
                    || "another writer".to_string(),
                    |l| {
                        format!(
                            "`{}` (lease ends in {} ms)",
                            l.owner,
                            l.expires_at_ms.saturating_sub(now)
                        )
                    },
                );
                return Err(StoreError::unavailable(
                    BACKEND,
                    format!(
                        "`{}` is being written by {holder}; gave up after {} s",
                        self.indices.footprints,
                        self.config.lock_wait.as_secs()
                    ),
                ));
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_millis(500));
        }
    }

    /// Renews the lease when less than half of it is left.
    pub(super) async fn keep_lock(&self, current: &mut Versioned) -> Result<(), StoreError> {
        let now = now_ms();
        let left = current
            .ledger
            .lock
            .as_ref()
            .map_or(0, |l| l.expires_at_ms.saturating_sub(now));
        if left >= self.lease_ms() / 2 {
            return Ok(());
        }
        let mut next = current.ledger.clone();
        next.lock = Some(Lock {
            owner: self.owner.clone(),
            expires_at_ms: now.saturating_add(self.lease_ms()),
        });
        self.meta
            .replace(current, next, "renewing the write lock")
            .await
    }

    /// Releases the lock (best effort: a lock left behind expires).
    pub(super) async fn release(&self, current: &mut Versioned) {
        let mut next = current.ledger.clone();
        next.lock = None;
        let _ = self
            .meta
            .replace(current, next, "releasing the write lock")
            .await;
    }

    /// Deletes the rows `batch` replaced in `windows`.
    pub(super) async fn delete_superseded(
        &self,
        batch: u64,
        windows: &[String],
    ) -> Result<(), StoreError> {
        for chunk in windows.chunks(TERMS_PER_CLAUSE) {
            self.delete_by_query(
                &query::superseded_by(batch, chunk, false),
                "deleting replaced rows",
            )
            .await?;
        }
        Ok(())
    }

    /// Finishes the batches earlier writers left in flight (the lock is held): deletes the
    /// rows a committed batch replaced, and the rows of a pending or aborted one.
    async fn recover(&self, current: &mut Versioned) -> Result<(), StoreError> {
        let in_flight = current.ledger.batches.clone();
        for entry in in_flight {
            let batch = entry.batch;
            match entry.state {
                BatchState::Committed => {
                    let windows = self
                        .meta
                        .windows(&[batch])
                        .await?
                        .pop()
                        .and_then(|(_, w)| w)
                        .ok_or_else(|| {
                            StoreError::invalid_data(
                                BACKEND,
                                format!(
                                    "committed batch {batch} has no window list in `{}`: the \
                                     store state was changed by hand",
                                    self.indices.meta
                                ),
                            )
                        })?;
                    self.delete_superseded(batch, &windows).await?;
                    let mut next = current.ledger.clone();
                    next.remove(batch);
                    self.meta
                        .replace(current, next, "finishing a committed batch")
                        .await?;
                    self.meta.delete_windows(batch).await;
                }
                BatchState::Pending => {
                    let mut next = current.ledger.clone();
                    next.set(batch, BatchState::Aborted, now_ms());
                    self.meta
                        .replace(current, next, "aborting an unfinished batch")
                        .await?;
                    self.delete_by_query(&query::written_by(batch), "deleting an aborted batch")
                        .await?;
                }
                BatchState::Aborted => {
                    if now_ms().saturating_sub(entry.since_ms) < self.quarantine_ms() {
                        continue;
                    }
                    self.delete_by_query(&query::written_by(batch), "deleting an aborted batch")
                        .await?;
                    let mut next = current.ledger.clone();
                    next.remove(batch);
                    self.meta
                        .replace(current, next, "forgetting an aborted batch")
                        .await?;
                    self.meta.delete_windows(batch).await;
                }
            }
        }
        Ok(())
    }

    /// Gives up a batch that was not committed (best effort; whatever fails here the next
    /// writer finishes). Only once the ledger says *aborted* are its rows deleted: if the
    /// commit went through unseen, the compare-and-swap fails and the rows stay.
    pub(super) async fn abort(&self, current: &mut Versioned, batch: u64) {
        let mut next = current.ledger.clone();
        next.set(batch, BatchState::Aborted, now_ms());
        if self
            .meta
            .replace(current, next, "aborting a batch")
            .await
            .is_err()
        {
            return;
        }
        let _ = self
            .delete_by_query(&query::written_by(batch), "deleting an aborted batch")
            .await;
        self.release(current).await;
    }
}
