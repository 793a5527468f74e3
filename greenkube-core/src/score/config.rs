//! The score's thresholds.

use serde::{Deserialize, Serialize};

use crate::waste::{IdleRule, OffPeakRule, default_system_namespaces};

/// Thresholds of the score. Every field has a default; a JSON object may give any subset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScoreConfig {
    /// Count system namespaces in the workload dimensions (default `false`).
    pub include_system_namespaces: bool,
    /// The system namespaces (default [`crate::waste::SYSTEM_NAMESPACES`]).
    pub system_namespaces: Vec<String>,
    /// Zombie workload (the rule: [`IdleRule`]): mean CPU, summed over its pods, below this
    /// many cores (default [`IdleRule::ZOMBIE`]'s 0.001)...
    pub zombie_max_cpu_cores: f64,
    /// ... and peak CPU below this many cores (default 0.005) ...
    pub zombie_max_peak_cpu_cores: f64,
    /// ... while costing more than this per day (default 0.01, in the cost source's currency)...
    pub zombie_min_cost_per_day: f64,
    /// ... or, with no cost data, reserving at least this many cores (default 0.01).
    pub zombie_min_reserved_cpu_cores: f64,
    /// Idle namespace (the same rule over all its pods): mean CPU below this many cores (default
    /// [`IdleRule::IDLE_NAMESPACE`]'s 0.005)...
    pub idle_namespace_max_cpu_cores: f64,
    /// ... and peak CPU below this many cores (default 0.025) ...
    pub idle_namespace_max_peak_cpu_cores: f64,
    /// ... while costing more than this per day (default 0.01) ...
    pub idle_namespace_min_cost_per_day: f64,
    /// ... or, with no cost data, reserving at least this many cores (default 0.01).
    pub idle_namespace_min_reserved_cpu_cores: f64,
    /// Effective intensity (gCO2e/kWh × PUE) at which carbon efficiency reaches 0 (default 800).
    pub carbon_efficiency_zero_g_per_kwh: f64,
    /// Node CPU utilisation that earns full marks (default 0.7).
    pub node_target_utilisation: f64,
    /// Coefficient of variation of hourly CPU above which a workload may need autoscaling
    /// (default 0.7).
    pub autoscaling_cv: f64,
    /// ... and ratio of the peak hour to the mean above which it does (default 3).
    pub autoscaling_spike_ratio: f64,
    /// Hourly CPU points a workload needs to be judged on scaling (default 3).
    pub scaling_min_points: u32,
    /// An hour of the day is idle when its mean CPU is below this fraction of the busiest hour's
    /// (default 0.05).
    pub off_peak_idle_fraction: f64,
    /// Consecutive idle hours of the day (wrapping midnight, UTC) that make an off-peak candidate
    /// (default 4).
    pub off_peak_min_idle_hours: u32,
    /// Hourly CPU points a workload needs for the off-peak rule (default 6).
    pub off_peak_min_points: u32,
    /// A workload whose mean grid intensity exceeds this multiple of its zone's mean runs at
    /// dirty times (default 1.5).
    pub carbon_aware_ratio: f64,
    /// Points of stability lost per restart per pod-day (default 10: three restarts a day
    /// score 70, ten or more score 0).
    pub stability_points_per_daily_restart: f64,
}

impl Default for ScoreConfig {
    fn default() -> Self {
        Self {
            include_system_namespaces: false,
            system_namespaces: default_system_namespaces(),
            zombie_max_cpu_cores: IdleRule::ZOMBIE.max_mean_cpu_cores,
            zombie_max_peak_cpu_cores: IdleRule::ZOMBIE.max_peak_cpu_cores,
            zombie_min_cost_per_day: IdleRule::ZOMBIE.min_cost_per_day,
            zombie_min_reserved_cpu_cores: IdleRule::ZOMBIE.min_reserved_cpu_cores,
            idle_namespace_max_cpu_cores: IdleRule::IDLE_NAMESPACE.max_mean_cpu_cores,
            idle_namespace_max_peak_cpu_cores: IdleRule::IDLE_NAMESPACE.max_peak_cpu_cores,
            idle_namespace_min_cost_per_day: IdleRule::IDLE_NAMESPACE.min_cost_per_day,
            idle_namespace_min_reserved_cpu_cores: IdleRule::IDLE_NAMESPACE.min_reserved_cpu_cores,
            carbon_efficiency_zero_g_per_kwh: 800.0,
            node_target_utilisation: 0.7,
            autoscaling_cv: 0.7,
            autoscaling_spike_ratio: 3.0,
            scaling_min_points: 3,
            off_peak_idle_fraction: OffPeakRule::DEFAULT.idle_fraction,
            off_peak_min_idle_hours: OffPeakRule::DEFAULT.min_idle_hours,
            off_peak_min_points: OffPeakRule::DEFAULT.min_points,
            carbon_aware_ratio: 1.5,
            stability_points_per_daily_restart: 10.0,
        }
    }
}

crate::waste::waste_rules!(ScoreConfig);

impl ScoreConfig {
    /// The off-peak rule with these thresholds.
    pub fn off_peak_rule(&self) -> OffPeakRule {
        OffPeakRule {
            idle_fraction: self.off_peak_idle_fraction,
            min_idle_hours: self.off_peak_min_idle_hours,
            min_points: self.off_peak_min_points,
        }
    }
}
