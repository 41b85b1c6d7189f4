//! The operator's console: its refusals over HTTP (no session, a forged or foreign cookie, a
//! missing CSRF token, a read-only key posting), then a real Chromium (Debian's, driven by
//! tests/console/browser.py through chromedriver) signing in, filtering, reading the hidden
//! range in hex, seeing the picture, undoing AutoProcess (checked in S3), pausing and resuming the
//! queue, at desktop and phone widths, with object keys and UserData that carry HTML and script. Screenshots go to target/console-screenshots.
mod common;

use axum::http::StatusCode;
use axum::Router;
use sqlx::PgPool;
use stowaway_api::{router, AccessKey, ApiConfig, AppState, KeyRing};
use stowaway_objects::{Objects, BACKUP_PREFIX};
use stowaway_store::{JobFilter, Store};
use stowaway_testkit::{clean_png, fresh_bucket, png_with_chunk, png_with_ts, zip_stored, S3Server};
use stowaway_wire::{
    BatchInput, BatchKind, BatchSpec, ImageInspectOptions, ProcessType, StartInput, WorkflowSpec,
    WorkflowState,
};

use common::{finished_jobs, send, Reply, ID, KEY};

const XSS_KEY: &str = "up/<img src=x onerror=\"document.title='pwned'\">.png";

fn reader() -> AccessKey {
    AccessKey {
        secret_id: "AKIDreader".into(),
        secret_key: "readerKey".into(),
        buckets: vec!["*".into()],
        actions: vec!["ci:DescribeMediaJobs".into(), "ci:DescribeMediaJob".into()],
    }
}

/// A bucket with five finished jobs (verdicts from the detector, as the worker stores them; the
/// suspicious `up/hls.png` and `up/second.png` moved to the backup folder by AutoProcess) and the router serving it.
async fn fixture(pool: PgPool) -> (Router, String, Objects) {
    let (objects, bucket) = fresh_bucket(S3Server::Strict).await;
    let store = Store::from_pool(pool);
    let files = [
        (XSS_KEY, png_with_ts(30), None),
        ("up/hls.png", png_with_ts(40), Some("BackupObject")),
        ("up/second.png", png_with_ts(25), Some("BackupObject")),
        ("up/clean.png", clean_png(), Some("BackupObject")),
        ("other/clean.png", clean_png(), None),
    ];
    finished_jobs(&store, &objects, &bucket, &files).await;
    let config = ApiConfig {
        keys: Some(KeyRing::new(vec![AccessKey::root(ID, KEY), reader()]).unwrap()),
        ..ApiConfig::default()
    };
    (router(AppState::new(store, config).with_objects(objects.clone())), bucket, objects)
}

async fn sign_in(app: &Router, id: &str, key: &str) -> Reply {
    let body = format!("secret_id={id}&secret_key={key}");
    let headers = [("host", "127.0.0.1"), ("content-type", "application/x-www-form-urlencoded")];
    send(app, "POST", "/console/login", &headers, &body).await
}

fn session(r: &Reply) -> String {
    let cookie = r.headers["set-cookie"].to_str().unwrap();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict") && cookie.contains("Path=/console"),
        "{cookie}"
    );
    cookie.split(';').next().unwrap().to_string()
}

async fn get(app: &Router, uri: &str, cookie: &str) -> Reply {
    send(app, "GET", uri, &[("host", "127.0.0.1"), ("cookie", cookie)], "").await
}

#[sqlx::test(migrator = "stowaway_store::MIGRATOR")]
async fn the_console_refuses_what_it_must(pool: PgPool) {
    let (app, bucket, _) = fixture(pool).await;
    // No session, a forged one, a wrong key.
    for cookie in ["", "stowaway_console=e30.AAAA", "stowaway_console=junk"] {
        let r = get(&app, "/console/jobs", cookie).await;
        assert_eq!(
            (r.status, r.headers["location"].to_str().unwrap()),
            (StatusCode::SEE_OTHER, "/console/login")
        );
    }
    // Signing in from another site's page.
    let headers = [
        ("host", "127.0.0.1"),
        ("origin", "http://evil.example"),
        ("content-type", "application/x-www-form-urlencoded"),
    ];
    let r = send(&app, "POST", "/console/login", &headers, &format!("secret_id={ID}&secret_key={KEY}")).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.headers.get("set-cookie").is_none() && r.body.contains("another site"), "{}", r.body);
    let r = sign_in(&app, ID, "wrong").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.body.contains("Unknown SecretId or wrong SecretKey") && r.headers.get("set-cookie").is_none());

    let root = session(&sign_in(&app, ID, KEY).await);
    let page = get(&app, &format!("/console/jobs?bucket={bucket}"), &root).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.headers["content-security-policy"].to_str().unwrap().starts_with("default-src 'none'"));
    assert!(!page.body.contains("<img src=x") && page.body.contains("&lt;img src=x onerror="), "escaped");
    // A state change without the session's CSRF token, or with another session's.
    let reader_cookie = session(&sign_in(&app, "AKIDreader", "readerKey").await);
    let csrf = |body: &str| {
        body.split("name=\"csrf\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_string()
    };
    let root_csrf = csrf(&page.body);
    let post = |cookie: String, form: String| {
        let app = app.clone();
        let uri = format!("/console/queues/{bucket}");
        async move {
            let headers = [
                ("host", "127.0.0.1"),
                ("cookie", cookie.as_str()),
                ("content-type", "application/x-www-form-urlencoded"),
            ];
            send(&app, "POST", &uri, &headers, &form).await
        }
    };
    assert_eq!(post(root.clone(), "paused=true".into()).await.status, StatusCode::FORBIDDEN);
    assert_eq!(post(root.clone(), "paused=true&csrf=forged".into()).await.status, StatusCode::FORBIDDEN);
    // The read-only key sees no button and is refused if it posts anyway, with its own token.
    let reader_page = get(&app, &format!("/console/jobs?bucket={bucket}"), &reader_cookie).await;
    assert!(!reader_page.body.contains("Pause the queue"), "{}", reader_page.body);
    let reader_csrf = csrf(&reader_page.body);
    assert_ne!(reader_csrf, root_csrf);
    let r = post(reader_cookie.clone(), format!("paused=true&csrf={reader_csrf}")).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.body.contains("ci:UpdatePicProcessQueue"), "{}", r.body);
    assert_eq!(
        post(reader_cookie, format!("paused=true&csrf={root_csrf}")).await.status,
        StatusCode::FORBIDDEN
    );
    let r = post(root.clone(), format!("paused=true&csrf={root_csrf}")).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(get(&app, &format!("/console/jobs?bucket={bucket}"), &root).await.body.contains(">Paused<"));
}

#[sqlx::test(migrator = "stowaway_store::MIGRATOR")]
async fn a_job_page_shows_every_finding_in_the_object(pool: PgPool) {
    let (objects, bucket) = fresh_bucket(S3Server::Strict).await;
    let store = Store::from_pool(pool);
    // A ZIP in a private chunk, then HLS video after the picture: the verdict keeps the first.
    let mut two = png_with_chunk(b"prVt", &zip_stored("a.txt", b"inside the picture's structure"));
    let zip_at = clean_png().len() - 12 + 8;
    let ts_at = two.len();
    two.extend(png_with_ts(12).split_off(clean_png().len()));
    finished_jobs(&store, &objects, &bucket, &[("up/two.png", two.clone(), None)]).await;
    let config = ApiConfig {
        keys: Some(KeyRing::new(vec![AccessKey::root(ID, KEY)]).unwrap()),
        ..ApiConfig::default()
    };
    let app = router(AppState::new(store.clone(), config).with_objects(objects));
    let job = store
        .list_jobs(&JobFilter { bucket: bucket.clone(), limit: 1, ..JobFilter::default() })
        .await
        .unwrap();
    let root = session(&sign_in(&app, ID, KEY).await);
    let page = get(&app, &format!("/console/jobs/{bucket}/{}", job[0].job_id), &root).await.body;
    assert!(page.contains("finds 2 payloads"), "{page}");
    let zip_row = format!("<td>ZIP</td><td>inside chunk prVt</td><td>{zip_at}–");
    assert!(page.contains(&zip_row), "{zip_row} in {page}");
    let ts_row = format!("<td>MPEG-TS</td><td>after image</td><td>{ts_at}–{}</td>", two.len() - 1);
    assert!(page.contains(&ts_row), "{ts_row} in {page}");
    assert_eq!(page.matches("<pre class=\"hex\">").count(), 2, "a hex view for each");
    assert!(page.contains(&format!("the picture ends at byte {}", ts_at - 1)), "{page}");
}

#[sqlx::test(migrator = "stowaway_store::MIGRATOR")]
async fn a_dead_callback_is_resent_from_the_job_page(pool: PgPool) {
    let store = Store::from_pool(pool.clone());
    let (app, bucket, _) = fixture(pool.clone()).await;
    let job = store
        .list_jobs(&JobFilter {
            bucket: bucket.clone(),
            object_prefix: Some("up/hls".into()),
            limit: 1,
            ..JobFilter::default()
        })
        .await
        .unwrap()
        .remove(0);
    let root = session(&sign_in(&app, ID, KEY).await);
    let page_uri = format!("/console/jobs/{bucket}/{}", job.job_id);
    let page = get(&app, &page_uri, &root).await;
    assert!(
        page.body.contains("Pending after 0 attempts") && !page.body.contains(">Resend<"),
        "still due: no resend"
    );
    sqlx::query("UPDATE deliveries SET state = 3, attempt = 2 WHERE job_id = $1")
        .bind(job.id)
        .execute(&pool)
        .await
        .unwrap();
    let page = get(&app, &page_uri, &root).await;
    assert!(page.body.contains("Dead after 2 attempts") && page.body.contains(">Resend<"), "{}", page.body);
    let reader = session(&sign_in(&app, "AKIDreader", "readerKey").await);
    assert!(!get(&app, &page_uri, &reader).await.body.contains(">Resend<"), "a read-only key sees no button");
    let field = |name: &str| {
        page.body
            .split(&format!("name=\"{name}\" value=\""))
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .to_string()
    };
    let form = format!("csrf={}&webhook={}", field("csrf"), field("webhook"));
    let headers = [
        ("host", "127.0.0.1"),
        ("cookie", root.as_str()),
        ("content-type", "application/x-www-form-urlencoded"),
    ];
    let r = send(&app, "POST", &format!("{page_uri}/resend"), &headers, &form).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let deliveries = store.deliveries_of_job(&bucket, &job.job_id).await.unwrap().unwrap();
    assert_eq!(deliveries[0].state, stowaway_store::DeliveryState::Pending, "sent again");
}

#[sqlx::test(migrator = "stowaway_store::MIGRATOR")]
async fn workflows_batches_and_time_filters(pool: PgPool) {
    let store = Store::from_pool(pool.clone());
    let (app, bucket, _) = fixture(pool).await;
    let spec = WorkflowSpec {
        name: "<b>uploads</b>".into(),
        state: Some(WorkflowState::Active),
        node_name: "ImageInspectNode".into(),
        start: StartInput { object_prefix: "up/".into(), ..StartInput::default() },
        inspect: ImageInspectOptions { auto_process: true, process_type: ProcessType::BackupObject },
    };
    let workflow = store.create_workflow(&bucket, &spec).await.unwrap();
    let batch = BatchSpec::new("sweep", BatchKind::Job, BatchInput::Prefix("other/".into()));
    store.create_batch(&bucket, "ap-chongqing", &batch).await.unwrap();
    let root = session(&sign_in(&app, ID, KEY).await);
    let page = get(&app, &format!("/console/triggers?bucket={bucket}"), &root).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.body.contains("&lt;b&gt;uploads&lt;/b&gt;") && page.body.contains("BackupObject"),
        "{}",
        page.body
    );
    assert!(page.body.contains(&format!("workflow={}", workflow.workflow_id)), "links to its runs");
    assert!(
        page.body.contains("sweep") && page.body.contains("other/…") && page.body.contains("Submitted"),
        "{}",
        page.body
    );
    // The reader may list jobs, not workflows or batches: the page has neither table.
    let reader_cookie = session(&sign_in(&app, "AKIDreader", "readerKey").await);
    let page = get(&app, &format!("/console/triggers?bucket={bucket}"), &reader_cookie).await;
    assert!(
        !page.body.contains("id=\"workflows\"") && !page.body.contains("id=\"batches\""),
        "{}",
        page.body
    );
    // Time: every job was made a moment ago.
    let later = (chrono::Utc::now() + chrono::Duration::hours(1)).format("%Y-%m-%dT%H:%M");
    let earlier = (chrono::Utc::now() - chrono::Duration::hours(1)).format("%Y-%m-%dT%H:%M");
    let none = get(&app, &format!("/console/jobs?bucket={bucket}&from={later}"), &root).await;
    assert!(none.body.contains("No job matches."), "{}", none.body);
    let all = get(&app, &format!("/console/jobs?bucket={bucket}&from={earlier}&to={later}"), &root).await;
    assert_eq!(all.body.matches("<tr><td class=\"key\">").count(), 5, "{}", all.body);
    let runs =
        get(&app, &format!("/console/jobs?bucket={bucket}&workflow={}", workflow.workflow_id), &root).await;
    assert!(runs.body.contains("No job matches.") && runs.body.contains("Runs of workflow"), "{}", runs.body);
}

#[sqlx::test(migrator = "stowaway_store::MIGRATOR")]
async fn chromium_signs_in_filters_reads_the_hex_and_pauses(pool: PgPool) {
    let (app, bucket, objects) = fixture(pool).await;
    assert!(objects.exists(&bucket, &format!("{BACKUP_PREFIX}up/hls.png")).await.unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/console/browser.py");
    let shots = concat!(env!("CARGO_MANIFEST_DIR"), "/../../target/console-screenshots");
    let (base, bucket_arg) = (format!("http://127.0.0.1:{port}"), bucket.clone());
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new("python3")
            .args([script, "--base", &base, "--bucket", &bucket_arg, "--screenshots", shots])
            .args(["--secret-id", ID, "--secret-key", KEY, "--xss-key", XSS_KEY])
            .args(["--reader-id", "AKIDreader", "--reader-key", "readerKey"])
            .output()
            .expect("python3 (scripts/install-services.sh installs selenium, chromium and chromium-driver)")
    })
    .await
    .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && text.contains("console: all steps worked"), "{text}");
    server.abort();
    // The undo the browser clicked: the picture back at its key, the backup gone.
    assert!(objects.exists(&bucket, "up/hls.png").await.unwrap(), "restored");
    assert!(!objects.exists(&bucket, &format!("{BACKUP_PREFIX}up/hls.png")).await.unwrap(), "backup removed");
}
