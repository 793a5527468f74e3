//! `carbon_efficiency` (weight 0.20): how clean the electricity pods ran on was.

use super::{Dimension, Mean, ScoreConfig, count, finite_or_zero, measured, no_data};
use crate::footprint::PodFootprint;

/// Over pod rows with energy: `grid intensity × PUE` (PUE below 1 counts as 1), energy-weighted.
#[derive(Debug, Default)]
pub(super) struct CarbonEfficiency {
    effective_intensity: Mean,
    rows: u64,
}

impl CarbonEfficiency {
    /// Adds a pod row with this energy (every pod counts: the dimension is physical).
    pub(super) fn observe(&mut self, pod: &PodFootprint, energy: f64) {
        if energy > 0.0 {
            let intensity = finite_or_zero(pod.node.grid_intensity.point).max(0.0);
            let pue = finite_or_zero(pod.node.pue.point).max(1.0);
            self.effective_intensity.add(intensity * pue, energy);
            self.rows += 1;
        }
    }

    /// `100 × (1 − mean / zero)`, at least 0.
    pub(super) fn dimension(&self, config: &ScoreConfig) -> Dimension {
        let zero = config.carbon_efficiency_zero_g_per_kwh;
        match self.effective_intensity.mean() {
            Some(mean) => measured(
                1,
                (100.0 * (1.0 - mean / zero)).clamp(0.0, 100.0),
                format!(
                    "energy-weighted grid intensity × PUE: {mean:.1} gCO2e/kWh over {} rows \
                     (100 at 0, 0 at {zero} or more)",
                    count(self.rows)
                ),
            ),
            None => no_data(1, "no pod row has energy"),
        }
    }
}
