//! The snapshot contract (`greenkube.snapshot/v1`): one window of one cluster, everything the
//! engine needs and nothing else.
//!
//! Parsing rejects unknown fields with an error naming the field; [`Snapshot::validate`] then
//! checks values (finite, not negative), the window, and the uniqueness of nodes, pods, costs
//! and embodied figures. [`crate::estimate`] validates before it computes.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use rayon::prelude::*;
use serde::{Deserialize, Deserializer, Serialize};

use crate::error::SnapshotError;
use crate::fastmap::{FastMap, fast_map};
use crate::units::{Bytes, Cores, GramsPerKwh, Money, Seconds};

/// The `schema` value of a version 1 snapshot.
pub const SNAPSHOT_SCHEMA: &str = "greenkube.snapshot/v1";

/// One window of one cluster.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Snapshot {
    /// Always [`SNAPSHOT_SCHEMA`].
    pub schema: String,
    /// Cluster name, when known.
    #[serde(
        default,
        deserialize_with = "option_arc_str",
        skip_serializing_if = "Option::is_none"
    )]
    pub cluster: Option<Arc<str>>,
    /// Start of the window (inclusive).
    pub window_start: DateTime<Utc>,
    /// End of the window (exclusive).
    pub window_end: DateTime<Utc>,
    /// The nodes of the cluster during the window.
    #[serde(default, deserialize_with = "null_as_default")]
    pub nodes: Vec<Node>,
    /// The pods that ran during the window; usage is the average over the window.
    #[serde(default, deserialize_with = "null_as_default")]
    pub pods: Vec<Pod>,
    /// Measured grid intensity per electricity zone, for this window.
    #[serde(default, deserialize_with = "null_as_default")]
    pub grid_intensity: BTreeMap<String, GramsPerKwh>,
    /// Cost accrued by each pod during the window.
    #[serde(default, deserialize_with = "null_as_default")]
    pub costs: Vec<CostEntry>,
    /// Embodied (manufacturing) emissions per instance type, as a source such as Boavizta gave them.
    #[serde(default, deserialize_with = "null_as_default")]
    pub embodied: Vec<EmbodiedEntry>,
    /// Sources that could not give their part of this window (a collector records them): every
    /// figure of the window carries a reason naming the source.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub degraded_sources: Vec<crate::ports::SourceNote>,
    /// Values a source gave for this window that could not be used, one line each (a collector
    /// records them): the pods' figures they were for are unknown and flagged, and the
    /// footprint warns about them.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub dropped_values: Vec<String>,
}

/// A node of the cluster.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Node {
    /// Node name, unique in the snapshot.
    #[serde(deserialize_with = "arc_str")]
    pub name: Arc<str>,
    /// Cloud provider (`aws`, `gcp`, `azure`, `ovh`, `scaleway`; case-insensitive; anything else is
    /// an unknown provider).
    #[serde(
        default,
        deserialize_with = "option_arc_str",
        skip_serializing_if = "Option::is_none"
    )]
    pub provider: Option<Arc<str>>,
    /// Instance type as Kubernetes reports it (`m5.large`, `n2-standard-8`, `Standard_D4s_v5`).
    #[serde(
        default,
        deserialize_with = "option_arc_str",
        skip_serializing_if = "Option::is_none"
    )]
    pub instance_type: Option<Arc<str>>,
    /// Cloud region (`eu-west-3`).
    #[serde(
        default,
        deserialize_with = "option_arc_str",
        skip_serializing_if = "Option::is_none"
    )]
    pub region: Option<Arc<str>>,
    /// Cloud availability zone (`eu-west-3a`) or an electricity zone code (`FR`).
    #[serde(
        default,
        deserialize_with = "option_arc_str",
        skip_serializing_if = "Option::is_none"
    )]
    pub zone: Option<Arc<str>>,
    /// CPU capacity in cores.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_capacity_cores: Option<Cores>,
    /// Memory capacity in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_capacity_bytes: Option<Bytes>,
    /// Node labels. Well-known labels fill in `instance_type`, `region` and `zone` when those
    /// fields are absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
}

/// A pod that ran during the window.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pod {
    /// Namespace.
    #[serde(deserialize_with = "arc_str")]
    pub namespace: Arc<str>,
    /// Pod name; `(namespace, name)` is unique in the snapshot.
    #[serde(deserialize_with = "arc_str")]
    pub name: Arc<str>,
    /// Node the pod ran on.
    #[serde(
        default,
        deserialize_with = "option_arc_str",
        skip_serializing_if = "Option::is_none"
    )]
    pub node: Option<Arc<str>>,
    /// Kind of the controlling owner (`ReplicaSet`, `StatefulSet`, `DaemonSet`, `Job`, ...).
    #[serde(
        default,
        deserialize_with = "option_arc_str",
        skip_serializing_if = "Option::is_none"
    )]
    pub owner_kind: Option<Arc<str>>,
    /// Name of the controlling owner.
    #[serde(
        default,
        deserialize_with = "option_arc_str",
        skip_serializing_if = "Option::is_none"
    )]
    pub owner_name: Option<Arc<str>>,
    /// Average CPU used over the window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_usage_cores: Option<Cores>,
    /// Average memory working set over the window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_usage_bytes: Option<Bytes>,
    /// Sum of the containers' CPU requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_request_cores: Option<Cores>,
    /// Sum of the containers' memory requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_request_bytes: Option<Bytes>,
    /// Container restarts during the window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restarts: Option<u64>,
    /// The pod's Kubernetes labels (`metadata.labels`), when the collector read them. Reports
    /// filter and group by them (`report --label team=payments`, `--group-by label:team`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<Labels>,
}

/// A pod's labels, shared by the snapshot, its footprint rows and the store (cloning is cheap).
pub type Labels = Arc<BTreeMap<String, String>>;

/// Cost accrued by one pod in the window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CostEntry {
    /// Namespace of the pod.
    #[serde(deserialize_with = "arc_str")]
    pub namespace: Arc<str>,
    /// Pod name.
    #[serde(deserialize_with = "arc_str")]
    pub pod: Arc<str>,
    /// Cost accrued in the window.
    pub cost: Money,
}

/// Embodied emissions of one instance type over its whole life.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmbodiedEntry {
    /// Cloud provider.
    #[serde(deserialize_with = "arc_str")]
    pub provider: Arc<str>,
    /// Instance type.
    #[serde(deserialize_with = "arc_str")]
    pub instance_type: Arc<str>,
    /// Manufacturing emissions of the instance, in kg CO2e, over its whole life.
    pub kgco2e: f64,
    /// Lifespan over which the figure is amortised, in hours (default: the reference data's
    /// lifespan, 4 years).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifespan_hours: Option<f64>,
}

/// A string field as an `Arc<str>`, made from the text the parser holds (serde's own impl goes
/// through a `String` and a `Box<str>`: two allocations and a copy more per field).
pub(crate) fn arc_str<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Arc<str>, D::Error> {
    deserializer.deserialize_str(ArcStrVisitor)
}

/// An optional string field (absent or `null` is `None`) as an `Arc<str>`, as [`arc_str`].
pub(crate) fn option_arc_str<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Arc<str>>, D::Error> {
    deserializer.deserialize_option(OptionArcStrVisitor)
}

struct ArcStrVisitor;

impl serde::de::Visitor<'_> for ArcStrVisitor {
    type Value = Arc<str>;

    fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("a string")
    }

    fn visit_str<E: serde::de::Error>(self, value: &str) -> Result<Arc<str>, E> {
        Ok(Arc::from(value))
    }
}

struct OptionArcStrVisitor;

impl<'de> serde::de::Visitor<'de> for OptionArcStrVisitor {
    type Value = Option<Arc<str>>;

    fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("option")
    }

    fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        arc_str(deserializer).map(Some)
    }
}

fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

impl Snapshot {
    /// Parses a snapshot from JSON text. Errors name the offending field and its position.
    /// The result is not yet validated: see [`Snapshot::validate`].
    pub fn from_json_str(text: &str) -> Result<Self, SnapshotError> {
        crate::error::parse_json(text).map_err(|err| match err {
            SnapshotError::Parse {
                path,
                message,
                line,
                column,
            } => SnapshotError::Parse {
                path,
                message: clean_serde_message(&message),
                line,
                column,
            },
            other => other,
        })
    }

    /// Parses a snapshot from an already-decoded JSON value (for example, a Python dict).
    pub fn from_json_value(value: serde_json::Value) -> Result<Self, SnapshotError> {
        serde_path_to_error::deserialize(value).map_err(|err| SnapshotError::Parse {
            path: err.path().to_string(),
            message: clean_serde_message(&err.into_inner().to_string()),
            line: 0,
            column: 0,
        })
    }

    /// Length of the window.
    pub fn duration(&self) -> Seconds {
        let span = self.window_end - self.window_start;
        Seconds(span.num_milliseconds() as f64 / 1000.0)
    }

    /// Checks everything parsing cannot: the schema, the window, values (finite, not negative)
    /// and uniqueness of nodes, pods, costs and embodied figures.
    pub fn validate(&self) -> Result<(), SnapshotError> {
        self.validate_indexed().map(|_| ())
    }

    /// [`Snapshot::validate`], keeping what validation learns: each pod's cost, and the cost
    /// entries whose pod is not in the snapshot.
    pub(crate) fn validate_indexed(&self) -> Result<CostIndex<'_>, SnapshotError> {
        if self.schema != SNAPSHOT_SCHEMA {
            return Err(SnapshotError::Schema {
                expected: SNAPSHOT_SCHEMA,
                found: self.schema.clone(),
            });
        }
        if self.window_end < self.window_start {
            return Err(SnapshotError::WindowEndsBeforeStart {
                start: self.window_start,
                end: self.window_end,
            });
        }
        if self.window_end == self.window_start {
            return Err(SnapshotError::EmptyWindow {
                start: self.window_start,
            });
        }
        if self.window_end - self.window_start < MIN_WINDOW {
            return Err(SnapshotError::ShortWindow {
                start: self.window_start,
                millis: (self.window_end - self.window_start).num_milliseconds(),
            });
        }
        self.validate_nodes()?;
        let pod_keys = self.pod_keys();
        let pod_index = self.validate_pods(&pod_keys)?;
        for (zone, intensity) in &self.grid_intensity {
            check_amount(intensity.0, || format!("grid_intensity.{zone}"))?;
        }
        let cost_index = self.index_costs(&pod_index)?;
        drop(pod_index);
        drop(pod_keys);
        let mut seen: HashMap<(String, String), usize> = HashMap::new();
        for (index, entry) in self.embodied.iter().enumerate() {
            check_amount(entry.kgco2e, || format!("embodied[{index}].kgco2e"))?;
            if let Some(hours) = entry.lifespan_hours {
                check_positive(hours, || format!("embodied[{index}].lifespan_hours"))?;
            }
            let key = (
                entry.provider.to_ascii_lowercase(),
                entry.instance_type.to_ascii_lowercase(),
            );
            if let Some(first) = seen.insert(key, index) {
                return Err(SnapshotError::Duplicate {
                    field: format!("embodied[{index}]"),
                    what: "embodied figure",
                    key: format!("{}/{}", entry.provider, entry.instance_type),
                    first: format!("embodied[{first}]"),
                });
            }
        }
        Ok(cost_index)
    }

    /// Matches each cost entry to its pod (rejecting duplicates). Costs listed in pod order,
    /// as collectors write them, are matched without a lookup.
    ///
    /// The matching (a pure function of each entry, the pods being unique by now) runs on every
    /// core in chunks; the checks and the duplicate detection then run in entry order, so the
    /// result and the first error are those of a single pass.
    fn index_costs<'a>(&'a self, pod_index: &PodIndex<'_>) -> Result<CostIndex<'a>, SnapshotError> {
        let found = self.match_costs(pod_index);
        let mut by_pod: Vec<Option<(Money, u32)>> = vec![None; self.pods.len()];
        let mut orphans: FastMap<(&str, &str), usize> = fast_map(0);
        for ((index, cost), found) in self.costs.iter().enumerate().zip(found) {
            check_amount(cost.cost.0, || format!("costs[{index}].cost"))?;
            let first = if found == NO_POD {
                orphans.insert((&cost.namespace, &cost.pod), index)
            } else {
                let position = found as usize;
                let first = by_pod[position].map(|(_, f)| f as usize);
                if first.is_none() {
                    by_pod[position] = Some((cost.cost, index as u32));
                }
                first
            };
            if let Some(first) = first {
                return Err(SnapshotError::Duplicate {
                    field: format!("costs[{index}]"),
                    what: "cost",
                    key: format!("{}/{}", cost.namespace, cost.pod),
                    first: format!("costs[{first}]"),
                });
            }
        }
        let mut orphans: Vec<(&str, &str)> = orphans.into_keys().collect();
        orphans.sort_unstable();
        Ok(CostIndex {
            by_pod: by_pod
                .into_iter()
                .map(|c| c.map(|(cost, _)| cost))
                .collect(),
            orphans,
        })
    }

    /// The position of each cost entry's pod ([`NO_POD`] for none), in entry order.
    fn match_costs(&self, pod_index: &PodIndex<'_>) -> Vec<u32> {
        let match_chunk = |(chunk, costs): (usize, &[CostEntry])| {
            // Within a chunk, an entry for the pod after the previous entry's is matched
            // without a lookup, while the entries follow the pods' order (`ordered`: the last
            // entry's pod came right after the one before). Shuffled entries skip that check,
            // which would read a pod's names for nothing.
            let mut cursor = chunk * COST_CHUNK;
            let mut ordered = true;
            let mut found = Vec::with_capacity(costs.len());
            let mut key = Vec::new();
            for cost in costs {
                let at_cursor = ordered
                    && self.pods.get(cursor).is_some_and(|p| {
                        (Arc::ptr_eq(&p.name, &cost.pod) || p.name == cost.pod)
                            && (Arc::ptr_eq(&p.namespace, &cost.namespace)
                                || p.namespace == cost.namespace)
                    });
                let position = if at_cursor {
                    Some(cursor)
                } else {
                    pod_index
                        .get(pod_key(&mut key, &cost.namespace, &cost.pod))
                        .copied()
                };
                match position {
                    Some(position) => {
                        ordered = position == cursor;
                        cursor = position + 1;
                        found.push(position as u32);
                    }
                    None => found.push(NO_POD),
                }
            }
            found
        };
        if self.costs.len() < 2 * COST_CHUNK {
            return match_chunk((0, &self.costs));
        }
        let chunks: Vec<Vec<u32>> = self
            .costs
            .par_chunks(COST_CHUNK)
            .enumerate()
            .map(match_chunk)
            .collect();
        chunks.concat()
    }

    fn validate_nodes(&self) -> Result<(), SnapshotError> {
        let mut seen: FastMap<&str, usize> = fast_map(self.nodes.len());
        for (index, node) in self.nodes.iter().enumerate() {
            if node.name.is_empty() {
                return Err(SnapshotError::EmptyName {
                    field: format!("nodes[{index}].name"),
                });
            }
            if let Some(first) = seen.insert(&node.name, index) {
                return Err(SnapshotError::Duplicate {
                    field: format!("nodes[{index}].name"),
                    what: "node",
                    key: node.name.to_string(),
                    first: format!("nodes[{first}]"),
                });
            }
            if let Some(cores) = node.cpu_capacity_cores {
                check_positive(cores.0, || format!("nodes[{index}].cpu_capacity_cores"))?;
            }
            if let Some(bytes) = node.memory_capacity_bytes {
                check_positive(bytes.0, || format!("nodes[{index}].memory_capacity_bytes"))?;
            }
        }
        Ok(())
    }

    /// Every pod's key (see [`pod_key`]), one after the other.
    fn pod_keys(&self) -> PodKeys {
        let mut keys = PodKeys {
            bytes: Vec::with_capacity(
                self.pods
                    .iter()
                    .map(|p| p.namespace.len() + p.name.len() + 1)
                    .sum(),
            ),
            ends: Vec::with_capacity(self.pods.len()),
        };
        for pod in &self.pods {
            keys.bytes.extend_from_slice(pod.namespace.as_bytes());
            keys.bytes.push(KEY_SEPARATOR);
            keys.bytes.extend_from_slice(pod.name.as_bytes());
            keys.ends.push(keys.bytes.len());
        }
        keys
    }

    fn validate_pods<'k>(&self, keys: &'k PodKeys) -> Result<PodIndex<'k>, SnapshotError> {
        let mut seen: PodIndex<'k> = fast_map(self.pods.len());
        let mut start = 0;
        for ((index, pod), &end) in self.pods.iter().enumerate().zip(&keys.ends) {
            let key = &keys.bytes[start..end];
            start = end;
            if pod.namespace.is_empty() {
                return Err(SnapshotError::EmptyName {
                    field: format!("pods[{index}].namespace"),
                });
            }
            if pod.name.is_empty() {
                return Err(SnapshotError::EmptyName {
                    field: format!("pods[{index}].name"),
                });
            }
            if let Some(first) = seen.insert(key, index) {
                return Err(SnapshotError::Duplicate {
                    field: format!("pods[{index}]"),
                    what: "pod",
                    key: format!("{}/{}", pod.namespace, pod.name),
                    first: format!("pods[{first}]"),
                });
            }
            let checks = [
                ("cpu_usage_cores", pod.cpu_usage_cores.map(|v| v.0)),
                ("memory_usage_bytes", pod.memory_usage_bytes.map(|v| v.0)),
                ("cpu_request_cores", pod.cpu_request_cores.map(|v| v.0)),
                (
                    "memory_request_bytes",
                    pod.memory_request_bytes.map(|v| v.0),
                ),
            ];
            for (name, value) in checks {
                if let Some(amount) = value {
                    check_amount(amount, || format!("pods[{index}].{name}"))?;
                }
            }
        }
        Ok(seen)
    }
}

/// The pods' `(namespace, name)` keys (see [`pod_key`]) in one buffer, in pod order: the
/// index of the pods, and the cost matching, read them there rather than from each pod's own
/// strings, scattered over the heap.
struct PodKeys {
    bytes: Vec<u8>,
    /// Where each pod's key ends in `bytes`.
    ends: Vec<usize>,
}

/// Each pod's position by its key.
type PodIndex<'k> = FastMap<&'k [u8], usize>;

/// Separates the namespace from the name in a key: a byte UTF-8 text never holds, so two
/// different pairs never give the same key.
const KEY_SEPARATOR: u8 = 0xFF;

/// The key of `(namespace, name)`, written into `buffer`.
fn pod_key<'b>(buffer: &'b mut Vec<u8>, namespace: &str, name: &str) -> &'b [u8] {
    buffer.clear();
    buffer.extend_from_slice(namespace.as_bytes());
    buffer.push(KEY_SEPARATOR);
    buffer.extend_from_slice(name.as_bytes());
    buffer
}

/// Cost entries matched in one chunk (see [`Snapshot::match_costs`]).
const COST_CHUNK: usize = 8192;

/// A cost entry that matches no pod.
const NO_POD: u32 = u32::MAX;

/// What [`Snapshot::validate_indexed`] learns about costs.
pub(crate) struct CostIndex<'a> {
    /// Cost of each pod, in snapshot order (`None`: no cost entry).
    pub(crate) by_pod: Vec<Option<Money>>,
    /// `(namespace, pod)` of cost entries for pods not in the snapshot, sorted.
    pub(crate) orphans: Vec<(&'a str, &'a str)>,
}

/// The shortest window a snapshot may cover: one second.
pub const MIN_WINDOW: chrono::TimeDelta = chrono::TimeDelta::seconds(1);

/// The largest amount a snapshot may carry, whatever its unit: beyond any real cluster (a
/// petabyte of memory, a million billion cores, grams, or money per window), and small enough
/// that the products the engine forms stay finite (three such factors are 1e45, far from
/// `f64::MAX`), so no figure overflows to infinity.
pub const MAX_AMOUNT: f64 = 1e15;

/// True when a snapshot may carry `value` as an amount: a number, finite, not negative, at most
/// [`MAX_AMOUNT`] (what validation checks of every amount).
pub(crate) fn amount_ok(value: f64) -> bool {
    (0.0..=MAX_AMOUNT).contains(&value)
}

fn check_amount(value: f64, field: impl FnOnce() -> String) -> Result<(), SnapshotError> {
    if amount_ok(value) {
        Ok(())
    } else if value.is_nan() {
        Err(invalid(value, field, "must be a number, not NaN"))
    } else if value.is_infinite() {
        Err(invalid(value, field, "must be finite"))
    } else if value < 0.0 {
        Err(invalid(value, field, "must not be negative"))
    } else {
        // Finite, not negative, refused by `amount_ok`: above `MAX_AMOUNT`.
        Err(invalid(
            value,
            field,
            "is out of range: at most 1e15 (beyond any real cluster)",
        ))
    }
}

fn check_positive(value: f64, field: impl FnOnce() -> String) -> Result<(), SnapshotError> {
    let field_name = field();
    check_amount(value, || field_name.clone())?;
    if value == 0.0 {
        return Err(invalid(value, || field_name, "must be greater than zero"));
    }
    Ok(())
}

fn invalid(value: f64, field: impl FnOnce() -> String, reason: &'static str) -> SnapshotError {
    SnapshotError::InvalidValue {
        field: field(),
        value,
        reason,
    }
}

/// `serde_json` appends " at line X column Y" to its messages; the position is reported separately.
fn clean_serde_message(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(pos) => message[..pos].to_string(),
        None => message.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"{"schema":"greenkube.snapshot/v1",
        "window_start":"2025-06-02T10:00:00Z","window_end":"2025-06-02T10:05:00Z"}"#;

    #[test]
    fn minimal_snapshot_parses_and_validates() {
        let snap = Snapshot::from_json_str(MINIMAL).unwrap();
        snap.validate().unwrap();
        assert_eq!(snap.duration(), Seconds(300.0));
        assert!(snap.nodes.is_empty());
    }

    #[test]
    fn unknown_field_is_named_with_its_path() {
        let text = r#"{"schema":"greenkube.snapshot/v1",
            "window_start":"2025-06-02T10:00:00Z","window_end":"2025-06-02T10:05:00Z",
            "pods":[{"namespace":"a","name":"b","cpu_usage":1}]}"#;
        let err = Snapshot::from_json_str(text).unwrap_err();
        assert_eq!(err.field(), Some("pods[0].cpu_usage"));
        assert!(
            err.to_string().contains("unknown field `cpu_usage`"),
            "{err}"
        );
    }

    #[test]
    fn nulls_are_accepted_for_optional_fields() {
        let text = r#"{"schema":"greenkube.snapshot/v1","cluster":null,
            "window_start":"2025-06-02T10:00:00Z","window_end":"2025-06-02T10:05:00Z",
            "nodes":null,"pods":[{"namespace":"a","name":"b","node":null,"cpu_usage_cores":null}],
            "grid_intensity":null,"costs":null,"embodied":null}"#;
        let snap = Snapshot::from_json_str(text).unwrap();
        snap.validate().unwrap();
        assert_eq!(snap.pods[0].cpu_usage_cores, None);
    }

    #[test]
    fn wrong_type_names_field() {
        let text = r#"{"schema":"greenkube.snapshot/v1",
            "window_start":"2025-06-02T10:00:00Z","window_end":"2025-06-02T10:05:00Z",
            "nodes":[{"name":"n","cpu_capacity_cores":"four"}]}"#;
        let err = Snapshot::from_json_str(text).unwrap_err();
        assert_eq!(err.field(), Some("nodes[0].cpu_capacity_cores"));
    }
}
