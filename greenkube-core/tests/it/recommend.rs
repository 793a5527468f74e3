//! The recommender: each type fires on a case and stays quiet just below its threshold; HPA
//! targets and system namespaces are skipped; savings come from the what-if engine.

use greenkube_core::recommend::{
    Recommendation, RecommendationType as T, RecommenderConfig, Scope, recommend,
};
use greenkube_core::{EstimateOptions, Footprint, Inventory, Snapshot, estimate};
use proptest::prelude::*;
use serde_json::{Value, json};

/// `windows` windows of `minutes` minutes from 2025-06-02T00:00Z; `pods(i)` gives window i's pods.
fn history(
    windows: usize,
    minutes: i64,
    nodes: &Value,
    pods: impl Fn(usize) -> Value,
    costs: impl Fn(usize) -> Value,
) -> Vec<Footprint> {
    let start = chrono::DateTime::parse_from_rfc3339("2025-06-02T00:00:00Z")
        .unwrap()
        .with_timezone(&chrono::Utc);
    (0..windows)
        .map(|i| {
            let ws =
                start + chrono::Duration::minutes(minutes * i64::try_from(i).expect("small index"));
            let we = ws + chrono::Duration::minutes(minutes);
            let value = json!({
                "schema": "greenkube.snapshot/v1", "cluster": "c",
                "window_start": ws.to_rfc3339(), "window_end": we.to_rfc3339(),
                "nodes": nodes, "pods": pods(i), "costs": costs(i),
            });
            let snap = Snapshot::from_json_value(value).expect("test snapshot parses");
            estimate(&snap, &EstimateOptions::default()).expect("estimates")
        })
        .collect()
}

fn nodes(n: usize, instance_type: &str, region: &str) -> Value {
    Value::Array(
        (0..n)
            .map(|i| {
                json!({"name": format!("n{i}"), "provider": "aws", "instance_type": instance_type,
                       "region": region})
            })
            .collect(),
    )
}

fn pod(ns: &str, name: &str, node: usize, cpu: f64, request: f64) -> Value {
    json!({"namespace": ns, "name": name, "node": format!("n{node}"),
           "owner_kind": "ReplicaSet", "owner_name": format!("{name}-5d8f7c9b4"),
           "cpu_usage_cores": cpu, "cpu_request_cores": request,
           "memory_usage_bytes": 256u64 << 20, "memory_request_bytes": 512u64 << 20})
}

fn no_costs(_: usize) -> Value {
    json!([])
}

fn of(recs: &[Recommendation], kind: T) -> Vec<&Recommendation> {
    recs.iter().filter(|r| r.kind == kind).collect()
}

fn run(h: &[Footprint]) -> Vec<Recommendation> {
    recommend(h, None, &RecommenderConfig::default())
}

fn assert_priced(r: &Recommendation) {
    let [lo, hi] = r.savings_co2e_grams_per_year_interval;
    assert!(r.savings_co2e_grams_per_year >= 0.0);
    assert!(
        lo <= r.savings_co2e_grams_per_year && r.savings_co2e_grams_per_year <= hi,
        "{r:?}"
    );
    if let Some(c) = r.savings_cost_per_year {
        assert!(c >= 0.0);
    }
}

#[test]
fn zombie_fires_and_just_below_does_not() {
    let mk = |cpu: f64| {
        history(
            12,
            60,
            &nodes(2, "m5.xlarge", "eu-west-3"),
            move |_| {
                json!([
                    pod("apps", "ghost", 0, cpu, 0.2),
                    pod("apps", "busy", 1, 1.0, 1.0)
                ])
            },
            |_| json!([{"namespace": "apps", "pod": "ghost", "cost": 0.01}]),
        )
    };
    let recs = run(&mk(0.0005));
    let z = of(&recs, T::ZombiePod);
    assert_eq!(z.len(), 1, "{recs:#?}");
    assert_eq!(z[0].target, "ghost");
    assert_eq!(z[0].scope, Scope::Workload);
    assert!(z[0].savings_cost_per_year.unwrap() > 0.0);
    assert!(z[0].savings_co2e_grams_per_year > 0.0);
    assert_priced(z[0]);
    // 1.2 m of CPU on average: above the 1 m threshold.
    assert!(of(&run(&mk(0.0012)), T::ZombiePod).is_empty());
}

#[test]
fn rightsizing_cpu_worked_example() {
    // Request 1000 m; points give mean 100 m, max 150 m, P95 140 m → max(140, 125) × 1.2 = 168 m.
    let points = [
        0.05, 0.06, 0.07, 0.08, 0.09, 0.10, 0.10, 0.10, 0.10, 0.10, 0.10, 0.10, 0.10, 0.11, 0.12,
        0.12, 0.13, 0.13, 0.14, 0.15,
    ];
    let mean: f64 = points.iter().sum::<f64>() / points.len() as f64;
    let h = history(
        points.len(),
        60,
        &nodes(1, "m5.xlarge", "eu-west-3"),
        |i| json!([pod("shop", "api", 0, points[i], 1.0)]),
        |_| json!([{"namespace": "shop", "pod": "api", "cost": 0.01}]),
    );
    let recs = run(&h);
    let r = of(&recs, T::RightsizingCpu);
    assert_eq!(r.len(), 1);
    let r = r[0];
    let mut sorted = points;
    sorted.sort_by(f64::total_cmp);
    let k = (sorted.len() - 1) as f64 * 0.95;
    let p95 = sorted[k.floor() as usize]
        + (sorted[k.ceil() as usize] - sorted[k.floor() as usize]) * (k - k.floor());
    let expected = p95.max(f64::midpoint(mean, 0.15)) * 1.2;
    assert!(
        (r.recommended_cpu_request_cores.unwrap() - expected).abs() < 1e-6,
        "{r:?}"
    );
    assert_eq!(r.current_cpu_request_cores, Some(1.0));
    assert_eq!(r.target, "api");
    assert_eq!(r.target_kind.as_deref(), Some("Deployment"));
    assert!(r.savings_cost_per_year.unwrap() > 0.0);
    assert!(
        r.savings_co2e_grams_per_year > 0.0,
        "full charges reserved capacity"
    );
    assert_priced(r);
    // Mean at 31 % of the request: no recommendation.
    let h = history(
        6,
        60,
        &nodes(1, "m5.xlarge", "eu-west-3"),
        |_| json!([pod("shop", "api", 0, 0.31, 1.0)]),
        no_costs,
    );
    assert!(of(&run(&h), T::RightsizingCpu).is_empty());
}

#[test]
fn rightsizing_floors_at_the_minimum() {
    let h = history(
        4,
        60,
        &nodes(1, "m5.xlarge", "eu-west-3"),
        |_| json!([pod("shop", "tiny", 0, 0.001, 0.1)]),
        no_costs,
    );
    let recs = run(&h);
    let r = of(&recs, T::RightsizingCpu)[0];
    assert_eq!(r.recommended_cpu_request_cores, Some(0.01));
    assert!(r.reason.contains("floored"), "{}", r.reason);
}

#[test]
fn rightsizing_memory_floors_at_the_minimum_and_says_so() {
    // 1 MiB used of a 4 GiB request: 1.2 MiB is below the 16 MiB floor.
    let h = history(
        6,
        60,
        &nodes(1, "m5.xlarge", "eu-west-3"),
        |_| {
            let mut p = pod("shop", "cache", 0, 0.5, 0.5);
            p["memory_usage_bytes"] = json!(1u64 << 20);
            p["memory_request_bytes"] = json!(4u64 << 30);
            json!([p])
        },
        no_costs,
    );
    let recs = run(&h);
    let r = of(&recs, T::RightsizingMemory);
    assert_eq!(r.len(), 1, "{recs:#?}");
    assert_eq!(
        r[0].recommended_memory_request_bytes,
        Some(16.0 * 1024.0 * 1024.0)
    );
    assert!(
        r[0].reason.contains("floored to the minimum 16 MiB"),
        "{}",
        r[0].reason
    );
}

#[test]
fn rightsizing_memory_fires_and_just_below_does_not() {
    let mk = |used: u64| {
        history(
            6,
            60,
            &nodes(1, "m5.xlarge", "eu-west-3"),
            move |_| {
                let mut p = pod("shop", "cache", 0, 0.5, 0.5);
                p["memory_usage_bytes"] = json!(used);
                p["memory_request_bytes"] = json!(4u64 << 30);
                json!([p])
            },
            no_costs,
        )
    };
    let recs = run(&mk(512 << 20));
    let r = of(&recs, T::RightsizingMemory);
    assert_eq!(r.len(), 1);
    assert!(r[0].recommended_memory_request_bytes.unwrap() < (4u64 << 30) as f64);
    assert!(r[0].recommended_memory_request_bytes.unwrap() >= (512u64 << 20) as f64);
    assert!(of(&run(&mk((4u64 << 30) * 31 / 100)), T::RightsizingMemory).is_empty());
}

/// A replica of Deployment `deployment` in namespace `web`.
fn replica(deployment: &str, suffix: &str, cpu: f64) -> Value {
    json!({"namespace": "web", "name": format!("{deployment}-5d8f7c9b4-{suffix}"), "node": "n0",
           "owner_kind": "ReplicaSet", "owner_name": format!("{deployment}-5d8f7c9b4"),
           "cpu_usage_cores": cpu, "cpu_request_cores": 1.0})
}

fn spiky(i: usize) -> f64 {
    if i.is_multiple_of(10) { 2.0 } else { 0.05 }
}

#[test]
fn autoscaling_candidate_fires_skips_hpa_and_steady_load() {
    let h = history(
        20,
        60,
        &nodes(1, "m5.4xlarge", "eu-west-3"),
        |i| {
            json!([
                replica("front", "a", spiky(i)),
                replica("front", "b", spiky(i)),
                replica("front", "c", spiky(i))
            ])
        },
        no_costs,
    );
    let recs = run(&h);
    let r = of(&recs, T::AutoscalingCandidate);
    assert_eq!(r.len(), 1, "{recs:#?}");
    assert!(
        r[0].savings_co2e_grams_per_year > 0.0,
        "fewer replicas off-peak"
    );
    // The quoted name is not followed by a possessive (`Deployment 'front''s load`).
    assert!(
        r[0].reason
            .starts_with("the load of Deployment 'front' varies"),
        "{}",
        r[0].reason
    );
    assert!(!recs.iter().any(|r| r.reason.contains("''s")), "{recs:#?}");
    let inventory: Inventory = serde_json::from_value(json!({
        "hpas": [{"namespace": "web", "target_kind": "Deployment", "target_name": "front"}]
    }))
    .unwrap();
    let recs = recommend(&h, Some(&inventory), &RecommenderConfig::default());
    assert!(of(&recs, T::AutoscalingCandidate).is_empty());
    let steady = history(
        20,
        60,
        &nodes(1, "m5.4xlarge", "eu-west-3"),
        |i| {
            let cpu = 0.5 + 0.1 * (i % 2) as f64;
            json!([
                replica("front", "a", cpu),
                replica("front", "b", cpu),
                replica("front", "c", cpu)
            ])
        },
        no_costs,
    );
    assert!(of(&run(&steady), T::AutoscalingCandidate).is_empty());
}

#[test]
fn off_peak_scaling_needs_four_idle_hours() {
    let mk = |busy: std::ops::Range<usize>| {
        history(
            24,
            60,
            &nodes(1, "m5.xlarge", "eu-west-3"),
            move |h| {
                let cpu = if busy.contains(&h) { 0.8 } else { 0.005 };
                json!([pod("office", "portal", 0, cpu, 1.0)])
            },
            no_costs,
        )
    };
    let recs = run(&mk(9..17));
    let r = of(&recs, T::OffPeakScaling);
    assert_eq!(r.len(), 1);
    assert_eq!(
        r[0].schedule.as_deref(),
        Some("Scale to 0: 17:00-09:00 UTC")
    );
    assert!(r[0].savings_co2e_grams_per_year > 0.0);
    // Only two idle hours.
    assert!(of(&run(&mk(0..22)), T::OffPeakScaling).is_empty());
}

#[test]
fn idle_namespace_and_system_namespaces() {
    let mk = |cpu: f64, ns: &'static str| {
        history(
            6,
            60,
            &nodes(1, "m5.xlarge", "eu-west-3"),
            move |_| {
                json!([
                    pod(ns, "thing", 0, cpu, 0.1),
                    pod("prod", "app", 0, 1.0, 1.0)
                ])
            },
            move |_| json!([{"namespace": ns, "pod": "thing", "cost": 0.001}]),
        )
    };
    let recs = run(&mk(0.002, "old-demo"));
    let r = of(&recs, T::IdleNamespace);
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].target, "old-demo");
    assert_eq!(r[0].scope, Scope::Namespace);
    assert!(of(&run(&mk(0.006, "old-demo")), T::IdleNamespace).is_empty());
    assert!(of(&run(&mk(0.002, "kube-system")), T::IdleNamespace).is_empty());
    let config = RecommenderConfig {
        include_system_namespaces: true,
        ..RecommenderConfig::default()
    };
    assert_eq!(
        of(
            &recommend(&mk(0.002, "kube-system"), None, &config),
            T::IdleNamespace
        )
        .len(),
        1
    );
}

#[test]
fn carbon_aware_scheduling_fires_above_ratio() {
    // A batch job runs only in dirty hours; the zone averages all hours.
    let mk = |dirty: f64| {
        let start = chrono::DateTime::parse_from_rfc3339("2025-06-02T00:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        (0..24)
            .map(|h| {
                let ws = start + chrono::Duration::hours(h);
                let night = h < 6;
                let mut pods = vec![pod("web", "app", 0, 0.3, 0.5)];
                if night {
                    pods.push(pod("batch", "report", 0, 1.0, 1.0));
                }
                let value = json!({
                    "schema": "greenkube.snapshot/v1",
                    "window_start": ws.to_rfc3339(),
                    "window_end": (ws + chrono::Duration::hours(1)).to_rfc3339(),
                    "nodes": nodes(1, "m5.xlarge", "eu-central-1"),
                    "pods": pods,
                    "grid_intensity": {"DE": if night { dirty } else { 100.0 }},
                });
                estimate(
                    &Snapshot::from_json_value(value).unwrap(),
                    &EstimateOptions::default(),
                )
                .unwrap()
            })
            .collect::<Vec<_>>()
    };
    let recs = run(&mk(300.0));
    let r = of(&recs, T::CarbonAwareScheduling);
    assert_eq!(r.len(), 1, "{recs:#?}");
    assert_eq!(r[0].target, "report");
    // 300 vs (6 × 300 + 18 × 100) / 24 = 150: ratio 2.0. At 180: 180 / 120 = 1.5, not above.
    assert!(of(&run(&mk(180.0)), T::CarbonAwareScheduling).is_empty());
}

#[test]
fn overprovisioned_node_downsizes_within_the_family() {
    let mk = |cpu: f64| {
        history(
            6,
            60,
            &nodes(2, "m5.4xlarge", "eu-west-3"),
            move |_| {
                json!([
                    pod("a", "x", 0, cpu, cpu),
                    pod("a", "y", 0, cpu, cpu),
                    pod("a", "z", 0, cpu, cpu),
                    pod("a", "w", 1, 8.0, 8.0)
                ])
            },
            no_costs,
        )
    };
    let recs = run(&mk(0.15));
    let r = of(&recs, T::OverprovisionedNode);
    assert_eq!(r.len(), 1, "{recs:#?}");
    assert_eq!(r[0].node.as_deref(), Some("n0"));
    assert!(r[0].reason.contains("m5."), "{}", r[0].reason);
    assert!(r[0].savings_co2e_grams_per_year > 0.0);
    assert_eq!(
        r[0].savings_cost_per_year, None,
        "node prices are not known"
    );
    // 3 × 1.1 cores on 16 vCPUs: 21 %, above the 20 % threshold.
    assert!(of(&run(&mk(1.1)), T::OverprovisionedNode).is_empty());
}

#[test]
fn underutilized_node_with_few_pods() {
    let mk = |pods_on_n0: usize| {
        history(
            4,
            60,
            &nodes(2, "m5.xlarge", "eu-west-3"),
            move |_| {
                let mut v: Vec<Value> = (0..pods_on_n0)
                    .map(|i| pod("a", &format!("p{i}"), 0, 0.1, 0.1))
                    .collect();
                v.push(pod("a", "big", 1, 2.0, 2.0));
                Value::Array(v)
            },
            no_costs,
        )
    };
    let recs = run(&mk(2));
    let r = of(&recs, T::UnderutilizedNode);
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].node.as_deref(), Some("n0"));
    assert!(
        r[0].savings_co2e_grams_per_year > 0.0,
        "draining saves the node's idle power"
    );
    assert!(of(&run(&mk(3)), T::UnderutilizedNode).is_empty());
}

#[test]
fn region_shift_to_a_markedly_cleaner_region() {
    let mk = |region: &str| {
        history(
            4,
            60,
            &nodes(2, "m5.xlarge", region),
            |_| json!([pod("a", "x", 0, 1.0, 1.0), pod("a", "y", 1, 1.0, 1.0)]),
            no_costs,
        )
    };
    let recs = run(&mk("eu-central-1"));
    let r = of(&recs, T::RegionShift);
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].target, "eu-central-1");
    let greenkube_core::whatif::Change::Region { region, .. } = &r[0].changes[0] else {
        panic!("region change expected");
    };
    assert!(
        region.starts_with("eu-"),
        "stays in the same geography: {region}"
    );
    assert!(r[0].savings_co2e_grams_per_year > 0.0);
    // Stockholm is already among the cleanest AWS grids.
    assert!(of(&run(&mk("eu-north-1")), T::RegionShift).is_empty());
    // No US AWS region has half of Virginia's intensity; Europe is not offered.
    assert!(of(&run(&mk("us-east-1")), T::RegionShift).is_empty());
}

#[test]
fn instance_family_suggests_a_more_efficient_cpu_and_not_for_the_best() {
    let mk = |t: &str| {
        history(
            4,
            60,
            &nodes(1, t, "eu-west-3"),
            |_| json!([pod("a", "x", 0, 1.0, 1.0)]),
            no_costs,
        )
    };
    let recs = run(&mk("m5.xlarge"));
    let r = of(&recs, T::InstanceFamily);
    assert_eq!(r.len(), 1, "{recs:#?}");
    let greenkube_core::whatif::Change::InstanceType { instance_type, .. } = &r[0].changes[0]
    else {
        panic!("instance type change expected");
    };
    assert!(r[0].savings_co2e_grams_per_year > 0.0);
    // On the suggested type, there is nothing better.
    assert!(of(&run(&mk(instance_type)), T::InstanceFamily).is_empty());
}

#[test]
fn node_consolidation_when_peaks_fit_fewer_nodes() {
    let mk = |cpu: f64| {
        history(
            4,
            60,
            &nodes(4, "m5.xlarge", "eu-west-3"),
            move |_| {
                Value::Array(
                    (0..4)
                        .map(|i| pod("a", &format!("p{i}"), i, cpu, cpu))
                        .collect(),
                )
            },
            no_costs,
        )
    };
    let recs = run(&mk(0.5));
    let r = of(&recs, T::NodeConsolidation);
    assert_eq!(r.len(), 1);
    let greenkube_core::whatif::Change::Drain { nodes } = &r[0].changes[0] else {
        panic!("drain expected");
    };
    assert_eq!(nodes.len(), 3, "2 cores fit one 4-vCPU node at 80 %");
    assert!(r[0].savings_co2e_grams_per_year > 0.0);
    // 4 × 2.5 cores = 10 > 3 × 3.2: all four are needed.
    assert!(of(&run(&mk(2.5)), T::NodeConsolidation).is_empty());
}

#[test]
fn example_history_is_deterministic_with_unique_priced_ids() {
    let base =
        Snapshot::from_json_str(include_str!("../../../examples/snapshots/cluster.json")).unwrap();
    let h: Vec<Footprint> = (0..24)
        .map(|i| {
            let mut s = base.clone();
            s.window_start = base.window_start + chrono::Duration::hours(i);
            s.window_end = s.window_start + chrono::Duration::hours(1);
            estimate(&s, &EstimateOptions::default()).unwrap()
        })
        .collect();
    let a = run(&h);
    let b = run(&h);
    assert_eq!(a, b, "deterministic");
    let mut ids: Vec<&str> = a.iter().map(|r| r.id.as_str()).collect();
    let n = ids.len();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), n, "no two recommendations share an identity");
    for r in &a {
        assert_priced(r);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn recommended_requests_stay_between_floor_and_current(
        usage in prop::collection::vec(0.0f64..2.0, 3..10),
        request in 0.01f64..4.0,
        memory in prop::collection::vec(1u64..(4u64 << 30), 3..10),
        memory_request in (16u64 << 20)..(8u64 << 30),
    ) {
        let n = usage.len().min(memory.len());
        let h = history(
            n,
            60,
            &nodes(1, "m5.4xlarge", "eu-west-3"),
            |i| {
                let mut p = pod("ns", "w", 0, usage[i], request);
                p["memory_usage_bytes"] = json!(memory[i]);
                p["memory_request_bytes"] = json!(memory_request);
                json!([p])
            },
            |_| json!([{"namespace": "ns", "pod": "w", "cost": 0.01}]),
        );
        let config = RecommenderConfig::default();
        for r in recommend(&h, None, &config) {
            if let Some(rec) = r.recommended_cpu_request_cores {
                prop_assert!(rec >= config.min_cpu_cores - 1e-12);
                prop_assert!(rec < r.current_cpu_request_cores.unwrap());
            }
            if let Some(rec) = r.recommended_memory_request_bytes {
                prop_assert!(rec >= config.min_memory_bytes);
                prop_assert!(rec < r.current_memory_request_bytes.unwrap());
            }
            prop_assert!(r.savings_co2e_grams_per_year >= 0.0);
            prop_assert!(r.savings_cost_per_year.is_none_or(|c| c >= 0.0));
            let [lo, hi] = r.savings_co2e_grams_per_year_interval;
            prop_assert!(lo >= 0.0 && lo <= r.savings_co2e_grams_per_year && r.savings_co2e_grams_per_year <= hi);
        }
    }
}

#[test]
fn realised_savings_compare_before_and_after_with_the_same_methodology() {
    use greenkube_core::Methodology;
    use greenkube_core::recommend::{RecommendationStatus, reconcile};
    // 12 hours at a 1-core request, then 12 hours at 0.2 cores, same usage.
    let h = history(
        24,
        60,
        &nodes(1, "m5.xlarge", "eu-west-3"),
        |i| {
            let request = if i < 12 { 1.0 } else { 0.2 };
            json!([
                pod("shop", "api", 0, 0.1, request),
                pod("shop", "db", 0, 1.0, 1.0)
            ])
        },
        |_| json!([{"namespace": "shop", "pod": "api", "cost": 0.01}]),
    );
    let before: Vec<Footprint> = h[..12].to_vec();
    let recs = run(&before);
    let rec = of(&recs, T::RightsizingCpu)
        .into_iter()
        .find(|r| r.target == "api")
        .expect("api is oversized")
        .clone();
    let mut records = reconcile(Vec::new(), &[rec], h[0].window_start);
    records[0].apply(h[12].window_start);
    assert_eq!(records[0].status, RecommendationStatus::Applied);
    let realised = greenkube_core::recommend::realised_savings(&h, &records[0], Methodology::Full)
        .expect("data before and after");
    assert!(realised.point > 0.0, "{realised:?}");
    assert!(realised.low <= realised.point && realised.point <= realised.high);
    // Same history under another methodology: no footprints, no figure.
    assert!(
        greenkube_core::recommend::realised_savings(&h, &records[0], Methodology::Classic)
            .is_none()
    );
    // Not applied: no figure.
    let fresh = reconcile(
        Vec::new(),
        &[records[0].recommendation.clone()],
        h[0].window_start,
    );
    assert!(
        greenkube_core::recommend::realised_savings(&h, &fresh[0], Methodology::Full).is_none()
    );
}

#[test]
fn each_cluster_is_analysed_on_its_own() {
    let one = history(
        12,
        60,
        &nodes(2, "m5.xlarge", "eu-west-3"),
        |_| {
            json!([
                pod("apps", "ghost", 0, 0.0005, 0.2),
                pod("apps", "busy", 1, 1.0, 1.0)
            ])
        },
        |_| json!([{"namespace": "apps", "pod": "ghost", "cost": 0.01}]),
    );
    let alone = run(&one);
    assert!(!alone.is_empty());
    assert!(alone.iter().all(|r| r.cluster.as_deref() == Some("c")));
    // The same windows in a second cluster, `d`, where `ghost` is busy.
    let mut other = history(
        12,
        60,
        &nodes(2, "m5.xlarge", "eu-west-3"),
        |_| {
            json!([
                pod("apps", "ghost", 0, 1.0, 1.0),
                pod("apps", "busy", 1, 1.0, 1.0)
            ])
        },
        |_| json!([{"namespace": "apps", "pod": "ghost", "cost": 0.01}]),
    );
    for footprint in &mut other {
        footprint.cluster = Some("d".into());
    }
    let both: Vec<Footprint> = one.iter().chain(&other).cloned().collect();
    let recs = run(&both);
    // The zombie is `c`'s alone: `d`'s busy namesake does not hide it, nor is it doubled.
    let zombies = of(&recs, T::ZombiePod);
    assert_eq!(zombies.len(), 1, "{recs:#?}");
    assert_eq!(zombies[0].cluster.as_deref(), Some("c"));
    let zombie_alone = of(&alone, T::ZombiePod)[0];
    assert_eq!(
        zombies[0].savings_co2e_grams_per_year,
        zombie_alone.savings_co2e_grams_per_year
    );
    // Among several clusters the cluster is part of the id; alone, the id is what it always was.
    assert_ne!(zombies[0].id, zombie_alone.id);
    let ids: std::collections::HashSet<&str> = recs.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids.len(), recs.len());
}

/// Enough candidates for pricing to divide over the cores: the recommendations are the same
/// bit for bit on any number of threads (each candidate adds its windows in window order), and
/// on one thread, where pricing takes the sequential path.
#[test]
fn pricing_many_candidates_is_the_same_on_any_number_of_threads() {
    const WORKLOADS: usize = 120;
    let h = history(
        12,
        60,
        &nodes(6, "m5.xlarge", "eu-west-3"),
        |i| {
            Value::Array(
                (0..WORKLOADS)
                    .map(|w| {
                        // Over-requested CPU (rightsizing), varied so each has its own figures.
                        let cpu = 0.02 + 0.001 * ((w * 7 + i * 3) % 29) as f64;
                        pod(
                            &format!("ns-{}", w % 5),
                            &format!("app-{w}"),
                            w % 6,
                            cpu,
                            1.0,
                        )
                    })
                    .collect(),
            )
        },
        |_| {
            Value::Array(
                (0..WORKLOADS)
                    .map(|w| json!({"namespace": format!("ns-{}", w % 5), "pod": format!("app-{w}"), "cost": 0.002}))
                    .collect(),
            )
        },
    );
    let on = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("a thread pool")
            .install(|| run(&h))
    };
    let one = on(1);
    assert!(
        of(&one, T::RightsizingCpu).len() >= 100,
        "enough candidates for the parallel path: {}",
        one.len()
    );
    let one_json = serde_json::to_string(&one).expect("serialises");
    for threads in [2, 4] {
        let many = on(threads);
        assert_eq!(many, one, "on {threads} threads");
        assert_eq!(
            serde_json::to_string(&many).expect("serialises"),
            one_json,
            "on {threads} threads"
        );
    }
}
