//! Assembly: the series of the answers turned into windows of pods, part by part, with the
//! figures summed per pod, rejected values kept out, and each pod's node chosen.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use greenkube_core::ports::{PodUsage, WindowUsage};
use greenkube_core::units::{Bytes, Cores};

use super::answer::{PodLabels, Series, check};
use super::plan::{Chunk, Plan, as_i64, unix_seconds};
use super::{RejectedValue, UsageMetric, UsageReport};

/// One value of one series at one window, before the pod's values are combined.
#[derive(Debug)]
struct Entry {
    pod: u32,
    metric: UsageMetric,
    value: f64,
    node: Option<Arc<str>>,
}

/// A figure of a pod in a window.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Figure {
    Absent,
    Known(f64),
    /// At least one of its values was rejected: unknown, whatever the others say.
    Rejected,
}

impl Figure {
    fn add(&mut self, value: f64) {
        *self = match *self {
            Self::Absent => Self::Known(value),
            Self::Known(sum) => Self::Known(sum + value),
            Self::Rejected => Self::Rejected,
        };
    }

    fn known(self) -> Option<f64> {
        match self {
            Self::Known(v) => Some(v),
            Self::Absent | Self::Rejected => None,
        }
    }
}

/// A pod's figures in one window.
#[derive(Debug)]
struct PodWindow {
    pod: u32,
    cpu: Figure,
    memory: Figure,
    restarts: Figure,
    node: Option<Arc<str>>,
}

/// A rejected value before the pod's name is looked up.
#[derive(Debug)]
struct Rejection {
    window: usize,
    pod: u32,
    metric: UsageMetric,
    value: f64,
    reason: &'static str,
}

/// Builds the windows of a range from the answers, part by part.
pub(super) struct Assembly {
    plan: Plan,
    /// `(namespace, pod)` -> index into `pods`.
    index: HashMap<(Arc<str>, Arc<str>), u32, foldhash::fast::RandomState>,
    pods: Vec<(Arc<str>, Arc<str>)>,
    /// The values of the current part, per window of the part.
    pending: Vec<Vec<Entry>>,
    /// Finished windows (pods in index order until `finish`).
    windows: Vec<Vec<PodWindow>>,
    rejected: Vec<Rejection>,
}

impl Assembly {
    pub(super) fn new(plan: Plan) -> Self {
        let mut windows = Vec::new();
        windows.resize_with(plan.windows, Vec::new);
        Self {
            plan,
            index: HashMap::default(),
            pods: Vec::new(),
            pending: Vec::new(),
            windows,
            rejected: Vec::new(),
        }
    }

    /// Adds one answer (one metric of one part). Series without a namespace or a pod (system
    /// cgroups, the node itself) are not pods and are skipped.
    pub(super) fn add(
        &mut self,
        chunk: Chunk,
        metric: UsageMetric,
        series: Vec<Series<PodLabels>>,
    ) -> Result<(), String> {
        if self.pending.len() != chunk.len {
            self.pending.clear();
            self.pending.resize_with(chunk.len, Vec::new);
        }
        for s in series {
            let PodLabels {
                namespace,
                pod,
                pod_name,
                node,
                instance,
            } = s.labels;
            let (Some(namespace), Some(pod)) = (namespace, pod.or(pod_name)) else {
                continue;
            };
            let node = node.or_else(|| instance.filter(|i| !i.contains(':')));
            let pod = self.pod_index(namespace, pod)?;
            for sample in s.samples {
                let window = chunk
                    .window_at(sample.at_ms, self.plan.step_ms)
                    .ok_or_else(|| {
                        format!(
                            "the {metric} answer has a sample at {}, which is not one of the query's evaluation times",
                            unix_seconds(sample.at_ms)
                        )
                    })?;
                self.pending[window].push(Entry {
                    pod,
                    metric,
                    value: sample.value,
                    node: node.clone(),
                });
            }
        }
        Ok(())
    }

    pub(super) fn pod_index(&mut self, namespace: Arc<str>, pod: Arc<str>) -> Result<u32, String> {
        let key = (namespace, pod);
        if let Some(index) = self.index.get(&key) {
            return Ok(*index);
        }
        let index = u32::try_from(self.pods.len())
            .map_err(|_| "more than 4 billion pods in one answer".to_owned())?;
        self.pods.push(key.clone());
        self.index.insert(key, index);
        Ok(index)
    }

    /// Combines the values of the current part into its windows' pods: the figures summed per
    /// pod (a pod whose series came from two nodes counts both), any rejected value making the
    /// figure unknown, and the node taken from the CPU series with the most CPU (else the
    /// memory series with the most memory; a rejected value weighs 0; ties go to the smaller
    /// node name).
    pub(super) fn fold(&mut self, chunk: Chunk) {
        for (offset, entries) in self.pending.iter_mut().enumerate() {
            let window = chunk.first + offset;
            entries.sort_unstable_by_key(|e| (e.pod, e.metric));
            let mut pods: Vec<PodWindow> = Vec::new();
            // The node chosen so far for the last pod: (rank, weight).
            let mut best = (0u8, 0.0f64);
            for entry in entries.drain(..) {
                if pods.last().is_none_or(|p| p.pod != entry.pod) {
                    pods.push(PodWindow {
                        pod: entry.pod,
                        cpu: Figure::Absent,
                        memory: Figure::Absent,
                        restarts: Figure::Absent,
                        node: None,
                    });
                    best = (0, 0.0);
                }
                let Some(current) = pods.last_mut() else {
                    continue;
                };
                let figure = match entry.metric {
                    UsageMetric::CpuCores => &mut current.cpu,
                    UsageMetric::MemoryBytes => &mut current.memory,
                    UsageMetric::Restarts => &mut current.restarts,
                };
                let weight = match check(entry.metric, entry.value) {
                    Ok(value) => {
                        figure.add(value);
                        value
                    }
                    Err(reason) => {
                        *figure = Figure::Rejected;
                        self.rejected.push(Rejection {
                            window,
                            pod: entry.pod,
                            metric: entry.metric,
                            value: entry.value,
                            reason,
                        });
                        // Its node is still known; it just weighs nothing.
                        0.0
                    }
                };
                let rank = match entry.metric {
                    UsageMetric::CpuCores => 2,
                    UsageMetric::MemoryBytes => 1,
                    UsageMetric::Restarts => 0,
                };
                if let Some(node) = entry.node
                    && rank > 0
                {
                    let better = match (rank, weight).partial_cmp(&best) {
                        Some(std::cmp::Ordering::Greater) => true,
                        Some(std::cmp::Ordering::Equal) => {
                            current.node.as_ref().is_none_or(|n| node < *n)
                        }
                        _ => false,
                    };
                    if better {
                        current.node = Some(node);
                        best = (rank, weight);
                    }
                }
            }
            self.windows[window] = pods;
        }
    }

    /// The windows, pods sorted by namespace then pod, and the rejected values resolved.
    pub(super) fn finish(self, from: DateTime<Utc>) -> UsageReport {
        let Self {
            plan,
            pods,
            windows,
            mut rejected,
            ..
        } = self;
        let mut order: Vec<u32> = (0..pods.len() as u32).collect();
        order.sort_unstable_by(|a, b| pods[*a as usize].cmp(&pods[*b as usize]));
        let mut rank = vec![0u32; pods.len()];
        for (position, pod) in order.iter().enumerate() {
            rank[*pod as usize] = position as u32;
        }
        // Plan::new checked that the end of the last window is representable, so this never
        // falls back.
        let start_of = |window: usize| {
            TimeDelta::try_milliseconds(plan.step_ms * as_i64(window))
                .and_then(|offset| from.checked_add_signed(offset))
                .unwrap_or(from)
        };
        let windows = windows
            .into_iter()
            .enumerate()
            .map(|(window, mut entries)| {
                entries.sort_unstable_by_key(|p| rank[p.pod as usize]);
                WindowUsage {
                    dropped: Vec::new(),
                    window_start: start_of(window),
                    pods: entries
                        .into_iter()
                        .map(|p| {
                            let (namespace, pod) = &pods[p.pod as usize];
                            PodUsage {
                                namespace: namespace.clone(),
                                pod: pod.clone(),
                                node: p.node,
                                cpu_usage_cores: p.cpu.known().map(Cores),
                                memory_usage_bytes: p.memory.known().map(Bytes),
                                restarts: p.restarts.known().map(|r| r as u64),
                            }
                        })
                        .collect(),
                }
            })
            .collect();
        rejected.sort_by_key(|r| (r.window, rank[r.pod as usize], r.metric));
        let rejected = rejected
            .into_iter()
            .map(|r| {
                let (namespace, pod) = &pods[r.pod as usize];
                RejectedValue {
                    window_start: start_of(r.window),
                    namespace: namespace.clone(),
                    pod: pod.clone(),
                    metric: r.metric,
                    value: r.value,
                    reason: r.reason,
                }
            })
            .collect();
        UsageReport { windows, rejected }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use greenkube_core::units::{Bytes, Cores};

    use super::super::answer::{Interner, Labels, Sample};
    use super::super::test_support::{T0, at, range};
    use super::*;

    fn series(labels: &[(&str, &str)], samples: &[(i64, f64)]) -> Series<PodLabels> {
        let mut strings = Interner::default();
        let mut out = PodLabels::default();
        for (k, v) in labels {
            if let Some(key) = PodLabels::key(k, &mut strings) {
                out.set(key, v, &mut strings);
            }
        }
        Series {
            labels: out,
            samples: samples
                .iter()
                .map(|(at_ms, value)| Sample {
                    at_ms: *at_ms,
                    value: *value,
                })
                .collect(),
        }
    }

    #[test]
    fn windows_sum_pods_pick_nodes_and_keep_bad_values_out() {
        let plan = Plan::new(range(T0, T0 + 600), Duration::from_secs(300), 100).expect("plan");
        let chunk = plan.chunks().next().expect("one part");
        let w0 = (T0 + 300) * 1000;
        let w1 = (T0 + 600) * 1000;
        let mut assembly = Assembly::new(plan);
        assembly
            .add(
                chunk,
                UsageMetric::CpuCores,
                vec![
                    series(
                        &[("namespace", "b"), ("pod", "x"), ("node", "n2")],
                        &[(w0, 0.5), (w1, 0.5)],
                    ),
                    series(
                        &[("namespace", "b"), ("pod", "x"), ("node", "n1")],
                        &[(w0, 0.25), (w1, 0.5)],
                    ),
                    series(
                        &[("namespace", "a"), ("pod_name", "y"), ("instance", "n3")],
                        &[(w0, f64::NAN)],
                    ),
                    series(
                        &[
                            ("namespace", "a"),
                            ("pod", "z"),
                            ("instance", "10.0.0.1:10250"),
                        ],
                        &[(w1, 1.0)],
                    ),
                    series(&[("node", "n1")], &[(w0, 9.0)]),
                ],
            )
            .expect("added");
        assembly
            .add(
                chunk,
                UsageMetric::MemoryBytes,
                vec![series(
                    &[("namespace", "a"), ("pod_name", "y"), ("instance", "n3")],
                    &[(w0, 1024.0)],
                )],
            )
            .expect("added");
        assembly
            .add(
                chunk,
                UsageMetric::Restarts,
                vec![series(&[("namespace", "b"), ("pod", "x")], &[(w1, 2.0)])],
            )
            .expect("added");
        assembly.fold(chunk);
        let report = assembly.finish(at(T0));
        assert_eq!(report.windows.len(), 2);
        let w = &report.windows[0];
        assert_eq!(w.window_start, at(T0));
        let names: Vec<(&str, &str)> = w.pods.iter().map(|p| (&*p.namespace, &*p.pod)).collect();
        assert_eq!(names, vec![("a", "y"), ("b", "x")]);
        assert_eq!(w.pods[0].cpu_usage_cores, None, "NaN is unknown, not zero");
        assert_eq!(w.pods[0].memory_usage_bytes, Some(Bytes(1024.0)));
        assert_eq!(
            w.pods[0].node.as_deref(),
            Some("n3"),
            "from memory when CPU has none"
        );
        assert_eq!(w.pods[1].cpu_usage_cores, Some(Cores(0.75)));
        assert_eq!(
            w.pods[1].node.as_deref(),
            Some("n2"),
            "the node with the most CPU"
        );
        assert_eq!(w.pods[1].restarts, None);
        let w = &report.windows[1];
        assert_eq!(w.window_start, at(T0 + 300));
        let names: Vec<(&str, &str)> = w.pods.iter().map(|p| (&*p.namespace, &*p.pod)).collect();
        assert_eq!(names, vec![("a", "z"), ("b", "x")]);
        assert_eq!(w.pods[0].node, None, "host:port is not a node name");
        assert_eq!(w.pods[1].cpu_usage_cores, Some(Cores(1.0)));
        assert_eq!(
            w.pods[1].node.as_deref(),
            Some("n1"),
            "a tie goes to the smaller name"
        );
        assert_eq!(w.pods[1].restarts, Some(2));
        assert_eq!(report.rejected.len(), 1);
        let r = &report.rejected[0];
        assert_eq!(
            (&*r.namespace, &*r.pod, r.metric),
            ("a", "y", UsageMetric::CpuCores)
        );
        assert_eq!(r.reason, "not a number");
        assert_eq!(
            r.to_string(),
            "CPU of a/y in the window starting 2024-01-01T00:00:00Z: NaN (not a number)"
        );
    }

    #[test]
    fn samples_off_the_evaluation_times_are_errors() {
        let plan = Plan::new(range(T0, T0 + 600), Duration::from_secs(300), 100).expect("plan");
        let chunk = plan.chunks().next().expect("one part");
        let mut assembly = Assembly::new(plan);
        let err = assembly
            .add(
                chunk,
                UsageMetric::CpuCores,
                vec![series(
                    &[("namespace", "a"), ("pod", "p")],
                    &[(T0 * 1000, 1.0)],
                )],
            )
            .expect_err("T0 is a window start, not an evaluation time");
        assert_eq!(
            err,
            "the CPU answer has a sample at 1704067200.000, which is not one of the query's evaluation times"
        );
    }
}
