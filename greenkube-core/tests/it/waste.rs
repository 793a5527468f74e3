//! The waste rules the recommender and the score share (`greenkube_core::waste`): the same
//! workloads are zombies to both, the same namespaces idle. Several cases are ones where the two
//! used to disagree; each says which side changed.

use greenkube_core::recommend::{RecommendationType, RecommenderConfig, recommend};
use greenkube_core::{EstimateOptions, Footprint, ScoreConfig, Snapshot, estimate, score};
use serde_json::{Value, json};

/// Twelve one-hour windows from 2025-06-02T00:00Z on two m5.xlarge nodes; `pods(hour)` and
/// `costs(hour)` give each window's pods and cost entries.
fn twelve_hours(pods: impl Fn(usize) -> Value, costs: impl Fn(usize) -> Value) -> Vec<Footprint> {
    let start = chrono::DateTime::parse_from_rfc3339("2025-06-02T00:00:00Z")
        .unwrap()
        .with_timezone(&chrono::Utc);
    (0..12)
        .map(|hour| {
            let window_start = start + chrono::Duration::hours(i64::try_from(hour).unwrap());
            let value = json!({
                "schema": "greenkube.snapshot/v1", "cluster": "c",
                "window_start": window_start.to_rfc3339(),
                "window_end": (window_start + chrono::Duration::hours(1)).to_rfc3339(),
                "nodes": [
                    {"name": "n0", "provider": "aws", "instance_type": "m5.xlarge", "region": "eu-west-3"},
                    {"name": "n1", "provider": "aws", "instance_type": "m5.xlarge", "region": "eu-west-3"}
                ],
                "pods": pods(hour), "costs": costs(hour),
            });
            let snapshot = Snapshot::from_json_value(value).expect("test snapshot parses");
            estimate(&snapshot, &EstimateOptions::default()).expect("estimates")
        })
        .collect()
}

/// A pod of Deployment `deployment` (replica `replica`) on node n0.
fn replica(namespace: &str, deployment: &str, replica: usize, cpu: f64, request: f64) -> Value {
    json!({"namespace": namespace, "name": format!("{deployment}-5d8f7c9b4-{replica:05}"),
           "node": "n0", "owner_kind": "ReplicaSet", "owner_name": format!("{deployment}-5d8f7c9b4"),
           "cpu_usage_cores": cpu, "cpu_request_cores": request})
}

/// A busy Deployment `prod/app` on node n1, so every history has a workload and a namespace
/// that are not idle.
fn busy() -> Value {
    json!({"namespace": "prod", "name": "app-5d8f7c9b4-00000", "node": "n1",
           "owner_kind": "ReplicaSet", "owner_name": "app-5d8f7c9b4",
           "cpu_usage_cores": 1.0, "cpu_request_cores": 1.0})
}

fn cost(pod: &Value, amount: f64) -> Value {
    json!({"namespace": pod["namespace"], "pod": pod["name"], "cost": amount})
}

/// The recommender's targets of this type.
fn recommended(history: &[Footprint], kind: RecommendationType) -> Vec<String> {
    recommend(history, None, &RecommenderConfig::default())
        .into_iter()
        .filter(|r| r.kind == kind)
        .map(|r| r.target)
        .collect()
}

/// The score's waste detail.
fn waste_detail(history: &[Footprint]) -> String {
    score(history, None, &ScoreConfig::default())
        .dimension("waste_elimination")
        .expect("waste dimension")
        .detail
        .clone()
}

#[test]
fn a_zombie_by_the_shared_rule_is_one_to_both() {
    // 0.5 m all day, costing 0.01 an hour (0.24 a day).
    let ghost = replica("apps", "ghost", 0, 0.0005, 0.2);
    let history = twelve_hours(|_| json!([ghost, busy()]), |_| json!([cost(&ghost, 0.01)]));
    assert_eq!(
        recommended(&history, RecommendationType::ZombiePod),
        ["ghost"]
    );
    let detail = waste_detail(&history);
    assert!(
        detail.starts_with("1 of 2 workloads are zombies"),
        "{detail}"
    );
}

#[test]
fn a_workload_busy_once_is_no_zombie_to_either() {
    // 0.1 m for eleven hours and 10 m in one: a mean of 0.925 m, under the 1 m threshold, but a
    // peak of 10 m, over the 5 m one. The score used to count it as a zombie (it had no peak
    // condition); the recommender never did.
    let nightly = |hour: usize| {
        replica(
            "apps",
            "nightly",
            0,
            if hour == 5 { 0.01 } else { 0.0001 },
            0.2,
        )
    };
    let history = twelve_hours(
        |hour| json!([nightly(hour), busy()]),
        |hour| json!([cost(&nightly(hour), 0.01)]),
    );
    assert!(recommended(&history, RecommendationType::ZombiePod).is_empty());
    let detail = waste_detail(&history);
    assert!(
        detail.starts_with("0 of 2 workloads are zombies"),
        "{detail}"
    );
}

#[test]
fn replicas_that_together_do_work_are_no_zombie_to_either() {
    // Three replicas at 0.5 m each: 1.5 m for the Deployment, over the 1 m threshold. The
    // recommender used to judge the mean per pod (0.5 m) and call it a zombie; the score judged
    // the Deployment's total, as both now do.
    let fleet: Vec<Value> = (0..3)
        .map(|i| replica("apps", "fleet", i, 0.0005, 0.2))
        .collect();
    let history = twelve_hours(
        |_| {
            let mut pods = fleet.clone();
            pods.push(busy());
            Value::Array(pods)
        },
        |_| Value::Array(fleet.iter().map(|p| cost(p, 0.01)).collect()),
    );
    assert!(recommended(&history, RecommendationType::ZombiePod).is_empty());
    let detail = waste_detail(&history);
    assert!(
        detail.starts_with("0 of 2 workloads are zombies"),
        "{detail}"
    );
    // At 0.2 m each (0.6 m in total) it is one, to both.
    let quiet: Vec<Value> = (0..3)
        .map(|i| replica("apps", "fleet", i, 0.0002, 0.2))
        .collect();
    let history = twelve_hours(
        |_| {
            let mut pods = quiet.clone();
            pods.push(busy());
            Value::Array(pods)
        },
        |_| Value::Array(quiet.iter().map(|p| cost(p, 0.01)).collect()),
    );
    assert_eq!(
        recommended(&history, RecommendationType::ZombiePod),
        ["fleet"]
    );
    assert!(waste_detail(&history).starts_with("1 of 2 workloads are zombies"));
}

#[test]
fn without_cost_data_a_zombie_reserves_at_least_ten_millicores() {
    // The score used to count any CPU request; it now needs the recommender's 10 m.
    let zombies = |request: f64| {
        let history = twelve_hours(
            |_| json!([replica("apps", "idle", 0, 0.0, request), busy()]),
            |_| json!([]),
        );
        (
            recommended(&history, RecommendationType::ZombiePod).len(),
            waste_detail(&history),
        )
    };
    let (recommended, detail) = zombies(0.005);
    assert_eq!(recommended, 0);
    assert!(
        detail.starts_with("0 of 2 workloads are zombies"),
        "{detail}"
    );
    let (recommended, detail) = zombies(0.01);
    assert_eq!(recommended, 1);
    assert!(
        detail.starts_with("1 of 2 workloads are zombies"),
        "{detail}"
    );
}

#[test]
fn an_idle_namespace_costs_more_than_a_cent_a_day_to_both() {
    // 2 m in namespace old-demo: no zombie (over 1 m), but an idle namespace (under 5 m) if it
    // costs more than 0.01 a day. The recommender used to flag any cost at all.
    let idle = |cost_per_hour: f64| {
        let thing = replica("old-demo", "thing", 0, 0.002, 0.1);
        let history = twelve_hours(
            |_| json!([thing, busy()]),
            |_| json!([cost(&thing, cost_per_hour)]),
        );
        (
            recommended(&history, RecommendationType::IdleNamespace),
            waste_detail(&history),
        )
    };
    // 0.0003 an hour is 0.0072 a day.
    let (namespaces, detail) = idle(0.0003);
    assert!(namespaces.is_empty(), "{namespaces:?}");
    assert!(detail.contains("0 of 2 namespaces idle"), "{detail}");
    // 0.0005 an hour is 0.012 a day.
    let (namespaces, detail) = idle(0.0005);
    assert_eq!(namespaces, ["old-demo"]);
    assert!(detail.contains("1 of 2 namespaces idle"), "{detail}");
    assert!(
        detail.starts_with("0 of 2 workloads are zombies"),
        "{detail}"
    );
}

#[test]
fn a_namespace_busy_once_is_not_idle() {
    // A backup that idles at 1 m and works at 30 m for an hour: a mean of 3.4 m, under the 5 m
    // threshold, but a peak over 25 m. Both used to call the namespace idle.
    let backup = |hour: usize| {
        replica(
            "backup",
            "dump",
            0,
            if hour == 3 { 0.03 } else { 0.001 },
            0.1,
        )
    };
    let history = twelve_hours(
        |hour| json!([backup(hour), busy()]),
        |hour| json!([cost(&backup(hour), 0.001)]),
    );
    assert!(recommended(&history, RecommendationType::IdleNamespace).is_empty());
    let detail = waste_detail(&history);
    assert!(detail.contains("0 of 2 namespaces idle"), "{detail}");
    // Without the busy hour it is idle to both.
    let history = twelve_hours(
        |_| json!([backup(0), busy()]),
        |_| json!([cost(&backup(0), 0.001)]),
    );
    assert_eq!(
        recommended(&history, RecommendationType::IdleNamespace),
        ["backup"]
    );
    assert!(waste_detail(&history).contains("1 of 2 namespaces idle"));
}

#[test]
fn configured_thresholds_reach_both() {
    let ghost = replica("apps", "ghost", 0, 0.0005, 0.2);
    let history = twelve_hours(|_| json!([ghost, busy()]), |_| json!([cost(&ghost, 0.01)]));
    let recommender = RecommenderConfig {
        zombie_max_cpu_cores: 0.0004,
        ..RecommenderConfig::default()
    };
    assert!(
        recommend(&history, None, &recommender)
            .iter()
            .all(|r| r.kind != RecommendationType::ZombiePod)
    );
    let config = ScoreConfig {
        zombie_max_cpu_cores: 0.0004,
        ..ScoreConfig::default()
    };
    let detail = score(&history, None, &config)
        .dimension("waste_elimination")
        .unwrap()
        .detail
        .clone();
    assert!(
        detail.starts_with("0 of 2 workloads are zombies"),
        "{detail}"
    );
    assert_eq!(
        RecommenderConfig::default().zombie_rule(),
        ScoreConfig::default().zombie_rule()
    );
    assert_eq!(
        RecommenderConfig::default().idle_namespace_rule(),
        ScoreConfig::default().idle_namespace_rule()
    );
}
