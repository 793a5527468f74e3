//! The what-if engine: no change gives no difference; each kind of change moves the figures the
//! way the methodology says.

use greenkube_core::whatif::{Change, WhatIfOptions, changes_from_json, what_if};
use greenkube_core::{EstimateOptions, Footprint, Methodology, ReferenceData, Snapshot, estimate};

/// A day of hourly windows of the example cluster, with a daily load curve.
fn history(methodology: Methodology) -> Vec<Footprint> {
    let base = Snapshot::from_json_str(include_str!("../../../examples/snapshots/cluster.json"))
        .expect("example parses");
    (0..24)
        .map(|h| {
            let mut snap = base.clone();
            snap.window_start = base.window_start + chrono::Duration::hours(h);
            snap.window_end = snap.window_start + chrono::Duration::hours(1);
            let load = 0.3 + 0.7 * f64::from(u8::from((9..18).contains(&h)));
            for p in &mut snap.pods {
                p.cpu_usage_cores = p
                    .cpu_usage_cores
                    .map(|c| greenkube_core::units::Cores(c.0 * load));
            }
            estimate(&snap, &EstimateOptions::new(methodology)).expect("estimates")
        })
        .collect()
}

fn requests(cpu: f64) -> Change {
    Change::Requests {
        namespace: "ml".into(),
        kind: "Pod".into(),
        name: "notebook-alice".into(),
        cpu_request_cores: Some(cpu),
        memory_request_bytes: None,
    }
}

#[test]
fn no_change_gives_zero_difference() {
    for m in Methodology::ALL {
        let h = history(m);
        let r = what_if(&h, &[], WhatIfOptions::default(), ReferenceData::embedded()).unwrap();
        for c in [&r.cluster, &r.targets] {
            assert_eq!(c.savings.energy_joules.point, 0.0);
            assert_eq!(c.savings.co2e_grams.point, 0.0);
            assert_eq!(c.savings.embodied_co2e_grams.point, 0.0);
            assert_eq!(c.savings.cost, Some(0.0));
        }
        // The baseline re-estimate is the history.
        let stored: f64 = h.iter().map(|f| f.totals.energy_joules.point).sum();
        assert!((r.cluster.baseline.energy_joules.point - stored).abs() < 1e-6 * stored);
        assert_eq!(r.windows, 24);
    }
}

#[test]
fn smaller_request_saves_in_full_not_in_classic_energy() {
    let full = what_if(
        &history(Methodology::Full),
        &[requests(0.1)],
        WhatIfOptions::default(),
        ReferenceData::embedded(),
    )
    .unwrap();
    assert!(
        full.targets.savings.energy_joules.point > 0.0,
        "{:?}",
        full.targets.savings
    );
    assert!(full.targets.savings.embodied_co2e_grams.point > 0.0);
    // Node energy is unchanged; the pod's idle share goes back to the node overhead.
    let total_delta = full.cluster.savings.energy_joules.point;
    assert!(
        total_delta.abs() < 1e-6,
        "cluster energy moved by {total_delta}"
    );
    // Cost: notebook-alice has no cost data, so nothing changes.
    assert_eq!(full.targets.savings.cost, Some(0.0));

    let classic = what_if(
        &history(Methodology::Classic),
        &[requests(0.1)],
        WhatIfOptions::default(),
        ReferenceData::embedded(),
    )
    .unwrap();
    // Classic splits idle power by usage: requests change only the embodied share.
    assert!(classic.targets.savings.energy_joules.point.abs() < 1e-9);
    assert!(classic.targets.savings.embodied_co2e_grams.point > 0.0);
}

#[test]
fn request_change_scales_cost_by_allocation() {
    let change = Change::Requests {
        namespace: "shop".into(),
        kind: "Deployment".into(),
        name: "api".into(),
        cpu_request_cores: Some(0.5),
        memory_request_bytes: None,
    };
    let r = what_if(
        &history(Methodology::Full),
        &[change],
        WhatIfOptions::default(),
        ReferenceData::embedded(),
    )
    .unwrap();
    let saved = r.targets.savings.cost.unwrap();
    assert!(saved > 0.0, "{saved}");
    // At most the CPU part of the api pods' cost.
    let api_cost: f64 = history(Methodology::Full)
        .iter()
        .flat_map(|f| f.pods.iter())
        .filter(|p| p.pod.starts_with("api-7b9c5d6f8"))
        .filter_map(|p| p.cost.map(|c| c.0))
        .sum();
    assert!(saved < api_cost * 0.5, "{saved} vs {api_cost}");
}

#[test]
fn removing_a_namespace_saves_energy_and_cost() {
    let change = Change::Remove {
        namespace: "staging".into(),
        kind: None,
        name: None,
    };
    let r = what_if(
        &history(Methodology::Classic),
        &[change],
        WhatIfOptions::default(),
        ReferenceData::embedded(),
    )
    .unwrap();
    assert!(r.cluster.savings.total_co2e_grams().point > 0.0);
    assert!(r.cluster.savings.cost.unwrap() > 0.0);
    let (c, t) = (
        r.cluster.savings.cost.unwrap(),
        r.targets.savings.cost.unwrap(),
    );
    assert!((c - t).abs() < 1e-12, "{c} vs {t}");
    let per_year = r.cluster.savings_per_year.cost.unwrap();
    assert!((per_year - r.cluster.savings.cost.unwrap() * 365.0).abs() < 1e-9 * per_year);
}

#[test]
fn schedule_off_hours_saves_only_in_those_hours() {
    let off = |from, to| Change::Schedule {
        namespace: "ml".into(),
        kind: "CronJob".into(),
        name: "trainer-gpu-less".into(),
        off_from_hour: from,
        off_to_hour: to,
    };
    // trainer-gpu-less is a Job without a timestamp suffix: its workload is the Job itself.
    let job = Change::Schedule {
        namespace: "ml".into(),
        kind: "Job".into(),
        name: "trainer-gpu-less".into(),
        off_from_hour: 0,
        off_to_hour: 6,
    };
    let h = history(Methodology::Full);
    assert_eq!(
        what_if(
            &h,
            &[off(0, 6)],
            WhatIfOptions::default(),
            ReferenceData::embedded()
        )
        .unwrap()
        .cluster
        .savings
        .cost,
        Some(0.0)
    );
    let six = what_if(
        &h,
        &[job],
        WhatIfOptions::default(),
        ReferenceData::embedded(),
    )
    .unwrap();
    let wrap = what_if(
        &h,
        &[Change::Schedule {
            namespace: "ml".into(),
            kind: "Job".into(),
            name: "trainer-gpu-less".into(),
            off_from_hour: 18,
            off_to_hour: 6,
        }],
        WhatIfOptions::default(),
        ReferenceData::embedded(),
    )
    .unwrap();
    let (six, wrap) = (
        six.cluster.savings.cost.unwrap(),
        wrap.cluster.savings.cost.unwrap(),
    );
    assert!(six > 0.0);
    assert!(wrap > six * 1.9, "{wrap} vs {six}");
}

#[test]
fn drain_and_instance_type_leave_cost_unknown() {
    let h = history(Methodology::Full);
    let drain = Change::Drain {
        nodes: vec!["node-gra-b3-16-7c2d".into()],
    };
    let r = what_if(
        &h,
        &[drain],
        WhatIfOptions::default(),
        ReferenceData::embedded(),
    )
    .unwrap();
    assert_eq!(r.cluster.savings.cost, None);
    assert!(
        r.notes
            .iter()
            .any(|n| n.contains("cost difference is unknown"))
    );
    assert!(
        r.cluster.savings.energy_joules.point > 0.0,
        "draining a node saves its idle power"
    );
    let resize = Change::InstanceType {
        nodes: vec![],
        from_instance_type: Some("c6i.2xlarge".into()),
        instance_type: "c6i.4xlarge".into(),
    };
    let r = what_if(
        &h,
        &[resize],
        WhatIfOptions::default(),
        ReferenceData::embedded(),
    )
    .unwrap();
    assert!(
        r.cluster.savings.energy_joules.point < 0.0,
        "a bigger node uses more energy"
    );
}

#[test]
fn region_shift_to_a_cleaner_grid_saves_operational_co2e() {
    let change = Change::Region {
        nodes: vec![],
        from_region: Some("us-east-1".into()),
        region: "eu-north-1".into(),
        zone: None,
    };
    let r = what_if(
        &history(Methodology::Full),
        &[change],
        WhatIfOptions::default(),
        ReferenceData::embedded(),
    )
    .unwrap();
    let s = r.cluster.savings.co2e_grams;
    assert!(s.point > 0.0);
    assert!(s.low <= s.point && s.point <= s.high);
}

#[test]
fn replicas_and_autoscale_keep_total_usage() {
    let h = history(Methodology::Full);
    let more = Change::Replicas {
        namespace: "shop".into(),
        kind: "Deployment".into(),
        name: "api".into(),
        replicas: 6,
    };
    let r = what_if(
        &h,
        &[more],
        WhatIfOptions::default(),
        ReferenceData::embedded(),
    )
    .unwrap();
    // More replicas reserve more: more idle and embodied share, and more cost.
    assert!(r.targets.savings.embodied_co2e_grams.point < 0.0);
    assert!(r.targets.savings.cost.unwrap() < 0.0);
    let auto = Change::Autoscale {
        namespace: "shop".into(),
        kind: "Deployment".into(),
        name: "api".into(),
        target_utilisation: 0.7,
        min_replicas: 1,
    };
    let r = what_if(
        &h,
        &[auto],
        WhatIfOptions::default(),
        ReferenceData::embedded(),
    )
    .unwrap();
    assert!(
        r.targets.savings.cost.unwrap() > 0.0,
        "off-hours scale-down saves cost"
    );
}

#[test]
fn time_shift_moves_load_to_cleaner_windows() {
    // Two zones' intensities vary by hour: make FR cleanest at night.
    let mut h = history(Methodology::Full);
    let base =
        Snapshot::from_json_str(include_str!("../../../examples/snapshots/cluster.json")).unwrap();
    h = h
        .iter()
        .enumerate()
        .map(|(i, fp)| {
            let mut snap = greenkube_core::replay::snapshot_of(fp);
            let night = !(9..18).contains(&i);
            snap.grid_intensity.insert(
                "FR".into(),
                greenkube_core::units::GramsPerKwh(if night { 10.0 } else { 80.0 }),
            );
            let _ = &base;
            estimate(&snap, &EstimateOptions::default()).unwrap()
        })
        .collect();
    let shift = Change::TimeShift {
        namespace: "data".into(),
        kind: "StatefulSet".into(),
        name: "postgres".into(),
    };
    let r = what_if(
        &h,
        &[shift],
        WhatIfOptions::default(),
        ReferenceData::embedded(),
    )
    .unwrap();
    assert!(
        r.targets.savings.co2e_grams.point > 0.0,
        "{:?}",
        r.targets.savings
    );
}

#[test]
fn sampling_scales_to_the_whole_history() {
    let h = history(Methodology::Full);
    let change = Change::Remove {
        namespace: "legacy".into(),
        kind: None,
        name: None,
    };
    let all = what_if(
        &h,
        std::slice::from_ref(&change),
        WhatIfOptions::default(),
        ReferenceData::embedded(),
    )
    .unwrap();
    let some = what_if(
        &h,
        &[change],
        WhatIfOptions {
            max_windows: Some(8),
        },
        ReferenceData::embedded(),
    )
    .unwrap();
    assert_eq!(some.windows_evaluated, 8);
    let (a, s) = (
        all.cluster.savings.cost.unwrap(),
        some.cluster.savings.cost.unwrap(),
    );
    assert!(
        (a - s).abs() < 1e-9 * a.abs(),
        "cost of legacy is constant per window: {a} vs {s}"
    );
    assert!(some.notes.iter().any(|n| n.contains("8 of 24")));
}

#[test]
fn changes_parse_from_json_and_bad_ones_are_named() {
    let changes = changes_from_json(
        r#"[{"change":"requests","namespace":"shop","kind":"Deployment","name":"api","cpu_request_cores":0.2},
            {"change":"drain","nodes":["n1"]}]"#,
    )
    .unwrap();
    assert_eq!(changes.len(), 2);
    let err = changes_from_json(
        r#"[{"change":"requests","namespace":"a","kind":"b","name":"c","cpu":1}]"#,
    )
    .unwrap_err();
    assert!(err.to_string().contains("unknown field `cpu`"), "{err}");
    let bad = changes_from_json(r#"[{"change":"requests","namespace":"a","kind":"b","name":"c"}]"#)
        .unwrap();
    let err = what_if(
        &history(Methodology::Full),
        &bad,
        WhatIfOptions::default(),
        ReferenceData::embedded(),
    )
    .unwrap_err();
    assert!(err.to_string().starts_with("changes[0]"), "{err}");
}

mod properties {
    use greenkube_core::whatif::{WhatIfOptions, what_if};
    use greenkube_core::{
        EstimateOptions, IdlePolicy, Methodology, ReferenceData, Snapshot, estimate,
    };
    use proptest::prelude::*;
    use serde_json::json;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]

        /// Replaying a history without changes reproduces it exactly, whatever the cluster.
        #[test]
        fn no_change_gives_zero_difference(
            usages in prop::collection::vec(0.0f64..4.0, 1..8),
            requests in prop::collection::vec(prop::option::of(0.0f64..4.0), 8),
            classic in prop::bool::ANY,
            policy in 0usize..4,
        ) {
            let pods: Vec<_> = usages.iter().enumerate().map(|(i, u)| json!({
                "namespace": "ns", "name": format!("p{i}"), "node": format!("n{}", i % 2),
                "cpu_usage_cores": u, "cpu_request_cores": requests[i],
            })).collect();
            let snap = Snapshot::from_json_value(json!({
                "schema": "greenkube.snapshot/v1",
                "window_start": "2025-06-02T10:00:00Z", "window_end": "2025-06-02T10:05:00Z",
                "nodes": [{"name": "n0", "provider": "gcp", "instance_type": "n2-standard-4", "region": "europe-west9"},
                          {"name": "n1", "provider": "aws", "region": "us-east-1", "cpu_capacity_cores": 8}],
                "pods": pods,
                "costs": [{"namespace": "ns", "pod": "p0", "cost": 0.01}],
            })).unwrap();
            let options = EstimateOptions {
                methodology: if classic { Methodology::Classic } else { Methodology::Full },
                idle_policy: IdlePolicy::ALL[policy],
                ..EstimateOptions::default()
            };
            let history = vec![estimate(&snap, &options).unwrap()];
            let r = what_if(&history, &[], WhatIfOptions::default(), ReferenceData::embedded()).unwrap();
            for c in [&r.cluster, &r.targets] {
                prop_assert_eq!(c.savings.energy_joules.point, 0.0);
                prop_assert_eq!(c.savings.total_co2e_grams().point, 0.0);
                prop_assert_eq!(c.savings.cost, Some(0.0));
            }
            let stored = history[0].totals.energy_joules.point;
            prop_assert!((r.cluster.baseline.energy_joules.point - stored).abs() <= 1e-9 * stored.max(1.0));
        }
    }
}

#[test]
fn the_reference_data_given_is_the_one_estimated_with() {
    // AWS data centres at a PUE of 2: the baseline of the same history emits more than the
    // history did, which the embedded data estimated.
    let providers = greenkube_core::reference::Tables::EMBEDDED
        .providers
        .lines()
        .map(|line| match line.strip_prefix("aws,1.15,1.085,1.25,") {
            Some(rest) => format!("aws,2.0,2.0,2.0,{rest}"),
            None => line.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n");
    let tables = greenkube_core::reference::Tables {
        providers: &providers,
        ..greenkube_core::reference::Tables::EMBEDDED
    };
    let inefficient = ReferenceData::from_tables(&tables).expect("tables parse");
    let h = history(Methodology::Full);
    let stored: f64 = h.iter().map(|f| f.totals.co2e_grams.point).sum();
    let embedded = what_if(&h, &[], WhatIfOptions::default(), ReferenceData::embedded()).unwrap();
    assert!((embedded.cluster.baseline.co2e_grams.point - stored).abs() < 1e-6 * stored);
    let other = what_if(&h, &[], WhatIfOptions::default(), &inefficient).unwrap();
    assert!(
        other.cluster.baseline.co2e_grams.point > stored * 1.01,
        "{} vs {stored}",
        other.cluster.baseline.co2e_grams.point
    );
}

#[test]
fn replica_counts_are_bounded() {
    let h = history(Methodology::Full);
    let huge = |replicas: u32| Change::Replicas {
        namespace: "shop".into(),
        kind: "Deployment".into(),
        name: "api".into(),
        replicas,
    };
    for change in [
        huge(u32::MAX),
        huge(greenkube_core::whatif::MAX_REPLICAS + 1),
        Change::Autoscale {
            namespace: "shop".into(),
            kind: "Deployment".into(),
            name: "api".into(),
            target_utilisation: 0.7,
            min_replicas: 1_000_000,
        },
    ] {
        let err = what_if(
            &h,
            &[change],
            WhatIfOptions::default(),
            ReferenceData::embedded(),
        )
        .expect_err("refused before any estimate");
        assert!(err.to_string().contains("at most 10000"), "{err}");
    }
    // The bound itself is accepted.
    what_if(
        &h[..2],
        &[huge(greenkube_core::whatif::MAX_REPLICAS)],
        WhatIfOptions::default(),
        ReferenceData::embedded(),
    )
    .expect("10,000 replicas are estimated");
}
