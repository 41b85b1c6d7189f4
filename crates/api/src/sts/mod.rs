//! Temporary keys (STS): `POST /federationtoken` issues one as Tencent's GetFederationToken does,
//! for the browser and mobile uploads that Tencent's SDKs sign with a SecretId, SecretKey and
//! `x-cos-security-token`; `stowaway token` issues one offline. The request check lives in
//! `auth.rs`; this module says what a token holds and allows.
mod policy;
mod token;

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Extension, Router};
use serde::Deserialize;

pub use policy::{Policy, Scope};
pub use token::{issue, open, Credentials, TokenError, DEFAULT_DURATION_SECS};
pub(crate) use token::{seal, sealed};

use crate::context::RequestId;
use crate::error::{ApiError, ApiResult};
use crate::AppState;

pub const FEDERATION_TOKEN_PATH: &str = "/federationtoken";

/// Who signed a request, for the routes that need to know (set by the signature check).
#[derive(Clone, Debug)]
pub struct Caller {
    pub secret_id: String,
    /// The temporary key's policy, when the request carried a token.
    pub grant: Option<Arc<Policy>>,
}

impl Caller {
    /// Refuses `action` on `bucket`/`key` when a temporary key's policy does not cover that object
    /// (the check `auth.rs` could not make before the body was read).
    pub fn check_object(&self, action: &str, bucket: &str, key: &str) -> ApiResult<()> {
        match &self.grant {
            Some(policy) if !policy.permits(action, Scope::Object(bucket, key)) => Err(ApiError::forbidden(
                "AccessDenied",
                format!("temporary key {} may not perform {action} on {bucket}/{key}", self.secret_id),
            )),
            _ => Ok(()),
        }
    }
}

pub fn router() -> Router<AppState> {
    Router::new().route(FEDERATION_TOKEN_PATH, post(federation_token))
}

/// GetFederationToken's parameters (Tencent API 3.0 names).
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
struct TokenRequest {
    #[serde(default)]
    name: Option<String>,
    /// A CAM policy, as JSON text (URL-encoded, as Tencent takes it, or not) or as an object.
    #[serde(default)]
    policy: Option<serde_json::Value>,
    #[serde(default)]
    duration_seconds: Option<i64>,
}

/// `POST /federationtoken`: a temporary key under the caller's own, answered in
/// GetFederationToken's shape so that code written for Tencent's STS reads it unchanged.
async fn federation_token(
    State(app): State<AppState>,
    caller: Option<Extension<Caller>>,
    Extension(request_id): Extension<RequestId>,
    body: Bytes,
) -> ApiResult<Response> {
    let (Some(keys), Some(Extension(caller))) = (&app.config.keys, caller) else {
        return Err(ApiError::not_implemented(
            "temporary keys need authentication on: configure STOWAWAY_SECRET_ID/STOWAWAY_SECRET_KEY or a keys file",
        ));
    };
    if caller.grant.is_some() {
        return Err(ApiError::forbidden("AccessDenied", "a temporary key cannot issue temporary keys"));
    }
    let req: TokenRequest = serde_json::from_slice(&body)
        .map_err(|e| ApiError::invalid(format!("the body is not GetFederationToken's JSON: {e}")))?;
    let policy = match req.policy {
        None => Policy::everything(),
        Some(serde_json::Value::String(text)) => {
            let text = if text.trim_start().starts_with('%') {
                stowaway_wire::cos_sign::url_decode(&text)
            } else {
                text
            };
            Policy::from_cam(&text).map_err(ApiError::invalid)?
        }
        Some(object) => Policy::from_cam(&object.to_string()).map_err(ApiError::invalid)?,
    };
    let secret = keys
        .secret_of(&caller.secret_id)
        .ok_or_else(|| ApiError::Internal("the caller's key vanished".into()))?;
    let now = chrono::Utc::now().timestamp();
    let name = req.name.unwrap_or_default();
    let duration = req.duration_seconds.unwrap_or(DEFAULT_DURATION_SECS);
    let credentials =
        issue(&caller.secret_id, secret, &name, policy, now, duration).map_err(ApiError::invalid)?;
    tracing::info!(parent = %caller.secret_id, secret_id = %credentials.tmp_secret_id, %name, expires = credentials.claims.expires, "temporary key issued");
    let body = serde_json::json!({ "Response": answer(&credentials, &request_id.0) });
    Ok(([(CONTENT_TYPE, "application/json")], body.to_string()).into_response())
}

/// GetFederationToken's `Response` object (also what `stowaway token` prints).
pub fn answer(c: &Credentials, request_id: &str) -> serde_json::Value {
    let expiration = chrono::DateTime::from_timestamp(c.claims.expires, 0)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default();
    serde_json::json!({
        "Credentials": {
            "Token": c.token,
            "TmpSecretId": c.tmp_secret_id,
            "TmpSecretKey": c.tmp_secret_key,
        },
        "ExpiredTime": c.claims.expires,
        "Expiration": expiration,
        "RequestId": request_id,
    })
}
