//! Arguments of the collection daemon: `collect`, `serve` and the sources they read.

#[allow(
    clippy::wildcard_imports,
    reason = "the types the arguments share live in the parent"
)]
use super::*;

/// Arguments of `greenkube collect`.
#[cfg(feature = "collect")]
#[derive(Debug, clap::Args)]
pub struct CollectArgs {
    /// The store.
    #[command(flatten)]
    pub store: StoreArg,

    /// Collect one window (the latest complete one) and exit; with `--since`, backfill and exit.
    #[arg(long)]
    pub once: bool,

    /// Collect as if it were TIME (RFC 3339 or a date), to replay a past period with `--once`;
    /// only with `--once`.
    #[arg(long, value_name = "TIME", requires = "once", value_parser = crate::time_arg::parse_instant)]
    pub now: Option<chrono::DateTime<chrono::Utc>>,

    /// How the daemon collects.
    #[command(flatten)]
    pub daemon: DaemonArgs,

    /// Where the sources are.
    #[command(flatten)]
    pub sources: SourceArgs,
}

/// How the collection daemon runs: `greenkube collect`, and `greenkube serve --collect`.
#[cfg(feature = "collect")]
#[derive(Debug, Clone, clap::Args)]
pub struct DaemonArgs {
    /// Retention applied after each batch of collected windows.
    #[command(flatten)]
    pub retention: RetentionArgs,

    /// Backfill the windows of the last DURATION that are not stored yet (with a progress bar).
    #[arg(long, value_name = "DURATION", env = "GREENKUBE_SINCE", value_parser = crate::time_arg::parse_duration)]
    pub since: Option<chrono::Duration>,

    /// Window length.
    #[arg(long, value_name = "DURATION", env = "GREENKUBE_STEP", default_value = "5m", value_parser = crate::time_arg::parse_duration)]
    pub step: chrono::Duration,

    /// Seconds to wait after a window ends before collecting it (late samples).
    #[arg(
        long,
        value_name = "SECONDS",
        env = "GREENKUBE_DELAY",
        default_value_t = 30
    )]
    pub delay_seconds: i64,

    /// Cluster name stored with every window (and, for `serve`, the metrics' `cluster` label).
    #[arg(long, value_name = "NAME", env = "GREENKUBE_CLUSTER")]
    pub cluster: Option<String>,

    /// Methodology of the collected windows.
    #[arg(long, short = 'm', value_enum, env = "GREENKUBE_METHODOLOGY", default_value_t = Methodology::Full)]
    pub methodology: Methodology,
}

/// Where the sources are (Prometheus, OpenCost, Electricity Maps, Boavizta, Kubernetes).
#[cfg(feature = "collect")]
#[derive(Clone, clap::Args)]
pub struct SourceArgs {
    /// Prometheus base URL (default: found in the cluster).
    #[arg(long, value_name = "URL", env = "GREENKUBE_PROMETHEUS_URL")]
    pub prometheus_url: Option<String>,

    /// OpenCost base URL (default: found in the cluster; without it costs are unknown).
    #[arg(long, value_name = "URL", env = "GREENKUBE_OPENCOST_URL")]
    pub opencost_url: Option<String>,

    /// Electricity Maps API token (without it, zone intensities come from the reference data).
    #[arg(
        long,
        value_name = "TOKEN",
        env = "GREENKUBE_ELECTRICITY_MAPS_TOKEN",
        hide_env_values = true
    )]
    pub electricity_maps_token: Option<greenkube_adapters::secret::Secret>,

    /// Electricity Maps API base URL.
    #[arg(
        long,
        value_name = "URL",
        env = "GREENKUBE_ELECTRICITY_MAPS_URL",
        default_value = "https://api.electricitymaps.com/v3"
    )]
    pub electricity_maps_url: String,

    /// Boavizta API base URL (without it, embodied emissions come from the reference data).
    #[arg(long, value_name = "URL", env = "GREENKUBE_BOAVIZTA_URL")]
    pub boavizta_url: Option<String>,

    /// Kubeconfig file (default: in-cluster configuration, then `$KUBECONFIG`, then
    /// `~/.kube/config`).
    #[arg(long, value_name = "FILE", env = "GREENKUBE_KUBECONFIG")]
    pub kubeconfig: Option<String>,

    /// Do not use the Kubernetes API (nodes and pods from the metrics only).
    #[arg(long, env = "GREENKUBE_NO_KUBERNETES")]
    pub no_kubernetes: bool,

    /// Time-out of one request to a source, seconds.
    #[arg(
        long,
        value_name = "SECONDS",
        env = "GREENKUBE_SOURCE_TIMEOUT",
        default_value_t = 30
    )]
    pub source_timeout: u64,
}

/// Arguments of `greenkube serve`.
#[cfg(feature = "collect")]
#[derive(Debug, clap::Args)]
#[expect(
    clippy::struct_excessive_bools,
    reason = "one field per switch of the command line"
)]
pub struct ServeArgs {
    /// The store.
    #[command(flatten)]
    pub store: StoreArg,

    /// Address and port to listen on (loopback unless told otherwise; port 0 picks a free one).
    #[arg(
        long,
        value_name = "ADDRESS:PORT",
        env = "GREENKUBE_LISTEN",
        default_value = "127.0.0.1:8000"
    )]
    pub listen: std::net::SocketAddr,

    /// API key every `/api/v1` request must carry as `Authorization: Bearer KEY` (health, docs
    /// and the OpenAPI document exempt; metrics and the front end are never protected).
    #[arg(
        long,
        value_name = "KEY",
        env = "GREENKUBE_API_KEY",
        hide_env_values = true
    )]
    pub api_key: Option<greenkube_adapters::secret::Secret>,

    /// Refuse every change (scans that save, apply, ignore, configuration): 403.
    #[arg(long, env = "GREENKUBE_READ_ONLY")]
    pub read_only: bool,

    /// Origins allowed to call the API from a browser (comma-separated; `*` for any).
    #[arg(
        long,
        value_name = "ORIGINS",
        env = "GREENKUBE_CORS_ORIGINS",
        value_delimiter = ','
    )]
    pub cors_origins: Vec<String>,

    /// Requests per minute and client address (0: no limit); beyond it, 429 with
    /// `Retry-After`.
    #[arg(
        long,
        value_name = "N",
        env = "GREENKUBE_RATE_LIMIT",
        default_value_t = 600
    )]
    pub rate_limit: u32,

    /// Trust the `X-Forwarded-User` header of an authenticating proxy in front: requests that
    /// carry it need no API key. Only behind such a proxy.
    #[arg(long, env = "GREENKUBE_TRUST_AUTH_PROXY")]
    pub trust_auth_proxy: bool,

    /// Serve this single-page app's build at `/` (GreenKube's own web front end, say).
    #[arg(long, value_name = "DIR", env = "GREENKUBE_FRONTEND")]
    pub frontend: Option<std::path::PathBuf>,

    /// Let `POST /api/v1/config/services` change the source settings of the running server.
    #[arg(long)]
    pub allow_config_changes: bool,

    /// Also collect in this process (one-pod deployment), every `--step`, as `greenkube
    /// collect` does with the same flags (retention, backfill, delay, methodology).
    #[arg(long)]
    pub collect: bool,

    /// How the daemon collects with `--collect`.
    #[command(flatten)]
    pub daemon: DaemonArgs,

    /// Where the sources are (probed by `/api/v1/health/services`; collected with `--collect`).
    #[command(flatten)]
    pub sources: SourceArgs,

    /// Answer as if it were TIME (RFC 3339 or a date): `last=24h` means the 24 hours before
    /// it. For replaying a store; not with `--collect`.
    #[arg(long, value_name = "TIME", conflicts_with = "collect", value_parser = crate::time_arg::parse_instant)]
    pub now: Option<chrono::DateTime<chrono::Utc>>,
}

/// URLs redacted, the token as `***`.
#[cfg(feature = "collect")]
impl std::fmt::Debug for SourceArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use greenkube_adapters::secret::{redact_opt, redact_url};
        f.debug_struct("SourceArgs")
            .field("prometheus_url", &redact_opt(self.prometheus_url.as_ref()))
            .field("opencost_url", &redact_opt(self.opencost_url.as_ref()))
            .field("electricity_maps_token", &self.electricity_maps_token)
            .field(
                "electricity_maps_url",
                &redact_url(&self.electricity_maps_url),
            )
            .field("boavizta_url", &redact_opt(self.boavizta_url.as_ref()))
            .field("kubeconfig", &self.kubeconfig)
            .field("no_kubernetes", &self.no_kubernetes)
            .field("source_timeout", &self.source_timeout)
            .finish()
    }
}
