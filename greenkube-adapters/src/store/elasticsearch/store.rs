//! [`ElasticsearchStore`]: one client, the footprint indices and the history indices of one
//! index prefix; one object implements every port.

use std::sync::atomic::{AtomicU64, Ordering};

use greenkube_core::ports::StoreError;

use super::client::{Client, ElasticsearchConfig};
use super::indices::Indices;
use super::ledger::{Meta, now_ms};
use crate::store::{MigrationReport, OpenOptions};

/// The backend's name.
pub(super) const BACKEND: &str = "elasticsearch";

/// An Elasticsearch store (or one of an API-compatible server): footprint rows, their roll-ups
/// and the history repositories (snapshot archive, node history, intensities,
/// recommendations, savings ledger, embodied cache) in the indices of one prefix, over one
/// HTTP client. One object implements every port; see the [module documentation](super) for
/// the footprint indices and [`history`](super::history) for the others.
#[derive(Debug)]
pub struct ElasticsearchStore {
    pub(super) client: Client,
    pub(super) meta: Meta,
    pub(super) config: ElasticsearchConfig,
    pub(super) indices: Indices,
    /// Who this store is when it holds the write lock.
    pub(super) owner: String,
    /// One write at a time per store (the lock is per owner).
    pub(super) writer: tokio::sync::Mutex<()>,
}

/// A lock owner unique to this store: process, time and a counter.
fn new_owner() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!(
        "greenkube-{}-{}-{}",
        std::process::id(),
        now_ms(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

impl ElasticsearchStore {
    /// Opens the store an `http(s)://` URL names and brings its footprint and history indices
    /// up to date (creating them when missing, with `create_if_missing`; without it, a store
    /// whose footprint index exists gets any history index it lacks).
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
        let indices = Indices::new(&config.index_prefix);
        let store = Self {
            meta: Meta::new(client.clone(), indices.meta.clone()),
            client,
            config,
            indices,
            owner: new_owner(),
            writer: tokio::sync::Mutex::new(()),
        };
        let migrations = store.migrate(options).await?;
        Ok((store, migrations))
    }

    /// The configuration.
    pub fn config(&self) -> &ElasticsearchConfig {
        &self.config
    }

    /// The index holding the footprint rows.
    pub fn footprints_index(&self) -> &str {
        &self.indices.footprints
    }

    /// The index holding the ledger.
    pub fn meta_index(&self) -> &str {
        &self.indices.meta
    }

    /// The index holding the hourly and daily roll-ups.
    pub fn rollups_index(&self) -> &str {
        &self.indices.rollups
    }

    /// The names of the history indices, in the order of
    /// [`HISTORY_INDICES`](super::HISTORY_INDICES).
    pub fn history_indices(&self) -> [&str; 7] {
        self.indices.history()
    }
}
