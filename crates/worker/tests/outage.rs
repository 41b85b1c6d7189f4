//! Storage outages against a real S3 server behind a cuttable path (`testkit::Cut`): a store
//! that cannot be reached decides no verdict. Jobs wait (Retrying, shown as Submitted), the
//! breaker stops claims, and everything runs once the store is back; only a job whose time is up
//! fails, with the store's code.
use std::time::Duration;

use sqlx::PgPool;
use stowaway_engine::Maintenance;
use stowaway_objects::{ObjectStoreConfig, Objects};
use stowaway_store::{JobState, Store};
use stowaway_testkit::{clean_png, fresh_bucket, png_with_ts, s3_config, Cut, S3Server};
use stowaway_wire::ProcessType;
use stowaway_worker::maintenance::JobScheduler;
use stowaway_worker::{run_worker, JobContext, WorkerConfig};
use tokio::sync::watch;

mod common;
use common::{context, result, run_until_done, submit};

/// A client for the strict server that goes through `cut`, with quick retries kept short.
fn through(cut: &Cut) -> Objects {
    let cfg = ObjectStoreConfig { endpoint: Some(cut.url()), ..s3_config(S3Server::Strict) };
    Objects::new(&cfg)
}

async fn count(store: &Store, ids: &[String], state: JobState) -> usize {
    store.states(ids).await.unwrap().iter().filter(|s| s.1 == state).count()
}

/// (retries, attempt) of each job.
async fn tries(store: &Store, ids: &[String]) -> Vec<(i32, i32)> {
    sqlx::query_as("SELECT retries, attempt FROM jobs WHERE job_id = ANY($1)")
        .bind(ids)
        .fetch_all(store.pool())
        .await
        .unwrap()
}

#[sqlx::test(migrator = "stowaway_store::MIGRATOR")]
async fn jobs_wait_out_an_outage_and_run_when_the_store_is_back(pool: PgPool) {
    let store = Store::from_pool(pool);
    let (direct, bucket) = fresh_bucket(S3Server::Strict).await;
    let server = s3_config(S3Server::Strict).endpoint.unwrap();
    let cut = Cut::to(server.trim_start_matches("http://")).await;
    let mut ids = Vec::new();
    for i in 0..12 {
        let (key, body, auto) = match i % 3 {
            0 => (format!("hls{i}.png"), png_with_ts(20), Some(ProcessType::BackupObject)),
            _ => (format!("clean{i}.png"), clean_png(), Some(ProcessType::DeleteObject)),
        };
        direct.put(&bucket, &key, body).await.unwrap();
        ids.push(submit(&store, &bucket, &key, 0, auto).await);
    }
    let objects = through(&cut);
    cut.down();

    let (stop, stopped) = watch::channel(false);
    let mut maintenance = Maintenance::new(stopped.clone());
    maintenance.start(JobScheduler { store: store.clone(), every: Duration::from_millis(200) });
    let cfg = WorkerConfig { concurrency: 4, ..WorkerConfig::default() };
    let worker = tokio::spawn(run_worker(context(&store, &objects), cfg, stopped));

    // Eight seconds of outage: nothing is decided, and the breaker keeps the claims down.
    tokio::time::sleep(Duration::from_secs(8)).await;
    let states = store.states(&ids).await.unwrap();
    assert!(states.iter().all(|s| !s.1.is_terminal()), "{states:?}");
    assert!(objects.breaker().is_open());
    let during = tries(&store, &ids).await;
    let attempts: i32 = during.iter().map(|t| t.1).sum();
    assert!(during.iter().any(|t| t.0 > 0), "jobs were handed back: {during:?}");
    // Without the breaker four slots would try a job every 1.4 s (the quick retries): ~23 tries.
    assert!(attempts <= 16, "claims while the store is down: {attempts} ({during:?})");
    let listed = store.jobs_by_id(&bucket, &ids).await.unwrap();
    assert!(listed.iter().all(|r| r.state.as_str() == "Submitted" || r.state == JobState::Running));

    cut.up().await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(40);
    while count(&store, &ids, JobState::Success).await < ids.len() {
        assert!(tokio::time::Instant::now() < deadline, "{:?}", store.states(&ids).await.unwrap());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(!objects.breaker().is_open());
    stop.send(true).unwrap();
    worker.await.unwrap();
    maintenance.stopped().await;

    // Every verdict decided and acted on once: suspicious ones backed up, clean ones untouched.
    for record in store.jobs_by_id(&bucket, &ids).await.unwrap() {
        let r = result(&record);
        let p = r.process_result.unwrap();
        let key = &record.object;
        assert_eq!(p.suspicious, key.starts_with("hls"), "{key}");
        if p.suspicious {
            assert_eq!(p.auto_process_result.unwrap().code, "Success");
            assert!(!direct.exists(&bucket, key).await.unwrap());
            assert!(direct.exists(&bucket, &format!("abnormal_images_backup/{key}")).await.unwrap());
        } else {
            assert!(direct.exists(&bucket, key).await.unwrap(), "{key} untouched");
        }
    }
}

#[sqlx::test(migrator = "stowaway_store::MIGRATOR")]
async fn a_job_fails_with_the_stores_code_once_its_time_is_up_and_a_missing_object_at_once(pool: PgPool) {
    let store = Store::from_pool(pool);
    let (direct, bucket) = fresh_bucket(S3Server::Strict).await;
    direct.put(&bucket, "a.png", clean_png()).await.unwrap();
    let server = s3_config(S3Server::Strict).endpoint.unwrap();
    let cut = Cut::to(server.trim_start_matches("http://")).await;
    cut.down();
    let ids = vec![submit(&store, &bucket, "a.png", 0, None).await];
    let ctx = JobContext { retry_for: Duration::from_secs(3), ..context(&store, &through(&cut)) };
    let (stop, stopped) = watch::channel(false);
    let mut maintenance = Maintenance::new(stopped);
    maintenance.start(JobScheduler { store: store.clone(), every: Duration::from_millis(200) });
    let records = run_until_done(ctx, WorkerConfig::default(), &ids).await;
    stop.send(true).unwrap();
    maintenance.stopped().await;
    let r = result(&records[0]);
    assert_eq!((records[0].state, r.code.as_str()), (JobState::Failed, "ServiceUnavailable"));
    assert!(r.message.contains("Connection refused"), "{}", r.message);
    assert!(r.message.contains("could not be reached for"), "{}", r.message);

    // A store that answers decides at once, even that there is nothing to judge.
    cut.up().await;
    let ids = vec![submit(&store, &bucket, "missing.png", 0, None).await];
    let started = std::time::Instant::now();
    let records = run_until_done(context(&store, &through(&cut)), WorkerConfig::default(), &ids).await;
    assert_eq!((records[0].state, result(&records[0]).code.as_str()), (JobState::Failed, "NoSuchKey"));
    assert_eq!(tries(&store, &ids).await, [(0, 1)]);
    assert!(started.elapsed() < Duration::from_secs(5));
}
