//! Group commit for `POST /jobs`. One insert transaction per request would cap submissions at the
//! disk's commit rate (a few hundred per second); instead requests queue here and one task inserts
//! whatever has gathered in one statement, while the next batch gathers. A job is acknowledged
//! only after its batch committed, so an accepted job is never lost.
//! One statement at a time: with several, a steady load gave nearly every job a commit of its
//! own, and those fixed costs doubled the submit→callback latency (BENCHMARKS.md).
use stowaway_store::{Error, JobRecord, NewJob, Store};
use tokio::sync::{mpsc, oneshot};

type Reply = oneshot::Sender<Result<JobRecord, Error>>;

/// Largest batch per statement.
const MAX_BATCH: usize = 512;

#[derive(Clone)]
pub struct Submitter {
    tx: mpsc::Sender<(NewJob, Reply)>,
}

impl Submitter {
    pub fn start(store: Store) -> Submitter {
        let (tx, rx) = mpsc::channel::<(NewJob, Reply)>(4 * MAX_BATCH);
        tokio::spawn(insert_batches(store, rx));
        Submitter { tx }
    }

    /// Inserts `job`; resolves with its record once it is committed. With the inserter gone
    /// (shutting down) the store is as good as unavailable.
    pub async fn submit(&self, job: NewJob) -> Result<JobRecord, Error> {
        let (reply, answer) = oneshot::channel();
        let closed = Error::closed;
        self.tx.send((job, reply)).await.map_err(|_| closed())?;
        answer.await.unwrap_or_else(|_| Err(closed()))
    }

    /// Inserts `jobs` (in whatever batches they fall into); resolves, in order, once all are
    /// committed or failed.
    pub async fn submit_all(&self, jobs: Vec<NewJob>) -> Vec<Result<JobRecord, Error>> {
        let mut answers = Vec::with_capacity(jobs.len());
        for job in jobs {
            let (reply, answer) = oneshot::channel();
            if self.tx.send((job, reply)).await.is_err() {
                break;
            }
            answers.push(answer);
        }
        let mut out = Vec::with_capacity(answers.len());
        for answer in answers {
            out.push(answer.await.unwrap_or_else(|_| Err(Error::closed())));
        }
        out
    }
}

async fn insert_batches(store: Store, mut rx: mpsc::Receiver<(NewJob, Reply)>) {
    loop {
        let mut batch = Vec::new();
        if rx.recv_many(&mut batch, MAX_BATCH).await == 0 {
            return; // every Submitter is gone
        }
        let (jobs, replies): (Vec<NewJob>, Vec<Reply>) = batch.into_iter().unzip();
        match store.insert_jobs(&jobs).await {
            Ok(records) => {
                // In input order; a job whose queue vanished meanwhile has none.
                let mut records = records.into_iter().peekable();
                for (job, reply) in jobs.iter().zip(replies) {
                    let r = records.next_if(|r| r.job_id == job.job_id).ok_or(Error::NoSuchQueue);
                    let _ = reply.send(r);
                }
            }
            Err(e) => {
                tracing::error!(error = %e, jobs = jobs.len(), "inserting a batch of jobs failed");
                for reply in replies {
                    let _ = reply.send(Err(e.clone()));
                }
            }
        }
    }
}
