//! Builds a one-node snapshot in code, estimates it with both methodologies and prints each
//! figure with its interval and the reasons it is estimated.
//!
//! `cargo run -p greenkube-examples --example estimate_single_pod`
#![expect(clippy::print_stdout, reason = "an example prints its result")]

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use greenkube_core::units::{Bytes, Cores, Money};
use greenkube_core::{
    CostEntry, EstimateOptions, Methodology, Node, Pod, SNAPSHOT_SCHEMA, Snapshot, estimate,
};

fn main() -> Result<(), greenkube_core::SnapshotError> {
    let snapshot = Snapshot {
        schema: SNAPSHOT_SCHEMA.to_string(),
        cluster: Some(Arc::from("demo")),
        window_start: Utc.with_ymd_and_hms(2025, 6, 2, 10, 0, 0).unwrap(),
        window_end: Utc.with_ymd_and_hms(2025, 6, 2, 10, 5, 0).unwrap(),
        nodes: vec![Node {
            name: Arc::from("node-1"),
            provider: Some(Arc::from("aws")),
            instance_type: Some(Arc::from("m5.large")),
            region: Some(Arc::from("eu-west-3")),
            zone: Some(Arc::from("eu-west-3a")),
            cpu_capacity_cores: Some(Cores(2.0)),
            memory_capacity_bytes: Some(Bytes(8.0 * 1024.0 * 1024.0 * 1024.0)),
            labels: None,
        }],
        pods: vec![Pod {
            namespace: Arc::from("shop"),
            name: Arc::from("api-7b9c5d6f8-h4j2k"),
            node: Some(Arc::from("node-1")),
            owner_kind: Some(Arc::from("ReplicaSet")),
            owner_name: Some(Arc::from("api-7b9c5d6f8")),
            cpu_usage_cores: Some(Cores(0.5)),
            memory_usage_bytes: Some(Bytes(512.0 * 1024.0 * 1024.0)),
            cpu_request_cores: Some(Cores(0.5)),
            memory_request_bytes: Some(Bytes(1024.0 * 1024.0 * 1024.0)),
            restarts: Some(0),
            labels: None,
        }],
        grid_intensity: [("FR".to_string(), greenkube_core::units::GramsPerKwh(32.0))].into(),
        costs: vec![CostEntry {
            namespace: Arc::from("shop"),
            pod: Arc::from("api-7b9c5d6f8-h4j2k"),
            cost: Money(0.001_666_7),
        }],
        embodied: Vec::new(),
        degraded_sources: Vec::new(),
        dropped_values: Vec::new(),
    };

    for methodology in Methodology::ALL {
        let footprint = estimate(&snapshot, &EstimateOptions::new(methodology))?;
        let pod = &footprint.pods[0];
        println!(
            "{} {} (data {}):",
            footprint.methodology.name,
            footprint.methodology.version,
            footprint.methodology.data_version
        );
        println!(
            "  energy   {:10.2} J      [{:.2}, {:.2}]",
            pod.energy_joules.point, pod.energy_joules.low, pod.energy_joules.high
        );
        println!(
            "  CO2e     {:10.5} g      [{:.5}, {:.5}]  zone {} at {} g/kWh, PUE {}",
            pod.co2e_grams.point,
            pod.co2e_grams.low,
            pod.co2e_grams.high,
            pod.node.zone.as_deref().unwrap_or("?"),
            pod.node.grid_intensity.point,
            pod.node.pue.point
        );
        println!(
            "  embodied {:10.5} g      [{:.5}, {:.5}]",
            pod.embodied_co2e_grams.point,
            pod.embodied_co2e_grams.low,
            pod.embodied_co2e_grams.high
        );
        println!("  cost     {:10.7}", pod.cost.map_or(f64::NAN, |c| c.0));
        for reason in pod.reasons.iter() {
            println!("  estimated: {reason}");
        }
    }
    Ok(())
}
