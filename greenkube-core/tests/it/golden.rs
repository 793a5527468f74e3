//! Golden tests: GreenKube 0.2's worked examples and test-pinned cases
//! (`spec/greenkube-reference.md` sections 2.2, 2.5, 2.7 and 12) through `classic`.

use greenkube_core::{DefaultProfile, EstimateOptions, Methodology};
use serde_json::json;

use crate::common::{close, pod, reasons, run, run_with, snapshot};

fn m5_large() -> serde_json::Value {
    json!([{ "name": "n1", "provider": "aws", "instance_type": "m5.large",
             "region": "eu-west-3", "cpu_capacity_cores": 2 }])
}

#[test]
fn worked_example_two_pods_share_node_power() {
    // m5.large: 2 vCPU × AWS 0.74/3.5 W → 1.48–7.0 W; 0.8 cores → u = 0.4 → 3.688 W.
    let fp = run(
        snapshot(
            m5_large(),
            json!([
                {"namespace": "a", "name": "A", "node": "n1", "cpu_usage_cores": 0.5},
                {"namespace": "a", "name": "B", "node": "n1", "cpu_usage_cores": 0.3},
            ]),
        ),
        Methodology::Classic,
    );
    close(fp.nodes[0].energy_joules.point, 1106.4, 1e-9);
    close(pod(&fp, "A").energy_joules.point, 691.5, 1e-9);
    close(pod(&fp, "B").energy_joules.point, 414.9, 1e-9);
    // Section 2.5: eu-west-3 → FR, default 26 g/kWh, AWS PUE 1.15.
    let a = pod(&fp, "A");
    assert_eq!(a.node.zone.as_deref(), Some("FR"));
    close(a.node.grid_intensity.point, 26.0, 0.0);
    close(a.node.pue.point, 1.15, 0.0);
    close(a.co2e_grams.point, 691.5 / 3.6e6 * 1.15 * 26.0, 1e-12);
    close(a.co2e_grams.point, 0.005743, 5e-7);
}

#[test]
fn worked_example_no_cpu_splits_idle_evenly() {
    let pods = json!([
        {"namespace": "a", "name": "p1", "node": "n1", "cpu_usage_cores": 0.0},
        {"namespace": "a", "name": "p2", "node": "n1", "cpu_usage_cores": 0.0},
        {"namespace": "a", "name": "p3", "node": "n1", "cpu_usage_cores": 0.0},
    ]);
    let fp = run(snapshot(m5_large(), pods), Methodology::Classic);
    for p in &fp.pods {
        close(p.energy_joules.point, 148.0, 1e-9);
    }
    close(fp.nodes[0].overhead_energy_joules.point, 0.0, 0.0);
}

#[test]
fn worked_example_idle_node_keeps_unallocated_energy() {
    let fp = run(snapshot(m5_large(), json!([])), Methodology::Classic);
    close(fp.nodes[0].overhead_energy_joules.point, 444.0, 1e-9);
    close(fp.nodes[0].energy_joules.point, 444.0, 1e-9);
    close(fp.totals.energy_joules.point, 444.0, 1e-9);
}

#[test]
fn pinned_single_pod_cases() {
    let one = |node: serde_json::Value, cores: f64| {
        let fp = run(
            snapshot(
                json!([node]),
                json!([{"namespace": "a", "name": "p", "node": "n1", "cpu_usage_cores": cores}]),
            ),
            Methodology::Classic,
        );
        fp.pods[0].energy_joules.point
    };
    let m5 = json!({"name": "n1", "provider": "aws", "instance_type": "m5.large"});
    let t3 = json!({"name": "n1", "provider": "aws", "instance_type": "t3.medium"});
    close(one(m5.clone(), 0.5), 858.0, 1e-9); // 2.86 W
    close(one(t3, 1.2), 1437.6, 1e-9); // 4.792 W
    close(one(m5, 3.0), 2100.0, 1e-9); // capped at 7.0 W
}

#[test]
fn over_capacity_is_capped_and_flagged() {
    let fp = run(
        snapshot(
            m5_large(),
            json!([{"namespace": "a", "name": "p", "node": "n1", "cpu_usage_cores": 3.0}]),
        ),
        Methodology::Classic,
    );
    let r = reasons(&fp.pods[0]).join("; ");
    assert!(r.contains("utilisation capped at 100%"), "{r}");
    close(fp.nodes[0].utilisation, 1.0, 0.0);
}

fn with_default_profile(vcores: f64, min: f64, max: f64) -> EstimateOptions {
    EstimateOptions {
        classic_default_profile: Some(DefaultProfile {
            vcores,
            min_watts: min,
            max_watts: max,
        }),
        ..EstimateOptions::new(Methodology::Classic)
    }
}

#[test]
fn default_profile_for_unknown_type() {
    let fp = run_with(
        snapshot(
            json!([{"name": "n1", "provider": "aws", "instance_type": "z9.mystery"}]),
            json!([{"namespace": "a", "name": "p", "node": "n1", "cpu_usage_cores": 0.5}]),
        ),
        &with_default_profile(2.0, 2.0, 12.0),
    );
    close(fp.pods[0].energy_joules.point, 1350.0, 1e-9); // 4.5 W
    let r = reasons(&fp.pods[0]).join("; ");
    assert!(r.contains("unknown instance type 'z9.mystery'"), "{r}");
}

#[test]
fn builtin_default_profile_is_greenkubes() {
    // 1 vCPU, 1–10 W: 0.5 cores → 5.5 W → 1650 J.
    let fp = run(
        snapshot(
            json!([{"name": "n1", "provider": "aws"}]),
            json!([{"namespace": "a", "name": "p", "node": "n1", "cpu_usage_cores": 0.5}]),
        ),
        Methodology::Classic,
    );
    close(fp.pods[0].energy_joules.point, 1650.0, 1e-9);
    assert!(reasons(&fp.pods[0]).join(";").contains("no instance type"));
}

#[test]
fn zero_vcore_profile_uses_min_watts_and_idle_split() {
    // Idle node with pods splits min W evenly: 6 W, 2 pods, 10 s → 30 J each.
    let mut value = snapshot(
        json!([{"name": "n1", "provider": "aws", "instance_type": "unknown-type"}]),
        json!([
            {"namespace": "a", "name": "p1", "node": "n1", "cpu_usage_cores": 0.0},
            {"namespace": "a", "name": "p2", "node": "n1", "cpu_usage_cores": 0.0},
        ]),
    );
    value["window_end"] = json!("2025-06-02T10:00:10Z");
    let fp = run_with(value.clone(), &with_default_profile(0.0, 6.0, 20.0));
    for p in &fp.pods {
        close(p.energy_joules.point, 30.0, 1e-9);
    }
    // vcores = 0 → power = min W even with usage.
    value["pods"][0]["cpu_usage_cores"] = json!(1.0);
    let fp = run_with(value, &with_default_profile(0.0, 6.0, 20.0));
    close(fp.nodes[0].energy_joules.point, 60.0, 1e-9);
}

#[test]
fn inferred_cpu_n_profile() {
    // Defaults 8 vCPU, 16–64 W → cpu-4 = 8–32 W; 2 cores → u = 0.5 → 20 W → 6000 J.
    let fp = run_with(
        snapshot(
            json!([{"name": "n1", "provider": "aws", "instance_type": "cpu-4"}]),
            json!([{"namespace": "a", "name": "p", "node": "n1", "cpu_usage_cores": 2.0}]),
        ),
        &with_default_profile(8.0, 16.0, 64.0),
    );
    close(fp.pods[0].energy_joules.point, 6000.0, 1e-9);
    assert!(reasons(&fp.pods[0]).join(";").contains("cpu-4"));
    // Invalid cpu-x falls back to the default profile.
    let fp = run_with(
        snapshot(
            json!([{"name": "n1", "provider": "aws", "instance_type": "cpu-x"}]),
            json!([{"namespace": "a", "name": "p", "node": "n1", "cpu_usage_cores": 2.0}]),
        ),
        &with_default_profile(8.0, 16.0, 64.0),
    );
    assert!(reasons(&fp.pods[0]).join(";").contains("default profile"));
    close(fp.nodes[0].vcpus, 8.0, 0.0);
}

#[test]
fn unknown_zone_uses_global_default() {
    let fp = run(
        snapshot(
            json!([{"name": "n1", "provider": "aws", "instance_type": "m5.large"}]),
            json!([
                {"namespace": "a", "name": "A", "node": "n1", "cpu_usage_cores": 0.5},
                {"namespace": "a", "name": "B", "node": "n1", "cpu_usage_cores": 0.3},
            ]),
        ),
        Methodology::Classic,
    );
    let a = pod(&fp, "A");
    close(a.node.grid_intensity.point, 500.0, 0.0);
    close(a.co2e_grams.point, 0.11045, 5e-6);
    assert!(reasons(a).join(";").contains("global default"));
}

#[test]
fn measured_intensity_and_default_pue() {
    // 2 kWh × default PUE 1.3 × 150 g/kWh = 390 g.
    let mut value = snapshot(
        json!([{"name": "n1", "zone": "FR"}]),
        json!([{"namespace": "a", "name": "p", "node": "n1", "cpu_usage_cores": 1.0}]),
    );
    value["window_end"] = json!("2025-06-02T11:00:00Z");
    value["grid_intensity"] = json!({"FR": 150});
    let fp = run_with(value, &with_default_profile(1.0, 2000.0, 2000.0));
    close(fp.pods[0].energy_joules.point, 7.2e6, 1e-6);
    close(fp.pods[0].co2e_grams.point, 390.0, 1e-9);
    let r = reasons(&fp.pods[0]).join(";");
    assert!(r.contains("default PUE 1.3"), "{r}");
    // A measured intensity is exact.
    assert_eq!(fp.pods[0].node.grid_intensity.low, 150.0);
}

#[test]
fn zero_energy_gives_zero_co2e_but_reports_intensity() {
    let fp = run_with(
        snapshot(
            json!([{"name": "n1", "provider": "aws", "region": "eu-west-3"}]),
            json!([{"namespace": "a", "name": "p", "node": "n1", "cpu_usage_cores": 0.0}]),
        ),
        &with_default_profile(1.0, 0.0, 10.0),
    );
    assert_eq!(fp.pods[0].energy_joules.point, 0.0);
    assert_eq!(fp.pods[0].co2e_grams.point, 0.0);
    close(fp.pods[0].node.grid_intensity.point, 26.0, 0.0);
}

#[test]
fn embodied_fallback_worked_example() {
    // 100 kg over 35 040 h → 0.23782 g per node per 5 minutes; 250 m of 2 vCPU → 0.02973 g.
    let fp = run(
        snapshot(
            m5_large(),
            json!([{"namespace": "a", "name": "p", "node": "n1", "cpu_request_cores": 0.25,
                    "cpu_usage_cores": 0.1}]),
        ),
        Methodology::Classic,
    );
    close(fp.nodes[0].embodied_co2e_grams.point, 0.237_823, 1e-6);
    close(fp.pods[0].embodied_co2e_grams.point, 0.029_728, 1e-6);
    let r = reasons(&fp.pods[0]).join(";");
    assert!(r.contains("fallback default (100 kg CO2e)"), "{r}");
    close(
        fp.pods[0].total_co2e_grams().point,
        fp.pods[0].co2e_grams.point + fp.pods[0].embodied_co2e_grams.point,
        1e-15,
    );
}

#[test]
fn embodied_from_snapshot_uses_usage_when_no_request() {
    let mut value = snapshot(
        m5_large(),
        json!([
            {"namespace": "a", "name": "used", "node": "n1", "cpu_usage_cores": 0.5},
            {"namespace": "a", "name": "idle", "node": "n1", "cpu_usage_cores": 0.0},
        ]),
    );
    value["embodied"] = json!([{"provider": "AWS", "instance_type": "M5.LARGE", "kgco2e": 700}]);
    let fp = run(value, Methodology::Classic);
    let expected = 700_000.0 / 35_040.0 * (300.0 / 3600.0) * 0.25;
    close(pod(&fp, "used").embodied_co2e_grams.point, expected, 1e-12);
    assert_eq!(pod(&fp, "idle").embodied_co2e_grams.point, 0.0);
    assert!(!reasons(pod(&fp, "used")).join(";").contains("embodied"));
}

#[test]
fn cost_is_matched_on_namespace_and_pod() {
    let mut value = snapshot(
        m5_large(),
        json!([
            {"namespace": "team-a", "name": "api", "node": "n1", "cpu_usage_cores": 0.1},
            {"namespace": "team-b", "name": "api", "node": "n1", "cpu_usage_cores": 0.1},
            {"namespace": "team-c", "name": "api", "node": "n1", "cpu_usage_cores": 0.1},
        ]),
    );
    value["costs"] = json!([
        {"namespace": "team-b", "pod": "api", "cost": 0.002},
        {"namespace": "team-a", "pod": "api", "cost": 0.001},
        {"namespace": "gone", "pod": "old", "cost": 9.0},
    ]);
    let fp = run(value, Methodology::Classic);
    assert_eq!(fp.pods[0].cost.map(|c| c.0), Some(0.001));
    assert_eq!(fp.pods[1].cost.map(|c| c.0), Some(0.002));
    assert_eq!(fp.pods[2].cost, None);
    assert!(reasons(&fp.pods[2]).join(";").contains("no cost data"));
    close(fp.totals.cost.0, 0.003, 1e-15);
    assert_eq!(fp.totals.pods_without_cost, 1);
    assert!(fp.warnings.iter().any(|w| w.contains("gone/old")));
}

#[test]
fn fully_resolved_row_is_not_estimated() {
    let mut value = snapshot(
        json!([{ "name": "n1", "provider": "aws", "instance_type": "m5.large",
                 "zone": "eu-west-3a", "cpu_capacity_cores": 2, "memory_capacity_bytes": 8589934592u64 }]),
        json!([{"namespace": "a", "name": "p", "node": "n1", "cpu_usage_cores": 0.5,
                "memory_usage_bytes": 1073741824u64}]),
    );
    value["grid_intensity"] = json!({"FR": 30});
    value["costs"] = json!([{"namespace": "a", "pod": "p", "cost": 0.01}]);
    value["embodied"] = json!([{"provider": "aws", "instance_type": "m5.large", "kgco2e": 500}]);
    for m in [Methodology::Classic, Methodology::Full] {
        let fp = run(value.clone(), m);
        assert!(!fp.pods[0].estimated(), "{m}: {:?}", reasons(&fp.pods[0]));
        assert_eq!(fp.totals.estimated_pods, 0);
    }
}

#[test]
fn region_fallback_is_flagged() {
    let fp = run(
        snapshot(
            json!([{"name": "n1", "provider": "gcp", "instance_type": "n2-standard-4",
                    "region": "europe-west9"}]),
            json!([{"namespace": "a", "name": "p", "node": "n1", "cpu_usage_cores": 1.0}]),
        ),
        Methodology::Classic,
    );
    assert_eq!(fp.pods[0].node.zone.as_deref(), Some("FR"));
    assert!(
        reasons(&fp.pods[0])
            .join(";")
            .contains("fallback from zone")
    );
}

#[test]
fn classic_and_full_differ_where_greenkube_maps_badly() {
    // AWS us-east-2 (Ohio): GreenKube says MISO, the geography says PJM.
    let value = snapshot(
        json!([{"name": "n1", "provider": "aws", "instance_type": "m5.large",
                "zone": "us-east-2a"}]),
        json!([{"namespace": "a", "name": "p", "node": "n1", "cpu_usage_cores": 1.0}]),
    );
    assert_eq!(
        run(value.clone(), Methodology::Classic).pods[0]
            .node
            .zone
            .as_deref(),
        Some("US-MIDW-MISO")
    );
    assert_eq!(
        run(value, Methodology::Full).pods[0].node.zone.as_deref(),
        Some("US-MIDA-PJM")
    );
}

#[test]
fn full_uses_microarchitecture_and_memory() {
    let value = snapshot(
        json!([{"name": "n1", "provider": "aws", "instance_type": "m5.large", "region": "eu-west-3"}]),
        json!([{"namespace": "a", "name": "p", "node": "n1", "cpu_usage_cores": 2.0,
                "cpu_request_cores": 2.0, "memory_usage_bytes": 8589934592u64}]),
    );
    let fp = run(value, Methodology::Full);
    // Skylake 0.612989–4.10417 W/vCPU × 2 at full load + 8 GiB × 0.392 W, for 300 s.
    let expected = (4.10417 * 2.0 + 8.0 * 0.392) * 300.0;
    close(fp.nodes[0].energy_joules.point, expected, 1e-6);
    close(fp.pods[0].energy_joules.point, expected, 1e-6);
    close(fp.nodes[0].overhead_energy_joules.point, 0.0, 1e-9);
}
