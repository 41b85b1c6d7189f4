//! What starts jobs without a client: a bucket's workflows (state, prefix, their runs) and batch
//! jobs (state and progress), each linking to its jobs.
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde::Deserialize;
use stowaway_store::{BatchFilter, WorkflowFilter};
use stowaway_wire::{BatchInput, WorkflowState};

use super::html::{escape, url};
use super::jobs::{buckets, store_failed};
use super::Viewer;
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/console/triggers", get(triggers))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct TriggersQuery {
    bucket: String,
}

async fn triggers(viewer: Viewer, State(app): State<AppState>, Query(q): Query<TriggersQuery>) -> Response {
    let (_, bucket) = match buckets(&app, &viewer, &q.bucket).await {
        Ok(b) => b,
        Err(page) => return page,
    };
    let jobs_of =
        |param: &str, id: &str| format!("/console/jobs?bucket={}&amp;{param}={}", url(&bucket), url(id));
    let mut body = format!("<h1>Workflows and batch jobs of {}</h1>", escape(&bucket));
    if viewer.may("ci:DescribeMediaWorkflows", Some(&bucket)) {
        let filter = WorkflowFilter { limit: 100, ..WorkflowFilter::default() };
        let workflows = match app.store.workflows(&bucket, &filter).await {
            Ok((_, w)) => w,
            Err(e) => return store_failed(&viewer, e),
        };
        body.push_str("<h2>Workflows</h2><table id=\"workflows\"><thead><tr><th>Name</th><th>State</th><th>Prefix</th><th>AutoProcess</th></tr></thead><tbody>");
        for w in &workflows {
            let auto = match w.spec.inspect.auto_process {
                true => w.spec.inspect.process_type.as_str(),
                false => "off",
            };
            body.push_str(&format!(
                "<tr><td><a href=\"{}\">{}</a></td><td>{}</td><td class=\"key\">{}</td><td>{auto}</td></tr>",
                jobs_of("workflow", &w.workflow_id),
                escape(&w.spec.name),
                if w.state == WorkflowState::Active { "Active" } else { "Paused" },
                escape(&w.spec.start.object_prefix)
            ));
        }
        body.push_str("</tbody></table>");
    }
    if viewer.may("ci:DescribeInventoryTriggerJobs", Some(&bucket)) {
        let filter = BatchFilter { limit: 50, ..BatchFilter::default() };
        let batches = match app.store.list_batches(&bucket, &filter).await {
            Ok(b) => b,
            Err(e) => return store_failed(&viewer, e),
        };
        body.push_str("<h2>Batch jobs</h2><table id=\"batches\"><thead><tr><th>Name</th><th>Over</th><th>State</th><th>Progress</th></tr></thead><tbody>");
        for b in &batches {
            let over = match &b.spec.input {
                BatchInput::Prefix(p) if p.is_empty() => "the whole bucket".to_string(),
                BatchInput::Prefix(p) => format!("{p}…"),
                BatchInput::Object(o) => o.clone(),
            };
            let progress = match b.progress() {
                Some(p) => format!(
                    "<progress max=\"100\" value=\"{p}\">{p} %</progress> {} of {}",
                    b.finished, b.children
                ),
                None => format!("listing: {} jobs so far, {} finished", b.children, b.finished),
            };
            body.push_str(&format!(
                "<tr><td><a href=\"{}\">{}</a></td><td class=\"key\">{}</td><td>{}</td><td>{progress}</td></tr>",
                jobs_of("batch", &b.batch_id),
                escape(&b.spec.name),
                escape(&over),
                b.shown_state()
            ));
        }
        body.push_str("</tbody></table>");
    }
    viewer.page("Workflows and batch jobs", &body)
}
