//! `greenkube migrate`.

use std::process::ExitCode;

use crate::args::MigrateArgs;
use crate::{printer, store};

pub(crate) fn run(args: &MigrateArgs) -> anyhow::Result<ExitCode> {
    let (location, migrations) =
        store::runtime()?.block_on(store::using(&args.store.store, true, async |store| {
            anyhow::Ok((store.location.clone(), store.migrations.clone()))
        }))?;
    printer::migrated(&location, &migrations)?;
    Ok(ExitCode::SUCCESS)
}
