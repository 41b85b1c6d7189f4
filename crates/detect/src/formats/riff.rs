//! WebP: the RIFF container. The end is the RIFF size where the chunks agree with it; metadata
//! chunks are checked against their names and unknown chunks judged.
use super::{Claim, Region, Walk};
use crate::bytes::*;

const KNOWN: &[&[u8; 4]] = &[b"VP8 ", b"VP8L", b"VP8X", b"ANIM", b"ANMF", b"ALPH", b"ICCP", b"EXIF", b"XMP "];

pub fn walk(d: &[u8]) -> Walk {
    let riff_end = 8 + le32(d, 4).unwrap_or(0) as usize;
    if riff_end <= d.len() {
        let w = walk_to(d, riff_end);
        if w.end == riff_end && !w.truncated {
            return w;
        }
    }
    // The RIFF size disagrees with the chunks (a polyglot tool wrote `/*` over it, or the file is
    // cut short): a wrong size is a sign, not a reason to stop, so the chunks are walked to the end.
    walk_to(d, d.len())
}

fn walk_to(d: &[u8], end: usize) -> Walk {
    let mut w = Walk::default();
    let mut p = 12;
    while p + 8 <= end {
        let ty = &d[p..p + 4];
        let size = le32(d, p + 4).unwrap_or(0) as usize;
        let data_end = p + 8 + size;
        let named = ty.iter().all(|&c| c.is_ascii_alphanumeric() || c == b' ');
        if !named || data_end > end {
            // Not a chunk: the picture ended here. A chunk cut short: the rest is its data.
            let cut = named && data_end > end;
            w.end = if cut { end } else { p };
            w.truncated = true;
            w.scan_from = Some(if cut { p + 8 } else { p });
            return w;
        }
        let (skip, claim) = match ty {
            b"EXIF" if d[p + 8..data_end].starts_with(b"Exif\0\0") => (6, Claim::Tiff),
            b"EXIF" => (0, Claim::Tiff),
            b"XMP " => (0, Claim::Xmp),
            b"ICCP" => (0, Claim::Icc),
            _ if KNOWN.iter().any(|k| &k[..] == ty) => (0, Claim::Metadata),
            _ => (0, Claim::Private),
        };
        let pixels = matches!(ty, b"VP8 " | b"VP8L" | b"ALPH" | b"ANMF");
        if size > 0 && !pixels {
            let name = format!("chunk {}", String::from_utf8_lossy(ty));
            w.add(Region::claimed(vec![(p + 8 + skip.min(size), data_end)], name, claim));
        }
        p = data_end + (size & 1);
    }
    w.end = end.max(p.min(d.len()));
    w
}
