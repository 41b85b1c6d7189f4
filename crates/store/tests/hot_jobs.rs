//! A job's row updated in place (migration 0019): the claim order, the claims, the retries and the
//! suspicious listing live in tables of their own, kept in step by every transition, so that no
//! index on `jobs` reads what a claim or a verdict changes.
mod common;

use std::time::Duration;

use common::pages;

use serde_json::json;
use sqlx::{PgConnection, PgPool};
use stowaway_store::{Completion, JobFilter, JobState, NewJob, Store};
use uuid::Uuid;

const LEASE: Duration = Duration::from_secs(60);
const BUCKET: &str = "examplebucket-1250000000";

async fn submitted(pool: &PgPool, n: usize) -> (Store, Vec<String>) {
    let store = Store::from_pool(pool.clone());
    let q = store.ensure_queue(BUCKET, "ap-chongqing").await.unwrap();
    let jobs: Vec<NewJob> = (0..n)
        .map(|i| NewJob {
            job_id: format!("c{}", Uuid::new_v4().simple()),
            queue_id: q.queue_id.clone(),
            bucket: BUCKET.into(),
            region: "ap-chongqing".into(),
            object: format!("input/{i}.png"),
            job_level: (i % 3) as i16,
            request: json!({"UserData": "hot"}),
            once: false,
        })
        .collect();
    store.insert_jobs(&jobs).await.unwrap();
    (store, jobs.into_iter().map(|j| j.job_id).collect())
}

/// (updates, HOT updates) of `jobs` that `sql`, run in a transaction of its own, made. The
/// backend's counts not yet reported span transactions, so the difference is taken.
async fn updates_of(conn: &mut PgConnection, sql: &str) -> (i64, i64) {
    const COUNTS: &str =
        "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_xact_user_tables WHERE relname = 'jobs'";
    sqlx::query("BEGIN").execute(&mut *conn).await.unwrap();
    let before: (i64, i64) = sqlx::query_as(COUNTS).fetch_one(&mut *conn).await.unwrap();
    sqlx::raw_sql(sql).execute(&mut *conn).await.unwrap();
    let after: (i64, i64) = sqlx::query_as(COUNTS).fetch_one(&mut *conn).await.unwrap();
    sqlx::query("COMMIT").execute(&mut *conn).await.unwrap();
    (after.0 - before.0, after.1 - before.1)
}

/// A third of 600 jobs, claimed and completed: their pages (half filled, `fillfactor` 50) hold
/// both new versions without pruning, so every update is HOT. Before 0019 none was.
#[sqlx::test(migrator = "stowaway_store::MIGRATOR")]
async fn a_claim_and_its_verdicts_update_each_job_in_place(pool: PgPool) {
    submitted(&pool, 600).await;
    let mut conn = pool.acquire().await.unwrap();
    let worker = "6f1c1d2e-0000-4000-8000-000000000001";
    let claim = updates_of(
        &mut conn,
        &format!("CREATE TEMP TABLE held AS SELECT * FROM claim_jobs('{worker}', 200, 60)"),
    )
    .await;
    assert_eq!(claim, (200, 200), "every claim's update is HOT");
    let verdict = updates_of(
        &mut conn,
        &format!(
            "SELECT count(*) FROM record_verdicts(ARRAY(SELECT id FROM held ORDER BY id),
                 ARRAY(SELECT attempt FROM held ORDER BY id), array_fill(2::int2, ARRAY[200]),
                 array_fill('{{\"ProcessResult\":{{\"Suspicious\":\"false\"}}}}'::jsonb, ARRAY[200]),
                 array_fill(NULL::text, ARRAY[200]), '{worker}', NULL, NULL)"
        ),
    )
    .await;
    assert_eq!(verdict, (200, 200), "every verdict's update is HOT");
    const LEFT: &str = "SELECT (SELECT count(*) FROM job_ready), (SELECT count(*) FROM job_claims),
                               (SELECT sum(running) FROM job_claims), (SELECT count(*) FROM jobs WHERE state = 2)";
    let left: (i64, i64, Option<i64>, i64) = sqlx::query_as(LEFT).fetch_one(&mut *conn).await.unwrap();
    assert_eq!(left, (400, 1, Some(0), 200), "the claim counted off");
    Store::from_pool(pool.clone()).rescue_expired(10).await.unwrap();
    let left: (i64, i64, Option<i64>, i64) = sqlx::query_as(LEFT).fetch_one(&mut *conn).await.unwrap();
    assert_eq!(left, (400, 0, None, 200), "and gone with the rescuer's pass");
}

/// Where job `id` stands in the state machine's tables: (in the claim order, waiting for a retry,
/// claims holding it Running). Checks on the way that the claims count every Running job, once.
async fn places(pool: &PgPool, job_id: &str) -> (bool, bool, i64) {
    let (counted, running): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT coalesce(sum(running), 0) FROM job_claims)::int8, (SELECT count(*) FROM jobs WHERE state = 1)",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    assert_eq!(counted, running, "claims' counts against Running jobs");
    sqlx::query_as(
        "SELECT EXISTS (SELECT 1 FROM job_ready WHERE id = j.id), EXISTS (SELECT 1 FROM job_retries WHERE id = j.id),
                (SELECT count(*) FROM job_claims c WHERE j.id = ANY(c.ids) AND c.claim_id = j.claim_id AND j.state = 1)
         FROM jobs j WHERE job_id = $1",
    )
    .bind(job_id)
    .fetch_one(pool)
    .await
    .unwrap()
}

#[sqlx::test(migrator = "stowaway_store::MIGRATOR")]
async fn the_state_tables_follow_a_job_through_every_transition(pool: PgPool) {
    let (store, ids) = submitted(&pool, 1).await;
    let queue = store.ensure_queue(BUCKET, "ap-chongqing").await.unwrap().queue_id;
    let w = Uuid::new_v4();
    const READY: (bool, bool, i64) = (true, false, 0);
    const HELD: (bool, bool, i64) = (false, false, 1);
    const RETRYING: (bool, bool, i64) = (false, true, 0);
    const NOWHERE: (bool, bool, i64) = (false, false, 0);
    assert_eq!(places(&pool, &ids[0]).await, READY, "submitted");

    let c = store.claim(w, 1, LEASE).await.unwrap();
    assert_eq!(places(&pool, &ids[0]).await, HELD, "claimed");
    store.release(w, &[c[0].id]).await.unwrap();
    assert_eq!(places(&pool, &ids[0]).await, READY, "released");

    store.set_paused(&queue, true).await.unwrap();
    assert_eq!(places(&pool, &ids[0]).await, NOWHERE, "paused");
    assert!(store.claim(w, 1, LEASE).await.unwrap().is_empty());
    store.set_paused(&queue, false).await.unwrap();
    assert_eq!(places(&pool, &ids[0]).await, READY, "resumed");

    store.claim(w, 1, Duration::from_millis(1)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(store.rescue_expired(10).await.unwrap(), (1, 0));
    assert_eq!(places(&pool, &ids[0]).await, READY, "rescued");

    let c = store.claim(w, 1, LEASE).await.unwrap();
    store.complete(w, &[Completion::retry_in(&c[0], Duration::ZERO, "ServiceUnavailable")]).await.unwrap();
    assert_eq!(places(&pool, &ids[0]).await, RETRYING, "handed back for an outage");
    assert_eq!(store.promote_due_retries().await.unwrap(), 1);
    assert_eq!(places(&pool, &ids[0]).await, READY, "due again");

    let c = store.claim(w, 1, LEASE).await.unwrap();
    store.complete(w, &[Completion::success(&c[0], None)]).await.unwrap();
    assert_eq!(places(&pool, &ids[0]).await, NOWHERE, "done");

    // Cancelled while it waits, in the claim order or for a retry: out of both.
    let (_, more) = submitted(&pool, 2).await;
    let c = store.claim(w, 2, LEASE).await.unwrap();
    let retry = c.iter().find(|c| c.job_id == more[1]).unwrap();
    let back = c.iter().find(|c| c.job_id == more[0]).unwrap();
    store.release(w, &[back.id]).await.unwrap();
    store.complete(w, &[Completion::retry_in(retry, LEASE, "ServiceUnavailable")]).await.unwrap();
    assert_eq!(places(&pool, &more[1]).await, RETRYING);
    store.cancel_jobs(BUCKET, &more).await.unwrap().unwrap();
    for id in &more {
        assert_eq!(places(&pool, id).await, NOWHERE, "cancelled");
        assert_eq!(store.states(std::slice::from_ref(id)).await.unwrap()[0].1, JobState::Cancel);
    }
    let backlog = store.backlog().await.unwrap();
    assert_eq!((backlog.queued, backlog.running, backlog.retrying), (0, 0, 0));
}

#[sqlx::test(migrator = "stowaway_store::MIGRATOR")]
async fn the_rescuer_drops_a_claim_none_of_whose_jobs_runs(pool: PgPool) {
    let (store, ids) = submitted(&pool, 3).await;
    let w = Uuid::new_v4();
    store.claim(w, 3, LEASE).await.unwrap();
    assert_eq!(store.backlog().await.unwrap().running, 3);
    // Finished by hand, past every statement that counts a claim down.
    sqlx::query("UPDATE jobs SET state = 2 WHERE job_id = ANY($1)").bind(&ids).execute(&pool).await.unwrap();
    assert_eq!(store.rescue_expired(10).await.unwrap(), (0, 0));
    let claims: i64 = sqlx::query_scalar("SELECT count(*) FROM job_claims").fetch_one(&pool).await.unwrap();
    assert_eq!(claims, 0);
}

#[sqlx::test(migrator = "stowaway_store::MIGRATOR")]
async fn a_claim_records_the_jobs_it_leased_not_the_ready_rows_it_took(pool: PgPool) {
    let (store, ids) = submitted(&pool, 3).await;
    // Finished by hand, its place in the claim order left behind.
    sqlx::query("UPDATE jobs SET state = 2 WHERE job_id = $1").bind(&ids[0]).execute(&pool).await.unwrap();
    let w = Uuid::new_v4();
    let held = store.claim(w, 3, LEASE).await.unwrap();
    assert_eq!(held.len(), 2);
    let claim: (Vec<i64>, i32) =
        sqlx::query_as("SELECT ids, running FROM job_claims").fetch_one(&pool).await.unwrap();
    let leased: Vec<i64> = held.iter().map(|c| c.id).collect();
    assert_eq!((claim.0.len(), claim.1), (2, 2), "two jobs leased, two counted");
    assert!(claim.0.iter().all(|id| leased.contains(id)));
    let finals: Vec<Completion> = held.iter().map(|c| Completion::success(c, None)).collect();
    store.complete(w, &finals).await.unwrap();
    let left: (i64, Option<i64>) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM job_ready), (SELECT sum(running) FROM job_claims)::int8",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(left, (0, Some(0)), "the stray row gone, the claim counted down to 0 by its verdicts");

    let (store, ids) = submitted(&pool, 1).await;
    sqlx::query("UPDATE jobs SET state = 2 WHERE job_id = $1").bind(&ids[0]).execute(&pool).await.unwrap();
    assert!(store.claim(w, 1, LEASE).await.unwrap().is_empty());
    let claims: i64 = sqlx::query_scalar("SELECT count(*) FROM job_claims").fetch_one(&pool).await.unwrap();
    assert_eq!(claims, 1, "only stray rows taken: no claim recorded");
}

#[sqlx::test(migrator = "stowaway_store::MIGRATOR")]
async fn a_suspicious_verdict_is_listed_until_its_result_is_not(pool: PgPool) {
    let (store, ids) = submitted(&pool, 2).await;
    let w = Uuid::new_v4();
    let c = store.claim(w, 2, LEASE).await.unwrap();
    let verdict = json!({"ProcessResult": {"Suspicious": "true", "SuspiciousType": "ZIP"}});
    let done: Vec<Completion> = c.iter().map(|c| Completion::success(c, Some(verdict.clone()))).collect();
    store.complete(w, &done).await.unwrap();
    let listed = |t: Option<&str>| JobFilter {
        bucket: BUCKET.into(),
        suspicious: Some(true),
        suspicious_type: t.map(String::from),
        limit: 10,
        ..Default::default()
    };
    assert_eq!(store.list_jobs(&listed(Some("ZIP"))).await.unwrap().len(), 2);
    assert_eq!(store.list_jobs(&listed(Some("MPEG-TS"))).await.unwrap().len(), 0);
    sqlx::query(
        "UPDATE jobs SET result = '{\"ProcessResult\":{\"Suspicious\":\"false\"}}' WHERE job_id = $1",
    )
    .bind(&ids[0])
    .execute(&pool)
    .await
    .unwrap();
    let left = store.list_jobs(&listed(None)).await.unwrap();
    assert_eq!(left.iter().map(|r| r.job_id.as_str()).collect::<Vec<_>>(), [ids[1].as_str()]);
}

#[sqlx::test(migrations = false)]
async fn jobs_in_every_state_take_their_places_when_0019_runs(pool: PgPool) {
    let (before, after): (Vec<_>, Vec<_>) = stowaway_store::MIGRATOR.iter().partition(|m| m.version < 19);
    for m in before {
        sqlx::raw_sql(&m.sql).execute(&pool).await.unwrap();
    }
    sqlx::raw_sql(
        "INSERT INTO queues (queue_id, bucket, region, name) VALUES ('pq', 'examplebucket-1250000000', 'ap-chongqing', 'q');
         INSERT INTO jobs (job_id, queue_id, bucket, region, object, request, state, attempt, locked_by, locked_until,
                           retry_at, result, finished_at)
         VALUES ('waiting', 'pq', 'examplebucket-1250000000', 'r', 'a.png', '{}', 0, 0, NULL, NULL, NULL, NULL, NULL),
                ('running', 'pq', 'examplebucket-1250000000', 'r', 'b.png', '{}', 1, 1,
                 '6f1c1d2e-0000-4000-8000-000000000001', now() - interval '1 second', NULL, NULL, NULL),
                ('retrying', 'pq', 'examplebucket-1250000000', 'r', 'c.png', '{}', 6, 1, NULL, NULL, now(), NULL, NULL),
                ('suspicious', 'pq', 'examplebucket-1250000000', 'r', 'd.png', '{}', 2, 1, NULL, NULL, NULL,
                 '{\"ProcessResult\":{\"Suspicious\":\"true\",\"SuspiciousType\":\"ZIP\"}}', now());",
    )
    .execute(&pool)
    .await
    .unwrap();
    for m in after {
        sqlx::raw_sql(&m.sql).execute(&pool).await.unwrap();
    }
    assert_eq!(places(&pool, "waiting").await, (true, false, 0));
    assert_eq!(places(&pool, "running").await, (false, false, 1));
    assert_eq!(places(&pool, "retrying").await, (false, true, 0));
    let store = Store::from_pool(pool.clone());
    let listed = JobFilter { bucket: BUCKET.into(), suspicious: Some(true), limit: 10, ..Default::default() };
    assert_eq!(store.list_jobs(&listed).await.unwrap()[0].job_id, "suspicious");
    // The running job's worker is gone: its lease expired, and the rescuer finds it by its claim.
    assert_eq!(store.rescue_expired(10).await.unwrap(), (1, 0));
    assert_eq!(store.promote_due_retries().await.unwrap(), 1);
    let w = Uuid::new_v4();
    assert_eq!(store.claim(w, 10, LEASE).await.unwrap().len(), 3);
    // `job_keys` folded into `jobs`: the jobs found by JobId and in the listing, a JobId still unique.
    let all = ["waiting", "running", "retrying", "suspicious"].map(String::from);
    assert_eq!(store.jobs_by_id(BUCKET, &all).await.unwrap().len(), 4);
    let listed = JobFilter { bucket: BUCKET.into(), limit: 10, ..Default::default() };
    assert_eq!(store.list_jobs(&listed).await.unwrap().len(), 4);
    let again = sqlx::query("INSERT INTO jobs (job_id, queue_id, bucket, region, object, request) VALUES ('waiting', 'pq', 'examplebucket-1250000000', 'r', 'e.png', '{}')")
        .execute(&pool)
        .await;
    assert!(again.unwrap_err().to_string().contains("jobs_job_id_key"));
}

/// Claims at 0 wait for the rescuer's pass (every few seconds; thousands at a high rate), so a
/// verdict finds its claim by key: counting off by scanning them cost each verdict milliseconds.
#[sqlx::test(migrator = "stowaway_store::MIGRATOR")]
async fn a_verdict_reads_its_claim_alone_however_many_wait_for_the_rescuer(pool: PgPool) {
    submitted(&pool, 2).await;
    sqlx::query("INSERT INTO job_claims (worker, ids, running) SELECT gen_random_uuid(), '{}', 0 FROM generate_series(1, 20000)")
        .execute(&pool)
        .await
        .unwrap();
    let mut conn = pool.acquire().await.unwrap();
    let mut read = Vec::new();
    // The first call plans the functions' statements (catalog pages); the second is the verdict's own.
    for _ in 0..2 {
        let (id, attempt): (i64, i32) = sqlx::query_as(
            "SELECT id, attempt FROM claim_jobs('6f1c1d2e-0000-4000-8000-000000000001', 1, 60)",
        )
        .fetch_one(&mut *conn)
        .await
        .unwrap();
        let verdict = format!(
            "SELECT * FROM record_verdicts(ARRAY[{id}]::int8[], ARRAY[{attempt}], ARRAY[2::int2], ARRAY['{{}}'::jsonb],
                 ARRAY[NULL::text], '6f1c1d2e-0000-4000-8000-000000000001', NULL, NULL)"
        );
        read.push(pages(&mut conn, &verdict).await);
    }
    assert!(read[1] < 40, "{} pages for one verdict", read[1]);
    let running: i64 =
        sqlx::query_scalar("SELECT sum(running) FROM job_claims").fetch_one(&mut *conn).await.unwrap();
    assert_eq!(running, 0);
}

/// Cancels racing claims over the same jobs: no statement deadlocks or fails; afterwards every
/// job is Cancel, or Running under one claim with its cancel asked for (a claimed job is cancelled
/// when its worker completes it), no job is in two claims, and the claims count the Running ones.
#[sqlx::test(migrator = "stowaway_store::MIGRATOR")]
async fn cancels_racing_claims_leave_every_job_in_one_place(pool: PgPool) {
    let (store, ids) = submitted(&pool, 600).await;
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..2 {
        let store = store.clone();
        tasks.spawn(async move {
            let w = Uuid::new_v4();
            let mut idle = 0;
            while idle < 20 {
                let got = store.claim(w, 7, LEASE).await.expect("a claim fails");
                idle = if got.is_empty() { idle + 1 } else { 0 };
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        });
    }
    // Ten at a time, from either end.
    for reversed in [false, true] {
        let (store, mut ids) = (store.clone(), ids.clone());
        if reversed {
            ids.reverse();
        }
        tasks.spawn(async move {
            for chunk in ids.chunks(10) {
                store.cancel_jobs(BUCKET, chunk).await.expect("a cancel fails").ok();
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.unwrap();
    }
    let (cancelled, running, other): (i64, i64, i64) = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE state = 4), count(*) FILTER (WHERE state = 1),
                count(*) FILTER (WHERE state NOT IN (1, 4)) FROM jobs",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!((cancelled + running, other), (600, 0), "every job cancelled or claimed");
    assert!(
        cancelled > 0 && running > 0,
        "the race had both sides: {cancelled} cancelled, {running} claimed"
    );
    for id in &ids {
        let (ready, retrying, claims) = places(&pool, id).await;
        assert!(!ready && !retrying, "{id} still waits");
        let state = store.states(std::slice::from_ref(id)).await.unwrap()[0].1;
        assert_eq!(claims, i64::from(state == JobState::Running), "{id} ({state:?}) under {claims} claims");
    }
    let (twice, uncancelled): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM (SELECT i FROM job_claims, unnest(ids) i GROUP BY i HAVING count(*) > 1) d),
                (SELECT count(*) FROM jobs WHERE state = 1 AND NOT cancel_requested)",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!((twice, uncancelled), (0, 0), "jobs in two claims, Running jobs whose cancel was lost");
}
