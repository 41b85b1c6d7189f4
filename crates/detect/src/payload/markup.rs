//! Text payloads: PHP openers, active HTML, and JavaScript (which has no magic bytes).
use super::*;

/// PHP openers and the HTML elements that make a page active.
pub fn markup(d: &[u8], p: usize) -> Option<Ident> {
    let after = |n: usize| d.get(p + n).copied();
    let sep = |b: Option<u8>| b.is_none_or(|b| b.is_ascii_whitespace() || b == b'>' || b == b'/');
    if starts_with_ci(d, p, b"<?php") && sep(after(5)) {
        return Ident::new(K::Php, p, Some(text_run(d, p)));
    }
    // The short echo tag is only three bytes: code must follow it and close it (or run to the end).
    if starts_with_at(d, p, b"<?=") {
        let run = &d[p..p + text_run(d, p)];
        let closed = memchr::memmem::find(run, b"?>").is_some_and(|c| c > 3);
        let code = run.len() >= 8 && run[3..].iter().take(16).all(|b| b.is_ascii_graphic() || *b == b' ');
        if code && (closed || p + run.len() == d.len()) {
            return Ident::new(K::Php, p, Some(run.len()));
        }
    }
    // An SVG document (its namespace, or an XML prolog before it) is SVG; an `<svg onload>` tag
    // in a page is HTML.
    let svg_at = if starts_with_ci(d, p, b"<?xml") {
        let head = slice(d, p, 512).or_else(|| d.get(p..)).unwrap_or_default();
        memchr::memmem::find(head, b"<svg").map(|i| p + i)
    } else {
        Some(p)
    };
    if let Some(at) = svg_at.filter(|&at| starts_with_ci(d, at, b"<svg") && sep(d.get(at + 4).copied())) {
        let tag = slice(d, at, 256).or_else(|| d.get(at..)).unwrap_or_default();
        let tag = &tag[..memchr::memchr(b'>', tag).unwrap_or(tag.len())];
        if memchr::memmem::find(tag, b"xmlns").is_some() {
            return Ident::new(K::Svg, p, Some(text_run(d, p)));
        }
    }
    if starts_with_ci(d, p, b"<!doctype html") {
        return Ident::new(K::Html, p, Some(text_run(d, p)));
    }
    for tag in [&b"<html"[..], b"<script", b"<iframe", b"<body", b"<object", b"<embed", b"<svg"] {
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

/// Short text that reads like a script: one call or property that only JavaScript writes, with
/// code punctuation. `alert(document.domain)` after a GIF is 23 bytes; prose rarely passes.
pub fn looks_like_short_script(text: &[u8]) -> bool {
    const CALLS: [&[u8]; 16] = [
        b"alert(",
        b"eval(",
        b"atob(",
        b"fetch(",
        b"fromCharCode(",
        b"Function(",
        b"setTimeout(",
        b"setInterval(",
        b"prompt(",
        b"confirm(",
        b"require(",
        b"import(",
        b"document.",
        b"window.",
        b"location.",
        b".src=",
    ];
    let punctuation = text.iter().filter(|b| matches!(b, b'(' | b')' | b'{' | b'}' | b';' | b'=')).count();
    let hits = CALLS.iter().filter(|k| memchr::memmem::find(text, k).is_some()).count();
    hits >= 1 && punctuation >= 2 && punctuation * 16 >= text.len() && text.contains(&b')')
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
