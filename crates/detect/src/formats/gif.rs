//! GIF87a/89a: blocks and extensions up to the trailer. Comments and unknown application
//! extensions are searched (their sub-blocks form one logical stream).
use super::{Claim, Region, Walk};
use crate::bytes::*;

/// What an application extension's identifier claims its sub-blocks hold.
fn app_claim(id: &[u8]) -> Claim {
    match id {
        b"NETSCAPE2.0" | b"ANIMEXTS1.0" => Claim::Loop,
        b"ICCRGBG1012" => Claim::Icc,
        b"MGK8BIM0000" | b"MGKIPTC0000" => Claim::Metadata,
        _ => Claim::Private,
    }
}

/// XMP in GIF is raw text, not sub-blocks, closed by a 258-byte "magic trailer" (`01 FF FE … 00 00`)
/// that makes sub-block readers skip it: the raw range of the packet, when it reads as XML.
fn raw_xmp(d: &[u8], start: usize, end: usize) -> Option<(usize, usize)> {
    let text_end = match end.checked_sub(258).and_then(|t| slice(d, t, 258).map(|s| (t, s))) {
        Some((t, s)) if s[0] == 1 && s[1..257].iter().enumerate().all(|(i, &b)| b as usize == 255 - i) => t,
        _ => end.saturating_sub(1),
    };
    let head = d.get(start..text_end.min(start + 64))?;
    let lead = head.iter().take_while(|b| b.is_ascii_whitespace()).count();
    head[lead..].starts_with(b"<").then_some((start, text_end))
}

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
                let collect = label == 0xfe || label == 0xff;
                let Some((next, mut ranges)) = sub_blocks(d, p + 2, collect) else {
                    return cut(w, d.len(), p + 2);
                };
                let name = app_id.map(String::from_utf8_lossy).unwrap_or_default();
                let name = format!("application extension {name}");
                if label == 0xfe && !ranges.is_empty() {
                    w.add(Region::unit(ranges, "comment extension"));
                } else if let Some(xmp) =
                    app_id.filter(|id| id == b"XMP DataXMP").and_then(|_| raw_xmp(d, p + 14, next))
                {
                    w.add(Region::claimed(vec![xmp], name, Claim::Xmp));
                } else if app_id == Some(b"XMP DataXMP") && crate::payload::identify(d, p + 14).is_some() {
                    // Raw, as XMP is written, but not XML: a file placed where the packet goes.
                    w.add(Region::unit(vec![(p + 14, next.saturating_sub(1))], name));
                } else if collect && ranges.len() > 1 {
                    ranges.remove(0); // the identifier block
                    let claim = app_id.map_or(Claim::Private, app_claim);
                    w.add(Region::claimed(ranges, name, claim));
                }
                last_unit = p;
                p = next;
            }
            _ => return cut(w, p, last_unit),
        }
    }
}
