//! Integration tests of the adapters.

#[cfg(feature = "sqlite")]
mod sqlite;
#[cfg(feature = "sqlite")]
mod sqlite_history;
mod store_url;
