//! Command-line arguments (clap derive types only).

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

/// greenkube: energy, CO2e (operational and embodied) and cost of every Kubernetes workload,
/// with the methodology, data version and uncertainty of every figure.
#[derive(Debug, Parser)]
#[command(name = "greenkube", propagate_version = true, max_term_width = 100)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
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
}

/// Arguments of `greenkube estimate`.
#[derive(Debug, clap::Args)]
pub struct EstimateArgs {
    /// Snapshot file to read (`-` for standard input).
    #[arg(long, short = 's', value_name = "FILE")]
    pub snapshot: PathBuf,

    /// Methodology: `full` (default: CPU + memory, per-microarchitecture coefficients, energy
    /// conservation) or `classic` (GreenKube 0.2's numbers).
    #[arg(long, short = 'm', value_enum, default_value_t = MethodologyArg::Full)]
    pub methodology: MethodologyArg,

    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value_t = Format::Table)]
    pub format: Format,

    /// Group rows by pod (default), workload, namespace or node. With `--format json` and a
    /// grouping other than pod, prints a `greenkube.aggregate/v1` document.
    #[arg(long, short = 'g', value_enum)]
    pub group_by: Option<GroupByArg>,

    /// How `full` attributes a node's idle power: by reservation (`request`, default), CPU
    /// usage, evenly, or kept on the node as overhead.
    #[arg(long, value_enum, default_value_t = IdlePolicyArg::Request)]
    pub idle_policy: IdlePolicyArg,

    /// Electricity zone for nodes with no zone or region (for example `FR`).
    #[arg(long, value_name = "ZONE")]
    pub default_zone: Option<String>,

    /// Grid intensity (gCO2e/kWh) for zones with no figure at all (default: 500).
    #[arg(long, value_name = "G_PER_KWH")]
    pub default_intensity: Option<f64>,
}

/// Methodology names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MethodologyArg {
    /// GreenKube 0.2 parity.
    Classic,
    /// The default, most complete model.
    Full,
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

/// Groupings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GroupByArg {
    /// One row per pod.
    Pod,
    /// One row per workload (Deployment, StatefulSet, ...).
    Workload,
    /// One row per namespace.
    Namespace,
    /// One row per node, node overhead included.
    Node,
}

/// Idle attribution policies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum IdlePolicyArg {
    /// By `max(request, usage)` share of the node; the unreserved rest stays on the node.
    Request,
    /// By CPU usage share.
    Usage,
    /// Evenly between the node's pods.
    Even,
    /// Not attributed to pods.
    Overhead,
}
