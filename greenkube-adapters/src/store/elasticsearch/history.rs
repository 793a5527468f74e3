//! The history repositories in Elasticsearch: the snapshot archive, node history, grid
//! intensities, recommendations with their lifecycle, the savings ledger and the embodied
//! cache, implemented by [`super::ElasticsearchStore`] next to the footprints. They pass the
//! same contract suite as the SQL ones (`history_contract_suite!`), against the `osmem-server`
//! emulator.
//!
//! # Indices ("migrations")
//!
//! One index per repository, each with a strict mapping (`mappings/*.json`) whose `_meta`
//! carries [`HISTORY_SCHEMA_VERSION`](super::HISTORY_SCHEMA_VERSION), and an index template of
//! the same name:
//!
//! | index | documents | `_id` |
//! |---|---|---|
//! | `PREFIX-snapshots` | one per (cluster, window start): `cluster` keyword, `window_start_us` long, `window_start` date, `body` **binary** (the snapshot's JSON, gzip-compressed, base64; not indexed) | `s-` + digest of the key |
//! | `PREFIX-nodes` | one per node version (`kind: version`) and one state document per cluster (`kind: cluster`) | `v-`/`c-` + digest |
//! | `PREFIX-intensities` | one per (zone, time) | `i-` + digest |
//! | `PREFIX-recommendations` | one document, `records` | `records` |
//! | `PREFIX-savings` | one per (recommendation id, period start) | `l-` + digest |
//! | `PREFIX-embodied` | one per (provider, instance type), lower-cased in the key | `e-` + digest |
//!
//! Times are stored exactly as whole microseconds (`*_us`, `long`, used by every query) and
//! beside them as `date`s (milliseconds) for dashboards; an absent cluster is `""`, as in
//! SQLite. Digests are the first 128 bits of a SHA-256 of the length-prefixed key parts, so an
//! id never depends on what characters a name has.
//!
//! Opening the store creates the missing history indices (and their templates), after the
//! footprint indices. With `create_if_missing` off it does so only in a store that exists (its
//! footprint index is there), like an SQLite database that gets its new tables when opened;
//! otherwise it is `Unavailable`. A history index with a newer schema version, or one without
//! greenkube's `_meta`, is a `Conflict`, found before anything is changed.
//!
//! # The contract without transactions
//!
//! Elasticsearch has no multi-document transaction. Each rule holds as follows.
//!
//! * **A write for an existing key replaces it** (archive, intensities, ledger, embodied
//!   cache): the document id is a function of the key, so writing again overwrites the same
//!   document; writes are idempotent and can be retried. The ledger therefore never counts a
//!   period twice, whatever the number of retries.
//! * **Reads see writes**: lookups by key (`snapshot`, `cached_embodied`, recommendations, node
//!   state) are realtime `GET`s; writes that a later *search* must see (archive, node versions,
//!   intensities, ledger) are sent with `refresh=wait_for`.
//! * **A refused batch leaves nothing** (NaN or negative intensities; NaN or infinite savings
//!   and embodied figures, which JSON cannot even carry): every entry is checked before anything
//!   is sent. A batch that passes is one `_bulk` request per `bulk_documents` entries; if the
//!   connection is lost midway, part of it may be stored, and sending it again completes it
//!   (keyed documents, so nothing is doubled).
//! * **Node history** (type-2 slowly changing dimension; `record_nodes` closes and opens
//!   versions in one step): a state document per cluster holds the latest observation time, a
//!   `generation` number, the current version of each node (its start and a digest of its JSON)
//!   and the version documents still to be written (`pending`). It is changed only by
//!   compare-and-swap (`if_seq_no`/`if_primary_term`, `op_type=create` for the first one). A
//!   writer reads it, refuses an observation older than the latest one, computes the versions to
//!   close and to open, and swaps in the new state with those documents as `pending` and
//!   `generation + 1`: that swap is the commit point. It then writes the version documents with
//!   **external versioning** (`version_type=external`, version = generation), and clears
//!   `pending` (another swap, best effort). A writer that loses the swap reads again and starts
//!   over (bounded). Whoever next reads or writes the cluster (reader or writer) first writes
//!   any `pending` documents it finds, so a writer that died after its commit is finished by the
//!   next caller, and external versions make those writes idempotent and make a late write of an
//!   older generation lose against a newer one (HTTP 409, ignored). Reads re-read the
//!   generation after their search and search again if a commit happened meanwhile, so they see
//!   one generation, never half of a change.
//! * **Recommendations** (`replace_records` is "one transaction"): every record lives in one
//!   document (`records`, each record as JSON, ordered by id), so replacing them all is one
//!   document write, atomic. `update_record` is a read-modify-write of that document by
//!   compare-and-swap, retried when it lost a race: an update can never revert a concurrent
//!   `replace_records` or another update, and an ignored record stays ignored across scans
//!   (the scan reconciles what `records` returns, realtime). Duplicate ids are refused before
//!   anything is written.
//!
//! # Limits
//!
//! * Ledger and intensity batches are not atomic on a lost connection (above); retrying the
//!   same batch repairs them, as every write is idempotent.
//! * All recommendations share one document: fine for thousands of records (a few MB), not for
//!   millions (`http.max_content_length`, 100 MB by default, bounds it). Like SQLite, a scan
//!   that read the records before a user ignored one and replaces them after undoes that
//!   ignore: `records`, `reconcile` and `replace_records` are not one transaction in either
//!   backend.
//! * The node state document must not be deleted by hand while version documents remain: a
//!   new state restarts generations at 1 and its writes would lose against the older
//!   documents' external versions.
//! * Writers of the same cluster, and `update_record`, give up after 16 lost compare-and-swaps
//!   in a row (`Conflict`); node reads that keep meeting commits give up after 16 searches
//!   (`Unavailable`). Both mean "retry".
//! * Unlike SQLite (which keeps a NaN embodied figure as unknown), non-finite savings and
//!   embodied figures are refused (`InvalidData`): JSON has no NaN.
//!
//! # The emulator
//!
//! Tested against `osmem-server` 0.1.6 (OpenSearch 3.8 API): every API used here was first
//! tried with curl against it (`if_seq_no`/`if_primary_term`, `op_type=create`,
//! `version_type=external` on single documents and in `_bulk`, `refresh=wait_for`, `_mget`,
//! `search_after`, `terms` with `sum` sub-aggregations, `binary`, `enabled: false` objects,
//! non-indexed keywords). None was missing; it keeps `_source` byte for byte, like
//! Elasticsearch. These are the documented Elasticsearch 8 / OpenSearch APIs, but no real
//! Elasticsearch or OpenSearch has run these repositories yet.

use std::collections::HashSet;
use std::sync::Arc;

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, Duration, Utc};
use greenkube_core::Snapshot;
use greenkube_core::ports::{
    EmbodiedCache, EmbodiedCacheEntry, IntensityHistory, IntensityPoint, LedgerEntry, LedgerTotal,
    PackedSnapshot, RecommendationStore, SavingsLedger, SnapshotArchive, StoreError, TimeRange,
};
use greenkube_core::recommend::RecommendationRecord;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::BACKEND;
use super::client::Write;
use super::documents::{BulkDoc, Doc, encode};
use super::error::{damaged, unexpected};
use super::fields::{digest, instant, micros, micros_ceil, millis};
use super::store::ElasticsearchStore;
use crate::store::codec::{pack_snapshot, recommendation_type, unpack_snapshot};

/// Attempts of a compare-and-swap that keeps losing before giving up.
pub(super) const MAX_ATTEMPTS: usize = 16;

/// The id of the one recommendations document.
const RECORDS_ID: &str = "records";

/// The cluster as stored: `""` for none.
pub(super) fn cluster_key(cluster: Option<&str>) -> &str {
    cluster.unwrap_or("")
}

fn snapshot_id(cluster: &str, window_start_us: i64) -> String {
    format!("s-{}", digest(&[cluster, &window_start_us.to_string()]))
}

/// The document id of an archived snapshot.
fn packed_id(packed: &PackedSnapshot) -> String {
    snapshot_id(
        cluster_key(packed.cluster.as_deref()),
        micros(packed.window_start),
    )
}

/// The document of an archived snapshot: its key, and its gzip-compressed JSON in base64.
fn packed_document(packed: &PackedSnapshot) -> Value {
    let start_us = micros(packed.window_start);
    json!({
        "cluster": cluster_key(packed.cluster.as_deref()),
        "window_start_us": start_us,
        "window_start": millis(start_us),
        "body": BASE64.encode(&packed.body),
    })
}

/// A listed archived window.
#[derive(Debug, Deserialize)]
struct WindowHit {
    cluster: String,
    window_start_us: i64,
}

#[async_trait]
impl SnapshotArchive for ElasticsearchStore {
    fn backend(&self) -> &'static str {
        BACKEND
    }

    async fn archive(&self, snapshot: &Snapshot) -> Result<(), StoreError> {
        let packed = self.pack(snapshot)?;
        self.put(
            &self.indices.snapshots,
            &packed_id(&packed),
            Write::ReplaceVisible,
            &packed_document(&packed),
            "archiving a snapshot",
        )
        .await
        .map(|_| ())
    }

    fn pack(&self, snapshot: &Snapshot) -> Result<PackedSnapshot, StoreError> {
        pack_snapshot(BACKEND, snapshot)
    }

    /// One `_bulk` request (a later document of a window replaces an earlier one).
    async fn archive_packed(&self, packed: &[PackedSnapshot]) -> Result<(), StoreError> {
        if packed.is_empty() {
            return Ok(());
        }
        let docs: Vec<BulkDoc> = packed
            .iter()
            .map(|p| BulkDoc {
                id: packed_id(p),
                external_version: None,
                source: packed_document(p),
            })
            .collect();
        self.bulk(&self.indices.snapshots, &docs, "archiving snapshots")
            .await
    }

    async fn packed(
        &self,
        cluster: Option<&str>,
        window_start: DateTime<Utc>,
    ) -> Result<Option<PackedSnapshot>, StoreError> {
        let doing = "reading an archived snapshot";
        let id = snapshot_id(cluster_key(cluster), micros(window_start));
        let Some(doc) = self.get(&self.indices.snapshots, &id, doing).await? else {
            return Ok(None);
        };
        let what = "an archived snapshot";
        let body = doc
            .source
            .get("body")
            .and_then(Value::as_str)
            .ok_or_else(|| damaged(what, "no `body`"))?;
        let body = BASE64
            .decode(body)
            .map_err(|e| damaged(what, format!("not base64: {e}")))?;
        Ok(Some(PackedSnapshot {
            cluster: cluster.map(Arc::from),
            window_start,
            body,
        }))
    }

    fn unpack(&self, packed: &PackedSnapshot) -> Result<Snapshot, StoreError> {
        unpack_snapshot(BACKEND, packed)
    }

    async fn archived_windows(
        &self,
        range: TimeRange,
    ) -> Result<Vec<(Option<Arc<str>>, DateTime<Utc>)>, StoreError> {
        let query = json!({"range": {"window_start_us": {
            "gte": micros_ceil(range.from()), "lt": micros_ceil(range.to())
        }}});
        let hits = self
            .search_all(
                &self.indices.snapshots,
                &query,
                &json!([{"window_start_us": "asc"}, {"cluster": "asc"}]),
                &json!(["cluster", "window_start_us"]),
                "listing archived snapshots",
            )
            .await?;
        hits.into_iter()
            .map(|hit| {
                let w: WindowHit =
                    serde_json::from_value(hit).map_err(|e| damaged("an archived window", e))?;
                Ok((
                    (!w.cluster.is_empty()).then(|| Arc::from(w.cluster.as_str())),
                    instant(w.window_start_us)?,
                ))
            })
            .collect()
    }
}

/// An intensity as stored.
#[derive(Debug, Serialize, Deserialize)]
struct IntensityDoc {
    zone: String,
    at_us: i64,
    at: i64,
    gco2e_per_kwh: f64,
    source: String,
}

impl IntensityDoc {
    fn new(p: &IntensityPoint) -> Self {
        let at_us = micros(p.at);
        Self {
            zone: p.zone.clone(),
            at_us,
            at: millis(at_us),
            gco2e_per_kwh: p.gco2e_per_kwh,
            source: p.source.clone(),
        }
    }

    fn id(&self) -> String {
        format!("i-{}", digest(&[&self.zone, &self.at_us.to_string()]))
    }

    fn read(hit: Value) -> Result<IntensityPoint, StoreError> {
        let d: Self = serde_json::from_value(hit).map_err(|e| damaged("an intensity", e))?;
        Ok(IntensityPoint {
            zone: d.zone,
            at: instant(d.at_us)?,
            gco2e_per_kwh: d.gco2e_per_kwh,
            source: d.source,
        })
    }
}

#[async_trait]
impl IntensityHistory for ElasticsearchStore {
    fn backend(&self) -> &'static str {
        BACKEND
    }

    async fn put_intensities(&self, points: &[IntensityPoint]) -> Result<(), StoreError> {
        IntensityPoint::check_all(points).map_err(|m| StoreError::invalid_data(BACKEND, m))?;
        let docs = points
            .iter()
            .map(|p| {
                let doc = IntensityDoc::new(p);
                Ok(BulkDoc {
                    id: doc.id(),
                    external_version: None,
                    source: encode(&doc, "an intensity")?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        self.bulk(&self.indices.intensities, &docs, "storing intensities")
            .await
    }

    async fn intensity_at(
        &self,
        zone: &str,
        t: DateTime<Utc>,
        max_age: Duration,
    ) -> Result<Option<IntensityPoint>, StoreError> {
        let doing = "reading an intensity";
        let oldest = t.checked_sub_signed(max_age).map_or(i64::MIN, micros);
        let request = json!({
            "size": 1,
            "query": {"bool": {"filter": [
                {"term": {"zone": zone}},
                {"range": {"at_us": {"lte": micros(t), "gt": oldest}}}
            ]}},
            "sort": [{"at_us": "desc"}]
        });
        let reply = self
            .client
            .search(&[&self.indices.intensities], &request, doing)
            .await?;
        reply
            .pointer("/hits/hits/0/_source")
            .cloned()
            .map(IntensityDoc::read)
            .transpose()
    }

    async fn intensities(
        &self,
        zone: &str,
        range: TimeRange,
    ) -> Result<Vec<IntensityPoint>, StoreError> {
        let query = json!({"bool": {"filter": [
            {"term": {"zone": zone}},
            {"range": {"at_us": {"gte": micros_ceil(range.from()), "lt": micros_ceil(range.to())}}}
        ]}});
        self.search_all(
            &self.indices.intensities,
            &query,
            &json!([{"at_us": "asc"}]),
            &json!(true),
            "reading intensities",
        )
        .await?
        .into_iter()
        .map(IntensityDoc::read)
        .collect()
    }
}

/// The recommendations document.
#[derive(Debug, Serialize, Deserialize)]
struct RecordsDoc {
    kind: String,
    count: usize,
    /// Every record as JSON, ordered by id.
    records: Vec<String>,
}

impl RecordsDoc {
    fn new(records: &[RecommendationRecord]) -> Result<Self, StoreError> {
        let mut sorted: Vec<&RecommendationRecord> = records.iter().collect();
        sorted.sort_by(|a, b| a.recommendation.id.cmp(&b.recommendation.id));
        let records = sorted
            .into_iter()
            .map(|r| {
                serde_json::to_string(r).map_err(|e| {
                    StoreError::invalid_data(BACKEND, "recommendation cannot be encoded")
                        .with_source(e)
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            kind: "recommendations".to_string(),
            count: records.len(),
            records,
        })
    }

    fn read(doc: Doc) -> Result<Vec<RecommendationRecord>, StoreError> {
        let what = "the recommendations";
        let stored: Self = serde_json::from_value(doc.source).map_err(|e| damaged(what, e))?;
        let mut records = stored
            .records
            .iter()
            .map(|r| serde_json::from_str(r).map_err(|e| damaged("a recommendation", e)))
            .collect::<Result<Vec<RecommendationRecord>, _>>()?;
        records.sort_by(|a, b| a.recommendation.id.cmp(&b.recommendation.id));
        Ok(records)
    }
}

#[async_trait]
impl RecommendationStore for ElasticsearchStore {
    fn backend(&self) -> &'static str {
        BACKEND
    }

    async fn records(&self) -> Result<Vec<RecommendationRecord>, StoreError> {
        match self
            .get(
                &self.indices.recommendations,
                RECORDS_ID,
                "reading recommendations",
            )
            .await?
        {
            Some(doc) => RecordsDoc::read(doc),
            None => Ok(Vec::new()),
        }
    }

    async fn replace_records(&self, records: &[RecommendationRecord]) -> Result<(), StoreError> {
        let mut ids = HashSet::new();
        for r in records {
            if !ids.insert(r.recommendation.id.as_str()) {
                return Err(StoreError::invalid_data(
                    BACKEND,
                    format!("two records with id {}", r.recommendation.id),
                ));
            }
        }
        let document = encode(&RecordsDoc::new(records)?, "the recommendations")?;
        self.put(
            &self.indices.recommendations,
            RECORDS_ID,
            Write::Replace,
            &document,
            "storing recommendations",
        )
        .await
        .map(|_| ())
    }

    async fn update_record(&self, record: &RecommendationRecord) -> Result<(), StoreError> {
        let doing = "updating a recommendation";
        let id = &record.recommendation.id;
        let unknown =
            || StoreError::invalid_data(BACKEND, format!("no recommendation with id {id}"));
        for _ in 0..MAX_ATTEMPTS {
            let Some(doc) = self
                .get(&self.indices.recommendations, RECORDS_ID, doing)
                .await?
            else {
                return Err(unknown());
            };
            let (seq_no, primary_term) = (doc.seq_no, doc.primary_term);
            let mut records = RecordsDoc::read(doc)?;
            let slot = records
                .iter_mut()
                .find(|r| &r.recommendation.id == id)
                .ok_or_else(unknown)?;
            *slot = record.clone();
            let document = encode(&RecordsDoc::new(&records)?, "the recommendations")?;
            let how = Write::IfUnchanged {
                seq_no,
                primary_term,
            };
            if self
                .put(
                    &self.indices.recommendations,
                    RECORDS_ID,
                    how,
                    &document,
                    doing,
                )
                .await?
                .is_some()
            {
                return Ok(());
            }
            // Someone else changed the records since they were read: read them again.
        }
        Err(StoreError::conflict(
            BACKEND,
            format!(
                "{doing}: the recommendations changed during each of {MAX_ATTEMPTS} attempts; \
                 retry"
            ),
        ))
    }
}

/// A ledger entry as stored.
#[derive(Debug, Serialize)]
struct SavingsDoc<'a> {
    recommendation_id: &'a str,
    kind: &'static str,
    namespace: Option<&'a str>,
    period_start_us: i64,
    period_end_us: i64,
    period_start: i64,
    co2e_grams: f64,
    cost: Option<f64>,
    /// 1 when the cost is unknown, summed to count such entries.
    without_cost: u8,
}

/// A `sum` sub-aggregation of a bucket.
fn sum(bucket: &Value, name: &str, doing: &str) -> Result<f64, StoreError> {
    bucket
        .pointer(&format!("/{name}/value"))
        .and_then(Value::as_f64)
        .ok_or_else(|| unexpected(doing, format!("a bucket has no `{name}` sum")))
}

#[async_trait]
impl SavingsLedger for ElasticsearchStore {
    fn backend(&self) -> &'static str {
        BACKEND
    }

    async fn record_savings(&self, entries: &[LedgerEntry]) -> Result<(), StoreError> {
        if let Some(bad) = entries
            .iter()
            .find(|e| !e.co2e_grams.is_finite() || e.cost.is_some_and(|c| !c.is_finite()))
        {
            return Err(StoreError::invalid_data(
                BACKEND,
                format!(
                    "savings of {} for the period from {}: CO2e {} and cost {:?} must be finite",
                    bad.recommendation_id, bad.period_start, bad.co2e_grams, bad.cost
                ),
            ));
        }
        let docs = entries
            .iter()
            .map(|e| {
                let start_us = micros(e.period_start);
                let start = start_us.to_string();
                Ok(BulkDoc {
                    id: format!("l-{}", digest(&[&e.recommendation_id, &start])),
                    external_version: None,
                    source: encode(
                        &SavingsDoc {
                            recommendation_id: &e.recommendation_id,
                            kind: e.kind.name(),
                            namespace: e.namespace.as_deref(),
                            period_start_us: start_us,
                            period_end_us: micros(e.period_end),
                            period_start: millis(start_us),
                            co2e_grams: e.co2e_grams,
                            cost: e.cost,
                            without_cost: u8::from(e.cost.is_none()),
                        },
                        "a ledger entry",
                    )?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        self.bulk(&self.indices.savings, &docs, "recording savings")
            .await
    }

    async fn savings_by_kind(&self, range: TimeRange) -> Result<Vec<LedgerTotal>, StoreError> {
        let doing = "summing savings";
        let request = json!({
            "size": 0,
            "query": {"range": {"period_start_us": {
                "gte": micros_ceil(range.from()), "lt": micros_ceil(range.to())
            }}},
            "aggs": {"kinds": {
                "terms": {"field": "kind", "size": 1000},
                "aggs": {
                    "co2e_grams": {"sum": {"field": "co2e_grams"}},
                    "cost": {"sum": {"field": "cost"}},
                    "without_cost": {"sum": {"field": "without_cost"}}
                }
            }}
        });
        let reply = self
            .client
            .search(&[&self.indices.savings], &request, doing)
            .await?;
        let buckets = reply
            .pointer("/aggregations/kinds/buckets")
            .and_then(Value::as_array)
            .ok_or_else(|| unexpected(doing, "no `aggregations.kinds.buckets`"))?;
        let mut out = buckets
            .iter()
            .map(|bucket| {
                let key = bucket
                    .get("key")
                    .and_then(Value::as_str)
                    .ok_or_else(|| unexpected(doing, "a bucket has no `key`"))?;
                let without = sum(bucket, "without_cost", doing)?;
                Ok(LedgerTotal {
                    kind: recommendation_type(BACKEND, key)?,
                    co2e_grams: sum(bucket, "co2e_grams", doing)?,
                    cost: sum(bucket, "cost", doing)?,
                    entries_without_cost: if without.is_finite() && without > 0.0 {
                        without.round() as usize
                    } else {
                        0
                    },
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        out.sort_by_key(|t| t.kind);
        Ok(out)
    }
}

/// An embodied answer as stored.
#[derive(Debug, Serialize, Deserialize)]
struct EmbodiedDoc {
    provider_key: String,
    instance_type_key: String,
    provider: String,
    instance_type: String,
    kgco2e: Option<f64>,
    lifespan_hours: Option<f64>,
    fetched_at_us: i64,
    fetched_at: i64,
}

fn embodied_id(provider: &str, instance_type: &str) -> String {
    format!(
        "e-{}",
        digest(&[
            &provider.to_ascii_lowercase(),
            &instance_type.to_ascii_lowercase()
        ])
    )
}

#[async_trait]
impl EmbodiedCache for ElasticsearchStore {
    fn backend(&self) -> &'static str {
        BACKEND
    }

    async fn cached_embodied(
        &self,
        provider: &str,
        instance_type: &str,
    ) -> Result<Option<EmbodiedCacheEntry>, StoreError> {
        let Some(doc) = self
            .get(
                &self.indices.embodied,
                &embodied_id(provider, instance_type),
                "reading the embodied cache",
            )
            .await?
        else {
            return Ok(None);
        };
        let d: EmbodiedDoc =
            serde_json::from_value(doc.source).map_err(|e| damaged("an embodied figure", e))?;
        Ok(Some(EmbodiedCacheEntry {
            provider: d.provider,
            instance_type: d.instance_type,
            kgco2e: d.kgco2e,
            lifespan_hours: d.lifespan_hours,
            fetched_at: instant(d.fetched_at_us)?,
        }))
    }

    async fn cache_embodied(&self, entry: &EmbodiedCacheEntry) -> Result<(), StoreError> {
        if [entry.kgco2e, entry.lifespan_hours]
            .into_iter()
            .flatten()
            .any(|v| !v.is_finite())
        {
            return Err(StoreError::invalid_data(
                BACKEND,
                format!(
                    "embodied figure of {} {}: {:?} kg CO2e over {:?} h must be finite",
                    entry.provider, entry.instance_type, entry.kgco2e, entry.lifespan_hours
                ),
            ));
        }
        let fetched_at_us = micros(entry.fetched_at);
        let document = encode(
            &EmbodiedDoc {
                provider_key: entry.provider.to_ascii_lowercase(),
                instance_type_key: entry.instance_type.to_ascii_lowercase(),
                provider: entry.provider.clone(),
                instance_type: entry.instance_type.clone(),
                kgco2e: entry.kgco2e,
                lifespan_hours: entry.lifespan_hours,
                fetched_at_us,
                fetched_at: millis(fetched_at_us),
            },
            "an embodied figure",
        )?;
        self.put(
            &self.indices.embodied,
            &embodied_id(&entry.provider, &entry.instance_type),
            Write::Replace,
            &document,
            "caching an embodied figure",
        )
        .await
        .map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_stable_and_keyed() {
        assert_eq!(snapshot_id("prod", 1), snapshot_id("prod", 1));
        assert_ne!(snapshot_id("prod", 1), snapshot_id("prod", 2));
        assert_ne!(snapshot_id("", 1), snapshot_id("prod", 1));
        assert_eq!(
            embodied_id("AWS", "M5.Large"),
            embodied_id("aws", "m5.large")
        );
        assert!(snapshot_id("x", 0).starts_with("s-"));
        assert_eq!(snapshot_id("x", 0).len(), 34);
    }
}
