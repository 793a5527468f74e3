//! Costs: what each pod that ran in a range cost, `max(request, usage)` × its node's provider
//! price ([`super::provider_price`]), integrated over 5-minute sub-windows.

use std::collections::BTreeMap;
use std::sync::Arc;

use greenkube_core::CostEntry;
use greenkube_core::ports::TimeRange;
use greenkube_core::units::Money;

use super::random::{Rng, hash2};
use super::{Entry, GIB, HOUR_MS, Scratch, SyntheticCluster};

/// Sub-window of [`SyntheticCluster::costs_in`] (costs follow usage, which changes by window).
const COST_STEP_MS: i64 = 300_000;

impl SyntheticCluster {
    /// The cost of every pod that ran in `range`, sorted by namespace then pod: `max(request,
    /// usage)` × the node's provider price ([`super::provider_price`]), integrated over 5-minute
    /// sub-windows (coarser for ranges over about a month). In a sized cluster with untidy data,
    /// about 5 % of the pods have no cost, and the entries come in a shuffled order (different
    /// in every range), as a cost source may give them.
    pub fn costs_in(&self, range: TimeRange) -> Vec<CostEntry> {
        let (from, to) = (
            range.from().timestamp_millis(),
            range.to().timestamp_millis(),
        );
        let span = to.saturating_sub(from);
        if span <= 0 {
            return Vec::new();
        }
        let step = COST_STEP_MS.max(span / 10_000 + 1);
        let mut scratch = Scratch::default();
        let mut out = if step >= span {
            // One sub-window: its entries are sorted by namespace then pod, once each.
            self.fill(from, to, &mut scratch);
            let hours = span as f64 / HOUR_MS as f64;
            scratch
                .entries
                .iter()
                .filter_map(|e| {
                    Some(CostEntry {
                        namespace: e.namespace.clone(),
                        pod: e.pod.clone(),
                        cost: Money(self.cost_of(e, hours)?),
                    })
                })
                .collect()
        } else {
            let mut totals: BTreeMap<(Arc<str>, Arc<str>), f64> = BTreeMap::new();
            let mut t = from;
            while t < to {
                let end = t.saturating_add(step).min(to);
                self.fill(t, end, &mut scratch);
                let hours = (end - t) as f64 / HOUR_MS as f64;
                for e in &scratch.entries {
                    let Some(cost) = self.cost_of(e, hours) else {
                        continue;
                    };
                    *totals
                        .entry((e.namespace.clone(), e.pod.clone()))
                        .or_insert(0.0) += cost;
                }
                t = end;
            }
            totals
                .into_iter()
                .map(|((namespace, pod), cost)| CostEntry {
                    namespace,
                    pod,
                    cost: Money(cost),
                })
                .collect::<Vec<_>>()
        };
        if self.mess.shuffled_costs {
            Rng(hash2(self.seed, from as u64)).shuffle(&mut out);
        }
        out
    }

    /// What a pod cost over `hours` of a sub-window; `None` when the cost source does not know
    /// it or it is on no node.
    fn cost_of(&self, e: &Entry, hours: f64) -> Option<f64> {
        let node = self.node_info.get(e.node).filter(|_| e.has_cost)?;
        Some(
            (e.cpu.max(e.cpu_request) * node.price.per_core_hour
                + e.memory.max(e.memory_request) / GIB * node.price.per_gib_hour)
                * hours,
        )
    }
}
