//! Stowaway's notifier: delivers each finished job's TaskFinish callback, in Tencent's shape, from
//! the outbox the job store writes with the job's terminal state. Url callbacks are HTTP POSTs
//! (XML or JSON, optionally signed the Standard Webhooks way) guarded against SSRF; TDMQ callbacks
//! go to Kafka. At least once: a delivery is marked only after the receiver or the broker
//! confirmed it, failures are retried on a schedule of more than a day, and deliveries held by a
//! notifier that died are rescued.

mod deliver;
mod kafka;
mod rescuer;
mod runner;
mod schedule;
mod sign;
mod url;

use std::time::Duration;

pub use kafka::{KafkaConfig, KafkaSender};
pub use rescuer::DeliveryRescuer;
pub use runner::run_notifier;
pub use schedule::RetrySchedule;
pub use sign::Signer;
pub use stowaway_wire::AddressPolicy;
pub use url::{Response as UrlResponse, UrlSender};

#[derive(Clone, Debug)]
pub struct NotifierConfig {
    /// Url callbacks in flight at once (each holds a connection).
    pub concurrency: usize,
    /// Kafka callbacks in flight at once, beyond `concurrency`: each only waits for the broker's
    /// acknowledgement, so throughput needs thousands of them (BENCHMARKS.md).
    pub kafka_in_flight: usize,
    /// Most deliveries claimed per statement.
    pub batch: usize,
    /// How long a claimed delivery stays with this notifier. Longer than any attempt can take
    /// (`timeout`, Kafka's `message_timeout`), so a live notifier never loses one.
    pub lease: Duration,
    /// Backstop poll when no wake-up arrives; also how soon a retry that fell due is noticed.
    pub poll: Duration,
    /// How long shutdown waits for sends in flight before handing them back.
    pub drain: Duration,
    pub connect_timeout: Duration,
    /// The whole attempt: connect, send, and the response's status line and body.
    pub timeout: Duration,
    pub retry_schedule: RetrySchedule,
    /// Which addresses Url callbacks may connect to.
    pub addresses: AddressPolicy,
    pub signer: Option<Signer>,
    pub kafka: Option<KafkaConfig>,
}

impl Default for NotifierConfig {
    fn default() -> NotifierConfig {
        NotifierConfig {
            concurrency: 256,
            kafka_in_flight: 4096,
            batch: 1024,
            lease: Duration::from_secs(60),
            poll: Duration::from_millis(500),
            drain: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(5),
            timeout: Duration::from_secs(10),
            retry_schedule: RetrySchedule::default(),
            addresses: AddressPolicy::public_only(),
            signer: None,
            kafka: None,
        }
    }
}

impl NotifierConfig {
    /// Refuses settings under which a live notifier could lose a lease mid-attempt.
    pub fn check(&self) -> Result<(), String> {
        let longest = self
            .timeout
            .max(self.kafka.as_ref().map_or(Duration::ZERO, |k| k.message_timeout + Duration::from_secs(5)));
        if self.lease <= longest {
            return Err(format!(
                "the callback lease ({:?}) must be longer than the longest attempt ({longest:?})",
                self.lease
            ));
        }
        if self.concurrency == 0 || self.batch == 0 {
            return Err("notifier concurrency and batch must be at least 1".into());
        }
        Ok(())
    }
}
