//! `waste_elimination` (weight 0.15): zombie workloads and idle namespaces, by the rules of
//! [`crate::waste`].

use super::{Dimension, ScoreConfig, count, measured, no_data};
use crate::waste::{Activity, IdleRule};

/// `((1 − zombies / workloads) × 0.7 + (1 − idle namespaces / namespaces) × 0.3) × 100`, over
/// the workloads and namespaces (system ones left out) with CPU usage: those whose activity is
/// known.
pub(super) fn dimension(
    workloads: impl Iterator<Item = Option<Activity>>,
    namespaces: impl Iterator<Item = Option<Activity>>,
    config: &ScoreConfig,
) -> Dimension {
    let zombie = config.zombie_rule();
    let idle_namespace = config.idle_namespace_rule();
    let (judged_workloads, zombies) = judge(workloads, &zombie);
    let (judged_namespaces, idle) = judge(namespaces, &idle_namespace);
    if judged_workloads == 0 {
        return no_data(2, "no workload has CPU usage");
    }
    let zombie_ratio = zombies as f64 / judged_workloads as f64;
    let idle_ratio = if judged_namespaces == 0 {
        0.0
    } else {
        idle as f64 / judged_namespaces as f64
    };
    measured(
        2,
        ((1.0 - zombie_ratio) * 0.7 + (1.0 - idle_ratio) * 0.3) * 100.0,
        format!(
            "{} of {} workloads are zombies ({}); {} of {} namespaces idle ({})",
            count(zombies),
            count(judged_workloads),
            rule_in_words(&zombie),
            count(idle),
            count(judged_namespaces),
            rule_in_words(&idle_namespace),
        ),
    )
}

/// How many activities are known, and how many of those are idle under the rule.
fn judge(activities: impl Iterator<Item = Option<Activity>>, rule: &IdleRule) -> (u64, u64) {
    activities
        .flatten()
        .fold((0, 0), |(judged, idle), activity| {
            (judged + 1, idle + u64::from(rule.is_idle(&activity)))
        })
}

/// The idle rule's thresholds, in words.
fn rule_in_words(rule: &IdleRule) -> String {
    format!(
        "mean CPU below {} cores and peak below {} while costing more than {}/day, or reserving \
         {} cores without cost data",
        rule.max_mean_cpu_cores,
        rule.max_peak_cpu_cores,
        rule.min_cost_per_day,
        rule.min_reserved_cpu_cores
    )
}
