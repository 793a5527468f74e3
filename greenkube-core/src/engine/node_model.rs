//! Resolution of each node's model: power profile, PUE, zone, intensity and embodied figure.

use std::sync::Arc;

use crate::footprint::NodeContext;
use crate::methodology::{EstimateOptions, Methodology};
use crate::ranged::Ranged;
use crate::reason::Reason;
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};

use crate::reference::{CpuPower, InstanceType, Provider, ReferenceData};
use crate::snapshot::{Node, Snapshot};
use crate::units::{BYTES_PER_GIB, GramsPerKwh};

/// Well-known labels read when the snapshot's fields are absent.
const INSTANCE_LABELS: [&str; 2] = [
    "node.kubernetes.io/instance-type",
    "beta.kubernetes.io/instance-type",
];
const ZONE_LABELS: [&str; 2] = [
    "topology.kubernetes.io/zone",
    "failure-domain.beta.kubernetes.io/zone",
];
const REGION_LABELS: [&str; 2] = [
    "topology.kubernetes.io/region",
    "failure-domain.beta.kubernetes.io/region",
];

/// Pod demand on a node, summed in the engine's first pass.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Demand {
    pub(super) cpu_usage: f64,
    pub(super) cpu_reserved: f64,
}

/// Everything the engine needs to attribute one node's energy and emissions.
#[derive(Debug, Clone)]
pub(super) struct NodeModel {
    pub(super) context: Arc<NodeContext>,
    /// vCPUs of the power model (0 means power does not depend on utilisation).
    pub(super) vcpus: f64,
    /// Idle and full-load watts of the whole node's CPU.
    pub(super) cpu_min_watts: Ranged,
    pub(super) cpu_max_watts: Ranged,
    /// Memory power of the whole node (`full`), watts.
    pub(super) memory_watts: Ranged,
    /// Memory capacity, bytes (`full`; `None` when unknown).
    pub(super) memory_capacity: Option<f64>,
    /// Embodied emissions of the node per hour, grams.
    pub(super) embodied_per_hour: Ranged,
    /// CPU capacity for the embodied share, cores.
    pub(super) embodied_cpu_capacity: f64,
}

fn label<'a>(node: &'a Node, keys: &[&str]) -> Option<&'a str> {
    let labels = node.labels.as_ref()?;
    keys.iter()
        .find_map(|k| labels.get(*k).map(String::as_str))
        .filter(|v| !v.trim().is_empty())
}

fn field_or_label(field: Option<&Arc<str>>, node: &Node, keys: &[&str]) -> Option<Arc<str>> {
    match field {
        Some(value) if !value.trim().is_empty() => Some(value.clone()),
        _ => label(node, keys).map(Arc::from),
    }
}

/// Parses GreenKube's `cpu-N` instance type.
fn cpu_n(instance_type: &str) -> Option<f64> {
    let count: u32 = instance_type.strip_prefix("cpu-")?.parse().ok()?;
    (count > 0).then_some(f64::from(count))
}

fn scale_power(per_vcpu: CpuPower, vcpus: f64) -> (Ranged, Ranged) {
    (
        per_vcpu.min_watts.scale(vcpus),
        per_vcpu.max_watts.scale(vcpus),
    )
}

/// Average of the families' coefficients (CCF's rule for instances that may land on several).
fn family_power(
    reference: &ReferenceData,
    families: &[String],
    provider: Provider,
) -> Option<CpuPower> {
    let mut found = 0.0;
    let mut min = Ranged::ZERO;
    let mut max = Ranged::ZERO;
    for family in families {
        let power = reference.cpu_power(family, provider)?;
        min += power.min_watts;
        max += power.max_watts;
        found += 1.0;
    }
    (found > 0.0).then(|| CpuPower {
        min_watts: min.scale(1.0 / found),
        max_watts: max.scale(1.0 / found),
    })
}

/// A snapshot's embodied figures keyed by lower-case (provider, instance type).
pub(super) type EmbodiedTable = HashMap<(String, String), (f64, Option<f64>)>;

/// The embodied figures of `snapshot`, keyed as the resolver looks them up.
pub(super) fn embodied_table(snapshot: &Snapshot) -> EmbodiedTable {
    snapshot
        .embodied
        .iter()
        .map(|e| {
            (
                (
                    e.provider.trim().to_ascii_lowercase(),
                    e.instance_type.trim().to_ascii_lowercase(),
                ),
                (e.kgco2e, e.lifespan_hours),
            )
        })
        .collect()
}

pub(super) struct Resolver<'a> {
    pub(super) snapshot: &'a Snapshot,
    pub(super) options: &'a EstimateOptions,
    pub(super) reference: &'a ReferenceData,
    /// Measured grid intensity per zone (the snapshot's, or its whole window's).
    grid: &'a BTreeMap<String, GramsPerKwh>,
    /// Embodied figures (the snapshot's, or its whole window's).
    embodied: Cow<'a, EmbodiedTable>,
}

impl<'a> Resolver<'a> {
    pub(super) fn new(
        snapshot: &'a Snapshot,
        options: &'a EstimateOptions,
        reference: &'a ReferenceData,
    ) -> Self {
        Self {
            snapshot,
            options,
            reference,
            grid: &snapshot.grid_intensity,
            embodied: Cow::Owned(embodied_table(snapshot)),
        }
    }

    /// A resolver for a part of a window (some of its nodes and their pods) that takes the grid
    /// intensities and embodied figures from the whole window's, prepared once.
    pub(super) fn for_part(
        part: &'a Snapshot,
        grid: &'a BTreeMap<String, GramsPerKwh>,
        embodied: &'a EmbodiedTable,
        options: &'a EstimateOptions,
        reference: &'a ReferenceData,
    ) -> Self {
        Self {
            snapshot: part,
            options,
            reference,
            grid,
            embodied: Cow::Borrowed(embodied),
        }
    }

    fn classic(&self) -> bool {
        self.options.methodology == Methodology::Classic
    }

    /// Builds the model of a node of the snapshot (`node = Some`) or of a node synthesised for
    /// pods whose node is unknown (`node = None`, `name` = what the pods gave).
    pub(super) fn resolve(
        &self,
        node: Option<&Node>,
        name: Option<&Arc<str>>,
        demand: Demand,
    ) -> NodeModel {
        let reference = self.reference;
        let classic = self.classic();
        let mut reasons: Vec<Reason> = Vec::new();
        let default = Node::default();
        let spec = node.unwrap_or(&default);
        let node_name: Arc<str> = name.cloned().unwrap_or_else(|| Arc::from("(none)"));
        // A source that was down during the window affects every figure of it.
        reasons.extend(
            self.snapshot
                .degraded_sources
                .iter()
                .map(|n| Reason::SourceUnavailable {
                    source: n.source,
                    kind: n.kind,
                }),
        );
        if node.is_none() {
            reasons.push(Reason::NodeNotInSnapshot {
                node: name.cloned(),
            });
        }

        let instance_type = field_or_label(spec.instance_type.as_ref(), spec, &INSTANCE_LABELS);
        let given_provider = spec
            .provider
            .as_ref()
            .filter(|p| !p.trim().is_empty())
            .cloned();
        let mut provider = given_provider
            .as_deref()
            .map_or(Provider::Unknown, Provider::parse);
        let catalogue = instance_type
            .as_deref()
            .and_then(|t| reference.instance_type(provider, t));
        // Full infers the provider from an unambiguous instance type; classic keeps GreenKube's
        // behaviour (PUE from the node's provider only).
        if !classic
            && provider == Provider::Unknown
            && given_provider.is_none()
            && let (Some(catalogued), Some(instance_type)) = (catalogue, instance_type.as_ref())
        {
            provider = catalogued.provider;
            reasons.push(Reason::ProviderInferred {
                instance_type: instance_type.clone(),
                provider: catalogued.provider.as_str(),
            });
        }

        // Power profile.
        let (vcpus, cpu_min_watts, cpu_max_watts) = if classic {
            self.classic_profile(
                &node_name,
                node.is_some(),
                instance_type.as_ref(),
                catalogue,
                &mut reasons,
            )
        } else {
            self.full_profile(
                spec,
                &node_name,
                instance_type.as_ref(),
                catalogue,
                provider,
                demand,
                &mut reasons,
            )
        };

        // Memory (full only).
        let (memory_watts, memory_capacity) = if classic {
            (Ranged::ZERO, None)
        } else {
            let capacity = catalogue
                .and_then(|it| it.memory_gib)
                .map(|gib| gib * BYTES_PER_GIB)
                .or_else(|| spec.memory_capacity_bytes.map(|b| b.0));
            match capacity {
                Some(bytes) => (
                    reference
                        .coefficients()
                        .memory_watts_per_gb
                        .scale(bytes / BYTES_PER_GIB),
                    Some(bytes),
                ),
                None => {
                    reasons.push(Reason::MemoryCapacityUnknown {
                        node: node_name.clone(),
                    });
                    (Ranged::ZERO, None)
                }
            }
        };

        // PUE.
        let region = field_or_label(spec.region.as_ref(), spec, &REGION_LABELS);
        let pue = if provider == Provider::Unknown {
            let pue = reference.provider(Provider::Unknown).pue;
            reasons.push(Reason::UnknownProvider {
                provider: given_provider.clone(),
                pue: pue.point,
            });
            pue
        } else if !classic
            && let Some(region_pue) = region
                .as_deref()
                .and_then(|r| reference.region_pue(provider, r))
        {
            region_pue
        } else {
            reference.provider(provider).pue
        };

        // Zone and intensity.
        let zone = self.resolve_zone(spec, &node_name, provider, region.as_ref(), &mut reasons);
        let grid_intensity = self.resolve_intensity(zone.as_ref(), &mut reasons);

        // Embodied.
        let provider_key = match provider {
            Provider::Unknown => given_provider
                .as_deref()
                .map(|p| p.trim().to_ascii_lowercase()),
            known => Some(known.as_str().to_string()),
        };
        let embodied_per_hour = self.embodied_per_hour(
            provider,
            provider_key.as_deref(),
            instance_type.as_deref(),
            &node_name,
            &mut reasons,
        );
        let embodied_cpu_capacity = spec.cpu_capacity_cores.map_or(vcpus, |c| c.0);

        let provider_name: Option<Arc<str>> = match provider {
            Provider::Unknown => given_provider.map(|p| Arc::from(p.trim().to_ascii_lowercase())),
            known => Some(Arc::from(known.as_str())),
        };
        NodeModel {
            context: Arc::new(NodeContext {
                name: name.cloned(),
                provider: provider_name,
                instance_type,
                zone,
                region,
                cpu_capacity_cores: spec.cpu_capacity_cores,
                memory_capacity_bytes: spec.memory_capacity_bytes,
                embodied_grams_per_hour: embodied_per_hour,
                pue,
                grid_intensity,
                synthetic: node.is_none(),
                reasons: reasons.into(),
            }),
            vcpus,
            cpu_min_watts,
            cpu_max_watts,
            memory_watts,
            memory_capacity,
            embodied_per_hour,
            embodied_cpu_capacity,
        }
    }

    /// GreenKube's profile: catalogue type × provider average, `cpu-N`, or the default profile.
    fn classic_profile(
        &self,
        node_name: &Arc<str>,
        in_snapshot: bool,
        instance_type: Option<&Arc<str>>,
        catalogue: Option<&InstanceType>,
        reasons: &mut Vec<Reason>,
    ) -> (f64, Ranged, Ranged) {
        let reference = self.reference;
        let coefficients = reference.coefficients();
        let default =
            self.options
                .classic_default_profile
                .unwrap_or(crate::methodology::DefaultProfile {
                    vcores: coefficients.classic_default_vcores,
                    min_watts: coefficients.classic_default_min_watts,
                    max_watts: coefficients.classic_default_max_watts,
                });
        let unknown = reference.provider(Provider::Unknown).power;
        if let Some(catalogued) = catalogue {
            let (min, max) = scale_power(
                reference.provider(catalogued.provider).power,
                catalogued.vcpus,
            );
            return (catalogued.vcpus, min, max);
        }
        if let Some(vcpus) = instance_type.and_then(|t| cpu_n(t)) {
            let (per_min, per_max) = if default.vcores > 0.0 {
                (
                    default.min_watts / default.vcores,
                    default.max_watts / default.vcores,
                )
            } else {
                (default.min_watts, default.max_watts)
            };
            reasons.push(Reason::InferredProfile {
                node: node_name.clone(),
                instance_type: instance_type.cloned().unwrap_or_else(|| Arc::from("")),
            });
            return (
                vcpus,
                Ranged::new(
                    per_min * vcpus,
                    unknown.min_watts.low * vcpus,
                    unknown.min_watts.high * vcpus,
                ),
                Ranged::new(
                    per_max * vcpus,
                    unknown.max_watts.low * vcpus,
                    unknown.max_watts.high * vcpus,
                ),
            );
        }
        if in_snapshot {
            reasons.push(Reason::DefaultProfile {
                node: node_name.clone(),
                instance_type: instance_type.cloned(),
            });
        }
        let vcpus = default.vcores.max(0.0);
        let scale = vcpus.max(1.0);
        (
            vcpus,
            Ranged::new(
                default.min_watts,
                unknown.min_watts.low * scale,
                unknown.min_watts.high * scale,
            ),
            Ranged::new(
                default.max_watts,
                unknown.max_watts.low * scale,
                unknown.max_watts.high * scale,
            ),
        )
    }

    /// The `full` profile: per-microarchitecture coefficients × vCPUs, else provider average
    /// × the node's capacity, else × the capacity the pods' demand implies.
    #[allow(clippy::too_many_arguments)]
    fn full_profile(
        &self,
        spec: &Node,
        node_name: &Arc<str>,
        instance_type: Option<&Arc<str>>,
        catalogue: Option<&InstanceType>,
        provider: Provider,
        demand: Demand,
        reasons: &mut Vec<Reason>,
    ) -> (f64, Ranged, Ranged) {
        let reference = self.reference;
        let average = reference.provider(provider).power;
        if let Some(catalogued) = catalogue {
            let per_vcpu = family_power(
                reference,
                &catalogued.microarchitectures,
                catalogued.provider,
            )
            .unwrap_or_else(|| {
                reasons.push(Reason::CpuFamilyUnknown {
                    instance_type: instance_type
                        .cloned()
                        .unwrap_or_else(|| Arc::from(catalogued.name.as_str())),
                    provider: catalogued.provider.as_str(),
                });
                reference.provider(catalogued.provider).power
            });
            let (min, max) = scale_power(per_vcpu, catalogued.vcpus);
            return (catalogued.vcpus, min, max);
        }
        let capacity = spec
            .cpu_capacity_cores
            .map(|c| c.0)
            .or_else(|| instance_type.and_then(|t| cpu_n(t)));
        let vcpus = if let Some(capacity) = capacity {
            reasons.push(Reason::CapacityProfile {
                node: node_name.clone(),
                instance_type: instance_type.cloned(),
                vcpus: capacity,
                provider: provider.as_str(),
            });
            capacity
        } else {
            let implied = demand.cpu_usage.max(demand.cpu_reserved).ceil().max(1.0);
            reasons.push(Reason::CapacityFromDemand {
                node: node_name.clone(),
                vcpus: implied,
            });
            implied
        };
        let (min, max) = scale_power(average, vcpus);
        (vcpus, min, max)
    }

    fn resolve_zone(
        &self,
        spec: &Node,
        node_name: &Arc<str>,
        provider: Provider,
        region: Option<&Arc<str>>,
        reasons: &mut Vec<Reason>,
    ) -> Option<Arc<str>> {
        let classic = self.classic();
        let reference = self.reference;
        let zone_label = field_or_label(spec.zone.as_ref(), spec, &ZONE_LABELS);
        if let Some((zone, _)) = zone_label
            .as_deref()
            .and_then(|z| reference.map_zone(z, provider, classic))
        {
            return Some(Arc::from(zone));
        }
        if let Some(region) = region
            && let Some((zone, _)) = reference.map_zone(region, provider, classic)
        {
            reasons.push(Reason::ZoneFromRegion {
                node: node_name.clone(),
                region: region.clone(),
            });
            return Some(Arc::from(zone));
        }
        if let Some(default) = &self.options.default_zone {
            let zone: Arc<str> = Arc::from(default.as_str());
            reasons.push(Reason::ZoneFromDefault {
                node: node_name.clone(),
                zone: zone.clone(),
            });
            return Some(zone);
        }
        reasons.push(Reason::NoZone {
            node: node_name.clone(),
        });
        None
    }

    fn resolve_intensity(&self, zone: Option<&Arc<str>>, reasons: &mut Vec<Reason>) -> Ranged {
        let reference = self.reference;
        let global = || -> Ranged {
            let fallback = reference.coefficients().default_intensity;
            match self.options.default_intensity {
                Some(given) => {
                    Ranged::new(given, fallback.low.min(given), fallback.high.max(given))
                }
                None => fallback,
            }
        };
        let Some(zone) = zone else {
            let intensity = global();
            reasons.push(Reason::GlobalDefaultIntensity {
                zone: None,
                value: intensity.point,
            });
            return intensity;
        };
        let grid = self.grid;
        if let Some(measured) = grid.get(zone.as_ref()).or_else(|| {
            grid.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(zone))
                .map(|(_, v)| v)
        }) {
            return Ranged::exact(measured.0);
        }
        if let Some(yearly) = reference.zone_intensity(zone) {
            reasons.push(Reason::DefaultZoneIntensity {
                zone: zone.clone(),
                year: yearly.year,
            });
            return yearly.intensity;
        }
        if !self.classic()
            && let Some((national, _)) = zone.split_once('-')
            && let Some(national) = reference.zone_intensity(national)
        {
            reasons.push(Reason::NationalZoneIntensity {
                zone: zone.clone(),
                national: Arc::from(national.zone.as_str()),
            });
            return national.intensity;
        }
        let intensity = global();
        reasons.push(Reason::GlobalDefaultIntensity {
            zone: Some(zone.clone()),
            value: intensity.point,
        });
        intensity
    }

    fn embodied_per_hour(
        &self,
        provider: Provider,
        provider_key: Option<&str>,
        instance_type: Option<&str>,
        node_name: &Arc<str>,
        reasons: &mut Vec<Reason>,
    ) -> Ranged {
        let reference = self.reference;
        let coefficients = reference.coefficients();
        if let Some(instance_type) = instance_type {
            let from_snapshot = provider_key.and_then(|p| {
                self.embodied
                    .get(&(p.to_string(), instance_type.trim().to_ascii_lowercase()))
            });
            if let Some(&(kgco2e, lifespan_hours)) = from_snapshot {
                let lifespan = lifespan_hours.map_or(coefficients.lifespan_hours, Ranged::exact);
                return Ranged::exact(kgco2e * 1000.0).div_ranged(lifespan);
            }
            if !self.classic()
                && let Some(figure) = reference.embodied(provider, instance_type)
            {
                let lifespan = Ranged::new(
                    figure.lifespan_hours,
                    coefficients.lifespan_hours.low,
                    coefficients.lifespan_hours.high,
                );
                return figure.kgco2e.scale(1000.0).div_ranged(lifespan);
            }
        }
        let kgco2e = coefficients.default_embodied_kgco2e;
        reasons.push(Reason::EmbodiedFallback {
            node: node_name.clone(),
            kgco2e: kgco2e.point,
        });
        kgco2e.scale(1000.0).div_ranged(coefficients.lifespan_hours)
    }
}

impl NodeModel {
    /// Embodied emissions of the whole node over the window.
    pub(super) fn embodied_window(&self, hours: f64) -> Ranged {
        self.embodied_per_hour.scale(hours)
    }
}
