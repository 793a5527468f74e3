//! Command-line arguments (clap derive types only).

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};
use greenkube_core::{GroupBy, IdlePolicy, Methodology, Period};

/// greenkube: energy, CO2e (operational and embodied) and cost of every Kubernetes workload,
/// with the methodology, data version and uncertainty of every figure.
#[derive(Debug, Parser)]
#[command(name = "greenkube", propagate_version = true, max_term_width = 100)]
#[command(after_help = crate::exit::TABLE)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,

    /// Currency of the costs, as the cost source (OpenCost) reports them: shown with every
    /// cost; nothing is converted.
    #[arg(
        long,
        global = true,
        value_name = "CODE",
        env = "GREENKUBE_CURRENCY",
        default_value = "USD"
    )]
    pub currency: String,

    /// How much the logs say: greenkube's own events at this level, the libraries' at `warn`
    /// (`RUST_LOG`, when set, replaces both with its own directives).
    #[arg(
        long,
        global = true,
        value_enum,
        value_name = "LEVEL",
        env = "GREENKUBE_LOG_LEVEL",
        default_value_t = crate::logging::LogLevel::Info
    )]
    pub log_level: crate::logging::LogLevel,

    /// Say more: `-v` is `--log-level debug`, `-vv` `trace` (from the level given).
    #[arg(short = 'v', long = "verbose", global = true, action = clap::ArgAction::Count, conflicts_with = "quiet")]
    pub verbose: u8,

    /// Say less: `-q` is `--log-level warn`, `-qq` `error` (from the level given).
    #[arg(short = 'q', long = "quiet", global = true, action = clap::ArgAction::Count)]
    pub quiet: u8,

    /// How log lines are written on standard error: `text`, or `json` (one object per line,
    /// for a log stack). Logs are what a daemon does over time; a command's own output is not
    /// a log.
    #[arg(
        long,
        global = true,
        value_enum,
        value_name = "FORMAT",
        env = "GREENKUBE_LOG_FORMAT",
        default_value_t = crate::logging::LogFormat::Text
    )]
    pub log_format: crate::logging::LogFormat,

    /// Configuration file (TOML) giving defaults for any flag: top-level keys for every command,
    /// `[collect]`, `[report]`... tables for one; flags and environment variables win over it.
    #[arg(long, global = true, value_name = "FILE", env = "GREENKUBE_CONFIG")]
    pub config: Option<PathBuf>,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Estimate the footprint of one snapshot (one window of one cluster).
    ///
    /// Reads a `greenkube.snapshot/v1` JSON document and prints, per pod, the energy, Scope 2
    /// CO2e, embodied CO2e share and cost, each with an uncertainty interval and the reasons it
    /// is estimated. `--format json` prints the `greenkube.footprint/v1` document on one line,
    /// so a stream of windows is one footprint per line.
    #[command(
        after_help = "Examples:\n  greenkube estimate --snapshot examples/snapshots/cluster.json\n  \
        greenkube estimate --snapshot - --format json < snapshot.json | jq .totals\n  \
        greenkube estimate --snapshot snap.json --group-by namespace --format csv > by-namespace.csv"
    )]
    Estimate(EstimateArgs),

    /// Create a store, or bring its schema up to date.
    ///
    /// Every command that opens a store migrates it first; `migrate` does only that, and says
    /// which migrations it applied.
    #[command(
        after_help = "Examples:\n  greenkube migrate                      # sqlite://greenkube.db\n  \
        greenkube migrate --store sqlite:///var/lib/greenkube/greenkube.db"
    )]
    Migrate(MigrateArgs),

    /// Report stored footprints, aggregated in the store.
    ///
    /// Sums energy, operational and embodied CO2e and cost, with their uncertainty intervals,
    /// of the windows that started in the range, grouped by namespace (default), workload,
    /// pod, node or cluster (node and cluster include node overhead), optionally per hour, day,
    /// ISO week, month or year (UTC). `--format json` prints one JSON array of rows.
    #[command(after_help = "Examples:\n  greenkube report --since 30d\n  \
        greenkube report --since 7d --group-by workload --period day --format csv\n  \
        greenkube report --store sqlite://gk.db --from 2025-06-01 --to 2025-07-01 --group-by cluster --period week --format json")]
    Report(ReportArgs),

    /// Recommend changes that cut carbon and cost, from a history of footprints.
    ///
    /// Reads footprints (a JSON array, or one per line as `greenkube estimate --format json`
    /// writes them; long line-by-line histories are streamed), finds zombies, oversized requests,
    /// autoscaling and off-peak candidates, idle namespaces, carbon-aware scheduling, oversized,
    /// underused or consolidatable nodes, cleaner regions and more efficient instance families,
    /// and prices each with the what-if engine: CO2e and cost saved per year, with an interval.
    #[command(
        after_help = "Examples:\n  greenkube recommend --history history.jsonl\n  \
        greenkube recommend --history history.jsonl --inventory inventory.json --format json\n  \
        greenkube recommend --history history.jsonl --fail-on-co2-savings 50000   # CI gate\n\n\
        Exit status: 0 no gate tripped, 3 a gate tripped, 1 error, 2 usage, 4 store unavailable."
    )]
    Recommend(RecommendArgs),

    /// Apply changes to a history and print the projected difference.
    ///
    /// CHANGES is a JSON array of changes, each an object with "change" naming its kind:
    /// `requests`, `replicas`, `autoscale`, `schedule`, `remove`, `time_shift`, `instance_type`,
    /// `region`, `drain`.
    #[command(
        name = "what-if",
        after_help = "Example CHANGES.json:\n  \
        [{\"change\": \"requests\", \"namespace\": \"shop\", \"kind\": \"Deployment\", \"name\": \"api\", \"cpu_request_cores\": 0.2},\n   \
        {\"change\": \"drain\", \"nodes\": [\"node-7\"]}]"
    )]
    WhatIf(WhatIfArgs),

    /// Score the cluster's sustainability from 0 to 100, with its seven dimensions.
    Score(ScoreArgs),

    /// Recompute stored windows under another methodology and report the difference.
    ///
    /// Replays the archived snapshots of the range (`greenkube estimate --store` archives them),
    /// estimates them with the given methodology, stores the new footprints in place of the old
    /// ones, and prints the totals before and after.
    #[command(
        after_help = "Example:\n  greenkube restate --store sqlite://greenkube.db --since 30d --methodology classic"
    )]
    Restate(RestateArgs),

    /// Roll up stored footprints by hour and day, and apply retention.
    ///
    /// Sums the raw rows of every complete hour (and day) into roll-ups that reports read
    /// instead, with the same totals, then deletes raw rows older than `--keep-raw` (cut at a
    /// whole hour), hourly roll-ups older than `--keep-hourly` and daily roll-ups older than
    /// `--keep-daily` (cut at a whole day). Sealed history cannot be written again. Safe to run
    /// at any time and to interrupt: each step is one transaction, and the next run finishes
    /// the work. `greenkube collect` runs it after every window.
    #[command(after_help = "Examples:\n  greenkube maintain\n  \
        greenkube maintain --store sqlite://gk.db --keep-raw 3d --keep-hourly 30d --keep-daily 400d")]
    Maintain(MaintainArgs),

    /// Collect windows from a cluster, estimate them and store them, on a schedule.
    ///
    /// Every `--step` (5 minutes by default), asks Prometheus (usage), the Kubernetes API
    /// (nodes, pods, requests, owners, autoscalers), OpenCost (costs), Electricity Maps (grid
    /// intensity) and Boavizta (embodied emissions) about the window that just ended, builds its
    /// snapshot, estimates it and stores the footprints and the snapshot. A watermark in the
    /// store makes each window collected exactly once: windows missed while greenkube was down
    /// are collected on the next start. A source that is down does not stop collection: the
    /// figures it would have improved are estimated without it and flagged with a reason naming
    /// it. SIGTERM or Ctrl-C finishes the current batch and exits.
    ///
    /// Prometheus and OpenCost are found in the cluster when not given: services scored by name,
    /// namespace and well-known labels, the best checked through the API server's proxy.
    #[cfg(feature = "collect")]
    #[command(
        after_help = "Examples:\n  greenkube collect                                  # in a cluster, every 5 minutes\n  \
        greenkube collect --once --prometheus-url http://localhost:9090 --no-kubernetes\n  \
        greenkube collect --since 7d --store postgres://gk:secret@db:5432/greenkube   # backfill, then keep going\n\n\
        Every flag can also be set with its environment variable (shown with each flag)."
    )]
    Collect(CollectArgs),

    /// List the recommendations a store keeps, and apply, ignore or unignore one.
    ///
    /// `greenkube recommend --store URL --since DUR --save` keeps each scan; here an id (or a
    /// unique prefix of it) changes state: `ignore` keeps a finding out of later scans' output
    /// while it persists, `apply` records that the team acted on it (the savings ledger measures
    /// it), `unignore` makes it active again.
    #[command(after_help = "Examples:\n  greenkube recommendations\n  \
        greenkube recommendations ignore 3f2a9c --reason \"batch window is contractual\"\n  \
        greenkube recommendations apply 3f2a9c\n  greenkube recommendations list --status all --format json")]
    Recommendations(RecommendationsArgs),

    /// Show the whole product on a realistic synthetic cluster, in one command.
    ///
    /// Builds a synthetic cluster (about 15 nodes on four clouds, 60 pods in 12 namespaces,
    /// daily and weekly load, a few zombies and oversized requests), runs `--days` days of it
    /// through the real collect, estimate and store path, rolls the history up, then prints a
    /// report and the top recommendations. The same seed and end give the same data. Afterwards
    /// `greenkube report --since 30d` and `greenkube recommend --store sqlite://greenkube.db
    /// --since 30d` work on what it stored.
    #[command(
        after_help = "Examples:\n  greenkube demo\n  greenkube demo --seed 7 --store sqlite://demo.db --days 14"
    )]
    Demo(DemoArgs),

    /// Serve the REST API (GreenKube-compatible), health probes and the OpenAPI document over a
    /// store.
    ///
    /// The API is under `/api/v1` (docs at `/api/v1/docs`, OpenAPI at `/api/v1/openapi.json`),
    /// with GreenKube 0.2.12's paths, parameters and field names; `/healthz` and `/readyz` are
    /// the probes. Listens on 127.0.0.1 unless told otherwise. SIGTERM or Ctrl-C finishes the
    /// requests in flight (and the current batch with `--collect`), then exits.
    #[cfg(feature = "collect")]
    #[command(
        after_help = "Examples:\n  greenkube serve\n  greenkube serve --store postgres://gk@db/greenkube --listen 0.0.0.0:8000 --read-only\n  greenkube serve --collect --prometheus-url http://prometheus:9090"
    )]
    Serve(ServeArgs),

    /// Print a shell completion script.
    ///
    /// Load it in the current shell, or install it where the shell looks for completions.
    #[command(after_help = "Examples:\n  source <(greenkube completions bash)\n  \
        greenkube completions zsh > ~/.zfunc/_greenkube\n  \
        greenkube completions fish > ~/.config/fish/completions/greenkube.fish")]
    Completions(CompletionsArgs),

    /// Print the man page (roff), or write one per command into a directory.
    #[command(after_help = "Examples:\n  greenkube man | man -l -\n  \
        greenkube man --out-dir /usr/local/share/man/man1")]
    Man(ManArgs),
}

/// Arguments of `greenkube completions`.
#[derive(Debug, clap::Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// Arguments of `greenkube man`.
#[derive(Debug, clap::Args)]
pub struct ManArgs {
    /// Write `greenkube.1` and one `greenkube-COMMAND.1` per command into DIR instead.
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
}

/// Arguments of `greenkube estimate`.
#[derive(Debug, clap::Args)]
pub struct EstimateArgs {
    /// Snapshot file to read (`-` for standard input).
    #[arg(long, short = 's', value_name = "FILE")]
    pub snapshot: PathBuf,

    /// Methodology: `full` (default: CPU + memory, per-microarchitecture coefficients, energy
    /// conservation) or `classic` (GreenKube 0.2's numbers).
    #[arg(long, short = 'm', value_enum, default_value_t = Methodology::Full)]
    pub methodology: Methodology,

    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value_t = Format::Table)]
    pub format: Format,

    /// Group rows by pod (default), workload, namespace or node. With `--format json` and a
    /// grouping other than pod, prints a `greenkube.aggregate/v1` document.
    #[arg(long, short = 'g', value_enum)]
    pub group_by: Option<GroupBy>,

    /// How `full` attributes a node's idle power: by reservation (`request`, default), CPU
    /// usage, evenly, or kept on the node as overhead.
    #[arg(long, value_enum, default_value_t = IdlePolicy::Request)]
    pub idle_policy: IdlePolicy,

    /// Electricity zone for nodes with no zone or region (for example `FR`).
    #[arg(long, value_name = "ZONE")]
    pub default_zone: Option<String>,

    /// Grid intensity (gCO2e/kWh) for zones with no figure at all (default: 500).
    #[arg(long, value_name = "G_PER_KWH")]
    pub default_intensity: Option<f64>,

    /// Also write the footprint to a store (`sqlite://PATH`, `sqlite::memory:`,
    /// `postgres://...`, `http(s)://...` for Elasticsearch); without a URL,
    /// `$GREENKUBE_STORE`, else `sqlite://greenkube.db`. Writing the same window again
    /// replaces it.
    #[arg(long, value_name = "URL", num_args = 0..=1)]
    #[expect(clippy::option_option, reason = "absent, `--store`, or `--store URL`")]
    pub store: Option<Option<String>>,
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Aligned table for people.
    Table,
    /// JSON, one document per line.
    Json,
    /// CSV with a header row.
    Csv,
}

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

/// Formats of `maintain`, which prints a summary, not rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// Aligned table for people.
    Table,
    /// JSON on one line.
    Json,
}

/// Formats of the commands that print rows (`recommend`, `what-if`, `score`,
/// `recommendations list`, `restate`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RowsFormat {
    /// Aligned table for people.
    Table,
    /// JSON on one line.
    Json,
    /// CSV with a header row (nested fields as `outer.inner` columns).
    Csv,
    /// YAML (the same fields as the JSON).
    Yaml,
}

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

/// Arguments of `greenkube collect`.
#[cfg(feature = "collect")]
#[derive(Debug, clap::Args)]
pub struct CollectArgs {
    /// The store.
    #[command(flatten)]
    pub store: StoreArg,

    /// Collect one window (the latest complete one) and exit; with `--since`, backfill and exit.
    #[arg(long)]
    pub once: bool,

    /// Collect as if it were TIME (RFC 3339 or a date), to replay a past period with `--once`;
    /// only with `--once`.
    #[arg(long, value_name = "TIME", requires = "once", value_parser = crate::time_arg::parse_instant)]
    pub now: Option<chrono::DateTime<chrono::Utc>>,

    /// How the daemon collects.
    #[command(flatten)]
    pub daemon: DaemonArgs,

    /// Where the sources are.
    #[command(flatten)]
    pub sources: SourceArgs,
}

/// How the collection daemon runs: `greenkube collect`, and `greenkube serve --collect`.
#[cfg(feature = "collect")]
#[derive(Debug, Clone, clap::Args)]
pub struct DaemonArgs {
    /// Retention applied after each batch of collected windows.
    #[command(flatten)]
    pub retention: RetentionArgs,

    /// Backfill the windows of the last DURATION that are not stored yet (with a progress bar).
    #[arg(long, value_name = "DURATION", env = "GREENKUBE_SINCE", value_parser = crate::time_arg::parse_duration)]
    pub since: Option<chrono::Duration>,

    /// Window length.
    #[arg(long, value_name = "DURATION", env = "GREENKUBE_STEP", default_value = "5m", value_parser = crate::time_arg::parse_duration)]
    pub step: chrono::Duration,

    /// Seconds to wait after a window ends before collecting it (late samples).
    #[arg(
        long,
        value_name = "SECONDS",
        env = "GREENKUBE_DELAY",
        default_value_t = 30
    )]
    pub delay_seconds: i64,

    /// Cluster name stored with every window (and, for `serve`, the metrics' `cluster` label).
    #[arg(long, value_name = "NAME", env = "GREENKUBE_CLUSTER")]
    pub cluster: Option<String>,

    /// Methodology of the collected windows.
    #[arg(long, short = 'm', value_enum, env = "GREENKUBE_METHODOLOGY", default_value_t = Methodology::Full)]
    pub methodology: Methodology,
}

/// Where the sources are (Prometheus, OpenCost, Electricity Maps, Boavizta, Kubernetes).
#[cfg(feature = "collect")]
#[derive(Clone, clap::Args)]
pub struct SourceArgs {
    /// Prometheus base URL (default: found in the cluster).
    #[arg(long, value_name = "URL", env = "GREENKUBE_PROMETHEUS_URL")]
    pub prometheus_url: Option<String>,

    /// OpenCost base URL (default: found in the cluster; without it costs are unknown).
    #[arg(long, value_name = "URL", env = "GREENKUBE_OPENCOST_URL")]
    pub opencost_url: Option<String>,

    /// Electricity Maps API token (without it, zone intensities come from the reference data).
    #[arg(
        long,
        value_name = "TOKEN",
        env = "GREENKUBE_ELECTRICITY_MAPS_TOKEN",
        hide_env_values = true
    )]
    pub electricity_maps_token: Option<greenkube_adapters::secret::Secret>,

    /// Electricity Maps API base URL.
    #[arg(
        long,
        value_name = "URL",
        env = "GREENKUBE_ELECTRICITY_MAPS_URL",
        default_value = "https://api.electricitymaps.com/v3"
    )]
    pub electricity_maps_url: String,

    /// Boavizta API base URL (without it, embodied emissions come from the reference data).
    #[arg(long, value_name = "URL", env = "GREENKUBE_BOAVIZTA_URL")]
    pub boavizta_url: Option<String>,

    /// Kubeconfig file (default: in-cluster configuration, then `$KUBECONFIG`, then
    /// `~/.kube/config`).
    #[arg(long, value_name = "FILE", env = "GREENKUBE_KUBECONFIG")]
    pub kubeconfig: Option<String>,

    /// Do not use the Kubernetes API (nodes and pods from the metrics only).
    #[arg(long, env = "GREENKUBE_NO_KUBERNETES")]
    pub no_kubernetes: bool,

    /// Time-out of one request to a source, seconds.
    #[arg(
        long,
        value_name = "SECONDS",
        env = "GREENKUBE_SOURCE_TIMEOUT",
        default_value_t = 30
    )]
    pub source_timeout: u64,
}

/// Arguments of `greenkube serve`.
#[cfg(feature = "collect")]
#[derive(Debug, clap::Args)]
#[expect(
    clippy::struct_excessive_bools,
    reason = "one field per switch of the command line"
)]
pub struct ServeArgs {
    /// The store.
    #[command(flatten)]
    pub store: StoreArg,

    /// Address and port to listen on (loopback unless told otherwise; port 0 picks a free one).
    #[arg(
        long,
        value_name = "ADDRESS:PORT",
        env = "GREENKUBE_LISTEN",
        default_value = "127.0.0.1:8000"
    )]
    pub listen: std::net::SocketAddr,

    /// API key every `/api/v1` request must carry as `Authorization: Bearer KEY` (health, docs
    /// and the OpenAPI document exempt; metrics and the front end are never protected).
    #[arg(
        long,
        value_name = "KEY",
        env = "GREENKUBE_API_KEY",
        hide_env_values = true
    )]
    pub api_key: Option<greenkube_adapters::secret::Secret>,

    /// Refuse every change (scans that save, apply, ignore, configuration): 403.
    #[arg(long, env = "GREENKUBE_READ_ONLY")]
    pub read_only: bool,

    /// Origins allowed to call the API from a browser (comma-separated; `*` for any).
    #[arg(
        long,
        value_name = "ORIGINS",
        env = "GREENKUBE_CORS_ORIGINS",
        value_delimiter = ','
    )]
    pub cors_origins: Vec<String>,

    /// Requests per minute and client address (0: no limit); beyond it, 429 with
    /// `Retry-After`.
    #[arg(
        long,
        value_name = "N",
        env = "GREENKUBE_RATE_LIMIT",
        default_value_t = 600
    )]
    pub rate_limit: u32,

    /// Trust the `X-Forwarded-User` header of an authenticating proxy in front: requests that
    /// carry it need no API key. Only behind such a proxy.
    #[arg(long, env = "GREENKUBE_TRUST_AUTH_PROXY")]
    pub trust_auth_proxy: bool,

    /// Serve this single-page app's build at `/` (GreenKube's own web front end, say).
    #[arg(long, value_name = "DIR", env = "GREENKUBE_FRONTEND")]
    pub frontend: Option<std::path::PathBuf>,

    /// Let `POST /api/v1/config/services` change the source settings of the running server.
    #[arg(long)]
    pub allow_config_changes: bool,

    /// Also collect in this process (one-pod deployment), every `--step`, as `greenkube
    /// collect` does with the same flags (retention, backfill, delay, methodology).
    #[arg(long)]
    pub collect: bool,

    /// How the daemon collects with `--collect`.
    #[command(flatten)]
    pub daemon: DaemonArgs,

    /// Where the sources are (probed by `/api/v1/health/services`; collected with `--collect`).
    #[command(flatten)]
    pub sources: SourceArgs,

    /// Answer as if it were TIME (RFC 3339 or a date): `last=24h` means the 24 hours before
    /// it. For replaying a store; not with `--collect`.
    #[arg(long, value_name = "TIME", conflicts_with = "collect", value_parser = crate::time_arg::parse_instant)]
    pub now: Option<chrono::DateTime<chrono::Utc>>,
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

/// Arguments of `greenkube demo`.
#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// The store.
    #[command(flatten)]
    pub store: StoreArg,

    /// Seed of the synthetic cluster.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,

    /// Days of history.
    #[arg(long, default_value_t = 30)]
    pub days: u32,

    /// End of the history (RFC 3339 or a date; default: the start of the current hour).
    #[arg(long, value_name = "TIME", value_parser = crate::time_arg::parse_instant)]
    pub end: Option<chrono::DateTime<chrono::Utc>>,

    /// Do not serve the API afterwards: load, print the report and recommendations, and exit.
    #[arg(long)]
    pub no_serve: bool,

    /// Where to serve afterwards (port 0 picks a free one).
    #[arg(long, value_name = "ADDRESS:PORT", default_value = "127.0.0.1:8000")]
    pub listen: std::net::SocketAddr,

    /// Recommendations to print.
    #[arg(long, default_value_t = 5)]
    pub top: usize,
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

/// URLs redacted, the token as `***`.
#[cfg(feature = "collect")]
impl std::fmt::Debug for SourceArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use greenkube_adapters::secret::{redact_opt, redact_url};
        f.debug_struct("SourceArgs")
            .field("prometheus_url", &redact_opt(self.prometheus_url.as_ref()))
            .field("opencost_url", &redact_opt(self.opencost_url.as_ref()))
            .field("electricity_maps_token", &self.electricity_maps_token)
            .field(
                "electricity_maps_url",
                &redact_url(&self.electricity_maps_url),
            )
            .field("boavizta_url", &redact_opt(self.boavizta_url.as_ref()))
            .field("kubeconfig", &self.kubeconfig)
            .field("no_kubernetes", &self.no_kubernetes)
            .field("source_timeout", &self.source_timeout)
            .finish()
    }
}

#[cfg(all(test, feature = "collect"))]
mod tests {
    use clap::{CommandFactory as _, FromArgMatches as _};

    /// Debug output of every command's parsed arguments holds no secret, so logging them is
    /// safe.
    #[test]
    fn debug_output_of_arguments_hides_secrets() {
        let store = "postgres://gk:PLANTED-PW@db/greenkube?password=PLANTED-Q";
        let sources = [
            "--prometheus-url",
            "http://u:PLANTED-P@prom:9090",
            "--opencost-url",
            "http://opencost:9003/?token=PLANTED-O",
            "--electricity-maps-token",
            "PLANTED-TOKEN",
            "--electricity-maps-url",
            "https://u:PLANTED-E@api.electricitymap.org/v3/",
            "--boavizta-url",
            "http://u:PLANTED-B@boavizta:5000",
        ];
        let mut serve = vec![
            "greenkube",
            "serve",
            "--store",
            store,
            "--api-key",
            "PLANTED-KEY",
        ];
        serve.extend(sources);
        let mut collect = vec!["greenkube", "collect", "--store", store];
        collect.extend(sources);
        for argv in [
            serve,
            collect,
            vec!["greenkube", "report", "--store", store, "--since", "1d"],
        ] {
            let matches = crate::args::Cli::command()
                .version("0")
                .try_get_matches_from(&argv)
                .expect("valid arguments");
            let parsed = crate::args::Cli::from_arg_matches(&matches).expect("parsed");
            let shown = format!("{parsed:?} {parsed:#?}");
            assert!(!shown.contains("PLANTED"), "{shown}");
            assert!(
                shown.contains("gk:***@db"),
                "the URL still says where: {shown}"
            );
        }
    }
}

#[cfg(test)]
mod help_tests {
    use clap::CommandFactory as _;

    /// Every flag that reads an environment variable names it in its command's `--help`.
    #[test]
    fn every_environment_variable_is_shown_in_help() {
        fn walk(command: &mut clap::Command, path: &str, seen: &mut usize) {
            let help = command.render_long_help().to_string();
            for arg in command.get_arguments() {
                if let Some(env) = arg.get_env() {
                    let name = env.to_string_lossy();
                    assert!(
                        !arg.is_hide_env_set(),
                        "{path} --{}: the variable is hidden",
                        arg.get_id()
                    );
                    assert!(
                        help.contains(&format!("[env: {name}")),
                        "{path} --help does not show {name}"
                    );
                    *seen += 1;
                }
            }
            for sub in command.get_subcommands_mut() {
                let name = format!("{path} {}", sub.get_name());
                walk(sub, &name, seen);
            }
        }
        let mut command = crate::args::Cli::command().version("0");
        command.build();
        let mut seen = 0;
        walk(&mut command, "greenkube", &mut seen);
        assert!(seen > 10, "only {seen} variables found");
    }
}
