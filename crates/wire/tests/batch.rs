//! Batch jobs (`/inventorytriggerjob`, spec triggers.md §1): bodies as Python, Go and Java send
//! them, every refusal naming its element, the child jobs and time filter, and the answers read
//! back the way the SDKs read them.
use chrono::{DateTime, TimeZone, Utc};
use stowaway_wire::*;

mod common;
use common::leaves;

/// Spec §1.2: the exact bytes Python's `ci_create_inventory_trigger_jobs` sends (Input is UrlFile).
const PYTHON_BODY: &str = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<Request><Name>ii-full</Name><Type>Job</Type>\
<Input><UrlFile>https://examplebucket-1250000000.cos.ap-chongqing.myqcloud.com/urls.txt</UrlFile></Input><Operation>\
<TimeInterval><Start>2023-05-01T00:00:00+0800</Start><End>2023-06-01T00:00:00+0800</End></TimeInterval><QueueId>\
p3a3b198088e74b76b31d553a77b656be</QueueId><UserData>u&amp;d</UserData><JobLevel>1</JobLevel><CallBack>\
http://127.0.0.1:9/cb</CallBack><CallBackFormat>JSON</CallBackFormat><CallBackType>Url</CallBackType><Tag>ImageInspect\
</Tag><JobParam><ImageInspect><AutoProcess>true</AutoProcess><ProcessType>DeleteObject</ProcessType></ImageInspect>\
</JobParam></Operation></Request>";

const URL_FILE: &str =
    "<UrlFile>https://examplebucket-1250000000.cos.ap-chongqing.myqcloud.com/urls.txt</UrlFile>";

/// The Python body over a prefix instead.
fn python_prefix_body() -> String {
    PYTHON_BODY.replace(URL_FILE, "<Prefix>photos/</Prefix>")
}

/// Python's official demo (`ci_create_image_inspect_batch_jobs`).
const DEMO_BODY: &str = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<Request><Name>image-inspect-auto-move-batch-process\
</Name><Type>Job</Type><Input><Prefix>/</Prefix></Input><Operation><Tag>ImageInspect</Tag><JobParam><ImageInspect>\
<AutoProcess>true</AutoProcess><ProcessType>BackupObject</ProcessType></ImageInspect></JobParam></Operation></Request>";

/// Go's `CreateInventoryTriggerJob`: no declaration, its field order, `TimeInterval` always sent
/// (empty when unset), `JobLevel` 0 omitted.
const GO_BODY: &str = "<Request><Name>go-batch</Name><Type>Job</Type><Input><Prefix>in/</Prefix></Input><Operation>\
<TimeInterval></TimeInterval><QueueId>p1</QueueId><UserData>go</UserData><CallBackFormat>XML</CallBackFormat>\
<CallBackType>TDMQ</CallBackType><CallBackMqConfig><MqMode>Queue</MqMode><MqRegion>bj</MqRegion><MqName>q1</MqName>\
</CallBackMqConfig><Tag>ImageInspect</Tag><JobParam><ImageInspect><AutoProcess>false</AutoProcess></ImageInspect>\
</JobParam></Operation></Request>";

/// Spec §1.3: Tencent's `Type=Workflow` example.
const WORKFLOW_BODY: &str = "<Request><Name>demo</Name><Type>Workflow</Type><Input><Prefix>input</Prefix></Input>\
<Operation><TimeInterval><Start>2022-02-01T12:00:00+0800</Start><End>2022-05-01T12:00:00+0800</End></TimeInterval>\
<WorkflowIds>w7476ff3564ee45b7b490d64bccaba6cc</WorkflowIds></Operation></Request>";

/// Java's `createInventoryTriggerJob`: always `Input` and `Operation`, `QueueType` beside them.
const JAVA_BODY: &str = "<Request><Name>java</Name><Type>Workflow</Type><Input><Prefix>a/</Prefix></Input><Operation>\
<WorkflowIds>w1,w2</WorkflowIds><QueueType>SpeedTranscoding</QueueType><TimeInterval><Start>2022-02-01T12:00:00+0800\
</Start><End>2022-05-01T12:00:00+0800</End><Duration>3600</Duration></TimeInterval></Operation></Request>";

fn cst(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
    chrono::FixedOffset::east_opt(8 * 3600)
        .unwrap()
        .with_ymd_and_hms(y, mo, d, h, mi, s)
        .unwrap()
        .with_timezone(&Utc)
}

fn interval(start: Option<DateTime<Utc>>, end: Option<DateTime<Utc>>) -> Option<TimeInterval> {
    Some(TimeInterval { start, end })
}

const DEFAULT_INSPECT: ImageInspectOptions =
    ImageInspectOptions { auto_process: false, process_type: ProcessType::BackupObject };

/// A Job batch with every setting at its default.
fn job(name: &str, input: BatchInput) -> BatchSpec {
    BatchSpec::new(name, BatchKind::Job, input)
}

fn workflow(name: &str, prefix: &str, ids: &[&str]) -> BatchSpec {
    BatchSpec {
        kind: BatchKind::Workflow,
        workflow_ids: ids.iter().map(|s| s.to_string()).collect(),
        ..job(name, BatchInput::Prefix(prefix.into()))
    }
}

fn python_spec() -> BatchSpec {
    BatchSpec {
        time_interval: interval(Some(cst(2023, 5, 1, 0, 0, 0)), Some(cst(2023, 6, 1, 0, 0, 0))),
        inspect: ImageInspectOptions { auto_process: true, process_type: ProcessType::DeleteObject },
        queue_id: Some("p3a3b198088e74b76b31d553a77b656be".into()),
        job_level: 1,
        user_data: Some("u&d".into()),
        callback: Some("http://127.0.0.1:9/cb".into()),
        callback_format: Some("JSON".into()),
        callback_type: Some("Url".into()),
        ..job("ii-full", BatchInput::Prefix("photos/".into()))
    }
}

fn demo_spec() -> BatchSpec {
    BatchSpec {
        inspect: ImageInspectOptions { auto_process: true, process_type: ProcessType::BackupObject },
        ..job("image-inspect-auto-move-batch-process", BatchInput::Prefix(String::new()))
    }
}

fn go_spec() -> BatchSpec {
    BatchSpec {
        queue_id: Some("p1".into()),
        user_data: Some("go".into()),
        callback_format: Some("XML".into()),
        callback_type: Some("TDMQ".into()),
        callback_mq: Some(CallBackMqConfig {
            mq_mode: Some("Queue".into()),
            mq_region: Some("bj".into()),
            mq_name: "q1".into(),
        }),
        ..job("go-batch", BatchInput::Prefix("in/".into()))
    }
}

fn workflow_spec() -> BatchSpec {
    BatchSpec {
        time_interval: interval(Some(cst(2022, 2, 1, 12, 0, 0)), Some(cst(2022, 5, 1, 12, 0, 0))),
        ..workflow("demo", "input", &["w7476ff3564ee45b7b490d64bccaba6cc"])
    }
}

#[test]
fn every_sdks_body_parses() {
    let prefix_body = python_prefix_body();
    let java =
        BatchSpec { time_interval: workflow_spec().time_interval, ..workflow("java", "a/", &["w1", "w2"]) };
    let cases: &[(&str, &str, BatchSpec)] = &[
        ("python bytes over a prefix", &prefix_body, python_spec()),
        ("python demo, Prefix / = whole bucket", DEMO_BODY, demo_spec()),
        ("go order, empty TimeInterval", GO_BODY, go_spec()),
        ("workflow example", WORKFLOW_BODY, workflow_spec()),
        ("java: QueueType and Duration ignored", JAVA_BODY, java),
    ];
    for (what, body, expected) in cases {
        assert_eq!(
            &parse_batch(body.as_bytes()).unwrap_or_else(|e| panic!("{what}: {e}")),
            expected,
            "{what}"
        );
    }
}

#[test]
fn accepted_variants() {
    let spec = |base: &str, from: &str, to: &str| {
        assert!(base.contains(from), "{from}");
        parse_batch(base.replacen(from, to, 1).as_bytes()).unwrap_or_else(|e| panic!("{to}: {e}"))
    };
    let demo = |from: &str, to: &str| spec(DEMO_BODY, from, to);
    let go = |from: &str, to: &str| spec(GO_BODY, from, to);
    let wf = |from: &str, to: &str| spec(WORKFLOW_BODY, from, to);
    let prefix = |p: &str| BatchInput::Prefix(p.into());
    let object = |o: &str| BatchInput::Object(o.into());
    let in_full = |from, to| demo(from, to).input;
    let cases: Vec<(&str, BatchSpec, BatchSpec)> = vec![
        ("Type absent with Tag: Job", demo("<Type>Job</Type>", ""), demo_spec()),
        ("Type empty with Tag: Job", demo("<Type>Job</Type>", "<Type></Type>"), demo_spec()),
        ("Type any case", demo("<Type>Job</Type>", "<Type>job</Type>"), demo_spec()),
        ("Type absent with WorkflowIds: Workflow", wf("<Type>Workflow</Type>", ""), workflow_spec()),
        ("Workflow: Job elements ignored", wf("<WorkflowIds>", "<Tag>Transcode</Tag><JobLevel>9</JobLevel><WorkflowIds>"), workflow_spec()),
        ("Job: WorkflowIds ignored", demo("<Tag>", "<WorkflowIds>w1</WorkflowIds><Tag>"), demo_spec()),
        ("DetectorOutdated (Stowaway's)", demo("<Tag>", "<DetectorOutdated>True</DetectorOutdated><Tag>"), BatchSpec { only_outdated: true, ..demo_spec() }),
        ("DetectorOutdated false", demo("<Tag>", "<DetectorOutdated>false</DetectorOutdated><Tag>"), demo_spec()),
        ("DetectorOutdated on a Workflow batch", wf("<WorkflowIds>", "<DetectorOutdated>true</DetectorOutdated><WorkflowIds>"), BatchSpec { only_outdated: true, ..workflow_spec() }),
        ("<TimeInterval/>", go("<TimeInterval></TimeInterval>", "<TimeInterval/>"), go_spec()),
        ("empty bounds", go("<TimeInterval></TimeInterval>", "<TimeInterval><Start></Start><End> </End></TimeInterval>"), go_spec()),
        ("no TimeInterval", go("<TimeInterval></TimeInterval>", ""), go_spec()),
        ("JobLevel empty", go("<UserData>", "<JobLevel></JobLevel><UserData>"), go_spec()),
        ("JobParam absent: defaults", go("<JobParam><ImageInspect><AutoProcess>false</AutoProcess></ImageInspect></JobParam>", ""), go_spec()),
        ("ImageInspect empty: defaults", go("<AutoProcess>false</AutoProcess>", "<AutoProcess></AutoProcess><ProcessType></ProcessType>"), go_spec()),
        ("unknown elements", go("<Tag>", "<Output><Bucket>b</Bucket></Output><FreeTranscode>x</FreeTranscode><CallBackKafkaConfig><Topic>t</Topic></CallBackKafkaConfig><Tag>"), go_spec()),
        ("empty Manifest and UrlFile are absent", go("<Prefix>", "<Manifest></Manifest><UrlFile> </UrlFile><Prefix>"), go_spec()),
        ("empty Object is absent", go("<Prefix>", "<Object></Object><Prefix>"), go_spec()),
    ];
    for (what, got, expected) in cases {
        assert_eq!(got, expected, "{what}");
    }

    let inputs: &[(&str, BatchInput)] = &[
        ("<Prefix>/</Prefix>", prefix("")),
        ("<Prefix></Prefix>", prefix("")),
        ("<Prefix/>", prefix("")),
        ("<Prefix>//a/b/</Prefix>", prefix("a/b/")),
        ("<Prefix> photos </Prefix>", prefix("photos")),
        ("<Prefix>照片/</Prefix>", prefix("照片/")),
        ("<Object>/a/cat.png</Object>", object("a/cat.png")),
        ("<Object>a b.png</Object>", object("a b.png")),
    ];
    for (to, expected) in inputs {
        assert_eq!(&in_full("<Prefix>/</Prefix>", to), expected, "{to}");
    }

    let times = |start: &str, end: &str| {
        let to = format!("<TimeInterval><Start>{start}</Start><End>{end}</End></TimeInterval>");
        go("<TimeInterval></TimeInterval>", &to).time_interval
    };
    let (s, e) = (cst(2022, 2, 1, 12, 0, 0), cst(2022, 5, 1, 12, 0, 0));
    assert_eq!(times("2022-02-01T12:00:00+0800", "2022-05-01T12:00:00+0800"), interval(Some(s), Some(e)));
    assert_eq!(times("2022-02-01T12:00:00+08:00", "2022-05-01T04:00:00Z"), interval(Some(s), Some(e)));
    assert_eq!(times("2022-02-01T04:00:00.75Z", ""), interval(Some(s), None), "fractions dropped");
    assert_eq!(times("", "2022-05-01T12:00:00+0800"), interval(None, Some(e)));
    assert_eq!(times("2022-02-01T12:00:00+0800", "2022-02-01T12:00:00+0800"), interval(Some(s), Some(s)));

    let ids = |v: &str| wf("w7476ff3564ee45b7b490d64bccaba6cc", v).workflow_ids;
    assert_eq!(ids("w1, w2,,w1 ,w3,"), ["w1", "w2", "w3"], "comma-separated, repeats and blanks dropped");
    let name = demo("image-inspect-auto-move-batch-process", &"名".repeat(128)).name;
    assert_eq!(name.chars().count(), 128);
    assert_eq!(demo("image-inspect-auto-move-batch-process", " 批量 ").name, "批量");
    let lvl = |v: &str| go("<UserData>", &format!("<JobLevel>{v}</JobLevel><UserData>")).job_level;
    assert_eq!((lvl("0"), lvl("1"), lvl(" 2 ")), (0, 1, 2));
    let cb = go(
        "<CallBackFormat>XML</CallBackFormat><CallBackType>TDMQ</CallBackType>",
        "<CallBack>no</CallBack><CallBackFormat>json</CallBackFormat><CallBackType>tdmq</CallBackType>",
    );
    assert_eq!(
        (cb.callback.as_deref(), cb.callback_format.as_deref(), cb.callback_type.as_deref()),
        (Some("no"), Some("JSON"), Some("TDMQ"))
    );
}

#[test]
fn manifest_and_url_file_are_refused_clearly() {
    let manifest = GO_BODY.replace(
        "<Prefix>in/</Prefix>",
        "<Manifest>https://b.cos.ap-x.myqcloud.com/manifest.json</Manifest>",
    );
    for (body, element) in [(PYTHON_BODY.to_string(), "Input/UrlFile"), (manifest, "Input/Manifest")] {
        let e = parse_batch(body.as_bytes()).unwrap_err();
        assert_eq!((e.status, e.code), (400, "InvalidArgument"), "{e}");
        assert!(e.message.starts_with(&format!("{element} is not supported")), "{e}");
        assert!(e.message.contains("use Input/Prefix or Input/Object"), "{e}");
    }
    let with_prefix = PYTHON_BODY.replace(URL_FILE, &format!("{URL_FILE}<Prefix>a/</Prefix>"));
    assert!(parse_batch(with_prefix.as_bytes())
        .unwrap_err()
        .message
        .contains("Input/UrlFile is not supported"));
}

#[test]
fn every_refusal_names_its_element() {
    let long_name = format!("<Name>{}</Name>", "名".repeat(129));
    let long_prefix = format!("<Prefix>{}</Prefix>", "a".repeat(851));
    let py = python_prefix_body();
    #[rustfmt::skip]
    let cases: &[(&str, &str, &str, &str)] = &[
        (GO_BODY, "<Name>go-batch</Name>", "", "Name is required"),
        (GO_BODY, "<Name>go-batch</Name>", "<Name> </Name>", "Name is required"),
        (GO_BODY, "<Name>go-batch</Name>", &long_name, "Name must be at most 128 characters"),
        (GO_BODY, "<Name>go-batch</Name>", "<Name>a&#9;b</Name>", "Name must be at most 128 characters without control"),
        (GO_BODY, "<Type>Job</Type>", "<Type>Batch</Type>", "Type must be Job or Workflow, not \"Batch\""),
        (GO_BODY, "<Input><Prefix>in/</Prefix></Input>", "", "Input is required (Prefix or Object)"),
        (GO_BODY, "<Prefix>in/</Prefix>", "", "Input/Prefix or Input/Object is required"),
        (GO_BODY, "<Prefix>in/</Prefix>", "<Object> </Object>", "Input/Prefix or Input/Object is required"),
        (GO_BODY, "<Prefix>in/</Prefix>", "<Prefix>a</Prefix><Object>b</Object>", "Input must give Prefix or Object, not both"),
        (GO_BODY, "<Prefix>in/</Prefix>", &long_prefix, "Input/Prefix must be at most 850 bytes"),
        (GO_BODY, "<Prefix>in/</Prefix>", "<Prefix>a&#10;b</Prefix>", "Input/Prefix must be at most 850 bytes without control"),
        (GO_BODY, "<Prefix>in/</Prefix>", "<Object>/</Object>", "Input/Object must name an object"),
        (GO_BODY, "<Prefix>in/</Prefix>", "<Object>a/../b</Object>", "Input/Object must not contain . or .. path segments"),
        (GO_BODY, "<TimeInterval></TimeInterval>", "<TimeInterval><Start>2022-02-01</Start></TimeInterval>", "Operation/TimeInterval/Start must be a time like 2022-02-01T12:00:00+0800"),
        (GO_BODY, "<TimeInterval></TimeInterval>", "<TimeInterval><End>2022-02-01T12:00:00</End></TimeInterval>", "Operation/TimeInterval/End must be a time like"),
        (GO_BODY, "<TimeInterval></TimeInterval>", "<TimeInterval><Start>2022-02-01T12:00:01+0800</Start><End>2022-02-01T12:00:00+0800</End></TimeInterval>", "Operation/TimeInterval/Start is after End"),
        (GO_BODY, "<Tag>ImageInspect</Tag>", "<DetectorOutdated>yes</DetectorOutdated><Tag>ImageInspect</Tag>", "Operation/DetectorOutdated must be true or false, not \"yes\""),
        (GO_BODY, "<Tag>ImageInspect</Tag>", "<Tag>Transcode</Tag>", "Operation/Tag must be ImageInspect when Type is Job, not \"Transcode\""),
        (GO_BODY, "<Tag>ImageInspect</Tag>", "<Tag>imageinspect</Tag>", "Operation/Tag must be ImageInspect"),
        (GO_BODY, "<Tag>ImageInspect</Tag>", "", "Operation/Tag is required (ImageInspect) when Type is Job"),
        (WORKFLOW_BODY, "<WorkflowIds>w7476ff3564ee45b7b490d64bccaba6cc</WorkflowIds>", "", "Operation/WorkflowIds is required when Type is Workflow"),
        (WORKFLOW_BODY, "w7476ff3564ee45b7b490d64bccaba6cc", " , ,", "Operation/WorkflowIds is required when Type is Workflow"),
        (WORKFLOW_BODY, "w7476ff3564ee45b7b490d64bccaba6cc", "w1&#1;", "Operation/WorkflowIds must be at most 1024 characters"),
        (GO_BODY, "<QueueId>p1</QueueId>", "<QueueId>p&#9;1</QueueId>", "Operation/QueueId must be"),
        (GO_BODY, "<UserData>go</UserData>", "<UserData>é</UserData>", "Operation/UserData must be printable ASCII"),
        (GO_BODY, "<UserData>go</UserData>", &format!("<UserData>{}</UserData>", "u".repeat(1025)), "Operation/UserData is longer than 1024"),
        (GO_BODY, "<UserData>", "<JobLevel>3</JobLevel><UserData>", "Operation/JobLevel must be 0, 1 or 2, not \"3\""),
        (GO_BODY, "<CallBackFormat>", "<CallBack>ftp://x</CallBack><CallBackFormat>", "Operation/CallBack must be an http:// or https:// URL without spaces or control characters, or \"no\""),
        (GO_BODY, "<CallBackFormat>XML</CallBackFormat>", "<CallBackFormat>YAML</CallBackFormat>", "Operation/CallBackFormat must be JSON or XML"),
        (GO_BODY, "<CallBackType>TDMQ</CallBackType>", "<CallBackType>Pulsar</CallBackType>", "Operation/CallBackType must be Url, TDMQ or Kafka"),
        (GO_BODY, "<CallBackType>TDMQ</CallBackType>", "<CallBackType>Kafka</CallBackType>", "Operation/CallBackKafkaConfig is required when CallBackType is Kafka"),
        (GO_BODY, "<MqName>q1</MqName>", "", "Operation/CallBackMqConfig/MqName is required"),
        (GO_BODY, "<MqRegion>bj</MqRegion>", "<MqRegion>b&#1;j</MqRegion>", "Operation/CallBackMqConfig/MqRegion must be"),
        (GO_BODY, "<MqRegion>bj</MqRegion>", "<MqRegion>ap-beijing</MqRegion>", "Operation/CallBackMqConfig/MqRegion must be one of sh, bj, gz, cd, hk"),
        (GO_BODY, "<MqMode>Queue</MqMode>", "<MqMode>Fanout</MqMode>", "Operation/CallBackMqConfig/MqMode must be one of Topic, Queue"),
        (GO_BODY, "<MqName>q1</MqName>", "<MqName>my topic</MqName>", "Operation/CallBackMqConfig/MqName must be a Kafka topic name"),
        (GO_BODY, "<CallBackMqConfig><MqMode>Queue</MqMode><MqRegion>bj</MqRegion><MqName>q1</MqName></CallBackMqConfig>", "", "Operation/CallBackMqConfig is required when CallBackType is TDMQ"),
        (GO_BODY, "<AutoProcess>false</AutoProcess>", "<AutoProcess>yes</AutoProcess>", "Operation/JobParam/ImageInspect/AutoProcess must be true or false"),
        (GO_BODY, "<AutoProcess>false</AutoProcess>", "<ProcessType>Shred</ProcessType>", "Operation/JobParam/ImageInspect/ProcessType must be"),
        (&py, "</Operation>", "</Operation><CallBack>http://a/b</CallBack>", "CallBack belongs inside Operation in a batch (Operation/CallBack)"),
        (&py, "</Operation>", "</Operation><CallBackType>Url</CallBackType>", "CallBackType belongs inside Operation"),
        (&py, "</Operation>", "</Operation><CallBackMqConfig><MqName>m</MqName></CallBackMqConfig>", "CallBackMqConfig belongs inside Operation"),
    ];
    for (base, from, to, words) in cases {
        assert!(base.contains(from), "{from}");
        let body = base.replacen(from, to, 1);
        let e = parse_batch(body.as_bytes()).expect_err(&body);
        assert_eq!((e.status, e.code), (400, "InvalidArgument"), "{body}: {e}");
        assert!(e.message.contains(words), "{to}: {e}");
    }
    let ambiguous = WORKFLOW_BODY
        .replace("<Type>Workflow</Type>", "")
        .replace("<WorkflowIds>", "<Tag>ImageInspect</Tag><WorkflowIds>");
    let e = parse_batch(ambiguous.as_bytes()).unwrap_err();
    assert_eq!(e.message, "Type is required (Job or Workflow) when Operation has both WorkflowIds and Tag");
    let no_operation = "<Request><Name>n</Name><Input><Prefix>/</Prefix></Input></Request>";
    assert_eq!(
        parse_batch(no_operation.as_bytes()).unwrap_err().message,
        "Operation/Tag is required (ImageInspect) when Type is Job"
    );
}

#[test]
fn malformed_bodies_are_refused_like_submissions() {
    let cases: &[(&[u8], &str)] = &[
        (b"", "MissingRequestBodyError"),
        (b"  \n", "MissingRequestBodyError"),
        (b"<Request><Name>", "MalformedXML"),
        (b"\xff\xfe", "MalformedXML"),
        (b"<!DOCTYPE r [<!ENTITY x \"y\">]><Request><Name>&x;</Name></Request>", "MalformedXML"),
        (b"<Request><Name>a</Name><Name>b</Name></Request>", "MalformedXML"),
        (b"<Request><Input><Prefix>a</Prefix><Prefix>b</Prefix></Input></Request>", "MalformedXML"),
    ];
    for (body, code) in cases {
        let e = parse_batch(body).unwrap_err();
        assert_eq!((e.status, e.code), (400, *code), "{}: {e}", String::from_utf8_lossy(body));
    }
}

#[test]
fn stored_spec_round_trips_through_json() {
    let mut odd = go_spec();
    odd.time_interval = interval(Some(Utc.timestamp_opt(1_650_000_000, 123_456_789).unwrap()), None);
    odd.input = BatchInput::Object("a/猫.png".into());
    for s in [python_spec(), demo_spec(), go_spec(), workflow_spec(), odd] {
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(serde_json::from_str::<BatchSpec>(&json).unwrap(), s, "{json}");
    }
}

#[test]
fn a_child_is_what_post_jobs_would_have_made() {
    let submit = "<Request><Tag>ImageInspect</Tag><Input><Object>photos/cat.png</Object></Input><Operation>\
<ImageInspect><AutoProcess>true</AutoProcess><ProcessType>DeleteObject</ProcessType></ImageInspect>\
<UserData>u&amp;d</UserData><JobLevel>1</JobLevel></Operation><CallBack>http://127.0.0.1:9/cb</CallBack>\
<CallBackFormat>JSON</CallBackFormat><CallBackType>Url</CallBackType></Request>";
    assert_eq!(python_spec().child_request("photos/cat.png"), parse_submit(submit.as_bytes()).unwrap());

    let submit = "<Request><Tag>ImageInspect</Tag><Input><Object>in/a.jpg</Object></Input><Operation>\
<ImageInspect></ImageInspect><UserData>go</UserData></Operation><CallBackFormat>XML</CallBackFormat>\
<CallBackType>TDMQ</CallBackType><CallBackMqConfig><MqMode>Queue</MqMode><MqRegion>bj</MqRegion><MqName>q1</MqName>\
</CallBackMqConfig></Request>";
    let child = go_spec().child_request("in/a.jpg");
    assert_eq!(child, parse_submit(submit.as_bytes()).unwrap());
    assert_eq!(child.auto_process(), None);
    assert_eq!(demo_spec().child_request("x.png").auto_process(), Some(ProcessType::BackupObject));
}

#[test]
fn time_interval_admits_last_modified_inclusively_at_whole_seconds() {
    let (s, e) = (cst(2023, 5, 1, 0, 0, 0), cst(2023, 6, 1, 0, 0, 0));
    let ms = |t: DateTime<Utc>, millis: i64| t + chrono::Duration::milliseconds(millis);
    #[rustfmt::skip]
    let cases: &[(Option<TimeInterval>, DateTime<Utc>, bool)] = &[
        (None, s, true),
        (interval(Some(s), Some(e)), s, true),
        (interval(Some(s), Some(e)), e, true),
        (interval(Some(s), Some(e)), ms(e, 999), true),
        (interval(Some(s), Some(e)), ms(e, 1000), false),
        (interval(Some(s), Some(e)), ms(s, -1), false),
        (interval(Some(s), Some(e)), ms(s, 1), true),
        (interval(Some(s), None), cst(2099, 1, 1, 0, 0, 0), true),
        (interval(Some(s), None), ms(s, -1000), false),
        (interval(None, Some(e)), cst(1999, 1, 1, 0, 0, 0), true),
        (interval(None, Some(e)), ms(e, 1000), false),
    ];
    for (i, (time_interval, modified, expected)) in cases.iter().enumerate() {
        let spec = BatchSpec { time_interval: *time_interval, ..demo_spec() };
        assert_eq!(spec.admits(*modified), *expected, "case {i}: {time_interval:?} {modified}");
    }
    let parsed = parse_batch(python_prefix_body().as_bytes()).unwrap();
    assert!(parsed.admits(Utc.with_ymd_and_hms(2023, 4, 30, 16, 0, 0).unwrap()));
    assert!(!parsed.admits(Utc.with_ymd_and_hms(2023, 4, 30, 15, 59, 59).unwrap()));
}

#[test]
fn which_keys_a_batch_covers() {
    let prefix = |p: &str| job("b", BatchInput::Prefix(p.into()));
    let object = |o: &str| job("b", BatchInput::Object(o.into()));
    #[rustfmt::skip]
    let cases: &[(BatchSpec, &str, bool)] = &[
        (prefix(""), "a.png", true),
        (prefix(""), "deep/dir/a.png", true),
        (prefix(""), "abnormal_images_backup/a.png", false),
        (prefix(""), "dir/", false),
        (prefix("photos/"), "photos/a.png", true),
        (prefix("photos/"), "photos2/a.png", false),
        (prefix("photos"), "photos2/a.png", true),
        (prefix("photos/"), "Photos/a.png", false),
        (object("a/cat.png"), "a/cat.png", true),
        (object("a/cat.png"), "a/cat.png2", false),
        (object("abnormal_images_backup/x.png"), "abnormal_images_backup/x.png", true),
    ];
    for (spec, key, expected) in cases {
        assert_eq!(spec.includes(key), *expected, "{:?} {key}", spec.input);
    }
}

fn view<'a>(batch_id: &'a str, spec: &'a BatchSpec) -> BatchView<'a> {
    BatchView {
        batch_id,
        spec,
        state: "Running",
        code: "Success",
        message: "",
        progress: Some(40),
        queue_id: "p893bcda225bf4945a378da6662e81a89",
        creation_time: cst(2022, 6, 27, 15, 23, 10),
        start_time: Some(cst(2022, 6, 27, 15, 23, 11)),
        end_time: None,
    }
}

#[test]
fn job_batch_answer_echoes_the_request_with_go_and_java_fields() {
    let spec = python_spec();
    let xml = batch_response("req-1", &[view("be8f65004eb8511eaaed4f377124a303c", &spec)], &[], None);
    let d = "Response/JobsDetail";
    let expected = [
        "Response/RequestId = req-1".to_string(),
        format!("{d}/Code = Success"),
        format!("{d}/Message = "),
        format!("{d}/Name = ii-full"),
        format!("{d}/Type = Job"),
        format!("{d}/JobId = be8f65004eb8511eaaed4f377124a303c"),
        format!("{d}/State = Running"),
        format!("{d}/Progress = 40"),
        format!("{d}/CreationTime = 2022-06-27T15:23:10+0800"),
        format!("{d}/StartTime = 2022-06-27T15:23:11+0800"),
        format!("{d}/EndTime = -"),
        format!("{d}/Tag = ImageInspect"),
        format!("{d}/QueueId = p3a3b198088e74b76b31d553a77b656be"),
        format!("{d}/Input/Prefix = photos/"),
        format!("{d}/Operation/TimeInterval/Start = 2023-05-01T00:00:00+0800"),
        format!("{d}/Operation/TimeInterval/End = 2023-06-01T00:00:00+0800"),
        format!("{d}/Operation/Tag = ImageInspect"),
        format!("{d}/Operation/QueueId = p3a3b198088e74b76b31d553a77b656be"),
        format!("{d}/Operation/UserData = u&d"),
        format!("{d}/Operation/JobLevel = 1"),
        format!("{d}/Operation/CallBack = http://127.0.0.1:9/cb"),
        format!("{d}/Operation/CallBackFormat = JSON"),
        format!("{d}/Operation/CallBackType = Url"),
        format!("{d}/Operation/JobParam/ImageInspect/AutoProcess = true"),
        format!("{d}/Operation/JobParam/ImageInspect/ProcessType = DeleteObject"),
    ];
    assert_eq!(leaves(&xml), expected, "{xml}");
    assert!(!xml.starts_with("<?xml"), "success bodies carry no declaration");
}

#[test]
fn workflow_and_whole_bucket_batches_render_as_documented() {
    let (wf, mut demo, mut go) = (workflow_spec(), demo_spec(), go_spec());
    demo.time_interval = interval(None, Some(cst(2022, 5, 1, 12, 0, 0)));
    go.input = BatchInput::Object("in/猫 & 狗.png".into());
    let mut done = view("b2", &demo);
    (done.state, done.progress, done.end_time) = ("Success", None, Some(cst(2022, 6, 27, 15, 25, 10)));
    let views = [view("b3deffea2f84911ec9cb15254008618d9", &wf), done, view("b4", &go)];
    let xml = batch_response("req-2", &views, &[], Some("25"));
    let leaves = leaves(&xml);
    let of = |i: usize| -> Vec<&str> {
        let mut n = 0;
        let mut out = Vec::new();
        for l in &leaves {
            if l.starts_with("Response/JobsDetail/Code = ") {
                n += 1;
            }
            if n == i + 1 && l.starts_with("Response/JobsDetail/") {
                out.push(&l["Response/JobsDetail/".len()..]);
            }
        }
        out
    };
    assert_eq!(
        of(0),
        [
            "Code = Success",
            "Message = ",
            "Name = demo",
            "Type = Workflow",
            "JobId = b3deffea2f84911ec9cb15254008618d9",
            "State = Running",
            "Progress = 40",
            "CreationTime = 2022-06-27T15:23:10+0800",
            "StartTime = 2022-06-27T15:23:11+0800",
            "EndTime = -",
            "Input/Prefix = input",
            "Operation/TimeInterval/Start = 2022-02-01T12:00:00+0800",
            "Operation/TimeInterval/End = 2022-05-01T12:00:00+0800",
            "Operation/WorkflowIds = w7476ff3564ee45b7b490d64bccaba6cc",
        ],
        "{xml}"
    );
    let demo_leaves = of(1);
    assert!(
        demo_leaves.contains(&"State = Success")
            && demo_leaves.contains(&"EndTime = 2022-06-27T15:25:10+0800")
    );
    assert!(!demo_leaves.iter().any(|l| l.starts_with("Progress")), "Progress only when known");
    assert!(demo_leaves.contains(&"Input/Prefix = /"), "the whole bucket is echoed as /");
    assert!(
        demo_leaves.contains(&"QueueId = p893bcda225bf4945a378da6662e81a89"),
        "the bucket's queue when none named"
    );
    assert!(demo_leaves.contains(&"Operation/QueueId = p893bcda225bf4945a378da6662e81a89"));
    assert!(demo_leaves.contains(&"Operation/JobLevel = 0"));
    assert!(demo_leaves.contains(&"Operation/TimeInterval/End = 2022-05-01T12:00:00+0800"));
    assert!(!demo_leaves.iter().any(|l| l.starts_with("Operation/TimeInterval/Start")), "open side left out");
    assert!(!demo_leaves
        .iter()
        .any(|l| l.starts_with("Operation/CallBack") || l.starts_with("Operation/UserData")));
    let go_leaves = of(2);
    assert!(go_leaves.contains(&"Input/Object = in/猫 & 狗.png"), "{xml}");
    for l in [
        "Operation/CallBackMqConfig/MqMode = Queue",
        "Operation/CallBackMqConfig/MqRegion = bj",
        "Operation/CallBackMqConfig/MqName = q1",
    ] {
        assert!(go_leaves.contains(&l), "{l}: {xml}");
    }
    assert_eq!(leaves.last().map(String::as_str), Some("Response/NextToken = 25"));
}

#[test]
fn get_lists_unknown_ids_and_the_last_page_has_an_empty_token() {
    let spec = demo_spec();
    let unknown = ["bnope1".to_string(), "bnope2".to_string()];
    let xml = batch_response("req-3", &[view("b1", &spec)], &unknown, None);
    let tail: Vec<String> =
        leaves(&xml).into_iter().filter(|l| !l.starts_with("Response/JobsDetail")).collect();
    assert_eq!(
        tail,
        [
            "Response/RequestId = req-3",
            "Response/NonExistJobIds = bnope1",
            "Response/NonExistJobIds = bnope2"
        ],
        "{xml}"
    );
    let none = batch_response("req-4", &[], &["b9".to_string()], None);
    assert_eq!(leaves(&none), ["Response/RequestId = req-4", "Response/NonExistJobIds = b9"], "{none}");
    let last = batch_response("req-5", &[], &[], Some(""));
    assert_eq!(leaves(&last), ["Response/RequestId = req-5", "Response/NextToken = "], "{last}");
}

/// The answer's `Name`, `Type`, `Input` and `Operation`, sent back as a body.
fn resend(xml: &str) -> String {
    let keep = ["Name", "Type", "Input", "Operation"];
    let detail =
        &xml[xml.find("<JobsDetail>").unwrap() + "<JobsDetail>".len()..xml.find("</JobsDetail>").unwrap()];
    let mut body = String::from("<Request>");
    for name in keep {
        let (open, close) = (format!("<{name}>"), format!("</{name}>"));
        if let (Some(a), Some(b)) = (detail.find(&open), detail.find(&close)) {
            body.push_str(&detail[a..b + close.len()]);
        }
    }
    body + "</Request>"
}

#[test]
fn an_answer_sent_back_makes_the_same_batch() {
    let mut object = go_spec();
    object.input = BatchInput::Object("in/猫 & 狗.png".into());
    object.time_interval = interval(Some(cst(2022, 2, 1, 12, 0, 0)), None);
    let outdated = BatchSpec { only_outdated: true, ..workflow("j", "a/", &["w1", "w2"]) };
    let specs = [python_spec(), demo_spec(), go_spec(), workflow_spec(), object, outdated];
    for spec in specs {
        let xml = batch_response("r", &[view("b1", &spec)], &[], None);
        let body = resend(&xml);
        let mut again = parse_batch(body.as_bytes()).unwrap_or_else(|e| panic!("{body}: {e}"));
        if spec.kind == BatchKind::Job && spec.queue_id.is_none() {
            // The answer names the queue the batch was given.
            again.queue_id = None;
        }
        assert_eq!(again, spec, "{body}");
    }
}

#[test]
fn kinds_by_name() {
    assert_eq!(BatchKind::from_name("workflow"), Some(BatchKind::Workflow));
    assert_eq!(BatchKind::from_name("JOB"), Some(BatchKind::Job));
    assert_eq!(BatchKind::from_name("All"), None);
    assert_eq!((BatchKind::Job.as_str(), BatchKind::Workflow.as_str()), ("Job", "Workflow"));
}

#[test]
fn a_new_batch_has_tencents_defaults() {
    let b = job("d", BatchInput::Object("a.png".into()));
    assert_eq!((b.inspect, b.job_level, b.time_interval), (DEFAULT_INSPECT, 0, None));
    assert!(b.callback.is_none() && b.queue_id.is_none() && b.workflow_ids.is_empty());
}
