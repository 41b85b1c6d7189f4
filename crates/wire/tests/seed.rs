//! The seed document (`shared/seed/ImageInspect-submit-task.txt`) byte for byte, and every kind of
//! bad input the job-service issue names, as a table.
use chrono::{TimeZone, Utc};
use serde::Serialize;
use stowaway_testkit::SEED_REQUEST;
use stowaway_wire::*;

const SEED_RESPONSE: &str = "<Response>
<JobsDetail>
<Code>Success</Code>
<Message/>
<JobId>cda071f3af9e011ed8f900133752da9af</JobId>
<State>Submitted</State>
<CreationTime>2022-06-27T15:23:10+0800</CreationTime>
<StartTime>-</StartTime>
<EndTime>-</EndTime>
<QueueId>p2242ab62c7c94486915508540933a2c6</QueueId>
<Tag>ImageInspect</Tag>
<Input>
<BucketId>test-123456789</BucketId>
<Object>input/test.png</Object>
<Region>ap-chongqing</Region>
</Input>
<Operation>
<UserData>This is my data.</UserData>
<JobLevel>0</JobLevel>
</Operation>
</JobsDetail>
</Response>";

/// Drops the line breaks between elements and spells empty elements one way.
fn normalise(xml: &str) -> String {
    let joined: String = xml.lines().map(str::trim).collect();
    joined.replace("<Message></Message>", "<Message/>")
}

#[derive(Serialize)]
#[serde(rename = "Response", rename_all = "PascalCase")]
struct Response {
    jobs_detail: JobsDetail,
}

#[test]
fn seed_request_parses() {
    // (The seed's `Content-Length: 166` is illustrative: its own body as shown is 263 bytes.)
    let r = parse_submit(SEED_REQUEST.as_bytes()).unwrap();
    assert_eq!(r.object, "input/test.png");
    assert_eq!(r.user_data.as_deref(), Some("This is my data."));
    assert_eq!(r.job_level, 0);
    assert_eq!(r.callback.as_deref(), Some("http://callback.demo.com"));
    assert_eq!(r.callback_format.as_deref(), Some("JSON"));
    assert_eq!((r.callback_type, r.callback_mq, r.image_inspect), (None, None, None));
}

#[test]
fn seed_response_renders_element_for_element() {
    let r = parse_submit(SEED_REQUEST.as_bytes()).unwrap();
    let created = Utc.with_ymd_and_hms(2022, 6, 27, 7, 23, 10).unwrap(); // 15:23:10 +0800
    let detail = JobsDetail {
        code: "Success".into(),
        message: String::new(),
        job_id: "cda071f3af9e011ed8f900133752da9af".into(),
        state: "Submitted".into(),
        creation_time: tencent_time(created),
        start_time: "-".into(),
        end_time: "-".into(),
        queue_id: "p2242ab62c7c94486915508540933a2c6".into(),
        tag: "ImageInspect".into(),
        input: Input { bucket_id: "test-123456789".into(), object: r.object, region: "ap-chongqing".into() },
        operation: Operation {
            image_inspect: None,
            user_data: r.user_data,
            job_level: r.job_level,
            image_inspect_result: None,
        },
        workflow: None,
    };
    assert_eq!(normalise(&to_xml(&Response { jobs_detail: detail })), normalise(SEED_RESPONSE));
}

#[test]
fn image_inspect_options_and_results_render() {
    let body = SEED_REQUEST.replace(
        "<UserData>",
        "<ImageInspect><AutoProcess>true</AutoProcess><ProcessType>SwitchObjectToPrivate</ProcessType></ImageInspect><UserData>",
    );
    let r = parse_submit(body.as_bytes()).unwrap();
    assert_eq!(r.auto_process(), Some(ProcessType::SwitchObjectToPrivate));
    let xml = to_xml(&r.image_inspect.unwrap());
    assert_eq!(xml, "<ImageInspectOptions><AutoProcess>true</AutoProcess><ProcessType>SwitchObjectToPrivate</ProcessType></ImageInspectOptions>");
    let result = stowaway_testkit::tencent_example_process_result();
    assert_eq!(
        to_xml(&result),
        "<ProcessResult><PicSize>304491</PicSize><PicType>png</PicType><Suspicious>true</Suspicious>\
         <SuspiciousBeginByte>119</SuspiciousBeginByte><SuspiciousEndByte>304490</SuspiciousEndByte>\
         <SuspiciousSize>304372</SuspiciousSize><SuspiciousType>MPEG-TS</SuspiciousType>\
         <AutoProcessResult><Code>Success</Code><Message>Success</Message></AutoProcessResult></ProcessResult>"
    );
}

#[test]
fn unknown_elements_are_ignored_and_defaults_apply() {
    let r = parse_submit(
        b"<Request><Tag>ImageInspect</Tag><QueueId>p1</QueueId><Input><Object>a b/\xe5\x9b\xbe.png</Object><Extra/></Input></Request>",
    )
    .unwrap();
    assert_eq!((r.object.as_str(), r.job_level, r.auto_process()), ("a b/图.png", 0, None));
}

#[test]
fn bad_input_is_a_clear_400() {
    let long = "x".repeat(1025);
    let cases: Vec<(String, &str, &str)> = vec![
        ("".into(), "MissingRequestBodyError", "empty"),
        ("<Request><Tag>ImageInspect".into(), "MalformedXML", "not the expected XML"),
        ("<Request><Tag>ImageInspect</Tag></Oops>".into(), "MalformedXML", "not the expected XML"),
        ("<!DOCTYPE r [<!ENTITY x \"y\">]><Request><Tag>&x;</Tag></Request>".into(), "MalformedXML", "DTD"),
        (
            "<Request><Input><Object>a.png</Object></Input></Request>".into(),
            "InvalidArgument",
            "Tag is required",
        ),
        (
            "<Request><Tag>Transcode</Tag><Input><Object>a.png</Object></Input></Request>".into(),
            "InvalidArgument",
            "Tag must be ImageInspect",
        ),
        ("<Request><Tag>ImageInspect</Tag></Request>".into(), "InvalidArgument", "Input/Object is required"),
        (
            "<Request><Tag>ImageInspect</Tag><Input><Object> </Object></Input></Request>".into(),
            "InvalidArgument",
            "Input/Object is required",
        ),
        (
            "<Request><Tag>ImageInspect</Tag><Input><Object>../etc/passwd</Object></Input></Request>".into(),
            "InvalidArgument",
            ".. path segments",
        ),
        (SEED_REQUEST.replace("<JobLevel>0", "<JobLevel>7"), "InvalidArgument", "JobLevel must be 0, 1 or 2"),
        (SEED_REQUEST.replace("This is my data.", "bell\u{7}"), "InvalidArgument", "printable ASCII"),
        (SEED_REQUEST.replace("This is my data.", &long), "InvalidArgument", "longer than 1024"),
        (SEED_REQUEST.replace("http://callback.demo.com", "ftp://x"), "InvalidArgument", "CallBack must be"),
        (SEED_REQUEST.replace("callback.demo.com", "x&#1;y"), "InvalidArgument", "control characters"),
        (SEED_REQUEST.replace("callback.demo.com", "x y"), "InvalidArgument", "without spaces"),
        (
            SEED_REQUEST.replace(
                "</Request>",
                "<CallBackMqConfig><MqName>a&#1;</MqName></CallBackMqConfig></Request>",
            ),
            "InvalidArgument",
            "MqName",
        ),
        (SEED_REQUEST.replace("JSON", "YAML"), "InvalidArgument", "CallBackFormat"),
        (
            SEED_REQUEST.replace("</Request>", "<CallBackType>TDMQ</CallBackType></Request>"),
            "InvalidArgument",
            "CallBackMqConfig is required",
        ),
        (
            SEED_REQUEST.replace(
                "<UserData>",
                "<ImageInspect><AutoProcess>yes</AutoProcess></ImageInspect><UserData>",
            ),
            "InvalidArgument",
            "AutoProcess",
        ),
        (
            SEED_REQUEST.replace(
                "<UserData>",
                "<ImageInspect><ProcessType>Shred</ProcessType></ImageInspect><UserData>",
            ),
            "InvalidArgument",
            "ProcessType",
        ),
    ];
    for (body, code, words) in cases {
        let e = parse_submit(body.as_bytes()).expect_err(&body);
        assert_eq!((e.status, e.code), (400, code), "{body}: {e}");
        assert!(e.message.contains(words), "{body}: {e}");
    }
    // 1024 printable characters are fine.
    assert!(parse_submit(SEED_REQUEST.replace("This is my data.", &"x".repeat(1024)).as_bytes()).is_ok());
    assert!(parse_submit(b"\xff\xfe<Request/>").is_err());
}

#[test]
fn error_bodies_have_five_non_empty_children() {
    let e = WireError::invalid_argument("Operation/JobLevel must be 0, 1 or 2, not \"7\"");
    let body = ErrorBody::new(&e, "", "", "").render();
    assert!(
        body.starts_with("<?xml version='1.0' encoding='utf-8' ?>\n<Error><Code>InvalidArgument</Code>"),
        "{body}"
    );
    for tag in ["Code", "Message", "Resource", "RequestId", "TraceId"] {
        assert!(
            body.contains(&format!("<{tag}>")) && !body.contains(&format!("<{tag}></{tag}>")),
            "{tag} empty in {body}"
        );
    }
    assert!(body.contains("not &quot;7&quot;") || body.contains("not \"7\""), "escaped: {body}");
}
