//! `greenkube migrate`.

use std::process::ExitCode;

use crate::args::MigrateArgs;
use crate::{printer, store};

pub(crate) fn run(args: &MigrateArgs) -> anyhow::Result<ExitCode> {
    let store = store::runtime()?.block_on(store::open(&args.store.store, true))?;
    printer::migrated(&store.location, &store.migrations)?;
    Ok(ExitCode::SUCCESS)
}
