//! `stowaway-bench queue`: claim→complete throughput against the raw-SQL ceiling.
use std::time::{Duration, Instant};

use serde_json::json;
use sqlx::PgPool;
use stowaway_store::{Completion, NewJob, Store};
use uuid::Uuid;

use super::{median, BelowFloor, BoxError, Scratch};

#[derive(clap::Args)]
pub struct QueueArgs {
    /// Server to benchmark on; a scratch database is created there and dropped afterwards.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    database_url: String,
    #[arg(long, default_value_t = 100_000)]
    jobs: usize,
    /// Jobs per claim statement (and per completion statement).
    #[arg(long, default_value_t = 1000)]
    batch: i64,
    /// Concurrent claim/complete loops.
    #[arg(long, default_value_t = 2)]
    workers: usize,
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Exit with status 1 (after the figures) when the median ratio stowaway / raw is below R:
    /// CI's floor against regressions of the store's claim→complete path.
    #[arg(long, value_name = "R")]
    min_ratio: Option<f64>,
}

pub async fn queue(a: QueueArgs) -> Result<(), BoxError> {
    let scratch = Scratch::create(&a.database_url, a.workers as u32 + 1).await?;
    let result = queue_runs(&a, &scratch.pool).await;
    scratch.drop_it().await?;
    result
}

async fn queue_runs(a: &QueueArgs, pool: &PgPool) -> Result<(), BoxError> {
    let store = Store::from_pool(pool.clone());
    let queue = store.ensure_queue("examplebucket-1250000000", "ap-chongqing").await?;
    sqlx::raw_sql(RAW_SCHEMA).execute(pool).await?;
    println!(
        "claim→complete, no-op job: {} jobs, {} per statement, {} workers, {} runs",
        a.jobs, a.batch, a.workers, a.runs
    );
    let (mut ours, mut raw, mut inserts) = (Vec::new(), Vec::new(), Vec::new());
    for run in 0..a.runs {
        // Alternate the order so neither side always runs on a warmer server.
        for side in if run % 2 == 0 { [0, 1] } else { [1, 0] } {
            if side == 0 {
                let (insert, work) = ours_once(a, &store, &queue.queue_id).await?;
                inserts.push(insert);
                ours.push(work);
            } else {
                raw.push(raw_once(a, pool).await?);
            }
        }
        println!("  run {}: stowaway {:.0} jobs/s, raw SQL {:.0} jobs/s", run + 1, ours[run], raw[run]);
    }
    let (o, r) = (median(&mut ours), median(&mut raw));
    let ratio = o / r;
    println!("stowaway claim→complete: median {o:.0} jobs/s");
    println!("raw SQL baseline:        median {r:.0} jobs/s");
    println!("ratio stowaway / raw:    {ratio:.2}");
    println!("stowaway batch insert:   median {:.0} jobs/s (1,000 per statement)", median(&mut inserts));
    match a.min_ratio {
        Some(floor) if ratio.is_nan() || ratio < floor => Err(BelowFloor(format!(
            "queue: median ratio stowaway / raw {ratio:.3} is below --min-ratio {floor} \
             ({o:.0} against {r:.0} jobs/s)"
        ))
        .into()),
        _ => Ok(()),
    }
}

/// Inserts `jobs` through the store, then drains them with `workers` claim/complete loops.
/// Returns (insert jobs/s, work jobs/s).
async fn ours_once(a: &QueueArgs, store: &Store, queue_id: &str) -> Result<(f64, f64), BoxError> {
    sqlx::query("TRUNCATE jobs, deliveries").execute(store.pool()).await?;
    let started = Instant::now();
    for chunk in (0..a.jobs).collect::<Vec<_>>().chunks(1000) {
        let batch: Vec<NewJob> = chunk
            .iter()
            .map(|&n| NewJob {
                job_id: format!("c{}", Uuid::new_v4().simple()),
                queue_id: queue_id.to_string(),
                bucket: "examplebucket-1250000000".into(),
                region: "ap-chongqing".into(),
                object: format!("input/{n}.png"),
                job_level: (n % 3) as i16,
                request: json!({"UserData": "bench", "JobLevel": n % 3}),
                once: false,
            })
            .collect();
        store.insert_jobs(&batch).await?;
    }
    let insert_rate = a.jobs as f64 / started.elapsed().as_secs_f64();
    prepare(store.pool(), "jobs").await?;
    let batch = a.batch;
    let work = drain(a, |_| {
        let store = store.clone();
        async move {
            let worker = Uuid::new_v4();
            let mut n = 0;
            loop {
                let claimed = store.claim(worker, batch, Duration::from_secs(300)).await?;
                if claimed.is_empty() {
                    return Ok::<usize, BoxError>(n);
                }
                let done: Vec<Completion> = claimed.iter().map(|c| Completion::success(c, None)).collect();
                n += store.complete(worker, &done).await?.len();
            }
        }
    })
    .await?;
    let finished: i64 =
        sqlx::query_scalar("SELECT count(*) FROM jobs WHERE state = 2").fetch_one(store.pool()).await?;
    if finished as usize != a.jobs {
        return Err(format!("{finished} of {} jobs finished", a.jobs).into());
    }
    Ok((insert_rate, work))
}

/// The peer benchmark's minimal table and its two statements, verbatim in shape.
const RAW_SCHEMA: &str = "
CREATE TABLE raw_jobs (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  priority smallint NOT NULL, state smallint NOT NULL DEFAULT 0, attempts int NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL DEFAULT clock_timestamp(), locked_until timestamptz,
  finished_at timestamptz, payload jsonb NOT NULL);
CREATE INDEX raw_jobs_pending_idx ON raw_jobs (priority, created_at, id) WHERE state = 0;";

async fn raw_once(a: &QueueArgs, pool: &PgPool) -> Result<f64, BoxError> {
    sqlx::query("TRUNCATE raw_jobs").execute(pool).await?;
    sqlx::query(
        "INSERT INTO raw_jobs (priority, payload)
         SELECT i % 3, jsonb_build_object('UserData', 'bench', 'JobLevel', i % 3) FROM generate_series(1, $1) i",
    )
    .bind(a.jobs as i64)
    .execute(pool)
    .await?;
    prepare(pool, "raw_jobs").await?;
    let batch = a.batch;
    drain(a, |_| {
        let pool = pool.clone();
        async move {
        let mut n = 0;
        loop {
            let ids: Vec<i64> = sqlx::query_scalar(
                "WITH c AS MATERIALIZED (
                   SELECT id FROM raw_jobs WHERE state = 0 ORDER BY priority, created_at, id
                   LIMIT $1 FOR UPDATE SKIP LOCKED),
                 u AS (
                   UPDATE raw_jobs j SET state = 1, attempts = j.attempts + 1,
                          locked_until = now() + interval '5 minutes'
                   FROM c WHERE j.id = c.id RETURNING j.id, j.payload)
                 SELECT id FROM u",
            )
            .bind(batch)
            .fetch_all(&pool)
            .await?;
            if ids.is_empty() {
                return Ok::<usize, BoxError>(n);
            }
            n += sqlx::query("UPDATE raw_jobs SET state = 2, locked_until = NULL, finished_at = now() WHERE id = ANY($1)")
                .bind(&ids)
                .execute(&pool)
                .await?
                .rows_affected() as usize;
        }
        }
    })
    .await
}

async fn prepare(pool: &PgPool, table: &str) -> Result<(), BoxError> {
    sqlx::query(&format!("ANALYZE {table}")).execute(pool).await?;
    // CHECKPOINT needs superuser; without it the comparison is still fair (both sides skip it).
    let _ = sqlx::query("CHECKPOINT").execute(pool).await;
    Ok(())
}

/// Runs `workers` copies of `body` concurrently; returns jobs/s over the slowest one.
async fn drain<F, Fut>(a: &QueueArgs, body: F) -> Result<f64, BoxError>
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = Result<usize, BoxError>> + Send + 'static,
{
    let started = Instant::now();
    let handles: Vec<_> = (0..a.workers).map(|i| tokio::spawn(body(i))).collect();
    let mut total = 0;
    for h in handles {
        total += h.await??;
    }
    if total != a.jobs {
        return Err(format!("drained {total} of {} jobs", a.jobs).into());
    }
    Ok(total as f64 / started.elapsed().as_secs_f64())
}
