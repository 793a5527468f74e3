//! Workload rules: zombie, rightsizing (CPU, memory), autoscaling, off-peak scaling and
//! carbon-aware scheduling.

use std::sync::Arc;

use super::{Basis, Findings, Subject, cores, mib, pct};
use crate::fastmap::FastMap;
use crate::inventory::Inventory;
use crate::recommend::analysis::{TargetKey, TargetStats, percentile};
use crate::recommend::{Recommendation, RecommendationType, RecommenderConfig, Scope};
use crate::whatif::Change;

/// A workload the rules look at.
struct Workload<'a> {
    namespace: &'a str,
    kind: &'a str,
    name: &'a str,
    /// `Deployment 'api'`, for reasons.
    label: String,
    stats: &'a TargetStats,
}

impl Workload<'_> {
    /// Adds a finding about this workload, acted on by one change to it.
    fn push(
        &self,
        findings: &mut Findings<'_>,
        kind: RecommendationType,
        reason: String,
        change: Change,
        fill: impl FnOnce(&mut Recommendation),
    ) {
        let subject = Subject {
            scope: if self.kind == "Pod" {
                Scope::Pod
            } else {
                Scope::Workload
            },
            namespace: Some(self.namespace),
            target_kind: Some(self.kind),
            target: self.name,
            node: None,
        };
        findings.push(
            kind,
            &subject,
            reason,
            vec![change],
            Basis::Attributed,
            fill,
        );
    }
}

/// Every workload rule, for one workload. `zones` holds each zone's intensity over node-windows
/// (sum, count).
pub(super) fn rules(
    findings: &mut Findings<'_>,
    key: &TargetKey,
    stats: &TargetStats,
    config: &RecommenderConfig,
    inventory: Option<&Inventory>,
    zones: &FastMap<Arc<str>, (f64, u64)>,
) {
    let (kind, name) = (key.1.as_ref(), key.2.as_ref());
    let workload = Workload {
        namespace: key.0.as_ref(),
        kind,
        name,
        label: format!("{kind} '{name}'"),
        stats,
    };
    zombie(findings, &workload, config);
    rightsizing(findings, &workload, config, Resource::Cpu);
    rightsizing(findings, &workload, config, Resource::Memory);
    autoscaling(findings, &workload, config, inventory);
    off_peak(findings, &workload, config);
    carbon_aware(findings, &workload, config, zones);
}

/// Zombie, by [`crate::waste`]'s rule.
fn zombie(findings: &mut Findings<'_>, workload: &Workload<'_>, config: &RecommenderConfig) {
    let Some(activity) = workload.stats.usage.activity() else {
        return;
    };
    if !config.zombie_rule().is_idle(&activity) {
        return;
    }
    workload.push(
        findings,
        RecommendationType::ZombiePod,
        format!(
            "{} used {} of CPU on average (peak {}) while {}; remove it if it is unused",
            workload.label,
            cores(activity.mean_cpu_cores),
            cores(activity.peak_cpu_cores),
            activity.cost_in_words()
        ),
        Change::Remove {
            namespace: workload.namespace.into(),
            kind: Some(workload.kind.into()),
            name: Some(workload.name.into()),
        },
        |_| {},
    );
}

/// A request far above use, and the request use calls for.
struct Sizing {
    /// Mean use per pod.
    mean: f64,
    /// The latest request per pod.
    request: f64,
    /// 95th percentile of use per pod.
    p95: f64,
    /// `max(P95, (mean + max) / 2) × headroom`, before any floor.
    balanced: f64,
}

/// What a request reserves.
#[derive(Debug, Clone, Copy)]
enum Resource {
    Cpu,
    Memory,
}

impl Sizing {
    /// When the mean use of the resource is below its threshold of a positive request.
    fn of(stats: &TargetStats, resource: Resource, config: &RecommenderConfig) -> Option<Self> {
        let (mean, request, points, max, threshold) = match resource {
            Resource::Cpu => (
                stats.cpu_mean(),
                stats.latest_cpu_request,
                &stats.cpu_points,
                stats.cpu_max,
                config.rightsizing_cpu_threshold,
            ),
            Resource::Memory => (
                stats.mem_mean(),
                stats.latest_mem_request,
                &stats.mem_points,
                stats.mem_max,
                config.rightsizing_memory_threshold,
            ),
        };
        let (mean, request) = mean
            .zip(request.filter(|r| *r > 0.0))
            .filter(|(mean, request)| mean / request < threshold)?;
        let p95 = percentile(points, 0.95).unwrap_or(mean);
        Some(Self {
            mean,
            request,
            p95,
            balanced: p95.max(f64::midpoint(mean, max)) * config.rightsizing_headroom,
        })
    }
}

/// A CPU or memory request far above use (per pod); the recommended request is never below the
/// configured minimum (and says so when floored).
fn rightsizing(
    findings: &mut Findings<'_>,
    workload: &Workload<'_>,
    config: &RecommenderConfig,
    resource: Resource,
) {
    let stats = workload.stats;
    let Some(sizing) = Sizing::of(stats, resource, config) else {
        return;
    };
    let (kind, what, in_units, floor, max): (_, _, fn(f64) -> String, _, _) = match resource {
        Resource::Cpu => (
            RecommendationType::RightsizingCpu,
            "CPU",
            cores,
            config.min_cpu_cores,
            stats.cpu_max,
        ),
        Resource::Memory => (
            RecommendationType::RightsizingMemory,
            "memory",
            mib,
            config.min_memory_bytes,
            stats.mem_max,
        ),
    };
    let mut recommended = sizing.balanced.max(floor);
    if matches!(resource, Resource::Memory) {
        recommended = recommended.round();
    }
    let request = sizing.request;
    if recommended >= request {
        return;
    }
    let floored = if sizing.balanced < floor {
        format!(" (floored to the minimum {})", in_units(floor))
    } else {
        String::new()
    };
    let (cpu_request_cores, memory_request_bytes) = match resource {
        Resource::Cpu => (Some(recommended), None),
        Resource::Memory => (None, Some(recommended)),
    };
    workload.push(
        findings,
        kind,
        format!(
            "{} uses {} of {what} on average ({} of its {} request; P95 {}, max {}); request \
             {}{floored}",
            workload.label,
            in_units(sizing.mean),
            pct(sizing.mean / request),
            in_units(request),
            in_units(sizing.p95),
            in_units(max),
            in_units(recommended)
        ),
        Change::Requests {
            namespace: workload.namespace.into(),
            kind: workload.kind.into(),
            name: workload.name.into(),
            cpu_request_cores,
            memory_request_bytes,
        },
        |rec| match resource {
            Resource::Cpu => {
                rec.current_cpu_request_cores = Some(request);
                rec.recommended_cpu_request_cores = Some(recommended);
            }
            Resource::Memory => {
                rec.current_memory_request_bytes = Some(request);
                rec.recommended_memory_request_bytes = Some(recommended);
            }
        },
    );
}

/// Spiky load an autoscaler would follow (not for workloads an HPA already governs).
fn autoscaling(
    findings: &mut Findings<'_>,
    workload: &Workload<'_>,
    config: &RecommenderConfig,
    inventory: Option<&Inventory>,
) {
    let stats = workload.stats;
    let governed = workload.kind != "Pod"
        && inventory.is_some_and(|i| i.has_hpa(workload.namespace, workload.kind, workload.name));
    if stats.load_windows < 3 || !stats.latest_cpu_request.is_some_and(|r| r > 0.0) || governed {
        return;
    }
    let windows = stats.load_windows as f64;
    let mean = stats.load_sum / windows;
    if mean <= 0.0 {
        return;
    }
    let variance = (stats.load_sum_of_squares / windows - mean * mean).max(0.0);
    let variation = variance.sqrt() / mean;
    let spike = stats.load_max / mean;
    if !(variation > config.autoscaling_cv_threshold && spike > config.autoscaling_spike_ratio) {
        return;
    }
    workload.push(
        findings,
        RecommendationType::AutoscalingCandidate,
        format!(
            "the load of {} varies a lot (coefficient of variation {variation:.2}, peak {spike:.1}× \
             the mean {}); a HorizontalPodAutoscaler would follow it",
            workload.label,
            cores(mean)
        ),
        Change::Autoscale {
            namespace: workload.namespace.into(),
            kind: workload.kind.into(),
            name: workload.name.into(),
            target_utilisation: 0.7,
            min_replicas: 1,
        },
        |_| {},
    );
}

/// A daily idle period long enough to scale to zero, by [`crate::waste`]'s off-peak rule.
fn off_peak(findings: &mut Findings<'_>, workload: &Workload<'_>, config: &RecommenderConfig) {
    let stats = workload.stats;
    let Some(run) = config
        .off_peak_rule()
        .run(&stats.hourly, stats.load_windows)
    else {
        return;
    };
    let (start, end, hours) = (run.start, run.end(), run.hours);
    let schedule = format!("Scale to 0: {start:02}:00-{end:02}:00 UTC");
    workload.push(
        findings,
        RecommendationType::OffPeakScaling,
        format!(
            "{} is idle (under {} of its peak hourly load {}) for {hours} hours a day, \
             {start:02}:00 to {end:02}:00 UTC",
            workload.label,
            pct(config.off_peak_idle_fraction),
            cores(stats.hourly.peak())
        ),
        Change::Schedule {
            namespace: workload.namespace.into(),
            kind: workload.kind.into(),
            name: workload.name.into(),
            off_from_hour: start as u8,
            off_to_hour: end as u8,
        },
        |rec| rec.schedule = Some(schedule),
    );
}

/// Runs when its grid is much dirtier than its zone's average: in each zone it ran in, the
/// intensity it saw against the zone's average, weighted by its rows.
fn carbon_aware(
    findings: &mut Findings<'_>,
    workload: &Workload<'_>,
    config: &RecommenderConfig,
    zones: &FastMap<Arc<str>, (f64, u64)>,
) {
    let mut rows = 0u64;
    let mut weighted = 0.0;
    let mut own_sum = 0.0;
    let mut zone_sum = 0.0;
    for (zone, sum, count) in &workload.stats.intensities {
        if let Some(&(zone_total, zone_count)) = zones.get(zone)
            && zone_count > 0
            && zone_total > 0.0
        {
            let own = sum / *count as f64;
            let average = zone_total / zone_count as f64;
            weighted += own / average * *count as f64;
            own_sum += sum;
            zone_sum += average * *count as f64;
            rows += count;
        }
    }
    if rows == 0 {
        return;
    }
    let ratio = weighted / rows as f64;
    if ratio <= config.carbon_aware_ratio {
        return;
    }
    let own = own_sum / rows as f64;
    let average = zone_sum / rows as f64;
    workload.push(
        findings,
        RecommendationType::CarbonAwareScheduling,
        format!(
            "{} runs at {own:.0} gCO2e/kWh on average, {ratio:.2}× the {average:.0} average of \
             its zone(s) over the same period; run its load in the day's cleanest hours",
            workload.label
        ),
        Change::TimeShift {
            namespace: workload.namespace.into(),
            kind: workload.kind.into(),
            name: workload.name.into(),
        },
        |_| {},
    );
}
