//! Batch answers (spec triggers.md §1.5): the request echoed back (`Name`, `Type`, `Input`, the
//! whole `Operation`) plus the batch's status, with the fields Go reads beside the documented ones.
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{BatchInput, BatchKind, BatchSpec, TimeInterval};
use crate::job::{tencent_time, ImageInspectOptions};
use crate::submit::{CallBackKafkaConfig, CallBackMqConfig};

/// A batch as the API shows it (create, get, list).
#[derive(Clone, Copy, Debug)]
pub struct BatchView<'a> {
    pub batch_id: &'a str,
    pub spec: &'a BatchSpec,
    /// `Submitted`, `Running`, `Success`, `Failed`, `Cancel` or `Pause`.
    pub state: &'a str,
    pub code: &'a str,
    pub message: &'a str,
    /// Percent done, when known.
    pub progress: Option<u8>,
    /// The bucket's queue: shown for a Job batch that named none.
    pub queue_id: &'a str,
    pub creation_time: DateTime<Utc>,
    pub start_time: Option<DateTime<Utc>>,
    pub end_time: Option<DateTime<Utc>>,
}

#[derive(Serialize)]
#[serde(rename = "Response", rename_all = "PascalCase")]
struct BatchResponse<'a> {
    request_id: &'a str,
    jobs_detail: Vec<DetailXml<'a>>,
    /// The documented plural (Go's struct reads `NonExistJobId` and sees none; spec §4.4).
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    non_exist_job_ids: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    next_token: Option<&'a str>,
}

/// `Progress` only when known (only Go reads it); `Tag`, `QueueId` here too for Job batches (Go reads them).
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct DetailXml<'a> {
    code: &'a str,
    message: &'a str,
    name: &'a str,
    r#type: &'static str,
    job_id: &'a str,
    state: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    progress: Option<u8>,
    creation_time: String,
    start_time: String,
    end_time: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    tag: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    queue_id: Option<&'a str>,
    input: InputXml<'a>,
    operation: OperationXml<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct InputXml<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    prefix: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    object: Option<&'a str>,
}

/// Workflow batches: `TimeInterval`, `WorkflowIds` (the documented example); Job batches:
/// `TimeInterval`, `Tag`, `QueueId`, `UserData`, `JobLevel`, `CallBack*`, `JobParam`.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct OperationXml<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    time_interval: Option<TimeIntervalXml>,
    /// Stowaway's, only when set.
    #[serde(skip_serializing_if = "Option::is_none")]
    detector_outdated: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    workflow_ids: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tag: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    queue_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_data: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    job_level: Option<i16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    call_back: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    call_back_format: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    call_back_type: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    call_back_mq_config: Option<MqXml<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    call_back_kafka_config: Option<&'a CallBackKafkaConfig>,
    #[serde(skip_serializing_if = "Option::is_none")]
    job_param: Option<JobParamXml<'a>>,
}

/// Only the bounds given: an open side is left out, so the answer sent back means the same batch.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct TimeIntervalXml {
    #[serde(skip_serializing_if = "Option::is_none")]
    start: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    end: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct MqXml<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    mq_mode: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    mq_region: Option<&'a str>,
    mq_name: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct JobParamXml<'a> {
    image_inspect: &'a ImageInspectOptions,
}

/// `-` until known, as the job APIs say it.
fn maybe(t: Option<DateTime<Utc>>) -> String {
    t.map(tencent_time).unwrap_or_else(|| "-".into())
}

impl<'a> DetailXml<'a> {
    fn of(b: &BatchView<'a>) -> Self {
        let spec = b.spec;
        let job = spec.kind == BatchKind::Job;
        // As requested, else the queue the batch was given.
        let queue_id = job.then(|| spec.queue_id.as_deref().unwrap_or(b.queue_id));
        let tag = job.then_some("ImageInspect");
        DetailXml {
            code: b.code,
            message: b.message,
            name: &spec.name,
            r#type: spec.kind.as_str(),
            job_id: b.batch_id,
            state: b.state,
            progress: b.progress,
            creation_time: tencent_time(b.creation_time),
            start_time: maybe(b.start_time),
            end_time: maybe(b.end_time),
            tag,
            queue_id,
            input: match &spec.input {
                // The whole bucket is echoed as the Python demo's `/`, which parses back to it.
                BatchInput::Prefix(p) => {
                    InputXml { prefix: Some(if p.is_empty() { "/" } else { p }), object: None }
                }
                BatchInput::Object(o) => InputXml { prefix: None, object: Some(o) },
            },
            operation: OperationXml {
                time_interval: spec.time_interval.as_ref().map(TimeIntervalXml::of),
                detector_outdated: spec.only_outdated.then_some("true"),
                workflow_ids: (!job).then(|| spec.workflow_ids.join(",")),
                tag,
                queue_id,
                user_data: spec.user_data.as_deref().filter(|_| job),
                job_level: job.then_some(spec.job_level),
                call_back: spec.callback.as_deref().filter(|_| job),
                call_back_format: spec.callback_format.as_deref().filter(|_| job),
                call_back_type: spec.callback_type.as_deref().filter(|_| job),
                call_back_mq_config: spec.callback_mq.as_ref().filter(|_| job).map(MqXml::of),
                call_back_kafka_config: spec.callback_kafka.as_ref().filter(|_| job),
                job_param: job.then_some(JobParamXml { image_inspect: &spec.inspect }),
            },
        }
    }
}

impl TimeIntervalXml {
    fn of(t: &TimeInterval) -> Self {
        TimeIntervalXml { start: t.start.map(tencent_time), end: t.end.map(tencent_time) }
    }
}

impl<'a> MqXml<'a> {
    fn of(m: &'a CallBackMqConfig) -> Self {
        MqXml { mq_mode: m.mq_mode.as_deref(), mq_region: m.mq_region.as_deref(), mq_name: &m.mq_name }
    }
}

/// Every `/inventorytriggerjob` answer: `<Response><RequestId/><JobsDetail>…</JobsDetail>*`, then
/// a `NonExistJobIds` per unknown id asked for (get) and the `NextToken` (list; empty on the
/// last page).
pub fn batch_response(
    request_id: &str,
    found: &[BatchView],
    non_exist: &[String],
    next_token: Option<&str>,
) -> String {
    crate::to_xml(&BatchResponse {
        request_id,
        jobs_detail: found.iter().map(DetailXml::of).collect(),
        non_exist_job_ids: non_exist,
        next_token,
    })
}
