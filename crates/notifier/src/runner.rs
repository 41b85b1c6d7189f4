//! The delivery loop: claim due deliveries in batches with SKIP LOCKED (several notifiers can
//! run), send them concurrently, record outcomes in batches. Mirrors the worker's job loop.
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use stowaway_store::{
    next_notification, record_in_batches, ClaimedDelivery, DeliveryOutcome, Store, CALLBACKS_CHANNEL,
};
use tokio::sync::{mpsc, watch, Notify};
use tokio::task::JoinSet;
use uuid::Uuid;

use crate::deliver::{self, Senders};
use crate::kafka::KafkaSender;
use crate::url::UrlSender;
use crate::NotifierConfig;

type Held = Arc<Mutex<HashSet<i64>>>;

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
    let held: Held = Arc::default();
    let slot_freed = Arc::new(Notify::new());
    let (done_tx, done_rx) = mpsc::unbounded_channel::<DeliveryOutcome>();
    let recording = store.clone();
    let recorder = tokio::spawn(record_in_batches(
        done_rx,
        "callback outcomes",
        async move |batch: &[DeliveryOutcome]| {
            recording.finish_deliveries(notifier, batch).await.map(|done| done.len())
        },
    ));
    let rescuer = tokio::spawn(crate::rescuer::run(store.clone(), cfg.lease, shutdown.clone()));
    let mut listener = store.listen(CALLBACKS_CHANNEL).await;
    let mut running = JoinSet::new();

    while !*shutdown.borrow() {
        let in_flight = held.lock().expect("held").len();
        let free = cfg.concurrency.saturating_sub(in_flight);
        // Claim in batches, not one row per freed slot: wait for half a batch of room while
        // sends are in flight (an idle notifier claims at once, so latency does not suffer).
        let room =
            if in_flight == 0 || free >= cfg.batch.min(cfg.concurrency).div_ceil(2) { free } else { 0 };
        let mut claimed_full = false;
        if room > 0 {
            let k = room.min(cfg.batch);
            match store.claim_deliveries(notifier, k as i64, cfg.lease).await {
                Ok(claimed) => {
                    claimed_full = claimed.len() == k;
                    for d in claimed {
                        held.lock().expect("held").insert(d.delivery_id);
                        let (senders, held, freed, done) =
                            (senders.clone(), held.clone(), slot_freed.clone(), done_tx.clone());
                        running.spawn(async move { send_one(&senders, d, held, freed, done).await });
                    }
                }
                Err(e) => tracing::error!(error = %e, "claiming deliveries failed; retrying"),
            }
        }
        while running.try_join_next().is_some() {}
        if claimed_full {
            continue; // more may be due
        }
        tokio::select! {
            _ = slot_freed.notified(), if room == 0 => {}
            n = next_notification(&mut listener) => if n.is_err() { listener = store.listen(CALLBACKS_CHANNEL).await },
            _ = tokio::time::sleep(cfg.poll) => {}
            r = shutdown.changed() => if r.is_err() { break },
        }
    }

    let _ = tokio::time::timeout(cfg.drain, async { while running.join_next().await.is_some() {} }).await;
    running.abort_all();
    let left: Vec<i64> = held.lock().expect("held").drain().collect();
    if !left.is_empty() {
        match store.release_deliveries(notifier, &left).await {
            Ok(n) => tracing::info!(released = n, "handed unsent callbacks back to the outbox"),
            Err(e) => tracing::error!(error = %e, "could not hand callbacks back; the rescuer will"),
        }
    }
    drop(done_tx);
    let _ = recorder.await;
    let _ = rescuer.await;
    if let Some(k) = kafka {
        tokio::task::spawn_blocking(move || k.flush(Duration::from_secs(5))).await.ok();
    }
    Ok(())
}

async fn send_one(
    senders: &Senders,
    d: ClaimedDelivery,
    held: Held,
    slot_freed: Arc<Notify>,
    done: mpsc::UnboundedSender<DeliveryOutcome>,
) {
    let outcome = deliver::attempt(senders, &d).await;
    let _ = done.send(outcome);
    held.lock().expect("held").remove(&d.delivery_id);
    slot_freed.notify_one();
}
