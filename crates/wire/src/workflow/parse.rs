//! `POST /workflow` and `PUT /workflow/<id>` bodies, as the Python SDK sends them (declaration,
//! Start first, empty elements for defaults) and as the Go SDK does (no declaration, children
//! sorted by name, `<State></State>`). Unknown elements are ignored; every mistake names its element.
use std::fmt;
use std::marker::PhantomData;

use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};
use serde::Deserialize;

use super::{ExtFilter, StartInput, WorkflowEvent, WorkflowNotify, WorkflowSpec, WorkflowState};
use crate::error::WireError;
use crate::notify::{CallbackFormat, CallbackKind};
use crate::queue::one_of;
use crate::submit::{check_text, check_url, inspect_options, parse_xml, trimmed, RawInspect};

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct RawRequest {
    media_workflow: Option<RawWorkflow>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct RawWorkflow {
    name: Option<String>,
    state: Option<String>,
    topology: Option<RawTopology>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct RawTopology {
    dependencies: Option<Children<String>>,
    nodes: Option<Children<RawNode>>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct RawNode {
    r#type: Option<String>,
    input: Option<RawStartInput>,
    operation: Option<RawOperation>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct RawOperation {
    image_inspect: Option<RawInspect>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct RawStartInput {
    object_prefix: Option<String>,
    queue_id: Option<String>,
    notify_config: Option<RawNotify>,
    ext_filter: Option<RawExtFilter>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct RawNotify {
    state: Option<String>,
    r#type: Option<String>,
    url: Option<String>,
    event: Option<String>,
    result_format: Option<String>,
    mq_mode: Option<String>,
    mq_region: Option<String>,
    mq_name: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct RawExtFilter {
    state: Option<String>,
    video: Option<String>,
    audio: Option<String>,
    image: Option<String>,
    content_type: Option<String>,
    custom: Option<String>,
    custom_exts: Option<String>,
    all_file: Option<String>,
}

/// An element's children in document order, named by the user (node names), repeats kept so
/// they can be refused.
struct Children<T>(Vec<(String, T)>);

impl<T> Children<T> {
    fn get(&self, name: &str) -> Option<&T> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    fn take(&mut self, name: &str) -> Option<T> {
        let i = self.0.iter().position(|(n, _)| n == name)?;
        Some(self.0.remove(i).1)
    }

    fn repeated(&self) -> Option<&str> {
        let names = &self.0;
        names
            .iter()
            .enumerate()
            .find(|(i, (n, _))| names[..*i].iter().any(|(m, _)| m == n))
            .map(|(_, (n, _))| n.as_str())
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Children<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct ChildVisitor<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for ChildVisitor<T> {
            type Value = Children<T>;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("child elements")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Children<T>, A::Error> {
                let mut children = Vec::new();
                while let Some(name) = map.next_key::<String>()? {
                    // quick-xml offers attributes (`@name`) and stray text (`$text`) as keys too.
                    if name.starts_with('@') || name.starts_with('$') {
                        map.next_value::<IgnoredAny>()?;
                        continue;
                    }
                    children.push((name, map.next_value()?));
                }
                Ok(Children(children))
            }
        }
        d.deserialize_map(ChildVisitor(PhantomData))
    }
}

const TOPOLOGY: &str = "MediaWorkflow/Topology";
const ONLY: &str = "Stowaway runs ImageInspect workflows only (Start → one ImageInspect node → End)";

/// Parses and validates a workflow body (`<Request><MediaWorkflow>…`).
pub fn parse_workflow(body: &[u8]) -> Result<WorkflowSpec, WireError> {
    let raw: RawRequest = parse_xml(body)?;
    let workflow =
        raw.media_workflow.ok_or_else(|| WireError::invalid_argument("MediaWorkflow is required"))?;
    let name = workflow_name(workflow.name)?;
    let state = trimmed(workflow.state)
        .map(|s| {
            WorkflowState::from_name(&s).ok_or_else(|| {
                WireError::invalid_argument(format!(
                    "MediaWorkflow/State must be Active or Paused, not {s:?}"
                ))
            })
        })
        .transpose()?;
    let topology =
        workflow.topology.ok_or_else(|| WireError::invalid_argument(format!("{TOPOLOGY} is required")))?;
    let (node_name, start_node, inspect_node) = topology_shape(topology)?;

    let at = format!("{TOPOLOGY}/Nodes/Start/Input");
    let input = start_node.input.unwrap_or_default();
    let start = StartInput {
        object_prefix: object_prefix(&at, input.object_prefix)?,
        queue_id: trimmed(input.queue_id)
            .map(|q| check_text(&format!("{at}/QueueId"), &q).map(|_| q))
            .transpose()?,
        notify: input.notify_config.map(|n| notify(&format!("{at}/NotifyConfig"), n)).transpose()?.flatten(),
        ext_filter: input
            .ext_filter
            .map(|f| ext_filter(&format!("{at}/ExtFilter"), f))
            .transpose()?
            .unwrap_or_default(),
    };
    let inspect = inspect_options(inspect_node.operation.and_then(|o| o.image_inspect).unwrap_or_default())
        .map_err(|e| {
        WireError::invalid_argument(format!("{TOPOLOGY}/Nodes/{node_name}/Operation/{}", e.message))
    })?;
    Ok(WorkflowSpec { name, state, node_name, start, inspect })
}

/// Name: 1–128 characters without control characters (Tencent's narrower set is not enforced:
/// its own demos use `-`).
fn workflow_name(name: Option<String>) -> Result<String, WireError> {
    let name = trimmed(name).ok_or_else(|| WireError::invalid_argument("MediaWorkflow/Name is required"))?;
    if name.chars().count() > 128 || name.chars().any(char::is_control) {
        return Err(WireError::invalid_argument(
            "MediaWorkflow/Name must be at most 128 characters without control characters",
        ));
    }
    Ok(name)
}

/// The topology must be exactly Start → one node of Type ImageInspect → End; node names are free.
fn topology_shape(raw: RawTopology) -> Result<(String, RawNode, RawNode), WireError> {
    let deps = raw
        .dependencies
        .ok_or_else(|| WireError::invalid_argument(format!("{TOPOLOGY}/Dependencies is required")))?;
    let mut nodes =
        raw.nodes.ok_or_else(|| WireError::invalid_argument(format!("{TOPOLOGY}/Nodes is required")))?;
    for (children, at) in [(deps.repeated(), "Dependencies"), (nodes.repeated(), "Nodes")] {
        if let Some(name) = children {
            return Err(WireError::invalid_argument(format!("{TOPOLOGY}/{at}/{name} is given twice")));
        }
    }

    let type_of = |node: &RawNode| trimmed(node.r#type.clone()).unwrap_or_default();
    let mut inspect_nodes = Vec::new();
    for (name, node) in &nodes.0 {
        let t = type_of(node);
        let expected = if name == "Start" { "Start" } else { "ImageInspect" };
        // The Start node's Type may be left empty: its name already says what it is.
        if !(t.eq_ignore_ascii_case(expected) || (name == "Start" && t.is_empty())) {
            return Err(WireError::invalid_argument(format!(
                "{TOPOLOGY}/Nodes/{name}/Type must be {expected}, not {t:?}: {ONLY}"
            )));
        }
        if name != "Start" {
            inspect_nodes.push(name.clone());
        }
    }
    let node_name = match inspect_nodes.as_slice() {
        [one] => one.clone(),
        [] => {
            return Err(WireError::invalid_argument(format!(
                "{TOPOLOGY}/Nodes has no ImageInspect node: {ONLY}"
            )))
        }
        [_, second, ..] => {
            return Err(WireError::invalid_argument(format!(
                "{TOPOLOGY}/Nodes/{second} is a second node: {ONLY}"
            )))
        }
    };
    if node_name == "End" {
        return Err(WireError::invalid_argument(format!(
            "{TOPOLOGY}/Nodes/End: End is the sink, not a node name"
        )));
    }
    let start_node = nodes
        .take("Start")
        .ok_or_else(|| WireError::invalid_argument(format!("{TOPOLOGY}/Nodes/Start is required")))?;
    let inspect_node = nodes.take(&node_name).expect("found above");

    let successors = |name: &str| {
        deps.get(name).map(|s| s.split(',').map(str::trim).filter(|s| !s.is_empty()).collect::<Vec<_>>())
    };
    let expect = |name: &str, next: &str| match successors(name) {
        Some(found) if found == [next] => Ok(()),
        Some(found) => Err(WireError::invalid_argument(format!(
            "{TOPOLOGY}/Dependencies/{name} must be {next}, not {:?}: {ONLY}",
            found.join(",")
        ))),
        None => Err(WireError::invalid_argument(format!(
            "{TOPOLOGY}/Dependencies/{name} is required ({next}): {ONLY}"
        ))),
    };
    expect("Start", &node_name)?;
    expect(&node_name, "End")?;
    if let Some((other, _)) = deps.0.iter().find(|(n, _)| n != "Start" && *n != node_name) {
        return Err(WireError::invalid_argument(format!(
            "{TOPOLOGY}/Dependencies/{other} names no node of this workflow: {ONLY}"
        )));
    }
    Ok((node_name, start_node, inspect_node))
}

/// ObjectPrefix may be empty (the whole bucket); leading `/`s are stripped (COS keys have none).
fn object_prefix(at: &str, raw: Option<String>) -> Result<String, WireError> {
    let prefix = raw.unwrap_or_default().trim().trim_start_matches('/').to_string();
    if prefix.len() > 850 || prefix.chars().any(char::is_control) {
        return Err(WireError::invalid_argument(format!(
            "{at}/ObjectPrefix must be at most 850 bytes without control characters"
        )));
    }
    Ok(prefix)
}

/// NotifyConfig: `None` when State is Off or nothing but Type/ResultFormat is given; Type absent
/// is Url; Event absent is TaskFinish,WorkflowFinish (WorkflowStart only when asked for).
fn notify(at: &str, raw: RawNotify) -> Result<Option<WorkflowNotify>, WireError> {
    let off = trimmed(raw.state).map(|s| one_of(&format!("{at}/State"), &s, &["On", "Off"])).transpose()?
        == Some("Off");
    let kind = match trimmed(raw.r#type) {
        None => CallbackKind::Url,
        // A workflow's NotifyConfig has no CallBackKafkaConfig to name a CKafka topic with.
        Some(t) => match CallbackKind::from_name(&t) {
            Some(k @ (CallbackKind::Url | CallbackKind::Tdmq)) => k,
            _ => {
                return Err(WireError::invalid_argument(format!("{at}/Type must be Url or TDMQ, not {t:?}")))
            }
        },
    };
    let format = match trimmed(raw.result_format) {
        None => CallbackFormat::Xml,
        Some(f) => CallbackFormat::from_name(&f).ok_or_else(|| {
            WireError::invalid_argument(format!("{at}/ResultFormat must be XML or JSON, not {f:?}"))
        })?,
    };
    let url = trimmed(raw.url);
    if let Some(u) = &url {
        check_url(&format!("{at}/Url"), u)?;
    }
    let event = trimmed(raw.event);
    let mut events = Vec::new();
    for name in event.iter().flat_map(|e| e.split(',')).map(str::trim).filter(|e| !e.is_empty()) {
        let e = WorkflowEvent::from_name(name).ok_or_else(|| {
            WireError::invalid_argument(format!(
                "{at}/Event must list TaskFinish, WorkflowFinish or WorkflowStart, not {name:?}"
            ))
        })?;
        events.push(e);
    }
    events.sort();
    events.dedup();
    if events.is_empty() {
        events = vec![WorkflowEvent::TaskFinish, WorkflowEvent::WorkflowFinish];
    }
    let mq_name = trimmed(raw.mq_name);
    let (mq_mode, mq_region) = crate::notify::check_mq(
        &format!("{at}/"),
        trimmed(raw.mq_mode).as_deref(),
        trimmed(raw.mq_region).as_deref(),
        mq_name.as_deref(),
    )?;
    let (mq_mode, mq_region) = (mq_mode.map(String::from), mq_region.map(String::from));

    let asks_for_nothing =
        url.is_none() && event.is_none() && mq_mode.is_none() && mq_region.is_none() && mq_name.is_none();
    if off || asks_for_nothing {
        return Ok(None);
    }
    match kind {
        CallbackKind::Url if url.is_none() => {
            return Err(WireError::invalid_argument(format!("{at}/Url is required when Type is Url")))
        }
        CallbackKind::Tdmq if mq_name.is_none() => {
            return Err(WireError::invalid_argument(format!("{at}/MqName is required when Type is TDMQ")))
        }
        _ => {}
    }
    Ok(Some(WorkflowNotify { kind, url, events, format, mq_mode, mq_region, mq_name }))
}

/// ExtFilter: State On/Off in any case (default Off); flags `true`/`false`, empty = false;
/// CustomExts `/`-separated, at most 10, a leading dot dropped; required when On with Custom.
fn ext_filter(at: &str, raw: RawExtFilter) -> Result<ExtFilter, WireError> {
    let on = trimmed(raw.state).map(|s| one_of(&format!("{at}/State"), &s, &["On", "Off"])).transpose()?
        == Some("On");
    let flag = |field: &str, v: Option<String>| match trimmed(v) {
        None => Ok(false),
        Some(v) if v.eq_ignore_ascii_case("true") => Ok(true),
        Some(v) if v.eq_ignore_ascii_case("false") => Ok(false),
        Some(v) => Err(WireError::invalid_argument(format!("{at}/{field} must be true or false, not {v:?}"))),
    };
    let exts_text = trimmed(raw.custom_exts).unwrap_or_default();
    check_text(&format!("{at}/CustomExts"), &exts_text)?;
    let custom_exts: Vec<String> = exts_text
        .split('/')
        .map(|e| e.trim().trim_start_matches('.'))
        .filter(|e| !e.is_empty())
        .map(String::from)
        .collect();
    if custom_exts.len() > 10 {
        return Err(WireError::invalid_argument(format!("{at}/CustomExts lists more than 10 suffixes")));
    }
    let filter = ExtFilter {
        on,
        video: flag("Video", raw.video)?,
        audio: flag("Audio", raw.audio)?,
        image: flag("Image", raw.image)?,
        content_type: flag("ContentType", raw.content_type)?,
        custom: flag("Custom", raw.custom)?,
        custom_exts,
        all_file: flag("AllFile", raw.all_file)?,
    };
    if filter.on && filter.custom && filter.custom_exts.is_empty() {
        return Err(WireError::invalid_argument(format!("{at}/CustomExts is required when Custom is true")));
    }
    Ok(filter)
}
