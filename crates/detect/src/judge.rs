//! Judging bytes that should not hold another file (a private chunk, a comment, what is left over
//! after a metadata structure, the bytes after the picture): recognised payloads first, then what
//! no signature explains, by its content.
use crate::bytes::mostly_text;
use crate::payload::{looks_like_javascript, looks_like_short_script, text_run, Ident};
use crate::report::{Confidence, PayloadKind};
use crate::scan::first_payload;

/// A separator of at most this many bytes directly before a recognised payload belongs to that
/// payload's finding (a polyglot tool's filler, or the partial packet a mid-stream cut leaves).
pub const SEPARATOR_MAX: usize = 256;

/// Random-looking data shorter than this is not judged: too few bytes to tell noise from tables.
pub const MIN_RANDOM_LEN: usize = 128;

/// A finding in the judged slice's own offsets; `end` is exclusive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hit {
    pub begin: usize,
    pub end: usize,
    pub kind: PayloadKind,
    pub confidence: Confidence,
}

/// How unexplained bytes (no signature) are judged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unexplained {
    /// Inside a private element: only clearly foreign (random-looking) data is reported.
    Foreign,
    /// After the picture: 32 non-padding bytes or more are `Unknown` (Tencent's reading).
    Trailing,
    /// Vendor data, editors' orphans, a broken picture's pixels: only recognised payloads count.
    Ignore,
}

/// Findings in `d[from..to]`. Pictures are accounted for, not reported, when `skip_images`.
pub fn judge(d: &[u8], from: usize, to: usize, unexplained: Unexplained, skip_images: bool) -> Vec<Hit> {
    let to = to.min(d.len());
    let mut out = Vec::new();
    let mut p = from;
    while p < to {
        let next = first_payload(d, p, to, p, false);
        let junk_end = next.map_or(to, |id| id.begin.max(p));
        let merged = next
            .filter(|id| !id.kind.is_image() && unexplained != Unexplained::Ignore)
            .and_then(|id| separator(d, p, id.begin));
        if merged.is_none() {
            unexplained_bytes(d, p, junk_end, unexplained, &mut out);
        }
        let Some(id) = next else { break };
        let end = ident_end(d, &id).max(id.begin + 1);
        if !(skip_images && id.kind.is_image()) {
            let begin = merged.unwrap_or(id.begin);
            out.push(Hit { begin, end, kind: id.kind, confidence: Confidence::Certain });
        }
        if id.len.is_none() {
            break;
        }
        p = end;
    }
    out
}

/// The first byte of a short binary separator in `d[from..at)` directly before a payload (text
/// before it, a line break or a `Comment\0` keyword, is not filler).
fn separator(d: &[u8], from: usize, at: usize) -> Option<usize> {
    let span = d.get(from..at)?;
    let first = span.iter().position(|&b| b != 0 && b != 0xff)?;
    let sep = span.get(first..).filter(|s| s.len() <= SEPARATOR_MAX)?;
    let printable = sep.iter().filter(|b| b.is_ascii_graphic() || b.is_ascii_whitespace()).count();
    (printable * 4 < sep.len() * 3).then_some(from + first)
}

/// Bytes in `d[from..to)` that no signature explains.
fn unexplained_bytes(d: &[u8], from: usize, to: usize, how: Unexplained, out: &mut Vec<Hit>) {
    if from >= to || how == Unexplained::Ignore {
        return;
    }
    // Writers pad with 0x00 and, some cameras and flash cards, with 0xFF: neither is data.
    let padding = |b: &u8| *b == 0 || *b == 0xff;
    let span = &d[from..to];
    let Some(first) = span.iter().position(|b| !padding(b)) else { return };
    let last = span.iter().rposition(|b| !padding(b)).unwrap_or(first);
    let (begin, end) = (from + first, from + last + 1);
    let body = &d[begin..end];
    let head = &body[..body.len().min(4096)];
    // A script up to the first binary byte (a chunk's CRC may follow it).
    let run = &body[..text_run(body, 0).min(4096)];
    if !mostly_text(head) && run.len() >= 8 && (looks_like_javascript(run) || looks_like_short_script(run)) {
        out.push(Hit {
            begin,
            end: begin + run.len(),
            kind: PayloadKind::JavaScript,
            confidence: Confidence::Likely,
        });
        return;
    }
    if mostly_text(head) {
        if looks_like_javascript(head) || looks_like_short_script(head) {
            let len = text_run(d, begin).min(to - begin).max(1);
            out.push(Hit {
                begin,
                end: begin + len,
                kind: PayloadKind::JavaScript,
                confidence: Confidence::Likely,
            });
        } else if how == Unexplained::Trailing && body.len() >= crate::UNKNOWN_TRAILER_THRESHOLD as usize {
            out.push(Hit { begin, end: to, kind: PayloadKind::Unknown, confidence: Confidence::Possible });
        }
        return;
    }
    // A name or label written before random bytes (`[picture info]`) is not the foreign part.
    let label = body.iter().take_while(|b| b.is_ascii_graphic() || **b == b' ').count();
    let label = if label >= 8 && random_looking(&body[label..]) { label } else { 0 };
    let random = label > 0 || random_looking(body);
    let long_enough = body.len() >= crate::UNKNOWN_TRAILER_THRESHOLD as usize;
    match how {
        Unexplained::Foreign if random => {
            let begin = begin + label;
            out.push(Hit { begin, end, kind: PayloadKind::Unknown, confidence: Confidence::Likely })
        }
        Unexplained::Trailing if long_enough => {
            let confidence = if random { Confidence::Likely } else { Confidence::Possible };
            out.push(Hit { begin, end: to, kind: PayloadKind::Unknown, confidence });
        }
        _ => {}
    }
}

/// Whether `d` reads like compressed or encrypted data: at least [`MIN_RANDOM_LEN`] bytes whose
/// byte entropy is within a small margin of what random data of that length shows.
pub fn random_looking(d: &[u8]) -> bool {
    if d.len() < MIN_RANDOM_LEN {
        return false;
    }
    // A bounded sample keeps huge regions cheap: the head and the tail.
    const HALF: usize = 32 << 10;
    let mut counts = [0u32; 256];
    let (a, b) = if d.len() > 2 * HALF { (&d[..HALF], &d[d.len() - HALF..]) } else { (d, &d[..0]) };
    for &x in a.iter().chain(b) {
        counts[x as usize] += 1;
    }
    let n = (a.len() + b.len()) as f64;
    let entropy: f64 = counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = c as f64 / n;
            -p * p.log2()
        })
        .sum();
    // The plug-in estimate of random bytes falls short of 8 bits by about 255 / (2 n ln 2).
    let expected = 8.0 - 255.0 / (2.0 * n * std::f64::consts::LN_2);
    entropy >= expected - 0.3
}

/// An [`Ident`]'s end, exclusive, clamped to `d`.
pub fn ident_end(d: &[u8], id: &Ident) -> usize {
    id.len.map_or(d.len(), |l| id.begin + l.max(1)).min(d.len())
}

/// Whether random-looking bytes are the remains of JPEG entropy-coded data (an old thumbnail an
/// editor left behind): its encoder stuffs every 0xFF with 0x00 or follows it by a restart or
/// image marker, so most 0xFF bytes are followed by those, or 0xFF is rarer than in random bytes.
pub fn jpeg_remains(d: &[u8]) -> bool {
    let (mut ff, mut stuffed) = (0usize, 0usize);
    for i in memchr::memchr_iter(0xff, d) {
        ff += 1;
        stuffed += usize::from(matches!(d.get(i + 1), Some(0x00 | 0xd0..=0xd9)));
    }
    (ff >= 2 && stuffed * 2 >= ff) || (d.len() >= 2048 && ff * 1024 <= d.len())
}
