//! Integration tests of the adapters.

#[cfg(feature = "sqlite")]
mod sqlite;
mod store_url;
