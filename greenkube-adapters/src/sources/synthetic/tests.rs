//! The demo's cluster: determinism, shape, usage over time, costs, intensities, and a week
//! through collect, estimate and recommend.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use greenkube_core::collect::{WindowInputs, assemble};
use greenkube_core::ports::{
    EmbodiedSource, IntensityPoint, IntensitySource, InventorySource, SourceErrorKind, TimeRange,
    UsageSource, WindowUsage,
};
use greenkube_core::recommend::{RecommendationType, Recommender, RecommenderConfig};
use greenkube_core::units::{Bytes, Cores, GramsPerKwh};
use greenkube_core::{EmbodiedEntry, EstimateOptions, Inventory, Provider, Reason, ReferenceData};

use super::{
    ALLOCATABLE, CPU_CEILING, FORECAST_SOURCE, GIB, INTENSITY_SOURCE, MEMORY_CEILING,
    SyntheticCluster, SyntheticConfig, provider_price,
};

fn at(day: u32, hour: u32, minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 6, day, hour, minute, 0)
        .single()
        .expect("a valid instant")
}

fn range(from: DateTime<Utc>, to: DateTime<Utc>) -> TimeRange {
    TimeRange::new(from, to).expect("a valid range")
}

const FIVE_MINUTES: Duration = Duration::from_secs(300);

/// Summed CPU of a namespace's pods over the 5-minute windows of `[from, to)`.
fn namespace_cpu(c: &SyntheticCluster, ns: &str, from: DateTime<Utc>, to: DateTime<Utc>) -> f64 {
    let mut total = 0.0;
    let mut t = from;
    while t < to {
        let end = t + TimeDelta::minutes(5);
        total += c
            .window_usage(t, end)
            .pods
            .iter()
            .filter(|p| &*p.namespace == ns)
            .filter_map(|p| p.cpu_usage_cores)
            .map(|c| c.0)
            .sum::<f64>();
        t = end;
    }
    total
}

#[tokio::test]
async fn the_same_seed_gives_the_same_answers() {
    let (a, b) = (SyntheticCluster::new(7), SyntheticCluster::new(7));
    let day = range(at(23, 0, 0), at(24, 0, 0));
    assert_eq!(
        a.inventory().await.expect("inventory"),
        b.inventory().await.expect("inventory")
    );
    let ua = a.usage(day, FIVE_MINUTES).await.expect("usage");
    assert_eq!(ua, b.usage(day, FIVE_MINUTES).await.expect("usage"));
    assert_eq!(ua.len(), 288);
    assert_eq!(a.costs_in(day), b.costs_in(day));
    assert_eq!(
        a.history("DE").await.expect("history"),
        b.history("DE").await.expect("history")
    );
    // Usage is a function of the instant: a window asked alone is the window asked in a day.
    let alone = a.window_usage(at(23, 14, 0), at(23, 14, 5));
    assert_eq!(
        Some(&alone),
        ua.iter().find(|w| w.window_start == at(23, 14, 0))
    );
}

#[test]
fn different_seeds_give_different_clusters() {
    let (a, b) = (SyntheticCluster::new(1), SyntheticCluster::new(2));
    let names = |c: &SyntheticCluster| -> Vec<Arc<str>> {
        c.cluster_nodes().iter().map(|n| n.name.clone()).collect()
    };
    assert_ne!(names(&a), names(&b));
    let (t, e) = (at(25, 10, 0), at(25, 10, 5));
    let cpu = |c: &SyntheticCluster| -> Vec<u64> {
        c.window_usage(t, e)
            .pods
            .iter()
            .filter_map(|p| p.cpu_usage_cores)
            .map(|c| c.0.to_bits())
            .collect()
    };
    assert_ne!(cpu(&a), cpu(&b));
    assert_ne!(a.intensity_at("DE", t), b.intensity_at("DE", t));
}

#[test]
fn clusters_have_a_realistic_shape_for_any_seed() {
    let reference = ReferenceData::embedded();
    for seed in 0..40 {
        let c = SyntheticCluster::new(seed);
        let nodes = c.cluster_nodes();
        assert!(
            (12..=18).contains(&nodes.len()),
            "seed {seed}: {} nodes",
            nodes.len()
        );
        assert!(
            (50..=70).contains(&c.pods().len()),
            "seed {seed}: {} pods",
            c.pods().len()
        );
        let namespaces: BTreeSet<&str> = c.pods().iter().map(|p| &*p.namespace).collect();
        assert!(
            (10..=14).contains(&namespaces.len()),
            "seed {seed}: {namespaces:?}"
        );
        assert_eq!(namespaces.len(), c.namespaces().len());
        for ns in [
            "kube-system",
            "monitoring",
            "staging",
            "legacy",
            "data-pipeline",
        ] {
            assert!(namespaces.contains(ns), "seed {seed}: no {ns}");
        }
        let providers: BTreeSet<&str> =
            nodes.iter().filter_map(|n| n.provider.as_deref()).collect();
        assert!(providers.len() >= 3, "seed {seed}: {providers:?}");
        let zones: BTreeSet<&str> = nodes.iter().filter_map(|n| n.zone.as_deref()).collect();
        assert!(zones.len() >= 4, "seed {seed}: {zones:?}");

        for node in nodes {
            let provider = Provider::parse(node.provider.as_deref().unwrap_or_default());
            let itype = node.instance_type.as_deref().unwrap_or_default();
            let known = reference
                .instance_type(provider, itype)
                .unwrap_or_else(|| panic!("{itype} not in the catalogue"));
            assert_eq!(node.cpu_capacity_cores, Some(Cores(known.vcpus)), "{itype}");
            if let Some(gib) = known.memory_gib {
                assert_eq!(
                    node.memory_capacity_bytes,
                    Some(Bytes(gib * GIB)),
                    "{itype}"
                );
            }
            let zone = node.zone.as_deref().unwrap_or_default();
            let (electricity, _) = reference
                .map_zone(zone, provider, false)
                .unwrap_or_else(|| panic!("zone {zone} does not map"));
            assert!(
                reference.zone_intensity(electricity).is_some(),
                "{electricity}"
            );
            let labels = node.labels.as_ref().expect("labels");
            assert_eq!(
                labels
                    .get("node.kubernetes.io/instance-type")
                    .map(String::as_str),
                Some(itype)
            );
            // Scheduled requests fit in the allocatable share of the node.
            let requested: f64 = c
                .pods()
                .iter()
                .filter(|p| p.node.as_ref() == Some(&node.name))
                .filter_map(|p| p.cpu_request_cores)
                .map(|c| c.0)
                .sum();
            assert!(
                requested <= ALLOCATABLE * known.vcpus + 1e-9,
                "{}",
                node.name
            );
            let daemons = c
                .pods()
                .iter()
                .filter(|p| p.owner_kind.as_deref() == Some("DaemonSet"))
                .filter(|p| p.node.as_ref() == Some(&node.name))
                .count();
            assert_eq!(daemons, 1, "seed {seed}: DaemonSet pods on {}", node.name);
        }
        assert!(
            c.pods().iter().all(|p| p.node.is_some()),
            "seed {seed}: a pending pod"
        );
        let kinds: BTreeSet<Option<&str>> =
            c.pods().iter().map(|p| p.owner_kind.as_deref()).collect();
        for kind in [
            Some("Deployment"),
            Some("StatefulSet"),
            Some("DaemonSet"),
            None,
        ] {
            assert!(kinds.contains(&kind), "seed {seed}: no {kind:?}");
        }
        assert_eq!(c.hpas().len(), 2);
        for h in c.hpas() {
            assert!(c.pods().iter().any(|p| {
                *p.namespace == *h.namespace && p.owner_name.as_deref() == Some(&*h.target_name)
            }));
        }
        let mut keys: Vec<(&str, &str)> =
            c.pods().iter().map(|p| (&*p.namespace, &*p.name)).collect();
        let sorted = keys.clone();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys, sorted, "pods sorted and unique");
    }
}

#[test]
fn the_shape_follows_the_configuration() {
    let small = SyntheticCluster::with_config(
        3,
        SyntheticConfig {
            nodes: 4,
            pods: 30,
            namespaces: 8,
            ..SyntheticConfig::default()
        },
    );
    assert_eq!(small.cluster_nodes().len(), 4);
    assert_eq!(small.namespaces().len(), 8);
    assert!(small.pods().len() <= 40, "{}", small.pods().len());
    let big = SyntheticCluster::with_config(
        3,
        SyntheticConfig {
            nodes: 30,
            pods: 120,
            namespaces: 99,
            ..SyntheticConfig::default()
        },
    );
    assert_eq!(big.namespaces().len(), 16, "clamped");
    assert_eq!(big.pods().len(), 120);
    assert!(big.pods().iter().all(|p| p.node.is_some()));
}

#[test]
fn a_crowded_node_never_holds_more_than_it_has() {
    let c = SyntheticCluster::with_config(
        6,
        SyntheticConfig {
            nodes: 4,
            pods: 70,
            namespaces: 16,
            ..SyntheticConfig::default()
        },
    );
    assert!(
        c.pods().iter().any(|p| p.node.is_none()),
        "some pods stay pending"
    );
    let mut fullest: f64 = 0.0;
    let mut t = at(23, 0, 0);
    while t < at(26, 0, 0) {
        let end = t + TimeDelta::minutes(5);
        let usage = c.window_usage(t, end);
        for node in c.cluster_nodes() {
            let cpu_capacity = node.cpu_capacity_cores.map_or(0.0, |c| c.0);
            let memory_capacity = node.memory_capacity_bytes.map_or(0.0, |b| b.0);
            let on_node = usage
                .pods
                .iter()
                .filter(|p| p.node.as_ref() == Some(&node.name));
            let (mut cpu, mut memory) = (0.0, 0.0);
            for p in on_node {
                // Jobs are not in the inventory: the engine reserves their usage.
                let request = c
                    .pods()
                    .iter()
                    .find(|s| s.name == p.pod && s.namespace == p.namespace)
                    .and_then(|s| s.cpu_request_cores)
                    .map_or(0.0, |c| c.0);
                cpu += request.max(p.cpu_usage_cores.map_or(0.0, |c| c.0));
                memory += p.memory_usage_bytes.map_or(0.0, |b| b.0);
            }
            assert!(
                cpu <= CPU_CEILING * cpu_capacity + 1e-9,
                "{t} {}: {cpu}",
                node.name
            );
            assert!(
                memory <= MEMORY_CEILING * memory_capacity + 1.0,
                "{t} {}",
                node.name
            );
            fullest = fullest.max(cpu / cpu_capacity);
        }
        t = end;
    }
    assert!(fullest > 0.92, "the nodes were under pressure ({fullest})");
}

#[tokio::test]
async fn usage_answers_every_window_of_the_range() {
    let c = SyntheticCluster::new(5);
    let windows = c
        .usage(range(at(25, 7, 0), at(25, 7, 7)), FIVE_MINUTES)
        .await
        .expect("usage");
    let starts: Vec<DateTime<Utc>> = windows.iter().map(|w| w.window_start).collect();
    assert_eq!(starts, [at(25, 7, 0), at(25, 7, 5)]);
    for w in &windows {
        let keys: Vec<(&str, &str)> = w.pods.iter().map(|p| (&*p.namespace, &*p.pod)).collect();
        let mut sorted = keys.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(keys, sorted, "sorted by namespace then pod, once each");
        assert!(
            w.pods
                .iter()
                .all(|p| p.node.is_some() && p.restarts.is_some())
        );
    }
    let none = c
        .usage(range(at(25, 7, 0), at(25, 7, 0)), FIVE_MINUTES)
        .await
        .expect("usage");
    assert!(none.is_empty());
    let err = c
        .usage(range(at(25, 7, 0), at(25, 8, 0)), Duration::ZERO)
        .await
        .expect_err("no zero step");
    assert_eq!(err.kind, SourceErrorKind::BadResponse);
    let err = c
        .usage(range(at(1, 0, 0), at(30, 0, 0)), Duration::from_millis(1))
        .await
        .expect_err("too many windows");
    assert_eq!(err.kind, SourceErrorKind::BadResponse);
}

#[tokio::test]
async fn jobs_run_only_at_their_hours() {
    let c = SyntheticCluster::new(5);
    let etl = |w: &WindowUsage| {
        w.pods
            .iter()
            .filter(|p| p.pod.starts_with("nightly-etl-"))
            .count()
    };
    assert_eq!(etl(&c.window_usage(at(25, 2, 0), at(25, 2, 5))), 1);
    assert_eq!(etl(&c.window_usage(at(25, 12, 0), at(25, 12, 5))), 0);
    let long_running = c.inventory().await.expect("inventory").pods;
    assert!(
        long_running
            .iter()
            .all(|p| !p.name.starts_with("nightly-etl-"))
    );
    let at_night = c.inventory_at(at(25, 2, 0));
    let job = at_night
        .pods
        .iter()
        .find(|p| p.name.starts_with("nightly-etl-"))
        .expect("the job in the inventory while it runs");
    assert_eq!(job.owner_kind.as_deref(), Some("CronJob"));
    assert_eq!(job.owner_name.as_deref(), Some("nightly-etl"));
    // The same run keeps its name through its windows.
    let name = |t: DateTime<Utc>| {
        c.window_usage(t, t + TimeDelta::minutes(5))
            .pods
            .into_iter()
            .find(|p| p.pod.starts_with("nightly-etl-"))
            .map(|p| p.pod)
    };
    assert_eq!(name(at(25, 1, 30)), name(at(25, 3, 0)));
    assert_ne!(name(at(25, 1, 30)), name(at(26, 1, 30)));
}

#[test]
fn weekdays_and_business_hours_are_busier_and_batch_runs_at_night() {
    let c = SyntheticCluster::new(11);
    // 2025-06-25 is a Wednesday, 2025-06-29 a Sunday.
    let wednesday = namespace_cpu(&c, "shop", at(25, 10, 0), at(25, 16, 0));
    let sunday = namespace_cpu(&c, "shop", at(29, 10, 0), at(29, 16, 0));
    assert!(wednesday > 1.6 * sunday, "{wednesday} vs {sunday}");
    let afternoon = namespace_cpu(&c, "shop", at(25, 13, 0), at(25, 15, 0));
    let night = namespace_cpu(&c, "shop", at(25, 2, 0), at(25, 4, 0));
    assert!(afternoon > 3.0 * night, "{afternoon} vs {night}");
    let batch_night = namespace_cpu(&c, "data-pipeline", at(25, 1, 0), at(25, 3, 0));
    let batch_day = namespace_cpu(&c, "data-pipeline", at(25, 13, 0), at(25, 15, 0));
    assert!(
        batch_night > 2.0 * batch_day,
        "{batch_night} vs {batch_day}"
    );
}

#[tokio::test]
async fn zombies_and_oversized_requests_exist() {
    let c = SyntheticCluster::new(3);
    let windows = c
        .usage(range(at(23, 0, 0), at(24, 0, 0)), FIVE_MINUTES)
        .await
        .expect("usage");
    let mut zombies = 0;
    let mut oversized = 0;
    for spec in c.pods() {
        let cpu: Vec<f64> = windows
            .iter()
            .flat_map(|w| w.pods.iter())
            .filter(|p| p.namespace == spec.namespace && p.pod == spec.name)
            .filter_map(|p| p.cpu_usage_cores)
            .map(|c| c.0)
            .collect();
        assert_eq!(cpu.len(), 288, "{} runs all day", spec.name);
        let mean = cpu.iter().sum::<f64>() / cpu.len() as f64;
        let peak = cpu.iter().copied().fold(0.0, f64::max);
        let request = spec.cpu_request_cores.map_or(0.0, |c| c.0);
        if mean <= 0.001 && peak <= 0.005 && request >= 0.1 {
            zombies += 1;
            let restarts = windows
                .iter()
                .flat_map(|w| w.pods.iter())
                .find(|p| p.pod == spec.name)
                .and_then(|p| p.restarts);
            assert_eq!(restarts, Some(0), "zombies do not restart");
        }
        if request >= 1.0 && mean <= 0.1 * request {
            oversized += 1;
        }
    }
    assert!(zombies >= 3, "{zombies} zombies");
    assert!(oversized >= 2, "{oversized} oversized");
}

#[test]
fn one_pod_crash_loops_from_three_days_before_now() {
    let c = SyntheticCluster::new(9);
    let now = c.config().now;
    let restarts = |t: DateTime<Utc>| {
        c.window_usage(t, t + TimeDelta::minutes(5))
            .pods
            .into_iter()
            .find(|p| p.pod.starts_with("recommendations-"))
            .and_then(|p| p.restarts)
            .expect("the crash-looping pod")
    };
    let before = restarts(now - TimeDelta::days(5));
    assert_eq!(
        before,
        restarts(now - TimeDelta::days(4)),
        "stable before the loop"
    );
    let mut last = before;
    for h in (0..=72).rev() {
        let r = restarts(now - TimeDelta::hours(h));
        assert!(r >= last, "a cumulative counter");
        last = r;
    }
    assert!(last >= before + 150, "{before} then {last}");
}

#[test]
fn costs_are_requests_times_a_provider_price() {
    let c = SyntheticCluster::new(4);
    let hour = range(at(25, 10, 0), at(25, 11, 0));
    let costs = c.costs_in(hour);
    let keys: Vec<(&str, &str)> = costs.iter().map(|e| (&*e.namespace, &*e.pod)).collect();
    let mut sorted = keys.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(keys, sorted);
    for spec in c.pods() {
        assert!(
            costs.iter().any(|e| e.pod == spec.name),
            "{} has a cost",
            spec.name
        );
    }
    let jobs = costs.len() - c.pods().len();
    assert!(jobs <= 1, "at most the hourly report runs at 10:05");
    // A zombie pays for its requests.
    let zombie = c
        .pods()
        .iter()
        .find(|p| &*p.name == "debug-shell")
        .expect("the bare zombie");
    let node = c
        .cluster_nodes()
        .iter()
        .find(|n| Some(&n.name) == zombie.node.as_ref())
        .expect("its node");
    let price = provider_price(node.provider.as_deref().unwrap_or_default());
    let expected = zombie.cpu_request_cores.map_or(0.0, |c| c.0) * price.per_core_hour
        + zombie.memory_request_bytes.map_or(0.0, |b| b.0) / GIB * price.per_gib_hour;
    let got = costs
        .iter()
        .find(|e| e.pod == zombie.name)
        .map(|e| e.cost.0)
        .expect("a cost");
    assert!((got - expected).abs() < 1e-12, "{got} vs {expected}");
    // Costs add up over sub-ranges.
    let halves: f64 = [
        range(at(25, 10, 0), at(25, 10, 30)),
        range(at(25, 10, 30), at(25, 11, 0)),
    ]
    .into_iter()
    .flat_map(|r| c.costs_in(r))
    .map(|e| e.cost.0)
    .sum();
    let whole: f64 = costs.iter().map(|e| e.cost.0).sum();
    assert!((halves - whole).abs() < 1e-9 * whole, "{halves} vs {whole}");
}

#[tokio::test]
async fn intensity_follows_the_sun_around_the_reference_value() {
    let c = SyntheticCluster::new(8);
    let de = |h: u32| c.intensity_at("DE", at(25, h, 0)).expect("DE is known");
    // Noon in Germany is 11:00 UTC.
    assert!(de(11) < 0.8 * de(1), "{} vs {}", de(11), de(1));
    let fr: Vec<f64> = (0..24)
        .filter_map(|h| c.intensity_at("FR", at(25, h, 0)))
        .collect();
    assert!(fr.iter().all(|v| (15.0..40.0).contains(v)), "{fr:?}");
    assert_eq!(
        c.intensity_at("eu-west-3a", at(25, 9, 0)),
        c.intensity_at("FR", at(25, 9, 0)),
        "cloud zones map to their grid"
    );
    assert_eq!(c.intensity_at("NOT-A-ZONE", at(25, 9, 0)), None);

    let now = c.config().now;
    let history = c.history("DE").await.expect("history");
    assert_eq!(history.len(), 24);
    assert_eq!(history.last().map(|p| p.at), Some(now));
    assert!(
        history
            .windows(2)
            .all(|p| p[1].at - p[0].at == TimeDelta::hours(1))
    );
    assert!(
        history
            .iter()
            .all(|p| p.source == INTENSITY_SOURCE && p.zone == "DE")
    );
    assert_eq!(c.latest("DE").await.expect("latest"), history[23]);
    let forecast = c.forecast("DE").await.expect("forecast");
    assert_eq!(forecast.len(), 24);
    assert_eq!(forecast[0].at, now + TimeDelta::hours(1));
    assert!(forecast.iter().all(|p| p.source == FORECAST_SOURCE));
    IntensityPoint::check_all(&history).expect("finite, not negative");
    let err = c.latest("NOT-A-ZONE").await.expect_err("unknown zone");
    assert_eq!(err.kind, SourceErrorKind::NotFound);
}

#[tokio::test]
async fn embodied_figures_come_from_the_reference_data() {
    let c = SyntheticCluster::new(0);
    let m5 = c
        .embodied("aws", "m5.xlarge")
        .await
        .expect("answers")
        .expect("known");
    assert!((m5.kgco2e - 67.116).abs() < 1e-9);
    assert!(m5.kgco2e_min <= m5.kgco2e && m5.kgco2e <= m5.kgco2e_max);
    assert!((m5.duration_hours - 35_040.0).abs() < 1e-9);
    assert_eq!(c.embodied("ovh", "b3-16").await.expect("answers"), None);
    assert_eq!(
        c.embodied("acme", "m5.xlarge").await.expect("answers"),
        None
    );
}

fn over_capacity(reason: &Reason) -> bool {
    matches!(
        reason,
        Reason::NodeCpuOverCapacity { .. } | Reason::NodeOvercommitted { .. }
    )
}

#[tokio::test]
async fn a_week_goes_through_collect_estimate_and_recommend() {
    let c = SyntheticCluster::new(42);
    let now = c.config().now;
    let week = range(now - TimeDelta::days(7), now);
    let inventory = c.inventory().await.expect("inventory");
    let metric_nodes = UsageSource::nodes(&c, now).await.expect("nodes");
    let usage = c.usage(week, FIVE_MINUTES).await.expect("usage");
    assert_eq!(usage.len(), 7 * 288);
    let mut embodied = Vec::new();
    let types: BTreeSet<(Arc<str>, Arc<str>)> = inventory
        .nodes
        .iter()
        .filter_map(|n| Some((n.provider.clone()?, n.instance_type.clone()?)))
        .collect();
    for (provider, itype) in types {
        if let Some(fig) = c.embodied(&provider, &itype).await.expect("embodied") {
            embodied.push(EmbodiedEntry {
                provider,
                instance_type: itype,
                kgco2e: fig.kgco2e,
                lifespan_hours: Some(fig.duration_hours),
            });
        }
    }
    assert!(!embodied.is_empty());
    let options = EstimateOptions::default();
    let hpa_inventory = Inventory {
        nodes: inventory.nodes.clone(),
        hpas: inventory.hpas.clone(),
    };
    let mut recommender = Recommender::new(RecommenderConfig::default(), Some(&hpa_inventory));
    let mut zones: Option<BTreeSet<String>> = None;
    for w in &usage {
        let end = w.window_start + TimeDelta::minutes(5);
        let mut snapshot = assemble(
            w.window_start,
            end,
            WindowInputs {
                cluster: Some(Arc::from("demo")),
                inventory: Some(&inventory),
                metric_nodes: &metric_nodes,
                usage: Some(w),
                costs: c.costs_in(range(w.window_start, end)),
                embodied: embodied.clone(),
                ..WindowInputs::default()
            },
        );
        let zones = zones.get_or_insert_with(|| {
            greenkube_core::zones_of(&snapshot, &options, ReferenceData::embedded())
        });
        snapshot.grid_intensity = zones
            .iter()
            .map(|z| {
                let v = c.intensity_at(z, w.window_start).expect("a known zone");
                (z.clone(), GramsPerKwh(v))
            })
            .collect();
        snapshot.validate().expect("a valid snapshot");
        let fp = greenkube_core::estimate(&snapshot, &options).expect("estimates");
        for n in &fp.nodes {
            assert!(
                !n.node.reasons.iter().any(over_capacity),
                "{}: {:?}",
                w.window_start,
                n.node.reasons
            );
            assert!(
                !n.node.reasons.iter().any(|r| matches!(
                    r,
                    Reason::DefaultZoneIntensity { .. } | Reason::GlobalDefaultIntensity { .. }
                )),
                "measured intensity used: {:?}",
                n.node.reasons
            );
        }
        for p in &fp.pods {
            assert!(
                !p.reasons.iter().any(over_capacity),
                "{}: {:?}",
                p.pod,
                p.reasons
            );
        }
        assert_eq!(fp.totals.pods_without_cost, 0, "every pod has a cost");
        recommender.observe(&fp);
    }
    let zones = zones.expect("zones");
    assert!(zones.len() >= 3, "{zones:?}");
    let recs = recommender.finish(ReferenceData::embedded());
    let kinds: BTreeSet<RecommendationType> = recs.iter().map(|r| r.kind).collect();
    assert!(kinds.contains(&RecommendationType::ZombiePod), "{kinds:?}");
    assert!(
        kinds.contains(&RecommendationType::RightsizingCpu),
        "{kinds:?}"
    );
    assert!(
        recs.iter()
            .filter(|r| r.kind == RecommendationType::ZombiePod)
            .all(|r| r.namespace.as_deref() == Some("staging")),
        "only the staging zombies"
    );
    assert!(
        recs.iter()
            .any(|r| r.kind == RecommendationType::RightsizingCpu
                && r.namespace.as_deref() == Some("legacy")),
        "the oversized legacy requests"
    );
}
