//! The maintenance services as running components against a real PostgreSQL.
use std::time::Duration;

use serde_json::json;
use sqlx::PgPool;
use stowaway_engine::Maintenance;
use stowaway_store::{Completion, JobState, NewJob, Store};
use stowaway_worker::maintenance::{JobRescuer, Pruner, PrunerConfig, RescuerConfig};
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
    let cfg = RescuerConfig { every: Duration::from_millis(50), max_attempts: 5 };
    let mut rescuer = Maintenance::new(shutdown);
    rescuer.start(JobRescuer { store: store.clone(), cfg });
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
    sqlx::query(
        "UPDATE jobs SET finished_at = now() - interval '2 days' WHERE id IN (SELECT id FROM jobs LIMIT 20)",
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
