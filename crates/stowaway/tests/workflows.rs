//! Workflows end to end, as processes against the real PostgreSQL and s3s-fs: every workflow call
//! of Tencent's Python SDK (signatures on), then MinIO's webhook bodies (byte for byte, from
//! `stowaway_testkit::minio`) posted to `/events/s3` start runs on exactly the uploads the
//! workflow matches, once each, and every run reports TaskFinish and WorkflowFinish.
mod common;

use std::collections::BTreeMap;
use std::process::Command;
use std::time::{Duration, Instant};

use sqlx::PgPool;
use stowaway_testkit::minio::MinioEvent;
use stowaway_testkit::receiver::Receiver;
use stowaway_testkit::{clean_png, fresh_bucket, png_with_ts, S3Server};

use common::{try_request, Database, Process};

const SECRET_ID: &str = "AKIDtest";
const SECRET_KEY: &str = "testSecretKey";
const TOKEN: &str = "events-test-token";
/// The key the SDK script triggers by hand.
const MANUAL_KEY: &str = "up/hls 1+2.png";
/// Keys that need every decoding rule: a space, `+`, `%` and CJK.
const CAUGHT_KEY: &str = "up/照片/猫 1+1 100%.png";
const CLEAN_KEY: &str = "up/clean one.png";

/// Callbacks by (EventName, object), until `want` arrived or 30 s passed.
async fn callbacks(receiver: &mut Receiver, want: usize) -> BTreeMap<(String, String), serde_json::Value> {
    let mut got = BTreeMap::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while got.len() < want && Instant::now() < deadline {
        let Some(r) = receiver.next(Duration::from_millis(500)).await else { continue };
        assert_eq!(r.header("content-type"), "application/json");
        let c: serde_json::Value = serde_json::from_slice(&r.body).expect("a JSON callback");
        let event = c["EventName"].as_str().expect("EventName").to_string();
        let object = match event.as_str() {
            "TaskFinish" => c["JobsDetail"]["Input"]["Object"].clone(),
            _ => c["WorkflowExecution"]["Object"].clone(),
        };
        let previous = got.insert((event, object.as_str().expect("an object").to_string()), c);
        assert!(previous.is_none(), "one callback of each kind per run: {previous:?}");
    }
    got
}

fn post_event(port: u16, auth: Option<&str>, body: &str) -> u16 {
    let headers: Vec<(&str, &str)> = auth.map(|a| ("Authorization", a)).into_iter().collect();
    try_request(port, "POST", "/events/s3", &headers, body).expect("the server answers").status
}

#[tokio::test(flavor = "multi_thread")]
async fn python_sdk_workflows_then_minio_events_start_each_run_once() {
    let db = Database::create().await;
    let (objects, bucket) = fresh_bucket(S3Server::Strict).await;
    for key in [MANUAL_KEY, CAUGHT_KEY] {
        objects.put(&bucket, key, png_with_ts(50)).await.unwrap();
    }
    for key in [CLEAN_KEY, "elsewhere/x.png", "up/notes.txt"] {
        objects.put(&bucket, key, clean_png()).await.unwrap();
    }
    let mut receiver = Receiver::start().await;
    let serve = Process::start(
        "serve",
        &db,
        &bucket,
        &[
            ("STOWAWAY_SECRET_ID", SECRET_ID),
            ("STOWAWAY_SECRET_KEY", SECRET_KEY),
            ("STOWAWAY_CALLBACK_ALLOW_PRIVATE", "true"),
            ("STOWAWAY_EVENTS_TOKEN", TOKEN),
        ],
    );
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/sdk/python_workflows.py");
    let (port, callback) = (serve.port.to_string(), receiver.url());
    #[rustfmt::skip]
    let out = Command::new("python3")
        .args([script, "--port", &port, "--bucket", &bucket, "--callback", &callback,
               "--secret-id", SECRET_ID, "--secret-key", SECRET_KEY])
        .output()
        .expect("python3 (scripts/test.sh installs the SDK)");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && text.contains("python-workflows: all calls worked"), "{text}");

    // The manual run: TaskFinish, then WorkflowFinish, both JSON, to the NotifyConfig's URL.
    let manual = callbacks(&mut receiver, 2).await;
    let task = &manual[&("TaskFinish".to_string(), MANUAL_KEY.to_string())];
    assert_eq!(task["JobsDetail"]["Workflow"]["Name"], "ImageInspectNode", "{task}");
    let run = &manual[&("WorkflowFinish".to_string(), MANUAL_KEY.to_string())]["WorkflowExecution"];
    assert_eq!(run["State"], "Success", "{run}");
    assert_eq!(run["RunId"], task["JobsDetail"]["Workflow"]["RunId"], "{run}");

    // The events route: a bearer token, HEAD for older MinIO's probe, junk acknowledged.
    let event = |key: &str| MinioEvent::example(&bucket, key).webhook_body();
    let bearer = format!("Bearer {TOKEN}");
    assert_eq!(post_event(serve.port, None, &event(CLEAN_KEY)), 401);
    assert_eq!(post_event(serve.port, Some("Bearer wrong"), &event(CLEAN_KEY)), 403);
    let head = try_request(serve.port, "HEAD", "/events/s3", &[], "").expect("an answer");
    assert_eq!(head.status, 200);
    assert_eq!(post_event(serve.port, Some(&bearer), "{not json"), 200, "junk must not block MinIO's queue");

    // Uploads: two the workflow takes (one twice, as MinIO retries), and four it must not.
    let tagging =
        MinioEvent { event_name: "s3:ObjectCreated:PutTagging", ..MinioEvent::example(&bucket, CLEAN_KEY) };
    let backup = MinioEvent {
        event_name: "s3:ObjectCreated:Copy",
        ..MinioEvent::example(&bucket, "abnormal_images_backup/up/x.png")
    };
    for body in [
        event(CAUGHT_KEY),
        event(CLEAN_KEY),
        event(CAUGHT_KEY),
        event("elsewhere/x.png"),
        event("up/notes.txt"),
        tagging.webhook_body(),
        backup.webhook_body(),
    ] {
        assert_eq!(post_event(serve.port, Some(&bearer), &body), 200, "{body}");
    }
    let runs = callbacks(&mut receiver, 4).await;
    let objects_seen: Vec<(&str, &str)> = runs.keys().map(|(e, o)| (e.as_str(), o.as_str())).collect();
    assert_eq!(
        objects_seen,
        [
            ("TaskFinish", CLEAN_KEY),
            ("TaskFinish", CAUGHT_KEY),
            ("WorkflowFinish", CLEAN_KEY),
            ("WorkflowFinish", CAUGHT_KEY)
        ],
        "{runs:#?}"
    );
    let verdict = |key: &str| {
        runs[&("TaskFinish".to_string(), key.to_string())]["JobsDetail"]["Operation"]["ImageInspectResult"]
            ["ProcessResult"]["Suspicious"]
            .clone()
    };
    assert_eq!((verdict(CAUGHT_KEY), verdict(CLEAN_KEY)), (true.into(), false.into()), "{runs:#?}");
    assert!(objects.exists(&bucket, &format!("abnormal_images_backup/{CAUGHT_KEY}")).await.unwrap());
    assert!(receiver.next(Duration::from_secs(1)).await.is_none(), "nothing more was sent");

    // One job per run in the database: the retried event and the manual run included.
    let pool = PgPool::connect(&db.url).await.unwrap();
    let per_object: Vec<(String, i64)> =
        sqlx::query_as("SELECT object, count(*) FROM jobs GROUP BY object ORDER BY object")
            .fetch_all(&pool)
            .await
            .unwrap();
    let mut want = vec![(CAUGHT_KEY.to_string(), 1), (CLEAN_KEY.to_string(), 1), (MANUAL_KEY.to_string(), 1)];
    want.sort();
    assert_eq!(per_object, want);
    pool.close().await;
    drop(serve);
    db.drop_it().await;
}

/// An Active workflow on `up/`, images only, no callbacks.
const UPLOADS: &str = "<Request><MediaWorkflow><Name>uploads</Name><State>Active</State><Topology>\
<Dependencies><Start>ImageInspectNode</Start><ImageInspectNode>End</ImageInspectNode></Dependencies>\
<Nodes><Start><Type>Start</Type><Input><ObjectPrefix>up/</ObjectPrefix><ExtFilter><State>On</State>\
<Image>true</Image></ExtFilter></Input></Start><ImageInspectNode><Type>ImageInspect</Type>\
</ImageInspectNode></Nodes></Topology></MediaWorkflow></Request>";

/// A topic of two partitions, as an operator makes it for MinIO's Kafka target.
async fn create_topic(brokers: &str, topic: &str) {
    use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
    let admin: AdminClient<rdkafka::client::DefaultClientContext> =
        rdkafka::ClientConfig::new().set("bootstrap.servers", brokers).create().expect("admin client");
    let topics = [NewTopic::new(topic, 2, TopicReplication::Fixed(1))];
    for r in admin.create_topics(&topics, &AdminOptions::new()).await.expect("create topic") {
        r.expect("topic created");
    }
}

/// MinIO's Kafka target's messages (key `<bucket>/<key>`, value the webhook body) for `keys`.
async fn produce(brokers: &str, topic: &str, bucket: &str, keys: &[&str]) {
    use rdkafka::producer::{FutureProducer, FutureRecord};
    let producer: FutureProducer =
        rdkafka::ClientConfig::new().set("bootstrap.servers", brokers).create().expect("producer");
    for key in keys {
        let event = MinioEvent::example(bucket, key);
        let (k, v) = (event.kafka_key(), event.webhook_body());
        let record = FutureRecord::to(topic).key(&k).payload(&v);
        producer.send(record, Duration::from_secs(10)).await.expect("produced");
    }
}

async fn objects_with_jobs(pool: &PgPool, want: usize) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let objects: Vec<String> =
            sqlx::query_scalar("SELECT object FROM jobs ORDER BY object").fetch_all(pool).await.unwrap();
        if objects.len() >= want || Instant::now() > deadline {
            return objects;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// MinIO's Kafka target into `serve` (STOWAWAY_EVENTS_KAFKA_TOPICS, tansu): every upload starts
/// one run, across a SIGKILL and a restart (offsets committed only after the runs), and a message
/// read twice starts nothing more.
#[tokio::test(flavor = "multi_thread")]
async fn minio_events_from_kafka_start_each_run_once_across_a_crash() {
    let db = Database::create().await;
    let (_objects, bucket) = fresh_bucket(S3Server::Strict).await;
    let brokers = stowaway_testkit::kafka_brokers();
    let topic = format!("bucket-events-{}", uuid::Uuid::new_v4().simple());
    create_topic(&brokers, &topic).await;
    let settings =
        [("STOWAWAY_KAFKA_BROKERS", brokers.as_str()), ("STOWAWAY_EVENTS_KAFKA_TOPICS", topic.as_str())];
    let mut first = Process::start("serve", &db, &bucket, &settings);
    let (status, answer) = common::http(first.port, "POST", "/workflow", UPLOADS);
    assert_eq!(status, 200, "{answer}");
    let pool = PgPool::connect(&db.url).await.unwrap();

    produce(&brokers, &topic, &bucket, &["up/a 1.png", "up/照片/猫+1.png", "up/a 1.png", "up/notes.txt"])
        .await;
    assert_eq!(objects_with_jobs(&pool, 2).await, ["up/a 1.png", "up/照片/猫+1.png"]);
    first.kill();

    produce(&brokers, &topic, &bucket, &["up/b.png", "up/照片/猫+1.png", "up/c%.jpg"]).await;
    let _second = Process::start("serve", &db, &bucket, &settings);
    assert_eq!(
        objects_with_jobs(&pool, 4).await,
        ["up/a 1.png", "up/b.png", "up/c%.jpg", "up/照片/猫+1.png"]
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    let jobs: i64 = sqlx::query_scalar("SELECT count(*) FROM jobs").fetch_one(&pool).await.unwrap();
    assert_eq!(jobs, 4, "nothing twice");
    pool.close().await;
    db.drop_it().await;
}
