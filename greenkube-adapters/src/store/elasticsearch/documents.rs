//! Requests on documents, shared by the footprint and history sides of the store: reads by id,
//! conditional writes, `_bulk` bodies and requests, searches and composite aggregations page by
//! page, counts, deletes by query and refreshes.

use elasticsearch::params::VersionType;
use elasticsearch::{BulkOperation, BulkOperations};
use greenkube_core::ports::StoreError;
use serde::Serialize;
use serde_json::{Value, json};

use super::BACKEND;
use super::client::{Write, signed};
use super::error::{ResponseError, convert_response_err, unexpected};
use super::query::COMPOSITE_PAGE;
use super::store::ElasticsearchStore;

/// Hits per search page.
const PAGE: usize = 1000;

/// A document read by id: its source and the sequence number and primary term it was read at.
#[derive(Debug)]
pub(super) struct Doc {
    pub(super) source: Value,
    pub(super) seq_no: u64,
    pub(super) primary_term: u64,
}

/// One document of a `_bulk` request.
#[derive(Debug)]
pub(super) struct BulkDoc {
    pub(super) id: String,
    /// With a version, the document is written with `version_type=external`, and a conflict
    /// (the stored version is the same or newer) is not an error.
    pub(super) external_version: Option<u64>,
    pub(super) source: Value,
}

/// `value` as a JSON document (`what` it is, for the error).
pub(super) fn encode<T: Serialize>(value: &T, what: &str) -> Result<Value, StoreError> {
    serde_json::to_value(value).map_err(|e| {
        StoreError::invalid_data(BACKEND, format!("{what} cannot be encoded")).with_source(e)
    })
}

fn number(body: &Value, field: &str, doing: &str) -> Result<u64, StoreError> {
    body.get(field)
        .and_then(Value::as_u64)
        .ok_or_else(|| unexpected(doing, format!("no `{field}`")))
}

/// Appends one `index` operation with its document to a `_bulk` request.
pub(super) fn push_document(
    operations: &mut BulkOperations,
    index: &str,
    id: &str,
    document: &impl Serialize,
) -> Result<(), StoreError> {
    operations
        .push(BulkOperation::index(document).index(index).id(id))
        .map_err(|e| StoreError::other(BACKEND, "cannot encode a footprint row").with_source(e))
}

impl ElasticsearchStore {
    /// A document by id (a realtime `GET`); `None` when there is none.
    pub(super) async fn get(
        &self,
        index: &str,
        id: &str,
        doing: &str,
    ) -> Result<Option<Doc>, StoreError> {
        let reply = self.client.get(index, id, doing).await?;
        if reply.body.get("found") == Some(&Value::Bool(false)) {
            return Ok(None);
        }
        let body = reply.into_ok(doing)?;
        let source = body
            .get("_source")
            .cloned()
            .ok_or_else(|| unexpected(doing, "no `_source`"))?;
        Ok(Some(Doc {
            source,
            seq_no: number(&body, "_seq_no", doing)?,
            primary_term: number(&body, "_primary_term", doing)?,
        }))
    }

    /// Writes a document `how` it says. Returns the new `(seq_no, primary_term)`, or `None`
    /// when the condition failed (HTTP 409).
    pub(super) async fn put(
        &self,
        index: &str,
        id: &str,
        how: Write,
        source: &Value,
        doing: &str,
    ) -> Result<Option<(u64, u64)>, StoreError> {
        let reply = self.client.write(index, id, how, source, doing).await?;
        if reply.status == 409 {
            return Ok(None);
        }
        let body = reply.into_ok(doing)?;
        Ok(Some((
            number(&body, "_seq_no", doing)?,
            number(&body, "_primary_term", doing)?,
        )))
    }

    /// Indexes documents with `_bulk` (`refresh=wait_for`), `bulk_documents` at a time. The
    /// first failed item is the error, except version conflicts of externally versioned
    /// documents (a same or newer version is already stored).
    pub(super) async fn bulk(
        &self,
        index: &str,
        docs: &[BulkDoc],
        doing: &str,
    ) -> Result<(), StoreError> {
        let encode_err = |e: elasticsearch::Error| {
            StoreError::other(BACKEND, format!("{doing}: cannot encode a document")).with_source(e)
        };
        for chunk in docs.chunks(self.config.bulk_documents.max(1)) {
            let mut operations = BulkOperations::new();
            for doc in chunk {
                let operation = BulkOperation::index(&doc.source).index(index).id(&doc.id);
                let operation = match doc.external_version {
                    Some(v) => operation
                        .version(signed(v))
                        .version_type(VersionType::External),
                    None => operation,
                };
                operations.push(operation).map_err(encode_err)?;
            }
            let reply = self.client.bulk(operations, true, doing).await?;
            if reply.get("errors") != Some(&Value::Bool(true)) {
                continue;
            }
            let items = reply
                .get("items")
                .and_then(Value::as_array)
                .ok_or_else(|| unexpected(doing, "`errors` but no `items`"))?;
            for (item, doc) in items.iter().zip(chunk) {
                let Some(result) = item.get("index") else {
                    return Err(unexpected(doing, "an item is not an `index` result"));
                };
                let Some(error) = result.get("error") else {
                    continue;
                };
                let status = result
                    .get("status")
                    .and_then(Value::as_u64)
                    .and_then(|s| u16::try_from(s).ok())
                    .unwrap_or(500);
                if status == 409 && doc.external_version.is_some() {
                    continue;
                }
                let e =
                    ResponseError::parse(status, json!({ "error": error }).to_string().as_bytes());
                return Err(convert_response_err(doing, e));
            }
        }
        Ok(())
    }

    /// The `_source` of every hit of a query, in `sort` order (which must be total: the
    /// pages follow one another with `search_after`).
    pub(super) async fn search_all(
        &self,
        index: &str,
        query: &Value,
        sort: &Value,
        source: &Value,
        doing: &str,
    ) -> Result<Vec<Value>, StoreError> {
        let mut out = Vec::new();
        let mut after: Option<Value> = None;
        loop {
            let mut request =
                json!({"size": PAGE, "query": query, "sort": sort, "_source": source});
            if let (Some(a), Some(object)) = (&after, request.as_object_mut()) {
                object.insert("search_after".to_string(), a.clone());
            }
            let reply = self.client.search(&[index], &request, doing).await?;
            let hits = reply
                .pointer("/hits/hits")
                .and_then(Value::as_array)
                .ok_or_else(|| unexpected(doing, "no `hits`"))?;
            for hit in hits {
                out.push(
                    hit.get("_source")
                        .cloned()
                        .ok_or_else(|| unexpected(doing, "a hit has no `_source`"))?,
                );
            }
            if hits.len() < PAGE {
                return Ok(out);
            }
            after = Some(
                hits.last()
                    .and_then(|h| h.get("sort"))
                    .cloned()
                    .ok_or_else(|| unexpected(doing, "a hit has no `sort` values"))?,
            );
        }
    }

    /// How many footprint documents `query` matches.
    pub(super) async fn count(&self, query: &Value, doing: &str) -> Result<u64, StoreError> {
        let body = self
            .client
            .count(&self.indices.footprints, query, doing)
            .await?;
        body.get("count")
            .and_then(Value::as_u64)
            .ok_or_else(|| unexpected(doing, "no `count`"))
    }

    /// Deletes the documents of `index` that `query` matches (and refreshes it); returns how
    /// many were deleted.
    pub(super) async fn delete_in(
        &self,
        index: &str,
        query: &Value,
        doing: &str,
    ) -> Result<u64, StoreError> {
        let body = self.client.delete_by_query(index, query, doing).await?;
        let failures = body
            .get("failures")
            .and_then(Value::as_array)
            .map_or(0, Vec::len);
        if failures > 0 || body.get("timed_out") == Some(&Value::Bool(true)) {
            return Err(StoreError::unavailable(
                BACKEND,
                format!("{doing}: the delete-by-query did not finish: {body}"),
            ));
        }
        Ok(body.get("deleted").and_then(Value::as_u64).unwrap_or(0))
    }

    /// Deletes the footprint documents that `query` matches.
    pub(super) async fn delete_by_query(
        &self,
        query: &Value,
        doing: &str,
    ) -> Result<(), StoreError> {
        self.delete_in(&self.indices.footprints, query, doing)
            .await
            .map(|_| ())
    }

    /// Makes what was written to `index` searchable.
    pub(super) async fn refresh_index(&self, index: &str) -> Result<(), StoreError> {
        let doing = "refreshing an index";
        self.client.refresh(index, doing).await
    }

    /// One page of a composite aggregation named `groups` over `index` (or indices, separated
    /// by commas): its buckets, and the `after_key` of the next page when there may be one.
    pub(super) async fn composite_page(
        &self,
        index: &str,
        request: &Value,
        doing: &str,
    ) -> Result<(Vec<Value>, Option<Value>), StoreError> {
        let indices: Vec<&str> = index.split(',').collect();
        let mut reply = self.client.search(&indices, request, doing).await?;
        let groups = reply
            .pointer_mut("/aggregations/groups")
            .ok_or_else(|| unexpected(doing, "no `aggregations.groups`"))?;
        let Some(Value::Array(buckets)) = groups.get_mut("buckets").map(Value::take) else {
            return Err(unexpected(doing, "no `buckets`"));
        };
        // A short page is the last one.
        let next = match groups.get("after_key") {
            Some(key) if buckets.len() >= COMPOSITE_PAGE && !key.is_null() => Some(key.clone()),
            _ => None,
        };
        Ok((buckets, next))
    }
}
