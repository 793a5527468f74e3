//! Roll-ups and retention of footprint rows.
//!
//! Raw rows (one per pod and window) are summed into **hourly** roll-ups (one row per pod and
//! hour) and those into **daily** roll-ups (one per pod and day). A roll-up row keeps everything
//! a report needs: the group keys, every figure with its bounds, the cost of the rows that had
//! one, and the counts of rows, estimated rows and rows without cost. So a report can read a
//! whole hour or day from one row per pod instead of twelve or 288, and gives the same totals.
//!
//! [`FootprintRepository::maintain`](crate::ports::FootprintRepository::maintain) does the work:
//!
//! 1. rolls up every complete hour (its end at or before `now`) written since it was last
//!    rolled up, then every complete day whose hours are all rolled up;
//! 2. **seals** history: raw rows of hours before `now - policy.raw` (cut at a whole hour) are
//!    deleted, hourly roll-ups of days before `now - policy.hourly` (cut at a whole day) too,
//!    and, when `policy.daily` is set, daily roll-ups older than that.
//!
//! Windows belong to the hour of their **start** (the same rule as [`TimeRange`]), so a cut at
//! a whole hour never splits a window and no part of an hour is lost or counted twice. A write
//! into an hour that was already rolled up marks that hour (and its day) stale; reads ignore
//! stale roll-ups and the next `maintain` redoes them. Sealed history is final: a write of a
//! window that starts before the raw cut is refused (`Conflict`), because the raw rows it would
//! replace are gone.
//!
//! Reads ([`ReadPlan`]) take, for each part of the range, the coarsest source that is exact:
//! a daily roll-up for a whole day inside the range that is rolled up (unless the report is by
//! hour), an hourly roll-up for a whole hour inside the range that is rolled up, raw rows for
//! the rest. In sealed history only roll-ups remain, so a range that starts or ends inside a
//! sealed hour (or a sealed day) is widened to whole hours (days): [`RetentionState::effective_range`].
//! A report by hour over days whose hourly detail is gone is refused.

use std::collections::BTreeSet;
use std::fmt;

use chrono::{DateTime, DurationRound, TimeDelta, Utc};

use crate::aggregate::Period;
use crate::ports::records::WindowRecords;
use crate::ports::store_error::StoreError;
use crate::ports::time_range::TimeRange;

/// How long each level of detail is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetentionPolicy {
    raw: TimeDelta,
    hourly: TimeDelta,
    daily: Option<TimeDelta>,
}

/// A retention policy that cannot work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid retention: {0}")]
pub struct RetentionError(String);

impl RetentionPolicy {
    /// Raw rows for `raw`, hourly roll-ups for `hourly`, daily roll-ups for `daily` (`None`:
    /// forever). Each level must be kept at least one hour, and at least as long as the finer
    /// one (raw ≤ hourly ≤ daily), so history always has one exact source.
    pub fn new(
        raw: TimeDelta,
        hourly: TimeDelta,
        daily: Option<TimeDelta>,
    ) -> Result<Self, RetentionError> {
        if raw < TimeDelta::hours(1) {
            return Err(RetentionError(format!(
                "raw rows must be kept at least one hour (got {})",
                human(raw)
            )));
        }
        if hourly < raw {
            return Err(RetentionError(format!(
                "hourly roll-ups ({}) must be kept at least as long as raw rows ({})",
                human(hourly),
                human(raw)
            )));
        }
        if let Some(daily) = daily
            && daily < hourly
        {
            return Err(RetentionError(format!(
                "daily roll-ups ({}) must be kept at least as long as hourly ones ({})",
                human(daily),
                human(hourly)
            )));
        }
        Ok(Self { raw, hourly, daily })
    }

    /// How long raw rows are kept.
    pub fn raw(&self) -> TimeDelta {
        self.raw
    }

    /// How long hourly roll-ups are kept.
    pub fn hourly(&self) -> TimeDelta {
        self.hourly
    }

    /// How long daily roll-ups are kept (`None`: forever).
    pub fn daily(&self) -> Option<TimeDelta> {
        self.daily
    }

    /// The cuts this policy asks for at `now`: raw rows before a whole hour, hourly roll-ups
    /// before a whole day, daily roll-ups before a whole day.
    pub fn cuts(&self, now: DateTime<Utc>) -> RetentionState {
        let sub = |d: TimeDelta| {
            now.checked_sub_signed(d)
                .unwrap_or(DateTime::<Utc>::MIN_UTC)
        };
        RetentionState {
            raw_before: Some(floor_time(sub(self.raw), TimeDelta::hours(1))),
            hourly_before: Some(floor_time(sub(self.hourly), TimeDelta::days(1))),
            daily_before: self.daily.map(|d| floor_time(sub(d), TimeDelta::days(1))),
        }
    }
}

impl Default for RetentionPolicy {
    /// Raw rows 7 days, hourly roll-ups 90 days, daily roll-ups forever.
    fn default() -> Self {
        Self {
            raw: TimeDelta::days(7),
            hourly: TimeDelta::days(90),
            daily: None,
        }
    }
}

impl fmt::Display for RetentionPolicy {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            formatter,
            "raw {}, hourly {}, daily {}",
            human(self.raw),
            human(self.hourly),
            self.daily.map_or_else(|| "forever".to_string(), human)
        )
    }
}

fn human(delta: TimeDelta) -> String {
    if delta.num_hours() % 24 == 0 && delta.num_hours() != 0 {
        format!("{}d", delta.num_days())
    } else if delta.num_minutes() % 60 == 0 {
        format!("{}h", delta.num_hours())
    } else {
        format!("{}m", delta.num_minutes())
    }
}

/// Where history is sealed: before each cut only the coarser level remains. `None`: never cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RetentionState {
    /// Raw rows of windows starting before this (a whole hour) are gone.
    pub raw_before: Option<DateTime<Utc>>,
    /// Hourly roll-ups of hours before this (a whole day) are gone.
    pub hourly_before: Option<DateTime<Utc>>,
    /// Daily roll-ups of days before this are gone: nothing is left of that history.
    pub daily_before: Option<DateTime<Utc>>,
}

impl RetentionState {
    /// The state after applying `cuts`: every cut only moves forward, and a finer level is never
    /// cut before a coarser one.
    #[must_use]
    pub fn advance(self, cuts: RetentionState) -> RetentionState {
        let later = |a: Option<DateTime<Utc>>, b: Option<DateTime<Utc>>| a.max(b);
        let raw = later(self.raw_before, cuts.raw_before);
        let hourly = later(self.hourly_before, cuts.hourly_before).min(raw);
        let daily = later(self.daily_before, cuts.daily_before).min(hourly);
        RetentionState {
            raw_before: raw,
            hourly_before: hourly,
            daily_before: daily,
        }
    }

    /// True when a window starting at `start` falls in sealed history (its raw rows are gone,
    /// so it cannot be written again).
    pub fn is_sealed(&self, start: DateTime<Utc>) -> bool {
        self.raw_before.is_some_and(|cut| start < cut)
    }

    /// Refuses (`Conflict`) a window in sealed history, naming the window and the cut.
    pub fn check_writable(
        &self,
        backend: &'static str,
        window: &WindowRecords,
    ) -> Result<(), StoreError> {
        match self.raw_before {
            Some(cut) if window.window_start < cut => Err(StoreError::conflict(
                backend,
                format!(
                    "window {} of cluster {} is in sealed history: raw rows before {cut} were \
                     rolled up and removed by retention, so it cannot be written again",
                    window.window_start,
                    window.cluster.as_deref().unwrap_or("(none)")
                ),
            )),
            _ => Ok(()),
        }
    }

    /// Refuses (`InvalidData`, [`HourlyDetailGone`]) a report by hour over an (effective) range
    /// that reaches days whose hourly detail is gone.
    pub fn check_period(
        &self,
        backend: &'static str,
        range: TimeRange,
        period: Option<Period>,
    ) -> Result<(), StoreError> {
        match self.hourly_before {
            Some(cut)
                if period == Some(Period::Hour)
                    && range.from() < cut
                    && range.from() < range.to() =>
            {
                Err(StoreError::invalid_data(
                    backend,
                    HourlyDetailGone { cut }.to_string(),
                ))
            }
            _ => Ok(()),
        }
    }

    /// `range` widened to whole hours where it starts or ends in sealed hours, and to whole days
    /// where it starts or ends in days whose hourly roll-ups are gone.
    pub fn effective_range(&self, range: TimeRange) -> TimeRange {
        let raw = self.raw_before.unwrap_or(DateTime::<Utc>::MIN_UTC);
        let hourly = self.hourly_before.unwrap_or(DateTime::<Utc>::MIN_UTC);
        let round = |t: DateTime<Utc>, up: bool| {
            let step = if t < hourly {
                TimeDelta::days(1)
            } else if t < raw {
                TimeDelta::hours(1)
            } else {
                return t;
            };
            if up {
                ceil_time(t, step)
            } else {
                floor_time(t, step)
            }
        };
        let from = round(range.from(), false);
        let to = round(range.to(), true).max(from);
        TimeRange::new(from, to).unwrap_or(range)
    }
}

/// Where a part of a read comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReadSource {
    /// Raw rows (one per pod and window), by window start.
    Raw,
    /// Hourly roll-ups, by hour start.
    Hourly,
    /// Daily roll-ups, by day start.
    Daily,
}

/// The sources a read over a range combines, each over disjoint half-open ranges that together
/// cover the effective range exactly once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadPlan {
    /// The range actually read (see [`RetentionState::effective_range`]).
    pub range: TimeRange,
    /// Ranges of window starts read from raw rows, in order.
    pub raw: Vec<TimeRange>,
    /// Ranges of hours read from hourly roll-ups (whole hours), in order.
    pub hourly: Vec<TimeRange>,
    /// Ranges of days read from daily roll-ups (whole days), in order.
    pub daily: Vec<TimeRange>,
}

/// A read that retention made impossible.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "hourly detail before {cut} is no longer kept (retention); report per day, week or month, \
     or start the range at {cut} or later"
)]
pub struct HourlyDetailGone {
    /// Where hourly detail starts.
    pub cut: DateTime<Utc>,
}

impl ReadPlan {
    /// Plans a read of `range` bucketed by `period`, given the retention state and the hours
    /// and days whose roll-ups are current within the effective range.
    pub fn new(
        range: TimeRange,
        period: Option<Period>,
        state: &RetentionState,
        rolled_hours: &BTreeSet<DateTime<Utc>>,
        rolled_days: &BTreeSet<DateTime<Utc>>,
    ) -> Result<Self, HourlyDetailGone> {
        let effective = state.effective_range(range);
        let hourly_cut = state.hourly_before.unwrap_or(DateTime::<Utc>::MIN_UTC);
        let raw_cut = state.raw_before.unwrap_or(DateTime::<Utc>::MIN_UTC);
        let by_hour = period == Some(Period::Hour);
        if by_hour && effective.from() < hourly_cut && effective.from() < effective.to() {
            return Err(HourlyDetailGone { cut: hourly_cut });
        }
        let hour = TimeDelta::hours(1);
        let day = TimeDelta::days(1);
        let mut plan = Self {
            range: effective,
            raw: Vec::new(),
            hourly: Vec::new(),
            daily: Vec::new(),
        };
        let to = effective.to();
        let mut cursor = effective.from();
        while cursor < to {
            if cursor < hourly_cut {
                let end = hourly_cut.min(to);
                plan.push(ReadSource::Daily, cursor, end);
                cursor = end;
                continue;
            }
            let (fallback, era_end) = if cursor < raw_cut {
                (ReadSource::Hourly, raw_cut.min(to))
            } else {
                (ReadSource::Raw, to)
            };
            let next_day = if by_hour {
                None
            } else {
                rolled_days
                    .range(cursor..)
                    .next()
                    .copied()
                    .filter(|d| *d + day <= era_end)
            };
            let next_hour = if fallback == ReadSource::Raw {
                rolled_hours
                    .range(cursor..)
                    .next()
                    .copied()
                    .filter(|h| *h + hour <= era_end)
            } else {
                None
            };
            let chosen = match (next_day, next_hour) {
                (Some(day_start), Some(hour_start)) if hour_start < day_start => {
                    Some((ReadSource::Hourly, hour_start, hour_start + hour))
                }
                (Some(day_start), _) => Some((ReadSource::Daily, day_start, day_start + day)),
                (None, Some(hour_start)) => {
                    Some((ReadSource::Hourly, hour_start, hour_start + hour))
                }
                (None, None) => None,
            };
            match chosen {
                Some((source, start, end)) => {
                    plan.push(fallback, cursor, start);
                    plan.push(source, start, end);
                    cursor = end;
                }
                None => {
                    plan.push(fallback, cursor, era_end);
                    cursor = era_end;
                }
            }
        }
        Ok(plan)
    }

    fn push(&mut self, source: ReadSource, from: DateTime<Utc>, to: DateTime<Utc>) {
        if from >= to {
            return;
        }
        let list = match source {
            ReadSource::Raw => &mut self.raw,
            ReadSource::Hourly => &mut self.hourly,
            ReadSource::Daily => &mut self.daily,
        };
        if let Some(last) = list.last_mut()
            && last.to() == from
            && let Ok(merged) = TimeRange::new(last.from(), to)
        {
            *last = merged;
            return;
        }
        if let Ok(range) = TimeRange::new(from, to) {
            list.push(range);
        }
    }
}

/// `time` rounded down to a multiple of `step` since the epoch.
pub fn floor_time(time: DateTime<Utc>, step: TimeDelta) -> DateTime<Utc> {
    time.duration_trunc(step).unwrap_or(time)
}

/// `time` rounded up to a multiple of `step` since the epoch.
pub fn ceil_time(time: DateTime<Utc>, step: TimeDelta) -> DateTime<Utc> {
    let down = floor_time(time, step);
    if down == time {
        time
    } else {
        down.checked_add_signed(step).unwrap_or(time)
    }
}

/// What one [`FootprintRepository::maintain`](crate::ports::FootprintRepository::maintain) did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MaintenanceSummary {
    /// Hours rolled up (or rolled up again after a late write).
    pub hours_rolled: usize,
    /// Days rolled up.
    pub days_rolled: usize,
    /// Raw pod and node rows deleted by retention.
    pub raw_rows_deleted: u64,
    /// Hourly roll-up rows deleted by retention.
    pub hourly_rows_deleted: u64,
    /// Daily roll-up rows deleted by retention.
    pub daily_rows_deleted: u64,
    /// The retention state afterwards.
    pub state: RetentionState,
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn t(d: u32, h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 6, d, h, m, 0).unwrap()
    }

    fn r(a: DateTime<Utc>, b: DateTime<Utc>) -> TimeRange {
        TimeRange::new(a, b).unwrap()
    }

    #[test]
    fn policies_keep_coarser_levels_longer() {
        assert!(RetentionPolicy::new(TimeDelta::minutes(30), TimeDelta::days(1), None).is_err());
        assert!(RetentionPolicy::new(TimeDelta::days(2), TimeDelta::days(1), None).is_err());
        let err = RetentionPolicy::new(
            TimeDelta::days(1),
            TimeDelta::days(30),
            Some(TimeDelta::days(7)),
        )
        .unwrap_err();
        assert!(err.to_string().contains("daily roll-ups (7d)"), "{err}");
        assert_eq!(
            RetentionPolicy::default().to_string(),
            "raw 7d, hourly 90d, daily forever"
        );
    }

    #[test]
    fn cuts_fall_on_whole_hours_and_days() {
        let policy = RetentionPolicy::new(TimeDelta::hours(2), TimeDelta::days(1), None).unwrap();
        let cuts = policy.cuts(t(10, 12, 34));
        assert_eq!(cuts.raw_before, Some(t(10, 10, 0)));
        assert_eq!(cuts.hourly_before, Some(t(9, 0, 0)));
        assert_eq!(cuts.daily_before, None);
        // Cuts never move back.
        let later = RetentionState::default().advance(cuts);
        let back = later.advance(policy.cuts(t(1, 0, 0)));
        assert_eq!(back, later);
    }

    #[test]
    fn sealed_edges_widen_to_whole_hours_and_days() {
        let state = RetentionState {
            raw_before: Some(t(10, 10, 0)),
            hourly_before: Some(t(9, 0, 0)),
            daily_before: None,
        };
        let eff = state.effective_range(r(t(9, 7, 10), t(10, 9, 10)));
        assert_eq!(eff, r(t(9, 7, 0), t(10, 10, 0)));
        let eff = state.effective_range(r(t(8, 7, 10), t(10, 11, 10)));
        assert_eq!(eff, r(t(8, 0, 0), t(10, 11, 10)));
        assert!(state.is_sealed(t(10, 9, 55)));
        assert!(!state.is_sealed(t(10, 10, 0)));
    }

    #[test]
    fn plans_cover_the_range_once_with_the_coarsest_exact_source() {
        let state = RetentionState {
            raw_before: Some(t(10, 6, 0)),
            hourly_before: Some(t(9, 0, 0)),
            daily_before: None,
        };
        let hours: BTreeSet<_> = [t(10, 6, 0), t(10, 7, 0), t(10, 9, 0)].into();
        let days: BTreeSet<_> = [t(8, 0, 0), t(9, 0, 0)].into();
        let plan = ReadPlan::new(
            r(t(8, 0, 0), t(10, 9, 30)),
            Some(Period::Day),
            &state,
            &hours,
            &days,
        )
        .unwrap();
        assert_eq!(plan.daily, vec![r(t(8, 0, 0), t(10, 0, 0))]);
        assert_eq!(plan.hourly, vec![r(t(10, 0, 0), t(10, 8, 0))]);
        // 9:00 is rolled up but only half inside the range: raw rows.
        assert_eq!(plan.raw, vec![r(t(10, 8, 0), t(10, 9, 30))]);

        let err = ReadPlan::new(
            r(t(8, 0, 0), t(10, 9, 30)),
            Some(Period::Hour),
            &state,
            &hours,
            &days,
        )
        .unwrap_err();
        assert_eq!(err.cut, t(9, 0, 0));
        let plan = ReadPlan::new(
            r(t(9, 0, 0), t(10, 10, 0)),
            Some(Period::Hour),
            &state,
            &hours,
            &days,
        )
        .unwrap();
        assert!(plan.daily.is_empty(), "by hour never reads days");
        assert_eq!(
            plan.hourly,
            vec![r(t(9, 0, 0), t(10, 8, 0)), r(t(10, 9, 0), t(10, 10, 0))]
        );
        assert_eq!(plan.raw, vec![r(t(10, 8, 0), t(10, 9, 0))]);
    }

    #[test]
    fn nothing_rolled_reads_raw_rows_only() {
        let plan = ReadPlan::new(
            r(t(1, 0, 0), t(30, 0, 0)),
            None,
            &RetentionState::default(),
            &BTreeSet::new(),
            &BTreeSet::new(),
        )
        .unwrap();
        assert_eq!(plan.raw, vec![r(t(1, 0, 0), t(30, 0, 0))]);
        assert!(plan.hourly.is_empty() && plan.daily.is_empty());
    }
}
