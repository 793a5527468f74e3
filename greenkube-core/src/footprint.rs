//! The footprint contract (`greenkube.footprint/v1`): what the engine computed for one window.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use rayon::prelude::*;
use serde::ser::SerializeStruct;
use serde::{Deserialize, Serialize, Serializer};

use crate::methodology::{IdlePolicy, Methodology};
use crate::ranged::Ranged;
use crate::reason::{Reason, Reasons};
use crate::units::{Bytes, Cores, Money};

/// The `schema` value of a version 1 footprint.
pub const FOOTPRINT_SCHEMA: &str = "greenkube.footprint/v1";

/// Which methodology and data produced a result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MethodologyInfo {
    /// Methodology.
    pub name: Methodology,
    /// Methodology version.
    pub version: String,
    /// Reference data version (content hash).
    pub data_version: String,
    /// Idle attribution policy (`full`); `usage` for `classic`.
    pub idle_policy: IdlePolicy,
}

impl MethodologyInfo {
    /// Describes a methodology run against a data version.
    pub fn new(methodology: Methodology, idle_policy: IdlePolicy, data_version: &str) -> Self {
        Self {
            name: methodology,
            version: methodology.version().to_string(),
            data_version: data_version.to_string(),
            idle_policy: match methodology {
                Methodology::Classic => IdlePolicy::Usage,
                Methodology::Full => idle_policy,
            },
        }
    }
}

/// What a node contributes to every pod row on it: where it is and how it was modelled.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeContext {
    /// Node name (for a pod whose node is not in the snapshot, the name the pod gave).
    pub name: Option<Arc<str>>,
    /// Provider (canonical lower-case name when known).
    pub provider: Option<Arc<str>>,
    /// Instance type.
    pub instance_type: Option<Arc<str>>,
    /// Electricity zone.
    pub zone: Option<Arc<str>>,
    /// Cloud region, as the snapshot gave it.
    pub region: Option<Arc<str>>,
    /// CPU capacity, as the snapshot gave it.
    pub cpu_capacity_cores: Option<Cores>,
    /// Memory capacity, as the snapshot gave it.
    pub memory_capacity_bytes: Option<Bytes>,
    /// Embodied emissions of the whole node per hour, grams.
    pub embodied_grams_per_hour: Ranged,
    /// PUE applied.
    pub pue: Ranged,
    /// Grid intensity applied, gCO2e/kWh.
    pub grid_intensity: Ranged,
    /// True when the node was not in the snapshot and was synthesised for its pods.
    pub synthetic: bool,
    /// Reasons shared by every row on this node.
    pub reasons: Arc<[Reason]>,
}

/// One pod's footprint in the window.
#[derive(Debug, Clone, PartialEq)]
pub struct PodFootprint {
    /// Namespace.
    pub namespace: Arc<str>,
    /// Pod name.
    pub pod: Arc<str>,
    /// Controlling owner kind.
    pub owner_kind: Option<Arc<str>>,
    /// Controlling owner name.
    pub owner_name: Option<Arc<str>>,
    /// The node's context.
    pub node: Arc<NodeContext>,
    /// CPU usage the figures were computed from.
    pub cpu_usage_cores: Option<Cores>,
    /// CPU request.
    pub cpu_request_cores: Option<Cores>,
    /// Memory usage the figures were computed from.
    pub memory_usage_bytes: Option<Bytes>,
    /// Memory request.
    pub memory_request_bytes: Option<Bytes>,
    /// Restarts in the window.
    pub restarts: Option<u64>,
    /// Energy, joules (IT energy, before PUE).
    pub energy_joules: Ranged,
    /// Operational (Scope 2, location-based) emissions, grams CO2e, PUE included.
    pub co2e_grams: Ranged,
    /// Embodied (Scope 3 cat. 1) emissions share, grams CO2e.
    pub embodied_co2e_grams: Ranged,
    /// Cost accrued in the window; `None` when the cost source had nothing for this pod.
    pub cost: Option<Money>,
    /// Reasons this row is estimated.
    pub reasons: Reasons,
    /// The pod's labels, when the snapshot had them (written as `labels`, absent otherwise).
    pub labels: Option<crate::snapshot::Labels>,
}

impl PodFootprint {
    /// Operational plus embodied emissions.
    pub fn total_co2e_grams(&self) -> Ranged {
        self.co2e_grams + self.embodied_co2e_grams
    }

    /// True when any input of this row was a fallback or an estimate.
    pub fn estimated(&self) -> bool {
        self.reasons.any()
    }
}

struct Uncertainty {
    energy: Ranged,
    co2e: Ranged,
    embodied: Ranged,
    total: Ranged,
}

impl Serialize for Uncertainty {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut fields = serializer.serialize_struct("Uncertainty", 4)?;
        fields.serialize_field("energy_joules", &self.energy)?;
        fields.serialize_field("co2e_grams", &self.co2e)?;
        fields.serialize_field("embodied_co2e_grams", &self.embodied)?;
        fields.serialize_field("total_co2e_grams", &self.total)?;
        fields.end()
    }
}

impl Serialize for PodFootprint {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let total = self.total_co2e_grams();
        let mut fields = serializer.serialize_struct("PodFootprint", 25)?;
        fields.serialize_field("namespace", &self.namespace)?;
        fields.serialize_field("pod", &self.pod)?;
        fields.serialize_field("node", &self.node.name)?;
        fields.serialize_field("zone", &self.node.zone)?;
        fields.serialize_field("provider", &self.node.provider)?;
        fields.serialize_field("instance_type", &self.node.instance_type)?;
        fields.serialize_field("owner_kind", &self.owner_kind)?;
        fields.serialize_field("owner_name", &self.owner_name)?;
        fields.serialize_field("cpu_usage_cores", &self.cpu_usage_cores)?;
        fields.serialize_field("cpu_request_cores", &self.cpu_request_cores)?;
        fields.serialize_field("memory_usage_bytes", &self.memory_usage_bytes)?;
        fields.serialize_field("memory_request_bytes", &self.memory_request_bytes)?;
        fields.serialize_field("restarts", &self.restarts)?;
        fields.serialize_field("energy_joules", &self.energy_joules.point)?;
        fields.serialize_field("co2e_grams", &self.co2e_grams.point)?;
        fields.serialize_field("embodied_co2e_grams", &self.embodied_co2e_grams.point)?;
        fields.serialize_field("total_co2e_grams", &total.point)?;
        fields.serialize_field("cost", &self.cost)?;
        fields.serialize_field("pue", &self.node.pue.point)?;
        fields.serialize_field("grid_intensity", &self.node.grid_intensity.point)?;
        fields.serialize_field("estimated", &self.estimated())?;
        fields.serialize_field("estimation_reasons", &self.reasons)?;
        if let Some(labels) = &self.labels {
            fields.serialize_field("labels", labels)?;
        } else {
            fields.skip_field("labels")?;
        }
        fields.serialize_field(
            "uncertainty",
            &Uncertainty {
                energy: self.energy_joules,
                co2e: self.co2e_grams,
                embodied: self.embodied_co2e_grams,
                total,
            },
        )?;
        fields.end()
    }
}

/// One node's footprint in the window: the whole node, and the part not attributed to pods.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeFootprint {
    /// The node's context.
    pub node: Arc<NodeContext>,
    /// vCPUs the power model used.
    pub vcpus: f64,
    /// Summed CPU usage of its pods.
    pub cpu_usage_cores: Cores,
    /// CPU utilisation used by the power model (0 to 1).
    pub utilisation: f64,
    /// Number of pods on the node.
    pub pods: usize,
    /// Energy of the whole node, joules (IT energy).
    pub energy_joules: Ranged,
    /// Energy the node would use idle over the window (CPU idle watts plus memory), joules.
    pub idle_energy_joules: Ranged,
    /// Energy not attributed to any pod (the overhead row), joules.
    pub overhead_energy_joules: Ranged,
    /// Operational emissions of the whole node.
    pub co2e_grams: Ranged,
    /// Operational emissions of the overhead energy.
    pub overhead_co2e_grams: Ranged,
    /// Embodied emissions of the whole node over the window.
    pub embodied_co2e_grams: Ranged,
    /// Embodied emissions not attributed to any pod.
    pub unallocated_embodied_co2e_grams: Ranged,
}

impl Serialize for NodeFootprint {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct NodeUncertainty {
            energy_joules: Ranged,
            overhead_energy_joules: Ranged,
            co2e_grams: Ranged,
            embodied_co2e_grams: Ranged,
            pue: Ranged,
            grid_intensity: Ranged,
        }
        let reasons = Reasons {
            node: self.node.reasons.clone(),
            own: Vec::new(),
        };
        let mut fields = serializer.serialize_struct("NodeFootprint", 25)?;
        fields.serialize_field("node", &self.node.name)?;
        fields.serialize_field("provider", &self.node.provider)?;
        fields.serialize_field("instance_type", &self.node.instance_type)?;
        fields.serialize_field("zone", &self.node.zone)?;
        fields.serialize_field("region", &self.node.region)?;
        fields.serialize_field("synthetic", &self.node.synthetic)?;
        fields.serialize_field("cpu_capacity_cores", &self.node.cpu_capacity_cores)?;
        fields.serialize_field("memory_capacity_bytes", &self.node.memory_capacity_bytes)?;
        fields.serialize_field(
            "embodied_grams_per_hour",
            &self.node.embodied_grams_per_hour.point,
        )?;
        fields.serialize_field("vcpus", &self.vcpus)?;
        fields.serialize_field("cpu_usage_cores", &self.cpu_usage_cores)?;
        fields.serialize_field("utilisation", &self.utilisation)?;
        fields.serialize_field("pods", &self.pods)?;
        fields.serialize_field("energy_joules", &self.energy_joules.point)?;
        fields.serialize_field("idle_energy_joules", &self.idle_energy_joules.point)?;
        fields.serialize_field("overhead_energy_joules", &self.overhead_energy_joules.point)?;
        fields.serialize_field("co2e_grams", &self.co2e_grams.point)?;
        fields.serialize_field("overhead_co2e_grams", &self.overhead_co2e_grams.point)?;
        fields.serialize_field("embodied_co2e_grams", &self.embodied_co2e_grams.point)?;
        fields.serialize_field(
            "unallocated_embodied_co2e_grams",
            &self.unallocated_embodied_co2e_grams.point,
        )?;
        fields.serialize_field("pue", &self.node.pue.point)?;
        fields.serialize_field("grid_intensity", &self.node.grid_intensity.point)?;
        fields.serialize_field("estimated", &reasons.any())?;
        fields.serialize_field("estimation_reasons", &reasons)?;
        fields.serialize_field(
            "uncertainty",
            &NodeUncertainty {
                energy_joules: self.energy_joules,
                overhead_energy_joules: self.overhead_energy_joules,
                co2e_grams: self.co2e_grams,
                embodied_co2e_grams: self.embodied_co2e_grams,
                pue: self.node.pue,
                grid_intensity: self.node.grid_intensity,
            },
        )?;
        fields.end()
    }
}

/// Cluster totals for the window: the sum over nodes (pods plus overhead).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Totals {
    /// Energy, joules.
    pub energy_joules: Ranged,
    /// Operational emissions, grams.
    pub co2e_grams: Ranged,
    /// Embodied emissions, grams.
    pub embodied_co2e_grams: Ranged,
    /// Sum of the known pod costs.
    pub cost: Money,
    /// Pods in the window.
    pub pods: usize,
    /// Pods whose figures are estimated.
    pub estimated_pods: usize,
    /// Pods with no cost data (not included in `cost`).
    pub pods_without_cost: usize,
}

impl Serialize for Totals {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let total = self.co2e_grams + self.embodied_co2e_grams;
        let mut fields = serializer.serialize_struct("Totals", 9)?;
        fields.serialize_field("energy_joules", &self.energy_joules.point)?;
        fields.serialize_field("co2e_grams", &self.co2e_grams.point)?;
        fields.serialize_field("embodied_co2e_grams", &self.embodied_co2e_grams.point)?;
        fields.serialize_field("total_co2e_grams", &total.point)?;
        fields.serialize_field("cost", &self.cost)?;
        fields.serialize_field("pods", &self.pods)?;
        fields.serialize_field("estimated_pods", &self.estimated_pods)?;
        fields.serialize_field("pods_without_cost", &self.pods_without_cost)?;
        fields.serialize_field(
            "uncertainty",
            &Uncertainty {
                energy: self.energy_joules,
                co2e: self.co2e_grams,
                embodied: self.embodied_co2e_grams,
                total,
            },
        )?;
        fields.end()
    }
}

/// The footprint of one window.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Footprint {
    /// Always [`FOOTPRINT_SCHEMA`].
    pub schema: &'static str,
    /// Methodology and data version.
    pub methodology: MethodologyInfo,
    /// Cluster name, if the snapshot gave one.
    pub cluster: Option<Arc<str>>,
    /// Start of the window.
    pub window_start: DateTime<Utc>,
    /// End of the window.
    pub window_end: DateTime<Utc>,
    /// One row per pod, in snapshot order.
    pub pods: Vec<PodFootprint>,
    /// One row per node (snapshot nodes first, then nodes synthesised for orphan pods).
    pub nodes: Vec<NodeFootprint>,
    /// Sums over nodes.
    pub totals: Totals,
    /// Notes about the input that did not change a figure (for example, costs for pods that are
    /// not in the snapshot).
    pub warnings: Vec<String>,
}

/// Pod rows one thread serialises at a time in [`Footprint::write_json`].
const JSON_CHUNK: usize = 2_048;

/// Pod rows serialised before they are written, at most, in [`Footprint::write_json`]: bounds
/// the memory the serialised rows take (about 1 KiB each).
const JSON_ROUND: usize = 8 * JSON_CHUNK;

impl Footprint {
    /// Writes the footprint as compact JSON: the same bytes as `serde_json::to_writer(out,
    /// self)`, with the pod rows serialised on every core, in chunks written in pod order.
    pub fn write_json<W: std::io::Write>(&self, mut out: W) -> serde_json::Result<()> {
        let io = serde_json::Error::io;
        out.write_all(b"{\"schema\":").map_err(io)?;
        serde_json::to_writer(&mut out, self.schema)?;
        out.write_all(b",\"methodology\":").map_err(io)?;
        serde_json::to_writer(&mut out, &self.methodology)?;
        out.write_all(b",\"cluster\":").map_err(io)?;
        serde_json::to_writer(&mut out, &self.cluster)?;
        out.write_all(b",\"window_start\":").map_err(io)?;
        serde_json::to_writer(&mut out, &self.window_start)?;
        out.write_all(b",\"window_end\":").map_err(io)?;
        serde_json::to_writer(&mut out, &self.window_end)?;
        out.write_all(b",\"pods\":[").map_err(io)?;
        let rows = |chunk: &[PodFootprint]| -> serde_json::Result<Vec<u8>> {
            let mut buffer = Vec::with_capacity(chunk.len() * 1024);
            for (index, pod) in chunk.iter().enumerate() {
                if index > 0 {
                    buffer.push(b',');
                }
                serde_json::to_writer(&mut buffer, pod)?;
            }
            Ok(buffer)
        };
        for (round, pods) in self.pods.chunks(JSON_ROUND).enumerate() {
            if round > 0 {
                out.write_all(b",").map_err(io)?;
            }
            if pods.len() <= JSON_CHUNK {
                out.write_all(&rows(pods)?).map_err(io)?;
                continue;
            }
            let parts: Vec<Vec<u8>> = pods
                .par_chunks(JSON_CHUNK)
                .map(rows)
                .collect::<serde_json::Result<_>>()?;
            for (index, part) in parts.iter().enumerate() {
                if index > 0 {
                    out.write_all(b",").map_err(io)?;
                }
                out.write_all(part).map_err(io)?;
            }
        }
        out.write_all(b"],\"nodes\":").map_err(io)?;
        serde_json::to_writer(&mut out, &self.nodes)?;
        out.write_all(b",\"totals\":").map_err(io)?;
        serde_json::to_writer(&mut out, &self.totals)?;
        out.write_all(b",\"warnings\":").map_err(io)?;
        serde_json::to_writer(&mut out, &self.warnings)?;
        out.write_all(b"}").map_err(io)
    }

    /// The footprint as a JSON value.
    pub fn to_json_value(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }

    /// Length of the window, seconds.
    pub(crate) fn seconds(&self) -> f64 {
        (self.window_end - self.window_start).num_milliseconds() as f64 / 1000.0
    }
}
