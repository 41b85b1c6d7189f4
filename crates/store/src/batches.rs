//! The write-behind both job loops use: workers record verdicts, notifiers record delivery
//! outcomes, as batches of whatever has gathered (one statement each, River's batched completer).
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinSet;

use crate::Result;

/// Batches written at once. With one, an item arriving during a write waited for that write's
/// commit before its own could start; with two, it starts at once unless both are busy.
const WRITERS: usize = 2;

/// Records items as they arrive until every sender is gone: whatever has gathered (up to 1,000)
/// goes to one `write`, with up to [`WRITERS`] writes in flight. A failed write is retried with
/// backoff; the items are lost only if the process dies meanwhile, and the rescuers cover that.
/// `write` returns how many it recorded; fewer means leases were lost to a rescue, and those
/// items are dropped (`what` names them in the log).
pub async fn record_in_batches<T, W, F>(mut rx: mpsc::UnboundedReceiver<T>, what: &'static str, write: W)
where
    T: Send + Sync + 'static,
    W: Fn(Arc<Vec<T>>) -> F + Send + Sync + 'static,
    F: Future<Output = Result<usize>> + Send + 'static,
{
    let write = Arc::new(write);
    let mut writing = JoinSet::new();
    let mut open = true;
    while open || !writing.is_empty() {
        let mut batch = Vec::new();
        tokio::select! {
            // Cancel safe: nothing is taken from the channel unless this branch completes.
            n = rx.recv_many(&mut batch, 1000), if open && writing.len() < WRITERS => {
                if n == 0 {
                    open = false;
                    continue;
                }
                writing.spawn(write_batch(write.clone(), Arc::new(batch), what));
            }
            Some(_) = writing.join_next(), if !writing.is_empty() => {}
        }
    }
}

async fn write_batch<T, W, F>(write: Arc<W>, batch: Arc<Vec<T>>, what: &'static str)
where
    W: Fn(Arc<Vec<T>>) -> F,
    F: Future<Output = Result<usize>>,
{
    let mut delay = Duration::from_millis(100);
    loop {
        match write(batch.clone()).await {
            Ok(n) if n < batch.len() => {
                tracing::warn!(lost = batch.len() - n, "{what} whose lease was lost were dropped");
                return;
            }
            Ok(_) => return,
            Err(e) => {
                tracing::error!(error = %e, count = batch.len(), "recording {what} failed; retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
            }
        }
    }
}
