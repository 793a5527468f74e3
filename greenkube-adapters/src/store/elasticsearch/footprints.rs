//! The footprint repository of an Elasticsearch store: all-or-nothing batches behind the
//! ledger, reads that see one state of it, and reports over raw rows and roll-ups (see the
//! store's module documentation).

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use elasticsearch::BulkOperations;
use greenkube_core::ports::{
    FootprintRepository, MaintenanceSummary, PodCursor, PodPage, ReportQuery, RetentionPolicy,
    RetentionState, StoreError, TimeRange, WindowRecords, WriteSummary, page_size,
};
use greenkube_core::{AggregateRow, Footprint, PodLabels};
use serde_json::{Value, json};

use super::BACKEND;
use super::documents::push_document;
use super::error::{self, unexpected};
use super::fields::{NODE_ROW, POD_ROW, includes_nodes, micros, window_id};
use super::ledger::{BatchState, Ledger, MAX_LEDGER_READS, Versioned, View, now_ms};
use super::model::{self, NodeDocument, PodDocument, node_id, pod_id};
use super::query::{self, TERMS_PER_CLAUSE, Visibility};
use super::rollup;
use super::store::ElasticsearchStore;

impl ElasticsearchStore {
    /// Documents physically in the footprint index, `(pod, node)`, whatever their batch: at
    /// rest, exactly the stored rows. For tests and tools.
    pub async fn count_documents(&self) -> Result<(u64, u64), StoreError> {
        let mut out = [0; 2];
        for (slot, row) in out.iter_mut().zip([POD_ROW, NODE_ROW]) {
            *slot = self
                .count(&json!({"term": {"row": row}}), "counting documents")
                .await?;
        }
        Ok((out[0], out[1]))
    }

    /// Steps 4 and 5: writes the rows of `batch`, counts what they replace, and commits.
    /// Returns the stored pod rows replaced.
    async fn write_and_commit(
        &self,
        current: &mut Versioned,
        batch: u64,
        windows: &[(String, &WindowRecords)],
        window_ids: &[String],
    ) -> Result<usize, StoreError> {
        // Under the lock nothing else is in flight but aborted batches in quarantine.
        let visibility = current.ledger.visibility_under_lock();
        let mut replaced = 0;
        for chunk in window_ids.chunks(TERMS_PER_CLAUSE) {
            let query = json!({"bool": {
                "filter": [query::superseded_by(batch, chunk, true)],
                "must_not": visibility.must_not()
            }});
            replaced += self.count(&query, "counting replaced rows").await?;
        }
        let mut body = BulkOperations::new();
        let mut documents = 0;
        let index = &self.indices.footprints;
        for (_, w) in windows {
            for p in &w.pods {
                push_document(
                    &mut body,
                    index,
                    &pod_id(p, batch),
                    &PodDocument::new(p, batch),
                )?;
                documents += 1;
                if documents == self.config.bulk_documents {
                    self.send_bulk(current, std::mem::take(&mut body)).await?;
                    documents = 0;
                }
            }
            for n in &w.nodes {
                push_document(
                    &mut body,
                    index,
                    &node_id(n, batch),
                    &NodeDocument::new(n, batch),
                )?;
                documents += 1;
                if documents == self.config.bulk_documents {
                    self.send_bulk(current, std::mem::take(&mut body)).await?;
                    documents = 0;
                }
            }
        }
        if documents > 0 {
            self.send_bulk(current, body).await?;
        }
        self.refresh_index(&self.indices.footprints).await?;
        self.write_pod_labels(current, windows).await?;
        let mut next = current.ledger.clone();
        next.committed_through = batch;
        next.set(batch, BatchState::Committed, now_ms());
        // The same compare-and-swap that makes the batch visible makes its hours and days
        // stale: no roll-up is read for them until they are rolled up again.
        let rollups = next.rollups_mut()?;
        for (_, w) in windows {
            rollups.mark_written(micros(w.window_start));
        }
        self.meta
            .replace(current, next, "committing a batch")
            .await?;
        Ok(usize::try_from(replaced).unwrap_or(usize::MAX))
    }

    pub(super) async fn send_bulk(
        &self,
        current: &mut Versioned,
        body: BulkOperations,
    ) -> Result<(), StoreError> {
        self.keep_lock(current).await?;
        let doing = "writing footprint rows";
        let reply = self.client.bulk(body, false, doing).await?;
        if reply.get("errors") != Some(&Value::Bool(true)) {
            return Ok(());
        }
        let first = reply
            .get("items")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|item| item.get("index"))
            .find(|i| i.get("error").is_some());
        let (status, error) = first.map_or((0, Value::Null), |i| {
            (
                i.get("status").and_then(Value::as_u64).unwrap_or(0),
                i.get("error").cloned().unwrap_or(Value::Null),
            )
        });
        let e = error::ResponseError::parse(
            u16::try_from(status).unwrap_or(500),
            json!({ "error": error }).to_string().as_bytes(),
        );
        Err(error::convert_response_err(doing, e))
    }

    /// The pod rows of one page, as the ledger allows.
    async fn page_once(
        &self,
        range: TimeRange,
        after: Option<&PodCursor>,
        limit: usize,
        visibility: &Visibility,
    ) -> Result<PodPage, StoreError> {
        let doing = "reading pod rows";
        let body = self
            .client
            .search(
                &[&self.indices.footprints],
                &query::page_body(range, after, limit + 1, visibility),
                doing,
            )
            .await?;
        let hits = body
            .pointer("/hits/hits")
            .and_then(Value::as_array)
            .ok_or_else(|| unexpected(doing, "no `hits`"))?;
        let mut rows = Vec::with_capacity(hits.len().min(limit + 1));
        for hit in hits {
            let source = hit
                .get("_source")
                .cloned()
                .ok_or_else(|| unexpected(doing, "a hit has no `_source`"))?;
            let document: PodDocument = serde_json::from_value(source).map_err(|e| {
                StoreError::invalid_data(BACKEND, format!("{doing}: a stored row is damaged: {e}"))
            })?;
            rows.push(document.into_record()?);
        }
        let next = if rows.len() > limit {
            rows.truncate(limit);
            rows.last().map(PodCursor::after)
        } else {
            None
        };
        Ok(PodPage { rows, next })
    }

    /// Every group of a report, as the ledger allows, page by page.
    ///
    /// The ledger's roll-up state plans the read ([`ReadPlan`]): raw rows for its raw ranges,
    /// roll-ups for its hourly and daily ranges, summed by one composite aggregation over the
    /// footprint and roll-up indices.
    ///
    /// [`ReadPlan`]: greenkube_core::ports::ReadPlan
    async fn aggregate_once(
        &self,
        query: &ReportQuery,
        view: &View,
    ) -> Result<Vec<AggregateRow>, StoreError> {
        let doing = "aggregating footprints";
        let plan = view.ledger.rollups()?.plan(query.range, query.period)?;
        let Some(filter) = rollup::plan_filter(
            &plan,
            includes_nodes(query.group_by),
            &view.visibility,
            &self.indices.footprints,
            &self.indices.rollups,
        ) else {
            return Ok(Vec::new());
        };
        let filter = query::in_cluster(filter, query.cluster.as_deref());
        let indices = format!("{},{}", self.indices.footprints, self.indices.rollups);
        let mut out = Vec::new();
        let mut after: Option<Value> = None;
        loop {
            let body = query::aggregate_body(&filter, query.group_by, query.period, after.as_ref());
            let (buckets, next) = self.composite_page(&indices, &body, doing).await?;
            for bucket in &buckets {
                out.push(model::aggregate_from_bucket(
                    bucket,
                    query.group_by,
                    query.period,
                )?);
            }
            match next {
                Some(key) => after = Some(key),
                None => break,
            }
        }
        out.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(out)
    }

    /// True when no batch was committed, and nothing rolled up or sealed, since `ledger` was
    /// read.
    async fn unchanged_since(&self, ledger: &Ledger) -> Result<bool, StoreError> {
        Ok(self.meta.read().await?.ledger.read_token() == ledger.read_token())
    }
}

fn changing() -> StoreError {
    StoreError::unavailable(
        BACKEND,
        format!(
            "batches were committed during each of {MAX_LEDGER_READS} reads, so none saw one \
             state of the store; retry"
        ),
    )
}

#[async_trait]
impl FootprintRepository for ElasticsearchStore {
    fn backend(&self) -> &'static str {
        BACKEND
    }

    async fn write_footprints(&self, batch: &[Footprint]) -> Result<WriteSummary, StoreError> {
        let mut summary = WriteSummary::default();
        let mut records = Vec::with_capacity(batch.len());
        // Pod rows of the last footprint of each window seen so far in the batch.
        let mut in_batch: HashMap<String, usize> = HashMap::new();
        let mut replaced_in_batch = 0;
        for fp in batch {
            let w = WindowRecords::from_footprint(fp);
            w.validate()
                .map_err(|e| StoreError::invalid_data(BACKEND, e.to_string()))?;
            summary.windows += 1;
            summary.pod_rows += w.pods.len();
            summary.node_rows += w.nodes.len();
            let id = window_id(w.cluster.as_deref(), w.window_start);
            if let Some(previous) = in_batch.insert(id.clone(), w.pods.len()) {
                replaced_in_batch += previous;
            }
            records.push((id, w));
        }
        if records.is_empty() {
            return Ok(summary);
        }
        // The last footprint of each window wins.
        let mut seen = HashSet::with_capacity(records.len());
        let mut windows: Vec<(String, &WindowRecords)> = records
            .iter()
            .rev()
            .filter(|(id, _)| seen.insert(id.as_str()))
            .map(|(id, w)| (id.clone(), w))
            .collect();
        windows.reverse();
        let window_ids: Vec<String> = windows.iter().map(|(id, _)| id.clone()).collect();

        let _one_writer = self.writer.lock().await;
        let mut current = self.acquire().await?;
        // Under the lock: the cuts cannot advance before this batch commits or aborts.
        let writable = current
            .ledger
            .rollups()
            .and_then(rollup::RollupState::retention)
            .and_then(|cuts| {
                windows
                    .iter()
                    .try_for_each(|(_, w)| cuts.check_writable(BACKEND, w))
            });
        if let Err(e) = writable {
            self.release(&mut current).await;
            return Err(e);
        }
        let batch_number = current.ledger.next_batch;
        let registered = async {
            self.meta.put_windows(batch_number, &window_ids).await?;
            let mut next = current.ledger.clone();
            next.next_batch = batch_number + 1;
            next.set(batch_number, BatchState::Pending, now_ms());
            self.meta
                .replace(&mut current, next, "registering a batch")
                .await
        }
        .await;
        if let Err(e) = registered {
            self.release(&mut current).await;
            return Err(e);
        }
        let replaced = match self
            .write_and_commit(&mut current, batch_number, &windows, &window_ids)
            .await
        {
            Ok(replaced) => replaced,
            Err(e) => {
                self.abort(&mut current, batch_number).await;
                return Err(e);
            }
        };
        // Committed: what is left is clean-up, which the next writer redoes if it fails here.
        if self
            .delete_superseded(batch_number, &window_ids)
            .await
            .is_ok()
        {
            let mut next = current.ledger.clone();
            next.remove(batch_number);
            next.lock = None;
            if self
                .meta
                .replace(&mut current, next, "finishing a batch")
                .await
                .is_ok()
            {
                self.meta.delete_windows(batch_number).await;
            }
        } else {
            self.release(&mut current).await;
        }
        summary.replaced_pod_rows = replaced + replaced_in_batch;
        Ok(summary)
    }

    async fn aggregate(&self, query: &ReportQuery) -> Result<Vec<AggregateRow>, StoreError> {
        for _ in 0..MAX_LEDGER_READS {
            let view = self.meta.view().await?;
            let rows = self.aggregate_once(query, &view).await?;
            if self.unchanged_since(&view.ledger).await? {
                return Ok(rows);
            }
        }
        Err(changing())
    }

    async fn read_pod_rows(
        &self,
        range: TimeRange,
        after: Option<&PodCursor>,
        limit: usize,
    ) -> Result<PodPage, StoreError> {
        let limit = page_size(BACKEND, limit)?;
        for _ in 0..MAX_LEDGER_READS {
            let view = self.meta.view().await?;
            // Sealed raw rows are no longer pages' to show (they may not be deleted yet).
            let cut = view.ledger.rollups()?.retention()?.raw_before;
            let from = cut.map_or(range.from(), |cut| cut.max(range.from()));
            let page = match TimeRange::new(from, range.to()) {
                Ok(unsealed) if !unsealed.is_empty() => {
                    self.page_once(unsealed, after, limit, &view.visibility)
                        .await?
                }
                _ => PodPage::default(),
            };
            if self.unchanged_since(&view.ledger).await? {
                return Ok(page);
            }
        }
        Err(changing())
    }

    async fn maintain(
        &self,
        policy: &RetentionPolicy,
        now: DateTime<Utc>,
    ) -> Result<MaintenanceSummary, StoreError> {
        self.run_maintenance(policy, now).await
    }

    async fn retention_state(&self) -> Result<RetentionState, StoreError> {
        self.meta.read().await?.ledger.rollups()?.retention()
    }

    async fn pod_labels(
        &self,
        range: TimeRange,
        cluster: Option<&str>,
    ) -> Result<Vec<PodLabels>, StoreError> {
        self.read_pod_labels(range, cluster).await
    }
}

/// The ledger as stored, for tests and tools: `(committed_through, next_batch, lock holder,
/// batches in flight as (batch, state))`.
pub async fn ledger_summary(
    store: &ElasticsearchStore,
) -> Result<(u64, u64, Option<String>, Vec<(u64, String)>), StoreError> {
    let Ledger {
        committed_through,
        next_batch,
        lock,
        batches,
        ..
    } = store.meta.read().await?.ledger;
    let batches = batches
        .into_iter()
        .map(|b| {
            let state = match b.state {
                BatchState::Pending => "pending",
                BatchState::Committed => "committed",
                BatchState::Aborted => "aborted",
            };
            (b.batch, state.to_string())
        })
        .collect();
    Ok((
        committed_through,
        next_batch,
        lock.map(|l| l.owner),
        batches,
    ))
}
