//! Running a collector over windows, a batch at a time, with a progress bar and a clean stop:
//! shared by `greenkube collect` and `greenkube demo`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use greenkube_adapters::collector::{BatchOutcome, CollectError, Collector};
use greenkube_core::ports::{SourceNote, TimeRange};
use indicatif::{ProgressBar, ProgressStyle};

/// What a run stored.
#[derive(Debug, Default)]
pub(crate) struct RunSummary {
    pub(crate) windows: usize,
    pub(crate) pod_rows: usize,
    pub(crate) co2e_grams: f64,
    pub(crate) degraded: Vec<SourceNote>,
    /// True when a stop was asked before every window was done.
    pub(crate) stopped: bool,
}

impl RunSummary {
    fn add(&mut self, outcome: BatchOutcome) {
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

/// A progress bar on standard error for `total` windows (hidden when standard error is not a
/// terminal, or when there is only one batch).
pub(crate) fn progress(total: usize, batch: usize, what: &str) -> ProgressBar {
    if total <= batch {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total as u64);
    bar.set_style(
        ProgressStyle::with_template(
            "{msg} [{bar:30}] {pos}/{len} windows ({elapsed}, {eta} left)",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar.set_message(what.to_string());
    bar
}

/// Collects `windows` in batches of `batch`, each stored in one transaction. A store failure
/// is retried `retries` times with back-off (the batch is idempotent); `stop` is checked between
/// batches, so a stop never leaves a batch half-stored.
pub(crate) async fn run(
    collector: &Collector,
    windows: &[TimeRange],
    batch: usize,
    retries: u32,
    stop: &Arc<AtomicBool>,
    bar: &ProgressBar,
) -> Result<RunSummary, CollectError> {
    let mut summary = RunSummary::default();
    for chunk in windows.chunks(batch.max(1)) {
        if stop.load(Ordering::SeqCst) {
            summary.stopped = true;
            break;
        }
        let mut attempt = 0;
        let outcome = loop {
            match collector.collect(chunk).await {
                Ok(outcome) => break outcome,
                Err(CollectError::Store(e)) if e.kind().is_retryable() && attempt < retries => {
                    attempt += 1;
                    bar.suspend(|| {
                        crate::printer::note(&format!(
                            "store unavailable ({e}); retrying the batch (attempt {attempt} of {retries})"
                        ));
                    });
                    tokio::time::sleep(Duration::from_secs(1u64 << attempt.min(5))).await;
                }
                Err(e) => return Err(e),
            }
        };
        bar.inc(chunk.len() as u64);
        summary.add(outcome);
    }
    bar.finish_and_clear();
    Ok(summary)
}

/// Sets `stop` on SIGINT or SIGTERM (the first signal asks for a clean stop; the current batch
/// is finished first).
pub(crate) fn stop_on_signals() -> Arc<AtomicBool> {
    let stop = Arc::new(AtomicBool::new(false));
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
        flag.store(true, Ordering::SeqCst);
    });
    stop
}
