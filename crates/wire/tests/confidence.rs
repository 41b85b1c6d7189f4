//! The detector's confidence on the wire (Stowaway's extension): `SuspiciousConfidence` in the job
//! result's `<ProcessResult>` (after `SuspiciousType`) and in callbacks, `suspiciousConfidence` in
//! the synchronous JSON, each only when suspicious; results stored before the field existed read
//! back without it.
use serde::Deserialize;
use serde_json::{json, Value};
use stowaway_detect::{inspect, Confidence, PayloadKind, Report};
use stowaway_testkit::{clean_png, png_with_noise, png_with_ts, png_with_zip};
use stowaway_wire::*;

/// The detector's report, with the one finding and confidence the test relies on asserted, so a
/// change in the detector's rules fails here rather than silently testing something else.
fn report(data: &[u8], kind: Option<PayloadKind>, confidence: Option<Confidence>) -> Report {
    let r = inspect(data);
    assert_eq!(r.findings.iter().map(|f| f.kind).collect::<Vec<_>>(), Vec::from_iter(kind), "{r:?}");
    assert_eq!(r.confidence(), confidence, "{r:?}");
    r
}

fn clean() -> Report {
    report(&clean_png(), None, None)
}

fn noise() -> Report {
    report(&png_with_noise(64), Some(PayloadKind::Unknown), Some(Confidence::Possible))
}

fn zip() -> Report {
    report(&png_with_zip(), Some(PayloadKind::Zip), Some(Confidence::Certain))
}

#[test]
fn process_result_xml_carries_the_confidence_after_suspicious_type_only_when_suspicious() {
    let xml = to_xml(&ProcessResult::from(&noise()));
    assert!(
        xml.contains("<SuspiciousType>Unknown</SuspiciousType><SuspiciousConfidence>possible</SuspiciousConfidence></ProcessResult>"),
        "{xml}"
    );
    let mut p = ProcessResult::from(&zip());
    p.auto_process_result = Some(AutoProcessResult { code: "Success".into(), message: "Success".into() });
    let xml = to_xml(&p);
    assert!(
        xml.contains(
            "<SuspiciousType>ZIP</SuspiciousType><SuspiciousConfidence>certain</SuspiciousConfidence>\
             <AutoProcessResult>"
        ),
        "before AutoProcessResult: {xml}"
    );

    let xml = to_xml(&ProcessResult::from(&clean()));
    assert_eq!(xml, format!("<ProcessResult><PicSize>{}</PicSize><PicType>png</PicType><Suspicious>false</Suspicious></ProcessResult>", clean_png().len()));
}

#[test]
fn sync_json_carries_the_confidence_only_when_suspicious() {
    let v = serde_json::to_value(SyncResult::from(&zip())).unwrap();
    assert_eq!(v["suspiciousConfidence"], json!("certain"), "{v}");
    assert_eq!(v["suspiciousType"], json!("ZIP"), "{v}");
    let v = serde_json::to_value(SyncResult::from(&noise())).unwrap();
    assert_eq!(v["suspiciousConfidence"], json!("possible"), "{v}");
    // Written after the other suspicious* fields, where the SDKs' samples end.
    let text = serde_json::to_string(&SyncResult::from(&report(
        &png_with_ts(20),
        Some(PayloadKind::MpegTs),
        Some(Confidence::Certain),
    )))
    .unwrap();
    assert!(text.ends_with(r#""suspiciousType":"MPEG-TS","suspiciousConfidence":"certain"}"#), "{text}");

    let v = serde_json::to_value(SyncResult::from(&clean())).unwrap();
    assert_eq!(v, json!({"picSize": clean_png().len(), "picType": "png", "suspicious": false}));
}

#[test]
fn stored_results_round_trip_and_old_ones_read_back_without_the_field() {
    let stored = |p: ProcessResult| ImageInspectResult {
        state: "Success".into(),
        code: "Success".into(),
        message: String::new(),
        input_object_name: "a.png".into(),
        input_object_url: "http://s3/b/a.png".into(),
        process_result: Some(p),
        tagging_result: None,
    };
    for r in [noise(), zip(), clean()] {
        let result = stored(ProcessResult::from(&r));
        let value = serde_json::to_value(&result).unwrap();
        // As the store reads a job's result (`ImageInspectResult::deserialize(&Value)`).
        assert_eq!(ImageInspectResult::deserialize(&value).unwrap(), result, "{value}");
    }
    let value = serde_json::to_value(stored(ProcessResult::from(&zip()))).unwrap();
    assert_eq!(value["ProcessResult"]["SuspiciousConfidence"], json!("certain"), "{value}");

    // A verdict stored before confidences existed (and Tencent's own shape): no field, None.
    let old = json!({
        "State": "Success", "Code": "Success", "Message": "", "InputObjectName": "hls.png",
        "InputObjectUrl": "http://s3.test/x", "ProcessResult": {"PicSize": 75, "PicType": "png",
        "Suspicious": "true", "SuspiciousBeginByte": 75, "SuspiciousEndByte": 3834,
        "SuspiciousSize": 3760, "SuspiciousType": "MPEG-TS",
        "AutoProcessResult": {"Code": "Success", "Message": "Success"}}});
    let back = ImageInspectResult::deserialize(&old).unwrap();
    let p = back.process_result.as_ref().unwrap();
    assert_eq!((p.suspicious_type.as_deref(), p.suspicious_confidence), (Some("MPEG-TS"), None));
    assert!(!to_xml(p).contains("SuspiciousConfidence"), "rendered as it was stored");

    // Any case reads back; a name this version does not know is dropped, never the whole result
    // (a result that does not deserialise is not shown at all).
    for (name, want) in [("LIKELY", Some(Confidence::Likely)), ("sure-ish", None), ("", None)] {
        let mut v = old.clone();
        v["ProcessResult"]["SuspiciousConfidence"] = json!(name);
        let back = ImageInspectResult::deserialize(&v).unwrap();
        assert_eq!(back.process_result.unwrap().suspicious_confidence, want, "{name:?}");
    }
    let mut v = old.clone();
    v["ProcessResult"]["SuspiciousConfidence"] = Value::Null;
    assert_eq!(
        ImageInspectResult::deserialize(&v).unwrap().process_result.unwrap().suspicious_confidence,
        None
    );
}

fn finished_job(p: ProcessResult) -> JobsDetail {
    JobsDetail {
        code: "Success".into(),
        message: String::new(),
        job_id: "cda071f3af9e011ed8f900133752da9af".into(),
        state: "Success".into(),
        creation_time: "2023-05-24T11:12:44+0800".into(),
        start_time: "2023-05-24T11:12:45+0800".into(),
        end_time: "2023-05-24T11:12:45+0800".into(),
        queue_id: "p3a3b198088e74b76b31d553a77b656be".into(),
        tag: "ImageInspect".into(),
        input: Input {
            bucket_id: "test-1253960000".into(),
            object: "a.png".into(),
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
                input_object_name: "a.png".into(),
                input_object_url: "http://s3/b/a.png".into(),
                process_result: Some(p),
                tagging_result: None,
            }),
        },
        workflow: None,
    }
}

#[test]
fn job_results_and_callbacks_carry_the_confidence() {
    let mut p = ProcessResult::from(&noise());
    p.auto_process_result = Some(AutoProcessResult {
        code: "Skipped".into(),
        message: "Skipped: confidence possible is below likely".into(),
    });
    let detail = finished_job(p);
    let response = to_xml(&JobsResponse { jobs_detail: vec![detail.clone()], ..JobsResponse::default() });
    assert!(
        response.contains(
            "<SuspiciousType>Unknown</SuspiciousType><SuspiciousConfidence>possible</SuspiciousConfidence>\
             <AutoProcessResult><Code>Skipped</Code>"
        ),
        "{response}"
    );
    let xml = callback_xml(&detail);
    assert!(
        xml.contains("<SuspiciousConfidence>possible</SuspiciousConfidence><AutoProcessResult>"),
        "{xml}"
    );
    let v: Value = serde_json::from_str(&callback_json(&detail)).unwrap();
    let p = &v["JobsDetail"]["Operation"]["ImageInspectResult"]["ProcessResult"];
    assert_eq!(p["SuspiciousConfidence"], json!("possible"), "{v}");
    assert_eq!(
        (p["Suspicious"].clone(), p["AutoProcessResult"]["Code"].clone()),
        (json!(true), json!("Skipped"))
    );

    let clean = finished_job(ProcessResult::from(&clean()));
    assert!(!callback_xml(&clean).contains("SuspiciousConfidence"));
    assert!(!callback_json(&clean).contains("SuspiciousConfidence"));
}
