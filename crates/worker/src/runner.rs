//! The job loop: claim in batches by priority, or take the jobs a submit in this process handed
//! over (`store`'s `handoff.rs`), run jobs concurrently, heartbeat their leases, and record
//! verdicts in batches. No database transaction is open while a job talks to S3.
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use stowaway_store::{record_in_batches, Claimed, Completion, DirectRoom};
use tokio::sync::{mpsc, watch, Notify};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tracing::Instrument;

use crate::inspect_job::{self, JobContext};

#[derive(Clone, Debug)]
pub struct WorkerConfig {
    /// Jobs run at once.
    pub concurrency: usize,
    /// How long a claim lasts without a heartbeat.
    pub lease: Duration,
    /// Backstop poll when no wake-up arrives (at most 1 s).
    pub poll: Duration,
    /// How long shutdown waits for running jobs before handing them back.
    pub drain: Duration,
}

impl Default for WorkerConfig {
    fn default() -> WorkerConfig {
        WorkerConfig {
            concurrency: 8,
            lease: crate::LEASE,
            poll: Duration::from_secs(1),
            drain: Duration::from_secs(20),
        }
    }
}

/// The jobs this worker holds, and the room it offers to submits in this process
/// (`store`'s `handoff.rs`). Held, being claimed and promised to submits together never exceed
/// the concurrency.
struct Slots {
    state: Mutex<SlotState>,
    concurrency: usize,
    /// Slots kept for claims: hand-overs get only the rest, so jobs waiting in the table (other
    /// processes' submits, rescued jobs, a resumed queue) always find room here.
    kept_for_claims: usize,
    direct: DirectRoom,
}

#[derive(Default)]
struct SlotState {
    held: HashSet<i64>,
    /// Slots the claim under way may fill.
    claiming: usize,
    /// The last claim came back full: jobs wait in the table, and they go first (JobLevel, age),
    /// so nothing is handed over until a claim finds the table drained.
    backlog: bool,
}

impl Slots {
    fn new(concurrency: usize, direct: DirectRoom) -> Slots {
        let slots =
            Slots { state: Mutex::default(), concurrency, kept_for_claims: (concurrency / 4).max(1), direct };
        slots.publish(&SlotState::default());
        slots
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, SlotState> {
        self.state.lock().expect("slots")
    }

    /// Slots neither held nor promised to submits.
    fn free(&self) -> usize {
        let held = self.lock().held.len();
        self.concurrency.saturating_sub(held).saturating_sub(self.direct.promised())
    }

    /// Sets aside the slots a claim may fill, and returns how many: those neither held nor
    /// promised. Nothing is promised meanwhile (the offer is withdrawn first), so a submit's
    /// hand-over and the claim cannot both count on the same slot.
    fn begin_claim(&self) -> usize {
        let mut s = self.lock();
        let promised = self.direct.withdraw();
        s.claiming = self.concurrency.saturating_sub(s.held.len()).saturating_sub(promised);
        self.publish(&s);
        s.claiming
    }

    /// The claim's jobs are held (`full`: it filled every slot it could; `None`: it failed).
    fn end_claim(&self, full: Option<bool>) {
        let mut s = self.lock();
        s.claiming = 0;
        if let Some(full) = full {
            s.backlog = full;
        }
        self.publish(&s);
    }

    /// Holds job `id`; false if it already was (see the claim loop).
    fn hold(&self, id: i64) -> bool {
        let mut s = self.lock();
        let new = s.held.insert(id);
        self.publish(&s);
        new
    }

    fn let_go(&self, id: i64) {
        let mut s = self.lock();
        s.held.remove(&id);
        self.publish(&s);
    }

    /// Offers the room beyond what claims keep (called with the state locked, so offers keep
    /// order).
    fn publish(&self, s: &SlotState) {
        let offer = match s.backlog {
            true => 0,
            false => self
                .concurrency
                .saturating_sub(s.held.len() + s.claiming)
                .saturating_sub(self.kept_for_claims),
        };
        self.direct.offer(offer);
    }

    fn ids(&self) -> Vec<i64> {
        self.lock().held.iter().copied().collect()
    }

    fn drain(&self) -> Vec<i64> {
        let left = self.lock().held.drain().collect();
        self.direct.offer(0);
        left
    }
}

/// Runs jobs until `shutdown` turns true, then drains: running jobs get `drain` to finish, the
/// rest are handed back unstarted.
pub async fn run_worker(ctx: JobContext, cfg: WorkerConfig, mut shutdown: watch::Receiver<bool>) {
    let slot_freed = Arc::new(Notify::new());
    let (done_tx, done_rx) = mpsc::unbounded_channel::<Completion>();
    let (store, worker) = (ctx.store.clone(), ctx.worker);
    let completer =
        tokio::spawn(record_in_batches(done_rx, "verdicts", async move |batch: &[Completion]| {
            store.complete(worker, batch).await.map(|done| done.len())
        }));
    let mut listener = ctx.store.listen_for_jobs().await;
    // Registered once nothing is left to wait for before the loop: a hand-over's lease runs.
    let mut direct = ctx.store.take_jobs_directly(ctx.worker, cfg.lease);
    let slots = Arc::new(Slots::new(cfg.concurrency, direct.room()));
    let (beat_stop, beat_stopped) = watch::channel(false);
    let heartbeat = tokio::spawn(heartbeat(ctx.clone(), slots.clone(), cfg.lease, beat_stopped));
    let mut running = JoinSet::new();
    let start = |job: Claimed, running: &mut JoinSet<()>| {
        // Already running here: its claim (committed without waiting for the flush) was lost in
        // a database crash and this worker claimed the job again, with the same attempt. The run
        // going on holds that same fence and finishes it; a second run would only repeat its work.
        if slots.hold(job.id) {
            running.spawn(run_one(ctx.clone(), job, slots.clone(), slot_freed.clone(), done_tx.clone()));
        }
    };

    // Claim when woken, when a slot freed up while all were taken, after a full claim, or at the
    // poll; not after a hand-over. The poll counts from the last time a claim was due, so a
    // stream of hand-overs does not put it off.
    let (mut claim, mut poll_at) = (true, Instant::now());
    while !*shutdown.borrow() {
        let due = claim || poll_at <= Instant::now();
        if due {
            poll_at = Instant::now() + cfg.poll;
        }
        if due && slots.free() > 0 {
            match slots.begin_claim() {
                // Promised to a submit meanwhile: claim once a slot frees up after its jobs.
                0 => slots.end_claim(None),
                k => match ctx.store.claim(ctx.worker, k as i64, cfg.lease).await {
                    Ok(jobs) => {
                        let full = jobs.len() == k;
                        jobs.into_iter().for_each(|job| start(job, &mut running));
                        slots.end_claim(Some(full));
                        if full {
                            claim = true; // more may be waiting
                            continue;
                        }
                    }
                    Err(e) => {
                        slots.end_claim(None);
                        tracing::error!(error = %e, "claiming jobs failed; retrying");
                    }
                },
            }
        }
        let free = slots.free();
        while running.try_join_next().is_some() {}
        claim = tokio::select! {
            Some(handed) = direct.recv() => {
                let n = handed.len();
                handed.into_iter().for_each(|job| start(job, &mut running));
                direct.room().taken(n);
                false
            }
            _ = slot_freed.notified(), if free == 0 => true,
            _ = listener.next() => true,
            _ = tokio::time::sleep_until(poll_at) => true,
            r = shutdown.changed() => if r.is_err() { break } else { true },
        };
    }

    // Drain: no more handed over (those on their way go back at once: no heartbeat keeps their
    // lease); let running jobs finish, then hand back whatever is still held.
    release(&ctx, &direct.close().await).await;
    let _ = tokio::time::timeout(cfg.drain, async { while running.join_next().await.is_some() {} }).await;
    running.abort_all();
    release(&ctx, &slots.drain()).await;
    drop(done_tx);
    let _ = completer.await;
    let _ = beat_stop.send(true);
    let _ = heartbeat.await;
}

/// Hands jobs back unstarted: the rescuer would, but only once their lease ran out.
async fn release(ctx: &JobContext, ids: &[i64]) {
    if ids.is_empty() {
        return;
    }
    match ctx.store.release(ctx.worker, ids).await {
        Ok(n) => tracing::info!(released = n, "handed unfinished jobs back to the queue"),
        Err(e) => tracing::error!(error = %e, "could not hand jobs back; the rescuer will"),
    }
}

async fn run_one(
    ctx: JobContext,
    job: Claimed,
    slots: Arc<Slots>,
    slot_freed: Arc<Notify>,
    done: mpsc::UnboundedSender<Completion>,
) {
    let started = std::time::Instant::now();
    metrics::counter!("stowaway_jobs_started_total").increment(1);
    let span = tracing::info_span!("job", job_id = %job.job_id, attempt = job.attempt);
    let outcome = inspect_job::run(&ctx, &job).instrument(span.clone()).await;
    if let Some(c) = outcome {
        let suspicious_type = c
            .result
            .as_ref()
            .and_then(|r| r.pointer("/ProcessResult/SuspiciousType"))
            .and_then(|t| t.as_str())
            .filter(|t| !t.is_empty())
            .unwrap_or("none")
            .to_string();
        metrics::counter!("stowaway_jobs_finished_total", "state" => c.state.as_str(), "suspicious_type" => suspicious_type)
            .increment(1);
        span.in_scope(|| {
            tracing::debug!(state = c.state.as_str(), ms = started.elapsed().as_millis() as u64, "job done")
        });
        let _ = done.send(c);
    }
    slots.let_go(job.id);
    slot_freed.notify_one();
}

async fn heartbeat(ctx: JobContext, slots: Arc<Slots>, lease: Duration, mut stop: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(lease / 3);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    while !*stop.borrow() {
        tokio::select! {
            _ = tick.tick() => {
                let ids = slots.ids();
                if ids.is_empty() { continue; }
                match ctx.store.heartbeat(ctx.worker, &ids, lease).await {
                    Ok(kept) if kept.len() < ids.len() => tracing::warn!(lost = ids.len() - kept.len(), "leases lost (rescued or cancelled elsewhere)"),
                    Ok(_) => {}
                    Err(e) => tracing::error!(error = %e, "heartbeat failed"),
                }
            }
            _ = stop.changed() => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_overs_get_only_the_slots_beyond_what_claims_keep_and_none_while_jobs_wait() {
        let room = DirectRoom::default();
        let slots = Slots::new(8, room.clone());
        assert_eq!(room.free(), 6, "two of eight kept for claims");
        assert!(slots.hold(1) && slots.hold(2));
        assert!(!slots.hold(2), "held once");
        assert_eq!(room.free(), 4);
        assert_eq!(slots.begin_claim(), 6);
        slots.end_claim(Some(true));
        assert_eq!(room.free(), 0, "a full claim: jobs wait in the table, and they go first");
        slots.let_go(1);
        assert_eq!(room.free(), 0);
        assert_eq!(slots.begin_claim(), 7);
        slots.end_claim(Some(false));
        assert_eq!(room.free(), 5);
        assert_eq!(slots.drain(), [2]);
        assert_eq!(room.free(), 0, "a draining worker takes nothing more");

        let single = DirectRoom::default();
        Slots::new(1, single.clone());
        assert_eq!(single.free(), 0, "one slot is the claims'");
    }

    #[test]
    fn a_claim_and_the_hand_overs_never_count_on_the_same_slot() {
        let room = DirectRoom::default();
        let slots = Slots::new(8, room.clone());
        // A submit's statement has six promised when the worker claims: the claim gets the rest.
        assert!(room.promise(6));
        assert_eq!(slots.free(), 2);
        assert_eq!(slots.begin_claim(), 2);
        assert_eq!(room.free(), 0, "nothing more is promised while the claim runs");
        // The claim comes back with one; the six handed over arrive: seven held, one free.
        slots.hold(100);
        slots.end_claim(Some(false));
        (1..=6).for_each(|id| assert!(slots.hold(id)));
        room.taken(6);
        assert_eq!((slots.free(), room.free()), (1, 0));

        // From idle, a claim's slots are not offered while its jobs are on their way.
        let room = DirectRoom::default();
        let slots = Slots::new(8, room.clone());
        assert_eq!(slots.begin_claim(), 8);
        assert!(!room.promise(1), "the claim may fill every slot");
        slots.let_go(0); // a job finishing meanwhile frees nothing the claim counted on
        (1..=5).for_each(|id| assert!(slots.hold(id)));
        slots.end_claim(Some(false));
        assert_eq!(room.free(), 1, "eight less five held less two kept");
    }
}
