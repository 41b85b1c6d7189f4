//! What follows the picture: padding, declared extras (MPF images, motion-photo videos, vendor
//! metadata trailers), payloads, or unrecognised bytes.
use crate::bytes::mostly_text;
use crate::formats::Walk;
use crate::payload::{looks_like_javascript, text_run};
use crate::report::{Confidence, Finding, Location, PayloadKind};
use crate::scan::first_payload;
use crate::UNKNOWN_TRAILER_THRESHOLD;

/// Vendor metadata trailers that follow JPEG's EOI by design (layouts as ExifTool reads them).
/// Unrecognised bytes before one of these are its data, not an `Unknown` payload.
fn metadata_trailer(d: &[u8]) -> Option<&'static str> {
    let tail = &d[d.len().saturating_sub(12)..];
    if d.ends_with(b"SEFT") {
        Some("Samsung SEF")
    } else if memchr::memmem::find(tail, b"AXS!").is_some() || memchr::memmem::find(tail, b"AXS*").is_some() {
        Some("AFCP")
    } else if d.ends_with(b"\xa1\xb2\xc3\xd4") {
        Some("FotoStation") // each record ends with tag, size and this signature
    } else if d.ends_with(b"ctrace\0\0") {
        Some("Huawei") // a length, then "ctrace": seen on Huawei phone photos
    } else if d.ends_with(b"cbipcbbl") {
        Some("PhotoMechanic")
    } else {
        None
    }
}

/// Findings from `from` to the end of the object. Bytes before `image_end` belong to a picture whose
/// structure broke: a payload may start there, but unrecognised bytes there are not `Unknown`.
pub fn tail_findings(
    d: &[u8],
    from: usize,
    image_end: usize,
    walk: &Walk,
    location: Location,
) -> Vec<Finding> {
    let mut out = Vec::new();
    // TIFF offsets reach anywhere and in-place editors leave orphaned IFDs and strips behind, so
    // only recognised payloads count after a TIFF.
    let vendor = metadata_trailer(d).is_some() || walk.orphans_expected;
    let mut p = from;
    while p < d.len() {
        let next = first_payload(d, p, d.len(), p, false);
        if let Some(id) = next {
            if let Some(&(_, e)) = walk.declared_images.iter().find(|&&(s, _)| s == id.begin) {
                unknown_or_script(d, p.max(image_end), id.begin, vendor, &location, &mut out);
                p = e.max(id.begin + 1);
                continue;
            }
        }
        let junk_end = next.map_or(d.len(), |id| id.begin);
        unknown_or_script(d, p.max(image_end), junk_end, vendor, &location, &mut out);
        let Some(id) = next else { break };
        let samsung = id.begin >= 16 && &d[id.begin - 16..id.begin] == b"MotionPhoto_Data";
        let declared =
            id.kind == PayloadKind::Mp4 && (walk.motion_photo || samsung || (vendor && d.ends_with(b"SEFT")));
        let end = id.len.map_or(d.len(), |l| id.begin + l.max(1));
        out.push(Finding {
            begin: id.begin as u64,
            end: end as u64 - 1,
            kind: id.kind,
            location: location.clone(),
            declared,
            confidence: Confidence::Certain,
        });
        if id.len.is_none() {
            break;
        }
        p = end;
    }
    out
}

/// Bytes in `[from, to)` that no signature explains: a script if they read as one, `Unknown` when
/// they are long enough not to be slack, nothing when they are padding or a vendor trailer.
fn unknown_or_script(
    d: &[u8],
    from: usize,
    to: usize,
    vendor: bool,
    location: &Location,
    out: &mut Vec<Finding>,
) {
    if from >= to || vendor {
        return;
    }
    // Writers pad with 0x00 and, some cameras and flash cards, with 0xFF: neither is data.
    let padding = |b: &u8| *b == 0 || *b == 0xff;
    let span = &d[from..to];
    let Some(first) = span.iter().position(|b| !padding(b)) else {
        return;
    };
    let last = span.iter().rposition(|b| !padding(b)).unwrap_or(first);
    if ((last - first + 1) as u64) < UNKNOWN_TRAILER_THRESHOLD {
        return;
    }
    let begin = from + first;
    let head = &d[begin..(begin + 4096).min(to)];
    let (kind, end) = if mostly_text(head) && looks_like_javascript(head) {
        (PayloadKind::JavaScript, begin + text_run(d, begin).min(to - begin))
    } else {
        (PayloadKind::Unknown, to)
    };
    out.push(Finding {
        begin: begin as u64,
        end: end as u64 - 1,
        kind,
        location: location.clone(),
        declared: false,
        confidence: if kind == PayloadKind::Unknown { Confidence::Possible } else { Confidence::Likely },
    });
}
