//! Submitting jobs: one statement per batch (`submit_jobs`, migrations 0005, 0006 and 0008), which
//! takes the queues' locks and inserts. While the worker in this process has room, the batch's
//! jobs are inserted already claimed by it and handed over once committed (`handoff.rs`), so a
//! job starts without a wake-up and a claim round trip; the worker is told of them before the
//! statement runs (`Store::tell_jobs_ahead`), so their objects' fetches overlap the commit.
use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::handoff::Reservation;
use crate::{Claimed, JobRecord, JobState, Result, Store};

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
    /// Its id is derived from what started it (an upload, a batch's object): inserted at most
    /// once, a second insert does nothing and returns no record.
    pub once: bool,
}

/// Advisory-lock namespace for queues: submits hold it shared, pausing holds it exclusively, so a
/// submit racing a pause cannot leave a Submitted job in a paused queue.
pub(crate) const QUEUE_LOCK_NS: i32 = 0x5707;

impl Store {
    /// Inserts jobs in one call; jobs into a paused queue start as Pause. The others start
    /// Running under the worker in this process if it has room for the whole batch (it then runs
    /// them at once), else Submitted, and the workers are woken. Returns the inserted jobs'
    /// records in input order, as they were committed; a job whose queue is gone (deleted
    /// meanwhile) is not inserted and has none.
    pub async fn insert_jobs(&self, jobs: &[NewJob]) -> Result<Vec<JobRecord>> {
        let reservation = self.handoffs.jobs.reserve(jobs.len());
        let (worker, lease) = match &reservation {
            Some(r) => (Some(r.taker.holder), r.taker.lease.as_secs_f64()),
            None => (None, 0.0),
        };
        if let Some(worker) = worker {
            self.handoffs.jobs_ahead.tell(worker, jobs);
        }
        let col = |f: fn(&NewJob) -> String| jobs.iter().map(f).collect::<Vec<_>>();
        let (ids, queues, buckets) =
            (col(|j| j.job_id.clone()), col(|j| j.queue_id.clone()), col(|j| j.bucket.clone()));
        let (regions, objects) = (col(|j| j.region.clone()), col(|j| j.object.clone()));
        let levels: Vec<i16> = jobs.iter().map(|j| j.job_level).collect();
        let requests: Vec<&Value> = jobs.iter().map(|j| &j.request).collect();
        // Runs whose id names their upload go in at most once (migrations 0008, 0019).
        let once = jobs.iter().any(|j| j.once);
        let statement = match once {
            false => "SELECT * FROM submit_jobs($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            true => "SELECT * FROM submit_runs($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        };
        let rows: Vec<(String, i16, DateTime<Utc>, i64)> = sqlx::query_as(statement)
            .bind(QUEUE_LOCK_NS)
            .bind(worker)
            .bind(lease)
            .bind(&ids)
            .bind(&queues)
            .bind(&buckets)
            .bind(&regions)
            .bind(&objects)
            .bind(&levels)
            .bind(&requests)
            .fetch_all(&self.pool)
            .await?;
        let mut by_id: HashMap<String, (i16, DateTime<Utc>, i64)> = rows
            .into_iter()
            .map(|(job_id, state, created_at, id)| (job_id, (state, created_at, id)))
            .collect();
        let records: Vec<JobRecord> = jobs
            .iter()
            .filter_map(|j| {
                let (state, created_at, id) = by_id.remove(&j.job_id)?;
                Some(inserted(j, state, created_at, id))
            })
            .collect();
        if let Some(reservation) = reservation {
            // Rows left over are not the batch's: cannot be, but never leave a job leased.
            let strays = by_id.into_values().filter(|r| r.0 == JobState::Running as i16).map(|r| r.2);
            self.hand_over_jobs(reservation, &records, strays.collect()).await;
        }
        if records.iter().any(|r| r.state == JobState::Submitted) {
            self.wake_workers();
        }
        Ok(records)
    }

    /// Hands the jobs `submit_jobs` claimed for the reservation's worker over, as its claim
    /// would have returned them; those it will no longer take, and `strays`, are handed back to
    /// the queue.
    async fn hand_over_jobs(
        &self,
        reservation: Reservation<Claimed>,
        records: &[JobRecord],
        strays: Vec<i64>,
    ) {
        let claimed: Vec<Claimed> = records
            .iter()
            .filter(|r| r.state == JobState::Running)
            .map(|r| Claimed {
                id: r.id,
                job_id: r.job_id.clone(),
                attempt: 1,
                bucket: r.bucket.clone(),
                region: r.region.clone(),
                object: r.object.clone(),
                request: r.request.clone(),
                result: None,
                retries: 0,
                retrying_since: None,
            })
            .collect();
        let worker = reservation.taker.holder;
        let mut unsent = strays;
        unsent.extend(reservation.hand_over(claimed));
        if !unsent.is_empty() {
            if let Err(e) = self.release(worker, &unsent).await {
                tracing::error!(error = %e, "could not hand jobs back; the rescuer will");
            }
        }
    }
}

/// The record of `job` as `submit_jobs` inserted it: a Running job (handed to a worker) started
/// in the inserting transaction, as it was created (`now()` both).
fn inserted(job: &NewJob, state: i16, created_at: DateTime<Utc>, id: i64) -> JobRecord {
    let state = JobState::from_i16(state).unwrap_or(JobState::Submitted);
    JobRecord {
        id,
        job_id: job.job_id.clone(),
        queue_id: job.queue_id.clone(),
        bucket: job.bucket.clone(),
        region: job.region.clone(),
        object: job.object.clone(),
        job_level: job.job_level,
        state,
        created_at,
        started_at: (state == JobState::Running).then_some(created_at),
        finished_at: None,
        request: job.request.clone(),
        result: None,
        last_error: None,
    }
}
