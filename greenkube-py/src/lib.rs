//! The `greenkube._native` extension module: registration only.
//!
//! This crate is glue between Python and `greenkube-core`; it holds no domain logic. The public
//! Python API is the `greenkube` package (`python/greenkube/__init__.py`), which re-exports what
//! is registered here; `python/greenkube/_native.pyi` describes this module exactly.

mod collect;
mod compute;
mod convert;
mod enter;
mod error;
mod outcome;
mod store;
mod stream;
mod table;

use pyo3::prelude::*;

/// The extension module. Its name is the last segment of `module-name` in `pyproject.toml`.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    error::register(m)?;
    m.add_class::<store::PyStore>()?;
    m.add_class::<outcome::Outcome>()?;
    m.add_function(wrap_pyfunction!(store::open, m)?)?;
    m.add_function(wrap_pyfunction!(collect::collect_window, m)?)?;
    m.add_function(wrap_pyfunction!(compute::estimate, m)?)?;
    m.add_function(wrap_pyfunction!(compute::data_version, m)?)?;
    m.add_function(wrap_pyfunction!(compute::methodologies, m)?)?;
    m.add_function(wrap_pyfunction!(compute::recommend, m)?)?;
    m.add_function(wrap_pyfunction!(compute::what_if, m)?)?;
    m.add_function(wrap_pyfunction!(compute::score, m)?)?;
    Ok(())
}
