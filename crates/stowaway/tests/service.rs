//! `stowaway serve` and `stowaway worker` as processes, against the real PostgreSQL and the s3s-fs
//! test server: Tencent's Python SDK end to end (callbacks included), a worker killed mid-job, and
//! a notifier killed between sending a callback and recording it.
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::str::FromStr;
use std::time::{Duration, Instant};

use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, PgPool};
use stowaway_testkit::receiver::{Receiver, Reply};
use stowaway_testkit::{fresh_bucket, png_with_ts, s3_config, S3Server};

/// A scratch database for one test, dropped at the end.
struct Database {
    url: String,
    name: String,
    admin: PgConnectOptions,
}

impl Database {
    async fn create() -> Database {
        let server = std::env::var("DATABASE_URL").expect("DATABASE_URL (scripts/test.sh sets it)");
        let admin = PgConnectOptions::from_str(&server).unwrap();
        let name = format!("stowaway_service_{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
        let mut conn = admin.connect().await.unwrap();
        sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut conn).await.unwrap();
        let url = admin.clone().database(&name).to_url_lossy().to_string();
        Database { url, name, admin }
    }

    async fn drop_it(self) {
        let mut conn = self.admin.connect().await.unwrap();
        let _ = sqlx::query(&format!("DROP DATABASE {} WITH (FORCE)", self.name)).execute(&mut conn).await;
    }
}

/// A running `stowaway <part>` process, killed when dropped.
struct Process {
    child: Child,
    port: u16,
}

impl Process {
    fn start(part: &str, db: &Database, bucket: &str, extra: &[(&str, &str)]) -> Process {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let s3 = s3_config(S3Server::Strict);
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_stowaway"));
        cmd.arg(part)
            .env("DATABASE_URL", &db.url)
            .env("STOWAWAY_LISTEN", format!("127.0.0.1:{port}"))
            .env("STOWAWAY_S3_ENDPOINT", s3.endpoint.unwrap())
            .env("AWS_ACCESS_KEY_ID", s3.access_key_id)
            .env("AWS_SECRET_ACCESS_KEY", s3.secret_access_key)
            .env("STOWAWAY_DEFAULT_BUCKET", bucket)
            .env("STOWAWAY_DEFAULT_REGION", "ap-chongqing")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null());
        for (k, v) in extra {
            cmd.env(k, v);
        }
        let child = cmd.spawn().unwrap();
        let p = Process { child, port };
        if part == "serve" || part == "api" {
            let deadline = Instant::now() + Duration::from_secs(20);
            while TcpStream::connect(("127.0.0.1", port)).is_err() {
                assert!(Instant::now() < deadline, "stowaway {part} did not start listening");
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        p
    }

    fn kill(&mut self) {
        let _ = self.child.kill(); // SIGKILL: no graceful hand-back
        let _ = self.child.wait();
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill();
    }
}

/// One HTTP/1.1 request, `Connection: close`; returns (status, body).
fn http(port: u16, method: &str, path: &str, body: &str) -> (u16, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/xml\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let status = out[9..12].parse().unwrap();
    (status, out.split_once("\r\n\r\n").map(|x| x.1.to_string()).unwrap_or_default())
}

#[tokio::test(flavor = "multi_thread")]
async fn tencent_python_sdk_works_unmodified() {
    let db = Database::create().await;
    let (objects, bucket) = fresh_bucket(S3Server::Strict).await;
    objects.put(&bucket, "hls.png", png_with_ts(50)).await.unwrap();
    let mut receiver = Receiver::start().await;
    let serve = Process::start("serve", &db, &bucket, &[("STOWAWAY_CALLBACK_ALLOW_PRIVATE", "true")]);
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/sdk/python_sdk.py");
    let out = Command::new("python3")
        .args([script, "--port", &serve.port.to_string(), "--bucket", &bucket, "--callback", &receiver.url()])
        .output()
        .expect("python3");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{text}");
    assert!(text.contains("all calls worked"), "{text}");
    assert!(
        objects.exists(&bucket, "abnormal_images_backup/hls.png").await.unwrap(),
        "BackupObject moved it"
    );

    // Every job the SDK submitted reported back by callback, as JSON, when it finished or was
    // cancelled: the suspicious one with its verdict.
    let callbacks: Vec<serde_json::Value> = receiver
        .collect(Duration::from_secs(3))
        .await
        .iter()
        .map(|r| {
            assert_eq!(r.header("content-type"), "application/json");
            serde_json::from_slice(&r.body).expect("a JSON callback")
        })
        .collect();
    let states: Vec<&str> = callbacks.iter().map(|c| c["JobsDetail"]["State"].as_str().unwrap()).collect();
    assert!(states.contains(&"Success") && states.contains(&"Cancel"), "{callbacks:?}");
    let hls = callbacks
        .iter()
        .find(|c| c["JobsDetail"]["Input"]["Object"] == "hls.png")
        .expect("the suspicious job's callback");
    assert_eq!(hls["EventName"], "TaskFinish");
    let verdict = &hls["JobsDetail"]["Operation"]["ImageInspectResult"]["ProcessResult"];
    assert_eq!(
        (verdict["Suspicious"].as_bool(), verdict["SuspiciousType"].as_str()),
        (Some(true), Some("MPEG-TS"))
    );
    drop(serve);
    db.drop_it().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_worker_killed_mid_job_leaves_every_job_finished_once() {
    let db = Database::create().await;
    let (objects, bucket) = fresh_bucket(S3Server::Strict).await;
    // Big enough that fetching and inspecting take a while: the kill lands mid-job.
    let big = png_with_ts(16 * 1024 * 1024 / 188);
    let n = 6;
    for i in 0..n {
        objects.put(&bucket, &format!("big/{i}.png"), big.clone()).await.unwrap();
    }
    let fast_rescue = [("STOWAWAY_LEASE_SECS", "2"), ("STOWAWAY_WORKER_CONCURRENCY", "2")];
    let mut first = Process::start("serve", &db, &bucket, &fast_rescue);
    let pool = PgPool::connect(&db.url).await.unwrap();
    let mut ids = Vec::new();
    for i in 0..n {
        let body = format!(
            "<Request><Tag>ImageInspect</Tag><Input><Object>big/{i}.png</Object></Input><Operation>\
             <ImageInspect><AutoProcess>true</AutoProcess><ProcessType>BackupObject</ProcessType></ImageInspect>\
             </Operation></Request>"
        );
        let (status, reply) = http(first.port, "POST", "/jobs", &body);
        assert_eq!(status, 200, "{reply}");
        let id = reply.split("<JobId>").nth(1).unwrap().split('<').next().unwrap().to_string();
        ids.push(id);
    }
    // Kill the process (SIGKILL) as soon as it holds a job.
    let deadline = Instant::now() + Duration::from_secs(20);
    let running_now =
        || sqlx::query_scalar::<_, String>("SELECT job_id FROM jobs WHERE state = 1").fetch_all(&pool);
    while running_now().await.unwrap().is_empty() {
        assert!(Instant::now() < deadline, "no job started");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    first.kill();
    // What the dead process still held (it cannot complete anything any more).
    let running = running_now().await.unwrap();
    assert!(!running.is_empty(), "the kill landed between jobs; nothing was mid-job");

    // Another worker takes over; the dead worker's jobs come back after its lease expires.
    let _second = Process::start("worker", &db, &bucket, &fast_rescue);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let unfinished: i64 = sqlx::query_scalar("SELECT count(*) FROM jobs WHERE state NOT IN (2, 3, 4)")
            .fetch_one(&pool)
            .await
            .unwrap();
        if unfinished == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "{unfinished} jobs never finished");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let rows: Vec<(String, i16, i32, serde_json::Value)> =
        sqlx::query_as("SELECT job_id, state, attempt, result FROM jobs").fetch_all(&pool).await.unwrap();
    assert_eq!(rows.len(), n);
    for (id, state, attempt, result) in &rows {
        assert_eq!(*state, 2, "{id}: {result}");
        assert_eq!(result["ProcessResult"]["AutoProcessResult"]["Code"], "Success", "{id}: {result}");
        if running.contains(id) {
            assert_eq!(*attempt, 2, "{id} was running when its worker died: it ran once more");
        }
    }
    for i in 0..n {
        assert!(!objects.exists(&bucket, &format!("big/{i}.png")).await.unwrap());
        assert!(objects.exists(&bucket, &format!("abnormal_images_backup/big/{i}.png")).await.unwrap());
    }
    pool.close().await;
    db.drop_it().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_notifier_killed_between_sending_and_recording_sends_again_with_the_same_webhook_id() {
    let db = Database::create().await;
    let (objects, bucket) = fresh_bucket(S3Server::Strict).await;
    objects.put(&bucket, "hls.png", png_with_ts(20)).await.unwrap();
    let mut receiver = Receiver::start().await;
    receiver.script([Reply::Hang]); // the first attempt gets no answer: the kill lands mid-send
    let settings = [
        ("STOWAWAY_CALLBACK_ALLOW_PRIVATE", "true"),
        ("STOWAWAY_CALLBACK_LEASE_SECS", "3"),
        ("STOWAWAY_CALLBACK_TIMEOUT_MS", "2000"),
    ];
    let mut first = Process::start("serve", &db, &bucket, &settings);
    let body = format!(
        "<Request><Tag>ImageInspect</Tag><Input><Object>hls.png</Object></Input>\
         <CallBack>{}</CallBack></Request>",
        receiver.url()
    );
    let (status, reply) = http(first.port, "POST", "/jobs", &body);
    assert_eq!(status, 200, "{reply}");
    let job_id = reply.split("<JobId>").nth(1).unwrap().split('<').next().unwrap().to_string();
    let sent = receiver.next(Duration::from_secs(20)).await.expect("the first attempt");
    first.kill(); // SIGKILL after sending, before the outcome was recorded

    let second = Process::start("serve", &db, &bucket, &settings);
    let again = receiver.next(Duration::from_secs(20)).await.expect("sent again once the lease expired");
    assert_eq!(again.header("webhook-id"), sent.header("webhook-id"));
    assert_eq!(again.body, sent.body);
    assert!(again.at - sent.at >= Duration::from_secs(2), "only after the dead notifier's lease");

    // The extension routes: the attempt log, and a resend with the same webhook-id.
    let log = loop {
        let (status, log) = http(second.port, "GET", &format!("/jobs/{job_id}/callbacks"), "");
        assert_eq!(status, 200, "{log}");
        if log.contains("<State>Delivered</State>") {
            break log;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let webhook_id = sent.header("webhook-id");
    assert!(log.contains(&format!("<WebhookId>{webhook_id}</WebhookId>")), "{log}");
    assert!(log.contains("<Attempt><Number>2</Number>") && log.contains("<Status>200</Status>"), "{log}");
    let (status, resent) =
        http(second.port, "POST", &format!("/jobs/{job_id}/callbacks/{webhook_id}/resend"), "");
    assert_eq!(status, 200, "{resent}");
    let third = receiver.next(Duration::from_secs(20)).await.expect("resent");
    assert_eq!(third.header("webhook-id"), webhook_id);
    let (status, missing) = http(second.port, "POST", &format!("/jobs/{job_id}/callbacks/msg_x/resend"), "");
    assert_eq!(status, 404, "{missing}");
    assert!(missing.contains("<Code>NoSuchCallback</Code>"), "{missing}");
    drop(second);
    db.drop_it().await;
}
