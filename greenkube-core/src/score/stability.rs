//! `stability` (weight 0.05): container restarts per pod-day.

use super::{Dimension, ScoreConfig, count, measured, no_data};
use crate::footprint::PodFootprint;

const SECONDS_PER_DAY: f64 = 86_400.0;

/// Restarts over the pod-seconds of the rows that report them.
#[derive(Debug, Default)]
pub(super) struct Stability {
    restarts: f64,
    seconds: f64,
    rows: u64,
}

impl Stability {
    /// Adds a pod row of a window of `seconds`.
    pub(super) fn observe(&mut self, pod: &PodFootprint, seconds: f64) {
        if let Some(restarts) = pod.restarts {
            self.restarts += restarts as f64;
            self.seconds += seconds;
            self.rows += 1;
        }
    }

    /// `max(0, 100 − points × restarts per pod-day)`.
    pub(super) fn dimension(&self, config: &ScoreConfig) -> Dimension {
        if self.seconds <= 0.0 {
            return no_data(6, "no pod row reports restarts");
        }
        let per_day = self.restarts / self.seconds * SECONDS_PER_DAY;
        measured(
            6,
            (100.0 - config.stability_points_per_daily_restart * per_day).clamp(0.0, 100.0),
            format!(
                "{per_day:.2} restarts per pod-day over {} rows",
                count(self.rows)
            ),
        )
    }
}
