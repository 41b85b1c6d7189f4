//! Url callbacks against a real HTTP receiver on loopback and a real PostgreSQL: Tencent's
//! bodies byte for byte, the selection rules, retries (500s, 429 + Retry-After, 410, a hanging
//! or absent receiver), resend, signatures, several notifiers, and the SSRF guard.
mod common;

use std::time::Duration;

use base64::Engine;
use common::*;
use hmac::{Hmac, Mac};
use sqlx::PgPool;
use stowaway_notifier::{AddressPolicy, NotifierConfig, RetrySchedule, Signer};
use stowaway_testkit::receiver::{Receiver, Reply};

const MIGRATOR: &sqlx::migrate::Migrator = &stowaway_store::MIGRATOR;
const WAIT: Duration = Duration::from_secs(10);

#[sqlx::test(migrator = "MIGRATOR")]
async fn xml_callback_is_tencents_task_finish_byte_for_byte(pool: PgPool) {
    let store = store(pool);
    let mut rx = Receiver::start().await;
    let job = finished_job(&store, &request(Some(&rx.url()), None), None).await;
    let n = start(&store, fast_config());
    let got = rx.next(WAIT).await.expect("the callback");
    assert_eq!(got.path, "/callback");
    assert_eq!(got.header("content-type"), "application/xml");
    assert_eq!(got.text(), expected_xml(&job));
    assert!(got.header("webhook-id").starts_with("msg_"), "{:?}", got.headers);
    let ts: i64 = got.header("webhook-timestamp").parse().unwrap();
    assert!((chrono::Utc::now().timestamp() - ts).abs() < 30);
    assert_eq!(got.header("webhook-signature"), "", "unsigned without a secret");
    wait_for_state(&store, &job, "Delivered", WAIT).await;
    assert_eq!(deliveries(&store, &job).await, vec![("Delivered".to_string(), vec![Some(200)])]);
    n.stop().await;
    assert!(rx.collect(Duration::from_millis(300)).await.is_empty(), "delivered once");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_verdict_recorded_beside_a_running_notifier_is_handed_to_it_and_sent_the_same(pool: PgPool) {
    // A trigger in this test's database notes the state each delivery is inserted in: Sending
    // when the verdict's own statement leased it to the notifier, Pending through the outbox.
    stowaway_testkit::note_inserted_states(&pool, "deliveries").await;
    let store = store(pool);
    let mut rx = Receiver::start().await;
    let n = start(&store, fast_config());
    // It has registered to take deliveries and offers room (a fixed second was not always
    // enough on a loaded machine).
    let deadline = tokio::time::Instant::now() + WAIT;
    while store.direct_delivery_room() == 0 {
        assert!(tokio::time::Instant::now() < deadline, "the notifier never offered room");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let job = finished_job(&store, &request(Some(&rx.url()), None), None).await;
    // Sent at once (well within the 5 s lease, so not after a rescue), byte for byte as a
    // claimed delivery is.
    let got = rx.next(Duration::from_secs(2)).await.expect("the callback, at once");
    assert_eq!(got.text(), expected_xml(&job));
    let inserted = stowaway_testkit::inserted_states(store.pool()).await;
    assert_eq!(inserted, [1], "handed over, not claimed from the outbox");
    wait_for_state(&store, &job, "Delivered", WAIT).await;
    assert_eq!(deliveries(&store, &job).await, vec![("Delivered".to_string(), vec![Some(200)])]);
    n.stop().await;
    assert!(rx.collect(Duration::from_millis(300)).await.is_empty(), "delivered once");
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn json_callback_has_tencents_element_names_and_types(pool: PgPool) {
    let store = store(pool);
    let mut rx = Receiver::start().await;
    let job = finished_job(&store, &request(Some(&rx.url()), Some("JSON")), None).await;
    let n = start(&store, fast_config());
    let got = rx.next(WAIT).await.expect("the callback");
    assert_eq!(got.header("content-type"), "application/json");
    assert_eq!(got.text(), expected_json(&job));
    n.stop().await;
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn job_settings_override_the_queue_and_no_suppresses_it(pool: PgPool) {
    let store = store(pool);
    let mut queue_rx = Receiver::start().await;
    let mut job_rx = Receiver::start().await;
    let on = notify_on(&queue_rx.url(), "JSON");
    let by_queue = finished_job(&store, &request(None, None), Some(&on)).await;
    let by_job = finished_job(&store, &request(Some(&job_rx.url()), Some("XML")), Some(&on)).await;
    let suppressed = finished_job(&store, &request(Some("no"), None), Some(&on)).await;
    let unconfigured = finished_job(&store, &request(None, None), None).await;
    let off = stowaway_wire::NotifyConfig { state: "Off".into(), ..on.clone() };
    let queue_off = finished_job(&store, &request(None, None), Some(&off)).await;
    let n = start(&store, fast_config());

    let got = queue_rx.next(WAIT).await.expect("the queue's callback");
    assert_eq!(got.text(), expected_json(&by_queue), "the queue's URL in the queue's format");
    let got = job_rx.next(WAIT).await.expect("the job's callback");
    assert_eq!(got.text(), expected_xml(&by_job), "the job's URL and format win");
    assert!(queue_rx.collect(Duration::from_millis(500)).await.is_empty());
    for quiet in [&suppressed, &unconfigured, &queue_off] {
        assert_eq!(deliveries(&store, quiet).await, vec![], "no callback for {}", quiet.job_id);
    }
    n.stop().await;
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_queue_turned_off_before_delivery_skips_it(pool: PgPool) {
    let store = store(pool);
    let mut rx = Receiver::start().await;
    let job = finished_job(&store, &request(None, None), Some(&notify_on(&rx.url(), "XML"))).await;
    let off = serde_json::to_value(stowaway_wire::NotifyConfig::off()).unwrap();
    let change = stowaway_store::QueueChange { notify_config: Some(off), ..Default::default() };
    store.update_queue(&job.queue_id, &change).await.unwrap();
    let n = start(&store, fast_config());
    wait_for_state(&store, &job, "Skipped", WAIT).await;
    assert!(rx.collect(Duration::from_millis(300)).await.is_empty());
    n.stop().await;
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn server_errors_are_retried_with_the_same_webhook_id(pool: PgPool) {
    let store = store(pool);
    let mut rx = Receiver::start().await;
    rx.script([Reply::Status(500), Reply::Status(503)]);
    let job = finished_job(&store, &request(Some(&rx.url()), None), None).await;
    let n = start(&store, fast_config());
    let got: Vec<_> = [rx.next(WAIT).await, rx.next(WAIT).await, rx.next(WAIT).await]
        .into_iter()
        .map(|r| r.expect("three attempts"))
        .collect();
    assert!(got.iter().all(|r| r.header("webhook-id") == got[0].header("webhook-id")));
    assert!(got.iter().all(|r| r.body == got[0].body), "the same body each time");
    wait_for_state(&store, &job, "Delivered", WAIT).await;
    assert_eq!(deliveries(&store, &job).await[0].1, vec![Some(500), Some(503), Some(200)]);
    n.stop().await;
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn retry_after_is_honoured(pool: PgPool) {
    let store = store(pool);
    let mut rx = Receiver::start().await;
    rx.script([Reply::With(429, vec![("retry-after", "2".into())])]);
    let job = finished_job(&store, &request(Some(&rx.url()), None), None).await;
    let n = start(&store, fast_config());
    let first = rx.next(WAIT).await.unwrap();
    let second = rx.next(WAIT).await.unwrap();
    let waited = second.at - first.at;
    assert!(waited >= Duration::from_secs(2), "retried after {waited:?}, schedule says 100 ms");
    wait_for_state(&store, &job, "Delivered", WAIT).await;
    n.stop().await;
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn gone_stops_retries_and_the_delivery_is_kept_dead(pool: PgPool) {
    let store = store(pool);
    let mut rx = Receiver::start().await;
    rx.script([Reply::Status(410)]);
    let job = finished_job(&store, &request(Some(&rx.url()), None), None).await;
    let n = start(&store, fast_config());
    rx.next(WAIT).await.unwrap();
    wait_for_state(&store, &job, "Dead", WAIT).await;
    assert!(rx.collect(Duration::from_millis(600)).await.is_empty(), "no retry after 410");
    assert_eq!(deliveries(&store, &job).await[0].1, vec![Some(410)]);
    n.stop().await;
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn a_hanging_receiver_times_out_and_is_retried(pool: PgPool) {
    let store = store(pool);
    let mut rx = Receiver::start().await;
    rx.script([Reply::Hang]);
    let job = finished_job(&store, &request(Some(&rx.url()), None), None).await;
    let n = start(&store, fast_config());
    let first = rx.next(WAIT).await.unwrap();
    let second = rx.next(WAIT).await.unwrap();
    assert!(second.at - first.at >= Duration::from_millis(800), "the attempt timed out first");
    wait_for_state(&store, &job, "Delivered", WAIT).await;
    let d = &store.deliveries_of_job(&job.bucket, &job.job_id).await.unwrap().unwrap()[0];
    let timed_out = &d.attempts[0];
    assert_eq!(timed_out.status, None);
    assert!(timed_out.error.as_deref().unwrap().contains("no answer within"), "{timed_out:?}");
    n.stop().await;
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn exhausted_retries_leave_it_dead_and_resend_delivers_it(pool: PgPool) {
    let store = store(pool);
    let mut rx = Receiver::start().await;
    rx.script([Reply::Status(500), Reply::Status(500)]);
    let job = finished_job(&store, &request(Some(&rx.url()), None), None).await;
    let cfg = NotifierConfig { retry_schedule: RetrySchedule::parse("100ms").unwrap(), ..fast_config() };
    let n = start(&store, cfg);
    let first = rx.next(WAIT).await.unwrap();
    rx.next(WAIT).await.unwrap();
    wait_for_state(&store, &job, "Dead", WAIT).await;
    let d = &store.deliveries_of_job(&job.bucket, &job.job_id).await.unwrap().unwrap()[0];
    assert_eq!(d.last_error.as_deref(), Some("HTTP 500"));

    assert!(store.resend_delivery(&job.bucket, &job.job_id, d.webhook_id).await.unwrap());
    let again = rx.next(WAIT).await.expect("resent");
    assert_eq!(again.header("webhook-id"), first.header("webhook-id"));
    wait_for_state(&store, &job, "Delivered", WAIT).await;
    assert_eq!(deliveries(&store, &job).await[0].1, vec![Some(500), Some(500), Some(200)]);
    assert!(!store.resend_delivery(&job.bucket, "cnosuchjob", d.webhook_id).await.unwrap());
    n.stop().await;
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn nothing_is_lost_while_the_receiver_is_down(pool: PgPool) {
    let store = store(pool);
    let rx = Receiver::start().await;
    let url = rx.url();
    let addr = rx.stop().await;
    let jobs = finished_jobs(&store, &request(Some(&url), None), None, 20).await;
    let cfg = NotifierConfig {
        retry_schedule: RetrySchedule::parse(&["200ms"; 30].join(",")).unwrap(),
        ..fast_config()
    };
    let n = start(&store, cfg);
    tokio::time::sleep(Duration::from_millis(1500)).await; // several refused attempts
    let mut rx = Receiver::start_on(addr).await;
    let got = rx.collect(Duration::from_secs(4)).await;
    let mut ids: Vec<&str> = got.iter().map(|r| r.header("webhook-id")).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), jobs.len(), "every job's callback arrived");
    for job in &jobs {
        wait_for_state(&store, job, "Delivered", WAIT).await;
        let statuses = &deliveries(&store, job).await[0].1;
        assert!(statuses.len() >= 2 && statuses[0].is_none(), "refused first: {statuses:?}");
    }
    n.stop().await;
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn signatures_verify_with_every_rotating_key(pool: PgPool) {
    let store = store(pool);
    let mut rx = Receiver::start().await;
    let (new, old) = ("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_c3Rvd2F3YXktb2xkLXNpZ25pbmcta2V5LTAx");
    finished_job(&store, &request(Some(&rx.url()), None), None).await;
    let cfg =
        NotifierConfig { signer: Some(Signer::parse(&format!("{new},{old}")).unwrap()), ..fast_config() };
    let n = start(&store, cfg);
    let got = rx.next(WAIT).await.unwrap();
    // What a receiver does (README "Verifying callbacks"): HMAC-SHA256 with the secret's bytes
    // over "<webhook-id>.<webhook-timestamp>.<body>", base64, compared with each "v1," entry.
    let signed = format!("{}.{}.{}", got.header("webhook-id"), got.header("webhook-timestamp"), got.text());
    let signatures: Vec<&str> = got.header("webhook-signature").split(' ').collect();
    for secret in [new, old] {
        let key = base64::engine::general_purpose::STANDARD.decode(&secret[6..]).unwrap();
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(&key).unwrap();
        mac.update(signed.as_bytes());
        let expected =
            format!("v1,{}", base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes()));
        assert!(signatures.contains(&expected.as_str()), "{secret} verifies: {signatures:?}");
    }
    n.stop().await;
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn several_notifiers_share_the_outbox(pool: PgPool) {
    let store = store(pool);
    let mut rx = Receiver::start().await;
    let jobs = finished_jobs(&store, &request(Some(&rx.url()), None), None, 300).await;
    let cfg = NotifierConfig { batch: 16, concurrency: 32, ..fast_config() };
    let (a, b) = (start(&store, cfg.clone()), start(&store, cfg));
    let mut got = Vec::new();
    while got.len() < jobs.len() {
        got.push(rx.next(WAIT).await.expect("every callback"));
    }
    let mut ids: Vec<&str> = got.iter().map(|r| r.header("webhook-id")).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), jobs.len(), "each once");
    a.stop().await;
    b.stop().await;
    assert!(rx.collect(Duration::from_millis(300)).await.is_empty());
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn url_sends_take_turns_within_the_concurrency_while_claims_go_further(pool: PgPool) {
    let store = store(pool);
    let mut rx = Receiver::start().await;
    rx.script([Reply::Hang, Reply::Hang]);
    let jobs = finished_jobs(&store, &request(Some(&rx.url()), None), None, 8).await;
    // A 5 s lease over 800 ms attempts leaves room for four turns: 2 × 4 held, 2 sent at once.
    let n = start(&store, NotifierConfig { concurrency: 2, ..fast_config() });
    let hung = [rx.next(WAIT).await.unwrap(), rx.next(WAIT).await.unwrap()];
    assert!(rx.next(Duration::from_millis(500)).await.is_none(), "a third send while two hang");
    let sending: i64 = sqlx::query_scalar("SELECT count(*) FROM deliveries WHERE state = 1")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(sending, 8, "all claimed at once, beyond the two sends");
    let mut rest = Vec::new();
    while rest.len() < 8 {
        rest.push(rx.next(WAIT).await.expect("the others, and the two hung ones again"));
    }
    // Timed from the hung request's arrival, a little after its 800 ms timeout began.
    assert!(rest[0].at - hung[0].at >= Duration::from_millis(700), "the next turn waited");
    for job in &jobs {
        wait_for_state(&store, job, "Delivered", WAIT).await;
    }
    n.stop().await;
}

#[sqlx::test(migrator = "MIGRATOR")]
async fn non_public_addresses_are_refused_when_connecting(pool: PgPool) {
    let store = store(pool);
    let mut rx = Receiver::start().await;
    let port = rx.addr.port();
    // A name only the resolver can judge (Debian's /etc/hosts maps the machine's own name to
    // 127.0.x.1) and IP literals, all of which reach this very receiver if the guard lets them.
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap().trim().to_string();
    let resolved: Vec<_> = tokio::net::lookup_host((host.as_str(), 0)).await.unwrap().collect();
    assert!(resolved.iter().all(|a| a.ip().is_loopback()), "{host} resolves to {resolved:?}");
    let urls = [
        format!("http://{host}:{port}/callback"),
        format!("http://127.0.0.1:{port}/callback"),
        format!("http://2130706433:{port}/callback"),
        format!("http://[::ffff:127.0.0.1]:{port}/callback"),
    ];
    let mut jobs = Vec::new();
    for url in &urls {
        jobs.push(finished_job(&store, &request(Some(url), None), None).await);
    }
    let cfg = NotifierConfig { addresses: AddressPolicy::public_only(), ..fast_config() };
    let n = start(&store, cfg);
    for job in &jobs {
        wait_for_state(&store, job, "Dead", WAIT).await;
        let d = &store.deliveries_of_job(&job.bucket, &job.job_id).await.unwrap().unwrap()[0];
        let error = d.last_error.as_deref().unwrap_or("");
        assert!(error.contains("public address"), "{error}");
        assert_eq!(deliveries(&store, job).await[0].1, vec![None], "one attempt, no retries");
    }
    assert!(rx.collect(Duration::from_millis(300)).await.is_empty(), "nothing got through");
    n.stop().await;
}
