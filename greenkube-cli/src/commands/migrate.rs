//! `greenkube migrate`.

use std::process::ExitCode;

use crate::args::MigrateArgs;
use crate::{printer, store};

pub(crate) fn run(args: &MigrateArgs) -> anyhow::Result<ExitCode> {
    let runtime = store::runtime()?;
    let repositories = runtime.block_on(async {
        let repositories = store::open(&args.store.store, true).await?;
        // The history repositories too (Elasticsearch keeps them in indices of their own).
        store::open_history(&args.store.store).await?;
        anyhow::Ok(repositories)
    })?;
    printer::migrated(&repositories.location, &repositories.migrations)?;
    Ok(ExitCode::SUCCESS)
}
