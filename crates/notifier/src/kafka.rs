//! TDMQ and Kafka callbacks, served by Kafka: a producer per cluster (the default one, and one for
//! each TDMQ region or CKafka instance given brokers of its own); a send counts only once the
//! broker's delivery report confirms it. At least once, like every callback: not idempotent, because
//! an idempotent producer never delivers again after its broker restarts without its state (its
//! producer id unknown there: every send times out), and the outbox resends anyway.
use std::collections::HashMap;
use std::time::Duration;

use rdkafka::config::ClientConfig;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};

/// Kafka settings for the notifier.
#[derive(Clone, Debug)]
pub struct KafkaConfig {
    /// `host:port,...` (`STOWAWAY_KAFKA_BROKERS`).
    pub brokers: String,
    /// Clusters of their own: (TDMQ region, brokers) from `STOWAWAY_KAFKA_BROKERS_GZ` and the
    /// like, (CKafka instance id, brokers) from `STOWAWAY_KAFKA_INSTANCES`.
    pub clusters: Vec<(String, String)>,
    /// How long librdkafka keeps trying one message (a broker that is down counts against it)
    /// before the attempt fails and the outbox schedules a retry.
    pub message_timeout: Duration,
}

#[derive(Clone)]
pub struct KafkaSender {
    producer: FutureProducer,
    regional: HashMap<String, FutureProducer>,
}

impl KafkaSender {
    pub fn new(cfg: &KafkaConfig) -> Result<KafkaSender, String> {
        let regional = cfg
            .clusters
            .iter()
            .map(|(name, brokers)| Ok((name.clone(), producer(brokers, cfg.message_timeout)?)))
            .collect::<Result<_, String>>()?;
        Ok(KafkaSender { producer: producer(&cfg.brokers, cfg.message_timeout)?, regional })
    }

    /// Sends one message to `address` (`topic`, or `<region or instance>/topic`: that cluster if
    /// it has one, else the default) and waits for its delivery report.
    pub async fn send(
        &self,
        address: &str,
        key: &str,
        body: &[u8],
        headers: &[(&str, &str)],
    ) -> Result<(), String> {
        let (producer, topic) = match address.split_once('/') {
            Some((region, topic)) => (self.regional.get(region).unwrap_or(&self.producer), topic),
            None => (&self.producer, address),
        };
        let headers = headers
            .iter()
            .fold(OwnedHeaders::new(), |h, (k, v)| h.insert(Header { key: k, value: Some(*v) }));
        let record = FutureRecord::to(topic).key(key).payload(body).headers(headers);
        match producer.send(record, Duration::from_secs(5)).await {
            Ok(_) => Ok(()),
            Err((e, _)) => Err(format!("Kafka: {e}")),
        }
    }

    /// Waits up to `timeout` for messages still in flight (graceful shutdown).
    pub fn flush(&self, timeout: Duration) {
        for p in std::iter::once(&self.producer).chain(self.regional.values()) {
            if let Err(e) = p.flush(timeout) {
                tracing::warn!(error = %e, "Kafka producer did not flush everything; the outbox will resend it");
            }
        }
    }
}

fn producer(brokers: &str, message_timeout: Duration) -> Result<FutureProducer, String> {
    ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("enable.idempotence", "false")
        .set("acks", "all")
        .set("linger.ms", "2")
        .set("message.timeout.ms", message_timeout.as_millis().to_string())
        .set("client.id", "stowaway-notifier")
        .create()
        .map_err(|e| format!("Kafka producer ({brokers}): {e}"))
}
