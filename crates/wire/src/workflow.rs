//! Workflows (spec triggers.md §2): an upload under a prefix starts a run of one ImageInspect
//! node. `parse` reads `POST /workflow` and `PUT /workflow/<id>` bodies, `render` the workflow
//! answers, `execution` the runs' answers and the `WorkflowFinish` callback; this file holds the
//! validated shapes and which uploads start a run.
mod execution;
mod parse;
mod render;

pub use execution::{
    trigger_workflow_response, workflow_execution_list_response, workflow_execution_response,
    workflow_finish_json, workflow_finish_xml, ExecutionView, TaskView, WORKFLOW_FINISH,
};
pub use parse::parse_workflow;
pub use render::{media_workflow_response, workflow_id_response, workflow_list_response, WorkflowView};

use serde::{de, Deserialize, Deserializer, Serialize, Serializer};

use crate::job::ImageInspectOptions;
use crate::notify::{CallbackFormat, CallbackKind};

/// A validated workflow, as the store keeps it (`jsonb`): `serde_json` round-trips it losslessly.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkflowSpec {
    pub name: String,
    /// As requested; `None` when absent or empty.
    pub state: Option<WorkflowState>,
    /// The ImageInspect node's element name, e.g. `ImageInspectNode`.
    pub node_name: String,
    pub start: StartInput,
    pub inspect: ImageInspectOptions,
}

impl WorkflowSpec {
    /// The state a new workflow starts in: as requested, else `Paused` (Tencent's default).
    pub fn initial_state(&self) -> WorkflowState {
        self.state.unwrap_or(WorkflowState::Paused)
    }

    /// Whether an upload of `key` (raw, decoded) with this Content-Type starts a run:
    /// ObjectPrefix matches and ExtFilter lets it through.
    pub fn triggers(&self, key: &str, content_type: Option<&str>) -> bool {
        key.starts_with(&self.start.object_prefix)
            && !never_triggers(key)
            && self.start.ext_filter.admits(key, content_type)
    }
}

/// Where `BackupObject` moves suspicious objects (the objects crate's `BACKUP_PREFIX`).
const BACKUP_PREFIX: &str = "abnormal_images_backup/";

/// Backups never trigger (a backup's copy would start a run that backs it up again, forever);
/// nor do empty keys and folder placeholders (`dir/`), which hold no image.
pub(crate) fn never_triggers(key: &str) -> bool {
    key.is_empty() || key.ends_with('/') || key.starts_with(BACKUP_PREFIX)
}

/// Whether uploads start runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum WorkflowState {
    Active,
    Paused,
}

impl WorkflowState {
    pub fn as_str(self) -> &'static str {
        match self {
            WorkflowState::Active => "Active",
            WorkflowState::Paused => "Paused",
        }
    }

    /// `Active` or `Paused`, any case.
    pub fn from_name(name: &str) -> Option<Self> {
        [WorkflowState::Active, WorkflowState::Paused]
            .into_iter()
            .find(|s| s.as_str().eq_ignore_ascii_case(name))
    }
}

/// The Start node's `Input`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StartInput {
    /// Empty: the whole bucket. Never starts with `/`.
    pub object_prefix: String,
    /// As requested; `None`: the caller picks the bucket's queue.
    #[serde(default)]
    pub queue_id: Option<String>,
    #[serde(default)]
    pub notify: Option<WorkflowNotify>,
    #[serde(default)]
    pub ext_filter: ExtFilter,
}

/// `Start/Input/NotifyConfig`, when it asks for anything.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkflowNotify {
    #[serde(serialize_with = "kind_to_text", deserialize_with = "kind_from_text")]
    pub kind: CallbackKind,
    #[serde(default)]
    pub url: Option<String>,
    /// Never empty, in [`WorkflowEvent`] order, without repeats.
    pub events: Vec<WorkflowEvent>,
    #[serde(serialize_with = "format_to_text", deserialize_with = "format_from_text")]
    pub format: CallbackFormat,
    #[serde(default)]
    pub mq_mode: Option<String>,
    #[serde(default)]
    pub mq_region: Option<String>,
    #[serde(default)]
    pub mq_name: Option<String>,
}

impl WorkflowNotify {
    pub fn wants(&self, event: WorkflowEvent) -> bool {
        self.events.contains(&event)
    }

    /// `TaskFinish,WorkflowFinish`, as `NotifyConfig/Event` spells it.
    pub fn event_list(&self) -> String {
        self.events.iter().map(|e| e.as_str()).collect::<Vec<_>>().join(",")
    }
}

/// What a workflow's NotifyConfig may subscribe to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum WorkflowEvent {
    TaskFinish,
    WorkflowFinish,
    WorkflowStart,
}

impl WorkflowEvent {
    pub const ALL: [WorkflowEvent; 3] =
        [WorkflowEvent::TaskFinish, WorkflowEvent::WorkflowFinish, WorkflowEvent::WorkflowStart];

    pub fn as_str(self) -> &'static str {
        match self {
            WorkflowEvent::TaskFinish => "TaskFinish",
            WorkflowEvent::WorkflowFinish => "WorkflowFinish",
            WorkflowEvent::WorkflowStart => "WorkflowStart",
        }
    }

    /// The name, any case.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.as_str().eq_ignore_ascii_case(name))
    }
}

/// `Start/Input/ExtFilter`: which uploads under the prefix start a run.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ExtFilter {
    /// Off (the default): every object triggers.
    pub on: bool,
    pub video: bool,
    pub audio: bool,
    pub image: bool,
    /// Also match on the Content-Type's top-level type (`image/`, `video/`, `audio/`) of the
    /// enabled sets.
    pub content_type: bool,
    pub custom: bool,
    /// Without the leading dot, as given; matched ignoring case.
    pub custom_exts: Vec<String>,
    pub all_file: bool,
}

/// `ExtFilter/Image`'s suffixes.
pub const IMAGE_EXTS: &[&str] = &[
    "jpg", "jpeg", "png", "gif", "bmp", "webp", "tif", "tiff", "heic", "heif", "avif", "ico", "jfif", "svg",
];
/// `ExtFilter/Video`'s suffixes.
pub const VIDEO_EXTS: &[&str] = &[
    "mp4", "m4v", "mov", "avi", "mkv", "flv", "f4v", "wmv", "asf", "webm", "mpg", "mpeg", "ts", "m2ts",
    "mts", "3gp", "3g2", "ogv", "rm", "rmvb", "vob",
];
/// `ExtFilter/Audio`'s suffixes.
pub const AUDIO_EXTS: &[&str] = &[
    "mp3", "m4a", "aac", "wav", "flac", "ogg", "oga", "opus", "wma", "amr", "ape", "aif", "aiff", "mid",
    "midi", "ac3",
];

impl ExtFilter {
    /// Whether the filter lets `key` through: always when Off; when On, if AllFile, or the
    /// suffix (after the last `.` of the last segment, any case) is in an enabled set or in
    /// CustomExts, or ContentType is on and the Content-Type's top-level type is an enabled set's.
    pub fn admits(&self, key: &str, content_type: Option<&str>) -> bool {
        if !self.on || self.all_file {
            return true;
        }
        let file = key.rsplit('/').next().unwrap_or(key).to_lowercase();
        let sets = [
            (self.image, "image", IMAGE_EXTS),
            (self.video, "video", VIDEO_EXTS),
            (self.audio, "audio", AUDIO_EXTS),
        ];
        if let Some((_, suffix)) = file.rsplit_once('.') {
            if sets.iter().any(|(on, _, exts)| *on && exts.contains(&suffix)) {
                return true;
            }
        }
        // Matched as an ending rather than a suffix, so a custom `tar.gz` works too.
        if self.custom
            && self.custom_exts.iter().any(|ext| file.ends_with(&format!(".{}", ext.to_lowercase())))
        {
            return true;
        }
        let top =
            content_type.and_then(|ct| ct.split(['/', ';']).next()).map(|t| t.trim().to_ascii_lowercase());
        match top {
            Some(top) if self.content_type => sets.iter().any(|(on, kind, _)| *on && *kind == top),
            _ => false,
        }
    }
}

fn kind_to_text<S: Serializer>(k: &CallbackKind, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(k.as_str())
}

fn kind_from_text<'de, D: Deserializer<'de>>(d: D) -> Result<CallbackKind, D::Error> {
    let name = String::deserialize(d)?;
    CallbackKind::from_name(&name).ok_or_else(|| de::Error::custom(format!("unknown callback kind {name:?}")))
}

fn format_to_text<S: Serializer>(f: &CallbackFormat, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(f.as_str())
}

fn format_from_text<'de, D: Deserializer<'de>>(d: D) -> Result<CallbackFormat, D::Error> {
    let name = String::deserialize(d)?;
    CallbackFormat::from_name(&name)
        .ok_or_else(|| de::Error::custom(format!("unknown callback format {name:?}")))
}
