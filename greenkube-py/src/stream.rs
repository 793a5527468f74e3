//! Stored pod rows streamed as Arrow record batches: one page of the store at a time, so a
//! history of any length is read with the memory of two batches. The batches cross to Python
//! through the Arrow C stream interface (`pyo3-arrow`), pulled by the reader (pyarrow, polars).
//!
//! The next page is read on the store's runtime while the reader takes in the current batch
//! (pyarrow or polars copying it, pandas converting it), one page ahead.

use std::collections::HashMap;
use std::sync::Arc;

use arrow_array::{BooleanArray, RecordBatch, RecordBatchReader};
use arrow_schema::{ArrowError, SchemaRef};
use arrow_select::filter::filter_record_batch;
use greenkube_core::ports::{
    FootprintRepository, MAX_PAGE_SIZE, NameColumn, PodColumnPage, PodColumns, PodCursor,
    StoreError, TimeRange,
};

use crate::table;

/// A page being read on the store's runtime.
type PageRead = tokio::task::JoinHandle<Result<PodColumnPage, StoreError>>;

/// Pages of pod rows as record batches, in key order (window, cluster, namespace, pod).
pub(crate) struct PodRowBatches {
    repository: Arc<dyn FootprintRepository>,
    runtime: Arc<tokio::runtime::Runtime>,
    range: TimeRange,
    page_size: usize,
    /// The read of the next page, started when the page before it came in.
    ahead: Option<PageRead>,
    done: bool,
    namespace: Option<String>,
    cluster: Option<String>,
    metadata: HashMap<String, String>,
    schema: SchemaRef,
}

impl PodRowBatches {
    /// Batches of at most `page_size` rows of `range`, keeping the rows of `namespace` and
    /// `cluster` when given.
    pub(crate) fn new(
        repository: Arc<dyn FootprintRepository>,
        runtime: Arc<tokio::runtime::Runtime>,
        range: TimeRange,
        page_size: usize,
        (namespace, cluster): (Option<String>, Option<String>),
        metadata: HashMap<String, String>,
    ) -> Result<Self, ArrowError> {
        let schema = table::pod_rows(PodColumns::new(), metadata.clone())?.schema();
        Ok(Self {
            repository,
            runtime,
            range,
            page_size: page_size.clamp(1, MAX_PAGE_SIZE),
            ahead: None,
            done: false,
            namespace,
            cluster,
            metadata,
            schema,
        })
    }

    /// Starts reading the page after `cursor` on the runtime.
    fn read(&self, cursor: Option<PodCursor>) -> PageRead {
        let repository = Arc::clone(&self.repository);
        let (range, size) = (self.range, self.page_size);
        self.runtime.spawn(async move {
            repository
                .read_pod_columns(range, cursor.as_ref(), size)
                .await
        })
    }

    fn next_batch(&mut self) -> Result<Option<RecordBatch>, ArrowError> {
        while !self.done {
            // Nothing read ahead: this is the first page.
            let reading = match self.ahead.take() {
                Some(reading) => reading,
                None => self.read(None),
            };
            let page = self
                .runtime
                .block_on(reading)
                .map_err(|e| ArrowError::ExternalError(Box::new(e)))?
                .map_err(|e| ArrowError::ExternalError(Box::new(e)))?;
            self.done = page.next.is_none() || page.columns.is_empty();
            if !self.done {
                self.ahead = Some(self.read(page.next.clone()));
            }
            let keep = keep_mask(
                &page.columns,
                self.namespace.as_deref(),
                self.cluster.as_deref(),
            );
            let batch = table::pod_rows(page.columns, self.metadata.clone())?;
            let batch = match keep {
                Some(mask) => filter_record_batch(&batch, &mask)?,
                None => batch,
            };
            if batch.num_rows() > 0 {
                return Ok(Some(batch));
            }
        }
        Ok(None)
    }
}

/// Which rows are in `namespace` and `cluster` (each when given), or `None` to keep them all.
fn keep_mask(
    columns: &PodColumns,
    namespace: Option<&str>,
    cluster: Option<&str>,
) -> Option<BooleanArray> {
    if namespace.is_none() && cluster.is_none() {
        return None;
    }
    // Per filter, the key of its value, or `Some(None)` when the page lacks it (no row holds it).
    let wanted = |column: &NameColumn, value: Option<&str>| {
        value.map(|v| {
            column
                .values()
                .iter()
                .position(|x| &**x == v)
                .and_then(|k| u32::try_from(k).ok())
        })
    };
    let namespace = wanted(&columns.namespace, namespace);
    let cluster = wanted(&columns.cluster, cluster);
    let holds = |keys: &[Option<u32>], want: Option<Option<u32>>, row: usize| match want {
        None => true,
        Some(None) => false,
        Some(Some(k)) => keys[row] == Some(k),
    };
    Some(
        (0..columns.len())
            .map(|row| {
                holds(columns.namespace.keys(), namespace, row)
                    && holds(columns.cluster.keys(), cluster, row)
            })
            .collect(),
    )
}

/// A stream dropped before its end does not leave its next page being read.
impl Drop for PodRowBatches {
    fn drop(&mut self) {
        if let Some(reading) = self.ahead.take() {
            reading.abort();
        }
    }
}

impl Iterator for PodRowBatches {
    type Item = Result<RecordBatch, ArrowError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_batch().transpose()
    }
}

impl RecordBatchReader for PodRowBatches {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }
}
