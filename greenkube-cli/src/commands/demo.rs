//! `greenkube demo`: a synthetic cluster through the real collect, estimate and store path.

use std::process::ExitCode;

use greenkube_adapters::app;
use greenkube_adapters::app::collect::Stop;
use greenkube_adapters::app::demo::{BATCH, Demo, DemoPlan};
use greenkube_core::GroupBy;
use greenkube_core::ports::ReportQuery;
use greenkube_core::recommend::RecommenderConfig;

use crate::args::DemoArgs;
use crate::progress::Bar;
use crate::{printer, store};

pub(crate) fn run(args: &DemoArgs) -> anyhow::Result<ExitCode> {
    let demo = Demo::new(DemoPlan {
        seed: args.seed,
        days: args.days,
        end: args.end.unwrap_or_else(super::wall_clock),
    })?;
    store::multi_thread_runtime()?.block_on(store::using(
        &args.store.store,
        true,
        async |store| {
        let cluster = &demo.cluster;
        printer::progress_line(&format!(
            "demo: synthetic cluster (seed {}): {} nodes, {} pods in {} namespaces; {} days to {} into {}",
            args.seed,
            cluster.cluster_nodes().len(),
            cluster.pods().len(),
            cluster.namespaces().len(),
            args.days,
            demo.range.to().format("%Y-%m-%d %H:%M UTC"),
            store.location
        ));
        let stop = Stop::on_signals();
        let started = std::time::Instant::now();
        let (loaded, scan) = demo
            .load_and_scan(store, &stop, &Bar::new(BATCH), RecommenderConfig::default())
            .await?;
        let Some(mut scan) = scan else {
            printer::note("stopped: the windows stored so far are kept; run the demo again to finish");
            return anyhow::Ok(());
        };
        if loaded.due.is_empty() {
            printer::note("every window of the range is already stored (same seed and end: same data)");
        } else {
            printer::collected(&store.location, &loaded.due, &loaded.summary);
            printer::progress_line(&format!(
                "demo: {} windows in {:.1} s",
                loaded.summary.windows,
                started.elapsed().as_secs_f64()
            ));
        }
        let query = ReportQuery::new(demo.range, GroupBy::Namespace);
        let report = app::report::report(store, &query).await?;
        let overhead = app::report::node_overhead(store, &query, &report.rows).await?;
        printer::report_table(
            &store.location,
            demo.range,
            &GroupBy::Namespace.into(),
            None,
            &report.rows,
            Some(&overhead),
        )?;
        scan.recommendations.truncate(args.top);
        printer::recommendations_table(&scan.recommendations, scan.windows)?;
        printer::demo_next_steps(&args.store.store);
        #[cfg(feature = "collect")]
        if !args.no_serve {
            let config = crate::serve::ServerConfig {
                listen: args.listen,
                cluster: Some(greenkube_adapters::app::demo::CLUSTER.to_string()),
                sources: greenkube_adapters::app::sources::SourceSettings {
                    no_kubernetes: true,
                    ..Default::default()
                },
                ..crate::serve::ServerConfig::default()
            };
            crate::serve::serve(store.clone(), config, stop).await?;
        }
        anyhow::Ok(())
    }))?;
    Ok(ExitCode::SUCCESS)
}
