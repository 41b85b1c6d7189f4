//! Batch jobs' lister: the lease engine's third consumer. An item is a batch still listing; a
//! run lists one page (1,000 keys) from where the batch stopped, inserts that page's children,
//! and its outcome records where the next page starts, so a crash lists the page again and its
//! children (ids derived from the batch and the key) go in once. A batch waits while its queue
//! holds more than [`MAX_BACKLOG`] jobs (or a page, if pages are bigger: the workers must not run
//! dry while the next one is listed): children come at the rate the workers take them, and a
//! client's job never queues behind a whole bucket (JobLevel first, then age).
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use stowaway_engine::{Capacity, Consumer, LoopConfig, Ran};
use stowaway_objects::{FolderMemo, Listed, ObjectError, Objects};
use stowaway_store::{batch_children, ClaimedBatch, PageListed, Result, Store, WorkflowRecord};
use stowaway_wire::{BatchInput, BatchKind};
use tokio::sync::watch;
use uuid::Uuid;

use crate::tags;

/// Jobs a batch's queue may hold waiting before the batch lists its next page.
pub const MAX_BACKLOG: i64 = 5_000;
/// How long a batch waits for its queue to drain (the workers take thousands a second), or
/// after a storage hiccup.
const WAIT: Duration = Duration::from_millis(200);
/// GetObjectTagging calls in flight for a DetectorOutdated batch.
const TAG_READS: usize = 16;

#[derive(Clone, Debug)]
pub struct ListerConfig {
    /// Batches listed at once.
    pub concurrency: usize,
    /// The hold on a batch while one page is listed.
    pub lease: Duration,
    pub drain: Duration,
    /// Keys asked for per listing page (S3's most, 1,000, by default; some stores give more).
    pub page_size: i32,
    pub walk: Walk,
}

/// How a batch lists its prefix.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Walk {
    /// Flat pages with the store's continuation tokens: a request per page, right for S3.
    #[default]
    Flat,
    /// Folder by folder (`Delimiter=/`): a request per folder at least, but each reads one
    /// folder, for stores that read the whole bucket for every flat page (s3s-fs).
    Folders,
}

impl std::str::FromStr for Walk {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Walk, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "flat" => Ok(Walk::Flat),
            "folders" => Ok(Walk::Folders),
            other => Err(format!("{other:?}: expected flat or folders")),
        }
    }
}

/// Marks a checkpoint of a folder walk: the last key listed, not a store's token.
const AFTER: &str = "after:";

impl Default for ListerConfig {
    fn default() -> Self {
        ListerConfig {
            concurrency: 2,
            lease: Duration::from_secs(60),
            drain: Duration::from_secs(20),
            page_size: 1000,
            walk: Walk::Flat,
        }
    }
}

struct Batches {
    store: Store,
    objects: Objects,
    lister: Uuid,
    lease: Duration,
    page_size: i32,
    walk: Walk,
    /// Each folder-walking batch's memo between its steps in this process.
    memos: Memos,
}

type Memos = Arc<std::sync::Mutex<HashMap<i64, FolderMemo>>>;

impl Consumer for Batches {
    type Item = ClaimedBatch;
    type Outcome = PageListed;
    type Class = ();
    const ITEMS: &'static str = "batches";
    const OUTCOMES: &'static str = "listing steps";

    async fn claim(&self, k: usize) -> Result<Vec<ClaimedBatch>> {
        self.store.claim_batches(self.lister, k as i64, self.lease).await
    }

    fn start(
        &self,
        batch: ClaimedBatch,
    ) -> ((), impl std::future::Future<Output = Ran<PageListed>> + Send + 'static) {
        let (store, objects, memos) = (self.store.clone(), self.objects.clone(), self.memos.clone());
        let page = (self.page_size, self.walk);
        ((), async move {
            let id = batch.id;
            let mut memo = memos.lock().expect("not poisoned").remove(&id).unwrap_or_default();
            let listed = list_one_page(&store, &objects, batch, page, &mut memo).await;
            if listed.next_page.is_some() {
                memos.lock().expect("not poisoned").insert(id, memo);
            }
            Ran::Done(listed)
        })
    }

    async fn record(&self, steps: &[PageListed]) -> Result<usize> {
        self.store.record_pages(self.lister, steps).await
    }

    async fn release(&self, ids: &[i64]) -> Result<u64> {
        self.store.release_batches(self.lister, ids).await
    }
}

/// One listing step of `batch`; failures become the step's outcome (retry later, or the end).
async fn list_one_page(
    store: &Store,
    objects: &Objects,
    batch: ClaimedBatch,
    page: (i32, Walk),
    memo: &mut FolderMemo,
) -> PageListed {
    let step = |next_page, failed, wait| PageListed {
        id: batch.id,
        attempt: batch.attempt,
        next_page,
        failed,
        wait,
    };
    let again = |why: String| {
        tracing::warn!(batch_id = %batch.batch_id, error = %why, "batch listing step failed; retrying");
        step(batch.next_page.clone(), None, WAIT)
    };
    let queue = match store.queue_of_bucket(&batch.bucket).await {
        Ok(Some(q)) if q.activated => q,
        Ok(_) => {
            return step(None, Some(format!("bucket {} is not activated", batch.bucket)), Duration::ZERO)
        }
        Err(e) => return again(e.to_string()),
    };
    match store.queue_backlog(&queue.queue_id).await {
        Ok(waiting) if waiting > MAX_BACKLOG.max(page.0.into()) => {
            return step(batch.next_page.clone(), None, WAIT)
        }
        Ok(_) => {}
        Err(e) => return again(e.to_string()),
    }
    let mut workflows: Vec<WorkflowRecord> = Vec::new();
    if batch.spec.kind == BatchKind::Workflow {
        for id in &batch.spec.workflow_ids {
            match store.workflow(&batch.bucket, id).await {
                Ok(Some(w)) => workflows.push(w),
                Ok(None) => {
                    return step(None, Some(format!("workflow {id} no longer exists")), Duration::ZERO)
                }
                Err(e) => return again(e.to_string()),
            }
        }
    }
    let (keys, next_page) = match &batch.spec.input {
        BatchInput::Object(key) => (vec![key.clone()], None),
        BatchInput::Prefix(prefix) => {
            match next_keys(objects, &batch.bucket, prefix, batch.next_page.as_deref(), page, memo).await {
                Ok((listed, next)) => {
                    let keys = listed
                        .into_iter()
                        .filter(|o| batch.spec.includes(&o.key))
                        .filter(|o| {
                            chrono::DateTime::from_timestamp_millis(o.modified_ms)
                                .is_some_and(|m| batch.spec.admits(m))
                        })
                        .map(|o| o.key)
                        .collect();
                    (keys, next)
                }
                Err(e) if e.transient => return again(e.to_string()),
                Err(e) => return step(None, Some(format!("listing {}: {e}", batch.bucket)), Duration::ZERO),
            }
        }
    };
    let keys = match batch.spec.only_outdated {
        false => keys,
        true => match outdated_only(objects, &batch.bucket, keys).await {
            Ok(keys) => keys,
            Err(e) if e.transient => return again(e.to_string()),
            Err(e) => {
                let why = format!("reading the tags DetectorOutdated compares in {}: {e}", batch.bucket);
                return step(None, Some(why), Duration::ZERO);
            }
        },
    };
    let children: Vec<_> = keys.iter().flat_map(|k| batch_children(&batch, &queue, &workflows, k)).collect();
    match store.insert_jobs(&children).await {
        Ok(_) => step(next_page, None, Duration::ZERO),
        Err(e) => again(e.to_string()),
    }
}

/// The keys after checkpoint `from`, and the next checkpoint (`None`: the listing is over). A
/// checkpoint says how it was made, so a batch keeps its walk across a change of setting.
async fn next_keys(
    objects: &Objects,
    bucket: &str,
    prefix: &str,
    from: Option<&str>,
    (page_size, walk): (i32, Walk),
    memo: &mut FolderMemo,
) -> std::result::Result<(Vec<Listed>, Option<String>), ObjectError> {
    let folders = from.map_or(walk == Walk::Folders, |f| f.starts_with(AFTER));
    if folders {
        let after = from.and_then(|f| f.strip_prefix(AFTER));
        let (listed, last) = objects.list_tree_step(bucket, prefix, after, page_size, memo).await?;
        return Ok((listed, last.map(|key| format!("{AFTER}{key}"))));
    }
    let page = objects.list_page(bucket, prefix, from, page_size).await?;
    Ok((page.objects, page.next))
}

/// Of `keys`, those whose `stowaway-detector` tag is missing or older than this detector, in
/// their order, read [`TAG_READS`] at a time; a key deleted since the listing is left out.
async fn outdated_only(
    objects: &Objects,
    bucket: &str,
    keys: Vec<String>,
) -> std::result::Result<Vec<String>, ObjectError> {
    let mut reads = tokio::task::JoinSet::new();
    let (mut keys, mut kept) = (keys.into_iter().enumerate(), Vec::new());
    loop {
        while reads.len() < TAG_READS {
            let Some((i, key)) = keys.next() else { break };
            let (objects, bucket) = (objects.clone(), bucket.to_string());
            reads.spawn(async move {
                let read = objects.tags(&bucket, &key).await;
                (i, key, read)
            });
        }
        let Some(read) = reads.join_next().await else { break };
        match read.expect("a tag read does not panic") {
            (i, key, Ok(tags)) if tags::outdated(&tags) => kept.push((i, key)),
            (_, _, Ok(_)) => {}
            (_, _, Err(e)) if e.is_no_such_key() => {}
            (_, _, Err(e)) => return Err(e),
        }
    }
    kept.sort_unstable();
    Ok(kept.into_iter().map(|(_, key)| key).collect())
}

/// How many batches the lister holds: up to `concurrency`, each from claim to recorded step.
struct Listing {
    concurrency: usize,
    /// Held leases, and whether their run finished.
    held: HashMap<(i64, i32), bool>,
}

impl Capacity<()> for Listing {
    fn wanted(&self) -> usize {
        self.concurrency.saturating_sub(self.held.len())
    }

    fn begin_claim(&mut self, want: usize) -> usize {
        want.min(self.wanted())
    }

    fn end_claim(&mut self, _full: Option<bool>) {}

    fn take(&mut self, lease: (i64, i32), _: ()) -> bool {
        self.held.insert(lease, false).is_none()
    }

    fn finished(&mut self, lease: (i64, i32)) -> bool {
        if let Some(done) = self.held.get_mut(&lease) {
            *done = true;
        }
        false
    }

    fn recorded(&mut self, lease: (i64, i32)) -> bool {
        self.held.remove(&lease).is_some()
    }

    fn held(&self) -> Vec<i64> {
        self.held.keys().map(|l| l.0).collect()
    }

    fn drain(&mut self) -> Vec<i64> {
        self.held.iter().filter(|(_, done)| !**done).map(|(l, _)| l.0).collect()
    }
}

/// Lists batches until `shutdown`.
pub async fn run_lister(store: Store, objects: Objects, cfg: ListerConfig, shutdown: watch::Receiver<bool>) {
    let lister = Uuid::new_v4();
    let listener = store.listen_for_batches().await;
    let direct = store.take_batches_directly(lister, cfg.lease);
    let capacity = Listing { concurrency: cfg.concurrency.max(1), held: HashMap::new() };
    // A waiting batch is due again within a second; the poll finds it.
    let loop_cfg = LoopConfig { poll: WAIT, drain: cfg.drain, heartbeat: None };
    let (page_size, walk) = (cfg.page_size, cfg.walk);
    let memos = Memos::default();
    let batches = Arc::new(Batches { store, objects, lister, lease: cfg.lease, page_size, walk, memos });
    stowaway_engine::run(batches, capacity, direct, listener, loop_cfg, shutdown).await;
}
