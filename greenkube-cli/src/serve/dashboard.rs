//! The web dashboard at `/`, embedded in the binary at build time (`build.rs` builds
//! `greenkube-cli/dashboard/` and lists its files): Vite's hashed files under `/assets/` are
//! cached for a year, everything else is revalidated, and any other path that is not the API's
//! gets `index.html` (the dashboard routes in the browser).

use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

use super::error::ApiError;

/// A file of the dashboard's build.
#[derive(Debug)]
pub(crate) struct Asset {
    /// URL path, from `/`.
    pub(crate) path: &'static str,
    /// `Content-Type`.
    pub(crate) content_type: &'static str,
    /// The file.
    pub(crate) bytes: &'static [u8],
}

mod built {
    //! The list `build.rs` wrote.
    use super::Asset;

    include!(concat!(env!("OUT_DIR"), "/dashboard_files.rs"));
}

/// Hashed file names: never change, cached for a year.
const IMMUTABLE_PREFIX: &str = "/assets/";

/// The page `/` shows when the binary was built with `GREENKUBE_DASHBOARD=skip`.
const WITHOUT_DASHBOARD: &str = "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
<title>greenkube</title></head><body style=\"font-family:system-ui,sans-serif;max-width:40rem;\
margin:3rem auto;line-height:1.5\"><h1>greenkube</h1><p>This greenkube was built without its web \
dashboard (<code>GREENKUBE_DASHBOARD=skip</code>). The API is served as usual: see \
<a href=\"/api/v1/docs\">/api/v1/docs</a>. To get the dashboard, build greenkube with Node.js \
and npm installed, or serve another front end with <code>--frontend DIR</code>.</p></body></html>";

/// The embedded file at `path`.
fn find(path: &str) -> Option<&'static Asset> {
    built::FILES
        .binary_search_by(|asset| asset.path.cmp(path))
        .ok()
        .map(|index| &built::FILES[index])
}

fn respond(asset: &'static Asset) -> Response {
    let cache = if asset.path.starts_with(IMMUTABLE_PREFIX) {
        "public, max-age=31536000, immutable"
    } else if asset.content_type.starts_with("text/html") {
        "no-store"
    } else {
        "no-cache"
    };
    // For HEAD, the server sends the headers only.
    let mut response = asset.bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(asset.content_type),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    response
}

/// The answer to `method path` (a path no API route takes): the file, else `index.html`.
pub(crate) fn serve(method: &Method, path: &str) -> Response {
    if method != Method::GET && method != Method::HEAD {
        let mut response = ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "the dashboard's pages are read with GET",
        )
        .into_response();
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return response;
    }
    if !built::BUILT {
        let mut response = Html(WITHOUT_DASHBOARD).into_response();
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        return response;
    }
    if let Some(asset) = find(path).filter(|_| path != "/index.html") {
        return respond(asset);
    }
    if path.starts_with(IMMUTABLE_PREFIX) {
        // An old hashed file after an upgrade: the page must reload, not get index.html.
        return ApiError::not_found("Not Found").into_response();
    }
    match find("/index.html") {
        Some(index) => respond(index),
        None => ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the embedded dashboard has no index.html",
        )
        .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header_of(response: &Response, name: header::HeaderName) -> &str {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    #[test]
    fn files_are_sorted_for_the_search() {
        assert!(built::FILES.windows(2).all(|w| w[0].path < w[1].path));
    }

    #[test]
    fn pages_get_the_index_and_are_not_cached() {
        for path in [
            "/",
            "/recommendations",
            "/namespaces/payments",
            "/index.html",
        ] {
            let response = serve(&Method::GET, path);
            assert_eq!(response.status(), StatusCode::OK, "{path}");
            assert!(header_of(&response, header::CONTENT_TYPE).starts_with("text/html"));
            assert_eq!(header_of(&response, header::CACHE_CONTROL), "no-store");
        }
    }

    #[test]
    fn hashed_files_are_immutable_and_missing_ones_404() {
        if !built::BUILT {
            return;
        }
        let asset = built::FILES
            .iter()
            .find(|a| {
                a.path.starts_with(IMMUTABLE_PREFIX)
                    && a.content_type.starts_with("text/javascript")
            })
            .expect("a script under /assets/");
        let response = serve(&Method::GET, asset.path);
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            header_of(&response, header::CACHE_CONTROL),
            "public, max-age=31536000, immutable"
        );
        assert!(header_of(&response, header::CONTENT_TYPE).starts_with("text/javascript"));
        let gone = serve(&Method::GET, "/assets/index-gone.js");
        assert_eq!(gone.status(), StatusCode::NOT_FOUND);
    }

    #[test]
    fn only_reads() {
        let response = serve(&Method::POST, "/");
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(serve(&Method::HEAD, "/").status(), StatusCode::OK);
    }
}
