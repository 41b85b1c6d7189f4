//! The storage boundary against real S3 servers (no mocks): s3s-fs (strict signatures, refuses
//! ACLs with 501) and moto (implements object ACLs). `scripts/test.sh` starts both and exports
//! their endpoints; by hand: `bash scripts/start-services.sh && source target/services/env`.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use aws_sdk_s3::types::{ObjectCannedAcl, Permission};
use stowaway_objects::{ObjectStoreConfig, Objects, RetryPolicy, BACKUP_PREFIX, SPOOL_THRESHOLD};
use stowaway_testkit::{s3_config as config, S3Server as Server};

/// A client and a bucket of its own.
async fn fresh(server: Server) -> (Objects, String) {
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
    let bucket = format!("objects-{}-{nanos}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed));
    let objects = Objects::new(&config(server));
    objects.create_bucket(&bucket).await.expect("creating a test bucket");
    objects.create_bucket(&bucket).await.expect("creating a bucket again is fine");
    (objects, bucket)
}

/// Deterministic bytes that are not a repeating short pattern.
fn bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

#[tokio::test]
async fn small_fetch_is_in_memory() {
    let (objects, bucket) = fresh(Server::Strict).await;
    let body = bytes(3000, 1);
    objects.put(&bucket, "a.png", body.clone()).await.unwrap();
    let fetched = objects.fetch(&bucket, "a.png").await.unwrap();
    assert!(!fetched.is_spooled());
    assert_eq!(&fetched[..], &body[..]);
    objects.put(&bucket, "empty.png", Vec::new()).await.unwrap();
    assert!(objects.fetch(&bucket, "empty.png").await.unwrap().is_empty());
}

#[tokio::test]
async fn big_fetch_is_spooled_and_byte_exact() {
    let (objects, bucket) = fresh(Server::Strict).await;
    let at_threshold = bytes(SPOOL_THRESHOLD as usize, 2);
    objects.put(&bucket, "at.bin", at_threshold.clone()).await.unwrap();
    let fetched = objects.fetch(&bucket, "at.bin").await.unwrap();
    assert!(!fetched.is_spooled(), "exactly {SPOOL_THRESHOLD} bytes stay in memory");
    assert!(fetched[..] == at_threshold[..]);

    let big = bytes(SPOOL_THRESHOLD as usize + 12_345, 3);
    objects.put(&bucket, "big.bin", big.clone()).await.unwrap();
    let fetched = objects.fetch(&bucket, "big.bin").await.unwrap();
    assert!(fetched.is_spooled());
    assert_eq!(fetched.len(), big.len());
    assert!(fetched[..] == big[..], "spooled bytes differ");
    // The mapping outlives the task that made it, as the detector's blocking thread needs.
    let len = tokio::task::spawn_blocking(move || fetched.len()).await.unwrap();
    assert_eq!(len, big.len());
}

/// A first retry 10 s away: a permanent error answered sooner was not retried, however loaded the
/// machine (a bound of a few hundred milliseconds failed under a soak plus a build).
const A_RETRY_WOULD_SHOW: RetryPolicy = RetryPolicy { attempts: 2, base_delay: Duration::from_secs(10) };

#[tokio::test]
async fn missing_key_and_bucket_are_permanent_and_not_retried() {
    for server in [Server::Strict, Server::WithAcls] {
        let (objects, bucket) = fresh(server).await;
        let objects = objects.with_retry_policy(A_RETRY_WOULD_SHOW);
        let started = Instant::now();
        let e = objects.fetch(&bucket, "nope.png").await.unwrap_err();
        assert_eq!((e.code.as_str(), e.status, e.transient), ("NoSuchKey", Some(404), false), "{e}");
        assert!(!e.message.is_empty());
        // s3s-fs answers GetObject in a missing bucket with NoSuchKey; moto (like AWS) NoSuchBucket.
        let missing = format!("{bucket}-missing");
        let e = objects.fetch(&missing, "nope.png").await.unwrap_err();
        let want = if matches!(server, Server::Strict) { "NoSuchKey" } else { "NoSuchBucket" };
        assert_eq!((e.code.as_str(), e.status, e.transient), (want, Some(404), false), "{e}");
        // Deleting from a missing bucket is not the "already deleted" success.
        let e = objects.delete(&missing, "nope.png").await.unwrap_err();
        assert_eq!((e.code.as_str(), e.status, e.transient), ("NoSuchBucket", Some(404), false), "{e}");
        assert!(started.elapsed() < A_RETRY_WOULD_SHOW.base_delay, "retried: {:?}", started.elapsed());
    }
}

#[tokio::test]
async fn wrong_secret_is_permanent() {
    let (objects, bucket) = fresh(Server::Strict).await;
    objects.put(&bucket, "a.png", b"x".to_vec()).await.unwrap();
    let wrong = Objects::new(&ObjectStoreConfig {
        secret_access_key: "not-the-secret".into(),
        ..config(Server::Strict)
    })
    .with_retry_policy(A_RETRY_WOULD_SHOW);
    let started = Instant::now();
    let e = wrong.fetch(&bucket, "a.png").await.unwrap_err();
    println!("s3s-fs says: {e}");
    assert!(["AccessDenied", "SignatureDoesNotMatch"].contains(&e.code.as_str()), "{e}");
    assert_eq!((e.status, e.transient), (Some(403), false), "{e}");
    // HEAD answers have no body: the status still says what happened, and it is not "missing".
    let e = wrong.exists(&bucket, "a.png").await.unwrap_err();
    assert_eq!((e.status, e.transient), (Some(403), false), "{e}");
    let e = wrong.make_private(&bucket, "a.png").await.unwrap_err();
    assert_eq!(e.status, Some(403), "{e}");
    assert!(started.elapsed() < A_RETRY_WOULD_SHOW.base_delay, "retried: {:?}", started.elapsed());
}

#[tokio::test]
async fn closed_port_is_transient_after_bounded_retries() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let objects = Objects::new(&ObjectStoreConfig {
        endpoint: Some(format!("http://127.0.0.1:{port}")),
        ..config(Server::Strict)
    });
    let started = Instant::now();
    let e = objects.fetch("bucket", "a.png").await.unwrap_err();
    let took = started.elapsed();
    println!("closed port: {e} (after {took:?})");
    assert_eq!((e.code.as_str(), e.status, e.transient), ("ServiceUnavailable", None, true), "{e}");
    assert!(e.message.to_lowercase().contains("connect"), "{e}");
    assert!(!e.message.contains("Some(") && !e.message.contains(" {"), "Debug dump: {e}");
    // 4 attempts: 200 + 400 + 800 ms of backoff, then give up.
    assert!(took >= Duration::from_millis(1400) && took < Duration::from_secs(10), "{took:?}");
}

#[tokio::test]
async fn backup_moves_the_object_and_is_idempotent() {
    let (objects, bucket) = fresh(Server::Strict).await;
    let body = bytes(5000, 4);
    objects.put(&bucket, "2024/a.png", body.clone()).await.unwrap();
    let backup = objects.backup(&bucket, "2024/a.png").await.unwrap();
    assert_eq!(backup, format!("{BACKUP_PREFIX}2024/a.png"));
    assert_eq!(backup, "abnormal_images_backup/2024/a.png");
    assert!(!objects.exists(&bucket, "2024/a.png").await.unwrap());
    assert_eq!(&objects.fetch(&bucket, &backup).await.unwrap()[..], &body[..]);
    // A retry after the move finished.
    assert_eq!(objects.backup(&bucket, "2024/a.png").await.unwrap(), backup);
    assert_eq!(&objects.fetch(&bucket, &backup).await.unwrap()[..], &body[..]);

    // Copied but not deleted (a crash between the two): the move completes.
    objects.put(&bucket, "b.png", body.clone()).await.unwrap();
    objects.put(&bucket, "abnormal_images_backup/b.png", body.clone()).await.unwrap();
    assert_eq!(objects.backup(&bucket, "b.png").await.unwrap(), "abnormal_images_backup/b.png");
    assert!(!objects.exists(&bucket, "b.png").await.unwrap());
    assert_eq!(&objects.fetch(&bucket, "abnormal_images_backup/b.png").await.unwrap()[..], &body[..]);

    // Nothing to back up and no backup: the store's NoSuchKey.
    let e = objects.backup(&bucket, "never.png").await.unwrap_err();
    assert_eq!((e.code.as_str(), e.status, e.transient), ("NoSuchKey", Some(404), false), "{e}");
}

#[tokio::test]
async fn make_private_on_a_store_with_acls() {
    let (objects, bucket) = fresh(Server::WithAcls).await;
    objects.put(&bucket, "a.png", b"picture".to_vec()).await.unwrap();
    let sdk = objects.sdk_client();
    sdk.put_object_acl().bucket(&bucket).key("a.png").acl(ObjectCannedAcl::PublicRead).send().await.unwrap();
    let grants = |acl: &aws_sdk_s3::operation::get_object_acl::GetObjectAclOutput| acl.grants().len();
    let before = sdk.get_object_acl().bucket(&bucket).key("a.png").send().await.unwrap();
    assert_eq!(grants(&before), 2, "public-read: owner + AllUsers");

    objects.make_private(&bucket, "a.png").await.unwrap();
    let acl = sdk.get_object_acl().bucket(&bucket).key("a.png").send().await.unwrap();
    let owner = acl.owner().and_then(|o| o.id()).expect("an owner");
    assert_eq!(grants(&acl), 1, "{acl:?}");
    let grant = &acl.grants()[0];
    assert_eq!(grant.grantee().and_then(|g| g.id()), Some(owner));
    assert_eq!(grant.permission(), Some(&Permission::FullControl));
}

#[tokio::test]
async fn make_private_on_a_store_without_acls_is_its_501() {
    let (objects, bucket) = fresh(Server::Strict).await;
    let objects = objects.with_retry_policy(A_RETRY_WOULD_SHOW);
    objects.put(&bucket, "a.png", b"picture".to_vec()).await.unwrap();
    let started = Instant::now();
    let e = objects.make_private(&bucket, "a.png").await.unwrap_err();
    assert_eq!((e.code.as_str(), e.status, e.transient), ("NotImplemented", Some(501), false), "{e}");
    assert!(!e.message.is_empty() && !e.message.contains("Some("), "{e}");
    assert!(started.elapsed() < A_RETRY_WOULD_SHOW.base_delay, "retried: {:?}", started.elapsed());
    println!("s3s-fs says: {e}");
}

#[tokio::test]
async fn delete_twice_is_fine() {
    for server in [Server::Strict, Server::WithAcls] {
        let (objects, bucket) = fresh(server).await;
        objects.put(&bucket, "a.png", b"x".to_vec()).await.unwrap();
        assert!(objects.exists(&bucket, "a.png").await.unwrap());
        objects.delete(&bucket, "a.png").await.unwrap();
        assert!(!objects.exists(&bucket, "a.png").await.unwrap());
        objects.delete(&bucket, "a.png").await.unwrap();
    }
}

#[tokio::test]
async fn odd_keys_round_trip() {
    let keys = [
        "with space.png",
        "ünïcødé/图片 1.jpg",
        "a/b/c/d.png",
        "plus+percent%25&amp;=?#.png",
        "~tilde's (1).gif",
    ];
    for server in [Server::Strict, Server::WithAcls] {
        let (objects, bucket) = fresh(server).await;
        for (i, key) in keys.iter().enumerate() {
            let body = bytes(100 + i, i as u64);
            objects.put(&bucket, key, body.clone()).await.unwrap();
            assert!(objects.exists(&bucket, key).await.unwrap(), "{key}");
            assert_eq!(&objects.fetch(&bucket, key).await.unwrap()[..], &body[..], "{key}");
            let backup = objects.backup(&bucket, key).await.unwrap_or_else(|e| panic!("{key}: {e}"));
            assert_eq!(backup, format!("{BACKUP_PREFIX}{key}"));
            assert!(!objects.exists(&bucket, key).await.unwrap(), "{key}");
            assert_eq!(&objects.fetch(&bucket, &backup).await.unwrap()[..], &body[..], "{key}");
            objects.delete(&bucket, &backup).await.unwrap();
            assert!(!objects.exists(&bucket, &backup).await.unwrap(), "{key}");
        }
    }
}
