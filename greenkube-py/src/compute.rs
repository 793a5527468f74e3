//! The `#[pyfunction]`s: argument handling around the core's pure functions.

use greenkube_core::{EstimateOptions, IdlePolicy, Methodology, ReferenceData, Snapshot};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use crate::convert::SnapshotInput;
use crate::enter::EnterGreenkube;
use crate::error;

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
    Ok(pythonize::pythonize(py, &footprint)?)
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
