use crate::bytes::mostly_text;
use crate::formats;
use crate::payload::{looks_like_javascript, text_run};
use crate::report::{Finding, Location, PayloadKind, PicType, Report};
use crate::scan::region_findings;
use crate::trailer::tail_findings;

/// Inspects one object: its picture type, where the picture ends, and every payload it carries.
///
/// Never panics and allocates only in proportion to the findings and structural units (bounded per
/// region), whatever the input.
pub fn inspect(d: &[u8]) -> Report {
    let pic_type = formats::sniff_container(d);
    if pic_type == PicType::Unknown {
        // Not a picture: whatever it is, is the file (a TS or ZIP renamed `.png`).
        let walk = formats::Walk { end: d.len(), ..Default::default() };
        let mut findings = tail_findings(d, 0, d.len(), &walk, Location::WholeFile);
        let head = &d[..d.len().min(4096)];
        if findings.is_empty() && mostly_text(head) && looks_like_javascript(head) {
            let end = text_run(d, 0).max(1) as u64 - 1;
            findings.push(Finding {
                begin: 0,
                end,
                kind: PayloadKind::JavaScript,
                location: Location::WholeFile,
                declared: false,
            });
        }
        return Report { pic_size: d.len() as u64, pic_type, image_end: 0, truncated: false, findings };
    }
    let walk = formats::walk(pic_type, d);
    let mut findings = Vec::new();
    for region in &walk.regions {
        region_findings(d, region, &mut findings);
    }
    let from = walk.scan_from.unwrap_or(walk.end).min(walk.end);
    for f in tail_findings(d, from, walk.end, &walk, Location::AfterImage) {
        if !findings.iter().any(|g| g.begin <= f.begin && f.begin <= g.end) {
            findings.push(f);
        }
    }
    findings.sort_by_key(|f| f.begin);
    Report {
        pic_size: d.len() as u64,
        pic_type,
        image_end: walk.end as u64,
        truncated: walk.truncated,
        findings,
    }
}
