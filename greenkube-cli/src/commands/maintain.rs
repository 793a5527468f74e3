//! `greenkube maintain`.

use std::process::ExitCode;

use greenkube_core::ports::RetentionPolicy;

use crate::args::{MaintainArgs, ReportFormat, RetentionArgs};
use crate::{printer, store};

/// The policy the retention flags ask for.
pub(crate) fn policy(args: &RetentionArgs) -> anyhow::Result<RetentionPolicy> {
    RetentionPolicy::new(args.keep_raw, args.keep_hourly, args.keep_daily.0).map_err(|e| {
        anyhow::Error::new(crate::exit::UsageError(format!(
            "check --keep-raw, --keep-hourly and --keep-daily: {e}"
        )))
    })
}

pub(crate) fn run(args: &MaintainArgs) -> anyhow::Result<ExitCode> {
    let policy = policy(&args.retention)?;
    let now = args.now.unwrap_or_else(super::wall_clock);
    let (location, summary) =
        store::runtime()?.block_on(store::using(&args.store.store, false, async |store| {
            let summary = store.footprints.maintain(&policy, now).await?;
            anyhow::Ok((store.location.clone(), summary))
        }))?;
    match args.format {
        ReportFormat::Json => printer::json_line(&printer::MaintenanceDocument::new(
            &location, &policy, now, &summary,
        ))?,
        ReportFormat::Table => printer::maintained(&location, &policy, &summary)?,
    }
    Ok(ExitCode::SUCCESS)
}
