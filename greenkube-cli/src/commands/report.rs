//! `greenkube report`.

use std::process::ExitCode;

use anyhow::Context;
use chrono::{DateTime, DurationRound, Utc};
use greenkube_adapters::app;
use greenkube_core::ports::{ReportQuery, TimeRange};

use crate::args::{Format, ReportArgs};
use crate::{printer, store};

/// The range of `--since`, or of `--from` and `--to`.
pub(crate) fn time_range(
    since: Option<chrono::Duration>,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> anyhow::Result<TimeRange> {
    Ok(app::report::range_of(
        since,
        from,
        to,
        now,
        ("--since", "--from", "--to"),
    )?)
}

pub(crate) fn run(args: &ReportArgs) -> anyhow::Result<ExitCode> {
    let now = super::wall_clock()
        .duration_trunc(chrono::Duration::seconds(1))
        .context("reading the clock")?;
    let range = time_range(args.since, args.from, args.to, now)?;
    let query = ReportQuery::new(range, args.group_by).with_period(args.period);
    let (location, report) =
        store::runtime()?.block_on(store::using(&args.store.store, false, async |store| {
            let report = app::report::report(store, &query).await?;
            anyhow::Ok((store.location.clone(), report))
        }))?;
    if report.widened {
        printer::note(&format!(
            "the range reaches history kept only as roll-ups ({}); it was widened to {}",
            printer::kept_from(&report.retention),
            report.range
        ));
    }
    match args.format {
        Format::Json => printer::json_line(&report.rows)?,
        Format::Table => printer::report_table(
            &location,
            report.range,
            args.group_by,
            args.period,
            &report.rows,
        )?,
        Format::Csv => printer::report_csv(args.group_by, args.period, &report.rows)?,
    }
    Ok(ExitCode::SUCCESS)
}
