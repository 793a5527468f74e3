//! Output of the store commands: `report` tables and CSV, and the `migrate` and
//! `estimate --store` confirmations.

use std::io::{self, Write};

use chrono::{DateTime, Utc};
use greenkube_adapters::store::MigrationReport;
use greenkube_core::aggregate::GroupKey;
use greenkube_core::ports::{
    MaintenanceSummary, RetentionPolicy, RetentionState, TimeRange, WriteSummary,
};
use greenkube_core::{AggregateRow, Footprint, Grouping, Period};
use serde::Serialize;

use super::{
    FIGURE_COLUMNS, Table, energy, figure_columns, figures, interval, key_columns, key_values,
    mass, with_stdout, write_csv,
};

/// `greenkube migrate`: what was applied.
pub(crate) fn migrated(location: &str, report: &MigrationReport) -> anyhow::Result<()> {
    with_stdout(|out| {
        if report.applied.is_empty() {
            writeln!(
                out,
                "{location}: schema up to date (version {})",
                report.schema_version
            )
        } else {
            let names: Vec<String> = report
                .applied
                .iter()
                .map(|m| format!("{:04} {}", m.version, m.description))
                .collect();
            writeln!(
                out,
                "{location}: applied {} migration{} ({}); schema version {}",
                names.len(),
                if names.len() == 1 { "" } else { "s" },
                names.join(", "),
                report.schema_version
            )
        }
    })
}

/// `greenkube maintain --format json`.
#[derive(Serialize)]
pub(crate) struct MaintenanceDocument<'a> {
    schema: &'static str,
    store: &'a str,
    now: DateTime<Utc>,
    retention: String,
    hours_rolled: usize,
    days_rolled: usize,
    raw_rows_deleted: u64,
    hourly_rows_deleted: u64,
    daily_rows_deleted: u64,
    raw_kept_from: Option<DateTime<Utc>>,
    hourly_kept_from: Option<DateTime<Utc>>,
    daily_kept_from: Option<DateTime<Utc>>,
}

impl<'a> MaintenanceDocument<'a> {
    pub(crate) fn new(
        store: &'a str,
        policy: &RetentionPolicy,
        now: DateTime<Utc>,
        s: &MaintenanceSummary,
    ) -> Self {
        Self {
            schema: "greenkube.maintenance/v1",
            store,
            now,
            retention: policy.to_string(),
            hours_rolled: s.hours_rolled,
            days_rolled: s.days_rolled,
            raw_rows_deleted: s.raw_rows_deleted,
            hourly_rows_deleted: s.hourly_rows_deleted,
            daily_rows_deleted: s.daily_rows_deleted,
            raw_kept_from: s.state.raw_before,
            hourly_kept_from: s.state.hourly_before,
            daily_kept_from: s.state.daily_before,
        }
    }
}

/// Where each level of detail starts, for people.
pub(crate) fn kept_from(state: &RetentionState) -> String {
    let at = |t: Option<DateTime<Utc>>| {
        t.map_or_else(
            || "in full".to_string(),
            |t| format!("from {}", t.format("%Y-%m-%d %H:%M")),
        )
    };
    format!(
        "raw rows {}, hourly {}, daily {}",
        at(state.raw_before),
        at(state.hourly_before),
        at(state.daily_before)
    )
}

/// What history a range reads at which detail, from the data that exists: each level from its
/// retention cut or the first data of the range (`first`), whichever is later, and a level with
/// no data left out (`daily roll-ups from 2026-08-06 00:00, hourly roll-ups from ..., raw rows
/// from ...`).
pub(crate) fn history_levels(state: &RetentionState, first: Option<DateTime<Utc>>) -> String {
    let start = |cut: Option<DateTime<Utc>>| match (cut, first) {
        (Some(cut), Some(first)) => Some(cut.max(first)),
        (cut, first) => cut.or(first),
    };
    let at = |t: DateTime<Utc>| t.format("%Y-%m-%d %H:%M").to_string();
    let mut parts = Vec::new();
    // A coarser level holds the data before the next finer level's cut.
    for (name, cut, finer) in [
        ("daily roll-ups", state.daily_before, state.hourly_before),
        ("hourly roll-ups", state.hourly_before, state.raw_before),
    ] {
        if let (Some(from), Some(until)) = (start(cut), finer)
            && from < until
        {
            parts.push(format!("{name} from {}", at(from)));
        }
    }
    match start(state.raw_before) {
        Some(from) => parts.push(format!("raw rows from {}", at(from))),
        None => parts.push("raw rows".to_string()),
    }
    parts.join(", ")
}

/// `greenkube maintain`: what was done, on standard output.
pub(crate) fn maintained(
    location: &str,
    policy: &RetentionPolicy,
    s: &MaintenanceSummary,
) -> anyhow::Result<()> {
    with_stdout(|out| {
        writeln!(
            out,
            "{location}: rolled up {} hour{} and {} day{}; deleted {} raw, {} hourly and {} daily rows",
            s.hours_rolled,
            if s.hours_rolled == 1 { "" } else { "s" },
            s.days_rolled,
            if s.days_rolled == 1 { "" } else { "s" },
            s.raw_rows_deleted,
            s.hourly_rows_deleted,
            s.daily_rows_deleted
        )?;
        writeln!(out, "retention: {policy}; kept: {}", kept_from(&s.state))
    })
}

/// `greenkube estimate --store`: one line on standard error.
#[expect(
    clippy::print_stderr,
    reason = "the printer is the one place that prints"
)]
pub(crate) fn stored(location: &str, fp: &Footprint, summary: &WriteSummary) {
    let cluster = fp
        .cluster
        .as_deref()
        .filter(|c| !c.is_empty())
        .map(|c| format!(" of cluster {c}"))
        .unwrap_or_default();
    let replaced = if summary.replaced_pod_rows > 0 {
        format!(
            ", replacing the {} pod rows stored before",
            summary.replaced_pod_rows
        )
    } else {
        String::new()
    };
    eprintln!(
        "stored window {}{cluster} in {location}: {} pod rows, {} node rows{replaced}",
        fp.window_start.format("%Y-%m-%dT%H:%M:%SZ"),
        summary.pod_rows,
        summary.node_rows
    );
}

fn period_name(period: Period) -> &'static str {
    match period {
        Period::Hour => "hour",
        Period::Day => "day",
        Period::Week => "ISO week",
        Period::Month => "month",
        Period::Year => "year",
    }
}

/// The label of the row that carries node overhead in tables by namespace, workload or pod.
pub(crate) const OVERHEAD_ROW: &str = "node overhead (no pod)";

/// `greenkube report --format table`. `overhead` (one row per period, see
/// `app::report::node_overhead`) ends the table as a row of its own, so the total is the
/// cluster's; `None` when the rows are of one namespace (then the total is that namespace's).
pub(crate) fn report_table(
    location: &str,
    range: TimeRange,
    group: &Grouping,
    period: Option<Period>,
    rows: &[AggregateRow],
    overhead: Option<&[AggregateRow]>,
) -> anyhow::Result<()> {
    let mut columns = Vec::new();
    if period.is_some() {
        columns.push(("PERIOD".to_string(), false));
    }
    columns.extend(grouping_columns(group));
    columns.extend(figure_columns("ROWS"));
    let mut table = Table::new(&columns);
    let mut total = AggregateRow::default();
    // Each period's overhead row after that period's rows (the rows come sorted by period).
    let mut all: Vec<(&AggregateRow, bool)> = rows.iter().map(|r| (r, false)).collect();
    all.extend(overhead.unwrap_or_default().iter().map(|r| (r, true)));
    all.sort_by(|a, b| a.0.key.period.cmp(&b.0.key.period));
    for (r, is_overhead) in all {
        let sum = r.total_co2e_grams();
        let mut cells = Vec::new();
        if period.is_some() {
            cells.push(r.key.period.clone().unwrap_or_default());
        }
        if is_overhead {
            let keys = grouping_columns(group).len();
            cells.push(OVERHEAD_ROW.to_string());
            cells.extend(std::iter::repeat_n("-".to_string(), keys - 1));
        } else {
            cells.extend(grouping_values(group, &r.key));
        }
        let pods = |text: String| if is_overhead { "-".to_string() } else { text };
        cells.extend([
            pods(r.rows.to_string()),
            energy(r.energy_joules.point),
            mass(r.co2e_grams.point),
            mass(r.embodied_co2e_grams.point),
            mass(sum.point),
            interval(sum, mass),
            format!("{:.5}", r.cost.0),
            pods(format!("{}/{}", r.estimated_rows, r.rows)),
        ]);
        table.push(cells);
        total.energy_joules += r.energy_joules;
        total.co2e_grams += r.co2e_grams;
        total.embodied_co2e_grams += r.embodied_co2e_grams;
        total.cost += r.cost;
        total.rows += r.rows;
    }
    let by = match period {
        Some(p) => format!("by {group} per {}", period_name(p)),
        None => format!("by {group}"),
    };
    with_stdout(|out| {
        writeln!(out, "{location}  windows starting in {range}  {by}")?;
        writeln!(out)?;
        if rows.is_empty() {
            return writeln!(
                out,
                "no footprints stored for windows starting in this range"
            );
        }
        table.write(out)?;
        footer(out, group, overhead.is_some(), &total)
    })
}

/// The key columns of a report table: those of a store grouping, or `LABEL KEY`.
fn grouping_columns(group: &Grouping) -> Vec<(String, bool)> {
    match group {
        Grouping::By(g) => key_columns(*g),
        Grouping::Label(key) => vec![(format!("LABEL {key}"), false)],
    }
}

/// The key cells of a report row; a label grouping's pods without the label are `(none)`.
fn grouping_values(group: &Grouping, key: &GroupKey) -> Vec<String> {
    match group {
        Grouping::By(g) => key_values(*g, key),
        Grouping::Label(_) => vec![
            key.label
                .as_ref()
                .and_then(|(_, value)| value.as_deref())
                .unwrap_or(NO_LABEL)
                .to_string(),
        ],
    }
}

/// The key cell of the pods without the label of a label grouping.
const NO_LABEL: &str = "(none)";

fn footer(
    out: &mut dyn Write,
    group: &Grouping,
    with_overhead: bool,
    t: &AggregateRow,
) -> io::Result<()> {
    writeln!(out)?;
    let what = if with_overhead || group.holds_node_overhead() {
        "total (the cluster's, node overhead included)"
    } else {
        "total of these rows (node overhead, which belongs to no namespace, not included)"
    };
    writeln!(
        out,
        "{what}: {}, cost {}, {} pod rows",
        super::figures_line(t.energy_joules, t.co2e_grams, t.embodied_co2e_grams),
        super::money(t.cost.0, 5),
        t.rows
    )
}

/// `greenkube report --format csv`.
pub(crate) fn report_csv(
    group: &Grouping,
    period: Option<Period>,
    rows: &[AggregateRow],
) -> anyhow::Result<()> {
    let keys = group.key_columns();
    let mut header: Vec<&str> = Vec::new();
    if period.is_some() {
        header.push("period");
    }
    header.extend(keys.iter().map(String::as_str));
    header.push("rows");
    header.extend(FIGURE_COLUMNS);
    header.extend([
        "estimated_rows",
        "rows_without_cost",
        "first_window",
        "last_window",
    ]);
    let lines = rows.iter().map(|r| {
        let mut row = Vec::new();
        if period.is_some() {
            row.push(r.key.period.clone().unwrap_or_default());
        }
        row.extend(
            keys.iter()
                .map(|column| r.key.column(column).unwrap_or_default().to_string()),
        );
        row.push(r.rows.to_string());
        row.extend(figures(
            r.energy_joules,
            r.co2e_grams,
            r.embodied_co2e_grams,
            Some(r.cost.0),
        ));
        let time = |t: Option<chrono::DateTime<chrono::Utc>>| {
            t.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
                .unwrap_or_default()
        };
        row.extend([
            r.estimated_rows.to_string(),
            r.rows_without_cost.to_string(),
            time(r.first_window),
            time(r.last_window),
        ]);
        row
    });
    write_csv(&header, lines)
}

/// A line of progress on standard error (pipes keep standard output clean).
#[expect(
    clippy::print_stderr,
    reason = "the printer is the one place that prints"
)]
pub(crate) fn progress_line(message: &str) {
    eprintln!("{message}");
}

/// `greenkube demo`: what a run stored, on standard error.
pub(crate) fn collected(
    location: &str,
    windows: &[TimeRange],
    summary: &greenkube_adapters::app::collect::RunSummary,
) {
    if let Some(line) = collected_text(location, windows, summary) {
        progress_line(&line);
    }
}

/// `greenkube collect` and `serve --collect`: what a cycle stored, as a log event (`info`, or
/// `warn` when a source was degraded) carrying the same sentence and its figures as fields.
#[cfg(feature = "collect")]
pub(crate) fn collected_event(
    location: &str,
    windows: &[TimeRange],
    summary: &greenkube_adapters::app::collect::RunSummary,
) {
    let Some(line) = collected_text(location, windows, summary) else {
        return;
    };
    let first = windows.first().map(|w| w.from().to_rfc3339());
    let last = windows.last().map(|w| w.to().to_rfc3339());
    let degraded: Vec<&str> = summary.degraded.iter().map(|n| n.source.name()).collect();
    if degraded.is_empty() {
        tracing::info!(
            store = location,
            windows = summary.windows,
            from = first,
            to = last,
            pod_rows = summary.pod_rows,
            co2e_grams = summary.co2e_grams,
            "{line}"
        );
    } else {
        tracing::warn!(
            store = location,
            windows = summary.windows,
            from = first,
            to = last,
            pod_rows = summary.pod_rows,
            co2e_grams = summary.co2e_grams,
            degraded = degraded.join(","),
            "{line}"
        );
    }
}

fn collected_text(
    location: &str,
    windows: &[TimeRange],
    summary: &greenkube_adapters::app::collect::RunSummary,
) -> Option<String> {
    let (Some(first), Some(last)) = (windows.first(), windows.last()) else {
        return None;
    };
    let span = if windows.len() == 1 {
        format!("window {}", first.from().format("%Y-%m-%d %H:%M"))
    } else {
        format!(
            "{} windows {} to {}",
            summary.windows,
            first.from().format("%Y-%m-%d %H:%M"),
            last.to().format("%Y-%m-%d %H:%M")
        )
    };
    let degraded = if summary.degraded.is_empty() {
        String::new()
    } else {
        let names: Vec<String> = summary
            .degraded
            .iter()
            .map(|n| format!("{} ({})", n.source, n.kind.description()))
            .collect();
        format!("; degraded: {}", names.join(", "))
    };
    Some(format!(
        "{location}: stored {span}: {} pod rows, {} CO2e (operational + embodied){degraded}",
        summary.pod_rows,
        super::mass(summary.co2e_grams)
    ))
}

/// What to try after `greenkube demo`.
pub(crate) fn demo_next_steps(store: &str) {
    let flag = if store == greenkube_adapters::store::DEFAULT_STORE_URL {
        String::new()
    } else {
        format!(" --store {store}")
    };
    progress_line(&format!(
        "\nnext:\n  greenkube report --since 30d --group-by workload --period week{flag}\n  \
         greenkube recommend --store {store} --since 30d\n  \
         greenkube report --since 7d --group-by node --format csv{flag} > nodes.csv"
    ));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().expect("a time")
    }

    /// A store filled for 30 days and kept with `--keep-hourly 90d`: the note speaks of the
    /// hourly data from its first window, not of the cut 90 days back where nothing was.
    #[test]
    fn history_levels_speak_of_the_data_that_exists() {
        let state = RetentionState {
            raw_before: Some(at("2026-11-28T00:00:00Z")),
            hourly_before: Some(at("2026-09-05T00:00:00Z")),
            daily_before: None,
        };
        let first = Some(at("2026-11-05T00:00:00Z"));
        assert_eq!(
            history_levels(&state, first),
            "hourly roll-ups from 2026-11-05 00:00, raw rows from 2026-11-28 00:00"
        );
        // Data older than the hourly cut: daily roll-ups from the first data.
        let first = Some(at("2026-08-01T00:00:00Z"));
        assert_eq!(
            history_levels(&state, first),
            "daily roll-ups from 2026-08-01 00:00, hourly roll-ups from 2026-09-05 00:00, raw \
             rows from 2026-11-28 00:00"
        );
        // Nothing cut: raw rows from the first data.
        assert_eq!(
            history_levels(&RetentionState::default(), first),
            "raw rows from 2026-08-01 00:00"
        );
    }
}
