//! Callback deliveries (the outbox the job transitions write, see `QUEUE_DELIVERIES`): claimed by
//! notifiers with SKIP LOCKED under a lease (or leased to one by the verdict's own statement,
//! `handoff.rs`), finished in batches, rescued when a notifier dies.
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::{FromRow, Row};
use stowaway_wire::{CallbackFormat, CallbackKind};
use uuid::Uuid;

use crate::model::delivery_state;
use crate::records::record_columns_of;
use crate::triggers::REQUEST_EVENTS;
use crate::{DeliveryState, JobRecord, Result, Store};

/// Channel the store notifies on (after the commit, coalesced: see `wake.rs`) when deliveries
/// fall due; notifiers also poll as a backstop.
pub const CALLBACKS_CHANNEL: &str = "stowaway_callbacks";

/// Where a delivery goes, once the notifier has resolved it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeliveryTarget {
    pub kind: CallbackKind,
    /// The URL, or the topic.
    pub address: String,
    pub format: CallbackFormat,
}

/// A delivery a notifier holds under a lease, with the finished job it reports.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct ClaimedDelivery {
    /// The job's internal id, which also keys its delivery (a job has at most one).
    pub delivery_id: i64,
    /// The `webhook-id` receivers deduplicate on: the same for every attempt and resend.
    pub webhook_id: Uuid,
    /// 1 on the first attempt.
    pub attempt: i32,
    /// Attempts made before the last resend; the retry schedule counts from here.
    pub schedule_from: i32,
    pub kind: Option<String>,
    pub address: Option<String>,
    pub format: Option<String>,
    /// The job's queue's NotifyConfig now, for a delivery not yet resolved.
    pub notify_config: Option<Value>,
    /// The messages acknowledged on earlier attempts ([`Message`] bits).
    pub sent: i16,
    #[sqlx(flatten)]
    pub job: JobRecord,
}

impl ClaimedDelivery {
    /// The target an earlier attempt resolved, if any (one spelled unknowably counts as none:
    /// it is resolved again).
    pub fn target(&self) -> Option<DeliveryTarget> {
        Some(DeliveryTarget {
            kind: CallbackKind::from_name(self.kind.as_deref()?)?,
            address: self.address.clone()?,
            format: CallbackFormat::from_name(self.format.as_deref()?)?,
        })
    }
}

/// One callback a delivery owes; its value is its bit in `sent`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Message {
    TaskFinish = 1,
    WorkflowFinish = 2,
}

impl ClaimedDelivery {
    /// What this delivery still owes, in sending order: a client's job, TaskFinish; a
    /// workflow's, those its NotifyConfig asked for (`triggers.rs`). Acknowledged ones are left out.
    pub fn owed(&self) -> Vec<Message> {
        let asked: Vec<Message> = match self.job.request.get(REQUEST_EVENTS).and_then(Value::as_array) {
            None => vec![Message::TaskFinish],
            Some(events) => {
                [("TaskFinish", Message::TaskFinish), ("WorkflowFinish", Message::WorkflowFinish)]
                    .into_iter()
                    .filter(|(name, _)| events.iter().any(|e| e.as_str() == Some(name)))
                    .map(|(_, m)| m)
                    .collect()
            }
        };
        asked.into_iter().filter(|m| self.sent & *m as i16 == 0).collect()
    }
}

/// The error logged for an attempt whose notifier died holding it (time: when it was found).
const LOST_ATTEMPT: &str = "'outcome unknown: the notifier sending it stopped before recording \
    it, so it may have been delivered; it is sent again with the same webhook-id'";

/// One attempt's record (kept in `deliveries.attempts`).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AttemptLog {
    /// 1 for the first attempt; resends go on counting.
    pub number: i32,
    pub at: DateTime<Utc>,
    /// The HTTP status, when a response came.
    pub status: Option<i32>,
    pub latency_ms: i32,
    pub error: Option<String>,
}

/// What became of a claimed delivery.
#[derive(Clone, Debug)]
pub struct DeliveryOutcome {
    pub delivery_id: i64,
    pub attempt: i32,
    /// `Delivered`, `Dead`, `Skipped`, or `Pending` to retry after `retry_in`.
    pub state: DeliveryState,
    pub retry_in: Duration,
    /// Set when this claim resolved the target.
    pub target: Option<DeliveryTarget>,
    /// None when nothing was sent (Skipped).
    pub log: Option<AttemptLog>,
    /// The messages acknowledged so far, this attempt's included ([`Message`] bits).
    pub sent: i16,
}

/// A delivery as `GET /jobs/<id>/callbacks` shows it.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct DeliveryRecord {
    /// The job's internal id (deliveries are keyed by their job).
    pub id: i64,
    pub webhook_id: Uuid,
    #[sqlx(try_from = "i16")]
    pub state: DeliveryState,
    pub attempt: i32,
    pub kind: Option<String>,
    pub address: Option<String>,
    pub format: Option<String>,
    pub created_at: DateTime<Utc>,
    pub next_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    #[sqlx(json)]
    pub attempts: Vec<AttemptLog>,
}

/// The settings of a claim's transaction (an outcome batch has the same, and no nested loops:
/// `finish_deliveries` in migration 0017).
/// - Plan with indexes only. After a burst of deliveries, before autovacuum's next ANALYZE, stale
///   statistics made the planner read every due row through a bitmap and sort them on each
///   claim; index plans are right at any size.
/// - Commit without waiting for the WAL flush. Safe for the notifier's own writes: the delivery
///   row was committed durably with its job, and a claim or an outcome lost in a database crash
///   only means the callback is sent again (same `webhook-id`).
const CLAIM_SETTINGS: &str = "SELECT set_config('enable_bitmapscan', 'off', true), \
     set_config('enable_seqscan', 'off', true), set_config('synchronous_commit', 'off', true)";

/// The claim statement, built once.
static CLAIM_DELIVERIES: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    let job_columns = record_columns_of("j");
    format!(
        "WITH c AS MATERIALIZED (
                 SELECT job_id FROM deliveries WHERE state = {pending} AND next_at <= now()
                 ORDER BY next_at LIMIT $1 FOR UPDATE SKIP LOCKED),
             d AS (
                 UPDATE deliveries SET state = {sending}, attempt = attempt + 1, locked_by = $2,
                        locked_until = now() + make_interval(secs => $3)
                 WHERE job_id = ANY(ARRAY(SELECT job_id FROM c))
                 RETURNING webhook_id, job_id, attempt, schedule_from, kind, address, format, sent)
             SELECT d.job_id AS delivery_id, d.webhook_id, d.attempt, d.schedule_from, d.kind, d.address,
                    d.format, q.notify_config, d.sent, {job_columns}
             FROM d CROSS JOIN LATERAL (SELECT * FROM jobs WHERE id = d.job_id) j
             JOIN queues q ON q.queue_id = j.queue_id",
        pending = delivery_state!(Pending),
        sending = delivery_state!(Sending),
    )
});

impl Store {
    /// Claims up to `k` due deliveries under a lease held by `notifier`, in one statement, with
    /// each one's job and its queue's NotifyConfig. The job is looked up per delivery (LATERAL):
    /// a plain join let the planner hash a scan of the whole jobs table on every claim.
    pub async fn claim_deliveries(
        &self,
        notifier: Uuid,
        k: i64,
        lease: Duration,
    ) -> Result<Vec<ClaimedDelivery>> {
        // One round trip for the whole transaction (a claim is on every callback's path): the
        // simple protocol runs several statements as one implicit transaction (rolled back
        // whole on an error, and the settings last until its end), but takes no parameters, so
        // the three values, all ours and all numbers or a UUID, are written in.
        let claim = CLAIM_DELIVERIES
            .replace("$1", &k.to_string())
            .replace("$2", &format!("'{notifier}'::uuid"))
            .replace("$3", &format!("{:.3}", lease.as_secs_f64()));
        let rows = sqlx::raw_sql(&format!("{CLAIM_SETTINGS}; {claim}")).fetch_all(&self.pool).await?;
        // The settings statement's row comes first; only the claim's rows have a delivery_id.
        Ok(rows
            .iter()
            .filter(|r| r.try_column("delivery_id").is_ok())
            .map(ClaimedDelivery::from_row)
            .collect::<sqlx::Result<_>>()?)
    }

    /// Records outcomes and their attempts in one statement. Fenced like job completion: a
    /// delivery rescued from this notifier meanwhile keeps its new state (and this attempt goes
    /// unlogged). Returns the delivery ids that were finished. Committed without waiting for the
    /// flush, like a claim.
    pub async fn finish_deliveries(&self, notifier: Uuid, outcomes: &[DeliveryOutcome]) -> Result<Vec<i64>> {
        let target = |f: fn(&DeliveryTarget) -> &str| {
            outcomes.iter().map(|o| o.target.as_ref().map(|t| f(t).to_string())).collect::<Vec<_>>()
        };
        let logs: Vec<Option<Value>> = outcomes
            .iter()
            .map(|o| o.log.as_ref().map(|l| serde_json::to_value(l).expect("plain data")))
            .collect();
        // `finish_deliveries` (migration 0017): the statement with the settings below, planned
        // once per connection, in one round trip.
        let finished = sqlx::query_scalar(
            "SELECT * FROM finish_deliveries($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(outcomes.iter().map(|o| o.delivery_id).collect::<Vec<_>>())
        .bind(outcomes.iter().map(|o| o.attempt).collect::<Vec<_>>())
        .bind(outcomes.iter().map(|o| o.state as i16).collect::<Vec<_>>())
        .bind(outcomes.iter().map(|o| o.retry_in.as_secs_f64()).collect::<Vec<_>>())
        .bind(target(|t| t.kind.as_str()))
        .bind(target(|t| &t.address))
        .bind(target(|t| t.format.as_str()))
        .bind(outcomes.iter().map(|o| o.log.as_ref().and_then(|l| l.error.clone())).collect::<Vec<_>>())
        .bind(logs)
        .bind(notifier)
        .bind(outcomes.iter().map(|o| o.sent).collect::<Vec<_>>())
        .fetch_all(&self.pool)
        .await?;
        Ok(finished)
    }

    /// Hands deliveries back unsent (graceful shutdown), due at once, without using up an attempt.
    pub async fn release_deliveries(&self, notifier: Uuid, ids: &[i64]) -> Result<u64> {
        let condition = concat!("job_id = ANY($1) AND locked_by = $2 AND state = ", delivery_state!(Sending));
        self.requeue(condition, ids, Some(notifier)).await
    }

    /// Returns deliveries whose lease expired (their notifier died, perhaps between sending and
    /// recording) to Pending, due at once: the receiver may see them twice, with the same
    /// `webhook-id`, never zero times. The lost attempt is logged with its outcome unknown.
    pub async fn rescue_deliveries(&self) -> Result<u64> {
        self.requeue(concat!("state = ", delivery_state!(Sending), " AND locked_until < now()"), &[], None)
            .await
    }

    /// Hands deliveries back: released ones (`notifier` set) without using up their attempt,
    /// rescued ones logging it.
    async fn requeue(&self, condition: &str, ids: &[i64], notifier: Option<Uuid>) -> Result<u64> {
        let (n,): (i64,) = sqlx::query_as(&format!(
            "WITH r AS (
                 UPDATE deliveries SET state = {pending}, next_at = now(), locked_by = NULL,
                        locked_until = NULL,
                        attempt = CASE WHEN $2::uuid IS NULL THEN attempt ELSE attempt - 1 END,
                        attempts = CASE WHEN $2::uuid IS NOT NULL THEN attempts
                            ELSE attempts || jsonb_build_array(jsonb_build_object(
                                'number', attempt, 'at', now(), 'status', NULL, 'latency_ms', 0,
                                'error', {LOST_ATTEMPT})) END
                 WHERE {condition} RETURNING 1)
             SELECT count(*) FROM r",
            pending = delivery_state!(Pending),
        ))
        .bind(ids)
        .bind(notifier)
        .fetch_one(&self.pool)
        .await?;
        if n > 0 {
            self.wake_notifiers();
        }
        Ok(n as u64)
    }

    /// The delivery of one of the bucket's jobs (none or one) with its attempts. `None` when
    /// the bucket has no such job.
    pub async fn deliveries_of_job(&self, bucket: &str, job_id: &str) -> Result<Option<Vec<DeliveryRecord>>> {
        let job: Option<(i64,)> = sqlx::query_as("SELECT id FROM jobs WHERE bucket = $1 AND job_id = $2")
            .bind(bucket)
            .bind(job_id)
            .fetch_optional(&self.pool)
            .await?;
        let Some((id,)) = job else { return Ok(None) };
        let records: Vec<DeliveryRecord> = sqlx::query_as(
            "SELECT job_id AS id, webhook_id, state, attempt, kind, address, format, created_at, next_at,
                    finished_at, last_error, attempts
             FROM deliveries WHERE job_id = $1",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        Ok(Some(records))
    }

    /// Sends a finished delivery again (same `webhook-id`, a fresh retry schedule, the target
    /// resolved anew if it had none). A delivery still Pending or Sending is left as it is.
    /// Returns false when the bucket's job has no such delivery.
    pub async fn resend_delivery(&self, bucket: &str, job_id: &str, webhook_id: Uuid) -> Result<bool> {
        let found: Option<(i16,)> = sqlx::query_as(concat!(
            "WITH target AS (
                 SELECT d.job_id, d.state FROM deliveries d JOIN jobs k ON k.id = d.job_id
                 WHERE k.bucket = $1 AND k.job_id = $2 AND d.webhook_id = $3 FOR UPDATE OF d),
             r AS (
                 UPDATE deliveries d SET state = ",
            delivery_state!(Pending),
            ", next_at = now(), schedule_from = d.attempt, finished_at = NULL, last_error = NULL, sent = 0
                 FROM target t WHERE d.job_id = t.job_id AND t.state IN (",
            delivery_state!(Delivered, Dead, Skipped),
            "))
             SELECT state FROM target",
        ))
        .bind(bucket)
        .bind(job_id)
        .bind(webhook_id)
        .fetch_optional(&self.pool)
        .await?;
        if found.is_some() {
            self.wake_notifiers();
        }
        Ok(found.is_some())
    }
}
