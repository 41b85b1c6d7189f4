//! The job loop: the lease engine (`stowaway_engine::run`) with jobs as its items. Claims go by
//! priority, submits in this process hand their jobs over (`store`'s `handoff.rs`), leases are
//! heartbeated, verdicts recorded in batches. No transaction is open while a job talks to S3.
use std::collections::HashSet;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use stowaway_engine::{Capacity, Consumer, LoopConfig, Ran};
use stowaway_objects::{Admit, Breaker};
use stowaway_store::{Claimed, Completion, DirectRoom, JobState, Result};
use tokio::sync::{watch, Semaphore};
use tracing::Instrument;

use crate::head_start::HeadStarts;
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

/// The largest spare, in times the concurrency: the claims of 2× it that BENCHMARKS.md measured.
const MOST_SPARE: usize = 4;

/// How long verdicts gather in a backlog that lasts (`Slots::gather`): fewer, larger statements
/// leave the CPU to the jobs (BENCHMARKS.md).
const VERDICTS_GATHER: Duration = Duration::from_millis(2);

/// The jobs this worker holds (running, or claimed and waiting for a turn), and the room it
/// offers to submits in this process (`store`'s `handoff.rs`). Held, being claimed and promised
/// to submits together never exceed [`Slots::hold`] (but for the spare held when a backlog
/// ends: nothing more is claimed or offered until it has run). While the object store is
/// unreachable (the breaker is open) it claims one job as a probe when one is due and nothing is
/// held, and offers nothing to submits: their jobs wait in the table.
struct Slots {
    held: HashSet<i64>,
    /// Slots the claim under way may fill.
    claiming: usize,
    /// The claim under way is the breaker's probe: it says nothing of a backlog's length.
    probing: bool,
    /// The last claim came back full: jobs wait in the table, and they go first (JobLevel, age),
    /// so nothing is handed over until a claim finds the table drained.
    backlog: bool,
    concurrency: usize,
    /// Jobs held beyond the concurrency while jobs wait in the table: the next ones are claimed
    /// before slots free, in batches of half of it, so a freed slot never waits for a claim's
    /// round trip. None without a backlog, where a job held and waiting for a turn would only
    /// wait longer than one left in the table for a hand-over or a claim. The concurrency when
    /// a backlog begins; doubled, up to [`MOST_SPARE`] times it, by a full claim after a spare's
    /// worth of jobs ran: a backlog that lasts is worked in larger claims, a burst the first
    /// spare absorbs holds no more.
    spare: usize,
    /// Jobs finished since the spare was last set.
    ran: usize,
    /// Slots kept for claims: hand-overs get only the rest, so jobs waiting in the table (other
    /// processes' submits, rescued jobs, a resumed queue) always find room here.
    kept_for_claims: usize,
    direct: DirectRoom,
    breaker: Breaker,
}

impl Slots {
    fn new(concurrency: usize, direct: DirectRoom, breaker: Breaker) -> Slots {
        let slots = Slots {
            held: HashSet::new(),
            claiming: 0,
            probing: false,
            backlog: false,
            concurrency,
            spare: concurrency,
            ran: 0,
            kept_for_claims: (concurrency / 4).max(1),
            direct,
            breaker,
        };
        slots.publish();
        slots
    }

    /// The most jobs held now.
    fn hold(&self) -> usize {
        self.concurrency + if self.backlog { self.spare } else { 0 }
    }

    /// Offers the room beyond what claims keep.
    fn publish(&self) {
        let offer = match self.backlog || self.breaker.is_open() {
            true => 0,
            false => self
                .concurrency
                .saturating_sub(self.held.len() + self.claiming)
                .saturating_sub(self.kept_for_claims),
        };
        self.direct.offer(offer);
    }
}

impl Capacity<()> for Slots {
    /// Room neither held nor promised to submits; with a backlog, once half the spare is free.
    fn wanted(&self) -> usize {
        let room = self.hold().saturating_sub(self.held.len()).saturating_sub(self.direct.promised());
        let batch = if self.backlog { self.spare.div_ceil(2) } else { 1 };
        match self.breaker.peek() {
            Admit::All if room >= batch || self.held.is_empty() => room,
            Admit::Probe if self.held.is_empty() => room.min(1),
            _ => 0,
        }
    }

    fn begin_claim(&mut self, _want: usize) -> usize {
        let promised = self.direct.withdraw();
        let room = self.hold().saturating_sub(self.held.len()).saturating_sub(promised);
        // The probe's turn is taken when it runs (`inspect_job::run`), not here.
        let admit = self.breaker.peek();
        self.probing = admit == Admit::Probe;
        self.claiming = match admit {
            Admit::All => room,
            Admit::Probe => room.min(1),
            Admit::Nothing => 0,
        };
        self.publish();
        self.claiming
    }

    fn end_claim(&mut self, full: Option<bool>) {
        self.claiming = 0;
        // Jobs failing fast in an outage say nothing of a backlog's length.
        if std::mem::take(&mut self.probing) {
            self.ran = 0;
        }
        if let Some(full) = full {
            match (self.backlog && full, self.ran >= self.spare) {
                (true, false) => {} // the backlog goes on: keep counting
                (true, true) => {
                    self.spare = (2 * self.spare).min(MOST_SPARE * self.concurrency);
                    self.ran = 0;
                }
                (false, _) => {
                    self.spare = self.concurrency;
                    self.ran = 0;
                }
            }
            self.backlog = full;
        }
        self.publish();
    }

    fn take(&mut self, (id, _): (i64, i32), _: ()) -> bool {
        let new = self.held.insert(id);
        self.publish();
        new
    }

    fn finished(&mut self, (id, _): (i64, i32)) -> bool {
        self.held.remove(&id);
        self.ran += 1;
        self.publish();
        true
    }

    /// A slot frees when its job ends; recording the verdict is the recorder's business.
    fn recorded(&mut self, _: (i64, i32)) -> bool {
        false
    }

    fn held(&self) -> Vec<i64> {
        self.held.iter().copied().collect()
    }

    fn drain(&mut self) -> Vec<i64> {
        let left = self.held.drain().collect();
        self.direct.offer(0);
        left
    }

    /// Only in a backlog that lasts: its jobs wait their turn anyway; elsewhere a callback
    /// waits on each verdict.
    fn gather(&self) -> Option<Duration> {
        (self.backlog && self.spare > self.concurrency).then_some(VERDICTS_GATHER)
    }
}

/// Jobs as the engine's items.
struct Jobs {
    ctx: JobContext,
    early: Arc<HeadStarts>,
    lease: Duration,
    /// Jobs running; tokio's semaphore is fair, so held jobs start in claim order.
    turns: Arc<Semaphore>,
}

impl Consumer for Jobs {
    type Item = Claimed;
    type Outcome = Completion;
    type Class = ();
    const ITEMS: &'static str = "jobs";
    const OUTCOMES: &'static str = "verdicts";

    async fn claim(&self, k: usize) -> Result<Vec<Claimed>> {
        self.ctx.store.claim(self.ctx.worker, k as i64, self.lease).await
    }

    fn start(&self, job: Claimed) -> ((), impl Future<Output = Ran<Completion>> + Send + 'static) {
        let (ctx, early, turns) = (self.ctx.clone(), self.early.clone(), self.turns.clone());
        ((), async move {
            let Ok(_turn) = turns.acquire().await else {
                return Ran::Unstarted; // shutting down: handed back unstarted
            };
            run_one(ctx, &early, job).await
        })
    }

    async fn record(&self, batch: &[Completion]) -> Result<usize> {
        self.ctx.store.complete(self.ctx.worker, batch).await.map(|done| done.len())
    }

    async fn release(&self, ids: &[i64]) -> Result<u64> {
        self.ctx.store.release(self.ctx.worker, ids).await
    }

    async fn heartbeat(&self, ids: &[i64]) -> Result<Vec<i64>> {
        self.ctx.store.heartbeat(self.ctx.worker, ids, self.lease).await
    }

    /// Jobs still waiting for a turn start none.
    fn stop_starting(&self) {
        self.turns.close();
    }
}

/// Runs jobs until `shutdown` turns true, then drains: running jobs get `drain` to finish, the
/// rest are handed back unstarted.
pub async fn run_worker(ctx: JobContext, cfg: WorkerConfig, shutdown: watch::Receiver<bool>) {
    let listener = ctx.store.listen_for_jobs().await;
    let direct = ctx.store.take_jobs_directly(ctx.worker, cfg.lease);
    let early = HeadStarts::new(ctx.objects.clone(), cfg.concurrency);
    ctx.store.tell_jobs_ahead(ctx.worker, early.hook());
    let slots = Slots::new(cfg.concurrency, direct.room(), ctx.objects.breaker().clone());
    let loop_cfg = LoopConfig { poll: cfg.poll, drain: cfg.drain, heartbeat: Some(cfg.lease / 3) };
    let turns = Arc::new(Semaphore::new(cfg.concurrency));
    let (store, worker) = (ctx.store.clone(), ctx.worker);
    let jobs = Arc::new(Jobs { ctx, early: early.clone(), lease: cfg.lease, turns });
    stowaway_engine::run(jobs, slots, direct, listener, loop_cfg, shutdown).await;
    store.stop_telling_jobs_ahead(worker);
    early.clear();
}

async fn run_one(ctx: JobContext, early: &HeadStarts, job: Claimed) -> Ran<Completion> {
    let started = std::time::Instant::now();
    metrics::counter!("stowaway_jobs_started_total").increment(1);
    let span = tracing::info_span!("job", job_id = %job.job_id, attempt = job.attempt);
    let Some(c) = inspect_job::run_with(&ctx, &job, Some(early)).instrument(span.clone()).await else {
        return Ran::Lost;
    };
    if c.state == JobState::Retrying {
        metrics::counter!("stowaway_jobs_retried_total").increment(1);
        return Ran::Done(c);
    }
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
    Ran::Done(c)
}

#[cfg(test)]
mod tests {
    use std::ops::RangeInclusive;

    use super::*;

    #[test]
    fn hand_overs_get_only_the_slots_beyond_what_claims_keep_and_none_while_jobs_wait() {
        let room = DirectRoom::default();
        let mut slots = Slots::new(8, room.clone(), Breaker::default());
        assert_eq!(room.free(), 6, "two of eight kept for claims");
        assert!(slots.take((1, 1), ()) && slots.take((2, 1), ()));
        assert!(!slots.take((2, 1), ()), "held once");
        assert_eq!(room.free(), 4);
        assert_eq!(slots.begin_claim(usize::MAX), 6);
        slots.end_claim(Some(true));
        assert_eq!(room.free(), 0, "a full claim: jobs wait in the table, and they go first");
        slots.finished((1, 1));
        assert_eq!(room.free(), 0);
        assert_eq!(
            slots.begin_claim(usize::MAX),
            15,
            "a backlog: the concurrency and the spare, less one held"
        );
        slots.end_claim(Some(false));
        assert_eq!(room.free(), 5);
        assert_eq!(slots.drain(), [2]);
        assert_eq!(room.free(), 0, "a draining worker takes nothing more");

        let single = DirectRoom::default();
        Slots::new(1, single.clone(), Breaker::default());
        assert_eq!(single.free(), 0, "one slot is the claims'");
    }

    #[test]
    fn a_claim_and_the_hand_overs_never_count_on_the_same_slot() {
        let room = DirectRoom::default();
        let mut slots = Slots::new(8, room.clone(), Breaker::default());
        // A submit's statement has six promised when the worker claims: the claim gets the rest.
        assert!(room.promise(6));
        assert_eq!(slots.wanted(), 2);
        assert_eq!(slots.begin_claim(usize::MAX), 2);
        assert_eq!(room.free(), 0, "nothing more is promised while the claim runs");
        // The claim comes back with one; the six handed over arrive: seven held, one free.
        slots.take((100, 1), ());
        slots.end_claim(Some(false));
        (1..=6).for_each(|id| assert!(slots.take((id, 1), ())));
        room.taken(6);
        assert_eq!((slots.wanted(), room.free()), (1, 0));

        // From idle, a claim's slots are not offered while its jobs are on their way.
        let room = DirectRoom::default();
        let mut slots = Slots::new(8, room.clone(), Breaker::default());
        assert_eq!(slots.begin_claim(usize::MAX), 8);
        assert!(!room.promise(1), "the claim may fill every slot");
        slots.finished((0, 1)); // a job finishing meanwhile frees nothing the claim counted on
        (1..=5).for_each(|id| assert!(slots.take((id, 1), ())));
        slots.end_claim(Some(false));
        assert_eq!(room.free(), 1, "eight less five held less two kept");
    }

    #[test]
    fn with_a_backlog_a_worker_holds_the_next_jobs_and_claims_them_in_batches() {
        let room = DirectRoom::default();
        let mut slots = Slots::new(4, room.clone(), Breaker::default());
        let (claim, finish) = claim_and_finish();
        claim(&mut slots, 4, 1..=4);
        assert_eq!(slots.wanted(), 4, "jobs wait in the table: hold the next four");
        claim(&mut slots, 4, 5..=8);
        finish(&mut slots, 1..=1);
        assert_eq!(slots.wanted(), 0, "one freed: a held job takes the turn, no claim yet");
        finish(&mut slots, 2..=2);
        assert_eq!(slots.wanted(), 2, "half the spare freed: claim again");
        claim(&mut slots, 2, 9..=9);
        assert_eq!(slots.wanted(), 0, "the table is drained: hold no more than the concurrency");
    }

    #[test]
    fn a_backlog_that_lasts_doubles_the_spare_and_gathers_verdicts() {
        let mut slots = Slots::new(4, DirectRoom::default(), Breaker::default());
        let (claim, finish) = claim_and_finish();
        claim(&mut slots, 4, 1..=4);
        assert_eq!((slots.hold(), slots.gather()), (8, None), "one full claim may be a passing burst");
        claim(&mut slots, 4, 5..=8);
        assert_eq!(slots.hold(), 8, "claims back to back: the table was deep, the backlog not long");
        finish(&mut slots, 1..=4);
        claim(&mut slots, 4, 9..=12);
        assert_eq!(slots.hold(), 12, "a spare's worth ran and jobs still wait: the spare doubles");
        assert_eq!(slots.gather(), Some(VERDICTS_GATHER), "and verdicts gather");
        finish(&mut slots, 5..=12);
        claim(&mut slots, 12, 13..=24);
        assert_eq!(slots.hold(), 20, "four times the concurrency");
        finish(&mut slots, 13..=24);
        claim(&mut slots, 20, 25..=44);
        finish(&mut slots, 25..=44);
        claim(&mut slots, 20, 45..=64);
        assert_eq!(slots.hold(), 20, "and no further");
        finish(&mut slots, 45..=64);
        claim(&mut slots, 20, 65..=68);
        assert_eq!((slots.hold(), slots.gather()), (4, None), "the table is drained: the spare goes");
        finish(&mut slots, 65..=68);
        claim(&mut slots, 4, 69..=72);
        claim(&mut slots, 4, 73..=76);
        assert_eq!(slots.hold(), 8, "a new backlog starts from one spare, counting jobs run from then");
    }

    /// A claim of `k` (asserted) that gets `ids`, and jobs finishing.
    #[allow(clippy::type_complexity)]
    fn claim_and_finish() -> (fn(&mut Slots, usize, RangeInclusive<i64>), fn(&mut Slots, RangeInclusive<i64>))
    {
        fn claim(slots: &mut Slots, k: usize, ids: RangeInclusive<i64>) {
            assert_eq!(slots.begin_claim(usize::MAX), k);
            let got = ids.clone().count();
            ids.for_each(|id| assert!(slots.take((id, 1), ())));
            slots.end_claim(Some(got == k));
        }
        fn finish(slots: &mut Slots, ids: RangeInclusive<i64>) {
            ids.for_each(|id| _ = slots.finished((id, 1)));
        }
        (claim, finish)
    }
}
