//! `POST /inventorytriggerjob` bodies, as Python sends them (declaration, dict order), as Go does
//! (no declaration, its own order, `<TimeInterval></TimeInterval>` when unset) and as Java does
//! (`Type=Workflow`, `QueueType`). Unknown and empty elements mean defaults; every mistake names
//! its element.
use chrono::{DateTime, SubsecRound, Utc};
use serde::Deserialize;

use super::{BatchInput, BatchKind, BatchSpec, TimeInterval};
use crate::error::WireError;
use crate::submit::{
    callbacks, check_text, flag, inspect_options, job_level, parse_xml, trimmed, user_data,
    validate_object_key, Callbacks, RawCallbacks, RawInspect, RawKafka, RawMq,
};

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct RawRequest {
    name: Option<String>,
    r#type: Option<String>,
    input: Option<RawInput>,
    operation: Option<RawOperation>,
    // Where `POST /jobs` puts them: read only to say where they belong.
    call_back: Option<String>,
    call_back_format: Option<String>,
    call_back_type: Option<String>,
    call_back_mq_config: Option<RawMq>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct RawInput {
    manifest: Option<String>,
    url_file: Option<String>,
    prefix: Option<String>,
    object: Option<String>,
}

/// Java's `QueueType` and the media tags' `Output`/`FreeTranscode` are not read: nothing in an
/// ImageInspect batch uses them.
#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct RawOperation {
    workflow_ids: Option<String>,
    time_interval: Option<RawTimeInterval>,
    /// Stowaway's extension: only objects judged by an older detector (or never tagged).
    detector_outdated: Option<String>,
    tag: Option<String>,
    queue_id: Option<String>,
    user_data: Option<String>,
    job_level: Option<String>,
    call_back: Option<String>,
    call_back_format: Option<String>,
    call_back_type: Option<String>,
    call_back_mq_config: Option<RawMq>,
    call_back_kafka_config: Option<RawKafka>,
    job_param: Option<RawJobParam>,
}

/// Java's `Duration` is not read: the bounds say everything.
#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct RawTimeInterval {
    start: Option<String>,
    end: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct RawJobParam {
    image_inspect: Option<RawInspect>,
}

/// Parses and validates a batch body (`<Request><Name/><Type/><Input/><Operation/></Request>`).
pub fn parse_batch(body: &[u8]) -> Result<BatchSpec, WireError> {
    let raw: RawRequest = parse_xml(body)?;
    let given = |v: &Option<String>| v.as_deref().is_some_and(|v| !v.trim().is_empty());
    let request_level = [
        ("CallBack", given(&raw.call_back)),
        ("CallBackFormat", given(&raw.call_back_format)),
        ("CallBackType", given(&raw.call_back_type)),
        ("CallBackMqConfig", raw.call_back_mq_config.is_some()),
    ];
    // Refused rather than ignored: a batch whose children silently send no callback is worse.
    if let Some((field, _)) = request_level.iter().find(|(_, given)| *given) {
        return Err(WireError::invalid_argument(format!(
            "{field} belongs inside Operation in a batch (Operation/{field}), not under Request"
        )));
    }
    let name = batch_name(raw.name)?;
    let input = batch_input(raw.input)?;
    let mut op = raw.operation.unwrap_or_default();
    let time_interval = op.time_interval.take().map(time_interval).transpose()?.flatten();
    let only_outdated = flag("Operation/DetectorOutdated", op.detector_outdated.take())?;
    let workflow_ids = trimmed(op.workflow_ids.take());
    let kind = batch_kind(trimmed(raw.r#type), workflow_ids.is_some(), trimmed(op.tag.clone()).is_some())?;

    let mut spec = BatchSpec { time_interval, only_outdated, ..BatchSpec::new(&name, kind, input) };
    // Each kind ignores the other's elements: a workflow brings its own queue, node and NotifyConfig.
    match kind {
        BatchKind::Workflow => spec.workflow_ids = workflow_id_list(workflow_ids)?,
        BatchKind::Job => job_settings(&mut spec, op)?,
    }
    Ok(spec)
}

/// Name: required, at most 128 characters, no control characters (Tencent's narrower set is not enforced).
fn batch_name(name: Option<String>) -> Result<String, WireError> {
    let name = trimmed(name).ok_or_else(|| WireError::invalid_argument("Name is required"))?;
    if name.chars().count() > 128 || name.chars().any(char::is_control) {
        return Err(WireError::invalid_argument(
            "Name must be at most 128 characters without control characters",
        ));
    }
    Ok(name)
}

/// Type absent (default undocumented): Workflow if WorkflowIds is given, else Job; with Tag too: refused.
fn batch_kind(r#type: Option<String>, has_workflow_ids: bool, has_tag: bool) -> Result<BatchKind, WireError> {
    match r#type {
        Some(t) => BatchKind::from_name(&t)
            .ok_or_else(|| WireError::invalid_argument(format!("Type must be Job or Workflow, not {t:?}"))),
        None if has_workflow_ids && has_tag => Err(WireError::invalid_argument(
            "Type is required (Job or Workflow) when Operation has both WorkflowIds and Tag",
        )),
        None if has_workflow_ids => Ok(BatchKind::Workflow),
        None => Ok(BatchKind::Job),
    }
}

const UNSUPPORTED: &str =
    "is not supported: Stowaway lists the bucket itself; use Input/Prefix or Input/Object";

/// Manifest/UrlFile refused: a file of keys or URLs (SDKs disagree) to fetch and trust; Prefix does it.
/// Exactly one of Prefix and Object: no precedence is guessed between them.
fn batch_input(raw: Option<RawInput>) -> Result<BatchInput, WireError> {
    let raw = raw.ok_or_else(|| WireError::invalid_argument("Input is required (Prefix or Object)"))?;
    for (field, v) in [("Manifest", &raw.manifest), ("UrlFile", &raw.url_file)] {
        if v.as_deref().is_some_and(|v| !v.trim().is_empty()) {
            return Err(WireError::invalid_argument(format!("Input/{field} {UNSUPPORTED}")));
        }
    }
    // An empty Object is absent; an empty Prefix, like `/`, is the whole bucket.
    let object = raw.object.filter(|o| !o.trim().is_empty());
    match (raw.prefix, object) {
        (Some(_), Some(_)) => Err(WireError::invalid_argument("Input must give Prefix or Object, not both")),
        (None, None) => Err(WireError::invalid_argument("Input/Prefix or Input/Object is required")),
        (Some(prefix), None) => batch_prefix(&prefix).map(BatchInput::Prefix),
        (None, Some(object)) => {
            // COS keys never start with `/`; the SDK demos write one for the bucket's root.
            let key = object.trim_start_matches('/').to_string();
            if key.is_empty() {
                return Err(WireError::invalid_argument("Input/Object must name an object, not the bucket"));
            }
            validate_object_key(&key)?;
            Ok(BatchInput::Object(key))
        }
    }
}

/// Prefix `/` (Python's demo) or empty is the whole bucket, stored as ""; leading `/`s go (COS keys have none).
fn batch_prefix(raw: &str) -> Result<String, WireError> {
    let prefix = raw.trim().trim_start_matches('/').to_string();
    if prefix.len() > 850 || prefix.chars().any(char::is_control) {
        return Err(WireError::invalid_argument(
            "Input/Prefix must be at most 850 bytes without control characters",
        ));
    }
    Ok(prefix)
}

/// Empty `<TimeInterval/>` (Go sends one when unset) is no filter; a lone bound leaves the other side open.
fn time_interval(raw: RawTimeInterval) -> Result<Option<TimeInterval>, WireError> {
    let start = trimmed(raw.start).map(|s| bound("Operation/TimeInterval/Start", &s)).transpose()?;
    let end = trimmed(raw.end).map(|s| bound("Operation/TimeInterval/End", &s)).transpose()?;
    if let (Some(s), Some(e)) = (start, end) {
        if s > e {
            return Err(WireError::invalid_argument("Operation/TimeInterval/Start is after End"));
        }
    }
    Ok((start.is_some() || end.is_some()).then_some(TimeInterval { start, end }))
}

/// Tencent's `2022-02-01T12:00:00+0800` or RFC 3339; an offset is required (a bare time depends on a zone).
fn bound(field: &str, v: &str) -> Result<DateTime<Utc>, WireError> {
    DateTime::parse_from_str(v, "%Y-%m-%dT%H:%M:%S%z")
        .or_else(|_| DateTime::parse_from_rfc3339(v))
        .map(|t| t.with_timezone(&Utc).trunc_subsecs(0))
        .map_err(|_| {
            WireError::invalid_argument(format!(
                "{field} must be a time like 2022-02-01T12:00:00+0800 (or RFC 3339), not {v:?}"
            ))
        })
}

/// WorkflowIds: comma-separated (Java's demo), blanks dropped, repeats removed (one run per workflow).
fn workflow_id_list(raw: Option<String>) -> Result<Vec<String>, WireError> {
    let raw = raw.ok_or_else(|| {
        WireError::invalid_argument("Operation/WorkflowIds is required when Type is Workflow")
    })?;
    check_text("Operation/WorkflowIds", &raw)?;
    let mut ids: Vec<String> = Vec::new();
    for id in raw.split(',').map(str::trim).filter(|id| !id.is_empty()) {
        if !ids.iter().any(|known| known == id) {
            ids.push(id.to_string());
        }
    }
    if ids.is_empty() {
        return Err(WireError::invalid_argument("Operation/WorkflowIds is required when Type is Workflow"));
    }
    Ok(ids)
}

/// Type=Job: Tag must be ImageInspect (exactly, as in `POST /jobs`); the rest as `POST /jobs` takes it.
fn job_settings(spec: &mut BatchSpec, op: RawOperation) -> Result<(), WireError> {
    match trimmed(op.tag).as_deref() {
        Some("ImageInspect") => {}
        Some(other) => {
            return Err(WireError::invalid_argument(format!(
                "Operation/Tag must be ImageInspect when Type is Job, not {other:?}"
            )))
        }
        None => {
            return Err(WireError::invalid_argument(
                "Operation/Tag is required (ImageInspect) when Type is Job",
            ))
        }
    }
    if let Some(inspect) = op.job_param.and_then(|p| p.image_inspect) {
        spec.inspect = inspect_options(inspect)
            .map_err(|e| WireError::invalid_argument(format!("Operation/JobParam/{}", e.message)))?;
    }
    spec.queue_id =
        trimmed(op.queue_id).map(|q| check_text("Operation/QueueId", &q).map(|_| q)).transpose()?;
    spec.user_data = user_data("Operation/UserData", op.user_data)?;
    spec.job_level = job_level("Operation/JobLevel", op.job_level)?;
    let raw_callbacks = RawCallbacks {
        call_back: op.call_back,
        call_back_format: op.call_back_format,
        call_back_type: op.call_back_type,
        call_back_mq_config: op.call_back_mq_config,
        call_back_kafka_config: op.call_back_kafka_config,
    };
    let Callbacks { callback, callback_format, callback_type, callback_mq, callback_kafka } =
        callbacks("Operation/", raw_callbacks)?;
    (spec.callback, spec.callback_format, spec.callback_type, spec.callback_mq, spec.callback_kafka) =
        (callback, callback_format, callback_type, callback_mq, callback_kafka);
    Ok(())
}
