//! Callback bodies (spec §4): what a finished job's notification carries, in XML (Tencent's
//! documented form, the default) or JSON (inferred, §4.2: the same element names under
//! `{"EventName", "JobsDetail"}`, without the `Response` root).
use serde::Serialize;

use crate::job::JobsDetail;

/// The event Tencent sends when a job finishes.
pub const TASK_FINISH: &str = "TaskFinish";

#[derive(Serialize)]
#[serde(rename = "Response", rename_all = "PascalCase")]
struct Notification<'a> {
    event_name: &'static str,
    jobs_detail: &'a JobsDetail,
}

/// `<Response><EventName>TaskFinish</EventName><JobsDetail>…</JobsDetail></Response>`, sent as
/// `application/xml`.
pub fn callback_xml(detail: &JobsDetail) -> String {
    crate::to_xml(&Notification { event_name: TASK_FINISH, jobs_detail: detail })
}

/// `{"EventName":"TaskFinish","JobsDetail":{…}}`, sent as `application/json`. Leaves are strings
/// as in the XML, except where the synchronous API's JSON uses numbers and booleans (`PicSize`,
/// `Suspicious*`): those keep their JSON types, so one parser serves both APIs.
pub fn callback_json(detail: &JobsDetail) -> String {
    let mut value = serde_json::to_value(Notification { event_name: TASK_FINISH, jobs_detail: detail })
        .expect("plain data");
    let suspicious = value
        .pointer_mut("/JobsDetail/Operation/ImageInspectResult/ProcessResult/Suspicious")
        .filter(|v| v.is_string());
    if let Some(v) = suspicious {
        *v = serde_json::Value::Bool(v.as_str() == Some("true"));
    }
    value.to_string()
}
