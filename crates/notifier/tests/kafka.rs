//! TDMQ callbacks through a real Kafka-wire broker (tansu): the message is the Url callback's
//! body, keyed by JobId, with the event and format in headers; a broker outage loses nothing.
mod common;

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::RDKafkaErrorCode;
use rdkafka::message::{Headers, Message};
use rdkafka::{Offset, TopicPartitionList};
use sqlx::PgPool;
use stowaway_notifier::{KafkaConfig, NotifierConfig, RetrySchedule};
use stowaway_store::JobRecord;
use stowaway_wire::{CallBackMqConfig, NotifyConfig, SubmitRequest};

const MIGRATOR: &sqlx::migrate::Migrator = &stowaway_store::MIGRATOR;

fn tdmq_request(topic: &str, format: &str) -> SubmitRequest {
    SubmitRequest {
        callback_type: Some("TDMQ".into()),
        callback_format: Some(format.into()),
        callback_mq: Some(CallBackMqConfig {
            mq_mode: Some("Queue".into()),
            mq_region: Some("gz".into()),
            mq_name: topic.into(),
        }),
        ..request(None, None)
    }
}

fn kafka_config(brokers: &str) -> NotifierConfig {
    NotifierConfig {
        kafka: Some(KafkaConfig {
            brokers: brokers.into(),
            clusters: Vec::new(),
            message_timeout: Duration::from_secs(2),
        }),
        lease: Duration::from_secs(10),
        ..fast_config()
    }
}

async fn create_topic(brokers: &str, topic: &str) {
    let admin: AdminClient<DefaultClientContext> =
        ClientConfig::new().set("bootstrap.servers", brokers).create().expect("admin client");
    let results = admin
        .create_topics(&[NewTopic::new(topic, 1, TopicReplication::Fixed(1))], &AdminOptions::new())
        .await
        .expect("create topic");
    for r in results {
        match r {
            // A notifier retrying against a broker that just came back can create it first
            // (auto-creation on its metadata request); `consume` reads every partition.
            Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            r => {
                r.expect("topic created");
            }
        }
    }
}

/// Every message on every partition of `topic` until `want` arrived or `within` passed.
fn consume(
    brokers: &str,
    topic: &str,
    want: usize,
    within: Duration,
) -> Vec<(String, String, HashMap<String, String>)> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", format!("test-{topic}"))
        .set("enable.auto.commit", "false")
        .create()
        .expect("consumer");
    let metadata = consumer.fetch_metadata(Some(topic), Duration::from_secs(10)).expect("metadata");
    let mut tpl = TopicPartitionList::new();
    for partition in metadata.topics().iter().flat_map(|t| t.partitions()) {
        tpl.add_partition_offset(topic, partition.id(), Offset::Beginning).unwrap();
    }
    consumer.assign(&tpl).expect("assign");
    let deadline = Instant::now() + within;
    let mut got = Vec::new();
    while got.len() < want && Instant::now() < deadline {
        let Some(Ok(m)) = consumer.poll(Duration::from_millis(200)) else { continue };
        let text = |b: Option<&[u8]>| String::from_utf8_lossy(b.unwrap_or_default()).into_owned();
        let headers = m
            .headers()
            .map(|h| h.iter().map(|h| (h.key.to_string(), text(h.value))).collect())
            .unwrap_or_default();
        got.push((text(m.key()), text(m.payload()), headers));
    }
    got
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn tdmq_callbacks_reach_kafka(pool: PgPool) {
    let store = store(pool);
    let brokers = stowaway_testkit::kafka_brokers();
    let topic = format!("callbacks-{}", uuid::Uuid::new_v4().simple());
    create_topic(&brokers, &topic).await;
    let by_job = finished_job(&store, &tdmq_request(&topic, "JSON"), None).await;
    let queue_tdmq = NotifyConfig {
        r#type: Some("TDMQ".into()),
        mq_name: Some(topic.clone()),
        mq_region: Some("gz".into()),
        mq_mode: Some("Topic".into()),
        ..notify_on("", "XML")
    };
    let by_queue = finished_job(&store, &request(None, None), Some(&queue_tdmq)).await;
    let n = start(&store, kafka_config(&brokers));

    let got = tokio::task::spawn_blocking(move || consume(&brokers, &topic, 2, Duration::from_secs(20)))
        .await
        .unwrap();
    assert_eq!(got.len(), 2, "{got:?}");
    let message = |job: &JobRecord| got.iter().find(|m| m.0 == job.job_id).expect("keyed by JobId").clone();
    let (_, body, headers) = message(&by_job);
    assert_eq!(body, expected_json(&by_job));
    assert_eq!(headers["EventName"], "TaskFinish");
    assert_eq!(headers["ResultFormat"], "JSON");
    assert_eq!(headers["content-type"], "application/json");
    assert!(headers["webhook-id"].starts_with("msg_"));
    let (_, body, headers) = message(&by_queue);
    assert_eq!(body, expected_xml(&by_queue), "the queue's TDMQ setting, in its format");
    assert_eq!(headers["ResultFormat"], "XML");
    for job in [&by_job, &by_queue] {
        wait_for_state(&store, job, "Delivered", Duration::from_secs(10)).await;
    }
    n.stop().await;
}

/// A tansu broker of the test's own, in memory; killed when dropped, so a failing test leaves
/// no broker behind.
struct Broker(Child);

impl Broker {
    /// Kills it now (dropping does).
    fn stop(self) {}
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A tansu broker of the test's own, on `port`, in memory.
fn tansu(port: u16) -> Broker {
    let url = format!("tcp://127.0.0.1:{port}");
    let child = Command::new(stowaway_testkit::tansu_binary())
        .args(["broker", "--listener-url", &url, "--advertised-listener-url", &url])
        .args(["--storage-engine", "memory://tansu/"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting tansu");
    let broker = Broker(child);
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "tansu did not listen on {port}");
        std::thread::sleep(Duration::from_millis(20));
    }
    broker
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn nothing_is_lost_while_the_broker_is_down(pool: PgPool) {
    let store = store(pool);
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let brokers = format!("127.0.0.1:{port}");
    let topic = "outage";
    let broker = tansu(port);
    create_topic(&brokers, topic).await;
    broker.stop();

    let jobs = finished_jobs(&store, &tdmq_request(topic, "XML"), None, 10).await;
    let cfg = NotifierConfig {
        retry_schedule: RetrySchedule::parse(&["300ms"; 40].join(",")).unwrap(),
        ..kafka_config(&brokers)
    };
    let n = start(&store, cfg);
    tokio::time::sleep(Duration::from_secs(4)).await; // attempts time out against no broker

    let broker = tansu(port);
    create_topic(&brokers, topic).await;
    for job in &jobs {
        wait_for_state(&store, job, "Delivered", Duration::from_secs(30)).await;
        let attempts = deliveries(&store, job).await.remove(0).1;
        assert!(attempts.len() >= 2, "failed while the broker was down: {attempts:?}");
    }
    let got = tokio::task::spawn_blocking(move || consume(&brokers, topic, 10, Duration::from_secs(20)))
        .await
        .unwrap();
    let mut keys: Vec<&str> = got.iter().map(|m| m.0.as_str()).collect();
    keys.sort_unstable();
    keys.dedup();
    assert_eq!(keys.len(), jobs.len(), "every job's message arrived");
    n.stop().await;
    broker.stop();
}

/// A broker that comes back without its state (tansu in memory here; in S3 it forgets its producers
/// too): the callbacks after the restart are delivered (an idempotent producer timed out on every
/// one, its producer id unknown to the new broker).
#[sqlx::test(migrator = "MIGRATOR")]
async fn a_broker_that_forgot_its_producers_still_gets_callbacks(pool: PgPool) {
    let store = store(pool);
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let brokers = format!("127.0.0.1:{port}");
    let topic = "forgotten";
    let broker = tansu(port);
    create_topic(&brokers, topic).await;
    let cfg = NotifierConfig {
        retry_schedule: RetrySchedule::parse(&["300ms"; 40].join(",")).unwrap(),
        ..kafka_config(&brokers)
    };
    let n = start(&store, cfg);
    for job in &finished_jobs(&store, &tdmq_request(topic, "XML"), None, 5).await {
        wait_for_state(&store, job, "Delivered", Duration::from_secs(20)).await;
    }
    broker.stop();

    let broker = tansu(port);
    create_topic(&brokers, topic).await;
    let after = finished_jobs(&store, &tdmq_request(topic, "XML"), None, 5).await;
    for job in &after {
        wait_for_state(&store, job, "Delivered", Duration::from_secs(30)).await;
    }
    let got = tokio::task::spawn_blocking(move || consume(&brokers, topic, 5, Duration::from_secs(20)))
        .await
        .unwrap();
    let mut keys: Vec<String> = got.into_iter().map(|m| m.0).collect();
    keys.sort_unstable();
    keys.dedup();
    let mut want: Vec<String> = after.iter().map(|j| j.job_id.clone()).collect();
    want.sort_unstable();
    assert_eq!(keys, want, "every job after the restart reached the new broker");
    n.stop().await;
    broker.stop();
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_region_with_brokers_of_its_own_gets_its_callbacks_there(pool: PgPool) {
    let store = store(pool);
    let default = stowaway_testkit::kafka_brokers();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let gz = format!("127.0.0.1:{port}");
    let broker = tansu(port);
    let topic = format!("regional-{}", uuid::Uuid::new_v4().simple());
    // The CKafka job's topic of its own: two producers writing one tansu partition at once lose
    // messages (tansu's memory engine), which is not what this test is about.
    let instance_topic = format!("{topic}-ckafka");
    create_topic(&default, &topic).await;
    create_topic(&gz, &topic).await;
    create_topic(&gz, &instance_topic).await;
    let in_gz = |region: &str| {
        let mut r = tdmq_request(&topic, "XML");
        r.callback_mq.as_mut().unwrap().mq_region = Some(region.into());
        r
    };
    let to_gz = finished_job(&store, &in_gz("gz"), None).await;
    let to_default = finished_job(&store, &in_gz("sh"), None).await;
    // Tencent's newer CallBackKafkaConfig: the instance names the cluster.
    let ckafka = SubmitRequest {
        callback_type: Some("Kafka".into()),
        callback_kafka: Some(stowaway_wire::CallBackKafkaConfig {
            region: "ap-guangzhou".into(),
            instance_id: "ckafka-gz".into(),
            topic: instance_topic.clone(),
        }),
        ..request(None, None)
    };
    let to_instance = finished_job(&store, &ckafka, None).await;
    let mut cfg = kafka_config(&default);
    cfg.kafka.as_mut().unwrap().clusters = vec![("gz".into(), gz.clone()), ("ckafka-gz".into(), gz.clone())];
    let n = start(&store, cfg);
    for job in [&to_gz, &to_default, &to_instance] {
        wait_for_state(&store, job, "Delivered", Duration::from_secs(20)).await;
    }
    let keys = |brokers: String, topic: String, want: usize| {
        tokio::task::spawn_blocking(move || {
            let got = consume(&brokers, &topic, want, Duration::from_secs(10));
            got.into_iter().map(|m| m.0).collect::<Vec<_>>()
        })
    };
    let on_gz = keys(gz.clone(), topic.clone(), 1).await.unwrap();
    let on_instance = keys(gz, instance_topic, 1).await.unwrap();
    let on_default = keys(default, topic, 1).await.unwrap();
    assert_eq!(on_gz, std::slice::from_ref(&to_gz.job_id), "MqRegion gz: that cluster only");
    assert_eq!(on_instance, std::slice::from_ref(&to_instance.job_id), "InstanceId ckafka-gz: that cluster");
    assert!(on_default.contains(&to_default.job_id) && !on_default.contains(&to_gz.job_id), "{on_default:?}");
    let attempts = deliveries(&store, &to_instance).await;
    assert_eq!(attempts[0].0, "Delivered", "{attempts:?}");
    n.stop().await;
    broker.stop();
}
