//! Reading jobs back (`GET /jobs/<ids>`, `GET /jobs`) and the API-side transitions on them.
use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::model::{ids_of, job_state, leave_waiting};
use crate::outbox::QUEUE_DELIVERIES;
use crate::triggers::REQUEST_BATCH;
use crate::JobState;
use crate::{Result, Store};

/// A job as the API shows it.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct JobRecord {
    /// Internal id: the list cursor's tie-breaker.
    pub id: i64,
    pub job_id: String,
    pub queue_id: String,
    pub bucket: String,
    pub region: String,
    pub object: String,
    pub job_level: i16,
    #[sqlx(try_from = "i16")]
    pub state: JobState,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub request: Value,
    /// The verdict; only final once the state is terminal.
    pub result: Option<Value>,
    pub last_error: Option<String>,
}

pub(crate) const RECORD_COLUMNS: &str =
    "id, job_id, queue_id, bucket, region, object, job_level, state, created_at, \
                              started_at, finished_at, request, result, last_error";

/// [`RECORD_COLUMNS`], each qualified with `alias` (`j.id, j.job_id, …`).
pub(crate) fn record_columns_of(alias: &str) -> String {
    RECORD_COLUMNS.split(", ").map(|c| format!("{alias}.{c}")).collect::<Vec<_>>().join(", ")
}

/// `GET /jobs` filters. Every `None` means "not given".
#[derive(Clone, Debug, Default)]
pub struct JobFilter {
    pub bucket: String,
    pub queue_id: Option<String>,
    pub states: Option<Vec<JobState>>,
    pub object: Option<String>,
    /// Only the runs of this workflow.
    pub workflow_id: Option<String>,
    /// Only the jobs this batch (`b…`) started.
    pub batch_id: Option<String>,
    pub created_from: Option<DateTime<Utc>>,
    pub created_to: Option<DateTime<Utc>>,
    /// Only objects whose key starts with this (the console's filter).
    pub object_prefix: Option<String>,
    /// Only verdicts that are (true) or are not (false) suspicious: finished with a result.
    pub suspicious: Option<bool>,
    /// Only suspicious verdicts of this `SuspiciousType` (`MPEG-TS`, `ZIP`, …).
    pub suspicious_type: Option<String>,
    pub ascending: bool,
    /// Resume after this (created_at, id), exclusive, in the listing's order.
    pub after: Option<(DateTime<Utc>, i64)>,
    pub limit: i64,
}

/// Why a cancel was refused; nothing is cancelled then.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CancelRefused {
    Unknown(Vec<String>),
    Started(Vec<(String, JobState)>),
}

impl Store {
    /// The bucket's jobs among `job_ids`, in the order asked.
    pub async fn jobs_by_id(&self, bucket: &str, job_ids: &[String]) -> Result<Vec<JobRecord>> {
        let mut records: Vec<JobRecord> = sqlx::query_as(&format!(
            "SELECT {RECORD_COLUMNS} FROM jobs WHERE job_id = ANY($2) AND bucket = $1"
        ))
        .bind(bucket)
        .bind(job_ids)
        .fetch_all(&self.pool)
        .await?;
        records.sort_by_key(|r| job_ids.iter().position(|id| *id == r.job_id));
        Ok(records)
    }

    /// One page of the bucket's jobs, newest first unless `ascending`. Walked in the suspicious
    /// listing (`job_suspicious`) for suspicious ones, else in `jobs` (by the workflow's or the
    /// batch's index when one is asked for, else the bucket-and-time index).
    pub async fn list_jobs(&self, f: &JobFilter) -> Result<Vec<JobRecord>> {
        let (cmp, order) = if f.ascending { (">", "ASC") } else { ("<", "DESC") };
        let type_in_result = "j.result->'ProcessResult'->>'SuspiciousType'";
        let (from, t, suspicious_type) = if f.suspicious == Some(true) {
            ("job_suspicious s JOIN jobs j ON j.id = s.id", "s", "s.suspicious_type")
        } else {
            ("jobs j", "j", type_in_result)
        };
        let states: Option<Vec<i16>> = f.states.as_ref().map(|s| s.iter().map(|s| *s as i16).collect());
        sqlx::query_as(&format!(
            "SELECT {} FROM {from} WHERE {t}.bucket = $1
               AND ($2::text IS NULL OR j.queue_id = $2)
               AND ($3::int2[] IS NULL OR j.state = ANY($3))
               AND ($4::text IS NULL OR j.object = $4)
               AND ($5::timestamptz IS NULL OR {t}.created_at >= $5)
               AND ($6::timestamptz IS NULL OR {t}.created_at <= $6)
               AND ($7::timestamptz IS NULL OR ({t}.created_at, {t}.id) {cmp} ($7, $8))
               AND ($10::text IS NULL OR (j.request ? 'workflow' AND j.request->'workflow'->>'WorkflowId' = $10))
               AND ($11::text IS NULL OR (j.request ? '{REQUEST_BATCH}' AND j.request->>'{REQUEST_BATCH}' = $11))
               AND ($12::text IS NULL OR starts_with(j.object, $12))
               AND ($13::bool IS NULL OR (j.result->'ProcessResult'->>'Suspicious' = 'true') = $13)
               AND ($14::text IS NULL OR {suspicious_type} = $14)
             ORDER BY {t}.created_at {order}, {t}.id {order} LIMIT $9",
            record_columns_of("j")
        ))
        .bind(&f.bucket)
        .bind(&f.queue_id)
        .bind(states)
        .bind(&f.object)
        .bind(f.created_from)
        .bind(f.created_to)
        .bind(f.after.map(|a| a.0))
        .bind(f.after.map(|a| a.1).unwrap_or(0))
        .bind(f.limit)
        .bind(&f.workflow_id)
        .bind(&f.batch_id)
        .bind(&f.object_prefix)
        .bind(f.suspicious)
        .bind(&f.suspicious_type)
        // Planned with the real values, so the "not given" branches fold away.
        .persistent(false)
        .fetch_all(&self.pool)
        .await
        .map_err(crate::Error::from)
    }

    /// Cancels all of `job_ids` (the bucket's, not acted on yet) or none of them. Jobs waiting end
    /// Cancel at once; a Running job without a checkpointed decision to act (a submit handed it to
    /// a worker a moment ago, say) is marked, and ends Cancel when its worker completes it, its
    /// object untouched (`checkpoint` refuses it). One whose AutoProcess is under way is refused.
    pub async fn cancel_jobs(
        &self,
        bucket: &str,
        job_ids: &[String],
    ) -> Result<std::result::Result<(), CancelRefused>> {
        let mut tx = self.pool.begin().await?;
        // The claim order's and the retries' rows first, as a claim and the retry scheduler take
        // them before the job's: a cancel and a claim never wait for each other's rows in turn.
        for waiting in ["job_ready", "job_retries"] {
            sqlx::query(&format!(
                "SELECT 1 FROM {waiting} WHERE id = ANY({}) FOR UPDATE",
                ids_of!("$1", "$2")
            ))
            .bind(bucket)
            .bind(job_ids)
            .execute(&mut *tx)
            .await?;
        }
        let found: Vec<(String, i16, bool)> = sqlx::query_as(&format!(
            "SELECT job_id, state, result IS NOT NULL FROM jobs WHERE id = ANY({}) FOR UPDATE",
            ids_of!("$1", "$2")
        ))
        .bind(bucket)
        .bind(job_ids)
        .fetch_all(&mut *tx)
        .await?;
        let unknown: Vec<String> =
            job_ids.iter().filter(|id| !found.iter().any(|(f, ..)| f == *id)).cloned().collect();
        if !unknown.is_empty() {
            return Ok(Err(CancelRefused::Unknown(unknown)));
        }
        let started: Vec<(String, JobState)> = found
            .into_iter()
            .filter_map(|(id, s, acting)| {
                let s = JobState::from_i16(s)?;
                let cancellable = match s {
                    JobState::Submitted | JobState::Pause | JobState::Retrying => true,
                    JobState::Running => !acting,
                    _ => false,
                };
                (!cancellable).then_some((id, s))
            })
            .collect();
        if !started.is_empty() {
            return Ok(Err(CancelRefused::Started(started)));
        }
        let (queued,): (bool,) = sqlx::query_as(&format!(
            "WITH done AS (
                 UPDATE jobs SET state = CASE WHEN state = {running} THEN state ELSE {cancel} END,
                        cancel_requested = state = {running},
                        finished_at = CASE WHEN state = {running} THEN NULL ELSE now() END
                 WHERE id = ANY({ids})
                 RETURNING id, queue_id, request, state),
             {waiting}, {QUEUE_DELIVERIES}
             SELECT EXISTS (SELECT 1 FROM queued)",
            ids = ids_of!("$1", "$2"),
            waiting = leave_waiting!("done"),
            cancel = job_state!(Cancel),
            running = job_state!(Running),
        ))
        .bind(bucket)
        .bind(job_ids)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        if queued {
            self.wake_notifiers();
        }
        Ok(Ok(()))
    }
}
