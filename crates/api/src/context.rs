//! Per-request context: request ids on every response, `<Error>` bodies for every failure
//! (including axum's own 404/405/413 and extractor rejections), and the bucket a request is for.
use axum::extract::{FromRequestParts, Request};
use axum::http::header::{CONTENT_TYPE, HOST, SERVER};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;
use stowaway_wire::{ErrorBody, WireError};
use tracing::Instrument;

use crate::error::ApiError;
use crate::{ApiConfig, AppState};

pub const XML: &str = "application/xml";

/// An XML success body, with exactly `Content-Type: application/xml` (Python's SDK compares the
/// header for equality).
pub fn xml_response(body: String) -> Response {
    ([(CONTENT_TYPE, HeaderValue::from_static(XML))], body).into_response()
}

fn new_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// Marks a response whose body is already what the client should see (the console's HTML pages),
/// so an error status does not turn it into Tencent's `<Error>`.
#[derive(Clone, Copy, Debug)]
pub struct OwnBody;

/// The request's id, for handlers that answer it in a body.
#[derive(Clone, Debug)]
pub struct RequestId(pub String);

/// Wraps every request: assigns the request id and renders any failure as `<Error>`.
pub async fn request_context(mut request: Request, next: Next) -> Response {
    let request_id = new_id();
    request.extensions_mut().insert(RequestId(request_id.clone()));
    let resource = request.uri().path().to_string();
    let method = request.method().clone();
    let route = route_label(&request);
    let started = std::time::Instant::now();
    let span = tracing::info_span!("request", %request_id, %method, path = %resource);
    let mut response = next.run(request).instrument(span).await;
    let status = response.status();
    let wire = match response.extensions_mut().remove::<WireError>() {
        Some(w) => Some(w),
        None if (status.is_client_error() || status.is_server_error())
            && response.extensions().get::<OwnBody>().is_none() =>
        {
            let w = framework_error(status, &method, &resource, response).await;
            response = Response::default();
            Some(w)
        }
        None => None,
    };
    if let Some(wire) = wire {
        let trace_id = new_id();
        if wire.status >= 500 {
            tracing::error!(%request_id, %method, %resource, code = wire.code, "request failed");
        } else {
            tracing::debug!(%request_id, %method, %resource, code = wire.code, message = %wire.message, "client error");
        }
        let body = ErrorBody::new(&wire, &resource, &request_id, &trace_id).render();
        let status = StatusCode::from_u16(wire.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        response = (status, [(CONTENT_TYPE, HeaderValue::from_static(XML))], body).into_response();
        for name in ["x-ci-trace-id", "x-cos-trace-id"] {
            response.headers_mut().insert(name, HeaderValue::from_str(&trace_id).expect("hex"));
        }
    }
    let headers = response.headers_mut();
    let id = HeaderValue::from_str(&request_id).expect("hex");
    headers.insert("x-ci-request-id", id.clone());
    headers.insert("x-cos-request-id", id);
    headers.insert(SERVER, HeaderValue::from_static("stowaway"));
    let status = response.status().as_u16().to_string();
    // A fixed set: clients choose methods, and each new label value would be a new series.
    let method = match method.as_str() {
        "GET" => "GET",
        "POST" => "POST",
        "PUT" => "PUT",
        "DELETE" => "DELETE",
        "HEAD" => "HEAD",
        _ => "OTHER",
    };
    metrics::counter!("stowaway_http_requests_total", "route" => route, "method" => method, "status" => status)
        .increment(1);
    metrics::histogram!("stowaway_http_request_duration_seconds", "route" => route, "method" => method)
        .record(started.elapsed().as_secs_f64());
    response
}

/// The route a request took, as a bounded label: the matched template (`/jobs/{ids}`), the
/// synchronous inspection, or `unmatched` (never the raw path: keys would explode the series).
fn route_label(request: &Request) -> &'static str {
    if crate::inspect::is_object_processing(request.uri().query()) {
        return "/{key}?ci-process=ImageInspect";
    }
    let Some(matched) = request.extensions().get::<axum::extract::MatchedPath>() else {
        return "unmatched";
    };
    ROUTES.iter().find(|r| **r == matched.as_str()).copied().unwrap_or("other")
}

/// Every route template the router serves (labels must be `'static`).
const ROUTES: &[&str] = &[
    "/jobs",
    "/jobs/{ids}",
    "/jobs/{id}/callbacks",
    "/jobs/{id}/callbacks/{webhook_id}/resend",
    "/picqueue",
    "/picqueue/{id}",
    "/picbucket",
    "/healthz",
    "/readyz",
    "/metrics",
];

/// A failure axum produced itself (unknown route, wrong method, oversized or unreadable body).
async fn framework_error(
    status: StatusCode,
    method: &axum::http::Method,
    path: &str,
    response: Response,
) -> WireError {
    let (code, message) = match status {
        StatusCode::NOT_FOUND => ("NoSuchResource", format!("{method} {path} is not an API Stowaway serves")),
        StatusCode::METHOD_NOT_ALLOWED => ("MethodNotAllowed", format!("{method} is not allowed on {path}")),
        StatusCode::PAYLOAD_TOO_LARGE => ("EntityTooLarge", "the request body is too large".into()),
        _ => {
            let bytes = response.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
            let text = String::from_utf8_lossy(&bytes[..bytes.len().min(300)]).trim().to_string();
            let code = if status.is_server_error() { "InternalError" } else { "InvalidArgument" };
            (code, if text.is_empty() { status.to_string() } else { text })
        }
    };
    WireError::new(status.as_u16(), code, message)
}

/// The bucket a request addresses: from `Host` (`<bucket>.(ci|cos|pic).<region>.<domain>`, as the
/// SDKs send it), else the configured default bucket and region.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    pub bucket: String,
    pub region: String,
}

/// Parses `<bucket>.(ci|cos|pic).<region>.<anything>[:port]`.
pub fn bucket_from_host(host: &str) -> Option<Target> {
    let host =
        host.rsplit_once(':').filter(|(_, p)| p.bytes().all(|b| b.is_ascii_digit())).map_or(host, |h| h.0);
    let labels: Vec<&str> = host.split('.').collect();
    let i = (1..labels.len().saturating_sub(1)).find(|&i| matches!(labels[i], "ci" | "cos" | "pic"))?;
    let bucket = labels[..i].join(".");
    let region = labels[i + 1];
    let region_ok = !region.is_empty() && region.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    (valid_bucket(&bucket) && region_ok).then(|| Target { bucket, region: region.to_string() })
}

/// S3 bucket naming: 3–63 lowercase letters, digits, `-` and `.`, starting and ending alphanumeric.
pub fn valid_bucket(b: &str) -> bool {
    let edge = |c: Option<u8>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    (3..=63).contains(&b.len())
        && b.bytes().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-' || c == b'.')
        && edge(b.bytes().next())
        && edge(b.bytes().last())
}

impl FromRequestParts<AppState> for Target {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Target, ApiError> {
        Target::of(&parts.headers, &parts.uri, &state.config).ok_or_else(|| {
            ApiError::invalid(
                "no bucket: send Host <bucket>.ci.<region>.<domain>, or configure STOWAWAY_DEFAULT_BUCKET",
            )
        })
    }
}

impl Target {
    /// The one rule every layer uses (the signature check's bucket limits and the handlers must
    /// agree): the `Host` header, or the request target's authority when there is no readable
    /// `Host` (absolute-form requests), else the configured default.
    pub fn of(headers: &HeaderMap, uri: &Uri, config: &ApiConfig) -> Option<Target> {
        let host = headers.get(HOST).and_then(|h| h.to_str().ok()).or(uri.host());
        if let Some(t) = host.and_then(bucket_from_host) {
            return Some(t);
        }
        let bucket = config.default_bucket.clone()?;
        Some(Target { bucket, region: config.default_region.clone() })
    }
}

/// Query parameters as given; empty values count as "not given" (Python sends `nextToken=`).
pub fn query_value<'a>(query: &'a [(String, String)], name: &str) -> Option<&'a str> {
    query.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).filter(|v| !v.is_empty())
}
