//! Opening the store from the command line: once per command, with a hint when a store that
//! must exist does not. Store commands run on a tokio runtime built here; the other commands
//! never start one.

use anyhow::Context;
use greenkube_adapters::store::{self, OpenOptions, Store};
use greenkube_core::ports::StoreErrorKind;

/// The environment variable that overrides the default store URL.
pub(crate) const STORE_ENV: &str = "GREENKUBE_STORE";

/// `$GREENKUBE_STORE`, else `sqlite://greenkube.db`.
pub(crate) fn default_url() -> String {
    std::env::var(STORE_ENV)
        .ok()
        .filter(|v| !v.trim().is_empty())
        .unwrap_or_else(|| store::DEFAULT_STORE_URL.to_string())
}

/// A current-thread runtime for one store command.
pub(crate) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the runtime for the store")
}

/// A two-worker runtime for commands that collect or serve.
pub(crate) fn multi_thread_runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the runtime")
}

/// Opens a store for writing (created when missing) or for reading (must exist).
pub(crate) async fn open(url: &str, create: bool) -> anyhow::Result<Store> {
    match store::open_with(
        url,
        OpenOptions {
            create_if_missing: create,
        },
    )
    .await
    {
        Ok(store) => Ok(store),
        // The hint only where the store is missing: a store that exists but cannot be opened
        // (read-only, locked, unreachable) says why in its own words.
        Err(e) if !create && e.kind() == StoreErrorKind::Unavailable && missing(&e) => {
            let location = store::redact(url);
            Err(anyhow::Error::new(e).context(format!(
                "cannot read the store `{location}` (create it with `greenkube migrate --store \
                 {location}`, or write footprints to it with `greenkube estimate --snapshot FILE \
                 --store {location}`)"
            )))
        }
        Err(e) => Err(anyhow::Error::new(e)),
    }
}

/// Opens the store, hands it to `work`, then closes it whatever `work` returned: a command's
/// store is let go of on every path, so SQLite folds its write-ahead log into the file and no
/// `-wal`/`-shm` stays beside it (see [`Store::close`]).
pub(crate) async fn using<T>(
    url: &str,
    create: bool,
    work: impl AsyncFnOnce(&Store) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    let store = open(url, create).await?;
    let outcome = work(&store).await;
    store.close().await;
    outcome
}

/// Whether opening failed because the store does not exist (a SQLite file, a PostgreSQL
/// database, the Elasticsearch indices), rather than for another reason.
fn missing(e: &greenkube_core::ports::StoreError) -> bool {
    let message = e.message();
    ["no database", "does not exist", "no greenkube indices"]
        .iter()
        .any(|sign| message.contains(sign))
}
