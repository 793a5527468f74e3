//! The recommender: from a history of footprints (and optionally an inventory), what to change to
//! cut carbon and cost, and how much each change saves.
//!
//! It streams: [`Recommender::observe`] takes one window at a time and keeps per-workload and
//! per-node statistics (and an evenly spread sample of windows for the savings), so a week of
//! five-minute history for thousands of pods never has to be held in memory.
//! [`Recommender::finish`] applies the rules and prices every recommendation with the what-if
//! engine ([`crate::whatif`]) on the sampled windows: the savings are the methodology's own
//! answer, not a ratio.
//!
//! Targets are stable workloads: owner kind and name, a ReplicaSet's pods folded into their
//! Deployment, a CronJob's Jobs into the CronJob, a bare pod by its name. Thresholds are rates
//! (cores, cores per request, money per day), so they mean the same over any window length.
//! Zombies, idle namespaces, off-peak hours and system namespaces follow [`crate::waste`], the
//! rules the sustainability score counts with.

mod analysis;
mod lifecycle;
mod rules;
mod savings;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use self::analysis::Analysis;
pub use self::lifecycle::{
    AppliedSavings, AppliedValues, RankBy, RecommendationRecord, RecommendationStatus, rank,
    realised_savings, reconcile,
};
use crate::footprint::Footprint;
use crate::inventory::Inventory;
use crate::ranged::Ranged;
use crate::reference::ReferenceData;
use crate::waste::{IdleRule, OffPeakRule, default_system_namespaces};
use crate::whatif::Change;

/// Kinds of recommendation. The first nine are named as GreenKube names them, so dashboards
/// carry over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RecommendationType {
    /// A workload that uses (almost) no CPU but costs money or holds capacity.
    ZombiePod,
    /// CPU request far above use.
    RightsizingCpu,
    /// Memory request far above use.
    RightsizingMemory,
    /// Spiky load that an autoscaler would follow.
    AutoscalingCandidate,
    /// A daily idle period long enough to scale to zero.
    OffPeakScaling,
    /// A namespace whose workloads use (almost) nothing.
    IdleNamespace,
    /// A workload that runs when (or where) its grid is much dirtier than its zone's average.
    CarbonAwareScheduling,
    /// A node much bigger than its load.
    OverprovisionedNode,
    /// A node with few pods and little load.
    UnderutilizedNode,
    /// A region of the same provider whose grid is markedly cleaner.
    RegionShift,
    /// A more efficient CPU family of the same provider with the same size.
    InstanceFamily,
    /// The observed peak fits in fewer nodes.
    NodeConsolidation,
}

impl RecommendationType {
    /// Every type.
    pub const ALL: [Self; 12] = [
        Self::ZombiePod,
        Self::RightsizingCpu,
        Self::RightsizingMemory,
        Self::AutoscalingCandidate,
        Self::OffPeakScaling,
        Self::IdleNamespace,
        Self::CarbonAwareScheduling,
        Self::OverprovisionedNode,
        Self::UnderutilizedNode,
        Self::RegionShift,
        Self::InstanceFamily,
        Self::NodeConsolidation,
    ];

    /// The name as serialised (`ZOMBIE_POD`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Self::ZombiePod => "ZOMBIE_POD",
            Self::RightsizingCpu => "RIGHTSIZING_CPU",
            Self::RightsizingMemory => "RIGHTSIZING_MEMORY",
            Self::AutoscalingCandidate => "AUTOSCALING_CANDIDATE",
            Self::OffPeakScaling => "OFF_PEAK_SCALING",
            Self::IdleNamespace => "IDLE_NAMESPACE",
            Self::CarbonAwareScheduling => "CARBON_AWARE_SCHEDULING",
            Self::OverprovisionedNode => "OVERPROVISIONED_NODE",
            Self::UnderutilizedNode => "UNDERUTILIZED_NODE",
            Self::RegionShift => "REGION_SHIFT",
            Self::InstanceFamily => "INSTANCE_FAMILY",
            Self::NodeConsolidation => "NODE_CONSOLIDATION",
        }
    }

    /// GreenKube's priority of the type.
    pub fn priority(self) -> Priority {
        match self {
            Self::ZombiePod => Priority::High,
            Self::IdleNamespace
            | Self::CarbonAwareScheduling
            | Self::UnderutilizedNode
            | Self::RegionShift => Priority::Low,
            _ => Priority::Medium,
        }
    }
}

impl fmt::Display for RecommendationType {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.name())
    }
}

/// What a recommendation is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// A bare pod.
    Pod,
    /// A workload (Deployment, StatefulSet, ...).
    Workload,
    /// A namespace.
    Namespace,
    /// A node, or a group of nodes (a region, a pool).
    Node,
}

/// Priority, as GreenKube assigns it per type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Priority {
    /// Low.
    Low,
    /// Medium.
    Medium,
    /// High.
    High,
}

/// Thresholds and switches of the recommender. Every threshold is a rate, so it means the same
/// over any history length.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RecommenderConfig {
    /// Zombie workload (the rule: [`IdleRule`]): mean CPU, summed over its pods, below this
    /// many cores...
    pub zombie_max_cpu_cores: f64,
    /// ... and peak CPU below this many cores ...
    pub zombie_max_peak_cpu_cores: f64,
    /// ... while costing more than this per day ...
    pub zombie_min_cost_per_day: f64,
    /// ... or, with no cost data, reserving at least this many cores.
    pub zombie_min_reserved_cpu_cores: f64,
    /// Rightsizing: mean usage below this fraction of the request.
    pub rightsizing_cpu_threshold: f64,
    /// Rightsizing: mean memory below this fraction of the request.
    pub rightsizing_memory_threshold: f64,
    /// Headroom over `max(P95, (mean + max) / 2)` for the recommended request.
    pub rightsizing_headroom: f64,
    /// Never recommend less CPU than this, cores.
    pub min_cpu_cores: f64,
    /// Never recommend less memory than this, bytes.
    pub min_memory_bytes: f64,
    /// Autoscaling: coefficient of variation of the workload's load above this...
    pub autoscaling_cv_threshold: f64,
    /// ... and peak over mean above this.
    pub autoscaling_spike_ratio: f64,
    /// Off-peak: an hour is idle below this fraction of the peak hourly load...
    pub off_peak_idle_fraction: f64,
    /// ... and at least this many consecutive idle hours are needed.
    pub off_peak_min_idle_hours: u32,
    /// Idle namespace (the same rule over all its pods): mean CPU below this many cores...
    pub idle_namespace_max_cpu_cores: f64,
    /// ... and peak CPU below this many cores ...
    pub idle_namespace_max_peak_cpu_cores: f64,
    /// ... while costing more than this per day ...
    pub idle_namespace_min_cost_per_day: f64,
    /// ... or, with no cost data, reserving at least this many cores.
    pub idle_namespace_min_reserved_cpu_cores: f64,
    /// Carbon-aware: the workload's mean intensity above this multiple of its zone's mean.
    pub carbon_aware_ratio: f64,
    /// Overprovisioned node: mean CPU (and memory, when known) utilisation below this.
    pub node_utilisation_threshold: f64,
    /// Underutilised node: fewer distinct pods than this...
    pub underutilised_max_pods: usize,
    /// ... and mean CPU utilisation below this.
    pub underutilised_utilisation: f64,
    /// Region shift: another region's grid at most this fraction of the current one's.
    pub region_shift_max_ratio: f64,
    /// Instance family: at least this fraction less energy at the observed load.
    pub instance_family_min_saving: f64,
    /// Consolidation: pack nodes to at most this CPU utilisation at the observed peak.
    pub consolidation_target_utilisation: f64,
    /// Namespaces treated as system ones (skipped unless `include_system_namespaces`).
    pub system_namespaces: Vec<String>,
    /// Recommend for system namespaces too.
    pub include_system_namespaces: bool,
    /// Only this namespace (and node-level recommendations), when set.
    pub namespace: Option<String>,
    /// Windows the savings are evaluated on (an even spread of the history).
    pub savings_windows: usize,
}

impl Default for RecommenderConfig {
    fn default() -> Self {
        Self {
            zombie_max_cpu_cores: IdleRule::ZOMBIE.max_mean_cpu_cores,
            zombie_max_peak_cpu_cores: IdleRule::ZOMBIE.max_peak_cpu_cores,
            zombie_min_cost_per_day: IdleRule::ZOMBIE.min_cost_per_day,
            zombie_min_reserved_cpu_cores: IdleRule::ZOMBIE.min_reserved_cpu_cores,
            rightsizing_cpu_threshold: 0.3,
            rightsizing_memory_threshold: 0.3,
            rightsizing_headroom: 1.2,
            min_cpu_cores: 0.01,
            min_memory_bytes: 16.0 * 1024.0 * 1024.0,
            autoscaling_cv_threshold: 0.7,
            autoscaling_spike_ratio: 3.0,
            off_peak_idle_fraction: OffPeakRule::DEFAULT.idle_fraction,
            off_peak_min_idle_hours: OffPeakRule::DEFAULT.min_idle_hours,
            idle_namespace_max_cpu_cores: IdleRule::IDLE_NAMESPACE.max_mean_cpu_cores,
            idle_namespace_max_peak_cpu_cores: IdleRule::IDLE_NAMESPACE.max_peak_cpu_cores,
            idle_namespace_min_cost_per_day: IdleRule::IDLE_NAMESPACE.min_cost_per_day,
            idle_namespace_min_reserved_cpu_cores: IdleRule::IDLE_NAMESPACE.min_reserved_cpu_cores,
            carbon_aware_ratio: 1.5,
            node_utilisation_threshold: 0.2,
            underutilised_max_pods: 3,
            underutilised_utilisation: 0.15,
            region_shift_max_ratio: 0.5,
            instance_family_min_saving: 0.1,
            consolidation_target_utilisation: 0.8,
            system_namespaces: default_system_namespaces(),
            include_system_namespaces: false,
            namespace: None,
            savings_windows: 48,
        }
    }
}

crate::waste::waste_rules!(RecommenderConfig);

impl RecommenderConfig {
    /// The off-peak rule with these thresholds (judged on at least
    /// [`OffPeakRule::DEFAULT`]'s number of windows).
    pub fn off_peak_rule(&self) -> OffPeakRule {
        OffPeakRule {
            idle_fraction: self.off_peak_idle_fraction,
            min_idle_hours: self.off_peak_min_idle_hours,
            ..OffPeakRule::DEFAULT
        }
    }
}

/// One recommendation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recommendation {
    /// Stable identity: a hash of type, scope, namespace, target and node. The same finding in
    /// a later scan has the same id.
    pub id: String,
    /// Kind.
    #[serde(rename = "type")]
    pub kind: RecommendationType,
    /// What it is about.
    pub scope: Scope,
    /// Priority.
    pub priority: Priority,
    /// Namespace (workload, pod and namespace scopes).
    pub namespace: Option<String>,
    /// Workload kind (workload and pod scopes).
    pub target_kind: Option<String>,
    /// Workload, pod, namespace, node or region name.
    pub target: String,
    /// Node (node scope).
    pub node: Option<String>,
    /// Why, with the numbers.
    pub reason: String,
    /// Current CPU request per pod, cores (rightsizing).
    pub current_cpu_request_cores: Option<f64>,
    /// Recommended CPU request per pod, cores.
    pub recommended_cpu_request_cores: Option<f64>,
    /// Current memory request per pod, bytes.
    pub current_memory_request_bytes: Option<f64>,
    /// Recommended memory request per pod, bytes.
    pub recommended_memory_request_bytes: Option<f64>,
    /// Suggested schedule (off-peak scaling), for example `Scale to 0: 19:00-07:00 UTC`.
    pub schedule: Option<String>,
    /// The changes that realise it, as the what-if engine takes them.
    pub changes: Vec<Change>,
    /// CO2e saved per year (operational plus embodied), grams.
    pub savings_co2e_grams_per_year: f64,
    /// Money saved per year; `null` when the change's cost effect is not known.
    pub savings_cost_per_year: Option<f64>,
    /// Interval of the CO2e savings per year, `[low, high]`.
    pub savings_co2e_grams_per_year_interval: [f64; 2],
    /// How the savings were measured: `attributed` (the target's footprint, as the methodology
    /// charges it) or `cluster` (the whole cluster's).
    pub savings_basis: String,
    /// Methodology the savings were computed with.
    pub methodology: String,
    /// Reference-data version of the history the recommendation was computed from.
    pub data_version: String,
    /// The cluster whose windows found it (`None`: windows written without a cluster name, a
    /// history read from a file, or a record saved before clusters were told apart). Absent
    /// from JSON when `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
}

impl Recommendation {
    /// The recommendation as found in the windows of `cluster`. When the scan covered
    /// several clusters (`among_several`), the cluster becomes part of the id, so the same
    /// finding in two clusters is two recommendations; a store of one cluster keeps the ids
    /// it always had.
    pub fn found_in(mut self, cluster: Option<&str>, among_several: bool) -> Self {
        if among_several {
            self.id = rules::in_cluster_identity(&self.id, cluster.unwrap_or(""));
        }
        self.cluster = cluster.map(str::to_string);
        self
    }

    /// The savings per year as a ranged value.
    pub fn savings_co2e(&self) -> Ranged {
        let [low, high] = self.savings_co2e_grams_per_year_interval;
        Ranged::new(self.savings_co2e_grams_per_year, low, high)
    }
}

/// The streaming recommender: observe windows, then finish. Each cluster's windows are
/// analysed on their own (a workload of one cluster is not another's namesake); every
/// recommendation names its cluster, and where the history holds several clusters the cluster
/// is part of its id (see [`Recommendation::found_in`]).
#[derive(Debug)]
pub struct Recommender<'a> {
    config: RecommenderConfig,
    inventory: Option<&'a Inventory>,
    analyses: BTreeMap<Option<Arc<str>>, Analysis>,
}

impl<'a> Recommender<'a> {
    /// A recommender with the given thresholds and optional inventory.
    pub fn new(config: RecommenderConfig, inventory: Option<&'a Inventory>) -> Self {
        Self {
            config,
            inventory,
            analyses: BTreeMap::new(),
        }
    }

    /// Takes one window of history.
    pub fn observe(&mut self, footprint: &Footprint) {
        let analysis = match self.analyses.get_mut(&footprint.cluster) {
            Some(analysis) => analysis,
            None => self
                .analyses
                .entry(footprint.cluster.clone())
                .or_insert_with(|| Analysis::new(self.config.savings_windows)),
        };
        analysis.observe(footprint, &self.config);
    }

    /// Applies the rules and prices each recommendation with this reference data (the what-if
    /// engine's); sorted by CO2e savings, largest first.
    pub fn finish(self, reference: &ReferenceData) -> Vec<Recommendation> {
        let among_several = self.analyses.len() > 1;
        let mut out = Vec::new();
        for (cluster, mut analysis) in self.analyses {
            if let Some(inventory) = self.inventory {
                analysis.apply_inventory(inventory);
            }
            let candidates = rules::candidates(&analysis, &self.config, self.inventory, reference);
            out.extend(
                savings::price(&candidates, &analysis, reference)
                    .into_iter()
                    .map(|r| r.found_in(cluster.as_deref(), among_several)),
            );
        }
        sort_best_first(&mut out);
        out
    }
}

/// Sorts recommendations best first: CO2e savings per year, largest first, then by id.
pub fn sort_best_first(recommendations: &mut [Recommendation]) {
    recommendations.sort_by(|a, b| {
        b.savings_co2e_grams_per_year
            .total_cmp(&a.savings_co2e_grams_per_year)
            .then_with(|| a.id.cmp(&b.id))
    });
}

/// Recommendations for an in-memory history, with the embedded reference data.
pub fn recommend(
    history: &[Footprint],
    inventory: Option<&Inventory>,
    config: &RecommenderConfig,
) -> Vec<Recommendation> {
    let mut recommender = Recommender::new(config.clone(), inventory);
    for footprint in history {
        recommender.observe(footprint);
    }
    recommender.finish(ReferenceData::embedded())
}
