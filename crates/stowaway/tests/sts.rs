//! Temporary keys with Tencent's own SDKs: `stowaway token` issues them offline under the key
//! `stowaway serve` runs with, narrowed by a CAM policy to a prefix, and the Python SDK
//! (`CosConfig(Token=)`) and the Node SDK (`getAuthorization`) sign with them
//! (tests/sdk/python_sts.py, tests/sdk/node_sts.js).
mod common;

use std::process::Command;
use std::time::Duration;

use stowaway_testkit::{fresh_bucket, png_with_ts, S3Server};

use common::{run_script, Database, Process};

const SECRET_ID: &str = "AKIDtest";
const SECRET_KEY: &str = "testSecretKey";

/// GetFederationToken's answer, as `stowaway token` prints it.
fn token(policy: &str, duration: u32) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_stowaway"))
        .args(["token", "--policy", policy, "--duration", &duration.to_string(), "--name", "sdk-test"])
        .env("STOWAWAY_SECRET_ID", SECRET_ID)
        .env("STOWAWAY_SECRET_KEY", SECRET_KEY)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn tencent_sdks_sign_with_temporary_keys() {
    let sdk = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/sdk");
    let db = Database::create().await;
    let (objects, bucket) = fresh_bucket(S3Server::Strict).await;
    for key in ["uploads/hls.png", "private/hls.png"] {
        objects.put(&bucket, key, png_with_ts(50)).await.unwrap();
    }
    let serve = Process::start(
        "serve",
        &db,
        &bucket,
        &[("STOWAWAY_SECRET_ID", SECRET_ID), ("STOWAWAY_SECRET_KEY", SECRET_KEY)],
    );
    let policy = format!(
        r#"{{"version":"2.0","statement":[
            {{"effect":"allow","action":["name/ci:CreateImageInspectJob","name/ci:CreateMediaJobs"],
              "resource":["qcs::cos:ap-chongqing:uid/1250000000:{bucket}/uploads/*"]}},
            {{"effect":"allow","action":["name/ci:DescribeMediaJob"],"resource":["{bucket}/*"]}}]}}"#
    );
    let credentials = token(&policy, 900);
    let expired = token(&policy, 1);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let port = serve.port.to_string();
    let python = format!("{sdk}/python_sts.py");
    #[rustfmt::skip]
    let args = [python.as_str(), "--port", &port, "--bucket", &bucket,
                "--credentials", &credentials, "--expired", &expired];
    run_script("python3", &args, "python-sts");
    let node = format!("{sdk}/node_sts.js");
    run_script(
        "node",
        &[&node, "--port", &port, "--credentials", &credentials, "--expired", &expired],
        "node-sts",
    );
    drop(serve);
    db.drop_it().await;
}
