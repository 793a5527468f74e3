//! The `#[pyfunction]`s: argument handling around the core's pure functions.

use greenkube_core::recommend::RecommenderConfig;
use greenkube_core::whatif::{Change, WhatIfOptions, changes_from_json};
use greenkube_core::{
    EstimateOptions, Footprint, IdlePolicy, Inventory, Methodology, ReferenceData, ScoreConfig,
    Snapshot, read_footprints,
};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use serde_json::Value;

use crate::convert::{JsonInput, SnapshotInput};
use crate::enter::{BadInput, EnterGreenkube, detach_input};
use crate::error;
use crate::outcome::{self, Output};

/// Estimates the footprint of one snapshot.
///
/// `snapshot` is a `greenkube.snapshot/v1` document, as a dict or as JSON text. Returns the
/// `greenkube.footprint/v1` document as plain Python objects. Raises `SnapshotError` (a
/// `ValueError`) naming the offending field when the snapshot is not valid, and `ValueError` for
/// an unknown methodology or idle policy.
#[pyfunction]
#[pyo3(signature = (
    snapshot,
    methodology = "full",
    *,
    idle_policy = "request",
    default_zone = None,
    default_intensity = None,
))]
pub(crate) fn estimate<'py>(
    py: Python<'py>,
    snapshot: &Bound<'py, PyAny>,
    methodology: &str,
    idle_policy: &str,
    default_zone: Option<String>,
    default_intensity: Option<f64>,
) -> PyResult<Bound<'py, PyAny>> {
    let options = options(methodology, idle_policy, default_zone, default_intensity)?;
    let input = SnapshotInput::extract(snapshot)?;
    let footprint = py.enter_greenkube(move || {
        let snapshot = match input {
            SnapshotInput::Text(text) => Snapshot::from_json_str(&text)?,
            SnapshotInput::Value(value) => Snapshot::from_json_value(value)?,
        };
        greenkube_core::estimate(&snapshot, &options)
    })?;
    outcome::to_python(py, Output::Footprint(Box::new(footprint)))
}

fn options(
    methodology: &str,
    idle_policy: &str,
    default_zone: Option<String>,
    default_intensity: Option<f64>,
) -> PyResult<EstimateOptions> {
    let methodology: Methodology = methodology
        .parse()
        .map_err(|err| error::from_unknown_name(&err))?;
    let idle_policy: IdlePolicy = idle_policy
        .parse()
        .map_err(|err| error::from_unknown_name(&err))?;
    let mut options = EstimateOptions::new(methodology);
    options.idle_policy = idle_policy;
    options.default_zone = default_zone;
    options.default_intensity = default_intensity;
    Ok(options)
}

/// Version of the embedded reference data (a content hash such as `gkdata-0123456789ab`); every
/// footprint names it in `methodology.data_version`.
#[pyfunction]
pub(crate) fn data_version() -> &'static str {
    ReferenceData::embedded().version()
}

/// The methodologies `estimate` accepts, default last: a list of
/// `{"name", "version", "summary"}` dicts.
#[pyfunction]
pub(crate) fn methodologies(py: Python<'_>) -> PyResult<Bound<'_, PyList>> {
    let list = PyList::empty(py);
    for methodology in Methodology::ALL {
        let entry = PyDict::new(py);
        entry.set_item("name", methodology.name())?;
        entry.set_item("version", methodology.version())?;
        entry.set_item("summary", methodology.summary())?;
        list.append(entry)?;
    }
    Ok(list)
}

/// Reads a history argument: a list of footprint dicts, or JSON text (an array, or one footprint
/// per line). A snapshot given instead, or a file path, is named as such.
fn history_of(input: &JsonInput) -> Result<Vec<Footprint>, BadInput> {
    let bad = |message: String| BadInput::Footprints(hint(message, input_kind(input).as_deref()));
    match input {
        JsonInput::Text(text) => {
            if let Some(path) = looks_like_a_path(text) {
                return Err(BadInput::Footprints(format!(
                    "history: `{path}` looks like a file path; pass the file's contents (for \
                     example `open(path).read()`) or a list of dicts"
                )));
            }
            read_footprints(text).map_err(|e| bad(format!("history: {e}")))
        }
        JsonInput::Value(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, v)| {
                Footprint::from_json_value(v.clone()).map_err(|e| bad(format!("history[{i}]: {e}")))
            })
            .collect(),
        JsonInput::Value(v) => Footprint::from_json_value(v.clone())
            .map(|f| vec![f])
            .map_err(|e| bad(format!("history: {e}"))),
    }
}

/// The `schema` of the input's first document, when it has one.
fn input_kind(input: &JsonInput) -> Option<String> {
    let first = match input {
        JsonInput::Text(text) => serde_json::from_str::<Value>(text.lines().next()?).ok()?,
        JsonInput::Value(Value::Array(items)) => items.first()?.clone(),
        JsonInput::Value(v) => v.clone(),
    };
    let first = match first {
        Value::Array(items) => items.into_iter().next()?,
        other => other,
    };
    first.get("schema")?.as_str().map(str::to_owned)
}

/// The message, with what the input is when it is a snapshot rather than footprints.
fn hint(message: String, schema: Option<&str>) -> String {
    match schema {
        Some(s) if s.starts_with("greenkube.snapshot/") => format!(
            "{message} (this is a snapshot, `{s}`: estimate it first, `greenkube.estimate(snapshot)`, \
             and pass the footprints)"
        ),
        _ => message,
    }
}

/// The text when it reads as a path to an existing file rather than JSON.
fn looks_like_a_path(text: &str) -> Option<&str> {
    let text = text.trim();
    let json = text.starts_with(['{', '[']);
    (!json && text.len() < 4096 && std::path::Path::new(text).is_file()).then_some(text)
}

fn inventory_of(input: Option<JsonInput>) -> Result<Option<Inventory>, BadInput> {
    match input {
        None => Ok(None),
        Some(JsonInput::Text(text)) => Inventory::from_json_str(&text)
            .map(Some)
            .map_err(|e| BadInput::Other(format!("inventory: {e}"))),
        Some(JsonInput::Value(v)) => serde_json::from_value(v)
            .map(Some)
            .map_err(|e| BadInput::Other(format!("inventory: {e}"))),
    }
}

/// Recommendations from a history of footprints (as `estimate` returns them), optionally with an
/// inventory `{"nodes": [...], "hpas": [...]}`. Returns a list of recommendation dicts, largest
/// CO2e savings first. Raises `ValueError` naming what is wrong in the input.
#[pyfunction]
#[pyo3(signature = (history, inventory = None, *, namespace = None, include_system_namespaces = false))]
pub(crate) fn recommend<'py>(
    py: Python<'py>,
    history: &Bound<'py, PyAny>,
    inventory: Option<&Bound<'py, PyAny>>,
    namespace: Option<String>,
    include_system_namespaces: bool,
) -> PyResult<Bound<'py, PyAny>> {
    let history = JsonInput::extract(history, "history")?;
    let inventory = inventory
        .map(|i| JsonInput::extract(i, "inventory"))
        .transpose()?;
    let recs = detach_input(py, move || {
        let history = history_of(&history)?;
        let inventory = inventory_of(inventory)?;
        let config = RecommenderConfig {
            namespace,
            include_system_namespaces,
            ..RecommenderConfig::default()
        };
        Ok::<_, BadInput>(greenkube_core::recommend::recommend(
            &history,
            inventory.as_ref(),
            &config,
        ))
    })?;
    outcome::to_python(py, Output::Recommendations(recs))
}

/// Reads a changes argument: a list of change dicts, or JSON text.
pub(crate) fn changes_of(input: JsonInput) -> Result<Vec<Change>, BadInput> {
    match input {
        JsonInput::Text(text) => changes_from_json(&text).map_err(|e| e.to_string()),
        JsonInput::Value(v) => serde_json::from_value(v).map_err(|e| e.to_string()),
    }
    .map_err(|e| BadInput::Other(format!("changes: {e}")))
}

/// Applies changes (a list of change dicts, each with `"change"` naming its kind) to a history
/// and returns the baseline, projection and savings for the cluster and for the changed targets.
#[pyfunction]
#[pyo3(signature = (history, changes, *, max_windows = None))]
pub(crate) fn what_if<'py>(
    py: Python<'py>,
    history: &Bound<'py, PyAny>,
    changes: &Bound<'py, PyAny>,
    max_windows: Option<usize>,
) -> PyResult<Bound<'py, PyAny>> {
    let history = JsonInput::extract(history, "history")?;
    let changes = JsonInput::extract(changes, "changes")?;
    let report = detach_input(py, move || {
        let history = history_of(&history)?;
        let changes = changes_of(changes)?;
        greenkube_core::whatif::what_if(
            &history,
            &changes,
            WhatIfOptions { max_windows },
            ReferenceData::embedded(),
        )
        .map_err(|e| BadInput::Other(e.to_string()))
    })?;
    outcome::to_python(py, Output::WhatIf(Box::new(report)))
}

/// The sustainability score (0 to 100) of a history, with its seven dimensions.
#[pyfunction]
#[pyo3(signature = (history, inventory = None))]
pub(crate) fn score<'py>(
    py: Python<'py>,
    history: &Bound<'py, PyAny>,
    inventory: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let history = JsonInput::extract(history, "history")?;
    let inventory = inventory
        .map(|i| JsonInput::extract(i, "inventory"))
        .transpose()?;
    let result = detach_input(py, move || {
        let history = history_of(&history)?;
        let inventory = inventory_of(inventory)?;
        Ok::<_, BadInput>(greenkube_core::score(
            &history,
            inventory.as_ref(),
            &ScoreConfig::default(),
        ))
    })?;
    outcome::to_python(py, Output::Score(Box::new(result)))
}
