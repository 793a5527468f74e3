//! Estimates a day of hourly windows of the bundled example snapshot (with a daily load curve)
//! and aggregates them by namespace and day.
//!
//! `cargo run -p greenkube-examples --example aggregate_windows`
#![expect(clippy::print_stdout, reason = "an example prints its result")]

use greenkube_core::units::Cores;
use greenkube_core::{EstimateOptions, GroupBy, Period, Snapshot, aggregate, estimate};

const EXAMPLE: &str = include_str!("snapshots/cluster.json");

fn main() -> Result<(), greenkube_core::SnapshotError> {
    let base = Snapshot::from_json_str(EXAMPLE)?;
    let mut footprints = Vec::new();
    for hour in 0..24 {
        let mut snap = base.clone();
        snap.window_start = base.window_start + chrono::Duration::hours(hour);
        snap.window_end = snap.window_start + chrono::Duration::hours(1);
        // A daily curve: busier in the afternoon.
        let load = 0.5 + 0.5 * ((hour as f64 - 15.0) / 24.0 * std::f64::consts::TAU).cos();
        for pod in &mut snap.pods {
            pod.cpu_usage_cores = pod.cpu_usage_cores.map(|c| Cores(c.0 * load));
        }
        footprints.push(estimate(&snap, &EstimateOptions::default())?);
    }
    println!("namespace      day          CO2e (g)   [low, high]             energy (kWh)");
    for row in aggregate(&footprints, GroupBy::Namespace, Some(Period::Day)) {
        let total = row.total_co2e_grams();
        println!(
            "{:<14} {:<12} {:8.3}   [{:8.3}, {:8.3}]   {:8.4}",
            row.key.namespace.as_deref().unwrap_or("-"),
            row.key.period.as_deref().unwrap_or("-"),
            total.point,
            total.low,
            total.high,
            row.energy_joules.point / 3.6e6
        );
    }
    Ok(())
}
