//! `collect_window`: one window read from the cluster's sources and estimated, through the
//! collector `greenkube collect` runs (`greenkube_adapters::collector`), from a notebook.

use std::time::Duration;

use chrono::Utc;
use greenkube_adapters::app::sources::SourceSettings;
use greenkube_adapters::app::{self, NoProgress};
use greenkube_adapters::collector::{Collector, CollectorConfig};
use greenkube_adapters::secret::Secret;
use greenkube_adapters::sources::electricity_maps;
use greenkube_core::{EstimateOptions, IdlePolicy, Methodology};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::outcome::{self, Output};
use crate::store::{self, PyStore, block_on, duration, instant, named};

/// Reads the last complete window (of `step`, default five minutes) before `at` (default now)
/// from the cluster's sources, as `greenkube collect` does, and estimates it.
///
/// Sources: Prometheus (`prometheus_url`, or found through the Kubernetes API), the Kubernetes
/// API (`kubeconfig`, or in-cluster configuration and `$KUBECONFIG`; `no_kubernetes=True` to
/// use the metrics only), OpenCost (`opencost_url`; costs are unknown without it), Electricity
/// Maps (`electricity_maps_token`; reference intensities without it) and Boavizta
/// (`boavizta_url`; reference embodied figures without it). A source that fails is named on
/// the rows it affected, as in the collector. With `store`, the window is also kept there (as
/// `greenkube collect` keeps it); without, nothing is written anywhere.
///
/// Returns a `greenkube.CollectedWindow`: `.snapshot` (the `greenkube.snapshot/v1` document),
/// `.footprint` (a `greenkube.Footprint`), `.degraded` (the sources that failed) and
/// `.stored` (the store's location, or None). The GIL is released while it works, and Ctrl-C
/// interrupts it.
#[pyfunction]
#[pyo3(signature = (
    prometheus_url = None,
    *,
    kubeconfig = None,
    no_kubernetes = false,
    opencost_url = None,
    electricity_maps_token = None,
    electricity_maps_url = None,
    boavizta_url = None,
    at = None,
    step = None,
    cluster = None,
    methodology = "full",
    idle_policy = "request",
    store = None,
    timeout = 30.0,
))]
#[allow(
    clippy::too_many_arguments,
    reason = "one keyword argument per source and option, as the command line's flags"
)]
pub(crate) fn collect_window<'py>(
    py: Python<'py>,
    prometheus_url: Option<String>,
    kubeconfig: Option<String>,
    no_kubernetes: bool,
    opencost_url: Option<String>,
    electricity_maps_token: Option<String>,
    electricity_maps_url: Option<String>,
    boavizta_url: Option<String>,
    at: Option<&Bound<'py, PyAny>>,
    step: Option<&Bound<'py, PyAny>>,
    cluster: Option<String>,
    methodology: &str,
    idle_policy: &str,
    store: Option<&Bound<'py, PyStore>>,
    timeout: f64,
) -> PyResult<Bound<'py, PyAny>> {
    let at = at
        .map(|a| instant("at", a))
        .transpose()?
        .unwrap_or_else(Utc::now);
    let step = step.map(|s| duration("step", s)).transpose()?;
    let methodology: Methodology = named(methodology)?;
    let idle_policy: IdlePolicy = named(idle_policy)?;
    if !(timeout.is_finite() && timeout > 0.0) {
        return Err(PyValueError::new_err(format!(
            "timeout: expected a positive number of seconds, got {timeout}"
        )));
    }
    let settings = SourceSettings {
        prometheus_url,
        opencost_url,
        electricity_maps_url: electricity_maps_url
            .unwrap_or_else(|| electricity_maps::DEFAULT_URL.to_owned()),
        electricity_maps_token: electricity_maps_token.map(Secret::from),
        boavizta_url,
        kubeconfig,
        no_kubernetes,
        timeout: Duration::from_secs_f64(timeout),
    };
    let mut config = CollectorConfig {
        cluster,
        options: EstimateOptions {
            methodology,
            idle_policy,
            ..EstimateOptions::default()
        },
        ..CollectorConfig::default()
    };
    if let Some(step) = step {
        config.step = step;
    }
    // Without a store, a throwaway one in memory: the collector keeps measured intensities and
    // embodied answers there on the way.
    let owned;
    let target: &PyStore = match store {
        Some(store) => store.get(),
        None => {
            owned = store::open(py, "sqlite::memory:", true)?;
            &owned
        }
    };
    let keep = store.is_some();
    let handle = &target.store;
    let gathered = block_on(py, &target.runtime, move || async move {
        let sources =
            app::sources::sources(&settings, handle.embodied.clone(), &NoProgress).await?;
        let collector = Collector::new(sources, handle.collector_stores(), config);
        app::collect::one_window(&collector, at, keep).await
    });
    if store.is_none() {
        target.close(py)?;
    }
    let mut gathered = gathered?;
    let (Some(snapshot), Some(footprint)) = (gathered.snapshots.pop(), gathered.footprints.pop())
    else {
        return Err(PyValueError::new_err("the collector read no window"));
    };
    let degraded = pythonize::pythonize(py, &gathered.outcome.degraded)?;
    let snapshot = pythonize::pythonize(py, &snapshot)?;
    let footprint = outcome::to_python(py, Output::Footprint(Box::new(footprint)))?;
    let stored = keep.then(|| target.store.location.clone());
    let extra = PyDict::new(py);
    extra.set_item("degraded", degraded)?;
    extra.set_item("stored", stored)?;
    py.import("greenkube._results")?
        .getattr("CollectedWindow")?
        .call((snapshot, footprint), Some(&extra))
}
