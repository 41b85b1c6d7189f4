//! The job store: every SQL statement Stowaway runs lives behind this crate (River's "driver"
//! boundary), so the API, the worker and the maintenance services share one definition of the
//! job states and transitions.
//!
//! States: Submitted → Running → Success | Failed; Submitted ↔ Pause (queue paused);
//! Submitted | Pause → Cancel. A Running job whose lease expires goes back to Submitted (rescuer).
//! Completion is fenced by (worker, attempt), so a rescued job is never completed twice.
//! Every statement that makes a job terminal also queues its callback delivery (the outbox);
//! deliveries go Pending → Sending → Delivered | Pending (retry) | Dead | Skipped.

mod batches;
mod deliveries;
mod detail;
mod error;
mod handoff;
mod health;
mod jobs;
mod maintenance;
mod model;
mod outbox;
mod overview;
mod queues;
mod records;
mod submit;
mod triggers;
mod undos;
mod wake;
mod workflows;

pub use batches::{BatchFilter, BatchRecord, ClaimedBatch, PageListed};
pub use deliveries::{
    AttemptLog, ClaimedDelivery, DeliveryOutcome, DeliveryRecord, DeliveryTarget, Message, CALLBACKS_CHANNEL,
};
pub use detail::Run;
pub use error::{Error, Result};
pub use handoff::{Direct, DirectDeliveries, DirectJobs, DirectRoom, HeadStart, Leased};
pub use health::Backlog;
pub use jobs::{Checkpoint, Claimed, Completion};
pub use maintenance::PruneMark;
pub use model::{BatchState, DeliveryState, JobState};
pub use overview::Overview;
pub use queues::{Queue, QueueChange};
pub use records::{CancelRefused, JobFilter, JobRecord};
pub use submit::NewJob;
pub use triggers::{batch_children, job_id_of, run_id_of, REQUEST_BATCH, REQUEST_EVENTS, REQUEST_WORKFLOW};
pub use undos::Undo;
pub use wake::Listener;
pub use workflows::{UpdateRefused, WorkflowFilter, WorkflowRecord};

use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::Connection;

/// Channel the store notifies on (after the commit, coalesced: see `wake.rs`) when jobs become
/// claimable; workers also poll as a backstop.
pub const JOBS_CHANNEL: &str = "stowaway_jobs";

/// Channel the store notifies on when batches are created or handed back; listers also poll.
pub const BATCHES_CHANNEL: &str = "stowaway_batches";

/// Handle to the database; cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    pool: PgPool,
    wakers: Arc<wake::Wakers>,
    handoffs: handoff::Handoffs,
}

impl Store {
    /// Connects, giving up after 5 s (the pool retries refused connections until then) so that
    /// a wrong URL fails fast with one clear line.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Store> {
        let options = Store::session_options(url.parse()?);
        let pool = Store::pool_options(max_connections).connect_with(options).await?;
        Ok(Store::from_pool(pool))
    }

    /// The pool every Stowaway process uses. sqlx pings a connection before handing it out,
    /// which doubles the round trips of the one-statement claim and completion paths; here only
    /// a connection idle for over a second is pinged (a dead one is replaced, not handed out).
    /// One killed less than a second ago fails its statement, which callers retry.
    pub fn pool_options(max_connections: u32) -> PgPoolOptions {
        PgPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(5))
            .test_before_acquire(false)
            .before_acquire(|conn, meta| {
                Box::pin(async move {
                    if meta.idle_for > Duration::from_secs(1) {
                        conn.ping().await?;
                    }
                    Ok(true)
                })
            })
    }

    /// Session settings for every connection: plan each execution with its real arguments. The
    /// batch statements take arrays whose length a cached generic plan cannot know (it joined a
    /// batch to itself row by row: BENCHMARKS.md), while prepared statements save the Parse round
    /// trip an unnamed statement costs on every call. The job path's functions plan once per
    /// connection instead, with plans pinned to indexes (migration 0017).
    pub fn session_options(options: PgConnectOptions) -> PgConnectOptions {
        options.options([("plan_cache_mode", "force_custom_plan")])
    }

    /// A store on `pool`, which should come from [`Store::pool_options`] and
    /// [`Store::session_options`] (tests may use any pool).
    pub fn from_pool(pool: PgPool) -> Store {
        Store { pool, wakers: Arc::default(), handoffs: handoff::Handoffs::default() }
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Applies pending migrations (`migrations/` at the workspace root, embedded at build time).
    pub async fn migrate(&self) -> std::result::Result<(), sqlx::migrate::MigrateError> {
        MIGRATOR.run(&self.pool).await
    }
}

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations");
