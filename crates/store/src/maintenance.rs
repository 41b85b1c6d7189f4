//! Maintenance services' statements: the rescuer (expired leases) and the pruner (old history).
use std::time::Duration;

use chrono::{DateTime, Utc};

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

    /// Deletes up to `limit` finished jobs older than `retention`, with their callback deliveries
    /// and undo records, walking the jobs' keys from just after `from` (`PruneMark::default()`:
    /// the start); returns how many and the mark the next call resumes from. A pass calls until it
    /// returns 0, so each old key is read once per pass whatever cannot go yet. One statement,
    /// `prune_jobs` (migration 0018): it finds the jobs through `job_keys`, so that no index of
    /// `jobs` serves only the pruner.
    pub async fn prune_finished(
        &self,
        retention: Duration,
        limit: i64,
        from: &PruneMark,
    ) -> Result<(u64, PruneMark)> {
        let after = from.0.as_ref();
        let (n, bucket, created, id): (i64, Option<String>, Option<DateTime<Utc>>, Option<i64>) =
            sqlx::query_as("SELECT * FROM prune_jobs($1, $2, $3, $4, $5)")
                .bind(retention.as_secs_f64())
                .bind(i32::try_from(limit).unwrap_or(i32::MAX))
                .bind(after.map(|m| m.0.as_str()))
                .bind(after.map(|m| m.1))
                .bind(after.map(|m| m.2))
                .fetch_one(&self.pool)
                .await?;
        let mark = match (bucket, created, id) {
            (Some(bucket), Some(created), Some(id)) => PruneMark(Some((bucket, created, id))),
            _ => from.clone(),
        };
        Ok((n as u64, mark))
    }
}

/// Where a pass of the pruner has got to among the jobs' keys (bucket, created_at, id).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PruneMark(Option<(String, DateTime<Utc>, i64)>);
