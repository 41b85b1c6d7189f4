//! Synchronous ImageInspect (`GET /<key>?ci-process=ImageInspect` and `?imageInspect`) through the
//! router the server runs, against the real s3s-fs test server: JSON numbers and booleans, keys
//! with spaces, unicode, `%` and `/` in any encoding the SDKs use, presigned URLs, and errors.
mod common;

use axum::http::StatusCode;
use axum::Router;
use serde_json::{json, Value};
use sqlx::PgPool;
use stowaway_api::{router, AccessKey, ApiConfig, AppState, KeyRing};
use stowaway_store::Store;
use stowaway_testkit::{clean_png, fresh_bucket, png_with_ts, S3Server};
use stowaway_wire::cos_sign::{sign, SignedParts};

use common::{send, Reply};

struct Fixture {
    app: Router,
    host: String,
    suspicious_size: usize,
    clean_size: usize,
}

async fn fixture(pool: PgPool, keys: Option<KeyRing>) -> Fixture {
    let (objects, bucket) = fresh_bucket(S3Server::Strict).await;
    let suspicious = png_with_ts(20);
    let clean = clean_png();
    for key in ["dir/测 试 100%.png", "jobs", "a+b.png"] {
        objects.put(&bucket, key, suspicious.clone()).await.unwrap();
    }
    objects.put(&bucket, "clean.png", clean.clone()).await.unwrap();
    let config = ApiConfig { keys, ..ApiConfig::default() };
    let state = AppState::new(Store::from_pool(pool), config).with_objects(objects);
    Fixture {
        app: router(state),
        host: format!("{bucket}.cos.ap-chongqing.myqcloud.com"),
        suspicious_size: suspicious.len(),
        clean_size: clean.len(),
    }
}

async fn inspect(f: &Fixture, uri: &str) -> (Reply, Value) {
    let r = send(&f.app, "GET", uri, &[("host", &f.host)], "").await;
    assert_eq!(r.status, StatusCode::OK, "{uri}: {}", r.body);
    assert_eq!(r.headers["content-type"], "application/json");
    let v = serde_json::from_str(&r.body).unwrap();
    (r, v)
}

#[sqlx::test(migrator = "stowaway_store::MIGRATOR")]
async fn inspects_objects_by_any_key_spelling(pool: PgPool) {
    let f = fixture(pool, None).await;
    let (_, clean) = inspect(&f, "/clean.png?ci-process=ImageInspect").await;
    assert_eq!(clean, json!({"picSize": f.clean_size, "picType": "png", "suspicious": false}));

    // Python's ci_image_inspect, Python's and Node's ci-process, Go's `%2F` inside the key.
    let size = f.suspicious_size as u64;
    for uri in [
        "/dir/%E6%B5%8B%20%E8%AF%95%20100%25.png?imageInspect=",
        "/dir/%E6%B5%8B%20%E8%AF%95%20100%25.png?ci-process=ImageInspect",
        "/dir%2F%E6%B5%8B%20%E8%AF%95%20100%25.png?ci-process=ImageInspect",
        "/a+b.png?imageInspect",
        // An object named like an API route is still an object here.
        "/jobs?ci-process=ImageInspect",
    ] {
        let (_, v) = inspect(&f, uri).await;
        assert_eq!(v["suspicious"], json!(true), "{uri}: {v}");
        assert_eq!(v["picSize"], json!(size), "{uri}: {v}");
        assert_eq!(v["suspiciousType"], json!("MPEG-TS"), "{uri}: {v}");
        let (begin, end) =
            (v["suspiciousBeginByte"].as_u64().unwrap(), v["suspiciousEndByte"].as_u64().unwrap());
        assert!(begin > 0 && end == size - 1, "{v}");
        assert_eq!(v["suspiciousSize"].as_u64().unwrap(), end - begin + 1);
    }
}

#[sqlx::test(migrator = "stowaway_store::MIGRATOR")]
async fn inspection_errors_are_tencent_errors(pool: PgPool) {
    let f = fixture(pool, None).await;
    let cases = [
        ("GET", "/missing.png?ci-process=ImageInspect", StatusCode::NOT_FOUND, "NoSuchKey"),
        ("GET", "/clean.png?ci-process=AssessQuality", StatusCode::BAD_REQUEST, "InvalidArgument"),
        ("POST", "/clean.png?ci-process=ImageInspect", StatusCode::METHOD_NOT_ALLOWED, "MethodNotAllowed"),
        ("GET", "/?ci-process=ImageInspect", StatusCode::BAD_REQUEST, "InvalidArgument"),
    ];
    for (method, uri, status, code) in cases {
        let r = send(&f.app, method, uri, &[("host", &f.host)], "").await;
        assert_eq!((r.status, r.error_code()), (status, code), "{method} {uri}: {}", r.body);
    }
    let long = format!("/{}?ci-process=ImageInspect", "k".repeat(900));
    let r = send(&f.app, "GET", &long, &[("host", &f.host)], "").await;
    assert_eq!((r.status, r.error_code()), (StatusCode::BAD_REQUEST, "KeyTooLong"));
    let other = "nobucket-1250000000.cos.ap-chongqing.myqcloud.com";
    let r = send(&f.app, "GET", "/clean.png?ci-process=ImageInspect", &[("host", other)], "").await;
    // s3s-fs calls a missing bucket's object NoSuchKey; stores that say NoSuchBucket pass it on.
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    assert!(["NoSuchKey", "NoSuchBucket"].contains(&r.error_code()));
}

#[sqlx::test(migrator = "stowaway_store::MIGRATOR")]
async fn presigned_inspection_urls_work(pool: PgPool) {
    let keys = KeyRing::new(vec![AccessKey::root("AKIDtest", "testSecretKey")]).unwrap();
    let f = fixture(pool, Some(keys)).await;
    let path = "/dir/%E6%B5%8B%20%E8%AF%95%20100%25.png";
    let now = chrono::Utc::now().timestamp();
    let query = [("ci-process".to_string(), "ImageInspect".to_string())];
    let parts = SignedParts { method: "GET", path, query: &query, headers: &[] };
    let auth = sign("AKIDtest", "testSecretKey", now, now + 300, &parts);
    // Tencent's documented form: the signature first, then the processing parameter.
    let (_, v) = inspect(&f, &format!("{path}?{}&ci-process=ImageInspect", auth.to_query())).await;
    assert_eq!(v["suspicious"], json!(true));
    let r = send(&f.app, "GET", &format!("{path}?ci-process=ImageInspect"), &[("host", &f.host)], "").await;
    assert_eq!((r.status, r.error_code()), (StatusCode::FORBIDDEN, "AccessDenied"));
}

#[sqlx::test(migrator = "stowaway_store::MIGRATOR")]
async fn an_object_over_the_maximum_is_refused_with_tencents_code(pool: PgPool) {
    let (objects, bucket) = fresh_bucket(S3Server::Strict).await;
    objects.put(&bucket, "big.png", png_with_ts(20)).await.unwrap();
    let limited = objects.with_max_object_bytes(1000);
    let app = router(AppState::new(Store::from_pool(pool), ApiConfig::default()).with_objects(limited));
    let host = format!("{bucket}.cos.ap-chongqing.myqcloud.com");
    let r = send(&app, "GET", "/big.png?ci-process=ImageInspect", &[("host", &host)], "").await;
    assert_eq!((r.status, r.error_code()), (StatusCode::BAD_REQUEST, "ImageTooLarge"), "{}", r.body);
    assert!(r.body.contains("at most 1000 bytes"), "{}", r.body);
}
