//! What every request passes through: the API key (constant-time), the trusted auth-proxy
//! header, read-only mode, rate limiting (429 with `Retry-After`), header size, and the
//! security headers and cache policy of GreenKube's server.

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};

use super::error::ApiError;
use super::state::AppState;

/// Largest total size of a request's headers.
pub(crate) const MAX_HEADER_BYTES: usize = 16 * 1024;

/// Paths under `/api/v1` that never need the API key (GreenKube's exemptions).
fn key_exempt(path: &str) -> bool {
    path.starts_with("/api/v1/health")
        || path.starts_with("/api/v1/docs")
        || path == "/api/v1/openapi.json"
}

/// Equal bytes, in time that depends only on the lengths.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut differ = u8::from(a.len() != b.len());
    for index in 0..a.len().max(b.len()) {
        let x = a.get(index).copied().unwrap_or(0);
        let y = b.get(index).copied().unwrap_or(0xff);
        differ |= x ^ y;
    }
    differ == 0
}

fn presented_key(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    Some(
        value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .unwrap_or(value)
            .trim(),
    )
}

/// A per-client limiter of requests per minute.
#[derive(Debug, Clone)]
pub(crate) struct RateLimit(Option<Arc<DefaultKeyedRateLimiter<IpAddr>>>);

impl RateLimit {
    pub(crate) fn per_minute(requests: u32) -> Self {
        Self(
            NonZeroU32::new(requests)
                .map(|n| Arc::new(governor::RateLimiter::keyed(Quota::per_minute(n)))),
        )
    }
}

/// Checks the headers' size, the rate limit, the API key and read-only mode, then adds the
/// security headers to the answer.
pub(crate) async fn guard(
    State((state, limit)): State<(AppState, RateLimit)>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path().to_string();
    let header_bytes: usize = request
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 4)
        .sum();
    if header_bytes > MAX_HEADER_BYTES {
        return with_headers(
            &path,
            ApiError::new(
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                format!("the request headers are larger than {MAX_HEADER_BYTES} bytes"),
            )
            .into_response(),
        );
    }
    let probe = matches!(path.as_str(), "/healthz" | "/readyz");
    if !probe
        && let Some(limiter) = &limit.0
        && let Err(not_until) = limiter.check_key(&peer.ip())
    {
        {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            let mut response = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                format!(
                    "too many requests: at most {} a minute per client; retry in {seconds} s",
                    state.config().rate_limit_per_minute
                ),
            )
            .into_response();
            response.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from_str(&seconds.max(1).to_string())
                    .unwrap_or(HeaderValue::from_static("1")),
            );
            return with_headers(&path, response);
        }
    }
    let api = path.starts_with("/api/v1/") || path == "/api/v1";
    if api && !key_exempt(&path) {
        if let Some(key) = state
            .config()
            .api_key
            .as_ref()
            .map(greenkube_adapters::secret::Secret::expose)
        {
            let proxied = state.config().trust_auth_proxy
                && request
                    .headers()
                    .get("x-forwarded-user")
                    .is_some_and(|user| !user.is_empty());
            let presented = presented_key(request.headers()).unwrap_or("");
            if !proxied && !constant_time_eq(presented.as_bytes(), key.as_bytes()) {
                return with_headers(
                    &path,
                    ApiError::new(StatusCode::UNAUTHORIZED, "Invalid or missing API key.")
                        .into_response(),
                );
            }
        }
        let mutation = !matches!(
            *request.method(),
            Method::GET | Method::HEAD | Method::OPTIONS
        );
        if mutation && state.config().read_only {
            return with_headers(
                &path,
                ApiError::new(
                    StatusCode::FORBIDDEN,
                    "the server is read-only (--read-only): changes are refused",
                )
                .into_response(),
            );
        }
    }
    with_headers(&path, next.run(request).await)
}

/// GreenKube's Content-Security-Policy for pages, without its font host (nothing is fetched
/// from elsewhere).
const CSP: &str = "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' \
                   'unsafe-inline'; img-src 'self' data:; font-src 'self'; connect-src 'self'; \
                   frame-ancestors 'none'; base-uri 'self'; form-action 'self'";

fn with_headers(path: &str, mut response: Response) -> Response {
    let headers = response.headers_mut();
    let mut set = |name: header::HeaderName, value: &'static str| {
        headers.insert(name, HeaderValue::from_static(value));
    };
    set(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(header::REFERRER_POLICY, "strict-origin-when-cross-origin");
    let api = path.starts_with("/api/") || path.starts_with("/prometheus") || path == "/metrics";
    let probe = matches!(path, "/healthz" | "/readyz");
    if api || probe {
        if !headers.contains_key(header::CACHE_CONTROL) {
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        }
        if !path.starts_with("/api/v1/docs") {
            return response;
        }
    }
    let headers = response.headers_mut();
    let mut set = |name: &'static str, value: &'static str| {
        headers.insert(name, HeaderValue::from_static(value));
    };
    set("x-frame-options", "DENY");
    set("x-xss-protection", "1; mode=block");
    set(
        "permissions-policy",
        "camera=(), microphone=(), geolocation=(), payment=()",
    );
    set("x-robots-tag", "noindex, nofollow");
    set("content-security-policy", CSP);
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_compare_whole() {
        assert!(constant_time_eq(b"s3cret", b"s3cret"));
        assert!(!constant_time_eq(b"s3cret", b"s3cre"));
        assert!(!constant_time_eq(b"s3cre", b"s3cret"));
        assert!(!constant_time_eq(b"", b"x"));
        assert!(!constant_time_eq(b"s3cret", b"S3cret"));
    }

    #[test]
    fn exemptions_are_greenkubes() {
        assert!(key_exempt("/api/v1/health"));
        assert!(key_exempt("/api/v1/health/services"));
        assert!(key_exempt("/api/v1/openapi.json"));
        assert!(!key_exempt("/api/v1/metrics/summary"));
        assert!(!key_exempt("/api/v1/config"));
    }

    #[test]
    fn bearer_or_bare_key() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer abc"),
        );
        assert_eq!(presented_key(&headers), Some("abc"));
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("abc"));
        assert_eq!(presented_key(&headers), Some("abc"));
    }
}
