//! Node rules: overprovisioned and underutilised nodes, a more efficient instance family,
//! consolidation of a pool, and a cleaner region.

use std::collections::BTreeMap;

use super::{Basis, Findings, Subject, cores, pct};
use crate::recommend::analysis::{Analysis, NodeStats};
use crate::recommend::{RecommendationType, RecommenderConfig};
use crate::reference::{CpuPower, InstanceType, Provider, ReferenceData};
use crate::units::BYTES_PER_GIB;
use crate::whatif::Change;

/// Every node rule.
pub(super) fn rules(
    findings: &mut Findings<'_>,
    analysis: &Analysis,
    config: &RecommenderConfig,
    reference: &ReferenceData,
) {
    let nodes: BTreeMap<&str, &NodeStats> = analysis
        .nodes
        .iter()
        .filter(|(_, stats)| stats.windows > 0)
        .map(|(name, stats)| (name.as_ref(), stats))
        .collect();
    for (&name, stats) in &nodes {
        if stats.vcpus > 0.0 {
            overprovisioned(findings, name, stats, config, reference);
            underutilised(findings, name, stats, config, nodes.len());
        }
    }
    pools(findings, analysis, &nodes, config, reference);
    region_shift(findings, analysis, &nodes, config, reference);
}

/// The catalogue entry of a node's instance type.
fn catalogued<'a>(stats: &NodeStats, reference: &'a ReferenceData) -> Option<&'a InstanceType> {
    let instance_type = stats.instance_type.as_deref()?;
    let provider = stats
        .provider
        .as_deref()
        .map_or(Provider::Unknown, Provider::parse);
    reference.instance_type(provider, instance_type)
}

/// Memory capacity of a node, bytes: observed, else the catalogue's.
fn memory_of(stats: &NodeStats, instance: Option<&InstanceType>) -> Option<f64> {
    stats.memory_capacity.or_else(|| {
        instance
            .and_then(|i| i.memory_gib)
            .map(|gib| gib * BYTES_PER_GIB)
    })
}

/// A smaller type of the same CPU family fits the node's peak.
fn overprovisioned(
    findings: &mut Findings<'_>,
    name: &str,
    stats: &NodeStats,
    config: &RecommenderConfig,
    reference: &ReferenceData,
) {
    let utilisation = stats.cpu_util();
    let current = catalogued(stats, reference);
    let memory_utilisation = memory_of(stats, current)
        .filter(|memory| *memory > 0.0)
        .map(|memory| stats.mem_sum / stats.windows as f64 / memory);
    let Some(current) = current else { return };
    if !(utilisation < config.node_utilisation_threshold
        && memory_utilisation.is_none_or(|m| m < config.node_utilisation_threshold))
    {
        return;
    }
    let needed_cpu = stats.peak_reserved.max(stats.peak_usage) / 0.7;
    let needed_memory = stats.peak_memory / 0.7;
    let smaller = reference
        .instance_types_of(current.provider)
        .filter(|c| {
            c.microarchitectures == current.microarchitectures && !c.microarchitectures.is_empty()
        })
        .filter(|c| c.vcpus < current.vcpus && c.vcpus >= needed_cpu)
        .filter(|c| {
            c.memory_gib
                .is_none_or(|gib| gib * BYTES_PER_GIB >= needed_memory)
        })
        .min_by(|x, y| {
            x.vcpus
                .total_cmp(&y.vcpus)
                .then_with(|| x.name.cmp(&y.name))
        });
    let Some(smaller) = smaller else { return };
    let memory_text =
        memory_utilisation.map_or_else(String::new, |m| format!(", memory {}", pct(m)));
    findings.push(
        RecommendationType::OverprovisionedNode,
        &Subject::node(name),
        format!(
            "node '{name}' ({}, {} vCPUs) averages {} CPU utilisation{memory_text}; its peak \
             ({} reserved) fits a {} ({} vCPUs)",
            current.name,
            current.vcpus,
            pct(utilisation),
            cores(stats.peak_reserved),
            smaller.name,
            smaller.vcpus
        ),
        vec![Change::InstanceType {
            nodes: vec![name.to_string()],
            from_instance_type: None,
            instance_type: smaller.name.clone(),
        }],
        Basis::Cluster,
        |_| {},
    );
}

/// Few pods, little load: drain the node if other nodes exist.
fn underutilised(
    findings: &mut Findings<'_>,
    name: &str,
    stats: &NodeStats,
    config: &RecommenderConfig,
    node_count: usize,
) {
    let utilisation = stats.cpu_util();
    if stats.pods.len() < config.underutilised_max_pods
        && utilisation < config.underutilised_utilisation
        && node_count > 1
    {
        findings.push(
            RecommendationType::UnderutilizedNode,
            &Subject::node(name),
            format!(
                "node '{name}' ran {} distinct pods at {} average CPU utilisation; move them and \
                 remove the node",
                stats.pods.len(),
                pct(utilisation)
            ),
            vec![Change::Drain {
                nodes: vec![name.to_string()],
            }],
            Basis::Cluster,
            |_| {},
        );
    }
}

/// Pools (same provider and instance type): a more efficient family, consolidation.
fn pools(
    findings: &mut Findings<'_>,
    analysis: &Analysis,
    nodes: &BTreeMap<&str, &NodeStats>,
    config: &RecommenderConfig,
    reference: &ReferenceData,
) {
    let mut pools: BTreeMap<(&str, &str), Vec<(&str, &NodeStats)>> = BTreeMap::new();
    for (&name, stats) in nodes {
        if let (Some(provider), Some(instance_type)) = (&stats.provider, &stats.instance_type) {
            pools
                .entry((provider.as_ref(), instance_type.as_ref()))
                .or_default()
                .push((name, stats));
        }
    }
    for ((provider, instance_type), members) in &pools {
        let Some(current) = reference.instance_type(Provider::parse(provider), instance_type)
        else {
            continue;
        };
        let pool = Pool {
            provider,
            instance_type,
            members,
            current,
        };
        instance_family(findings, analysis, &pool, config, reference);
        consolidation(findings, &pool, config);
    }
}

/// Nodes of the same provider and instance type.
struct Pool<'a> {
    provider: &'a str,
    /// As the nodes name it.
    instance_type: &'a str,
    members: &'a [(&'a str, &'a NodeStats)],
    /// The catalogue's entry.
    current: &'a InstanceType,
}

/// Same size, less power at the observed load.
fn instance_family(
    findings: &mut Findings<'_>,
    analysis: &Analysis,
    pool: &Pool<'_>,
    config: &RecommenderConfig,
    reference: &ReferenceData,
) {
    let Pool {
        instance_type,
        members,
        current,
        ..
    } = *pool;
    let utilisation =
        (members.iter().map(|(_, s)| s.cpu_util()).sum::<f64>() / members.len() as f64).min(1.0);
    let intensity = members
        .iter()
        .filter_map(|(_, s)| s.zone.as_ref())
        .find_map(|zone| zone_mean(analysis, zone))
        .unwrap_or(reference.coefficients().default_intensity.point);
    let Some(grams) = hourly_grams(reference, current, utilisation, intensity) else {
        return;
    };
    let best = reference
        .instance_types_of(current.provider)
        .filter(|c| c.vcpus == current.vcpus && c.name != current.name)
        .filter(|c| match (c.memory_gib, current.memory_gib) {
            (Some(offered), Some(needed)) => offered >= needed,
            (None, Some(_)) => false,
            _ => true,
        })
        .filter_map(|c| hourly_grams(reference, c, utilisation, intensity).map(|g| (c, g)))
        .min_by(|x, y| x.1.total_cmp(&y.1).then_with(|| x.0.name.cmp(&y.0.name)));
    let Some((better, better_grams)) =
        best.filter(|(_, g)| *g <= grams * (1.0 - config.instance_family_min_saving))
    else {
        return;
    };
    let arm = better
        .microarchitectures
        .iter()
        .any(|m| m.contains("Graviton") || m.contains("Ampere"));
    findings.push(
        RecommendationType::InstanceFamily,
        &Subject::nodes(instance_type),
        format!(
            "{} node(s) of type {instance_type} ({}) emit about {grams:.2} gCO2e per hour each at \
             {} load (power, memory and embodied); {} ({}) would emit about {better_grams:.2}, \
             with as many vCPUs and at least as much memory{}",
            members.len(),
            current.microarchitectures.join("/"),
            pct(utilisation),
            better.name,
            better.microarchitectures.join("/"),
            if arm {
                " (an ARM CPU: needs arm64 images)"
            } else {
                ""
            }
        ),
        vec![Change::InstanceType {
            nodes: vec![],
            from_instance_type: Some(instance_type.to_string()),
            instance_type: better.name.clone(),
        }],
        Basis::Cluster,
        |_| {},
    );
}

/// The sum of each node's peak fits in fewer nodes of the pool.
fn consolidation(findings: &mut Findings<'_>, pool: &Pool<'_>, config: &RecommenderConfig) {
    let Pool {
        provider,
        instance_type,
        members,
        current,
    } = *pool;
    if members.len() < 2 {
        return;
    }
    let peak_cpu: f64 = members
        .iter()
        .map(|(_, s)| s.peak_reserved.max(s.peak_usage))
        .sum();
    let per_node = current.vcpus * config.consolidation_target_utilisation;
    let mut needed = (peak_cpu / per_node).ceil().max(1.0) as usize;
    if let Some(memory) = memory_of(members[0].1, Some(current)) {
        let peak_memory: f64 = members.iter().map(|(_, s)| s.peak_memory).sum();
        needed = needed.max(
            (peak_memory / (memory * config.consolidation_target_utilisation)).ceil() as usize,
        );
    }
    if needed >= members.len() {
        return;
    }
    let mut by_load: Vec<&(&str, &NodeStats)> = members.iter().collect();
    by_load.sort_by(|x, y| {
        x.1.cpu_util()
            .total_cmp(&y.1.cpu_util())
            .then_with(|| x.0.cmp(y.0))
    });
    let drained: Vec<String> = by_load
        .iter()
        .take(members.len() - needed)
        .map(|(name, _)| (*name).to_string())
        .collect();
    findings.push(
        RecommendationType::NodeConsolidation,
        &Subject::nodes(&format!("{provider}/{instance_type}")),
        format!(
            "the {} {instance_type} nodes' peaks add up to {} of CPU, which fits in {needed} \
             node(s) at {} utilisation; remove {}",
            members.len(),
            cores(peak_cpu),
            pct(config.consolidation_target_utilisation),
            drained.join(", ")
        ),
        vec![Change::Drain {
            nodes: drained.clone(),
        }],
        Basis::Cluster,
        |_| {},
    );
}

/// Same provider, a region whose grid is markedly cleaner.
fn region_shift(
    findings: &mut Findings<'_>,
    analysis: &Analysis,
    nodes: &BTreeMap<&str, &NodeStats>,
    config: &RecommenderConfig,
    reference: &ReferenceData,
) {
    let mut regions: BTreeMap<(&str, &str), (Option<&str>, usize)> = BTreeMap::new();
    for stats in nodes.values() {
        if let (Some(provider), Some(region)) = (&stats.provider, &stats.region) {
            let entry = regions
                .entry((provider.as_ref(), region.as_ref()))
                .or_insert((stats.zone.as_deref(), 0));
            entry.1 += 1;
        }
    }
    for ((provider, region), (zone, count)) in &regions {
        let Some(zone) = zone else { continue };
        let current = zone_mean(analysis, zone)
            .or_else(|| reference.zone_intensity(zone).map(|z| z.intensity.point))
            .filter(|intensity| *intensity > 0.0);
        let Some(current) = current else {
            continue;
        };
        let provider_id = Provider::parse(provider);
        // Stay in the same geography where region ids say it (`eu-`, `us-`, `europe-`, ...).
        let geography = region
            .split_once('-')
            .map(|(prefix, _)| prefix.to_ascii_lowercase());
        let best = reference
            .region_zones()
            .filter(|(p, r, _)| *p == provider_id && !r.eq_ignore_ascii_case(region))
            .filter(|(_, r, _)| {
                geography
                    .as_deref()
                    .is_none_or(|g| r.to_ascii_lowercase().starts_with(&format!("{g}-")))
            })
            .filter_map(|(_, r, mapping)| {
                reference
                    .zone_intensity(&mapping.zone)
                    .map(|z| (r, mapping.zone.as_str(), z.intensity.point))
            })
            .min_by(|x, y| x.2.total_cmp(&y.2).then_with(|| x.0.cmp(y.0)));
        let Some((cleaner, cleaner_zone, intensity)) =
            best.filter(|(_, _, intensity)| *intensity <= current * config.region_shift_max_ratio)
        else {
            continue;
        };
        findings.push(
            RecommendationType::RegionShift,
            &Subject::nodes(region),
            format!(
                "{count} {provider} node(s) in {region} run on a {current:.0} gCO2e/kWh grid \
                 ({zone}); {cleaner} ({cleaner_zone}) averages {intensity:.0}. Check data \
                 residency and latency first"
            ),
            vec![Change::Region {
                nodes: vec![],
                from_region: Some((*region).to_string()),
                region: cleaner.to_string(),
                zone: None,
            }],
            Basis::Cluster,
            |_| {},
        );
    }
}

/// The mean intensity of a zone over node-windows, when it had any.
fn zone_mean(analysis: &Analysis, zone: &str) -> Option<f64> {
    analysis
        .zones
        .get(zone)
        .filter(|(_, count)| *count > 0)
        .map(|(sum, count)| sum / *count as f64)
}

/// Watts per vCPU of a type: the mean over its CPU families.
fn per_vcpu_power(reference: &ReferenceData, instance: &InstanceType) -> Option<CpuPower> {
    if instance.microarchitectures.is_empty() {
        return None;
    }
    let mut min = 0.0;
    let mut max = 0.0;
    for family in &instance.microarchitectures {
        let power = reference.cpu_power(family, instance.provider)?;
        min += power.min_watts.point;
        max += power.max_watts.point;
    }
    let families = instance.microarchitectures.len() as f64;
    Some(CpuPower {
        min_watts: crate::Ranged::exact(min / families),
        max_watts: crate::Ranged::exact(max / families),
    })
}

/// Watts of `vcpus` at CPU load `utilisation`.
fn node_power(power: CpuPower, vcpus: f64, utilisation: f64) -> f64 {
    vcpus * (power.min_watts.point + utilisation * (power.max_watts.point - power.min_watts.point))
}

/// Grams CO2e per hour of a node of this type at CPU load `utilisation`: CPU and memory power at
/// the given intensity and PUE, plus its embodied figure per hour (reference data, else default).
fn hourly_grams(
    reference: &ReferenceData,
    instance: &InstanceType,
    utilisation: f64,
    intensity: f64,
) -> Option<f64> {
    let coefficients = reference.coefficients();
    let cpu = node_power(
        per_vcpu_power(reference, instance)?,
        instance.vcpus,
        utilisation,
    );
    let memory = instance.memory_gib.unwrap_or(0.0) * coefficients.memory_watts_per_gb.point;
    let pue = reference.provider(instance.provider).pue.point;
    let embodied = reference
        .embodied(instance.provider, &instance.name)
        .map_or_else(
            || {
                coefficients.default_embodied_kgco2e.point * 1000.0
                    / coefficients.lifespan_hours.point
            },
            |figure| figure.kgco2e.point * 1000.0 / figure.lifespan_hours,
        );
    Some((cpu + memory) / 1000.0 * pue * intensity + embodied)
}
