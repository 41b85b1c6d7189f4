//! The lease loop's write-behind: outcomes are recorded as batches of whatever has gathered (one
//! statement each, River's batched completer).
use std::time::Duration;

use tokio::sync::mpsc;

use stowaway_store::Result;

/// Records items as they arrive until every sender is gone: whatever has gathered (up to 1,000)
/// goes to one `write`. A failed write is retried with backoff; the items are lost only if the
/// process dies meanwhile, and the rescuers cover that. `write` returns how many it recorded;
/// fewer means leases were lost to a rescue, and those items are dropped (`what` names them in
/// the log).
pub(crate) async fn record_in_batches<T>(
    mut rx: mpsc::UnboundedReceiver<T>,
    what: &'static str,
    mut write: impl AsyncFnMut(&[T]) -> Result<usize>,
) {
    let mut batch = Vec::new();
    while rx.recv_many(&mut batch, 1000).await > 0 {
        let mut delay = Duration::from_millis(100);
        loop {
            match write(&batch).await {
                Ok(n) if n < batch.len() => {
                    tracing::warn!(lost = batch.len() - n, "{what} whose lease was lost were dropped");
                    break;
                }
                Ok(_) => break,
                Err(e) => {
                    tracing::error!(error = %e, count = batch.len(), "recording {what} failed; retrying");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(5));
                }
            }
        }
        batch.clear();
    }
}
