//! A job submitted beside a running worker has its object's fetch begun before the submit's
//! statement commits, and is judged from that read (real PostgreSQL, real s3s-fs).
use std::time::Duration;

use sqlx::PgPool;
use stowaway_store::{JobState, Store};
use stowaway_testkit::{clean_png, fresh_bucket, png_with_ts, S3Server};
use stowaway_worker::{run_worker, WorkerConfig};
use tokio::sync::watch;

mod common;
use common::{context, result, submit, wait_until_done};

#[sqlx::test(migrator = "stowaway_store::MIGRATOR")]
async fn a_job_handed_over_is_judged_from_the_fetch_begun_before_its_submit_committed(pool: PgPool) {
    let store = Store::from_pool(pool.clone());
    let (objects, bucket) = fresh_bucket(S3Server::Strict).await;
    objects.put(&bucket, "first.png", clean_png()).await.unwrap();
    objects.put(&bucket, "hls.png", png_with_ts(20)).await.unwrap();
    // Once the first job is done, the worker is surely taking jobs directly.
    let first = submit(&store, &bucket, "first.png", 0, None).await;
    let (stop, stopped) = watch::channel(false);
    let worker = tokio::spawn(run_worker(context(&store, &objects), WorkerConfig::default(), stopped));
    wait_until_done(&store, &first).await;

    // The submit's statement waits for its queue's lock (as for a pause), which the worker's
    // claims do not take; the job's fetch has begun meanwhile.
    let mut lock = pool.begin().await.unwrap();
    sqlx::query("SELECT pg_advisory_xact_lock(x'5707'::int4, hashtext(queue_id)) FROM queues")
        .execute(&mut *lock)
        .await
        .unwrap();
    let submitting = tokio::spawn({
        let (store, bucket) = (store.clone(), bucket.clone());
        async move { submit(&store, &bucket, "hls.png", 0, None).await }
    });
    for waited in 0.. {
        let blocked: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
             AND wait_event_type = 'Lock' AND query LIKE '%submit_jobs%'",
        )
        .fetch_one(&pool)
        .await
        .unwrap();
        if blocked > 0 {
            break;
        }
        assert!(waited < 200, "the submit never reached the table");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await; // a loopback GET of a few kB
                                                      // The object is replaced before the job exists: a fetch begun only now would find it clean.
    objects.put(&bucket, "hls.png", clean_png()).await.unwrap();
    lock.commit().await.unwrap();
    let second = submitting.await.unwrap();
    wait_until_done(&store, &second).await;
    stop.send(true).unwrap();
    worker.await.unwrap();

    let record = &store.jobs_by_id(&bucket, &[second]).await.unwrap()[0];
    let verdict = result(record).process_result.unwrap();
    assert_eq!(
        (record.state, verdict.suspicious_type.as_deref()),
        (JobState::Success, Some("MPEG-TS")),
        "judged from what the begun fetch read"
    );
}
