//! Grid intensity: the reference data's default intensity of a zone, shaped by a day-to-day
//! "weather" factor, a daily solar dip and an evening peak, hourly.

use std::f64::consts::PI;

use chrono::{DateTime, Utc};
use greenkube_core::ports::{IntensityPoint, SourceError, SourceErrorKind, SourceKind};
use greenkube_core::{Provider, ReferenceData};

use super::SyntheticCluster;
use super::random::{fnv, hash2, signed, unit};

impl SyntheticCluster {
    /// The synthetic grid intensity (gCO2e/kWh) of an electricity zone (`FR`, `US-MIDA-PJM`) or
    /// a cloud region or zone the reference data maps to one (`eu-west-3a`), in the hour of `t`;
    /// `None` for a zone the reference data does not know.
    pub fn intensity_at(&self, zone: &str, t: DateTime<Utc>) -> Option<f64> {
        let reference = ReferenceData::try_embedded().ok()?;
        let canonical = match reference.zone_intensity(zone) {
            Some(z) => z,
            None => {
                let (mapped, _) = reference.map_zone(zone, Provider::Unknown, false)?;
                reference.zone_intensity(mapped)?
            }
        };
        let base = canonical.intensity.point;
        let (depth, offset_hours) = zone_shape(&canonical.zone);
        let hour = t.timestamp().div_euclid(3600);
        let day = (hour + offset_hours).div_euclid(24);
        let local = (hour + offset_hours).rem_euclid(24) as f64 + 0.5;
        let zone_key = fnv(&canonical.zone);
        let weather = 0.85 + 0.3 * unit(hash2(self.seed ^ zone_key, day as u64));
        let solar = if (6.0..=20.0).contains(&local) {
            (PI * (local - 6.0) / 14.0).sin()
        } else {
            0.0
        };
        let evening = (-((local - 19.0) / 1.5).powi(2)).exp();
        let noise = 1.0 + 0.03 * signed(hash2(zone_key ^ self.seed.rotate_left(7), hour as u64));
        Some((base * weather * (1.0 - depth * solar) * (1.0 + 0.1 * evening) * noise).max(0.0))
    }

    pub(super) fn intensity_points(
        &self,
        zone: &str,
        hours: std::ops::RangeInclusive<i64>,
        source: &str,
    ) -> Result<Vec<IntensityPoint>, SourceError> {
        let now = self.config.now.timestamp().div_euclid(3600) * 3600;
        hours
            .map(|h| {
                let at = DateTime::from_timestamp(now.saturating_add(h * 3600), 0)
                    .ok_or_else(|| intensity_error(zone, "time out of range"))?;
                let value = self
                    .intensity_at(zone, at)
                    .ok_or_else(|| intensity_error(zone, "unknown zone"))?;
                Ok(IntensityPoint {
                    zone: zone.trim().to_string(),
                    at,
                    gco2e_per_kwh: value,
                    source: source.to_string(),
                })
            })
            .collect()
    }
}

/// Depth of the daily solar dip and UTC offset (hours) of an electricity zone.
fn zone_shape(zone: &str) -> (f64, i64) {
    match zone {
        "FR" => (0.12, 1),
        "DE" => (0.35, 1),
        "BE" => (0.25, 1),
        "NL" => (0.3, 1),
        "IE" | "GB" => (0.15, 0),
        "SE-SE3" | "FI" => (0.05, 1),
        "PL" => (0.15, 1),
        "US-MIDA-PJM" => (0.12, -5),
        "US-MIDW-MISO" => (0.15, -6),
        _ => (0.2, 0),
    }
}

pub(super) fn intensity_error(zone: &str, what: &str) -> SourceError {
    SourceError::new(
        SourceKind::ElectricityMaps,
        SourceErrorKind::NotFound,
        format!("synthetic grid: {what} for zone {}", zone.trim()),
    )
}
