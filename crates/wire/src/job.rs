//! `JobsDetail` as Tencent returns it (submit, query, list and callbacks), and the result shapes.
use chrono::{DateTime, FixedOffset, Utc};
use serde::{Deserialize, Serialize};
use stowaway_detect::{Confidence, Report};

use crate::submit::ProcessType;
use crate::text::{bool_from_text, confidence_from_text, confidence_to_text, to_text};

/// Tencent's time form, `2022-06-27T15:23:10+0800` (offset without a colon), in China Standard
/// Time as Tencent's servers answer.
pub fn tencent_time(t: DateTime<Utc>) -> String {
    use chrono::{Datelike, Timelike};
    // Written out rather than through a strftime pattern, which is parsed again on every call
    // (a callback renders three of these).
    let cst = t.with_timezone(&FixedOffset::east_opt(8 * 3600).expect("valid offset"));
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}+0800",
        cst.year(),
        cst.month(),
        cst.day(),
        cst.hour(),
        cst.minute(),
        cst.second()
    )
}

/// One job, in the seed's element order.
#[derive(Clone, Debug, Serialize)]
#[serde(rename = "JobsDetail", rename_all = "PascalCase")]
pub struct JobsDetail {
    pub code: String,
    pub message: String,
    pub job_id: String,
    pub state: String,
    pub creation_time: String,
    /// `-` until known.
    pub start_time: String,
    pub end_time: String,
    pub queue_id: String,
    pub tag: String,
    pub input: Input,
    pub operation: Operation,
    /// Only for jobs a workflow run created (spec §2.5).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workflow: Option<JobWorkflow>,
}

/// The workflow run a job belongs to: `<Workflow><RunId/><WorkflowId/><WorkflowName/><Name/></Workflow>`,
/// `Name` being the node's. Also stored with the job, hence `Deserialize`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct JobWorkflow {
    pub run_id: String,
    pub workflow_id: String,
    pub workflow_name: String,
    pub name: String,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Input {
    pub bucket_id: String,
    pub object: String,
    pub region: String,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Operation {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_inspect: Option<ImageInspectOptions>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_data: Option<String>,
    #[serde(serialize_with = "to_text")]
    pub job_level: i16,
    /// Not returned while the job is in progress.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_inspect_result: Option<ImageInspectResult>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ImageInspectOptions {
    #[serde(serialize_with = "to_text", deserialize_with = "bool_from_text")]
    pub auto_process: bool,
    pub process_type: ProcessType,
}

/// Also the worker's stored verdict (`jobs.result`), hence `Deserialize`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ImageInspectResult {
    /// `Success` or `Failed`.
    pub state: String,
    pub code: String,
    pub message: String,
    pub input_object_name: String,
    pub input_object_url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub process_result: Option<ProcessResult>,
    /// Stowaway's extension: whether the verdict tags were written (`STOWAWAY_OBJECT_TAGS=on`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tagging_result: Option<TaggingResult>,
}

/// The detector's verdict in Tencent's spelling. The `Suspicious*` fields are omitted when the
/// object is clean (as the synchronous API does; every SDK parses either).
///
/// `SuspiciousConfidence` is Stowaway's extension (`possible`, `likely` or `certain`: the most
/// certain finding's, what AutoProcess compares with `STOWAWAY_AUTOPROCESS_MIN_CONFIDENCE`),
/// after `SuspiciousType`; the SDKs keep unknown elements (Python, Node) or ignore them (Go,
/// Java). Results stored before it existed read back without it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename = "ProcessResult", rename_all = "PascalCase")]
pub struct ProcessResult {
    pub pic_size: u64,
    pub pic_type: String,
    #[serde(serialize_with = "to_text", deserialize_with = "bool_from_text")]
    pub suspicious: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suspicious_begin_byte: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suspicious_end_byte: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suspicious_size: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suspicious_type: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "confidence_to_text",
        deserialize_with = "confidence_from_text"
    )]
    pub suspicious_confidence: Option<Confidence>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_process_result: Option<AutoProcessResult>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AutoProcessResult {
    /// `Success` or `Failed` (Tencent's values), or `Skipped` (Stowaway's: the verdict's
    /// confidence was below `STOWAWAY_AUTOPROCESS_MIN_CONFIDENCE`, the object was not touched).
    pub code: String,
    pub message: String,
}

/// The verdict tags' outcome, in `AutoProcessResult`'s shape: `Success` (the message names any
/// of ours left out for want of room among S3's ten) or `Failed` (the store's refusal).
pub type TaggingResult = AutoProcessResult;

/// The synchronous ImageInspect answer (`?ci-process=ImageInspect`), JSON with numbers and a
/// boolean (Go's SDK needs both), `suspicious*` only when suspicious (spec §3). Same facts as
/// [`ProcessResult`], Tencent's other spelling, `suspiciousConfidence` (Stowaway's) included.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncResult {
    pub pic_size: u64,
    pub pic_type: String,
    pub suspicious: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suspicious_begin_byte: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suspicious_end_byte: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suspicious_size: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suspicious_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "confidence_to_text")]
    pub suspicious_confidence: Option<Confidence>,
}

impl From<&Report> for SyncResult {
    fn from(r: &Report) -> SyncResult {
        let p = ProcessResult::from(r);
        SyncResult {
            pic_size: p.pic_size,
            pic_type: p.pic_type,
            suspicious: p.suspicious,
            suspicious_begin_byte: p.suspicious_begin_byte,
            suspicious_end_byte: p.suspicious_end_byte,
            suspicious_size: p.suspicious_size,
            suspicious_type: p.suspicious_type,
            suspicious_confidence: p.suspicious_confidence,
        }
    }
}

impl From<&Report> for ProcessResult {
    fn from(r: &Report) -> ProcessResult {
        let p = r.primary();
        ProcessResult {
            pic_size: r.pic_size,
            pic_type: r.pic_type.as_str().to_string(),
            suspicious: r.suspicious(),
            suspicious_begin_byte: p.map(|f| f.begin),
            suspicious_end_byte: p.map(|f| f.end),
            suspicious_size: p.map(|f| f.size()),
            suspicious_type: p.map(|f| f.kind.as_str().to_string()),
            suspicious_confidence: r.confidence(),
            auto_process_result: None,
        }
    }
}

/// `POST /jobs`, `GET /jobs/<ids>` and `GET /jobs` answers: the jobs, the ids that do not exist
/// (query), and the next page's token (list; empty on the last page).
#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename = "Response", rename_all = "PascalCase")]
pub struct JobsResponse {
    pub jobs_detail: Vec<JobsDetail>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub non_exist_job_ids: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}
