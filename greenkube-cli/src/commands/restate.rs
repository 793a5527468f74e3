//! `greenkube restate`: recompute stored windows under another methodology.

use std::process::ExitCode;

use anyhow::Context;
use greenkube_core::ports::ReportQuery;
use greenkube_core::{
    AggregateRow, EstimateOptions, GroupBy, IdlePolicy, Methodology, aggregate, estimate,
};

use super::report::time_range;
use crate::args::{IdlePolicyArg, MethodologyArg, ReportFormat, RestateArgs};
use crate::{printer, store};

/// Windows written per transaction.
const BATCH: usize = 64;

pub(crate) fn run(args: &RestateArgs) -> anyhow::Result<ExitCode> {
    let now = super::wall_clock();
    let range = time_range(args.since, args.from, args.to, now)?;
    let options = EstimateOptions {
        methodology: match args.methodology {
            MethodologyArg::Classic => Methodology::Classic,
            MethodologyArg::Full => Methodology::Full,
        },
        idle_policy: match args.idle_policy {
            IdlePolicyArg::Request => IdlePolicy::Request,
            IdlePolicyArg::Usage => IdlePolicy::Usage,
            IdlePolicyArg::Even => IdlePolicy::Even,
            IdlePolicyArg::Overhead => IdlePolicy::Overhead,
        },
        ..EstimateOptions::default()
    };
    let url = &args.store.store;
    let runtime = store::runtime()?;
    let (before, after, windows) = runtime.block_on(async {
        let repositories = store::open(url, false).await?;
        let history = store::open_history(url).await?;
        let query = ReportQuery::new(range, GroupBy::Cluster);
        let before = repositories.footprints.aggregate(&query).await?;
        let archived = history.archive.archived_windows(range).await?;
        let mut restated = Vec::with_capacity(archived.len().min(BATCH));
        let mut all = Vec::new();
        for (cluster, start) in &archived {
            let snapshot = history
                .archive
                .snapshot(cluster.as_deref(), *start)
                .await?
                .with_context(|| format!("archived window {start} disappeared"))?;
            let footprint = estimate(&snapshot, &options)
                .with_context(|| format!("archived window {start} cannot be estimated"))?;
            restated.push(footprint);
            if restated.len() == BATCH {
                if !args.dry_run {
                    repositories.footprints.write_footprints(&restated).await?;
                }
                all.append(&mut restated);
            }
        }
        if !args.dry_run && !restated.is_empty() {
            repositories.footprints.write_footprints(&restated).await?;
        }
        all.append(&mut restated);
        let after: Vec<AggregateRow> = if args.dry_run {
            aggregate(&all, GroupBy::Cluster, None)
        } else {
            repositories.footprints.aggregate(&query).await?
        };
        anyhow::Ok((before, after, archived.len()))
    })?;
    let document = printer::RestateDocument {
        methodology: options.methodology.name(),
        idle_policy: options.idle_policy.name(),
        windows,
        stored: !args.dry_run,
        before: &before,
        after: &after,
    };
    match args.format {
        ReportFormat::Json => printer::json_line(&document)?,
        ReportFormat::Table => printer::restate_table(&document)?,
    }
    Ok(ExitCode::SUCCESS)
}
