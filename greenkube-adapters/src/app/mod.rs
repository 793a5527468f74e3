//! The use cases every front end shares: the CLI, the HTTP server and the Python package call
//! these functions over one [`Store`](crate::store::Store) opened once per process, and only
//! parse, wire and print around them.
//!
//! * [`report`]: sums of a range from the store, with the range widened to what retention kept.
//! * [`recommend`]: recommendations from the archived windows of a store, saving a scan with its
//!   lifecycle (new, stale, ignored kept), listing and changing the saved ones.
//! * [`restate`]: recomputing stored windows under another methodology, batch by batch at
//!   constant memory.
//! * [`dashboard`]: totals, time series, namespaces and top pods of a range, with intervals,
//!   and the dashboard's windows (`1h` ... `ytd`).
//! * [`score`]: the sustainability score of a range.
//! * [`whatif`]: changes applied to the archived windows of a range.
//! * [`nodes`]: the nodes a store knows at an instant.
//! * `collect` (feature `collector`): running the collector over windows in batches with retries
//!   and a clean stop, and the collection loop of a daemon.
//! * `demo` (features `collector`, `demo`): loading the synthetic cluster's history into a store.
//! * `health` (same features as `sources`): probing the sources.
//! * `sources` (features `collector`, `http-sources`, `kubernetes`): the sources of a
//!   collection from settings, with discovery.
//!
//! Long work reports to a [`Progress`]; "now" always comes in as an argument (the caller reads
//! the clock), so every use case can be replayed and tested at a fixed time.

#[cfg(feature = "collector")]
pub mod collect;
pub mod dashboard;
#[cfg(all(feature = "collector", feature = "demo"))]
pub mod demo;
#[cfg(all(
    feature = "collector",
    feature = "http-sources",
    feature = "kubernetes"
))]
pub mod health;
pub mod nodes;
pub mod recommend;
pub mod report;
pub mod restate;
pub mod score;
#[cfg(all(
    feature = "collector",
    feature = "http-sources",
    feature = "kubernetes"
))]
pub mod sources;
pub mod whatif;

use chrono::{DateTime, Utc};
use greenkube_core::ports::StoreError;

/// Why a use case failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AppError {
    /// The store failed or refused the request.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Collection failed (feature `collector`).
    #[cfg(feature = "collector")]
    #[error(transparent)]
    Collect(#[from] crate::collector::CollectError),
    /// An archived window the engine cannot estimate.
    #[error("archived window {window} cannot be estimated: {source}")]
    Estimate {
        /// Start of the window.
        window: DateTime<Utc>,
        /// The engine's error.
        source: greenkube_core::SnapshotError,
    },
    /// A source could not be set up.
    #[error(transparent)]
    Source(#[from] greenkube_core::ports::SourceError),
    /// An argument is not valid; the message names it.
    #[error("{0}")]
    Invalid(String),
    /// What was asked for is not in the store; the message says what.
    #[error("{0}")]
    NotFound(String),
}

/// Where long work reports how far it got. Every method has a default that does nothing, so a
/// front end implements only what it shows ([`NoProgress`] shows nothing).
pub trait Progress: Send + Sync {
    /// Work on `total` items starts (`what` names it, such as "collecting").
    fn start(&self, total: usize, what: &str) {
        let _ = (total, what);
    }
    /// `done` more items are done.
    fn advance(&self, done: usize) {
        let _ = done;
    }
    /// Something the user should know, that does not stop the work.
    fn note(&self, message: &str) {
        let _ = message;
    }
    /// The work is over.
    fn finish(&self) {}
}

/// Reports nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl Progress for NoProgress {}
