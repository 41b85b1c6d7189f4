//! Batch jobs over existing objects (spec triggers.md §1, `/inventorytriggerjob`): a `Type=Job`
//! batch makes one ImageInspect job per matched object, a `Type=Workflow` batch one run of each
//! named workflow per object. `parse` reads `POST /inventorytriggerjob` bodies, `render` the
//! answers; this file holds the validated shape the store keeps and which objects it covers.
mod parse;
mod render;

pub use parse::parse_batch;
pub use render::{batch_response, BatchView};

use crate::ProcessType;
use chrono::{DateTime, SubsecRound, Utc};
use serde::{Deserialize, Serialize};

use crate::job::ImageInspectOptions;
use crate::submit::{CallBackKafkaConfig, CallBackMqConfig, SubmitRequest};

/// A validated batch, as the store keeps it (`jsonb`): `serde_json` round-trips it losslessly.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchSpec {
    pub name: String,
    pub kind: BatchKind,
    pub input: BatchInput,
    /// `Operation/TimeInterval`; `None` when absent or empty (Go always sends one).
    #[serde(default)]
    pub time_interval: Option<TimeInterval>,
    /// `Operation/DetectorOutdated` (Stowaway's): only objects whose `stowaway-detector` tag is
    /// missing or older than the running detector (re-inspection after an upgrade).
    #[serde(default)]
    pub only_outdated: bool,
    /// `Type=Job`: `Operation/JobParam/ImageInspect` (AutoProcess false, BackupObject by default).
    pub inspect: ImageInspectOptions,
    /// `Type=Job`: as requested; `None`: the caller picks the bucket's queue.
    #[serde(default)]
    pub queue_id: Option<String>,
    /// `Type=Job`: 0–2, as in `POST /jobs`.
    #[serde(default)]
    pub job_level: i16,
    #[serde(default)]
    pub user_data: Option<String>,
    /// `Type=Job`: each child job's own callback settings, exactly as [`SubmitRequest`] keeps them.
    #[serde(default)]
    pub callback: Option<String>,
    #[serde(default)]
    pub callback_format: Option<String>,
    #[serde(default)]
    pub callback_type: Option<String>,
    #[serde(default)]
    pub callback_mq: Option<CallBackMqConfig>,
    #[serde(default)]
    pub callback_kafka: Option<CallBackKafkaConfig>,
    /// `Type=Workflow`: never empty, in the order given, without repeats.
    #[serde(default)]
    pub workflow_ids: Vec<String>,
}

impl BatchSpec {
    /// A batch of `kind` over `input` with every other setting at its default (AutoProcess off,
    /// as in `POST /jobs`; JobLevel 0; no callback of its own).
    pub fn new(name: &str, kind: BatchKind, input: BatchInput) -> BatchSpec {
        BatchSpec {
            name: name.into(),
            kind,
            input,
            time_interval: None,
            only_outdated: false,
            inspect: ImageInspectOptions { auto_process: false, process_type: ProcessType::BackupObject },
            queue_id: None,
            job_level: 0,
            user_data: None,
            callback: None,
            callback_format: None,
            callback_type: None,
            callback_mq: None,
            callback_kafka: None,
            workflow_ids: Vec::new(),
        }
    }

    /// The SubmitRequest each child job of a Type=Job batch stores (what POST /jobs would have
    /// made for `object`). ImageInspect is always `Some`: the batch's options, defaults spelled out.
    /// The batch is not named inside it: nothing documented carries it (the store links the two).
    pub fn child_request(&self, object: &str) -> SubmitRequest {
        SubmitRequest {
            object: object.to_string(),
            user_data: self.user_data.clone(),
            job_level: self.job_level,
            image_inspect: Some(self.inspect),
            callback: self.callback.clone(),
            callback_format: self.callback_format.clone(),
            callback_type: self.callback_type.clone(),
            callback_mq: self.callback_mq.clone(),
            callback_kafka: self.callback_kafka.clone(),
        }
    }

    /// Whether an object with this Last-Modified is in the batch's TimeInterval.
    pub fn admits(&self, modified: DateTime<Utc>) -> bool {
        self.time_interval.as_ref().is_none_or(|t| t.admits(modified))
    }

    /// Whether the batch covers `key` (raw, as listed): the Object itself, or a key under the Prefix.
    /// Never backups or `dir/` markers under a Prefix: a batch must not re-inspect `abnormal_images_backup/`.
    pub fn includes(&self, key: &str) -> bool {
        match &self.input {
            BatchInput::Object(object) => key == object,
            BatchInput::Prefix(prefix) => key.starts_with(prefix) && !crate::workflow::never_triggers(key),
        }
    }
}

/// `Type`: what each matched object gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum BatchKind {
    /// One ImageInspect job (`Operation/Tag` = ImageInspect).
    Job,
    /// One run of each workflow in `Operation/WorkflowIds`.
    Workflow,
}

impl BatchKind {
    pub fn as_str(self) -> &'static str {
        match self {
            BatchKind::Job => "Job",
            BatchKind::Workflow => "Workflow",
        }
    }

    /// `Job` or `Workflow`, any case (also the list filter's `type=`).
    pub fn from_name(name: &str) -> Option<Self> {
        [BatchKind::Job, BatchKind::Workflow].into_iter().find(|k| k.as_str().eq_ignore_ascii_case(name))
    }
}

/// `Input`: which objects the batch covers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum BatchInput {
    /// Every key under it; empty: the whole bucket (`/` on the wire). Never starts with `/`.
    Prefix(String),
    /// One key. Never starts with `/`.
    Object(String),
}

/// `Operation/TimeInterval` over the objects' Last-Modified, both bounds inclusive, either open.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeInterval {
    #[serde(default)]
    pub start: Option<DateTime<Utc>>,
    #[serde(default)]
    pub end: Option<DateTime<Utc>>,
}

impl TimeInterval {
    /// Compared at whole seconds: a HEAD's Last-Modified has none, a listing's has milliseconds.
    pub fn admits(&self, modified: DateTime<Utc>) -> bool {
        let m = modified.trunc_subsecs(0);
        self.start.is_none_or(|s| s.trunc_subsecs(0) <= m) && self.end.is_none_or(|e| m <= e.trunc_subsecs(0))
    }
}
