//! Submitting jobs: one statement per batch (`submit_jobs`, migrations 0005 and 0006), which
//! takes the queues' locks and inserts. While the worker in this process has room, the batch's
//! jobs are inserted already claimed by it and handed over once committed (`handoff.rs`), so a
//! job starts without a wake-up and a claim round trip.
use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::handoff::Reservation;
use crate::{Claimed, JobState, Result, Store};

/// A job to submit. `request` holds the Operation and callback settings as the API parsed them.
#[derive(Clone, Debug)]
pub struct NewJob {
    pub job_id: String,
    pub queue_id: String,
    pub bucket: String,
    pub region: String,
    pub object: String,
    pub job_level: i16,
    pub request: Value,
}

/// Advisory-lock namespace for queues: submits hold it shared, pausing holds it exclusively, so a
/// submit racing a pause cannot leave a Submitted job in a paused queue.
pub(crate) const QUEUE_LOCK_NS: i32 = 0x5707;

impl Store {
    /// Inserts jobs in one call; jobs into a paused queue start as Pause. The others start
    /// Running under the worker in this process if it has room for the whole batch (it then runs
    /// them at once), else Submitted, and the workers are woken. Returns (job_id, state,
    /// created_at) in input order.
    pub async fn insert_jobs(&self, jobs: &[NewJob]) -> Result<Vec<(String, JobState, DateTime<Utc>)>> {
        let reservation = self.handoffs.jobs.reserve(jobs.len());
        let (worker, lease) = match &reservation {
            Some(r) => (Some(r.taker.holder), r.taker.lease.as_secs_f64()),
            None => (None, 0.0),
        };
        let col = |f: fn(&NewJob) -> String| jobs.iter().map(f).collect::<Vec<_>>();
        let rows: Vec<(String, i16, DateTime<Utc>, i64)> =
            sqlx::query_as("SELECT * FROM submit_jobs($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)")
                .bind(QUEUE_LOCK_NS)
                .bind(worker)
                .bind(lease)
                .bind(col(|j| j.job_id.clone()))
                .bind(col(|j| j.queue_id.clone()))
                .bind(col(|j| j.bucket.clone()))
                .bind(col(|j| j.region.clone()))
                .bind(col(|j| j.object.clone()))
                .bind(jobs.iter().map(|j| j.job_level).collect::<Vec<_>>())
                .bind(jobs.iter().map(|j| j.request.clone()).collect::<Vec<_>>())
                .fetch_all(&self.pool)
                .await?;
        if let Some(reservation) = reservation {
            self.hand_over_jobs(reservation, jobs, &rows).await;
        }
        if rows.iter().any(|r| r.1 == JobState::Submitted as i16) {
            self.wake_workers();
        }
        // RETURNING follows the insert order, which follows ORDER BY t.n.
        Ok(rows
            .into_iter()
            .map(|(id, s, t, _)| (id, JobState::from_i16(s).unwrap_or(JobState::Submitted), t))
            .collect())
    }

    /// Hands the jobs `submit_jobs` claimed for the reservation's worker over, as its claim
    /// would have returned them; those it will no longer take are handed back to the queue.
    async fn hand_over_jobs(
        &self,
        reservation: Reservation<Claimed>,
        jobs: &[NewJob],
        rows: &[(String, i16, DateTime<Utc>, i64)],
    ) {
        let by_id: HashMap<&str, &NewJob> = jobs.iter().map(|j| (j.job_id.as_str(), j)).collect();
        let (mut claimed, mut unsent) = (Vec::new(), Vec::new());
        for (job_id, _, _, id) in rows.iter().filter(|r| r.1 == JobState::Running as i16) {
            let Some(j) = by_id.get(job_id.as_str()) else {
                unsent.push(*id); // not one of ours: cannot be, but never leave a job leased
                continue;
            };
            claimed.push(Claimed {
                id: *id,
                job_id: j.job_id.clone(),
                attempt: 1,
                bucket: j.bucket.clone(),
                region: j.region.clone(),
                object: j.object.clone(),
                request: j.request.clone(),
                result: None,
            });
        }
        let worker = reservation.taker.holder;
        unsent.extend(reservation.hand_over(claimed));
        if !unsent.is_empty() {
            if let Err(e) = self.release(worker, &unsent).await {
                tracing::error!(error = %e, "could not hand jobs back; the rescuer will");
            }
        }
    }
}
