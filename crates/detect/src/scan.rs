//! Searching a span of bytes for the first recognised payload.
use crate::bytes::mostly_text;
use crate::formats::{Region, REGION_SCAN_LIMIT};
use crate::payload::{identify_candidate, looks_like_javascript, text_run, Ident, CANDIDATE_PAIR};
use crate::report::{Confidence, Finding, Location, PayloadKind};

/// The first payload whose signature lies in `d[from..to]` and that starts at or after `lower`.
/// Pictures are skipped when `skip_images` (a thumbnail inside a picture is not hidden data).
pub fn first_payload(d: &[u8], from: usize, to: usize, lower: usize, skip_images: bool) -> Option<Ident> {
    let to = to.min(d.len());
    let mut p = from;
    while p < to {
        // Every signature is at least two bytes long, so the pair may reach one byte past `to`.
        let window = d.get(p..(to + 1).min(d.len()))?;
        p += window.windows(2).position(|w| CANDIDATE_PAIR[(w[0] as usize) << 8 | w[1] as usize])?;
        if let Some(id) = identify_candidate(d, p, lower) {
            if !(skip_images && id.kind.is_image()) {
                return Some(id);
            }
        }
        p += 1;
    }
    None
}

/// Payloads inside one structural region of the picture.
pub fn region_findings(d: &[u8], region: &Region, out: &mut Vec<Finding>) {
    let location = if region.gap { Location::Gap } else { Location::Inside(region.unit.clone()) };
    if let [(start, end)] = region.ranges[..] {
        let end = end.min(d.len()).min(start.saturating_add(REGION_SCAN_LIMIT));
        if region.metadata {
            markup(d, start, end, &location, out);
        } else {
            search(d, start, end, &location, region.text, |p| p, out);
        }
        return;
    }
    // A stream split over several units: search the joined bytes, then map offsets back.
    let mut joined = Vec::new();
    let mut map = Vec::new(); // (logical start, file start)
    for &(s, e) in &region.ranges {
        if joined.len() >= REGION_SCAN_LIMIT || e > d.len() {
            break;
        }
        map.push((joined.len(), s));
        joined.extend_from_slice(&d[s..e]);
    }
    let to_file = |logical: usize| {
        let i = map.partition_point(|&(l, _)| l <= logical) - 1;
        map[i].1 + (logical - map[i].0)
    };
    search(&joined, 0, joined.len(), &location, region.text, to_file, out);
}

/// PHP or HTML inside metadata (a web shell in an EXIF field).
fn markup(d: &[u8], start: usize, end: usize, location: &Location, out: &mut Vec<Finding>) {
    for i in memchr::memchr_iter(b'<', &d[start..end]) {
        let Some(id) = identify_candidate(d, start + i, start + i) else { continue };
        if matches!(id.kind, PayloadKind::Php | PayloadKind::Html) {
            let last = (id.begin + id.len.unwrap_or(1).max(1)).min(end) - 1;
            let (begin, end) = (id.begin as u64, last as u64);
            out.push(Finding {
                begin,
                end,
                kind: id.kind,
                location: location.clone(),
                declared: false,
                confidence: Confidence::Certain,
            });
            return;
        }
    }
}

fn search(
    d: &[u8],
    start: usize,
    end: usize,
    location: &Location,
    text: bool,
    to_file: impl Fn(usize) -> usize,
    out: &mut Vec<Finding>,
) {
    let mut push = |begin: usize, len: usize, kind: PayloadKind| {
        let last = (begin + len.max(1)).min(end) - 1;
        out.push(Finding {
            begin: to_file(begin) as u64,
            end: to_file(last) as u64,
            kind,
            location: location.clone(),
            declared: false,
            confidence: if kind == PayloadKind::JavaScript {
                Confidence::Likely
            } else {
                Confidence::Certain
            },
        });
    };
    let mut p = start;
    let mut found = false;
    while let Some(id) = first_payload(d, p, end, p, true) {
        found = true;
        let len = id.len.unwrap_or(end - id.begin).max(1);
        push(id.begin, len, id.kind);
        p = id.begin + len;
        if id.len.is_none() || p >= end {
            break;
        }
    }
    if !found && text {
        let body = &d[start..end];
        let lead = body.iter().take_while(|b| b.is_ascii_whitespace()).count();
        let head = &body[lead..body.len().min(lead + 4096)];
        if mostly_text(head) && looks_like_javascript(head) {
            push(start + lead, text_run(d, start + lead).min(end - start - lead), PayloadKind::JavaScript);
        }
    }
}
