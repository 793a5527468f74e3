//! `/prometheus/metrics` (and `/metrics`): GreenKube's gauges with the same names, labels and
//! label conventions (`__all__` for the cluster, `_cluster` for records of no namespace, window
//! slugs with their second-based aliases), so its Grafana dashboard works unchanged; plus, under
//! names of their own (`*_low`, `*_high`), the interval bounds of the headline figures.
//!
//! A scrape reads the latest window's rows (one window, however long the history), the
//! dashboard summaries (roll-ups), the nodes recorded now and the saved recommendations; never
//! the raw history. The text is reused for a few seconds, so scrapers in a row cost one read.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::sync::atomic::AtomicU64;

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, TimeDelta, Utc};
use greenkube_adapters::app::dashboard::{self, Summary, Window};
use greenkube_adapters::app::{AppError, nodes, recommend, score};
use greenkube_core::ports::{PodCursor, PodRecord, TimeRange};
use greenkube_core::recommend::{RankBy, Recommendation, RecommendationStatus, rank};
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use super::api::metrics::known_range;
use super::error::ApiError;
use super::state::AppState;

type Labels = Vec<(String, String)>;
type FloatGauge = Gauge<f64, AtomicU64>;

/// Gauges registered on first use.
struct Gauges {
    registry: Registry,
    families: HashMap<&'static str, Family<Labels, FloatGauge>>,
}

impl Gauges {
    fn new() -> Self {
        Self {
            registry: Registry::default(),
            families: HashMap::new(),
        }
    }

    fn set(&mut self, name: &'static str, help: &'static str, labels: &[(&str, &str)], value: f64) {
        if !value.is_finite() {
            return;
        }
        let family = self.families.entry(name).or_insert_with(|| {
            let family = Family::<Labels, FloatGauge>::default();
            self.registry.register(name, help, family.clone());
            family
        });
        let labels: Labels = labels
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect();
        family.get_or_create(&labels).set(value);
    }

    fn text(&self) -> Result<String, std::fmt::Error> {
        let mut out = String::with_capacity(64 * 1024);
        encode(&mut out, &self.registry)?;
        Ok(out)
    }
}

/// How far back the latest window is looked for (GreenKube's 20 minutes).
const LATEST: TimeDelta = TimeDelta::minutes(20);

/// How long a scrape's text is reused.
const REUSE_KEY: &str = "prometheus:text";

fn millicores(cores: Option<greenkube_core::units::Cores>) -> Option<f64> {
    cores.map(|c| c.0 * 1000.0)
}

/// The latest window's row of each pod.
async fn latest_rows(state: &AppState, now: DateTime<Utc>) -> Result<Vec<PodRecord>, AppError> {
    let range = TimeRange::new(now - LATEST, now).map_err(|e| AppError::Invalid(e.to_string()))?;
    let mut latest: BTreeMap<(Option<String>, String, String), PodRecord> = BTreeMap::new();
    let mut cursor: Option<PodCursor> = None;
    loop {
        let page = state
            .store()
            .footprints
            .read_pod_rows(range, cursor.as_ref(), greenkube_core::ports::MAX_PAGE_SIZE)
            .await?;
        for row in page.rows {
            let key = (
                row.cluster.as_deref().map(str::to_string),
                row.namespace.to_string(),
                row.pod.to_string(),
            );
            match latest.get(&key) {
                Some(seen) if seen.window_start >= row.window_start => {}
                _ => {
                    latest.insert(key, row);
                }
            }
        }
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    // Only the latest window of each cluster: a pod gone since is not "now".
    let mut newest: HashMap<Option<String>, DateTime<Utc>> = HashMap::new();
    for row in latest.values() {
        let key = row.cluster.as_deref().map(str::to_string);
        let entry = newest.entry(key).or_insert(row.window_start);
        *entry = (*entry).max(row.window_start);
    }
    Ok(latest
        .into_values()
        .filter(|r| newest.get(&r.cluster.as_deref().map(str::to_string)) == Some(&r.window_start))
        .collect())
}

fn pods(gauges: &mut Gauges, rows: &[PodRecord], default_cluster: &str) {
    for row in rows {
        let cluster = row.cluster.as_deref().unwrap_or(default_cluster);
        let node = row.node.as_deref().unwrap_or("unknown");
        let region = row
            .zone
            .as_deref()
            .or(row.region.as_deref())
            .unwrap_or("unknown");
        let labels = [
            ("cluster", cluster),
            ("namespace", row.namespace.as_ref()),
            ("pod", row.pod.as_ref()),
            ("node", node),
            ("region", region),
        ];
        let mut set = |name, help, value: Option<f64>| {
            if let Some(value) = value {
                gauges.set(name, help, &labels, value);
            }
        };
        set(
            "greenkube_pod_co2e_grams",
            "Operational CO2e of the pod's latest window, grams",
            Some(row.co2e_grams.point),
        );
        set(
            "greenkube_pod_co2e_grams_low",
            "Low bound of greenkube_pod_co2e_grams",
            Some(row.co2e_grams.low),
        );
        set(
            "greenkube_pod_co2e_grams_high",
            "High bound of greenkube_pod_co2e_grams",
            Some(row.co2e_grams.high),
        );
        set(
            "greenkube_pod_embodied_co2e_grams",
            "Embodied CO2e of the pod's latest window, grams",
            Some(row.embodied_co2e_grams.point),
        );
        set(
            "greenkube_pod_cost_dollars",
            "Cost of the pod's latest window (absent when unknown)",
            row.cost.map(|c| c.0),
        );
        set(
            "greenkube_pod_energy_joules",
            "Energy of the pod's latest window, joules",
            Some(row.energy_joules.point),
        );
        set(
            "greenkube_pod_cpu_request_millicores",
            "CPU request, millicores",
            millicores(row.cpu_request_cores),
        );
        set(
            "greenkube_pod_cpu_usage_millicores",
            "CPU usage (window average), millicores",
            millicores(row.cpu_usage_cores),
        );
        set(
            "greenkube_pod_memory_request_bytes",
            "Memory request, bytes",
            row.memory_request_bytes.map(|b| b.0),
        );
        set(
            "greenkube_pod_memory_usage_bytes",
            "Memory usage (window average), bytes",
            row.memory_usage_bytes.map(|b| b.0),
        );
        set(
            "greenkube_pue",
            "PUE applied to the pod's energy",
            Some(row.pue.point),
        );
        set(
            "greenkube_grid_intensity_gco2_kwh",
            "Grid intensity applied, gCO2e/kWh",
            Some(row.grid_intensity.point),
        );
        set(
            "greenkube_pod_restart_count",
            "Restarts in the latest window",
            row.restarts.map(|r| r as f64),
        );
        let ratio = |usage: Option<f64>, request: Option<f64>| match (usage, request) {
            (Some(usage), Some(request)) if request > 0.0 => Some((usage / request).min(1.0)),
            _ => None,
        };
        set(
            "greenkube_pod_cpu_efficiency_ratio",
            "min(1, CPU usage / request)",
            ratio(
                millicores(row.cpu_usage_cores),
                millicores(row.cpu_request_cores),
            ),
        );
        set(
            "greenkube_pod_memory_efficiency_ratio",
            "min(1, memory usage / request)",
            ratio(
                row.memory_usage_bytes.map(|b| b.0),
                row.memory_request_bytes.map(|b| b.0),
            ),
        );
    }
}

/// Sums of the latest rows: per namespace and per cluster.
#[derive(Debug, Default)]
struct Latest {
    co2e: greenkube_core::Ranged,
    embodied: f64,
    cost: f64,
    energy: f64,
    pods: usize,
    estimated: usize,
    intensity_joules: f64,
}

impl Latest {
    fn add(&mut self, row: &PodRecord) {
        self.co2e += row.co2e_grams;
        self.embodied += row.embodied_co2e_grams.point;
        self.cost += row.cost.map_or(0.0, |c| c.0);
        self.energy += row.energy_joules.point;
        self.pods += 1;
        self.estimated += usize::from(row.estimated);
        self.intensity_joules += row.grid_intensity.point * row.energy_joules.point;
    }
}

fn totals(gauges: &mut Gauges, rows: &[PodRecord], default_cluster: &str) {
    let mut clusters: BTreeMap<&str, (Latest, BTreeMap<&str, Latest>)> = BTreeMap::new();
    for row in rows {
        let cluster = row.cluster.as_deref().unwrap_or(default_cluster);
        let (all, namespaces) = clusters.entry(cluster).or_default();
        all.add(row);
        namespaces
            .entry(row.namespace.as_ref())
            .or_default()
            .add(row);
    }
    if clusters.is_empty() {
        clusters.insert(default_cluster, Default::default());
    }
    for (cluster, (all, namespaces)) in &clusters {
        for (namespace, sums) in namespaces {
            let labels = [("cluster", *cluster), ("namespace", *namespace)];
            gauges.set(
                "greenkube_namespace_co2e_grams_total",
                "Operational CO2e of the namespace's latest window, grams",
                &labels,
                sums.co2e.point,
            );
            gauges.set(
                "greenkube_namespace_embodied_co2e_grams_total",
                "Embodied CO2e of the namespace's latest window, grams",
                &labels,
                sums.embodied,
            );
            gauges.set(
                "greenkube_namespace_cost_dollars_total",
                "Known cost of the namespace's latest window",
                &labels,
                sums.cost,
            );
            gauges.set(
                "greenkube_namespace_energy_joules_total",
                "Energy of the namespace's latest window, joules",
                &labels,
                sums.energy,
            );
            gauges.set(
                "greenkube_namespace_pod_count",
                "Pods in the latest window",
                &labels,
                sums.pods as f64,
            );
            gauges.set(
                "greenkube_estimated_metrics_ratio",
                "Share of the latest rows whose figures were estimated",
                &labels,
                ratio(sums.estimated, sums.pods),
            );
        }
        let labels = [("cluster", *cluster)];
        gauges.set(
            "greenkube_cluster_co2e_grams_total",
            "Operational CO2e of the latest window, grams (pods)",
            &labels,
            all.co2e.point,
        );
        gauges.set(
            "greenkube_cluster_co2e_grams_low",
            "Low bound of greenkube_cluster_co2e_grams_total",
            &labels,
            all.co2e.low,
        );
        gauges.set(
            "greenkube_cluster_co2e_grams_high",
            "High bound of greenkube_cluster_co2e_grams_total",
            &labels,
            all.co2e.high,
        );
        gauges.set(
            "greenkube_cluster_embodied_co2e_grams_total",
            "Embodied CO2e of the latest window, grams (pods)",
            &labels,
            all.embodied,
        );
        gauges.set(
            "greenkube_cluster_cost_dollars_total",
            "Known cost of the latest window",
            &labels,
            all.cost,
        );
        gauges.set(
            "greenkube_cluster_energy_joules_total",
            "Energy of the latest window, joules (pods)",
            &labels,
            all.energy,
        );
        gauges.set(
            "greenkube_cluster_pod_count",
            "Pods in the latest window",
            &labels,
            all.pods as f64,
        );
        gauges.set(
            "greenkube_cluster_namespace_count",
            "Namespaces in the latest window",
            &labels,
            namespaces.len() as f64,
        );
        gauges.set(
            "greenkube_metrics_total",
            "Rows in the latest window",
            &labels,
            all.pods as f64,
        );
        if all.energy > 0.0 {
            gauges.set(
                "greenkube_carbon_intensity_score",
                "Energy-weighted mean grid intensity of the latest window, gCO2e/kWh",
                &labels,
                all.intensity_joules / all.energy,
            );
        }
        gauges.set(
            "greenkube_estimated_metrics_ratio",
            "Share of the latest rows whose figures were estimated",
            &[("cluster", *cluster), ("namespace", "__all__")],
            ratio(all.estimated, all.pods),
        );
    }
    if let Some(latest) = rows.iter().map(|r| r.window_end).max() {
        gauges.set(
            "greenkube_last_collection_timestamp_seconds",
            "End of the latest stored window, seconds since 1970",
            &[("cluster", default_cluster)],
            latest.timestamp() as f64,
        );
    }
}

fn ratio(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

fn zones(gauges: &mut Gauges, rows: &[PodRecord], default_cluster: &str) {
    struct Zone<'a> {
        weighted: f64,
        joules: f64,
        last: f64,
        nodes: std::collections::BTreeSet<&'a str>,
    }
    let mut zones: BTreeMap<(&str, &str), Zone<'_>> = BTreeMap::new();
    for row in rows {
        let Some(zone) = row.zone.as_deref() else {
            continue;
        };
        let cluster = row.cluster.as_deref().unwrap_or(default_cluster);
        let entry = zones.entry((cluster, zone)).or_insert(Zone {
            weighted: 0.0,
            joules: 0.0,
            last: row.grid_intensity.point,
            nodes: std::collections::BTreeSet::new(),
        });
        entry.weighted += row.grid_intensity.point * row.energy_joules.point;
        entry.joules += row.energy_joules.point;
        entry.last = row.grid_intensity.point;
        if let Some(node) = row.node.as_deref() {
            entry.nodes.insert(node);
        }
    }
    for ((cluster, zone), data) in &zones {
        gauges.set(
            "greenkube_carbon_intensity_zone",
            "Last grid intensity seen in the zone, gCO2e/kWh",
            &[("cluster", cluster), ("zone", zone)],
            data.last,
        );
        let intensity = if data.joules > 0.0 {
            data.weighted / data.joules
        } else {
            data.last
        };
        let count = data.nodes.len();
        let mut names: Vec<&str> = data.nodes.iter().copied().take(8).collect();
        let more = count.saturating_sub(8);
        let mut list = names.join(", ");
        if more > 0 {
            let _ = write!(list, ", +{more} more");
        }
        names.clear();
        let bubble = (10.0 + 6.0 * ((count + 1) as f64).log2()).clamp(14.0, 56.0);
        let bubble = format!("{bubble:.2}");
        let count_text = count.to_string();
        let bubble_label = format!("{intensity:.0} g/kWh");
        let map_label = format!("{zone}: {intensity:.0} gCO2e/kWh, {count} node(s)");
        let lookup = zone.split('-').next().unwrap_or(zone);
        gauges.set(
            "greenkube_zone_grid_intensity_gco2_kwh",
            "Energy-weighted grid intensity of the zone's latest rows, gCO2e/kWh (for the geomap)",
            &[
                ("cluster", cluster),
                ("zone", zone),
                ("lookup", lookup),
                ("nodes", &list),
                ("node_count", &count_text),
                ("bubble_size", &bubble),
                ("bubble_label", &bubble_label),
                ("map_label", &map_label),
            ],
            intensity,
        );
    }
}

async fn node_gauges(
    gauges: &mut Gauges,
    state: &AppState,
    rows: &[PodRecord],
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let mut allocated: HashMap<(Option<&str>, &str), (f64, f64)> = HashMap::new();
    for row in rows {
        if let Some(node) = row.node.as_deref() {
            let entry = allocated.entry((row.cluster.as_deref(), node)).or_default();
            entry.0 += millicores(row.cpu_request_cores).unwrap_or(0.0);
            entry.1 += row.memory_request_bytes.map_or(0.0, |b| b.0);
        }
    }
    for cluster in dashboard::clusters(state.store(), known_range(now)).await? {
        for node in nodes::nodes_at(state.store(), cluster.as_deref(), now).await? {
            let label = |value: Option<&str>| value.unwrap_or("unknown").to_string();
            let arch = node
                .labels
                .as_ref()
                .and_then(|l| l.get("kubernetes.io/arch"))
                .map(ToString::to_string);
            let values = [
                label(Some(&node.name)),
                label(node.instance_type.as_deref()),
                label(node.zone.as_deref()),
                label(node.region.as_deref()),
                label(node.provider.as_deref()),
                label(arch.as_deref()),
            ];
            let labels = [
                ("node", values[0].as_str()),
                ("instance_type", values[1].as_str()),
                ("zone", values[2].as_str()),
                ("region", values[3].as_str()),
                ("cloud_provider", values[4].as_str()),
                ("architecture", values[5].as_str()),
            ];
            gauges.set(
                "greenkube_node_info",
                "A node recorded as present now (always 1)",
                &labels,
                1.0,
            );
            if let Some(cores) = node.cpu_capacity_cores {
                gauges.set(
                    "greenkube_node_cpu_capacity_millicores",
                    "CPU capacity, millicores",
                    &labels,
                    cores.0 * 1000.0,
                );
            }
            if let Some(bytes) = node.memory_capacity_bytes {
                gauges.set(
                    "greenkube_node_memory_capacity_bytes",
                    "Memory capacity, bytes",
                    &labels,
                    bytes.0,
                );
            }
            let (cpu, memory) = allocated
                .get(&(cluster.as_deref(), node.name.as_ref()))
                .copied()
                .unwrap_or_default();
            gauges.set(
                "greenkube_node_cpu_allocated_millicores",
                "Sum of the CPU requests of the node's pods in the latest window, millicores",
                &labels,
                cpu,
            );
            gauges.set(
                "greenkube_node_memory_allocated_bytes",
                "Sum of the memory requests of the node's pods in the latest window, bytes",
                &labels,
                memory,
            );
        }
    }
    Ok(())
}

fn namespace_of(rec: &Recommendation) -> &str {
    rec.namespace.as_deref().unwrap_or("_cluster")
}

async fn recommendation_gauges(
    gauges: &mut Gauges,
    state: &AppState,
    cluster: &str,
) -> Result<(), AppError> {
    let records = recommend::records(state.store(), None).await?;
    let active: Vec<Recommendation> = records
        .iter()
        .filter(|r| r.status == RecommendationStatus::Active)
        .map(|r| r.recommendation.clone())
        .collect();
    let mut counts: BTreeMap<(String, &str, &str), usize> = BTreeMap::new();
    let mut by_type: BTreeMap<&str, (f64, f64)> = BTreeMap::new();
    let mut by_namespace: BTreeMap<&str, (f64, f64)> = BTreeMap::new();
    for rec in &active {
        let priority = match rec.priority {
            greenkube_core::recommend::Priority::High => "high",
            greenkube_core::recommend::Priority::Medium => "medium",
            greenkube_core::recommend::Priority::Low => "low",
        };
        for namespace in [namespace_of(rec).to_string(), "__all__".to_string()] {
            *counts
                .entry((namespace, rec.kind.name(), priority))
                .or_default() += 1;
        }
        let entry = by_type.entry(rec.kind.name()).or_default();
        entry.0 += rec.savings_co2e_grams_per_year;
        entry.1 += rec.savings_cost_per_year.unwrap_or(0.0);
        let entry = by_namespace.entry(namespace_of(rec)).or_default();
        entry.0 += rec.savings_co2e_grams_per_year;
        entry.1 += rec.savings_cost_per_year.unwrap_or(0.0);
    }
    for ((namespace, kind, priority), count) in &counts {
        gauges.set(
            "greenkube_recommendations_total",
            "Active recommendations",
            &[
                ("cluster", cluster),
                ("namespace", namespace),
                ("type", kind),
                ("priority", priority),
            ],
            *count as f64,
        );
    }
    for (kind, (co2e, cost)) in &by_type {
        gauges.set(
            "greenkube_recommendations_savings_co2e_grams",
            "Projected CO2e savings per year of the active recommendations, grams",
            &[("cluster", cluster), ("type", kind)],
            *co2e,
        );
        gauges.set(
            "greenkube_recommendations_savings_cost_dollars",
            "Projected money savings per year of the active recommendations",
            &[("cluster", cluster), ("type", kind)],
            *cost,
        );
    }
    for (namespace, (co2e, cost)) in &by_namespace {
        gauges.set(
            "greenkube_namespace_recommendation_savings_co2e_grams_total",
            "Projected CO2e savings per year of the namespace's active recommendations, grams",
            &[("cluster", cluster), ("namespace", namespace)],
            *co2e,
        );
        gauges.set(
            "greenkube_namespace_recommendation_savings_cost_dollars_total",
            "Projected money savings per year of the namespace's active recommendations",
            &[("cluster", cluster), ("namespace", namespace)],
            *cost,
        );
    }
    for (by, sort, value_metric) in [
        (RankBy::Co2e, "co2", "co2e_grams"),
        (RankBy::Cost, "cost", "cost_dollars"),
    ] {
        for (index, rec) in rank(&active, by, active.len()).into_iter().enumerate() {
            let rank_text = (index + 1).to_string();
            let resource = rec.node.as_deref().unwrap_or(&rec.target);
            let scope = format!("{:?}", rec.scope).to_lowercase();
            let priority = format!("{:?}", rec.priority).to_lowercase();
            let value = match by {
                RankBy::Co2e => rec.savings_co2e_grams_per_year,
                RankBy::Cost => rec.savings_cost_per_year.unwrap_or(0.0),
            };
            gauges.set(
                "greenkube_top_recommendations",
                "Active recommendations ranked by projected savings per year",
                &[
                    ("cluster", cluster),
                    ("rank", &rank_text),
                    ("sort_metric", sort),
                    ("value_metric", value_metric),
                    ("namespace", namespace_of(rec)),
                    ("type", rec.kind.name()),
                    ("resource", resource),
                    ("scope", &scope),
                    ("priority", &priority),
                ],
                value,
            );
        }
    }
    let mut implemented: BTreeMap<(String, &str), usize> = BTreeMap::new();
    let (mut saved_co2e, mut saved_cost) = (0.0, 0.0);
    for record in records
        .iter()
        .filter(|r| r.status == RecommendationStatus::Applied)
    {
        let rec = &record.recommendation;
        for namespace in [namespace_of(rec).to_string(), "__all__".to_string()] {
            *implemented.entry((namespace, rec.kind.name())).or_default() += 1;
        }
        if let Some(savings) = record.applied_savings() {
            saved_co2e += savings.co2e_grams_per_year;
            saved_cost += savings.cost_per_year.unwrap_or(0.0);
        }
    }
    for ((namespace, kind), count) in &implemented {
        gauges.set(
            "greenkube_recommendations_implemented_total",
            "Applied recommendations",
            &[
                ("cluster", cluster),
                ("namespace", namespace),
                ("type", kind),
            ],
            *count as f64,
        );
    }
    gauges.set(
        "greenkube_cluster_co2e_saved_grams_total",
        "CO2e savings per year of the applied recommendations, grams",
        &[("cluster", cluster)],
        saved_co2e,
    );
    gauges.set(
        "greenkube_cluster_cost_saved_dollars_total",
        "Money savings per year of the applied recommendations",
        &[("cluster", cluster)],
        saved_cost,
    );
    Ok(())
}

fn summary_gauges(
    gauges: &mut Gauges,
    cluster: &str,
    window: &str,
    namespace: &str,
    summary: &Summary,
) {
    let totals = &summary.totals;
    let total = totals.total_co2e_grams();
    for (scope, value) in [
        ("scope2", totals.co2e_grams),
        ("scope3", totals.embodied_co2e_grams),
        ("all", total),
    ] {
        let labels = [
            ("cluster", cluster),
            ("window", window),
            ("namespace", namespace),
            ("scope", scope),
        ];
        gauges.set(
            "greenkube_dashboard_summary_co2e_grams_total",
            "CO2e over the dashboard window, grams",
            &labels,
            value.point,
        );
        gauges.set(
            "greenkube_dashboard_summary_co2e_grams_low",
            "Low bound of greenkube_dashboard_summary_co2e_grams_total",
            &labels,
            value.low,
        );
        gauges.set(
            "greenkube_dashboard_summary_co2e_grams_high",
            "High bound of greenkube_dashboard_summary_co2e_grams_total",
            &labels,
            value.high,
        );
    }
    let labels = [
        ("cluster", cluster),
        ("window", window),
        ("namespace", namespace),
    ];
    gauges.set(
        "greenkube_dashboard_summary_cost_dollars_total",
        "Known cost over the dashboard window",
        &labels,
        totals.cost,
    );
    gauges.set(
        "greenkube_dashboard_summary_energy_joules_total",
        "Energy over the dashboard window, joules",
        &labels,
        totals.energy_joules.point,
    );
    gauges.set(
        "greenkube_dashboard_summary_energy_joules_low",
        "Low bound of greenkube_dashboard_summary_energy_joules_total",
        &labels,
        totals.energy_joules.low,
    );
    gauges.set(
        "greenkube_dashboard_summary_energy_joules_high",
        "High bound of greenkube_dashboard_summary_energy_joules_total",
        &labels,
        totals.energy_joules.high,
    );
    gauges.set(
        "greenkube_dashboard_summary_pod_count",
        "Pods over the dashboard window",
        &labels,
        summary.pod_count as f64,
    );
    gauges.set(
        "greenkube_dashboard_summary_namespace_count",
        "Namespaces over the dashboard window",
        &labels,
        summary.namespace_count as f64,
    );
}

async fn window_gauges(
    gauges: &mut Gauges,
    state: &AppState,
    cluster: &str,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let ledger_span = TimeRange::new(known_range(now).from() - TimeDelta::days(3650), now)
        .map_err(|e| AppError::Invalid(e.to_string()))?;
    for total in state.store().ledger.savings_by_kind(ledger_span).await? {
        let labels = [
            ("cluster", cluster),
            ("recommendation_type", total.kind.name()),
        ];
        gauges.set(
            "greenkube_co2e_savings_attributed_grams_total",
            "CO2e saved as recorded in the savings ledger, grams",
            &labels,
            total.co2e_grams,
        );
        gauges.set(
            "greenkube_cost_savings_attributed_dollars_total",
            "Money saved as recorded in the savings ledger",
            &labels,
            total.cost,
        );
    }
    for window in Window::ALL {
        let range = window.range(now);
        let (all, namespaces) =
            dashboard::summaries(state.store(), range, &dashboard::Scope::default()).await?;
        let alias = window.seconds().map(|s| format!("{s}s"));
        let slugs: Vec<&str> = std::iter::once(window.slug())
            .chain(alias.as_deref())
            .collect();
        let ledger = state.store().ledger.savings_by_kind(range).await?;
        for slug in &slugs {
            summary_gauges(gauges, cluster, slug, "__all__", &all);
            for (namespace, summary) in &namespaces {
                summary_gauges(gauges, cluster, slug, namespace, summary);
            }
            let (mut co2e, mut cost) = (0.0, 0.0);
            for total in &ledger {
                let labels = [
                    ("cluster", cluster),
                    ("window", *slug),
                    ("namespace", "__all__"),
                    ("recommendation_type", total.kind.name()),
                ];
                gauges.set(
                    "greenkube_dashboard_savings_co2e_grams_total",
                    "CO2e saved over the dashboard window (savings ledger), grams",
                    &labels,
                    total.co2e_grams,
                );
                gauges.set(
                    "greenkube_dashboard_savings_cost_dollars_total",
                    "Money saved over the dashboard window (savings ledger)",
                    &labels,
                    total.cost,
                );
                co2e += total.co2e_grams;
                cost += total.cost;
            }
            let labels = [
                ("cluster", cluster),
                ("window", *slug),
                ("namespace", "__all__"),
                ("recommendation_type", "all"),
            ];
            gauges.set(
                "greenkube_dashboard_savings_co2e_grams_total",
                "CO2e saved over the dashboard window (savings ledger), grams",
                &labels,
                co2e,
            );
            gauges.set(
                "greenkube_dashboard_savings_cost_dollars_total",
                "Money saved over the dashboard window (savings ledger)",
                &labels,
                cost,
            );
        }
    }
    Ok(())
}

async fn score_gauges(
    gauges: &mut Gauges,
    state: &AppState,
    cluster: &str,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let range = TimeRange::new(now - LATEST, now).map_err(|e| AppError::Invalid(e.to_string()))?;
    // With the nodes recorded now, so node efficiency is scored (GreenKube's stays at 50).
    let inventory = nodes::inventory(state.store(), now).await?;
    let (score, _) = score::score(state.store(), range, None, Some(&inventory)).await?;
    let labels = [("cluster", cluster), ("namespace", "__all__")];
    gauges.set(
        "greenkube_sustainability_score",
        "Sustainability score of the latest window (0 to 100)",
        &labels,
        score.score,
    );
    for dimension in &score.dimensions {
        gauges.set(
            "greenkube_sustainability_dimension_score",
            "Score of one dimension of the sustainability score (0 to 100)",
            &[
                ("cluster", cluster),
                ("namespace", "__all__"),
                ("dimension", dimension.name),
            ],
            dimension.score,
        );
    }
    Ok(())
}

async fn exposition(state: &AppState) -> Result<String, AppError> {
    let now = state.now();
    // The cluster label of store-wide gauges: `--cluster`, else the store's only cluster.
    let cluster = match state.config().cluster.clone() {
        Some(name) => name,
        None => {
            let known = dashboard::clusters(state.store(), known_range(now)).await?;
            match known.as_slice() {
                [Some(only)] => only.clone(),
                _ => "default".to_string(),
            }
        }
    };
    let mut gauges = Gauges::new();
    let rows = latest_rows(state, now).await?;
    pods(&mut gauges, &rows, &cluster);
    totals(&mut gauges, &rows, &cluster);
    zones(&mut gauges, &rows, &cluster);
    node_gauges(&mut gauges, state, &rows, now).await?;
    recommendation_gauges(&mut gauges, state, &cluster).await?;
    window_gauges(&mut gauges, state, &cluster, now).await?;
    score_gauges(&mut gauges, state, &cluster, now).await?;
    gauges
        .text()
        .map_err(|e| AppError::Invalid(format!("the exposition cannot be written: {e}")))
}

/// Computes the exposition and keeps it for the scrapes to come; returns it.
async fn refresh(state: &AppState) -> Result<String, AppError> {
    let text = exposition(state).await?;
    state.keep(
        REUSE_KEY.to_string(),
        serde_json::Value::String(text.clone()),
    );
    Ok(text)
}

/// Keeps the exposition fresh in the background, every half of the summary TTL until `stop`,
/// so a scrape is answered from memory instead of waiting for the store (the first scrape
/// after a change made through the API computes it). A failure is printed and retried at the
/// next turn.
pub(crate) async fn keep_fresh(state: AppState, stop: greenkube_adapters::app::collect::Stop) {
    let period = (state.config().summary_ttl / 2).max(std::time::Duration::from_secs(1));
    loop {
        if let Err(e) = refresh(&state).await {
            tracing::warn!(error = %e, "the metrics exposition could not be computed");
        }
        tokio::select! {
            () = stop.requested() => return,
            () = tokio::time::sleep(period) => {}
        }
    }
}

/// `GET /prometheus/metrics` and `GET /metrics`.
pub(crate) async fn metrics(State(state): State<AppState>) -> Response {
    let text = match state
        .cached(REUSE_KEY)
        .and_then(|v| v.as_str().map(str::to_string))
    {
        Some(text) => text,
        None => match refresh(&state).await {
            Ok(text) => text,
            Err(e) => return ApiError::from(e).into_response(),
        },
    };
    let own = match state.config().self_metrics.encode(state.now()) {
        Ok(own) => own,
        Err(e) => {
            return ApiError::from(AppError::Invalid(format!(
                "greenkube's own metrics cannot be written: {e}"
            )))
            .into_response();
        }
    };
    let text = super::self_metrics::join(&text, &own);
    let mut response = (StatusCode::OK, text).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
    );
    response
}
