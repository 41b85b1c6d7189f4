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
        if let Some(id) = markup(d, from + i) {
            let end = (id.begin + id.len.unwrap_or(1).max(1)).min(to);
            return vec![Hit { begin: id.begin, end, kind: id.kind, confidence: Confidence::Certain }];
        }
    }
    Vec::new()
}

/// The first offset in `w` whose byte pair can open a signature. Sixteen pairs are tested without
/// a branch between them (independent table loads), so candidate-free stretches run at the
/// table's load rate rather than at one branch per byte.
fn next_candidate(w: &[u8]) -> Option<usize> {
    let pair = |i: usize| CANDIDATE_PAIR[(w[i] as usize) << 8 | w[i + 1] as usize];
    let mut base = 0;
    while base + 17 <= w.len() {
        let mut any = false;
        for i in base..base + 16 {
            any |= pair(i);
        }
        if any {
            return (base..base + 16).find(|&i| pair(i));
        }
        base += 16;
    }
    (base..w.len().saturating_sub(1)).find(|&i| pair(i))
}
