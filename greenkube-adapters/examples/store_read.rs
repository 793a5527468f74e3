//! How fast stored pod rows come back out of a store, page by page: by column (what the Python
//! package's `Store.footprints` reads) and, with `--rows`, as records.
//!
//! ```sh
//! cargo run --release -p greenkube-adapters --example store_read -- --store sqlite://PATH [--rows] [--page N]
//! ```
//!
//! Reads every pod row of the store in pages of `N` rows (default and most 10,000) and prints
//! the rows read, the seconds taken, the rate and the process's CPU seconds. Make a store to
//! read with the `store_write` example (`--store sqlite://PATH PODS WINDOWS 10`).

use std::time::Instant;

use chrono::{TimeZone, Utc};
use greenkube_adapters::store;
use greenkube_core::ports::{MAX_PAGE_SIZE, PodCursor, TimeRange};

#[tokio::main(flavor = "current_thread")]
#[expect(clippy::print_stdout, reason = "an example prints its measurement")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut url = None;
    let mut by_rows = false;
    let mut page = MAX_PAGE_SIZE;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--store" => url = args.next(),
            "--rows" => by_rows = true,
            "--page" => page = args.next().ok_or("--page needs a number")?.parse()?,
            other => return Err(format!("unknown argument `{other}`").into()),
        }
    }
    let url = url.ok_or("--store URL is required")?;
    let store = store::open(&url).await?;
    let repo = &store.footprints;
    let range = TimeRange::new(
        Utc.with_ymd_and_hms(1970, 1, 1, 0, 0, 0)
            .single()
            .ok_or("time")?,
        Utc.with_ymd_and_hms(9999, 1, 1, 0, 0, 0)
            .single()
            .ok_or("time")?,
    )?;
    let started = Instant::now();
    let cpu = cpu_seconds();
    let mut cursor: Option<PodCursor> = None;
    let mut rows = 0usize;
    loop {
        let next = if by_rows {
            let p = repo.read_pod_rows(range, cursor.as_ref(), page).await?;
            rows += p.rows.len();
            p.next
        } else {
            let p = repo.read_pod_columns(range, cursor.as_ref(), page).await?;
            rows += p.columns.len();
            p.next
        };
        match next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    #[allow(clippy::cast_precision_loss, reason = "a row count, printed")]
    let rate = rows as f64 / seconds;
    println!(
        "{} {rows} pod rows in {seconds:.2} s ({rate:.0} rows/s, {:.2} CPU s)",
        if by_rows { "records:" } else { "columns:" },
        cpu_seconds() - cpu
    );
    Ok(())
}

/// CPU seconds this process has used (user and system, every thread), from `/proc` (0 where
/// there is none).
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the command name (which may hold spaces), 1-based from the state: utime is
    // field 14, stime 15 of the whole line.
    let after = stat.rsplit(')').next().unwrap_or("");
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 = [11, 12]
        .iter()
        .filter_map(|&i| fields.get(i)?.parse::<f64>().ok())
        .sum();
    ticks / 100.0
}
