//! Waste: the one definition of a zombie workload, an idle namespace, the idle hours of a day and
//! the system namespaces, shared by the recommender ([`crate::recommend`]) and the
//! sustainability score ([`mod@crate::score`]), so a workload the score counts as a zombie is one the
//! recommender proposes to remove, and the other way round.
//!
//! # Idle: zombie workloads and idle namespaces
//!
//! A workload (the sum over its pods) or a namespace (the sum over all its pods) is *idle* under
//! an [`IdleRule`] when, over the history:
//!
//! 1. its **mean CPU** is below [`IdleRule::max_mean_cpu_cores`] (time-weighted over the windows
//!    in which it reported CPU usage; without any CPU usage it is not judged at all),
//! 2. its **peak CPU** is below [`IdleRule::max_peak_cpu_cores`] (the busiest window's total), and
//! 3. it **costs** more than [`IdleRule::min_cost_per_day`] (its cost over the seconds of the
//!    windows that had cost data, per day), or, with no cost data at all, it **reserves** at least
//!    [`IdleRule::min_reserved_cpu_cores`] on average (`max(request, usage)` summed over its pods,
//!    time-weighted over the windows it appeared in).
//!
//! [`IdleRule::ZOMBIE`] (1 m mean, 5 m peak, 0.01 a day, 10 m reserved) judges workloads,
//! [`IdleRule::IDLE_NAMESPACE`] (5 m mean, 25 m peak, 0.01 a day, 10 m reserved) namespaces.
//!
//! Why this rule (the recommender and the score used to differ):
//!
//! * **The peak condition** (the recommender's): a nightly job or a backup that sleeps all day
//!   and works for ten minutes averages under a millicore, yet removing it would be wrong. A
//!   zombie must be idle all the time, not just on average. The score had no peak condition, so
//!   it counted such workloads as zombies while the recommender rightly left them alone. The
//!   same holds for a namespace whose only tenant is such a job, so namespaces get a peak
//!   condition too (five times their mean threshold, as for workloads).
//! * **Workload totals, time-weighted** (the score's): the remedy is to remove the whole
//!   workload, so what counts is what all its replicas use together, and a rate weighted by
//!   time means the same over five-minute windows as over hourly ones. The recommender judged
//!   the mean per pod row, so three idle-looking replicas that together do real work were
//!   zombies to it.
//! * **A cost threshold per day for namespaces too** (the score's): the recommender flagged a
//!   namespace costing anything at all, even a thousandth of a cent a day. Both kinds of subject
//!   now need the same 0.01 a day to be worth acting on.
//! * **Cost per day over the windows with cost data** (the score's): when the cost source misses
//!   some windows, the rate is not diluted by the windows it missed.
//! * **Without cost data, a reservation of at least 10 m** (the recommender's, which borrowed the
//!   rightsizing floor): an idle workload that reserves nothing holds no capacity and costs
//!   nothing worth a recommendation; one that requests a sliver below the smallest request the
//!   recommender would ever propose is not worth one either.
//! * Strict **"below"** for the CPU thresholds, as both configurations documented them (the
//!   recommender's code used "at most").
//!
//! The peak is the busiest window's mean, so it depends a little on the sampling: five-minute
//! windows see sharper peaks than hourly ones, and keep a briefly busy workload out more
//! reliably.
//!
//! # Idle hours: off-peak scaling
//!
//! A workload's load is averaged per UTC hour of the day ([`DailyProfile`]). An hour is idle when
//! it has data and its mean is below [`OffPeakRule::idle_fraction`] of the busiest hour's; the
//! longest run of idle hours on the 24-hour circle ([`longest_idle_run`]) makes an off-peak
//! candidate when it lasts at least [`OffPeakRule::min_idle_hours`] (but not the whole day: that
//! would be a zombie) and the workload has at least [`OffPeakRule::min_points`] points.
//!
//! # System namespaces
//!
//! [`SYSTEM_NAMESPACES`] (GreenKube's list) are left out of every workload finding unless the
//! caller includes them: [`is_excluded_namespace`].

use serde::{Deserialize, Serialize};

/// Namespaces left out of the workload rules by default (GreenKube's list).
pub const SYSTEM_NAMESPACES: [&str; 6] = [
    "kube-system",
    "kube-public",
    "kube-node-lease",
    "coredns",
    "istio-system",
    "kubernetes-dashboard",
];

/// [`SYSTEM_NAMESPACES`] as owned strings (the configurations' default).
pub fn default_system_namespaces() -> Vec<String> {
    SYSTEM_NAMESPACES.map(String::from).to_vec()
}

/// True when `namespace` is left out: it is one of `system` and system namespaces are not
/// included.
pub fn is_excluded_namespace(namespace: &str, system: &[String], include_system: bool) -> bool {
    !include_system && system.iter().any(|name| name == namespace)
}

const SECONDS_PER_DAY: f64 = 86_400.0;

/// Gives a configuration with the waste fields (`zombie_max_cpu_cores`,
/// `zombie_max_peak_cpu_cores`, `zombie_min_cost_per_day`, `zombie_min_reserved_cpu_cores`, the
/// same four `idle_namespace_*` ones, `system_namespaces` and `include_system_namespaces`) its
/// `zombie_rule`, `idle_namespace_rule` and `excludes`: the recommender's and the score's
/// configurations read the same fields the same way.
macro_rules! waste_rules {
    ($config:ty) => {
        impl $config {
            /// The zombie rule with these thresholds.
            pub fn zombie_rule(&self) -> $crate::waste::IdleRule {
                $crate::waste::IdleRule {
                    max_mean_cpu_cores: self.zombie_max_cpu_cores,
                    max_peak_cpu_cores: self.zombie_max_peak_cpu_cores,
                    min_cost_per_day: self.zombie_min_cost_per_day,
                    min_reserved_cpu_cores: self.zombie_min_reserved_cpu_cores,
                }
            }

            /// The idle-namespace rule with these thresholds.
            pub fn idle_namespace_rule(&self) -> $crate::waste::IdleRule {
                $crate::waste::IdleRule {
                    max_mean_cpu_cores: self.idle_namespace_max_cpu_cores,
                    max_peak_cpu_cores: self.idle_namespace_max_peak_cpu_cores,
                    min_cost_per_day: self.idle_namespace_min_cost_per_day,
                    min_reserved_cpu_cores: self.idle_namespace_min_reserved_cpu_cores,
                }
            }

            /// True when the namespace is left out as a system one.
            pub(crate) fn excludes(&self, namespace: &str) -> bool {
                $crate::waste::is_excluded_namespace(
                    namespace,
                    &self.system_namespaces,
                    self.include_system_namespaces,
                )
            }
        }
    };
}
pub(crate) use waste_rules;

/// Thresholds of the idle rule (see the [module documentation](self)).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct IdleRule {
    /// Mean CPU below this many cores...
    pub max_mean_cpu_cores: f64,
    /// ... and peak CPU (the busiest window) below this many cores ...
    pub max_peak_cpu_cores: f64,
    /// ... while costing more than this per day ...
    pub min_cost_per_day: f64,
    /// ... or, with no cost data, reserving at least this many cores on average.
    pub min_reserved_cpu_cores: f64,
}

impl IdleRule {
    /// Zombie workloads: one millicore (what an idle, sleeping process measures) on average and
    /// five at the peak, costing more than 0.01 a day or reserving 10 m.
    pub const ZOMBIE: Self = Self {
        max_mean_cpu_cores: 0.001,
        max_peak_cpu_cores: 0.005,
        min_cost_per_day: 0.01,
        min_reserved_cpu_cores: 0.01,
    };

    /// Idle namespaces: five millicores in total on average (a handful of idle processes) and
    /// 25 at the peak, costing more than 0.01 a day or reserving 10 m.
    pub const IDLE_NAMESPACE: Self = Self {
        max_mean_cpu_cores: 0.005,
        max_peak_cpu_cores: 0.025,
        min_cost_per_day: 0.01,
        min_reserved_cpu_cores: 0.01,
    };

    /// True when the activity is idle under this rule.
    pub fn is_idle(&self, activity: &Activity) -> bool {
        activity.mean_cpu_cores < self.max_mean_cpu_cores
            && activity.peak_cpu_cores < self.max_peak_cpu_cores
            && match activity.cost_per_day {
                Some(cost) => cost > self.min_cost_per_day,
                None => activity.mean_reserved_cpu_cores >= self.min_reserved_cpu_cores,
            }
    }
}

/// What the idle rule judges of a workload or namespace: rates over the history.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Activity {
    /// Mean CPU, cores (time-weighted over the windows with CPU usage).
    pub mean_cpu_cores: f64,
    /// The busiest window's CPU, cores.
    pub peak_cpu_cores: f64,
    /// Cost per day over the windows with cost data; `None` without any.
    pub cost_per_day: Option<f64>,
    /// Mean `max(request, usage)` CPU, cores (time-weighted over the windows it appeared in).
    pub mean_reserved_cpu_cores: f64,
}

impl Activity {
    /// What it costs or holds, in words: `costing 0.0123 per day` or `reserving 200 m of CPU`.
    pub fn cost_in_words(&self) -> String {
        match self.cost_per_day {
            Some(cost) => format!("costing {cost:.4} per day"),
            None => format!(
                "reserving {:.0} m of CPU",
                self.mean_reserved_cpu_cores * 1000.0
            ),
        }
    }
}

/// A workload's or namespace's sums within one window, over its pods.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct WindowUsage {
    cpu: f64,
    has_cpu: bool,
    cost: f64,
    has_cost: bool,
    reserved: f64,
}

fn usable(value: Option<f64>) -> Option<f64> {
    value.filter(|v| v.is_finite() && *v >= 0.0)
}

impl WindowUsage {
    /// Adds one pod row: its CPU usage and request, cores, and its cost. Values that are not
    /// finite or negative count as unknown.
    #[inline]
    pub(crate) fn add(&mut self, cpu: Option<f64>, cpu_request: Option<f64>, cost: Option<f64>) {
        let cpu = usable(cpu);
        if let Some(cores) = cpu {
            self.cpu += cores;
            self.has_cpu = true;
        }
        if let Some(amount) = usable(cost) {
            self.cost += amount;
            self.has_cost = true;
        }
        self.reserved += usable(cpu_request).unwrap_or(0.0).max(cpu.unwrap_or(0.0));
    }

    /// CPU usage in the window, cores (0 when unknown).
    pub(crate) fn cpu(&self) -> f64 {
        self.cpu
    }

    /// True when a pod row of the window had CPU usage.
    pub(crate) fn has_cpu(&self) -> bool {
        self.has_cpu
    }
}

/// Time-weighted totals of a workload or namespace over the history.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct UsageTotals {
    /// Seconds of the windows it appeared in.
    seconds: f64,
    /// Reserved core-seconds in those windows.
    reserved_core_seconds: f64,
    /// Seconds of the windows in which it had CPU usage.
    cpu_seconds: f64,
    /// Core-seconds used in those windows.
    core_seconds: f64,
    /// The busiest of those windows, cores.
    peak_cores: f64,
    /// Seconds of the windows in which it had cost data.
    cost_seconds: f64,
    /// Cost in those windows.
    cost: f64,
}

impl UsageTotals {
    /// Adds one window of `seconds`.
    pub(crate) fn close_window(&mut self, window: &WindowUsage, seconds: f64) {
        self.seconds += seconds;
        self.reserved_core_seconds += window.reserved * seconds;
        if window.has_cpu {
            self.cpu_seconds += seconds;
            self.core_seconds += window.cpu * seconds;
            self.peak_cores = self.peak_cores.max(window.cpu);
        }
        if window.has_cost {
            self.cost_seconds += seconds;
            self.cost += window.cost;
        }
    }

    /// The activity, when it had CPU usage.
    pub(crate) fn activity(&self) -> Option<Activity> {
        (self.cpu_seconds > 0.0).then(|| Activity {
            mean_cpu_cores: self.core_seconds / self.cpu_seconds,
            peak_cpu_cores: self.peak_cores,
            cost_per_day: (self.cost_seconds > 0.0)
                .then(|| self.cost / self.cost_seconds * SECONDS_PER_DAY),
            mean_reserved_cpu_cores: if self.seconds > 0.0 {
                self.reserved_core_seconds / self.seconds
            } else {
                0.0
            },
        })
    }
}

/// Thresholds of the off-peak rule (see the [module documentation](self)).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct OffPeakRule {
    /// An hour of the day is idle when its mean load is below this fraction of the busiest
    /// hour's.
    pub idle_fraction: f64,
    /// Consecutive idle hours (wrapping midnight, UTC) that make a candidate.
    pub min_idle_hours: u32,
    /// Points (hourly or per window) a workload needs to be judged.
    pub min_points: u32,
}

impl OffPeakRule {
    /// GreenKube's: idle under 5 % of the peak hour, for at least 4 hours, judged on 6 points.
    pub const DEFAULT: Self = Self {
        idle_fraction: 0.05,
        min_idle_hours: 4,
        min_points: 6,
    };

    /// The off-peak run of a workload with `points` points and this daily profile, if any.
    pub fn run(&self, profile: &DailyProfile, points: u64) -> Option<IdleRun> {
        if points < u64::from(self.min_points) {
            return None;
        }
        longest_idle_run(&profile.idle_hours(self.idle_fraction))
            .filter(|run| run.hours >= self.min_idle_hours as usize && run.hours < 24)
    }
}

/// A run of idle hours of the day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdleRun {
    /// First idle hour (UTC, 0–23).
    pub start: usize,
    /// Length, hours (1–24).
    pub hours: usize,
}

impl IdleRun {
    /// First hour after the run (UTC, 0–23).
    pub fn end(&self) -> usize {
        (self.start + self.hours) % 24
    }
}

/// A workload's load by UTC hour of the day: sum and count of its points.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct DailyProfile {
    sums: [f64; 24],
    counts: [u32; 24],
}

impl DailyProfile {
    /// Adds a point at this hour of the day (taken modulo 24).
    pub fn add(&mut self, hour_of_day: usize, load: f64) {
        let hour = hour_of_day % 24;
        self.sums[hour] += load;
        self.counts[hour] += 1;
    }

    /// Mean load of each hour of the day that has points.
    pub fn means(&self) -> [Option<f64>; 24] {
        std::array::from_fn(|hour| {
            (self.counts[hour] > 0).then(|| self.sums[hour] / f64::from(self.counts[hour]))
        })
    }

    /// The busiest hour's mean load (0 without points).
    pub fn peak(&self) -> f64 {
        self.means().into_iter().flatten().fold(0.0, f64::max)
    }

    /// Hours with points whose mean is below `fraction` of the busiest hour's; none when the
    /// busiest hour has no load.
    pub fn idle_hours(&self, fraction: f64) -> [bool; 24] {
        let means = self.means();
        let peak = self.peak();
        std::array::from_fn(|hour| peak > 0.0 && means[hour].is_some_and(|m| m < fraction * peak))
    }
}

/// Longest run of idle hours on the 24-hour circle (the first of equally long ones).
pub fn longest_idle_run(idle: &[bool; 24]) -> Option<IdleRun> {
    if idle.iter().all(|i| *i) {
        return Some(IdleRun {
            start: 0,
            hours: 24,
        });
    }
    let mut best: Option<IdleRun> = None;
    for start in 0..24 {
        if !idle[start] || idle[(start + 23) % 24] {
            continue; // not the start of a run
        }
        let hours = (0..24).take_while(|k| idle[(start + k) % 24]).count();
        if best.is_none_or(|run| hours > run.hours) {
            best = Some(IdleRun { start, hours });
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    fn office_hours() -> DailyProfile {
        let mut profile = DailyProfile::default();
        for hour in 0..24 {
            let busy = (9..17).contains(&hour);
            profile.add(hour, if busy { 0.8 } else { 0.005 });
        }
        profile
    }

    #[test]
    fn idle_run_wraps_midnight() {
        let run = OffPeakRule::DEFAULT.run(&office_hours(), 24).unwrap();
        assert_eq!(
            run,
            IdleRun {
                start: 17,
                hours: 16
            }
        );
        assert_eq!(run.end(), 9);
        // Too few points.
        assert_eq!(OffPeakRule::DEFAULT.run(&office_hours(), 5), None);
    }

    #[test]
    fn idle_runs_need_enough_hours_and_not_the_whole_day() {
        let mut profile = DailyProfile::default();
        for hour in 0..24 {
            profile.add(hour, if hour == 3 || hour == 4 { 0.0 } else { 1.0 });
        }
        assert_eq!(
            longest_idle_run(&profile.idle_hours(0.05)),
            Some(IdleRun { start: 3, hours: 2 })
        );
        assert_eq!(OffPeakRule::DEFAULT.run(&profile, 24), None);
        assert_eq!(
            longest_idle_run(&[true; 24]),
            Some(IdleRun {
                start: 0,
                hours: 24
            })
        );
        assert_eq!(longest_idle_run(&[false; 24]), None);
        // No load at all: no hour is idle (there is no peak to be idle against).
        assert_eq!(DailyProfile::default().idle_hours(0.05), [false; 24]);
    }

    fn activity(mean: f64, peak: f64, cost: Option<f64>, reserved: f64) -> Activity {
        Activity {
            mean_cpu_cores: mean,
            peak_cpu_cores: peak,
            cost_per_day: cost,
            mean_reserved_cpu_cores: reserved,
        }
    }

    #[test]
    fn a_zombie_is_idle_at_every_peak_and_costs() {
        let zombie = IdleRule::ZOMBIE;
        assert!(zombie.is_idle(&activity(0.0005, 0.001, Some(0.02), 0.0)));
        // Busy once: not a zombie, however low the mean.
        assert!(!zombie.is_idle(&activity(0.0005, 0.2, Some(0.02), 0.0)));
        assert!(!zombie.is_idle(&activity(0.0011, 0.002, Some(0.02), 0.0)));
        // Cheap: not worth a finding.
        assert!(!zombie.is_idle(&activity(0.0005, 0.001, Some(0.009), 1.0)));
        // No cost data: it must hold capacity.
        assert!(zombie.is_idle(&activity(0.0005, 0.001, None, 0.01)));
        assert!(!zombie.is_idle(&activity(0.0005, 0.001, None, 0.009)));
    }

    #[test]
    fn totals_are_time_weighted_and_cost_is_per_day_of_cost_data() {
        let mut totals = UsageTotals::default();
        let mut window = WindowUsage::default();
        window.add(Some(0.001), Some(0.1), Some(0.5));
        window.add(Some(0.002), None, None);
        window.add(Some(f64::NAN), Some(-1.0), Some(f64::INFINITY));
        assert!((window.cpu() - 0.003).abs() < 1e-15);
        totals.close_window(&window, 3600.0);
        let mut quiet = WindowUsage::default();
        quiet.add(Some(0.0), Some(0.1), None);
        totals.close_window(&quiet, 3.0 * 3600.0);
        let activity = totals.activity().unwrap();
        assert!((activity.mean_cpu_cores - 0.003 / 4.0).abs() < 1e-15);
        assert!((activity.peak_cpu_cores - 0.003).abs() < 1e-15);
        // 0.5 over the one hour with cost data: 12 a day.
        assert!((activity.cost_per_day.unwrap() - 12.0).abs() < 1e-12);
        // 0.102 then 0.1 cores reserved.
        assert!((activity.mean_reserved_cpu_cores - (0.102 + 3.0 * 0.1) / 4.0).abs() < 1e-12);
        assert_eq!(UsageTotals::default().activity(), None);
    }

    #[test]
    fn system_namespaces_are_excluded_unless_included() {
        let system = default_system_namespaces();
        assert!(is_excluded_namespace("kube-system", &system, false));
        assert!(!is_excluded_namespace("kube-system", &system, true));
        assert!(!is_excluded_namespace("shop", &system, false));
    }
}
