//! What a chaos run must show once the faults stop: every accepted job terminal with a reason and
//! none failed by an outage, every suspicious object moved exactly once and no clean one touched,
//! every callback delivered at least once (duplicates counted), no part crashed, and no server
//! error but the 503s of a database outage.
use std::collections::HashMap;
use std::fmt;
use std::time::{Duration, Instant};

use sqlx::PgPool;
use stowaway_testkit::receiver::{Received, Receiver};
use stowaway_testkit::{clean_png, png_with_ts};

use crate::load::{element, Shared, Tally};
use crate::{World, BUCKET};

pub struct Report {
    pub problems: Vec<String>,
    figures: Vec<String>,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for line in &self.figures {
            writeln!(f, "  {line}")?;
        }
        for p in &self.problems {
            writeln!(f, "  PROBLEM: {p}")?;
        }
        Ok(())
    }
}

/// How long the run may take to settle after the load: the callback schedule's tail is 30 s.
const SETTLE: Duration = Duration::from_secs(240);

pub async fn settle_and_audit(
    world: &mut World,
    receiver: &mut Receiver,
    tally: &Shared,
    started: Instant,
) -> Report {
    let pool = PgPool::connect(&world.database).await.unwrap();
    let (mut problems, mut figures) = (std::mem::take(&mut world.problems), Vec::new());
    let accepted: Vec<String> = tally.lock().unwrap().jobs.iter().filter_map(|j| j.job_id.clone()).collect();
    let mut callbacks: Vec<Received> = Vec::new();
    let settle_started = Instant::now();
    loop {
        callbacks.extend(receiver.collect(Duration::from_millis(500)).await);
        let (open, undelivered) = unfinished(&pool, &accepted).await;
        if open == 0 && undelivered == 0 {
            break;
        }
        if settle_started.elapsed() > SETTLE {
            problems.push(format!(
                "not settled {} s after the load: {open} jobs open, {undelivered} callbacks owed",
                SETTLE.as_secs()
            ));
            break;
        }
    }
    callbacks.extend(receiver.collect(Duration::from_millis(500)).await);
    figures.push(format!(
        "settled {:.0} s after the load ({:.0} s in all)",
        settle_started.elapsed().as_secs_f64(),
        started.elapsed().as_secs_f64()
    ));

    let tally = {
        let t = tally.lock().unwrap();
        Tally { jobs: t.jobs.clone(), server_errors: t.server_errors.clone(), unanswered: t.unanswered }
    };
    submissions(&tally, accepted.len(), &mut figures, &mut problems);
    verdicts(world, &pool, &tally, &accepted, &mut figures, &mut problems).await;
    let answered: Vec<String> = callbacks
        .iter()
        .filter(|c| (200..300).contains(&c.answered))
        .filter_map(|c| element(&c.text(), "JobId").map(String::from))
        .collect();
    let mut on_kafka = Vec::new();
    for broker in &world.kafka {
        match broker.stored_keys(crate::load::TOPIC).await {
            Ok(keys) => on_kafka.extend(keys),
            Err(e) => problems.push(format!("reading what broker {} stored: {e}", broker.brokers())),
        }
    }
    let (per_url, per_kafka) = (count(answered.iter().cloned()), count(on_kafka.iter().cloned()));
    let tdmq: std::collections::HashSet<&str> =
        tally.jobs.iter().filter(|j| j.tdmq).filter_map(|j| j.job_id.as_deref()).collect();
    let missing: Vec<String> = accepted
        .iter()
        .filter(|id| match tdmq.contains(id.as_str()) {
            true => !per_kafka.contains_key(*id),
            false => !per_url.contains_key(*id),
        })
        .cloned()
        .collect();
    let duplicates: usize = per_url.values().chain(per_kafka.values()).map(|n| n - 1).sum();
    figures.push(format!(
        "callbacks: {} received by Url ({} answered 2xx), {} stored by the Kafka brokers for {} TDMQ jobs; {} jobs without \
         one, {duplicates} duplicates (at least once)",
        callbacks.len(),
        answered.len(),
        on_kafka.len(),
        tdmq.len(),
        missing.len()
    ));
    if !missing.is_empty() {
        let when = delivered_when(&pool, &missing, started).await;
        problems.push(format!("{} jobs' callbacks never delivered: {when}", missing.len()));
    }
    for part in world.workers.iter_mut().chain([&mut world.api, &mut world.notifier, &mut world.serve]) {
        if let Some(status) = part.crashed() {
            let log = part.log();
            let tail = &log[log.len().saturating_sub(2000)..];
            problems.push(format!("{} exited by itself ({status}): …{tail}", part.name));
        }
    }
    pool.close().await;
    Report { problems, figures }
}

/// Every job accepted; server errors only a database outage's.
fn submissions(tally: &Tally, accepted: usize, figures: &mut Vec<String>, problems: &mut Vec<String>) {
    let lost = tally.jobs.iter().filter(|j| j.job_id.is_none()).count();
    let resent = tally.jobs.iter().filter(|j| j.sends > 1).count();
    figures.push(format!(
        "{} jobs submitted, {} accepted ({resent} needed more than one send), {} sends unanswered",
        tally.jobs.len(),
        accepted,
        tally.unanswered
    ));
    if lost > 0 {
        problems.push(format!("{lost} jobs were never accepted within the load's patience"));
    }
    let by_status = count(tally.server_errors.iter().map(|(s, c)| format!("{s} {c}")));
    figures.push(format!("server errors answered: {by_status:?}"));
    for (what, n) in &by_status {
        if what != "503 ServiceUnavailable" {
            problems.push(format!("{n} answers {what} (only a database outage's 503 is expected)"));
        }
    }
}

#[derive(sqlx::FromRow)]
struct JobRow {
    job_id: String,
    object: String,
    state: i16,
    result: Option<serde_json::Value>,
    last_error: Option<String>,
    attempt: i32,
    retries: i32,
}

/// Every job Success with the right verdict; suspicious objects moved once, clean ones untouched.
async fn verdicts(
    world: &World,
    pool: &PgPool,
    tally: &Tally,
    accepted: &[String],
    figures: &mut Vec<String>,
    problems: &mut Vec<String>,
) {
    let rows: Vec<JobRow> = sqlx::query_as(
        "SELECT job_id, object, state, result, last_error, attempt, retries FROM jobs WHERE job_id = ANY($1)",
    )
    .bind(accepted)
    .fetch_all(pool)
    .await
    .unwrap();
    if rows.len() != accepted.len() {
        problems.push(format!("{} accepted jobs are not in the database", accepted.len() - rows.len()));
    }
    let states = count(rows.iter().map(|r| r.state.to_string()));
    figures.push(format!("job states (2 Success, 3 Failed): {states:?}"));
    let retried = rows.iter().filter(|r| r.retries > 0).count();
    let max_attempt = rows.iter().map(|r| r.attempt).max().unwrap_or(0);
    figures.push(format!(
        "{retried} jobs waited out an outage (Retrying); most attempts of one job: {max_attempt}"
    ));
    let expected: HashMap<&str, bool> = tally.jobs.iter().map(|j| (j.key.as_str(), j.suspicious)).collect();
    let seen = look_at_all(world, rows.iter().map(|r| r.object.clone()).collect()).await;
    let mut moved = 0;
    for JobRow { job_id, object, state, result, last_error: error, .. } in &rows {
        if *state != 2 {
            problems.push(format!("{job_id} ({object}) ended in state {state}: {error:?}"));
            continue;
        }
        let result = result.clone().unwrap_or_default();
        // Stored as Tencent writes it: "true" or "false".
        let suspicious =
            result.pointer("/ProcessResult/Suspicious").and_then(|v| v.as_str()).map(|s| s == "true");
        if suspicious != expected.get(object.as_str()).copied() {
            problems.push(format!("{job_id} ({object}) judged suspicious = {suspicious:?}"));
        }
        let (original, copy) = seen[object.as_str()];
        match expected.get(object.as_str()) {
            Some(true) => {
                let acted = result.pointer("/ProcessResult/AutoProcessResult/Code").and_then(|v| v.as_str());
                if original != Seen::Missing || copy != Seen::Hls || acted != Some("Success") {
                    problems.push(format!("{object}: not moved exactly once (original {original:?}, backup {copy:?}, AutoProcess {acted:?})"));
                } else {
                    moved += 1;
                }
            }
            _ => {
                if original != Seen::Clean || copy != Seen::Missing {
                    problems.push(format!("{object}: a clean object was touched"));
                }
            }
        }
    }
    figures.push(format!("{moved} suspicious objects moved to the backup prefix, each once"));
}

/// (accepted jobs not terminal, their callbacks not delivered).
async fn unfinished(pool: &PgPool, accepted: &[String]) -> (i64, i64) {
    let q = "SELECT
        (SELECT count(*) FROM jobs WHERE job_id = ANY($1) AND state NOT IN (2, 3, 4)),
        (SELECT count(*) FROM jobs j LEFT JOIN deliveries d ON d.job_id = j.id
          WHERE j.job_id = ANY($1) AND (d.state IS NULL OR d.state <> 2))";
    sqlx::query_as(q).bind(accepted).fetch_one(pool).await.unwrap_or((-1, -1))
}

/// Each of `jobs`' deliveries as the store recorded it: when it counted as delivered (seconds after
/// the load's start) and its attempts, to tell a lost acknowledged message from one never sent.
async fn delivered_when(pool: &PgPool, jobs: &[String], started: Instant) -> String {
    let q = "SELECT j.job_id, extract(epoch FROM now() - d.finished_at)::float8, d.attempts::text
             FROM jobs j JOIN deliveries d ON d.job_id = j.id WHERE j.job_id = ANY($1)";
    let rows: Vec<(String, Option<f64>, String)> =
        sqlx::query_as(q).bind(jobs).fetch_all(pool).await.unwrap_or_default();
    let now = started.elapsed().as_secs_f64();
    rows.iter()
        .map(|(id, ago, attempts)| {
            format!("{id} delivered at {:.1} s, attempts {attempts}", now - ago.unwrap_or(f64::NAN))
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// What a key holds: nothing, the clean picture, the picture with its payload, or else.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Seen {
    Missing,
    Clean,
    Hls,
    Other,
}

/// Each object and its backup, read 32 at a time (one after another, an hour's soak took longer
/// to audit than to settle).
async fn look_at_all(world: &World, objects: Vec<String>) -> HashMap<String, (Seen, Seen)> {
    let (clean, hls) = (std::sync::Arc::new(clean_png()), std::sync::Arc::new(png_with_ts(20)));
    let mut seen = HashMap::new();
    for chunk in objects.chunks(32) {
        let mut reads = tokio::task::JoinSet::new();
        for key in chunk {
            let (store, key, clean, hls) = (world.objects.clone(), key.clone(), clean.clone(), hls.clone());
            reads.spawn(async move {
                let look = |bytes: Option<Vec<u8>>| match bytes {
                    None => Seen::Missing,
                    Some(b) if b == *clean => Seen::Clean,
                    Some(b) if b == *hls => Seen::Hls,
                    Some(_) => Seen::Other,
                };
                let read = |k: String| {
                    let store = store.clone();
                    async move { store.fetch(BUCKET, &k).await.ok().map(|f| f.to_vec()) }
                };
                let original = look(read(key.clone()).await);
                let backup = look(read(format!("abnormal_images_backup/{key}")).await);
                (key, (original, backup))
            });
        }
        while let Some(done) = reads.join_next().await {
            let (key, pair) = done.expect("a read task");
            seen.insert(key, pair);
        }
    }
    seen
}

fn count(items: impl Iterator<Item = String>) -> std::collections::BTreeMap<String, usize> {
    let mut m = std::collections::BTreeMap::new();
    items.for_each(|i| *m.entry(i).or_insert(0) += 1);
    m
}

/// Creates `topic` with one partition (TDMQ callbacks go there).
pub async fn create_topic(brokers: &str, topic: &str) {
    use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
    let admin: AdminClient<rdkafka::client::DefaultClientContext> =
        rdkafka::ClientConfig::new().set("bootstrap.servers", brokers).create().expect("admin client");
    let created = admin
        .create_topics(&[NewTopic::new(topic, 1, TopicReplication::Fixed(1))], &AdminOptions::new())
        .await
        .expect("create topic");
    for r in created {
        r.expect("topic created");
    }
}
