//! The HTTP API against a real PostgreSQL (one database per test), driven through the router the
//! server runs: the seed document byte for byte, each route and SDK quirk, and bad input.
mod common;

use axum::http::StatusCode;
use axum::Router;
use sqlx::PgPool;
use stowaway_api::ApiConfig;
use stowaway_testkit::SEED_REQUEST;

use common::{app, call, element, HOST};

async fn submit(app: &Router, object: &str, level: u8) -> String {
    let body =
        SEED_REQUEST.replace("input/test.png", object).replace("<JobLevel>0", &format!("<JobLevel>{level}"));
    let r = call(app, "POST", "/jobs", Some(HOST), &body).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.get("JobId").to_string()
}

#[sqlx::test(migrator = "stowaway_store::MIGRATOR")]
async fn the_seed_request_gets_the_seed_response(pool: PgPool) {
    let app = app(pool, ApiConfig::default());
    let r = call(&app, "POST", "/jobs", Some(HOST), SEED_REQUEST).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.headers["content-type"], "application/xml");
    assert_eq!(r.headers["server"], "stowaway", "README: the Server header");
    let job_id = r.get("JobId");
    assert!(
        job_id.len() == 33 && job_id.starts_with('c') && job_id[1..].bytes().all(|b| b.is_ascii_hexdigit())
    );
    let queue_id = r.get("QueueId");
    assert!(queue_id.len() == 33 && queue_id.starts_with('p'));
    let created = r.get("CreationTime");
    assert!(
        chrono::DateTime::parse_from_str(created, "%Y-%m-%dT%H:%M:%S%z").is_ok()
            && created.ends_with("+0800")
    );
    // The seed's response element for element, with this job's id, queue and time.
    let expected = format!(
        "<Response><JobsDetail><Code>Success</Code><Message/><JobId>{job_id}</JobId><State>Submitted</State>\
         <CreationTime>{created}</CreationTime><StartTime>-</StartTime><EndTime>-</EndTime>\
         <QueueId>{queue_id}</QueueId><Tag>ImageInspect</Tag><Input><BucketId>test-123456789</BucketId>\
         <Object>input/test.png</Object><Region>ap-chongqing</Region></Input><Operation>\
         <UserData>This is my data.</UserData><JobLevel>0</JobLevel></Operation></JobsDetail></Response>"
    );
    assert_eq!(r.body.replace("<Message></Message>", "<Message/>"), expected);
}

#[sqlx::test(migrator = "stowaway_store::MIGRATOR")]
async fn jobs_are_queried_by_id_per_bucket(pool: PgPool) {
    let app = app(pool, ApiConfig::default());
    let a = submit(&app, "a.png", 0).await;
    let b = submit(&app, "b.png", 2).await;
    let r = call(&app, "GET", &format!("/jobs/{b},cmissing,{a}"), Some(HOST), "").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.all("JobId"), [b.as_str(), a.as_str()]);
    assert_eq!(r.all("NonExistJobIds"), ["cmissing"]);
    assert_eq!(r.all("JobLevel"), ["2", "0"]);
    let all_exist = call(&app, "GET", &format!("/jobs/{a}"), Some(HOST), "").await;
    assert!(!all_exist.body.contains("NonExistJobIds"), "omitted when all exist");
    let other =
        call(&app, "GET", &format!("/jobs/{a}"), Some("other-1250000000.ci.ap-chongqing.myqcloud.com"), "")
            .await;
    assert_eq!((other.status, other.all("NonExistJobIds")), (StatusCode::OK, vec![a.as_str()]));
}

#[sqlx::test(migrator = "stowaway_store::MIGRATOR")]
async fn lists_page_with_next_token_and_ignore_empty_values(pool: PgPool) {
    let app = app(pool, ApiConfig::default());
    let mut ids = Vec::new();
    for n in 0..5 {
        ids.push(submit(&app, &format!("{n}.png"), 0).await);
    }
    // What Python's SDK sends: empty nextToken always, `+` escaped.
    let mut seen = Vec::new();
    let mut token = String::new();
    loop {
        let uri = format!(
            "/jobs?tag=ImageInspect&orderByTime=Desc&states=All&size=2&nextToken={token}&startCreationTime=2023-05-01T00%3A00%3A00%2B0800"
        );
        let r = call(&app, "GET", &uri, Some(HOST), "").await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        seen.extend(r.all("JobId").into_iter().map(String::from));
        token = element(&r.body, "NextToken").unwrap_or_default().to_string();
        if token.is_empty() {
            break;
        }
    }
    ids.reverse();
    assert_eq!(seen, ids);
    let asc = call(
        &app,
        "GET",
        "/jobs?tag=ImageInspect&orderByTime=Asc&size=100&inputObject=3.png",
        Some(HOST),
        "",
    )
    .await;
    assert_eq!(asc.all("JobId"), [ids[1].as_str()]);
    let success = call(&app, "GET", "/jobs?tag=ImageInspect&states=Success,Failed", Some(HOST), "").await;
    assert!(success.all("JobId").is_empty());
    let future = call(
        &app,
        "GET",
        "/jobs?tag=ImageInspect&startCreationTime=2999-01-01T00:00:00%2B0800",
        Some(HOST),
        "",
    )
    .await;
    assert!(future.all("JobId").is_empty());
    let other_tag = call(&app, "GET", "/jobs?tag=Transcode", Some(HOST), "").await;
    assert!(other_tag.all("JobId").is_empty());
}

#[sqlx::test(migrator = "stowaway_store::MIGRATOR")]
async fn cancel_with_and_without_the_cancel_parameter(pool: PgPool) {
    let app = app(pool.clone(), ApiConfig::default());
    let a = submit(&app, "a.png", 0).await;
    let b = submit(&app, "b.png", 0).await;
    let r = call(&app, "PUT", &format!("/jobs/{a}?cancel"), Some(HOST), "").await;
    assert_eq!((r.status, r.body.as_str()), (StatusCode::OK, ""));
    let java = call(&app, "PUT", &format!("/jobs/{b}"), Some(HOST), "").await; // Java sends no ?cancel
    assert_eq!(java.status, StatusCode::OK);
    let q = call(&app, "GET", &format!("/jobs/{a},{b}"), Some(HOST), "").await;
    assert_eq!(q.all("State"), ["Cancel", "Cancel"]);
    assert_ne!(q.all("EndTime")[0], "-");
    // A job whose AutoProcess is under way (a checkpointed verdict) is refused, clearly; one that
    // runs but has not acted is marked, and its worker ends it Cancel; an unknown one is 404.
    let c = submit(&app, "c.png", 0).await;
    sqlx::query("UPDATE jobs SET state = 1, result = '{}' WHERE job_id = $1")
        .bind(&c)
        .execute(&pool)
        .await
        .unwrap();
    let acting = call(&app, "PUT", &format!("/jobs/{c}?cancel="), Some(HOST), "").await;
    assert_eq!((acting.status, acting.get("Code")), (StatusCode::BAD_REQUEST, "InvalidArgument"));
    assert!(acting.get("Message").contains("is Running and AutoProcess is acting"), "{}", acting.body);
    let e = submit(&app, "e.png", 0).await;
    sqlx::query("UPDATE jobs SET state = 1 WHERE job_id = $1").bind(&e).execute(&pool).await.unwrap();
    let running = call(&app, "PUT", &format!("/jobs/{e}?cancel"), Some(HOST), "").await;
    assert_eq!(running.status, StatusCode::OK, "{}", running.body);
    let marked: (i16, bool) = sqlx::query_as("SELECT state, cancel_requested FROM jobs WHERE job_id = $1")
        .bind(&e)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(marked, (1, true), "still Running until its worker completes it");
    let unknown = call(&app, "PUT", "/jobs/cnothere?cancel", Some(HOST), "").await;
    assert_eq!((unknown.status, unknown.get("Code")), (StatusCode::NOT_FOUND, "NoSuchJob"));
    // A job waiting out a storage outage (Retrying) is shown, found and cancelled as Submitted.
    let d = submit(&app, "d.png", 0).await;
    sqlx::query("UPDATE jobs SET state = 6 WHERE job_id = $1").bind(&d).execute(&pool).await.unwrap();
    let listed = call(&app, "GET", "/jobs?tag=ImageInspect&states=Submitted", Some(HOST), "").await;
    assert_eq!((listed.all("JobId"), listed.all("State")), (vec![d.as_str()], vec!["Submitted"]));
    let r = call(&app, "PUT", &format!("/jobs/{d}?cancel"), Some(HOST), "").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}

#[sqlx::test(migrator = "stowaway_store::MIGRATOR")]
async fn an_idempotency_key_sent_again_answers_with_the_first_job(pool: PgPool) {
    let app = app(pool.clone(), ApiConfig::default());
    let body = |object: &str| SEED_REQUEST.replace("input/test.png", object);
    let post = |key: &'static str, body: String| {
        let app = app.clone();
        async move {
            common::send(&app, "POST", "/jobs", &[("host", HOST), ("idempotency-key", key)], &body).await
        }
    };
    let first = post("upload-7", body("a.png")).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    sqlx::query("UPDATE jobs SET state = 2 WHERE job_id = $1")
        .bind(first.get("JobId"))
        .execute(&pool)
        .await
        .unwrap();
    let again = post("upload-7", body("a.png")).await;
    assert_eq!((again.status, again.get("JobId")), (StatusCode::OK, first.get("JobId")));
    assert_eq!(again.get("State"), "Success", "the first job as it is now");
    // Two repeats racing each other make one job.
    let (x, y) = tokio::join!(post("upload-8", body("b.png")), post("upload-8", body("b.png")));
    assert_eq!((x.status, y.status), (StatusCode::OK, StatusCode::OK), "{} {}", x.body, y.body);
    assert_eq!(x.get("JobId"), y.get("JobId"));
    // The key with another request is refused; without a key every submit is a new job.
    let other = post("upload-7", body("c.png")).await;
    assert_eq!((other.status, other.get("Code")), (StatusCode::CONFLICT, "IdempotentParameterMismatch"));
    assert!(other.get("Message").contains(first.get("JobId")), "{}", other.body);
    let bad = post("has space", body("a.png")).await;
    assert_eq!((bad.status, bad.get("Code")), (StatusCode::BAD_REQUEST, "InvalidArgument"));
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM jobs").fetch_one(&pool).await.unwrap();
    assert_eq!(count, 2);
    submit(&app, "a.png", 0).await;
    submit(&app, "a.png", 0).await;
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM jobs").fetch_one(&pool).await.unwrap();
    assert_eq!(count, 4);
}

#[sqlx::test(migrator = "stowaway_store::MIGRATOR")]
async fn pausing_the_queue_holds_jobs_and_resuming_releases_them(pool: PgPool) {
    let app = app(pool, ApiConfig::default());
    let r = call(&app, "GET", "/picqueue?queueIds=&state=All&pageNumber=&pageSize=", Some(HOST), "").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!((r.get("TotalCount"), r.get("Name"), r.get("State")), ("1", "queue-pic-process-1", "Active"));
    assert_eq!(r.get("Category"), "PicProcessing");
    let queue_id = r.get("QueueId").to_string();
    let before = submit(&app, "before.png", 0).await;
    let pause = format!(
        "<Request><Name>my-queue</Name><QueueID>{queue_id}</QueueID><State>Paused</State><NotifyConfig>\
         <State>On</State><Url>http://callbacks.example.com/cb</Url><Type>Url</Type><Event>TaskFinish</Event>\
         <ResultFormat>JSON</ResultFormat></NotifyConfig></Request>"
    );
    let p = call(&app, "PUT", &format!("/picqueue/{queue_id}"), Some(HOST), &pause).await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.body);
    assert_eq!((p.get("Name"), p.get("ResultFormat")), ("my-queue", "JSON"));
    let during = submit(&app, "during.png", 0).await;
    let q = call(&app, "GET", &format!("/jobs/{before},{during}"), Some(HOST), "").await;
    assert_eq!(q.all("State"), ["Pause", "Pause"]);
    let paused_only = call(&app, "GET", "/picqueue?state=Paused", Some(HOST), "").await;
    assert_eq!(paused_only.get("TotalCount"), "1");
    // The JS docs send POST; the notify config is kept when not given.
    let resume = "<Request><State>Active</State></Request>";
    let r = call(&app, "POST", &format!("/picqueue/{queue_id}"), Some(HOST), resume).await;
    assert_eq!(
        (r.status, r.get("State"), r.get("Url")),
        (StatusCode::OK, "Active", "http://callbacks.example.com/cb")
    );
    let q = call(&app, "GET", &format!("/jobs/{before},{during}"), Some(HOST), "").await;
    assert_eq!(q.all("State"), ["Submitted", "Submitted"]);
    let wrong = call(&app, "PUT", "/picqueue/pnothere", Some(HOST), resume).await;
    assert_eq!((wrong.status, wrong.get("Code")), (StatusCode::NOT_FOUND, "NoSuchQueue"));
    let missing = call(&app, "GET", "/picqueue?queueIds=pnothere", Some(HOST), "").await;
    assert_eq!((missing.get("TotalCount"), missing.get("NonExistPIDs")), ("0", "pnothere"));
}

#[sqlx::test(migrator = "stowaway_store::MIGRATOR")]
async fn activation_turns_buckets_on_and_off(pool: PgPool) {
    let strict = ApiConfig { require_activation: true, ..ApiConfig::default() };
    let app = app(pool, strict);
    let refused = call(&app, "POST", "/jobs", Some(HOST), SEED_REQUEST).await;
    assert_eq!((refused.status, refused.get("Code")), (StatusCode::FORBIDDEN, "AccessDenied"));
    assert!(refused.get("Message").contains("POST /picbucket"));
    let on = call(&app, "POST", "/picbucket", Some(HOST), "").await;
    assert_eq!(
        (on.status, on.get("BucketId"), on.get("Region")),
        (StatusCode::OK, "test-123456789", "ap-chongqing")
    );
    submit(&app, "a.png", 0).await;
    let list = call(
        &app,
        "GET",
        "/picbucket?regions=ap-chongqing&bucketNames=&bucketName=&pageNumber=&pageSize=",
        Some("ci.ap-chongqing.myqcloud.com"),
        "",
    )
    .await;
    assert_eq!((list.get("TotalCount"), list.get("Name")), ("1", "test-123456789"));
    let by_prefix =
        call(&app, "GET", "/picbucket?bucketName=test-1", Some("ci.ap-chongqing.myqcloud.com"), "").await;
    assert_eq!(by_prefix.get("TotalCount"), "1", "bucketName searches by prefix");
    let elsewhere =
        call(&app, "GET", "/picbucket?regions=ap-beijing", Some("ci.ap-chongqing.myqcloud.com"), "").await;
    assert_eq!(elsewhere.get("TotalCount"), "0");
    let off = call(&app, "DELETE", "/picbucket", Some(HOST), "").await;
    assert_eq!(off.status, StatusCode::OK);
    let after = call(&app, "POST", "/jobs", Some(HOST), SEED_REQUEST).await;
    assert_eq!(after.status, StatusCode::FORBIDDEN);
    let none = call(&app, "GET", "/picbucket", Some("ci.ap-chongqing.myqcloud.com"), "").await;
    assert_eq!(none.get("TotalCount"), "0");
}

#[sqlx::test(migrator = "stowaway_store::MIGRATOR")]
async fn a_default_bucket_serves_plain_hosts(pool: PgPool) {
    let app_without = app(pool.clone(), ApiConfig::default());
    let r = call(&app_without, "POST", "/jobs", Some("127.0.0.1:8080"), SEED_REQUEST).await;
    assert_eq!((r.status, r.get("Code")), (StatusCode::BAD_REQUEST, "InvalidArgument"));
    assert!(r.get("Message").contains("STOWAWAY_DEFAULT_BUCKET"));
    let config = ApiConfig {
        default_bucket: Some("examplebucket-1250000000".into()),
        default_region: "ap-beijing".into(),
        ..ApiConfig::default()
    };
    let with = app(pool, config);
    let r = call(&with, "POST", "/jobs", Some("127.0.0.1:8080"), SEED_REQUEST).await;
    assert_eq!(
        (r.status, r.get("BucketId"), r.get("Region")),
        (StatusCode::OK, "examplebucket-1250000000", "ap-beijing")
    );
    // The COS host form (Python's IP mode) names the bucket too.
    let cos = call(
        &with,
        "POST",
        "/jobs",
        Some("examplebucket-1250000000.cos.ap-chongqing.myqcloud.com"),
        SEED_REQUEST,
    )
    .await;
    assert_eq!(cos.get("Region"), "ap-chongqing");
}

#[sqlx::test(migrator = "stowaway_store::MIGRATOR")]
async fn bad_requests_get_clear_tencent_errors(pool: PgPool) {
    let app = app(pool, ApiConfig { body_limit: 4096, ..ApiConfig::default() });
    let long = "x".repeat(1025);
    let cases: Vec<(&str, String, String, StatusCode, &str, &str)> = vec![
        (
            "POST",
            "/jobs".into(),
            "<Request><Tag>ImageInspect".into(),
            StatusCode::BAD_REQUEST,
            "MalformedXML",
            "not the expected XML",
        ),
        (
            "POST",
            "/jobs".into(),
            SEED_REQUEST.replace("<Tag>ImageInspect", "<Tag>Snapshot"),
            StatusCode::BAD_REQUEST,
            "InvalidArgument",
            "Tag must be ImageInspect",
        ),
        (
            "POST",
            "/jobs".into(),
            SEED_REQUEST.replace("<Object>input/test.png</Object>", ""),
            StatusCode::BAD_REQUEST,
            "InvalidArgument",
            "Input/Object is required",
        ),
        (
            "POST",
            "/jobs".into(),
            SEED_REQUEST.replace("<JobLevel>0", "<JobLevel>7"),
            StatusCode::BAD_REQUEST,
            "InvalidArgument",
            "JobLevel",
        ),
        (
            "POST",
            "/jobs".into(),
            SEED_REQUEST.replace("This is my data.", "a\u{1}b"),
            StatusCode::BAD_REQUEST,
            "InvalidArgument",
            "printable ASCII",
        ),
        (
            "POST",
            "/jobs".into(),
            SEED_REQUEST.replace("This is my data.", &long),
            StatusCode::BAD_REQUEST,
            "InvalidArgument",
            "1024",
        ),
        ("POST", "/jobs".into(), "".into(), StatusCode::BAD_REQUEST, "MissingRequestBodyError", "empty"),
        (
            "POST",
            "/jobs".into(),
            "x".repeat(5000),
            StatusCode::PAYLOAD_TOO_LARGE,
            "EntityTooLarge",
            "too large",
        ),
        (
            "GET",
            "/nothing/here".into(),
            "".into(),
            StatusCode::NOT_FOUND,
            "NoSuchResource",
            "GET /nothing/here",
        ),
        ("DELETE", "/jobs".into(), "".into(), StatusCode::METHOD_NOT_ALLOWED, "MethodNotAllowed", "DELETE"),
        (
            "GET",
            "/jobs?size=101".into(),
            "".into(),
            StatusCode::BAD_REQUEST,
            "InvalidArgument",
            "size must be 1 to 100",
        ),
        (
            "GET",
            "/jobs?orderByTime=Sideways".into(),
            "".into(),
            StatusCode::BAD_REQUEST,
            "InvalidArgument",
            "orderByTime",
        ),
        ("GET", "/jobs?states=Done".into(), "".into(), StatusCode::BAD_REQUEST, "InvalidArgument", "states"),
        (
            "GET",
            "/jobs?nextToken=garbage".into(),
            "".into(),
            StatusCode::BAD_REQUEST,
            "InvalidArgument",
            "nextToken",
        ),
        (
            "GET",
            "/jobs?startCreationTime=yesterday".into(),
            "".into(),
            StatusCode::BAD_REQUEST,
            "InvalidArgument",
            "startCreationTime",
        ),
        (
            "GET",
            format!("/jobs/{}", ["c1"; 101].join(",")),
            "".into(),
            StatusCode::BAD_REQUEST,
            "InvalidArgument",
            "at most 100",
        ),
        (
            "PUT",
            format!("/jobs/{}?cancel", ["c1"; 11].join(",")),
            "".into(),
            StatusCode::BAD_REQUEST,
            "InvalidArgument",
            "at most 10",
        ),
        (
            "PUT",
            "/picqueue/p1".into(),
            "<Request><State>Asleep</State></Request>".into(),
            StatusCode::BAD_REQUEST,
            "InvalidArgument",
            "State must be",
        ),
        (
            "GET",
            "/picqueue?pageSize=500".into(),
            "".into(),
            StatusCode::BAD_REQUEST,
            "InvalidArgument",
            "pageSize",
        ),
    ];
    for (method, uri, body, status, code, words) in cases {
        let r = call(&app, method, &uri, Some(HOST), &body).await;
        let what = format!("{method} {uri}: {}", r.body);
        assert_eq!(
            (r.status, r.headers["content-type"].to_str().unwrap()),
            (status, "application/xml"),
            "{what}"
        );
        assert!(r.body.starts_with("<?xml") && r.body.contains("<Error>"), "{what}");
        assert_eq!(r.get("Code"), code, "{what}");
        assert!(r.get("Message").contains(words), "{what}");
        for tag in ["Resource", "RequestId", "TraceId"] {
            assert!(!r.get(tag).is_empty(), "{what}");
        }
        assert_eq!(r.get("RequestId"), r.headers["x-ci-request-id"], "{what}");
        assert!(r.headers.contains_key("x-ci-trace-id"), "{what}");
    }
}

#[test]
fn hosts_name_buckets_and_regions() {
    use stowaway_api::{bucket_from_host, Target};
    let t = |b: &str, r: &str| Some(Target { bucket: b.into(), region: r.into() });
    let cases = [
        (
            "examplebucket-1250000000.ci.ap-chongqing.myqcloud.com",
            t("examplebucket-1250000000", "ap-chongqing"),
        ),
        (
            "examplebucket-1250000000.cos.ap-beijing.myqcloud.com:8080",
            t("examplebucket-1250000000", "ap-beijing"),
        ),
        ("my.dotted.bucket.pic.eu-1.example.org", t("my.dotted.bucket", "eu-1")),
        ("b-1.ci.local.localhost:9000", t("b-1", "local")),
        ("ci.ap-chongqing.myqcloud.com", None),
        ("127.0.0.1:8080", None),
        ("localhost", None),
        ("UPPER-1.ci.ap-x.com", None),
        ("examplebucket-1.ci.", None),
    ];
    for (host, want) in cases {
        assert_eq!(bucket_from_host(host), want, "{host}");
    }
}

#[sqlx::test(migrator = "stowaway_store::MIGRATOR")]
async fn undeliverable_callbacks_are_refused_at_submit(pool: PgPool) {
    let public_only = app(pool.clone(), ApiConfig::default());
    let with_callback = |url: &str| SEED_REQUEST.replace("http://callback.demo.com", url);
    for url in [
        "http://10.0.0.8/cb",
        "http://169.254.169.254/latest/meta-data",
        "http://localhost:8080/cb",
        "http://[::1]/cb",
        "http://[::ffff:192.168.0.1]/cb",
        "http://100.64.0.1/cb",
        "http://2130706433/cb",
        "gopher://callback.demo.com/",
    ] {
        let r = call(&public_only, "POST", "/jobs", Some(HOST), &with_callback(url)).await;
        assert_eq!(
            (r.status, r.get("Code")),
            (StatusCode::BAD_REQUEST, "InvalidArgument"),
            "{url}: {}",
            r.body
        );
        assert!(r.get("Message").starts_with("CallBack"), "{url}: {}", r.body);
    }
    // Names are judged when the notifier connects (DNS may change), so they pass here.
    let r =
        call(&public_only, "POST", "/jobs", Some(HOST), &with_callback("https://hooks.example.com/cb")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);

    let tdmq = SEED_REQUEST.replace(
        "<CallBackFormat>JSON</CallBackFormat>",
        "<CallBackFormat>JSON</CallBackFormat><CallBackType>TDMQ</CallBackType>\
         <CallBackMqConfig><MqRegion>gz</MqRegion><MqMode>Queue</MqMode><MqName>jobs</MqName></CallBackMqConfig>",
    );
    let r = call(&public_only, "POST", "/jobs", Some(HOST), &tdmq).await;
    assert_eq!((r.status, r.get("Code")), (StatusCode::BAD_REQUEST, "InvalidArgument"), "{}", r.body);
    assert!(r.get("Message").contains("STOWAWAY_KAFKA_BROKERS"), "{}", r.body);

    let queue = call(&public_only, "GET", "/picqueue", Some(HOST), "").await.get("QueueId").to_string();
    for notify in [
        "<Url>http://192.168.1.1/cb</Url><Type>Url</Type>",
        "<Type>TDMQ</Type><MqMode>Queue</MqMode><MqRegion>gz</MqRegion><MqName>jobs</MqName>",
    ] {
        let body = format!(
            "<Request><Name>q</Name><State>Active</State><NotifyConfig><State>On</State>{notify}\
             <Event>TaskFinish</Event><ResultFormat>XML</ResultFormat></NotifyConfig></Request>"
        );
        let r = call(&public_only, "PUT", &format!("/picqueue/{queue}"), Some(HOST), &body).await;
        assert_eq!(
            (r.status, r.get("Code")),
            (StatusCode::BAD_REQUEST, "InvalidArgument"),
            "{notify}: {}",
            r.body
        );
        assert!(r.get("Message").starts_with("NotifyConfig"), "{}", r.body);
    }

    // A private deployment lifts both.
    let private = app(
        pool,
        ApiConfig {
            callback_addresses: stowaway_wire::AddressPolicy::allow_private(),
            kafka_enabled: true,
            ..ApiConfig::default()
        },
    );
    for body in [with_callback("http://10.0.0.8/cb"), tdmq] {
        let r = call(&private, "POST", "/jobs", Some(HOST), &body).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    }
}

#[sqlx::test(migrator = "stowaway_store::MIGRATOR")]
async fn callback_log_of_unknown_or_quiet_jobs(pool: PgPool) {
    let app = app(pool, ApiConfig::default());
    let r = call(&app, "GET", "/jobs/cnosuchjob/callbacks", Some(HOST), "").await;
    assert_eq!((r.status, r.get("Code")), (StatusCode::NOT_FOUND, "NoSuchJob"), "{}", r.body);
    let id = submit(&app, "a.png", 0).await;
    let r = call(&app, "GET", &format!("/jobs/{id}/callbacks"), Some(HOST), "").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.get("JobId"), id);
    assert!(r.body.contains("<Callbacks/>") || r.body.contains("<Callbacks></Callbacks>"), "{}", r.body);
    let r = call(
        &app,
        "POST",
        &format!("/jobs/{id}/callbacks/msg_00000000000000000000000000000000/resend"),
        Some(HOST),
        "",
    )
    .await;
    assert_eq!((r.status, r.get("Code")), (StatusCode::NOT_FOUND, "NoSuchCallback"), "{}", r.body);
}
