//! `greenkube collect`: the collection daemon.

use chrono::TimeDelta;
use greenkube_adapters::app;
use greenkube_adapters::app::collect::{LoopConfig, Stop};
use greenkube_adapters::app::sources::SourceSettings;
use greenkube_adapters::collector::{Collector, CollectorConfig};
use greenkube_core::EstimateOptions;
use std::process::ExitCode;

use crate::args::{CollectArgs, SourceArgs};
use crate::progress::Bar;
use crate::{printer, store};

/// Windows per batch (and per store transaction).
const BATCH: usize = 12;

/// The sources the flags name.
pub(crate) fn settings(args: &SourceArgs) -> SourceSettings {
    SourceSettings {
        prometheus_url: args.prometheus_url.clone(),
        opencost_url: args.opencost_url.clone(),
        electricity_maps_url: args.electricity_maps_url.clone(),
        electricity_maps_token: args.electricity_maps_token.clone(),
        boavizta_url: args.boavizta_url.clone(),
        kubeconfig: args.kubeconfig.clone(),
        no_kubernetes: args.no_kubernetes,
        timeout: std::time::Duration::from_secs(args.source_timeout),
    }
}

pub(crate) fn run(args: &CollectArgs) -> anyhow::Result<ExitCode> {
    let retention = super::maintain::policy(&args.retention)?;
    let config = LoopConfig {
        step: args.step,
        since: args.since,
        once: args.once,
        now: args.now,
        delay: TimeDelta::seconds(args.delay_seconds),
        batch: BATCH,
        retries: 3,
    };
    store::multi_thread_runtime()?.block_on(store::using(
        &args.store.store,
        true,
        async |store| {
            let bar = Bar::new(BATCH);
            let sources =
                app::sources::sources(&settings(&args.sources), store.embodied.clone(), &bar)
                    .await?;
            let collector = Collector::new(
                sources,
                store.collector_stores(),
                CollectorConfig {
                    cluster: args.cluster.clone(),
                    step: args.step,
                    options: EstimateOptions {
                        methodology: args.methodology,
                        ..EstimateOptions::default()
                    },
                    retention,
                    ..CollectorConfig::default()
                },
            );
            let stop = Stop::on_signals();
            app::collect::run_loop(
                &collector,
                &config,
                &stop,
                &bar,
                &super::wall_clock,
                |cycle| {
                    if cycle.summary.windows > 0 {
                        printer::collected_event(&store.location, &cycle.due, &cycle.summary);
                    }
                    if let Some(done) = &cycle.maintenance
                        && (done.raw_rows_deleted > 0 || done.days_rolled > 0)
                    {
                        tracing::info!(
                            hours = done.hours_rolled,
                            days = done.days_rolled,
                            raw_rows_deleted = done.raw_rows_deleted,
                            "rolled up {} hours and {} days; {} raw rows past retention removed",
                            done.hours_rolled,
                            done.days_rolled,
                            done.raw_rows_deleted
                        );
                    }
                },
            )
            .await?;
            anyhow::Ok(())
        },
    ))?;
    Ok(ExitCode::SUCCESS)
}
