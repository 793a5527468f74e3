//! How fast footprint rows go into a store, and how fast a report comes back out.
//!
//! ```sh
//! cargo run --release -p greenkube-adapters --example store_write -- [PODS] [WINDOWS] [WINDOWS_PER_BATCH]
//! cargo run --release -p greenkube-adapters --features postgres --example store_write -- \
//!     --store postgres://USER:PASSWORD@HOST/DATABASE [PODS] [WINDOWS] [WINDOWS_PER_BATCH]
//! ```
//!
//! Estimates one synthetic window of `PODS` pods (default 1000, labelled as real pods are:
//! `app`, `pod-template-hash`, `team`) on 20 nodes, writes it as
//! `WINDOWS` consecutive five-minute windows (default 100), `WINDOWS_PER_BATCH` windows per
//! transaction (default 1), then aggregates by namespace and day. Prints the pod rows written,
//! the seconds taken and the rate. The timed loop includes building each batch (cloning the
//! estimated window with a new start), which costs little next to writing it; batches are built
//! one at a time, so memory stays flat.
//!
//! With `--maintain`, then rolls the history up and applies the default retention (raw rows 7
//! days, hourly roll-ups 90 days) as of the end of the last window, and reports again: the
//! 30-day report of the benchmark target reads daily roll-ups. With `--maintain-every DAYS`,
//! also maintains during the write, as a running collector does, each time the windows
//! written reach another `DAYS` days (as of the end of the last one): the store then holds
//! about 7 days of raw rows whatever the length of the history (a year of 1,000 pods is 105 M
//! rows, 40 GB raw). Those runs are timed apart from the writes.
//!
//! Without `--store`, writes to a new SQLite file in a temporary directory. With a
//! `postgres://` URL, writes into a new schema (`greenkube_bench_PID`) of that database, dropped
//! at the end, so the database needs no preparation and keeps nothing. `--keep` keeps that
//! schema and prints the URL that reads it (for `benches/serve_load.sh`); a SQLite store given
//! with `--store` is always kept.
//!
//! Figures measured on the 2-core development machine are in the README (Storage).

use std::time::Instant;

use chrono::{Duration, TimeZone, Utc};
use greenkube_adapters::store;
use greenkube_core::ports::{ReportQuery, TimeRange};
use greenkube_core::{EstimateOptions, GroupBy, Period, Snapshot, estimate};

fn snapshot(pods: usize) -> Snapshot {
    let nodes: Vec<String> = (0..20)
        .map(|i| {
            format!(
                r#"{{"name":"node-{i}","provider":"aws","instance_type":"m5.2xlarge","region":"eu-west-3",
                "cpu_capacity_cores":8,"memory_capacity_bytes":34359738368}}"#
            )
        })
        .collect();
    let pods: Vec<String> = (0..pods)
        .map(|i| {
            format!(
                r#"{{"namespace":"ns-{}","name":"app-{}-5d8f7c9b4-{i}","node":"node-{}",
                "owner_kind":"ReplicaSet","owner_name":"app-{}-5d8f7c9b4",
                "cpu_usage_cores":{},"cpu_request_cores":0.25,"memory_usage_bytes":268435456,
                "memory_request_bytes":536870912,
                "labels":{{"app":"app-{}","pod-template-hash":"5d8f7c9b4","team":"team-{}"}}}}"#,
                i % 25,
                i % 100,
                i % 20,
                i % 100,
                (i % 7) as f64 * 0.03,
                i % 100,
                i % 5
            )
        })
        .collect();
    let costs: Vec<String> = (0..pods.len())
        .step_by(2)
        .map(|i| {
            format!(
                r#"{{"namespace":"ns-{}","pod":"app-{}-5d8f7c9b4-{i}","cost":0.0004}}"#,
                i % 25,
                i % 100
            )
        })
        .collect();
    let text = format!(
        r#"{{"schema":"greenkube.snapshot/v1","cluster":"bench",
        "window_start":"2025-06-01T00:00:00Z","window_end":"2025-06-01T00:05:00Z",
        "nodes":[{}],"pods":[{}],"costs":[{}]}}"#,
        nodes.join(","),
        pods.join(","),
        costs.join(",")
    );
    Snapshot::from_json_str(&text).expect("synthetic snapshot")
}

/// What the command line asks for.
struct Args {
    store: Option<String>,
    maintain: bool,
    maintain_every_days: Option<i64>,
    keep: bool,
    numbers: Vec<usize>,
}

/// `--store URL` (anywhere), `--maintain`, `--maintain-every DAYS`, `--keep`, and the
/// numbers, in order.
fn args() -> Args {
    let mut store = None;
    let mut maintain = false;
    let mut maintain_every_days = None;
    let mut keep = false;
    let mut numbers = Vec::new();
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        if a == "--maintain" {
            maintain = true;
        } else if a == "--maintain-every" {
            let days = it.next().unwrap_or_default();
            let days: i64 =
                days.parse().ok().filter(|d| *d > 0).unwrap_or_else(|| {
                    panic!("--maintain-every takes a number of days, not {days:?}")
                });
            maintain_every_days = Some(days);
        } else if a == "--keep" {
            keep = true;
        } else if a == "--store" {
            store = it.next();
        } else if let Some(url) = a.strip_prefix("--store=") {
            store = Some(url.to_string());
        } else {
            numbers.push(a.parse().unwrap_or_else(|_| panic!("not a number: {a}")));
        }
    }
    Args {
        store,
        maintain,
        maintain_every_days,
        keep,
        numbers,
    }
}

/// A PostgreSQL URL whose connections use a new schema, and the schema's name.
#[cfg(feature = "postgres")]
async fn postgres_schema(url: &str) -> (String, String) {
    let schema = format!("greenkube_bench_{}", std::process::id());
    let pool = sqlx::PgPool::connect(url).await.expect("connects");
    sqlx::raw_sql(&format!(
        "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"
    ))
    .execute(&pool)
    .await
    .expect("creates the schema");
    pool.close().await;
    let sep = if url.contains('?') { '&' } else { '?' };
    (format!("{url}{sep}options[search_path]={schema}"), schema)
}

#[cfg(feature = "postgres")]
async fn drop_schema(url: &str, schema: &str) {
    let pool = sqlx::PgPool::connect(url).await.expect("connects");
    sqlx::raw_sql(&format!("DROP SCHEMA {schema} CASCADE"))
        .execute(&pool)
        .await
        .expect("drops the schema");
    pool.close().await;
}

#[tokio::main(flavor = "current_thread")]
#[expect(clippy::print_stdout, reason = "an example prints its measurement")]
async fn main() {
    let Args {
        store: store_url,
        maintain,
        maintain_every_days,
        keep,
        numbers,
    } = args();
    let arg = |i: usize, default: usize| numbers.get(i).copied().unwrap_or(default);
    let pods = arg(0, 1000);
    let windows = arg(1, 100);
    let per_batch = arg(2, 1).max(1);
    let base = estimate(&snapshot(pods), &EstimateOptions::default()).expect("estimates");
    let t0 = Utc
        .with_ymd_and_hms(2025, 6, 1, 0, 0, 0)
        .single()
        .expect("date");
    let dir = tempfile::tempdir().expect("temporary directory");
    #[cfg_attr(
        not(feature = "postgres"),
        expect(unused_mut, reason = "postgres only")
    )]
    let mut schema: Option<(String, String)> = None;
    let url = match store_url {
        None => format!("sqlite://{}", dir.path().join("bench.db").display()),
        #[cfg(feature = "postgres")]
        Some(url) if url.starts_with("postgres") => {
            let (with_schema, name) = postgres_schema(&url).await;
            schema = Some((url, name));
            with_schema
        }
        Some(url) => url,
    };
    let repos = store::open(&url).await.expect("opens");
    println!("store: {}", repos.location);
    let started = Instant::now();
    let mut rows = 0;
    let mut next = 0;
    // Maintenance during the write: when it is next due (window index), its runs and seconds.
    let windows_per_run =
        maintain_every_days.map(|days| usize::try_from(days * 288).unwrap_or(usize::MAX));
    let mut due = windows_per_run.unwrap_or(usize::MAX);
    let (mut runs, mut maintaining, mut deleted) = (0, std::time::Duration::ZERO, 0);
    while next < windows {
        // Built batch by batch, so a million rows never sit in memory at once.
        let batch: Vec<_> = (next..windows.min(next + per_batch))
            .map(|w| {
                let mut fp = base.clone();
                let minutes = 5 * i64::try_from(w).expect("window count");
                fp.window_start = t0 + Duration::minutes(minutes);
                fp.window_end = fp.window_start + Duration::minutes(5);
                fp
            })
            .collect();
        next += batch.len();
        rows += repos
            .footprints
            .write_footprints(&batch)
            .await
            .expect("writes")
            .pod_rows;
        if next >= due {
            let now = t0 + Duration::minutes(5 * i64::try_from(next).expect("window count"));
            let began = Instant::now();
            deleted += repos
                .footprints
                .maintain(&greenkube_core::ports::RetentionPolicy::default(), now)
                .await
                .expect("maintains")
                .raw_rows_deleted;
            maintaining += began.elapsed();
            runs += 1;
            due = next + windows_per_run.unwrap_or(usize::MAX);
        }
    }
    let seconds = started.elapsed().saturating_sub(maintaining).as_secs_f64();
    if runs > 0 {
        println!(
            "maintain during the write: {runs} runs, {deleted} raw rows deleted, in {:.2} s \
             (not in the write's seconds below)",
            maintaining.as_secs_f64()
        );
    }
    println!(
        "wrote {rows} pod rows ({windows} windows of {pods} pods, {per_batch} per transaction) \
         in {seconds:.2} s: {:.0} rows/s",
        rows as f64 / seconds
    );
    let range = TimeRange::new(t0, t0 + Duration::days(3650)).expect("range");
    let started = Instant::now();
    let report = repos
        .footprints
        .aggregate(&ReportQuery::new(range, GroupBy::Namespace).with_period(Some(Period::Day)))
        .await
        .expect("aggregates");
    println!(
        "report by namespace and day: {} rows in {:.3} s",
        report.len(),
        started.elapsed().as_secs_f64()
    );
    if maintain {
        let end = t0 + Duration::minutes(5 * i64::try_from(windows).expect("window count"));
        let started = Instant::now();
        let summary = repos
            .footprints
            .maintain(&greenkube_core::ports::RetentionPolicy::default(), end)
            .await
            .expect("maintains");
        println!(
            "maintain (raw 7d, hourly 90d): rolled up {} hours and {} days, deleted {} raw rows \
             in {:.2} s",
            summary.hours_rolled,
            summary.days_rolled,
            summary.raw_rows_deleted,
            started.elapsed().as_secs_f64()
        );
        let started = Instant::now();
        let report = repos
            .footprints
            .aggregate(&ReportQuery::new(range, GroupBy::Namespace).with_period(Some(Period::Day)))
            .await
            .expect("aggregates");
        println!(
            "report by namespace and day after roll-ups: {} rows in {:.3} s",
            report.len(),
            started.elapsed().as_secs_f64()
        );
    }
    drop(repos);
    if keep {
        println!("kept: {url}");
        return;
    }
    if let Some((base, schema)) = schema {
        #[cfg(feature = "postgres")]
        drop_schema(&base, &schema).await;
        #[cfg(not(feature = "postgres"))]
        let _ = (base, schema);
    }
}
