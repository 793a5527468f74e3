//! Finding Prometheus and OpenCost in the cluster when no URL is configured (GreenKube's
//! `collectors/discovery`, greenkube-reference.md §4.8).
//!
//! [`discover_url`] takes the configured URL, if any, and a Kubernetes client:
//!
//! 1. a configured URL wins, untouched but for a trailing `/` (it must be `http(s)://`);
//! 2. otherwise every Service of the cluster is listed (RBAC: `list services`, paged) and scored
//!    ([`rank_services`]): +10 when the name contains the hint (`prometheus`, `opencost`), +5 when
//!    the namespace does, +6 per well-known label (Prometheus: `app.kubernetes.io/name=prometheus`,
//!    `app.kubernetes.io/instance=k8s`; OpenCost: `app.kubernetes.io/name=opencost`), +8 in a
//!    usual namespace (`monitoring`, `prometheus`; `opencost`), −20 for adapters
//!    (`app.kubernetes.io/component` `metrics-adapter`/`adapter`, or `adapter` in the name);
//!    services at 0 or below are dropped. The port is the first of the usual ports present
//!    (Prometheus 9090; OpenCost 9003, 8080; +7), else one named `http`/`web` or numbered 80, 8080,
//!    9090 or 9091, else the first; +10 when it is named `http` or `web`. The scheme is `https`
//!    when the port's name has `https`/`tls` in it or the port is 443;
//! 3. the best five (ties by namespace and name) whose in-cluster name
//!    `<service>.<namespace>.svc.cluster.local` resolves from here (unless
//!    [`DiscoveryOptions::require_resolvable`] is off) are probed in order with a
//!    [`ServiceProbe`]. The default, [`ApiServerProxyProbe`], asks through the API server's service
//!    proxy (RBAC: `get services/proxy`), so it needs no network path to the service: Prometheus
//!    must answer `GET /api/v1/query?query=up` (or `/query`, `/prometheus/api/v1/query`) with
//!    `"status": "success"`, OpenCost `GET /healthz` with a 2xx;
//! 4. the first that answers gives `scheme://<service>.<namespace>.svc.cluster.local:<port>`. When
//!    no candidate could be probed at all (the proxy is forbidden), the best one is returned
//!    marked unverified rather than nothing.
//!
//! Errors name the service looked for ([`SourceKind::Prometheus`] or [`SourceKind::Opencost`]),
//! of kind [`SourceErrorKind::NotConfigured`], with the reason (no client, services not
//! listable, no candidate, none answered).

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use greenkube_core::ports::{SourceError, SourceErrorKind, SourceKind};
use k8s_openapi::api::core::v1::{Service, ServicePort};
use kube::Client;
use kube::core::Request;

use super::kubernetes::KubernetesSource;

/// A service to discover.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DiscoveryTarget {
    /// Prometheus (usage).
    Prometheus,
    /// OpenCost (costs).
    Opencost,
}

impl DiscoveryTarget {
    /// The source this service is.
    pub const fn source_kind(self) -> SourceKind {
        match self {
            Self::Prometheus => SourceKind::Prometheus,
            Self::Opencost => SourceKind::Opencost,
        }
    }

    /// The word looked for in service names and namespaces.
    pub const fn hint(self) -> &'static str {
        match self {
            Self::Prometheus => "prometheus",
            Self::Opencost => "opencost",
        }
    }

    const fn preferred_namespaces(self) -> &'static [&'static str] {
        match self {
            Self::Prometheus => &["monitoring", "prometheus"],
            Self::Opencost => &["opencost"],
        }
    }

    const fn preferred_labels(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Self::Prometheus => &[
                ("app.kubernetes.io/name", "prometheus"),
                ("app.kubernetes.io/instance", "k8s"),
            ],
            Self::Opencost => &[("app.kubernetes.io/name", "opencost")],
        }
    }

    const fn preferred_ports(self) -> &'static [i32] {
        match self {
            Self::Prometheus => &[9090],
            Self::Opencost => &[9003, 8080],
        }
    }

    /// Paths probed below the service's root, in order; the first that answers counts.
    pub const fn probe_paths(self) -> &'static [&'static str] {
        match self {
            Self::Prometheus => &[
                "api/v1/query?query=up",
                "query?query=up",
                "prometheus/api/v1/query?query=up",
            ],
            Self::Opencost => &["healthz"],
        }
    }
}

/// A service that may be the one looked for, with its score.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceCandidate {
    /// Namespace of the service.
    pub namespace: String,
    /// Name of the service.
    pub name: String,
    /// The chosen port.
    pub port: u16,
    /// `http` or `https`.
    pub scheme: &'static str,
    /// The score (higher is likelier).
    pub score: i32,
}

impl ServiceCandidate {
    /// `<name>.<namespace>.svc.cluster.local`.
    pub fn host(&self) -> String {
        format!("{}.{}.svc.cluster.local", self.name, self.namespace)
    }

    /// `scheme://<name>.<namespace>.svc.cluster.local:port`.
    pub fn url(&self) -> String {
        format!("{}://{}:{}", self.scheme, self.host(), self.port)
    }
}

/// The candidates among `services`, best first (ties by namespace, then name).
pub fn rank_services(target: DiscoveryTarget, services: &[Service]) -> Vec<ServiceCandidate> {
    let hint = target.hint();
    let mut out: Vec<ServiceCandidate> = services
        .iter()
        .filter_map(|svc| {
            let name = svc.metadata.name.as_deref().filter(|n| !n.is_empty())?;
            let namespace = svc
                .metadata
                .namespace
                .as_deref()
                .filter(|n| !n.is_empty())?;
            let empty = BTreeMap::new();
            let labels = svc.metadata.labels.as_ref().unwrap_or(&empty);
            let mut score = 0;
            if name.to_ascii_lowercase().contains(hint) {
                score += 10;
            }
            if namespace.to_ascii_lowercase().contains(hint) {
                score += 5;
            }
            for (key, value) in target.preferred_labels() {
                if labels.get(*key).is_some_and(|v| v == value) {
                    score += 6;
                }
            }
            let component = labels
                .get("app.kubernetes.io/component")
                .map(String::as_str);
            if matches!(component, Some("metrics-adapter" | "adapter"))
                || name.to_ascii_lowercase().contains("adapter")
            {
                score -= 20;
            }
            if target.preferred_namespaces().contains(&namespace) {
                score += 8;
            }
            if score <= 0 {
                return None;
            }
            let ports = svc.spec.as_ref()?.ports.as_deref().unwrap_or_default();
            let (port, bonus) = choose_port(target, ports)?;
            let port_name = port
                .name
                .as_deref()
                .unwrap_or_default()
                .to_ascii_lowercase();
            let number = u16::try_from(port.port).ok().filter(|&p| p > 0)?;
            score += bonus;
            if matches!(port_name.as_str(), "http" | "web") {
                score += 10;
            }
            let scheme =
                if port_name.contains("https") || port_name.contains("tls") || number == 443 {
                    "https"
                } else {
                    "http"
                };
            Some(ServiceCandidate {
                namespace: namespace.to_owned(),
                name: name.to_owned(),
                port: number,
                scheme,
                score,
            })
        })
        .collect();
    out.sort_by(|a, b| {
        b.score
            .cmp(&a.score)
            .then_with(|| a.namespace.cmp(&b.namespace))
            .then_with(|| a.name.cmp(&b.name))
    });
    out
}

/// The port to use and its bonus.
fn choose_port(target: DiscoveryTarget, ports: &[ServicePort]) -> Option<(&ServicePort, i32)> {
    for preferred in target.preferred_ports() {
        if let Some(port) = ports.iter().find(|p| p.port == *preferred) {
            return Some((port, 7));
        }
    }
    let webby = ports.iter().find(|p| {
        matches!(p.name.as_deref(), Some("http" | "web"))
            || [80, 8080, 9090, 9091].contains(&p.port)
    });
    webby.or_else(|| ports.first()).map(|p| (p, 0))
}

/// What a probe found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeOutcome {
    /// The service answers like the one looked for.
    Answers,
    /// The service answered, but not like the one looked for (or not at all).
    DoesNotAnswer,
    /// The probe could not be made (for example the API server forbids its proxy); the reason.
    CannotProbe(String),
}

/// Checks whether a candidate is the service looked for.
#[async_trait]
pub trait ServiceProbe: Send + Sync + fmt::Debug {
    /// Probes one candidate.
    async fn probe(&self, target: DiscoveryTarget, candidate: &ServiceCandidate) -> ProbeOutcome;
}

/// Probes through the API server's service proxy:
/// `GET /api/v1/namespaces/{ns}/services/{scheme}:{name}:{port}/proxy/{path}`.
#[derive(Clone)]
pub struct ApiServerProxyProbe {
    client: Client,
    timeout: Duration,
}

impl fmt::Debug for ApiServerProxyProbe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiServerProxyProbe")
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl ApiServerProxyProbe {
    /// A probe over `client`, each request allowed `timeout`.
    pub fn new(client: Client, timeout: Duration) -> Self {
        Self { client, timeout }
    }

    /// The proxy path of a candidate's `path`.
    pub fn proxy_path(candidate: &ServiceCandidate, path: &str) -> String {
        format!(
            "/api/v1/namespaces/{}/services/{}:{}:{}/proxy/{}",
            candidate.namespace, candidate.scheme, candidate.name, candidate.port, path
        )
    }

    async fn get(&self, candidate: &ServiceCandidate, path: &str) -> Result<String, String> {
        let base = format!("/api/v1/namespaces/{}/services", candidate.namespace);
        let name = format!("{}:{}:{}", candidate.scheme, candidate.name, candidate.port);
        let request = Request::new(base)
            .get_subresource(&format!("proxy/{path}"), &name)
            .map_err(|e| format!("cannot build the request: {e}"))?;
        match tokio::time::timeout(self.timeout, self.client.request_text(request)).await {
            Ok(Ok(text)) => Ok(text),
            Ok(Err(kube::Error::Api(status))) => Err(format!("HTTP {}", status.code)),
            Ok(Err(err)) => Err(err.to_string()),
            Err(_) => Err(format!("no answer within {} ms", self.timeout.as_millis())),
        }
    }
}

#[async_trait]
impl ServiceProbe for ApiServerProxyProbe {
    async fn probe(&self, target: DiscoveryTarget, candidate: &ServiceCandidate) -> ProbeOutcome {
        let mut outcome = ProbeOutcome::DoesNotAnswer;
        for path in target.probe_paths() {
            match self.get(candidate, path).await {
                Ok(body) => {
                    let ok = match target {
                        DiscoveryTarget::Prometheus => {
                            serde_json::from_str::<serde_json::Value>(&body)
                                .ok()
                                .and_then(|v| {
                                    v.get("status").and_then(|s| s.as_str()).map(str::to_owned)
                                })
                                .is_some_and(|s| s == "success")
                        }
                        DiscoveryTarget::Opencost => true,
                    };
                    if ok {
                        return ProbeOutcome::Answers;
                    }
                }
                // Not allowed to use the proxy: nothing can be learnt from the other paths.
                Err(reason) if reason == "HTTP 401" || reason == "HTTP 403" => {
                    return ProbeOutcome::CannotProbe(format!(
                        "the API server refused its service proxy ({reason})"
                    ));
                }
                Err(reason) if !reason.starts_with("HTTP ") => {
                    outcome = ProbeOutcome::CannotProbe(reason);
                }
                Err(_) => {}
            }
        }
        outcome
    }
}

/// How discovery looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DiscoveryOptions {
    /// Candidates probed at most.
    pub max_probes: usize,
    /// Skip candidates whose in-cluster name does not resolve from here (GreenKube's DNS check;
    /// `GREENKUBE_DISCOVERY_SKIP_DNS_CHECK` turns it off). Inside the cluster the names resolve;
    /// outside, a URL that does not resolve is of no use to the HTTP sources.
    pub require_resolvable: bool,
    /// Time allowed for one DNS look-up.
    pub resolve_timeout: Duration,
    /// Time allowed for one probe request.
    pub probe_timeout: Duration,
}

impl Default for DiscoveryOptions {
    /// Five probes, the DNS check on, 2 s per look-up, 5 s per probe.
    fn default() -> Self {
        Self {
            max_probes: 5,
            require_resolvable: true,
            resolve_timeout: Duration::from_secs(2),
            probe_timeout: Duration::from_secs(5),
        }
    }
}

/// Where a URL came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UrlOrigin {
    /// The configuration gave it.
    Configured,
    /// Found in the cluster.
    Discovered {
        /// Namespace of the service.
        namespace: String,
        /// Name of the service.
        service: String,
        /// False when no candidate could be probed and this is only the best-scored one.
        verified: bool,
    },
}

/// A URL for a source, and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedUrl {
    /// Base URL without a trailing `/`.
    pub url: String,
    /// Where it came from.
    pub origin: UrlOrigin,
}

/// The URL of `target`: `explicit` when set, else discovered in the cluster through `client`,
/// with the default [`DiscoveryOptions`] and an [`ApiServerProxyProbe`].
pub async fn discover_url(
    target: DiscoveryTarget,
    explicit: Option<&str>,
    client: Option<&Client>,
) -> Result<ResolvedUrl, SourceError> {
    discover_url_with(target, explicit, client, &DiscoveryOptions::default(), None).await
}

/// [`discover_url`] with chosen options and probe (`None`: an [`ApiServerProxyProbe`] over
/// `client`).
pub async fn discover_url_with(
    target: DiscoveryTarget,
    explicit: Option<&str>,
    client: Option<&Client>,
    options: &DiscoveryOptions,
    probe: Option<&dyn ServiceProbe>,
) -> Result<ResolvedUrl, SourceError> {
    let fail = |message: String| {
        SourceError::new(
            target.source_kind(),
            SourceErrorKind::NotConfigured,
            message,
        )
    };
    let what = target.hint();
    if let Some(url) = explicit.map(str::trim).filter(|u| !u.is_empty()) {
        let lower = url.to_ascii_lowercase();
        if !(lower.starts_with("http://") || lower.starts_with("https://")) {
            return Err(fail(format!("the configured {what} URL is not http(s)://")));
        }
        return Ok(ResolvedUrl {
            url: url.trim_end_matches('/').to_owned(),
            origin: UrlOrigin::Configured,
        });
    }
    let Some(client) = client else {
        return Err(fail(format!(
            "no {what} URL configured and no Kubernetes access to discover one"
        )));
    };
    let services = KubernetesSource::new(client.clone())
        .services()
        .await
        .map_err(|e| {
            fail(format!(
                "no {what} URL configured, and discovery could not list the services: {e}"
            ))
        })?;
    let candidates = rank_services(target, &services);
    if candidates.is_empty() {
        return Err(fail(format!(
            "no {what} URL configured, and no service of the cluster looks like {what}"
        )));
    }
    let default_probe;
    let probe: &dyn ServiceProbe = if let Some(probe) = probe {
        probe
    } else {
        default_probe = ApiServerProxyProbe::new(client.clone(), options.probe_timeout);
        &default_probe
    };
    let mut unresolvable = Vec::new();
    let mut refused = Vec::new();
    let mut not_probed: Vec<(ServiceCandidate, String)> = Vec::new();
    for candidate in candidates.iter().take(options.max_probes) {
        if options.require_resolvable && !resolves(candidate, options.resolve_timeout).await {
            unresolvable.push(candidate.host());
            continue;
        }
        match probe.probe(target, candidate).await {
            ProbeOutcome::Answers => {
                return Ok(ResolvedUrl {
                    url: candidate.url(),
                    origin: UrlOrigin::Discovered {
                        namespace: candidate.namespace.clone(),
                        service: candidate.name.clone(),
                        verified: true,
                    },
                });
            }
            ProbeOutcome::DoesNotAnswer => refused.push(candidate.host()),
            ProbeOutcome::CannotProbe(reason) => not_probed.push((candidate.clone(), reason)),
        }
    }
    // Nothing could be checked (the proxy is forbidden, say): the best candidate, unverified.
    if refused.is_empty()
        && let Some((best, _)) = not_probed.first()
    {
        return Ok(ResolvedUrl {
            url: best.url(),
            origin: UrlOrigin::Discovered {
                namespace: best.namespace.clone(),
                service: best.name.clone(),
                verified: false,
            },
        });
    }
    let mut why = Vec::new();
    if !refused.is_empty() {
        why.push(format!(
            "did not answer like {what}: {}",
            refused.join(", ")
        ));
    }
    if !unresolvable.is_empty() {
        why.push(format!(
            "in-cluster names that do not resolve from here (configure the URL, e.g. of a \
             port-forward): {}",
            unresolvable.join(", ")
        ));
    }
    for (candidate, reason) in &not_probed {
        why.push(format!("{}: {reason}", candidate.host()));
    }
    Err(fail(format!(
        "no {what} URL configured, and no candidate service qualified ({})",
        why.join("; ")
    )))
}

/// True when the candidate's in-cluster name resolves within `timeout`.
async fn resolves(candidate: &ServiceCandidate, timeout: Duration) -> bool {
    let host = candidate.host();
    let lookup = tokio::net::lookup_host((host.as_str(), candidate.port));
    match tokio::time::timeout(timeout, lookup).await {
        Ok(Ok(mut addrs)) => addrs.next().is_some(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service(ns: &str, name: &str, labels: &[(&str, &str)], ports: &[(&str, i32)]) -> Service {
        let labels: BTreeMap<&str, &str> = labels.iter().copied().collect();
        let ports: Vec<serde_json::Value> = ports
            .iter()
            .map(|&(n, p)| {
                if n.is_empty() {
                    serde_json::json!({"port": p, "protocol": "TCP"})
                } else {
                    serde_json::json!({"name": n, "port": p, "protocol": "TCP"})
                }
            })
            .collect();
        serde_json::from_value(serde_json::json!({
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": name, "namespace": ns, "labels": labels},
            "spec": {"type": "ClusterIP", "ports": ports}
        }))
        .expect("a service")
    }

    /// The services of a cluster with kube-prometheus and OpenCost installed.
    fn cluster() -> Vec<Service> {
        vec![
            service(
                "default",
                "kubernetes",
                &[("component", "apiserver")],
                &[("https", 443)],
            ),
            service(
                "kube-system",
                "kube-dns",
                &[("k8s-app", "kube-dns")],
                &[("dns", 53)],
            ),
            service(
                "monitoring",
                "prometheus-k8s",
                &[
                    ("app.kubernetes.io/component", "prometheus"),
                    ("app.kubernetes.io/instance", "k8s"),
                    ("app.kubernetes.io/name", "prometheus"),
                ],
                &[("web", 9090), ("reloader-web", 8080)],
            ),
            service(
                "monitoring",
                "prometheus-operated",
                &[("operated-prometheus", "true")],
                &[("web", 9090)],
            ),
            service(
                "monitoring",
                "prometheus-adapter",
                &[
                    ("app.kubernetes.io/component", "metrics-adapter"),
                    ("app.kubernetes.io/name", "prometheus-adapter"),
                ],
                &[("https", 443)],
            ),
            service(
                "monitoring",
                "prometheus-node-exporter",
                &[("app.kubernetes.io/name", "node-exporter")],
                &[("metrics", 9100)],
            ),
            service("monitoring", "alertmanager-main", &[], &[("web", 9093)]),
            service("monitoring", "grafana", &[], &[("http", 3000)]),
            service(
                "opencost",
                "opencost",
                &[("app.kubernetes.io/name", "opencost")],
                &[("http", 9003), ("ui", 9090)],
            ),
        ]
    }

    fn summary(candidates: &[ServiceCandidate]) -> Vec<(String, i32)> {
        candidates.iter().map(|c| (c.url(), c.score)).collect()
    }

    #[test]
    fn prometheus_candidates_are_ranked_like_the_original() {
        let ranked = rank_services(DiscoveryTarget::Prometheus, &cluster());
        let expected: Vec<(String, i32)> = vec![
            // 10 name + 6 + 6 labels + 8 namespace + 7 port 9090 + 10 named web
            (
                "http://prometheus-k8s.monitoring.svc.cluster.local:9090".into(),
                47,
            ),
            // 10 name + 8 namespace + 7 + 10
            (
                "http://prometheus-operated.monitoring.svc.cluster.local:9090".into(),
                35,
            ),
            // 8 namespace + 10 named web (ties by name)
            (
                "http://alertmanager-main.monitoring.svc.cluster.local:9093".into(),
                18,
            ),
            (
                "http://grafana.monitoring.svc.cluster.local:3000".into(),
                18,
            ),
            // 10 name + 8 namespace, first port
            (
                "http://prometheus-node-exporter.monitoring.svc.cluster.local:9100".into(),
                18,
            ),
        ];
        // The adapter (10 + 8 - 20) and everything without a hint are dropped.
        assert_eq!(summary(&ranked), expected);
    }

    #[test]
    fn opencost_candidates_prefer_its_own_port() {
        let ranked = rank_services(DiscoveryTarget::Opencost, &cluster());
        // 10 name + 5 namespace + 6 label + 8 namespace + 7 port 9003 + 10 named http
        assert_eq!(
            summary(&ranked),
            vec![(
                "http://opencost.opencost.svc.cluster.local:9003".to_owned(),
                46
            )]
        );
    }

    #[test]
    fn tls_ports_are_https() {
        let services = vec![
            service("monitoring", "prometheus-tls", &[], &[("https-web", 8443)]),
            service("monitoring", "prometheus-443", &[], &[("", 443)]),
            service("prometheus", "server", &[], &[]),
        ];
        let ranked = rank_services(DiscoveryTarget::Prometheus, &services);
        assert_eq!(
            summary(&ranked),
            vec![
                (
                    "https://prometheus-443.monitoring.svc.cluster.local:443".to_owned(),
                    18
                ),
                (
                    "https://prometheus-tls.monitoring.svc.cluster.local:8443".to_owned(),
                    18
                ),
            ]
        );
    }

    #[tokio::test]
    async fn a_configured_url_wins_without_a_cluster() {
        let url = discover_url(
            DiscoveryTarget::Prometheus,
            Some(" http://prom.example:9090/ "),
            None,
        )
        .await
        .expect("configured");
        assert_eq!(
            url,
            ResolvedUrl {
                url: "http://prom.example:9090".to_owned(),
                origin: UrlOrigin::Configured
            }
        );
        let err = discover_url(DiscoveryTarget::Opencost, Some("opencost:9003"), None)
            .await
            .expect_err("no scheme");
        assert_eq!(err.source_kind, SourceKind::Opencost);
        assert_eq!(err.kind, SourceErrorKind::NotConfigured);
        let err = discover_url(DiscoveryTarget::Prometheus, Some("  "), None)
            .await
            .expect_err("blank and no cluster");
        assert_eq!(
            err.message,
            "no prometheus URL configured and no Kubernetes access to discover one"
        );
    }
}
