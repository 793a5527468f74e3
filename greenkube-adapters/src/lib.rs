//! Adapters of greenkube: the collectors (Prometheus, Kubernetes, OpenCost, Electricity Maps,
//! Boavizta) and repositories (SQLite, PostgreSQL, Elasticsearch) that implement the ports of
//! [`greenkube_core`], and the file-level readers the front ends share.

pub mod snapshot_file;
