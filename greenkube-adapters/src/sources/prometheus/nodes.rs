//! Nodes from the answer of the node query: instance type, region and zone from the well-known
//! labels of `kube_node_labels`, provider from `kube_node_info`'s `provider_id` or label
//! prefixes, capacities from `kube_node_status_capacity`.

use std::collections::BTreeMap;
use std::sync::Arc;

use greenkube_core::Node;
use greenkube_core::units::{Bytes, Cores};

use super::answer::{AllLabels, Series};
use crate::sources::node_labels::{provider_from_metric_labels, provider_from_provider_id};
use crate::sources::promql;

/// What the node query said about one node.
#[derive(Debug, Default)]
struct NodeFacts {
    /// `label_*` labels of `kube_node_labels`, first value seen.
    labels: BTreeMap<Arc<str>, Arc<str>>,
    provider_id: Option<Arc<str>>,
    cpu: Option<f64>,
    memory: Option<f64>,
}

const INSTANCE_TYPE_LABELS: [&str; 2] = [
    "label_node_kubernetes_io_instance_type",
    "label_beta_kubernetes_io_instance_type",
];
const REGION_LABELS: [&str; 2] = [
    "label_topology_kubernetes_io_region",
    "label_failure_domain_beta_kubernetes_io_region",
];
const ZONE_LABELS: [&str; 2] = [
    "label_topology_kubernetes_io_zone",
    "label_failure_domain_beta_kubernetes_io_zone",
];
pub(super) fn nodes_from(series: Vec<Series<AllLabels>>) -> Result<Vec<Node>, String> {
    let mut facts: BTreeMap<Arc<str>, NodeFacts> = BTreeMap::new();
    for s in series {
        let labels = s.labels.0;
        let get = |name: &str| {
            labels
                .iter()
                .find(|(k, _)| &**k == name)
                .map(|(_, v)| v.clone())
        };
        let (Some(metric), Some(node)) = (get("__name__"), get("node")) else {
            continue;
        };
        let value = s.samples.first().map(|sample| sample.value);
        let entry = facts.entry(node.clone()).or_default();
        let capacity = |what: &str| -> Result<Option<f64>, String> {
            match value {
                Some(v) if v.is_finite() && v > 0.0 => Ok(Some(v)),
                Some(v) => Err(format!(
                    "the {what} capacity of node {node} is {v}, not a positive number"
                )),
                None => Ok(None),
            }
        };
        match &*metric {
            promql::NODE_LABELS_METRIC => {
                for (k, v) in &labels {
                    if k.starts_with("label_") && !v.is_empty() {
                        entry.labels.entry(k.clone()).or_insert_with(|| v.clone());
                    }
                }
            }
            promql::NODE_INFO_METRIC if entry.provider_id.is_none() => {
                entry.provider_id = get("provider_id").filter(|p| !p.is_empty());
            }
            promql::NODE_CAPACITY_METRIC => match get("resource").as_deref() {
                Some("cpu") => entry.cpu = entry.cpu.or(capacity("CPU")?),
                Some("memory") => entry.memory = entry.memory.or(capacity("memory")?),
                _ => {}
            },
            promql::NODE_CAPACITY_CPU_V1_METRIC => entry.cpu = entry.cpu.or(capacity("CPU")?),
            promql::NODE_CAPACITY_MEMORY_V1_METRIC => {
                entry.memory = entry.memory.or(capacity("memory")?);
            }
            _ => {}
        }
    }
    Ok(facts
        .into_iter()
        .map(|(name, facts)| {
            let first = |names: &[&str]| names.iter().find_map(|n| facts.labels.get(*n).cloned());
            let provider = facts
                .provider_id
                .as_deref()
                .and_then(provider_from_provider_id)
                .or_else(|| provider_from_metric_labels(facts.labels.keys().map(|k| &**k)))
                .map(Arc::from);
            Node {
                name,
                provider,
                instance_type: first(&INSTANCE_TYPE_LABELS),
                region: first(&REGION_LABELS),
                zone: first(&ZONE_LABELS),
                cpu_capacity_cores: facts.cpu.map(Cores),
                memory_capacity_bytes: facts.memory.map(Bytes),
                labels: None,
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::super::answer::QueryData;
    use super::super::test_support::parse;
    use super::*;

    #[test]
    fn nodes_come_from_labels_info_and_capacity() {
        let data: QueryData<AllLabels> = parse(
            r#"{"status":"success","data":{"resultType":"vector","result":[
              {"metric":{"__name__":"kube_node_labels","node":"a","label_beta_kubernetes_io_instance_type":"old","label_node_kubernetes_io_instance_type":"m5.large","label_failure_domain_beta_kubernetes_io_zone":"z-old","label_topology_kubernetes_io_zone":"eu-west-3a","label_cloud_google_com_gke_nodepool":"p"},"value":[1,"1"]},
              {"metric":{"__name__":"kube_node_info","node":"a","provider_id":"aws:///eu-west-3a/i-1"},"value":[1,"1"]},
              {"metric":{"__name__":"kube_node_status_capacity","node":"a","resource":"cpu","unit":"core"},"value":[1,"2"]},
              {"metric":{"__name__":"kube_node_status_capacity","node":"a","resource":"pods"},"value":[1,"110"]},
              {"metric":{"__name__":"kube_node_labels","node":"b","label_kubernetes_azure_com_agentpool":"x","label_failure_domain_beta_kubernetes_io_region":"westeurope"},"value":[1,"1"]},
              {"metric":{"__name__":"kube_node_status_capacity_memory_bytes","node":"b"},"value":[1,"1024"]},
              {"metric":{"__name__":"kube_node_labels"},"value":[1,"1"]}
            ]}}"#,
        );
        let nodes = nodes_from(data.series).expect("nodes");
        assert_eq!(
            nodes,
            vec![
                Node {
                    name: "a".into(),
                    provider: Some("aws".into()),
                    instance_type: Some("m5.large".into()),
                    region: None,
                    zone: Some("eu-west-3a".into()),
                    cpu_capacity_cores: Some(Cores(2.0)),
                    memory_capacity_bytes: None,
                    labels: None,
                },
                Node {
                    name: "b".into(),
                    provider: Some("azure".into()),
                    instance_type: None,
                    region: Some("westeurope".into()),
                    zone: None,
                    cpu_capacity_cores: None,
                    memory_capacity_bytes: Some(Bytes(1024.0)),
                    labels: None,
                },
            ]
        );
    }

    #[test]
    fn bad_capacities_are_errors() {
        let data: QueryData<AllLabels> = parse(
            r#"{"status":"success","data":{"resultType":"vector","result":[
              {"metric":{"__name__":"kube_node_status_capacity_cpu_cores","node":"a"},"value":[1,"NaN"]}
            ]}}"#,
        );
        assert_eq!(
            nodes_from(data.series).expect_err("NaN capacity"),
            "the CPU capacity of node a is NaN, not a positive number"
        );
    }

    #[test]
    fn providers_come_from_provider_ids_and_own_labels_only() {
        assert_eq!(
            provider_from_provider_id("aws:///eu-west-3a/i-1"),
            Some("aws")
        );
        assert_eq!(
            provider_from_provider_id("gce://p/europe-west1-b/n"),
            Some("gcp")
        );
        assert_eq!(
            provider_from_provider_id("azure:///subscriptions/x"),
            Some("azure")
        );
        assert_eq!(
            provider_from_provider_id("scaleway://instance/fr-par-1/x"),
            Some("scaleway")
        );
        assert_eq!(provider_from_provider_id("openstack:///x"), None);
        assert_eq!(provider_from_provider_id("kind://docker/kind/n"), None);
        assert_eq!(provider_from_provider_id("no scheme"), None);
        let labels: BTreeMap<Arc<str>, Arc<str>> = [
            (
                "label_topology_kubernetes_io_region".into(),
                "us-east-1".into(),
            ),
            (
                "label_node_kubernetes_io_instance_type".into(),
                "n2-standard-4".into(),
            ),
        ]
        .into_iter()
        .collect();
        assert_eq!(
            provider_from_metric_labels(labels.keys().map(|k| &**k)),
            None,
            "no provider guessed from a region name (GreenKube's GKE-as-AWS bug)"
        );
        let labels: BTreeMap<Arc<str>, Arc<str>> =
            [("label_k8s_ovh_net_nodepool".into(), "p".into())]
                .into_iter()
                .collect();
        assert_eq!(
            provider_from_metric_labels(labels.keys().map(|k| &**k)),
            Some("ovh")
        );
    }
}
