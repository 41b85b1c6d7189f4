//! Undoing AutoProcess after a false alarm: a backed-up object copied back to its key (the backup
//! removed), a privatised one made readable again, and the undo recorded on the job. One function
//! for `POST /jobs/<JobId>/undo`, the console's button and `stowaway undo`; undoing twice is one
//! undo. A deleted object (DeleteObject) cannot come back: refused, saying so.
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::post;
use axum::{Extension, Router};
use serde::Serialize;
use stowaway_objects::{ObjectError, Objects};
use stowaway_store::{Store, Undo};
use stowaway_wire::{tencent_time, to_xml, ImageInspectResult, ProcessType, SubmitRequest};

use crate::context::{xml_response, Target};
use crate::error::{ApiError, ApiResult};
use crate::sts::Caller;
use crate::AppState;

/// The CAM-style action that may undo (Stowaway's own: `*` covers it, `ci:*` does not).
pub const UNDO_ACTION: &str = "stowaway:UndoAutoProcess";

#[derive(Debug)]
pub enum UndoError {
    NoSuchJob,
    /// Nothing to undo, or nothing that can be (the reason, for the caller).
    Refused(String),
    Storage(ObjectError),
    Store(stowaway_store::Error),
}

impl From<stowaway_store::Error> for UndoError {
    fn from(e: stowaway_store::Error) -> UndoError {
        UndoError::Store(e)
    }
}

impl From<UndoError> for ApiError {
    fn from(e: UndoError) -> ApiError {
        match e {
            UndoError::NoSuchJob => ApiError::not_found("NoSuchJob", "no such job in this bucket"),
            UndoError::Refused(why) => ApiError::invalid(why),
            UndoError::Storage(e) => ApiError::Storage(e),
            UndoError::Store(e) => ApiError::Store(e),
        }
    }
}

/// Undoes the bucket's job `job_id`'s AutoProcess; `by` is who asked (for the record).
pub async fn undo(
    store: &Store,
    objects: &Objects,
    bucket: &str,
    job_id: &str,
    by: Option<&str>,
) -> Result<Undo, UndoError> {
    let job = store.jobs_by_id(bucket, &[job_id.to_string()]).await?.pop().ok_or(UndoError::NoSuchJob)?;
    if let Some(done) = store.undo_of(bucket, job_id).await? {
        return Ok(done);
    }
    let refused = |why: &str| UndoError::Refused(why.to_string());
    let result: Option<ImageInspectResult> = job.result.clone().and_then(|r| serde_json::from_value(r).ok());
    let acted = result
        .and_then(|r| r.process_result)
        .and_then(|p| p.auto_process_result)
        .is_some_and(|a| a.code == "Success");
    let request: SubmitRequest = serde_json::from_value(job.request.clone())
        .map_err(|_| refused("the job's request is unreadable"))?;
    let action = match request.auto_process() {
        Some(action) if acted => action,
        _ => return Err(refused("AutoProcess did not act on this job's object: there is nothing to undo")),
    };
    let done = match action {
        ProcessType::BackupObject => objects.restore(bucket, &job.object).await.map(|()| "Restored"),
        ProcessType::SwitchObjectToPrivate => {
            objects.make_public(bucket, &job.object).await.map(|()| "MadePublic")
        }
        ProcessType::DeleteObject => {
            return Err(refused("AutoProcess deleted the object (DeleteObject): it cannot be restored"))
        }
    }
    .map_err(UndoError::Storage)?;
    tracing::info!(bucket, job_id, object = %job.object, action = done, by, "AutoProcess undone");
    store.record_undo(bucket, job_id, done, by).await?.ok_or(UndoError::NoSuchJob)
}

pub fn router() -> Router<AppState> {
    Router::new().route("/jobs/{id}/undo", post(undo_route))
}

#[derive(Serialize)]
#[serde(rename = "Response")]
struct UndoResponse {
    #[serde(rename = "Undo")]
    undo: UndoBody,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct UndoBody {
    job_id: String,
    action: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    by: Option<String>,
    time: String,
}

/// `POST /jobs/<JobId>/undo`: `<Response><Undo><JobId/><Action>Restored|MadePublic</Action>
/// <By/><Time/></Undo></Response>`.
async fn undo_route(
    State(app): State<AppState>,
    target: Target,
    caller: Option<Extension<Caller>>,
    Path(job_id): Path<String>,
) -> ApiResult<Response> {
    let objects =
        app.objects.as_ref().ok_or_else(|| ApiError::not_implemented("this process has no object store"))?;
    let by = caller.map(|Extension(c)| c.secret_id);
    let u = undo(&app.store, objects, &target.bucket, &job_id, by.as_deref()).await?;
    let body = UndoBody { job_id, action: u.action, by: u.by_key, time: tencent_time(u.at) };
    Ok(xml_response(to_xml(&UndoResponse { undo: body })))
}
