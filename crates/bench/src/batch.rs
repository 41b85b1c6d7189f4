//! `stowaway-bench batch`: a batch job over a prefix of many objects, from the first listing to
//! the last verdict (lister, queue, S3 fetch, detector), in objects/s, against the same objects
//! submitted as jobs up front and run by the same worker (`e2e`'s path), alternately in one
//! process; and the process's peak resident memory, which bounds the lister's.
use std::sync::Arc;
use std::time::{Duration, Instant};

use stowaway_objects::{FolderMemo, ObjectStoreConfig, Objects};
use stowaway_store::Store;
use stowaway_wire::parse_batch;
use stowaway_worker::lister::{run_lister, ListerConfig, Walk};
use stowaway_worker::{run_worker, WorkerConfig};
use tokio::sync::{watch, Semaphore};

use super::e2e::{bench_context, through_queue};
use super::{median, BoxError, Scratch};

#[derive(clap::Args)]
pub struct BatchArgs {
    /// Server to benchmark on; a scratch database is created there and dropped afterwards.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    database_url: String,
    /// Objects under the batch's prefix (half clean PNGs, half carrying MPEG-TS).
    #[arg(long, default_value_t = 100_000)]
    objects: usize,
    /// Worker concurrency (both sides).
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    #[arg(long, default_value_t = 2)]
    runs: usize,
    /// Keys the lister asks for per page; repeat to compare sizes in the same runs (S3 gives at
    /// most 1,000, s3s-fs as many as asked).
    #[arg(long = "page-size", default_values_t = [1000])]
    page_sizes: Vec<i32>,
    /// How the lister walks the prefix (`flat`, `folders`); repeat to compare, with each page size.
    #[arg(long = "walk", default_values = ["flat"])]
    walks: Vec<Walk>,
}

impl BatchArgs {
    /// Each page size with each walk.
    fn listings(&self) -> Vec<(i32, Walk)> {
        self.page_sizes.iter().flat_map(|&p| self.walks.iter().map(move |&w| (p, w))).collect()
    }
}

/// Every key under `prefix` the way `walk` lists it, and how many there were.
async fn list_alone(
    objects: &Objects,
    bucket: &str,
    prefix: &str,
    (page_size, walk): (i32, Walk),
) -> Result<usize, BoxError> {
    let (mut listed, mut next, mut memo) = (0usize, None::<String>, FolderMemo::default());
    loop {
        next = match walk {
            Walk::Flat => {
                let page = objects.list_page(bucket, prefix, next.as_deref(), page_size).await?;
                listed += page.objects.len();
                page.next
            }
            Walk::Folders => {
                let (page, last) =
                    objects.list_tree_step(bucket, prefix, next.as_deref(), page_size, &mut memo).await?;
                listed += page.len();
                last
            }
        };
        if next.is_none() {
            return Ok(listed);
        }
    }
}

pub async fn batch(a: BatchArgs) -> Result<(), BoxError> {
    let s3 = ObjectStoreConfig::from_env()?;
    let objects = Objects::new(&s3);
    let scratch = Scratch::create(&a.database_url, 16).await?;
    let result = runs(&a, &scratch, &objects).await;
    scratch.drop_it().await?;
    result
}

/// The process's peak and current resident memory, in MiB (Linux).
fn memory_mib() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .map_or(0.0, |kb| kb / 1024.0)
    };
    (field("VmHWM:"), field("VmRSS:"))
}

async fn upload(objects: &Objects, bucket: &str, keys: &[String]) -> Result<(), BoxError> {
    let permits = Arc::new(Semaphore::new(32));
    let mut tasks = tokio::task::JoinSet::new();
    for (i, key) in keys.iter().enumerate() {
        let permit = permits.clone().acquire_owned().await?;
        let (objects, bucket, key) = (objects.clone(), bucket.to_string(), key.clone());
        tasks.spawn(async move {
            let _permit = permit;
            let body =
                if i % 2 == 0 { stowaway_testkit::clean_png() } else { stowaway_testkit::png_with_ts(20) };
            objects.put(&bucket, &key, body).await.map_err(|e| format!("{}: {}", e.code, e.message))
        });
        while tasks.len() > 64 {
            tasks.join_next().await.expect("a task")??;
        }
    }
    while let Some(r) = tasks.join_next().await {
        r??;
    }
    Ok(())
}

async fn runs(a: &BatchArgs, scratch: &Scratch, objects: &Objects) -> Result<(), BoxError> {
    let bucket = format!("batch{}-1250000000", std::process::id());
    objects.create_bucket(&bucket).await.map_err(|e| format!("{}: {}", e.code, e.message))?;
    // A thousand objects a folder, as buckets are laid out (s3s-fs slows down on one huge folder).
    let keys: Vec<String> = (0..a.objects).map(|i| format!("sweep/{:04}/{i:07}.png", i / 1000)).collect();
    let uploading = Instant::now();
    upload(objects, &bucket, &keys).await?;
    println!(
        "batch job over {} objects ({:.0} s to upload), worker concurrency {}, {} runs",
        a.objects,
        uploading.elapsed().as_secs_f64(),
        a.concurrency,
        a.runs
    );
    // The store's own listing speed bounds any batch: measured alone, page after page.
    for listing in a.listings() {
        let started = Instant::now();
        let listed = list_alone(objects, &bucket, "sweep/", listing).await?;
        println!(
            "  listing alone, {} keys asked per page, {:?}: {listed} keys at {:.0} keys/s",
            listing.0,
            listing.1,
            listed as f64 / started.elapsed().as_secs_f64()
        );
    }
    let store = Store::from_pool(scratch.pool.clone());
    let queue = store.ensure_queue(&bucket, "ap-chongqing").await?;
    let e2e = super::e2e::E2eArgs::with(&a.database_url, a.objects, a.concurrency);
    let listings = a.listings();
    let mut batched = vec![Vec::new(); listings.len()];
    let mut queued = Vec::new();
    let before = memory_mib();
    for run in 0..a.runs {
        // Each run alternates which side goes first.
        let mut sides: Vec<Option<usize>> = (0..listings.len()).map(Some).chain([None]).collect();
        if run % 2 == 1 {
            sides.reverse();
        }
        for side in sides {
            match side {
                Some(i) => batched[i].push(through_batch(a, listings[i], &store, objects, &bucket).await?),
                None => queued.push(
                    through_queue(&e2e, false, &store, objects, &bucket, &queue.queue_id, &keys).await?,
                ),
            }
        }
        let shown: Vec<String> = listings
            .iter()
            .zip(&batched)
            .map(|((p, w), b)| format!("batch (pages of {p}, {w:?}) {:.0}", b[run]))
            .collect();
        println!(
            "  run {}: {} objects/s; jobs submitted up front {:.0} /s",
            run + 1,
            shown.join(", "),
            queued[run]
        );
    }
    let after = memory_mib();
    let q = median(&mut queued);
    for ((page_size, walk), b) in listings.iter().zip(&mut batched) {
        let b = median(b);
        println!(
            "batch, pages of {page_size}, {walk:?}, listing to verdicts: median {b:.0} objects/s, ratio {:.2}",
            b / q
        );
    }
    println!("e2e, jobs queued up front: median {q:.0} /s");
    println!(
        "process memory: peak {:.0} MiB (before the runs {:.0}), resident now {:.0} MiB",
        after.0, before.0, after.1
    );
    Ok(())
}

async fn through_batch(
    a: &BatchArgs,
    (page_size, walk): (i32, Walk),
    store: &Store,
    objects: &Objects,
    bucket: &str,
) -> Result<f64, BoxError> {
    sqlx::query("TRUNCATE jobs, deliveries, batches").execute(store.pool()).await?;
    let ctx = bench_context(store, objects, false);
    let cfg = WorkerConfig { concurrency: a.concurrency, ..WorkerConfig::default() };
    let (stop, stopped) = watch::channel(false);
    let worker = tokio::spawn(run_worker(ctx, cfg, stopped.clone()));
    let listing = ListerConfig { page_size, walk, ..ListerConfig::default() };
    let lister = tokio::spawn(run_lister(store.clone(), objects.clone(), listing, stopped));
    let spec = parse_batch(
        b"<Request><Name>bench</Name><Type>Job</Type><Input><Prefix>sweep/</Prefix></Input>\
          <Operation><Tag>ImageInspect</Tag></Operation></Request>",
    )?;
    let started = Instant::now();
    let batch = store.create_batch(bucket, "ap-chongqing", &spec).await?;
    loop {
        let b = store.batches_by_id(bucket, std::slice::from_ref(&batch.batch_id)).await?.remove(0);
        if b.shown_state() == "Success" {
            if b.children as usize != a.objects {
                return Err(format!("the batch made {} children of {} objects", b.children, a.objects).into());
            }
            break;
        }
        if b.shown_state() == "Failed" {
            return Err(format!("the batch failed: {:?}", b.last_error).into());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let rate = a.objects as f64 / started.elapsed().as_secs_f64();
    let _ = stop.send(true);
    worker.await?;
    lister.await?;
    Ok(rate)
}
