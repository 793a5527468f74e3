//! Progress of long work on standard error: a bar (indicatif) for the use cases' `Progress`.

use std::sync::Mutex;

use greenkube_adapters::app::Progress;
use indicatif::{ProgressBar, ProgressStyle};

/// A progress bar shown once work spans more than one batch (hidden when standard error is
/// not a terminal); notes are printed above it.
#[derive(Debug)]
pub(crate) struct Bar {
    batch: usize,
    bar: Mutex<ProgressBar>,
}

impl Bar {
    /// A bar for work done `batch` items at a time.
    pub(crate) fn new(batch: usize) -> Self {
        Self {
            batch,
            bar: Mutex::new(ProgressBar::hidden()),
        }
    }

    fn bar(&self) -> ProgressBar {
        self.bar
            .lock()
            .map_or_else(|poisoned| poisoned.into_inner().clone(), |bar| bar.clone())
    }
}

impl Progress for Bar {
    fn start(&self, total: usize, what: &str) {
        if total <= self.batch {
            return;
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
        match self.bar.lock() {
            Ok(mut slot) => *slot = bar,
            Err(poisoned) => *poisoned.into_inner() = bar,
        }
    }

    fn advance(&self, done: usize) {
        self.bar().inc(done as u64);
    }

    fn note(&self, message: &str) {
        self.bar().suspend(|| crate::printer::note(message));
    }

    fn finish(&self) {
        self.bar().finish_and_clear();
    }
}
