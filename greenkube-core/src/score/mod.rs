//! Sustainability score: 0 to 100 over seven weighted dimensions, from a history of footprints.
//!
//! The dimensions and weights are GreenKube's (reference section 5.8). Each dimension scores 0 to
//! 100, rounded to 0.1; the overall score is `Σ weight × dimension score`, rounded to 0.1 and
//! clamped to 0–100. A dimension scores the neutral 50 **only** when the history has no data for
//! it, and then says so (`has_data = false` and a detail starting with "no data").
//!
//! | Dimension | Weight | Measure |
//! |---|---|---|
//! | `resource_efficiency` | 0.25 | Per pod row with a request and a usage: the mean of `min(usage / request, 1)` over CPU and memory (those available), weighted by the row's energy (by its duration when no row has energy); × 100. |
//! | `carbon_efficiency` | 0.20 | Over pod rows with energy: `grid intensity × PUE` (PUE below 1 counts as 1), energy-weighted; `100 × (1 − mean / 800)`, at least 0. |
//! | `waste_elimination` | 0.15 | `((1 − zombie workloads / workloads) × 0.7 + (1 − idle namespaces / namespaces) × 0.3) × 100`, over workloads and namespaces with CPU usage ([`crate::waste`] says which are zombies and idle). |
//! | `node_efficiency` | 0.15 | Per node: the time-weighted mean of pod CPU / capacity per window (each window capped at 100 %); `min(util / 0.7, 1) × 100`; mean over nodes weighted by the time each was observed. |
//! | `scaling_practices` | 0.10 | Over workloads with at least 3 hourly CPU points and a CPU request: `(1 − (autoscaling candidates / n × 0.6 + off-peak candidates / n × 0.4)) × 100`. |
//! | `carbon_aware_scheduling` | 0.10 | `(1 − workloads whose mean grid intensity exceeds 1.5 × their zone's mean / workloads with a zone) × 100`. |
//! | `stability` | 0.05 | `max(0, 100 − 10 × restarts per pod-day)`. |
//!
//! What differs from the original, and why:
//!
//! * **Rates, not window totals** (reference section 13 item 19). Zombie workloads and idle
//!   namespaces are those of [`crate::waste`], the recommender's own rule: a low mean CPU and a
//!   low peak while costing more than a threshold per day (or, with no cost data, while reserving
//!   CPU). Restarts are counted per pod-day.
//!   Every mean is weighted by time or energy, both proportional to window length, so the same
//!   load observed as twelve 5-minute windows or one 1-hour window scores the same.
//! * **Targets are workloads** (owner kind and name, a ReplicaSet folded into its Deployment, see
//!   [`crate::aggregate::workload_key`]), so a rollout that renames pods does not change the
//!   counts. A workload's CPU is the sum over its pods.
//! * **Scaling points are hourly**: a workload's CPU is averaged per UTC hour (the original
//!   reads hourly rollups beyond 24 hours). Coefficient of variation, spike ratio (max / mean)
//!   and the off-peak hour-of-day profile are computed over those points, so they do not depend
//!   on the sampling window either. Windows longer than one hour contribute no point (they
//!   cannot show hourly variation). Workloads an HPA governs (matched on namespace, kind, name)
//!   are never autoscaling candidates; they still count among the workloads, as a good practice.
//! * **Node efficiency is measured** from the footprints' node rows (the original's only caller
//!   passed no node information, leaving it at 50). Capacity is the inventory node's
//!   `cpu_capacity_cores` when the inventory has the node, else the snapshot's, else the vCPUs
//!   the power model used (not for nodes synthesised for orphan pods).
//! * **Carbon-aware scheduling** compares each workload's energy-weighted mean intensity with
//!   the time-weighted mean intensity of its zone (from node rows): a workload that runs evenly
//!   scores a ratio of 1 whatever the zone's daily cycle.
//! * **System namespaces** ([`ScoreConfig::system_namespaces`]) are left out of the workload
//!   dimensions (resource efficiency, waste, scaling, carbon-aware scheduling, stability), from
//!   both numerator and denominator, unless [`ScoreConfig::include_system_namespaces`]. Carbon
//!   and node efficiency are physical and count every pod.
//!
//! The state kept per workload is a few sums, the open hour and 24 hour-of-day buckets, so a
//! history of millions of rows is scored in one pass without holding it: feed windows one at a
//! time to a [`ScoreBuilder`]. Windows should come in time order (as `greenkube estimate` writes
//! them); an hour split across out-of-order windows makes two hourly points.
//!
//! Layout: `config` (the thresholds), `builder` (the streaming pass and the state per workload
//! and namespace), and one file per dimension with its accumulator and its formula.

mod builder;
mod carbon_aware_scheduling;
mod carbon_efficiency;
mod config;
mod node_efficiency;
mod resource_efficiency;
mod scaling_practices;
mod stability;
mod waste_elimination;

use serde::Serialize;

pub use self::builder::ScoreBuilder;
pub use self::config::ScoreConfig;
use crate::footprint::Footprint;
use crate::inventory::Inventory;
pub use crate::waste::SYSTEM_NAMESPACES;

/// The seven dimensions, in order, with their weights (they sum to 1).
pub const DIMENSIONS: [(&str, f64); 7] = [
    ("resource_efficiency", 0.25),
    ("carbon_efficiency", 0.20),
    ("waste_elimination", 0.15),
    ("node_efficiency", 0.15),
    ("scaling_practices", 0.10),
    ("carbon_aware_scheduling", 0.10),
    ("stability", 0.05),
];

/// The score a dimension takes when the history has no data for it.
pub const NO_DATA_SCORE: f64 = 50.0;

/// One dimension of the score.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Dimension {
    /// Name (see [`DIMENSIONS`]).
    pub name: &'static str,
    /// Weight in the overall score.
    pub weight: f64,
    /// Score, 0 to 100, rounded to 0.1; [`NO_DATA_SCORE`] when `has_data` is false.
    pub score: f64,
    /// True when the history had data for this dimension.
    pub has_data: bool,
    /// What was measured, in words.
    pub detail: String,
}

/// The sustainability score of a history.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SustainabilityScore {
    /// Overall score, 0 to 100, rounded to 0.1.
    pub score: f64,
    /// The seven dimensions, in the order of [`DIMENSIONS`].
    pub dimensions: Vec<Dimension>,
    /// Distinct pods (namespace and name) seen.
    pub pods: u64,
    /// Pod rows seen.
    pub rows: u64,
    /// Windows (footprints) seen; one that ends before it starts is counted but not scored.
    pub windows: u64,
}

impl SustainabilityScore {
    /// The dimension of that name.
    pub fn dimension(&self, name: &str) -> Option<&Dimension> {
        self.dimensions.iter().find(|d| d.name == name)
    }
}

/// The overall score from the seven dimension scores, in the order of [`DIMENSIONS`]:
/// `Σ weight × score`, rounded to 0.1, clamped to 0–100.
pub fn overall_score(scores: [f64; 7]) -> f64 {
    let sum: f64 = DIMENSIONS
        .iter()
        .zip(scores)
        .map(|((_, weight), score)| weight * score)
        .sum();
    round1(sum).clamp(0.0, 100.0)
}

/// Scores a whole history at once (see [`ScoreBuilder`] to stream it).
pub fn score(
    history: &[Footprint],
    inventory: Option<&Inventory>,
    config: &ScoreConfig,
) -> SustainabilityScore {
    let mut builder = ScoreBuilder::new(config, inventory);
    for footprint in history {
        builder.observe(footprint);
    }
    builder.finish()
}

/// The dimension at `index` of [`DIMENSIONS`], measured: this score (clamped to 0–100, rounded to 0.1;
/// 0 when not finite) and detail.
fn measured(index: usize, score: f64, detail: String) -> Dimension {
    let (name, weight) = DIMENSIONS[index];
    Dimension {
        name,
        weight,
        score: round1(if score.is_finite() { score } else { 0.0 }.clamp(0.0, 100.0)),
        has_data: true,
        detail,
    }
}

/// The dimension at `index` of [`DIMENSIONS`] without data: neutral, saying why.
fn no_data(index: usize, why: &str) -> Dimension {
    let (name, weight) = DIMENSIONS[index];
    Dimension {
        name,
        weight,
        score: NO_DATA_SCORE,
        has_data: false,
        detail: format!("no data: {why}; neutral {NO_DATA_SCORE}"),
    }
}

fn round1(value: f64) -> f64 {
    (value * 10.0).round() / 10.0
}

fn finite_or_zero(value: f64) -> f64 {
    if value.is_finite() { value } else { 0.0 }
}

/// An integer with thousands separators: `1,234`.
fn count(number: u64) -> String {
    let digits = number.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (position, digit) in digits.chars().enumerate() {
        if position > 0 && (digits.len() - position).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// "s" unless there is one.
fn plural(number: u64) -> &'static str {
    if number == 1 { "" } else { "s" }
}

/// A weighted mean in the making.
#[derive(Debug, Clone, Copy, Default)]
struct Mean {
    sum: f64,
    weight: f64,
}

impl Mean {
    #[inline]
    fn add(&mut self, value: f64, weight: f64) {
        if value.is_finite() && weight.is_finite() && weight > 0.0 {
            self.sum += value * weight;
            self.weight += weight;
        }
    }

    fn mean(&self) -> Option<f64> {
        (self.weight > 0.0).then(|| self.sum / self.weight)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_have_separators() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(1234), "1,234");
        assert_eq!(count(1_234_567), "1,234,567");
    }
}
