//! Tests as data: every file the corpus builder (`tests/corpus/build.py`) makes, with the findings
//! it must produce. `scripts/test.sh` builds the corpus into `target/corpus` first; set
//! `STOWAWAY_CORPUS` to judge another directory with the same `manifest.json` layout.
use std::path::PathBuf;

use serde_json::Value;
use stowaway_detect::inspect;

fn corpus_dir() -> PathBuf {
    std::env::var_os("STOWAWAY_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/corpus"))
}

/// Files the detector is known to get wrong, each with the decision that makes it so (README,
/// "What counts as suspicious"). The test fails when one of them starts passing, so the list
/// stays true.
const KNOWN_MISSES: &[(&str, &str)] = &[];

#[test]
fn corpus_matches_manifest() {
    let dir = corpus_dir();
    let manifest = std::fs::read_to_string(dir.join("manifest.json")).unwrap_or_else(|e| {
        panic!("no corpus at {} ({e}): run scripts/test.sh, which builds it", dir.display())
    });
    let entries: Vec<Value> = serde_json::from_str(&manifest).expect("manifest.json is a JSON array");
    assert!(entries.len() > 100, "corpus is too small: {} files", entries.len());

    let (mut tp, mut fp, mut fn_, mut tn, mut exact) = (0, 0, 0, 0, 0);
    let (mut inside, mut inside_found) = (0, 0); // payloads hidden inside the structure
    let mut failures = Vec::new();
    // Per manifest class (issue 16's causes; "-" for the original sets): (files, right).
    let mut classes: std::collections::BTreeMap<String, (u32, u32)> = Default::default();
    for e in &entries {
        let file = e["file"].as_str().expect("file");
        let data = std::fs::read(dir.join(file)).expect("corpus file readable");
        let r = inspect(&data);
        let want_suspicious = e["suspicious"].as_bool().expect("suspicious");
        let mut problems = Vec::new();
        if r.pic_type.as_str() != e["pic_type"].as_str().unwrap_or("?") {
            problems.push(format!("pic_type {} want {}", r.pic_type, e["pic_type"]));
        }
        if e["location"].as_str() == Some("inside") {
            inside += 1;
            inside_found += u32::from(r.suspicious());
        }
        match (want_suspicious, r.primary()) {
            (false, None) => tn += 1,
            (false, Some(f)) => {
                fp += 1;
                problems.push(format!("false alarm: {} at {} ({})", f.kind, f.begin, f.location));
            }
            (true, None) => {
                fn_ += 1;
                problems.push("missed".into());
            }
            (true, Some(f)) => {
                tp += 1;
                let begin = e["begin"].as_u64().expect("begin");
                if f.begin == begin {
                    exact += 1;
                } else {
                    problems.push(format!("begin {} want {begin}", f.begin));
                }
                if f.kind.as_str() != e["type"].as_str().unwrap_or("?") {
                    problems.push(format!("type {} want {}", f.kind, e["type"]));
                }
                let declared = e["declared"].as_bool().unwrap_or(false);
                if f.declared != declared {
                    problems.push(format!("declared {} want {declared}", f.declared));
                }
            }
        }
        let class = classes.entry(e["class"].as_str().unwrap_or("-").to_string()).or_default();
        class.0 += 1;
        class.1 += u32::from(problems.is_empty());
        let known = KNOWN_MISSES.iter().any(|(f, _)| *f == file);
        match (problems.is_empty(), known) {
            (false, false) => failures.push(format!("{file}: {}", problems.join("; "))),
            (true, true) => failures.push(format!("{file}: listed in KNOWN_MISSES but now right")),
            _ => {}
        }
    }
    let f1 = 2.0 * tp as f64 / (2 * tp + fp + fn_).max(1) as f64;
    let fpr = fp as f64 / (fp + tn).max(1) as f64;
    let exact_rate = exact as f64 / tp.max(1) as f64;
    let precision = tp as f64 / (tp + fp).max(1) as f64;
    let recall = tp as f64 / (tp + fn_).max(1) as f64;
    let recall_inside = inside_found as f64 / inside.max(1) as f64;
    eprintln!(
        "corpus: {} files, tp {tp} fp {fp} fn {fn_} tn {tn}; precision {precision:.4}, recall {recall:.4} \
         (inside the structure {recall_inside:.4} of {inside}), F1 {f1:.4}, false-positive rate {:.2}%, \
         exact begin {:.1}%",
        entries.len(),
        fpr * 100.0,
        exact_rate * 100.0
    );
    for (class, (n, right)) in &classes {
        eprintln!("  class {class}: {right} of {n} right");
    }
    // Issue 16's bars, on top of every file being right.
    let bars = f1 >= 0.99 && fpr <= 0.002 && exact_rate >= 0.98 && recall_inside >= 0.97;
    assert!(bars, "below the bars: F1 {f1}, FPR {fpr}, exact {exact_rate}, recall inside {recall_inside}");
    assert!(
        failures.is_empty(),
        "{} of {} files wrong:\n{}",
        failures.len(),
        entries.len(),
        failures.join("\n")
    );
}
