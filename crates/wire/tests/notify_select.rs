//! Callback selection (spec §4.3): the job's settings over the queue's, `CallBack=no`, the
//! queue's State and Event, and the format fallbacks.
use stowaway_wire::*;

use CallbackFormat::{Json, Xml};

fn job(callback: Option<&str>, format: Option<&str>) -> SubmitRequest {
    SubmitRequest {
        object: "a.png".into(),
        callback: callback.map(Into::into),
        callback_format: format.map(Into::into),
        ..SubmitRequest::default()
    }
}

fn tdmq_job(mq_name: &str, format: Option<&str>) -> SubmitRequest {
    SubmitRequest {
        callback_type: Some("TDMQ".into()),
        callback_mq: Some(CallBackMqConfig {
            mq_mode: Some("Queue".into()),
            mq_region: Some("sh".into()),
            mq_name: mq_name.into(),
        }),
        ..job(None, format)
    }
}

fn queue(state: &str, event: Option<&str>, url: Option<&str>, format: Option<&str>) -> NotifyConfig {
    NotifyConfig {
        url: url.map(Into::into),
        event: event.map(Into::into),
        r#type: Some("Url".into()),
        state: state.into(),
        result_format: format.map(Into::into),
        ..NotifyConfig::default()
    }
}

fn tdmq_queue(mq_name: Option<&str>, url: Option<&str>) -> NotifyConfig {
    NotifyConfig {
        r#type: Some("TDMQ".into()),
        mq_mode: Some("Topic".into()),
        mq_region: Some("gz".into()),
        mq_name: mq_name.map(Into::into),
        ..queue("On", Some("TaskFinish"), url, Some("JSON"))
    }
}

fn url(address: &str, format: CallbackFormat) -> Option<CallbackTarget> {
    Some(CallbackTarget {
        kind: CallbackKind::Url,
        address: address.into(),
        format,
        mq_region: None,
        mq_mode: None,
    })
}

fn tdmq(topic: &str, format: CallbackFormat, region: &str, mode: &str) -> Option<CallbackTarget> {
    Some(CallbackTarget {
        kind: CallbackKind::Tdmq,
        address: topic.into(),
        format,
        mq_region: Some(region.into()),
        mq_mode: Some(mode.into()),
    })
}

const J: &str = "http://job.example/cb";
const Q: &str = "http://queue.example/cb";

#[test]
fn selection_follows_spec_4_3() {
    let on = queue("On", Some("TaskFinish"), Some(Q), Some("JSON"));
    let on_no_format = queue("On", Some("TaskFinish"), Some(Q), None);
    let off = queue("Off", Some("TaskFinish"), Some(Q), Some("JSON"));
    #[rustfmt::skip]
    let cases: Vec<(&str, SubmitRequest, Option<NotifyConfig>, Option<CallbackTarget>)> = vec![
        ("nothing anywhere", job(None, None), None, None),
        ("no queue config", job(None, None), Some(NotifyConfig::off()), None),
        ("default NotifyConfig is not On", job(None, None), Some(NotifyConfig::default()), None),
        // Job-level URL.
        ("job url, default XML", job(Some(J), None), None, url(J, Xml)),
        ("job url, job format", job(Some(J), Some("JSON")), None, url(J, Json)),
        ("job url, queue format", job(Some(J), None), Some(on.clone()), url(J, Json)),
        ("job format overrides queue's", job(Some(J), Some("XML")), Some(on.clone()), url(J, Xml)),
        ("job url ignores queue Off", job(Some(J), None), Some(off.clone()), url(J, Json)),
        ("job url ignores queue Event", job(Some(J), None),
            Some(queue("On", Some("WorkflowFinish"), Some(Q), None)), url(J, Xml)),
        ("job url over queue TDMQ", job(Some(J), None), Some(tdmq_queue(Some("t"), None)), url(J, Json)),
        // CallBack=no.
        ("no suppresses queue", job(Some("no"), None), Some(on.clone()), None),
        ("no without queue", job(Some("no"), Some("JSON")), None, None),
        ("no suppresses queue TDMQ", job(Some("no"), None), Some(tdmq_queue(Some("t"), None)), None),
        // Job-level TDMQ.
        ("job TDMQ", tdmq_job("jt", None), None, tdmq("jt", Xml, "sh", "Queue")),
        ("job TDMQ, job format", tdmq_job("jt", Some("JSON")), None, tdmq("jt", Json, "sh", "Queue")),
        ("job TDMQ, queue format", tdmq_job("jt", None), Some(on.clone()), tdmq("jt", Json, "sh", "Queue")),
        ("job TDMQ over queue TDMQ", tdmq_job("jt", None), Some(tdmq_queue(Some("qt"), None)),
            tdmq("jt", Json, "sh", "Queue")),
        ("job TDMQ wins over CallBack=no",
            SubmitRequest { callback: Some("no".into()), ..tdmq_job("jt", None) }, None,
            tdmq("jt", Xml, "sh", "Queue")),
        ("job TDMQ wins over job url",
            SubmitRequest { callback: Some(J.into()), ..tdmq_job("jt", None) }, None,
            tdmq("jt", Xml, "sh", "Queue")),
        ("job TDMQ without MqName: queue", tdmq_job(" ", None), Some(on.clone()), url(Q, Json)),
        ("job TDMQ without MqName: job url",
            SubmitRequest { callback: Some(J.into()), ..tdmq_job("", None) }, Some(on.clone()), url(J, Json)),
        ("job TDMQ without MqName, no queue", tdmq_job("", None), None, None),
        ("job MqConfig without TDMQ type is ignored",
            SubmitRequest { callback_type: Some("Url".into()), ..tdmq_job("jt", None) }, Some(on.clone()),
            url(Q, Json)),
        ("job type Url without CallBack: the TDMQ queue's Url", SubmitRequest { callback_type: Some("Url".into()), ..job(None, None) },
            Some(tdmq_queue(Some("qt"), Some(Q))), url(Q, Json)),
        ("job type Url without CallBack, TDMQ queue without Url", SubmitRequest { callback_type: Some("Url".into()), ..job(None, None) },
            Some(tdmq_queue(Some("qt"), None)), None),
        ("job type Url: the queue's On and Event still count", SubmitRequest { callback_type: Some("Url".into()), ..job(None, None) },
            Some(NotifyConfig { state: "Off".into(), ..tdmq_queue(Some("qt"), Some(Q)) }), None),
        ("job type TDMQ without MqConfig",
            SubmitRequest { callback_mq: None, ..tdmq_job("jt", None) }, Some(on.clone()), url(Q, Json)),
        // The queue.
        ("queue url", job(None, None), Some(on.clone()), url(Q, Json)),
        ("queue url, default XML", job(None, None), Some(on_no_format.clone()), url(Q, Xml)),
        ("job format overrides queue's for queue url", job(None, Some("XML")), Some(on.clone()), url(Q, Xml)),
        ("job format for queue url", job(None, Some("JSON")), Some(on_no_format.clone()), url(Q, Json)),
        ("queue Off", job(None, None), Some(off.clone()), None),
        ("queue state any case", job(None, None), Some(queue("on", Some("TaskFinish"), Some(Q), None)),
            url(Q, Xml)),
        ("queue Event other", job(None, None), Some(queue("On", Some("WorkflowFinish"), Some(Q), None)),
            None),
        ("queue Event list", job(None, None),
            Some(queue("On", Some("WorkflowFinish, taskfinish"), Some(Q), None)), url(Q, Xml)),
        ("queue Event list without TaskFinish", job(None, None),
            Some(queue("On", Some("WorkflowFinish,WorkflowFinish"), Some(Q), None)), None),
        ("queue Event absent", job(None, None), Some(queue("On", None, Some(Q), None)), url(Q, Xml)),
        ("queue Event empty", job(None, None), Some(queue("On", Some(" "), Some(Q), None)), url(Q, Xml)),
        ("queue On without url", job(None, None), Some(queue("On", Some("TaskFinish"), None, None)), None),
        ("queue On with empty url", job(None, None), Some(queue("On", Some("TaskFinish"), Some(""), None)),
            None),
        ("queue type absent means Url", job(None, None),
            Some(NotifyConfig { r#type: None, ..on.clone() }), url(Q, Json)),
        ("queue TDMQ", job(None, None), Some(tdmq_queue(Some("qt"), Some(Q))),
            tdmq("qt", Json, "gz", "Topic")),
        ("queue TDMQ, job format", job(None, Some("XML")), Some(tdmq_queue(Some("qt"), None)),
            tdmq("qt", Xml, "gz", "Topic")),
        ("queue TDMQ without MqName: url", job(None, None), Some(tdmq_queue(None, Some(Q))), url(Q, Json)),
        ("queue TDMQ with empty MqName: url", job(None, None), Some(tdmq_queue(Some(""), Some(Q))),
            url(Q, Json)),
        ("queue TDMQ without MqName or url", job(None, None), Some(tdmq_queue(None, None)), None),
        ("queue TDMQ Off", job(None, None),
            Some(NotifyConfig { state: "Off".into(), ..tdmq_queue(Some("qt"), None) }), None),
        ("queue TDMQ other Event", job(None, None),
            Some(NotifyConfig { event: Some("WorkflowFinish".into()), ..tdmq_queue(Some("qt"), None) }),
            None),
    ];
    for (name, job, queue, want) in cases {
        assert_eq!(select_callback(&job, queue.as_ref()), want, "{name}");
    }
}

#[test]
fn selection_reads_what_the_parsers_store() {
    let body = "<Request><Tag>ImageInspect</Tag><Input><Object>a.png</Object></Input>\
<CallBackFormat>json</CallBackFormat><CallBackType>tdmq</CallBackType>\
<CallBackMqConfig><MqName> jt </MqName><MqRegion>sh</MqRegion><MqMode>Queue</MqMode>\
</CallBackMqConfig></Request>";
    let job = parse_submit(body.as_bytes()).unwrap();
    assert_eq!(select_callback(&job, None), tdmq("jt", Json, "sh", "Queue"));

    let update = "<Request><State>Active</State><NotifyConfig><State>on</State><Url>http://q.example/</Url>\
<Type>url</Type><Event>WorkflowFinish,taskfinish</Event></NotifyConfig></Request>";
    let n = parse_queue_update(update.as_bytes()).unwrap().notify_config.unwrap();
    let plain =
        parse_submit(b"<Request><Tag>ImageInspect</Tag><Input><Object>a</Object></Input></Request>").unwrap();
    assert_eq!(select_callback(&plain, Some(&n)), url("http://q.example/", Xml));
    for spelling in ["no", "No", " NO "] {
        let no = format!(
            "<Request><Tag>ImageInspect</Tag><Input><Object>a</Object></Input><CallBack>{spelling}</CallBack></Request>"
        );
        assert_eq!(select_callback(&parse_submit(no.as_bytes()).unwrap(), Some(&n)), None, "{spelling}");
    }
}

#[test]
fn format_and_kind_names() {
    for (f, name, ct) in [(Xml, "XML", "application/xml"), (Json, "JSON", "application/json")] {
        assert_eq!((f.as_str(), f.content_type()), (name, ct));
        assert_eq!(CallbackFormat::from_name(&name.to_lowercase()), Some(f));
    }
    assert_eq!(CallbackFormat::from_name("yaml"), None);
    for (k, name) in
        [(CallbackKind::Url, "Url"), (CallbackKind::Tdmq, "TDMQ"), (CallbackKind::Kafka, "Kafka")]
    {
        assert_eq!(k.as_str(), name);
        assert_eq!(CallbackKind::from_name(&name.to_uppercase()), Some(k));
    }
    assert_eq!(CallbackKind::from_name("Pulsar"), None);
}

#[test]
fn a_kafka_job_goes_to_its_ckafka_instance_topic_whatever_the_queue_says() {
    let body = "<Request><Tag>ImageInspect</Tag><Input><Object>a.png</Object></Input>\
        <CallBackType>kafka</CallBackType><CallBackFormat>JSON</CallBackFormat><CallBackKafkaConfig>\
        <Region>ap-chongqing</Region><InstanceId>ckafka-abc</InstanceId><Topic>image-events</Topic>\
        </CallBackKafkaConfig></Request>";
    let job = parse_submit(body.as_bytes()).unwrap();
    assert_eq!(job.callback_type.as_deref(), Some("Kafka"));
    let k = job.callback_kafka.clone().unwrap();
    assert_eq!(
        (k.region.as_str(), k.instance_id.as_str(), k.topic.as_str()),
        ("ap-chongqing", "ckafka-abc", "image-events")
    );
    let target = select_callback(&job, Some(&tdmq_queue(Some("queue-topic"), None))).unwrap();
    assert_eq!(
        (target.kind, target.address.as_str(), target.format),
        (CallbackKind::Kafka, "ckafka-abc/image-events", Json)
    );
    // Stored and read back as the job keeps it.
    let stored: SubmitRequest = serde_json::from_value(serde_json::to_value(&job).unwrap()).unwrap();
    assert_eq!(stored, job);

    for (from, to, words) in [
        ("<CallBackKafkaConfig>", "<Nothing>", "CallBackKafkaConfig is required when CallBackType is Kafka"),
        ("ap-chongqing", "ap-mars", "CallBackKafkaConfig/Region must be one of ap-guangzhou"),
        ("<InstanceId>ckafka-abc</InstanceId>", "", "CallBackKafkaConfig/InstanceId is required"),
        ("ckafka-abc", "a/b", "CallBackKafkaConfig/InstanceId must be an instance id"),
        ("image-events", "image events", "CallBackKafkaConfig/Topic must be a Kafka topic name"),
        (
            "<CallBackType>kafka</CallBackType>",
            "<CallBackType>Pulsar</CallBackType>",
            "CallBackType must be Url, TDMQ or Kafka",
        ),
    ] {
        let bad = body.replacen(from, to, 1).replacen(
            "</CallBackKafkaConfig>",
            if to == "<Nothing>" { "</Nothing>" } else { "</CallBackKafkaConfig>" },
            1,
        );
        let e = parse_submit(bad.as_bytes()).expect_err(&bad);
        assert!(e.message.contains(words), "{to}: {}", e.message);
    }
}
