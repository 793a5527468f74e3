//! The Python exceptions of the binding, and the one place core errors become them.

use pyo3::create_exception;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyType;

create_exception!(
    greenkube,
    SnapshotError,
    PyValueError,
    "A snapshot greenkube cannot estimate.\n\n\
     ``field`` is the JSON path of the offending value (for example ``pods[3].cpu_usage_cores``), \
     or None when the error is not about one field."
);

/// The `SnapshotError` class, with its class-level `field = None` default so an instance raised
/// from Python code also has the attribute.
pub(crate) fn snapshot_error_type(py: Python<'_>) -> PyResult<Bound<'_, PyType>> {
    let class = py.get_type::<SnapshotError>();
    class.setattr(pyo3::intern!(py, "field"), py.None())?;
    Ok(class)
}

/// A `SnapshotError` with its message and field.
pub(crate) fn snapshot_error(py: Python<'_>, message: String, field: Option<&str>) -> PyErr {
    let err = SnapshotError::new_err(message);
    match err.value(py).setattr(pyo3::intern!(py, "field"), field) {
        Ok(()) => err,
        Err(setattr_failed) => setattr_failed,
    }
}

/// Maps a core snapshot error to `SnapshotError`, keeping the core's message and field path.
pub(crate) fn from_core(py: Python<'_>, err: &greenkube_core::SnapshotError) -> PyErr {
    snapshot_error(py, err.to_string(), err.field())
}

/// Maps an unknown methodology or idle-policy name to `ValueError`; the core's message names the
/// accepted names.
pub(crate) fn from_unknown_name(err: &greenkube_core::UnknownNameError) -> PyErr {
    PyValueError::new_err(err.to_string())
}
