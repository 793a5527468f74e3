//! Which queries Prometheus is asked, over which ranges: the windows of a range, their
//! evaluation times, the split into parts of at most [`MAX_POINTS_PER_QUERY`] points per series,
//! and the three usage queries of a window length.

use std::time::Duration;

use chrono::TimeDelta;
use greenkube_core::ports::TimeRange;

use super::{MAX_POINTS_PER_QUERY, MAX_WINDOWS, MIN_STEP};
use crate::sources::promql::{self, PromDuration};

/// The windows of a range and how they are queried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Plan {
    /// `range.from()` in whole milliseconds.
    pub(super) from_ms: i64,
    /// The window length, milliseconds.
    pub(super) step_ms: i64,
    /// Number of windows: `ceil((to - from) / step)`.
    pub(super) windows: usize,
    /// Most windows (points per series) in one query.
    pub(super) max_points: usize,
}

/// 9999-12-31T23:59:59.999Z, the last instant greenkube asks Prometheus about.
pub(super) const MAX_TIME_MS: i64 = 253_402_300_799_999;

/// A run of consecutive windows asked in one `query_range`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Chunk {
    /// Index of its first window in the range.
    pub(super) first: usize,
    /// Number of windows (points per series), at least 1.
    pub(super) len: usize,
    /// Evaluation time of its first window: that window's end, milliseconds.
    pub(super) eval_start_ms: i64,
}

impl Plan {
    pub(super) fn new(range: TimeRange, step: Duration, max_points: usize) -> Result<Self, String> {
        if step < MIN_STEP || !step.subsec_nanos().is_multiple_of(1_000_000) {
            return Err(format!(
                "the window length must be at least 1 s and a whole number of milliseconds, not {step:?}"
            ));
        }
        let step_ms = i64::try_from(step.as_millis())
            .map_err(|_| format!("the window length {step:?} is too long"))?;
        let span = range.to() - range.from();
        let span_ns =
            i128::from(span.num_seconds()) * 1_000_000_000 + i128::from(span.subsec_nanos());
        let step_ns = i128::from(step_ms) * 1_000_000;
        let windows = (span_ns + step_ns - 1) / step_ns;
        let windows = usize::try_from(windows)
            .ok()
            .filter(|w| *w <= MAX_WINDOWS)
            .ok_or_else(|| {
                format!(
                    "{range} holds {windows} windows of {step:?}, more than the {MAX_WINDOWS} one call may ask for"
                )
            })?;
        // The end of the last window (its evaluation time) must be a time both Prometheus and
        // chrono hold; then every window start and evaluation time before it is too.
        let from_ms = range.from().timestamp_millis();
        let last_end = step_ms
            .checked_mul(as_i64(windows))
            .and_then(|span| from_ms.checked_add(span))
            .filter(|end| *end <= MAX_TIME_MS)
            .and_then(|_| TimeDelta::try_milliseconds(step_ms.saturating_mul(as_i64(windows))))
            .and_then(|span| range.from().checked_add_signed(span));
        if last_end.is_none() {
            return Err(format!(
                "{range} in windows of {step:?} ends after the year 9999"
            ));
        }
        Ok(Self {
            from_ms,
            step_ms,
            windows,
            max_points: max_points.clamp(1, MAX_POINTS_PER_QUERY),
        })
    }

    /// The queries, in order: runs of at most `max_points` windows.
    pub(super) fn chunks(self) -> impl Iterator<Item = Chunk> {
        (0..self.windows)
            .step_by(self.max_points)
            .map(move |first| Chunk {
                first,
                len: self.max_points.min(self.windows - first),
                eval_start_ms: self.window_start_ms(first) + self.step_ms,
            })
    }

    /// Start of window `index`, milliseconds (`index < windows <= MAX_WINDOWS`, no overflow for
    /// any date chrono can represent).
    pub(super) fn window_start_ms(self, index: usize) -> i64 {
        self.from_ms + self.step_ms * as_i64(index)
    }
}

impl Chunk {
    /// Evaluation time of its last window.
    pub(super) fn eval_end_ms(self, step_ms: i64) -> i64 {
        self.eval_start_ms + step_ms * (as_i64(self.len) - 1)
    }

    /// The window (index in this chunk) whose evaluation time is `at_ms`, if any.
    pub(super) fn window_at(self, at_ms: i64, step_ms: i64) -> Option<usize> {
        let offset = at_ms.checked_sub(self.eval_start_ms)?;
        if offset < 0 || offset % step_ms != 0 {
            return None;
        }
        usize::try_from(offset / step_ms)
            .ok()
            .filter(|i| *i < self.len)
    }
}

/// The three usage queries for a window length.
pub(super) struct UsageQueries {
    pub(super) cpu: String,
    pub(super) memory: String,
    pub(super) restarts: String,
}

impl UsageQueries {
    pub(super) fn new(step_ms: i64) -> Result<Self, String> {
        let step = u64::try_from(step_ms)
            .ok()
            .and_then(PromDuration::from_millis)
            .ok_or_else(|| format!("invalid window length {step_ms} ms"))?;
        let too_short = || format!("the window length {step} is too short");
        Ok(Self {
            cpu: promql::cpu_cores(step),
            memory: promql::memory_bytes(step).ok_or_else(too_short)?,
            restarts: promql::restarts(step).ok_or_else(too_short)?,
        })
    }
}

/// A window count or index as `i64` (they are at most [`MAX_WINDOWS`]).
pub(super) fn as_i64(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Milliseconds since the epoch as Prometheus's decimal seconds (`1704067500.000`).
pub(super) fn unix_seconds(ms: i64) -> String {
    let sign = if ms < 0 { "-" } else { "" };
    let abs = ms.unsigned_abs();
    format!("{sign}{}.{:03}", abs / 1000, abs % 1000)
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::super::test_support::{T0, at, range};
    use super::*;

    #[test]
    fn windows_are_counted_by_their_start() {
        let five = Duration::from_secs(300);
        let plan = |from, to| Plan::new(range(from, to), five, MAX_POINTS_PER_QUERY);
        assert_eq!(plan(T0, T0).expect("empty").windows, 0);
        assert_eq!(plan(T0, T0 + 1).expect("one").windows, 1);
        assert_eq!(plan(T0, T0 + 300).expect("one").windows, 1);
        assert_eq!(plan(T0, T0 + 301).expect("two").windows, 2);
        assert_eq!(plan(T0, T0 + 7200).expect("24").windows, 24);
        let sub_ms = TimeRange::new(at(T0), at(T0) + TimeDelta::nanoseconds(1)).expect("ordered");
        assert_eq!(
            Plan::new(sub_ms, five, 10).expect("one").windows,
            1,
            "a nanosecond of range still starts a window"
        );
    }

    #[test]
    fn steps_that_prometheus_cannot_take_are_refused() {
        let r = range(T0, T0 + 3600);
        for step in [
            Duration::ZERO,
            Duration::from_millis(999),
            Duration::from_nanos(1_500_000_001),
        ] {
            let err = Plan::new(r, step, 100).expect_err("refused");
            assert!(err.contains("at least 1 s"), "{err}");
        }
        assert_eq!(
            Plan::new(r, Duration::from_millis(1500), 100)
                .expect("whole milliseconds")
                .windows,
            2400
        );
        let long = TimeRange::new(at(0), at(T0)).expect("ordered");
        let err = Plan::new(long, Duration::from_secs(1), 100).expect_err("too many windows");
        assert!(err.contains("1704067200 windows"), "{err}");
        let y9999 = Utc
            .with_ymd_and_hms(9999, 12, 31, 23, 0, 0)
            .single()
            .expect("valid time");
        let late = TimeRange::new(y9999, y9999 + TimeDelta::minutes(55)).expect("ordered");
        assert!(Plan::new(late, Duration::from_secs(300), 100).is_ok());
        let too_late = TimeRange::new(y9999, y9999 + TimeDelta::minutes(56)).expect("ordered");
        let err = Plan::new(too_late, Duration::from_secs(300), 100).expect_err("year 10000");
        assert!(err.ends_with("ends after the year 9999"), "{err}");
    }

    #[test]
    fn long_ranges_are_split_at_the_point_limit() {
        // A day of one-second windows: 86,400 points per series, in 8 queries of at most 11,000.
        let plan = Plan::new(
            range(T0, T0 + 86_400),
            Duration::from_secs(1),
            MAX_POINTS_PER_QUERY,
        )
        .expect("plan");
        let chunks: Vec<Chunk> = plan.chunks().collect();
        assert_eq!(chunks.len(), 8);
        assert!(chunks.iter().all(|c| c.len <= MAX_POINTS_PER_QUERY));
        assert_eq!(chunks.iter().map(|c| c.len).sum::<usize>(), 86_400);
        assert_eq!(
            chunks[0],
            Chunk {
                first: 0,
                len: 11_000,
                eval_start_ms: (T0 + 1) * 1000,
            }
        );
        assert_eq!(chunks[0].eval_end_ms(1000), (T0 + 11_000) * 1000);
        assert_eq!(
            chunks[7],
            Chunk {
                first: 77_000,
                len: 9_400,
                eval_start_ms: (T0 + 77_001) * 1000,
            }
        );
        assert_eq!(chunks[7].eval_end_ms(1000), (T0 + 86_400) * 1000);
        // Consecutive parts neither overlap nor leave a gap.
        for pair in chunks.windows(2) {
            assert_eq!(pair[0].first + pair[0].len, pair[1].first);
            assert_eq!(pair[0].eval_end_ms(1000) + 1000, pair[1].eval_start_ms);
        }
    }

    #[test]
    fn smaller_limits_split_further_and_are_clamped() {
        let plan = Plan::new(range(T0, T0 + 3000), Duration::from_secs(300), 4).expect("plan");
        let lens: Vec<(usize, usize)> = plan.chunks().map(|c| (c.first, c.len)).collect();
        assert_eq!(lens, vec![(0, 4), (4, 4), (8, 2)]);
        let clamped = Plan::new(range(T0, T0 + 3000), Duration::from_secs(300), 0).expect("plan");
        assert_eq!(clamped.max_points, 1);
        assert_eq!(clamped.chunks().count(), 10);
        let big = Plan::new(range(T0, T0 + 3000), Duration::from_secs(300), 1 << 40).expect("plan");
        assert_eq!(big.max_points, MAX_POINTS_PER_QUERY);
        assert_eq!(
            Plan::new(range(T0, T0), Duration::from_secs(300), 4)
                .expect("plan")
                .chunks()
                .count(),
            0
        );
    }

    #[test]
    fn samples_map_to_windows_only_at_evaluation_times() {
        let chunk = Chunk {
            first: 10,
            len: 3,
            eval_start_ms: 1_000_000,
        };
        assert_eq!(chunk.window_at(1_000_000, 300_000), Some(0));
        assert_eq!(chunk.window_at(1_600_000, 300_000), Some(2));
        assert_eq!(chunk.window_at(1_900_000, 300_000), None, "after the last");
        assert_eq!(chunk.window_at(700_000, 300_000), None, "before the first");
        assert_eq!(chunk.window_at(1_000_001, 300_000), None, "between two");
    }

    #[test]
    fn times_are_sent_as_decimal_seconds() {
        assert_eq!(unix_seconds(1_704_067_500_000), "1704067500.000");
        assert_eq!(unix_seconds(1_500), "1.500");
        assert_eq!(unix_seconds(-1_500), "-1.500");
        assert_eq!(unix_seconds(0), "0.000");
    }
}
