//! The delivery rescuer: deliveries leased by a notifier that died (perhaps after sending, before
//! recording) go back to Pending once their lease expires. Any notifier process may run it.
use std::time::Duration;

use stowaway_engine::Service;
use stowaway_store::{Result, Store};
use tokio::sync::watch;

pub struct DeliveryRescuer {
    pub store: Store,
    /// The notifiers' lease: the rescuer looks four times per lease.
    pub lease: Duration,
}

impl Service for DeliveryRescuer {
    const NAME: &'static str = "callback rescuer";

    fn every(&self) -> Duration {
        (self.lease / 4).max(Duration::from_millis(200))
    }

    async fn run_once(&self, _: &watch::Receiver<bool>) -> Result<()> {
        let n = self.store.rescue_deliveries().await?;
        if n > 0 {
            metrics::counter!("stowaway_callbacks_rescued_total").increment(n);
            tracing::warn!(rescued = n, "callbacks of a lost notifier returned to the outbox");
        }
        Ok(())
    }
}
