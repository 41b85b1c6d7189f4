//! A stored job as Tencent's `JobsDetail`: shared by the API's answers and the callbacks.
use serde::Deserialize;
use stowaway_wire::{tencent_time, ImageInspectResult, Input, JobsDetail, Operation, SubmitRequest};

use crate::{JobRecord, JobState};

impl JobRecord {
    /// The job as Tencent shows it: in `GET /jobs` answers and in TaskFinish callbacks.
    pub fn jobs_detail(&self) -> JobsDetail {
        jobs_detail(self)
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
    }
}
