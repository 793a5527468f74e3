//! The history ports for both SQL backends: the snapshot archive and every read are shared
//! (each in the backend's SQL, [`super::Statements`]); the batch writes, the node history's
//! writes and the embodied cache are the backend's ([`HistoryOps`]).

use std::collections::HashSet;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use greenkube_core::ports::{
    EmbodiedCache, EmbodiedCacheEntry, IntensityHistory, IntensityPoint, LedgerEntry, LedgerTotal,
    NodeHistory, NodeVersion, PackedSnapshot, RecommendationStore, SavingsLedger, SnapshotArchive,
    StoreError, TimeRange,
};
use greenkube_core::recommend::RecommendationRecord;
use greenkube_core::{Node, Snapshot};

use super::exec::{Bind as _, execute_in, fetch_all, fetch_optional};
use super::rows::{Columns, invalid};
use super::{Dialect, HistoryOps, SqlStore};
use crate::store::codec::{pack_snapshot, recommendation_type, unpack_snapshot};

/// The cluster as stored: `""` for none.
fn cluster_key(cluster: Option<&str>) -> String {
    cluster.unwrap_or("").to_string()
}

/// A row of [`super::Statements::nodes_at`].
fn node_version<D: Dialect>(row: &D::Row) -> Result<NodeVersion, StoreError> {
    let mut c = Columns::<D>::new(row);
    let valid_from = c.time()?;
    let valid_to = c.opt_time()?;
    let body: String = c.get()?;
    Ok(NodeVersion {
        node: serde_json::from_str(&body).map_err(|e| invalid::<D>("a node version", e))?,
        valid_from,
        valid_to,
    })
}

/// A row of [`super::Statements::intensity_at`].
fn intensity<D: Dialect>(row: &D::Row) -> Result<IntensityPoint, StoreError> {
    let mut c = Columns::<D>::new(row);
    Ok(IntensityPoint {
        zone: c.get()?,
        at: c.time()?,
        gco2e_per_kwh: c.get()?,
        source: c.get()?,
    })
}

#[async_trait]
impl<D: Dialect> SnapshotArchive for SqlStore<D> {
    fn backend(&self) -> &'static str {
        D::BACKEND
    }

    fn pack(&self, snapshot: &Snapshot) -> Result<PackedSnapshot, StoreError> {
        pack_snapshot(D::BACKEND, snapshot)
    }

    /// One transaction for all of them.
    async fn archive_packed(&self, packed: &[PackedSnapshot]) -> Result<(), StoreError> {
        const DOING: &str = "archiving snapshots";
        if packed.is_empty() {
            return Ok(());
        }
        let mut tx = self
            .pool
            .begin()
            .await
            .map_err(|e| D::error("starting to archive snapshots", e))?;
        for p in packed {
            let query = sqlx::query(D::SQL.archive)
                .arg(cluster_key(p.cluster.as_deref()))
                .time(p.window_start)
                .arg(p.body.clone());
            execute_in::<D>(&mut tx, query, DOING).await?;
        }
        tx.commit()
            .await
            .map_err(|e| D::error("committing archived snapshots", e))
    }

    async fn packed(
        &self,
        cluster: Option<&str>,
        window_start: DateTime<Utc>,
    ) -> Result<Option<PackedSnapshot>, StoreError> {
        let query = sqlx::query(D::SQL.snapshot)
            .arg(cluster_key(cluster))
            .time(window_start);
        let Some(row) = fetch_optional(&self.pool, query, "reading an archived snapshot").await?
        else {
            return Ok(None);
        };
        Ok(Some(PackedSnapshot {
            cluster: cluster.map(Arc::from),
            window_start,
            body: Columns::<D>::new(&row).get()?,
        }))
    }

    fn unpack(&self, packed: &PackedSnapshot) -> Result<Snapshot, StoreError> {
        unpack_snapshot(D::BACKEND, packed)
    }

    async fn archived_windows(
        &self,
        range: TimeRange,
    ) -> Result<Vec<(Option<Arc<str>>, DateTime<Utc>)>, StoreError> {
        let query = sqlx::query(D::SQL.archived_windows)
            .bound(range.from())
            .bound(range.to());
        let rows = fetch_all(&self.pool, query, "listing archived snapshots").await?;
        rows.iter()
            .map(|row| {
                let mut c = Columns::<D>::new(row);
                let cluster: String = c.get()?;
                Ok(((!cluster.is_empty()).then(|| Arc::from(cluster)), c.time()?))
            })
            .collect()
    }
}

#[async_trait]
impl<D: HistoryOps> NodeHistory for SqlStore<D> {
    fn backend(&self) -> &'static str {
        D::BACKEND
    }

    async fn record_nodes(
        &self,
        cluster: Option<&str>,
        at: DateTime<Utc>,
        nodes: &[Node],
    ) -> Result<(), StoreError> {
        D::record_nodes(&self.pool, &cluster_key(cluster), at, nodes).await
    }

    async fn nodes_at(
        &self,
        cluster: Option<&str>,
        t: DateTime<Utc>,
    ) -> Result<Vec<Node>, StoreError> {
        let query = sqlx::query(D::SQL.nodes_at)
            .arg(cluster_key(cluster))
            .time(t);
        let rows = fetch_all(&self.pool, query, "reading nodes").await?;
        rows.iter()
            .map(|row| node_version::<D>(row).map(|v| v.node))
            .collect()
    }

    async fn node_versions(
        &self,
        cluster: Option<&str>,
        name: &str,
    ) -> Result<Vec<NodeVersion>, StoreError> {
        let query = sqlx::query(D::SQL.node_versions)
            .arg(cluster_key(cluster))
            .arg(name.to_string());
        let rows = fetch_all(&self.pool, query, "reading node versions").await?;
        rows.iter().map(node_version::<D>).collect()
    }
}

#[async_trait]
impl<D: HistoryOps> IntensityHistory for SqlStore<D> {
    fn backend(&self) -> &'static str {
        D::BACKEND
    }

    async fn put_intensities(&self, points: &[IntensityPoint]) -> Result<(), StoreError> {
        IntensityPoint::check_all(points).map_err(|m| StoreError::invalid_data(D::BACKEND, m))?;
        D::put_intensities(&self.pool, points).await
    }

    async fn intensity_at(
        &self,
        zone: &str,
        t: DateTime<Utc>,
        max_age: Duration,
    ) -> Result<Option<IntensityPoint>, StoreError> {
        // `at <= t` and `at > t - max_age`; a `max_age` beyond the calendar means no lower bound.
        let oldest = t
            .checked_sub_signed(max_age)
            .unwrap_or(DateTime::<Utc>::MIN_UTC);
        let query = sqlx::query(D::SQL.intensity_at)
            .arg(zone.to_string())
            .time(t)
            .time(oldest);
        let row = fetch_optional(&self.pool, query, "reading an intensity").await?;
        row.as_ref().map(intensity::<D>).transpose()
    }

    async fn intensities(
        &self,
        zone: &str,
        range: TimeRange,
    ) -> Result<Vec<IntensityPoint>, StoreError> {
        let query = sqlx::query(D::SQL.intensities)
            .arg(zone.to_string())
            .bound(range.from())
            .bound(range.to());
        let rows = fetch_all(&self.pool, query, "reading intensities").await?;
        rows.iter().map(intensity::<D>).collect()
    }
}

fn record_json<D: Dialect>(record: &RecommendationRecord) -> Result<String, StoreError> {
    serde_json::to_string(record).map_err(|e| {
        StoreError::invalid_data(D::BACKEND, "recommendation cannot be encoded").with_source(e)
    })
}

#[async_trait]
impl<D: HistoryOps> RecommendationStore for SqlStore<D> {
    fn backend(&self) -> &'static str {
        D::BACKEND
    }

    async fn records(&self) -> Result<Vec<RecommendationRecord>, StoreError> {
        let query = sqlx::query(D::SQL.records);
        let rows = fetch_all(&self.pool, query, "reading recommendations").await?;
        rows.iter()
            .map(|row| {
                let body: String = Columns::<D>::new(row).get()?;
                serde_json::from_str(&body).map_err(|e| invalid::<D>("a recommendation", e))
            })
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
                    D::BACKEND,
                    format!("two records with id {id}"),
                ));
            }
            ids.push(id);
            bodies.push(record_json::<D>(r)?);
        }
        D::replace_records(&self.pool, &ids, &bodies).await
    }

    async fn update_record(&self, record: &RecommendationRecord) -> Result<(), StoreError> {
        let id = &record.recommendation.id;
        let query = sqlx::query(D::SQL.update_record)
            .arg(id.clone())
            .arg(record_json::<D>(record)?);
        match fetch_optional(&self.pool, query, "updating a recommendation").await? {
            Some(_) => Ok(()),
            None => Err(StoreError::invalid_data(
                D::BACKEND,
                format!("no recommendation with id {id}"),
            )),
        }
    }
}

#[async_trait]
impl<D: HistoryOps> SavingsLedger for SqlStore<D> {
    fn backend(&self) -> &'static str {
        D::BACKEND
    }

    async fn record_savings(&self, entries: &[LedgerEntry]) -> Result<(), StoreError> {
        D::record_savings(&self.pool, entries).await
    }

    async fn savings_by_kind(&self, range: TimeRange) -> Result<Vec<LedgerTotal>, StoreError> {
        let query = sqlx::query(D::SQL.savings_by_kind)
            .bound(range.from())
            .bound(range.to());
        let rows = fetch_all(&self.pool, query, "summing savings").await?;
        let mut out = rows
            .iter()
            .map(|row| {
                let mut c = Columns::<D>::new(row);
                let kind: String = c.get()?;
                Ok(LedgerTotal {
                    kind: recommendation_type(D::BACKEND, &kind)?,
                    co2e_grams: c.get()?,
                    cost: c.get()?,
                    entries_without_cost: usize::try_from(c.get::<i64>()?).unwrap_or(0),
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        out.sort_by_key(|t| t.kind);
        Ok(out)
    }
}

#[async_trait]
impl<D: HistoryOps> EmbodiedCache for SqlStore<D> {
    fn backend(&self) -> &'static str {
        D::BACKEND
    }

    async fn cached_embodied(
        &self,
        provider: &str,
        instance_type: &str,
    ) -> Result<Option<EmbodiedCacheEntry>, StoreError> {
        D::cached_embodied(&self.pool, provider, instance_type).await
    }

    async fn cache_embodied(&self, entry: &EmbodiedCacheEntry) -> Result<(), StoreError> {
        D::cache_embodied(&self.pool, entry).await
    }
}
