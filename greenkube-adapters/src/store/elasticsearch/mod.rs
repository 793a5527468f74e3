//! The Elasticsearch store (`http(s)://HOST:PORT`): footprint rows as documents in one index,
//! written in all-or-nothing batches, aggregated by the cluster.
//!
//! Speaks the Elasticsearch 8 / OpenSearch 2–3 REST API through a thin reqwest client
//! (`_bulk`, `_search`, `_count`, `_delete_by_query`, `_mget`, index templates), with rustls.
//! It is tested against an API-compatible emulator (`osmem-server`, OpenSearch 3.8 API), not
//! a real Elasticsearch, which cannot be installed on the development machine.
//!
//! # URL
//!
//! `http(s)://[USER[:PASSWORD]@]HOST[:PORT][/PATH][?index_prefix=NAME]`: basic authentication
//! from the user info, a path prefix for a cluster behind a proxy, and the index prefix
//! (default `greenkube`).
//!
//! # Indices ("migrations")
//!
//! * `PREFIX-footprints` ([`mappings/footprints.json`]): one document per pod and window
//!   (`row: pod`) and per node and window (`row: node`), strict mapping, keyed by
//!   `(cluster, namespace, pod, window_start)` (nodes: `(cluster, node, window_start)`) and the
//!   batch that wrote it: `_id` is `p-<sha256 of the key>-<batch>`.
//! * `PREFIX-meta` ([`mappings/meta.json`]): the ledger document (with the roll-up state) and
//!   the window lists of batches in flight.
//! * `PREFIX-rollups` ([`mappings/rollups.json`]): hourly and daily roll-ups (below).
//!
//! Opening a store puts an index template for each (so an index re-created by anything else
//! gets the same mappings), creates the indices and the ledger when missing, and checks the
//! schema version kept in the footprint mapping's `_meta` (a newer one is
//! [`StoreErrorKind::Conflict`]). Schema 1 had no roll-ups; opening such a store (migration 2)
//! adds the roll-up index and the ledger field, marks every hour and day holding rows dirty
//! (so the next `maintain` rolls them up before any cut can seal them), and raises the
//! version last, so an interrupted upgrade is done again. Schema 2 keeps greenkube releases
//! without roll-ups out: they would ignore the cuts, and drop the roll-up state from the
//! ledger when they rewrite it.
//!
//! The history repositories (snapshot archive, node history, intensities, recommendations,
//! savings ledger, embodied cache) live in indices of their own, opened by
//! [`ElasticsearchHistoryRepository`]; how each of their rules holds without transactions is in
//! the [`history`] module.
//!
//! # All-or-nothing batches without transactions
//!
//! Elasticsearch has no multi-document transaction, so a batch becomes visible through **one
//! document update**: the ledger, changed only by compare-and-swap (`if_seq_no` /
//! `if_primary_term`). The ledger holds a write lock (owner and lease), `committed_through`
//! (the highest committed batch), `next_batch`, and the batches in flight with their state.
//!
//! A write:
//! 1. checks every row (nothing is sent if one is invalid);
//! 2. takes the write lock (waiting for another writer's, or taking over an expired lease)
//!    and finishes what a dead writer left (below);
//! 3. takes batch number `n = next_batch`, records the batch's windows in `batch-n`, and
//!    registers `n` as *pending*;
//! 4. bulk-indexes every row with `batch: n` (new document ids, so no stored row is touched),
//!    renewing the lease between requests, and refreshes the index;
//! 5. **commits**: `committed_through = n`, `n` *committed* (one compare-and-swap);
//! 6. deletes the rows `n` replaces (rows of its windows with `batch < n`, which is also how a
//!    restated window loses pods no longer present), then forgets `n` and releases the lock.
//!
//! Every read first reads the ledger and hides:
//! * rows with `batch > committed_through` (a pending batch);
//! * rows of *aborted* batches;
//! * in the windows of each *committed* batch still in flight, rows with an older batch.
//!
//! So a read sees either the whole old state of a window or the whole new one, never a mix, and
//! a batch that fails (invalid data, a lost connection, a crash) is never visible: the writer
//! marks it *aborted* and deletes its rows, or, if it cannot reach the server, the next writer
//! does. A read also re-reads `committed_through` at the end and starts again if a commit
//! happened meanwhile (the clean-up of step 6 may have deleted rows under it). An aborted batch
//! stays listed (hidden) for the lease plus the request time-out, in case a request of its
//! writer was still in flight, and is deleted again when it is forgotten. At rest (no write
//! in flight) the index holds exactly one document per pod and window.
//!
//! Limits: writers on machines whose clocks differ by more than the lease may take over a
//! live writer's lock (its compare-and-swap then fails and its batch is aborted, never
//! half-visible); ES returns `min`/`max` aggregations as doubles, so `first_window` and
//! `last_window` are exact to the microsecond for windows before 2255.
//!
//! # Aggregation
//!
//! One composite aggregation (over raw rows and roll-ups, below), paged by `after_key`: `terms`
//! sources on the grouping's keyword fields and a `date_histogram` source (`calendar_interval`
//! hour/day/week/month/year, UTC, weeks from Monday) on the window start; `sum` of every figure
//! and bound (node overhead fields summed beside the pod fields for node and cluster
//! groupings), of the cost and of the row counters, `min` window start and `max` window end.
//! Period labels are computed from the bucket start by the core.
//!
//! # Roll-ups and retention
//!
//! (The rules are `greenkube_core::ports::RetentionPolicy`'s.) A roll-up document sums the
//! raw rows of one pod (`row: pod`, grouped by cluster, namespace, pod, workload kind,
//! workload and node) or node (`row: node`, by cluster and node) over one hour
//! (`level: hour`) or day (`level: day`, summed from the hourly roll-ups). It has the fields a
//! report reads under the raw rows' names: the sums of every figure and bound, of the known
//! costs and of the row counters, `window_start_us` the first window start and
//! `window_end_us` the last window end, `window_start` (for `date_histogram`) and `bucket_us`
//! the hour or day start. Its `_id` is `h|d-p|n-<bucket>-<sha256 of level, bucket and keys>`,
//! so rolling a bucket up again overwrites it (stale groups are deleted first).
//!
//! The **roll-up state** lives in the ledger (`rollups`, an unindexed object): the retention
//! cuts, the *dirty* buckets (rows committed since the last roll-up), the *rolled* buckets
//! (roll-ups current; only those reads can still use are kept), stored as runs of consecutive
//! buckets, and an `epoch`. So:
//!
//! * a write checks its windows against the raw cut under the write lock (refusing sealed
//!   ones before sending anything), and its **commit** (the one compare-and-swap that makes
//!   it visible) also marks its hours and days dirty and no longer rolled: a visible batch is
//!   never read from a stale roll-up, and a roll-up never counts an invisible batch;
//! * `maintain` works in steps, each under the write lock and ended by one compare-and-swap
//!   that records it and releases the lock (writers get turns in between): up to 24 complete
//!   dirty hours are rolled up (roll-ups of those buckets cleared, a composite aggregation
//!   over their visible raw rows, bulk-indexed, refreshed, then marked rolled), then complete
//!   dirty days without dirty hours the same way from the hourly roll-ups, then the cuts
//!   advance (when nothing is left to roll up, every hour before the new raw cut and every
//!   day before the new hourly cut is rolled up). Only then are raw rows and roll-ups below
//!   the recorded cuts deleted (`_delete_by_query`), on every run, so a run interrupted
//!   there is finished by the next; reads and pages never look below the cuts anyway;
//! * a report reads the ledger, plans the read (`ReadPlan`: raw ranges, hourly and daily
//!   roll-up ranges of current buckets, sealed edges widened) and runs one composite
//!   aggregation over `PREFIX-footprints,PREFIX-rollups`: a `bool` of visible raw rows in the
//!   raw ranges or roll-ups of the right level in the others (told apart by `_index`).
//!   Every step of `maintain` that changes what a read sees bumps the epoch; like a commit,
//!   it makes an overlapping read start again.
//!
//! A `maintain` that dies mid-step leaves its roll-up documents for buckets still dirty
//! (never read, replaced by the next run) and the lock to expire; one that dies after
//! advancing the cuts leaves sealed rows the next run deletes. Limits: a greenkube of
//! schema 1 still running against an upgraded store drops the roll-up state when it rewrites
//! the ledger; the store then refuses reads, writes and `maintain`
//! ([`StoreErrorKind::Conflict`]) rather than read sealed history as empty, and has to be
//! repaired by hand. A plan's ranges are `bool` clauses: thousands of alternating dirty and
//! rolled hours would meet Elasticsearch's clause limit (`indices.query.bool.max_clause_count`).
//!
//! [`mappings/footprints.json`]: https://github.com/greenkube/greenkube-rs/blob/main/greenkube-adapters/src/store/elasticsearch/mappings/footprints.json
//! [`mappings/meta.json`]: https://github.com/greenkube/greenkube-rs/blob/main/greenkube-adapters/src/store/elasticsearch/mappings/meta.json
//! [`mappings/rollups.json`]: https://github.com/greenkube/greenkube-rs/blob/main/greenkube-adapters/src/store/elasticsearch/mappings/rollups.json
//! [`StoreErrorKind::Conflict`]: greenkube_core::ports::StoreErrorKind::Conflict

mod client;
mod codec;
mod error;
pub mod history;
mod ledger;
mod maintain;
mod model;
mod node_history;
mod query;
mod rollup;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use greenkube_core::ports::{
    FootprintRepository, MAX_PAGE_SIZE, MaintenanceSummary, PodCursor, PodPage, ReportQuery,
    RetentionPolicy, RetentionState, StoreError, StoreErrorKind, TimeRange, WindowRecords,
    WriteSummary,
};
use greenkube_core::{AggregateRow, Footprint};
use reqwest::Method;
use serde_json::{Value, json};

use self::client::Client;
pub use self::client::{DEFAULT_INDEX_PREFIX, ElasticsearchConfig};
use self::error::unexpected;
pub use self::history::{ElasticsearchHistoryRepository, HISTORY_INDICES, HISTORY_SCHEMA_VERSION};
use self::ledger::{BatchState, Ledger, Lock, MAX_LEDGER_READS, Meta, Versioned, View, now_ms};
use self::model::{NodeDocument, PodDocument, micros, node_id, pod_id, window_id};
use self::query::{TERMS_PER_CLAUSE, Visibility};
use super::{AppliedMigration, MigrationReport, OpenOptions};

const BACKEND: &str = "elasticsearch";

/// The schema version these mappings are: 1 footprints, ledger and batch windows; 2 roll-ups
/// and retention (the `PREFIX-rollups` index and the roll-up state in the ledger).
pub const SCHEMA_VERSION: i64 = 2;

const FOOTPRINTS_MAPPING: &str = include_str!("mappings/footprints.json");
const META_MAPPING: &str = include_str!("mappings/meta.json");
const ROLLUPS_MAPPING: &str = include_str!("mappings/rollups.json");

/// The migrations of the footprint store, by schema version.
const MIGRATIONS: [(i64, &str); 2] = [
    (1, "footprints (index templates and mappings)"),
    (
        2,
        "roll-ups and retention (the rollups index, roll-up state in the ledger)",
    ),
];

/// Footprint rows in Elasticsearch (or an API-compatible server).
#[derive(Debug)]
pub struct ElasticsearchFootprintRepository {
    client: Client,
    meta: Meta,
    config: ElasticsearchConfig,
    footprints_index: String,
    meta_index: String,
    rollups_index: String,
    /// Who this repository is when it holds the write lock.
    owner: String,
    /// One write at a time per repository (the lock is per owner).
    writer: tokio::sync::Mutex<()>,
}

/// A lock owner unique to this repository: process, time and a counter.
fn new_owner() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!(
        "greenkube-{}-{}-{}",
        std::process::id(),
        now_ms(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

fn mapping(text: &str) -> Result<Value, StoreError> {
    serde_json::from_str(text).map_err(|e| {
        StoreError::other(BACKEND, "the built-in index mapping is not JSON").with_source(e)
    })
}

/// Checks that the server answers like Elasticsearch or OpenSearch (`GET /`).
async fn check_server(client: &Client) -> Result<(), StoreError> {
    let doing = "connecting";
    let root = client.ok(Method::GET, "/", None, doing).await?;
    if root.pointer("/version/number").is_none() {
        return Err(unexpected(
            doing,
            format!(
                "`{}` does not answer like Elasticsearch or OpenSearch",
                client.location()
            ),
        ));
    }
    Ok(())
}

/// The schema version of an index, from its mapping's `_meta`; `None` when the index does not
/// exist, [`StoreErrorKind::Conflict`] when it exists without one (not made by greenkube).
async fn index_schema_version(client: &Client, index: &str) -> Result<Option<i64>, StoreError> {
    let doing = "reading the index mappings";
    let reply = client
        .call(Method::GET, &format!("/{index}/_mapping"), None, doing)
        .await?;
    if reply.status == 404 {
        return Ok(None);
    }
    let body = reply.into_ok(doing)?;
    let version = body
        .as_object()
        .and_then(|indices| indices.values().next())
        .and_then(|i| i.pointer("/mappings/_meta/greenkube_schema_version"))
        .and_then(Value::as_i64);
    match version {
        Some(v) => Ok(Some(v)),
        None => Err(StoreError::conflict(
            BACKEND,
            format!(
                "index `{index}` at `{}` exists but was not made by greenkube (no schema \
                 version in its mapping); choose another `index_prefix`",
                client.location()
            ),
        )),
    }
}

/// Puts the index template of `index` (schema `version`) and creates the index (an existing
/// index is kept).
async fn install_index(
    client: &Client,
    index: &str,
    mapping_text: &str,
    version: i64,
) -> Result<(), StoreError> {
    let template = mapping(mapping_text)?;
    let doing = "installing the index template";
    client
        .ok(
            Method::PUT,
            &format!("/_index_template/{index}"),
            Some(&json!({
                "index_patterns": [index],
                "priority": 200,
                "template": template,
                "_meta": {"managed_by": "greenkube", "greenkube_schema_version": version}
            })),
            doing,
        )
        .await?;
    let doing = "creating the index";
    let reply = client
        .call(Method::PUT, &format!("/{index}"), Some(&template), doing)
        .await?;
    if reply.is_success() || reply.error().kind == "resource_already_exists_exception" {
        Ok(())
    } else {
        reply.into_ok(doing).map(|_| ())
    }
}

impl ElasticsearchFootprintRepository {
    /// Opens the store an `http(s)://` URL names and brings its indices up to date (creating
    /// them when missing, with `create_if_missing`).
    pub async fn open(
        url: &str,
        options: OpenOptions,
    ) -> Result<(Self, MigrationReport), StoreError> {
        Self::open_with_config(ElasticsearchConfig::from_url(url)?, options).await
    }

    /// Opens the store a configuration names and brings its indices up to date.
    pub async fn open_with_config(
        config: ElasticsearchConfig,
        options: OpenOptions,
    ) -> Result<(Self, MigrationReport), StoreError> {
        let client = Client::new(&config)?;
        let footprints_index = format!("{}-footprints", config.index_prefix);
        let meta_index = format!("{}-meta", config.index_prefix);
        let rollups_index = format!("{}-rollups", config.index_prefix);
        let repository = Self {
            meta: Meta::new(client.clone(), meta_index.clone()),
            client,
            config,
            footprints_index,
            meta_index,
            rollups_index,
            owner: new_owner(),
            writer: tokio::sync::Mutex::new(()),
        };
        let migrations = repository.migrate(options).await?;
        Ok((repository, migrations))
    }

    /// The configuration.
    pub fn config(&self) -> &ElasticsearchConfig {
        &self.config
    }

    /// The index holding the footprint rows.
    pub fn footprints_index(&self) -> &str {
        &self.footprints_index
    }

    /// The index holding the ledger.
    pub fn meta_index(&self) -> &str {
        &self.meta_index
    }

    /// The index holding the hourly and daily roll-ups.
    pub fn rollups_index(&self) -> &str {
        &self.rollups_index
    }

    /// The schema version of an index, from its mapping's `_meta`; `None` when the index does
    /// not exist.
    async fn schema_version(&self, index: &str) -> Result<Option<i64>, StoreError> {
        index_schema_version(&self.client, index).await
    }

    /// Puts the index template of `index` and creates it (an existing index is kept).
    async fn install(&self, index: &str, mapping_text: &str) -> Result<(), StoreError> {
        install_index(&self.client, index, mapping_text, SCHEMA_VERSION).await
    }

    /// Puts the current index template of an existing index and adds what its mapping lacks
    /// (new fields, the schema version in `_meta`).
    async fn upgrade_mapping(&self, index: &str, mapping_text: &str) -> Result<(), StoreError> {
        self.install(index, mapping_text).await?;
        let doing = "upgrading the index mapping";
        let mappings = mapping(mapping_text)?
            .get("mappings")
            .cloned()
            .ok_or_else(|| unexpected(doing, "the built-in mapping has no `mappings`"))?;
        self.client
            .ok(
                Method::PUT,
                &format!("/{index}/_mapping"),
                Some(&mappings),
                doing,
            )
            .await
            .map(|_| ())
    }

    async fn migrate(&self, options: OpenOptions) -> Result<MigrationReport, StoreError> {
        check_server(&self.client).await?;
        let newer = |index: &str, v: i64| {
            StoreError::conflict(
                BACKEND,
                format!(
                    "index `{index}` has schema version {v}, which this greenkube (schema \
                     {SCHEMA_VERSION}) does not know: it was written by a newer greenkube"
                ),
            )
        };
        // The schema version of the store is the footprint index's; 0: a new store.
        let from = match self.schema_version(&self.footprints_index).await? {
            Some(v) if v > SCHEMA_VERSION => return Err(newer(&self.footprints_index, v)),
            Some(v) if v >= 1 => v,
            Some(v) => {
                return Err(StoreError::conflict(
                    BACKEND,
                    format!(
                        "index `{}` has unknown schema version {v}",
                        self.footprints_index
                    ),
                ));
            }
            None if !options.create_if_missing => {
                return Err(StoreError::unavailable(
                    BACKEND,
                    format!(
                        "no greenkube indices `{}` at `{}`",
                        self.footprints_index,
                        self.client.location()
                    ),
                ));
            }
            None => {
                self.install(&self.footprints_index, FOOTPRINTS_MAPPING)
                    .await?;
                0
            }
        };
        match self.schema_version(&self.meta_index).await? {
            Some(v) if v > SCHEMA_VERSION => return Err(newer(&self.meta_index, v)),
            Some(v) if v < SCHEMA_VERSION => {
                self.upgrade_mapping(&self.meta_index, META_MAPPING).await?;
            }
            Some(_) => {}
            None => self.install(&self.meta_index, META_MAPPING).await?,
        }
        match self.schema_version(&self.rollups_index).await? {
            Some(v) if v > SCHEMA_VERSION => return Err(newer(&self.rollups_index, v)),
            Some(_) => {}
            None => self.install(&self.rollups_index, ROLLUPS_MAPPING).await?,
        }
        self.meta.create_ledger().await?;
        if from == 1 {
            // Rows written before roll-ups: their hours wait for the first roll-up. The
            // version is raised last, so an interrupted upgrade is simply done again.
            self.mark_stored_rows_dirty().await?;
            self.upgrade_mapping(&self.footprints_index, FOOTPRINTS_MAPPING)
                .await?;
        } else {
            self.meta.read().await?.ledger.rollups()?;
        }
        let applied = MIGRATIONS
            .iter()
            .filter(|(version, _)| *version > from)
            .map(|(version, description)| AppliedMigration {
                version: *version,
                description: (*description).to_string(),
            })
            .collect();
        Ok(MigrationReport {
            applied,
            schema_version: SCHEMA_VERSION,
        })
    }

    /// Documents physically in the footprint index, `(pod, node)`, whatever their batch: at
    /// rest, exactly the stored rows. For tests and tools.
    pub async fn count_documents(&self) -> Result<(u64, u64), StoreError> {
        let mut out = [0; 2];
        for (slot, row) in out.iter_mut().zip([model::POD_ROW, model::NODE_ROW]) {
            *slot = self
                .count(&json!({"term": {"row": row}}), "counting documents")
                .await?;
        }
        Ok((out[0], out[1]))
    }

    async fn count(&self, query: &Value, doing: &str) -> Result<u64, StoreError> {
        let body = self
            .client
            .ok(
                Method::POST,
                &format!("/{}/_count", self.footprints_index),
                Some(&json!({"query": query})),
                doing,
            )
            .await?;
        body.get("count")
            .and_then(Value::as_u64)
            .ok_or_else(|| unexpected(doing, "no `count`"))
    }

    async fn delete_by_query(&self, query: &Value, doing: &str) -> Result<(), StoreError> {
        self.delete_in(&self.footprints_index, query, doing)
            .await
            .map(|_| ())
    }

    /// Deletes the documents of `index` that `query` matches (and refreshes it); returns how
    /// many were deleted.
    async fn delete_in(&self, index: &str, query: &Value, doing: &str) -> Result<u64, StoreError> {
        let body = self
            .client
            .ok(
                Method::POST,
                &format!("/{index}/_delete_by_query?refresh=true&conflicts=proceed"),
                Some(&json!({"query": query})),
                doing,
            )
            .await?;
        let failures = body
            .get("failures")
            .and_then(Value::as_array)
            .map_or(0, Vec::len);
        if failures > 0 || body.get("timed_out") == Some(&Value::Bool(true)) {
            return Err(StoreError::unavailable(
                BACKEND,
                format!("{doing}: the delete-by-query did not finish: {body}"),
            ));
        }
        Ok(body.get("deleted").and_then(Value::as_u64).unwrap_or(0))
    }

    async fn refresh(&self) -> Result<(), StoreError> {
        self.refresh_index(&self.footprints_index).await
    }

    async fn refresh_index(&self, index: &str) -> Result<(), StoreError> {
        let doing = "refreshing an index";
        self.client
            .ok(Method::POST, &format!("/{index}/_refresh"), None, doing)
            .await
            .map(|_| ())
    }

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
    async fn acquire(&self) -> Result<Versioned, StoreError> {
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
                        self.footprints_index,
                        self.config.lock_wait.as_secs()
                    ),
                ));
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_millis(500));
        }
    }

    /// Renews the lease when less than half of it is left.
    async fn keep_lock(&self, current: &mut Versioned) -> Result<(), StoreError> {
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
    async fn release(&self, current: &mut Versioned) {
        let mut next = current.ledger.clone();
        next.lock = None;
        let _ = self
            .meta
            .replace(current, next, "releasing the write lock")
            .await;
    }

    /// Deletes the rows `batch` replaced in `windows`.
    async fn delete_superseded(&self, batch: u64, windows: &[String]) -> Result<(), StoreError> {
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
                                    self.meta_index
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
    async fn abort(&self, current: &mut Versioned, batch: u64) {
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

    /// Steps 4 and 5: writes the rows of `batch`, counts what they replace, and commits.
    /// Returns the stored pod rows replaced.
    async fn write_and_commit(
        &self,
        current: &mut Versioned,
        batch: u64,
        windows: &[(String, &WindowRecords)],
        window_ids: &[String],
    ) -> Result<usize, StoreError> {
        // Under the lock nothing else is in flight but aborted batches in quarantine.
        let visibility = current.ledger.visibility_under_lock();
        let mut replaced = 0;
        for chunk in window_ids.chunks(TERMS_PER_CLAUSE) {
            let query = json!({"bool": {
                "filter": [query::superseded_by(batch, chunk, true)],
                "must_not": visibility.must_not()
            }});
            replaced += self.count(&query, "counting replaced rows").await?;
        }
        let mut body: Vec<u8> = Vec::new();
        let mut documents = 0;
        let index = &self.footprints_index;
        for (_, w) in windows {
            for p in &w.pods {
                push_document(
                    &mut body,
                    index,
                    &pod_id(p, batch),
                    &PodDocument::new(p, batch),
                )?;
                documents += 1;
                if documents == self.config.bulk_documents {
                    self.send_bulk(current, std::mem::take(&mut body)).await?;
                    documents = 0;
                }
            }
            for n in &w.nodes {
                push_document(
                    &mut body,
                    index,
                    &node_id(n, batch),
                    &NodeDocument::new(n, batch),
                )?;
                documents += 1;
                if documents == self.config.bulk_documents {
                    self.send_bulk(current, std::mem::take(&mut body)).await?;
                    documents = 0;
                }
            }
        }
        if documents > 0 {
            self.send_bulk(current, body).await?;
        }
        self.refresh().await?;
        let mut next = current.ledger.clone();
        next.committed_through = batch;
        next.set(batch, BatchState::Committed, now_ms());
        // The same compare-and-swap that makes the batch visible makes its hours and days
        // stale: no roll-up is read for them until they are rolled up again.
        let rollups = next.rollups_mut()?;
        for (_, w) in windows {
            rollups.mark_written(micros(w.window_start));
        }
        self.meta
            .replace(current, next, "committing a batch")
            .await?;
        Ok(usize::try_from(replaced).unwrap_or(usize::MAX))
    }

    async fn send_bulk(&self, current: &mut Versioned, body: Vec<u8>) -> Result<(), StoreError> {
        self.keep_lock(current).await?;
        let doing = "writing footprint rows";
        let reply = self.client.bulk("/_bulk", body, doing).await?;
        if reply.get("errors") != Some(&Value::Bool(true)) {
            return Ok(());
        }
        let first = reply
            .get("items")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|item| item.get("index"))
            .find(|i| i.get("error").is_some());
        let (status, error) = first.map_or((0, Value::Null), |i| {
            (
                i.get("status").and_then(Value::as_u64).unwrap_or(0),
                i.get("error").cloned().unwrap_or(Value::Null),
            )
        });
        let e = error::ResponseError::parse(
            u16::try_from(status).unwrap_or(500),
            json!({ "error": error }).to_string().as_bytes(),
        );
        Err(error::convert_response_err(doing, e))
    }

    /// The pod rows of one page, as the ledger allows.
    async fn page_once(
        &self,
        range: TimeRange,
        after: Option<&PodCursor>,
        limit: usize,
        visibility: &Visibility,
    ) -> Result<PodPage, StoreError> {
        let doing = "reading pod rows";
        let body = self
            .client
            .ok(
                Method::POST,
                &format!("/{}/_search", self.footprints_index),
                Some(&query::page_body(range, after, limit + 1, visibility)),
                doing,
            )
            .await?;
        let hits = body
            .pointer("/hits/hits")
            .and_then(Value::as_array)
            .ok_or_else(|| unexpected(doing, "no `hits`"))?;
        let mut rows = Vec::with_capacity(hits.len().min(limit + 1));
        for hit in hits {
            let source = hit
                .get("_source")
                .cloned()
                .ok_or_else(|| unexpected(doing, "a hit has no `_source`"))?;
            let document: PodDocument = serde_json::from_value(source).map_err(|e| {
                StoreError::invalid_data(BACKEND, format!("{doing}: a stored row is damaged: {e}"))
            })?;
            rows.push(document.into_record()?);
        }
        let next = if rows.len() > limit {
            rows.truncate(limit);
            rows.last().map(PodCursor::after)
        } else {
            None
        };
        Ok(PodPage { rows, next })
    }

    /// Every group of a report, as the ledger allows, page by page.
    ///
    /// The ledger's roll-up state plans the read ([`ReadPlan`]): raw rows for its raw ranges,
    /// roll-ups for its hourly and daily ranges, summed by one composite aggregation over the
    /// footprint and roll-up indices.
    ///
    /// [`ReadPlan`]: greenkube_core::ports::ReadPlan
    async fn aggregate_once(
        &self,
        query: &ReportQuery,
        view: &View,
    ) -> Result<Vec<AggregateRow>, StoreError> {
        let doing = "aggregating footprints";
        let plan = view.ledger.rollups()?.plan(query.range, query.period)?;
        let Some(filter) = rollup::plan_filter(
            &plan,
            query::includes_nodes(query.group_by),
            &view.visibility,
            &self.footprints_index,
            &self.rollups_index,
        ) else {
            return Ok(Vec::new());
        };
        let indices = format!("{},{}", self.footprints_index, self.rollups_index);
        let mut out = Vec::new();
        let mut after: Option<Value> = None;
        loop {
            let body = query::aggregate_body(&filter, query.group_by, query.period, after.as_ref());
            let (buckets, next) = self.composite_page(&indices, &body, doing).await?;
            for bucket in &buckets {
                out.push(model::aggregate_from_bucket(
                    bucket,
                    query.group_by,
                    query.period,
                )?);
            }
            match next {
                Some(key) => after = Some(key),
                None => break,
            }
        }
        out.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(out)
    }

    /// True when no batch was committed, and nothing rolled up or sealed, since `ledger` was
    /// read.
    async fn unchanged_since(&self, ledger: &Ledger) -> Result<bool, StoreError> {
        Ok(self.meta.read().await?.ledger.read_token() == ledger.read_token())
    }
}

/// Appends one `index` action and its document to a `_bulk` body.
fn push_document(
    body: &mut Vec<u8>,
    index: &str,
    id: &str,
    document: &impl serde::Serialize,
) -> Result<(), StoreError> {
    let encode = |e: serde_json::Error| {
        StoreError::other(BACKEND, "cannot encode a footprint row").with_source(e)
    };
    serde_json::to_writer(&mut *body, &json!({"index": {"_index": index, "_id": id}}))
        .map_err(encode)?;
    body.push(b'\n');
    serde_json::to_writer(&mut *body, document).map_err(encode)?;
    body.push(b'\n');
    Ok(())
}

fn changing() -> StoreError {
    StoreError::unavailable(
        BACKEND,
        format!(
            "batches were committed during each of {MAX_LEDGER_READS} reads, so none saw one \
             state of the store; retry"
        ),
    )
}

#[async_trait]
impl FootprintRepository for ElasticsearchFootprintRepository {
    fn backend(&self) -> &'static str {
        BACKEND
    }

    async fn write_footprints(&self, batch: &[Footprint]) -> Result<WriteSummary, StoreError> {
        let mut summary = WriteSummary::default();
        let mut records = Vec::with_capacity(batch.len());
        // Pod rows of the last footprint of each window seen so far in the batch.
        let mut in_batch: HashMap<String, usize> = HashMap::new();
        let mut replaced_in_batch = 0;
        for fp in batch {
            let w = WindowRecords::from_footprint(fp);
            w.validate()
                .map_err(|e| StoreError::invalid_data(BACKEND, e.to_string()))?;
            summary.windows += 1;
            summary.pod_rows += w.pods.len();
            summary.node_rows += w.nodes.len();
            let id = window_id(w.cluster.as_deref(), w.window_start);
            if let Some(previous) = in_batch.insert(id.clone(), w.pods.len()) {
                replaced_in_batch += previous;
            }
            records.push((id, w));
        }
        if records.is_empty() {
            return Ok(summary);
        }
        // The last footprint of each window wins.
        let mut seen = HashSet::with_capacity(records.len());
        let mut windows: Vec<(String, &WindowRecords)> = records
            .iter()
            .rev()
            .filter(|(id, _)| seen.insert(id.as_str()))
            .map(|(id, w)| (id.clone(), w))
            .collect();
        windows.reverse();
        let window_ids: Vec<String> = windows.iter().map(|(id, _)| id.clone()).collect();

        let _one_writer = self.writer.lock().await;
        let mut current = self.acquire().await?;
        // Under the lock: the cuts cannot advance before this batch commits or aborts.
        let writable = current
            .ledger
            .rollups()
            .and_then(rollup::RollupState::retention)
            .and_then(|cuts| {
                windows
                    .iter()
                    .try_for_each(|(_, w)| cuts.check_writable(BACKEND, w))
            });
        if let Err(e) = writable {
            self.release(&mut current).await;
            return Err(e);
        }
        let batch_number = current.ledger.next_batch;
        let registered = async {
            self.meta.put_windows(batch_number, &window_ids).await?;
            let mut next = current.ledger.clone();
            next.next_batch = batch_number + 1;
            next.set(batch_number, BatchState::Pending, now_ms());
            self.meta
                .replace(&mut current, next, "registering a batch")
                .await
        }
        .await;
        if let Err(e) = registered {
            self.release(&mut current).await;
            return Err(e);
        }
        let replaced = match self
            .write_and_commit(&mut current, batch_number, &windows, &window_ids)
            .await
        {
            Ok(replaced) => replaced,
            Err(e) => {
                self.abort(&mut current, batch_number).await;
                return Err(e);
            }
        };
        // Committed: what is left is clean-up, which the next writer redoes if it fails here.
        if self
            .delete_superseded(batch_number, &window_ids)
            .await
            .is_ok()
        {
            let mut next = current.ledger.clone();
            next.remove(batch_number);
            next.lock = None;
            if self
                .meta
                .replace(&mut current, next, "finishing a batch")
                .await
                .is_ok()
            {
                self.meta.delete_windows(batch_number).await;
            }
        } else {
            self.release(&mut current).await;
        }
        summary.replaced_pod_rows = replaced + replaced_in_batch;
        Ok(summary)
    }

    async fn aggregate(&self, query: &ReportQuery) -> Result<Vec<AggregateRow>, StoreError> {
        for _ in 0..MAX_LEDGER_READS {
            let view = self.meta.view().await?;
            let rows = self.aggregate_once(query, &view).await?;
            if self.unchanged_since(&view.ledger).await? {
                return Ok(rows);
            }
        }
        Err(changing())
    }

    async fn read_pod_rows(
        &self,
        range: TimeRange,
        after: Option<&PodCursor>,
        limit: usize,
    ) -> Result<PodPage, StoreError> {
        if limit == 0 {
            return Err(StoreError::invalid_data(
                BACKEND,
                "page limit must be at least 1",
            ));
        }
        let limit = limit.min(MAX_PAGE_SIZE);
        for _ in 0..MAX_LEDGER_READS {
            let view = self.meta.view().await?;
            // Sealed raw rows are no longer pages' to show (they may not be deleted yet).
            let cut = view.ledger.rollups()?.retention()?.raw_before;
            let from = cut.map_or(range.from(), |cut| cut.max(range.from()));
            let page = match TimeRange::new(from, range.to()) {
                Ok(unsealed) if !unsealed.is_empty() => {
                    self.page_once(unsealed, after, limit, &view.visibility)
                        .await?
                }
                _ => PodPage::default(),
            };
            if self.unchanged_since(&view.ledger).await? {
                return Ok(page);
            }
        }
        Err(changing())
    }

    async fn maintain(
        &self,
        policy: &RetentionPolicy,
        now: DateTime<Utc>,
    ) -> Result<MaintenanceSummary, StoreError> {
        self.run_maintenance(policy, now).await
    }

    async fn retention_state(&self) -> Result<RetentionState, StoreError> {
        self.meta.read().await?.ledger.rollups()?.retention()
    }
}

/// The ledger as stored, for tests and tools: `(committed_through, next_batch, lock holder,
/// batches in flight as (batch, state))`.
pub async fn ledger_summary(
    repository: &ElasticsearchFootprintRepository,
) -> Result<(u64, u64, Option<String>, Vec<(u64, String)>), StoreError> {
    let Ledger {
        committed_through,
        next_batch,
        lock,
        batches,
        ..
    } = repository.meta.read().await?.ledger;
    let batches = batches
        .into_iter()
        .map(|b| {
            let state = match b.state {
                BatchState::Pending => "pending",
                BatchState::Committed => "committed",
                BatchState::Aborted => "aborted",
            };
            (b.batch, state.to_string())
        })
        .collect();
    Ok((
        committed_through,
        next_batch,
        lock.map(|l| l.owner),
        batches,
    ))
}
