//! The catalogue every synthetic cluster is drawn from: providers (their share of the nodes and
//! their synthetic prices), regions with the zones Kubernetes reports and the instance types
//! offered there (capacities from the reference catalogue), and the nodes made from them (names
//! in the style of each managed Kubernetes, well-known labels).
//!
//! The demo's cluster draws from the regions marked `demo`, uniformly; a sized cluster from every
//! region, by weight. For its messy data, a sized cluster also uses [`UNKNOWN_TYPES`] (types the
//! reference catalogue does not know) and [`UNMAPPABLE_ZONES`] (regions and zones no electricity
//! zone maps to).

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use greenkube_core::units::{Bytes, Cores};
use greenkube_core::{Node, Provider, ReferenceData};

use super::random::Rng;
use super::{GIB, NodeInfo};

/// Synthetic price of one provider (documented as synthetic: not a price list).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProviderPrice {
    /// Money per core-hour of `max(request, usage)`.
    pub per_core_hour: f64,
    /// Money per GiB-hour of `max(request, usage)`.
    pub per_gib_hour: f64,
}

/// The synthetic price of a provider: `aws`, `gcp`, `azure`, `ovh`, `scaleway` (anything else is
/// priced like `aws`).
pub fn provider_price(provider: &str) -> ProviderPrice {
    PROVIDERS
        .iter()
        .find(|p| p.name == provider)
        .map_or(PROVIDERS[0].price, |p| p.price)
}

/// A provider of the catalogue.
#[derive(Debug, Clone, Copy)]
pub(super) struct ProviderProfile {
    pub(super) name: &'static str,
    /// Weight among the demo's providers (0: not in the demo).
    pub(super) demo_weight: usize,
    /// Share of the nodes of a sized cluster.
    pub(super) weight: f64,
    pub(super) price: ProviderPrice,
}

const fn provider(
    name: &'static str,
    demo_weight: usize,
    weight: f64,
    per_core_hour: f64,
    per_gib_hour: f64,
) -> ProviderProfile {
    ProviderProfile {
        name,
        demo_weight,
        weight,
        price: ProviderPrice {
            per_core_hour,
            per_gib_hour,
        },
    }
}

pub(super) const PROVIDERS: [ProviderProfile; 5] = [
    provider("aws", 4, 0.35, 0.0316, 0.00424),
    provider("gcp", 3, 0.25, 0.0332, 0.00445),
    provider("azure", 3, 0.20, 0.0360, 0.0048),
    provider("ovh", 1, 0.10, 0.0220, 0.0030),
    provider("scaleway", 0, 0.10, 0.0210, 0.0028),
];

/// A region of a provider: the zones Kubernetes reports in it, its local time, and the
/// instance types offered there with their weights.
#[derive(Debug)]
pub(super) struct Region {
    pub(super) provider: &'static str,
    pub(super) name: &'static str,
    pub(super) zones: &'static [&'static str],
    /// Offset of local time from UTC in June, hours (a sized cluster's daily pattern).
    pub(super) utc_offset_hours: i64,
    /// Weight among the provider's regions in a sized cluster.
    pub(super) weight: f64,
    pub(super) types: &'static [(&'static str, f64)],
    /// Whether the demo's cluster uses the region (it draws its types uniformly).
    pub(super) demo: bool,
}

const fn region(
    provider: &'static str,
    name: &'static str,
    zones: &'static [&'static str],
    utc_offset_hours: i64,
    weight: f64,
    types: &'static [(&'static str, f64)],
) -> Region {
    Region {
        provider,
        name,
        zones,
        utc_offset_hours,
        weight,
        types,
        demo: false,
    }
}

const fn demo(mut region: Region) -> Region {
    region.demo = true;
    region
}

/// Sizes of Scaleway's general-purpose instances.
const SCALEWAY_TYPES: &[(&str, f64)] = &[
    ("VPS-PRO-L", 2.0),
    ("VPS-PRO-XL", 2.0),
    ("VPS-PRO-XXL", 1.0),
    ("VPS-START-XL", 1.0),
];

#[rustfmt::skip]
pub(super) const REGIONS: &[Region] = &[
    demo(region("aws", "eu-west-3", &["eu-west-3a", "eu-west-3b", "eu-west-3c"], 2, 2.0,
        &[("m5.xlarge", 2.0), ("m6i.xlarge", 1.5), ("m5.2xlarge", 2.0), ("c5.2xlarge", 1.0)])),
    demo(region("aws", "us-east-1", &["us-east-1a", "us-east-1b", "us-east-1c"], -4, 3.0,
        &[("m5.2xlarge", 2.0), ("r5.xlarge", 1.0)])),
    region("aws", "eu-central-1", &["eu-central-1a", "eu-central-1b", "eu-central-1c"], 2, 1.5,
        &[("m5.large", 1.0), ("m5.xlarge", 2.0), ("m6i.2xlarge", 2.0), ("m6i.4xlarge", 1.0),
          ("c6i.2xlarge", 1.0), ("r5.2xlarge", 0.7)]),
    region("aws", "us-west-2", &["us-west-2a", "us-west-2b", "us-west-2c"], -7, 1.5,
        &[("m5.2xlarge", 2.0), ("m5.4xlarge", 0.5), ("m6i.xlarge", 1.5), ("m6g.2xlarge", 1.0),
          ("m7i.2xlarge", 0.8)]),
    demo(region("gcp", "europe-west1", &["europe-west1-b", "europe-west1-c", "europe-west1-d"], 2, 1.5,
        &[("n2-standard-4", 2.0), ("n2-standard-8", 2.0), ("e2-standard-8", 1.5)])),
    demo(region("gcp", "us-central1", &["us-central1-a", "us-central1-b", "us-central1-c", "us-central1-f"], -5, 2.0,
        &[("n2-standard-8", 2.0), ("n2-highmem-4", 1.0)])),
    region("gcp", "europe-west9", &["europe-west9-a", "europe-west9-b", "europe-west9-c"], 2, 1.5,
        &[("n2-standard-4", 2.0), ("n2-standard-16", 0.7), ("e2-standard-4", 1.5),
          ("n2d-standard-8", 1.0)]),
    region("gcp", "europe-west4", &["europe-west4-a", "europe-west4-b", "europe-west4-c"], 2, 1.5,
        &[("n2-standard-8", 2.0), ("e2-standard-8", 1.5), ("c2-standard-8", 0.5)]),
    demo(region("azure", "westeurope", &["westeurope-1", "westeurope-2", "westeurope-3"], 2, 2.0,
        &[("Standard_D4s_v4", 2.0), ("Standard_D8s_v4", 2.0), ("Standard_E4s_v4", 1.0)])),
    demo(region("azure", "northeurope", &["northeurope-1", "northeurope-2", "northeurope-3"], 1, 1.0,
        &[("Standard_D4as_v4", 1.0), ("Standard_D8as_v4", 1.0)])),
    region("azure", "eastus", &["eastus-1", "eastus-2", "eastus-3"], -4, 2.0,
        &[("Standard_D4s_v5", 2.0), ("Standard_D8s_v5", 2.0), ("Standard_D16s_v5", 0.7),
          ("Standard_D4as_v5", 1.0)]),
    region("azure", "swedencentral", &["swedencentral-1", "swedencentral-2", "swedencentral-3"], 2, 1.0,
        &[("Standard_D8s_v5", 1.0), ("Standard_E8s_v5", 0.8), ("Standard_F8s_v2", 0.5)]),
    demo(region("ovh", "eu-west-par", &["eu-west-par-a", "eu-west-par-b", "eu-west-par-c"], 2, 1.0,
        &[("b3-16", 1.0), ("b3-32", 1.0)])),
    region("ovh", "gra", &["GRA9", "GRA11"], 2, 2.0,
        &[("b3-16", 2.0), ("b3-32", 2.0), ("b3-64", 1.0), ("c3-16", 1.0)]),
    region("ovh", "sbg", &["SBG5"], 2, 1.0, &[("b3-32", 1.0), ("r3-64", 0.5)]),
    region("ovh", "bhs", &["BHS5"], -4, 1.0, &[("b3-16", 1.0), ("b3-64", 1.0)]),
    region("ovh", "waw", &["WAW1"], 2, 0.5, &[("b3-32", 1.0), ("c3-16", 1.0)]),
    region("scaleway", "fr-par", &["fr-par-1", "fr-par-2", "fr-par-3"], 2, 2.0, SCALEWAY_TYPES),
    region("scaleway", "nl-ams", &["nl-ams-1", "nl-ams-2"], 2, 1.0, SCALEWAY_TYPES),
    region("scaleway", "pl-waw", &["pl-waw-1"], 2, 0.5, SCALEWAY_TYPES),
];

/// Memory of the types whose reference row has none (GiB).
const MEMORY_GIB: &[(&str, f64)] = &[
    ("b3-16", 16.0),
    ("b3-32", 32.0),
    ("b3-64", 64.0),
    ("c3-16", 16.0),
    ("r3-64", 64.0),
    ("VPS-PRO-L", 16.0),
    ("VPS-PRO-XL", 32.0),
    ("VPS-PRO-XXL", 64.0),
    ("VPS-START-XL", 16.0),
];

/// Types the reference catalogue does not know, per provider: what a real cluster may run
/// (custom, new or exotic machines). A node of such a type keeps the capacity of the type drawn.
pub(super) const UNKNOWN_TYPES: &[(&str, &str)] = &[
    ("aws", "m9z.3xlarge"),
    ("gcp", "n2-custom-6-24576"),
    ("azure", "Standard_D6zs_v9"),
    ("ovh", "b9-24"),
    ("scaleway", "POP9-6C-24G"),
];

/// Regions and zones no electricity zone maps to (on-premises or mislabelled nodes).
pub(super) const UNMAPPABLE_ZONES: &[(&str, &str)] = &[
    ("on-prem", "dc1-hall2"),
    ("dc-west", "rack-b7"),
    ("unknown", "zone-unknown"),
];

/// vCPUs and memory (GiB) of a type: the reference catalogue's, with [`MEMORY_GIB`] where it
/// gives no memory; `None` for a type it does not know.
pub(super) fn capacity(provider: &str, itype: &str) -> Option<(f64, f64)> {
    let known = ReferenceData::try_embedded()
        .ok()?
        .instance_type(Provider::parse(provider), itype)?;
    let memory = known.memory_gib.or_else(|| {
        MEMORY_GIB
            .iter()
            .find(|(name, _)| *name == itype)
            .map(|(_, gib)| *gib)
    })?;
    Some((known.vcpus, memory))
}

/// Alphabet Kubernetes uses for generated name suffixes.
pub(super) const NAME_ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

/// What a node is made of: where it runs and what it is.
pub(super) struct NodeDraw<'a> {
    pub(super) region: &'a Region,
    pub(super) itype: &'a str,
    pub(super) zone: &'a str,
    pub(super) vcpus: f64,
    pub(super) memory_gib: f64,
}

impl<'a> NodeDraw<'a> {
    /// A node of type `itype` in `zone` of `region`, with the type's capacity; `None` for a
    /// type the catalogue does not know.
    pub(super) fn of(region: &'a Region, itype: &'a str, zone: &'a str) -> Option<Self> {
        let (vcpus, memory_gib) = capacity(region.provider, itype)?;
        Some(Self {
            region,
            itype,
            zone,
            vcpus,
            memory_gib,
        })
    }
}

/// A node and what the cluster knows of it: a name in the style of the provider's managed
/// Kubernetes (made unique with `-{i}` if taken), the well-known labels and a node-pool label.
pub(super) fn make_node(
    rng: &mut Rng,
    draw: &NodeDraw<'_>,
    i: usize,
    taken: &mut HashSet<String>,
) -> (Node, NodeInfo) {
    let NodeDraw {
        region: pool,
        itype,
        zone,
        vcpus,
        memory_gib,
    } = *draw;
    let mut name = node_name(rng, pool, itype, zone, i);
    if taken.contains(&name) {
        name = format!("{name}-{i}");
    }
    taken.insert(name.clone());
    let mut labels = BTreeMap::new();
    for (k, v) in [
        ("kubernetes.io/hostname", name.as_str()),
        ("kubernetes.io/os", "linux"),
        ("kubernetes.io/arch", "amd64"),
        ("node.kubernetes.io/instance-type", itype),
        ("topology.kubernetes.io/region", pool.name),
        ("topology.kubernetes.io/zone", zone),
    ] {
        labels.insert(k.to_string(), v.to_string());
    }
    let (pool_label, pool_name) = match pool.provider {
        "aws" => (
            "eks.amazonaws.com/nodegroup",
            format!("ng-{}", itype.replace('.', "-")),
        ),
        "gcp" => ("cloud.google.com/gke-nodepool", format!("pool-{itype}")),
        "azure" => ("kubernetes.azure.com/agentpool", azure_pool(itype)),
        _ => ("nodepool", format!("pool-{itype}")),
    };
    labels.insert(pool_label.to_string(), pool_name);
    let name: Arc<str> = Arc::from(name.as_str());
    let node = Node {
        name: name.clone(),
        provider: Some(Arc::from(pool.provider)),
        instance_type: Some(Arc::from(itype)),
        region: Some(Arc::from(pool.name)),
        zone: Some(Arc::from(zone)),
        cpu_capacity_cores: Some(Cores(vcpus)),
        memory_capacity_bytes: Some(Bytes(memory_gib * GIB)),
        labels: Some(labels),
    };
    let info = NodeInfo {
        name,
        cpu: vcpus,
        memory: memory_gib * GIB,
        price: provider_price(pool.provider),
        cpu_requested: 0.0,
    };
    (node, info)
}

/// `Standard_D4s_v4` → `d4sv4`.
fn azure_pool(itype: &str) -> String {
    itype
        .trim_start_matches("Standard_")
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// A node name in the style of the provider's managed Kubernetes.
fn node_name(rng: &mut Rng, pool: &Region, itype: &str, zone: &str, i: usize) -> String {
    match pool.provider {
        "aws" => {
            let subnet = pool.zones.iter().position(|z| *z == zone).unwrap_or(0) * 32;
            format!(
                "ip-10-0-{}-{}.{}.compute.internal",
                subnet + rng.below(32),
                1 + rng.below(254),
                pool.name
            )
        }
        "gcp" => format!(
            "gke-demo-pool-{}-{:08x}-{}",
            itype.split('-').next().unwrap_or("n2"),
            rng.next_u64() as u32,
            rng.token(4, b"abcdefghijklmnopqrstuvwxyz0123456789")
        ),
        "azure" => format!(
            "aks-{}-{:08}-vmss{:06x}",
            azure_pool(itype),
            rng.below(100_000_000),
            i
        ),
        _ => format!("{}-node-{}", itype, rng.token(6, b"abcdef0123456789")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_and_zone_of_the_catalogue_is_in_the_reference_data() {
        let reference = ReferenceData::embedded();
        for r in REGIONS {
            let provider = Provider::parse(r.provider);
            assert_ne!(provider, Provider::Unknown, "{}", r.provider);
            assert!(PROVIDERS.iter().any(|p| p.name == r.provider));
            for (itype, _) in r.types {
                assert!(
                    reference.instance_type(provider, itype).is_some(),
                    "{}/{itype}",
                    r.provider
                );
                assert!(
                    capacity(r.provider, itype).is_some(),
                    "{itype} has a memory"
                );
            }
            for zone in r.zones {
                for classic in [false, true] {
                    let (electricity, _) = reference
                        .map_zone(zone, provider, classic)
                        .unwrap_or_else(|| panic!("{}/{zone} maps", r.provider));
                    if !classic {
                        assert!(reference.zone_intensity(electricity).is_some(), "{zone}");
                    }
                }
            }
        }
    }

    #[test]
    fn the_messy_types_and_zones_are_unknown_to_the_reference_data() {
        let reference = ReferenceData::embedded();
        for (provider, itype) in UNKNOWN_TYPES {
            let p = Provider::parse(provider);
            assert!(reference.instance_type(p, itype).is_none(), "{itype}");
            assert_eq!(capacity(provider, itype), None);
        }
        for p in PROVIDERS {
            assert!(UNKNOWN_TYPES.iter().any(|t| t.0 == p.name), "{}", p.name);
        }
        for (region, zone) in UNMAPPABLE_ZONES {
            for p in PROVIDERS {
                let provider = Provider::parse(p.name);
                for place in [region, zone] {
                    for classic in [false, true] {
                        let mapped = reference.map_zone(place, provider, classic);
                        assert!(mapped.is_none(), "{place}");
                    }
                }
            }
        }
    }

    #[test]
    fn prices_are_per_provider() {
        assert_eq!(provider_price("gcp").per_core_hour, 0.0332);
        assert_eq!(provider_price("acme"), provider_price("aws"));
        assert_eq!(provider_price("scaleway").per_gib_hour, 0.0028);
    }
}
