//! Prometheus's answers: `query_range` matrices and instant vectors decoded straight from the
//! bytes into compact series (only the labels used are kept, strings shared), the check that an
//! answer is a success of the expected `resultType`, and the check of each value (NaN, infinite,
//! negative, a fractional restart count).

use std::collections::HashSet;
use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::UsageMetric;
use crate::sources::promql;

/// `{"status": ..., "data": ..., "errorType": ..., "error": ...}` (`warnings` and `infos` are
/// ignored).
#[derive(Debug, Deserialize)]
#[serde(bound(deserialize = "D: Deserialize<'de>"))]
pub(super) struct ApiAnswer<D> {
    pub(super) status: Status,
    pub(super) data: Option<D>,
    #[serde(rename = "errorType")]
    pub(super) error_type: Option<String>,
    pub(super) error: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(super) enum Status {
    Success,
    Error,
}

impl<L> ApiAnswer<QueryData<L>> {
    /// The series of a successful answer of the `expected` `resultType`, or why not (the message
    /// starts with `what`, the query asked).
    pub(super) fn into_series(self, expected: &str, what: &str) -> Result<Vec<Series<L>>, String> {
        match self.status {
            Status::Error => Err(format!(
                "{what}: Prometheus answered status \"error\" ({}): {}",
                self.error_type.as_deref().unwrap_or("no errorType"),
                self.error.as_deref().unwrap_or("no message")
            )),
            Status::Success => {
                let data = self.data.ok_or_else(|| {
                    format!("{what}: Prometheus answered status \"success\" without data")
                })?;
                if data.result_type == expected {
                    Ok(data.series)
                } else {
                    Err(format!(
                        "{what}: Prometheus answered resultType {:?}, expected {expected:?}",
                        data.result_type
                    ))
                }
            }
        }
    }
}

/// `{"resultType": ..., "result": [...]}` of a vector or matrix answer.
#[derive(Debug)]
pub(super) struct QueryData<L> {
    pub(super) result_type: String,
    pub(super) series: Vec<Series<L>>,
}

/// One series: its labels (those `L` keeps) and its samples.
#[derive(Debug)]
pub(super) struct Series<L> {
    pub(super) labels: L,
    pub(super) samples: Vec<Sample>,
}

/// `[<unix seconds>, "<value>"]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Sample {
    pub(super) at_ms: i64,
    pub(super) value: f64,
}

/// Strings seen in one answer, shared (a node or namespace name is stored once), with the last
/// value of each of a few labels at hand: Prometheus sorts a result by its labels, so
/// consecutive series mostly repeat them, and a comparison is cheaper than a hash.
#[derive(Debug, Default)]
pub(super) struct Interner {
    seen: HashSet<Arc<str>, foldhash::fast::RandomState>,
    recent: [Option<Arc<str>>; Interner::SLOTS],
}

impl Interner {
    const SLOTS: usize = 3;

    /// The shared copy of `s`.
    fn get(&mut self, s: &str) -> Arc<str> {
        if let Some(shared) = self.seen.get(s) {
            return shared.clone();
        }
        let shared: Arc<str> = Arc::from(s);
        self.seen.insert(shared.clone());
        shared
    }

    /// The shared copy of `s`, the value of the label kept in `slot` (`< SLOTS`).
    fn get_in(&mut self, slot: usize, s: &str) -> Arc<str> {
        if let Some(Some(last)) = self.recent.get(slot)
            && **last == *s
        {
            return last.clone();
        }
        let shared = self.get(s);
        if let Some(recent) = self.recent.get_mut(slot) {
            *recent = Some(shared.clone());
        }
        shared
    }
}

/// The labels a parse keeps from each series' `metric` object.
pub(super) trait Labels: Default {
    /// Identifies a kept label.
    type Key;
    /// Which label `name` is, `None` to skip it (and its value) without allocating.
    fn key(name: &str, strings: &mut Interner) -> Option<Self::Key>;
    /// Records a kept label's value.
    fn set(&mut self, key: Self::Key, value: &str, strings: &mut Interner);
}

/// The labels of the usage answers (see [`promql::POD_LABELS`], [`promql::NODE_LABELS`]).
#[derive(Debug, Default)]
pub(super) struct PodLabels {
    pub(super) namespace: Option<Arc<str>>,
    pub(super) pod: Option<Arc<str>>,
    pub(super) pod_name: Option<Arc<str>>,
    pub(super) node: Option<Arc<str>>,
    pub(super) instance: Option<Arc<str>>,
}

#[derive(Debug, Clone, Copy)]
pub(super) enum PodLabel {
    Namespace,
    Pod,
    PodName,
    Node,
    Instance,
}

impl Labels for PodLabels {
    type Key = PodLabel;

    fn key(name: &str, _: &mut Interner) -> Option<PodLabel> {
        let [pod, pod_name] = promql::POD_LABELS;
        let [node, instance] = promql::NODE_LABELS;
        match name {
            n if n == promql::NAMESPACE_LABEL => Some(PodLabel::Namespace),
            n if n == pod => Some(PodLabel::Pod),
            n if n == pod_name => Some(PodLabel::PodName),
            n if n == node => Some(PodLabel::Node),
            n if n == instance => Some(PodLabel::Instance),
            _ => None,
        }
    }

    fn set(&mut self, key: PodLabel, value: &str, strings: &mut Interner) {
        // Prometheus never sends an empty label (it is the same as no label); be safe anyway.
        if value.is_empty() {
            return;
        }
        // Namespaces, nodes and kubelet addresses repeat across series and are shared; a pod
        // name is (nearly) unique to its series, so sharing it would only cost a lookup.
        match key {
            PodLabel::Namespace => self.namespace = Some(strings.get_in(0, value)),
            PodLabel::Pod => self.pod = Some(Arc::from(value)),
            PodLabel::PodName => self.pod_name = Some(Arc::from(value)),
            PodLabel::Node => self.node = Some(strings.get_in(1, value)),
            PodLabel::Instance => self.instance = Some(strings.get_in(2, value)),
        }
    }
}

/// Every label of a series (the node query).
#[derive(Debug, Default)]
pub(super) struct AllLabels(pub(super) Vec<(Arc<str>, Arc<str>)>);

impl Labels for AllLabels {
    type Key = Arc<str>;

    fn key(name: &str, strings: &mut Interner) -> Option<Arc<str>> {
        Some(strings.get(name))
    }

    fn set(&mut self, key: Arc<str>, value: &str, strings: &mut Interner) {
        self.0.push((key, strings.get(value)));
    }
}

#[derive(Deserialize)]
#[serde(field_identifier)]
enum DataField {
    #[serde(rename = "resultType")]
    ResultType,
    #[serde(rename = "result")]
    Result,
    #[serde(other)]
    Other,
}

#[derive(Deserialize)]
#[serde(field_identifier)]
enum SeriesField {
    #[serde(rename = "metric")]
    Metric,
    #[serde(rename = "values")]
    Values,
    #[serde(rename = "value")]
    Value,
    #[serde(other)]
    Other,
}

impl<'de, L: Labels> Deserialize<'de> for QueryData<L> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(DataVisitor(PhantomData))
    }
}

struct DataVisitor<L>(PhantomData<L>);

impl<'de, L: Labels> Visitor<'de> for DataVisitor<L> {
    type Value = QueryData<L>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a query result {\"resultType\": ..., \"result\": [...]}")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut strings = Interner::default();
        let mut result_type: Option<String> = None;
        let mut series: Option<Vec<Series<L>>> = None;
        while let Some(field) = map.next_key::<DataField>()? {
            match field {
                DataField::ResultType => result_type = Some(map.next_value()?),
                DataField::Result => {
                    let listed = result_type
                        .as_deref()
                        .is_none_or(|t| t == "matrix" || t == "vector");
                    series = Some(if listed {
                        map.next_value_seed(SeriesListSeed::<L> {
                            strings: &mut strings,
                            labels: PhantomData,
                        })?
                    } else {
                        // A scalar or string result: reported as a resultType mismatch.
                        map.next_value::<IgnoredAny>()?;
                        Vec::new()
                    });
                }
                DataField::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(QueryData {
            result_type: result_type.ok_or_else(|| de::Error::missing_field("resultType"))?,
            series: series.ok_or_else(|| de::Error::missing_field("result"))?,
        })
    }
}

struct SeriesListSeed<'a, L> {
    strings: &'a mut Interner,
    labels: PhantomData<L>,
}

impl<'de, L: Labels> DeserializeSeed<'de> for SeriesListSeed<'_, L> {
    type Value = Vec<Series<L>>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de, L: Labels> Visitor<'de> for SeriesListSeed<'_, L> {
    type Value = Vec<Series<L>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of series")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1 << 16));
        while let Some(series) = seq.next_element_seed(SeriesSeed::<L> {
            strings: &mut *self.strings,
            labels: PhantomData,
        })? {
            out.push(series);
        }
        Ok(out)
    }
}

struct SeriesSeed<'a, L> {
    strings: &'a mut Interner,
    labels: PhantomData<L>,
}

impl<'de, L: Labels> DeserializeSeed<'de> for SeriesSeed<'_, L> {
    type Value = Series<L>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de, L: Labels> Visitor<'de> for SeriesSeed<'_, L> {
    type Value = Series<L>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a series {\"metric\": {...}, \"values\": [...]} or {..., \"value\": [...]}")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut labels = L::default();
        let mut samples = Vec::new();
        while let Some(field) = map.next_key::<SeriesField>()? {
            match field {
                SeriesField::Metric => {
                    labels = map.next_value_seed(MetricSeed::<L> {
                        strings: &mut *self.strings,
                        labels: PhantomData,
                    })?;
                }
                SeriesField::Values => samples = map.next_value_seed(SamplesSeed)?,
                SeriesField::Value => samples = vec![map.next_value::<Sample>()?],
                // Native histograms ("histogram", "histograms") are not usage series.
                SeriesField::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(Series { labels, samples })
    }
}

struct MetricSeed<'a, L> {
    strings: &'a mut Interner,
    labels: PhantomData<L>,
}

impl<'de, L: Labels> DeserializeSeed<'de> for MetricSeed<'_, L> {
    type Value = L;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<L, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de, L: Labels> Visitor<'de> for MetricSeed<'_, L> {
    type Value = L;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a map of label names to label values")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<L, A::Error> {
        let mut labels = L::default();
        while let Some(key) = map.next_key_seed(LabelNameSeed::<L> {
            strings: &mut *self.strings,
            labels: PhantomData,
        })? {
            match key {
                Some(key) => map.next_value_seed(LabelValueSeed {
                    labels: &mut labels,
                    key,
                    strings: &mut *self.strings,
                })?,
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(labels)
    }
}

struct LabelNameSeed<'a, L> {
    strings: &'a mut Interner,
    labels: PhantomData<L>,
}

impl<'de, L: Labels> DeserializeSeed<'de> for LabelNameSeed<'_, L> {
    type Value = Option<L::Key>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<L: Labels> Visitor<'_> for LabelNameSeed<'_, L> {
    type Value = Option<L::Key>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a label name")
    }

    fn visit_str<E: de::Error>(self, name: &str) -> Result<Self::Value, E> {
        Ok(L::key(name, self.strings))
    }
}

/// A kept label's value, recorded into the series' labels straight from the input.
struct LabelValueSeed<'a, L: Labels> {
    labels: &'a mut L,
    key: L::Key,
    strings: &'a mut Interner,
}

impl<'de, L: Labels> DeserializeSeed<'de> for LabelValueSeed<'_, L> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<L: Labels> Visitor<'_> for LabelValueSeed<'_, L> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a label value")
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<(), E> {
        self.labels.set(self.key, value, self.strings);
        Ok(())
    }
}

/// The `values` of a matrix series.
struct SamplesSeed;

impl<'de> DeserializeSeed<'de> for SamplesSeed {
    type Value = Vec<Sample>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Vec<Sample>, D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for SamplesSeed {
    type Value = Vec<Sample>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of [time, \"value\"] samples")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<Sample>, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1 << 16));
        while let Some(sample) = seq.next_element::<Sample>()? {
            out.push(sample);
        }
        Ok(out)
    }
}

impl<'de> Deserialize<'de> for Sample {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_seq(SampleVisitor)
    }
}

struct SampleVisitor;

impl<'de> Visitor<'de> for SampleVisitor {
    type Value = Sample;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a sample [<unix seconds>, \"<value>\"]")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Sample, A::Error> {
        let at: f64 = seq
            .next_element()?
            .ok_or_else(|| de::Error::invalid_length(0, &self))?;
        let PromValue(value) = seq
            .next_element()?
            .ok_or_else(|| de::Error::invalid_length(1, &self))?;
        if seq.next_element::<IgnoredAny>()?.is_some() {
            return Err(de::Error::invalid_length(3, &self));
        }
        let at_ms = (at * 1000.0).round();
        // Beyond a few hundred thousand years either way: not a time Prometheus can hold.
        if !at_ms.is_finite() || at_ms.abs() > 1e16 {
            return Err(de::Error::custom(format_args!(
                "sample time {at} is out of range"
            )));
        }
        Ok(Sample {
            at_ms: at_ms as i64,
            value,
        })
    }
}

/// A sample value: a string holding a float (`"0.25"`, `"1e+06"`, `"NaN"`, `"+Inf"`).
struct PromValue(f64);

impl<'de> Deserialize<'de> for PromValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(PromValueVisitor)
    }
}

struct PromValueVisitor;

impl Visitor<'_> for PromValueVisitor {
    type Value = PromValue;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a sample value as a string (\"0.25\", \"NaN\", \"+Inf\")")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<PromValue, E> {
        v.parse()
            .map(PromValue)
            .map_err(|_| de::Error::custom(format_args!("sample value {v:?} is not a number")))
    }
}

/// Largest whole number an `f64` holds exactly.
pub(super) const MAX_EXACT_INTEGER: f64 = 9_007_199_254_740_992.0;

/// A usable value (`-0` made `0`), or why not.
pub(super) fn check(metric: UsageMetric, value: f64) -> Result<f64, &'static str> {
    if value.is_nan() {
        Err("not a number")
    } else if value.is_infinite() {
        Err("infinite")
    } else if value < 0.0 {
        Err("negative")
    } else if metric == UsageMetric::Restarts && (value.fract() != 0.0 || value > MAX_EXACT_INTEGER)
    {
        Err("not a whole number")
    } else if value == 0.0 {
        Ok(0.0)
    } else {
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::parse;
    use super::*;

    #[test]
    fn bad_values_are_named() {
        use UsageMetric::{CpuCores, Restarts};
        assert_eq!(check(CpuCores, f64::NAN), Err("not a number"));
        assert_eq!(check(CpuCores, f64::INFINITY), Err("infinite"));
        assert_eq!(check(CpuCores, -0.5), Err("negative"));
        assert_eq!(check(Restarts, 1.5), Err("not a whole number"));
        assert_eq!(check(Restarts, 1e17), Err("not a whole number"));
        assert_eq!(check(Restarts, 3.0), Ok(3.0));
        let zero = check(CpuCores, -0.0).expect("zero is fine");
        assert!(zero.is_sign_positive());
    }

    #[test]
    fn matrices_parse_with_interned_labels() {
        let data: QueryData<PodLabels> = parse(
            r#"{"status":"success","data":{"resultType":"matrix","result":[
              {"metric":{"namespace":"a","pod":"p1","node":"n1","container":"x"},
               "values":[[1704067500,"0.25"],[1704067800.5,"NaN"],[1704068100,"+Inf"]]},
              {"metric":{"namespace":"a","pod_name":"p2","instance":"n1"},"values":[[1704067500,"1e+06"]]},
              {"values":[[1,"2"]],"metric":{}}
            ]},"warnings":["ignored"]}"#,
        );
        assert_eq!(data.result_type, "matrix");
        assert_eq!(data.series.len(), 3);
        let first = &data.series[0];
        assert_eq!(first.labels.pod.as_deref(), Some("p1"));
        assert_eq!(
            first.samples[0],
            Sample {
                at_ms: 1_704_067_500_000,
                value: 0.25
            }
        );
        assert_eq!(first.samples[1].at_ms, 1_704_067_800_500);
        assert!(first.samples[1].value.is_nan());
        assert_eq!(first.samples[2].value, f64::INFINITY);
        let second = &data.series[1];
        assert_eq!(second.labels.pod_name.as_deref(), Some("p2"));
        assert_eq!(second.samples[0].value, 1e6);
        let (Some(a), Some(b)) = (&first.labels.namespace, &second.labels.namespace) else {
            panic!("namespaces parsed");
        };
        assert!(Arc::ptr_eq(a, b), "one answer shares its strings");
        assert!(Arc::ptr_eq(
            first.labels.node.as_ref().expect("node"),
            second.labels.instance.as_ref().expect("instance")
        ));
        assert!(data.series[2].labels.namespace.is_none());
    }

    #[test]
    fn malformed_samples_are_errors() {
        for (json, needle) in [
            (r#"[[1,"abc"]]"#, "sample value \"abc\" is not a number"),
            (r"[[1,0.5]]", "invalid type"),
            (r"[[1]]", "invalid length 1"),
            (r#"[[1,"1","2"]]"#, "invalid length 3"),
            (r#"[["x","1"]]"#, "invalid type"),
            (r#"[[1e300,"1"]]"#, "out of range"),
        ] {
            let body = format!(
                r#"{{"status":"success","data":{{"resultType":"matrix","result":[{{"metric":{{}},"values":{json}}}]}}}}"#
            );
            let err = serde_json::from_str::<ApiAnswer<QueryData<PodLabels>>>(&body)
                .expect_err("refused");
            assert!(err.to_string().contains(needle), "{json}: {err}");
        }
    }

    #[test]
    fn scalar_results_are_left_for_the_type_check() {
        let data: QueryData<PodLabels> =
            parse(r#"{"status":"success","data":{"resultType":"scalar","result":[1,"2"]}}"#);
        assert_eq!(data.result_type, "scalar");
        assert!(data.series.is_empty());
    }
}
