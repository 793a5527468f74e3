//! Bad input: each case has a defined outcome, a typed error naming the field or a flagged
//! fallback, and never a panic.

use greenkube_core::{EstimateOptions, Methodology, Snapshot, SnapshotError, estimate};
use serde_json::json;

use crate::common::{parse, pod, reasons, run, snapshot};

fn node() -> serde_json::Value {
    json!([{"name": "n1", "provider": "aws", "instance_type": "m5.large", "region": "eu-west-3"}])
}

fn err_of(snap: &Snapshot) -> SnapshotError {
    estimate(snap, &EstimateOptions::default()).expect_err("estimate refuses the snapshot")
}

#[test]
fn nan_infinite_and_negative_values_are_typed_errors() {
    let mut snap = parse(snapshot(
        node(),
        json!([{"namespace": "a", "name": "p", "node": "n1", "cpu_usage_cores": 0.5}]),
    ));
    for (value, reason) in [
        (f64::NAN, "NaN"),
        (f64::INFINITY, "finite"),
        (-0.5, "negative"),
    ] {
        snap.pods[0].cpu_usage_cores = Some(greenkube_core::units::Cores(value));
        let err = err_of(&snap);
        assert_eq!(err.field(), Some("pods[0].cpu_usage_cores"), "{err}");
        assert!(err.to_string().contains(reason), "{err}");
    }
    snap.pods[0].cpu_usage_cores = None;
    snap.nodes[0].cpu_capacity_cores = Some(greenkube_core::units::Cores(0.0));
    assert_eq!(err_of(&snap).field(), Some("nodes[0].cpu_capacity_cores"));
}

#[test]
fn nan_in_json_text_is_a_parse_error_with_position() {
    let text = r#"{"schema":"greenkube.snapshot/v1","window_start":"2025-06-02T10:00:00Z",
        "window_end":"2025-06-02T10:05:00Z","pods":[{"namespace":"a","name":"p","cpu_usage_cores":NaN}]}"#;
    let err = Snapshot::from_json_str(text).unwrap_err();
    assert!(matches!(err, SnapshotError::Parse { line: 2, .. }), "{err}");
}

#[test]
fn negative_json_value_names_field() {
    let snap = parse(snapshot(
        node(),
        json!([{"namespace": "a", "name": "p", "node": "n1", "memory_request_bytes": -1}]),
    ));
    assert_eq!(err_of(&snap).field(), Some("pods[0].memory_request_bytes"));
}

#[test]
fn usage_above_capacity_is_a_flagged_fallback() {
    for m in Methodology::ALL {
        let fp = run(
            snapshot(
                node(),
                json!([{"namespace": "a", "name": "p", "node": "n1", "cpu_usage_cores": 64.0}]),
            ),
            m,
        );
        assert!(fp.pods[0].estimated());
        assert!(reasons(&fp.pods[0]).join(";").contains("capped at 100%"));
        assert!(fp.pods[0].energy_joules.point.is_finite());
    }
}

#[test]
fn duplicate_pods_nodes_costs_are_errors() {
    let snap = parse(snapshot(
        node(),
        json!([
            {"namespace": "a", "name": "p", "node": "n1"},
            {"namespace": "a", "name": "p", "node": "n1"},
        ]),
    ));
    let err = err_of(&snap);
    assert!(
        matches!(err, SnapshotError::Duplicate { what: "pod", .. }),
        "{err}"
    );
    assert!(err.to_string().contains("first at pods[0]"), "{err}");

    let snap = parse(snapshot(json!([{"name": "n1"}, {"name": "n1"}]), json!([])));
    assert_eq!(err_of(&snap).field(), Some("nodes[1].name"));

    let mut value = snapshot(node(), json!([]));
    value["costs"] = json!([
        {"namespace": "a", "pod": "p", "cost": 1.0},
        {"namespace": "a", "pod": "p", "cost": 2.0},
    ]);
    assert_eq!(err_of(&parse(value)).field(), Some("costs[1]"));
}

#[test]
fn same_pod_name_in_two_namespaces_is_fine() {
    let fp = run(
        snapshot(
            node(),
            json!([
                {"namespace": "a", "name": "p", "node": "n1", "cpu_usage_cores": 0.1},
                {"namespace": "b", "name": "p", "node": "n1", "cpu_usage_cores": 0.1},
            ]),
        ),
        Methodology::Full,
    );
    assert_eq!(fp.pods.len(), 2);
}

#[test]
fn pod_on_unknown_node_gets_a_synthetic_flagged_node() {
    for m in Methodology::ALL {
        let fp = run(
            snapshot(
                node(),
                json!([
                    {"namespace": "a", "name": "orphan", "node": "ghost", "cpu_usage_cores": 0.5},
                    {"namespace": "a", "name": "unscheduled", "cpu_usage_cores": 0.0},
                ]),
            ),
            m,
        );
        let orphan = pod(&fp, "orphan");
        assert!(orphan.node.synthetic);
        assert!(orphan.energy_joules.point > 0.0);
        assert!(
            reasons(orphan)
                .join(";")
                .contains("'ghost' is not in the snapshot"),
            "{m}: {:?}",
            reasons(orphan)
        );
        assert!(
            reasons(pod(&fp, "unscheduled"))
                .join(";")
                .contains("names no node")
        );
        assert_eq!(fp.nodes.len(), 3);
        assert!(fp.nodes[1].node.synthetic && fp.nodes[2].node.synthetic);
    }
}

#[test]
fn empty_window_and_end_before_start_are_errors() {
    let mut value = snapshot(node(), json!([]));
    value["window_end"] = value["window_start"].clone();
    let err = err_of(&parse(value.clone()));
    assert!(matches!(err, SnapshotError::EmptyWindow { .. }), "{err}");
    value["window_end"] = json!("2025-06-02T09:55:00Z");
    let err = err_of(&parse(value));
    assert!(
        matches!(err, SnapshotError::WindowEndsBeforeStart { .. }),
        "{err}"
    );
    assert_eq!(err.field(), Some("window_end"));
    // A nanosecond, or anything under a second, is no window.
    for end in ["2025-06-02T10:00:00.000000001Z", "2025-06-02T10:00:00.999Z"] {
        let mut value = snapshot(node(), json!([]));
        value["window_start"] = json!("2025-06-02T10:00:00Z");
        value["window_end"] = json!(end);
        let err = err_of(&parse(value));
        assert!(
            matches!(err, SnapshotError::ShortWindow { .. }),
            "{end}: {err}"
        );
        assert_eq!(err.field(), Some("window_end"));
    }
    let mut value = snapshot(node(), json!([]));
    value["window_start"] = json!("2025-06-02T10:00:00Z");
    value["window_end"] = json!("2025-06-02T10:00:01Z");
    estimate(&parse(value), &EstimateOptions::default()).expect("one second is a window");
}

#[test]
fn wrong_schema_and_unknown_fields_are_errors() {
    let mut value = snapshot(node(), json!([]));
    value["schema"] = json!("greenkube.snapshot/v9");
    assert!(matches!(
        err_of(&parse(value)),
        SnapshotError::Schema { .. }
    ));

    let mut value = snapshot(node(), json!([]));
    value["nodes"][0]["gpu"] = json!(1);
    let err = Snapshot::from_json_value(value).unwrap_err();
    assert_eq!(err.field(), Some("nodes[0].gpu"));
    assert!(err.to_string().contains("unknown field `gpu`"), "{err}");
}

#[test]
fn empty_snapshot_gives_empty_footprint() {
    let fp = run(snapshot(json!([]), json!([])), Methodology::Full);
    assert!(fp.pods.is_empty() && fp.nodes.is_empty());
    assert_eq!(fp.totals.energy_joules.point, 0.0);
}

#[test]
fn empty_names_are_errors() {
    let snap = parse(snapshot(node(), json!([{"namespace": "", "name": "p"}])));
    assert_eq!(err_of(&snap).field(), Some("pods[0].namespace"));
}

#[test]
fn missing_usage_is_flagged_not_silently_zero() {
    let fp = run(
        snapshot(
            node(),
            json!([
                {"namespace": "a", "name": "req", "node": "n1", "cpu_request_cores": 0.5},
                {"namespace": "a", "name": "none", "node": "n1"},
            ]),
        ),
        Methodology::Full,
    );
    assert!(
        reasons(pod(&fp, "req"))
            .join(";")
            .contains("used the CPU request")
    );
    assert!(
        reasons(pod(&fp, "none"))
            .join(";")
            .contains("CPU usage unknown; counted as 0")
    );
}

#[test]
fn one_document_exactly_and_a_byte_order_mark_is_ignored() {
    let text = include_str!("../../../examples/snapshots/cluster.json");
    let reference = Snapshot::from_json_str(text).expect("the example parses");
    // Editors on Windows start files with a BOM: the same snapshot.
    let with_bom = format!("\u{feff}{text}");
    assert_eq!(
        Snapshot::from_json_str(&with_bom).expect("BOM ignored"),
        reference
    );
    // Anything after the document is refused, with its position.
    for tail in [" xyz", "\n{}", "{\"a\": 1}", "]"] {
        let err = Snapshot::from_json_str(&format!("{text}{tail}")).unwrap_err();
        assert!(
            err.to_string().contains("after the end of the document"),
            "{tail:?}: {err}"
        );
        assert!(
            matches!(err, SnapshotError::Parse { line, .. } if line > 1),
            "{err}"
        );
    }
    // Trailing white space is fine.
    Snapshot::from_json_str(&format!("{text}\n\n  ")).expect("white space after it");
    // The same for the changes of `what-if`.
    assert!(greenkube_core::whatif::changes_from_json("[] []").is_err());
    assert!(greenkube_core::whatif::changes_from_json("\u{feff}[]").is_ok());
    // And a footprint history with a BOM.
    let footprint = estimate(&reference, &EstimateOptions::default()).unwrap();
    let line = serde_json::to_string(&footprint).unwrap();
    let read = greenkube_core::read_footprints(&format!("\u{feff}{line}\n")).expect("BOM ignored");
    assert_eq!(read.len(), 1);
}

#[test]
fn amounts_beyond_any_real_cluster_are_refused_not_infinite() {
    let text = include_str!("../../../examples/snapshots/cluster.json");
    let base: serde_json::Value = serde_json::from_str(text).unwrap();
    for (path, field) in [
        (
            "/nodes/0/memory_capacity_bytes",
            "nodes[0].memory_capacity_bytes",
        ),
        ("/pods/0/cpu_usage_cores", "pods[0].cpu_usage_cores"),
        ("/costs/0/cost", "costs[0].cost"),
    ] {
        let mut value = base.clone();
        *value.pointer_mut(path).unwrap_or_else(|| panic!("{path}")) = json!(1e308);
        let snap = Snapshot::from_json_value(value).unwrap();
        let err = err_of(&snap);
        assert_eq!(err.field(), Some(field), "{err}");
        let message = err.to_string();
        assert!(
            message.contains("1e308") && message.contains("out of range"),
            "{message}"
        );
        assert!(message.len() < 200, "no 300-digit figure: {message}");
    }
    // At the bound, every figure is finite.
    let mut value = base.clone();
    *value.pointer_mut("/pods/0/cpu_usage_cores").unwrap() =
        json!(greenkube_core::snapshot::MAX_AMOUNT);
    *value.pointer_mut("/nodes/0/cpu_capacity_cores").unwrap() =
        json!(greenkube_core::snapshot::MAX_AMOUNT);
    let snap = Snapshot::from_json_value(value).unwrap();
    let footprint = estimate(&snap, &EstimateOptions::default()).expect("within range");
    let totals = &footprint.totals;
    for figure in [
        totals.energy_joules,
        totals.co2e_grams,
        totals.embodied_co2e_grams,
    ] {
        assert!(
            figure.point.is_finite() && figure.high.is_finite(),
            "{figure:?}"
        );
    }
}

/// A way to spoil a footprint document.
type Spoil = Box<dyn Fn(&mut serde_json::Value)>;

#[test]
fn footprint_histories_are_checked_like_snapshots() {
    let snap =
        Snapshot::from_json_str(include_str!("../../../examples/snapshots/cluster.json")).unwrap();
    let footprint = estimate(&snap, &EstimateOptions::default()).unwrap();
    let good = serde_json::to_value(&footprint).unwrap();
    greenkube_core::Footprint::from_json_value(good.clone()).expect("as written");
    let start = good["window_start"].clone();
    let cases: [(&str, Spoil); 4] = [
        (
            "window_end",
            Box::new(move |v| v["window_end"] = start.clone()),
        ),
        (
            "pods[0].energy_joules",
            Box::new(|v| v["pods"][0]["energy_joules"] = json!(-1.0)),
        ),
        (
            "pods[1].pod",
            Box::new(|v| {
                let first = v["pods"][0].clone();
                v["pods"][1] = first;
            }),
        ),
        (
            "totals.co2e_grams",
            Box::new(|v| v["totals"]["co2e_grams"] = json!(1e300)),
        ),
    ];
    for (field, spoil) in cases {
        let mut value = good.clone();
        spoil(&mut value);
        let err = greenkube_core::Footprint::from_json_value(value).unwrap_err();
        assert_eq!(err.path, field, "{err}");
    }
}

#[test]
fn footprints_as_first_documented_are_read_with_defaults_and_a_warning() {
    let snap =
        Snapshot::from_json_str(include_str!("../../../examples/snapshots/cluster.json")).unwrap();
    let footprint = estimate(&snap, &EstimateOptions::default()).unwrap();
    let current = serde_json::to_value(&footprint).unwrap();
    let read = greenkube_core::Footprint::from_json_value(current.clone()).unwrap();
    assert!(
        !read.warnings.iter().any(|w| w.contains("older")),
        "a current document reads without the warning"
    );
    let mut old = current.clone();
    old["methodology"]
        .as_object_mut()
        .unwrap()
        .remove("idle_policy");
    for key in ["pods", "estimated_pods", "pods_without_cost"] {
        old["totals"].as_object_mut().unwrap().remove(key);
    }
    for node in old["nodes"].as_array_mut().unwrap() {
        node["uncertainty"]
            .as_object_mut()
            .unwrap()
            .remove("overhead_energy_joules");
    }
    let read = greenkube_core::Footprint::from_json_value(old).expect("an older v1 document");
    assert_eq!(
        read.methodology, footprint.methodology,
        "full's own idle policy"
    );
    assert_eq!(read.totals.pods, footprint.totals.pods);
    assert_eq!(
        read.totals.pods_without_cost,
        footprint.totals.pods_without_cost
    );
    let warning = read
        .warnings
        .iter()
        .find(|w| w.contains("older greenkube.footprint/v1"))
        .expect("flagged");
    assert!(
        warning.contains("idle_policy") && warning.contains("totals.pods"),
        "{warning}"
    );
    for (node, original) in read.nodes.iter().zip(&footprint.nodes) {
        let o = node.overhead_energy_joules;
        assert!((o.point - original.overhead_energy_joules.point).abs() < 1e-9);
        assert!(o.low <= o.point && o.point <= o.high, "{o:?}");
    }
}
