//! Batch jobs as processes against the real PostgreSQL and s3s-fs: every batch call of Tencent's
//! Python SDK (signatures on), and a `serve` killed (SIGKILL) mid-listing whose batch resumes
//! where it stopped, with no child made twice, listing flat pages or folder by folder.
mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use sqlx::PgPool;
use stowaway_testkit::{clean_png, fresh_bucket, png_with_ts, S3Server};

use common::{http, Database, Process};

const SECRET_ID: &str = "AKIDtest";
const SECRET_KEY: &str = "testSecretKey";

#[tokio::test(flavor = "multi_thread")]
async fn python_sdk_batch_jobs() {
    let db = Database::create().await;
    let (objects, bucket) = fresh_bucket(S3Server::Strict).await;
    for key in ["in/a.png", "in/b 1.png", "in/c+.jpg"] {
        objects.put(&bucket, key, png_with_ts(20)).await.unwrap();
    }
    objects.put(&bucket, "other/x.png", clean_png()).await.unwrap();
    let serve = Process::start(
        "serve",
        &db,
        &bucket,
        &[("STOWAWAY_SECRET_ID", SECRET_ID), ("STOWAWAY_SECRET_KEY", SECRET_KEY)],
    );
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/sdk/python_batches.py");
    let port = serve.port.to_string();
    #[rustfmt::skip]
    let out = Command::new("python3")
        .args([script, "--port", &port, "--bucket", &bucket, "--secret-id", SECRET_ID, "--secret-key", SECRET_KEY])
        .output()
        .expect("python3 (scripts/test.sh installs the SDK)");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && text.contains("python-batches: all calls worked"), "{text}");

    // The Job batch's three children, found by the batch, each a verdict.
    let batch = text.lines().find_map(|l| l.strip_prefix("job batch: ")).expect("the batch id").to_string();
    let pool = PgPool::connect(&db.url).await.unwrap();
    let children: Vec<(String, i16, bool)> = sqlx::query_as(
        "SELECT object, state, (result->'ProcessResult'->>'Suspicious')::bool FROM jobs
         WHERE request->>'batch_id' = $1 ORDER BY object",
    )
    .bind(&batch)
    .fetch_all(&pool)
    .await
    .unwrap();
    let want: Vec<(String, i16, bool)> =
        ["in/a.png", "in/b 1.png", "in/c+.jpg"].iter().map(|k| (k.to_string(), 2, true)).collect();
    assert_eq!(children, want);
    pool.close().await;
    drop(serve);
    db.drop_it().await;
}

/// (state, children made, whether a next page is recorded) of the one batch.
async fn batch_row(pool: &PgPool) -> (i16, i64, bool) {
    sqlx::query_as("SELECT state, (SELECT count(*) FROM jobs), next_page IS NOT NULL FROM batches")
        .fetch_one(pool)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_batch_killed_mid_listing_resumes_without_duplicates() {
    killed_mid_listing("flat").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_batch_walking_folders_killed_mid_listing_resumes_without_duplicates() {
    killed_mid_listing("folders").await;
}

async fn killed_mid_listing(walk: &str) {
    const OBJECTS: usize = 300;
    let db = Database::create().await;
    let (objects, bucket) = fresh_bucket(S3Server::Strict).await;
    for i in 0..OBJECTS {
        // Six folders of 50, and a few keys beside them.
        let key = match i % 50 {
            49 => format!("many/{i:04}.png"),
            _ => format!("many/{:02}/{i:04}.png", i / 50),
        };
        objects.put(&bucket, &key, clean_png()).await.unwrap();
    }
    // Ten keys a step, so that the kill lands mid-listing.
    let settings = [("STOWAWAY_BATCH_PAGE_SIZE", "10"), ("STOWAWAY_BATCH_LISTING", walk)];
    let mut first = Process::start("serve", &db, &bucket, &settings);
    let body = "<Request><Name>many</Name><Type>Job</Type><Input><Prefix>many/</Prefix></Input>\
                <Operation><Tag>ImageInspect</Tag></Operation></Request>";
    let (status, answer) = http(first.port, "POST", "/inventorytriggerjob", body);
    assert_eq!(status, 200, "{answer}");
    let pool = PgPool::connect(&db.url).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while batch_row(&pool).await.1 < 20 {
        assert!(Instant::now() < deadline, "the batch made no children");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    first.kill();
    let (state, made, more) = batch_row(&pool).await;
    assert!(state == 1 && more && (made as usize) < OBJECTS, "killed mid-listing: {state} {made} {more}");
    let checkpoint: String =
        sqlx::query_scalar("SELECT next_page FROM batches").fetch_one(&pool).await.unwrap();
    assert_eq!(checkpoint.starts_with("after:many/"), walk == "folders", "{checkpoint}");

    let second = Process::start("serve", &db, &bucket, &settings);
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let (state, made, _) = batch_row(&pool).await;
        let done: i64 =
            sqlx::query_scalar("SELECT count(*) FROM jobs WHERE state = 2").fetch_one(&pool).await.unwrap();
        if state == 2 && done as usize == OBJECTS {
            break;
        }
        assert!(Instant::now() < deadline, "not finished: state {state}, {made} made, {done} done");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (jobs, objects_run): (i64, i64) =
        sqlx::query_as("SELECT count(*), count(DISTINCT object) FROM jobs").fetch_one(&pool).await.unwrap();
    assert_eq!((jobs, objects_run), (OBJECTS as i64, OBJECTS as i64), "each object once");
    let (status, answer) = http(second.port, "GET", "/inventorytriggerjob?type=Job", "");
    assert_eq!(status, 200, "{answer}");
    assert!(
        answer.contains("<State>Success</State>") && answer.contains("<Progress>100</Progress>"),
        "{answer}"
    );
    pool.close().await;
    drop(second);
    db.drop_it().await;
}
