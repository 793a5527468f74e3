//! A point estimate with the interval it is known to lie in.
//!
//! The engine computes every figure three times, once with each coefficient at its low bound,
//! once at its point value and once at its high bound. All the model's formulas are monotone
//! (non-decreasing) in every coefficient and combine only non-negative quantities, so the
//! all-low and all-high evaluations bound the point estimate.

use std::ops::{Add, AddAssign, Mul};

use serde::{Serialize, Serializer};

/// A value with a low and a high bound, `low <= point <= high`.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Ranged {
    /// Best estimate.
    pub point: f64,
    /// Low bound.
    pub low: f64,
    /// High bound.
    pub high: f64,
}

impl Ranged {
    /// Zero, exactly.
    pub const ZERO: Self = Self::exact(0.0);

    /// A value known exactly (low = point = high).
    pub const fn exact(value: f64) -> Self {
        Self {
            point: value,
            low: value,
            high: value,
        }
    }

    /// A value with bounds; the bounds are widened if needed so they contain the point.
    pub fn new(point: f64, low: f64, high: f64) -> Self {
        Self {
            point,
            low: low.min(point),
            high: high.max(point),
        }
    }

    /// Multiplies each bound by a non-negative exact factor.
    #[inline]
    pub fn scale(self, factor: f64) -> Self {
        Self {
            point: self.point * factor,
            low: self.low * factor,
            high: self.high * factor,
        }
    }

    /// Divides by a positive quantity with its own range: the low bound is `low / other.high`.
    #[inline]
    pub fn div_ranged(self, other: Self) -> Self {
        Self {
            point: self.point / other.point,
            low: self.low / other.high,
            high: self.high / other.low,
        }
    }

    /// The interval as `[low, high]`.
    pub fn interval(self) -> [f64; 2] {
        [self.low, self.high]
    }

    /// True when `low <= point <= high` and all three are finite.
    pub fn is_consistent(self) -> bool {
        self.low.is_finite()
            && self.point.is_finite()
            && self.high.is_finite()
            && self.low <= self.point
            && self.point <= self.high
    }
}

impl Add for Ranged {
    type Output = Self;
    #[inline]
    fn add(self, rhs: Self) -> Self {
        Self {
            point: self.point + rhs.point,
            low: self.low + rhs.low,
            high: self.high + rhs.high,
        }
    }
}

impl AddAssign for Ranged {
    #[inline]
    fn add_assign(&mut self, rhs: Self) {
        *self = *self + rhs;
    }
}

/// Product of two non-negative ranged values.
impl Mul for Ranged {
    type Output = Self;
    #[inline]
    fn mul(self, rhs: Self) -> Self {
        Self {
            point: self.point * rhs.point,
            low: self.low * rhs.low,
            high: self.high * rhs.high,
        }
    }
}

impl Serialize for Ranged {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.interval())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_widens_to_contain_point() {
        let r = Ranged::new(5.0, 6.0, 4.0);
        assert!(r.is_consistent());
        assert_eq!((r.low, r.high), (5.0, 5.0));
    }

    #[test]
    fn product_of_non_negative_ranges_bounds_point() {
        let r = Ranged::new(2.0, 1.0, 3.0) * Ranged::new(10.0, 8.0, 11.0);
        assert_eq!(r, Ranged::new(20.0, 8.0, 33.0));
    }

    #[test]
    fn division_inverts_bounds() {
        let r = Ranged::exact(10.0).div_ranged(Ranged::new(2.0, 1.0, 5.0));
        assert_eq!((r.low, r.point, r.high), (2.0, 5.0, 10.0));
    }
}
