//! `greenkube recommendations`: the recommendations a store keeps, with their lifecycle
//! (active, applied, ignored, stale).

use std::process::ExitCode;

use greenkube_adapters::app;
use greenkube_adapters::app::recommend::Change;
use greenkube_core::recommend::{AppliedValues, RecommendationStatus};

use crate::args::{RecommendationAction, RecommendationsArgs, RowsFormat, StatusFilter};
use crate::{printer, store};

impl StatusFilter {
    /// The status kept (`None`: every status).
    fn status(self) -> Option<RecommendationStatus> {
        match self {
            Self::All => None,
            Self::Active => Some(RecommendationStatus::Active),
            Self::Applied => Some(RecommendationStatus::Applied),
            Self::Ignored => Some(RecommendationStatus::Ignored),
            Self::Stale => Some(RecommendationStatus::Stale),
        }
    }
}

pub(crate) fn run(args: &RecommendationsArgs) -> anyhow::Result<ExitCode> {
    let (id, change) = match &args.action {
        None => return list(args, StatusFilter::Active, RowsFormat::Table),
        Some(RecommendationAction::List { status, format }) => {
            return list(args, *status, *format);
        }
        Some(RecommendationAction::Apply { id }) => (id, Change::Apply(AppliedValues::default())),
        Some(RecommendationAction::Ignore { id, reason }) => (
            id,
            Change::Ignore {
                reason: reason.clone(),
            },
        ),
        Some(RecommendationAction::Unignore { id }) => (id, Change::Unignore),
    };
    let record =
        store::runtime()?.block_on(store::using(&args.store.store, false, async |store| {
            anyhow::Ok(app::recommend::change(store, id, change, super::wall_clock()).await?)
        }))?;
    printer::lifecycle_changed(&record);
    Ok(ExitCode::SUCCESS)
}

fn list(
    args: &RecommendationsArgs,
    filter: StatusFilter,
    format: RowsFormat,
) -> anyhow::Result<ExitCode> {
    let records =
        store::runtime()?.block_on(store::using(&args.store.store, false, async |store| {
            anyhow::Ok(app::recommend::records(store, filter.status()).await?)
        }))?;
    match format {
        RowsFormat::Json => printer::json_line(&records)?,
        RowsFormat::Table => printer::lifecycle_table(&records)?,
        RowsFormat::Csv => printer::records_csv(
            &records,
            &[
                "recommendation.id",
                "status",
                "recommendation.type",
                "recommendation.target",
            ],
        )?,
        RowsFormat::Yaml => printer::yaml(&records)?,
    }
    Ok(ExitCode::SUCCESS)
}
