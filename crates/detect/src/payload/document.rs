//! Documents, databases and captures: PostScript, RTF, OLE/CFB, SQLite, DICOM, PCAP, SWF.
use super::archive::bounded;
use super::*;

/// PostScript: `%!PS` (with the DSC `-Adobe-` version where written), or an EPS binary header.
pub fn postscript(d: &[u8], p: usize) -> Option<Ident> {
    let dsc = starts_with_at(d, p, b"%!PS-Adobe-") && d.get(p + 11).is_some_and(u8::is_ascii_digit);
    let plain = starts_with_at(d, p, b"%!PS") && d.get(p + 4).is_some_and(|b| b.is_ascii_whitespace());
    let eps = starts_with_at(d, p, b"\xc5\xd0\xd3\xc6") && le32(d, p + 4).is_some_and(|o| o == 30 || o == 32);
    if !(dsc || plain || eps) {
        return None;
    }
    let len = memchr::memmem::rfind(&d[p..], b"%%EOF")
        .map(|e| e + 5 + usize::from(d.get(p + e + 5) == Some(&b'\n')));
    Ident::new(K::PostScript, p, len)
}

/// RTF: `{\rtf1` and a control word after it; it ends where its braces balance.
pub fn rtf(d: &[u8], p: usize) -> Option<Ident> {
    if !starts_with_at(d, p, b"{\\rtf1") || !matches!(d.get(p + 6), Some(b'\\' | b'{' | b' ' | b'\r' | b'\n'))
    {
        return None;
    }
    let mut depth = 0usize;
    let mut len = None;
    for (i, &b) in d[p..].iter().enumerate() {
        match b {
            b'{' => depth += 1,
            b'}' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    len = Some(i + 1);
                    break;
                }
            }
            0 => break,
            _ => {}
        }
    }
    Ident::new(K::Rtf, p, len)
}

/// A compound file (OLE2/CFB: old Office documents, MSI): its 8-byte magic, version 3 or 4 and the
/// byte-order mark.
pub fn ole(d: &[u8], p: usize) -> Option<Ident> {
    let ok = starts_with_at(d, p, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")
        && matches!(le16(d, p + 26)?, 3 | 4)
        && le16(d, p + 28)? == 0xfffe;
    ok.then_some(Ident { kind: K::Ole, begin: p, len: None })
}

/// An SQLite 3 database: its header string, and page size × page count where the header is valid.
pub fn sqlite(d: &[u8], p: usize) -> Option<Ident> {
    if !starts_with_at(d, p, b"SQLite format 3\0") {
        return None;
    }
    let page = match be16(d, p + 16)? {
        1 => 65536,
        n if n >= 512 && n.is_power_of_two() => n as usize,
        _ => return None,
    };
    let pages = be32(d, p + 28)? as usize;
    Ident::new(K::Sqlite, p, bounded(d, p, page.saturating_mul(pages)))
}

/// DICOM: `DICM` after the 128-byte preamble, then a group 0002 element: the file starts at `p`.
pub fn dicom(d: &[u8], p: usize) -> Option<Ident> {
    let ok = starts_with_at(d, p.checked_add(128)?, b"DICM") && le16(d, p + 132)? == 2;
    ok.then_some(Ident { kind: K::Dicom, begin: p, len: None })
}

/// A packet capture: classic pcap (µs or ns, either byte order, version 2.x) or pcapng (a section
/// header block with its byte-order magic).
pub fn pcap(d: &[u8], p: usize) -> Option<Ident> {
    let magic = be32(d, p)?;
    let little = match magic {
        0xa1b2_c3d4 | 0xa1b2_3c4d => false,
        0xd4c3_b2a1 | 0x4d3c_b2a1 => true,
        0x0a0d_0d0a => {
            let bom = be32(d, p + 8)?;
            let ok = bom == 0x1a2b_3c4d || bom == 0x4d3c_2b1a;
            return ok.then_some(Ident { kind: K::Pcap, begin: p, len: None });
        }
        _ => return None,
    };
    let e = Endian { little };
    let ok = e.u16(d, p + 4)? == 2 && e.u16(d, p + 6)? <= 4 && e.u32(d, p + 16)? > 0;
    ok.then_some(Ident { kind: K::Pcap, begin: p, len: None })
}

/// A Flash movie: `FWS` (plain), `CWS` (zlib, version 6 on) or `ZWS` (LZMA, 13 on), a version and
/// its length. A plain one must also open with a stage RECT from (0, 0), at least one frame and a
/// defined first tag; its length is its extent.
pub fn swf(d: &[u8], p: usize) -> Option<Ident> {
    let h = slice(d, p, 9)?;
    let (version, size) = (h[3], le32(h, 4)? as usize);
    if !(1..=50).contains(&version) || !(21..=(256 << 20)).contains(&size) {
        return None;
    }
    let ok = match &h[..3] {
        b"CWS" => version >= 6 && crate::claims::zlib_header(&d[p + 8..]),
        b"ZWS" => version >= 13 && slice(d, p + 12, 1)? == [0x5d],
        b"FWS" => stage_ok(d, p + 8).is_some(),
        _ => false,
    };
    let len = if h[0] == b'F' { bounded(d, p, size) } else { None };
    ok.then_some(Ident { kind: K::Swf, begin: p, len })
}

/// The plain header after the signature: RECT (xmin = ymin = 0, a positive stage), frame rate,
/// frame count ≥ 1, and a first tag whose code is defined.
fn stage_ok(d: &[u8], p: usize) -> Option<()> {
    let bits = |from: usize, n: usize| -> Option<u32> {
        let mut v = 0u32;
        for i in from..from + n {
            v = v << 1 | u32::from(d.get(p + i / 8)? >> (7 - i % 8) & 1);
        }
        Some(v)
    };
    let n = bits(0, 5)? as usize;
    let (xmin, xmax, ymin, ymax) = (bits(5, n)?, bits(5 + n, n)?, bits(5 + 2 * n, n)?, bits(5 + 3 * n, n)?);
    let after = p + (5 + 4 * n).div_ceil(8);
    let frames = le16(d, after + 2)?;
    let tag = le16(d, after + 4)? >> 6;
    (n > 0 && xmin == 0 && ymin == 0 && xmax > 0 && ymax > 0 && frames > 0 && tag <= 100).then_some(())
}
