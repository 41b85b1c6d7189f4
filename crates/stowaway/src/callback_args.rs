//! The callback settings of `stowaway serve | api | notifier` (README "Configuration").
use std::time::Duration;

use stowaway_notifier::{AddressPolicy, KafkaConfig, NotifierConfig, RetrySchedule, Signer};

#[derive(clap::Args, Clone)]
pub struct CallbackArgs {
    /// Kafka brokers (`host:port,...`) for TDMQ callbacks; without them TDMQ is refused at submit.
    #[arg(long, env = "STOWAWAY_KAFKA_BROKERS")]
    kafka_brokers: Option<String>,
    /// CKafka instances with brokers of their own, for Kafka callbacks
    /// (`CallBackKafkaConfig/InstanceId`): `<instance id>=<host:port,...>` pairs separated by `;`.
    #[arg(long, env = "STOWAWAY_KAFKA_INSTANCES")]
    kafka_instances: Option<String>,
    /// Seconds the Kafka producer keeps trying one message before the attempt counts as failed.
    #[arg(long, env = "STOWAWAY_KAFKA_MESSAGE_TIMEOUT_SECS", default_value_t = 30)]
    kafka_message_timeout_secs: u64,
    /// `true` lets Url callbacks reach private, loopback and other non-public addresses; or a
    /// comma-separated list of CIDRs allowed besides public addresses.
    #[arg(long, env = "STOWAWAY_CALLBACK_ALLOW_PRIVATE", default_value = "false")]
    callback_allow_private: String,
    /// Standard Webhooks secrets (`whsec_<base64>`, comma-separated, newest first) to sign Url
    /// callbacks with; unsigned without.
    #[arg(long, env = "STOWAWAY_CALLBACK_SIGNING_SECRETS", hide_env_values = true)]
    callback_signing_secrets: Option<String>,
    /// Waits between attempts, e.g. `5s,30s,2m`; the default spans ~35 hours.
    #[arg(long, env = "STOWAWAY_CALLBACK_RETRY_SCHEDULE")]
    callback_retry_schedule: Option<String>,
    /// Milliseconds one Url attempt may take in all (connect, send, answer).
    #[arg(long, env = "STOWAWAY_CALLBACK_TIMEOUT_MS", default_value_t = 10_000)]
    callback_timeout_ms: u64,
    /// Url callbacks a notifier sends at once.
    #[arg(long, env = "STOWAWAY_CALLBACK_CONCURRENCY", default_value_t = 256)]
    callback_concurrency: usize,
    /// Kafka (TDMQ) callbacks a notifier has in flight at once, awaiting the broker's
    /// acknowledgement, besides its Url callbacks.
    #[arg(long, env = "STOWAWAY_KAFKA_IN_FLIGHT", default_value_t = 4096)]
    kafka_in_flight: usize,
    /// Seconds a notifier holds a claimed callback; a notifier that dies is taken over after it.
    #[arg(long, env = "STOWAWAY_CALLBACK_LEASE_SECS", default_value_t = 60)]
    callback_lease_secs: u64,
}

impl CallbackArgs {
    pub fn address_policy(&self) -> Result<AddressPolicy, String> {
        AddressPolicy::parse(&self.callback_allow_private)
            .map_err(|e| format!("STOWAWAY_CALLBACK_ALLOW_PRIVATE: {e}"))
    }

    pub fn kafka_enabled(&self) -> bool {
        self.kafka_brokers().is_some()
    }

    /// The configured Kafka brokers, if any.
    pub fn kafka_brokers(&self) -> Option<String> {
        self.kafka_brokers.clone().filter(|b| !b.trim().is_empty())
    }

    pub fn notifier_config(&self) -> Result<NotifierConfig, String> {
        let instances =
            self.kafka_instances.as_deref().map(instance_brokers).transpose()?.unwrap_or_default();
        let cfg = NotifierConfig {
            concurrency: self.callback_concurrency,
            kafka_in_flight: self.kafka_in_flight,
            lease: Duration::from_secs(self.callback_lease_secs),
            timeout: Duration::from_millis(self.callback_timeout_ms),
            connect_timeout: Duration::from_millis(self.callback_timeout_ms.min(5_000)),
            retry_schedule: match &self.callback_retry_schedule {
                Some(s) => {
                    RetrySchedule::parse(s).map_err(|e| format!("STOWAWAY_CALLBACK_RETRY_SCHEDULE: {e}"))?
                }
                None => RetrySchedule::default(),
            },
            addresses: self.address_policy()?,
            signer: self
                .callback_signing_secrets
                .as_deref()
                .map(Signer::parse)
                .transpose()
                .map_err(|e| format!("STOWAWAY_CALLBACK_SIGNING_SECRETS: {e}"))?,
            kafka: self.kafka_enabled().then(|| KafkaConfig {
                brokers: self.kafka_brokers.clone().unwrap_or_default(),
                clusters: [regional_brokers(|name| std::env::var(name).ok()), instances].concat(),
                message_timeout: Duration::from_secs(self.kafka_message_timeout_secs.max(1)),
            }),
            ..NotifierConfig::default()
        };
        cfg.check()?;
        Ok(cfg)
    }
}

/// `STOWAWAY_KAFKA_BROKERS_<REGION>` for each of Tencent's TDMQ regions that has one: TDMQ
/// callbacks with that `MqRegion` go to that cluster; the rest to `STOWAWAY_KAFKA_BROKERS`.
fn regional_brokers(get: impl Fn(&str) -> Option<String>) -> Vec<(String, String)> {
    stowaway_wire::MQ_REGIONS
        .iter()
        .filter_map(|r| {
            let brokers = get(&format!("STOWAWAY_KAFKA_BROKERS_{}", r.to_ascii_uppercase()))?;
            let brokers = brokers.trim();
            (!brokers.is_empty()).then(|| (r.to_string(), brokers.to_string()))
        })
        .collect()
}

/// `STOWAWAY_KAFKA_INSTANCES`: `<instance id>=<brokers>` pairs separated by `;`, the CKafka
/// instances that Kafka callbacks (`CallBackKafkaConfig/InstanceId`) name; the rest go to
/// `STOWAWAY_KAFKA_BROKERS`.
fn instance_brokers(spec: &str) -> Result<Vec<(String, String)>, String> {
    spec.split(';')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|pair| match pair.split_once('=') {
            Some((id, brokers)) if !id.trim().is_empty() && !brokers.trim().is_empty() => {
                Ok((id.trim().to_string(), brokers.trim().to_string()))
            }
            _ => Err(format!(
                "STOWAWAY_KAFKA_INSTANCES: {pair:?} is not <instance id>=<host:port,...> (pairs separated by ';')"
            )),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn regions_with_brokers_of_their_own() {
        let env = |name: &str| match name {
            "STOWAWAY_KAFKA_BROKERS_GZ" => Some(" gz-kafka:9092 ".to_string()),
            "STOWAWAY_KAFKA_BROKERS_SH" => Some(String::new()),
            "STOWAWAY_KAFKA_BROKERS_HK" => Some("hk1:9092,hk2:9092".to_string()),
            _ => None,
        };
        assert_eq!(
            super::regional_brokers(env),
            [
                ("gz".to_string(), "gz-kafka:9092".to_string()),
                ("hk".to_string(), "hk1:9092,hk2:9092".to_string())
            ]
        );
    }
}
