//! The image-processing queue (`/picqueue`) and activation (`/picbucket`) shapes, spec §2.
use serde::{Deserialize, Serialize};

use crate::error::WireError;
use crate::submit::{check_url, parse_xml, trimmed};

/// A queue's callback settings. Stored as given (normalised) in `queues.notify_config`; the
/// notifier reads it back.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct NotifyConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub r#type: Option<String>,
    /// `On` or `Off`.
    pub state: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result_format: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mq_mode: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mq_region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mq_name: Option<String>,
}

impl NotifyConfig {
    pub fn off() -> NotifyConfig {
        NotifyConfig { state: "Off".into(), ..NotifyConfig::default() }
    }
}

/// A validated `PUT /picqueue/<id>`. `None` fields keep the queue's current value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueueUpdate {
    pub name: Option<String>,
    pub paused: bool,
    pub notify_config: Option<NotifyConfig>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct RawQueueUpdate {
    name: Option<String>,
    state: Option<String>,
    notify_config: Option<RawNotify>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct RawNotify {
    url: Option<String>,
    event: Option<String>,
    r#type: Option<String>,
    state: Option<String>,
    result_format: Option<String>,
    mq_mode: Option<String>,
    mq_region: Option<String>,
    mq_name: Option<String>,
}

/// Picks `v` from `allowed` ignoring case, returning the canonical spelling.
pub(crate) fn one_of(field: &str, v: &str, allowed: &[&'static str]) -> Result<&'static str, WireError> {
    allowed.iter().find(|a| a.eq_ignore_ascii_case(v)).copied().ok_or_else(|| {
        WireError::invalid_argument(format!("{field} must be one of {}, not {v:?}", allowed.join(", ")))
    })
}

/// Parses and validates a queue update (spec §2.2). `QueueID` in the body (Python sends it) is
/// ignored; the path names the queue.
pub fn parse_queue_update(body: &[u8]) -> Result<QueueUpdate, WireError> {
    let raw: RawQueueUpdate = parse_xml(body)?;
    let name = trimmed(raw.name);
    if let Some(n) = &name {
        let ok_chars = n.chars().all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '*'));
        if n.chars().count() > 128 || !ok_chars {
            return Err(WireError::invalid_argument(
                "Name must be at most 128 letters, digits, _, - or * characters",
            ));
        }
    }
    let state = trimmed(raw.state)
        .ok_or_else(|| WireError::invalid_argument("State is required (Active or Paused)"))?;
    let paused = one_of("State", &state, &["Active", "Paused"])? == "Paused";
    let notify_config = raw.notify_config.map(notify_config).transpose()?;
    Ok(QueueUpdate { name, paused, notify_config })
}

fn notify_config(raw: RawNotify) -> Result<NotifyConfig, WireError> {
    let state =
        one_of("NotifyConfig/State", &trimmed(raw.state).unwrap_or_else(|| "Off".into()), &["On", "Off"])?;
    let mut n = NotifyConfig {
        url: trimmed(raw.url),
        event: trimmed(raw.event),
        r#type: trimmed(raw.r#type)
            .map(|t| one_of("NotifyConfig/Type", &t, &["Url", "TDMQ"]))
            .transpose()?
            .map(Into::into),
        state: state.into(),
        result_format: trimmed(raw.result_format)
            .map(|f| one_of("NotifyConfig/ResultFormat", &f, &["XML", "JSON"]))
            .transpose()?
            .map(Into::into),
        mq_mode: trimmed(raw.mq_mode),
        mq_region: trimmed(raw.mq_region),
        mq_name: trimmed(raw.mq_name),
    };
    let (mode, region) = crate::notify::check_mq(
        "NotifyConfig/",
        n.mq_mode.as_deref(),
        n.mq_region.as_deref(),
        n.mq_name.as_deref(),
    )?;
    (n.mq_mode, n.mq_region) = (mode.map(String::from), region.map(String::from));
    if let Some(events) = &n.event {
        for e in events.split(',') {
            one_of("NotifyConfig/Event", e.trim(), &["TaskFinish", "WorkflowFinish"])?;
        }
    }
    if let Some(url) = &n.url {
        check_url("NotifyConfig/Url", url)?;
    }
    if n.state == "On" {
        if n.event.is_none() {
            return Err(WireError::invalid_argument("NotifyConfig/Event is required when State is On"));
        }
        match n.r#type.as_deref() {
            None => {
                return Err(WireError::invalid_argument("NotifyConfig/Type is required when State is On"))
            }
            Some("Url") if n.url.is_none() => {
                return Err(WireError::invalid_argument("NotifyConfig/Url is required when Type is Url"))
            }
            Some("TDMQ") if n.mq_name.is_none() => {
                return Err(WireError::invalid_argument("NotifyConfig/MqName is required when Type is TDMQ"))
            }
            _ => {}
        }
    }
    if n.result_format.is_none() && n.state == "On" {
        n.result_format = Some("XML".into());
    }
    Ok(n)
}

/// One queue as `GET /picqueue` lists it and `PUT /picqueue/<id>` returns it.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct QueueDetail {
    pub queue_id: String,
    pub name: String,
    /// `Active` or `Paused`.
    pub state: String,
    pub notify_config: NotifyConfig,
    pub max_size: u32,
    pub max_concurrent: u32,
    pub update_time: String,
    pub create_time: String,
    pub category: &'static str,
}

/// `GET /picqueue`.
#[derive(Clone, Debug, Serialize)]
#[serde(rename = "Response", rename_all = "PascalCase")]
pub struct QueueListResponse {
    pub request_id: String,
    pub total_count: u64,
    pub page_number: u64,
    pub page_size: u64,
    pub queue_list: Vec<QueueDetail>,
    #[serde(rename = "NonExistPIDs", skip_serializing_if = "Vec::is_empty")]
    pub non_exist_pids: Vec<String>,
}

/// `PUT /picqueue/<id>`.
#[derive(Clone, Debug, Serialize)]
#[serde(rename = "Response", rename_all = "PascalCase")]
pub struct QueueResponse {
    pub request_id: String,
    pub queue: QueueDetail,
}

/// A bucket with image async processing on (`/picbucket`).
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PicBucket {
    pub bucket_id: String,
    pub name: String,
    pub region: String,
    pub create_time: String,
}

/// `POST` and `DELETE /picbucket`.
#[derive(Clone, Debug, Serialize)]
#[serde(rename = "Response", rename_all = "PascalCase")]
pub struct PicBucketResponse {
    pub request_id: String,
    pub pic_bucket: PicBucket,
}

/// `GET /picbucket`.
#[derive(Clone, Debug, Serialize)]
#[serde(rename = "Response", rename_all = "PascalCase")]
pub struct PicBucketListResponse {
    pub request_id: String,
    pub total_count: u64,
    pub page_number: u64,
    pub page_size: u64,
    pub pic_bucket_list: Vec<PicBucket>,
}
