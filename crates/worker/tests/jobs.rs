//! ImageInspect jobs end to end against a real PostgreSQL and real S3 servers (s3s-fs, strict and
//! without ACLs; moto, with ACLs): verdicts, every AutoProcess type, AutoProcess's minimum
//! confidence, failures, priorities, and a retry after a crash.
use std::time::Duration;

use sqlx::PgPool;
use stowaway_detect::{Confidence, PayloadKind};
use stowaway_store::{Checkpoint, JobState, Store};
use stowaway_testkit::{clean_png, fresh_bucket, png_with_noise, png_with_ts, png_with_zip, S3Server};
use stowaway_wire::ProcessType;
use stowaway_worker::{run_worker, WorkerConfig};
use tokio::sync::watch;

mod common;
use common::{context, context_acting_from, crash, result, run_until_done, submit, wait_until_done};

#[sqlx::test(migrator = "stowaway_store::MIGRATOR")]
async fn verdicts_and_auto_process_on_a_strict_store(pool: PgPool) {
    let store = Store::from_pool(pool);
    let (objects, bucket) = fresh_bucket(S3Server::Strict).await;
    for (key, body) in [
        ("clean.png", clean_png()),
        ("dir/hls 1.png", png_with_ts(20)),
        ("delete-me.png", png_with_ts(20)),
        ("private.png", png_with_ts(20)),
        ("keep.png", png_with_ts(20)),
        // Larger than the rest (75 KiB): the extent still ends at its last byte.
        ("big.png", png_with_ts(400)),
    ] {
        objects.put(&bucket, key, body).await.unwrap();
    }
    let ids = vec![
        submit(&store, &bucket, "clean.png", 0, Some(ProcessType::DeleteObject)).await,
        submit(&store, &bucket, "dir/hls 1.png", 0, Some(ProcessType::BackupObject)).await,
        submit(&store, &bucket, "delete-me.png", 0, Some(ProcessType::DeleteObject)).await,
        submit(&store, &bucket, "private.png", 0, Some(ProcessType::SwitchObjectToPrivate)).await,
        submit(&store, &bucket, "keep.png", 0, None).await,
        submit(&store, &bucket, "missing.png", 0, None).await,
        submit(&store, &bucket, "big.png", 0, None).await,
    ];
    let records = run_until_done(context(&store, &objects), WorkerConfig::default(), &ids).await;
    let [clean, backup, delete, private, keep, missing, big] = &records[..] else { panic!("{records:?}") };

    let r = result(clean);
    assert_eq!((clean.state, r.state.as_str(), r.code.as_str()), (JobState::Success, "Success", "Success"));
    let p = r.process_result.unwrap();
    assert_eq!((p.pic_type.as_str(), p.suspicious, p.auto_process_result), ("png", false, None));
    assert!(objects.exists(&bucket, "clean.png").await.unwrap(), "clean objects are never touched");
    assert_eq!(r.input_object_url, format!("http://s3.test/{bucket}/clean.png"));

    let r = result(backup);
    let p = r.process_result.unwrap();
    assert_eq!((p.suspicious, p.suspicious_type.as_deref()), (true, Some("MPEG-TS")));
    assert_eq!(p.suspicious_begin_byte, Some(clean_png().len() as u64));
    assert_eq!(p.suspicious_end_byte, Some(png_with_ts(20).len() as u64 - 1));
    assert_eq!(p.auto_process_result.unwrap().code, "Success");
    assert!(!objects.exists(&bucket, "dir/hls 1.png").await.unwrap());
    assert!(objects.exists(&bucket, "abnormal_images_backup/dir/hls 1.png").await.unwrap());
    assert_eq!(r.input_object_url, format!("http://s3.test/{bucket}/dir/hls%201.png"));

    assert_eq!(result(delete).process_result.unwrap().auto_process_result.unwrap().code, "Success");
    assert!(!objects.exists(&bucket, "delete-me.png").await.unwrap());

    // s3s-fs refuses ACLs (501): AutoProcess reports it; the job itself succeeded.
    assert_eq!(private.state, JobState::Success);
    let a = result(private).process_result.unwrap().auto_process_result.unwrap();
    assert_eq!(a.code, "Failed");
    assert!(a.message.starts_with("NotImplemented"), "{}", a.message);

    let p = result(keep).process_result.unwrap();
    assert!(p.suspicious && p.auto_process_result.is_none(), "AutoProcess off: reported, untouched");
    assert!(objects.exists(&bucket, "keep.png").await.unwrap());

    let r = result(missing);
    assert_eq!((missing.state, r.state.as_str(), r.code.as_str()), (JobState::Failed, "Failed", "NoSuchKey"));
    assert_eq!(r.input_object_name, "missing.png");

    let p = result(big).process_result.unwrap();
    assert_eq!((p.suspicious, p.suspicious_type.as_deref()), (true, Some("MPEG-TS")));
    assert_eq!(p.suspicious_end_byte, Some(png_with_ts(400).len() as u64 - 1));
}

#[sqlx::test(migrator = "stowaway_store::MIGRATOR")]
async fn switch_to_private_succeeds_where_the_store_has_acls(pool: PgPool) {
    let store = Store::from_pool(pool);
    let (objects, bucket) = fresh_bucket(S3Server::WithAcls).await;
    objects.put(&bucket, "a.png", png_with_ts(10)).await.unwrap();
    objects.make_public(&bucket, "a.png").await.unwrap();
    assert!(objects.readable_by_anyone(&bucket, "a.png").await.unwrap(), "public-read: anyone may read");
    let ids = [submit(&store, &bucket, "a.png", 0, Some(ProcessType::SwitchObjectToPrivate)).await];
    let records = run_until_done(context(&store, &objects), WorkerConfig::default(), &ids).await;
    let a = result(&records[0]).process_result.unwrap().auto_process_result.unwrap();
    assert_eq!((a.code.as_str(), a.message.as_str()), ("Success", "Success"));
    assert!(objects.exists(&bucket, "a.png").await.unwrap(), "made private, not removed");
    // Success is checked, not assumed: no one reads it without credentials now.
    assert!(!objects.readable_by_anyone(&bucket, "a.png").await.unwrap());
}

#[sqlx::test(migrator = "stowaway_store::MIGRATOR")]
async fn higher_job_levels_start_first(pool: PgPool) {
    let store = Store::from_pool(pool);
    let (objects, bucket) = fresh_bucket(S3Server::Strict).await;
    objects.put(&bucket, "a.png", clean_png()).await.unwrap();
    let mut ids = Vec::new();
    for level in [0, 2, 1, 2, 0] {
        ids.push(submit(&store, &bucket, "a.png", level, None).await);
    }
    let one_at_a_time = WorkerConfig { concurrency: 1, ..WorkerConfig::default() };
    let mut records = run_until_done(context(&store, &objects), one_at_a_time, &ids).await;
    // Jobs claimed together share the claim's StartTime and start in its order: JobLevel, then age.
    records.sort_by_key(|r| (r.started_at, std::cmp::Reverse(r.job_level), r.id));
    let order: Vec<&str> = records.iter().map(|r| r.job_id.as_str()).collect();
    assert_eq!(order, [&ids[1], &ids[3], &ids[2], &ids[0], &ids[4]].map(String::as_str));
}

#[sqlx::test(migrator = "stowaway_store::MIGRATOR")]
async fn a_retry_after_a_crash_finishes_from_the_checkpoint(pool: PgPool) {
    let store = Store::from_pool(pool.clone());
    let (objects, bucket) = fresh_bucket(S3Server::Strict).await;
    objects.put(&bucket, "hls.png", png_with_ts(20)).await.unwrap();
    let id = submit(&store, &bucket, "hls.png", 0, Some(ProcessType::BackupObject)).await;

    // A first worker claims the job, checkpoints its verdict, moves the object, and dies.
    let dead = context(&store, &objects);
    let claimed = store.claim(dead.worker, 1, Duration::from_secs(30)).await.unwrap().remove(0);
    // What `inspect_job::run` does up to AutoProcess, by hand, then a "crash" before completing.
    let verdict = serde_json::json!({
        "State": "Success", "Code": "Success", "Message": "", "InputObjectName": "hls.png",
        "InputObjectUrl": "http://s3.test/x", "ProcessResult": {"PicSize": 75, "PicType": "png",
        "Suspicious": "true", "SuspiciousBeginByte": 75, "SuspiciousEndByte": 3834,
        "SuspiciousSize": 3760, "SuspiciousType": "MPEG-TS"}});
    assert_eq!(
        store.checkpoint(dead.worker, claimed.id, claimed.attempt, &verdict).await.unwrap(),
        Checkpoint::Held
    );
    objects.backup(&bucket, "hls.png").await.unwrap();
    crash(&store, &[claimed.id]).await;

    // The next worker cannot fetch the moved object, and need not: it finishes from the checkpoint.
    let records = run_until_done(context(&store, &objects), WorkerConfig::default(), &[id]).await;
    assert_eq!(records[0].state, JobState::Success);
    let p = result(&records[0]).process_result.unwrap();
    assert_eq!(
        (p.suspicious_begin_byte, p.auto_process_result.unwrap().code.as_str()),
        (Some(75), "Success")
    );
    assert!(objects.exists(&bucket, "abnormal_images_backup/hls.png").await.unwrap());
    let attempt: i32 = sqlx::query_scalar("SELECT attempt FROM jobs WHERE id = $1")
        .bind(claimed.id)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(attempt, 2);
    // The dead worker's late verdict is refused.
    let late = stowaway_store::Completion::failed(&claimed, None, "late");
    assert!(store.complete(dead.worker, &[late]).await.unwrap().is_empty());
}

#[sqlx::test(migrator = "stowaway_store::MIGRATOR")]
async fn a_job_submitted_beside_a_running_worker_is_handed_to_it_and_run(pool: PgPool) {
    // Each job's state as inserted: Running when the submit's own statement claimed it for the
    // worker in the process, Submitted when it went through the table.
    stowaway_testkit::note_inserted_states(&pool, "jobs").await;
    let store = Store::from_pool(pool);
    let (objects, bucket) = fresh_bucket(S3Server::Strict).await;
    objects.put(&bucket, "hls.png", png_with_ts(20)).await.unwrap();
    // The first job waits in the table before the worker starts; once it is done, the worker
    // is surely taking jobs directly.
    let first = submit(&store, &bucket, "hls.png", 0, None).await;
    let (stop, stopped) = watch::channel(false);
    let worker = tokio::spawn(run_worker(context(&store, &objects), WorkerConfig::default(), stopped));
    wait_until_done(&store, &first).await;
    let second = submit(&store, &bucket, "hls.png", 0, Some(ProcessType::BackupObject)).await;
    wait_until_done(&store, &second).await;
    stop.send(true).unwrap();
    worker.await.unwrap();

    let inserted = stowaway_testkit::inserted_states(store.pool()).await;
    assert_eq!(inserted, [0, 1], "the second was handed over, not claimed from the table");
    let records = store.jobs_by_id(&bucket, &[first, second]).await.unwrap();
    for r in &records {
        let p = result(r).process_result.unwrap();
        assert_eq!((r.state, p.suspicious_type.as_deref()), (JobState::Success, Some("MPEG-TS")));
    }
    let backup = result(&records[1]).process_result.unwrap().auto_process_result.unwrap();
    assert_eq!(backup.code, "Success", "run exactly as a claimed job: AutoProcess included");
    assert!(objects.exists(&bucket, "abnormal_images_backup/hls.png").await.unwrap());
}

/// The samples' only finding and the report's confidence, asserted with the detector itself: if
/// its rules change, this fails loudly instead of the tests below testing something else.
fn only_finding(data: &[u8], kind: PayloadKind, confidence: Confidence) -> Vec<u8> {
    let r = stowaway_detect::inspect(data);
    assert_eq!(r.findings.len(), 1, "{r:?}");
    assert_eq!(
        (r.findings[0].kind, r.findings[0].confidence, r.confidence()),
        (kind, confidence, Some(confidence))
    );
    data.to_vec()
}

#[sqlx::test(migrator = "stowaway_store::MIGRATOR")]
async fn auto_process_acts_only_at_or_above_the_minimum_confidence(pool: PgPool) {
    let store = Store::from_pool(pool);
    let (objects, bucket) = fresh_bucket(S3Server::Strict).await;
    // ≥ 32 unrecognised bytes after IEND: Unknown, possible. A ZIP after IEND: certain.
    let possible = only_finding(&png_with_noise(64), PayloadKind::Unknown, Confidence::Possible);
    let certain = only_finding(&png_with_zip(), PayloadKind::Zip, Confidence::Certain);
    for (key, body) in [
        ("noise-delete.png", &possible),
        ("noise-backup.png", &possible),
        ("noise-report.png", &possible),
        ("zip-delete.png", &certain),
        ("zip-backup.png", &certain),
        ("noise-default.png", &possible),
    ] {
        objects.put(&bucket, key, body.clone()).await.unwrap();
    }

    // A worker acting from `likely`: the possible verdicts are reported, their objects untouched.
    let ids = vec![
        submit(&store, &bucket, "noise-delete.png", 0, Some(ProcessType::DeleteObject)).await,
        submit(&store, &bucket, "noise-backup.png", 0, Some(ProcessType::BackupObject)).await,
        submit(&store, &bucket, "noise-report.png", 0, None).await,
        submit(&store, &bucket, "zip-delete.png", 0, Some(ProcessType::DeleteObject)).await,
    ];
    let likely = context_acting_from(&store, &objects, Confidence::Likely);
    let records = run_until_done(likely, WorkerConfig::default(), &ids).await;
    let [noise_delete, noise_backup, noise_report, zip_delete] = &records[..] else { panic!("{records:?}") };
    for (record, key) in [(noise_delete, "noise-delete.png"), (noise_backup, "noise-backup.png")] {
        let r = result(record);
        assert_eq!((record.state, r.state.as_str()), (JobState::Success, "Success"), "{key}");
        let p = r.process_result.unwrap();
        assert!(p.suspicious, "{key}: still Suspicious, as Tencent means it");
        assert_eq!(
            (p.suspicious_type.as_deref(), p.suspicious_confidence),
            (Some("Unknown"), Some(Confidence::Possible)),
            "{key}"
        );
        let a = p.auto_process_result.expect("the skip is reported");
        assert_eq!(a.code, "Skipped", "{key}: {a:?}");
        assert!(a.message.contains("confidence possible is below likely"), "{key}: {}", a.message);
        assert!(objects.exists(&bucket, key).await.unwrap(), "{key}: left in place");
        let backup = format!("abnormal_images_backup/{key}");
        assert!(!objects.exists(&bucket, &backup).await.unwrap(), "{key}: no backup made");
    }
    let p = result(noise_report).process_result.unwrap();
    assert!(p.suspicious && p.auto_process_result.is_none(), "AutoProcess off: nothing to skip");
    let p = result(zip_delete).process_result.unwrap();
    assert_eq!(p.suspicious_confidence, Some(Confidence::Certain));
    assert_eq!(p.auto_process_result.unwrap().code, "Success", "above the minimum: processed as before");
    assert!(!objects.exists(&bucket, "zip-delete.png").await.unwrap());

    // Exactly at the minimum: processed.
    let ids = [submit(&store, &bucket, "zip-backup.png", 0, Some(ProcessType::BackupObject)).await];
    let certain_only = context_acting_from(&store, &objects, Confidence::Certain);
    let records = run_until_done(certain_only, WorkerConfig::default(), &ids).await;
    let a = result(&records[0]).process_result.unwrap().auto_process_result.unwrap();
    assert_eq!((a.code.as_str(), a.message.as_str()), ("Success", "Success"));
    assert!(!objects.exists(&bucket, "zip-backup.png").await.unwrap());
    assert!(objects.exists(&bucket, "abnormal_images_backup/zip-backup.png").await.unwrap());

    // The default, `possible`, acts on every suspicious verdict (Tencent's behaviour).
    let ids = [submit(&store, &bucket, "noise-default.png", 0, Some(ProcessType::DeleteObject)).await];
    let records = run_until_done(context(&store, &objects), WorkerConfig::default(), &ids).await;
    let p = result(&records[0]).process_result.unwrap();
    assert_eq!(p.suspicious_confidence, Some(Confidence::Possible));
    assert_eq!(p.auto_process_result.unwrap().code, "Success");
    assert!(!objects.exists(&bucket, "noise-default.png").await.unwrap());
}

#[sqlx::test(migrator = "stowaway_store::MIGRATOR")]
async fn a_checkpointed_decision_to_act_is_finished_whatever_the_minimum_is_now(pool: PgPool) {
    let store = Store::from_pool(pool.clone());
    let (objects, bucket) = fresh_bucket(S3Server::Strict).await;
    let body = only_finding(&png_with_noise(64), PayloadKind::Unknown, Confidence::Possible);
    objects.put(&bucket, "noise.png", body).await.unwrap();
    let id = submit(&store, &bucket, "noise.png", 0, Some(ProcessType::BackupObject)).await;

    // A worker acting from `possible` checkpoints its verdict, moves the object, and dies; the
    // operator then raises the minimum. The action may have happened (here it did), so the next
    // attempt finishes it rather than reporting a skip for an object that was moved.
    let dead = context(&store, &objects);
    let claimed = store.claim(dead.worker, 1, Duration::from_secs(30)).await.unwrap().remove(0);
    let verdict = serde_json::json!({
        "State": "Success", "Code": "Success", "Message": "", "InputObjectName": "noise.png",
        "InputObjectUrl": "http://s3.test/x", "ProcessResult": {"PicSize": 139, "PicType": "png",
        "Suspicious": "true", "SuspiciousBeginByte": 75, "SuspiciousEndByte": 138,
        "SuspiciousSize": 64, "SuspiciousType": "Unknown", "SuspiciousConfidence": "possible"}});
    assert_eq!(
        store.checkpoint(dead.worker, claimed.id, claimed.attempt, &verdict).await.unwrap(),
        Checkpoint::Held
    );
    objects.backup(&bucket, "noise.png").await.unwrap();
    crash(&store, &[claimed.id]).await;

    let stricter = context_acting_from(&store, &objects, Confidence::Certain);
    let records = run_until_done(stricter, WorkerConfig::default(), &[id]).await;
    let p = result(&records[0]).process_result.unwrap();
    assert_eq!(p.suspicious_confidence, Some(Confidence::Possible));
    assert_eq!(p.auto_process_result.unwrap().code, "Success");
    assert!(objects.exists(&bucket, "abnormal_images_backup/noise.png").await.unwrap());
}

#[sqlx::test(migrator = "stowaway_store::MIGRATOR")]
async fn an_object_over_the_maximum_fails_before_its_body_is_read(pool: PgPool) {
    let store = Store::from_pool(pool);
    let (objects, bucket) = fresh_bucket(S3Server::Strict).await;
    let (small, big) = (clean_png(), png_with_ts(20));
    objects.put(&bucket, "small.png", small.clone()).await.unwrap();
    objects.put(&bucket, "big.png", big.clone()).await.unwrap();
    let limited = objects.clone().with_max_object_bytes(small.len() as u64);
    let ids = vec![
        submit(&store, &bucket, "small.png", 0, None).await,
        submit(&store, &bucket, "big.png", 0, Some(ProcessType::DeleteObject)).await,
    ];
    let records = run_until_done(context(&store, &limited), WorkerConfig::default(), &ids).await;
    assert_eq!(records[0].state, JobState::Success, "at the maximum is allowed");
    let r = result(&records[1]);
    assert_eq!((records[1].state, r.code.as_str()), (JobState::Failed, "ImageTooLarge"));
    assert!(r.message.contains(&format!("the object is {} bytes", big.len())), "{}", r.message);
    assert!(r.message.contains("STOWAWAY_MAX_OBJECT_MB"), "{}", r.message);
    assert!(objects.exists(&bucket, "big.png").await.unwrap(), "nothing done to what was not judged");
}

#[sqlx::test(migrator = "stowaway_store::MIGRATOR")]
async fn a_job_cancelled_while_it_runs_ends_cancel_without_acting(pool: PgPool) {
    let store = Store::from_pool(pool);
    let (objects, bucket) = fresh_bucket(S3Server::Strict).await;
    objects.put(&bucket, "hls.png", png_with_ts(20)).await.unwrap();
    objects.put(&bucket, "clean.png", clean_png()).await.unwrap();
    let ids = vec![
        submit(&store, &bucket, "hls.png", 0, Some(ProcessType::DeleteObject)).await,
        submit(&store, &bucket, "clean.png", 0, None).await,
    ];
    // Both handed to a worker (as a submit beside one would), then cancelled before it acts.
    let ctx = context(&store, &objects);
    let claimed = store.claim(ctx.worker, 2, Duration::from_secs(30)).await.unwrap();
    assert_eq!(claimed.len(), 2);
    assert_eq!(store.cancel_jobs(&bucket, &ids).await.unwrap(), Ok(()));
    let mut done = Vec::new();
    for job in &claimed {
        done.push(stowaway_worker::inspect_job::run(&ctx, job).await.expect("still held"));
    }
    store.complete(ctx.worker, &done).await.unwrap();
    let states = store.states(&ids).await.unwrap();
    assert!(states.iter().all(|s| s.1 == JobState::Cancel), "{states:?}");
    assert!(objects.exists(&bucket, "hls.png").await.unwrap(), "AutoProcess never ran");
    let records = store.jobs_by_id(&bucket, &ids).await.unwrap();
    assert!(records.iter().all(|r| r.result.is_none()), "the verdict is dropped with the job");
}
