//! `/jobs`: submit, query by id, list, cancel (spec §1).
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use chrono::{DateTime, TimeZone, Utc};
use stowaway_store::{CancelRefused, JobFilter, JobRecord, JobState, NewJob, Queue};
use stowaway_wire::{parse_submit, to_xml, JobsResponse};

use crate::context::{query_value, xml_response, Target};
use crate::error::{ApiError, ApiResult};
use crate::sts::Caller;
use crate::{idempotency, AppState};

/// Ids per `GET /jobs/<ids>`; Tencent allows 10 per cancel.
const MAX_QUERY_IDS: usize = 100;
const MAX_CANCEL_IDS: usize = 10;

pub fn router() -> Router<AppState> {
    Router::new().route("/jobs", get(list).post(submit)).route("/jobs/{ids}", get(query).put(cancel))
}

async fn submit(
    State(app): State<AppState>,
    target: Target,
    caller: Option<Extension<Caller>>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let request = parse_submit(&body)?;
    if let Some(Extension(caller)) = &caller {
        caller.check_object("ci:CreateMediaJobs", &target.bucket, &request.object)?;
    }
    app.check_job_callback(&request)?;
    let idempotency = idempotency::key(&headers)?;
    let queue = app.queue_for_jobs(&target).await?;
    let job = NewJob {
        job_id: match &idempotency {
            Some(key) => idempotency::job_id(&target.bucket, key),
            None => format!("c{}", uuid::Uuid::new_v4().simple()),
        },
        queue_id: queue.queue_id,
        bucket: target.bucket,
        region: target.region,
        object: request.object.clone(),
        job_level: request.job_level,
        request: serde_json::to_value(&request).expect("plain data"),
        once: idempotency.is_some(),
    };
    let mut record = match idempotency {
        None => app.submitter.submit(job).await?,
        Some(key) => match idempotency::first_or_submit(&app.store, job, &key).await? {
            idempotency::Submit::New(record) => record,
            idempotency::Submit::Repeat(record) => {
                metrics::counter!("stowaway_jobs_repeated_total").increment(1);
                return Ok(respond(JobsResponse {
                    jobs_detail: vec![record.jobs_detail()],
                    ..JobsResponse::default()
                }));
            }
        },
    };
    // A job handed straight to the worker in this process is Running once committed; the answer
    // says Submitted, as Tencent's always does for a job it accepted (Pause in a paused queue).
    if record.state == JobState::Running {
        record.state = JobState::Submitted;
        record.started_at = None;
    }
    metrics::counter!("stowaway_jobs_submitted_total").increment(1);
    tracing::debug!(job_id = %record.job_id, bucket = %record.bucket, "job submitted");
    Ok(respond(JobsResponse { jobs_detail: vec![record.jobs_detail()], ..JobsResponse::default() }))
}

impl AppState {
    /// The bucket's queue for a new job: created on first use unless activation is required;
    /// refused when the bucket was deactivated (`DELETE /picbucket`).
    pub(crate) async fn queue_for_jobs(&self, target: &Target) -> ApiResult<Queue> {
        if let Some(q) = self.queues.get(&target.bucket) {
            return Ok(q);
        }
        let queue = match self.store.queue_of_bucket(&target.bucket).await? {
            Some(q) => Some(q),
            None if !self.config.require_activation => {
                Some(self.store.ensure_queue(&target.bucket, &target.region).await?)
            }
            None => None,
        };
        match queue {
            Some(q) if q.activated => {
                self.queues.insert(&target.bucket, &q);
                Ok(q)
            }
            _ => Err(ApiError::forbidden(
                "AccessDenied",
                format!(
                    "image async processing is not enabled for bucket {}; POST /picbucket enables it",
                    target.bucket
                ),
            )),
        }
    }
}

fn respond(r: JobsResponse) -> Response {
    xml_response(to_xml(&r))
}

fn split_ids(ids: &str, max: usize) -> ApiResult<Vec<String>> {
    let ids: Vec<String> =
        ids.split(',').map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect();
    if ids.is_empty() {
        return Err(ApiError::invalid("no job id given"));
    }
    if ids.len() > max {
        return Err(ApiError::invalid(format!("at most {max} job ids per request, got {}", ids.len())));
    }
    Ok(ids)
}

async fn query(State(app): State<AppState>, target: Target, Path(ids): Path<String>) -> ApiResult<Response> {
    let ids = split_ids(&ids, MAX_QUERY_IDS)?;
    let records = app.store.jobs_by_id(&target.bucket, &ids).await?;
    let non_exist_job_ids =
        ids.iter().filter(|id| !records.iter().any(|r| r.job_id == **id)).cloned().collect();
    Ok(respond(JobsResponse {
        jobs_detail: records.iter().map(JobRecord::jobs_detail).collect(),
        non_exist_job_ids,
        next_token: None,
    }))
}

/// `PUT /jobs/<ids>?cancel`; also without `?cancel`, as Java's SDK sends it.
async fn cancel(State(app): State<AppState>, target: Target, Path(ids): Path<String>) -> ApiResult<Response> {
    let ids = split_ids(&ids, MAX_CANCEL_IDS)?;
    match app.store.cancel_jobs(&target.bucket, &ids).await? {
        Ok(()) => {
            metrics::counter!("stowaway_jobs_finished_total", "state" => "Cancel", "suspicious_type" => "none")
                .increment(ids.len() as u64);
            tracing::info!(job_ids = %ids.join(","), "jobs cancelled");
            Ok(().into_response())
        }
        Err(CancelRefused::Unknown(missing)) => Err(ApiError::not_found(
            "NoSuchJob",
            format!("no job {} in bucket {}", missing.join(","), target.bucket),
        )),
        Err(CancelRefused::Started(started)) => {
            let list: Vec<String> = started
                .iter()
                .map(|(id, s)| match s {
                    JobState::Running => format!("{id} is Running and AutoProcess is acting on its object"),
                    s => format!("{id} is {}", s.as_str()),
                })
                .collect();
            Err(ApiError::invalid(format!(
                "only jobs that have not acted can be cancelled (Submitted, Pause, or Running before \
                 AutoProcess): {}; nothing was cancelled",
                list.join(", ")
            )))
        }
    }
}

/// `GET /jobs?tag=&queueId=&states=&orderByTime=&size=&nextToken=&startCreationTime=&endCreationTime=&inputObject=`
async fn list(
    State(app): State<AppState>,
    target: Target,
    Query(q): Query<Vec<(String, String)>>,
) -> ApiResult<Response> {
    let filter = list_filter(&q, target.bucket)?;
    let Some(filter) = filter else {
        return Ok(respond(JobsResponse { next_token: Some(String::new()), ..JobsResponse::default() }));
    };
    let mut records = app.store.list_jobs(&filter).await?;
    let next_token = next_token(&mut records, &filter);
    Ok(respond(JobsResponse {
        jobs_detail: records.iter().map(JobRecord::jobs_detail).collect(),
        non_exist_job_ids: Vec::new(),
        next_token: Some(next_token),
    }))
}

/// The filter a list query asks for; `None` when it can match no job here (another tag).
fn list_filter(q: &[(String, String)], bucket: String) -> ApiResult<Option<JobFilter>> {
    let v = |name| query_value(q, name);
    if v("tag").is_some_and(|t| t != "ImageInspect") {
        return Ok(None);
    }
    let states = match v("states") {
        None => None,
        Some(s) => {
            let mut out = Vec::new();
            for name in s.split(',').map(str::trim) {
                if name == "All" {
                    out.clear();
                    break;
                }
                match JobState::from_name(name) {
                    // Jobs waiting out a storage outage are shown, and found, as Submitted.
                    Some(JobState::Submitted) => out.extend(JobState::WAITING),
                    Some(state) => out.push(state),
                    None => {
                        return Err(ApiError::invalid(format!(
                        "states must list All, Submitted, Running, Success, Failed, Pause or Cancel, not {name:?}"
                    )))
                    }
                }
            }
            (!out.is_empty()).then_some(out)
        }
    };
    Ok(Some(JobFilter {
        queue_id: v("queueId").map(String::from),
        states,
        object: v("inputObject").map(String::from),
        workflow_id: v("workflowId").map(String::from),
        batch_id: v("inventoryTriggerJobId").map(String::from),
        ..listing(q, bucket)?
    }))
}

/// What every listing by creation time takes (`GET /jobs`, `GET /workflowexecution`):
/// `orderByTime`, `size`, `nextToken`, `startCreationTime`, `endCreationTime`; the limit is one
/// more than the page, which tells whether there is a next one ([`next_token`]).
pub(crate) fn listing(q: &[(String, String)], bucket: String) -> ApiResult<JobFilter> {
    let v = |name| query_value(q, name);
    let ascending = match v("orderByTime") {
        None | Some("Desc") => false,
        Some("Asc") => true,
        Some(o) => return Err(ApiError::invalid(format!("orderByTime must be Desc or Asc, not {o:?}"))),
    };
    let size = match v("size") {
        None => 10,
        Some(s) => match s.parse::<i64>() {
            Ok(n @ 1..=100) => n,
            _ => return Err(ApiError::invalid(format!("size must be 1 to 100, not {s:?}"))),
        },
    };
    Ok(JobFilter {
        bucket,
        created_from: v("startCreationTime").map(|t| parse_time("startCreationTime", t)).transpose()?,
        created_to: v("endCreationTime").map(|t| parse_time("endCreationTime", t)).transpose()?,
        ascending,
        after: v("nextToken").map(parse_token).transpose()?,
        limit: size + 1,
        ..JobFilter::default()
    })
}

/// Cuts `records` (listed with [`listing`]'s limit) to the page and returns the `NextToken`:
/// empty on the last page.
pub(crate) fn next_token(records: &mut Vec<JobRecord>, filter: &JobFilter) -> String {
    let size = (filter.limit - 1) as usize;
    if records.len() <= size {
        return String::new();
    }
    records.truncate(size);
    records.last().map(token_of).unwrap_or_default()
}

/// The list cursor after `r`: its creation time and id.
fn token_of(r: &JobRecord) -> String {
    format!("{}-{}", r.created_at.timestamp_micros(), r.id)
}

fn parse_token(t: &str) -> ApiResult<(DateTime<Utc>, i64)> {
    let bad = || ApiError::invalid("nextToken is not a token this server issued");
    let (micros, id) = t.split_once('-').ok_or_else(bad)?;
    let micros: i64 = micros.parse().map_err(|_| bad())?;
    let at = Utc.timestamp_micros(micros).single().ok_or_else(bad)?;
    Ok((at, id.parse().map_err(|_| bad())?))
}

/// `2001-01-01T00:00:00+0800` as Tencent documents it; RFC 3339 (`+08:00`, `Z`) too.
pub(crate) fn parse_time(name: &str, t: &str) -> ApiResult<DateTime<Utc>> {
    let fixed = t.replace(' ', "+"); // an unescaped `+` arrives as a space
    DateTime::parse_from_str(&fixed, "%Y-%m-%dT%H:%M:%S%z")
        .or_else(|_| DateTime::parse_from_rfc3339(&fixed))
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| ApiError::invalid(format!("{name} must look like 2001-01-01T00:00:00+0800, not {t:?}")))
}
