//! The job state machine against a real PostgreSQL (`#[sqlx::test]` creates one database per
//! test; `DATABASE_URL` points at the server, as `scripts/test.sh` sets it).
mod common;

use std::time::Duration;

use serde_json::json;
use sqlx::PgPool;
use stowaway_store::{CancelRefused, Checkpoint, Completion, JobFilter, JobState, NewJob, PruneMark, Store};
use uuid::Uuid;

const LEASE: Duration = Duration::from_secs(60);

fn job(queue: &str, n: usize, level: i16) -> NewJob {
    NewJob {
        job_id: format!("c{}", Uuid::new_v4().simple()),
        queue_id: queue.into(),
        bucket: "examplebucket-1250000000".into(),
        region: "ap-chongqing".into(),
        object: format!("input/{n}.png"),
        job_level: level,
        request: json!({"UserData": n}),
        once: false,
    }
}

async fn setup(pool: PgPool) -> (Store, String) {
    let store = Store::from_pool(pool);
    let q = store.ensure_queue("examplebucket-1250000000", "ap-chongqing").await.unwrap();
    assert!(q.queue_id.starts_with('p') && q.queue_id.len() == 33);
    assert_eq!(q.name, "queue-pic-process-1");
    (store, q.queue_id)
}

fn done(c: &stowaway_store::Claimed) -> Completion {
    Completion::success(c, Some(json!({"ok": 1})))
}

#[sqlx::test(migrator = "stowaway_store::MIGRATOR")]
async fn claims_by_job_level_then_age(pool: PgPool) {
    let (store, q) = setup(pool).await;
    let jobs = vec![job(&q, 0, 0), job(&q, 1, 2), job(&q, 2, 1), job(&q, 3, 2), job(&q, 4, 0)];
    for j in &jobs {
        store.insert_jobs(std::slice::from_ref(j)).await.unwrap(); // distinct created_at
    }
    let w = Uuid::new_v4();
    let mut order = Vec::new();
    while let Some(c) = store.claim(w, 1, LEASE).await.unwrap().pop() {
        order.push(c.object);
    }
    assert_eq!(order, ["input/1.png", "input/3.png", "input/2.png", "input/0.png", "input/4.png"]);
}

#[sqlx::test(migrator = "stowaway_store::MIGRATOR")]
async fn concurrent_claimers_never_share_a_job(pool: PgPool) {
    let (store, q) = setup(pool).await;
    let jobs: Vec<_> = (0..500).map(|n| job(&q, n, (n % 3) as i16)).collect();
    store.insert_jobs(&jobs).await.unwrap();
    let claimers = (0..4).map(|_| {
        let store = store.clone();
        tokio::spawn(async move {
            let w = Uuid::new_v4();
            let mut mine = Vec::new();
            loop {
                let batch = store.claim(w, 37, LEASE).await.unwrap();
                if batch.is_empty() {
                    return mine;
                }
                let completed = store.complete(w, &batch.iter().map(done).collect::<Vec<_>>()).await.unwrap();
                assert_eq!(completed.len(), batch.len());
                mine.extend(batch.into_iter().map(|c| c.id));
            }
        })
    });
    let mut all: Vec<i64> = Vec::new();
    for h in claimers {
        all.extend(h.await.unwrap());
    }
    all.sort_unstable();
    let n = all.len();
    all.dedup();
    assert_eq!((n, all.len()), (500, 500), "every job claimed exactly once");
}

#[sqlx::test(migrator = "stowaway_store::MIGRATOR")]
async fn a_rescued_job_is_completed_once_by_its_new_holder(pool: PgPool) {
    let (store, q) = setup(pool).await;
    store.insert_jobs(&[job(&q, 0, 0)]).await.unwrap();
    let (dead, alive) = (Uuid::new_v4(), Uuid::new_v4());
    let first = store.claim(dead, 1, Duration::ZERO).await.unwrap().remove(0);
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(store.rescue_expired(5).await.unwrap(), (1, 0));
    let second = store.claim(alive, 1, LEASE).await.unwrap().remove(0);
    assert_eq!((second.id, second.attempt), (first.id, 2));
    // The zombie's late completion is refused; the live holder's is taken, once.
    assert!(store.complete(dead, &[done(&first)]).await.unwrap().is_empty());
    assert_eq!(store.complete(alive, &[done(&second)]).await.unwrap(), [second.id]);
    assert!(store.complete(alive, &[done(&second)]).await.unwrap().is_empty());
    assert_eq!(store.states(&[second.job_id]).await.unwrap()[0].1, JobState::Success);
}

#[sqlx::test(migrator = "stowaway_store::MIGRATOR")]
async fn heartbeat_keeps_the_lease_and_exhausted_jobs_fail(pool: PgPool) {
    let (store, q) = setup(pool).await;
    store.insert_jobs(&[job(&q, 0, 0), job(&q, 1, 0)]).await.unwrap();
    let w = Uuid::new_v4();
    let held = store.claim(w, 2, Duration::ZERO).await.unwrap();
    assert_eq!(store.heartbeat(w, &[held[0].id], LEASE).await.unwrap(), [held[0].id]);
    tokio::time::sleep(Duration::from_millis(20)).await;
    // Only the job without a heartbeat expired; with max_attempts 1 it fails instead of retrying.
    assert_eq!(store.rescue_expired(1).await.unwrap(), (0, 1));
    let states = store.states(&[held[0].job_id.clone(), held[1].job_id.clone()]).await.unwrap();
    assert!(states.contains(&(held[0].job_id.clone(), JobState::Running)));
    assert!(states.contains(&(held[1].job_id.clone(), JobState::Failed)));
}

#[sqlx::test(migrator = "stowaway_store::MIGRATOR")]
async fn a_submit_racing_a_pause_waits_for_it_and_starts_paused(pool: PgPool) {
    let (store, q) = setup(pool.clone()).await;
    // A pause half done, as `update_queue` does it: the queue's lock (namespace 0x5707) taken
    // exclusively and the queue marked paused, not yet committed.
    let mut pause = pool.begin().await.unwrap();
    sqlx::query("SELECT pg_advisory_xact_lock(x'5707'::int4, hashtext($1))")
        .bind(&q)
        .execute(&mut *pause)
        .await
        .unwrap();
    sqlx::query("UPDATE queues SET paused = true WHERE queue_id = $1")
        .bind(&q)
        .execute(&mut *pause)
        .await
        .unwrap();
    let submit = tokio::spawn({
        let (store, j) = (store.clone(), job(&q, 0, 0));
        async move { store.insert_jobs(&[j]).await }
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!submit.is_finished(), "a submit waits for a pause of its queue");
    pause.commit().await.unwrap();
    let submitted = submit.await.unwrap().unwrap();
    // Read after the lock, not before it: a job started as Submitted here would run in a
    // paused queue.
    assert_eq!(submitted[0].state, JobState::Pause);
}

#[sqlx::test(migrator = "stowaway_store::MIGRATOR")]
async fn paused_queues_hold_their_jobs(pool: PgPool) {
    let (store, q) = setup(pool).await;
    let before = store.insert_jobs(&[job(&q, 0, 0)]).await.unwrap();
    assert_eq!(before[0].state, JobState::Submitted);
    assert!(store.set_paused(&q, true).await.unwrap());
    let during = store.insert_jobs(&[job(&q, 1, 2)]).await.unwrap();
    assert_eq!(during[0].state, JobState::Pause, "a job submitted to a paused queue waits");
    let w = Uuid::new_v4();
    assert!(store.claim(w, 10, LEASE).await.unwrap().is_empty(), "nothing starts while paused");
    let ids = [before[0].job_id.clone(), during[0].job_id.clone()];
    assert!(store.states(&ids).await.unwrap().iter().all(|s| s.1 == JobState::Pause));
    store.set_paused(&q, false).await.unwrap();
    let held = store.claim(w, 10, LEASE).await.unwrap();
    assert_eq!(held.len(), 2);
    assert!(!store.set_paused("p-nonexistent", true).await.unwrap());
    // A job that comes back while its queue is paused (a dead worker's, or one handed back on
    // shutdown) waits too.
    assert!(store.set_paused(&q, true).await.unwrap());
    sqlx::query("UPDATE jobs SET locked_until = now() - interval '1 second' WHERE id = $1")
        .bind(held[0].id)
        .execute(store.pool())
        .await
        .unwrap();
    assert_eq!(store.rescue_expired(5).await.unwrap(), (1, 0));
    assert_eq!(store.release(w, &[held[1].id]).await.unwrap(), 1);
    let ids = [held[0].job_id.clone(), held[1].job_id.clone()];
    assert!(store.states(&ids).await.unwrap().iter().all(|s| s.1 == JobState::Pause));
}

#[sqlx::test(migrator = "stowaway_store::MIGRATOR")]
async fn only_jobs_that_have_not_acted_cancel(pool: PgPool) {
    let (store, q) = setup(pool).await;
    let ids: Vec<String> = store
        .insert_jobs(&[job(&q, 0, 0), job(&q, 1, 0)])
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.job_id)
        .collect();
    let w = Uuid::new_v4();
    let running = store.claim(w, 1, LEASE).await.unwrap().remove(0);
    let other = ids.iter().find(|i| **i != running.job_id).unwrap().clone();
    let bucket = "examplebucket-1250000000";
    // Running with a checkpointed verdict: AutoProcess is under way.
    let verdict = serde_json::json!({"ProcessResult": {}});
    assert_eq!(store.checkpoint(w, running.id, running.attempt, &verdict).await.unwrap(), Checkpoint::Held);
    let refused = store.cancel_jobs(bucket, &[running.job_id.clone(), other.clone()]).await.unwrap();
    assert_eq!(refused, Err(CancelRefused::Started(vec![(running.job_id.clone(), JobState::Running)])));
    let missing = store.cancel_jobs(bucket, &[other.clone(), "cmissing".into()]).await.unwrap();
    assert_eq!(missing, Err(CancelRefused::Unknown(vec!["cmissing".into()])));
    assert_eq!(
        store.states(std::slice::from_ref(&other)).await.unwrap()[0].1,
        JobState::Submitted,
        "all or none"
    );
    let other_bucket = store.cancel_jobs("otherbucket-1", std::slice::from_ref(&other)).await.unwrap();
    assert!(matches!(other_bucket, Err(CancelRefused::Unknown(_))), "jobs are per bucket");
    assert_eq!(store.cancel_jobs(bucket, std::slice::from_ref(&other)).await.unwrap(), Ok(()));
    assert_eq!(store.states(&[other]).await.unwrap()[0].1, JobState::Cancel);
    assert!(store.claim(w, 10, LEASE).await.unwrap().is_empty(), "a cancelled job is never claimed");
}

#[sqlx::test(migrator = "stowaway_store::MIGRATOR")]
async fn pruner_deletes_only_old_finished_jobs(pool: PgPool) {
    let (store, q) = setup(pool.clone()).await;
    store.insert_jobs(&[job(&q, 0, 0), job(&q, 1, 0), job(&q, 2, 0)]).await.unwrap();
    let w = Uuid::new_v4();
    let c = store.claim(w, 2, LEASE).await.unwrap();
    store.complete(w, &c.iter().map(done).collect::<Vec<_>>()).await.unwrap();
    common::finished_days_ago(&pool, c[0].id, 8).await;
    let week = Duration::from_secs(7 * 86400);
    assert_eq!(store.prune_finished(week, 1000, &PruneMark::default()).await.unwrap().0, 1);
    assert_eq!(store.prune_finished(week, 1000, &PruneMark::default()).await.unwrap().0, 0);
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM jobs").fetch_one(&pool).await.unwrap();
    assert_eq!(left, 2, "recent finished and pending jobs stay");
}

#[sqlx::test(migrator = "stowaway_store::MIGRATOR")]
async fn lists_page_by_time_with_filters(pool: PgPool) {
    let (store, q) = setup(pool).await;
    let jobs: Vec<NewJob> = (0..7).map(|n| job(&q, n % 3, 0)).collect();
    for j in &jobs {
        store.insert_jobs(std::slice::from_ref(j)).await.unwrap();
    }
    let base = JobFilter { bucket: "examplebucket-1250000000".into(), limit: 3, ..JobFilter::default() };
    let mut seen = Vec::new();
    let mut f = base.clone();
    loop {
        let page = store.list_jobs(&f).await.unwrap();
        seen.extend(page.iter().map(|r| r.job_id.clone()));
        match page.last() {
            Some(last) if page.len() == 3 => f.after = Some((last.created_at, last.id)),
            _ => break,
        }
    }
    let newest_first: Vec<String> = jobs.iter().rev().map(|j| j.job_id.clone()).collect();
    assert_eq!(seen, newest_first);
    let asc = store.list_jobs(&JobFilter { ascending: true, limit: 100, ..base.clone() }).await.unwrap();
    assert_eq!(
        asc.iter().map(|r| &r.job_id).collect::<Vec<_>>(),
        jobs.iter().map(|j| &j.job_id).collect::<Vec<_>>()
    );
    let by_object = JobFilter { object: Some("input/1.png".into()), limit: 100, ..base.clone() };
    assert_eq!(store.list_jobs(&by_object).await.unwrap().len(), 2);
    let running = JobFilter { states: Some(vec![JobState::Running]), limit: 100, ..base.clone() };
    assert!(store.list_jobs(&running).await.unwrap().is_empty());
    let other = JobFilter { bucket: "otherbucket-1".into(), limit: 100, ..base };
    assert!(store.list_jobs(&other).await.unwrap().is_empty());
    let got = store
        .jobs_by_id("examplebucket-1250000000", &[jobs[2].job_id.clone(), jobs[0].job_id.clone()])
        .await
        .unwrap();
    assert_eq!(got.iter().map(|r| &r.job_id).collect::<Vec<_>>(), [&jobs[2].job_id, &jobs[0].job_id]);
}

#[sqlx::test(migrator = "stowaway_store::MIGRATOR")]
async fn verdicts_hand_their_deliveries_to_a_notifier_in_the_process_while_it_has_room(pool: PgPool) {
    let (store, q) = setup(pool).await;
    let with_callback =
        |n| NewJob { request: json!({"callback": "https://example.com/cb"}), ..job(&q, n, 0) };
    let jobs = [with_callback(0), with_callback(1), with_callback(2), job(&q, 3, 0), with_callback(4)];
    store.insert_jobs(&jobs).await.unwrap();
    let w = Uuid::new_v4();
    let held = store.claim(w, 5, LEASE).await.unwrap();
    let (wanting, without): (Vec<_>, Vec<_>) = held.iter().partition(|c| c.request["callback"].is_string());
    let notifier = Uuid::new_v4();
    let mut direct = store.take_deliveries_directly(notifier, LEASE);
    let room = direct.room();
    room.offer(3);

    // A batch of three fits: the two that want a callback are handed over, leased as a claim
    // leases them, with their finished jobs; the one without a callback gives its room back.
    let batch = [done(wanting[0]), done(wanting[1]), done(without[0])];
    assert_eq!(store.complete(w, &batch).await.unwrap().len(), 3);
    assert_eq!(room.free(), 1, "two promised until the notifier has taken them");
    let handed =
        tokio::time::timeout(Duration::from_secs(5), direct.recv()).await.expect("handed over").unwrap();
    room.taken(handed.len());
    assert_eq!(room.free(), 3);
    let mut ids: Vec<i64> = handed.iter().map(|d| d.delivery_id).collect();
    ids.sort();
    let mut expected = vec![wanting[0].id, wanting[1].id];
    expected.sort();
    assert_eq!(ids, expected);
    for d in &handed {
        assert_eq!(
            (d.attempt, d.job.state, d.job.result.clone()),
            (1, JobState::Success, Some(json!({"ok": 1})))
        );
        assert!(d.job.finished_at.is_some() && d.kind.is_none());
    }
    let leased: Vec<(i16, i32, Option<Uuid>)> =
        sqlx::query_as("SELECT state, attempt, locked_by FROM deliveries")
            .fetch_all(store.pool())
            .await
            .unwrap();
    assert_eq!(leased, [(1, 1, Some(notifier)); 2]);

    // Without room, verdicts go to the outbox for any notifier to claim.
    room.offer(0);
    assert_eq!(store.complete(w, &[done(wanting[2])]).await.unwrap(), [wanting[2].id]);
    let claimed = store.claim_deliveries(Uuid::new_v4(), 10, LEASE).await.unwrap();
    assert_eq!(claimed.iter().map(|d| d.delivery_id).collect::<Vec<_>>(), [wanting[2].id]);

    // Closing returns what was handed over but not yet taken, for the notifier to release.
    room.offer(1);
    store.complete(w, &[done(wanting[3])]).await.unwrap();
    assert_eq!(direct.close().await, [wanting[3].id]);
}

#[sqlx::test(migrator = "stowaway_store::MIGRATOR")]
async fn inserts_return_the_records_as_committed(pool: PgPool) {
    let (store, q) = setup(pool).await;
    let paused = store.ensure_queue("paused-1250000000", "ap-chongqing").await.unwrap().queue_id;
    store.set_paused(&paused, true).await.unwrap();
    let direct = store.take_jobs_directly(Uuid::new_v4(), LEASE);
    direct.room().offer(2);
    // Running (handed to the worker) and Pause (its room given back), then Submitted: two jobs
    // and room for one. In input order.
    let mut jobs = vec![job(&q, 0, 0), job(&paused, 1, 2)];
    let mut inserted = store.insert_jobs(&jobs).await.unwrap();
    let later = [job(&q, 2, 1), job(&q, 3, 0)];
    inserted.extend(store.insert_jobs(&later).await.unwrap());
    jobs.extend(later);
    let states: Vec<JobState> = inserted.iter().map(|r| r.state).collect();
    assert_eq!(states, [JobState::Running, JobState::Pause, JobState::Submitted, JobState::Submitted]);
    let ids: Vec<String> = jobs.iter().map(|j| j.job_id.clone()).collect();
    let stored = store.jobs_by_id("examplebucket-1250000000", &ids).await.unwrap();
    assert_eq!(format!("{inserted:?}"), format!("{stored:?}"), "every field as stored, ids included");
}

#[sqlx::test(migrator = "stowaway_store::MIGRATOR")]
async fn submits_hand_their_jobs_to_a_worker_in_the_process_while_it_has_room(pool: PgPool) {
    let (store, q) = setup(pool).await;
    let paused = store.ensure_queue("paused-1250000000", "ap-chongqing").await.unwrap().queue_id;
    store.set_paused(&paused, true).await.unwrap();
    let worker = Uuid::new_v4();
    let mut direct = store.take_jobs_directly(worker, LEASE);
    let room = direct.room();
    room.offer(3);

    // A batch of three fits: the two for the running queue start Running under the worker, as
    // its claim would leave them; the paused queue's job waits as Pause and gives its room back.
    let jobs = [job(&q, 0, 0), job(&q, 1, 2), job(&paused, 2, 0)];
    let submitted = store.insert_jobs(&jobs).await.unwrap();
    let states: Vec<JobState> = submitted.iter().map(|s| s.state).collect();
    assert_eq!(states, [JobState::Running, JobState::Running, JobState::Pause]);
    assert_eq!(room.free(), 1, "two promised until the worker has taken them");
    let handed =
        tokio::time::timeout(Duration::from_secs(5), direct.recv()).await.expect("handed over").unwrap();
    room.taken(handed.len());
    assert_eq!(room.free(), 3);
    let got: Vec<(&str, i32, &str, serde_json::Value)> =
        handed.iter().map(|c| (c.job_id.as_str(), c.attempt, c.object.as_str(), c.request.clone())).collect();
    let want: Vec<(&str, i32, &str, serde_json::Value)> =
        jobs[..2].iter().map(|j| (j.job_id.as_str(), 1, j.object.as_str(), j.request.clone())).collect();
    assert_eq!(got, want);
    let leased: Vec<(i64, i16, i32, Option<Uuid>, bool)> = sqlx::query_as(
        "SELECT id, state, attempt, locked_by, started_at IS NOT NULL AND locked_until > now()
         FROM jobs WHERE job_id = ANY($1) ORDER BY id",
    )
    .bind([&jobs[0].job_id, &jobs[1].job_id])
    .fetch_all(store.pool())
    .await
    .unwrap();
    let expected: Vec<_> = handed.iter().map(|c| (c.id, 1, 1, Some(worker), true)).collect();
    assert_eq!(leased, expected);
    assert!(store.claim(Uuid::new_v4(), 10, LEASE).await.unwrap().is_empty(), "nothing left to claim");
    let verdicts: Vec<Completion> = handed.iter().map(done).collect();
    assert_eq!(store.complete(worker, &verdicts).await.unwrap().len(), 2, "its fence holds");

    // Without room for the whole batch, jobs go to the table for any worker to claim.
    room.offer(1);
    let later = store.insert_jobs(&[job(&q, 3, 0), job(&q, 4, 0)]).await.unwrap();
    assert!(later.iter().all(|s| s.state == JobState::Submitted));
    assert_eq!(store.claim(Uuid::new_v4(), 10, LEASE).await.unwrap().len(), 2);

    // Closing returns what was handed over but not yet taken, for the worker to release.
    let last = store.insert_jobs(&[job(&q, 5, 0)]).await.unwrap();
    assert_eq!(last[0].state, JobState::Running);
    let left = direct.close().await;
    assert_eq!(store.release(worker, &left).await.unwrap(), 1);
    assert_eq!(store.states(&[last[0].job_id.clone()]).await.unwrap()[0].1, JobState::Submitted);
    let after = store.insert_jobs(&[job(&q, 6, 0)]).await.unwrap();
    assert_eq!(after[0].state, JobState::Submitted, "nothing is handed to a closed worker");
}

#[sqlx::test(migrator = "stowaway_store::MIGRATOR")]
async fn lists_filter_by_verdict_and_key_prefix(pool: PgPool) {
    let (store, q) = setup(pool.clone()).await;
    let jobs: Vec<NewJob> = (0..4).map(|n| job(&q, n, 0)).collect();
    store.insert_jobs(&jobs).await.unwrap();
    let verdict = |suspicious: bool, kind: &str| {
        let mut p =
            serde_json::json!({"PicSize": 10, "PicType": "png", "Suspicious": suspicious.to_string()});
        if suspicious {
            p["SuspiciousType"] = kind.into();
        }
        serde_json::json!({"State": "Success", "ProcessResult": p})
    };
    for (j, result) in jobs.iter().zip([verdict(true, "MPEG-TS"), verdict(true, "ZIP"), verdict(false, "")]) {
        sqlx::query("UPDATE jobs SET state = 2, result = $2 WHERE job_id = $1")
            .bind(&j.job_id)
            .bind(result)
            .execute(&pool)
            .await
            .unwrap();
    }
    let base = JobFilter { bucket: "examplebucket-1250000000".into(), limit: 100, ..JobFilter::default() };
    let ids = |f: JobFilter| {
        let store = store.clone();
        async move {
            let mut ids: Vec<String> =
                store.list_jobs(&f).await.unwrap().into_iter().map(|r| r.object).collect();
            ids.sort();
            ids
        }
    };
    let suspicious = JobFilter { suspicious: Some(true), ..base.clone() };
    assert_eq!(ids(suspicious.clone()).await, ["input/0.png", "input/1.png"]);
    assert_eq!(
        ids(JobFilter { suspicious: Some(false), ..base.clone() }).await,
        ["input/2.png"],
        "unfinished: neither"
    );
    let zip = JobFilter { suspicious_type: Some("ZIP".into()), ..suspicious };
    assert_eq!(ids(zip).await, ["input/1.png"]);
    assert_eq!(
        ids(JobFilter { object_prefix: Some("input/3".into()), ..base.clone() }).await,
        ["input/3.png"]
    );
    assert!(
        ids(JobFilter { object_prefix: Some("input/%".into()), ..base }).await.is_empty(),
        "% is a character"
    );
}
