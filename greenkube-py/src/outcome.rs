//! Results that are documents and tables at once: a footprint, recommendations, a what-if, a
//! score. Python gets the document (plain dicts and lists, as before) as a `greenkube.Footprint`,
//! `greenkube.Recommendations`, `greenkube.WhatIf` or `greenkube.Score` (`python/greenkube/
//! _results.py`), which keeps the Rust value here to build its Arrow tables when asked.

use std::collections::HashMap;

use arrow_array::RecordBatch;
use arrow_schema::ArrowError;
use greenkube_core::Footprint;
use greenkube_core::ports::{PodColumns, WindowRecords};
use greenkube_core::ranged::Ranged;
use greenkube_core::recommend::{Recommendation, RecommendationRecord};
use greenkube_core::score::SustainabilityScore;
use greenkube_core::whatif::{Comparison, WhatIfReport};
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use serde::Serialize;

use crate::table::{self, Columns};

/// The Rust value behind a result.
pub(crate) enum Output {
    /// `estimate`.
    Footprint(Box<Footprint>),
    /// `recommend`, `Store.recommend`.
    Recommendations(Vec<Recommendation>),
    /// `Store.recommendations`: with their lifecycle.
    Records(Vec<RecommendationRecord>),
    /// `what_if`.
    WhatIf(Box<WhatIfReport>),
    /// `score`.
    Score(Box<SustainabilityScore>),
}

/// A result's Rust value, held by its Python object to build tables on demand.
#[pyclass(module = "greenkube._native", name = "Outcome", frozen)]
pub(crate) struct Outcome(Output);

#[pymethods]
impl Outcome {
    /// The table named `name` (`"pods"`, `"nodes"` of a footprint; `"recommendations"`,
    /// `"comparison"`, `"dimensions"`) as a `greenkube.Table`.
    fn table<'py>(&self, py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyAny>> {
        let batch = py.detach(|| self.batch(name));
        let batch = batch
            .ok_or_else(|| PyValueError::new_err(format!("no table `{name}` in this result")))?
            .map_err(|e| PyRuntimeError::new_err(format!("building the table: {e}")))?;
        table::to_python(py, batch)
    }
}

impl Outcome {
    fn batch(&self, name: &str) -> Option<Result<RecordBatch, ArrowError>> {
        let data_version = greenkube_core::ReferenceData::embedded().version();
        Some(match (&self.0, name) {
            (Output::Footprint(fp), "pods") => table::pod_rows(
                PodColumns::from_rows(&WindowRecords::from_footprint(fp).pods),
                footprint_metadata(fp, "greenkube.pod_rows/v1"),
            ),
            (Output::Footprint(fp), "nodes") => nodes(fp),
            (Output::Recommendations(recs), "recommendations") => {
                recommendations(&recs.iter().collect::<Vec<_>>(), None, data_version)
            }
            (Output::Records(records), "recommendations") => recommendations(
                &records
                    .iter()
                    .map(|r| &r.recommendation)
                    .collect::<Vec<_>>(),
                Some(records),
                data_version,
            ),
            (Output::WhatIf(report), "comparison") => what_if(report, data_version),
            (Output::Score(score), "dimensions") => dimensions(score, data_version),
            _ => return None,
        })
    }
}

/// Wraps `value` in its Python result class: the document (`serde` through `pythonize`) with
/// the value kept for its tables.
pub(crate) fn to_python(py: Python<'_>, value: Output) -> PyResult<Bound<'_, PyAny>> {
    let (class, document) = match &value {
        Output::Footprint(fp) => ("Footprint", pythonize::pythonize(py, fp)?),
        Output::Recommendations(recs) => ("Recommendations", pythonize::pythonize(py, recs)?),
        Output::Records(records) => ("Recommendations", pythonize::pythonize(py, records)?),
        Output::WhatIf(report) => ("WhatIf", pythonize::pythonize(py, report)?),
        Output::Score(score) => ("Score", pythonize::pythonize(py, score)?),
    };
    let outcome = Bound::new(py, Outcome(value))?;
    py.import("greenkube._results")?
        .getattr(class)?
        .call1((document, outcome))
}

fn metadata(schema: &str, data_version: &str) -> HashMap<String, String> {
    HashMap::from([
        ("greenkube.schema".to_owned(), schema.to_owned()),
        ("greenkube.data_version".to_owned(), data_version.to_owned()),
    ])
}

/// Metadata of a footprint's tables: what it is, its window and cluster, its methodology.
fn footprint_metadata(fp: &Footprint, schema: &str) -> HashMap<String, String> {
    let mut meta = metadata(schema, &fp.methodology.data_version);
    meta.insert(
        "greenkube.methodology".to_owned(),
        fp.methodology.name.name().to_owned(),
    );
    meta.insert(
        "greenkube.methodology_version".to_owned(),
        fp.methodology.version.clone(),
    );
    meta.insert(
        "greenkube.window_start".to_owned(),
        fp.window_start.to_rfc3339(),
    );
    meta.insert(
        "greenkube.window_end".to_owned(),
        fp.window_end.to_rfc3339(),
    );
    if let Some(cluster) = &fp.cluster {
        meta.insert("greenkube.cluster".to_owned(), cluster.to_string());
    }
    meta
}

/// One row per node of a footprint: the whole node and the part no pod carries.
fn nodes(fp: &Footprint) -> Result<RecordBatch, ArrowError> {
    let nodes = &fp.nodes;
    let mut c = Columns::default();
    c.names("node", nodes.iter().map(|n| n.node.name.as_deref()));
    c.names("provider", nodes.iter().map(|n| n.node.provider.as_deref()));
    c.names(
        "instance_type",
        nodes.iter().map(|n| n.node.instance_type.as_deref()),
    );
    c.names("zone", nodes.iter().map(|n| n.node.zone.as_deref()));
    c.names("region", nodes.iter().map(|n| n.node.region.as_deref()));
    c.flags("synthetic", nodes.iter().map(|n| n.node.synthetic));
    c.optional_figures(
        "cpu_capacity_cores",
        nodes.iter().map(|n| n.node.cpu_capacity_cores.map(|v| v.0)),
    );
    c.optional_figures(
        "memory_capacity_bytes",
        nodes
            .iter()
            .map(|n| n.node.memory_capacity_bytes.map(|v| v.0)),
    );
    c.figures("vcpus", nodes.iter().map(|n| n.vcpus));
    c.figures("cpu_usage_cores", nodes.iter().map(|n| n.cpu_usage_cores.0));
    c.figures("utilisation", nodes.iter().map(|n| n.utilisation));
    c.counts("pods", nodes.iter().map(|n| n.pods));
    let column = |f: fn(&greenkube_core::NodeFootprint) -> Ranged| -> Vec<Ranged> {
        nodes.iter().map(f).collect()
    };
    c.ranged("energy_joules", &column(|n| n.energy_joules));
    c.ranged("idle_energy_joules", &column(|n| n.idle_energy_joules));
    c.ranged(
        "overhead_energy_joules",
        &column(|n| n.overhead_energy_joules),
    );
    c.ranged("co2e_grams", &column(|n| n.co2e_grams));
    c.ranged("overhead_co2e_grams", &column(|n| n.overhead_co2e_grams));
    c.ranged("embodied_co2e_grams", &column(|n| n.embodied_co2e_grams));
    c.ranged(
        "unallocated_embodied_co2e_grams",
        &column(|n| n.unallocated_embodied_co2e_grams),
    );
    c.ranged("pue", &column(|n| n.node.pue));
    c.ranged("grid_intensity", &column(|n| n.node.grid_intensity));
    c.flags(
        "estimated",
        nodes.iter().map(|n| !n.node.reasons.is_empty()),
    );
    let reasons: Vec<Option<String>> = nodes
        .iter()
        .map(|n| {
            (!n.node.reasons.is_empty()).then(|| {
                n.node
                    .reasons
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; ")
            })
        })
        .collect();
    c.text("estimation_reasons", reasons.iter().map(Option::as_deref));
    c.finish(footprint_metadata(fp, "greenkube.node_rows/v1"))
}

/// A unit enum's serde name (`Scope::Workload` is `"workload"`), as the documents spell it.
fn serde_name<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(name)) => name,
        Ok(other) => other.to_string(),
        Err(e) => format!("<{e}>"),
    }
}

/// One row per recommendation, largest savings first as given; with their lifecycle columns
/// when `records` are given.
fn recommendations(
    recs: &[&Recommendation],
    records: Option<&[RecommendationRecord]>,
    data_version: &str,
) -> Result<RecordBatch, ArrowError> {
    let mut c = Columns::default();
    let text =
        |f: fn(&Recommendation) -> String| -> Vec<String> { recs.iter().map(|r| f(r)).collect() };
    c.text("id", recs.iter().map(|r| Some(r.id.as_str())));
    if let Some(records) = records {
        let statuses: Vec<String> = records.iter().map(|r| serde_name(&r.status)).collect();
        c.names("status", statuses.iter().map(|s| Some(s.as_str())));
    }
    let kinds = text(|r| r.kind.name().to_owned());
    c.names("type", kinds.iter().map(|s| Some(s.as_str())));
    let scopes = text(|r| serde_name(&r.scope));
    c.names("scope", scopes.iter().map(|s| Some(s.as_str())));
    let priorities = text(|r| serde_name(&r.priority));
    c.names("priority", priorities.iter().map(|s| Some(s.as_str())));
    c.names("cluster", recs.iter().map(|r| r.cluster.as_deref()));
    c.names("namespace", recs.iter().map(|r| r.namespace.as_deref()));
    c.names("target_kind", recs.iter().map(|r| r.target_kind.as_deref()));
    c.text("target", recs.iter().map(|r| Some(r.target.as_str())));
    c.names("node", recs.iter().map(|r| r.node.as_deref()));
    c.text("reason", recs.iter().map(|r| Some(r.reason.as_str())));
    c.optional_figures(
        "current_cpu_request_cores",
        recs.iter().map(|r| r.current_cpu_request_cores),
    );
    c.optional_figures(
        "recommended_cpu_request_cores",
        recs.iter().map(|r| r.recommended_cpu_request_cores),
    );
    c.optional_figures(
        "current_memory_request_bytes",
        recs.iter().map(|r| r.current_memory_request_bytes),
    );
    c.optional_figures(
        "recommended_memory_request_bytes",
        recs.iter().map(|r| r.recommended_memory_request_bytes),
    );
    c.text("schedule", recs.iter().map(|r| r.schedule.as_deref()));
    c.figures(
        "savings_co2e_grams_per_year",
        recs.iter().map(|r| r.savings_co2e_grams_per_year),
    );
    c.figures(
        "savings_co2e_grams_per_year_low",
        recs.iter()
            .map(|r| r.savings_co2e_grams_per_year_interval[0]),
    );
    c.figures(
        "savings_co2e_grams_per_year_high",
        recs.iter()
            .map(|r| r.savings_co2e_grams_per_year_interval[1]),
    );
    c.optional_figures(
        "savings_cost_per_year",
        recs.iter().map(|r| r.savings_cost_per_year),
    );
    c.text(
        "savings_basis",
        recs.iter().map(|r| Some(r.savings_basis.as_str())),
    );
    c.names(
        "methodology",
        recs.iter().map(|r| Some(r.methodology.as_str())),
    );
    c.names(
        "data_version",
        recs.iter().map(|r| Some(r.data_version.as_str())),
    );
    if let Some(records) = records {
        c.instants("created_at", records.iter().map(|r| Some(r.created_at)));
        c.instants("updated_at", records.iter().map(|r| Some(r.updated_at)));
        c.instants("applied_at", records.iter().map(|r| r.applied_at));
        c.instants("ignored_at", records.iter().map(|r| r.ignored_at));
        c.text(
            "ignored_reason",
            records.iter().map(|r| r.ignored_reason.as_deref()),
        );
    }
    c.finish(metadata("greenkube.recommendations/v1", data_version))
}

/// A what-if as eight rows: for the cluster and for the changed targets, the baseline, the
/// projection, the savings over the history and the savings per year.
fn what_if(report: &WhatIfReport, data_version: &str) -> Result<RecordBatch, ArrowError> {
    let scopes: [(&str, &Comparison); 2] =
        [("cluster", &report.cluster), ("targets", &report.targets)];
    let mut rows = Vec::with_capacity(8);
    for (scope, comparison) in scopes {
        rows.push((scope, "baseline", comparison.baseline));
        rows.push((scope, "projected", comparison.projected));
        rows.push((scope, "savings", comparison.savings));
        rows.push((scope, "savings_per_year", comparison.savings_per_year));
    }
    let mut c = Columns::default();
    c.names("scope", rows.iter().map(|r| Some(r.0)));
    c.names("measure", rows.iter().map(|r| Some(r.1)));
    let column = |f: fn(&greenkube_core::whatif::Figures) -> Ranged| -> Vec<Ranged> {
        rows.iter().map(|r| f(&r.2)).collect()
    };
    c.ranged("energy_joules", &column(|f| f.energy_joules));
    c.ranged("co2e_grams", &column(|f| f.co2e_grams));
    c.ranged("embodied_co2e_grams", &column(|f| f.embodied_co2e_grams));
    c.ranged(
        "total_co2e_grams",
        &column(greenkube_core::whatif::Figures::total_co2e_grams),
    );
    c.optional_figures("cost", rows.iter().map(|r| r.2.cost));
    let mut meta = metadata("greenkube.what_if/v1", data_version);
    meta.insert("greenkube.windows".to_owned(), report.windows.to_string());
    meta.insert(
        "greenkube.windows_evaluated".to_owned(),
        report.windows_evaluated.to_string(),
    );
    meta.insert(
        "greenkube.covered_seconds".to_owned(),
        report.covered_seconds.to_string(),
    );
    c.finish(meta)
}

/// A score's seven dimensions, one row each.
fn dimensions(score: &SustainabilityScore, data_version: &str) -> Result<RecordBatch, ArrowError> {
    let dims = &score.dimensions;
    let mut c = Columns::default();
    c.names("dimension", dims.iter().map(|d| Some(d.name)));
    c.figures("weight", dims.iter().map(|d| d.weight));
    c.figures("score", dims.iter().map(|d| d.score));
    c.flags("has_data", dims.iter().map(|d| d.has_data));
    c.text("detail", dims.iter().map(|d| Some(d.detail.as_str())));
    let mut meta = metadata("greenkube.score/v1", data_version);
    meta.insert("greenkube.score".to_owned(), score.score.to_string());
    meta.insert("greenkube.pods".to_owned(), score.pods.to_string());
    meta.insert("greenkube.rows".to_owned(), score.rows.to_string());
    meta.insert("greenkube.windows".to_owned(), score.windows.to_string());
    c.finish(meta)
}
