//! `stowaway serve` and `stowaway worker` as processes, against the real PostgreSQL and the S3 test
//! servers: Tencent's Python SDK (IP and Domain mode, on s3s-fs and moto) and Node SDK end to end
//! (signatures and callbacks included), a worker killed mid-job, and a notifier killed between
//! sending a callback and recording it.
mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use sqlx::PgPool;
use stowaway_objects::Objects;
use stowaway_testkit::receiver::{Receiver, Reply};
use stowaway_testkit::{clean_png, fresh_bucket, png_with_ts, S3Server};

use common::{http, run_script, Database, Process};

/// The one key `stowaway serve` accepts in the SDK tests.
const SECRET_ID: &str = "AKIDtest";
const SECRET_KEY: &str = "testSecretKey";
/// An object key that needs percent-encoding, in the request path and in the signature.
const WEIRD_KEY: &str = "dir/测 试 100%.png";

/// Whether `key` is readable by everyone (an `AllUsers` grant), per the store's object ACL.
async fn public_read(objects: &Objects, bucket: &str, key: &str) -> bool {
    let acl = objects.sdk_client().get_object_acl().bucket(bucket).key(key).send().await.unwrap();
    acl.grants()
        .iter()
        .any(|g| g.grantee().and_then(|g| g.uri()) == Some("http://acs.amazonaws.com/groups/global/AllUsers"))
}

/// tests/sdk/python_sdk.py against `stowaway serve` with signatures on, in `mode` (`ip`: the bucket
/// named in Host; `domain`: Host is the server's address and it uses its default bucket), on the
/// S3 server `server`; then the script's effects on the store and its JSON callbacks.
async fn python_sdk(mode: &str, server: S3Server) {
    let db = Database::create().await;
    let (objects, bucket) = fresh_bucket(server).await;
    for key in ["hls.png", "private.png", "delete.png", WEIRD_KEY] {
        objects.put(&bucket, key, png_with_ts(50)).await.unwrap();
    }
    objects.put(&bucket, "clean.png", clean_png()).await.unwrap();
    let acls = server == S3Server::WithAcls;
    if acls {
        // Public to begin with, so that SwitchObjectToPrivate visibly changes something.
        let s3 = objects.sdk_client();
        s3.put_object_acl()
            .bucket(&bucket)
            .key("private.png")
            .acl("public-read".into())
            .send()
            .await
            .unwrap();
        assert!(public_read(&objects, &bucket, "private.png").await);
    }
    let mut receiver = Receiver::start().await;
    let serve = Process::start_on(
        server,
        "serve",
        &db,
        &bucket,
        &[
            ("STOWAWAY_SECRET_ID", SECRET_ID),
            ("STOWAWAY_SECRET_KEY", SECRET_KEY),
            ("STOWAWAY_CALLBACK_ALLOW_PRIVATE", "true"),
        ],
    );
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/sdk/python_sdk.py");
    let port = serve.port.to_string();
    let callback = receiver.url();
    #[rustfmt::skip]
    let args = [
        script, "--port", &port, "--bucket", &bucket, "--callback", &callback, "--mode", mode,
        "--secret-id", SECRET_ID, "--secret-key", SECRET_KEY,
        "--acl-supported", if acls { "yes" } else { "no" },
    ];
    run_script("python3", &args, &format!("python-sdk[{mode}]"));

    // AutoProcess: BackupObject moved hls.png, DeleteObject deleted delete.png, SwitchObjectToPrivate
    // kept private.png (private now where the store has ACLs); AutoProcess false touched nothing.
    let exists = |key: &'static str| {
        let (objects, bucket) = (&objects, &bucket);
        async move { objects.exists(bucket, key).await.unwrap() }
    };
    assert!(exists("abnormal_images_backup/hls.png").await, "BackupObject copied hls.png");
    assert!(!exists("hls.png").await, "BackupObject moved hls.png");
    assert!(!exists("delete.png").await, "DeleteObject deleted delete.png");
    assert!(exists("private.png").await, "SwitchObjectToPrivate keeps the object");
    assert!(exists("clean.png").await && exists(WEIRD_KEY).await, "AutoProcess false keeps objects");
    assert!(
        !exists("abnormal_images_backup/private.png").await
            && !exists("abnormal_images_backup/clean.png").await
    );
    if acls {
        assert!(
            !public_read(&objects, &bucket, "private.png").await,
            "SwitchObjectToPrivate made it private"
        );
    }

    // Every job the SDK submitted reported back by callback, as JSON, when it finished or was
    // cancelled: 6 finished (5 at once, 1 after the queue resumed) and 1 cancelled (clean.png).
    let mut last: BTreeMap<String, serde_json::Value> = BTreeMap::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while last.len() < 7 && Instant::now() < deadline {
        let Some(r) = receiver.next(Duration::from_millis(500)).await else { continue };
        assert_eq!(r.header("content-type"), "application/json");
        let c: serde_json::Value = serde_json::from_slice(&r.body).expect("a JSON callback");
        assert_eq!(c["EventName"], "TaskFinish", "{c}");
        last.insert(c["JobsDetail"]["JobId"].as_str().expect("a JobId").to_string(), c);
    }
    let callbacks: Vec<&serde_json::Value> = last.values().collect();
    let mut states: Vec<&str> =
        callbacks.iter().map(|c| c["JobsDetail"]["State"].as_str().unwrap()).collect();
    states.sort();
    assert_eq!(
        states,
        ["Cancel", "Success", "Success", "Success", "Success", "Success", "Success"],
        "{callbacks:#?}"
    );
    // The ProcessResult of each Success callback for `key`.
    let results = |key: &str| -> Vec<&serde_json::Value> {
        callbacks
            .iter()
            .filter(|c| c["JobsDetail"]["Input"]["Object"] == key && c["JobsDetail"]["State"] == "Success")
            .map(|c| &c["JobsDetail"]["Operation"]["ImageInspectResult"]["ProcessResult"])
            .collect()
    };
    let [hls] = results("hls.png")[..] else { panic!("one hls.png job: {callbacks:#?}") };
    assert_eq!(
        (hls["Suspicious"].as_bool(), hls["SuspiciousType"].as_str()),
        (Some(true), Some("MPEG-TS")),
        "{hls}"
    );
    assert_eq!(hls["SuspiciousConfidence"], "certain", "Stowaway's extension, a string: {hls}");
    assert_eq!(hls["AutoProcessResult"]["Code"], "Success", "{hls}");
    let [private] = results("private.png")[..] else { panic!("one private.png job: {callbacks:#?}") };
    assert_eq!(private["AutoProcessResult"]["Code"], if acls { "Success" } else { "Failed" }, "{private}");
    let [delete] = results("delete.png")[..] else { panic!("one delete.png job: {callbacks:#?}") };
    assert_eq!(delete["AutoProcessResult"]["Code"], "Success", "{delete}");
    let [clean] = results("clean.png")[..] else { panic!("one finished clean.png job: {callbacks:#?}") };
    assert_eq!(clean["Suspicious"].as_bool(), Some(false), "{clean}");
    assert!(clean.get("SuspiciousConfidence").is_none(), "only when suspicious: {clean}");
    let weird = results(WEIRD_KEY);
    assert_eq!(weird.len(), 2, "{callbacks:#?}");
    for w in weird {
        assert_eq!(w["Suspicious"].as_bool(), Some(true), "{w}");
        assert!(w.get("AutoProcessResult").is_none(), "AutoProcess false: {w}");
    }
    drop(serve);
    db.drop_it().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn tencent_python_sdk_ip_mode_on_s3s_fs() {
    python_sdk("ip", S3Server::Strict).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn tencent_python_sdk_domain_mode_on_moto() {
    python_sdk("domain", S3Server::WithAcls).await;
}

/// tests/sdk/node_sdk.js (Tencent's Node SDK, from tests/sdk/package-lock.json) against
/// `stowaway serve` with signatures on; Node sends Host = the server's address, so the server
/// works on its default bucket.
#[tokio::test(flavor = "multi_thread")]
async fn tencent_node_sdk_works_unmodified() {
    let sdk = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/sdk");
    assert!(
        std::path::Path::new(sdk).join("node_modules/cos-nodejs-sdk-v5").is_dir(),
        "tests/sdk/node_modules is missing: run scripts/install-services.sh"
    );
    let db = Database::create().await;
    let (objects, bucket) = fresh_bucket(S3Server::Strict).await;
    for key in ["hls.png", WEIRD_KEY] {
        objects.put(&bucket, key, png_with_ts(50)).await.unwrap();
    }
    objects.put(&bucket, "clean.png", clean_png()).await.unwrap();
    let serve = Process::start(
        "serve",
        &db,
        &bucket,
        &[("STOWAWAY_SECRET_ID", SECRET_ID), ("STOWAWAY_SECRET_KEY", SECRET_KEY)],
    );
    let script = format!("{sdk}/node_sdk.js");
    let port = serve.port.to_string();
    #[rustfmt::skip]
    let args = [
        script.as_str(), "--port", &port, "--bucket", &bucket,
        "--secret-id", SECRET_ID, "--secret-key", SECRET_KEY,
    ];
    run_script("node", &args, "node-sdk");
    assert!(
        objects.exists(&bucket, "abnormal_images_backup/hls.png").await.unwrap(),
        "BackupObject copied it"
    );
    assert!(!objects.exists(&bucket, "hls.png").await.unwrap(), "BackupObject moved it");
    assert!(objects.exists(&bucket, WEIRD_KEY).await.unwrap(), "AutoProcess false kept it");
    drop(serve);
    db.drop_it().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_worker_killed_mid_job_leaves_every_job_finished_once() {
    let db = Database::create().await;
    let (objects, bucket) = fresh_bucket(S3Server::Strict).await;
    // Big enough that fetching and inspecting take a while: the kill lands mid-job.
    let big = png_with_ts(16 * 1024 * 1024 / 188);
    let n = 6;
    for i in 0..n {
        objects.put(&bucket, &format!("big/{i}.png"), big.clone()).await.unwrap();
    }
    let fast_rescue = [("STOWAWAY_LEASE_SECS", "2"), ("STOWAWAY_WORKER_CONCURRENCY", "2")];
    let mut first = Process::start("serve", &db, &bucket, &fast_rescue);
    let pool = PgPool::connect(&db.url).await.unwrap();
    let mut ids = Vec::new();
    for i in 0..n {
        let body = format!(
            "<Request><Tag>ImageInspect</Tag><Input><Object>big/{i}.png</Object></Input><Operation>\
             <ImageInspect><AutoProcess>true</AutoProcess><ProcessType>BackupObject</ProcessType></ImageInspect>\
             </Operation></Request>"
        );
        let (status, reply) = http(first.port, "POST", "/jobs", &body);
        assert_eq!(status, 200, "{reply}");
        let id = reply.split("<JobId>").nth(1).unwrap().split('<').next().unwrap().to_string();
        ids.push(id);
    }
    // Kill the process (SIGKILL) as soon as it holds a job.
    let deadline = Instant::now() + Duration::from_secs(20);
    let running_now =
        || sqlx::query_scalar::<_, String>("SELECT job_id FROM jobs WHERE state = 1").fetch_all(&pool);
    while running_now().await.unwrap().is_empty() {
        assert!(Instant::now() < deadline, "no job started");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    first.kill();
    // What the dead process still held (it cannot complete anything any more).
    let running = running_now().await.unwrap();
    assert!(!running.is_empty(), "the kill landed between jobs; nothing was mid-job");

    // Another worker takes over; the dead worker's jobs come back after its lease expires.
    let _second = Process::start("worker", &db, &bucket, &fast_rescue);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let unfinished: i64 = sqlx::query_scalar("SELECT count(*) FROM jobs WHERE state NOT IN (2, 3, 4)")
            .fetch_one(&pool)
            .await
            .unwrap();
        if unfinished == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "{unfinished} jobs never finished");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let rows: Vec<(String, i16, i32, serde_json::Value)> =
        sqlx::query_as("SELECT job_id, state, attempt, result FROM jobs").fetch_all(&pool).await.unwrap();
    assert_eq!(rows.len(), n);
    for (id, state, attempt, result) in &rows {
        assert_eq!(*state, 2, "{id}: {result}");
        assert_eq!(result["ProcessResult"]["AutoProcessResult"]["Code"], "Success", "{id}: {result}");
        if running.contains(id) {
            assert_eq!(*attempt, 2, "{id} was running when its worker died: it ran once more");
        }
    }
    for i in 0..n {
        assert!(!objects.exists(&bucket, &format!("big/{i}.png")).await.unwrap());
        assert!(objects.exists(&bucket, &format!("abnormal_images_backup/big/{i}.png")).await.unwrap());
    }
    pool.close().await;
    db.drop_it().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_notifier_killed_between_sending_and_recording_sends_again_with_the_same_webhook_id() {
    let db = Database::create().await;
    let (objects, bucket) = fresh_bucket(S3Server::Strict).await;
    objects.put(&bucket, "hls.png", png_with_ts(20)).await.unwrap();
    let mut receiver = Receiver::start().await;
    receiver.script([Reply::Hang]); // the first attempt gets no answer: the kill lands mid-send
    let settings = [
        ("STOWAWAY_CALLBACK_ALLOW_PRIVATE", "true"),
        ("STOWAWAY_CALLBACK_LEASE_SECS", "3"),
        ("STOWAWAY_CALLBACK_TIMEOUT_MS", "2000"),
    ];
    let mut first = Process::start("serve", &db, &bucket, &settings);
    let body = format!(
        "<Request><Tag>ImageInspect</Tag><Input><Object>hls.png</Object></Input>\
         <CallBack>{}</CallBack></Request>",
        receiver.url()
    );
    let (status, reply) = http(first.port, "POST", "/jobs", &body);
    assert_eq!(status, 200, "{reply}");
    let job_id = reply.split("<JobId>").nth(1).unwrap().split('<').next().unwrap().to_string();
    let sent = receiver.next(Duration::from_secs(20)).await.expect("the first attempt");
    first.kill(); // SIGKILL after sending, before the outcome was recorded

    let second = Process::start("serve", &db, &bucket, &settings);
    let again = receiver.next(Duration::from_secs(20)).await.expect("sent again once the lease expired");
    assert_eq!(again.header("webhook-id"), sent.header("webhook-id"));
    assert_eq!(again.body, sent.body);
    assert!(again.at - sent.at >= Duration::from_secs(2), "only after the dead notifier's lease");

    // The extension routes: the attempt log, and a resend with the same webhook-id.
    let log = loop {
        let (status, log) = http(second.port, "GET", &format!("/jobs/{job_id}/callbacks"), "");
        assert_eq!(status, 200, "{log}");
        if log.contains("<State>Delivered</State>") {
            break log;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let webhook_id = sent.header("webhook-id");
    assert!(log.contains(&format!("<WebhookId>{webhook_id}</WebhookId>")), "{log}");
    assert!(log.contains("<Attempt><Number>2</Number>") && log.contains("<Status>200</Status>"), "{log}");
    let lost = log.split("<Attempt><Number>1</Number>").nth(1).expect("the lost attempt is logged");
    assert!(lost.split("</Attempt>").next().unwrap().contains("<Error>outcome unknown"), "{log}");
    let (status, resent) =
        http(second.port, "POST", &format!("/jobs/{job_id}/callbacks/{webhook_id}/resend"), "");
    assert_eq!(status, 200, "{resent}");
    let third = receiver.next(Duration::from_secs(20)).await.expect("resent");
    assert_eq!(third.header("webhook-id"), webhook_id);
    let (status, missing) = http(second.port, "POST", &format!("/jobs/{job_id}/callbacks/msg_x/resend"), "");
    assert_eq!(status, 404, "{missing}");
    assert!(missing.contains("<Code>NoSuchCallback</Code>"), "{missing}");
    drop(second);
    db.drop_it().await;
}
