//! Pod labels in `PREFIX-pods` (`mappings/pods.json`): one document per
//! `(cluster, namespace, pod)`, `_id` `l-<digest of the key>`, with the pod's workload, the
//! labels of its latest window and the span of window starts written.
//!
//! A write folds its batch's entries together, reads the stored documents of those pods
//! (realtime `_mget`), folds them in ([`PodLabels::absorb`]) and indexes the result, under the
//! write lock and before the batch commits: an aborted batch can leave an entry for a pod
//! without rows, which adds nothing to any report (reports read labels only for the pods their
//! rows name).

use std::collections::BTreeMap;
use std::sync::Arc;

use greenkube_core::PodLabels;
use greenkube_core::ports::{StoreError, TimeRange, WindowRecords};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::BACKEND;
use super::documents::{BulkDoc, encode};
use super::error::unexpected;
use super::fields::{digest, instant, micros, micros_ceil};
use super::ledger::Versioned;
use super::store::ElasticsearchStore;

/// Pods read or written per request.
const CHUNK: usize = 1000;

/// A pod's entry as stored.
#[derive(Debug, Serialize, Deserialize)]
struct PodDoc {
    cluster: String,
    namespace: String,
    pod: String,
    workload_kind: String,
    workload: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    labels: Option<BTreeMap<String, String>>,
    first_window_us: i64,
    last_window_us: i64,
}

impl PodDoc {
    fn new(entry: &PodLabels) -> Self {
        Self {
            cluster: entry.cluster.as_deref().unwrap_or("").to_string(),
            namespace: entry.namespace.to_string(),
            pod: entry.pod.to_string(),
            workload_kind: entry.workload_kind.to_string(),
            workload: entry.workload.to_string(),
            labels: entry.labels.as_deref().cloned(),
            first_window_us: micros(entry.first_window),
            last_window_us: micros(entry.last_window),
        }
    }

    fn into_entry(self) -> Result<PodLabels, StoreError> {
        Ok(PodLabels {
            cluster: (!self.cluster.is_empty()).then(|| Arc::from(self.cluster)),
            namespace: Arc::from(self.namespace),
            pod: Arc::from(self.pod),
            workload_kind: Arc::from(self.workload_kind),
            workload: Arc::from(self.workload),
            labels: self.labels.map(Arc::new),
            first_window: instant(self.first_window_us)?,
            last_window: instant(self.last_window_us)?,
        })
    }
}

fn pod_doc_id(cluster: &str, namespace: &str, pod: &str) -> String {
    format!("l-{}", digest(&[cluster, namespace, pod]))
}

fn damaged(e: &serde_json::Error) -> StoreError {
    StoreError::invalid_data(
        BACKEND,
        format!("a stored pod-labels document is damaged: {e}"),
    )
}

impl ElasticsearchStore {
    /// Folds the entries of `windows` into the stored ones (see the module documentation).
    pub(super) async fn write_pod_labels(
        &self,
        current: &mut Versioned,
        windows: &[(String, &WindowRecords)],
    ) -> Result<(), StoreError> {
        let doing = "recording pod labels";
        let mut entries: BTreeMap<String, PodLabels> = BTreeMap::new();
        for (_, w) in windows {
            let cluster = w.cluster.as_deref().unwrap_or("");
            for entry in &w.labels {
                let id = pod_doc_id(cluster, &entry.namespace, &entry.pod);
                match entries.get_mut(&id) {
                    Some(known) => known.absorb(entry),
                    None => {
                        entries.insert(id, entry.clone());
                    }
                }
            }
        }
        let entries: Vec<(String, PodLabels)> = entries.into_iter().collect();
        for chunk in entries.chunks(CHUNK) {
            self.keep_lock(current).await?;
            let ids: Vec<String> = chunk.iter().map(|(id, _)| id.clone()).collect();
            let stored = self.client.mget(&self.indices.pods, &ids, doing).await?;
            let docs = stored
                .get("docs")
                .and_then(Value::as_array)
                .ok_or_else(|| unexpected(doing, "no `docs`"))?;
            let mut out = Vec::with_capacity(chunk.len());
            for ((id, written), doc) in chunk.iter().zip(docs) {
                let mut entry = match doc.get("_source") {
                    Some(source) if doc.get("found") == Some(&Value::Bool(true)) => {
                        serde_json::from_value::<PodDoc>(source.clone())
                            .map_err(|e| damaged(&e))?
                            .into_entry()?
                    }
                    _ => written.clone(),
                };
                entry.absorb(written);
                out.push(BulkDoc {
                    id: id.clone(),
                    external_version: None,
                    source: encode(&PodDoc::new(&entry), "pod labels")?,
                });
            }
            self.bulk(&self.indices.pods, &out, doing).await?;
        }
        Ok(())
    }

    /// See `FootprintRepository::pod_labels`.
    pub(super) async fn read_pod_labels(
        &self,
        range: TimeRange,
        cluster: Option<&str>,
    ) -> Result<Vec<PodLabels>, StoreError> {
        let mut filter = vec![
            json!({"range": {"first_window_us": {"lt": micros_ceil(range.to())}}}),
            json!({"range": {"last_window_us": {"gte": micros_ceil(range.from())}}}),
        ];
        if let Some(c) = cluster {
            filter.push(json!({"term": {"cluster": c}}));
        }
        let hits = self
            .search_all(
                &self.indices.pods,
                &json!({"bool": {"filter": filter}}),
                &json!([{"cluster": "asc"}, {"namespace": "asc"}, {"pod": "asc"}]),
                &json!(true),
                "reading pod labels",
            )
            .await?;
        let mut out = hits
            .into_iter()
            .map(|hit| {
                serde_json::from_value::<PodDoc>(hit)
                    .map_err(|e| damaged(&e))?
                    .into_entry()
            })
            .collect::<Result<Vec<_>, _>>()?;
        // Sorted here, byte by byte, as every store returns them.
        out.sort_by(|a, b| {
            (&a.cluster, &a.namespace, &a.pod).cmp(&(&b.cluster, &b.namespace, &b.pod))
        });
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_keyed_by_cluster_namespace_and_pod() {
        assert_eq!(pod_doc_id("a", "b", "c"), pod_doc_id("a", "b", "c"));
        assert_ne!(pod_doc_id("", "b", "c"), pod_doc_id("b", "", "c"));
        assert!(pod_doc_id("", "ns", "p").starts_with("l-"));
    }
}
