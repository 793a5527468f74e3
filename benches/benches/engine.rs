//! Criterion benchmarks of the engine on synthetic clusters: `estimate` (both methodologies),
//! snapshot JSON parsing, footprint JSON serialisation, and aggregation.
//!
//! ```text
//! cargo bench -p greenkube-bench --bench engine
//! cargo bench -p greenkube-bench --bench engine -- --warm-up-time 1 --measurement-time 3
//! ```

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_main};
use greenkube_bench::BenchCluster;
use greenkube_core::{
    EstimateOptions, Footprint, GroupBy, Methodology, Period, Snapshot, aggregate, estimate,
};

/// Sizes benchmarked: label, nodes, pods (about 33 pods per node, as in the scale test).
const SIZES: [(&str, usize, usize); 2] = [("1k", 30, 1_000), ("10k", 300, 10_000)];

const SEED: u64 = 42;

/// A window in the afternoon, so usage is near its daily peak.
const WINDOW: usize = 180;

fn bench_estimate(c: &mut Criterion) {
    let mut group = c.benchmark_group("estimate");
    for (label, nodes, pods) in SIZES {
        let snapshot = BenchCluster::new(nodes, pods, SEED).snapshot(WINDOW);
        group.throughput(Throughput::Elements(pods as u64));
        for methodology in [Methodology::Full, Methodology::Classic] {
            let options = EstimateOptions::new(methodology);
            group.bench_with_input(
                BenchmarkId::new(methodology.name(), label),
                &snapshot,
                |b, snapshot| b.iter(|| estimate(black_box(snapshot), &options)),
            );
        }
    }
    group.finish();
}

fn bench_snapshot_build(c: &mut Criterion) {
    let mut group = c.benchmark_group("snapshot_build");
    for (label, nodes, pods) in SIZES {
        let cluster = BenchCluster::new(nodes, pods, SEED);
        group.throughput(Throughput::Elements(pods as u64));
        group.bench_function(label, |b| b.iter(|| cluster.snapshot(black_box(WINDOW))));
    }
    group.finish();
}

fn bench_parse(c: &mut Criterion) {
    let mut group = c.benchmark_group("snapshot_parse");
    for (label, nodes, pods) in SIZES {
        let text = BenchCluster::new(nodes, pods, SEED).snapshot_json(WINDOW);
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.bench_with_input(BenchmarkId::from_parameter(label), &text, |b, text| {
            b.iter(|| Snapshot::from_json_str(black_box(text)));
        });
    }
    group.finish();
}

fn bench_serialise(c: &mut Criterion) {
    let mut group = c.benchmark_group("footprint_serialise");
    for (label, nodes, pods) in SIZES {
        let snapshot = BenchCluster::new(nodes, pods, SEED).snapshot(WINDOW);
        let footprint = estimate(&snapshot, &EstimateOptions::new(Methodology::Full))
            .expect("synthetic snapshots are valid");
        let size = serde_json::to_vec(&footprint).map_or(0, |v| v.len());
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_with_input(
            BenchmarkId::from_parameter(label),
            &footprint,
            |b, footprint| {
                b.iter(|| {
                    let mut out = Vec::with_capacity(size);
                    serde_json::to_writer(&mut out, black_box(footprint)).map(|()| out)
                });
            },
        );
    }
    group.finish();
}

fn footprints(nodes: usize, pods: usize, windows: usize) -> Vec<Footprint> {
    let cluster = BenchCluster::new(nodes, pods, SEED);
    let options = EstimateOptions::new(Methodology::Full);
    (0..windows)
        .map(|w| estimate(&cluster.snapshot(WINDOW + w), &options).expect("valid snapshot"))
        .collect()
}

fn bench_aggregate(c: &mut Criterion) {
    let mut group = c.benchmark_group("aggregate");
    // One hour of a 1k-pod cluster, and one window of a 10k-pod cluster.
    let cases = [
        ("12x1k", footprints(30, 1_000, 12)),
        ("1x10k", footprints(300, 10_000, 1)),
    ];
    for (label, fps) in &cases {
        let rows: usize = fps.iter().map(|f| f.pods.len()).sum();
        group.throughput(Throughput::Elements(rows as u64));
        group.bench_with_input(BenchmarkId::new("namespace", label), fps, |b, fps| {
            b.iter(|| aggregate(black_box(fps), GroupBy::Namespace, None));
        });
        group.bench_with_input(BenchmarkId::new("workload_hour", label), fps, |b, fps| {
            b.iter(|| aggregate(black_box(fps), GroupBy::Workload, Some(Period::Hour)));
        });
    }
    group.finish();
}

/// Runs every group (written out rather than with `criterion_group!`, whose function has no
/// documentation).
fn benches() {
    let mut criterion = Criterion::default().configure_from_args();
    bench_estimate(&mut criterion);
    bench_snapshot_build(&mut criterion);
    bench_parse(&mut criterion);
    bench_serialise(&mut criterion);
    bench_aggregate(&mut criterion);
}

criterion_main!(benches);
