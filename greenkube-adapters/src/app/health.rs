//! The health of the sources: one probe per source, in parallel, each with a time-out (the
//! answers of `/api/v1/health/services`).

use crate::secret::Secret;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use greenkube_core::ports::{SourceErrorKind, SourceKind};

use super::sources::SourceSettings;
use crate::secret::redact_url as redact;
use crate::sources::discovery::{DiscoveryTarget, UrlOrigin, discover_url};
use crate::sources::http::{HttpPolicy, SourceHttp};
use crate::sources::kubernetes::KubernetesSource;

/// How a source is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// It answered.
    Healthy,
    /// It answered, but not as expected.
    Degraded,
    /// It did not answer.
    Unreachable,
    /// Not configured (and not discovered).
    Unconfigured,
}

impl Status {
    /// GreenKube's name.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Healthy => "healthy",
            Self::Degraded => "degraded",
            Self::Unreachable => "unreachable",
            Self::Unconfigured => "unconfigured",
        }
    }
}

/// The names of the sources, as GreenKube lists them.
pub const SERVICES: [&str; 5] = [
    "prometheus",
    "opencost",
    "electricity_maps",
    "boavizta",
    "kubernetes",
];

/// The health of one source.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceHealth {
    /// `prometheus`, `opencost`, `electricity_maps`, `boavizta` or `kubernetes`.
    pub name: &'static str,
    /// Status.
    pub status: Status,
    /// The URL probed, passwords redacted.
    pub url: Option<String>,
    /// What happened.
    pub message: String,
    /// Time to answer.
    pub latency_ms: Option<f64>,
    /// When it was probed.
    pub last_check: DateTime<Utc>,
    /// Configured explicitly.
    pub configured: bool,
    /// Found by discovery in the cluster.
    pub discovered: bool,
}

async fn probe(
    name: &'static str,
    kind: SourceKind,
    url: Option<(String, bool)>,
    path: &str,
    timeout: Duration,
    now: DateTime<Utc>,
) -> ServiceHealth {
    let Some((url, configured)) = url else {
        return ServiceHealth {
            name,
            status: Status::Unconfigured,
            url: None,
            message: "not configured and not discovered".to_string(),
            latency_ms: None,
            last_check: now,
            configured: false,
            discovered: false,
        };
    };
    let policy = HttpPolicy {
        request_timeout: timeout,
        attempts: 1,
        ..HttpPolicy::default()
    };
    let started = Instant::now();
    let outcome = match SourceHttp::new(kind, &url, policy) {
        Ok(http) => {
            let (path, query) = path.split_once('?').unwrap_or((path, ""));
            let query: Vec<(&str, String)> = query
                .split_once('=')
                .map(|(key, value)| vec![(key, value.to_string())])
                .unwrap_or_default();
            http.get_json::<serde_json::Value>(path, &query)
                .await
                .map(|_| ())
        }
        Err(e) => Err(e),
    };
    let latency = started.elapsed().as_secs_f64() * 1000.0;
    let (status, message) = match outcome {
        Ok(()) => (Status::Healthy, "answered".to_string()),
        // It answered, only not in JSON (OpenCost's `/healthz` says `ok` in plain text).
        Err(e) if e.kind == SourceErrorKind::BadResponse => {
            (Status::Healthy, "answered".to_string())
        }
        Err(e)
            if matches!(
                e.kind,
                SourceErrorKind::Unreachable | SourceErrorKind::Timeout
            ) =>
        {
            (Status::Unreachable, e.to_string())
        }
        Err(e) => (Status::Degraded, e.to_string()),
    };
    ServiceHealth {
        name,
        status,
        url: Some(redact(&url)),
        message,
        latency_ms: Some(latency),
        last_check: now,
        configured,
        discovered: !configured,
    }
}

/// Probes every source the settings name (or discovery finds), in parallel.
pub async fn check(settings: &SourceSettings, now: DateTime<Utc>) -> Vec<ServiceHealth> {
    let timeout = settings
        .timeout
        .clamp(Duration::from_secs(1), Duration::from_secs(5));
    let kube = if settings.no_kubernetes {
        None
    } else {
        let started = Instant::now();
        let made = match settings.kubeconfig.as_deref() {
            Some(path) => KubernetesSource::from_kubeconfig(Some(std::path::Path::new(path))).await,
            None => KubernetesSource::infer().await,
        };
        Some((made, started))
    };
    let client = kube
        .as_ref()
        .and_then(|(made, _)| made.as_ref().ok())
        .map(KubernetesSource::client);
    let resolve = async |target, explicit: Option<&str>| {
        discover_url(target, explicit, client)
            .await
            .ok()
            .map(|found| (found.url, found.origin == UrlOrigin::Configured))
    };
    let prometheus_url = resolve(
        DiscoveryTarget::Prometheus,
        settings.prometheus_url.as_deref(),
    )
    .await;
    let opencost_url = resolve(DiscoveryTarget::Opencost, settings.opencost_url.as_deref()).await;
    let electricity_maps_url = settings
        .electricity_maps_token
        .as_ref()
        .map(Secret::expose)
        .filter(|token| !token.is_empty())
        .map(|_| (settings.electricity_maps_url.clone(), true));
    let boavizta_url = settings.boavizta_url.clone().map(|url| (url, true));
    let (prometheus, opencost, boavizta) = tokio::join!(
        probe(
            "prometheus",
            SourceKind::Prometheus,
            prometheus_url,
            "/api/v1/query?query=up",
            timeout,
            now
        ),
        probe(
            "opencost",
            SourceKind::Opencost,
            opencost_url,
            "/healthz",
            timeout,
            now
        ),
        probe(
            "boavizta",
            SourceKind::Boavizta,
            boavizta_url,
            "/v1/utils/version",
            timeout,
            now
        ),
    );
    let electricity_maps = match electricity_maps_url {
        None => ServiceHealth {
            name: "electricity_maps",
            status: Status::Unconfigured,
            url: None,
            message: "no token: zone averages from the reference data are used".to_string(),
            latency_ms: None,
            last_check: now,
            configured: false,
            discovered: false,
        },
        Some((url, _)) => ServiceHealth {
            name: "electricity_maps",
            status: Status::Healthy,
            url: Some(redact(&url)),
            message: "token configured (not probed: every call counts against the quota)"
                .to_string(),
            latency_ms: None,
            last_check: now,
            configured: true,
            discovered: false,
        },
    };
    let kubernetes = match kube {
        None => ServiceHealth {
            name: "kubernetes",
            status: Status::Unconfigured,
            url: None,
            message: "turned off".to_string(),
            latency_ms: None,
            last_check: now,
            configured: false,
            discovered: false,
        },
        Some((Ok(source), started)) => {
            let answer = source.client().apiserver_version().await;
            let latency = Some(started.elapsed().as_secs_f64() * 1000.0);
            let (status, message) = match answer {
                Ok(version) => (
                    Status::Healthy,
                    format!("API server {}.{}", version.major, version.minor),
                ),
                Err(e) => (Status::Unreachable, e.to_string()),
            };
            ServiceHealth {
                name: "kubernetes",
                status,
                url: None,
                message,
                latency_ms: latency,
                last_check: now,
                configured: settings.kubeconfig.is_some(),
                discovered: settings.kubeconfig.is_none(),
            }
        }
        Some((Err(e), _)) => ServiceHealth {
            name: "kubernetes",
            status: if e.kind == SourceErrorKind::NotConfigured {
                Status::Unconfigured
            } else {
                Status::Unreachable
            },
            url: None,
            message: e.to_string(),
            latency_ms: None,
            last_check: now,
            configured: settings.kubeconfig.is_some(),
            discovered: false,
        },
    };
    vec![prometheus, opencost, electricity_maps, boavizta, kubernetes]
}
