//! Physical and monetary quantities as newtypes over `f64`.
//!
//! Each type serialises as a bare number, so the JSON contracts stay plain, but inside the
//! engine a watt cannot be added to a gram by mistake. Only the arithmetic that makes physical
//! sense is implemented.

use std::ops::{Add, AddAssign, Div, Mul, Sub};

use serde::{Deserialize, Serialize};

macro_rules! quantity {
    ($(#[$meta:meta])* $name:ident, $unit:literal) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, Default, PartialEq, PartialOrd, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub f64);

        impl $name {
            /// Zero of this quantity.
            pub const ZERO: Self = Self(0.0);
            /// The unit this quantity is expressed in.
            pub const UNIT: &'static str = $unit;

            /// The raw value, in [`Self::UNIT`].
            #[inline]
            pub const fn value(self) -> f64 {
                self.0
            }

            /// True when the value is finite and not negative.
            #[inline]
            pub fn is_valid_amount(self) -> bool {
                self.0.is_finite() && self.0 >= 0.0
            }
        }

        impl Add for $name {
            type Output = Self;
            #[inline]
            fn add(self, rhs: Self) -> Self {
                Self(self.0 + rhs.0)
            }
        }

        impl AddAssign for $name {
            #[inline]
            fn add_assign(&mut self, rhs: Self) {
                self.0 += rhs.0;
            }
        }

        impl Sub for $name {
            type Output = Self;
            #[inline]
            fn sub(self, rhs: Self) -> Self {
                Self(self.0 - rhs.0)
            }
        }

        impl Mul<f64> for $name {
            type Output = Self;
            #[inline]
            fn mul(self, rhs: f64) -> Self {
                Self(self.0 * rhs)
            }
        }

        impl Div<f64> for $name {
            type Output = Self;
            #[inline]
            fn div(self, rhs: f64) -> Self {
                Self(self.0 / rhs)
            }
        }

        impl std::iter::Sum for $name {
            fn sum<I: Iterator<Item = Self>>(iter: I) -> Self {
                Self(iter.map(|q| q.0).sum())
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(formatter, "{} {}", self.0, $unit)
            }
        }
    };
}

quantity!(
    /// CPU, in cores (1.0 = one vCPU fully busy for the whole window).
    Cores,
    "cores"
);
quantity!(
    /// Memory, in bytes.
    Bytes,
    "B"
);
quantity!(
    /// Power, in watts.
    Watts,
    "W"
);
quantity!(
    /// Energy, in joules.
    Joules,
    "J"
);
quantity!(
    /// Mass of CO2-equivalent emissions, in grams.
    GramsCo2e,
    "gCO2e"
);
quantity!(
    /// Grid carbon intensity, in grams of CO2e per kilowatt-hour.
    GramsPerKwh,
    "gCO2e/kWh"
);
quantity!(
    /// Power usage effectiveness of a data centre (facility energy / IT energy, at least 1).
    Pue,
    ""
);
quantity!(
    /// Money, in the currency of the cost source (OpenCost reports in its configured currency).
    Money,
    ""
);
quantity!(
    /// A duration, in seconds.
    Seconds,
    "s"
);

/// Joules in one kilowatt-hour.
pub const JOULES_PER_KWH: f64 = 3_600_000.0;

/// Bytes in one GiB.
pub const BYTES_PER_GIB: f64 = 1_073_741_824.0;

impl Mul<Seconds> for Watts {
    type Output = Joules;
    #[inline]
    fn mul(self, rhs: Seconds) -> Joules {
        Joules(self.0 * rhs.0)
    }
}

impl Joules {
    /// Operational emissions of this energy: `kWh × PUE × intensity`.
    #[inline]
    pub fn emissions(self, pue: Pue, intensity: GramsPerKwh) -> GramsCo2e {
        GramsCo2e(self.0 / JOULES_PER_KWH * pue.0 * intensity.0)
    }
}

impl Bytes {
    /// This amount in GiB.
    #[inline]
    pub fn gib(self) -> f64 {
        self.0 / BYTES_PER_GIB
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn watts_times_seconds_is_joules() {
        assert_eq!(Watts(3.688) * Seconds(300.0), Joules(3.688 * 300.0));
    }

    #[test]
    fn emissions_follow_kwh_pue_intensity() {
        let e = Joules(7_200_000.0).emissions(Pue(1.3), GramsPerKwh(150.0));
        assert!((e.0 - 2.0 * 1.3 * 150.0).abs() < 1e-9);
    }

    #[test]
    fn validity_rejects_nan_negative_infinite() {
        assert!(Cores(0.0).is_valid_amount());
        assert!(!Cores(-0.1).is_valid_amount());
        assert!(!Cores(f64::NAN).is_valid_amount());
        assert!(!Cores(f64::INFINITY).is_valid_amount());
    }
}
