//! In-memory implementation of the history repositories: the reference behaviour.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};

use crate::ports::{
    EmbodiedCache, EmbodiedCacheEntry, IntensityHistory, IntensityPoint, LedgerEntry, LedgerTotal,
    NodeHistory, NodeVersion, PackedSnapshot, RecommendationStore, SavingsLedger, SnapshotArchive,
    StoreError, TimeRange,
};
use crate::recommend::RecommendationRecord;
use crate::snapshot::{Node, Snapshot};

const BACKEND: &str = "memory";

type ClusterKey = Option<String>;
/// A cluster's node versions by name, and its latest observation time.
type ClusterNodes = (BTreeMap<String, Vec<NodeVersion>>, Option<DateTime<Utc>>);

#[derive(Debug, Default)]
struct State {
    snapshots: BTreeMap<(DateTime<Utc>, ClusterKey), Snapshot>,
    /// Per cluster: node name → versions, plus the latest observation time.
    nodes: BTreeMap<ClusterKey, ClusterNodes>,
    intensities: BTreeMap<(String, DateTime<Utc>), IntensityPoint>,
    recommendations: BTreeMap<String, RecommendationRecord>,
    ledger: BTreeMap<(String, DateTime<Utc>), LedgerEntry>,
    embodied: BTreeMap<(String, String), EmbodiedCacheEntry>,
}

/// All six history repositories in memory.
#[derive(Debug, Default, Clone)]
pub struct InMemoryHistory {
    state: Arc<Mutex<State>>,
}

impl InMemoryHistory {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn state(&self) -> Result<MutexGuard<'_, State>, StoreError> {
        self.state
            .lock()
            .map_err(|_| StoreError::other(BACKEND, "state lock poisoned"))
    }
}

fn cluster_key(cluster: Option<&str>) -> ClusterKey {
    cluster.map(str::to_string)
}

#[async_trait]
impl SnapshotArchive for InMemoryHistory {
    fn backend(&self) -> &'static str {
        BACKEND
    }

    async fn archive(&self, snapshot: &Snapshot) -> Result<(), StoreError> {
        let key = (
            snapshot.window_start,
            snapshot.cluster.as_deref().map(str::to_string),
        );
        self.state()?.snapshots.insert(key, snapshot.clone());
        Ok(())
    }

    /// The snapshot's JSON, uncompressed.
    fn pack(&self, snapshot: &Snapshot) -> Result<PackedSnapshot, StoreError> {
        let body = serde_json::to_vec(snapshot).map_err(|e| {
            StoreError::invalid_data(BACKEND, format!("snapshot cannot be encoded: {e}"))
        })?;
        Ok(PackedSnapshot {
            cluster: snapshot.cluster.clone(),
            window_start: snapshot.window_start,
            body,
        })
    }

    async fn archive_packed(&self, packed: &[PackedSnapshot]) -> Result<(), StoreError> {
        // Decoded first: a damaged one stores none.
        let snapshots = packed
            .iter()
            .map(|p| self.unpack(p))
            .collect::<Result<Vec<_>, _>>()?;
        let mut state = self.state()?;
        for snapshot in snapshots {
            let key = (
                snapshot.window_start,
                snapshot.cluster.as_deref().map(str::to_string),
            );
            state.snapshots.insert(key, snapshot);
        }
        Ok(())
    }

    async fn snapshot(
        &self,
        cluster: Option<&str>,
        window_start: DateTime<Utc>,
    ) -> Result<Option<Snapshot>, StoreError> {
        Ok(self
            .state()?
            .snapshots
            .get(&(window_start, cluster_key(cluster)))
            .cloned())
    }

    async fn packed(
        &self,
        cluster: Option<&str>,
        window_start: DateTime<Utc>,
    ) -> Result<Option<PackedSnapshot>, StoreError> {
        match self.snapshot(cluster, window_start).await? {
            Some(snapshot) => self.pack(&snapshot).map(Some),
            None => Ok(None),
        }
    }

    fn unpack(&self, packed: &PackedSnapshot) -> Result<Snapshot, StoreError> {
        let text = std::str::from_utf8(&packed.body)
            .map_err(|e| StoreError::invalid_data(BACKEND, format!("packed snapshot: {e}")))?;
        Snapshot::from_json_str(text)
            .map_err(|e| StoreError::invalid_data(BACKEND, format!("packed snapshot: {e}")))
    }

    async fn archived_windows(
        &self,
        range: TimeRange,
    ) -> Result<Vec<(Option<Arc<str>>, DateTime<Utc>)>, StoreError> {
        Ok(self
            .state()?
            .snapshots
            .keys()
            .filter(|(start, _)| range.contains(*start))
            .map(|(start, cluster)| (cluster.as_deref().map(Arc::from), *start))
            .collect())
    }
}

#[async_trait]
impl NodeHistory for InMemoryHistory {
    fn backend(&self) -> &'static str {
        BACKEND
    }

    async fn record_nodes(
        &self,
        cluster: Option<&str>,
        at: DateTime<Utc>,
        nodes: &[Node],
    ) -> Result<(), StoreError> {
        let mut state = self.state()?;
        let (versions, latest) = state.nodes.entry(cluster_key(cluster)).or_default();
        if latest.is_some_and(|l| at < l) {
            return Err(StoreError::older_observation(
                BACKEND,
                format!("node observation at {at} is older than the latest recorded one"),
            ));
        }
        *latest = Some(at);
        for node in nodes {
            let history = versions.entry(node.name.to_string()).or_default();
            match history.last_mut() {
                Some(current) if current.valid_to.is_none() && current.node == *node => {}
                Some(current) if current.valid_to.is_none() => {
                    current.valid_to = Some(at);
                    history.push(NodeVersion {
                        node: node.clone(),
                        valid_from: at,
                        valid_to: None,
                    });
                }
                _ => history.push(NodeVersion {
                    node: node.clone(),
                    valid_from: at,
                    valid_to: None,
                }),
            }
        }
        for (name, history) in versions.iter_mut() {
            if !nodes.iter().any(|n| n.name.as_ref() == name)
                && let Some(current) = history.last_mut()
                && current.valid_to.is_none()
            {
                current.valid_to = Some(at);
            }
        }
        Ok(())
    }

    async fn nodes_at(
        &self,
        cluster: Option<&str>,
        t: DateTime<Utc>,
    ) -> Result<Vec<Node>, StoreError> {
        let state = self.state()?;
        let Some((versions, _)) = state.nodes.get(&cluster_key(cluster)) else {
            return Ok(Vec::new());
        };
        Ok(versions
            .values()
            .filter_map(|h| {
                h.iter()
                    .find(|v| v.valid_from <= t && v.valid_to.is_none_or(|end| t < end))
                    .map(|v| v.node.clone())
            })
            .collect())
    }

    async fn node_versions(
        &self,
        cluster: Option<&str>,
        name: &str,
    ) -> Result<Vec<NodeVersion>, StoreError> {
        let state = self.state()?;
        Ok(state
            .nodes
            .get(&cluster_key(cluster))
            .and_then(|(v, _)| v.get(name))
            .cloned()
            .unwrap_or_default())
    }
}

#[async_trait]
impl IntensityHistory for InMemoryHistory {
    fn backend(&self) -> &'static str {
        BACKEND
    }

    async fn put_intensities(&self, points: &[IntensityPoint]) -> Result<(), StoreError> {
        IntensityPoint::check_all(points).map_err(|m| StoreError::invalid_data(BACKEND, m))?;
        let mut state = self.state()?;
        for p in points {
            state.intensities.insert((p.zone.clone(), p.at), p.clone());
        }
        Ok(())
    }

    async fn intensity_at(
        &self,
        zone: &str,
        t: DateTime<Utc>,
        max_age: Duration,
    ) -> Result<Option<IntensityPoint>, StoreError> {
        let state = self.state()?;
        Ok(state
            .intensities
            .range((zone.to_string(), t - max_age)..=(zone.to_string(), t))
            .rfind(|(_, p)| p.at > t - max_age)
            .map(|(_, p)| p.clone()))
    }

    async fn intensities(
        &self,
        zone: &str,
        range: TimeRange,
    ) -> Result<Vec<IntensityPoint>, StoreError> {
        let state = self.state()?;
        Ok(state
            .intensities
            .values()
            .filter(|p| p.zone == zone && range.contains(p.at))
            .cloned()
            .collect())
    }
}

#[async_trait]
impl RecommendationStore for InMemoryHistory {
    fn backend(&self) -> &'static str {
        BACKEND
    }

    async fn records(&self) -> Result<Vec<RecommendationRecord>, StoreError> {
        Ok(self.state()?.recommendations.values().cloned().collect())
    }

    async fn replace_records(&self, records: &[RecommendationRecord]) -> Result<(), StoreError> {
        let mut next = BTreeMap::new();
        for r in records {
            if next
                .insert(r.recommendation.id.clone(), r.clone())
                .is_some()
            {
                return Err(StoreError::invalid_data(
                    BACKEND,
                    format!("two records with id {}", r.recommendation.id),
                ));
            }
        }
        self.state()?.recommendations = next;
        Ok(())
    }

    async fn update_record(&self, record: &RecommendationRecord) -> Result<(), StoreError> {
        let mut state = self.state()?;
        match state.recommendations.get_mut(&record.recommendation.id) {
            Some(slot) => {
                *slot = record.clone();
                Ok(())
            }
            None => Err(StoreError::invalid_data(
                BACKEND,
                format!("no recommendation with id {}", record.recommendation.id),
            )),
        }
    }
}

#[async_trait]
impl SavingsLedger for InMemoryHistory {
    fn backend(&self) -> &'static str {
        BACKEND
    }

    async fn record_savings(&self, entries: &[LedgerEntry]) -> Result<(), StoreError> {
        let mut state = self.state()?;
        for e in entries {
            state
                .ledger
                .insert((e.recommendation_id.clone(), e.period_start), e.clone());
        }
        Ok(())
    }

    async fn savings_by_kind(&self, range: TimeRange) -> Result<Vec<LedgerTotal>, StoreError> {
        let state = self.state()?;
        let mut totals: BTreeMap<_, LedgerTotal> = BTreeMap::new();
        for e in state
            .ledger
            .values()
            .filter(|e| range.contains(e.period_start))
        {
            let t = totals.entry(e.kind).or_insert(LedgerTotal {
                kind: e.kind,
                co2e_grams: 0.0,
                cost: 0.0,
                entries_without_cost: 0,
            });
            t.co2e_grams += e.co2e_grams;
            match e.cost {
                Some(c) => t.cost += c,
                None => t.entries_without_cost += 1,
            }
        }
        Ok(totals.into_values().collect())
    }
}

#[async_trait]
impl EmbodiedCache for InMemoryHistory {
    fn backend(&self) -> &'static str {
        BACKEND
    }

    async fn cached_embodied(
        &self,
        provider: &str,
        instance_type: &str,
    ) -> Result<Option<EmbodiedCacheEntry>, StoreError> {
        let key = (
            provider.to_ascii_lowercase(),
            instance_type.to_ascii_lowercase(),
        );
        Ok(self.state()?.embodied.get(&key).cloned())
    }

    async fn cache_embodied(&self, entry: &EmbodiedCacheEntry) -> Result<(), StoreError> {
        let key = (
            entry.provider.to_ascii_lowercase(),
            entry.instance_type.to_ascii_lowercase(),
        );
        self.state()?.embodied.insert(key, entry.clone());
        Ok(())
    }
}
