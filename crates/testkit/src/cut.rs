//! A cuttable network path to a real server, for outage tests (toxiproxy's "down"): while it is
//! up, every connection is relayed to the server; [`Cut::down`] resets the connections relayed
//! and stops listening, so clients see `Connection refused`, as when the server is killed;
//! [`Cut::up`] listens on the same port again.
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

pub struct Cut {
    listen: SocketAddr,
    server: SocketAddr,
    relay: Mutex<Option<JoinSet<()>>>,
}

impl Cut {
    /// A path to `server` (`host:port`), up.
    pub async fn to(server: &str) -> Arc<Cut> {
        let server = tokio::net::lookup_host(server).await.unwrap().next().expect("an address");
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let cut = Arc::new(Cut { listen: listener.local_addr().unwrap(), server, relay: Mutex::new(None) });
        cut.relay_from(listener);
        cut
    }

    /// `http://<the path's address>`, to configure clients with.
    pub fn url(&self) -> String {
        format!("http://{}", self.listen)
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
        let server = self.server;
        // Aborting the accepting task drops its connections' set, which aborts them: a reset.
        relay.spawn(async move {
            let mut connections = JoinSet::new();
            while let Ok((mut client, _)) = listener.accept().await {
                while connections.try_join_next().is_some() {}
                client.set_nodelay(true).ok();
                connections.spawn(async move {
                    if let Ok(mut upstream) = TcpStream::connect(server).await {
                        upstream.set_nodelay(true).ok();
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
                    }
                });
            }
        });
        *self.relay.lock().unwrap() = Some(relay);
    }
}
