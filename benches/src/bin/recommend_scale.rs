//! Recommender scale run: streams days of 5-minute history for a synthetic cluster through the
//! recommender and the sustainability score, and reports how long they took.
//!
//! ```text
//! cargo run --release -p greenkube-bench --bin recommend_scale -- --pods 10000 --nodes 300 --days 7
//! cargo run --release -p greenkube-bench --bin recommend_scale -- --nodes 1000 --pods 30000 --windows 12 --messy
//! ```
//!
//! `--messy` gives tens of thousands of findings (GreenKube's benchmark data's shape);
//! `--write-history FILE` also writes the estimated windows for `greenkube recommend --history`.
//!
//! Each window's snapshot is built and estimated (generation, timed separately), then given to
//! the recommender (`seconds`: observing every window, then the rules and the what-if pricing)
//! and to the sustainability score (`score_seconds`), and dropped, so the history is never held
//! in memory. The last line is machine-readable:
//!
//! ```text
//! recommend_scale: pods=P nodes=N windows=W rows=X seconds=S score_seconds=T recommendations=K score=Q peak_rss_mb=M
//! ```
#![allow(clippy::print_stdout)] // A command-line report.

use std::error::Error;
use std::io::Write as _;
use std::time::Instant;

use clap::Parser;
use greenkube_bench::{BenchCluster, many_findings};
use greenkube_core::recommend::{Recommender, RecommenderConfig};
use greenkube_core::{EstimateOptions, ReferenceData, ScoreBuilder, ScoreConfig, estimate};

/// Streams a synthetic history through the recommender and reports the throughput.
#[derive(Debug, Parser)]
#[command(name = "recommend_scale", version, about)]
struct Args {
    /// Pods in the cluster.
    #[arg(long, default_value_t = 10_000)]
    pods: usize,
    /// Nodes in the cluster.
    #[arg(long, default_value_t = 300)]
    nodes: usize,
    /// Days of 5-minute windows.
    #[arg(long, default_value_t = 7)]
    days: usize,
    /// Seed of the synthetic cluster.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Number of 5-minute windows (overrides `--days`).
    #[arg(long)]
    windows: Option<usize>,
    /// Many findings, as GreenKube's benchmark data gives: every pod its own workload, most
    /// requests far above use, some pods idle (see `greenkube_bench::many_findings`).
    #[arg(long)]
    messy: bool,
    /// Also write the estimated history to this file, one footprint per line, for
    /// `greenkube recommend --history FILE` (written outside the timed region).
    #[arg(long)]
    write_history: Option<std::path::PathBuf>,
}

fn peak_rss_mb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|v| v.parse::<u64>().ok())
            })
        })
        .map_or(0, |kb| kb / 1024)
}

fn main() -> Result<(), Box<dyn Error>> {
    let args = Args::parse();
    let cluster = BenchCluster::new(args.nodes, args.pods, args.seed);
    let windows = args.windows.unwrap_or(args.days * 288);
    let mut history = match &args.write_history {
        Some(path) => Some(std::io::BufWriter::new(std::fs::File::create(path)?)),
        None => None,
    };
    let mut recommender = Recommender::new(RecommenderConfig::default(), None);
    let mut score = ScoreBuilder::new(&ScoreConfig::default(), None);
    let options = EstimateOptions::default();
    let (mut generate, mut observe, mut observe_score) = (0.0, 0.0, 0.0);
    let mut rows = 0usize;
    for w in 0..windows {
        let t = Instant::now();
        let mut snapshot = cluster.snapshot(w);
        if args.messy {
            many_findings(&mut snapshot);
        }
        let footprint = estimate(&snapshot, &options)?;
        if let Some(out) = &mut history {
            serde_json::to_writer(&mut *out, &footprint)?;
            out.write_all(b"\n")?;
        }
        generate += t.elapsed().as_secs_f64();
        rows += footprint.pods.len();
        let t = Instant::now();
        recommender.observe(&footprint);
        observe += t.elapsed().as_secs_f64();
        let t = Instant::now();
        score.observe(&footprint);
        observe_score += t.elapsed().as_secs_f64();
    }
    if let Some(out) = &mut history {
        out.flush()?;
    }
    let observed_peak_mb = peak_rss_mb();
    let t = Instant::now();
    let recs = recommender.finish(ReferenceData::embedded());
    let finish = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let result = score.finish();
    let score_finish = t.elapsed().as_secs_f64();
    let seconds = observe + finish;
    println!("generation (snapshot + estimate, not counted): {generate:.2} s");
    println!("peak RSS before finish: {observed_peak_mb} MiB");
    println!(
        "recommender: observe {observe:.2} s, finish (rules + what-if pricing) {finish:.2} s; \
         score: observe {observe_score:.2} s, finish {score_finish:.3} s"
    );
    let mut by_type: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
    for r in &recs {
        *by_type.entry(r.kind.name()).or_default() += 1;
    }
    println!("recommendations by type: {by_type:?}");
    // A digest of every recommendation's id and figures, bit for bit: equal digests, equal outputs.
    let digest = recs.iter().fold(0xcbf2_9ce4_8422_2325_u64, |hash, r| {
        let mut hash = hash;
        let figures = [
            r.savings_co2e_grams_per_year,
            r.savings_co2e_grams_per_year_interval[0],
            r.savings_co2e_grams_per_year_interval[1],
            r.savings_cost_per_year.unwrap_or(f64::NAN),
        ];
        for byte in
            r.id.bytes()
                .map(u64::from)
                .chain(figures.iter().map(|f| f.to_bits()))
        {
            hash = (hash ^ byte).wrapping_mul(0x0100_0000_01b3);
        }
        hash
    });
    println!("digest of the recommendations: {digest:016x}");
    println!(
        "recommend_scale: pods={} nodes={} windows={windows} rows={rows} seconds={seconds:.3} score_seconds={:.3} recommendations={} score={:.1} peak_rss_mb={}",
        args.pods,
        args.nodes,
        observe_score + score_finish,
        recs.len(),
        result.score,
        peak_rss_mb()
    );
    Ok(())
}
