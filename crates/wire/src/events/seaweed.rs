//! SeaweedFS's filer webhook: filer entries as the uploads they are.
use serde_json::{Map, Value};

use super::{clean_etag, is_object_key, non_empty, str_of, BucketEvents, ObjectCreated};

/// Where SeaweedFS's S3 gateway keeps buckets in the filer (its default `/buckets`).
const SEAWEED_BUCKETS: &str = "/buckets/";

/// SeaweedFS's filer webhook (`weed/notification/webhook`): `create` of a file, `update` that
/// changed the content (an overwrite; tags and other metadata alone do not count) and `rename`
/// (the file appears at its new path) are new objects; `delete` and directories are not.
pub(super) fn parse_seaweed(key: &str, event_type: &str, body: &Map<String, Value>, out: &mut BucketEvents) {
    match seaweed_created(key, event_type, body) {
        Some(created) => out.created.push(created),
        None => out.ignored += 1,
    }
}

fn seaweed_created(key: &str, event_type: &str, body: &Map<String, Value>) -> Option<ObjectCreated> {
    let message = body.get("message").or_else(|| body.get("message_data"))?.as_object()?;
    let new_entry = message.get("new_entry")?.as_object()?;
    let path = match event_type {
        "create" => key.to_owned(),
        "update" => {
            let old_entry = message.get("old_entry").and_then(Value::as_object);
            if old_entry.is_some_and(|old| same_content(old, new_entry)) {
                return None;
            }
            key.to_owned()
        }
        "rename" => {
            let name = str_of(new_entry, "name")?;
            let parent = match str_of(message, "new_parent_path").filter(|p| !p.is_empty()) {
                Some(parent) => parent,
                None => key.rsplit_once('/')?.0,
            };
            format!("{}/{name}", parent.trim_end_matches('/'))
        }
        _ => return None,
    };
    seaweed_object(&path, new_entry)
}

/// A filer path → bucket and key. Directories never count; nor do multipart parts (`.uploads/`).
/// A versioned object's file `<key>.versions/v_<id>` is `<key>` at version `<id>`.
fn seaweed_object(path: &str, entry: &Map<String, Value>) -> Option<ObjectCreated> {
    if entry.get("is_directory").and_then(Value::as_bool) == Some(true) {
        return None;
    }
    let (bucket, key) = path.strip_prefix(SEAWEED_BUCKETS)?.split_once('/')?;
    if bucket.is_empty() || key == ".uploads" || key.starts_with(".uploads/") {
        return None;
    }
    let extended = entry.get("extended").and_then(Value::as_object);
    let ext = |name: &str| {
        let bytes = base64_decode(extended?.get(name)?.as_str()?)?;
        String::from_utf8(bytes).ok().filter(|s| !s.is_empty())
    };
    let (key, version_in_path) = match key.rsplit_once('/') {
        Some((parent, file)) => match (parent.strip_suffix(".versions"), file.strip_prefix("v_")) {
            (Some(object), Some(id)) => (object, Some(id.to_owned())),
            _ => (key, None),
        },
        None => (key, None),
    };
    let version_id = ext("Seaweed-X-Amz-Version-Id").or(version_in_path);
    if !is_object_key(key) {
        return None;
    }
    let attributes = entry.get("attributes").and_then(Value::as_object);
    let attribute = |name: &str| attributes.and_then(|a| a.get(name));
    let md5 = attribute("md5").and_then(Value::as_str).and_then(base64_decode).filter(|m| !m.is_empty());
    let single_chunk_etag = match entry.get("chunks").and_then(Value::as_array).map(Vec::as_slice) {
        Some([chunk]) => {
            chunk.get("e_tag").and_then(Value::as_str).and_then(base64_decode).filter(|m| !m.is_empty())
        }
        _ => None,
    };
    // The S3 gateway's ETag: the stored one (multipart), else the MD5, else a lone chunk's.
    let etag = ext("Seaweed-X-Amz-ETag")
        .as_deref()
        .and_then(clean_etag)
        .or_else(|| md5.or(single_chunk_etag).map(hex));
    // Protobuf's omitempty: an absent file_size is 0.
    let size = Some(attribute("file_size").and_then(Value::as_u64).unwrap_or(0));
    // No sequencer in a filer event: the entry's mtime in nanoseconds, `%X`, as MinIO spells its.
    let sequencer = attribute("mtime").and_then(Value::as_i64).map(|secs| {
        let ns = attribute("mtime_ns").and_then(Value::as_i64).unwrap_or(0);
        format!("{:X}", i128::from(secs) * 1_000_000_000 + i128::from(ns))
    });
    let multipart = extended.is_some_and(|e| e.contains_key("X-Seaweedfs-Upload-Id"));
    Some(ObjectCreated {
        bucket: bucket.to_owned(),
        key: key.to_owned(),
        size,
        etag,
        version_id,
        sequencer,
        content_type: non_empty(attribute("mime").and_then(Value::as_str)),
        event_name: if multipart { "ObjectCreated:CompleteMultipartUpload" } else { "ObjectCreated:Put" }
            .to_owned(),
    })
}

/// An update changed the content when its chunks, inline content, MD5 or size differ.
fn same_content(old: &Map<String, Value>, new: &Map<String, Value>) -> bool {
    let attr = |e: &Map<String, Value>, name: &str| e.get("attributes").and_then(|a| a.get(name)).cloned();
    old.get("chunks") == new.get("chunks")
        && old.get("content") == new.get("content")
        && attr(old, "md5") == attr(new, "md5")
        && attr(old, "file_size") == attr(new, "file_size")
}

fn hex(bytes: Vec<u8>) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Standard base64 with padding (Go's `encoding/json` spelling of `[]byte`).
fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let s = s.trim_end_matches('=');
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        };
        acc = acc << 6 | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_go() {
        assert_eq!(
            base64_decode("1B2M2Y8AsgTpgAmY7PhCfg==").map(hex).as_deref(),
            Some("d41d8cd98f00b204e9800998ecf8427e")
        );
        assert_eq!(base64_decode("bnVsbA==").as_deref(), Some(&b"null"[..]));
        assert_eq!(base64_decode("YQ"), Some(b"a".to_vec()));
        assert_eq!(base64_decode("a*b"), None);
    }
}
