//! Opening stores from the command line. Store commands run on a current-thread tokio runtime
//! built here; the other commands never start one.

use anyhow::Context;
use greenkube_adapters::store::{self, OpenOptions, Repositories};
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

/// A runtime for one store command.
pub(crate) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the runtime for the store")
}

/// Opens a store for writing (created when missing) or for reading (must exist).
pub(crate) async fn open(url: &str, create: bool) -> anyhow::Result<Repositories> {
    match store::open_with(
        url,
        OpenOptions {
            create_if_missing: create,
        },
    )
    .await
    {
        Ok(repositories) => Ok(repositories),
        Err(e) if !create && e.kind() == StoreErrorKind::Unavailable => {
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

/// Archives a snapshot in the store's snapshot archive, when the backend has one (SQLite and
/// PostgreSQL); other backends print a note instead.
pub(crate) async fn archive(url: &str, snapshot: &greenkube_core::Snapshot) -> anyhow::Result<()> {
    match store::history::open_history(url, OpenOptions::default()).await {
        Ok(history) => {
            history.archive.archive(snapshot).await?;
            Ok(())
        }
        Err(e) if e.kind() == StoreErrorKind::Unsupported => {
            crate::printer::note(&format!("snapshot not archived: {e}"));
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}

/// Opens the history repositories of a store that must exist.
pub(crate) async fn open_history(url: &str) -> anyhow::Result<store::history::HistoryRepositories> {
    Ok(store::history::open_history(
        url,
        OpenOptions {
            create_if_missing: false,
        },
    )
    .await?)
}
