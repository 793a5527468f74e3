//! The answers a Prometheus server would give greenkube's collector for one window of a
//! synthetic cluster, and a local stub serving them (`collect_scale` and the `pipeline`
//! criterion benchmark).
//!
//! * three `query_range` matrices (CPU, memory, restarts), one series per pod with one point
//!   at the end of the window, the labels a `sum by` leaves (`instance`, `namespace`, `node`,
//!   `pod` for cAdvisor; `namespace`, `pod` for kube-state-metrics) and the series sorted by
//!   their labels, as Prometheus sorts a matrix;
//! * the instant vector of the node query: for each node `kube_node_labels` (instance type,
//!   region, zone, a node-pool label), `kube_node_info` (its `provider_id`) and
//!   `kube_node_status_capacity` for CPU and memory, with the target labels of a
//!   kube-state-metrics scraped by the Prometheus Operator.

use std::collections::HashMap;

use greenkube_core::{Node, Pod, Snapshot};
use wiremock::matchers::{method, path};
use wiremock::{Match, Mock, MockServer, Request, ResponseTemplate};

/// The four answers, as JSON bytes.
#[derive(Debug, Clone)]
pub struct Answers {
    /// The CPU usage matrix.
    pub cpu: Vec<u8>,
    /// The memory usage matrix.
    pub memory: Vec<u8>,
    /// The restarts matrix.
    pub restarts: Vec<u8>,
    /// The node query's instant vector.
    pub nodes: Vec<u8>,
    /// Series in the CPU, memory, restarts and node answers.
    pub series: [usize; 4],
}

/// Appends `s` as a JSON string.
fn push_str(out: &mut Vec<u8>, s: &str) {
    serde_json::to_writer(&mut *out, s).expect("writing to a Vec cannot fail");
}

/// Appends `"name":"value"`.
fn push_label(out: &mut Vec<u8>, name: &str, value: &str) {
    push_str(out, name);
    out.push(b':');
    push_str(out, value);
}

/// Appends a series `{"metric":{labels},"values":[[at,"value"]]}` (`values`) or
/// `{"metric":{labels},"value":[at,"value"]}` (an instant vector). `labels` must be sorted by
/// name, as Prometheus writes them.
fn push_series(out: &mut Vec<u8>, labels: &[(&str, &str)], at: i64, value: f64, matrix: bool) {
    if out.last() != Some(&b'[') {
        out.push(b',');
    }
    out.extend_from_slice(b"{\"metric\":{");
    for (i, (name, value)) in labels.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        push_label(out, name, value);
    }
    // Prometheus writes times as seconds (`1748865900` or `1748865900.5`) and values with the
    // shortest decimal form that reads back exactly, as Rust's `Display` does.
    let point = format!("[{at},\"{value}\"]");
    if matrix {
        out.extend_from_slice(b"},\"values\":[");
        out.extend_from_slice(point.as_bytes());
        out.extend_from_slice(b"]}");
    } else {
        out.extend_from_slice(b"},\"value\":");
        out.extend_from_slice(point.as_bytes());
        out.push(b'}');
    }
}

fn open_answer(result_type: &str) -> Vec<u8> {
    format!("{{\"status\":\"success\",\"data\":{{\"resultType\":\"{result_type}\",\"result\":[")
        .into_bytes()
}

fn close_answer(out: &mut Vec<u8>) {
    out.extend_from_slice(b"]}}");
}

/// The kubelet address of node `i` (`10.a.b.c:10250`), the `instance` label of its cAdvisor
/// series.
fn kubelet_address(i: usize) -> String {
    format!(
        "10.{}.{}.{}:10250",
        (i >> 16) & 255,
        (i >> 8) & 255,
        (i & 255) + 1
    )
}

/// The usage answers: one series per pod with metrics (CPU, memory), one per pod (restarts).
fn usage_answers(snapshot: &Snapshot, eval_at: i64) -> [(Vec<u8>, usize); 3] {
    let node_index: HashMap<&str, usize> = snapshot
        .nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (&*n.name, i))
        .collect();
    let addresses: Vec<String> = (0..snapshot.nodes.len()).map(kubelet_address).collect();
    // Prometheus sorts a matrix by its label sets, labels in name order: instance, namespace,
    // node, pod.
    let mut measured: Vec<(&str, &Pod)> = snapshot
        .pods
        .iter()
        .filter(|p| p.cpu_usage_cores.is_some() || p.memory_usage_bytes.is_some())
        .map(|p| {
            let instance = p
                .node
                .as_deref()
                .and_then(|n| node_index.get(n))
                .map_or("", |i| addresses[*i].as_str());
            (instance, p)
        })
        .collect();
    measured.sort_unstable_by(|(ia, a), (ib, b)| {
        (*ia, &a.namespace, &a.node, &a.name).cmp(&(*ib, &b.namespace, &b.node, &b.name))
    });
    let cadvisor = |value: fn(&Pod) -> Option<f64>| {
        let mut out = open_answer("matrix");
        let mut series = 0;
        for (instance, pod) in &measured {
            let Some(v) = value(pod) else { continue };
            let mut labels: Vec<(&str, &str)> = Vec::with_capacity(4);
            if !instance.is_empty() {
                labels.push(("instance", instance));
            }
            labels.push(("namespace", &pod.namespace));
            if let Some(node) = pod.node.as_deref() {
                labels.push(("node", node));
            }
            labels.push(("pod", &pod.name));
            push_series(&mut out, &labels, eval_at, v, true);
            series += 1;
        }
        close_answer(&mut out);
        (out, series)
    };
    let cpu = cadvisor(|p| p.cpu_usage_cores.map(|c| c.0));
    let memory = cadvisor(|p| p.memory_usage_bytes.map(|b| b.0));

    // kube-state-metrics knows every pod, measured or not; the query keeps namespace and pod.
    let mut pods: Vec<&Pod> = snapshot.pods.iter().collect();
    pods.sort_unstable_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
    let mut out = open_answer("matrix");
    for pod in &pods {
        let labels = [("namespace", &*pod.namespace), ("pod", &*pod.name)];
        push_series(
            &mut out,
            &labels,
            eval_at,
            pod.restarts.unwrap_or(0) as f64,
            true,
        );
    }
    close_answer(&mut out);
    [cpu, memory, (out, pods.len())]
}

/// A `spec.providerID` in the form each provider writes it, and a label only that provider's
/// tooling sets (OVHcloud's managed Kubernetes writes `openstack://` IDs, so greenkube finds the
/// provider from the label there).
fn provider_facts(node: &Node, i: usize, zone: &str) -> (String, (&'static str, &'static str)) {
    match node.provider.as_deref().unwrap_or("") {
        "aws" => (
            format!("aws:///{zone}/i-0{:016x}", i * 7919 + 1),
            ("label_eks_amazonaws_com_nodegroup", "general-purpose"),
        ),
        "gcp" => (
            format!("gce://prod-project/{zone}/{}", node.name),
            ("label_cloud_google_com_gke_nodepool", "default-pool"),
        ),
        "azure" => (
            format!(
                "azure:///subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/mc_prod/providers/Microsoft.Compute/virtualMachineScaleSets/aks-nodepool1/virtualMachines/{i}"
            ),
            ("label_kubernetes_azure_com_agentpool", "nodepool1"),
        ),
        "ovh" => (
            format!("openstack:///{:08x}-0000-4000-8000-{i:012}", i * 31 + 7),
            ("label_node_k8s_ovh_type", "standard"),
        ),
        _ => (
            format!(
                "scaleway://instance/{zone}/{:08x}-0000-4000-8000-{i:012}",
                i * 17 + 3
            ),
            ("label_k8s_scaleway_com_pool_name", "default"),
        ),
    }
}

/// The node answer: four series per node, with kube-state-metrics' target labels.
fn node_answer(snapshot: &Snapshot, at: i64) -> (Vec<u8>, usize) {
    const TARGET: [(&str, &str); 7] = [
        ("container", "kube-state-metrics"),
        ("endpoint", "http"),
        ("instance", "10.244.0.17:8080"),
        ("job", "kube-state-metrics"),
        ("namespace", "monitoring"),
        ("pod", "kube-state-metrics-6d5b8c7f9-q2x7k"),
        ("service", "kube-state-metrics"),
    ];
    let mut out = open_answer("vector");
    let mut series = 0;
    for (i, node) in snapshot.nodes.iter().enumerate() {
        // The type, region and zone, from the node's fields or its well-known labels.
        let label = |field: Option<&str>, key: &str| -> String {
            field
                .map(str::to_owned)
                .or_else(|| node.labels.as_ref()?.get(key).cloned())
                .unwrap_or_default()
        };
        let instance_type = label(
            node.instance_type.as_deref(),
            "node.kubernetes.io/instance-type",
        );
        let region = label(node.region.as_deref(), "topology.kubernetes.io/region");
        let zone = label(node.zone.as_deref(), "topology.kubernetes.io/zone");
        let (provider_id, pool_label) = provider_facts(node, i, &zone);
        let name = &*node.name;

        let mut labels: Vec<(&str, &str)> = vec![("__name__", "kube_node_labels")];
        labels.extend(TARGET);
        labels.extend([
            ("label_kubernetes_io_arch", "amd64"),
            ("label_kubernetes_io_hostname", name),
            ("label_kubernetes_io_os", "linux"),
            pool_label,
            ("label_node_kubernetes_io_instance_type", &instance_type),
            ("label_topology_kubernetes_io_region", &region),
            ("label_topology_kubernetes_io_zone", &zone),
            ("node", name),
        ]);
        labels[1..].sort_unstable_by_key(|(k, _)| *k);
        push_series(&mut out, &labels, at, 1.0, false);

        let internal_ip = kubelet_address(i);
        let internal_ip = internal_ip.trim_end_matches(":10250");
        let mut labels: Vec<(&str, &str)> = vec![("__name__", "kube_node_info")];
        labels.extend(TARGET);
        labels.extend([
            ("container_runtime_version", "containerd://1.7.27"),
            ("internal_ip", internal_ip),
            ("kernel_version", "6.1.0-31-cloud-amd64"),
            ("kubelet_version", "v1.33.2"),
            ("kubeproxy_version", "deprecated"),
            ("node", name),
            ("os_image", "Debian GNU/Linux 12 (bookworm)"),
            ("provider_id", &provider_id),
        ]);
        labels[1..].sort_unstable_by_key(|(k, _)| *k);
        push_series(&mut out, &labels, at, 1.0, false);

        for (resource, unit, value) in [
            ("cpu", "core", node.cpu_capacity_cores.map(|c| c.0)),
            ("memory", "byte", node.memory_capacity_bytes.map(|b| b.0)),
        ] {
            let Some(value) = value else { continue };
            let mut labels: Vec<(&str, &str)> = vec![("__name__", "kube_node_status_capacity")];
            labels.extend(TARGET);
            labels.extend([("node", name), ("resource", resource), ("unit", unit)]);
            labels[1..].sort_unstable_by_key(|(k, _)| *k);
            push_series(&mut out, &labels, at, value, false);
            series += 1;
        }
        series += 2;
    }
    close_answer(&mut out);
    (out, series)
}

/// The answers Prometheus would give for the window of `snapshot`.
pub fn answers(snapshot: &Snapshot) -> Answers {
    let eval_at = snapshot.window_end.timestamp();
    let [(cpu, cpu_n), (memory, memory_n), (restarts, restarts_n)] =
        usage_answers(snapshot, eval_at);
    let (nodes, nodes_n) = node_answer(snapshot, snapshot.window_start.timestamp());
    Answers {
        cpu,
        memory,
        restarts,
        nodes,
        series: [cpu_n, memory_n, restarts_n, nodes_n],
    }
}

/// Matches a request whose `query` parameter names `metric`.
struct QueryNames(&'static str);

impl Match for QueryNames {
    fn matches(&self, request: &Request) -> bool {
        request
            .url
            .query_pairs()
            .any(|(k, v)| k == "query" && v.contains(self.0))
    }
}

/// A wiremock server on `127.0.0.1` serving `answers`, told apart by the metric name in the
/// `query` parameter (request recording off, so it holds nothing per request).
pub async fn stub(answers: Answers) -> MockServer {
    let server = MockServer::builder()
        .disable_request_recording()
        .start()
        .await;
    let Answers {
        cpu,
        memory,
        restarts,
        nodes,
        ..
    } = answers;
    for (endpoint, metric, body) in [
        (
            "/api/v1/query_range",
            "container_cpu_usage_seconds_total",
            cpu,
        ),
        (
            "/api/v1/query_range",
            "container_memory_working_set_bytes",
            memory,
        ),
        (
            "/api/v1/query_range",
            "kube_pod_container_status_restarts_total",
            restarts,
        ),
        ("/api/v1/query", "kube_node_labels", nodes),
    ] {
        Mock::given(method("GET"))
            .and(path(endpoint))
            .and(QueryNames(metric))
            .respond_with(ResponseTemplate::new(200).set_body_raw(body, "application/json"))
            .mount(&server)
            .await;
    }
    server
}
