//! Scale test: estimates every window of a large synthetic cluster and reports the throughput.
//!
//! ```text
//! cargo run --release -p greenkube-bench --bin scale -- --nodes 3000 --pods 100000 --windows 12
//! ```
//!
//! The cluster is drawn once (not timed). For each window, the snapshot is built (timed
//! separately), estimated (the timed figure), its totals are summed, and the footprint and the
//! snapshot are dropped (timed separately) before the next window, so memory stays flat. The last
//! line is machine-readable:
//!
//! ```text
//! scale: nodes=N pods=P windows=W pod_windows=X seconds=S rate=R peak_rss_mb=M
//! ```
//!
//! `seconds` is the time spent in `estimate` only, `rate` is `pod_windows / seconds` and
//! `peak_rss_mb` is the process's peak resident set (`VmHWM`, in MiB; Linux only, 0 elsewhere).
#![allow(clippy::print_stdout)] // A command-line report.

use std::error::Error;
use std::time::{Duration, Instant};

use clap::{Parser, ValueEnum};
use greenkube_bench::BenchCluster;
use greenkube_core::{EstimateOptions, Methodology, Ranged, estimate};

/// Estimates every window of a synthetic cluster and reports the throughput.
#[derive(Debug, Parser)]
#[command(name = "scale", version, about)]
struct Args {
    /// Nodes in the cluster.
    #[arg(long, default_value_t = 3_000)]
    nodes: usize,
    /// Pods in the cluster (every pod runs in every window).
    #[arg(long, default_value_t = 100_000)]
    pods: usize,
    /// 5-minute windows to estimate.
    #[arg(long, default_value_t = 12)]
    windows: usize,
    /// Methodology.
    #[arg(long, value_enum, default_value_t = MethodologyArg::Full)]
    methodology: MethodologyArg,
    /// Seed of the synthetic cluster.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// First window (0 is 2025-06-02T00:00Z; 144 is noon).
    #[arg(long, default_value_t = 0)]
    first_window: usize,
    /// Also time `Snapshot::validate` on its own (outside the timed region; `estimate` validates
    /// again), to show how much of `estimate` is validation.
    #[arg(long)]
    breakdown: bool,
    /// Tidy data: every instance type known, every zone mapped, cost entries in pod order (by
    /// default the data is untidy, as real snapshots are).
    #[arg(long)]
    tidy: bool,
    /// Also write each window's snapshot as JSON into this directory (`window-NNNN.json`, one
    /// per window, outside the timed region), for timing `greenkube estimate` on them.
    #[arg(long, value_name = "DIR")]
    write_snapshots: Option<std::path::PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum MethodologyArg {
    Full,
    Classic,
}

impl From<MethodologyArg> for Methodology {
    fn from(m: MethodologyArg) -> Self {
        match m {
            MethodologyArg::Full => Self::Full,
            MethodologyArg::Classic => Self::Classic,
        }
    }
}

/// Peak resident set size of this process, MiB (`VmHWM` from `/proc/self/status`).
fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status.lines().find_map(|line| {
                let rest = line.strip_prefix("VmHWM:")?;
                let kib: f64 = rest.trim().trim_end_matches("kB").trim().parse().ok()?;
                Some(kib / 1024.0)
            })
        })
        .unwrap_or(0.0)
}

/// Writes `snapshot` as `DIR/window-NNNN.json` (the directory is created if need be).
fn write_snapshot(
    dir: &std::path::Path,
    window: usize,
    snapshot: &greenkube_core::Snapshot,
) -> Result<(), Box<dyn Error>> {
    use std::io::Write as _;
    std::fs::create_dir_all(dir)?;
    let path = dir.join(format!("window-{window:04}.json"));
    let mut out = std::io::BufWriter::new(std::fs::File::create(&path)?);
    serde_json::to_writer(&mut out, snapshot)?;
    out.write_all(b"\n")?;
    out.flush()?;
    Ok(())
}

fn main() -> Result<(), Box<dyn Error>> {
    let args = Args::parse();
    let methodology = Methodology::from(args.methodology);
    let options = EstimateOptions::new(methodology);

    let started = Instant::now();
    let cluster = if args.tidy {
        BenchCluster::tidy(args.nodes, args.pods, args.seed)
    } else {
        BenchCluster::new(args.nodes, args.pods, args.seed)
    };
    let generate = started.elapsed();
    println!(
        "cluster: nodes={} pods={} namespaces={} measured_zones={} seed={} generated_in={:.3}s rss_after_generate_mb={:.0}",
        cluster.node_count(),
        cluster.pod_count(),
        cluster.namespace_count(),
        cluster.measured_zones().count(),
        args.seed,
        generate.as_secs_f64(),
        peak_rss_mib(),
    );

    let mut build = Duration::ZERO;
    let mut estimating = Duration::ZERO;
    let mut dropping = Duration::ZERO;
    let mut validating = Duration::ZERO;
    let mut fastest = Duration::MAX;
    let mut slowest = Duration::ZERO;
    let mut pod_windows: u64 = 0;
    let mut energy = Ranged::ZERO;
    let mut co2e = Ranged::ZERO;
    let mut embodied = Ranged::ZERO;
    let mut cost = 0.0;
    let mut estimated_pods: u64 = 0;
    let mut pods_without_cost: u64 = 0;
    let mut warnings: u64 = 0;

    for window in args.first_window..args.first_window + args.windows {
        let t = Instant::now();
        let snapshot = cluster.snapshot(window);
        build += t.elapsed();

        if let Some(dir) = &args.write_snapshots {
            write_snapshot(dir, window, &snapshot)?;
        }

        if args.breakdown {
            let t = Instant::now();
            snapshot.validate()?;
            validating += t.elapsed();
        }

        let t = Instant::now();
        let footprint = estimate(&snapshot, &options)?;
        let took = t.elapsed();
        estimating += took;
        fastest = fastest.min(took);
        slowest = slowest.max(took);

        let totals = &footprint.totals;
        pod_windows += totals.pods as u64;
        energy += totals.energy_joules;
        co2e += totals.co2e_grams;
        embodied += totals.embodied_co2e_grams;
        cost += totals.cost.0;
        estimated_pods += totals.estimated_pods as u64;
        pods_without_cost += totals.pods_without_cost as u64;
        warnings += footprint.warnings.len() as u64;

        let t = Instant::now();
        drop(footprint);
        drop(snapshot);
        dropping += t.elapsed();
    }

    let seconds = estimating.as_secs_f64();
    let windows = args.windows.max(1) as f64;
    println!(
        "methodology: {} (seed {}, windows {}..{}, {} data)",
        methodology,
        args.seed,
        args.first_window,
        args.first_window + args.windows,
        if args.tidy { "tidy" } else { "untidy" },
    );
    println!(
        "timing: snapshot_build={:.3}s estimate={:.3}s drop={:.3}s per_window_estimate_ms(mean/min/max)={:.1}/{:.1}/{:.1}",
        build.as_secs_f64(),
        seconds,
        dropping.as_secs_f64(),
        seconds * 1000.0 / windows,
        if fastest == Duration::MAX {
            0.0
        } else {
            fastest.as_secs_f64() * 1000.0
        },
        slowest.as_secs_f64() * 1000.0,
    );
    if args.breakdown {
        println!(
            "breakdown: validate={:.3}s ({:.0}% of estimate) compute={:.3}s",
            validating.as_secs_f64(),
            100.0 * validating.as_secs_f64() / seconds.max(f64::MIN_POSITIVE),
            (seconds - validating.as_secs_f64()).max(0.0),
        );
    }
    println!(
        "totals: energy_kwh={:.3} [{:.3}, {:.3}] co2e_kg={:.3} [{:.3}, {:.3}] embodied_kg={:.3} [{:.3}, {:.3}] cost={:.2}",
        energy.point / 3.6e6,
        energy.low / 3.6e6,
        energy.high / 3.6e6,
        co2e.point / 1000.0,
        co2e.low / 1000.0,
        co2e.high / 1000.0,
        embodied.point / 1000.0,
        embodied.low / 1000.0,
        embodied.high / 1000.0,
        cost,
    );
    println!(
        "rows: estimated_pod_windows={estimated_pods} pod_windows_without_cost={pods_without_cost} warnings={warnings}"
    );
    let rate = if seconds > 0.0 {
        (pod_windows as f64 / seconds).round() as u64
    } else {
        0
    };
    println!(
        "scale: nodes={} pods={} windows={} pod_windows={} seconds={:.4} rate={} peak_rss_mb={:.0}",
        cluster.node_count(),
        cluster.pod_count(),
        args.windows,
        pod_windows,
        seconds,
        rate,
        peak_rss_mib().ceil(),
    );
    Ok(())
}
