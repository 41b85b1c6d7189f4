//! Temporary keys through the router the server runs: issued by `POST /federationtoken` in
//! GetFederationToken's shape, used as Tencent's SDKs use them (`x-ci-security-token` or
//! `x-cos-security-token`, signed; or in a presigned URL's query), bounded by their policy and by
//! the key that issued them, refused with S3's and COS's codes when expired, altered or foreign.
mod common;

use axum::http::StatusCode;
use axum::Router;
use sqlx::PgPool;
use stowaway_api::{AccessKey, TemporaryKeyPolicy};
use stowaway_wire::cos_sign::{sign, SignedParts};

use common::{authorization, secured, send, Reply, BUCKET, HOST, ID, KEY};

const JOB: &str = "<Request><Tag>ImageInspect</Tag><Input><Object>{object}</Object></Input></Request>";

/// A key for one bucket that may issue temporary keys and submit jobs, not read them.
fn uploader() -> AccessKey {
    AccessKey {
        secret_id: "AKIDuploader".into(),
        secret_key: "uploaderKey".into(),
        buckets: vec![BUCKET.into()],
        actions: vec![
            "sts:GetFederationToken".into(),
            "ci:CreateMediaJobs".into(),
            "ci:CreateImageInspectJob".into(),
        ],
    }
}

struct Temporary {
    id: String,
    key: String,
    token: String,
}

async fn issue(app: &Router, id: &str, key: &str, body: &str) -> Reply {
    let len = body.len().to_string();
    let auth =
        authorization(id, key, "POST", "/federationtoken", &[("host", HOST), ("content-length", &len)]);
    let headers = [("host", HOST), ("content-length", len.as_str()), ("authorization", &auth)];
    send(app, "POST", "/federationtoken", &headers, body).await
}

fn credentials(r: &Reply) -> Temporary {
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.headers["content-type"], "application/json");
    let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    let c = &v["Response"]["Credentials"];
    let expires = v["Response"]["ExpiredTime"].as_i64().unwrap();
    assert!((expires - chrono::Utc::now().timestamp() - 900).abs() < 10, "DurationSeconds 900: {expires}");
    assert!(v["Response"]["Expiration"].as_str().unwrap().ends_with('Z'));
    assert_eq!(v["Response"]["RequestId"].as_str().unwrap(), r.headers["x-ci-request-id"].to_str().unwrap());
    let s = |f: &str| c[f].as_str().unwrap().to_string();
    Temporary { id: s("TmpSecretId"), key: s("TmpSecretKey"), token: s("Token") }
}

/// A request as Python's SDK signs one with a token: `host;x-ci-security-token` in the header list.
async fn as_temporary(app: &Router, t: &Temporary, method: &str, uri: &str, body: &str) -> Reply {
    let len = body.len().to_string();
    let signed = [("host", HOST), ("x-ci-security-token", t.token.as_str())];
    let auth = authorization(&t.id, &t.key, method, uri, &signed);
    let headers = [
        ("host", HOST),
        ("x-ci-security-token", t.token.as_str()),
        ("content-length", &len),
        ("authorization", &auth),
    ];
    send(app, method, uri, &headers, body).await
}

fn denied(r: &Reply, status: StatusCode, code: &str, message: &str) {
    assert_eq!((r.status, r.error_code()), (status, code), "{}", r.body);
    assert!(r.get("Message").contains(message), "{code}: {}", r.body);
}

#[sqlx::test(migrator = "stowaway_store::MIGRATOR")]
async fn a_temporary_key_does_what_its_policy_and_its_issuer_allow(pool: PgPool) {
    let app = secured(pool, vec![AccessKey::root(ID, KEY), uploader()]);
    // Tencent's Policy parameter: URL-encoded CAM JSON; DescribeMediaJobs is more than the issuer has.
    let policy = format!(
        r#"{{"version":"2.0","statement":[{{"effect":"allow",
            "action":["name/ci:CreateMediaJobs","name/ci:CreateImageInspectJob"],
            "resource":["qcs::cos:ap-chongqing:uid/123456789:{BUCKET}/uploads/*"]}},
            {{"effect":"allow","action":["name/ci:DescribeMediaJobs"],
              "resource":["qcs::ci:ap-chongqing:uid/123456789:bucket/{BUCKET}/*"]}},
            {{"effect":"deny","action":["ci:CreateMediaJobs"],"resource":["{BUCKET}/uploads/held/*"]}}]}}"#
    );
    let body = serde_json::json!({
        "Name": "browser", "DurationSeconds": 900, "Policy": stowaway_wire::cos_sign::url_encode(&policy)
    });
    let t = credentials(&issue(&app, "AKIDuploader", "uploaderKey", &body.to_string()).await);

    let submit = |object: &str| JOB.replace("{object}", object);
    let r = as_temporary(&app, &t, "POST", "/jobs", &submit("uploads/a.png")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.get("Object"), "uploads/a.png");
    let r = as_temporary(&app, &t, "POST", "/jobs", &submit("private/a.png")).await;
    denied(&r, StatusCode::FORBIDDEN, "AccessDenied", "private/a.png");
    let r = as_temporary(&app, &t, "POST", "/jobs", &submit("uploads/held/a.png")).await;
    denied(&r, StatusCode::FORBIDDEN, "AccessDenied", "uploads/held/a.png");
    let r = as_temporary(&app, &t, "GET", "/private/b.png?ci-process=ImageInspect", "").await;
    denied(&r, StatusCode::FORBIDDEN, "AccessDenied", "private/b.png");
    // The policy allows listing jobs, the issuing key does not: the narrower wins.
    let r = as_temporary(&app, &t, "GET", "/jobs", "").await;
    denied(&r, StatusCode::FORBIDDEN, "AccessDenied", "under AKIDuploader");
    // A temporary key issues nothing.
    let signed = [("host", HOST), ("x-ci-security-token", t.token.as_str())];
    let auth = authorization(&t.id, &t.key, "POST", "/federationtoken", &signed);
    let headers = [("host", HOST), ("x-ci-security-token", t.token.as_str()), ("authorization", &auth)];
    let r = send(&app, "POST", "/federationtoken", &headers, "{}").await;
    denied(&r, StatusCode::FORBIDDEN, "AccessDenied", "");
    // Another bucket.
    let other = "other-1250000000.ci.ap-chongqing.myqcloud.com";
    let auth = authorization(&t.id, &t.key, "POST", "/jobs", &[("host", other)]);
    let body = submit("uploads/a.png");
    let headers = [("host", other), ("x-cos-security-token", t.token.as_str()), ("authorization", &auth)];
    denied(
        &send(&app, "POST", "/jobs", &headers, &body).await,
        StatusCode::FORBIDDEN,
        "AccessDenied",
        "other-1250000000",
    );
}

#[sqlx::test(migrator = "stowaway_store::MIGRATOR")]
async fn expired_altered_and_foreign_tokens_are_refused(pool: PgPool) {
    let keys = vec![AccessKey::root(ID, KEY), uploader()];
    let app = secured(pool.clone(), keys);
    let t = credentials(&issue(&app, ID, KEY, r#"{"DurationSeconds": 900}"#).await);
    assert_eq!(as_temporary(&app, &t, "GET", "/jobs", "").await.status, StatusCode::OK);

    let hour_ago = chrono::Utc::now().timestamp() - 3600;
    let old = stowaway_api::issue_temporary_key(ID, KEY, "", TemporaryKeyPolicy::everything(), hour_ago, 60)
        .unwrap();
    let old = Temporary { id: old.tmp_secret_id, key: old.tmp_secret_key, token: old.token };
    denied(
        &as_temporary(&app, &old, "GET", "/jobs", "").await,
        StatusCode::BAD_REQUEST,
        "ExpiredToken",
        "expired",
    );

    let mut parts: Vec<String> = t.token.split('.').map(String::from).collect();
    parts[1].insert(5, 'x');
    let altered = Temporary { token: parts.join("."), ..clone(&t) };
    denied(
        &as_temporary(&app, &altered, "GET", "/jobs", "").await,
        StatusCode::BAD_REQUEST,
        "InvalidToken",
        "",
    );
    let junk = Temporary { token: "junk".into(), ..clone(&t) };
    denied(&as_temporary(&app, &junk, "GET", "/jobs", "").await, StatusCode::BAD_REQUEST, "InvalidToken", "");
    // The token with another SecretId, or the right one with another key.
    let foreign = Temporary { id: ID.into(), key: KEY.into(), ..clone(&t) };
    denied(
        &as_temporary(&app, &foreign, "GET", "/jobs", "").await,
        StatusCode::FORBIDDEN,
        "InvalidAccessKeyId",
        "",
    );
    let wrong = Temporary { key: "guess".into(), ..clone(&t) };
    let r = as_temporary(&app, &wrong, "GET", "/jobs", "").await;
    denied(&r, StatusCode::FORBIDDEN, "SignatureDoesNotMatch", "");
    // Without its token the temporary SecretId is a stranger.
    let auth = authorization(&t.id, &t.key, "GET", "/jobs", &[("host", HOST)]);
    let r = send(&app, "GET", "/jobs", &[("host", HOST), ("authorization", &auth)], "").await;
    denied(&r, StatusCode::FORBIDDEN, "InvalidAccessKeyId", "");

    // A presigned URL carries the token as a parameter.
    let now = chrono::Utc::now().timestamp();
    let headers = [("host".to_string(), HOST.to_string())];
    let auth = sign(
        &t.id,
        &t.key,
        now,
        now + 300,
        &SignedParts { method: "GET", path: "/jobs", query: &[], headers: &headers },
    );
    let uri = format!(
        "/jobs?{}&x-cos-security-token={}",
        auth.to_query(),
        stowaway_wire::cos_sign::url_encode(&t.token)
    );
    assert_eq!(send(&app, "GET", &uri, &[("host", HOST)], "").await.status, StatusCode::OK);

    // Removing the issuing key revokes what it issued.
    let u = credentials(&issue(&app, "AKIDuploader", "uploaderKey", r#"{"DurationSeconds": 900}"#).await);
    let without = secured(pool, vec![AccessKey::root(ID, KEY)]);
    let r = as_temporary(&without, &u, "POST", "/jobs", &JOB.replace("{object}", "a.png")).await;
    denied(&r, StatusCode::FORBIDDEN, "InvalidAccessKeyId", "not configured");
}

fn clone(t: &Temporary) -> Temporary {
    Temporary { id: t.id.clone(), key: t.key.clone(), token: t.token.clone() }
}

#[sqlx::test(migrator = "stowaway_store::MIGRATOR")]
async fn bad_requests_for_a_token_are_refused(pool: PgPool) {
    let app = secured(pool.clone(), vec![AccessKey::root(ID, KEY), uploader()]);
    for (body, message) in [
        (r#"{"DurationSeconds": 0}"#, "DurationSeconds"),
        (r#"{"DurationSeconds": 200000}"#, "DurationSeconds"),
        (
            r#"{"Policy": "{\"statement\":[{\"effect\":\"allow\",\"action\":\"*\",\"resource\":\"*\",\"condition\":{}}]}"}"#,
            "conditions",
        ),
        (r#"{"Policy": {"version": "1.0", "statement": []}}"#, "version"),
        (r#"{"Polcy": {}}"#, "GetFederationToken"),
        ("not json", "GetFederationToken"),
    ] {
        denied(&issue(&app, ID, KEY, body).await, StatusCode::BAD_REQUEST, "InvalidArgument", message);
    }
    // A key that may not issue.
    let reader = AccessKey { actions: vec!["ci:*".into()], ..uploader() };
    let app = secured(pool, vec![reader]);
    let r = issue(&app, "AKIDuploader", "uploaderKey", "{}").await;
    denied(&r, StatusCode::FORBIDDEN, "AccessDenied", "sts:GetFederationToken");
}
