//! Collecting: the collector over windows in batches (retried, stoppable between batches), and
//! the loop of a collection daemon (backfill from the watermark, one window per step, roll-ups
//! and retention after each cycle).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use greenkube_core::collect::due_windows;
use greenkube_core::ports::{MaintenanceSummary, SourceNote, TimeRange, floor_time};

use tracing::Instrument as _;

use super::{AppError, Progress};
use crate::collector::{BatchOutcome, CollectError, Collector, Gathered};

/// What a run stored.
#[derive(Debug, Clone, Default)]
pub struct RunSummary {
    /// Windows stored.
    pub windows: usize,
    /// Pod rows stored.
    pub pod_rows: usize,
    /// Operational CO2e of the stored windows, grams.
    pub co2e_grams: f64,
    /// Sources that were degraded in some window (one note per source).
    pub degraded: Vec<SourceNote>,
    /// True when a stop was asked before every window was done.
    pub stopped: bool,
    /// Each source failure, one per source and batch it degraded (for counting).
    pub source_errors: Vec<SourceNote>,
    /// How long each stored batch took, read and store, in order (a batch read while the one
    /// before it was stored counts from the end of that store).
    pub batch_durations: Vec<Duration>,
    /// How long each stored batch's store write took (footprints, nodes, archive), in order.
    pub store_durations: Vec<Duration>,
    /// End of the last window stored.
    pub last_window_end: Option<DateTime<Utc>>,
}

impl RunSummary {
    fn add(&mut self, outcome: BatchOutcome) {
        self.source_errors.extend(outcome.degraded.iter().cloned());
        self.windows += outcome.windows;
        self.pod_rows += outcome.pod_rows;
        self.co2e_grams += outcome.co2e_grams;
        for note in outcome.degraded {
            if !self.degraded.iter().any(|d| d.source == note.source) {
                self.degraded.push(note);
            }
        }
    }
}

/// A request to stop, shared between whoever asks (a signal, a server shutting down) and the
/// work that checks it between batches, so a stop never leaves a batch half-stored.
#[derive(Debug, Clone, Default)]
pub struct Stop(Arc<AtomicBool>);

impl Stop {
    /// No stop asked yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks for a stop.
    pub fn request(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// Whether a stop was asked.
    pub fn is_requested(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }

    /// Returns once a stop is asked.
    pub async fn requested(&self) {
        while !self.is_requested() {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// A stop asked by the first SIGINT or SIGTERM (Ctrl-C elsewhere). Must be called inside a
    /// tokio runtime.
    pub fn on_signals() -> Self {
        let stop = Self::new();
        let flag = stop.clone();
        tokio::spawn(async move {
            #[cfg(unix)]
            {
                use tokio::signal::unix::{SignalKind, signal};
                let (Ok(mut term), Ok(mut int)) = (
                    signal(SignalKind::terminate()),
                    signal(SignalKind::interrupt()),
                ) else {
                    return;
                };
                tokio::select! {
                    _ = term.recv() => {}
                    _ = int.recv() => {}
                }
            }
            #[cfg(not(unix))]
            {
                let _ = tokio::signal::ctrl_c().await;
            }
            flag.request();
        });
        stop
    }
}

/// Collects `windows` in batches of `batch`, each stored in one transaction. A store failure
/// is retried `retries` times with back-off (a batch is idempotent); `stop` is checked between
/// batches.
///
/// While a batch is stored, the next one is read and estimated: the store's work (its own
/// thread, or its server) and the collector's (this task) overlap. The batches are still
/// stored one after the other, in order. With
/// [`crate::collector::CollectorConfig::maintain_each_batch`], each stored batch is also rolled
/// up and cut as of its end, in the same overlap (a failure of that maintenance is retried as a
/// store failure of the batch).
pub async fn run_windows(
    collector: &Collector,
    windows: &[TimeRange],
    batch: usize,
    retries: u32,
    stop: &Stop,
    progress: &dyn Progress,
) -> Result<RunSummary, CollectError> {
    run_windows_observed(
        collector,
        windows,
        batch,
        retries,
        stop,
        progress,
        &mut |_| {},
    )
    .await
}

/// [`run_windows`], handing each stored batch to `observe` (its snapshots and footprints, in
/// window order) once it is stored: for a caller that also wants what it collected, without
/// reading it back from the store.
pub async fn run_windows_observed(
    collector: &Collector,
    windows: &[TimeRange],
    batch: usize,
    retries: u32,
    stop: &Stop,
    progress: &dyn Progress,
    observe: &mut (dyn FnMut(&Gathered) + Send),
) -> Result<RunSummary, CollectError> {
    let mut summary = RunSummary::default();
    progress.start(windows.len(), "collecting");
    let chunks: Vec<&[TimeRange]> = windows.chunks(batch.max(1)).collect();
    // The next batch, read while this one was stored.
    let mut ahead: Option<Result<Gathered, CollectError>> = None;
    for (index, chunk) in chunks.iter().enumerate() {
        if stop.is_requested() {
            summary.stopped = true;
            break;
        }
        let (Some(first), Some(last)) = (chunk.first(), chunk.last()) else {
            continue;
        };
        let span = tracing::info_span!(
            "batch",
            from = %first.from().to_rfc3339(),
            to = %last.to().to_rfc3339(),
            windows = chunk.len()
        );
        let started = Instant::now();
        let mut attempt = 0;
        let mut gathered = ahead.take();
        let (outcome, stored_in) = loop {
            let attempted = match gathered.take() {
                Some(read) => read,
                None => collector.gather(chunk).instrument(span.clone()).await,
            };
            let kept = match attempted {
                Ok(read) => {
                    // The next batch is read once, alongside this batch's first store attempt.
                    let next = chunks
                        .get(index + 1)
                        .filter(|_| attempt == 0 && !stop.is_requested());
                    let keep = async {
                        let started = Instant::now();
                        let mut kept = collector.keep(&read).await;
                        if kept.is_ok() && collector.config().maintain_each_batch {
                            // Every window before the batch's end is stored by now.
                            kept = collector.maintain(last.to()).await.map(|_| ());
                        }
                        (kept, started.elapsed())
                    };
                    let read_next = async {
                        match next {
                            Some(next) => Some(collector.gather(next).await),
                            None => None,
                        }
                    };
                    let ((kept, stored_in), read_next) =
                        tokio::join!(keep.instrument(span.clone()), read_next);
                    if read_next.is_some() {
                        ahead = read_next;
                    }
                    match kept {
                        Ok(()) => {
                            observe(&read);
                            Ok((read.outcome, stored_in))
                        }
                        Err(e) => Err(CollectError::from(e)),
                    }
                }
                Err(e) => Err(e),
            };
            match kept {
                Ok(done) => break done,
                Err(CollectError::Store(e)) if e.kind().is_retryable() && attempt < retries => {
                    attempt += 1;
                    span.in_scope(|| {
                        tracing::warn!(attempt, retries, error = %e, "store unavailable; retrying the batch");
                    });
                    progress.note(&format!(
                        "store unavailable ({e}); retrying the batch (attempt {attempt} of {retries})"
                    ));
                    tokio::time::sleep(Duration::from_secs(1u64 << attempt.min(5))).await;
                }
                Err(e) => {
                    progress.finish();
                    return Err(e);
                }
            }
        };
        progress.advance(chunk.len());
        let took = started.elapsed();
        span.in_scope(|| {
            for note in &outcome.degraded {
                tracing::warn!(source = %note.source, kind = note.kind.description(), "source degraded in this batch");
            }
            tracing::debug!(
                pod_rows = outcome.pod_rows,
                seconds = took.as_secs_f64(),
                store_seconds = stored_in.as_secs_f64(),
                "batch stored"
            );
        });
        summary.batch_durations.push(took);
        summary.store_durations.push(stored_in);
        summary.last_window_end = Some(last.to());
        summary.add(outcome);
    }
    progress.finish();
    Ok(summary)
}

/// The last window of the collector's step that has ended by `at` (aligned to multiples of the
/// step since the epoch, as the collection loop aligns them), read from the sources and
/// estimated; stored too when `keep`. For front ends that want the window itself (Python's
/// `collect_window`).
pub async fn one_window(
    collector: &Collector,
    at: DateTime<Utc>,
    keep: bool,
) -> Result<Gathered, AppError> {
    let step = collector.config().step;
    let window = due_windows(None, at, step, step, 1)
        .into_iter()
        .next()
        .ok_or_else(|| {
            AppError::Invalid(format!(
                "no window of {} s ends by {}: the step must be positive and the time \
                 after the epoch",
                step.num_seconds(),
                at.to_rfc3339()
            ))
        })?;
    let gathered = collector.gather(&[window]).await?;
    if keep {
        collector.keep(&gathered).await?;
    }
    Ok(gathered)
}

/// How a collection loop runs.
#[derive(Debug, Clone)]
pub struct LoopConfig {
    /// Window length (at least one minute).
    pub step: TimeDelta,
    /// Backfill this far back on start (default: one step).
    pub since: Option<TimeDelta>,
    /// One cycle only: the latest complete window (or the `since` range), then return.
    pub once: bool,
    /// A fixed "now" (replay); the wall clock otherwise.
    pub now: Option<DateTime<Utc>>,
    /// Extra wait after a window ends, for late samples.
    pub delay: TimeDelta,
    /// Windows per batch (and per transaction).
    pub batch: usize,
    /// Store failures retried per batch.
    pub retries: u32,
}

impl Default for LoopConfig {
    fn default() -> Self {
        Self {
            step: TimeDelta::minutes(5),
            since: None,
            once: false,
            now: None,
            delay: TimeDelta::seconds(30),
            batch: 12,
            retries: 3,
        }
    }
}

/// One cycle of a collection loop.
#[derive(Debug, Clone)]
pub struct Cycle {
    /// The windows that were due.
    pub due: Vec<TimeRange>,
    /// What was stored.
    pub summary: RunSummary,
    /// What roll-ups and retention did after the cycle.
    pub maintenance: Option<MaintenanceSummary>,
}

/// The furthest back a collection loop backfills (`since`): ten years. Metrics are kept for
/// weeks or months; beyond this, the range is a typing error, not a history.
pub const MAX_BACKFILL: TimeDelta = TimeDelta::days(3660);

/// Runs a collection loop until `stop` (or after one cycle with `once`): each cycle collects
/// the windows due since the store's watermark (backfilling up to `since`, at least 8 days on
/// restart), then rolls up and applies retention, reports the cycle to `on_cycle`, and sleeps
/// until the next window has ended. When neither usage nor inventory answers, the windows stay
/// due for the next cycle (with `once`, that is an error).
pub async fn run_loop(
    collector: &Collector,
    config: &LoopConfig,
    stop: &Stop,
    progress: &dyn Progress,
    clock: &(dyn Fn() -> DateTime<Utc> + Send + Sync),
    mut on_cycle: impl FnMut(&Cycle) + Send,
) -> Result<(), AppError> {
    let step = config.step;
    if step < TimeDelta::minutes(1) {
        return Err(AppError::Invalid(
            "the step must be at least 1m".to_string(),
        ));
    }
    let backfill = config.since.unwrap_or(step);
    if backfill > MAX_BACKFILL {
        return Err(AppError::Invalid(format!(
            "the backfill goes back {} days: at most {} days (ten years) can be collected",
            backfill.num_days(),
            MAX_BACKFILL.num_days()
        )));
    }
    loop {
        let now = config.now.unwrap_or_else(clock);
        let lookback = backfill.max(TimeDelta::days(8));
        let watermark = collector.watermark(now, lookback).await?;
        let due: Vec<TimeRange> = if config.once && config.since.is_none() {
            // The latest complete window, unless it is already stored.
            due_windows(None, now, step, step, 1)
                .into_iter()
                .filter(|w| watermark.is_none_or(|m| m <= w.from()))
                .collect()
        } else {
            due_windows(watermark, now, step, backfill, usize::MAX)
        };
        if due.is_empty() && config.once {
            progress.note("nothing to collect: the latest window is already stored");
        }
        if !due.is_empty() {
            let summary = match run_windows(
                collector,
                &due,
                config.batch,
                config.retries,
                stop,
                progress,
            )
            .await
            {
                Ok(summary) => summary,
                Err(e @ CollectError::NoData(_)) if !config.once => {
                    progress.note(&e.to_string());
                    RunSummary::default()
                }
                Err(e) => return Err(e.into()),
            };
            let maintenance = collector.maintain(now).await?;
            let stopped = summary.stopped;
            on_cycle(&Cycle {
                due,
                summary,
                maintenance: Some(maintenance),
            });
            if stopped {
                break;
            }
        }
        if config.once || stop.is_requested() {
            break;
        }
        // Sleep until the next window has ended (and a little more for late samples): the
        // next window ends at the next multiple of the step after `now`.
        let next = floor_time(now, step) + step;
        let wait = (next - clock() + config.delay)
            .to_std()
            .unwrap_or(Duration::from_secs(1));
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = stop.requested() => break,
        }
    }
    Ok(())
}
