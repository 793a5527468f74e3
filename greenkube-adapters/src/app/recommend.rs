//! Recommendations from a store: scanning its archived windows, saving a scan with its
//! lifecycle, and listing and changing the saved recommendations.

use std::collections::{HashSet, VecDeque};

use chrono::{DateTime, Utc};
use greenkube_core::ports::{PackedSnapshot, StoreError, TimeRange};
use greenkube_core::recommend::{
    AppliedValues, Recommendation, RecommendationRecord, RecommendationStatus, Recommender,
    RecommenderConfig, reconcile,
};
use greenkube_core::{EstimateOptions, Footprint, Inventory, ReferenceData, Snapshot};

use super::AppError;
use crate::store::Store;

/// Streams the archived windows of `range` (of one cluster, or every cluster with `None`),
/// re-estimated with `options`, into `each`, one at a time, in order (memory does not grow with
/// the range); returns how many windows there were.
///
/// The steps overlap: while a window is estimated and handed to `each` (on this task), the
/// next two are decompressed and parsed (on blocking threads, [`SnapshotArchive::unpack`]) and
/// the one after them is read from the store.
///
/// [`SnapshotArchive::unpack`]: greenkube_core::ports::SnapshotArchive::unpack
pub async fn observe_archived(
    store: &Store,
    range: TimeRange,
    cluster: Option<&str>,
    options: &EstimateOptions,
    mut each: impl FnMut(Footprint),
) -> Result<usize, AppError> {
    type Unpacking = tokio::task::JoinHandle<Result<Snapshot, StoreError>>;
    // Unpacking is the longest step: two windows at a time keep both cores busy.
    const AHEAD: usize = 2;
    let mut windows = store.archive.archived_windows(range).await?;
    if let Some(wanted) = cluster {
        windows.retain(|(c, _)| c.as_deref() == Some(wanted));
    }
    let unpack = |packed: PackedSnapshot| -> Unpacking {
        let archive = store.archive.clone();
        tokio::task::spawn_blocking(move || archive.unpack(&packed))
    };
    let finish = |unpacking: Unpacking| async move {
        let snapshot = unpacking.await.map_err(|e| {
            AppError::Store(
                StoreError::other(store.archive.backend(), "unpacking a snapshot stopped")
                    .with_source(e),
            )
        })??;
        greenkube_core::estimate(&snapshot, options).map_err(|source| AppError::Estimate {
            window: snapshot.window_start,
            source,
        })
    };
    let mut pending: VecDeque<Unpacking> = VecDeque::with_capacity(AHEAD + 1);
    for (cluster, start) in &windows {
        if let Some(packed) = store.archive.packed(cluster.as_deref(), *start).await? {
            pending.push_back(unpack(packed));
        }
        if pending.len() > AHEAD
            && let Some(unpacking) = pending.pop_front()
        {
            each(finish(unpacking).await?);
        }
    }
    while let Some(unpacking) = pending.pop_front() {
        each(finish(unpacking).await?);
    }
    Ok(windows.len())
}

/// What a scan found.
#[derive(Debug, Clone)]
pub struct Scan {
    /// The recommendations, best first.
    pub recommendations: Vec<Recommendation>,
    /// How many windows were read.
    pub windows: usize,
    /// Whether the windows were read back from the store's archive (`false`: observed as the
    /// collector made them, as [`super::demo::Demo::load_and_scan`] does on a first run).
    pub read_back: bool,
}

/// Scans the archived windows of `range` in every cluster of the store, re-estimated with the
/// default methodology, for recommendations. Each cluster is analysed on its own and every
/// recommendation names it (see [`Recommender`]); a front end showing one cluster filters the
/// result by [`Recommendation::cluster`].
pub async fn scan(
    store: &Store,
    range: TimeRange,
    config: RecommenderConfig,
    inventory: Option<&Inventory>,
    reference: &ReferenceData,
) -> Result<Scan, AppError> {
    let mut recommender = Recommender::new(config, inventory);
    let options = EstimateOptions::default();
    let windows = observe_archived(store, range, None, &options, |footprint| {
        recommender.observe(&footprint);
    })
    .await?;
    Ok(Scan {
        recommendations: recommender.finish(reference),
        windows,
        read_back: true,
    })
}

/// What saving a scan did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Saved {
    /// Recommendations seen for the first time.
    pub new: usize,
    /// Saved recommendations the scan no longer finds (now `stale`).
    pub stale: usize,
    /// Ids of found recommendations the team ignored: a front end leaves them out.
    pub ignored: Vec<String>,
}

/// Merges a scan into the store's recommendations (new ones `active`, ones no longer found
/// `stale`, applied and ignored ones keep their state) and replaces them.
pub async fn save_scan(
    store: &Store,
    fresh: &[Recommendation],
    now: DateTime<Utc>,
) -> Result<Saved, AppError> {
    let previous = store.recommendations.records().await?;
    let known: HashSet<String> = previous
        .iter()
        .map(|r| r.recommendation.id.clone())
        .collect();
    let fresh_ids: HashSet<&str> = fresh.iter().map(|f| f.id.as_str()).collect();
    let merged = reconcile(previous, fresh, now);
    store.recommendations.replace_records(&merged).await?;
    let mut saved = Saved {
        new: fresh.iter().filter(|f| !known.contains(&f.id)).count(),
        ..Saved::default()
    };
    for record in &merged {
        match record.status {
            RecommendationStatus::Stale => saved.stale += 1,
            RecommendationStatus::Ignored
                if fresh_ids.contains(record.recommendation.id.as_str()) =>
            {
                saved.ignored.push(record.recommendation.id.clone());
            }
            _ => {}
        }
    }
    Ok(saved)
}

/// The saved recommendations with a status (all of them with `None`), best first as saved.
pub async fn records(
    store: &Store,
    status: Option<RecommendationStatus>,
) -> Result<Vec<RecommendationRecord>, AppError> {
    let mut records = store.recommendations.records().await?;
    if let Some(status) = status {
        records.retain(|r| r.status == status);
    }
    Ok(records)
}

/// A change of a saved recommendation's state.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// The team applied it, with what it reports (actual requests, measured savings).
    Apply(AppliedValues),
    /// The team chose not to apply it, with an optional reason.
    Ignore {
        /// Why.
        reason: Option<String>,
    },
    /// Back to `active` after an ignore.
    Unignore,
}

/// Changes the one saved recommendation whose id is `id` or starts with it; returns it as
/// stored. [`AppError::NotFound`] when none matches, [`AppError::Invalid`] when the id is
/// empty or matches several.
pub async fn change(
    store: &Store,
    id: &str,
    change: Change,
    now: DateTime<Utc>,
) -> Result<RecommendationRecord, AppError> {
    let id = id.trim();
    if id.is_empty() {
        return Err(AppError::Invalid(
            "give a recommendation id (see `greenkube recommendations list --status all`)"
                .to_string(),
        ));
    }
    let mut records = store.recommendations.records().await?;
    let exact = records.iter().position(|r| r.recommendation.id == id);
    let index = match exact {
        Some(index) => index,
        None => {
            let matching: Vec<usize> = records
                .iter()
                .enumerate()
                .filter(|(_, r)| r.recommendation.id.starts_with(id))
                .map(|(index, _)| index)
                .collect();
            match matching.as_slice() {
                [] => {
                    return Err(AppError::NotFound(format!(
                        "no recommendation `{id}` in the store (see `greenkube recommendations \
                         list --status all`)"
                    )));
                }
                [one] => *one,
                many => {
                    return Err(AppError::Invalid(format!(
                        "`{id}` matches {} recommendations; give more of the id",
                        many.len()
                    )));
                }
            }
        }
    };
    let record = &mut records[index];
    match change {
        Change::Apply(values) => record.apply_with(values, now),
        Change::Ignore { reason } => record.ignore(reason, now),
        Change::Unignore => record.unignore(now),
    }
    store.recommendations.update_record(record).await?;
    Ok(records.swap_remove(index))
}
