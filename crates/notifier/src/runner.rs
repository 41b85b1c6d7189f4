//! The delivery loop: the lease engine (`stowaway_engine::run`) with callbacks as its items. Due
//! deliveries are claimed in batches with SKIP LOCKED (several notifiers can run), verdicts in
//! this process hand theirs over (`store`'s `handoff.rs`), sends run concurrently, outcomes are
//! recorded in batches.
use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use stowaway_engine::{Capacity, Consumer, LoopConfig, Ran};
use stowaway_store::{ClaimedDelivery, DeliveryOutcome, DirectRoom, Result, Store};
use tokio::sync::{watch, Semaphore};
use uuid::Uuid;

use crate::deliver::{self, Senders};
use crate::kafka::KafkaSender;
use crate::url::UrlSender;
use crate::NotifierConfig;

/// What this notifier holds. A delivery takes a place in the window from its claim until its
/// outcome is recorded, so a slow recorder slows claiming instead of letting leases run out.
/// Url sends each hold a connection and are limited to `concurrency`; a Kafka send only waits for
/// the broker's acknowledgement, and at 20,000/s thousands of those must be in flight.
#[derive(Default)]
struct Window {
    /// The most Url deliveries held ([`url_cap`]), the most of all kinds, the most per claim.
    url_cap: usize,
    total_cap: usize,
    batch: usize,
    /// Where the room for deliveries handed over directly is published.
    direct: Option<DirectRoom>,
    /// Claimed, not yet recorded: each one's attempt and whether it goes to Kafka. Keyed with the
    /// attempt because a delivery whose lease ran out while its outcome waited can be claimed
    /// again, by this notifier too, before that outcome is recorded.
    claimed: HashMap<i64, (i32, bool)>,
    /// Url deliveries (and those resolved to nothing) among `claimed`.
    url: usize,
    /// Being sent, with the attempt: handed back unsent if shutdown cuts them off.
    sending: HashMap<i64, i32>,
    /// Places the claim under way may fill.
    claiming: usize,
}

impl Window {
    fn new(cfg: &NotifierConfig, direct: Option<DirectRoom>) -> Window {
        let url_cap = url_cap(cfg);
        let w = Window {
            url_cap,
            total_cap: url_cap + cfg.kafka_in_flight,
            batch: cfg.batch,
            direct,
            ..Window::default()
        };
        w.publish();
        w
    }

    /// How many deliveries one claim may take. Any of them may turn out to be a Url callback, so
    /// a claim stays within the Url deliveries a notifier may hold (`url_cap`); Kafka deliveries
    /// leave that count as soon as they are resolved, right after the claim.
    fn room(&self) -> usize {
        let url_room = self.url_cap.saturating_sub(self.url + self.claiming);
        let total_room = self.total_cap.saturating_sub(self.claimed.len() + self.claiming);
        url_room.min(total_room).min(self.batch)
    }

    /// The room a claim waits for while deliveries are held: half a batch.
    fn claim_at(&self) -> usize {
        self.batch.min(self.url_cap).div_ceil(2)
    }

    /// Deliveries handed over directly take only the room beyond what a claim waits for, so that
    /// the outbox (retries, other processes' verdicts, a backlog) is never starved of room.
    fn publish(&self) {
        if let Some(direct) = &self.direct {
            direct.offer(self.room().saturating_sub(self.claim_at()));
        }
    }
}

/// A delivery's class is whether it goes to Kafka.
impl Capacity<bool> for Window {
    /// Claims go in batches, not one row per freed place: while deliveries are held, a claim
    /// waits for half a batch of room (an idle notifier claims at once, so latency does not
    /// suffer).
    fn wanted(&self) -> usize {
        let room = self.room();
        if self.claimed.is_empty() || room >= self.claim_at() {
            room
        } else {
            0
        }
    }

    fn begin_claim(&mut self, want: usize) -> usize {
        let promised = self.direct.as_ref().map_or(0, DirectRoom::withdraw);
        self.claiming = want.saturating_sub(promised);
        self.publish();
        self.claiming
    }

    fn end_claim(&mut self, _: Option<bool>) {
        self.claiming = 0;
        self.publish();
    }

    fn take(&mut self, (id, attempt): (i64, i32), kafka: bool) -> bool {
        if let Some((_, false)) = self.claimed.insert(id, (attempt, kafka)) {
            self.url -= 1; // an earlier attempt's place, now this one's
        }
        self.sending.insert(id, attempt);
        if !kafka {
            self.url += 1;
        }
        self.publish();
        true
    }

    /// Sent: its outcome is on its way to the recorder; the place is held until it is recorded.
    fn finished(&mut self, (id, attempt): (i64, i32)) -> bool {
        if self.sending.get(&id) == Some(&attempt) {
            self.sending.remove(&id);
        }
        false
    }

    fn recorded(&mut self, (id, attempt): (i64, i32)) -> bool {
        let mut freed = false;
        if let Some(&(held, kafka)) = self.claimed.get(&id) {
            if held == attempt {
                self.claimed.remove(&id);
                freed = true;
                if !kafka {
                    self.url -= 1;
                }
            }
        }
        self.publish();
        freed
    }

    /// No heartbeat: a delivery's lease outlasts any attempt (`NotifierConfig::check`).
    fn held(&self) -> Vec<i64> {
        Vec::new()
    }

    /// Those not sent yet go back.
    fn drain(&mut self) -> Vec<i64> {
        self.sending.drain().map(|(id, _)| id).collect()
    }

    fn gather(&self) -> Option<Duration> {
        Some(OUTCOMES_GATHER)
    }
}

/// The most Url deliveries a notifier holds: up to four times `concurrency`, so that claims are
/// large, but no more than can all be sent before their lease ends. Sends take turns in order
/// and each ends within `timeout`, so the last of `k × concurrency` starts within
/// `(k - 1) × timeout` and ends within `k × timeout`, which must stay under the lease.
fn url_cap(cfg: &NotifierConfig) -> usize {
    let turns = (cfg.lease.as_secs_f64() / cfg.timeout.as_secs_f64().max(0.001)).ceil() as usize;
    cfg.concurrency * turns.saturating_sub(1).clamp(1, 4)
}

/// Callbacks as the engine's items.
struct Deliveries {
    store: Store,
    notifier: Uuid,
    lease: Duration,
    senders: Arc<Senders>,
    /// Url sends in flight; tokio's semaphore is fair, so they go in the order they were claimed.
    url_turns: Arc<Semaphore>,
}

impl Consumer for Deliveries {
    type Item = ClaimedDelivery;
    type Outcome = DeliveryOutcome;
    type Class = bool;
    const ITEMS: &'static str = "callbacks";
    const OUTCOMES: &'static str = "callback outcomes";

    async fn claim(&self, k: usize) -> Result<Vec<ClaimedDelivery>> {
        self.store.claim_deliveries(self.notifier, k as i64, self.lease).await
    }

    /// Resolves the target once, for the window (a Kafka send holds no Url place) and the send.
    fn start(
        &self,
        d: ClaimedDelivery,
    ) -> (bool, impl Future<Output = Ran<DeliveryOutcome>> + Send + 'static) {
        let target = deliver::target_of(&d);
        let kafka = target.0.as_ref().is_some_and(deliver::is_kafka);
        let senders = self.senders.clone();
        let turn = (target.0.is_some() && !kafka).then(|| self.url_turns.clone());
        (kafka, async move {
            let _turn = match &turn {
                Some(turns) => match turns.acquire().await {
                    Ok(turn) => Some(turn),
                    Err(_) => return Ran::Unstarted, // shutting down: handed back unsent
                },
                None => None,
            };
            Ran::Done(deliver::attempt(&senders, &d, target).await)
        })
    }

    async fn record(&self, batch: &[DeliveryOutcome]) -> Result<usize> {
        self.store.finish_deliveries(self.notifier, batch).await.map(|done| done.len())
    }

    async fn release(&self, ids: &[i64]) -> Result<u64> {
        self.store.release_deliveries(self.notifier, ids).await
    }

    /// Sends still waiting for a turn start none.
    fn stop_starting(&self) {
        self.url_turns.close();
    }
}

/// How long a few outcomes wait for more: nobody waits on them once the callback is sent, and at
/// a steady few hundred a second one statement per handful cost the job path CPU it needed
/// (BENCHMARKS.md, issue 17).
const OUTCOMES_GATHER: Duration = Duration::from_millis(20);

/// Delivers callbacks until `shutdown` turns true, then drains: sends in flight get `drain` to
/// finish, the rest are handed back, and the Kafka producer is flushed. Fails only on a bad
/// configuration (the Kafka producer could not be created).
pub async fn run_notifier(
    store: Store,
    cfg: NotifierConfig,
    shutdown: watch::Receiver<bool>,
) -> std::result::Result<(), String> {
    let kafka = cfg.kafka.as_ref().map(KafkaSender::new).transpose()?;
    let senders = Arc::new(Senders {
        url: UrlSender::new(cfg.addresses.clone(), cfg.connect_timeout, cfg.timeout),
        kafka: kafka.clone(),
        signer: cfg.signer.clone(),
        schedule: cfg.retry_schedule.clone(),
    });
    let notifier = Uuid::new_v4();
    let listener = store.listen_for_callbacks().await;
    let direct = store.take_deliveries_directly(notifier, cfg.lease);
    let window = Window::new(&cfg, Some(direct.room()));
    let url_turns = Arc::new(Semaphore::new(cfg.concurrency));
    let deliveries = Arc::new(Deliveries { store, notifier, lease: cfg.lease, senders, url_turns });
    let loop_cfg = LoopConfig { poll: cfg.poll, drain: cfg.drain, heartbeat: None };
    stowaway_engine::run(deliveries, window, direct, listener, loop_cfg, shutdown).await;
    if let Some(k) = kafka {
        tokio::task::spawn_blocking(move || k.flush(Duration::from_secs(5))).await.ok();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use stowaway_engine::Capacity;

    use super::*;

    fn cfg(lease: u64, timeout_ms: u64) -> NotifierConfig {
        NotifierConfig {
            concurrency: 10,
            lease: Duration::from_secs(lease),
            timeout: Duration::from_millis(timeout_ms),
            ..NotifierConfig::default()
        }
    }

    #[test]
    fn a_delivery_claimed_again_before_its_outcome_is_recorded_holds_one_place() {
        let mut w = Window::default();
        w.take((1, 1), false);
        w.take((1, 2), false); // the lease ran out while the first outcome waited
        w.take((2, 1), false);
        w.take((2, 2), true); // resolved to Kafka the second time
        assert_eq!((w.claimed.len(), w.url), (2, 1));
        w.finished((1, 1));
        assert_eq!(w.sending.get(&1), Some(&2), "the second attempt is still being sent");
        assert!(!w.recorded((1, 1)), "a late outcome frees nothing");
        assert!(!w.recorded((2, 1)));
        assert_eq!((w.claimed.len(), w.url), (2, 1), "late outcomes of earlier attempts free nothing");
        assert!(w.recorded((1, 2)));
        assert!(w.recorded((2, 2)));
        assert_eq!((w.claimed.len(), w.url), (0, 0));
    }

    #[tokio::test]
    async fn hand_overs_get_only_the_room_beyond_what_a_claim_waits_for() {
        let (lease, timeout, concurrency) = (Duration::from_secs(60), Duration::from_secs(10), 10);
        let c = NotifierConfig { concurrency, lease, timeout, batch: 16, ..NotifierConfig::default() };
        let store =
            stowaway_store::Store::from_pool(sqlx::PgPool::connect_lazy("postgres://unused").unwrap());
        let direct = store.take_deliveries_directly(Uuid::new_v4(), lease);
        let room = || direct.room().free();
        let mut w = Window::new(&c, Some(direct.room()));
        assert_eq!((w.room(), w.claim_at(), room()), (16, 8, 8));
        // 40 Url places (four turns of 10): a claim takes at most a batch of 16, hand-overs
        // what is left beyond 8.
        (1..=30).for_each(|id| assert!(w.take((id, 1), false)));
        assert_eq!((w.room(), room()), (10, 2));
        (31..=36).for_each(|id| assert!(w.take((id, 1), true))); // Kafka ones hold no Url place
        (37..=40).for_each(|id| assert!(w.take((id, 1), false)));
        assert_eq!((w.room(), room()), (6, 0), "what is left goes to claims");
        (1..=40).for_each(|id| assert!(w.recorded((id, 1))));
        assert_eq!(room(), 8);

        // A verdict's statement has 8 promised when a claim starts: the claim gets the other 8
        // of its batch, and nothing more is promised until it has taken them.
        assert!(direct.room().promise(8));
        assert_eq!(w.begin_claim(w.room()), 8);
        assert_eq!(room(), 0);
        (41..=48).for_each(|id| assert!(w.take((id, 1), false)));
        w.end_claim(None);
        (49..=56).for_each(|id| assert!(w.take((id, 1), false))); // the 8 handed over
        direct.room().taken(8);
        assert_eq!((w.claimed.len(), w.room(), room()), (16, 16, 8));
    }

    #[test]
    fn url_deliveries_held_all_end_within_their_lease() {
        assert_eq!(url_cap(&NotifierConfig::default()), 1024, "60 s over 10 s: four turns");
        for (lease, timeout_ms, cap) in
            [(60, 10_000, 40), (25, 10_000, 20), (20, 10_000, 10), (11, 10_000, 10)]
        {
            let c = cfg(lease, timeout_ms);
            assert_eq!(url_cap(&c), cap, "lease {lease} s, timeout {timeout_ms} ms");
            let turns = (cap / c.concurrency) as u32;
            assert!(c.timeout * turns < c.lease || turns == 1);
        }
    }
}
