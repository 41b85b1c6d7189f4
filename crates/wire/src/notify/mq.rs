//! TDMQ callback settings (`MqMode`, `MqRegion`, `MqName`), checked once for every place that
//! takes them (a job, a queue's NotifyConfig, a workflow's). TDMQ callbacks go to Kafka: the
//! name must be a Kafka topic; the region must be one of Tencent's TDMQ regions.
use crate::error::WireError;
use crate::queue::one_of;
use crate::submit::{check_text, trimmed, CallBackKafkaConfig, RawKafka};

/// CKafka's regions, as Tencent's SDKs list them for `CallBackKafkaConfig/Region`.
pub const KAFKA_REGIONS: [&str; 9] = [
    "ap-guangzhou",
    "ap-shenzhen",
    "ap-shanghai",
    "ap-nanjing",
    "ap-chengdu",
    "ap-beijing",
    "ap-tianjin",
    "ap-chongqing",
    "ap-hongkong",
];

/// A `CallBackKafkaConfig`: every field required, the region one of CKafka's, the instance id
/// plain text without `/`, the topic a Kafka topic name.
pub(crate) fn check_kafka(at: &str, raw: RawKafka) -> Result<CallBackKafkaConfig, WireError> {
    let required = |v: Option<String>, field: &str| {
        trimmed(v).ok_or_else(|| WireError::invalid_argument(format!("{at}{field} is required")))
    };
    let region = one_of(&format!("{at}Region"), &required(raw.region, "Region")?, &KAFKA_REGIONS)?;
    let instance_id = required(raw.instance_id, "InstanceId")?;
    check_text(&format!("{at}InstanceId"), &instance_id)?;
    if instance_id.contains('/') || instance_id.len() > 128 {
        return Err(WireError::invalid_argument(format!(
            "{at}InstanceId must be an instance id, not {instance_id:?}"
        )));
    }
    let topic = required(raw.topic, "Topic")?;
    check_topic(&format!("{at}Topic"), &topic)?;
    Ok(CallBackKafkaConfig { region: region.into(), instance_id, topic })
}

/// Tencent's TDMQ regions: Shanghai, Beijing, Guangzhou, Chengdu, Hong Kong.
pub const MQ_REGIONS: [&str; 5] = ["sh", "bj", "gz", "cd", "hk"];
pub const MQ_MODES: [&str; 2] = ["Topic", "Queue"];

/// Canonical `MqMode` and `MqRegion` (either may be absent), after checking the name as a topic.
/// `at` is the element path before the field names (`CallBackMqConfig/`, `NotifyConfig/`).
pub fn check_mq(
    at: &str,
    mode: Option<&str>,
    region: Option<&str>,
    name: Option<&str>,
) -> Result<(Option<&'static str>, Option<&'static str>), WireError> {
    let mode = mode.map(|m| one_of(&format!("{at}MqMode"), m, &MQ_MODES)).transpose()?;
    let region = region.map(|r| one_of(&format!("{at}MqRegion"), r, &MQ_REGIONS)).transpose()?;
    if let Some(name) = name {
        check_topic(&format!("{at}MqName"), name)?;
    }
    Ok((mode, region))
}

/// Kafka's rule for topic names: 1 to 249 of `A-Z a-z 0-9 . _ -`, and not `.` or `..`.
fn check_topic(field: &str, name: &str) -> Result<(), WireError> {
    let valid = (1..=249).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
        && name != "."
        && name != "..";
    match valid {
        true => Ok(()),
        false => Err(WireError::invalid_argument(format!(
            "{field} must be a Kafka topic name (1 to 249 of A-Z, a-z, 0-9, '.', '_', '-'; not '.' or '..'), \
             not {name:?}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_modes_and_topic_names() {
        let ok = |m, r, n| check_mq("X/", m, r, n).map_err(|e| e.message);
        assert_eq!(
            ok(Some("queue"), Some("GZ"), Some("callbacks-1.a_b")).unwrap(),
            (Some("Queue"), Some("gz"))
        );
        assert_eq!(ok(None, None, None).unwrap(), (None, None));
        assert!(ok(None, Some("ap-guangzhou"), None)
            .unwrap_err()
            .contains("X/MqRegion must be one of sh, bj"));
        assert!(ok(Some("Fanout"), None, None).unwrap_err().contains("X/MqMode"));
        let long = "t".repeat(250);
        for bad in ["", ".", "..", "has space", "a/b", "名字", &long] {
            assert!(
                ok(None, None, Some(bad)).unwrap_err().contains("X/MqName must be a Kafka topic"),
                "{bad:?}"
            );
        }
        assert!(ok(None, None, Some(&"t".repeat(249))).is_ok());
    }
}
