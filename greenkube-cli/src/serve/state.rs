//! What every handler shares: the store (opened once), the server's settings and caches.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use greenkube_adapters::app::sources::SourceSettings;
use greenkube_adapters::store::Store;

/// How the server runs.
#[derive(Debug, Clone)]
pub(crate) struct ServerConfig {
    /// Address to listen on.
    pub(crate) listen: SocketAddr,
    /// API key every `/api/v1` request must carry (health, docs and the OpenAPI document
    /// exempt); none means no key.
    pub(crate) api_key: Option<greenkube_adapters::secret::Secret>,
    /// Every mutation answers 403.
    pub(crate) read_only: bool,
    /// Origins allowed by CORS (`*` for any).
    pub(crate) cors_origins: Vec<String>,
    /// Requests per minute and client address (0: no limit).
    pub(crate) rate_limit_per_minute: u32,
    /// Trust `X-Forwarded-User` from an authenticating proxy in front (the dashboard then
    /// shows who is signed in, and the API key is not asked of requests that carry it).
    pub(crate) trust_auth_proxy: bool,
    /// Serve another single-page app's build from this folder instead of the dashboard.
    pub(crate) frontend: Option<PathBuf>,
    /// The cluster label of store-wide metrics (default: the store's only cluster, else
    /// `default`).
    pub(crate) cluster: Option<String>,
    /// How long a request may take.
    pub(crate) request_timeout: Duration,
    /// Largest request body accepted.
    pub(crate) max_body_bytes: usize,
    /// How long dashboard summaries are reused.
    pub(crate) summary_ttl: Duration,
    /// `POST /api/v1/config/services` may change the source settings.
    pub(crate) allow_config_changes: bool,
    /// The sources (probed by the health endpoints; collected from with `--collect`).
    pub(crate) sources: SourceSettings,
    /// Answer as if it were this instant (replay, tests); the wall clock otherwise.
    pub(crate) now: Option<DateTime<Utc>>,
    /// greenkube's own metrics (the collection loop's, with `--collect`), served on `/metrics`.
    pub(crate) self_metrics: Arc<super::self_metrics::SelfMetrics>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8000)),
            api_key: None,
            read_only: false,
            cors_origins: Vec::new(),
            rate_limit_per_minute: 600,
            trust_auth_proxy: false,
            frontend: None,
            cluster: None,
            request_timeout: Duration::from_secs(30),
            max_body_bytes: 64 * 1024,
            summary_ttl: Duration::from_secs(60),
            allow_config_changes: false,
            sources: SourceSettings::default(),
            now: None,
            self_metrics: Arc::new(super::self_metrics::SelfMetrics::new(false)),
        }
    }
}

/// A value computed once and reused for a while.
#[derive(Debug)]
struct Cached<T> {
    at: Instant,
    value: T,
}

/// The state handlers share (cheap to clone).
#[derive(Debug, Clone)]
pub(crate) struct AppState(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    store: Store,
    config: ServerConfig,
    started: DateTime<Utc>,
    cache: Mutex<HashMap<String, Cached<serde_json::Value>>>,
    reads: Mutex<HashMap<String, super::reuse::Slot>>,
    sources: std::sync::RwLock<SourceSettings>,
}

impl AppState {
    pub(crate) fn new(store: Store, config: ServerConfig) -> Self {
        Self(Arc::new(Inner {
            store,
            started: crate::clock::wall_clock(),
            cache: Mutex::new(HashMap::new()),
            reads: Mutex::new(HashMap::new()),
            sources: std::sync::RwLock::new(config.sources.clone()),
            config,
        }))
    }

    pub(crate) fn store(&self) -> &Store {
        &self.0.store
    }

    pub(crate) fn config(&self) -> &ServerConfig {
        &self.0.config
    }

    /// The source settings as they are now.
    pub(crate) fn sources(&self) -> SourceSettings {
        self.0
            .sources
            .read()
            .map_or_else(|poisoned| poisoned.into_inner().clone(), |s| s.clone())
    }

    /// Changes the source settings.
    pub(crate) fn update_sources(&self, change: impl FnOnce(&mut SourceSettings)) {
        match self.0.sources.write() {
            Ok(mut settings) => change(&mut settings),
            Err(poisoned) => change(&mut poisoned.into_inner()),
        }
    }

    /// When the server started.
    pub(crate) fn started(&self) -> DateTime<Utc> {
        self.0.started
    }

    /// "Now": the wall clock (or the fixed instant of `--now`), read once per request by the
    /// handler that needs it.
    pub(crate) fn now(&self) -> DateTime<Utc> {
        self.0.config.now.unwrap_or_else(crate::clock::wall_clock)
    }

    /// A cached value younger than the summary TTL.
    pub(crate) fn cached(&self, key: &str) -> Option<serde_json::Value> {
        let cache = self.0.cache.lock().ok()?;
        cache
            .get(key)
            .filter(|c| c.at.elapsed() < self.0.config.summary_ttl)
            .map(|c| c.value.clone())
    }

    /// Keeps a value for the summary TTL.
    pub(crate) fn keep(&self, key: String, value: serde_json::Value) {
        if let Ok(mut cache) = self.0.cache.lock() {
            cache.retain(|_, c| c.at.elapsed() < self.0.config.summary_ttl);
            cache.insert(
                key,
                Cached {
                    at: Instant::now(),
                    value,
                },
            );
        }
    }

    /// Forgets every cached value and reused read (after a refresh, or a change to the store).
    pub(crate) fn forget(&self) {
        if let Ok(mut cache) = self.0.cache.lock() {
            cache.clear();
        }
        if let Ok(mut reads) = self.0.reads.lock() {
            reads.clear();
        }
    }

    /// The shared answer of a read (see [`super::reuse`]): the one being computed or kept for
    /// `key`, or a new empty one when there is none younger than the summary TTL; `None` when
    /// [`super::reuse::MAX_ENTRIES`] younger ones are kept already.
    pub(crate) fn read_slot(
        &self,
        key: &str,
    ) -> Option<Arc<tokio::sync::OnceCell<super::reuse::Stored>>> {
        let ttl = self.0.config.summary_ttl;
        let mut reads = self.0.reads.lock().ok()?;
        if let Some(slot) = reads.get(key).filter(|s| s.at.elapsed() < ttl) {
            return Some(slot.cell.clone());
        }
        if reads.len() >= super::reuse::MAX_ENTRIES {
            reads.retain(|_, s| s.at.elapsed() < ttl);
            if reads.len() >= super::reuse::MAX_ENTRIES {
                return None;
            }
        }
        let cell = Arc::new(tokio::sync::OnceCell::new());
        reads.insert(
            key.to_string(),
            super::reuse::Slot {
                at: Instant::now(),
                cell: cell.clone(),
            },
        );
        Some(cell)
    }
}
