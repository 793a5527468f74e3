//! OpenCost: cost per pod accrued in a window, from OpenCost's `/allocation` API.
//!
//! One request per window: `GET <base>/allocation?window=<start>,<end>&aggregate=namespace,pod`
//! with `start` and `end` in RFC 3339 (UTC). The answer is
//! `{"code": 200, "data": [ {"<key>": {allocation}, ...}, ... ]}`, one map per step (OpenCost
//! returns one step for the whole window unless a `step` is asked; several are merged here).
//!
//! * **Key.** Each allocation is keyed by its `properties.namespace` and `properties.pod`. The
//!   request aggregates by `namespace,pod`, not by `pod` alone as GreenKube 0.2 did: OpenCost
//!   builds the aggregation key from the listed properties only, so `aggregate=pod` merges pods of
//!   the same name in different namespaces into one allocation (and clears its namespace), the
//!   cross-namespace collision GreenKube suffers from. An allocation without a namespace or a pod
//!   property is a [`SourceErrorKind::BadResponse`] naming its key.
//! * **Pseudo-allocations are skipped, explicitly.** OpenCost reports cost that belongs to no pod
//!   under reserved names: `__idle__` (capacity nobody used), `__unallocated__` (no pod label)
//!   and `__unmounted__` (volumes no pod mounts). An allocation whose key, name, namespace or pod
//!   is (or has a `/`-separated segment equal to) one of these is left out: it is not a pod's
//!   cost.
//! * **Cost.** A pod's cost is the sum over the steps of OpenCost's `totalCost`, which OpenCost
//!   itself computes as CPU + GPU + RAM + persistent volumes + network + load balancer + shared +
//!   external costs (with their adjustments). The component fields are not re-added here, so the
//!   figure is exactly OpenCost's own total. A `totalCost` that is missing, `null` (how OpenCost
//!   writes NaN and infinities), not a number, or negative is a
//!   [`SourceErrorKind::BadResponse`] naming the pod: never a silent zero.
//! * **Missing pods.** Pods without an allocation in the window are left out, never given a
//!   zero; an empty range asks nothing and returns no entries.
//! * A `code` other than 200 inside an HTTP 200 answer is a [`SourceErrorKind::BadResponse`]
//!   carrying OpenCost's message. `data: null` (Go's empty list) means no allocations.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::SecondsFormat;
use greenkube_core::ports::{CostSource, SourceError, SourceErrorKind, SourceKind, TimeRange};
use greenkube_core::snapshot::CostEntry;
use greenkube_core::units::Money;
use serde::Deserialize;
use serde_json::Value;

use super::http::{HttpPolicy, SourceHttp};

/// Names OpenCost gives to cost that belongs to no pod.
pub const PSEUDO_ALLOCATIONS: [&str; 3] = ["__idle__", "__unallocated__", "__unmounted__"];

/// Path of the allocation API, relative to the base URL.
const ALLOCATION_PATH: &str = "allocation";

/// The OpenCost cost source.
#[derive(Debug, Clone)]
pub struct OpenCostSource {
    http: SourceHttp,
}

impl OpenCostSource {
    /// A source for the OpenCost API at `base_url` (for example `http://opencost.opencost:9003`).
    pub fn new(base_url: &str, policy: HttpPolicy) -> Result<Self, SourceError> {
        Ok(Self::with_client(SourceHttp::new(
            SourceKind::Opencost,
            base_url,
            policy,
        )?))
    }

    /// A source over an existing client (its kind should be [`SourceKind::Opencost`]).
    pub fn with_client(http: SourceHttp) -> Self {
        Self { http }
    }

    /// The base URL, without credentials.
    pub fn base_url(&self) -> &str {
        self.http.base_url()
    }
}

/// The `window` parameter for a range: two RFC 3339 instants in UTC, comma-separated.
pub fn window_param(range: TimeRange) -> String {
    format!(
        "{},{}",
        range.from().to_rfc3339_opts(SecondsFormat::AutoSi, true),
        range.to().to_rfc3339_opts(SecondsFormat::AutoSi, true)
    )
}

#[async_trait]
impl CostSource for OpenCostSource {
    async fn costs(&self, range: TimeRange) -> Result<Vec<CostEntry>, SourceError> {
        if range.is_empty() {
            return Ok(Vec::new());
        }
        let answer: AllocationResponse = self
            .http
            .get_json(
                ALLOCATION_PATH,
                &[
                    ("window", window_param(range)),
                    ("aggregate", "namespace,pod".to_owned()),
                ],
            )
            .await?;
        merge(&self.http, answer)
    }
}

/// The body of `/allocation`.
#[derive(Debug, Deserialize)]
struct AllocationResponse {
    #[serde(default)]
    code: Option<i64>,
    #[serde(default)]
    message: Option<String>,
    /// One map per step; `null` for no allocation at all (a step may be `null` too).
    data: Option<Vec<Option<BTreeMap<String, Allocation>>>>,
}

#[derive(Debug, Deserialize)]
struct Allocation {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    properties: Option<Properties>,
    /// Kept raw: OpenCost writes NaN and infinities as `null`, and the error must name the pod.
    /// `None` when absent, `Some(Value::Null)` when `null`.
    #[serde(rename = "totalCost", default, deserialize_with = "present")]
    total_cost: Option<Value>,
}

/// A field that is present, whatever its value (`null` included).
fn present<'de, D: serde::Deserializer<'de>>(de: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(de).map(Some)
}

#[derive(Debug, Default, Deserialize)]
struct Properties {
    #[serde(default)]
    namespace: Option<String>,
    #[serde(default)]
    pod: Option<String>,
}

/// True when `text` is a pseudo-allocation name, alone or as a `/`-separated segment.
fn is_pseudo(text: &str) -> bool {
    text.split('/')
        .any(|segment| PSEUDO_ALLOCATIONS.contains(&segment))
}

fn merge(http: &SourceHttp, answer: AllocationResponse) -> Result<Vec<CostEntry>, SourceError> {
    if let Some(code) = answer.code.filter(|c| *c != 200) {
        return Err(http.error(
            SourceErrorKind::BadResponse,
            format!(
                "/allocation answered code {code}: {}",
                answer.message.as_deref().unwrap_or("(no message)")
            ),
        ));
    }
    let mut costs: BTreeMap<(String, String), f64> = BTreeMap::new();
    for (step, allocations) in answer.data.into_iter().flatten().enumerate() {
        for (key, allocation) in allocations.into_iter().flatten() {
            let props = allocation.properties.unwrap_or_default();
            let names = [
                Some(key.as_str()),
                allocation.name.as_deref(),
                props.namespace.as_deref(),
                props.pod.as_deref(),
            ];
            if names.into_iter().flatten().any(is_pseudo) {
                continue;
            }
            let (Some(namespace), Some(pod)) = (
                props.namespace.filter(|n| !n.is_empty()),
                props.pod.filter(|p| !p.is_empty()),
            ) else {
                return Err(http.error(
                    SourceErrorKind::BadResponse,
                    format!(
                        "/allocation step {step}: allocation {key:?} has no properties.namespace \
                         and properties.pod"
                    ),
                ));
            };
            let total = total_cost(http, allocation.total_cost.as_ref(), &namespace, &pod, step)?;
            *costs.entry((namespace, pod)).or_insert(0.0) += total;
        }
    }
    costs
        .into_iter()
        .map(|((namespace, pod), cost)| {
            if cost.is_finite() {
                Ok(CostEntry {
                    namespace: Arc::from(namespace),
                    pod: Arc::from(pod),
                    cost: Money(cost),
                })
            } else {
                Err(http.error(
                    SourceErrorKind::BadResponse,
                    format!("/allocation: the total cost of pod {namespace}/{pod} overflows"),
                ))
            }
        })
        .collect()
}

/// The `totalCost` of one allocation: a finite number, zero or more.
fn total_cost(
    http: &SourceHttp,
    raw: Option<&Value>,
    namespace: &str,
    pod: &str,
    step: usize,
) -> Result<f64, SourceError> {
    let value = match raw {
        Some(Value::Number(n)) => n.as_f64(),
        // Some exporters quote special values ("NaN", "+Inf"): parsed to be reported as such.
        Some(Value::String(s)) => s.trim().parse::<f64>().ok(),
        _ => None,
    };
    match value {
        Some(v) if v.is_finite() && v >= 0.0 => Ok(v),
        _ => {
            let shown = raw.map_or_else(|| "missing".to_owned(), Value::to_string);
            Err(http.error(
                SourceErrorKind::BadResponse,
                format!(
                    "/allocation step {step}: totalCost of pod {namespace}/{pod} is {shown}, not \
                     a finite, non-negative number"
                ),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn http() -> SourceHttp {
        SourceHttp::new(
            SourceKind::Opencost,
            "http://opencost:9003",
            HttpPolicy::default(),
        )
        .expect("client")
    }

    fn parse(body: &str) -> Result<Vec<CostEntry>, SourceError> {
        let answer: AllocationResponse = serde_json::from_str(body).expect("valid JSON");
        merge(&http(), answer)
    }

    #[test]
    fn window_is_two_rfc3339_instants() {
        let from = chrono::Utc.with_ymd_and_hms(2025, 6, 2, 10, 0, 0).unwrap();
        let to = chrono::Utc.with_ymd_and_hms(2025, 6, 2, 11, 0, 0).unwrap();
        let range = TimeRange::new(from, to).unwrap();
        assert_eq!(
            window_param(range),
            "2025-06-02T10:00:00Z,2025-06-02T11:00:00Z"
        );
    }

    #[test]
    fn pseudo_names_are_recognised_as_segments() {
        assert!(is_pseudo("__idle__"));
        assert!(is_pseudo("node-a/__idle__"));
        assert!(is_pseudo("default/__unallocated__"));
        assert!(is_pseudo("__unmounted__"));
        assert!(!is_pseudo("web-1"));
        assert!(!is_pseudo("default/idle"));
    }

    #[test]
    fn steps_merge_and_pseudo_allocations_are_skipped() {
        let body = r#"{"code":200,"data":[
            {"default/web-1":{"name":"default/web-1","properties":{"namespace":"default","pod":"web-1"},"totalCost":0.25},
             "__idle__":{"name":"__idle__","properties":{},"totalCost":9.0}},
            null,
            {"default/web-1":{"name":"default/web-1","properties":{"namespace":"default","pod":"web-1"},"totalCost":0.5}}
        ]}"#;
        let costs = parse(body).expect("valid");
        assert_eq!(costs.len(), 1);
        assert_eq!(&*costs[0].namespace, "default");
        assert_eq!(&*costs[0].pod, "web-1");
        assert_eq!(costs[0].cost, Money(0.75));
    }

    #[test]
    fn null_data_means_no_allocation() {
        assert_eq!(parse(r#"{"code":200,"data":null}"#).expect("valid"), vec![]);
    }

    #[test]
    fn quoted_nan_is_named() {
        let body = r#"{"code":200,"data":[{"a/b":{"properties":{"namespace":"a","pod":"b"},"totalCost":"NaN"}}]}"#;
        let err = parse(body).expect_err("NaN");
        assert_eq!(err.kind, SourceErrorKind::BadResponse);
        assert!(err.message.contains("pod a/b is \"NaN\""), "{err}");
    }

    #[test]
    fn a_missing_total_is_named() {
        let body = r#"{"code":200,"data":[{"a/b":{"properties":{"namespace":"a","pod":"b"}}}]}"#;
        let err = parse(body).expect_err("no totalCost");
        assert_eq!(err.kind, SourceErrorKind::BadResponse);
        assert_eq!(
            err.message,
            "/allocation step 0: totalCost of pod a/b is missing, not a finite, non-negative \
             number"
        );
    }

    #[test]
    fn error_code_inside_a_200_is_a_bad_response() {
        let err =
            parse(r#"{"code":500,"message":"prometheus down","data":null}"#).expect_err("code 500");
        assert_eq!(err.kind, SourceErrorKind::BadResponse);
        assert!(err.message.contains("code 500: prometheus down"), "{err}");
    }
}
