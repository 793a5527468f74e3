//! Command-line arguments (clap derive types only).

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};
use greenkube_core::{GroupBy, IdlePolicy, Methodology, Period};

#[cfg(feature = "collect")]
mod daemon;
mod history;
mod store;

#[cfg(feature = "collect")]
pub(crate) use self::daemon::*;
pub(crate) use self::history::*;
pub(crate) use self::store::*;

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
