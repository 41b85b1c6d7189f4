//! BMP: headers, palette and the pixel array's extent; the gap between them and an embedded
//! ICC profile. BI_JPEG/BI_PNG bitmaps embed a whole picture, measured by its own walker.
use super::{Claim, Region, Walk};
use crate::bytes::*;

const DIB_SIZES: [u32; 7] = [12, 40, 52, 56, 64, 108, 124];

pub fn looks_like(d: &[u8]) -> bool {
    d.starts_with(b"BM")
        && le32(d, 14).is_some_and(|s| DIB_SIZES.contains(&s))
        && le32(d, 10).is_some_and(|o| o >= 26)
}

/// Extent of RLE4/RLE8 data from `p`: until the end-of-bitmap escape.
fn rle_end(d: &[u8], mut p: usize, four: bool) -> Option<usize> {
    loop {
        let (n, v) = (*d.get(p)?, *d.get(p + 1)?);
        p += 2;
        if n != 0 {
            continue;
        }
        match v {
            0 => {}
            1 => return Some(p),
            2 => p += 2,
            count => {
                let bytes = if four { (count as usize).div_ceil(2) } else { count as usize };
                p += bytes + (bytes & 1);
            }
        }
    }
}

pub fn walk(d: &[u8]) -> Walk {
    let mut w = Walk::default();
    let off_bits = le32(d, 10).unwrap_or(0) as usize;
    let dib = le32(d, 14).unwrap_or(0) as usize;
    let (width, height, bpp, compression, image_size, clr_used) = if dib == 12 {
        let h = le16(d, 20).unwrap_or(0) as i64;
        (le16(d, 18).unwrap_or(0) as i64, h, le16(d, 24).unwrap_or(0), 0, 0, 0)
    } else {
        let w_ = le32(d, 18).unwrap_or(0) as i32 as i64;
        let h = le32(d, 22).unwrap_or(0) as i32 as i64;
        (
            w_,
            h,
            le16(d, 28).unwrap_or(0),
            le32(d, 30).unwrap_or(0),
            le32(d, 34).unwrap_or(0),
            le32(d, 46).unwrap_or(0),
        )
    };
    let masks = match (dib, compression) {
        (40, 3) => 12,
        (40, 6) => 16,
        _ => 0,
    };
    let entry = if dib == 12 { 3 } else { 4 };
    let colors = if clr_used > 0 {
        (clr_used as usize).min(256)
    } else if (1..=8).contains(&bpp) {
        1 << bpp // bpp 0 (BI_JPEG/BI_PNG) has no palette
    } else {
        0
    };
    let header_end = 14 + dib + masks + colors * entry;
    // Decoders read pixels after the palette when bfOffBits points into it (a common writer bug).
    let off_bits = if off_bits < header_end && header_end <= d.len() { header_end } else { off_bits };

    let pixels: Option<usize> = match compression {
        0 | 3 | 6 => {
            let row = (bpp as u64 * width.unsigned_abs()).div_ceil(32) * 4;
            usize::try_from(row.saturating_mul(height.unsigned_abs())).ok()
        }
        1 | 2 => rle_end(d, off_bits, compression == 2).map(|e| e - off_bits).or(Some(image_size as usize)),
        4 | 5 => {
            d.get(off_bits..).and_then(super::sniff_image).map(|(_, len)| len).or(Some(image_size as usize))
        }
        _ => Some(image_size as usize),
    };
    let mut end = off_bits.saturating_add(pixels.unwrap_or(0));
    // A v5 header may place an ICC profile (offset from the info header) after the pixels.
    if dib == 124 && matches!(le32(d, 14 + 56), Some(0x4d42_4544)) {
        let (off, size) = (le32(d, 14 + 112).unwrap_or(0) as usize, le32(d, 14 + 116).unwrap_or(0) as usize);
        end = end.max((14 + off).saturating_add(size));
    }
    if off_bits > header_end && off_bits <= d.len() {
        w.add(Region::gap(header_end, off_bits, Claim::Private));
    }
    if end > d.len() {
        w.truncated = true;
        w.scan_from = Some(off_bits.min(d.len()));
        end = d.len();
    }
    w.end = end;
    w
}
