//! `greenkube recommend`, `greenkube what-if` and `greenkube score`.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use greenkube_adapters::app;
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
    let reference = ReferenceData::embedded();
    let (recs, windows) = match (&args.history, &args.store, args.since) {
        (Some(history), _, _) => {
            let mut recommender = Recommender::new(config, inventory.as_ref());
            let windows = for_each_footprint(history, |fp| recommender.observe(&fp))?;
            (recommender.finish(reference), windows)
        }
        (None, Some(url), Some(since)) => {
            let now = super::wall_clock();
            let range = super::report::time_range(Some(since), None, None, now)?;
            store::runtime()?.block_on(store::using(url, false, async |store| {
                let scan =
                    app::recommend::scan(store, range, config, inventory.as_ref(), reference)
                        .await?;
                let mut recs = scan.recommendations;
                if args.save {
                    let saved = app::recommend::save_scan(store, &recs, now).await?;
                    recs.retain(|r| !saved.ignored.contains(&r.id));
                    printer::note(&format!(
                        "saved in the store: {} new, {} no longer found (stale), {} ignored and \
                         left out; `greenkube recommendations --store {url}` lists them",
                        saved.new,
                        saved.stale,
                        saved.ignored.len()
                    ));
                }
                anyhow::Ok((recs, scan.windows))
            }))?
        }
        _ => anyhow::bail!("give --history FILE, or --store URL and --since DURATION"),
    };
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
