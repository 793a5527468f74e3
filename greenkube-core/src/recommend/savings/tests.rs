//! Pricing node by node against estimating the cut-down window.

use super::*;
use crate::recommend::{RecommendationType, RecommenderConfig};
use serde_json::json;

/// A deterministic generator (`SplitMix64`) for the test cluster.
struct Draw(u64);

impl Draw {
    fn next(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)) as f64 / u64::MAX as f64
    }
}

/// Hourly windows of a small, untidy cluster: catalogued nodes, a node sized by its pods'
/// demand, one known only by its capacity, an over-committed one; bare pods and
/// Deployments' pods, pods without usage or requests, a pod on a node not in the window and
/// one on no node, a nearly idle namespace; most pods with a cost.
fn windows(count: usize) -> Vec<crate::Snapshot> {
    let nodes = json!([
        {"name": "m5", "provider": "aws", "instance_type": "m5.xlarge", "region": "eu-west-3"},
        {"name": "c5", "provider": "aws", "instance_type": "c5.2xlarge", "region": "us-east-1"},
        {"name": "demand", "provider": "aws", "instance_type": "made.up"},
        {"name": "capacity", "instance_type": "made.up", "cpu_capacity_cores": 4,
         "memory_capacity_bytes": 8e9},
        {"name": "small", "provider": "gcp", "instance_type": "e2-small", "region": "europe-west1"},
    ]);
    let homes = ["m5", "c5", "demand", "capacity", "small", "ghost"];
    let mut draw = Draw(7);
    let start = chrono::DateTime::parse_from_rfc3339("2025-06-02T00:00:00Z")
        .unwrap()
        .with_timezone(&chrono::Utc);
    (0..count)
        .map(|window| {
            let mut pods = Vec::new();
            let mut costs = Vec::new();
            for i in 0..36 {
                let (namespace, owner) = match i % 4 {
                    0 => ("shop", Some(("ReplicaSet", "web-7d9f8c6b5"))),
                    1 => ("shop", None),
                    2 => ("batch", None),
                    _ => ("idle", None),
                };
                let name = match owner {
                    Some(_) => format!("web-7d9f8c6b5-{i:02}"),
                    None => format!("pod-{i:02}"),
                };
                let idle = namespace == "idle";
                let mut pod = json!({"namespace": namespace, "name": name});
                if i != 35 {
                    pod["node"] = json!(homes[i % homes.len()]);
                }
                if let Some((kind, owner)) = owner {
                    pod["owner_kind"] = json!(kind);
                    pod["owner_name"] = json!(owner);
                }
                if i % 9 != 4 {
                    pod["cpu_request_cores"] = json!(0.25 + (i % 5) as f64 * 0.5);
                    pod["memory_request_bytes"] = json!(2.5e8 * (1 + i % 4) as f64);
                }
                if (i + window) % 11 != 3 {
                    let cpu = if idle {
                        0.001
                    } else {
                        0.02 + draw.next() * 0.6
                    };
                    pod["cpu_usage_cores"] = json!(cpu);
                    pod["memory_usage_bytes"] = json!(5e7 + draw.next() * 3e8);
                }
                if i % 7 != 6 {
                    costs.push(json!({"namespace": namespace, "pod": name,
                                      "cost": 0.001 + draw.next() * 0.02}));
                }
                if i % 3 == 0 {
                    pod["labels"] = json!({"team": namespace});
                }
                pods.push(pod);
            }
            // A run of a job in each window, under a name of its own.
            pods.push(
                json!({"namespace": "batch", "name": format!("run-{window:03}"),
                             "node": "m5", "cpu_usage_cores": 0.3, "cpu_request_cores": 0.5}),
            );
            let window_start =
                start + chrono::Duration::hours(i64::try_from(window).expect("few windows"));
            crate::Snapshot::from_json_value(json!({
                "schema": "greenkube.snapshot/v1", "cluster": "c",
                "window_start": window_start.to_rfc3339(),
                "window_end": (window_start + chrono::Duration::hours(1)).to_rfc3339(),
                "nodes": nodes, "pods": pods, "costs": costs,
            }))
            .expect("the test window is valid")
        })
        .collect()
}

/// The analysis of the windows' footprints, estimated with `options`.
fn analysis(options: &crate::EstimateOptions, config: &RecommenderConfig) -> Analysis {
    let reference = ReferenceData::embedded();
    let mut analysis = Analysis::new(config.savings_windows);
    for window in windows(30) {
        let footprint = estimate_with(&window, options, reference).expect("estimates");
        analysis.observe(&footprint, config);
    }
    analysis
}

/// Candidates the rules give, and others made from them with every kind of change priced
/// node by node, alone and together: a namespace removed, a schedule, two request changes,
/// a request so large the changed window would not validate (with a removal that would
/// save).
fn candidates(analysis: &Analysis, config: &RecommenderConfig) -> Vec<Candidate> {
    let mut candidates =
        super::super::rules::candidates(analysis, config, None, ReferenceData::embedded());
    let template = candidates
        .iter()
        .find(|c| c.basis == Basis::Attributed)
        .expect("an attributed candidate")
        .clone();
    let with = |changes: Vec<Change>| {
        let mut candidate = template.clone();
        candidate.rec.changes = changes;
        candidate
    };
    let requests = |namespace: &str, kind: &str, name: &str, cpu, memory| Change::Requests {
        namespace: namespace.into(),
        kind: kind.into(),
        name: name.into(),
        cpu_request_cores: cpu,
        memory_request_bytes: memory,
    };
    let remove_namespace = Change::Remove {
        namespace: "idle".into(),
        kind: None,
        name: None,
    };
    let schedule = Change::Schedule {
        namespace: "shop".into(),
        kind: "Deployment".into(),
        name: "web".into(),
        off_from_hour: 20,
        off_to_hour: 6,
    };
    candidates.extend([
        with(vec![remove_namespace.clone()]),
        with(vec![schedule.clone()]),
        with(vec![
            requests("shop", "Deployment", "web", Some(0.1), None),
            requests("batch", "Pod", "pod-02", None, Some(6e7)),
            requests("shop", "Deployment", "web", None, Some(1e8)),
        ]),
        with(vec![
            schedule,
            remove_namespace,
            requests("batch", "Pod", "pod-10", Some(3.0), Some(4e9)),
        ]),
        // Saves, but its windows fail to estimate: priced at nothing either way.
        with(vec![
            Change::Remove {
                namespace: "shop".into(),
                kind: None,
                name: None,
            },
            requests("batch", "Pod", "pod-10", Some(2e15), None),
        ]),
    ]);
    candidates
}

/// Pricing node by node gives every candidate the figures, to the bit, that estimating the
/// window cut down to its nodes gives: for both methodologies and every idle policy.
#[test]
fn pricing_node_by_node_equals_estimating_the_cut_window() {
    use crate::methodology::{IdlePolicy, Methodology};
    let config = RecommenderConfig::default();
    let mut by_node_kinds = BTreeSet::new();
    for (methodology, idle_policy) in [
        (Methodology::Full, IdlePolicy::Request),
        (Methodology::Full, IdlePolicy::Usage),
        (Methodology::Full, IdlePolicy::Even),
        (Methodology::Full, IdlePolicy::Overhead),
        (Methodology::Classic, IdlePolicy::default()),
    ] {
        let options = crate::EstimateOptions {
            methodology,
            idle_policy,
            ..crate::EstimateOptions::default()
        };
        let analysis = analysis(&options, &config);
        let candidates = candidates(&analysis, &config);
        let reference = ReferenceData::embedded();
        let by_node = price_with(&candidates, &analysis, reference, Pricing::ByNode);
        let cut = price_with(&candidates, &analysis, reference, Pricing::CutWindow);
        assert_eq!(by_node, cut, "{methodology:?} {idle_policy:?}");
        assert!(!by_node.is_empty());
        by_node_kinds.extend(
            candidates
                .iter()
                .filter(|c| c.basis == Basis::Attributed && pod_local(&c.rec.changes))
                .map(|c| c.rec.kind),
        );
    }
    // The rules' own pod-local findings were among those priced node by node.
    assert!(by_node_kinds.contains(&RecommendationType::RightsizingCpu));
    assert!(by_node_kinds.contains(&RecommendationType::ZombiePod));
}

/// A sampled window holds none of its footprint's strings and no labels (so a footprint read
/// from a file is freed whole), one string per name across windows, and the analysis forgets
/// the names of the windows it stops sampling.
#[test]
fn sampled_windows_hold_their_own_strings() {
    let config = RecommenderConfig {
        savings_windows: 4,
        ..RecommenderConfig::default()
    };
    let options = crate::EstimateOptions::default();
    let reference = ReferenceData::embedded();
    let footprints: Vec<crate::Footprint> = windows(30)
        .iter()
        .map(|window| estimate_with(window, &options, reference).expect("estimates"))
        .collect();
    let mut analysis = Analysis::new(config.savings_windows);
    for footprint in &footprints {
        analysis.observe(footprint, &config);
    }
    assert!((2..=4).contains(&analysis.samples.len()));
    assert!(footprints[0].pods.iter().any(|row| row.labels.is_some()));
    for sample in &analysis.samples {
        let rows = &footprints[sample.index].pods;
        assert_eq!(sample.snapshot.pods.len(), rows.len());
        for (pod, row) in sample.snapshot.pods.iter().zip(rows) {
            assert_eq!((&pod.namespace, &pod.name), (&row.namespace, &row.pod));
            assert!(!Arc::ptr_eq(&pod.name, &row.pod));
            assert!(!Arc::ptr_eq(&pod.namespace, &row.namespace));
            assert!(pod.labels.is_none());
        }
    }
    let (first, second) = (&analysis.samples[0].snapshot, &analysis.samples[1].snapshot);
    assert!(Arc::ptr_eq(&first.pods[0].name, &second.pods[0].name));
    // Every name kept is held by a sampled window: the runs of dropped windows are forgotten.
    let names = analysis.sample_names();
    let held = |name: &Arc<str>| {
        let is = |value: &Arc<str>| Arc::ptr_eq(value, name);
        analysis.samples.iter().any(|sample| {
            let snapshot = &sample.snapshot;
            snapshot.cluster.as_ref().is_some_and(is)
                || snapshot.pods.iter().any(|pod| {
                    is(&pod.namespace)
                        || is(&pod.name)
                        || [&pod.node, &pod.owner_kind, &pod.owner_name]
                            .into_iter()
                            .flatten()
                            .any(is)
                })
                || snapshot.nodes.iter().any(|node| {
                    is(&node.name)
                        || [
                            &node.provider,
                            &node.instance_type,
                            &node.region,
                            &node.zone,
                        ]
                        .into_iter()
                        .flatten()
                        .any(is)
                })
                || snapshot
                    .embodied
                    .iter()
                    .any(|entry| is(&entry.provider) || is(&entry.instance_type))
        })
    };
    assert!(names.iter().all(held));
    let runs = names.iter().filter(|name| name.starts_with("run-")).count();
    assert_eq!(runs, analysis.samples.len());
}
