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

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use greenkube_core::Node;
use greenkube_core::ports::{EmbodiedCacheEntry, IntensityPoint, LedgerEntry, StoreError};
use sqlx::postgres::PgPool;
use sqlx::{PgConnection, Postgres};

use super::finish;
use super::model::instant;
use crate::store::sql::{Columns, Dialect as _, HistoryOps, invalid};

const BACKEND: &str = Postgres::BACKEND;

fn node_value(node: &Node) -> Result<serde_json::Value, StoreError> {
    serde_json::to_value(node)
        .map_err(|e| StoreError::invalid_data(BACKEND, "node cannot be encoded").with_source(e))
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
                let stored: serde_json::Value = serde_json::from_str(body)
                    .map_err(|e| invalid::<Postgres>("a node version", e))?;
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

/// The body of `NodeHistory::record_nodes`, inside its transaction.
async fn record_nodes_in(
    conn: &mut PgConnection,
    cluster: &str,
    at: DateTime<Utc>,
    nodes: &[Node],
) -> Result<(), StoreError> {
    let err = |e| Postgres::error("recording nodes", e);
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
        return Err(StoreError::older_observation(
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
        .map(|r| {
            let mut c = Columns::<Postgres>::new(r);
            Ok((c.get()?, c.get()?))
        })
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
impl HistoryOps for Postgres {
    async fn record_nodes(
        pool: &PgPool,
        cluster: &str,
        at: DateTime<Utc>,
        nodes: &[Node],
    ) -> Result<(), StoreError> {
        const DOING: &str = "recording nodes";
        let mut tx = pool.begin().await.map_err(|e| Postgres::error(DOING, e))?;
        let recorded = record_nodes_in(&mut tx, cluster, instant(at), nodes).await;
        // Rolled back now on failure, so the cluster's lock goes at once.
        finish(tx, recorded, DOING).await
    }

    async fn put_intensities(pool: &PgPool, points: &[IntensityPoint]) -> Result<(), StoreError> {
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
        .execute(pool)
        .await
        .map_err(|e| Postgres::error("storing intensities", e))?;
        Ok(())
    }

    async fn replace_records(
        pool: &PgPool,
        ids: &[&str],
        bodies: &[String],
    ) -> Result<(), StoreError> {
        const DOING: &str = "storing recommendations";
        let mut tx = pool.begin().await.map_err(|e| Postgres::error(DOING, e))?;
        let replaced = replace_records_in(&mut tx, ids, bodies).await;
        finish(tx, replaced, DOING).await
    }

    async fn record_savings(pool: &PgPool, entries: &[LedgerEntry]) -> Result<(), StoreError> {
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
        .execute(pool)
        .await
        .map_err(|e| Postgres::error("recording savings", e))?;
        Ok(())
    }

    async fn cached_embodied(
        pool: &PgPool,
        provider: &str,
        instance_type: &str,
    ) -> Result<Option<EmbodiedCacheEntry>, StoreError> {
        let row = sqlx::query(
            "SELECT provider, instance_type, kgco2e, lifespan_hours, fetched_at \
             FROM embodied_cache WHERE provider_key = $1 AND instance_type_key = $2",
        )
        .bind(provider.to_ascii_lowercase())
        .bind(instance_type.to_ascii_lowercase())
        .fetch_optional(pool)
        .await
        .map_err(|e| Postgres::error("reading the embodied cache", e))?;
        row.map(|r| {
            let mut c = Columns::<Postgres>::new(&r);
            Ok(EmbodiedCacheEntry {
                provider: c.get()?,
                instance_type: c.get()?,
                kgco2e: c.get()?,
                lifespan_hours: c.get()?,
                fetched_at: c.time()?,
            })
        })
        .transpose()
    }

    async fn cache_embodied(pool: &PgPool, entry: &EmbodiedCacheEntry) -> Result<(), StoreError> {
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
        .execute(pool)
        .await
        .map_err(|e| Postgres::error("caching an embodied figure", e))?;
        Ok(())
    }
}

/// The body of `RecommendationStore::replace_records`, inside its transaction.
async fn replace_records_in(
    conn: &mut PgConnection,
    ids: &[&str],
    bodies: &[String],
) -> Result<(), StoreError> {
    let err = |e| Postgres::error("storing recommendations", e);
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    use chrono::TimeZone;
    use greenkube_core::recommend::RecommendationType;

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
