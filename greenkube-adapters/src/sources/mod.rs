//! Data sources: the adapters behind the core's source ports
//! ([`greenkube_core::ports::UsageSource`] and friends).
//!
//! Every HTTP source goes through `http::SourceHttp`: one time-out per request, bounded retries
//! with back-off for failures that may pass, typed [`greenkube_core::ports::SourceError`]s that
//! name the source, and no credentials in messages.

#[cfg(feature = "http-sources")]
pub mod boavizta;
#[cfg(feature = "http-sources")]
pub mod clock;
#[cfg(feature = "kubernetes")]
pub mod discovery;
#[cfg(feature = "http-sources")]
pub mod electricity_maps;
#[cfg(feature = "http-sources")]
pub mod http;
#[cfg(feature = "kubernetes")]
pub mod kubernetes;
#[cfg(any(feature = "kubernetes", feature = "http-sources"))]
pub mod node_labels;
#[cfg(feature = "http-sources")]
pub mod opencost;
#[cfg(feature = "http-sources")]
pub mod prometheus;
#[cfg(feature = "http-sources")]
pub mod promql;
#[cfg(feature = "kubernetes")]
pub mod quantity;
#[cfg(feature = "demo")]
pub mod synthetic;
