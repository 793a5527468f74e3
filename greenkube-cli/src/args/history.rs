//! Arguments of the commands over a history: `recommend`, `what-if`, `score` and
//! `recommendations`.

#[allow(
    clippy::wildcard_imports,
    reason = "the types the arguments share live in the parent"
)]
use super::*;

/// Arguments of `greenkube recommend`.
#[derive(Debug, clap::Args)]
pub struct RecommendArgs {
    /// The footprints to read: a history file, or a store's range.
    #[command(flatten)]
    pub input: HistoryArgs,

    /// Inventory: `{"nodes": [snapshot nodes], "hpas": [{"namespace", "target_kind", "target_name"}]}`.
    #[arg(long, value_name = "FILE")]
    pub inventory: Option<PathBuf>,

    /// Only this namespace (node-level recommendations are kept).
    #[arg(long, short = 'n', value_name = "NS")]
    pub namespace: Option<String>,

    /// Include system namespaces (kube-system, ...).
    #[arg(long)]
    pub include_system_namespaces: bool,

    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value_t = RowsFormat::Table)]
    pub format: RowsFormat,

    /// Reading a store: keep this scan in the store's recommendations (new ones active, ones no
    /// longer found stale, ignored and applied ones keep their state), and leave ignored ones
    /// out of the output. `greenkube recommendations` lists and changes them.
    #[arg(long, conflicts_with = "history")]
    pub save: bool,

    /// Exit 3 when the recommendations would save more than this many grams of CO2e per year.
    #[arg(long, value_name = "GRAMS", value_parser = threshold)]
    pub fail_on_co2_savings: Option<f64>,

    /// Exit 3 when the recommendations would save more than this much money per year.
    #[arg(long, value_name = "AMOUNT", value_parser = threshold)]
    pub fail_on_cost_savings: Option<f64>,
}

/// Arguments of `greenkube what-if`.
#[derive(Debug, clap::Args)]
pub struct WhatIfArgs {
    /// The footprints to read: a history file, or a store's range.
    #[command(flatten)]
    pub input: HistoryArgs,

    /// Changes to apply (a JSON array).
    #[arg(long, value_name = "CHANGES.json")]
    pub apply: PathBuf,

    /// Re-estimate at most this many windows, evenly spread, and scale up (default: all).
    #[arg(long, value_name = "N")]
    pub max_windows: Option<usize>,

    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value_t = RowsFormat::Table)]
    pub format: RowsFormat,
}

/// Arguments of `greenkube score`.
#[derive(Debug, clap::Args)]
pub struct ScoreArgs {
    /// The footprints to read: a history file, or a store's range.
    #[command(flatten)]
    pub input: HistoryArgs,

    /// Inventory (nodes' capacity, HPA targets).
    #[arg(long, value_name = "FILE")]
    pub inventory: Option<PathBuf>,

    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value_t = RowsFormat::Table)]
    pub format: RowsFormat,
}

/// Where `recommend`, `what-if` and `score` read footprints: a history file, or the archived
/// windows of a store's range (re-estimated with the default methodology).
#[derive(clap::Args)]
pub struct HistoryArgs {
    /// History of footprints (`-` for standard input): a JSON array, or one per line as
    /// `greenkube estimate --format json` writes them.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["since", "from", "cluster"])]
    pub history: Option<PathBuf>,

    /// The store whose archived windows to read with `--since` or `--from`/`--to` (default
    /// `sqlite://greenkube.db`); the windows are re-estimated with the default methodology.
    #[arg(long, value_name = "URL", env = "GREENKUBE_STORE")]
    pub store: Option<String>,

    /// Read the store's windows that started in the last DURATION (`30d`, `12h`, `2w`, `1mo`,
    /// `1y`; `m` is minutes) or this year (`ytd`).
    #[arg(long, value_name = "DURATION", value_parser = crate::time_arg::parse_lookback)]
    pub since: Option<crate::time_arg::Lookback>,

    /// Read the store's windows that started at or after TIME (RFC 3339 or a date).
    #[arg(long, value_name = "TIME", requires = "to", value_parser = crate::time_arg::parse_instant)]
    pub from: Option<chrono::DateTime<chrono::Utc>>,

    /// ... and before TIME.
    #[arg(long, value_name = "TIME", requires = "from", conflicts_with = "since", value_parser = crate::time_arg::parse_instant)]
    pub to: Option<chrono::DateTime<chrono::Utc>>,

    /// Reading a store: only this cluster's windows (default: every cluster).
    #[arg(long, value_name = "NAME")]
    pub cluster: Option<String>,
}

/// The store URL with its password masked.
impl std::fmt::Debug for HistoryArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HistoryArgs")
            .field("history", &self.history)
            .field(
                "store",
                &self
                    .store
                    .as_deref()
                    .map(greenkube_adapters::secret::redact_url),
            )
            .field("since", &self.since)
            .field("from", &self.from)
            .field("to", &self.to)
            .field("cluster", &self.cluster)
            .finish()
    }
}

/// Arguments of `greenkube recommendations`.
#[derive(Debug, clap::Args)]
pub struct RecommendationsArgs {
    /// The store.
    #[command(flatten)]
    pub store: StoreArg,

    /// What to do (default: list the active ones).
    #[command(subcommand)]
    pub action: Option<RecommendationAction>,
}

/// What `greenkube recommendations` does.
#[derive(Debug, Subcommand)]
pub enum RecommendationAction {
    /// List kept recommendations.
    List {
        /// Which states to list.
        #[arg(long, value_enum, default_value_t = StatusFilter::Active)]
        status: StatusFilter,
        /// Output format.
        #[arg(long, short = 'f', value_enum, default_value_t = RowsFormat::Table)]
        format: RowsFormat,
    },
    /// Mark a recommendation applied.
    Apply {
        /// Its id, or a unique prefix.
        id: String,
    },
    /// Ignore a recommendation while its finding persists.
    Ignore {
        /// Its id, or a unique prefix.
        id: String,
        /// Why (kept with the record).
        #[arg(long)]
        reason: Option<String>,
    },
    /// Make an ignored recommendation active again.
    Unignore {
        /// Its id, or a unique prefix.
        id: String,
    },
}

/// Which recommendation states to list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StatusFilter {
    /// Found by the latest scan, not acted on.
    Active,
    /// Applied.
    Applied,
    /// Ignored.
    Ignored,
    /// No longer found.
    Stale,
    /// Every state.
    All,
}

/// A CI gate's threshold: a finite number, not negative (`NaN` would turn the gate off, since
/// no saving is greater than it).
fn threshold(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(value) if value.is_finite() && value >= 0.0 => Ok(value),
        Ok(_) => Err(format!(
            "`{text}` is not a threshold: give a finite number, 0 or more"
        )),
        Err(_) => Err(format!("`{text}` is not a number")),
    }
}
