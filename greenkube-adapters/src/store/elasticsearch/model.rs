//! Rows to and from Elasticsearch documents (`mappings/footprints.json`), document ids, and
//! aggregation buckets to [`AggregateRow`]s.

use std::str::FromStr;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use greenkube_core::aggregate::GroupKey;
use greenkube_core::ports::{NodeRecord, PodRecord, StoreError};
use greenkube_core::units::{Bytes, Cores, Money};
use greenkube_core::{
    AggregateRow, GroupBy, IdlePolicy, Methodology, MethodologyInfo, Period, Ranged,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::BACKEND;
use super::fields::{
    AGGREGATED_FIGURES, KEY_SOURCES, NODE_ROW, PERIOD_SOURCE, POD_ROW, digest, group_fields,
    includes_nodes, instant, micros, window_id,
};

/// The id of a pod document: its key `(cluster, namespace, pod, window_start)` and the batch
/// that wrote it.
pub(super) fn pod_id(p: &PodRecord, batch: u64) -> String {
    let start = micros(p.window_start).to_string();
    let key = digest(&[
        p.cluster.as_deref().unwrap_or(""),
        &p.namespace,
        &p.pod,
        &start,
    ]);
    format!("p-{key}-{batch}")
}

/// The id of a node document: its key `(cluster, node, window_start)` and the batch.
pub(super) fn node_id(n: &NodeRecord, batch: u64) -> String {
    let start = micros(n.window_start).to_string();
    let key = digest(&[
        n.cluster.as_deref().unwrap_or(""),
        n.node.as_deref().unwrap_or(""),
        &start,
    ]);
    format!("n-{key}-{batch}")
}

/// A pod row as a document. `cluster` and `node` are `""` for none (so they group and sort
/// without a missing bucket); other absent names are `null`.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct PodDocument {
    row: Arc<str>,
    batch: u64,
    window: String,
    window_start_us: i64,
    window_end_us: i64,
    /// Window start in milliseconds, a `date` for `date_histogram`.
    window_start: i64,
    cluster: Arc<str>,
    namespace: Arc<str>,
    pod: Arc<str>,
    owner_kind: Option<Arc<str>>,
    owner_name: Option<Arc<str>>,
    workload_kind: Arc<str>,
    workload: Arc<str>,
    node: Arc<str>,
    zone: Option<Arc<str>>,
    region: Option<Arc<str>>,
    provider: Option<Arc<str>>,
    instance_type: Option<Arc<str>>,
    cpu_usage_cores: Option<f64>,
    cpu_request_cores: Option<f64>,
    memory_usage_bytes: Option<f64>,
    memory_request_bytes: Option<f64>,
    restarts: Option<u64>,
    energy_joules: f64,
    energy_joules_low: f64,
    energy_joules_high: f64,
    co2e_grams: f64,
    co2e_grams_low: f64,
    co2e_grams_high: f64,
    embodied_co2e_grams: f64,
    embodied_co2e_grams_low: f64,
    embodied_co2e_grams_high: f64,
    cost: Option<f64>,
    pue: f64,
    pue_low: f64,
    pue_high: f64,
    grid_intensity: f64,
    grid_intensity_low: f64,
    grid_intensity_high: f64,
    estimated: bool,
    estimation_reasons: Vec<String>,
    /// 1: counted by `rows`.
    pod_rows: u8,
    /// 1 when estimated: counted by `estimated_rows`.
    estimated_rows: u8,
    /// 1 when the cost is unknown: counted by `rows_without_cost`.
    no_cost: u8,
    methodology: String,
    methodology_version: String,
    data_version: String,
    idle_policy: String,
}

fn ranged(point: f64, low: f64, high: f64) -> Ranged {
    Ranged { point, low, high }
}

fn none_if_empty(s: Arc<str>) -> Option<Arc<str>> {
    (!s.is_empty()).then_some(s)
}

fn methodology(
    name: &str,
    version: String,
    data_version: String,
    idle_policy: &str,
) -> Result<MethodologyInfo, StoreError> {
    let bad = |e: greenkube_core::UnknownNameError| {
        StoreError::invalid_data(BACKEND, format!("stored row: {e}"))
    };
    Ok(MethodologyInfo {
        name: Methodology::from_str(name).map_err(bad)?,
        version,
        data_version,
        idle_policy: IdlePolicy::from_str(idle_policy).map_err(bad)?,
    })
}

impl PodDocument {
    pub(super) fn new(p: &PodRecord, batch: u64) -> Self {
        let m = &p.methodology;
        Self {
            row: Arc::from(POD_ROW),
            batch,
            window: window_id(p.cluster.as_deref(), p.window_start),
            window_start_us: micros(p.window_start),
            window_end_us: micros(p.window_end),
            window_start: p.window_start.timestamp_millis(),
            cluster: p.cluster.clone().unwrap_or_else(|| Arc::from("")),
            namespace: p.namespace.clone(),
            pod: p.pod.clone(),
            owner_kind: p.owner_kind.clone(),
            owner_name: p.owner_name.clone(),
            workload_kind: p.workload_kind.clone(),
            workload: p.workload.clone(),
            node: p.node.clone().unwrap_or_else(|| Arc::from("")),
            zone: p.zone.clone(),
            region: p.region.clone(),
            provider: p.provider.clone(),
            instance_type: p.instance_type.clone(),
            cpu_usage_cores: p.cpu_usage_cores.map(Cores::value),
            cpu_request_cores: p.cpu_request_cores.map(Cores::value),
            memory_usage_bytes: p.memory_usage_bytes.map(Bytes::value),
            memory_request_bytes: p.memory_request_bytes.map(Bytes::value),
            restarts: p.restarts,
            energy_joules: p.energy_joules.point,
            energy_joules_low: p.energy_joules.low,
            energy_joules_high: p.energy_joules.high,
            co2e_grams: p.co2e_grams.point,
            co2e_grams_low: p.co2e_grams.low,
            co2e_grams_high: p.co2e_grams.high,
            embodied_co2e_grams: p.embodied_co2e_grams.point,
            embodied_co2e_grams_low: p.embodied_co2e_grams.low,
            embodied_co2e_grams_high: p.embodied_co2e_grams.high,
            cost: p.cost.map(Money::value),
            pue: p.pue.point,
            pue_low: p.pue.low,
            pue_high: p.pue.high,
            grid_intensity: p.grid_intensity.point,
            grid_intensity_low: p.grid_intensity.low,
            grid_intensity_high: p.grid_intensity.high,
            estimated: p.estimated,
            estimation_reasons: p.estimation_reasons.clone(),
            pod_rows: 1,
            estimated_rows: u8::from(p.estimated),
            no_cost: u8::from(p.cost.is_none()),
            methodology: m.name.name().to_string(),
            methodology_version: m.version.clone(),
            data_version: m.data_version.clone(),
            idle_policy: m.idle_policy.name().to_string(),
        }
    }

    pub(super) fn into_record(self) -> Result<PodRecord, StoreError> {
        Ok(PodRecord {
            cluster: none_if_empty(self.cluster),
            window_start: instant(self.window_start_us)?,
            window_end: instant(self.window_end_us)?,
            namespace: self.namespace,
            pod: self.pod,
            owner_kind: self.owner_kind,
            owner_name: self.owner_name,
            workload_kind: self.workload_kind,
            workload: self.workload,
            node: none_if_empty(self.node),
            zone: self.zone,
            region: self.region,
            provider: self.provider,
            instance_type: self.instance_type,
            cpu_usage_cores: self.cpu_usage_cores.map(Cores),
            cpu_request_cores: self.cpu_request_cores.map(Cores),
            memory_usage_bytes: self.memory_usage_bytes.map(Bytes),
            memory_request_bytes: self.memory_request_bytes.map(Bytes),
            restarts: self.restarts,
            energy_joules: ranged(
                self.energy_joules,
                self.energy_joules_low,
                self.energy_joules_high,
            ),
            co2e_grams: ranged(self.co2e_grams, self.co2e_grams_low, self.co2e_grams_high),
            embodied_co2e_grams: ranged(
                self.embodied_co2e_grams,
                self.embodied_co2e_grams_low,
                self.embodied_co2e_grams_high,
            ),
            cost: self.cost.map(Money),
            pue: ranged(self.pue, self.pue_low, self.pue_high),
            grid_intensity: ranged(
                self.grid_intensity,
                self.grid_intensity_low,
                self.grid_intensity_high,
            ),
            estimated: self.estimated,
            estimation_reasons: self.estimation_reasons,
            methodology: methodology(
                &self.methodology,
                self.methodology_version,
                self.data_version,
                &self.idle_policy,
            )?,
        })
    }
}

/// A node row as a document: what no pod of the node carries in the window. Its figures keep
/// their own names (`overhead_energy_joules`, ...); aggregations sum them next to the pod
/// figures.
#[derive(Debug, Serialize)]
pub(super) struct NodeDocument<'a> {
    row: &'static str,
    batch: u64,
    window: String,
    window_start_us: i64,
    window_end_us: i64,
    window_start: i64,
    cluster: &'a str,
    node: &'a str,
    provider: Option<&'a str>,
    instance_type: Option<&'a str>,
    zone: Option<&'a str>,
    region: Option<&'a str>,
    cpu_capacity_cores: Option<f64>,
    memory_capacity_bytes: Option<f64>,
    synthetic: bool,
    pue: f64,
    pue_low: f64,
    pue_high: f64,
    grid_intensity: f64,
    grid_intensity_low: f64,
    grid_intensity_high: f64,
    overhead_energy_joules: f64,
    overhead_energy_joules_low: f64,
    overhead_energy_joules_high: f64,
    overhead_co2e_grams: f64,
    overhead_co2e_grams_low: f64,
    overhead_co2e_grams_high: f64,
    unallocated_embodied_co2e_grams: f64,
    unallocated_embodied_co2e_grams_low: f64,
    unallocated_embodied_co2e_grams_high: f64,
    estimation_reasons: &'a [String],
    methodology: &'static str,
    methodology_version: &'a str,
    data_version: &'a str,
    idle_policy: &'static str,
}

impl<'a> NodeDocument<'a> {
    pub(super) fn new(n: &'a NodeRecord, batch: u64) -> Self {
        let m = &n.methodology;
        Self {
            row: NODE_ROW,
            batch,
            window: window_id(n.cluster.as_deref(), n.window_start),
            window_start_us: micros(n.window_start),
            window_end_us: micros(n.window_end),
            window_start: n.window_start.timestamp_millis(),
            cluster: n.cluster.as_deref().unwrap_or(""),
            node: n.node.as_deref().unwrap_or(""),
            provider: n.provider.as_deref(),
            instance_type: n.instance_type.as_deref(),
            zone: n.zone.as_deref(),
            region: n.region.as_deref(),
            cpu_capacity_cores: n.cpu_capacity_cores.map(Cores::value),
            memory_capacity_bytes: n.memory_capacity_bytes.map(Bytes::value),
            synthetic: n.synthetic,
            pue: n.pue.point,
            pue_low: n.pue.low,
            pue_high: n.pue.high,
            grid_intensity: n.grid_intensity.point,
            grid_intensity_low: n.grid_intensity.low,
            grid_intensity_high: n.grid_intensity.high,
            overhead_energy_joules: n.overhead_energy_joules.point,
            overhead_energy_joules_low: n.overhead_energy_joules.low,
            overhead_energy_joules_high: n.overhead_energy_joules.high,
            overhead_co2e_grams: n.overhead_co2e_grams.point,
            overhead_co2e_grams_low: n.overhead_co2e_grams.low,
            overhead_co2e_grams_high: n.overhead_co2e_grams.high,
            unallocated_embodied_co2e_grams: n.unallocated_embodied_co2e_grams.point,
            unallocated_embodied_co2e_grams_low: n.unallocated_embodied_co2e_grams.low,
            unallocated_embodied_co2e_grams_high: n.unallocated_embodied_co2e_grams.high,
            estimation_reasons: &n.estimation_reasons,
            methodology: m.name.name(),
            methodology_version: &m.version,
            data_version: &m.data_version,
            idle_policy: m.idle_policy.name(),
        }
    }
}

/// Reads one composite bucket (`{"key": {...}, "<agg>": {"value": ...}, ...}`).
pub(super) fn aggregate_from_bucket(
    bucket: &Value,
    group_by: GroupBy,
    period: Option<Period>,
) -> Result<AggregateRow, StoreError> {
    let bad = |what: &str| {
        StoreError::other(
            BACKEND,
            format!("aggregating footprints: unexpected bucket ({what}): {bucket}"),
        )
    };
    let key = bucket.get("key").ok_or_else(|| bad("no key"))?;
    let name = |source: &str| -> Result<Option<Arc<str>>, StoreError> {
        match key.get(source) {
            Some(Value::String(s)) if s.is_empty() => Ok(None),
            Some(Value::String(s)) => Ok(Some(Arc::from(s.as_str()))),
            Some(Value::Null) | None => Ok(None),
            Some(_) => Err(bad(source)),
        }
    };
    let mut group = GroupKey::default();
    for &(source, field) in KEY_SOURCES {
        if !group_fields(group_by).contains(&field) {
            continue;
        }
        let value = name(source)?;
        match field {
            "cluster" => group.cluster = value,
            "namespace" => group.namespace = value,
            "workload_kind" => group.workload_kind = value,
            "workload" => group.workload = value,
            "pod" => group.pod = value,
            "node" => group.node = value,
            _ => return Err(bad(field)),
        }
    }
    if let Some(p) = period {
        let ms = key
            .get(PERIOD_SOURCE)
            .and_then(|v| v.as_i64().or_else(|| v.as_f64().map(|f| f as i64)))
            .ok_or_else(|| bad("period"))?;
        let start = DateTime::from_timestamp_millis(ms).ok_or_else(|| bad("period"))?;
        group.period = Some(p.label(start));
    }
    let value = |agg: &str| -> Result<f64, StoreError> {
        match bucket.get(agg).and_then(|a| a.get("value")) {
            Some(Value::Number(n)) => n.as_f64().ok_or_else(|| bad(agg)),
            // A sum over documents that lack the field.
            Some(Value::Null) | None => Ok(0.0),
            Some(_) => Err(bad(agg)),
        }
    };
    let figure = |base: &str| -> Result<Ranged, StoreError> {
        Ok(ranged(
            value(base)?,
            value(&format!("{base}_low"))?,
            value(&format!("{base}_high"))?,
        ))
    };
    let count = |agg: &str| -> Result<usize, StoreError> {
        let v = value(agg)?;
        if v >= 0.0 && v.fract() == 0.0 {
            Ok(v as usize)
        } else {
            Err(bad(agg))
        }
    };
    let with_nodes = includes_nodes(group_by);
    let mut sums = [Ranged::exact(0.0); 3];
    for (sum, &(pod_field, node_field)) in sums.iter_mut().zip(AGGREGATED_FIGURES) {
        *sum = figure(pod_field)?;
        if with_nodes {
            *sum += figure(node_field)?;
        }
    }
    let micros_of = |agg: &str| -> Result<DateTime<Utc>, StoreError> {
        let v = value(agg)?;
        instant(v.round() as i64)
    };
    Ok(AggregateRow {
        key: group,
        energy_joules: sums[0],
        co2e_grams: sums[1],
        embodied_co2e_grams: sums[2],
        cost: Money(value("cost")?),
        rows: count("pod_rows")?,
        estimated_rows: count("estimated_rows")?,
        rows_without_cost: count("no_cost")?,
        first_window: Some(micros_of("first_window")?),
        last_window: Some(micros_of("last_window")?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use greenkube_core::ports::WindowRecords;
    use greenkube_core::testsuite::fixtures::{at, footprint, methodology as fixture_methodology};

    #[test]
    fn pod_documents_round_trip_and_keep_none_apart_from_empty() {
        let fp = footprint(
            None,
            at(2025, 6, 2, 10, 0),
            3,
            &fixture_methodology(Methodology::Full, "gkdata-0123456789ab"),
        );
        let w = WindowRecords::from_footprint(&fp);
        for p in &w.pods {
            let mut p = p.clone();
            p.zone = Some(Arc::from(""));
            let json = serde_json::to_string(&PodDocument::new(&p, 7)).unwrap();
            let back: PodDocument = serde_json::from_str(&json).unwrap();
            assert_eq!(back.into_record().unwrap(), p);
        }
        assert_eq!(window_id(None, fp.window_start), "1748858400000000/");
        assert_eq!(
            window_id(Some("a/b"), fp.window_start),
            "1748858400000000/a/b"
        );
    }

    #[test]
    fn ids_are_stable_per_key_and_batch() {
        let fp = footprint(
            Some("prod"),
            at(2025, 6, 2, 10, 0),
            3,
            &fixture_methodology(Methodology::Full, "gkdata-0123456789ab"),
        );
        let w = WindowRecords::from_footprint(&fp);
        let ids: std::collections::HashSet<String> = w.pods.iter().map(|p| pod_id(p, 1)).collect();
        assert_eq!(ids.len(), w.pods.len());
        assert_eq!(pod_id(&w.pods[0], 1), pod_id(&w.pods[0].clone(), 1));
        assert_ne!(pod_id(&w.pods[0], 1), pod_id(&w.pods[0], 2));
        assert!(pod_id(&w.pods[0], 12).ends_with("-12"));
        assert_ne!(node_id(&w.nodes[0], 1), node_id(&w.nodes[1], 1));
    }

    #[test]
    fn reads_a_composite_bucket_as_elasticsearch_sends_it() {
        // The shape of an Elasticsearch 8 composite bucket: sums as doubles, a missing field's
        // sum as 0.0, min/max as doubles, the date_histogram key in epoch milliseconds.
        let bucket = serde_json::json!({
            "key": {"k_cluster": "", "k_period": 1_748_822_400_000_i64},
            "doc_count": 11,
            "energy_joules": {"value": 10.5}, "energy_joules_low": {"value": 5.25},
            "energy_joules_high": {"value": 21.0},
            "overhead_energy_joules": {"value": 1.5}, "overhead_energy_joules_low": {"value": 1.0},
            "overhead_energy_joules_high": {"value": 2.0},
            "co2e_grams": {"value": 1.0}, "co2e_grams_low": {"value": 0.5},
            "co2e_grams_high": {"value": 2.0},
            "overhead_co2e_grams": {"value": 0.0}, "overhead_co2e_grams_low": {"value": 0.0},
            "overhead_co2e_grams_high": {"value": 0.0},
            "embodied_co2e_grams": {"value": 3.0}, "embodied_co2e_grams_low": {"value": 1.5},
            "embodied_co2e_grams_high": {"value": 6.0},
            "unallocated_embodied_co2e_grams": {"value": null},
            "unallocated_embodied_co2e_grams_low": {"value": null},
            "cost": {"value": 0.25}, "pod_rows": {"value": 8.0},
            "estimated_rows": {"value": 2.0}, "no_cost": {"value": 1.0},
            "first_window": {"value": 1.748_858_4E15, "value_as_string": "ignored"},
            "last_window": {"value": 1.748_858_7E15}
        });
        let row = aggregate_from_bucket(&bucket, GroupBy::Cluster, Some(Period::Day)).unwrap();
        assert_eq!(row.key.cluster, None, "an empty cluster is no cluster");
        assert_eq!(row.key.period.as_deref(), Some("2025-06-02"));
        assert_eq!(row.energy_joules, ranged(12.0, 6.25, 23.0));
        assert_eq!(row.embodied_co2e_grams, ranged(3.0, 1.5, 6.0));
        assert_eq!(
            (row.rows, row.estimated_rows, row.rows_without_cost),
            (8, 2, 1)
        );
        assert_eq!(row.first_window, Some(at(2025, 6, 2, 10, 0)));
        assert_eq!(row.last_window, Some(at(2025, 6, 2, 10, 5)));
        let mut bad = bucket.clone();
        bad["pod_rows"]["value"] = serde_json::json!(1.5);
        assert!(aggregate_from_bucket(&bad, GroupBy::Cluster, None).is_err());
        let mut bad = bucket;
        bad["key"]["k_cluster"] = serde_json::json!(3);
        assert!(aggregate_from_bucket(&bad, GroupBy::Cluster, None).is_err());
    }
}
