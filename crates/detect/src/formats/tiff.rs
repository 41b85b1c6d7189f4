//! TIFF and BigTIFF (II/MM): the IFD chain with sub-IFDs; the end is the furthest byte any IFD
//! references (strips, tiles, out-of-line values, old-style JPEG). Holes are searched.
use super::{Claim, Walk};
use crate::bytes::*;

pub fn looks_like(d: &[u8]) -> bool {
    d.starts_with(b"II*\0") || d.starts_with(b"MM\0*") || d.starts_with(b"II+\0") || d.starts_with(b"MM\0+")
}

const MAX_IFDS: usize = 512;
const MAX_EXTENTS: usize = 1 << 16;

struct Walker<'a> {
    d: &'a [u8],
    e: Endian,
    big: bool,
    extents: Vec<(usize, usize)>,
    end: usize,
    overflow: bool,
}

impl Walker<'_> {
    fn add(&mut self, start: u64, len: u64) {
        let end = start.saturating_add(len);
        if len == 0 || end > self.d.len() as u64 {
            if start < self.d.len() as u64 && len > 0 {
                self.end = self.d.len(); // references past the end: cut short
                self.overflow = true;
            }
            return;
        }
        let (s, e) = (start as usize, end as usize);
        self.end = self.end.max(e);
        if self.extents.len() < MAX_EXTENTS {
            self.extents.push((s, e));
        }
    }

    fn word(&self, off: usize) -> Option<u64> {
        if self.big {
            self.e.u64(self.d, off)
        } else {
            self.e.u32(self.d, off).map(u64::from)
        }
    }

    /// The i-th value of an entry's array (SHORT, LONG or LONG8).
    fn value(&self, ty: u16, base: usize, i: usize) -> Option<u64> {
        match ty {
            3 => self.e.u16(self.d, base + 2 * i).map(u64::from),
            4 | 13 => self.e.u32(self.d, base + 4 * i).map(u64::from),
            16 | 18 => self.e.u64(self.d, base + 8 * i),
            _ => None,
        }
    }
}

fn type_size(ty: u16) -> u64 {
    match ty {
        1 | 2 | 6 | 7 => 1,
        3 | 8 => 2,
        4 | 9 | 11 | 13 => 4,
        5 | 10 | 12 | 16 | 17 | 18 => 8,
        _ => 1,
    }
}

pub fn walk(d: &[u8]) -> Walk {
    let e = Endian { little: d.starts_with(b"II") };
    let big = e.u16(d, 2) == Some(43);
    let mut t = Walker { d, e, big, extents: Vec::new(), end: 0, overflow: false };
    let (entry_size, count_size, inline) = if big { (20usize, 8usize, 8u64) } else { (12, 2, 4) };
    t.add(0, if big { 16 } else { 8 });
    let mut queue: Vec<u64> = t.word(if big { 8 } else { 4 }).into_iter().collect();
    let mut seen = Vec::new();
    let mut camera = false;
    while let Some(ifd) = queue.pop() {
        if ifd < 8 || seen.contains(&ifd) || seen.len() >= MAX_IFDS {
            continue;
        }
        seen.push(ifd);
        let Ok(ifd) = usize::try_from(ifd) else { continue };
        if ifd > d.len() {
            continue;
        }
        let n = if big { e.u64(d, ifd) } else { e.u16(d, ifd).map(u64::from) };
        let Some(n) = n.filter(|&n| n > 0 && n < 4096) else {
            continue;
        };
        let n = n as usize;
        let entries = ifd + count_size;
        t.add(ifd as u64, (count_size + n * entry_size + inline as usize) as u64);
        let mut pairs: [(u16, u16, u64, usize); 3] = [(0, 0, 0, 0); 3]; // offsets tag info
        let mut counts: [(u16, u16, u64, usize); 3] = [(0, 0, 0, 0); 3];
        for i in 0..n {
            let en = entries + i * entry_size;
            let (Some(tag), Some(ty)) = (e.u16(d, en), e.u16(d, en + 2)) else {
                break;
            };
            let count = if big { e.u64(d, en + 4) } else { e.u32(d, en + 4).map(u64::from) }.unwrap_or(0);
            let value_at = en + if big { 12 } else { 8 };
            let bytes = count.saturating_mul(type_size(ty));
            let data = if bytes > inline {
                let off = t.word(value_at).unwrap_or(0);
                t.add(off, bytes);
                off as usize
            } else {
                value_at
            };
            match tag {
                273 => pairs[0] = (tag, ty, count, data),
                279 => counts[0] = (tag, ty, count, data),
                324 => pairs[1] = (tag, ty, count, data),
                325 => counts[1] = (tag, ty, count, data),
                513 => pairs[2] = (tag, ty, count, data),
                514 => counts[2] = (tag, ty, count, data),
                // A maker note or DNG private data: a camera's file, whose vendor blocks are
                // reached by offsets of their own (Sony's enciphered SR2 data, previews).
                0x927c | 0xc612 | 0xc634 => camera = true,
                330 | 34665 | 34853 | 40965 => {
                    for k in 0..count.min(64) as usize {
                        let v = if ty == 13 || ty == 4 || ty == 16 || ty == 18 {
                            t.value(ty, data, k)
                        } else {
                            t.value(4, data, k)
                        };
                        queue.extend(v);
                    }
                }
                _ => {}
            }
        }
        for k in 0..3 {
            let (ot, oty, on, odata) = pairs[k];
            let (ct, cty, cn, cdata) = counts[k];
            if ot == 0 || ct == 0 {
                continue;
            }
            // Arrays end where the file does: a forged count costs nothing past that.
            for i in 0..on.min(cn) as usize {
                let (Some(o), Some(c)) = (t.value(oty, odata, i), t.value(cty, cdata, i)) else { break };
                t.add(o, c);
            }
        }
        if let Some(next) = t.word(entries + n * entry_size) {
            queue.push(next);
        }
    }
    let mut w = Walk { end: t.end, truncated: t.overflow, orphans_expected: true, ..Walk::default() };
    w.vendor_layout = camera;
    if t.extents.len() < MAX_EXTENTS {
        w.add_gaps(&mut t.extents, if camera { Claim::Opaque } else { Claim::Private });
    }
    w
}
