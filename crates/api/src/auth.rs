//! Who may call what. Every request carries a COS signature (`Authorization` header or presigned
//! query, spec §6) made with one of the configured keys; each key may be limited to buckets and
//! to actions, named as Tencent's CAM names them (`ci:CreateMediaJobs`, ...).
use std::collections::HashMap;

use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
use axum::http::{HeaderMap, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use stowaway_wire::cos_sign::{query_pairs, url_decode, AuthError, Authorization, SignedParts};
use stowaway_wire::WireError;

use crate::context::{valid_bucket, Target};
use crate::error::ApiError;
use crate::events::EVENTS_PATH;
use crate::inspect::is_object_processing;
use crate::ops::OPS_PATHS;
use crate::{ApiConfig, AppState};

/// One key: a SecretId/SecretKey pair and what it may do. `*` in `buckets` or `actions` means
/// any; `ci:*` any CI action.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccessKey {
    pub secret_id: String,
    pub secret_key: String,
    #[serde(default = "any")]
    pub buckets: Vec<String>,
    #[serde(default = "any")]
    pub actions: Vec<String>,
}

fn any() -> Vec<String> {
    vec!["*".to_string()]
}

impl std::fmt::Debug for AccessKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessKey")
            .field("secret_id", &self.secret_id)
            .field("secret_key", &"<redacted>")
            .field("buckets", &self.buckets)
            .field("actions", &self.actions)
            .finish()
    }
}

impl AccessKey {
    /// A key that may do everything (`STOWAWAY_SECRET_ID` / `STOWAWAY_SECRET_KEY`).
    pub fn root(secret_id: &str, secret_key: &str) -> AccessKey {
        AccessKey {
            secret_id: secret_id.into(),
            secret_key: secret_key.into(),
            buckets: any(),
            actions: any(),
        }
    }

    /// Whether this key may perform `action` on `bucket` (`None`: a call about no one bucket,
    /// such as listing activated buckets, which needs a key for every bucket).
    pub fn allows(&self, action: &str, bucket: Option<&str>) -> bool {
        let action_ok = self
            .actions
            .iter()
            .any(|a| a == "*" || a == "ci:*" || current_name(a).eq_ignore_ascii_case(action));
        let bucket_ok = self.buckets.iter().any(|b| b == "*" || Some(b.as_str()) == bucket);
        action_ok && bucket_ok
    }
}

/// The configured keys, by SecretId.
#[derive(Clone, Debug)]
pub struct KeyRing {
    keys: HashMap<String, AccessKey>,
    /// How far a signature's window may be off the server's clock (seconds).
    pub clock_skew_secs: i64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KeysFile {
    keys: Vec<AccessKey>,
}

impl KeyRing {
    pub const DEFAULT_CLOCK_SKEW_SECS: i64 = 900;

    /// Refuses empty ids or secrets and the same SecretId twice.
    pub fn new(keys: Vec<AccessKey>) -> Result<KeyRing, String> {
        let mut by_id = HashMap::new();
        for key in keys {
            if key.secret_id.trim().is_empty() || key.secret_key.is_empty() {
                return Err("a key needs a non-empty secret_id and secret_key".into());
            }
            if key.buckets.is_empty() || key.actions.is_empty() {
                return Err(format!(
                    "key {} names no buckets or no actions (use [\"*\"] for all)",
                    key.secret_id
                ));
            }
            if let Some(b) = key.buckets.iter().find(|b| *b != "*" && !valid_bucket(b)) {
                return Err(format!("key {}: {b:?} is not a bucket name", key.secret_id));
            }
            let id = key.secret_id.clone();
            if by_id.insert(id.clone(), key).is_some() {
                return Err(format!("SecretId {id} is configured twice"));
            }
        }
        Ok(KeyRing { keys: by_id, clock_skew_secs: KeyRing::DEFAULT_CLOCK_SKEW_SECS })
    }

    /// Reads a keys file: `{"keys": [{"secret_id", "secret_key", "buckets": [...], "actions": [...]}]}`.
    pub fn parse_file(text: &str) -> Result<Vec<AccessKey>, String> {
        serde_json::from_str::<KeysFile>(text).map(|f| f.keys).map_err(|e| e.to_string())
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The key that signed `request`, checked against what the request does.
    fn authenticate(&self, request: &Request, config: &ApiConfig, now: i64) -> Result<(), WireError> {
        let query = query_pairs(request.uri().query().unwrap_or(""));
        let auth = match request.headers().get(AUTHORIZATION) {
            Some(v) => Authorization::from_header(&String::from_utf8_lossy(v.as_bytes())),
            None => Authorization::from_query(&query).unwrap_or(Err(AuthError::Missing)),
        }
        .map_err(|e| e.to_wire())?;
        let key = self.keys.get(&auth.secret_id).ok_or_else(|| AuthError::UnknownKey.to_wire())?;
        auth.check_time(now, self.clock_skew_secs).map_err(|e| e.to_wire())?;
        let headers = header_pairs(request.headers());
        let parts = SignedParts {
            method: request.method().as_str(),
            path: request.uri().path(),
            query: &query,
            headers: &headers,
        };
        auth.verify(&parts, &key.secret_key).map_err(|e| e.to_wire())?;

        let action = action_of(request.method(), request.uri().path(), request.uri().query());
        let bucket = if action == LIST_BUCKETS {
            None
        } else {
            Target::of(request.headers(), request.uri(), config).map(|t| t.bucket)
        };
        if !key.allows(action, bucket.as_deref()) {
            let message = match bucket {
                Some(b) => format!("key {} may not perform {action} on bucket {b}", key.secret_id),
                None => format!("key {} may not perform {action} (it needs every bucket)", key.secret_id),
            };
            return Err(WireError::forbidden("AccessDenied", message));
        }
        Ok(())
    }
}

fn header_pairs(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(k, v)| (k.as_str().to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
        .collect()
}

const LIST_BUCKETS: &str = "ci:DescribePicProcessBucket";

/// Action names Stowaway used before it followed Tencent's CAM list, still honoured in keys files.
const FORMER_NAMES: &[(&str, &str)] = &[
    ("ci:DescribeMediaQueues", "ci:DescribePicProcessQueues"),
    ("ci:UpdateMediaQueue", "ci:UpdatePicProcessQueue"),
    ("ci:DescribePicProcessBuckets", LIST_BUCKETS),
];

fn current_name(action: &str) -> &str {
    FORMER_NAMES.iter().find(|(old, _)| old.eq_ignore_ascii_case(action)).map_or(action, |(_, now)| now)
}

/// The CAM action a request performs (README "Authentication" lists them).
pub fn action_of(method: &Method, path: &str, raw_query: Option<&str>) -> &'static str {
    if is_object_processing(raw_query) {
        return "ci:CreateImageInspectJob";
    }
    let path = url_decode(path);
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    match (method.as_str(), segments.as_slice()) {
        ("POST", ["jobs"]) => "ci:CreateMediaJobs",
        ("GET", ["jobs"]) => "ci:DescribeMediaJobs",
        ("GET", ["jobs", _]) => "ci:DescribeMediaJob",
        ("PUT" | "POST", ["jobs", _]) => "ci:CancelMediaJob",
        ("GET", ["jobs", _, "callbacks"]) => "ci:DescribeMediaJob",
        ("POST", ["jobs", _, "callbacks", _, "resend"]) => "ci:CreateMediaJobs",
        ("GET", ["picqueue"]) => "ci:DescribePicProcessQueues",
        ("PUT" | "POST", ["picqueue", _]) => "ci:UpdatePicProcessQueue",
        ("GET", ["picbucket"]) => LIST_BUCKETS,
        ("POST", ["picbucket"]) => "ci:CreatePicProcessBucket",
        ("DELETE", ["picbucket"]) => "ci:DeletePicProcessBucket",
        ("POST", ["workflow"]) => "ci:CreateMediaWorkflow",
        ("PUT", ["workflow", _]) => "ci:UpdateMediaWorkflow",
        ("GET", ["workflow"]) => "ci:DescribeMediaWorkflows",
        ("DELETE", ["workflow", _]) => "ci:DeleteMediaWorkflow",
        ("POST", ["triggerworkflow"]) => "ci:TriggerMediaWorkflow",
        ("GET", ["workflowexecution"]) => "ci:DescribeWorkflowExecutions",
        ("GET", ["workflowexecution", _]) => "ci:DescribeWorkflowExecution",
        ("POST", ["inventorytriggerjob"]) => "ci:CreateInventoryTriggerJob",
        ("GET", ["inventorytriggerjob"]) => "ci:DescribeInventoryTriggerJobs",
        ("GET", ["inventorytriggerjob", _]) => "ci:DescribeInventoryTriggerJob",
        ("PUT", ["inventorytriggerjob", _]) => "ci:CancelInventoryTriggerJob",
        _ => "ci:Unknown",
    }
}

/// Checks every request's signature when keys are configured; lets everything through when
/// authentication is off (loopback without keys, or `STOWAWAY_AUTH=off`).
pub async fn authenticate(State(app): State<AppState>, request: Request, next: Next) -> Response {
    let Some(keys) = &app.config.keys else {
        return next.run(request).await;
    };
    if OPS_PATHS.contains(&request.uri().path()) && request.uri().query().is_none() {
        return next.run(request).await;
    }
    if request.uri().path() == EVENTS_PATH {
        return next.run(request).await; // a bearer token, checked by the route
    }
    let now = chrono::Utc::now().timestamp();
    match keys.authenticate(&request, &app.config, now) {
        Ok(()) => next.run(request).await,
        Err(e) => {
            tracing::debug!(code = e.code, message = %e.message, "request refused");
            ApiError::Client(e).into_response()
        }
    }
}
