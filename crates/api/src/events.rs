//! `POST /events/s3`: bucket notifications in (MinIO's webhook target, and the AWS, Ceph and
//! SeaweedFS shapes; triggers spec §3). Each new object starts a run of every active workflow
//! of its bucket whose prefix and ExtFilter match. The answer is 200 only once those jobs are
//! committed, so a sender that retries until 2xx (MinIO with a `queue_dir`) loses nothing; a
//! body that is no notification is logged and acknowledged, since refusing it would block
//! MinIO's queue behind it forever. `HEAD` answers 200: older MinIO probes liveness with it.
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use stowaway_store::{Error, NewJob};
use stowaway_wire::{parse_bucket_events, ObjectCreated};

use crate::context::Target;
use crate::error::{ApiError, ApiResult};
use crate::AppState;

pub const EVENTS_PATH: &str = "/events/s3";

/// Where AutoProcess keeps what it moved away: the service's own writes never start a run.
const BACKUP_PREFIX: &str = "abnormal_images_backup/";

pub fn router() -> Router<AppState> {
    Router::new().route(EVENTS_PATH, post(receive).head(|| async { StatusCode::OK }))
}

impl AppState {
    /// `Authorization: Bearer <STOWAWAY_EVENTS_TOKEN>`; without a configured token the route
    /// takes nothing (an open endpoint would let anyone start jobs).
    fn check_events_token(&self, headers: &HeaderMap) -> ApiResult<()> {
        let Some(token) = self.config.events_token.as_deref() else {
            return Err(ApiError::forbidden(
                "AccessDenied",
                "bucket events are off: set STOWAWAY_EVENTS_TOKEN",
            ));
        };
        let given = headers.get(axum::http::header::AUTHORIZATION).and_then(|v| v.to_str().ok());
        match given.and_then(|v| v.strip_prefix("Bearer ")) {
            None => Err(ApiError::unauthorized("Authorization: Bearer <STOWAWAY_EVENTS_TOKEN> is required")),
            Some(t) if constant_time_eq(t.trim().as_bytes(), token.as_bytes()) => Ok(()),
            Some(_) => Err(ApiError::forbidden("AccessDenied", "the bearer token is not this server's")),
        }
    }

    /// The jobs `created` starts: one per active workflow of its bucket that matches it.
    pub(crate) async fn runs_for(&self, created: &ObjectCreated) -> ApiResult<Vec<NewJob>> {
        if created.key.starts_with(BACKUP_PREFIX) {
            return Ok(Vec::new());
        }
        let workflows = self.active_workflows(&created.bucket).await?;
        let content_type = created.content_type.as_deref();
        let matching: Vec<_> =
            workflows.iter().filter(|w| w.spec.triggers(&created.key, content_type)).collect();
        if matching.is_empty() {
            return Ok(Vec::new());
        }
        let target = Target { bucket: created.bucket.clone(), region: self.config.default_region.clone() };
        let queue = match self.queue_for_jobs(&target).await {
            Ok(queue) => queue,
            // A bucket not activated (STOWAWAY_REQUIRE_ACTIVATION) takes no jobs: refusing the
            // event would only hold up the sender's queue behind it.
            Err(ApiError::Client(e)) => {
                tracing::warn!(bucket = %created.bucket, key = %created.key, error = %e.message, "upload not inspected");
                return Ok(Vec::new());
            }
            Err(e) => return Err(e),
        };
        // Without a sequencer a key's next upload would look like this one: no dedupe then (a
        // retried event is inspected twice rather than a new upload not at all).
        let occurrence = created.occurrence();
        Ok(matching.into_iter().map(|w| w.run(&queue, &created.key, occurrence.as_deref())).collect())
    }

    /// Commits `jobs` (group commit with the other submits). A job that inserted nothing was
    /// told before (its id is its upload's) or its queue is gone: either way there is nothing
    /// left to do for it.
    pub(crate) async fn start_runs(&self, jobs: Vec<NewJob>) -> ApiResult<usize> {
        let wanted = jobs.len();
        let outcomes = self.submitter.submit_all(jobs).await;
        if outcomes.len() < wanted {
            return Err(Error::closed().into());
        }
        let mut started = 0;
        for outcome in outcomes {
            match outcome {
                Ok(_) => started += 1,
                Err(Error::NoSuchQueue) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(started)
    }
}

async fn receive(State(app): State<AppState>, headers: HeaderMap, body: Bytes) -> ApiResult<Response> {
    app.check_events_token(&headers)?;
    app.take_bucket_events(&body).await?;
    Ok(StatusCode::OK.into_response())
}

impl AppState {
    /// One notification body, from a webhook or a Kafka message: the runs its uploads start,
    /// committed. A body that is no notification is logged and counts as taken.
    pub(crate) async fn take_bucket_events(&self, body: &[u8]) -> ApiResult<()> {
        let events = match parse_bucket_events(body) {
            Ok(events) => events,
            Err(e) => {
                metrics::counter!("stowaway_bucket_events_total", "outcome" => "unreadable").increment(1);
                tracing::warn!(error = %e, bytes = body.len(), "a bucket event that is no notification was dropped");
                return Ok(());
            }
        };
        metrics::counter!("stowaway_bucket_events_total", "outcome" => "ignored")
            .increment(events.ignored as u64);
        let mut jobs = Vec::new();
        for created in &events.created {
            jobs.extend(self.runs_for(created).await?);
        }
        let started = self.start_runs(jobs).await?;
        metrics::counter!("stowaway_bucket_events_total", "outcome" => "created")
            .increment(events.created.len() as u64);
        tracing::debug!(objects = events.created.len(), started, "bucket event");
        Ok(())
    }
}

/// Compares secrets in time that does not depend on where they differ.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
