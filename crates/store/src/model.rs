//! The states jobs and deliveries move through, named once (River's explicit job states). Both
//! are stored as `smallint`. SQL spells a state with `job_state!` / `delivery_state!`, which expand
//! to string literals: statements stay constants, and the planner still matches them to the
//! partial indexes' predicates (`WHERE state = 0`). The tests below hold the spellings to the
//! enums and to the migrations' CHECK constraints; the migrations themselves are history and keep
//! their numbers.
//!
//! Jobs: Submitted → Running → Success | Failed; Running → Retrying → Submitted while the object
//! store is unreachable; Submitted ↔ Pause while the queue is paused; Submitted | Pause |
//! Retrying → Cancel. Deliveries: Pending → Sending → Delivered | Dead | Skipped, or back
//! to Pending to retry.

/// A job's state, stored as `smallint`; `as_str` is Tencent's spelling.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum JobState {
    Submitted = 0,
    Running = 1,
    Success = 2,
    Failed = 3,
    Cancel = 4,
    Pause = 5,
    /// Handed back after the object store could not be reached; due again at `retry_at`. Not a
    /// Tencent state: shown as `Submitted` (the job waits in its queue).
    Retrying = 6,
}

impl JobState {
    pub const ALL: [JobState; 7] = {
        use JobState::*;
        [Submitted, Running, Success, Failed, Cancel, Pause, Retrying]
    };

    /// The states Tencent's `Submitted` stands for.
    pub const WAITING: [JobState; 2] = [JobState::Submitted, JobState::Retrying];

    pub fn from_i16(v: i16) -> Option<JobState> {
        JobState::ALL.into_iter().find(|s| *s as i16 == v)
    }

    /// Tencent's spelling back to the state (`Submitted`, `Pause`, …); `Submitted` is the queued
    /// state, [`JobState::WAITING`] all it stands for.
    pub fn from_name(name: &str) -> Option<JobState> {
        JobState::ALL.into_iter().find(|s| s.as_str() == name)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Submitted | JobState::Retrying => "Submitted",
            JobState::Running => "Running",
            JobState::Success => "Success",
            JobState::Failed => "Failed",
            JobState::Cancel => "Cancel",
            JobState::Pause => "Pause",
        }
    }

    pub fn is_terminal(self) -> bool {
        matches!(self, JobState::Success | JobState::Failed | JobState::Cancel)
    }
}

impl TryFrom<i16> for JobState {
    type Error = String;

    fn try_from(v: i16) -> std::result::Result<JobState, String> {
        JobState::from_i16(v).ok_or_else(|| format!("no job state {v}"))
    }
}

/// A delivery's state, stored as `smallint`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeliveryState {
    Pending = 0,
    Sending = 1,
    Delivered = 2,
    /// Retries exhausted, or the receiver answered 410 Gone. Kept, and can be resent.
    Dead = 3,
    /// Resolved to no callback (e.g. the queue's NotifyConfig was turned off meanwhile).
    Skipped = 4,
}

impl DeliveryState {
    pub const ALL: [DeliveryState; 5] = {
        use DeliveryState::*;
        [Pending, Sending, Delivered, Dead, Skipped]
    };

    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "Pending",
            DeliveryState::Sending => "Sending",
            DeliveryState::Delivered => "Delivered",
            DeliveryState::Dead => "Dead",
            DeliveryState::Skipped => "Skipped",
        }
    }
}

impl TryFrom<i16> for DeliveryState {
    type Error = String;

    fn try_from(v: i16) -> std::result::Result<DeliveryState, String> {
        DeliveryState::ALL
            .into_iter()
            .find(|s| *s as i16 == v)
            .ok_or_else(|| format!("no delivery state {v}"))
    }
}

/// A batch job's state, stored as `smallint`; what Tencent is shown is `BatchRecord::shown_state`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BatchState {
    /// Not listed yet.
    Submitted = 0,
    Listing = 1,
    /// Every page listed; the children may still run.
    Listed = 2,
    /// The listing cannot go on (the bucket is gone or not activated, a workflow was deleted).
    Failed = 3,
    Cancel = 4,
}

impl BatchState {
    pub const ALL: [BatchState; 5] = {
        use BatchState::*;
        [Submitted, Listing, Listed, Failed, Cancel]
    };
}

impl TryFrom<i16> for BatchState {
    type Error = String;

    fn try_from(v: i16) -> std::result::Result<BatchState, String> {
        BatchState::ALL.into_iter().find(|s| *s as i16 == v).ok_or_else(|| format!("no batch state {v}"))
    }
}

/// A job state as SQL spells it (`job_state!(Running)` is `"1"`); several make a list for `IN (…)`.
macro_rules! job_state {
    (Submitted) => { "0" };
    (Running) => { "1" };
    (Success) => { "2" };
    (Failed) => { "3" };
    (Cancel) => { "4" };
    (Pause) => { "5" };
    (Retrying) => { "6" };
    ($first:ident, $($rest:ident),+) => { concat!(job_state!($first), $(", ", job_state!($rest)),+) };
}
pub(crate) use job_state;

/// A delivery state as SQL spells it, like [`job_state!`].
macro_rules! delivery_state {
    (Pending) => { "0" };
    (Sending) => { "1" };
    (Delivered) => { "2" };
    (Dead) => { "3" };
    (Skipped) => { "4" };
    ($first:ident, $($rest:ident),+) => { concat!(delivery_state!($first), $(", ", delivery_state!($rest)),+) };
}
pub(crate) use delivery_state;

/// A batch state as SQL spells it, like [`job_state!`].
macro_rules! batch_state {
    (Submitted) => { "0" };
    (Listing) => { "1" };
    (Listed) => { "2" };
    (Failed) => { "3" };
    (Cancel) => { "4" };
    ($first:ident, $($rest:ident),+) => { concat!(batch_state!($first), $(", ", batch_state!($rest)),+) };
}
pub(crate) use batch_state;

/// The `jobs.id`s of a bucket's jobs among JobIds, as an SQL array (`ids_of!("$1", "$2")`: the
/// bucket, then a `text[]`), found by `jobs`' JobId index.
macro_rules! ids_of {
    ($bucket:literal, $job_ids:literal) => {
        concat!("ARRAY(SELECT id FROM jobs WHERE job_id = ANY(", $job_ids, ") AND bucket = ", $bucket, ")")
    };
}
pub(crate) use ids_of;

/// Named CTEs that keep the state machine's tables (migration 0019) in step with a CTE of jobs a
/// statement moved (`$moved`, returning the moved rows' new `id`, `state`, `job_level`,
/// `created_at`, `retry_at` and `claim_id` as each needs). A statement that reads none of them
/// still runs them: PostgreSQL runs every data-modifying CTE.
///
/// `ready AS (…)`: the moved jobs now Submitted take their place in the claim order.
macro_rules! enter_ready {
    ($moved:literal) => {
        concat!(
            "ready AS (INSERT INTO job_ready (id, job_level, created_at) SELECT id, job_level, created_at FROM ",
            $moved,
            " WHERE state = ",
            job_state!(Submitted),
            " ON CONFLICT (id) DO NOTHING)"
        )
    };
}
pub(crate) use enter_ready;

/// `retrying AS (…)`: the moved jobs (all Retrying) wait for their `retry_at`.
macro_rules! wait_for_retry {
    ($moved:literal) => {
        concat!(
            "retrying AS (INSERT INTO job_retries (id, retry_at) SELECT id, retry_at FROM ",
            $moved,
            " ON CONFLICT (id) DO UPDATE SET retry_at = EXCLUDED.retry_at)"
        )
    };
}
pub(crate) use wait_for_retry;

/// `unready AS (…), unretried AS (…)`: the moved jobs now Cancel leave the claim order and the
/// retries' wait.
macro_rules! leave_waiting {
    ($moved:literal) => {
        concat!(
            "unready AS (DELETE FROM job_ready x USING ",
            $moved,
            " m WHERE x.id = m.id AND m.state = ",
            job_state!(Cancel),
            "), unretried AS (DELETE FROM job_retries x USING ",
            $moved,
            " m WHERE x.id = m.id AND m.state = ",
            job_state!(Cancel),
            ")"
        )
    };
}
pub(crate) use leave_waiting;

/// `off AS (…), counted AS (…)`: the moved jobs (all out of Running) count themselves off their
/// claims, found by key (the table also holds claims at 0 until the rescuer deletes them:
/// `drop_finished_claims`). As `complete_jobs` does (0019).
macro_rules! count_off_claims {
    ($moved:literal) => {
        concat!(
            "off AS (SELECT claim_id, count(*) AS n FROM ",
            $moved,
            " WHERE claim_id IS NOT NULL GROUP BY claim_id), counted AS (UPDATE job_claims k SET running = k.running - off.n
             FROM off WHERE k.claim_id = ANY(ARRAY(SELECT claim_id FROM off)) AND k.claim_id = off.claim_id)"
        )
    };
}
pub(crate) use count_off_claims;

/// `j` (a row of `jobs`) is Running under `c` (a row of `job_claims`). A claim keeps the ids of
/// every job it leased; one claimed again since carries the newer claim's id.
macro_rules! held_by_claim {
    () => {
        concat!(
            "j.id = ANY(c.ids) AND j.claim_id = c.claim_id AND j.state = ",
            $crate::model::job_state!(Running)
        )
    };
}
pub(crate) use held_by_claim;

/// `FROM` the Running jobs of the claims held, as `r` (`r.id`), narrowed by `$and` (on `j`). Each
/// claim's jobs are read by key; `OFFSET 0` keeps the planner from driving the join from `jobs`.
macro_rules! running_under_claims {
    ($and:literal) => {
        concat!(
            "job_claims c CROSS JOIN LATERAL (SELECT j.id FROM jobs j WHERE ",
            $crate::model::held_by_claim!(),
            $and,
            " OFFSET 0) r WHERE c.running > 0"
        )
    };
}
pub(crate) use running_under_claims;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sql_spells_each_state_as_the_enum_stores_it() {
        use JobState::*;
        let jobs = [
            (Submitted, job_state!(Submitted)),
            (Running, job_state!(Running)),
            (Success, job_state!(Success)),
            (Failed, job_state!(Failed)),
            (Cancel, job_state!(Cancel)),
            (Pause, job_state!(Pause)),
            (Retrying, job_state!(Retrying)),
        ];
        assert_eq!(jobs.len(), JobState::ALL.len());
        for (state, sql) in jobs {
            assert_eq!(sql, (state as i16).to_string(), "{state:?}");
        }
        assert_eq!(job_state!(Success, Failed, Cancel), "2, 3, 4");
        use DeliveryState::*;
        let deliveries = [
            (Pending, delivery_state!(Pending)),
            (Sending, delivery_state!(Sending)),
            (Delivered, delivery_state!(Delivered)),
            (Dead, delivery_state!(Dead)),
            (Skipped, delivery_state!(Skipped)),
        ];
        assert_eq!(deliveries.len(), DeliveryState::ALL.len());
        for (state, sql) in deliveries {
            assert_eq!(sql, (state as i16).to_string(), "{state:?}");
        }
        let batches = [
            (BatchState::Submitted, batch_state!(Submitted)),
            (BatchState::Listing, batch_state!(Listing)),
            (BatchState::Listed, batch_state!(Listed)),
            (BatchState::Failed, batch_state!(Failed)),
            (BatchState::Cancel, batch_state!(Cancel)),
        ];
        assert_eq!(batches.len(), BatchState::ALL.len());
        for (state, sql) in batches {
            assert_eq!(sql, (state as i16).to_string(), "{state:?}");
        }
    }

    #[test]
    fn the_migrations_check_constraints_allow_exactly_these_states() {
        let jobs = include_str!("../../../migrations/0011_job_retries.sql");
        assert!(jobs.contains(&format!("CHECK (state BETWEEN 0 AND {})", JobState::ALL.len() - 1)));
        let deliveries = include_str!("../../../migrations/0003_deliveries.sql");
        assert!(deliveries.contains(&format!("CHECK (state BETWEEN 0 AND {})", DeliveryState::ALL.len() - 1)));
        let batches = include_str!("../../../migrations/0010_batches.sql");
        assert!(batches.contains(&format!("CHECK (state BETWEEN 0 AND {})", BatchState::ALL.len() - 1)));
    }
}
