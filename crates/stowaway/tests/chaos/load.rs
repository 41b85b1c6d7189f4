//! The load a chaos run keeps up while faults land: jobs submitted at a steady rate, each with an
//! `Idempotency-Key` (its object's key) and sent again until an answer says it was accepted, as a
//! careful client would, so an answer lost to a crash never makes a second job.
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The Kafka topic TDMQ callbacks go to.
pub const TOPIC: &str = "chaos-callbacks";

/// An object to submit a job for.
#[derive(Clone, Debug)]
pub struct Key {
    pub key: String,
    pub suspicious: bool,
    /// Its callback goes to Kafka (TDMQ), not to the receiver.
    pub tdmq: bool,
}

/// One object the load submitted a job for.
#[derive(Clone, Debug)]
pub struct Submitted {
    pub key: String,
    pub suspicious: bool,
    pub tdmq: bool,
    /// The job id the accepting answer named; None if no answer accepted it in time.
    pub job_id: Option<String>,
    /// Sends: the first and every retry.
    pub sends: u32,
}

#[derive(Default)]
pub struct Tally {
    pub jobs: Vec<Submitted>,
    /// Statuses ≥ 500 answered, with their codes.
    pub server_errors: Vec<(u16, String)>,
    /// Sends that got no answer (refused, reset, timed out).
    pub unanswered: u32,
}

pub type Shared = Arc<Mutex<Tally>>;

/// Submits a job for each of `keys` (in order, `rate` a second) to the API on `port`, with
/// callbacks to `callback`; returns once every one was accepted or gave up after `patience`.
pub async fn submit_all(port: u16, keys: Vec<Key>, rate: f64, callback: String, tally: Shared) {
    let mut sends = tokio::task::JoinSet::new();
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
    for key in keys {
        tick.tick().await;
        let (tally, callback) = (tally.clone(), callback.clone());
        sends.spawn(async move {
            let job = submit(port, key, &callback, &tally).await;
            tally.lock().unwrap().jobs.push(job);
        });
        while sends.try_join_next().is_some() {}
    }
    while sends.join_next().await.is_some() {}
}

/// How long one job is sent again before the load gives up on it.
const PATIENCE: Duration = Duration::from_secs(90);

async fn submit(port: u16, k: Key, callback: &str, tally: &Shared) -> Submitted {
    let Key { key, suspicious, tdmq } = k;
    let callback = match tdmq {
        true => format!(
            "<CallBackType>TDMQ</CallBackType><CallBackMqConfig><MqRegion>gz</MqRegion><MqMode>Queue</MqMode>\
             <MqName>{TOPIC}</MqName></CallBackMqConfig>"
        ),
        false => format!("<CallBack>{callback}</CallBack>"),
    };
    let body = format!(
        "<Request><Tag>ImageInspect</Tag><Input><Object>{key}</Object></Input><Operation>\
         <ImageInspect><AutoProcess>true</AutoProcess><ProcessType>BackupObject</ProcessType></ImageInspect>\
         </Operation>{callback}</Request>"
    );
    let started = Instant::now();
    let mut job = Submitted { key: key.clone(), suspicious, tdmq, job_id: None, sends: 0 };
    while started.elapsed() < PATIENCE {
        job.sends += 1;
        match post(port, &body, &key).await {
            Some((200, reply)) => {
                job.job_id = element(&reply, "JobId").map(String::from);
                return job;
            }
            Some((status, reply)) if status >= 500 => {
                let code = element(&reply, "Code").unwrap_or("-").to_string();
                tally.lock().unwrap().server_errors.push((status, code));
            }
            Some((status, reply)) => panic!("{key}: the API refused the job: {status} {reply}"),
            None => tally.lock().unwrap().unanswered += 1,
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    job
}

/// `POST /jobs`, `Connection: close`; None when no whole answer came within 10 s.
async fn post(port: u16, body: &str, key: &str) -> Option<(u16, String)> {
    let exchange = async {
        let mut s = TcpStream::connect(("127.0.0.1", port)).await.ok()?;
        let head = format!(
            "POST /jobs HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/xml\r\n\
             Idempotency-Key: {key}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        s.write_all(head.as_bytes()).await.ok()?;
        s.write_all(body.as_bytes()).await.ok()?;
        let mut out = Vec::new();
        s.read_to_end(&mut out).await.ok()?;
        let out = String::from_utf8_lossy(&out).into_owned();
        let status = out.get(9..12)?.parse().ok()?;
        let body = out.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default();
        Some((status, body))
    };
    tokio::time::timeout(Duration::from_secs(10), exchange).await.ok().flatten()
}

pub fn element<'a>(xml: &'a str, tag: &str) -> Option<&'a str> {
    let open = format!("<{tag}>");
    let start = xml.find(&open)? + open.len();
    let end = xml[start..].find(&format!("</{tag}>"))? + start;
    Some(&xml[start..end])
}
