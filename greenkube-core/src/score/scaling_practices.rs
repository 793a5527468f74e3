//! `scaling_practices` (weight 0.10): workloads an autoscaler or an off-peak schedule would
//! follow better, from hourly CPU points.

use super::{Dimension, ScoreConfig, count, measured, no_data, plural};
use crate::waste::DailyProfile;

const MS_PER_HOUR: i64 = 3_600_000;

/// Over workloads with enough hourly CPU points and a CPU request:
/// `(1 − (autoscaling candidates / n × 0.6 + off-peak candidates / n × 0.4)) × 100`.
/// `long_windows` windows were longer than an hour and gave no point.
pub(super) fn dimension<'a>(
    workloads: impl Iterator<Item = &'a WorkloadScaling>,
    long_windows: u64,
    config: &ScoreConfig,
) -> Dimension {
    let off_peak_rule = config.off_peak_rule();
    let mut judged = 0u64;
    let mut autoscaling = 0u64;
    let mut off_peak = 0u64;
    let mut governed = 0u64;
    for workload in workloads {
        let points = &workload.points;
        if points.count < config.scaling_min_points.max(1)
            || !workload.requests_cpu
            || points.mean <= 0.0
        {
            continue;
        }
        judged += 1;
        if workload.hpa {
            governed += 1;
        } else {
            let variation = points.std_dev() / points.mean;
            let spike = points.max / points.mean;
            if variation > config.autoscaling_cv && spike > config.autoscaling_spike_ratio {
                autoscaling += 1;
            }
        }
        if off_peak_rule
            .run(&points.profile, u64::from(points.count))
            .is_some()
        {
            off_peak += 1;
        }
    }
    let long = if long_windows > 0 {
        format!(
            "; {} window{} longer than an hour gave no hourly point",
            count(long_windows),
            plural(long_windows)
        )
    } else {
        String::new()
    };
    if judged == 0 {
        return no_data(
            4,
            &format!(
                "no workload has {} hourly CPU points and a CPU request{long}",
                config.scaling_min_points
            ),
        );
    }
    let share = |number: u64| number as f64 / judged as f64;
    measured(
        4,
        (1.0 - (share(autoscaling) * 0.6 + share(off_peak) * 0.4)) * 100.0,
        format!(
            "{} of {} workloads with {}+ hourly CPU points are autoscaling candidates (CV \
             above {} and peak/mean above {}), {} off-peak candidates ({}+ consecutive idle \
             UTC hours); {} governed by an HPA{long}",
            count(autoscaling),
            count(judged),
            config.scaling_min_points,
            config.autoscaling_cv,
            config.autoscaling_spike_ratio,
            count(off_peak),
            config.off_peak_min_idle_hours,
            count(governed),
        ),
    )
}

/// What scaling practices keep per workload.
#[derive(Debug, Clone)]
pub(super) struct WorkloadScaling {
    /// An HPA governs it (never an autoscaling candidate).
    hpa: bool,
    /// One of its pods requested CPU (only such workloads are judged).
    requests_cpu: bool,
    points: HourlyPoints,
}

impl WorkloadScaling {
    pub(super) fn new(hpa: bool) -> Self {
        Self {
            hpa,
            requests_cpu: false,
            points: HourlyPoints::default(),
        }
    }

    /// Notes a pod row's CPU request, cores.
    pub(super) fn observe_request(&mut self, request: Option<f64>) {
        self.requests_cpu |= request.is_some_and(|cores| cores > 0.0);
    }

    /// Adds a window's CPU (sum over the workload's pods), over the hours it overlaps.
    pub(super) fn add(&mut self, cores: f64, hours: &HourSlices) {
        for (hour, overlap) in hours.iter() {
            self.points.add(hour, cores, overlap);
        }
    }

    /// Closes the open hour (at the end of the history).
    pub(super) fn flush(&mut self) {
        self.points.flush();
    }
}

/// The hours (since the epoch) a window of at most one hour overlaps, with the overlap in
/// seconds; empty for longer windows.
#[derive(Debug, Clone, Copy)]
pub(super) struct HourSlices {
    slices: [(i64, f64); 2],
    len: usize,
}

impl HourSlices {
    pub(super) fn of(start_ms: i64, end_ms: i64) -> Self {
        let mut out = Self {
            slices: [(0, 0.0); 2],
            len: 0,
        };
        if end_ms - start_ms > MS_PER_HOUR {
            return out;
        }
        let first = start_ms.div_euclid(MS_PER_HOUR);
        let last = (end_ms - 1).div_euclid(MS_PER_HOUR);
        if first == last {
            out.slices[0] = (first, (end_ms - start_ms) as f64 / 1000.0);
            out.len = 1;
        } else {
            let boundary = last * MS_PER_HOUR;
            out.slices[0] = (first, (boundary - start_ms) as f64 / 1000.0);
            out.slices[1] = (last, (end_ms - boundary) as f64 / 1000.0);
            out.len = 2;
        }
        out
    }

    /// True for a window longer than an hour.
    pub(super) fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn iter(&self) -> impl Iterator<Item = (i64, f64)> + '_ {
        self.slices[..self.len].iter().copied()
    }
}

/// Hourly CPU points of a workload: the open hour, running moments and the hour-of-day profile.
#[derive(Debug, Clone)]
struct HourlyPoints {
    open_hour: i64,
    open_core_seconds: f64,
    open_seconds: f64,
    count: u32,
    mean: f64,
    /// Sum of squared deviations from the mean (Welford).
    squares: f64,
    max: f64,
    profile: DailyProfile,
}

impl Default for HourlyPoints {
    fn default() -> Self {
        Self {
            open_hour: i64::MIN,
            open_core_seconds: 0.0,
            open_seconds: 0.0,
            count: 0,
            mean: 0.0,
            squares: 0.0,
            max: 0.0,
            profile: DailyProfile::default(),
        }
    }
}

impl HourlyPoints {
    fn add(&mut self, hour: i64, cores: f64, seconds: f64) {
        if hour != self.open_hour {
            self.flush();
            self.open_hour = hour;
        }
        self.open_core_seconds += cores * seconds;
        self.open_seconds += seconds;
    }

    /// Closes the open hour into a point (Welford's running mean and variance).
    fn flush(&mut self) {
        if self.open_seconds > 0.0 {
            let point = self.open_core_seconds / self.open_seconds;
            self.count += 1;
            let delta = point - self.mean;
            self.mean += delta / f64::from(self.count);
            self.squares += delta * (point - self.mean);
            self.max = self.max.max(point);
            self.profile
                .add(self.open_hour.rem_euclid(24) as usize, point);
        }
        self.open_core_seconds = 0.0;
        self.open_seconds = 0.0;
    }

    /// Population standard deviation of the points.
    fn std_dev(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            (self.squares / f64::from(self.count)).max(0.0).sqrt()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::waste::OffPeakRule;

    #[test]
    fn hour_slices_split_at_the_hour() {
        let hour = MS_PER_HOUR;
        let slices = HourSlices::of(10 * hour, 10 * hour + 300_000);
        assert_eq!(slices.iter().collect::<Vec<_>>(), vec![(10, 300.0)]);
        let slices = HourSlices::of(11 * hour - 120_000, 11 * hour + 180_000);
        assert_eq!(
            slices.iter().collect::<Vec<_>>(),
            vec![(10, 120.0), (11, 180.0)]
        );
        let slices = HourSlices::of(10 * hour, 11 * hour);
        assert_eq!(slices.iter().collect::<Vec<_>>(), vec![(10, 3600.0)]);
        assert!(HourSlices::of(10 * hour, 12 * hour).is_empty());
    }

    #[test]
    fn hourly_points_fill_the_daily_profile() {
        let mut points = HourlyPoints::default();
        for hour in 0..24 {
            let busy = (9..17).contains(&hour);
            points.add(hour, if busy { 0.8 } else { 0.005 }, 3600.0);
        }
        points.flush();
        assert_eq!(points.count, 24);
        let run = OffPeakRule::DEFAULT.run(&points.profile, 24).unwrap();
        assert_eq!((run.start, run.hours), (17, 16));
    }
}
