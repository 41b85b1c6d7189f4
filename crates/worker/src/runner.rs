//! The job loop: claim in batches by priority, run jobs concurrently, heartbeat their leases, and
//! record verdicts in batches. No database transaction is open while a job talks to S3.
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use stowaway_store::{record_in_batches, Claimed, Completion};
use tokio::sync::{mpsc, watch, Notify};
use tokio::task::JoinSet;
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

type Held = Arc<Mutex<HashSet<i64>>>;

/// Runs jobs until `shutdown` turns true, then drains: running jobs get `drain` to finish, the
/// rest are handed back unstarted.
pub async fn run_worker(ctx: JobContext, cfg: WorkerConfig, mut shutdown: watch::Receiver<bool>) {
    let held: Held = Arc::default();
    let slot_freed = Arc::new(Notify::new());
    let (done_tx, done_rx) = mpsc::unbounded_channel::<Completion>();
    let (store, worker) = (ctx.store.clone(), ctx.worker);
    let completer =
        tokio::spawn(record_in_batches(done_rx, "verdicts", async move |batch: &[Completion]| {
            store.complete(worker, batch).await.map(|done| done.len())
        }));
    let (beat_stop, beat_stopped) = watch::channel(false);
    let heartbeat = tokio::spawn(heartbeat(ctx.clone(), held.clone(), cfg.lease, beat_stopped));
    let mut listener = ctx.store.listen_for_jobs().await;
    let mut running = JoinSet::new();

    while !*shutdown.borrow() {
        let free = cfg.concurrency.saturating_sub(held.lock().expect("held").len());
        let mut claimed_full = false;
        if free > 0 {
            match ctx.store.claim(ctx.worker, free as i64, cfg.lease).await {
                Ok(jobs) => {
                    claimed_full = jobs.len() == free;
                    for job in jobs {
                        // Already running here: its claim (committed without waiting for the
                        // flush) was lost in a database crash and this worker claimed the job
                        // again, with the same attempt. The run going on holds that same fence
                        // and finishes it; a second run would only repeat its work.
                        if !held.lock().expect("held").insert(job.id) {
                            continue;
                        }
                        running.spawn(run_one(
                            ctx.clone(),
                            job,
                            held.clone(),
                            slot_freed.clone(),
                            done_tx.clone(),
                        ));
                    }
                }
                Err(e) => tracing::error!(error = %e, "claiming jobs failed; retrying"),
            }
        }
        while running.try_join_next().is_some() {}
        if claimed_full && free > 0 {
            continue; // more may be waiting
        }
        tokio::select! {
            _ = slot_freed.notified(), if free == 0 => {}
            _ = listener.next() => {}
            _ = tokio::time::sleep(cfg.poll) => {}
            r = shutdown.changed() => if r.is_err() { break },
        }
    }

    // Drain: let running jobs finish, then hand back whatever is still held.
    let _ = tokio::time::timeout(cfg.drain, async { while running.join_next().await.is_some() {} }).await;
    running.abort_all();
    let left: Vec<i64> = held.lock().expect("held").drain().collect();
    if !left.is_empty() {
        match ctx.store.release(ctx.worker, &left).await {
            Ok(n) => tracing::info!(released = n, "handed unfinished jobs back to the queue"),
            Err(e) => tracing::error!(error = %e, "could not hand jobs back; the rescuer will"),
        }
    }
    drop(done_tx);
    let _ = completer.await;
    let _ = beat_stop.send(true);
    let _ = heartbeat.await;
}

async fn run_one(
    ctx: JobContext,
    job: Claimed,
    held: Held,
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
    held.lock().expect("held").remove(&job.id);
    slot_freed.notify_one();
}

async fn heartbeat(ctx: JobContext, held: Held, lease: Duration, mut stop: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(lease / 3);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    while !*stop.borrow() {
        tokio::select! {
            _ = tick.tick() => {
                let ids: Vec<i64> = held.lock().expect("held").iter().copied().collect();
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
