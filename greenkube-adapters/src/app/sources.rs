//! Wiring the sources of a collection from settings (flags, a configuration file, an API
//! request, Python keyword arguments), with discovery inside a cluster.

use crate::secret::Secret;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chrono::TimeDelta;
use greenkube_core::ports::{
    CostSource, EmbodiedCache, EmbodiedSource, IntensitySource, InventorySource, SourceErrorKind,
};

use super::{AppError, Progress};
use crate::collector::Sources;
use crate::sources::boavizta::{BoaviztaSource, CachedEmbodied};
use crate::sources::discovery::{DiscoveryTarget, discover_url};
use crate::sources::electricity_maps::ElectricityMapsSource;
use crate::sources::http::HttpPolicy;
use crate::sources::kubernetes::KubernetesSource;
use crate::sources::opencost::OpenCostSource;
use crate::sources::prometheus::PrometheusSource;

/// Where the sources are. Unset URLs are discovered through the Kubernetes API (services
/// named like Prometheus and OpenCost); an unset Electricity Maps token or Boavizta URL leaves
/// that source out (reference data is used instead, and says so).
#[derive(Clone, Default)]
pub struct SourceSettings {
    /// Prometheus base URL.
    pub prometheus_url: Option<String>,
    /// OpenCost base URL.
    pub opencost_url: Option<String>,
    /// Electricity Maps API base URL.
    pub electricity_maps_url: String,
    /// Electricity Maps token (a secret: never printed).
    pub electricity_maps_token: Option<crate::secret::Secret>,
    /// Boavizta API base URL.
    pub boavizta_url: Option<String>,
    /// A kubeconfig file (in-cluster configuration, then `$KUBECONFIG`, otherwise).
    pub kubeconfig: Option<String>,
    /// Do not use the Kubernetes API at all.
    pub no_kubernetes: bool,
    /// Time-out of each source request.
    pub timeout: Duration,
}

/// URLs redacted (their passwords and tokens masked), the token as `***`.
impl std::fmt::Debug for SourceSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use crate::secret::{redact_opt, redact_url};
        f.debug_struct("SourceSettings")
            .field("prometheus_url", &redact_opt(self.prometheus_url.as_ref()))
            .field("opencost_url", &redact_opt(self.opencost_url.as_ref()))
            .field(
                "electricity_maps_url",
                &redact_url(&self.electricity_maps_url),
            )
            .field("electricity_maps_token", &self.electricity_maps_token)
            .field("boavizta_url", &redact_opt(self.boavizta_url.as_ref()))
            .field("kubeconfig", &self.kubeconfig)
            .field("no_kubernetes", &self.no_kubernetes)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// Builds the sources the settings name; `cache` keeps Boavizta's answers (the store's
/// embodied cache). Sources that are optional and absent are noted on `progress`.
pub async fn sources(
    settings: &SourceSettings,
    cache: Arc<dyn EmbodiedCache>,
    progress: &dyn Progress,
) -> Result<Sources, AppError> {
    let policy = HttpPolicy {
        request_timeout: settings.timeout.max(Duration::from_secs(1)),
        ..HttpPolicy::default()
    };
    let kube = if settings.no_kubernetes {
        None
    } else {
        let made = match settings.kubeconfig.as_deref() {
            Some(path) => KubernetesSource::from_kubeconfig(Some(Path::new(path))).await,
            None => KubernetesSource::infer().await,
        };
        match made {
            Ok(kube) => Some(kube),
            Err(e) if settings.prometheus_url.is_some() => {
                progress.note(&format!(
                    "no Kubernetes API ({e}); nodes and pods come from the metrics only"
                ));
                None
            }
            Err(e) => {
                return Err(AppError::Invalid(format!(
                    "cannot reach the Kubernetes API to discover Prometheus ({e}); give the \
                     Prometheus URL (and turn the Kubernetes API off outside a cluster)"
                )));
            }
        }
    };
    let client = kube.as_ref().map(KubernetesSource::client);
    let prometheus = discover_url(
        DiscoveryTarget::Prometheus,
        settings.prometheus_url.as_deref(),
        client,
    )
    .await
    .map_err(|e| AppError::Invalid(format!("no Prometheus ({e}): give its URL")))?;
    let usage = PrometheusSource::new(&prometheus.url, policy)?;
    let costs = match discover_url(
        DiscoveryTarget::Opencost,
        settings.opencost_url.as_deref(),
        client,
    )
    .await
    {
        Ok(found) => {
            Some(Arc::new(OpenCostSource::new(&found.url, policy)?) as Arc<dyn CostSource>)
        }
        Err(e) if e.kind == SourceErrorKind::NotConfigured && settings.opencost_url.is_none() => {
            progress.note(&format!("no OpenCost ({e}); costs are unknown"));
            None
        }
        Err(e) => return Err(e.into()),
    };
    let intensity = match settings
        .electricity_maps_token
        .as_ref()
        .map(Secret::expose)
        .filter(|token| !token.is_empty())
    {
        Some(token) => Some(Arc::new(ElectricityMapsSource::new(
            &settings.electricity_maps_url,
            token,
            policy,
        )?) as Arc<dyn IntensitySource>),
        None => None,
    };
    let embodied = match settings.boavizta_url.as_deref() {
        Some(url) => {
            let source = Arc::new(BoaviztaSource::new(url, policy)?);
            Some(
                Arc::new(CachedEmbodied::new(source, cache, TimeDelta::days(30)))
                    as Arc<dyn EmbodiedSource>,
            )
        }
        None => None,
    };
    Ok(Sources {
        usage: Some(Arc::new(usage)),
        inventory: kube.map(|kube| Arc::new(kube) as Arc<dyn InventorySource>),
        costs,
        intensity,
        embodied,
    })
}
