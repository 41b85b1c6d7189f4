//! What the worker's tests share: submitting a job, a worker's context, running a worker until
//! jobs are done, and reading a job's stored result.
#![allow(dead_code)]
use std::time::Duration;

use serde_json::Value;
use stowaway_detect::Confidence;
use stowaway_objects::Objects;
use stowaway_store::{JobRecord, NewJob, Store};
use stowaway_wire::{ImageInspectOptions, ImageInspectResult, ProcessType, SubmitRequest};
use stowaway_worker::{run_worker, JobContext, WorkerConfig};
use tokio::sync::watch;
use uuid::Uuid;

pub async fn submit(
    store: &Store,
    bucket: &str,
    object: &str,
    level: i16,
    auto: Option<ProcessType>,
) -> String {
    let queue = store.ensure_queue(bucket, "ap-chongqing").await.unwrap();
    let request = SubmitRequest {
        object: object.into(),
        job_level: level,
        image_inspect: auto.map(|p| ImageInspectOptions { auto_process: true, process_type: p }),
        ..SubmitRequest::default()
    };
    let job = NewJob {
        job_id: format!("c{}", Uuid::new_v4().simple()),
        queue_id: queue.queue_id,
        bucket: bucket.into(),
        region: "ap-chongqing".into(),
        object: object.into(),
        job_level: level,
        request: serde_json::to_value(&request).unwrap(),
        once: false,
    };
    store.insert_jobs(std::slice::from_ref(&job)).await.unwrap();
    job.job_id
}

/// Waits (at most 15 s) until job `id` is terminal.
pub async fn wait_until_done(store: &Store, id: &str) {
    for _ in 0..300 {
        if store.states(&[id.to_string()]).await.unwrap()[0].1.is_terminal() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{id} did not finish");
}

pub fn context(store: &Store, objects: &Objects) -> JobContext {
    context_acting_from(store, objects, Confidence::Possible)
}

/// A worker whose AutoProcess acts on verdicts at or above `min_confidence`.
pub fn context_acting_from(store: &Store, objects: &Objects, min_confidence: Confidence) -> JobContext {
    JobContext {
        store: store.clone(),
        objects: objects.clone(),
        worker: Uuid::new_v4(),
        object_url_base: "http://s3.test".into(),
        min_confidence,
        tag_objects: false,
        retry_for: stowaway_worker::inspect_job::DEFAULT_RETRY_FOR,
    }
}

/// Runs a worker until every job in `ids` is terminal (at most 30 s), then stops it.
pub async fn run_until_done(ctx: JobContext, cfg: WorkerConfig, ids: &[String]) -> Vec<JobRecord> {
    let store = ctx.store.clone();
    let (stop, stopped) = watch::channel(false);
    let worker = tokio::spawn(run_worker(ctx, cfg, stopped));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let done = loop {
        let states = store.states(ids).await.unwrap();
        if states.len() == ids.len() && states.iter().all(|(_, s)| s.is_terminal()) {
            break true;
        }
        if tokio::time::Instant::now() > deadline {
            break false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    stop.send(true).unwrap();
    worker.await.unwrap();
    assert!(done, "jobs did not finish: {:?}", store.states(ids).await.unwrap());
    let mut records = Vec::new();
    for id in ids {
        let bucket: String = sqlx::query_scalar("SELECT bucket FROM jobs WHERE job_id = $1")
            .bind(id)
            .fetch_one(store.pool())
            .await
            .unwrap();
        records.extend(store.jobs_by_id(&bucket, std::slice::from_ref(id)).await.unwrap());
    }
    records
}

pub fn result(r: &JobRecord) -> ImageInspectResult {
    serde_json::from_value(r.result.clone().unwrap_or(Value::Null)).unwrap_or_else(|e| panic!("{r:?}: {e}"))
}

/// Expires the jobs' leases and lets the rescuer put them back, as after their worker died.
pub async fn crash(store: &Store, ids: &[i64]) {
    sqlx::query("UPDATE jobs SET locked_until = now() - interval '1 second' WHERE id = ANY($1)")
        .bind(ids)
        .execute(store.pool())
        .await
        .unwrap();
    assert_eq!(store.rescue_expired(5).await.unwrap(), (ids.len() as u64, 0));
}
