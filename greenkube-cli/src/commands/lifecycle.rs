//! `greenkube recommendations` and `recommend --save`: the recommendations a store keeps, with
//! their lifecycle (active, applied, ignored, stale).

use std::process::ExitCode;

use anyhow::bail;
use chrono::{DateTime, Utc};
use greenkube_core::recommend::{
    Recommendation, RecommendationRecord, RecommendationStatus, reconcile,
};

use crate::args::{RecommendationAction, RecommendationsArgs, ReportFormat, StatusFilter};
use crate::{printer, store};

/// What saving a scan did.
#[derive(Debug, Default)]
pub(crate) struct Saved {
    pub(crate) new: usize,
    pub(crate) stale: usize,
    /// Ids the team ignored, left out of the output.
    pub(crate) ignored: Vec<String>,
}

/// Merges a scan into the store's recommendations (see `reconcile`) and replaces them.
pub(crate) fn save_scan(url: &str, fresh: &[Recommendation]) -> anyhow::Result<Saved> {
    let runtime = store::runtime()?;
    runtime.block_on(async {
        let history = store::open_history(url).await?;
        let previous = history.recommendations.records().await?;
        let known: std::collections::HashSet<String> = previous
            .iter()
            .map(|r| r.recommendation.id.clone())
            .collect();
        let merged = reconcile(previous, fresh, super::wall_clock());
        history.recommendations.replace_records(&merged).await?;
        let mut saved = Saved::default();
        for r in &merged {
            match r.status {
                RecommendationStatus::Stale => saved.stale += 1,
                RecommendationStatus::Ignored
                    if fresh.iter().any(|f| f.id == r.recommendation.id) =>
                {
                    saved.ignored.push(r.recommendation.id.clone());
                }
                _ => {}
            }
        }
        saved.new = fresh.iter().filter(|f| !known.contains(&f.id)).count();
        anyhow::Ok(saved)
    })
}

/// A state change: the record, the reason (for `ignore`) and the time.
type Change = fn(&mut RecommendationRecord, Option<String>, DateTime<Utc>);

fn wanted(filter: StatusFilter, status: RecommendationStatus) -> bool {
    match filter {
        StatusFilter::All => true,
        StatusFilter::Active => status == RecommendationStatus::Active,
        StatusFilter::Applied => status == RecommendationStatus::Applied,
        StatusFilter::Ignored => status == RecommendationStatus::Ignored,
        StatusFilter::Stale => status == RecommendationStatus::Stale,
    }
}

/// The one record whose id is `id` or starts with it.
fn find<'a>(
    records: &'a mut [RecommendationRecord],
    id: &str,
) -> anyhow::Result<&'a mut RecommendationRecord> {
    let id = id.trim();
    if id.is_empty() {
        bail!("give a recommendation id (see `greenkube recommendations list --status all`)");
    }
    let matching: Vec<usize> = records
        .iter()
        .enumerate()
        .filter(|(_, r)| r.recommendation.id == id || r.recommendation.id.starts_with(id))
        .map(|(i, _)| i)
        .collect();
    match matching.as_slice() {
        [] => bail!(
            "no recommendation `{id}` in the store (see `greenkube recommendations list --status all`)"
        ),
        [one] => Ok(&mut records[*one]),
        many => bail!(
            "`{id}` matches {} recommendations; give more of the id",
            many.len()
        ),
    }
}

pub(crate) fn run(args: &RecommendationsArgs) -> anyhow::Result<ExitCode> {
    let runtime = store::runtime()?;
    runtime.block_on(async {
        let history = store::open_history(&args.store.store).await?;
        let mut records = history.recommendations.records().await?;
        let (id, change): (&str, Change) = match &args.action {
            None => {
                printer::lifecycle_table(&records, |s| wanted(StatusFilter::Active, s))?;
                return anyhow::Ok(());
            }
            Some(RecommendationAction::List { status, format }) => {
                let shown: Vec<&RecommendationRecord> = records
                    .iter()
                    .filter(|r| wanted(*status, r.status))
                    .collect();
                match format {
                    ReportFormat::Json => printer::json_line(&shown)?,
                    ReportFormat::Table => {
                        printer::lifecycle_table(&records, |s| wanted(*status, s))?;
                    }
                }
                return anyhow::Ok(());
            }
            Some(RecommendationAction::Apply { id }) => (id, |r, _, t| r.apply(t)),
            Some(RecommendationAction::Ignore { id, .. }) => (id, |r, why, t| r.ignore(why, t)),
            Some(RecommendationAction::Unignore { id }) => (id, |r, _, t| r.unignore(t)),
        };
        let reason = match &args.action {
            Some(RecommendationAction::Ignore { reason, .. }) => reason.clone(),
            _ => None,
        };
        let record = find(&mut records, id)?;
        change(record, reason, super::wall_clock());
        history.recommendations.update_record(record).await?;
        printer::lifecycle_changed(record);
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}
