//! Whether metadata holds what its name says: how many of its bytes an Exif TIFF structure, an XMP
//! packet, an ICC profile, loop sub-blocks or a zlib stream account for. What is left over is
//! judged like private data, so a TS behind `Exif\0\0` or an IDAT after the image stream shows.
use miniz_oxide::inflate::core::{decompress, inflate_flags, DecompressorOxide};
use miniz_oxide::inflate::TINFLStatus;

use crate::bytes::*;
use crate::formats::tiff;

/// Bytes of an Exif TIFF structure at `b[0]`: the furthest byte its IFDs reference; `None` when
/// there is no TIFF header with a plausible first IFD.
pub fn tiff_extent(b: &[u8]) -> Option<usize> {
    if !tiff::looks_like(b) {
        return None;
    }
    let e = Endian { little: b[0] == b'I' };
    let big = e.u16(b, 2) == Some(43);
    let first = if big { e.u64(b, 8)? } else { e.u32(b, 4)? as u64 };
    let first = usize::try_from(first).ok().filter(|&f| f >= 8 && f < b.len())?;
    let entries = if big { e.u64(b, first)? } else { e.u16(b, first)? as u64 };
    if entries == 0 || entries > 1024 {
        return None;
    }
    Some(tiff::walk(b).end.min(b.len()))
}

/// Bytes of an XMP packet at `b[0]`: through `<?xpacket end=…?>` (or the closing `x:xmpmeta`)
/// and the whitespace after it. `None` when the body is not XML text.
pub fn xmp_extent(b: &[u8]) -> Option<usize> {
    if b.starts_with(b"\xfe\xff") || b.starts_with(b"\xff\xfe") {
        return Some(b.len()); // UTF-16 XMP: rare, and not text by our byte test
    }
    let lead = b.iter().take_while(|c| c.is_ascii_whitespace() || **c == 0).count();
    let xml = b.get(lead..).is_some_and(|h| h.starts_with(b"<") || h.starts_with(b"\xef\xbb\xbf<"));
    if !xml {
        return None;
    }
    let close = if let Some(at) = memchr::memmem::rfind(b, b"<?xpacket end") {
        memchr::memmem::find(&b[at..], b"?>").map(|e| at + e + 2)
    } else {
        [&b"</x:xmpmeta>"[..], b"</x:xapmeta>", b"</rdf:RDF>"]
            .iter()
            .find_map(|t| memchr::memmem::rfind(b, t).map(|at| at + t.len()))
    };
    let Some(close) = close else {
        return mostly_text(b).then_some(b.len()); // an extended-XMP part: text throughout
    };
    if !mostly_text(&b[..close.min(4096)]) {
        return None;
    }
    let pad = b[close..].iter().take_while(|c| c.is_ascii_whitespace()).count();
    Some(close + pad)
}

/// Bytes of an ICC profile at `b[0]`: its declared size, when it carries the `acsp` signature.
pub fn icc_extent(b: &[u8]) -> Option<usize> {
    let size = be32(b, 0)? as usize;
    (starts_with_at(b, 36, b"acsp") && size >= 132).then_some(size.min(b.len()))
}

/// Bytes of a Ducky segment's records (Photoshop's "Save for Web": tag, length, data; tag 0 ends).
pub fn ducky_extent(b: &[u8]) -> usize {
    let mut p = 0;
    while let (Some(tag), Some(len)) = (be16(b, p), be16(b, p + 2)) {
        if tag == 0 {
            return p + 2;
        }
        if tag > 16 || p + 4 + len as usize > b.len() {
            break;
        }
        p += 4 + len as usize;
    }
    if be16(b, p) == Some(0) {
        p + 2
    } else {
        p
    }
}

/// Bytes of Photoshop image resource blocks (`8BIM`, id, padded Pascal name, padded data).
pub fn resources_extent(b: &[u8]) -> usize {
    let mut p = 0;
    while slice(b, p, 4).is_some_and(|s| matches!(s, b"8BIM" | b"MeSa" | b"PHUT" | b"AgHg" | b"DCSR")) {
        let Some(&n) = b.get(p + 6) else { break };
        let name = (1 + n as usize + 1) & !1;
        let Some(size) = be32(b, p + 6 + name) else { break };
        let end = (p + 6 + name + 4).saturating_add(size as usize);
        if end > b.len() {
            break;
        }
        p = end + (size as usize & 1);
    }
    p.min(b.len())
}

/// Bytes of GIF loop sub-blocks (joined): sub-block 1 (loop count) and sub-block 2 (buffer size).
pub fn loop_extent(b: &[u8]) -> usize {
    let mut n = 0;
    if b.first() == Some(&1) && b.len() >= 3 {
        n = 3;
    }
    if b.get(n) == Some(&2) && b.len() >= n + 5 {
        n += 5;
    }
    n
}

/// How a zlib stream spread over several slices ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Zlib {
    /// The stream (with its Adler-32) ends this many bytes into the joined slices.
    Ended(usize),
    /// Not a zlib stream, or a corrupt one.
    Invalid,
    /// It ran out of input before its end (a truncated picture), or past the work bound.
    Unfinished,
}

/// The output a stream may produce before we stop following it: bounds time per object.
pub const INFLATE_LIMIT: usize = 256 << 20;

/// Whether `b` starts with a zlib header (deflate, 32 KiB window at most, valid check bits).
pub fn zlib_header(b: &[u8]) -> bool {
    matches!(b, [cmf, flg, ..] if cmf & 0x0f == 8 && cmf >> 4 <= 7 && (u16::from(*cmf) << 8 | u16::from(*flg)) % 31 == 0)
}

/// Follows one zlib stream across `parts` (in order), discarding its output.
pub fn zlib_end<'a>(parts: impl IntoIterator<Item = &'a [u8]>) -> Zlib {
    inflate_end(parts, true)
}

/// A zlib stream, or raw deflate where the header is missing (some writers' iCCP and zTXt).
pub fn deflate_end(b: &[u8]) -> Zlib {
    match inflate_end([b], true) {
        Zlib::Invalid if !zlib_header(b) => inflate_end([b], false),
        z => z,
    }
}

thread_local! {
    /// The inflater's state and 32 KiB window, reused: fresh ones per stream cost page faults on
    /// every PNG with an iCCP chunk.
    static INFLATER: std::cell::RefCell<(Box<DecompressorOxide>, Vec<u8>)> =
        std::cell::RefCell::new((Box::default(), vec![0; 32 << 10]));
}

fn inflate_end<'a>(parts: impl IntoIterator<Item = &'a [u8]>, zlib: bool) -> Zlib {
    INFLATER.with(|cell| match cell.try_borrow_mut() {
        Ok(mut pair) => {
            let (state, window) = &mut *pair;
            state.init();
            follow(parts, zlib, state, window)
        }
        Err(_) => follow(parts, zlib, &mut Box::default(), &mut vec![0; 32 << 10]),
    })
}

fn follow<'a>(
    parts: impl IntoIterator<Item = &'a [u8]>,
    zlib: bool,
    state: &mut DecompressorOxide,
    window: &mut [u8],
) -> Zlib {
    let (mut out_pos, mut produced, mut offset) = (0usize, 0usize, 0usize);
    let mut parts = parts.into_iter().peekable();
    let mut first = true;
    while let Some(part) = parts.next() {
        if first && zlib && !zlib_header(part) {
            return Zlib::Invalid;
        }
        first = false;
        let more = if parts.peek().is_some() { inflate_flags::TINFL_FLAG_HAS_MORE_INPUT } else { 0 };
        let header = if zlib { inflate_flags::TINFL_FLAG_PARSE_ZLIB_HEADER } else { 0 };
        let flags = header | inflate_flags::TINFL_FLAG_IGNORE_ADLER32 | more;
        let mut input = part;
        loop {
            let (status, used, written) = decompress(state, input, window, out_pos, flags);
            input = &input[used..];
            offset += used;
            produced += written;
            out_pos = (out_pos + written) & (window.len() - 1);
            match status {
                TINFLStatus::Done => return Zlib::Ended(offset),
                TINFLStatus::HasMoreOutput if produced < INFLATE_LIMIT => continue,
                TINFLStatus::NeedsMoreInput if more != 0 => break,
                TINFLStatus::HasMoreOutput
                | TINFLStatus::NeedsMoreInput
                | TINFLStatus::FailedCannotMakeProgress => return Zlib::Unfinished,
                _ => return Zlib::Invalid,
            }
        }
    }
    Zlib::Unfinished
}
