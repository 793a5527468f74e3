//! `resource_efficiency` (weight 0.25): how much of what pods request they use.

use super::{Dimension, Mean, count, measured, no_data};
use crate::footprint::PodFootprint;

/// Per pod row with a request and a usage: the mean of `min(usage / request, 1)` over CPU and
/// memory, weighted by energy (by time when no row has energy).
#[derive(Debug, Default)]
pub(super) struct ResourceEfficiency {
    by_energy: Mean,
    by_time: Mean,
    rows: u64,
}

impl ResourceEfficiency {
    /// Adds a pod row of a window of `seconds` with this energy.
    pub(super) fn observe(&mut self, pod: &PodFootprint, seconds: f64, energy: f64) {
        let cpu = usage_ratio(
            pod.cpu_usage_cores.map(|c| c.0),
            pod.cpu_request_cores.map(|c| c.0),
        );
        let memory = usage_ratio(
            pod.memory_usage_bytes.map(|b| b.0),
            pod.memory_request_bytes.map(|b| b.0),
        );
        let ratio = match (cpu, memory) {
            (Some(cpu), Some(memory)) => Some(f64::midpoint(cpu, memory)),
            (Some(ratio), None) | (None, Some(ratio)) => Some(ratio),
            (None, None) => None,
        };
        if let Some(ratio) = ratio {
            self.rows += 1;
            self.by_time.add(ratio, seconds);
            if energy > 0.0 {
                self.by_energy.add(ratio, energy);
            }
        }
    }

    pub(super) fn dimension(&self) -> Dimension {
        let (mean, weighting) = match self.by_energy.mean() {
            Some(mean) => (Some(mean), "energy-weighted"),
            None => (self.by_time.mean(), "time-weighted"),
        };
        match mean {
            Some(mean) => measured(
                0,
                mean * 100.0,
                format!(
                    "{weighting} mean of usage/request (CPU and memory, each capped at 100%): \
                     {:.1}% over {} rows",
                    mean * 100.0,
                    count(self.rows)
                ),
            ),
            None => no_data(0, "no pod row has both a request and a usage"),
        }
    }
}

/// `min(usage / request, 1)` when both are known and the request is positive.
fn usage_ratio(usage: Option<f64>, request: Option<f64>) -> Option<f64> {
    match (usage, request) {
        (Some(used), Some(requested))
            if requested > 0.0 && requested.is_finite() && used.is_finite() && used >= 0.0 =>
        {
            Some((used / requested).min(1.0))
        }
        _ => None,
    }
}
