//! Workflow runs: started by hand (`POST /triggerworkflow`; uploads start them in `events.rs`),
//! and read back (`GET /workflowexecution[/<RunId>]`, spec §2.7). A run is one
//! job; its state is the job's, with Submitted, Running and Pause shown as Running.
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use std::sync::Arc;
use stowaway_store::{job_id_of, JobFilter, JobRecord, JobState, WorkflowRecord};
use stowaway_wire::{
    trigger_workflow_response, workflow_execution_list_response, workflow_execution_response, ExecutionView,
};

use crate::context::{query_value, xml_response, Target};
use crate::error::{ApiError, ApiResult};
use crate::jobs::{listing, next_token};
use crate::workflows::{no_such_workflow, request_id, view};
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/triggerworkflow", post(trigger))
        .route("/workflowexecution", get(list))
        .route("/workflowexecution/{run_id}", get(one))
}

impl AppState {
    /// The bucket's active workflows, cached briefly (an upload is matched against them).
    pub(crate) async fn active_workflows(&self, bucket: &str) -> ApiResult<Arc<Vec<WorkflowRecord>>> {
        if let Some(w) = self.workflows.get(bucket) {
            return Ok(w);
        }
        let w = Arc::new(self.store.active_workflows(bucket).await?);
        self.workflows.insert(bucket, &w);
        Ok(w)
    }
}

/// `POST /triggerworkflow?workflowId=&object=&name=`: one run of the workflow on the object,
/// whatever its state, prefix and ExtFilter (a person asked for it).
async fn trigger(
    State(app): State<AppState>,
    target: Target,
    Query(q): Query<Vec<(String, String)>>,
) -> ApiResult<Response> {
    let id = query_value(&q, "workflowId").ok_or_else(|| ApiError::invalid("workflowId is required"))?;
    let object = query_value(&q, "object").ok_or_else(|| ApiError::invalid("object is required"))?;
    stowaway_wire::validate_object_key(object)?;
    let w =
        app.store.workflow(&target.bucket, id).await?.ok_or_else(|| no_such_workflow(id, &target.bucket))?;
    let queue = app.queue_for_jobs(&target).await?;
    let record = app.submitter.submit(w.run(&queue, object, None)).await?;
    let run = record.workflow().expect("a workflow's job");
    tracing::info!(workflow_id = %id, run_id = %run.run_id, object, "workflow triggered");
    Ok(xml_response(trigger_workflow_response(&request_id(), &run.run_id)))
}

/// `GET /workflowexecution/<RunId>`: the run, its one task, and the workflow's topology if the
/// workflow still exists.
async fn one(State(app): State<AppState>, target: Target, Path(run_id): Path<String>) -> ApiResult<Response> {
    let missing = || ApiError::not_found("NoSuchWorkflowExecution", format!("no workflow run {run_id}"));
    let job_id = job_id_of(&run_id).ok_or_else(missing)?;
    let jobs = app.store.jobs_by_id(&target.bucket, &[job_id]).await?;
    let run = jobs.first().and_then(JobRecord::run).ok_or_else(missing)?;
    let e = run.view(true);
    let workflow = app.store.workflow(&target.bucket, &run.workflow.workflow_id).await?;
    let queue_id = app.store.queue_of_bucket(&target.bucket).await?.map(|q| q.queue_id).unwrap_or_default();
    let topology = workflow.as_ref().map(|w| view(w, &queue_id));
    Ok(xml_response(workflow_execution_response(&request_id(), &e, topology.as_ref())))
}

/// `GET /workflowexecution?workflowId=&name=&orderByTime=&states=&size=&nextToken=&startCreationTime=&endCreationTime=&jobId=`
async fn list(
    State(app): State<AppState>,
    target: Target,
    Query(q): Query<Vec<(String, String)>>,
) -> ApiResult<Response> {
    let v = |name| query_value(&q, name);
    let workflow_id = v("workflowId").ok_or_else(|| ApiError::invalid("workflowId is required"))?;
    let mut states = Vec::new();
    for name in v("states").unwrap_or("All").split(',').map(str::trim) {
        match name {
            "All" => {
                states.clear();
                break;
            }
            "Running" => {
                states.extend([JobState::Running, JobState::Pause].into_iter().chain(JobState::WAITING))
            }
            "Success" | "Failed" | "Cancel" => states.extend(JobState::from_name(name)),
            _ => {
                return Err(ApiError::invalid(format!(
                    "states must list All, Running, Success, Failed or Cancel, not {name:?}"
                )))
            }
        }
    }
    let filter = JobFilter {
        workflow_id: Some(workflow_id.to_string()),
        object: v("name").map(String::from),
        states: (!states.is_empty()).then_some(states),
        batch_id: v("jobId").map(String::from),
        ..listing(&q, target.bucket.clone())?
    };
    let mut jobs = app.store.list_jobs(&filter).await?;
    let next_token = next_token(&mut jobs, &filter);
    let runs: Vec<_> = jobs.iter().filter_map(JobRecord::run).collect();
    let runs: Vec<ExecutionView> = runs.iter().map(|r| r.view(false)).collect();
    Ok(xml_response(workflow_execution_list_response(&request_id(), &runs, &next_token)))
}
