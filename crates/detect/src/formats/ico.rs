//! ICO/CUR: the directory and each entry's image (PNG or DIB). Entries that are neither, and gaps
//! between entries, are searched.
use super::{Claim, Region, Walk};
use crate::bytes::*;

pub fn looks_like(d: &[u8]) -> bool {
    let (Some(kind), Some(n)) = (le16(d, 2), le16(d, 4)) else {
        return false;
    };
    if le16(d, 0) != Some(0) || !(1..=2).contains(&kind) || n == 0 || n > 1024 {
        return false;
    }
    let Some(e) = slice(d, 6, 16) else {
        return false;
    };
    let (size, off) = (le32(e, 8).unwrap_or(0), le32(e, 12).unwrap_or(0) as usize);
    // Four bytes of magic are common in binary data: the first entry must also point at an image.
    let body_ok = match d.get(off..) {
        Some(body) if !body.is_empty() => body.starts_with(super::png::SIGNATURE) || is_dib(body),
        _ => false,
    };
    // Icons carry planes 0/1 and a real bit depth; cursors put a hotspot there instead.
    let (planes, bpp) = (le16(e, 4).unwrap_or(0), le16(e, 6).unwrap_or(0));
    let fields_ok = kind == 2 || (planes <= 1 && matches!(bpp, 0 | 1 | 2 | 4 | 8 | 16 | 24 | 32));
    e[3] == 0 && size > 0 && off >= 6 + 16 * n as usize && body_ok && fields_ok
}

fn is_dib(body: &[u8]) -> bool {
    le32(body, 0).is_some_and(|h| matches!(h, 12 | 40 | 52 | 56 | 108 | 124))
}

pub fn walk(d: &[u8]) -> Walk {
    let mut w = Walk::default();
    let n = le16(d, 4).unwrap_or(0) as usize;
    let dir_end = 6 + 16 * n;
    let mut extents = vec![(0, dir_end.min(d.len()))];
    for i in 0..n {
        let e = 6 + 16 * i;
        let (Some(size), Some(off)) = (le32(d, e + 8), le32(d, e + 12)) else {
            break;
        };
        let (off, end) = (off as usize, off as usize + size as usize);
        if end > d.len() {
            w.truncated = true;
            w.scan_from = Some(off.min(d.len()));
            continue;
        }
        let body = &d[off..end];
        let is_png = body.starts_with(super::png::SIGNATURE);
        if !is_png && !is_dib(body) {
            w.regions.push(Region::unit(vec![(off, end)], format!("ICO entry {i}")));
        }
        extents.push((off, end));
    }
    let covered = w.add_gaps(&mut extents, Claim::Private);
    w.end = covered.min(d.len());
    if w.truncated {
        w.end = d.len();
    }
    w
}
