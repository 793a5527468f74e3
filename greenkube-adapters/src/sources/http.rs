//! The HTTP client every HTTP source shares: a base URL, a time-out per request, bounded retries
//! with exponential back-off for what may pass (connection errors, time-outs, 429, 5xx), none for
//! what cannot (401/403, 404, a malformed answer), and errors that name the source and never
//! carry credentials.

use std::time::Duration;

use crate::secret::redact_url as redact;
use greenkube_core::ports::{SourceError, SourceErrorKind, SourceKind};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, RETRY_AFTER};
use reqwest::{StatusCode, Url};
use serde::de::DeserializeOwned;
use tracing::Instrument as _;

/// Time-outs and retries of a source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpPolicy {
    /// Time allowed to connect.
    pub connect_timeout: Duration,
    /// Time allowed for a whole request, answer included.
    pub request_timeout: Duration,
    /// Attempts in all (1 = no retry).
    pub attempts: u32,
    /// Wait before the first retry; doubled at each retry.
    pub backoff: Duration,
    /// Longest wait between two attempts (also caps a server's `Retry-After`).
    pub max_backoff: Duration,
    /// Largest answer read, bytes: a longer one (or one that never ends) is a `BadResponse`
    /// once this much has arrived, so a source cannot grow the collector's memory without
    /// bound, whatever it sends within the time-out.
    pub max_answer_bytes: u64,
}

/// The default [`HttpPolicy::max_answer_bytes`]: 512 MiB, about thirty times the answer for an
/// hour of 100,000 pods.
pub const DEFAULT_MAX_ANSWER_BYTES: u64 = 512 * 1024 * 1024;

/// How much of an error answer is read, for its excerpt.
const ERROR_BODY_BYTES: usize = 64 * 1024;

impl Default for HttpPolicy {
    /// 3 s to connect, 30 s per request, 3 attempts, 250 ms back-off doubling up to 5 s.
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(3),
            request_timeout: Duration::from_secs(30),
            attempts: 3,
            backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(5),
            max_answer_bytes: DEFAULT_MAX_ANSWER_BYTES,
        }
    }
}

impl HttpPolicy {
    /// The wait before attempt `attempt + 1` (attempts count from 1).
    fn wait_after(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        let doubled = self
            .backoff
            .saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1)));
        retry_after.unwrap_or(doubled).min(self.max_backoff)
    }
}

/// An HTTP client bound to one source's base URL.
#[derive(Debug, Clone)]
pub struct SourceHttp {
    kind: SourceKind,
    client: reqwest::Client,
    base: Url,
    shown: String,
    headers: HeaderMap,
    policy: HttpPolicy,
}

impl SourceHttp {
    /// A client for `base_url` (`http://` or `https://`). A malformed URL is `NotConfigured`.
    pub fn new(kind: SourceKind, base_url: &str, policy: HttpPolicy) -> Result<Self, SourceError> {
        let mut base = Url::parse(base_url.trim()).map_err(|e| {
            SourceError::new(
                kind,
                SourceErrorKind::NotConfigured,
                format!("invalid URL {:?}: {e}", redact(base_url)),
            )
        })?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(SourceError::new(
                kind,
                SourceErrorKind::NotConfigured,
                format!("URL {:?} is not http(s)", redact(base_url)),
            ));
        }
        if base.query().is_some() || base.fragment().is_some() {
            // Paths are joined to the base: a query there would end up inside them, and a token
            // in it would be sent and shown where it should not be.
            return Err(SourceError::new(
                kind,
                SourceErrorKind::NotConfigured,
                format!(
                    "URL {:?} has a query or fragment; give the base URL alone (a token has \
                     its own setting)",
                    redact(base_url)
                ),
            ));
        }
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        let client = reqwest::Client::builder()
            .connect_timeout(policy.connect_timeout)
            .timeout(policy.request_timeout)
            .user_agent(concat!("greenkube/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| {
                SourceError::new(
                    kind,
                    SourceErrorKind::NotConfigured,
                    format!("cannot build an HTTP client: {e}"),
                )
            })?;
        let shown = redact(base.as_str());
        Ok(Self {
            kind,
            client,
            base,
            shown,
            headers: HeaderMap::new(),
            policy,
        })
    }

    /// Adds a header sent with every request (for example Electricity Maps' `auth-token`). The
    /// value is marked sensitive, so it never appears in debug output.
    pub fn with_header(mut self, name: &'static str, value: &str) -> Result<Self, SourceError> {
        let mut value = HeaderValue::from_str(value).map_err(|_| {
            SourceError::new(
                self.kind,
                SourceErrorKind::NotConfigured,
                format!("the value of header {name} is not valid in HTTP"),
            )
        })?;
        value.set_sensitive(true);
        self.headers.insert(HeaderName::from_static(name), value);
        Ok(self)
    }

    /// Which source this client serves.
    pub fn kind(&self) -> SourceKind {
        self.kind
    }

    /// The base URL without credentials, for messages.
    pub fn base_url(&self) -> &str {
        &self.shown
    }

    /// `GET base/path?query`, decoded as JSON. 404 is an error (`NotFound`).
    pub async fn get_json<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<T, SourceError> {
        match self.get_json_or_404(path, query).await? {
            Some(value) => Ok(value),
            None => Err(self.error(
                SourceErrorKind::NotFound,
                format!("GET {}{path}: HTTP 404", self.shown),
            )),
        }
    }

    /// `GET base/path?query`, decoded as JSON; `Ok(None)` on 404 (for sources where "not found"
    /// is an answer, such as an unknown instance type).
    pub async fn get_json_or_404<T: DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<Option<T>, SourceError> {
        let url = self.base.join(path.trim_start_matches('/')).map_err(|e| {
            self.error(
                SourceErrorKind::NotConfigured,
                format!("cannot join {path:?} to {}: {e}", self.shown),
            )
        })?;
        let what = format!("GET {}{}", self.shown, path.trim_start_matches('/'));
        let attempts = self.policy.attempts.max(1);
        let mut attempt = 0;
        // The request as logged: the base URL without its password, never the query (it may
        // hold names) nor the headers (they hold the tokens).
        let span = tracing::debug_span!("source_request", source = %self.kind, request = %what);
        async {
            loop {
                attempt += 1;
                let started = std::time::Instant::now();
                let fetched = self.once(&url, query, &what).await;
                let ms = started.elapsed().as_millis();
                let (err, retry_after) = match fetched {
                    Ok(Fetched::Body(bytes)) => {
                        tracing::debug!(attempt, ms, bytes = bytes.len(), "answered");
                        return self.decode(&bytes, &what).map(Some);
                    }
                    Ok(Fetched::NotFound) => {
                        tracing::debug!(attempt, ms, "not found");
                        return Ok(None);
                    }
                    Err(failure) => failure,
                };
                tracing::debug!(attempt, ms, kind = err.kind.description(), "failed");
                if !err.kind.is_transient() || attempt >= attempts {
                    let mut err = err;
                    if attempt > 1 {
                        err.message = format!("{} (after {attempt} attempts)", err.message);
                    }
                    return Err(err);
                }
                tokio::time::sleep(self.policy.wait_after(attempt, retry_after)).await;
            }
        }
        .instrument(span)
        .await
    }

    async fn once(
        &self,
        url: &Url,
        query: &[(&str, String)],
        what: &str,
    ) -> Result<Fetched, (SourceError, Option<Duration>)> {
        #[cfg(feature = "fuzzing")]
        if let Some(body) = fuzzing::canned() {
            let _ = (url, query, what);
            return Ok(Fetched::Body(body));
        }
        let response = self
            .client
            .get(url.clone())
            .headers(self.headers.clone())
            .query(query)
            .send()
            .await
            .map_err(|e| (self.transport_error(&e, what), None))?;
        let status = response.status();
        if status == StatusCode::NOT_FOUND {
            return Ok(Fetched::NotFound);
        }
        if !status.is_success() {
            let retry_after = response
                .headers()
                .get(RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            let body = String::from_utf8_lossy(&read_at_most(response, ERROR_BODY_BYTES).await)
                .into_owned();
            let kind = match status {
                StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => SourceErrorKind::Unauthorized,
                StatusCode::TOO_MANY_REQUESTS => SourceErrorKind::RateLimited,
                s if s.is_server_error() => SourceErrorKind::ServerError,
                _ => SourceErrorKind::BadResponse,
            };
            return Err((
                self.error(
                    kind,
                    format!("{what}: HTTP {status}{}", excerpt(&self.mask(body))),
                ),
                retry_after,
            ));
        }
        let limit = self.policy.max_answer_bytes;
        let too_large = || {
            (
                self.error(
                    SourceErrorKind::BadResponse,
                    format!("{what}: the answer is larger than {limit} bytes"),
                ),
                None,
            )
        };
        if response
            .content_length()
            .is_some_and(|length| length > limit)
        {
            return Err(too_large());
        }
        let mut response = response;
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| (self.transport_error(&e, what), None))?
        {
            if (body.len() + chunk.len()) as u64 > limit {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Fetched::Body(bytes::Bytes::from(body)))
    }

    fn decode<T: DeserializeOwned>(&self, bytes: &[u8], what: &str) -> Result<T, SourceError> {
        let de = &mut serde_json::Deserializer::from_slice(bytes);
        serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            let at = if path == "." {
                String::new()
            } else {
                format!(" at {path}")
            };
            self.error(
                SourceErrorKind::BadResponse,
                format!(
                    "{what}: the answer is not the documented JSON{at}: {inner}{}",
                    excerpt(&self.mask(String::from_utf8_lossy(bytes).into_owned()))
                ),
            )
        })
    }

    fn transport_error(&self, err: &reqwest::Error, what: &str) -> SourceError {
        let kind = if err.is_timeout() {
            SourceErrorKind::Timeout
        } else if err.is_decode() || err.is_body() {
            SourceErrorKind::BadResponse
        } else {
            SourceErrorKind::Unreachable
        };
        // reqwest's Display includes the URL; ours is already redacted, so keep only the cause.
        let cause = std::error::Error::source(err)
            .map_or_else(|| err.to_string(), std::string::ToString::to_string);
        self.error(kind, format!("{what}: {cause}"))
    }

    /// An error of this source. Every error of every HTTP source is made here, so this is where
    /// secrets are kept out: the token and password this client sends are masked wherever they
    /// appear, even echoed back in an answer.
    pub fn error(&self, kind: SourceErrorKind, message: impl Into<String>) -> SourceError {
        SourceError::new(self.kind, kind, self.mask(message.into()))
    }

    /// `text` with this client's secrets masked wherever they appear: the values of the
    /// sensitive headers it sends (such as a token) and the password of its URL, as written, as
    /// JSON writes them and as a quoted excerpt shows them; an answer that echoes them back
    /// cannot get them printed.
    fn mask(&self, mut text: String) -> String {
        let password = self.base.password().filter(|p| !p.is_empty());
        let decoded = password
            .and_then(|p| percent_encoding::percent_decode_str(p).decode_utf8().ok())
            .map(std::borrow::Cow::into_owned);
        let secrets = self
            .headers
            .values()
            .filter(|v| v.is_sensitive())
            .filter_map(|v| v.to_str().ok())
            .chain(password)
            .chain(decoded.as_deref());
        for secret in secrets {
            // Secrets of a few characters would mask ordinary words; none is that short.
            if secret.len() < 4 {
                continue;
            }
            let json = serde_json::to_string(secret).unwrap_or_default();
            let json = json.trim_matches('"').to_owned();
            for form in [secret.to_owned(), secret.escape_debug().to_string(), json] {
                if text.contains(&form) {
                    text = text.replace(&form, "***");
                }
            }
        }
        text
    }
}

/// For fuzzing (feature `fuzzing`, never in a product build): every request of this thread
/// is answered with a given body, so the sources' real decoding and conversion run on
/// arbitrary answers without a server.
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing {
    use std::cell::RefCell;

    thread_local! {
        static CANNED: RefCell<Option<bytes::Bytes>> = const { RefCell::new(None) };
    }

    /// Answers every request made on this thread with `body` (`None`: the network again).
    pub fn answer_with(body: Option<&[u8]>) {
        CANNED.with(|canned| *canned.borrow_mut() = body.map(bytes::Bytes::copy_from_slice));
    }

    pub(super) fn canned() -> Option<bytes::Bytes> {
        CANNED.with(|canned| canned.borrow().clone())
    }
}

/// The first `limit` bytes of an answer (an error's body, for its excerpt); what follows is not
/// read, and a failure midway keeps what arrived.
async fn read_at_most(mut response: reqwest::Response, limit: usize) -> Vec<u8> {
    let mut body = Vec::new();
    while body.len() < limit {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                let room = limit - body.len();
                body.extend_from_slice(&chunk[..chunk.len().min(room)]);
            }
            _ => break,
        }
    }
    body
}

enum Fetched {
    Body(bytes::Bytes),
    NotFound,
}

/// ` (answer: "...")` with the first 200 characters of a body, or nothing for an empty body.
fn excerpt(body: &str) -> String {
    let body = body.trim();
    if body.is_empty() {
        return String::new();
    }
    let cut: String = body.chars().take(200).collect();
    let more = if cut.len() < body.len() { "..." } else { "" };
    format!(" (answer: {cut:?}{more})")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        let policy = HttpPolicy {
            backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(350),
            ..HttpPolicy::default()
        };
        assert_eq!(policy.wait_after(1, None), Duration::from_millis(100));
        assert_eq!(policy.wait_after(2, None), Duration::from_millis(200));
        assert_eq!(policy.wait_after(3, None), Duration::from_millis(350));
        assert_eq!(
            policy.wait_after(1, Some(Duration::from_secs(60))),
            Duration::from_millis(350)
        );
    }

    #[test]
    fn bad_urls_are_not_configured() {
        let err = SourceHttp::new(SourceKind::Opencost, "ftp://x", HttpPolicy::default())
            .expect_err("ftp is refused");
        assert_eq!(err.kind, SourceErrorKind::NotConfigured);
        let err = SourceHttp::new(SourceKind::Opencost, "::", HttpPolicy::default())
            .expect_err("garbage is refused");
        assert_eq!(err.kind, SourceErrorKind::NotConfigured);
    }
}
