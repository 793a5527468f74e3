//! The ledger: one document (`PREFIX-meta/_doc/ledger`) that holds the write lock, the
//! committed-batch watermark, the batches in flight and the roll-up state (retention cuts,
//! dirty and rolled-up buckets), changed only by compare-and-swap on its sequence number; plus
//! one document per batch in flight listing its windows.

use std::time::{SystemTime, UNIX_EPOCH};

use greenkube_core::ports::StoreError;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::BACKEND;
use super::client::{Client, Write};
use super::error::unexpected;
use super::query::Visibility;
use super::rollup::RollupState;

/// The id of the ledger document.
pub(super) const LEDGER_ID: &str = "ledger";

/// Milliseconds since 1970 (lock leases).
pub(super) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Where a batch in flight is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum BatchState {
    /// Rows being written; invisible (its number is above the watermark).
    Pending,
    /// Visible; the rows it replaces are still to be deleted (reads hide them).
    Committed,
    /// Given up; its rows are still to be deleted (reads hide them).
    Aborted,
}

/// A batch in flight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct InFlight {
    pub(super) batch: u64,
    pub(super) state: BatchState,
    /// When it entered that state (milliseconds since 1970).
    pub(super) since_ms: i64,
}

/// The write lock: who holds it and until when (a lease, renewed while writing).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Lock {
    pub(super) owner: String,
    pub(super) expires_at_ms: i64,
}

/// The ledger document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Ledger {
    kind: String,
    /// The highest committed batch; every batch up to it is committed or aborted.
    pub(super) committed_through: u64,
    /// The number the next batch gets (numbers are never reused).
    pub(super) next_batch: u64,
    /// The write lock, if held.
    pub(super) lock: Option<Lock>,
    /// Batches in flight.
    pub(super) batches: Vec<InFlight>,
    /// The roll-up state. `None` only in a ledger of schema 1 (before roll-ups), which opening
    /// the store upgrades, or in one rewritten by such an older greenkube since.
    #[serde(default)]
    pub(super) rollups: Option<RollupState>,
}

impl Default for Ledger {
    fn default() -> Self {
        Self {
            kind: "ledger".to_string(),
            committed_through: 0,
            next_batch: 1,
            lock: None,
            batches: Vec::new(),
            rollups: Some(RollupState::default()),
        }
    }
}

fn no_rollup_state() -> StoreError {
    StoreError::conflict(
        BACKEND,
        "the store ledger has no roll-up state: it was written by a greenkube older than \
         schema 2 (which ignores roll-ups and retention); stop older greenkube processes \
         writing to this store, and check what they wrote",
    )
}

impl Ledger {
    /// Sets the state of a batch in flight (adding it when absent), as of `now_ms`.
    pub(super) fn set(&mut self, batch: u64, state: BatchState, now_ms: i64) {
        match self.batches.iter_mut().find(|b| b.batch == batch) {
            Some(b) => {
                b.state = state;
                b.since_ms = now_ms;
            }
            None => self.batches.push(InFlight {
                batch,
                state,
                since_ms: now_ms,
            }),
        }
    }

    /// Forgets a batch in flight.
    pub(super) fn remove(&mut self, batch: u64) {
        self.batches.retain(|b| b.batch != batch);
    }

    /// The roll-up state ([`StoreErrorKind::Conflict`] when an older greenkube dropped it).
    ///
    /// [`StoreErrorKind::Conflict`]: greenkube_core::ports::StoreErrorKind::Conflict
    pub(super) fn rollups(&self) -> Result<&RollupState, StoreError> {
        self.rollups.as_ref().ok_or_else(no_rollup_state)
    }

    /// The roll-up state, to change it.
    pub(super) fn rollups_mut(&mut self) -> Result<&mut RollupState, StoreError> {
        self.rollups.as_mut().ok_or_else(no_rollup_state)
    }

    /// What a read that saw this ledger depends on: the committed watermark and the roll-up
    /// epoch. A read whose token changed meanwhile starts again.
    pub(super) fn read_token(&self) -> (u64, Option<u64>) {
        (
            self.committed_through,
            self.rollups.as_ref().map(|r| r.epoch),
        )
    }

    /// What may be seen while the write lock is held (once earlier writers' batches have been
    /// finished): every committed batch but the aborted ones in quarantine.
    pub(super) fn visibility_under_lock(&self) -> Visibility {
        Visibility {
            committed_through: self.committed_through,
            aborted: self
                .batches
                .iter()
                .filter(|b| b.state == BatchState::Aborted)
                .map(|b| b.batch)
                .collect(),
            superseding: Vec::new(),
        }
    }

    /// True when `owner` may take the lock now: free, expired, or already its own.
    pub(super) fn lock_available(&self, owner: &str, now_ms: i64) -> bool {
        self.lock
            .as_ref()
            .is_none_or(|l| l.owner == owner || l.expires_at_ms <= now_ms)
    }
}

/// The ledger and the sequence number and primary term it was read at.
#[derive(Debug, Clone)]
pub(super) struct Versioned {
    pub(super) ledger: Ledger,
    seq_no: u64,
    primary_term: u64,
}

/// The meta index: the ledger and the window lists of batches in flight.
#[derive(Debug, Clone)]
pub(super) struct Meta {
    client: Client,
    index: String,
}

fn batch_doc_id(batch: u64) -> String {
    format!("batch-{batch}")
}

impl Meta {
    pub(super) fn new(client: Client, index: String) -> Self {
        Self { client, index }
    }

    /// Creates the ledger when it does not exist yet (an existing one is kept).
    pub(super) async fn create_ledger(&self) -> Result<(), StoreError> {
        let doing = "creating the store ledger";
        let body = serde_json::to_value(Ledger::default())
            .map_err(|e| unexpected(doing, e.to_string()))?;
        let reply = self
            .client
            .write(
                &self.index,
                LEDGER_ID,
                Write::Create { refresh: true },
                &body,
                doing,
            )
            .await?;
        if reply.is_success() || reply.status == 409 {
            Ok(())
        } else {
            reply.into_ok(doing).map(|_| ())
        }
    }

    /// Reads the ledger (a realtime `GET`, never stale).
    pub(super) async fn read(&self) -> Result<Versioned, StoreError> {
        let doing = "reading the store ledger";
        let reply = self.client.get(&self.index, LEDGER_ID, doing).await?;
        if reply.status == 404 || reply.body.get("found") == Some(&Value::Bool(false)) {
            return Err(StoreError::unavailable(
                BACKEND,
                format!(
                    "{doing}: no ledger in `{}` at `{}` (run `greenkube migrate --store URL`)",
                    self.index,
                    self.client.location()
                ),
            ));
        }
        let body = reply.into_ok(doing)?;
        let number = |field: &str| {
            body.get(field)
                .and_then(Value::as_u64)
                .ok_or_else(|| unexpected(doing, format!("no `{field}`")))
        };
        let seq_no = number("_seq_no")?;
        let primary_term = number("_primary_term")?;
        let source = body
            .get("_source")
            .cloned()
            .ok_or_else(|| unexpected(doing, "no `_source`"))?;
        let ledger: Ledger = serde_json::from_value(source).map_err(|e| {
            StoreError::invalid_data(BACKEND, format!("{doing}: the ledger is damaged: {e}"))
        })?;
        Ok(Versioned {
            ledger,
            seq_no,
            primary_term,
        })
    }

    /// Replaces the ledger if nobody changed it since `current` was read (compare-and-swap),
    /// and updates `current`. A change by someone else is [`StoreErrorKind::Conflict`]: the
    /// write lock was lost.
    ///
    /// [`StoreErrorKind::Conflict`]: greenkube_core::ports::StoreErrorKind::Conflict
    pub(super) async fn replace(
        &self,
        current: &mut Versioned,
        next: Ledger,
        doing: &str,
    ) -> Result<(), StoreError> {
        let body = serde_json::to_value(&next).map_err(|e| unexpected(doing, e.to_string()))?;
        let how = Write::IfUnchanged {
            seq_no: current.seq_no,
            primary_term: current.primary_term,
        };
        let reply = self
            .client
            .write(&self.index, LEDGER_ID, how, &body, doing)
            .await?;
        if reply.status == 409 {
            return Err(StoreError::conflict(
                BACKEND,
                format!(
                    "{doing}: the store ledger changed under this writer (its write lock expired \
                     and another writer took it over); the batch was not written"
                ),
            ));
        }
        let body = reply.into_ok(doing)?;
        let number = |field: &str| {
            body.get(field)
                .and_then(Value::as_u64)
                .ok_or_else(|| unexpected(doing, format!("no `{field}`")))
        };
        current.seq_no = number("_seq_no")?;
        current.primary_term = number("_primary_term")?;
        current.ledger = next;
        Ok(())
    }

    /// Stores the windows of a batch (before the batch is registered).
    pub(super) async fn put_windows(
        &self,
        batch: u64,
        windows: &[String],
    ) -> Result<(), StoreError> {
        let doing = "recording the windows of a batch";
        let body = json!({"kind": "batch", "batch": batch, "windows": windows});
        self.client
            .write(
                &self.index,
                &batch_doc_id(batch),
                Write::Replace,
                &body,
                doing,
            )
            .await?
            .into_ok(doing)
            .map(|_| ())
    }

    /// The windows of batches (`mget`, realtime); `None` for a batch whose list is gone
    /// (forgotten after its clean-up).
    pub(super) async fn windows(
        &self,
        batches: &[u64],
    ) -> Result<Vec<(u64, Option<Vec<String>>)>, StoreError> {
        if batches.is_empty() {
            return Ok(Vec::new());
        }
        let doing = "reading the windows of batches in flight";
        let ids: Vec<String> = batches.iter().map(|b| batch_doc_id(*b)).collect();
        let body = self.client.mget(&self.index, &ids, doing).await?;
        let docs = body
            .get("docs")
            .and_then(Value::as_array)
            .filter(|d| d.len() == batches.len())
            .ok_or_else(|| unexpected(doing, "no `docs` for every batch"))?;
        let mut out = Vec::with_capacity(batches.len());
        for (&batch, doc) in batches.iter().zip(docs) {
            let Some(windows) = doc
                .get("_source")
                .and_then(|s| s.get("windows"))
                .and_then(Value::as_array)
            else {
                out.push((batch, None));
                continue;
            };
            let windows = windows
                .iter()
                .map(|w| w.as_str().map(str::to_string))
                .collect::<Option<Vec<String>>>()
                .ok_or_else(|| unexpected(doing, format!("batch {batch}: a window is not text")))?;
            out.push((batch, Some(windows)));
        }
        Ok(out)
    }

    /// Forgets the windows of a batch that is no longer in flight (best effort: a leftover
    /// list is never read again).
    pub(super) async fn delete_windows(&self, batch: u64) {
        let _ = self
            .client
            .delete(
                &self.index,
                &batch_doc_id(batch),
                "forgetting the windows of a batch",
            )
            .await;
    }

    /// What reads may see now, and the ledger it comes from. A window list that vanished
    /// between reading the ledger and reading the list (its batch was cleaned up meanwhile)
    /// means the ledger changed: read again.
    pub(super) async fn view(&self) -> Result<View, StoreError> {
        for _ in 0..MAX_LEDGER_READS {
            let current = self.read().await?;
            let ledger = &current.ledger;
            let committed: Vec<u64> = ledger
                .batches
                .iter()
                .filter(|b| b.state == BatchState::Committed)
                .map(|b| b.batch)
                .collect();
            let aborted = ledger
                .batches
                .iter()
                .filter(|b| b.state == BatchState::Aborted)
                .map(|b| b.batch)
                .collect();
            let lists = self.windows(&committed).await?;
            let Some(superseding) = lists
                .into_iter()
                .map(|(batch, windows)| windows.map(|w| (batch, w)))
                .collect::<Option<Vec<_>>>()
            else {
                continue;
            };
            return Ok(View {
                visibility: Visibility {
                    committed_through: ledger.committed_through,
                    aborted,
                    superseding,
                },
                ledger: current.ledger,
            });
        }
        Err(StoreError::unavailable(
            BACKEND,
            format!(
                "reading the store ledger: it changed during each of {MAX_LEDGER_READS} reads; retry"
            ),
        ))
    }
}

/// What a read sees: which rows, and the ledger that says so (its roll-up state plans the read).
#[derive(Debug, Clone)]
pub(super) struct View {
    pub(super) visibility: Visibility,
    pub(super) ledger: Ledger,
}

/// Reads of the ledger before a reader gives up on a store that keeps changing.
pub(super) const MAX_LEDGER_READS: usize = 10;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ledger_round_trips_and_tracks_batches() {
        let mut l = Ledger::default();
        l.set(3, BatchState::Pending, 1);
        l.set(3, BatchState::Committed, 2);
        l.set(4, BatchState::Aborted, 3);
        l.lock = Some(Lock {
            owner: "me".to_string(),
            expires_at_ms: 1000,
        });
        let json = serde_json::to_value(&l).unwrap();
        assert_eq!(
            json["batches"][0],
            json!({"batch": 3, "state": "committed", "since_ms": 2})
        );
        assert_eq!(json["kind"], "ledger");
        let back: Ledger = serde_json::from_value(json).unwrap();
        assert_eq!(back, l);
        l.remove(3);
        assert_eq!(l.batches.len(), 1);
        assert!(l.lock_available("me", 0));
        assert!(!l.lock_available("other", 999));
        assert!(l.lock_available("other", 1000));
        assert!(Ledger::default().lock_available("anyone", 0));
    }
}
