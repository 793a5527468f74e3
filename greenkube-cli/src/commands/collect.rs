//! `greenkube collect`: the collection daemon.

use chrono::TimeDelta;
use greenkube_adapters::app;
use greenkube_adapters::app::collect::{LoopConfig, Stop};
use greenkube_adapters::app::sources::SourceSettings;
use greenkube_adapters::collector::{Collector, CollectorConfig};
use greenkube_core::EstimateOptions;
use std::process::ExitCode;

use crate::args::{CollectArgs, DaemonArgs, SourceArgs};
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

/// The retention policy the daemon applies after each batch.
pub(crate) fn policy_of(
    daemon: &DaemonArgs,
) -> anyhow::Result<greenkube_core::ports::RetentionPolicy> {
    super::maintain::policy(&daemon.retention)
}

/// The loop of the daemon: `once` and `now` only for `greenkube collect --once`.
pub(crate) fn loop_config(
    daemon: &DaemonArgs,
    once: bool,
    now: Option<chrono::DateTime<chrono::Utc>>,
) -> LoopConfig {
    LoopConfig {
        step: daemon.step,
        since: daemon.since,
        once,
        now,
        delay: TimeDelta::seconds(daemon.delay_seconds),
        batch: BATCH,
        retries: 3,
    }
}

/// The collector of the daemon: the sources, the store's repositories, the cluster name, the
/// window length, the methodology and the retention applied after each batch.
pub(crate) fn collector(
    daemon: &DaemonArgs,
    sources: greenkube_adapters::collector::Sources,
    store: &greenkube_adapters::store::Store,
) -> anyhow::Result<Collector> {
    Ok(Collector::new(
        sources,
        store.collector_stores(),
        CollectorConfig {
            cluster: daemon.cluster.clone(),
            step: daemon.step,
            options: EstimateOptions {
                methodology: daemon.methodology,
                ..EstimateOptions::default()
            },
            retention: policy_of(daemon)?,
            ..CollectorConfig::default()
        },
    ))
}

/// What the daemon says after each cycle: the windows stored, and the roll-ups and cuts.
pub(crate) fn report_cycle(location: &str, cycle: &app::collect::Cycle) {
    if cycle.summary.windows > 0 {
        printer::collected_event(location, &cycle.due, &cycle.summary);
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
}

pub(crate) fn run(args: &CollectArgs) -> anyhow::Result<ExitCode> {
    // Checked before anything is opened: a bad retention is a usage error.
    policy_of(&args.daemon)?;
    let config = loop_config(&args.daemon, args.once, args.now);
    store::multi_thread_runtime()?.block_on(store::using(
        &args.store.store,
        true,
        async |store| {
            let bar = Bar::new(BATCH);
            let sources =
                app::sources::sources(&settings(&args.sources), store.embodied.clone(), &bar)
                    .await?;
            let collector = collector(&args.daemon, sources, store)?;
            let stop = Stop::on_signals();
            app::collect::run_loop(
                &collector,
                &config,
                &stop,
                &bar,
                &super::wall_clock,
                |cycle| report_cycle(&store.location, cycle),
            )
            .await?;
            anyhow::Ok(())
        },
    ))?;
    Ok(ExitCode::SUCCESS)
}
