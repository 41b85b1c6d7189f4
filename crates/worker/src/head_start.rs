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

/// A job told of but not handed over by then never will be (its statement failed, its queue
/// is paused, its run existed already); its fetch is dropped.
const KEEP: Duration = Duration::from_secs(60);

/// The fetches begun for jobs on their way, by job id.
pub(crate) struct HeadStarts {
    objects: Objects,
    /// The most reads held at once: a submit is offered no more than the free slots, so only
    /// jobs that will never come (a paused queue's, submitted again and again) can reach it, and
    /// their objects must not pile up in memory; jobs beyond it are fetched when they run.
    most: usize,
    begun: Mutex<HashMap<String, Early>>,
}

struct Early {
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
            let fetch = tokio::spawn(async move { objects.fetch(&bucket, &object).await });
            let b = Early {
                since: Instant::now(),
                bucket: job.bucket.clone(),
                object: job.object.clone(),
                fetch,
            };
            begun.insert(job.job_id.clone(), b);
        }
    }

    /// The object of `job` as the fetch begun for it read it, if one was.
    pub(crate) async fn take(&self, job: &Claimed) -> Option<Result<Fetched, ObjectError>> {
        let mut b = self.begun.lock().expect("head starts").remove(&job.job_id)?;
        if (b.bucket.as_str(), b.object.as_str()) != (job.bucket.as_str(), job.object.as_str()) {
            return None;
        }
        (&mut b.fetch).await.ok()
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
    async fn a_job_told_of_takes_its_fetch_once_and_one_never_handed_over_is_dropped() {
        let starts = HeadStarts::new(unreachable_objects(), 3);
        (starts.hook())(&[job("c1"), job("c2")]);
        assert_eq!(starts.len(), 2);
        assert!(starts.take(&claimed("c3", "a.png")).await.is_none(), "never told of");
        assert!(starts.take(&claimed("c2", "other.png")).await.is_none(), "not the object told of");
        assert!(starts.take(&claimed("c1", "a.png")).await.is_some());
        assert!(starts.take(&claimed("c1", "a.png")).await.is_none(), "taken once");
        for early in starts.begun.lock().unwrap().values_mut() {
            early.since -= KEEP; // as if a minute went by
        }
        (starts.hook())(&[job("c4")]);
        assert_eq!(starts.len(), 1, "the jobs never handed over are dropped");
        (starts.hook())(&[job("c5"), job("c6"), job("c7")]);
        assert_eq!(starts.len(), 3, "no more reads held than the most");
        assert!(starts.take(&claimed("c7", "a.png")).await.is_none(), "fetched when it runs");
    }
}
