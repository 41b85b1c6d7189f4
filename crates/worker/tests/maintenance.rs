//! The maintenance services as running components against a real PostgreSQL.
use std::time::Duration;

use serde_json::json;
use sqlx::PgPool;
use stowaway_engine::Maintenance;
use stowaway_store::{Completion, JobState, NewJob, Store};
use stowaway_worker::maintenance::{JobRescuer, JobScheduler, Pruner, PrunerConfig, RescuerConfig};
use tokio::sync::watch;
use uuid::Uuid;

async fn jobs(store: &Store, n: usize) -> Vec<String> {
    let q = store.ensure_queue("examplebucket-1250000000", "ap-chongqing").await.unwrap();
    let new: Vec<NewJob> = (0..n)
        .map(|i| NewJob {
            job_id: format!("c{}", Uuid::new_v4().simple()),
            queue_id: q.queue_id.clone(),
            bucket: "examplebucket-1250000000".into(),
            region: "ap-chongqing".into(),
            object: format!("input/{i}.png"),
            job_level: 0,
            request: json!({}),
            once: false,
        })
        .collect();
    store.insert_jobs(&new).await.unwrap().into_iter().map(|r| r.job_id).collect()
}

async fn wait_for(what: &str, mut check: impl AsyncFnMut() -> bool) {
    for _ in 0..200 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("timed out waiting for {what}");
}

#[sqlx::test(migrator = "stowaway_store::MIGRATOR")]
async fn rescuer_returns_a_dead_workers_jobs_and_stops_on_shutdown(pool: PgPool) {
    let store = Store::from_pool(pool);
    let ids = jobs(&store, 3).await;
    // A worker claims everything with a short lease, then "dies" (never heartbeats).
    let dead = Uuid::new_v4();
    assert_eq!(store.claim(dead, 10, Duration::from_millis(100)).await.unwrap().len(), 3);
    let (stop, shutdown) = watch::channel(false);
    let cfg = RescuerConfig { every: Duration::from_millis(50), ..RescuerConfig::default() };
    let mut rescuer = Maintenance::new(shutdown);
    rescuer.start(JobRescuer::new(store.clone(), cfg));
    wait_for("the jobs to be claimable again", async || {
        store.states(&ids).await.unwrap().iter().all(|s| s.1 == JobState::Submitted)
    })
    .await;
    let alive = Uuid::new_v4();
    let again = store.claim(alive, 10, Duration::from_secs(60)).await.unwrap();
    assert_eq!(again.len(), 3);
    assert!(again.iter().all(|c| c.attempt == 2));
    stop.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(2), rescuer.stopped()).await.expect("rescuer stops on shutdown");
}

#[sqlx::test(migrator = "stowaway_store::MIGRATOR")]
async fn pruner_deletes_in_batches_until_only_recent_history_is_left(pool: PgPool) {
    let store = Store::from_pool(pool.clone());
    jobs(&store, 25).await;
    let w = Uuid::new_v4();
    let claimed = store.claim(w, 25, Duration::from_secs(60)).await.unwrap();
    let done: Vec<Completion> = claimed.iter().map(|c| Completion::success(c, None)).collect();
    store.complete(w, &done).await.unwrap();
    // Twenty created and finished two days ago, as the pruner reads them (the trigger that
    // refuses to move `created_at` is off for this transaction).
    sqlx::raw_sql(
        "BEGIN;
         SET LOCAL session_replication_role = replica;
         CREATE TEMP TABLE aged ON COMMIT DROP AS SELECT id FROM jobs ORDER BY id LIMIT 20;
         UPDATE jobs SET created_at = created_at - interval '2 days', finished_at = now() - interval '2 days'
         WHERE id IN (SELECT id FROM aged);
         COMMIT;",
    )
    .execute(&pool)
    .await
    .unwrap();
    let (stop, shutdown) = watch::channel(false);
    let cfg =
        PrunerConfig { every: Duration::from_millis(50), retention: Duration::from_secs(86400), batch: 3 };
    let mut pruner = Maintenance::new(shutdown);
    pruner.start(Pruner { store: store.clone(), cfg });
    let count =
        async || sqlx::query_scalar::<_, i64>("SELECT count(*) FROM jobs").fetch_one(&pool).await.unwrap();
    wait_for("old jobs to be pruned", async || count().await == 5).await;
    stop.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(2), pruner.stopped()).await.expect("pruner stops on shutdown");
    assert_eq!(count().await, 5, "recent history stays");
}

#[sqlx::test(migrator = "stowaway_store::MIGRATOR")]
async fn jobs_handed_back_for_an_outage_wait_their_turn_and_do_not_spend_the_rescuers_budget(pool: PgPool) {
    let store = Store::from_pool(pool.clone());
    let ids = jobs(&store, 3).await;
    let w = Uuid::new_v4();
    let claimed = store.claim(w, 3, Duration::from_secs(60)).await.unwrap();
    // Fenced: a hand-back from a worker that no longer holds the job changes nothing.
    let stranger = Completion::retry_in(&claimed[2], Duration::ZERO, "ServiceUnavailable: refused");
    assert!(store.complete(Uuid::new_v4(), &[stranger]).await.unwrap().is_empty());
    let back = vec![
        Completion::retry_in(&claimed[0], Duration::ZERO, "ServiceUnavailable: refused"),
        Completion::retry_in(&claimed[1], Duration::from_secs(3600), "ServiceUnavailable: refused"),
        Completion::success(&claimed[2], None),
    ];
    assert_eq!(store.complete(w, &back).await.unwrap().len(), 3);
    let listed = store.jobs_by_id("examplebucket-1250000000", &ids).await.unwrap();
    assert_eq!(
        listed.iter().map(|r| r.state.as_str()).collect::<Vec<_>>(),
        ["Submitted", "Submitted", "Success"]
    );
    assert_eq!(store.claim(w, 3, Duration::from_secs(60)).await.unwrap().len(), 0, "not before it is due");

    // The scheduler returns the due one to its queue (paused: to Pause); the other waits an hour.
    let queue = store.ensure_queue("examplebucket-1250000000", "ap-chongqing").await.unwrap();
    store.set_paused(&queue.queue_id, true).await.unwrap();
    let (stop, shutdown) = watch::channel(false);
    let mut scheduler = Maintenance::new(shutdown);
    scheduler.start(JobScheduler { store: store.clone(), every: Duration::from_millis(50) });
    wait_for("the due job to be back", async || {
        store.states(&ids[..1]).await.unwrap()[0].1 == JobState::Pause
    })
    .await;
    store.set_paused(&queue.queue_id, false).await.unwrap();
    assert_eq!(store.states(&ids[1..2]).await.unwrap()[0].1, JobState::Retrying);
    stop.send(true).unwrap();
    scheduler.stopped().await;

    // Lost five times after four hand-backs: the rescuer counts the losses only.
    let again = store.claim(w, 3, Duration::from_millis(1)).await.unwrap();
    assert_eq!((again.len(), again[0].attempt, again[0].retries), (1, 2, 1));
    assert!(again[0].retrying_since.is_some());
    sqlx::query("UPDATE jobs SET attempt = 8, retries = 4 WHERE job_id = $1")
        .bind(&ids[0])
        .execute(&pool)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(store.rescue_expired(5).await.unwrap(), (1, 0), "four losses of five");
    assert_eq!(store.claim(w, 3, Duration::from_millis(1)).await.unwrap()[0].attempt, 9);
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(store.rescue_expired(5).await.unwrap(), (0, 1), "the fifth fails it");
}

#[sqlx::test(migrator = "stowaway_store::MIGRATOR")]
async fn jobs_handed_back_at_shutdown_do_not_spend_the_rescuers_budget(pool: PgPool) {
    let store = Store::from_pool(pool.clone());
    let ids = jobs(&store, 1).await;
    for _ in 0..6 {
        let w = Uuid::new_v4();
        let claimed = store.claim(w, 1, Duration::from_secs(60)).await.unwrap();
        assert_eq!(store.release(w, &[claimed[0].id]).await.unwrap(), 1);
    }
    // Lost once after six graceful hand-backs: rescued, not failed.
    let w = Uuid::new_v4();
    assert_eq!(store.claim(w, 1, Duration::from_millis(1)).await.unwrap()[0].attempt, 7);
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(store.rescue_expired(5).await.unwrap(), (1, 0));
    assert_eq!(store.states(&ids).await.unwrap()[0].1, JobState::Submitted);
}
