//! Shared by the notifier's tests: finished jobs in a real database, a notifier running in the
//! test, and the callback body Tencent documents, to compare byte for byte.
#![allow(dead_code)]
use std::time::Duration;

use sqlx::PgPool;
use stowaway_notifier::{AddressPolicy, NotifierConfig, RetrySchedule};
use stowaway_store::{Completion, JobRecord, NewJob, QueueChange, Store};
use stowaway_wire::{tencent_time, ImageInspectResult, NotifyConfig, SubmitRequest};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Quick retries and timeouts, private addresses allowed (the receiver is on loopback).
pub fn fast_config() -> NotifierConfig {
    NotifierConfig {
        poll: Duration::from_millis(100),
        lease: Duration::from_secs(5),
        drain: Duration::from_secs(1),
        connect_timeout: Duration::from_millis(500),
        timeout: Duration::from_millis(800),
        retry_schedule: RetrySchedule::parse("100ms,100ms,100ms,100ms").unwrap(),
        addresses: AddressPolicy::allow_private(),
        ..NotifierConfig::default()
    }
}

pub struct Running {
    stop: watch::Sender<bool>,
    task: JoinHandle<Result<(), String>>,
}

impl Running {
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        self.task.await.expect("notifier task").expect("notifier ran");
    }
}

pub fn start(store: &Store, cfg: NotifierConfig) -> Running {
    let (stop, stopped) = watch::channel(false);
    let task = tokio::spawn(stowaway_notifier::run_notifier(store.clone(), cfg, stopped));
    Running { stop, task }
}

pub fn request(callback: Option<&str>, format: Option<&str>) -> SubmitRequest {
    SubmitRequest {
        object: "test.png".into(),
        callback: callback.map(String::from),
        callback_format: format.map(String::from),
        ..SubmitRequest::default()
    }
}

pub fn notify_on(url: &str, format: &str) -> NotifyConfig {
    NotifyConfig {
        url: Some(url.into()),
        event: Some("TaskFinish".into()),
        r#type: Some("Url".into()),
        state: "On".into(),
        result_format: Some(format.into()),
        ..NotifyConfig::default()
    }
}

/// Submits `n` jobs with `request` to a fresh bucket whose queue has `notify`, runs them to
/// Success with Tencent's example verdict, and returns their records.
pub async fn finished_jobs(
    store: &Store,
    request: &SubmitRequest,
    notify: Option<&NotifyConfig>,
    n: usize,
) -> Vec<JobRecord> {
    let bucket = format!("t{}-1250000000", &uuid::Uuid::new_v4().simple().to_string()[..10]);
    let queue = store.ensure_queue(&bucket, "ap-chongqing").await.unwrap();
    if let Some(notify) = notify {
        let change = QueueChange {
            notify_config: Some(serde_json::to_value(notify).unwrap()),
            ..QueueChange::default()
        };
        store.update_queue(&queue.queue_id, &change).await.unwrap();
    }
    let jobs: Vec<NewJob> = (0..n)
        .map(|_| NewJob {
            job_id: format!("c{}", uuid::Uuid::new_v4().simple()),
            queue_id: queue.queue_id.clone(),
            bucket: bucket.clone(),
            region: "ap-chongqing".into(),
            object: request.object.clone(),
            job_level: 0,
            request: serde_json::to_value(request).unwrap(),
            once: false,
        })
        .collect();
    store.insert_jobs(&jobs).await.unwrap();
    let worker = uuid::Uuid::new_v4();
    let claimed = store.claim(worker, n as i64, Duration::from_secs(30)).await.unwrap();
    assert_eq!(claimed.len(), n);
    let result = ImageInspectResult {
        state: "Success".into(),
        code: "Success".into(),
        message: String::new(),
        input_object_name: request.object.clone(),
        input_object_url: format!("http://127.0.0.1:9000/{bucket}/{}", request.object),
        process_result: Some(stowaway_testkit::tencent_example_process_result()),
        tagging_result: None,
    };
    let done: Vec<Completion> = claimed
        .iter()
        .map(|c| Completion::success(c, Some(serde_json::to_value(&result).unwrap())))
        .collect();
    store.complete(worker, &done).await.unwrap();
    let ids: Vec<String> = jobs.iter().map(|j| j.job_id.clone()).collect();
    store.jobs_by_id(&bucket, &ids).await.unwrap()
}

pub async fn finished_job(
    store: &Store,
    request: &SubmitRequest,
    notify: Option<&NotifyConfig>,
) -> JobRecord {
    finished_jobs(store, request, notify, 1).await.remove(0)
}

/// Tencent's TaskFinish XML (spec §4.1) for a job `finished_job` made, element for element in
/// the order Stowaway writes them.
pub fn expected_xml(r: &JobRecord) -> String {
    let t = |t: Option<chrono::DateTime<chrono::Utc>>| tencent_time(t.unwrap());
    format!(
        "<Response><EventName>TaskFinish</EventName><JobsDetail><Code>Success</Code><Message/>\
<JobId>{job}</JobId><State>Success</State><CreationTime>{created}</CreationTime><StartTime>{started}</StartTime>\
<EndTime>{ended}</EndTime><QueueId>{queue}</QueueId><Tag>ImageInspect</Tag><Input><BucketId>{bucket}</BucketId>\
<Object>test.png</Object><Region>ap-chongqing</Region></Input><Operation><JobLevel>0</JobLevel>\
<ImageInspectResult><State>Success</State><Code>Success</Code><Message/><InputObjectName>test.png</InputObjectName>\
<InputObjectUrl>http://127.0.0.1:9000/{bucket}/test.png</InputObjectUrl><ProcessResult><PicSize>304491</PicSize>\
<PicType>png</PicType><Suspicious>true</Suspicious><SuspiciousBeginByte>119</SuspiciousBeginByte>\
<SuspiciousEndByte>304490</SuspiciousEndByte><SuspiciousSize>304372</SuspiciousSize>\
<SuspiciousType>MPEG-TS</SuspiciousType><AutoProcessResult><Code>Success</Code><Message>Success</Message>\
</AutoProcessResult></ProcessResult></ImageInspectResult></Operation></JobsDetail></Response>",
        job = r.job_id,
        created = t(Some(r.created_at)),
        started = t(r.started_at),
        ended = t(r.finished_at),
        queue = r.queue_id,
        bucket = r.bucket,
    )
}

/// The same as JSON (spec §4.2): strings, except PicSize and the Suspicious* numbers and boolean;
/// keys in alphabetical order, as Tencent's own samples list them.
pub fn expected_json(r: &JobRecord) -> String {
    let t = |t: Option<chrono::DateTime<chrono::Utc>>| tencent_time(t.unwrap());
    format!(
        r#"{{"EventName":"TaskFinish","JobsDetail":{{"Code":"Success","CreationTime":"{created}","EndTime":"{ended}","Input":{{"BucketId":"{bucket}","Object":"test.png","Region":"ap-chongqing"}},"JobId":"{job}","Message":"","Operation":{{"ImageInspectResult":{{"Code":"Success","InputObjectName":"test.png","InputObjectUrl":"http://127.0.0.1:9000/{bucket}/test.png","Message":"","ProcessResult":{{"AutoProcessResult":{{"Code":"Success","Message":"Success"}},"PicSize":304491,"PicType":"png","Suspicious":true,"SuspiciousBeginByte":119,"SuspiciousEndByte":304490,"SuspiciousSize":304372,"SuspiciousType":"MPEG-TS"}},"State":"Success"}},"JobLevel":"0"}},"QueueId":"{queue}","StartTime":"{started}","State":"Success","Tag":"ImageInspect"}}}}"#,
        job = r.job_id,
        created = t(Some(r.created_at)),
        started = t(r.started_at),
        ended = t(r.finished_at),
        queue = r.queue_id,
        bucket = r.bucket,
    )
}

/// Each delivery's (state, attempt statuses) for the job.
pub async fn deliveries(store: &Store, r: &JobRecord) -> Vec<(String, Vec<Option<i32>>)> {
    store
        .deliveries_of_job(&r.bucket, &r.job_id)
        .await
        .unwrap()
        .unwrap()
        .iter()
        .map(|d| (d.state.as_str().to_string(), d.attempts.iter().map(|a| a.status).collect()))
        .collect()
}

/// Waits until the job's first delivery reaches `state` (or panics after `within`).
pub async fn wait_for_state(store: &Store, r: &JobRecord, state: &str, within: Duration) {
    let deadline = std::time::Instant::now() + within;
    loop {
        let now = deliveries(store, r).await;
        if now.first().is_some_and(|d| d.0 == state) {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "delivery never became {state}: {now:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub fn store(pool: PgPool) -> Store {
    Store::from_pool(pool)
}
