//! Integration tests of the `greenkube` binary.

#[cfg(feature = "collect")]
mod collect;
mod estimate;
#[cfg(feature = "collect")]
mod faults;
#[cfg(feature = "collect")]
mod figures;
mod habits;
mod history_store;
mod recommend;
mod secrets;
#[cfg(feature = "collect")]
mod serve;
mod store;
#[cfg(feature = "elasticsearch")]
mod store_elasticsearch;
#[cfg(feature = "postgres")]
mod store_postgres;
