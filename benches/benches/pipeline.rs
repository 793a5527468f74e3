//! Criterion benchmarks of the paths a user waits on around the engine, at small sizes: one
//! collection window from a stub Prometheus into SQLite, footprint rows into a store, the demo's
//! load, and `recommend --history` (a history file read, observed and priced). The scale
//! programs (`collect_scale`, `recommend_scale`, `store_write`, `scripts/bench.sh`) measure the
//! same paths at the sizes of issue 14's table.
//!
//! ```text
//! cargo bench -p greenkube-bench --bench pipeline
//! cargo bench -p greenkube-bench --bench pipeline -- --warm-up-time 1 --measurement-time 3
//! GREENKUBE_BENCH_POSTGRES_URL=postgres://... cargo bench -p greenkube-bench --bench pipeline -- store_write
//! ```
//!
//! Every iteration starts from a fresh SQLite file in a temporary directory (opened, migrated,
//! outside the timed part), so the store never grows across iterations. With
//! `GREENKUBE_BENCH_POSTGRES_URL` set, `store_write/postgres` also rewrites the same windows into
//! that database on each iteration (a rewrite replaces a window's rows in one transaction, so the
//! table keeps its size): give it a throwaway database.

use std::hint::black_box;
use std::io::Write as _;
use std::path::Path;
use std::sync::Arc;

use chrono::{TimeDelta, TimeZone, Utc};
use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_main};
use greenkube_adapters::app::demo::{Demo, DemoPlan};
use greenkube_adapters::app::{NoProgress, collect::Stop};
use greenkube_adapters::collector::{Collector, CollectorConfig, Sources};
use greenkube_adapters::history_file::for_each_footprint;
use greenkube_adapters::sources::http::HttpPolicy;
use greenkube_adapters::sources::prometheus::PrometheusSource;
use greenkube_adapters::store::{self, Store};
use greenkube_bench::{BenchCluster, many_findings, prometheus};
use greenkube_core::ports::TimeRange;
use greenkube_core::recommend::{Recommender, RecommenderConfig};
use greenkube_core::{EstimateOptions, Footprint, ReferenceData, estimate};
use tokio::runtime::Runtime;

const SEED: u64 = 42;

/// The runtime the benchmarks drive the adapters on: two workers, as the `greenkube` binary.
fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

/// A fresh SQLite store in `dir` (a new file name each call).
fn fresh_store(runtime: &Runtime, dir: &Path, count: &mut usize) -> Store {
    *count += 1;
    let url = format!(
        "sqlite://{}",
        dir.join(format!("bench-{count}.db")).display()
    );
    runtime
        .block_on(store::open(&url))
        .expect("opens a SQLite store")
}

/// One collection window (the HTTP requests to the stub, parsing, assembling, estimating, the
/// footprint's rows, the node history and the archived snapshot) into a fresh SQLite file.
fn bench_collect(c: &mut Criterion) {
    let runtime = runtime();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let mut count = 0;
    let mut group = c.benchmark_group("collect_window");
    group.sample_size(10);
    for (label, nodes, pods) in [("30x1k", 30, 1_000), ("300x10k", 300, 10_000)] {
        let snapshot = BenchCluster::new(nodes, pods, SEED).snapshot(144);
        let window = TimeRange::new(snapshot.window_start, snapshot.window_end).expect("a window");
        let server = runtime.block_on(prometheus::stub(prometheus::answers(&snapshot)));
        let source = Arc::new(
            PrometheusSource::new(&server.uri(), HttpPolicy::default()).expect("a source"),
        );
        group.throughput(Throughput::Elements(pods as u64));
        group.bench_function(BenchmarkId::from_parameter(label), |b| {
            b.iter_batched(
                || {
                    let store = fresh_store(&runtime, dir.path(), &mut count);
                    Collector::new(
                        Sources {
                            usage: Some(source.clone()),
                            ..Sources::default()
                        },
                        store.collector_stores(),
                        CollectorConfig {
                            cluster: Some("bench".to_owned()),
                            ..CollectorConfig::default()
                        },
                    )
                },
                |collector| {
                    let outcome = runtime
                        .block_on(collector.collect(&[window]))
                        .expect("collects");
                    assert!(outcome.degraded.is_empty(), "{:?}", outcome.degraded);
                    // Returned, so the store closes outside the timed part.
                    (black_box(outcome), collector)
                },
                BatchSize::PerIteration,
            );
        });
    }
    group.finish();
}

/// `windows` estimated windows of a cluster, five minutes apart.
fn footprints(nodes: usize, pods: usize, windows: usize) -> Vec<Footprint> {
    let cluster = BenchCluster::new(nodes, pods, SEED);
    let options = EstimateOptions::default();
    (0..windows)
        .map(|w| estimate(&cluster.snapshot(w), &options).expect("estimates"))
        .collect()
}

/// Ten windows of 1,000 pods written in one transaction: into a fresh SQLite file, and (with
/// `GREENKUBE_BENCH_POSTGRES_URL`) rewritten into PostgreSQL.
fn bench_store_write(c: &mut Criterion) {
    let runtime = runtime();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let mut count = 0;
    let batch = footprints(30, 1_000, 10);
    let rows: usize = batch.iter().map(|fp| fp.pods.len()).sum();
    let mut group = c.benchmark_group("store_write");
    group.sample_size(10);
    group.throughput(Throughput::Elements(rows as u64));
    group.bench_function(BenchmarkId::new("sqlite", "10x1k"), |b| {
        b.iter_batched(
            || fresh_store(&runtime, dir.path(), &mut count),
            |store| {
                let written = runtime
                    .block_on(store.footprints.write_footprints(&batch))
                    .expect("writes");
                assert_eq!(written.pod_rows, rows);
                store
            },
            BatchSize::PerIteration,
        );
    });
    if let Ok(url) = std::env::var("GREENKUBE_BENCH_POSTGRES_URL") {
        let store = runtime
            .block_on(store::open(&url))
            .expect("opens the PostgreSQL store of GREENKUBE_BENCH_POSTGRES_URL");
        group.bench_function(BenchmarkId::new("postgres_rewrite", "10x1k"), |b| {
            b.iter(|| {
                let written = runtime
                    .block_on(store.footprints.write_footprints(&batch))
                    .expect("writes");
                assert_eq!(written.pod_rows, rows);
            });
        });
    }
    group.finish();
}

/// `greenkube demo`'s load and scan, one day of the 60-pod cluster (288 windows through the
/// collector, roll-ups and retention, the recommendations) into a fresh SQLite file.
fn bench_demo(c: &mut Criterion) {
    let runtime = runtime();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let mut count = 0;
    let end = Utc
        .with_ymd_and_hms(2026, 12, 1, 0, 0, 0)
        .single()
        .expect("a date");
    let demo = Demo::new(DemoPlan {
        seed: SEED,
        days: 1,
        end,
    })
    .expect("a demo plan");
    let mut group = c.benchmark_group("demo");
    group.sample_size(10);
    group.throughput(Throughput::Elements(
        (TimeDelta::days(1).num_minutes() / 5) as u64,
    ));
    group.bench_function(BenchmarkId::from_parameter("1day"), |b| {
        b.iter_batched(
            || fresh_store(&runtime, dir.path(), &mut count),
            |store| {
                let (loaded, scan) = runtime
                    .block_on(demo.load_and_scan(
                        &store,
                        &Stop::new(),
                        &NoProgress,
                        RecommenderConfig::default(),
                    ))
                    .expect("loads the demo");
                assert_eq!(loaded.summary.windows, 288);
                black_box(scan);
                store
            },
            BatchSize::PerIteration,
        );
    });
    group.finish();
}

/// `greenkube recommend --history FILE`: the file read and parsed on its own thread, each
/// footprint observed, then the rules and the pricing of every finding. The history is 12
/// windows of a 1,000-pod cluster with many findings, one footprint per line.
fn bench_recommend_history(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("history.jsonl");
    let cluster = BenchCluster::new(30, 1_000, SEED);
    let options = EstimateOptions::default();
    let mut file = std::io::BufWriter::new(std::fs::File::create(&path).expect("creates"));
    let mut rows = 0;
    for w in 0..12 {
        let mut snapshot = cluster.snapshot(w * 24);
        many_findings(&mut snapshot);
        let footprint = estimate(&snapshot, &options).expect("estimates");
        rows += footprint.pods.len();
        serde_json::to_writer(&mut file, &footprint).expect("writes");
        file.write_all(b"\n").expect("writes");
    }
    file.flush().expect("writes");
    drop(file);
    let mut group = c.benchmark_group("recommend_history");
    group.sample_size(10);
    group.throughput(Throughput::Elements(rows as u64));
    group.bench_function(BenchmarkId::from_parameter("30x1k_x12"), |b| {
        b.iter(|| {
            let mut recommender = Recommender::new(RecommenderConfig::default(), None);
            let windows = for_each_footprint(&path, |fp| recommender.observe(&fp)).expect("reads");
            assert_eq!(windows, 12);
            black_box(recommender.finish(ReferenceData::embedded()))
        });
    });
    group.finish();
}

/// Runs every group (written out rather than with `criterion_group!`, whose function has no
/// documentation).
fn benches() {
    let mut criterion = Criterion::default().configure_from_args();
    bench_collect(&mut criterion);
    bench_store_write(&mut criterion);
    bench_demo(&mut criterion);
    bench_recommend_history(&mut criterion);
}

criterion_main!(benches);
