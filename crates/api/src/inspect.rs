//! Synchronous ImageInspect (spec §3): `GET /<key>?ci-process=ImageInspect` or `?imageInspect`
//! fetches the object, runs the detector and answers JSON at once. Such a query wins over the
//! API's own paths, so every key is reachable (an object named `jobs` included).
use axum::extract::{FromRequestParts, Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use stowaway_wire::cos_sign::{query_pairs, url_decode};
use stowaway_wire::{SyncResult, WireError};

use crate::context::Target;
use crate::error::{ApiError, ApiResult};
use crate::AppState;

/// COS's longest object key, in bytes.
const MAX_KEY_BYTES: usize = 850;

/// Whether a raw query asks for object processing rather than a CI API: `ci-process=…` or
/// `imageInspect` (Python signs it lowercased and may send it so). Every request asks this, so
/// names are decoded only when they hold a `%`.
pub fn is_object_processing(raw_query: Option<&str>) -> bool {
    raw_query.unwrap_or("").split('&').any(|pair| {
        let name = pair.split_once('=').map_or(pair, |(k, _)| k);
        let is = |k: &str| k == "ci-process" || k.eq_ignore_ascii_case("imageInspect");
        if name.contains('%') {
            is(&url_decode(name))
        } else {
            is(name)
        }
    })
}

/// Answers object-processing requests here; passes everything else on to the CI routes.
pub async fn object_processing(State(app): State<AppState>, request: Request, next: Next) -> Response {
    if !is_object_processing(request.uri().query()) {
        return next.run(request).await;
    }
    let query = query_pairs(request.uri().query().unwrap_or(""));
    inspect(app, request, &query).await.into_response()
}

async fn inspect(app: AppState, request: Request, query: &[(String, String)]) -> ApiResult<Response> {
    if let Some((_, process)) = query.iter().find(|(k, _)| k == "ci-process") {
        if !process.eq_ignore_ascii_case("ImageInspect") {
            return Err(ApiError::invalid(format!(
                "ci-process={process} is not served here; Stowaway serves ci-process=ImageInspect"
            )));
        }
    }
    if request.method() != Method::GET && request.method() != Method::HEAD {
        return Err(ApiError::method_not_allowed(format!(
            "ImageInspect is a GET, not a {}",
            request.method()
        )));
    }
    let (mut parts, _) = request.into_parts();
    let target = Target::from_request_parts(&mut parts, &app).await?;
    let key = object_key(parts.uri.path())?;
    let Some(objects) = &app.objects else {
        return Err(ApiError::not_implemented(
            "this API process has no object store configured for synchronous inspection",
        ));
    };
    // Bounded: each inspection holds a whole object (in memory up to 8 MiB, else spooled).
    let _slot = app.sync_inspections.acquire().await.map_err(|_| ApiError::Internal("closed".into()))?;
    let object = objects.fetch(&target.bucket, &key).await.map_err(ApiError::Storage)?;
    let report = tokio::task::spawn_blocking(move || stowaway_detect::inspect(&object))
        .await
        .map_err(|e| ApiError::Internal(format!("the detector stopped: {e}")))?;
    let body = serde_json::to_string(&SyncResult::from(&report)).expect("plain data");
    Ok(([(CONTENT_TYPE, HeaderValue::from_static("application/json"))], body).into_response())
}

/// The object key a path names: percent-decoded (Go sends `/` inside keys as `%2F`), not empty,
/// at most 850 bytes, no control characters or dot segments.
pub(crate) fn object_key(path: &str) -> ApiResult<String> {
    let key = url_decode(path.strip_prefix('/').unwrap_or(path));
    if key.is_empty() {
        return Err(ApiError::invalid("no object key: GET /<ObjectKey>?ci-process=ImageInspect"));
    }
    if key.len() > MAX_KEY_BYTES {
        return Err(ApiError::bad_request(
            "KeyTooLong",
            format!("object keys are at most {MAX_KEY_BYTES} bytes"),
        ));
    }
    // The same rules as a job's Input/Object: no control characters, no `.`/`..` segments (a
    // path-style store that normalised them would read outside the bucket).
    stowaway_wire::validate_object_key(&key).map_err(|e| {
        ApiError::Client(WireError { message: e.message.replace("Input/Object", "the object key"), ..e })
    })?;
    Ok(key)
}
