//! `stowaway serve | api | worker | notifier`: the long-running parts, configured from the environment
//! (README "Configuration"), stopped by SIGINT or SIGTERM.
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use stowaway_api::{ApiConfig, AppState, EventsKafka, OpsCache, OpsState};
use stowaway_detect::Confidence;
use stowaway_engine::Maintenance;
use stowaway_notifier::{run_notifier, DeliveryRescuer};
use stowaway_objects::{ObjectStoreConfig, Objects};
use stowaway_store::Store;
use stowaway_worker::lister::{run_lister, ListerConfig};
use stowaway_worker::maintenance::{JobRescuer, JobScheduler, Pruner, PrunerConfig, RescuerConfig};
use stowaway_worker::poller::WorkflowPoller;
use stowaway_worker::{run_worker, JobContext, WorkerConfig};
use tokio::sync::watch;

use crate::auth_args::AuthArgs;
use crate::callback_args::CallbackArgs;
use crate::telemetry::{init_logging, install_metrics, LogFormat};

#[derive(clap::Args, Clone)]
pub struct ServiceArgs {
    /// PostgreSQL URL.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    database_url: String,
    /// Address the API listens on.
    #[arg(long, env = "STOWAWAY_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Bucket for requests whose Host names none (`<bucket>.ci.<region>.<domain>`).
    #[arg(long, env = "STOWAWAY_DEFAULT_BUCKET")]
    default_bucket: Option<String>,
    /// Region for requests whose Host names none.
    #[arg(long, env = "STOWAWAY_DEFAULT_REGION", default_value = "ap-guangzhou")]
    default_region: String,
    /// Refuse jobs for buckets not activated with `POST /picbucket`.
    #[arg(long, env = "STOWAWAY_REQUIRE_ACTIVATION", default_value_t = false)]
    require_activation: bool,
    /// Bearer token bucket notifications (`POST /events/s3`) must carry; unset refuses them.
    #[arg(long, env = "STOWAWAY_EVENTS_TOKEN", hide_env_values = true)]
    events_token: Option<String>,
    /// Kafka topics (comma-separated) to read bucket events from (brokers: STOWAWAY_KAFKA_BROKERS).
    #[arg(long, env = "STOWAWAY_EVENTS_KAFKA_TOPICS")]
    events_kafka_topics: Option<String>,
    /// The consumer group bucket events are read in.
    #[arg(long, env = "STOWAWAY_EVENTS_KAFKA_GROUP", default_value = "stowaway-events")]
    events_kafka_group: String,
    /// Jobs a worker runs at once.
    #[arg(long, env = "STOWAWAY_WORKER_CONCURRENCY", default_value_t = 8)]
    concurrency: usize,
    /// Seconds a claimed job is held without a heartbeat before the rescuer hands it to another worker.
    #[arg(long, env = "STOWAWAY_LEASE_SECS", default_value_t = 30)]
    lease_secs: u64,
    /// The lowest confidence at which AutoProcess acts (`possible`, `likely` or `certain`); a
    /// suspicious verdict below it is reported with AutoProcessResult `Skipped` and its object
    /// left alone. `possible` acts on every suspicious verdict, as Tencent does.
    #[arg(long, env = "STOWAWAY_AUTOPROCESS_MIN_CONFIDENCE", default_value = "possible")]
    autoprocess_min_confidence: String,
    /// Tag every object the worker judged (`stowaway-status=clean|suspicious|error`, its type, the
    /// detector's version, the time), merged with the object's own tags: Stowaway's extension,
    /// for bucket policies that deny reads of what is not `clean`.
    #[arg(long, env = "STOWAWAY_OBJECT_TAGS", default_value_t = false)]
    object_tags: bool,
    /// Base of `InputObjectUrl` in results and callbacks, as clients reach objects (a CDN, the
    /// store's public address): `<base>/<bucket>/<key>`, or with `{bucket}` in it
    /// (`https://{bucket}.img.example.com`) `<base>/<key>`. Default: the S3 endpoint.
    #[arg(long, env = "STOWAWAY_PUBLIC_OBJECT_URL")]
    public_object_url: Option<String>,
    /// The largest object inspected, in MiB (binary megabytes); a bigger one is refused before its
    /// body is read: the job fails, a synchronous inspection answers 400, `ImageTooLarge`.
    #[arg(long, env = "STOWAWAY_MAX_OBJECT_MB", default_value_t = 256, value_parser = clap::value_parser!(u64).range(1..))]
    max_object_mb: u64,
    /// Seconds a job waits out an object store it cannot reach (handed back with backoff, its
    /// verdict undecided) before it fails with the store's error.
    #[arg(long, env = "STOWAWAY_JOB_RETRY_SECS", default_value_t = stowaway_worker::inspect_job::DEFAULT_RETRY_FOR.as_secs())]
    job_retry_secs: u64,
    /// Poll each Active workflow's prefix this often (seconds) for new objects, for stores that
    /// send no bucket events; unset: no polling.
    #[arg(long, env = "STOWAWAY_WORKFLOW_POLL_SECS")]
    workflow_poll_secs: Option<u64>,
    /// Keys a batch job asks for per listing step (each step's children and its place in the
    /// listing are recorded before the next). S3 and MinIO give at most 1,000 whatever is asked;
    /// on a store that honours more and reads its whole bucket for every page (s3s-fs), 10,000
    /// lists ten times faster.
    #[arg(long, env = "STOWAWAY_BATCH_PAGE_SIZE", default_value_t = 1000, value_parser = clap::value_parser!(i32).range(1..=100_000))]
    batch_page_size: i32,
    /// How batch jobs list their prefix: `flat` pages (S3) or `folders` one at a time (s3s-fs).
    #[arg(long, env = "STOWAWAY_BATCH_LISTING", default_value = "flat")]
    batch_listing: stowaway_worker::lister::Walk,
    /// Days finished jobs stay queryable before the pruner deletes them.
    #[arg(long, env = "STOWAWAY_RETENTION_DAYS", default_value_t = 7)]
    retention_days: u64,
    /// Database connections for statements; each part that listens (worker, notifier, batch
    /// lister) holds one more of its own for LISTEN.
    #[arg(long, env = "STOWAWAY_DB_CONNECTIONS", default_value_t = 16)]
    db_connections: u32,
    #[command(flatten)]
    callbacks: CallbackArgs,
    #[command(flatten)]
    auth: AuthArgs,
    /// Where `/healthz`, `/readyz` and `/metrics` are served besides the API's own listener (worker
    /// and notifier processes have no other).
    #[arg(long, env = "STOWAWAY_OPS_LISTEN")]
    ops_listen: Option<SocketAddr>,
    /// Log lines as `text` or `json`.
    #[arg(long, env = "STOWAWAY_LOG_FORMAT", value_enum, default_value = "text")]
    log_format: LogFormat,
    /// Seconds a stopping process gives running jobs and callbacks to finish before handing them
    /// back (SIGTERM, SIGINT).
    #[arg(long, env = "STOWAWAY_SHUTDOWN_GRACE_SECS", default_value_t = 20)]
    shutdown_grace_secs: u64,
}

impl ServiceArgs {
    /// `STOWAWAY_AUTOPROCESS_MIN_CONFIDENCE`, checked in every part (like every setting) before
    /// anything connects.
    fn min_confidence(&self) -> Result<Confidence, String> {
        Confidence::from_name(&self.autoprocess_min_confidence).ok_or_else(|| {
            format!(
                "STOWAWAY_AUTOPROCESS_MIN_CONFIDENCE must be possible, likely or certain, not {:?}",
                self.autoprocess_min_confidence
            )
        })
    }
}

/// Which parts a process runs; `serve` runs them all (and migrates first).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Parts {
    pub api: bool,
    pub worker: bool,
    pub notifier: bool,
}

impl Parts {
    pub const ALL: Parts = Parts { api: true, worker: true, notifier: true };
    pub const API: Parts = Parts { api: true, worker: false, notifier: false };
    pub const WORKER: Parts = Parts { api: false, worker: true, notifier: false };
    pub const NOTIFIER: Parts = Parts { api: false, worker: false, notifier: true };
}

pub fn run(args: ServiceArgs, parts: Parts) -> ExitCode {
    init_logging(args.log_format);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    match runtime.block_on(serve(args, parts)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One line, for people reading a failed start (in JSON too when logs are JSON).
            if args_wants_json() {
                tracing::error!("{e}");
            } else {
                eprintln!("stowaway: {e}");
            }
            ExitCode::from(2)
        }
    }
}

impl ServiceArgs {
    /// Where bucket events are read from Kafka, if anywhere; topics without brokers is a
    /// configuration error.
    fn events_kafka(&self) -> Result<Option<EventsKafka>, String> {
        let topics: Vec<String> = match &self.events_kafka_topics {
            None => return Ok(None),
            Some(t) => t.split(',').map(str::trim).filter(|t| !t.is_empty()).map(String::from).collect(),
        };
        if topics.is_empty() {
            return Ok(None);
        }
        let Some(brokers) = self.callbacks.kafka_brokers() else {
            return Err("STOWAWAY_EVENTS_KAFKA_TOPICS needs STOWAWAY_KAFKA_BROKERS".into());
        };
        Ok(Some(EventsKafka { brokers, topics, group: self.events_kafka_group.clone() }))
    }
}

fn args_wants_json() -> bool {
    std::env::var("STOWAWAY_LOG_FORMAT").is_ok_and(|v| v.eq_ignore_ascii_case("json"))
}

async fn serve(args: ServiceArgs, parts: Parts) -> Result<(), String> {
    // Configuration errors first, before anything starts.
    let notifier_cfg = if parts.notifier { Some(args.callbacks.notifier_config()?) } else { None };
    let callback_addresses = args.callbacks.address_policy()?;
    let min_confidence = args.min_confidence()?;
    let events_kafka = if parts.api { args.events_kafka()? } else { None };
    let keys = if parts.api { args.auth.key_ring(args.listen)? } else { None };
    let objects_cfg = if parts.api || parts.worker { Some(ObjectStoreConfig::from_env()?) } else { None };
    // Listeners too: a taken port is a configuration error like any other.
    let api_listener = if parts.api {
        Some(
            tokio::net::TcpListener::bind(args.listen)
                .await
                .map_err(|e| format!("listening on {} (STOWAWAY_LISTEN): {e}", args.listen))?,
        )
    } else {
        None
    };
    let ops_listener = match args.ops_listen {
        Some(addr) => Some(
            tokio::net::TcpListener::bind(addr)
                .await
                .map_err(|e| format!("listening on {addr} (STOWAWAY_OPS_LISTEN): {e}"))?,
        ),
        None => None,
    };
    let store = Store::connect(&args.database_url, args.db_connections)
        .await
        .map_err(|e| format!("connecting to the database: {e}"))?;
    if parts == Parts::ALL {
        store.migrate().await.map_err(|e| format!("applying migrations: {e}"))?;
    }
    let metrics = install_metrics()?;
    // One S3 client (one connection pool) for every part of this process.
    let objects =
        objects_cfg.as_ref().map(|c| Objects::new(c).with_max_object_bytes(args.max_object_mb << 20));
    let grace = Duration::from_secs(args.shutdown_grace_secs);
    let (stop, stopped) = watch::channel(false);
    let mut tasks = tokio::task::JoinSet::new();
    // Every maintenance service of the parts this process runs (rescuers, pruner).
    let mut maintenance = Maintenance::new(stopped.clone());
    if let Some(listener) = ops_listener {
        let ops = OpsState {
            store: store.clone(),
            objects: objects.clone(),
            bucket: args.default_bucket.clone(),
            metrics: Some(metrics.clone()),
            cache: OpsCache::default(),
        };
        tracing::info!(listen = ?listener.local_addr(), "health and metrics listening");
        let mut ops_stopped = stopped.clone();
        tasks.spawn(async move {
            let shutdown = async move {
                let _ = ops_stopped.wait_for(|s| *s).await;
            };
            stowaway_api::serve(listener, stowaway_api::ops_router(ops), shutdown).await;
        });
    }

    if let (true, Some(objects_cfg), Some(objects)) = (parts.worker, &objects_cfg, &objects) {
        let ctx = JobContext {
            store: store.clone(),
            objects: objects.clone(),
            worker: uuid::Uuid::new_v4(),
            object_url_base: args.public_object_url.clone().filter(|u| !u.is_empty()).unwrap_or_else(|| {
                objects_cfg
                    .endpoint
                    .clone()
                    .unwrap_or_else(|| format!("https://s3.{}.amazonaws.com", objects_cfg.region))
            }),
            min_confidence,
            tag_objects: args.object_tags,
            retry_for: Duration::from_secs(args.job_retry_secs),
        };
        let lease = Duration::from_secs(args.lease_secs.max(1));
        let worker_cfg = WorkerConfig {
            concurrency: args.concurrency.max(1),
            lease,
            drain: grace,
            ..WorkerConfig::default()
        };
        let rescuer_cfg = RescuerConfig {
            every: (lease / 6).clamp(Duration::from_millis(500), Duration::from_secs(5)),
            grace: (lease / 2).max(Duration::from_secs(1)),
            ..RescuerConfig::default()
        };
        let pruner_cfg = PrunerConfig {
            retention: Duration::from_secs(args.retention_days * 86400),
            ..PrunerConfig::default()
        };
        tracing::info!(
            worker = %ctx.worker,
            concurrency = worker_cfg.concurrency,
            autoprocess_min_confidence = ctx.min_confidence.as_str(),
            "worker starting"
        );
        tasks.spawn(run_worker(ctx, worker_cfg, stopped.clone()));
        let lister_cfg = ListerConfig {
            drain: grace,
            page_size: args.batch_page_size,
            walk: args.batch_listing,
            ..ListerConfig::default()
        };
        tasks.spawn(run_lister(store.clone(), objects.clone(), lister_cfg, stopped.clone()));
        maintenance.start(JobRescuer::new(store.clone(), rescuer_cfg));
        maintenance.start(JobScheduler { store: store.clone(), every: Duration::from_secs(1) });
        maintenance.start(Pruner { store: store.clone(), cfg: pruner_cfg });
        if let Some(secs) = args.workflow_poll_secs {
            let every = Duration::from_secs(secs.max(1));
            maintenance.start(WorkflowPoller { store: store.clone(), objects: objects.clone(), every });
        }
    }
    if let Some(mut cfg) = notifier_cfg {
        cfg.drain = grace;
        tracing::info!(concurrency = cfg.concurrency, kafka = cfg.kafka.is_some(), "notifier starting");
        maintenance.start(DeliveryRescuer { store: store.clone(), lease: cfg.lease });
        let (store, stopped) = (store.clone(), stopped.clone());
        tasks.spawn(async move {
            if let Err(e) = run_notifier(store, cfg, stopped).await {
                tracing::error!("notifier: {e}");
            }
        });
    }
    if let (Some(listener), Some(objects)) = (api_listener, &objects) {
        let config = ApiConfig {
            default_bucket: args.default_bucket.clone(),
            default_region: args.default_region.clone(),
            require_activation: args.require_activation,
            max_concurrent: args.concurrency as u32,
            callback_addresses,
            kafka_enabled: args.callbacks.kafka_enabled(),
            keys,
            events_token: args.events_token.clone().filter(|t| !t.is_empty()),
            ..ApiConfig::default()
        };
        let state =
            AppState::new(store.clone(), config).with_objects(objects.clone()).with_metrics(metrics.clone());
        if let Some(kafka) = events_kafka {
            let (state, stopped) = (state.clone(), stopped.clone());
            tasks.spawn(async move {
                if let Err(e) = state.consume_bucket_events(kafka, stopped).await {
                    tracing::error!("{e}");
                }
            });
        }
        let app = stowaway_api::router(state);
        tracing::info!(listen = %args.listen, "API listening");
        let mut api_stopped = stopped.clone();
        tasks.spawn(async move {
            let shutdown = async move {
                let _ = api_stopped.wait_for(|s| *s).await;
            };
            stowaway_api::serve(listener, app, shutdown).await;
        });
    }

    tasks.spawn(maintenance.stopped());

    shutdown_signal().await;
    tracing::info!(grace_secs = grace.as_secs(), "shutting down: no new work; finishing what runs");
    let _ = stop.send(true);
    // Every part drains within the grace and hands back the rest; the margin covers the hand-back.
    let drained = tokio::time::timeout(grace + Duration::from_secs(5), async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        // What still runs is cut off: its leases expire and the rescuers hand its work on.
        tracing::warn!("parts still busy after the grace period; stopping them, the rescuers will take over");
        tasks.shutdown().await;
    }
    if tokio::time::timeout(Duration::from_secs(5), store.close()).await.is_err() {
        tracing::warn!("database connections still busy; closing anyway");
    }
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    let mut term =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
