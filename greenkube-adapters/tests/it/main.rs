//! Integration tests of the adapters.

#[cfg(all(feature = "collector", feature = "sqlite", feature = "demo"))]
mod app;
#[cfg(feature = "http-sources")]
mod boavizta;
#[cfg(all(feature = "collector", feature = "sqlite", feature = "demo"))]
mod collector;
#[cfg(feature = "elasticsearch")]
mod elasticsearch;
#[cfg(feature = "elasticsearch")]
mod elasticsearch_history;
#[cfg(feature = "http-sources")]
mod electricity_maps;
#[cfg(feature = "kubernetes")]
mod kubernetes;
#[cfg(feature = "http-sources")]
mod opencost;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "postgres")]
mod postgres_history;
#[cfg(feature = "http-sources")]
mod prometheus;
#[cfg(feature = "http-sources")]
mod source_http;
#[cfg(feature = "sqlite")]
mod sqlite;
#[cfg(feature = "sqlite")]
mod sqlite_history;
mod store_url;
