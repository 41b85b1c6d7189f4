//! `stowaway-bench`: figures the issues ask for, measured on this machine against a baseline run
//! in the same process (the machine is noisy: compare within one run, quote medians).
//! Its raw-SQL baselines are the benchmarks' yardstick, not product SQL (which lives in `store`).
//! Build: `cargo build --release -p stowaway-bench`; see BENCHMARKS.md.
use std::process::ExitCode;
use std::str::FromStr;

use clap::Parser;
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection, PgPool};

mod batch;
mod callbacks;
mod console;
mod e2e;
mod events;
mod http;
mod latency;
mod queue;

/// The service's allocator (crates/stowaway), so the figures are the production binary's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "stowaway-bench",
    version,
    about = "Measure Stowaway against baselines on this machine (see BENCHMARKS.md)"
)]
struct Cli {
    #[command(subcommand)]
    command: BenchCommand,
}

#[derive(clap::Subcommand)]
enum BenchCommand {
    /// Claim→complete throughput with a no-op job, against the raw-SQL ceiling
    /// (`shared/bench/peer-queues/raw/claim_complete.sql`) on the same server.
    Queue(queue::QueueArgs),
    /// `POST /jobs` requests/s from concurrent keep-alive clients, against a no-op route on the
    /// same server.
    Http(http::HttpArgs),
    /// A batch job over a prefix of many objects, listing to verdicts, in objects/s, against
    /// the same objects submitted as jobs up front (`e2e`'s path); and the peak memory.
    Batch(batch::BatchArgs),
    /// Bucket events/s into jobs through `POST /events/s3` (MinIO's bodies, an Active workflow
    /// matching each), against `POST /jobs` on the same server.
    Events(events::EventsArgs),
    /// ImageInspect jobs/s end to end (queue, S3 fetch, detector, verdict) on small images from
    /// the S3 server in STOWAWAY_S3_ENDPOINT, against fetch+inspect without the queue.
    E2e(e2e::E2eArgs),
    /// TaskFinish callbacks/s from the outbox to a loopback HTTP receiver and to Kafka, against
    /// the same client sending the same bodies without the outbox.
    Callbacks(callbacks::CallbacksArgs),
    /// Submit→callback latency through the whole service in one process, at half the maximum
    /// rate (or `--rate`), against the same work done directly (S3 from STOWAWAY_S3_ENDPOINT).
    CallbackLatency(latency::LatencyArgs),
    /// The console's pages rendered server-side over a bucket of a million jobs (issue 19: the
    /// job list in ≤ 50 ms).
    Console(console::ConsoleArgs),
}

fn main() -> ExitCode {
    let cmd = Cli::parse().command;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    let result = runtime.block_on(async {
        match cmd {
            BenchCommand::Queue(a) => queue::queue(a).await,
            BenchCommand::Http(a) => http::http(a).await,
            BenchCommand::Batch(a) => batch::batch(a).await,
            BenchCommand::E2e(a) => e2e::e2e(a).await,
            BenchCommand::Events(a) => events::events(a).await,
            BenchCommand::Callbacks(a) => callbacks::callbacks(a).await,
            BenchCommand::CallbackLatency(a) => latency::latency(a).await,
            BenchCommand::Console(a) => console::console(a).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("stowaway-bench: {e}");
            // A figure under its floor (`queue --min-ratio`) is 1; a benchmark that failed, 2.
            ExitCode::from(if e.is::<BelowFloor>() { 1 } else { 2 })
        }
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A measured figure under the floor the caller set (CI's regression check).
#[derive(Debug)]
struct BelowFloor(String);

impl std::fmt::Display for BelowFloor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BelowFloor {}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// A scratch database, migrated, dropped afterwards.
struct Scratch {
    pool: PgPool,
    name: String,
    admin: sqlx::PgConnection,
}

impl Scratch {
    async fn create(server_url: &str, connections: u32) -> Result<Scratch, BoxError> {
        let opts = PgConnectOptions::from_str(server_url)?;
        let name = format!("stowaway_bench_{}", std::process::id());
        let mut admin = opts.connect().await?;
        sqlx::query(&format!("DROP DATABASE IF EXISTS {name}")).execute(&mut admin).await?;
        sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut admin).await?;
        let pool = stowaway_store::Store::pool_options(connections)
            .connect_with(stowaway_store::Store::session_options(opts.database(&name)))
            .await?;
        stowaway_store::Store::from_pool(pool.clone()).migrate().await?;
        Ok(Scratch { pool, name, admin })
    }

    async fn drop_it(mut self) -> Result<(), BoxError> {
        self.pool.close().await;
        sqlx::query(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name))
            .execute(&mut self.admin)
            .await?;
        self.admin.close().await?;
        Ok(())
    }
}
