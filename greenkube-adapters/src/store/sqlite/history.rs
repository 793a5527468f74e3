//! The history repositories in SQLite: archived snapshots (gzip-compressed JSON), node
//! versions, intensities, recommendations (records as JSON), the savings ledger and the
//! embodied cache. Each write is one transaction.

use std::io::{Read, Write};
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Duration, TimeZone, Utc};
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
use sqlx::Row;

use super::error::convert_sqlx_err;
use super::model::{micros, micros_ceil};
use super::{BACKEND, SqliteFootprintRepository};

fn cluster_key(cluster: Option<&str>) -> &str {
    cluster.unwrap_or("")
}

fn from_micros(us: i64) -> Result<DateTime<Utc>, StoreError> {
    Utc.timestamp_micros(us).single().ok_or_else(|| {
        StoreError::invalid_data(BACKEND, format!("stored time {us} is out of range"))
    })
}

fn invalid(what: &str, e: impl std::error::Error + Send + Sync + 'static) -> StoreError {
    StoreError::invalid_data(BACKEND, format!("{what} cannot be read back")).with_source(e)
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
impl SnapshotArchive for SqliteFootprintRepository {
    fn backend(&self) -> &'static str {
        BACKEND
    }

    async fn archive(&self, snapshot: &Snapshot) -> Result<(), StoreError> {
        let json = serde_json::to_vec(snapshot).map_err(|e| {
            StoreError::invalid_data(BACKEND, "snapshot cannot be encoded").with_source(e)
        })?;
        let body = compress(&json)?;
        sqlx::query(
            "INSERT INTO snapshot_archive (cluster, window_start_us, body) VALUES (?, ?, ?) \
             ON CONFLICT (window_start_us, cluster) DO UPDATE SET body = excluded.body",
        )
        .bind(cluster_key(snapshot.cluster.as_deref()))
        .bind(micros(snapshot.window_start))
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
            "SELECT body FROM snapshot_archive WHERE cluster = ? AND window_start_us = ?",
        )
        .bind(cluster_key(cluster))
        .bind(micros(window_start))
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
        let rows = sqlx::query(
            "SELECT cluster, window_start_us FROM snapshot_archive \
             WHERE window_start_us >= ? AND window_start_us < ? ORDER BY window_start_us, cluster",
        )
        .bind(micros_ceil(range.from()))
        .bind(micros_ceil(range.to()))
        .fetch_all(self.pool())
        .await
        .map_err(|e| convert_sqlx_err("listing archived snapshots", e))?;
        rows.iter()
            .map(|r| {
                let cluster: String = r.get(0);
                Ok((
                    (!cluster.is_empty()).then(|| Arc::from(cluster.as_str())),
                    from_micros(r.get(1))?,
                ))
            })
            .collect()
    }
}

fn node_json(node: &Node) -> Result<String, StoreError> {
    serde_json::to_string(node)
        .map_err(|e| StoreError::invalid_data(BACKEND, "node cannot be encoded").with_source(e))
}

fn node_version(row: &sqlx::sqlite::SqliteRow) -> Result<NodeVersion, StoreError> {
    let body: String = row.get("body");
    let to: Option<i64> = row.get("valid_to_us");
    Ok(NodeVersion {
        node: serde_json::from_str(&body).map_err(|e| invalid("a node version", e))?,
        valid_from: from_micros(row.get("valid_from_us"))?,
        valid_to: to.map(from_micros).transpose()?,
    })
}

#[async_trait]
impl NodeHistory for SqliteFootprintRepository {
    fn backend(&self) -> &'static str {
        BACKEND
    }

    async fn record_nodes(
        &self,
        cluster: Option<&str>,
        at: DateTime<Utc>,
        nodes: &[Node],
    ) -> Result<(), StoreError> {
        let cluster = cluster_key(cluster);
        let at_us = micros(at);
        let err = |e| convert_sqlx_err("recording nodes", e);
        let mut tx = self.pool().begin().await.map_err(err)?;
        let latest: Option<i64> =
            sqlx::query_scalar("SELECT latest_us FROM node_observations WHERE cluster = ?")
                .bind(cluster)
                .fetch_optional(&mut *tx)
                .await
                .map_err(err)?;
        if latest.is_some_and(|l| at_us < l) {
            return Err(StoreError::invalid_data(
                BACKEND,
                format!("node observation at {at} is older than the latest recorded one"),
            ));
        }
        let current = sqlx::query(
            "SELECT name, valid_from_us, body FROM node_versions \
             WHERE cluster = ? AND valid_to_us IS NULL",
        )
        .bind(cluster)
        .fetch_all(&mut *tx)
        .await
        .map_err(err)?;
        let mut seen = std::collections::HashSet::new();
        for node in nodes {
            let body = node_json(node)?;
            seen.insert(node.name.to_string());
            let existing = current
                .iter()
                .find(|r| r.get::<String, _>("name") == node.name.as_ref());
            match existing {
                Some(r) if r.get::<String, _>("body") == body => {}
                other => {
                    if let Some(r) = other {
                        sqlx::query(
                            "UPDATE node_versions SET valid_to_us = ? \
                             WHERE cluster = ? AND name = ? AND valid_from_us = ?",
                        )
                        .bind(at_us)
                        .bind(cluster)
                        .bind(node.name.as_ref())
                        .bind(r.get::<i64, _>("valid_from_us"))
                        .execute(&mut *tx)
                        .await
                        .map_err(err)?;
                    }
                    sqlx::query(
                        "INSERT INTO node_versions (cluster, name, valid_from_us, valid_to_us, body) \
                         VALUES (?, ?, ?, NULL, ?) \
                         ON CONFLICT (cluster, name, valid_from_us) DO UPDATE \
                         SET body = excluded.body, valid_to_us = NULL",
                    )
                    .bind(cluster)
                    .bind(node.name.as_ref())
                    .bind(at_us)
                    .bind(body)
                    .execute(&mut *tx)
                    .await
                    .map_err(err)?;
                }
            }
        }
        for r in &current {
            let name: String = r.get("name");
            if !seen.contains(&name) {
                sqlx::query(
                    "UPDATE node_versions SET valid_to_us = ? \
                     WHERE cluster = ? AND name = ? AND valid_from_us = ?",
                )
                .bind(at_us)
                .bind(cluster)
                .bind(&name)
                .bind(r.get::<i64, _>("valid_from_us"))
                .execute(&mut *tx)
                .await
                .map_err(err)?;
            }
        }
        sqlx::query(
            "INSERT INTO node_observations (cluster, latest_us) VALUES (?, ?) \
             ON CONFLICT (cluster) DO UPDATE SET latest_us = excluded.latest_us",
        )
        .bind(cluster)
        .bind(at_us)
        .execute(&mut *tx)
        .await
        .map_err(err)?;
        tx.commit().await.map_err(err)
    }

    async fn nodes_at(
        &self,
        cluster: Option<&str>,
        t: DateTime<Utc>,
    ) -> Result<Vec<Node>, StoreError> {
        let t_us = micros(t);
        let rows = sqlx::query(
            "SELECT valid_from_us, valid_to_us, body FROM node_versions \
             WHERE cluster = ? AND valid_from_us <= ? AND (valid_to_us IS NULL OR ? < valid_to_us) \
             ORDER BY name",
        )
        .bind(cluster_key(cluster))
        .bind(t_us)
        .bind(t_us)
        .fetch_all(self.pool())
        .await
        .map_err(|e| convert_sqlx_err("reading nodes", e))?;
        rows.iter()
            .map(|r| node_version(r).map(|v| v.node))
            .collect()
    }

    async fn node_versions(
        &self,
        cluster: Option<&str>,
        name: &str,
    ) -> Result<Vec<NodeVersion>, StoreError> {
        let rows = sqlx::query(
            "SELECT valid_from_us, valid_to_us, body FROM node_versions \
             WHERE cluster = ? AND name = ? ORDER BY valid_from_us",
        )
        .bind(cluster_key(cluster))
        .bind(name)
        .fetch_all(self.pool())
        .await
        .map_err(|e| convert_sqlx_err("reading node versions", e))?;
        rows.iter().map(node_version).collect()
    }
}

fn intensity(row: &sqlx::sqlite::SqliteRow) -> Result<IntensityPoint, StoreError> {
    Ok(IntensityPoint {
        zone: row.get("zone"),
        at: from_micros(row.get("at_us"))?,
        gco2e_per_kwh: row.get("gco2e_per_kwh"),
        source: row.get("source"),
    })
}

#[async_trait]
impl IntensityHistory for SqliteFootprintRepository {
    fn backend(&self) -> &'static str {
        BACKEND
    }

    async fn put_intensities(&self, points: &[IntensityPoint]) -> Result<(), StoreError> {
        IntensityPoint::check_all(points).map_err(|m| StoreError::invalid_data(BACKEND, m))?;
        let err = |e| convert_sqlx_err("storing intensities", e);
        let mut tx = self.pool().begin().await.map_err(err)?;
        for p in points {
            sqlx::query(
                "INSERT INTO intensities (zone, at_us, gco2e_per_kwh, source) VALUES (?, ?, ?, ?) \
                 ON CONFLICT (zone, at_us) DO UPDATE \
                 SET gco2e_per_kwh = excluded.gco2e_per_kwh, source = excluded.source",
            )
            .bind(&p.zone)
            .bind(micros(p.at))
            .bind(p.gco2e_per_kwh)
            .bind(&p.source)
            .execute(&mut *tx)
            .await
            .map_err(err)?;
        }
        tx.commit().await.map_err(err)
    }

    async fn intensity_at(
        &self,
        zone: &str,
        t: DateTime<Utc>,
        max_age: Duration,
    ) -> Result<Option<IntensityPoint>, StoreError> {
        let row = sqlx::query(
            "SELECT zone, at_us, gco2e_per_kwh, source FROM intensities \
             WHERE zone = ? AND at_us <= ? AND at_us > ? ORDER BY at_us DESC LIMIT 1",
        )
        .bind(zone)
        .bind(micros(t))
        .bind(micros(t - max_age))
        .fetch_optional(self.pool())
        .await
        .map_err(|e| convert_sqlx_err("reading an intensity", e))?;
        row.as_ref().map(intensity).transpose()
    }

    async fn intensities(
        &self,
        zone: &str,
        range: TimeRange,
    ) -> Result<Vec<IntensityPoint>, StoreError> {
        let rows = sqlx::query(
            "SELECT zone, at_us, gco2e_per_kwh, source FROM intensities \
             WHERE zone = ? AND at_us >= ? AND at_us < ? ORDER BY at_us",
        )
        .bind(zone)
        .bind(micros_ceil(range.from()))
        .bind(micros_ceil(range.to()))
        .fetch_all(self.pool())
        .await
        .map_err(|e| convert_sqlx_err("reading intensities", e))?;
        rows.iter().map(intensity).collect()
    }
}

fn record_json(record: &RecommendationRecord) -> Result<String, StoreError> {
    serde_json::to_string(record).map_err(|e| {
        StoreError::invalid_data(BACKEND, "recommendation cannot be encoded").with_source(e)
    })
}

#[async_trait]
impl RecommendationStore for SqliteFootprintRepository {
    fn backend(&self) -> &'static str {
        BACKEND
    }

    async fn records(&self) -> Result<Vec<RecommendationRecord>, StoreError> {
        let bodies: Vec<String> =
            sqlx::query_scalar("SELECT body FROM recommendations ORDER BY id")
                .fetch_all(self.pool())
                .await
                .map_err(|e| convert_sqlx_err("reading recommendations", e))?;
        bodies
            .iter()
            .map(|b| serde_json::from_str(b).map_err(|e| invalid("a recommendation", e)))
            .collect()
    }

    async fn replace_records(&self, records: &[RecommendationRecord]) -> Result<(), StoreError> {
        let mut ids = std::collections::HashSet::new();
        for r in records {
            if !ids.insert(r.recommendation.id.as_str()) {
                return Err(StoreError::invalid_data(
                    BACKEND,
                    format!("two records with id {}", r.recommendation.id),
                ));
            }
        }
        let err = |e| convert_sqlx_err("storing recommendations", e);
        let mut tx = self.pool().begin().await.map_err(err)?;
        sqlx::query("DELETE FROM recommendations")
            .execute(&mut *tx)
            .await
            .map_err(err)?;
        for r in records {
            sqlx::query("INSERT INTO recommendations (id, body) VALUES (?, ?)")
                .bind(&r.recommendation.id)
                .bind(record_json(r)?)
                .execute(&mut *tx)
                .await
                .map_err(err)?;
        }
        tx.commit().await.map_err(err)
    }

    async fn update_record(&self, record: &RecommendationRecord) -> Result<(), StoreError> {
        let done = sqlx::query("UPDATE recommendations SET body = ? WHERE id = ?")
            .bind(record_json(record)?)
            .bind(&record.recommendation.id)
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

fn kind_name(kind: RecommendationType) -> &'static str {
    kind.name()
}

fn kind_of(name: &str) -> Result<RecommendationType, StoreError> {
    RecommendationType::ALL
        .into_iter()
        .find(|k| k.name() == name)
        .ok_or_else(|| {
            StoreError::invalid_data(BACKEND, format!("unknown recommendation type {name}"))
        })
}

#[async_trait]
impl SavingsLedger for SqliteFootprintRepository {
    fn backend(&self) -> &'static str {
        BACKEND
    }

    async fn record_savings(&self, entries: &[LedgerEntry]) -> Result<(), StoreError> {
        let err = |e| convert_sqlx_err("recording savings", e);
        let mut tx = self.pool().begin().await.map_err(err)?;
        for e in entries {
            sqlx::query(
                "INSERT INTO savings_ledger (recommendation_id, period_start_us, period_end_us, kind, \
                 namespace, co2e_grams, cost) VALUES (?, ?, ?, ?, ?, ?, ?) \
                 ON CONFLICT (recommendation_id, period_start_us) DO UPDATE SET \
                 period_end_us = excluded.period_end_us, kind = excluded.kind, \
                 namespace = excluded.namespace, co2e_grams = excluded.co2e_grams, cost = excluded.cost",
            )
            .bind(&e.recommendation_id)
            .bind(micros(e.period_start))
            .bind(micros(e.period_end))
            .bind(kind_name(e.kind))
            .bind(e.namespace.as_deref())
            .bind(e.co2e_grams)
            .bind(e.cost)
            .execute(&mut *tx)
            .await
            .map_err(err)?;
        }
        tx.commit().await.map_err(err)
    }

    async fn savings_by_kind(&self, range: TimeRange) -> Result<Vec<LedgerTotal>, StoreError> {
        let rows = sqlx::query(
            "SELECT kind, SUM(co2e_grams), COALESCE(SUM(cost), 0), SUM(cost IS NULL) \
             FROM savings_ledger WHERE period_start_us >= ? AND period_start_us < ? \
             GROUP BY kind",
        )
        .bind(micros_ceil(range.from()))
        .bind(micros_ceil(range.to()))
        .fetch_all(self.pool())
        .await
        .map_err(|e| convert_sqlx_err("summing savings", e))?;
        let mut out = rows
            .iter()
            .map(|r| {
                Ok(LedgerTotal {
                    kind: kind_of(&r.get::<String, _>(0))?,
                    co2e_grams: r.get(1),
                    cost: r.get(2),
                    entries_without_cost: usize::try_from(r.get::<i64, _>(3)).unwrap_or(0),
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        out.sort_by_key(|t| t.kind);
        Ok(out)
    }
}

#[async_trait]
impl EmbodiedCache for SqliteFootprintRepository {
    fn backend(&self) -> &'static str {
        BACKEND
    }

    async fn cached_embodied(
        &self,
        provider: &str,
        instance_type: &str,
    ) -> Result<Option<EmbodiedCacheEntry>, StoreError> {
        let body: Option<String> = sqlx::query_scalar(
            "SELECT body FROM embodied_cache WHERE provider = ? AND instance_type = ?",
        )
        .bind(provider.to_ascii_lowercase())
        .bind(instance_type.to_ascii_lowercase())
        .fetch_optional(self.pool())
        .await
        .map_err(|e| convert_sqlx_err("reading the embodied cache", e))?;
        body.map(|b| serde_json::from_str(&b).map_err(|e| invalid("an embodied figure", e)))
            .transpose()
    }

    async fn cache_embodied(&self, entry: &EmbodiedCacheEntry) -> Result<(), StoreError> {
        let body = serde_json::to_string(entry).map_err(|e| {
            StoreError::invalid_data(BACKEND, "embodied figure cannot be encoded").with_source(e)
        })?;
        sqlx::query(
            "INSERT INTO embodied_cache (provider, instance_type, kgco2e, lifespan_hours, \
             fetched_at_us, body) VALUES (?, ?, ?, ?, ?, ?) \
             ON CONFLICT (provider, instance_type) DO UPDATE SET kgco2e = excluded.kgco2e, \
             lifespan_hours = excluded.lifespan_hours, fetched_at_us = excluded.fetched_at_us, \
             body = excluded.body",
        )
        .bind(entry.provider.to_ascii_lowercase())
        .bind(entry.instance_type.to_ascii_lowercase())
        .bind(entry.kgco2e)
        .bind(entry.lifespan_hours)
        .bind(micros(entry.fetched_at))
        .bind(body)
        .execute(self.pool())
        .await
        .map_err(|e| convert_sqlx_err("caching an embodied figure", e))?;
        Ok(())
    }
}
