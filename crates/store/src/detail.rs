//! A stored job as Tencent's `JobsDetail`: shared by the API's answers and the callbacks.
use serde::Deserialize;
use stowaway_wire::{
    tencent_time, ExecutionView, ImageInspectResult, Input, JobWorkflow, JobsDetail, Operation,
    SubmitRequest, TaskView,
};

use crate::triggers::REQUEST_WORKFLOW;

use crate::{JobRecord, JobState};

impl JobRecord {
    /// The job as Tencent shows it: in `GET /jobs` answers and in TaskFinish callbacks.
    pub fn jobs_detail(&self) -> JobsDetail {
        jobs_detail(self)
    }

    /// The workflow run this job is, if a workflow made it.
    pub fn workflow(&self) -> Option<JobWorkflow> {
        self.request.get(REQUEST_WORKFLOW).and_then(|v| JobWorkflow::deserialize(v).ok())
    }
}

fn jobs_detail(r: &JobRecord) -> JobsDetail {
    // Read in place: cloning the JSON trees first cost the notifier more than reading them.
    let request = SubmitRequest::deserialize(&r.request).ok();
    // A Running job may hold a checkpointed verdict; only a finished job shows it.
    let result = r
        .result
        .as_ref()
        .filter(|_| r.state.is_terminal())
        .and_then(|v| ImageInspectResult::deserialize(v).ok());
    let (code, message) = match (r.state, &result) {
        (JobState::Failed, Some(res)) => (res.code.clone(), res.message.clone()),
        (JobState::Failed, None) => {
            ("InternalError".to_string(), r.last_error.clone().unwrap_or_else(|| "the job failed".into()))
        }
        _ => ("Success".to_string(), String::new()),
    };
    let time_or_dash =
        |t: Option<chrono::DateTime<chrono::Utc>>| t.map_or_else(|| "-".to_string(), tencent_time);
    JobsDetail {
        code,
        message,
        job_id: r.job_id.clone(),
        state: r.state.as_str().to_string(),
        creation_time: tencent_time(r.created_at),
        start_time: time_or_dash(r.started_at),
        end_time: time_or_dash(r.finished_at.filter(|_| r.state.is_terminal())),
        queue_id: r.queue_id.clone(),
        tag: "ImageInspect".into(),
        input: Input { bucket_id: r.bucket.clone(), object: r.object.clone(), region: r.region.clone() },
        operation: Operation {
            image_inspect: request.as_ref().and_then(|q| q.image_inspect),
            user_data: request.and_then(|q| q.user_data),
            job_level: r.job_level,
            image_inspect_result: result,
        },
        workflow: r.workflow(),
    }
}

/// A job a workflow made, read as the run it is (a run has one task: this job).
pub struct Run<'a> {
    job: &'a JobRecord,
    pub workflow: JobWorkflow,
    detail: JobsDetail,
}

impl JobRecord {
    /// The run this job is; `None` for a job no workflow made.
    pub fn run(&self) -> Option<Run<'_>> {
        Some(Run { job: self, workflow: self.workflow()?, detail: self.jobs_detail() })
    }
}

impl Run<'_> {
    /// The run as Tencent shows an execution: its state is the job's, with Submitted, Running and
    /// Pause shown as Running; with the task (`GET /workflowexecution/<RunId>`, WorkflowFinish)
    /// or without (lists).
    pub fn view(&self, with_task: bool) -> ExecutionView<'_> {
        let job = self.job;
        let state = match job.state {
            JobState::Submitted | JobState::Running | JobState::Pause | JobState::Retrying => "Running",
            done => done.as_str(),
        };
        ExecutionView {
            run_id: &self.workflow.run_id,
            workflow_id: &self.workflow.workflow_id,
            workflow_name: &self.workflow.workflow_name,
            object: &job.object,
            bucket_id: &job.bucket,
            state,
            create_time: job.created_at,
            task: with_task.then(|| TaskView {
                node_name: &self.workflow.name,
                job_id: &job.job_id,
                state: job.state.as_str(),
                create_time: job.created_at,
                start_time: job.started_at,
                end_time: job.finished_at.filter(|_| job.state.is_terminal()),
                code: &self.detail.code,
                message: &self.detail.message,
            }),
        }
    }
}
