//! `greenkube restate`: recompute stored windows under another methodology.

use std::process::ExitCode;

use greenkube_adapters::app;
use greenkube_core::EstimateOptions;

use super::report::time_range;
use crate::args::{RestateArgs, RowsFormat};
use crate::progress::Bar;
use crate::{printer, store};

pub(crate) fn run(args: &RestateArgs) -> anyhow::Result<ExitCode> {
    let range = time_range(args.since, args.from, args.to, super::wall_clock())?;
    let options = EstimateOptions {
        methodology: args.methodology,
        idle_policy: args.idle_policy,
        ..EstimateOptions::default()
    };
    let restated =
        store::runtime()?.block_on(store::using(&args.store.store, false, async |store| {
            let bar = Bar::new(app::restate::BATCH);
            anyhow::Ok(app::restate::restate(store, range, &options, args.dry_run, &bar).await?)
        }))?;
    let document = printer::RestateDocument {
        methodology: options.methodology.name(),
        idle_policy: options.idle_policy.name(),
        windows: restated.windows,
        stored: restated.stored,
        before: &restated.before,
        after: &restated.after,
    };
    match args.format {
        RowsFormat::Json => printer::json_line(&document)?,
        RowsFormat::Table => printer::restate_table(&document)?,
        RowsFormat::Csv => printer::restate_csv(&document)?,
        RowsFormat::Yaml => printer::yaml(&document)?,
    }
    Ok(ExitCode::SUCCESS)
}
