//! Output: tables for people, JSON and CSV for pipes. The only module that prints.

use std::io::{self, BufWriter, IsTerminal as _, Write};
use std::sync::OnceLock;

use greenkube_core::{
    AggregateRow, Footprint, GroupBy, MethodologyInfo, Ranged, aggregate::GroupKey,
};
use serde::Serialize;

mod rows_output;
mod store_output;
pub(crate) use rows_output::{records_csv, restate_csv, score_csv, what_if_csv, yaml};
#[cfg(feature = "collect")]
pub(crate) use store_output::collected_event;
pub(crate) use store_output::{
    MaintenanceDocument, OVERHEAD_ROW, collected, demo_next_steps, history_levels, maintained,
    migrated, progress_line, report_csv, report_table, stored,
};

/// Prints an error and its causes to standard error.
#[expect(
    clippy::print_stderr,
    reason = "the printer is the one place that prints"
)]
pub(crate) fn error(err: &anyhow::Error) {
    eprintln!("error: {}", chain_text(err));
}

/// The error and its causes, each said once: a cause whose text the message already holds (an
/// error whose `Display` includes its source) is not repeated.
pub(crate) fn chain_text(err: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in err.chain() {
        let part = cause.to_string();
        if part.is_empty() || text.contains(&part) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&part);
    }
    text
}

/// The buffer in front of standard output: large enough that a footprint of tens of
/// megabytes is written in few system calls.
const STDOUT_BUFFER: usize = 256 * 1024;

/// Runs `f` on a buffered standard output; a closed pipe (`| head`) is not an error.
/// `f` writes to the buffer itself, not through `dyn Write`, so serde's many small writes are
/// copies into the buffer rather than calls.
fn with_stdout(
    f: impl FnOnce(&mut BufWriter<io::StdoutLock<'static>>) -> io::Result<()>,
) -> anyhow::Result<()> {
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(STDOUT_BUFFER, stdout.lock());
    match f(&mut out).and_then(|()| out.flush()) {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}

/// A JSON writing error as the I/O error it is, when it is one (so a closed pipe is seen as
/// one by [`with_stdout`]).
fn json_io(e: serde_json::Error) -> io::Error {
    match e.io_error_kind() {
        Some(kind) => io::Error::from(kind),
        None => io::Error::other(e),
    }
}

/// A CSV writing error as the I/O error it is, when it is one.
fn csv_io(e: csv::Error) -> io::Error {
    if !e.is_io_error() {
        return io::Error::other(e);
    }
    match e.into_kind() {
        csv::ErrorKind::Io(io) => io,
        kind => io::Error::other(format!("{kind:?}")),
    }
}

/// Bytes as they are (a completion script, a man page).
pub(crate) fn bytes(data: &[u8]) -> anyhow::Result<()> {
    with_stdout(|out| out.write_all(data))
}

/// One JSON document on one line.
pub(crate) fn json_line<T: Serialize>(value: &T) -> anyhow::Result<()> {
    with_stdout(|out| {
        serde_json::to_writer(&mut *out, value).map_err(json_io)?;
        writeln!(out)
    })
}

/// A footprint as one JSON line: the bytes of [`json_line`], the pod rows serialised on every
/// core ([`Footprint::write_json`]).
pub(crate) fn footprint_json_line(footprint: &Footprint) -> anyhow::Result<()> {
    with_stdout(|out| {
        footprint.write_json(&mut *out).map_err(json_io)?;
        writeln!(out)
    })
}

/// The `greenkube.aggregate/v1` document: grouped rows of one or more footprints.
#[derive(Serialize)]
pub(crate) struct AggregateDocument<'a> {
    schema: &'static str,
    methodology: &'a MethodologyInfo,
    window_start: chrono::DateTime<chrono::Utc>,
    window_end: chrono::DateTime<chrono::Utc>,
    group_by: &'static str,
    rows: &'a [AggregateRow],
}

impl<'a> AggregateDocument<'a> {
    pub(crate) fn new(fp: &'a Footprint, group: GroupBy, rows: &'a [AggregateRow]) -> Self {
        Self {
            schema: "greenkube.aggregate/v1",
            methodology: &fp.methodology,
            window_start: fp.window_start,
            window_end: fp.window_end,
            group_by: group.name(),
            rows,
        }
    }
}

/// Energy with a readable unit.
pub(crate) fn energy(joules: f64) -> String {
    scaled(joules, &[(1e9, "GJ"), (1e6, "MJ"), (1e3, "kJ"), (1.0, "J")])
}

/// Mass of CO2e with a readable unit.
pub(crate) fn mass(grams: f64) -> String {
    scaled(
        grams,
        &[
            (1e6, "t"),
            (1e3, "kg"),
            (1.0, "g"),
            (1e-3, "mg"),
            (1e-6, "µg"),
        ],
    )
}

fn scaled(value: f64, units: &[(f64, &str)]) -> String {
    // Below what the smallest unit shows (`0.000 µg`), it is zero: `0 g`, never `-0.000 µg`.
    let smallest = units.last().map_or(1.0, |u| u.0);
    if value.abs() < smallest * 5e-4 || !value.is_finite() {
        return format!(
            "0 {}",
            units.iter().find(|u| u.0 == 1.0).map_or("", |u| u.1)
        );
    }
    let (factor, unit) = units
        .iter()
        .find(|(f, _)| value.abs() >= *f)
        .copied()
        .unwrap_or(units[units.len() - 1]);
    let v = value / factor;
    let decimals = if v.abs() >= 100.0 {
        1
    } else if v.abs() >= 10.0 {
        2
    } else {
        3
    };
    format!("{v:.decimals$} {unit}")
}

/// `low – high`, or one figure when both bounds print the same (`0 g`).
fn interval(r: Ranged, fmt: fn(f64) -> String) -> String {
    bounds(r.low, r.high, fmt)
}

/// `low – high`, or one figure when both print the same.
fn bounds(low: f64, high: f64, fmt: fn(f64) -> String) -> String {
    let (low, high) = (fmt(low), fmt(high));
    if low == high {
        low
    } else {
        format!("{low} – {high}")
    }
}

/// The currency costs are in, as the cost source reports them (`--currency`).
static CURRENCY: OnceLock<String> = OnceLock::new();

/// Sets the currency shown with every cost (once, before anything is printed).
pub(crate) fn set_currency(code: &str) {
    let code = code.trim();
    if !code.is_empty() {
        let _ = CURRENCY.set(code.to_string());
    }
}

/// The currency shown with costs (`USD` unless told).
pub(crate) fn currency() -> &'static str {
    CURRENCY.get().map_or("USD", String::as_str)
}

/// A cost with its currency (`0.07621 USD`).
pub(crate) fn money(value: f64, decimals: usize) -> String {
    // An empty sum is -0.0: shown as 0.
    format!("{:.decimals$} {}", value + 0.0, currency())
}

/// A column header naming the currency (`COST (USD)`).
fn cost_header(name: &str) -> String {
    format!("{name} ({})", currency())
}

fn cost(c: Option<f64>) -> String {
    c.map_or_else(|| "n/a".to_string(), |c| format!("{c:.5}"))
}

/// The width tables fit into: the terminal's when standard output is one, else none (full
/// width, for pipes and files).
fn terminal_width() -> Option<u16> {
    let stdout = io::stdout();
    if !stdout.is_terminal() {
        return None;
    }
    terminal_size::terminal_size_of(stdout).map(|(width, _)| width.0)
}

/// An aligned table (comfy-table, no borders): fitted to the terminal's width, wrapping the
/// widest cells, when standard output is a terminal; full width otherwise.
struct Table {
    headers: Vec<String>,
    right: Vec<bool>,
    rows: Vec<Vec<String>>,
}

impl Table {
    fn new<S: AsRef<str>>(columns: &[(S, bool)]) -> Self {
        Self {
            headers: columns.iter().map(|c| c.0.as_ref().to_string()).collect(),
            right: columns.iter().map(|c| c.1).collect(),
            rows: Vec::new(),
        }
    }

    fn push(&mut self, row: Vec<String>) {
        self.rows.push(row);
    }

    /// The lines of the table, fitted into `width` columns when given.
    fn render(&self, width: Option<u16>) -> Vec<String> {
        use comfy_table::{CellAlignment, ContentArrangement};
        let mut table = comfy_table::Table::new();
        table.load_preset(comfy_table::presets::NOTHING);
        match width {
            Some(width) => {
                table
                    .set_width(width)
                    .set_content_arrangement(ContentArrangement::Dynamic);
            }
            None => {
                table.set_content_arrangement(ContentArrangement::Disabled);
            }
        }
        table.set_header(self.headers.clone());
        for row in &self.rows {
            table.add_row(row.clone());
        }
        let last = self.headers.len().saturating_sub(1);
        for (i, column) in table.column_iter_mut().enumerate() {
            column.set_padding((0, if i == last { 0 } else { 2 }));
            if self.right.get(i).copied().unwrap_or(false) {
                column.set_cell_alignment(CellAlignment::Right);
            }
        }
        table.lines().map(|l| l.trim_end().to_string()).collect()
    }

    fn write(&self, out: &mut dyn Write) -> io::Result<()> {
        for line in self.render(terminal_width()) {
            writeln!(out, "{line}")?;
        }
        Ok(())
    }
}

fn header(out: &mut dyn Write, fp: &Footprint) -> io::Result<()> {
    let m = &fp.methodology;
    writeln!(
        out,
        "window {} – {}{}  methodology {} {} (idle: {})  data {}",
        fp.window_start.format("%Y-%m-%d %H:%M:%SZ"),
        fp.window_end.format("%Y-%m-%d %H:%M:%SZ"),
        fp.cluster
            .as_deref()
            .map(|c| format!("  cluster {c}"))
            .unwrap_or_default(),
        m.name,
        m.version,
        m.idle_policy,
        m.data_version
    )?;
    writeln!(out)
}

/// `energy E (lo – hi), CO2e O operational + M embodied = T (lo – hi)`: the figures of a total.
pub(crate) fn figures_line(energy_joules: Ranged, co2e: Ranged, embodied: Ranged) -> String {
    let total = co2e + embodied;
    format!(
        "energy {} ({}), CO2e {} operational + {} embodied = {} ({})",
        energy(energy_joules.point),
        interval(energy_joules, energy),
        mass(co2e.point),
        mass(embodied.point),
        mass(total.point),
        interval(total, mass),
    )
}

/// The energy and emissions of a footprint that no pod carries: `(energy, CO2e, embodied)`.
fn node_overhead(fp: &Footprint) -> (Ranged, Ranged, Ranged) {
    fp.nodes.iter().fold(
        (Ranged::ZERO, Ranged::ZERO, Ranged::ZERO),
        |(e, c, m), n| {
            (
                e + n.overhead_energy_joules,
                c + n.overhead_co2e_grams,
                m + n.unallocated_embodied_co2e_grams,
            )
        },
    )
}

/// The `node overhead (no pod)` row of a table whose other rows are pods or groups of pods:
/// `keys` key columns, then `before` empty cells, then the figures, then `after` empty cells.
fn overhead_row(fp: &Footprint, keys: usize, before: usize, after: usize) -> Option<Vec<String>> {
    let (e, c, m) = node_overhead(fp);
    if e.point <= 0.0 && c.point <= 0.0 && m.point <= 0.0 {
        return None;
    }
    let total = c + m;
    let mut cells = vec![OVERHEAD_ROW.to_string()];
    cells.extend(std::iter::repeat_n("-".to_string(), keys - 1 + before));
    cells.extend([
        energy(e.point),
        mass(c.point),
        mass(m.point),
        mass(total.point),
        interval(total, mass),
    ]);
    cells.extend(std::iter::repeat_n(String::new(), after));
    Some(cells)
}

fn footer(out: &mut dyn Write, fp: &Footprint) -> io::Result<()> {
    let t = &fp.totals;
    writeln!(out)?;
    writeln!(
        out,
        "cluster total: {}, cost {}{}",
        figures_line(t.energy_joules, t.co2e_grams, t.embodied_co2e_grams),
        money(t.cost.0, 5),
        if t.pods_without_cost > 0 {
            format!(" ({} pods without cost data)", t.pods_without_cost)
        } else {
            String::new()
        }
    )?;
    writeln!(
        out,
        "{} of {} pods estimated (`--format json` lists the reasons per pod)",
        t.estimated_pods, t.pods
    )?;
    for w in &fp.warnings {
        writeln!(out, "warning: {w}")?;
    }
    Ok(())
}

/// The per-pod table.
pub(crate) fn footprint_table(fp: &Footprint) -> anyhow::Result<()> {
    let mut table = Table::new(&[
        ("NAMESPACE", false),
        ("POD", false),
        ("NODE", false),
        ("ZONE", false),
        ("ENERGY", true),
        ("CO2E", true),
        ("EMBODIED", true),
        ("TOTAL CO2E", true),
        ("INTERVAL", true),
        (&cost_header("COST"), true),
        ("EST", false),
    ]);
    for p in &fp.pods {
        let total = p.total_co2e_grams();
        table.push(vec![
            p.namespace.to_string(),
            p.pod.to_string(),
            p.node.name.as_deref().unwrap_or("-").to_string(),
            p.node.zone.as_deref().unwrap_or("-").to_string(),
            energy(p.energy_joules.point),
            mass(p.co2e_grams.point),
            mass(p.embodied_co2e_grams.point),
            mass(total.point),
            interval(total, mass),
            cost(p.cost.map(|c| c.0)),
            if p.estimated() { "yes" } else { "" }.to_string(),
        ]);
    }
    // The rows add up to the cluster total: pods, then what no pod carries.
    if let Some(row) = overhead_row(fp, 2, 2, 2) {
        table.push(row);
    }
    with_stdout(|out| {
        header(out, fp)?;
        table.write(out)?;
        footer(out, fp)
    })
}

fn key_columns(group: GroupBy) -> Vec<(String, bool)> {
    let names: &[&str] = match group {
        GroupBy::Pod => &["NAMESPACE", "POD"],
        GroupBy::Workload => &["NAMESPACE", "KIND", "WORKLOAD"],
        GroupBy::Namespace => &["NAMESPACE"],
        GroupBy::Node => &["NODE"],
        GroupBy::Cluster => &["CLUSTER"],
    };
    names.iter().map(|n| ((*n).to_string(), false)).collect()
}

/// The figure columns of grouped tables, after the key columns.
fn figure_columns(count: &str) -> Vec<(String, bool)> {
    [
        count,
        "ENERGY",
        "CO2E",
        "EMBODIED",
        "TOTAL CO2E",
        "INTERVAL",
        &cost_header("COST"),
        "ESTIMATED",
    ]
    .iter()
    .map(|n| ((*n).to_string(), true))
    .collect()
}

fn key_values(group: GroupBy, k: &GroupKey) -> Vec<String> {
    let s = |v: &Option<std::sync::Arc<str>>| v.as_deref().unwrap_or("-").to_string();
    match group {
        GroupBy::Pod => vec![s(&k.namespace), s(&k.pod)],
        GroupBy::Workload => vec![s(&k.namespace), s(&k.workload_kind), s(&k.workload)],
        GroupBy::Namespace => vec![s(&k.namespace)],
        GroupBy::Node => vec![s(&k.node)],
        GroupBy::Cluster => vec![s(&k.cluster)],
    }
}

/// A grouped table.
pub(crate) fn aggregate_table(
    fp: &Footprint,
    group: GroupBy,
    rows: &[AggregateRow],
) -> anyhow::Result<()> {
    let mut columns = key_columns(group);
    columns.extend(figure_columns("PODS"));
    let mut table = Table::new(&columns);
    for r in rows {
        let total = r.total_co2e_grams();
        let mut cells = key_values(group, &r.key);
        cells.extend([
            r.rows.to_string(),
            energy(r.energy_joules.point),
            mass(r.co2e_grams.point),
            mass(r.embodied_co2e_grams.point),
            mass(total.point),
            interval(total, mass),
            format!("{:.5}", r.cost.0),
            format!("{}/{}", r.estimated_rows, r.rows),
        ]);
        table.push(cells);
    }
    if !matches!(group, GroupBy::Node | GroupBy::Cluster)
        && let Some(row) = overhead_row(fp, key_columns(group).len(), 1, 2)
    {
        table.push(row);
    }
    with_stdout(|out| {
        header(out, fp)?;
        table.write(out)?;
        footer(out, fp)
    })
}

const FIGURE_COLUMNS: [&str; 13] = [
    "energy_joules",
    "energy_joules_low",
    "energy_joules_high",
    "co2e_grams",
    "co2e_grams_low",
    "co2e_grams_high",
    "embodied_co2e_grams",
    "embodied_co2e_grams_low",
    "embodied_co2e_grams_high",
    "total_co2e_grams",
    "total_co2e_grams_low",
    "total_co2e_grams_high",
    "cost",
];

fn figures(energy: Ranged, co2e: Ranged, embodied: Ranged, cost: Option<f64>) -> Vec<String> {
    let total = co2e + embodied;
    let mut v = Vec::with_capacity(FIGURE_COLUMNS.len());
    for r in [energy, co2e, embodied, total] {
        v.extend([r.point.to_string(), r.low.to_string(), r.high.to_string()]);
    }
    v.push(cost.map_or_else(String::new, |c| c.to_string()));
    v
}

fn write_csv(header: &[&str], rows: impl Iterator<Item = Vec<String>>) -> anyhow::Result<()> {
    with_stdout(|out| {
        let mut w = csv::Writer::from_writer(out);
        w.write_record(header).map_err(csv_io)?;
        for row in rows {
            w.write_record(&row).map_err(csv_io)?;
        }
        w.flush()
    })
}

/// The per-pod CSV.
pub(crate) fn footprint_csv(fp: &Footprint) -> anyhow::Result<()> {
    let mut header = vec![
        "window_start",
        "window_end",
        "methodology",
        "data_version",
        "namespace",
        "pod",
        "node",
        "zone",
        "provider",
        "instance_type",
        "owner_kind",
        "owner_name",
    ];
    header.extend(FIGURE_COLUMNS);
    header.extend(["pue", "grid_intensity", "estimated", "estimation_reasons"]);
    let opt = |v: &Option<std::sync::Arc<str>>| v.as_deref().unwrap_or("").to_string();
    let rows = fp.pods.iter().map(|p| {
        let mut row = vec![
            fp.window_start.to_rfc3339(),
            fp.window_end.to_rfc3339(),
            fp.methodology.name.to_string(),
            fp.methodology.data_version.clone(),
            p.namespace.to_string(),
            p.pod.to_string(),
            opt(&p.node.name),
            opt(&p.node.zone),
            opt(&p.node.provider),
            opt(&p.node.instance_type),
            opt(&p.owner_kind),
            opt(&p.owner_name),
        ];
        row.extend(figures(
            p.energy_joules,
            p.co2e_grams,
            p.embodied_co2e_grams,
            p.cost.map(|c| c.0),
        ));
        row.extend([
            p.node.pue.point.to_string(),
            p.node.grid_intensity.point.to_string(),
            p.estimated().to_string(),
            p.reasons
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; "),
        ]);
        row
    });
    write_csv(&header, rows)
}

/// A grouped CSV.
pub(crate) fn aggregate_csv(group: GroupBy, rows: &[AggregateRow]) -> anyhow::Result<()> {
    let keys: Vec<&'static str> = match group {
        GroupBy::Pod => vec!["namespace", "pod"],
        GroupBy::Workload => vec!["namespace", "workload_kind", "workload"],
        GroupBy::Namespace => vec!["namespace"],
        GroupBy::Node => vec!["node"],
        GroupBy::Cluster => vec!["cluster"],
    };
    let mut header = keys.clone();
    header.push("pods");
    header.extend(FIGURE_COLUMNS);
    header.extend(["estimated_rows", "rows_without_cost"]);
    let lines = rows.iter().map(|r| {
        let mut row: Vec<String> = key_values(group, &r.key)
            .into_iter()
            .map(|v| if v == "-" { String::new() } else { v })
            .collect();
        row.push(r.rows.to_string());
        row.extend(figures(
            r.energy_joules,
            r.co2e_grams,
            r.embodied_co2e_grams,
            Some(r.cost.0),
        ));
        row.extend([
            r.estimated_rows.to_string(),
            r.rows_without_cost.to_string(),
        ]);
        row
    });
    write_csv(&header, lines)
}

/// A note about something the command did not do.
#[expect(
    clippy::print_stderr,
    reason = "the printer is the one place that prints"
)]
pub(crate) fn note(message: &str) {
    eprintln!("note: {message}");
}

/// A CI gate that tripped.
#[expect(
    clippy::print_stderr,
    reason = "the printer is the one place that prints"
)]
pub(crate) fn gate(message: &str) {
    eprintln!("gate: {message}");
}

/// The recommendations table.
/// `greenkube recommendations`: kept recommendations with their state.
pub(crate) fn lifecycle_table(
    records: &[greenkube_core::recommend::RecommendationRecord],
) -> anyhow::Result<()> {
    let mut table = Table::new(&[
        ("ID", false),
        ("STATUS", false),
        ("TYPE", false),
        ("TARGET", false),
        ("CO2E/YEAR", true),
        ("UPDATED", false),
    ]);
    let mut n = 0;
    for r in records {
        n += 1;
        let rec = &r.recommendation;
        let target = match &rec.namespace {
            Some(ns) => format!("{ns}/{}", rec.target),
            None => rec.target.clone(),
        };
        table.push(vec![
            rec.id.chars().take(12).collect(),
            format!("{:?}", r.status).to_lowercase(),
            rec.kind.name().to_string(),
            target,
            mass(rec.savings_co2e_grams_per_year),
            r.updated_at.format("%Y-%m-%d %H:%M").to_string(),
        ]);
    }
    with_stdout(|out| {
        if n == 0 {
            return writeln!(
                out,
                "no recommendations in this state (`greenkube recommend --store URL --since 30d --save` keeps a scan)"
            );
        }
        table.write(out)
    })
}

/// A recommendation changed state.
#[expect(
    clippy::print_stderr,
    reason = "the printer is the one place that prints"
)]
pub(crate) fn lifecycle_changed(r: &greenkube_core::recommend::RecommendationRecord) {
    eprintln!(
        "{} {} {}: now {}",
        r.recommendation.id,
        r.recommendation.kind.name(),
        r.recommendation.target,
        format!("{:?}", r.status).to_lowercase()
    );
}

pub(crate) fn recommendations_table(
    recs: &[greenkube_core::recommend::Recommendation],
    windows: usize,
) -> anyhow::Result<()> {
    let mut table = Table::new(&[
        ("TYPE", false),
        ("SCOPE", false),
        ("NAMESPACE", false),
        ("TARGET", false),
        ("CO2E/YEAR", true),
        ("INTERVAL", true),
        (&cost_header("COST/YEAR"), true),
    ]);
    for r in recs {
        let [lo, hi] = r.savings_co2e_grams_per_year_interval;
        table.push(vec![
            r.kind.name().to_string(),
            format!("{:?}", r.scope).to_lowercase(),
            r.namespace.clone().unwrap_or_else(|| "-".into()),
            r.target.clone(),
            mass(r.savings_co2e_grams_per_year),
            bounds(lo, hi, mass),
            r.savings_cost_per_year
                .map_or_else(|| "unknown".into(), |c| format!("{c:.2}")),
        ]);
    }
    let co2e: f64 = recs.iter().map(|r| r.savings_co2e_grams_per_year).sum();
    let known: Vec<f64> = recs
        .iter()
        .filter_map(|r| r.savings_cost_per_year)
        .collect();
    // An empty f64 sum is -0.0: say "an unknown amount" rather than "-0.00".
    let cost = if known.is_empty() {
        "an unknown amount of money".to_string()
    } else {
        money(known.iter().sum::<f64>(), 2)
    };
    with_stdout(|out| {
        if recs.is_empty() {
            writeln!(out, "no recommendations from {windows} windows of history")?;
            return Ok(());
        }
        table.write(out)?;
        writeln!(out)?;
        for (i, r) in recs.iter().enumerate() {
            writeln!(
                out,
                "{:>3}. {} {}: {}",
                i + 1,
                r.kind.name(),
                r.target,
                r.reason
            )?;
        }
        writeln!(out)?;
        writeln!(
            out,
            "{} recommendations from {windows} windows ({}); together up to {} CO2e and {cost} per year \
             (savings from the what-if engine; `unknown` cost: node prices are not recorded)",
            recs.len(),
            recs.first().map_or("full", |r| r.methodology.as_str()),
            mass(co2e)
        )
    })
}

/// The what-if report.
pub(crate) fn what_if_table(report: &greenkube_core::whatif::WhatIfReport) -> anyhow::Result<()> {
    use greenkube_core::whatif::{Comparison, Figures};
    let mut table = Table::new(&[
        ("SCOPE", false),
        ("", false),
        ("ENERGY", true),
        ("CO2E", true),
        ("EMBODIED", true),
        ("TOTAL CO2E", true),
        ("INTERVAL", true),
        (&cost_header("COST"), true),
    ]);
    let row = |scope: &str, what: &str, f: &Figures| {
        let total = f.total_co2e_grams();
        vec![
            scope.to_string(),
            what.to_string(),
            energy(f.energy_joules.point),
            mass(f.co2e_grams.point),
            mass(f.embodied_co2e_grams.point),
            mass(total.point),
            interval(total, mass),
            f.cost
                .map_or_else(|| "unknown".into(), |c| format!("{c:.4}")),
        ]
    };
    for (scope, c) in [("cluster", &report.cluster), ("targets", &report.targets)] {
        let c: &Comparison = c;
        table.push(row(scope, "baseline", &c.baseline));
        table.push(row("", "projected", &c.projected));
        table.push(row("", "saved", &c.savings));
        table.push(row("", "saved per year", &c.savings_per_year));
    }
    with_stdout(|out| {
        writeln!(
            out,
            "{} windows ({} re-estimated), {:.1} hours of history",
            report.windows,
            report.windows_evaluated,
            report.covered_seconds / 3600.0
        )?;
        writeln!(out)?;
        table.write(out)?;
        writeln!(out)?;
        writeln!(
            out,
            "cluster: the whole cluster; targets: the pods the changes touch, as the methodology charges them"
        )?;
        for n in &report.notes {
            writeln!(out, "note: {n}")?;
        }
        Ok(())
    })
}

/// The sustainability score.
pub(crate) fn score_table(score: &greenkube_core::SustainabilityScore) -> anyhow::Result<()> {
    let mut table = Table::new(&[
        ("DIMENSION", false),
        ("WEIGHT", true),
        ("SCORE", true),
        ("DETAIL", false),
    ]);
    for d in &score.dimensions {
        table.push(vec![
            d.name.to_string(),
            format!("{:.2}", d.weight),
            format!("{:.1}", d.score),
            d.detail.clone(),
        ]);
    }
    with_stdout(|out| {
        writeln!(out, "sustainability score: {:.1} / 100", score.score)?;
        writeln!(out)?;
        table.write(out)
    })
}

/// What `greenkube restate` did.
#[derive(Serialize)]
pub(crate) struct RestateDocument<'a> {
    pub(crate) methodology: &'static str,
    pub(crate) idle_policy: &'static str,
    /// Archived windows restated.
    pub(crate) windows: usize,
    /// False for `--dry-run`.
    pub(crate) stored: bool,
    /// Totals per cluster before.
    pub(crate) before: &'a [AggregateRow],
    /// Totals per cluster after.
    pub(crate) after: &'a [AggregateRow],
}

/// The restatement's before/after table.
pub(crate) fn restate_table(doc: &RestateDocument<'_>) -> anyhow::Result<()> {
    let mut table = Table::new(&[
        ("CLUSTER", false),
        ("", false),
        ("ENERGY", true),
        ("CO2E", true),
        ("EMBODIED", true),
        ("TOTAL CO2E", true),
        ("INTERVAL", true),
    ]);
    let push = |table: &mut Table, cluster: &str, what: &str, r: &AggregateRow| {
        let total = r.total_co2e_grams();
        table.push(vec![
            cluster.to_string(),
            what.to_string(),
            energy(r.energy_joules.point),
            mass(r.co2e_grams.point),
            mass(r.embodied_co2e_grams.point),
            mass(total.point),
            interval(total, mass),
        ]);
    };
    for b in doc.before {
        let cluster = b.key.cluster.as_deref().unwrap_or("-");
        push(&mut table, cluster, "stored", b);
        if let Some(a) = doc.after.iter().find(|a| a.key.cluster == b.key.cluster) {
            push(&mut table, "", doc.methodology, a);
        }
    }
    for a in doc
        .after
        .iter()
        .filter(|a| !doc.before.iter().any(|b| b.key.cluster == a.key.cluster))
    {
        push(
            &mut table,
            a.key.cluster.as_deref().unwrap_or("-"),
            doc.methodology,
            a,
        );
    }
    with_stdout(|out| {
        writeln!(
            out,
            "{} archived windows restated under {} (idle: {}){}",
            doc.windows,
            doc.methodology,
            doc.idle_policy,
            if doc.stored {
                ""
            } else {
                " — dry run, nothing stored"
            }
        )?;
        writeln!(out)?;
        table.write(out)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_scale() {
        assert_eq!(energy(691.5), "691.5 J");
        assert_eq!(energy(12_345.0), "12.35 kJ");
        assert_eq!(mass(0.005_743), "5.743 mg");
        assert_eq!(mass(0.0), "0 g");
        assert_eq!(mass(1500.0), "1.500 kg");
        // Too small to show is zero, and an interval of two equal figures is one figure.
        assert_eq!(mass(1e-10), "0 g");
        assert_eq!(mass(-1e-12), "0 g");
        assert_eq!(bounds(0.0, 1e-10, mass), "0 g");
        assert_eq!(bounds(0.0, 0.002, mass), "0 g – 2.000 mg");
        assert_eq!(
            interval(Ranged::new(1.0, 0.5, 2.0), mass),
            "500.0 mg – 2.000 g"
        );
    }

    #[test]
    fn tables_fit_the_width_they_are_given_and_are_full_width_without_one() {
        let mut table = Table::new(&[("NAMESPACE", false), ("DETAIL", false), ("COST", true)]);
        let long = "a reason long enough to need wrapping on a narrow terminal, ".repeat(3);
        table.push(vec!["shop".into(), long.clone(), "1.00000".into()]);
        table.push(vec!["data".into(), "short".into(), "22.00000".into()]);
        let narrow = table.render(Some(60));
        assert!(narrow.len() > 3, "wrapped: {narrow:#?}");
        assert!(
            narrow.iter().all(|l| l.chars().count() <= 60),
            "{narrow:#?}"
        );
        let full = table.render(None);
        assert_eq!(full.len(), 3, "{full:#?}");
        assert!(full[1].contains(long.trim_end()), "{full:#?}");
        // Right-aligned figures, two spaces between columns, no trailing blanks.
        assert!(full[2].ends_with(" 22.00000"), "{full:#?}");
        assert!(full[0].starts_with("NAMESPACE  DETAIL"), "{full:#?}");
        assert!(full.iter().all(|l| !l.ends_with(' ')));
    }

    #[test]
    fn costs_carry_their_currency() {
        assert_eq!(money(-0.0, 2), format!("0.00 {}", currency()));
        assert!(cost_header("COST").starts_with("COST ("));
    }

    #[derive(Debug, thiserror::Error)]
    #[error("cannot read x.json: {0}")]
    struct Wrapped(#[source] std::io::Error);

    #[test]
    fn causes_are_said_once() {
        let io = std::io::Error::from(std::io::ErrorKind::NotFound);
        let shown = io.to_string();
        let err = anyhow::Error::new(Wrapped(io)).context("estimating");
        let text = chain_text(&err);
        assert_eq!(text.matches(&shown).count(), 1, "{text}");
        assert!(
            text.starts_with("estimating: cannot read x.json: "),
            "{text}"
        );
        // Causes not already said are kept.
        let err = anyhow::anyhow!("inner").context("outer");
        assert_eq!(chain_text(&err), "outer: inner");
    }
}
