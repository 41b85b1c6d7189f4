//! Queue updates as each SDK sends them, their bad inputs, and the stored shapes' round trip.
use stowaway_wire::*;

const PYTHON_UPDATE: &str =
    "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<Request><Name>q</Name><QueueID>p1</QueueID>\
<State>Paused</State><NotifyConfig><State>On</State><Url>http://127.0.0.1:9/cb</Url><Type>Url</Type>\
<Event>TaskFinish</Event><ResultFormat>JSON</ResultFormat></NotifyConfig></Request>";

#[test]
fn python_queue_update_parses() {
    let u = parse_queue_update(PYTHON_UPDATE.as_bytes()).unwrap();
    assert_eq!((u.name.as_deref(), u.paused), (Some("q"), true));
    let n = u.notify_config.unwrap();
    assert_eq!(n.url.as_deref(), Some("http://127.0.0.1:9/cb"));
    assert_eq!(
        (n.state.as_str(), n.r#type.as_deref(), n.result_format.as_deref()),
        ("On", Some("Url"), Some("JSON"))
    );
    let minimal = parse_queue_update(b"<Request><State>active</State></Request>").unwrap();
    assert_eq!((minimal.name, minimal.paused, minimal.notify_config), (None, false, None));
}

#[test]
fn bad_queue_updates_are_clear_400s() {
    let cases = [
        ("<Request><Name>q</Name></Request>", "State is required"),
        ("<Request><State>Sleeping</State></Request>", "State must be one of Active, Paused"),
        ("<Request><Name>a b</Name><State>Active</State></Request>", "Name must be"),
        ("<Request><State>Active</State><NotifyConfig><State>On</State><Type>Url</Type><Event>TaskFinish</Event></NotifyConfig></Request>", "Url is required"),
        ("<Request><State>Active</State><NotifyConfig><State>On</State><Url>http://x</Url><Event>TaskFinish</Event></NotifyConfig></Request>", "Type is required"),
        ("<Request><State>Active</State><NotifyConfig><State>On</State><Type>Url</Type><Url>http://x</Url></NotifyConfig></Request>", "Event is required"),
        ("<Request><State>Active</State><NotifyConfig><State>On</State><Type>TDMQ</Type><Event>TaskFinish</Event></NotifyConfig></Request>", "MqName is required"),
        ("<Request><State>Active</State><NotifyConfig><Url>gopher://x</Url></NotifyConfig></Request>", "http:// or https://"),
        ("<Request><State>Active</State><NotifyConfig><Event>Whenever</Event></NotifyConfig></Request>", "Event must be"),
        ("<Request><State>Active", "not the expected XML"),
        ("<Request><State>Active</State><NotifyConfig><Url>http://a&#1;</Url></NotifyConfig></Request>", "control characters"),
    ];
    for (body, words) in cases {
        let e = parse_queue_update(body.as_bytes()).expect_err(body);
        assert_eq!(e.status, 400, "{body}");
        assert!(e.message.contains(words), "{body}: {e}");
    }
}

#[test]
fn stored_shapes_round_trip_through_json() {
    let body = "<Request><Tag>ImageInspect</Tag><Input><Object>a.png</Object></Input><Operation><ImageInspect>\
<AutoProcess>true</AutoProcess><ProcessType>DeleteObject</ProcessType></ImageInspect><JobLevel>2</JobLevel>\
</Operation><CallBackType>TDMQ</CallBackType><CallBackMqConfig><MqName>m</MqName></CallBackMqConfig></Request>";
    let r = parse_submit(body.as_bytes()).unwrap();
    let back: SubmitRequest = serde_json_round_trip(&r);
    assert_eq!(back, r);
    let result = ImageInspectResult {
        state: "Success".into(),
        code: "Success".into(),
        message: String::new(),
        input_object_name: "a.png".into(),
        input_object_url: "http://s3/b/a.png".into(),
        process_result: Some(ProcessResult {
            pic_size: 10,
            pic_type: "png".into(),
            suspicious: true,
            suspicious_begin_byte: Some(5),
            suspicious_end_byte: Some(9),
            suspicious_size: Some(5),
            suspicious_type: Some("ZIP".into()),
            suspicious_confidence: Some(stowaway_detect::Confidence::Certain),
            auto_process_result: Some(AutoProcessResult {
                code: "Success".into(),
                message: "Success".into(),
            }),
        }),
        tagging_result: Some(AutoProcessResult { code: "Failed".into(), message: "NotImplemented".into() }),
    };
    assert_eq!(serde_json_round_trip(&result), result);
}

fn serde_json_round_trip<T: serde::Serialize + serde::de::DeserializeOwned>(v: &T) -> T {
    serde_json::from_value(serde_json::to_value(v).unwrap()).unwrap()
}
