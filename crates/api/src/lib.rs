//! Stowaway's HTTP API: Tencent CI's ImageInspect job routes (`/jobs`), the picture queue
//! (`/picqueue`) and activation (`/picbucket`), on one listener. One state struct, one `router()`
//! per module merged here, one error type ([`ApiError`]) rendered as Tencent's `<Error>`.

mod auth;
mod buckets;
mod callbacks;
mod context;
mod error;
mod inspect;
mod jobs;
mod ops;
mod queues;
mod serve;
mod submitter;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::DefaultBodyLimit;
use axum::Router;
use stowaway_objects::Objects;
use stowaway_store::{Queue, Store};
use stowaway_wire::AddressPolicy;

pub use auth::{action_of, AccessKey, KeyRing};
pub use context::{bucket_from_host, Target};
pub use error::{ApiError, ApiResult};
pub use ops::{router as ops_router, MetricsRender, OpsCache, OpsState};
pub use serve::serve;
pub use submitter::Submitter;

/// What the API needs to know beyond the database.
#[derive(Clone, Debug)]
pub struct ApiConfig {
    /// Bucket for requests whose `Host` names none (plain-HTTP users, SDKs in "domain" mode).
    pub default_bucket: Option<String>,
    /// Region for requests whose `Host` names none.
    pub default_region: String,
    /// Refuse jobs for buckets not activated with `POST /picbucket` (default: activate on first use).
    pub require_activation: bool,
    /// Shown as the queue's `MaxConcurrent`: the worker's concurrency.
    pub max_concurrent: u32,
    /// Largest request body accepted (bytes).
    pub body_limit: usize,
    /// Where Url callbacks may point; a URL whose host already shows it cannot be reached is
    /// refused at submit (the notifier checks resolved addresses again when it connects).
    pub callback_addresses: AddressPolicy,
    /// Whether Kafka brokers are configured: TDMQ callbacks are refused without them.
    pub kafka_enabled: bool,
    /// The keys requests must be signed with; `None` turns authentication off.
    pub keys: Option<KeyRing>,
}

impl Default for ApiConfig {
    fn default() -> ApiConfig {
        ApiConfig {
            default_bucket: None,
            default_region: "ap-guangzhou".into(),
            require_activation: false,
            max_concurrent: 8,
            body_limit: 64 * 1024,
            callback_addresses: AddressPolicy::public_only(),
            kafka_enabled: false,
            keys: None,
        }
    }
}

/// Shared by every handler; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub config: Arc<ApiConfig>,
    pub submitter: Submitter,
    /// The object store, for synchronous inspection (`None`: such requests get 501).
    pub objects: Option<Objects>,
    /// Renders `/metrics` (`None`: 404).
    pub metrics: Option<MetricsRender>,
    /// Synchronous inspections running at once; more wait.
    sync_inspections: Arc<tokio::sync::Semaphore>,
    ops_cache: OpsCache,
    /// Active queues by bucket, briefly: saves a query per submit. A deactivation or a new queue
    /// is seen within `QUEUE_CACHE_TTL`; pausing needs no cache (the insert reads it).
    queues: Arc<Mutex<HashMap<String, (Queue, Instant)>>>,
}

const QUEUE_CACHE_TTL: Duration = Duration::from_secs(1);
/// Synchronous inspections an API process runs at once (fetch + detector), per process.
const SYNC_INSPECTIONS: usize = 32;
const QUEUE_CACHE_MAX: usize = 10_000;

impl AppState {
    /// Must be called inside a Tokio runtime (the submitter's batching tasks start here).
    pub fn new(store: Store, config: ApiConfig) -> AppState {
        let submitter = Submitter::start(store.clone());
        AppState {
            store,
            config: Arc::new(config),
            submitter,
            objects: None,
            metrics: None,
            sync_inspections: Arc::new(tokio::sync::Semaphore::new(SYNC_INSPECTIONS)),
            ops_cache: OpsCache::default(),
            queues: Arc::default(),
        }
    }

    /// Serves synchronous ImageInspect from `objects`.
    pub fn with_objects(mut self, objects: Objects) -> AppState {
        self.objects = Some(objects);
        self
    }

    /// Serves `/metrics` with `render`.
    pub fn with_metrics(mut self, render: MetricsRender) -> AppState {
        self.metrics = Some(render);
        self
    }

    /// Drops the cached queue of `bucket` (this process sees its own changes at once).
    pub(crate) fn forget_queue(&self, bucket: &str) {
        self.queues.lock().expect("cache").remove(bucket);
    }

    /// The bucket's queue for a new job: created on first use unless activation is required;
    /// refused when the bucket was deactivated (`DELETE /picbucket`).
    pub(crate) async fn queue_for_jobs(&self, target: &Target) -> ApiResult<Queue> {
        if let Some((q, at)) = self.queues.lock().expect("cache").get(&target.bucket) {
            if at.elapsed() < QUEUE_CACHE_TTL {
                return Ok(q.clone());
            }
        }
        let queue = match self.store.queue_of_bucket(&target.bucket).await? {
            Some(q) => Some(q),
            None if !self.config.require_activation => {
                Some(self.store.ensure_queue(&target.bucket, &target.region).await?)
            }
            None => None,
        };
        match queue {
            Some(q) if q.activated => {
                let mut cache = self.queues.lock().expect("cache");
                if cache.len() >= QUEUE_CACHE_MAX {
                    cache.clear();
                }
                cache.insert(target.bucket.clone(), (q.clone(), Instant::now()));
                Ok(q)
            }
            _ => Err(ApiError::Client(stowaway_wire::WireError {
                status: 403,
                code: "AccessDenied",
                message: format!(
                    "image async processing is not enabled for bucket {}; POST /picbucket enables it",
                    target.bucket
                ),
            })),
        }
    }
}

/// Every route, with request ids and `<Error>` rendering around them, behind the signature check;
/// object-processing queries (`?ci-process=ImageInspect`) go to synchronous inspection first.
pub fn router(state: AppState) -> Router {
    let limit = state.config.body_limit;
    Router::new()
        .merge(jobs::router())
        .merge(callbacks::router())
        .merge(queues::router())
        .merge(buckets::router())
        .merge(ops::routes())
        .layer(DefaultBodyLimit::max(limit))
        .layer(axum::middleware::from_fn_with_state(state.clone(), inspect::object_processing))
        .layer(axum::middleware::from_fn_with_state(state.clone(), auth::authenticate))
        .layer(axum::middleware::from_fn(context::request_context))
        .with_state(state)
}

impl axum::extract::FromRef<AppState> for OpsState {
    fn from_ref(app: &AppState) -> OpsState {
        OpsState {
            store: app.store.clone(),
            objects: app.objects.clone(),
            bucket: app.config.default_bucket.clone(),
            metrics: app.metrics.clone(),
            cache: app.ops_cache.clone(),
        }
    }
}
