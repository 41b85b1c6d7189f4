//! Structural walkers: one per picture format. Each finds where the picture really ends and which
//! of its own bytes could hold something else (private chunks, comments, unreferenced gaps).
use crate::report::{PayloadKind, PicType};

pub mod bmp;
pub mod gif;
pub mod ico;
pub mod isobmff;
pub mod jpeg;
pub mod png;
pub mod riff;
pub mod tiff;

/// How much of a region the detector looks into: payloads hide at the start of private data, and
/// bounding the look keeps a hostile file with a gigabyte comment linear and cheap.
pub const REGION_SCAN_LIMIT: usize = 16 << 20;

/// What an element's name says it holds, which decides how its bytes are judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// Private, unknown or free-text content (private chunks, unknown APPn, comments): judged by
    /// content; random-looking data is foreign.
    Private,
    /// Well-known binary metadata whose layout is not checked here (Photoshop, MPF, JUMBF): its
    /// tables can mimic any signature, so only markup is looked for.
    Metadata,
    /// An Exif TIFF structure; what its IFDs do not account for is judged.
    Tiff,
    /// An XMP packet (XML); what follows the packet is judged.
    Xmp,
    /// An ICC profile (`acsp`) of its declared size; the rest is judged.
    Icc,
    /// A zlib stream (IDAT, zTXt, iCCP); what follows its end is judged.
    Zlib,
    /// A Ducky segment's records (JPEG APP12).
    Ducky,
    /// Photoshop image resource blocks (JPEG APP13).
    Resources,
    /// GIF NETSCAPE2.0/ANIMEXTS1.0 loop sub-blocks: fixed sizes; anything else is judged.
    Loop,
    /// Vendor data with a layout of its own (a named APPn), or what a JPEG skipped to resynchronise
    /// (entropy-coded data among it): recognised payloads only.
    Opaque,
}

/// Bytes inside the picture that are not pixels: each is judged by what its name claims.
#[derive(Debug, Clone)]
pub struct Region {
    /// File ranges `[start, end)` that together form one logical stream (a payload split over
    /// several PNG chunks or GIF sub-blocks is one region).
    pub ranges: Vec<(usize, usize)>,
    /// The structural unit, for the finding's location (`chunk prVt`, `APP1`, `comment`...).
    pub unit: String,
    /// A gap the structure does not account for, rather than a named unit.
    pub gap: bool,
    pub claim: Claim,
}

impl Region {
    pub fn unit(ranges: Vec<(usize, usize)>, unit: impl Into<String>) -> Region {
        Region::claimed(ranges, unit, Claim::Private)
    }
    pub fn claimed(ranges: Vec<(usize, usize)>, unit: impl Into<String>, claim: Claim) -> Region {
        Region { ranges, unit: unit.into(), gap: false, claim }
    }
    pub fn gap(start: usize, end: usize, claim: Claim) -> Region {
        Region { ranges: vec![(start, end)], unit: String::new(), gap: true, claim }
    }
}

/// The outcome of walking one picture.
#[derive(Debug, Clone, Default)]
pub struct Walk {
    /// One past the last byte that belongs to the picture.
    pub end: usize,
    /// The structure broke off (cut short, or bytes that cannot be this format).
    pub truncated: bool,
    /// When the structure broke inside a unit whose length could not be trusted, payloads may start
    /// before `end`: the search begins here.
    pub scan_from: Option<usize>,
    pub regions: Vec<Region>,
    /// Ranges after `end` that the picture declares as its own (MPF images, gain maps).
    pub declared_images: Vec<(usize, usize)>,
    /// The picture declares an appended video (Google/Samsung motion photo).
    pub motion_photo: bool,
    /// Unreferenced bytes are normal for this format (TIFF): only random-looking ones are `Unknown`.
    pub orphans_expected: bool,
    /// A camera's own file (a TIFF-based raw with a maker note or DNG private data): its vendor
    /// blocks are reached by offsets we do not follow, so only recognised payloads count outside
    /// what we measured.
    pub vendor_layout: bool,
    /// The picture says it is one of several (a JPEG with an MPF index): pictures of its kind that
    /// follow are its own even where the index is corrupt.
    pub multi_picture: bool,
}

/// At most this many regions are kept per picture, so a file of a million empty private chunks
/// costs no more memory than a normal one; payloads hide in the first units anyway.
pub const MAX_REGIONS: usize = 4096;

/// Holes up to this size between referenced extents are alignment, not room for a payload.
const GAP_SLACK: usize = 16;

impl Walk {
    pub fn add(&mut self, r: Region) {
        if self.regions.len() < MAX_REGIONS {
            self.regions.push(r);
        }
    }

    /// For formats that reference their data by offset (TIFF, ICO, HEIF): records a gap region for
    /// every hole between `extents` and returns the end of the furthest one.
    pub fn add_gaps(&mut self, extents: &mut [(usize, usize)], claim: Claim) -> usize {
        extents.sort_unstable();
        let mut covered = 0;
        for &(s, e) in extents.iter() {
            if s > covered + GAP_SLACK {
                self.add(Region::gap(covered, s, claim));
            }
            covered = covered.max(e);
        }
        covered
    }
}

/// The container type from the first bytes.
pub fn sniff_container(d: &[u8]) -> PicType {
    if d.starts_with(b"\xff\xd8\xff") {
        PicType::Jpg
    } else if d.starts_with(png::SIGNATURE) {
        PicType::Png
    } else if d.starts_with(b"GIF87a") || d.starts_with(b"GIF89a") {
        PicType::Gif
    } else if d.len() >= 12 && &d[..4] == b"RIFF" && &d[8..12] == b"WEBP" {
        PicType::Webp
    } else if bmp::looks_like(d) {
        PicType::Bmp
    } else if tiff::looks_like(d) {
        PicType::Tiff
    } else if ico::looks_like(d) {
        PicType::Ico
    } else {
        isobmff::pic_type(d).unwrap_or(PicType::Unknown)
    }
}

pub fn walk(t: PicType, d: &[u8]) -> Walk {
    match t {
        PicType::Jpg => jpeg::walk(d),
        PicType::Png => png::walk(d),
        PicType::Gif => gif::walk(d),
        PicType::Webp => riff::walk(d),
        PicType::Bmp => bmp::walk(d),
        PicType::Tiff => tiff::walk(d),
        PicType::Ico => ico::walk(d),
        PicType::Heic | PicType::Avif => isobmff::walk(d),
        PicType::Unknown => Walk::default(),
    }
}

/// A picture starting at `d[0]`, strictly (used for appended and embedded pictures): its kind and
/// structural length.
pub fn sniff_image(d: &[u8]) -> Option<(PayloadKind, usize)> {
    let t = sniff_container(d);
    let kind = match t {
        PicType::Jpg if d.len() > 4 && d[3] >= 0xc0 && d[3] != 0xff => PayloadKind::Jpeg,
        PicType::Png if d.get(12..16) == Some(b"IHDR") => PayloadKind::Png,
        PicType::Gif => PayloadKind::Gif,
        PicType::Webp => PayloadKind::Webp,
        PicType::Bmp => PayloadKind::Bmp,
        PicType::Tiff => PayloadKind::Tiff,
        PicType::Ico => PayloadKind::Ico,
        PicType::Heic => PayloadKind::Heic,
        PicType::Avif => PayloadKind::Avif,
        _ => return None,
    };
    let w = if t == PicType::Jpg { jpeg::walk_strict(d) } else { walk(t, d) };
    // A picture that breaks off at once is a coincidence of magic bytes, not a picture.
    (w.end > 16 && !(w.truncated && w.end < 64)).then_some((kind, w.end))
}
