//! Integration tests of the `greenkube` binary.

mod estimate;
mod history_store;
mod recommend;
mod store;
#[cfg(feature = "elasticsearch")]
mod store_elasticsearch;
#[cfg(feature = "postgres")]
mod store_postgres;
