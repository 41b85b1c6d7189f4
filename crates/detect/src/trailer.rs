//! What follows the picture: padding, declared extras (MPF images, motion-photo videos, vendor
//! metadata trailers), payloads, or unrecognised bytes.
use crate::bytes::*;
use crate::formats::{jpeg, png, Walk};
use crate::judge::{judge, Hit, Unexplained};
use crate::report::{Confidence, Finding, Location, PayloadKind, PicType};

/// A vendor metadata trailer that follows the picture by design (layouts as ExifTool reads them):
/// where it starts, when its own end record says so.
struct VendorTrailer {
    start: Option<usize>,
}

fn vendor_trailer(d: &[u8]) -> Option<VendorTrailer> {
    let tail = &d[d.len().saturating_sub(12)..];
    // AFCP ends with its header's signature, the trailer's start offset and a checksum.
    if tail.len() == 12 && (tail.starts_with(b"AXS!") || tail.starts_with(b"AXS*")) {
        let e = Endian { little: tail[3] == b'*' };
        let start = e.u32(tail, 4).map(|s| s as usize).filter(|&s| starts_with_at(d, s, &tail[..4]));
        return Some(VendorTrailer { start });
    }
    let known = d.ends_with(b"SEFT") // Samsung
        || memchr::memmem::find(tail, b"AXS!").is_some()
        || memchr::memmem::find(tail, b"AXS*").is_some()
        || d.ends_with(b"\xa1\xb2\xc3\xd4") // FotoStation: each record ends with this signature
        || d.ends_with(b"ctrace\0\0") // Huawei phone photos: a length, then "ctrace"
        || d.ends_with(b"cbipcbbl"); // PhotoMechanic
    known.then_some(VendorTrailer { start: None })
}

/// Findings from `from` to the end of the object. Bytes before `image_end` belong to a picture whose
/// structure broke: a payload may start there, but its unrecognised bytes are pixels, not `Unknown`.
pub fn tail_findings(d: &[u8], from: usize, image_end: usize, walk: &Walk, pic: PicType) -> Vec<Finding> {
    let vendor = vendor_trailer(d);
    let vendor_start = vendor.as_ref().map(|v| v.start.unwrap_or(image_end));
    let after = match (walk.vendor_layout, walk.orphans_expected) {
        (true, _) => Unexplained::Ignore,
        (false, true) => Unexplained::Foreign,
        (false, false) => Unexplained::Trailing,
    };
    let mut hits: Vec<Hit> = Vec::new();
    let mut p = from;
    if from < image_end {
        hits = judge(d, from, image_end, Unexplained::Ignore, false);
        hits.retain(|h| h.kind.strong() || h.begin >= image_end);
        p = hits.last().map_or(image_end, |h| h.end.max(image_end));
    }
    if p < d.len() {
        match vendor_start {
            Some(v) if v > p => {
                hits.extend(judge(d, p, v, after, false));
                let q = hits.last().map_or(v, |h| h.end.max(v));
                hits.extend(judge(d, q, d.len(), Unexplained::Ignore, false));
            }
            Some(_) => hits.extend(judge(d, p, d.len(), Unexplained::Ignore, false)),
            None => hits.extend(judge(d, p, d.len(), after, false)),
        }
    }
    let same_set = same_set(walk, pic);
    let mut out: Vec<Finding> = Vec::new();
    for h in hits {
        let in_vendor = vendor_start.is_some_and(|v| h.begin >= v);
        if h.kind.is_image() {
            let declared = walk.declared_images.iter().any(|&(s, _)| s == h.begin);
            // A picture of the same set (an MPO frame whose index is corrupt, the rest of a
            // re-saved file after a truncated one) or inside vendor metadata is the picture's own.
            if declared || in_vendor || (out.is_empty() && same_set == Some(h.kind)) {
                continue;
            }
        }
        // An editor's leftover of JPEG tables after EOI, or a frame of the same multi-picture set.
        // A Minolta maker-note preview whose first byte is damaged is the picture's own too.
        let unknown = h.kind == PayloadKind::Unknown;
        let jpeg_tables = jpeg::tables_at(d, h.begin) || jpeg::tables_at(d, h.begin.saturating_sub(1));
        let jpeg_leftover = pic == PicType::Jpg
            && ((unknown && (jpeg_tables || jpeg::damaged_preview_at(d, h.begin)))
                || (h.kind == PayloadKind::Jpeg && jpeg::has_mpf(&d[h.begin..])));
        // The rest of an older PNG that a shorter one was written over.
        let png_leftover = pic == PicType::Png && unknown && png::remains(d, h.begin);
        if jpeg_leftover || png_leftover {
            continue;
        }
        let samsung = h.begin >= 16 && &d[h.begin - 16..h.begin] == b"MotionPhoto_Data";
        let declared = h.kind == PayloadKind::Mp4
            && (walk.motion_photo || samsung || (vendor.is_some() && d.ends_with(b"SEFT")));
        out.push(Finding {
            begin: h.begin as u64,
            end: h.end.max(h.begin + 1) as u64 - 1,
            kind: h.kind,
            location: Location::AfterImage,
            declared,
            confidence: if declared { Confidence::Certain } else { h.confidence },
        });
    }
    out
}

/// The kind of picture that, directly after this one, belongs to the same file.
fn same_set(walk: &Walk, pic: PicType) -> Option<PayloadKind> {
    let kind = match pic {
        PicType::Jpg => PayloadKind::Jpeg,
        PicType::Gif => PayloadKind::Gif,
        PicType::Png => PayloadKind::Png,
        _ => return None,
    };
    (walk.truncated || (pic == PicType::Jpg && walk.multi_picture)).then_some(kind)
}
