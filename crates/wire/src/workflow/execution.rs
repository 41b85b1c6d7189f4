//! Workflow runs (spec triggers.md §2.6, §2.7): the manual trigger's answer, `GET
//! /workflowexecution[/<RunId>]` and the `WorkflowFinish` callback. Each API has its own time
//! format, copied as Tencent answers: `+08:00` for runs, `YYYY-MM-DD HH:MM:SS+0800` in the callback.
use chrono::{DateTime, FixedOffset, Utc};
use serde::Serialize;

use super::render::TopologyXml;
use super::WorkflowView;

/// The callback event sent when a run ends.
pub const WORKFLOW_FINISH: &str = "WorkflowFinish";

/// One run of a workflow.
#[derive(Clone, Copy, Debug)]
pub struct ExecutionView<'a> {
    pub run_id: &'a str,
    pub workflow_id: &'a str,
    pub workflow_name: &'a str,
    pub object: &'a str,
    pub bucket_id: &'a str,
    /// `Running`, `Success`, `Failed` or `Cancel`.
    pub state: &'a str,
    pub create_time: DateTime<Utc>,
    /// The run's ImageInspect job, once created.
    pub task: Option<TaskView<'a>>,
}

/// A run's node: its job.
#[derive(Clone, Copy, Debug)]
pub struct TaskView<'a> {
    pub node_name: &'a str,
    pub job_id: &'a str,
    pub state: &'a str,
    pub create_time: DateTime<Utc>,
    pub start_time: Option<DateTime<Utc>>,
    pub end_time: Option<DateTime<Utc>>,
    pub code: &'a str,
    pub message: &'a str,
}

/// `2022-08-09T14:54:17+08:00`.
fn run_time(t: DateTime<Utc>) -> String {
    cst(t, 'T', "+08:00")
}

/// `2022-08-09 14:54:17+0800`.
fn callback_time(t: DateTime<Utc>) -> String {
    cst(t, ' ', "+0800")
}

/// Written out like `tencent_time`, rather than through a strftime pattern parsed on every call.
fn cst(t: DateTime<Utc>, separator: char, offset: &str) -> String {
    use chrono::{Datelike, Timelike};
    let c = t.with_timezone(&FixedOffset::east_opt(8 * 3600).expect("valid offset"));
    let (date, time) = ((c.year(), c.month(), c.day()), (c.hour(), c.minute(), c.second()));
    format!(
        "{:04}-{:02}-{:02}{separator}{:02}:{:02}:{:02}{offset}",
        date.0, date.1, date.2, time.0, time.1, time.2
    )
}

/// `-` until known, as the job APIs say it.
fn maybe(t: Option<DateTime<Utc>>, form: fn(DateTime<Utc>) -> String) -> String {
    t.map(form).unwrap_or_else(|| "-".into())
}

#[derive(Serialize)]
#[serde(rename = "Response", rename_all = "PascalCase")]
struct TriggerResponse<'a> {
    request_id: &'a str,
    instance_id: &'a str,
}

/// `POST /triggerworkflow`: `<Response><RequestId/><InstanceId/></Response>`.
pub fn trigger_workflow_response(request_id: &str, instance_id: &str) -> String {
    crate::to_xml(&TriggerResponse { request_id, instance_id })
}

#[derive(Serialize)]
#[serde(rename = "Response", rename_all = "PascalCase")]
struct ExecutionResponse<'a> {
    request_id: &'a str,
    workflow_execution: ExecutionXml<'a>,
}

/// Go's struct reads `WorkflowName`, Tencent's fixture has `Name`: both are sent, and
/// `CreationTime` beside `CreateTime` for the same reason.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ExecutionXml<'a> {
    workflow_id: &'a str,
    workflow_name: &'a str,
    name: &'a str,
    run_id: &'a str,
    create_time: String,
    creation_time: String,
    object: &'a str,
    state: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    topology: Option<TopologyXml<'a>>,
    tasks: Vec<TaskXml<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct TaskXml<'a> {
    r#type: &'static str,
    job_id: &'a str,
    create_time: String,
    name: &'a str,
    state: &'a str,
    start_time: String,
    end_time: String,
    code: &'a str,
    message: &'a str,
}

/// `GET /workflowexecution/<RunId>`; `topology_of` the run's workflow, if it still exists.
pub fn workflow_execution_response(
    request_id: &str,
    e: &ExecutionView,
    topology_of: Option<&WorkflowView>,
) -> String {
    let created = run_time(e.create_time);
    crate::to_xml(&ExecutionResponse {
        request_id,
        workflow_execution: ExecutionXml {
            workflow_id: e.workflow_id,
            workflow_name: e.workflow_name,
            name: e.workflow_name,
            run_id: e.run_id,
            create_time: created.clone(),
            creation_time: created,
            object: e.object,
            state: e.state,
            topology: topology_of.map(TopologyXml::of),
            tasks: e
                .task
                .iter()
                .map(|t| TaskXml {
                    r#type: "ImageInspect",
                    job_id: t.job_id,
                    create_time: run_time(t.create_time),
                    name: t.node_name,
                    state: t.state,
                    start_time: maybe(t.start_time, run_time),
                    end_time: maybe(t.end_time, run_time),
                    code: t.code,
                    message: t.message,
                })
                .collect(),
        },
    })
}

#[derive(Serialize)]
#[serde(rename = "Response", rename_all = "PascalCase")]
struct ExecutionListResponse<'a> {
    request_id: &'a str,
    workflow_execution_list: Vec<ExecutionListXml<'a>>,
    next_token: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ExecutionListXml<'a> {
    run_id: &'a str,
    workflow_id: &'a str,
    object: &'a str,
    create_time: String,
    creation_time: String,
    state: &'a str,
}

/// `GET /workflowexecution`: a `WorkflowExecutionList` per run, then `NextToken` (empty on the
/// last page).
pub fn workflow_execution_list_response(
    request_id: &str,
    runs: &[ExecutionView],
    next_token: &str,
) -> String {
    crate::to_xml(&ExecutionListResponse {
        request_id,
        workflow_execution_list: runs
            .iter()
            .map(|e| ExecutionListXml {
                run_id: e.run_id,
                workflow_id: e.workflow_id,
                object: e.object,
                create_time: run_time(e.create_time),
                creation_time: run_time(e.create_time),
                state: e.state,
            })
            .collect(),
        next_token,
    })
}

#[derive(Serialize)]
#[serde(rename = "Response", rename_all = "PascalCase")]
struct FinishNotification<'a> {
    event_name: &'static str,
    workflow_execution: FinishXml<'a>,
}

/// The documented callback's elements in its order; no `CosHeaders` (Stowaway keeps none).
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct FinishXml<'a> {
    workflow_id: &'a str,
    workflow_name: &'a str,
    run_id: &'a str,
    state: &'a str,
    bucket_id: &'a str,
    object: &'a str,
    create_time: String,
    tasks: Vec<FinishTaskXml<'a>>,
}

/// The documented task elements, with `Code` and `Message` (why a task failed) instead of the
/// template ones an ImageInspect node has none of.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct FinishTaskXml<'a> {
    r#type: &'static str,
    create_time: String,
    end_time: String,
    state: &'a str,
    job_id: &'a str,
    name: &'a str,
    code: &'a str,
    message: &'a str,
}

fn finish<'a>(e: &ExecutionView<'a>) -> FinishNotification<'a> {
    FinishNotification {
        event_name: WORKFLOW_FINISH,
        workflow_execution: FinishXml {
            workflow_id: e.workflow_id,
            workflow_name: e.workflow_name,
            run_id: e.run_id,
            state: e.state,
            bucket_id: e.bucket_id,
            object: e.object,
            create_time: callback_time(e.create_time),
            tasks: e
                .task
                .iter()
                .map(|t| FinishTaskXml {
                    r#type: "ImageInspect",
                    create_time: callback_time(t.create_time),
                    end_time: maybe(t.end_time, callback_time),
                    state: t.state,
                    job_id: t.job_id,
                    name: t.node_name,
                    code: t.code,
                    message: t.message,
                })
                .collect(),
        },
    }
}

/// The `WorkflowFinish` callback, `application/xml`:
/// `<Response><EventName>WorkflowFinish</EventName><WorkflowExecution>…</WorkflowExecution></Response>`.
pub fn workflow_finish_xml(e: &ExecutionView) -> String {
    crate::to_xml(&finish(e))
}

/// The `WorkflowFinish` callback, `application/json` (Tencent documents none): the XML's tree
/// without the `Response` root, `{"EventName":"WorkflowFinish","WorkflowExecution":{…}}`, every
/// leaf a string and `Tasks` always an array (a repeated element).
pub fn workflow_finish_json(e: &ExecutionView) -> String {
    serde_json::to_string(&finish(e)).expect("plain data")
}
