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
        known => Ok(known),
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
        Entry::Occupied(entry) => Err(ReferenceDataError {
            table,
            row,
            message: format!("duplicate key {:?}", entry.key()),
        }),
        Entry::Vacant(entry) => {
            entry.insert(value);
            Ok(())
        }
    }
}

pub(super) fn parse(tables: &Tables<'_>) -> Result<ReferenceData, ReferenceDataError> {
    const INSTANCE_TYPES: &str = "instance_types.csv";
    const CPU_POWER: &str = "cpu_power.csv";
    const PROVIDERS: &str = "providers.csv";
    const REGION_PUE: &str = "region_pue.csv";
    const ZONE_INTENSITY: &str = "zone_intensity.csv";
    const REGION_ZONES: &str = "region_zones.csv";
    const EMBODIED: &str = "embodied.csv";
    const COEFFICIENTS: &str = "coefficients.csv";
    let mut instance_types = HashMap::new();
    let mut instance_providers: HashMap<String, Vec<Provider>> = HashMap::new();
    for (row, record) in rows::<InstanceRow>(INSTANCE_TYPES, tables.instance_types)? {
        let row_provider = provider(INSTANCE_TYPES, row, &record.provider)?;
        if !(record.vcpus.is_finite() && record.vcpus > 0.0) {
            return Err(ReferenceDataError {
                table: INSTANCE_TYPES,
                row,
                message: format!("vcpus must be > 0, got {}", record.vcpus),
            });
        }
        let key = record.instance_type.to_ascii_lowercase();
        let micro = record
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
            provider: row_provider,
            name: record.instance_type,
            vcpus: record.vcpus,
            memory_gib: record.memory_gib,
            microarchitectures: micro,
        };
        insert_unique(
            &mut instance_types,
            (row_provider, key.clone()),
            value,
            INSTANCE_TYPES,
            row,
        )?;
        instance_providers
            .entry(key)
            .or_default()
            .push(row_provider);
    }

    let mut cpu_power = HashMap::new();
    for (row, record) in rows::<CpuPowerRow>(CPU_POWER, tables.cpu_power)? {
        let scope = if record.scope.eq_ignore_ascii_case("all") {
            None
        } else {
            Some(provider(CPU_POWER, row, &record.scope)?)
        };
        let value = CpuPower {
            min_watts: ranged(
                CPU_POWER,
                row,
                "min watts",
                record.min_watts_per_vcpu,
                record.min_low,
                record.min_high,
            )?,
            max_watts: ranged(
                CPU_POWER,
                row,
                "max watts",
                record.max_watts_per_vcpu,
                record.max_low,
                record.max_high,
            )?,
        };
        let key = (record.microarchitecture.to_ascii_lowercase(), scope);
        insert_unique(&mut cpu_power, key, value, CPU_POWER, row)?;
    }

    let mut providers: [Option<ProviderDefaults>; 6] = [None; 6];
    for (row, record) in rows::<ProviderRow>(PROVIDERS, tables.providers)? {
        let row_provider = provider(PROVIDERS, row, &record.provider)?;
        let value = ProviderDefaults {
            pue: ranged(
                PROVIDERS,
                row,
                "pue",
                record.pue,
                record.pue_low,
                record.pue_high,
            )?,
            power: CpuPower {
                min_watts: ranged(
                    PROVIDERS,
                    row,
                    "min watts",
                    record.min_watts_per_vcpu,
                    record.min_low,
                    record.min_high,
                )?,
                max_watts: ranged(
                    PROVIDERS,
                    row,
                    "max watts",
                    record.max_watts_per_vcpu,
                    record.max_low,
                    record.max_high,
                )?,
            },
        };
        if providers[row_provider.index()].replace(value).is_some() {
            return Err(ReferenceDataError {
                table: PROVIDERS,
                row,
                message: format!("duplicate provider {row_provider}"),
            });
        }
    }
    let mut provider_defaults = Vec::with_capacity(6);
    for known in Provider::KNOWN.into_iter().chain([Provider::Unknown]) {
        provider_defaults.push(providers[known.index()].ok_or_else(|| ReferenceDataError {
            table: PROVIDERS,
            row: 0,
            message: format!("missing row for provider {known}"),
        })?);
    }
    let providers: [ProviderDefaults; 6] =
        provider_defaults
            .try_into()
            .map_err(|_| ReferenceDataError {
                table: PROVIDERS,
                row: 0,
                message: "expected six providers".into(),
            })?;

    let mut region_pue = HashMap::new();
    for (row, record) in rows::<RegionPueRow>(REGION_PUE, tables.region_pue)? {
        let row_provider = provider(REGION_PUE, row, &record.provider)?;
        let value = ranged(
            REGION_PUE,
            row,
            "pue",
            record.pue,
            record.pue_low,
            record.pue_high,
        )?;
        insert_unique(
            &mut region_pue,
            (row_provider, record.region.to_ascii_lowercase()),
            value,
            REGION_PUE,
            row,
        )?;
    }

    let mut zone_intensity = HashMap::new();
    for (row, record) in rows::<ZoneRow>(ZONE_INTENSITY, tables.zone_intensity)? {
        let value = ZoneIntensity {
            intensity: ranged(
                ZONE_INTENSITY,
                row,
                "intensity",
                record.gco2e_per_kwh,
                record.low,
                record.high,
            )?,
            zone: record.zone.clone(),
            year: record.year,
            basis: record.basis,
        };
        insert_unique(
            &mut zone_intensity,
            record.zone.to_ascii_uppercase(),
            value,
            ZONE_INTENSITY,
            row,
        )?;
    }

    let mut region_zones = HashMap::new();
    let mut region_zones_any = HashMap::new();
    for (row, record) in rows::<RegionZoneRow>(REGION_ZONES, tables.region_zones)? {
        let row_provider = provider(REGION_ZONES, row, &record.provider)?;
        for zone in [&record.classic_zone, &record.zone] {
            if !zone_intensity.contains_key(&zone.to_ascii_uppercase()) {
                return Err(ReferenceDataError {
                    table: REGION_ZONES,
                    row,
                    message: format!("zone '{zone}' has no row in zone_intensity.csv"),
                });
            }
        }
        let region = record.region.to_ascii_lowercase();
        let value = RegionZone {
            classic_zone: record.classic_zone,
            zone: record.zone,
        };
        region_zones_any.insert(region.clone(), value.clone());
        insert_unique(
            &mut region_zones,
            (row_provider, region),
            value,
            REGION_ZONES,
            row,
        )?;
    }

    let mut embodied = HashMap::new();
    for (row, record) in rows::<EmbodiedRow>(EMBODIED, tables.embodied)? {
        let row_provider = provider(EMBODIED, row, &record.provider)?;
        if !(record.lifespan_hours.is_finite() && record.lifespan_hours > 0.0) {
            return Err(ReferenceDataError {
                table: EMBODIED,
                row,
                message: format!("lifespan_hours must be > 0, got {}", record.lifespan_hours),
            });
        }
        let value = EmbodiedFigure {
            kgco2e: ranged(
                EMBODIED,
                row,
                "kgco2e",
                record.kgco2e,
                record.kgco2e_low,
                record.kgco2e_high,
            )?,
            lifespan_hours: record.lifespan_hours,
            method: record.method,
        };
        insert_unique(
            &mut embodied,
            (row_provider, record.instance_type.to_ascii_lowercase()),
            value,
            EMBODIED,
            row,
        )?;
    }

    let mut coefficients = HashMap::new();
    for (row, record) in rows::<CoefficientRow>(COEFFICIENTS, tables.coefficients)? {
        let value = ranged(
            COEFFICIENTS,
            row,
            &record.name,
            record.value,
            record.low,
            record.high,
        )?;
        insert_unique(&mut coefficients, record.name, value, COEFFICIENTS, row)?;
    }
    let get = |name: &str| -> Result<Ranged, ReferenceDataError> {
        coefficients
            .get(name)
            .copied()
            .ok_or_else(|| ReferenceDataError {
                table: COEFFICIENTS,
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
