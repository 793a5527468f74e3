//! The OpenAPI document of the API, generated from the handlers (utoipa), and a docs page
//! rendered from it on the server (no script, nothing fetched from elsewhere).

use std::fmt::Write as _;

use axum::Json;
use axum::response::Html;
use utoipa::OpenApi;
use utoipa::openapi::path::{Operation, Parameter};

use super::api::{health, metrics, recommendations, report, score};

/// The API's OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "greenkube API",
        description = "Energy, CO2e (operational and embodied) and cost of Kubernetes workloads. \
                       A drop-in for GreenKube 0.2.12's API: same paths, parameters and field \
                       names; every figure also carries its interval (`uncertainty`). Errors \
                       are `{\"detail\": \"...\"}`."
    ),
    paths(
        health::health, health::version, health::config, health::services, health::service,
        health::set_services,
        metrics::list, metrics::summary, metrics::timeseries, metrics::by_namespace,
        metrics::top_pods, metrics::dashboard_summary, metrics::refresh_dashboard_summary,
        metrics::dashboard_timeseries, metrics::namespaces, metrics::nodes, score::score,
        recommendations::scan, recommendations::active, recommendations::top,
        recommendations::ignored, recommendations::applied, recommendations::history,
        recommendations::savings, recommendations::apply, recommendations::ignore,
        recommendations::unignore,
        report::summary, report::years, report::export,
    ),
    tags(
        (name = "health", description = "Health, version and configuration"),
        (name = "metrics", description = "Footprints: totals, series, namespaces, pods, nodes"),
        (name = "recommendations", description = "Recommendations and their lifecycle"),
        (name = "report", description = "Reports and exports"),
    )
)]
pub(crate) struct ApiDoc;

/// `GET /api/v1/openapi.json`.
pub(crate) async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn parameter_row(out: &mut String, parameter: &Parameter) {
    let kind = match parameter.parameter_in {
        utoipa::openapi::path::ParameterIn::Path => "path",
        utoipa::openapi::path::ParameterIn::Query => "query",
        utoipa::openapi::path::ParameterIn::Header => "header",
        utoipa::openapi::path::ParameterIn::Cookie => "cookie",
    };
    let _ = write!(
        out,
        "<tr><td><code>{}</code></td><td>{kind}</td><td>{}</td></tr>",
        escape(&parameter.name),
        escape(parameter.description.as_deref().unwrap_or(""))
    );
}

fn operation_html(out: &mut String, method: &str, path: &str, operation: &Operation) {
    let summary = operation
        .description
        .as_deref()
        .or(operation.summary.as_deref())
        .unwrap_or("");
    let _ = write!(
        out,
        "<section><h3><span class=\"m {m}\">{M}</span> <code>{p}</code></h3><p>{s}</p>",
        m = method,
        M = method.to_ascii_uppercase(),
        p = escape(path),
        s = escape(summary)
    );
    if let Some(parameters) = operation.parameters.as_ref().filter(|p| !p.is_empty()) {
        out.push_str("<table><tr><th>parameter</th><th>in</th><th>meaning</th></tr>");
        for parameter in parameters {
            parameter_row(out, parameter);
        }
        out.push_str("</table>");
    }
    let statuses: Vec<&str> = operation
        .responses
        .responses
        .keys()
        .map(String::as_str)
        .collect();
    let _ = write!(
        out,
        "<p class=\"r\">answers: {}</p></section>",
        statuses.join(", ")
    );
}

/// `GET /api/v1/docs`: the endpoints, their parameters and answers, from the document.
pub(crate) async fn page() -> Html<String> {
    let doc = ApiDoc::openapi();
    let mut out = String::with_capacity(64 * 1024);
    out.push_str(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>greenkube API</title>\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><style>\
         body{font-family:system-ui,sans-serif;max-width:960px;margin:2rem auto;padding:0 1rem;color:#1b2b24}\
         code{background:#eef4f0;padding:0 .25rem;border-radius:3px}section{border-top:1px solid #d5e2da;padding:.5rem 0}\
         h3{font-size:1rem;margin:.5rem 0}.m{display:inline-block;min-width:4.5rem;font-size:.8rem;color:#fff;\
         border-radius:3px;padding:.1rem .3rem;text-align:center}.get{background:#2f7d57}.post{background:#2d6aa3}\
         .patch{background:#a36a2d}.delete{background:#a32d3a}table{border-collapse:collapse;font-size:.9rem}\
         td,th{border:1px solid #d5e2da;padding:.2rem .5rem;text-align:left}.r{color:#55665d;font-size:.85rem}\
         </style></head><body>",
    );
    let _ = write!(
        out,
        "<h1>{}</h1><p>{}</p><p>Machine-readable: <a href=\"/api/v1/openapi.json\">/api/v1/openapi.json</a> \
         (OpenAPI 3.1).</p>",
        escape(&doc.info.title),
        escape(doc.info.description.as_deref().unwrap_or(""))
    );
    for (path, item) in &doc.paths.paths {
        for (method, operation) in [
            ("get", &item.get),
            ("post", &item.post),
            ("patch", &item.patch),
            ("delete", &item.delete),
        ] {
            if let Some(operation) = operation {
                operation_html(&mut out, method, path, operation);
            }
        }
    }
    out.push_str("</body></html>");
    Html(out)
}
