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
mod health;
mod jobs;
mod maintenance;
mod queues;
mod records;

pub use batches::record_in_batches;
pub use deliveries::{
    AttemptLog, ClaimedDelivery, DeliveryOutcome, DeliveryRecord, DeliveryState, DeliveryTarget,
    CALLBACKS_CHANNEL,
};
pub use health::Backlog;
pub use jobs::{Claimed, Completion, JobState, NewJob};
pub use queues::{Queue, QueueChange};
pub use records::{CancelRefused, JobFilter, JobRecord};

use sqlx::postgres::{PgListener, PgPool, PgPoolOptions};

/// Channel the store notifies on (once per insert statement, never per row) when jobs become
/// claimable; workers also poll as a backstop.
pub const JOBS_CHANNEL: &str = "stowaway_jobs";

pub type Result<T> = std::result::Result<T, sqlx::Error>;

/// Handle to the database; cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    pool: PgPool,
}

impl Store {
    /// Connects, giving up after 5 s (the pool retries refused connections until then) so that
    /// a wrong URL fails fast with one clear line.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Store> {
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(std::time::Duration::from_secs(5))
            .connect(url)
            .await?;
        Ok(Store { pool })
    }

    pub fn from_pool(pool: PgPool) -> Store {
        Store { pool }
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// A LISTEN connection on `channel`, or None when one cannot be had (callers poll anyway).
    pub async fn listen(&self, channel: &str) -> Option<PgListener> {
        let mut l = PgListener::connect_with(&self.pool).await.ok()?;
        l.listen(channel).await.ok()?;
        Some(l)
    }

    /// Applies pending migrations (`migrations/` at the workspace root, embedded at build time).
    pub async fn migrate(&self) -> std::result::Result<(), sqlx::migrate::MigrateError> {
        MIGRATOR.run(&self.pool).await
    }
}

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations");

/// Waits for the next notification on a [`Store::listen`] connection; without one, waits forever
/// (the caller's poll takes over). Err when the connection dropped: listen again.
pub async fn next_notification(listener: &mut Option<PgListener>) -> std::result::Result<(), ()> {
    match listener {
        Some(l) => {
            l.recv().await.map(|_| ()).map_err(|e| tracing::warn!(error = %e, "LISTEN connection lost"))
        }
        None => std::future::pending().await,
    }
}
