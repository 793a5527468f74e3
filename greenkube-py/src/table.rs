//! Tabular results as Arrow record batches: flat columns (every interval as `_low`/`_high`),
//! timestamps in UTC, names dictionary-encoded. They cross to Python through the Arrow
//! `PyCapsule` interface (`pyo3-arrow`), so pandas, polars and pyarrow read them without a copy
//! per value.

use std::collections::HashMap;
use std::sync::Arc;

use arrow_array::builder::{
    BooleanBuilder, Float64Builder, StringBuilder, StringDictionaryBuilder,
    TimestampMicrosecondBuilder, UInt64Builder,
};
use arrow_array::types::Int32Type;
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{ArrowError, Field, Schema};
use chrono::{DateTime, Utc};
use greenkube_core::ports::PodRecord;
use greenkube_core::ranged::Ranged;
use greenkube_core::{AggregateRow, GroupBy};
use pyo3::prelude::*;
use pyo3_arrow::PyTable;

/// Columns being built, in order.
#[derive(Default)]
pub(crate) struct Columns {
    fields: Vec<Field>,
    arrays: Vec<ArrayRef>,
}

impl Columns {
    fn push(&mut self, name: &str, nullable: bool, array: ArrayRef) {
        self.fields
            .push(Field::new(name, array.data_type().clone(), nullable));
        self.arrays.push(array);
    }

    /// A name column, dictionary-encoded (few distinct values, many rows).
    pub(crate) fn names<'a>(&mut self, name: &str, values: impl Iterator<Item = Option<&'a str>>) {
        let mut builder = StringDictionaryBuilder::<Int32Type>::new();
        for value in values {
            builder.append_option(value);
        }
        self.push(name, true, Arc::new(builder.finish()));
    }

    pub(crate) fn text<'a>(&mut self, name: &str, values: impl Iterator<Item = Option<&'a str>>) {
        let mut builder = StringBuilder::new();
        for value in values {
            builder.append_option(value);
        }
        self.push(name, true, Arc::new(builder.finish()));
    }

    pub(crate) fn counts(&mut self, name: &str, values: impl Iterator<Item = usize>) {
        let mut builder = UInt64Builder::new();
        for value in values {
            builder.append_value(value as u64);
        }
        self.push(name, false, Arc::new(builder.finish()));
    }

    pub(crate) fn figures(&mut self, name: &str, values: impl Iterator<Item = f64>) {
        let mut builder = Float64Builder::new();
        for value in values {
            builder.append_value(value);
        }
        self.push(name, false, Arc::new(builder.finish()));
    }

    /// A figure with its interval: `name`, `name_low`, `name_high`.
    pub(crate) fn ranged(&mut self, name: &str, values: &[Ranged]) {
        self.figures(name, values.iter().map(|r| r.point));
        self.figures(&format!("{name}_low"), values.iter().map(|r| r.low));
        self.figures(&format!("{name}_high"), values.iter().map(|r| r.high));
    }

    pub(crate) fn optional_figures(
        &mut self,
        name: &str,
        values: impl Iterator<Item = Option<f64>>,
    ) {
        let mut builder = Float64Builder::new();
        for value in values {
            builder.append_option(value);
        }
        self.push(name, true, Arc::new(builder.finish()));
    }

    pub(crate) fn flags(&mut self, name: &str, values: impl Iterator<Item = bool>) {
        let mut builder = BooleanBuilder::new();
        for value in values {
            builder.append_value(value);
        }
        self.push(name, false, Arc::new(builder.finish()));
    }

    pub(crate) fn instants(
        &mut self,
        name: &str,
        values: impl Iterator<Item = Option<DateTime<Utc>>>,
    ) {
        let mut builder = TimestampMicrosecondBuilder::new().with_timezone("UTC");
        for value in values {
            builder.append_option(value.map(|t| t.timestamp_micros()));
        }
        self.push(name, true, Arc::new(builder.finish()));
    }

    pub(crate) fn finish(
        self,
        metadata: HashMap<String, String>,
    ) -> Result<RecordBatch, ArrowError> {
        let schema = Schema::new(self.fields).with_metadata(metadata);
        RecordBatch::try_new(Arc::new(schema), self.arrays)
    }
}

/// A batch as a `greenkube.Table`: the Arrow table (`pyo3-arrow`, exported through the
/// `PyCapsule` interface), its column names and its schema's metadata.
pub(crate) fn to_python(py: Python<'_>, batch: RecordBatch) -> PyResult<Bound<'_, PyAny>> {
    let schema = batch.schema();
    let columns: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
    let metadata = schema.metadata().clone();
    let native = PyTable::try_new(vec![batch], schema)?;
    py.import("greenkube._table")?
        .getattr("Table")?
        .call1((native, columns, metadata))
}

/// The rows of a report: `period` (when bucketed), the group's key columns
/// ([`GroupBy::key_columns`]), `rows`, each figure with its interval, `cost`, `estimated_rows`,
/// `rows_without_cost`, `first_window` and `last_window`. `metadata` goes on the schema.
pub(crate) fn report(
    group: GroupBy,
    periods: bool,
    rows: &[AggregateRow],
    metadata: HashMap<String, String>,
) -> Result<RecordBatch, ArrowError> {
    let mut columns = Columns::default();
    if periods {
        columns.text("period", rows.iter().map(|r| r.key.period.as_deref()));
    }
    for key in group.key_columns() {
        columns.names(key, rows.iter().map(|r| r.key.column(key)));
    }
    columns.counts("rows", rows.iter().map(|r| r.rows));
    let energy: Vec<Ranged> = rows.iter().map(|r| r.energy_joules).collect();
    let co2e: Vec<Ranged> = rows.iter().map(|r| r.co2e_grams).collect();
    let embodied: Vec<Ranged> = rows.iter().map(|r| r.embodied_co2e_grams).collect();
    let total: Vec<Ranged> = rows.iter().map(AggregateRow::total_co2e_grams).collect();
    columns.ranged("energy_joules", &energy);
    columns.ranged("co2e_grams", &co2e);
    columns.ranged("embodied_co2e_grams", &embodied);
    columns.ranged("total_co2e_grams", &total);
    columns.figures("cost", rows.iter().map(|r| r.cost.0));
    columns.counts("estimated_rows", rows.iter().map(|r| r.estimated_rows));
    columns.counts(
        "rows_without_cost",
        rows.iter().map(|r| r.rows_without_cost),
    );
    columns.instants("first_window", rows.iter().map(|r| r.first_window));
    columns.instants("last_window", rows.iter().map(|r| r.last_window));
    columns.finish(metadata)
}

/// Stored pod rows, one row per pod and window: where (cluster, window, namespace, pod,
/// workload, node, zone, region, provider, instance type), what it used and reserved, each
/// figure with its interval, cost, PUE, grid intensity, whether it was estimated and why, and
/// the methodology and reference data that made it.
pub(crate) fn pod_rows(
    rows: &[PodRecord],
    metadata: HashMap<String, String>,
) -> Result<RecordBatch, ArrowError> {
    let mut c = Columns::default();
    c.names("cluster", rows.iter().map(|r| r.cluster.as_deref()));
    c.instants("window_start", rows.iter().map(|r| Some(r.window_start)));
    c.instants("window_end", rows.iter().map(|r| Some(r.window_end)));
    c.names("namespace", rows.iter().map(|r| Some(&*r.namespace)));
    c.names("pod", rows.iter().map(|r| Some(&*r.pod)));
    c.names("owner_kind", rows.iter().map(|r| r.owner_kind.as_deref()));
    c.names("owner_name", rows.iter().map(|r| r.owner_name.as_deref()));
    c.names(
        "workload_kind",
        rows.iter().map(|r| Some(&*r.workload_kind)),
    );
    c.names("workload", rows.iter().map(|r| Some(&*r.workload)));
    c.names("node", rows.iter().map(|r| r.node.as_deref()));
    c.names("zone", rows.iter().map(|r| r.zone.as_deref()));
    c.names("region", rows.iter().map(|r| r.region.as_deref()));
    c.names("provider", rows.iter().map(|r| r.provider.as_deref()));
    c.names(
        "instance_type",
        rows.iter().map(|r| r.instance_type.as_deref()),
    );
    c.optional_figures(
        "cpu_usage_cores",
        rows.iter().map(|r| r.cpu_usage_cores.map(|v| v.0)),
    );
    c.optional_figures(
        "cpu_request_cores",
        rows.iter().map(|r| r.cpu_request_cores.map(|v| v.0)),
    );
    c.optional_figures(
        "memory_usage_bytes",
        rows.iter().map(|r| r.memory_usage_bytes.map(|v| v.0)),
    );
    c.optional_figures(
        "memory_request_bytes",
        rows.iter().map(|r| r.memory_request_bytes.map(|v| v.0)),
    );
    let restarts = rows.iter().map(|r| r.restarts.map(|n| n as f64));
    c.optional_figures("restarts", restarts);
    let energy: Vec<Ranged> = rows.iter().map(|r| r.energy_joules).collect();
    let co2e: Vec<Ranged> = rows.iter().map(|r| r.co2e_grams).collect();
    let embodied: Vec<Ranged> = rows.iter().map(|r| r.embodied_co2e_grams).collect();
    let total: Vec<Ranged> = rows.iter().map(PodRecord::total_co2e_grams).collect();
    let pue: Vec<Ranged> = rows.iter().map(|r| r.pue).collect();
    let intensity: Vec<Ranged> = rows.iter().map(|r| r.grid_intensity).collect();
    c.ranged("energy_joules", &energy);
    c.ranged("co2e_grams", &co2e);
    c.ranged("embodied_co2e_grams", &embodied);
    c.ranged("total_co2e_grams", &total);
    c.optional_figures("cost", rows.iter().map(|r| r.cost.map(|m| m.0)));
    c.ranged("pue", &pue);
    c.ranged("grid_intensity", &intensity);
    c.flags("estimated", rows.iter().map(|r| r.estimated));
    let reasons: Vec<Option<String>> = rows
        .iter()
        .map(|r| (!r.estimation_reasons.is_empty()).then(|| r.estimation_reasons.join("; ")))
        .collect();
    c.text("estimation_reasons", reasons.iter().map(Option::as_deref));
    c.names(
        "methodology",
        rows.iter().map(|r| Some(r.methodology.name.name())),
    );
    c.names(
        "methodology_version",
        rows.iter().map(|r| Some(r.methodology.version.as_str())),
    );
    c.names(
        "data_version",
        rows.iter()
            .map(|r| Some(r.methodology.data_version.as_str())),
    );
    c.finish(metadata)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_schema::{DataType, TimeUnit};
    use greenkube_core::GroupKey;

    #[test]
    fn a_report_is_flat_and_typed() {
        let row = AggregateRow {
            key: GroupKey {
                namespace: Some("shop".into()),
                pod: Some("web-1".into()),
                ..GroupKey::default()
            },
            co2e_grams: Ranged {
                point: 2.0,
                low: 1.0,
                high: 3.0,
            },
            rows: 4,
            first_window: DateTime::from_timestamp(1_750_000_000, 0),
            ..AggregateRow::default()
        };
        let batch = report(GroupBy::Pod, false, &[row], HashMap::new()).unwrap();
        let schema = batch.schema();
        let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        assert_eq!(&names[..4], ["namespace", "pod", "rows", "energy_joules"]);
        assert!(names.contains(&"co2e_grams_low") && names.contains(&"total_co2e_grams_high"));
        assert!(matches!(
            schema.field_with_name("namespace").unwrap().data_type(),
            DataType::Dictionary(_, _)
        ));
        assert_eq!(
            schema.field_with_name("first_window").unwrap().data_type(),
            &DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
        );
        assert_eq!(batch.num_rows(), 1);
    }
}
