//! Maintenance services. The rescuer returns jobs whose worker died (lease expired) to the queue;
//! the pruner deletes finished jobs past their retention in bounded batches. Each runs on its own
//! interval until `shutdown` turns true.
use std::time::Duration;

use stowaway_store::Store;
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

/// Runs until `shutdown` is true (or its sender is dropped).
pub async fn run_rescuer(store: Store, cfg: RescuerConfig, mut shutdown: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(cfg.every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    while !*shutdown.borrow() {
        tokio::select! {
            _ = tick.tick() => match store.rescue_expired(cfg.max_attempts).await {
                Ok((0, 0)) => {}
                Ok((rescued, failed)) => {
                    metrics::counter!("stowaway_jobs_rescued_total").increment(rescued);
                    metrics::counter!("stowaway_jobs_finished_total", "state" => "Failed", "suspicious_type" => "none")
                        .increment(failed);
                    tracing::warn!(rescued, failed, "rescued jobs whose worker stopped heartbeating")
                }
                Err(e) => tracing::error!(error = %e, "rescuer: database error; retrying next period"),
            },
            r = shutdown.changed() => if r.is_err() { break },
        }
    }
}

/// Runs until `shutdown` is true (or its sender is dropped).
pub async fn run_pruner(store: Store, cfg: PrunerConfig, mut shutdown: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(cfg.every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    while !*shutdown.borrow() {
        tokio::select! {
            _ = tick.tick() => prune_all(&store, &cfg, &shutdown).await,
            r = shutdown.changed() => if r.is_err() { break },
        }
    }
}

async fn prune_all(store: &Store, cfg: &PrunerConfig, shutdown: &watch::Receiver<bool>) {
    let mut total = 0;
    while !*shutdown.borrow() {
        match store.prune_finished(cfg.retention, cfg.batch).await {
            Ok(0) => break,
            Ok(n) => total += n,
            Err(e) => {
                tracing::error!(error = %e, "pruner: database error; retrying next period");
                break;
            }
        }
    }
    if total > 0 {
        tracing::info!(deleted = total, "pruned finished jobs past retention");
    }
}
