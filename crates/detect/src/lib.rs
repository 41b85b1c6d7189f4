//! Stowaway's detector: given the bytes of one object, find where the picture really ends and what
//! else the file carries.
//!
//! The crate is pure (no I/O, no async, no allocation proportional to the input beyond the findings),
//! so the worker, the synchronous API and `stowaway scan` all call the same code. It works on a byte
//! slice because TIFF and ISO-BMFF reference data by absolute offsets anywhere in the file; callers
//! that must keep memory bounded memory-map the object (see `ARCHITECTURE.md`).

mod bytes;
mod claims;
mod formats;
mod inspect;
mod judge;
mod payload;
mod region;
mod report;
mod scan;
mod trailer;

pub use inspect::inspect;
pub use report::{Confidence, Finding, Location, PayloadKind, PicType, Report};

/// The detector's generation: raised by every change that finds more or flags less, so that
/// objects judged by an older one can be found again (the `stowaway-detector` object tag).
pub const DETECTOR_VERSION: u32 = 1;

/// Trailing bytes after the picture that are neither zero padding nor a recognised payload are
/// reported as [`PayloadKind::Unknown`] once they are at least this long. Shorter runs are treated as
/// structural slack (editors append `\r\n`, a stray `\0`, or a few bytes of alignment).
pub const UNKNOWN_TRAILER_THRESHOLD: u64 = 32;
