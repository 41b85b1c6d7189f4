//! What the detector reports: Tencent's fields plus every finding.
use std::fmt;

/// The container type of the inspected object, spelled as Tencent's `PicType`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PicType {
    Jpg,
    Png,
    Gif,
    Webp,
    Bmp,
    Tiff,
    Heic,
    Avif,
    Ico,
    Unknown,
}

impl PicType {
    pub fn as_str(self) -> &'static str {
        match self {
            PicType::Jpg => "jpg",
            PicType::Png => "png",
            PicType::Gif => "gif",
            PicType::Webp => "webp",
            PicType::Bmp => "bmp",
            PicType::Tiff => "tiff",
            PicType::Heic => "heic",
            PicType::Avif => "avif",
            PicType::Ico => "ico",
            PicType::Unknown => "unknown",
        }
    }
}

impl fmt::Display for PicType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a hidden payload is. `as_str` gives the `SuspiciousType` spelling (`MPEG-TS` as Tencent).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PayloadKind {
    MpegTs,
    Mp4,
    Flv,
    Mkv,
    WebM,
    Avi,
    Mp3,
    Aac,
    Ogg,
    Flac,
    Wav,
    Zip,
    Rar,
    SevenZip,
    Gzip,
    Bzip2,
    Xz,
    Zstd,
    Tar,
    Pdf,
    Elf,
    Pe,
    MachO,
    Php,
    Html,
    JavaScript,
    Jpeg,
    Png,
    Gif,
    Webp,
    Bmp,
    Tiff,
    Heic,
    Avif,
    Ico,
    Cab,
    Arj,
    JavaClass,
    Wasm,
    Svg,
    PostScript,
    Rtf,
    Lz4,
    Iso,
    Lnk,
    Cpio,
    Ar,
    Dicom,
    Pcap,
    Swf,
    Ole,
    Sqlite,
    Dex,
    Unknown,
}

impl PayloadKind {
    pub fn as_str(self) -> &'static str {
        use PayloadKind::*;
        match self {
            MpegTs => "MPEG-TS",
            Mp4 => "MP4",
            Flv => "FLV",
            Mkv => "MKV",
            WebM => "WebM",
            Avi => "AVI",
            Mp3 => "MP3",
            Aac => "AAC",
            Ogg => "OGG",
            Flac => "FLAC",
            Wav => "WAV",
            Zip => "ZIP",
            Rar => "RAR",
            SevenZip => "7Z",
            Gzip => "GZIP",
            Bzip2 => "BZIP2",
            Xz => "XZ",
            Zstd => "ZSTD",
            Tar => "TAR",
            Pdf => "PDF",
            Elf => "ELF",
            Pe => "PE",
            MachO => "Mach-O",
            Php => "PHP",
            Html => "HTML",
            JavaScript => "JavaScript",
            Jpeg => "JPEG",
            Png => "PNG",
            Gif => "GIF",
            Webp => "WebP",
            Bmp => "BMP",
            Tiff => "TIFF",
            Heic => "HEIC",
            Avif => "AVIF",
            Ico => "ICO",
            Cab => "CAB",
            Arj => "ARJ",
            JavaClass => "JavaClass",
            Wasm => "WASM",
            Svg => "SVG",
            PostScript => "PostScript",
            Rtf => "RTF",
            Lz4 => "LZ4",
            Iso => "ISO",
            Lnk => "LNK",
            Cpio => "CPIO",
            Ar => "AR",
            Dicom => "DICOM",
            Pcap => "PCAP",
            Swf => "SWF",
            Ole => "OLE",
            Sqlite => "SQLite",
            Dex => "DEX",
            Unknown => "Unknown",
        }
    }

    /// Validated well enough to be believed inside pixel data of a broken picture: a few header
    /// bytes (audio frame syncs, GZIP's, icon and bitmap headers) are not.
    pub fn strong(self) -> bool {
        use PayloadKind::*;
        !matches!(self, Mp3 | Aac | Gzip | Ico | Bmp | Unknown)
    }

    /// Another picture inside or after a picture.
    pub fn is_image(self) -> bool {
        use PayloadKind::*;
        matches!(self, Jpeg | Png | Gif | Webp | Bmp | Tiff | Heic | Avif | Ico)
    }
}

impl fmt::Display for PayloadKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a finding sits relative to the picture's structure.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Location {
    /// After the picture's structural end (also after zero padding or a truncated picture).
    AfterImage,
    /// The object is not a picture at all, or only its signature is: the payload is the file.
    WholeFile,
    /// Inside a named structural unit: a PNG chunk type, a JPEG marker (`APP1`, `COM`), a GIF
    /// extension, a RIFF chunk, an ISO-BMFF box.
    Inside(String),
    /// In bytes the structure does not account for, before its end (a BMP header/pixel gap, a TIFF
    /// hole, junk between JPEG segments).
    Gap,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::AfterImage => f.write_str("after image"),
            Location::WholeFile => f.write_str("whole file"),
            Location::Inside(unit) => write!(f, "inside {unit}"),
            Location::Gap => f.write_str("gap in structure"),
        }
    }
}

/// How sure the detector is that a finding is foreign data, lowest first (so `>=` compares).
/// AutoProcess acts only on findings at or above a configured confidence.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Confidence {
    /// Unexplained bytes that could still be an editor's leftovers: short, or low in entropy.
    Possible,
    /// Clearly foreign data without a recognised structure (large high-entropy or structured
    /// blobs, metadata that does not hold what its name says, scripts recognised by their tokens).
    Likely,
    /// A recognised payload validated by its own structure (packet sync, headers, checksums).
    Certain,
}

impl Confidence {
    pub const ALL: [Confidence; 3] = [Confidence::Possible, Confidence::Likely, Confidence::Certain];

    pub fn as_str(self) -> &'static str {
        match self {
            Confidence::Possible => "possible",
            Confidence::Likely => "likely",
            Confidence::Certain => "certain",
        }
    }

    /// The inverse of [`Confidence::as_str`], case-insensitive.
    pub fn from_name(name: &str) -> Option<Confidence> {
        Confidence::ALL.into_iter().find(|c| c.as_str().eq_ignore_ascii_case(name.trim()))
    }
}

impl fmt::Display for Confidence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One payload found in the object. Offsets are absolute; `end` is inclusive as in Tencent's
/// `SuspiciousEndByte`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub begin: u64,
    pub end: u64,
    pub kind: PayloadKind,
    pub location: Location,
    /// The picture's own metadata declares this payload (a motion photo's video).
    pub declared: bool,
    pub confidence: Confidence,
}

impl Finding {
    pub fn size(&self) -> u64 {
        self.end + 1 - self.begin
    }
}

/// The detector's answer for one object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    /// Size of the whole object in bytes (Tencent's `PicSize`).
    pub pic_size: u64,
    pub pic_type: PicType,
    /// Offset one past the picture's last structural byte.
    pub image_end: u64,
    /// The picture's structure ends early or is corrupt.
    pub truncated: bool,
    /// Every payload, in file order.
    pub findings: Vec<Finding>,
}

impl Report {
    pub fn suspicious(&self) -> bool {
        !self.findings.is_empty()
    }

    /// The payload Tencent's `Suspicious*` fields describe: the first in the file.
    pub fn primary(&self) -> Option<&Finding> {
        self.findings.first()
    }

    /// The most certain finding's confidence: what AutoProcess compares with its threshold.
    pub fn confidence(&self) -> Option<Confidence> {
        self.findings.iter().map(|f| f.confidence).max()
    }
}
