//! `greenkube recommend`, `greenkube what-if` and `greenkube score`.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use greenkube_adapters::app;
use greenkube_adapters::history_file::{for_each_footprint, read_document, read_history};
use greenkube_core::recommend::{Recommender, RecommenderConfig};
use greenkube_core::whatif::{WhatIfOptions, changes_from_json, what_if as run_what_if};
use greenkube_core::{Inventory, ReferenceData, ScoreBuilder, ScoreConfig};

use greenkube_core::ports::TimeRange;

use crate::args::{HistoryArgs, RecommendArgs, RowsFormat, ScoreArgs, WhatIfArgs};
use crate::exit::UsageError;
use crate::{printer, store};

/// Where the footprints come from.
enum Input<'a> {
    /// A history file (`-`: standard input).
    File(&'a Path),
    /// The archived windows of a store's range.
    Store {
        /// The store URL.
        url: String,
        /// The windows that started in it.
        range: TimeRange,
    },
}

/// A history file when `--history` is given; else the store (`--store`, `$GREENKUBE_STORE`,
/// the configuration file's `store`, else `sqlite://greenkube.db`) over `--since` or
/// `--from`/`--to` (a `since` from the configuration file counts); else a usage error.
fn input(args: &HistoryArgs) -> anyhow::Result<Input<'_>> {
    if let Some(path) = &args.history {
        return Ok(Input::File(path));
    }
    if args.since.is_none() && args.from.is_none() {
        return Err(anyhow::Error::new(UsageError(
            "give --history FILE, or --since DURATION (or --from TIME --to TIME) to read the \
             store (--store URL, else $GREENKUBE_STORE, else sqlite://greenkube.db)"
                .to_string(),
        )));
    }
    let range = super::report::time_range(args.since, args.from, args.to, super::wall_clock())?;
    let url = args
        .store
        .clone()
        .filter(|u| !u.trim().is_empty())
        .unwrap_or_else(store::default_url);
    Ok(Input::Store { url, range })
}

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
    let (recs, windows) = match input(&args.input)? {
        Input::File(history) => {
            let mut recommender = Recommender::new(config, inventory.as_ref());
            let windows = for_each_footprint(history, |fp| recommender.observe(&fp))?;
            (recommender.finish(reference), windows)
        }
        Input::Store { url, range } => {
            let now = super::wall_clock();
            let cluster = args.input.cluster.as_deref();
            store::runtime()?.block_on(store::using(&url, false, async |store| {
                let scan =
                    app::recommend::scan(store, range, config, inventory.as_ref(), reference)
                        .await?;
                let mut recs = scan.recommendations;
                if let Some(wanted) = cluster {
                    recs.retain(|r| r.cluster.as_deref() == Some(wanted));
                }
                if args.save {
                    let saved = app::recommend::save_scan(store, &recs, now).await?;
                    recs.retain(|r| !saved.ignored.contains(&r.id));
                    printer::note(&format!(
                        "saved in the store: {} new, {} no longer found (stale), {} ignored and \
                         left out; `greenkube recommendations --store {}` lists them",
                        saved.new,
                        saved.stale,
                        saved.ignored.len(),
                        store.location
                    ));
                }
                anyhow::Ok((recs, scan.windows))
            }))?
        }
    };
    match args.format {
        RowsFormat::Json => printer::json_line(&recs)?,
        RowsFormat::Table => printer::recommendations_table(&recs, windows)?,
        RowsFormat::Csv => printer::records_csv(
            &recs,
            &["id", "type", "scope", "cluster", "namespace", "target"],
        )?,
        RowsFormat::Yaml => printer::yaml(&recs)?,
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
            "recommendations would save {} per year, above --fail-on-cost-savings {limit}",
            printer::money(cost, 2)
        ));
        tripped = true;
    }
    Ok(if tripped {
        ExitCode::from(crate::exit::GATE)
    } else {
        ExitCode::SUCCESS
    })
}

pub(crate) fn what_if(args: &WhatIfArgs) -> anyhow::Result<ExitCode> {
    let input = input(&args.input)?;
    let text = read_document(&args.apply)?;
    let changes = changes_from_json(&text)
        .with_context(|| format!("{}: invalid changes", args.apply.display()))?;
    let options = WhatIfOptions {
        max_windows: args.max_windows,
    };
    let report = match input {
        Input::File(path) => {
            let history = read_history(path)?;
            run_what_if(&history, &changes, options, ReferenceData::embedded())?
        }
        Input::Store { url, range } => {
            let cluster = args.input.cluster.as_deref();
            store::runtime()?.block_on(store::using(&url, false, async |store| {
                let (report, _) =
                    app::whatif::what_if(store, range, cluster, &changes, options).await?;
                anyhow::Ok(report)
            }))?
        }
    };
    match args.format {
        RowsFormat::Json => printer::json_line(&report)?,
        RowsFormat::Table => printer::what_if_table(&report)?,
        RowsFormat::Csv => printer::what_if_csv(&report)?,
        RowsFormat::Yaml => printer::yaml(&report)?,
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn score(args: &ScoreArgs) -> anyhow::Result<ExitCode> {
    let inventory = inventory(args.inventory.as_deref())?;
    let score = match input(&args.input)? {
        Input::File(path) => {
            let mut builder = ScoreBuilder::new(&ScoreConfig::default(), inventory.as_ref());
            for_each_footprint(path, |fp| builder.observe(&fp))?;
            builder.finish()
        }
        Input::Store { url, range } => {
            let cluster = args.input.cluster.as_deref();
            store::runtime()?.block_on(store::using(&url, false, async |store| {
                let (score, _) =
                    app::score::score(store, range, cluster, inventory.as_ref()).await?;
                anyhow::Ok(score)
            }))?
        }
    };
    match args.format {
        RowsFormat::Json => printer::json_line(&score)?,
        RowsFormat::Table => printer::score_table(&score)?,
        RowsFormat::Csv => printer::score_csv(&score)?,
        RowsFormat::Yaml => printer::yaml(&score)?,
    }
    Ok(ExitCode::SUCCESS)
}
