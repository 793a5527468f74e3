//! The Kubernetes inventory source: nodes, pods and autoscalers (`HorizontalPodAutoscaler`) through
//! the `kube` crate, implementing [`InventorySource`].
//!
//! What it reads (all lists are paged with `limit` and `continue`, [`KubernetesOptions::page_size`]
//! objects per answer, so a large cluster is never one giant answer):
//!
//! | request | for |
//! |---|---|
//! | `GET /api/v1/nodes` | nodes: provider, region, zone, instance type ([`super::node_labels`]), CPU and memory capacity |
//! | `GET /api/v1/pods?fieldSelector=status.phase!=Succeeded,...` | running and pending pods with their requests and owners |
//! | `GET /apis/apps/v1/replicasets` (metadata only) | the Deployment behind a ReplicaSet, only when some pod is owned by a ReplicaSet |
//! | `GET /apis/batch/v1/jobs` (metadata only) | the CronJob behind a Job, only when some pod is owned by a Job |
//! | `GET /apis/autoscaling/v2/horizontalpodautoscalers` | the workloads an autoscaler governs |
//!
//! RBAC: `list` on nodes, pods, replicasets (apps), jobs (batch) and horizontalpodautoscalers
//! (autoscaling).
//!
//! **Requests.** A pod's request of a resource is what the scheduler reserves for it (Kubernetes'
//! `resourcehelper.PodRequests`): the sum over its containers, where a sidecar (an init container
//! with `restartPolicy: Always`) counts as a container from the moment it starts, and an ordinary
//! init container runs alone beside the sidecars started before it, so
//! `effective = max(sum(containers) + sum(sidecars), max over init containers i of
//! (request(i) + sidecars started before i))`, plus `spec.overhead` (`RuntimeClass`). Without
//! sidecars this is the familiar `max(max(init), sum(containers))`. A pod-level request
//! (`spec.resources.requests`) replaces the per-container figure. A resource that no container
//! requests is `None`, never zero. CPU is rounded to the nanocore, memory up to the byte per
//! container, as Kubernetes does.
//!
//! **Owners.** The controlling owner reference (`controller: true`). A ReplicaSet is replaced by
//! its own controller (the Deployment, or an Argo Rollout...) read from the ReplicaSets; when
//! listing ReplicaSets is not allowed (403) or not served (404), by the rule Deployments follow:
//! a ReplicaSet named `<deployment>-<pod-template-hash>` whose pods carry that
//! `pod-template-hash` label belongs to Deployment `<deployment>` (a bare ReplicaSet stays a
//! ReplicaSet, whatever dashes its name has). A Job is replaced by its CronJob read from the Jobs;
//! when Jobs cannot be read it stays a Job (a Job's name does not say reliably whether a CronJob
//! made it).
//!
//! **Failures.** Every request has a time-out ([`KubernetesOptions::request_timeout`]) and is retried
//! with back-off when the failure may pass (unreachable, time-out, 429, 5xx), at most
//! [`KubernetesOptions::attempts`] times; errors are [`SourceError`]s of kind
//! [`SourceKind::Kubernetes`]: 401/403 `Unauthorized`, 404 `NotFound`, 5xx `ServerError`, no answer
//! `Timeout`, no connection `Unreachable`, bad configuration `NotConfigured`. A `continue` token
//! that expired (410) restarts the list from the start. Autoscalers: a cluster that does not serve
//! `autoscaling/v2` (404) has none. A quantity the API server would never write (`"12 cores"`) is a
//! `BadResponse` naming the object and the field.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use greenkube_core::inventory::HpaTarget;
use greenkube_core::ports::{
    ClusterInventory, InventorySource, PodSpec, SourceError, SourceErrorKind, SourceKind,
};
use greenkube_core::snapshot::Node;
use greenkube_core::units::{Bytes, Cores};
use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{Container, Node as KubeNode, Pod, Service};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use kube::api::{Api, ListParams, ObjectList};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config, Resource};

use super::node_labels::node_placement;
use super::quantity::parse_quantity;

/// Field selector of the pod list: finished pods are left out by the server (and again here, for
/// servers that ignore selectors).
pub const POD_FIELD_SELECTOR: &str =
    "status.phase!=Succeeded,status.phase!=Failed,status.phase!=Unknown";

/// Most pages one list may take (with 500 objects a page, five million objects).
const MAX_PAGES: usize = 10_000;
/// Restarts of one list after its `continue` token expired.
const MAX_RESTARTS: usize = 2;

/// Paging, time-outs and retries of the Kubernetes source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KubernetesOptions {
    /// Objects asked for per list request (`limit`).
    pub page_size: u32,
    /// Time allowed to connect (clients this module builds; a client given to
    /// [`KubernetesSource::new`] keeps its own).
    pub connect_timeout: Duration,
    /// Time allowed for one request, answer included.
    pub request_timeout: Duration,
    /// Attempts per request in all (1 = no retry).
    pub attempts: u32,
    /// Wait before the first retry; doubled at each retry.
    pub backoff: Duration,
    /// Longest wait between two attempts.
    pub max_backoff: Duration,
    /// Largest answer read, in bytes (clients this module builds): a larger or endless answer
    /// is refused at this size, before the time-out.
    pub max_answer_bytes: usize,
    /// Most objects one list may hold, all pages together: a server that keeps sending more is
    /// refused rather than followed until memory runs out.
    pub max_objects: usize,
}

impl Default for KubernetesOptions {
    /// 500 objects a page, 5 s to connect, 30 s per request (GreenKube's `K8S_REQUEST_TIMEOUT`), 3
    /// attempts, 250 ms back-off doubling up to 5 s; answers up to 512 MiB, lists up to 1,000,000
    /// objects (Kubernetes supports 150,000 pods a cluster).
    fn default() -> Self {
        Self {
            page_size: 500,
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(30),
            attempts: 3,
            backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(5),
            max_answer_bytes: super::http::DEFAULT_MAX_ANSWER_BYTES as usize,
            max_objects: 1_000_000,
        }
    }
}

impl KubernetesOptions {
    fn wait_after(&self, attempt: u32) -> Duration {
        self.backoff
            .saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1)))
            .min(self.max_backoff)
    }
}

/// The cluster's nodes, pods and autoscalers, read from the Kubernetes API.
#[derive(Clone)]
pub struct KubernetesSource {
    client: Client,
    options: KubernetesOptions,
}

impl fmt::Debug for KubernetesSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KubernetesSource")
            .field("default_namespace", &self.client.default_namespace())
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl KubernetesSource {
    /// A source over an existing client (any `tower` service, such as a test double).
    pub fn new(client: Client) -> Self {
        Self {
            client,
            options: KubernetesOptions::default(),
        }
    }

    /// The same source with other paging, time-outs and retries.
    #[must_use]
    pub fn with_options(mut self, options: KubernetesOptions) -> Self {
        self.options = options;
        self
    }

    /// The options in force.
    pub fn options(&self) -> &KubernetesOptions {
        &self.options
    }

    /// The client, for other readers of the same cluster (such as [`super::discovery`]).
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// A source for the current context of a kubeconfig file: `path`, or when `None` the file
    /// `$KUBECONFIG` names, else `~/.kube/config`. Must run inside a Tokio runtime.
    pub async fn from_kubeconfig(path: Option<&Path>) -> Result<Self, SourceError> {
        Self::from_kubeconfig_with(path, KubernetesOptions::default()).await
    }

    /// [`Self::from_kubeconfig`] with other options; the client is built with their connect
    /// time-out and answer-size limit.
    pub async fn from_kubeconfig_with(
        path: Option<&Path>,
        options: KubernetesOptions,
    ) -> Result<Self, SourceError> {
        let config = match path {
            Some(path) => {
                let kubeconfig = Kubeconfig::read_from(path).map_err(|e| {
                    not_configured(format!(
                        "cannot read the kubeconfig {}: {}",
                        path.display(),
                        without_content(&e)
                    ))
                })?;
                Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
                    .await
                    .map_err(|e| {
                        not_configured(format!(
                            "the kubeconfig {}: {}",
                            path.display(),
                            without_content(&e)
                        ))
                    })?
            }
            None => Config::from_kubeconfig(&KubeConfigOptions::default())
                .await
                .map_err(|e| {
                    not_configured(format!("the default kubeconfig: {}", without_content(&e)))
                })?,
        };
        Ok(Self::new(build_client(config, &options)?).with_options(options))
    }

    /// A source for the cluster this process runs in (service account token and CA under
    /// `/var/run/secrets/kubernetes.io/serviceaccount`, `KUBERNETES_SERVICE_HOST`/`_PORT`). Must
    /// run inside a Tokio runtime (outside one it is a `NotConfigured` error).
    pub fn in_cluster() -> Result<Self, SourceError> {
        let options = KubernetesOptions::default();
        let config = Config::incluster()
            .map_err(|e| not_configured(format!("not running in a cluster: {e}")))?;
        Ok(Self::new(build_client(config, &options)?).with_options(options))
    }

    /// In-cluster configuration when running in a pod, else the default kubeconfig (the
    /// original's order). Must run inside a Tokio runtime.
    pub async fn infer() -> Result<Self, SourceError> {
        match Self::in_cluster() {
            Ok(source) => Ok(source),
            Err(in_cluster) => Self::from_kubeconfig(None).await.map_err(|kubeconfig| {
                not_configured(format!(
                    "neither in a cluster ({}) nor with a kubeconfig ({})",
                    in_cluster.message, kubeconfig.message
                ))
            }),
        }
    }

    /// The nodes, sorted by name.
    pub async fn nodes(&self) -> Result<Vec<Node>, SourceError> {
        let api: Api<KubeNode> = Api::all(self.client.clone());
        let items = self
            .list_all::<KubeNode, _, _>("nodes", ListParams::default(), |lp| {
                let api = api.clone();
                async move { api.list(&lp).await }
            })
            .await?;
        let mut nodes = items
            .iter()
            .map(node_from_kube)
            .collect::<Result<Vec<_>, _>>()?;
        nodes.sort_by(|a, b| a.name.cmp(&b.name));
        nodes.dedup_by(|a, b| a.name == b.name);
        Ok(nodes)
    }

    /// The running and pending pods with their requests and owning workloads, sorted by
    /// namespace and name.
    pub async fn pods(&self) -> Result<Vec<PodSpec>, SourceError> {
        let api: Api<Pod> = Api::all(self.client.clone());
        let items = self
            .list_all::<Pod, _, _>(
                "pods",
                ListParams::default().fields(POD_FIELD_SELECTOR),
                |lp| {
                    let api = api.clone();
                    async move { api.list(&lp).await }
                },
            )
            .await?;
        let pods: Vec<&Pod> = items
            .iter()
            .filter(|pod| is_running_or_pending(pod))
            .collect();
        let owned_by = |kind: &str| {
            pods.iter()
                .any(|pod| controller_of(&pod.metadata).is_some_and(|o| o.kind == kind))
        };
        let replica_sets = if owned_by("ReplicaSet") {
            self.controllers::<ReplicaSet>("replicasets").await?
        } else {
            None
        };
        let jobs = if owned_by("Job") {
            self.controllers::<Job>("jobs").await?
        } else {
            None
        };
        let owners = Owners {
            replica_sets: replica_sets.as_ref(),
            jobs: jobs.as_ref(),
        };
        let mut specs = pods
            .into_iter()
            .map(|pod| pod_spec(pod, &owners))
            .collect::<Result<Vec<_>, _>>()?;
        specs.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
        specs.dedup_by(|a, b| a.namespace == b.namespace && a.name == b.name);
        Ok(specs)
    }

    /// The workloads governed by a HorizontalPodAutoscaler (`autoscaling/v2`), sorted, each once.
    pub async fn hpas(&self) -> Result<Vec<HpaTarget>, SourceError> {
        let api: Api<HorizontalPodAutoscaler> = Api::all(self.client.clone());
        let listed = self
            .list_all::<HorizontalPodAutoscaler, _, _>(
                "horizontalpodautoscalers",
                ListParams::default(),
                |lp| {
                    let api = api.clone();
                    async move { api.list(&lp).await }
                },
            )
            .await;
        let items = match listed {
            Ok(items) => items,
            // autoscaling/v2 not served: no autoscaler of that API can exist.
            Err(err) if err.kind == SourceErrorKind::NotFound => Vec::new(),
            Err(err) => return Err(err),
        };
        let mut targets: Vec<HpaTarget> = items
            .iter()
            .filter_map(|hpa| {
                let namespace = hpa.metadata.namespace.as_deref()?;
                let target = &hpa.spec.as_ref()?.scale_target_ref;
                (!target.kind.is_empty() && !target.name.is_empty()).then(|| HpaTarget {
                    namespace: namespace.to_owned(),
                    target_kind: target.kind.clone(),
                    target_name: target.name.clone(),
                })
            })
            .collect();
        targets.sort_by(|a, b| {
            (&a.namespace, &a.target_kind, &a.target_name).cmp(&(
                &b.namespace,
                &b.target_kind,
                &b.target_name,
            ))
        });
        targets.dedup();
        Ok(targets)
    }

    /// Every Service of the cluster, paged (for [`super::discovery`]).
    pub async fn services(&self) -> Result<Vec<Service>, SourceError> {
        let api: Api<Service> = Api::all(self.client.clone());
        self.list_all::<Service, _, _>("services", ListParams::default(), |lp| {
            let api = api.clone();
            async move { api.list(&lp).await }
        })
        .await
    }

    /// The controller of every object of kind `K` (ReplicaSets, Jobs), keyed by namespace and
    /// name; `None` when the cluster does not let us list them (403) or does not serve them (404).
    async fn controllers<K>(&self, what: &str) -> Result<Option<OwnerMap>, SourceError>
    where
        K: Resource<DynamicType = ()> + Clone + fmt::Debug + serde::de::DeserializeOwned,
    {
        let api: Api<K> = Api::all(self.client.clone());
        let listed = self
            .list_all(what, ListParams::default(), |lp| {
                let api = api.clone();
                async move { api.list_metadata(&lp).await }
            })
            .await;
        let items = match listed {
            Ok(items) => items,
            Err(err)
                if matches!(
                    err.kind,
                    SourceErrorKind::Unauthorized | SourceErrorKind::NotFound
                ) =>
            {
                return Ok(None);
            }
            Err(err) => return Err(err),
        };
        let mut map = OwnerMap::new();
        for item in items {
            let (Some(namespace), Some(name)) = (item.metadata.namespace, item.metadata.name)
            else {
                continue;
            };
            let controller = item
                .metadata
                .owner_references
                .as_deref()
                .unwrap_or_default()
                .iter()
                .find(|o| o.controller == Some(true) && !o.kind.is_empty() && !o.name.is_empty())
                .map(|o| (o.kind.clone(), o.name.clone()));
            map.insert((namespace, name), controller);
        }
        Ok(Some(map))
    }

    /// Every object of a list, page after page.
    async fn list_all<T, F, Fut>(
        &self,
        what: &str,
        base: ListParams,
        mut fetch: F,
    ) -> Result<Vec<T>, SourceError>
    where
        T: Clone,
        F: FnMut(ListParams) -> Fut,
        Fut: Future<Output = Result<ObjectList<T>, kube::Error>>,
    {
        let what = format!("listing {what}");
        let mut items = Vec::new();
        let mut token: Option<String> = None;
        let mut pages = 0;
        let mut restarts = 0;
        loop {
            let mut params = base.clone().limit(self.options.page_size.max(1));
            if let Some(token) = &token {
                params = params.continue_token(token);
            }
            let page = match self.call(&what, || fetch(params.clone())).await {
                Ok(page) => page,
                Err(Failure::Expired(_)) if token.is_some() && restarts < MAX_RESTARTS => {
                    // The continue token expired (410 Gone): start the list again.
                    restarts += 1;
                    items.clear();
                    token = None;
                    pages = 0;
                    continue;
                }
                Err(Failure::Expired(err) | Failure::Other(err)) => return Err(err),
            };
            items.extend(page.items);
            pages += 1;
            if items.len() > self.options.max_objects {
                return Err(SourceError::new(
                    SourceKind::Kubernetes,
                    SourceErrorKind::BadResponse,
                    format!(
                        "{what}: more than {} objects (the limit) after {pages} pages",
                        self.options.max_objects
                    ),
                ));
            }
            match page.metadata.continue_.filter(|t| !t.is_empty()) {
                None => return Ok(items),
                Some(next) => {
                    if token.as_deref() == Some(next.as_str()) || pages >= MAX_PAGES {
                        return Err(SourceError::new(
                            SourceKind::Kubernetes,
                            SourceErrorKind::BadResponse,
                            format!(
                                "{what}: the server keeps answering with more pages ({pages} so far)"
                            ),
                        ));
                    }
                    token = Some(next);
                }
            }
        }
    }

    /// One request, with a time-out and bounded retries of what may pass.
    async fn call<T, F, Fut>(&self, what: &str, mut op: F) -> Result<T, Failure>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, kube::Error>>,
    {
        let attempts = self.options.attempts.max(1);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let err = match tokio::time::timeout(self.options.request_timeout, op()).await {
                Ok(Ok(value)) => return Ok(value),
                Ok(Err(err)) if is_expired(&err) => {
                    return Err(Failure::Expired(error_of(what, &err)));
                }
                Ok(Err(err)) if too_large(&err) => {
                    // Not transient: the same answer would be refused again.
                    return Err(Failure::Other(SourceError::new(
                        SourceKind::Kubernetes,
                        SourceErrorKind::BadResponse,
                        format!(
                            "{what}: the answer is larger than {} bytes (the limit); it was \
                             refused there",
                            self.options.max_answer_bytes
                        ),
                    )));
                }
                Ok(Err(err)) => error_of(what, &err),
                Err(_) => SourceError::new(
                    SourceKind::Kubernetes,
                    SourceErrorKind::Timeout,
                    format!(
                        "{what}: no answer within {} ms",
                        self.options.request_timeout.as_millis()
                    ),
                ),
            };
            if !err.kind.is_transient() || attempt >= attempts {
                let mut err = err;
                if attempt > 1 {
                    err.message = format!("{} (after {attempt} attempts)", err.message);
                }
                return Err(Failure::Other(err));
            }
            tokio::time::sleep(self.options.wait_after(attempt)).await;
        }
    }
}

#[async_trait]
impl InventorySource for KubernetesSource {
    async fn inventory(&self) -> Result<ClusterInventory, SourceError> {
        let nodes = self.nodes().await?;
        let pods = self.pods().await?;
        let hpas = self.hpas().await?;
        Ok(ClusterInventory { nodes, pods, hpas })
    }
}

/// A failed request: a `continue` token that expired, or anything else.
enum Failure {
    Expired(SourceError),
    Other(SourceError),
}

fn not_configured(message: String) -> SourceError {
    SourceError::new(
        SourceKind::Kubernetes,
        SourceErrorKind::NotConfigured,
        message,
    )
}

/// A client from a configuration, with our connect time-out and retries.
fn build_client(mut config: Config, options: &KubernetesOptions) -> Result<Client, SourceError> {
    // kube's client spawns its request buffer on the current Tokio runtime.
    if tokio::runtime::Handle::try_current().is_err() {
        return Err(not_configured(
            "the Kubernetes client needs a Tokio runtime".to_owned(),
        ));
    }
    config.connect_timeout = Some(options.connect_timeout);
    // One retry policy, ours (bounded, with back-off), not kube's on top of it.
    config.default_retry = false;
    let limit = options.max_answer_bytes;
    let service = kube::client::ClientBuilder::try_from(config)
        .map_err(|e| not_configured(format!("cannot build a client: {e}")))?
        .with_layer(&tower::util::MapResponseLayer::new(
            move |answer: http::Response<Box<kube::client::DynBody>>| {
                answer.map(|body| http_body_util::Limited::new(body, limit))
            },
        ));
    Ok(service.build())
}

/// True for `410 Gone` with reason `Expired` (or any 410 on a list): a `continue` token too old.
fn is_expired(err: &kube::Error) -> bool {
    matches!(err, kube::Error::Api(status) if status.code == 410)
}

/// The [`SourceError`] of a failed `kube` request.
pub(crate) fn error_of(what: &str, err: &kube::Error) -> SourceError {
    let (kind, detail) = match err {
        kube::Error::Api(status) => {
            let kind = match status.code {
                401 | 403 => SourceErrorKind::Unauthorized,
                404 => SourceErrorKind::NotFound,
                408 | 504 => SourceErrorKind::Timeout,
                429 => SourceErrorKind::RateLimited,
                500..=599 => SourceErrorKind::ServerError,
                _ => SourceErrorKind::BadResponse,
            };
            let mut detail = format!("HTTP {}", status.code);
            if !status.reason.is_empty() {
                detail.push(' ');
                detail.push_str(&status.reason);
            }
            let message = status.message.trim();
            if !message.is_empty() {
                detail.push_str(": ");
                detail.extend(message.chars().take(300));
            }
            (kind, detail)
        }
        kube::Error::HyperError(_) | kube::Error::Service(_) | kube::Error::ReadEvents(_) => {
            let kind = if chain(err).iter().any(|e| is_timeout(*e)) {
                SourceErrorKind::Timeout
            } else {
                SourceErrorKind::Unreachable
            };
            (kind, causes(err))
        }
        kube::Error::SerdeError(_)
        | kube::Error::FromUtf8(_)
        | kube::Error::LinesCodecMaxLineLengthExceeded
        | kube::Error::Discovery(_) => (SourceErrorKind::BadResponse, causes(err)),
        _ => (SourceErrorKind::NotConfigured, causes(err)),
    };
    SourceError::new(SourceKind::Kubernetes, kind, format!("{what}: {detail}"))
}

/// The error and its causes, outermost first.
fn chain(err: &kube::Error) -> Vec<&(dyn std::error::Error + 'static)> {
    let mut out: Vec<&(dyn std::error::Error + 'static)> = vec![err];
    let mut next = std::error::Error::source(err);
    while let Some(e) = next {
        out.push(e);
        next = e.source();
    }
    out
}

/// True when the answer was cut at [`KubernetesOptions::max_answer_bytes`].
fn too_large(err: &kube::Error) -> bool {
    chain(err).iter().any(|e| {
        e.downcast_ref::<http_body_util::LengthLimitError>()
            .is_some()
    })
}

fn is_timeout(err: &(dyn std::error::Error + 'static)) -> bool {
    err.downcast_ref::<std::io::Error>()
        .is_some_and(|io| io.kind() == std::io::ErrorKind::TimedOut)
        || err.to_string().to_ascii_lowercase().contains("timed out")
}

/// `outer: cause: root cause`, without repeating a message its cause already shows.
fn causes(err: &kube::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for e in chain(err) {
        let text = e.to_string();
        if parts.last().is_none_or(|last| !last.contains(&text)) {
            parts.push(text);
        }
    }
    parts.join(": ")
}

/// A snapshot node from a Kubernetes node.
fn node_from_kube(node: &KubeNode) -> Result<Node, SourceError> {
    let name = node
        .metadata
        .name
        .as_deref()
        .filter(|n| !n.is_empty())
        .ok_or_else(|| bad_response("a node has no metadata.name".to_owned()))?;
    let labels = node.metadata.labels.clone().unwrap_or_default();
    let placement = node_placement(
        &labels,
        node.spec.as_ref().and_then(|s| s.provider_id.as_deref()),
    );
    let capacity = node.status.as_ref().and_then(|s| s.capacity.as_ref());
    let amount = |resource: &str| -> Result<Option<f64>, SourceError> {
        capacity
            .and_then(|c| c.get(resource))
            .map(|q| amount_of(q, || format!("node {name}: status.capacity.{resource}")))
            .transpose()
    };
    Ok(Node {
        name: Arc::from(name),
        provider: placement.provider.map(Arc::from),
        instance_type: placement.instance_type.map(Arc::from),
        region: placement.region.map(Arc::from),
        zone: placement.zone.map(Arc::from),
        cpu_capacity_cores: amount("cpu")?.map(|c| Cores(round_cpu(c))),
        memory_capacity_bytes: amount("memory")?.map(|b| Bytes(b.ceil())),
        labels: (!labels.is_empty()).then_some(labels),
    })
}

fn bad_response(message: String) -> SourceError {
    SourceError::new(
        SourceKind::Kubernetes,
        SourceErrorKind::BadResponse,
        message,
    )
}

/// A quantity that must be an amount (finite, not negative).
fn amount_of(quantity: &Quantity, field: impl FnOnce() -> String) -> Result<f64, SourceError> {
    match parse_quantity(&quantity.0) {
        Ok(value) if value >= 0.0 => Ok(value),
        Ok(_) => Err(bad_response(format!(
            "{}: negative quantity {:?}",
            field(),
            quantity.0
        ))),
        Err(err) => Err(bad_response(format!("{}: {err}", field()))),
    }
}

/// CPU rounded to the nanocore, the finest unit Kubernetes has.
fn round_cpu(cores: f64) -> f64 {
    (cores * 1e9).round() / 1e9
}

fn is_running_or_pending(pod: &Pod) -> bool {
    // The API server sets Pending on creation; a pod without a phase is one just created.
    match pod.status.as_ref().and_then(|s| s.phase.as_deref()) {
        None | Some("Running" | "Pending") => true,
        Some(_) => false,
    }
}

fn controller_of(meta: &ObjectMeta) -> Option<&OwnerReference> {
    meta.owner_references
        .as_deref()
        .unwrap_or_default()
        .iter()
        .find(|o| o.controller == Some(true) && !o.kind.is_empty() && !o.name.is_empty())
}

/// `(namespace, name)` → the object's controller `(kind, name)`, `None` for an object without one.
type OwnerMap = HashMap<(String, String), Option<(String, String)>>;

struct Owners<'a> {
    replica_sets: Option<&'a OwnerMap>,
    jobs: Option<&'a OwnerMap>,
}

impl Owners<'_> {
    /// The workload a pod belongs to: its controller, looked through ReplicaSets and Jobs.
    fn resolve(&self, namespace: &str, pod: &ObjectMeta) -> Option<(String, String)> {
        let owner = controller_of(pod)?;
        let key = (namespace.to_owned(), owner.name.clone());
        let looked_up = |map: Option<&OwnerMap>| map.and_then(|m| m.get(&key)).cloned();
        let resolved = match owner.kind.as_str() {
            "ReplicaSet" => match looked_up(self.replica_sets) {
                Some(Some(parent)) => parent,
                Some(None) => (owner.kind.clone(), owner.name.clone()),
                // Not listed (not allowed, or created after the list): the Deployment naming rule.
                None => deployment_by_name(&owner.name, pod.labels.as_ref()).map_or_else(
                    || (owner.kind.clone(), owner.name.clone()),
                    |d| ("Deployment".to_owned(), d.to_owned()),
                ),
            },
            "Job" => match looked_up(self.jobs) {
                Some(Some(parent)) => parent,
                _ => (owner.kind.clone(), owner.name.clone()),
            },
            _ => (owner.kind.clone(), owner.name.clone()),
        };
        Some(resolved)
    }
}

/// The Deployment of a ReplicaSet by the naming rule: `<deployment>-<pod-template-hash>`, with the
/// hash from the pod's `pod-template-hash` label. `None` for a ReplicaSet that no Deployment made.
pub fn deployment_by_name<'a>(
    replica_set: &'a str,
    pod_labels: Option<&BTreeMap<String, String>>,
) -> Option<&'a str> {
    let hash = pod_labels?.get("pod-template-hash")?;
    if hash.is_empty() {
        return None;
    }
    replica_set
        .strip_suffix(hash.as_str())?
        .strip_suffix('-')
        .filter(|d| !d.is_empty())
}

fn pod_spec(pod: &Pod, owners: &Owners<'_>) -> Result<PodSpec, SourceError> {
    let meta = &pod.metadata;
    let name = meta
        .name
        .as_deref()
        .filter(|n| !n.is_empty())
        .ok_or_else(|| bad_response("a pod has no metadata.name".to_owned()))?;
    let namespace = meta
        .namespace
        .as_deref()
        .filter(|n| !n.is_empty())
        .ok_or_else(|| bad_response(format!("pod {name} has no metadata.namespace")))?;
    let owner = owners.resolve(namespace, meta);
    let spec = pod.spec.as_ref();
    let requests = |resource: &str| -> Result<Option<f64>, SourceError> {
        let Some(spec) = spec else { return Ok(None) };
        let of = |container: &Container| -> Result<Option<f64>, SourceError> {
            container
                .resources
                .as_ref()
                .and_then(|r| r.requests.as_ref())
                .and_then(|r| r.get(resource))
                .map(|q| {
                    amount_of(q, || {
                        format!(
                            "pod {namespace}/{name} container {}: requests.{resource}",
                            container.name
                        )
                    })
                    .map(|v| normalise(resource, v))
                })
                .transpose()
        };
        let containers = spec
            .containers
            .iter()
            .map(of)
            .collect::<Result<Vec<_>, _>>()?;
        let init = spec
            .init_containers
            .as_deref()
            .unwrap_or_default()
            .iter()
            .map(|c| Ok((of(c)?, c.restart_policy.as_deref() == Some("Always"))))
            .collect::<Result<Vec<_>, SourceError>>()?;
        let pod_field = |map: Option<&BTreeMap<String, Quantity>>, field: &str| {
            map.and_then(|m| m.get(resource))
                .map(|q| {
                    amount_of(q, || format!("pod {namespace}/{name}: {field}.{resource}"))
                        .map(|v| normalise(resource, v))
                })
                .transpose()
        };
        let pod_level = pod_field(
            spec.resources.as_ref().and_then(|r| r.requests.as_ref()),
            "spec.resources.requests",
        )?;
        let overhead = pod_field(spec.overhead.as_ref(), "spec.overhead")?;
        Ok(effective_request(&containers, &init, pod_level, overhead)
            .map(|v| normalise(resource, v)))
    };
    let cpu = requests("cpu")?;
    let memory = requests("memory")?;
    Ok(PodSpec {
        namespace: Arc::from(namespace),
        name: Arc::from(name),
        node: spec
            .and_then(|s| s.node_name.as_deref())
            .filter(|n| !n.is_empty())
            .map(Arc::from),
        owner_kind: owner.as_ref().map(|(kind, _)| Arc::from(kind.as_str())),
        owner_name: owner.as_ref().map(|(_, name)| Arc::from(name.as_str())),
        cpu_request_cores: cpu.map(Cores),
        memory_request_bytes: memory.map(Bytes),
        labels: meta
            .labels
            .as_ref()
            .filter(|l| !l.is_empty())
            .map(|l| Arc::new(l.clone())),
    })
}

/// CPU to the nanocore, memory up to the byte (Kubernetes' `Value()` rounds up).
fn normalise(resource: &str, value: f64) -> f64 {
    if resource == "memory" {
        value.ceil()
    } else {
        round_cpu(value)
    }
}

/// The request the scheduler reserves for a pod, from its containers' requests, its init
/// containers' requests with whether each is a sidecar (`restartPolicy: Always`), a pod-level
/// request and the pod overhead (see the module documentation). `None` when neither a container
/// nor the pod requests the resource.
pub fn effective_request(
    containers: &[Option<f64>],
    init_containers: &[(Option<f64>, bool)],
    pod_level: Option<f64>,
    overhead: Option<f64>,
) -> Option<f64> {
    let overhead = overhead.unwrap_or(0.0);
    if let Some(pod_level) = pod_level {
        return Some(pod_level + overhead);
    }
    let requested =
        containers.iter().any(Option::is_some) || init_containers.iter().any(|(r, _)| r.is_some());
    if !requested {
        return None;
    }
    let mut sum: f64 = containers.iter().flatten().sum();
    let mut sidecars = 0.0;
    let mut init_peak: f64 = 0.0;
    for &(request, sidecar) in init_containers {
        let request = request.unwrap_or(0.0);
        if sidecar {
            sum += request;
            sidecars += request;
            init_peak = init_peak.max(sidecars);
        } else {
            init_peak = init_peak.max(request + sidecars);
        }
    }
    Some(sum.max(init_peak) + overhead)
}

/// An error about a kubeconfig, without what the file holds: a kubeconfig holds tokens,
/// passwords and keys, and a YAML error quotes the line it failed on. Kept: the first line of
/// the message (what went wrong and where, by line and column), with quoted text masked.
fn without_content(err: &dyn std::fmt::Display) -> String {
    let text = err.to_string();
    let first = text
        .lines()
        .next()
        .unwrap_or("")
        .trim_end_matches([':', ' ']);
    let mut out = String::with_capacity(first.len());
    let mut quoted = false;
    for c in first.chars() {
        match (c, quoted) {
            ('"' | '`', false) => {
                quoted = true;
                out.push_str("\"…");
            }
            ('"' | '`', true) => {
                quoted = false;
                out.push('"');
            }
            (_, true) => {}
            (c, false) => out.push(c),
        }
    }
    if quoted {
        out.push('"');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn effective_request_follows_the_scheduler() {
        // No init containers: the sum.
        assert_eq!(
            effective_request(&[Some(0.25), Some(0.5)], &[], None, None),
            Some(0.75)
        );
        // A heavy init container dominates: max(max(init), sum).
        assert_eq!(
            effective_request(&[Some(0.25), Some(0.5)], &[(Some(2.0), false)], None, None),
            Some(2.0)
        );
        // A light one does not.
        assert_eq!(
            effective_request(
                &[Some(0.25), Some(0.5)],
                &[(Some(0.1), false), (Some(0.5), false)],
                None,
                None
            ),
            Some(0.75)
        );
        // A sidecar adds to the containers and runs beside later init containers:
        // containers 1 + sidecar 0.5 = 1.5; init after the sidecar: 1.2 + 0.5 = 1.7.
        assert_eq!(
            effective_request(
                &[Some(1.0)],
                &[(Some(0.5), true), (Some(1.2), false)],
                None,
                None
            ),
            Some(1.7)
        );
        // An init container before the sidecar runs alone.
        assert_eq!(
            effective_request(
                &[Some(1.0)],
                &[(Some(1.2), false), (Some(0.5), true)],
                None,
                None
            ),
            Some(1.5)
        );
        // Overhead is added; a pod-level request replaces the containers'.
        assert_eq!(
            effective_request(&[Some(1.0)], &[], None, Some(0.25)),
            Some(1.25)
        );
        assert_eq!(
            effective_request(&[Some(1.0)], &[], Some(4.0), Some(0.25)),
            Some(4.25)
        );
        // Nothing requested is unknown, not zero, even with an overhead.
        assert_eq!(
            effective_request(&[None, None], &[(None, false)], None, Some(0.1)),
            None
        );
        assert_eq!(effective_request(&[], &[], None, None), None);
        // A request on an init container only.
        assert_eq!(
            effective_request(&[None], &[(Some(0.3), false)], None, None),
            Some(0.3)
        );
    }

    #[test]
    fn deployment_naming_rule_needs_the_hash() {
        let hash = |h: &str| BTreeMap::from([("pod-template-hash".to_owned(), h.to_owned())]);
        assert_eq!(
            deployment_by_name("web-api-5d8f7c9b6d", Some(&hash("5d8f7c9b6d"))),
            Some("web-api")
        );
        // A bare ReplicaSet with dashes in its name is not a Deployment (GreenKube 0.2 said it was).
        assert_eq!(deployment_by_name("foo-bar", None), None);
        assert_eq!(deployment_by_name("foo-bar", Some(&BTreeMap::new())), None);
        assert_eq!(deployment_by_name("foo-bar", Some(&hash("zzz"))), None);
        assert_eq!(deployment_by_name("-abc", Some(&hash("abc"))), None);
        assert_eq!(deployment_by_name("xabc", Some(&hash("abc"))), None);
        assert_eq!(deployment_by_name("x-abc", Some(&hash(""))), None);
    }

    #[test]
    fn kubernetes_errors_map_to_kinds() {
        let status = |code: u16, reason: &str| {
            kube::Error::Api(
                kube::core::Status::failure("pods is forbidden: User \"x\" cannot list", reason)
                    .with_code(code)
                    .boxed(),
            )
        };
        let err = error_of("listing pods", &status(403, "Forbidden"));
        assert_eq!(err.source_kind, SourceKind::Kubernetes);
        assert_eq!(err.kind, SourceErrorKind::Unauthorized);
        assert_eq!(
            err.message,
            "listing pods: HTTP 403 Forbidden: pods is forbidden: User \"x\" cannot list"
        );
        assert_eq!(
            error_of("x", &status(401, "Unauthorized")).kind,
            SourceErrorKind::Unauthorized
        );
        assert_eq!(
            error_of("x", &status(404, "NotFound")).kind,
            SourceErrorKind::NotFound
        );
        assert_eq!(
            error_of("x", &status(429, "TooManyRequests")).kind,
            SourceErrorKind::RateLimited
        );
        assert_eq!(
            error_of("x", &status(503, "ServiceUnavailable")).kind,
            SourceErrorKind::ServerError
        );
        assert_eq!(
            error_of("x", &status(504, "Timeout")).kind,
            SourceErrorKind::Timeout
        );
        assert_eq!(
            error_of("x", &status(422, "Invalid")).kind,
            SourceErrorKind::BadResponse
        );
        assert!(is_expired(&status(410, "Expired")));
        assert!(!is_expired(&status(404, "NotFound")));
        let serde = serde_json::from_str::<u8>("x").expect_err("not a number");
        assert_eq!(
            error_of("x", &kube::Error::SerdeError(serde)).kind,
            SourceErrorKind::BadResponse
        );
    }

    #[test]
    fn garbage_capacity_names_the_node_and_field() {
        let node: KubeNode = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "n1"},
            "status": {"capacity": {"cpu": "4 cores", "memory": "1Gi"}}
        }))
        .expect("a node");
        let err = node_from_kube(&node).expect_err("refused");
        assert_eq!(err.kind, SourceErrorKind::BadResponse);
        assert_eq!(
            err.message,
            "node n1: status.capacity.cpu: invalid quantity \"4 cores\": unknown unit"
        );
        let node: KubeNode = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "n2"},
            "status": {"capacity": {"cpu": "-1", "memory": "1Gi"}}
        }))
        .expect("a node");
        assert_eq!(
            node_from_kube(&node).expect_err("refused").message,
            "node n2: status.capacity.cpu: negative quantity \"-1\""
        );
    }

    #[test]
    fn backoff_doubles_and_is_capped() {
        let options = KubernetesOptions {
            backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(350),
            ..KubernetesOptions::default()
        };
        assert_eq!(options.wait_after(1), Duration::from_millis(100));
        assert_eq!(options.wait_after(2), Duration::from_millis(200));
        assert_eq!(options.wait_after(3), Duration::from_millis(350));
    }
}
