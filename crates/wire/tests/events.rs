//! Bucket notifications as data (spec triggers.md §3): every body under `tests/events/` and what
//! `parse_bucket_events` must make of it. The `minio-*` bodies (but the documented one) are
//! `json.Marshal` output of MinIO's own structs (Go, `ToEvent` + the webhook target's envelope)
//! and `MinioEvent::webhook_body` must reproduce them byte for byte.
use std::path::{Path, PathBuf};

use stowaway_testkit::MinioEvent;
use stowaway_wire::{parse_bucket_events, BucketEvents, ObjectCreated};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/events")
}

fn read(file: &str) -> Vec<u8> {
    std::fs::read(dir().join(file)).unwrap_or_else(|e| panic!("{file}: {e}"))
}

/// A creation with only what every source gives; the cases fill in the rest.
fn new(bucket: &str, key: &str, event: &str) -> ObjectCreated {
    ObjectCreated {
        bucket: bucket.into(),
        key: key.into(),
        size: None,
        etag: None,
        version_id: None,
        sequencer: None,
        content_type: None,
        event_name: event.into(),
    }
}

const PUT: &str = "ObjectCreated:Put";
const MINIO_ETAG: &str = "430f89010c77aa34fc8760696da62d08";
const MINIO_SEQ: &str = "15C32494527B46C5";

fn minio_put(key: &str, content_type: &str) -> ObjectCreated {
    ObjectCreated {
        size: Some(6474),
        etag: Some(MINIO_ETAG.into()),
        sequencer: Some(MINIO_SEQ.into()),
        content_type: Some(content_type.into()),
        ..new("images", key, PUT)
    }
}

fn aws(key: &str, version: Option<&str>, sequencer: &str) -> ObjectCreated {
    ObjectCreated {
        size: Some(1024),
        etag: Some("d41d8cd98f00b204e9800998ecf8427e".into()),
        version_id: version.map(Into::into),
        sequencer: Some(sequencer.into()),
        ..new("amzn-s3-demo-bucket", key, PUT)
    }
}

const AWS_VERSION: &str = "096fKKXTRTtl3on89fVO.nfljtsv6qko";

fn seaweed(key: &str, content_type: &str) -> ObjectCreated {
    ObjectCreated {
        size: Some(6474),
        etag: Some(MINIO_ETAG.into()),
        sequencer: Some("1893E6583BEA4715".into()),
        content_type: Some(content_type.into()),
        ..new("images", key, PUT)
    }
}

fn ok(created: Vec<ObjectCreated>, ignored: usize) -> Option<BucketEvents> {
    Some(BucketEvents { created, ignored })
}

/// Every body and what it holds; `None`: not a notification (an error the caller logs).
fn cases() -> Vec<(&'static str, Option<BucketEvents>)> {
    vec![
        // MinIO, spec §3.2 (docs/bucket/notifications/README.md, "Test on Kafka"): older fields.
        (
            "minio-doc-kafka.json",
            ok(
                vec![ObjectCreated {
                    etag: Some("430f89010c77aa34fc8760696da62d08-1".into()),
                    version_id: Some("1".into()),
                    ..minio_put("myphoto.jpg", "image/jpeg")
                }],
                0,
            ),
        ),
        // MinIO today (§3.4): the envelope Key is raw, s3.object.key is url.QueryEscape'd.
        ("minio-put-space.json", ok(vec![minio_put("photos/red flower.jpg", "image/jpeg")], 0)),
        ("minio-put-cjk.json", ok(vec![minio_put("照片/猫.png", "image/png")], 0)),
        ("minio-put-plus-paren.json", ok(vec![minio_put("a+b (1).jpg", "image/jpeg")], 0)),
        ("minio-put-percent.json", ok(vec![minio_put("100%.png", "image/png")], 0)),
        (
            "minio-put-escapes.json",
            ok(
                vec![ObjectCreated {
                    size: Some(1),
                    ..minio_put("<b>&\"q\"\\ \u{2028}\u{2029}\u{1}\u{1f}\t\n\u{7f} é🐱.png", "image/png")
                }],
                0,
            ),
        ),
        // MinIO omits a zero size.
        (
            "minio-put-zero-size.json",
            ok(
                vec![ObjectCreated {
                    size: Some(0),
                    etag: Some("d41d8cd98f00b204e9800998ecf8427e".into()),
                    ..minio_put("empty.png", "image/png")
                }],
                0,
            ),
        ),
        ("minio-put-directory.json", ok(vec![], 1)),
        (
            "minio-multipart.json",
            ok(
                vec![ObjectCreated {
                    size: Some(15_728_640),
                    etag: Some("c5a3a5b9f1d9a3c5e2f0b1c2d3e4f5a6-3".into()),
                    version_id: Some("9f1c2d3e-4b5a-4c6d-8e7f-0a1b2c3d4e5f".into()),
                    sequencer: Some("1893E6585D05AFF2".into()),
                    event_name: "ObjectCreated:CompleteMultipartUpload".into(),
                    ..minio_put("big/panorama.jpg", "image/jpeg")
                }],
                0,
            ),
        ),
        (
            "minio-copy.json",
            ok(
                vec![ObjectCreated {
                    sequencer: Some("1893E658348E7A00".into()),
                    event_name: "ObjectCreated:Copy".into(),
                    ..minio_put("copies/red flower.jpg", "image/jpeg")
                }],
                0,
            ),
        ),
        ("minio-put-tagging.json", ok(vec![], 1)),
        ("minio-delete.json", ok(vec![], 1)),
        // AWS: form-encoded keys, `/` kept or escaped.
        (
            "aws-put-slash-kept.json",
            ok(vec![aws("photos/red flower.jpg", Some(AWS_VERSION), "0055AED6DCD90281E5")], 0),
        ),
        ("aws-put-slash-escaped.json", ok(vec![aws("照片/猫.png", None, "0055AED6DCD90281E5")], 0)),
        (
            "aws-put-encoded-specials.json",
            ok(
                vec![
                    aws("a+b (1).jpg", None, "0055AED6DCD90281E6"),
                    aws("100%.png", None, "0055AED6DCD90281E7"),
                ],
                0,
            ),
        ),
        (
            "aws-multipart.json",
            ok(
                vec![ObjectCreated {
                    size: Some(26_214_400),
                    etag: Some("5f363e0e58a95f06cbe9bbc662c5dfb6-3".into()),
                    event_name: "ObjectCreated:CompleteMultipartUpload".into(),
                    ..aws("uploads/huge scan.png", Some(AWS_VERSION), "0055AED6DCD90281E5")
                }],
                0,
            ),
        ),
        ("aws-delete.json", ok(vec![], 1)),
        // `bad%zz`, `%FF%FE` (not UTF-8) and an empty key: ignored, not an error.
        ("aws-undecodable-keys.json", ok(vec![], 3)),
        ("aws-test-event.json", ok(vec![], 1)),
        // SNS HTTP delivery: unwrapped once.
        (
            "sns-notification.json",
            ok(vec![aws("photos/red flower.jpg", Some(AWS_VERSION), "0055AED6DCD90281E5")], 0),
        ),
        ("sns-test-event.json", ok(vec![], 1)),
        ("sns-subscription-confirmation.json", ok(vec![], 1)),
        ("sns-message-not-json.json", None),
        // EventBridge: keys unencoded (`+` stays).
        (
            "eventbridge-object-created.json",
            ok(
                vec![ObjectCreated {
                    size: Some(5),
                    etag: Some("b1946ac92492d2347c6235b4d2611184".into()),
                    version_id: Some("IYV3p45BT0ac8hjHg1houSdS1a.Mro8e".into()),
                    sequencer: Some("617f08299329d189".into()),
                    ..new("amzn-s3-demo-bucket1", "photos/red flower+1.jpg", PUT)
                }],
                0,
            ),
        ),
        ("eventbridge-object-deleted.json", ok(vec![], 1)),
        // Ceph RGW: raw keys, size as a string, eventName with or without `s3:`, versionId "".
        (
            "ceph-put-raw-key.json",
            ok(
                vec![ObjectCreated {
                    size: Some(1024),
                    etag: Some("37b51d194a7513e45b56f6524f2d51f2".into()),
                    sequencer: Some("F7E6D75DC742D108".into()),
                    ..new("mybucket1", "photos/red flower+1 100%.jpg", PUT)
                }],
                0,
            ),
        ),
        (
            "ceph-multipart-s3-prefix.json",
            ok(
                vec![ObjectCreated {
                    size: Some(31_457_280),
                    etag: Some("37b51d194a7513e45b56f6524f2d51f2".into()),
                    version_id: Some("rBxL4nK2aT3x0oPqzC9dGmVbZyJ1HwEe".into()),
                    sequencer: Some("F7E6D75DC742D108".into()),
                    ..new("mybucket1", "照片/猫.png", "ObjectCreated:CompleteMultipartUpload")
                }],
                0,
            ),
        ),
        ("ceph-delete.json", ok(vec![], 1)),
        // SeaweedFS filer webhook.
        ("seaweedfs-create.json", ok(vec![seaweed("photos/red flower.jpg", "image/jpeg")], 0)),
        ("seaweedfs-update-overwrite.json", ok(vec![seaweed("photos/red flower.jpg", "image/jpeg")], 0)),
        ("seaweedfs-update-tags.json", ok(vec![], 1)),
        ("seaweedfs-delete.json", ok(vec![], 1)),
        ("seaweedfs-directory.json", ok(vec![], 1)),
        ("seaweedfs-rename.json", ok(vec![seaweed("照片/猫.png", "image/png")], 0)),
        (
            "seaweedfs-versioned.json",
            ok(
                vec![ObjectCreated {
                    version_id: Some("0AD8DFA2B5E17F5Cb4e3f1a2".into()),
                    ..seaweed("photos/cat.png", "image/png")
                }],
                0,
            ),
        ),
        ("seaweedfs-multipart-part.json", ok(vec![], 1)),
        (
            "seaweedfs-multipart-complete.json",
            ok(
                vec![ObjectCreated {
                    size: Some(15_728_640),
                    etag: Some("5f363e0e58a95f06cbe9bbc662c5dfb6-3".into()),
                    event_name: "ObjectCreated:CompleteMultipartUpload".into(),
                    ..seaweed("scans/huge.png", "image/png")
                }],
                0,
            ),
        ),
        ("seaweedfs-outside-buckets.json", ok(vec![], 1)),
        // Not notifications.
        ("malformed.json", None),
        ("not-a-notification.json", None),
        ("not-an-object.json", None),
        ("records-not-an-array.json", None),
    ]
}

#[test]
fn every_body_parses_as_expected() {
    let mut failures = Vec::new();
    for (file, expected) in cases() {
        let got = parse_bucket_events(&read(file));
        let matches = match (&got, &expected) {
            (Ok(got), Some(expected)) => got == expected,
            (Err(e), None) => !e.to_string().is_empty(),
            _ => false,
        };
        if !matches {
            failures.push(format!("{file}:\n  expected {expected:?}\n  got      {got:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_body_on_disk_has_a_case() {
    let listed: Vec<_> = cases().into_iter().map(|(f, _)| f.to_owned()).collect();
    let mut on_disk: Vec<_> = std::fs::read_dir(dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|f| !listed.contains(f))
        .collect();
    on_disk.sort();
    assert!(on_disk.is_empty(), "bodies without an expected result: {on_disk:?}");
}

/// The MinIO events behind the generated bodies (the same values as the Go program that made
/// them: MinIO's structs, `ToEvent(true)`, `json.Marshal(event.Log{…})`).
fn minio_bodies() -> Vec<(&'static str, MinioEvent<'static>)> {
    let e = MinioEvent::example;
    let removal_or_tagging = |event_name, response_content_length| MinioEvent {
        event_name,
        response_content_length,
        ..e("images", "photos/cat.png")
    };
    vec![
        ("minio-put-space.json", e("images", "photos/red flower.jpg")),
        ("minio-put-cjk.json", e("images", "照片/猫.png")),
        ("minio-put-plus-paren.json", e("images", "a+b (1).jpg")),
        ("minio-put-percent.json", e("images", "100%.png")),
        (
            "minio-put-escapes.json",
            MinioEvent {
                size: 1,
                ..e("images", "<b>&\"q\"\\ \u{2028}\u{2029}\u{1}\u{1f}\t\n\u{7f} é🐱.png")
            },
        ),
        (
            "minio-put-zero-size.json",
            MinioEvent { size: 0, etag: "d41d8cd98f00b204e9800998ecf8427e", ..e("images", "empty.png") },
        ),
        (
            "minio-put-directory.json",
            MinioEvent { size: 0, etag: "d41d8cd98f00b204e9800998ecf8427e", ..e("images", "photos/") },
        ),
        (
            "minio-multipart.json",
            MinioEvent {
                size: 15_728_640,
                etag: "c5a3a5b9f1d9a3c5e2f0b1c2d3e4f5a6-3",
                version_id: Some("9f1c2d3e-4b5a-4c6d-8e7f-0a1b2c3d4e5f"),
                event_name: "s3:ObjectCreated:CompleteMultipartUpload",
                mod_time_unix_nanos: 1_771_012_345_678_901_234,
                response_content_length: Some(318),
                ..e("images", "big/panorama.jpg")
            },
        ),
        (
            "minio-copy.json",
            MinioEvent {
                event_name: "s3:ObjectCreated:Copy",
                mod_time_unix_nanos: 1_771_012_345_000_000_000,
                response_content_length: Some(234),
                ..e("images", "copies/red flower.jpg")
            },
        ),
        ("minio-put-tagging.json", removal_or_tagging("s3:ObjectCreated:PutTagging", Some(0))),
        ("minio-delete.json", removal_or_tagging("s3:ObjectRemoved:Delete", None)),
    ]
}

/// `STOWAWAY_BLESS_EVENTS=1` writes the bodies instead (for a new case; check it against MinIO).
#[test]
fn the_generator_still_makes_the_checked_in_bytes() {
    let bless = std::env::var_os("STOWAWAY_BLESS_EVENTS").is_some();
    for (file, event) in minio_bodies() {
        let body = event.webhook_body();
        if bless {
            std::fs::write(dir().join(file), &body).unwrap();
        }
        assert_eq!(String::from_utf8(read(file)).unwrap(), body, "{file}");
        let key = event.kafka_key();
        assert_eq!(key, format!("images/{}", event.key));
    }
}

#[test]
fn minio_retries_dedupe_and_distinct_uploads_do_not() {
    let body = |event: &MinioEvent| parse_bucket_events(event.webhook_body().as_bytes()).unwrap().created;
    let first = MinioEvent::example("images", "photos/red flower.jpg");
    let retry = MinioEvent { request_id: "15C3249451E12799", ..first.clone() };
    // The same bytes written again a millisecond later: another upload.
    let overwrite =
        MinioEvent { mod_time_unix_nanos: first.mod_time_unix_nanos + 1_000_000, ..first.clone() };
    let (a, b, c) = (&body(&first)[0], &body(&retry)[0], &body(&overwrite)[0]);
    assert_eq!(a.occurrence(), b.occurrence());
    assert_ne!(a.occurrence(), c.occurrence(), "an overwrite is another upload");
    let other_content = MinioEvent { etag: "0f89010c77aa34fc8760696da62d0843", ..first.clone() };
    assert_ne!(a.occurrence(), body(&other_content)[0].occurrence());
}

/// Without the envelope (another MinIO target, or a proxy that keeps only `Records`), the record's
/// key is form-decoded instead, to the same raw key.
#[test]
fn minio_records_without_the_envelope_decode_the_same() {
    for key in ["photos/red flower.jpg", "照片/猫.png", "a+b (1).jpg", "100%.png", "100%25.png"] {
        let event = MinioEvent::example("images", key);
        let mut body: serde_json::Value = serde_json::from_str(&event.webhook_body()).unwrap();
        let bare = serde_json::json!({ "Records": body["Records"].take() });
        let parsed = parse_bucket_events(bare.to_string().as_bytes()).unwrap();
        assert_eq!(parsed.created.len(), 1, "{key}");
        assert_eq!(parsed.created[0].key, key);
    }
}

/// The envelope Key wins over the record's key, and is never decoded.
#[test]
fn the_envelope_key_is_raw() {
    let event = MinioEvent::example("images", "100%25 a+b.png");
    let parsed = parse_bucket_events(event.webhook_body().as_bytes()).unwrap();
    assert_eq!(parsed.created[0].key, "100%25 a+b.png");
}

#[test]
fn other_created_kinds_and_names() {
    for (name, counts) in [
        ("s3:ObjectCreated:Post", true),
        ("s3:ObjectCreated:PutRetention", false),
        ("s3:ObjectCreated:PutLegalHold", false),
        ("s3:ObjectCreated:DeleteTagging", false),
        ("s3:ObjectRemoved:DeleteMarkerCreated", false),
        ("s3:ObjectAccessed:Get", false),
        ("s3:Scanner:ManyVersions", false),
    ] {
        let event = MinioEvent { event_name: name, ..MinioEvent::example("images", "a.png") };
        let parsed = parse_bucket_events(event.webhook_body().as_bytes()).unwrap();
        assert_eq!((parsed.created.len(), parsed.ignored), (counts as usize, !counts as usize), "{name}");
        if counts {
            assert_eq!(parsed.created[0].event_name, "ObjectCreated:Post");
        }
    }
}
