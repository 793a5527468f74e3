//! Node history in Elasticsearch: version documents written with external versions, and one
//! state document per cluster changed by compare-and-swap, whose `pending` list makes a
//! change that was committed but not fully written finishable by anyone (see the `history`
//! module documentation).

use std::collections::{BTreeMap, HashMap};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use greenkube_core::Node;
use greenkube_core::ports::{NodeHistory, NodeVersion, StoreError};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::BACKEND;
use super::client::Write;
use super::documents::BulkDoc;
use super::error::{damaged, unexpected};
use super::fields::{digest, instant, micros, millis};
use super::history::{MAX_ATTEMPTS, cluster_key};
use super::store::ElasticsearchStore;

const VERSION_KIND: &str = "version";
const CLUSTER_KIND: &str = "cluster";

/// One version of a node, as stored (`kind: version`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct VersionDoc {
    kind: String,
    cluster: String,
    name: String,
    valid_from_us: i64,
    valid_to_us: Option<i64>,
    valid_from: i64,
    valid_to: Option<i64>,
    /// The node as JSON.
    body: String,
}

impl VersionDoc {
    fn open(cluster: &str, name: &str, from_us: i64, body: String) -> Self {
        Self {
            kind: VERSION_KIND.to_string(),
            cluster: cluster.to_string(),
            name: name.to_string(),
            valid_from_us: from_us,
            valid_to_us: None,
            valid_from: millis(from_us),
            valid_to: None,
            body,
        }
    }

    fn closed_at(mut self, to_us: i64) -> Self {
        self.valid_to_us = Some(to_us);
        self.valid_to = Some(millis(to_us));
        self
    }

    fn id(&self) -> String {
        version_id(&self.cluster, &self.name, self.valid_from_us)
    }

    fn read(source: Value) -> Result<Self, StoreError> {
        serde_json::from_value(source).map_err(|e| damaged("a node version", e))
    }

    fn into_version(self) -> Result<NodeVersion, StoreError> {
        Ok(NodeVersion {
            node: serde_json::from_str(&self.body).map_err(|e| damaged("a node version", e))?,
            valid_from: instant(self.valid_from_us)?,
            valid_to: self.valid_to_us.map(instant).transpose()?,
        })
    }
}

fn version_id(cluster: &str, name: &str, from_us: i64) -> String {
    format!("v-{}", digest(&[cluster, name, &from_us.to_string()]))
}

fn state_id(cluster: &str) -> String {
    format!("c-{}", digest(&[cluster]))
}

/// The current version of a node, in the state document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Current {
    name: String,
    valid_from_us: i64,
    /// Digest of the node's JSON (a changed description is a new version).
    digest: String,
}

/// A cluster's state document (`kind: cluster`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct ClusterState {
    kind: String,
    cluster: String,
    /// The latest observation; older ones are refused.
    latest_us: i64,
    /// Bumped by every change of versions; the external version of the documents it writes.
    generation: u64,
    /// Current versions, by name.
    current: Vec<Current>,
    /// Version documents of `generation` that may not be written yet.
    pending: Vec<VersionDoc>,
}

/// A state as read, with its sequence number and primary term.
#[derive(Debug)]
struct Versioned {
    state: ClusterState,
    seq_no: u64,
    primary_term: u64,
}

/// What one observation changes.
#[derive(Debug, Default)]
struct Change {
    current: Vec<Current>,
    /// Versions to open, `(name, body)`.
    opens: Vec<(String, String)>,
    /// Versions to close: `(name, valid_from_us)`.
    closes: Vec<(String, i64)>,
}

/// Compares the observed nodes (`name -> JSON`) with the current versions.
fn change(current: &[Current], observed: &BTreeMap<&str, String>, at_us: i64) -> Change {
    let by_name: HashMap<&str, &Current> = current.iter().map(|c| (c.name.as_str(), c)).collect();
    let mut out = Change::default();
    for (&name, body) in observed {
        let d = digest(&[body]);
        match by_name.get(name) {
            Some(c) if c.digest == d => out.current.push((*c).clone()),
            existing => {
                // A version that starts now is replaced, not closed (same document).
                if let Some(c) = existing.filter(|c| c.valid_from_us != at_us) {
                    out.closes.push((c.name.clone(), c.valid_from_us));
                }
                out.opens.push((name.to_string(), body.clone()));
                out.current.push(Current {
                    name: name.to_string(),
                    valid_from_us: at_us,
                    digest: d,
                });
            }
        }
    }
    for c in current {
        if !observed.contains_key(c.name.as_str()) {
            out.closes.push((c.name.clone(), c.valid_from_us));
        }
    }
    out
}

impl ElasticsearchStore {
    async fn read_state(&self, cluster: &str) -> Result<Option<Versioned>, StoreError> {
        let doing = "reading the node history state";
        let Some(doc) = self
            .get(&self.indices.nodes, &state_id(cluster), doing)
            .await?
        else {
            return Ok(None);
        };
        let state: ClusterState =
            serde_json::from_value(doc.source).map_err(|e| damaged("the node history state", e))?;
        Ok(Some(Versioned {
            state,
            seq_no: doc.seq_no,
            primary_term: doc.primary_term,
        }))
    }

    /// Replaces the state if it is still `read` (created when `read` is `None`). `None` when
    /// someone else changed it first.
    async fn swap_state(
        &self,
        read: Option<&Versioned>,
        next: ClusterState,
    ) -> Result<Option<Versioned>, StoreError> {
        let doing = "recording nodes";
        let how = match read {
            Some(r) => Write::IfUnchanged {
                seq_no: r.seq_no,
                primary_term: r.primary_term,
            },
            None => Write::Create { refresh: false },
        };
        let source = serde_json::to_value(&next).map_err(|e| {
            StoreError::other(BACKEND, "node history state cannot be encoded").with_source(e)
        })?;
        let written = self
            .put(
                &self.indices.nodes,
                &state_id(&next.cluster),
                how,
                &source,
                doing,
            )
            .await?;
        Ok(written.map(|(seq_no, primary_term)| Versioned {
            state: next,
            seq_no,
            primary_term,
        }))
    }

    /// Writes version documents of `generation` (idempotent: a stored document of the same or
    /// a newer generation wins).
    async fn write_versions(&self, docs: &[VersionDoc], generation: u64) -> Result<(), StoreError> {
        let bulk = docs
            .iter()
            .map(|d| {
                Ok(BulkDoc {
                    id: d.id(),
                    external_version: Some(generation),
                    source: serde_json::to_value(d).map_err(|e| {
                        StoreError::other(BACKEND, "node version cannot be encoded").with_source(e)
                    })?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        self.bulk(&self.indices.nodes, &bulk, "writing node versions")
            .await
    }

    /// Writes what the state still lists as pending, then clears the list (best effort: a
    /// lost race means someone else moved the state on, having written them too).
    async fn finish_pending(&self, read: Versioned) -> Result<Versioned, StoreError> {
        if read.state.pending.is_empty() {
            return Ok(read);
        }
        self.write_versions(&read.state.pending, read.state.generation)
            .await?;
        let mut next = read.state.clone();
        next.pending.clear();
        Ok(self.swap_state(Some(&read), next).await?.unwrap_or(read))
    }

    /// The generation a read can rely on: pending writes finished. 0 for an unknown cluster.
    async fn settled_generation(&self, cluster: &str) -> Result<u64, StoreError> {
        match self.read_state(cluster).await? {
            Some(read) => Ok(self.finish_pending(read).await?.state.generation),
            None => Ok(0),
        }
    }

    /// Runs a search of version documents of a cluster at one generation: again if a change
    /// was committed meanwhile.
    async fn read_versions(
        &self,
        cluster: &str,
        filter: Vec<Value>,
        sort: &Value,
        doing: &str,
    ) -> Result<Vec<VersionDoc>, StoreError> {
        let mut filter = filter;
        filter.push(json!({"term": {"kind": VERSION_KIND}}));
        filter.push(json!({"term": {"cluster": cluster}}));
        let query = json!({"bool": {"filter": filter}});
        for _ in 0..MAX_ATTEMPTS {
            let generation = self.settled_generation(cluster).await?;
            let hits = self
                .search_all(&self.indices.nodes, &query, sort, &json!(true), doing)
                .await?;
            let now = self
                .read_state(cluster)
                .await?
                .map_or(0, |r| r.state.generation);
            if now == generation {
                return hits.into_iter().map(VersionDoc::read).collect();
            }
        }
        Err(StoreError::unavailable(
            BACKEND,
            format!("{doing}: the nodes changed during each of {MAX_ATTEMPTS} reads; retry"),
        ))
    }

    /// The stored version documents of `(name, valid_from_us)` keys (realtime `_mget`).
    async fn fetch_versions(
        &self,
        cluster: &str,
        keys: &[(String, i64)],
    ) -> Result<Vec<VersionDoc>, StoreError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let doing = "reading current node versions";
        let ids: Vec<String> = keys
            .iter()
            .map(|(name, from)| version_id(cluster, name, *from))
            .collect();
        let body = self.client.mget(&self.indices.nodes, &ids, doing).await?;
        let docs = body
            .get("docs")
            .and_then(Value::as_array)
            .filter(|d| d.len() == keys.len())
            .ok_or_else(|| unexpected(doing, "no `docs` for every id"))?;
        docs.iter()
            .zip(keys)
            .map(|(doc, (name, from))| {
                let source = doc.get("_source").cloned().ok_or_else(|| {
                    StoreError::invalid_data(
                        BACKEND,
                        format!(
                            "{doing}: the current version of node `{name}` (from {from} µs) is \
                             missing from `{}`: the store was changed by hand",
                            self.indices.nodes
                        ),
                    )
                })?;
                VersionDoc::read(source)
            })
            .collect()
    }
}

#[async_trait]
impl NodeHistory for ElasticsearchStore {
    fn backend(&self) -> &'static str {
        BACKEND
    }

    async fn record_nodes(
        &self,
        cluster: Option<&str>,
        at: DateTime<Utc>,
        nodes: &[Node],
    ) -> Result<(), StoreError> {
        let cluster = cluster_key(cluster);
        let at_us = micros(at);
        // The last description of a name wins, as in SQLite.
        let mut observed: BTreeMap<&str, String> = BTreeMap::new();
        for node in nodes {
            let body = serde_json::to_string(node).map_err(|e| {
                StoreError::invalid_data(BACKEND, "node cannot be encoded").with_source(e)
            })?;
            observed.insert(&node.name, body);
        }
        for _ in 0..MAX_ATTEMPTS {
            let read = match self.read_state(cluster).await? {
                Some(r) => Some(self.finish_pending(r).await?),
                None => None,
            };
            let (latest_us, generation, current) =
                read.as_ref().map_or((i64::MIN, 0, &[][..]), |r| {
                    (r.state.latest_us, r.state.generation, &r.state.current[..])
                });
            if at_us < latest_us {
                return Err(StoreError::older_observation(
                    BACKEND,
                    format!("node observation at {at} is older than the latest recorded one"),
                ));
            }
            let change = change(current, &observed, at_us);
            let changed = !(change.opens.is_empty() && change.closes.is_empty());
            if !changed && at_us == latest_us {
                return Ok(());
            }
            let mut pending: Vec<VersionDoc> = self
                .fetch_versions(cluster, &change.closes)
                .await?
                .into_iter()
                .map(|d| d.closed_at(at_us))
                .collect();
            pending.extend(
                change
                    .opens
                    .into_iter()
                    .map(|(name, body)| VersionDoc::open(cluster, &name, at_us, body)),
            );
            let generation = if changed { generation + 1 } else { generation };
            let next = ClusterState {
                kind: CLUSTER_KIND.to_string(),
                cluster: cluster.to_string(),
                latest_us: at_us,
                generation,
                current: change.current,
                pending,
            };
            // The commit point: the new state with what it still has to write.
            let Some(committed) = self.swap_state(read.as_ref(), next).await? else {
                continue;
            };
            self.finish_pending(committed).await?;
            return Ok(());
        }
        Err(StoreError::conflict(
            BACKEND,
            format!(
                "recording nodes: the nodes of cluster `{cluster}` were changed by another \
                 writer during each of {MAX_ATTEMPTS} attempts; retry"
            ),
        ))
    }

    async fn nodes_at(
        &self,
        cluster: Option<&str>,
        t: DateTime<Utc>,
    ) -> Result<Vec<Node>, StoreError> {
        let t_us = micros(t);
        let filter = vec![
            json!({"range": {"valid_from_us": {"lte": t_us}}}),
            json!({"bool": {
                "should": [
                    {"bool": {"must_not": {"exists": {"field": "valid_to_us"}}}},
                    {"range": {"valid_to_us": {"gt": t_us}}}
                ],
                "minimum_should_match": 1
            }}),
        ];
        self.read_versions(
            cluster_key(cluster),
            filter,
            &json!([{"name": "asc"}, {"valid_from_us": "asc"}]),
            "reading nodes",
        )
        .await?
        .into_iter()
        .map(|d| d.into_version().map(|v| v.node))
        .collect()
    }

    async fn node_versions(
        &self,
        cluster: Option<&str>,
        name: &str,
    ) -> Result<Vec<NodeVersion>, StoreError> {
        self.read_versions(
            cluster_key(cluster),
            vec![json!({"term": {"name": name}})],
            &json!([{"valid_from_us": "asc"}]),
            "reading node versions",
        )
        .await?
        .into_iter()
        .map(VersionDoc::into_version)
        .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn current(name: &str, from: i64, body: &str) -> Current {
        Current {
            name: name.to_string(),
            valid_from_us: from,
            digest: digest(&[body]),
        }
    }

    #[test]
    fn changes_close_and_open_versions() {
        let now = [
            current("a", 1, "A"),
            current("b", 1, "B"),
            current("c", 5, "C"),
        ];
        let observed: BTreeMap<&str, String> = [
            ("a", "A".to_string()),
            ("b", "B2".to_string()),
            ("c", "C2".to_string()),
            ("d", "D".to_string()),
        ]
        .into_iter()
        .collect();
        let c = change(&now, &observed, 5);
        assert_eq!(c.closes, [("b".to_string(), 1)], "c starts now: replaced");
        assert_eq!(
            c.opens.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
            ["b", "c", "d"]
        );
        assert_eq!(c.current[0], now[0], "a is unchanged");
        assert_eq!(c.current.len(), 4);

        let gone = change(&now, &BTreeMap::new(), 9);
        assert_eq!(gone.closes.len(), 3);
        assert!(gone.opens.is_empty() && gone.current.is_empty());

        let same: BTreeMap<&str, String> = [("a", "A".to_string()), ("b", "B".to_string())]
            .into_iter()
            .collect();
        let c = change(&now[..2], &same, 9);
        assert!(c.opens.is_empty() && c.closes.is_empty());
    }

    #[test]
    fn version_documents_round_trip() {
        let node = Node {
            name: "a".into(),
            ..Node::default()
        };
        let doc = VersionDoc::open("c", "a", 2_000, serde_json::to_string(&node).unwrap())
            .closed_at(3_000);
        assert_eq!(doc.valid_to, Some(3));
        let back = VersionDoc::read(serde_json::to_value(&doc).unwrap()).unwrap();
        assert_eq!(back, doc);
        let v = back.into_version().unwrap();
        assert_eq!(v.node, node);
        assert_eq!(v.valid_to.map(|t| t.timestamp_micros()), Some(3_000));
        assert_ne!(version_id("c", "a", 1), version_id("c", "a", 2));
        assert_ne!(state_id(""), state_id("c"));
    }
}
