//! Stowaway's storage boundary: every S3 call the service makes lives here.
//!
//! The worker fetches the object a job names ([`Objects::fetch`]) and carries out AutoProcess
//! ([`Objects::backup`], [`Objects::make_private`], [`Objects::delete`]); the API's synchronous
//! inspect fetches too. Nothing else in the workspace talks to S3 or depends on the AWS SDK.
//!
//! - **Client.** aws-sdk-s3 without aws-config: the configuration is built by hand from an
//!   [`ObjectStoreConfig`] (static keys, optional endpoint, path-style by default), on hyper 1 +
//!   rustls/ring (http and https endpoints). Request checksums and response validation are
//!   `WhenRequired`, because garage rejects the SDK's signed streaming trailers over http.
//! - **Errors.** An [`ObjectError`] carries the store's own S3 code and message (e.g. s3s-fs's
//!   `501 NotImplemented` for ACLs), the HTTP status and whether it is transient. The SDK's retries
//!   are off; [`RetryPolicy`] retries transient failures (connection errors, timeouts, 5xx except
//!   501, throttling, a body broken mid-way) with exponential backoff and returns permanent ones
//!   (`NoSuchKey`, `AccessDenied`, `SignatureDoesNotMatch`, other 4xx) at once.
//! - **Reachability.** Every call's outcome feeds one [`Breaker`] per client: the worker stops
//!   claiming jobs while the store cannot be reached, and `/readyz` says so.
//! - **Memory.** [`Objects::fetch`] keeps bodies up to [`SPOOL_THRESHOLD`] in memory and streams
//!   bigger ones into an unlinked temporary file that it memory-maps ([`Fetched`]).

mod breaker;
mod config;
mod error;
mod fetch;
mod list;
mod ops;
mod quickack;
mod tagging;
mod walk;

use std::future::Future;
use std::time::Duration;

use aws_sdk_s3::config::retry::RetryConfig;
use aws_sdk_s3::config::timeout::TimeoutConfig;
use aws_sdk_s3::config::{
    BehaviorVersion, Credentials, Region, RequestChecksumCalculation, ResponseChecksumValidation,
};
use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};

pub use breaker::{Admit, Breaker};
pub use config::ObjectStoreConfig;
pub use error::ObjectError;
pub use fetch::{Fetched, SPOOL_THRESHOLD};
pub use list::{Listed, Page};
pub use ops::BACKUP_PREFIX;
pub use walk::FolderMemo;

/// How long to wait for a TCP (and TLS) connection to the store.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long one request may wait for the store's answer (headers; a body is then streamed).
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(60);

/// How transient failures are retried: `attempts` tries in all, sleeping `base_delay`, then twice
/// that, and so on, between them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub attempts: u32,
    pub base_delay: Duration,
}

impl Default for RetryPolicy {
    /// 4 attempts, sleeping 200 ms, 400 ms and 800 ms between them.
    fn default() -> Self {
        RetryPolicy { attempts: 4, base_delay: Duration::from_millis(200) }
    }
}

/// A client for one object store. Cheap to clone (the connection pool is shared).
#[derive(Clone, Debug)]
pub struct Objects {
    client: aws_sdk_s3::Client,
    /// The same store without credentials: what anyone on the network gets (`readable_by_anyone`).
    anonymous: aws_sdk_s3::Client,
    retry: RetryPolicy,
    breaker: Breaker,
    /// Objects bigger than this are not fetched ([`TOO_LARGE`]).
    max_object_bytes: u64,
}

/// The code of a fetch refused for the object's size (Tencent's, for images over its limits).
pub const TOO_LARGE: &str = "ImageTooLarge";

impl Objects {
    pub fn new(cfg: &ObjectStoreConfig) -> Objects {
        let plain_http =
            cfg.endpoint.as_deref().is_some_and(|e| e.to_ascii_lowercase().starts_with("http://"));
        let http = if plain_http && cfg.quick_ack {
            quickack::quick_ack_client(CONNECT_TIMEOUT)
        } else {
            aws_smithy_http_client::Builder::new()
                .tls_provider(Provider::Rustls(CryptoMode::Ring))
                .build_https()
        };
        let credentials = Credentials::new(
            &cfg.access_key_id,
            &cfg.secret_access_key,
            cfg.session_token.clone(),
            None,
            "stowaway",
        );
        let mut builder = aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .http_client(http)
            .region(Region::new(cfg.region.clone()))
            .force_path_style(cfg.path_style)
            .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
            .response_checksum_validation(ResponseChecksumValidation::WhenRequired)
            .retry_config(RetryConfig::disabled())
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(CONNECT_TIMEOUT)
                    .operation_attempt_timeout(ATTEMPT_TIMEOUT)
                    .build(),
            );
        if let Some(endpoint) = &cfg.endpoint {
            builder = builder.endpoint_url(endpoint);
        }
        let anonymous = aws_sdk_s3::Client::from_conf(builder.clone().allow_no_auth().build());
        Objects {
            client: aws_sdk_s3::Client::from_conf(builder.credentials_provider(credentials).build()),
            anonymous,
            retry: RetryPolicy::default(),
            breaker: Breaker::default(),
            max_object_bytes: u64::MAX,
        }
    }

    /// The same client refusing to fetch objects over `max` bytes (`STOWAWAY_MAX_OBJECT_MB`).
    pub fn with_max_object_bytes(mut self, max: u64) -> Objects {
        self.max_object_bytes = max;
        self
    }

    /// Whether the store is reachable, as this client's calls found it.
    pub fn breaker(&self) -> &Breaker {
        &self.breaker
    }

    /// The same client with another retry policy (tests and tools).
    pub fn with_retry_policy(mut self, retry: RetryPolicy) -> Objects {
        self.retry = retry;
        self
    }

    /// The underlying SDK client, for tests that check what the store holds (e.g. GetObjectAcl).
    /// Service code goes through the methods above.
    #[doc(hidden)]
    pub fn sdk_client(&self) -> &aws_sdk_s3::Client {
        &self.client
    }

    /// Runs `call` until it succeeds, fails permanently or the attempts run out.
    async fn retrying<T, F, Fut>(
        &self,
        op: &'static str,
        bucket: &str,
        key: &str,
        mut call: F,
    ) -> Result<T, ObjectError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, ObjectError>>,
    {
        let mut delay = self.retry.base_delay;
        let mut attempt = 1;
        loop {
            match call().await {
                Ok(value) => {
                    self.breaker.answered();
                    return Ok(value);
                }
                Err(e) if e.transient && attempt < self.retry.attempts.max(1) => {
                    metrics::counter!("stowaway_storage_errors_total", "operation" => op, "code" => e.code.clone())
                        .increment(1);
                    tracing::warn!(op, bucket, key, attempt, code = %e.code, message = %e.message,
                        "transient S3 failure; retrying in {delay:?}");
                    tokio::time::sleep(delay).await;
                    delay = delay.saturating_mul(2);
                    attempt += 1;
                }
                Err(e) => {
                    metrics::counter!("stowaway_storage_errors_total", "operation" => op, "code" => e.code.clone())
                        .increment(1);
                    tracing::debug!(op, bucket, key, attempt, code = %e.code, message = %e.message, "S3 call failed");
                    match e.transient {
                        true => self.breaker.failed(&e),
                        false => self.breaker.answered(),
                    }
                    return Err(e);
                }
            }
        }
    }
}
