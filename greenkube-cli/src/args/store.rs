//! Arguments of the store commands: the store URL, `migrate`, `report`, `maintain`, `restate`
//! and the retention flags.

#[allow(
    clippy::wildcard_imports,
    reason = "the types the arguments share live in the parent"
)]
use super::*;

fn parse_grouping(text: &str) -> Result<greenkube_core::Grouping, String> {
    text.parse()
        .map_err(|e: greenkube_core::UnknownNameError| e.to_string())
}

fn parse_label(text: &str) -> Result<greenkube_core::LabelSelector, String> {
    text.parse()
        .map_err(|e: greenkube_core::labels::LabelError| e.to_string())
}

/// The store a command reads or writes.
#[derive(clap::Args)]
pub struct StoreArg {
    /// Store URL: `sqlite://PATH` (relative to the working directory), `sqlite:///ABSOLUTE/PATH`,
    /// `sqlite::memory:`, or `postgres://USER:PASSWORD@HOST:PORT/DATABASE` (also
    /// `postgresql://`), or `http(s)://[USER:PASSWORD@]HOST:PORT[?index_prefix=NAME]` for
    /// Elasticsearch (or the OpenSearch API).
    #[arg(
        long,
        value_name = "URL",
        env = "GREENKUBE_STORE",
        default_value = greenkube_adapters::store::DEFAULT_STORE_URL
    )]
    pub store: String,
}

/// Arguments of `greenkube migrate`.
#[derive(Debug, clap::Args)]
pub struct MigrateArgs {
    /// The store.
    #[command(flatten)]
    pub store: StoreArg,
}

/// Arguments of `greenkube report`.
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("range").args(["since", "from"])))]
pub struct ReportArgs {
    /// The store.
    #[command(flatten)]
    pub store: StoreArg,

    /// The windows that started in the last DURATION, up to now: a number and a unit, `s`,
    /// `m` or `min` (minutes), `h`, `d`, `w`, `mo` (30 days) or `y` (365 days), as in `30d`,
    /// `12h`, `2w`, `1mo`; or `ytd`, this year so far. Give it or `--from`/`--to` (here or in
    /// the configuration file's `[report]` table).
    #[arg(long, value_name = "DURATION", value_parser = crate::time_arg::parse_lookback)]
    pub since: Option<crate::time_arg::Lookback>,

    /// The windows that started at or after TIME: RFC 3339 (`2025-06-01T00:00:00Z`) or a
    /// date (`2025-06-01`, midnight UTC).
    #[arg(long, value_name = "TIME", requires = "to", value_parser = crate::time_arg::parse_instant)]
    pub from: Option<chrono::DateTime<chrono::Utc>>,

    /// ... and before TIME (the range is half-open: a window starting at TIME is not in it).
    #[arg(
        long,
        value_name = "TIME",
        requires = "from",
        conflicts_with = "since",
        value_parser = crate::time_arg::parse_instant
    )]
    pub to: Option<chrono::DateTime<chrono::Utc>>,

    /// Group by `namespace` (default), `workload`, `pod`, `node`, `cluster`, or `label:KEY`
    /// (one row per value of the pods' label KEY, as in `label:team`; pods without it form a
    /// row of their own).
    #[arg(
        long,
        short = 'g',
        value_name = "GROUPING",
        default_value = "namespace",
        value_parser = parse_grouping
    )]
    pub group_by: greenkube_core::Grouping,

    /// Only this namespace's pods (with `--group-by` namespace, workload, pod or label: node
    /// and cluster groups hold node overhead, which belongs to no namespace).
    #[arg(long, short = 'n', value_name = "NS")]
    pub namespace: Option<String>,

    /// Only the pods whose label KEY is VALUE (`--label team=payments`); repeat it to require
    /// several. A pod's labels are those of its latest window. Not with node or cluster
    /// groups, which hold node overhead, a share of no pod.
    #[arg(long, short = 'l', value_name = "KEY=VALUE", value_parser = parse_label)]
    pub label: Vec<greenkube_core::LabelSelector>,

    /// Only this cluster's rows (the name `greenkube collect --cluster` stored).
    #[arg(long, value_name = "NAME")]
    pub cluster: Option<String>,

    /// One row per group and calendar period (UTC; weeks are ISO weeks, `2025-W01`).
    #[arg(long, short = 'p', value_enum)]
    pub period: Option<Period>,

    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

/// How long each level of detail is kept (see `greenkube maintain --help`).
#[derive(Debug, Clone, clap::Args)]
#[expect(
    clippy::struct_field_names,
    reason = "the fields are the flags --keep-raw, --keep-hourly and --keep-daily"
)]
pub struct RetentionArgs {
    /// Keep raw rows (one per pod and window) this long.
    #[arg(long, value_name = "DURATION", env = "GREENKUBE_KEEP_RAW", default_value = "7d", value_parser = crate::time_arg::parse_duration)]
    pub keep_raw: chrono::Duration,

    /// Keep hourly roll-ups this long.
    #[arg(long, value_name = "DURATION", env = "GREENKUBE_KEEP_HOURLY", default_value = "90d", value_parser = crate::time_arg::parse_duration)]
    pub keep_hourly: chrono::Duration,

    /// Keep daily roll-ups this long, or `forever`.
    #[arg(long, value_name = "DURATION", env = "GREENKUBE_KEEP_DAILY", default_value = "forever", value_parser = crate::time_arg::parse_duration_or_forever)]
    pub keep_daily: crate::time_arg::KeepFor,
}

/// Arguments of `greenkube maintain`.
#[derive(Debug, clap::Args)]
pub struct MaintainArgs {
    /// The store.
    #[command(flatten)]
    pub store: StoreArg,

    /// Retention.
    #[command(flatten)]
    pub retention: RetentionArgs,

    /// Maintain as of TIME instead of now (RFC 3339 or a date): hours that end after it are
    /// not rolled up, and the cuts are measured from it.
    #[arg(long, value_name = "TIME", value_parser = crate::time_arg::parse_instant)]
    pub now: Option<chrono::DateTime<chrono::Utc>>,

    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value_t = ReportFormat::Table)]
    pub format: ReportFormat,
}

/// Arguments of `greenkube restate`.
#[derive(Debug, clap::Args)]
pub struct RestateArgs {
    /// The store.
    #[command(flatten)]
    pub store: StoreArg,

    /// The windows that started in the last DURATION (`30d`, `12h`, `2w`, `1mo`; `m` is
    /// minutes) or this year (`ytd`).
    #[arg(long, value_name = "DURATION", value_parser = crate::time_arg::parse_lookback)]
    pub since: Option<crate::time_arg::Lookback>,

    /// The windows that started at or after TIME (RFC 3339 or a date).
    #[arg(long, value_name = "TIME", requires = "to", value_parser = crate::time_arg::parse_instant)]
    pub from: Option<chrono::DateTime<chrono::Utc>>,

    /// ... and before TIME.
    #[arg(long, value_name = "TIME", requires = "from", conflicts_with = "since", value_parser = crate::time_arg::parse_instant)]
    pub to: Option<chrono::DateTime<chrono::Utc>>,

    /// The methodology to restate under.
    #[arg(long, short = 'm', value_enum)]
    pub methodology: Methodology,

    /// Idle attribution for `full`.
    #[arg(long, value_enum, default_value_t = IdlePolicy::Request)]
    pub idle_policy: IdlePolicy,

    /// Compute and print the difference without storing the restated footprints.
    #[arg(long)]
    pub dry_run: bool,

    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value_t = RowsFormat::Table)]
    pub format: RowsFormat,
}

/// The URL with its password masked.
impl std::fmt::Debug for StoreArg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreArg")
            .field(
                "store",
                &greenkube_adapters::secret::redact_url(&self.store),
            )
            .finish()
    }
}
