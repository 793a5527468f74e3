//! In-memory implementations of the ports: the reference behaviour, and a stand-in for tests
//! of code that uses a repository.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};

use crate::aggregate::{AggregateRow, GroupBy, GroupKey};
use crate::footprint::Footprint;
use crate::labels::PodLabels;
use crate::ports::floor_time as floor;
use crate::ports::{
    FootprintRepository, MaintenanceSummary, NodeRecord, PodCursor, PodPage, PodRecord,
    ReportQuery, RetentionPolicy, RetentionState, StoreError, TimeRange, WindowRecords,
    WriteSummary, page_size,
};
use crate::units::Money;

const BACKEND: &str = "memory";

/// `(window_start, cluster, namespace, pod)`: the order of [`FootprintRepository::read_pod_rows`].
type PodKey = (DateTime<Utc>, Option<Arc<str>>, Arc<str>, Arc<str>);
/// `(cluster, namespace, pod)`: the key of a pod's labels.
type LabelKey = (Option<Arc<str>>, Arc<str>, Arc<str>);
/// `(window_start, cluster, node)`.
type NodeKey = (DateTime<Utc>, Option<Arc<str>>, Option<Arc<str>>);

/// Roll-ups are a speed device, so the reference keeps sealed rows whole (`sealed_*`, used by
/// reports only) and models what is observable: sealing, rounding, refusals and the work counts.
#[derive(Debug, Default, Clone)]
struct State {
    pods: BTreeMap<PodKey, PodRecord>,
    nodes: BTreeMap<NodeKey, NodeRecord>,
    sealed_pods: BTreeMap<PodKey, PodRecord>,
    sealed_nodes: BTreeMap<NodeKey, NodeRecord>,
    retention: RetentionState,
    dirty_hours: BTreeSet<DateTime<Utc>>,
    dirty_days: BTreeSet<DateTime<Utc>>,
    labels: BTreeMap<LabelKey, PodLabels>,
}

impl State {
    /// Replaces one window; returns the number of pod rows replaced.
    fn replace(&mut self, w: WindowRecords) -> usize {
        let same = |start: &DateTime<Utc>, cluster: &Option<Arc<str>>| {
            *start == w.window_start && *cluster == w.cluster
        };
        let before = self.pods.len();
        self.pods.retain(|k, _| !same(&k.0, &k.1));
        let replaced = before - self.pods.len();
        self.nodes.retain(|k, _| !same(&k.0, &k.1));
        self.dirty_hours
            .insert(floor(w.window_start, TimeDelta::hours(1)));
        self.dirty_days
            .insert(floor(w.window_start, TimeDelta::days(1)));
        for l in w.labels {
            let key = (l.cluster.clone(), l.namespace.clone(), l.pod.clone());
            match self.labels.get_mut(&key) {
                Some(entry) => entry.absorb(&l),
                None => {
                    self.labels.insert(key, l);
                }
            }
        }
        for p in w.pods {
            let key = (
                p.window_start,
                p.cluster.clone(),
                p.namespace.clone(),
                p.pod.clone(),
            );
            self.pods.insert(key, p);
        }
        for n in w.nodes {
            let key = (n.window_start, n.cluster.clone(), n.node.clone());
            self.nodes.insert(key, n);
        }
        replaced
    }
}

/// A [`FootprintRepository`] in memory. Atomic by construction: a batch is applied to a copy
/// of the state, which replaces the state only when every window was valid.
#[derive(Debug, Default)]
pub struct InMemoryFootprintRepository {
    state: Mutex<State>,
}

impl InMemoryFootprintRepository {
    /// An empty repository.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> Result<MutexGuard<'_, State>, StoreError> {
        self.state
            .lock()
            .map_err(|_| StoreError::other(BACKEND, "state lock poisoned by an earlier panic"))
    }
}

fn group_key(query: &ReportQuery, start: DateTime<Utc>) -> GroupKey {
    GroupKey {
        period: query.period.map(|p| p.label(start)),
        ..GroupKey::default()
    }
}

fn entry(groups: &mut BTreeMap<GroupKey, AggregateRow>, key: GroupKey) -> &mut AggregateRow {
    groups.entry(key).or_insert_with_key(|k| AggregateRow {
        key: k.clone(),
        ..AggregateRow::default()
    })
}

fn add_window(row: &mut AggregateRow, start: DateTime<Utc>, end: DateTime<Utc>) {
    row.first_window = Some(row.first_window.map_or(start, |w| w.min(start)));
    row.last_window = Some(row.last_window.map_or(end, |w| w.max(end)));
}

#[async_trait]
impl FootprintRepository for InMemoryFootprintRepository {
    fn backend(&self) -> &'static str {
        BACKEND
    }

    async fn write_footprints(&self, batch: &[Footprint]) -> Result<WriteSummary, StoreError> {
        let mut state = self.lock()?;
        let mut next = state.clone();
        let mut summary = WriteSummary::default();
        for fp in batch {
            let w = WindowRecords::from_footprint(fp);
            w.validate()
                .map_err(|e| StoreError::invalid_data(BACKEND, e.to_string()))?;
            next.retention.check_writable(BACKEND, &w)?;
            summary.windows += 1;
            summary.pod_rows += w.pods.len();
            summary.node_rows += w.nodes.len();
            summary.replaced_pod_rows += next.replace(w);
        }
        *state = next;
        Ok(summary)
    }

    async fn aggregate(&self, query: &ReportQuery) -> Result<Vec<AggregateRow>, StoreError> {
        let state = self.lock()?;
        let range = state.retention.effective_range(query.range);
        state.retention.check_period(BACKEND, range, query.period)?;
        let mut groups: BTreeMap<GroupKey, AggregateRow> = BTreeMap::new();
        let in_range = |t: DateTime<Utc>| range.contains(t);
        let pods = state.pods.values().chain(state.sealed_pods.values());
        for p in
            pods.filter(|p| in_range(p.window_start) && query.reads_cluster(p.cluster.as_deref()))
        {
            let mut key = group_key(query, p.window_start);
            match query.group_by {
                GroupBy::Pod => {
                    key.namespace = Some(p.namespace.clone());
                    key.pod = Some(p.pod.clone());
                }
                GroupBy::Workload => {
                    key.namespace = Some(p.namespace.clone());
                    key.workload_kind = Some(p.workload_kind.clone());
                    key.workload = Some(p.workload.clone());
                }
                GroupBy::Namespace => key.namespace = Some(p.namespace.clone()),
                GroupBy::Node => key.node.clone_from(&p.node),
                GroupBy::Cluster => key.cluster.clone_from(&p.cluster),
            }
            let row = entry(&mut groups, key);
            row.energy_joules += p.energy_joules;
            row.co2e_grams += p.co2e_grams;
            row.embodied_co2e_grams += p.embodied_co2e_grams;
            row.cost += p.cost.unwrap_or(Money::ZERO);
            row.rows += 1;
            row.estimated_rows += usize::from(p.estimated);
            row.rows_without_cost += usize::from(p.cost.is_none());
            add_window(row, p.window_start, p.window_end);
        }
        if matches!(query.group_by, GroupBy::Node | GroupBy::Cluster) {
            let nodes = state.nodes.values().chain(state.sealed_nodes.values());
            for n in nodes
                .filter(|n| in_range(n.window_start) && query.reads_cluster(n.cluster.as_deref()))
            {
                let mut key = group_key(query, n.window_start);
                if query.group_by == GroupBy::Node {
                    key.node.clone_from(&n.node);
                } else {
                    key.cluster.clone_from(&n.cluster);
                }
                let row = entry(&mut groups, key);
                row.energy_joules += n.overhead_energy_joules;
                row.co2e_grams += n.overhead_co2e_grams;
                row.embodied_co2e_grams += n.unallocated_embodied_co2e_grams;
                add_window(row, n.window_start, n.window_end);
            }
        }
        Ok(groups.into_values().collect())
    }

    async fn read_pod_rows(
        &self,
        range: TimeRange,
        after: Option<&PodCursor>,
        limit: usize,
    ) -> Result<PodPage, StoreError> {
        let limit = page_size(BACKEND, limit)?;
        let state = self.lock()?;
        let after_key = after.map(|c| {
            (
                c.window_start(),
                c.cluster().map(Arc::from),
                Arc::<str>::from(c.namespace()),
                Arc::<str>::from(c.pod()),
            )
        });
        let mut rows: Vec<PodRecord> = state
            .pods
            .iter()
            .filter(|(k, _)| after_key.as_ref().is_none_or(|a| *k > a))
            .map(|(_, v)| v)
            .skip_while(|p| p.window_start < range.from())
            .take_while(|p| p.window_start < range.to())
            .take(limit + 1)
            .cloned()
            .collect();
        let next = if rows.len() > limit {
            rows.truncate(limit);
            rows.last().map(PodCursor::after)
        } else {
            None
        };
        Ok(PodPage { rows, next })
    }

    async fn maintain(
        &self,
        policy: &RetentionPolicy,
        now: DateTime<Utc>,
    ) -> Result<MaintenanceSummary, StoreError> {
        let mut state = self.lock()?;
        let mut summary = MaintenanceSummary::default();
        let hour = TimeDelta::hours(1);
        let day = TimeDelta::days(1);
        let complete: Vec<_> = state
            .dirty_hours
            .iter()
            .copied()
            .filter(|h| *h + hour <= now)
            .collect();
        for h in &complete {
            state.dirty_hours.remove(h);
        }
        summary.hours_rolled = complete.len();
        let days: Vec<_> = state
            .dirty_days
            .iter()
            .copied()
            .filter(|d| *d + day <= now && state.dirty_hours.range(*d..*d + day).next().is_none())
            .collect();
        for d in &days {
            state.dirty_days.remove(d);
        }
        summary.days_rolled = days.len();

        let before = state.retention;
        let after = before.advance(policy.cuts(now));
        let cut = after.raw_before.unwrap_or(DateTime::<Utc>::MIN_UTC);
        let sealed_pods: Vec<PodKey> = state
            .pods
            .range(..(cut, None, "".into(), "".into()))
            .map(|(k, _)| k.clone())
            .collect();
        for k in sealed_pods {
            if let Some(row) = state.pods.remove(&k) {
                state.sealed_pods.insert(k, row);
                summary.raw_rows_deleted += 1;
            }
        }
        let sealed_nodes: Vec<NodeKey> = state
            .nodes
            .range(..(cut, None, None))
            .map(|(k, _)| k.clone())
            .collect();
        for k in sealed_nodes {
            if let Some(row) = state.nodes.remove(&k) {
                state.sealed_nodes.insert(k, row);
                summary.raw_rows_deleted += 1;
            }
        }
        if let Some(gone) = after.daily_before {
            state.sealed_pods.retain(|k, _| k.0 >= gone);
            state.sealed_nodes.retain(|k, _| k.0 >= gone);
        }
        state.retention = after;
        summary.state = after;
        Ok(summary)
    }

    async fn pod_labels(
        &self,
        range: TimeRange,
        cluster: Option<&str>,
    ) -> Result<Vec<PodLabels>, StoreError> {
        let state = self.lock()?;
        Ok(state
            .labels
            .values()
            .filter(|l| cluster.is_none_or(|c| l.cluster.as_deref() == Some(c)))
            .filter(|l| l.overlaps(range))
            .cloned()
            .collect())
    }

    async fn retention_state(&self) -> Result<RetentionState, StoreError> {
        Ok(self.lock()?.retention)
    }
}
