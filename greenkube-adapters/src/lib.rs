//! Adapters of greenkube: the collectors (Prometheus, Kubernetes, OpenCost, Electricity Maps,
//! Boavizta) and repositories (SQLite, PostgreSQL, Elasticsearch) that implement the ports of
//! [`greenkube_core`], the file-level readers the front ends share, and the use cases every
//! front end calls ([`app`]) over one [`store::Store`] opened once.
//!
//! Features:
//! * `sqlite` (default): the SQLite store (`sqlite://PATH`, `sqlite::memory:`), see [`store`].
//! * `postgres`: the PostgreSQL store (`postgres://...`, `postgresql://...`), TLS through
//!   rustls, see [`store`].
//! * `elasticsearch`: the Elasticsearch store (`http(s)://HOST:PORT`, Elasticsearch 8 or
//!   OpenSearch 2–3 API) through the official `elasticsearch` crate with rustls, see
//!   [`store`].
//! * `http-sources`: Prometheus, OpenCost, Electricity Maps and Boavizta, see [`sources`].
//! * `collector`: the collector (module `collector`), which turns source answers into stored
//!   windows.
//! * `kubernetes`: the Kubernetes inventory source through the `kube` crate, see [`sources`].
//! * `demo`: the synthetic clusters (`sources::synthetic`): the one behind `greenkube demo` (with
//!   `collector`, the use case `app::demo`), and sized ones for benchmarks.

pub mod app;
#[cfg(feature = "collector")]
pub mod collector;
pub mod history_file;
pub mod secret;
pub mod snapshot_file;
pub mod sources;
pub mod store;
