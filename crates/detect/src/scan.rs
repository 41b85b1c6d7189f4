//! Searching a span of bytes for the first recognised payload, or for markup alone.
use crate::judge::Hit;
use crate::payload::{identify_candidate, markup, Ident, CANDIDATE_PAIR};
use crate::report::Confidence;

/// The first payload whose signature lies in `d[from..to]` and that starts at or after `lower`.
/// Pictures are skipped when `skip_images` (a thumbnail inside a picture is not hidden data).
pub fn first_payload(d: &[u8], from: usize, to: usize, lower: usize, skip_images: bool) -> Option<Ident> {
    let to = to.min(d.len());
    let mut p = from;
    while p < to {
        // Every signature is at least two bytes long, so the pair may reach one byte past `to`.
        let window = d.get(p..(to + 1).min(d.len()))?;
        p += next_candidate(window)?;
        if let Some(id) = identify_candidate(d, p, lower) {
            if !(skip_images && id.kind.is_image()) {
                return Some(id);
            }
        }
        p += 1;
    }
    None
}

/// The first PHP or HTML in `d[from..to]`: markup is recognised at any length and wherever a
/// structure holds bytes (a web shell in an EXIF field, a script in a JPEG quantisation table).
pub fn markup_in(d: &[u8], from: usize, to: usize) -> Vec<Hit> {
    let to = to.min(d.len());
    if from >= to {
        return Vec::new();
    }
    for i in memchr::memchr_iter(b'<', &d[from..to]) {
        // Every tag we recognise has one of these after `<`: most `<` in binary data stop here.
        let next = d.get(from + i + 1).map_or(0, |b| b.to_ascii_lowercase());
        if !matches!(next, b'?' | b'!' | b'h' | b's' | b'i' | b'b' | b'o' | b'e') {
            continue;
        }
        if let Some(id) = markup(d, from + i) {
            let end = (id.begin + id.len.unwrap_or(1).max(1)).min(to);
            return vec![Hit { begin: id.begin, end, kind: id.kind, confidence: Confidence::Certain }];
        }
    }
    Vec::new()
}

/// The first offset in `w` whose byte pair can open a signature. Eight pairs are looked up per
/// step from one 9-byte load, and the step branches only when one of them is a candidate.
#[inline]
fn next_candidate(w: &[u8]) -> Option<usize> {
    let pair = |a: u8, b: u8| CANDIDATE_PAIR[(a as usize) << 8 | b as usize];
    let mut i = 0;
    while i + 9 <= w.len() {
        let c: &[u8; 9] = w[i..i + 9].try_into().ok()?;
        let hits = (0..8).fold(0u8, |m, k| m | (u8::from(pair(c[k], c[k + 1])) << k));
        if hits != 0 {
            return Some(i + hits.trailing_zeros() as usize);
        }
        i += 8;
    }
    w[i..].windows(2).position(|x| pair(x[0], x[1])).map(|k| i + k)
}
