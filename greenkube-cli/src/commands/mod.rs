//! Command dispatch.

mod estimate;

use std::process::ExitCode;

use crate::args::{Cli, Command};

/// Runs one command.
pub(crate) fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Estimate(args) => estimate::run(&args),
    }
}
