//! Maintenance services' statements: the rescuer (expired leases) and the pruner (old history).
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::model::{count_off_claims, enter_ready, held_by_claim, job_state, running_under_claims};
use crate::outbox::QUEUE_DELIVERIES;
use crate::{JobState, Result, Store};

impl Store {
    /// Returns Running jobs whose lease expired (their worker died) to their queue (Submitted, or
    /// Pause if the queue is paused), or fails them once they have been lost `max_attempts` times
    /// (attempts handed back for a storage outage do not count), and wakes the workers; a failed
    /// job's callback is queued with it. Returns (rescued, failed).
    pub async fn rescue_expired(&self, max_attempts: i32) -> Result<(u64, u64)> {
        let mut tx = self.pool.begin().await?;
        no_jit(&mut tx).await?;
        let rows: Vec<(i16, bool)> = sqlx::query_as(&format!(
            "WITH expired AS (SELECT r.id FROM {held}),
             done AS (
                 UPDATE jobs j SET
                     state = CASE WHEN j.attempt - j.retries >= $1 THEN {failed} WHEN q.paused THEN {pause}
                                  ELSE {submitted} END,
                     finished_at = CASE WHEN j.attempt - j.retries >= $1 THEN now() END,
                     last_error = CASE WHEN j.attempt - j.retries >= $1
                         THEN 'worker lost the job ' || j.attempt - j.retries || ' times'
                         ELSE j.last_error END,
                     locked_by = NULL, locked_until = NULL
                 FROM queues q
                 WHERE q.queue_id = j.queue_id AND j.id = ANY(ARRAY(SELECT id FROM expired))
                   AND j.state = {running} AND j.locked_until < now()
                 RETURNING j.id, j.queue_id, j.request, j.state, j.job_level, j.created_at, j.claim_id),
             {ready}, {counted}, {QUEUE_DELIVERIES}
             SELECT state, EXISTS (SELECT 1 FROM queued) FROM done",
            failed = job_state!(Failed),
            pause = job_state!(Pause),
            submitted = job_state!(Submitted),
            running = job_state!(Running),
            held = running_under_claims!(" AND j.locked_until < now()"),
            ready = enter_ready!("done"),
            counted = count_off_claims!("done"),
        ))
        .bind(max_attempts)
        .fetch_all(&mut *tx)
        .await?;
        drop_finished_claims(&mut tx).await?;
        tx.commit().await?;
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
        let promoted: i64 = sqlx::query_scalar(concat!(
            "WITH due AS (DELETE FROM job_retries WHERE retry_at <= now() RETURNING id),
             done AS (
                 UPDATE jobs j SET state = CASE WHEN q.paused THEN ",
            job_state!(Pause),
            " ELSE ",
            job_state!(Submitted),
            " END, retry_at = NULL
                 FROM queues q
                 WHERE q.queue_id = j.queue_id AND j.id = ANY(ARRAY(SELECT id FROM due)) AND j.state = ",
            job_state!(Retrying),
            " RETURNING j.id, j.state, j.job_level, j.created_at), ",
            enter_ready!("done"),
            " SELECT count(*) FROM done"
        ))
        .fetch_one(&self.pool)
        .await?;
        if promoted > 0 {
            self.wake_workers();
        }
        Ok(promoted as u64)
    }

    /// Deletes up to `limit` finished jobs older than `retention`, with their callback deliveries
    /// and undo records, walking the jobs' keys from just after `from` (`PruneMark::default()`:
    /// the start); returns how many and the mark the next call resumes from. A pass calls until it
    /// returns 0, so each old key is read once per pass whatever cannot go yet. One statement,
    /// `prune_jobs` (migrations 0018, 0019): it walks the bucket-and-time index the listing
    /// reads, so that no index of `jobs` serves only the pruner.
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

/// Deletes the claims whose jobs have all left Running: counted down to 0 by the statements
/// that moved them, or, should one of those be missed (a job changed by hand), found with no
/// job still Running under them; the latter reads the jobs of every claim held, those in flight.
async fn drop_finished_claims(tx: &mut sqlx::PgConnection) -> Result<()> {
    sqlx::query(concat!(
        "DELETE FROM job_claims c WHERE c.running <= 0 OR NOT EXISTS (SELECT 1 FROM jobs j WHERE ",
        held_by_claim!(),
        ")"
    ))
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// The maintenance statements read every claim held, so the planner's estimates for them grow
/// with the rate; JIT-compiling them (at estimates past `jit_above_cost`) cost more than they run.
pub(crate) async fn no_jit(tx: &mut sqlx::PgConnection) -> Result<()> {
    sqlx::query("SET LOCAL jit = off").execute(&mut *tx).await?;
    Ok(())
}
