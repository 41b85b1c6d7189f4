//! GIF87a/89a: blocks and extensions up to the trailer. Comments and unknown application
//! extensions are searched (their sub-blocks form one logical stream).
use super::{Region, Walk};
use crate::bytes::*;

/// Application extensions that carry animation or metadata, not payloads.
const KNOWN_APPS: &[&[u8; 11]] =
    &[b"NETSCAPE2.0", b"ANIMEXTS1.0", b"XMP DataXMP", b"ICCRGBG1012", b"MGK8BIM0000", b"MGKIPTC0000"];

/// Walks sub-blocks from `p`; returns (offset after the terminator, data ranges) or `None` if cut.
fn sub_blocks(d: &[u8], mut p: usize, collect: bool) -> Option<(usize, Vec<(usize, usize)>)> {
    let mut ranges = Vec::new();
    loop {
        let n = *d.get(p)? as usize;
        if n == 0 {
            return Some((p + 1, ranges));
        }
        if p + 1 + n > d.len() {
            return None;
        }
        if collect && ranges.len() < super::REGION_SCAN_LIMIT / 255 {
            ranges.push((p + 1, p + 1 + n));
        }
        p += 1 + n;
    }
}

pub fn walk(d: &[u8]) -> Walk {
    let mut w = Walk::default();
    let cut = |mut w: Walk, at: usize, from: usize| {
        w.end = at.min(d.len());
        w.truncated = true;
        w.scan_from = Some(from.min(w.end));
        w
    };
    let Some(flags) = u8_at(d, 10) else {
        return cut(w, d.len(), 6);
    };
    let mut p = 13 + if flags & 0x80 != 0 { 3 << ((flags & 7) + 1) } else { 0 };
    let mut last_unit = p;
    loop {
        let Some(b) = u8_at(d, p) else {
            return cut(w, p, last_unit);
        };
        match b {
            0x3b => {
                w.end = p + 1;
                return w;
            }
            0x2c => {
                let Some(f) = u8_at(d, p + 9) else {
                    return cut(w, p, last_unit);
                };
                let lct = if f & 0x80 != 0 { 3 << ((f & 7) + 1) } else { 0 };
                let data = p + 10 + lct + 1; // after the LZW minimum code size
                match sub_blocks(d, data, false) {
                    Some((next, _)) => {
                        last_unit = data;
                        p = next;
                    }
                    None => return cut(w, d.len(), data),
                }
            }
            0x21 => {
                let label = u8_at(d, p + 1).unwrap_or(0);
                let app_id =
                    (label == 0xff && u8_at(d, p + 2) == Some(11)).then(|| slice(d, p + 3, 11)).flatten();
                let known_app = app_id.is_some_and(|id| KNOWN_APPS.iter().any(|k| &k[..] == id));
                let collect = label == 0xfe || (label == 0xff && !known_app);
                let Some((next, mut ranges)) = sub_blocks(d, p + 2, collect) else {
                    return cut(w, d.len(), p + 2);
                };
                if label == 0xfe && !ranges.is_empty() {
                    w.add(Region::unit(ranges, "comment extension"));
                } else if collect && !ranges.is_empty() {
                    ranges.remove(0); // the identifier block
                    if !ranges.is_empty() {
                        let id = app_id.map(String::from_utf8_lossy).unwrap_or_default();
                        w.regions.push(Region::unit(ranges, format!("application extension {id}")));
                    }
                }
                last_unit = p;
                p = next;
            }
            _ => return cut(w, p, last_unit),
        }
    }
}
