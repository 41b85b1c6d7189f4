//! A real HTTP callback receiver on loopback, for tests and benchmarks: it records every request
//! as it arrives and answers from a script (then 200), e.g. 500s, 429 with Retry-After, 410, or
//! never (hang); or, for an outage, one status to every request until told otherwise.
use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::sync::mpsc;
use tokio::task::JoinSet;

/// One request as it arrived.
#[derive(Clone, Debug)]
pub struct Received {
    pub at: Instant,
    pub path: String,
    /// Header names lowercased.
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
    /// The status it was answered with (0: never answered).
    pub answered: u16,
}

impl Received {
    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).map(String::as_str).unwrap_or("")
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// How to answer one request.
#[derive(Clone, Debug)]
pub enum Reply {
    Status(u16),
    /// A status with headers, e.g. 429 with `Retry-After`.
    With(u16, Vec<(&'static str, String)>),
    /// Never answer (the connection stays open until the client gives up).
    Hang,
}

/// The answers to come.
#[derive(Default)]
struct Script {
    next: VecDeque<Reply>,
    /// Every request gets this status meanwhile (the script waits).
    all: Option<u16>,
}

pub struct Receiver {
    pub addr: SocketAddr,
    script: Arc<Mutex<Script>>,
    rx: mpsc::UnboundedReceiver<Received>,
    server: tokio::task::JoinHandle<()>,
}

impl Receiver {
    /// Listens on a free loopback port.
    pub async fn start() -> Receiver {
        Receiver::start_on("127.0.0.1:0".parse().unwrap()).await
    }

    /// Listens on `addr` (to come back on the same port after `stop`).
    pub async fn start_on(addr: SocketAddr) -> Receiver {
        let listener = tokio::net::TcpListener::bind(addr).await.expect("binding the test receiver");
        let addr = listener.local_addr().expect("local addr");
        let script: Arc<Mutex<Script>> = Arc::default();
        let (tx, rx) = mpsc::unbounded_channel();
        let server = tokio::spawn(serve(listener, script.clone(), tx));
        Receiver { addr, script, rx, server }
    }

    /// The URL callbacks should go to.
    pub fn url(&self) -> String {
        format!("http://{}/callback", self.addr)
    }

    /// The next requests get these answers, in order; after them, 200.
    pub fn script(&self, replies: impl IntoIterator<Item = Reply>) {
        self.script.lock().unwrap().next.extend(replies);
    }

    /// Every request gets `status` until called with `None` (a receiver's outage).
    pub fn answer_all(&self, status: Option<u16>) {
        self.script.lock().unwrap().all = status;
    }

    /// The next request, waiting up to `within`.
    pub async fn next(&mut self, within: Duration) -> Option<Received> {
        tokio::time::timeout(within, self.rx.recv()).await.ok().flatten()
    }

    /// Every request that arrives within `within`.
    pub async fn collect(&mut self, within: Duration) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + within;
        let mut all = Vec::new();
        while let Ok(Some(r)) = tokio::time::timeout_at(deadline, self.rx.recv()).await {
            all.push(r);
        }
        all
    }

    /// Closes the listener and every connection.
    pub async fn stop(self) -> SocketAddr {
        self.server.abort();
        let _ = self.server.await;
        self.addr
    }
}

async fn serve(
    listener: tokio::net::TcpListener,
    script: Arc<Mutex<Script>>,
    tx: mpsc::UnboundedSender<Received>,
) {
    // Dropped with this task: aborting the server closes every connection too.
    let mut connections = JoinSet::new();
    while let Ok((stream, _)) = listener.accept().await {
        let (script, tx) = (script.clone(), tx.clone());
        connections.spawn(async move {
            let service = hyper::service::service_fn(move |req| answer(req, script.clone(), tx.clone()));
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
        while connections.try_join_next().is_some() {}
    }
}

async fn answer(
    req: Request<Incoming>,
    script: Arc<Mutex<Script>>,
    tx: mpsc::UnboundedSender<Received>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let at = Instant::now();
    let path = req.uri().path().to_string();
    let headers = req
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or("").to_string()))
        .collect();
    let body = req.into_body().collect().await.map(|b| b.to_bytes().to_vec()).unwrap_or_default();
    let reply = {
        let mut script = script.lock().unwrap();
        match script.all {
            Some(status) => Reply::Status(status),
            None => script.next.pop_front().unwrap_or(Reply::Status(200)),
        }
    };
    let answered = match &reply {
        Reply::Status(s) | Reply::With(s, _) => *s,
        Reply::Hang => 0,
    };
    let _ = tx.send(Received { at, path, headers, body, answered });
    let (status, headers) = match reply {
        Reply::Status(s) => (s, vec![]),
        Reply::With(s, h) => (s, h),
        Reply::Hang => std::future::pending().await,
    };
    let mut resp = Response::builder().status(status);
    for (k, v) in headers {
        resp = resp.header(k, v);
    }
    Ok(resp.body(Full::new(Bytes::new())).expect("a valid response"))
}
