//! The server loop over real TCP, as clients misbehave: bodies that trickle or stall, shutdown
//! with clients still sending a head, and requests with two `Host` headers.
mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use sqlx::PgPool;
use stowaway_api::{serve_with, AccessKey, ApiConfig, KeyRing, Timeouts};
use stowaway_testkit::SEED_REQUEST;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use common::{app, element, HOST};

struct Server {
    addr: SocketAddr,
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

async fn start(pool: PgPool, config: ApiConfig, timeouts: Timeouts) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let shutdown = async move {
        let _ = stopped.await;
    };
    let task = tokio::spawn(serve_with(listener, app(pool, config), shutdown, timeouts));
    Server { addr, stop, task }
}

async fn connect(server: &Server, first_bytes: &str) -> TcpStream {
    let mut conn = TcpStream::connect(server.addr).await.unwrap();
    conn.write_all(first_bytes.as_bytes()).await.unwrap();
    conn
}

/// Everything the server sends until it closes the connection (a reset counts as closed), or
/// `None` if it is still open after `limit`.
async fn until_closed(conn: &mut TcpStream, limit: Duration) -> Option<String> {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let read_all = async {
        loop {
            match conn.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    };
    tokio::time::timeout(limit, read_all).await.ok()?;
    Some(String::from_utf8_lossy(&got).into_owned())
}

/// One response read off a kept-alive connection (its head must give Content-Length).
async fn response(conn: &mut TcpStream) -> String {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let text = String::from_utf8_lossy(&got).into_owned();
        if let Some(end) = text.find("\r\n\r\n") {
            let length = text[..end]
                .lines()
                .find_map(|l| l.strip_prefix("Content-Length: "))
                .map(|n| n.trim().parse::<usize>().unwrap())
                .unwrap_or_else(|| panic!("no Content-Length in {text}"));
            if got.len() >= end + 4 + length {
                return text;
            }
        }
        let n = tokio::time::timeout(Duration::from_secs(10), conn.read(&mut buf)).await.unwrap().unwrap();
        assert!(n > 0, "closed before a whole response: {text}");
        got.extend_from_slice(&buf[..n]);
    }
}

fn post_jobs_head(body_length: usize) -> String {
    format!(
        "POST /jobs HTTP/1.1\r\nHost: {HOST}\r\nContent-Type: application/xml\r\n\
         Content-Length: {body_length}\r\n\r\n"
    )
}

#[sqlx::test(migrator = "stowaway_store::MIGRATOR")]
async fn a_trickled_body_is_cut_off_at_the_total_bound(pool: PgPool) {
    let timeouts = Timeouts {
        body_idle: Duration::from_secs(1),
        body_total: Duration::from_secs(2),
        ..Timeouts::default()
    };
    let server = start(pool, ApiConfig::default(), timeouts).await;
    let conn = connect(&server, &post_jobs_head(SEED_REQUEST.len())).await;
    let sent_head = Instant::now();
    let (mut reader, mut writer) = conn.into_split();
    // A byte every 200 ms: progress enough for the idle bound, never the whole body.
    let trickle = tokio::spawn(async move {
        for byte in SEED_REQUEST.bytes() {
            if writer.write_all(&[byte]).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    });
    let mut got = Vec::new();
    let read_all = async {
        let mut buf = [0u8; 4096];
        while let Ok(n @ 1..) = reader.read(&mut buf).await {
            got.extend_from_slice(&buf[..n]);
        }
    };
    tokio::time::timeout(Duration::from_secs(6), read_all).await.expect("still open 6 s after its head");
    let took = sent_head.elapsed();
    trickle.abort();
    assert!(took >= Duration::from_secs(2) && took < Duration::from_secs(4), "closed after {took:?}");
    // Bytes still arriving may turn the close into a reset that overtakes the answer.
    let got = String::from_utf8_lossy(&got);
    assert!(got.is_empty() || got.starts_with("HTTP/1.1 408 "), "{got}");
}

#[sqlx::test(migrator = "stowaway_store::MIGRATOR")]
async fn a_stalled_body_gets_408_and_a_closed_connection(pool: PgPool) {
    let timeouts = Timeouts { body_idle: Duration::from_secs(1), ..Timeouts::default() };
    let server = start(pool, ApiConfig::default(), timeouts).await;
    let half = &SEED_REQUEST[..SEED_REQUEST.len() / 2];
    let mut conn = connect(&server, &(post_jobs_head(SEED_REQUEST.len()) + half)).await;
    let stalled = Instant::now();
    let got = until_closed(&mut conn, Duration::from_secs(5)).await.expect("still open 5 s into a stall");
    let took = stalled.elapsed();
    assert!(took >= Duration::from_secs(1) && took < Duration::from_secs(3), "closed after {took:?}");
    assert!(got.starts_with("HTTP/1.1 408 "), "{got}");
    assert!(got.contains("\r\nConnection: close\r\n") && got.contains("\r\nx-ci-request-id: "), "{got}");
    assert_eq!(element(&got, "Code"), Some("RequestTimeout"), "{got}");
    assert_eq!(element(&got, "Resource"), Some("/jobs"), "{got}");
}

#[sqlx::test(migrator = "stowaway_store::MIGRATOR")]
async fn shutdown_closes_clients_without_a_request_and_finishes_the_rest(pool: PgPool) {
    let server = start(pool, ApiConfig::default(), Timeouts::default()).await;
    let mut heading = connect(&server, &format!("GET /jobs HTTP/1.1\r\nHost: {HOST}\r\nAcc")).await;
    let mut idle = connect(&server, "GET /healthz HTTP/1.1\r\nHost: h\r\n\r\n").await;
    assert!(response(&mut idle).await.starts_with("HTTP/1.1 200 "));
    let mut idle_then_heading = connect(&server, "GET /healthz HTTP/1.1\r\nHost: h\r\n\r\n").await;
    assert!(response(&mut idle_then_heading).await.starts_with("HTTP/1.1 200 "));
    idle_then_heading.write_all(b"GET /healthz HTTP/1.1\r\nHo").await.unwrap();
    let (first, rest) = SEED_REQUEST.split_at(SEED_REQUEST.len() / 2);
    let mut in_progress = connect(&server, &(post_jobs_head(SEED_REQUEST.len()) + first)).await;
    // Let the server read what each client sent before it is told to stop.
    tokio::time::sleep(Duration::from_millis(300)).await;

    let stopping = Instant::now();
    server.stop.send(()).unwrap();
    for (name, conn) in
        [("heading", &mut heading), ("idle", &mut idle), ("idle_then_heading", &mut idle_then_heading)]
    {
        let got = until_closed(conn, Duration::from_secs(1)).await;
        assert_eq!(got.as_deref(), Some(""), "{name}: not closed at once, or answered");
    }
    assert!(!server.task.is_finished(), "stopped before the request in progress was answered");
    in_progress.write_all(rest.as_bytes()).await.unwrap();
    let got = until_closed(&mut in_progress, Duration::from_secs(5)).await.expect("in progress: not closed");
    assert!(got.starts_with("HTTP/1.1 200 "), "{got}");
    assert!(element(&got, "JobId").is_some_and(|id| id.starts_with('c')), "{got}");
    tokio::time::timeout(Duration::from_secs(2), server.task).await.expect("serve still running").unwrap();
    assert!(stopping.elapsed() < Duration::from_secs(2), "shutdown took {:?}", stopping.elapsed());
}

#[sqlx::test(migrator = "stowaway_store::MIGRATOR")]
async fn two_host_headers_or_a_bad_one_get_400_before_auth(pool: PgPool) {
    let keys = KeyRing::new(vec![AccessKey::root("AKIDtest", "k")]).unwrap();
    let server =
        start(pool, ApiConfig { keys: Some(keys), ..ApiConfig::default() }, Timeouts::default()).await;
    let other = "other-1250000000.ci.ap-chongqing.myqcloud.com";
    #[rustfmt::skip]
    let refused = [
        (format!("Host: {HOST}\r\nHost: {other}\r\n"), "the request has 2 Host headers"),
        (format!("Host: {HOST}\r\nAccept: */*\r\nhost: {HOST}\r\n"), "the request has 2 Host headers"),
        ("Host: exa mple.com\r\n".to_string(), "not a valid host"),
        (format!("Host: user@{HOST}\r\n"), "not a valid host"),
        (format!("Host: {HOST}:80x\r\n"), "not a valid host"),
    ];
    for (headers, message) in refused {
        let mut conn = connect(&server, &format!("GET /jobs HTTP/1.1\r\n{headers}\r\n")).await;
        let got = until_closed(&mut conn, Duration::from_secs(5)).await.expect("connection left open");
        assert!(got.starts_with("HTTP/1.1 400 "), "{headers}: {got}");
        assert!(got.contains("\r\nConnection: close\r\n"), "{got}");
        assert_eq!(element(&got, "Code"), Some("InvalidArgument"), "{got}");
        assert!(element(&got, "Message").is_some_and(|m| m.contains(message)), "{got}");
        assert!(element(&got, "RequestId").is_some_and(|id| !id.is_empty()), "{got}");
    }
    // One Host (with a port, or empty) reaches the signature check, which refuses no signature.
    for host in [format!("Host: {HOST}:8080\r\n"), "Host: \r\n".to_string()] {
        let mut conn = connect(&server, &format!("GET /jobs HTTP/1.1\r\n{host}\r\n")).await;
        let got = response(&mut conn).await;
        assert!(got.starts_with("HTTP/1.1 403 "), "{host}: {got}");
    }
}
