//! Request signatures and keys, through the router the server runs: each official SDK's request
//! shape (spec §6.3, §8.2–8.3; Go and Java cannot run here, so their shapes are written out),
//! every refusal, presigned URLs, and keys limited to buckets and actions.
mod common;

use axum::http::StatusCode;
use axum::Router;
use sqlx::PgPool;
use stowaway_api::{AccessKey, KeyRing};
use stowaway_testkit::SEED_REQUEST;
use stowaway_wire::cos_sign::{query_pairs, sign, SignedParts};

use common::{authorization, secured, send, Reply, BUCKET, HOST, ID, KEY};

const PLAIN_HOST: &str = "127.0.0.1:8080";

/// Submits the seed request as Python does (Host with the port, signed without it).
async fn python_submit(app: &Router) -> String {
    let len = SEED_REQUEST.len().to_string();
    let auth = authorization(
        ID,
        KEY,
        "POST",
        "/jobs",
        &[("content-length", &len), ("content-type", "application/xml"), ("host", "127.0.0.1")],
    );
    let headers = [
        ("host", PLAIN_HOST),
        ("content-type", "application/xml"),
        ("content-length", len.as_str()),
        ("authorization", &auth),
        ("user-agent", "cos-python-sdk-v5.1.9.44"),
    ];
    let r = send(app, "POST", "/jobs", &headers, SEED_REQUEST).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.get("JobId").to_string()
}

#[sqlx::test(migrator = "stowaway_store::MIGRATOR")]
async fn every_official_sdk_request_shape_verifies(pool: PgPool) {
    let app = secured(pool, vec![AccessKey::root(ID, KEY)]);
    let job = python_submit(&app).await;

    // Python: `PUT /jobs/<id>?cancel` with `cancel` left out of the signature.
    let uri = format!("/jobs/{job}?cancel");
    let auth = authorization(
        ID,
        KEY,
        "PUT",
        &format!("/jobs/{job}"),
        &[("content-length", "0"), ("host", "127.0.0.1")],
    );
    let r = send(
        &app,
        "PUT",
        &uri,
        &[("host", PLAIN_HOST), ("content-length", "0"), ("authorization", &auth)],
        "",
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "python cancel: {}", r.body);

    // Node: `?cancel=` signed, Host signed with its port.
    let job = python_submit(&app).await;
    let uri = format!("/jobs/{job}?cancel=");
    let auth = authorization(ID, KEY, "PUT", &uri, &[("host", PLAIN_HOST)]);
    let r = send(&app, "PUT", &uri, &[("host", PLAIN_HOST), ("authorization", &auth)], "").await;
    assert_eq!(r.status, StatusCode::OK, "node cancel: {}", r.body);

    // Java: `cancelMediaJob` sends no `?cancel` at all; Host with the port.
    let job = python_submit(&app).await;
    let uri = format!("/jobs/{job}");
    let auth =
        authorization(ID, KEY, "PUT", &uri, &[("host", PLAIN_HOST), ("content-type", "application/xml")]);
    let headers = [("host", PLAIN_HOST), ("content-type", "application/xml"), ("authorization", &auth)];
    let r = send(&app, "PUT", &uri, &headers, "").await;
    assert_eq!(r.status, StatusCode::OK, "java cancel: {}", r.body);
    let auth = authorization(ID, KEY, "GET", &uri, &[("host", PLAIN_HOST)]);
    let r = send(&app, "GET", &uri, &[("host", PLAIN_HOST), ("authorization", &auth)], "").await;
    assert_eq!(r.get("State"), "Cancel");

    // Go: every query parameter signed, empty values included; the bucket's CI host with a port.
    let go_host = format!("{BUCKET}.ci.ap-chongqing.myqcloud.com:8080");
    let uri = "/jobs?nextToken=&orderByTime=Desc&queueId=&size=10&states=All&tag=ImageInspect";
    let auth = authorization(ID, KEY, "GET", uri, &[("host", &go_host)]);
    let r = send(&app, "GET", uri, &[("host", &go_host), ("authorization", &auth)], "").await;
    assert_eq!(r.status, StatusCode::OK, "go list: {}", r.body);
    assert_eq!(r.all("JobId").len(), 3);

    // Python's list: the signed parameter names are lowercased, the URL keeps their case.
    let uri = "/jobs?tag=ImageInspect&orderByTime=Desc&states=All&size=10&nextToken=&startCreationTime=2023-05-01T00%3A00%3A00%2B0800";
    let auth = authorization(ID, KEY, "GET", uri, &[("host", "127.0.0.1")]);
    let r = send(&app, "GET", uri, &[("host", PLAIN_HOST), ("authorization", &auth)], "").await;
    assert_eq!(r.status, StatusCode::OK, "python list: {}", r.body);

    // Headers the client did not sign (User-Agent, x-cos-sdk-retry) may be anything.
    let auth = authorization(ID, KEY, "GET", "/picqueue", &[("host", PLAIN_HOST)]);
    let headers = [("host", PLAIN_HOST), ("authorization", &auth), ("x-cos-sdk-retry", "true")];
    assert_eq!(send(&app, "GET", "/picqueue", &headers, "").await.status, StatusCode::OK);
}

async fn refused(app: &Router, uri: &str, headers: &[(&str, &str)]) -> (StatusCode, String, String) {
    let r: Reply = send(app, "GET", uri, headers, "").await;
    (r.status, r.error_code().to_string(), r.get("Message").to_string())
}

#[sqlx::test(migrator = "stowaway_store::MIGRATOR")]
async fn bad_signatures_get_403_with_the_right_code(pool: PgPool) {
    let app = secured(pool, vec![AccessKey::root(ID, KEY)]);
    let with = |auth: String| vec![("host", PLAIN_HOST.to_string()), ("authorization", auth)];
    let now = chrono::Utc::now().timestamp();
    let signed_at = |start: i64, end: i64, key: &str, id: &str| {
        let headers = [("host".to_string(), PLAIN_HOST.to_string())];
        sign(
            id,
            key,
            start,
            end,
            &SignedParts { method: "GET", path: "/jobs", query: &[], headers: &headers },
        )
        .to_header()
    };
    type Case = (Vec<(&'static str, String)>, &'static str, &'static str);
    let cases: Vec<Case> = vec![
        (vec![("host", PLAIN_HOST.into())], "AccessDenied", "not signed"),
        (with(signed_at(now - 60, now + 60, "wrong", ID)), "SignatureDoesNotMatch", "SecretKey"),
        (with(signed_at(now - 60, now + 60, KEY, "AKIDnobody")), "InvalidAccessKeyId", "not known"),
        (with(signed_at(now - 7200, now - 3600, KEY, ID)), "AccessDenied", "Request has expired"),
        (with(signed_at(now + 3600, now + 7200, KEY, ID)), "RequestTimeTooSkewed", "clock"),
        (with("q-sign-algorithm=md5&q-ak=AKIDtest".into()), "AccessDenied", "malformed"),
        (with("garbage".into()), "AccessDenied", "malformed"),
    ];
    for (headers, code, message) in cases {
        let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (status, got, text) = refused(&app, "/jobs", &headers).await;
        assert_eq!((status, got.as_str()), (StatusCode::FORBIDDEN, code), "{headers:?}: {text}");
        assert!(text.contains(message), "{code}: {text}");
    }

    // Within the allowed clock skew (15 minutes by default) a window that just ended still works.
    let headers = with(signed_at(now - 700, now - 600, KEY, ID));
    let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(send(&app, "GET", "/jobs", &headers, "").await.status, StatusCode::OK);

    // A signed parameter changed after signing.
    let auth = authorization(ID, KEY, "GET", "/jobs?size=1", &[("host", PLAIN_HOST)]);
    let (status, code, _) =
        refused(&app, "/jobs?size=100", &[("host", PLAIN_HOST), ("authorization", &auth)]).await;
    assert_eq!((status, code.as_str()), (StatusCode::FORBIDDEN, "SignatureDoesNotMatch"));
    // Unknown routes are not revealed to strangers.
    let (status, code, _) = refused(&app, "/secret", &[("host", PLAIN_HOST)]).await;
    assert_eq!((status, code.as_str()), (StatusCode::FORBIDDEN, "AccessDenied"));
}

#[sqlx::test(migrator = "stowaway_store::MIGRATOR")]
async fn presigned_urls_carry_the_signature_in_the_query(pool: PgPool) {
    let app = secured(pool, vec![AccessKey::root(ID, KEY)]);
    let job = python_submit(&app).await;
    let path = format!("/jobs/{job}");
    let now = chrono::Utc::now().timestamp();
    let headers = [("host".to_string(), PLAIN_HOST.to_string())];
    let auth = sign(
        ID,
        KEY,
        now,
        now + 300,
        &SignedParts { method: "GET", path: &path, query: &[], headers: &headers },
    );
    let uri = format!("{path}?{}", auth.to_query());
    assert!(query_pairs(&uri).len() > 3);
    let r = send(&app, "GET", &uri, &[("host", PLAIN_HOST)], "").await;
    assert_eq!((r.status, r.get("JobId")), (StatusCode::OK, job.as_str()), "{}", r.body);
    let tampered = uri.replace(&job, "cother");
    let r = send(&app, "GET", &tampered, &[("host", PLAIN_HOST)], "").await;
    assert_eq!((r.status, r.error_code()), (StatusCode::FORBIDDEN, "SignatureDoesNotMatch"));
}

#[sqlx::test(migrator = "stowaway_store::MIGRATOR")]
async fn keys_are_limited_to_buckets_and_actions(pool: PgPool) {
    let reader = AccessKey {
        secret_id: "AKIDreader".into(),
        secret_key: "readerKey".into(),
        buckets: vec![BUCKET.into()],
        actions: vec!["ci:DescribeMediaJob".into(), "ci:DescribeMediaJobs".into()],
    };
    let app = secured(pool, vec![AccessKey::root(ID, KEY), reader]);
    let job = python_submit(&app).await;
    let as_reader = |method: &str, uri: &str, host: &str| {
        let auth = authorization("AKIDreader", "readerKey", method, uri, &[("host", host)]);
        (method.to_string(), uri.to_string(), host.to_string(), auth)
    };
    let allowed = [as_reader("GET", &format!("/jobs/{job}"), HOST), as_reader("GET", "/jobs", PLAIN_HOST)];
    for (method, uri, host, auth) in allowed {
        let r = send(&app, &method, &uri, &[("host", &host), ("authorization", &auth)], "").await;
        assert_eq!(r.status, StatusCode::OK, "{method} {uri}: {}", r.body);
    }
    let other_bucket = "other-1250000000.ci.ap-chongqing.myqcloud.com";
    let denied = [
        as_reader("PUT", &format!("/jobs/{job}"), HOST),
        as_reader("GET", "/jobs", other_bucket),
        as_reader("GET", "/picqueue", HOST),
        as_reader("GET", "/picbucket", PLAIN_HOST),
        as_reader("GET", "/input/test.png?ci-process=ImageInspect", HOST),
    ];
    // An absolute-form request without Host names its bucket in the target: the limits apply
    // to that bucket, the one the handler will act on, not to the default.
    let absolute = format!("http://{other_bucket}/jobs");
    let auth = authorization("AKIDreader", "readerKey", "GET", "/jobs", &[]);
    let r = send(&app, "GET", &absolute, &[("authorization", &auth)], "").await;
    assert_eq!((r.status, r.error_code()), (StatusCode::FORBIDDEN, "AccessDenied"), "{}", r.body);
    for (method, uri, host, auth) in denied {
        let r = send(&app, &method, &uri, &[("host", &host), ("authorization", &auth)], "").await;
        assert_eq!((r.status, r.error_code()), (StatusCode::FORBIDDEN, "AccessDenied"), "{method} {uri}");
        assert!(r.get("Message").contains("AKIDreader"), "{}", r.body);
    }
}

#[test]
fn keys_files_are_checked() {
    let keys = KeyRing::parse_file(
        r#"{"keys": [{"secret_id": "AKIDa", "secret_key": "k", "buckets": ["photos-1250000000"],
                      "actions": ["ci:CreateMediaJobs"]},
                     {"secret_id": "AKIDb", "secret_key": "k2"}]}"#,
    )
    .unwrap();
    assert_eq!(keys[1].buckets, ["*"]);
    assert!(keys[0].allows("ci:CreateMediaJobs", Some("photos-1250000000")));
    assert!(!keys[0].allows("ci:CreateMediaJobs", Some("other-1250000000")));
    assert!(!keys[0].allows("ci:CancelMediaJob", Some("photos-1250000000")));
    assert!(KeyRing::new(keys.clone()).is_ok());
    assert!(KeyRing::new(vec![keys[0].clone(), keys[0].clone()]).unwrap_err().contains("twice"));
    assert!(
        KeyRing::parse_file(r#"{"keys": [{"secret_id": "a", "secret_key": "b", "bucket": []}]}"#).is_err()
    );
    let bad_bucket = AccessKey { buckets: vec!["Not A Bucket".into()], ..keys[0].clone() };
    assert!(KeyRing::new(vec![bad_bucket]).is_err());
}

#[test]
fn every_route_is_named_as_tencents_cam_list_names_it() {
    #[rustfmt::skip]
    let routes: &[(&str, &str, Option<&str>, &str)] = &[
        ("POST", "/jobs", None, "ci:CreateMediaJobs"),
        ("GET", "/jobs", Some("queueId=p1"), "ci:DescribeMediaJobs"),
        ("GET", "/jobs/c1", None, "ci:DescribeMediaJob"),
        ("PUT", "/jobs/c1", None, "ci:CancelMediaJob"),
        ("GET", "/picqueue", None, "ci:DescribePicProcessQueues"),
        ("PUT", "/picqueue/p1", None, "ci:UpdatePicProcessQueue"),
        ("GET", "/picbucket", None, "ci:DescribePicProcessBucket"),
        ("POST", "/picbucket", None, "ci:CreatePicProcessBucket"),
        ("DELETE", "/picbucket", None, "ci:DeletePicProcessBucket"),
        ("GET", "/a.png", Some("ci-process=ImageInspect"), "ci:CreateImageInspectJob"),
        ("POST", "/workflow", None, "ci:CreateMediaWorkflow"),
        ("PUT", "/workflow/w1", Some("active"), "ci:UpdateMediaWorkflow"),
        ("POST", "/triggerworkflow", Some("workflowId=w1&object=a.png"), "ci:TriggerMediaWorkflow"),
        ("POST", "/inventorytriggerjob", None, "ci:CreateInventoryTriggerJob"),
        ("PUT", "/inventorytriggerjob/b1", Some("cancel"), "ci:CancelInventoryTriggerJob"),
    ];
    for (method, path, query, action) in routes {
        let m = axum::http::Method::from_bytes(method.as_bytes()).unwrap();
        assert_eq!(stowaway_api::action_of(&m, path, *query), *action, "{method} {path}");
    }
    // A keys file written with Stowaway's former names keeps working.
    let old = AccessKey {
        secret_id: "AKIDold".into(),
        secret_key: "k".into(),
        buckets: vec!["*".into()],
        actions: vec![
            "ci:DescribeMediaQueues".into(),
            "ci:UpdateMediaQueue".into(),
            "ci:DescribePicProcessBuckets".into(),
        ],
    };
    for action in ["ci:DescribePicProcessQueues", "ci:UpdatePicProcessQueue", "ci:DescribePicProcessBucket"] {
        assert!(old.allows(action, Some(BUCKET)), "{action}");
    }
    assert!(!old.allows("ci:CreateMediaJobs", Some(BUCKET)));
}

#[sqlx::test(migrator = "stowaway_store::MIGRATOR")]
async fn a_key_with_tencents_queue_actions_reads_and_updates_the_queue(pool: PgPool) {
    let operator = AccessKey {
        secret_id: "AKIDqueues".into(),
        secret_key: "queuesKey".into(),
        buckets: vec![BUCKET.into()],
        actions: vec!["ci:DescribePicProcessQueues".into()],
    };
    let app = secured(pool, vec![AccessKey::root(ID, KEY), operator]);
    python_submit(&app).await;
    let auth = authorization("AKIDqueues", "queuesKey", "GET", "/picqueue", &[("host", HOST)]);
    let r = send(&app, "GET", "/picqueue", &[("host", HOST), ("authorization", &auth)], "").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}
