//! Half-open time ranges.

use std::fmt;

use chrono::{DateTime, Utc};

/// A half-open range of instants, `[from, to)`. A window belongs to a range when its **start**
/// does: `from <= window_start < to`. Consecutive ranges therefore never share a window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TimeRange {
    from: DateTime<Utc>,
    to: DateTime<Utc>,
}

/// `to` is before `from`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("time range ends ({to}) before it starts ({from})")]
pub struct TimeRangeError {
    /// Start given.
    pub from: DateTime<Utc>,
    /// End given.
    pub to: DateTime<Utc>,
}

impl TimeRange {
    /// The range `[from, to)`. `from == to` is an empty range; `to < from` is an error.
    pub fn new(from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Self, TimeRangeError> {
        if to < from {
            Err(TimeRangeError { from, to })
        } else {
            Ok(Self { from, to })
        }
    }

    /// Inclusive start.
    pub fn from(self) -> DateTime<Utc> {
        self.from
    }

    /// Exclusive end.
    pub fn to(self) -> DateTime<Utc> {
        self.to
    }

    /// True when `from <= instant < to`.
    pub fn contains(self, instant: DateTime<Utc>) -> bool {
        self.from <= instant && instant < self.to
    }

    /// True when no instant is in the range.
    pub fn is_empty(self) -> bool {
        self.from == self.to
    }
}

impl fmt::Display for TimeRange {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            formatter,
            "[{}, {})",
            self.from
                .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
            self.to.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn half_open() {
        let a = Utc.with_ymd_and_hms(2025, 6, 2, 10, 0, 0).unwrap();
        let b = Utc.with_ymd_and_hms(2025, 6, 2, 11, 0, 0).unwrap();
        let r = TimeRange::new(a, b).unwrap();
        assert!(r.contains(a));
        assert!(!r.contains(b));
        assert!(!r.is_empty());
        assert!(TimeRange::new(a, a).unwrap().is_empty());
        assert_eq!(TimeRange::new(b, a), Err(TimeRangeError { from: b, to: a }));
        assert_eq!(
            r.to_string(),
            "[2025-06-02T10:00:00Z, 2025-06-02T11:00:00Z)"
        );
    }
}
