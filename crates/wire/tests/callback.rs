//! Callback bodies against Tencent's documented example (spec §4.1, DOC 460/95990): the same
//! elements with the same values, whatever their order (the example lists them alphabetically).
use chrono::{TimeZone, Utc};
use quick_xml::events::Event;
use stowaway_wire::*;

/// The official callback example, with the doc's redacted bucket filled in.
const TENCENT_EXAMPLE: &str = "<Response><EventName>TaskFinish</EventName><JobsDetail><Code>Success</Code>\
<CreationTime>2023-05-24T11:12:44+0800</CreationTime><EndTime>2023-05-24T11:12:45+0800</EndTime>\
<Input><BucketId>test-1253960000</BucketId><Object>test.png</Object><Region>ap-chongqing</Region></Input>\
<JobId>cda071f3af9e011ed8f900133752da9af</JobId><Message/><Operation><ImageInspectResult><Code>Success</Code>\
<InputObjectName>test.png</InputObjectName>\
<InputObjectUrl>https://test-1253960000.cos.ap-chongqing.myqcloud.com/test.png</InputObjectUrl><Message/>\
<ProcessResult><PicSize>304491</PicSize><PicType>png</PicType><Suspicious>true</Suspicious>\
<SuspiciousBeginByte>119</SuspiciousBeginByte><SuspiciousEndByte>304490</SuspiciousEndByte>\
<SuspiciousSize>304372</SuspiciousSize><SuspiciousType>MPEG-TS</SuspiciousType><AutoProcessResult>\
<Code>Success</Code><Message>Success</Message></AutoProcessResult></ProcessResult><State>Success</State>\
</ImageInspectResult><JobLevel>0</JobLevel></Operation><QueueId>p3a3b198088e74b76b31d553a77b656be</QueueId>\
<StartTime>2023-05-24T11:12:45+0800</StartTime><State>Success</State><Tag>ImageInspect</Tag></JobsDetail></Response>";

fn example_detail() -> JobsDetail {
    let at = |s| tencent_time(Utc.with_ymd_and_hms(2023, 5, 24, 3, 12, s).unwrap());
    JobsDetail {
        code: "Success".into(),
        message: String::new(),
        job_id: "cda071f3af9e011ed8f900133752da9af".into(),
        state: "Success".into(),
        creation_time: at(44),
        start_time: at(45),
        end_time: at(45),
        queue_id: "p3a3b198088e74b76b31d553a77b656be".into(),
        tag: "ImageInspect".into(),
        input: Input {
            bucket_id: "test-1253960000".into(),
            object: "test.png".into(),
            region: "ap-chongqing".into(),
        },
        operation: Operation {
            image_inspect: None,
            user_data: None,
            job_level: 0,
            image_inspect_result: Some(ImageInspectResult {
                state: "Success".into(),
                code: "Success".into(),
                message: String::new(),
                input_object_name: "test.png".into(),
                input_object_url: "https://test-1253960000.cos.ap-chongqing.myqcloud.com/test.png".into(),
                process_result: Some(stowaway_testkit::tencent_example_process_result()),
                tagging_result: None,
            }),
        },
        workflow: None,
    }
}

/// Every leaf as `path = text`, sorted: element order does not matter, names and values do.
fn leaves(xml: &str) -> Vec<String> {
    let mut reader = quick_xml::Reader::from_str(xml);
    let (mut path, mut out, mut text) = (Vec::<String>::new(), Vec::new(), String::new());
    loop {
        match reader.read_event().unwrap() {
            Event::Start(e) => {
                path.push(String::from_utf8(e.name().as_ref().to_vec()).unwrap());
                text.clear();
            }
            Event::Empty(e) => {
                out.push(format!("{}/{} = ", path.join("/"), String::from_utf8_lossy(e.name().as_ref())))
            }
            Event::Text(t) => text = t.unescape().unwrap().into_owned(),
            Event::End(_) => {
                if !text.is_empty() {
                    out.push(format!("{} = {}", path.join("/"), text));
                    text.clear();
                }
                path.pop();
            }
            Event::Eof => break,
            _ => {}
        }
    }
    out.sort();
    out
}

#[test]
fn xml_callback_matches_tencents_example_element_for_element() {
    let ours = callback_xml(&example_detail());
    assert!(ours.starts_with("<Response><EventName>TaskFinish</EventName><JobsDetail>"), "{ours}");
    assert_eq!(leaves(&ours.replace("<Message></Message>", "<Message/>")), leaves(TENCENT_EXAMPLE));
}

#[test]
fn json_callback_has_the_same_names_and_the_sync_apis_types() {
    let body: serde_json::Value = serde_json::from_str(&callback_json(&example_detail())).unwrap();
    assert_eq!(body["EventName"], "TaskFinish");
    let detail = &body["JobsDetail"];
    assert_eq!(
        (detail["JobId"].as_str(), detail["State"].as_str()),
        (Some("cda071f3af9e011ed8f900133752da9af"), Some("Success"))
    );
    assert_eq!(detail["Operation"]["JobLevel"], "0");
    let p = &detail["Operation"]["ImageInspectResult"]["ProcessResult"];
    assert_eq!((p["PicSize"].as_u64(), p["Suspicious"].as_bool()), (Some(304491), Some(true)));
    assert_eq!(
        (p["SuspiciousBeginByte"].as_u64(), p["SuspiciousType"].as_str()),
        (Some(119), Some("MPEG-TS"))
    );
    assert_eq!(p["AutoProcessResult"]["Code"], "Success");
    assert!(body.get("Response").is_none(), "no XML root in JSON");
}
