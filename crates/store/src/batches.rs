//! Batch jobs (`/inventorytriggerjob`, migration 0010): created by the API, listed a page at a
//! time by the lister (the lease engine's third consumer) under a lease, read back with their
//! children's progress, cancelled with their children not yet started.
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;
use stowaway_wire::{BatchKind, BatchSpec};
use uuid::Uuid;

use crate::handoff::Leased;
use crate::model::{batch_state, job_state};
use crate::outbox::QUEUE_DELIVERIES;
use crate::triggers::REQUEST_BATCH;
use crate::{BatchState, Result, Store};

/// A batch as the API shows it.
#[derive(Clone, Debug)]
pub struct BatchRecord {
    pub id: i64,
    pub batch_id: String,
    pub bucket: String,
    pub region: String,
    pub state: BatchState,
    pub spec: BatchSpec,
    /// Jobs made so far.
    pub children: i64,
    /// Children finished (Success, Failed or Cancel).
    pub finished: i64,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
}

impl BatchRecord {
    /// Tencent's state: a batch listed is Running until its last child finished.
    pub fn shown_state(&self) -> &'static str {
        match self.state {
            BatchState::Submitted => "Submitted",
            BatchState::Listing => "Running",
            BatchState::Listed if self.finished < self.children => "Running",
            BatchState::Listed => "Success",
            BatchState::Failed => "Failed",
            BatchState::Cancel => "Cancel",
        }
    }

    /// Percent of the children finished, once the listing ended (before, the total is unknown).
    pub fn progress(&self) -> Option<u8> {
        match self.state {
            BatchState::Listed if self.children == 0 => Some(100),
            BatchState::Listed => Some((self.finished * 100 / self.children).clamp(0, 100) as u8),
            _ => None,
        }
    }
}

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    batch_id: String,
    bucket: String,
    region: String,
    state: i16,
    spec: Value,
    children: i64,
    finished: i64,
    created_at: DateTime<Utc>,
    started_at: Option<DateTime<Utc>>,
    finished_at: Option<DateTime<Utc>>,
    last_error: Option<String>,
}

/// A row with its children counted (all, and finished), from the jobs themselves: a page
/// listed again after a crash finds its children inserted already.
const SELECT: &str = concat!(
    "SELECT b.id, b.batch_id, b.bucket, b.region, b.state, b.spec, b.created_at, b.started_at,
            b.finished_at, b.last_error, c.children, c.finished
     FROM batches b CROSS JOIN LATERAL (
         SELECT count(*) AS children, count(*) FILTER (WHERE j.state IN (",
    job_state!(Success, Failed, Cancel),
    ")) AS finished
         FROM jobs j WHERE j.request ? 'batch_id' AND j.request->>'batch_id' = b.batch_id) c"
);

impl TryFrom<Row> for BatchRecord {
    type Error = crate::Error;

    fn try_from(r: Row) -> Result<BatchRecord> {
        Ok(BatchRecord {
            id: r.id,
            batch_id: r.batch_id,
            bucket: r.bucket,
            region: r.region,
            state: BatchState::try_from(r.state).map_err(|e| crate::Error::unreadable("batches.state", e))?,
            spec: serde_json::from_value(r.spec).map_err(|e| crate::Error::unreadable("batches.spec", e))?,
            children: r.children,
            finished: r.finished,
            created_at: r.created_at,
            started_at: r.started_at,
            finished_at: r.finished_at,
            last_error: r.last_error,
        })
    }
}

/// `GET /inventorytriggerjob` filters; `None` is "not given".
#[derive(Clone, Debug, Default)]
pub struct BatchFilter {
    pub kind: Option<BatchKind>,
    pub name: Option<String>,
    pub batch_id: Option<String>,
    /// Only Workflow batches that run this workflow.
    pub workflow_id: Option<String>,
    pub created_from: Option<DateTime<Utc>>,
    pub created_to: Option<DateTime<Utc>>,
    pub ascending: bool,
    /// Resume after this internal id, in the listing's order.
    pub after: Option<i64>,
    pub limit: i64,
}

/// A batch the lister holds: where its listing goes on.
#[derive(Clone, Debug)]
pub struct ClaimedBatch {
    pub id: i64,
    pub attempt: i32,
    pub batch_id: String,
    pub bucket: String,
    pub region: String,
    pub spec: BatchSpec,
    pub next_page: Option<String>,
}

impl Leased for ClaimedBatch {
    fn lease(&self) -> (i64, i32) {
        (self.id, self.attempt)
    }
}

/// What one listing step did.
#[derive(Clone, Debug)]
pub struct PageListed {
    pub id: i64,
    pub attempt: i32,
    /// Where the listing goes on; `None` when it ended.
    pub next_page: Option<String>,
    /// The listing ended for good with this error (the bucket is gone, access denied).
    pub failed: Option<String>,
    /// Come back after this long (the queue's backlog is high, or the store failed briefly).
    pub wait: Duration,
}

impl Leased for PageListed {
    fn lease(&self) -> (i64, i32) {
        (self.id, self.attempt)
    }
}

impl Store {
    /// Stores a new batch, Submitted, and wakes the listers.
    pub async fn create_batch(&self, bucket: &str, region: &str, spec: &BatchSpec) -> Result<BatchRecord> {
        let batch_id = format!("b{}", Uuid::new_v4().simple());
        sqlx::query(
            "INSERT INTO batches (batch_id, bucket, region, kind, name, spec) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&batch_id)
        .bind(bucket)
        .bind(region)
        .bind(spec.kind.as_str())
        .bind(&spec.name)
        .bind(serde_json::to_value(spec).expect("plain data"))
        .execute(&self.pool)
        .await?;
        self.wake_listers();
        Ok(self.batches_by_id(bucket, &[batch_id]).await?.remove(0))
    }

    /// The bucket's batches among `ids`, in the order asked.
    pub async fn batches_by_id(&self, bucket: &str, ids: &[String]) -> Result<Vec<BatchRecord>> {
        let rows: Vec<Row> =
            sqlx::query_as(&format!("{SELECT} WHERE b.bucket = $1 AND b.batch_id = ANY($2)"))
                .bind(bucket)
                .bind(ids)
                .fetch_all(&self.pool)
                .await?;
        let mut found = rows.into_iter().map(BatchRecord::try_from).collect::<Result<Vec<_>>>()?;
        found.sort_by_key(|b| ids.iter().position(|id| *id == b.batch_id));
        Ok(found)
    }

    /// One page of the bucket's batches, newest first unless `ascending`.
    pub async fn list_batches(&self, bucket: &str, f: &BatchFilter) -> Result<Vec<BatchRecord>> {
        let (cmp, order) = if f.ascending { (">", "ASC") } else { ("<", "DESC") };
        let rows: Vec<Row> = sqlx::query_as(&format!(
            "{SELECT} WHERE b.bucket = $1
               AND ($2::text IS NULL OR b.kind = $2)
               AND ($3::text IS NULL OR b.name = $3)
               AND ($4::text IS NULL OR b.batch_id = $4)
               AND ($5::timestamptz IS NULL OR b.created_at >= $5)
               AND ($6::timestamptz IS NULL OR b.created_at <= $6)
               AND ($7::int8 IS NULL OR b.id {cmp} $7)
               AND ($9::text IS NULL OR b.spec->'workflow_ids' ? $9)
             ORDER BY b.id {order} LIMIT $8"
        ))
        .bind(bucket)
        .bind(f.kind.map(|k| k.as_str()))
        .bind(&f.name)
        .bind(&f.batch_id)
        .bind(f.created_from)
        .bind(f.created_to)
        .bind(f.after)
        .bind(f.limit)
        .bind(&f.workflow_id)
        .persistent(false)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter().map(BatchRecord::try_from).collect()
    }

    /// Cancels a batch: its listing stops and its children not yet started are cancelled (with
    /// their callbacks, as `cancel_jobs`). False if the bucket has no such batch; a batch that
    /// already ended stays as it is.
    pub async fn cancel_batch(&self, bucket: &str, batch_id: &str) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        let found: Option<i16> =
            sqlx::query_scalar("SELECT state FROM batches WHERE bucket = $1 AND batch_id = $2 FOR UPDATE")
                .bind(bucket)
                .bind(batch_id)
                .fetch_optional(&mut *tx)
                .await?;
        let Some(state) = found else { return Ok(false) };
        if matches!(BatchState::try_from(state), Ok(BatchState::Failed | BatchState::Cancel)) {
            return Ok(true);
        }
        sqlx::query(concat!(
            "UPDATE batches SET state = ",
            batch_state!(Cancel),
            ", finished_at = now(), locked_by = NULL, locked_until = NULL WHERE batch_id = $1"
        ))
        .bind(batch_id)
        .execute(&mut *tx)
        .await?;
        let (queued,): (bool,) = sqlx::query_as(&format!(
            "WITH unready AS (
                 DELETE FROM job_ready x USING jobs j
                 WHERE x.id = j.id AND j.request ? 'batch_id' AND j.request->>'{REQUEST_BATCH}' = $1
                 RETURNING x.id),
             done AS (
                 UPDATE jobs SET state = {cancel}, finished_at = now()
                 WHERE request ? 'batch_id' AND request->>'{REQUEST_BATCH}' = $1 AND state IN ({waiting})
                   AND (state = {pause} OR id = ANY(ARRAY(SELECT id FROM unready)))
                 RETURNING id, queue_id, request, state),
             {QUEUE_DELIVERIES}
             SELECT EXISTS (SELECT 1 FROM queued)",
            cancel = job_state!(Cancel),
            waiting = job_state!(Submitted, Pause),
            pause = job_state!(Pause),
        ))
        .bind(batch_id)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        if queued {
            self.wake_notifiers();
        }
        Ok(true)
    }

    /// Claims up to `k` batches still listing and due, whose lease is free or expired (their
    /// lister died), under a lease held by `lister`.
    pub async fn claim_batches(&self, lister: Uuid, k: i64, lease: Duration) -> Result<Vec<ClaimedBatch>> {
        #[derive(sqlx::FromRow)]
        struct Claimed {
            id: i64,
            attempt: i32,
            batch_id: String,
            bucket: String,
            region: String,
            spec: Value,
            next_page: Option<String>,
        }
        let rows: Vec<Claimed> = sqlx::query_as(&format!(
            "UPDATE batches SET state = {listing}, attempt = attempt + 1, locked_by = $2,
                    locked_until = now() + make_interval(secs => $3), started_at = coalesce(started_at, now())
             WHERE id = ANY(ARRAY(
                 SELECT id FROM batches WHERE state IN ({to_list}) AND next_at <= now()
                   AND (locked_until IS NULL OR locked_until < now())
                 ORDER BY next_at LIMIT $1 FOR UPDATE SKIP LOCKED))
             RETURNING id, attempt, batch_id, bucket, region, spec, next_page",
            listing = batch_state!(Listing),
            to_list = batch_state!(Submitted, Listing),
        ))
        .bind(k)
        .bind(lister)
        .bind(lease.as_secs_f64())
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|r| {
                let spec = serde_json::from_value(r.spec)
                    .map_err(|e| crate::Error::unreadable("batches.spec", e))?;
                let Claimed { id, attempt, batch_id, bucket, region, next_page, .. } = r;
                Ok(ClaimedBatch { id, attempt, batch_id, bucket, region, spec, next_page })
            })
            .collect()
    }

    /// Records listing steps, fenced by lease (a batch rescued meanwhile keeps its new holder's
    /// progress); returns how many were still held. A cancelled batch stays cancelled.
    pub async fn record_pages(&self, lister: Uuid, steps: &[PageListed]) -> Result<usize> {
        let done = sqlx::query(&format!(
            "UPDATE batches b SET
                 next_page = CASE WHEN o.failed IS NULL THEN o.next_page ELSE b.next_page END,
                 state = CASE WHEN o.failed IS NOT NULL THEN {failed}
                              WHEN o.next_page IS NULL AND o.wait_secs = 0 THEN {listed} ELSE {listing} END,
                 finished_at = CASE WHEN o.failed IS NOT NULL
                                      OR (o.next_page IS NULL AND o.wait_secs = 0) THEN now() END,
                 last_error = o.failed,
                 next_at = now() + make_interval(secs => o.wait_secs),
                 locked_by = NULL, locked_until = NULL
             FROM unnest($1::int8[], $2::int4[], $3::text[], $4::text[], $5::float8[])
                  AS o(id, attempt, next_page, failed, wait_secs)
             WHERE b.id = o.id AND b.attempt = o.attempt AND b.locked_by = $6 AND b.state = {listing}",
            failed = batch_state!(Failed),
            listed = batch_state!(Listed),
            listing = batch_state!(Listing),
        ))
        .bind(steps.iter().map(|s| s.id).collect::<Vec<_>>())
        .bind(steps.iter().map(|s| s.attempt).collect::<Vec<_>>())
        .bind(steps.iter().map(|s| s.next_page.clone()).collect::<Vec<_>>())
        .bind(steps.iter().map(|s| s.failed.clone()).collect::<Vec<_>>())
        .bind(steps.iter().map(|s| s.wait.as_secs_f64()).collect::<Vec<_>>())
        .bind(lister)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() as usize)
    }

    /// Hands batches back (shutdown), due at once, without using up an attempt.
    pub async fn release_batches(&self, lister: Uuid, ids: &[i64]) -> Result<u64> {
        let done = sqlx::query(concat!(
            "UPDATE batches SET locked_by = NULL, locked_until = NULL, next_at = now(), attempt = attempt - 1
             WHERE id = ANY($1) AND locked_by = $2 AND state = ",
            batch_state!(Listing)
        ))
        .bind(ids)
        .bind(lister)
        .execute(&self.pool)
        .await?;
        if done.rows_affected() > 0 {
            self.wake_listers();
        }
        Ok(done.rows_affected())
    }

    /// Jobs waiting in a queue (Submitted, or Retrying after an outage): how much a batch may add
    /// before it waits.
    pub async fn queue_backlog(&self, queue_id: &str) -> Result<i64> {
        sqlx::query_scalar(concat!(
            "SELECT count(*) FROM (SELECT 1 FROM (SELECT id FROM job_ready UNION ALL SELECT id FROM job_retries) w
                 JOIN jobs j ON j.id = w.id WHERE j.queue_id = $1 AND j.state IN (",
            job_state!(Submitted, Retrying),
            ") LIMIT 100000) w"
        ))
        .bind(queue_id)
        .fetch_one(&self.pool)
        .await
        .map_err(crate::Error::from)
    }
}
