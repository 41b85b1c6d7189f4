//! Waking the workers (`JOBS_CHANNEL`), notifiers (`CALLBACKS_CHANNEL`) and batch listers
//! (`BATCHES_CHANNEL`) after a commit.
//!
//! A transaction that NOTIFYs holds a cluster-wide lock from just before its commit until the
//! commit is done, WAL flush included, so notifying transactions commit one at a time (migration
//! 0005 says what that cost). Here the NOTIFY goes out after the commit, in a transaction of its
//! own that does not wait for the flush (a lost wake-up costs only latency), from one task per
//! channel: wake-ups asked for while one is on its way coalesce into one more. Listeners in the same process (`stowaway serve` runs every part in one) are woken
//! directly and skip the echo, whose payload names the store it came from. A wake-up lost to a
//! crash costs only latency: listeners also poll.
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use sqlx::postgres::{PgListener, PgPoolOptions};
use sqlx::PgPool;
use tokio::sync::{watch, Notify};

use crate::{Store, BATCHES_CHANNEL, CALLBACKS_CHANNEL, JOBS_CHANNEL};

#[derive(Debug)]
pub(crate) struct Wakers {
    /// NOTIFY payload: which store (process) the wake-up came from.
    origin: String,
    jobs: Wake,
    callbacks: Wake,
    batches: Wake,
}

impl Default for Wakers {
    fn default() -> Wakers {
        Wakers {
            origin: uuid::Uuid::new_v4().simple().to_string(),
            jobs: Wake::new(JOBS_CHANNEL),
            callbacks: Wake::new(CALLBACKS_CHANNEL),
            batches: Wake::new(BATCHES_CHANNEL),
        }
    }
}

#[derive(Debug)]
struct Wake {
    channel: &'static str,
    local: watch::Sender<()>,
    /// The task sending NOTIFYs, started on the first wake-up (it needs a runtime).
    remote: OnceLock<Arc<Notify>>,
}

impl Wake {
    fn new(channel: &'static str) -> Wake {
        Wake { channel, local: watch::channel(()).0, remote: OnceLock::new() }
    }
}

impl Store {
    /// Wakes the workers: Submitted jobs were committed.
    pub(crate) fn wake_workers(&self) {
        self.wake(&self.wakers.jobs);
    }

    /// Wakes the notifiers: due deliveries were committed.
    pub(crate) fn wake_notifiers(&self) {
        self.wake(&self.wakers.callbacks);
    }

    /// Wakes the batch listers: a batch was created or handed back.
    pub(crate) fn wake_listers(&self) {
        self.wake(&self.wakers.batches);
    }

    fn wake(&self, wake: &Wake) {
        wake.local.send_modify(|_| ());
        let remote = wake.remote.get_or_init(|| {
            let signal = Arc::new(Notify::new());
            let payload = self.wakers.origin.clone();
            tokio::spawn(send_notifies(self.pool.clone(), wake.channel, payload, signal.clone()));
            signal
        });
        // Stores one permit while the task is busy sending: one more NOTIFY covers them all.
        remote.notify_one();
    }

    /// Wake-ups for workers: new Submitted jobs, from any process.
    pub async fn listen_for_jobs(&self) -> Listener {
        self.listener(&self.wakers.jobs).await
    }

    /// Wake-ups for batch listers: batches to list, from any process.
    pub async fn listen_for_batches(&self) -> Listener {
        self.listener(&self.wakers.batches).await
    }

    /// Wake-ups for notifiers: due deliveries, from any process.
    pub async fn listen_for_callbacks(&self) -> Listener {
        self.listener(&self.wakers.callbacks).await
    }

    async fn listener(&self, wake: &Wake) -> Listener {
        let mut listener = Listener {
            store: self.clone(),
            channel: wake.channel,
            pg: None,
            retry_at: Instant::now(),
            local: wake.local.subscribe(),
        };
        listener.connect().await;
        listener
    }
}

async fn send_notifies(pool: PgPool, channel: &'static str, payload: String, signal: Arc<Notify>) {
    loop {
        signal.notified().await;
        // NOTIFY gives its transaction an id, so it commits like a write: without waiting for
        // the flush, the lock is held only while the commit record is written. One round trip;
        // the channel and payload are ours (a name and hex digits).
        let notify = format!(
            "SELECT set_config('synchronous_commit', 'off', true); SELECT pg_notify('{channel}', '{payload}')"
        );
        match sqlx::raw_sql(&notify).execute(&pool).await {
            Ok(_) => {}
            Err(sqlx::Error::PoolClosed) => return,
            Err(e) => tracing::warn!(error = %e, channel, "NOTIFY failed; listeners fall back to polling"),
        }
    }
}

/// A worker's or notifier's wake-ups: this process's commits directly, other processes' through
/// LISTEN. Callers poll as well, so a missed wake-up only delays work.
pub struct Listener {
    store: Store,
    channel: &'static str,
    /// None when no LISTEN connection could be had; retried at `retry_at`.
    pg: Option<PgListener>,
    retry_at: Instant,
    local: watch::Receiver<()>,
}

impl Listener {
    /// Waits for the next wake-up.
    pub async fn next(&mut self) {
        let origin = &self.store.wakers.origin;
        let retry_at = tokio::time::Instant::from_std(self.retry_at);
        let (pg, local) = (&mut self.pg, &mut self.local);
        let lost = tokio::select! {
            r = async {
                match pg {
                    Some(l) => loop {
                        match l.recv().await {
                            // Our own NOTIFY: `local` already woke us.
                            Ok(n) if n.payload() == origin => continue,
                            Ok(_) => return false,
                            Err(e) => {
                                tracing::warn!(error = %e, "LISTEN connection lost");
                                return true;
                            }
                        }
                    },
                    // An instant, not a delay: callers poll, so `next` is often cut short.
                    None => {
                        tokio::time::sleep_until(retry_at).await;
                        true
                    }
                }
            } => r,
            _ = local.changed() => false,
        };
        if lost {
            self.connect().await;
        }
    }

    /// The LISTEN connection is its own pool's, not the store's: a listener holds its connection
    /// for as long as it lives, and each one taken from the store's pool left one fewer for
    /// statements (with `STOWAWAY_DB_CONNECTIONS` at 3, `serve`'s three listeners left none).
    async fn connect(&mut self) {
        self.retry_at = Instant::now() + Duration::from_secs(5);
        self.pg = async {
            let own = PgPoolOptions::new()
                .max_connections(1)
                .acquire_timeout(Duration::from_secs(5))
                .idle_timeout(None)
                .max_lifetime(None)
                .connect_with((*self.store.pool().connect_options()).clone())
                .await
                .ok()?;
            let mut l = PgListener::connect_with(&own).await.ok()?;
            l.listen(self.channel).await.ok()?;
            Some(l)
        }
        .await;
    }
}
