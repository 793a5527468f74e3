//! The front end at `/`: the embedded dashboard (`super::dashboard`), or another single-page
//! app's build from `--frontend DIR` (files as they are, `index.html` for any other path), with
//! the auth-proxy prefixes answered 404 and GreenKube's cache policy.

use std::path::{Component, Path, PathBuf};

use axum::extract::State;
use axum::http::{HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

use super::dashboard;
use super::error::ApiError;
use super::state::AppState;

/// Paths an authenticating proxy owns: never answered with the app.
const AUTH_PREFIXES: [&str; 6] = [
    "/outpost.goauthentik.io",
    "/.well-known/",
    "/oauth2/",
    "/oidc/",
    "/sso/",
    "/auth/",
];

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "woff" => "font/woff",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// The file under `root` a URL path names, refusing `..` and absolute parts.
fn resolve(root: &Path, path: &str) -> Option<PathBuf> {
    let relative = Path::new(path.trim_start_matches('/'));
    if relative
        .components()
        .any(|c| !matches!(c, Component::Normal(_)))
    {
        return None;
    }
    let file = root.join(relative);
    file.is_file().then_some(file)
}

fn file_response(file: &Path, immutable: bool) -> Response {
    match std::fs::read(file) {
        Ok(bytes) => {
            let mut response = bytes.into_response();
            let headers = response.headers_mut();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(content_type(file)),
            );
            let cache = if immutable {
                "public, max-age=31536000, immutable"
            } else if content_type(file).starts_with("text/html") {
                "no-store"
            } else {
                "no-cache"
            };
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
            response
        }
        Err(e) => ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("cannot read {}: {e}", file.display()),
        )
        .into_response(),
    }
}

/// Any path no route takes.
pub(crate) async fn serve(State(state): State<AppState>, method: Method, uri: Uri) -> Response {
    let path = uri.path();
    if path.starts_with("/api/") || AUTH_PREFIXES.iter().any(|p| path.starts_with(p)) {
        return ApiError::not_found("Not Found").into_response();
    }
    let Some(root) = state.config().frontend.as_deref() else {
        return dashboard::serve(&method, path);
    };
    let immutable = path.starts_with("/_app/") || path.starts_with("/static-frontend/");
    if let Some(file) = resolve(root, path) {
        return file_response(&file, immutable);
    }
    if immutable {
        return ApiError::not_found("Not Found").into_response();
    }
    match resolve(root, "index.html") {
        Some(index) => file_response(&index, false),
        None => {
            ApiError::not_found(format!("{} has no index.html", root.display())).into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_stay_inside_the_root() {
        let root = std::env::temp_dir();
        assert!(resolve(&root, "/../etc/passwd").is_none());
        assert!(resolve(&root, "/a/../../x").is_none());
        assert!(resolve(&root, "/nonexistent-greenkube-file").is_none());
    }
}
