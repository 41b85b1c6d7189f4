//! Where a finished job's callback goes (spec §4.3), and which addresses a callback may reach
//! (`address`). Pure: the notifier resolves names and connects; this only decides.
mod address;
mod mq;

pub use address::{is_public, url_host_port, AddressPolicy};
pub(crate) use mq::check_kafka;
pub use mq::{check_mq, KAFKA_REGIONS, MQ_REGIONS};

use crate::callback::TASK_FINISH;
use crate::queue::NotifyConfig;
use crate::submit::SubmitRequest;

/// A callback body's encoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallbackFormat {
    Xml,
    Json,
}

impl CallbackFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            CallbackFormat::Xml => "XML",
            CallbackFormat::Json => "JSON",
        }
    }

    /// `XML` or `JSON`, any case.
    pub fn from_name(name: &str) -> Option<Self> {
        [CallbackFormat::Xml, CallbackFormat::Json]
            .into_iter()
            .find(|f| f.as_str().eq_ignore_ascii_case(name))
    }

    pub fn content_type(self) -> &'static str {
        match self {
            CallbackFormat::Xml => "application/xml",
            CallbackFormat::Json => "application/json",
        }
    }
}

/// Where a callback is delivered: an HTTP URL, a TDMQ topic (Kafka stands in), or a CKafka
/// instance's topic (a Kafka cluster).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallbackKind {
    Url,
    Tdmq,
    Kafka,
}

impl CallbackKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CallbackKind::Url => "Url",
            CallbackKind::Tdmq => "TDMQ",
            CallbackKind::Kafka => "Kafka",
        }
    }

    /// `Url` or `TDMQ`, any case.
    pub fn from_name(name: &str) -> Option<Self> {
        [CallbackKind::Url, CallbackKind::Tdmq, CallbackKind::Kafka]
            .into_iter()
            .find(|k| k.as_str().eq_ignore_ascii_case(name))
    }
}

/// One job's resolved callback destination.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallbackTarget {
    pub kind: CallbackKind,
    /// URL for `Url`, topic (MqName) for `Tdmq`, `<InstanceId>/<Topic>` for `Kafka`.
    pub address: String,
    pub format: CallbackFormat,
    pub mq_region: Option<String>,
    pub mq_mode: Option<String>,
}

/// Picks a finished job's callback (spec §4.3): the job's own settings override its queue's
/// `NotifyConfig`, `CallBack=no` silences the queue, and the queue calls back only when `On` and
/// subscribed to `TaskFinish`. The job's `CallBackType` also wins over the queue's `Type`: a
/// `Url` job without a `CallBack` goes to the queue's `Url`, even on a TDMQ queue (none there:
/// no callback). `None`: no callback.
pub fn select_callback(job: &SubmitRequest, queue: Option<&NotifyConfig>) -> Option<CallbackTarget> {
    // The job's format wins wherever the callback goes; else the queue's (even an Off queue's: it
    // is still the bucket owner's stated preference); else Tencent's default.
    let format = [job.callback_format.as_deref(), queue.and_then(|q| q.result_format.as_deref())]
        .into_iter()
        .flatten()
        .find_map(CallbackFormat::from_name)
        .unwrap_or(CallbackFormat::Xml);
    let target = |kind, address: &str, mq_region: &Option<String>, mq_mode: &Option<String>| CallbackTarget {
        kind,
        address: address.to_string(),
        format,
        mq_region: mq_region.clone(),
        mq_mode: mq_mode.clone(),
    };

    let job_kind = job.callback_type.as_deref().and_then(CallbackKind::from_name);
    if let (Some(CallbackKind::Kafka), Some(k)) = (job_kind, &job.callback_kafka) {
        let address = format!("{}/{}", k.instance_id, k.topic);
        return Some(target(CallbackKind::Kafka, &address, &None, &None));
    }
    if let (Some(CallbackKind::Tdmq), Some(mq)) = (job_kind, &job.callback_mq) {
        if let Some(topic) = non_empty(Some(&mq.mq_name)) {
            return Some(target(CallbackKind::Tdmq, topic, &mq.mq_region, &mq.mq_mode));
        }
    }
    match non_empty(job.callback.as_ref()) {
        // parse_submit stores exactly "no"; anything else it kept is a checked URL.
        Some("no") => return None,
        Some(url) => return Some(target(CallbackKind::Url, url, &None, &None)),
        None => {}
    }

    let q = queue.filter(|q| q.state.eq_ignore_ascii_case("On") && wants_task_finish(q.event.as_deref()))?;
    let kind = job_kind.or_else(|| q.r#type.as_deref().and_then(CallbackKind::from_name));
    if kind == Some(CallbackKind::Tdmq) {
        if let Some(topic) = non_empty(q.mq_name.as_ref()) {
            return Some(target(CallbackKind::Tdmq, topic, &q.mq_region, &q.mq_mode));
        }
    }
    // Type Url, absent (Tencent's default) or a TDMQ without a topic: the URL, if there is one.
    non_empty(q.url.as_ref()).map(|url| target(CallbackKind::Url, url, &None, &None))
}

/// The queue's `Event` is stored as given: a comma-separated list in any case. Absent or empty
/// means every event, as a queue saved before `Event` was required would expect.
fn wants_task_finish(event: Option<&str>) -> bool {
    match event.map(str::trim).filter(|e| !e.is_empty()) {
        None => true,
        Some(list) => list.split(',').any(|e| e.trim().eq_ignore_ascii_case(TASK_FINISH)),
    }
}

fn non_empty(v: Option<&String>) -> Option<&str> {
    v.map(|s| s.trim()).filter(|s| !s.is_empty())
}
