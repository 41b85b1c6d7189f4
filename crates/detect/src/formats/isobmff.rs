//! HEIC/AVIF (ISO-BMFF). The end is the furthest byte referenced by `iloc` (or by a sequence's
//! chunk offsets), not the last top-level box: an appended MP4 is itself a valid box sequence.
use super::{Claim, Region, Walk};
use crate::bytes::*;
use crate::report::PicType;

/// HEIC or AVIF from the `ftyp` brands.
pub fn pic_type(d: &[u8]) -> Option<PicType> {
    let (size, ty) = box_header(d, 0)?;
    if &ty != b"ftyp" || !(16..=1024).contains(&size) {
        return None;
    }
    let brands = slice(d, 8, size.min(d.len()).checked_sub(8)?)?;
    let mut found = None;
    for (i, b) in brands.chunks_exact(4).enumerate() {
        if i == 1 {
            continue; // minor_version
        }
        match b {
            b"avif" | b"avis" => return Some(PicType::Avif),
            b"heic" | b"heix" | b"heim" | b"heis" | b"hevc" | b"hevx" | b"mif1" | b"msf1" => {
                found = Some(PicType::Heic)
            }
            _ => {}
        }
    }
    found
}

/// Whether the brands announce an image sequence (whose samples a `moov` locates).
fn is_sequence(d: &[u8]) -> bool {
    let Some((size, _)) = box_header(d, 0) else { return false };
    let brands = slice(d, 8, size.min(d.len()).saturating_sub(8)).unwrap_or_default();
    brands.chunks_exact(4).any(|b| matches!(b, b"msf1" | b"avis" | b"heis" | b"hevs"))
}

/// Structural length of a HEIF/AVIF at `d[0]`.
pub fn extent(d: &[u8]) -> usize {
    walk(d).end
}

/// Child boxes of a container box's payload `[start, end)`.
fn children(d: &[u8], start: usize, end: usize) -> Vec<(usize, usize, [u8; 4])> {
    let mut out = Vec::new();
    let mut p = start;
    while p + 8 <= end {
        let Some((size, ty)) = box_header(d, p) else {
            break;
        };
        let size = if size == 0 { end - p } else { size };
        match p.checked_add(size) {
            Some(e) if e <= end => out.push((p, e, ty)),
            _ => break,
        }
        p += size;
    }
    out
}

fn header_len(d: &[u8], p: usize) -> usize {
    if be32(d, p) == Some(1) {
        16
    } else {
        8
    }
}

fn sized(d: &[u8], p: usize, n: u8) -> Option<u64> {
    match n {
        0 => Some(0),
        4 => be32(d, p).map(u64::from),
        8 => be64(d, p),
        _ => None,
    }
}

/// File extents `[start, end)` of every item stored by file offset (construction method 0).
fn iloc_extents(d: &[u8], start: usize, end: usize, out: &mut Vec<(u64, u64)>) -> Option<()> {
    let body = slice(d, start, end.checked_sub(start)?)?;
    let version = *body.first()?;
    let mut p = 4;
    let (off_size, len_size) = (body.get(p)? >> 4, body.get(p)? & 15);
    let (base_size, index_size) =
        (body.get(p + 1)? >> 4, if version > 0 { body.get(p + 1)? & 15 } else { 0 });
    p += 2;
    let count = if version < 2 { be16(body, p)? as u32 } else { be32(body, p)? };
    p += if version < 2 { 2 } else { 4 };
    for _ in 0..count.min(1 << 16) {
        p += if version < 2 { 2 } else { 4 };
        let method = if version > 0 {
            let m = be16(body, p)? & 15;
            p += 2;
            m
        } else {
            0
        };
        p += 2; // data_reference_index
        let base = sized(body, p, base_size)?;
        p += base_size as usize;
        let n = be16(body, p)?;
        p += 2;
        for _ in 0..n {
            p += index_size as usize;
            let off = sized(body, p, off_size)?;
            p += off_size as usize;
            let len = sized(body, p, len_size)?;
            p += len_size as usize;
            if method == 0 {
                out.push((base.saturating_add(off), base.saturating_add(off).saturating_add(len)));
            }
        }
    }
    Some(())
}

/// Chunk offsets of an image sequence (`moov/trak/mdia/minf/stbl/stco|co64`).
fn chunk_offsets(d: &[u8], start: usize, end: usize, out: &mut Vec<(u64, u64)>, depth: u8) {
    for (s, e, ty) in children(d, start, end) {
        let body = s + header_len(d, s);
        match &ty {
            b"trak" | b"mdia" | b"minf" | b"stbl" if depth < 6 => chunk_offsets(d, body, e, out, depth + 1),
            b"stco" | b"co64" => {
                let n = be32(d, body + 4).unwrap_or(0) as usize;
                for i in 0..n.min(1 << 16) {
                    let off = if &ty == b"stco" {
                        be32(d, body + 8 + 4 * i).map(u64::from)
                    } else {
                        be64(d, body + 8 + 8 * i)
                    };
                    if let Some(o) = off {
                        out.push((o, o.saturating_add(1)));
                    }
                }
            }
            _ => {}
        }
    }
}

pub fn walk(d: &[u8]) -> Walk {
    let mut w = Walk::default();
    let top = children(d, 0, d.len());
    let mut refs: Vec<(u64, u64)> = Vec::new();
    let mut structural: Vec<(usize, usize)> = Vec::new();
    let sequence = is_sequence(d);
    let mut seen_meta = false;
    let mut walked = 0;
    for (i, &(s, e, ty)) in top.iter().enumerate() {
        walked = i + 1;
        match &ty {
            // A second ftyp starts another file (an appended MP4 or picture).
            b"ftyp" if i > 0 => {
                walked = i;
                break;
            }
            b"ftyp" => structural.push((s, e)),
            b"meta" if seen_meta => {
                walked = i;
                break;
            }
            b"meta" => {
                seen_meta = true;
                structural.push((s, e));
                let body = s + header_len(d, s) + 4; // full box: version and flags
                for (cs, ce, cty) in children(d, body, e) {
                    if &cty == b"iloc" {
                        let _ = iloc_extents(d, cs + header_len(d, cs), ce, &mut refs);
                    }
                }
            }
            b"moov" if sequence => {
                structural.push((s, e));
                chunk_offsets(d, s + header_len(d, s), e, &mut refs, 0);
            }
            _ => {}
        }
        if structural.is_empty() {
            break; // not ftyp first: not ours
        }
    }
    let mut covered: Vec<(usize, usize)> = structural.clone();
    for &(s, e) in &refs {
        if e as usize <= d.len() {
            covered.push((s as usize, e as usize));
        } else if (s as usize) < d.len() {
            w.truncated = true;
        }
    }
    // Box headers inside the picture (`free` padding, the `mdat` header) are structure; their bodies
    // stay gaps to search unless an item references them.
    let reach = covered.iter().map(|c| c.1).max().unwrap_or(0);
    for &(s, _, _) in top[..walked].iter().filter(|b| b.0 < reach) {
        covered.push((s, (s + header_len(d, s)).min(d.len())));
    }
    // A sequence's chunk offsets name only where each chunk starts: the enclosing mdat counts.
    for &(s, e, ty) in &top {
        if &ty == b"mdat"
            && refs.iter().any(|&(rs, re)| re == rs + 1 && (rs as usize) >= s && (rs as usize) < e)
        {
            covered.push((s, e));
        }
    }
    let mut end = w.add_gaps(&mut covered, Claim::Private);
    // Top-level boxes past everything referenced: `free` padding, an unreferenced `mdat`, a box
    // nobody knows. Their bodies are judged; a movie's boxes start another file.
    let reach = end;
    for &(s, e, ty) in top[..walked].iter().filter(|b| b.0 >= reach && !refs.is_empty()) {
        if matches!(&ty, b"moov" | b"moof" | b"styp" | b"sidx" | b"mfra" | b"emsg" | b"prft") {
            break;
        }
        let body = s + header_len(d, s) + if &ty == b"uuid" { 16 } else { 0 };
        w.add(Region::unit(vec![(body.min(e), e)], format!("box {}", String::from_utf8_lossy(&ty))));
        end = e;
    }
    if refs.is_empty() {
        // No item locations (a damaged file): fall back to the whole top-level box chain.
        end = top.last().map_or(0, |b| b.1);
    }
    if w.truncated {
        w.scan_from = Some(end);
        end = d.len();
    }
    w.end = end;
    w
}
