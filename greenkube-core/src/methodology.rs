//! Methodologies and estimation options.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{SnapshotError, UnknownNameError};

/// How figures are computed. Every result names the methodology (and its version) that made it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Methodology {
    /// GreenKube 0.2's model: CPU-only linear power between per-vCPU idle and full-load watts
    /// (provider averages), idle power shared by CPU share, PUE per provider, embodied share by
    /// CPU. Same inputs, same numbers as GreenKube 0.2.12, without its bugs.
    Classic,
    /// The default: `classic` plus memory energy, per-microarchitecture CPU coefficients, the
    /// node's real capacity for unknown types, an explicit idle-attribution policy, per-region
    /// PUE, corrected region-to-zone mappings, the reference embodied table, and an energy
    /// conservation guarantee (pods + overhead = node).
    #[default]
    Full,
}

impl Methodology {
    /// Every methodology, default last.
    pub const ALL: [Self; 2] = [Self::Classic, Self::Full];

    /// Name as used on the command line and in results.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Classic => "classic",
            Self::Full => "full",
        }
    }

    /// Version of the methodology's formulas; bumped whenever a formula changes a figure.
    pub const fn version(self) -> &'static str {
        match self {
            Self::Classic => "1.0.0",
            Self::Full => "1.0.0",
        }
    }

    /// One-line description.
    pub const fn summary(self) -> &'static str {
        match self {
            Self::Classic => "GreenKube 0.2 parity: CPU-only linear model, provider averages",
            Self::Full => {
                "CPU + memory, per-microarchitecture coefficients, idle policy, conservation"
            }
        }
    }
}

impl fmt::Display for Methodology {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.name())
    }
}

impl FromStr for Methodology {
    type Err = UnknownNameError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|m| m.name().eq_ignore_ascii_case(text.trim()))
            .ok_or_else(|| UnknownNameError {
                what: "methodology",
                given: text.to_string(),
                expected: "classic, full",
            })
    }
}

/// How the `full` methodology attributes a node's idle power (CPU idle watts and the memory
/// power not explained by pod usage).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IdlePolicy {
    /// By reservation: each pod gets the share of the node it reserves, `max(request, usage) /
    /// capacity` (normalised if the node is over-committed); what no pod reserves stays on the
    /// node as overhead. The default: a pod pays for the capacity it holds.
    #[default]
    Request,
    /// By CPU usage share (GreenKube's rule); split evenly when no pod used CPU.
    Usage,
    /// Evenly between the node's pods.
    Even,
    /// Not attributed: kept as the node's overhead row.
    Overhead,
}

impl IdlePolicy {
    /// Every policy.
    pub const ALL: [Self; 4] = [Self::Request, Self::Usage, Self::Even, Self::Overhead];

    /// Name as used on the command line and in results.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Request => "request",
            Self::Usage => "usage",
            Self::Even => "even",
            Self::Overhead => "overhead",
        }
    }
}

impl fmt::Display for IdlePolicy {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.name())
    }
}

impl FromStr for IdlePolicy {
    type Err = UnknownNameError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|m| m.name().eq_ignore_ascii_case(text.trim()))
            .ok_or_else(|| UnknownNameError {
                what: "idle policy",
                given: text.to_string(),
                expected: "request, usage, even, overhead",
            })
    }
}

/// GreenKube's default instance profile (`DEFAULT_INSTANCE_VCORES`, `_MIN_WATTS`, `_MAX_WATTS`),
/// used by `classic` for unknown instance types.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DefaultProfile {
    /// vCPUs of the default instance (0 means the watts are per core).
    pub vcores: f64,
    /// Idle watts of the whole default instance.
    pub min_watts: f64,
    /// Full-load watts of the whole default instance.
    pub max_watts: f64,
}

/// Options of one estimation.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EstimateOptions {
    /// The methodology.
    pub methodology: Methodology,
    /// Idle attribution (`full` only; `classic` always shares idle power by CPU usage).
    pub idle_policy: IdlePolicy,
    /// Electricity zone for nodes whose zone and region are unknown.
    pub default_zone: Option<String>,
    /// Intensity (gCO2e/kWh) used when a zone has neither a measured nor a default value;
    /// the reference data's global default (500) when absent.
    pub default_intensity: Option<f64>,
    /// Override of GreenKube's default instance profile for `classic`.
    pub classic_default_profile: Option<DefaultProfile>,
}

impl EstimateOptions {
    /// Checks the options' values: a default intensity must be finite and not negative, a
    /// default zone not empty, a default profile's figures finite and not negative.
    pub fn validate(&self) -> Result<(), SnapshotError> {
        let invalid = |field: &str, value: f64, reason| SnapshotError::InvalidValue {
            field: field.to_string(),
            value,
            reason,
        };
        if let Some(intensity) = self.default_intensity
            && !(intensity.is_finite() && intensity >= 0.0)
        {
            return Err(invalid(
                "default_intensity",
                intensity,
                "must be a finite intensity in gCO2e/kWh, not negative",
            ));
        }
        if let Some(zone) = &self.default_zone
            && zone.trim().is_empty()
        {
            return Err(SnapshotError::EmptyName {
                field: "default_zone".to_string(),
            });
        }
        if let Some(profile) = &self.classic_default_profile {
            for (field, value) in [
                ("classic_default_profile.vcores", profile.vcores),
                ("classic_default_profile.min_watts", profile.min_watts),
                ("classic_default_profile.max_watts", profile.max_watts),
            ] {
                if !(value.is_finite() && value >= 0.0) {
                    return Err(invalid(field, value, "must be finite and not negative"));
                }
            }
        }
        Ok(())
    }

    /// Default options for a methodology.
    pub fn new(methodology: Methodology) -> Self {
        Self {
            methodology,
            ..Self::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for m in Methodology::ALL {
            assert_eq!(m.name().parse::<Methodology>().unwrap(), m);
        }
        for p in IdlePolicy::ALL {
            assert_eq!(p.name().parse::<IdlePolicy>().unwrap(), p);
        }
        let err = "fancy".parse::<Methodology>().unwrap_err();
        assert!(err.to_string().contains("classic, full"));
    }
}
