//! The Elasticsearch store (`http(s)://HOST:PORT`): footprint rows as documents in one index,
//! written in all-or-nothing batches, aggregated by the cluster, and the history repositories.
//!
//! Speaks the Elasticsearch 8 / OpenSearch 2–3 REST API through the official `elasticsearch`
//! crate, with rustls: its transport (one node, basic authentication, time-outs) and its typed
//! builders for every request (`_bulk` operations, `_search`, `_count`, `_delete_by_query`,
//! `_mget`, documents by id with `if_seq_no`/`if_primary_term`, index templates, mappings);
//! the batches, the ledger, the queries and the roll-ups are this module's. What the crate
//! lacks is in the `client` module (no connect time-out of its own). It is tested against an
//! API-compatible emulator (`osmem-server`, OpenSearch 3.8 API), not a real Elasticsearch,
//! which cannot be installed on the development machine.
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
//! savings ledger, embodied cache) and the pods' labels (`PREFIX-pods`, see the `pods`
//! module) live in indices of their own (`PREFIX-snapshots`, ...);
//! how each of their rules holds without transactions is in the [`history`] module.
//!
//! One [`ElasticsearchStore`] implements every port over one HTTP client; opening it brings
//! both index sets up to date ([`ElasticsearchStore::open`]): the history indices' versions are
//! checked first, then the footprint indices migrated, then missing history indices created.
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
mod documents;
mod error;
mod fields;
mod footprints;
pub mod history;
mod indices;
mod ledger;
mod lock;
mod maintain;
mod migrate;
mod model;
mod node_history;
mod pods;
mod query;
mod rollup;
mod store;

pub use self::client::{DEFAULT_INDEX_PREFIX, ElasticsearchConfig};
pub use self::footprints::ledger_summary;
pub use self::indices::{HISTORY_INDICES, HISTORY_SCHEMA_VERSION, SCHEMA_VERSION};
use self::store::BACKEND;
pub use self::store::ElasticsearchStore;
