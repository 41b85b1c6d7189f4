//! `/workflow`: workflows with an ImageInspect node, created, changed, switched on and off,
//! listed and deleted (triggers spec §2.1–§2.4). Runs are in `runs.rs`.
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::{get, put};
use axum::Router;
use stowaway_store::{Queue, UpdateRefused, WorkflowFilter, WorkflowRecord};
use stowaway_wire::{
    media_workflow_response, parse_workflow, workflow_id_response, workflow_list_response, CallbackKind,
    WorkflowSpec, WorkflowState, WorkflowView,
};

use crate::context::{query_value, xml_response, Target};
use crate::error::{ApiError, ApiResult};
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/workflow", get(list).post(create))
        .route("/workflow/{id}", put(update).delete(delete))
}

pub(crate) fn request_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// `queue_id`: the bucket's queue, where its runs go.
pub(crate) fn view<'a>(w: &'a WorkflowRecord, queue_id: &'a str) -> WorkflowView<'a> {
    WorkflowView {
        workflow_id: &w.workflow_id,
        bucket_id: &w.bucket,
        state: w.state,
        queue_id,
        spec: &w.spec,
        create_time: w.created_at,
        update_time: w.updated_at,
    }
}

pub(crate) fn no_such_workflow(id: &str, bucket: &str) -> ApiError {
    ApiError::not_found("NoSuchWorkflow", format!("no workflow {id} in bucket {bucket}"))
}

impl AppState {
    /// A workflow's settings checked as a job's would be: the queue it names is the bucket's
    /// (Stowaway has one per bucket), callbacks go where callbacks may go.
    async fn check_workflow(&self, target: &Target, spec: &WorkflowSpec) -> ApiResult<Queue> {
        let queue = self.queue_for_jobs(target).await?;
        if let Some(id) = spec.start.queue_id.as_deref().filter(|id| *id != queue.queue_id) {
            return Err(ApiError::not_found(
                "NoSuchQueue",
                format!(
                    "Start/Input/QueueId {id} is not bucket {}'s queue {}",
                    target.bucket, queue.queue_id
                ),
            ));
        }
        if let Some(n) = &spec.start.notify {
            match n.kind {
                CallbackKind::Tdmq => self.check_tdmq("Start/Input/NotifyConfig/Type")?,
                CallbackKind::Url => {
                    if let Some(url) = &n.url {
                        self.check_url("Start/Input/NotifyConfig/Url", url)?;
                    }
                }
                CallbackKind::Kafka => self.check_tdmq("Start/Input/NotifyConfig/Type")?,
            }
        }
        Ok(queue)
    }
}

/// `POST /workflow`: Paused unless the body asks for Active.
async fn create(State(app): State<AppState>, target: Target, body: Bytes) -> ApiResult<Response> {
    let spec = parse_workflow(&body)?;
    let queue = app.check_workflow(&target, &spec).await?;
    let w = app.store.create_workflow(&target.bucket, &spec).await?;
    app.workflows.forget(&target.bucket);
    tracing::info!(workflow_id = %w.workflow_id, bucket = %w.bucket, state = w.state.as_str(), "workflow created");
    Ok(xml_response(media_workflow_response(&request_id(), &view(&w, &queue.queue_id))))
}

/// `PUT /workflow/<id>?active` or `?paused` switches it; `PUT /workflow/<id>` with a body
/// replaces its configuration, which Tencent allows only while it is Paused.
async fn update(
    State(app): State<AppState>,
    target: Target,
    Path(id): Path<String>,
    Query(q): Query<Vec<(String, String)>>,
    body: Bytes,
) -> ApiResult<Response> {
    let switch = |name: &str| q.iter().any(|(k, _)| k == name);
    let state = match (switch("active"), switch("paused")) {
        (true, false) => Some(WorkflowState::Active),
        (false, true) => Some(WorkflowState::Paused),
        (true, true) => return Err(ApiError::invalid("give either ?active or ?paused, not both")),
        (false, false) => None,
    };
    if let Some(state) = state {
        if !app.store.set_workflow_state(&target.bucket, &id, state).await? {
            return Err(no_such_workflow(&id, &target.bucket));
        }
        app.workflows.forget(&target.bucket);
        tracing::info!(workflow_id = %id, state = state.as_str(), "workflow switched");
        // Tencent documents an empty body; Python's SDK cannot parse one (spec §2.1).
        return Ok(xml_response(workflow_id_response(&request_id(), &id)));
    }
    let spec = parse_workflow(&body)?;
    let queue = app.check_workflow(&target, &spec).await?;
    match app.store.update_workflow(&target.bucket, &id, &spec).await? {
        Ok(w) => {
            app.workflows.forget(&target.bucket);
            Ok(xml_response(media_workflow_response(&request_id(), &view(&w, &queue.queue_id))))
        }
        Err(UpdateRefused::Unknown) => Err(no_such_workflow(&id, &target.bucket)),
        Err(UpdateRefused::Active) => Err(ApiError::bad_request(
            "WorkflowActive",
            format!("workflow {id} is Active: pause it (PUT /workflow/{id}?paused) before changing it"),
        )),
    }
}

async fn delete(State(app): State<AppState>, target: Target, Path(id): Path<String>) -> ApiResult<Response> {
    if !app.store.delete_workflow(&target.bucket, &id).await? {
        return Err(no_such_workflow(&id, &target.bucket));
    }
    app.workflows.forget(&target.bucket);
    tracing::info!(workflow_id = %id, "workflow deleted");
    Ok(xml_response(workflow_id_response(&request_id(), &id)))
}

/// `GET /workflow?ids=&name=&pageNumber=&pageSize=`; ids not found are listed as `NonExistIDs`.
async fn list(
    State(app): State<AppState>,
    target: Target,
    Query(q): Query<Vec<(String, String)>>,
) -> ApiResult<Response> {
    let page = |name: &str, default: i64, max: i64| match query_value(&q, name) {
        None => Ok(default),
        Some(v) => match v.parse::<i64>() {
            Ok(n) if (1..=max).contains(&n) => Ok(n),
            _ => Err(ApiError::invalid(format!("{name} must be 1 to {max}, not {v:?}"))),
        },
    };
    let page_number = page("pageNumber", 1, i64::MAX / 100)?;
    let page_size = page("pageSize", 10, 100)?;
    let ids: Option<Vec<String>> = query_value(&q, "ids")
        .map(|v| v.split(',').map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect());
    let filter = WorkflowFilter {
        ids: ids.clone(),
        name: query_value(&q, "name").map(String::from),
        offset: (page_number - 1) * page_size,
        limit: page_size,
    };
    // Listing needs no queue (a deactivated bucket's workflows are still shown).
    let queue_id = app.store.queue_of_bucket(&target.bucket).await?.map(|q| q.queue_id).unwrap_or_default();
    let (total, found) = app.store.workflows(&target.bucket, &filter).await?;
    let non_exist: Vec<String> = match &ids {
        None => Vec::new(),
        Some(ids) => {
            let all =
                WorkflowFilter { ids: Some(ids.clone()), name: None, offset: 0, limit: ids.len() as i64 };
            let known = app.store.workflows(&target.bucket, &all).await?.1;
            ids.iter().filter(|id| !known.iter().any(|w| w.workflow_id == **id)).cloned().collect()
        }
    };
    let views: Vec<WorkflowView> = found.iter().map(|w| view(w, &queue_id)).collect();
    Ok(xml_response(workflow_list_response(&request_id(), &views, total, page_number, page_size, &non_exist)))
}
