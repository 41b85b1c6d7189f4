//! Operators' routes, outside Tencent's API and its signatures: `GET /healthz` (the process
//! answers), `GET /readyz` (database reachable, migrations applied, object store reachable) and
//! `GET /metrics` (Prometheus text). Every process serves them: the API on its listener, worker
//! and notifier processes on `STOWAWAY_OPS_LISTEN`. No secrets in any answer.
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{FromRef, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;
use stowaway_objects::Objects;
use stowaway_store::{Backlog, Store};

/// Renders the process's metrics in Prometheus' text format.
pub type MetricsRender = Arc<dyn Fn() -> String + Send + Sync>;

/// Paths served without a signature.
pub const OPS_PATHS: [&str; 3] = ["/healthz", "/readyz", "/metrics"];

/// What the operators' routes look at.
#[derive(Clone)]
pub struct OpsState {
    pub store: Store,
    /// The object store, when this process uses one (API and worker).
    pub objects: Option<Objects>,
    /// Checked with HeadBucket when set; otherwise ListBuckets.
    pub bucket: Option<String>,
    pub metrics: Option<MetricsRender>,
    /// Recent answers: these routes take no signature, so a flood of them must not become a
    /// flood of database and S3 calls.
    pub cache: OpsCache,
}

/// The last readiness answer and backlog sample, each reused for a moment.
#[derive(Clone, Default)]
pub struct OpsCache(Arc<Mutex<Cached>>);

#[derive(Default)]
struct Cached {
    ready: Option<(Instant, StatusCode, serde_json::Value)>,
    backlog: Option<(Instant, Backlog)>,
}

const READY_TTL: Duration = Duration::from_secs(1);
const BACKLOG_TTL: Duration = Duration::from_secs(2);

/// A readiness check may take this long before it counts as failed.
const CHECK_TIMEOUT: Duration = Duration::from_secs(3);

pub fn routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    OpsState: FromRef<S>,
{
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
}

/// The operators' routes alone, for processes without the API.
pub fn router(ops: OpsState) -> Router {
    routes().with_state(ops)
}

async fn healthz() -> Json<serde_json::Value> {
    Json(json!({"status": "ok"}))
}

async fn readyz(State(ops): State<OpsState>) -> Response {
    if let Some((at, status, body)) = &ops.cache.0.lock().expect("ops cache").ready {
        if at.elapsed() < READY_TTL {
            return (*status, Json(body.clone())).into_response();
        }
    }
    let database = match tokio::time::timeout(CHECK_TIMEOUT, ops.store.ping()).await {
        Ok(Ok(())) => "ok".to_string(),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness: database");
            "unreachable".into()
        }
        Err(_) => "timed out".into(),
    };
    let migrations = if database != "ok" {
        "unknown".to_string()
    } else {
        match ops.store.pending_migrations().await {
            Ok(pending) if pending.is_empty() => "ok".into(),
            Ok(pending) => format!("pending: {pending:?} (run `stowaway migrate`)"),
            Err(e) => {
                tracing::warn!(error = %e, "readiness: migrations");
                "unreadable".into()
            }
        }
    };
    let storage = match &ops.objects {
        None => "not used".to_string(),
        Some(objects) => match tokio::time::timeout(CHECK_TIMEOUT, objects.ping(ops.bucket.as_deref())).await
        {
            Ok(Ok(())) => "ok".into(),
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "readiness: object store");
                format!("refused: {}", e.code)
            }
            Err(_) => "timed out".into(),
        },
    };
    let ready = database == "ok" && migrations == "ok" && (storage == "ok" || storage == "not used");
    let status = if ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    // What this process's own calls found (the breaker), beside the check's one request.
    let breaker = ops.objects.as_ref().map(|o| match o.breaker().open_since() {
        None => "closed".to_string(),
        Some((since, error)) => format!(
            "open for {} s (no jobs claimed but a probe now and then): {error}",
            since.elapsed().unwrap_or_default().as_secs()
        ),
    });
    let body = json!({
        "status": if ready { "ready" } else { "not ready" },
        "checks": {"database": database, "migrations": migrations, "storage": storage,
                   "storage_breaker": breaker.as_deref().unwrap_or("not used")},
    });
    ops.cache.0.lock().expect("ops cache").ready = Some((Instant::now(), status, body.clone()));
    (status, Json(body)).into_response()
}

/// Samples the backlog gauges, then renders everything recorded.
async fn metrics(State(ops): State<OpsState>) -> Response {
    let Some(render) = &ops.metrics else {
        return (StatusCode::NOT_FOUND, "metrics are not enabled in this process\n").into_response();
    };
    let cached = ops.cache.0.lock().expect("ops cache").backlog.clone();
    let backlog = match cached {
        Some((at, b)) if at.elapsed() < BACKLOG_TTL => Ok(b),
        _ => ops.store.backlog().await.inspect(|b| {
            ops.cache.0.lock().expect("ops cache").backlog = Some((Instant::now(), b.clone()));
        }),
    };
    match backlog {
        Ok(b) => {
            metrics::gauge!("stowaway_queue_depth", "state" => "Submitted").set(b.queued as f64);
            metrics::gauge!("stowaway_queue_depth", "state" => "Running").set(b.running as f64);
            metrics::gauge!("stowaway_queue_depth", "state" => "Retrying").set(b.retrying as f64);
            metrics::gauge!("stowaway_queue_oldest_pending_seconds").set(b.oldest_queued_secs);
            metrics::gauge!("stowaway_callback_backlog").set(b.callbacks as f64);
        }
        Err(e) => tracing::warn!(error = %e, "metrics: could not read the backlog"),
    }
    let content_type = HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8");
    ([(CONTENT_TYPE, content_type)], render()).into_response()
}
