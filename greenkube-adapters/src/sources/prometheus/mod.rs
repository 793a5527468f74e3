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
//!   unknown) and lists each in [`UsageReport::rejected`]; the [`UsageSource`] implementation
//!   lists them in each window's [`WindowUsage::dropped`], which the snapshot and the footprint's
//!   warnings carry on: one bad sample costs one pod's figure in one window, not the window.
//! * **Retries** are those of the shared [`SourceHttp`] client (bounded, transient failures
//!   only); this module adds none.
//! * **Speed.** Answers are parsed straight from the bytes into compact series: only the labels
//!   used are kept, namespaces and nodes shared as one `Arc<str>` each, a pod's name allocated
//!   once, one allocation per series for its samples and none per sample (values are parsed from
//!   the borrowed text). Windows are then assembled by pod index. Parsing and assembling a
//!   window of 100,000 pods (three answers of 15 MB) takes well under a second on one core.
//!   Memory grows with windows x pods: ask for bounded ranges (an hour, a day) at a time.
//!
//! The module's parts: `plan` (which queries over which ranges), `answer` (decoding the answers
//! and checking their values), `assemble` (series to windows of pods) and `nodes` (the node
//! query); the PromQL text is in [`super::promql`].

mod answer;
mod assemble;
mod nodes;
mod plan;

use std::fmt;
use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use greenkube_core::Node;
use greenkube_core::ports::{
    SourceError, SourceErrorKind, SourceKind, TimeRange, UsageSource, WindowUsage,
};

use self::answer::{AllLabels, ApiAnswer, PodLabels, QueryData, Series};
use self::assemble::Assembly;
use self::nodes::nodes_from;
use self::plan::{Chunk, Plan, UsageQueries, unix_seconds};
use super::http::{HttpPolicy, SourceHttp};
use super::promql;

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
        answer
            .into_series("matrix", &what)
            .map_err(|m| self.http.error(SourceErrorKind::BadResponse, m))
    }

    /// Nodes as kube-state-metrics describes them at `at` (as [`UsageSource::nodes`]).
    async fn nodes_at(&self, at: DateTime<Utc>) -> Result<Vec<Node>, SourceError> {
        let time = unix_seconds(at.timestamp_millis());
        let what = format!("the node query at {time}");
        let params = [("query", promql::NODES.to_owned()), ("time", time)];
        let answer: ApiAnswer<QueryData<AllLabels>> =
            self.http.get_json(QUERY_PATH, &params).await?;
        let series = answer
            .into_series("vector", &what)
            .map_err(|m| self.http.error(SourceErrorKind::BadResponse, m))?;
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
        // Each unusable value is dropped from its pod's figure (left unknown) and listed with
        // its window, so one bad sample costs that figure, not the window or the range.
        let mut report = self.usage_report(range, step).await?;
        for rejected in &report.rejected {
            if let Some(window) = report
                .windows
                .iter_mut()
                .find(|w| w.window_start == rejected.window_start)
            {
                window.dropped.push(rejected.to_string());
            }
        }
        Ok(report.windows)
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

#[cfg(test)]
mod test_support {
    use chrono::TimeZone;

    use super::answer::{ApiAnswer, Labels, QueryData, Status};
    use super::*;

    pub(super) fn at(secs: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(secs, 0).single().expect("valid time")
    }

    pub(super) fn range(from: i64, to: i64) -> TimeRange {
        TimeRange::new(at(from), at(to)).expect("ordered")
    }

    pub(super) const T0: i64 = 1_704_067_200;

    pub(super) fn parse<L: Labels>(json: &str) -> QueryData<L> {
        let answer: ApiAnswer<QueryData<L>> = serde_json::from_str(json).expect("parses");
        assert_eq!(answer.status, Status::Success);
        answer.data.expect("data")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
