//! `stowaway-bench http`: `POST /jobs` requests/s with many concurrent keep-alive clients, against
//! a no-op route on the same server (same middleware, no database) in the same process.
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use stowaway_api::{router, ApiConfig, AppState};
use stowaway_store::Store;
use stowaway_testkit::SEED_REQUEST as SEED;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use super::{median, BoxError, Scratch};

#[derive(clap::Args)]
pub struct HttpArgs {
    /// Server to benchmark on; a scratch database is created there and dropped afterwards.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    database_url: String,
    /// Concurrent keep-alive clients.
    #[arg(long, default_value_t = 64)]
    clients: usize,
    /// Seconds per measurement.
    #[arg(long, default_value_t = 5.0)]
    seconds: f64,
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Database connections of the server.
    #[arg(long, default_value_t = 16)]
    connections: u32,
}

const HOST: &str = "examplebucket-1250000000.ci.ap-chongqing.myqcloud.com";

pub async fn http(a: HttpArgs) -> Result<(), BoxError> {
    let scratch = Scratch::create(&a.database_url, a.connections).await?;
    let result = runs(&a, &scratch).await;
    scratch.drop_it().await?;
    result
}

async fn runs(a: &HttpArgs, scratch: &Scratch) -> Result<(), BoxError> {
    let state = AppState::new(Store::from_pool(scratch.pool.clone()), ApiConfig::default());
    let addr =
        serve_on_loopback(router(state).route("/bench/noop", axum::routing::post(|| async { "" }))).await?;
    let per = Duration::from_secs_f64(a.seconds);
    println!(
        "POST /jobs, seed body, {} keep-alive clients, {:.0} s per run, {} runs",
        a.clients, a.seconds, a.runs
    );
    let (mut jobs, mut noop) = (Vec::new(), Vec::new());
    for run in 0..a.runs {
        for side in if run % 2 == 0 { [0, 1] } else { [1, 0] } {
            let path = if side == 0 { "/jobs" } else { "/bench/noop" };
            let rate = load(addr, seed_requests(path), a.clients, per).await?;
            if side == 0 {
                jobs.push(rate)
            } else {
                noop.push(rate)
            }
        }
        println!("  run {}: POST /jobs {:.0} req/s, no-op route {:.0} req/s", run + 1, jobs[run], noop[run]);
    }
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM jobs").fetch_one(&scratch.pool).await?;
    let (j, n) = (median(&mut jobs), median(&mut noop));
    println!("POST /jobs:          median {j:.0} req/s ({stored} jobs stored, every one acknowledged after commit)");
    println!("no-op route:         median {n:.0} req/s");
    println!("ratio jobs / no-op:  {:.2}", j / n);
    Ok(())
}

/// Serves `app` on a free loopback port until the process ends.
pub(crate) async fn serve_on_loopback(app: axum::Router) -> Result<SocketAddr, BoxError> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(stowaway_api::serve(listener, app, std::future::pending()));
    Ok(addr)
}

/// What client `c` sends as its `n`th request.
pub(crate) type Requests = std::sync::Arc<dyn Fn(usize, u64) -> String + Send + Sync>;

/// The seed's `POST path` on every request.
pub(crate) fn seed_requests(path: &'static str) -> Requests {
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {HOST}\r\nContent-Type: application/xml\r\nContent-Length: {}\r\n\r\n{SEED}",
        SEED.len()
    );
    std::sync::Arc::new(move |_, _| request.clone())
}

/// `clients` loops of request → full response on one connection each, for `per`; requests/s.
pub(crate) async fn load(
    addr: SocketAddr,
    requests: Requests,
    clients: usize,
    per: Duration,
) -> Result<f64, BoxError> {
    let started = Instant::now();
    let until = started + per;
    let handles: Vec<_> = (0..clients)
        .map(|c| {
            let requests = requests.clone();
            tokio::spawn(async move {
                let mut conn = BufReader::new(TcpStream::connect(addr).await?);
                let mut n = 0u64;
                while Instant::now() < until {
                    conn.get_mut().write_all(requests(c, n).as_bytes()).await?;
                    read_response(&mut conn).await?;
                    n += 1;
                }
                Ok::<u64, BoxError>(n)
            })
        })
        .collect();
    let mut total = 0;
    for h in handles {
        total += h.await??;
    }
    Ok(total as f64 / started.elapsed().as_secs_f64())
}

/// Reads one response; errors unless it is a 200.
async fn read_response(conn: &mut BufReader<TcpStream>) -> Result<(), BoxError> {
    let mut line = String::new();
    conn.read_line(&mut line).await?;
    if !line.starts_with("HTTP/1.1 200") {
        return Err(format!("unexpected response: {line:?}").into());
    }
    let mut length = 0usize;
    loop {
        line.clear();
        conn.read_line(&mut line).await?;
        if line == "\r\n" || line.is_empty() {
            break;
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = v.trim().parse()?;
        }
    }
    let mut body = vec![0; length];
    conn.read_exact(&mut body).await?;
    Ok(())
}
