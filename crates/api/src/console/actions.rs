//! What a job's page offers beyond reading: the picture itself (only the bytes before the hidden
//! range, as an image that cannot run anything), undoing AutoProcess, and resending a callback.
use axum::extract::{Path, State};
use axum::http::header::{
    CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_SECURITY_POLICY, CONTENT_TYPE, X_CONTENT_TYPE_OPTIONS,
};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use stowaway_store::JobRecord;
use stowaway_wire::ProcessResult;

use super::html::{escape, url};
use super::{CsrfForm, Viewer};
use crate::undo::{undo, UndoError, UNDO_ACTION};
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/console/jobs/{bucket}/{job_id}/picture", get(picture))
        .route("/console/jobs/{bucket}/{job_id}/undo", post(undo_form))
        .route("/console/jobs/{bucket}/{job_id}/resend", post(resend_form))
}

fn job_page(bucket: &str, job_id: &str) -> String {
    format!("/console/jobs/{}/{}", url(bucket), url(job_id))
}

/// The picture's media type, for the types a browser shows as an image and nothing else.
fn image_type(pic_type: &str) -> Option<&'static str> {
    match pic_type {
        "png" => Some("image/png"),
        "jpg" | "jpeg" => Some("image/jpeg"),
        "gif" => Some("image/gif"),
        "webp" => Some("image/webp"),
        "bmp" => Some("image/bmp"),
        _ => None,
    }
}

/// The `<img>` for a job's page, when its picture can be shown.
pub fn preview(job: &JobRecord, process: &ProcessResult) -> String {
    match image_type(&process.pic_type) {
        Some(_) => format!(
            "<h2>The picture</h2><img class=\"preview\" src=\"{}/picture\" alt=\"the picture, without what follows it\">",
            job_page(&job.bucket, &job.job_id)
        ),
        None => String::new(),
    }
}

async fn picture(
    viewer: Viewer,
    State(app): State<AppState>,
    Path((bucket, job_id)): Path<(String, String)>,
) -> Response {
    let job = match super::jobs::job_for(&app, &viewer, &bucket, &job_id).await {
        Ok(job) => job,
        Err(page) => return page,
    };
    let Some(process) = super::jobs::verdict_of(&job).and_then(|r| r.process_result) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let Some(media_type) = image_type(&process.pic_type) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let Ok((_, mut bytes)) = super::evidence::object_bytes(&app, &job).await else {
        return StatusCode::NOT_FOUND.into_response();
    };
    // Only the picture: the hidden bytes never reach the operator's browser.
    if let Some(begin) = process.suspicious_begin_byte {
        bytes.truncate(begin as usize);
    }
    let headers = [
        (CONTENT_TYPE, media_type),
        (CONTENT_SECURITY_POLICY, "default-src 'none'; sandbox"),
        (X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (CONTENT_DISPOSITION, "inline"),
        (CACHE_CONTROL, "private, no-store"),
    ];
    (headers, bytes).into_response()
}

/// The undo section of a job's page: what was undone, or the button (for a key that may).
pub fn undo_section(
    viewer: &Viewer,
    job: &JobRecord,
    undone: Option<&stowaway_store::Undo>,
    acted: bool,
) -> String {
    match undone {
        Some(u) => format!(
            "<h2>Undo</h2><p id=\"undone\">{} {} by {}.</p>",
            escape(&u.action),
            u.at.to_rfc3339(),
            escape(u.by_key.as_deref().unwrap_or("an unauthenticated caller"))
        ),
        None if acted && viewer.may(UNDO_ACTION, Some(&job.bucket)) => format!(
            "<h2>Undo</h2><p>A false alarm? Put the picture back as it was before AutoProcess acted.</p>\
             <form method=\"post\" action=\"{}/undo\" class=\"inline\">{}<button>Undo AutoProcess</button></form>",
            job_page(&job.bucket, &job.job_id),
            viewer.csrf_field()
        ),
        None => String::new(),
    }
}

async fn undo_form(
    viewer: Viewer,
    State(app): State<AppState>,
    Path((bucket, job_id)): Path<(String, String)>,
    Form(form): Form<CsrfForm>,
) -> Response {
    if let Err(refused) = viewer.check_form(&form.csrf, UNDO_ACTION, &bucket) {
        return refused;
    }
    let Some(objects) = &app.objects else { return viewer.refused("This process has no object store.") };
    match undo(&app.store, objects, &bucket, &job_id, viewer.secret_id()).await {
        Ok(_) => Redirect::to(&job_page(&bucket, &job_id)).into_response(),
        Err(UndoError::NoSuchJob) => viewer.refused("No such job."),
        Err(UndoError::Refused(why)) => viewer.refused(&why),
        Err(e) => {
            tracing::error!(error = ?e, bucket, job_id, "undo from the console failed");
            viewer.refused("The store did not answer; nothing was recorded. Try again.")
        }
    }
}

/// A resend button for a callback, for a key that may resend (as `POST …/resend` needs).
pub fn resend_button(viewer: &Viewer, job: &JobRecord, webhook_id: &uuid::Uuid) -> String {
    if !viewer.may("ci:CreateMediaJobs", Some(&job.bucket)) {
        return String::new();
    }
    format!(
        "<form method=\"post\" action=\"{}/resend\" class=\"inline\">{}<input type=\"hidden\" name=\"webhook\" value=\"{webhook_id}\"><button>Resend</button></form>",
        job_page(&job.bucket, &job.job_id),
        viewer.csrf_field()
    )
}

#[derive(Deserialize)]
struct ResendForm {
    #[serde(default)]
    csrf: String,
    webhook: String,
}

async fn resend_form(
    viewer: Viewer,
    State(app): State<AppState>,
    Path((bucket, job_id)): Path<(String, String)>,
    Form(form): Form<ResendForm>,
) -> Response {
    if let Err(refused) = viewer.check_form(&form.csrf, "ci:CreateMediaJobs", &bucket) {
        return refused;
    }
    let Ok(webhook) = uuid::Uuid::parse_str(&form.webhook) else {
        return viewer.refused("No such callback.");
    };
    match app.store.resend_delivery(&bucket, &job_id, webhook).await {
        Ok(true) => Redirect::to(&job_page(&bucket, &job_id)).into_response(),
        Ok(false) => viewer.refused("No such callback."),
        Err(e) => super::jobs::store_failed(&viewer, e),
    }
}
