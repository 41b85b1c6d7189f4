//! Workflow answers (spec triggers.md §2.3): the spec echoed back in Tencent's `Topology` shape,
//! which Go reads as maps and Python as dicts, so a body read back can be sent again.
use chrono::{DateTime, Utc};
use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;

use super::{ExtFilter, WorkflowNotify, WorkflowSpec, WorkflowState};
use crate::job::{tencent_time, ImageInspectOptions};

/// One stored workflow, as the answers show it.
#[derive(Clone, Copy, Debug)]
pub struct WorkflowView<'a> {
    pub workflow_id: &'a str,
    pub bucket_id: &'a str,
    pub state: WorkflowState,
    /// The queue its jobs go to (`PicProcessQueueId`).
    pub queue_id: &'a str,
    pub spec: &'a WorkflowSpec,
    pub create_time: DateTime<Utc>,
    pub update_time: DateTime<Utc>,
}

#[derive(Serialize)]
#[serde(rename = "Response", rename_all = "PascalCase")]
struct MediaWorkflowResponse<'a> {
    request_id: &'a str,
    media_workflow: MediaWorkflowXml<'a>,
}

#[derive(Serialize)]
#[serde(rename = "Response", rename_all = "PascalCase")]
struct WorkflowListResponse<'a> {
    request_id: &'a str,
    total_count: i64,
    page_number: i64,
    page_size: i64,
    media_workflow_list: Vec<MediaWorkflowXml<'a>>,
    #[serde(rename = "NonExistIDs", skip_serializing_if = "<[String]>::is_empty")]
    non_exist_ids: &'a [String],
}

#[derive(Serialize)]
#[serde(rename = "Response", rename_all = "PascalCase")]
struct WorkflowIdResponse<'a> {
    request_id: &'a str,
    workflow_id: &'a str,
}

/// Workflow times are the job APIs' (`2022-06-29T14:37:44+0800`), as Tencent's list example shows.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct MediaWorkflowXml<'a> {
    name: &'a str,
    state: &'static str,
    workflow_id: &'a str,
    bucket_id: &'a str,
    topology: TopologyXml<'a>,
    create_time: String,
    update_time: String,
}

impl<'a> MediaWorkflowXml<'a> {
    fn of(w: &WorkflowView<'a>) -> Self {
        MediaWorkflowXml {
            name: &w.spec.name,
            state: w.state.as_str(),
            workflow_id: w.workflow_id,
            bucket_id: w.bucket_id,
            topology: TopologyXml::of(w),
            create_time: tencent_time(w.create_time),
            update_time: tencent_time(w.update_time),
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct TopologyXml<'a> {
    dependencies: DependenciesXml<'a>,
    nodes: NodesXml<'a>,
}

impl<'a> TopologyXml<'a> {
    pub(super) fn of(w: &WorkflowView<'a>) -> Self {
        let (spec, start) = (w.spec, &w.spec.start);
        TopologyXml {
            dependencies: DependenciesXml(&spec.node_name),
            nodes: NodesXml {
                start: StartNodeXml {
                    r#type: "Start",
                    input: StartInputXml {
                        // As requested, else the queue the workflow was given.
                        queue_id: start.queue_id.as_deref().unwrap_or(w.queue_id),
                        pic_process_queue_id: w.queue_id,
                        object_prefix: &start.object_prefix,
                        notify_config: NotifyXml::of(start.notify.as_ref()),
                        ext_filter: ExtFilterXml::of(&start.ext_filter),
                    },
                },
                node_name: &spec.node_name,
                inspect: InspectNodeXml {
                    r#type: "ImageInspect",
                    operation: OperationXml { image_inspect: &spec.inspect },
                },
            },
        }
    }
}

/// `<Start>node</Start><node>End</node>`: element names are the user's node names.
struct DependenciesXml<'a>(&'a str);

impl Serialize for DependenciesXml<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(2))?;
        map.serialize_entry("Start", self.0)?;
        map.serialize_entry(self.0, "End")?;
        map.end()
    }
}

struct NodesXml<'a> {
    start: StartNodeXml<'a>,
    node_name: &'a str,
    inspect: InspectNodeXml<'a>,
}

impl Serialize for NodesXml<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(2))?;
        map.serialize_entry("Start", &self.start)?;
        map.serialize_entry(self.node_name, &self.inspect)?;
        map.end()
    }
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct StartNodeXml<'a> {
    r#type: &'static str,
    input: StartInputXml<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct StartInputXml<'a> {
    queue_id: &'a str,
    pic_process_queue_id: &'a str,
    object_prefix: &'a str,
    notify_config: NotifyXml<'a>,
    ext_filter: ExtFilterXml,
}

/// Without a NotifyConfig: `<State>Off</State>` (SDK callers can read the element; sent back, it
/// parses to none again).
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct NotifyXml<'a> {
    state: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    event: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    r#type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    result_format: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    mq_mode: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    mq_region: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    mq_name: Option<&'a str>,
}

impl<'a> NotifyXml<'a> {
    fn of(n: Option<&'a WorkflowNotify>) -> Self {
        let Some(n) = n else {
            return NotifyXml {
                state: "Off",
                url: None,
                event: None,
                r#type: None,
                result_format: None,
                mq_mode: None,
                mq_region: None,
                mq_name: None,
            };
        };
        NotifyXml {
            state: "On",
            url: n.url.as_deref(),
            event: Some(n.event_list()),
            r#type: Some(n.kind.as_str()),
            result_format: Some(n.format.as_str()),
            mq_mode: n.mq_mode.as_deref(),
            mq_region: n.mq_region.as_deref(),
            mq_name: n.mq_name.as_deref(),
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ExtFilterXml {
    state: &'static str,
    video: bool,
    audio: bool,
    image: bool,
    content_type: bool,
    custom: bool,
    #[serde(skip_serializing_if = "String::is_empty")]
    custom_exts: String,
    all_file: bool,
}

impl ExtFilterXml {
    fn of(f: &ExtFilter) -> Self {
        ExtFilterXml {
            state: if f.on { "On" } else { "Off" },
            video: f.video,
            audio: f.audio,
            image: f.image,
            content_type: f.content_type,
            custom: f.custom,
            custom_exts: f.custom_exts.join("/"),
            all_file: f.all_file,
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct InspectNodeXml<'a> {
    r#type: &'static str,
    operation: OperationXml<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct OperationXml<'a> {
    image_inspect: &'a ImageInspectOptions,
}

/// `POST /workflow` and `PUT /workflow/<id>`:
/// `<Response><RequestId/><MediaWorkflow>…</MediaWorkflow></Response>`.
pub fn media_workflow_response(request_id: &str, w: &WorkflowView) -> String {
    crate::to_xml(&MediaWorkflowResponse { request_id, media_workflow: MediaWorkflowXml::of(w) })
}

/// `GET /workflow`: `TotalCount`, `PageNumber`, `PageSize`, a `MediaWorkflowList` per workflow
/// and a `NonExistIDs` per unknown id asked for.
pub fn workflow_list_response(
    request_id: &str,
    found: &[WorkflowView],
    total: i64,
    page_number: i64,
    page_size: i64,
    non_exist: &[String],
) -> String {
    crate::to_xml(&WorkflowListResponse {
        request_id,
        total_count: total,
        page_number,
        page_size,
        media_workflow_list: found.iter().map(MediaWorkflowXml::of).collect(),
        non_exist_ids: non_exist,
    })
}

/// `PUT /workflow/<id>?active|paused` and `DELETE /workflow/<id>`: Tencent documents an empty
/// body, but Python's SDK fails to parse one, and Go reads this.
pub fn workflow_id_response(request_id: &str, workflow_id: &str) -> String {
    crate::to_xml(&WorkflowIdResponse { request_id, workflow_id })
}
