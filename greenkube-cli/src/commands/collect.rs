//! `greenkube collect`: the collection daemon.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use chrono::TimeDelta;
use greenkube_adapters::collector::{CollectError, Collector, CollectorConfig, Sources, Stores};
use greenkube_adapters::sources::boavizta::{BoaviztaSource, CachedEmbodied};
use greenkube_adapters::sources::discovery::{DiscoveryTarget, discover_url};
use greenkube_adapters::sources::electricity_maps::ElectricityMapsSource;
use greenkube_adapters::sources::http::HttpPolicy;
use greenkube_adapters::sources::kubernetes::KubernetesSource;
use greenkube_adapters::sources::opencost::OpenCostSource;
use greenkube_adapters::sources::prometheus::PrometheusSource;
use greenkube_core::collect::due_windows;
use greenkube_core::ports::{EmbodiedCache, SourceErrorKind, floor_time};

use super::windows;
use crate::args::CollectArgs;
use crate::{printer, store};

/// Windows per batch (and per store transaction).
const BATCH: usize = 12;

/// The sources the flags (or discovery) name.
async fn sources(args: &CollectArgs, cache: Arc<dyn EmbodiedCache>) -> anyhow::Result<Sources> {
    let policy = HttpPolicy {
        request_timeout: std::time::Duration::from_secs(args.source_timeout.max(1)),
        ..HttpPolicy::default()
    };
    let kube = if args.no_kubernetes {
        None
    } else {
        let made = match args.kubeconfig.as_deref() {
            Some(path) => KubernetesSource::from_kubeconfig(Some(Path::new(path))).await,
            None => KubernetesSource::infer().await,
        };
        match made {
            Ok(k) => Some(k),
            Err(e) if args.prometheus_url.is_some() => {
                printer::note(&format!(
                    "no Kubernetes API ({e}); nodes and pods come from the metrics only"
                ));
                None
            }
            Err(e) => {
                return Err(anyhow::Error::new(e).context(
                    "cannot reach the Kubernetes API to discover Prometheus; give \
                     --prometheus-url (and --no-kubernetes outside a cluster)",
                ));
            }
        }
    };
    let client = kube.as_ref().map(KubernetesSource::client);
    let prometheus = discover_url(
        DiscoveryTarget::Prometheus,
        args.prometheus_url.as_deref(),
        client,
    )
    .await
    .context("no Prometheus: give --prometheus-url")?;
    let usage = PrometheusSource::new(&prometheus.url, policy)?;
    let costs = match discover_url(
        DiscoveryTarget::Opencost,
        args.opencost_url.as_deref(),
        client,
    )
    .await
    {
        Ok(found) => Some(Arc::new(OpenCostSource::new(&found.url, policy)?)
            as Arc<dyn greenkube_core::ports::CostSource>),
        Err(e) if e.kind == SourceErrorKind::NotConfigured && args.opencost_url.is_none() => {
            printer::note(&format!("no OpenCost ({e}); costs are unknown"));
            None
        }
        Err(e) => return Err(e.into()),
    };
    let intensity = match args
        .electricity_maps_token
        .as_deref()
        .filter(|t| !t.is_empty())
    {
        Some(token) => Some(Arc::new(ElectricityMapsSource::new(
            &args.electricity_maps_url,
            token,
            policy,
        )?)
            as Arc<dyn greenkube_core::ports::IntensitySource>),
        None => None,
    };
    let embodied = match args.boavizta_url.as_deref() {
        Some(url) => {
            let source = Arc::new(BoaviztaSource::new(url, policy)?);
            Some(
                Arc::new(CachedEmbodied::new(source, cache, TimeDelta::days(30)))
                    as Arc<dyn greenkube_core::ports::EmbodiedSource>,
            )
        }
        None => None,
    };
    Ok(Sources {
        usage: Some(Arc::new(usage)),
        inventory: kube.map(|k| Arc::new(k) as Arc<dyn greenkube_core::ports::InventorySource>),
        costs,
        intensity,
        embodied,
    })
}

pub(crate) fn run(args: &CollectArgs) -> anyhow::Result<ExitCode> {
    let step = args.step;
    if step < TimeDelta::minutes(1) {
        anyhow::bail!("--step must be at least 1m");
    }
    let retention = super::maintain::policy(&args.retention)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the runtime")?;
    runtime.block_on(async {
        let repositories = store::open(&args.store.store, true).await?;
        let history = store::open_history(&args.store.store).await?;
        let sources = sources(args, history.embodied.clone()).await?;
        let config = CollectorConfig {
            cluster: args.cluster.clone(),
            step,
            options: super::estimate_options(args.methodology),
            retention,
            ..CollectorConfig::default()
        };
        let collector = Collector::new(
            sources,
            Stores {
                footprints: repositories.footprints.clone(),
                archive: history.archive.clone(),
                nodes: history.nodes.clone(),
                intensities: history.intensities.clone(),
            },
            config,
        );
        let stop = windows::stop_on_signals();
        let backfill = args.since.unwrap_or(step);
        loop {
            let now = args.now.unwrap_or_else(super::wall_clock);
            let lookback = backfill.max(TimeDelta::days(8));
            let watermark = collector.watermark(now, lookback).await?;
            let due: Vec<_> = if args.once && args.since.is_none() {
                // The latest complete window, unless it is already stored.
                due_windows(None, now, step, step, 1)
                    .into_iter()
                    .filter(|w| watermark.is_none_or(|m| m <= w.from()))
                    .collect()
            } else {
                due_windows(watermark, now, step, backfill, usize::MAX)
            };
            if due.is_empty() && args.once {
                printer::note("nothing to collect: the latest window is already stored");
            }
            if !due.is_empty() {
                let bar = windows::progress(due.len(), BATCH, "collecting");
                let summary = match windows::run(&collector, &due, BATCH, 3, &stop, &bar).await {
                    Ok(summary) => summary,
                    Err(e @ CollectError::NoData(_)) if !args.once => {
                        bar.finish_and_clear();
                        printer::note(&format!("{e}"));
                        windows::RunSummary::default()
                    }
                    Err(e) => return Err(e.into()),
                };
                if summary.windows > 0 {
                    printer::collected(&repositories.location, &due, &summary);
                }
                let maintenance = collector.maintain(now).await?;
                if maintenance.raw_rows_deleted > 0 || maintenance.days_rolled > 0 {
                    printer::note(&format!(
                        "rolled up {} hours and {} days; {} raw rows past retention removed",
                        maintenance.hours_rolled,
                        maintenance.days_rolled,
                        maintenance.raw_rows_deleted
                    ));
                }
                if summary.stopped {
                    break;
                }
            }
            if args.once || stop.load(std::sync::atomic::Ordering::SeqCst) {
                break;
            }
            // Sleep until the next window has ended (and a little more for late samples).
            // The next window ends at the next multiple of the step after `now`.
            let next = floor_time(now, step) + step;
            let wait = (next - super::wall_clock() + TimeDelta::seconds(args.delay_seconds))
                .to_std()
                .unwrap_or(std::time::Duration::from_secs(1));
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = wait_for(&stop) => break,
            }
        }
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}

async fn wait_for(stop: &Arc<std::sync::atomic::AtomicBool>) {
    while !stop.load(std::sync::atomic::Ordering::SeqCst) {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}
