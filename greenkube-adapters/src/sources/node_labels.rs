//! What a node's labels and `spec.providerID` say about where it runs: cloud provider, region,
//! zone and instance type. Pure functions, no Kubernetes client.
//!
//! **Provider.** `spec.providerID` decides when its scheme names a cloud (`aws://`, `gce://`,
//! `azure://`, `ovhcloud://`, `scaleway://`, ...): the cloud controller manager writes it and
//! nothing else does. Otherwise (no providerID, or a generic one such as `openstack://`, which OVHcloud's
//! managed Kubernetes uses, or `kind://`, `k3s://`), labels that only one provider's tooling sets
//! decide: `eks.amazonaws.com/*`, `karpenter.k8s.aws/*` (AWS), `cloud.google.com/*`,
//! `topology.gke.io/*` (GCP), `kubernetes.azure.com/*` (Azure), `k8s.ovh.net/*`, `node.k8s.ovh/*`
//! (OVHcloud), `k8s.scaleway.com/*` (Scaleway). Neither → no provider (kind, minikube, k3s, bare
//! metal).
//!
//! Unlike GreenKube 0.2, a region name is never evidence of a provider: GKE nodes in `us-*` regions
//! carry the same generic `node.kubernetes.io/instance-type` label as EKS nodes, and the original's
//! "instance-type label + region starting with `us-`" rule called them AWS
//! (greenkube-reference.md §13 item 6).
//!
//! **Region and zone.** `topology.kubernetes.io/region|zone`, then the deprecated
//! `failure-domain.beta.kubernetes.io/region|zone`; when neither is set, the zone written in the
//! providerID of AWS (`aws:///eu-west-3a/i-...`), GCP (`gce://project/europe-west9-a/name`) and
//! Scaleway (`scaleway://instance/fr-par-1/id`), with the region derived from it. On Azure a zone
//! made of digits only (`"0"`, `"1"`) is a fault domain of a node pool without availability zones,
//! not a zone, and is dropped. Empty label values count as absent.
//!
//! **Instance type.** `node.kubernetes.io/instance-type`, then `beta.kubernetes.io/instance-type`,
//! as Kubernetes reports it; nothing is invented (no `cpu-N` placeholder): a node without the label
//! has no instance type, and the engine falls back on its capacity.

use std::collections::BTreeMap;

/// Label of the instance type (GA since Kubernetes 1.17).
pub const INSTANCE_TYPE: &str = "node.kubernetes.io/instance-type";
/// Deprecated label of the instance type.
pub const INSTANCE_TYPE_BETA: &str = "beta.kubernetes.io/instance-type";
/// Label of the region.
pub const REGION: &str = "topology.kubernetes.io/region";
/// Deprecated label of the region.
pub const REGION_BETA: &str = "failure-domain.beta.kubernetes.io/region";
/// Label of the zone.
pub const ZONE: &str = "topology.kubernetes.io/zone";
/// Deprecated label of the zone.
pub const ZONE_BETA: &str = "failure-domain.beta.kubernetes.io/zone";

/// Provider names, as the snapshot contract spells them.
pub mod provider {
    /// Amazon Web Services.
    pub const AWS: &str = "aws";
    /// Google Cloud.
    pub const GCP: &str = "gcp";
    /// Microsoft Azure.
    pub const AZURE: &str = "azure";
    /// OVHcloud.
    pub const OVH: &str = "ovh";
    /// Scaleway.
    pub const SCALEWAY: &str = "scaleway";
}

/// Where a node runs, as far as its labels and providerID tell.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NodePlacement {
    /// Cloud provider (`aws`, `gcp`, `azure`, `ovh`, `scaleway`, or another cloud's name such as
    /// `digitalocean`), `None` when nothing identifies one.
    pub provider: Option<&'static str>,
    /// Region (`eu-west-3`, `europe-west9`, `westeurope`, `GRA7`, `fr-par`).
    pub region: Option<String>,
    /// Zone (`eu-west-3a`, `europe-west9-a`, `westeurope-1`, `fr-par-1`).
    pub zone: Option<String>,
    /// Instance type as Kubernetes reports it (`m5.large`, `e2-standard-4`, `Standard_D4s_v5`).
    pub instance_type: Option<String>,
}

/// Provider, region, zone and instance type of a node.
pub fn node_placement(
    labels: &BTreeMap<String, String>,
    provider_id: Option<&str>,
) -> NodePlacement {
    let provider_id = provider_id.map(str::trim).filter(|id| !id.is_empty());
    let provider = provider_id
        .and_then(provider_from_provider_id)
        .or_else(|| provider_from_labels(labels));
    let instance_type = label(labels, INSTANCE_TYPE)
        .or_else(|| label(labels, INSTANCE_TYPE_BETA))
        .map(str::to_owned);
    let mut zone = label(labels, ZONE)
        .or_else(|| label(labels, ZONE_BETA))
        .map(str::to_owned);
    let mut region = label(labels, REGION)
        .or_else(|| label(labels, REGION_BETA))
        .map(str::to_owned);
    if provider == Some(provider::AZURE)
        && zone
            .as_deref()
            .is_some_and(|z| z.bytes().all(|b| b.is_ascii_digit()))
    {
        zone = None;
    }
    if zone.is_none()
        && let Some(id) = provider_id
        && let Some((id_zone, id_region)) = zone_from_provider_id(id)
    {
        zone = Some(id_zone.to_owned());
        if region.is_none() {
            region = id_region;
        }
    }
    NodePlacement {
        provider,
        region,
        zone,
        instance_type,
    }
}

/// A label's value, `None` when absent or blank.
fn label<'a>(labels: &'a BTreeMap<String, String>, key: &str) -> Option<&'a str> {
    labels.get(key).map(|v| v.trim()).filter(|v| !v.is_empty())
}

/// The provider a `spec.providerID` names, `None` for generic or local schemes (`openstack`,
/// `vsphere`, `kind`, `k3s`, ...) and for text without a scheme.
pub fn provider_from_provider_id(provider_id: &str) -> Option<&'static str> {
    let (scheme, _) = provider_id.trim().split_once("://")?;
    let name = match scheme.to_ascii_lowercase().as_str() {
        "aws" => provider::AWS,
        "gce" | "gcp" => provider::GCP,
        "azure" => provider::AZURE,
        "ovhcloud" | "ovh" => provider::OVH,
        "scaleway" => provider::SCALEWAY,
        "digitalocean" => "digitalocean",
        "linode" => "linode",
        "hcloud" => "hetzner",
        "oci" => "oracle",
        "ibm" => "ibm",
        "alicloud" => "alibaba",
        "exoscale" => "exoscale",
        _ => return None,
    };
    Some(name)
}

/// Label prefixes (or whole keys) that only one provider's tooling sets, in the order they are
/// tried.
const PROVIDER_LABELS: &[(&str, &str)] = &[
    ("eks.amazonaws.com/", provider::AWS),
    ("karpenter.k8s.aws/", provider::AWS),
    ("alpha.eksctl.io/", provider::AWS),
    ("k8s.io/cloud-provider-aws", provider::AWS),
    ("cloud.google.com/", provider::GCP),
    ("topology.gke.io/", provider::GCP),
    ("kubernetes.azure.com/", provider::AZURE),
    ("k8s.ovh.net/", provider::OVH),
    ("node.k8s.ovh/", provider::OVH),
    ("k8s.scaleway.com/", provider::SCALEWAY),
];

/// The provider a node's labels identify, `None` when no provider-specific label is present.
pub fn provider_from_labels(labels: &BTreeMap<String, String>) -> Option<&'static str> {
    PROVIDER_LABELS.iter().find_map(|&(prefix, name)| {
        labels
            .keys()
            .any(|key| key.starts_with(prefix))
            .then_some(name)
    })
}

/// A label key as kube-state-metrics exports it in `kube_node_labels`: `label_` and the key with
/// every character that is not an ASCII letter, digit or `_` replaced by `_`
/// (`eks.amazonaws.com/nodegroup` → `label_eks_amazonaws_com_nodegroup`).
pub fn metric_label_name(key: &str) -> String {
    let mut name = String::with_capacity(key.len() + 6);
    name.push_str("label_");
    name.extend(key.chars().map(|c| {
        if c.is_ascii_alphanumeric() || c == '_' {
            c
        } else {
            '_'
        }
    }));
    name
}

/// [`provider_from_labels`] for label names as kube-state-metrics exports them (see
/// [`metric_label_name`]): the same prefixes, in the same order.
pub fn provider_from_metric_labels<'a, I>(names: I) -> Option<&'static str>
where
    I: IntoIterator<Item = &'a str>,
    I::IntoIter: Clone,
{
    let names = names.into_iter();
    PROVIDER_LABELS.iter().find_map(|&(prefix, name)| {
        let prefix = metric_label_name(prefix);
        names
            .clone()
            .any(|n| n.starts_with(&prefix))
            .then_some(name)
    })
}

/// The zone written in a providerID, with the region it belongs to when that follows from the
/// zone's form.
fn zone_from_provider_id(provider_id: &str) -> Option<(&str, Option<String>)> {
    let (scheme, rest) = provider_id.split_once("://")?;
    let parts: Vec<&str> = rest.split('/').filter(|p| !p.is_empty()).collect();
    match scheme.to_ascii_lowercase().as_str() {
        // aws:///eu-west-3a/i-0123 (and Fargate: aws:///eu-west-1c/<id>/fargate-ip-...)
        "aws" => {
            let zone = *parts.first()?;
            let region = aws_region_of_zone(zone)?;
            Some((zone, Some(region.to_owned())))
        }
        // gce://project/europe-west9-a/instance
        "gce" => {
            let zone = *parts.get(1)?;
            let (region, letter) = zone.rsplit_once('-')?;
            let ok = letter.len() == 1
                && letter.bytes().all(|b| b.is_ascii_lowercase())
                && region.ends_with(|c: char| c.is_ascii_digit());
            ok.then(|| (zone, Some(region.to_owned())))
        }
        // scaleway://instance/fr-par-1/<uuid>
        "scaleway" => parts.iter().find_map(|&part| {
            let (region, number) = part.rsplit_once('-')?;
            let ok = !number.is_empty()
                && number.bytes().all(|b| b.is_ascii_digit())
                && region.len() == 6
                && region.as_bytes()[2] == b'-'
                && region
                    .bytes()
                    .filter(|&b| b != b'-')
                    .all(|b| b.is_ascii_lowercase());
            ok.then(|| (part, Some(region.to_owned())))
        }),
        _ => None,
    }
}

/// `eu-west-3` from `eu-west-3a`; `None` when the text is not an AWS availability zone name.
fn aws_region_of_zone(zone: &str) -> Option<&str> {
    let region = zone.strip_suffix(|c: char| c.is_ascii_lowercase())?;
    let mut parts = region.split('-');
    let geo = parts.next()?;
    let number = region.rsplit('-').next()?;
    let ok = geo.len() == 2
        && geo.bytes().all(|b| b.is_ascii_lowercase())
        && region.matches('-').count() >= 2
        && !number.is_empty()
        && number.bytes().all(|b| b.is_ascii_digit());
    ok.then_some(region)
}

#[cfg(test)]
mod tests {

    #[test]
    fn metric_label_names_find_the_same_provider_as_labels() {
        assert_eq!(
            metric_label_name("eks.amazonaws.com/nodegroup"),
            "label_eks_amazonaws_com_nodegroup"
        );
        for &(prefix, provider) in PROVIDER_LABELS {
            let key = format!("{prefix}x");
            let labels: BTreeMap<String, String> = [(key.clone(), "v".to_string())].into();
            assert_eq!(provider_from_labels(&labels), Some(provider), "{key}");
            let name = metric_label_name(&key);
            assert_eq!(
                provider_from_metric_labels([name.as_str()]),
                Some(provider),
                "{name}"
            );
        }
        assert_eq!(
            provider_from_metric_labels(["label_topology_kubernetes_io_region"]),
            None
        );
    }

    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|&(k, v)| (k.to_owned(), v.to_owned()))
            .collect()
    }

    struct Case {
        what: &'static str,
        labels: &'static [(&'static str, &'static str)],
        provider_id: Option<&'static str>,
        expected: (
            Option<&'static str>,
            Option<&'static str>,
            Option<&'static str>,
            Option<&'static str>,
        ),
    }

    // Label sets as `kubectl get node -o json` shows them on each platform.
    const EKS: &[(&str, &str)] = &[
        ("beta.kubernetes.io/arch", "amd64"),
        ("beta.kubernetes.io/instance-type", "m5.large"),
        ("beta.kubernetes.io/os", "linux"),
        ("eks.amazonaws.com/capacityType", "ON_DEMAND"),
        ("eks.amazonaws.com/nodegroup", "ng-general"),
        ("eks.amazonaws.com/nodegroup-image", "ami-0c2b8ca1dad447f8a"),
        (
            "eks.amazonaws.com/sourceLaunchTemplateId",
            "lt-0a1b2c3d4e5f67890",
        ),
        ("failure-domain.beta.kubernetes.io/region", "eu-west-3"),
        ("failure-domain.beta.kubernetes.io/zone", "eu-west-3a"),
        (
            "k8s.io/cloud-provider-aws",
            "3f2c8e1c0a7b9d6e5f4a3b2c1d0e9f8a",
        ),
        ("kubernetes.io/arch", "amd64"),
        (
            "kubernetes.io/hostname",
            "ip-10-0-1-23.eu-west-3.compute.internal",
        ),
        ("kubernetes.io/os", "linux"),
        ("node.kubernetes.io/instance-type", "m5.large"),
        ("topology.ebs.csi.aws.com/zone", "eu-west-3a"),
        ("topology.kubernetes.io/region", "eu-west-3"),
        ("topology.kubernetes.io/zone", "eu-west-3a"),
    ];
    const GKE_US: &[(&str, &str)] = &[
        ("beta.kubernetes.io/arch", "amd64"),
        ("beta.kubernetes.io/instance-type", "e2-standard-4"),
        ("beta.kubernetes.io/os", "linux"),
        ("cloud.google.com/gke-boot-disk", "pd-balanced"),
        ("cloud.google.com/gke-container-runtime", "containerd"),
        ("cloud.google.com/gke-cpu-scaling-level", "4"),
        ("cloud.google.com/gke-logging-variant", "DEFAULT"),
        ("cloud.google.com/gke-max-pods-per-node", "110"),
        ("cloud.google.com/gke-nodepool", "default-pool"),
        ("cloud.google.com/gke-os-distribution", "cos"),
        ("cloud.google.com/gke-provisioning", "standard"),
        ("cloud.google.com/gke-stack-type", "IPV4"),
        ("cloud.google.com/machine-family", "e2"),
        ("cloud.google.com/private-node", "false"),
        ("failure-domain.beta.kubernetes.io/region", "us-central1"),
        ("failure-domain.beta.kubernetes.io/zone", "us-central1-a"),
        ("kubernetes.io/arch", "amd64"),
        (
            "kubernetes.io/hostname",
            "gke-prod-default-pool-1a2b3c4d-x7k2",
        ),
        ("kubernetes.io/os", "linux"),
        ("node.kubernetes.io/instance-type", "e2-standard-4"),
        ("node.kubernetes.io/masq-agent-ds-ready", "true"),
        ("topology.gke.io/zone", "us-central1-a"),
        ("topology.kubernetes.io/region", "us-central1"),
        ("topology.kubernetes.io/zone", "us-central1-a"),
    ];
    const AKS: &[(&str, &str)] = &[
        ("agentpool", "nodepool1"),
        ("beta.kubernetes.io/arch", "amd64"),
        ("beta.kubernetes.io/instance-type", "Standard_D4s_v5"),
        ("beta.kubernetes.io/os", "linux"),
        ("failure-domain.beta.kubernetes.io/region", "westeurope"),
        ("failure-domain.beta.kubernetes.io/zone", "westeurope-1"),
        ("kubernetes.azure.com/agentpool", "nodepool1"),
        (
            "kubernetes.azure.com/cluster",
            "MC_rg-prod_aks-prod_westeurope",
        ),
        (
            "kubernetes.azure.com/consolidated-additional-properties",
            "1a2b",
        ),
        (
            "kubernetes.azure.com/kubelet-identity-client-id",
            "00000000-0000-0000-0000-000000000000",
        ),
        ("kubernetes.azure.com/mode", "system"),
        (
            "kubernetes.azure.com/node-image-version",
            "AKSUbuntu-2204gen2containerd-202405.03.0",
        ),
        ("kubernetes.azure.com/os-sku", "Ubuntu"),
        ("kubernetes.azure.com/role", "agent"),
        ("kubernetes.io/arch", "amd64"),
        (
            "kubernetes.io/hostname",
            "aks-nodepool1-12345678-vmss000000",
        ),
        ("kubernetes.io/os", "linux"),
        ("kubernetes.io/role", "agent"),
        ("node-role.kubernetes.io/agent", ""),
        ("node.kubernetes.io/instance-type", "Standard_D4s_v5"),
        ("storageprofile", "managed"),
        ("storagetier", "Premium_LRS"),
        ("topology.disk.csi.azure.com/zone", "westeurope-1"),
        ("topology.kubernetes.io/region", "westeurope"),
        ("topology.kubernetes.io/zone", "westeurope-1"),
    ];
    // An AKS pool without availability zones: the "zone" is fault domain 0.
    const AKS_NO_ZONES: &[(&str, &str)] = &[
        ("agentpool", "pool2"),
        ("failure-domain.beta.kubernetes.io/region", "francecentral"),
        ("failure-domain.beta.kubernetes.io/zone", "0"),
        ("kubernetes.azure.com/agentpool", "pool2"),
        ("kubernetes.azure.com/mode", "user"),
        ("kubernetes.io/hostname", "aks-pool2-87654321-vmss000001"),
        ("node.kubernetes.io/instance-type", "Standard_B2s"),
        ("topology.kubernetes.io/region", "francecentral"),
        ("topology.kubernetes.io/zone", "0"),
    ];
    const OVH: &[(&str, &str)] = &[
        ("beta.kubernetes.io/arch", "amd64"),
        ("beta.kubernetes.io/instance-type", "b2-7"),
        ("beta.kubernetes.io/os", "linux"),
        ("failure-domain.beta.kubernetes.io/region", "GRA7"),
        ("failure-domain.beta.kubernetes.io/zone", "nova"),
        ("k8s.ovh.net/nodepool", "nodepool-b2-7"),
        ("k8s.ovh.net/nodepool-flavor", "b2-7"),
        ("kubernetes.io/arch", "amd64"),
        ("kubernetes.io/hostname", "nodepool-b2-7-node-1c2d3e"),
        ("kubernetes.io/os", "linux"),
        ("node.k8s.ovh/type", "standard"),
        ("node.kubernetes.io/instance-type", "b2-7"),
        ("nodepool", "nodepool-b2-7"),
        ("topology.cinder.csi.openstack.org/zone", "nova"),
        ("topology.kubernetes.io/region", "GRA7"),
        ("topology.kubernetes.io/zone", "nova"),
    ];
    const SCALEWAY: &[(&str, &str)] = &[
        ("beta.kubernetes.io/arch", "amd64"),
        ("beta.kubernetes.io/instance-type", "PRO2-XXS"),
        ("beta.kubernetes.io/os", "linux"),
        ("failure-domain.beta.kubernetes.io/region", "fr-par"),
        ("failure-domain.beta.kubernetes.io/zone", "fr-par-1"),
        (
            "k8s.scaleway.com/kapsule",
            "5a6b7c8d-1111-2222-3333-444455556666",
        ),
        ("k8s.scaleway.com/managed", "true"),
        (
            "k8s.scaleway.com/node",
            "9e8d7c6b-1111-2222-3333-444455556666",
        ),
        (
            "k8s.scaleway.com/pool",
            "0f1e2d3c-1111-2222-3333-444455556666",
        ),
        ("k8s.scaleway.com/pool-name", "default"),
        ("k8s.scaleway.com/runtime", "containerd"),
        ("kubernetes.io/arch", "amd64"),
        ("kubernetes.io/hostname", "scw-prod-default-9e8d7c6b1111"),
        ("kubernetes.io/os", "linux"),
        ("node.kubernetes.io/instance-type", "PRO2-XXS"),
        ("topology.csi.scaleway.com/zone", "fr-par-1"),
        ("topology.kubernetes.io/region", "fr-par"),
        ("topology.kubernetes.io/zone", "fr-par-1"),
    ];
    const KIND: &[(&str, &str)] = &[
        ("beta.kubernetes.io/arch", "amd64"),
        ("beta.kubernetes.io/os", "linux"),
        ("kubernetes.io/arch", "amd64"),
        ("kubernetes.io/hostname", "kind-control-plane"),
        ("kubernetes.io/os", "linux"),
        ("node-role.kubernetes.io/control-plane", ""),
        (
            "node.kubernetes.io/exclude-from-external-load-balancers",
            "",
        ),
    ];
    const MINIKUBE: &[(&str, &str)] = &[
        ("beta.kubernetes.io/arch", "amd64"),
        ("beta.kubernetes.io/os", "linux"),
        ("kubernetes.io/arch", "amd64"),
        ("kubernetes.io/hostname", "minikube"),
        ("kubernetes.io/os", "linux"),
        (
            "minikube.k8s.io/commit",
            "86fc9d54fca63f295d8737c8eacdbb7987e89c67",
        ),
        ("minikube.k8s.io/name", "minikube"),
        ("minikube.k8s.io/primary", "true"),
        ("minikube.k8s.io/updated_at", "2024_05_01T10_00_00_0700"),
        ("minikube.k8s.io/version", "v1.33.0"),
        ("node-role.kubernetes.io/control-plane", ""),
    ];
    const K3S: &[(&str, &str)] = &[
        ("beta.kubernetes.io/arch", "arm64"),
        ("beta.kubernetes.io/instance-type", "k3s"),
        ("beta.kubernetes.io/os", "linux"),
        ("kubernetes.io/arch", "arm64"),
        ("kubernetes.io/hostname", "pi-1"),
        ("kubernetes.io/os", "linux"),
        ("node-role.kubernetes.io/control-plane", "true"),
        ("node-role.kubernetes.io/master", "true"),
        ("node.kubernetes.io/instance-type", "k3s"),
    ];
    // An old cluster with only the deprecated labels.
    const LEGACY_BETA_ONLY: &[(&str, &str)] = &[
        ("beta.kubernetes.io/instance-type", "m4.xlarge"),
        ("failure-domain.beta.kubernetes.io/region", "us-east-1"),
        ("failure-domain.beta.kubernetes.io/zone", "us-east-1b"),
        ("kubernetes.io/hostname", "ip-172-20-33-10.ec2.internal"),
    ];

    const CASES: &[Case] = &[
        Case {
            what: "EKS",
            labels: EKS,
            provider_id: Some("aws:///eu-west-3a/i-0123456789abcdef0"),
            expected: (
                Some("aws"),
                Some("eu-west-3"),
                Some("eu-west-3a"),
                Some("m5.large"),
            ),
        },
        Case {
            what: "EKS labels, no providerID",
            labels: EKS,
            provider_id: None,
            expected: (
                Some("aws"),
                Some("eu-west-3"),
                Some("eu-west-3a"),
                Some("m5.large"),
            ),
        },
        Case {
            what: "GKE in a us- region is GCP, not AWS",
            labels: GKE_US,
            provider_id: Some("gce://acme-prod/us-central1-a/gke-prod-default-pool-1a2b3c4d-x7k2"),
            expected: (
                Some("gcp"),
                Some("us-central1"),
                Some("us-central1-a"),
                Some("e2-standard-4"),
            ),
        },
        Case {
            what: "GKE labels alone, us- region",
            labels: GKE_US,
            provider_id: None,
            expected: (
                Some("gcp"),
                Some("us-central1"),
                Some("us-central1-a"),
                Some("e2-standard-4"),
            ),
        },
        Case {
            what: "AKS",
            labels: AKS,
            provider_id: Some(
                "azure:///subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/mc_rg-prod_aks-prod_westeurope/providers/Microsoft.Compute/virtualMachineScaleSets/aks-nodepool1-12345678-vmss/virtualMachines/0",
            ),
            expected: (
                Some("azure"),
                Some("westeurope"),
                Some("westeurope-1"),
                Some("Standard_D4s_v5"),
            ),
        },
        Case {
            what: "AKS without availability zones: fault domain 0 is no zone",
            labels: AKS_NO_ZONES,
            provider_id: Some(
                "azure:///subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/mc_rg_aks_francecentral/providers/Microsoft.Compute/virtualMachineScaleSets/aks-pool2-87654321-vmss/virtualMachines/1",
            ),
            expected: (
                Some("azure"),
                Some("francecentral"),
                None,
                Some("Standard_B2s"),
            ),
        },
        Case {
            what: "OVHcloud MKS (OpenStack providerID, OVH labels)",
            labels: OVH,
            provider_id: Some("openstack:///1b2c3d4e-5f60-4a7b-8c9d-0e1f2a3b4c5d"),
            expected: (Some("ovh"), Some("GRA7"), Some("nova"), Some("b2-7")),
        },
        Case {
            what: "OVHcloud providerID scheme",
            labels: &[],
            provider_id: Some("ovhcloud://gra7/1b2c3d4e"),
            expected: (Some("ovh"), None, None, None),
        },
        Case {
            what: "Scaleway Kapsule",
            labels: SCALEWAY,
            provider_id: Some("scaleway://instance/fr-par-1/9e8d7c6b-1111-2222-3333-444455556666"),
            expected: (
                Some("scaleway"),
                Some("fr-par"),
                Some("fr-par-1"),
                Some("PRO2-XXS"),
            ),
        },
        Case {
            what: "kind",
            labels: KIND,
            provider_id: Some("kind://docker/kind/kind-control-plane"),
            expected: (None, None, None, None),
        },
        Case {
            what: "minikube",
            labels: MINIKUBE,
            provider_id: None,
            expected: (None, None, None, None),
        },
        Case {
            what: "k3s reports its own instance type and no provider",
            labels: K3S,
            provider_id: Some("k3s://pi-1"),
            expected: (None, None, None, Some("k3s")),
        },
        Case {
            what: "deprecated labels only",
            labels: LEGACY_BETA_ONLY,
            provider_id: Some("aws:///us-east-1b/i-0fedcba9876543210"),
            expected: (
                Some("aws"),
                Some("us-east-1"),
                Some("us-east-1b"),
                Some("m4.xlarge"),
            ),
        },
        Case {
            what: "zone and region from an AWS providerID",
            labels: &[("node.kubernetes.io/instance-type", "c6i.2xlarge")],
            provider_id: Some("aws:///ap-southeast-2c/i-0a1b2c3d4e5f60718"),
            expected: (
                Some("aws"),
                Some("ap-southeast-2"),
                Some("ap-southeast-2c"),
                Some("c6i.2xlarge"),
            ),
        },
        Case {
            what: "zone and region from a GCE providerID",
            labels: &[],
            provider_id: Some("gce://acme/europe-west9-b/gke-a-b-c"),
            expected: (
                Some("gcp"),
                Some("europe-west9"),
                Some("europe-west9-b"),
                None,
            ),
        },
        Case {
            what: "zone and region from a Scaleway providerID",
            labels: &[],
            provider_id: Some("scaleway://instance/nl-ams-2/11111111-2222-3333-4444-555555555555"),
            expected: (Some("scaleway"), Some("nl-ams"), Some("nl-ams-2"), None),
        },
        Case {
            what: "a region label wins over the providerID's",
            labels: &[("topology.kubernetes.io/region", "eu-west-1")],
            provider_id: Some("aws:///eu-west-1c/i-0123"),
            expected: (Some("aws"), Some("eu-west-1"), Some("eu-west-1c"), None),
        },
        Case {
            what: "blank labels count as absent",
            labels: &[
                ("node.kubernetes.io/instance-type", " "),
                ("beta.kubernetes.io/instance-type", "t3.medium"),
                ("topology.kubernetes.io/zone", ""),
                ("failure-domain.beta.kubernetes.io/zone", "us-west-2a"),
            ],
            provider_id: Some(""),
            expected: (None, None, Some("us-west-2a"), Some("t3.medium")),
        },
        Case {
            what: "the providerID wins over labels",
            labels: &[("cloud.google.com/gke-nodepool", "pool")],
            provider_id: Some("aws:///eu-west-3a/i-1"),
            expected: (Some("aws"), Some("eu-west-3"), Some("eu-west-3a"), None),
        },
        Case {
            what: "other clouds pass through by name",
            labels: &[],
            provider_id: Some("digitalocean://412345678"),
            expected: (Some("digitalocean"), None, None, None),
        },
        Case {
            what: "a malformed AWS providerID gives no zone",
            labels: &[],
            provider_id: Some("aws:///i-0123456789abcdef0"),
            expected: (Some("aws"), None, None, None),
        },
    ];

    #[test]
    fn real_world_label_sets() {
        for case in CASES {
            let placement = node_placement(&labels(case.labels), case.provider_id);
            let got = (
                placement.provider,
                placement.region.as_deref(),
                placement.zone.as_deref(),
                placement.instance_type.as_deref(),
            );
            assert_eq!(got, case.expected, "{}", case.what);
        }
    }

    #[test]
    fn a_us_region_and_the_generic_label_are_no_evidence_of_aws() {
        // GreenKube 0.2 called this node AWS.
        let node = labels(&[
            ("node.kubernetes.io/instance-type", "n2-standard-8"),
            ("topology.kubernetes.io/region", "us-east1"),
            ("topology.kubernetes.io/zone", "us-east1-b"),
        ]);
        assert_eq!(provider_from_labels(&node), None);
        assert_eq!(node_placement(&node, None).provider, None);
    }

    #[test]
    fn provider_ids() {
        assert_eq!(provider_from_provider_id("gce://p/z/n"), Some("gcp"));
        assert_eq!(provider_from_provider_id("AWS:///z/i"), Some("aws"));
        assert_eq!(provider_from_provider_id("openstack:///uuid"), None);
        assert_eq!(provider_from_provider_id("vsphere://4231"), None);
        assert_eq!(provider_from_provider_id("no scheme"), None);
        assert_eq!(provider_from_provider_id(""), None);
    }
}
