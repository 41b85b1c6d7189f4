//! Who may call what. Every request carries a COS signature (`Authorization` header or presigned
//! query, spec §6) made with one of the configured keys; each key may be limited to buckets and
//! to actions, named as Tencent's CAM names them (`ci:CreateMediaJobs`, ...); a temporary key
//! (`x-cos-security-token`, `sts`) may do what both its policy and its issuing key allow.
use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
use axum::http::{HeaderMap, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use stowaway_wire::cos_sign::{query_pairs, url_decode, AuthError, Authorization, SignedParts};
use stowaway_wire::WireError;

use crate::console::CONSOLE_PREFIX;
use crate::context::{valid_bucket, Target};
use crate::error::ApiError;
use crate::events::EVENTS_PATH;
use crate::inspect::{is_object_processing, object_key};
use crate::ops::OPS_PATHS;
use crate::sts::{self, Caller, Scope};
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
        let action_ok = self.actions.iter().any(|a| action_matches(a, action));
        let bucket_ok = self.buckets.iter().any(|b| b == "*" || Some(b.as_str()) == bucket);
        action_ok && bucket_ok
    }
}

/// Whether an action named in a keys file or a policy (`*`, `ci:*`, a CAM name, a former one)
/// covers `action`.
pub(crate) fn action_matches(pattern: &str, action: &str) -> bool {
    pattern == "*"
        || (pattern.eq_ignore_ascii_case("ci:*") && action.starts_with("ci:"))
        || current_name(pattern).eq_ignore_ascii_case(action)
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

    /// A configured key.
    pub(crate) fn key(&self, secret_id: &str) -> Option<&AccessKey> {
        self.keys.get(secret_id)
    }

    /// The SecretKey of a configured key.
    pub(crate) fn secret_of(&self, secret_id: &str) -> Option<&str> {
        self.keys.get(secret_id).map(|k| k.secret_key.as_str())
    }

    /// The key that signed `request` (a configured one, or a temporary one under it), checked
    /// against what the request does.
    fn authenticate(&self, request: &Request, config: &ApiConfig, now: i64) -> Result<Caller, WireError> {
        let query = query_pairs(request.uri().query().unwrap_or(""));
        let auth = match request.headers().get(AUTHORIZATION) {
            Some(v) => Authorization::from_header(&String::from_utf8_lossy(v.as_bytes())),
            None => Authorization::from_query(&query).unwrap_or(Err(AuthError::Missing)),
        }
        .map_err(|e| e.to_wire())?;
        let (key, secret, grant) = match security_token(request.headers(), &query) {
            None => {
                let key = self.keys.get(&auth.secret_id).ok_or_else(|| AuthError::UnknownKey.to_wire())?;
                (key, key.secret_key.clone(), None)
            }
            Some(token) => {
                let (claims, secret) =
                    sts::open(&token, |id| self.secret_of(id), now).map_err(token_error)?;
                if claims.secret_id != auth.secret_id {
                    let message = "the security token belongs to another SecretId (q-ak)";
                    return Err(WireError::forbidden("InvalidAccessKeyId", message));
                }
                (&self.keys[&claims.parent], secret, Some(Arc::new(claims.policy)))
            }
        };
        auth.check_time(now, self.clock_skew_secs).map_err(|e| e.to_wire())?;
        let headers = header_pairs(request.headers());
        let parts = SignedParts {
            method: request.method().as_str(),
            path: request.uri().path(),
            query: &query,
            headers: &headers,
        };
        auth.verify(&parts, &secret).map_err(|e| e.to_wire())?;

        let action = action_of(request.method(), request.uri().path(), request.uri().query());
        let bucket = match action {
            LIST_BUCKETS | GET_FEDERATION_TOKEN => None,
            _ => Target::of(request.headers(), request.uri(), config).map(|t| t.bucket),
        };
        // Issuing is about no bucket: a temporary key never exceeds its parent, checked here on use.
        let parent_ok = match action {
            GET_FEDERATION_TOKEN => key.actions.iter().any(|a| action_matches(a, action)),
            _ => key.allows(action, bucket.as_deref()),
        };
        // The key exactly as the inspection will read it (an unreadable one is refused there).
        let object = object_key(request.uri().path()).unwrap_or_default();
        let scope = match (&bucket, action) {
            (None, _) => Scope::Everything,
            (Some(b), "ci:CreateImageInspectJob") => Scope::Object(b, &object),
            (Some(b), "ci:CreateMediaJobs") if request.uri().path().trim_matches('/') == "jobs" => {
                Scope::SomeObject(b)
            }
            (Some(b), _) => Scope::Bucket(b),
        };
        let grant_ok =
            grant.as_ref().is_none_or(|p| action != GET_FEDERATION_TOKEN && p.permits(action, scope));
        if !(parent_ok && grant_ok) {
            let who = match grant {
                Some(_) => format!("temporary key {} (under {})", auth.secret_id, key.secret_id),
                None => format!("key {}", key.secret_id),
            };
            let message = match scope {
                Scope::Object(b, k) => format!("{who} may not perform {action} on {b}/{k}"),
                Scope::Bucket(b) | Scope::SomeObject(b) => {
                    format!("{who} may not perform {action} on bucket {b}")
                }
                Scope::Everything if action == GET_FEDERATION_TOKEN => {
                    format!("{who} may not perform {action}")
                }
                Scope::Everything => format!("{who} may not perform {action} (it needs every bucket)"),
            };
            return Err(WireError::forbidden("AccessDenied", message));
        }
        Ok(Caller { secret_id: auth.secret_id, grant })
    }
}

/// `x-cos-security-token` or `x-ci-security-token`, as a header or (presigned URLs) a parameter.
fn security_token(headers: &HeaderMap, query: &[(String, String)]) -> Option<String> {
    const NAMES: [&str; 2] = ["x-cos-security-token", "x-ci-security-token"];
    let header = NAMES
        .iter()
        .find_map(|n| headers.get(*n))
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    header.or_else(|| {
        query.iter().find(|(k, _)| NAMES.contains(&k.to_ascii_lowercase().as_str())).map(|(_, v)| v.clone())
    })
}

/// A refused token, in the codes S3 and COS give temporary credentials.
fn token_error(e: sts::TokenError) -> WireError {
    match e {
        sts::TokenError::Expired => WireError::bad_request("ExpiredToken", "the provided token has expired"),
        sts::TokenError::Invalid(why) => WireError::bad_request(
            "InvalidToken",
            format!("the provided token is malformed or otherwise invalid: {why}"),
        ),
        sts::TokenError::UnknownIssuer => WireError::forbidden(
            "InvalidAccessKeyId",
            "the key that issued this token is not configured here",
        ),
    }
}

fn header_pairs(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(k, v)| (k.as_str().to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
        .collect()
}

const LIST_BUCKETS: &str = "ci:DescribePicProcessBucket";
const GET_FEDERATION_TOKEN: &str = "sts:GetFederationToken";

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
        ("POST", ["jobs", _, "undo"]) => crate::undo::UNDO_ACTION,
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
        ("POST", ["federationtoken"]) => GET_FEDERATION_TOKEN,
        _ => "ci:Unknown",
    }
}

/// Checks every request's signature when keys are configured; lets everything through when
/// authentication is off (loopback without keys, or `STOWAWAY_AUTH=off`).
pub async fn authenticate(State(app): State<AppState>, mut request: Request, next: Next) -> Response {
    let Some(keys) = &app.config.keys else {
        return next.run(request).await;
    };
    if OPS_PATHS.contains(&request.uri().path()) && request.uri().query().is_none() {
        return next.run(request).await;
    }
    if request.uri().path() == EVENTS_PATH {
        return next.run(request).await; // a bearer token, checked by the route
    }
    let path = request.uri().path();
    if path == CONSOLE_PREFIX || path.starts_with(&format!("{CONSOLE_PREFIX}/")) {
        return next.run(request).await; // a browser: the console's own session
    }
    let now = chrono::Utc::now().timestamp();
    match keys.authenticate(&request, &app.config, now) {
        Ok(caller) => {
            request.extensions_mut().insert(caller);
            next.run(request).await
        }
        Err(e) => {
            tracing::debug!(code = e.code, message = %e.message, "request refused");
            ApiError::Client(e).into_response()
        }
    }
}
