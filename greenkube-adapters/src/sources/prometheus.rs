//! The Prometheus usage source: per-pod CPU, memory and restarts per window from cAdvisor and
//! kube-state-metrics series, and nodes from kube-state-metrics, through Prometheus's HTTP API
//! (`/api/v1/query_range`, `/api/v1/query`).
//!
//! * **Windows.** Window `t` is `[t, t + step)`. Each usage query is a `query_range` with
//!   `step` = the window length, evaluated at `t + step` so that the answer at `T` describes
//!   window `T - step` ([`super::promql`] explains the look-back and the choice of series).
//!   Every window of the range is returned, with no pods when Prometheus has nothing for it: an
//!   empty answer is an answer, never retried.
//! * **Long ranges** are split so that no query asks Prometheus for more than 11,000 points per
//!   series (its hard limit), or fewer with [`PrometheusSource::with_max_points_per_query`]. The
//!   three queries of a part (CPU, memory, restarts) run concurrently; the parts run one after
//!   the other.
//! * **Bad answers** are typed [`SourceError`]s: an HTTP error or `"status": "error"` (with
//!   Prometheus's `errorType` and message), malformed JSON, a `resultType` other than the one
//!   asked for, a sample at a time the query did not ask for. Bad **values** (NaN, infinities,
//!   negative usage, a fractional restart count) are never summed and never turned into zero:
//!   [`PrometheusSource::usage_report`] drops them from the pod's figure (which becomes `None`,
//!   unknown) and lists each in [`UsageReport::rejected`]; the [`UsageSource`] implementation,
//!   whose answer cannot carry such a list, fails with [`SourceErrorKind::BadResponse`] naming
//!   the first one instead.
//! * **Retries** are those of the shared [`SourceHttp`] client (bounded, transient failures
//!   only); this module adds none.
//! * **Speed.** Answers are parsed straight from the bytes into compact series: only the labels
//!   used are kept, namespaces and nodes shared as one `Arc<str>` each, a pod's name allocated
//!   once, one allocation per series for its samples and none per sample (values are parsed from
//!   the borrowed text). Windows are then assembled by pod index. Parsing and assembling a
//!   window of 100,000 pods (three answers of 15 MB) takes well under a second on one core.
//!   Memory grows with windows x pods: ask for bounded ranges (an hour, a day) at a time.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};
use greenkube_core::Node;
use greenkube_core::ports::{
    PodUsage, SourceError, SourceErrorKind, SourceKind, TimeRange, UsageSource, WindowUsage,
};
use greenkube_core::units::{Bytes, Cores};
use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::http::{HttpPolicy, SourceHttp};
use super::node_labels::{provider_from_metric_labels, provider_from_provider_id};
use super::promql::{self, PromDuration};

/// Prometheus refuses range queries of more than 11,000 points per series; no query asks more.
pub const MAX_POINTS_PER_QUERY: usize = 11_000;

/// The most windows one [`UsageSource::usage`] call may cover (a year of one-minute windows is
/// 525,600); longer requests are refused rather than exhausting memory.
pub const MAX_WINDOWS: usize = 1_000_000;

/// The shortest window Prometheus is asked about.
pub const MIN_STEP: Duration = Duration::from_secs(1);

const QUERY_RANGE_PATH: &str = "api/v1/query_range";
const QUERY_PATH: &str = "api/v1/query";

/// Usage and node metrics from a Prometheus server.
#[derive(Debug, Clone)]
pub struct PrometheusSource {
    http: SourceHttp,
    max_points: usize,
}

impl PrometheusSource {
    /// A source reading the Prometheus at `base_url` (`http://prometheus:9090`, or a path prefix
    /// such as `https://host/prometheus`). A malformed URL is `NotConfigured`.
    pub fn new(base_url: &str, policy: HttpPolicy) -> Result<Self, SourceError> {
        SourceHttp::new(SourceKind::Prometheus, base_url, policy).map(Self::from_http)
    }

    /// A source over a prepared client, for example one carrying an `authorization` header
    /// ([`SourceHttp::with_header`]). The client should be of kind [`SourceKind::Prometheus`],
    /// since its errors name that kind.
    pub fn from_http(http: SourceHttp) -> Self {
        Self {
            http,
            max_points: MAX_POINTS_PER_QUERY,
        }
    }

    /// Asks for at most `points` points per series in one query (clamped to
    /// `1..=`[`MAX_POINTS_PER_QUERY`]): fewer, smaller answers for servers that limit the
    /// samples of a query (`--query.max-samples`) or the size of an answer.
    pub fn with_max_points_per_query(mut self, points: usize) -> Self {
        self.max_points = points.clamp(1, MAX_POINTS_PER_QUERY);
        self
    }

    /// The client this source queries through.
    pub fn http(&self) -> &SourceHttp {
        &self.http
    }

    /// Usage of every pod for each window `[t, t + step)` of `range` (as
    /// [`UsageSource::usage`]), with the values Prometheus gave that could not be used (NaN,
    /// infinite, negative, a fractional restart count) left out of the pods' figures and listed
    /// in [`UsageReport::rejected`].
    ///
    /// `step` must be at least [`MIN_STEP`] and a whole number of milliseconds, and the range
    /// at most [`MAX_WINDOWS`] windows long (`NotConfigured` otherwise). Times are sent to
    /// Prometheus at millisecond resolution (a sub-millisecond part of `range.from()` is
    /// ignored in the queries, kept in the windows' starts).
    pub async fn usage_report(
        &self,
        range: TimeRange,
        step: Duration,
    ) -> Result<UsageReport, SourceError> {
        let plan = Plan::new(range, step, self.max_points)
            .map_err(|m| self.http.error(SourceErrorKind::NotConfigured, m))?;
        let mut assembly = Assembly::new(plan);
        if plan.windows == 0 {
            return Ok(assembly.finish(range.from()));
        }
        let queries = UsageQueries::new(plan.step_ms)
            .map_err(|m| self.http.error(SourceErrorKind::NotConfigured, m))?;
        for chunk in plan.chunks() {
            let (cpu, memory, restarts) = join3(
                self.range_query(&queries.cpu, &plan, chunk, UsageMetric::CpuCores),
                self.range_query(&queries.memory, &plan, chunk, UsageMetric::MemoryBytes),
                self.range_query(&queries.restarts, &plan, chunk, UsageMetric::Restarts),
            )
            .await;
            for (metric, answer) in [
                (UsageMetric::CpuCores, cpu?),
                (UsageMetric::MemoryBytes, memory?),
                (UsageMetric::Restarts, restarts?),
            ] {
                assembly
                    .add(chunk, metric, answer)
                    .map_err(|m| self.http.error(SourceErrorKind::BadResponse, m))?;
            }
            assembly.fold(chunk);
        }
        Ok(assembly.finish(range.from()))
    }

    /// One `query_range` of one part of the range; the matrix it answered.
    async fn range_query(
        &self,
        query: &str,
        plan: &Plan,
        chunk: Chunk,
        metric: UsageMetric,
    ) -> Result<Vec<Series<PodLabels>>, SourceError> {
        let start = chunk.eval_start_ms;
        let end = chunk.eval_end_ms(plan.step_ms);
        let params = [
            ("query", query.to_owned()),
            ("start", unix_seconds(start)),
            ("end", unix_seconds(end)),
            ("step", unix_seconds(plan.step_ms)),
        ];
        let what = format!(
            "the {} query from {} to {} every {}",
            metric.name(),
            unix_seconds(start),
            unix_seconds(end),
            unix_seconds(plan.step_ms)
        );
        let answer: ApiAnswer<QueryData<PodLabels>> =
            self.http.get_json(QUERY_RANGE_PATH, &params).await?;
        self.result_of(answer, "matrix", &what)
    }

    /// The series of a successful answer of the expected `resultType`.
    fn result_of<L: Labels>(
        &self,
        answer: ApiAnswer<QueryData<L>>,
        expected: &str,
        what: &str,
    ) -> Result<Vec<Series<L>>, SourceError> {
        let bad = |m: String| self.http.error(SourceErrorKind::BadResponse, m);
        match answer.status {
            Status::Error => Err(bad(format!(
                "{what}: Prometheus answered status \"error\" ({}): {}",
                answer.error_type.as_deref().unwrap_or("no errorType"),
                answer.error.as_deref().unwrap_or("no message")
            ))),
            Status::Success => {
                let data = answer.data.ok_or_else(|| {
                    bad(format!(
                        "{what}: Prometheus answered status \"success\" without data"
                    ))
                })?;
                if data.result_type == expected {
                    Ok(data.series)
                } else {
                    Err(bad(format!(
                        "{what}: Prometheus answered resultType {:?}, expected {expected:?}",
                        data.result_type
                    )))
                }
            }
        }
    }

    /// Nodes as kube-state-metrics describes them at `at` (as [`UsageSource::nodes`]).
    async fn nodes_at(&self, at: DateTime<Utc>) -> Result<Vec<Node>, SourceError> {
        let time = unix_seconds(at.timestamp_millis());
        let what = format!("the node query at {time}");
        let params = [("query", promql::NODES.to_owned()), ("time", time)];
        let answer: ApiAnswer<QueryData<AllLabels>> =
            self.http.get_json(QUERY_PATH, &params).await?;
        let series = self.result_of(answer, "vector", &what)?;
        nodes_from(series).map_err(|m| {
            self.http
                .error(SourceErrorKind::BadResponse, format!("{what}: {m}"))
        })
    }
}

#[async_trait]
impl UsageSource for PrometheusSource {
    /// [`PrometheusSource::usage_report`], failing with `BadResponse` when Prometheus gave any
    /// value that cannot be used (the error names the first and counts them).
    async fn usage(
        &self,
        range: TimeRange,
        step: Duration,
    ) -> Result<Vec<WindowUsage>, SourceError> {
        let report = self.usage_report(range, step).await?;
        match report.rejected.first() {
            None => Ok(report.windows),
            Some(first) => Err(self.http.error(
                SourceErrorKind::BadResponse,
                format!(
                    "{} unusable value(s) in the answers, the first: {first}",
                    report.rejected.len()
                ),
            )),
        }
    }

    /// One node per `node` label of `kube_node_labels`, `kube_node_info` and the capacity
    /// metrics at `at`, sorted by name: instance type, region and zone from the well-known
    /// labels (the `topology`/`node.kubernetes.io` names first, then the `failure-domain.beta` /
    /// `beta.kubernetes.io` ones), provider from `kube_node_info`'s `provider_id` scheme (`aws`,
    /// `gce`, `azure`, `scaleway`) or else from provider-specific label prefixes (EKS,
    /// Karpenter on AWS, GKE, AKS, OVHcloud, Scaleway), capacity from
    /// `kube_node_status_capacity` (or kube-state-metrics 1.x's `_cpu_cores`/`_memory_bytes`).
    /// Unknown fields are `None`; `labels` is `None` (kube-state-metrics' sanitised label names
    /// cannot be turned back into Kubernetes label names). A capacity that is not a positive
    /// finite number is a `BadResponse`.
    async fn nodes(&self, at: DateTime<Utc>) -> Result<Vec<Node>, SourceError> {
        self.nodes_at(at).await
    }
}

/// Which usage figure a value was for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum UsageMetric {
    /// CPU, cores (`container_cpu_usage_seconds_total`).
    CpuCores,
    /// Memory working set, bytes (`container_memory_working_set_bytes`).
    MemoryBytes,
    /// Container restarts (`kube_pod_container_status_restarts_total`).
    Restarts,
}

impl UsageMetric {
    /// Lower-case name, as used in messages.
    pub const fn name(self) -> &'static str {
        match self {
            Self::CpuCores => "CPU",
            Self::MemoryBytes => "memory",
            Self::Restarts => "restarts",
        }
    }
}

impl fmt::Display for UsageMetric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A value Prometheus gave that greenkube could not use, and so left out.
#[derive(Debug, Clone, PartialEq)]
pub struct RejectedValue {
    /// Start of the window the value was for.
    pub window_start: DateTime<Utc>,
    /// Namespace of the pod.
    pub namespace: Arc<str>,
    /// The pod.
    pub pod: Arc<str>,
    /// Which figure.
    pub metric: UsageMetric,
    /// The value as Prometheus gave it.
    pub value: f64,
    /// Why it was rejected: `not a number`, `infinite`, `negative`, `not a whole number`.
    pub reason: &'static str,
}

impl fmt::Display for RejectedValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} of {}/{} in the window starting {}: {} ({})",
            self.metric,
            self.namespace,
            self.pod,
            self.window_start
                .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
            self.value,
            self.reason
        )
    }
}

/// What [`PrometheusSource::usage_report`] found.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct UsageReport {
    /// Every window of the range, in order, each with its pods sorted by namespace then pod.
    pub windows: Vec<WindowUsage>,
    /// The values left out, by window, pod and metric.
    pub rejected: Vec<RejectedValue>,
}

// ---------------------------------------------------------------------------------------------
// Planning: windows, evaluation times, and the split into queries Prometheus accepts.

/// The windows of a range and how they are queried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Plan {
    /// `range.from()` in whole milliseconds.
    from_ms: i64,
    /// The window length, milliseconds.
    step_ms: i64,
    /// Number of windows: `ceil((to - from) / step)`.
    windows: usize,
    /// Most windows (points per series) in one query.
    max_points: usize,
}

/// 9999-12-31T23:59:59.999Z, the last instant greenkube asks Prometheus about.
const MAX_TIME_MS: i64 = 253_402_300_799_999;

/// A run of consecutive windows asked in one `query_range`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Chunk {
    /// Index of its first window in the range.
    first: usize,
    /// Number of windows (points per series), at least 1.
    len: usize,
    /// Evaluation time of its first window: that window's end, milliseconds.
    eval_start_ms: i64,
}

impl Plan {
    fn new(range: TimeRange, step: Duration, max_points: usize) -> Result<Self, String> {
        if step < MIN_STEP || !step.subsec_nanos().is_multiple_of(1_000_000) {
            return Err(format!(
                "the window length must be at least 1 s and a whole number of milliseconds, not {step:?}"
            ));
        }
        let step_ms = i64::try_from(step.as_millis())
            .map_err(|_| format!("the window length {step:?} is too long"))?;
        let span = range.to() - range.from();
        let span_ns =
            i128::from(span.num_seconds()) * 1_000_000_000 + i128::from(span.subsec_nanos());
        let step_ns = i128::from(step_ms) * 1_000_000;
        let windows = (span_ns + step_ns - 1) / step_ns;
        let windows = usize::try_from(windows)
            .ok()
            .filter(|w| *w <= MAX_WINDOWS)
            .ok_or_else(|| {
                format!(
                    "{range} holds {windows} windows of {step:?}, more than the {MAX_WINDOWS} one call may ask for"
                )
            })?;
        // The end of the last window (its evaluation time) must be a time both Prometheus and
        // chrono hold; then every window start and evaluation time before it is too.
        let from_ms = range.from().timestamp_millis();
        let last_end = step_ms
            .checked_mul(as_i64(windows))
            .and_then(|span| from_ms.checked_add(span))
            .filter(|end| *end <= MAX_TIME_MS)
            .and_then(|_| TimeDelta::try_milliseconds(step_ms.saturating_mul(as_i64(windows))))
            .and_then(|span| range.from().checked_add_signed(span));
        if last_end.is_none() {
            return Err(format!(
                "{range} in windows of {step:?} ends after the year 9999"
            ));
        }
        Ok(Self {
            from_ms,
            step_ms,
            windows,
            max_points: max_points.clamp(1, MAX_POINTS_PER_QUERY),
        })
    }

    /// The queries, in order: runs of at most `max_points` windows.
    fn chunks(self) -> impl Iterator<Item = Chunk> {
        (0..self.windows)
            .step_by(self.max_points)
            .map(move |first| Chunk {
                first,
                len: self.max_points.min(self.windows - first),
                eval_start_ms: self.window_start_ms(first) + self.step_ms,
            })
    }

    /// Start of window `index`, milliseconds (`index < windows <= MAX_WINDOWS`, no overflow for
    /// any date chrono can represent).
    fn window_start_ms(self, index: usize) -> i64 {
        self.from_ms + self.step_ms * as_i64(index)
    }
}

impl Chunk {
    /// Evaluation time of its last window.
    fn eval_end_ms(self, step_ms: i64) -> i64 {
        self.eval_start_ms + step_ms * (as_i64(self.len) - 1)
    }

    /// The window (index in this chunk) whose evaluation time is `at_ms`, if any.
    fn window_at(self, at_ms: i64, step_ms: i64) -> Option<usize> {
        let offset = at_ms.checked_sub(self.eval_start_ms)?;
        if offset < 0 || offset % step_ms != 0 {
            return None;
        }
        usize::try_from(offset / step_ms)
            .ok()
            .filter(|i| *i < self.len)
    }
}

/// The three usage queries for a window length.
struct UsageQueries {
    cpu: String,
    memory: String,
    restarts: String,
}

impl UsageQueries {
    fn new(step_ms: i64) -> Result<Self, String> {
        let step = u64::try_from(step_ms)
            .ok()
            .and_then(PromDuration::from_millis)
            .ok_or_else(|| format!("invalid window length {step_ms} ms"))?;
        let too_short = || format!("the window length {step} is too short");
        Ok(Self {
            cpu: promql::cpu_cores(step),
            memory: promql::memory_bytes(step).ok_or_else(too_short)?,
            restarts: promql::restarts(step).ok_or_else(too_short)?,
        })
    }
}

/// A window count or index as `i64` (they are at most [`MAX_WINDOWS`]).
fn as_i64(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Milliseconds since the epoch as Prometheus's decimal seconds (`1704067500.000`).
fn unix_seconds(ms: i64) -> String {
    let sign = if ms < 0 { "-" } else { "" };
    let abs = ms.unsigned_abs();
    format!("{sign}{}.{:03}", abs / 1000, abs % 1000)
}

/// Polls three futures together; the outputs in order.
async fn join3<A: Future, B: Future, C: Future>(
    a: A,
    b: B,
    c: C,
) -> (A::Output, B::Output, C::Output) {
    let (mut a, mut b, mut c) = (pin!(a), pin!(b), pin!(c));
    let (mut ra, mut rb, mut rc) = (None, None, None);
    std::future::poll_fn(move |cx| {
        if ra.is_none()
            && let Poll::Ready(v) = a.as_mut().poll(cx)
        {
            ra = Some(v);
        }
        if rb.is_none()
            && let Poll::Ready(v) = b.as_mut().poll(cx)
        {
            rb = Some(v);
        }
        if rc.is_none()
            && let Poll::Ready(v) = c.as_mut().poll(cx)
        {
            rc = Some(v);
        }
        match (ra.take(), rb.take(), rc.take()) {
            (Some(x), Some(y), Some(z)) => Poll::Ready((x, y, z)),
            (x, y, z) => {
                (ra, rb, rc) = (x, y, z);
                Poll::Pending
            }
        }
    })
    .await
}

// ---------------------------------------------------------------------------------------------
// Assembly: series -> windows of pods.

/// One value of one series at one window, before the pod's values are combined.
#[derive(Debug)]
struct Entry {
    pod: u32,
    metric: UsageMetric,
    value: f64,
    node: Option<Arc<str>>,
}

/// A figure of a pod in a window.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Figure {
    Absent,
    Known(f64),
    /// At least one of its values was rejected: unknown, whatever the others say.
    Rejected,
}

impl Figure {
    fn add(&mut self, value: f64) {
        *self = match *self {
            Self::Absent => Self::Known(value),
            Self::Known(sum) => Self::Known(sum + value),
            Self::Rejected => Self::Rejected,
        };
    }

    fn known(self) -> Option<f64> {
        match self {
            Self::Known(v) => Some(v),
            Self::Absent | Self::Rejected => None,
        }
    }
}

/// A pod's figures in one window.
#[derive(Debug)]
struct PodWindow {
    pod: u32,
    cpu: Figure,
    memory: Figure,
    restarts: Figure,
    node: Option<Arc<str>>,
}

/// A rejected value before the pod's name is looked up.
#[derive(Debug)]
struct Rejection {
    window: usize,
    pod: u32,
    metric: UsageMetric,
    value: f64,
    reason: &'static str,
}

/// Builds the windows of a range from the answers, part by part.
struct Assembly {
    plan: Plan,
    /// `(namespace, pod)` -> index into `pods`.
    index: HashMap<(Arc<str>, Arc<str>), u32>,
    pods: Vec<(Arc<str>, Arc<str>)>,
    /// The values of the current part, per window of the part.
    pending: Vec<Vec<Entry>>,
    /// Finished windows (pods in index order until `finish`).
    windows: Vec<Vec<PodWindow>>,
    rejected: Vec<Rejection>,
}

impl Assembly {
    fn new(plan: Plan) -> Self {
        let mut windows = Vec::new();
        windows.resize_with(plan.windows, Vec::new);
        Self {
            plan,
            index: HashMap::new(),
            pods: Vec::new(),
            pending: Vec::new(),
            windows,
            rejected: Vec::new(),
        }
    }

    /// Adds one answer (one metric of one part). Series without a namespace or a pod (system
    /// cgroups, the node itself) are not pods and are skipped.
    fn add(
        &mut self,
        chunk: Chunk,
        metric: UsageMetric,
        series: Vec<Series<PodLabels>>,
    ) -> Result<(), String> {
        if self.pending.len() != chunk.len {
            self.pending.clear();
            self.pending.resize_with(chunk.len, Vec::new);
        }
        for s in series {
            let PodLabels {
                namespace,
                pod,
                pod_name,
                node,
                instance,
            } = s.labels;
            let (Some(namespace), Some(pod)) = (namespace, pod.or(pod_name)) else {
                continue;
            };
            let node = node.or_else(|| instance.filter(|i| !i.contains(':')));
            let pod = self.pod_index(namespace, pod)?;
            for sample in s.samples {
                let window = chunk
                    .window_at(sample.at_ms, self.plan.step_ms)
                    .ok_or_else(|| {
                        format!(
                            "the {metric} answer has a sample at {}, which is not one of the query's evaluation times",
                            unix_seconds(sample.at_ms)
                        )
                    })?;
                self.pending[window].push(Entry {
                    pod,
                    metric,
                    value: sample.value,
                    node: node.clone(),
                });
            }
        }
        Ok(())
    }

    fn pod_index(&mut self, namespace: Arc<str>, pod: Arc<str>) -> Result<u32, String> {
        let key = (namespace, pod);
        if let Some(index) = self.index.get(&key) {
            return Ok(*index);
        }
        let index = u32::try_from(self.pods.len())
            .map_err(|_| "more than 4 billion pods in one answer".to_owned())?;
        self.pods.push(key.clone());
        self.index.insert(key, index);
        Ok(index)
    }

    /// Combines the values of the current part into its windows' pods: the figures summed per
    /// pod (a pod whose series came from two nodes counts both), any rejected value making the
    /// figure unknown, and the node taken from the CPU series with the most CPU (else the
    /// memory series with the most memory; a rejected value weighs 0; ties go to the smaller
    /// node name).
    fn fold(&mut self, chunk: Chunk) {
        for (offset, entries) in self.pending.iter_mut().enumerate() {
            let window = chunk.first + offset;
            entries.sort_unstable_by_key(|e| (e.pod, e.metric));
            let mut pods: Vec<PodWindow> = Vec::new();
            // The node chosen so far for the last pod: (rank, weight).
            let mut best = (0u8, 0.0f64);
            for entry in entries.drain(..) {
                if pods.last().is_none_or(|p| p.pod != entry.pod) {
                    pods.push(PodWindow {
                        pod: entry.pod,
                        cpu: Figure::Absent,
                        memory: Figure::Absent,
                        restarts: Figure::Absent,
                        node: None,
                    });
                    best = (0, 0.0);
                }
                let Some(current) = pods.last_mut() else {
                    continue;
                };
                let figure = match entry.metric {
                    UsageMetric::CpuCores => &mut current.cpu,
                    UsageMetric::MemoryBytes => &mut current.memory,
                    UsageMetric::Restarts => &mut current.restarts,
                };
                let weight = match check(entry.metric, entry.value) {
                    Ok(value) => {
                        figure.add(value);
                        value
                    }
                    Err(reason) => {
                        *figure = Figure::Rejected;
                        self.rejected.push(Rejection {
                            window,
                            pod: entry.pod,
                            metric: entry.metric,
                            value: entry.value,
                            reason,
                        });
                        // Its node is still known; it just weighs nothing.
                        0.0
                    }
                };
                let rank = match entry.metric {
                    UsageMetric::CpuCores => 2,
                    UsageMetric::MemoryBytes => 1,
                    UsageMetric::Restarts => 0,
                };
                if let Some(node) = entry.node
                    && rank > 0
                {
                    let better = match (rank, weight).partial_cmp(&best) {
                        Some(std::cmp::Ordering::Greater) => true,
                        Some(std::cmp::Ordering::Equal) => {
                            current.node.as_ref().is_none_or(|n| node < *n)
                        }
                        _ => false,
                    };
                    if better {
                        current.node = Some(node);
                        best = (rank, weight);
                    }
                }
            }
            self.windows[window] = pods;
        }
    }

    /// The windows, pods sorted by namespace then pod, and the rejected values resolved.
    fn finish(self, from: DateTime<Utc>) -> UsageReport {
        let Self {
            plan,
            pods,
            windows,
            mut rejected,
            ..
        } = self;
        let mut order: Vec<u32> = (0..pods.len() as u32).collect();
        order.sort_unstable_by(|a, b| pods[*a as usize].cmp(&pods[*b as usize]));
        let mut rank = vec![0u32; pods.len()];
        for (position, pod) in order.iter().enumerate() {
            rank[*pod as usize] = position as u32;
        }
        // Plan::new checked that the end of the last window is representable, so this never
        // falls back.
        let start_of = |window: usize| {
            TimeDelta::try_milliseconds(plan.step_ms * as_i64(window))
                .and_then(|offset| from.checked_add_signed(offset))
                .unwrap_or(from)
        };
        let windows = windows
            .into_iter()
            .enumerate()
            .map(|(window, mut entries)| {
                entries.sort_unstable_by_key(|p| rank[p.pod as usize]);
                WindowUsage {
                    window_start: start_of(window),
                    pods: entries
                        .into_iter()
                        .map(|p| {
                            let (namespace, pod) = &pods[p.pod as usize];
                            PodUsage {
                                namespace: namespace.clone(),
                                pod: pod.clone(),
                                node: p.node,
                                cpu_usage_cores: p.cpu.known().map(Cores),
                                memory_usage_bytes: p.memory.known().map(Bytes),
                                restarts: p.restarts.known().map(|r| r as u64),
                            }
                        })
                        .collect(),
                }
            })
            .collect();
        rejected.sort_by_key(|r| (r.window, rank[r.pod as usize], r.metric));
        let rejected = rejected
            .into_iter()
            .map(|r| {
                let (namespace, pod) = &pods[r.pod as usize];
                RejectedValue {
                    window_start: start_of(r.window),
                    namespace: namespace.clone(),
                    pod: pod.clone(),
                    metric: r.metric,
                    value: r.value,
                    reason: r.reason,
                }
            })
            .collect();
        UsageReport { windows, rejected }
    }
}

/// Largest whole number an `f64` holds exactly.
const MAX_EXACT_INTEGER: f64 = 9_007_199_254_740_992.0;

/// A usable value (`-0` made `0`), or why not.
fn check(metric: UsageMetric, value: f64) -> Result<f64, &'static str> {
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

// ---------------------------------------------------------------------------------------------
// Nodes.

/// What the node query said about one node.
#[derive(Debug, Default)]
struct NodeFacts {
    /// `label_*` labels of `kube_node_labels`, first value seen.
    labels: BTreeMap<Arc<str>, Arc<str>>,
    provider_id: Option<Arc<str>>,
    cpu: Option<f64>,
    memory: Option<f64>,
}

const INSTANCE_TYPE_LABELS: [&str; 2] = [
    "label_node_kubernetes_io_instance_type",
    "label_beta_kubernetes_io_instance_type",
];
const REGION_LABELS: [&str; 2] = [
    "label_topology_kubernetes_io_region",
    "label_failure_domain_beta_kubernetes_io_region",
];
const ZONE_LABELS: [&str; 2] = [
    "label_topology_kubernetes_io_zone",
    "label_failure_domain_beta_kubernetes_io_zone",
];
fn nodes_from(series: Vec<Series<AllLabels>>) -> Result<Vec<Node>, String> {
    let mut facts: BTreeMap<Arc<str>, NodeFacts> = BTreeMap::new();
    for s in series {
        let labels = s.labels.0;
        let get = |name: &str| {
            labels
                .iter()
                .find(|(k, _)| &**k == name)
                .map(|(_, v)| v.clone())
        };
        let (Some(metric), Some(node)) = (get("__name__"), get("node")) else {
            continue;
        };
        let value = s.samples.first().map(|sample| sample.value);
        let entry = facts.entry(node.clone()).or_default();
        let capacity = |what: &str| -> Result<Option<f64>, String> {
            match value {
                Some(v) if v.is_finite() && v > 0.0 => Ok(Some(v)),
                Some(v) => Err(format!(
                    "the {what} capacity of node {node} is {v}, not a positive number"
                )),
                None => Ok(None),
            }
        };
        match &*metric {
            promql::NODE_LABELS_METRIC => {
                for (k, v) in &labels {
                    if k.starts_with("label_") && !v.is_empty() {
                        entry.labels.entry(k.clone()).or_insert_with(|| v.clone());
                    }
                }
            }
            promql::NODE_INFO_METRIC if entry.provider_id.is_none() => {
                entry.provider_id = get("provider_id").filter(|p| !p.is_empty());
            }
            promql::NODE_CAPACITY_METRIC => match get("resource").as_deref() {
                Some("cpu") => entry.cpu = entry.cpu.or(capacity("CPU")?),
                Some("memory") => entry.memory = entry.memory.or(capacity("memory")?),
                _ => {}
            },
            promql::NODE_CAPACITY_CPU_V1_METRIC => entry.cpu = entry.cpu.or(capacity("CPU")?),
            promql::NODE_CAPACITY_MEMORY_V1_METRIC => {
                entry.memory = entry.memory.or(capacity("memory")?);
            }
            _ => {}
        }
    }
    Ok(facts
        .into_iter()
        .map(|(name, facts)| {
            let first = |names: &[&str]| names.iter().find_map(|n| facts.labels.get(*n).cloned());
            let provider = facts
                .provider_id
                .as_deref()
                .and_then(provider_from_provider_id)
                .or_else(|| provider_from_metric_labels(facts.labels.keys().map(|k| &**k)))
                .map(Arc::from);
            Node {
                name,
                provider,
                instance_type: first(&INSTANCE_TYPE_LABELS),
                region: first(&REGION_LABELS),
                zone: first(&ZONE_LABELS),
                cpu_capacity_cores: facts.cpu.map(Cores),
                memory_capacity_bytes: facts.memory.map(Bytes),
                labels: None,
            }
        })
        .collect())
}

// ---------------------------------------------------------------------------------------------
// Parsing Prometheus's JSON answers.

/// `{"status": ..., "data": ..., "errorType": ..., "error": ...}` (`warnings` and `infos` are
/// ignored).
#[derive(Debug, Deserialize)]
#[serde(bound(deserialize = "D: Deserialize<'de>"))]
struct ApiAnswer<D> {
    status: Status,
    data: Option<D>,
    #[serde(rename = "errorType")]
    error_type: Option<String>,
    error: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Status {
    Success,
    Error,
}

/// `{"resultType": ..., "result": [...]}` of a vector or matrix answer.
#[derive(Debug)]
struct QueryData<L> {
    result_type: String,
    series: Vec<Series<L>>,
}

/// One series: its labels (those `L` keeps) and its samples.
#[derive(Debug)]
struct Series<L> {
    labels: L,
    samples: Vec<Sample>,
}

/// `[<unix seconds>, "<value>"]`.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Sample {
    at_ms: i64,
    value: f64,
}

/// Strings seen in one answer, shared (a node or namespace name is stored once), with the last
/// value of each of a few labels at hand: Prometheus sorts a result by its labels, so
/// consecutive series mostly repeat them, and a comparison is cheaper than a hash.
#[derive(Debug, Default)]
struct Interner {
    seen: HashSet<Arc<str>>,
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
trait Labels: Default {
    /// Identifies a kept label.
    type Key;
    /// Which label `name` is, `None` to skip it (and its value) without allocating.
    fn key(name: &str, strings: &mut Interner) -> Option<Self::Key>;
    /// Records a kept label's value.
    fn set(&mut self, key: Self::Key, value: &str, strings: &mut Interner);
}

/// The labels of the usage answers (see [`promql::POD_LABELS`], [`promql::NODE_LABELS`]).
#[derive(Debug, Default)]
struct PodLabels {
    namespace: Option<Arc<str>>,
    pod: Option<Arc<str>>,
    pod_name: Option<Arc<str>>,
    node: Option<Arc<str>>,
    instance: Option<Arc<str>>,
}

#[derive(Debug, Clone, Copy)]
enum PodLabel {
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
struct AllLabels(Vec<(Arc<str>, Arc<str>)>);

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

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(secs: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(secs, 0).single().expect("valid time")
    }

    fn range(from: i64, to: i64) -> TimeRange {
        TimeRange::new(at(from), at(to)).expect("ordered")
    }

    const T0: i64 = 1_704_067_200;

    #[test]
    fn windows_are_counted_by_their_start() {
        let five = Duration::from_secs(300);
        let plan = |from, to| Plan::new(range(from, to), five, MAX_POINTS_PER_QUERY);
        assert_eq!(plan(T0, T0).expect("empty").windows, 0);
        assert_eq!(plan(T0, T0 + 1).expect("one").windows, 1);
        assert_eq!(plan(T0, T0 + 300).expect("one").windows, 1);
        assert_eq!(plan(T0, T0 + 301).expect("two").windows, 2);
        assert_eq!(plan(T0, T0 + 7200).expect("24").windows, 24);
        let sub_ms = TimeRange::new(at(T0), at(T0) + TimeDelta::nanoseconds(1)).expect("ordered");
        assert_eq!(
            Plan::new(sub_ms, five, 10).expect("one").windows,
            1,
            "a nanosecond of range still starts a window"
        );
    }

    #[test]
    fn steps_that_prometheus_cannot_take_are_refused() {
        let r = range(T0, T0 + 3600);
        for step in [
            Duration::ZERO,
            Duration::from_millis(999),
            Duration::from_nanos(1_500_000_001),
        ] {
            let err = Plan::new(r, step, 100).expect_err("refused");
            assert!(err.contains("at least 1 s"), "{err}");
        }
        assert_eq!(
            Plan::new(r, Duration::from_millis(1500), 100)
                .expect("whole milliseconds")
                .windows,
            2400
        );
        let long = TimeRange::new(at(0), at(T0)).expect("ordered");
        let err = Plan::new(long, Duration::from_secs(1), 100).expect_err("too many windows");
        assert!(err.contains("1704067200 windows"), "{err}");
        let y9999 = Utc
            .with_ymd_and_hms(9999, 12, 31, 23, 0, 0)
            .single()
            .expect("valid time");
        let late = TimeRange::new(y9999, y9999 + TimeDelta::minutes(55)).expect("ordered");
        assert!(Plan::new(late, Duration::from_secs(300), 100).is_ok());
        let too_late = TimeRange::new(y9999, y9999 + TimeDelta::minutes(56)).expect("ordered");
        let err = Plan::new(too_late, Duration::from_secs(300), 100).expect_err("year 10000");
        assert!(err.ends_with("ends after the year 9999"), "{err}");
    }

    #[test]
    fn long_ranges_are_split_at_the_point_limit() {
        // A day of one-second windows: 86,400 points per series, in 8 queries of at most 11,000.
        let plan = Plan::new(
            range(T0, T0 + 86_400),
            Duration::from_secs(1),
            MAX_POINTS_PER_QUERY,
        )
        .expect("plan");
        let chunks: Vec<Chunk> = plan.chunks().collect();
        assert_eq!(chunks.len(), 8);
        assert!(chunks.iter().all(|c| c.len <= MAX_POINTS_PER_QUERY));
        assert_eq!(chunks.iter().map(|c| c.len).sum::<usize>(), 86_400);
        assert_eq!(
            chunks[0],
            Chunk {
                first: 0,
                len: 11_000,
                eval_start_ms: (T0 + 1) * 1000,
            }
        );
        assert_eq!(chunks[0].eval_end_ms(1000), (T0 + 11_000) * 1000);
        assert_eq!(
            chunks[7],
            Chunk {
                first: 77_000,
                len: 9_400,
                eval_start_ms: (T0 + 77_001) * 1000,
            }
        );
        assert_eq!(chunks[7].eval_end_ms(1000), (T0 + 86_400) * 1000);
        // Consecutive parts neither overlap nor leave a gap.
        for pair in chunks.windows(2) {
            assert_eq!(pair[0].first + pair[0].len, pair[1].first);
            assert_eq!(pair[0].eval_end_ms(1000) + 1000, pair[1].eval_start_ms);
        }
    }

    #[test]
    fn smaller_limits_split_further_and_are_clamped() {
        let plan = Plan::new(range(T0, T0 + 3000), Duration::from_secs(300), 4).expect("plan");
        let lens: Vec<(usize, usize)> = plan.chunks().map(|c| (c.first, c.len)).collect();
        assert_eq!(lens, vec![(0, 4), (4, 4), (8, 2)]);
        let clamped = Plan::new(range(T0, T0 + 3000), Duration::from_secs(300), 0).expect("plan");
        assert_eq!(clamped.max_points, 1);
        assert_eq!(clamped.chunks().count(), 10);
        let big = Plan::new(range(T0, T0 + 3000), Duration::from_secs(300), 1 << 40).expect("plan");
        assert_eq!(big.max_points, MAX_POINTS_PER_QUERY);
        assert_eq!(
            Plan::new(range(T0, T0), Duration::from_secs(300), 4)
                .expect("plan")
                .chunks()
                .count(),
            0
        );
    }

    #[test]
    fn samples_map_to_windows_only_at_evaluation_times() {
        let chunk = Chunk {
            first: 10,
            len: 3,
            eval_start_ms: 1_000_000,
        };
        assert_eq!(chunk.window_at(1_000_000, 300_000), Some(0));
        assert_eq!(chunk.window_at(1_600_000, 300_000), Some(2));
        assert_eq!(chunk.window_at(1_900_000, 300_000), None, "after the last");
        assert_eq!(chunk.window_at(700_000, 300_000), None, "before the first");
        assert_eq!(chunk.window_at(1_000_001, 300_000), None, "between two");
    }

    #[test]
    fn times_are_sent_as_decimal_seconds() {
        assert_eq!(unix_seconds(1_704_067_500_000), "1704067500.000");
        assert_eq!(unix_seconds(1_500), "1.500");
        assert_eq!(unix_seconds(-1_500), "-1.500");
        assert_eq!(unix_seconds(0), "0.000");
    }

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

    fn parse<L: Labels>(json: &str) -> QueryData<L> {
        let answer: ApiAnswer<QueryData<L>> = serde_json::from_str(json).expect("parses");
        assert_eq!(answer.status, Status::Success);
        answer.data.expect("data")
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

    fn series(labels: &[(&str, &str)], samples: &[(i64, f64)]) -> Series<PodLabels> {
        let mut strings = Interner::default();
        let mut out = PodLabels::default();
        for (k, v) in labels {
            if let Some(key) = PodLabels::key(k, &mut strings) {
                out.set(key, v, &mut strings);
            }
        }
        Series {
            labels: out,
            samples: samples
                .iter()
                .map(|(at_ms, value)| Sample {
                    at_ms: *at_ms,
                    value: *value,
                })
                .collect(),
        }
    }

    #[test]
    fn windows_sum_pods_pick_nodes_and_keep_bad_values_out() {
        let plan = Plan::new(range(T0, T0 + 600), Duration::from_secs(300), 100).expect("plan");
        let chunk = plan.chunks().next().expect("one part");
        let w0 = (T0 + 300) * 1000;
        let w1 = (T0 + 600) * 1000;
        let mut assembly = Assembly::new(plan);
        assembly
            .add(
                chunk,
                UsageMetric::CpuCores,
                vec![
                    series(
                        &[("namespace", "b"), ("pod", "x"), ("node", "n2")],
                        &[(w0, 0.5), (w1, 0.5)],
                    ),
                    series(
                        &[("namespace", "b"), ("pod", "x"), ("node", "n1")],
                        &[(w0, 0.25), (w1, 0.5)],
                    ),
                    series(
                        &[("namespace", "a"), ("pod_name", "y"), ("instance", "n3")],
                        &[(w0, f64::NAN)],
                    ),
                    series(
                        &[
                            ("namespace", "a"),
                            ("pod", "z"),
                            ("instance", "10.0.0.1:10250"),
                        ],
                        &[(w1, 1.0)],
                    ),
                    series(&[("node", "n1")], &[(w0, 9.0)]),
                ],
            )
            .expect("added");
        assembly
            .add(
                chunk,
                UsageMetric::MemoryBytes,
                vec![series(
                    &[("namespace", "a"), ("pod_name", "y"), ("instance", "n3")],
                    &[(w0, 1024.0)],
                )],
            )
            .expect("added");
        assembly
            .add(
                chunk,
                UsageMetric::Restarts,
                vec![series(&[("namespace", "b"), ("pod", "x")], &[(w1, 2.0)])],
            )
            .expect("added");
        assembly.fold(chunk);
        let report = assembly.finish(at(T0));
        assert_eq!(report.windows.len(), 2);
        let w = &report.windows[0];
        assert_eq!(w.window_start, at(T0));
        let names: Vec<(&str, &str)> = w.pods.iter().map(|p| (&*p.namespace, &*p.pod)).collect();
        assert_eq!(names, vec![("a", "y"), ("b", "x")]);
        assert_eq!(w.pods[0].cpu_usage_cores, None, "NaN is unknown, not zero");
        assert_eq!(w.pods[0].memory_usage_bytes, Some(Bytes(1024.0)));
        assert_eq!(
            w.pods[0].node.as_deref(),
            Some("n3"),
            "from memory when CPU has none"
        );
        assert_eq!(w.pods[1].cpu_usage_cores, Some(Cores(0.75)));
        assert_eq!(
            w.pods[1].node.as_deref(),
            Some("n2"),
            "the node with the most CPU"
        );
        assert_eq!(w.pods[1].restarts, None);
        let w = &report.windows[1];
        assert_eq!(w.window_start, at(T0 + 300));
        let names: Vec<(&str, &str)> = w.pods.iter().map(|p| (&*p.namespace, &*p.pod)).collect();
        assert_eq!(names, vec![("a", "z"), ("b", "x")]);
        assert_eq!(w.pods[0].node, None, "host:port is not a node name");
        assert_eq!(w.pods[1].cpu_usage_cores, Some(Cores(1.0)));
        assert_eq!(
            w.pods[1].node.as_deref(),
            Some("n1"),
            "a tie goes to the smaller name"
        );
        assert_eq!(w.pods[1].restarts, Some(2));
        assert_eq!(report.rejected.len(), 1);
        let r = &report.rejected[0];
        assert_eq!(
            (&*r.namespace, &*r.pod, r.metric),
            ("a", "y", UsageMetric::CpuCores)
        );
        assert_eq!(r.reason, "not a number");
        assert_eq!(
            r.to_string(),
            "CPU of a/y in the window starting 2024-01-01T00:00:00Z: NaN (not a number)"
        );
    }

    #[test]
    fn samples_off_the_evaluation_times_are_errors() {
        let plan = Plan::new(range(T0, T0 + 600), Duration::from_secs(300), 100).expect("plan");
        let chunk = plan.chunks().next().expect("one part");
        let mut assembly = Assembly::new(plan);
        let err = assembly
            .add(
                chunk,
                UsageMetric::CpuCores,
                vec![series(
                    &[("namespace", "a"), ("pod", "p")],
                    &[(T0 * 1000, 1.0)],
                )],
            )
            .expect_err("T0 is a window start, not an evaluation time");
        assert_eq!(
            err,
            "the CPU answer has a sample at 1704067200.000, which is not one of the query's evaluation times"
        );
    }

    #[test]
    fn nodes_come_from_labels_info_and_capacity() {
        let data: QueryData<AllLabels> = parse(
            r#"{"status":"success","data":{"resultType":"vector","result":[
              {"metric":{"__name__":"kube_node_labels","node":"a","label_beta_kubernetes_io_instance_type":"old","label_node_kubernetes_io_instance_type":"m5.large","label_failure_domain_beta_kubernetes_io_zone":"z-old","label_topology_kubernetes_io_zone":"eu-west-3a","label_cloud_google_com_gke_nodepool":"p"},"value":[1,"1"]},
              {"metric":{"__name__":"kube_node_info","node":"a","provider_id":"aws:///eu-west-3a/i-1"},"value":[1,"1"]},
              {"metric":{"__name__":"kube_node_status_capacity","node":"a","resource":"cpu","unit":"core"},"value":[1,"2"]},
              {"metric":{"__name__":"kube_node_status_capacity","node":"a","resource":"pods"},"value":[1,"110"]},
              {"metric":{"__name__":"kube_node_labels","node":"b","label_kubernetes_azure_com_agentpool":"x","label_failure_domain_beta_kubernetes_io_region":"westeurope"},"value":[1,"1"]},
              {"metric":{"__name__":"kube_node_status_capacity_memory_bytes","node":"b"},"value":[1,"1024"]},
              {"metric":{"__name__":"kube_node_labels"},"value":[1,"1"]}
            ]}}"#,
        );
        let nodes = nodes_from(data.series).expect("nodes");
        assert_eq!(
            nodes,
            vec![
                Node {
                    name: "a".into(),
                    provider: Some("aws".into()),
                    instance_type: Some("m5.large".into()),
                    region: None,
                    zone: Some("eu-west-3a".into()),
                    cpu_capacity_cores: Some(Cores(2.0)),
                    memory_capacity_bytes: None,
                    labels: None,
                },
                Node {
                    name: "b".into(),
                    provider: Some("azure".into()),
                    instance_type: None,
                    region: Some("westeurope".into()),
                    zone: None,
                    cpu_capacity_cores: None,
                    memory_capacity_bytes: Some(Bytes(1024.0)),
                    labels: None,
                },
            ]
        );
    }

    #[test]
    fn bad_capacities_are_errors() {
        let data: QueryData<AllLabels> = parse(
            r#"{"status":"success","data":{"resultType":"vector","result":[
              {"metric":{"__name__":"kube_node_status_capacity_cpu_cores","node":"a"},"value":[1,"NaN"]}
            ]}}"#,
        );
        assert_eq!(
            nodes_from(data.series).expect_err("NaN capacity"),
            "the CPU capacity of node a is NaN, not a positive number"
        );
    }

    #[test]
    fn providers_come_from_provider_ids_and_own_labels_only() {
        assert_eq!(
            provider_from_provider_id("aws:///eu-west-3a/i-1"),
            Some("aws")
        );
        assert_eq!(
            provider_from_provider_id("gce://p/europe-west1-b/n"),
            Some("gcp")
        );
        assert_eq!(
            provider_from_provider_id("azure:///subscriptions/x"),
            Some("azure")
        );
        assert_eq!(
            provider_from_provider_id("scaleway://instance/fr-par-1/x"),
            Some("scaleway")
        );
        assert_eq!(provider_from_provider_id("openstack:///x"), None);
        assert_eq!(provider_from_provider_id("kind://docker/kind/n"), None);
        assert_eq!(provider_from_provider_id("no scheme"), None);
        let labels: BTreeMap<Arc<str>, Arc<str>> = [
            (
                "label_topology_kubernetes_io_region".into(),
                "us-east-1".into(),
            ),
            (
                "label_node_kubernetes_io_instance_type".into(),
                "n2-standard-4".into(),
            ),
        ]
        .into_iter()
        .collect();
        assert_eq!(
            provider_from_metric_labels(labels.keys().map(|k| &**k)),
            None,
            "no provider guessed from a region name (GreenKube's GKE-as-AWS bug)"
        );
        let labels: BTreeMap<Arc<str>, Arc<str>> =
            [("label_k8s_ovh_net_nodepool".into(), "p".into())]
                .into_iter()
                .collect();
        assert_eq!(
            provider_from_metric_labels(labels.keys().map(|k| &**k)),
            Some("ovh")
        );
    }

    #[test]
    fn join3_waits_for_all_three() {
        let out = futures_lite_block_on(join3(async { 1 }, async { "two" }, async { 3.0 }));
        assert_eq!(out, (1, "two", 3.0));
    }

    /// Drives a future that never waits (enough for `join3` over ready futures).
    fn futures_lite_block_on<F: Future>(f: F) -> F::Output {
        let mut f = pin!(f);
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        loop {
            if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
                return v;
            }
        }
    }
}
