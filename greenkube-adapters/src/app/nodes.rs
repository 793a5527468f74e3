//! Nodes a store knows.

use chrono::{DateTime, Utc};
use greenkube_core::Node;

use super::AppError;
use crate::store::Store;

/// The nodes of `cluster` (the unnamed cluster with `None`) as recorded at `at`, by name.
pub async fn nodes_at(
    store: &Store,
    cluster: Option<&str>,
    at: DateTime<Utc>,
) -> Result<Vec<Node>, AppError> {
    let mut nodes = store.nodes.nodes_at(cluster, at).await?;
    nodes.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(nodes)
}
