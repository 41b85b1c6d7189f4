use crate::bytes::mostly_text;
use crate::formats;
use crate::payload::{identify, looks_like_javascript, text_run};
use crate::region::region_findings;
use crate::report::{Confidence, Finding, Location, PayloadKind, PicType, Report};
use crate::scan::{first_payload, markup_in};
use crate::trailer::tail_findings;

/// How much of a picture's own bytes are searched for markup outside its metadata and private units.
const MARKUP_SCAN_LIMIT: usize = 256 << 10;

/// Inspects one object: its picture type, where the picture ends, and every payload it carries.
///
/// Never panics and allocates only in proportion to the findings and structural units (bounded per
/// region), whatever the input.
pub fn inspect(d: &[u8]) -> Report {
    let pic_type = formats::sniff_container(d);
    if pic_type == PicType::Unknown {
        return not_a_picture(d);
    }
    let walk = formats::walk(pic_type, d);
    let mut findings = Vec::new();
    for region in &walk.regions {
        region_findings(d, region, &mut findings);
    }
    // A web shell survives in pixel data too (IDAT bytes, a JPEG scan, BMP pixels that outlive
    // re-encoding): markup, validated by its own syntax, is looked for in the picture's first
    // 256 KiB. Such shells live in small pictures; reading all of a large photo's pixels would
    // cost `scan` more than the rest of its work (1.9x the time over the corpus).
    for h in markup_in(d, 0, walk.end.min(MARKUP_SCAN_LIMIT)) {
        if !findings.iter().any(|g| g.begin as usize <= h.begin && h.begin as u64 <= g.end) {
            findings.push(Finding {
                begin: h.begin as u64,
                end: h.end.max(h.begin + 1) as u64 - 1,
                kind: h.kind,
                location: Location::Inside("image data".into()),
                declared: false,
                confidence: h.confidence,
            });
        }
    }
    let from = walk.scan_from.unwrap_or(walk.end).min(walk.end);
    for f in tail_findings(d, from, walk.end, &walk, pic_type) {
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

/// A file that is not a picture is judged by what it starts with (after zero padding): a TS or ZIP
/// renamed `.png` is a payload at byte 0. Signatures deeper inside arbitrary files (fonts, ICC
/// profiles, archives) say nothing about hidden content, so they are not searched for.
fn not_a_picture(d: &[u8]) -> Report {
    let first = d.iter().position(|&b| b != 0).unwrap_or(0);
    // Box sizes and ICO headers start with zeros: accept a signature that begins in the padding.
    let at_start = identify(d, 0)
        .or_else(|| first_payload(d, first, first + 8, 0, false).filter(|id| id.begin <= first));
    let mut findings = Vec::new();
    if let Some(id) = at_start {
        let end = id.len.map_or(d.len(), |l| id.begin + l.max(1)) as u64 - 1;
        findings.push(Finding {
            begin: id.begin as u64,
            end,
            kind: id.kind,
            location: Location::WholeFile,
            declared: false,
            confidence: Confidence::Certain,
        });
    } else {
        let head = &d[..d.len().min(4096)];
        if mostly_text(head) && looks_like_javascript(head) {
            let end = text_run(d, 0).max(1) as u64 - 1;
            findings.push(Finding {
                begin: 0,
                end,
                kind: PayloadKind::JavaScript,
                location: Location::WholeFile,
                declared: false,
                confidence: Confidence::Likely,
            });
        }
    }
    Report { pic_size: d.len() as u64, pic_type: PicType::Unknown, image_end: 0, truncated: false, findings }
}
