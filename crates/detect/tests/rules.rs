//! The documented decision rules (README "What counts as suspicious"), one row each, on a tiny
//! valid PNG built here. The corpus test covers real files; this pins the thresholds.
use stowaway_detect::{inspect, Confidence, PayloadKind, UNKNOWN_TRAILER_THRESHOLD};

fn crc32(data: &[u8]) -> u32 {
    let mut c = !0u32;
    for &b in data {
        c ^= b as u32;
        for _ in 0..8 {
            c = if c & 1 != 0 { 0xedb8_8320 ^ (c >> 1) } else { c >> 1 };
        }
    }
    !c
}

fn chunk(out: &mut Vec<u8>, ty: &[u8], data: &[u8]) {
    out.extend((data.len() as u32).to_be_bytes());
    let start = out.len();
    out.extend(ty);
    out.extend(data);
    let crc = crc32(&out[start..]);
    out.extend(crc.to_be_bytes());
}

/// A valid 1x1 RGB PNG (69 bytes).
fn png() -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    chunk(&mut out, b"IHDR", &[0, 0, 0, 1, 0, 0, 0, 1, 8, 2, 0, 0, 0]);
    chunk(&mut out, b"IDAT", &[0x78, 0x9c, 0x63, 0x60, 0x00, 0x02, 0x00, 0x00, 0x05, 0x00, 0x01]);
    chunk(&mut out, b"IEND", &[]);
    out
}

fn noise(n: usize) -> Vec<u8> {
    let mut s = 0x9e37_79b9_7f4a_7c15u64;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            // Printable-free, padding-free bytes so no signature or text rule applies by chance.
            0x80 | ((s >> 33) as u8 & 0x3f)
        })
        .collect()
}

fn zip() -> Vec<u8> {
    let mut z = b"PK\x03\x04\x14\x00\x00\x00\x00\x00\x00\x00\x00\x00".to_vec();
    z.extend([0u8; 12]); // crc, sizes
    z.extend(5u16.to_le_bytes());
    z.extend(0u16.to_le_bytes());
    z.extend(b"a.txt");
    z
}

/// What a shorter PNG leaves of a longer one it was written over: its last IDAT chunk and IEND.
fn tail_of_png() -> Vec<u8> {
    let mut out = Vec::new();
    chunk(&mut out, b"IDAT", &noise(300));
    chunk(&mut out, b"IEND", &[]);
    out
}

/// A PNG whose IDAT bytes spell a PHP short tag, as PNG web shells that survive re-encoding do.
fn shell_in_idat() -> Vec<u8> {
    let mut out = png()[..33].to_vec();
    chunk(&mut out, b"IDAT", b"\x78\x9c<?=$_GET[0]($_POST[1]);?>\x01\x02\x03");
    chunk(&mut out, b"IEND", &[]);
    out
}

/// The primary finding a file must give: `None` = clean.
type Expected = Option<(u64, PayloadKind)>;

fn cases() -> Vec<(&'static str, Vec<u8>, Expected)> {
    let p = png();
    let n = p.len() as u64;
    let t = UNKNOWN_TRAILER_THRESHOLD as usize;
    let cat = |parts: &[&[u8]]| parts.concat();
    vec![
        ("clean", p.clone(), None),
        ("zero padding", cat(&[&p, &[0; 4096]]), None),
        ("0xFF padding", cat(&[&p, &[0xff; 4096]]), None),
        ("slack below the threshold", cat(&[&p, &noise(t - 1)]), None),
        ("junk at the threshold", cat(&[&p, &noise(t)]), Some((n, PayloadKind::Unknown))),
        (
            "junk after zero padding",
            cat(&[&p, &[0; 100], &noise(1000)]),
            Some((n + 100, PayloadKind::Unknown)),
        ),
        ("zip after zero padding", cat(&[&p, &[0; 1000], &zip()]), Some((n + 1000, PayloadKind::Zip))),
        ("zip after slack", cat(&[&p, b"\r\n", &zip()]), Some((n + 2, PayloadKind::Zip))),
        (
            "javascript trailer",
            cat(&[&p, b"(function(){var s=document.createElement('script');})();"]),
            Some((n, PayloadKind::JavaScript)),
        ),
        ("php trailer", cat(&[&p, b"<?php eval($_POST['x']); ?>"]), Some((n, PayloadKind::Php))),
        (
            "plain text is not a script",
            cat(&[&p, b"This picture was exported by a friendly editor, version 12.0.1 build 7"]),
            Some((n, PayloadKind::Unknown)),
        ),
        ("vendor trailer (PhotoMechanic)", cat(&[&p, &noise(500), b"\x00\x00\x01\xf4cbipcbbl"]), None),
        (
            "payload before a vendor trailer",
            cat(&[&p, &zip(), &noise(100), b"\x00\x00\x01\xf4cbipcbbl"]),
            Some((n, PayloadKind::Zip)),
        ),
        ("zip renamed png", zip(), Some((0, PayloadKind::Zip))),
        ("a web shell in IDAT bytes", shell_in_idat(), Some((8 + 25 + 8 + 2, PayloadKind::Php))),
        ("the rest of an older PNG written over", cat(&[&p, &noise(500), &tail_of_png()]), None),
        (
            "junk before a lone IEND is not an older PNG",
            cat(&[&p, &noise(500), &p[p.len() - 12..]]),
            Some((n, PayloadKind::Unknown)),
        ),
        (
            "a binary separator belongs to the payload",
            cat(&[&p, &noise(37), &zip()]),
            Some((n, PayloadKind::Zip)),
        ),
        ("php short tag after the picture", cat(&[&p, b"<?=`$_GET[0]`?>"]), Some((n, PayloadKind::Php))),
        ("27-byte iframe", cat(&[&p, b"<iframe src=//evil.invalid>"]), Some((n, PayloadKind::Html))),
        (
            "30 bytes of javascript",
            cat(&[&p, b";alert(document.domain)//....."]),
            Some((n, PayloadKind::JavaScript)),
        ),
        ("not a picture, nothing recognised", noise(5000), None),
        ("truncated picture, nothing after", p[..40].to_vec(), None),
    ]
}

#[test]
fn documented_rules_hold() {
    let mut failures = Vec::new();
    for (name, file, want) in cases() {
        let r = inspect(&file);
        let got = r.primary().map(|f| (f.begin, f.kind));
        if got != want {
            failures.push(format!("{name}: got {got:?}, want {want:?} ({:?})", r.findings));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn findings_carry_how_sure_the_detector_is() {
    let p = png();
    let junk = inspect(&[&p[..], &noise(UNKNOWN_TRAILER_THRESHOLD as usize)].concat());
    assert_eq!(junk.confidence(), Some(Confidence::Possible), "short unexplained bytes");
    let zip = inspect(&[&p[..], &zip()].concat());
    assert_eq!(zip.confidence(), Some(Confidence::Certain), "a recognised payload");
    let mut private = p[..33].to_vec();
    chunk(
        &mut private,
        b"prVt",
        &noise(4096).iter().enumerate().map(|(i, b)| b ^ (i as u8)).collect::<Vec<_>>(),
    );
    chunk(&mut private, b"IEND", &[]);
    assert_eq!(inspect(&private).confidence(), Some(Confidence::Likely), "random bytes in a private chunk");
}

#[test]
fn png_crc_mismatch_marks_the_structure_corrupt_not_suspicious() {
    let mut p = png();
    assert!(!inspect(&p).truncated);
    let ihdr_crc = 8 + 8 + 13;
    p[ihdr_crc] ^= 0xff;
    let r = inspect(&p);
    assert!(r.truncated, "a bad IHDR CRC is corruption");
    assert!(!r.suspicious(), "corruption alone is not a payload");
}
