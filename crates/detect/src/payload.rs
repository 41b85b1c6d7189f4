//! Recognising a payload that starts at a given offset, strictly enough that random image data
//! almost never passes (a bare 2- or 4-byte magic is never enough), and measuring its extent where
//! the format allows. Offsets are absolute in `d`; `lower` is the first offset a payload may start
//! at (some signatures sit after the payload's first byte: M2TS timestamps, box sizes, tar names).
use crate::bytes::*;
use crate::formats;
use crate::report::PayloadKind;
use crate::report::PayloadKind as K;

/// A recognised payload: kind, first byte, and length when the format tells where it ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ident {
    pub kind: PayloadKind,
    pub begin: usize,
    pub len: Option<usize>,
}

impl Ident {
    fn new(kind: PayloadKind, begin: usize, len: Option<usize>) -> Option<Ident> {
        Some(Ident { kind, begin, len })
    }
}

/// Whether the byte pair `a b` can open (or sit at a fixed place in) a recognised signature. The
/// scanner calls [`identify_candidate`] only at such pairs: on random data about 0.5% of offsets
/// instead of the 13% a single-byte filter would pass.
const fn pair_can_start(a: u8, b: u8) -> bool {
    match a {
        0x47 => true,                            // MPEG-TS sync (any PID), GIF
        b'f' => matches!(b, b't' | b'L' | b'r'), // ftyp, fLaC, free
        b'm' => matches!(b, b'o' | b'd'),        // moov, moof, mdat
        b's' => matches!(b, b't' | b'k'),        // styp, skip
        b'w' => b == b'i',                       // wide
        b'F' => b == b'L',
        0x1a => b == 0x45,
        b'R' => matches!(b, b'I' | b'a'),
        b'I' => matches!(b, b'D' | b'I'),
        b'M' => matches!(b, b'Z' | b'M'),
        0xff => b == 0xd8 || b >= 0xe0, // JPEG, MPEG audio and ADTS frame sync
        b'O' => b == b'g',
        b'P' => b == b'K',
        b'7' => b == b'z',
        0x1f => b == 0x8b,
        b'B' => matches!(b, b'Z' | b'M'),
        0xfd => b == b'7',
        0x28 => b == 0xb5,
        b'u' => b == b's', // ustar, 257 bytes into a tar header
        b'%' => b == b'P',
        0x7f => b == b'E',
        0xfe => b == 0xed,
        0xce | 0xcf => b == 0xfa,
        0xca => b == 0xfe,
        b'<' => matches!(b.to_ascii_lowercase(), b'?' | b'!' | b'h' | b's' | b'i' | b'b' | b'o' | b'e'),
        0x89 => b == b'P',
        0x01 | 0x02 => b == 0x00, // the second half of an ICO/CUR header
        _ => false,
    }
}

/// [`pair_can_start`] as a table indexed by `a << 8 | b`.
pub static CANDIDATE_PAIR: [bool; 65536] = {
    let mut t = [false; 65536];
    let mut i = 0;
    while i < 65536 {
        t[i] = pair_can_start((i >> 8) as u8, i as u8);
        i += 1;
    }
    t
};

/// Try every signature that the byte at `p` may belong to.
pub fn identify_candidate(d: &[u8], p: usize, lower: usize) -> Option<Ident> {
    let b = d[p];
    match b {
        0x47 => mpeg_ts(d, p, lower).or_else(|| image(d, p)),
        b'f' | b'm' | b's' | b'w' if p >= lower + 4 => iso_bmff(d, p - 4).or_else(|| flac(d, p)),
        b'f' => flac(d, p),
        b'u' if p >= lower + 257 => tar(d, p - 257),
        0x01 | 0x02 if p >= lower + 2 => image(d, p - 2),
        _ => identify(d, p),
    }
}

/// Recognise a payload starting exactly at `p`.
pub fn identify(d: &[u8], p: usize) -> Option<Ident> {
    let b0 = *d.get(p)?;
    match b0 {
        0x47 => mpeg_ts(d, p, p).or_else(|| image(d, p)),
        0x00 => iso_bmff(d, p).or_else(|| image(d, p)).or_else(|| tar(d, p)),
        b'F' => flv(d, p),
        0x1a => matroska(d, p),
        b'R' => riff(d, p).or_else(|| rar(d, p)),
        b'I' => id3(d, p).or_else(|| image(d, p)),
        b'M' => pe(d, p).or_else(|| image(d, p)),
        0xff => image(d, p).or_else(|| adts(d, p)).or_else(|| mpeg_audio(d, p)),
        b'O' => ogg(d, p),
        b'f' => flac(d, p),
        b'P' => zip(d, p),
        b'7' => seven_zip(d, p),
        0x1f => gzip(d, p),
        b'B' => bzip2(d, p).or_else(|| image(d, p)),
        0xfd => xz(d, p),
        0x28 => zstd(d, p),
        b'%' => pdf(d, p),
        0x7f => elf(d, p),
        0xfe | 0xce | 0xcf | 0xca => mach_o(d, p),
        b'<' => markup(d, p),
        0x89 => image(d, p),
        _ => None,
    }
    .or_else(|| tar(d, p))
    .or_else(|| m2ts(d, p))
}

fn mpeg_ts(d: &[u8], sync: usize, lower: usize) -> Option<Ident> {
    for pkt in [188usize, 204] {
        if let Some(len) = ts_run(d, sync, pkt) {
            return Ident::new(K::MpegTs, sync, Some(len));
        }
    }
    if sync >= lower + 4 {
        if let Some(len) = ts_run(d, sync, 192) {
            return Ident::new(K::MpegTs, sync - 4, Some(len));
        }
    }
    None
}

/// M2TS (192-byte packets): 4 bytes of timestamp precede each sync byte.
fn m2ts(d: &[u8], p: usize) -> Option<Ident> {
    let len = ts_run(d, p.checked_add(4)?, 192)?;
    Ident::new(K::MpegTs, p, Some(len))
}

/// Length of the run of `pkt`-byte packets with a sync byte at `sync`. Needs at least two packets
/// (eight where the data has them: a chance match in random data is then ~2^-56), each with the
/// transport-error bit clear and a defined adaptation-field control, and not all alike (periodic
/// tables and text repeat; a real stream's headers and payloads change from packet to packet).
fn ts_run(d: &[u8], sync: usize, pkt: usize) -> Option<usize> {
    let head = if pkt == 192 { 4 } else { 0 };
    let avail = (d.len() - sync.min(d.len())) / pkt;
    let need = avail.min(8);
    if need < 2 {
        return None;
    }
    let mut n = 0;
    while sync + n * pkt < d.len() && d[sync + n * pkt] == 0x47 {
        if n < need {
            let h = slice(d, sync + n * pkt, 4)?;
            if h[1] & 0x80 != 0 || h[3] & 0x30 == 0 {
                return None;
            }
        }
        n += 1;
    }
    if n < need {
        return None;
    }
    let packet = |i: usize| slice(d, sync + i * pkt, pkt - head);
    let text = packet(0).is_some_and(|p| p.iter().all(|b| b.is_ascii_graphic() || b.is_ascii_whitespace()));
    if text || (1..need).all(|i| packet(i) == packet(0)) {
        return None;
    }
    Some((n * pkt).min(d.len() - (sync - head)))
}

fn printable4(t: &[u8]) -> bool {
    t.len() == 4 && t.iter().all(|&c| c.is_ascii_alphanumeric() || c == b' ' || c == b'-')
}

/// Length of the chain of plausible ISO-BMFF boxes starting at `p`.
pub fn box_chain(d: &[u8], p: usize) -> usize {
    let mut q = p;
    while let Some((size, _)) = box_header(d, q) {
        if size == 0 {
            return d.len() - p;
        }
        match q.checked_add(size) {
            Some(end) if end <= d.len() => q = end,
            _ => return d.len() - p,
        }
    }
    q - p
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

fn brand_kind(d: &[u8], p: usize, size: usize) -> PayloadKind {
    let mut kind = K::Mp4;
    let mut q = p + 8;
    while q + 4 <= p + size && q + 4 <= d.len() {
        match &d[q..q + 4] {
            b"avif" | b"avis" => return K::Avif,
            b"heic" | b"heix" | b"heim" | b"heis" | b"hevc" | b"hevx" | b"mif1" | b"msf1" => kind = K::Heic,
            _ => {}
        }
        q += if q == p + 8 { 8 } else { 4 }; // skip minor_version after major_brand
    }
    kind
}

fn iso_bmff(d: &[u8], p: usize) -> Option<Ident> {
    let (size, ty) = box_header(d, p)?;
    match &ty {
        b"ftyp" | b"styp" => {
            if !(16..=1024).contains(&size) || size % 4 != 0 || !printable4(slice(d, p + 8, 4)?) {
                return None;
            }
            let kind = if &ty == b"ftyp" { brand_kind(d, p, size) } else { K::Mp4 };
            if matches!(kind, K::Heic | K::Avif) {
                let end = formats::isobmff::extent(&d[p..]);
                return Ident::new(kind, p, Some(end));
            }
            Ident::new(kind, p, Some(box_chain(d, p)))
        }
        b"moov" | b"moof" => {
            let (_, child) = box_header(d, p + 8)?;
            let ok = match &ty {
                b"moov" => matches!(&child, b"mvhd" | b"prfl" | b"cmov" | b"trak" | b"udta" | b"meta"),
                _ => &child == b"mfhd",
            };
            ok.then(|| Ident { kind: K::Mp4, begin: p, len: Some(box_chain(d, p)) })
        }
        b"mdat" | b"free" | b"skip" | b"wide" => {
            // Weak alone: accept only when followed by the rest of a movie.
            let next = p.checked_add(size)?;
            let (_, nty) = box_header(d, next)?;
            matches!(&nty, b"moov" | b"mdat" | b"moof" | b"ftyp").then(|| Ident {
                kind: K::Mp4,
                begin: p,
                len: Some(box_chain(d, p)),
            })
        }
        _ => None,
    }
}

fn flv(d: &[u8], p: usize) -> Option<Ident> {
    if !starts_with_at(d, p, b"FLV\x01") || d.get(p + 4)? & 0xfa != 0 || be32(d, p + 5)? != 9 {
        return None;
    }
    // Tags: PreviousTagSize, then type, 24-bit size, timestamp, stream id, data.
    let mut q = p + 9;
    if be32(d, q)? != 0 {
        return None;
    }
    q += 4;
    while let Some(ty) = u8_at(d, q) {
        let Some(size) = be32(d, q).map(|v| (v & 0x00ff_ffff) as usize) else {
            break;
        };
        let end = q + 11 + size;
        if !matches!(ty & 0x1f, 8 | 9 | 18) || be32(d, end) != Some(11 + size as u32) {
            break;
        }
        q = end + 4;
    }
    Ident::new(K::Flv, p, Some(q - p))
}

/// EBML variable-length integer: (value, length). All-ones values mean "unknown size".
fn vint(d: &[u8], p: usize) -> Option<(u64, usize)> {
    let first = *d.get(p)?;
    let len = first.leading_zeros() as usize + 1;
    if len > 8 {
        return None;
    }
    let mut v = (first as u64) & (0xff >> len);
    for i in 1..len {
        v = (v << 8) | *d.get(p + i)? as u64;
    }
    Some((v, len))
}

fn matroska(d: &[u8], p: usize) -> Option<Ident> {
    if !starts_with_at(d, p, b"\x1a\x45\xdf\xa3") {
        return None;
    }
    let (hsize, hlen) = vint(d, p + 4)?;
    let header = slice(d, p + 4 + hlen, (hsize.min(64)) as usize)?;
    let kind = if memchr::memmem::find(header, b"webm").is_some() {
        K::WebM
    } else if memchr::memmem::find(header, b"matroska").is_some() {
        K::Mkv
    } else {
        return None;
    };
    let seg = (p + 4 + hlen).checked_add(usize::try_from(hsize).ok()?)?;
    let len = if starts_with_at(d, seg, b"\x18\x53\x80\x67") {
        vint(d, seg + 4).and_then(|(size, slen)| {
            let unknown = size == (1u64 << (7 * slen)) - 1;
            let end = (seg + 4 + slen).checked_add(usize::try_from(size).ok()?)?;
            (!unknown && end <= d.len()).then_some(end - p)
        })
    } else {
        None
    };
    Ident::new(kind, p, len)
}

fn riff(d: &[u8], p: usize) -> Option<Ident> {
    if !starts_with_at(d, p, b"RIFF") {
        return None;
    }
    let size = le32(d, p + 4)? as usize;
    let kind = match slice(d, p + 8, 4)? {
        b"AVI " | b"AVIX" => K::Avi,
        b"WAVE" => K::Wav,
        b"WEBP" => K::Webp,
        _ => return None,
    };
    if size < 4 || !printable4(slice(d, p + 12, 4).unwrap_or(b"    ")) {
        return None;
    }
    let len = (8 + size + (size & 1)).min(d.len() - p);
    Ident::new(kind, p, Some(len))
}

fn id3(d: &[u8], p: usize) -> Option<Ident> {
    let h = slice(d, p, 10)?;
    let ok = &h[..3] == b"ID3"
        && (2..=4).contains(&h[3])
        && h[4] != 0xff
        && h[5] & 0x0f == 0
        && h[6..10].iter().all(|&b| b < 0x80);
    ok.then_some(Ident { kind: K::Mp3, begin: p, len: None })
}

/// Compressed audio frames differ; periodic data (pixels of one colour) repeats a valid-looking
/// header at the frame length.
fn frames_differ(d: &[u8], a: usize, b: usize) -> bool {
    slice(d, a + 4, 28) != slice(d, b + 4, 28)
}

/// Three consecutive MPEG-1/2 audio frames with consistent headers.
fn mpeg_audio(d: &[u8], p: usize) -> Option<Ident> {
    fn frame(d: &[u8], q: usize) -> Option<(usize, u32)> {
        let h = be32(d, q)?;
        if h >> 21 != 0x7ff {
            return None;
        }
        let version = (h >> 19) & 3; // 0: 2.5, 2: 2, 3: 1
        let layer = (h >> 17) & 3; // 1: III, 2: II, 3: I
        let br_idx = ((h >> 12) & 15) as usize;
        let sr_idx = ((h >> 10) & 3) as usize;
        if version == 1 || layer == 0 || br_idx == 0 || br_idx == 15 || sr_idx == 3 {
            return None;
        }
        const BR_V1: [[u32; 16]; 3] = [
            [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 0],
            [0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384, 0],
            [0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448, 0],
        ];
        const BR_V2: [[u32; 16]; 3] = [
            [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160, 0],
            [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160, 0],
            [0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256, 0],
        ];
        const SR: [[u32; 3]; 4] =
            [[11025, 12000, 8000], [0, 0, 0], [22050, 24000, 16000], [44100, 48000, 32000]];
        let li = (layer - 1) as usize; // 0: III, 1: II, 2: I
        let br = if version == 3 { BR_V1[li][br_idx] } else { BR_V2[li][br_idx] } * 1000;
        let sr = SR[version as usize][sr_idx];
        let pad = (h >> 9) & 1;
        let len = match layer {
            3 => (12 * br / sr + pad) * 4,
            1 if version != 3 => 72 * br / sr + pad,
            _ => 144 * br / sr + pad,
        };
        (len >= 21).then_some((len as usize, h & 0xfffe_0c00))
    }
    let (l1, k1) = frame(d, p)?;
    let (l2, k2) = frame(d, p + l1)?;
    let (_, k3) = frame(d, p + l1 + l2)?;
    (k1 == k2 && k2 == k3 && frames_differ(d, p, p + l1)).then_some(Ident {
        kind: K::Mp3,
        begin: p,
        len: None,
    })
}

/// Three consecutive AAC ADTS frames.
fn adts(d: &[u8], p: usize) -> Option<Ident> {
    fn frame(d: &[u8], q: usize) -> Option<(usize, u8)> {
        let h = slice(d, q, 7)?;
        if h[0] != 0xff || h[1] & 0xf6 != 0xf0 || (h[2] >> 2) & 0x0f >= 13 {
            return None;
        }
        let len = (((h[3] & 3) as usize) << 11) | ((h[4] as usize) << 3) | (h[5] as usize >> 5);
        (len >= 7).then_some((len, h[2] & 0xfc))
    }
    let (l1, k1) = frame(d, p)?;
    let (l2, k2) = frame(d, p + l1)?;
    let (_, k3) = frame(d, p + l1 + l2)?;
    (k1 == k2 && k2 == k3 && frames_differ(d, p, p + l1)).then_some(Ident {
        kind: K::Aac,
        begin: p,
        len: None,
    })
}

fn ogg(d: &[u8], p: usize) -> Option<Ident> {
    fn page(d: &[u8], q: usize) -> Option<usize> {
        if !starts_with_at(d, q, b"OggS\x00") || *d.get(q + 5)? > 7 {
            return None;
        }
        let nseg = *d.get(q + 26)? as usize;
        let body: usize = slice(d, q + 27, nseg)?.iter().map(|&b| b as usize).sum();
        Some(27 + nseg + body)
    }
    let mut q = p + page(d, p)?;
    while let Some(len) = page(d, q) {
        q += len;
    }
    Ident::new(K::Ogg, p, Some(q.min(d.len()) - p))
}

fn flac(d: &[u8], p: usize) -> Option<Ident> {
    let ok = starts_with_at(d, p, b"fLaC") && d.get(p + 4)? & 0x7f == 0 && be32(d, p + 4)? & 0xff_ffff == 34;
    ok.then_some(Ident { kind: K::Flac, begin: p, len: None })
}

fn zip(d: &[u8], p: usize) -> Option<Ident> {
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

fn rar(d: &[u8], p: usize) -> Option<Ident> {
    let v4 = starts_with_at(d, p, b"Rar!\x1a\x07\x00");
    let v5 = starts_with_at(d, p, b"Rar!\x1a\x07\x01\x00");
    (v4 || v5).then_some(Ident { kind: K::Rar, begin: p, len: None })
}

fn seven_zip(d: &[u8], p: usize) -> Option<Ident> {
    if !starts_with_at(d, p, b"7z\xbc\xaf\x27\x1c") || *d.get(p + 6)? != 0 {
        return None;
    }
    let next_off = le64(d, p + 12)?;
    let next_size = le64(d, p + 20)?;
    let len = 32u64.checked_add(next_off)?.checked_add(next_size)?;
    let len = usize::try_from(len).ok().filter(|&l| l <= d.len() - p);
    Ident::new(K::SevenZip, p, len)
}

fn gzip(d: &[u8], p: usize) -> Option<Ident> {
    let h = slice(d, p, 10)?;
    let ok = h[0] == 0x1f
        && h[1] == 0x8b
        && h[2] == 8
        && h[3] & 0xe0 == 0
        && matches!(h[8], 0 | 2 | 4)
        && (h[9] <= 13 || h[9] == 255);
    ok.then_some(Ident { kind: K::Gzip, begin: p, len: None })
}

fn bzip2(d: &[u8], p: usize) -> Option<Ident> {
    let ok = starts_with_at(d, p, b"BZh")
        && (b'1'..=b'9').contains(d.get(p + 3)?)
        && (starts_with_at(d, p + 4, b"\x31\x41\x59\x26\x53\x59")
            || starts_with_at(d, p + 4, b"\x17\x72\x45\x38\x50\x90"));
    ok.then_some(Ident { kind: K::Bzip2, begin: p, len: None })
}

fn xz(d: &[u8], p: usize) -> Option<Ident> {
    if !starts_with_at(d, p, b"\xfd7zXZ\x00") {
        return None;
    }
    let flags = slice(d, p + 6, 2)?;
    let ok = flags[0] == 0 && flags[1] & 0xf0 == 0 && le32(d, p + 8)? == crc32(flags);
    ok.then_some(Ident { kind: K::Xz, begin: p, len: None })
}

/// A Zstandard frame: magic, a frame header with its reserved bit clear, then a first block header
/// of a defined type and a legal size (the magic alone is too short to trust).
fn zstd(d: &[u8], p: usize) -> Option<Ident> {
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

fn octal(field: &[u8]) -> Option<u64> {
    let s = field.iter().skip_while(|&&b| b == b' ').take_while(|&&b| (b'0'..=b'7').contains(&b));
    let mut v: u64 = 0;
    let mut n = 0;
    for &b in s {
        v = v.checked_mul(8)?.checked_add((b - b'0') as u64)?;
        n += 1;
    }
    (n > 0).then_some(v)
}

fn tar_header_ok(h: &[u8]) -> bool {
    let Some(sum) = octal(&h[148..156]) else {
        return false;
    };
    let computed: u64 =
        h.iter().enumerate().map(|(i, &b)| if (148..156).contains(&i) { 32 } else { b as u64 }).sum();
    sum == computed
}

fn tar(d: &[u8], p: usize) -> Option<Ident> {
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

fn pdf(d: &[u8], p: usize) -> Option<Ident> {
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

fn elf(d: &[u8], p: usize) -> Option<Ident> {
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

fn pe(d: &[u8], p: usize) -> Option<Ident> {
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

fn mach_o(d: &[u8], p: usize) -> Option<Ident> {
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

/// PHP openers and the HTML elements that make a page active.
fn markup(d: &[u8], p: usize) -> Option<Ident> {
    let after = |n: usize| d.get(p + n).copied();
    let sep = |b: Option<u8>| b.is_none_or(|b| b.is_ascii_whitespace() || b == b'>' || b == b'/');
    if starts_with_ci(d, p, b"<?php") && sep(after(5)) {
        return Ident::new(K::Php, p, Some(text_run(d, p)));
    }
    // The short echo tag is only three bytes: the code after it must read as text too.
    let code_follows = || {
        let code = slice(d, p, 24).or_else(|| d.get(p..)).unwrap_or_default();
        code.len() > 4 && code.iter().all(|&b| b.is_ascii_graphic() || b.is_ascii_whitespace())
    };
    if starts_with_at(d, p, b"<?=")
        && after(3).is_some_and(|b| b.is_ascii_whitespace() || b == b'$')
        && code_follows()
    {
        return Ident::new(K::Php, p, Some(text_run(d, p)));
    }
    if starts_with_ci(d, p, b"<!doctype html") {
        return Ident::new(K::Html, p, Some(text_run(d, p)));
    }
    for tag in [&b"<html"[..], b"<script", b"<iframe", b"<body", b"<object", b"<embed"] {
        if starts_with_ci(d, p, tag) && sep(after(tag.len())) {
            return Ident::new(K::Html, p, Some(text_run(d, p)));
        }
    }
    None
}

/// Length of the run of text bytes at `p` (text payloads end at the first binary byte).
pub fn text_run(d: &[u8], p: usize) -> usize {
    d[p..].iter().position(|&b| b == 0 || (b < 0x09) || (b > 0x0d && b < 0x20)).unwrap_or(d.len() - p)
}

/// A region that is text and reads like a script: JavaScript has no magic bytes. Needs two tokens
/// that other languages rarely write (Perl, PHP and Vim script share `=>`, `let`, `return`,
/// `function`, and `===` underlines headings), so other files are not taken for JavaScript.
pub fn looks_like_javascript(text: &[u8]) -> bool {
    const SPECIFIC: [&[u8]; 13] = [
        b"function(",
        b"document.",
        b"window.",
        b"XMLHttpRequest",
        b"fetch(",
        b"console.",
        b"addEventListener",
        b"innerHTML",
        b"createElement",
        b".prototype",
        b"!==",
        b"module.exports",
        b"JSON.",
    ];
    // Code is dense in brackets and semicolons; prose that names `window.` twice is not.
    let punctuation = text.iter().filter(|b| matches!(b, b'(' | b')' | b'{' | b'}' | b';' | b'=')).count();
    punctuation * 25 >= text.len()
        && SPECIFIC.iter().filter(|k| memchr::memmem::find(text, k).is_some()).count() >= 2
}

/// Another picture starting at `p`, with its structural extent.
fn image(d: &[u8], p: usize) -> Option<Ident> {
    let (kind, len) = formats::sniff_image(&d[p..])?;
    Ident::new(kind, p, Some(len))
}

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
