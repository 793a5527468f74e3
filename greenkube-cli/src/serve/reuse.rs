//! Reads computed once and shared. A dashboard's visitors ask the same few questions (the
//! summary of the last day, the series of the last week, ...), and each answer sums the store:
//! a read of the API is answered from the store once, then from memory for
//! [`ServerConfig::summary_ttl`](super::ServerConfig) (a minute by default). Requests for the same
//! read that arrive while it is being computed wait for that one computation instead of
//! starting their own, so a hundred clients cost one query, not a hundred. A change made
//! through the API (apply, ignore, scan, refresh) forgets every reused answer.
//!
//! Reused: successful `GET`s of the read endpoints, keyed by path and query string, bodies up
//! to [`MAX_BODY`], at most [`MAX_ENTRIES`] at a time (beyond, a read is simply computed).
//! Never reused: the scan (`GET /recommendations`), `refresh=true`, the export stream, health,
//! version and configuration.

use std::sync::Arc;
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::sync::OnceCell;

use super::error::ApiError;
use super::state::AppState;

/// The largest answer kept (a page of `/metrics` can be larger: it is computed each time).
pub(crate) const MAX_BODY: usize = 1024 * 1024;

/// How many answers are kept at most.
pub(crate) const MAX_ENTRIES: usize = 512;

/// An answer kept: its headers and body.
#[derive(Debug, Clone)]
pub(crate) struct Stored {
    headers: HeaderMap,
    body: Bytes,
}

/// One key's answer: computed once (the cell), kept from `at`.
#[derive(Debug)]
pub(crate) struct Slot {
    pub(crate) at: Instant,
    pub(crate) cell: Arc<OnceCell<Stored>>,
}

/// Paths (under `/api/v1`) whose `GET` is never reused: they change the store, stream, or
/// report the live state of the process and its sources.
fn reusable(path: &str, query: &str) -> bool {
    let path = path.strip_prefix("/api/v1").unwrap_or(path);
    let never = path == "/recommendations"
        || path == "/report/export"
        || path == "/version"
        || path == "/config"
        || path.starts_with("/health")
        || path.starts_with("/config/");
    !never
        && !query
            .split('&')
            .any(|pair| pair.eq_ignore_ascii_case("refresh=true") || pair == "refresh=1")
}

/// The middleware: answers a reusable read from memory, or computes it once for everyone
/// asking.
pub(crate) async fn reads(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let uri = request.uri();
    let query = uri.query().unwrap_or("");
    if request.method() != Method::GET || !reusable(uri.path(), query) {
        return next.run(request).await;
    }
    let key = format!("{}?{query}", uri.path());
    let Some(cell) = state.read_slot(&key) else {
        return next.run(request).await;
    };
    // The answer this request computed itself when it is not kept (an error, a large body).
    let mut own: Option<Response> = None;
    let kept = cell
        .get_or_try_init(|| async {
            let response = next.run(request).await;
            if response.status() != StatusCode::OK {
                own = Some(response);
                return Err(());
            }
            let (parts, body) = response.into_parts();
            let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
                own = Some(
                    ApiError::new(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "the answer was cut short",
                    )
                    .into_response(),
                );
                return Err(());
            };
            if bytes.len() > MAX_BODY {
                own = Some(Response::from_parts(parts, Body::from(bytes)));
                return Err(());
            }
            Ok(Stored {
                headers: parts.headers,
                body: bytes,
            })
        })
        .await;
    match kept {
        Ok(stored) => {
            let mut response = Response::new(Body::from(stored.body.clone()));
            *response.headers_mut() = stored.headers.clone();
            response
        }
        Err(()) => own.unwrap_or_else(|| {
            ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "no answer").into_response()
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::reusable;

    #[test]
    fn reads_that_change_or_stream_are_never_reused() {
        assert!(reusable("/api/v1/metrics/summary", "last=7d"));
        assert!(reusable("/metrics/by-namespace", ""));
        assert!(reusable("/api/v1/recommendations/active", "namespace=shop"));
        for (path, query) in [
            ("/api/v1/recommendations", ""),
            ("/api/v1/report/export", "last=30d"),
            ("/api/v1/health/services", ""),
            ("/api/v1/config", ""),
            ("/api/v1/version", ""),
            ("/api/v1/recommendations/active", "refresh=true"),
            ("/api/v1/recommendations/top", "limit=5&refresh=TRUE"),
        ] {
            assert!(!reusable(path, query), "{path}?{query}");
        }
    }
}
