//! The lease loop: claim when woken, when room was freed, after a full claim, or at the poll; take
//! what a statement in this process handed over (`store`'s `handoff.rs`) without claiming after
//! it; run items concurrently; heartbeat their leases; record outcomes in batches; on shutdown,
//! let running items finish for `drain` and hand the rest back. No transaction is open while an
//! item runs.
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use stowaway_store::{Direct, Leased, Listener, Result};
use tokio::sync::{mpsc, watch, Notify};
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::batches::record_in_batches;

/// One kind of leased work: the store's operations on it, and running one item.
pub trait Consumer: Send + Sync + 'static {
    /// A claimed or handed-over item.
    type Item: Leased;
    /// What running one produces, recorded in batches.
    type Outcome: Leased + Sync;
    /// How [`Capacity`] counts an item (the notifier: whether it is a Kafka send).
    type Class: Send;
    /// What the logs call the items and their outcomes.
    const ITEMS: &'static str;
    const OUTCOMES: &'static str;

    /// Claims up to `k` items under this consumer's lease, in one statement.
    fn claim(&self, k: usize) -> impl Future<Output = Result<Vec<Self::Item>>> + Send;
    /// The item's class, and its run (spawned, many at once; dropped unpolled if the item is
    /// held already, so nothing may happen before it is polled).
    fn start(
        &self,
        item: Self::Item,
    ) -> (Self::Class, impl Future<Output = Ran<Self::Outcome>> + Send + 'static);
    /// Records outcomes in one statement, fenced by lease; returns how many were still held.
    fn record(&self, batch: &[Self::Outcome]) -> impl Future<Output = Result<usize>> + Send;
    /// Hands items back unfinished (shutdown); returns how many were.
    fn release(&self, ids: &[i64]) -> impl Future<Output = Result<u64>> + Send;
    /// Extends the leases on `ids` (every [`LoopConfig::heartbeat`]); returns those still held.
    fn heartbeat(&self, ids: &[i64]) -> impl Future<Output = Result<Vec<i64>>> + Send {
        let held = ids.to_vec();
        async move { Ok(held) }
    }
    /// Shutdown has begun: items that have not really started should end [`Ran::Unstarted`].
    fn stop_starting(&self) {}
}

/// How one run ended.
pub enum Ran<O> {
    /// Record this.
    Done(O),
    /// Nothing to record: the lease was lost meanwhile (the item is someone else's now).
    Lost,
    /// Cut off by shutdown before it began: it stays held, and is handed back.
    Unstarted,
}

/// How much a loop holds, and the room it offers to hand-overs (`store::DirectRoom`). Called
/// under one lock, so the room offered follows every change in order.
pub trait Capacity<Class>: Send + 'static {
    /// How many to claim now; 0 while the loop should wait for room to be freed.
    fn wanted(&self) -> usize;
    /// Sets aside room for a claim of up to `want`, less what is promised to hand-overs, and
    /// returns the claim's size. The offer is withdrawn meanwhile, so a claim and the hand-overs
    /// never count on the same place.
    fn begin_claim(&mut self, want: usize) -> usize;
    /// The claim is over: `Some(full)` if it ran (`full`: it got all it asked for), else `None`.
    fn end_claim(&mut self, full: Option<bool>);
    /// Holds an item claimed or handed over; false if it is held already (a claim committed
    /// without waiting for the flush was lost in a database crash and this loop claimed the
    /// item again, with the same attempt: the run going on finishes it).
    fn take(&mut self, lease: (i64, i32), class: Class) -> bool;
    /// The run of this lease ended; its outcome, if any, is on its way to the recorder. True if
    /// that freed room (the loop may claim again).
    fn finished(&mut self, lease: (i64, i32)) -> bool;
    /// Its outcome was recorded, or lost to a rescue: no longer this loop's either way. True if
    /// that freed room.
    fn recorded(&mut self, lease: (i64, i32)) -> bool;
    /// The ids whose leases the heartbeat extends.
    fn held(&self) -> Vec<i64>;
    /// Shutdown: the ids held and unfinished, to hand back. Nothing more is offered.
    fn drain(&mut self) -> Vec<i64>;
    /// How long a batch of a few outcomes waits for more before it is recorded, asked as each
    /// is ready; `None` (the default) while something waits on each record.
    fn gather(&self) -> Option<Duration> {
        None
    }
}

#[derive(Clone, Debug)]
pub struct LoopConfig {
    /// Backstop poll when no wake-up arrives.
    pub poll: Duration,
    /// How long shutdown waits for running items before handing them back.
    pub drain: Duration,
    /// How often leases are extended; `None` when a lease outlasts any run.
    pub heartbeat: Option<Duration>,
}

type Shared<K> = Arc<Mutex<K>>;

fn lock<K>(capacity: &Mutex<K>) -> MutexGuard<'_, K> {
    capacity.lock().expect("capacity")
}

/// Runs `consumer`'s items until `shutdown` turns true, then drains. `direct` is the loop's
/// registration for hand-overs (registered last before the loop: a hand-over's lease runs).
pub async fn run<C: Consumer, K: Capacity<C::Class>>(
    consumer: Arc<C>,
    capacity: K,
    mut direct: Direct<C::Item>,
    mut listener: Listener,
    cfg: LoopConfig,
    mut shutdown: watch::Receiver<bool>,
) {
    let capacity: Shared<K> = Arc::new(Mutex::new(capacity));
    let freed = Arc::new(Notify::new());
    let (done_tx, done_rx) = mpsc::unbounded_channel::<C::Outcome>();
    let gather = {
        let capacity = capacity.clone();
        move || lock(&capacity).gather()
    };
    let recorder = tokio::spawn(record_in_batches(done_rx, C::OUTCOMES, gather, {
        let (consumer, capacity, freed) = (consumer.clone(), capacity.clone(), freed.clone());
        async move |batch: &[C::Outcome]| {
            let recorded = consumer.record(batch).await;
            if recorded.is_ok() {
                let mut c = lock(&capacity);
                if batch.iter().fold(false, |any, o| c.recorded(o.lease()) | any) {
                    freed.notify_one();
                }
            }
            recorded
        }
    }));
    let (beat_stop, beat_stopped) = watch::channel(false);
    let heartbeat = cfg
        .heartbeat
        .map(|every| tokio::spawn(heartbeat(consumer.clone(), capacity.clone(), every, beat_stopped)));
    let starter = Starter {
        consumer: consumer.clone(),
        capacity: capacity.clone(),
        freed: freed.clone(),
        done: done_tx,
    };
    let mut running = JoinSet::new();

    // The poll counts from the last time a claim was due, so a stream of hand-overs does not put
    // it off.
    let (mut claim, mut poll_at) = (true, Instant::now());
    while !*shutdown.borrow() {
        let due = claim || poll_at <= Instant::now();
        if due {
            poll_at = Instant::now() + cfg.poll;
        }
        let want = lock(&capacity).wanted();
        if due && want > 0 {
            // 0: all of it promised to hand-overs; claim once room is freed after them.
            let k = lock(&capacity).begin_claim(want);
            let full = match k {
                0 => None,
                k => match consumer.claim(k).await {
                    Ok(items) => {
                        let full = items.len() == k;
                        items.into_iter().for_each(|item| starter.start(item, &mut running));
                        Some(full)
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "claiming {} failed; retrying", C::ITEMS);
                        None
                    }
                },
            };
            lock(&capacity).end_claim(full);
            if full == Some(true) {
                claim = true; // more may be waiting
                continue;
            }
        }
        let waiting_for_room = lock(&capacity).wanted() == 0;
        while running.try_join_next().is_some() {}
        claim = tokio::select! {
            Some(handed) = direct.recv() => {
                let n = handed.len();
                handed.into_iter().for_each(|item| starter.start(item, &mut running));
                direct.room().taken(n);
                false
            }
            _ = freed.notified(), if waiting_for_room => true,
            _ = listener.next() => true,
            _ = tokio::time::sleep_until(poll_at) => true,
            r = shutdown.changed() => if r.is_err() { break } else { true },
        };
    }

    // Hand-overs on their way go back at once (no heartbeat keeps their lease); running items get
    // `drain` to finish; whatever is still held then goes back too.
    release(&*consumer, &direct.close().await).await;
    consumer.stop_starting();
    let _ = tokio::time::timeout(cfg.drain, async { while running.join_next().await.is_some() {} }).await;
    running.abort_all();
    let left = lock(&capacity).drain();
    release(&*consumer, &left).await;
    drop(starter);
    let _ = recorder.await;
    let _ = beat_stop.send(true);
    if let Some(h) = heartbeat {
        let _ = h.await;
    }
}

/// What starting a run needs.
struct Starter<C: Consumer, K> {
    consumer: Arc<C>,
    capacity: Shared<K>,
    freed: Arc<Notify>,
    done: mpsc::UnboundedSender<C::Outcome>,
}

impl<C: Consumer, K: Capacity<C::Class>> Starter<C, K> {
    fn start(&self, item: C::Item, running: &mut JoinSet<()>) {
        let lease = item.lease();
        let (class, work) = self.consumer.start(item);
        if !lock(&self.capacity).take(lease, class) {
            return;
        }
        let (capacity, freed, done) = (self.capacity.clone(), self.freed.clone(), self.done.clone());
        // Boxed: a run's state machine can be large, and spawning moves it.
        running.spawn(Box::pin(async move {
            let room = match work.await {
                Ran::Done(outcome) => {
                    let room = lock(&capacity).finished(lease);
                    let _ = done.send(outcome);
                    room
                }
                Ran::Lost => lock(&capacity).finished(lease),
                Ran::Unstarted => false,
            };
            if room {
                freed.notify_one();
            }
        }));
    }
}

/// Hands items back: the rescuer would, but only once their lease ran out.
async fn release<C: Consumer>(consumer: &C, ids: &[i64]) {
    if ids.is_empty() {
        return;
    }
    match consumer.release(ids).await {
        Ok(n) => tracing::info!(released = n, "handed unfinished {} back", C::ITEMS),
        Err(e) => tracing::error!(error = %e, "could not hand {} back; the rescuer will", C::ITEMS),
    }
}

async fn heartbeat<C: Consumer, K: Capacity<C::Class>>(
    consumer: Arc<C>,
    capacity: Shared<K>,
    every: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    while !*stop.borrow() {
        tokio::select! {
            _ = tick.tick() => {
                let ids = lock(&capacity).held();
                if ids.is_empty() {
                    continue;
                }
                match consumer.heartbeat(&ids).await {
                    Ok(kept) if kept.len() < ids.len() => tracing::warn!(
                        lost = ids.len() - kept.len(),
                        "leases on {} lost (rescued or cancelled elsewhere)", C::ITEMS
                    ),
                    Ok(_) => {}
                    Err(e) => tracing::error!(error = %e, "heartbeat on {} failed", C::ITEMS),
                }
            }
            _ = stop.changed() => {}
        }
    }
}
