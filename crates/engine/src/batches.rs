//! The lease loop's write-behind: outcomes are recorded as batches of whatever has gathered (one
//! statement each, River's batched completer).
use std::time::Duration;

use tokio::sync::mpsc;

use stowaway_store::Result;

const MAX_BATCH: usize = 1000;
/// A batch this size already spreads a statement's fixed cost; it is written at once.
const GATHER_BELOW: usize = 64;

/// Records items as they arrive until every sender is gone: whatever has gathered (up to 1,000)
/// goes to one `write`; a batch of fewer than `GATHER_BELOW` first waits for more as long as
/// `gather()`, asked when the batch is ready, says (fewer, larger statements leave CPU to the
/// rest). A failed write is retried with backoff; the items are lost only if the process dies
/// meanwhile, and the rescuers cover that. `write` returns how many it recorded; fewer means
/// leases were lost to a rescue, and those items are dropped (`what` names them in the log).
pub(crate) async fn record_in_batches<T>(
    mut rx: mpsc::UnboundedReceiver<T>,
    what: &'static str,
    gather: impl Fn() -> Option<Duration>,
    mut write: impl AsyncFnMut(&[T]) -> Result<usize>,
) {
    let mut batch = Vec::new();
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let wait = if batch.len() < GATHER_BELOW { gather() } else { None };
        if let Some(wait) = wait {
            tokio::time::sleep(wait).await;
            while batch.len() < MAX_BATCH {
                match rx.try_recv() {
                    Ok(item) => batch.push(item),
                    Err(_) => break,
                }
            }
        }
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

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;
    use std::sync::{Arc, Mutex};

    use super::*;

    /// Sends `groups` of items 100 ms apart; returns the sizes of the batches written.
    async fn batch_sizes(
        groups: &[usize],
        gather: impl Fn() -> Option<Duration> + Send + 'static,
    ) -> Vec<usize> {
        let (tx, rx) = mpsc::unbounded_channel();
        let sizes = Arc::new(Mutex::new(Vec::new()));
        let recorder = tokio::spawn(record_in_batches(rx, "items", gather, {
            let sizes = sizes.clone();
            async move |batch: &[u32]| {
                sizes.lock().unwrap().push(batch.len());
                Ok(batch.len())
            }
        }));
        for (i, &n) in groups.iter().enumerate() {
            if i > 0 {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            (0..n).for_each(|_| tx.send(1).unwrap());
        }
        drop(tx);
        recorder.await.unwrap();
        Arc::try_unwrap(sizes).unwrap().into_inner().unwrap()
    }

    #[tokio::test]
    async fn a_few_outcomes_wait_for_more_and_a_full_batch_does_not() {
        assert_eq!(batch_sizes(&[1, 2], || None).await, [1, 2], "without gather, each as it comes");
        let gather = || Some(Duration::from_secs(1));
        assert_eq!(batch_sizes(&[1, 2], gather).await, [3], "one statement for all three");
        assert_eq!(batch_sizes(&[GATHER_BELOW, 2], gather).await, [GATHER_BELOW, 2], "written at once");
    }

    #[tokio::test]
    async fn whether_to_gather_is_asked_for_each_batch() {
        let asked = std::sync::atomic::AtomicUsize::new(0);
        let first_not = move || (asked.fetch_add(1, Ordering::Relaxed) > 0).then_some(Duration::from_secs(1));
        assert_eq!(batch_sizes(&[1, 2, 2], first_not).await, [1, 4]);
    }
}
