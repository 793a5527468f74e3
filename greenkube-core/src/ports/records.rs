//! Stored rows: a footprint flattened into one row per pod and one overhead row per node, and
//! the checks every backend applies before writing them.

use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::aggregate::workload_of;
use crate::footprint::{Footprint, MethodologyInfo, NodeFootprint, PodFootprint};
use crate::labels::PodLabels;
use crate::ranged::Ranged;
use crate::units::{Bytes, Cores, Money};

/// One stored pod row: a pod's footprint in one window, with the inputs it was computed from,
/// where it ran, how it was computed and how sure the figures are. Keyed by
/// `(cluster, namespace, pod, window_start)`.
#[derive(Debug, Clone, PartialEq)]
pub struct PodRecord {
    /// Cluster (`None` when the footprint names none; an empty name is stored as none).
    pub cluster: Option<Arc<str>>,
    /// Start of the window.
    pub window_start: DateTime<Utc>,
    /// End of the window.
    pub window_end: DateTime<Utc>,
    /// Namespace.
    pub namespace: Arc<str>,
    /// Pod name.
    pub pod: Arc<str>,
    /// Controlling owner kind, as collected.
    pub owner_kind: Option<Arc<str>>,
    /// Controlling owner name, as collected.
    pub owner_name: Option<Arc<str>>,
    /// Workload kind ([`crate::aggregate::workload_key`]: a ReplicaSet folded into its
    /// Deployment, a CronJob's Job into the CronJob, `Pod` for a bare pod).
    pub workload_kind: Arc<str>,
    /// Workload name.
    pub workload: Arc<str>,
    /// Node.
    pub node: Option<Arc<str>>,
    /// Electricity zone.
    pub zone: Option<Arc<str>>,
    /// Cloud region.
    pub region: Option<Arc<str>>,
    /// Provider.
    pub provider: Option<Arc<str>>,
    /// Instance type.
    pub instance_type: Option<Arc<str>>,
    /// CPU usage the figures were computed from.
    pub cpu_usage_cores: Option<Cores>,
    /// CPU request.
    pub cpu_request_cores: Option<Cores>,
    /// Memory usage.
    pub memory_usage_bytes: Option<Bytes>,
    /// Memory request.
    pub memory_request_bytes: Option<Bytes>,
    /// Restarts in the window.
    pub restarts: Option<u64>,
    /// Energy, joules, with its interval.
    pub energy_joules: Ranged,
    /// Operational emissions, grams, with its interval.
    pub co2e_grams: Ranged,
    /// Embodied emissions share, grams, with its interval.
    pub embodied_co2e_grams: Ranged,
    /// Cost; `None` when the cost source had nothing for the pod.
    pub cost: Option<Money>,
    /// PUE applied.
    pub pue: Ranged,
    /// Grid intensity applied, gCO2e/kWh.
    pub grid_intensity: Ranged,
    /// True when any input was a fallback or an estimate.
    pub estimated: bool,
    /// Why, as readable sentences (node reasons first).
    pub estimation_reasons: Vec<String>,
    /// Methodology, methodology version, data version and idle policy that produced the row.
    pub methodology: MethodologyInfo,
}

impl PodRecord {
    /// Operational plus embodied emissions.
    pub fn total_co2e_grams(&self) -> Ranged {
        self.co2e_grams + self.embodied_co2e_grams
    }
}

/// One stored node row: what no pod of the node carries in the window (the overhead energy and
/// its emissions, and the unallocated embodied emissions), so node and cluster totals include
/// it. Keyed by `(cluster, node, window_start)`.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeRecord {
    /// Cluster.
    pub cluster: Option<Arc<str>>,
    /// Start of the window.
    pub window_start: DateTime<Utc>,
    /// End of the window.
    pub window_end: DateTime<Utc>,
    /// Node (`None` for the node synthesised for pods that name none).
    pub node: Option<Arc<str>>,
    /// Provider.
    pub provider: Option<Arc<str>>,
    /// Instance type.
    pub instance_type: Option<Arc<str>>,
    /// Electricity zone.
    pub zone: Option<Arc<str>>,
    /// Cloud region.
    pub region: Option<Arc<str>>,
    /// CPU capacity, as the snapshot gave it.
    pub cpu_capacity_cores: Option<Cores>,
    /// Memory capacity, as the snapshot gave it.
    pub memory_capacity_bytes: Option<Bytes>,
    /// True when the node was not in the snapshot.
    pub synthetic: bool,
    /// PUE applied.
    pub pue: Ranged,
    /// Grid intensity applied, gCO2e/kWh.
    pub grid_intensity: Ranged,
    /// Energy not attributed to any pod, joules.
    pub overhead_energy_joules: Ranged,
    /// Operational emissions of that energy, grams.
    pub overhead_co2e_grams: Ranged,
    /// Embodied emissions not attributed to any pod, grams.
    pub unallocated_embodied_co2e_grams: Ranged,
    /// Reasons shared by the node's rows.
    pub estimation_reasons: Vec<String>,
    /// Methodology that produced the row.
    pub methodology: MethodologyInfo,
}

/// One footprint as rows: the unit a repository replaces atomically.
#[derive(Debug, Clone, PartialEq)]
pub struct WindowRecords {
    /// Cluster (`None` when absent or empty).
    pub cluster: Option<Arc<str>>,
    /// Start of the window.
    pub window_start: DateTime<Utc>,
    /// End of the window.
    pub window_end: DateTime<Utc>,
    /// One row per pod.
    pub pods: Vec<PodRecord>,
    /// One row per node.
    pub nodes: Vec<NodeRecord>,
    /// Each pod's workload and labels, in the order of `pods`: stores keep the latest of each
    /// pod ([`crate::ports::FootprintRepository::pod_labels`]).
    pub labels: Vec<PodLabels>,
}

/// A row that cannot be stored. Names the window and the row.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("window {}{}: {row}: {message}", .window_start.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true), cluster_suffix(.cluster.as_deref()))]
pub struct RecordError {
    /// Start of the window.
    pub window_start: DateTime<Utc>,
    /// Cluster of the window.
    pub cluster: Option<Arc<str>>,
    /// Which row: ``pod `shop/api-1` ``, ``node `n1` ``, or `window`.
    pub row: String,
    /// What is wrong.
    pub message: String,
}

fn cluster_suffix(cluster: Option<&str>) -> String {
    cluster
        .map(|c| format!(" of cluster `{c}`"))
        .unwrap_or_default()
}

/// Empty names are stored as absent, so `""` and `None` never make two keys.
fn name(value: Option<&Arc<str>>) -> Option<Arc<str>> {
    value.filter(|v| !v.is_empty()).cloned()
}

/// The earliest window start a store accepts (1970-01-01T00:00:00Z), in microseconds.
const EARLIEST_WINDOW_MICROS: i64 = 0;
/// The latest window end a store accepts (9999-12-31T23:59:59.999999Z), in microseconds.
const LATEST_WINDOW_MICROS: i64 = 253_402_300_799_999_999;

impl WindowRecords {
    /// Flattens a footprint into rows. Does not check them: see [`WindowRecords::validate`].
    pub fn from_footprint(footprint: &Footprint) -> Self {
        let cluster = name(footprint.cluster.as_ref());
        let pods = footprint
            .pods
            .iter()
            .map(|p| pod_record(footprint, cluster.as_ref(), p))
            .collect();
        let nodes = footprint
            .nodes
            .iter()
            .map(|n| node_record(footprint, cluster.as_ref(), n))
            .collect();
        let labels = footprint
            .pods
            .iter()
            .map(|p| PodLabels::of_row(cluster.clone(), p, footprint.window_start))
            .collect();
        Self {
            cluster,
            window_start: footprint.window_start,
            window_end: footprint.window_end,
            pods,
            nodes,
            labels,
        }
    }

    /// Checks the window and every row, in order, and stops at the first problem:
    /// the window must end after it starts, lie between 1970 and 9999 and be given to the
    /// microsecond; namespaces and pod names must not be empty; every figure must be finite
    /// and not negative, with `low <= point <= high`; a pod or node must not appear twice.
    pub fn validate(&self) -> Result<(), RecordError> {
        self.check_window()?;
        let mut pods: HashSet<(&str, &str)> = HashSet::with_capacity(self.pods.len());
        for pod in &self.pods {
            self.check_pod(pod)?;
            if !pods.insert((&pod.namespace, &pod.pod)) {
                return Err(self.error(
                    &format!("pod `{}/{}`", pod.namespace, pod.pod),
                    "appears twice in the window",
                ));
            }
        }
        let mut nodes: HashSet<Option<&str>> = HashSet::with_capacity(self.nodes.len());
        for node in &self.nodes {
            self.check_node(node)?;
            if !nodes.insert(node.node.as_deref()) {
                return Err(self.error(&node_label(node), "appears twice in the window"));
            }
        }
        Ok(())
    }

    fn error(&self, row: &str, message: impl Into<String>) -> RecordError {
        RecordError {
            window_start: self.window_start,
            cluster: self.cluster.clone(),
            row: row.to_string(),
            message: message.into(),
        }
    }

    fn check_window(&self) -> Result<(), RecordError> {
        let err = |m: &str| Err(self.error("window", m));
        if self.window_end <= self.window_start {
            return err("window_end must be after window_start");
        }
        for bound in [self.window_start, self.window_end] {
            if bound.timestamp_subsec_nanos() % 1000 != 0 {
                return err("window bounds must be whole microseconds");
            }
        }
        if self.window_start.timestamp_micros() < EARLIEST_WINDOW_MICROS
            || self.window_end.timestamp_micros() > LATEST_WINDOW_MICROS
        {
            return err("windows must lie between 1970-01-01 and 9999-12-31");
        }
        Ok(())
    }

    fn check_pod(&self, pod: &PodRecord) -> Result<(), RecordError> {
        let row = || format!("pod `{}/{}`", pod.namespace, pod.pod);
        if pod.namespace.is_empty() {
            return Err(self.error(&row(), "namespace must not be empty"));
        }
        if pod.pod.is_empty() {
            return Err(self.error(&row(), "pod name must not be empty"));
        }
        for (field, figure) in [
            ("energy_joules", pod.energy_joules),
            ("co2e_grams", pod.co2e_grams),
            ("embodied_co2e_grams", pod.embodied_co2e_grams),
            ("pue", pod.pue),
            ("grid_intensity", pod.grid_intensity),
        ] {
            check_ranged(field, figure).map_err(|m| self.error(&row(), m))?;
        }
        for (field, amount) in [
            ("cost", pod.cost.map(Money::value)),
            ("cpu_usage_cores", pod.cpu_usage_cores.map(Cores::value)),
            ("cpu_request_cores", pod.cpu_request_cores.map(Cores::value)),
            (
                "memory_usage_bytes",
                pod.memory_usage_bytes.map(Bytes::value),
            ),
            (
                "memory_request_bytes",
                pod.memory_request_bytes.map(Bytes::value),
            ),
        ] {
            if let Some(amount) = amount {
                check_amount(field, amount).map_err(|m| self.error(&row(), m))?;
            }
        }
        if pod.restarts.is_some_and(|r| i64::try_from(r).is_err()) {
            return Err(self.error(&row(), "restarts: too large"));
        }
        Ok(())
    }

    fn check_node(&self, node: &NodeRecord) -> Result<(), RecordError> {
        for (field, amount) in [
            (
                "cpu_capacity_cores",
                node.cpu_capacity_cores.map(Cores::value),
            ),
            (
                "memory_capacity_bytes",
                node.memory_capacity_bytes.map(Bytes::value),
            ),
        ] {
            if let Some(amount) = amount {
                check_amount(field, amount).map_err(|m| self.error(&node_label(node), m))?;
            }
        }
        for (field, figure) in [
            ("overhead_energy_joules", node.overhead_energy_joules),
            ("overhead_co2e_grams", node.overhead_co2e_grams),
            (
                "unallocated_embodied_co2e_grams",
                node.unallocated_embodied_co2e_grams,
            ),
            ("pue", node.pue),
            ("grid_intensity", node.grid_intensity),
        ] {
            check_ranged(field, figure).map_err(|m| self.error(&node_label(node), m))?;
        }
        Ok(())
    }
}

fn node_label(node: &NodeRecord) -> String {
    match &node.node {
        Some(name) => format!("node `{name}`"),
        None => "the node of pods that name none".to_string(),
    }
}

/// What is wrong with an amount, if anything. Messages are built only for a bad value: this
/// runs for every figure of every row written.
fn amount_problem(value: f64) -> Option<String> {
    if value.is_nan() {
        Some("must be a number, not NaN".to_string())
    } else if value.is_infinite() {
        Some(format!("{value} is not finite"))
    } else if value < 0.0 {
        Some(format!("{value} is negative"))
    } else {
        None
    }
}

fn check_amount(field: &str, value: f64) -> Result<(), String> {
    match amount_problem(value) {
        Some(problem) => Err(format!("{field}: {problem}")),
        None => Ok(()),
    }
}

fn check_ranged(field: &str, value: Ranged) -> Result<(), String> {
    check_amount(field, value.point)?;
    if let Some(problem) = amount_problem(value.low) {
        return Err(format!("{field} (low bound): {problem}"));
    }
    if let Some(problem) = amount_problem(value.high) {
        return Err(format!("{field} (high bound): {problem}"));
    }
    if value.low <= value.point && value.point <= value.high {
        Ok(())
    } else {
        Err(format!(
            "{field}: {} is outside its interval [{}, {}]",
            value.point, value.low, value.high
        ))
    }
}

fn pod_record(footprint: &Footprint, cluster: Option<&Arc<str>>, pod: &PodFootprint) -> PodRecord {
    let (workload_kind, workload) = workload_of(pod);
    PodRecord {
        cluster: cluster.cloned(),
        window_start: footprint.window_start,
        window_end: footprint.window_end,
        namespace: pod.namespace.clone(),
        pod: pod.pod.clone(),
        owner_kind: pod.owner_kind.clone(),
        owner_name: pod.owner_name.clone(),
        workload_kind,
        workload,
        node: name(pod.node.name.as_ref()),
        zone: pod.node.zone.clone(),
        region: pod.node.region.clone(),
        provider: pod.node.provider.clone(),
        instance_type: pod.node.instance_type.clone(),
        cpu_usage_cores: pod.cpu_usage_cores,
        cpu_request_cores: pod.cpu_request_cores,
        memory_usage_bytes: pod.memory_usage_bytes,
        memory_request_bytes: pod.memory_request_bytes,
        restarts: pod.restarts,
        energy_joules: pod.energy_joules,
        co2e_grams: pod.co2e_grams,
        embodied_co2e_grams: pod.embodied_co2e_grams,
        cost: pod.cost,
        pue: pod.node.pue,
        grid_intensity: pod.node.grid_intensity,
        estimated: pod.estimated(),
        estimation_reasons: pod.reasons.iter().map(ToString::to_string).collect(),
        methodology: footprint.methodology.clone(),
    }
}

fn node_record(
    footprint: &Footprint,
    cluster: Option<&Arc<str>>,
    row: &NodeFootprint,
) -> NodeRecord {
    NodeRecord {
        cluster: cluster.cloned(),
        window_start: footprint.window_start,
        window_end: footprint.window_end,
        node: name(row.node.name.as_ref()),
        provider: row.node.provider.clone(),
        instance_type: row.node.instance_type.clone(),
        zone: row.node.zone.clone(),
        region: row.node.region.clone(),
        cpu_capacity_cores: row.node.cpu_capacity_cores,
        memory_capacity_bytes: row.node.memory_capacity_bytes,
        synthetic: row.node.synthetic,
        pue: row.node.pue,
        grid_intensity: row.node.grid_intensity,
        overhead_energy_joules: row.overhead_energy_joules,
        overhead_co2e_grams: row.overhead_co2e_grams,
        unallocated_embodied_co2e_grams: row.unallocated_embodied_co2e_grams,
        estimation_reasons: row.node.reasons.iter().map(ToString::to_string).collect(),
        methodology: footprint.methodology.clone(),
    }
}

impl fmt::Display for WindowRecords {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            formatter,
            "window {}{} ({} pods, {} nodes)",
            self.window_start
                .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
            cluster_suffix(self.cluster.as_deref()),
            self.pods.len(),
            self.nodes.len()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{EstimateOptions, Snapshot, estimate};

    fn footprint() -> Footprint {
        let snap = Snapshot::from_json_str(
            r#"{"schema":"greenkube.snapshot/v1","cluster":"",
            "window_start":"2025-06-02T10:00:00Z","window_end":"2025-06-02T10:05:00Z",
            "nodes":[{"name":"n1","provider":"aws","instance_type":"m5.large","region":"eu-west-3"}],
            "pods":[{"namespace":"a","name":"p","node":"n1","cpu_usage_cores":0.5,
                     "owner_kind":"ReplicaSet","owner_name":"api-7d9f8c6b5"},
                    {"namespace":"a","name":"q","cpu_usage_cores":0.1}]}"#,
        )
        .unwrap();
        estimate(&snap, &EstimateOptions::default()).unwrap()
    }

    #[test]
    fn flattens_pods_and_nodes() {
        let fp = footprint();
        let w = WindowRecords::from_footprint(&fp);
        w.validate().unwrap();
        assert_eq!(w.cluster, None, "an empty cluster name is stored as none");
        assert_eq!(w.pods.len(), 2);
        assert_eq!(w.nodes.len(), 2, "n1 and the synthetic node of q");
        let p = &w.pods[0];
        assert_eq!(
            (p.workload_kind.as_ref(), p.workload.as_ref()),
            ("Deployment", "api")
        );
        assert_eq!(p.methodology, fp.methodology);
        assert_eq!(p.energy_joules, fp.pods[0].energy_joules);
        assert!(w.pods[1].estimated && !w.pods[1].estimation_reasons.is_empty());
        assert_eq!(w.pods[1].node, None);
        assert_eq!(w.nodes[1].node, None);
        assert!(w.nodes[1].synthetic);
    }

    #[test]
    fn rejects_bad_rows_naming_them() {
        let fp = footprint();
        let mut w = WindowRecords::from_footprint(&fp);
        w.pods[1].energy_joules.point = f64::NAN;
        let e = w.validate().unwrap_err();
        assert_eq!(e.row, "pod `a/q`");
        assert_eq!(
            e.to_string(),
            "window 2025-06-02T10:00:00Z: pod `a/q`: energy_joules: must be a number, not NaN"
        );

        let mut w = WindowRecords::from_footprint(&fp);
        w.pods[1].co2e_grams = Ranged {
            point: 2.0,
            low: 3.0,
            high: 4.0,
        };
        assert!(
            w.validate()
                .unwrap_err()
                .message
                .contains("outside its interval")
        );

        let mut w = WindowRecords::from_footprint(&fp);
        w.pods.push(w.pods[0].clone());
        assert!(w.validate().unwrap_err().message.contains("twice"));

        let mut w = WindowRecords::from_footprint(&fp);
        w.window_end = w.window_start;
        assert_eq!(w.validate().unwrap_err().row, "window");

        let mut w = WindowRecords::from_footprint(&fp);
        w.window_start += chrono::Duration::nanoseconds(1);
        assert!(w.validate().unwrap_err().message.contains("microseconds"));

        let mut w = WindowRecords::from_footprint(&fp);
        w.nodes[0].overhead_energy_joules = Ranged::exact(-1.0);
        assert_eq!(w.validate().unwrap_err().row, "node `n1`");

        let mut w = WindowRecords::from_footprint(&fp);
        w.pods[0].cost = Some(Money(f64::INFINITY));
        assert!(w.validate().unwrap_err().message.starts_with("cost"));
    }
}
