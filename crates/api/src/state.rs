//! The one state every handler shares ([`AppState`]) and what it is built from ([`ApiConfig`]).
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::FromRef;
use stowaway_objects::Objects;
use stowaway_store::{Queue, Store, WorkflowRecord};
use stowaway_wire::AddressPolicy;

use crate::auth::KeyRing;
use crate::ops::{MetricsRender, OpsCache, OpsState};
use crate::submitter::Submitter;

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
    /// The bearer token bucket notifications (`POST /events/s3`) must carry; `None` refuses them.
    pub events_token: Option<String>,
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
            events_token: None,
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
    pub(crate) sync_inspections: Arc<tokio::sync::Semaphore>,
    ops_cache: OpsCache,
    /// Active queues by bucket, for submits (a deactivation or a new queue is seen within the
    /// TTL; pausing needs no cache: the insert reads it).
    pub(crate) queues: BucketCache<Queue>,
    /// Active workflows by bucket, for bucket events.
    pub(crate) workflows: BucketCache<Arc<Vec<WorkflowRecord>>>,
}

/// Synchronous inspections an API process runs at once (fetch + detector), per process.
const SYNC_INSPECTIONS: usize = 32;

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
            queues: BucketCache::default(),
            workflows: BucketCache::default(),
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
}

impl FromRef<AppState> for OpsState {
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

/// Something per bucket, briefly: saves a query per submit or event. A change made by another
/// process is seen within [`BucketCache::TTL`]; this process sees its own at once
/// ([`BucketCache::forget`]).
#[derive(Clone)]
pub(crate) struct BucketCache<V>(Arc<Mutex<HashMap<String, (V, Instant)>>>);

impl<V> Default for BucketCache<V> {
    fn default() -> Self {
        BucketCache(Arc::default())
    }
}

impl<V: Clone> BucketCache<V> {
    const TTL: Duration = Duration::from_secs(1);
    const MAX: usize = 10_000;

    /// The bucket's value, if cached within the TTL.
    pub(crate) fn get(&self, bucket: &str) -> Option<V> {
        let cache = self.0.lock().expect("cache");
        cache.get(bucket).filter(|(_, at)| at.elapsed() < Self::TTL).map(|(v, _)| v.clone())
    }

    pub(crate) fn insert(&self, bucket: &str, value: &V) {
        let mut cache = self.0.lock().expect("cache");
        if cache.len() >= Self::MAX {
            cache.clear();
        }
        cache.insert(bucket.to_string(), (value.clone(), Instant::now()));
    }

    /// Drops the cached value of `bucket`.
    pub(crate) fn forget(&self, bucket: &str) {
        self.0.lock().expect("cache").remove(bucket);
    }
}
