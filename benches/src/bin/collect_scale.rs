//! Collector scale run: one collection window of a large synthetic cluster, end to end, with the
//! Prometheus answers served over HTTP by a local stub.
//!
//! ```text
//! cargo run --release -p greenkube-bench --bin collect_scale -- --nodes 3000 --pods 100000
//! ```
//!
//! Before anything is timed, the program draws the cluster, takes the snapshot of one 5-minute
//! window and writes the four answers Prometheus would give for it as JSON:
//!
//! * three `query_range` matrices (CPU, memory, restarts), one series per pod with one point
//!   at the end of the window, the labels a `sum by` leaves (`instance`, `namespace`, `node`,
//!   `pod` for cAdvisor; `namespace`, `pod` for kube-state-metrics) and the series sorted by
//!   their labels, as Prometheus sorts a matrix;
//! * the instant vector of the node query (`promql::NODES`): for each node `kube_node_labels`
//!   (instance type, region, zone, a node-pool label), `kube_node_info` (its `provider_id`) and
//!   `kube_node_status_capacity` for CPU and memory, with the target labels of a
//!   kube-state-metrics scraped by the Prometheus Operator.
//!
//! A wiremock server on `127.0.0.1` serves them, told apart by the metric name in the `query`
//! parameter. The answers are then fetched and parsed once by `PrometheusSource` alone (the
//! `fetch` figures, a warm-up), and the timed run is one `Collector::collect` of the window
//! into a fresh SQLite file: the HTTP requests, parsing, assembling the snapshot, estimating it,
//! writing the footprint in one transaction, recording the nodes and archiving the snapshot.
//! The run uses a multi-threaded tokio runtime with 2 workers, as `greenkube collect` does; the
//! stub answers from its own thread.
//!
//! With `--breakdown`, the same steps are then run one at a time into a second fresh store, each
//! timed on its own. The last line is machine-readable:
//!
//! ```text
//! collect_scale: nodes=N pods=P windows=1 pod_rows=X seconds=S fetch_seconds=F rss_before_collect_mb=B collect_peak_rss_mb=C peak_rss_mb=M
//! ```
//!
//! * `pod_rows` are the pod rows the store holds for the window afterwards (read back).
//! * `seconds` is the time of `collect` alone; `fetch_seconds` the warm-up's usage and node
//!   queries (fetched and parsed, one after the other).
//! * `peak_rss_mb` is the process's peak resident set (`VmHWM`, MiB): the whole run, so the
//!   generated answers and the stub's copies of them are included. `collect_peak_rss_mb` is the
//!   peak during `collect` alone (the peak is reset just before it through
//!   `/proc/self/clear_refs`), and `rss_before_collect_mb` the resident set at its start. All
//!   are 0 on systems other than Linux.
#![allow(clippy::print_stdout)] // A command-line report.

use std::error::Error;
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use clap::Parser;
use greenkube_adapters::collector::{Collector, CollectorConfig, Sources, Stores};
use greenkube_adapters::sources::http::HttpPolicy;
use greenkube_adapters::sources::prometheus::PrometheusSource;
use greenkube_adapters::store;
use greenkube_bench::BenchCluster;
use greenkube_bench::prometheus::{answers, stub};
use greenkube_core::ReferenceData;
use greenkube_core::aggregate::GroupBy;
use greenkube_core::collect::{WindowInputs, assemble};
use greenkube_core::ports::{ReportQuery, TimeRange, UsageSource};

/// Collects one window of a synthetic cluster from a stub Prometheus and reports the time.
#[derive(Debug, Parser)]
#[command(name = "collect_scale", version, about)]
struct Args {
    /// Nodes in the cluster.
    #[arg(long, default_value_t = 3_000)]
    nodes: usize,
    /// Pods in the cluster.
    #[arg(long, default_value_t = 100_000)]
    pods: usize,
    /// Seed of the synthetic cluster.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// The 5-minute window collected (0 is 2025-06-02T00:00Z; 144 is noon).
    #[arg(long, default_value_t = 144)]
    window: usize,
    /// Skip the warm-up (the source alone, before the collector): `collect` then opens the
    /// first connections and `fetch_seconds` is 0.
    #[arg(long)]
    no_warmup: bool,
    /// After the timed run, run the collector's steps one at a time into a second store and
    /// time each.
    #[arg(long)]
    breakdown: bool,
}

/// Length of a window.
const STEP: Duration = Duration::from_secs(300);

/// A line of `/proc/self/status` (`VmHWM`, `VmRSS`), MiB; 0 when unavailable.
fn status_mib(field: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status.lines().find_map(|line| {
                let rest = line.strip_prefix(field)?.strip_prefix(':')?;
                let kib: f64 = rest.trim().trim_end_matches("kB").trim().parse().ok()?;
                Some(kib / 1024.0)
            })
        })
        .unwrap_or(0.0)
}

/// Peak resident set size of this process, MiB.
fn peak_rss_mib() -> f64 {
    status_mib("VmHWM")
}

/// Current resident set size of this process, MiB.
fn rss_mib() -> f64 {
    status_mib("VmRSS")
}

/// Resets the peak resident set to the current one (Linux: `5` to `/proc/self/clear_refs`).
fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

// ---------------------------------------------------------------------------------------------
// Runs.

/// Opens a fresh SQLite store at `file`: the collector's stores.
async fn stores(file: &std::path::Path) -> Result<Stores, Box<dyn Error>> {
    let url = format!("sqlite://{}", file.display());
    Ok(store::open(&url).await?.collector_stores())
}

fn config() -> CollectorConfig {
    CollectorConfig {
        cluster: Some("collect-scale".to_owned()),
        step: TimeDelta::from_std(STEP).unwrap_or(TimeDelta::minutes(5)),
        ..CollectorConfig::default()
    }
}

/// The pod rows the store holds for `window`.
async fn stored_rows(stores: &Stores, window: TimeRange) -> Result<usize, Box<dyn Error>> {
    let rows = stores
        .footprints
        .aggregate(&ReportQuery::new(window, GroupBy::Cluster))
        .await?;
    Ok(rows.iter().map(|r| r.rows).sum())
}

/// The collector's steps one at a time (as `Collector::collect` runs them for one window with
/// only a usage source), each timed, into a second store.
async fn breakdown(
    source: &PrometheusSource,
    stores: &Stores,
    window: TimeRange,
) -> Result<(), Box<dyn Error>> {
    let config = config();
    let reference = ReferenceData::embedded();
    let mut steps: Vec<(&str, f64)> = Vec::new();
    let mut lap = Instant::now();
    let mut mark = |steps: &mut Vec<(&'static str, f64)>, name: &'static str| {
        steps.push((name, lap.elapsed().as_secs_f64()));
        lap = Instant::now();
    };

    let (usage, nodes) = tokio::join!(source.usage(window, STEP), source.nodes(window.from()));
    let (usage, nodes) = (usage?, nodes?);
    mark(&mut steps, "fetch+parse (usage and nodes, concurrently)");
    let snapshot = assemble(
        window.from(),
        window.to(),
        WindowInputs {
            cluster: config.cluster.as_deref().map(Arc::from),
            metric_nodes: &nodes,
            usage: usage.first(),
            ..WindowInputs::default()
        },
    );
    mark(&mut steps, "assemble");
    let zones = greenkube_core::zones_of(&snapshot, &config.options, reference);
    let footprint = greenkube_core::estimate_with(&snapshot, &config.options, reference)?;
    mark(&mut steps, "zones + estimate");
    let footprints = [footprint];
    stores.footprints.write_footprints(&footprints).await?;
    mark(&mut steps, "write footprints (one transaction)");
    stores
        .nodes
        .record_nodes(
            snapshot.cluster.as_deref(),
            snapshot.window_start,
            &snapshot.nodes,
        )
        .await?;
    mark(&mut steps, "record nodes");
    stores.archive.archive(&snapshot).await?;
    mark(&mut steps, "archive snapshot (JSON, gzip, insert)");
    let total: f64 = steps.iter().map(|(_, s)| s).sum();
    let json = Instant::now();
    let bytes = serde_json::to_vec(&snapshot)?.len();
    let json = json.elapsed().as_secs_f64();
    drop(footprints);
    drop(snapshot);
    drop(usage);
    mark(&mut steps, "drop");

    println!(
        "breakdown (second store, steps one at a time; {} zones):",
        zones.len()
    );
    for (name, seconds) in &steps {
        println!(
            "  {name:<48} {seconds:>7.3} s{}",
            if *name == "drop" {
                String::new()
            } else {
                format!(
                    "  {:>4.1} %",
                    100.0 * seconds / total.max(f64::MIN_POSITIVE)
                )
            }
        );
    }
    println!("  {:<48} {total:>7.3} s", "total (without drop)");
    println!(
        "  of the archive: serde_json::to_vec of the snapshot alone {json:.3} s ({:.1} MiB)",
        bytes as f64 / 1_048_576.0
    );
    Ok(())
}

fn main() -> Result<(), Box<dyn Error>> {
    let args = Args::parse();

    let started = Instant::now();
    let cluster = BenchCluster::new(args.nodes, args.pods, args.seed);
    let snapshot = cluster.snapshot(args.window);
    drop(cluster);
    let answers = answers(&snapshot);
    let window = TimeRange::new(snapshot.window_start, snapshot.window_end)?;
    let mut sizes = String::new();
    for (name, body, series) in [
        ("cpu", &answers.cpu, answers.series[0]),
        ("memory", &answers.memory, answers.series[1]),
        ("restarts", &answers.restarts, answers.series[2]),
        ("nodes", &answers.nodes, answers.series[3]),
    ] {
        let _ = write!(
            sizes,
            " {name}={series}/{:.1}MiB",
            body.len() as f64 / 1_048_576.0
        );
    }
    let (node_count, pod_count) = (snapshot.nodes.len(), snapshot.pods.len());
    drop(snapshot);
    println!(
        "answers (series/size):{sizes}; window {} to {}; generated in {:.3}s",
        rfc3339(window.from()),
        rfc3339(window.to()),
        started.elapsed().as_secs_f64(),
    );

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let server = stub(answers).await;
        let dir = tempfile::tempdir()?;
        let stores = stores(&dir.path().join("collect_scale.db")).await?;
        let source = PrometheusSource::new(&server.uri(), HttpPolicy::default())?;
        println!(
            "stub: {} ; store: {}",
            server.uri(),
            dir.path().join("collect_scale.db").display()
        );

        // Warm-up: the source alone (fetch and parse), usage then nodes.
        let (mut usage_seconds, mut nodes_seconds) = (0.0, 0.0);
        if !args.no_warmup {
            let t = Instant::now();
            let usage = source.usage(window, STEP).await?;
            usage_seconds = t.elapsed().as_secs_f64();
            let t = Instant::now();
            let nodes = source.nodes(window.from()).await?;
            nodes_seconds = t.elapsed().as_secs_f64();
            let pods = usage.first().map_or(0, |w| w.pods.len());
            let described = nodes
                .iter()
                .filter(|n| {
                    n.provider.is_some()
                        && n.instance_type.is_some()
                        && n.zone.is_some()
                        && n.cpu_capacity_cores.is_some()
                        && n.memory_capacity_bytes.is_some()
                })
                .count();
            println!(
                "fetch (warm-up, the source alone): usage {usage_seconds:.3}s ({} window, {pods} pods), nodes {nodes_seconds:.3}s ({} nodes, {described} fully described)",
                usage.len(),
                nodes.len(),
            );
        }

        let collector = Collector::new(
            Sources {
                usage: Some(Arc::new(source.clone())),
                ..Sources::default()
            },
            stores.clone(),
            config(),
        );
        // The peak so far (answers, stub, warm-up), then the peak of `collect` alone.
        let peak_before = peak_rss_mib();
        let reset = reset_peak_rss();
        let rss_before = rss_mib();
        let t = Instant::now();
        let outcome = collector.collect(&[window]).await?;
        let seconds = t.elapsed().as_secs_f64();
        let collect_peak = peak_rss_mib();
        let peak = peak_before.max(collect_peak);
        if !reset {
            println!("note: the peak RSS could not be reset; collect_peak_rss_mb is the whole run's");
        }

        let rows = stored_rows(&stores, window).await?;
        let archived = stores.archive.archived_windows(window).await?.len();
        let db_mib = std::fs::metadata(dir.path().join("collect_scale.db"))
            .map_or(0.0, |m| m.len() as f64 / 1_048_576.0);
        println!(
            "collect: windows={} pod_rows={} (stored: {rows}, archived windows: {archived}) co2e_kg={:.3} degraded={:?} db_mib={db_mib:.1} (without WAL)",
            outcome.windows,
            outcome.pod_rows,
            outcome.co2e_grams / 1000.0,
            outcome
                .degraded
                .iter()
                .map(|n| n.detail.as_str())
                .collect::<Vec<_>>(),
        );
        if !outcome.degraded.is_empty() || rows != outcome.pod_rows {
            return Err("the collection was degraded or its rows were not stored".into());
        }
        if args.breakdown {
            let second = stores_in(&dir).await?;
            breakdown(&source, &second, window).await?;
        }
        println!(
            "collect_scale: nodes={node_count} pods={pod_count} windows={} pod_rows={rows} seconds={seconds:.3} fetch_seconds={:.3} rss_before_collect_mb={:.0} collect_peak_rss_mb={:.0} peak_rss_mb={:.0}",
            outcome.windows,
            usage_seconds + nodes_seconds,
            rss_before.ceil(),
            collect_peak.ceil(),
            peak.ceil(),
        );
        Ok::<_, Box<dyn Error>>(())
    })
}

/// A second fresh store in `dir`.
async fn stores_in(dir: &tempfile::TempDir) -> Result<Stores, Box<dyn Error>> {
    stores(&dir.path().join("breakdown.db")).await
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}
