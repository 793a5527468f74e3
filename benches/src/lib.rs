//! Synthetic Kubernetes clusters for greenkube's benchmarks, rendered window by window as
//! snapshots.
//!
//! The clusters are the adapters' sized synthetic clusters
//! ([`greenkube_adapters::sources::synthetic::SyntheticCluster::sized`]): the same seeded
//! generator and the same catalogue of providers, regions, zones and instance types as
//! `greenkube demo`, at any size. [`BenchCluster::snapshot`] builds the snapshot of a 5-minute
//! window the way the collector does ([`greenkube_core::collect::assemble`]): the inventory,
//! the window's usage (a few pods without metrics), the cost source's entries (about 5 % of the
//! pods without one) and a measured intensity for every electricity zone the nodes are in.
//!
//! By default the data is untidy, as real snapshots are: costs in no particular order, a few
//! nodes of instance types the reference catalogue does not know, a few in zones that map to no
//! electricity zone (see [`SizedConfig`]). [`BenchCluster::tidy`] gives the tidy variant.
//!
//! The same `(nodes, pods, seed)` always gives the same cluster, and the same window the same
//! snapshot, on every machine.

pub mod prometheus;

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use greenkube_adapters::sources::synthetic::{SizedConfig, SyntheticCluster};
use greenkube_core::collect::{WindowInputs, assemble};
use greenkube_core::ports::{ClusterInventory, TimeRange};
use greenkube_core::units::GramsPerKwh;
use greenkube_core::{EstimateOptions, ReferenceData, Snapshot, zones_of};

/// Length of one window, in seconds.
pub const WINDOW_SECONDS: i64 = 300;

/// Windows in one day.
pub const WINDOWS_PER_DAY: usize = 288;

/// Start of window 0, in seconds since the Unix epoch (2025-06-02T00:00:00Z, a Monday).
pub const START_EPOCH_SECONDS: i64 = 1_748_822_400;

/// Cluster name written into every snapshot.
pub const CLUSTER_NAME: &str = "synthetic";

/// A sized synthetic cluster and what its snapshots share.
#[derive(Debug, Clone)]
pub struct BenchCluster {
    cluster: SyntheticCluster,
    inventory: ClusterInventory,
    /// Electricity zones the nodes are in (as the `full` methodology resolves them).
    zones: Vec<String>,
    name: Arc<str>,
}

impl BenchCluster {
    /// The untidy cluster of `nodes` nodes and `pods` pods drawn from `seed`. With no nodes,
    /// the pods are pending.
    pub fn new(nodes: usize, pods: usize, seed: u64) -> Self {
        Self::with_config(seed, SizedConfig::new(nodes, pods))
    }

    /// The tidy cluster of `nodes` nodes and `pods` pods drawn from `seed`: every instance
    /// type known, every zone mapped, costs in pod order.
    pub fn tidy(nodes: usize, pods: usize, seed: u64) -> Self {
        Self::with_config(
            seed,
            SizedConfig {
                tidy: true,
                ..SizedConfig::new(nodes, pods)
            },
        )
    }

    /// The cluster of `config` drawn from `seed`.
    pub fn with_config(seed: u64, config: SizedConfig) -> Self {
        let cluster = SyntheticCluster::sized(seed, config);
        let inventory = ClusterInventory {
            nodes: cluster.cluster_nodes().to_vec(),
            pods: cluster.pods().to_vec(),
            hpas: cluster.hpas().to_vec(),
        };
        let start = Self::window_start(0);
        let nodes_only = assemble(
            start,
            start + TimeDelta::seconds(WINDOW_SECONDS),
            WindowInputs {
                metric_nodes: cluster.cluster_nodes(),
                ..WindowInputs::default()
            },
        );
        let zones = zones_of(
            &nodes_only,
            &EstimateOptions::default(),
            ReferenceData::embedded(),
        )
        .into_iter()
        .collect();
        Self {
            cluster,
            inventory,
            zones,
            name: Arc::from(CLUSTER_NAME),
        }
    }

    /// The adapters' cluster behind the snapshots (its source ports, its models).
    pub fn synthetic(&self) -> &SyntheticCluster {
        &self.cluster
    }

    /// The seed the cluster was drawn from.
    pub fn seed(&self) -> u64 {
        self.cluster.seed()
    }

    /// Number of nodes.
    pub fn node_count(&self) -> usize {
        self.inventory.nodes.len()
    }

    /// Number of pods (every pod is in every snapshot).
    pub fn pod_count(&self) -> usize {
        self.inventory.pods.len()
    }

    /// Number of namespaces the pods are in.
    pub fn namespace_count(&self) -> usize {
        self.cluster.namespaces().len()
    }

    /// Electricity zones that get a measured grid intensity in every snapshot (a node in a zone
    /// that maps to none falls back to the reference data's default).
    pub fn measured_zones(&self) -> impl Iterator<Item = &str> {
        self.zones.iter().map(String::as_str)
    }

    /// Start of window `window` (5-minute windows from 2025-06-02T00:00:00Z).
    pub fn window_start(window: usize) -> DateTime<Utc> {
        let window = i64::try_from(window).unwrap_or(i64::MAX / WINDOW_SECONDS / 2);
        let seconds = START_EPOCH_SECONDS.saturating_add(window.saturating_mul(WINDOW_SECONDS));
        Utc.timestamp_opt(seconds, 0)
            .single()
            .unwrap_or(DateTime::<Utc>::UNIX_EPOCH)
    }

    /// The snapshot of window `window`, assembled as the collector does from the inventory,
    /// the window's usage, its costs and the zones' intensities. Restarts are the usage
    /// source's cumulative counts (the collector would turn them into differences).
    pub fn snapshot(&self, window: usize) -> Snapshot {
        let start = Self::window_start(window);
        let end = start + TimeDelta::seconds(WINDOW_SECONDS);
        let usage = self.cluster.window_usage(start, end);
        let costs = TimeRange::new(start, end)
            .map(|range| self.cluster.costs_in(range))
            .unwrap_or_default();
        let grid_intensity: BTreeMap<String, GramsPerKwh> = self
            .zones
            .iter()
            .filter_map(|zone| {
                let value = self.cluster.intensity_at(zone, start)?;
                Some((zone.clone(), GramsPerKwh(value)))
            })
            .collect();
        assemble(
            start,
            end,
            WindowInputs {
                cluster: Some(self.name.clone()),
                inventory: Some(&self.inventory),
                usage: Some(&usage),
                costs,
                grid_intensity,
                ..WindowInputs::default()
            },
        )
    }

    /// The snapshot of window `window` as `greenkube.snapshot/v1` JSON.
    pub fn snapshot_json(&self, window: usize) -> String {
        serde_json::to_string(&self.snapshot(window)).unwrap_or_default()
    }
}

/// A deterministic number in `[0, 1)` for the pod at `position`.
fn unit(position: usize, salt: u64) -> f64 {
    let mut x = (position as u64)
        .wrapping_add(salt)
        .wrapping_mul(0x9E37_79B9_7F4A_7C15);
    x ^= x >> 31;
    x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x ^= x >> 29;
    (x >> 11) as f64 / (1u64 << 53) as f64
}

/// Makes a snapshot look like GreenKube's benchmark data, for the recommender's scale case
/// with many findings: every pod its own (bare) workload, three pods in four requesting several
/// times the CPU they use, half several times the memory they use, one in ten nearly idle.
/// Deterministic: the same snapshot always becomes the same.
pub fn many_findings(snapshot: &mut Snapshot) {
    use greenkube_core::units::{Bytes, Cores};
    for (position, pod) in snapshot.pods.iter_mut().enumerate() {
        pod.owner_kind = None;
        pod.owner_name = None;
        if unit(position, 1) < 0.1 {
            pod.cpu_usage_cores = pod.cpu_usage_cores.map(|c| Cores(c.0 * 0.01));
        }
        let cpu = pod.cpu_usage_cores.map_or(0.05, |c| c.0);
        if unit(position, 2) < 0.75 {
            pod.cpu_request_cores = Some(Cores((cpu * (4.0 + 4.0 * unit(position, 3))).max(0.1)));
        }
        let memory = pod
            .memory_usage_bytes
            .map_or(64.0 * 1024.0 * 1024.0, |b| b.0);
        if unit(position, 4) < 0.5 {
            pod.memory_request_bytes = Some(Bytes(memory * (4.0 + 4.0 * unit(position, 5))));
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use greenkube_core::{CostEntry, Methodology, Reason, estimate};

    use super::*;

    #[test]
    fn same_seed_same_snapshot() {
        let a = BenchCluster::new(40, 1_000, 7);
        let b = BenchCluster::new(40, 1_000, 7);
        assert_eq!(a.snapshot(5), b.snapshot(5));
        assert_ne!(a.snapshot(5), a.snapshot(6));
        let c = BenchCluster::new(40, 1_000, 8);
        assert_ne!(a.snapshot(5), c.snapshot(5));
    }

    #[test]
    fn snapshots_validate_and_have_the_requested_size() {
        let cluster = BenchCluster::new(60, 2_000, 1);
        let snap = cluster.snapshot(0);
        snap.validate().unwrap();
        assert_eq!(snap.nodes.len(), 60);
        assert_eq!(snap.pods.len(), 2_000);
        let with_cost = snap.costs.len() as f64 / snap.pods.len() as f64;
        assert!((0.92..0.98).contains(&with_cost), "{with_cost}");
        assert!(!snap.grid_intensity.is_empty());
        assert!(cluster.namespace_count() > 10);
        let providers: BTreeSet<&str> = snap
            .nodes
            .iter()
            .filter_map(|n| n.provider.as_deref())
            .collect();
        assert_eq!(providers.len(), 5, "{providers:?}");
        let kinds: BTreeSet<Option<&str>> =
            snap.pods.iter().map(|p| p.owner_kind.as_deref()).collect();
        assert_eq!(kinds.len(), 5, "{kinds:?}");
    }

    #[test]
    fn untidy_costs_are_the_tidy_entries_unordered() {
        let (tidy, messy) = (
            BenchCluster::tidy(10, 500, 9),
            BenchCluster::new(10, 500, 9),
        );
        let (ordered, shuffled) = (tidy.snapshot(2).costs, messy.snapshot(2).costs);
        assert_ne!(ordered, shuffled);
        let key = |c: &CostEntry| (c.namespace.clone(), c.pod.clone(), c.cost.0.to_bits());
        let mut a: Vec<_> = ordered.iter().map(key).collect();
        let mut b: Vec<_> = shuffled.iter().map(key).collect();
        a.sort();
        b.sort();
        assert_eq!(a, b);
    }

    #[test]
    fn json_round_trips() {
        let cluster = BenchCluster::new(10, 200, 3);
        let text = cluster.snapshot_json(3);
        let parsed = Snapshot::from_json_str(&text).unwrap();
        parsed.validate().unwrap();
        assert_eq!(parsed.pods.len(), 200);
    }

    #[test]
    fn usage_follows_a_daily_pattern() {
        let cluster = BenchCluster::new(30, 1_000, 11);
        let cpu = |w: usize| -> f64 {
            cluster
                .snapshot(w)
                .pods
                .iter()
                .filter_map(|p| p.cpu_usage_cores)
                .map(|c| c.0)
                .sum()
        };
        // 03:00 and 15:00 UTC on a mostly-European cluster.
        let night = cpu(36);
        let afternoon = cpu(180);
        assert!(
            afternoon > night * 1.2,
            "night {night}, afternoon {afternoon}"
        );
    }

    #[test]
    fn tidy_nodes_resolve_without_fallbacks_and_untidy_ones_do_not() {
        let fallback = |r: &Reason| {
            matches!(
                r,
                Reason::DefaultZoneIntensity { .. } | Reason::GlobalDefaultIntensity { .. }
            )
        };
        for (cluster, tidy) in [
            (BenchCluster::tidy(200, 2_000, 5), true),
            (BenchCluster::new(200, 2_000, 5), false),
        ] {
            let snap = cluster.snapshot(100);
            for methodology in Methodology::ALL {
                let fp = estimate(&snap, &EstimateOptions::new(methodology)).unwrap();
                assert_eq!(fp.nodes.len(), 200);
                assert!(fp.nodes.iter().all(|n| n.vcpus > 0.0));
                // Intensities are measured for the zones of the `full` methodology, where an
                // unmappable zone resolves to none (`classic` falls back to the region).
                if methodology == Methodology::Full {
                    let zoneless = fp.nodes.iter().filter(|n| n.node.zone.is_none()).count();
                    let fell_back = fp
                        .nodes
                        .iter()
                        .filter(|n| n.node.reasons.iter().any(fallback))
                        .count();
                    if tidy {
                        assert_eq!((zoneless, fell_back), (0, 0));
                    } else {
                        assert!(
                            zoneless > 0 && fell_back >= zoneless,
                            "{zoneless} {fell_back}"
                        );
                    }
                }
                assert_eq!(fp.totals.pods, 2_000);
                assert!(fp.totals.pods_without_cost > 0);
                assert!(fp.totals.energy_joules.point > 0.0);
            }
        }
    }
}
