//! `stowaway-bench callback-latency`: submit→callback latency through the whole service in one
//! process (API on loopback, worker fetching from S3, notifier, a loopback receiver), at half the
//! maximum rate measured first (or at `--rate`); against the floor of the same work done
//! directly (fetch, inspect, POST the callback) one job at a time.
use std::sync::Arc;
use std::time::{Duration, Instant};

use stowaway_api::{router, ApiConfig, AppState};
use stowaway_notifier::{AddressPolicy, NotifierConfig, UrlSender};
use stowaway_objects::{ObjectStoreConfig, Objects};
use stowaway_store::Store;
use stowaway_testkit::receiver::{Received, Receiver};
use stowaway_worker::{run_worker, WorkerConfig};
use tokio::sync::{watch, Semaphore};

use super::{median, BoxError, Scratch};

#[derive(clap::Args)]
pub struct LatencyArgs {
    /// Server to benchmark on; a scratch database is created there and dropped afterwards.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    database_url: String,
    /// Jobs submitted as fast as possible to find the maximum rate.
    #[arg(long, default_value_t = 3000)]
    burst: usize,
    /// Seconds of load at half that rate (or `--rate`).
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
    /// Worker concurrency.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// Jobs/s of the steady load instead of half the burst's rate: builds whose maximum differs
    /// compared at the same load.
    #[arg(long, value_parser = positive_rate)]
    rate: Option<f64>,
}

fn positive_rate(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(r) if r.is_finite() && r > 0.0 => Ok(r),
        _ => Err(format!("{s}: jobs/s, a positive number")),
    }
}

const BUCKET: &str = "latency-1250000000";
const OBJECT: &str = "hls.png";

pub async fn latency(a: LatencyArgs) -> Result<(), BoxError> {
    let s3 = ObjectStoreConfig::from_env()?;
    let objects = Objects::new(&s3);
    let scratch = Scratch::create(&a.database_url, 24).await?;
    let delayed_acks = Objects::new(&ObjectStoreConfig { quick_ack: false, ..s3.clone() });
    let result = measure(&a, &scratch, &objects, &delayed_acks).await;
    scratch.drop_it().await?;
    result
}

async fn measure(
    a: &LatencyArgs,
    scratch: &Scratch,
    objects: &Objects,
    delayed_acks: &Objects,
) -> Result<(), BoxError> {
    let s3_err = |e: stowaway_objects::ObjectError| format!("{}: {}", e.code, e.message);
    objects.create_bucket(BUCKET).await.map_err(s3_err)?;
    objects.put(BUCKET, OBJECT, stowaway_testkit::png_with_ts(20)).await.map_err(s3_err)?;
    let store = Store::from_pool(scratch.pool.clone());
    let mut receiver = Receiver::start().await;

    // The service, as `stowaway serve` runs it.
    let (stop, stopped) = watch::channel(false);
    let config = ApiConfig {
        default_bucket: Some(BUCKET.into()),
        callback_addresses: AddressPolicy::allow_private(),
        ..ApiConfig::default()
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let api = format!("http://{}/jobs", listener.local_addr()?);
    tokio::spawn(stowaway_api::serve(
        listener,
        router(AppState::new(store.clone(), config)),
        std::future::pending(),
    ));
    let ctx = super::e2e::bench_context(&store, objects, false);
    let worker_cfg = WorkerConfig { concurrency: a.concurrency, ..WorkerConfig::default() };
    let worker = tokio::spawn(run_worker(ctx, worker_cfg, stopped.clone()));
    let notifier_cfg =
        NotifierConfig { addresses: AddressPolicy::allow_private(), ..NotifierConfig::default() };
    let notifier = tokio::spawn(stowaway_notifier::run_notifier(store.clone(), notifier_cfg, stopped));

    let client = Arc::new(UrlSender::new(
        AddressPolicy::allow_private(),
        Duration::from_secs(5),
        Duration::from_secs(30),
    ));
    let (epoch, wall_epoch) = (Instant::now(), chrono::Utc::now());
    let submit = {
        let (client, api, url) = (client.clone(), api.clone(), receiver.url());
        move || {
            let (client, api) = (client.clone(), api.clone());
            // The submit instant rides in UserData and comes back in the callback.
            let body = format!(
                "<Request><Tag>ImageInspect</Tag><Input><Object>{OBJECT}</Object></Input><Operation>\
                 <UserData>{}</UserData></Operation><CallBack>{url}</CallBack><CallBackFormat>JSON</CallBackFormat>\
                 </Request>",
                epoch.elapsed().as_micros()
            );
            async move {
                let r = client.post(&api, &[("content-type", "application/xml".into())], body.into()).await;
                if let Some(e) = r.error {
                    eprintln!("submit failed: {e}");
                }
            }
        }
    };

    println!("submit→callback through API, worker (S3: one small PNG carrying MPEG-TS), notifier, receiver");
    // 1. The maximum rate: a burst, 64 submits in flight.
    let permits = Arc::new(Semaphore::new(64));
    let started = Instant::now();
    for _ in 0..a.burst {
        let permit = permits.clone().acquire_owned().await?;
        let send = submit();
        tokio::spawn(async move {
            send.await;
            drop(permit);
        });
    }
    let burst = receive(&mut receiver, a.burst, epoch).await?;
    let max_rate = a.burst as f64 / started.elapsed().as_secs_f64();
    let (mut b, _) = burst;
    println!(
        "  burst of {}: {max_rate:.0} jobs/s, latency p50 {:.1} ms (queueing included)",
        a.burst,
        pct(&mut b, 50.0)
    );

    // 2. Half that rate (or `--rate`), evenly spaced.
    let rate = a.rate.unwrap_or(max_rate / 2.0);
    let n = (rate * a.seconds) as usize;
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    for _ in 0..n {
        tick.tick().await;
        tokio::spawn(submit());
    }
    let (mut lat, received) = receive(&mut receiver, n, epoch).await?;
    let load = if a.rate.is_some() { "as asked" } else { "half the maximum" };
    println!("  {n} jobs at {rate:.0} jobs/s ({load}):");
    println!(
        "    submit→callback p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        pct(&mut lat, 50.0),
        pct(&mut lat, 99.0),
        pct(&mut lat, 100.0)
    );
    stages(&store, &received, epoch, wall_epoch).await?;

    let _ = stop.send(true);
    worker.await?;
    notifier.await??;

    // 3. The floor: the same work without the service, one job at a time.
    let (mut floor, mut fetched, mut posted) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..200 {
        let t = Instant::now();
        let data = objects.fetch(BUCKET, OBJECT).await.map_err(s3_err)?;
        let report = tokio::task::spawn_blocking(move || stowaway_detect::inspect(&data)).await?;
        fetched.push(t.elapsed().as_secs_f64() * 1000.0);
        let p = Instant::now();
        let body = format!("{{\"suspicious\":{}}}", report.suspicious());
        client.post(&receiver.url(), &[("content-type", "application/json".into())], body.into()).await;
        receiver.next(Duration::from_secs(5)).await.ok_or("the receiver got nothing")?;
        posted.push(p.elapsed().as_secs_f64() * 1000.0);
        floor.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    println!(
        "  floor, one job at a time without queue or database: p50 {:.1} ms (fetch+inspect {:.1} ms, POST {:.1} ms)",
        median(&mut floor),
        median(&mut fetched),
        median(&mut posted)
    );

    // 4. One GET, our client against the SDK's own (delayed ACKs), alternating.
    let (mut quick, mut sdk) = (Vec::new(), Vec::new());
    for _ in 0..100 {
        for (client, times) in [(objects, &mut quick), (delayed_acks, &mut sdk)] {
            let t = Instant::now();
            client.fetch(BUCKET, OBJECT).await.map_err(s3_err)?;
            times.push(t.elapsed().as_secs_f64() * 1000.0);
        }
    }
    let (quick, sdk) = (median(&mut quick), median(&mut sdk));
    println!(
        "  one S3 GET, p50: {quick:.2} ms with quick ACKs, {sdk:.2} ms with the SDK's client (STOWAWAY_S3_QUICK_ACK=false): {:.0}x",
        sdk / quick
    );
    Ok(())
}

/// Where the time goes, per job (medians): queued (created → a worker started it), worked
/// (started → verdict committed, the S3 fetch included), notified (committed → callback received).
async fn stages(
    store: &Store,
    received: &[Received],
    epoch: Instant,
    wall_epoch: chrono::DateTime<chrono::Utc>,
) -> Result<(), BoxError> {
    let at: std::collections::HashMap<String, chrono::DateTime<chrono::Utc>> = received
        .iter()
        .map(|r| {
            let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap_or_default();
            let id = v["JobsDetail"]["JobId"].as_str().unwrap_or_default().to_string();
            (id, wall_epoch + r.at.duration_since(epoch))
        })
        .collect();
    let ids: Vec<String> = at.keys().cloned().collect();
    type Times =
        (String, chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>);
    let rows: Vec<Times> =
        sqlx::query_as("SELECT job_id, created_at, started_at, finished_at FROM jobs WHERE job_id = ANY($1)")
            .bind(&ids)
            .fetch_all(store.pool())
            .await?;
    let ms = |a: chrono::DateTime<chrono::Utc>, b: chrono::DateTime<chrono::Utc>| {
        (b - a).num_microseconds().unwrap_or(0) as f64 / 1000.0
    };
    let (mut queued, mut worked, mut notified) = (Vec::new(), Vec::new(), Vec::new());
    for (id, created, started, finished) in rows {
        queued.push(ms(created, started));
        worked.push(ms(started, finished));
        notified.push(ms(finished, at[&id]));
    }
    println!(
        "    stages, p50 / p99: queued {:.1} / {:.1} ms, fetch+inspect+record {:.1} / {:.1} ms, outbox→callback received {:.1} / {:.1} ms",
        pct(&mut queued, 50.0), pct(&mut queued, 99.0),
        pct(&mut worked, 50.0), pct(&mut worked, 99.0),
        pct(&mut notified, 50.0), pct(&mut notified, 99.0)
    );
    Ok(())
}

/// Waits for `n` callbacks; returns each one's submit→receipt latency in ms.
async fn receive(
    receiver: &mut Receiver,
    n: usize,
    epoch: Instant,
) -> Result<(Vec<f64>, Vec<Received>), BoxError> {
    let mut lat = Vec::with_capacity(n);
    let mut all = Vec::with_capacity(n);
    while lat.len() < n {
        let r = receiver
            .next(Duration::from_secs(30))
            .await
            .ok_or(format!("only {} of {n} callbacks arrived", lat.len()))?;
        let v: serde_json::Value = serde_json::from_slice(&r.body)?;
        let sent: u128 = v["JobsDetail"]["Operation"]["UserData"].as_str().unwrap_or("0").parse()?;
        let received = r.at.duration_since(epoch).as_micros();
        lat.push(received.saturating_sub(sent) as f64 / 1000.0);
        all.push(r);
    }
    Ok((lat, all))
}

fn pct(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    let i = ((p / 100.0) * (v.len() - 1) as f64).round() as usize;
    v[i]
}
