//! `stowaway undo` after `stowaway serve` acted on an upload: AutoProcess moved it to the backup
//! folder, the command line puts it back (the backup gone, the undo recorded by `cli`); again, the
//! same record; an unknown job exits 1 saying so.
mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use stowaway_objects::BACKUP_PREFIX;
use stowaway_testkit::{fresh_bucket, png_with_ts, s3_config, S3Server};

use common::{http, Database, Process};

fn undo(db: &Database, bucket: &str, jobs: &[&str]) -> (bool, String) {
    let s3 = s3_config(S3Server::Strict);
    let out = Command::new(env!("CARGO_BIN_EXE_stowaway"))
        .arg("undo")
        .args(["--bucket", bucket])
        .args(jobs)
        .env("DATABASE_URL", &db.url)
        .env("STOWAWAY_S3_ENDPOINT", s3.endpoint.unwrap())
        .env("AWS_ACCESS_KEY_ID", s3.access_key_id)
        .env("AWS_SECRET_ACCESS_KEY", s3.secret_access_key)
        .output()
        .unwrap();
    (
        out.status.success(),
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn stowaway_undo_puts_a_backed_up_upload_back() {
    let db = Database::create().await;
    let (objects, bucket) = fresh_bucket(S3Server::Strict).await;
    let picture = png_with_ts(20);
    objects.put(&bucket, "hls.png", picture.clone()).await.unwrap();
    let serve = Process::start("serve", &db, &bucket, &[]);
    let body = "<Request><Tag>ImageInspect</Tag><Input><Object>hls.png</Object></Input><Operation><ImageInspect>\
                <AutoProcess>true</AutoProcess><ProcessType>BackupObject</ProcessType></ImageInspect></Operation></Request>";
    let (status, reply) = http(serve.port, "POST", "/jobs", body);
    assert_eq!(status, 200, "{reply}");
    let job = reply.split("<JobId>").nth(1).unwrap().split('<').next().unwrap().to_string();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !http(serve.port, "GET", &format!("/jobs/{job}"), "").1.contains("<State>Success</State>") {
        assert!(Instant::now() < deadline, "the job did not finish");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let backup = format!("{BACKUP_PREFIX}hls.png");
    assert!(
        objects.exists(&bucket, &backup).await.unwrap() && !objects.exists(&bucket, "hls.png").await.unwrap()
    );

    let (ok, first) = undo(&db, &bucket, &[&job]);
    assert!(ok && first.contains(&format!("{job}\tRestored\t")) && first.contains("by cli"), "{first}");
    assert_eq!(objects.fetch(&bucket, "hls.png").await.unwrap().to_vec(), picture, "the same bytes back");
    assert!(!objects.exists(&bucket, &backup).await.unwrap(), "the backup removed");
    let (ok, again) = undo(&db, &bucket, &[&job]);
    assert!(ok && again == first, "one undo, recorded once: {first} / {again}");
    let (ok, unknown) = undo(&db, &bucket, &["c0000000000000000000000000000000"]);
    assert!(!ok && unknown.contains("no such job in this bucket"), "{unknown}");
    drop(serve);
    db.drop_it().await;
}
