//! Logs: `tracing` events on standard error, as text or one JSON object per line, with a UTC
//! timestamp, the level and the target.
//!
//! The rule between logs and output: what a command was asked to produce (tables, JSON,
//! CSV, a one-shot command's summary of what it did, progress bars, notes about the figures) is
//! output and goes to standard output or error as before, whatever the log settings. What a
//! long-running process does over time (each collection cycle of `collect` and `serve
//! --collect`, source failures, store retries, the served metrics failing) and what helps to
//! debug it (spans per batch and per source request, store write times) are log events.
//!
//! greenkube's own crates log at `--log-level` (default `info`); the libraries under them
//! (kube, sqlx, hyper, reqwest, rustls, elasticsearch, ...) at `warn`. `RUST_LOG`, when set,
//! replaces both with its own directives. Fields never hold a secret: store URLs are the
//! masked ones, source URLs are masked before they are logged, and tokens and keys are never
//! fields.

use clap::ValueEnum;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::time::SystemTime;

/// How much greenkube logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum LogLevel {
    /// Failures only.
    Error,
    /// Failures and degraded collection (a source down, a store retry).
    Warn,
    /// What a daemon does, a line per cycle (the default).
    #[default]
    Info,
    /// Spans and events per batch, source request and store write.
    Debug,
    /// Everything greenkube logs.
    Trace,
}

impl LogLevel {
    /// The level `verbose` steps more talkative and `quiet` steps quieter than this one
    /// (`-v`, `-q`), kept between `error` and `trace`.
    pub fn adjusted(self, verbose: u8, quiet: u8) -> Self {
        const ORDER: [LogLevel; 5] = [
            LogLevel::Error,
            LogLevel::Warn,
            LogLevel::Info,
            LogLevel::Debug,
            LogLevel::Trace,
        ];
        let at = ORDER.iter().position(|l| *l == self).unwrap_or(2);
        let at = (at + usize::from(verbose)).saturating_sub(usize::from(quiet));
        ORDER[at.min(ORDER.len() - 1)]
    }

    fn directive(self) -> &'static str {
        match self {
            Self::Error => "error",
            Self::Warn => "warn",
            Self::Info => "info",
            Self::Debug => "debug",
            Self::Trace => "trace",
        }
    }
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum LogFormat {
    /// `TIME LEVEL target: message key=value ...`
    #[default]
    Text,
    /// One JSON object per line: `timestamp`, `level`, `target`, `message`, the event's fields
    /// and its spans.
    Json,
}

/// greenkube's crates, by target prefix.
const OWN_TARGETS: [&str; 4] = [
    "greenkube",
    "greenkube_cli",
    "greenkube_adapters",
    "greenkube_core",
];

/// The filter: `rust_log`'s directives when given (and valid), else greenkube's crates at
/// `level` and everything else at `warn`. A `RUST_LOG` that does not parse is an error naming
/// it.
pub(crate) fn filter(level: LogLevel, rust_log: Option<&str>) -> Result<EnvFilter, String> {
    let directives = match rust_log.map(str::trim).filter(|s| !s.is_empty()) {
        Some(custom) => custom.to_string(),
        None => {
            let own: Vec<String> = OWN_TARGETS
                .iter()
                .map(|t| format!("{t}={}", level.directive()))
                .collect();
            format!("warn,{}", own.join(","))
        }
    };
    EnvFilter::builder()
        .parse(&directives)
        .map_err(|e| format!("RUST_LOG `{directives}` is not a filter: {e}"))
}

/// Installs the logger for the process: events of `filter` on standard error, as `format`.
/// Called once, after the command line is read.
pub(crate) fn init(filter: EnvFilter, format: LogFormat) {
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_timer(SystemTime);
    // A second install (tests calling `main` twice) keeps the first: nothing to do.
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verbose_and_quiet_step_the_level_within_its_bounds() {
        assert_eq!(LogLevel::Info.adjusted(1, 0), LogLevel::Debug);
        assert_eq!(LogLevel::Info.adjusted(2, 0), LogLevel::Trace);
        assert_eq!(LogLevel::Info.adjusted(5, 0), LogLevel::Trace);
        assert_eq!(LogLevel::Info.adjusted(0, 1), LogLevel::Warn);
        assert_eq!(LogLevel::Info.adjusted(0, 9), LogLevel::Error);
        assert_eq!(LogLevel::Warn.adjusted(1, 0), LogLevel::Info);
        assert_eq!(LogLevel::Debug.adjusted(0, 0), LogLevel::Debug);
    }

    #[test]
    fn own_crates_at_the_level_the_rest_at_warn() {
        let f = filter(LogLevel::Debug, None).unwrap().to_string();
        for t in OWN_TARGETS {
            assert!(f.contains(&format!("{t}=debug")), "{f}");
        }
        assert!(f.contains("warn"), "{f}");
    }

    #[test]
    fn rust_log_replaces_the_level_and_a_bad_one_is_named() {
        let f = filter(LogLevel::Info, Some("sqlx=debug"))
            .unwrap()
            .to_string();
        assert!(f.contains("sqlx=debug") && !f.contains("greenkube"), "{f}");
        let blank = filter(LogLevel::Error, Some("  ")).unwrap().to_string();
        assert!(blank.contains("greenkube=error"), "{blank}");
        let err = filter(LogLevel::Info, Some("sqlx=loud")).unwrap_err();
        assert!(err.contains("RUST_LOG `sqlx=loud`"), "{err}");
    }
}
