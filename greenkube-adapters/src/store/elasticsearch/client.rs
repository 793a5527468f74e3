//! The Elasticsearch client of one store: the official `elasticsearch` crate's transport
//! (one pooled reqwest client with rustls, basic authentication, time-outs) and its typed API
//! builders, each answer read into a [`Reply`] and every failure mapped to a [`StoreError`] at
//! the seam. Credentials go to the transport, never into a URL.
//!
//! What the crate does not do, and how it is made up for: its transport has no connect
//! time-out, so [`ElasticsearchConfig::connect_timeout`] bounds the store's first request
//! (`GET /`, when it is opened); it sets its own `User-Agent` on every request, so greenkube's
//! is not sent; and its error does not tell a refused connection from a lost one, so
//! [`convert_transport_err`] reads the reqwest error underneath.

use std::fmt;
use std::time::Duration;

use elasticsearch::auth::Credentials;
use elasticsearch::http::Url;
use elasticsearch::http::response::Response;
use elasticsearch::http::transport::{SingleNodeConnectionPool, TransportBuilder};
use elasticsearch::indices::{
    IndicesCreateParts, IndicesGetMappingParts, IndicesPutIndexTemplateParts,
    IndicesPutMappingParts, IndicesRefreshParts,
};
use elasticsearch::params::{Conflicts, Refresh};
use elasticsearch::{
    BulkOperations, BulkParts, CountParts, CreateParts, DeleteByQueryParts, DeleteParts,
    Elasticsearch, GetParts, IndexParts, MgetParts, SearchParts,
};
use greenkube_core::ports::StoreError;
use serde_json::Value;

use super::BACKEND;
use super::error::{ResponseError, convert_response_err, convert_transport_err, unexpected};

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
    /// Time-out of reaching the server when the store is opened: the first request
    /// (`GET /`) must be answered within it (default 10 s). The `elasticsearch` crate's
    /// transport has no separate connect time-out, so later connections are bounded by
    /// `request_timeout`.
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
        let parsed = Url::parse(url.trim()).map_err(|e| {
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

/// Decodes the `%XX` escapes of a URL's user or password (invalid escapes are kept as they
/// are, invalid UTF-8 replaced).
fn percent_decode(text: &str) -> String {
    percent_encoding::percent_decode_str(text)
        .decode_utf8_lossy()
        .into_owned()
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

/// How a document is written ([`Client::write`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Write {
    /// Created or replaced.
    Replace,
    /// Created or replaced, and searchable when the call returns (`refresh=wait_for`).
    ReplaceVisible,
    /// Replaced only if nobody changed it since it was read at this sequence number and
    /// primary term (compare-and-swap); HTTP 409 otherwise.
    IfUnchanged { seq_no: u64, primary_term: u64 },
    /// Created only if it does not exist (`_create`); HTTP 409 otherwise. With `refresh`,
    /// searchable at once (`refresh=true`).
    Create { refresh: bool },
}

/// The client of one store: the crate's [`Elasticsearch`] over a single-node transport.
#[derive(Clone)]
pub(super) struct Client {
    es: Elasticsearch,
    location: String,
    connect_timeout: Duration,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

/// A sequence number, primary term or version as the API takes it.
pub(super) fn signed(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl Client {
    pub(super) fn new(config: &ElasticsearchConfig) -> Result<Self, StoreError> {
        let url = Url::parse(&config.base_url).map_err(|e| {
            StoreError::invalid_data(BACKEND, "invalid Elasticsearch base URL").with_source(e)
        })?;
        let mut transport = TransportBuilder::new(SingleNodeConnectionPool::new(url))
            .timeout(config.request_timeout)
            // No `x-elastic-client-meta` header: it tells Elastic's servers the client's
            // versions, and nothing here needs it.
            .enable_meta_header(false);
        if let Some(user) = &config.username {
            transport = transport.auth(Credentials::Basic(
                user.clone(),
                config.password.clone().unwrap_or_default(),
            ));
        }
        let transport = transport.build().map_err(|e| {
            StoreError::other(BACKEND, "cannot build the HTTP client").with_source(e)
        })?;
        Ok(Self {
            es: Elasticsearch::new(transport),
            location: config.location(),
            connect_timeout: config.connect_timeout,
        })
    }

    /// The URL shown in messages (no password).
    pub(super) fn location(&self) -> &str {
        &self.location
    }

    /// Reads an answer: any HTTP status is a reply; only transport failures are errors.
    async fn read(
        &self,
        sent: Result<Response, elasticsearch::Error>,
        doing: &str,
    ) -> Result<Reply, StoreError> {
        let fail = |e| convert_transport_err(doing, &self.location, e);
        let response = sent.map_err(fail)?;
        let status = response.status_code().as_u16();
        let raw = response.bytes().await.map_err(fail)?.to_vec();
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

    /// `GET /`: what the server is. The first request of a store, so it is bounded by the
    /// connect time-out.
    pub(super) async fn info(&self, doing: &str) -> Result<Value, StoreError> {
        let sent = self
            .es
            .info()
            .request_timeout(self.connect_timeout)
            .send()
            .await;
        self.read(sent, doing).await?.into_ok(doing)
    }

    /// A document by id (realtime); any status is a reply.
    pub(super) async fn get(
        &self,
        index: &str,
        id: &str,
        doing: &str,
    ) -> Result<Reply, StoreError> {
        let sent = self.es.get(GetParts::IndexId(index, id)).send().await;
        self.read(sent, doing).await
    }

    /// Writes a document `how` it says; any status is a reply.
    pub(super) async fn write(
        &self,
        index: &str,
        id: &str,
        how: Write,
        source: &Value,
        doing: &str,
    ) -> Result<Reply, StoreError> {
        let sent = if let Write::Create { refresh } = how {
            let create = self.es.create(CreateParts::IndexId(index, id)).body(source);
            let create = if refresh {
                create.refresh(Refresh::True)
            } else {
                create
            };
            create.send().await
        } else {
            let mut request = self.es.index(IndexParts::IndexId(index, id)).body(source);
            match how {
                Write::ReplaceVisible => request = request.refresh(Refresh::WaitFor),
                Write::IfUnchanged {
                    seq_no,
                    primary_term,
                } => {
                    request = request
                        .if_seq_no(signed(seq_no))
                        .if_primary_term(signed(primary_term));
                }
                Write::Replace | Write::Create { .. } => {}
            }
            request.send().await
        };
        self.read(sent, doing).await
    }

    /// Deletes a document by id; any status is a reply.
    pub(super) async fn delete(
        &self,
        index: &str,
        id: &str,
        doing: &str,
    ) -> Result<Reply, StoreError> {
        let sent = self.es.delete(DeleteParts::IndexId(index, id)).send().await;
        self.read(sent, doing).await
    }

    /// Documents by id (`_mget`, realtime), in the order of `ids`.
    pub(super) async fn mget(
        &self,
        index: &str,
        ids: &[String],
        doing: &str,
    ) -> Result<Value, StoreError> {
        let sent = self
            .es
            .mget(MgetParts::Index(index))
            .body(serde_json::json!({ "ids": ids }))
            .send()
            .await;
        self.read(sent, doing).await?.into_ok(doing)
    }

    /// A search (`_search`) over one or more indices.
    pub(super) async fn search(
        &self,
        indices: &[&str],
        request: &Value,
        doing: &str,
    ) -> Result<Value, StoreError> {
        let sent = self
            .es
            .search(SearchParts::Index(indices))
            .body(request)
            .send()
            .await;
        self.read(sent, doing).await?.into_ok(doing)
    }

    /// How many documents of `index` a query matches (`_count`).
    pub(super) async fn count(
        &self,
        index: &str,
        query: &Value,
        doing: &str,
    ) -> Result<Value, StoreError> {
        let sent = self
            .es
            .count(CountParts::Index(&[index]))
            .body(serde_json::json!({ "query": query }))
            .send()
            .await;
        self.read(sent, doing).await?.into_ok(doing)
    }

    /// Deletes what a query matches (`_delete_by_query`, version conflicts skipped, the index
    /// refreshed).
    pub(super) async fn delete_by_query(
        &self,
        index: &str,
        query: &Value,
        doing: &str,
    ) -> Result<Value, StoreError> {
        let sent = self
            .es
            .delete_by_query(DeleteByQueryParts::Index(&[index]))
            .refresh(true)
            .conflicts(Conflicts::Proceed)
            .body(serde_json::json!({ "query": query }))
            .send()
            .await;
        self.read(sent, doing).await?.into_ok(doing)
    }

    /// A `_bulk` request that must succeed (2xx; item errors are the caller's to read). With
    /// `wait`, it returns once what it wrote is searchable (`refresh=wait_for`).
    pub(super) async fn bulk(
        &self,
        operations: BulkOperations,
        wait: bool,
        doing: &str,
    ) -> Result<Value, StoreError> {
        let request = self.es.bulk(BulkParts::None).body(vec![operations]);
        let request = if wait {
            request.refresh(Refresh::WaitFor)
        } else {
            request
        };
        let sent = request.send().await;
        self.read(sent, doing).await?.into_ok(doing)
    }

    /// Makes what was written to `index` searchable (`_refresh`).
    pub(super) async fn refresh(&self, index: &str, doing: &str) -> Result<(), StoreError> {
        let sent = self
            .es
            .indices()
            .refresh(IndicesRefreshParts::Index(&[index]))
            .send()
            .await;
        self.read(sent, doing).await?.into_ok(doing).map(|_| ())
    }

    /// The mapping of an index; any status is a reply.
    pub(super) async fn mapping(&self, index: &str, doing: &str) -> Result<Reply, StoreError> {
        let sent = self
            .es
            .indices()
            .get_mapping(IndicesGetMappingParts::Index(&[index]))
            .send()
            .await;
        self.read(sent, doing).await
    }

    /// Adds to the mapping of an index.
    pub(super) async fn put_mapping(
        &self,
        index: &str,
        mappings: &Value,
        doing: &str,
    ) -> Result<(), StoreError> {
        let sent = self
            .es
            .indices()
            .put_mapping(IndicesPutMappingParts::Index(&[index]))
            .body(mappings)
            .send()
            .await;
        self.read(sent, doing).await?.into_ok(doing).map(|_| ())
    }

    /// Puts an index template.
    pub(super) async fn put_index_template(
        &self,
        name: &str,
        template: &Value,
        doing: &str,
    ) -> Result<(), StoreError> {
        let sent = self
            .es
            .indices()
            .put_index_template(IndicesPutIndexTemplateParts::Name(name))
            .body(template)
            .send()
            .await;
        self.read(sent, doing).await?.into_ok(doing).map(|_| ())
    }

    /// Creates an index; any status is a reply.
    pub(super) async fn create_index(
        &self,
        index: &str,
        body: &Value,
        doing: &str,
    ) -> Result<Reply, StoreError> {
        let sent = self
            .es
            .indices()
            .create(IndicesCreateParts::Index(index))
            .body(body)
            .send()
            .await;
        self.read(sent, doing).await
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
    fn the_client_shows_no_password() {
        let config =
            ElasticsearchConfig::from_url("https://elastic:s3cr3t@es.example:9200").unwrap();
        let client = Client::new(&config).unwrap();
        assert_eq!(client.location(), "https://elastic:***@es.example:9200");
        let debug = format!("{client:?}");
        assert!(!debug.contains("s3cr3t"), "{debug}");
    }

    #[test]
    fn decodes_percent_escapes() {
        assert_eq!(percent_decode("a%20b%2"), "a b%2");
        assert_eq!(percent_decode("%zz%41"), "%zzA");
        assert_eq!(percent_decode("%"), "%");
        assert_eq!(percent_decode("%C3%A9"), "é");
    }
}
