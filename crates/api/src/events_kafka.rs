//! Bucket events from Kafka (`STOWAWAY_EVENTS_KAFKA_TOPICS`): MinIO's Kafka target sends the same
//! bodies as its webhook, one message per event. A consumer group (`STOWAWAY_EVENTS_KAFKA_GROUP`)
//! shares the partitions between API processes; a message's offset is committed only once the
//! runs it starts are, so nothing is lost across crashes, and a message read twice makes no second
//! run (a run's id names its upload). A message whose runs cannot be recorded (the database is
//! down) is retried, holding up its partition, as MinIO's own queue does.
use std::time::Duration;

use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::message::Message;
use rdkafka::ClientConfig;
use tokio::sync::watch;

use crate::AppState;

/// Where bucket events are read from.
#[derive(Clone, Debug)]
pub struct EventsKafka {
    pub brokers: String,
    pub topics: Vec<String>,
    pub group: String,
}

/// Waits between attempts at a message whose runs could not be recorded.
const RETRY: Duration = Duration::from_secs(1);

impl AppState {
    /// Reads `kafka`'s topics until `stopped`, starting the runs each message's uploads call for.
    pub async fn consume_bucket_events(
        &self,
        kafka: EventsKafka,
        mut stopped: watch::Receiver<bool>,
    ) -> Result<(), String> {
        let consumer: StreamConsumer = ClientConfig::new()
            .set("bootstrap.servers", &kafka.brokers)
            .set("group.id", &kafka.group)
            .set("enable.auto.commit", "false")
            .set("auto.offset.reset", "earliest")
            // A rebalance waits this long for members; the loop reads continuously.
            .set("session.timeout.ms", "10000")
            .set("max.poll.interval.ms", "15000")
            // A topic created after the start is read within this (librdkafka's default: 5 min).
            .set("topic.metadata.refresh.interval.ms", "10000")
            .create()
            .map_err(|e| format!("bucket events from Kafka: {e}"))?;
        let topics: Vec<&str> = kafka.topics.iter().map(String::as_str).collect();
        consumer.subscribe(&topics).map_err(|e| format!("subscribing to {topics:?}: {e}"))?;
        tracing::info!(topics = ?topics, group = %kafka.group, "reading bucket events from Kafka");
        loop {
            let message = tokio::select! {
                m = consumer.recv() => m,
                _ = stopped.wait_for(|s| *s) => return Ok(()),
            };
            let message = match message {
                Ok(m) => m,
                Err(e) => {
                    tracing::warn!(error = %e, "reading bucket events from Kafka");
                    tokio::time::sleep(RETRY).await;
                    continue;
                }
            };
            let body = message.payload().unwrap_or_default();
            while let Err(e) = self.take_bucket_events(body).await {
                tracing::warn!(error = ?e, topic = message.topic(), offset = message.offset(), "bucket event not recorded; retrying");
                tokio::select! {
                    _ = tokio::time::sleep(RETRY) => {}
                    _ = stopped.wait_for(|s| *s) => return Ok(()),
                }
            }
            if let Err(e) = consumer.commit_message(&message, CommitMode::Async) {
                // The next commit covers it; a restart before that reads it again (no second run).
                tracing::warn!(error = %e, "committing a bucket event's offset");
            }
        }
    }
}
