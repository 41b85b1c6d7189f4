//! `stowaway scan` as a user runs it: exit codes (clamscan's convention), output formats, stdin,
//! and unreadable paths that do not stop the run. Uses the corpus that `scripts/test.sh` builds.
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

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
