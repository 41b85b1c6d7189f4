//! Workflows end to end, as processes against the real PostgreSQL and s3s-fs: every workflow call
//! of Tencent's Python SDK (signatures on), then MinIO's webhook bodies (byte for byte, from
//! `stowaway_testkit::minio`) posted to `/events/s3` start runs on exactly the uploads the
//! workflow matches, once each, and every run reports TaskFinish and WorkflowFinish.
mod common;

use std::collections::BTreeMap;
use std::process::Command;
use std::time::{Duration, Instant};

use sqlx::PgPool;
use stowaway_testkit::minio::MinioEvent;
use stowaway_testkit::receiver::Receiver;
use stowaway_testkit::{clean_png, fresh_bucket, png_with_ts, S3Server};

use common::{try_request, Database, Process};

const SECRET_ID: &str = "AKIDtest";
const SECRET_KEY: &str = "testSecretKey";
const TOKEN: &str = "events-test-token";
/// The key the SDK script triggers by hand.
const MANUAL_KEY: &str = "up/hls 1+2.png";
/// Keys that need every decoding rule: a space, `+`, `%` and CJK.
const CAUGHT_KEY: &str = "up/照片/猫 1+1 100%.png";
const CLEAN_KEY: &str = "up/clean one.png";

/// Callbacks by (EventName, object), until `want` arrived or 30 s passed.
async fn callbacks(receiver: &mut Receiver, want: usize) -> BTreeMap<(String, String), serde_json::Value> {
    let mut got = BTreeMap::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while got.len() < want && Instant::now() < deadline {
        let Some(r) = receiver.next(Duration::from_millis(500)).await else { continue };
        assert_eq!(r.header("content-type"), "application/json");
        let c: serde_json::Value = serde_json::from_slice(&r.body).expect("a JSON callback");
        let event = c["EventName"].as_str().expect("EventName").to_string();
        let object = match event.as_str() {
            "TaskFinish" => c["JobsDetail"]["Input"]["Object"].clone(),
            _ => c["WorkflowExecution"]["Object"].clone(),
        };
        let previous = got.insert((event, object.as_str().expect("an object").to_string()), c);
        assert!(previous.is_none(), "one callback of each kind per run: {previous:?}");
    }
    got
}

fn post_event(port: u16, auth: Option<&str>, body: &str) -> u16 {
    let headers: Vec<(&str, &str)> = auth.map(|a| ("Authorization", a)).into_iter().collect();
    try_request(port, "POST", "/events/s3", &headers, body).expect("the server answers").status
}

#[tokio::test(flavor = "multi_thread")]
async fn python_sdk_workflows_then_minio_events_start_each_run_once() {
    let db = Database::create().await;
    let (objects, bucket) = fresh_bucket(S3Server::Strict).await;
    for key in [MANUAL_KEY, CAUGHT_KEY] {
        objects.put(&bucket, key, png_with_ts(50)).await.unwrap();
    }
    for key in [CLEAN_KEY, "elsewhere/x.png", "up/notes.txt"] {
        objects.put(&bucket, key, clean_png()).await.unwrap();
    }
    let mut receiver = Receiver::start().await;
    let serve = Process::start(
        "serve",
        &db,
        &bucket,
        &[
            ("STOWAWAY_SECRET_ID", SECRET_ID),
            ("STOWAWAY_SECRET_KEY", SECRET_KEY),
            ("STOWAWAY_CALLBACK_ALLOW_PRIVATE", "true"),
            ("STOWAWAY_EVENTS_TOKEN", TOKEN),
        ],
    );
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/sdk/python_workflows.py");
    let (port, callback) = (serve.port.to_string(), receiver.url());
    #[rustfmt::skip]
    let out = Command::new("python3")
        .args([script, "--port", &port, "--bucket", &bucket, "--callback", &callback,
               "--secret-id", SECRET_ID, "--secret-key", SECRET_KEY])
        .output()
        .expect("python3 (scripts/test.sh installs the SDK)");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && text.contains("python-workflows: all calls worked"), "{text}");

    // The manual run: TaskFinish, then WorkflowFinish, both JSON, to the NotifyConfig's URL.
    let manual = callbacks(&mut receiver, 2).await;
    let task = &manual[&("TaskFinish".to_string(), MANUAL_KEY.to_string())];
    assert_eq!(task["JobsDetail"]["Workflow"]["Name"], "ImageInspectNode", "{task}");
    let run = &manual[&("WorkflowFinish".to_string(), MANUAL_KEY.to_string())]["WorkflowExecution"];
    assert_eq!(run["State"], "Success", "{run}");
    assert_eq!(run["RunId"], task["JobsDetail"]["Workflow"]["RunId"], "{run}");

    // The events route: a bearer token, HEAD for older MinIO's probe, junk acknowledged.
    let event = |key: &str| MinioEvent::example(&bucket, key).webhook_body();
    let bearer = format!("Bearer {TOKEN}");
    assert_eq!(post_event(serve.port, None, &event(CLEAN_KEY)), 401);
    assert_eq!(post_event(serve.port, Some("Bearer wrong"), &event(CLEAN_KEY)), 403);
    let head = try_request(serve.port, "HEAD", "/events/s3", &[], "").expect("an answer");
    assert_eq!(head.status, 200);
    assert_eq!(post_event(serve.port, Some(&bearer), "{not json"), 200, "junk must not block MinIO's queue");

    // Uploads: two the workflow takes (one twice, as MinIO retries), and four it must not.
    let tagging =
        MinioEvent { event_name: "s3:ObjectCreated:PutTagging", ..MinioEvent::example(&bucket, CLEAN_KEY) };
    let backup = MinioEvent {
        event_name: "s3:ObjectCreated:Copy",
        ..MinioEvent::example(&bucket, "abnormal_images_backup/up/x.png")
    };
    for body in [
        event(CAUGHT_KEY),
        event(CLEAN_KEY),
        event(CAUGHT_KEY),
        event("elsewhere/x.png"),
        event("up/notes.txt"),
        tagging.webhook_body(),
        backup.webhook_body(),
    ] {
        assert_eq!(post_event(serve.port, Some(&bearer), &body), 200, "{body}");
    }
    let runs = callbacks(&mut receiver, 4).await;
    let objects_seen: Vec<(&str, &str)> = runs.keys().map(|(e, o)| (e.as_str(), o.as_str())).collect();
    assert_eq!(
        objects_seen,
        [
            ("TaskFinish", CLEAN_KEY),
            ("TaskFinish", CAUGHT_KEY),
            ("WorkflowFinish", CLEAN_KEY),
            ("WorkflowFinish", CAUGHT_KEY)
        ],
        "{runs:#?}"
    );
    let verdict = |key: &str| {
        runs[&("TaskFinish".to_string(), key.to_string())]["JobsDetail"]["Operation"]["ImageInspectResult"]
            ["ProcessResult"]["Suspicious"]
            .clone()
    };
    assert_eq!((verdict(CAUGHT_KEY), verdict(CLEAN_KEY)), (true.into(), false.into()), "{runs:#?}");
    assert!(objects.exists(&bucket, &format!("abnormal_images_backup/{CAUGHT_KEY}")).await.unwrap());
    assert!(receiver.next(Duration::from_secs(1)).await.is_none(), "nothing more was sent");

    // One job per run in the database: the retried event and the manual run included.
    let pool = PgPool::connect(&db.url).await.unwrap();
    let per_object: Vec<(String, i64)> =
        sqlx::query_as("SELECT object, count(*) FROM jobs GROUP BY object ORDER BY object")
            .fetch_all(&pool)
            .await
            .unwrap();
    let mut want = vec![(CAUGHT_KEY.to_string(), 1), (CLEAN_KEY.to_string(), 1), (MANUAL_KEY.to_string(), 1)];
    want.sort();
    assert_eq!(per_object, want);
    pool.close().await;
    drop(serve);
    db.drop_it().await;
}
