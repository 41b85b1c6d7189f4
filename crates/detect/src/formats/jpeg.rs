//! JPEG: a marker walk through entropy-coded data (byte stuffing, RSTn, many SOS in progressive
//! files), resynchronising over junk as libjpeg does. The end is the EOI that closes the structure,
//! never simply the first `FF D9`.
use super::{Claim, Region, Walk};
use crate::bytes::*;

const SOI: u8 = 0xd8;
const EOI: u8 = 0xd9;
const SOS: u8 = 0xda;

fn is_rst(m: u8) -> bool {
    (0xd0..=0xd7).contains(&m)
}

/// Checks a segment's content where the format fixes it, so random bytes rarely pass as a segment.
fn segment_ok(m: u8, data: &[u8]) -> bool {
    match m {
        0xc0..=0xc3 | 0xc5..=0xc7 | 0xc9..=0xcb | 0xcd..=0xcf => {
            data.len() >= 6 && data.len() == 6 + 3 * data[5] as usize && data[5] > 0
        }
        0xc4 => {
            // DHT: one or more tables of class/id, 16 counts, symbols.
            let mut q = 0;
            while q < data.len() {
                if data[q] >> 4 > 1 || data[q] & 0x0f > 3 || q + 17 > data.len() {
                    return false;
                }
                let n: usize = data[q + 1..q + 17].iter().map(|&c| c as usize).sum();
                if n > 256 {
                    return false;
                }
                q += 17 + n;
            }
            q == data.len()
        }
        0xdb => {
            let mut q = 0;
            while q < data.len() {
                let (pq, tq) = (data[q] >> 4, data[q] & 0x0f);
                if pq > 1 || tq > 3 {
                    return false;
                }
                q += 1 + 64 * (pq as usize + 1);
            }
            q == data.len()
        }
        0xdd => data.len() == 2,
        SOS => !data.is_empty() && (1..=4).contains(&data[0]) && data.len() == 4 + 2 * data[0] as usize,
        0xc8 | 0x02..=0xbf => false,
        _ => true,
    }
}

/// Whether a valid marker segment (or a standalone marker) starts at `p`.
fn marker_ok(d: &[u8], p: usize) -> bool {
    let Some(m) = u8_at(d, p + 1) else {
        return false;
    };
    match m {
        EOI | 0x01 => true,
        _ if is_rst(m) => true,
        0x00 | SOI | 0xff => false,
        _ => match be16(d, p + 2) {
            Some(len) if len >= 2 => slice(d, p + 4, len as usize - 2).is_some_and(|s| segment_ok(m, s)),
            _ => false,
        },
    }
}

/// Whether `d[p..]` holds a table or header segment (DQT, DHT, SOFn, DRI, SOS): an editor's
/// leftover of JPEG structure, not a payload.
pub fn tables_at(d: &[u8], p: usize) -> bool {
    matches!(u8_at(d, p + 1), Some(0xc0..=0xcf | 0xda | 0xdb | 0xdd))
        && u8_at(d, p) == Some(0xff)
        && marker_ok(d, p)
}

/// Whether the JPEG at `d[0]` carries a multi-picture index (an APP2 `MPF` segment, or one whose
/// identifier was lost but whose TIFF header remains) among its first segments.
pub fn has_mpf(d: &[u8]) -> bool {
    let mut p = 2;
    for _ in 0..16 {
        let (Some(0xff), Some(m), Some(len)) = (u8_at(d, p), u8_at(d, p + 1), be16(d, p + 2)) else {
            return false;
        };
        if m == 0xe2
            && (starts_with_at(d, p + 4, b"MPF\0") || matches!(slice(d, p + 8, 4), Some(b"II*\0" | b"MM\0*")))
        {
            return true;
        }
        if !(0xe0..=0xef).contains(&m) {
            return false;
        }
        p += 2 + len as usize;
    }
    false
}

/// Whether a JPEG whose first byte was damaged starts within a few bytes of `p` (Minolta cameras
/// write their maker-note preview with `02` for its first `FF`): a preview of the picture, not a
/// payload. The preview is walked with its first byte mended.
pub fn damaged_preview_at(d: &[u8], p: usize) -> bool {
    (p..p + 8).any(|q| {
        let Some(rest) = d.get(q + 1..).filter(|r| r.starts_with(&[SOI, 0xff])) else { return false };
        // Previews are small: a bounded copy keeps memory independent of the object's size.
        let rest = &rest[..rest.len().min(16 << 20)];
        let mended: Vec<u8> = std::iter::once(0xff).chain(rest.iter().copied()).collect();
        let w = walk_strict(&mended);
        !w.truncated && w.end > 64
    })
}

/// The next offset after `from` where a valid marker starts.
fn resync(d: &[u8], from: usize) -> Option<usize> {
    let mut q = from;
    while let Some(i) = memchr::memchr(0xff, &d[q.min(d.len())..]) {
        let p = q + i;
        if marker_ok(d, p) {
            return Some(p);
        }
        q = p + 1;
    }
    None
}

/// End of entropy-coded data starting at `p`: the offset of the next real marker (or `d.len()`).
fn entropy_end(d: &[u8], mut p: usize) -> usize {
    loop {
        let Some(i) = memchr::memchr(0xff, &d[p.min(d.len())..]) else {
            return d.len();
        };
        let q = p + i;
        match u8_at(d, q + 1) {
            None => return d.len(),
            Some(0x00) => p = q + 2,
            Some(m) if is_rst(m) => p = q + 2,
            Some(0xff) => p = q + 1, // fill bytes before a marker
            Some(_) => return q,
        }
    }
}

/// APPn identifiers of well-known metadata whose layout is not checked (JFIF, FlashPix, Adobe,
/// MPF, JUMBF/C2PA).
const METADATA_IDS: &[&[u8]] = &[b"JFIF\0", b"JFXX\0", b"MPF\0", b"FPXR\0", b"Adobe", b"JP\0", b"JP"];

const XMP_ID: &[u8] = b"http://ns.adobe.com/xap/1.0/\0";
const XMP_EXT_ID: &[u8] = b"http://ns.adobe.com/xmp/extension/\0";

/// The region a segment's data forms, judged by what its identifier claims.
fn segment_region(m: u8, data_start: usize, data: &[u8]) -> Region {
    let from = |skip: usize| vec![(data_start + skip.min(data.len()), data_start + data.len())];
    let name = match m {
        0xfe => return Region::unit(from(0), "COM"),
        0xe0..=0xef => format!("APP{}", m - 0xe0),
        _ => return Region::claimed(from(0), format!("marker {m:02X}"), Claim::Metadata),
    };
    let (skip, claim) = if m == 0xe1 && data.starts_with(b"Exif\0") {
        (6, Claim::Tiff)
    } else if m == 0xe1 && data.starts_with(XMP_ID) {
        (XMP_ID.len(), Claim::Xmp)
    } else if m == 0xe1 && data.starts_with(XMP_EXT_ID) {
        (XMP_EXT_ID.len() + 40, Claim::Xmp) // GUID, full length, offset
    } else if m == 0xe2 && data.starts_with(b"ICC_PROFILE\0") {
        (14, Claim::Icc) // sequence number and count
    } else if m == 0xec && data.starts_with(b"Ducky") {
        (5, Claim::Ducky)
    } else if m == 0xed && data.starts_with(b"Photoshop 3.0\0") {
        (14, Claim::Resources)
    } else if (m == 0xe0 || m >= 0xe2) && METADATA_IDS.iter().any(|id| data.starts_with(id)) {
        (0, Claim::Metadata)
    } else if m == 0xec && (data.starts_with(b"[picture info]") || data.starts_with(b"PictureInfo")) {
        (0, Claim::Private) // old cameras' APP12 text: text is its content, random bytes are not
    } else if data.len() >= 3 && data[..3].iter().all(u8::is_ascii_alphanumeric) {
        // Applications name their segments (`NVDA`, `FLIR`, `Meta`): a vendor's own layout.
        (0, Claim::Opaque)
    } else {
        (0, Claim::Private)
    };
    Region::claimed(from(skip), name, claim)
}

pub fn walk(d: &[u8]) -> Walk {
    walk_with(d, true)
}

/// For a picture found inside other data: no resynchronisation, so that each of many fake
/// signatures costs only its own valid prefix, keeping the search linear.
pub fn walk_strict(d: &[u8]) -> Walk {
    walk_with(d, false)
}

fn walk_with(d: &[u8], resync_junk: bool) -> Walk {
    let mut w = Walk::default();
    let mut p = 2;
    let mut scan_start: Option<usize> = None; // start of the entropy data we are in or just left
    let mut seen_frame = false;
    let mut icc: Option<usize> = None;
    loop {
        if u8_at(d, p) != Some(0xff) || !marker_ok(d, p) {
            // Junk or an impossible marker: the structure is broken here. Resynchronise like
            // libjpeg; what we skipped is searched for payloads.
            let broke_at = p.min(d.len());
            let search_from = scan_start.unwrap_or(broke_at);
            match resync_junk.then(|| resync(d, broke_at + 1)).flatten() {
                Some(q) if q < d.len() => {
                    w.add(Region::gap(search_from, q, Claim::Opaque));
                    p = q;
                    scan_start = None;
                    continue;
                }
                _ => {
                    w.end = broke_at;
                    w.truncated = true;
                    w.scan_from = Some(search_from);
                    return w;
                }
            }
        }
        let m = d[p + 1];
        match m {
            EOI => {
                w.end = p + 2;
                return w;
            }
            0x01 => p += 2,
            _ if is_rst(m) => p = entropy_end(d, p + 2),
            _ => {
                let len = be16(d, p + 2).unwrap_or(0) as usize;
                let data_start = p + 4;
                let data = &d[data_start..p + 2 + len];
                if matches!(m, 0xc0..=0xcf) && m != 0xc4 && m != 0xc8 && m != 0xcc {
                    seen_frame = true;
                }
                note_metadata(&mut w, d, m, data_start, data);
                let r = segment_region(m, data_start, data);
                match (r.claim, icc) {
                    // An ICC profile split over several APP2 segments is one stream.
                    (Claim::Icc, Some(i)) => w.regions[i].ranges.extend(r.ranges),
                    (Claim::Icc, None) => {
                        let i = w.regions.len();
                        w.add(r);
                        icc = (w.regions.len() > i).then_some(i);
                    }
                    _ if data.is_empty() => {}
                    // A file split over consecutive segments of one kind (COM, COM, …) is one stream.
                    (Claim::Private, _) => match w.regions.last_mut() {
                        Some(last)
                            if last.unit == r.unit
                                && last.claim == Claim::Private
                                && last.ranges.last().is_some_and(|l| l.1 + 4 == data_start) =>
                        {
                            last.ranges.extend(r.ranges)
                        }
                        _ => w.add(r),
                    },
                    _ => w.add(r),
                }
                p += 2 + len;
                if m == SOS && seen_frame {
                    scan_start = Some(p);
                    p = entropy_end(d, p);
                } else {
                    scan_start = None;
                }
            }
        }
        if p >= d.len() {
            w.end = d.len();
            w.truncated = true;
            w.scan_from = scan_start;
            return w;
        }
    }
}

/// MPF offsets and motion-photo declarations in APP segments.
fn note_metadata(w: &mut Walk, d: &[u8], m: u8, data_start: usize, data: &[u8]) {
    if m == 0xe2 && matches!(data.get(4..8), Some(b"II*\0" | b"MM\0*")) {
        w.multi_picture = true; // MPF, or an MPF whose identifier was lost
    }
    if m == 0xe2 && data.starts_with(b"MPF\0") {
        mpf_images(w, d, data_start + 4);
    }
    if m == 0xe1 && data.starts_with(b"http://ns.adobe.com/xap/1.0/\0") {
        let xmp = &data[29..];
        let find = |k: &[u8]| memchr::memmem::find(xmp, k).is_some();
        if find(b"MicroVideoOffset") || find(b"MotionPhoto") || find(b"Semantic=\"MotionPhoto\"") {
            w.motion_photo = true;
        }
    }
}

/// The MP Index IFD: images after the primary, at offsets relative to the MPF TIFF header.
fn mpf_images(w: &mut Walk, d: &[u8], base: usize) {
    let e = match slice(d, base, 4) {
        Some(b"II*\0") => Endian { little: true },
        Some(b"MM\0*") => Endian { little: false },
        _ => return,
    };
    let Some(ifd) = e.u32(d, base + 4).map(|o| base + o as usize) else {
        return;
    };
    let Some(n) = e.u16(d, ifd) else { return };
    for i in 0..n.min(64) as usize {
        let entry = ifd + 2 + 12 * i;
        if e.u16(d, entry) != Some(0xb002) {
            continue;
        }
        let (Some(count), Some(off)) = (e.u32(d, entry + 4), e.u32(d, entry + 8)) else {
            return;
        };
        for k in 0..(count / 16).min(64) as usize {
            let ent = base + off as usize + 16 * k;
            if let (Some(size), Some(rel)) = (e.u32(d, ent + 4), e.u32(d, ent + 8)) {
                if rel != 0 {
                    let start = base + rel as usize;
                    w.declared_images.push((start, start.saturating_add(size as usize)));
                }
            }
        }
    }
}
