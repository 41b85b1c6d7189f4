//! Driving the router the server runs, as a client would: requests in, Tencent XML out.
#![allow(dead_code)] // each test file uses its own share

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use sqlx::PgPool;
use stowaway_api::{router, AccessKey, ApiConfig, AppState, KeyRing};
use stowaway_store::Store;
use stowaway_wire::cos_sign::{query_pairs, sign, SignedParts};
use tower::ServiceExt;

pub const HOST: &str = "test-123456789.ci.ap-chongqing.myqcloud.com";
/// The bucket `HOST` names, and the default of `secured` routers.
pub const BUCKET: &str = "test-123456789";
/// The key of `AccessKey::root` in the signature tests.
pub const ID: &str = "AKIDtest";
pub const KEY: &str = "testSecretKey";

pub struct Reply {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: String,
}

impl Reply {
    /// Text of the first `<tag>` element.
    pub fn get(&self, tag: &str) -> &str {
        element(&self.body, tag).unwrap_or_else(|| panic!("no <{tag}> in {}", self.body))
    }
    pub fn all(&self, tag: &str) -> Vec<&str> {
        let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
        self.body
            .match_indices(&open)
            .map(|(i, _)| {
                let rest = &self.body[i + open.len()..];
                &rest[..rest.find(&close).unwrap()]
            })
            .collect()
    }
    /// An `<Error>` with all five children non-empty (what every SDK needs), and its code.
    pub fn error_code(&self) -> &str {
        for tag in ["Code", "Message", "Resource", "RequestId", "TraceId"] {
            assert!(!self.get(tag).is_empty(), "empty <{tag}> in {}", self.body);
        }
        assert!(self.body.contains("<Error>"), "{}", self.body);
        self.get("Code")
    }
}

pub fn element<'a>(xml: &'a str, tag: &str) -> Option<&'a str> {
    let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
    let start = xml.find(&open)? + open.len();
    Some(&xml[start..start + xml[start..].find(&close)?])
}

/// The router with signatures checked against `keys`, serving `BUCKET` by default.
pub fn secured(pool: PgPool, keys: Vec<AccessKey>) -> Router {
    let config = ApiConfig {
        keys: Some(KeyRing::new(keys).unwrap()),
        default_bucket: Some(BUCKET.into()),
        default_region: "ap-chongqing".into(),
        ..ApiConfig::default()
    };
    app(pool, config)
}

pub fn app(pool: PgPool, config: ApiConfig) -> Router {
    router(AppState::new(Store::from_pool(pool), config))
}

pub async fn call(app: &Router, method: &str, uri: &str, host: Option<&str>, body: &str) -> Reply {
    let headers: Vec<(&str, &str)> = host.map(|h| ("host", h)).into_iter().collect();
    send(app, method, uri, &headers, body).await
}

/// A request with exactly these headers.
pub async fn send(app: &Router, method: &str, uri: &str, headers: &[(&str, &str)], body: &str) -> Reply {
    let mut req = Request::builder().method(method).uri(uri);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = app.clone().oneshot(req.body(Body::from(body.to_string())).unwrap()).await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = String::from_utf8(resp.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap();
    assert!(headers.get("x-ci-request-id").is_some_and(|v| !v.is_empty()), "{method} {uri}: no request id");
    Reply { status, headers, body }
}

/// The `Authorization` an SDK sends: signs every query parameter of `uri` and every header in
/// `signed_headers` (which may differ from what is sent, as Python's host without the port).
pub fn authorization(
    id: &str,
    key: &str,
    method: &str,
    uri: &str,
    signed_headers: &[(&str, &str)],
) -> String {
    let (path, query) = uri.split_once('?').unwrap_or((uri, ""));
    let query = query_pairs(query);
    let headers: Vec<(String, String)> =
        signed_headers.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let now = chrono::Utc::now().timestamp();
    sign(id, key, now - 60, now + 3600, &SignedParts { method, path, query: &query, headers: &headers })
        .to_header()
}

/// Jobs for `files` (key, bytes, AutoProcess action) finished as the worker leaves them: each
/// object stored, its verdict the detector's, and a suspicious one's action applied (a backup
/// moved, a private one made private) with `AutoProcessResult` `Success`; each job's callback
/// (to a closed port) waits in the outbox, as no notifier runs. Returns the job ids.
pub async fn finished_jobs(
    store: &Store,
    objects: &stowaway_objects::Objects,
    bucket: &str,
    files: &[(&str, Vec<u8>, Option<&str>)],
) -> Vec<String> {
    use stowaway_wire::{AutoProcessResult, ImageInspectResult, ProcessResult};
    let queue = store.set_activated(bucket, "ap-chongqing", true).await.unwrap().unwrap();
    let jobs: Vec<stowaway_store::NewJob> = files
        .iter()
        .map(|(key, _, action)| {
            let auto = action.map(|a| format!("<ImageInspect><AutoProcess>true</AutoProcess><ProcessType>{a}</ProcessType></ImageInspect>"));
            let xml = format!(
                "<Request><Tag>ImageInspect</Tag><Input><Object>{}</Object></Input><Operation>{}\
                 <UserData>&lt;script&gt;document.title='pwned'&lt;/script&gt;</UserData></Operation>\
                 <CallBack>http://127.0.0.1:9/callback</CallBack></Request>",
                key.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;"),
                auto.unwrap_or_default()
            );
            let request = stowaway_wire::parse_submit(xml.as_bytes()).unwrap();
            stowaway_store::NewJob {
                job_id: format!("c{}", uuid::Uuid::new_v4().simple()),
                queue_id: queue.queue_id.clone(),
                bucket: bucket.into(),
                region: "ap-chongqing".into(),
                object: key.to_string(),
                job_level: 0,
                request: serde_json::to_value(&request).unwrap(),
                once: false,
            }
        })
        .collect();
    store.insert_jobs(&jobs).await.unwrap();
    let worker = uuid::Uuid::new_v4();
    let claimed = store.claim(worker, files.len() as i64, std::time::Duration::from_secs(30)).await.unwrap();
    let mut done = Vec::new();
    for c in &claimed {
        let (key, bytes, action) = files.iter().find(|f| f.0 == c.object).unwrap();
        objects.put(bucket, key, bytes.clone()).await.unwrap();
        let mut verdict = ProcessResult::from(&stowaway_detect::inspect(bytes));
        if let (true, Some(action)) = (verdict.suspicious, action) {
            match *action {
                "BackupObject" => drop(objects.backup(bucket, key).await.unwrap()),
                "SwitchObjectToPrivate" => objects.make_private(bucket, key).await.unwrap(),
                _ => objects.delete(bucket, key).await.unwrap(),
            }
            verdict.auto_process_result =
                Some(AutoProcessResult { code: "Success".into(), message: "Success".into() });
        }
        let result = ImageInspectResult {
            state: "Success".into(),
            code: "Success".into(),
            message: "Success".into(),
            input_object_name: c.object.clone(),
            input_object_url: String::new(),
            process_result: Some(verdict),
            tagging_result: None,
        };
        done.push(stowaway_store::Completion::success(c, Some(serde_json::to_value(&result).unwrap())));
    }
    store.complete(worker, &done).await.unwrap();
    jobs.into_iter().map(|j| j.job_id).collect()
}
