//! Adapters of greenkube: the collectors (Prometheus, Kubernetes, OpenCost, Electricity Maps,
//! Boavizta) and repositories (SQLite, PostgreSQL, Elasticsearch) that implement the ports of
//! [`greenkube_core`], and the file-level readers the front ends share.
//!
//! Features:
//! * `sqlite` (default): the SQLite store (`sqlite://PATH`, `sqlite::memory:`), see [`store`].

pub mod history_file;
pub mod snapshot_file;
pub mod store;
