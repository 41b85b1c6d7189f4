//! The outbox half of every statement that makes jobs terminal: the deliveries it queues, in the
//! same statement, for the jobs that may need a callback.
use crate::model::job_state;

/// The jobs among `done` (the updated jobs' id, queue_id, request and state) that finished and
/// may need a callback (`callback_due`, migration 0003), as `d`, with their queue as `q`. The
/// verdicts' statement (`record_verdicts`, migration 0017) writes the same rule in SQL.
macro_rules! due_from_done {
    () => {
        concat!(
            "FROM done d JOIN queues q USING (queue_id) WHERE d.state IN (",
            job_state!(Success, Failed, Cancel),
            ") AND callback_due(d.request, q.notify_config)"
        )
    };
}

/// The outbox half of every statement that makes jobs terminal (but the verdicts', whose
/// function does the same: `record_verdicts`, migration 0017): a CTE after `done` that
/// queues a delivery for each job that may need a callback, in the same transaction.
/// `EXISTS (SELECT 1 FROM queued)` says whether to wake the notifiers once it committed.
pub(crate) const QUEUE_DELIVERIES: &str = concat!(
    "queued AS (INSERT INTO deliveries (job_id) SELECT d.id ",
    due_from_done!(),
    " RETURNING job_id)"
);
