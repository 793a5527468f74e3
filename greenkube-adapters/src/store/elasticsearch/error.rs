//! HTTP failures and Elasticsearch error responses to [`StoreError`], in one place.

use greenkube_core::ports::{StoreError, StoreErrorKind};
use serde_json::Value;

use super::BACKEND;

/// What an Elasticsearch error response says: its status, `error.type` and `error.reason`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("HTTP {status}: {kind}: {reason}")]
pub(super) struct ResponseError {
    /// HTTP status.
    pub(super) status: u16,
    /// `error.type` (the root cause's when there is one), or `unknown`.
    pub(super) kind: String,
    /// `error.reason`, or the start of the body.
    pub(super) reason: String,
}

impl ResponseError {
    /// Reads an error body (`{"error": {"type": ..., "reason": ...}, "status": ...}`, or
    /// anything else a proxy may send).
    pub(super) fn parse(status: u16, body: &[u8]) -> Self {
        let parsed: Option<Value> = serde_json::from_slice(body).ok();
        let error = parsed.as_ref().and_then(|v| v.get("error"));
        let field = |name: &str| -> Option<String> {
            let e = error?;
            if let Some(s) = e.as_str() {
                return (name == "reason").then(|| s.to_string());
            }
            e.get(name).and_then(Value::as_str).map(str::to_string)
        };
        let kind = field("type").unwrap_or_else(|| "unknown".to_string());
        let reason = field("reason").unwrap_or_else(|| {
            let text = String::from_utf8_lossy(body);
            let text = text.trim();
            if text.is_empty() {
                "(empty body)".to_string()
            } else {
                text.chars().take(300).collect()
            }
        });
        Self {
            status,
            kind,
            reason,
        }
    }

    /// The kind of store failure this response is.
    pub(super) fn store_kind(&self) -> StoreErrorKind {
        match self.status {
            // Refused credentials are reported like PostgreSQL's: the store cannot be used now.
            401 | 403 | 408 | 429 | 502 | 503 | 504 => StoreErrorKind::Unavailable,
            409 => StoreErrorKind::Conflict,
            404 if self.kind == "index_not_found_exception" => StoreErrorKind::Unavailable,
            400 if self.kind.contains("mapping") || self.kind == "illegal_argument_exception" => {
                // A document the index does not accept: the index was made by another
                // greenkube (or by hand), not by this one's templates.
                StoreErrorKind::Conflict
            }
            400 => StoreErrorKind::InvalidData,
            _ => StoreErrorKind::Other,
        }
    }
}

/// An error response while `doing` something (lower-case, no trailing period).
pub(super) fn convert_response_err(doing: &str, e: ResponseError) -> StoreError {
    let hint = match e.status {
        401 | 403 => " (check the user and password in the store URL)",
        404 if e.kind == "index_not_found_exception" => {
            " (the greenkube indices are missing: run `greenkube migrate --store URL`)"
        }
        _ => "",
    };
    StoreError::new(e.store_kind(), BACKEND, format!("{doing}: {e}{hint}")).with_source(e)
}

/// A transport failure (connection refused or lost, time-out, unreadable body, a request that
/// cannot be built) while `doing` something. The crate's error names at most the server's
/// URL, which never holds credentials (they go to the transport apart).
pub(super) fn convert_transport_err(
    doing: &str,
    location: &str,
    e: elasticsearch::Error,
) -> StoreError {
    let http = std::error::Error::source(&e).and_then(|s| s.downcast_ref::<reqwest::Error>());
    let (kind, what) = match http {
        _ if e.is_timeout() => (StoreErrorKind::Unavailable, "timed out"),
        Some(h) if h.is_builder() => (StoreErrorKind::InvalidData, "cannot build the request"),
        Some(h) if h.is_connect() => (StoreErrorKind::Unavailable, "cannot connect"),
        Some(h) if h.is_redirect() => (StoreErrorKind::Other, "too many redirects"),
        Some(_) => (StoreErrorKind::Unavailable, "connection failed"),
        None if e.is_json() => (StoreErrorKind::InvalidData, "cannot encode the request"),
        None => (StoreErrorKind::Other, "cannot build the request"),
    };
    StoreError::new(kind, BACKEND, format!("{doing}: {what} (`{location}`)")).with_source(e)
}

/// A stored document that cannot be read back.
pub(super) fn damaged(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::invalid_data(BACKEND, format!("{what} cannot be read back: {e}"))
}

/// A response that is not the JSON Elasticsearch sends.
pub(super) fn unexpected(doing: &str, what: impl std::fmt::Display) -> StoreError {
    StoreError::new(
        StoreErrorKind::Other,
        BACKEND,
        format!("{doing}: unexpected response: {what}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_error_bodies() {
        let e = ResponseError::parse(
            409,
            br#"{"error":{"type":"version_conflict_engine_exception","reason":"[ledger]: version conflict"},"status":409}"#,
        );
        assert_eq!(e.kind, "version_conflict_engine_exception");
        assert_eq!(e.store_kind(), StoreErrorKind::Conflict);
        let e = ResponseError::parse(
            404,
            br#"{"error":{"type":"index_not_found_exception","reason":"no such index [gk-footprints]"},"status":404}"#,
        );
        assert_eq!(e.store_kind(), StoreErrorKind::Unavailable);
        let err = convert_response_err("reading", e);
        assert!(err.to_string().contains("greenkube migrate"), "{err}");
        let e = ResponseError::parse(502, b"<html>Bad Gateway</html>");
        assert_eq!(e.kind, "unknown");
        assert_eq!(e.reason, "<html>Bad Gateway</html>");
        assert_eq!(e.store_kind(), StoreErrorKind::Unavailable);
        let e = ResponseError::parse(401, br#"{"error":"Unauthorized"}"#);
        assert_eq!(e.reason, "Unauthorized");
        assert_eq!(e.store_kind(), StoreErrorKind::Unavailable);
        let e = ResponseError::parse(
            400,
            br#"{"error":{"type":"strict_dynamic_mapping_exception","reason":"x"}}"#,
        );
        assert_eq!(e.store_kind(), StoreErrorKind::Conflict);
        let e = ResponseError::parse(
            400,
            br#"{"error":{"type":"parsing_exception","reason":"x"}}"#,
        );
        assert_eq!(e.store_kind(), StoreErrorKind::InvalidData);
        assert_eq!(ResponseError::parse(500, b"").reason, "(empty body)");
    }
}
