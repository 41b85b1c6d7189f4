//! A cuttable network path to a real server, for outage tests (toxiproxy's "down"): while it is
//! up, every connection is relayed to the server; [`Cut::down`] resets the connections relayed
//! and stops listening, so clients see `Connection refused`, as when the server is killed;
//! [`Cut::up`] listens on the same port again. [`Cut::slow`] delays everything relayed (toxiproxy's
//! "latency").
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

pub struct Cut {
    listen: SocketAddr,
    server: SocketAddr,
    relay: Mutex<Option<JoinSet<()>>>,
    /// Milliseconds each chunk waits before it is passed on.
    delay_ms: Arc<AtomicU64>,
}

impl Cut {
    /// A path to `server` (`host:port`), up.
    pub async fn to(server: &str) -> Arc<Cut> {
        let server = tokio::net::lookup_host(server).await.unwrap().next().expect("an address");
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let cut = Arc::new(Cut {
            listen: listener.local_addr().unwrap(),
            server,
            relay: Mutex::new(None),
            delay_ms: Arc::default(),
        });
        cut.relay_from(listener);
        cut
    }

    /// `http://<the path's address>`, to configure clients with.
    pub fn url(&self) -> String {
        format!("http://{}", self.listen)
    }

    /// Delays every chunk relayed, each way, by `delay` (zero: none).
    pub fn slow(&self, delay: Duration) {
        self.delay_ms.store(delay.as_millis() as u64, Ordering::Relaxed);
    }

    pub fn down(&self) {
        if let Some(mut relay) = self.relay.lock().unwrap().take() {
            relay.abort_all();
            relay.detach_all();
        }
    }

    pub async fn up(&self) {
        // The port was ours a moment ago; tokio sets SO_REUSEADDR, so it can be bound again.
        let listener = TcpListener::bind(self.listen).await.expect("listening on the cut's port again");
        self.relay_from(listener);
    }

    fn relay_from(&self, listener: TcpListener) {
        let mut relay = JoinSet::new();
        let (server, delay) = (self.server, self.delay_ms.clone());
        // Aborting the accepting task drops its connections' set, which aborts them: a reset.
        relay.spawn(async move {
            let mut connections = JoinSet::new();
            while let Ok((client, _)) = listener.accept().await {
                while connections.try_join_next().is_some() {}
                client.set_nodelay(true).ok();
                let delay = delay.clone();
                connections.spawn(async move {
                    if let Ok(upstream) = TcpStream::connect(server).await {
                        upstream.set_nodelay(true).ok();
                        let (client_read, client_write) = client.into_split();
                        let (upstream_read, upstream_write) = upstream.into_split();
                        tokio::join!(
                            pass(client_read, upstream_write, delay.clone()),
                            pass(upstream_read, client_write, delay)
                        );
                    }
                });
            }
        });
        *self.relay.lock().unwrap() = Some(relay);
    }
}

/// Copies `from` to `to`, each chunk after the delay set then; closes `to` when `from` ends.
async fn pass(mut from: impl AsyncRead + Unpin, mut to: impl AsyncWrite + Unpin, delay_ms: Arc<AtomicU64>) {
    let mut buf = vec![0u8; 64 * 1024];
    while let Ok(n @ 1..) = from.read(&mut buf).await {
        let delay = delay_ms.load(Ordering::Relaxed);
        if delay > 0 {
            tokio::time::sleep(Duration::from_millis(delay)).await;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
    let _ = to.shutdown().await;
}
