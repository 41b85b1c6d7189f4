//! Stowaway's HTTP API: Tencent CI's ImageInspect job routes (`/jobs`), the picture queue
//! (`/picqueue`) and activation (`/picbucket`), on one listener. One state struct, one `router()`
//! per module merged here, one error type ([`ApiError`]) rendered as Tencent's `<Error>`.

mod auth;
mod batches;
mod buckets;
mod callbacks;
mod console;
mod context;
mod error;
mod events;
mod events_kafka;
mod idempotency;
mod inspect;
mod jobs;
mod ops;
mod queues;
mod runs;
mod serve;
mod state;
mod sts;
mod submitter;
mod undo;
mod workflows;

use axum::extract::DefaultBodyLimit;
use axum::Router;

pub use auth::{action_of, AccessKey, KeyRing};
pub use context::{bucket_from_host, Target};
pub use error::{ApiError, ApiResult};
pub use events_kafka::EventsKafka;
pub use ops::{router as ops_router, MetricsRender, OpsCache, OpsState};
pub use serve::{serve, serve_with, Timeouts};
pub use state::{ApiConfig, AppState};
pub use sts::{
    answer as federation_token_answer, issue as issue_temporary_key, Policy as TemporaryKeyPolicy,
};
pub use submitter::Submitter;
pub use undo::{undo, UndoError, UNDO_ACTION};

/// Every route, with request ids and `<Error>` rendering around them, behind the signature check;
/// object-processing queries (`?ci-process=ImageInspect`) go to synchronous inspection first.
pub fn router(state: AppState) -> Router {
    let limit = state.config.body_limit;
    Router::new()
        .merge(jobs::router())
        .merge(callbacks::router())
        .merge(queues::router())
        .merge(buckets::router())
        .merge(workflows::router())
        .merge(runs::router())
        .merge(events::router())
        .merge(batches::router())
        .merge(sts::router())
        .merge(console::router())
        .merge(undo::router())
        .merge(ops::routes())
        .layer(DefaultBodyLimit::max(limit))
        .layer(axum::middleware::from_fn_with_state(state.clone(), inspect::object_processing))
        .layer(axum::middleware::from_fn_with_state(state.clone(), auth::authenticate))
        .layer(axum::middleware::from_fn(context::request_context))
        .with_state(state)
}
