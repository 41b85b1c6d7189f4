//! Maintenance services. The rescuer returns jobs whose worker died (lease expired) to the queue;
//! the scheduler returns jobs that waited out a storage outage (Retrying) once due; the pruner
//! deletes finished jobs past their retention in bounded batches. All are
//! `stowaway_engine::Service`s: the process starts them with its other maintenance.
use std::sync::Mutex;
use std::time::{Duration, Instant};

use stowaway_engine::Service;
use stowaway_store::{PruneMark, Result, Store};
use tokio::sync::watch;

/// Rescuer settings. With the defaults a dead worker's jobs are claimable again within
/// `LEASE` (30 s) + 5 s, inside the 60 s the service promises.
#[derive(Clone, Debug)]
pub struct RescuerConfig {
    pub every: Duration,
    /// A job lost this many times fails instead of going back (a poison object must not loop).
    pub max_attempts: i32,
    /// After the database was unreachable, how long live workers get to renew the leases that
    /// ran out meanwhile before their jobs count as lost (more than a heartbeat period).
    pub grace: Duration,
}

impl Default for RescuerConfig {
    fn default() -> Self {
        RescuerConfig { every: Duration::from_secs(5), max_attempts: 5, grace: crate::LEASE / 2 }
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
/// [`RescuerConfig::max_attempts`]). Not right after a database outage: every lease ran out
/// during it, its workers are alive, and their next heartbeat renews them (`Recovery`).
pub struct JobRescuer {
    store: Store,
    cfg: RescuerConfig,
    recovery: Mutex<Recovery>,
}

impl JobRescuer {
    pub fn new(store: Store, cfg: RescuerConfig) -> JobRescuer {
        JobRescuer { store, cfg, recovery: Mutex::new(Recovery::Normal) }
    }
}

/// Whether the database was lately out of reach, as this rescuer's passes found it.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Recovery {
    Normal,
    Down,
    BackAt(Instant),
}

impl Recovery {
    /// The database answered (`true`) or not; whether to rescue now.
    fn may_rescue(&mut self, answered: bool, now: Instant, grace: Duration) -> bool {
        *self = match (*self, answered) {
            (_, false) => Recovery::Down,
            (Recovery::Down, true) => Recovery::BackAt(now),
            (Recovery::BackAt(at), true) if now.duration_since(at) >= grace => Recovery::Normal,
            (state, true) => state,
        };
        *self == Recovery::Normal
    }
}

impl Service for JobRescuer {
    const NAME: &'static str = "job rescuer";

    fn every(&self) -> Duration {
        self.cfg.every
    }

    async fn run_once(&self, _: &watch::Receiver<bool>) -> Result<()> {
        let recovering = *self.recovery.lock().expect("recovery") != Recovery::Normal;
        if recovering {
            let answered = self.store.ping().await;
            let rescue = self.recovery.lock().expect("recovery").may_rescue(
                answered.is_ok(),
                Instant::now(),
                self.cfg.grace,
            );
            answered?;
            if !rescue {
                return Ok(());
            }
        }
        let rescue = self.store.rescue_expired(self.cfg.max_attempts).await;
        if rescue.is_err() {
            self.recovery.lock().expect("recovery").may_rescue(false, Instant::now(), self.cfg.grace);
        }
        let (rescued, failed) = rescue?;
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
        let (mut total, mut mark) = (0, PruneMark::default());
        while !*stopping.borrow() {
            match self.store.prune_finished(self.cfg.retention, self.cfg.batch, &mark).await {
                Ok((0, _)) => break,
                Ok((n, next)) => (total, mark) = (total + n, next),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn after_an_outage_the_rescuer_waits_a_grace_before_counting_leases_lost() {
        let (t0, grace) = (Instant::now(), Duration::from_secs(10));
        let mut r = Recovery::Normal;
        assert!(r.may_rescue(true, t0, grace));
        assert!(!r.may_rescue(false, t0, grace), "down");
        assert!(!r.may_rescue(false, t0 + grace, grace), "still down");
        assert!(!r.may_rescue(true, t0 + grace * 2, grace), "back: the grace starts");
        assert!(!r.may_rescue(true, t0 + grace * 2 + grace / 2, grace));
        assert!(r.may_rescue(true, t0 + grace * 3, grace), "grace over");
        assert!(
            !r.may_rescue(false, t0 + grace * 4, grace) && !r.may_rescue(true, t0 + grace * 4, grace),
            "again"
        );
    }
}
