//! `greenkube estimate`.

use std::process::ExitCode;

use anyhow::Context;
use greenkube_adapters::snapshot_file::read_snapshot;
use greenkube_core::{EstimateOptions, GroupBy, aggregate, estimate};

use crate::args::{EstimateArgs, Format};
use crate::{printer, store};

pub(crate) fn run(args: &EstimateArgs) -> anyhow::Result<ExitCode> {
    let snapshot = read_snapshot(&args.snapshot)?;
    let options = EstimateOptions {
        methodology: args.methodology,
        idle_policy: args.idle_policy,
        default_zone: args.default_zone.clone(),
        default_intensity: args.default_intensity,
        classic_default_profile: None,
    };
    options
        .validate()
        .map_err(|e| anyhow::anyhow!("invalid option: {e}"))?;
    let footprint = estimate(&snapshot, &options)
        .with_context(|| format!("{}: invalid snapshot", args.snapshot.display()))?;
    // Pod rows are the footprint itself.
    let group_by = args.group_by.filter(|g| *g != GroupBy::Pod);
    // Stored before anything is printed: a store that refuses the window fails the command
    // with nothing on standard output.
    let stored = match &args.store {
        None => None,
        Some(url) => {
            let url = url.clone().unwrap_or_else(store::default_url);
            let (location, summary) =
                store::runtime()?.block_on(store::using(&url, true, async |store| {
                    let summary = store
                        .footprints
                        .write_footprints(std::slice::from_ref(&footprint))
                        .await?;
                    // Archive the snapshot too, so the window can be replayed and restated.
                    store.archive.archive(&snapshot).await?;
                    anyhow::Ok((store.location.clone(), summary))
                }))?;
            Some((location, summary))
        }
    };
    match (args.format, group_by) {
        (Format::Json, None) => printer::footprint_json_line(&footprint)?,
        (Format::Table, None) => printer::footprint_table(&footprint)?,
        (Format::Csv, None) => printer::footprint_csv(&footprint)?,
        (format, Some(group)) => {
            let rows = aggregate([&footprint], group, None);
            match format {
                Format::Json => {
                    printer::json_line(&printer::AggregateDocument::new(&footprint, group, &rows))?;
                }
                Format::Table => printer::aggregate_table(&footprint, group, &rows)?,
                Format::Csv => printer::aggregate_csv(group, &rows)?,
            }
        }
    }
    if let Some((location, summary)) = stored {
        printer::stored(&location, &footprint, &summary);
    }
    Ok(ExitCode::SUCCESS)
}
