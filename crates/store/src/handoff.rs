//! Work handed straight to a loop in the same process (`stowaway serve` runs every part in one),
//! instead of through the table and a claim:
//! - a submit inserts its jobs already claimed by the worker here (`submit.rs`), and hands them
//!   over once committed;
//! - a verdict inserts its callback deliveries already leased to the notifier here (`jobs.rs`),
//!   and hands them over once committed.
//!
//! The loop starts without a wake-up and a claim round trip of its own (BENCHMARKS.md, at half
//! load: verdict→callback ~7 → ~4.5 ms; then submit→callback p50 16.2 → 11.7 ms). Crash safety
//! is the claim's: the rows are leased, so the rescuer returns them if the process dies, and
//! what a loop that stopped taking never received is released.
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::mpsc;
use uuid::Uuid;

use crate::{Claimed, ClaimedBatch, ClaimedDelivery, Completion, DeliveryOutcome, NewJob, Store};

/// The loop that takes rows of one kind (jobs or deliveries) directly, if one runs here.
#[derive(Debug)]
pub(crate) struct Handoff<T> {
    taker: Mutex<Option<Taker<T>>>,
}

impl<T> Default for Handoff<T> {
    fn default() -> Handoff<T> {
        Handoff { taker: Mutex::new(None) }
    }
}

#[derive(Debug)]
pub(crate) struct Taker<T> {
    /// The worker or notifier the rows are leased to, and for how long.
    pub(crate) holder: Uuid,
    pub(crate) lease: Duration,
    room: DirectRoom,
    tx: mpsc::UnboundedSender<Vec<T>>,
}

impl<T> Clone for Taker<T> {
    fn clone(&self) -> Taker<T> {
        Taker { holder: self.holder, lease: self.lease, room: self.room.clone(), tx: self.tx.clone() }
    }
}

/// Work held under a lease, and its outcome: the row's id in its table and the attempt the
/// lease is for (a row claimed again gets a new attempt, so the pair names one lease).
pub trait Leased: Send + 'static {
    fn lease(&self) -> (i64, i32);
}

impl Leased for Claimed {
    fn lease(&self) -> (i64, i32) {
        (self.id, self.attempt)
    }
}

impl Leased for ClaimedDelivery {
    fn lease(&self) -> (i64, i32) {
        (self.delivery_id, self.attempt)
    }
}

impl Leased for Completion {
    fn lease(&self) -> (i64, i32) {
        (self.id, self.attempt)
    }
}

impl Leased for DeliveryOutcome {
    fn lease(&self) -> (i64, i32) {
        (self.delivery_id, self.attempt)
    }
}

/// A loop's end: the rows handed to it, and its room.
#[derive(Debug)]
pub struct Direct<T> {
    handoff: Arc<Handoff<T>>,
    holder: Uuid,
    room: DirectRoom,
    rx: mpsc::UnboundedReceiver<Vec<T>>,
}

/// Deliveries handed to the notifier in this process.
pub type DirectDeliveries = Direct<ClaimedDelivery>;
/// Jobs handed to the worker in this process.
pub type DirectJobs = Direct<Claimed>;

/// How many more rows a loop takes directly. The loop says what it has room for (`offer`); the
/// store counts what it promised meanwhile and the loop has not taken yet (`promised`: reserved
/// for a statement, or on the way).
#[derive(Clone, Debug, Default)]
pub struct DirectRoom(Arc<Mutex<Room>>);

#[derive(Debug, Default)]
struct Room {
    offer: usize,
    promised: usize,
}

impl DirectRoom {
    /// The loop has room for `n` more.
    pub fn offer(&self, n: usize) {
        self.0.lock().expect("room").offer = n;
    }

    /// `n` handed over are now held by the loop (and out of its offer).
    pub fn taken(&self, n: usize) {
        let mut r = self.0.lock().expect("room");
        r.promised = r.promised.saturating_sub(n);
    }

    /// Offers nothing until the next `offer`, and returns how many are promised, a count that
    /// can only fall until then: the loop's own claim can count on the rest.
    pub fn withdraw(&self) -> usize {
        let mut r = self.0.lock().expect("room");
        r.offer = 0;
        r.promised
    }

    /// How many were promised and are not taken yet.
    pub fn promised(&self) -> usize {
        self.0.lock().expect("room").promised
    }

    /// How many more a statement may hand over now.
    pub fn free(&self) -> usize {
        let r = self.0.lock().expect("room");
        r.offer.saturating_sub(r.promised)
    }

    /// Promises `n` if they fit: what the store does before a statement that hands rows over
    /// (public for tests of a loop's own accounting).
    pub fn promise(&self, n: usize) -> bool {
        let mut r = self.0.lock().expect("room");
        let fits = r.offer.saturating_sub(r.promised) >= n;
        if fits {
            r.promised += n;
        }
        fits
    }
}

/// Room reserved for one statement's rows; given back when dropped unless handed over (a failed
/// or cancelled statement, rows that could not be read, or rows the statement did not lease).
pub(crate) struct Reservation<T> {
    pub(crate) taker: Taker<T>,
    n: usize,
}

impl<T> Drop for Reservation<T> {
    fn drop(&mut self) {
        self.taker.room.taken(self.n); // no longer promised
    }
}

impl<T: Leased> Reservation<T> {
    /// Hands `rows`, leased to the taker by a committed statement, over; the room they did not
    /// use is given back. The ids of those the loop will never receive (it stopped taking
    /// meanwhile) come back, for the caller to release.
    pub(crate) fn hand_over(mut self, rows: Vec<T>) -> Vec<i64> {
        let handed = rows.len().min(self.n);
        self.n -= handed; // the rest is given back on drop
        if rows.is_empty() {
            return Vec::new();
        }
        match self.taker.tx.send(rows) {
            Ok(()) => Vec::new(),
            Err(unsent) => {
                self.taker.room.taken(handed);
                unsent.0.iter().map(|r| r.lease().0).collect()
            }
        }
    }
}

impl<T: Leased> Handoff<T> {
    /// Makes `holder` (holding rows for `lease`) the loop rows are handed to, while it offers
    /// room (none at first). One per kind and store: a later call replaces the earlier.
    pub(crate) fn register(self: &Arc<Self>, holder: Uuid, lease: Duration) -> Direct<T> {
        let (tx, rx) = mpsc::unbounded_channel();
        let room = DirectRoom::default();
        *self.taker.lock().expect("handoff") = Some(Taker { holder, lease, room: room.clone(), tx });
        Direct { handoff: self.clone(), holder, room, rx }
    }

    /// How many rows a statement could hand to the loop in this process now (0: none registered).
    fn free(&self) -> usize {
        self.taker.lock().expect("handoff").as_ref().map_or(0, |t| t.room.free())
    }

    /// Room for `n` rows with the loop in this process, if there is one with that much.
    pub(crate) fn reserve(&self, n: usize) -> Option<Reservation<T>> {
        let taker = self.taker.lock().expect("handoff").clone()?;
        taker.room.promise(n).then_some(Reservation { taker, n })
    }
}

impl<T: Leased> Direct<T> {
    /// Where the loop offers room and reports what it took.
    pub fn room(&self) -> DirectRoom {
        self.room.clone()
    }

    /// The next rows handed over; `None` once closed. Once the loop holds them, it reports them
    /// [`DirectRoom::taken`].
    pub async fn recv(&mut self) -> Option<Vec<T>> {
        self.rx.recv().await
    }

    /// Takes no more (later hand-overs are released by the store) and returns the ids of those
    /// handed over but not yet received, for the loop to release.
    pub async fn close(&mut self) -> Vec<i64> {
        self.stop_taking();
        self.rx.close();
        // After `close`, `recv` still returns every batch a sender got in, then `None`.
        let mut left = Vec::new();
        while let Some(batch) = self.rx.recv().await {
            left.extend(batch.iter().map(|r| r.lease().0));
        }
        left
    }
}

impl<T> Direct<T> {
    fn stop_taking(&self) {
        let mut taker = self.handoff.taker.lock().expect("handoff");
        if taker.as_ref().is_some_and(|t| t.holder == self.holder) {
            *taker = None;
        }
    }
}

impl<T> Drop for Direct<T> {
    fn drop(&mut self) {
        self.stop_taking();
    }
}

impl Store {
    /// Makes `notifier` (holding deliveries for `lease`) the one that verdicts recorded through
    /// this store hand their deliveries to, while it offers room (see [`Direct::room`]).
    pub fn take_deliveries_directly(&self, notifier: Uuid, lease: Duration) -> DirectDeliveries {
        self.handoffs.deliveries.register(notifier, lease)
    }

    /// Makes `worker` (holding jobs for `lease`) the one that submits through this store hand
    /// their jobs to, while it offers room (see [`Direct::room`]).
    pub fn take_jobs_directly(&self, worker: Uuid, lease: Duration) -> DirectJobs {
        self.handoffs.jobs.register(worker, lease)
    }

    /// How many deliveries verdicts recorded now would hand to the notifier in this process.
    pub fn direct_delivery_room(&self) -> usize {
        self.handoffs.deliveries.free()
    }

    /// Tells `head_start`, before each submit statement that hands jobs to `worker` runs, which
    /// jobs it is about to hand over: the worker may start fetching their objects while the
    /// statement commits. Jobs it is told of may still never arrive (the statement failed, the
    /// queue is paused, a run was inserted before).
    pub fn tell_jobs_ahead(&self, worker: Uuid, head_start: HeadStart) {
        *self.handoffs.jobs_ahead.0.lock().expect("ahead") = Some((worker, head_start));
    }

    /// Tells `worker` of no more jobs (it stopped); another worker's registration is kept.
    pub fn stop_telling_jobs_ahead(&self, worker: Uuid) {
        let mut ahead = self.handoffs.jobs_ahead.0.lock().expect("ahead");
        if ahead.as_ref().is_some_and(|t| t.0 == worker) {
            *ahead = None;
        }
    }

    /// The batch lister's end of the engine's hand-over (nothing is handed to it).
    pub fn take_batches_directly(&self, lister: Uuid, lease: Duration) -> Direct<ClaimedBatch> {
        self.handoffs.batches.register(lister, lease)
    }
}

/// What a submit about to hand jobs over calls first ([`Store::tell_jobs_ahead`]).
pub type HeadStart = Arc<dyn Fn(&[NewJob]) + Send + Sync>;

/// The worker told of jobs ahead, and how.
#[derive(Clone, Default)]
pub(crate) struct JobsAhead(Arc<Mutex<Option<(Uuid, HeadStart)>>>);

impl JobsAhead {
    /// Tells `worker`, if it asked, of `jobs` about to be handed to it.
    pub(crate) fn tell(&self, worker: Uuid, jobs: &[NewJob]) {
        let told = self.0.lock().expect("ahead").as_ref().filter(|t| t.0 == worker).map(|t| t.1.clone());
        if let Some(head_start) = told {
            head_start(jobs);
        }
    }
}

impl std::fmt::Debug for JobsAhead {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JobsAhead")
    }
}

/// One hand-over per kind of row, shared by a store's clones.
#[derive(Clone, Debug, Default)]
pub(crate) struct Handoffs {
    pub(crate) jobs: Arc<Handoff<Claimed>>,
    pub(crate) jobs_ahead: JobsAhead,
    pub(crate) deliveries: Arc<Handoff<ClaimedDelivery>>,
    /// Nothing hands batches over (a claim follows the wake-up); the lister still registers.
    pub(crate) batches: Arc<Handoff<ClaimedBatch>>,
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use sqlx::PgPool;

    use super::*;
    use crate::{Completion, JobState, NewJob};

    async fn one_job(store: &Store, request: serde_json::Value) -> String {
        let bucket = "examplebucket-1250000000";
        let queue = store.ensure_queue(bucket, "ap-chongqing").await.unwrap();
        let job = NewJob {
            job_id: "c1".into(),
            queue_id: queue.queue_id,
            bucket: bucket.into(),
            region: "ap-chongqing".into(),
            object: "a.png".into(),
            job_level: 0,
            request,
            once: false,
        };
        store.insert_jobs(&[job]).await.unwrap();
        "c1".into()
    }

    #[sqlx::test(migrator = "crate::MIGRATOR")]
    async fn deliveries_a_notifier_stopped_taking_meanwhile_go_back_to_the_outbox(pool: PgPool) {
        let store = Store::from_pool(pool);
        one_job(&store, json!({"callback": "https://example.com/cb"})).await;
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

    #[sqlx::test(migrator = "crate::MIGRATOR")]
    async fn jobs_a_worker_stopped_taking_meanwhile_go_back_to_the_queue(pool: PgPool) {
        let store = Store::from_pool(pool);
        let mut direct = store.take_jobs_directly(Uuid::new_v4(), Duration::from_secs(60));
        direct.room().offer(1);
        direct.rx.close(); // as if it stopped while the submit's statement ran
        let id = one_job(&store, json!({})).await;
        assert_eq!(store.states(&[id]).await.unwrap()[0].1, JobState::Submitted);
        let row: (i32, Option<Uuid>) =
            sqlx::query_as("SELECT attempt, locked_by FROM jobs").fetch_one(store.pool()).await.unwrap();
        assert_eq!(row, (1, None), "claimable again");
    }
}
