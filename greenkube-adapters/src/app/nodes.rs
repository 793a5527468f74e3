//! Nodes a store knows.

use chrono::{DateTime, Utc};
use greenkube_core::ports::TimeRange;
use greenkube_core::{Inventory, Node};

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

/// How far back [`inventory`] looks for the clusters a store holds.
const CLUSTERS_SPAN: chrono::TimeDelta = chrono::TimeDelta::days(366);

/// The nodes of every cluster with rows in the last year, as recorded at `now` (what the
/// recommender and the score use for node-level findings; autoscalers are not stored).
pub async fn inventory(store: &Store, now: DateTime<Utc>) -> Result<Inventory, AppError> {
    let range = TimeRange::new(now - CLUSTERS_SPAN, now)
        .map_err(|e| AppError::Invalid(format!("invalid range: {e}")))?;
    let mut inventory = Inventory::default();
    for cluster in super::dashboard::clusters(store, range).await? {
        inventory
            .nodes
            .extend(nodes_at(store, cluster.as_deref(), now).await?);
    }
    Ok(inventory)
}
