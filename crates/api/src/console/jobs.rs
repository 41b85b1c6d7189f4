//! The console's job pages: a bucket's jobs filtered and paged by keyset, and one job with its
//! verdict, the hidden range in hex, and its callbacks.
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Form;
use axum::Router;
use chrono::{DateTime, TimeZone, Utc};
use serde::Deserialize;
use stowaway_store::{DeliveryState, JobFilter, JobRecord, JobState};
use stowaway_wire::ImageInspectResult;

use super::html::{escape, url};
use super::{actions, evidence, Viewer};
use crate::AppState;

const PAGE: i64 = 50;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/console/jobs", get(list))
        .route("/console/jobs/{bucket}/{job_id}", get(show))
        .route("/console/queues/{bucket}", post(pause_or_resume))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ListQuery {
    bucket: String,
    state: String,
    verdict: String,
    r#type: String,
    prefix: String,
    workflow: String,
    batch: String,
    /// `YYYY-MM-DDTHH:MM` (UTC), as a datetime-local input sends it.
    from: String,
    to: String,
    /// `<created_at µs>.<id>` of the last row shown.
    after: String,
}

pub(super) fn store_failed(viewer: &Viewer, e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "console page failed");
    let page = viewer.page(
        "Unavailable",
        "<h1>Unavailable</h1><p class=\"error\">The database did not answer; try again.</p>",
    );
    (axum::http::StatusCode::SERVICE_UNAVAILABLE, page).into_response()
}

/// The activated buckets the viewer may list, and the one asked for (else the first, else the
/// default bucket), which the viewer may list; or the page to answer instead.
pub(super) async fn buckets(
    app: &AppState,
    viewer: &Viewer,
    asked: &str,
) -> Result<(Vec<String>, String), Response> {
    let buckets = match app.store.activated_buckets(None, None, None, 0, 1000).await {
        Ok((_, queues)) => queues.into_iter().map(|q| q.bucket).collect::<Vec<_>>(),
        Err(e) => return Err(store_failed(viewer, e)),
    };
    let visible: Vec<String> =
        buckets.into_iter().filter(|b| viewer.may("ci:DescribeMediaJobs", Some(b))).collect();
    let bucket = match asked {
        "" => visible.first().cloned().or(app.config.default_bucket.clone()).unwrap_or_default(),
        b => b.to_string(),
    };
    if bucket.is_empty() {
        return Err(viewer.page("Jobs", "<h1>Jobs</h1><p>No bucket has been activated yet.</p>"));
    }
    viewer.require("ci:DescribeMediaJobs", &bucket)?;
    Ok((visible, bucket))
}

async fn list(viewer: Viewer, State(app): State<AppState>, Query(q): Query<ListQuery>) -> Response {
    let (visible, bucket) = match buckets(&app, &viewer, &q.bucket).await {
        Ok(b) => b,
        Err(page) => return page,
    };
    let filter = JobFilter {
        bucket: bucket.clone(),
        states: JobState::from_name(&q.state).map(|s| vec![s]),
        object_prefix: Some(q.prefix.clone()).filter(|p| !p.is_empty()),
        suspicious: match q.verdict.as_str() {
            "suspicious" => Some(true),
            "clean" => Some(false),
            _ => None,
        },
        suspicious_type: Some(q.r#type.clone()).filter(|t| !t.is_empty()),
        workflow_id: Some(q.workflow.clone()).filter(|w| !w.is_empty()),
        batch_id: Some(q.batch.clone()).filter(|b| !b.is_empty()),
        created_from: minute(&q.from),
        created_to: minute(&q.to),
        after: cursor(&q.after),
        limit: PAGE,
        ..JobFilter::default()
    };
    let jobs = match app.store.list_jobs(&filter).await {
        Ok(jobs) => jobs,
        Err(e) => return store_failed(&viewer, e),
    };
    let mut body =
        format!("<h1>Jobs in {}</h1>{}", escape(&bucket), queue_state(&app, &viewer, &bucket).await);
    body.push_str(&filters(&q, &bucket, &visible));
    body.push_str("<table><thead><tr><th>Object</th><th>State</th><th>Verdict</th><th class=\"wide\">Created</th></tr></thead><tbody>");
    for j in &jobs {
        body.push_str(&format!(
            "<tr><td class=\"key\"><a href=\"/console/jobs/{}/{}\">{}</a></td><td>{}</td><td>{}</td><td class=\"wide\">{}</td></tr>",
            url(&j.bucket),
            url(&j.job_id),
            escape(&j.object),
            j.state.as_str(),
            verdict_cell(j),
            j.created_at.format("%Y-%m-%d %H:%M:%S")
        ));
    }
    body.push_str("</tbody></table>");
    if jobs.len() as i64 == PAGE {
        let last = jobs.last().expect("a full page");
        let next = ListQuery {
            after: format!("{}.{}", last.created_at.timestamp_micros(), last.id),
            bucket: bucket.clone(),
            ..q
        };
        body.push_str(&format!(
            "<nav class=\"pages\"><a href=\"/console/jobs?{}\">Older jobs →</a></nav>",
            query(&next)
        ));
    } else if jobs.is_empty() {
        body.push_str("<p>No job matches.</p>");
    }
    viewer.page("Jobs", &body)
}

/// The bucket's queue: its state, and Pause or Resume for a key that may update it.
pub(super) async fn queue_state(app: &AppState, viewer: &Viewer, bucket: &str) -> String {
    let Ok(Some(queue)) = app.store.queue_of_bucket(bucket).await else { return String::new() };
    let state = if queue.paused { "Paused" } else { "Active" };
    let button = match viewer.may("ci:UpdatePicProcessQueue", Some(bucket)) {
        false => String::new(),
        true => format!(
            "<form method=\"post\" action=\"/console/queues/{}\" class=\"inline\">{}\
             <input type=\"hidden\" name=\"paused\" value=\"{}\"><button>{}</button></form>",
            url(bucket),
            viewer.csrf_field(),
            !queue.paused,
            if queue.paused { "Resume the queue" } else { "Pause the queue" }
        ),
    };
    format!("<p>Queue {}: <strong id=\"queue-state\">{state}</strong></p>{button}", escape(&queue.queue_id))
}

#[derive(Deserialize)]
struct QueueForm {
    #[serde(default)]
    csrf: String,
    paused: bool,
}

async fn pause_or_resume(
    viewer: Viewer,
    State(app): State<AppState>,
    Path(bucket): Path<String>,
    Form(form): Form<QueueForm>,
) -> Response {
    if let Err(refused) = viewer.check_form(&form.csrf, "ci:UpdatePicProcessQueue", &bucket) {
        return refused;
    }
    let queue = match app.store.queue_of_bucket(&bucket).await {
        Ok(Some(q)) => q,
        Ok(None) => return viewer.refused("This bucket has no queue."),
        Err(e) => return store_failed(&viewer, e),
    };
    if let Err(e) = app.store.set_paused(&queue.queue_id, form.paused).await {
        return store_failed(&viewer, e);
    }
    tracing::info!(%bucket, paused = form.paused, "queue changed from the console");
    axum::response::Redirect::to(&format!("/console/jobs?bucket={}", url(&bucket))).into_response()
}

fn minute(text: &str) -> Option<DateTime<Utc>> {
    chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M").ok().map(|t| t.and_utc())
}

fn cursor(after: &str) -> Option<(DateTime<Utc>, i64)> {
    let (micros, id) = after.split_once('.')?;
    Some((Utc.timestamp_micros(micros.parse().ok()?).single()?, id.parse().ok()?))
}

fn query(q: &ListQuery) -> String {
    [
        ("bucket", &q.bucket),
        ("state", &q.state),
        ("verdict", &q.verdict),
        ("type", &q.r#type),
        ("prefix", &q.prefix),
        ("workflow", &q.workflow),
        ("batch", &q.batch),
        ("from", &q.from),
        ("to", &q.to),
        ("after", &q.after),
    ]
    .iter()
    .filter(|(_, v)| !v.is_empty())
    .map(|(k, v)| format!("{k}={}", url(v)))
    .collect::<Vec<_>>()
    .join("&amp;")
}

fn filters(q: &ListQuery, bucket: &str, buckets: &[String]) -> String {
    let option = |value: &str, label: &str, chosen: &str| {
        let selected = if value == chosen { " selected" } else { "" };
        format!("<option value=\"{}\"{selected}>{}</option>", escape(value), escape(label))
    };
    let buckets: String = buckets.iter().map(|b| option(b, b, bucket)).collect();
    let states: String = ["", "Submitted", "Running", "Success", "Failed", "Cancel", "Pause"]
        .iter()
        .map(|s| option(s, if s.is_empty() { "any" } else { s }, &q.state))
        .collect();
    let verdicts: String = [("", "any"), ("suspicious", "suspicious"), ("clean", "clean")]
        .iter()
        .map(|(v, l)| option(v, l, &q.verdict))
        .collect();
    format!(
        "<form method=\"get\" action=\"/console/jobs\" class=\"filters\">\
         <label>Bucket<select name=\"bucket\">{buckets}</select></label>\
         <label>State<select name=\"state\">{states}</select></label>\
         <label>Verdict<select name=\"verdict\">{verdicts}</select></label>\
         <label>Payload type<input name=\"type\" value=\"{}\" placeholder=\"MPEG-TS\"></label>\
         <label>Key prefix<input name=\"prefix\" value=\"{}\"></label>\
         <label>From (UTC)<input type=\"datetime-local\" name=\"from\" value=\"{}\"></label>\
         <label>To (UTC)<input type=\"datetime-local\" name=\"to\" value=\"{}\"></label>\
         <input type=\"hidden\" name=\"workflow\" value=\"{}\"><input type=\"hidden\" name=\"batch\" value=\"{}\">\
         <button>Filter</button></form>{}",
        escape(&q.r#type),
        escape(&q.prefix),
        escape(&q.from),
        escape(&q.to),
        escape(&q.workflow),
        escape(&q.batch),
        match (q.workflow.as_str(), q.batch.as_str()) {
            ("", "") => String::new(),
            (w, "") => format!("<p>Runs of workflow {} only.</p>", escape(w)),
            (_, b) => format!("<p>Jobs of batch {} only.</p>", escape(b)),
        }
    )
}

pub(super) fn verdict_of(j: &JobRecord) -> Option<ImageInspectResult> {
    j.result.clone().and_then(|r| serde_json::from_value(r).ok())
}

fn verdict_cell(j: &JobRecord) -> String {
    match verdict_of(j).and_then(|r| r.process_result) {
        Some(p) if p.suspicious => format!(
            "<span class=\"bad\">{}</span>",
            escape(p.suspicious_type.as_deref().unwrap_or("suspicious"))
        ),
        Some(_) => "<span class=\"ok\">clean</span>".into(),
        None => "–".into(),
    }
}

/// The bucket's job, for a viewer who may read it; else the page to answer.
pub(super) async fn job_for(
    app: &AppState,
    viewer: &Viewer,
    bucket: &str,
    job_id: &str,
) -> Result<JobRecord, Response> {
    viewer.require("ci:DescribeMediaJob", bucket)?;
    match app.store.jobs_by_id(bucket, &[job_id.to_string()]).await {
        Ok(mut jobs) if !jobs.is_empty() => Ok(jobs.remove(0)),
        Ok(_) => Err((axum::http::StatusCode::NOT_FOUND, viewer.page("No such job", "<h1>No such job</h1>"))
            .into_response()),
        Err(e) => Err(store_failed(viewer, e)),
    }
}

async fn show(
    viewer: Viewer,
    State(app): State<AppState>,
    Path((bucket, job_id)): Path<(String, String)>,
) -> Response {
    let job = match job_for(&app, &viewer, &bucket, &job_id).await {
        Ok(job) => job,
        Err(page) => return page,
    };
    let result = verdict_of(&job);
    let process = result.as_ref().and_then(|r| r.process_result.clone());
    let mut rows = vec![
        ("Job", escape(&job.job_id)),
        ("Object", escape(&job.object)),
        ("State", job.state.as_str().to_string()),
        ("Created", job.created_at.to_rfc3339()),
        ("Finished", job.finished_at.map(|t| t.to_rfc3339()).unwrap_or_else(|| "–".into())),
        ("Verdict", verdict_cell(&job)),
    ];
    if let Some(p) = &process {
        rows.push(("Picture", format!("{} bytes of {}", p.pic_size, escape(&p.pic_type))));
        if let (Some(b), Some(e)) = (p.suspicious_begin_byte, p.suspicious_end_byte) {
            rows.push(("Hidden range", format!("bytes {b}–{e} ({} bytes)", e - b + 1)));
        }
        if let Some(c) = &p.suspicious_confidence {
            rows.push(("Confidence", escape(&format!("{c:?}").to_lowercase())));
        }
        if let Some(a) = &p.auto_process_result {
            rows.push(("AutoProcess", format!("{}: {}", escape(&a.code), escape(&a.message))));
        }
    }
    let request: Option<stowaway_wire::SubmitRequest> = serde_json::from_value(job.request.clone()).ok();
    if let Some(data) = request.and_then(|r| r.user_data) {
        rows.push(("UserData", escape(&data)));
    }
    if let Some(e) = &job.last_error {
        rows.push(("Error", escape(e)));
    }
    let mut body = format!("<h1>Job {}</h1><dl>", escape(&job.job_id));
    for (k, v) in rows {
        body.push_str(&format!("<dt>{k}</dt><dd>{v}</dd>"));
    }
    body.push_str("</dl>");
    if let Some((b, e)) =
        process.as_ref().and_then(|p| Some((p.suspicious_begin_byte?, p.suspicious_end_byte?)))
    {
        body.push_str(&evidence::section(&app, &job, (b, e)).await);
    }
    if let Some(p) = &process {
        body.push_str(&actions::preview(&job, p));
        let acted = p.auto_process_result.as_ref().is_some_and(|a| a.code == "Success");
        match app.store.undo_of(&bucket, &job.job_id).await {
            Ok(undone) => body.push_str(&actions::undo_section(&viewer, &job, undone.as_ref(), acted)),
            Err(e) => return store_failed(&viewer, e),
        }
    }
    body.push_str(&callbacks(&app, &viewer, &job).await);
    viewer.page(&format!("Job {}", job.job_id), &body)
}

async fn callbacks(app: &AppState, viewer: &Viewer, job: &JobRecord) -> String {
    let deliveries = match app.store.deliveries_of_job(&job.bucket, &job.job_id).await {
        Ok(Some(d)) if !d.is_empty() => d,
        Ok(_) => return "<h2>Callbacks</h2><p>None.</p>".into(),
        Err(e) => return format!("<h2>Callbacks</h2><p class=\"error\">{}</p>", escape(&e.to_string())),
    };
    let mut out = String::from("<h2>Callbacks</h2><table><thead><tr><th>To</th><th>Attempt</th><th>At</th><th>Answer</th></tr></thead><tbody>");
    for d in &deliveries {
        let to = format!("{} {}", d.kind.as_deref().unwrap_or("?"), d.address.as_deref().unwrap_or(""));
        for a in &d.attempts {
            let answer = match (&a.status, &a.error) {
                (Some(s), _) => s.to_string(),
                (None, Some(e)) => e.clone(),
                (None, None) => "acknowledged".into(),
            };
            out.push_str(&format!(
                "<tr><td class=\"key\">{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(&to),
                a.number,
                a.at.to_rfc3339(),
                escape(&answer)
            ));
        }
        out.push_str(&format!(
            "<tr><td colspan=\"3\">{:?} after {} attempts</td><td>{}</td></tr>",
            d.state,
            d.attempt,
            match d.state {
                DeliveryState::Pending | DeliveryState::Sending => String::new(),
                _ => actions::resend_button(viewer, job, &d.webhook_id),
            }
        ));
    }
    out + "</tbody></table>"
}
