//! `greenkube recommend`, `greenkube what-if` and `greenkube score`.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use greenkube_adapters::history_file::{for_each_footprint, read_document, read_history};
use greenkube_core::recommend::{Recommender, RecommenderConfig};
use greenkube_core::whatif::{WhatIfOptions, changes_from_json, what_if as run_what_if};
use greenkube_core::{Inventory, ReferenceData, ScoreBuilder, ScoreConfig};

use crate::args::{RecommendArgs, ReportFormat, ScoreArgs, WhatIfArgs};
use crate::{printer, store};

fn inventory(path: Option<&Path>) -> anyhow::Result<Option<Inventory>> {
    path.map(|p| {
        let text = read_document(p)?;
        Inventory::from_json_str(&text)
            .with_context(|| format!("{}: invalid inventory", p.display()))
    })
    .transpose()
}

pub(crate) fn recommend(args: &RecommendArgs) -> anyhow::Result<ExitCode> {
    let inventory = inventory(args.inventory.as_deref())?;
    let config = RecommenderConfig {
        namespace: args.namespace.clone(),
        include_system_namespaces: args.include_system_namespaces,
        ..RecommenderConfig::default()
    };
    let mut recommender = Recommender::new(config, inventory.as_ref());
    let windows = match (&args.history, &args.store, args.since) {
        (Some(history), _, _) => for_each_footprint(history, |fp| recommender.observe(&fp))?,
        (None, Some(url), Some(since)) => from_store(url, since, |fp| recommender.observe(&fp))?,
        _ => anyhow::bail!("give --history FILE, or --store URL and --since DURATION"),
    };
    let mut recs = recommender.finish(ReferenceData::embedded());
    if args.save
        && let Some(url) = &args.store
    {
        let saved = super::lifecycle::save_scan(url, &recs)?;
        recs.retain(|r| !saved.ignored.contains(&r.id));
        printer::note(&format!(
            "saved in the store: {} new, {} no longer found (stale), {} ignored and left out; \
             `greenkube recommendations --store {url}` lists them",
            saved.new,
            saved.stale,
            saved.ignored.len()
        ));
    }
    match args.format {
        ReportFormat::Json => printer::json_line(&recs)?,
        ReportFormat::Table => printer::recommendations_table(&recs, windows)?,
    }
    let co2e: f64 = recs.iter().map(|r| r.savings_co2e_grams_per_year).sum();
    let cost: f64 = recs.iter().filter_map(|r| r.savings_cost_per_year).sum();
    let mut tripped = false;
    if let Some(limit) = args.fail_on_co2_savings
        && co2e > limit
    {
        printer::gate(&format!(
            "recommendations would save {} of CO2e per year, above --fail-on-co2-savings {limit}",
            printer::mass(co2e)
        ));
        tripped = true;
    }
    if let Some(limit) = args.fail_on_cost_savings
        && cost > limit
    {
        printer::gate(&format!(
            "recommendations would save {cost:.2} per year, above --fail-on-cost-savings {limit}"
        ));
        tripped = true;
    }
    Ok(if tripped {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// Streams the archived windows of the last `since` from a store, re-estimated with the default
/// methodology, into `each`; returns how many there were.
fn from_store(
    url: &str,
    since: chrono::Duration,
    each: impl FnMut(greenkube_core::Footprint),
) -> anyhow::Result<usize> {
    let now = super::wall_clock();
    let range = super::report::time_range(Some(since), None, None, now)?;
    let runtime = store::runtime()?;
    runtime.block_on(async {
        let history = store::open_history(url).await?;
        observe_archived(&history, range, each).await
    })
}

/// Streams the archived windows of `range`, re-estimated with the default methodology, into
/// `each`, one at a time; returns how many there were.
pub(crate) async fn observe_archived(
    history: &greenkube_adapters::store::history::HistoryRepositories,
    range: greenkube_core::ports::TimeRange,
    mut each: impl FnMut(greenkube_core::Footprint),
) -> anyhow::Result<usize> {
    let windows = history.archive.archived_windows(range).await?;
    for (cluster, start) in &windows {
        if let Some(snapshot) = history.archive.snapshot(cluster.as_deref(), *start).await? {
            let footprint =
                greenkube_core::estimate(&snapshot, &greenkube_core::EstimateOptions::default())
                    .with_context(|| format!("archived window {start} cannot be estimated"))?;
            each(footprint);
        }
    }
    Ok(windows.len())
}

pub(crate) fn what_if(args: &WhatIfArgs) -> anyhow::Result<ExitCode> {
    let history = read_history(&args.history)?;
    let text = read_document(&args.apply)?;
    let changes = changes_from_json(&text)
        .with_context(|| format!("{}: invalid changes", args.apply.display()))?;
    let report = run_what_if(
        &history,
        &changes,
        WhatIfOptions {
            max_windows: args.max_windows,
        },
        ReferenceData::embedded(),
    )?;
    match args.format {
        ReportFormat::Json => printer::json_line(&report)?,
        ReportFormat::Table => printer::what_if_table(&report)?,
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn score(args: &ScoreArgs) -> anyhow::Result<ExitCode> {
    let inventory = inventory(args.inventory.as_deref())?;
    let mut builder = ScoreBuilder::new(&ScoreConfig::default(), inventory.as_ref());
    for_each_footprint(&args.history, |fp| builder.observe(&fp))?;
    let score = builder.finish();
    match args.format {
        ReportFormat::Json => printer::json_line(&score)?,
        ReportFormat::Table => printer::score_table(&score)?,
    }
    Ok(ExitCode::SUCCESS)
}
