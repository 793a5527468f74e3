//! Stores from Python: `greenkube.open(url)` gives the same store handle and runs the same use
//! cases (`greenkube_adapters::app`) as the command line and the HTTP server; nothing here
//! reads or writes a store on its own.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use greenkube_adapters::app::collect::Stop;
use greenkube_adapters::app::demo::{Demo, DemoPlan};
use greenkube_adapters::app::{self, AppError, NoProgress};
use greenkube_adapters::store::{self, OpenOptions, Store};
use greenkube_core::ports::{ReportQuery, RetentionPolicy, TimeRange};
use greenkube_core::recommend::{AppliedValues, RecommendationStatus, RecommenderConfig};
use greenkube_core::time_text;
use greenkube_core::whatif::WhatIfOptions;
use greenkube_core::{EstimateOptions, GroupBy, Grouping, LabelSelector, Period, UnknownNameError};
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::compute::changes_of;
use crate::convert::JsonInput;
use crate::enter::detach_input;
use crate::error;
use crate::outcome::{self, Output};
use crate::stream::PodRowBatches;
use crate::table;
use pyo3_arrow::PyRecordBatchReader;

/// A store, open: SQLite (`sqlite://PATH`), PostgreSQL (`postgres://...`) or Elasticsearch
/// (`http(s)://...`), with its own runtime for the I/O. Every call releases the GIL while it
/// works, and Ctrl-C interrupts it.
#[pyclass(module = "greenkube._native", name = "Store", frozen)]
pub(crate) struct PyStore {
    pub(crate) store: Store,
    pub(crate) runtime: Arc<tokio::runtime::Runtime>,
}

/// Opens the store a URL names (created when missing if `create`), bringing its schema up to
/// date.
#[pyfunction]
#[pyo3(signature = (url, *, create = false))]
pub(crate) fn open(py: Python<'_>, url: &str, create: bool) -> PyResult<PyStore> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("greenkube-io")
        .enable_all()
        .build()
        .map_err(|e| PyRuntimeError::new_err(format!("cannot start the I/O runtime: {e}")))?;
    let url = url.to_owned();
    let store = block_on(py, &runtime, move || async move {
        store::open_with(
            &url,
            OpenOptions {
                create_if_missing: create,
            },
        )
        .await
        .map_err(AppError::from)
    })?;
    Ok(PyStore {
        store,
        runtime: Arc::new(runtime),
    })
}

/// Runs store work on `runtime` with the GIL released; checks for Ctrl-C every 100 ms (the
/// work is then dropped: a write in progress rolls back). `work` makes the future on the
/// detached thread, so the future itself need not be `Send`.
pub(crate) fn block_on<T, W, F>(
    py: Python<'_>,
    runtime: &tokio::runtime::Runtime,
    work: W,
) -> PyResult<T>
where
    W: FnOnce() -> F + Send,
    F: Future<Output = Result<T, AppError>>,
    T: Send,
{
    let outcome = py.detach(|| {
        runtime.block_on(async {
            tokio::select! {
                outcome = work() => Ok(outcome),
                interrupt = interrupted() => Err(interrupt),
            }
        })
    });
    match outcome {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(err)) => Err(error::from_app(py, &err)),
        Err(interrupt) => Err(interrupt),
    }
}

/// Resolves when Python has a pending signal to raise (Ctrl-C: `KeyboardInterrupt`).
async fn interrupted() -> PyErr {
    loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        #[expect(
            clippy::redundant_closure_for_method_calls,
            reason = "the method's lifetime is not general enough for `attach`"
        )]
        let signals = Python::attach(|py| py.check_signals());
        if let Err(err) = signals {
            return err;
        }
    }
}

/// A time argument: a timezone-aware `datetime`, or text (RFC 3339 or a date).
pub(crate) fn instant(name: &str, value: &Bound<'_, PyAny>) -> PyResult<DateTime<Utc>> {
    if let Ok(text) = value.extract::<String>() {
        return time_text::parse_instant(&text)
            .map_err(|e| PyValueError::new_err(format!("{name}: {e}")));
    }
    value.extract::<DateTime<Utc>>().map_err(|_| {
        PyValueError::new_err(format!(
            "{name}: expected a timezone-aware datetime (for example \
             datetime(2025, 6, 1, tzinfo=timezone.utc)) or text such as \"2025-06-01\""
        ))
    })
}

/// A duration argument: a `timedelta`, or text such as `"30d"`.
pub(crate) fn duration(name: &str, value: &Bound<'_, PyAny>) -> PyResult<TimeDelta> {
    if let Ok(text) = value.extract::<String>() {
        return time_text::parse_duration(&text)
            .map_err(|e| PyValueError::new_err(format!("{name}: {e}")));
    }
    let delta = value.extract::<TimeDelta>().map_err(|_| {
        PyValueError::new_err(format!(
            "{name}: expected a timedelta or text such as \"30d\", \"12h\", \"2w\""
        ))
    })?;
    if delta <= TimeDelta::zero() {
        return Err(PyValueError::new_err(format!("{name}: must be positive")));
    }
    Ok(delta)
}

/// The range of `since`, or of `start` and `end`, ending now.
fn range(
    py: Python<'_>,
    since: Option<&Bound<'_, PyAny>>,
    start: Option<&Bound<'_, PyAny>>,
    end: Option<&Bound<'_, PyAny>>,
) -> PyResult<TimeRange> {
    let now = Utc::now();
    let since = match since {
        // Text is a duration or `ytd`, as on the command line.
        Some(s) => Some(match s.extract::<String>() {
            Ok(text) => time_text::parse_lookback(&text)
                .map_err(|e| PyValueError::new_err(format!("since: {e}")))?
                .before(now),
            Err(_) => duration("since", s)?,
        }),
        None => None,
    };
    let start = start.map(|s| instant("start", s)).transpose()?;
    let end = end.map(|s| instant("end", s)).transpose()?;
    app::report::range_of(since, start, end, now, ("since", "start", "end"))
        .map_err(|e| error::from_app(py, &e))
}

pub(crate) fn named<T: std::str::FromStr<Err = greenkube_core::UnknownNameError>>(
    text: &str,
) -> PyResult<T> {
    text.parse::<T>().map_err(|e| error::from_unknown_name(&e))
}

/// The state filter of `recommendations`: a state name, `"all"` or `None` (every state).
fn status(text: Option<&str>) -> PyResult<Option<RecommendationStatus>> {
    match text.map(str::trim) {
        None | Some("all") => Ok(None),
        Some(name) => serde_json::from_value(serde_json::Value::from(name))
            .map(Some)
            .map_err(|_| {
                PyValueError::new_err(format!(
                    "status: `{name}` is not one of active, applied, ignored, stale, all"
                ))
            }),
    }
}

#[pymethods]
impl PyStore {
    /// Where the store is (its URL, password masked).
    #[getter]
    fn location(&self) -> &str {
        &self.store.location
    }

    /// Sums the stored footprints of a range, grouped: an Arrow table (`greenkube.Table` in the
    /// package) with one row per group (and per period when `period` is given).
    #[pyo3(signature = (since = None, *, start = None, end = None, group_by = "namespace", period = None, namespace = None, cluster = None, labels = None))]
    #[allow(
        clippy::too_many_arguments,
        reason = "one keyword argument per report option"
    )]
    fn report<'py>(
        &self,
        py: Python<'py>,
        since: Option<&Bound<'_, PyAny>>,
        start: Option<&Bound<'_, PyAny>>,
        end: Option<&Bound<'_, PyAny>>,
        group_by: &str,
        period: Option<&str>,
        namespace: Option<&str>,
        cluster: Option<String>,
        labels: Option<BTreeMap<String, String>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let group: Grouping = group_by
            .parse()
            .map_err(|e: UnknownNameError| PyValueError::new_err(format!("group_by: {e}")))?;
        let period: Option<Period> = period.map(named).transpose()?;
        let range = range(py, since, start, end)?;
        let query = ReportQuery::new(range, GroupBy::Namespace)
            .with_period(period)
            .in_cluster(cluster.map(Into::into));
        let request = app::report::ReportRequest {
            namespace: namespace.map(str::to_owned),
            labels: labels
                .unwrap_or_default()
                .into_iter()
                .map(|(key, value)| LabelSelector { key, value })
                .collect(),
            ..app::report::ReportRequest::new(query, group.clone())
        };
        request
            .check()
            .map_err(|e| PyValueError::new_err(e.to_string()))?;
        let store = &self.store;
        let report = block_on(py, &self.runtime, move || async move {
            app::report::report_request(store, &request).await
        })?;
        let mut metadata = self.report_metadata(&group, report.range);
        metadata.insert("greenkube.widened".to_owned(), report.widened.to_string());
        metadata.insert(
            "greenkube.pods_without_labels".to_owned(),
            report.pods_without_labels.to_string(),
        );
        let batch = table::report(&group, period.is_some(), &report.rows, metadata)
            .map_err(|e| PyRuntimeError::new_err(format!("building the table: {e}")))?;
        table::to_python(py, batch)
    }

    /// The stored pod rows of a range (`since`, or `start` and `end`), one row per pod and
    /// window, streamed in Arrow batches of `batch_size` rows read from the store one page at a
    /// time (never the whole history in memory): a `greenkube.Batches`, to iterate or to turn
    /// into one data frame. `namespace` and `cluster` keep those rows only.
    #[pyo3(signature = (since = None, *, start = None, end = None, namespace = None, cluster = None, batch_size = 10_000))]
    #[allow(clippy::too_many_arguments, reason = "one keyword argument per option")]
    fn footprints<'py>(
        &self,
        py: Python<'py>,
        since: Option<&Bound<'_, PyAny>>,
        start: Option<&Bound<'_, PyAny>>,
        end: Option<&Bound<'_, PyAny>>,
        namespace: Option<String>,
        cluster: Option<String>,
        batch_size: usize,
    ) -> PyResult<Bound<'py, PyAny>> {
        let range = range(py, since, start, end)?;
        let metadata = HashMap::from([
            (
                "greenkube.schema".to_owned(),
                "greenkube.pod_rows/v1".to_owned(),
            ),
            ("greenkube.store".to_owned(), self.store.location.clone()),
            ("greenkube.from".to_owned(), range.from().to_rfc3339()),
            ("greenkube.to".to_owned(), range.to().to_rfc3339()),
        ]);
        let batches = PodRowBatches::new(
            Arc::clone(&self.store.footprints),
            Arc::clone(&self.runtime),
            range,
            batch_size,
            (namespace, cluster),
            metadata.clone(),
        )
        .map_err(|e| PyRuntimeError::new_err(format!("building the stream: {e}")))?;
        let reader = PyRecordBatchReader::new(Box::new(batches));
        py.import("greenkube._table")?
            .getattr("Batches")?
            .call1((reader, metadata))
    }

    /// Analyses the stored history of a range (`since`, or `start` and `end`) and returns what
    /// to change, largest CO2e savings first (each a dict, as `recommend` returns them). With
    /// `save`, the scan is kept in the store: `recommendations()` lists it, and findings ignored
    /// there are left out here.
    #[pyo3(signature = (since = None, *, start = None, end = None, namespace = None, save = false))]
    fn recommend<'py>(
        &self,
        py: Python<'py>,
        since: Option<&Bound<'_, PyAny>>,
        start: Option<&Bound<'_, PyAny>>,
        end: Option<&Bound<'_, PyAny>>,
        namespace: Option<String>,
        save: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let range = range(py, since, start, end)?;
        let config = RecommenderConfig {
            namespace,
            ..RecommenderConfig::default()
        };
        let store = &self.store;
        let now = Utc::now();
        let recommendations = block_on(py, &self.runtime, move || async move {
            let scan = app::recommend::scan(
                store,
                range,
                config,
                None,
                greenkube_core::ReferenceData::embedded(),
            )
            .await?;
            let mut recommendations = scan.recommendations;
            if save {
                let saved = app::recommend::save_scan(store, &recommendations, now).await?;
                recommendations.retain(|r| !saved.ignored.contains(&r.id));
            }
            Ok(recommendations)
        })?;
        outcome::to_python(py, Output::Recommendations(recommendations))
    }

    /// The recommendations the store keeps (`status`: active, applied, ignored, stale, or
    /// None/`"all"` for every state), each a dict as `greenkube recommendations list --format
    /// json` writes it.
    #[pyo3(signature = (status = None))]
    fn recommendations<'py>(
        &self,
        py: Python<'py>,
        status: Option<&str>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let status = self::status(status)?;
        let store = &self.store;
        let records = block_on(py, &self.runtime, move || async move {
            app::recommend::records(store, status).await
        })?;
        outcome::to_python(py, Output::Records(records))
    }

    /// Marks a kept recommendation applied (`id` or a unique prefix); returns its record.
    fn apply<'py>(&self, py: Python<'py>, id: &str) -> PyResult<Bound<'py, PyAny>> {
        self.change(
            py,
            id,
            app::recommend::Change::Apply(AppliedValues::default()),
        )
    }

    /// Ignores a kept recommendation while its finding persists; returns its record.
    #[pyo3(signature = (id, reason = None))]
    fn ignore<'py>(
        &self,
        py: Python<'py>,
        id: &str,
        reason: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.change(py, id, app::recommend::Change::Ignore { reason })
    }

    /// Makes an ignored recommendation active again; returns its record.
    fn unignore<'py>(&self, py: Python<'py>, id: &str) -> PyResult<Bound<'py, PyAny>> {
        self.change(py, id, app::recommend::Change::Unignore)
    }

    /// Rolls stored footprints up by hour and day and applies retention (`keep_raw`,
    /// `keep_hourly`: durations; `keep_daily`: a duration or `"forever"`). Returns what it did.
    #[pyo3(signature = (*, keep_raw = "7d", keep_hourly = "90d", keep_daily = "forever"))]
    fn maintain<'py>(
        &self,
        py: Python<'py>,
        keep_raw: &str,
        keep_hourly: &str,
        keep_daily: &str,
    ) -> PyResult<Bound<'py, PyAny>> {
        let text = |name: &str, e: String| PyValueError::new_err(format!("{name}: {e}"));
        let raw = time_text::parse_duration(keep_raw).map_err(|e| text("keep_raw", e))?;
        let hourly = time_text::parse_duration(keep_hourly).map_err(|e| text("keep_hourly", e))?;
        let daily =
            time_text::parse_duration_or_forever(keep_daily).map_err(|e| text("keep_daily", e))?;
        let policy = RetentionPolicy::new(raw, hourly, daily.0)
            .map_err(|e| PyValueError::new_err(e.to_string()))?;
        let store = &self.store;
        let now = Utc::now();
        let done = block_on(py, &self.runtime, move || async move {
            Ok(store.footprints.maintain(&policy, now).await?)
        })?;
        let out = PyDict::new(py);
        out.set_item("hours_rolled", done.hours_rolled)?;
        out.set_item("days_rolled", done.days_rolled)?;
        out.set_item("raw_rows_deleted", done.raw_rows_deleted)?;
        out.set_item("hourly_rows_deleted", done.hourly_rows_deleted)?;
        out.set_item("daily_rows_deleted", done.daily_rows_deleted)?;
        Ok(out.into_any())
    }

    /// Loads the demo's synthetic cluster (`days` of 5-minute windows ending at the last full
    /// hour before `end`, default now) into the store, as `greenkube demo` does. Windows
    /// already stored are skipped. Returns what was stored.
    #[pyo3(signature = (*, days = 30, seed = 42, end = None))]
    fn load_demo<'py>(
        &self,
        py: Python<'py>,
        days: u32,
        seed: u64,
        end: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let end = end.map(|e| instant("end", e)).transpose()?;
        let demo = Demo::new(DemoPlan {
            seed,
            days,
            end: end.unwrap_or_else(Utc::now),
        })
        .map_err(|e| error::from_app(py, &e))?;
        let store = &self.store;
        let loaded = block_on(py, &self.runtime, move || async move {
            demo.load(store, &Stop::new(), &NoProgress).await
        })?;
        let out = PyDict::new(py);
        out.set_item("windows", loaded.summary.windows)?;
        out.set_item("pod_rows", loaded.summary.pod_rows)?;
        out.set_item("co2e_grams", loaded.summary.co2e_grams)?;
        out.set_item("cluster", app::demo::CLUSTER)?;
        Ok(out.into_any())
    }

    /// Recomputes the stored windows of a range (`since`, or `start` and `end`) from their
    /// archived snapshots under `methodology` and `idle_policy`, as `greenkube restate` does:
    /// rows are replaced in transactions of 64 windows (an interrupted restatement can simply
    /// be run again). With `dry_run`, nothing is written. Returns a dict: `windows` (archived
    /// windows of the range), `stored`, `methodology`, `idle_policy`, and `before` and `after`,
    /// the totals per cluster as `greenkube.Table`s (for a dry run, `after` is what they would
    /// be).
    #[pyo3(signature = (since = None, *, start = None, end = None, methodology = "full", idle_policy = "request", dry_run = false))]
    #[allow(clippy::too_many_arguments, reason = "one keyword argument per option")]
    fn restate<'py>(
        &self,
        py: Python<'py>,
        since: Option<&Bound<'_, PyAny>>,
        start: Option<&Bound<'_, PyAny>>,
        end: Option<&Bound<'_, PyAny>>,
        methodology: &str,
        idle_policy: &str,
        dry_run: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let range = range(py, since, start, end)?;
        let options = EstimateOptions {
            methodology: named(methodology)?,
            idle_policy: named(idle_policy)?,
            ..EstimateOptions::default()
        };
        let names = (options.methodology.name(), options.idle_policy.name());
        let store = &self.store;
        let restated = block_on(py, &self.runtime, move || async move {
            app::restate::restate(store, range, &options, dry_run, &NoProgress).await
        })?;
        let totals = |rows: &[greenkube_core::AggregateRow], when: &str| {
            let mut metadata = self.report_metadata(&GroupBy::Cluster.into(), range);
            metadata.insert("greenkube.restatement".to_owned(), when.to_owned());
            table::report(&GroupBy::Cluster.into(), false, rows, metadata)
                .map_err(|e| PyRuntimeError::new_err(format!("building the table: {e}")))
        };
        let out = PyDict::new(py);
        out.set_item("methodology", names.0)?;
        out.set_item("idle_policy", names.1)?;
        out.set_item("windows", restated.windows)?;
        out.set_item("stored", restated.stored)?;
        out.set_item(
            "before",
            table::to_python(py, totals(&restated.before, "before")?)?,
        )?;
        out.set_item(
            "after",
            table::to_python(py, totals(&restated.after, "after")?)?,
        )?;
        Ok(out.into_any())
    }

    /// Applies `changes` (a list of change dicts, as in `Recommendations[i]["changes"]`, or
    /// JSON text) to the archived windows of a range (`since`, or `start` and `end`; of one
    /// `cluster`, or all) and returns a `greenkube.WhatIf`: baseline, projection and savings.
    /// `max_windows` re-estimates at most that many windows, evenly spread, and scales up.
    #[pyo3(
        signature = (changes, since = None, *, start = None, end = None, cluster = None, max_windows = Some(48)),
        text_signature = "(self, /, changes, since=None, *, start=None, end=None, cluster=None, max_windows=48)"
    )]
    #[allow(clippy::too_many_arguments, reason = "one keyword argument per option")]
    fn what_if<'py>(
        &self,
        py: Python<'py>,
        changes: &Bound<'py, PyAny>,
        since: Option<&Bound<'_, PyAny>>,
        start: Option<&Bound<'_, PyAny>>,
        end: Option<&Bound<'_, PyAny>>,
        cluster: Option<String>,
        max_windows: Option<usize>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let range = range(py, since, start, end)?;
        let changes = JsonInput::extract(changes, "changes")?;
        let changes = detach_input(py, move || changes_of(changes))?;
        let store = &self.store;
        let (report, _) = block_on(py, &self.runtime, move || async move {
            app::whatif::what_if(
                store,
                range,
                cluster.as_deref(),
                &changes,
                WhatIfOptions { max_windows },
            )
            .await
        })?;
        outcome::to_python(py, Output::WhatIf(Box::new(report)))
    }

    /// The sustainability score (0 to 100) of the archived windows of a range (`since`, or
    /// `start` and `end`; of one `cluster`, or all), as `greenkube.Score`.
    #[pyo3(signature = (since = None, *, start = None, end = None, cluster = None))]
    fn score<'py>(
        &self,
        py: Python<'py>,
        since: Option<&Bound<'_, PyAny>>,
        start: Option<&Bound<'_, PyAny>>,
        end: Option<&Bound<'_, PyAny>>,
        cluster: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let range = range(py, since, start, end)?;
        let store = &self.store;
        let (score, _) = block_on(py, &self.runtime, move || async move {
            app::score::score(store, range, cluster.as_deref(), None).await
        })?;
        outcome::to_python(py, Output::Score(Box::new(score)))
    }

    /// Closes the store (SQLite folds its log into the file). Later calls fail.
    pub(crate) fn close(&self, py: Python<'_>) -> PyResult<()> {
        let store = &self.store;
        block_on(py, &self.runtime, move || async move {
            store.close().await;
            Ok(())
        })
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_exc))]
    fn __exit__(&self, py: Python<'_>, _exc: &Bound<'_, pyo3::types::PyTuple>) -> PyResult<bool> {
        self.close(py)?;
        Ok(false)
    }

    fn __repr__(&self) -> String {
        format!("greenkube.Store({:?})", self.store.location)
    }
}

impl PyStore {
    /// What a report table is: its schema, store, grouping, range and reference data.
    fn report_metadata(&self, group: &Grouping, range: TimeRange) -> HashMap<String, String> {
        let data_version = greenkube_core::ReferenceData::embedded().version();
        HashMap::from([
            ("greenkube.schema".into(), "greenkube.report/v1".into()),
            ("greenkube.store".into(), self.store.location.clone()),
            ("greenkube.group_by".into(), group.to_string()),
            ("greenkube.from".into(), range.from().to_rfc3339()),
            ("greenkube.to".into(), range.to().to_rfc3339()),
            ("greenkube.data_version".into(), data_version.into()),
        ])
    }

    fn change<'py>(
        &self,
        py: Python<'py>,
        id: &str,
        change: app::recommend::Change,
    ) -> PyResult<Bound<'py, PyAny>> {
        let store = &self.store;
        let id = id.to_owned();
        let record = block_on(py, &self.runtime, move || async move {
            app::recommend::change(store, &id, change, Utc::now()).await
        })?;
        Ok(pythonize::pythonize(py, &record)?)
    }
}
