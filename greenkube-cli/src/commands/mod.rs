//! Command dispatch.

mod estimate;
mod maintain;
mod migrate;
mod recommend;
mod report;
mod restate;

use std::process::ExitCode;

use crate::args::{Cli, Command};

/// Runs one command.
pub(crate) fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Estimate(args) => estimate::run(&args),
        Command::Migrate(args) => migrate::run(&args),
        Command::Report(args) => report::run(&args),
        Command::Recommend(args) => recommend::recommend(&args),
        Command::WhatIf(args) => recommend::what_if(&args),
        Command::Score(args) => recommend::score(&args),
        Command::Restate(args) => restate::run(&args),
        Command::Maintain(args) => maintain::run(&args),
    }
}
