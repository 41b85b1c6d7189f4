//! Maintenance services. The rescuer returns jobs whose worker died (lease expired) to the queue;
//! the scheduler returns jobs that waited out a storage outage (Retrying) once due; the pruner
//! deletes finished jobs past their retention in bounded batches. All are
//! `stowaway_engine::Service`s: the process starts them with its other maintenance.
use std::time::Duration;

use stowaway_engine::Service;
use stowaway_store::{Result, Store};
use tokio::sync::watch;

/// Rescuer settings. With the defaults a dead worker's jobs are claimable again within
/// `LEASE` (30 s) + 5 s, inside the 60 s the service promises.
#[derive(Clone, Debug)]
pub struct RescuerConfig {
    pub every: Duration,
    /// A job lost this many times fails instead of going back (a poison object must not loop).
    pub max_attempts: i32,
}

impl Default for RescuerConfig {
    fn default() -> Self {
        RescuerConfig { every: Duration::from_secs(5), max_attempts: 5 }
    }
}

#[derive(Clone, Debug)]
pub struct PrunerConfig {
    pub every: Duration,
    /// Finished jobs stay queryable this long.
    pub retention: Duration,
    /// Rows per DELETE, so pruning never holds long locks or bloats one transaction.
    pub batch: i64,
}

impl Default for PrunerConfig {
    fn default() -> Self {
        PrunerConfig {
            every: Duration::from_secs(60),
            retention: Duration::from_secs(7 * 86400),
            batch: 10_000,
        }
    }
}

/// Returns jobs whose worker stopped heartbeating to the queue (or fails them, see
/// [`RescuerConfig::max_attempts`]).
pub struct JobRescuer {
    pub store: Store,
    pub cfg: RescuerConfig,
}

impl Service for JobRescuer {
    const NAME: &'static str = "job rescuer";

    fn every(&self) -> Duration {
        self.cfg.every
    }

    async fn run_once(&self, _: &watch::Receiver<bool>) -> Result<()> {
        let (rescued, failed) = self.store.rescue_expired(self.cfg.max_attempts).await?;
        if rescued + failed > 0 {
            metrics::counter!("stowaway_jobs_rescued_total").increment(rescued);
            metrics::counter!("stowaway_jobs_finished_total", "state" => "Failed", "suspicious_type" => "none")
                .increment(failed);
            tracing::warn!(rescued, failed, "rescued jobs whose worker stopped heartbeating");
        }
        Ok(())
    }
}

/// Returns jobs whose retry is due to the queue (River's scheduler).
pub struct JobScheduler {
    pub store: Store,
    pub every: Duration,
}

impl Service for JobScheduler {
    const NAME: &'static str = "job scheduler";

    fn every(&self) -> Duration {
        self.every
    }

    async fn run_once(&self, _: &watch::Receiver<bool>) -> Result<()> {
        let due = self.store.promote_due_retries().await?;
        if due > 0 {
            tracing::debug!(due, "jobs due to retry are back in their queues");
        }
        Ok(())
    }
}

/// Deletes finished jobs past their retention, a bounded batch per statement.
pub struct Pruner {
    pub store: Store,
    pub cfg: PrunerConfig,
}

impl Service for Pruner {
    const NAME: &'static str = "pruner";

    fn every(&self) -> Duration {
        self.cfg.every
    }

    async fn run_once(&self, stopping: &watch::Receiver<bool>) -> Result<()> {
        let mut total = 0;
        while !*stopping.borrow() {
            match self.store.prune_finished(self.cfg.retention, self.cfg.batch).await {
                Ok(0) => break,
                Ok(n) => total += n,
                Err(e) if total == 0 => return Err(e),
                Err(e) => {
                    tracing::error!(error = %e, "pruner: database error; retrying next period");
                    break;
                }
            }
        }
        if total > 0 {
            tracing::info!(deleted = total, "pruned finished jobs past retention");
        }
        Ok(())
    }
}
