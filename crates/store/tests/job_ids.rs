//! A job's JobId and its place in the listing (bucket, time), indexed on `jobs` itself since
//! migration 0019: unique, fixed for the job's life, and gone with it.
mod common;

use std::time::Duration;

use serde_json::json;
use sqlx::PgPool;
use stowaway_store::{Completion, JobFilter, NewJob, PruneMark, Store};
use uuid::Uuid;

const BUCKET: &str = "examplebucket-1250000000";

fn job(queue: &str, job_id: &str, once: bool) -> NewJob {
    NewJob {
        job_id: job_id.into(),
        queue_id: queue.into(),
        bucket: BUCKET.into(),
        region: "ap-chongqing".into(),
        object: format!("input/{job_id}.png"),
        job_level: 0,
        request: json!({}),
        once,
    }
}

async fn keys(pool: &PgPool) -> Vec<String> {
    sqlx::query_scalar("SELECT job_id FROM jobs ORDER BY 1").fetch_all(pool).await.unwrap()
}

#[sqlx::test(migrator = "stowaway_store::MIGRATOR")]
async fn a_job_keeps_its_key_from_insert_to_prune(pool: PgPool) {
    let store = Store::from_pool(pool.clone());
    let q = store.ensure_queue(BUCKET, "ap-chongqing").await.unwrap().queue_id;
    store.insert_jobs(&[job(&q, "ca", false), job(&q, "cb", false)]).await.unwrap();
    assert_eq!(keys(&pool).await, ["ca", "cb"]);

    // A JobId is still unique, and the failed insert leaves nothing behind.
    assert!(store.insert_jobs(&[job(&q, "cc", false), job(&q, "ca", false)]).await.is_err());
    assert_eq!(keys(&pool).await, ["ca", "cb"]);
    let ready: i64 = sqlx::query_scalar("SELECT count(*) FROM job_ready").fetch_one(&pool).await.unwrap();
    assert_eq!(ready, 2);

    // A JobId, bucket and creation time cannot change under their indexes.
    let moved = sqlx::query("UPDATE jobs SET bucket = 'other-1' WHERE job_id = 'ca'").execute(&pool).await;
    assert!(moved.unwrap_err().to_string().contains("do not change"));

    // The pruner takes the key with its job.
    let worker = Uuid::new_v4();
    let claimed = store.claim(worker, 1, Duration::from_secs(60)).await.unwrap();
    let done = Completion::success(&claimed[0], Some(json!({})));
    store.complete(worker, &[done]).await.unwrap();
    common::finished_days_ago(&pool, claimed[0].id, 8).await;
    assert_eq!(
        store.prune_finished(Duration::from_secs(7 * 86400), 10, &PruneMark::default()).await.unwrap().0,
        1
    );
    let left = keys(&pool).await;
    assert_eq!(left.len(), 1);
    assert_eq!(store.jobs_by_id(BUCKET, &["ca".into(), "cb".into()]).await.unwrap().len(), 1);
    let all = JobFilter { bucket: BUCKET.into(), limit: 10, ..JobFilter::default() };
    assert_eq!(store.list_jobs(&all).await.unwrap().len(), 1);

    sqlx::query("TRUNCATE jobs CASCADE").execute(&pool).await.unwrap();
    let ready: i64 = sqlx::query_scalar("SELECT count(*) FROM job_ready").fetch_one(&pool).await.unwrap();
    assert_eq!(ready, 0, "a truncate empties the claim order with the jobs");
}

#[sqlx::test(migrator = "stowaway_store::MIGRATOR")]
async fn a_run_another_submit_commits_meanwhile_is_skipped_not_an_error(pool: PgPool) {
    let store = Store::from_pool(pool.clone());
    let q = store.ensure_queue(BUCKET, "ap-chongqing").await.unwrap().queue_id;

    // Another submit inserts run "ra" and holds its transaction open.
    let mut other = pool.begin().await.unwrap();
    let inserted: Vec<String> = sqlx::query_scalar(
        "SELECT submitted_id FROM submit_runs($1, NULL, 0, ARRAY['ra'], ARRAY[$2], ARRAY[$3], ARRAY['ap-chongqing'],
                                              ARRAY['input/ra.png'], ARRAY[0]::int2[], ARRAY['{}']::jsonb[])",
    )
    .bind(0x5707)
    .bind(&q)
    .bind(BUCKET)
    .fetch_all(&mut *other)
    .await
    .unwrap();
    assert_eq!(inserted, ["ra"]);

    // This one, with "ra" and "rb", waits for it on the key, then skips "ra".
    let racing = {
        let (store, q) = (store.clone(), q.clone());
        tokio::spawn(async move { store.insert_jobs(&[job(&q, "ra", true), job(&q, "rb", true)]).await })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!racing.is_finished(), "the second submit waits for the first's key");
    other.commit().await.unwrap();
    let records = racing.await.unwrap().expect("not an error");
    assert_eq!(records.iter().map(|r| r.job_id.as_str()).collect::<Vec<_>>(), ["rb"]);
    assert_eq!(keys(&pool).await, ["ra", "rb"]);
}
