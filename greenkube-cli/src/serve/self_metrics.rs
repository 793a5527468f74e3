//! greenkube's own metrics, served after the footprint gauges on `/metrics`: the build, and
//! with `serve --collect` what the collection loop does (windows, rows, source failures, how
//! long batches and store writes take, how far behind the last stored window is).
//!
//! The loop reports each cycle ([`SelfMetrics::observe`]); a scrape encodes the counters as
//! they are then, and the lag against the scrape's clock, so these are never the cached
//! exposition's (which is reused for a few seconds).

use std::sync::Mutex;
use std::sync::atomic::AtomicU64;

use chrono::{DateTime, Utc};
use greenkube_adapters::app::collect::Cycle;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

type Labels = Vec<(String, String)>;

/// The collection loop's counters, shared by the loop and the server.
#[derive(Debug)]
pub(crate) struct SelfMetrics {
    collecting: bool,
    windows_collected: Counter,
    windows_stored: Counter,
    rows_written: Counter,
    source_errors: Family<Labels, Counter>,
    batch_duration: Histogram,
    store_write_duration: Histogram,
    last_window_end: Mutex<Option<DateTime<Utc>>>,
}

/// Buckets for durations: 10 ms to about 80 s, doubling.
fn duration_buckets() -> Histogram {
    Histogram::new(exponential_buckets(0.01, 2.0, 14))
}

impl SelfMetrics {
    /// The metrics of a server that collects (`serve --collect`) or not.
    pub(crate) fn new(collecting: bool) -> Self {
        Self {
            collecting,
            windows_collected: Counter::default(),
            windows_stored: Counter::default(),
            rows_written: Counter::default(),
            source_errors: Family::default(),
            batch_duration: duration_buckets(),
            store_write_duration: duration_buckets(),
            last_window_end: Mutex::new(None),
        }
    }

    /// Counts what a cycle of the collection loop did.
    #[cfg_attr(
        not(feature = "collect"),
        expect(dead_code, reason = "the loop is `serve --collect`'s")
    )]
    pub(crate) fn observe(&self, cycle: &Cycle) {
        let s = &cycle.summary;
        self.windows_collected.inc_by(cycle.due.len() as u64);
        self.windows_stored.inc_by(s.windows as u64);
        self.rows_written.inc_by(s.pod_rows as u64);
        for note in &s.source_errors {
            let labels = vec![
                ("source".to_string(), note.source.name().to_string()),
                ("kind".to_string(), note.kind.name().to_string()),
            ];
            self.source_errors.get_or_create(&labels).inc();
        }
        for d in &s.batch_durations {
            self.batch_duration.observe(d.as_secs_f64());
        }
        for d in &s.store_durations {
            self.store_write_duration.observe(d.as_secs_f64());
        }
        if let Some(end) = s.last_window_end
            && let Ok(mut last) = self.last_window_end.lock()
        {
            *last = Some(last.map_or(end, |l| l.max(end)));
        }
    }

    /// The exposition of these metrics as of `now` (the `OpenMetrics` text, ending with `# EOF`).
    pub(crate) fn encode(&self, now: DateTime<Utc>) -> Result<String, std::fmt::Error> {
        let mut registry = Registry::default();
        let build: Family<Labels, Gauge> = Family::default();
        build
            .get_or_create(&vec![(
                "version".to_string(),
                greenkube_core::VERSION.to_string(),
            )])
            .set(1);
        registry.register(
            "greenkube_build_info",
            "greenkube's version (always 1)",
            build,
        );
        if self.collecting {
            registry.register(
                "greenkube_windows_collected",
                "Windows the collection loop found due and read from the sources (a window no \
                 source answered for is due again at the next cycle)",
                self.windows_collected.clone(),
            );
            registry.register(
                "greenkube_windows_stored",
                "Windows estimated and stored",
                self.windows_stored.clone(),
            );
            registry.register(
                "greenkube_rows_written",
                "Pod rows written to the store",
                self.rows_written.clone(),
            );
            registry.register(
                "greenkube_source_errors",
                "Source failures, one per source and batch it degraded, by source and kind",
                self.source_errors.clone(),
            );
            registry.register(
                "greenkube_collection_batch_duration_seconds",
                "How long a batch of windows took, read, estimated and stored",
                self.batch_duration.clone(),
            );
            registry.register(
                "greenkube_store_write_duration_seconds",
                "How long a batch's store write took (footprints, nodes, archived snapshots)",
                self.store_write_duration.clone(),
            );
            let last = self.last_window_end.lock().ok().and_then(|l| *l);
            if let Some(end) = last {
                let lag: Gauge<f64, AtomicU64> = Gauge::default();
                #[allow(clippy::cast_precision_loss, reason = "seconds of lag, far below 2^53")]
                lag.set((now - end).num_milliseconds() as f64 / 1000.0);
                registry.register(
                    "greenkube_collection_lag_seconds",
                    "Seconds between now and the end of the last stored window",
                    lag,
                );
            }
        }
        let mut out = String::new();
        encode(&mut out, &registry)?;
        Ok(out)
    }
}

/// `served` (an exposition ending with `# EOF`) followed by `own` (another), as one.
pub(crate) fn join(served: &str, own: &str) -> String {
    let head = served
        .strip_suffix("# EOF\n")
        .or_else(|| served.strip_suffix("# EOF"))
        .unwrap_or(served);
    format!("{head}{own}")
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use greenkube_adapters::app::collect::RunSummary;
    use greenkube_core::ports::{SourceErrorKind, SourceKind, SourceNote, TimeRange};

    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn a_cycle_moves_every_counter_and_the_lag_follows_the_clock() {
        let m = SelfMetrics::new(true);
        let due = vec![
            TimeRange::new(at("2024-01-01T00:00:00Z"), at("2024-01-01T00:05:00Z")).unwrap(),
            TimeRange::new(at("2024-01-01T00:05:00Z"), at("2024-01-01T00:10:00Z")).unwrap(),
            TimeRange::new(at("2024-01-01T00:10:00Z"), at("2024-01-01T00:15:00Z")).unwrap(),
        ];
        let note = |source, kind| SourceNote {
            source,
            kind,
            detail: String::new(),
        };
        let summary = RunSummary {
            windows: 2,
            pod_rows: 40,
            source_errors: vec![
                note(SourceKind::Opencost, SourceErrorKind::Unreachable),
                note(SourceKind::Opencost, SourceErrorKind::Unreachable),
            ],
            batch_durations: vec![Duration::from_millis(300)],
            store_durations: vec![Duration::from_millis(20)],
            last_window_end: Some(at("2024-01-01T00:10:00Z")),
            ..RunSummary::default()
        };
        m.observe(&Cycle {
            due,
            summary,
            maintenance: None,
        });
        let text = m.encode(at("2024-01-01T00:12:30Z")).unwrap();
        for line in [
            "greenkube_windows_collected_total 3",
            "greenkube_windows_stored_total 2",
            "greenkube_rows_written_total 40",
            "greenkube_source_errors_total{source=\"opencost\",kind=\"unreachable\"} 2",
            "greenkube_collection_batch_duration_seconds_count 1",
            "greenkube_collection_batch_duration_seconds_sum 0.3",
            "greenkube_store_write_duration_seconds_count 1",
            "greenkube_collection_lag_seconds 150.0",
        ] {
            assert!(text.contains(line), "no `{line}` in\n{text}");
        }
        assert!(text.contains("greenkube_build_info{version="), "{text}");
        assert!(text.ends_with("# EOF\n"), "{text}");
    }

    #[test]
    fn without_collection_only_the_build_and_no_lag_before_a_window() {
        let quiet = SelfMetrics::new(false)
            .encode(at("2024-01-01T00:00:00Z"))
            .unwrap();
        assert!(quiet.contains("greenkube_build_info"), "{quiet}");
        assert!(!quiet.contains("greenkube_windows"), "{quiet}");
        let fresh = SelfMetrics::new(true)
            .encode(at("2024-01-01T00:00:00Z"))
            .unwrap();
        assert!(
            fresh.contains("greenkube_windows_stored_total 0"),
            "{fresh}"
        );
        assert!(!fresh.contains("lag"), "{fresh}");
    }

    #[test]
    fn two_expositions_join_into_one() {
        let joined = join(
            "# TYPE a gauge\na 1\n# EOF\n",
            "# TYPE b gauge\nb 2\n# EOF\n",
        );
        assert_eq!(joined, "# TYPE a gauge\na 1\n# TYPE b gauge\nb 2\n# EOF\n");
    }
}
