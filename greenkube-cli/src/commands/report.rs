//! `greenkube report`.

use std::process::ExitCode;

use anyhow::{Context, bail};
use chrono::{DateTime, DurationRound, Utc};
use greenkube_core::ports::{ReportQuery, TimeRange};
use greenkube_core::{GroupBy, Period};

use crate::args::{Format, GroupByArg, PeriodArg, ReportArgs};
use crate::{printer, store};

pub(crate) fn group_by(arg: GroupByArg) -> GroupBy {
    match arg {
        GroupByArg::Pod => GroupBy::Pod,
        GroupByArg::Workload => GroupBy::Workload,
        GroupByArg::Namespace => GroupBy::Namespace,
        GroupByArg::Node => GroupBy::Node,
        GroupByArg::Cluster => GroupBy::Cluster,
    }
}

fn period(arg: PeriodArg) -> Period {
    match arg {
        PeriodArg::Hour => Period::Hour,
        PeriodArg::Day => Period::Day,
        PeriodArg::Week => Period::Week,
        PeriodArg::Month => Period::Month,
        PeriodArg::Year => Period::Year,
    }
}

fn range(args: &ReportArgs, now: DateTime<Utc>) -> anyhow::Result<TimeRange> {
    time_range(args.since, args.from, args.to, now)
}

/// The range of `--since`, or of `--from` and `--to`.
pub(crate) fn time_range(
    since: Option<chrono::Duration>,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> anyhow::Result<TimeRange> {
    let (from, to) = match (since, from, to) {
        (Some(since), None, None) => {
            let from = now
                .checked_sub_signed(since)
                .context("--since reaches before the earliest representable time")?;
            (from, now)
        }
        (None, Some(from), Some(to)) => (from, to),
        _ => bail!("give either --since DURATION, or --from TIME and --to TIME"),
    };
    TimeRange::new(from, to).context("invalid range")
}

pub(crate) fn run(args: &ReportArgs) -> anyhow::Result<ExitCode> {
    let now = super::wall_clock()
        .duration_trunc(chrono::Duration::seconds(1))
        .context("reading the clock")?;
    let range = range(args, now)?;
    let group = group_by(args.group_by);
    let period = args.period.map(period);
    let query = ReportQuery::new(range, group).with_period(period);
    let runtime = store::runtime()?;
    let (location, rows, retention) = runtime.block_on(async {
        let repositories = store::open(&args.store.store, false).await?;
        let rows = repositories.footprints.aggregate(&query).await?;
        let retention = repositories.footprints.retention_state().await?;
        anyhow::Ok((repositories.location, rows, retention))
    })?;
    let effective = retention.effective_range(range);
    if effective != range {
        printer::note(&format!(
            "the range reaches history kept only as roll-ups ({}); it was widened to {effective}",
            printer::kept_from(&retention)
        ));
    }
    let range = effective;
    match args.format {
        Format::Json => printer::json_line(&rows)?,
        Format::Table => printer::report_table(&location, range, group, period, &rows)?,
        Format::Csv => printer::report_csv(group, period, &rows)?,
    }
    Ok(ExitCode::SUCCESS)
}
