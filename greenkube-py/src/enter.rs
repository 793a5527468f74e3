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

/// Input a function could not use: footprints (a history) or anything else.
pub(crate) enum BadInput {
    /// The footprints: a `FootprintError`.
    Footprints(String),
    /// Another argument: a `ValueError`.
    Other(String),
}

impl From<String> for BadInput {
    fn from(message: String) -> Self {
        Self::Other(message)
    }
}

/// Runs core work over input with the GIL released; bad footprints become `FootprintError`,
/// other bad input `ValueError`, each with the core's message.
pub(crate) fn detach_input<T, F>(py: Python<'_>, work: F) -> PyResult<T>
where
    F: Ungil + FnOnce() -> Result<T, BadInput>,
    Result<T, BadInput>: Ungil,
{
    py.detach(work).map_err(|err| match err {
        BadInput::Footprints(message) => error::footprint_error(py, message),
        BadInput::Other(message) => pyo3::exceptions::PyValueError::new_err(message),
    })
}
