//! TDMQ callbacks, served by Kafka: an idempotent producer; a send counts only once the broker's
//! delivery report confirms it.
use std::time::Duration;

use rdkafka::config::ClientConfig;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};

/// Kafka settings for the notifier.
#[derive(Clone, Debug)]
pub struct KafkaConfig {
    /// `host:port,...` (`STOWAWAY_KAFKA_BROKERS`).
    pub brokers: String,
    /// How long librdkafka keeps trying one message (a broker that is down counts against it)
    /// before the attempt fails and the outbox schedules a retry.
    pub message_timeout: Duration,
}

#[derive(Clone)]
pub struct KafkaSender {
    producer: FutureProducer,
}

impl KafkaSender {
    pub fn new(cfg: &KafkaConfig) -> Result<KafkaSender, String> {
        let producer = ClientConfig::new()
            .set("bootstrap.servers", &cfg.brokers)
            .set("enable.idempotence", "true")
            .set("acks", "all")
            .set("linger.ms", "2")
            .set("message.timeout.ms", cfg.message_timeout.as_millis().to_string())
            .set("client.id", "stowaway-notifier")
            .create()
            .map_err(|e| format!("Kafka producer: {e}"))?;
        Ok(KafkaSender { producer })
    }

    /// Sends one message and waits for its delivery report.
    pub async fn send(
        &self,
        topic: &str,
        key: &str,
        body: &[u8],
        headers: &[(&str, &str)],
    ) -> Result<(), String> {
        let headers = headers
            .iter()
            .fold(OwnedHeaders::new(), |h, (k, v)| h.insert(Header { key: k, value: Some(*v) }));
        let record = FutureRecord::to(topic).key(key).payload(body).headers(headers);
        match self.producer.send(record, Duration::from_secs(5)).await {
            Ok(_) => Ok(()),
            Err((e, _)) => Err(format!("Kafka: {e}")),
        }
    }

    /// Waits up to `timeout` for messages still in flight (graceful shutdown).
    pub fn flush(&self, timeout: Duration) {
        if let Err(e) = self.producer.flush(timeout) {
            tracing::warn!(error = %e, "Kafka producer did not flush everything; the outbox will resend it");
        }
    }
}
