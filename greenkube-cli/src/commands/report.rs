//! `greenkube report`.

use std::process::ExitCode;

use std::sync::Arc;

use anyhow::Context;
use chrono::{DateTime, DurationRound, Utc};
use greenkube_adapters::app;
use greenkube_adapters::app::report::ReportRequest;
use greenkube_core::ports::{ReportQuery, TimeRange};
use greenkube_core::{GroupBy, Grouping};

use crate::args::{Format, ReportArgs};
use crate::exit::UsageError;
use crate::time_arg::Lookback;
use crate::{printer, store};

/// The range of `--since`, or of `--from` and `--to`; a missing or invalid range is a usage
/// error (exit 2). `--from`/`--to` win over a `since` that only a configuration file gives
/// (clap refuses the two together on the command line).
pub(crate) fn time_range(
    since: Option<Lookback>,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> anyhow::Result<TimeRange> {
    let since = if from.is_some() || to.is_some() {
        None
    } else {
        since.map(|s| s.before(now))
    };
    app::report::range_of(since, from, to, now, ("--since", "--from", "--to"))
        .map_err(|e| anyhow::Error::new(UsageError(e.to_string())))
}

pub(crate) fn run(args: &ReportArgs) -> anyhow::Result<ExitCode> {
    let now = super::wall_clock()
        .duration_trunc(chrono::Duration::seconds(1))
        .context("reading the clock")?;
    let range = time_range(args.since, args.from, args.to, now)?;
    let query = ReportQuery::new(range, GroupBy::Namespace)
        .with_period(args.period)
        .in_cluster(args.cluster.as_deref().map(Arc::from));
    let request = ReportRequest {
        namespace: args.namespace.clone(),
        labels: args.label.clone(),
        ..ReportRequest::new(query, args.group_by.clone())
    };
    // Usage errors (exit 2): filters that node and cluster groups cannot take.
    request
        .check()
        .map_err(|e| anyhow::Error::new(UsageError(e.to_string())))?;
    let (location, report, overhead) =
        store::runtime()?.block_on(store::using(&args.store.store, false, async |store| {
            let report = app::report::report_request(store, &request).await?;
            // Tables by namespace, workload, pod or label end with the node overhead, so their
            // total is the cluster's (not for some pods only: the overhead belongs to none).
            let overhead = if args.format == Format::Table && !request.filters_pods() {
                Some(app::report::node_overhead(store, &request.store_query(), &report.rows).await?)
            } else {
                None
            };
            anyhow::Ok((store.location.clone(), report, overhead))
        }))?;
    if report.pods_without_labels > 0 {
        printer::note(&format!(
            "{} pod(s) in this range were stored before greenkube kept labels: their labels are \
             unknown, so they match no --label filter{}",
            report.pods_without_labels,
            if matches!(args.group_by, Grouping::Label(_)) {
                " and are counted among the pods without the label"
            } else {
                ""
            }
        ));
    }
    if report.widened {
        printer::note(&format!(
            "the range reaches history kept only as roll-ups ({}); it was widened to {}",
            printer::history_levels(
                &report.retention,
                report.rows.iter().filter_map(|r| r.first_window).min()
            ),
            report.range
        ));
    }
    match args.format {
        Format::Json => printer::json_line(&report.rows)?,
        Format::Table => printer::report_table(
            &location,
            report.range,
            &args.group_by,
            args.period,
            &report.rows,
            overhead
                .as_deref()
                .filter(|_| !args.group_by.holds_node_overhead()),
        )?,
        Format::Csv => printer::report_csv(&args.group_by, args.period, &report.rows)?,
    }
    Ok(ExitCode::SUCCESS)
}
