//! The delivery rescuer: deliveries leased by a notifier that died (perhaps after sending, before
//! recording) go back to Pending once their lease expires. Any notifier may run it.
use std::time::Duration;

use stowaway_store::Store;
use tokio::sync::watch;

pub(crate) async fn run(store: Store, lease: Duration, mut shutdown: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval((lease / 4).max(Duration::from_millis(200)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    while !*shutdown.borrow() {
        tokio::select! {
            _ = tick.tick() => match store.rescue_deliveries().await {
                Ok(0) => {}
                Ok(n) => {
                    metrics::counter!("stowaway_callbacks_rescued_total").increment(n);
                    tracing::warn!(rescued = n, "callbacks of a lost notifier returned to the outbox")
                }
                Err(e) => tracing::error!(error = %e, "rescuing callbacks failed"),
            },
            r = shutdown.changed() => if r.is_err() { break },
        }
    }
}
