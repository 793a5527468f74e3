//! Stored rows to records, for both SQL backends: columns are read in order, and an instant is
//! read the way its backend stores it ([`Dialect::read_time`]).

use std::str::FromStr;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use greenkube_core::aggregate::GroupKey;
use greenkube_core::ports::{PodRecord, RetentionState, StoreError};
use greenkube_core::units::{Bytes, Cores, Money};
use greenkube_core::{AggregateRow, IdlePolicy, Methodology, MethodologyInfo, Period, Ranged};

use super::Dialect;
use super::error::sqlx_error;
use super::exec::Column;

/// Reads the columns of a row in order.
pub(crate) struct Columns<'r, D: Dialect> {
    row: &'r D::Row,
    next: usize,
}

impl<'r, D: Dialect> Columns<'r, D> {
    pub(crate) fn new(row: &'r D::Row) -> Self {
        Self { row, next: 0 }
    }

    fn index(&mut self) -> usize {
        self.next += 1;
        self.next - 1
    }

    /// The next column.
    pub(crate) fn get<T>(&mut self) -> Result<T, StoreError>
    where
        D: Column<T>,
    {
        let i = self.index();
        <D as Column<T>>::read(self.row, i).map_err(|e| sqlx_error::<D>("reading a stored row", e))
    }

    /// The next column, a name (NULL is none).
    pub(crate) fn name(&mut self) -> Result<Option<Arc<str>>, StoreError> {
        Ok(self.get::<Option<String>>()?.map(Arc::from))
    }

    /// The next column, an instant that may be NULL.
    pub(crate) fn opt_time(&mut self) -> Result<Option<DateTime<Utc>>, StoreError> {
        let i = self.index();
        D::read_time(self.row, i)
    }

    /// The next column, an instant.
    pub(crate) fn time(&mut self) -> Result<DateTime<Utc>, StoreError> {
        self.opt_time()?
            .ok_or_else(|| StoreError::invalid_data(D::BACKEND, "stored row: a time is missing"))
    }

    /// The next three columns: a figure, its low and its high bound.
    pub(crate) fn ranged(&mut self) -> Result<Ranged, StoreError> {
        Ok(Ranged {
            point: self.get()?,
            low: self.get()?,
            high: self.get()?,
        })
    }

    /// The next column, a count of rows.
    pub(crate) fn count(&mut self) -> Result<usize, StoreError> {
        let n: i64 = self.get()?;
        usize::try_from(n).map_err(|_| StoreError::invalid_data(D::BACKEND, "negative row count"))
    }

    /// The next four columns: methodology, its version, data version and idle policy.
    fn methodology(&mut self) -> Result<MethodologyInfo, StoreError> {
        let name: String = self.get()?;
        let version: String = self.get()?;
        let data_version: String = self.get()?;
        let idle_policy: String = self.get()?;
        let bad = |e: greenkube_core::UnknownNameError| {
            StoreError::invalid_data(D::BACKEND, format!("stored row: {e}"))
        };
        Ok(MethodologyInfo {
            name: Methodology::from_str(&name).map_err(bad)?,
            version,
            data_version,
            idle_policy: IdlePolicy::from_str(&idle_policy).map_err(bad)?,
        })
    }
}

/// A stored value that cannot be read back.
pub(crate) fn invalid<D: Dialect>(
    what: &str,
    e: impl std::error::Error + Send + Sync + 'static,
) -> StoreError {
    StoreError::invalid_data(D::BACKEND, format!("{what} cannot be read back")).with_source(e)
}

/// Decodes a row of the page statement ([`Dialect::select_pods`]): the columns of
/// [`super::schema::pod_columns`].
pub(crate) fn pod_from_row<D: Dialect>(row: &D::Row) -> Result<PodRecord, StoreError> {
    let mut c = Columns::<D>::new(row);
    let window_start = c.time()?;
    let window_end = c.time()?;
    let cluster: String = c.get()?;
    let namespace: String = c.get()?;
    let pod: String = c.get()?;
    let owner_kind = c.name()?;
    let owner_name = c.name()?;
    let workload_kind: String = c.get()?;
    let workload: String = c.get()?;
    let node = c.name()?;
    let zone = c.name()?;
    let region = c.name()?;
    let provider = c.name()?;
    let instance_type = c.name()?;
    let cpu_usage_cores = c.get::<Option<f64>>()?.map(Cores);
    let cpu_request_cores = c.get::<Option<f64>>()?.map(Cores);
    let memory_usage_bytes = c.get::<Option<f64>>()?.map(Bytes);
    let memory_request_bytes = c.get::<Option<f64>>()?.map(Bytes);
    let restarts = c
        .get::<Option<i64>>()?
        .map(|r| {
            u64::try_from(r)
                .map_err(|_| StoreError::invalid_data(D::BACKEND, "stored row: negative restarts"))
        })
        .transpose()?;
    let energy_joules = c.ranged()?;
    let co2e_grams = c.ranged()?;
    let embodied_co2e_grams = c.ranged()?;
    let cost = c.get::<Option<f64>>()?.map(Money);
    let pue = c.ranged()?;
    let grid_intensity = c.ranged()?;
    let estimated: bool = c.get()?;
    let reasons: String = c.get()?;
    let estimation_reasons: Vec<String> = serde_json::from_str(&reasons).map_err(|e| {
        StoreError::invalid_data(
            D::BACKEND,
            "stored row: estimation reasons are not a JSON list",
        )
        .with_source(e)
    })?;
    let methodology = c.methodology()?;
    Ok(PodRecord {
        cluster: (!cluster.is_empty()).then(|| Arc::from(cluster)),
        window_start,
        window_end,
        namespace: Arc::from(namespace),
        pod: Arc::from(pod),
        owner_kind,
        owner_name,
        workload_kind: Arc::from(workload_kind),
        workload: Arc::from(workload),
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
    })
}

/// Decodes a row of the aggregate statement ([`super::schema::aggregate`]).
pub(crate) fn aggregate_from_row<D: Dialect>(
    row: &D::Row,
    period: Option<Period>,
) -> Result<AggregateRow, StoreError> {
    let mut c = Columns::<D>::new(row);
    let cluster = c.name()?;
    let namespace = c.name()?;
    let workload_kind = c.name()?;
    let workload = c.name()?;
    let pod = c.name()?;
    let node = c.name()?;
    let bucket = c.opt_time()?;
    Ok(AggregateRow {
        key: GroupKey {
            period: period.zip(bucket).map(|(p, start)| p.label(start)),
            cluster,
            namespace,
            workload_kind,
            workload,
            pod,
            node,
            label: None,
        },
        energy_joules: c.ranged()?,
        co2e_grams: c.ranged()?,
        embodied_co2e_grams: c.ranged()?,
        cost: Money(c.get()?),
        rows: c.count()?,
        estimated_rows: c.count()?,
        rows_without_cost: c.count()?,
        first_window: Some(c.time()?),
        last_window: Some(c.time()?),
    })
}

/// Decodes the retention state: its raw, hourly and daily cuts.
pub(crate) fn retention_from_row<D: Dialect>(row: &D::Row) -> Result<RetentionState, StoreError> {
    let mut c = Columns::<D>::new(row);
    Ok(RetentionState {
        raw_before: c.opt_time()?,
        hourly_before: c.opt_time()?,
        daily_before: c.opt_time()?,
    })
}
