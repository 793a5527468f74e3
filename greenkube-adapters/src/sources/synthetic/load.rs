//! Usage over time: the load curve of each role (business hours, weekends, nights), the usage
//! of each pod in a window with its noise, the crash loop, the Jobs of the `CronJobs`, and the
//! fitting of bursts to what each node has.

use std::f64::consts::PI;
use std::sync::Arc;

use self::Role::{CrashLoop, Night, Oversized, Steady, Web, Zombie};
use super::catalogue::NAME_ALPHABET;
use super::random::{Rng, hash2, signed, unit};
use super::{CPU_CEILING, DAY_MS, Entry, HOUR_MS, MEMORY_CEILING, Scratch, SyntheticCluster};

/// The crash-looping pod is OOM-killed this often (ms).
const CRASH_PERIOD_MS: i64 = 25 * 60_000;
/// Salt of the hash that decides which pod-windows miss their metrics.
const MISSING_SALT: u64 = 0x6D69_7373_696E_6721;

/// How a pod's usage behaves over time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Role {
    /// Business hours, weekend dip.
    Web,
    /// Mostly flat (databases, system agents).
    Steady,
    /// Busy at night (batch).
    Night,
    /// Holds requests, does nothing: about 0.0005 cores, never restarts.
    Zombie,
    /// Web-shaped, but about 5 % of a large request.
    Oversized,
    /// Web-shaped; crash-loops (OOM) from three days before now.
    CrashLoop,
}

impl SyntheticCluster {
    /// Fills `s.entries` with the pods running in `[from, to)` (ms), sorted, on-node sums fitted.
    pub(super) fn fill(&self, from: i64, to: i64, s: &mut Scratch) {
        s.entries.clear();
        if to <= from {
            return;
        }
        let mid = f64::midpoint(from as f64, to as f64) / 1000.0;
        for (spec, m) in self.pods.iter().zip(&self.models) {
            let Some(node) = m.node else { continue };
            let load = load(m.role, mid + m.phase_s);
            let noise = signed(hash2(m.key ^ self.seed, from as u64));
            let cpu = match m.role {
                Zombie => m.cpu_peak * (1.0 + 0.4 * noise),
                _ => m.cpu_peak * load * (1.0 + 0.1 * noise),
            };
            let mut memory = match m.role {
                Zombie | Steady => m.memory * (1.0 + 0.02 * noise),
                _ => m.memory * (0.85 + 0.25 * load.min(1.0)) * (1.0 + 0.02 * noise),
            };
            let mut restarts = m.restarts;
            if m.role == CrashLoop && to > self.crash_start_ms {
                // OOM-killed every 25 minutes: the working set climbs to the limit, then resets.
                let since = to - self.crash_start_ms;
                restarts += (since / CRASH_PERIOD_MS) as u64;
                let phase = (from.max(self.crash_start_ms) - self.crash_start_ms) % CRASH_PERIOD_MS;
                memory = m.memory_request * (0.45 + 0.5 * phase as f64 / CRASH_PERIOD_MS as f64);
            }
            s.entries.push(Entry {
                namespace: spec.namespace.clone(),
                pod: spec.name.clone(),
                node,
                cpu: cpu.max(0.0),
                memory: memory.clamp(0.0, m.memory_request * 0.97),
                cpu_request: m.cpu_request,
                memory_request: m.memory_request,
                restarts,
                long_running: true,
                measured: self.mess.missing_metrics <= 0.0
                    || unit(hash2(m.key ^ MISSING_SALT, from as u64)) >= self.mess.missing_metrics,
                has_cost: m.has_cost,
            });
        }
        let before = s.entries.len();
        self.push_jobs(from, to, &mut s.entries);
        self.fit_to_nodes(s);
        if s.entries.len() > before {
            s.entries
                .sort_by(|a, b| (&a.namespace, &a.pod).cmp(&(&b.namespace, &b.pod)));
        }
    }

    /// Scales down bursts and Jobs where a node would hold more than it has.
    fn fit_to_nodes(&self, s: &mut Scratch) {
        let n = self.node_info.len();
        s.cpu_extra.clear();
        s.cpu_extra.resize(n, 0.0);
        s.memory.clear();
        s.memory.resize(n, 0.0);
        for e in &s.entries {
            let request = if e.long_running { e.cpu_request } else { 0.0 };
            if let Some(x) = s.cpu_extra.get_mut(e.node) {
                *x += (e.cpu - request).max(0.0);
            }
            if let Some(x) = s.memory.get_mut(e.node) {
                *x += e.memory;
            }
        }
        for (i, info) in self.node_info.iter().enumerate() {
            let allowed = (CPU_CEILING * info.cpu - info.cpu_requested).max(0.0);
            if let Some(x) = s.cpu_extra.get_mut(i) {
                *x = if *x > allowed { allowed / *x } else { 1.0 };
            }
            let memory_allowed = MEMORY_CEILING * info.memory;
            if let Some(x) = s.memory.get_mut(i) {
                *x = if *x > memory_allowed {
                    memory_allowed / *x
                } else {
                    1.0
                };
            }
        }
        for e in &mut s.entries {
            let f = s.cpu_extra.get(e.node).copied().unwrap_or(1.0);
            if f < 1.0 {
                let request = if e.long_running { e.cpu_request } else { 0.0 };
                if e.cpu > request {
                    e.cpu = request + (e.cpu - request) * f;
                }
            }
            e.memory *= s.memory.get(e.node).copied().unwrap_or(1.0);
        }
    }

    /// Appends the Job pods that run in `[from, to)` (ms).
    pub(super) fn push_jobs(&self, from: i64, to: i64, out: &mut Vec<Entry>) {
        if self.node_info.is_empty() || to <= from {
            return;
        }
        let span = (to - from) as f64;
        for c in &self.cronjobs {
            let first_day = from.saturating_sub(c.duration_ms).div_euclid(DAY_MS);
            let last_day = to.div_euclid(DAY_MS);
            for day in first_day..=last_day {
                for hour in 0..24 {
                    if c.hours & (1 << hour) == 0 {
                        continue;
                    }
                    let start = day * DAY_MS + hour * HOUR_MS + c.minute_ms;
                    let end = start + c.duration_ms;
                    let overlap = to.min(end) - from.max(start);
                    if overlap <= 0 {
                        continue;
                    }
                    let run = hash2(c.key ^ self.seed, start as u64);
                    let node = (run % self.node_info.len() as u64) as usize;
                    // A run ramps up, works, and winds down.
                    let mid = (from.max(start) + to.min(end)) as f64 / 2.0;
                    let x = (mid - start as f64) / c.duration_ms as f64;
                    let shape = 0.6 + 0.4 * (PI * x).sin();
                    let noise = signed(hash2(run, from as u64));
                    let mut rng = Rng(run);
                    let pod = format!(
                        "{}-{}-{}",
                        c.name,
                        start.div_euclid(60_000),
                        rng.token(5, NAME_ALPHABET)
                    );
                    out.push(Entry {
                        namespace: c.namespace.clone(),
                        pod: Arc::from(pod.as_str()),
                        node,
                        cpu: c.cpu * shape * (1.0 + 0.08 * noise) * overlap as f64 / span,
                        memory: c.memory * (0.7 + 0.3 * x.clamp(0.0, 1.0)),
                        cpu_request: c.cpu_request,
                        memory_request: c.memory_request,
                        restarts: 0,
                        long_running: false,
                        measured: true,
                        has_cost: true,
                    });
                }
            }
        }
    }
}

/// The load of a role at `t` (seconds since the epoch), about 0 to 1.
pub(super) fn load(role: Role, t: f64) -> f64 {
    let hour = t.rem_euclid(86_400.0) / 3600.0;
    let weekday = ((t / 86_400.0).floor() as i64 + 3).rem_euclid(7); // 0 = Monday
    let week = match weekday {
        0..=3 => 1.0,
        4 => 0.92,
        5 => 0.5,
        _ => 0.4,
    };
    // Business hours: 07:00 to 21:00 UTC, peak at 14:00.
    let day = if (7.0..=21.0).contains(&hour) {
        (PI * (hour - 7.0) / 14.0).sin()
    } else {
        0.0
    };
    match role {
        Web | Oversized | CrashLoop => (0.15 + 0.85 * day) * week,
        Steady => 0.8 + 0.2 * day * week,
        Night => {
            // 23:00 to 06:00 UTC, peak around 02:30.
            let x = (hour + 1.0).rem_euclid(24.0);
            let night = if x < 7.0 { (PI * x / 7.0).sin() } else { 0.0 };
            0.04 + 0.96 * night
        }
        Zombie => 1.0,
    }
}
