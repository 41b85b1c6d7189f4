//! Workflows: bodies as the Python and Go SDKs send them, every refusal, which uploads trigger,
//! and the answers read back the way the SDKs read them (spec triggers.md §2).
use chrono::{TimeZone, Utc};
use stowaway_wire::*;

mod common;
use common::leaves;

/// Spec §2.2: the exact bytes Python's `ci_create_workflow` sends for the official demo.
const PYTHON_BODY: &str = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<Request><MediaWorkflow><Name>image-inspect</Name>\
<State>Active</State><Topology><Dependencies><Start>ImageInspectNode</Start><ImageInspectNode>End</ImageInspectNode>\
</Dependencies><Nodes><Start><Type>Start</Type><Input><ObjectPrefix>test</ObjectPrefix><NotifyConfig><Type>Url</Type>\
<Url>http://www.callback.com</Url><Event>WorkflowFinish,TaskFinish</Event><ResultFormat></ResultFormat></NotifyConfig>\
<ExtFilter><State>On</State><Image>true</Image><Custom></Custom><CustomExts>jpg/png</CustomExts><AllFile></AllFile>\
</ExtFilter></Input></Start><ImageInspectNode><Type>ImageInspect</Type><Operation><ImageInspect><AutoProcess>true\
</AutoProcess><ProcessType>BackupObject</ProcessType></ImageInspect></Operation></ImageInspectNode></Nodes></Topology>\
</MediaWorkflow></Request>";

/// The same workflow from Go's `CreateMediaWorkflow`: no declaration, `Dependencies` and `Nodes`
/// children sorted by name, `State` always present.
const GO_BODY: &str = "<Request><MediaWorkflow><Name>image-inspect</Name><State>Active</State><Topology><Dependencies>\
<ImageInspectNode>End</ImageInspectNode><Start>ImageInspectNode</Start></Dependencies><Nodes><ImageInspectNode>\
<Type>ImageInspect</Type><Operation><ImageInspect><AutoProcess>true</AutoProcess><ProcessType>BackupObject</ProcessType>\
</ImageInspect></Operation></ImageInspectNode><Start><Type>Start</Type><Input><ObjectPrefix>test</ObjectPrefix>\
<NotifyConfig><Url>http://www.callback.com</Url><Event>WorkflowFinish,TaskFinish</Event><Type>Url</Type></NotifyConfig>\
<ExtFilter><State>On</State><Image>true</Image><CustomExts>jpg/png</CustomExts></ExtFilter></Input></Start></Nodes>\
</Topology></MediaWorkflow></Request>";

fn demo_spec() -> WorkflowSpec {
    WorkflowSpec {
        name: "image-inspect".into(),
        state: Some(WorkflowState::Active),
        node_name: "ImageInspectNode".into(),
        start: StartInput {
            object_prefix: "test".into(),
            queue_id: None,
            notify: Some(WorkflowNotify {
                kind: CallbackKind::Url,
                url: Some("http://www.callback.com".into()),
                events: vec![WorkflowEvent::TaskFinish, WorkflowEvent::WorkflowFinish],
                format: CallbackFormat::Xml,
                mq_mode: None,
                mq_region: None,
                mq_name: None,
            }),
            ext_filter: ExtFilter {
                on: true,
                image: true,
                custom_exts: vec!["jpg".into(), "png".into()],
                ..ExtFilter::default()
            },
        },
        inspect: ImageInspectOptions { auto_process: true, process_type: ProcessType::BackupObject },
    }
}

#[test]
fn python_bytes_parse_to_the_demo_workflow() {
    assert_eq!(parse_workflow(PYTHON_BODY.as_bytes()).unwrap(), demo_spec());
}

#[test]
fn go_shape_parses_the_same() {
    assert_eq!(parse_workflow(GO_BODY.as_bytes()).unwrap(), demo_spec());
    let empty_state = GO_BODY.replace("<State>Active</State>", "<State></State>");
    assert_eq!(parse_workflow(empty_state.as_bytes()).unwrap(), WorkflowSpec { state: None, ..demo_spec() });
}

#[test]
fn demo_as_shipped_with_empty_elements_means_defaults() {
    let body = "<Request><MediaWorkflow><Name>wf</Name><State></State><Topology><Dependencies>\
<Start>Inspect_1</Start><Inspect_1>End</Inspect_1></Dependencies><Nodes><Start><Type>Start</Type><Input>\
<QueueId></QueueId><ObjectPrefix>/</ObjectPrefix><NotifyConfig><Type></Type><Url></Url><Event></Event>\
<ResultFormat></ResultFormat><MqMode></MqMode><MqRegion></MqRegion><MqName></MqName></NotifyConfig><ExtFilter>\
<State></State><Video></Video><Audio></Audio><Image></Image><ContentType></ContentType><Custom></Custom>\
<CustomExts></CustomExts><AllFile></AllFile><AutoContentType>a</AutoContentType><AutoContentType>b</AutoContentType>\
</ExtFilter><SamplingConfig><State>On</State><Mode>Interval</Mode><Ratio>5</Ratio></SamplingConfig></Input></Start>\
<Inspect_1><Type>ImageInspect</Type><Operation><ImageInspect><AutoProcess></AutoProcess><ProcessType></ProcessType>\
</ImageInspect></Operation></Inspect_1></Nodes></Topology></MediaWorkflow></Request>";
    let spec = parse_workflow(body.as_bytes()).unwrap();
    let expected = WorkflowSpec {
        name: "wf".into(),
        state: None,
        node_name: "Inspect_1".into(),
        start: StartInput::default(),
        inspect: ImageInspectOptions { auto_process: false, process_type: ProcessType::BackupObject },
    };
    assert_eq!(spec, expected);
    assert_eq!(spec.initial_state(), WorkflowState::Paused);
    assert!(spec.triggers("anything/at/all.bin", None));
}

#[test]
fn accepted_variants() {
    let spec = |from: &str, to: &str| parse_workflow(PYTHON_BODY.replace(from, to).as_bytes()).unwrap();
    let notify = |from: &str, to: &str| spec(from, to).start.notify.unwrap();
    assert_eq!(spec("<State>Active</State>", "<State>paused</State>").state, Some(WorkflowState::Paused));
    assert_eq!(spec("<State>Active</State>", "").state, None);
    assert_eq!(
        spec("<Type>Start</Type>", "").start.object_prefix,
        "test",
        "the Start node's Type may be left out"
    );
    assert!(spec("<State>On</State><Image>", "<State>on</State><Image>").start.ext_filter.on);
    assert_eq!(
        spec("<ObjectPrefix>test</ObjectPrefix>", "<ObjectPrefix>/in/x</ObjectPrefix>").start.object_prefix,
        "in/x"
    );
    assert_eq!(spec("<ObjectPrefix>test</ObjectPrefix>", "").start.object_prefix, "");
    assert_eq!(spec("<Input>", "<Input><QueueId>p1</QueueId>").start.queue_id.as_deref(), Some("p1"));
    assert_eq!(
        spec("jpg/png", ".JPG/ png /.webp").start.ext_filter.custom_exts,
        ["JPG", "png", "webp"],
        "a leading dot is dropped, case kept"
    );
    let renamed = PYTHON_BODY.replace("ImageInspectNode", "scan");
    assert_eq!(parse_workflow(renamed.as_bytes()).unwrap().node_name, "scan", "node names are free");
    assert_eq!(spec("<ImageInspect><AutoProcess>true</AutoProcess><ProcessType>BackupObject</ProcessType></ImageInspect>", "").inspect,
        ImageInspectOptions { auto_process: false, process_type: ProcessType::BackupObject });
    assert_eq!(spec("BackupObject", "DeleteObject").inspect.process_type, ProcessType::DeleteObject);

    let n = notify(
        "<Event>WorkflowFinish,TaskFinish</Event>",
        "<Event>WorkflowStart, taskfinish,TaskFinish</Event>",
    );
    assert_eq!(n.events, [WorkflowEvent::TaskFinish, WorkflowEvent::WorkflowStart]);
    assert_eq!(
        notify("<Event>WorkflowFinish,TaskFinish</Event>", "").events,
        [WorkflowEvent::TaskFinish, WorkflowEvent::WorkflowFinish]
    );
    assert_eq!(
        notify("<ResultFormat></ResultFormat>", "<ResultFormat>json</ResultFormat>").format,
        CallbackFormat::Json
    );
    assert_eq!(notify("<Type>Url</Type>", "").kind, CallbackKind::Url);
    let tdmq = notify(
        "<Type>Url</Type><Url>http://www.callback.com</Url>",
        "<Type>TDMQ</Type><MqMode>queue</MqMode><MqRegion>bj</MqRegion><MqName>topic-1</MqName>",
    );
    assert_eq!(
        (tdmq.kind, tdmq.url, tdmq.mq_mode.as_deref(), tdmq.mq_region.as_deref(), tdmq.mq_name.as_deref()),
        (CallbackKind::Tdmq, None, Some("Queue"), Some("bj"), Some("topic-1"))
    );
    assert_eq!(spec("<NotifyConfig>", "<NotifyConfig><State>Off</State>").start.notify, None);
    let only_defaults = "<NotifyConfig><Type>Url</Type><ResultFormat>XML</ResultFormat></NotifyConfig>";
    let start = PYTHON_BODY.find("<NotifyConfig>").unwrap();
    let end = PYTHON_BODY.find("</NotifyConfig>").unwrap() + "</NotifyConfig>".len();
    assert_eq!(spec(&PYTHON_BODY[start..end], only_defaults).start.notify, None);
    assert_eq!(spec(&PYTHON_BODY[start..end], "").start.notify, None);
}

#[test]
fn every_refusal_names_its_element() {
    let long_name = format!("<Name>{}</Name>", "名".repeat(129));
    let eleven = "<CustomExts>a/b/c/d/e/f/g/h/i/j/k</CustomExts>";
    let snapshot = "<Type>Snapshot</Type><Operation>";
    let second_node = "</ImageInspectNode><Other><Type>ImageInspect</Type></Other></Nodes>";
    let cases: &[(&str, &str, &str)] = &[
        ("<Name>image-inspect</Name>", "", "MediaWorkflow/Name is required"),
        ("<Name>image-inspect</Name>", "<Name> </Name>", "MediaWorkflow/Name is required"),
        ("<Name>image-inspect</Name>", &long_name, "MediaWorkflow/Name must be at most 128"),
        ("<State>Active</State>", "<State>Running</State>", "MediaWorkflow/State must be Active or Paused"),
        ("<Dependencies><Start>ImageInspectNode</Start><ImageInspectNode>End</ImageInspectNode></Dependencies>", "", "MediaWorkflow/Topology/Dependencies is required"),
        ("<Type>ImageInspect</Type><Operation>", snapshot, "MediaWorkflow/Topology/Nodes/ImageInspectNode/Type must be ImageInspect, not \"Snapshot\""),
        ("<Type>ImageInspect</Type>", "", "Nodes/ImageInspectNode/Type must be ImageInspect, not \"\""),
        ("<Type>Start</Type>", "<Type>Transcode</Type>", "Nodes/Start/Type must be Start"),
        ("</ImageInspectNode></Nodes>", second_node, "Nodes/Other is a second node: Stowaway runs ImageInspect workflows only"),
        ("</ImageInspectNode></Nodes>", "</ImageInspectNode><Start><Type>Start</Type></Start></Nodes>", "Nodes/Start is given twice"),
        ("<Start>ImageInspectNode</Start>", "<Start>ImageInspectNode,End</Start>", "Dependencies/Start must be ImageInspectNode, not \"ImageInspectNode,End\""),
        ("<Start>ImageInspectNode</Start>", "<Start>End</Start>", "Dependencies/Start must be ImageInspectNode"),
        ("<Start>ImageInspectNode</Start>", "", "Dependencies/Start is required"),
        ("<ImageInspectNode>End</ImageInspectNode></Dependencies>", "<ImageInspectNode>Start</ImageInspectNode></Dependencies>", "Dependencies/ImageInspectNode must be End"),
        ("<ImageInspectNode>End</ImageInspectNode></Dependencies>", "</Dependencies>", "Dependencies/ImageInspectNode is required"),
        ("</Dependencies>", "<Stray>End</Stray></Dependencies>", "Dependencies/Stray names no node"),
        ("</ImageInspectNode></Nodes>", "</ImageInspectNode><Begin><Type>Start</Type></Begin></Nodes>", "Nodes/Begin/Type must be ImageInspect"),
        ("<ObjectPrefix>test</ObjectPrefix>", "<ObjectPrefix>a\tb</ObjectPrefix>", "Start/Input/ObjectPrefix must be"),
        ("<Input>", "<Input><QueueId>p\tq</QueueId>", "Start/Input/QueueId must be"),
        ("<Type>Url</Type>", "<Type>Kafka</Type>", "Start/Input/NotifyConfig/Type must be Url or TDMQ"),
        ("<Url>http://www.callback.com</Url>", "<Url>ftp://x</Url>", "Start/Input/NotifyConfig/Url must be an http"),
        ("<Url>http://www.callback.com</Url>", "", "Start/Input/NotifyConfig/Url is required when Type is Url"),
        ("<Type>Url</Type>", "<Type>TDMQ</Type>", "Start/Input/NotifyConfig/MqName is required when Type is TDMQ"),
        ("WorkflowFinish,TaskFinish", "WorkflowFinish,JobFinish", "Start/Input/NotifyConfig/Event must list"),
        ("<ResultFormat></ResultFormat>", "<ResultFormat>YAML</ResultFormat>", "Start/Input/NotifyConfig/ResultFormat must be XML or JSON"),
        ("<ResultFormat></ResultFormat>", "<MqMode>Fanout</MqMode>", "Start/Input/NotifyConfig/MqMode must be one of Topic, Queue"),
        ("<Type>Url</Type>", "<State>Sometimes</State>", "Start/Input/NotifyConfig/State must be one of On, Off"),
        ("<State>On</State><Image>", "<State>Yes</State><Image>", "Start/Input/ExtFilter/State must be one of On, Off"),
        ("<Image>true</Image>", "<Image>yes</Image>", "Start/Input/ExtFilter/Image must be true or false"),
        ("<AllFile></AllFile>", "<AllFile>1</AllFile>", "Start/Input/ExtFilter/AllFile must be true or false"),
        ("<Custom></Custom>", "<Custom>true</Custom><Video>no</Video>", "Start/Input/ExtFilter/Video must be true or false"),
        ("<CustomExts>jpg/png</CustomExts>", eleven, "Start/Input/ExtFilter/CustomExts lists more than 10"),
        ("<Custom></Custom><CustomExts>jpg/png</CustomExts>", "<Custom>true</Custom><CustomExts>/</CustomExts>", "ExtFilter/CustomExts is required when Custom is true"),
        ("<AutoProcess>true", "<AutoProcess>maybe", "Nodes/ImageInspectNode/Operation/ImageInspect/AutoProcess must be true or false"),
        ("BackupObject", "MoveObject", "Nodes/ImageInspectNode/Operation/ImageInspect/ProcessType must be"),
    ];
    for (from, to, words) in cases {
        assert!(PYTHON_BODY.contains(from), "{from}");
        let body = PYTHON_BODY.replacen(from, to, 1);
        let e = parse_workflow(body.as_bytes()).expect_err(&body);
        assert_eq!((e.status, e.code), (400, "InvalidArgument"), "{body}: {e}");
        assert!(e.message.contains(words), "{to}: {e}");
    }
    let refusal = |body: &str| parse_workflow(body.as_bytes()).unwrap_err().message;
    assert_eq!(refusal("<Request><Name>x</Name></Request>"), "MediaWorkflow is required");
    assert_eq!(
        refusal("<Request><MediaWorkflow><Name>x</Name></MediaWorkflow></Request>"),
        "MediaWorkflow/Topology is required"
    );
    let (from, to) =
        (PYTHON_BODY.find("<ImageInspectNode><Type>").unwrap(), PYTHON_BODY.find("</Nodes>").unwrap());
    let no_node = format!("{}{}", &PYTHON_BODY[..from], &PYTHON_BODY[to..]);
    assert!(refusal(&no_node).contains("Topology/Nodes has no ImageInspect node"), "{no_node}");
}

#[test]
fn tencents_other_workflows_are_refused_by_node() {
    // Tencent's own create example (Go SDK test): Transcode then Snapshot.
    let go_fixture = "<Request><MediaWorkflow><Name>workflow-1</Name><State>Active</State><Topology><Dependencies>\
<Snapshot_1581665960536>End</Snapshot_1581665960536><Start>Transcode_1581665960537</Start><Transcode_1581665960537>\
Snapshot_1581665960536</Transcode_1581665960537></Dependencies><Nodes><Snapshot_1581665960536><Type>Snapshot</Type>\
<Operation><TemplateId>t07740e32081b44ad7a0aea03adcffd54a</TemplateId></Operation></Snapshot_1581665960536><Start>\
<Type>Start</Type><Input><QueueId>p09d709939fef48a0a5c247ef39d90cec</QueueId><ObjectPrefix>wk-test</ObjectPrefix>\
<ExtFilter><State>On</State><Custom>true</Custom><CustomExts>mp4</CustomExts></ExtFilter></Input></Start>\
<Transcode_1581665960537><Type>Transcode</Type></Transcode_1581665960537></Nodes></Topology></MediaWorkflow></Request>";
    let e = parse_workflow(go_fixture.as_bytes()).unwrap_err();
    assert_eq!(e.code, "InvalidArgument");
    assert!(
        e.message.contains("Nodes/Snapshot_1581665960536/Type must be ImageInspect, not \"Snapshot\""),
        "{e}"
    );
    assert!(e.message.contains("Stowaway runs ImageInspect workflows only"), "{e}");
}

#[test]
fn malformed_bodies_are_refused_like_submissions() {
    let cases: &[(&[u8], &str)] = &[
        (b"", "MissingRequestBodyError"),
        (b"<Request><MediaWorkflow>", "MalformedXML"),
        (b"\xff\xfe", "MalformedXML"),
        (b"<!DOCTYPE r [<!ENTITY x \"y\">]><Request><MediaWorkflow><Name>&x;</Name></MediaWorkflow></Request>", "MalformedXML"),
        (b"<Request><MediaWorkflow><Name>a</Name><Name>b</Name></MediaWorkflow></Request>", "MalformedXML"),
    ];
    for (body, code) in cases {
        let e = parse_workflow(body).unwrap_err();
        assert_eq!((e.status, e.code), (400, *code), "{}: {e}", String::from_utf8_lossy(body));
    }
}

#[test]
fn stored_spec_round_trips_through_json() {
    let mut spec = demo_spec();
    spec.start.queue_id = Some("p1".into());
    spec.start.ext_filter.content_type = true;
    spec.start.notify.as_mut().unwrap().kind = CallbackKind::Tdmq;
    spec.start.notify.as_mut().unwrap().format = CallbackFormat::Json;
    spec.start.notify.as_mut().unwrap().mq_name = Some("t".into());
    for s in [spec, demo_spec(), WorkflowSpec { state: None, ..demo_spec() }] {
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(serde_json::from_str::<WorkflowSpec>(&json).unwrap(), s, "{json}");
    }
}

fn filter(state: bool, set: &str, exts: &[&str]) -> ExtFilter {
    ExtFilter {
        on: state,
        image: set.contains('i'),
        video: set.contains('v'),
        audio: set.contains('a'),
        content_type: set.contains('t'),
        custom: set.contains('c'),
        all_file: set.contains('*'),
        custom_exts: exts.iter().map(|e| e.to_string()).collect(),
    }
}

/// (ObjectPrefix, ExtFilter on?, sets: i=Image v=Video a=Audio t=ContentType c=Custom *=AllFile,
/// CustomExts, key, Content-Type, triggers?)
type TriggerCase =
    (&'static str, bool, &'static str, &'static [&'static str], &'static str, Option<&'static str>, bool);

#[test]
fn which_uploads_trigger() {
    #[rustfmt::skip]
    let cases: &[TriggerCase] = &[
        ("", false, "", &[], "a.png", None, true),
        ("", false, "", &[], "no-suffix", None, true),
        ("", false, "i", &[], "movie.mp4", None, true),
        ("test", false, "", &[], "test/a.png", None, true),
        ("test", false, "", &[], "testing.png", None, true),
        ("test", false, "", &[], "Test/a.png", None, false),
        ("test", false, "", &[], "other/test/a.png", None, false),
        ("in/", true, "i", &[], "in/a.PNG", None, true),
        ("in/", true, "i", &[], "in/a.jpeg", None, true),
        ("in/", true, "i", &[], "in/a.mp4", None, false),
        ("", true, "i", &[], "photos/red flower.JPG", None, true),
        ("照片/", true, "i", &[], "照片/猫.png", None, true),
        ("照片/", true, "i", &[], "照片/猫", None, false),
        ("", true, "i", &[], "a.png/readme", None, false),
        ("", true, "i", &[], "dir.jpg/file.txt", None, false),
        ("", true, "i", &[], "archive.png.zip", None, false),
        ("", true, "i", &[], ".png", None, true),
        ("", true, "i", &[], "a.", None, false),
        ("", true, "v", &[], "clip.MOV", None, true),
        ("", true, "v", &[], "a.png", None, false),
        ("", true, "a", &[], "song.flac", None, true),
        ("", true, "", &[], "a.png", None, false),
        ("", true, "*", &[], "anything", None, true),
        ("", true, "c", &["raw", "tar.gz"], "x.RAW", None, true),
        ("", true, "c", &["raw", "tar.gz"], "x.tar.gz", None, true),
        ("", true, "c", &["raw", "tar.gz"], "x.gz", None, false),
        ("", true, "c", &["raw"], "draw", None, false),
        ("", true, "", &["raw"], "x.raw", None, false),
        ("", true, "c", &["ÉXT"], "x.éxt", None, true),
        ("", true, "it", &[], "blob", Some("image/png"), true),
        ("", true, "it", &[], "blob", Some("IMAGE/heic; q=1"), true),
        ("", true, "it", &[], "blob", Some("video/mp4"), false),
        ("", true, "it", &[], "blob", None, false),
        ("", true, "i", &[], "blob", Some("image/png"), false),
        ("", true, "t", &[], "blob", Some("image/png"), false),
        ("", true, "vt", &[], "blob", Some("video/mp4"), true),
        ("", true, "at", &[], "blob", Some("audio/mpeg"), true),
        ("", false, "", &[], "abnormal_images_backup/a.png", None, false),
        ("abnormal_images_backup/", false, "", &[], "abnormal_images_backup/a.png", None, false),
        ("", false, "", &[], "dir/", None, false),
        ("", false, "", &[], "", None, false),
    ];
    for &(prefix, on, sets, exts, key, content_type, expected) in cases {
        let mut spec = demo_spec();
        spec.start.object_prefix = prefix.into();
        spec.start.ext_filter = filter(on, sets, exts);
        assert_eq!(
            spec.triggers(key, content_type),
            expected,
            "{prefix:?} {on} {sets:?} {exts:?} {key:?} {content_type:?}"
        );
    }
    let demo = parse_workflow(PYTHON_BODY.as_bytes()).unwrap();
    assert!(demo.triggers("test/cat.webp", None) && !demo.triggers("test/clip.mp4", None));
}

fn at(h: u32, m: u32, s: u32) -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2022, 8, 9, h, m, s).unwrap()
}

fn view(spec: &WorkflowSpec) -> WorkflowView<'_> {
    WorkflowView {
        workflow_id: "wc666d0b9f9dd47ae9137a096252d49f7",
        bucket_id: "test-1234567890",
        state: WorkflowState::Active,
        queue_id: "p2911917386e148639319e13c285cc774",
        spec,
        create_time: at(6, 37, 44),
        update_time: at(6, 38, 0),
    }
}

#[test]
fn create_answer_echoes_the_topology_in_tencents_shape() {
    let spec = demo_spec();
    let xml = media_workflow_response("req-1", &view(&spec));
    let start = "Response/MediaWorkflow/Topology/Nodes/Start";
    let node = "Response/MediaWorkflow/Topology/Nodes/ImageInspectNode";
    let expected = [
        "Response/RequestId = req-1".to_string(),
        "Response/MediaWorkflow/Name = image-inspect".into(),
        "Response/MediaWorkflow/State = Active".into(),
        "Response/MediaWorkflow/WorkflowId = wc666d0b9f9dd47ae9137a096252d49f7".into(),
        "Response/MediaWorkflow/BucketId = test-1234567890".into(),
        "Response/MediaWorkflow/Topology/Dependencies/Start = ImageInspectNode".into(),
        "Response/MediaWorkflow/Topology/Dependencies/ImageInspectNode = End".into(),
        format!("{start}/Type = Start"),
        format!("{start}/Input/QueueId = p2911917386e148639319e13c285cc774"),
        format!("{start}/Input/PicProcessQueueId = p2911917386e148639319e13c285cc774"),
        format!("{start}/Input/ObjectPrefix = test"),
        format!("{start}/Input/NotifyConfig/State = On"),
        format!("{start}/Input/NotifyConfig/Url = http://www.callback.com"),
        format!("{start}/Input/NotifyConfig/Event = TaskFinish,WorkflowFinish"),
        format!("{start}/Input/NotifyConfig/Type = Url"),
        format!("{start}/Input/NotifyConfig/ResultFormat = XML"),
        format!("{start}/Input/ExtFilter/State = On"),
        format!("{start}/Input/ExtFilter/Video = false"),
        format!("{start}/Input/ExtFilter/Audio = false"),
        format!("{start}/Input/ExtFilter/Image = true"),
        format!("{start}/Input/ExtFilter/ContentType = false"),
        format!("{start}/Input/ExtFilter/Custom = false"),
        format!("{start}/Input/ExtFilter/CustomExts = jpg/png"),
        format!("{start}/Input/ExtFilter/AllFile = false"),
        format!("{node}/Type = ImageInspect"),
        format!("{node}/Operation/ImageInspect/AutoProcess = true"),
        format!("{node}/Operation/ImageInspect/ProcessType = BackupObject"),
        "Response/MediaWorkflow/CreateTime = 2022-08-09T14:37:44+0800".into(),
        "Response/MediaWorkflow/UpdateTime = 2022-08-09T14:38:00+0800".into(),
    ];
    assert_eq!(leaves(&xml), expected, "{xml}");
}

#[test]
fn the_echoed_topology_parses_back_to_the_same_workflow() {
    let mut tdmq = demo_spec();
    tdmq.start.notify = Some(WorkflowNotify {
        kind: CallbackKind::Tdmq,
        url: None,
        events: vec![WorkflowEvent::WorkflowFinish, WorkflowEvent::WorkflowStart],
        format: CallbackFormat::Json,
        mq_mode: Some("Queue".into()),
        mq_region: Some("bj".into()),
        mq_name: Some("topic".into()),
    });
    let mut silent = demo_spec();
    silent.start.notify = None;
    silent.start.ext_filter = ExtFilter::default();
    silent.start.object_prefix = String::new();
    for spec in [demo_spec(), tdmq, silent] {
        let xml = media_workflow_response("r", &view(&spec));
        let body = xml
            .replacen("<Response><RequestId>r</RequestId>", "<Request>", 1)
            .replace("</Response>", "</Request>");
        let back = parse_workflow(body.as_bytes()).unwrap();
        let expected = WorkflowSpec {
            state: Some(WorkflowState::Active),
            start: StartInput {
                queue_id: Some("p2911917386e148639319e13c285cc774".into()),
                ..spec.start.clone()
            },
            ..spec.clone()
        };
        assert_eq!(back, expected, "{xml}");
    }
}

#[test]
fn list_and_id_answers() {
    let spec = demo_spec();
    let (a, b) =
        (view(&spec), WorkflowView { workflow_id: "w2", state: WorkflowState::Paused, ..view(&spec) });
    let xml = workflow_list_response("r", &[a, b], 7, 2, 2, &["wx".into(), "wy".into()]);
    let top: Vec<String> = leaves(&xml)
        .into_iter()
        .filter(|l| {
            l.matches('/').count() == 1
                || l.starts_with("Response/MediaWorkflowList/WorkflowId")
                || l.starts_with("Response/MediaWorkflowList/State")
        })
        .collect();
    assert_eq!(
        top,
        [
            "Response/RequestId = r",
            "Response/TotalCount = 7",
            "Response/PageNumber = 2",
            "Response/PageSize = 2",
            "Response/MediaWorkflowList/State = Active",
            "Response/MediaWorkflowList/WorkflowId = wc666d0b9f9dd47ae9137a096252d49f7",
            "Response/MediaWorkflowList/State = Paused",
            "Response/MediaWorkflowList/WorkflowId = w2",
            "Response/NonExistIDs = wx",
            "Response/NonExistIDs = wy",
        ]
    );
    let empty = workflow_list_response("r", &[], 0, 1, 10, &[]);
    assert_eq!(empty, "<Response><RequestId>r</RequestId><TotalCount>0</TotalCount><PageNumber>1</PageNumber><PageSize>10</PageSize></Response>");
    assert_eq!(
        workflow_id_response("r", "w1"),
        "<Response><RequestId>r</RequestId><WorkflowId>w1</WorkflowId></Response>"
    );
    assert_eq!(
        trigger_workflow_response("r", "i1"),
        "<Response><RequestId>r</RequestId><InstanceId>i1</InstanceId></Response>"
    );
}

fn run<'a>(task: Option<TaskView<'a>>) -> ExecutionView<'a> {
    ExecutionView {
        run_id: "i166ee19017b011eda8a5525400c540df",
        workflow_id: "web6ac56c1ef54dbfa44d7f4103203be9",
        workflow_name: "workflow-3",
        object: "wk-test/a&b.png",
        bucket_id: "test-1234567890",
        state: "Failed",
        create_time: at(6, 54, 17),
        task,
    }
}

fn task() -> TaskView<'static> {
    TaskView {
        node_name: "ImageInspectNode",
        job_id: "c23c11e1e17b011edaab4ab15ec33d076",
        state: "Failed",
        create_time: at(6, 54, 40),
        start_time: Some(at(6, 54, 41)),
        end_time: Some(at(6, 54, 42)),
        code: "NoSuchKey",
        message: "The specified key does not exist.",
    }
}

#[test]
fn execution_answer_carries_both_spellings_and_colon_times() {
    let spec = demo_spec();
    let xml = workflow_execution_response("r", &run(Some(task())), Some(&view(&spec)));
    let l = leaves(&xml);
    let e = "Response/WorkflowExecution";
    let head: Vec<String> = l.iter().filter(|x| !x.contains("/Topology/")).cloned().collect();
    assert_eq!(
        head,
        [
            "Response/RequestId = r".to_string(),
            format!("{e}/WorkflowId = web6ac56c1ef54dbfa44d7f4103203be9"),
            format!("{e}/WorkflowName = workflow-3"),
            format!("{e}/Name = workflow-3"),
            format!("{e}/RunId = i166ee19017b011eda8a5525400c540df"),
            format!("{e}/CreateTime = 2022-08-09T14:54:17+08:00"),
            format!("{e}/CreationTime = 2022-08-09T14:54:17+08:00"),
            format!("{e}/Object = wk-test/a&b.png"),
            format!("{e}/State = Failed"),
            format!("{e}/Tasks/Type = ImageInspect"),
            format!("{e}/Tasks/JobId = c23c11e1e17b011edaab4ab15ec33d076"),
            format!("{e}/Tasks/CreateTime = 2022-08-09T14:54:40+08:00"),
            format!("{e}/Tasks/Name = ImageInspectNode"),
            format!("{e}/Tasks/State = Failed"),
            format!("{e}/Tasks/StartTime = 2022-08-09T14:54:41+08:00"),
            format!("{e}/Tasks/EndTime = 2022-08-09T14:54:42+08:00"),
            format!("{e}/Tasks/Code = NoSuchKey"),
            format!("{e}/Tasks/Message = The specified key does not exist."),
        ]
    );
    assert!(l.contains(&format!("{e}/Topology/Dependencies/Start = ImageInspectNode")), "{xml}");
    assert!(l.contains(&format!("{e}/Topology/Nodes/ImageInspectNode/Type = ImageInspect")), "{xml}");

    let pending =
        TaskView { start_time: None, end_time: None, state: "Submitted", code: "", message: "", ..task() };
    let xml =
        workflow_execution_response("r", &ExecutionView { state: "Running", ..run(Some(pending)) }, None);
    assert!(
        !xml.contains("<Topology>") && xml.contains("<StartTime>-</StartTime><EndTime>-</EndTime>"),
        "{xml}"
    );
    let xml = workflow_execution_response("r", &run(None), None);
    assert!(!xml.contains("<Tasks>"), "{xml}");
}

#[test]
fn execution_list_answer() {
    let other = ExecutionView { run_id: "i2", state: "Success", ..run(None) };
    let xml = workflow_execution_list_response("r", &[run(Some(task())), other], "115716");
    let l = leaves(&xml);
    let w = "Response/WorkflowExecutionList";
    assert_eq!(
        l[..7],
        [
            "Response/RequestId = r".to_string(),
            format!("{w}/RunId = i166ee19017b011eda8a5525400c540df"),
            format!("{w}/WorkflowId = web6ac56c1ef54dbfa44d7f4103203be9"),
            format!("{w}/Object = wk-test/a&b.png"),
            format!("{w}/CreateTime = 2022-08-09T14:54:17+08:00"),
            format!("{w}/CreationTime = 2022-08-09T14:54:17+08:00"),
            format!("{w}/State = Failed"),
        ]
    );
    assert_eq!(l[7], format!("{w}/RunId = i2"));
    assert_eq!(l.last().unwrap(), "Response/NextToken = 115716");
    let last_page = workflow_execution_list_response("r", &[], "");
    assert_eq!(leaves(&last_page), ["Response/RequestId = r", "Response/NextToken = "]);
}

#[test]
fn workflow_finish_callback_in_xml_and_json() {
    let xml = workflow_finish_xml(&run(Some(task())));
    let e = "Response/WorkflowExecution";
    assert_eq!(
        leaves(&xml),
        [
            "Response/EventName = WorkflowFinish".to_string(),
            format!("{e}/WorkflowId = web6ac56c1ef54dbfa44d7f4103203be9"),
            format!("{e}/WorkflowName = workflow-3"),
            format!("{e}/RunId = i166ee19017b011eda8a5525400c540df"),
            format!("{e}/State = Failed"),
            format!("{e}/BucketId = test-1234567890"),
            format!("{e}/Object = wk-test/a&b.png"),
            format!("{e}/CreateTime = 2022-08-09 14:54:17+0800"),
            format!("{e}/Tasks/Type = ImageInspect"),
            format!("{e}/Tasks/CreateTime = 2022-08-09 14:54:40+0800"),
            format!("{e}/Tasks/EndTime = 2022-08-09 14:54:42+0800"),
            format!("{e}/Tasks/State = Failed"),
            format!("{e}/Tasks/JobId = c23c11e1e17b011edaab4ab15ec33d076"),
            format!("{e}/Tasks/Name = ImageInspectNode"),
            format!("{e}/Tasks/Code = NoSuchKey"),
            format!("{e}/Tasks/Message = The specified key does not exist."),
        ],
        "{xml}"
    );
    assert!(!xml.contains("TemplateId"));

    let json: serde_json::Value = serde_json::from_str(&workflow_finish_json(&run(Some(task())))).unwrap();
    assert_eq!(json["EventName"], "WorkflowFinish");
    let w = &json["WorkflowExecution"];
    assert_eq!(
        (w["RunId"].as_str(), w["CreateTime"].as_str()),
        (Some("i166ee19017b011eda8a5525400c540df"), Some("2022-08-09 14:54:17+0800"))
    );
    assert_eq!(w["Tasks"].as_array().unwrap().len(), 1, "Tasks is always an array");
    assert_eq!(
        (w["Tasks"][0]["Type"].as_str(), w["Tasks"][0]["Name"].as_str()),
        (Some("ImageInspect"), Some("ImageInspectNode"))
    );
    assert!(json.get("Response").is_none());
    let none: serde_json::Value = serde_json::from_str(&workflow_finish_json(&run(None))).unwrap();
    assert_eq!(none["WorkflowExecution"]["Tasks"], serde_json::json!([]));
}

fn workflow_job() -> JobsDetail {
    JobsDetail {
        code: "Success".into(),
        message: String::new(),
        job_id: "c1".into(),
        state: "Success".into(),
        creation_time: "2022-08-09T14:54:40+0800".into(),
        start_time: "2022-08-09T14:54:41+0800".into(),
        end_time: "2022-08-09T14:54:42+0800".into(),
        queue_id: "p1".into(),
        tag: "ImageInspect".into(),
        input: Input { bucket_id: "b-1".into(), object: "test/a.png".into(), region: "ap-chongqing".into() },
        operation: Operation {
            image_inspect: None,
            user_data: None,
            job_level: 0,
            image_inspect_result: None,
        },
        workflow: Some(JobWorkflow {
            run_id: "i1".into(),
            workflow_id: "w1".into(),
            workflow_name: "image-inspect".into(),
            name: "ImageInspectNode".into(),
        }),
    }
}

#[test]
fn workflow_jobs_carry_their_run_after_operation() {
    let detail = workflow_job();
    let xml = to_xml(&detail);
    assert!(
        xml.ends_with(
            "<JobLevel>0</JobLevel></Operation><Workflow><RunId>i1</RunId><WorkflowId>w1</WorkflowId>\
<WorkflowName>image-inspect</WorkflowName><Name>ImageInspectNode</Name></Workflow></JobsDetail>"
        ),
        "{xml}"
    );
    assert!(callback_xml(&detail).contains("</Operation><Workflow><RunId>i1</RunId>"));
    let json: serde_json::Value = serde_json::from_str(&callback_json(&detail)).unwrap();
    assert_eq!(json["JobsDetail"]["Workflow"]["Name"], "ImageInspectNode");
    let plain = JobsDetail { workflow: None, ..detail.clone() };
    assert!(!to_xml(&plain).contains("Workflow") && !callback_json(&plain).contains("Workflow"));

    let stored = detail.workflow.unwrap();
    assert_eq!(
        serde_json::from_str::<JobWorkflow>(&serde_json::to_string(&stored).unwrap()).unwrap(),
        stored
    );
}
