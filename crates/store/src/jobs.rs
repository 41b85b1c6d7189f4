//! Submitting, claiming and completing jobs. The claim and completion paths are one statement per
//! batch: per-job transactions would cap the queue at the disk's ~280 commits/s.
use std::time::Duration;

use serde_json::Value;
use sqlx::postgres::PgRow;
use sqlx::{FromRow, Row};
use uuid::Uuid;

use crate::handoff::{Reservation, Taker};
use crate::model::{count_off_claims, enter_ready, job_state, wait_for_retry};
use crate::records::record_columns_of;
use crate::{ClaimedDelivery, JobState, Result, Store};

/// A job a worker now holds under a lease.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Claimed {
    pub id: i64,
    pub job_id: String,
    pub attempt: i32,
    pub bucket: String,
    pub region: String,
    pub object: String,
    pub request: Value,
    /// A verdict an earlier attempt recorded with [`Store::checkpoint`] before it died.
    pub result: Option<Value>,
    /// Times the job was handed back because the object store could not be reached.
    pub retries: i32,
    /// When it first could not reach the store: its retries are budgeted in time from then.
    pub retrying_since: Option<chrono::DateTime<chrono::Utc>>,
}

/// What became of a checkpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Checkpoint {
    /// Recorded: act on it.
    Held,
    /// The job was cancelled while it ran: do not act; its completion ends it Cancel.
    Cancelled,
    /// Another worker holds the job now.
    Lost,
}

/// A worker's verdict on a claimed job.
#[derive(Clone, Debug)]
pub struct Completion {
    pub id: i64,
    pub attempt: i32,
    /// `Success`, `Failed`, or `Retrying` (handed back to run again after `retry_in`).
    pub state: JobState,
    pub result: Option<Value>,
    pub error: Option<String>,
    pub retry_in: Option<Duration>,
}

impl Completion {
    /// `claimed` succeeded with `result`.
    pub fn success(claimed: &Claimed, result: Option<Value>) -> Completion {
        Completion {
            id: claimed.id,
            attempt: claimed.attempt,
            state: JobState::Success,
            result,
            error: None,
            retry_in: None,
        }
    }

    /// `claimed` could not reach the object store: hand it back to run again after `delay`.
    pub fn retry_in(claimed: &Claimed, delay: Duration, error: impl Into<String>) -> Completion {
        Completion {
            id: claimed.id,
            attempt: claimed.attempt,
            state: JobState::Retrying,
            result: None,
            error: Some(error.into()),
            retry_in: Some(delay),
        }
    }

    /// `claimed` failed: `error` is kept in `last_error`, `result` is what the API shows.
    pub fn failed(claimed: &Claimed, result: Option<Value>, error: impl Into<String>) -> Completion {
        Completion {
            id: claimed.id,
            attempt: claimed.attempt,
            state: JobState::Failed,
            result,
            error: Some(error.into()),
            retry_in: None,
        }
    }
}

/// `complete`'s statement: `record_verdicts` (migration 0017: `complete_jobs` and the outbox, one
/// plan per connection), with the deliveries waiting in the outbox ($7 and $8 NULL): each job
/// completed, and whether a delivery was queued for it.
const COMPLETE: &str =
    "SELECT id, delivery_id IS NOT NULL AS queued FROM record_verdicts($1, $2, $3, $4, $5, $6, NULL, NULL)";

/// `complete`'s statement when a notifier takes the deliveries directly: they are inserted
/// leased to it ($7, for $8 s), as its claim would (Sending, attempt 1), and returned with their
/// jobs and queues' NotifyConfig as the claim returns them; one row per completed job.
static COMPLETE_HANDING_OVER: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "SELECT delivery_id, webhook_id, delivery_attempt AS attempt, schedule_from, kind, address, format,
                notify_config, sent, {}
         FROM record_verdicts($1, $2, $3, $4, $5, $6, $7, $8)",
        record_columns_of("(job)"),
    )
});

impl Store {
    /// Claims up to `k` Submitted jobs (JobLevel 2 first, then oldest) under a lease held by
    /// `worker`, in one statement (`claim_jobs`, migration 0017). The jobs come back in claim
    /// order: a worker starts them in that order.
    ///
    /// Committed without waiting for the WAL flush: a claim lost to a database crash leaves the
    /// job Submitted with its old attempt. Claimed again by another worker, the lost attempt's
    /// checkpoint and verdict fail `complete`'s fence; claimed again by the same worker, the
    /// attempt is the same, and the worker, which still runs it, does not start it twice. A
    /// checkpoint commits durably, so AutoProcess never acts on a lost claim.
    pub async fn claim(&self, worker: Uuid, k: i64, lease: Duration) -> Result<Vec<Claimed>> {
        let rows = sqlx::query("SELECT * FROM claim_jobs($1, $2, $3)")
            .bind(worker)
            .bind(i32::try_from(k).unwrap_or(i32::MAX))
            .bind(lease.as_secs_f64())
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(Claimed::from_row).collect::<sqlx::Result<_>>()?)
    }

    /// Records verdicts in one statement, with the jobs' callback deliveries (the outbox). Fenced:
    /// only rows still Running under this worker and attempt change, so a job the rescuer handed
    /// to another worker is not completed twice. Returns the ids that were completed. When a
    /// notifier in this process has room, the deliveries go to it directly (`handoff.rs`).
    /// Jobs handed back to retry (rare: the store was unreachable) take a statement of their own.
    ///
    /// Verdicts commit without waiting for the WAL flush (waiting for it held each callback back
    /// about 2 ms at a steady load): one lost to a database crash leaves its job leased, so the
    /// rescuer runs it again and its callback goes out again (at least once, never lost);
    /// AutoProcess acts only after a durable checkpoint, which a second run finishes from.
    pub async fn complete(&self, worker: Uuid, done: &[Completion]) -> Result<Vec<i64>> {
        if !done.iter().any(|c| c.state == JobState::Retrying) {
            return self.record_final(worker, done).await;
        }
        let (retry, finals): (Vec<Completion>, Vec<Completion>) =
            done.iter().cloned().partition(|c| c.state == JobState::Retrying);
        let mut completed = self.retry_later(worker, &retry).await?;
        if !finals.is_empty() {
            completed.extend(self.record_final(worker, &finals).await?);
        }
        Ok(completed)
    }

    /// `complete` for verdicts that end their jobs.
    async fn record_final(&self, worker: Uuid, done: &[Completion]) -> Result<Vec<i64>> {
        if let Some(reservation) = self.handoffs.deliveries.reserve(done.len()) {
            return self.complete_handing_over(worker, done, reservation).await;
        }
        let rows = self.record_verdicts(COMPLETE, worker, done, None).await?;
        let completed: Vec<(i64, bool)> =
            rows.iter().map(<(i64, bool)>::from_row).collect::<sqlx::Result<_>>()?;
        if completed.iter().any(|c| c.1) {
            self.wake_notifiers();
        }
        Ok(completed.into_iter().map(|c| c.0).collect())
    }

    /// `complete`, inserting the deliveries leased to the reservation's notifier (as its claim
    /// would: Sending, attempt 1) and handing them over once committed. A delivery whose row
    /// cannot be read is released to the outbox.
    async fn complete_handing_over(
        &self,
        worker: Uuid,
        done: &[Completion],
        reservation: Reservation<ClaimedDelivery>,
    ) -> Result<Vec<i64>> {
        let taker = reservation.taker.clone();
        let rows = self.record_verdicts(&COMPLETE_HANDING_OVER, worker, done, Some(&taker)).await?;
        let (mut completed, mut deliveries, mut unread) =
            (Vec::with_capacity(rows.len()), Vec::new(), Vec::new());
        for row in &rows {
            completed.push(row.try_get("id")?);
            if let Some(id) = row.try_get::<Option<i64>, _>("delivery_id")? {
                match ClaimedDelivery::from_row(row) {
                    Ok(d) => deliveries.push(d),
                    Err(e) => {
                        tracing::error!(error = %e, delivery = id, "a handed-over delivery could not be read");
                        unread.push(id);
                    }
                }
            }
        }
        unread.extend(reservation.hand_over(deliveries));
        if !unread.is_empty() {
            if let Err(e) = self.release_deliveries(taker.holder, &unread).await {
                tracing::error!(error = %e, "could not hand callbacks back; the rescuer will");
            }
        }
        Ok(completed)
    }

    /// Runs one of `complete`'s statements with the verdicts (and the direct taker) bound. The
    /// function's plan is generic (made once per connection), and pinned so that any batch
    /// size is right: see migration 0017.
    async fn record_verdicts(
        &self,
        statement: &str,
        worker: Uuid,
        done: &[Completion],
        taker: Option<&Taker<ClaimedDelivery>>,
    ) -> Result<Vec<PgRow>> {
        let mut query = sqlx::query(statement)
            .bind(done.iter().map(|c| c.id).collect::<Vec<_>>())
            .bind(done.iter().map(|c| c.attempt).collect::<Vec<_>>())
            .bind(done.iter().map(|c| c.state as i16).collect::<Vec<_>>())
            .bind(done.iter().map(|c| c.result.clone()).collect::<Vec<_>>())
            .bind(done.iter().map(|c| c.error.clone()).collect::<Vec<_>>())
            .bind(worker);
        if let Some(t) = taker {
            query = query.bind(t.holder).bind(t.lease.as_secs_f64());
        }
        query.fetch_all(&self.pool).await.map_err(crate::Error::from)
    }

    /// Hands jobs back to wait for their `retry_in` (Retrying), fenced like `complete`; the
    /// scheduler (`promote_due_retries`) returns them to the queue when due.
    async fn retry_later(&self, worker: Uuid, retry: &[Completion]) -> Result<Vec<i64>> {
        sqlx::query_scalar(concat!(
            "WITH done AS (
                 UPDATE jobs j SET state = ",
            job_state!(Retrying),
            ", retry_at = now() + make_interval(secs => r.delay), retries = j.retries + 1,
                        retrying_since = coalesce(j.retrying_since, now()), last_error = r.error,
                        locked_by = NULL, locked_until = NULL
                 FROM unnest($1::int8[], $2::int4[], $3::float8[], $4::text[]) AS r(id, attempt, delay, error)
                 WHERE j.id = r.id AND j.attempt = r.attempt AND j.locked_by = $5 AND j.state = ",
            job_state!(Running),
            " RETURNING j.id, j.retry_at, j.claim_id), ",
            wait_for_retry!("done"),
            ", ",
            count_off_claims!("done"),
            " SELECT id FROM done"
        ))
        .bind(retry.iter().map(|c| c.id).collect::<Vec<_>>())
        .bind(retry.iter().map(|c| c.attempt).collect::<Vec<_>>())
        .bind(retry.iter().map(|c| c.retry_in.unwrap_or_default().as_secs_f64()).collect::<Vec<_>>())
        .bind(retry.iter().map(|c| c.error.clone()).collect::<Vec<_>>())
        .bind(worker)
        .fetch_all(&self.pool)
        .await
        .map_err(crate::Error::from)
    }

    /// Records a verdict on a job still held (fenced like `complete`) before acting on it, so an
    /// attempt after a crash does not need the object the first attempt already moved or deleted.
    /// A job cancelled meanwhile records nothing: it must not act (`cancel_jobs`).
    pub async fn checkpoint(
        &self,
        worker: Uuid,
        id: i64,
        attempt: i32,
        result: &Value,
    ) -> Result<Checkpoint> {
        let cancelled: Option<bool> = sqlx::query_scalar(concat!(
            "UPDATE jobs SET result = CASE WHEN cancel_requested THEN result ELSE $4 END
             WHERE id = $1 AND attempt = $2 AND locked_by = $3 AND state = ",
            job_state!(Running),
            " RETURNING cancel_requested"
        ))
        .bind(id)
        .bind(attempt)
        .bind(worker)
        .bind(result)
        .fetch_optional(&self.pool)
        .await?;
        Ok(match cancelled {
            None => Checkpoint::Lost,
            Some(true) => Checkpoint::Cancelled,
            Some(false) => Checkpoint::Held,
        })
    }

    /// Extends the lease on jobs this worker still holds; returns the ids it still holds.
    pub async fn heartbeat(&self, worker: Uuid, ids: &[i64], lease: Duration) -> Result<Vec<i64>> {
        sqlx::query_scalar(concat!(
            "UPDATE jobs SET locked_until = now() + make_interval(secs => $3)
                 WHERE id = ANY($1) AND locked_by = $2 AND state = ",
            job_state!(Running),
            " RETURNING id"
        ))
        .bind(ids)
        .bind(worker)
        .bind(lease.as_secs_f64())
        .fetch_all(&self.pool)
        .await
        .map_err(crate::Error::from)
    }

    /// Hands jobs back unstarted (graceful shutdown): Running → Submitted (Pause if the queue is
    /// paused). A hand-back, not a loss: it does not spend the rescuer's budget (`retries`).
    pub async fn release(&self, worker: Uuid, ids: &[i64]) -> Result<u64> {
        let released: i64 = sqlx::query_scalar(concat!(
            "WITH done AS (
                 UPDATE jobs j SET state = CASE WHEN q.paused THEN ",
            job_state!(Pause),
            " ELSE ",
            job_state!(Submitted),
            " END, locked_by = NULL, locked_until = NULL, retries = j.retries + 1
                 FROM queues q
                 WHERE q.queue_id = j.queue_id AND j.id = ANY($1) AND j.locked_by = $2 AND j.state = ",
            job_state!(Running),
            " RETURNING j.id, j.state, j.job_level, j.created_at, j.claim_id), ",
            enter_ready!("done"),
            ", ",
            count_off_claims!("done"),
            " SELECT count(*) FROM done"
        ))
        .bind(ids)
        .bind(worker)
        .fetch_one(&self.pool)
        .await?;
        if released > 0 {
            self.wake_workers();
        }
        Ok(released as u64)
    }

    /// The state of each job id that exists.
    pub async fn states(&self, job_ids: &[String]) -> Result<Vec<(String, JobState)>> {
        let rows: Vec<(String, i16)> =
            sqlx::query_as("SELECT job_id, state FROM jobs WHERE job_id = ANY($1)")
                .bind(job_ids)
                .fetch_all(&self.pool)
                .await?;
        Ok(rows.into_iter().filter_map(|(id, s)| Some((id, JobState::from_i16(s)?))).collect())
    }
}
