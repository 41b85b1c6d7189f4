//! What operators undid: a job's AutoProcess reversed after a false alarm (`migrations/0014`).
use chrono::{DateTime, Utc};

use crate::{Result, Store};

/// One job's undo.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct Undo {
    /// `Restored` (copied back from the backup) or `MadePublic`.
    pub action: String,
    /// The SecretId that asked, when requests are authenticated.
    pub by_key: Option<String>,
    pub at: DateTime<Utc>,
}

impl Store {
    /// Records that the bucket's job `job_id` was undone; the first record stays (undoing twice
    /// is one undo). The record now held, or `None` for an unknown job.
    pub async fn record_undo(
        &self,
        bucket: &str,
        job_id: &str,
        action: &str,
        by: Option<&str>,
    ) -> Result<Option<Undo>> {
        let undo = sqlx::query_as(
            "WITH j AS (SELECT id FROM jobs WHERE bucket = $1 AND job_id = $2),
                  ins AS (INSERT INTO undos (job_id, action, by_key) SELECT id, $3, $4 FROM j
                          ON CONFLICT (job_id) DO NOTHING RETURNING action, by_key, at)
             SELECT action, by_key, at FROM ins
             UNION ALL SELECT u.action, u.by_key, u.at FROM undos u JOIN j ON u.job_id = j.id
             LIMIT 1",
        )
        .bind(bucket)
        .bind(job_id)
        .bind(action)
        .bind(by)
        .fetch_optional(&self.pool)
        .await?;
        Ok(undo)
    }

    /// The bucket's job's undo, if it was undone.
    pub async fn undo_of(&self, bucket: &str, job_id: &str) -> Result<Option<Undo>> {
        let undo = sqlx::query_as(
            "SELECT u.action, u.by_key, u.at FROM undos u JOIN jobs k ON k.id = u.job_id
             WHERE k.bucket = $1 AND k.job_id = $2",
        )
        .bind(bucket)
        .bind(job_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(undo)
    }
}
