//! The delivery loop: claim due deliveries in batches with SKIP LOCKED (several notifiers can
//! run), or take those a verdict in this process handed over (`store`'s `handoff.rs`), send them
//! concurrently, record outcomes in batches. Mirrors the worker's job loop.
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use stowaway_store::{record_in_batches, ClaimedDelivery, DeliveryOutcome, DirectRoom, Store};
use tokio::sync::{mpsc, watch, Notify, Semaphore};
use tokio::task::JoinSet;
use tokio::time::Instant;
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

    /// Sets aside room for a claim of up to `want`, less what is promised to hand-overs, and
    /// returns its size. Nothing is promised meanwhile (the offer is withdrawn first), so a claim
    /// and the hand-overs never count on the same place.
    fn begin_claim(&mut self, want: usize) -> usize {
        let promised = self.direct.as_ref().map_or(0, DirectRoom::withdraw);
        self.claiming = want.saturating_sub(promised);
        self.publish();
        self.claiming
    }

    /// The claim's deliveries are taken.
    fn end_claim(&mut self) {
        self.claiming = 0;
        self.publish();
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

    fn take(&mut self, id: i64, attempt: i32, kafka: bool) {
        if let Some((_, false)) = self.claimed.insert(id, (attempt, kafka)) {
            self.url -= 1; // an earlier attempt's place, now this one's
        }
        self.sending.insert(id, attempt);
        if !kafka {
            self.url += 1;
        }
        self.publish();
    }

    fn sent(&mut self, id: i64, attempt: i32) {
        if self.sending.get(&id) == Some(&attempt) {
            self.sending.remove(&id);
        }
    }

    fn recorded(&mut self, id: i64, attempt: i32) {
        if let Some(&(held, kafka)) = self.claimed.get(&id) {
            if held == attempt {
                self.claimed.remove(&id);
                if !kafka {
                    self.url -= 1;
                }
            }
        }
        self.publish();
    }
}

type Shared = Arc<Mutex<Window>>;

/// The most Url deliveries a notifier holds: up to four times `concurrency`, so that claims are
/// large, but no more than can all be sent before their lease ends. Sends take turns in order
/// and each ends within `timeout`, so the last of `k × concurrency` starts within
/// `(k - 1) × timeout` and ends within `k × timeout`, which must stay under the lease.
fn url_cap(cfg: &NotifierConfig) -> usize {
    let turns = (cfg.lease.as_secs_f64() / cfg.timeout.as_secs_f64().max(0.001)).ceil() as usize;
    cfg.concurrency * turns.saturating_sub(1).clamp(1, 4)
}

/// Delivers callbacks until `shutdown` turns true, then drains: sends in flight get `drain` to
/// finish, the rest are handed back, and the Kafka producer is flushed. Fails only on a bad
/// configuration (the Kafka producer could not be created).
pub async fn run_notifier(
    store: Store,
    cfg: NotifierConfig,
    mut shutdown: watch::Receiver<bool>,
) -> Result<(), String> {
    let kafka = cfg.kafka.as_ref().map(KafkaSender::new).transpose()?;
    let senders = Arc::new(Senders {
        url: UrlSender::new(cfg.addresses.clone(), cfg.connect_timeout, cfg.timeout),
        kafka: kafka.clone(),
        signer: cfg.signer.clone(),
        schedule: cfg.retry_schedule.clone(),
    });
    let notifier = Uuid::new_v4();
    let mut listener = store.listen_for_callbacks().await;
    // Registered once nothing is left to wait for before the loop: a hand-over's lease runs.
    let mut direct = store.take_deliveries_directly(notifier, cfg.lease);
    let window: Shared = Arc::new(Mutex::new(Window::new(&cfg, Some(direct.room()))));
    let room_freed = Arc::new(Notify::new());
    let (done_tx, done_rx) = mpsc::unbounded_channel::<DeliveryOutcome>();
    let recording = store.clone();
    let (recorded_window, recorded_room) = (window.clone(), room_freed.clone());
    let recorder = tokio::spawn(record_in_batches(
        done_rx,
        "callback outcomes",
        async move |batch: &[DeliveryOutcome]| {
            let finished = recording.finish_deliveries(notifier, batch).await.map(|done| done.len());
            // Recorded or lost to a rescue: either way no longer this notifier's to hold.
            if finished.is_ok() {
                let mut w = recorded_window.lock().expect("window");
                batch.iter().for_each(|o| w.recorded(o.delivery_id, o.attempt));
                recorded_room.notify_one();
            }
            finished
        },
    ));
    let rescuer = tokio::spawn(crate::rescuer::run(store.clone(), cfg.lease, shutdown.clone()));
    let mut running = JoinSet::new();
    let sending = Sending {
        senders,
        window: window.clone(),
        done: done_tx,
        // Url sends in flight; tokio's semaphore is fair, so they go in the order they were claimed.
        url_turns: Arc::new(Semaphore::new(cfg.concurrency)),
    };

    // Claim when woken, when room was freed, after a full claim, or at the poll; not after a
    // hand-over. The poll counts from the last time a claim was due, so a stream of hand-overs
    // does not put it off.
    let (mut claim, mut poll_at) = (true, Instant::now());
    while !*shutdown.borrow() {
        let (held, free, claim_at) = {
            let w = window.lock().expect("window");
            (w.claimed.len(), w.room(), w.claim_at())
        };
        // Claim in batches, not one row per freed slot: wait for half a batch of room while
        // deliveries are held (an idle notifier claims at once, so latency does not suffer).
        let mut room = if held == 0 || free >= claim_at { free } else { 0 };
        let due = claim || poll_at <= Instant::now();
        if due {
            poll_at = Instant::now() + cfg.poll;
        }
        if due && room > 0 {
            // All of it promised to hand-overs: claim once room is freed after them.
            room = window.lock().expect("window").begin_claim(room);
            let claimed = match room {
                0 => Ok(Vec::new()),
                k => store.claim_deliveries(notifier, k as i64, cfg.lease).await,
            };
            let full = match claimed {
                Ok(claimed) => {
                    let full = room > 0 && claimed.len() == room;
                    claimed.into_iter().for_each(|d| sending.start(d, &mut running));
                    full
                }
                Err(e) => {
                    tracing::error!(error = %e, "claiming deliveries failed; retrying");
                    false
                }
            };
            window.lock().expect("window").end_claim();
            if full {
                claim = true; // more may be due
                continue;
            }
        }
        while running.try_join_next().is_some() {}
        claim = tokio::select! {
            Some(handed) = direct.recv() => {
                let n = handed.len();
                handed.into_iter().for_each(|d| sending.start(d, &mut running));
                direct.room().taken(n);
                false
            }
            _ = room_freed.notified(), if room == 0 => true,
            _ = listener.next() => true,
            _ = tokio::time::sleep_until(poll_at) => true,
            r = shutdown.changed() => if r.is_err() { break } else { true },
        };
    }

    // No more handed over; sends already going get `drain` to finish; those still waiting for a
    // turn start none.
    let mut left = direct.close().await;
    sending.url_turns.close();
    let _ = tokio::time::timeout(cfg.drain, async { while running.join_next().await.is_some() {} }).await;
    running.abort_all();
    left.extend(window.lock().expect("window").sending.drain().map(|(id, _)| id));
    if !left.is_empty() {
        match store.release_deliveries(notifier, &left).await {
            Ok(n) => tracing::info!(released = n, "handed unsent callbacks back to the outbox"),
            Err(e) => tracing::error!(error = %e, "could not hand callbacks back; the rescuer will"),
        }
    }
    drop(sending);
    let _ = recorder.await;
    let _ = rescuer.await;
    if let Some(k) = kafka {
        tokio::task::spawn_blocking(move || k.flush(Duration::from_secs(5))).await.ok();
    }
    Ok(())
}

/// What starting a send needs.
struct Sending {
    senders: Arc<Senders>,
    window: Shared,
    done: mpsc::UnboundedSender<DeliveryOutcome>,
    url_turns: Arc<Semaphore>,
}

impl Sending {
    /// Takes a claimed (or handed-over) delivery into the window and sends it in its turn.
    fn start(&self, d: ClaimedDelivery, running: &mut JoinSet<()>) {
        let target = deliver::target_of(&d);
        let kafka = target.0.as_ref().is_some_and(deliver::is_kafka);
        self.window.lock().expect("window").take(d.delivery_id, d.attempt, kafka);
        let (senders, window, done) = (self.senders.clone(), self.window.clone(), self.done.clone());
        let turn = (target.0.is_some() && !kafka).then(|| self.url_turns.clone());
        // Boxed: the send's state machine is large, and spawning moves it.
        running.spawn(Box::pin(async move {
            let _turn = match &turn {
                Some(turns) => match turns.acquire().await {
                    Ok(turn) => Some(turn),
                    Err(_) => return, // shutting down: handed back unsent
                },
                None => None,
            };
            let outcome = deliver::attempt(&senders, &d, target).await;
            window.lock().expect("window").sent(d.delivery_id, d.attempt);
            let _ = done.send(outcome);
        }));
    }
}

#[cfg(test)]
mod tests {
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
        w.take(1, 1, false);
        w.take(1, 2, false); // the lease ran out while the first outcome waited
        w.take(2, 1, false);
        w.take(2, 2, true); // resolved to Kafka the second time
        assert_eq!((w.claimed.len(), w.url), (2, 1));
        w.sent(1, 1);
        assert_eq!(w.sending.get(&1), Some(&2), "the second attempt is still being sent");
        w.recorded(1, 1);
        w.recorded(2, 1);
        assert_eq!((w.claimed.len(), w.url), (2, 1), "late outcomes of earlier attempts free nothing");
        w.recorded(1, 2);
        w.recorded(2, 2);
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
        (1..=30).for_each(|id| w.take(id, 1, false));
        assert_eq!((w.room(), room()), (10, 2));
        (31..=36).for_each(|id| w.take(id, 1, true)); // Kafka ones hold no Url place
        (37..=40).for_each(|id| w.take(id, 1, false));
        assert_eq!((w.room(), room()), (6, 0), "what is left goes to claims");
        (1..=40).for_each(|id| w.recorded(id, 1));
        assert_eq!(room(), 8);

        // A verdict's statement has 8 promised when a claim starts: the claim gets the other 8
        // of its batch, and nothing more is promised until it has taken them.
        assert!(direct.room().promise(8));
        assert_eq!(w.begin_claim(w.room()), 8);
        assert_eq!(room(), 0);
        (41..=48).for_each(|id| w.take(id, 1, false));
        w.end_claim();
        (49..=56).for_each(|id| w.take(id, 1, false)); // the 8 handed over
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
