//! What a what-if reports: figures summed over windows, baseline against projection.

use serde::Serialize;

use crate::footprint::{Footprint, PodFootprint};
use crate::ranged::Ranged;
use crate::units::Money;

/// Energy, emissions and cost summed over windows.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Figures {
    /// Energy, joules.
    pub energy_joules: Ranged,
    /// Operational emissions, grams.
    pub co2e_grams: Ranged,
    /// Embodied emissions, grams.
    pub embodied_co2e_grams: Ranged,
    /// Cost; `None` when a change's cost effect is not known.
    pub cost: Option<f64>,
}

impl Figures {
    /// Operational plus embodied.
    pub fn total_co2e_grams(&self) -> Ranged {
        self.co2e_grams + self.embodied_co2e_grams
    }

    /// Nothing yet, at a known cost of 0: where sums start.
    pub(crate) fn zero() -> Self {
        Self {
            cost: Some(0.0),
            ..Self::default()
        }
    }

    /// Adds other figures; their cost when both costs are known.
    pub(crate) fn add(&mut self, other: &Self) {
        self.energy_joules += other.energy_joules;
        self.co2e_grams += other.co2e_grams;
        self.embodied_co2e_grams += other.embodied_co2e_grams;
        if let (Some(cost), Some(other_cost)) = (&mut self.cost, other.cost) {
            *cost += other_cost;
        }
    }

    /// Adds a footprint's totals.
    pub(crate) fn add_footprint(&mut self, footprint: &Footprint) {
        self.energy_joules += footprint.totals.energy_joules;
        self.co2e_grams += footprint.totals.co2e_grams;
        self.embodied_co2e_grams += footprint.totals.embodied_co2e_grams;
        if let Some(cost) = &mut self.cost {
            *cost += footprint.totals.cost.0;
        }
    }

    /// Adds a pod's figures.
    pub(crate) fn add_pod(&mut self, pod: &PodFootprint) {
        self.add_pod_figures(
            pod.energy_joules,
            pod.co2e_grams,
            pod.embodied_co2e_grams,
            pod.cost,
        );
    }

    /// Adds one pod's energy, emissions, embodied emissions and cost.
    pub(crate) fn add_pod_figures(
        &mut self,
        energy_joules: Ranged,
        co2e_grams: Ranged,
        embodied_co2e_grams: Ranged,
        pod_cost: Option<Money>,
    ) {
        self.energy_joules += energy_joules;
        self.co2e_grams += co2e_grams;
        self.embodied_co2e_grams += embodied_co2e_grams;
        if let (Some(cost), Some(pod_cost)) = (&mut self.cost, pod_cost) {
            *cost += pod_cost.0;
        }
    }

    /// `self − other`, bound by bound (the same coefficients apply to both).
    pub fn minus(&self, other: &Self) -> Self {
        Self {
            energy_joules: difference(self.energy_joules, other.energy_joules),
            co2e_grams: difference(self.co2e_grams, other.co2e_grams),
            embodied_co2e_grams: difference(self.embodied_co2e_grams, other.embodied_co2e_grams),
            cost: self.cost.zip(other.cost).map(|(own, theirs)| own - theirs),
        }
    }

    /// Scales every figure.
    pub fn scale(&self, factor: f64) -> Self {
        Self {
            energy_joules: self.energy_joules.scale(factor),
            co2e_grams: self.co2e_grams.scale(factor),
            embodied_co2e_grams: self.embodied_co2e_grams.scale(factor),
            cost: self.cost.map(|c| c * factor),
        }
    }
}

/// `value − minus` scenario by scenario, ordered and widened to contain the point.
pub fn difference(value: Ranged, minus: Ranged) -> Ranged {
    let low_scenario = value.low - minus.low;
    let high_scenario = value.high - minus.high;
    Ranged::new(
        value.point - minus.point,
        low_scenario.min(high_scenario),
        low_scenario.max(high_scenario),
    )
}

impl Serialize for Figures {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Wire {
            energy_joules: f64,
            co2e_grams: f64,
            embodied_co2e_grams: f64,
            total_co2e_grams: f64,
            cost: Option<f64>,
            uncertainty: Intervals,
        }
        #[derive(Serialize)]
        struct Intervals {
            energy_joules: Ranged,
            co2e_grams: Ranged,
            embodied_co2e_grams: Ranged,
            total_co2e_grams: Ranged,
        }
        let total = self.total_co2e_grams();
        Wire {
            energy_joules: self.energy_joules.point,
            co2e_grams: self.co2e_grams.point,
            embodied_co2e_grams: self.embodied_co2e_grams.point,
            total_co2e_grams: total.point,
            cost: self.cost,
            uncertainty: Intervals {
                energy_joules: self.energy_joules,
                co2e_grams: self.co2e_grams,
                embodied_co2e_grams: self.embodied_co2e_grams,
                total_co2e_grams: total,
            },
        }
        .serialize(serializer)
    }
}

/// Baseline, projection and savings of one scope.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct Comparison {
    /// Without the changes (the history re-estimated).
    pub baseline: Figures,
    /// With the changes.
    pub projected: Figures,
    /// `baseline − projected`: what the changes save (negative: what they add).
    pub savings: Figures,
    /// Savings per (365-day) year at the history's rate.
    pub savings_per_year: Figures,
}

impl Comparison {
    pub(super) fn new(baseline: Figures, projected: Figures, annualise: f64) -> Self {
        let savings = baseline.minus(&projected);
        Self {
            baseline,
            projected,
            savings,
            savings_per_year: savings.scale(annualise),
        }
    }
}

/// The result of a what-if.
///
/// `cluster` is the whole cluster (physical: a request change moves a pod's idle share to the
/// node's overhead and saves nothing until freed capacity lets a node go); `targets` is the
/// footprint attributed to what the changes touch (the changed workloads' and namespaces' pods,
/// and every pod for node changes): what the methodology charges them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WhatIfReport {
    /// Windows in the history.
    pub windows: usize,
    /// Windows re-estimated (all, unless sampled).
    pub windows_evaluated: usize,
    /// Seconds the history covers (distinct windows).
    pub covered_seconds: f64,
    /// The whole cluster.
    pub cluster: Comparison,
    /// The pods the changes touch.
    pub targets: Comparison,
    /// Notes (for example, cost effects that are not modelled).
    pub notes: Vec<String>,
}
