//! The history writes in SQLite (the reads are shared, `super::super::sql`): node versions,
//! intensities, recommendations, the savings ledger and the embodied cache. Each write is one
//! transaction.

use std::collections::HashSet;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use greenkube_core::Node;
use greenkube_core::ports::{EmbodiedCacheEntry, IntensityPoint, LedgerEntry, StoreError};
use sqlx::{Row, Sqlite, SqlitePool};

use crate::store::codec::micros;
use crate::store::sql::{Dialect as _, HistoryOps, invalid};

fn node_json(node: &Node) -> Result<String, StoreError> {
    serde_json::to_string(node).map_err(|e| {
        StoreError::invalid_data(Sqlite::BACKEND, "node cannot be encoded").with_source(e)
    })
}

#[async_trait]
impl HistoryOps for Sqlite {
    async fn record_nodes(
        pool: &SqlitePool,
        cluster: &str,
        at: DateTime<Utc>,
        nodes: &[Node],
    ) -> Result<(), StoreError> {
        let at_us = micros(at);
        let err = |e| Sqlite::error("recording nodes", e);
        // Read, then write: the write lock is taken first (waiting for another writer), or a
        // write landing between this read and this write would fail it at once (a deferred
        // transaction's stale snapshot cannot be upgraded; the busy handler is not used).
        let mut tx = pool.begin_with("BEGIN IMMEDIATE").await.map_err(err)?;
        let latest: Option<i64> =
            sqlx::query_scalar("SELECT latest_us FROM node_observations WHERE cluster = ?")
                .bind(cluster)
                .fetch_optional(&mut *tx)
                .await
                .map_err(err)?;
        if latest.is_some_and(|l| at_us < l) {
            return Err(StoreError::older_observation(
                Self::BACKEND,
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
        // The versions to close (changed and vanished nodes), then the ones to open.
        let mut closes: Vec<(String, i64)> = Vec::new();
        let mut opens = Vec::new();
        let mut seen = HashSet::new();
        for node in nodes {
            let body = node_json(node)?;
            seen.insert(node.name.to_string());
            let existing = current
                .iter()
                .find(|r| r.get::<String, _>("name") == node.name.as_ref());
            if existing.is_some_and(|r| r.get::<String, _>("body") == body) {
                continue;
            }
            if let Some(r) = existing {
                closes.push((node.name.to_string(), r.get("valid_from_us")));
            }
            opens.push((node.name.as_ref(), body));
        }
        closes.extend(current.iter().filter_map(|r| {
            let name: String = r.get("name");
            (!seen.contains(&name)).then(|| (name, r.get("valid_from_us")))
        }));
        for (name, from_us) in closes {
            sqlx::query(
                "UPDATE node_versions SET valid_to_us = ?1 \
                 WHERE cluster = ?2 AND name = ?3 AND valid_from_us = ?4",
            )
            .bind(at_us)
            .bind(cluster)
            .bind(name)
            .bind(from_us)
            .execute(&mut *tx)
            .await
            .map_err(err)?;
        }
        // A version opened at the same instant as the one it replaces takes its place.
        for (name, body) in opens {
            sqlx::query(
                "INSERT INTO node_versions (cluster, name, valid_from_us, valid_to_us, body) \
                 VALUES (?, ?, ?, NULL, ?) ON CONFLICT (cluster, name, valid_from_us) \
                 DO UPDATE SET body = excluded.body, valid_to_us = NULL",
            )
            .bind(cluster)
            .bind(name)
            .bind(at_us)
            .bind(body)
            .execute(&mut *tx)
            .await
            .map_err(err)?;
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

    async fn put_intensities(
        pool: &SqlitePool,
        points: &[IntensityPoint],
    ) -> Result<(), StoreError> {
        let err = |e| Sqlite::error("storing intensities", e);
        let mut tx = pool.begin().await.map_err(err)?;
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

    async fn replace_records(
        pool: &SqlitePool,
        ids: &[&str],
        bodies: &[String],
    ) -> Result<(), StoreError> {
        let err = |e| Sqlite::error("storing recommendations", e);
        let mut tx = pool.begin().await.map_err(err)?;
        sqlx::query("DELETE FROM recommendations")
            .execute(&mut *tx)
            .await
            .map_err(err)?;
        for (id, body) in ids.iter().zip(bodies) {
            sqlx::query("INSERT INTO recommendations (id, body) VALUES (?, ?)")
                .bind(id)
                .bind(body)
                .execute(&mut *tx)
                .await
                .map_err(err)?;
        }
        tx.commit().await.map_err(err)
    }

    async fn record_savings(pool: &SqlitePool, entries: &[LedgerEntry]) -> Result<(), StoreError> {
        let err = |e| Sqlite::error("recording savings", e);
        let mut tx = pool.begin().await.map_err(err)?;
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
            .bind(e.kind.name())
            .bind(e.namespace.as_deref())
            .bind(e.co2e_grams)
            .bind(e.cost)
            .execute(&mut *tx)
            .await
            .map_err(err)?;
        }
        tx.commit().await.map_err(err)
    }

    async fn cached_embodied(
        pool: &SqlitePool,
        provider: &str,
        instance_type: &str,
    ) -> Result<Option<EmbodiedCacheEntry>, StoreError> {
        // The key columns are lower-cased; the body keeps the caller's spelling.
        let body: Option<String> = sqlx::query_scalar(
            "SELECT body FROM embodied_cache WHERE provider = ? AND instance_type = ?",
        )
        .bind(provider.to_ascii_lowercase())
        .bind(instance_type.to_ascii_lowercase())
        .fetch_optional(pool)
        .await
        .map_err(|e| Sqlite::error("reading the embodied cache", e))?;
        body.map(|b| serde_json::from_str(&b).map_err(|e| invalid::<Self>("an embodied figure", e)))
            .transpose()
    }

    async fn cache_embodied(
        pool: &SqlitePool,
        entry: &EmbodiedCacheEntry,
    ) -> Result<(), StoreError> {
        let body = serde_json::to_string(entry).map_err(|e| {
            StoreError::invalid_data(Self::BACKEND, "embodied figure cannot be encoded")
                .with_source(e)
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
        .execute(pool)
        .await
        .map_err(|e| Sqlite::error("caching an embodied figure", e))?;
        Ok(())
    }
}
