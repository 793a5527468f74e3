//! The rules: which findings the statistics support, and the change that would act on each.
//! Workload rules (`workload`), the namespace rule (here) and node rules (`node`).

mod node;
mod workload;

use std::fmt::Write as _;

use sha2::{Digest, Sha256};

use super::analysis::Analysis;
use super::{Recommendation, RecommendationType, RecommenderConfig, Scope};
use crate::inventory::Inventory;
use crate::reference::ReferenceData;
use crate::whatif::Change;

/// How a candidate's savings are measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Basis {
    /// The target's attributed footprint.
    Attributed,
    /// The whole cluster.
    Cluster,
}

/// A finding before pricing.
#[derive(Debug, Clone)]
pub(super) struct Candidate {
    pub rec: Recommendation,
    pub basis: Basis,
}

/// Stable identity of a finding: a hash of type, scope, namespace, target and node.
fn identity(
    kind: RecommendationType,
    scope: Scope,
    namespace: Option<&str>,
    target: &str,
    node: Option<&str>,
) -> String {
    let mut hasher = Sha256::new();
    for part in [
        kind.name(),
        &format!("{scope:?}"),
        namespace.unwrap_or(""),
        target,
        node.unwrap_or(""),
    ] {
        hasher.update(part.as_bytes());
        hasher.update([0]);
    }
    hex8(&hasher.finalize())
}

/// The identity of a finding of one cluster among several: its identity hashed with the
/// cluster's name.
pub(super) fn in_cluster_identity(id: &str, cluster: &str) -> String {
    let mut hasher = Sha256::new();
    for part in [id, cluster] {
        hasher.update(part.as_bytes());
        hasher.update([0]);
    }
    hex8(&hasher.finalize())
}

fn hex8(digest: &[u8]) -> String {
    digest.iter().take(8).fold(String::new(), |mut hex, byte| {
        let _ = write!(hex, "{byte:02x}");
        hex
    })
}

/// What a finding is about.
struct Subject<'a> {
    scope: Scope,
    namespace: Option<&'a str>,
    target_kind: Option<&'a str>,
    target: &'a str,
    node: Option<&'a str>,
}

impl<'a> Subject<'a> {
    /// A node (its name is the target).
    fn node(name: &'a str) -> Self {
        Self {
            scope: Scope::Node,
            namespace: None,
            target_kind: None,
            target: name,
            node: Some(name),
        }
    }

    /// A group of nodes: an instance type, a pool, a region.
    fn nodes(target: &'a str) -> Self {
        Self {
            scope: Scope::Node,
            namespace: None,
            target_kind: None,
            target,
            node: None,
        }
    }
}

/// Collects the findings.
struct Findings<'a> {
    out: Vec<Candidate>,
    methodology: &'a str,
    data_version: &'a str,
}

impl Findings<'_> {
    /// Adds a finding about `subject`, acted on by `changes`; `fill` sets its type's own fields.
    fn push(
        &mut self,
        kind: RecommendationType,
        subject: &Subject<'_>,
        reason: String,
        changes: Vec<Change>,
        basis: Basis,
        fill: impl FnOnce(&mut Recommendation),
    ) {
        let mut rec = Recommendation {
            id: identity(
                kind,
                subject.scope,
                subject.namespace,
                subject.target,
                subject.node,
            ),
            kind,
            scope: subject.scope,
            priority: kind.priority(),
            namespace: subject.namespace.map(String::from),
            target_kind: subject.target_kind.map(String::from),
            target: subject.target.to_string(),
            node: subject.node.map(String::from),
            reason,
            current_cpu_request_cores: None,
            recommended_cpu_request_cores: None,
            current_memory_request_bytes: None,
            recommended_memory_request_bytes: None,
            schedule: None,
            changes,
            savings_co2e_grams_per_year: 0.0,
            savings_cost_per_year: None,
            savings_co2e_grams_per_year_interval: [0.0, 0.0],
            savings_basis: match basis {
                Basis::Attributed => "attributed",
                Basis::Cluster => "cluster",
            }
            .to_string(),
            methodology: self.methodology.to_string(),
            data_version: self.data_version.to_string(),
            cluster: None,
        };
        fill(&mut rec);
        self.out.push(Candidate { rec, basis });
    }
}

/// Cores as millicores: `250 m`.
fn cores(value: f64) -> String {
    format!("{:.0} m", value * 1000.0)
}

/// Bytes as MiB: `512 MiB`.
fn mib(bytes: f64) -> String {
    format!("{:.0} MiB", bytes / 1024.0 / 1024.0)
}

/// A fraction as a percentage: `30%`.
fn pct(fraction: f64) -> String {
    format!("{:.0}%", fraction * 100.0)
}

/// All findings, unpriced.
pub(super) fn candidates(
    analysis: &Analysis,
    config: &RecommenderConfig,
    inventory: Option<&Inventory>,
    reference: &ReferenceData,
) -> Vec<Candidate> {
    let methodology = analysis
        .methodology
        .clone()
        .unwrap_or_else(|| "full".into());
    let data_version = analysis.data_version.clone().unwrap_or_default();
    let mut findings = Findings {
        out: Vec::new(),
        methodology: &methodology,
        data_version: &data_version,
    };
    let mut order: Vec<usize> = (0..analysis.targets.len()).collect();
    order.sort_by(|&x, &y| analysis.target_keys[x].cmp(&analysis.target_keys[y]));
    for index in order {
        let key = &analysis.target_keys[index];
        if config.excludes(&key.0) {
            continue;
        }
        workload::rules(
            &mut findings,
            key,
            &analysis.targets[index],
            config,
            inventory,
            &analysis.zones,
        );
    }
    namespace_rule(&mut findings, analysis, config);
    node::rules(&mut findings, analysis, config, reference);
    findings.out
}

/// Idle namespaces, by [`crate::waste`]'s rule.
fn namespace_rule(findings: &mut Findings<'_>, analysis: &Analysis, config: &RecommenderConfig) {
    let idle_namespace = config.idle_namespace_rule();
    let mut namespaces: Vec<_> = analysis
        .namespace_names
        .iter()
        .zip(&analysis.namespaces)
        .collect();
    namespaces.sort_by(|x, y| x.0.cmp(y.0));
    for (namespace, stats) in namespaces {
        if config.excludes(namespace) {
            continue;
        }
        if let Some(activity) = stats.usage.activity()
            && idle_namespace.is_idle(&activity)
        {
            findings.push(
                RecommendationType::IdleNamespace,
                &Subject {
                    scope: Scope::Namespace,
                    namespace: Some(namespace),
                    target_kind: None,
                    target: namespace,
                    node: None,
                },
                format!(
                    "namespace '{namespace}' used {} of CPU in total on average (peak {}) while {}",
                    cores(activity.mean_cpu_cores),
                    cores(activity.peak_cpu_cores),
                    activity.cost_in_words()
                ),
                vec![Change::Remove {
                    namespace: namespace.to_string(),
                    kind: None,
                    name: None,
                }],
                Basis::Attributed,
                |_| {},
            );
        }
    }
}
