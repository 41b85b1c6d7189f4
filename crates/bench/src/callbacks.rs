//! `stowaway-bench callbacks`: TaskFinish callbacks/s from the outbox to a local HTTP receiver
//! and to Kafka, each against the same client sending the same bodies without the outbox (no
//! claims, no outcome records), in the same process.
use std::sync::Arc;
use std::time::{Duration, Instant};

use stowaway_notifier::{AddressPolicy, KafkaConfig, KafkaSender, NotifierConfig, UrlSender};
use stowaway_store::{Completion, NewJob, Store};
use stowaway_testkit::receiver::Receiver;
use stowaway_wire::{CallBackMqConfig, SubmitRequest};
use tokio::sync::{watch, Semaphore};
use uuid::Uuid;

use super::{median, BoxError, Scratch};

#[derive(clap::Args)]
pub struct CallbacksArgs {
    /// Server to benchmark on; a scratch database is created there and dropped afterwards.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    database_url: String,
    /// Kafka brokers (e.g. tansu from scripts/start-services.sh); without them only Url
    /// callbacks are measured.
    #[arg(long, env = "STOWAWAY_KAFKA_BROKERS")]
    kafka_brokers: Option<String>,
    /// Finished jobs whose callbacks each run delivers.
    #[arg(long, default_value_t = 20_000)]
    deliveries: usize,
    /// Url callbacks in flight (the notifier's and the baseline's).
    #[arg(long, default_value_t = NotifierConfig::default().concurrency)]
    concurrency: usize,
    /// Kafka callbacks in flight besides those (the notifier's `STOWAWAY_KAFKA_IN_FLIGHT`; the
    /// baseline has `--concurrency` plus this many).
    #[arg(long, default_value_t = NotifierConfig::default().kafka_in_flight)]
    kafka_in_flight: usize,
    /// Deliveries per claim statement.
    #[arg(long, default_value_t = NotifierConfig::default().batch)]
    batch: usize,
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Measure only Kafka callbacks (needs brokers).
    #[arg(long)]
    kafka_only: bool,
}

/// Where a run's callbacks go.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Channel {
    Url,
    Kafka,
}

pub async fn callbacks(a: CallbacksArgs) -> Result<(), BoxError> {
    let scratch = Scratch::create(&a.database_url, 16).await?;
    let result = runs(&a, &scratch).await;
    scratch.drop_it().await?;
    result
}

async fn runs(a: &CallbacksArgs, scratch: &Scratch) -> Result<(), BoxError> {
    let store = Store::from_pool(scratch.pool.clone());
    let mut channels = if a.kafka_only { vec![] } else { vec![Channel::Url] };
    if a.kafka_brokers.is_some() {
        channels.push(Channel::Kafka);
    }
    for channel in channels {
        let name = if channel == Channel::Url {
            "Url callbacks to a loopback receiver"
        } else {
            "TDMQ callbacks to Kafka"
        };
        let in_flight = in_flight(a, channel);
        println!("{name}: {} per run, {in_flight} in flight, {} runs", a.deliveries, a.runs);
        let (mut ours, mut plain) = (Vec::new(), Vec::new());
        for run in 0..a.runs {
            for side in if run % 2 == 0 { [0, 1] } else { [1, 0] } {
                if side == 0 {
                    ours.push(through_outbox(a, &store, channel).await?);
                } else {
                    plain.push(without_outbox(a, channel).await?);
                }
            }
            println!(
                "  run {}: notifier {:.0} /s, same client alone {:.0} /s",
                run + 1,
                ours[run],
                plain[run]
            );
        }
        let (o, p) = (median(&mut ours), median(&mut plain));
        println!("notifier from the outbox: median {o:.0} callbacks/s");
        println!("same client, no outbox:   median {p:.0} /s");
        println!("ratio:                    {:.2}", o / p);
    }
    Ok(())
}

/// The most callbacks of `channel` the notifier has in flight, and so the baseline too.
fn in_flight(a: &CallbacksArgs, channel: Channel) -> usize {
    match channel {
        Channel::Url => a.concurrency,
        Channel::Kafka => a.concurrency + a.kafka_in_flight,
    }
}

fn kafka_config(a: &CallbacksArgs) -> KafkaConfig {
    KafkaConfig {
        brokers: a.kafka_brokers.clone().unwrap_or_default(),
        clusters: Vec::new(),
        message_timeout: Duration::from_secs(30),
    }
}

/// Finishes `n` jobs whose callbacks go to `url` or `topic` (the outbox fills as they finish),
/// then times one notifier delivering and recording all of them.
async fn through_outbox(a: &CallbacksArgs, store: &Store, channel: Channel) -> Result<f64, BoxError> {
    sqlx::query("TRUNCATE jobs, deliveries").execute(store.pool()).await?;
    let mut receiver = Receiver::start().await;
    let topic = format!("bench-{}", Uuid::new_v4().simple());
    let request = match channel {
        Channel::Url => SubmitRequest { callback: Some(receiver.url()), ..SubmitRequest::default() },
        Channel::Kafka => SubmitRequest {
            callback_type: Some("TDMQ".into()),
            callback_mq: Some(CallBackMqConfig { mq_mode: None, mq_region: None, mq_name: topic }),
            ..SubmitRequest::default()
        },
    };
    finish_jobs(store, &request, a.deliveries).await?;
    let cfg = NotifierConfig {
        concurrency: a.concurrency,
        kafka_in_flight: a.kafka_in_flight,
        batch: a.batch,
        addresses: AddressPolicy::allow_private(),
        kafka: (channel == Channel::Kafka).then(|| kafka_config(a)),
        ..NotifierConfig::default()
    };
    let (stop, stopped) = watch::channel(false);
    let started = Instant::now();
    let notifier = tokio::spawn(stowaway_notifier::run_notifier(store.clone(), cfg, stopped));
    // Polled lightly, through the partial indexes: a sequential scan for open rows passes every
    // delivered one before it, and took a tenth of the database's time.
    loop {
        let mut tx = store.pool().begin().await?;
        sqlx::query("SET LOCAL enable_seqscan = off").execute(&mut *tx).await?;
        let open: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM deliveries WHERE state = 0)
                 OR EXISTS (SELECT 1 FROM deliveries WHERE state = 1)",
        )
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        if !open {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let rate = a.deliveries as f64 / started.elapsed().as_secs_f64();
    let _ = stop.send(true);
    notifier.await??;
    let delivered: i64 =
        sqlx::query_scalar("SELECT count(*) FROM deliveries WHERE state = 2").fetch_one(store.pool()).await?;
    if delivered as usize != a.deliveries {
        return Err(format!("{delivered} of {} callbacks delivered", a.deliveries).into());
    }
    if channel == Channel::Url {
        let got = receiver.collect(Duration::from_millis(100)).await.len();
        if got != a.deliveries {
            return Err(format!("the receiver got {got} callbacks, not {}", a.deliveries).into());
        }
    }
    Ok(rate)
}

/// `n` jobs of `request` run to Success through the store, as workers would: the outbox fills.
async fn finish_jobs(store: &Store, request: &SubmitRequest, n: usize) -> Result<(), BoxError> {
    let queue = store.ensure_queue("bench-1250000000", "ap-chongqing").await?;
    let worker = Uuid::new_v4();
    let result = serde_json::to_value(example_result())?;
    for chunk in (0..n).collect::<Vec<_>>().chunks(1000) {
        let jobs: Vec<NewJob> = chunk
            .iter()
            .map(|_| NewJob {
                job_id: format!("c{}", Uuid::new_v4().simple()),
                queue_id: queue.queue_id.clone(),
                bucket: "bench-1250000000".into(),
                region: "ap-chongqing".into(),
                object: "bench.png".into(),
                job_level: 0,
                request: serde_json::to_value(request).expect("plain data"),
                once: false,
            })
            .collect();
        store.insert_jobs(&jobs).await?;
        let claimed = store.claim(worker, jobs.len() as i64, Duration::from_secs(600)).await?;
        let done: Vec<Completion> =
            claimed.iter().map(|c| Completion::success(c, Some(result.clone()))).collect();
        store.complete(worker, &done).await?;
    }
    Ok(())
}

/// The same number of TaskFinish bodies sent by the same client, `concurrency` at a time.
async fn without_outbox(a: &CallbacksArgs, channel: Channel) -> Result<f64, BoxError> {
    let mut receiver = Receiver::start().await;
    let url = receiver.url();
    let topic = format!("bench-{}", Uuid::new_v4().simple());
    let body = sample_body();
    let http = Arc::new(UrlSender::new(
        AddressPolicy::allow_private(),
        Duration::from_secs(5),
        Duration::from_secs(10),
    ));
    let kafka = match channel {
        Channel::Kafka => Some(Arc::new(KafkaSender::new(&kafka_config(a))?)),
        Channel::Url => None,
    };
    let permits = Arc::new(Semaphore::new(in_flight(a, channel)));
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..a.deliveries {
        let permit = permits.clone().acquire_owned().await?;
        let (http, kafka, url, topic, body) =
            (http.clone(), kafka.clone(), url.clone(), topic.clone(), body.clone());
        tasks.spawn(async move {
            let _permit = permit;
            match kafka {
                Some(k) => {
                    k.send(&topic, &format!("c{i}"), body.as_bytes(), &[("EventName", "TaskFinish")]).await
                }
                None => {
                    let headers = [("content-type", "application/xml".to_string())];
                    let r = http.post(&url, &headers, body.into()).await;
                    r.error.map_or(Ok(()), Err)
                }
            }
        });
        while let Some(r) = tasks.try_join_next() {
            r?.map_err(|e| format!("baseline send failed: {e}"))?;
        }
    }
    while let Some(r) = tasks.join_next().await {
        r?.map_err(|e| format!("baseline send failed: {e}"))?;
    }
    let rate = a.deliveries as f64 / started.elapsed().as_secs_f64();
    if channel == Channel::Url {
        let got = receiver.collect(Duration::from_millis(100)).await.len();
        if got != a.deliveries {
            return Err(format!("the receiver got {got}, not {}", a.deliveries).into());
        }
    }
    Ok(rate)
}

/// A TaskFinish body like the notifier's (Tencent's example job).
fn sample_body() -> String {
    let detail = stowaway_wire::JobsDetail {
        code: "Success".into(),
        message: String::new(),
        job_id: "cda071f3af9e011ed8f900133752da9af".into(),
        state: "Success".into(),
        creation_time: "2023-05-24T11:12:44+0800".into(),
        start_time: "2023-05-24T11:12:45+0800".into(),
        end_time: "2023-05-24T11:12:45+0800".into(),
        queue_id: "p3a3b198088e74b76b31d553a77b656be".into(),
        tag: "ImageInspect".into(),
        input: stowaway_wire::Input {
            bucket_id: "test-1253960000".into(),
            object: "test.png".into(),
            region: "ap-chongqing".into(),
        },
        operation: stowaway_wire::Operation {
            image_inspect: None,
            user_data: None,
            job_level: 0,
            image_inspect_result: Some(example_result()),
        },
        workflow: None,
    };
    stowaway_wire::callback_xml(&detail)
}

fn example_result() -> stowaway_wire::ImageInspectResult {
    stowaway_wire::ImageInspectResult {
        state: "Success".into(),
        code: "Success".into(),
        message: String::new(),
        input_object_name: "bench.png".into(),
        input_object_url: "http://bench/bench.png".into(),
        process_result: Some(stowaway_testkit::tencent_example_process_result()),
        tagging_result: None,
    }
}
