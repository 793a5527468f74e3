//! The rules: which findings the statistics support, and the change that would act on each.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use sha2::{Digest, Sha256};

use super::analysis::{Analysis, NodeStats, TargetStats, percentile};
use super::{Recommendation, RecommendationType, RecommenderConfig, Scope};
use crate::inventory::Inventory;
use crate::reference::{CpuPower, InstanceType, Provider, ReferenceData};
use crate::units::BYTES_PER_GIB;
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

fn identity(
    kind: RecommendationType,
    scope: Scope,
    namespace: Option<&str>,
    target: &str,
    node: Option<&str>,
) -> String {
    let mut h = Sha256::new();
    for part in [
        kind.name(),
        &format!("{scope:?}"),
        namespace.unwrap_or(""),
        target,
        node.unwrap_or(""),
    ] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    h.finalize().iter().take(8).fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

struct Builder<'a> {
    out: Vec<Candidate>,
    methodology: &'a str,
    data_version: &'a str,
}

impl Builder<'_> {
    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        kind: RecommendationType,
        scope: Scope,
        namespace: Option<&str>,
        target_kind: Option<&str>,
        target: &str,
        node: Option<&str>,
        reason: String,
        changes: Vec<Change>,
        basis: Basis,
        fill: impl FnOnce(&mut Recommendation),
    ) {
        let mut rec = Recommendation {
            id: identity(kind, scope, namespace, target, node),
            kind,
            scope,
            priority: kind.priority(),
            namespace: namespace.map(String::from),
            target_kind: target_kind.map(String::from),
            target: target.to_string(),
            node: node.map(String::from),
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
        };
        fill(&mut rec);
        self.out.push(Candidate { rec, basis });
    }
}

fn cores(c: f64) -> String {
    format!("{:.0} m", c * 1000.0)
}

fn mib(b: f64) -> String {
    format!("{:.0} MiB", b / 1024.0 / 1024.0)
}

fn pct(x: f64) -> String {
    format!("{:.0}%", x * 100.0)
}

fn target_rules(
    b: &mut Builder<'_>,
    key: &super::analysis::TargetKey,
    t: &TargetStats,
    config: &RecommenderConfig,
    inventory: Option<&Inventory>,
    zones: &crate::fastmap::FastMap<std::sync::Arc<str>, (f64, u64)>,
) {
    let (ns, kind, name) = (key.0.as_ref(), key.1.as_ref(), key.2.as_ref());
    let scope = if kind == "Pod" {
        Scope::Pod
    } else {
        Scope::Workload
    };
    let label = format!("{kind} '{name}'");
    let wl = |c: Change| vec![c];
    let cpu_mean = t.cpu_mean();

    // Zombie.
    if let Some(activity) = t.usage.activity()
        && config.zombie_rule().is_idle(&activity)
    {
        b.push(
            RecommendationType::ZombiePod,
            scope,
            Some(ns),
            Some(kind),
            name,
            None,
            format!(
                "{label} used {} of CPU on average (peak {}) while {}; remove it if it is unused",
                cores(activity.mean_cpu_cores),
                cores(activity.peak_cpu_cores),
                activity.cost_in_words()
            ),
            wl(Change::Remove {
                namespace: ns.into(),
                kind: Some(kind.into()),
                name: Some(name.into()),
            }),
            Basis::Attributed,
            |_| {},
        );
    }

    // Rightsizing CPU.
    if let (Some(mean), Some(request)) = (cpu_mean, t.latest_cpu_request.filter(|r| *r > 0.0))
        && mean / request < config.rightsizing_cpu_threshold
    {
        let p95 = percentile(&t.cpu_points, 0.95).unwrap_or(mean);
        let balanced = p95.max(f64::midpoint(mean, t.cpu_max)) * config.rightsizing_headroom;
        let recommended = balanced.max(config.min_cpu_cores);
        if recommended < request {
            let floored = if balanced < config.min_cpu_cores {
                format!(" (floored to the minimum {})", cores(config.min_cpu_cores))
            } else {
                String::new()
            };
            b.push(
                RecommendationType::RightsizingCpu,
                scope,
                Some(ns),
                Some(kind),
                name,
                None,
                format!(
                    "{label} uses {} of CPU on average ({} of its {} request; P95 {}, max {}); \
                     request {}{floored}",
                    cores(mean),
                    pct(mean / request),
                    cores(request),
                    cores(p95),
                    cores(t.cpu_max),
                    cores(recommended)
                ),
                wl(Change::Requests {
                    namespace: ns.into(),
                    kind: kind.into(),
                    name: name.into(),
                    cpu_request_cores: Some(recommended),
                    memory_request_bytes: None,
                }),
                Basis::Attributed,
                |r| {
                    r.current_cpu_request_cores = Some(request);
                    r.recommended_cpu_request_cores = Some(recommended);
                },
            );
        }
    }

    // Rightsizing memory.
    if let (Some(mean), Some(request)) = (t.mem_mean(), t.latest_mem_request.filter(|r| *r > 0.0))
        && mean / request < config.rightsizing_memory_threshold
    {
        let p95 = percentile(&t.mem_points, 0.95).unwrap_or(mean);
        let balanced = p95.max(f64::midpoint(mean, t.mem_max)) * config.rightsizing_headroom;
        let recommended = balanced.max(config.min_memory_bytes).round();
        if recommended < request {
            b.push(
                RecommendationType::RightsizingMemory,
                scope,
                Some(ns),
                Some(kind),
                name,
                None,
                format!(
                    "{label} uses {} of memory on average ({} of its {} request; P95 {}, max {}); \
                     request {}",
                    mib(mean),
                    pct(mean / request),
                    mib(request),
                    mib(p95),
                    mib(t.mem_max),
                    mib(recommended)
                ),
                wl(Change::Requests {
                    namespace: ns.into(),
                    kind: kind.into(),
                    name: name.into(),
                    cpu_request_cores: None,
                    memory_request_bytes: Some(recommended),
                }),
                Basis::Attributed,
                |r| {
                    r.current_memory_request_bytes = Some(request);
                    r.recommended_memory_request_bytes = Some(recommended);
                },
            );
        }
    }

    // Autoscaling.
    let governed = kind != "Pod" && inventory.is_some_and(|i| i.has_hpa(ns, kind, name));
    if t.load_n >= 3 && t.latest_cpu_request.is_some_and(|r| r > 0.0) && !governed {
        let n = t.load_n as f64;
        let mean = t.load_sum / n;
        if mean > 0.0 {
            let var = (t.load_sumsq / n - mean * mean).max(0.0);
            let cv = var.sqrt() / mean;
            let spike = t.load_max / mean;
            if cv > config.autoscaling_cv_threshold && spike > config.autoscaling_spike_ratio {
                b.push(
                    RecommendationType::AutoscalingCandidate,
                    scope,
                    Some(ns),
                    Some(kind),
                    name,
                    None,
                    format!(
                        "{label}'s load varies a lot (coefficient of variation {cv:.2}, peak {spike:.1}× the mean {}); \
                         a HorizontalPodAutoscaler would follow it",
                        cores(mean)
                    ),
                    wl(Change::Autoscale {
                        namespace: ns.into(),
                        kind: kind.into(),
                        name: name.into(),
                        target_utilisation: 0.7,
                        min_replicas: 1,
                    }),
                    Basis::Attributed,
                    |_| {},
                );
            }
        }
    }

    // Off-peak scaling.
    if let Some(run) = config.off_peak_rule().run(&t.hourly, t.load_n) {
        let (start, end, len) = (run.start, run.end(), run.hours);
        let schedule = format!("Scale to 0: {start:02}:00-{end:02}:00 UTC");
        b.push(
            RecommendationType::OffPeakScaling,
            scope,
            Some(ns),
            Some(kind),
            name,
            None,
            format!(
                "{label} is idle (under {} of its peak hourly load {}) for {len} hours a day, \
                 {start:02}:00 to {end:02}:00 UTC",
                pct(config.off_peak_idle_fraction),
                cores(t.hourly.peak())
            ),
            wl(Change::Schedule {
                namespace: ns.into(),
                kind: kind.into(),
                name: name.into(),
                off_from_hour: start as u8,
                off_to_hour: end as u8,
            }),
            Basis::Attributed,
            |r| r.schedule = Some(schedule),
        );
    }

    // Carbon-aware scheduling: in each zone it ran in, the intensity it saw against the zone's
    // average; weighted by its rows.
    let mut rows = 0u64;
    let mut weighted = 0.0;
    let mut own_sum = 0.0;
    let mut zone_sum = 0.0;
    for (zone, sum, n) in &t.intensities {
        if let Some(&(zs, zn)) = zones.get(zone)
            && zn > 0
            && zs > 0.0
        {
            let own = sum / *n as f64;
            let avg = zs / zn as f64;
            weighted += own / avg * *n as f64;
            own_sum += sum;
            zone_sum += avg * *n as f64;
            rows += n;
        }
    }
    if rows > 0 {
        let ratio = weighted / rows as f64;
        if ratio > config.carbon_aware_ratio {
            let own = own_sum / rows as f64;
            let avg = zone_sum / rows as f64;
            b.push(
                RecommendationType::CarbonAwareScheduling,
                scope,
                Some(ns),
                Some(kind),
                name,
                None,
                format!(
                    "{label} runs at {own:.0} gCO2e/kWh on average, {ratio:.2}× the {avg:.0} average of its zone(s) \
                     over the same period; run its load in the day's cleanest hours"
                ),
                wl(Change::TimeShift {
                    namespace: ns.into(),
                    kind: kind.into(),
                    name: name.into(),
                }),
                Basis::Attributed,
                |_| {},
            );
        }
    }
}

fn per_vcpu_power(reference: &ReferenceData, it: &InstanceType) -> Option<CpuPower> {
    if it.microarchitectures.is_empty() {
        return None;
    }
    let mut min = 0.0;
    let mut max = 0.0;
    for f in &it.microarchitectures {
        let p = reference.cpu_power(f, it.provider)?;
        min += p.min_watts.point;
        max += p.max_watts.point;
    }
    let n = it.microarchitectures.len() as f64;
    Some(CpuPower {
        min_watts: crate::Ranged::exact(min / n),
        max_watts: crate::Ranged::exact(max / n),
    })
}

fn node_power(p: CpuPower, vcpus: f64, u: f64) -> f64 {
    vcpus * (p.min_watts.point + u * (p.max_watts.point - p.min_watts.point))
}

/// Grams CO2e per hour of a node of this type at CPU load `u`: CPU and memory power at the
/// given intensity and PUE, plus its embodied figure per hour (reference data, else default).
fn hourly_grams(
    reference: &ReferenceData,
    it: &InstanceType,
    u: f64,
    intensity: f64,
) -> Option<f64> {
    let c = reference.coefficients();
    let cpu = node_power(per_vcpu_power(reference, it)?, it.vcpus, u);
    let memory = it.memory_gib.unwrap_or(0.0) * c.memory_watts_per_gb.point;
    let pue = reference.provider(it.provider).pue.point;
    let embodied = reference.embodied(it.provider, &it.name).map_or_else(
        || c.default_embodied_kgco2e.point * 1000.0 / c.lifespan_hours.point,
        |e| e.kgco2e.point * 1000.0 / e.lifespan_hours,
    );
    Some((cpu + memory) / 1000.0 * pue * intensity + embodied)
}

fn memory_of(s: &NodeStats, it: Option<&InstanceType>) -> Option<f64> {
    s.memory_capacity
        .or_else(|| it.and_then(|i| i.memory_gib).map(|g| g * BYTES_PER_GIB))
}

fn node_rules(
    b: &mut Builder<'_>,
    a: &Analysis,
    config: &RecommenderConfig,
    reference: &ReferenceData,
) {
    let nodes: BTreeMap<&str, &NodeStats> = a
        .nodes
        .iter()
        .filter(|(_, s)| s.windows > 0)
        .map(|(k, v)| (k.as_ref(), v))
        .collect();
    let catalogue = |s: &NodeStats| -> Option<&InstanceType> {
        let t = s.instance_type.as_deref()?;
        reference.instance_type(
            s.provider
                .as_deref()
                .map_or(Provider::Unknown, Provider::parse),
            t,
        )
    };
    for (&name, s) in &nodes {
        if s.vcpus <= 0.0 {
            continue;
        }
        let util = s.cpu_util();
        let it = catalogue(s);
        let mem_util = memory_of(s, it)
            .filter(|m| *m > 0.0)
            .map(|m| s.mem_sum / s.windows as f64 / m);
        // Overprovisioned: a smaller type of the same CPU family fits the peak.
        if util < config.node_utilisation_threshold
            && mem_util.is_none_or(|m| m < config.node_utilisation_threshold)
            && let Some(current) = it
        {
            let need_cpu = (s.peak_reserved.max(s.peak_usage)) / 0.7;
            let need_mem = s.peak_memory / 0.7;
            let smaller = reference
                .instance_types_of(current.provider)
                .filter(|c| {
                    c.microarchitectures == current.microarchitectures
                        && !c.microarchitectures.is_empty()
                })
                .filter(|c| c.vcpus < current.vcpus && c.vcpus >= need_cpu)
                .filter(|c| c.memory_gib.is_none_or(|g| g * BYTES_PER_GIB >= need_mem))
                .min_by(|x, y| {
                    x.vcpus
                        .total_cmp(&y.vcpus)
                        .then_with(|| x.name.cmp(&y.name))
                });
            if let Some(to) = smaller {
                let mem_text =
                    mem_util.map_or_else(String::new, |m| format!(", memory {}", pct(m)));
                b.push(
                    RecommendationType::OverprovisionedNode,
                    Scope::Node,
                    None,
                    None,
                    name,
                    Some(name),
                    format!(
                        "node '{name}' ({}, {} vCPUs) averages {} CPU utilisation{mem_text}; its peak \
                         ({} reserved) fits a {} ({} vCPUs)",
                        current.name,
                        current.vcpus,
                        pct(util),
                        cores(s.peak_reserved),
                        to.name,
                        to.vcpus
                    ),
                    vec![Change::InstanceType {
                        nodes: vec![name.to_string()],
                        from_instance_type: None,
                        instance_type: to.name.clone(),
                    }],
                    Basis::Cluster,
                    |_| {},
                );
            }
        }
        // Underutilised: few pods, little load; drain it if other nodes exist.
        if s.pods.len() < config.underutilised_max_pods
            && util < config.underutilised_utilisation
            && nodes.len() > 1
        {
            b.push(
                RecommendationType::UnderutilizedNode,
                Scope::Node,
                None,
                None,
                name,
                Some(name),
                format!(
                    "node '{name}' ran {} distinct pods at {} average CPU utilisation; move them and remove the node",
                    s.pods.len(),
                    pct(util)
                ),
                vec![Change::Drain {
                    nodes: vec![name.to_string()],
                }],
                Basis::Cluster,
                |_| {},
            );
        }
    }

    // Pools: same provider and instance type.
    let mut pools: BTreeMap<(String, String), Vec<(&str, &NodeStats)>> = BTreeMap::new();
    for (&name, s) in &nodes {
        if let (Some(p), Some(t)) = (&s.provider, &s.instance_type) {
            pools
                .entry((p.to_string(), t.to_string()))
                .or_default()
                .push((name, s));
        }
    }
    for ((provider, instance_type), members) in &pools {
        let prov = Provider::parse(provider);
        let Some(current) = reference.instance_type(prov, instance_type) else {
            continue;
        };
        // Instance family: same size, less power at the observed load.
        let util = members.iter().map(|(_, s)| s.cpu_util()).sum::<f64>() / members.len() as f64;
        let u = util.min(1.0);
        let intensity = members
            .iter()
            .filter_map(|(_, s)| s.zone.as_ref())
            .find_map(|z| {
                a.zones
                    .get(z)
                    .filter(|(_, n)| *n > 0)
                    .map(|(sum, n)| sum / *n as f64)
            })
            .unwrap_or(reference.coefficients().default_intensity.point);
        if let Some(cur) = hourly_grams(reference, current, u, intensity) {
            let best = reference
                .instance_types_of(prov)
                .filter(|c| c.vcpus == current.vcpus && c.name != current.name)
                .filter(|c| match (c.memory_gib, current.memory_gib) {
                    (Some(a), Some(b)) => a >= b,
                    (None, Some(_)) => false,
                    _ => true,
                })
                .filter_map(|c| hourly_grams(reference, c, u, intensity).map(|g| (c, g)))
                .min_by(|x, y| x.1.total_cmp(&y.1).then_with(|| x.0.name.cmp(&y.0.name)));
            if let Some((to, grams)) = best
                && grams <= cur * (1.0 - config.instance_family_min_saving)
            {
                let arm = to
                    .microarchitectures
                    .iter()
                    .any(|m| m.contains("Graviton") || m.contains("Ampere"));
                b.push(
                    RecommendationType::InstanceFamily,
                    Scope::Node,
                    None,
                    None,
                    instance_type,
                    None,
                    format!(
                        "{} node(s) of type {instance_type} ({}) emit about {cur:.2} gCO2e per hour each at {} load \
                         (power, memory and embodied); {} ({}) would emit about {grams:.2}, with as many vCPUs and \
                         at least as much memory{}",
                        members.len(),
                        current.microarchitectures.join("/"),
                        pct(u),
                        to.name,
                        to.microarchitectures.join("/"),
                        if arm { " (an ARM CPU: needs arm64 images)" } else { "" }
                    ),
                    vec![Change::InstanceType {
                        nodes: vec![],
                        from_instance_type: Some(instance_type.clone()),
                        instance_type: to.name.clone(),
                    }],
                    Basis::Cluster,
                    |_| {},
                );
            }
        }
        // Consolidation: the sum of each node's peak fits in fewer nodes.
        if members.len() >= 2 {
            let peak_cpu: f64 = members
                .iter()
                .map(|(_, s)| s.peak_reserved.max(s.peak_usage))
                .sum();
            let per_node = current.vcpus * config.consolidation_target_utilisation;
            let mut needed = (peak_cpu / per_node).ceil().max(1.0) as usize;
            if let Some(mem) = memory_of(members[0].1, Some(current)) {
                let peak_mem: f64 = members.iter().map(|(_, s)| s.peak_memory).sum();
                needed = needed.max(
                    (peak_mem / (mem * config.consolidation_target_utilisation)).ceil() as usize,
                );
            }
            if needed < members.len() {
                let mut by_load: Vec<&(&str, &NodeStats)> = members.iter().collect();
                by_load.sort_by(|x, y| {
                    x.1.cpu_util()
                        .total_cmp(&y.1.cpu_util())
                        .then_with(|| x.0.cmp(y.0))
                });
                let drained: Vec<String> = by_load
                    .iter()
                    .take(members.len() - needed)
                    .map(|(n, _)| (*n).to_string())
                    .collect();
                b.push(
                    RecommendationType::NodeConsolidation,
                    Scope::Node,
                    None,
                    None,
                    &format!("{provider}/{instance_type}"),
                    None,
                    format!(
                        "the {} {instance_type} nodes' peaks add up to {} of CPU, which fits in {needed} node(s) at {} \
                         utilisation; remove {}",
                        members.len(),
                        cores(peak_cpu),
                        pct(config.consolidation_target_utilisation),
                        drained.join(", ")
                    ),
                    vec![Change::Drain { nodes: drained.clone() }],
                    Basis::Cluster,
                    |_| {},
                );
            }
        }
    }

    // Region shift: same provider, a region whose grid is markedly cleaner.
    let mut regions: BTreeMap<(String, String), (Option<&str>, usize)> = BTreeMap::new();
    for s in nodes.values() {
        if let (Some(p), Some(r)) = (&s.provider, &s.region) {
            let e = regions
                .entry((p.to_string(), r.to_string()))
                .or_insert((s.zone.as_deref(), 0));
            e.1 += 1;
        }
    }
    for ((provider, region), (zone, count)) in &regions {
        let Some(zone) = zone else { continue };
        let current = a
            .zones
            .get(*zone)
            .filter(|(_, n)| *n > 0)
            .map(|(sum, n)| sum / *n as f64)
            .or_else(|| reference.zone_intensity(zone).map(|z| z.intensity.point));
        let Some(current) = current.filter(|c| *c > 0.0) else {
            continue;
        };
        let prov = Provider::parse(provider);
        // Stay in the same geography where region ids say it (`eu-`, `us-`, `europe-`, ...).
        let geography = region.split_once('-').map(|(g, _)| g.to_ascii_lowercase());
        let best = reference
            .region_zones()
            .filter(|(p, r, _)| *p == prov && !r.eq_ignore_ascii_case(region))
            .filter(|(_, r, _)| {
                geography
                    .as_deref()
                    .is_none_or(|g| r.to_ascii_lowercase().starts_with(&format!("{g}-")))
            })
            .filter_map(|(_, r, rz)| {
                reference
                    .zone_intensity(&rz.zone)
                    .map(|z| (r, rz.zone.as_str(), z.intensity.point))
            })
            .min_by(|x, y| x.2.total_cmp(&y.2).then_with(|| x.0.cmp(y.0)));
        if let Some((to, to_zone, intensity)) = best
            && intensity <= current * config.region_shift_max_ratio
        {
            b.push(
                RecommendationType::RegionShift,
                Scope::Node,
                None,
                None,
                region,
                None,
                format!(
                    "{count} {provider} node(s) in {region} run on a {current:.0} gCO2e/kWh grid ({zone}); \
                     {to} ({to_zone}) averages {intensity:.0}. Check data residency and latency first"
                ),
                vec![Change::Region {
                    nodes: vec![],
                    from_region: Some(region.clone()),
                    region: to.to_string(),
                    zone: None,
                }],
                Basis::Cluster,
                |_| {},
            );
        }
    }
}

/// All findings, unpriced.
pub(super) fn candidates(
    a: &Analysis,
    config: &RecommenderConfig,
    inventory: Option<&Inventory>,
    reference: &ReferenceData,
) -> Vec<Candidate> {
    let methodology = a.methodology.clone().unwrap_or_else(|| "full".into());
    let data_version = a.data_version.clone().unwrap_or_default();
    let mut b = Builder {
        out: Vec::new(),
        methodology: &methodology,
        data_version: &data_version,
    };
    let mut order: Vec<usize> = (0..a.targets.len()).collect();
    order.sort_by(|&x, &y| a.target_keys[x].cmp(&a.target_keys[y]));
    for i in order {
        let key = &a.target_keys[i];
        if config.excludes(&key.0) {
            continue;
        }
        target_rules(&mut b, key, &a.targets[i], config, inventory, &a.zones);
    }
    let mut namespaces: Vec<_> = a.namespace_names.iter().zip(&a.namespaces).collect();
    namespaces.sort_by(|x, y| x.0.cmp(y.0));
    let idle_namespace = config.idle_namespace_rule();
    for (ns, s) in namespaces {
        if config.excludes(ns) {
            continue;
        }
        if let Some(activity) = s.usage.activity()
            && idle_namespace.is_idle(&activity)
        {
            b.push(
                RecommendationType::IdleNamespace,
                Scope::Namespace,
                Some(ns),
                None,
                ns,
                None,
                format!(
                    "namespace '{ns}' used {} of CPU in total on average (peak {}) while {}",
                    cores(activity.mean_cpu_cores),
                    cores(activity.peak_cpu_cores),
                    activity.cost_in_words()
                ),
                vec![Change::Remove {
                    namespace: ns.to_string(),
                    kind: None,
                    name: None,
                }],
                Basis::Attributed,
                |_| {},
            );
        }
    }
    node_rules(&mut b, a, config, reference);
    b.out
}
