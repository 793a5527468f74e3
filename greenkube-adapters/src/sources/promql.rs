//! Every PromQL expression greenkube sends to Prometheus, in one place, with the label names the
//! answers are read by.
//!
//! # Windows and Prometheus's look-back
//!
//! greenkube's window `t` is the half-open interval `[t, t + step)`. A range vector selector
//! `x[d]` evaluated at `T` covers `[T - d, T]` in Prometheus 2.x and `(T - d, T]` in 3.x. So
//! every usage query is evaluated (by `query_range`) at `T = t + step`, never at `t`, and the
//! sample Prometheus returns at `T` is attributed to window `T - step`:
//!
//! * **CPU** ([`cpu_cores`]): `rate(counter[step])` at `t + step` is the average rate over the
//!   window. Both ends may hold a sample (2.x); for a counter that is exactly right, since the
//!   increase between the samples at `t` and `t + step` is the window's work. Prometheus
//!   extrapolates to the window's edges when the first or last sample is not on them (a container
//!   that starts or stops inside the window), and never below the counter's zero.
//! * **Memory** ([`memory_bytes`]) and **restarts** ([`restarts`]) are gauges: a sample at exactly
//!   `t + step` belongs to the next window, not this one. They use
//!   `x[step - 1ms] offset 1ms`, which covers `[t, t + step - 1ms]` in 2.x: exactly the samples in
//!   `[t, t + step)` at Prometheus's millisecond resolution. (In 3.x, whose ranges are open on the
//!   left, a sample at exactly `t` falls out of the window; scrapes rarely land on a window's
//!   first millisecond.) The `offset` keeps all three queries on the same evaluation times.
//!
//! # Which series are counted
//!
//! cAdvisor exports, per pod, one series per container, one for the pause (sandbox) container
//! (`container="POD"` with Docker) and one for the pod's cgroup as a whole (`container=""`, which
//! already contains every container and the pause container; with containerd the sandbox is also
//! `container=""`). Summing them all would count a pod two or three times. greenkube sums the
//! **containers only**: the `container!~"|POD"` matcher drops the pod-level cgroup and the pause
//! container. The pause container's own usage (a few millicores, a megabyte) is left out on
//! purpose. The pod-level cgroup series is not used instead: it would count the pause container,
//! and many setups drop `container=""` series at scrape time to save space. A container scraped
//! twice (the kubelet's cAdvisor and a cAdvisor DaemonSet, under two jobs) would still count
//! twice: point greenkube at data that scrapes cAdvisor once.
//!
//! Before Kubernetes 1.16, cAdvisor named the labels `pod_name` and `container_name`. Each usage
//! query is the `or` of the same expression over both spellings; a series carrying both (1.14 and
//! 1.15 exported both) appears once, because `or` keeps one element per label set. Results are
//! grouped by every label that may name the pod ([`POD_LABELS`]) or its node ([`NODE_LABELS`]):
//! Prometheus Operator's kubelet job adds `node`, while the classic `role: node` scrape of the
//! kubelet sets `instance` to the node name; `instance` is only taken for a node name when it is
//! not a `host:port` address.
//!
//! Restarts come from kube-state-metrics, which names labels `namespace`, `pod` and
//! `container`. A highly available kube-state-metrics exports every series twice (one per
//! replica, told apart by `instance`), so the query takes the `max` per container before the
//! `sum` per pod. kube-state-metrics must be scraped with `honor_labels: true` (as kube-prometheus
//! and the prometheus-community charts do), or its `namespace`/`pod`/`node` labels become
//! `exported_*` and are not recognised.

use std::fmt;

/// Label naming a pod's namespace (cAdvisor and kube-state-metrics).
pub const NAMESPACE_LABEL: &str = "namespace";

/// Labels naming a pod, most specific first: `pod` (cAdvisor since Kubernetes 1.16,
/// kube-state-metrics), `pod_name` (cAdvisor before 1.16).
pub const POD_LABELS: [&str; 2] = ["pod", "pod_name"];

/// Labels naming a node, first present wins: `node` (added by Prometheus Operator's kubelet job,
/// and kube-state-metrics' own label), `instance` (the node name under the classic `role: node`
/// kubelet scrape; ignored when it is a `host:port` address).
pub const NODE_LABELS: [&str; 2] = ["node", "instance"];

/// `kube_node_labels`: one series per node whose labels are the node's Kubernetes labels,
/// sanitised (`node.kubernetes.io/instance-type` becomes `label_node_kubernetes_io_instance_type`).
pub const NODE_LABELS_METRIC: &str = "kube_node_labels";
/// `kube_node_info`: one series per node; its `provider_id` label is the node's
/// `spec.providerID` (`aws:///eu-west-3a/i-...`, `gce://project/zone/name`).
pub const NODE_INFO_METRIC: &str = "kube_node_info";
/// `kube_node_status_capacity{resource="cpu"|"memory"}` (kube-state-metrics 2.x).
pub const NODE_CAPACITY_METRIC: &str = "kube_node_status_capacity";
/// `kube_node_status_capacity_cpu_cores` (kube-state-metrics 1.x).
pub const NODE_CAPACITY_CPU_V1_METRIC: &str = "kube_node_status_capacity_cpu_cores";
/// `kube_node_status_capacity_memory_bytes` (kube-state-metrics 1.x).
pub const NODE_CAPACITY_MEMORY_V1_METRIC: &str = "kube_node_status_capacity_memory_bytes";

/// The node description at an instant (an instant query): `kube_node_labels`, `kube_node_info`
/// and the CPU and memory capacities, kube-state-metrics 2.x and 1.x names, in one query. Each
/// answer series keeps its `__name__`, which tells them apart. A node is seen when
/// kube-state-metrics reported it within Prometheus's look-back (5 minutes by default) before
/// the instant.
pub const NODES: &str = concat!(
    r#"{__name__=~"kube_node_labels|kube_node_info|kube_node_status_capacity"#,
    r#"|kube_node_status_capacity_cpu_cores|kube_node_status_capacity_memory_bytes","#,
    r#"resource=~"|cpu|memory"}"#
);

/// A PromQL duration (`300s`, `1500ms`): a window length or an offset, in whole milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct PromDuration {
    millis: u64,
}

impl PromDuration {
    /// A duration of `millis` milliseconds; `None` for zero (PromQL has no empty range).
    pub const fn from_millis(millis: u64) -> Option<Self> {
        if millis == 0 {
            None
        } else {
            Some(Self { millis })
        }
    }

    /// The length in milliseconds.
    pub const fn millis(self) -> u64 {
        self.millis
    }
}

impl fmt::Display for PromDuration {
    /// Whole seconds as `300s`, anything else as `299999ms`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.millis.is_multiple_of(1000) {
            write!(f, "{}s", self.millis / 1000)
        } else {
            write!(f, "{}ms", self.millis)
        }
    }
}

/// The window of the gauge queries: `[step - 1ms] offset 1ms` (see the module documentation);
/// `None` when `step` is 1 ms or less.
fn gauge_window(step: PromDuration) -> Option<String> {
    let range = PromDuration::from_millis(step.millis.checked_sub(1)?)?;
    Some(format!("[{range}] offset 1ms"))
}

/// The grouping of the cAdvisor usage queries: the namespace, every label that may name the pod
/// and every label that may name its node.
const CADVISOR_GROUPING: &str = "namespace, pod, pod_name, node, instance";

/// CPU used by each pod, cores: the rate of `container_cpu_usage_seconds_total` over `step`,
/// containers only (no pause container, no pod-level cgroup), summed per pod (and node), for the
/// window that ends at the evaluation time.
pub fn cpu_cores(step: PromDuration) -> String {
    format!(
        "sum by ({CADVISOR_GROUPING}) (\
rate(container_cpu_usage_seconds_total{{container!~\"|POD\"}}[{step}]) \
or rate(container_cpu_usage_seconds_total{{container_name!~\"|POD\"}}[{step}]))"
    )
}

/// Memory used by each pod, bytes: the average of `container_memory_working_set_bytes` over the
/// window that ends (exclusive) at the evaluation time, containers only, summed per pod (and
/// node). `None` when `step` is 1 ms or less.
pub fn memory_bytes(step: PromDuration) -> Option<String> {
    let window = gauge_window(step)?;
    Some(format!(
        "sum by ({CADVISOR_GROUPING}) (\
avg_over_time(container_memory_working_set_bytes{{container!~\"|POD\"}}{window}) \
or avg_over_time(container_memory_working_set_bytes{{container_name!~\"|POD\"}}{window}))"
    ))
}

/// Container restarts of each pod at the end of the window that ends (exclusive) at the
/// evaluation time: the highest `kube_pod_container_status_restarts_total` of each container in
/// the window (the counter only grows while the pod exists), the same container of several
/// kube-state-metrics replicas counted once, summed per pod. `None` when `step` is 1 ms or less.
pub fn restarts(step: PromDuration) -> Option<String> {
    let window = gauge_window(step)?;
    Some(format!(
        "sum by (namespace, pod) (max by (namespace, pod, container) (\
max_over_time(kube_pod_container_status_restarts_total{window})))"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn five_minutes() -> PromDuration {
        PromDuration::from_millis(300_000).expect("not zero")
    }

    #[test]
    fn durations_are_written_in_seconds_when_whole() {
        assert_eq!(five_minutes().to_string(), "300s");
        assert_eq!(
            PromDuration::from_millis(299_999)
                .expect("not zero")
                .to_string(),
            "299999ms"
        );
        assert_eq!(PromDuration::from_millis(0), None);
    }

    #[test]
    fn usage_queries_are_stable() {
        assert_eq!(
            cpu_cores(five_minutes()),
            "sum by (namespace, pod, pod_name, node, instance) (\
rate(container_cpu_usage_seconds_total{container!~\"|POD\"}[300s]) \
or rate(container_cpu_usage_seconds_total{container_name!~\"|POD\"}[300s]))"
        );
        assert_eq!(
            memory_bytes(five_minutes()).as_deref(),
            Some(
                "sum by (namespace, pod, pod_name, node, instance) (\
avg_over_time(container_memory_working_set_bytes{container!~\"|POD\"}[299999ms] offset 1ms) \
or avg_over_time(container_memory_working_set_bytes{container_name!~\"|POD\"}[299999ms] offset 1ms))"
            )
        );
        assert_eq!(
            restarts(five_minutes()).as_deref(),
            Some(
                "sum by (namespace, pod) (max by (namespace, pod, container) (\
max_over_time(kube_pod_container_status_restarts_total[299999ms] offset 1ms)))"
            )
        );
        let one_ms = PromDuration::from_millis(1).expect("not zero");
        assert_eq!(memory_bytes(one_ms), None);
        assert_eq!(restarts(one_ms), None);
    }

    #[test]
    fn the_node_query_names_every_metric_it_reads() {
        for metric in [
            NODE_LABELS_METRIC,
            NODE_INFO_METRIC,
            NODE_CAPACITY_METRIC,
            NODE_CAPACITY_CPU_V1_METRIC,
            NODE_CAPACITY_MEMORY_V1_METRIC,
        ] {
            assert!(NODES.contains(metric), "{metric}");
        }
        assert_eq!(
            NODES,
            "{__name__=~\"kube_node_labels|kube_node_info|kube_node_status_capacity\
|kube_node_status_capacity_cpu_cores|kube_node_status_capacity_memory_bytes\",\
resource=~\"|cpu|memory\"}"
        );
    }
}
