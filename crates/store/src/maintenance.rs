//! Maintenance services' statements: the rescuer (expired leases) and the pruner (old history).
use std::time::Duration;

use crate::model::job_state;
use crate::outbox::QUEUE_DELIVERIES;
use crate::{JobState, Result, Store};

impl Store {
    /// Returns Running jobs whose lease expired (their worker died) to their queue (Submitted, or
    /// Pause if the queue is paused), or fails them once they have been lost `max_attempts` times
    /// (attempts handed back for a storage outage do not count), and wakes the workers; a failed
    /// job's callback is queued with it. Returns (rescued, failed).
    pub async fn rescue_expired(&self, max_attempts: i32) -> Result<(u64, u64)> {
        let rows: Vec<(i16, bool)> = sqlx::query_as(&format!(
            "WITH done AS (
                 UPDATE jobs j SET
                     state = CASE WHEN j.attempt - j.retries >= $1 THEN {failed} WHEN q.paused THEN {pause}
                                  ELSE {submitted} END,
                     finished_at = CASE WHEN j.attempt - j.retries >= $1 THEN now() END,
                     last_error = CASE WHEN j.attempt - j.retries >= $1
                         THEN 'worker lost the job ' || j.attempt - j.retries || ' times'
                         ELSE j.last_error END,
                     locked_by = NULL, locked_until = NULL
                 FROM queues q
                 WHERE q.queue_id = j.queue_id AND j.state = {running} AND j.locked_until < now()
                 RETURNING j.id, j.queue_id, j.request, j.state),
             {QUEUE_DELIVERIES}
             SELECT state, EXISTS (SELECT 1 FROM queued) FROM done",
            failed = job_state!(Failed),
            pause = job_state!(Pause),
            submitted = job_state!(Submitted),
            running = job_state!(Running),
        ))
        .bind(max_attempts)
        .fetch_all(&self.pool)
        .await?;
        let failed = rows.iter().filter(|r| r.0 == JobState::Failed as i16).count() as u64;
        if rows.iter().any(|r| r.0 == JobState::Submitted as i16) {
            self.wake_workers();
        }
        if rows.iter().any(|r| r.1) {
            self.wake_notifiers();
        }
        Ok((rows.len() as u64 - failed, failed))
    }

    /// Returns jobs whose retry is due (Retrying, `retry_at` passed) to their queue (Submitted, or
    /// Pause if the queue is paused) and wakes the workers. Returns how many.
    pub async fn promote_due_retries(&self) -> Result<u64> {
        let r = sqlx::query(concat!(
            "UPDATE jobs j SET state = CASE WHEN q.paused THEN ",
            job_state!(Pause),
            " ELSE ",
            job_state!(Submitted),
            " END, retry_at = NULL
             FROM queues q
             WHERE q.queue_id = j.queue_id AND j.state = ",
            job_state!(Retrying),
            " AND j.retry_at <= now()"
        ))
        .execute(&self.pool)
        .await?;
        if r.rows_affected() > 0 {
            self.wake_workers();
        }
        Ok(r.rows_affected())
    }

    /// Deletes up to `limit` finished jobs older than `retention`, with their callback deliveries;
    /// call until it returns 0. One statement, `prune_jobs` (migration 0018): it finds them
    /// through `job_keys`, so that no index of `jobs` serves only the pruner.
    pub async fn prune_finished(&self, retention: Duration, limit: i64) -> Result<u64> {
        let n: i64 = sqlx::query_scalar("SELECT prune_jobs($1, $2)")
            .bind(retention.as_secs_f64())
            .bind(i32::try_from(limit).unwrap_or(i32::MAX))
            .fetch_one(&self.pool)
            .await?;
        Ok(n as u64)
    }
}
