//! `greenkube completions SHELL` and `greenkube man`: generated from the same command
//! definition the parser uses, so they never fall behind it.

use std::process::ExitCode;

use anyhow::Context;
use clap::CommandFactory;

use crate::args::{Cli, CompletionsArgs, ManArgs};
use crate::printer;

/// The command as `greenkube` parses it (with its version).
fn command() -> clap::Command {
    Cli::command()
        .version(greenkube_core::VERSION)
        .long_version(crate::long_version())
}

pub(crate) fn completions(args: &CompletionsArgs) -> anyhow::Result<ExitCode> {
    let mut command = command();
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, "greenkube", &mut script);
    printer::bytes(&script)?;
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn man(args: &ManArgs) -> anyhow::Result<ExitCode> {
    let command = command();
    match &args.out_dir {
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            clap_mangen::generate_to(command, dir)
                .with_context(|| format!("cannot write the man pages into {}", dir.display()))?;
            printer::progress_line(&format!("man pages written into {}", dir.display()));
        }
        None => {
            let mut page = Vec::new();
            clap_mangen::Man::new(command)
                .render(&mut page)
                .context("cannot render the man page")?;
            printer::bytes(&page)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
