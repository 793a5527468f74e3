//! Stored pod rows streamed as Arrow record batches: one page of the store at a time, so a
//! history of any length is read with the memory of one batch. The batches cross to Python
//! through the Arrow C stream interface (`pyo3-arrow`), pulled by the reader (pyarrow, polars).

use std::collections::HashMap;
use std::sync::Arc;

use arrow_array::{RecordBatch, RecordBatchReader};
use arrow_schema::{ArrowError, SchemaRef};
use greenkube_core::ports::{FootprintRepository, MAX_PAGE_SIZE, PodCursor, TimeRange};

use crate::table;

/// Pages of pod rows as record batches, in key order (window, cluster, namespace, pod).
pub(crate) struct PodRowBatches {
    repository: Arc<dyn FootprintRepository>,
    runtime: Arc<tokio::runtime::Runtime>,
    range: TimeRange,
    page_size: usize,
    cursor: Option<PodCursor>,
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
        let schema = table::pod_rows(&[], metadata.clone())?.schema();
        Ok(Self {
            repository,
            runtime,
            range,
            page_size: page_size.clamp(1, MAX_PAGE_SIZE),
            cursor: None,
            done: false,
            namespace,
            cluster,
            metadata,
            schema,
        })
    }

    fn next_batch(&mut self) -> Result<Option<RecordBatch>, ArrowError> {
        while !self.done {
            let repository = Arc::clone(&self.repository);
            let (range, cursor, size) = (self.range, self.cursor.clone(), self.page_size);
            let page = self
                .runtime
                .block_on(
                    async move { repository.read_pod_rows(range, cursor.as_ref(), size).await },
                )
                .map_err(|e| ArrowError::ExternalError(Box::new(e)))?;
            self.done = page.next.is_none() || page.rows.is_empty();
            self.cursor = page.next;
            let mut rows = page.rows;
            if let Some(namespace) = &self.namespace {
                rows.retain(|r| &*r.namespace == namespace.as_str());
            }
            if let Some(cluster) = &self.cluster {
                rows.retain(|r| r.cluster.as_deref() == Some(cluster.as_str()));
            }
            if !rows.is_empty() {
                return table::pod_rows(&rows, self.metadata.clone()).map(Some);
            }
        }
        Ok(None)
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
