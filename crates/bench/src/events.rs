//! `stowaway-bench events`: bucket events/s accepted into jobs through `POST /events/s3` (MinIO's
//! webhook bodies, each a new upload an Active workflow matches, so each makes one job) from
//! concurrent keep-alive senders, against `POST /jobs` in the same server and process.
use std::sync::Arc;
use std::time::Duration;

use stowaway_api::{router, ApiConfig, AppState};
use stowaway_store::Store;
use stowaway_testkit::minio::MinioEvent;
use stowaway_wire::parse_workflow;

use super::http::{load, seed_requests, serve_on_loopback, Requests};
use super::{median, BoxError, Scratch};

#[derive(clap::Args)]
pub struct EventsArgs {
    /// Server to benchmark on; a scratch database is created there and dropped afterwards.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    database_url: String,
    /// Concurrent keep-alive senders (MinIO's webhook target sends one event per request).
    #[arg(long, default_value_t = 32)]
    senders: usize,
    /// Seconds per measurement.
    #[arg(long, default_value_t = 5.0)]
    seconds: f64,
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Database connections of the server.
    #[arg(long, default_value_t = 16)]
    connections: u32,
}

const BUCKET: &str = "examplebucket-1250000000";
const TOKEN: &str = "bench-token";

/// An Active workflow on `up/`, images only, as the Python SDK's demo makes it.
const WORKFLOW: &str = "<Request><MediaWorkflow><Name>bench</Name><State>Active</State><Topology>\
<Dependencies><Start>ImageInspectNode</Start><ImageInspectNode>End</ImageInspectNode></Dependencies>\
<Nodes><Start><Type>Start</Type><Input><ObjectPrefix>up/</ObjectPrefix><ExtFilter><State>On</State>\
<Image>true</Image></ExtFilter></Input></Start><ImageInspectNode><Type>ImageInspect</Type><Operation>\
<ImageInspect><AutoProcess>false</AutoProcess></ImageInspect></Operation></ImageInspectNode></Nodes>\
</Topology></MediaWorkflow></Request>";

pub async fn events(a: EventsArgs) -> Result<(), BoxError> {
    let scratch = Scratch::create(&a.database_url, a.connections).await?;
    let result = runs(&a, &scratch).await;
    scratch.drop_it().await?;
    result
}

/// Client `c`'s `n`th request: a new upload `up/<c>/<run>/<n>.png`.
fn event_requests(run: usize) -> Requests {
    Arc::new(move |c, n| {
        let key = format!("up/{c}/{run}/{n}.png");
        let body = MinioEvent::example(BUCKET, &key).webhook_body();
        format!(
            "POST /events/s3 HTTP/1.1\r\nHost: stowaway:8080\r\nAuthorization: Bearer {TOKEN}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
    })
}

async fn runs(a: &EventsArgs, scratch: &Scratch) -> Result<(), BoxError> {
    let store = Store::from_pool(scratch.pool.clone());
    store.create_workflow(BUCKET, &parse_workflow(WORKFLOW.as_bytes())?).await?;
    let config = ApiConfig { events_token: Some(TOKEN.into()), ..ApiConfig::default() };
    let addr = serve_on_loopback(router(AppState::new(store, config))).await?;
    let per = Duration::from_secs_f64(a.seconds);
    println!(
        "POST /events/s3 (MinIO bodies, one new upload each) against POST /jobs (seed), {} keep-alive senders, {:.0} s per run, {} runs",
        a.senders, a.seconds, a.runs
    );
    let (mut events, mut jobs) = (Vec::new(), Vec::new());
    for run in 0..a.runs {
        for side in if run % 2 == 0 { [0, 1] } else { [1, 0] } {
            if side == 0 {
                events.push(load(addr, event_requests(run), a.senders, per).await?);
            } else {
                jobs.push(load(addr, seed_requests("/jobs"), a.senders, per).await?);
            }
        }
        println!("  run {}: events {:.0}/s, POST /jobs {:.0}/s", run + 1, events[run], jobs[run]);
    }
    let made: i64 = sqlx::query_scalar("SELECT count(*) FROM jobs WHERE request ? 'workflow'")
        .fetch_one(&scratch.pool)
        .await?;
    let (e, j) = (median(&mut events), median(&mut jobs));
    println!("events:            median {e:.0}/s ({made} runs made, every event acknowledged after its job committed)");
    println!("POST /jobs:        median {j:.0}/s");
    println!("ratio events/jobs: {:.2}", e / j);
    Ok(())
}
