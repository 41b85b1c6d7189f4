//! ICO/CUR: the directory and each entry's image (PNG or DIB). Entries that are neither, and gaps
//! between entries, are searched.
use super::{Region, Walk};
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
    e[3] == 0 && size > 0 && off >= 6 + 16 * n as usize
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
        let is_dib = le32(body, 0).is_some_and(|h| matches!(h, 12 | 40 | 52 | 56 | 108 | 124));
        if !is_png && !is_dib {
            w.regions
                .push(Region::unit(vec![(off, end)], format!("ICO entry {i}")));
        }
        extents.push((off, end));
    }
    extents.sort_unstable();
    let mut covered = 0;
    for &(s, e) in &extents {
        if s > covered + 16 {
            w.regions.push(Region::gap(covered, s));
        }
        covered = covered.max(e);
    }
    w.end = covered.min(d.len());
    if w.truncated {
        w.end = d.len();
    }
    w
}
