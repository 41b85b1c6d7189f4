//! Running it in production: SIGTERM under load loses no accepted job, the health and readiness
//! routes answer without a signature, `/metrics` counts what happened, and JSON logs carry the
//! request and job ids (and never a secret). Processes against the real PostgreSQL and s3s-fs.
mod common;

use std::time::{Duration, Instant};

use sqlx::PgPool;
use stowaway_testkit::{clean_png, fresh_bucket, png_with_ts, Rng, S3Server};
use stowaway_wire::cos_sign::{query_pairs, sign, SignedParts};

use common::{try_request, Database, Process};

const JOB: &str = "<Request><Tag>ImageInspect</Tag><Input><Object>hls.png</Object></Input></Request>";

fn job_id(body: &str) -> String {
    let start = body.find("<JobId>").expect("a JobId") + "<JobId>".len();
    body[start..start + 33].to_string()
}

async fn terminal_count(pool: &PgPool, ids: &[String]) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM jobs WHERE job_id = ANY($1) AND state IN (2, 3, 4)")
        .bind(ids)
        .fetch_one(pool)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_under_load_then_restart_finishes_every_accepted_job() {
    let db = Database::create().await;
    let (objects, bucket) = fresh_bucket(S3Server::Strict).await;
    // 1 MB of bytes no signature explains after a picture: each job reads and searches all of
    // them, so one worker slot finishes fewer jobs per second than the client submits.
    let mut rng = Rng(0x5eed_0000_7e57);
    let mut slow = clean_png();
    slow.extend((0..1 << 20).map(|_| rng.next_u64() as u8));
    objects.put(&bucket, "hls.png", slow).await.unwrap();
    let settings = [("STOWAWAY_SHUTDOWN_GRACE_SECS", "3"), ("STOWAWAY_WORKER_CONCURRENCY", "1")];
    let mut serve = Process::start("serve", &db, &bucket, &settings);

    // Submit ~150 jobs/s until the server stops answering, so jobs are queued and running when
    // the signal comes, and submits are in flight while it stops.
    let port = serve.port;
    let submitter = std::thread::spawn(move || {
        let mut accepted = Vec::new();
        while let Some(r) = try_request(port, "POST", "/jobs", &[], JOB) {
            if r.status != 200 {
                break;
            }
            accepted.push(job_id(&r.body));
            std::thread::sleep(Duration::from_millis(5));
        }
        accepted
    });
    std::thread::sleep(Duration::from_millis(1000));
    let status = serve.terminate(Duration::from_secs(15)).expect("stopped within the grace period");
    assert!(status.success(), "a graceful stop exits 0: {status:?}");
    let accepted = submitter.join().unwrap();
    assert!(accepted.len() >= 20, "only {} jobs were accepted", accepted.len());

    let pool = PgPool::connect(&db.url).await.unwrap();
    let running: i64 =
        sqlx::query_scalar("SELECT count(*) FROM jobs WHERE state = 1").fetch_one(&pool).await.unwrap();
    assert_eq!(running, 0, "a stopped worker hands back what it did not finish");
    let finished_before = terminal_count(&pool, &accepted).await;
    println!("accepted {}, finished before the stop {finished_before}", accepted.len());
    assert!(finished_before < accepted.len() as i64, "the stop came while work was queued");

    let _restarted = Process::start("serve", &db, &bucket, &[("STOWAWAY_WORKER_CONCURRENCY", "8")]);
    let deadline = Instant::now() + Duration::from_secs(60);
    while terminal_count(&pool, &accepted).await < accepted.len() as i64 {
        assert!(Instant::now() < deadline, "accepted jobs left unfinished after the restart");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let states: Vec<(i16, i64)> =
        sqlx::query_as("SELECT state, count(*) FROM jobs WHERE job_id = ANY($1) GROUP BY state")
            .bind(&accepted)
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(states, [(2, accepted.len() as i64)], "every accepted job succeeded");
    pool.close().await;
    db.drop_it().await;
}

const ID: &str = "AKIDops";
const KEY: &str = "opsSecretKey-never-logged";

/// `(name, value)` headers signed as an SDK would.
fn signed(method: &str, uri: &str) -> String {
    let (path, query) = uri.split_once('?').unwrap_or((uri, ""));
    let query = query_pairs(query);
    let now = chrono::Utc::now().timestamp();
    sign(ID, KEY, now - 60, now + 600, &SignedParts { method, path, query: &query, headers: &[] }).to_header()
}

fn metric_value(text: &str, name_and_labels: &[&str]) -> Option<f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find(|l| name_and_labels.iter().all(|part| l.contains(part)))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[tokio::test(flavor = "multi_thread")]
async fn health_metrics_and_json_logs() {
    let db = Database::create().await;
    let (objects, bucket) = fresh_bucket(S3Server::Strict).await;
    objects.put(&bucket, "hls.png", png_with_ts(50)).await.unwrap();
    let log = std::env::temp_dir().join(format!("stowaway-ops-{}.log", uuid::Uuid::new_v4().simple()));
    let settings = [
        ("STOWAWAY_SECRET_ID", ID),
        ("STOWAWAY_SECRET_KEY", KEY),
        ("STOWAWAY_LOG_FORMAT", "json"),
        ("RUST_LOG", "info,stowaway_api=debug,stowaway_worker=debug"),
    ];
    let serve = Process::start_logged("serve", &db, &bucket, &settings, &log);
    let port = serve.port;

    // Health and readiness need no signature; everything else does.
    let health = try_request(port, "GET", "/healthz", &[], "").unwrap();
    assert_eq!((health.status, health.body.as_str()), (200, r#"{"status":"ok"}"#));
    let ready = try_request(port, "GET", "/readyz", &[], "").unwrap();
    assert_eq!(ready.status, 200, "{}", ready.body);
    let checks: serde_json::Value = serde_json::from_str(&ready.body).unwrap();
    assert_eq!(
        checks["checks"],
        serde_json::json!({"database": "ok", "migrations": "ok", "storage": "ok", "storage_breaker": "closed"})
    );
    assert_eq!(try_request(port, "GET", "/jobs", &[], "").unwrap().status, 403);

    // One suspicious job through, and one bad request.
    let submitted =
        try_request(port, "POST", "/jobs", &[("Authorization", &signed("POST", "/jobs"))], JOB).unwrap();
    assert_eq!(submitted.status, 200, "{}", submitted.body);
    let id = job_id(&submitted.body);
    let bad = try_request(port, "POST", "/jobs", &[("Authorization", &signed("POST", "/jobs"))], "<Request>")
        .unwrap();
    assert_eq!(bad.status, 400);
    let bad_request_id = bad.header("x-ci-request-id").unwrap().to_string();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let uri = format!("/jobs/{id}");
        let r = try_request(port, "GET", &uri, &[("Authorization", &signed("GET", &uri))], "").unwrap();
        if r.body.contains("<State>Success</State>") {
            break;
        }
        assert!(Instant::now() < deadline, "the job did not finish: {}", r.body);
        std::thread::sleep(Duration::from_millis(100));
    }

    let metrics = try_request(port, "GET", "/metrics", &[], "").unwrap();
    assert_eq!(metrics.status, 200);
    assert!(metrics.header("content-type").unwrap().starts_with("text/plain"));
    let m = &metrics.body;
    let expect = |parts: &[&str], at_least: f64| {
        let v = metric_value(m, parts).unwrap_or_else(|| panic!("no {parts:?} in\n{m}"));
        assert!(v >= at_least, "{parts:?} = {v}");
    };
    expect(&["stowaway_jobs_submitted_total"], 1.0);
    expect(&["stowaway_jobs_started_total"], 1.0);
    expect(&["stowaway_jobs_finished_total{", "state=\"Success\"", "suspicious_type=\"MPEG-TS\""], 1.0);
    expect(&["stowaway_http_requests_total{", "route=\"/jobs\"", "method=\"POST\"", "status=\"200\""], 1.0);
    expect(&["stowaway_http_requests_total{", "route=\"/jobs\"", "status=\"400\""], 1.0);
    expect(&["stowaway_http_requests_total{", "route=\"/jobs\"", "status=\"403\""], 1.0);
    expect(&["stowaway_http_request_duration_seconds_count{", "route=\"/jobs/{ids}\""], 1.0);
    expect(&["stowaway_detector_bytes_total"], 9000.0);
    expect(&["stowaway_detector_duration_seconds_count"], 1.0);
    expect(&["stowaway_queue_depth{", "state=\"Submitted\""], 0.0);
    expect(&["stowaway_queue_depth{", "state=\"Retrying\""], 0.0);
    expect(&["stowaway_queue_oldest_pending_seconds"], 0.0);
    expect(&["stowaway_callback_backlog"], 0.0);

    // A worker process alone serves the same routes on STOWAWAY_OPS_LISTEN.
    let ops_port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let ops_listen = format!("127.0.0.1:{ops_port}");
    let _worker = Process::start("worker", &db, &bucket, &[("STOWAWAY_OPS_LISTEN", &ops_listen)]);
    let deadline = Instant::now() + Duration::from_secs(20);
    let ready = loop {
        match try_request(ops_port, "GET", "/readyz", &[], "") {
            Some(r) => break r,
            None if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
            None => panic!("the worker's ops listener did not start"),
        }
    };
    assert_eq!(ready.status, 200, "{}", ready.body);
    let worker_metrics = try_request(ops_port, "GET", "/metrics", &[], "").unwrap();
    assert!(worker_metrics.body.contains("stowaway_queue_depth"), "{}", worker_metrics.body);

    drop(serve);
    let text = std::fs::read_to_string(&log).unwrap();
    let _ = std::fs::remove_file(&log);
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON log line ({e}): {l}")))
        .collect();
    let field = |v: &serde_json::Value, name: &str| {
        v.get(name)
            .or_else(|| v.get("span").and_then(|s| s.get(name)))
            .and_then(|f| f.as_str())
            .map(str::to_string)
    };
    assert!(
        lines.iter().any(|l| field(l, "request_id").as_deref() == Some(bad_request_id.as_str())),
        "no log line with the bad request's id {bad_request_id}:\n{text}"
    );
    assert!(
        lines.iter().any(|l| field(l, "job_id").as_deref() == Some(id.as_str())),
        "no line about job {id}:\n{text}"
    );
    assert!(!text.contains(KEY), "the secret key was logged");
    db.drop_it().await;
}
