//! Video, audio and container signatures: MPEG-TS (188/192/204), ISO-BMFF (MP4/MOV/fMP4, and
//! HEIC/AVIF by brand), FLV, Matroska/WebM, RIFF (AVI/WAV/WebP), MP3, AAC ADTS, OGG, FLAC.
use super::*;

pub fn mpeg_ts(d: &[u8], sync: usize, lower: usize) -> Option<Ident> {
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
pub fn m2ts(d: &[u8], p: usize) -> Option<Ident> {
    let len = ts_run(d, p.checked_add(4)?, 192)?;
    Ident::new(K::MpegTs, p, Some(len))
}

/// Length of the run of `pkt`-byte packets with a sync byte at `sync`. Needs at least two packets
/// (eight where the data has them: a chance match in random data is then ~2^-56), each with the
/// transport-error bit clear and a defined adaptation-field control, and not all alike (periodic
/// tables and text repeat; a real stream's headers and payloads change from packet to packet).
pub fn ts_run(d: &[u8], sync: usize, pkt: usize) -> Option<usize> {
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

pub fn brand_kind(d: &[u8], p: usize, size: usize) -> PayloadKind {
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

pub fn iso_bmff(d: &[u8], p: usize) -> Option<Ident> {
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

pub fn flv(d: &[u8], p: usize) -> Option<Ident> {
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
pub fn vint(d: &[u8], p: usize) -> Option<(u64, usize)> {
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

pub fn matroska(d: &[u8], p: usize) -> Option<Ident> {
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

pub fn riff(d: &[u8], p: usize) -> Option<Ident> {
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

pub fn id3(d: &[u8], p: usize) -> Option<Ident> {
    let h = slice(d, p, 10)?;
    let ok = &h[..3] == b"ID3"
        && (2..=4).contains(&h[3])
        && h[4] != 0xff
        && h[5] & 0x0f == 0
        && h[6..10].iter().all(|&b| b < 0x80);
    ok.then_some(Ident { kind: K::Mp3, begin: p, len: None })
}

/// Reads one audio frame header: its length and the header bits that must not change.
type FrameReader<K> = fn(&[u8], usize) -> Option<(usize, K)>;

/// Three consecutive audio frames whose headers agree (`frame` gives length and the header bits
/// that must stay fixed) and whose contents differ: periodic data (pixels of one colour) repeats a
/// valid-looking header at the frame length, compressed audio does not repeat its frames.
fn three_frames<K: PartialEq>(d: &[u8], p: usize, frame: FrameReader<K>) -> bool {
    let Some((l1, k1)) = frame(d, p) else { return false };
    let Some((l2, k2)) = frame(d, p + l1) else { return false };
    let Some((_, k3)) = frame(d, p + l1 + l2) else { return false };
    k1 == k2 && k2 == k3 && slice(d, p + 4, 28) != slice(d, p + l1 + 4, 28)
}

/// Three consecutive MPEG-1/2 audio frames with consistent headers.
pub fn mpeg_audio(d: &[u8], p: usize) -> Option<Ident> {
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
    three_frames(d, p, frame).then_some(Ident { kind: K::Mp3, begin: p, len: None })
}

/// Three consecutive AAC ADTS frames.
pub fn adts(d: &[u8], p: usize) -> Option<Ident> {
    fn frame(d: &[u8], q: usize) -> Option<(usize, u8)> {
        let h = slice(d, q, 7)?;
        if h[0] != 0xff || h[1] & 0xf6 != 0xf0 || (h[2] >> 2) & 0x0f >= 13 {
            return None;
        }
        let len = (((h[3] & 3) as usize) << 11) | ((h[4] as usize) << 3) | (h[5] as usize >> 5);
        (len >= 7).then_some((len, h[2] & 0xfc))
    }
    three_frames(d, p, frame).then_some(Ident { kind: K::Aac, begin: p, len: None })
}

pub fn ogg(d: &[u8], p: usize) -> Option<Ident> {
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

pub fn flac(d: &[u8], p: usize) -> Option<Ident> {
    let ok = starts_with_at(d, p, b"fLaC") && d.get(p + 4)? & 0x7f == 0 && be32(d, p + 4)? & 0xff_ffff == 34;
    ok.then_some(Ident { kind: K::Flac, begin: p, len: None })
}
