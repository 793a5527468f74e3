//! The one way the binding runs core work: without the GIL, with errors mapped on the way out.

use pyo3::Python;
use pyo3::marker::Ungil;
use pyo3::prelude::PyResult;

use crate::error;

/// Runs core work with the GIL released.
pub(crate) trait EnterGreenkube {
    /// Runs `work` detached from the interpreter, so other Python threads run meanwhile, then maps
    /// its error to the matching Python exception.
    fn enter_greenkube<T, F>(self, work: F) -> PyResult<T>
    where
        F: Ungil + FnOnce() -> Result<T, greenkube_core::SnapshotError>,
        Result<T, greenkube_core::SnapshotError>: Ungil;
}

impl EnterGreenkube for Python<'_> {
    fn enter_greenkube<T, F>(self, work: F) -> PyResult<T>
    where
        F: Ungil + FnOnce() -> Result<T, greenkube_core::SnapshotError>,
        Result<T, greenkube_core::SnapshotError>: Ungil,
    {
        self.detach(work)
            .map_err(|err| error::from_core(self, &err))
    }
}

/// Runs core work that fails with any displayable error with the GIL released; its error becomes
/// a `ValueError` with the core's message.
pub(crate) fn detach_value_error<T, E, F>(py: Python<'_>, work: F) -> PyResult<T>
where
    F: Ungil + FnOnce() -> Result<T, E>,
    Result<T, E>: Ungil,
    E: std::fmt::Display,
{
    py.detach(work)
        .map_err(|err| pyo3::exceptions::PyValueError::new_err(err.to_string()))
}
