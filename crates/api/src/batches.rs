//! `/inventorytriggerjob`: batch jobs over what a bucket holds (triggers spec §1), created, read,
//! listed and cancelled; the worker's lister makes their children.
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use stowaway_store::{BatchFilter, BatchRecord, BatchState};
use stowaway_wire::{batch_response, parse_batch, BatchKind, BatchSpec, BatchView};

use crate::context::{query_value, xml_response, Target};
use crate::error::{ApiError, ApiResult};
use crate::workflows::{no_such_workflow, request_id};
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/inventorytriggerjob", get(list).post(create))
        .route("/inventorytriggerjob/{id}", get(one).put(cancel))
}

fn view<'a>(b: &'a BatchRecord, queue_id: &'a str) -> BatchView<'a> {
    let failed = b.state == BatchState::Failed;
    BatchView {
        batch_id: &b.batch_id,
        spec: &b.spec,
        state: b.shown_state(),
        code: if failed { "InternalError" } else { "Success" },
        message: if failed { b.last_error.as_deref().unwrap_or("") } else { "" },
        progress: b.progress(),
        queue_id,
        creation_time: b.created_at,
        start_time: b.started_at,
        end_time: b.finished_at.filter(|_| b.shown_state() != "Running"),
    }
}

impl AppState {
    /// A batch's settings checked as its children's would be: a Job batch's queue is the
    /// bucket's and its callbacks may go where they say; a Workflow batch's workflows exist.
    async fn check_batch(&self, target: &Target, spec: &BatchSpec) -> ApiResult<()> {
        let queue = self.queue_for_jobs(target).await?;
        match spec.kind {
            BatchKind::Job => {
                if let Some(id) = spec.queue_id.as_deref().filter(|id| *id != queue.queue_id) {
                    return Err(ApiError::not_found(
                        "NoSuchQueue",
                        format!(
                            "Operation/QueueId {id} is not bucket {}'s queue {}",
                            target.bucket, queue.queue_id
                        ),
                    ));
                }
                self.check_job_callback(&spec.child_request(""))
            }
            BatchKind::Workflow => {
                for id in &spec.workflow_ids {
                    if self.store.workflow(&target.bucket, id).await?.is_none() {
                        return Err(no_such_workflow(id, &target.bucket));
                    }
                }
                Ok(())
            }
        }
    }

    async fn queue_id_of(&self, bucket: &str) -> ApiResult<String> {
        Ok(self.store.queue_of_bucket(bucket).await?.map(|q| q.queue_id).unwrap_or_default())
    }
}

async fn create(State(app): State<AppState>, target: Target, body: Bytes) -> ApiResult<Response> {
    let spec = parse_batch(&body)?;
    app.check_batch(&target, &spec).await?;
    let b = app.store.create_batch(&target.bucket, &target.region, &spec).await?;
    tracing::info!(batch_id = %b.batch_id, bucket = %b.bucket, kind = spec.kind.as_str(), "batch created");
    let queue_id = app.queue_id_of(&target.bucket).await?;
    Ok(xml_response(batch_response(&request_id(), &[view(&b, &queue_id)], &[], None)))
}

/// `GET /inventorytriggerjob/<id>` (several, comma-separated, as `/jobs/<ids>`).
async fn one(State(app): State<AppState>, target: Target, Path(ids): Path<String>) -> ApiResult<Response> {
    let ids: Vec<String> =
        ids.split(',').map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect();
    if ids.is_empty() || ids.len() > 100 {
        return Err(ApiError::invalid("give 1 to 100 batch job ids"));
    }
    let found = app.store.batches_by_id(&target.bucket, &ids).await?;
    let missing: Vec<String> =
        ids.iter().filter(|id| !found.iter().any(|b| b.batch_id == **id)).cloned().collect();
    let queue_id = app.queue_id_of(&target.bucket).await?;
    let views: Vec<BatchView> = found.iter().map(|b| view(b, &queue_id)).collect();
    Ok(xml_response(batch_response(&request_id(), &views, &missing, None)))
}

/// `PUT /inventorytriggerjob/<id>?cancel` (also `?cancel=`, and without it, as Go sends it):
/// the listing stops and children not yet started are cancelled. 200, no body.
async fn cancel(State(app): State<AppState>, target: Target, Path(id): Path<String>) -> ApiResult<Response> {
    if !app.store.cancel_batch(&target.bucket, &id).await? {
        return Err(ApiError::not_found(
            "NoSuchJob",
            format!("no batch job {id} in bucket {}", target.bucket),
        ));
    }
    tracing::info!(batch_id = %id, "batch cancelled");
    Ok(().into_response())
}

/// `GET /inventorytriggerjob?type=&orderByTime=&states=&size=&nextToken=&startCreationTime=&endCreationTime=&workflowId=&jobId=&name=`.
/// Without `type`, both kinds (Java never sends it; Python always sends `Workflow`).
async fn list(
    State(app): State<AppState>,
    target: Target,
    Query(q): Query<Vec<(String, String)>>,
) -> ApiResult<Response> {
    let v = |name| query_value(&q, name);
    let kind = match v("type") {
        None => None,
        Some(t) => Some(
            BatchKind::from_name(t)
                .ok_or_else(|| ApiError::invalid(format!("type must be Job or Workflow, not {t:?}")))?,
        ),
    };
    let mut shown: Vec<&str> = Vec::new();
    for name in v("states").unwrap_or("All").split(',').map(str::trim) {
        match name {
            "All" => {
                shown.clear();
                break;
            }
            "Submitted" | "Running" | "Success" | "Failed" | "Cancel" | "Pause" => shown.push(name),
            _ => {
                return Err(ApiError::invalid(format!(
                    "states must list All, Submitted, Running, Success, Failed, Cancel or Pause, not {name:?}"
                )))
            }
        }
    }
    let limit = match v("size").map(str::parse::<i64>) {
        None => 10,
        Some(Ok(n @ 1..=100)) => n,
        Some(_) => return Err(ApiError::invalid("size must be 1 to 100")),
    };
    let time =
        |name: &'static str| query_value(&q, name).map(|t| crate::jobs::parse_time(name, t)).transpose();
    let filter = BatchFilter {
        kind,
        name: v("name").map(String::from),
        batch_id: v("jobId").map(String::from),
        workflow_id: v("workflowId").map(String::from),
        created_from: time("startCreationTime")?,
        created_to: time("endCreationTime")?,
        ascending: matches!(v("orderByTime"), Some("Asc")),
        after: v("nextToken")
            .map(|t| {
                t.parse::<i64>().map_err(|_| ApiError::invalid("nextToken is not a token this server issued"))
            })
            .transpose()?,
        limit: limit + 1,
    };
    let mut found = app.store.list_batches(&target.bucket, &filter).await?;
    let next_token = if found.len() as i64 > limit {
        found.truncate(limit as usize);
        found.last().map(|b| b.id.to_string())
    } else {
        None
    };
    // States as shown: a listed batch is Running until its last child finished.
    found.retain(|b| shown.is_empty() || shown.contains(&b.shown_state()));
    let queue_id = app.queue_id_of(&target.bucket).await?;
    let views: Vec<BatchView> = found.iter().map(|b| view(b, &queue_id)).collect();
    Ok(xml_response(batch_response(&request_id(), &views, &[], Some(next_token.as_deref().unwrap_or("")))))
}
