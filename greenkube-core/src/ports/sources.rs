//! Source ports: where a collector gets the inputs of a snapshot.
//!
//! | port | real source | gives |
//! |---|---|---|
//! | [`UsageSource`] | Prometheus | per-pod CPU, memory and restarts per window; node labels |
//! | [`InventorySource`] | Kubernetes API | nodes, pods with requests and owners, autoscalers |
//! | [`CostSource`] | OpenCost | cost per pod accrued in a window |
//! | [`IntensitySource`] | Electricity Maps | grid intensity: latest, last 24 h, forecast |
//! | [`EmbodiedSource`] | Boavizta | manufacturing emissions of an instance type |
//!
//! Every method returns a [`SourceError`] naming the source and the kind of failure; adapters
//! retry what can be retried (time-outs, 429, 5xx) a bounded number of times with back-off before
//! giving up, and never retry what cannot succeed (401, 404, a malformed answer). A collector that
//! gets an error does not stop: it builds the snapshot without that input and records a
//! [`SourceNote`], so the figures that depended on it are flagged with a reason naming the source.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::inventory::HpaTarget;
use crate::ports::{IntensityPoint, TimeRange};
use crate::snapshot::{CostEntry, Node};
use crate::units::{Bytes, Cores};

/// Which data source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SourceKind {
    /// Prometheus (usage, node labels).
    Prometheus,
    /// The Kubernetes API (inventory).
    Kubernetes,
    /// OpenCost (costs).
    Opencost,
    /// Electricity Maps (grid intensity).
    ElectricityMaps,
    /// Boavizta (embodied emissions).
    Boavizta,
}

impl SourceKind {
    /// Name as shown to users and in estimation reasons.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Prometheus => "prometheus",
            Self::Kubernetes => "kubernetes",
            Self::Opencost => "opencost",
            Self::ElectricityMaps => "electricity-maps",
            Self::Boavizta => "boavizta",
        }
    }
}

impl fmt::Display for SourceKind {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.name())
    }
}

/// What kind of failure a [`SourceError`] is. Callers branch on this, never on messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum SourceErrorKind {
    /// Connection refused, DNS failure, connection reset.
    Unreachable,
    /// No complete answer within the time-out.
    Timeout,
    /// The source refused the credentials (401, 403).
    Unauthorized,
    /// The source asked us to slow down (429) and kept doing so through every retry.
    RateLimited,
    /// The source answered with a server error (5xx) through every retry.
    ServerError,
    /// The source answered something that is not what its API documents: malformed JSON, an
    /// error status inside a 200, a value that is not a number.
    BadResponse,
    /// The source does not know what was asked (404 for a path that should exist, an unknown
    /// zone). Not used for "unknown instance type", which is an answer (`Ok(None)`).
    NotFound,
    /// The source is not configured (no URL, no token) and could not be discovered.
    NotConfigured,
}

impl SourceErrorKind {
    /// A short name, as serialised (`kebab-case`) and in metric labels.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Unreachable => "unreachable",
            Self::Timeout => "timeout",
            Self::Unauthorized => "unauthorized",
            Self::RateLimited => "rate-limited",
            Self::ServerError => "server-error",
            Self::BadResponse => "bad-response",
            Self::NotFound => "not-found",
            Self::NotConfigured => "not-configured",
        }
    }

    /// How the failure reads in a sentence.
    pub const fn description(self) -> &'static str {
        match self {
            Self::Unreachable => "unreachable",
            Self::Timeout => "timed out",
            Self::Unauthorized => "refused the credentials",
            Self::RateLimited => "rate limited",
            Self::ServerError => "server error",
            Self::BadResponse => "bad response",
            Self::NotFound => "not found",
            Self::NotConfigured => "not configured",
        }
    }

    /// True for failures that may go away on their own, so a bounded retry makes sense.
    pub const fn is_transient(self) -> bool {
        matches!(
            self,
            Self::Unreachable | Self::Timeout | Self::RateLimited | Self::ServerError
        )
    }
}

/// A source failed. The message never contains credentials.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{source_kind} {}: {message}", kind.description())]
pub struct SourceError {
    /// Which source.
    pub source_kind: SourceKind,
    /// What went wrong.
    pub kind: SourceErrorKind,
    /// Details for people (URL without credentials, status, the first bytes of a bad answer).
    pub message: String,
}

impl SourceError {
    /// A new error.
    pub fn new(source_kind: SourceKind, kind: SourceErrorKind, message: impl Into<String>) -> Self {
        Self {
            source_kind,
            kind,
            message: message.into(),
        }
    }
}

/// A source that could not give (part of) a window's inputs, recorded with the snapshot
/// (`degraded_sources`) so the figures built without it carry a reason naming the source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceNote {
    /// Which source.
    pub source: SourceKind,
    /// What kind of failure.
    pub kind: SourceErrorKind,
    /// What went wrong, for people (kept with the snapshot, not copied into every row).
    #[serde(default)]
    pub detail: String,
}

impl From<&SourceError> for SourceNote {
    fn from(err: &SourceError) -> Self {
        Self {
            source: err.source_kind,
            kind: err.kind,
            detail: err.message.clone(),
        }
    }
}

impl SourceKind {
    /// What greenkube does without this source.
    pub const fn fallback(self) -> &'static str {
        match self {
            Self::Prometheus => "usage unknown, taken from requests where given",
            Self::Kubernetes => "nodes, requests and owners from metrics only",
            Self::Opencost => "cost unknown",
            Self::ElectricityMaps => "grid intensity from reference data",
            Self::Boavizta => "embodied emissions from reference data",
        }
    }
}

/// Usage of one pod averaged over one window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PodUsage {
    /// Namespace.
    pub namespace: Arc<str>,
    /// Pod name.
    pub pod: Arc<str>,
    /// Node the series was scraped on, when the metric says.
    pub node: Option<Arc<str>>,
    /// Average CPU over the window (rate of `container_cpu_usage_seconds_total`), `None` when the
    /// source has no CPU series for the pod in the window.
    pub cpu_usage_cores: Option<Cores>,
    /// Average memory working set over the window, `None` when unknown.
    pub memory_usage_bytes: Option<Bytes>,
    /// Container restarts of the pod (cumulative count at the window's end), `None` when unknown.
    pub restarts: Option<u64>,
}

/// The usage of every pod seen in one window `[start, start + step)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WindowUsage {
    /// Start of the window.
    pub window_start: DateTime<Utc>,
    /// One entry per (namespace, pod), sorted by namespace then pod.
    pub pods: Vec<PodUsage>,
    /// Values the source gave for this window that could not be used (NaN, infinite, negative,
    /// a fractional count), one line each: each was dropped, so that pod's figure is unknown
    /// (`None`) rather than wrong, and the rest of the window stands.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dropped: Vec<String>,
}

/// Per-pod usage, window by window.
#[async_trait]
pub trait UsageSource: Send + Sync + fmt::Debug {
    /// Usage of every pod for each window `[t, t + step)` with `range.from() <= t < range.to()`
    /// and `t` a multiple of `step` after `range.from()`. Windows without any data are returned
    /// with no pods (not left out), so a caller can tell "nothing ran" from "not asked".
    /// Implementations MUST split long ranges into requests the source accepts.
    async fn usage(
        &self,
        range: TimeRange,
        step: Duration,
    ) -> Result<Vec<WindowUsage>, SourceError>;

    /// Nodes as the metrics describe them (`kube_node_labels`: instance type, region, zone,
    /// provider where a label says), at an instant. A fallback for when the Kubernetes API is not
    /// reachable; capacities are `None` unless a metric gives them.
    async fn nodes(&self, at: DateTime<Utc>) -> Result<Vec<Node>, SourceError>;
}

/// A pod's specification as the Kubernetes API gives it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PodSpec {
    /// Namespace.
    pub namespace: Arc<str>,
    /// Pod name.
    pub name: Arc<str>,
    /// Node it is scheduled on (`None` while pending).
    pub node: Option<Arc<str>>,
    /// Kind of the owning workload, resolved through ReplicaSets and Jobs (`Deployment`,
    /// `StatefulSet`, `DaemonSet`, `CronJob`, `Job`, ...).
    pub owner_kind: Option<Arc<str>>,
    /// Name of the owning workload.
    pub owner_name: Option<Arc<str>>,
    /// The pod's effective CPU request as Kubernetes computes it (containers, init containers,
    /// sidecars, overhead), `None` when nothing requests CPU.
    pub cpu_request_cores: Option<Cores>,
    /// The pod's effective memory request, `None` when nothing requests memory.
    pub memory_request_bytes: Option<Bytes>,
    /// The pod's labels (`metadata.labels`); `None` when it has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<crate::snapshot::Labels>,
}

/// What the Kubernetes API says the cluster is made of, now.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ClusterInventory {
    /// Nodes with provider, region, zone, instance type and capacity from labels and providerID.
    pub nodes: Vec<Node>,
    /// Pods that are running or pending (finished pods are left out).
    pub pods: Vec<PodSpec>,
    /// Workloads governed by a HorizontalPodAutoscaler.
    pub hpas: Vec<HpaTarget>,
}

/// The cluster's nodes, pods and autoscalers.
#[async_trait]
pub trait InventorySource: Send + Sync + fmt::Debug {
    /// The current inventory.
    async fn inventory(&self) -> Result<ClusterInventory, SourceError>;
}

/// Cost per pod.
#[async_trait]
pub trait CostSource: Send + Sync + fmt::Debug {
    /// Cost accrued by each pod in the window `range`, one entry per (namespace, pod). Pods the
    /// source has no allocation for are left out (never given a zero).
    async fn costs(&self, range: TimeRange) -> Result<Vec<CostEntry>, SourceError>;
}

/// Grid carbon intensity per electricity zone.
#[async_trait]
pub trait IntensitySource: Send + Sync + fmt::Debug {
    /// The latest value for a zone.
    async fn latest(&self, zone: &str) -> Result<IntensityPoint, SourceError>;

    /// The recent history of a zone (Electricity Maps: the last 24 hours, hourly), oldest first.
    async fn history(&self, zone: &str) -> Result<Vec<IntensityPoint>, SourceError>;

    /// The forecast for a zone, oldest first (points carry a `-forecast` source).
    async fn forecast(&self, zone: &str) -> Result<Vec<IntensityPoint>, SourceError>;
}

/// Manufacturing (embodied) emissions of a cloud instance type over a stated duration.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EmbodiedFigure {
    /// Best estimate, kg CO2e over `duration_hours`.
    pub kgco2e: f64,
    /// Lower bound the source gives.
    pub kgco2e_min: f64,
    /// Upper bound the source gives.
    pub kgco2e_max: f64,
    /// Duration the figure covers, hours.
    pub duration_hours: f64,
}

/// Embodied emissions per instance type.
#[async_trait]
pub trait EmbodiedSource: Send + Sync + fmt::Debug {
    /// The figure for an instance type, `Ok(None)` when the source does not know the type (an
    /// answer worth caching, not an error).
    async fn embodied(
        &self,
        provider: &str,
        instance_type: &str,
    ) -> Result<Option<EmbodiedFigure>, SourceError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_source_and_the_failure() {
        let err = SourceError::new(
            SourceKind::ElectricityMaps,
            SourceErrorKind::Unauthorized,
            "GET /v3/carbon-intensity/latest?zone=FR: HTTP 401",
        );
        assert_eq!(
            err.to_string(),
            "electricity-maps refused the credentials: GET /v3/carbon-intensity/latest?zone=FR: HTTP 401"
        );
        let note = SourceNote::from(&err);
        assert_eq!(note.source, SourceKind::ElectricityMaps);
        assert_eq!(note.kind, SourceErrorKind::Unauthorized);
        assert!(note.detail.ends_with("HTTP 401"));
        assert!(!SourceErrorKind::Unauthorized.is_transient());
        assert!(SourceErrorKind::Timeout.is_transient());
    }
}
