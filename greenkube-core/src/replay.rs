//! Rebuilding the snapshot a footprint was computed from, so a history of footprints can be
//! re-estimated (what-if, restatement).
//!
//! A footprint carries what the engine used: each pod's usage, requests, owner and node; each
//! node's provider, instance type, region, electricity zone, capacities, embodied figure per hour,
//! and the grid intensity applied; each pod's cost. The rebuilt snapshot names the electricity
//! zone directly (zone codes pass through the zone mapping) and gives the intensity applied as a
//! measured value, so re-estimating it with the same methodology and data gives the same energy
//! and emissions. Estimation reasons of the original are not carried over.

use std::collections::BTreeMap;

use crate::footprint::Footprint;
use crate::reference::Provider;
use crate::snapshot::{CostEntry, EmbodiedEntry, Node, Pod, SNAPSHOT_SCHEMA, Snapshot};
use crate::units::GramsPerKwh;

/// Lifespan used to express a node's embodied figure per hour as a whole-life figure.
const REPLAY_LIFESPAN_HOURS: f64 = 35_040.0;

/// The snapshot a footprint was computed from (as far as the footprint records it).
pub fn snapshot_of(footprint: &Footprint) -> Snapshot {
    let mut nodes = Vec::with_capacity(footprint.nodes.len());
    let mut grid_intensity = BTreeMap::new();
    let mut embodied: BTreeMap<(String, String), EmbodiedEntry> = BTreeMap::new();
    for row in &footprint.nodes {
        let context = &row.node;
        // A measured intensity is exact; a default one (with a range) is derived again.
        if let Some(zone) = &context.zone
            && context.grid_intensity.low == context.grid_intensity.high
        {
            grid_intensity.insert(zone.to_string(), GramsPerKwh(context.grid_intensity.point));
        }
        let Some(name) = context.name.clone() else {
            continue;
        };
        if context.synthetic {
            // Pods on a node that was not in the snapshot keep pointing at that name.
            continue;
        }
        if let (Some(provider), Some(instance_type)) = (&context.provider, &context.instance_type)
            && context.embodied_grams_per_hour.point > 0.0
            && Provider::parse(provider) != Provider::Unknown
        {
            embodied.insert(
                (
                    provider.to_ascii_lowercase(),
                    instance_type.to_ascii_lowercase(),
                ),
                EmbodiedEntry {
                    provider: provider.clone(),
                    instance_type: instance_type.clone(),
                    kgco2e: context.embodied_grams_per_hour.point * REPLAY_LIFESPAN_HOURS / 1000.0,
                    lifespan_hours: Some(REPLAY_LIFESPAN_HOURS),
                },
            );
        }
        nodes.push(Node {
            name,
            provider: context.provider.clone(),
            instance_type: context.instance_type.clone(),
            region: context.region.clone(),
            zone: context.zone.clone(),
            cpu_capacity_cores: context.cpu_capacity_cores,
            memory_capacity_bytes: context.memory_capacity_bytes,
            labels: None,
        });
    }
    let mut costs = Vec::new();
    let pods = footprint
        .pods
        .iter()
        .map(|p| {
            if let Some(cost) = p.cost {
                costs.push(CostEntry {
                    namespace: p.namespace.clone(),
                    pod: p.pod.clone(),
                    cost,
                });
            }
            pod_of(p)
        })
        .collect();
    Snapshot {
        schema: SNAPSHOT_SCHEMA.to_string(),
        cluster: footprint.cluster.clone(),
        window_start: footprint.window_start,
        window_end: footprint.window_end,
        nodes,
        pods,
        grid_intensity,
        costs,
        embodied: embodied.into_values().collect(),
        degraded_sources: Vec::new(),
        dropped_values: Vec::new(),
    }
}

/// The snapshot pod a footprint row was computed from.
pub fn pod_of(row: &crate::PodFootprint) -> Pod {
    Pod {
        namespace: row.namespace.clone(),
        name: row.pod.clone(),
        node: row.node.name.clone(),
        owner_kind: row.owner_kind.clone(),
        owner_name: row.owner_name.clone(),
        cpu_usage_cores: row.cpu_usage_cores,
        memory_usage_bytes: row.memory_usage_bytes,
        cpu_request_cores: row.cpu_request_cores,
        memory_request_bytes: row.memory_request_bytes,
        restarts: row.restarts,
        labels: row.labels.clone(),
    }
}

/// Re-estimates a footprint from its rebuilt snapshot with the methodology it names.
pub fn options_of(footprint: &Footprint) -> crate::EstimateOptions {
    crate::EstimateOptions {
        methodology: footprint.methodology.name,
        idle_policy: footprint.methodology.idle_policy,
        ..crate::EstimateOptions::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{EstimateOptions, Methodology, estimate};

    #[test]
    fn replaying_the_example_gives_the_same_figures() {
        let text = include_str!("../../examples/snapshots/cluster.json");
        let snap = Snapshot::from_json_str(text).unwrap();
        for m in Methodology::ALL {
            let original = estimate(&snap, &EstimateOptions::new(m)).unwrap();
            let replayed = estimate(&snapshot_of(&original), &options_of(&original)).unwrap();
            for (a, b) in original.pods.iter().zip(&replayed.pods) {
                assert_eq!(a.pod, b.pod);
                let rel = |x: f64, y: f64| (x - y).abs() <= 1e-9 * x.abs().max(1e-12);
                assert!(
                    rel(a.energy_joules.point, b.energy_joules.point),
                    "{m} {}",
                    a.pod
                );
                assert!(rel(a.co2e_grams.point, b.co2e_grams.point), "{m} {}", a.pod);
                assert!(
                    rel(a.embodied_co2e_grams.point, b.embodied_co2e_grams.point),
                    "{m} {}: {} vs {}",
                    a.pod,
                    a.embodied_co2e_grams.point,
                    b.embodied_co2e_grams.point
                );
                assert_eq!(a.cost, b.cost);
            }
            let (a, b) = (original.totals.energy_joules, replayed.totals.energy_joules);
            assert!((a.point - b.point).abs() <= 1e-9 * a.point);
        }
    }
}
