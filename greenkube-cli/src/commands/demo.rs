//! `greenkube demo`: a synthetic cluster through the real collect, estimate and store path.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use chrono::TimeDelta;
use greenkube_adapters::collector::{Collector, CollectorConfig, Sources, Stores};
use greenkube_adapters::sources::synthetic::{SyntheticCluster, SyntheticConfig};
use greenkube_core::collect::{WindowInputs, assemble, due_windows};
use greenkube_core::ports::{IntensityPoint, ReportQuery, RetentionPolicy, TimeRange, floor_time};
use greenkube_core::recommend::{Recommender, RecommenderConfig};
use greenkube_core::{EstimateOptions, GroupBy, Inventory, ReferenceData};

use super::windows;
use crate::args::DemoArgs;
use crate::{printer, store};

/// Windows per batch: one day of five-minute windows per transaction.
const BATCH: usize = 288;
/// The demo's cluster name.
const CLUSTER: &str = "demo";

pub(crate) fn run(args: &DemoArgs) -> anyhow::Result<ExitCode> {
    if args.days == 0 || args.days > 366 {
        anyhow::bail!("--days must be between 1 and 366");
    }
    let now = super::wall_clock();
    let end = floor_time(args.end.unwrap_or(now), TimeDelta::hours(1));
    let step = TimeDelta::minutes(5);
    let span = TimeDelta::days(i64::from(args.days));
    let range = TimeRange::new(end - span, end).context("invalid --end")?;
    let cluster = Arc::new(SyntheticCluster::with_config(
        args.seed,
        SyntheticConfig {
            now: end,
            ..SyntheticConfig::default()
        },
    ));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the runtime")?;
    runtime.block_on(async {
        let repositories = store::open(&args.store.store, true).await?;
        let history = store::open_history(&args.store.store).await?;
        printer::progress_line(&format!(
            "demo: synthetic cluster (seed {}): {} nodes, {} pods in {} namespaces; {} days to {} into {}",
            args.seed,
            cluster.cluster_nodes().len(),
            cluster.pods().len(),
            cluster.namespaces().len(),
            args.days,
            end.format("%Y-%m-%d %H:%M UTC"),
            repositories.location
        ));

        // Grid intensity as if Electricity Maps had been collected all along: hourly points.
        let probe = assemble(
            end - step,
            end,
            WindowInputs {
                metric_nodes: cluster.cluster_nodes(),
                ..WindowInputs::default()
            },
        );
        let zones =
            greenkube_core::zones_of(&probe, &EstimateOptions::default(), ReferenceData::embedded());
        let mut points = Vec::new();
        let mut t = range.from();
        while t < range.to() {
            for zone in &zones {
                if let Some(g) = cluster.intensity_at(zone, t) {
                    points.push(IntensityPoint {
                        zone: zone.clone(),
                        at: t,
                        gco2e_per_kwh: g,
                        source: "synthetic".to_string(),
                    });
                }
            }
            t += TimeDelta::hours(1);
        }
        history.intensities.put_intensities(&points).await?;

        let collector = Collector::new(
            Sources {
                usage: Some(cluster.clone()),
                inventory: Some(cluster.clone()),
                costs: Some(cluster.clone()),
                intensity: Some(cluster.clone()),
                embodied: Some(cluster.clone()),
            },
            Stores {
                footprints: repositories.footprints.clone(),
                archive: history.archive.clone(),
                nodes: history.nodes.clone(),
                intensities: history.intensities.clone(),
            },
            CollectorConfig {
                cluster: Some(CLUSTER.to_string()),
                step,
                retention: RetentionPolicy::default(),
                ..CollectorConfig::default()
            },
        );
        let watermark = collector
            .watermark(end, span + TimeDelta::days(1))
            .await?
            .filter(|w| *w > range.from());
        let due = due_windows(watermark, end, step, span, usize::MAX);
        let stop = windows::stop_on_signals();
        let bar = windows::progress(due.len(), BATCH, "demo");
        let started = std::time::Instant::now();
        let summary = windows::run(&collector, &due, BATCH, 0, &stop, &bar).await?;
        if summary.stopped {
            printer::note("stopped: the windows stored so far are kept; run the demo again to finish");
            return anyhow::Ok(());
        }
        if due.is_empty() {
            printer::note("every window of the range is already stored (same seed and end: same data)");
        } else {
            printer::collected(&repositories.location, &due, &summary);
            printer::progress_line(&format!(
                "demo: {} windows in {:.1} s",
                summary.windows,
                started.elapsed().as_secs_f64()
            ));
        }
        collector.maintain(end).await?;

        let rows = repositories
            .footprints
            .aggregate(&ReportQuery::new(range, GroupBy::Namespace))
            .await?;
        printer::report_table(&repositories.location, range, GroupBy::Namespace, None, &rows)?;

        let inventory = Inventory {
            nodes: cluster.cluster_nodes().to_vec(),
            hpas: cluster.hpas().to_vec(),
        };
        let mut recommender = Recommender::new(RecommenderConfig::default(), Some(&inventory));
        let seen = super::recommend::observe_archived(&history, range, |fp| {
            recommender.observe(&fp);
        })
        .await?;
        let mut recs = recommender.finish(ReferenceData::embedded());
        recs.truncate(args.top);
        printer::recommendations_table(&recs, seen)?;
        printer::demo_next_steps(&args.store.store);
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}
