//! Command dispatch.

#[cfg(feature = "collect")]
mod collect;
mod demo;
mod docs;
mod estimate;
mod lifecycle;
mod maintain;
mod migrate;
mod recommend;
mod report;
mod restate;
#[cfg(feature = "collect")]
mod serve;

use std::process::ExitCode;

use crate::args::{Cli, Command};
pub(crate) use crate::clock::wall_clock;

/// Runs one command.
pub(crate) fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    crate::printer::set_currency(&cli.currency);
    match cli.command {
        Command::Estimate(args) => estimate::run(&args),
        Command::Migrate(args) => migrate::run(&args),
        Command::Report(args) => report::run(&args),
        Command::Recommend(args) => recommend::recommend(&args),
        Command::Recommendations(args) => lifecycle::run(&args),
        Command::WhatIf(args) => recommend::what_if(&args),
        Command::Score(args) => recommend::score(&args),
        Command::Restate(args) => restate::run(&args),
        Command::Maintain(args) => maintain::run(&args),
        #[cfg(feature = "collect")]
        Command::Collect(args) => collect::run(&args),
        Command::Demo(args) => demo::run(&args),
        #[cfg(feature = "collect")]
        Command::Serve(args) => serve::run(&args),
        Command::Completions(args) => docs::completions(&args),
        Command::Man(args) => docs::man(&args),
    }
}
