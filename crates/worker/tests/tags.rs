//! Verdict tags (`STOWAWAY_OBJECT_TAGS`) against real S3 servers: moto has object tags, s3s-fs
//! answers 501. Merged with the user's tags, S3's ten-tag limit, a backup's copy, a crash between
//! tag and verdict, a resume from a checkpoint, and a re-inspection batch (DetectorOutdated).
use std::collections::BTreeMap;
use std::time::Duration;

use sqlx::PgPool;
use stowaway_detect::DETECTOR_VERSION;
use stowaway_objects::Objects;
use stowaway_store::{BatchState, Checkpoint, JobState, Store};
use stowaway_testkit::{clean_png, fresh_bucket, png_with_ts, S3Server};
use stowaway_wire::{BatchInput, BatchKind, BatchSpec, ProcessType};
use stowaway_worker::lister::{run_lister, ListerConfig};
use stowaway_worker::tags::{DETECTOR, SCANNED_AT, STATUS, TYPE};
use stowaway_worker::{JobContext, WorkerConfig};
use tokio::sync::watch;

mod common;
use common::{context, crash, result, run_until_done, submit};

fn tagging(store: &Store, objects: &Objects) -> JobContext {
    JobContext { tag_objects: true, ..context(store, objects) }
}

fn users(n: usize) -> Vec<(String, String)> {
    (0..n).map(|i| (format!("team{i}"), format!("v{i}"))).collect()
}

async fn tags_of(objects: &Objects, bucket: &str, key: &str) -> BTreeMap<String, String> {
    objects.tags(bucket, key).await.unwrap().into_iter().collect()
}

#[sqlx::test(migrator = "stowaway_store::MIGRATOR")]
async fn verdict_tags_join_the_users_and_go_with_a_backup(pool: PgPool) {
    let store = Store::from_pool(pool);
    let (objects, bucket) = fresh_bucket(S3Server::WithAcls).await;
    for (key, body, own) in [
        ("clean.png", clean_png(), users(1)),
        ("hls.png", png_with_ts(20), users(1)),
        ("nine.png", png_with_ts(20), users(9)),
        ("ten.png", clean_png(), users(10)),
    ] {
        objects.put(&bucket, key, body).await.unwrap();
        objects.set_tags(&bucket, key, &own).await.unwrap();
    }
    let ids = vec![
        submit(&store, &bucket, "clean.png", 0, Some(ProcessType::DeleteObject)).await,
        submit(&store, &bucket, "hls.png", 0, Some(ProcessType::BackupObject)).await,
        submit(&store, &bucket, "nine.png", 0, None).await,
        submit(&store, &bucket, "ten.png", 0, None).await,
        submit(&store, &bucket, "missing.png", 0, None).await,
    ];
    let records = run_until_done(tagging(&store, &objects), WorkerConfig::default(), &ids).await;
    let [clean, hls, nine, ten, missing] = &records[..] else { panic!("{records:?}") };

    let t = tags_of(&objects, &bucket, "clean.png").await;
    assert_eq!(t.len(), 4, "{t:?}");
    assert_eq!((t["team0"].as_str(), t[STATUS].as_str()), ("v0", "clean"));
    assert_eq!(t[DETECTOR], DETECTOR_VERSION.to_string());
    let scanned: chrono::DateTime<chrono::Utc> = t[SCANNED_AT].parse().unwrap();
    assert!((chrono::Utc::now() - scanned).num_seconds() < 60, "{scanned}");
    let r = result(clean).tagging_result.unwrap();
    assert_eq!((r.code.as_str(), r.message.as_str()), ("Success", "Success"));

    // Tagged before the move: the backup's copy carries the verdict and the user's tag.
    assert_eq!(result(hls).tagging_result.unwrap().code, "Success");
    assert!(!objects.exists(&bucket, "hls.png").await.unwrap());
    let t = tags_of(&objects, &bucket, "abnormal_images_backup/hls.png").await;
    assert_eq!((t[STATUS].as_str(), t[TYPE].as_str(), t["team0"].as_str()), ("suspicious", "MPEG-TS", "v0"));

    // Nine of the user's leave room for the status only; ten leave none, and stay as they were.
    let t = tags_of(&objects, &bucket, "nine.png").await;
    assert_eq!((t.len(), t[STATUS].as_str()), (10, "suspicious"));
    let r = result(nine).tagging_result.unwrap();
    assert_eq!(r.code, "Success");
    assert!(
        r.message.contains("without stowaway-type, stowaway-detector, stowaway-scanned-at"),
        "{}",
        r.message
    );
    assert_eq!(tags_of(&objects, &bucket, "ten.png").await, users(10).into_iter().collect());
    let r = result(ten).tagging_result.unwrap();
    assert_eq!(r.code, "Failed");
    assert!(r.message.contains("10 tags of its own"), "{}", r.message);
    assert_eq!(ten.state, JobState::Success, "the verdict stands without its tags");

    // Nothing to tag.
    assert_eq!((missing.state, result(missing).tagging_result), (JobState::Failed, None));
}

#[sqlx::test(migrator = "stowaway_store::MIGRATOR")]
async fn a_store_without_tags_fails_the_tag_step_clearly(pool: PgPool) {
    let store = Store::from_pool(pool);
    let (objects, bucket) = fresh_bucket(S3Server::Strict).await;
    objects.put(&bucket, "a.png", png_with_ts(10)).await.unwrap();
    let ids = [submit(&store, &bucket, "a.png", 0, Some(ProcessType::BackupObject)).await];
    let records = run_until_done(tagging(&store, &objects), WorkerConfig::default(), &ids).await;
    let r = result(&records[0]);
    assert_eq!((records[0].state, r.process_result.as_ref().unwrap().suspicious), (JobState::Success, true));
    let t = r.tagging_result.unwrap();
    assert_eq!(t.code, "Failed");
    assert!(t.message.starts_with("the store does not support object tags (NotImplemented"), "{}", t.message);
    assert!(objects.exists(&bucket, "abnormal_images_backup/a.png").await.unwrap(), "AutoProcess still acts");
}

#[sqlx::test(migrator = "stowaway_store::MIGRATOR")]
async fn a_crash_after_tagging_tags_once_and_a_resumed_job_never_tags_again(pool: PgPool) {
    let store = Store::from_pool(pool.clone());
    let (objects, bucket) = fresh_bucket(S3Server::WithAcls).await;
    let stale = "2020-01-01T00:00:00Z";
    let first_attempts = |status: &str| {
        let mut t = users(2);
        t.extend(
            [(STATUS, status), (TYPE, "MPEG-TS"), (DETECTOR, "1"), (SCANNED_AT, stale)]
                .map(|(k, v)| (k.into(), v.into())),
        );
        t
    };

    // No AutoProcess: the first worker died between its verdict and its tags (untagged.png), or
    // after tagging, before its verdict was recorded (tagged.png).
    objects.put(&bucket, "untagged.png", clean_png()).await.unwrap();
    objects.set_tags(&bucket, "untagged.png", &users(2)).await.unwrap();
    objects.put(&bucket, "tagged.png", clean_png()).await.unwrap();
    objects.set_tags(&bucket, "tagged.png", &first_attempts("suspicious")).await.unwrap();
    let ids = [
        submit(&store, &bucket, "untagged.png", 0, None).await,
        submit(&store, &bucket, "tagged.png", 0, None).await,
    ];
    let dead = tagging(&store, &objects);
    let claimed = store.claim(dead.worker, 2, Duration::from_secs(30)).await.unwrap();
    crash(&store, &claimed.iter().map(|c| c.id).collect::<Vec<_>>()).await;
    run_until_done(tagging(&store, &objects), WorkerConfig::default(), &ids).await;
    for key in ["untagged.png", "tagged.png"] {
        let t = tags_of(&objects, &bucket, key).await;
        assert_eq!(t.len(), 5, "the user's two and ours once: {t:?}");
        assert_eq!(t[STATUS], "clean");
        assert!(!t.contains_key(TYPE) && t[SCANNED_AT] != stale, "{t:?}");
    }

    // AutoProcess: the first worker tagged, checkpointed (with the tags' outcome), moved the
    // object and died. The resumed job finishes from the checkpoint and tags nothing.
    objects.put(&bucket, "hls.png", png_with_ts(20)).await.unwrap();
    objects.set_tags(&bucket, "hls.png", &first_attempts("suspicious")).await.unwrap();
    let hls = submit(&store, &bucket, "hls.png", 0, Some(ProcessType::BackupObject)).await;
    let claimed = store.claim(dead.worker, 1, Duration::from_secs(30)).await.unwrap().remove(0);
    let verdict = serde_json::json!({
        "State": "Success", "Code": "Success", "Message": "", "InputObjectName": "hls.png",
        "InputObjectUrl": "http://s3.test/x", "ProcessResult": {"PicSize": 75, "PicType": "png",
        "Suspicious": "true", "SuspiciousBeginByte": 75, "SuspiciousEndByte": 3834,
        "SuspiciousSize": 3760, "SuspiciousType": "MPEG-TS"},
        "TaggingResult": {"Code": "Success", "Message": "Success"}});
    assert_eq!(
        store.checkpoint(dead.worker, claimed.id, claimed.attempt, &verdict).await.unwrap(),
        Checkpoint::Held
    );
    objects.backup(&bucket, "hls.png").await.unwrap();
    crash(&store, &[claimed.id]).await;
    let records = run_until_done(tagging(&store, &objects), WorkerConfig::default(), &[hls]).await;
    let r = result(&records[0]);
    assert_eq!(r.process_result.unwrap().auto_process_result.unwrap().code, "Success");
    assert_eq!(r.tagging_result.unwrap().message, "Success");
    let t = tags_of(&objects, &bucket, "abnormal_images_backup/hls.png").await;
    assert_eq!(t[SCANNED_AT], stale, "not tagged again: {t:?}");
    assert!(!objects.exists(&bucket, "hls.png").await.unwrap());
}

/// Runs a lister until the batch has listed (or failed); its state, last error and children.
async fn list_batch(
    store: &Store,
    objects: &Objects,
    bucket: &str,
    spec: &BatchSpec,
) -> (BatchState, Option<String>, Vec<String>) {
    let (stop, stopped) = watch::channel(false);
    let lister = tokio::spawn(run_lister(store.clone(), objects.clone(), ListerConfig::default(), stopped));
    let batch = store.create_batch(bucket, "ap-chongqing", spec).await.unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let b = loop {
        let b = store.batches_by_id(bucket, std::slice::from_ref(&batch.batch_id)).await.unwrap().remove(0);
        if matches!(b.state, BatchState::Listed | BatchState::Failed) {
            break b;
        }
        assert!(tokio::time::Instant::now() < deadline, "the batch did not list: {b:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    stop.send(true).unwrap();
    lister.await.unwrap();
    let mut children: Vec<String> =
        sqlx::query_scalar("SELECT object FROM jobs WHERE request->>'batch_id' = $1")
            .bind(&batch.batch_id)
            .fetch_all(store.pool())
            .await
            .unwrap();
    children.sort();
    (b.state, b.last_error, children)
}

#[sqlx::test(migrator = "stowaway_store::MIGRATOR")]
async fn a_reinspection_batch_takes_only_what_an_older_detector_judged(pool: PgPool) {
    let store = Store::from_pool(pool);
    let (objects, bucket) = fresh_bucket(S3Server::WithAcls).await;
    store.ensure_queue(&bucket, "ap-chongqing").await.unwrap();
    let current = DETECTOR_VERSION.to_string();
    let older = (DETECTOR_VERSION - 1).to_string();
    for (key, detector) in [
        ("in/never.png", None),
        ("in/current.png", Some(current.as_str())),
        ("in/older.png", Some(older.as_str())),
        ("in/junk.png", Some("v2")),
        ("in/users-only.png", None),
    ] {
        objects.put(&bucket, key, clean_png()).await.unwrap();
        let mut tags = users(1);
        tags.extend(detector.map(|d| (DETECTOR.to_string(), d.to_string())));
        objects.set_tags(&bucket, key, &tags).await.unwrap();
    }
    let spec = BatchSpec {
        only_outdated: true,
        ..BatchSpec::new("again", BatchKind::Job, BatchInput::Prefix("in/".into()))
    };
    let (state, error, children) = list_batch(&store, &objects, &bucket, &spec).await;
    assert_eq!((state, error), (BatchState::Listed, None));
    assert_eq!(children, ["in/junk.png", "in/never.png", "in/older.png", "in/users-only.png"]);

    // Without the filter, everything under the prefix.
    let all = BatchSpec::new("all", BatchKind::Job, BatchInput::Prefix("in/".into()));
    assert_eq!(list_batch(&store, &objects, &bucket, &all).await.2.len(), 5);
}

#[sqlx::test(migrator = "stowaway_store::MIGRATOR")]
async fn a_reinspection_batch_on_a_store_without_tags_fails_saying_why(pool: PgPool) {
    let store = Store::from_pool(pool);
    let (objects, bucket) = fresh_bucket(S3Server::Strict).await;
    store.ensure_queue(&bucket, "ap-chongqing").await.unwrap();
    objects.put(&bucket, "in/a.png", clean_png()).await.unwrap();
    let spec = BatchSpec {
        only_outdated: true,
        ..BatchSpec::new("again", BatchKind::Job, BatchInput::Prefix("in/".into()))
    };
    let (state, error, children) = list_batch(&store, &objects, &bucket, &spec).await;
    assert_eq!((state, children.len()), (BatchState::Failed, 0));
    let error = error.unwrap();
    assert!(error.contains("DetectorOutdated") && error.contains("NotImplemented"), "{error}");
}

#[test]
fn the_readmes_policies_read_the_tag_the_worker_writes() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).unwrap();
    let section = &readme[readme.find("## Verdict tags").unwrap()..readme.find("## Deploy with").unwrap()];
    let policies: Vec<serde_json::Value> = section
        .split("```json")
        .skip(1)
        .map(|block| serde_json::from_str(&block[..block.find("```").unwrap()]).unwrap())
        .collect();
    assert_eq!(policies.len(), 2, "the AWS and the MinIO recipe");
    let key = format!("s3:ExistingObjectTag/{STATUS}");
    let clean = stowaway_worker::tags::Status::Clean.as_str();
    for p in &policies {
        let statement = &p["Statement"][0];
        assert!(statement["Action"].to_string().contains("s3:GetObject"), "{p}");
        let (effect, test) = (statement["Effect"].as_str().unwrap(), &statement["Condition"]);
        let value = match effect {
            "Deny" => &test["StringNotEquals"][&key],
            _ => &test["StringEquals"][&key][0],
        };
        assert_eq!(value.as_str(), Some(clean), "{p}");
    }
}
