//! The job path's functions (migration 0017) plan once per connection and keep the plan: one made
//! while the tables were empty must still find its rows through indexes once they have grown.
//! Pages read (EXPLAIN's buffer counts, which include what the function's statements read), not
//! time, tell a kept sequential scan from an index lookup.
mod common;

use sqlx::PgPool;
use uuid::Uuid;

const QUEUE: &str = "pqueue";
/// Rows each table grows by after the plans were made: thousands of pages for a scan.
const GROWN: i64 = 50_000;
/// An index lookup and a one-row write read a few dozen pages; a scan of the grown table, over
/// a thousand.
const FEW: i64 = 200;

fn submit_run(job_id: &str) -> String {
    format!(
        "SELECT * FROM submit_runs(1, NULL, 60, ARRAY['{job_id}'], ARRAY['{QUEUE}'], ARRAY['b-1250000000'], \
         ARRAY['ap-chongqing'], ARRAY['o.png'], ARRAY[0]::int2[], ARRAY['{{}}']::jsonb[])"
    )
}

fn finish(id: i64, notifier: Uuid) -> String {
    format!(
        "SELECT * FROM finish_deliveries(ARRAY[{id}]::int8[], ARRAY[1], ARRAY[2]::int2[], ARRAY[0]::float8[], \
         ARRAY['Url'], ARRAY['http://r'], ARRAY['JSON'], ARRAY[NULL]::text[], ARRAY[NULL]::jsonb[], \
         '{notifier}', ARRAY[1]::int2[])"
    )
}

#[sqlx::test(migrator = "stowaway_store::MIGRATOR")]
async fn plans_made_on_empty_tables_still_use_indexes_once_the_tables_grew(pool: PgPool) {
    sqlx::query(&format!(
        "INSERT INTO queues (queue_id, bucket, region, name) VALUES ('{QUEUE}', 'b-1250000000', 'ap-chongqing', 'q')"
    ))
    .execute(&pool)
    .await
    .unwrap();
    let (worker, notifier) = (Uuid::new_v4(), Uuid::new_v4());
    // One connection makes its plans on the empty tables: a run submitted, claimed, and its
    // (absent) delivery finished.
    let mut conn = pool.acquire().await.unwrap();
    sqlx::query(&submit_run("first")).fetch_all(&mut *conn).await.unwrap();
    let claimed: Vec<i64> = sqlx::query_scalar(&format!("SELECT id FROM claim_jobs('{worker}', 1, 60)"))
        .fetch_all(&mut *conn)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    let none: Vec<i64> = sqlx::query_scalar(&finish(0, notifier)).fetch_all(&mut *conn).await.unwrap();
    assert!(none.is_empty());

    // Another grows every table the plans read: waiting jobs (with their keys) and deliveries.
    sqlx::query(&format!(
        "INSERT INTO jobs (job_id, queue_id, bucket, region, object, request)
         SELECT 'grown' || i, '{QUEUE}', 'b-1250000000', 'ap-chongqing', 'o.png', '{{}}'
         FROM generate_series(1, {GROWN}) i"
    ))
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query(&format!(
        "INSERT INTO deliveries (job_id, state, attempt, locked_by)
         SELECT id, 1, 1, '{notifier}' FROM jobs WHERE job_id LIKE 'grown%'"
    ))
    .execute(&pool)
    .await
    .unwrap();

    // The first connection's plans, on the grown tables.
    let submit = common::pages(&mut conn, &submit_run("second")).await;
    assert!(submit < FEW, "a submit read {submit} pages: a scan of jobs");
    let claim = common::pages(&mut conn, &format!("SELECT * FROM claim_jobs('{worker}', 1, 60)")).await;
    assert!(claim < FEW, "a claim of one read {claim} pages: a scan of jobs");
    let delivered: i64 =
        sqlx::query_scalar("SELECT min(job_id) FROM deliveries").fetch_one(&pool).await.unwrap();
    let outcome = common::pages(&mut conn, &finish(delivered, notifier)).await;
    assert!(outcome < FEW, "one outcome read {outcome} pages: a scan of deliveries");
    let state: i16 = sqlx::query_scalar("SELECT state FROM deliveries WHERE job_id = $1")
        .bind(delivered)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(state, 2, "the outcome was recorded");
}
