//! The repositories besides footprints: the snapshot archive, node history, grid-intensity
//! history, recommendations with their lifecycle, the savings ledger and the embodied-figure
//! cache. Each trait states its contract as MUST rules; the contract suite (`testsuite`
//! feature, `history_contract_suite!`) checks them against every implementation.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::{StoreError, TimeRange};
use crate::recommend::{RecommendationRecord, RecommendationType};
use crate::snapshot::{Node, Snapshot};

/// Archived snapshots, so any stored window can be replayed and restated exactly.
#[async_trait]
pub trait SnapshotArchive: Send + Sync + fmt::Debug {
    /// Short name of the backend (`sqlite`, `postgres`, `elasticsearch`, `memory`).
    fn backend(&self) -> &'static str;

    /// Stores a snapshot. It MUST be returned equal by [`SnapshotArchive::snapshot`]; archiving
    /// the same (cluster, window start) again MUST replace the earlier one. The default packs
    /// it ([`SnapshotArchive::pack`]) and stores it alone ([`SnapshotArchive::archive_packed`]).
    async fn archive(&self, snapshot: &Snapshot) -> Result<(), StoreError> {
        let packed = self.pack(snapshot)?;
        self.archive_packed(std::slice::from_ref(&packed)).await
    }

    /// Encodes a snapshot as this archive stores it (for a database, its JSON compressed):
    /// CPU work only, no I/O, so a caller can run it while something else waits on the
    /// store, e.g. a collector packing a batch's snapshots while the batch's footprints are
    /// written. The result MUST only be given to this archive's
    /// [`SnapshotArchive::archive_packed`].
    fn pack(&self, snapshot: &Snapshot) -> Result<PackedSnapshot, StoreError>;

    /// Stores packed snapshots, as [`SnapshotArchive::archive`] would store each, in order (a
    /// later one of the same window replacing an earlier one). A database SHOULD write them in
    /// one transaction: all or none.
    async fn archive_packed(&self, packed: &[PackedSnapshot]) -> Result<(), StoreError>;

    /// The snapshot of a cluster's window, if archived. The default reads it packed
    /// ([`SnapshotArchive::packed`]) and unpacks it ([`SnapshotArchive::unpack`]).
    async fn snapshot(
        &self,
        cluster: Option<&str>,
        window_start: DateTime<Utc>,
    ) -> Result<Option<Snapshot>, StoreError> {
        match self.packed(cluster, window_start).await? {
            Some(packed) => self.unpack(&packed).map(Some),
            None => Ok(None),
        }
    }

    /// The snapshot of a cluster's window as stored, if archived, for
    /// [`SnapshotArchive::unpack`]: a reader can unpack one window (CPU only) while the next
    /// is read.
    async fn packed(
        &self,
        cluster: Option<&str>,
        window_start: DateTime<Utc>,
    ) -> Result<Option<PackedSnapshot>, StoreError>;

    /// Decodes a snapshot this archive packed: CPU only, no I/O. It MUST give back the
    /// snapshot that was packed; damaged bytes are an `InvalidData` error.
    fn unpack(&self, packed: &PackedSnapshot) -> Result<Snapshot, StoreError>;

    /// The archived windows whose start is in `range`, ordered by start then cluster.
    async fn archived_windows(
        &self,
        range: TimeRange,
    ) -> Result<Vec<(Option<Arc<str>>, DateTime<Utc>)>, StoreError>;
}

/// A snapshot encoded by [`SnapshotArchive::pack`], ready to be stored by the same archive.
#[derive(Clone, PartialEq, Eq)]
pub struct PackedSnapshot {
    /// The snapshot's cluster.
    pub cluster: Option<Arc<str>>,
    /// The snapshot's window start.
    pub window_start: DateTime<Utc>,
    /// The encoded snapshot; what the bytes are is the archive's business.
    pub body: Vec<u8>,
}

impl fmt::Debug for PackedSnapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PackedSnapshot")
            .field("cluster", &self.cluster)
            .field("window_start", &self.window_start)
            .field("body_bytes", &self.body.len())
            .finish()
    }
}

/// One version of a node's description, valid from `valid_from` until `valid_to` (open when
/// `None`: the current version).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeVersion {
    /// The node as described in that period.
    pub node: Node,
    /// Start of validity.
    pub valid_from: DateTime<Utc>,
    /// End of validity (exclusive); `None` while current.
    pub valid_to: Option<DateTime<Utc>>,
}

/// Nodes as a history of changes (slowly changing dimension, type 2).
#[async_trait]
pub trait NodeHistory: Send + Sync + fmt::Debug {
    /// Short name of the backend.
    fn backend(&self) -> &'static str;

    /// Records the nodes of a cluster seen at `at`. A node whose description differs from its
    /// current version MUST get a new version from `at` (the old one closed at `at`); a node no
    /// longer present MUST have its current version closed at `at`; an unchanged node MUST be left
    /// alone, so recording the same nodes twice changes nothing. Observations older than the
    /// latest recorded one for the cluster MUST be refused with
    /// [`StoreError::older_observation`] (`InvalidData` marked
    /// [`Refusal::OlderObservation`](super::Refusal::OlderObservation), so a collector
    /// backfilling behind newer windows can tell it from any other failure); no other failure
    /// may carry that mark.
    async fn record_nodes(
        &self,
        cluster: Option<&str>,
        at: DateTime<Utc>,
        nodes: &[Node],
    ) -> Result<(), StoreError>;

    /// The nodes of a cluster as they were at `time`, ordered by name.
    async fn nodes_at(
        &self,
        cluster: Option<&str>,
        time: DateTime<Utc>,
    ) -> Result<Vec<Node>, StoreError>;

    /// Every version of one node, oldest first.
    async fn node_versions(
        &self,
        cluster: Option<&str>,
        name: &str,
    ) -> Result<Vec<NodeVersion>, StoreError>;
}

/// A grid intensity measured (or forecast) for a zone at a time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IntensityPoint {
    /// Electricity zone.
    pub zone: String,
    /// Time the value applies from.
    pub at: DateTime<Utc>,
    /// gCO2e per kWh.
    pub gco2e_per_kwh: f64,
    /// Where it came from (`electricity-maps`, `electricity-maps-forecast`, ...).
    pub source: String,
}

impl IntensityPoint {
    /// Checks a batch: every value finite and not negative. The message names the first bad point.
    pub fn check_all(points: &[Self]) -> Result<(), String> {
        match points
            .iter()
            .find(|p| !(p.gco2e_per_kwh.is_finite() && p.gco2e_per_kwh >= 0.0))
        {
            Some(bad) => Err(format!(
                "intensity {} for zone {} at {} is not a finite, non-negative number",
                bad.gco2e_per_kwh, bad.zone, bad.at
            )),
            None => Ok(()),
        }
    }
}

/// Grid-intensity history.
#[async_trait]
pub trait IntensityHistory: Send + Sync + fmt::Debug {
    /// Short name of the backend.
    fn backend(&self) -> &'static str;

    /// Stores points keyed by (zone, at): a point for an existing key MUST replace it. Values
    /// that are NaN, infinite or negative MUST be refused (`InvalidData`) and nothing stored.
    async fn put_intensities(&self, points: &[IntensityPoint]) -> Result<(), StoreError>;

    /// The latest point of `zone` at or before `time`, and no older than `max_age` (unlike
    /// GreenKube, a months-old value is not used for today).
    async fn intensity_at(
        &self,
        zone: &str,
        time: DateTime<Utc>,
        max_age: Duration,
    ) -> Result<Option<IntensityPoint>, StoreError>;

    /// The points of `zone` with `at` in `range`, oldest first.
    async fn intensities(
        &self,
        zone: &str,
        range: TimeRange,
    ) -> Result<Vec<IntensityPoint>, StoreError>;
}

/// Recommendations with their lifecycle.
#[async_trait]
pub trait RecommendationStore: Send + Sync + fmt::Debug {
    /// Short name of the backend.
    fn backend(&self) -> &'static str;

    /// Every stored record, ordered by recommendation id.
    async fn records(&self) -> Result<Vec<RecommendationRecord>, StoreError>;

    /// Replaces every stored record with `records` in one transaction (after a scan was
    /// reconciled with [`crate::recommend::reconcile`]). Two records with the same id MUST be
    /// refused (`InvalidData`), leaving the store as it was.
    async fn replace_records(&self, records: &[RecommendationRecord]) -> Result<(), StoreError>;

    /// Stores one record (apply, ignore, unignore), keyed by its recommendation id. An unknown id
    /// MUST be refused (`InvalidData`).
    async fn update_record(&self, record: &RecommendationRecord) -> Result<(), StoreError>;
}

/// Realised savings accrued by one applied recommendation over one period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LedgerEntry {
    /// The recommendation.
    pub recommendation_id: String,
    /// Its kind.
    pub kind: RecommendationType,
    /// Its namespace, if any.
    pub namespace: Option<String>,
    /// Start of the period.
    pub period_start: DateTime<Utc>,
    /// End of the period.
    pub period_end: DateTime<Utc>,
    /// CO2e saved in the period, grams.
    pub co2e_grams: f64,
    /// Money saved in the period; `None` when unknown.
    pub cost: Option<f64>,
}

/// Savings accrued, summed for one recommendation kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LedgerTotal {
    /// Kind.
    pub kind: RecommendationType,
    /// CO2e saved, grams.
    pub co2e_grams: f64,
    /// Money saved (entries with unknown cost count as nothing and are counted apart).
    pub cost: f64,
    /// Entries with unknown cost.
    pub entries_without_cost: usize,
}

/// The savings ledger: what applied recommendations have saved, period by period.
#[async_trait]
pub trait SavingsLedger: Send + Sync + fmt::Debug {
    /// Short name of the backend.
    fn backend(&self) -> &'static str;

    /// Stores entries keyed by (recommendation id, period start): an existing key MUST be
    /// replaced, so recording a period twice never counts it twice.
    async fn record_savings(&self, entries: &[LedgerEntry]) -> Result<(), StoreError>;

    /// Sums by kind of the entries whose period starts in `range`, ordered by kind.
    async fn savings_by_kind(&self, range: TimeRange) -> Result<Vec<LedgerTotal>, StoreError>;
}

/// What an embodied-figure source said about an instance type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EmbodiedCacheEntry {
    /// Provider (lower case).
    pub provider: String,
    /// Instance type.
    pub instance_type: String,
    /// kg CO2e over the lifespan; `None` when the source does not know the type (cached too, so
    /// the source is not asked again every window).
    pub kgco2e: Option<f64>,
    /// Lifespan the figure is for, hours.
    pub lifespan_hours: Option<f64>,
    /// When the source answered.
    pub fetched_at: DateTime<Utc>,
}

/// Cache of embodied figures (Boavizta answers), including "unknown instance".
#[async_trait]
pub trait EmbodiedCache: Send + Sync + fmt::Debug {
    /// Short name of the backend.
    fn backend(&self) -> &'static str;

    /// The cached answer for a provider and instance type (matched case-insensitively).
    async fn cached_embodied(
        &self,
        provider: &str,
        instance_type: &str,
    ) -> Result<Option<EmbodiedCacheEntry>, StoreError>;

    /// Stores an answer; an existing (provider, instance type) MUST be replaced.
    async fn cache_embodied(&self, entry: &EmbodiedCacheEntry) -> Result<(), StoreError>;
}
