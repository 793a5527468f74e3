//! CSV and YAML of the analysis commands (`recommend`, `what-if`, `score`, `recommendations`,
//! `restate`): the rows their JSON holds, flattened.

use std::collections::BTreeSet;
use std::io::Write as _;

use serde::Serialize;
use serde_json::{Map, Value};

use super::{with_stdout, write_csv};

/// A YAML document of `value` (the same fields as its JSON).
pub(crate) fn yaml<T: Serialize>(value: &T) -> anyhow::Result<()> {
    let text = serde_norway::to_string(value)?;
    with_stdout(|out| out.write_all(text.as_bytes()))
}

/// Flattens a JSON object: nested objects as `outer.inner` columns; arrays, and objects inside
/// them, as JSON text; `null` as an empty cell.
fn flatten(prefix: &str, value: &Value, into: &mut Map<String, Value>) {
    match value {
        Value::Object(fields) => {
            for (key, inner) in fields {
                let name = if prefix.is_empty() {
                    key.clone()
                } else {
                    format!("{prefix}.{key}")
                };
                flatten(&name, inner, into);
            }
        }
        other => {
            into.insert(prefix.to_string(), other.clone());
        }
    }
}

fn cell(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// Rows as CSV: each row's JSON object flattened ([`flatten`]); the `leading` columns first,
/// then every other column in name order.
pub(crate) fn records_csv<T: Serialize>(rows: &[T], leading: &[&str]) -> anyhow::Result<()> {
    let mut flat = Vec::with_capacity(rows.len());
    for row in rows {
        let mut fields = Map::new();
        flatten("", &serde_json::to_value(row)?, &mut fields);
        flat.push(fields);
    }
    let rest: BTreeSet<&String> = flat
        .iter()
        .flat_map(Map::keys)
        .filter(|k| !leading.contains(&k.as_str()))
        .collect();
    let mut header: Vec<&str> = leading.to_vec();
    header.extend(rest.iter().map(|k| k.as_str()));
    let lines = flat
        .iter()
        .map(|fields| header.iter().map(|h| cell(fields.get(*h))).collect());
    write_csv(&header, lines)
}

/// `what-if --format csv`: one row per scope (cluster, targets) and figure set (baseline,
/// projected, saved, saved per year).
pub(crate) fn what_if_csv(report: &greenkube_core::whatif::WhatIfReport) -> anyhow::Result<()> {
    let document = serde_json::to_value(report)?;
    let mut rows = Vec::new();
    for scope in ["cluster", "targets"] {
        for what in ["baseline", "projected", "savings", "savings_per_year"] {
            let mut row = Map::new();
            row.insert("scope".into(), Value::from(scope));
            row.insert("what".into(), Value::from(what));
            if let Some(Value::Object(figures)) = document.get(scope).and_then(|s| s.get(what)) {
                row.extend(figures.clone());
            }
            rows.push(Value::Object(row));
        }
    }
    records_csv(&rows, &["scope", "what"])
}

/// `score --format csv`: the overall score, then one row per dimension.
pub(crate) fn score_csv(score: &greenkube_core::SustainabilityScore) -> anyhow::Result<()> {
    let mut rows = vec![serde_json::json!({
        "dimension": "overall",
        "weight": 1.0,
        "score": score.score,
        "detail": format!("{} windows, {} pods, {} pod rows", score.windows, score.pods, score.rows),
    })];
    for d in &score.dimensions {
        let mut row = serde_json::to_value(d)?;
        if let Value::Object(fields) = &mut row
            && let Some(name) = fields.remove("name")
        {
            fields.insert("dimension".into(), name);
        }
        rows.push(row);
    }
    records_csv(&rows, &["dimension", "weight", "score", "detail"])
}

/// `restate --format csv`: each cluster's totals as stored, then as restated.
pub(crate) fn restate_csv(doc: &super::RestateDocument<'_>) -> anyhow::Result<()> {
    let mut rows = Vec::new();
    for (what, set) in [("stored", doc.before), (doc.methodology, doc.after)] {
        for r in set {
            let mut row = serde_json::to_value(r)?;
            if let Value::Object(fields) = &mut row {
                fields.insert("what".into(), Value::from(what));
            }
            rows.push(row);
        }
    }
    records_csv(&rows, &["cluster", "what"])
}
