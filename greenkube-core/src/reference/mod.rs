//! Reference data: instance types, CPU power coefficients, PUE, region to electricity zone,
//! zone intensity defaults, embodied figures and model coefficients.
//!
//! The tables live in the workspace's `data/` folder (see its README for sources and licences),
//! are embedded into this crate at build time, and are parsed once on first use. Their content
//! hash is the *data version* reported with every result. A caller may also build a
//! [`ReferenceData`] from its own tables with [`ReferenceData::from_tables`].

mod tables;
mod zones;

use std::collections::HashMap;
use std::fmt;
use std::sync::LazyLock;

use sha2::{Digest, Sha256};

pub use self::zones::ZoneMatch;
use crate::error::ReferenceDataError;
use crate::ranged::Ranged;

/// The cloud providers the reference data knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Provider {
    /// Amazon Web Services.
    Aws,
    /// Google Cloud.
    Gcp,
    /// Microsoft Azure.
    Azure,
    /// OVHcloud.
    Ovh,
    /// Scaleway.
    Scaleway,
    /// Any other provider, or none.
    Unknown,
}

impl Provider {
    /// The five known providers.
    pub const KNOWN: [Self; 5] = [Self::Aws, Self::Gcp, Self::Azure, Self::Ovh, Self::Scaleway];

    /// Parses a provider name case-insensitively; anything unrecognised is [`Provider::Unknown`].
    pub fn parse(name: &str) -> Self {
        let name = name.trim();
        for known in Self::KNOWN {
            if name.eq_ignore_ascii_case(known.as_str()) {
                return known;
            }
        }
        Self::Unknown
    }

    /// Lower-case key of the provider, as used in the tables.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Aws => "aws",
            Self::Gcp => "gcp",
            Self::Azure => "azure",
            Self::Ovh => "ovh",
            Self::Scaleway => "scaleway",
            Self::Unknown => "unknown",
        }
    }

    const fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// One instance type of the catalogue.
#[derive(Debug, Clone, PartialEq)]
pub struct InstanceType {
    /// Provider selling it.
    pub provider: Provider,
    /// Canonical spelling.
    pub name: String,
    /// vCPUs.
    pub vcpus: f64,
    /// Memory in GiB, when known.
    pub memory_gib: Option<f64>,
    /// CPU families it can land on (empty when unknown).
    pub microarchitectures: Vec<String>,
}

/// Power per vCPU at idle and at full load, with ranges.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CpuPower {
    /// Watts per vCPU at idle.
    pub min_watts: Ranged,
    /// Watts per vCPU at 100 % load.
    pub max_watts: Ranged,
}

/// Defaults of one provider.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProviderDefaults {
    /// Fleet PUE.
    pub pue: Ranged,
    /// Average power per vCPU over the provider's fleet (GreenKube's figures).
    pub power: CpuPower,
}

/// Which electricity zone a cloud region is in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegionZone {
    /// GreenKube 0.2's zone (used by the `classic` methodology).
    pub classic_zone: String,
    /// The zone the `full` methodology uses (geographically corrected where GreenKube's is off).
    pub zone: String,
}

/// Default (yearly average) intensity of an electricity zone.
#[derive(Debug, Clone, PartialEq)]
pub struct ZoneIntensity {
    /// Canonical zone code.
    pub zone: String,
    /// gCO2e per kWh with its range.
    pub intensity: Ranged,
    /// Year of the figure.
    pub year: Option<u16>,
    /// `zone`, `parent_zone`, `state` or `country`.
    pub basis: String,
}

/// Embodied emissions of one instance type over its life.
#[derive(Debug, Clone, PartialEq)]
pub struct EmbodiedFigure {
    /// kg CO2e of the instance's share of its host, over the whole lifespan.
    pub kgco2e: Ranged,
    /// Lifespan in hours.
    pub lifespan_hours: f64,
    /// How the figure was derived.
    pub method: String,
}

/// Scalar model coefficients.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Coefficients {
    /// Memory power, W per GB (CCF).
    pub memory_watts_per_gb: Ranged,
    /// Intensity when nothing better is known, gCO2e/kWh.
    pub default_intensity: Ranged,
    /// Embodied figure when nothing better is known, kg per node.
    pub default_embodied_kgco2e: Ranged,
    /// Hardware lifespan, hours.
    pub lifespan_hours: Ranged,
    /// GreenKube's default instance profile: vCPUs.
    pub classic_default_vcores: f64,
    /// GreenKube's default instance profile: idle watts of the whole instance.
    pub classic_default_min_watts: f64,
    /// GreenKube's default instance profile: full-load watts of the whole instance.
    pub classic_default_max_watts: f64,
}

/// The texts of the reference tables (CSV), as shipped in `data/`.
#[derive(Debug, Clone, Copy)]
pub struct Tables<'a> {
    /// `instance_types.csv`
    pub instance_types: &'a str,
    /// `cpu_power.csv`
    pub cpu_power: &'a str,
    /// `providers.csv`
    pub providers: &'a str,
    /// `region_pue.csv`
    pub region_pue: &'a str,
    /// `region_zones.csv`
    pub region_zones: &'a str,
    /// `zone_intensity.csv`
    pub zone_intensity: &'a str,
    /// `embodied.csv`
    pub embodied: &'a str,
    /// `coefficients.csv`
    pub coefficients: &'a str,
}

impl Tables<'static> {
    /// The tables embedded in this crate.
    pub const EMBEDDED: Self = Self {
        instance_types: include_str!("../../data/instance_types.csv"),
        cpu_power: include_str!("../../data/cpu_power.csv"),
        providers: include_str!("../../data/providers.csv"),
        region_pue: include_str!("../../data/region_pue.csv"),
        region_zones: include_str!("../../data/region_zones.csv"),
        zone_intensity: include_str!("../../data/zone_intensity.csv"),
        embodied: include_str!("../../data/embodied.csv"),
        coefficients: include_str!("../../data/coefficients.csv"),
    };
}

impl Tables<'_> {
    fn named(&self) -> [(&'static str, &str); 8] {
        [
            ("instance_types.csv", self.instance_types),
            ("cpu_power.csv", self.cpu_power),
            ("providers.csv", self.providers),
            ("region_pue.csv", self.region_pue),
            ("region_zones.csv", self.region_zones),
            ("zone_intensity.csv", self.zone_intensity),
            ("embodied.csv", self.embodied),
            ("coefficients.csv", self.coefficients),
        ]
    }

    /// Content hash of the tables: `gkdata-` and the first 12 hex digits of a SHA-256 over the
    /// table names and texts.
    pub fn version(&self) -> String {
        let mut hasher = Sha256::new();
        for (name, text) in self.named() {
            hasher.update(name.as_bytes());
            hasher.update([0]);
            hasher.update(text.as_bytes());
            hasher.update([0]);
        }
        let digest = hasher.finalize();
        let hex: String = digest.iter().take(6).fold(String::new(), |mut acc, b| {
            use std::fmt::Write as _;
            let _ = write!(acc, "{b:02x}");
            acc
        });
        format!("gkdata-{hex}")
    }
}

/// All reference data, parsed and indexed. Keys are matched case-insensitively.
#[derive(Debug, Clone)]
pub struct ReferenceData {
    version: String,
    instance_types: HashMap<(Provider, String), InstanceType>,
    instance_providers: HashMap<String, Vec<Provider>>,
    cpu_power: HashMap<(String, Option<Provider>), CpuPower>,
    providers: [ProviderDefaults; 6],
    region_pue: HashMap<(Provider, String), Ranged>,
    region_zones: HashMap<(Provider, String), RegionZone>,
    region_zones_any: HashMap<String, RegionZone>,
    zone_intensity: HashMap<String, ZoneIntensity>,
    embodied: HashMap<(Provider, String), EmbodiedFigure>,
    coefficients: Coefficients,
}

static EMBEDDED: LazyLock<Result<ReferenceData, ReferenceDataError>> =
    LazyLock::new(|| ReferenceData::from_tables(&Tables::EMBEDDED));

impl ReferenceData {
    /// The reference data embedded in this crate, parsed on first use.
    ///
    /// # Panics
    /// Only if the embedded tables are corrupt, which the crate's own tests rule out before a
    /// release; use [`ReferenceData::try_embedded`] to handle that case.
    pub fn embedded() -> &'static Self {
        match Self::try_embedded() {
            Ok(data) => data,
            Err(err) => panic!("greenkube-core was built with corrupt reference data: {err}"),
        }
    }

    /// The embedded reference data, or the error that prevented parsing it.
    pub fn try_embedded() -> Result<&'static Self, &'static ReferenceDataError> {
        EMBEDDED.as_ref()
    }

    /// Parses and indexes a set of tables.
    pub fn from_tables(tables: &Tables<'_>) -> Result<Self, ReferenceDataError> {
        tables::parse(tables)
    }

    /// Content hash of the tables this data was built from.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// Scalar coefficients.
    pub fn coefficients(&self) -> &Coefficients {
        &self.coefficients
    }

    /// Defaults of a provider ([`Provider::Unknown`] gives the generic fallback).
    pub fn provider(&self, provider: Provider) -> &ProviderDefaults {
        &self.providers[provider.index()]
    }

    /// Looks an instance type up. With an unknown provider, the type is found if exactly one
    /// provider sells a type of that name.
    pub fn instance_type(&self, provider: Provider, name: &str) -> Option<&InstanceType> {
        let key = name.trim().to_ascii_lowercase();
        if provider != Provider::Unknown {
            return self.instance_types.get(&(provider, key));
        }
        match self.instance_providers.get(&key).map(Vec::as_slice) {
            Some([only]) => self.instance_types.get(&(*only, key)),
            _ => None,
        }
    }

    /// The instance types a provider sells, in no particular order.
    pub fn instance_types_of(&self, provider: Provider) -> impl Iterator<Item = &InstanceType> {
        self.instance_types
            .iter()
            .filter(move |((p, _), _)| *p == provider)
            .map(|(_, it)| it)
    }

    /// Number of instance types in the catalogue.
    pub fn instance_type_count(&self) -> usize {
        self.instance_types.len()
    }

    /// Power coefficients of a CPU family, preferring a provider-specific row.
    pub fn cpu_power(&self, microarchitecture: &str, provider: Provider) -> Option<CpuPower> {
        let key = microarchitecture.trim().to_ascii_lowercase();
        self.cpu_power
            .get(&(key.clone(), Some(provider)))
            .or_else(|| self.cpu_power.get(&(key, None)))
            .copied()
    }

    /// Per-region PUE, where the provider publishes one.
    pub fn region_pue(&self, provider: Provider, region: &str) -> Option<Ranged> {
        self.region_pue
            .get(&(provider, region.trim().to_ascii_lowercase()))
            .copied()
    }

    /// Default intensity of an electricity zone (exact code, case-insensitive).
    pub fn zone_intensity(&self, zone: &str) -> Option<&ZoneIntensity> {
        self.zone_intensity.get(&zone.trim().to_ascii_uppercase())
    }

    /// Iterates over all zones that have a default intensity.
    pub fn zones(&self) -> impl Iterator<Item = &ZoneIntensity> {
        self.zone_intensity.values()
    }

    /// Iterates over all `(provider, region)` mappings.
    pub fn region_zones(&self) -> impl Iterator<Item = (Provider, &str, &RegionZone)> {
        self.region_zones
            .iter()
            .map(|((p, r), z)| (*p, r.as_str(), z))
    }

    /// Embodied figure of an instance type, when the reference data has one.
    pub fn embodied(&self, provider: Provider, instance_type: &str) -> Option<&EmbodiedFigure> {
        self.embodied
            .get(&(provider, instance_type.trim().to_ascii_lowercase()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_parse_is_case_insensitive() {
        assert_eq!(Provider::parse("AWS"), Provider::Aws);
        assert_eq!(Provider::parse(" Scaleway "), Provider::Scaleway);
        assert_eq!(Provider::parse("digitalocean"), Provider::Unknown);
    }

    #[test]
    fn version_is_stable_and_content_sensitive() {
        let a = Tables::EMBEDDED.version();
        assert_eq!(a, Tables::EMBEDDED.version());
        let mut other = Tables::EMBEDDED;
        other.coefficients = "name,value,low,high,unit,source\n";
        assert_ne!(a, other.version());
        assert!(a.starts_with("gkdata-") && a.len() == "gkdata-".len() + 12);
    }
}
