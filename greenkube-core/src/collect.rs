//! Building the snapshot of one window from what the sources said, and planning which windows a
//! collector still owes.
//!
//! The joins are pure and deterministic, so the collection daemon, `greenkube demo` and tests
//! build snapshots the same way:
//!
//! * **Nodes** come from the Kubernetes API; when it was unavailable, from the metrics
//!   (`kube_node_labels`); a node known to both takes the API's fields and fills what the API
//!   left empty from the metrics.
//! * **Pods** are the union of the API's pods (node, owner, requests) and the pods with metrics
//!   in the window (usage, restarts): a pod that finished during the window has metrics but is
//!   gone from the API, and is kept (its requests are unknown); a pod the API lists without any
//!   metric keeps an unknown usage, which the engine flags.
//! * **Costs, intensities, embodied figures** are passed through; the engine flags what they
//!   lack.
//! * **Sources that failed** are recorded in `degraded_sources`, so every figure of the window
//!   carries a reason naming them.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};

use crate::ports::{ClusterInventory, PodUsage, SourceNote, TimeRange, WindowUsage};
use crate::snapshot::{CostEntry, EmbodiedEntry, Node, Pod, SNAPSHOT_SCHEMA, Snapshot};
use crate::units::GramsPerKwh;

/// What the sources gave for one window.
#[derive(Debug, Clone, Default)]
pub struct WindowInputs<'a> {
    /// Cluster name.
    pub cluster: Option<Arc<str>>,
    /// The Kubernetes inventory, when the API answered.
    pub inventory: Option<&'a ClusterInventory>,
    /// Nodes as the metrics describe them (a fallback for the API).
    pub metric_nodes: &'a [Node],
    /// Usage per pod in the window, when Prometheus answered; `restarts` are the restarts during
    /// the window (the collector turns the port's cumulative counts into differences).
    pub usage: Option<&'a WindowUsage>,
    /// Cost per pod in the window.
    pub costs: Vec<CostEntry>,
    /// Measured grid intensity per zone.
    pub grid_intensity: BTreeMap<String, GramsPerKwh>,
    /// Embodied figures per instance type.
    pub embodied: Vec<EmbodiedEntry>,
    /// Sources that failed for this window.
    pub degraded_sources: Vec<SourceNote>,
}

/// The snapshot of `[window_start, window_end)` from the sources' answers (see the module docs
/// for the joins). Pods and nodes are sorted by name, so the same answers give the same snapshot.
pub fn assemble(
    window_start: DateTime<Utc>,
    window_end: DateTime<Utc>,
    inputs: WindowInputs<'_>,
) -> Snapshot {
    let nodes = merge_nodes(
        inputs.inventory.map(|i| i.nodes.as_slice()),
        inputs.metric_nodes,
    );
    let mut pods: BTreeMap<(Arc<str>, Arc<str>), Pod> = BTreeMap::new();
    if let Some(inventory) = inputs.inventory {
        for spec in &inventory.pods {
            pods.insert(
                (spec.namespace.clone(), spec.name.clone()),
                Pod {
                    namespace: spec.namespace.clone(),
                    name: spec.name.clone(),
                    node: spec.node.clone(),
                    owner_kind: spec.owner_kind.clone(),
                    owner_name: spec.owner_name.clone(),
                    cpu_request_cores: spec.cpu_request_cores,
                    memory_request_bytes: spec.memory_request_bytes,
                    labels: spec.labels.clone(),
                    ..Pod::default()
                },
            );
        }
    }
    if let Some(usage) = inputs.usage {
        for measured in &usage.pods {
            let pod = pods
                .entry((measured.namespace.clone(), measured.pod.clone()))
                .or_insert_with(|| Pod {
                    namespace: measured.namespace.clone(),
                    name: measured.pod.clone(),
                    ..Pod::default()
                });
            apply_usage(pod, measured);
        }
    }
    let mut degraded = inputs.degraded_sources;
    degraded.sort_by_key(|n| n.source);
    degraded.dedup_by(|a, b| a.source == b.source);
    Snapshot {
        schema: SNAPSHOT_SCHEMA.to_string(),
        cluster: inputs.cluster,
        window_start,
        window_end,
        nodes,
        pods: pods.into_values().collect(),
        grid_intensity: inputs.grid_intensity,
        costs: inputs.costs,
        embodied: inputs.embodied,
        degraded_sources: degraded,
        dropped_values: inputs.usage.map(|u| u.dropped.clone()).unwrap_or_default(),
    }
}

fn apply_usage(pod: &mut Pod, usage: &PodUsage) {
    pod.cpu_usage_cores = usage.cpu_usage_cores;
    pod.memory_usage_bytes = usage.memory_usage_bytes;
    pod.restarts = usage.restarts;
    if pod.node.is_none() {
        pod.node.clone_from(&usage.node);
    }
}

fn merge_nodes(api: Option<&[Node]>, metrics: &[Node]) -> Vec<Node> {
    let by_name: BTreeMap<&str, &Node> = metrics.iter().map(|n| (&*n.name, n)).collect();
    let mut out: Vec<Node> = match api {
        Some(nodes) => nodes
            .iter()
            .map(|from_api| {
                let mut node = from_api.clone();
                if let Some(measured) = by_name.get(&*node.name) {
                    fill(&mut node.provider, measured.provider.as_ref());
                    fill(&mut node.instance_type, measured.instance_type.as_ref());
                    fill(&mut node.region, measured.region.as_ref());
                    fill(&mut node.zone, measured.zone.as_ref());
                    fill(
                        &mut node.cpu_capacity_cores,
                        measured.cpu_capacity_cores.as_ref(),
                    );
                    fill(
                        &mut node.memory_capacity_bytes,
                        measured.memory_capacity_bytes.as_ref(),
                    );
                }
                node
            })
            .collect(),
        None => metrics.to_vec(),
    };
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out.dedup_by(|a, b| a.name == b.name);
    out
}

fn fill<T: Clone>(slot: &mut Option<T>, from: Option<&T>) {
    if slot.is_none() {
        *slot = from.cloned();
    }
}

/// The windows `[t, t + step)` a collector owes at `now`: from the watermark (the end of the
/// last stored window; when there is none, `now - backfill` aligned down to the step) up to the
/// last window that has ended, oldest first, at most `limit` of them. Windows are aligned to
/// multiples of `step` since the epoch, so restarts and several collectors agree on them.
pub fn due_windows(
    watermark: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    step: TimeDelta,
    backfill: TimeDelta,
    limit: usize,
) -> Vec<TimeRange> {
    if step <= TimeDelta::zero() {
        return Vec::new();
    }
    let align = |t: DateTime<Utc>| crate::ports::floor_time(t, step);
    let start = watermark.map_or_else(
        || align(now.checked_sub_signed(backfill).unwrap_or(now)),
        |w| crate::ports::ceil_time(w, step),
    );
    let mut out = Vec::new();
    let mut window_start = start;
    while out.len() < limit {
        let Some(end) = window_start.checked_add_signed(step) else {
            break;
        };
        if end > now {
            break;
        }
        if let Ok(window) = TimeRange::new(window_start, end) {
            out.push(window);
        }
        window_start = end;
    }
    out
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::ports::{PodSpec, SourceErrorKind, SourceKind};
    use crate::units::{Bytes, Cores};

    fn t(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 6, 2, h, m, 0).unwrap()
    }

    fn node(name: &str, itype: Option<&str>) -> Node {
        Node {
            name: name.into(),
            instance_type: itype.map(Arc::from),
            ..Node::default()
        }
    }

    fn usage(ns: &str, pod: &str, node: &str, cpu: f64) -> PodUsage {
        PodUsage {
            namespace: ns.into(),
            pod: pod.into(),
            node: Some(node.into()),
            cpu_usage_cores: Some(Cores(cpu)),
            memory_usage_bytes: Some(Bytes(1e8)),
            restarts: Some(1),
        }
    }

    #[test]
    fn pods_join_the_api_and_the_metrics() {
        let inventory = ClusterInventory {
            nodes: vec![node("b", Some("m5.large")), node("a", None)],
            pods: vec![
                PodSpec {
                    namespace: "shop".into(),
                    name: "api-1".into(),
                    node: Some("a".into()),
                    owner_kind: Some("Deployment".into()),
                    owner_name: Some("api".into()),
                    cpu_request_cores: Some(Cores(0.5)),
                    memory_request_bytes: None,
                    labels: None,
                },
                PodSpec {
                    namespace: "shop".into(),
                    name: "pending".into(),
                    node: None,
                    owner_kind: None,
                    owner_name: None,
                    cpu_request_cores: Some(Cores(1.0)),
                    memory_request_bytes: None,
                    labels: None,
                },
            ],
            hpas: Vec::new(),
        };
        let metrics = [node("a", Some("c5.xlarge")), node("z", Some("t3.micro"))];
        let usage = WindowUsage {
            dropped: Vec::new(),
            window_start: t(10, 0),
            pods: vec![
                usage("shop", "api-1", "a", 0.25),
                usage("batch", "job-9", "b", 2.0),
            ],
        };
        let snap = assemble(
            t(10, 0),
            t(10, 5),
            WindowInputs {
                cluster: Some("prod".into()),
                inventory: Some(&inventory),
                metric_nodes: &metrics,
                usage: Some(&usage),
                ..WindowInputs::default()
            },
        );
        let names: Vec<&str> = snap.nodes.iter().map(|n| &*n.name).collect();
        assert_eq!(names, ["a", "b"], "API nodes only, sorted");
        assert_eq!(snap.nodes[0].instance_type.as_deref(), Some("c5.xlarge"));
        assert_eq!(snap.nodes[1].instance_type.as_deref(), Some("m5.large"));
        let pods: Vec<(&str, &str)> = snap
            .pods
            .iter()
            .map(|p| (&*p.namespace, &*p.name))
            .collect();
        assert_eq!(
            pods,
            [("batch", "job-9"), ("shop", "api-1"), ("shop", "pending")]
        );
        let api = &snap.pods[1];
        assert_eq!(api.cpu_usage_cores, Some(Cores(0.25)));
        assert_eq!(api.cpu_request_cores, Some(Cores(0.5)));
        assert_eq!(api.owner_name.as_deref(), Some("api"));
        let finished = &snap.pods[0];
        assert_eq!(finished.node.as_deref(), Some("b"));
        assert_eq!(finished.cpu_request_cores, None);
        assert_eq!(
            snap.pods[2].cpu_usage_cores, None,
            "no metric: unknown, not zero"
        );
        snap.validate().expect("a valid snapshot");
    }

    #[test]
    fn without_the_api_nodes_come_from_the_metrics_and_the_failure_is_recorded() {
        let metrics = [node("z", Some("t3.micro"))];
        let snap = assemble(
            t(10, 0),
            t(10, 5),
            WindowInputs {
                metric_nodes: &metrics,
                degraded_sources: vec![
                    SourceNote {
                        source: SourceKind::Kubernetes,
                        kind: SourceErrorKind::Unreachable,
                        detail: "connection refused".into(),
                    },
                    SourceNote {
                        source: SourceKind::Kubernetes,
                        kind: SourceErrorKind::Timeout,
                        detail: "again".into(),
                    },
                ],
                ..WindowInputs::default()
            },
        );
        assert_eq!(snap.nodes.len(), 1);
        assert_eq!(snap.degraded_sources.len(), 1, "one note per source");
        let fp = crate::estimate(&snap, &crate::EstimateOptions::default()).expect("estimates");
        let text = serde_json::to_string(&fp).expect("json");
        assert!(
            text.contains("kubernetes was unavailable for this window (unreachable)"),
            "{text}"
        );
    }

    #[test]
    fn due_windows_resume_at_the_watermark_and_stop_at_now() {
        let step = TimeDelta::minutes(5);
        let w = due_windows(Some(t(10, 0)), t(10, 17), step, TimeDelta::days(1), 100);
        let starts: Vec<_> = w.iter().map(|r| r.from()).collect();
        assert_eq!(starts, [t(10, 0), t(10, 5), t(10, 10)]);
        // An unaligned watermark rounds up, so no window is collected twice.
        let w = due_windows(Some(t(10, 2)), t(10, 17), step, TimeDelta::days(1), 100);
        assert_eq!(w[0].from(), t(10, 5));
        // No watermark: backfill, aligned.
        let w = due_windows(None, t(10, 17), step, TimeDelta::minutes(30), 100);
        assert_eq!(w.first().map(|r| r.from()), Some(t(9, 45)));
        assert_eq!(w.last().map(|r| r.to()), Some(t(10, 15)));
        assert_eq!(
            due_windows(None, t(10, 17), step, TimeDelta::days(7), 2).len(),
            2
        );
    }
}
