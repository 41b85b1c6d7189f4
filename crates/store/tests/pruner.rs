//! The pruner (migrations 0018, 0019): finished jobs past their retention, found by bucket and time,
//! deleted with their deliveries and undo records; nothing else, no scan of a grown table, and
//! each old key read once per pass.
mod common;

use std::time::Duration;

use serde_json::json;
use sqlx::PgPool;
use stowaway_store::{Completion, NewJob, PruneMark, Store};
use uuid::Uuid;

const WEEK: Duration = Duration::from_secs(7 * 86400);
/// A walk of a few keys reads a few dozen pages; one of thousands of keys, over a thousand.
const FEW: i64 = 200;

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

async fn rows_of(pool: &PgPool, table: &str, column: &str, ids: &[i64]) -> i64 {
    sqlx::query_scalar(&format!("SELECT count(*) FROM {table} WHERE {column} = ANY($1)"))
        .bind(ids)
        .fetch_one(pool)
        .await
        .unwrap()
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
    let a_odd = submit(&store, a, "a-odd").await;
    for id in [a_old, b_old] {
        common::finished_days_ago(&pool, id, 8).await;
    }
    // Created before the retention but finished within it, not finished, or with a finishing
    // time but not in a final state; read first in their bucket: kept, and no obstacle to the
    // old job behind them.
    common::created_days_ago(&pool, a_late, 9).await;
    common::created_days_ago(&pool, a_waiting, 9).await;
    common::finished_days_ago(&pool, a_odd, 9).await;
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

    let mut mark = PruneMark::default();
    for expected in [1, 1, 0] {
        let (n, next) = store.prune_finished(WEEK, 1, &mark).await.unwrap();
        assert_eq!(n, expected);
        mark = next;
    }
    assert_eq!(store.prune_finished(WEEK, 10, &PruneMark::default()).await.unwrap().0, 0, "a new pass");
    let left: Vec<String> =
        sqlx::query_scalar("SELECT object FROM jobs ORDER BY object").fetch_all(&pool).await.unwrap();
    assert_eq!(left, ["a-late.png", "a-odd.png", "a-waiting.png", "b-new.png"]);
    for (table, column) in [("deliveries", "job_id"), ("undos", "job_id"), ("job_suspicious", "id")] {
        assert_eq!(
            rows_of(&pool, table, column, &[a_old, b_old]).await,
            0,
            "{table} keeps a pruned job's row"
        );
    }
    for table in ["deliveries", "undos"] {
        assert_eq!(rows_of(&pool, table, "job_id", &[b_new]).await, 1, "a kept job keeps its {table} row");
    }
}

/// Inserts `n` jobs straight into `jobs` (their keys by the table's trigger), in one bucket, in
/// state `state`, created and (unless Submitted) finished `days` ago.
async fn grow(pool: &PgPool, queue: &str, prefix: &str, n: i64, state: i16, days: i32) {
    sqlx::query(
        "INSERT INTO jobs (job_id, queue_id, bucket, region, object, request, state, created_at, finished_at)
         SELECT $2 || i, $1, 'pbucket-1250000000', 'ap-chongqing', 'o' || i || '.png', '{}', $4,
                now() - make_interval(days => $5), CASE WHEN $4 <> 0 THEN now() - make_interval(days => $5) END
         FROM generate_series(1, $3) i",
    )
    .bind(queue)
    .bind(prefix)
    .bind(n)
    .bind(state)
    .bind(days)
    .execute(pool)
    .await
    .unwrap();
}

fn prune_sql(limit: i32, after: &str) -> String {
    format!("SELECT * FROM prune_jobs({}, {limit}, {after})", WEEK.as_secs())
}

#[sqlx::test(migrator = "stowaway_store::MIGRATOR")]
async fn a_plan_made_on_empty_tables_reads_only_the_old_keys_of_a_grown_table(pool: PgPool) {
    let store = Store::from_pool(pool.clone());
    let queue = store.ensure_queue("pbucket-1250000000", "ap-chongqing").await.unwrap();
    let mut conn = pool.acquire().await.unwrap();
    let none: i64 =
        sqlx::query_scalar(&prune_sql(10, "NULL, NULL, NULL")).fetch_one(&mut *conn).await.unwrap();
    assert_eq!(none, 0);

    grow(&pool, &queue.queue_id, "recent", 50_000, 2, 0).await;
    grow(&pool, &queue.queue_id, "old", 1, 2, 8).await;
    let read = common::pages(&mut conn, &prune_sql(10, "NULL, NULL, NULL")).await;
    assert!(read < FEW, "a prune of one job read {read} pages: a scan of the recent jobs");
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM jobs").fetch_one(&pool).await.unwrap();
    assert_eq!(left, 50_000, "the old job went, the recent ones stay");
}

#[sqlx::test(migrator = "stowaway_store::MIGRATOR")]
async fn a_pass_resumes_after_its_mark_and_reads_the_keys_that_cannot_go_once(pool: PgPool) {
    let store = Store::from_pool(pool.clone());
    let queue = store.ensure_queue("pbucket-1250000000", "ap-chongqing").await.unwrap();
    // 20,000 jobs waiting since before the retention (a paused queue), then two old finished.
    grow(&pool, &queue.queue_id, "waiting", 20_000, 0, 9).await;
    grow(&pool, &queue.queue_id, "old", 2, 2, 8).await;

    // One connection for the pass, as the pruner's calls share their plans.
    let mut conn = pool.acquire().await.unwrap();
    let (n, bucket, created, id): (i64, String, String, i64) = sqlx::query_as(&format!(
        "SELECT deleted, mark_bucket, mark_created::text, mark_id FROM ({}) p",
        prune_sql(1, "NULL, NULL, NULL")
    ))
    .fetch_one(&mut *conn)
    .await
    .unwrap();
    assert_eq!(n, 1);
    let read = common::pages(&mut conn, &prune_sql(1, &format!("'{bucket}', '{created}', {id}"))).await;
    assert!(read < FEW, "the pass's next call read {read} pages: the waiting jobs' keys again");
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM jobs").fetch_one(&pool).await.unwrap();
    assert_eq!(left, 20_000, "both old jobs went, the waiting ones stay");
}

#[sqlx::test(migrations = false)]
async fn a_job_left_without_its_key_gets_one_when_the_pruner_moves_to_the_keys(pool: PgPool) {
    let (before, prune): (Vec<_>, Vec<_>) = stowaway_store::MIGRATOR.iter().partition(|m| m.version < 18);
    for m in before {
        sqlx::raw_sql(&m.sql).execute(&pool).await.unwrap();
    }
    // A job inserted with the tables' triggers off, as a restore without triggers leaves it.
    sqlx::raw_sql(
        "INSERT INTO queues (queue_id, bucket, region, name) VALUES ('pq', 'pbucket-1250000000', 'ap-chongqing', 'q');
         BEGIN;
         SET LOCAL session_replication_role = replica;
         INSERT INTO jobs (job_id, queue_id, bucket, region, object, request, state, created_at, finished_at)
         VALUES ('keyless', 'pq', 'pbucket-1250000000', 'ap-chongqing', 'o.png', '{}', 2,
                 now() - interval '8 days', now() - interval '8 days');
         COMMIT;",
    )
    .execute(&pool)
    .await
    .unwrap();
    sqlx::raw_sql(&prune[0].sql).execute(&pool).await.unwrap();
    let store = Store::from_pool(pool.clone());
    assert_eq!(store.prune_finished(WEEK, 10, &PruneMark::default()).await.unwrap().0, 1);
}
