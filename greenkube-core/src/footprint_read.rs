//! Reading footprints back: the `greenkube.footprint/v1` JSON as `greenkube estimate` writes it,
//! one document, a JSON array of documents, or one document per line.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::footprint::{
    FOOTPRINT_SCHEMA, Footprint, MethodologyInfo, NodeContext, NodeFootprint, PodFootprint, Totals,
};
use crate::ranged::Ranged;
use crate::reason::{Reason, Reasons};
use crate::snapshot::{arc_str, option_arc_str};
use crate::units::{Bytes, Cores, Money};

/// Why a footprint document could not be read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}{path}: {message}", document.map(|d| format!("document {d}: ")).unwrap_or_default())]
pub struct FootprintParseError {
    /// 1-based number of the document (line, or array element) when reading several.
    pub document: Option<usize>,
    /// JSON path of the offending value.
    pub path: String,
    /// What was wrong.
    pub message: String,
}

/// The methodology as documents carry it; `idle_policy` is absent from the first documents of
/// v1 (read as the methodology's own policy, with a warning).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MethodologyWire {
    name: crate::methodology::Methodology,
    version: String,
    data_version: String,
    #[serde(default)]
    idle_policy: Option<crate::methodology::IdlePolicy>,
}

#[derive(Deserialize)]
struct Wire {
    schema: String,
    methodology: MethodologyWire,
    #[serde(default)]
    cluster: Option<Arc<str>>,
    window_start: DateTime<Utc>,
    window_end: DateTime<Utc>,
    pods: Vec<PodWire>,
    #[serde(default)]
    nodes: Vec<NodeWire>,
    totals: TotalsWire,
    #[serde(default)]
    warnings: Vec<String>,
}

#[derive(Deserialize)]
struct Interval3 {
    energy_joules: [f64; 2],
    co2e_grams: [f64; 2],
    embodied_co2e_grams: [f64; 2],
}

#[derive(Deserialize)]
struct PodWire {
    #[serde(deserialize_with = "arc_str")]
    namespace: Arc<str>,
    #[serde(deserialize_with = "arc_str")]
    pod: Arc<str>,
    #[serde(default, deserialize_with = "option_arc_str")]
    node: Option<Arc<str>>,
    #[serde(default, deserialize_with = "option_arc_str")]
    zone: Option<Arc<str>>,
    #[serde(default, deserialize_with = "option_arc_str")]
    provider: Option<Arc<str>>,
    #[serde(default, deserialize_with = "option_arc_str")]
    instance_type: Option<Arc<str>>,
    #[serde(default, deserialize_with = "option_arc_str")]
    owner_kind: Option<Arc<str>>,
    #[serde(default, deserialize_with = "option_arc_str")]
    owner_name: Option<Arc<str>>,
    cpu_usage_cores: Option<Cores>,
    cpu_request_cores: Option<Cores>,
    memory_usage_bytes: Option<Bytes>,
    memory_request_bytes: Option<Bytes>,
    #[serde(default)]
    restarts: Option<u64>,
    energy_joules: f64,
    co2e_grams: f64,
    embodied_co2e_grams: f64,
    cost: Option<Money>,
    pue: f64,
    grid_intensity: f64,
    #[serde(default)]
    estimation_reasons: Vec<Arc<str>>,
    uncertainty: Interval3,
    /// Absent before labels were collected, and for pods without any.
    #[serde(default)]
    labels: Option<crate::snapshot::Labels>,
}

#[derive(Deserialize)]
struct NodeUncertaintyWire {
    energy_joules: [f64; 2],
    /// Absent from the first documents of v1: derived from the node's energy interval.
    #[serde(default)]
    overhead_energy_joules: Option<[f64; 2]>,
    co2e_grams: [f64; 2],
    embodied_co2e_grams: [f64; 2],
    #[serde(default)]
    pue: Option<[f64; 2]>,
    #[serde(default)]
    grid_intensity: Option<[f64; 2]>,
}

#[derive(Deserialize)]
struct NodeWire {
    node: Option<Arc<str>>,
    provider: Option<Arc<str>>,
    instance_type: Option<Arc<str>>,
    zone: Option<Arc<str>>,
    #[serde(default)]
    region: Option<Arc<str>>,
    #[serde(default)]
    synthetic: bool,
    #[serde(default)]
    cpu_capacity_cores: Option<Cores>,
    #[serde(default)]
    memory_capacity_bytes: Option<Bytes>,
    #[serde(default)]
    embodied_grams_per_hour: f64,
    vcpus: f64,
    cpu_usage_cores: Cores,
    utilisation: f64,
    pods: usize,
    energy_joules: f64,
    idle_energy_joules: f64,
    overhead_energy_joules: f64,
    co2e_grams: f64,
    overhead_co2e_grams: f64,
    embodied_co2e_grams: f64,
    unallocated_embodied_co2e_grams: f64,
    pue: f64,
    grid_intensity: f64,
    #[serde(default)]
    estimation_reasons: Vec<Arc<str>>,
    uncertainty: NodeUncertaintyWire,
}

#[derive(Deserialize)]
struct TotalsWire {
    energy_joules: f64,
    co2e_grams: f64,
    embodied_co2e_grams: f64,
    cost: Money,
    /// The three counts are absent from the first documents of v1: counted from the pods.
    #[serde(default)]
    pods: Option<usize>,
    #[serde(default)]
    estimated_pods: Option<usize>,
    #[serde(default)]
    pods_without_cost: Option<usize>,
    uncertainty: Interval3,
}

fn ranged(point: f64, [low, high]: [f64; 2]) -> Ranged {
    Ranged::new(point, low, high)
}

/// A ratio `overhead / whole` applied to the whole's interval, for figures stored as points only.
fn scaled_like(point: f64, whole: Ranged) -> Ranged {
    if whole.point > 0.0 {
        whole.scale(point / whole.point)
    } else {
        Ranged::exact(point)
    }
}

fn texts(reasons: Vec<Arc<str>>) -> Arc<[Reason]> {
    reasons.into_iter().map(Reason::Text).collect()
}

impl From<Wire> for Footprint {
    fn from(mut wire: Wire) -> Self {
        let mut older = Vec::new();
        let idle_policy = wire.methodology.idle_policy.unwrap_or_else(|| {
            let policy = match wire.methodology.name {
                crate::methodology::Methodology::Classic => crate::methodology::IdlePolicy::Usage,
                crate::methodology::Methodology::Full => crate::methodology::IdlePolicy::default(),
            };
            older.push(format!(
                "methodology.idle_policy (read as `{}`)",
                policy.name()
            ));
            policy
        });
        let counted_pods = wire.pods.len();
        let counted_estimated = wire
            .pods
            .iter()
            .filter(|p| !p.estimation_reasons.is_empty())
            .count();
        let counted_without_cost = wire.pods.iter().filter(|p| p.cost.is_none()).count();
        if wire.totals.pods.is_none()
            || wire.totals.estimated_pods.is_none()
            || wire.totals.pods_without_cost.is_none()
        {
            older.push("totals.pods, estimated_pods, pods_without_cost (counted)".to_string());
        }
        if wire
            .nodes
            .iter()
            .any(|n| n.uncertainty.overhead_energy_joules.is_none())
        {
            older.push(
                "nodes[].uncertainty.overhead_energy_joules (scaled from the node's energy)"
                    .to_string(),
            );
        }
        if !older.is_empty() {
            wire.warnings.push(format!(
                "read from an older greenkube.footprint/v1 document without {}",
                older.join("; ")
            ));
        }
        let methodology = MethodologyInfo {
            name: wire.methodology.name,
            version: wire.methodology.version,
            data_version: wire.methodology.data_version,
            idle_policy,
        };
        let pods = wire
            .pods
            .into_iter()
            .map(|p| PodFootprint {
                node: Arc::new(NodeContext {
                    name: p.node,
                    provider: p.provider,
                    instance_type: p.instance_type,
                    zone: p.zone,
                    region: None,
                    cpu_capacity_cores: None,
                    memory_capacity_bytes: None,
                    embodied_grams_per_hour: Ranged::ZERO,
                    pue: Ranged::exact(p.pue),
                    grid_intensity: Ranged::exact(p.grid_intensity),
                    synthetic: false,
                    reasons: Arc::from(Vec::new()),
                }),
                namespace: p.namespace,
                pod: p.pod,
                owner_kind: p.owner_kind,
                owner_name: p.owner_name,
                cpu_usage_cores: p.cpu_usage_cores,
                cpu_request_cores: p.cpu_request_cores,
                memory_usage_bytes: p.memory_usage_bytes,
                memory_request_bytes: p.memory_request_bytes,
                restarts: p.restarts,
                energy_joules: ranged(p.energy_joules, p.uncertainty.energy_joules),
                co2e_grams: ranged(p.co2e_grams, p.uncertainty.co2e_grams),
                embodied_co2e_grams: ranged(
                    p.embodied_co2e_grams,
                    p.uncertainty.embodied_co2e_grams,
                ),
                cost: p.cost,
                reasons: Reasons {
                    node: Arc::from(Vec::new()),
                    own: p.estimation_reasons.into_iter().map(Reason::Text).collect(),
                },
                labels: p.labels,
            })
            .collect();
        let nodes = wire
            .nodes
            .into_iter()
            .map(|n| {
                let co2e = ranged(n.co2e_grams, n.uncertainty.co2e_grams);
                let embodied = ranged(n.embodied_co2e_grams, n.uncertainty.embodied_co2e_grams);
                NodeFootprint {
                    node: Arc::new(NodeContext {
                        name: n.node,
                        provider: n.provider,
                        instance_type: n.instance_type,
                        zone: n.zone,
                        region: n.region,
                        cpu_capacity_cores: n.cpu_capacity_cores,
                        memory_capacity_bytes: n.memory_capacity_bytes,
                        embodied_grams_per_hour: Ranged::exact(n.embodied_grams_per_hour),
                        pue: n
                            .uncertainty
                            .pue
                            .map_or(Ranged::exact(n.pue), |i| ranged(n.pue, i)),
                        grid_intensity: n
                            .uncertainty
                            .grid_intensity
                            .map_or(Ranged::exact(n.grid_intensity), |i| {
                                ranged(n.grid_intensity, i)
                            }),
                        synthetic: n.synthetic,
                        reasons: texts(n.estimation_reasons),
                    }),
                    vcpus: n.vcpus,
                    cpu_usage_cores: n.cpu_usage_cores,
                    utilisation: n.utilisation,
                    pods: n.pods,
                    energy_joules: ranged(n.energy_joules, n.uncertainty.energy_joules),
                    idle_energy_joules: Ranged::exact(n.idle_energy_joules),
                    overhead_energy_joules: n.uncertainty.overhead_energy_joules.map_or_else(
                        || {
                            scaled_like(
                                n.overhead_energy_joules,
                                ranged(n.energy_joules, n.uncertainty.energy_joules),
                            )
                        },
                        |interval| ranged(n.overhead_energy_joules, interval),
                    ),
                    overhead_co2e_grams: scaled_like(n.overhead_co2e_grams, co2e),
                    co2e_grams: co2e,
                    unallocated_embodied_co2e_grams: scaled_like(
                        n.unallocated_embodied_co2e_grams,
                        embodied,
                    ),
                    embodied_co2e_grams: embodied,
                }
            })
            .collect();
        let totals = wire.totals;
        Self {
            schema: FOOTPRINT_SCHEMA,
            methodology,
            cluster: wire.cluster,
            window_start: wire.window_start,
            window_end: wire.window_end,
            pods,
            nodes,
            totals: Totals {
                energy_joules: ranged(totals.energy_joules, totals.uncertainty.energy_joules),
                co2e_grams: ranged(totals.co2e_grams, totals.uncertainty.co2e_grams),
                embodied_co2e_grams: ranged(
                    totals.embodied_co2e_grams,
                    totals.uncertainty.embodied_co2e_grams,
                ),
                cost: totals.cost,
                pods: totals.pods.unwrap_or(counted_pods),
                estimated_pods: totals.estimated_pods.unwrap_or(counted_estimated),
                pods_without_cost: totals.pods_without_cost.unwrap_or(counted_without_cost),
            },
            warnings: wire.warnings,
        }
    }
}

/// Reads one footprint document from its text. A valid document (nearly all) is parsed once,
/// straight into its fields; only a document that fails is parsed again through a JSON value
/// with the path tracked, for an error that names the offending value.
fn parse_text(text: &str, document: Option<usize>) -> Result<Footprint, FootprintParseError> {
    match serde_json::from_str::<Wire>(text) {
        Ok(wire) => finish(wire, document),
        Err(_) => {
            let value = serde_json::from_str(text).map_err(|e| FootprintParseError {
                document,
                path: ".".into(),
                message: e.to_string(),
            })?;
            parse_one(value, document)
        }
    }
}

fn parse_one(
    value: serde_json::Value,
    document: Option<usize>,
) -> Result<Footprint, FootprintParseError> {
    let wire: Wire = serde_path_to_error::deserialize(value).map_err(|e| FootprintParseError {
        document,
        path: e.path().to_string(),
        message: e.into_inner().to_string(),
    })?;
    finish(wire, document)
}

/// The checks a document's fields pass before they are a footprint.
fn finish(wire: Wire, document: Option<usize>) -> Result<Footprint, FootprintParseError> {
    if wire.schema != FOOTPRINT_SCHEMA {
        return Err(FootprintParseError {
            document,
            path: "schema".into(),
            message: format!("expected \"{FOOTPRINT_SCHEMA}\", found \"{}\"", wire.schema),
        });
    }
    wire.check()
        .map_err(|(path, message)| FootprintParseError {
            document,
            path,
            message,
        })?;
    Ok(wire.into())
}

/// A figure of a footprint: finite, not negative, within [`crate::snapshot::MAX_AMOUNT`]
/// times a year of seconds (figures are sums over a window of amounts a snapshot bounds).
fn check_figure(value: f64, path: impl FnOnce() -> String) -> Result<(), (String, String)> {
    const MAX_FIGURE: f64 = crate::snapshot::MAX_AMOUNT * 1e9;
    if value.is_finite() && (0.0..=MAX_FIGURE).contains(&value) {
        Ok(())
    } else {
        Err((
            path(),
            format!("{value} is not allowed: a figure is finite, not negative and at most 1e24"),
        ))
    }
}

impl Wire {
    /// What a footprint guarantees and the type cannot say: a window that ends after it
    /// starts, figures finite and not negative, each pod once.
    fn check(&self) -> Result<(), (String, String)> {
        if self.window_end <= self.window_start {
            return Err((
                "window_end".into(),
                format!(
                    "the window ends ({}) at or before it starts ({})",
                    self.window_end, self.window_start
                ),
            ));
        }
        let mut seen = crate::fastmap::FastMap::default();
        for (index, pod) in self.pods.iter().enumerate() {
            let at = |field: &str| format!("pods[{index}].{field}");
            for (field, value) in [
                ("energy_joules", pod.energy_joules),
                ("co2e_grams", pod.co2e_grams),
                ("embodied_co2e_grams", pod.embodied_co2e_grams),
                (
                    "uncertainty.energy_joules[0]",
                    pod.uncertainty.energy_joules[0],
                ),
                (
                    "uncertainty.energy_joules[1]",
                    pod.uncertainty.energy_joules[1],
                ),
                ("uncertainty.co2e_grams[0]", pod.uncertainty.co2e_grams[0]),
                ("uncertainty.co2e_grams[1]", pod.uncertainty.co2e_grams[1]),
                (
                    "uncertainty.embodied_co2e_grams[0]",
                    pod.uncertainty.embodied_co2e_grams[0],
                ),
                (
                    "uncertainty.embodied_co2e_grams[1]",
                    pod.uncertainty.embodied_co2e_grams[1],
                ),
            ] {
                check_figure(value, || at(field))?;
            }
            if let Some(first) = seen.insert((pod.namespace.clone(), pod.pod.clone()), index) {
                return Err((
                    at("pod"),
                    format!(
                        "{}/{} is listed twice (first at pods[{first}])",
                        pod.namespace, pod.pod
                    ),
                ));
            }
        }
        for (index, node) in self.nodes.iter().enumerate() {
            for (field, value) in [
                ("energy_joules", node.energy_joules),
                ("overhead_energy_joules", node.overhead_energy_joules),
                ("co2e_grams", node.co2e_grams),
                ("overhead_co2e_grams", node.overhead_co2e_grams),
                ("embodied_co2e_grams", node.embodied_co2e_grams),
            ] {
                check_figure(value, || format!("nodes[{index}].{field}"))?;
            }
        }
        for (field, value) in [
            ("energy_joules", self.totals.energy_joules),
            ("co2e_grams", self.totals.co2e_grams),
            ("embodied_co2e_grams", self.totals.embodied_co2e_grams),
        ] {
            check_figure(value, || format!("totals.{field}"))?;
        }
        Ok(())
    }
}

impl Footprint {
    /// Reads one footprint document from an already-decoded JSON value.
    pub fn from_json_value(value: serde_json::Value) -> Result<Self, FootprintParseError> {
        parse_one(value, None)
    }

    /// Reads one footprint document.
    pub fn from_json_str(text: &str) -> Result<Self, FootprintParseError> {
        parse_text(crate::error::without_bom(text), None)
    }
}

/// Reads a history of footprints: a JSON array of footprint documents, or one document per
/// line (blank lines ignored), as `greenkube estimate --format json` writes them.
pub fn read_footprints(text: &str) -> Result<Vec<Footprint>, FootprintParseError> {
    let text = crate::error::without_bom(text);
    let trimmed = text.trim_start();
    if trimmed.starts_with('[') {
        let values: Vec<serde_json::Value> =
            serde_json::from_str(trimmed).map_err(|e| FootprintParseError {
                document: None,
                path: ".".into(),
                message: e.to_string(),
            })?;
        return values
            .into_iter()
            .enumerate()
            .map(|(i, v)| parse_one(v, Some(i + 1)))
            .collect();
    }
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(i, line)| parse_text(line, Some(i + 1)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{EstimateOptions, Snapshot, estimate};

    fn sample() -> Footprint {
        let snap = Snapshot::from_json_str(
            r#"{"schema":"greenkube.snapshot/v1","cluster":"c",
            "window_start":"2025-06-02T10:00:00Z","window_end":"2025-06-02T10:05:00Z",
            "nodes":[{"name":"n1","provider":"aws","instance_type":"m5.large","region":"eu-west-3"}],
            "pods":[{"namespace":"a","name":"p","node":"n1","cpu_usage_cores":0.5}]}"#,
        )
        .unwrap();
        estimate(&snap, &EstimateOptions::default()).unwrap()
    }

    #[test]
    fn round_trip_keeps_every_serialised_field() {
        let fp = sample();
        let text = serde_json::to_string(&fp).unwrap();
        let back = Footprint::from_json_str(&text).unwrap();
        assert_eq!(
            serde_json::to_value(&back).unwrap(),
            serde_json::to_value(&fp).unwrap()
        );
    }

    #[test]
    fn history_as_lines_or_array() {
        let line = serde_json::to_string(&sample()).unwrap();
        let lines = format!("{line}\n\n{line}\n");
        assert_eq!(read_footprints(&lines).unwrap().len(), 2);
        let array = format!("[{line},{line},{line}]");
        assert_eq!(read_footprints(&array).unwrap().len(), 3);
        let err = read_footprints(&format!("{line}\n{{\"schema\":1}}\n")).unwrap_err();
        assert_eq!(err.document, Some(2));
        assert!(err.to_string().starts_with("document 2: schema"), "{err}");
    }

    #[test]
    fn documents_the_fast_path_refuses_read_as_before() {
        let line = serde_json::to_string(&sample()).unwrap();
        // A key given twice: the typed parse refuses it, the value parse keeps the last one.
        let twice = line.replacen("{\"schema\":", "{\"cluster\":\"first\",\"schema\":", 1);
        assert!(serde_json::from_str::<Wire>(&twice).is_err());
        let fp = Footprint::from_json_str(&twice).unwrap();
        assert_eq!(fp.cluster.as_deref(), Some("c"));
        assert_eq!(
            read_footprints(&format!("{line}\n{twice}")).unwrap().len(),
            2
        );
    }

    #[test]
    fn errors_name_the_value_and_the_document() {
        let line = serde_json::to_string(&sample()).unwrap();
        let bad = line.replacen("\"co2e_grams\":", "\"co2e_grams\":null,\"x\":", 1);
        let err = Footprint::from_json_str(&bad).unwrap_err();
        assert_eq!(err.path, "pods[0].co2e_grams", "{err}");
        assert_eq!(err.document, None);
        let err = read_footprints(&format!("{line}\n{bad}")).unwrap_err();
        assert_eq!(
            (err.document, err.path.as_str()),
            (Some(2), "pods[0].co2e_grams")
        );
        let err = Footprint::from_json_str("{\"schema\": ").unwrap_err();
        assert_eq!(err.path, ".");
        assert!(err.message.contains("EOF"), "{err}");
    }
}
