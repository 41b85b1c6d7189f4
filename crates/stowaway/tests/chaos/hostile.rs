//! Hostile clients against the API while the load goes on: malformed and oversized requests
//! (each must get a 4xx, never a 5xx or a crash) and slowloris connections that trickle a head
//! (each must be closed by the server's header timeout, 30 s).
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinSet;

/// What the hostile clients saw: answers by status, and how long the slowest slowloris lasted.
pub struct Seen {
    pub statuses: BTreeMap<u16, usize>,
    /// Requests that got no status line (the server closed first).
    pub unanswered: usize,
    pub slowloris_closed: usize,
    pub slowloris_longest: Duration,
}

fn requests(port: u16) -> Vec<Vec<u8>> {
    let host = format!("127.0.0.1:{port}");
    let post = |extra: &str, body: &str| {
        format!(
            "POST /jobs HTTP/1.1\r\nHost: {host}\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .into_bytes()
    };
    vec![
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage that is no HTTP at all\r\n\r\n".to_vec(),
        post("", "<Request><Tag>ImageInspect</Tag>"),
        post("", "<?xml version=\"1.0\"?><!DOCTYPE r [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><Request>&x;</Request>"),
        post("", &format!("<Request><Tag>ImageInspect</Tag><Input><Object>{}</Object></Input></Request>", "a".repeat(5000))),
        post("", &"<a>".repeat(20_000)),
        post(&format!("X-Big: {}\r\n", "b".repeat(100_000)), "<Request/>"),
        post(&format!("Host: {host}\r\n"), "<Request/>"),
        format!("GET /{} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n", "x".repeat(20_000)).into_bytes(),
        format!("BREW /jobs HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").into_bytes(),
        format!("POST /jobs HTTP/1.1\r\nHost: {host}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\nzz\r\nnope\r\n")
            .into_bytes(),
        format!("GET /jobs?size=-1&nextToken=%ZZ HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").into_bytes(),
    ]
}

/// Sends `n` hostile requests (16 at a time) and holds 64 slowloris connections meanwhile.
pub async fn attack(port: u16, n: usize) -> Seen {
    let slow: Vec<_> = (0..64).map(|_| tokio::spawn(slowloris(port))).collect();
    let kinds = requests(port);
    let mut sent = JoinSet::new();
    let mut statuses = BTreeMap::new();
    let mut unanswered = 0;
    for i in 0..n {
        let request = kinds[i % kinds.len()].clone();
        sent.spawn(send(port, request));
        while sent.len() >= 16 {
            match sent.join_next().await.unwrap().unwrap() {
                Some(status) => *statuses.entry(status).or_insert(0) += 1,
                None => unanswered += 1,
            }
        }
    }
    while let Some(r) = sent.join_next().await {
        match r.unwrap() {
            Some(status) => *statuses.entry(status).or_insert(0) += 1,
            None => unanswered += 1,
        }
    }
    let (mut closed, mut longest) = (0, Duration::ZERO);
    for s in slow {
        if let Some(lasted) = s.await.unwrap() {
            closed += 1;
            longest = longest.max(lasted);
        }
    }
    Seen { statuses, unanswered, slowloris_closed: closed, slowloris_longest: longest }
}

async fn send(port: u16, request: Vec<u8>) -> Option<u16> {
    let exchange = async {
        let mut s = TcpStream::connect(("127.0.0.1", port)).await.ok()?;
        // The server may answer and close before reading everything: the answer still counts.
        let _ = s.write_all(&request).await;
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out).await;
        String::from_utf8_lossy(out.get(9..12)?).parse().ok()
    };
    tokio::time::timeout(Duration::from_secs(20), exchange).await.ok().flatten()
}

/// A head trickled a byte every two seconds; how long until the server closed it (None: not
/// within 45 s).
async fn slowloris(port: u16) -> Option<Duration> {
    let started = Instant::now();
    let mut s = TcpStream::connect(("127.0.0.1", port)).await.ok()?;
    s.write_all(b"POST /jobs HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ").await.ok()?;
    let mut buf = [0u8; 512];
    while started.elapsed() < Duration::from_secs(45) {
        tokio::select! {
            r = s.read(&mut buf) => match r {
                Ok(0) | Err(_) => return Some(started.elapsed()),
                Ok(_) => {} // an answer (408); the close follows
            },
            _ = tokio::time::sleep(Duration::from_secs(2)) => {
                if s.write_all(b"a").await.is_err() {
                    return Some(started.elapsed());
                }
            }
        }
    }
    None
}
