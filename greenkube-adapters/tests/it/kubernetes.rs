//! The Kubernetes inventory source and service discovery.
//!
//! `mock`: in-process, kube's client over a `tower-test` mock service that checks every request
//! (path, query, headers) and answers realistic lists, page by page.
//!
//! `emulator`: against the `kmock` Kubernetes API emulator that `scripts/kmock-service.sh`
//! starts; its kubeconfig comes from `GREENKUBE_TEST_KUBECONFIG` and its URL from
//! `GREENKUBE_TEST_KUBE_URL`. Without them those tests fail, saying so: they never skip. The
//! emulator may be shared by several tests and runs, so each test seeds objects under names of
//! its own (a unique namespace, unique node names) and looks only at those.

use std::time::Duration;

use greenkube_adapters::sources::kubernetes::{KubernetesOptions, KubernetesSource};
use greenkube_core::inventory::HpaTarget;
use greenkube_core::ports::{
    ClusterInventory, InventorySource, PodSpec, SourceErrorKind, SourceKind,
};
use greenkube_core::snapshot::Node;
use greenkube_core::units::{Bytes, Cores};

/// Options for tests: small pages, short waits.
fn test_options() -> KubernetesOptions {
    KubernetesOptions {
        page_size: 2,
        connect_timeout: Duration::from_secs(2),
        request_timeout: Duration::from_secs(10),
        attempts: 3,
        backoff: Duration::from_millis(1),
        max_backoff: Duration::from_millis(5),
        ..KubernetesOptions::default()
    }
}

fn labels(pairs: &[(&str, &str)]) -> std::collections::BTreeMap<String, String> {
    pairs
        .iter()
        .map(|&(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

const MI: f64 = 1_048_576.0;
const GI: f64 = 1_073_741_824.0;

fn pod_spec(
    namespace: &str,
    name: &str,
    node: Option<&str>,
    owner: Option<(&str, &str)>,
    cpu: Option<f64>,
    memory: Option<f64>,
) -> PodSpec {
    PodSpec {
        namespace: namespace.into(),
        name: name.into(),
        node: node.map(Into::into),
        owner_kind: owner.map(|(k, _)| k.into()),
        owner_name: owner.map(|(_, n)| n.into()),
        cpu_request_cores: cpu.map(Cores),
        memory_request_bytes: memory.map(Bytes),
        labels: None,
    }
}

/// Gives the pod `name` of `pods` these labels.
fn label(pods: &mut [PodSpec], name: &str, labels: &[(&str, &str)]) {
    let pod = pods
        .iter_mut()
        .find(|p| &*p.name == name)
        .unwrap_or_else(|| panic!("no pod {name}"));
    pod.labels = Some(std::sync::Arc::new(
        labels
            .iter()
            .map(|&(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    ));
}

mod mock {
    use super::*;
    use greenkube_adapters::sources::discovery::{
        DiscoveryOptions, DiscoveryTarget, ResolvedUrl, UrlOrigin, discover_url_with,
    };
    use http::{Request, Response};
    use kube::client::Body;

    type Handle = tower_test::mock::Handle<Request<Body>, Response<Body>>;

    fn mock_client() -> (kube::Client, Handle) {
        let (service, handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
        (kube::Client::new(service, "default"), handle)
    }

    fn source(client: kube::Client) -> KubernetesSource {
        KubernetesSource::new(client).with_options(test_options())
    }

    /// `%XX` and `+` decoded.
    fn decode(text: &str) -> String {
        let bytes = text.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'%' if i + 2 < bytes.len() => {
                    let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).expect("utf-8");
                    out.push(u8::from_str_radix(hex, 16).expect("hex"));
                    i += 3;
                }
                b'+' => {
                    out.push(b' ');
                    i += 1;
                }
                b => {
                    out.push(b);
                    i += 1;
                }
            }
        }
        String::from_utf8(out).expect("utf-8")
    }

    /// Path and decoded query parameters of a request.
    fn target(request: &Request<Body>) -> (String, Vec<(String, String)>) {
        let path = request.uri().path().to_owned();
        let params = request
            .uri()
            .query()
            .unwrap_or_default()
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                (decode(k), decode(v))
            })
            .collect();
        (path, params)
    }

    fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|&(k, v)| (k.to_owned(), v.to_owned()))
            .collect()
    }

    const METADATA_ACCEPT: &str =
        "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1";

    /// Waits for the next request, checks it is `GET path?query` and answers `status` + `body`.
    async fn answer(
        handle: &mut Handle,
        path: &str,
        query: &[(&str, &str)],
        status: u16,
        body: &str,
    ) -> Request<Body> {
        let (request, send) = handle.next_request().await.expect("another request");
        assert_eq!(request.method(), http::Method::GET);
        assert_eq!(target(&request), (path.to_owned(), params(query)));
        send.send_response(
            Response::builder()
                .status(status)
                .header("content-type", "application/json")
                .body(Body::from(body.as_bytes().to_vec()))
                .expect("a response"),
        );
        request
    }

    fn status_body(code: u16, reason: &str, message: &str) -> String {
        serde_json::json!({
            "kind": "Status", "apiVersion": "v1", "metadata": {},
            "status": "Failure", "message": message, "reason": reason, "code": code
        })
        .to_string()
    }

    const PODS_SELECTOR: &str =
        "status.phase!=Succeeded,status.phase!=Failed,status.phase!=Unknown";

    // A NodeList in two pages, as an API server answers `?limit=2`: an EKS node and a GKE node,
    // then a kind node.
    const NODES_PAGE_1: &str = r#"{
      "kind": "NodeList", "apiVersion": "v1",
      "metadata": {"resourceVersion": "81532", "continue": "eyJ2IjoibWV0YS5rOHMuaW8vdjEiLCJydiI6ODE1MzIsInN0YXJ0IjoiZ2tlLXByb2QtcG9vbC0xYTJiIn0", "remainingItemCount": 1},
      "items": [
        {"metadata": {"name": "ip-10-0-1-23.eu-west-3.compute.internal", "uid": "4c1f6b1e-9d0a-4a5b-8b7e-3a2c1d0e9f8a", "resourceVersion": "81211", "creationTimestamp": "2025-05-30T08:12:44Z",
           "labels": {"beta.kubernetes.io/arch": "amd64", "beta.kubernetes.io/instance-type": "m5.large", "beta.kubernetes.io/os": "linux",
             "eks.amazonaws.com/capacityType": "ON_DEMAND", "eks.amazonaws.com/nodegroup": "ng-general",
             "failure-domain.beta.kubernetes.io/region": "eu-west-3", "failure-domain.beta.kubernetes.io/zone": "eu-west-3a",
             "kubernetes.io/arch": "amd64", "kubernetes.io/hostname": "ip-10-0-1-23.eu-west-3.compute.internal", "kubernetes.io/os": "linux",
             "node.kubernetes.io/instance-type": "m5.large", "topology.kubernetes.io/region": "eu-west-3", "topology.kubernetes.io/zone": "eu-west-3a"},
           "annotations": {"alpha.kubernetes.io/provided-node-ip": "10.0.1.23", "node.alpha.kubernetes.io/ttl": "0"}},
         "spec": {"providerID": "aws:///eu-west-3a/i-0123456789abcdef0"},
         "status": {"capacity": {"cpu": "2", "ephemeral-storage": "83873772Ki", "hugepages-1Gi": "0", "hugepages-2Mi": "0", "memory": "7901580Ki", "pods": "29"},
           "allocatable": {"cpu": "1930m", "ephemeral-storage": "76224326324", "memory": "7211404Ki", "pods": "29"},
           "conditions": [{"type": "Ready", "status": "True", "lastHeartbeatTime": "2025-06-02T10:03:12Z", "lastTransitionTime": "2025-05-30T08:13:15Z", "reason": "KubeletReady", "message": "kubelet is posting ready status"}],
           "addresses": [{"type": "InternalIP", "address": "10.0.1.23"}, {"type": "Hostname", "address": "ip-10-0-1-23.eu-west-3.compute.internal"}],
           "nodeInfo": {"machineID": "ec2b7f1e", "systemUUID": "ec2b7f1e", "bootID": "1f2e", "kernelVersion": "5.10.236-228.935.amzn2.x86_64", "osImage": "Amazon Linux 2", "containerRuntimeVersion": "containerd://1.7.27", "kubeletVersion": "v1.32.3-eks-473151a", "kubeProxyVersion": "v1.32.3-eks-473151a", "operatingSystem": "linux", "architecture": "amd64"}}},
        {"metadata": {"name": "gke-prod-pool-1a2b", "uid": "9a8b7c6d-0000-4000-8000-000000000001", "resourceVersion": "81400",
           "labels": {"beta.kubernetes.io/instance-type": "e2-standard-4", "cloud.google.com/gke-nodepool": "pool", "cloud.google.com/machine-family": "e2",
             "kubernetes.io/hostname": "gke-prod-pool-1a2b", "node.kubernetes.io/instance-type": "e2-standard-4",
             "topology.gke.io/zone": "us-central1-a", "topology.kubernetes.io/region": "us-central1", "topology.kubernetes.io/zone": "us-central1-a"}},
         "spec": {"providerID": "gce://acme-prod/us-central1-a/gke-prod-pool-1a2b", "podCIDR": "10.8.0.0/24"},
         "status": {"capacity": {"cpu": "4", "memory": "16393208Ki", "pods": "110"}, "allocatable": {"cpu": "3920m", "memory": "13292536Ki", "pods": "110"}}}
      ]}"#;
    const NODES_PAGE_2: &str = r#"{
      "kind": "NodeList", "apiVersion": "v1", "metadata": {"resourceVersion": "81532"},
      "items": [
        {"metadata": {"name": "kind-control-plane", "labels": {"kubernetes.io/hostname": "kind-control-plane", "node-role.kubernetes.io/control-plane": ""}},
         "spec": {"providerID": "kind://docker/kind/kind-control-plane", "taints": [{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}]},
         "status": {"capacity": {"cpu": "8", "memory": "32781880Ki"}}}
      ]}"#;

    // A PodList in two pages. The server was asked to leave finished pods out; this one does
    // not (as kmock does not), so the source must drop the Succeeded pod itself.
    const PODS_PAGE_1: &str = r#"{
      "kind": "PodList", "apiVersion": "v1",
      "metadata": {"resourceVersion": "81533", "continue": "pods-page-2"},
      "items": [
        {"metadata": {"name": "web-api-7c9d8f6b5d-x2x7k", "namespace": "shop", "uid": "11111111-0000-4000-8000-000000000001",
           "labels": {"app": "web-api", "pod-template-hash": "7c9d8f6b5d"},
           "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-api-7c9d8f6b5d", "uid": "22222222-0000-4000-8000-000000000001", "controller": true, "blockOwnerDeletion": true}]},
         "spec": {"nodeName": "ip-10-0-1-23.eu-west-3.compute.internal", "restartPolicy": "Always", "serviceAccountName": "default",
           "initContainers": [
             {"name": "istio-proxy", "image": "istio/proxyv2:1.24.0", "restartPolicy": "Always", "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "1Gi"}}},
             {"name": "migrate", "image": "shop/migrate:4.2", "resources": {"requests": {"cpu": "1", "memory": "64Mi"}}}
           ],
           "containers": [
             {"name": "app", "image": "shop/web-api:4.2", "ports": [{"containerPort": 8080, "protocol": "TCP"}], "resources": {"requests": {"cpu": "250m", "memory": "256Mi"}, "limits": {"cpu": "1", "memory": "512Mi"}}},
             {"name": "log-shipper", "image": "fluent/fluent-bit:3.2", "resources": {"requests": {"cpu": "50m"}}}
           ]},
         "status": {"phase": "Running", "podIP": "10.0.1.77", "qosClass": "Burstable", "startTime": "2025-06-02T09:00:00Z"}},
        {"metadata": {"name": "report-28930140-zq8wd", "namespace": "shop", "labels": {"batch.kubernetes.io/job-name": "report-28930140", "job-name": "report-28930140"},
           "ownerReferences": [{"apiVersion": "batch/v1", "kind": "Job", "name": "report-28930140", "uid": "33333333-0000-4000-8000-000000000001", "controller": true, "blockOwnerDeletion": true}]},
         "spec": {"nodeName": "gke-prod-pool-1a2b", "restartPolicy": "Never", "containers": [{"name": "report", "image": "shop/report:1", "resources": {"requests": {"cpu": "2", "memory": "1.5Gi"}}}]},
         "status": {"phase": "Succeeded"}}
      ]}"#;
    const PODS_PAGE_2: &str = r#"{
      "kind": "PodList", "apiVersion": "v1", "metadata": {"resourceVersion": "81533"},
      "items": [
        {"metadata": {"name": "report-28930200-k9f2m", "namespace": "shop", "labels": {"job-name": "report-28930200"},
           "ownerReferences": [{"apiVersion": "batch/v1", "kind": "Job", "name": "report-28930200", "uid": "33333333-0000-4000-8000-000000000002", "controller": true}]},
         "spec": {"nodeName": "gke-prod-pool-1a2b", "restartPolicy": "Never", "containers": [{"name": "report", "image": "shop/report:1", "resources": {"requests": {"cpu": "2", "memory": "1.5Gi"}}}]},
         "status": {"phase": "Running"}},
        {"metadata": {"name": "db-0", "namespace": "shop",
           "ownerReferences": [{"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "db", "uid": "44444444-0000-4000-8000-000000000001", "controller": true}]},
         "spec": {"containers": [{"name": "postgres", "image": "postgres:17", "resources": {"requests": {"cpu": "500m", "memory": "1Gi"}}}], "overhead": {"cpu": "10m", "memory": "20Mi"}},
         "status": {"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable"}]}},
        {"metadata": {"name": "legacy-rs-abcde", "namespace": "ops",
           "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "legacy-rs", "uid": "55555555-0000-4000-8000-000000000001", "controller": true}]},
         "spec": {"nodeName": "kind-control-plane", "containers": [{"name": "c", "image": "busybox"}]},
         "status": {"phase": "Running"}},
        {"metadata": {"name": "debug", "namespace": "default"},
         "spec": {"nodeName": "kind-control-plane", "containers": [{"name": "shell", "image": "busybox"}]},
         "status": {"phase": "Failed"}}
      ]}"#;
    // Metadata-only lists, as the API server answers the PartialObjectMetadataList Accept header.
    const REPLICA_SETS: &str = r#"{
      "kind": "PartialObjectMetadataList", "apiVersion": "meta.k8s.io/v1", "metadata": {"resourceVersion": "81534"},
      "items": [
        {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
         "metadata": {"name": "web-api-7c9d8f6b5d", "namespace": "shop", "labels": {"app": "web-api", "pod-template-hash": "7c9d8f6b5d"},
           "annotations": {"deployment.kubernetes.io/revision": "7"},
           "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web-api", "uid": "66666666-0000-4000-8000-000000000001", "controller": true, "blockOwnerDeletion": true}]}},
        {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
         "metadata": {"name": "legacy-rs", "namespace": "ops"}}
      ]}"#;
    const JOBS: &str = r#"{
      "kind": "PartialObjectMetadataList", "apiVersion": "meta.k8s.io/v1", "metadata": {"resourceVersion": "81535"},
      "items": [
        {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
         "metadata": {"name": "report-28930200", "namespace": "shop",
           "ownerReferences": [{"apiVersion": "batch/v1", "kind": "CronJob", "name": "report", "uid": "77777777-0000-4000-8000-000000000001", "controller": true, "blockOwnerDeletion": true}]}}
      ]}"#;
    const HPAS: &str = r#"{
      "kind": "HorizontalPodAutoscalerList", "apiVersion": "autoscaling/v2", "metadata": {"resourceVersion": "81536"},
      "items": [
        {"metadata": {"name": "web-api", "namespace": "shop"},
         "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web-api"}, "minReplicas": 2, "maxReplicas": 10,
           "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}}}]},
         "status": {"currentReplicas": 3, "desiredReplicas": 3}},
        {"metadata": {"name": "db", "namespace": "shop"},
         "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "db"}, "maxReplicas": 3}},
        {"metadata": {"name": "web-api-duplicate", "namespace": "shop"},
         "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web-api"}, "maxReplicas": 4}}
      ]}"#;

    fn expected_nodes() -> Vec<Node> {
        vec![
            Node {
                name: "gke-prod-pool-1a2b".into(),
                provider: Some("gcp".into()),
                instance_type: Some("e2-standard-4".into()),
                region: Some("us-central1".into()),
                zone: Some("us-central1-a".into()),
                cpu_capacity_cores: Some(Cores(4.0)),
                memory_capacity_bytes: Some(Bytes(16_786_644_992.0)),
                labels: Some(labels(&[
                    ("beta.kubernetes.io/instance-type", "e2-standard-4"),
                    ("cloud.google.com/gke-nodepool", "pool"),
                    ("cloud.google.com/machine-family", "e2"),
                    ("kubernetes.io/hostname", "gke-prod-pool-1a2b"),
                    ("node.kubernetes.io/instance-type", "e2-standard-4"),
                    ("topology.gke.io/zone", "us-central1-a"),
                    ("topology.kubernetes.io/region", "us-central1"),
                    ("topology.kubernetes.io/zone", "us-central1-a"),
                ])),
            },
            Node {
                name: "ip-10-0-1-23.eu-west-3.compute.internal".into(),
                provider: Some("aws".into()),
                instance_type: Some("m5.large".into()),
                region: Some("eu-west-3".into()),
                zone: Some("eu-west-3a".into()),
                cpu_capacity_cores: Some(Cores(2.0)),
                memory_capacity_bytes: Some(Bytes(8_091_217_920.0)),
                labels: Some(labels(&[
                    ("beta.kubernetes.io/arch", "amd64"),
                    ("beta.kubernetes.io/instance-type", "m5.large"),
                    ("beta.kubernetes.io/os", "linux"),
                    ("eks.amazonaws.com/capacityType", "ON_DEMAND"),
                    ("eks.amazonaws.com/nodegroup", "ng-general"),
                    ("failure-domain.beta.kubernetes.io/region", "eu-west-3"),
                    ("failure-domain.beta.kubernetes.io/zone", "eu-west-3a"),
                    ("kubernetes.io/arch", "amd64"),
                    (
                        "kubernetes.io/hostname",
                        "ip-10-0-1-23.eu-west-3.compute.internal",
                    ),
                    ("kubernetes.io/os", "linux"),
                    ("node.kubernetes.io/instance-type", "m5.large"),
                    ("topology.kubernetes.io/region", "eu-west-3"),
                    ("topology.kubernetes.io/zone", "eu-west-3a"),
                ])),
            },
            Node {
                name: "kind-control-plane".into(),
                provider: None,
                instance_type: None,
                region: None,
                zone: None,
                cpu_capacity_cores: Some(Cores(8.0)),
                memory_capacity_bytes: Some(Bytes(33_568_645_120.0)),
                labels: Some(labels(&[
                    ("kubernetes.io/hostname", "kind-control-plane"),
                    ("node-role.kubernetes.io/control-plane", ""),
                ])),
            },
        ]
    }

    #[tokio::test]
    async fn inventory_reads_every_page_and_resolves_owners() {
        let (client, mut handle) = mock_client();
        let server = tokio::spawn(async move {
            answer(
                &mut handle,
                "/api/v1/nodes",
                &[("limit", "2")],
                200,
                NODES_PAGE_1,
            )
            .await;
            answer(
                &mut handle,
                "/api/v1/nodes",
                &[
                    ("limit", "2"),
                    (
                        "continue",
                        "eyJ2IjoibWV0YS5rOHMuaW8vdjEiLCJydiI6ODE1MzIsInN0YXJ0IjoiZ2tlLXByb2QtcG9vbC0xYTJiIn0",
                    ),
                ],
                200,
                NODES_PAGE_2,
            )
            .await;
            answer(
                &mut handle,
                "/api/v1/pods",
                &[("fieldSelector", PODS_SELECTOR), ("limit", "2")],
                200,
                PODS_PAGE_1,
            )
            .await;
            answer(
                &mut handle,
                "/api/v1/pods",
                &[
                    ("fieldSelector", PODS_SELECTOR),
                    ("limit", "2"),
                    ("continue", "pods-page-2"),
                ],
                200,
                PODS_PAGE_2,
            )
            .await;
            let rs = answer(
                &mut handle,
                "/apis/apps/v1/replicasets",
                &[("limit", "2")],
                200,
                REPLICA_SETS,
            )
            .await;
            assert_eq!(
                rs.headers().get("accept").and_then(|v| v.to_str().ok()),
                Some(METADATA_ACCEPT)
            );
            let jobs = answer(
                &mut handle,
                "/apis/batch/v1/jobs",
                &[("limit", "2")],
                200,
                JOBS,
            )
            .await;
            assert_eq!(
                jobs.headers().get("accept").and_then(|v| v.to_str().ok()),
                Some(METADATA_ACCEPT)
            );
            answer(
                &mut handle,
                "/apis/autoscaling/v2/horizontalpodautoscalers",
                &[("limit", "2")],
                200,
                HPAS,
            )
            .await;
        });
        let inventory = source(client).inventory().await.expect("an inventory");
        server.await.expect("every request as expected");

        let expected = ClusterInventory {
            nodes: expected_nodes(),
            pods: vec![
                // No request at all: unknown, not zero; no owner.
                pod_spec(
                    "ops",
                    "legacy-rs-abcde",
                    Some("kind-control-plane"),
                    Some(("ReplicaSet", "legacy-rs")),
                    None,
                    None,
                ),
                // 500m + 10m overhead; 1Gi + 20Mi overhead. Pending: no node.
                pod_spec(
                    "shop",
                    "db-0",
                    None,
                    Some(("StatefulSet", "db")),
                    Some(0.51),
                    Some(GI + 20.0 * MI),
                ),
                // Through the CronJob's Job.
                pod_spec(
                    "shop",
                    "report-28930200-k9f2m",
                    Some("gke-prod-pool-1a2b"),
                    Some(("CronJob", "report")),
                    Some(2.0),
                    Some(1.5 * GI),
                ),
                // CPU: containers 0.25 + 0.05 + sidecar 0.1 = 0.4 < init 1 + sidecar 0.1 = 1.1.
                // Memory: 256Mi + 128Mi (sidecar) = 384Mi > 64Mi + 128Mi.
                pod_spec(
                    "shop",
                    "web-api-7c9d8f6b5d-x2x7k",
                    Some("ip-10-0-1-23.eu-west-3.compute.internal"),
                    Some(("Deployment", "web-api")),
                    Some(1.1),
                    Some(384.0 * MI),
                ),
            ],
            hpas: vec![
                HpaTarget {
                    namespace: "shop".into(),
                    target_kind: "Deployment".into(),
                    target_name: "web-api".into(),
                },
                HpaTarget {
                    namespace: "shop".into(),
                    target_kind: "StatefulSet".into(),
                    target_name: "db".into(),
                },
            ],
        };
        let mut expected = expected;
        // Labels come from metadata.labels, as the API gives them.
        label(
            &mut expected.pods,
            "web-api-7c9d8f6b5d-x2x7k",
            &[("app", "web-api"), ("pod-template-hash", "7c9d8f6b5d")],
        );
        label(
            &mut expected.pods,
            "report-28930200-k9f2m",
            &[("job-name", "report-28930200")],
        );
        assert_eq!(inventory.nodes, expected.nodes);
        assert_eq!(inventory.pods, expected.pods);
        assert_eq!(inventory.hpas, expected.hpas);
    }

    const FORBIDDEN_RS: &str = r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"replicasets.apps is forbidden: User \"system:serviceaccount:greenkube:greenkube\" cannot list resource \"replicasets\" in API group \"apps\" at the cluster scope","reason":"Forbidden","details":{"group":"apps","kind":"replicasets"},"code":403}"#;

    #[tokio::test]
    async fn without_replica_sets_the_deployment_naming_rule_applies() {
        let (client, mut handle) = mock_client();
        let server = tokio::spawn(async move {
            answer(
                &mut handle,
                "/api/v1/pods",
                &[("fieldSelector", PODS_SELECTOR), ("limit", "2")],
                200,
                PODS_PAGE_1,
            )
            .await;
            answer(
                &mut handle,
                "/api/v1/pods",
                &[
                    ("fieldSelector", PODS_SELECTOR),
                    ("limit", "2"),
                    ("continue", "pods-page-2"),
                ],
                200,
                PODS_PAGE_2,
            )
            .await;
            // Forbidden is not retried: one request each.
            answer(
                &mut handle,
                "/apis/apps/v1/replicasets",
                &[("limit", "2")],
                403,
                FORBIDDEN_RS,
            )
            .await;
            answer(
                &mut handle,
                "/apis/batch/v1/jobs",
                &[("limit", "2")],
                403,
                &status_body(403, "Forbidden", "jobs.batch is forbidden"),
            )
            .await;
        });
        let pods = source(client).pods().await.expect("pods");
        server.await.expect("every request as expected");
        let owners: Vec<(&str, Option<&str>, Option<&str>)> = pods
            .iter()
            .map(|p| (&*p.name, p.owner_kind.as_deref(), p.owner_name.as_deref()))
            .collect();
        assert_eq!(
            owners,
            vec![
                // No pod-template-hash label: a bare ReplicaSet stays one.
                ("legacy-rs-abcde", Some("ReplicaSet"), Some("legacy-rs")),
                ("db-0", Some("StatefulSet"), Some("db")),
                // Jobs unreadable: the Job itself.
                (
                    "report-28930200-k9f2m",
                    Some("Job"),
                    Some("report-28930200")
                ),
                // ReplicaSet name minus the pod's pod-template-hash.
                (
                    "web-api-7c9d8f6b5d-x2x7k",
                    Some("Deployment"),
                    Some("web-api")
                ),
            ]
        );
    }

    #[tokio::test]
    async fn refused_credentials_are_unauthorized_and_not_retried() {
        let (client, mut handle) = mock_client();
        let server = tokio::spawn(async move {
            answer(
                &mut handle,
                "/api/v1/nodes",
                &[("limit", "2")],
                401,
                &status_body(401, "Unauthorized", "Unauthorized"),
            )
            .await;
            handle
        });
        let err = source(client).inventory().await.expect_err("refused");
        let mut handle = server.await.expect("one request");
        assert_eq!(err.source_kind, SourceKind::Kubernetes);
        assert_eq!(err.kind, SourceErrorKind::Unauthorized);
        assert_eq!(
            err.message,
            "listing nodes: HTTP 401 Unauthorized: Unauthorized"
        );
        assert_eq!(
            err.to_string(),
            "kubernetes refused the credentials: listing nodes: HTTP 401 Unauthorized: Unauthorized"
        );
        // No second attempt was made (the client is gone, or nothing comes).
        assert!(matches!(
            tokio::time::timeout(Duration::from_millis(50), handle.next_request()).await,
            Err(_) | Ok(None)
        ));
    }

    #[tokio::test]
    async fn server_errors_are_retried_until_an_answer_comes() {
        let (client, mut handle) = mock_client();
        let server = tokio::spawn(async move {
            let unavailable = status_body(503, "ServiceUnavailable", "etcd leader changed");
            answer(
                &mut handle,
                "/api/v1/nodes",
                &[("limit", "2")],
                503,
                &unavailable,
            )
            .await;
            answer(
                &mut handle,
                "/api/v1/nodes",
                &[("limit", "2")],
                503,
                &unavailable,
            )
            .await;
            answer(
                &mut handle,
                "/api/v1/nodes",
                &[("limit", "2")],
                200,
                NODES_PAGE_2,
            )
            .await;
        });
        let nodes = source(client).nodes().await.expect("third attempt answers");
        server.await.expect("three requests");
        assert_eq!(nodes.len(), 1);
        assert_eq!(&*nodes[0].name, "kind-control-plane");
    }

    #[tokio::test]
    async fn retries_are_bounded() {
        let (client, mut handle) = mock_client();
        let server = tokio::spawn(async move {
            for _ in 0..3 {
                answer(
                    &mut handle,
                    "/api/v1/nodes",
                    &[("limit", "2")],
                    500,
                    &status_body(500, "InternalError", "boom"),
                )
                .await;
            }
        });
        let err = source(client).nodes().await.expect_err("gives up");
        server.await.expect("three requests");
        assert_eq!(err.kind, SourceErrorKind::ServerError);
        assert_eq!(
            err.message,
            "listing nodes: HTTP 500 InternalError: boom (after 3 attempts)"
        );
    }

    #[tokio::test]
    async fn an_expired_continue_token_restarts_the_list() {
        let (client, mut handle) = mock_client();
        let server = tokio::spawn(async move {
            answer(
                &mut handle,
                "/api/v1/nodes",
                &[("limit", "2")],
                200,
                NODES_PAGE_1,
            )
            .await;
            let token = "eyJ2IjoibWV0YS5rOHMuaW8vdjEiLCJydiI6ODE1MzIsInN0YXJ0IjoiZ2tlLXByb2QtcG9vbC0xYTJiIn0";
            answer(
                &mut handle,
                "/api/v1/nodes",
                &[("limit", "2"), ("continue", token)],
                410,
                &status_body(
                    410,
                    "Expired",
                    "The provided continue parameter is too old to display a consistent list result.",
                ),
            )
            .await;
            answer(
                &mut handle,
                "/api/v1/nodes",
                &[("limit", "2")],
                200,
                NODES_PAGE_1,
            )
            .await;
            answer(
                &mut handle,
                "/api/v1/nodes",
                &[("limit", "2"), ("continue", token)],
                200,
                NODES_PAGE_2,
            )
            .await;
        });
        let nodes = source(client).nodes().await.expect("the restarted list");
        server.await.expect("four requests");
        // Each node once, not the first page twice.
        assert_eq!(nodes, expected_nodes());
    }

    #[tokio::test]
    async fn a_server_that_never_answers_is_a_timeout() {
        let (client, mut handle) = mock_client();
        let server = tokio::spawn(async move {
            let (request, send) = handle.next_request().await.expect("a request");
            assert_eq!(request.uri().path(), "/api/v1/nodes");
            // Hold the answer past the client's time-out.
            tokio::time::sleep(Duration::from_millis(400)).await;
            drop(send);
        });
        let options = KubernetesOptions {
            request_timeout: Duration::from_millis(100),
            attempts: 1,
            ..test_options()
        };
        let err = KubernetesSource::new(client)
            .with_options(options)
            .nodes()
            .await
            .expect_err("no answer");
        assert_eq!(err.kind, SourceErrorKind::Timeout);
        assert_eq!(err.message, "listing nodes: no answer within 100 ms");
        server.await.expect("one request");
    }

    #[tokio::test]
    async fn a_connection_failure_is_unreachable_after_the_retries() {
        let (client, mut handle) = mock_client();
        let server = tokio::spawn(async move {
            for _ in 0..3 {
                let (_, send) = handle.next_request().await.expect("a request");
                send.send_error(std::io::Error::new(
                    std::io::ErrorKind::ConnectionRefused,
                    "connection refused",
                ));
            }
        });
        let err = source(client).nodes().await.expect_err("unreachable");
        server.await.expect("three attempts");
        assert_eq!(err.kind, SourceErrorKind::Unreachable);
        assert!(
            err.message.starts_with("listing nodes: ")
                && err.message.contains("connection refused")
                && err.message.ends_with("(after 3 attempts)"),
            "{}",
            err.message
        );
    }

    #[tokio::test]
    async fn a_cluster_without_autoscaling_v2_has_no_autoscalers() {
        let (client, mut handle) = mock_client();
        let empty_nodes = r#"{"kind":"NodeList","apiVersion":"v1","metadata":{"resourceVersion":"1"},"items":[]}"#;
        let empty_pods =
            r#"{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"1"},"items":[]}"#;
        let server = tokio::spawn(async move {
            answer(
                &mut handle,
                "/api/v1/nodes",
                &[("limit", "2")],
                200,
                empty_nodes,
            )
            .await;
            answer(
                &mut handle,
                "/api/v1/pods",
                &[("fieldSelector", PODS_SELECTOR), ("limit", "2")],
                200,
                empty_pods,
            )
            .await;
            // No pod is owned by a ReplicaSet or a Job: neither is listed.
            answer(
                &mut handle,
                "/apis/autoscaling/v2/horizontalpodautoscalers",
                &[("limit", "2")],
                404,
                "404 page not found",
            )
            .await;
        });
        let inventory = source(client).inventory().await.expect("an inventory");
        server.await.expect("three requests");
        assert_eq!(inventory, ClusterInventory::default());
    }

    #[tokio::test]
    async fn a_quantity_no_api_server_writes_is_a_bad_response() {
        let (client, mut handle) = mock_client();
        let pods = r#"{"kind":"PodList","apiVersion":"v1","metadata":{},"items":[
          {"metadata":{"name":"p","namespace":"n"},"spec":{"containers":[{"name":"c","resources":{"requests":{"cpu":"lots"}}}]},"status":{"phase":"Running"}}]}"#;
        let server = tokio::spawn(async move {
            answer(
                &mut handle,
                "/api/v1/pods",
                &[("fieldSelector", PODS_SELECTOR), ("limit", "2")],
                200,
                pods,
            )
            .await;
        });
        let err = source(client).pods().await.expect_err("refused");
        server.await.expect("one request");
        assert_eq!(err.kind, SourceErrorKind::BadResponse);
        assert_eq!(
            err.message,
            "pod n/p container c: requests.cpu: invalid quantity \"lots\": no digits before the unit"
        );
    }

    #[tokio::test]
    async fn a_body_that_is_not_a_list_is_a_bad_response() {
        let (client, mut handle) = mock_client();
        let server = tokio::spawn(async move {
            answer(
                &mut handle,
                "/api/v1/nodes",
                &[("limit", "2")],
                200,
                "<html>proxy</html>",
            )
            .await;
        });
        let err = source(client).nodes().await.expect_err("refused");
        server.await.expect("one request");
        assert_eq!(err.kind, SourceErrorKind::BadResponse);
        assert!(
            err.message.starts_with("listing nodes: "),
            "{}",
            err.message
        );
    }

    // Services of a cluster with kube-prometheus (the adapter and the exporter are decoys).
    const SERVICES: &str = r#"{"kind":"ServiceList","apiVersion":"v1","metadata":{"resourceVersion":"9"},"items":[
      {"metadata":{"name":"kubernetes","namespace":"default","labels":{"component":"apiserver","provider":"kubernetes"}},
       "spec":{"type":"ClusterIP","clusterIP":"10.96.0.1","ports":[{"name":"https","port":443,"protocol":"TCP","targetPort":6443}]}},
      {"metadata":{"name":"prometheus-k8s","namespace":"monitoring","labels":{"app.kubernetes.io/component":"prometheus","app.kubernetes.io/instance":"k8s","app.kubernetes.io/name":"prometheus","app.kubernetes.io/part-of":"kube-prometheus"}},
       "spec":{"type":"ClusterIP","clusterIP":"10.96.12.7","ports":[{"name":"web","port":9090,"protocol":"TCP","targetPort":"web"},{"name":"reloader-web","port":8080,"protocol":"TCP","targetPort":"reloader-web"}]}},
      {"metadata":{"name":"prometheus-operated","namespace":"monitoring","labels":{"operated-prometheus":"true"}},
       "spec":{"type":"ClusterIP","clusterIP":"None","ports":[{"name":"web","port":9090,"protocol":"TCP","targetPort":"web"}]}},
      {"metadata":{"name":"prometheus-adapter","namespace":"monitoring","labels":{"app.kubernetes.io/component":"metrics-adapter","app.kubernetes.io/name":"prometheus-adapter"}},
       "spec":{"type":"ClusterIP","ports":[{"name":"https","port":443,"protocol":"TCP","targetPort":6443}]}}
    ]}"#;
    const PROM_UP: &str = r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"__name__":"up","job":"prometheus-k8s"},"value":[1748858400.123,"1"]}]}}"#;

    fn no_dns() -> DiscoveryOptions {
        DiscoveryOptions {
            require_resolvable: false,
            probe_timeout: Duration::from_secs(5),
            ..DiscoveryOptions::default()
        }
    }

    #[tokio::test]
    async fn discovery_probes_candidates_through_the_api_server_proxy() {
        let (client, mut handle) = mock_client();
        let server = tokio::spawn(async move {
            answer(
                &mut handle,
                "/api/v1/services",
                &[("limit", "500")],
                200,
                SERVICES,
            )
            .await;
            // The best candidate does not answer on any of the three paths...
            for path in ["api/v1/query", "query", "prometheus/api/v1/query"] {
                answer(
                    &mut handle,
                    &format!("/api/v1/namespaces/monitoring/services/http:prometheus-k8s:9090/proxy/{path}"),
                    &[("query", "up")],
                    503,
                    &status_body(503, "ServiceUnavailable", "no endpoints available for service \"prometheus-k8s\""),
                )
                .await;
            }
            // ...the next one does.
            answer(
                &mut handle,
                "/api/v1/namespaces/monitoring/services/http:prometheus-operated:9090/proxy/api/v1/query",
                &[("query", "up")],
                200,
                PROM_UP,
            )
            .await;
        });
        let url = discover_url_with(
            DiscoveryTarget::Prometheus,
            None,
            Some(&client),
            &no_dns(),
            None,
        )
        .await
        .expect("found");
        server.await.expect("every request as expected");
        assert_eq!(
            url,
            ResolvedUrl {
                url: "http://prometheus-operated.monitoring.svc.cluster.local:9090".to_owned(),
                origin: UrlOrigin::Discovered {
                    namespace: "monitoring".to_owned(),
                    service: "prometheus-operated".to_owned(),
                    verified: true,
                },
            }
        );
    }

    #[tokio::test]
    async fn a_forbidden_proxy_gives_the_best_candidate_unverified() {
        let (client, mut handle) = mock_client();
        let server = tokio::spawn(async move {
            answer(
                &mut handle,
                "/api/v1/services",
                &[("limit", "500")],
                200,
                SERVICES,
            )
            .await;
            for name in ["prometheus-k8s", "prometheus-operated"] {
                answer(
                    &mut handle,
                    &format!(
                        "/api/v1/namespaces/monitoring/services/http:{name}:9090/proxy/api/v1/query"
                    ),
                    &[("query", "up")],
                    403,
                    &status_body(
                        403,
                        "Forbidden",
                        "services \"x\" is forbidden: cannot get resource \"services/proxy\"",
                    ),
                )
                .await;
            }
        });
        let url = discover_url_with(
            DiscoveryTarget::Prometheus,
            None,
            Some(&client),
            &no_dns(),
            None,
        )
        .await
        .expect("best guess");
        server.await.expect("every request as expected");
        assert_eq!(
            url.url,
            "http://prometheus-k8s.monitoring.svc.cluster.local:9090"
        );
        assert_eq!(
            url.origin,
            UrlOrigin::Discovered {
                namespace: "monitoring".to_owned(),
                service: "prometheus-k8s".to_owned(),
                verified: false,
            }
        );
    }

    #[tokio::test]
    async fn discovery_without_service_access_is_not_configured() {
        let (client, mut handle) = mock_client();
        let server = tokio::spawn(async move {
            answer(
                &mut handle,
                "/api/v1/services",
                &[("limit", "500")],
                403,
                &status_body(403, "Forbidden", "services is forbidden"),
            )
            .await;
        });
        let err = discover_url_with(
            DiscoveryTarget::Opencost,
            None,
            Some(&client),
            &no_dns(),
            None,
        )
        .await
        .expect_err("nothing to go on");
        server.await.expect("one request");
        assert_eq!(err.source_kind, SourceKind::Opencost);
        assert_eq!(err.kind, SourceErrorKind::NotConfigured);
        assert_eq!(
            err.message,
            "no opencost URL configured, and discovery could not list the services: kubernetes \
             refused the credentials: listing services: HTTP 403 Forbidden: services is forbidden"
        );
    }

    #[tokio::test]
    async fn a_configured_url_is_used_without_asking_the_cluster() {
        let (client, mut handle) = mock_client();
        let url = discover_url_with(
            DiscoveryTarget::Opencost,
            Some("http://opencost.example:9003/"),
            Some(&client),
            &no_dns(),
            None,
        )
        .await
        .expect("configured");
        assert_eq!(url.url, "http://opencost.example:9003");
        assert_eq!(url.origin, UrlOrigin::Configured);
        assert!(
            tokio::time::timeout(Duration::from_millis(50), handle.next_request())
                .await
                .is_err(),
            "no request to the cluster"
        );
    }

    #[tokio::test]
    async fn unresolvable_in_cluster_names_are_skipped_and_said() {
        let (client, mut handle) = mock_client();
        let server = tokio::spawn(async move {
            answer(
                &mut handle,
                "/api/v1/services",
                &[("limit", "500")],
                200,
                SERVICES,
            )
            .await;
            handle
        });
        let options = DiscoveryOptions {
            require_resolvable: true,
            resolve_timeout: Duration::from_millis(500),
            ..DiscoveryOptions::default()
        };
        let err = discover_url_with(
            DiscoveryTarget::Prometheus,
            None,
            Some(&client),
            &options,
            None,
        )
        .await
        .expect_err("nothing resolves outside a cluster");
        let mut handle = server.await.expect("one request");
        assert_eq!(err.kind, SourceErrorKind::NotConfigured);
        assert_eq!(
            err.message,
            "no prometheus URL configured, and no candidate service qualified (in-cluster names \
             that do not resolve from here (configure the URL, e.g. of a port-forward): \
             prometheus-k8s.monitoring.svc.cluster.local, \
             prometheus-operated.monitoring.svc.cluster.local)"
        );
        // Nothing was probed.
        assert!(
            tokio::time::timeout(Duration::from_millis(50), handle.next_request())
                .await
                .is_err()
        );
    }
}

mod emulator {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};

    use async_trait::async_trait;
    use greenkube_adapters::sources::discovery::{
        DiscoveryOptions, DiscoveryTarget, ProbeOutcome, ServiceCandidate, ServiceProbe, UrlOrigin,
        discover_url_with,
    };
    use k8s_openapi::api::apps::v1::ReplicaSet;
    use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
    use k8s_openapi::api::batch::v1::Job;
    use k8s_openapi::api::core::v1::{Node as KubeNode, Pod, Service};
    use kube::Api;
    use kube::api::{DeleteParams, PostParams};
    use serde_json::json;

    const KUBECONFIG_VAR: &str = "GREENKUBE_TEST_KUBECONFIG";
    const URL_VAR: &str = "GREENKUBE_TEST_KUBE_URL";

    fn required(var: &str) -> String {
        match std::env::var(var) {
            Ok(value) if !value.trim().is_empty() => value.trim().to_owned(),
            _ => panic!(
                "{var} is not set, so the Kubernetes source cannot be tested against the kmock \
                 emulator. Run scripts/test.sh, or start the emulator yourself with \
                 `eval \"$(scripts/kmock-service.sh start)\"` before `cargo test`"
            ),
        }
    }

    /// A source for the emulator, through its kubeconfig (as a user would configure it).
    async fn emulator_source() -> KubernetesSource {
        let url = required(URL_VAR);
        let path = required(KUBECONFIG_VAR);
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{KUBECONFIG_VAR}={path} cannot be read: {e}"));
        assert!(
            text.contains(&url),
            "the kubeconfig {path} does not point to {URL_VAR}={url}"
        );
        KubernetesSource::from_kubeconfig(Some(std::path::Path::new(&path)))
            .await
            .expect("a client for the emulator")
            .with_options(test_options())
    }

    /// A name part no other test, in this process or another, uses.
    fn unique() -> String {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        format!(
            "{}-{nanos}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        )
    }

    /// Creates an object. kmock assigns no resourceVersion, so objects carry one.
    async fn create<K>(api: &Api<K>, value: serde_json::Value)
    where
        K: kube::Resource
            + Clone
            + serde::de::DeserializeOwned
            + serde::Serialize
            + std::fmt::Debug,
    {
        let object: K = serde_json::from_value(value).expect("a valid object");
        api.create(&PostParams::default(), &object)
            .await
            .expect("the emulator stores the object");
    }

    #[tokio::test]
    async fn inventory_from_the_emulator() {
        let source = emulator_source().await;
        let client = source.client().clone();
        let id = unique();
        let ns = format!("gk-{id}");
        let node_a = format!("gk-{id}-node-a");
        let node_b = format!("gk-{id}-node-b");

        let nodes: Api<KubeNode> = Api::all(client.clone());
        create(
            &nodes,
            json!({
                "apiVersion": "v1", "kind": "Node",
                "metadata": {"name": node_a, "resourceVersion": "1", "labels": {
                    "eks.amazonaws.com/nodegroup": "ng-1",
                    "node.kubernetes.io/instance-type": "m5.large",
                    "topology.kubernetes.io/region": "eu-west-3",
                    "topology.kubernetes.io/zone": "eu-west-3a"}},
                "spec": {"providerID": "aws:///eu-west-3a/i-0123456789abcdef0"},
                "status": {"capacity": {"cpu": "2", "memory": "7901580Ki", "pods": "29"},
                           "allocatable": {"cpu": "1930m", "memory": "7211404Ki"}}
            }),
        )
        .await;
        create(
            &nodes,
            json!({
                "apiVersion": "v1", "kind": "Node",
                "metadata": {"name": node_b, "resourceVersion": "1", "labels": {
                    "cloud.google.com/gke-nodepool": "default-pool",
                    "beta.kubernetes.io/instance-type": "e2-standard-4",
                    "failure-domain.beta.kubernetes.io/region": "us-central1",
                    "failure-domain.beta.kubernetes.io/zone": "us-central1-a"}},
                "spec": {"providerID": "gce://acme/us-central1-a/node-b"},
                "status": {"capacity": {"cpu": "4", "memory": "16Gi"}}
            }),
        )
        .await;

        let replica_sets: Api<ReplicaSet> = Api::namespaced(client.clone(), &ns);
        create(&replica_sets, json!({
            "apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": "web-api-7c9d8f6b5d", "namespace": ns, "resourceVersion": "1",
                "labels": {"pod-template-hash": "7c9d8f6b5d"},
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web-api", "uid": "d-1", "controller": true}]},
            "spec": {"selector": {"matchLabels": {"app": "web-api"}}}
        })).await;
        create(
            &replica_sets,
            json!({
                "apiVersion": "apps/v1", "kind": "ReplicaSet",
                "metadata": {"name": "legacy-rs", "namespace": ns, "resourceVersion": "1"},
                "spec": {"selector": {"matchLabels": {"app": "legacy"}}}
            }),
        )
        .await;
        let jobs: Api<Job> = Api::namespaced(client.clone(), &ns);
        create(&jobs, json!({
            "apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": "report-28930200", "namespace": ns, "resourceVersion": "1",
                "ownerReferences": [{"apiVersion": "batch/v1", "kind": "CronJob", "name": "report", "uid": "c-1", "controller": true}]},
            "spec": {"template": {"spec": {"containers": [{"name": "report", "image": "report"}], "restartPolicy": "Never"}}}
        })).await;

        let pods: Api<Pod> = Api::namespaced(client.clone(), &ns);
        create(&pods, json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "web-api-7c9d8f6b5d-x2x7k", "namespace": ns, "resourceVersion": "1",
                "labels": {"app": "web-api", "pod-template-hash": "7c9d8f6b5d"},
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-api-7c9d8f6b5d", "uid": "rs-1", "controller": true}]},
            "spec": {"nodeName": node_a,
                "initContainers": [
                    {"name": "istio-proxy", "image": "istio/proxyv2", "restartPolicy": "Always", "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}}},
                    {"name": "migrate", "image": "migrate", "resources": {"requests": {"cpu": "1", "memory": "64Mi"}}}],
                "containers": [{"name": "app", "image": "web-api", "resources": {"requests": {"cpu": "250m", "memory": "256Mi"}}}]},
            "status": {"phase": "Running"}
        })).await;
        create(&pods, json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "report-28930200-k9f2m", "namespace": ns, "resourceVersion": "1",
                "ownerReferences": [{"apiVersion": "batch/v1", "kind": "Job", "name": "report-28930200", "uid": "j-1", "controller": true}]},
            "spec": {"nodeName": node_b, "containers": [{"name": "report", "image": "report", "resources": {"requests": {"cpu": "2", "memory": "1.5Gi"}}}]},
            "status": {"phase": "Running"}
        })).await;
        create(&pods, json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "report-28930140-zq8wd", "namespace": ns, "resourceVersion": "1",
                "ownerReferences": [{"apiVersion": "batch/v1", "kind": "Job", "name": "report-28930140", "uid": "j-0", "controller": true}]},
            "spec": {"nodeName": node_b, "containers": [{"name": "report", "image": "report", "resources": {"requests": {"cpu": "2"}}}]},
            "status": {"phase": "Succeeded"}
        })).await;
        create(&pods, json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "db-0", "namespace": ns, "resourceVersion": "1",
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "db", "uid": "s-1", "controller": true}]},
            "spec": {"containers": [{"name": "postgres", "image": "postgres", "resources": {"requests": {"cpu": "500m", "memory": "1Gi"}}}]},
            "status": {"phase": "Pending"}
        })).await;
        create(&pods, json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "legacy-rs-abcde", "namespace": ns, "resourceVersion": "1",
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "legacy-rs", "uid": "rs-2", "controller": true}]},
            "spec": {"nodeName": node_a, "containers": [{"name": "c", "image": "busybox"}]},
            "status": {"phase": "Running"}
        })).await;

        let hpas: Api<HorizontalPodAutoscaler> = Api::namespaced(client.clone(), &ns);
        create(&hpas, json!({
            "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "web-api", "namespace": ns, "resourceVersion": "1"},
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web-api"}, "minReplicas": 2, "maxReplicas": 10}
        })).await;

        let inventory = source
            .inventory()
            .await
            .expect("an inventory from the emulator");

        let ours: Vec<&Node> = inventory
            .nodes
            .iter()
            .filter(|n| n.name.starts_with(&format!("gk-{id}-")))
            .collect();
        let expected_a = Node {
            name: node_a.as_str().into(),
            provider: Some("aws".into()),
            instance_type: Some("m5.large".into()),
            region: Some("eu-west-3".into()),
            zone: Some("eu-west-3a".into()),
            cpu_capacity_cores: Some(Cores(2.0)),
            memory_capacity_bytes: Some(Bytes(8_091_217_920.0)),
            labels: Some(labels(&[
                ("eks.amazonaws.com/nodegroup", "ng-1"),
                ("node.kubernetes.io/instance-type", "m5.large"),
                ("topology.kubernetes.io/region", "eu-west-3"),
                ("topology.kubernetes.io/zone", "eu-west-3a"),
            ])),
        };
        let expected_b = Node {
            name: node_b.as_str().into(),
            provider: Some("gcp".into()),
            instance_type: Some("e2-standard-4".into()),
            region: Some("us-central1".into()),
            zone: Some("us-central1-a".into()),
            cpu_capacity_cores: Some(Cores(4.0)),
            memory_capacity_bytes: Some(Bytes(17_179_869_184.0)),
            labels: Some(labels(&[
                ("beta.kubernetes.io/instance-type", "e2-standard-4"),
                ("cloud.google.com/gke-nodepool", "default-pool"),
                ("failure-domain.beta.kubernetes.io/region", "us-central1"),
                ("failure-domain.beta.kubernetes.io/zone", "us-central1-a"),
            ])),
        };
        assert_eq!(ours, vec![&expected_a, &expected_b]);

        let ours: Vec<&PodSpec> = inventory
            .pods
            .iter()
            .filter(|p| *p.namespace == *ns)
            .collect();
        let expected = [
            pod_spec(
                &ns,
                "db-0",
                None,
                Some(("StatefulSet", "db")),
                Some(0.5),
                Some(GI),
            ),
            pod_spec(
                &ns,
                "legacy-rs-abcde",
                Some(&node_a),
                Some(("ReplicaSet", "legacy-rs")),
                None,
                None,
            ),
            pod_spec(
                &ns,
                "report-28930200-k9f2m",
                Some(&node_b),
                Some(("CronJob", "report")),
                Some(2.0),
                Some(1.5 * GI),
            ),
            pod_spec(
                &ns,
                "web-api-7c9d8f6b5d-x2x7k",
                Some(&node_a),
                Some(("Deployment", "web-api")),
                Some(1.1),
                Some(384.0 * MI),
            ),
        ];
        let mut expected = expected;
        label(
            &mut expected,
            "web-api-7c9d8f6b5d-x2x7k",
            &[("app", "web-api"), ("pod-template-hash", "7c9d8f6b5d")],
        );
        assert_eq!(ours, expected.iter().collect::<Vec<_>>());

        let ours: Vec<&HpaTarget> = inventory
            .hpas
            .iter()
            .filter(|h| h.namespace == ns)
            .collect();
        assert_eq!(
            ours,
            vec![&HpaTarget {
                namespace: ns.clone(),
                target_kind: "Deployment".into(),
                target_name: "web-api".into(),
            }]
        );
    }

    /// A probe that answers for one service only and records what it was asked.
    #[derive(Debug)]
    struct OnlyThis {
        namespace: String,
        name: String,
        asked: std::sync::Mutex<Vec<(String, String)>>,
    }

    #[async_trait]
    impl ServiceProbe for OnlyThis {
        async fn probe(&self, _: DiscoveryTarget, candidate: &ServiceCandidate) -> ProbeOutcome {
            self.asked
                .lock()
                .expect("not poisoned")
                .push((candidate.namespace.clone(), candidate.name.clone()));
            if candidate.namespace == self.namespace && candidate.name == self.name {
                ProbeOutcome::Answers
            } else {
                ProbeOutcome::DoesNotAnswer
            }
        }
    }

    #[tokio::test]
    async fn discovery_lists_the_emulators_services() {
        let source = emulator_source().await;
        let client = source.client().clone();
        let id = unique();
        let ns = format!("opencost-{id}");
        let services: Api<Service> = Api::namespaced(client.clone(), &ns);
        for (name, port, port_name) in [("opencost", 9003, "http"), ("opencost-ui", 9090, "ui")] {
            create(&services, json!({
                "apiVersion": "v1", "kind": "Service",
                "metadata": {"name": name, "namespace": ns, "resourceVersion": "1",
                    "labels": {"app.kubernetes.io/name": "opencost"}},
                "spec": {"type": "ClusterIP", "ports": [{"name": port_name, "port": port, "protocol": "TCP"}]}
            }))
            .await;
        }
        let probe = Arc::new(OnlyThis {
            namespace: ns.clone(),
            name: "opencost".to_owned(),
            asked: std::sync::Mutex::new(Vec::new()),
        });
        let options = DiscoveryOptions {
            require_resolvable: false,
            // Other runs may have left services in a shared emulator: probe them all.
            max_probes: 1000,
            ..DiscoveryOptions::default()
        };
        let found = discover_url_with(
            DiscoveryTarget::Opencost,
            None,
            Some(&client),
            &options,
            Some(probe.as_ref()),
        )
        .await;
        for name in ["opencost", "opencost-ui"] {
            let _ = services.delete(name, &DeleteParams::default()).await;
        }
        let found = found.expect("our opencost service");
        assert_eq!(
            found.url,
            format!("http://opencost.{ns}.svc.cluster.local:9003")
        );
        assert_eq!(
            found.origin,
            UrlOrigin::Discovered {
                namespace: ns.clone(),
                service: "opencost".to_owned(),
                verified: true,
            }
        );
        // Ours scored 10 + 5 + 6 + 7 + 10 = 38 and the UI's 10 + 5 + 6 = 21: the UI service was
        // never probed.
        let asked = probe.asked.lock().expect("not poisoned").clone();
        assert!(
            asked.contains(&(ns.clone(), "opencost".to_owned())),
            "{asked:?}"
        );
        assert!(
            !asked.contains(&(ns.clone(), "opencost-ui".to_owned())),
            "{asked:?}"
        );
    }
}

#[tokio::test]
async fn an_api_server_that_is_gone_is_unreachable() {
    // A port nothing listens on any more.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    let port = listener.local_addr().expect("an address").port();
    drop(listener);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("kubeconfig");
    std::fs::write(
        &path,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: gone\n  cluster:\n    server: http://127.0.0.1:{port}\n\
             users:\n- name: u\n  user:\n    token: t\ncontexts:\n- name: c\n  context:\n    cluster: gone\n    user: u\n\
             current-context: c\n"
        ),
    )
    .expect("a kubeconfig");
    let source = KubernetesSource::from_kubeconfig(Some(&path))
        .await
        .expect("a client")
        .with_options(KubernetesOptions {
            attempts: 2,
            ..test_options()
        });
    let err = source.inventory().await.expect_err("nothing listens");
    assert_eq!(err.source_kind, SourceKind::Kubernetes);
    assert_eq!(err.kind, SourceErrorKind::Unreachable);
    assert!(
        err.message.ends_with("(after 2 attempts)"),
        "{}",
        err.message
    );

    let err = KubernetesSource::from_kubeconfig(Some(&dir.path().join("missing")))
        .await
        .expect_err("no such file");
    assert_eq!(err.kind, SourceErrorKind::NotConfigured);
    assert!(
        err.message.starts_with("cannot read the kubeconfig "),
        "{}",
        err.message
    );
}

/// A kubeconfig that cannot be read is named, with what went wrong and where, but nothing of
/// what it holds (tokens, passwords, hosts) is echoed.
#[tokio::test]
async fn a_bad_kubeconfig_is_named_without_its_content() {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in [
        (
            "type.yaml",
            "apiVersion: v1\nkind: Config\nusers: \"token: PLANTED-SECRET-1\"\n",
        ),
        (
            "syntax.yaml",
            "apiVersion: v1\nkind: Config\nusers:\n- name: u\n  user: {token: PLANTED-SECRET-2, extra: [1, 2}\n",
        ),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        let err = KubernetesSource::from_kubeconfig(Some(&path))
            .await
            .expect_err("not a usable kubeconfig");
        assert!(err.message.contains(name), "{name}: {err}");
        assert!(
            !err.message.contains("PLANTED"),
            "{name} echoes the file: {err}"
        );
    }
}

/// The answers of an API server are bounded: in bytes (one answer) and in objects (one list,
/// all pages together). A stub API server (wiremock) behind a kubeconfig, as a user configures
/// it, so the limit of the client `from_kubeconfig_with` builds is what is tested.
mod limits {
    use super::*;
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

    fn kubeconfig(dir: &tempfile::TempDir, server: &MockServer) -> std::path::PathBuf {
        let path = dir.path().join("kubeconfig");
        let text = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: stub\n  cluster:\n    server: {}\n\
             users:\n- name: nobody\n  user: {{}}\ncontexts:\n- name: stub\n  context:\n    \
             cluster: stub\n    user: nobody\ncurrent-context: stub\n",
            server.uri()
        );
        std::fs::write(&path, text).expect("kubeconfig written");
        path
    }

    fn node(name: &str) -> serde_json::Value {
        serde_json::json!({"metadata": {"name": name}, "status": {"capacity": {"cpu": "4"}}})
    }

    /// A list of nodes, each page with a fresh `continue` token, for ever.
    struct EndlessPages;

    impl Respond for EndlessPages {
        fn respond(&self, request: &Request) -> ResponseTemplate {
            let page = request
                .url
                .query_pairs()
                .find(|(k, _)| k == "continue")
                .map_or(0, |(_, v)| v.parse::<u32>().expect("our token"));
            let items: Vec<_> = (0..3).map(|i| node(&format!("n{page}-{i}"))).collect();
            ResponseTemplate::new(200).set_body_json(serde_json::json!({
                "apiVersion": "v1", "kind": "NodeList",
                "metadata": {"continue": (page + 1).to_string()},
                "items": items,
            }))
        }
    }

    #[tokio::test]
    async fn a_list_that_never_ends_is_refused_at_the_object_limit() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/api/v1/nodes"))
            .respond_with(EndlessPages)
            .mount(&server)
            .await;
        let dir = tempfile::TempDir::new().expect("temp dir");
        let options = KubernetesOptions {
            max_objects: 10,
            ..test_options()
        };
        let source =
            KubernetesSource::from_kubeconfig_with(Some(&kubeconfig(&dir, &server)), options)
                .await
                .expect("a client");
        let err = source.nodes().await.expect_err("refused");
        assert_eq!(err.source_kind, SourceKind::Kubernetes);
        assert_eq!(err.kind, SourceErrorKind::BadResponse);
        assert!(
            err.message
                .contains("more than 10 objects (the limit) after 4 pages"),
            "{}",
            err.message
        );
        // Exactly the pages needed to pass the limit were asked for, no more.
        assert_eq!(server.received_requests().await.expect("recorded").len(), 4);
    }

    #[tokio::test]
    async fn an_answer_larger_than_the_limit_is_refused_without_reading_it_all() {
        let server = MockServer::start().await;
        // 4 MiB of nodes: far past a 64 KiB limit.
        let items: Vec<_> = (0..40_000).map(|i| node(&format!("node-{i:06}"))).collect();
        let body = serde_json::json!({
            "apiVersion": "v1", "kind": "NodeList", "metadata": {}, "items": items,
        });
        Mock::given(method("GET"))
            .and(path("/api/v1/nodes"))
            .respond_with(ResponseTemplate::new(200).set_body_json(body))
            .mount(&server)
            .await;
        let dir = tempfile::TempDir::new().expect("temp dir");
        let limited = KubernetesOptions {
            max_answer_bytes: 64 * 1024,
            ..test_options()
        };
        let path = kubeconfig(&dir, &server);
        let source = KubernetesSource::from_kubeconfig_with(Some(&path), limited)
            .await
            .expect("a client");
        let err = source.nodes().await.expect_err("refused");
        assert_eq!(err.source_kind, SourceKind::Kubernetes);
        assert_eq!(err.kind, SourceErrorKind::BadResponse);
        assert_eq!(
            err.message,
            "listing nodes: the answer is larger than 65536 bytes (the limit); it was refused there"
        );
        // Not retried: the same answer would be refused again.
        assert_eq!(server.received_requests().await.expect("recorded").len(), 1);
        // With the default limit the same answer is read whole.
        let unlimited = KubernetesOptions {
            attempts: 1,
            ..test_options()
        };
        let source = KubernetesSource::from_kubeconfig_with(Some(&path), unlimited)
            .await
            .expect("a client");
        assert_eq!(source.nodes().await.expect("read").len(), 40_000);
    }
}
