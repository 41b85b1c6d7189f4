//! The pruner (migration 0018): finished jobs past their retention, found through `job_keys`,
//! deleted with their deliveries and undo records; nothing else, and no scan of a grown table.
mod common;

use std::time::Duration;

use serde_json::json;
use sqlx::PgPool;
use stowaway_store::{Completion, NewJob, Store};
use uuid::Uuid;

const WEEK: Duration = Duration::from_secs(7 * 86400);

async fn submit(store: &Store, bucket: &str, name: &str) -> i64 {
    let queue = store.ensure_queue(bucket, "ap-chongqing").await.unwrap();
    let job = NewJob {
        job_id: format!("c{}", Uuid::new_v4().simple()),
        queue_id: queue.queue_id,
        bucket: bucket.into(),
        region: "ap-chongqing".into(),
        object: format!("{name}.png"),
        job_level: 0,
        request: json!({}),
        once: false,
    };
    store.insert_jobs(&[job]).await.unwrap()[0].id
}

/// Runs every Submitted job to Success.
async fn finish_all(store: &Store) {
    let worker = Uuid::new_v4();
    let claimed = store.claim(worker, 100, Duration::from_secs(60)).await.unwrap();
    let done: Vec<Completion> = claimed.iter().map(|c| Completion::success(c, None)).collect();
    store.complete(worker, &done).await.unwrap();
}

async fn objects_left(pool: &PgPool) -> Vec<String> {
    sqlx::query_scalar("SELECT object FROM jobs ORDER BY object").fetch_all(pool).await.unwrap()
}

#[sqlx::test(migrator = "stowaway_store::MIGRATOR")]
async fn only_jobs_finished_before_the_retention_go_in_every_bucket_with_their_rows(pool: PgPool) {
    let store = Store::from_pool(pool.clone());
    let (a, b) = ("abucket-1250000000", "bbucket-1250000000");
    let a_old = submit(&store, a, "a-old").await;
    let a_late = submit(&store, a, "a-late").await;
    let b_old = submit(&store, b, "b-old").await;
    let b_new = submit(&store, b, "b-new").await;
    finish_all(&store).await;
    let a_waiting = submit(&store, a, "a-waiting").await;
    for id in [a_old, b_old] {
        common::finished_days_ago(&pool, id, 8).await;
    }
    // Created before the retention but finished within it, or not finished at all, and read
    // first in their bucket: kept, and no obstacle to the old job behind them.
    common::created_days_ago(&pool, a_late, 9).await;
    common::created_days_ago(&pool, a_waiting, 9).await;
    for id in [a_old, b_new] {
        sqlx::query("INSERT INTO deliveries (job_id, state) VALUES ($1, 2)")
            .bind(id)
            .execute(&pool)
            .await
            .unwrap();
        sqlx::query("INSERT INTO undos (job_id, action) VALUES ($1, 'Restored')")
            .bind(id)
            .execute(&pool)
            .await
            .unwrap();
    }

    assert_eq!(store.prune_finished(WEEK, 1).await.unwrap(), 1);
    assert_eq!(store.prune_finished(WEEK, 1).await.unwrap(), 1);
    assert_eq!(store.prune_finished(WEEK, 1).await.unwrap(), 0);
    assert_eq!(objects_left(&pool).await, ["a-late.png", "a-waiting.png", "b-new.png"]);
    for table in ["deliveries", "undos", "job_keys"] {
        let ids: Vec<i64> = sqlx::query_scalar(&format!("SELECT DISTINCT job_id FROM {table} ORDER BY 1"))
            .fetch_all(&pool)
            .await
            .unwrap_or_else(|_| Vec::new());
        assert!(!ids.contains(&a_old), "{table} keeps a pruned job's row");
    }
    let kept: i64 = sqlx::query_scalar("SELECT count(*) FROM deliveries WHERE job_id = $1")
        .bind(b_new)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(kept, 1, "a kept job keeps its delivery");
}

#[sqlx::test(migrator = "stowaway_store::MIGRATOR")]
async fn a_plan_made_on_empty_tables_reads_only_the_old_keys_of_a_grown_table(pool: PgPool) {
    let store = Store::from_pool(pool.clone());
    let queue = store.ensure_queue("pbucket-1250000000", "ap-chongqing").await.unwrap();
    let prune = format!("SELECT prune_jobs({}, 10)", WEEK.as_secs());
    let mut conn = pool.acquire().await.unwrap();
    let none: i64 = sqlx::query_scalar(&prune).fetch_one(&mut *conn).await.unwrap();
    assert_eq!(none, 0);

    // 50,000 jobs finished within the retention, and one before it.
    sqlx::query(
        "INSERT INTO jobs (job_id, queue_id, bucket, region, object, request, state, created_at, finished_at)
         SELECT 'grown' || i, $1, 'pbucket-1250000000', 'ap-chongqing', 'o' || i || '.png', '{}', 2,
                CASE WHEN i = 1 THEN now() - interval '8 days' ELSE now() END,
                CASE WHEN i = 1 THEN now() - interval '8 days' ELSE now() END
         FROM generate_series(1, 50000) i",
    )
    .bind(&queue.queue_id)
    .execute(&pool)
    .await
    .unwrap();

    let read = common::pages(&mut conn, &prune).await;
    assert!(read < 200, "a prune of one job read {read} pages: a scan of the recent jobs");
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM jobs").fetch_one(&pool).await.unwrap();
    assert_eq!(left, 49_999, "the old job went, the recent ones stay");
}
