//! WebP: the RIFF container. The end is the RIFF size; unknown chunks are searched.
use super::{Region, Walk};
use crate::bytes::*;

const KNOWN: &[&[u8; 4]] = &[b"VP8 ", b"VP8L", b"VP8X", b"ANIM", b"ANMF", b"ALPH", b"ICCP", b"EXIF", b"XMP "];

pub fn walk(d: &[u8]) -> Walk {
    let mut w = Walk::default();
    let riff_end = 8 + le32(d, 4).unwrap_or(0) as usize;
    let end = riff_end.min(d.len());
    let mut p = 12;
    while p + 8 <= end {
        let ty = &d[p..p + 4];
        let size = le32(d, p + 4).unwrap_or(0) as usize;
        let data_end = p + 8 + size;
        if !ty.iter().all(|&c| c.is_ascii_alphanumeric() || c == b' ') || data_end > end {
            w.end = if data_end > end { end } else { p };
            w.truncated = true;
            w.scan_from = Some(if data_end > end { p + 8 } else { p });
            return w;
        }
        if !KNOWN.iter().any(|k| &k[..] == ty) && size > 0 {
            let name = format!("chunk {}", String::from_utf8_lossy(ty));
            w.add(Region::unit(vec![(p + 8, data_end)], name));
        }
        p = data_end + (size & 1);
    }
    w.end = end.max(p.min(d.len()));
    w.truncated = riff_end > d.len();
    w
}
