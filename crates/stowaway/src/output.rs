//! How one scanned object is written: JSON Lines (Tencent's sync JSON spelling plus findings),
//! Tencent's `ProcessResult` XML, or a table for people. Each shows the detector's confidence
//! (Stowaway's extension): `suspiciousConfidence` / `SuspiciousConfidence` (the most certain
//! finding's, what AutoProcess compares with its threshold), `confidence` per finding, and the
//! table's CONFIDENCE column.
use std::io::{self, Write};

use serde::Serialize;
use stowaway_detect::{Finding, Report};

/// One JSON line: the path, Tencent's synchronous ImageInspect JSON (`picSize`, ...), then
/// Stowaway's extras.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ScanLine<'a> {
    pub path: &'a str,
    #[serde(flatten)]
    pub result: stowaway_wire::SyncResult,
    pub image_end: u64,
    pub truncated: bool,
    pub findings: Vec<FindingJson>,
}

#[derive(Serialize)]
pub struct FindingJson {
    pub begin: u64,
    pub end: u64,
    pub size: u64,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub location: String,
    pub declared: bool,
    pub confidence: &'static str,
}

impl From<&Finding> for FindingJson {
    fn from(f: &Finding) -> Self {
        FindingJson {
            begin: f.begin,
            end: f.end,
            size: f.size(),
            kind: f.kind.as_str(),
            location: f.location.to_string(),
            declared: f.declared,
            confidence: f.confidence.as_str(),
        }
    }
}

impl<'a> ScanLine<'a> {
    pub fn new(path: &'a str, r: &Report) -> Self {
        ScanLine {
            path,
            result: r.into(),
            image_end: r.image_end,
            truncated: r.truncated,
            findings: r.findings.iter().map(FindingJson::from).collect(),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Json,
    Xml,
}

/// Writes results in one format; `finish` closes the document where the format needs it.
pub struct Writer<W: Write> {
    out: W,
    format: Format,
    started: bool,
}

impl<W: Write> Writer<W> {
    pub fn new(out: W, format: Format) -> Self {
        Writer { out, format, started: false }
    }

    fn start(&mut self) -> io::Result<()> {
        if !self.started {
            self.started = true;
            match self.format {
                Format::Xml => writeln!(self.out, "<Results>")?,
                Format::Table => writeln!(
                    self.out,
                    "{:<10} {:<7} {:>12}  {:<10} {:<10} {:>23}  PATH",
                    "STATUS", "TYPE", "SIZE", "PAYLOAD", "CONFIDENCE", "BYTES"
                )?,
                Format::Json => {}
            }
        }
        Ok(())
    }

    pub fn report(&mut self, path: &str, r: &Report) -> io::Result<()> {
        self.start()?;
        match self.format {
            Format::Json => {
                serde_json::to_writer(&mut self.out, &ScanLine::new(path, r))?;
                writeln!(self.out)
            }
            Format::Xml => {
                // Tencent's ProcessResult element, as the job service and callbacks render it.
                let body = stowaway_wire::to_xml(&stowaway_wire::ProcessResult::from(r));
                writeln!(self.out, "<Result><Path>{}</Path>{body}</Result>", xml_escape(path))
            }
            Format::Table => {
                // The payload is the primary finding's; the confidence the report's (the most
                // certain finding's), as `suspiciousConfidence` and AutoProcess have it.
                let (status, payload, bytes) = match r.primary() {
                    Some(f) => (
                        if f.declared { "declared" } else { "SUSPICIOUS" },
                        f.kind.as_str(),
                        format!("{}-{}", f.begin, f.end),
                    ),
                    None => ("clean", "-", "-".to_string()),
                };
                let confidence = r.confidence().map_or("-", |c| c.as_str());
                writeln!(
                    self.out,
                    "{status:<10} {:<7} {:>12}  {payload:<10} {confidence:<10} {bytes:>23}  {path}",
                    r.pic_type.as_str(),
                    r.pic_size
                )
            }
        }
    }

    pub fn error(&mut self, path: &str, message: &str) -> io::Result<()> {
        self.start()?;
        match self.format {
            Format::Json => {
                serde_json::to_writer(&mut self.out, &serde_json::json!({ "path": path, "error": message }))?;
                writeln!(self.out)
            }
            Format::Xml => writeln!(
                self.out,
                "<Result><Path>{}</Path><Error>{}</Error></Result>",
                xml_escape(path),
                xml_escape(message)
            ),
            Format::Table => writeln!(
                self.out,
                "{:<10} {:<7} {:>12}  {:<10} {:<10} {:>23}  {path}: {message}",
                "ERROR", "-", "-", "-", "-", "-"
            ),
        }
    }

    pub fn finish(mut self) -> io::Result<()> {
        self.start()?;
        if self.format == Format::Xml {
            writeln!(self.out, "</Results>")?;
        }
        self.out.flush()
    }
}

fn xml_escape(s: &str) -> String {
    quick_xml::escape::escape(s).into_owned()
}
