//! `node_efficiency` (weight 0.15): how busy the nodes were against their capacity.

use std::sync::Arc;

use super::{Dimension, Mean, ScoreConfig, count, measured, no_data, plural};
use crate::fastmap::FastMap;
use crate::footprint::NodeFootprint;
use crate::inventory::Inventory;

/// Per node: the time-weighted mean of its pods' CPU over its capacity, each window capped at
/// 100 %.
#[derive(Debug)]
pub(super) struct NodeEfficiency {
    /// Capacities the inventory gives, cores.
    capacities: FastMap<Arc<str>, f64>,
    /// Utilisation of each node, weighted by time.
    utilisation: FastMap<Arc<str>, Mean>,
}

impl NodeEfficiency {
    /// With the inventory's node capacities, if any.
    pub(super) fn new(inventory: Option<&Inventory>) -> Self {
        let capacities = inventory
            .iter()
            .flat_map(|inventory| &inventory.nodes)
            .filter_map(|node| {
                node.cpu_capacity_cores
                    .map(|cores| cores.0)
                    .filter(|cores| *cores > 0.0 && cores.is_finite())
                    .map(|cores| (node.name.clone(), cores))
            })
            .collect();
        Self {
            capacities,
            utilisation: FastMap::default(),
        }
    }

    /// Adds a node row of a window of `seconds`. Capacity is the inventory's, else the
    /// snapshot's, else the vCPUs the power model used (not for nodes synthesised for orphan
    /// pods).
    pub(super) fn observe(&mut self, row: &NodeFootprint, seconds: f64) {
        let context = &row.node;
        let Some(name) = &context.name else { return };
        let capacity = self
            .capacities
            .get(name)
            .copied()
            .or_else(|| context.cpu_capacity_cores.map(|c| c.0))
            .filter(|c| *c > 0.0 && c.is_finite())
            .or_else(|| (!context.synthetic && row.vcpus > 0.0).then_some(row.vcpus));
        let Some(capacity) = capacity else { return };
        let used = row.cpu_usage_cores.0;
        if !used.is_finite() {
            return;
        }
        self.utilisation
            .entry(name.clone())
            .or_default()
            .add((used / capacity).clamp(0.0, 1.0), seconds);
    }

    /// `min(utilisation / target, 1) × 100`, mean over nodes weighted by the time each was
    /// observed.
    pub(super) fn dimension(&self, config: &ScoreConfig) -> Dimension {
        let target = config.node_target_utilisation;
        // By name, so the sums do not depend on the map's order.
        let mut nodes: Vec<(&Arc<str>, &Mean)> = self.utilisation.iter().collect();
        nodes.sort_unstable_by(|x, y| x.0.cmp(y.0));
        let mut score = Mean::default();
        let mut utilisation = Mean::default();
        for (_, node) in nodes {
            if let Some(mean) = node.mean() {
                score.add((mean / target).min(1.0) * 100.0, node.weight);
                utilisation.add(mean, node.weight);
            }
        }
        let missing = self
            .capacities
            .keys()
            .filter(|name| !self.utilisation.contains_key(*name))
            .count() as u64;
        let note = if missing > 0 {
            format!(
                "; {} inventory node{} not in the history, not scored",
                count(missing),
                if missing == 1 { " is" } else { "s are" }
            )
        } else {
            String::new()
        };
        let observed = self.utilisation.len() as u64;
        match (score.mean(), utilisation.mean()) {
            (Some(score), Some(utilisation)) => measured(
                3,
                score,
                format!(
                    "mean CPU utilisation {:.1}% of capacity over {} node{} (full marks at \
                     {:.0}%){note}",
                    utilisation * 100.0,
                    count(observed),
                    plural(observed),
                    target * 100.0
                ),
            ),
            _ => no_data(3, &format!("no node row with a known CPU capacity{note}")),
        }
    }
}
