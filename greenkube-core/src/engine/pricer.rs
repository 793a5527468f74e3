//! Pricing changes to a few pods of a window, node by node.
//!
//! The engine attributes each node's energy among that node's pods only, so changing some pods
//! changes the figures of their nodes and of no other. [`WindowPricer`] keeps what the engine
//! learns of every pod and node of a window (each pod's usage, each node's model) and re-runs
//! the engine's arithmetic for one node at a time, with some of its pods changed or removed:
//! nothing is cloned but the changed pods, and nothing is resolved again unless the node's
//! model depends on its pods' demand. Every figure is the one [`super::estimate_part`] gives
//! for the same pods on a part holding the node: the same operations in the same order.

use super::node_model::{Demand, NodeModel, Resolver};
use super::{
    NodeSums, PodInput, UNKNOWN_SLOT, WindowShared, embodied_share, idle_weight, node_factors,
    pod_figures, pod_input, usage_input,
};
use crate::fastmap::{FastMap, fast_map};
use crate::methodology::{EstimateOptions, IdlePolicy, Methodology};
use crate::ranged::Ranged;
use crate::reason::Reason;
use crate::reference::ReferenceData;
use crate::snapshot::{Pod, Snapshot, amount_ok};
use crate::units::Money;

/// One pod of a node as changed: its position in the window, the pod with the changes applied
/// (`None` when they remove it), and its cost with the changes applied.
pub(crate) struct ChangedPod {
    /// Position of the pod in the window.
    pub(crate) position: u32,
    /// The pod as changed, or `None` when the changes remove it.
    pub(crate) pod: Option<Pod>,
    /// The pod's cost as changed (`None`: the pod has no cost entry).
    pub(crate) cost: Option<Money>,
}

/// A changed pod's figures on its node with the changes applied.
pub(crate) struct PodFigures {
    /// Energy, joules.
    pub(crate) energy_joules: Ranged,
    /// Operational emissions, grams CO2e.
    pub(crate) co2e_grams: Ranged,
    /// Embodied emissions, grams CO2e.
    pub(crate) embodied_co2e_grams: Ranged,
    /// Cost, when the pod has a cost entry.
    pub(crate) cost: Option<Money>,
}

/// A window prepared for pricing changes to some of its pods, node by node.
pub(crate) struct WindowPricer<'a> {
    window: &'a Snapshot,
    resolver: Resolver<'a>,
    classic: bool,
    policy: IdlePolicy,
    seconds: f64,
    hours: f64,
    /// Each pod's usage, in window order; the slot is its node's position ([`UNKNOWN_SLOT`]
    /// when its node is not in the window).
    inputs: Vec<PodInput>,
    /// Each node's model at the demand its pods put on it.
    models: Vec<NodeModel>,
    /// Nodes whose model depends on their pods' demand (capacity implied by demand).
    sized_by_demand: Vec<bool>,
}

impl<'a> WindowPricer<'a> {
    /// Prepares `window`, whose estimate with `options` succeeded (it validates), with its
    /// shared inputs `shared`.
    pub(crate) fn new(
        window: &'a Snapshot,
        shared: &'a WindowShared<'a>,
        options: &'a EstimateOptions,
        reference: &'a ReferenceData,
    ) -> Self {
        let classic = options.methodology == Methodology::Classic;
        let mut slot_of: FastMap<&str, u32> = fast_map(window.nodes.len());
        for (slot, node) in window.nodes.iter().enumerate() {
            slot_of.insert(&node.name, slot as u32);
        }
        let inputs: Vec<PodInput> = window
            .pods
            .iter()
            .map(|pod| pod_input(classic, &slot_of, pod))
            .collect();
        let mut demand = vec![Demand::default(); window.nodes.len()];
        for input in inputs.iter().filter(|input| input.slot != UNKNOWN_SLOT) {
            let node = &mut demand[input.slot as usize];
            node.cpu_usage += input.cpu;
            node.cpu_reserved += input.cpu_reserved;
        }
        let resolver = Resolver::for_part(
            window,
            shared.grid_intensity,
            &shared.embodied,
            options,
            reference,
        );
        let models: Vec<NodeModel> = window
            .nodes
            .iter()
            .zip(&demand)
            .map(|(node, &demand)| resolver.resolve(Some(node), Some(&node.name), demand))
            .collect();
        let sized_by_demand = models
            .iter()
            .map(|model| {
                model
                    .context
                    .reasons
                    .iter()
                    .any(|reason| matches!(reason, Reason::CapacityFromDemand { .. }))
            })
            .collect();
        Self {
            window,
            resolver,
            classic,
            policy: options.idle_policy,
            seconds: window.duration().0,
            hours: window.duration().0 / 3600.0,
            inputs,
            models,
            sized_by_demand,
        }
    }

    /// True when a pod as changed, with its cost, would pass the snapshot's validation (the
    /// changes set requests and scale costs; an estimate of a window holding anything else
    /// fails).
    pub(crate) fn valid(pod: &Pod, cost: Option<Money>) -> bool {
        let amounts = [
            pod.cpu_request_cores.map(|c| c.0),
            pod.memory_request_bytes.map(|b| b.0),
            pod.cpu_usage_cores.map(|c| c.0),
            pod.memory_usage_bytes.map(|b| b.0),
            cost.map(|c| c.0),
        ];
        amounts.into_iter().flatten().all(amount_ok)
    }

    /// Prices node `node` (its position) with some of its pods changed: `pods` are the
    /// positions of the node's pods in window order, `changed` some of them, as changed, in the
    /// same order. Calls `each` with the figures of every changed pod that is not removed, in
    /// order.
    pub(crate) fn price_node(
        &self,
        node: u32,
        pods: &[u32],
        changed: &[ChangedPod],
        mut each: impl FnMut(PodFigures),
    ) {
        let classic = self.classic;
        // The node's pods in window order, each as it was or as changed (removed: left out),
        // with the index of its change.
        let node_pods = || {
            let mut next = 0;
            pods.iter().filter_map(move |&position| {
                if changed.get(next).is_some_and(|c| c.position == position) {
                    next += 1;
                    changed[next - 1]
                        .pod
                        .as_ref()
                        .map(|pod| (usage_input(classic, pod), Some(next - 1)))
                } else {
                    Some((self.inputs[position as usize], None))
                }
            })
        };
        let mut sums = NodeSums::default();
        for (input, _) in node_pods() {
            sums.pods += 1;
            sums.cpu += input.cpu;
            sums.cpu_reserved += input.cpu_reserved;
            sums.memory += input.memory;
        }
        let resized;
        let model = if self.sized_by_demand[node as usize] {
            let spec = &self.window.nodes[node as usize];
            let demand = Demand {
                cpu_usage: sums.cpu,
                cpu_reserved: sums.cpu_reserved,
            };
            resized = self.resolver.resolve(Some(spec), Some(&spec.name), demand);
            &resized
        } else {
            &self.models[node as usize]
        };
        for (input, _) in node_pods() {
            sums.idle_weight += idle_weight(self.policy, &input, model);
            sums.embodied_share += embodied_share(classic, &input, model);
        }
        // The node's reasons are not priced.
        let mut reasons: Vec<Reason> = Vec::new();
        let (factors, _) = node_factors(
            classic,
            self.policy,
            model,
            sums,
            self.seconds,
            self.hours,
            &mut reasons,
        );
        for (input, change) in node_pods() {
            let Some(change) = change else { continue };
            let (energy, co2e, embodied) =
                pod_figures(classic, self.policy, &input, model, &factors);
            each(PodFigures {
                energy_joules: energy,
                co2e_grams: co2e,
                embodied_co2e_grams: embodied,
                cost: changed[change].cost,
            });
        }
    }
}
