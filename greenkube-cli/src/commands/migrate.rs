//! `greenkube migrate`.

use std::process::ExitCode;

use crate::args::MigrateArgs;
use crate::{printer, store};

pub(crate) fn run(args: &MigrateArgs) -> anyhow::Result<ExitCode> {
    let runtime = store::runtime()?;
    let repositories = runtime.block_on(store::open(&args.store.store, true))?;
    printer::migrated(&repositories.location, &repositories.migrations)?;
    Ok(ExitCode::SUCCESS)
}
