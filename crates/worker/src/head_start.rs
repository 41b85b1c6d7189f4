//! Fetches begun before a job is handed over. A submit in this process tells the worker which
//! jobs its statement is about to hand it (`Store::tell_jobs_ahead`), and their GETs run while
//! the insert commits instead of after it: at a steady load that was about a millisecond of the
//! submit→callback path (BENCHMARKS.md, "A head start on the fetch"). Only the read starts
//! early; a job is judged, tagged and acted on once it is held, like any other.
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use stowaway_objects::{Fetched, ObjectError, Objects};
use stowaway_store::{Claimed, HeadStart, NewJob};
use tokio::task::JoinHandle;
use tracing::Instrument;

/// A read older than this is not used (its job waited, e.g. behind a pause, and its object may
/// have changed since) and is dropped: a handed-over job arrives within its statement's time.
const KEEP: Duration = Duration::from_secs(5);

/// The fetches begun for jobs on their way, by job id.
pub(crate) struct HeadStarts {
    objects: Objects,
    /// The most reads held at once: a submit is offered no more than the free slots, so only
    /// jobs that never come (a paused queue's, submitted again and again) can reach it, and
    /// their objects must not pile up in memory; jobs beyond it are fetched when they run.
    most: usize,
    begun: Mutex<HashMap<String, Early>>,
}

/// A read begun for one job.
pub(crate) struct Early {
    since: Instant,
    bucket: String,
    object: String,
    fetch: JoinHandle<Result<Fetched, ObjectError>>,
}

impl Drop for Early {
    fn drop(&mut self) {
        self.fetch.abort(); // nobody will read it (finished already: nothing happens)
    }
}

impl Early {
    /// What the read got; `None` if its task died (the job then fetches for itself).
    pub(crate) async fn read(mut self) -> Option<Result<Fetched, ObjectError>> {
        (&mut self.fetch).await.ok()
    }
}

impl HeadStarts {
    pub(crate) fn new(objects: Objects, most: usize) -> Arc<HeadStarts> {
        Arc::new(HeadStarts { objects, most, begun: Mutex::default() })
    }

    /// What the store calls before a submit's statement (see [`Store::tell_jobs_ahead`]).
    ///
    /// [`Store::tell_jobs_ahead`]: stowaway_store::Store::tell_jobs_ahead
    pub(crate) fn hook(self: &Arc<Self>) -> HeadStart {
        let this = self.clone();
        Arc::new(move |jobs: &[NewJob]| this.begin(jobs))
    }

    fn begin(&self, jobs: &[NewJob]) {
        let mut begun = self.begun.lock().expect("head starts");
        begun.retain(|_, b| b.since.elapsed() < KEEP);
        for job in jobs.iter().take(self.most.saturating_sub(begun.len())) {
            let (objects, bucket, object) = (self.objects.clone(), job.bucket.clone(), job.object.clone());
            let span = tracing::info_span!("head start", job_id = %job.job_id);
            let fetch = tokio::spawn(async move { objects.fetch(&bucket, &object).await }.instrument(span));
            let b = Early {
                since: Instant::now(),
                bucket: job.bucket.clone(),
                object: job.object.clone(),
                fetch,
            };
            begun.insert(job.job_id.clone(), b);
        }
    }

    /// The read begun for `job`, if one was and `job` is what it was begun for: the first run
    /// of a job just submitted (not a retry, nor one resuming a checkpoint), with the same
    /// object, within [`KEEP`]. Any read for its id is dropped either way.
    pub(crate) fn take(&self, job: &Claimed) -> Option<Early> {
        let mut begun = self.begun.lock().expect("head starts");
        begun.retain(|_, b| b.since.elapsed() < KEEP);
        let early = begun.remove(&job.job_id)?;
        let first_run = job.attempt == 1 && job.retries == 0 && job.result.is_none();
        let same =
            (early.bucket.as_str(), early.object.as_str()) == (job.bucket.as_str(), job.object.as_str());
        (first_run && same).then_some(early)
    }

    /// Drops every read (the worker stopped).
    pub(crate) fn clear(&self) {
        self.begun.lock().expect("head starts").clear();
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.begun.lock().expect("head starts").len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(id: &str) -> NewJob {
        NewJob {
            job_id: id.into(),
            queue_id: "p1".into(),
            bucket: "b-1250000000".into(),
            region: "ap-chongqing".into(),
            object: "a.png".into(),
            job_level: 0,
            request: serde_json::json!({}),
            once: false,
        }
    }

    fn claimed(id: &str, object: &str) -> Claimed {
        Claimed {
            id: 1,
            job_id: id.into(),
            attempt: 1,
            bucket: "b-1250000000".into(),
            region: "ap-chongqing".into(),
            object: object.into(),
            request: serde_json::json!({}),
            result: None,
            retries: 0,
            retrying_since: None,
        }
    }

    /// No server listens on the endpoint: each begun fetch ends in an error, which is enough to
    /// tell a fetch begun from none.
    fn unreachable_objects() -> Objects {
        let config = stowaway_objects::ObjectStoreConfig {
            endpoint: Some("http://127.0.0.1:9".into()),
            region: "us-east-1".into(),
            access_key_id: "id".into(),
            secret_access_key: "secret".into(),
            session_token: None,
            path_style: true,
            quick_ack: true,
        };
        Objects::new(&config)
    }

    #[tokio::test]
    async fn only_a_first_run_of_the_object_told_of_takes_its_read_once_and_old_reads_are_dropped() {
        let starts = HeadStarts::new(unreachable_objects(), 3);
        (starts.hook())(&[job("c1"), job("c2"), job("c3")]);
        assert_eq!(starts.len(), 3);
        assert!(starts.take(&claimed("c9", "a.png")).is_none(), "never told of");
        assert!(starts.take(&claimed("c2", "other.png")).is_none(), "not the object told of");
        assert!(starts.take(&Claimed { attempt: 2, ..claimed("c3", "a.png") }).is_none(), "a retry");
        assert_eq!(starts.len(), 1, "each dropped when its job came");
        let early = starts.take(&claimed("c1", "a.png")).expect("the first run");
        assert!(early.read().await.expect("the task ran").is_err(), "what the read got");
        assert!(starts.take(&claimed("c1", "a.png")).is_none(), "taken once");

        (starts.hook())(&[job("c4"), job("c5"), job("c6"), job("c7")]);
        assert_eq!(starts.len(), 3, "no more reads held than the most");
        assert!(starts.take(&claimed("c7", "a.png")).is_none(), "fetched when it runs");
        for early in starts.begun.lock().unwrap().values_mut() {
            early.since -= KEEP; // as if their jobs had waited
        }
        assert!(starts.take(&claimed("c4", "a.png")).is_none(), "too old to use");
        assert_eq!(starts.len(), 0, "old reads are dropped");
        for retried in [
            Claimed { retries: 1, ..claimed("c8", "a.png") },
            Claimed { result: Some(serde_json::json!({})), ..claimed("c8", "a.png") },
        ] {
            (starts.hook())(&[job("c8")]);
            assert!(starts.take(&retried).is_none(), "handed back or resuming a checkpoint");
        }
    }
}
