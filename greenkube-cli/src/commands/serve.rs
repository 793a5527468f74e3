//! `greenkube serve`: the API over a store, and with `--collect` the collection loop in the
//! same process.

use std::process::ExitCode;
use std::sync::Arc;

use greenkube_adapters::app;
use greenkube_adapters::app::collect::Stop;

use super::collect::{self, settings};
use crate::args::ServeArgs;
use crate::progress::Bar;
use crate::serve::self_metrics::SelfMetrics;
use crate::serve::{ServerConfig, serve};
use crate::store;

/// The server settings the flags ask for.
pub(crate) fn config(args: &ServeArgs) -> ServerConfig {
    ServerConfig {
        listen: args.listen,
        api_key: args.api_key.clone().filter(|k| !k.is_blank()),
        read_only: args.read_only,
        cors_origins: args.cors_origins.clone(),
        rate_limit_per_minute: args.rate_limit,
        trust_auth_proxy: args.trust_auth_proxy,
        frontend: args.frontend.clone(),
        cluster: args.daemon.cluster.clone(),
        allow_config_changes: args.allow_config_changes,
        sources: settings(&args.sources),
        now: args.now,
        ..ServerConfig::default()
    }
}

pub(crate) fn run(args: &ServeArgs) -> anyhow::Result<ExitCode> {
    if let Some(dir) = &args.frontend
        && !dir.join("index.html").is_file()
    {
        anyhow::bail!(
            "--frontend {}: no index.html there (give the folder of a single-page app's build)",
            dir.display()
        );
    }
    if args.collect {
        // Checked before anything is opened: a bad retention is a usage error.
        collect::policy_of(&args.daemon)?;
    }
    let self_metrics = Arc::new(SelfMetrics::new(args.collect));
    let config = ServerConfig {
        self_metrics: Arc::clone(&self_metrics),
        ..config(args)
    };
    store::multi_thread_runtime()?.block_on(async {
        let store = store::open(&args.store.store, args.collect).await?;
        let stop = Stop::on_signals();
        let collecting = if args.collect {
            let store = store.clone();
            let stop = stop.clone();
            let sources = config.sources.clone();
            let daemon = args.daemon.clone();
            let loop_config = collect::loop_config(&daemon, false, None);
            Some(tokio::spawn(async move {
                let bar = Bar::new(usize::MAX);
                let sources = app::sources::sources(&sources, store.embodied.clone(), &bar).await?;
                let collector = collect::collector(&daemon, sources, &store)?;
                app::collect::run_loop(
                    &collector,
                    &loop_config,
                    &stop,
                    &bar,
                    &super::wall_clock,
                    |cycle| {
                        self_metrics.observe(cycle);
                        collect::report_cycle(&store.location, cycle);
                    },
                )
                .await?;
                anyhow::Ok(())
            }))
        } else {
            None
        };
        let closing = store.clone();
        serve(store, config, stop.clone()).await?;
        if let Some(collecting) = collecting {
            stop.request();
            collecting.await??;
        }
        closing.close().await;
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}
