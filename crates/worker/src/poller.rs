//! Polling for stores that send no bucket events (`STOWAWAY_WORKFLOW_POLL_SECS`; garage, s3s-fs
//! and many S3 hosts). Each Active workflow's prefix is listed; every object modified since the
//! workflow's cursor (less [`LOOK_BACK`]) that its ExtFilter admits starts a run, named like the
//! bucket event of the same upload (bucket, key, ETag, Last-Modified in ms), so an event and a
//! poll of one upload make one job, and so do two pollers. A workflow's first poll only sets its
//! cursor: what was stored before is a batch job's business.
use std::time::Duration;

use chrono::{DateTime, Utc};
use stowaway_engine::Service;
use stowaway_objects::{ObjectError, Objects};
use stowaway_store::{NewJob, Store, WorkflowRecord};
use stowaway_wire::upload_occurrence;
use tokio::sync::watch;

/// How far before its cursor a workflow's prefix is looked at again: stores list some uploads
/// late (S3 dates a multipart upload from its start), and runs already made are not made twice.
pub const LOOK_BACK: Duration = Duration::from_secs(300);

/// Runs inserted per statement.
const BATCH: usize = 1000;

pub struct WorkflowPoller {
    pub store: Store,
    pub objects: Objects,
    pub every: Duration,
}

enum Failed {
    Store(stowaway_store::Error),
    Storage(ObjectError),
}

impl From<stowaway_store::Error> for Failed {
    fn from(e: stowaway_store::Error) -> Failed {
        Failed::Store(e)
    }
}

impl From<ObjectError> for Failed {
    fn from(e: ObjectError) -> Failed {
        Failed::Storage(e)
    }
}

impl Service for WorkflowPoller {
    const NAME: &'static str = "workflow poller";

    fn every(&self) -> Duration {
        self.every
    }

    async fn run_once(&self, stop: &watch::Receiver<bool>) -> stowaway_store::Result<()> {
        for w in self.store.all_active_workflows().await? {
            if *stop.borrow() {
                break;
            }
            match self.poll(&w, stop).await {
                Ok(0) => {}
                Ok(started) => {
                    tracing::info!(workflow_id = %w.workflow_id, started, "workflow poll started runs")
                }
                Err(Failed::Store(e)) => return Err(e),
                // One bucket's store failing must not keep the others from being polled.
                Err(Failed::Storage(e)) => {
                    tracing::warn!(workflow_id = %w.workflow_id, bucket = %w.bucket, error = %e, "workflow poll failed")
                }
            }
        }
        Ok(())
    }
}

impl WorkflowPoller {
    /// One workflow's poll; how many runs it inserted.
    async fn poll(&self, w: &WorkflowRecord, stop: &watch::Receiver<bool>) -> Result<usize, Failed> {
        let Some(queue) = self.store.queue_of_bucket(&w.bucket).await?.filter(|q| q.activated) else {
            tracing::debug!(bucket = %w.bucket, "no active queue: not polled");
            return Ok(0);
        };
        let cursor = self.store.poll_cursor(&w.workflow_id).await?;
        // After the first poll's findings, and not long before the last poll's.
        let admits =
            |modified| cursor.is_some_and(|(since, seen)| modified > since && modified >= seen - LOOK_BACK);
        let mut newest = cursor.map(|(_, seen)| seen);
        let (mut batch, mut started) = (Vec::new(), 0);
        let mut continuation: Option<String> = None;
        loop {
            let page = self
                .objects
                .list_page(&w.bucket, &w.spec.start.object_prefix, continuation.as_deref(), 1000)
                .await?;
            for o in page.objects {
                let Some(modified) = DateTime::<Utc>::from_timestamp_millis(o.modified_ms) else { continue };
                newest = newest.max(Some(modified));
                // Content types are not listed: a poll judges by suffix.
                if !admits(modified) || !w.spec.triggers(&o.key, None) {
                    continue;
                }
                let occurrence = upload_occurrence(&w.bucket, &o.key, &o.etag, &o.modified_ms.to_string());
                batch.push(w.run(&queue, &o.key, Some(&occurrence)));
                if batch.len() == BATCH {
                    started += self.insert(&mut batch).await?;
                }
            }
            continuation = page.next;
            if continuation.is_none() || *stop.borrow() {
                break;
            }
        }
        started += self.insert(&mut batch).await?;
        // A first poll of an empty prefix starts the cursor at our clock (LOOK_BACK covers skew).
        let seen_until = newest.unwrap_or_else(Utc::now);
        if continuation.is_none() {
            self.store.advance_poll_cursor(&w.workflow_id, seen_until).await?;
        }
        Ok(started)
    }

    async fn insert(&self, batch: &mut Vec<NewJob>) -> Result<usize, Failed> {
        if batch.is_empty() {
            return Ok(0);
        }
        let inserted = self.store.insert_jobs(batch).await?.len();
        batch.clear();
        Ok(inserted)
    }
}
