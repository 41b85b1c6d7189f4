//! PNG and APNG: the chunk sequence up to IEND. Private chunks are searched; consecutive chunks of
//! one private type form one region, so a payload split across them is found whole.
use super::{Claim, Region, Walk};
use crate::bytes::*;
use crate::claims::{zlib_end, Zlib};

pub const SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

/// The IEND chunk as every encoder writes it (length 0, type, CRC).
const IEND: &[u8] = b"\0\0\0\0IEND\xae\x42\x60\x82";

/// Chunks whose content is palette or fixed-size parameters: a script written into their numbers
/// is all that could hide there.
const PLAIN: &[&[u8; 4]] = &[
    b"IHDR", b"PLTE", b"tRNS", b"cHRM", b"gAMA", b"sBIT", b"sRGB", b"cICP", b"mDCV", b"mDCv", b"cLLI",
    b"cLLi", b"bKGD", b"hIST", b"pHYs", b"sPLT", b"tIME", b"acTL", b"fcTL", b"oFFs", b"pCAL", b"sCAL",
    b"sTER", b"iDOT", b"CgBI", b"vpAg", b"orNT", b"gIFg", b"dSIG",
];

/// Chunks up to this size get their CRC checked.
const CRC_CHECK_LIMIT: u32 = 1 << 20;

pub fn walk(d: &[u8]) -> Walk {
    let mut w = Walk::default();
    let mut p = SIGNATURE.len();
    let mut last_data: Option<usize> = None;
    let mut idat: Vec<(usize, usize)> = Vec::new();
    loop {
        let (Some(len), Some(ty)) = (be32(d, p), slice(d, p + 4, 4)) else {
            w.end = d.len().min(p);
            w.truncated = true;
            w.scan_from = last_data.or(Some(p));
            return w;
        };
        let data_start = p + 8;
        let data_end = data_start + len as usize;
        if !ty.iter().all(u8::is_ascii_alphabetic) || len > 0x7fff_ffff || data_end + 4 > d.len() {
            // Not a chunk, or one cut short: a payload may begin inside the previous chunk's data
            // (a truncated IDAT) or right here.
            // A well-formed chunk cut off by the end of the file: the picture is truncated and every
            // byte left is its data.
            let named = ty.iter().all(u8::is_ascii_alphabetic);
            // A named chunk whose length was overwritten (impossible, or running past an IEND that
            // still closes the file): its header is structure, its data not.
            let past_iend = ty != b"IDAT" && d.ends_with(IEND);
            let forged = named && (len > 0x7fff_ffff || (data_end + 4 > d.len() && past_iend));
            let cut_short = named && !forged && data_end + 4 > d.len();
            w.end = if cut_short {
                d.len()
            } else if forged {
                data_start
            } else {
                p
            };
            w.truncated = true;
            w.scan_from = Some(if cut_short || forged { data_start } else { last_data.unwrap_or(p) });
            return w;
        }
        let ty: [u8; 4] = ty.try_into().unwrap_or_default();
        if &ty == b"IEND" {
            w.end = data_end + 4;
            after_image_stream(&mut w, d, &idat);
            return w;
        }
        if &ty == b"IDAT" {
            idat.push((data_start, data_end));
        } else if len > 0 {
            let before_header = p == SIGNATURE.len() && &ty != b"IHDR";
            chunk_region(&mut w, &ty, data_start, &d[data_start..data_end], before_header);
        }
        // CRCs of everything but pixel data (which decoders check anyway, and which is most of the
        // bytes): a mismatch marks the structure corrupt.
        if !matches!(&ty, b"IDAT" | b"fdAT") && len <= CRC_CHECK_LIMIT && !w.truncated {
            let crc = be32(d, data_end).unwrap_or(0);
            w.truncated = crc32(&d[p + 4..data_end]) != crc;
        }
        last_data = Some(data_start);
        p = data_end + 4;
    }
}

/// The region a chunk's data forms, judged by what its type claims.
fn chunk_region(w: &mut Walk, ty: &[u8; 4], start: usize, data: &[u8], before_header: bool) {
    let name = format!("chunk {}", String::from_utf8_lossy(ty));
    let end = start + data.len();
    let after_keyword = |extra: usize| memchr::memchr(0, data).map(|k| start + k + 1 + extra);
    let (from, claim) = match ty {
        _ if before_header => (Some(start), Claim::Private),
        b"fdAT" => return, // APNG frames: pixels
        _ if PLAIN.contains(&ty) => (Some(start), Claim::Metadata),
        b"zTXt" | b"iCCP" => (after_keyword(1), Claim::Zlib),
        b"eXIf" => (Some(start), Claim::Tiff),
        b"iTXt" => {
            // keyword, compression flag and method, language tag, translated keyword, text
            let flag = after_keyword(0).map(|k| (k, data.get(k - start).copied().unwrap_or(0)));
            let text = flag.and_then(|(k, _)| {
                let lang = memchr::memchr(0, data.get(k + 2 - start..)?)? + k + 3;
                Some(memchr::memchr(0, data.get(lang - start..)?)? + lang + 1)
            });
            let xmp = data.starts_with(b"XML:com.adobe.xmp\0");
            match flag {
                Some((_, 1)) => (text, Claim::Zlib),
                _ if xmp => (text, Claim::Xmp),
                _ => (Some(start), Claim::Private),
            }
        }
        b"tEXt" => (after_keyword(0), Claim::Private),
        _ => {
            // A private stream split over consecutive chunks of one type is one region.
            match w.regions.last_mut() {
                Some(r) if r.unit == name && r.ranges.last().is_some_and(|l| l.1 + 12 == start) => {
                    r.ranges.push((start, end))
                }
                _ => w.add(Region::unit(vec![(start, end)], name)),
            }
            return;
        }
    };
    let from = from.unwrap_or(start).min(end);
    w.add(Region::claimed(vec![(from, end)], name, claim));
}

/// IDAT data after the image's zlib stream has ended is not the picture's: it is judged. Encoders
/// cut the stream into chunks of one size with a shorter last one; only when the chunks break that
/// pattern (a short chunk followed by more) is the stream inflated to find its end, since inflating
/// every PNG would cost more than reading it.
fn after_image_stream(w: &mut Walk, d: &[u8], idat: &[(usize, usize)]) {
    let size = |&(s, e): &(usize, usize)| e - s;
    let regular = match idat.split_last() {
        Some((last, [first, rest @ ..])) => {
            rest.iter().all(|c| size(c) == size(first)) && size(last) <= size(first)
        }
        _ => true,
    };
    if regular {
        return;
    }
    let Zlib::Ended(mut left) = zlib_end(idat.iter().map(|&(s, e)| &d[s..e])) else { return };
    let mut rest = Vec::new();
    for &(s, e) in idat {
        if left >= e - s {
            left -= e - s;
            continue;
        }
        rest.push((s + left, e));
        left = 0;
    }
    if !rest.is_empty() {
        w.add(Region::claimed(rest, "chunk IDAT", Claim::Private));
    }
}

/// Whether `d[from..]` holds the remains of an older PNG (a shorter file written over a longer one
/// without truncating it): a CRC-valid chunk chain that ends with IEND at the end of the file.
pub fn remains(d: &[u8], from: usize) -> bool {
    if !d.ends_with(IEND) {
        return false;
    }
    let tail = d.get(from..).unwrap_or_default();
    // Bounded work: a few starting points, and CRCs over at most 64 MiB in all.
    let mut budget = 64usize << 20;
    memchr::memmem::find_iter(tail, b"IDAT").take(8).any(|i| {
        let mut p = from + i - 4.min(i);
        for _ in 0..4096 {
            let (Some(len), Some(ty)) = (be32(d, p), slice(d, p + 4, 4)) else { return false };
            let end = p + 12 + len as usize;
            budget = match budget.checked_sub(len as usize) {
                Some(b) if end <= d.len() => b,
                _ => return false,
            };
            if be32(d, end - 4) != Some(crc32(&d[p + 4..end - 4])) {
                return false;
            }
            if ty == b"IEND" {
                return end == d.len();
            }
            p = end;
        }
        false
    })
}
