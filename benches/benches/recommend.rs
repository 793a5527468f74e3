//! Criterion benchmarks of the recommender's pricing: the rules and the what-if pricing of every
//! finding (`Recommender::finish`) on a small cluster with many findings (every pod its own
//! workload, most over-requested: [`greenkube_bench::many_findings`]).
//!
//! ```text
//! cargo bench -p greenkube-bench --bench recommend
//! cargo bench -p greenkube-bench --bench recommend -- --warm-up-time 1 --measurement-time 3
//! ```

use std::hint::black_box;

use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_main};
use greenkube_bench::{BenchCluster, many_findings};
use greenkube_core::recommend::{Recommender, RecommenderConfig};
use greenkube_core::{EstimateOptions, Footprint, ReferenceData, estimate};

/// Sizes benchmarked: label, nodes, pods, windows.
const SIZES: [(&str, usize, usize, usize); 2] =
    [("30x1k_x12", 30, 1_000, 12), ("100x3k_x12", 100, 3_000, 12)];

const SEED: u64 = 42;

/// The estimated windows of a cluster with many findings.
fn history(nodes: usize, pods: usize, windows: usize) -> Vec<Footprint> {
    let cluster = BenchCluster::new(nodes, pods, SEED);
    let options = EstimateOptions::default();
    (0..windows)
        .filter_map(|w| {
            let mut snapshot = cluster.snapshot(w * 24);
            many_findings(&mut snapshot);
            estimate(&snapshot, &options).ok()
        })
        .collect()
}

/// A recommender that has observed the history (not timed).
fn observed(history: &[Footprint]) -> Recommender<'static> {
    let mut recommender = Recommender::new(RecommenderConfig::default(), None);
    for footprint in history {
        recommender.observe(footprint);
    }
    recommender
}

fn bench_finish(c: &mut Criterion) {
    let mut group = c.benchmark_group("recommend_finish");
    group.sample_size(10);
    for (label, nodes, pods, windows) in SIZES {
        let history = history(nodes, pods, windows);
        let findings = observed(&history).finish(ReferenceData::embedded()).len();
        // Throughput in priced findings.
        group.throughput(Throughput::Elements(findings as u64));
        group.bench_with_input(
            BenchmarkId::from_parameter(label),
            &history,
            |b, history| {
                b.iter_batched(
                    || observed(history),
                    |recommender| black_box(recommender.finish(ReferenceData::embedded())),
                    BatchSize::LargeInput,
                );
            },
        );
    }
    group.finish();
}

fn bench_observe(c: &mut Criterion) {
    let mut group = c.benchmark_group("recommend_observe");
    group.sample_size(10);
    let (label, nodes, pods, windows) = SIZES[1];
    let history = history(nodes, pods, windows);
    group.throughput(Throughput::Elements((pods * windows) as u64));
    group.bench_with_input(
        BenchmarkId::from_parameter(label),
        &history,
        |b, history| {
            b.iter(|| observed(black_box(history)));
        },
    );
    group.finish();
}

/// Runs every group (written out rather than with `criterion_group!`, whose function has no
/// documentation).
fn benches() {
    let mut criterion = Criterion::default().configure_from_args();
    bench_finish(&mut criterion);
    bench_observe(&mut criterion);
}

criterion_main!(benches);
