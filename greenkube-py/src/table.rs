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
use arrow_array::{
    ArrayRef, BooleanArray, DictionaryArray, Float64Array, Int32Array, RecordBatch, StringArray,
    TimestampMicrosecondArray,
};
use arrow_schema::{ArrowError, Field, Schema};
use chrono::{DateTime, Utc};
use greenkube_core::ports::{NameColumn, PodColumns, RangedColumn};
use greenkube_core::ranged::Ranged;
use greenkube_core::{AggregateRow, Grouping};
use pyo3::prelude::*;
use pyo3_arrow::PyTable;

/// Columns being built, in order.
#[derive(Default)]
pub(crate) struct Columns {
    fields: Vec<Field>,
    arrays: Vec<ArrayRef>,
}

impl Columns {
    pub(crate) fn push(&mut self, name: &str, nullable: bool, array: ArrayRef) {
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

    /// A name column as a dictionary of its distinct values.
    pub(crate) fn dictionary(&mut self, name: &str, column: &NameColumn) -> Result<(), ArrowError> {
        let keys: Int32Array = column
            .keys()
            .iter()
            .map(|k| k.map(|k| i32::try_from(k).unwrap_or(i32::MAX)))
            .collect();
        let values = StringArray::from_iter_values(column.values().iter().map(|v| &**v));
        let array = DictionaryArray::<Int32Type>::try_new(keys, Arc::new(values))?;
        self.push(name, true, Arc::new(array));
        Ok(())
    }

    /// Microseconds since 1970 as UTC timestamps.
    pub(crate) fn times(&mut self, name: &str, micros: Vec<i64>) {
        let array = TimestampMicrosecondArray::from(micros).with_timezone("UTC");
        self.push(name, false, Arc::new(array));
    }

    /// Figures that may be missing.
    pub(crate) fn nullable_figures(&mut self, name: &str, values: Vec<Option<f64>>) {
        self.push(name, true, Arc::new(Float64Array::from(values)));
    }

    /// A figure with its interval, by column: `name`, `name_low`, `name_high`.
    pub(crate) fn ranged_column(&mut self, name: &str, column: RangedColumn) {
        let RangedColumn { point, low, high } = column;
        self.push(name, false, Arc::new(Float64Array::from(point)));
        self.push(
            &format!("{name}_low"),
            false,
            Arc::new(Float64Array::from(low)),
        );
        self.push(
            &format!("{name}_high"),
            false,
            Arc::new(Float64Array::from(high)),
        );
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
/// ([`Grouping::key_columns`]), `rows`, each figure with its interval, `cost`, `estimated_rows`,
/// `rows_without_cost`, `first_window` and `last_window`. `metadata` goes on the schema.
pub(crate) fn report(
    group: &Grouping,
    periods: bool,
    rows: &[AggregateRow],
    metadata: HashMap<String, String>,
) -> Result<RecordBatch, ArrowError> {
    let mut columns = Columns::default();
    if periods {
        columns.text("period", rows.iter().map(|r| r.key.period.as_deref()));
    }
    for key in group.key_columns() {
        columns.names(&key, rows.iter().map(|r| r.key.column(&key)));
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
/// the methodology and reference data that made it. The columns move into the batch without a
/// copy where Arrow's layout is theirs (times, figures, intervals); names and reasons become
/// dictionaries of their distinct values.
pub(crate) fn pod_rows(
    rows: PodColumns,
    metadata: HashMap<String, String>,
) -> Result<RecordBatch, ArrowError> {
    let PodColumns {
        window_start_us,
        window_end_us,
        cluster,
        namespace,
        pod,
        owner_kind,
        owner_name,
        workload_kind,
        workload,
        node,
        zone,
        region,
        provider,
        instance_type,
        cpu_usage_cores,
        cpu_request_cores,
        memory_usage_bytes,
        memory_request_bytes,
        restarts,
        energy_joules,
        co2e_grams,
        embodied_co2e_grams,
        cost,
        pue,
        grid_intensity,
        estimated,
        estimation_reasons,
        methodology,
        methodology_version,
        data_version,
        idle_policy: _,
    } = rows;
    let total = RangedColumn {
        point: sum(&co2e_grams.point, &embodied_co2e_grams.point),
        low: sum(&co2e_grams.low, &embodied_co2e_grams.low),
        high: sum(&co2e_grams.high, &embodied_co2e_grams.high),
    };
    let mut c = Columns::default();
    c.dictionary("cluster", &cluster)?;
    c.times("window_start", window_start_us);
    c.times("window_end", window_end_us);
    for (name, column) in [
        ("namespace", &namespace),
        ("pod", &pod),
        ("owner_kind", &owner_kind),
        ("owner_name", &owner_name),
        ("workload_kind", &workload_kind),
        ("workload", &workload),
        ("node", &node),
        ("zone", &zone),
        ("region", &region),
        ("provider", &provider),
        ("instance_type", &instance_type),
    ] {
        c.dictionary(name, column)?;
    }
    c.nullable_figures("cpu_usage_cores", cpu_usage_cores);
    c.nullable_figures("cpu_request_cores", cpu_request_cores);
    c.nullable_figures("memory_usage_bytes", memory_usage_bytes);
    c.nullable_figures("memory_request_bytes", memory_request_bytes);
    #[allow(
        clippy::cast_precision_loss,
        reason = "restart counts are far below 2^53"
    )]
    let restarts = restarts.into_iter().map(|n| n.map(|n| n as f64)).collect();
    c.nullable_figures("restarts", restarts);
    c.ranged_column("energy_joules", energy_joules);
    c.ranged_column("co2e_grams", co2e_grams);
    c.ranged_column("embodied_co2e_grams", embodied_co2e_grams);
    c.ranged_column("total_co2e_grams", total);
    c.nullable_figures("cost", cost);
    c.ranged_column("pue", pue);
    c.ranged_column("grid_intensity", grid_intensity);
    c.push("estimated", false, Arc::new(BooleanArray::from(estimated)));
    c.dictionary("estimation_reasons", &estimation_reasons)?;
    c.dictionary("methodology", &methodology)?;
    c.dictionary("methodology_version", &methodology_version)?;
    c.dictionary("data_version", &data_version)?;
    c.finish(metadata)
}

fn sum(a: &[f64], b: &[f64]) -> Vec<f64> {
    a.iter().zip(b).map(|(a, b)| a + b).collect()
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
        let batch = report(
            &greenkube_core::GroupBy::Pod.into(),
            false,
            &[row],
            HashMap::new(),
        )
        .unwrap();
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
