//! `stowaway-bench e2e`: ImageInspect jobs/s through the whole worker path (claim, S3 fetch,
//! detector, verdict recorded) on small images, against the same fetches and inspections done by
//! plain tasks without the queue, on the same S3 server in the same process.
use std::sync::Arc;
use std::time::{Duration, Instant};

use stowaway_objects::{ObjectStoreConfig, Objects};
use stowaway_store::{NewJob, Store};
use stowaway_wire::SubmitRequest;
use stowaway_worker::{run_worker, JobContext, WorkerConfig};
use tokio::sync::{watch, Semaphore};
use uuid::Uuid;

use super::{median, BoxError, Scratch};

#[derive(clap::Args)]
pub struct E2eArgs {
    /// Server to benchmark on; a scratch database is created there and dropped afterwards.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    database_url: String,
    /// Jobs per run (half clean PNGs, half PNGs carrying MPEG-TS; a few KB each).
    #[arg(long, default_value_t = 2000)]
    jobs: usize,
    /// Worker concurrency (and the baseline's).
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Also run the worker with verdict tags on, alternated with it off (needs a store with
    /// object tags: moto, MinIO, AWS).
    #[arg(long)]
    tags: bool,
}

impl E2eArgs {
    /// The settings `through_queue` reads, for another benchmark's baseline.
    pub(crate) fn with(database_url: &str, jobs: usize, concurrency: usize) -> E2eArgs {
        E2eArgs { database_url: database_url.into(), jobs, concurrency, runs: 1, tags: false }
    }
}

pub async fn e2e(a: E2eArgs) -> Result<(), BoxError> {
    let s3 = ObjectStoreConfig::from_env()?;
    let objects = Objects::new(&s3);
    let scratch = Scratch::create(&a.database_url, 8).await?;
    let result = runs(&a, &scratch, &objects, &s3).await;
    scratch.drop_it().await?;
    result
}

async fn runs(
    a: &E2eArgs,
    scratch: &Scratch,
    objects: &Objects,
    s3: &ObjectStoreConfig,
) -> Result<(), BoxError> {
    let bucket = format!("bench{}-1250000000", std::process::id());
    objects.create_bucket(&bucket).await.map_err(|e| format!("{}: {}", e.code, e.message))?;
    let keys: Vec<String> = (0..a.jobs).map(|i| format!("bench/{i}.png")).collect();
    for (i, key) in keys.iter().enumerate() {
        let body = if i % 2 == 0 { stowaway_testkit::clean_png() } else { stowaway_testkit::png_with_ts(20) };
        objects.put(&bucket, key, body).await.map_err(|e| format!("{}: {}", e.code, e.message))?;
    }
    let store = Store::from_pool(scratch.pool.clone());
    let queue = store.ensure_queue(&bucket, "ap-chongqing").await?;
    println!(
        "ImageInspect end to end: {} small images from {}, concurrency {}, {} runs",
        a.jobs,
        s3.endpoint.as_deref().unwrap_or("AWS"),
        a.concurrency,
        a.runs
    );
    let (mut ours, mut tagged, mut plain) = (Vec::new(), Vec::new(), Vec::new());
    let mut sides = vec![0, 1];
    if a.tags {
        sides.push(2);
    }
    for run in 0..a.runs {
        for &side in &sides {
            match side {
                0 => ours
                    .push(through_queue(a, false, &store, objects, &bucket, &queue.queue_id, &keys).await?),
                1 => plain.push(without_queue(a, objects, &bucket, &keys).await?),
                _ => tagged
                    .push(through_queue(a, true, &store, objects, &bucket, &queue.queue_id, &keys).await?),
            }
        }
        sides.reverse();
        let with_tags =
            tagged.get(run).map(|t| format!(", with verdict tags {t:.0} jobs/s")).unwrap_or_default();
        println!(
            "  run {}: stowaway {:.0} jobs/s{with_tags}, fetch+inspect alone {:.0} /s",
            run + 1,
            ours[run],
            plain[run]
        );
    }
    let (o, p) = (median(&mut ours), median(&mut plain));
    println!("stowaway end to end:     median {o:.0} jobs/s");
    println!("fetch+inspect, no queue: median {p:.0} /s");
    println!("ratio:                   {:.2}", o / p);
    if a.tags {
        let t = median(&mut tagged);
        println!("with verdict tags:       median {t:.0} jobs/s, {:.2} of without", t / o);
    }
    Ok(())
}

/// A worker's context for the benchmarks (AutoProcess acts on every suspicious verdict).
pub(crate) fn bench_context(store: &Store, objects: &Objects, tag_objects: bool) -> JobContext {
    JobContext {
        store: store.clone(),
        objects: objects.clone(),
        worker: Uuid::new_v4(),
        object_url_base: "http://bench".into(),
        min_confidence: stowaway_detect::Confidence::Possible,
        tag_objects,
        retry_for: stowaway_worker::inspect_job::DEFAULT_RETRY_FOR,
    }
}

pub(crate) async fn through_queue(
    a: &E2eArgs,
    tag_objects: bool,
    store: &Store,
    objects: &Objects,
    bucket: &str,
    queue_id: &str,
    keys: &[String],
) -> Result<f64, BoxError> {
    sqlx::query("TRUNCATE jobs, deliveries").execute(store.pool()).await?;
    let jobs: Vec<NewJob> = keys
        .iter()
        .map(|key| {
            let request = SubmitRequest { object: key.clone(), ..SubmitRequest::default() };
            NewJob {
                job_id: format!("c{}", Uuid::new_v4().simple()),
                queue_id: queue_id.into(),
                bucket: bucket.into(),
                region: "ap-chongqing".into(),
                object: key.clone(),
                job_level: 0,
                request: serde_json::to_value(request).expect("plain data"),
                once: false,
            }
        })
        .collect();
    // The clock starts with the jobs already queued: this measures the worker path.
    for chunk in jobs.chunks(1000) {
        store.insert_jobs(chunk).await?;
    }
    let cfg = WorkerConfig { concurrency: a.concurrency, ..WorkerConfig::default() };
    let (stop, stopped) = watch::channel(false);
    let started = Instant::now();
    let worker = tokio::spawn(run_worker(bench_context(store, objects, tag_objects), cfg, stopped));
    // Done when no job waits or runs: two probes of the state machine's small tables (migration
    // 0019), so that watching costs the database next to nothing (a probe of `jobs` by state
    // reads the whole table: 2 ms every 5 ms, a fifth of PostgreSQL's time in the run).
    loop {
        let left: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM job_ready) OR EXISTS (SELECT 1 FROM job_claims WHERE running > 0)",
        )
        .fetch_one(store.pool())
        .await?;
        if !left {
            break;
        }
        // No rescuer runs here: a claim never counted down would keep the loop waiting for ever.
        if started.elapsed() > Duration::from_secs(300) {
            let _ = stop.send(true);
            return Err("jobs still waiting or running after 300 s".into());
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let rate = keys.len() as f64 / started.elapsed().as_secs_f64();
    let _ = stop.send(true);
    worker.await?;
    let finished: i64 =
        sqlx::query_scalar("SELECT count(*) FROM jobs WHERE state IN (2, 3)").fetch_one(store.pool()).await?;
    if finished as usize != keys.len() {
        return Err(format!("{finished} of {} jobs finished", keys.len()).into());
    }
    let failed: i64 =
        sqlx::query_scalar("SELECT count(*) FROM jobs WHERE state = 3").fetch_one(store.pool()).await?;
    if failed > 0 {
        return Err(format!("{failed} jobs failed").into());
    }
    let tagged: i64 =
        sqlx::query_scalar("SELECT count(*) FROM jobs WHERE result #>> '{TaggingResult,Code}' = 'Success'")
            .fetch_one(store.pool())
            .await?;
    if tag_objects && tagged as usize != keys.len() {
        return Err(format!("{tagged} of {} jobs tagged their object", keys.len()).into());
    }
    Ok(rate)
}

async fn without_queue(
    a: &E2eArgs,
    objects: &Objects,
    bucket: &str,
    keys: &[String],
) -> Result<f64, BoxError> {
    let permits = Arc::new(Semaphore::new(a.concurrency));
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for key in keys {
        let (objects, bucket, key) = (objects.clone(), bucket.to_string(), key.clone());
        let permit = permits.clone().acquire_owned().await?;
        tasks.spawn(async move {
            let _permit = permit;
            let data =
                objects.fetch(&bucket, &key).await.map_err(|e| format!("{}: {}", e.code, e.message))?;
            let report = tokio::task::spawn_blocking(move || stowaway_detect::inspect(&data)).await?;
            Ok::<bool, BoxError>(report.suspicious())
        });
    }
    while let Some(r) = tasks.join_next().await {
        r??;
    }
    Ok(keys.len() as f64 / started.elapsed().as_secs_f64())
}
