//! Which of the job path's functions wait for the WAL flush at commit: only the submit, whose
//! answer promises the job is stored. A claim, a verdict and a callback's outcome lost to a
//! database crash are done again (`Store::claim`, `Store::complete`, `Store::finish_deliveries`).
use sqlx::PgPool;
use uuid::Uuid;

/// `synchronous_commit` as the transaction that ran `sql` will commit with.
async fn commit_setting(pool: &PgPool, sql: &str) -> String {
    let mut tx = pool.begin().await.unwrap();
    sqlx::query(sql).fetch_all(&mut *tx).await.unwrap();
    let setting: String = sqlx::query_scalar("SHOW synchronous_commit").fetch_one(&mut *tx).await.unwrap();
    tx.commit().await.unwrap();
    setting
}

#[sqlx::test(migrator = "stowaway_store::MIGRATOR")]
async fn only_the_submit_waits_for_the_flush(pool: PgPool) {
    sqlx::query("INSERT INTO queues (queue_id, bucket, region, name) VALUES ('cq', 'b-1250000000', 'ap-chongqing', 'q')")
        .execute(&pool)
        .await
        .unwrap();
    let (worker, notifier) = (Uuid::new_v4(), Uuid::new_v4());
    let submit = "SELECT * FROM submit_jobs(1, NULL, 60, ARRAY['cjob'], ARRAY['cq'], ARRAY['b-1250000000'], \
                  ARRAY['ap-chongqing'], ARRAY['o.png'], ARRAY[0]::int2[], ARRAY['{}']::jsonb[])";
    assert_eq!(commit_setting(&pool, submit).await, "on");
    let claim = format!("SELECT * FROM claim_jobs('{worker}', 1, 60)");
    assert_eq!(commit_setting(&pool, &claim).await, "off");
    let id: i64 = sqlx::query_scalar("SELECT id FROM jobs").fetch_one(&pool).await.unwrap();
    let verdict = format!(
        "SELECT * FROM record_verdicts(ARRAY[{id}]::int8[], ARRAY[1], ARRAY[2]::int2[], ARRAY['{{}}']::jsonb[], \
         ARRAY[NULL]::text[], '{worker}', '{notifier}', 60)"
    );
    assert_eq!(commit_setting(&pool, &verdict).await, "off");
    let state: i16 = sqlx::query_scalar("SELECT state FROM jobs").fetch_one(&pool).await.unwrap();
    assert_eq!(state, 2, "the verdict was recorded");
    let outcome = format!(
        "SELECT * FROM finish_deliveries(ARRAY[{id}]::int8[], ARRAY[1], ARRAY[2]::int2[], ARRAY[0]::float8[], \
         ARRAY['Url'], ARRAY['http://r'], ARRAY['JSON'], ARRAY[NULL]::text[], ARRAY[NULL]::jsonb[], \
         '{notifier}', ARRAY[1]::int2[])"
    );
    assert_eq!(commit_setting(&pool, &outcome).await, "off");
}
