//! The sustainability score: weights, the original's tables and worked example, rate thresholds
//! that do not depend on window length, and dimensions that are measured when data is present.

use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use greenkube_core::score::{DIMENSIONS, NO_DATA_SCORE};
use greenkube_core::{
    EstimateOptions, Footprint, Inventory, Methodology, NodeContext, Ranged, ScoreBuilder,
    ScoreConfig, SustainabilityScore, overall_score, score,
};
use serde_json::{Value, json};

use crate::common::{close, parse};

fn at(minutes: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 6, 2, 0, 0, 0).unwrap() + Duration::minutes(minutes)
}

fn node_n1() -> Value {
    json!([{"name": "n1", "provider": "aws", "instance_type": "m5.large",
            "region": "eu-west-3", "cpu_capacity_cores": 2}])
}

/// One window of `minutes` starting `start` minutes after 2025-06-02T00:00Z, on node n1.
fn window(start: i64, minutes: i64, pods: &Value, costs: &Value) -> Footprint {
    let snapshot = json!({
        "schema": "greenkube.snapshot/v1",
        "window_start": at(start).to_rfc3339(),
        "window_end": at(start + minutes).to_rfc3339(),
        "nodes": node_n1(),
        "pods": pods,
        "costs": costs,
    });
    greenkube_core::estimate(&parse(snapshot), &EstimateOptions::new(Methodology::Full))
        .expect("test snapshot estimates")
}

/// A pod on n1 with a CPU usage and request.
fn pod(namespace: &str, name: &str, cpu: f64, request: f64) -> Value {
    json!({"namespace": namespace, "name": name, "node": "n1",
           "cpu_usage_cores": cpu, "cpu_request_cores": request})
}

/// A pod of Deployment `deployment` (through its ReplicaSet).
fn replica(namespace: &str, deployment: &str, cpu: f64, request: f64) -> Value {
    let mut p = pod(
        namespace,
        &format!("{deployment}-7d9f8c6b5-abcde"),
        cpu,
        request,
    );
    p["owner_kind"] = json!("ReplicaSet");
    p["owner_name"] = json!(format!("{deployment}-7d9f8c6b5"));
    p
}

/// Every row of the footprint, pod and node, gets the node context `edit` makes.
fn edit_context(fp: &mut Footprint, edit: impl Fn(&mut NodeContext)) {
    let mut ctx = (*fp.nodes[0].node).clone();
    edit(&mut ctx);
    let ctx = Arc::new(ctx);
    for p in &mut fp.pods {
        p.node = ctx.clone();
    }
    for n in &mut fp.nodes {
        n.node = ctx.clone();
    }
}

fn dim(s: &SustainabilityScore, name: &str) -> f64 {
    let d = s.dimension(name).expect("dimension exists");
    assert!(d.has_data, "{name} has data: {}", d.detail);
    d.score
}

fn default_score(history: &[Footprint]) -> SustainabilityScore {
    score(history, None, &ScoreConfig::default())
}

#[test]
fn seven_dimensions_whose_weights_sum_to_one() {
    let total: f64 = DIMENSIONS.iter().map(|(_, w)| w).sum();
    close(total, 1.0, 1e-12);
    let s = default_score(&[]);
    assert_eq!(s.dimensions.len(), 7);
    let names: Vec<&str> = s.dimensions.iter().map(|d| d.name).collect();
    assert_eq!(
        names,
        [
            "resource_efficiency",
            "carbon_efficiency",
            "waste_elimination",
            "node_efficiency",
            "scaling_practices",
            "carbon_aware_scheduling",
            "stability"
        ]
    );
    for (d, (_, w)) in s.dimensions.iter().zip(DIMENSIONS) {
        assert_eq!(d.weight, w);
    }
}

#[test]
fn empty_history_is_neutral_and_says_so() {
    let s = default_score(&[]);
    assert_eq!(s.score, 50.0);
    assert_eq!((s.pods, s.rows, s.windows), (0, 0, 0));
    for d in &s.dimensions {
        assert_eq!(d.score, NO_DATA_SCORE, "{}", d.name);
        assert!(!d.has_data, "{}", d.name);
        assert!(d.detail.starts_with("no data"), "{}: {}", d.name, d.detail);
    }
}

#[test]
fn carbon_efficiency_follows_the_original_table() {
    let carbon = |intensity: f64, pue: f64| {
        let mut fp = window(0, 5, &json!([pod("shop", "api", 0.5, 1.0)]), &json!([]));
        edit_context(&mut fp, |c| {
            c.grid_intensity = Ranged::exact(intensity);
            c.pue = Ranged::exact(pue);
        });
        dim(&default_score(&[fp]), "carbon_efficiency")
    };
    assert_eq!(carbon(0.0, 1.0), 100.0);
    assert_eq!(carbon(50.0, 1.0), 93.8); // 93.75 rounded to 0.1
    assert_eq!(carbon(200.0, 1.0), 75.0);
    assert_eq!(carbon(200.0, 1.5), 62.5);
    assert_eq!(carbon(400.0, 1.0), 50.0);
    assert_eq!(carbon(600.0, 1.0), 25.0);
    assert_eq!(carbon(800.0, 1.0), 0.0);
    assert_eq!(carbon(1200.0, 1.3), 0.0);
    assert_eq!(carbon(200.0, 2.0), carbon(400.0, 1.0));
    // A PUE below 1 counts as 1.
    assert_eq!(carbon(200.0, 0.8), 75.0);
}

#[test]
fn stability_loses_ten_points_per_restart_per_pod_day() {
    let stability = |restarts: u64| {
        let mut p = pod("shop", "api", 0.5, 1.0);
        p["restarts"] = json!(restarts);
        let fp = window(0, 24 * 60, &json!([p]), &json!([]));
        dim(&default_score(&[fp]), "stability")
    };
    assert_eq!(stability(0), 100.0);
    assert_eq!(stability(3), 70.0);
    assert_eq!(stability(15), 0.0);
    // Three restarts in one hour are 72 a day.
    let mut p = pod("shop", "api", 0.5, 1.0);
    p["restarts"] = json!(3);
    let fp = window(0, 60, &json!([p]), &json!([]));
    assert_eq!(dim(&default_score(&[fp]), "stability"), 0.0);
}

#[test]
fn worked_example_arithmetic() {
    assert_eq!(
        overall_score([40.0, 62.5, 100.0, 50.0, 50.0, 100.0, 70.0]),
        63.5
    );
    assert_eq!(overall_score([100.0; 7]), 100.0);
    assert_eq!(overall_score([0.0; 7]), 0.0);
    assert_eq!(overall_score([150.0; 7]), 100.0);
}

#[test]
fn worked_example_end_to_end() {
    // One day: usage 40 % of request, 200 g at PUE 1.5, three restarts, no node capacity known,
    // no hourly points (a day-long window).
    let mut p = pod("shop", "api", 0.4, 1.0);
    p["restarts"] = json!(3);
    let mut fp = window(0, 24 * 60, &json!([p]), &json!([]));
    edit_context(&mut fp, |c| {
        c.grid_intensity = Ranged::exact(200.0);
        c.pue = Ranged::exact(1.5);
        c.cpu_capacity_cores = None;
        c.synthetic = true;
    });
    let s = default_score(&[fp]);
    let scores: Vec<(f64, bool)> = s.dimensions.iter().map(|d| (d.score, d.has_data)).collect();
    assert_eq!(
        scores,
        [
            (40.0, true),
            (62.5, true),
            (100.0, true),
            (50.0, false),
            (50.0, false),
            (100.0, true),
            (70.0, true)
        ],
        "{:#?}",
        s.dimensions
    );
    assert_eq!(s.score, 63.5);
    assert!(
        s.dimension("scaling_practices")
            .unwrap()
            .detail
            .contains("1 window longer than an hour"),
        "{}",
        s.dimension("scaling_practices").unwrap().detail
    );
}

#[test]
fn node_efficiency_is_measured_from_node_rows() {
    // 0.35 cores on a 2-core node: 17.5 % of capacity, a quarter of the 70 % target.
    let fp = window(0, 5, &json!([pod("shop", "api", 0.35, 1.0)]), &json!([]));
    let s = default_score(std::slice::from_ref(&fp));
    let node = s.dimension("node_efficiency").unwrap();
    assert!(node.has_data, "{}", node.detail);
    assert_eq!(node.score, 25.0);
    assert!(node.detail.contains("17.5%"), "{}", node.detail);

    // The inventory's capacity wins: 4 cores → 8.75 % → 12.5.
    let inventory = Inventory::from_json_str(
        r#"{"nodes": [{"name": "n1", "cpu_capacity_cores": 4}, {"name": "n2", "cpu_capacity_cores": 8}]}"#,
    )
    .unwrap();
    let s = score(&[fp], Some(&inventory), &ScoreConfig::default());
    let node = s.dimension("node_efficiency").unwrap();
    assert_eq!(node.score, 12.5);
    assert!(
        node.detail
            .contains("1 inventory node is not in the history"),
        "{}",
        node.detail
    );

    // Busy enough: 1.6 of 2 cores is above the 70 % target.
    let fp = window(0, 5, &json!([pod("shop", "api", 1.6, 2.0)]), &json!([]));
    assert_eq!(dim(&default_score(&[fp]), "node_efficiency"), 100.0);
}

/// Twelve five-minute windows of the same pods, a cost per window for each pod.
fn hour_of(pods: &Value, cost_per_window: f64) -> Vec<Footprint> {
    let costs: Vec<Value> = pods
        .as_array()
        .unwrap()
        .iter()
        .map(|p| json!({"namespace": p["namespace"], "pod": p["name"], "cost": cost_per_window}))
        .collect();
    (0..12)
        .map(|i| window(i * 5, 5, pods, &json!(costs)))
        .collect()
}

#[test]
fn a_zombie_lowers_waste_and_a_pod_just_above_the_threshold_does_not() {
    // 0.001 a window is 0.288 a day: well above 0.01 a day.
    let waste = |idle_cpu: f64, cost: f64| {
        let pods = json!([
            pod("shop", "api", 0.5, 1.0),
            pod("shop", "worker", 0.2, 0.5),
            pod("shop", "idle", idle_cpu, 0.5),
        ]);
        dim(&default_score(&hour_of(&pods, cost)), "waste_elimination")
    };
    // One zombie of three workloads: (2/3 × 0.7 + 0.3) × 100.
    assert_eq!(waste(0.0005, 0.001), 76.7);
    assert_eq!(waste(0.0011, 0.001), 100.0);
    // Costing less than 0.01 a day (0.00003 × 288 = 0.00864): not a zombie.
    assert_eq!(waste(0.0005, 0.000_03), 100.0);
    assert_eq!(waste(0.0005, 0.000_04), 76.7);
}

/// Without cost data a zombie must reserve at least 10 m (the shared rule; `waste.rs` tests the
/// threshold): a 250 m request does, no request does not.
#[test]
fn without_cost_data_a_zombie_is_one_that_requests_cpu() {
    let waste = |request: f64| {
        let pods = json!([
            pod("shop", "api", 0.5, 1.0),
            pod("shop", "idle", 0.0, request)
        ]);
        let history: Vec<Footprint> = (0..12)
            .map(|i| window(i * 5, 5, &pods, &json!([])))
            .collect();
        dim(&default_score(&history), "waste_elimination")
    };
    assert_eq!(waste(0.25), 65.0); // (1/2 × 0.7 + 0.3) × 100
    assert_eq!(waste(0.0), 100.0);
}

#[test]
fn an_idle_namespace_lowers_waste() {
    let waste = |old_cpu: f64| {
        let pods = json!([
            pod("shop", "api", 0.5, 1.0),
            pod("old", "report", old_cpu, 0.1)
        ]);
        dim(&default_score(&hour_of(&pods, 0.001)), "waste_elimination")
    };
    // 0.002 cores is no zombie (above 0.001) but the namespace is idle (below 0.005).
    assert_eq!(waste(0.002), 85.0);
    assert_eq!(waste(0.0051), 100.0);
}

#[test]
fn system_namespaces_are_left_out_unless_asked_for() {
    let pods = json!([
        pod("shop", "api", 0.5, 1.0),
        pod("kube-system", "dns", 0.0, 0.1)
    ]);
    let history = hour_of(&pods, 0.001);
    let s = default_score(&history);
    assert_eq!(dim(&s, "waste_elimination"), 100.0);
    assert_eq!(s.pods, 2);
    let config = ScoreConfig {
        include_system_namespaces: true,
        ..ScoreConfig::default()
    };
    // One zombie of two workloads, one idle namespace of two.
    let s = score(&history, None, &config);
    assert_eq!(dim(&s, "waste_elimination"), 50.0);
}

/// Six one-hour windows of a bursty Deployment `batch`: 0.1 cores, 1.2 in the third hour.
fn bursty() -> Vec<Footprint> {
    [0.1, 0.1, 1.2, 0.1, 0.1, 0.1]
        .into_iter()
        .zip(0i64..)
        .map(|(cpu, h)| {
            window(
                h * 60,
                60,
                &json!([replica("jobs", "batch", cpu, 1.0)]),
                &json!([]),
            )
        })
        .collect()
}

#[test]
fn hpa_governed_workloads_are_not_autoscaling_candidates() {
    let history = bursty();
    // CV 1.45 and peak/mean 4.2: a candidate; no idle hours, so no off-peak candidate.
    let s = default_score(&history);
    assert_eq!(dim(&s, "scaling_practices"), 40.0);

    let governed = Inventory::from_json_str(
        r#"{"hpas": [{"namespace": "jobs", "target_kind": "Deployment", "target_name": "batch"}]}"#,
    )
    .unwrap();
    let s = score(&history, Some(&governed), &ScoreConfig::default());
    assert_eq!(dim(&s, "scaling_practices"), 100.0);
    let detail = &s.dimension("scaling_practices").unwrap().detail;
    assert!(detail.contains("1 governed by an HPA"), "{detail}");

    let elsewhere = Inventory::from_json_str(
        r#"{"hpas": [{"namespace": "other", "target_kind": "Deployment", "target_name": "batch"}]}"#,
    )
    .unwrap();
    let s = score(&history, Some(&elsewhere), &ScoreConfig::default());
    assert_eq!(dim(&s, "scaling_practices"), 40.0);
}

#[test]
fn off_peak_needs_four_consecutive_idle_hours() {
    let day = |busy: &dyn Fn(i64) -> bool| -> Vec<Footprint> {
        (0..24)
            .map(|h| {
                let cpu = if busy(h) { 0.8 } else { 0.005 };
                window(
                    h * 60,
                    60,
                    &json!([replica("shop", "web", cpu, 1.0)]),
                    &json!([]),
                )
            })
            .collect()
    };
    // Busy 09:00–17:00, idle otherwise: 16 idle hours, an off-peak candidate (spike 2.96: not
    // an autoscaling one).
    let s = default_score(&day(&|h| (9..17).contains(&h)));
    assert_eq!(dim(&s, "scaling_practices"), 60.0);
    // Only two idle hours.
    let s = default_score(&day(&|h| h != 3 && h != 4));
    assert_eq!(dim(&s, "scaling_practices"), 100.0);
}

/// Six hours of a small cluster sampled every `step` minutes: the same load whatever the step.
fn six_hours(step: i64) -> Vec<Footprint> {
    let per_hour = 60 / step;
    let cost = 0.001 * step as f64 / 5.0;
    (0..6 * per_hour)
        .map(|i| {
            let start = i * step;
            let hour = start / 60;
            let batch = if hour == 2 { 1.2 } else { 0.1 };
            let mut web = pod("shop", "web", 0.3, 0.5);
            web["memory_usage_bytes"] = json!(200u64 << 20);
            web["memory_request_bytes"] = json!(512u64 << 20);
            web["restarts"] = json!(u64::from(start == 3 * 60));
            let pods = json!([
                web,
                replica("jobs", "batch", batch, 1.0),
                pod("shop", "idle", 0.0005, 0.2),
            ]);
            let costs: Vec<Value> = ["web", "idle"]
                .iter()
                .map(|p| json!({"namespace": "shop", "pod": p, "cost": cost}))
                .chain(std::iter::once(
                    json!({"namespace": "jobs", "pod": "batch-7d9f8c6b5-abcde", "cost": cost}),
                ))
                .collect();
            window(start, step, &pods, &json!(costs))
        })
        .collect()
}

#[test]
fn same_load_same_score_whatever_the_window_length() {
    let fine = default_score(&six_hours(5));
    let coarse = default_score(&six_hours(60));
    assert_eq!(fine.windows, 72);
    assert_eq!(coarse.windows, 6);
    for (f, c) in fine.dimensions.iter().zip(&coarse.dimensions) {
        assert!(f.has_data, "{}: {}", f.name, f.detail);
        assert_eq!(
            (f.score, f.has_data),
            (c.score, c.has_data),
            "{}: {} vs {}",
            f.name,
            f.detail,
            c.detail
        );
    }
    assert_eq!(fine.score, coarse.score);
    // One restart in six hours is four a day; one zombie of three workloads.
    assert_eq!(dim(&fine, "stability"), 60.0);
    assert_eq!(dim(&fine, "waste_elimination"), 76.7);
    assert_eq!(dim(&fine, "scaling_practices"), 80.0);
}

#[test]
fn streaming_matches_the_convenience_function() {
    let history = six_hours(5);
    let config = ScoreConfig::default();
    let mut builder = ScoreBuilder::new(&config, None);
    for fp in &history {
        builder.observe(fp);
    }
    assert_eq!(builder.finish(), score(&history, None, &config));
}

#[test]
fn serialises_with_snake_case_fields_and_reads_partial_config() {
    let s = default_score(&six_hours(60));
    let v = serde_json::to_value(&s).unwrap();
    assert!(v["score"].is_number());
    assert_eq!(v["windows"], json!(6));
    assert_eq!(v["pods"], json!(3));
    assert_eq!(v["dimensions"][0]["name"], json!("resource_efficiency"));
    assert_eq!(v["dimensions"][0]["has_data"], json!(true));
    assert!(
        v["dimensions"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("rows")
    );

    let config: ScoreConfig = serde_json::from_str(
        r#"{"zombie_max_cpu_cores": 0.002, "include_system_namespaces": true}"#,
    )
    .unwrap();
    assert_eq!(config.zombie_max_cpu_cores, 0.002);
    assert!(config.include_system_namespaces);
    assert_eq!(config.autoscaling_cv, ScoreConfig::default().autoscaling_cv);
    assert!(serde_json::from_str::<ScoreConfig>(r#"{"zombie_threshold": 1}"#).is_err());
}
