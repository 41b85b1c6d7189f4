//! Queues: one per bucket (`queue-pic-process-1`), created on first use, pausable.
use crate::jobs::QUEUE_LOCK_NS;
use crate::{Result, Store};

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Queue {
    pub queue_id: String,
    pub bucket: String,
    pub name: String,
    pub paused: bool,
    pub notify_config: Option<serde_json::Value>,
}

impl Store {
    /// The bucket's queue, created (with a fresh `p` + 32 hex id) if it does not exist yet.
    pub async fn ensure_queue(&self, bucket: &str) -> Result<Queue> {
        let new_id = format!("p{}", uuid::Uuid::new_v4().simple());
        sqlx::query(
            "INSERT INTO queues (queue_id, bucket, name) VALUES ($1, $2, 'queue-pic-process-1')
             ON CONFLICT (bucket) DO NOTHING",
        )
        .bind(&new_id)
        .bind(bucket)
        .execute(&self.pool)
        .await?;
        sqlx::query_as("SELECT queue_id, bucket, name, paused, notify_config FROM queues WHERE bucket = $1")
            .bind(bucket)
            .fetch_one(&self.pool)
            .await
    }

    /// Pauses or resumes a queue. Pausing turns its Submitted jobs into Pause so they are not
    /// started; resuming turns them back. Waits for in-flight submits to that queue to commit.
    pub async fn set_paused(&self, queue_id: &str, paused: bool) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1, hashtext($2))")
            .bind(QUEUE_LOCK_NS)
            .bind(queue_id)
            .execute(&mut *tx)
            .await?;
        let found = sqlx::query("UPDATE queues SET paused = $2, updated_at = now() WHERE queue_id = $1")
            .bind(queue_id)
            .bind(paused)
            .execute(&mut *tx)
            .await?
            .rows_affected()
            > 0;
        let (from, to): (i16, i16) = if paused { (0, 5) } else { (5, 0) };
        sqlx::query("UPDATE jobs SET state = $3 WHERE queue_id = $1 AND state = $2")
            .bind(queue_id)
            .bind(from)
            .bind(to)
            .execute(&mut *tx)
            .await?;
        if !paused {
            sqlx::query("SELECT pg_notify($1, '')").bind(crate::JOBS_CHANNEL).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(found)
    }
}
