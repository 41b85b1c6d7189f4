//! `POST /jobs` request body: parsing and validation. Every client mistake becomes a
//! `WireError` with a message naming the element, never a 5xx.
use serde::{Deserialize, Serialize};

use crate::error::WireError;
use crate::job::ImageInspectOptions;

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct RawRequest {
    tag: Option<String>,
    input: Option<RawInput>,
    operation: Option<RawOperation>,
    call_back: Option<String>,
    call_back_format: Option<String>,
    call_back_type: Option<String>,
    call_back_mq_config: Option<RawMq>,
    call_back_kafka_config: Option<RawKafka>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct RawInput {
    object: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct RawOperation {
    user_data: Option<String>,
    job_level: Option<String>,
    image_inspect: Option<RawInspect>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub(crate) struct RawInspect {
    auto_process: Option<String>,
    process_type: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub(crate) struct RawMq {
    mq_mode: Option<String>,
    mq_region: Option<String>,
    mq_name: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub(crate) struct RawKafka {
    pub region: Option<String>,
    pub instance_id: Option<String>,
    pub topic: Option<String>,
}

/// What to do with a suspicious object when AutoProcess is on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProcessType {
    BackupObject,
    SwitchObjectToPrivate,
    DeleteObject,
}

impl ProcessType {
    pub fn as_str(self) -> &'static str {
        match self {
            ProcessType::BackupObject => "BackupObject",
            ProcessType::SwitchObjectToPrivate => "SwitchObjectToPrivate",
            ProcessType::DeleteObject => "DeleteObject",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CallBackMqConfig {
    pub mq_mode: Option<String>,
    pub mq_region: Option<String>,
    pub mq_name: String,
}

/// Tencent's newer Kafka callback (`CallBackType` `Kafka`): a CKafka instance's topic.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CallBackKafkaConfig {
    pub region: String,
    pub instance_id: String,
    pub topic: String,
}

/// A validated ImageInspect submission. Serialisable: the job store keeps it (`jobs.request`) for
/// the worker (AutoProcess) and the notifier (callback settings).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubmitRequest {
    pub object: String,
    pub user_data: Option<String>,
    pub job_level: i16,
    /// Echoed as given (normalised) in responses.
    pub image_inspect: Option<ImageInspectOptions>,
    /// `Some("no")` suppresses the queue's callback.
    pub callback: Option<String>,
    /// `JSON` or `XML`.
    pub callback_format: Option<String>,
    /// `Url`, `TDMQ` or `Kafka`.
    pub callback_type: Option<String>,
    pub callback_mq: Option<CallBackMqConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback_kafka: Option<CallBackKafkaConfig>,
}

impl SubmitRequest {
    /// The effective AutoProcess action, if AutoProcess is on.
    pub fn auto_process(&self) -> Option<ProcessType> {
        let i = self.image_inspect.as_ref()?;
        i.auto_process.then_some(i.process_type)
    }
}

pub(crate) fn trimmed(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

/// A callback URL: http or https, no whitespace or control characters (they would be smuggled
/// into requests, or refused by the store's JSON), at most 2048 bytes.
pub(crate) fn check_url(field: &str, url: &str) -> Result<(), WireError> {
    let lower = url.to_ascii_lowercase();
    let scheme_ok = lower.starts_with("http://") || lower.starts_with("https://");
    if !scheme_ok || url.len() > 2048 || url.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(WireError::invalid_argument(format!(
            "{field} must be an http:// or https:// URL without spaces or control characters"
        )));
    }
    Ok(())
}

/// Free text we store and echo: no control characters (JSON storage refuses NUL), bounded.
pub(crate) fn check_text(field: &str, v: &str) -> Result<(), WireError> {
    if v.chars().count() > 1024 || v.chars().any(char::is_control) {
        return Err(WireError::invalid_argument(format!(
            "{field} must be at most 1024 characters without control characters"
        )));
    }
    Ok(())
}

/// Parses a request body as XML into `T`: UTF-8, no DTDs (no entity expansion), not empty.
pub(crate) fn parse_xml<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, WireError> {
    let text =
        std::str::from_utf8(body).map_err(|_| WireError::malformed_xml("the request body is not UTF-8"))?;
    let upper = text.to_ascii_uppercase();
    if upper.contains("<!DOCTYPE") || upper.contains("<!ENTITY") {
        return Err(WireError::malformed_xml("DTDs and entity declarations are not accepted"));
    }
    if text.trim().is_empty() {
        return Err(WireError::bad_request("MissingRequestBodyError", "the request body is empty"));
    }
    quick_xml::de::from_str(text)
        .map_err(|e| WireError::malformed_xml(format!("the request body is not the expected XML: {e}")))
}

/// Parses and validates a `POST /jobs` body.
pub fn parse_submit(body: &[u8]) -> Result<SubmitRequest, WireError> {
    let raw: RawRequest = parse_xml(body)?;

    match trimmed(raw.tag).as_deref() {
        Some("ImageInspect") => {}
        Some(other) => {
            return Err(WireError::invalid_argument(format!("Tag must be ImageInspect, not {other:?}")))
        }
        None => return Err(WireError::invalid_argument("Tag is required (ImageInspect)")),
    }
    let object = raw
        .input
        .and_then(|i| i.object)
        .filter(|o| !o.trim().is_empty())
        .ok_or_else(|| WireError::invalid_argument("Input/Object is required"))?;
    validate_object_key(&object)?;

    let op = raw.operation.unwrap_or_default();
    let user_data = user_data("Operation/UserData", op.user_data)?;
    let job_level = job_level("Operation/JobLevel", op.job_level)?;
    let image_inspect = op.image_inspect.map(inspect_options).transpose()?;
    let raw_callbacks = RawCallbacks {
        call_back: raw.call_back,
        call_back_format: raw.call_back_format,
        call_back_type: raw.call_back_type,
        call_back_mq_config: raw.call_back_mq_config,
        call_back_kafka_config: raw.call_back_kafka_config,
    };
    let Callbacks { callback, callback_format, callback_type, callback_mq, callback_kafka } =
        callbacks("", raw_callbacks)?;
    Ok(SubmitRequest {
        object,
        user_data,
        job_level,
        image_inspect,
        callback,
        callback_format,
        callback_type,
        callback_mq,
        callback_kafka,
    })
}

/// UserData: at most 1024 printable ASCII characters, kept as given (callbacks echo it).
pub(crate) fn user_data(field: &str, v: Option<String>) -> Result<Option<String>, WireError> {
    if let Some(u) = &v {
        if u.chars().count() > 1024 {
            return Err(WireError::invalid_argument(format!("{field} is longer than 1024 characters")));
        }
        if !u.bytes().all(|b| (0x20..=0x7e).contains(&b)) {
            return Err(WireError::invalid_argument(format!("{field} must be printable ASCII")));
        }
    }
    Ok(v)
}

/// JobLevel: 0 (the default, also when empty), 1 or 2.
pub(crate) fn job_level(field: &str, v: Option<String>) -> Result<i16, WireError> {
    match trimmed(v).as_deref() {
        None | Some("0") => Ok(0),
        Some("1") => Ok(1),
        Some("2") => Ok(2),
        Some(other) => Err(WireError::invalid_argument(format!("{field} must be 0, 1 or 2, not {other:?}"))),
    }
}

/// A job's own callback settings, validated.
pub(crate) struct Callbacks {
    pub callback: Option<String>,
    pub callback_format: Option<String>,
    pub callback_type: Option<String>,
    pub callback_mq: Option<CallBackMqConfig>,
    pub callback_kafka: Option<CallBackKafkaConfig>,
}

/// The CallBack* elements as sent.
pub(crate) struct RawCallbacks {
    pub call_back: Option<String>,
    pub call_back_format: Option<String>,
    pub call_back_type: Option<String>,
    pub call_back_mq_config: Option<RawMq>,
    pub call_back_kafka_config: Option<RawKafka>,
}

/// The CallBack* elements under `at` (`""` for `POST /jobs`, `Operation/` for batches): a URL or
/// `no`, the format and type normalised to Tencent's spelling, TDMQ only with an MqName, Kafka
/// only with a CallBackKafkaConfig.
pub(crate) fn callbacks(at: &str, raw: RawCallbacks) -> Result<Callbacks, WireError> {
    let RawCallbacks {
        call_back,
        call_back_format,
        call_back_type,
        call_back_mq_config,
        call_back_kafka_config,
    } = raw;
    // `no` in any case silences the queue; stored as `no`.
    let callback =
        trimmed(call_back).map(|c| if c.eq_ignore_ascii_case("no") { "no".to_string() } else { c });
    if let Some(url) = callback.as_deref().filter(|u| *u != "no") {
        check_url(&format!("{at}CallBack"), url)
            .map_err(|e| WireError { message: format!("{}, or \"no\"", e.message), ..e })?;
    }
    let callback_format = match trimmed(call_back_format) {
        None => None,
        Some(f) if f.eq_ignore_ascii_case("json") => Some("JSON".to_string()),
        Some(f) if f.eq_ignore_ascii_case("xml") => Some("XML".to_string()),
        Some(f) => {
            return Err(WireError::invalid_argument(format!(
                "{at}CallBackFormat must be JSON or XML, not {f:?}"
            )))
        }
    };
    let callback_type = match trimmed(call_back_type) {
        None => None,
        Some(t) if t.eq_ignore_ascii_case("url") => Some("Url".to_string()),
        Some(t) if t.eq_ignore_ascii_case("tdmq") => Some("TDMQ".to_string()),
        Some(t) if t.eq_ignore_ascii_case("kafka") => Some("Kafka".to_string()),
        Some(t) => {
            return Err(WireError::invalid_argument(format!(
                "{at}CallBackType must be Url, TDMQ or Kafka, not {t:?}"
            )))
        }
    };
    let callback_mq = match call_back_mq_config {
        Some(mq) => Some(CallBackMqConfig {
            mq_mode: trimmed(mq.mq_mode),
            mq_region: trimmed(mq.mq_region),
            mq_name: trimmed(mq.mq_name).ok_or_else(|| {
                WireError::invalid_argument(format!("{at}CallBackMqConfig/MqName is required"))
            })?,
        }),
        None => None,
    };
    let callback_mq = match callback_mq {
        Some(mut mq) => {
            let (mode, region) = crate::notify::check_mq(
                &format!("{at}CallBackMqConfig/"),
                mq.mq_mode.as_deref(),
                mq.mq_region.as_deref(),
                Some(&mq.mq_name),
            )?;
            (mq.mq_mode, mq.mq_region) = (mode.map(String::from), region.map(String::from));
            Some(mq)
        }
        None => None,
    };
    if callback_type.as_deref() == Some("TDMQ") && callback_mq.is_none() {
        return Err(WireError::invalid_argument(format!(
            "{at}CallBackMqConfig is required when CallBackType is TDMQ"
        )));
    }
    // Read only for a Kafka callback: Java's SDK sends an empty one with every batch.
    let callback_kafka = match (callback_type.as_deref(), call_back_kafka_config) {
        (Some("Kafka"), Some(k)) => {
            Some(crate::notify::check_kafka(&format!("{at}CallBackKafkaConfig/"), k)?)
        }
        (Some("Kafka"), None) => {
            return Err(WireError::invalid_argument(format!(
                "{at}CallBackKafkaConfig is required when CallBackType is Kafka"
            )))
        }
        _ => None,
    };
    Ok(Callbacks { callback, callback_format, callback_type, callback_mq, callback_kafka })
}

/// `true` or `false` in any case; absent or empty: false.
pub(crate) fn flag(at: &str, v: Option<String>) -> Result<bool, WireError> {
    match trimmed(v) {
        None => Ok(false),
        Some(v) if v.eq_ignore_ascii_case("true") => Ok(true),
        Some(v) if v.eq_ignore_ascii_case("false") => Ok(false),
        Some(v) => Err(WireError::invalid_argument(format!("{at} must be true or false, not {v:?}"))),
    }
}

pub(crate) fn inspect_options(i: RawInspect) -> Result<ImageInspectOptions, WireError> {
    let auto_process = flag("ImageInspect/AutoProcess", i.auto_process)?;
    let process_type = match trimmed(i.process_type).as_deref() {
        None | Some("BackupObject") => ProcessType::BackupObject,
        Some("SwitchObjectToPrivate") => ProcessType::SwitchObjectToPrivate,
        Some("DeleteObject") => ProcessType::DeleteObject,
        Some(v) => {
            return Err(WireError::invalid_argument(format!(
            "ImageInspect/ProcessType must be BackupObject, SwitchObjectToPrivate or DeleteObject, not {v:?}"
        )))
        }
    };
    Ok(ImageInspectOptions { auto_process, process_type })
}

/// Object keys as COS allows them, minus what would escape the key space: no empty key, no `.` or
/// `..` segments (which could aim a backup move outside `abnormal_images_backup/`), no control
/// characters, at most 850 bytes.
pub fn validate_object_key(key: &str) -> Result<(), WireError> {
    if key.len() > 850 {
        return Err(WireError::invalid_argument("Input/Object is longer than 850 bytes"));
    }
    if key.chars().any(|c| c.is_control()) {
        return Err(WireError::invalid_argument("Input/Object contains control characters"));
    }
    if key.split('/').any(|seg| seg == ".." || seg == ".") {
        return Err(WireError::invalid_argument("Input/Object must not contain . or .. path segments"));
    }
    Ok(())
}
