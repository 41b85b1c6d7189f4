//! `stowaway scan` as a user runs it: exit codes (clamscan's convention), output formats, stdin,
//! and unreadable paths that do not stop the run. Uses the corpus that `scripts/test.sh` builds.
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use stowaway_detect::{Confidence, PayloadKind};
use stowaway_testkit::{clean_png, png_with_noise, png_with_zip};

fn corpus() -> PathBuf {
    let dir = std::env::var_os("STOWAWAY_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/corpus"));
    assert!(dir.join("manifest.json").exists(), "no corpus at {}: run scripts/test.sh", dir.display());
    dir
}

fn scan(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_stowaway")).arg("scan").args(args).output().expect("runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

#[test]
fn clean_directory_exits_zero_and_suspicious_exits_one() {
    let dir = corpus();
    let (code, out, _) = scan(&["--format", "json", dir.join("clean").to_str().unwrap()]);
    assert_eq!(code, 0, "clean samples flagged:\n{out}");
    let (code, out, _) = scan(&["--format", "json", dir.join("suspicious").to_str().unwrap()]);
    assert_eq!(code, 1);
    let lines: Vec<serde_json::Value> =
        out.lines().map(|l| serde_json::from_str(l).expect("JSON line")).collect();
    let files = std::fs::read_dir(dir.join("suspicious")).unwrap().count();
    assert_eq!(lines.len(), files, "one JSON object per file");
    for l in &lines {
        assert_eq!(l["suspicious"], true, "{l}");
        let (b, e, s) = (&l["suspiciousBeginByte"], &l["suspiciousEndByte"], &l["suspiciousSize"]);
        assert_eq!(e.as_u64().unwrap() + 1 - b.as_u64().unwrap(), s.as_u64().unwrap(), "end is inclusive");
        assert!(l["suspiciousType"].is_string() && l["picType"].is_string() && l["findings"].is_array());
        let confidences = ["possible", "likely", "certain"];
        assert!(confidences.contains(&l["suspiciousConfidence"].as_str().unwrap_or("")), "{l}");
        for f in l["findings"].as_array().unwrap() {
            assert!(confidences.contains(&f["confidence"].as_str().unwrap_or("")), "{l}");
        }
    }
}

#[test]
fn tencent_case_in_every_format() {
    let dir = corpus();
    let file = dir.join("suspicious/tencent_1x1_png_ts.png");
    let (code, out, _) = scan(&["--format", "json", file.to_str().unwrap()]);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["picType"], "png");
    assert_eq!(v["suspiciousType"], "MPEG-TS");
    assert_eq!(v["suspiciousConfidence"], "certain");
    assert_eq!(v["suspiciousEndByte"].as_u64().unwrap() + 1, v["picSize"].as_u64().unwrap());

    let (_, xml, _) = scan(&["--format", "xml", file.to_str().unwrap()]);
    assert!(xml.starts_with("<Results>\n<Result><Path>"), "{xml}");
    assert!(
        xml.contains("<ProcessResult><PicSize>") && xml.contains("<SuspiciousType>MPEG-TS</SuspiciousType>")
    );
    assert!(xml.trim_end().ends_with("</Results>"));

    let (_, table, _) = scan(&[file.to_str().unwrap()]);
    assert!(table.lines().nth(1).unwrap().starts_with("SUSPICIOUS png"), "{table}");
}

#[test]
fn unreadable_paths_report_and_exit_two_without_stopping() {
    let dir = corpus();
    let clean = dir.join("clean");
    let (code, out, err) = scan(&["--format", "json", "/nonexistent/x.png", clean.to_str().unwrap()]);
    assert_eq!(code, 2);
    let first: serde_json::Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert_eq!(first["path"], "/nonexistent/x.png");
    assert!(first["error"].as_str().unwrap().contains("No such file"));
    assert!(out.lines().count() > 1, "the run went on after the error");
    assert!(err.is_empty() || !err.contains("panicked"));
}

#[test]
fn stdin_is_scanned() {
    let data = std::fs::read(corpus().join("suspicious/tencent_1x1_png_ts.png")).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_stowaway"))
        .args(["scan", "--format", "json", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&data).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("\"path\":\"-\""));
}

/// Samples made in code whose only finding has a known confidence (asserted with the detector, so
/// a change in its rules fails here first): an `Unknown` trailer (`possible`), a ZIP after the
/// picture (`certain`), and a clean picture.
fn confidence_samples() -> [PathBuf; 3] {
    let dir =
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("scan-confidence-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let samples = [
        ("noise.png", png_with_noise(64), Some((PayloadKind::Unknown, Confidence::Possible))),
        ("zip.png", png_with_zip(), Some((PayloadKind::Zip, Confidence::Certain))),
        ("clean.png", clean_png(), None),
    ];
    samples.map(|(name, data, want)| {
        let r = stowaway_detect::inspect(&data);
        let found: Vec<_> = r.findings.iter().map(|f| (f.kind, f.confidence)).collect();
        assert_eq!(found, Vec::from_iter(want), "{name}: {r:?}");
        let path = dir.join(name);
        std::fs::write(&path, data).unwrap();
        path
    })
}

#[test]
fn confidence_in_every_format() {
    let paths = confidence_samples();
    let args: Vec<&str> = paths.iter().map(|p| p.to_str().unwrap()).collect();

    let (code, out, _) = scan(&[&["--format", "json"], &args[..]].concat());
    assert_eq!(code, 1, "{out}");
    let lines: Vec<serde_json::Value> = out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let [noise, zip, clean] = &lines[..] else { panic!("{out}") };
    assert_eq!(
        (&noise["suspiciousType"], &noise["suspiciousConfidence"]),
        (&"Unknown".into(), &"possible".into())
    );
    assert_eq!(noise["findings"][0]["confidence"], "possible", "{noise}");
    assert_eq!((&zip["suspiciousType"], &zip["suspiciousConfidence"]), (&"ZIP".into(), &"certain".into()));
    assert_eq!(zip["findings"][0]["confidence"], "certain", "{zip}");
    assert_eq!(clean["suspicious"], false);
    assert!(clean.get("suspiciousConfidence").is_none(), "only when suspicious: {clean}");

    let (_, xml, _) = scan(&[&["--format", "xml"], &args[..]].concat());
    let results: Vec<&str> = xml.lines().filter(|l| l.starts_with("<Result>")).collect();
    let [noise, zip, clean] = &results[..] else { panic!("{xml}") };
    assert!(
        noise.contains("<SuspiciousType>Unknown</SuspiciousType><SuspiciousConfidence>possible</SuspiciousConfidence></ProcessResult>"),
        "{noise}"
    );
    assert!(zip.contains("<SuspiciousConfidence>certain</SuspiciousConfidence>"), "{zip}");
    assert!(!clean.contains("SuspiciousConfidence"), "{clean}");

    let (_, table, _) = scan(&args);
    let rows: Vec<Vec<&str>> = table.lines().map(|l| l.split_whitespace().collect()).collect();
    assert_eq!(rows[0], ["STATUS", "TYPE", "SIZE", "PAYLOAD", "CONFIDENCE", "BYTES", "PATH"], "{table}");
    assert_eq!(
        rows[1][..5],
        ["SUSPICIOUS", "png", &png_with_noise(64).len().to_string(), "Unknown", "possible"]
    );
    assert_eq!(rows[2][..5], ["SUSPICIOUS", "png", &png_with_zip().len().to_string(), "ZIP", "certain"]);
    assert_eq!(rows[3][..6], ["clean", "png", &clean_png().len().to_string(), "-", "-", "-"]);
    assert_eq!(rows[3][6], args[2], "{table}");
}

#[test]
fn the_readmes_first_command_shows_clean_and_caught_samples() {
    let samples = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../samples");
    let (code, out, err) = scan(&["--format", "json", samples.to_str().unwrap()]);
    assert_eq!(code, 1, "something suspicious: {err}");
    let mut seen: Vec<(String, bool, String)> = out
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            let name = v["path"].as_str().unwrap().rsplit('/').next().unwrap().to_string();
            let kind = v["findings"][0]["type"].as_str().unwrap_or("-").to_string();
            (name, v["suspicious"].as_bool().unwrap(), kind)
        })
        .collect();
    seen.sort();
    let want = [
        ("clean-drawing.png", false, "-"),
        ("clean-photo.jpg", false, "-"),
        ("hls-segment.png", true, "MPEG-TS"),
        ("photo-with-zip.jpg", true, "ZIP"),
        ("php-in-comment.gif", true, "PHP"),
    ];
    assert_eq!(seen, want.map(|(n, s, k)| (n.to_string(), s, k.to_string())), "{out}");
}
