//! The history repositories in PostgreSQL (migration `0002_history`): archived snapshots
//! (gzip-compressed JSON in `bytea`), node versions (`jsonb`), intensities, recommendations
//! (records as `jsonb`), the savings ledger and the embodied cache.
//!
//! Every write is one statement or one transaction, and concurrent writers take turns instead of
//! breaking the contract:
//!
//! * node history: the writers of a cluster lock its `node_observations` row (created first when
//!   missing), so the check against the latest observation, the closing of old versions and the
//!   opening of new ones happen as one step; a partial unique index keeps one current version
//!   per node whatever happens;
//! * recommendations: a replacement locks the table against other writers (not readers) before
//!   deleting, so two replacements never interleave;
//! * intensities, ledger, archive, embodied cache: `INSERT ... ON CONFLICT DO UPDATE` (a batch
//!   in key order, so two batches never deadlock).

use std::collections::{BTreeMap, HashSet};
use std::io::{Read, Write};
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use greenkube_core::ports::{
    EmbodiedCache, EmbodiedCacheEntry, IntensityHistory, IntensityPoint, LedgerEntry, LedgerTotal,
    NodeHistory, NodeVersion, RecommendationStore, SavingsLedger, SnapshotArchive, StoreError,
    TimeRange,
};
use greenkube_core::recommend::{RecommendationRecord, RecommendationType};
use greenkube_core::{Node, Snapshot};
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};

use super::error::convert_sqlx_err;
use super::model::bound;
use super::{BACKEND, PostgresFootprintRepository};

/// The cluster as stored: '' when absent.
fn cluster_key(cluster: Option<&str>) -> &str {
    cluster.unwrap_or("")
}

/// An instant as stored: whole microseconds, rounded down (as the SQLite store stores it), so
/// writing and looking up the same instant always meet. Clamped like [`bound`] to what a
/// `timestamptz` can hold.
fn instant(t: DateTime<Utc>) -> DateTime<Utc> {
    bound(DateTime::from_timestamp_micros(t.timestamp_micros()).unwrap_or(t))
}

fn invalid(what: &str, e: impl std::error::Error + Send + Sync + 'static) -> StoreError {
    StoreError::invalid_data(BACKEND, format!("{what} cannot be read back")).with_source(e)
}

fn read<T>(row: &PgRow, column: &str, doing: &str) -> Result<T, StoreError>
where
    T: for<'r> sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
{
    row.try_get(column).map_err(|e| convert_sqlx_err(doing, e))
}

fn compress(json: &[u8]) -> Result<Vec<u8>, StoreError> {
    let mut enc = GzEncoder::new(Vec::new(), Compression::default());
    enc.write_all(json)
        .and_then(|()| enc.finish())
        .map_err(|e| StoreError::other(BACKEND, "compressing a snapshot").with_source(e))
}

fn decompress(body: &[u8]) -> Result<Vec<u8>, StoreError> {
    let mut out = Vec::new();
    GzDecoder::new(body)
        .read_to_end(&mut out)
        .map_err(|e| invalid("an archived snapshot", e))?;
    Ok(out)
}

#[async_trait]
impl SnapshotArchive for PostgresFootprintRepository {
    fn backend(&self) -> &'static str {
        BACKEND
    }

    async fn archive(&self, snapshot: &Snapshot) -> Result<(), StoreError> {
        let json = serde_json::to_vec(snapshot).map_err(|e| {
            StoreError::invalid_data(BACKEND, "snapshot cannot be encoded").with_source(e)
        })?;
        let body = compress(&json)?;
        sqlx::query(
            "INSERT INTO snapshot_archive (window_start, cluster, body) VALUES ($1, $2, $3) \
             ON CONFLICT (window_start, cluster) DO UPDATE \
             SET body = excluded.body, archived_at = now()",
        )
        .bind(instant(snapshot.window_start))
        .bind(cluster_key(snapshot.cluster.as_deref()))
        .bind(body)
        .execute(self.pool())
        .await
        .map_err(|e| convert_sqlx_err("archiving a snapshot", e))?;
        Ok(())
    }

    async fn snapshot(
        &self,
        cluster: Option<&str>,
        window_start: DateTime<Utc>,
    ) -> Result<Option<Snapshot>, StoreError> {
        let body: Option<Vec<u8>> = sqlx::query_scalar(
            "SELECT body FROM snapshot_archive WHERE window_start = $1 AND cluster = $2",
        )
        .bind(instant(window_start))
        .bind(cluster_key(cluster))
        .fetch_optional(self.pool())
        .await
        .map_err(|e| convert_sqlx_err("reading an archived snapshot", e))?;
        body.map(|b| {
            let json = decompress(&b)?;
            let text = String::from_utf8(json).map_err(|e| invalid("an archived snapshot", e))?;
            Snapshot::from_json_str(&text).map_err(|e| invalid("an archived snapshot", e))
        })
        .transpose()
    }

    async fn archived_windows(
        &self,
        range: TimeRange,
    ) -> Result<Vec<(Option<Arc<str>>, DateTime<Utc>)>, StoreError> {
        const DOING: &str = "listing archived snapshots";
        let rows = sqlx::query(
            "SELECT cluster, window_start FROM snapshot_archive \
             WHERE window_start >= $1 AND window_start < $2 ORDER BY window_start, cluster",
        )
        .bind(bound(range.from()))
        .bind(bound(range.to()))
        .fetch_all(self.pool())
        .await
        .map_err(|e| convert_sqlx_err(DOING, e))?;
        rows.iter()
            .map(|r| {
                let cluster: String = read(r, "cluster", DOING)?;
                Ok((
                    (!cluster.is_empty()).then(|| Arc::from(cluster.as_str())),
                    read(r, "window_start", DOING)?,
                ))
            })
            .collect()
    }
}

fn node_value(node: &Node) -> Result<serde_json::Value, StoreError> {
    serde_json::to_value(node)
        .map_err(|e| StoreError::invalid_data(BACKEND, "node cannot be encoded").with_source(e))
}

fn node_version(row: &PgRow, doing: &str) -> Result<NodeVersion, StoreError> {
    let body: String = read(row, "body", doing)?;
    Ok(NodeVersion {
        node: serde_json::from_str(&body).map_err(|e| invalid("a node version", e))?,
        valid_from: read(row, "valid_from", doing)?,
        valid_to: read(row, "valid_to", doing)?,
    })
}

/// What one observation changes: the current versions to close, and the versions to open.
#[derive(Debug, Default)]
struct NodeChanges {
    close: Vec<String>,
    open_names: Vec<String>,
    open_bodies: Vec<String>,
}

/// Compares the observed nodes with the current versions (name and JSON body).
fn node_changes(current: &[(String, String)], nodes: &[Node]) -> Result<NodeChanges, StoreError> {
    let mut seen = HashSet::with_capacity(nodes.len());
    let mut changes = NodeChanges::default();
    let current: BTreeMap<&str, &str> = current
        .iter()
        .map(|(n, b)| (n.as_str(), b.as_str()))
        .collect();
    for node in nodes {
        if !seen.insert(node.name.as_ref()) {
            return Err(StoreError::invalid_data(
                BACKEND,
                format!("node {} is observed twice", node.name),
            ));
        }
        let value = node_value(node)?;
        let unchanged = match current.get(node.name.as_ref()) {
            Some(body) => {
                let stored: serde_json::Value =
                    serde_json::from_str(body).map_err(|e| invalid("a node version", e))?;
                stored == value
            }
            None => false,
        };
        if !unchanged {
            if current.contains_key(node.name.as_ref()) {
                changes.close.push(node.name.to_string());
            }
            changes.open_names.push(node.name.to_string());
            changes.open_bodies.push(value.to_string());
        }
    }
    changes.close.extend(
        current
            .keys()
            .filter(|name| !seen.contains(*name))
            .map(|name| (*name).to_string()),
    );
    Ok(changes)
}

/// The body of [`NodeHistory::record_nodes`], inside its transaction.
async fn record_nodes_in(
    conn: &mut PgConnection,
    cluster: &str,
    at: DateTime<Utc>,
    nodes: &[Node],
) -> Result<(), StoreError> {
    const DOING: &str = "recording nodes";
    let err = |e| convert_sqlx_err(DOING, e);
    // The cluster's row, created when missing, then locked: writers of a cluster take turns,
    // and each sees what the previous one committed.
    sqlx::query(
        "INSERT INTO node_observations (cluster, latest) VALUES ($1, NULL) \
         ON CONFLICT (cluster) DO NOTHING",
    )
    .bind(cluster)
    .execute(&mut *conn)
    .await
    .map_err(err)?;
    let latest: Option<DateTime<Utc>> =
        sqlx::query_scalar("SELECT latest FROM node_observations WHERE cluster = $1 FOR UPDATE")
            .bind(cluster)
            .fetch_one(&mut *conn)
            .await
            .map_err(err)?;
    if let Some(latest) = latest.filter(|l| at < *l) {
        return Err(StoreError::invalid_data(
            BACKEND,
            format!("node observation at {at} is older than the latest recorded one ({latest})"),
        ));
    }
    let rows = sqlx::query(
        "SELECT name, body::text AS body FROM node_versions \
         WHERE cluster = $1 AND valid_to IS NULL",
    )
    .bind(cluster)
    .fetch_all(&mut *conn)
    .await
    .map_err(err)?;
    let current = rows
        .iter()
        .map(|r| Ok((read(r, "name", DOING)?, read(r, "body", DOING)?)))
        .collect::<Result<Vec<(String, String)>, StoreError>>()?;
    let changes = node_changes(&current, nodes)?;
    if !changes.close.is_empty() {
        sqlx::query(
            "UPDATE node_versions SET valid_to = $2 \
             WHERE cluster = $1 AND valid_to IS NULL AND name = ANY($3::text[])",
        )
        .bind(cluster)
        .bind(at)
        .bind(&changes.close)
        .execute(&mut *conn)
        .await
        .map_err(err)?;
    }
    if !changes.open_names.is_empty() {
        // A version opened at the same instant as the one it replaces takes its place.
        sqlx::query(
            "INSERT INTO node_versions (cluster, name, valid_from, valid_to, body) \
             SELECT $1, n.name, $2, NULL, n.body::jsonb \
             FROM UNNEST($3::text[], $4::text[]) AS n(name, body) \
             ON CONFLICT (cluster, name, valid_from) DO UPDATE \
             SET body = excluded.body, valid_to = NULL",
        )
        .bind(cluster)
        .bind(at)
        .bind(&changes.open_names)
        .bind(&changes.open_bodies)
        .execute(&mut *conn)
        .await
        .map_err(err)?;
    }
    sqlx::query("UPDATE node_observations SET latest = $2 WHERE cluster = $1")
        .bind(cluster)
        .bind(at)
        .execute(&mut *conn)
        .await
        .map_err(err)?;
    Ok(())
}

#[async_trait]
impl NodeHistory for PostgresFootprintRepository {
    fn backend(&self) -> &'static str {
        BACKEND
    }

    async fn record_nodes(
        &self,
        cluster: Option<&str>,
        at: DateTime<Utc>,
        nodes: &[Node],
    ) -> Result<(), StoreError> {
        let err = |e| convert_sqlx_err("recording nodes", e);
        let mut tx = self.pool().begin().await.map_err(err)?;
        match record_nodes_in(&mut tx, cluster_key(cluster), instant(at), nodes).await {
            Ok(()) => tx.commit().await.map_err(err),
            Err(e) => {
                // Rolled back now, so the cluster's lock goes at once.
                let _ = tx.rollback().await;
                Err(e)
            }
        }
    }

    async fn nodes_at(
        &self,
        cluster: Option<&str>,
        t: DateTime<Utc>,
    ) -> Result<Vec<Node>, StoreError> {
        const DOING: &str = "reading nodes";
        let rows = sqlx::query(
            "SELECT valid_from, valid_to, body::text AS body FROM node_versions \
             WHERE cluster = $1 AND valid_from <= $2 AND (valid_to IS NULL OR $2 < valid_to) \
             ORDER BY name",
        )
        .bind(cluster_key(cluster))
        .bind(instant(t))
        .fetch_all(self.pool())
        .await
        .map_err(|e| convert_sqlx_err(DOING, e))?;
        rows.iter()
            .map(|r| node_version(r, DOING).map(|v| v.node))
            .collect()
    }

    async fn node_versions(
        &self,
        cluster: Option<&str>,
        name: &str,
    ) -> Result<Vec<NodeVersion>, StoreError> {
        const DOING: &str = "reading node versions";
        let rows = sqlx::query(
            "SELECT valid_from, valid_to, body::text AS body FROM node_versions \
             WHERE cluster = $1 AND name = $2 ORDER BY valid_from",
        )
        .bind(cluster_key(cluster))
        .bind(name)
        .fetch_all(self.pool())
        .await
        .map_err(|e| convert_sqlx_err(DOING, e))?;
        rows.iter().map(|r| node_version(r, DOING)).collect()
    }
}

fn intensity(row: &PgRow, doing: &str) -> Result<IntensityPoint, StoreError> {
    Ok(IntensityPoint {
        zone: read(row, "zone", doing)?,
        at: read(row, "at_time", doing)?,
        gco2e_per_kwh: read(row, "gco2e_per_kwh", doing)?,
        source: read(row, "source", doing)?,
    })
}

#[async_trait]
impl IntensityHistory for PostgresFootprintRepository {
    fn backend(&self) -> &'static str {
        BACKEND
    }

    async fn put_intensities(&self, points: &[IntensityPoint]) -> Result<(), StoreError> {
        IntensityPoint::check_all(points).map_err(|m| StoreError::invalid_data(BACKEND, m))?;
        if points.is_empty() {
            return Ok(());
        }
        // One row per key, the last of the batch winning (as when written one by one), in key
        // order so that two batches lock rows in the same order.
        let mut by_key: BTreeMap<(&str, DateTime<Utc>), &IntensityPoint> = BTreeMap::new();
        for p in points {
            by_key.insert((p.zone.as_str(), instant(p.at)), p);
        }
        let mut zones = Vec::with_capacity(by_key.len());
        let mut ats = Vec::with_capacity(by_key.len());
        let mut values = Vec::with_capacity(by_key.len());
        let mut sources = Vec::with_capacity(by_key.len());
        for ((zone, at), p) in by_key {
            zones.push(zone);
            ats.push(at);
            values.push(p.gco2e_per_kwh);
            sources.push(p.source.as_str());
        }
        sqlx::query(
            "INSERT INTO intensities (zone, at_time, gco2e_per_kwh, source) \
             SELECT zone, at_time, g, source \
             FROM UNNEST($1::text[], $2::timestamptz[], $3::float8[], $4::text[]) \
                 WITH ORDINALITY AS p(zone, at_time, g, source, i) \
             ORDER BY i \
             ON CONFLICT (zone, at_time) DO UPDATE \
             SET gco2e_per_kwh = excluded.gco2e_per_kwh, source = excluded.source",
        )
        .bind(zones)
        .bind(ats)
        .bind(values)
        .bind(sources)
        .execute(self.pool())
        .await
        .map_err(|e| convert_sqlx_err("storing intensities", e))?;
        Ok(())
    }

    async fn intensity_at(
        &self,
        zone: &str,
        t: DateTime<Utc>,
        max_age: Duration,
    ) -> Result<Option<IntensityPoint>, StoreError> {
        const DOING: &str = "reading an intensity";
        // `at <= t` and `at > t - max_age`; a `max_age` beyond the calendar means no lower bound.
        let oldest = t
            .checked_sub_signed(max_age)
            .unwrap_or(DateTime::<Utc>::MIN_UTC);
        let row = sqlx::query(
            "SELECT zone, at_time, gco2e_per_kwh, source FROM intensities \
             WHERE zone = $1 AND at_time <= $2 AND at_time > $3 ORDER BY at_time DESC LIMIT 1",
        )
        .bind(zone)
        .bind(instant(t))
        .bind(instant(oldest))
        .fetch_optional(self.pool())
        .await
        .map_err(|e| convert_sqlx_err(DOING, e))?;
        row.as_ref().map(|r| intensity(r, DOING)).transpose()
    }

    async fn intensities(
        &self,
        zone: &str,
        range: TimeRange,
    ) -> Result<Vec<IntensityPoint>, StoreError> {
        const DOING: &str = "reading intensities";
        let rows = sqlx::query(
            "SELECT zone, at_time, gco2e_per_kwh, source FROM intensities \
             WHERE zone = $1 AND at_time >= $2 AND at_time < $3 ORDER BY at_time",
        )
        .bind(zone)
        .bind(bound(range.from()))
        .bind(bound(range.to()))
        .fetch_all(self.pool())
        .await
        .map_err(|e| convert_sqlx_err(DOING, e))?;
        rows.iter().map(|r| intensity(r, DOING)).collect()
    }
}

fn record_json(record: &RecommendationRecord) -> Result<String, StoreError> {
    serde_json::to_string(record).map_err(|e| {
        StoreError::invalid_data(BACKEND, "recommendation cannot be encoded").with_source(e)
    })
}

/// The body of [`RecommendationStore::replace_records`], inside its transaction.
async fn replace_records_in(
    conn: &mut PgConnection,
    ids: &[&str],
    bodies: &[String],
) -> Result<(), StoreError> {
    let err = |e| convert_sqlx_err("storing recommendations", e);
    // Other writers wait (readers do not); the delete below then sees what they committed.
    sqlx::query("LOCK TABLE recommendations IN SHARE ROW EXCLUSIVE MODE")
        .execute(&mut *conn)
        .await
        .map_err(err)?;
    sqlx::query("DELETE FROM recommendations")
        .execute(&mut *conn)
        .await
        .map_err(err)?;
    if !ids.is_empty() {
        sqlx::query(
            "INSERT INTO recommendations (id, body) \
             SELECT id, body::jsonb FROM UNNEST($1::text[], $2::text[]) AS r(id, body)",
        )
        .bind(ids)
        .bind(bodies)
        .execute(&mut *conn)
        .await
        .map_err(err)?;
    }
    Ok(())
}

#[async_trait]
impl RecommendationStore for PostgresFootprintRepository {
    fn backend(&self) -> &'static str {
        BACKEND
    }

    async fn records(&self) -> Result<Vec<RecommendationRecord>, StoreError> {
        let bodies: Vec<String> =
            sqlx::query_scalar("SELECT body::text FROM recommendations ORDER BY id")
                .fetch_all(self.pool())
                .await
                .map_err(|e| convert_sqlx_err("reading recommendations", e))?;
        bodies
            .iter()
            .map(|b| serde_json::from_str(b).map_err(|e| invalid("a recommendation", e)))
            .collect()
    }

    async fn replace_records(&self, records: &[RecommendationRecord]) -> Result<(), StoreError> {
        let mut seen = HashSet::with_capacity(records.len());
        let mut ids = Vec::with_capacity(records.len());
        let mut bodies = Vec::with_capacity(records.len());
        for r in records {
            let id = r.recommendation.id.as_str();
            if !seen.insert(id) {
                return Err(StoreError::invalid_data(
                    BACKEND,
                    format!("two records with id {id}"),
                ));
            }
            ids.push(id);
            bodies.push(record_json(r)?);
        }
        let err = |e| convert_sqlx_err("storing recommendations", e);
        let mut tx = self.pool().begin().await.map_err(err)?;
        match replace_records_in(&mut tx, &ids, &bodies).await {
            Ok(()) => tx.commit().await.map_err(err),
            Err(e) => {
                let _ = tx.rollback().await;
                Err(e)
            }
        }
    }

    async fn update_record(&self, record: &RecommendationRecord) -> Result<(), StoreError> {
        let done = sqlx::query("UPDATE recommendations SET body = $2::jsonb WHERE id = $1")
            .bind(&record.recommendation.id)
            .bind(record_json(record)?)
            .execute(self.pool())
            .await
            .map_err(|e| convert_sqlx_err("updating a recommendation", e))?;
        if done.rows_affected() == 0 {
            return Err(StoreError::invalid_data(
                BACKEND,
                format!("no recommendation with id {}", record.recommendation.id),
            ));
        }
        Ok(())
    }
}

fn kind_of(name: &str) -> Result<RecommendationType, StoreError> {
    RecommendationType::ALL
        .into_iter()
        .find(|k| k.name() == name)
        .ok_or_else(|| {
            StoreError::invalid_data(BACKEND, format!("unknown recommendation type {name}"))
        })
}

/// Refuses an entry whose figures are not finite (they would poison every sum).
fn check_entry(e: &LedgerEntry) -> Result<(), StoreError> {
    if e.co2e_grams.is_finite() && e.cost.is_none_or(f64::is_finite) {
        Ok(())
    } else {
        Err(StoreError::invalid_data(
            BACKEND,
            format!(
                "savings of {} from {} are not finite numbers ({} g CO2e, cost {:?})",
                e.recommendation_id, e.period_start, e.co2e_grams, e.cost
            ),
        ))
    }
}

#[async_trait]
impl SavingsLedger for PostgresFootprintRepository {
    fn backend(&self) -> &'static str {
        BACKEND
    }

    async fn record_savings(&self, entries: &[LedgerEntry]) -> Result<(), StoreError> {
        entries.iter().try_for_each(check_entry)?;
        if entries.is_empty() {
            return Ok(());
        }
        // One row per key, the last of the batch winning, in key order (no deadlock between
        // two batches).
        let mut by_key: BTreeMap<(&str, DateTime<Utc>), &LedgerEntry> = BTreeMap::new();
        for e in entries {
            by_key.insert((e.recommendation_id.as_str(), instant(e.period_start)), e);
        }
        let n = by_key.len();
        let (mut ids, mut starts, mut ends, mut kinds) = (
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
        );
        let (mut namespaces, mut grams, mut costs) = (
            Vec::with_capacity(n),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
        );
        for ((id, start), e) in by_key {
            ids.push(id);
            starts.push(start);
            ends.push(instant(e.period_end));
            kinds.push(e.kind.name());
            namespaces.push(e.namespace.as_deref());
            grams.push(e.co2e_grams);
            costs.push(e.cost);
        }
        sqlx::query(
            "INSERT INTO savings_ledger (recommendation_id, period_start, period_end, kind, \
             namespace, co2e_grams, cost) \
             SELECT id, period_start, period_end, kind, namespace, co2e_grams, cost \
             FROM UNNEST($1::text[], $2::timestamptz[], $3::timestamptz[], $4::text[], \
                 $5::text[], $6::float8[], $7::float8[]) \
                 WITH ORDINALITY AS e(id, period_start, period_end, kind, namespace, co2e_grams, \
                 cost, i) \
             ORDER BY i \
             ON CONFLICT (recommendation_id, period_start) DO UPDATE SET \
             period_end = excluded.period_end, kind = excluded.kind, \
             namespace = excluded.namespace, co2e_grams = excluded.co2e_grams, \
             cost = excluded.cost",
        )
        .bind(ids)
        .bind(starts)
        .bind(ends)
        .bind(kinds)
        .bind(namespaces)
        .bind(grams)
        .bind(costs)
        .execute(self.pool())
        .await
        .map_err(|e| convert_sqlx_err("recording savings", e))?;
        Ok(())
    }

    async fn savings_by_kind(&self, range: TimeRange) -> Result<Vec<LedgerTotal>, StoreError> {
        const DOING: &str = "summing savings";
        let rows = sqlx::query(
            "SELECT kind, SUM(co2e_grams) AS co2e_grams, COALESCE(SUM(cost), 0) AS cost, \
             COUNT(*) FILTER (WHERE cost IS NULL) AS without_cost \
             FROM savings_ledger WHERE period_start >= $1 AND period_start < $2 \
             GROUP BY kind",
        )
        .bind(bound(range.from()))
        .bind(bound(range.to()))
        .fetch_all(self.pool())
        .await
        .map_err(|e| convert_sqlx_err(DOING, e))?;
        let mut out = rows
            .iter()
            .map(|r| {
                let without: i64 = read(r, "without_cost", DOING)?;
                Ok(LedgerTotal {
                    kind: kind_of(&read::<String>(r, "kind", DOING)?)?,
                    co2e_grams: read(r, "co2e_grams", DOING)?,
                    cost: read(r, "cost", DOING)?,
                    entries_without_cost: usize::try_from(without).unwrap_or(0),
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        out.sort_by_key(|t| t.kind);
        Ok(out)
    }
}

#[async_trait]
impl EmbodiedCache for PostgresFootprintRepository {
    fn backend(&self) -> &'static str {
        BACKEND
    }

    async fn cached_embodied(
        &self,
        provider: &str,
        instance_type: &str,
    ) -> Result<Option<EmbodiedCacheEntry>, StoreError> {
        const DOING: &str = "reading the embodied cache";
        let row = sqlx::query(
            "SELECT provider, instance_type, kgco2e, lifespan_hours, fetched_at \
             FROM embodied_cache WHERE provider_key = $1 AND instance_type_key = $2",
        )
        .bind(provider.to_ascii_lowercase())
        .bind(instance_type.to_ascii_lowercase())
        .fetch_optional(self.pool())
        .await
        .map_err(|e| convert_sqlx_err(DOING, e))?;
        row.map(|r| {
            Ok(EmbodiedCacheEntry {
                provider: read(&r, "provider", DOING)?,
                instance_type: read(&r, "instance_type", DOING)?,
                kgco2e: read(&r, "kgco2e", DOING)?,
                lifespan_hours: read(&r, "lifespan_hours", DOING)?,
                fetched_at: read(&r, "fetched_at", DOING)?,
            })
        })
        .transpose()
    }

    async fn cache_embodied(&self, entry: &EmbodiedCacheEntry) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO embodied_cache (provider_key, instance_type_key, provider, instance_type, \
             kgco2e, lifespan_hours, fetched_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (provider_key, instance_type_key) DO UPDATE SET \
             provider = excluded.provider, instance_type = excluded.instance_type, \
             kgco2e = excluded.kgco2e, lifespan_hours = excluded.lifespan_hours, \
             fetched_at = excluded.fetched_at",
        )
        .bind(entry.provider.to_ascii_lowercase())
        .bind(entry.instance_type.to_ascii_lowercase())
        .bind(&entry.provider)
        .bind(&entry.instance_type)
        .bind(entry.kgco2e)
        .bind(entry.lifespan_hours)
        .bind(instant(entry.fetched_at))
        .execute(self.pool())
        .await
        .map_err(|e| convert_sqlx_err("caching an embodied figure", e))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn node(name: &str, cores: f64) -> Node {
        Node {
            name: Arc::from(name),
            cpu_capacity_cores: Some(greenkube_core::units::Cores(cores)),
            ..Node::default()
        }
    }

    fn stored(n: &Node) -> (String, String) {
        (n.name.to_string(), node_value(n).unwrap().to_string())
    }

    #[test]
    fn node_changes_close_open_and_leave_alone() {
        let current = [stored(&node("a", 2.0)), stored(&node("b", 2.0))];
        let changes = node_changes(&current, &[node("a", 4.0), node("c", 1.0)]).unwrap();
        assert_eq!(changes.close, ["a", "b"]);
        assert_eq!(changes.open_names, ["a", "c"]);
        let same = node_changes(&current, &[node("a", 2.0), node("b", 2.0)]).unwrap();
        assert!(same.close.is_empty() && same.open_names.is_empty());
        let err = node_changes(&current, &[node("a", 2.0), node("a", 3.0)]).unwrap_err();
        assert!(err.to_string().contains("observed twice"), "{err}");
    }

    #[test]
    fn instants_round_down_to_the_microsecond() {
        let t = Utc.with_ymd_and_hms(2025, 6, 2, 10, 0, 0).unwrap();
        assert_eq!(instant(t), t);
        assert_eq!(instant(t + Duration::nanoseconds(999)), t);
        assert_eq!(
            instant(t - Duration::nanoseconds(1)),
            t - Duration::microseconds(1)
        );
        assert_eq!(
            instant(DateTime::<Utc>::MIN_UTC),
            bound(DateTime::<Utc>::MIN_UTC)
        );
    }

    #[test]
    fn ledger_entries_must_be_finite() {
        let entry = |g, cost| LedgerEntry {
            recommendation_id: "r".into(),
            kind: RecommendationType::RightsizingCpu,
            namespace: None,
            period_start: Utc.with_ymd_and_hms(2025, 6, 2, 10, 0, 0).unwrap(),
            period_end: Utc.with_ymd_and_hms(2025, 6, 2, 11, 0, 0).unwrap(),
            co2e_grams: g,
            cost,
        };
        assert!(check_entry(&entry(1.0, None)).is_ok());
        assert!(check_entry(&entry(-1.0, Some(0.5))).is_ok());
        assert!(check_entry(&entry(f64::NAN, None)).is_err());
        assert!(check_entry(&entry(1.0, Some(f64::INFINITY))).is_err());
    }
}
