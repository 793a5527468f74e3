//! Parsing of the CSV tables into [`ReferenceData`].

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::{
    Coefficients, CpuPower, EmbodiedFigure, InstanceType, Provider, ProviderDefaults,
    ReferenceData, RegionZone, Tables, ZoneIntensity,
};
use crate::error::ReferenceDataError;
use crate::ranged::Ranged;

#[derive(Deserialize)]
struct InstanceRow {
    provider: String,
    instance_type: String,
    vcpus: f64,
    memory_gib: Option<f64>,
    microarchitecture: Option<String>,
}

#[derive(Deserialize)]
struct CpuPowerRow {
    microarchitecture: String,
    scope: String,
    min_watts_per_vcpu: f64,
    min_low: f64,
    min_high: f64,
    max_watts_per_vcpu: f64,
    max_low: f64,
    max_high: f64,
}

#[derive(Deserialize)]
struct ProviderRow {
    provider: String,
    pue: f64,
    pue_low: f64,
    pue_high: f64,
    min_watts_per_vcpu: f64,
    min_low: f64,
    min_high: f64,
    max_watts_per_vcpu: f64,
    max_low: f64,
    max_high: f64,
}

#[derive(Deserialize)]
struct RegionPueRow {
    provider: String,
    region: String,
    pue: f64,
    pue_low: f64,
    pue_high: f64,
}

#[derive(Deserialize)]
struct RegionZoneRow {
    provider: String,
    region: String,
    classic_zone: String,
    zone: String,
}

#[derive(Deserialize)]
struct ZoneRow {
    zone: String,
    gco2e_per_kwh: f64,
    low: f64,
    high: f64,
    year: Option<u16>,
    basis: String,
}

#[derive(Deserialize)]
struct EmbodiedRow {
    provider: String,
    instance_type: String,
    kgco2e: f64,
    kgco2e_low: f64,
    kgco2e_high: f64,
    lifespan_hours: f64,
    method: String,
}

#[derive(Deserialize)]
struct CoefficientRow {
    name: String,
    value: f64,
    low: f64,
    high: f64,
}

fn rows<T: DeserializeOwned>(
    table: &'static str,
    text: &str,
) -> Result<Vec<(usize, T)>, ReferenceDataError> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    reader
        .deserialize::<T>()
        .enumerate()
        .map(|(i, row)| {
            row.map(|r| (i + 1, r)).map_err(|e| ReferenceDataError {
                table,
                row: i + 1,
                message: e.to_string(),
            })
        })
        .collect()
}

fn ranged(
    table: &'static str,
    row: usize,
    what: &str,
    point: f64,
    low: f64,
    high: f64,
) -> Result<Ranged, ReferenceDataError> {
    if !(point.is_finite() && low.is_finite() && high.is_finite())
        || low < 0.0
        || low > point
        || point > high
    {
        return Err(ReferenceDataError {
            table,
            row,
            message: format!(
                "{what}: need 0 <= low <= value <= high, got {low} <= {point} <= {high}"
            ),
        });
    }
    Ok(Ranged { point, low, high })
}

fn provider(table: &'static str, row: usize, name: &str) -> Result<Provider, ReferenceDataError> {
    match Provider::parse(name) {
        Provider::Unknown if !name.eq_ignore_ascii_case("unknown") => Err(ReferenceDataError {
            table,
            row,
            message: format!("unknown provider '{name}'"),
        }),
        p => Ok(p),
    }
}

fn insert_unique<K: std::hash::Hash + Eq + std::fmt::Debug, V>(
    map: &mut HashMap<K, V>,
    key: K,
    value: V,
    table: &'static str,
    row: usize,
) -> Result<(), ReferenceDataError> {
    match map.entry(key) {
        Entry::Occupied(e) => Err(ReferenceDataError {
            table,
            row,
            message: format!("duplicate key {:?}", e.key()),
        }),
        Entry::Vacant(e) => {
            e.insert(value);
            Ok(())
        }
    }
}

pub(super) fn parse(tables: &Tables<'_>) -> Result<ReferenceData, ReferenceDataError> {
    const IT: &str = "instance_types.csv";
    const CP: &str = "cpu_power.csv";
    const PR: &str = "providers.csv";
    const RP: &str = "region_pue.csv";
    const ZI: &str = "zone_intensity.csv";
    const RZ: &str = "region_zones.csv";
    const EM: &str = "embodied.csv";
    const CO: &str = "coefficients.csv";
    let mut instance_types = HashMap::new();
    let mut instance_providers: HashMap<String, Vec<Provider>> = HashMap::new();
    for (row, r) in rows::<InstanceRow>(IT, tables.instance_types)? {
        let p = provider(IT, row, &r.provider)?;
        if !(r.vcpus.is_finite() && r.vcpus > 0.0) {
            return Err(ReferenceDataError {
                table: IT,
                row,
                message: format!("vcpus must be > 0, got {}", r.vcpus),
            });
        }
        let key = r.instance_type.to_ascii_lowercase();
        let micro = r
            .microarchitecture
            .as_deref()
            .map(|m| {
                m.split('|')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        let value = InstanceType {
            provider: p,
            name: r.instance_type,
            vcpus: r.vcpus,
            memory_gib: r.memory_gib,
            microarchitectures: micro,
        };
        insert_unique(&mut instance_types, (p, key.clone()), value, IT, row)?;
        instance_providers.entry(key).or_default().push(p);
    }

    let mut cpu_power = HashMap::new();
    for (row, r) in rows::<CpuPowerRow>(CP, tables.cpu_power)? {
        let scope = if r.scope.eq_ignore_ascii_case("all") {
            None
        } else {
            Some(provider(CP, row, &r.scope)?)
        };
        let value = CpuPower {
            min_watts: ranged(
                CP,
                row,
                "min watts",
                r.min_watts_per_vcpu,
                r.min_low,
                r.min_high,
            )?,
            max_watts: ranged(
                CP,
                row,
                "max watts",
                r.max_watts_per_vcpu,
                r.max_low,
                r.max_high,
            )?,
        };
        let key = (r.microarchitecture.to_ascii_lowercase(), scope);
        insert_unique(&mut cpu_power, key, value, CP, row)?;
    }

    let mut providers: [Option<ProviderDefaults>; 6] = [None; 6];
    for (row, r) in rows::<ProviderRow>(PR, tables.providers)? {
        let p = provider(PR, row, &r.provider)?;
        let value = ProviderDefaults {
            pue: ranged(PR, row, "pue", r.pue, r.pue_low, r.pue_high)?,
            power: CpuPower {
                min_watts: ranged(
                    PR,
                    row,
                    "min watts",
                    r.min_watts_per_vcpu,
                    r.min_low,
                    r.min_high,
                )?,
                max_watts: ranged(
                    PR,
                    row,
                    "max watts",
                    r.max_watts_per_vcpu,
                    r.max_low,
                    r.max_high,
                )?,
            },
        };
        if providers[p.index()].replace(value).is_some() {
            return Err(ReferenceDataError {
                table: PR,
                row,
                message: format!("duplicate provider {p}"),
            });
        }
    }
    let mut provider_defaults = Vec::with_capacity(6);
    for p in Provider::KNOWN.into_iter().chain([Provider::Unknown]) {
        provider_defaults.push(providers[p.index()].ok_or_else(|| ReferenceDataError {
            table: PR,
            row: 0,
            message: format!("missing row for provider {p}"),
        })?);
    }
    let providers: [ProviderDefaults; 6] =
        provider_defaults
            .try_into()
            .map_err(|_| ReferenceDataError {
                table: PR,
                row: 0,
                message: "expected six providers".into(),
            })?;

    let mut region_pue = HashMap::new();
    for (row, r) in rows::<RegionPueRow>(RP, tables.region_pue)? {
        let p = provider(RP, row, &r.provider)?;
        let value = ranged(RP, row, "pue", r.pue, r.pue_low, r.pue_high)?;
        insert_unique(
            &mut region_pue,
            (p, r.region.to_ascii_lowercase()),
            value,
            RP,
            row,
        )?;
    }

    let mut zone_intensity = HashMap::new();
    for (row, r) in rows::<ZoneRow>(ZI, tables.zone_intensity)? {
        let value = ZoneIntensity {
            intensity: ranged(ZI, row, "intensity", r.gco2e_per_kwh, r.low, r.high)?,
            zone: r.zone.clone(),
            year: r.year,
            basis: r.basis,
        };
        insert_unique(
            &mut zone_intensity,
            r.zone.to_ascii_uppercase(),
            value,
            ZI,
            row,
        )?;
    }

    let mut region_zones = HashMap::new();
    let mut region_zones_any = HashMap::new();
    for (row, r) in rows::<RegionZoneRow>(RZ, tables.region_zones)? {
        let p = provider(RZ, row, &r.provider)?;
        for z in [&r.classic_zone, &r.zone] {
            if !zone_intensity.contains_key(&z.to_ascii_uppercase()) {
                return Err(ReferenceDataError {
                    table: RZ,
                    row,
                    message: format!("zone '{z}' has no row in zone_intensity.csv"),
                });
            }
        }
        let region = r.region.to_ascii_lowercase();
        let value = RegionZone {
            classic_zone: r.classic_zone,
            zone: r.zone,
        };
        region_zones_any.insert(region.clone(), value.clone());
        insert_unique(&mut region_zones, (p, region), value, RZ, row)?;
    }

    let mut embodied = HashMap::new();
    for (row, r) in rows::<EmbodiedRow>(EM, tables.embodied)? {
        let p = provider(EM, row, &r.provider)?;
        if !(r.lifespan_hours.is_finite() && r.lifespan_hours > 0.0) {
            return Err(ReferenceDataError {
                table: EM,
                row,
                message: format!("lifespan_hours must be > 0, got {}", r.lifespan_hours),
            });
        }
        let value = EmbodiedFigure {
            kgco2e: ranged(EM, row, "kgco2e", r.kgco2e, r.kgco2e_low, r.kgco2e_high)?,
            lifespan_hours: r.lifespan_hours,
            method: r.method,
        };
        insert_unique(
            &mut embodied,
            (p, r.instance_type.to_ascii_lowercase()),
            value,
            EM,
            row,
        )?;
    }

    let mut coefficients = HashMap::new();
    for (row, r) in rows::<CoefficientRow>(CO, tables.coefficients)? {
        let value = ranged(CO, row, &r.name, r.value, r.low, r.high)?;
        insert_unique(&mut coefficients, r.name, value, CO, row)?;
    }
    let get = |name: &str| -> Result<Ranged, ReferenceDataError> {
        coefficients
            .get(name)
            .copied()
            .ok_or_else(|| ReferenceDataError {
                table: CO,
                row: 0,
                message: format!("missing coefficient '{name}'"),
            })
    };
    let coefficients = Coefficients {
        memory_watts_per_gb: get("memory_watts_per_gb")?,
        default_intensity: get("default_intensity")?,
        default_embodied_kgco2e: get("default_embodied_kgco2e")?,
        lifespan_hours: get("lifespan_hours")?,
        classic_default_vcores: get("classic_default_vcores")?.point,
        classic_default_min_watts: get("classic_default_min_watts")?.point,
        classic_default_max_watts: get("classic_default_max_watts")?.point,
    };

    Ok(ReferenceData {
        version: tables.version(),
        instance_types,
        instance_providers,
        cpu_power,
        providers,
        region_pue,
        region_zones,
        region_zones_any,
        zone_intensity,
        embodied,
        coefficients,
    })
}
