//! A thin Elasticsearch HTTP client: JSON requests and `_bulk` NDJSON over one pooled reqwest
//! client (rustls), credentials sent as a basic-auth header (never in a URL), and every
//! failure mapped to a [`StoreError`] at the seam.

use std::fmt;
use std::time::Duration;

use greenkube_core::ports::StoreError;
use reqwest::Method;
use reqwest::header::CONTENT_TYPE;
use serde_json::Value;

use super::BACKEND;
use super::error::{ResponseError, convert_reqwest_err, convert_response_err, unexpected};

/// The default index prefix: indices `greenkube-footprints` and `greenkube-meta`.
pub const DEFAULT_INDEX_PREFIX: &str = "greenkube";

/// Where an Elasticsearch store lives and how greenkube uses it.
/// [`ElasticsearchConfig::from_url`] reads it from a store URL; the tuning fields can then be
/// changed before opening.
#[derive(Clone, PartialEq, Eq)]
pub struct ElasticsearchConfig {
    /// Base URL of the cluster: scheme, host, port and any path prefix (behind a proxy), with
    /// no credentials, query or trailing slash.
    pub base_url: String,
    /// User for HTTP basic authentication.
    pub username: Option<String>,
    /// Password for HTTP basic authentication.
    pub password: Option<String>,
    /// Prefix of the index names (`PREFIX-footprints`, `PREFIX-meta`), from the URL's
    /// `index_prefix` parameter; default [`DEFAULT_INDEX_PREFIX`].
    pub index_prefix: String,
    /// How long the write lock lasts without being renewed; a writer that dies holding it
    /// blocks other writers this long at most (default 120 s).
    pub lock_lease: Duration,
    /// How long a writer waits for another writer's lock before failing with `Unavailable`
    /// (default 30 s).
    pub lock_wait: Duration,
    /// Documents per `_bulk` request (default 2,000).
    pub bulk_documents: usize,
    /// Time-out of connecting (default 10 s).
    pub connect_timeout: Duration,
    /// Time-out of one request, including a `_delete_by_query` (default 300 s).
    pub request_timeout: Duration,
}

impl fmt::Debug for ElasticsearchConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ElasticsearchConfig")
            .field("base_url", &self.base_url)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("index_prefix", &self.index_prefix)
            .field("lock_lease", &self.lock_lease)
            .field("lock_wait", &self.lock_wait)
            .field("bulk_documents", &self.bulk_documents)
            .field("connect_timeout", &self.connect_timeout)
            .field("request_timeout", &self.request_timeout)
            .finish()
    }
}

impl ElasticsearchConfig {
    /// Reads `http(s)://[USER[:PASSWORD]@]HOST[:PORT][/PATH][?index_prefix=NAME]`. User and
    /// password may be percent-encoded. Any other query parameter is an error, so a typo is
    /// never silently ignored.
    pub fn from_url(url: &str) -> Result<Self, StoreError> {
        let shown = super::super::redact(url);
        let invalid = |why: &str| {
            StoreError::invalid_data(
                BACKEND,
                format!("invalid Elasticsearch URL `{shown}`: {why}"),
            )
        };
        let parsed = reqwest::Url::parse(url.trim()).map_err(|e| {
            StoreError::invalid_data(BACKEND, format!("invalid Elasticsearch URL `{shown}`"))
                .with_source(e)
        })?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(invalid("the scheme must be `http` or `https`"));
        }
        if parsed.host_str().is_none_or(str::is_empty) {
            return Err(invalid("no host"));
        }
        if parsed.fragment().is_some() {
            return Err(invalid("a `#fragment` means nothing here"));
        }
        let mut index_prefix = DEFAULT_INDEX_PREFIX.to_string();
        for (key, value) in parsed.query_pairs() {
            match key.as_ref() {
                "index_prefix" => index_prefix = value.into_owned(),
                other => {
                    return Err(invalid(&format!(
                        "unknown parameter `{other}` (the only one is `index_prefix`)"
                    )));
                }
            }
        }
        check_index_prefix(&index_prefix).map_err(|why| invalid(&why))?;
        let username = (!parsed.username().is_empty()).then(|| percent_decode(parsed.username()));
        let password = parsed.password().map(percent_decode);
        let mut base = parsed.clone();
        // Cannot fail on an http(s) URL with a host.
        let _ = base.set_username("");
        let _ = base.set_password(None);
        base.set_query(None);
        let base_url = base.as_str().trim_end_matches('/').to_string();
        Ok(Self {
            base_url,
            username,
            password,
            index_prefix,
            lock_lease: Duration::from_secs(120),
            lock_wait: Duration::from_secs(30),
            bulk_documents: 2000,
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(300),
        })
    }

    /// The URL to show: base URL, user (no password) and index prefix.
    pub fn location(&self) -> String {
        let base = match (&self.username, self.base_url.split_once("://")) {
            (Some(user), Some((scheme, rest))) => {
                let password = if self.password.is_some() { ":***" } else { "" };
                format!("{scheme}://{user}{password}@{rest}")
            }
            _ => self.base_url.clone(),
        };
        if self.index_prefix == DEFAULT_INDEX_PREFIX {
            base
        } else {
            format!("{base}?index_prefix={}", self.index_prefix)
        }
    }
}

/// Index names Elasticsearch accepts, restricted to what is safe in a URL path unescaped:
/// lower-case ASCII letters, digits, `-`, `_` and `.`, not starting with `-`, `_` or `.`,
/// at most 200 bytes.
fn check_index_prefix(prefix: &str) -> Result<(), String> {
    let ok_chars = prefix
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'_' | b'.'));
    if prefix.is_empty() || prefix.len() > 200 {
        Err("`index_prefix` must have 1 to 200 characters".to_string())
    } else if !ok_chars || prefix.starts_with(['-', '_', '.']) {
        Err(format!(
            "`index_prefix` `{prefix}` must be lower-case letters, digits, `-`, `_` or `.`, \
             and start with a letter or digit"
        ))
    } else {
        Ok(())
    }
}

/// Decodes `%XX` escapes (user info in URLs); invalid escapes are kept as they are.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok());
            if let Some(v) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A reply: HTTP status and parsed JSON body (`Null` when empty).
#[derive(Debug)]
pub(super) struct Reply {
    pub(super) status: u16,
    pub(super) body: Value,
    raw: Vec<u8>,
}

impl Reply {
    pub(super) fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The reply as an error response.
    pub(super) fn error(&self) -> ResponseError {
        ResponseError::parse(self.status, &self.raw)
    }

    /// The body when the status is 2xx, the converted error otherwise.
    pub(super) fn into_ok(self, doing: &str) -> Result<Value, StoreError> {
        if self.is_success() {
            Ok(self.body)
        } else {
            Err(convert_response_err(doing, self.error()))
        }
    }
}

/// The HTTP client of one store.
#[derive(Clone)]
pub(super) struct Client {
    http: reqwest::Client,
    base_url: String,
    location: String,
    username: Option<String>,
    password: Option<String>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

impl Client {
    pub(super) fn new(config: &ElasticsearchConfig) -> Result<Self, StoreError> {
        let http = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .timeout(config.request_timeout)
            .user_agent(concat!("greenkube/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| {
                StoreError::other(BACKEND, "cannot build the HTTP client").with_source(e)
            })?;
        Ok(Self {
            http,
            base_url: config.base_url.clone(),
            location: config.location(),
            username: config.username.clone(),
            password: config.password.clone(),
        })
    }

    /// The URL shown in messages (no password).
    pub(super) fn location(&self) -> &str {
        &self.location
    }

    /// Sends a request; `path` starts with `/` and may carry a query. Any HTTP status is a
    /// reply; only transport failures are errors.
    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<(Vec<u8>, &'static str)>,
        doing: &str,
    ) -> Result<Reply, StoreError> {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base_url));
        if let Some(user) = &self.username {
            request = request.basic_auth(user, self.password.as_ref());
        }
        if let Some((bytes, content_type)) = body {
            request = request.header(CONTENT_TYPE, content_type).body(bytes);
        }
        let response = request
            .send()
            .await
            .map_err(|e| convert_reqwest_err(doing, &self.location, e))?;
        let status = response.status().as_u16();
        let raw = response
            .bytes()
            .await
            .map_err(|e| convert_reqwest_err(doing, &self.location, e))?
            .to_vec();
        let body = if raw.iter().all(u8::is_ascii_whitespace) {
            Value::Null
        } else {
            match serde_json::from_slice(&raw) {
                Ok(v) => v,
                // Proxies answer errors in HTML; the status decides what it means.
                Err(_) if !(200..300).contains(&status) => Value::Null,
                Err(e) => return Err(unexpected(doing, format!("body is not JSON: {e}"))),
            }
        };
        Ok(Reply { status, body, raw })
    }

    /// A JSON request; any status is a reply.
    pub(super) async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        doing: &str,
    ) -> Result<Reply, StoreError> {
        let body = match body {
            Some(v) => Some((
                serde_json::to_vec(v).map_err(|e| {
                    StoreError::other(BACKEND, format!("{doing}: cannot encode the request"))
                        .with_source(e)
                })?,
                "application/json",
            )),
            None => None,
        };
        self.send(method, path, body, doing).await
    }

    /// A JSON request that must succeed (2xx).
    pub(super) async fn ok(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        doing: &str,
    ) -> Result<Value, StoreError> {
        self.call(method, path, body, doing).await?.into_ok(doing)
    }

    /// A `_bulk` request with an NDJSON body that must succeed (2xx; item errors are the
    /// caller's to read).
    pub(super) async fn bulk(
        &self,
        path: &str,
        ndjson: Vec<u8>,
        doing: &str,
    ) -> Result<Value, StoreError> {
        self.send(
            Method::POST,
            path,
            Some((ndjson, "application/x-ndjson")),
            doing,
        )
        .await?
        .into_ok(doing)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use greenkube_core::ports::StoreErrorKind;

    #[test]
    fn reads_urls() {
        let c = ElasticsearchConfig::from_url("http://127.0.0.1:9200").unwrap();
        assert_eq!(c.base_url, "http://127.0.0.1:9200");
        assert_eq!(c.index_prefix, "greenkube");
        assert_eq!((c.username.as_deref(), c.password.as_deref()), (None, None));
        assert_eq!(c.location(), "http://127.0.0.1:9200");

        let c = ElasticsearchConfig::from_url(
            "https://elastic:p%40ss%3Aw0rd@es.example:443/proxy/es/?index_prefix=gk-prod",
        )
        .unwrap();
        assert_eq!(c.base_url, "https://es.example/proxy/es");
        assert_eq!(c.username.as_deref(), Some("elastic"));
        assert_eq!(c.password.as_deref(), Some("p@ss:w0rd"));
        assert_eq!(c.index_prefix, "gk-prod");
        assert_eq!(
            c.location(),
            "https://elastic:***@es.example/proxy/es?index_prefix=gk-prod"
        );
        let debug = format!("{c:?}");
        assert!(!debug.contains("w0rd"), "{debug}");
    }

    #[test]
    fn refuses_bad_urls_without_showing_passwords() {
        for (url, text) in [
            ("http://es:9200?index=x", "unknown parameter `index`"),
            ("http://es:9200?index_prefix=Upper", "lower-case"),
            ("http://es:9200?index_prefix=_x", "start with a letter"),
            ("http://es:9200?index_prefix=", "1 to 200"),
            ("http://u:secret@es:notaport", "invalid Elasticsearch URL"),
            ("http://es:9200/#x", "fragment"),
        ] {
            let err = ElasticsearchConfig::from_url(url).unwrap_err();
            assert_eq!(err.kind(), StoreErrorKind::InvalidData, "{url}: {err}");
            assert!(err.to_string().contains(text), "{url}: {err}");
            assert!(!err.to_string().contains("secret"), "{url}: {err}");
        }
    }

    #[test]
    fn decodes_percent_escapes() {
        assert_eq!(percent_decode("a%20b%2"), "a b%2");
        assert_eq!(percent_decode("%zz%41"), "%zzA");
        assert_eq!(percent_decode("%"), "%");
        assert_eq!(percent_decode("%C3%A9"), "é");
    }
}
