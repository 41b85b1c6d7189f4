//! Deliveries handed straight to a notifier in the same process (`stowaway serve` runs every part
//! in one). The statement that records verdicts inserts their deliveries already leased to that
//! notifier, exactly as its claim would have, and returns them with their jobs; the notifier
//! starts sending without a wake-up and a claim round trip of its own (verdict→callback at half
//! load fell from ~7 to ~4.5 ms, BENCHMARKS.md). Crash safety is the claim's: the rows are
//! leased, so the rescuer returns them if the process dies, and a notifier that stopped taking
//! them gets them released.
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::mpsc;
use uuid::Uuid;

use crate::{ClaimedDelivery, Store};

/// The notifier that takes deliveries directly, if one runs in this process.
#[derive(Debug, Default)]
pub(crate) struct Handoff {
    taker: Mutex<Option<Taker>>,
}

#[derive(Clone, Debug)]
pub(crate) struct Taker {
    pub(crate) notifier: Uuid,
    pub(crate) lease: Duration,
    room: DirectRoom,
    tx: mpsc::UnboundedSender<Vec<ClaimedDelivery>>,
}

/// A notifier's end: the deliveries handed to it, and its room.
#[derive(Debug)]
pub struct DirectDeliveries {
    store: Store,
    notifier: Uuid,
    room: DirectRoom,
    rx: mpsc::UnboundedReceiver<Vec<ClaimedDelivery>>,
}

/// How many more deliveries a notifier takes directly. The notifier says what its own window
/// has room for (`offer`); the store counts what it promised meanwhile and the notifier has not
/// taken into that window yet (`promised`: reserved for a verdict statement, or on the way).
#[derive(Clone, Debug, Default)]
pub struct DirectRoom(Arc<Mutex<Room>>);

#[derive(Debug, Default)]
struct Room {
    offer: usize,
    promised: usize,
}

impl DirectRoom {
    /// The notifier's window has room for `n` more.
    pub fn offer(&self, n: usize) {
        self.0.lock().expect("room").offer = n;
    }

    /// `n` handed over are now in the notifier's window (and its offer).
    pub fn taken(&self, n: usize) {
        let mut r = self.0.lock().expect("room");
        r.promised = r.promised.saturating_sub(n);
    }

    /// How many more a verdict statement may hand over now.
    pub fn free(&self) -> usize {
        let r = self.0.lock().expect("room");
        r.offer.saturating_sub(r.promised)
    }

    fn reserve(&self, n: usize) -> bool {
        let mut r = self.0.lock().expect("room");
        let fits = r.offer.saturating_sub(r.promised) >= n;
        if fits {
            r.promised += n;
        }
        fits
    }
}

/// Room reserved for one verdict statement's deliveries; given back when dropped unless handed
/// over (a failed or cancelled statement, or rows that could not be read).
pub(crate) struct Reservation {
    pub(crate) taker: Taker,
    n: usize,
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.taker.room.taken(self.n); // no longer promised
    }
}

impl Store {
    /// Makes `notifier` (holding deliveries for `lease`) the one that verdicts recorded through
    /// this store hand their deliveries to, while it offers room (see [`DirectDeliveries::room`];
    /// none at first). One per store: a later call replaces the earlier.
    pub fn take_deliveries_directly(&self, notifier: Uuid, lease: Duration) -> DirectDeliveries {
        let (tx, rx) = mpsc::unbounded_channel();
        let room = DirectRoom::default();
        *self.handoff.taker.lock().expect("handoff") =
            Some(Taker { notifier, lease, room: room.clone(), tx });
        DirectDeliveries { store: self.clone(), notifier, room, rx }
    }

    /// Room for `n` deliveries with the notifier in this process, if there is one with that much.
    pub(crate) fn reserve_direct(&self, n: usize) -> Option<Reservation> {
        let taker = self.handoff.taker.lock().expect("handoff").clone()?;
        taker.room.reserve(n).then_some(Reservation { taker, n })
    }

    /// Hands `deliveries`, leased to the reservation's notifier by a committed statement, over;
    /// the room they did not use is given back. Released to the outbox if the notifier stopped
    /// taking them meanwhile.
    pub(crate) async fn hand_over(&self, mut reservation: Reservation, deliveries: Vec<ClaimedDelivery>) {
        let handed = deliveries.len().min(reservation.n);
        reservation.n -= handed; // the rest is given back on drop
        let taker = reservation.taker.clone();
        drop(reservation);
        if deliveries.is_empty() {
            return;
        }
        if let Err(unsent) = taker.tx.send(deliveries) {
            taker.room.taken(handed);
            let ids: Vec<i64> = unsent.0.iter().map(|d| d.delivery_id).collect();
            self.release_unsent(taker.notifier, &ids).await;
        }
    }

    /// Releases deliveries leased to `notifier` that it will not send, logging a failure (the
    /// rescuer returns them once their lease ends).
    pub(crate) async fn release_unsent(&self, notifier: Uuid, ids: &[i64]) {
        if let Err(e) = self.release_deliveries(notifier, ids).await {
            tracing::error!(error = %e, "could not hand callbacks back; the rescuer will");
        }
    }
}

impl DirectDeliveries {
    /// Where the notifier offers room and reports what it took.
    pub fn room(&self) -> DirectRoom {
        self.room.clone()
    }

    /// The next deliveries handed over; `None` once closed. Once they are in the notifier's
    /// window, it reports them [`DirectRoom::taken`].
    pub async fn recv(&mut self) -> Option<Vec<ClaimedDelivery>> {
        self.rx.recv().await
    }

    /// Takes no more (later hand-overs are released to the outbox by the store) and returns the
    /// ids of those handed over but not yet received, for the notifier to release.
    pub async fn close(&mut self) -> Vec<i64> {
        self.stop_taking();
        self.rx.close();
        // After `close`, `recv` still returns every batch a sender got in, then `None`.
        let mut left = Vec::new();
        while let Some(batch) = self.rx.recv().await {
            left.extend(batch.iter().map(|d| d.delivery_id));
        }
        left
    }

    fn stop_taking(&self) {
        let mut taker = self.store.handoff.taker.lock().expect("handoff");
        if taker.as_ref().is_some_and(|t| t.notifier == self.notifier) {
            *taker = None;
        }
    }
}

impl Drop for DirectDeliveries {
    fn drop(&mut self) {
        self.stop_taking();
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use sqlx::PgPool;

    use super::*;
    use crate::{Completion, NewJob};

    #[sqlx::test(migrator = "crate::MIGRATOR")]
    async fn deliveries_a_notifier_stopped_taking_meanwhile_go_back_to_the_outbox(pool: PgPool) {
        let store = Store::from_pool(pool);
        let bucket = "examplebucket-1250000000";
        let queue = store.ensure_queue(bucket, "ap-chongqing").await.unwrap();
        let job = NewJob {
            job_id: "c1".into(),
            queue_id: queue.queue_id,
            bucket: bucket.into(),
            region: "ap-chongqing".into(),
            object: "a.png".into(),
            job_level: 0,
            request: json!({"callback": "https://example.com/cb"}),
        };
        store.insert_jobs(&[job]).await.unwrap();
        let worker = Uuid::new_v4();
        let claimed = store.claim(worker, 1, Duration::from_secs(60)).await.unwrap();
        let mut direct = store.take_deliveries_directly(Uuid::new_v4(), Duration::from_secs(60));
        direct.room().offer(1);
        direct.rx.close(); // as if it stopped while the verdict's statement ran
        store.complete(worker, &[Completion::success(&claimed[0], None)]).await.unwrap();
        let row: (i16, i32, Option<Uuid>) =
            sqlx::query_as("SELECT state, attempt, locked_by FROM deliveries")
                .fetch_one(store.pool())
                .await
                .unwrap();
        assert_eq!(row, (0, 0, None), "Pending again, its attempt not used up");
    }
}
