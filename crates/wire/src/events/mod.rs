//! S3-style bucket notifications (spec `triggers.md` §3) → the objects Stowaway must inspect.
//!
//! Accepted bodies: MinIO's envelope `{"EventName","Key","Records":[…]}` (webhook body = Kafka
//! value), bare `{"Records":[…]}` (AWS via SQS/SNS raw delivery, Ceph RGW), an SNS HTTP/SQS
//! envelope around either, AWS's `s3:TestEvent`, EventBridge `Object Created`, and SeaweedFS's
//! filer webhook. Pure: bytes in, events out.
use std::fmt;

use serde_json::{Map, Value};

mod seaweed;

use seaweed::parse_seaweed;

/// One object that appeared in a bucket, as a notification told it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectCreated {
    pub bucket: String,
    /// The raw object key, decoded exactly once the right way for its source (§3.4).
    pub key: String,
    pub size: Option<u64>,
    /// Without quotes.
    pub etag: Option<String>,
    /// `None` when absent or empty.
    pub version_id: Option<String>,
    pub sequencer: Option<String>,
    pub content_type: Option<String>,
    /// Normalised, without a leading `s3:`, e.g. `ObjectCreated:Put`.
    pub event_name: String,
}

impl ObjectCreated {
    /// What names this upload among every upload of its bucket, for one run per upload: the same
    /// for MinIO's retries of its event and for a poll that lists the object ([`upload_occurrence`]
    /// of bucket, key, ETag and modification time in ms: MinIO's and SeaweedFS's sequencer is the
    /// object's modification time in ns, a listing's Last-Modified the same time in ms). AWS's
    /// opaque sequencer names the upload too, without matching a listing. `None` without a
    /// sequencer: nothing tells one upload of a key from the next.
    pub fn occurrence(&self) -> Option<String> {
        let sequencer = self.sequencer.as_deref()?;
        let time = match u128::from_str_radix(sequencer, 16) {
            Ok(ns) => (ns / 1_000_000).to_string(),
            Err(_) => sequencer.to_string(),
        };
        Some(upload_occurrence(&self.bucket, &self.key, self.etag.as_deref().unwrap_or(""), &time))
    }
}

/// The name of one upload (see [`ObjectCreated::occurrence`]): a JSON array, so that no key can
/// make two uploads collide. `modified` is the modification time in ms since the epoch.
pub fn upload_occurrence(bucket: &str, key: &str, etag: &str, modified: &str) -> String {
    serde_json::to_string(&[bucket, key, etag, modified]).unwrap_or_default()
}

/// What a body held: the creations to inspect, and how many records were ignored (removals,
/// tagging, retention, directories, test events).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct BucketEvents {
    pub created: Vec<ObjectCreated>,
    pub ignored: usize,
}

/// A body that is not a bucket notification at all. The caller logs it and still acknowledges.
#[derive(Debug, PartialEq, Eq)]
pub struct EventError(pub String);

impl fmt::Display for EventError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "not a bucket notification: {}", self.0)
    }
}

impl std::error::Error for EventError {}

/// The event names (after stripping `s3:`) that mean a new object; `PutTagging`, `PutRetention`,
/// `PutLegalHold`, `DeleteTagging`, removals and everything else are ignored (§3.3).
pub const CREATION_EVENTS: [&str; 4] = [
    "ObjectCreated:Put",
    "ObjectCreated:Post",
    "ObjectCreated:Copy",
    "ObjectCreated:CompleteMultipartUpload",
];

/// Parses one notification body (JSON). Err only when it is not a notification at all (not JSON,
/// no recognised shape); the caller logs it and still acknowledges.
pub fn parse_bucket_events(body: &[u8]) -> Result<BucketEvents, EventError> {
    let value: Value = serde_json::from_slice(body).map_err(|e| EventError(format!("not JSON ({e})")))?;
    let mut out = BucketEvents::default();
    parse_value(&value, true, &mut out)?;
    Ok(out)
}

fn parse_value(value: &Value, sns_allowed: bool, out: &mut BucketEvents) -> Result<(), EventError> {
    let Some(body) = value.as_object() else {
        return Err(EventError("not a JSON object".into()));
    };
    if let Some(records) = body.get("Records") {
        let records = records.as_array().ok_or_else(|| EventError("Records is not an array".into()))?;
        // MinIO's envelope `Key` is `<bucket>/<raw key>` for its single record.
        let envelope_key = match records.len() {
            1 => body.get("Key").and_then(Value::as_str),
            _ => None,
        };
        for record in records {
            match parse_record(record, envelope_key) {
                Some(created) => out.created.push(created),
                None => out.ignored += 1,
            }
        }
        return Ok(());
    }
    // AWS's `s3:TestEvent`, sent when a notification configuration is saved: nothing to inspect.
    if body.get("Event").and_then(Value::as_str) == Some("s3:TestEvent") {
        out.ignored += 1;
        return Ok(());
    }
    if let (Some(kind), true) =
        (str_of(body, "Type"), body.contains_key("Message") || body.contains_key("TopicArn"))
    {
        return parse_sns(kind, body, sns_allowed, out);
    }
    if str_of(body, "source") == Some("aws.s3") {
        if let Some(detail_type) = str_of(body, "detail-type") {
            parse_eventbridge(detail_type, body, out);
            return Ok(());
        }
    }
    if let (Some(key), Some(event_type)) = (str_of(body, "key"), str_of(body, "event_type")) {
        parse_seaweed(key, event_type, body, out);
        return Ok(());
    }
    Err(EventError("no recognised notification shape".into()))
}

/// An SNS envelope (HTTP subscription, or SQS without raw delivery) is unwrapped once; its
/// subscription handshakes are ignored (confirming is the operator's job).
fn parse_sns(
    kind: &str,
    body: &Map<String, Value>,
    sns_allowed: bool,
    out: &mut BucketEvents,
) -> Result<(), EventError> {
    if !sns_allowed {
        return Err(EventError("an SNS envelope inside an SNS envelope".into()));
    }
    match kind {
        "Notification" => {
            let message =
                str_of(body, "Message").ok_or_else(|| EventError("SNS Message is not a string".into()))?;
            let inner: Value = serde_json::from_str(message)
                .map_err(|e| EventError(format!("SNS Message is not JSON ({e})")))?;
            parse_value(&inner, false, out)
        }
        "SubscriptionConfirmation" | "UnsubscribeConfirmation" => {
            out.ignored += 1;
            Ok(())
        }
        other => Err(EventError(format!("unknown SNS message type {other:?}"))),
    }
}

/// One S3-style record; `None` when it is to be ignored (counted by the caller).
fn parse_record(record: &Value, envelope_key: Option<&str>) -> Option<ObjectCreated> {
    let record = record.as_object()?;
    let event_name = normalise_event_name(str_of(record, "eventName")?);
    // Only Put, Post, Copy and CompleteMultipartUpload are new objects.
    if !CREATION_EVENTS.contains(&event_name) {
        return None;
    }
    let source = str_of(record, "eventSource").unwrap_or("");
    let s3 = record.get("s3")?.as_object()?;
    let bucket = s3.get("bucket")?.as_object().and_then(|b| str_of(b, "name")).filter(|b| !b.is_empty())?;
    let object = s3.get("object")?.as_object()?;
    // MinIO's envelope `Key` is already raw: strip `<bucket>/`, never decode it.
    let key = match envelope_key.and_then(|k| k.strip_prefix(bucket)).and_then(|k| k.strip_prefix('/')) {
        Some(raw) => raw.to_owned(),
        None => {
            let key = str_of(object, "key")?;
            // Form-decoded once for `minio:s3` and `aws:s3`; raw for Ceph and everyone else.
            if matches!(source, "minio:s3" | "aws:s3") {
                form_decode(key)?
            } else {
                key.to_owned()
            }
        }
    };
    if !is_object_key(&key) {
        return None;
    }
    let size = match object.get("size") {
        Some(v) => number_or_text(v),
        // MinIO omits a zero size (`omitempty`) on creations.
        None if source == "minio:s3" => Some(0),
        None => None,
    };
    Some(ObjectCreated {
        bucket: bucket.to_owned(),
        key,
        size,
        etag: str_of(object, "eTag").or_else(|| str_of(object, "etag")).and_then(clean_etag),
        version_id: non_empty(str_of(object, "versionId")),
        sequencer: non_empty(str_of(object, "sequencer")),
        content_type: non_empty(str_of(object, "contentType")),
        event_name: event_name.to_owned(),
    })
}

/// EventBridge's `Object Created` (keys unencoded); every other detail-type is ignored.
fn parse_eventbridge(detail_type: &str, body: &Map<String, Value>, out: &mut BucketEvents) {
    match eventbridge_created(detail_type, body) {
        Some(created) => out.created.push(created),
        None => out.ignored += 1,
    }
}

fn eventbridge_created(detail_type: &str, body: &Map<String, Value>) -> Option<ObjectCreated> {
    if detail_type != "Object Created" {
        return None;
    }
    let detail = body.get("detail")?.as_object()?;
    let bucket =
        detail.get("bucket")?.as_object().and_then(|b| str_of(b, "name")).filter(|b| !b.is_empty())?;
    let object = detail.get("object")?.as_object()?;
    let key = str_of(object, "key")?;
    if !is_object_key(key) {
        return None;
    }
    // `reason` names the API call; an unknown one stays a creation (the detail-type says so).
    let event_name = match str_of(detail, "reason") {
        Some("PutObject") => "ObjectCreated:Put",
        Some("POST Object") => "ObjectCreated:Post",
        Some("CopyObject") => "ObjectCreated:Copy",
        Some("CompleteMultipartUpload") => "ObjectCreated:CompleteMultipartUpload",
        _ => "ObjectCreated:*",
    };
    Some(ObjectCreated {
        bucket: bucket.to_owned(),
        key: key.to_owned(),
        size: object.get("size").and_then(number_or_text),
        etag: str_of(object, "etag").and_then(clean_etag),
        version_id: non_empty(str_of(object, "version-id")),
        sequencer: non_empty(str_of(object, "sequencer")),
        content_type: None,
        event_name: event_name.to_owned(),
    })
}

/// Event names are compared without a leading `s3:` (MinIO and Ceph add it, AWS does not).
fn normalise_event_name(name: &str) -> &str {
    name.strip_prefix("s3:").unwrap_or(name)
}

/// An empty key, or one ending in `/` (a directory marker), is not an object to inspect.
fn is_object_key(key: &str) -> bool {
    !key.is_empty() && !key.ends_with('/')
}

/// Form decoding (`+` → space, then `%XX` as UTF-8), once; a malformed escape or invalid UTF-8
/// after decoding → `None` (the record is ignored, as MinIO's own `url.QueryUnescape` would fail).
pub fn form_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hi = hex_digit(*bytes.get(i + 1)?)?;
                let lo = hex_digit(*bytes.get(i + 2)?)?;
                out.push(hi << 4 | lo);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

fn hex_digit(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// A size as a JSON number or, as Ceph documents it, a decimal string.
fn number_or_text(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// ETags without surrounding quotes; empty → `None`.
fn clean_etag(etag: &str) -> Option<String> {
    non_empty(Some(etag.trim_matches('"')))
}

fn non_empty(s: Option<&str>) -> Option<String> {
    s.filter(|s| !s.is_empty()).map(str::to_owned)
}

fn str_of<'a>(map: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    map.get(name).and_then(Value::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_decoding_happens_once() {
        assert_eq!(form_decode("photos%2Fred+flower.jpg").as_deref(), Some("photos/red flower.jpg"));
        assert_eq!(form_decode("a%2Bb+%281%29.jpg").as_deref(), Some("a+b (1).jpg"));
        assert_eq!(form_decode("100%25.png").as_deref(), Some("100%.png"));
        assert_eq!(form_decode("100%2525.png").as_deref(), Some("100%25.png"));
        assert_eq!(form_decode("%e7%8c%ab.png").as_deref(), Some("猫.png"));
        assert_eq!(form_decode("bad%zz"), None);
        assert_eq!(form_decode("cut%2"), None);
        assert_eq!(form_decode("%FF.png"), None);
    }

    #[test]
    fn occurrences_do_not_collide() {
        let a = ObjectCreated {
            bucket: "b".into(),
            key: "k\",\"x".into(),
            size: None,
            etag: Some("e".into()),
            version_id: None,
            sequencer: Some("15C32494527B46C5".into()),
            content_type: None,
            event_name: "ObjectCreated:Put".into(),
        };
        let b = ObjectCreated { key: "k".into(), etag: Some("x\",\"e".into()), ..a.clone() };
        assert_ne!(a.occurrence(), b.occurrence());
        let same = ObjectCreated {
            size: Some(3),
            event_name: "x".into(),
            version_id: Some("v".into()),
            ..a.clone()
        };
        assert_eq!(a.occurrence(), same.occurrence());
        // The sequencer's ns, in ms, as a listing's Last-Modified has it.
        assert_eq!(a.occurrence(), Some(upload_occurrence("b", "k\",\"x", "e", "1568137314712")));
        assert_eq!(ObjectCreated { sequencer: None, ..a }.occurrence(), None);
    }
}
