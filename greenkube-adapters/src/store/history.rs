//! Opening the history repositories of a store: the snapshot archive, node history, intensity
//! history, recommendations, savings ledger and embodied cache. SQLite, PostgreSQL and
//! Elasticsearch implement them; a backend not compiled in says so with an `Unsupported` error.

use std::sync::Arc;

use greenkube_core::ports::{
    EmbodiedCache, IntensityHistory, NodeHistory, RecommendationStore, SavingsLedger,
    SnapshotArchive, StoreError,
};

use super::{Backend, OpenOptions};

/// The history repositories of one store (usually one object behind every field).
#[derive(Debug, Clone)]
pub struct HistoryRepositories {
    /// Archived snapshots.
    pub archive: Arc<dyn SnapshotArchive>,
    /// Node versions.
    pub nodes: Arc<dyn NodeHistory>,
    /// Grid intensities.
    pub intensities: Arc<dyn IntensityHistory>,
    /// Recommendations with their lifecycle.
    pub recommendations: Arc<dyn RecommendationStore>,
    /// Realised savings.
    pub ledger: Arc<dyn SavingsLedger>,
    /// Embodied figures.
    pub embodied: Arc<dyn EmbodiedCache>,
}

#[cfg(any(feature = "sqlite", feature = "postgres", feature = "elasticsearch"))]
impl HistoryRepositories {
    fn of<T>(store: T) -> Self
    where
        T: SnapshotArchive
            + NodeHistory
            + IntensityHistory
            + RecommendationStore
            + SavingsLedger
            + EmbodiedCache
            + 'static,
    {
        let store = Arc::new(store);
        Self {
            archive: store.clone(),
            nodes: store.clone(),
            intensities: store.clone(),
            recommendations: store.clone(),
            ledger: store.clone(),
            embodied: store,
        }
    }
}

/// Opens the history repositories of the store a URL names (migrating its schema like
/// [`super::open_with`]).
pub async fn open_history(
    url: &str,
    options: OpenOptions,
) -> Result<HistoryRepositories, StoreError> {
    match Backend::of_url(url)? {
        #[cfg(feature = "sqlite")]
        Backend::Sqlite => {
            let (repo, _) = super::sqlite::SqliteStore::open(url, options).await?;
            Ok(HistoryRepositories::of(repo))
        }
        #[cfg(feature = "postgres")]
        Backend::Postgres => {
            let (repo, _) = super::postgres::PostgresStore::open(url.trim(), options).await?;
            Ok(HistoryRepositories::of(repo))
        }
        #[cfg(not(feature = "postgres"))]
        Backend::Postgres => Err(super::not_compiled_in(Backend::Postgres)),
        #[cfg(feature = "elasticsearch")]
        Backend::Elasticsearch => {
            let (repo, _) =
                super::elasticsearch::ElasticsearchStore::open(url.trim(), options).await?;
            Ok(HistoryRepositories::of(repo))
        }
        #[cfg(not(feature = "elasticsearch"))]
        Backend::Elasticsearch => Err(super::not_compiled_in(Backend::Elasticsearch)),
        #[cfg(not(feature = "sqlite"))]
        Backend::Sqlite => {
            let _ = options;
            Err(super::not_compiled_in(Backend::Sqlite))
        }
    }
}
