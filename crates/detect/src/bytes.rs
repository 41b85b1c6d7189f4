//! Bounds-checked reads and the small byte helpers both the picture walkers (`formats`) and the
//! payload recognisers (`payload`) use (CRC-32, ISO-BMFF box headers). Every walker reads through
//! these so no input can make it panic.

pub fn u8_at(d: &[u8], off: usize) -> Option<u8> {
    d.get(off).copied()
}

pub fn be16(d: &[u8], off: usize) -> Option<u16> {
    Some(u16::from_be_bytes(d.get(off..off.checked_add(2)?)?.try_into().ok()?))
}

pub fn le16(d: &[u8], off: usize) -> Option<u16> {
    Some(u16::from_le_bytes(d.get(off..off.checked_add(2)?)?.try_into().ok()?))
}

pub fn be32(d: &[u8], off: usize) -> Option<u32> {
    Some(u32::from_be_bytes(d.get(off..off.checked_add(4)?)?.try_into().ok()?))
}

pub fn le32(d: &[u8], off: usize) -> Option<u32> {
    Some(u32::from_le_bytes(d.get(off..off.checked_add(4)?)?.try_into().ok()?))
}

pub fn be64(d: &[u8], off: usize) -> Option<u64> {
    Some(u64::from_be_bytes(d.get(off..off.checked_add(8)?)?.try_into().ok()?))
}

pub fn le64(d: &[u8], off: usize) -> Option<u64> {
    Some(u64::from_le_bytes(d.get(off..off.checked_add(8)?)?.try_into().ok()?))
}

/// Endian-aware reads for TIFF-like structures.
#[derive(Clone, Copy)]
pub struct Endian {
    pub little: bool,
}

impl Endian {
    pub fn u16(self, d: &[u8], off: usize) -> Option<u16> {
        if self.little {
            le16(d, off)
        } else {
            be16(d, off)
        }
    }
    pub fn u32(self, d: &[u8], off: usize) -> Option<u32> {
        if self.little {
            le32(d, off)
        } else {
            be32(d, off)
        }
    }
    pub fn u64(self, d: &[u8], off: usize) -> Option<u64> {
        if self.little {
            le64(d, off)
        } else {
            be64(d, off)
        }
    }
}

/// `d[off..off+len]`, or `None` when it leaves the slice.
pub fn slice(d: &[u8], off: usize, len: usize) -> Option<&[u8]> {
    d.get(off..off.checked_add(len)?)
}

pub fn starts_with_at(d: &[u8], off: usize, pat: &[u8]) -> bool {
    d.get(off..).is_some_and(|s| s.starts_with(pat))
}

/// Case-insensitive prefix test for ASCII patterns.
pub fn starts_with_ci(d: &[u8], off: usize, pat: &[u8]) -> bool {
    d.get(off..off + pat.len()).is_some_and(|s| s.eq_ignore_ascii_case(pat))
}

pub fn is_zero(d: &[u8]) -> bool {
    d.iter().all(|&b| b == 0)
}

/// Text that a human or an interpreter would read: printable ASCII, tabs, newlines, and UTF-8 bytes.
pub fn mostly_text(d: &[u8]) -> bool {
    if d.is_empty() {
        return false;
    }
    let bad = d.iter().filter(|&&b| b < 0x09 || (b > 0x0d && b < 0x20) || b == 0x7f).count();
    bad * 50 <= d.len()
}

/// CRC-32 (IEEE 802.3, reflected), as PNG chunks, XZ stream flags and ARJ headers carry it.
pub fn crc32(data: &[u8]) -> u32 {
    static TABLE: [u32; 256] = {
        let mut t = [0u32; 256];
        let mut i = 0;
        while i < 256 {
            let mut c = i as u32;
            let mut k = 0;
            while k < 8 {
                c = if c & 1 != 0 { 0xedb8_8320 ^ (c >> 1) } else { c >> 1 };
                k += 1;
            }
            t[i] = c;
            i += 1;
        }
        t
    };
    !data.iter().fold(!0u32, |c, &b| TABLE[((c ^ b as u32) & 0xff) as usize] ^ (c >> 8))
}

/// A plausible four-character type code (ISO-BMFF boxes): letters, digits, space or `-`.
pub fn printable4(t: &[u8]) -> bool {
    t.len() == 4 && t.iter().all(|&c| c.is_ascii_alphanumeric() || c == b' ' || c == b'-')
}

/// (size, type) of a box at `p`; size 0 means "to the end of the file".
pub fn box_header(d: &[u8], p: usize) -> Option<(usize, [u8; 4])> {
    let size = be32(d, p)? as u64;
    let ty: [u8; 4] = slice(d, p + 4, 4)?.try_into().ok()?;
    if !printable4(&ty) {
        return None;
    }
    let size = match size {
        0 => 0,
        1 => {
            let large = be64(d, p + 8)?;
            if large < 16 {
                return None;
            }
            large
        }
        s if s < 8 => return None,
        s => s,
    };
    Some((usize::try_from(size).ok()?, ty))
}
