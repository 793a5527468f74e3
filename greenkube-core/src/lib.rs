#![doc = include_str!("../README.md")]
#![warn(clippy::disallowed_methods)]

pub mod aggregate;
#[cfg(feature = "clap")]
mod cli_values;
pub mod collect;
pub mod engine;
pub mod error;
mod fastmap;
pub mod footprint;
pub mod footprint_read;
pub mod inventory;
pub mod labels;
pub mod methodology;
pub mod ports;
pub mod ranged;
pub mod reason;
pub mod recommend;
pub mod reference;
pub mod replay;
pub mod score;
pub mod snapshot;
#[cfg(any(test, feature = "testsuite"))]
pub mod testsuite;
pub mod time_text;
pub mod units;
pub mod waste;
pub mod whatif;

pub use aggregate::{AggregateRow, Aggregator, GroupBy, GroupKey, Period, aggregate};
pub use engine::{estimate, estimate_json, estimate_with, zones_of};
pub use error::{ReferenceDataError, SnapshotError, UnknownNameError};
pub use footprint::{
    FOOTPRINT_SCHEMA, Footprint, MethodologyInfo, NodeContext, NodeFootprint, PodFootprint, Totals,
};
pub use footprint_read::{FootprintParseError, read_footprints};
pub use inventory::{HpaTarget, Inventory};
pub use labels::{Grouping, LabelSelector, PodLabels};
pub use methodology::{DefaultProfile, EstimateOptions, IdlePolicy, Methodology};
pub use ranged::Ranged;
pub use reason::{Reason, Reasons};
pub use reference::{Provider, ReferenceData};
pub use score::{Dimension, ScoreBuilder, ScoreConfig, SustainabilityScore, overall_score, score};
pub use snapshot::{CostEntry, EmbodiedEntry, Node, Pod, SNAPSHOT_SCHEMA, Snapshot};

/// Version of this crate.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
