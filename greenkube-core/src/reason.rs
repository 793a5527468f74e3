//! Estimation reasons: why a figure is an estimate rather than a measurement-backed value.
//!
//! Reasons are structured so the engine does not build strings in its hot loop; they are
//! rendered as readable sentences when a footprint is serialised.

use std::fmt;
use std::sync::Arc;

use serde::{Serialize, Serializer};

/// One reason a figure was estimated or used a fallback.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Reason {
    /// The pod's node is not in the snapshot (or the pod names none).
    NodeNotInSnapshot {
        /// Node name the pod gave, if any.
        node: Option<Arc<str>>,
    },
    /// The instance type is not in the catalogue (or is missing); GreenKube's default profile
    /// was used (`classic`).
    DefaultProfile {
        /// Node name.
        node: Arc<str>,
        /// Instance type given.
        instance_type: Option<Arc<str>>,
    },
    /// Profile inferred from a `cpu-N` instance type (`classic`).
    InferredProfile {
        /// Node name.
        node: Arc<str>,
        /// The `cpu-N` type.
        instance_type: Arc<str>,
    },
    /// Unknown instance type; provider-average power per vCPU applied to the node's capacity
    /// (`full`).
    CapacityProfile {
        /// Node name.
        node: Arc<str>,
        /// Instance type given.
        instance_type: Option<Arc<str>>,
        /// vCPUs used.
        vcpus: f64,
        /// Whose average was used.
        provider: &'static str,
    },
    /// Node CPU capacity unknown; assumed from the pods' demand (`full`).
    CapacityFromDemand {
        /// Node name.
        node: Arc<str>,
        /// vCPUs assumed.
        vcpus: f64,
    },
    /// The CPU family of a known instance type is not known; provider average used (`full`).
    CpuFamilyUnknown {
        /// Instance type.
        instance_type: Arc<str>,
        /// Whose average was used.
        provider: &'static str,
    },
    /// Memory capacity unknown: memory energy not counted for this node (`full`).
    MemoryCapacityUnknown {
        /// Node name.
        node: Arc<str>,
    },
    /// Provider inferred from the instance type (`full`).
    ProviderInferred {
        /// Instance type.
        instance_type: Arc<str>,
        /// Provider inferred.
        provider: &'static str,
    },
    /// Unknown or missing provider: default PUE used.
    UnknownProvider {
        /// Provider given, if any.
        provider: Option<Arc<str>>,
        /// PUE used.
        pue: f64,
    },
    /// Zone label missing or unmapped; zone taken from the region.
    ZoneFromRegion {
        /// Node name.
        node: Arc<str>,
        /// Region used.
        region: Arc<str>,
    },
    /// No usable zone or region; the configured default zone was used.
    ZoneFromDefault {
        /// Node name.
        node: Arc<str>,
        /// Zone used.
        zone: Arc<str>,
    },
    /// No zone could be determined.
    NoZone {
        /// Node name.
        node: Arc<str>,
    },
    /// No measured intensity for the zone in this window: the zone's yearly default was used.
    DefaultZoneIntensity {
        /// Zone.
        zone: Arc<str>,
        /// Year of the default figure.
        year: Option<u16>,
    },
    /// No figure for a sub-national zone: the national zone's default was used (`full`).
    NationalZoneIntensity {
        /// Zone.
        zone: Arc<str>,
        /// National zone used.
        national: Arc<str>,
    },
    /// No intensity for the zone at all: the global default was used.
    GlobalDefaultIntensity {
        /// Zone, if one was determined.
        zone: Option<Arc<str>>,
        /// Value used, gCO2e/kWh.
        value: f64,
    },
    /// No embodied figure for the instance type: the default per-node figure was used.
    EmbodiedFallback {
        /// Node name.
        node: Arc<str>,
        /// kg CO2e used.
        kgco2e: f64,
    },
    /// The pods on a node used more CPU than the node has; utilisation capped at 100 %.
    NodeCpuOverCapacity {
        /// Node name.
        node: Arc<str>,
        /// Summed pod usage, cores.
        usage: f64,
        /// Capacity, vCPUs.
        capacity: f64,
    },
    /// The pods on a node reserve or use more memory or CPU than the node has; shares normalised.
    NodeOvercommitted {
        /// Node name.
        node: Arc<str>,
    },
    /// No cost for this pod in the window.
    NoCost,
    /// CPU usage unknown; the request was used instead (`full`).
    CpuUsageFromRequest,
    /// CPU usage unknown; taken as zero.
    CpuUsageUnknown,
    /// Memory usage unknown; the request was used instead (`full`).
    MemoryUsageFromRequest,
    /// Memory usage unknown and no request: no memory energy attributed (`full`).
    MemoryUsageUnknown,
    /// A data source could not give its part of the window (a collector recorded it).
    SourceUnavailable {
        /// Which source.
        source: crate::ports::SourceKind,
        /// What kind of failure.
        kind: crate::ports::SourceErrorKind,
    },
    /// A value a source gave for this pod in this window could not be used and was dropped
    /// (the line the collector recorded in the snapshot's `dropped_values`, which names the
    /// figure, the pod, the window, the value and why); the figure it was for is unknown.
    ValueDropped {
        /// The recorded line.
        value: Arc<str>,
    },
    /// A reason read back from a stored footprint.
    Text(Arc<str>),
}

impl fmt::Display for Reason {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NodeNotInSnapshot { node: Some(node) } => write!(
                formatter,
                "node '{node}' is not in the snapshot; used a default profile"
            ),
            Self::NodeNotInSnapshot { node: None } => {
                write!(formatter, "pod names no node; used a default profile")
            }
            Self::DefaultProfile {
                node,
                instance_type: Some(instance_type),
            } => write!(
                formatter,
                "unknown instance type '{instance_type}' on node '{node}'; used default profile"
            ),
            Self::DefaultProfile {
                node,
                instance_type: None,
            } => write!(
                formatter,
                "no instance type for node '{node}'; used default profile"
            ),
            Self::InferredProfile {
                node,
                instance_type,
            } => write!(
                formatter,
                "inferred profile from CPU count: {instance_type} (node '{node}')"
            ),
            Self::CapacityProfile {
                node,
                instance_type,
                vcpus,
                provider,
            } => {
                match instance_type {
                    Some(instance_type) => write!(
                        formatter,
                        "unknown instance type '{instance_type}' on node '{node}'"
                    )?,
                    None => write!(formatter, "no instance type for node '{node}'")?,
                }
                write!(
                    formatter,
                    "; used the {provider} average power per vCPU for its {vcpus} vCPUs"
                )
            }
            Self::CapacityFromDemand { node, vcpus } => write!(
                formatter,
                "CPU capacity of node '{node}' unknown; assumed {vcpus} vCPUs from pod demand"
            ),
            Self::CpuFamilyUnknown {
                instance_type,
                provider,
            } => write!(
                formatter,
                "CPU family of '{instance_type}' unknown; used the {provider} average power per vCPU"
            ),
            Self::MemoryCapacityUnknown { node } => write!(
                formatter,
                "memory capacity of node '{node}' unknown; memory energy not counted"
            ),
            Self::ProviderInferred {
                instance_type,
                provider,
            } => write!(
                formatter,
                "provider not given; inferred '{provider}' from instance type '{instance_type}'"
            ),
            Self::UnknownProvider {
                provider: Some(provider),
                pue,
            } => write!(
                formatter,
                "unknown provider '{provider}'; used default PUE {pue}"
            ),
            Self::UnknownProvider {
                provider: None,
                pue,
            } => write!(formatter, "provider not given; used default PUE {pue}"),
            Self::ZoneFromRegion { node, region } => write!(
                formatter,
                "zone of node '{node}' unknown or unmapped; fallback from zone to region '{region}'"
            ),
            Self::ZoneFromDefault { node, zone } => write!(
                formatter,
                "zone and region of node '{node}' unknown; used default zone '{zone}'"
            ),
            Self::NoZone { node } => write!(
                formatter,
                "zone and region of node '{node}' unknown and no default zone configured"
            ),
            Self::DefaultZoneIntensity {
                zone,
                year: Some(year),
            } => write!(
                formatter,
                "no measured grid intensity for zone '{zone}'; used its {year} yearly average"
            ),
            Self::DefaultZoneIntensity { zone, year: None } => write!(
                formatter,
                "no measured grid intensity for zone '{zone}'; used its yearly average"
            ),
            Self::NationalZoneIntensity { zone, national } => write!(
                formatter,
                "no grid intensity for zone '{zone}'; used the national zone '{national}'"
            ),
            Self::GlobalDefaultIntensity {
                zone: Some(zone),
                value,
            } => write!(
                formatter,
                "no grid intensity for zone '{zone}'; used the global default {value} gCO2e/kWh"
            ),
            Self::GlobalDefaultIntensity { zone: None, value } => write!(
                formatter,
                "no zone; used the global default grid intensity {value} gCO2e/kWh"
            ),
            Self::EmbodiedFallback { node, kgco2e } => write!(
                formatter,
                "embodied emissions for node '{node}' use fallback default ({kgco2e} kg CO2e): \
                 no figure for its provider and instance type"
            ),
            Self::NodeCpuOverCapacity {
                node,
                usage,
                capacity,
            } => write!(
                formatter,
                "pods on node '{node}' used {usage} cores, more than its {capacity} vCPUs; \
                 utilisation capped at 100%"
            ),
            Self::NodeOvercommitted { node } => write!(
                formatter,
                "pods on node '{node}' reserve more than its capacity; shares normalised"
            ),
            Self::NoCost => write!(formatter, "no cost data for this pod in the window"),
            Self::CpuUsageFromRequest => {
                write!(formatter, "CPU usage unknown; used the CPU request")
            }
            Self::CpuUsageUnknown => write!(formatter, "CPU usage unknown; counted as 0"),
            Self::MemoryUsageFromRequest => {
                write!(formatter, "memory usage unknown; used the memory request")
            }
            Self::MemoryUsageUnknown => {
                write!(
                    formatter,
                    "memory usage unknown and no request; no memory energy attributed"
                )
            }
            Self::SourceUnavailable { source, kind } => write!(
                formatter,
                "{source} was unavailable for this window ({}); {}",
                kind.description(),
                source.fallback()
            ),
            Self::ValueDropped { value } => write!(formatter, "unusable value dropped: {value}"),
            Self::Text(text) => formatter.write_str(text),
        }
    }
}

impl Serialize for Reason {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// The reasons of one footprint row: those shared by every pod of its node, and its own.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Reasons {
    /// Reasons that apply to every pod of the node (shared, not copied).
    pub node: Arc<[Reason]>,
    /// Reasons of this row only.
    pub own: Vec<Reason>,
}

impl Reasons {
    /// True when there is at least one reason.
    pub fn any(&self) -> bool {
        !self.node.is_empty() || !self.own.is_empty()
    }

    /// All reasons, node ones first.
    pub fn iter(&self) -> impl Iterator<Item = &Reason> {
        self.node.iter().chain(self.own.iter())
    }
}

impl Serialize for Reasons {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter())
    }
}
