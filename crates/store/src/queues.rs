//! Queues: one per bucket (`queue-pic-process-1`), created on first use or activation, pausable.
use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::model::{enter_ready, job_state};
use crate::submit::QUEUE_LOCK_NS;
use crate::{Result, Store};

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Queue {
    pub queue_id: String,
    pub bucket: String,
    pub region: String,
    pub name: String,
    pub paused: bool,
    pub activated: bool,
    pub notify_config: Option<Value>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A pause: the queue's Submitted jobs leave the claim order, then wait as Pause. The claim
/// order's rows are taken first, as a claim takes them, so that a pause and a claim never wait
/// for each other's rows in turn. Returns how many.
const PAUSE_JOBS: &str = concat!(
    "WITH unready AS (DELETE FROM job_ready x USING jobs j WHERE x.id = j.id AND j.queue_id = $1 RETURNING x.id),
     done AS (UPDATE jobs SET state = ",
    job_state!(Pause),
    " WHERE id = ANY(ARRAY(SELECT id FROM unready)) AND state = ",
    job_state!(Submitted),
    " RETURNING id)
     SELECT count(*) FROM done"
);

/// A resume: the queue's paused jobs are Submitted again, in the claim order. Returns how many.
const RESUME_JOBS: &str = concat!(
    "WITH done AS (UPDATE jobs SET state = ",
    job_state!(Submitted),
    " WHERE queue_id = $1 AND state = ",
    job_state!(Pause),
    " RETURNING id, state, job_level, created_at), ",
    enter_ready!("done"),
    " SELECT count(*) FROM done"
);

const QUEUE_COLUMNS: &str =
    "queue_id, bucket, region, name, paused, activated, notify_config, created_at, updated_at";

/// A change to a queue (`PUT /picqueue/<id>`); `None` keeps the current value.
#[derive(Clone, Debug, Default)]
pub struct QueueChange {
    pub name: Option<String>,
    pub paused: Option<bool>,
    pub notify_config: Option<Value>,
}

impl Store {
    /// The bucket's queue, created (with a fresh `p` + 32 hex id) if it does not exist yet.
    pub async fn ensure_queue(&self, bucket: &str, region: &str) -> Result<Queue> {
        let new_id = format!("p{}", uuid::Uuid::new_v4().simple());
        sqlx::query(
            "INSERT INTO queues (queue_id, bucket, region, name) VALUES ($1, $2, $3, 'queue-pic-process-1')
             ON CONFLICT (bucket) DO NOTHING",
        )
        .bind(&new_id)
        .bind(bucket)
        .bind(region)
        .execute(&self.pool)
        .await?;
        Ok(self.queue_of_bucket(bucket).await?.expect("inserted or existing"))
    }

    pub async fn queue_of_bucket(&self, bucket: &str) -> Result<Option<Queue>> {
        sqlx::query_as(&format!("SELECT {QUEUE_COLUMNS} FROM queues WHERE bucket = $1"))
            .bind(bucket)
            .fetch_optional(&self.pool)
            .await
            .map_err(crate::Error::from)
    }

    /// Turns image async processing on or off for a bucket (creating its queue when turning on).
    pub async fn set_activated(&self, bucket: &str, region: &str, on: bool) -> Result<Option<Queue>> {
        if on {
            self.ensure_queue(bucket, region).await?;
        }
        sqlx::query_as(&format!(
            "UPDATE queues SET activated = $2, updated_at = now() WHERE bucket = $1 RETURNING {QUEUE_COLUMNS}"
        ))
        .bind(bucket)
        .bind(on)
        .fetch_optional(&self.pool)
        .await
        .map_err(crate::Error::from)
    }

    /// Activated buckets, optionally only those in `regions`, named in `buckets`, or whose name
    /// starts with `prefix`; by bucket name.
    pub async fn activated_buckets(
        &self,
        regions: Option<&[String]>,
        buckets: Option<&[String]>,
        prefix: Option<&str>,
        offset: i64,
        limit: i64,
    ) -> Result<(i64, Vec<Queue>)> {
        let filter = "activated AND ($1::text[] IS NULL OR region = ANY($1))
                      AND ($2::text[] IS NULL OR bucket = ANY($2))
                      AND ($3::text IS NULL OR starts_with(bucket, $3))";
        let total: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM queues WHERE {filter}"))
            .bind(regions)
            .bind(buckets)
            .bind(prefix)
            .fetch_one(&self.pool)
            .await?;
        let rows = sqlx::query_as(&format!(
            "SELECT {QUEUE_COLUMNS} FROM queues WHERE {filter} ORDER BY bucket OFFSET $4 LIMIT $5"
        ))
        .bind(regions)
        .bind(buckets)
        .bind(prefix)
        .bind(offset)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok((total, rows))
    }

    /// Applies a change to a queue; returns the queue as it now is (None if unknown). Pausing
    /// turns its Submitted jobs into Pause so they are not started; resuming turns them back.
    /// Waits for in-flight submits to that queue to commit.
    pub async fn update_queue(&self, queue_id: &str, change: &QueueChange) -> Result<Option<Queue>> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1, hashtext($2))")
            .bind(QUEUE_LOCK_NS)
            .bind(queue_id)
            .execute(&mut *tx)
            .await?;
        let queue: Option<Queue> = sqlx::query_as(&format!(
            "UPDATE queues SET name = coalesce($2, name), paused = coalesce($3, paused),
                    notify_config = coalesce($4, notify_config), updated_at = now()
             WHERE queue_id = $1 RETURNING {QUEUE_COLUMNS}"
        ))
        .bind(queue_id)
        .bind(&change.name)
        .bind(change.paused)
        .bind(&change.notify_config)
        .fetch_optional(&mut *tx)
        .await?;
        let mut resumed = false;
        if let (Some(_), Some(paused)) = (&queue, change.paused) {
            let moved: i64 = sqlx::query_scalar(if paused { PAUSE_JOBS } else { RESUME_JOBS })
                .bind(queue_id)
                .fetch_one(&mut *tx)
                .await?;
            resumed = !paused && moved > 0;
        }
        tx.commit().await?;
        if resumed {
            self.wake_workers();
        }
        Ok(queue)
    }

    /// Pauses or resumes a queue; false if there is no such queue.
    pub async fn set_paused(&self, queue_id: &str, paused: bool) -> Result<bool> {
        let change = QueueChange { paused: Some(paused), ..QueueChange::default() };
        Ok(self.update_queue(queue_id, &change).await?.is_some())
    }
}
