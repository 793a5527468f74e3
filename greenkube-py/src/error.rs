//! The Python exceptions of the binding, and the one place Rust errors become them.
//!
//! One hierarchy, built when the module loads: `Error` (base of them all); `SnapshotError` and
//! `FootprintError` (also `ValueError`s: bad input); `StoreError` with `UnavailableError`,
//! `ConflictError` and `InvalidDataError`; `SourceError` (with the `source` it names).

use greenkube_adapters::app::AppError;
use greenkube_adapters::collector::CollectError;
use greenkube_core::ports::{StoreError, StoreErrorKind};
use pyo3::exceptions::{PyException, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyTuple, PyType};

/// The exception classes, made once.
struct Classes {
    error: Py<PyType>,
    snapshot: Py<PyType>,
    footprint: Py<PyType>,
    store: Py<PyType>,
    unavailable: Py<PyType>,
    conflict: Py<PyType>,
    invalid_data: Py<PyType>,
    source: Py<PyType>,
}

static CLASSES: PyOnceLock<Classes> = PyOnceLock::new();

/// A class `name(*bases)` of module `greenkube`, with a docstring and class attributes.
fn class<'py>(
    py: Python<'py>,
    name: &str,
    bases: &[&Bound<'py, PyType>],
    doc: &str,
    attributes: &[&str],
) -> PyResult<Py<PyType>> {
    let namespace = PyDict::new(py);
    namespace.set_item("__module__", "greenkube")?;
    namespace.set_item("__doc__", doc)?;
    for attribute in attributes {
        namespace.set_item(*attribute, py.None())?;
    }
    let made = py.import("builtins")?.getattr("type")?.call1((
        name,
        PyTuple::new(py, bases)?,
        namespace,
    ))?;
    Ok(made.cast_into::<PyType>()?.unbind())
}

fn classes(py: Python<'_>) -> PyResult<&Classes> {
    CLASSES.get_or_try_init(py, || {
        let exception = py.get_type::<PyException>();
        let value_error = py.get_type::<PyValueError>();
        let error = class(
            py,
            "Error",
            &[&exception],
            "Base of every greenkube error.",
            &[],
        )?;
        let base = error.bind(py);
        let snapshot = class(
            py,
            "SnapshotError",
            &[base, &value_error],
            "A snapshot greenkube cannot estimate.\n\n``field`` is the JSON path of the offending \
             value (for example ``pods[3].cpu_usage_cores``), or None when the error is not about \
             one field.",
            &["field"],
        )?;
        let footprint = class(
            py,
            "FootprintError",
            &[base, &value_error],
            "A footprint or history greenkube cannot read (also: a snapshot given where \
             footprints are expected, a file path given instead of its contents).",
            &[],
        )?;
        let store = class(
            py,
            "StoreError",
            &[base],
            "The store failed or refused the request; the message names the store (password \
             masked).",
            &[],
        )?;
        let store_bound = store.bind(py);
        let unavailable = class(
            py,
            "UnavailableError",
            &[store_bound],
            "The store cannot be reached or opened now (missing, unreachable, locked, full).",
            &[],
        )?;
        let conflict = class(
            py,
            "ConflictError",
            &[store_bound],
            "The store refused a write that conflicts with what it holds.",
            &[],
        )?;
        let invalid_data = class(
            py,
            "InvalidDataError",
            &[store_bound, &value_error],
            "The store holds, or was given, data it cannot accept (also: an invalid store URL).",
            &[],
        )?;
        let source = class(
            py,
            "SourceError",
            &[base],
            "A data source failed; ``source`` names it (``prometheus``, ``kubernetes``, ...).",
            &["source"],
        )?;
        Ok(Classes {
            error,
            snapshot,
            footprint,
            store,
            unavailable,
            conflict,
            invalid_data,
            source,
        })
    })
}

/// Adds the exception classes to the module.
pub(crate) fn register(module: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = module.py();
    let c = classes(py)?;
    for (name, class) in [
        ("Error", &c.error),
        ("SnapshotError", &c.snapshot),
        ("FootprintError", &c.footprint),
        ("StoreError", &c.store),
        ("UnavailableError", &c.unavailable),
        ("ConflictError", &c.conflict),
        ("InvalidDataError", &c.invalid_data),
        ("SourceError", &c.source),
    ] {
        module.add(name, class.bind(py))?;
    }
    Ok(())
}

/// An exception of `class` with `message`, and one attribute set.
fn raise(
    py: Python<'_>,
    class: &Py<PyType>,
    message: String,
    attribute: Option<(&str, Option<&str>)>,
) -> PyErr {
    let err = PyErr::from_type(class.bind(py).clone(), message);
    if let Some((name, value)) = attribute
        && let Err(failed) = err.value(py).setattr(name, value)
    {
        return failed;
    }
    err
}

/// A `SnapshotError` with its message and field.
pub(crate) fn snapshot_error(py: Python<'_>, message: String, field: Option<&str>) -> PyErr {
    match classes(py) {
        Ok(c) => raise(py, &c.snapshot, message, Some(("field", field))),
        Err(err) => err,
    }
}

/// A `FootprintError` with its message.
pub(crate) fn footprint_error(py: Python<'_>, message: String) -> PyErr {
    match classes(py) {
        Ok(c) => raise(py, &c.footprint, message, None),
        Err(err) => err,
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

/// Maps a store error to the `StoreError` subclass of its kind.
pub(crate) fn from_store(py: Python<'_>, err: &StoreError) -> PyErr {
    let c = match classes(py) {
        Ok(c) => c,
        Err(err) => return err,
    };
    let class = match err.kind() {
        StoreErrorKind::Unavailable => &c.unavailable,
        StoreErrorKind::Conflict => &c.conflict,
        StoreErrorKind::InvalidData => &c.invalid_data,
        _ => &c.store,
    };
    raise(py, class, chain(err), None)
}

/// Maps a use case's error: the store's and the sources' to theirs, a bad argument to
/// `ValueError`, something missing to `KeyError`.
pub(crate) fn from_app(py: Python<'_>, err: &AppError) -> PyErr {
    match err {
        AppError::Store(store) => from_store(py, store),
        AppError::Source(source) | AppError::Collect(CollectError::NoData(source)) => {
            match classes(py) {
                Ok(c) => raise(
                    py,
                    &c.source,
                    err.to_string(),
                    Some(("source", Some(&source.source_kind.to_string()))),
                ),
                Err(err) => err,
            }
        }
        AppError::Collect(CollectError::Store(store)) => from_store(py, store),
        AppError::Collect(CollectError::Snapshot { source, .. }) => {
            snapshot_error(py, chain(err), source.field())
        }
        AppError::Estimate { source, .. } => snapshot_error(py, chain(err), source.field()),
        AppError::Invalid(message) => PyValueError::new_err(message.clone()),
        AppError::NotFound(message) => pyo3::exceptions::PyKeyError::new_err(message.clone()),
        other => match classes(py) {
            Ok(c) => raise(py, &c.error, chain(other), None),
            Err(err) => err,
        },
    }
}

/// An error and its causes, each once.
fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut next = err.source();
    while let Some(cause) = next {
        let part = cause.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        next = cause.source();
    }
    text
}
