//! PNG and APNG: the chunk sequence up to IEND. Private chunks are searched; consecutive chunks of
//! one private type form one region, so a payload split across them is found whole.
use super::{Region, Walk};
use crate::bytes::*;
use crate::payload::crc32;

pub const SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

/// Chunks whose content is pixels, palette or fixed-size parameters: nothing to search.
const PLAIN: &[&[u8; 4]] = &[
    b"IHDR", b"PLTE", b"IDAT", b"tRNS", b"cHRM", b"gAMA", b"sBIT", b"sRGB", b"cICP", b"mDCV", b"mDCv",
    b"cLLI", b"cLLi", b"bKGD", b"hIST", b"pHYs", b"sPLT", b"tIME", b"acTL", b"fcTL", b"fdAT", b"oFFs",
    b"pCAL", b"sCAL", b"sTER", b"iCCP", b"zTXt", b"iDOT", b"CgBI", b"vpAg", b"orNT", b"gIFg", b"dSIG",
];

/// Chunks up to this size get their CRC checked.
const CRC_CHECK_LIMIT: u32 = 1 << 20;

pub fn walk(d: &[u8]) -> Walk {
    let mut w = Walk::default();
    let mut p = SIGNATURE.len();
    let mut last_data: Option<usize> = None;
    loop {
        let (Some(len), Some(ty)) = (be32(d, p), slice(d, p + 4, 4)) else {
            w.end = d.len().min(p);
            w.truncated = true;
            w.scan_from = last_data.or(Some(p));
            return w;
        };
        let data_start = p + 8;
        let data_end = data_start + len as usize;
        if !ty.iter().all(u8::is_ascii_alphabetic) || len > 0x7fff_ffff || data_end + 4 > d.len() {
            // Not a chunk, or one cut short: a payload may begin inside the previous chunk's data
            // (a truncated IDAT) or right here.
            // A well-formed chunk cut off by the end of the file: the picture is truncated and every
            // byte left is its data.
            let named = ty.iter().all(u8::is_ascii_alphabetic) && len <= 0x7fff_ffff;
            let cut_short = named && data_end + 4 > d.len();
            w.end = if cut_short { d.len() } else { p };
            w.truncated = true;
            w.scan_from = Some(if cut_short { data_start } else { last_data.unwrap_or(p) });
            return w;
        }
        let ty: [u8; 4] = ty.try_into().unwrap_or_default();
        if &ty == b"IEND" {
            w.end = data_end + 4;
            return w;
        }
        if !PLAIN.contains(&&ty) && len > 0 {
            let name = format!("chunk {}", String::from_utf8_lossy(&ty));
            match w.regions.last_mut() {
                // Continue a private stream split over consecutive chunks of one type.
                Some(r) if r.unit == name && r.ranges.last().is_some_and(|l| l.1 + 12 == data_start) => {
                    r.ranges.push((data_start, data_end))
                }
                _ => w.add(Region::unit(vec![(data_start, data_end)], name)),
            }
        }
        // CRCs of everything but pixel data (which decoders check anyway, and which is most of the
        // bytes): a mismatch marks the structure corrupt.
        if !matches!(&ty, b"IDAT" | b"fdAT") && len <= CRC_CHECK_LIMIT && !w.truncated {
            let crc = be32(d, data_end).unwrap_or(0);
            w.truncated = crc32(&d[p + 4..data_end]) != crc;
        }
        last_data = Some(data_start);
        p = data_end + 4;
    }
}
