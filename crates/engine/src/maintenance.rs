//! The maintenance services' one shape (River's): a service knows how to do one pass, and
//! [`Maintenance`] runs each on its own period until shutdown. Rescuers and the pruner are
//! services; the process starts them all in one place.
use std::future::Future;
use std::time::Duration;

use stowaway_store::Result;
use tokio::sync::watch;
use tokio::task::JoinSet;

pub trait Service: Send + Sync + 'static {
    /// For the logs.
    const NAME: &'static str;
    /// The period between passes.
    fn every(&self) -> Duration;
    /// One pass. It reports what it did itself; a failure is logged here and the next period
    /// tries again. A pass of several steps checks `stopping` between them.
    fn run_once(&self, stopping: &watch::Receiver<bool>) -> impl Future<Output = Result<()>> + Send;
}

/// The running services; they stop when the shutdown signal turns true (or its sender is gone).
pub struct Maintenance {
    shutdown: watch::Receiver<bool>,
    services: JoinSet<()>,
}

impl Maintenance {
    pub fn new(shutdown: watch::Receiver<bool>) -> Maintenance {
        Maintenance { shutdown, services: JoinSet::new() }
    }

    /// Starts `service`: its first pass runs at once.
    pub fn start<S: Service>(&mut self, service: S) {
        let mut shutdown = self.shutdown.clone();
        self.services.spawn(async move {
            let mut tick = tokio::time::interval(service.every());
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            while !*shutdown.borrow() {
                tokio::select! {
                    _ = tick.tick() => if let Err(e) = service.run_once(&shutdown).await {
                        tracing::error!(error = %e, "{}: database error; retrying next period", S::NAME);
                    },
                    r = shutdown.changed() => if r.is_err() { break },
                }
            }
        });
    }

    /// Waits until every service has stopped (after shutdown).
    pub async fn stopped(mut self) {
        while self.services.join_next().await.is_some() {}
    }
}
