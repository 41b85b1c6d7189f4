//! Executables: ELF, PE, Mach-O (thin and fat), with extents from their section tables.
use super::*;

pub fn elf(d: &[u8], p: usize) -> Option<Ident> {
    let h = slice(d, p, 64)?;
    if &h[..4] != b"\x7fELF" || !matches!(h[4], 1 | 2) || !matches!(h[5], 1 | 2) || h[6] != 1 {
        return None;
    }
    let e = Endian { little: h[5] == 1 };
    let wide = h[4] == 2;
    let (shoff, shentsize, shnum, phoff, phentsize, phnum) = if wide {
        (e.u64(h, 0x28)?, e.u16(h, 0x3a)?, e.u16(h, 0x3c)?, e.u64(h, 0x20)?, e.u16(h, 0x36)?, e.u16(h, 0x38)?)
    } else {
        let w = |o| e.u32(h, o).map(u64::from);
        (w(0x20)?, e.u16(h, 0x2e)?, e.u16(h, 0x30)?, w(0x1c)?, e.u16(h, 0x2a)?, e.u16(h, 0x2c)?)
    };
    let mut end = shoff.saturating_add(shentsize as u64 * shnum as u64);
    for i in 0..phnum.min(256) as u64 {
        let ph = (p as u64).saturating_add(phoff).saturating_add(i * phentsize as u64);
        let Some(ph) = usize::try_from(ph).ok().filter(|&ph| ph < d.len()) else { break };
        let seg_end = if wide {
            e.u64(d, ph + 8).zip(e.u64(d, ph + 32)).map(|(o, s)| o.saturating_add(s))
        } else {
            e.u32(d, ph + 4).zip(e.u32(d, ph + 16)).map(|(o, s)| o as u64 + s as u64)
        };
        end = end.max(seg_end.unwrap_or(0));
    }
    let len = usize::try_from(end).ok().filter(|&l| l >= 64 && l <= d.len() - p);
    Ident::new(K::Elf, p, len)
}

pub fn pe(d: &[u8], p: usize) -> Option<Ident> {
    if !starts_with_at(d, p, b"MZ") {
        return None;
    }
    let lfanew = le32(d, p + 0x3c)? as usize;
    if !(0x0c..=0x1000).contains(&lfanew) || !starts_with_at(d, p + lfanew, b"PE\x00\x00") {
        return None;
    }
    let coff = p + lfanew + 4;
    let nsect = le16(d, coff + 2)? as usize;
    let opt_size = le16(d, coff + 16)? as usize;
    let opt = coff + 20;
    let mut end = 0u64;
    let sections = opt + opt_size;
    for i in 0..nsect.min(96) {
        let s = sections + i * 40;
        if let (Some(size), Some(ptr)) = (le32(d, s + 16), le32(d, s + 20)) {
            end = end.max(ptr as u64 + size as u64);
        }
    }
    // The Authenticode certificate table is addressed by file offset and sits in the overlay.
    let dirs = match le16(d, opt) {
        Some(0x10b) => Some(opt + 96),
        Some(0x20b) => Some(opt + 112),
        _ => None,
    };
    if let Some(cert) = dirs.map(|dd| dd + 4 * 8) {
        if let (Some(off), Some(size)) = (le32(d, cert), le32(d, cert + 4)) {
            end = end.max(off as u64 + size as u64);
        }
    }
    let len = usize::try_from(end).ok().filter(|&l| l > 0 && l <= d.len() - p);
    Ident::new(K::Pe, p, len)
}

pub fn mach_o(d: &[u8], p: usize) -> Option<Ident> {
    let magic = be32(d, p)?;
    let cpu_ok = |c: u32| matches!(c, 7 | 0x0100_0007 | 12 | 0x0100_000c | 0x0200_000c | 18 | 0x0100_0012);
    if magic == 0xcafe_babe {
        // Fat binary; Java class files share the magic but have a version >= 45 here.
        let n = be32(d, p + 4)? as usize;
        if !(1..=20).contains(&n) || !cpu_ok(be32(d, p + 8)?) {
            return None;
        }
        let mut end = 0u64;
        for i in 0..n {
            let a = p + 8 + i * 20;
            end = end.max(be32(d, a + 8)? as u64 + be32(d, a + 12)? as u64);
        }
        let len = usize::try_from(end).ok().filter(|&l| l <= d.len() - p);
        return Ident::new(K::MachO, p, len);
    }
    let (e, wide) = match magic {
        0xfeed_face => (Endian { little: false }, false),
        0xfeed_facf => (Endian { little: false }, true),
        0xcefa_edfe => (Endian { little: true }, false),
        0xcffa_edfe => (Endian { little: true }, true),
        _ => return None,
    };
    let filetype = e.u32(d, p + 12)?;
    if !cpu_ok(e.u32(d, p + 4)?) || !(1..=12).contains(&filetype) {
        return None;
    }
    let ncmds = e.u32(d, p + 16)? as usize;
    let mut cmd = p + if wide { 32 } else { 28 };
    let mut end = 0u64;
    for _ in 0..ncmds.min(1024) {
        let (Some(kind), Some(size)) = (e.u32(d, cmd), e.u32(d, cmd + 4)) else {
            break;
        };
        let seg = match kind {
            0x19 => e.u64(d, cmd + 40).zip(e.u64(d, cmd + 48)),
            0x01 => e.u32(d, cmd + 32).zip(e.u32(d, cmd + 36)).map(|(o, s)| (o as u64, s as u64)),
            _ => None,
        };
        if let Some((off, sz)) = seg {
            end = end.max(off.saturating_add(sz));
        }
        if size < 8 {
            break;
        }
        cmd += size as usize;
    }
    let len = usize::try_from(end).ok().filter(|&l| l > 0 && l <= d.len() - p);
    Ident::new(K::MachO, p, len)
}

/// A Java class file: `CAFEBABE`, a class-file major version (45 = JDK 1.1 … 70) and a constant
/// pool whose first entry has a defined tag (fat Mach-O shares the magic with a small count).
pub fn java_class(d: &[u8], p: usize) -> Option<Ident> {
    let ok = be32(d, p)? == 0xcafe_babe
        && (45..=80).contains(&be16(d, p + 6)?)
        && be16(d, p + 8)? > 1
        && matches!(*d.get(p + 10)?, 1 | 3..=12 | 15..=20);
    ok.then_some(Ident { kind: K::JavaClass, begin: p, len: None })
}

/// A WebAssembly module: `\0asm`, version 1, then sections of known ids with LEB128 sizes.
pub fn wasm(d: &[u8], p: usize) -> Option<Ident> {
    if !starts_with_at(d, p, b"\0asm\x01\0\0\0") {
        return None;
    }
    let mut q = p + 8;
    let mut sections = 0;
    while let Some(&id) = d.get(q) {
        let Some((size, n)) = leb128(d, q + 1).filter(|_| id <= 13) else { break };
        match (q + 1 + n).checked_add(size) {
            Some(end) if end <= d.len() => q = end,
            _ => break,
        }
        sections += 1;
    }
    (sections > 0).then(|| Ident { kind: K::Wasm, begin: p, len: Some(q - p) })
}

fn leb128(d: &[u8], p: usize) -> Option<(usize, usize)> {
    let mut v = 0usize;
    for i in 0..5 {
        let b = *d.get(p + i)?;
        v |= ((b & 0x7f) as usize) << (7 * i);
        if b & 0x80 == 0 {
            return Some((v, i + 1));
        }
    }
    None
}

/// A Dalvik executable: `dex\n0NN\0`, a 0x70-byte header, the little-endian tag and its size.
pub fn dex(d: &[u8], p: usize) -> Option<Ident> {
    let h = slice(d, p, 0x70)?;
    let ok = &h[..5] == b"dex\n0"
        && h[5..7].iter().all(u8::is_ascii_digit)
        && h[7] == 0
        && le32(h, 36)? == 0x70
        && le32(h, 40)? == 0x1234_5678;
    let len = super::archive::bounded(d, p, le32(h, 32)? as usize);
    ok.then_some(Ident { kind: K::Dex, begin: p, len })
}

/// A Windows shortcut (MS-SHLLINK): header size 0x4C and the ShellLink class id.
pub fn lnk(d: &[u8], p: usize) -> Option<Ident> {
    let ok = starts_with_at(d, p, b"\x4c\0\0\0\x01\x14\x02\0\0\0\0\0\xc0\0\0\0\0\0\0\x46");
    ok.then_some(Ident { kind: K::Lnk, begin: p, len: None })
}
