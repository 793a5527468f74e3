//! Ports: the traits through which greenkube reaches storage (and, later, its data sources).
//!
//! The core defines what it needs; `greenkube-adapters` implements it for SQLite, PostgreSQL and
//! Elasticsearch, chosen at run time from a URL, and front ends hold the implementations as
//! `Arc<dyn ...>`. Every trait states its contract as "MUST" rules in its method docs, and the
//! contract test suite (`testsuite` feature) checks every rule against every implementation: a
//! backend that fails it is a bug.
//!
//! The ports are `async` (through `async-trait`, so they stay object-safe) but the core depends on
//! no runtime: the caller's executor drives them.
//!
//! * [`FootprintRepository`]: footprint rows, one per pod and window, written by window in
//!   all-or-nothing batches and aggregated in the database.
//! * [`RetentionPolicy`], [`ReadPlan`]: hourly and daily roll-ups and retention of footprint
//!   rows, and how a read combines raw rows and roll-ups (module `retention`).
//! * [`SnapshotArchive`], [`NodeHistory`], [`IntensityHistory`], [`RecommendationStore`],
//!   [`SavingsLedger`], [`EmbodiedCache`]: the other repositories (archived snapshots for
//!   replay, nodes as a history of changes, grid intensities, recommendations with their
//!   lifecycle, realised savings, embodied figures including "unknown instance").
//! * [`UsageSource`], [`InventorySource`], [`CostSource`], [`IntensitySource`],
//!   [`EmbodiedSource`]: the data sources a collector builds snapshots from (module `sources`),
//!   failing with a [`SourceError`] that names the source.
//! * [`StoreError`]: the one error type of every repository, with a [`StoreErrorKind`] callers
//!   branch on.

mod footprint_repository;
mod history;
mod pod_columns;
mod records;
mod retention;
mod sources;
mod store_error;
mod time_range;

pub use footprint_repository::{
    FootprintRepository, MAX_PAGE_SIZE, PodCursor, PodPage, PodRowPager, ReportQuery, WriteSummary,
    page_size,
};
pub use history::{
    EmbodiedCache, EmbodiedCacheEntry, IntensityHistory, IntensityPoint, LedgerEntry, LedgerTotal,
    NodeHistory, NodeVersion, PackedSnapshot, RecommendationStore, SavingsLedger, SnapshotArchive,
};
pub use pod_columns::{NameColumn, PodColumnPage, PodColumns, REASON_SEPARATOR, RangedColumn};
pub use records::{NodeRecord, PodRecord, RecordError, WindowRecords};
pub use retention::{
    HourlyDetailGone, MaintenanceSummary, ReadPlan, ReadSource, RetentionError, RetentionPolicy,
    RetentionState, ceil_time, floor_time,
};
pub use sources::{
    ClusterInventory, CostSource, EmbodiedFigure, EmbodiedSource, IntensitySource, InventorySource,
    PodSpec, PodUsage, SourceError, SourceErrorKind, SourceKind, SourceNote, UsageSource,
    WindowUsage,
};
pub use store_error::{Refusal, StoreError, StoreErrorKind};
pub use time_range::{TimeRange, TimeRangeError};
