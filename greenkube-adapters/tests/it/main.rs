//! Integration tests of the adapters.

#[cfg(feature = "elasticsearch")]
mod elasticsearch;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "postgres")]
mod postgres_history;
#[cfg(feature = "http-sources")]
mod source_http;
#[cfg(feature = "sqlite")]
mod sqlite;
#[cfg(feature = "sqlite")]
mod sqlite_history;
mod store_url;
