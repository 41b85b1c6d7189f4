//! One unit of the picture's structure: check that it holds what its name claims, look for markup
//! in what the claim accounts for, and judge the rest by its content.
use std::borrow::Cow;

use crate::claims::{self, Zlib};
use crate::formats::{Claim, Region, REGION_SCAN_LIMIT};
use crate::judge::{jpeg_remains, judge, Hit, Unexplained};
use crate::report::{Finding, Location};
use crate::scan::markup_in;

/// A region's ranges as one logical stream, with the way back to file offsets.
struct Stream<'a> {
    bytes: Cow<'a, [u8]>,
    /// (logical start, file start) of each range.
    map: Vec<(usize, usize)>,
}

impl<'a> Stream<'a> {
    fn new(d: &'a [u8], ranges: &[(usize, usize)]) -> Stream<'a> {
        if let [(start, end)] = *ranges {
            let end = end.min(d.len()).min(start.saturating_add(REGION_SCAN_LIMIT));
            let bytes = Cow::Borrowed(d.get(start..end).unwrap_or_default());
            return Stream { bytes, map: vec![(0, start)] };
        }
        let mut joined = Vec::new();
        let mut map = Vec::new();
        for &(s, e) in ranges {
            if joined.len() >= REGION_SCAN_LIMIT || e > d.len() || s > e {
                break;
            }
            map.push((joined.len(), s));
            joined.extend_from_slice(&d[s..e]);
        }
        Stream { bytes: Cow::Owned(joined), map }
    }

    fn to_file(&self, logical: usize) -> usize {
        let i = self.map.partition_point(|&(l, _)| l <= logical).saturating_sub(1);
        self.map.get(i).map_or(logical, |&(l, f)| f + (logical - l))
    }
}

/// Payloads inside one structural region of the picture.
pub fn region_findings(d: &[u8], region: &Region, out: &mut Vec<Finding>) {
    let location = if region.gap { Location::Gap } else { Location::Inside(region.unit.clone()) };
    let s = Stream::new(d, &region.ranges);
    let b = &s.bytes[..];
    if b.is_empty() {
        return;
    }
    let mut how = if region.claim == Claim::Opaque { Unexplained::Ignore } else { Unexplained::Foreign };
    let accounted = match region.claim {
        Claim::Private | Claim::Opaque => compressed(b),
        Claim::Metadata => b.len(),
        // Editors that shrink a thumbnail leave the old one's bytes behind the new structure.
        Claim::Tiff => match claims::tiff_extent(b) {
            Some(e) if jpeg_remains(&b[e..]) => {
                how = Unexplained::Ignore;
                e
            }
            Some(e) => e,
            None => 0,
        },
        Claim::Xmp => claims::xmp_extent(b).unwrap_or(0),
        Claim::Icc => claims::icc_extent(b).unwrap_or(0),
        Claim::Zlib => match claims::deflate_end(b) {
            Zlib::Ended(e) => e,
            Zlib::Invalid => 0,
            Zlib::Unfinished => b.len(),
        },
        Claim::Loop => claims::loop_extent(b),
        Claim::Ducky => claims::ducky_extent(b),
        Claim::Resources => claims::resources_extent(b),
    };
    let mut hits: Vec<Hit> = markup_in(b, 0, accounted);
    hits.extend(judge(b, accounted, b.len(), how, true));
    for h in hits {
        out.push(Finding {
            begin: s.to_file(h.begin) as u64,
            end: s.to_file(h.end.max(h.begin + 1) - 1) as u64,
            kind: h.kind,
            location: location.clone(),
            declared: false,
            confidence: h.confidence,
        });
    }
}

/// Private data that is one zlib stream (an editor's compressed document) is accounted for up to
/// the stream's end: compressed bytes look random but are not foreign.
fn compressed(b: &[u8]) -> usize {
    if !claims::zlib_header(b) {
        return 0;
    }
    match claims::zlib_end([b]) {
        Zlib::Ended(e) => e,
        Zlib::Unfinished => b.len(),
        Zlib::Invalid => 0,
    }
}
