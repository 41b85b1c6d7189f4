//! Archives, compressed streams and documents: ZIP, RAR, 7z, GZIP, BZIP2, XZ, ZSTD, TAR, PDF.
use super::*;

pub fn zip(d: &[u8], p: usize) -> Option<Ident> {
    let h = slice(d, p, 30)?;
    if &h[..4] == b"PK\x05\x06" {
        // An empty archive: only the end-of-central-directory record.
        let ok = h[4..20].iter().all(|&b| b == 0);
        let len = 22 + le16(h, 20)? as usize;
        return ok.then_some(Ident { kind: K::Zip, begin: p, len: Some(len.min(d.len() - p)) });
    }
    if &h[..4] != b"PK\x03\x04" {
        return None;
    }
    let version = le16(h, 4)?;
    let method = le16(h, 8)?;
    let name_len = le16(h, 26)? as usize;
    let extra_len = le16(h, 28)? as usize;
    let methods = [0u16, 1, 2, 3, 4, 5, 6, 8, 9, 10, 12, 14, 18, 19, 93, 95, 96, 97, 98, 99];
    if version > 100 || !methods.contains(&method) || !(1..=1024).contains(&name_len) || extra_len > 8192 {
        return None;
    }
    let name = slice(d, p + 30, name_len)?;
    if name.iter().any(|&b| b < 0x20 || b == 0x7f) {
        return None;
    }
    // The archive ends at its last end-of-central-directory record.
    let len = memchr::memmem::rfind(&d[p..], b"PK\x05\x06").and_then(|e| {
        let end = e + 22 + le16(d, p + e + 20)? as usize;
        (p + end <= d.len()).then_some(end)
    });
    Ident::new(K::Zip, p, len)
}

pub fn rar(d: &[u8], p: usize) -> Option<Ident> {
    let v4 = starts_with_at(d, p, b"Rar!\x1a\x07\x00");
    let v5 = starts_with_at(d, p, b"Rar!\x1a\x07\x01\x00");
    (v4 || v5).then_some(Ident { kind: K::Rar, begin: p, len: None })
}

pub fn seven_zip(d: &[u8], p: usize) -> Option<Ident> {
    if !starts_with_at(d, p, b"7z\xbc\xaf\x27\x1c") || *d.get(p + 6)? != 0 {
        return None;
    }
    let next_off = le64(d, p + 12)?;
    let next_size = le64(d, p + 20)?;
    let len = 32u64.checked_add(next_off)?.checked_add(next_size)?;
    let len = usize::try_from(len).ok().filter(|&l| l <= d.len() - p);
    Ident::new(K::SevenZip, p, len)
}

pub fn gzip(d: &[u8], p: usize) -> Option<Ident> {
    let h = slice(d, p, 10)?;
    let ok = h[0] == 0x1f
        && h[1] == 0x8b
        && h[2] == 8
        && h[3] & 0xe0 == 0
        && matches!(h[8], 0 | 2 | 4)
        && (h[9] <= 13 || h[9] == 255);
    ok.then_some(Ident { kind: K::Gzip, begin: p, len: None })
}

pub fn bzip2(d: &[u8], p: usize) -> Option<Ident> {
    let ok = starts_with_at(d, p, b"BZh")
        && (b'1'..=b'9').contains(d.get(p + 3)?)
        && (starts_with_at(d, p + 4, b"\x31\x41\x59\x26\x53\x59")
            || starts_with_at(d, p + 4, b"\x17\x72\x45\x38\x50\x90"));
    ok.then_some(Ident { kind: K::Bzip2, begin: p, len: None })
}

pub fn xz(d: &[u8], p: usize) -> Option<Ident> {
    if !starts_with_at(d, p, b"\xfd7zXZ\x00") {
        return None;
    }
    let flags = slice(d, p + 6, 2)?;
    let ok = flags[0] == 0 && flags[1] & 0xf0 == 0 && le32(d, p + 8)? == crc32(flags);
    ok.then_some(Ident { kind: K::Xz, begin: p, len: None })
}

/// A Zstandard frame: magic, a frame header with its reserved bit clear, then a first block header
/// of a defined type and a legal size (the magic alone is too short to trust).
pub fn zstd(d: &[u8], p: usize) -> Option<Ident> {
    if !starts_with_at(d, p, b"\x28\xb5\x2f\xfd") {
        return None;
    }
    let fhd = *d.get(p + 4)?;
    let single = fhd & 0x20 != 0;
    let fcs = [usize::from(single), 2, 4, 8][(fhd >> 6) as usize];
    let header = 1 + usize::from(!single) + [0, 1, 2, 4][(fhd & 3) as usize] + fcs;
    let block = slice(d, p + 4 + header, 3)?;
    let block = u32::from(block[0]) | u32::from(block[1]) << 8 | u32::from(block[2]) << 16;
    let (block_type, block_size) = ((block >> 1) & 3, block >> 3);
    let ok = fhd & 0x08 == 0 && block_type != 3 && block_size <= 128 * 1024;
    ok.then_some(Ident { kind: K::Zstd, begin: p, len: None })
}

pub fn octal(field: &[u8]) -> Option<u64> {
    let s = field.iter().skip_while(|&&b| b == b' ').take_while(|&&b| (b'0'..=b'7').contains(&b));
    let mut v: u64 = 0;
    let mut n = 0;
    for &b in s {
        v = v.checked_mul(8)?.checked_add((b - b'0') as u64)?;
        n += 1;
    }
    (n > 0).then_some(v)
}

pub fn tar_header_ok(h: &[u8]) -> bool {
    let Some(sum) = octal(&h[148..156]) else {
        return false;
    };
    let computed: u64 =
        h.iter().enumerate().map(|(i, &b)| if (148..156).contains(&i) { 32 } else { b as u64 }).sum();
    sum == computed
}

pub fn tar(d: &[u8], p: usize) -> Option<Ident> {
    let h = slice(d, p, 512)?;
    if &h[257..262] != b"ustar" || !tar_header_ok(h) {
        return None;
    }
    let mut q = p;
    while let Some(h) = slice(d, q, 512) {
        if is_zero(h) {
            q = (q + 1024).min(d.len()); // end-of-archive: two zero blocks
            break;
        }
        if !tar_header_ok(h) {
            break;
        }
        let size = octal(&h[124..136]).unwrap_or(0) as usize;
        q = q.saturating_add(512).saturating_add(size.div_ceil(512) * 512);
        if q >= d.len() {
            q = d.len();
            break;
        }
    }
    Ident::new(K::Tar, p, Some(q - p))
}

pub fn pdf(d: &[u8], p: usize) -> Option<Ident> {
    let h = slice(d, p, 8)?;
    let ok = &h[..5] == b"%PDF-" && h[5].is_ascii_digit() && h[6] == b'.' && h[7].is_ascii_digit();
    if !ok {
        return None;
    }
    let len = memchr::memmem::rfind(&d[p..], b"%%EOF").map(|e| {
        let mut end = e + 5;
        while matches!(d.get(p + end), Some(b'\r' | b'\n')) {
            end += 1;
        }
        end
    });
    Ident::new(K::Pdf, p, len)
}

/// A Microsoft cabinet: `MSCF`, zero reserved fields, version 1.3, and its total size.
pub fn cab(d: &[u8], p: usize) -> Option<Ident> {
    let h = slice(d, p, 36)?;
    let ok = &h[..4] == b"MSCF" && le32(h, 4)? == 0 && le32(h, 12)? == 0 && h[24] == 3 && h[25] == 1;
    let size = le32(h, 8)? as usize;
    (ok && size >= 36 && le32(h, 16)? < size as u32).then(|| Ident {
        kind: K::Cab,
        begin: p,
        len: bounded(d, p, size),
    })
}

/// An ARJ archive: headers `60 EA`, each with its CRC-32; the first is the main header (type 2).
pub fn arj(d: &[u8], p: usize) -> Option<Ident> {
    let mut q = p;
    let mut first = true;
    loop {
        if !starts_with_at(d, q, b"\x60\xea") {
            break;
        }
        let size = le16(d, q + 2)? as usize;
        if size == 0 {
            q += 4; // end of archive
            break;
        }
        let header = slice(d, q + 4, size).filter(|_| size <= 2600)?;
        if crc32(header) != le32(d, q + 4 + size)? || (first && header.get(6) != Some(&2)) {
            if first {
                return None;
            }
            break;
        }
        let packed = if first { 0 } else { le32(header, 12)? as usize };
        q += 4 + size + 4;
        while let Some(ext) = le16(d, q).filter(|&n| n > 0) {
            q += 2 + ext as usize + 4;
        }
        q = q.saturating_add(2).saturating_add(packed);
        first = false;
    }
    Ident::new(K::Arj, p, bounded(d, p, q - p))
}

/// An LZ4 frame: magic, a frame descriptor of version 01 with its reserved bits clear.
pub fn lz4(d: &[u8], p: usize) -> Option<Ident> {
    let (flg, bd) = (*d.get(p + 4)?, *d.get(p + 5)?);
    let ok = starts_with_at(d, p, b"\x04\x22\x4d\x18")
        && flg >> 6 == 1
        && flg & 2 == 0
        && bd & 0x8f == 0
        && bd >> 4 >= 4;
    ok.then_some(Ident { kind: K::Lz4, begin: p, len: None })
}

/// An ISO 9660 image whose volume descriptor `CD001` sits at `p + 0x8001`, after the 32 KiB system
/// area (zeros, usually): the image starts at `p`.
pub fn iso9660(d: &[u8], p: usize) -> Option<Ident> {
    let vd = p.checked_add(0x8000)?;
    let ty = *d.get(vd)?;
    if !starts_with_at(d, vd + 1, b"CD001") || d.get(vd + 6) != Some(&1) || !matches!(ty, 0..=3 | 255) {
        return None;
    }
    let len = (ty == 1)
        .then(|| Some(le32(d, vd + 80)? as usize * le16(d, vd + 128)? as usize))
        .flatten()
        .and_then(|l| bounded(d, p, l));
    Ident::new(K::Iso, p, len)
}

/// A cpio archive (newc/crc `070701`/`070702` with hex fields, odc `070707` with octal ones), to
/// its `TRAILER!!!` entry.
pub fn cpio(d: &[u8], p: usize) -> Option<Ident> {
    let magic = slice(d, p, 6)?;
    let newc = magic == b"070701" || magic == b"070702";
    if !newc && magic != b"070707" {
        return None;
    }
    let (head, digits): (usize, fn(&u8) -> bool) =
        if newc { (110, u8::is_ascii_hexdigit) } else { (76, |b| (b'0'..=b'7').contains(b)) };
    slice(d, p + 6, head - 6)?.iter().all(digits).then_some(())?;
    let len = memchr::memmem::find(d.get(p..)?, b"TRAILER!!!").map(|t| {
        let end = t + 11;
        if newc {
            end.div_ceil(4) * 4
        } else {
            end
        }
    });
    Ident::new(K::Cpio, p, len.and_then(|l| bounded(d, p, l)))
}

/// A Unix `ar` archive: `!<arch>\n` and a first member header ending in `` `\n ``.
pub fn ar(d: &[u8], p: usize) -> Option<Ident> {
    if !starts_with_at(d, p, b"!<arch>\n") || !starts_with_at(d, p + 8 + 58, b"`\n") {
        return None;
    }
    let mut q = p + 8;
    while let Some(h) = slice(d, q, 60).filter(|h| &h[58..] == b"`\n") {
        let size: usize = std::str::from_utf8(&h[48..58]).ok()?.trim().parse().ok()?;
        q = q.checked_add(60 + size + (size & 1))?;
    }
    Ident::new(K::Ar, p, bounded(d, p, q - p))
}

/// `len` when the payload fits in `d` from `p`.
pub fn bounded(d: &[u8], p: usize, len: usize) -> Option<usize> {
    (len > 0 && len <= d.len().saturating_sub(p)).then_some(len)
}
