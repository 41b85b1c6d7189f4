//! Hostile input: mutated pictures (truncated, bit-flipped, lengths overwritten, bytes inserted)
//! must never panic, and every finding must lie inside the input. `cargo fuzz` (see README) explores
//! further; this deterministic pass keeps the property in the ordinary test run.
use stowaway_detect::{inspect, Confidence, PayloadKind};

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn png_chunk(out: &mut Vec<u8>, ty: &[u8], data: &[u8]) {
    out.extend((data.len() as u32).to_be_bytes());
    out.extend(ty);
    out.extend(data);
    out.extend([0; 4]);
}

fn seeds() -> Vec<Vec<u8>> {
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png_chunk(&mut png, b"IHDR", &[0, 0, 0, 1, 0, 0, 0, 1, 8, 2, 0, 0, 0]);
    png_chunk(&mut png, b"prVt", b"PK\x03\x04\x14\x00\x00\x00\x08\x00abcdefghijklmnop\x01\x00\x00\x00x");
    png_chunk(&mut png, b"IDAT", &[0x78, 0x9c, 0x63, 0, 0, 0, 1, 0, 1]);
    png_chunk(&mut png, b"IEND", &[]);
    let jpeg = [
        &[0xff, 0xd8, 0xff, 0xe1, 0, 8, b'E', b'x', b'i', b'f', 0, 0][..],
        &[0xff, 0xe2, 0, 14, b'M', b'P', b'F', 0, b'I', b'I', 42, 0, 8, 0, 0, 0],
        &[0xff, 0xc0, 0, 11, 8, 0, 1, 0, 1, 1, 1, 0x11, 0],
        &[0xff, 0xda, 0, 8, 1, 1, 0, 0, 63, 0, 0x12, 0xff, 0, 0x34, 0xff, 0xd0, 0x56],
        &[0xff, 0xd9],
    ]
    .concat();
    let gif = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff\x21\xfe\x03abc\x00\x2c\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02\x44\x01\x00\x3b".to_vec();
    let tiff = b"II*\x00\x08\x00\x00\x00\x02\x00\x11\x01\x04\x00\x01\x00\x00\x00\x26\x00\x00\x00\x17\x01\x04\x00\x01\x00\x00\x00\x04\x00\x00\x00\x00\x00\x00\x00abcd".to_vec();
    let mut heif = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic".to_vec();
    heif.extend(b"\x00\x00\x00\x22meta\x00\x00\x00\x00\x00\x00\x00\x16iloc\x00\x00\x00\x00\x44\x00\x00\x01\x00\x01\x00\x00");
    let mut ts = Vec::new();
    for _ in 0..4 {
        ts.push(0x47);
        ts.extend([0u8; 187]);
    }
    let bmp = [
        &b"BM\x3a\0\0\0\0\0\0\0\x36\0\0\0\x28\0\0\0\x01\0\0\0\x01\0\0\0\x01\0\x18\0\0\0\0\0\x04\0\0\0"[..],
        &[0; 16],
        &[1, 2, 3, 0],
    ]
    .concat();
    vec![png, jpeg, gif, tiff, heif, ts, bmp, claimed_png(), claimed_jpeg(), claimed_webp(), claimed_gif()]
}

fn zlib(data: &[u8]) -> Vec<u8> {
    miniz_oxide::deflate::compress_to_vec_zlib(data, 6)
}

/// A PNG whose metadata the detector checks against its claims: zTXt, iCCP, a real IDAT stream,
/// then an IDAT after the stream's end.
fn claimed_png() -> Vec<u8> {
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png_chunk(&mut png, b"IHDR", &[0, 0, 0, 2, 0, 0, 0, 2, 8, 0, 0, 0, 0]);
    png_chunk(&mut png, b"zTXt", &[b"Comment\0\0".as_slice(), &zlib(b"a comment, compressed")].concat());
    png_chunk(&mut png, b"iCCP", &[b"icc\0\0".as_slice(), &zlib(&icc())].concat());
    png_chunk(&mut png, b"IDAT", &zlib(&[0, 1, 2, 0, 3, 4]));
    png_chunk(&mut png, b"IDAT", b"\x47after the stream");
    png_chunk(&mut png, b"IEND", &[]);
    png
}

/// A 132-byte ICC profile header with its signature.
fn icc() -> Vec<u8> {
    let mut p = vec![0u8; 132];
    p[..4].copy_from_slice(&132u32.to_be_bytes());
    p[36..40].copy_from_slice(b"acsp");
    p
}

fn segment(marker: u8, data: &[u8]) -> Vec<u8> {
    [&[0xff, marker][..], &((data.len() + 2) as u16).to_be_bytes(), data].concat()
}

/// A JPEG with Exif (a TIFF IFD), ICC, Ducky and Photoshop segments.
fn claimed_jpeg() -> Vec<u8> {
    let tiff = b"II*\0\x08\0\0\0\x01\0\x0f\x01\x02\0\x04\0\0\0abc\0\0\0\0\0";
    let ps = b"Photoshop 3.0\08BIM\x04\x04\0\0\0\0\0\x04abcd";
    [
        &[0xff, 0xd8][..],
        &segment(0xe1, &[b"Exif\0\0".as_slice(), tiff].concat()),
        &segment(0xe2, &[b"ICC_PROFILE\0\x01\x01".as_slice(), &icc()].concat()),
        &segment(0xec, b"Ducky\0\x01\0\x04\0\0\0\x50\0\0"),
        &segment(0xed, ps),
        &segment(0xc0, &[8, 0, 1, 0, 1, 1, 1, 0x11, 0]),
        &segment(0xda, &[1, 1, 0, 0, 63, 0]),
        &[0x12, 0xff, 0, 0x34, 0xff, 0xd9],
    ]
    .concat()
}

/// An extended WebP with EXIF, XMP and ICCP chunks.
fn claimed_webp() -> Vec<u8> {
    let chunk = |ty: &[u8], data: &[u8]| {
        [ty, &(data.len() as u32).to_le_bytes(), data, &vec![0; data.len() & 1]].concat()
    };
    let body = [
        b"WEBP".as_slice(),
        &chunk(b"VP8X", &[0x2c, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
        &chunk(b"ICCP", &icc()),
        &chunk(b"VP8L", &[0x2f, 0, 0, 0, 0, 0x07, 0x10]),
        &chunk(b"EXIF", b"II*\0\x08\0\0\0\0\0"),
        &chunk(b"XMP ", b"<x:xmpmeta xmlns:x='adobe:ns:meta/'/>"),
    ]
    .concat();
    [b"RIFF".as_slice(), &(body.len() as u32).to_le_bytes(), &body].concat()
}

/// A GIF with a loop extension and raw XMP closed by its magic trailer.
fn claimed_gif() -> Vec<u8> {
    let ramp: Vec<u8> = std::iter::once(1).chain((0..=255u8).rev()).chain([0]).collect();
    [
        b"GIF89a\x01\0\x01\0\0\0\0".as_slice(),
        b"\x21\xff\x0bNETSCAPE2.0\x03\x01\0\0\0",
        b"\x21\xff\x0bXMP DataXMP<x:xmpmeta/>",
        &ramp,
        b"\x2c\0\0\0\0\x01\0\x01\0\0\x02\x02\x44\x01\0\x3b",
    ]
    .concat()
}

#[test]
fn mutated_inputs_never_panic_and_stay_in_bounds() {
    let mut rng = Rng(0x5eed_1234_abcd_ef01);
    let seeds = seeds();
    for i in 0..60_000 {
        let mut d = seeds[i % seeds.len()].clone();
        for _ in 0..1 + rng.below(4) {
            match rng.below(5) {
                0 => d.truncate(rng.below(d.len() + 1)),
                1 if !d.is_empty() => {
                    let at = rng.below(d.len());
                    d[at] = rng.next() as u8;
                }
                2 if d.len() >= 4 => {
                    // Overwrite a would-be length field with an extreme value.
                    let at = rng.below(d.len() - 3);
                    let v = [0u32, 1, 0xffff_ffff, 0x7fff_ffff, 8, 16][rng.below(6)];
                    d[at..at + 4].copy_from_slice(&v.to_be_bytes());
                }
                3 => {
                    let at = rng.below(d.len() + 1);
                    let other = &seeds[rng.below(seeds.len())];
                    d.splice(at..at, other.iter().copied());
                }
                _ => d.extend((0..rng.below(64)).map(|_| rng.next() as u8)),
            }
        }
        let r = inspect(&d);
        assert_eq!(r.pic_size, d.len() as u64);
        assert!(r.image_end <= r.pic_size, "image_end past the input: {d:?}");
        for f in &r.findings {
            assert!(f.begin <= f.end && f.end < r.pic_size, "finding out of bounds {f:?} in {d:?}");
        }
        assert!(r.findings.windows(2).all(|w| w[0].begin <= w[1].begin), "findings not in file order");
    }
}

/// Inputs that once broke the detector (found by `cargo fuzz`), kept so they never do again.
#[test]
fn fuzz_regressions() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/regressions");
    let mut n = 0;
    for entry in std::fs::read_dir(dir).expect("regressions dir") {
        let d = std::fs::read(entry.unwrap().path()).unwrap();
        let r = inspect(&d);
        assert!(r.image_end <= r.pic_size);
        assert!(r.findings.iter().all(|f| f.begin <= f.end && f.end < r.pic_size));
        n += 1;
    }
    assert!(n > 0);
}

/// Random bytes where the detector searches (a private PNG chunk, a truncated JPEG's entropy data)
/// must not look like a payload: a false alarm rate budget in bytes, not in files.
#[test]
fn random_data_in_searched_places_is_not_a_payload() {
    let mut rng = Rng(0x0dd5_eed5_0123_4567);
    let noise: Vec<u8> = (0..16 << 20).map(|_| (rng.next() >> 32) as u8).collect();

    let mut png = seeds()[0].clone();
    png.truncate(33);
    png_chunk(&mut png, b"prVt", &noise);
    png_chunk(&mut png, b"IEND", &[]);
    // Random data in a private chunk is foreign (an encrypted segment), but no signature inside it
    // may match by chance: one `Unknown` over the whole chunk, nothing else.
    let r = inspect(&png);
    let data = (41u64, 41 + noise.len() as u64 - 1);
    let one_unknown = matches!(&r.findings[..], [f] if f.kind == PayloadKind::Unknown
        && (f.begin, f.end) == data && f.confidence == Confidence::Likely);
    assert!(one_unknown, "random private chunk: {:?}", r.findings);

    let mut jpeg = seeds()[1].clone();
    let sos = jpeg.windows(2).position(|w| w == [0xff, 0xda]).unwrap();
    jpeg.truncate(sos + 10);
    jpeg.extend(noise.iter().flat_map(|&b| if b == 0xff { vec![0xff, 0x00] } else { vec![b] }));
    let r = inspect(&jpeg);
    assert!(r.truncated && r.findings.is_empty(), "truncated JPEG flagged: {:?}", r.findings);
}

/// The seeds whose metadata holds what it claims are clean: the claims account for every byte.
#[test]
fn metadata_that_holds_its_claims_is_clean() {
    for (name, d) in
        [("png", claimed_png()), ("jpeg", claimed_jpeg()), ("webp", claimed_webp()), ("gif", claimed_gif())]
    {
        let r = inspect(&d);
        // (This file's PNG chunks carry zero CRCs, so the PNG reads as corrupt, not suspicious.)
        assert!(!r.suspicious() && (name == "png" || !r.truncated), "{name}: {r:?}");
    }
}

/// Random bytes in an APPn segment: foreign without a name or behind a text segment's name, the
/// vendor's own behind any other name (README, "Named APPn segments").
#[test]
fn random_bytes_in_app_segments_are_judged_by_the_segment_name() {
    let mut rng = Rng(0xa5a5_0001_0203_0405);
    let noise: Vec<u8> = (0..4096).map(|_| (rng.next() >> 24) as u8).collect();
    let jpeg = |marker: u8, name: &[u8]| {
        let base = claimed_jpeg();
        [&base[..2], &segment(marker, &[name, &noise].concat()), &base[2..]].concat()
    };
    let unknown_at = |d: &[u8]| inspect(d).primary().map(|f| (f.kind, f.begin));
    assert_eq!(unknown_at(&jpeg(0xec, b"")), Some((PayloadKind::Unknown, 6)), "no name");
    assert_eq!(unknown_at(&jpeg(0xec, b"[picture info]")), Some((PayloadKind::Unknown, 20)));
    assert_eq!(unknown_at(&jpeg(0xe5, b"NVDA00")), None, "a vendor's name");
}

/// A file split over consecutive COM segments is one stream: an ISO 9660 image whose volume
/// descriptor lands in the third segment is still found, from its first byte.
#[test]
fn a_file_split_over_consecutive_segments_is_found_whole() {
    let mut iso = vec![0u8; 0x8000];
    iso.extend(b"\x01CD001\x01");
    iso.resize(0x8800, 0x20);
    let base = claimed_jpeg();
    let coms: Vec<u8> = iso.chunks(0x3000).flat_map(|c| segment(0xfe, c)).collect();
    let d = [&base[..2], &coms, &base[2..]].concat();
    let r = inspect(&d);
    assert_eq!(r.primary().map(|f| (f.kind, f.begin)), Some((PayloadKind::Iso, 6)), "{r:?}");
}

/// Random bytes after a TIFF are `Unknown`, unless the TIFF is a camera's file (a maker note or DNG
/// private data): raw formats reach enciphered vendor blocks by offsets of their own.
#[test]
fn random_bytes_after_a_tiff_count_unless_it_is_a_camera_file() {
    let mut rng = Rng(0x7777_0001_0203_0405);
    let noise: Vec<u8> = (0..4096).map(|_| (rng.next() >> 24) as u8).collect();
    let tiff = |maker_note: bool| {
        let n: u16 = if maker_note { 4 } else { 3 };
        let strip = 8 + 2 + 12 * n as u32 + 4;
        let mut t = b"II*\0\x08\0\0\0".to_vec();
        t.extend(n.to_le_bytes());
        for (tag, ty, value) in [(256u16, 3u16, 1u32), (273, 4, strip), (279, 4, 4)] {
            t.extend(tag.to_le_bytes());
            t.extend(ty.to_le_bytes());
            t.extend(1u32.to_le_bytes());
            t.extend(value.to_le_bytes());
        }
        if maker_note {
            t.extend(b"\x7c\x92\x07\0\x04\0\0\0abcd");
        }
        t.extend([0; 4]); // no next IFD
        t.extend([1, 2, 3, 4]); // the strip
        [t, noise.clone()].concat()
    };
    let edited = inspect(&tiff(false));
    assert_eq!(edited.primary().map(|f| f.kind), Some(PayloadKind::Unknown), "{edited:?}");
    let camera = inspect(&tiff(true));
    assert!(!camera.suspicious(), "{camera:?}");
}
