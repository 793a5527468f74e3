//! Stores: where footprints are kept, chosen at run time from a URL.
//!
//! | URL | backend | cargo feature |
//! |---|---|---|
//! | `sqlite://PATH` (relative to the working directory), `sqlite:///ABSOLUTE/PATH`, `sqlite::memory:` | SQLite, embedded; WAL journal | `sqlite` (default) |
//! | `postgres://USER:PASSWORD@HOST:PORT/DATABASE`, `postgresql://...` | PostgreSQL (12 or later; tested on 15); created when missing | `postgres` |
//! | `http(s)://[USER:PASSWORD@]HOST:PORT[/PATH][?index_prefix=NAME]` | Elasticsearch 8 or OpenSearch 2–3 API (tested against the `osmem-server` emulator); indices `PREFIX-footprints`, `PREFIX-meta` and `PREFIX-rollups`, and `PREFIX-snapshots`, `-nodes`, `-intensities`, `-recommendations`, `-savings` and `-embodied` for the history repositories, created when missing | `elasticsearch` |
//!
//! [`open`] connects and brings the schema up to date (migrations are embedded in the
//! binary); a URL whose backend is not compiled in, or not implemented yet, is a
//! [`StoreErrorKind::Unsupported`](greenkube_core::ports::StoreErrorKind::Unsupported) error
//! that says so.

#[cfg(any(feature = "sqlite", feature = "postgres", feature = "elasticsearch"))]
mod codec;
#[cfg(feature = "elasticsearch")]
pub mod elasticsearch;
#[cfg(feature = "postgres")]
pub mod postgres;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub mod sql;
#[cfg(feature = "sqlite")]
pub mod sqlite;

use std::fmt;
use std::sync::Arc;

use greenkube_core::ports::{
    EmbodiedCache, FootprintRepository, IntensityHistory, NodeHistory, RecommendationStore,
    SavingsLedger, SnapshotArchive, StoreError,
};

/// The store used when none is given: a SQLite file in the working directory.
pub const DEFAULT_STORE_URL: &str = "sqlite://greenkube.db";

/// The backends greenkube knows of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Backend {
    /// SQLite (`sqlite://PATH`, `sqlite::memory:`).
    Sqlite,
    /// PostgreSQL (`postgres://...`).
    Postgres,
    /// Elasticsearch (`http(s)://...`).
    Elasticsearch,
}

impl Backend {
    /// Lower-case name, as used in errors and cargo features.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
            Self::Elasticsearch => "elasticsearch",
        }
    }

    /// The backend a store URL names.
    pub fn of_url(url: &str) -> Result<Self, StoreError> {
        let url = url.trim();
        let lower = url.to_ascii_lowercase();
        if url.is_empty() {
            return Err(StoreError::invalid_data(
                "unknown",
                format!("empty store URL; expected {EXPECTED}"),
            ));
        }
        if lower.starts_with("sqlite:") {
            Ok(Self::Sqlite)
        } else if lower.starts_with("postgres://") || lower.starts_with("postgresql://") {
            Ok(Self::Postgres)
        } else if lower.starts_with("http://") || lower.starts_with("https://") {
            Ok(Self::Elasticsearch)
        } else {
            let hint = if url.contains("://") {
                String::new()
            } else {
                format!(" (for a SQLite file, write `sqlite://{url}`)")
            };
            Err(StoreError::unsupported(
                "unknown",
                format!(
                    "`{}` is not a store URL{hint}; expected {EXPECTED}",
                    redact(url)
                ),
            ))
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

const EXPECTED: &str =
    "`sqlite://PATH`, `sqlite::memory:`, `postgres://...` or `http(s)://...` (Elasticsearch)";

/// How to open a store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenOptions {
    /// Create the database when it does not exist (SQLite: the file; PostgreSQL: the database,
    /// which needs the `CREATEDB` privilege). When false, a missing database is [`StoreErrorKind::Unavailable`](greenkube_core::ports::StoreErrorKind::Unavailable).
    pub create_if_missing: bool,
}

impl Default for OpenOptions {
    fn default() -> Self {
        Self {
            create_if_missing: true,
        }
    }
}

/// One schema migration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppliedMigration {
    /// Version (the number in the file name).
    pub version: i64,
    /// Description (the rest of the file name).
    pub description: String,
}

/// What opening a store did to its schema.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MigrationReport {
    /// Migrations applied now, oldest first (empty when the schema was up to date).
    pub applied: Vec<AppliedMigration>,
    /// Schema version after opening.
    pub schema_version: i64,
}

/// One store, opened once: every repository of it over one connection pool (SQLite,
/// PostgreSQL) or one client (Elasticsearch). Cloning is cheap (shared handles); every front
/// end (CLI, HTTP server, Python) opens one per process and passes it to the use cases of
/// [`crate::app`].
#[derive(Debug, Clone)]
pub struct Store {
    /// Backend.
    pub backend: Backend,
    /// The URL, with any password replaced by `***`.
    pub location: String,
    /// What opening did to the schema.
    pub migrations: MigrationReport,
    /// Footprint rows, roll-ups and retention.
    pub footprints: Arc<dyn FootprintRepository>,
    /// Archived snapshots (the replay unit).
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
    /// How the store lets go of its connections (SQL pools); `None` when nothing is held open.
    closer: Option<Closer>,
}

/// Closes a store's connection pool: SQLite then checkpoints its write-ahead log into the
/// database file and removes the `-wal` and `-shm` files beside it.
#[derive(Clone)]
struct Closer(
    Arc<dyn Fn() -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> + Send + Sync>,
);

impl std::fmt::Debug for Closer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Closer")
    }
}

impl Closer {
    #[cfg(feature = "postgres")]
    fn of_pool<D: sqlx::Database>(pool: sqlx::Pool<D>) -> Self {
        Self(Arc::new(move || {
            let pool = pool.clone();
            Box::pin(async move { pool.close().await })
        }))
    }

    #[cfg(feature = "sqlite")]
    fn of_sqlite(store: sqlite::SqliteStore, file: Option<std::path::PathBuf>) -> Self {
        Self(Arc::new(move || {
            let (store, file) = (store.clone(), file.clone());
            Box::pin(async move { sqlite::close(&store, file).await })
        }))
    }
}

impl Store {
    /// A store whose one object implements every port.
    #[cfg(any(feature = "sqlite", feature = "postgres", feature = "elasticsearch"))]
    fn of<T>(backend: Backend, location: String, migrations: MigrationReport, store: T) -> Self
    where
        T: FootprintRepository
            + SnapshotArchive
            + NodeHistory
            + IntensityHistory
            + RecommendationStore
            + SavingsLedger
            + EmbodiedCache
            + 'static,
    {
        let store = Arc::new(store);
        Self {
            backend,
            location,
            migrations,
            footprints: store.clone(),
            archive: store.clone(),
            nodes: store.clone(),
            intensities: store.clone(),
            recommendations: store.clone(),
            ledger: store.clone(),
            embodied: store,
            closer: None,
        }
    }

    /// Lets go of the store's connections, waiting for them to close; call it once, when the
    /// process is done with the store (every clone shares them: a read after it fails). SQLite
    /// then folds its write-ahead log into the database file, so the file alone is the whole
    /// store and no `-wal`/`-shm` files stay beside it. Elasticsearch holds nothing to close.
    pub async fn close(&self) {
        if let Some(closer) = &self.closer {
            (closer.0)().await;
        }
    }

    /// Opens the store a URL names, creating it when missing, and brings its schema up to
    /// date.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        open_with(url, OpenOptions::default()).await
    }

    /// The repositories the collector writes to.
    #[cfg(feature = "collector")]
    pub fn collector_stores(&self) -> crate::collector::Stores {
        crate::collector::Stores {
            footprints: self.footprints.clone(),
            archive: self.archive.clone(),
            nodes: self.nodes.clone(),
            intensities: self.intensities.clone(),
        }
    }
}

/// Opens the store a URL names, creating it when missing, and brings its schema up to date.
pub async fn open(url: &str) -> Result<Store, StoreError> {
    open_with(url, OpenOptions::default()).await
}

/// Opens the store a URL names with options, and brings its schema up to date (the footprint
/// tables and the history repositories alike).
#[cfg_attr(
    not(any(feature = "sqlite", feature = "postgres", feature = "elasticsearch")),
    expect(
        clippy::unused_async,
        reason = "every backend that awaits is compiled out"
    )
)]
pub async fn open_with(url: &str, options: OpenOptions) -> Result<Store, StoreError> {
    let backend = Backend::of_url(url)?;
    let url = url.trim();
    #[cfg(not(any(feature = "sqlite", feature = "postgres", feature = "elasticsearch")))]
    let _ = (options, url);
    match backend {
        #[cfg(feature = "sqlite")]
        Backend::Sqlite => {
            let (store, migrations) = sqlite::SqliteStore::open(url, options).await?;
            let closer = Closer::of_sqlite(store.clone(), sqlite::file_of(url));
            let mut opened = Store::of(backend, redact(url), migrations, store);
            opened.closer = Some(closer);
            Ok(opened)
        }
        #[cfg(not(feature = "sqlite"))]
        Backend::Sqlite => Err(not_compiled_in(backend)),
        #[cfg(feature = "postgres")]
        Backend::Postgres => {
            let (store, migrations) = postgres::PostgresStore::open(url, options).await?;
            let closer = Closer::of_pool(store.pool().clone());
            let mut opened = Store::of(backend, redact(url), migrations, store);
            opened.closer = Some(closer);
            Ok(opened)
        }
        #[cfg(not(feature = "postgres"))]
        Backend::Postgres => Err(not_compiled_in(backend)),
        #[cfg(feature = "elasticsearch")]
        Backend::Elasticsearch => {
            let (store, migrations) = elasticsearch::ElasticsearchStore::open(url, options).await?;
            let location = store.config().location();
            Ok(Store::of(backend, location, migrations, store))
        }
        #[cfg(not(feature = "elasticsearch"))]
        Backend::Elasticsearch => Err(not_compiled_in(backend)),
    }
}

#[cfg(not(all(feature = "sqlite", feature = "postgres", feature = "elasticsearch")))]
fn not_compiled_in(backend: Backend) -> StoreError {
    StoreError::unsupported(
        backend.name(),
        format!(
            "`{0}` support not compiled in; rebuild with `--features {0}`",
            backend.name()
        ),
    )
}

/// The URL with its passwords replaced by `***` (see [`crate::secret::redact_url`]).
pub use crate::secret::redact_url as redact;

#[cfg(test)]
mod tests {
    use super::*;
    use greenkube_core::ports::StoreErrorKind;

    #[test]
    fn backend_from_url() {
        assert_eq!(Backend::of_url("sqlite://x.db").unwrap(), Backend::Sqlite);
        assert_eq!(Backend::of_url("sqlite::memory:").unwrap(), Backend::Sqlite);
        assert_eq!(
            Backend::of_url("postgres://u@h/db").unwrap(),
            Backend::Postgres
        );
        assert_eq!(
            Backend::of_url("postgresql://h").unwrap(),
            Backend::Postgres
        );
        assert_eq!(
            Backend::of_url("https://es:9200").unwrap(),
            Backend::Elasticsearch
        );
        let err = Backend::of_url("greenkube.db").unwrap_err();
        assert_eq!(err.kind(), StoreErrorKind::Unsupported);
        assert!(err.to_string().contains("`sqlite://greenkube.db`"), "{err}");
        let err = Backend::of_url("mysql://root:hunter2@h/db").unwrap_err();
        assert!(!err.to_string().contains("hunter2"), "{err}");
        assert_eq!(
            Backend::of_url(" ").unwrap_err().kind(),
            StoreErrorKind::InvalidData
        );
    }

    #[cfg(feature = "elasticsearch")]
    #[tokio::test]
    async fn unreachable_elasticsearch_is_unavailable() {
        let err = open("http://elastic:s3cret@127.0.0.1:1").await.unwrap_err();
        assert_eq!(err.kind(), StoreErrorKind::Unavailable, "{err}");
        assert!(err.to_string().contains("cannot connect"), "{err}");
        assert!(!format!("{err:?}").contains("s3cret"), "{err:?}");
    }

    #[cfg(not(feature = "elasticsearch"))]
    #[tokio::test]
    async fn elasticsearch_not_compiled_in_says_so() {
        let err = open("http://localhost:9200").await.unwrap_err();
        assert_eq!(err.kind(), StoreErrorKind::Unsupported, "{err}");
        assert!(
            err.to_string()
                .contains("rebuild with `--features elasticsearch`"),
            "{err}"
        );
    }

    #[cfg(not(feature = "postgres"))]
    #[tokio::test]
    async fn postgres_not_compiled_in_says_so() {
        let err = open("postgres://gk:s3cret@localhost/greenkube")
            .await
            .unwrap_err();
        assert_eq!(err.kind(), StoreErrorKind::Unsupported, "{err}");
        assert!(
            err.to_string()
                .contains("rebuild with `--features postgres`"),
            "{err}"
        );
    }
}
