//! What a suspicious job's page shows of the object itself: every finding, as this release's
//! detector sees the stored bytes (the verdict keeps only the first), and each hidden range in hex.
use stowaway_detect::{Finding, Location, Report};
use stowaway_objects::BACKUP_PREFIX;
use stowaway_store::JobRecord;

use super::hex;
use super::html::escape;
use crate::AppState;

/// Hex views past this many findings would make the page long without telling more.
const HEX_VIEWS: usize = 4;

/// The object's bytes, from its key or, once AutoProcess moved it, from the backup.
pub async fn object_bytes(app: &AppState, job: &JobRecord) -> Result<(String, Vec<u8>), String> {
    let objects = app.objects.as_ref().ok_or("this process has no object store configured")?;
    for key in [job.object.clone(), format!("{BACKUP_PREFIX}{}", job.object)] {
        match objects.fetch(&job.bucket, &key).await {
            Ok(f) => return Ok((format!("Read from {key}."), f.to_vec())),
            Err(e) if e.code == "NoSuchKey" => continue,
            Err(e) => return Err(format!("The store did not answer: {e}")),
        }
    }
    Err("The object is no longer in the store (deleted, or moved elsewhere).".into())
}

/// The findings table and hex views for a job whose verdict put a hidden range at
/// `stored` (`begin..=end`).
pub async fn section(app: &AppState, job: &JobRecord, stored: (u64, u64)) -> String {
    let (where_, bytes) = match object_bytes(app, job).await {
        Ok(read) => read,
        Err(why) => return format!("<h2>Findings</h2><p class=\"error\">{}</p>", escape(&why)),
    };
    // Big objects take milliseconds to inspect: off the request threads, as `inspect.rs` does.
    let shown = tokio::task::spawn_blocking(move || {
        let report = stowaway_detect::inspect(&bytes);
        render(&where_, &bytes, &report, stored)
    });
    shown
        .await
        .unwrap_or_else(|e| format!("<h2>Findings</h2><p class=\"error\">{}</p>", escape(&e.to_string())))
}

fn render(where_: &str, bytes: &[u8], report: &Report, stored: (u64, u64)) -> String {
    let mut out = format!("<h2>Findings</h2><p>{} ", escape(where_));
    if report.findings.is_empty() {
        // The detector changed since the verdict: show what the verdict named.
        out.push_str(
            "This release's detector finds nothing in these bytes; the range the verdict named:</p>",
        );
        let marker = format!("the hidden range of the verdict starts at byte {}", stored.0);
        return out + &hex_block(bytes, stored.0, stored.1, &marker);
    }
    out.push_str(&format!(
        "This release's detector finds {} payload{} in these bytes.</p>",
        report.findings.len(),
        if report.findings.len() == 1 { "" } else { "s" }
    ));
    out.push_str(
        "<table><thead><tr><th>#</th><th>Type</th><th>Where</th><th>Bytes</th><th>Size</th>\
         <th>Confidence</th><th>Declared</th></tr></thead><tbody>",
    );
    for (i, f) in report.findings.iter().enumerate() {
        out.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}–{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            i + 1,
            escape(f.kind.as_str()),
            escape(&f.location.to_string()),
            f.begin,
            f.end,
            f.size(),
            f.confidence,
            if f.declared { "yes: the picture's metadata names it" } else { "no" }
        ));
    }
    out.push_str("</tbody></table>");
    for (i, f) in report.findings.iter().take(HEX_VIEWS).enumerate() {
        out.push_str(&format!(
            "<h3>{}. {} {}</h3>",
            i + 1,
            escape(f.kind.as_str()),
            escape(&f.location.to_string())
        ));
        out.push_str(&hex_block(bytes, f.begin, f.end, &marker(f)));
    }
    if report.findings.len() > HEX_VIEWS {
        out.push_str(&format!("<p>{} more not shown in hex.</p>", report.findings.len() - HEX_VIEWS));
    }
    out
}

fn marker(f: &Finding) -> String {
    match &f.location {
        Location::AfterImage if f.begin > 0 => {
            format!("the picture ends at byte {}; byte {} on is hidden", f.begin - 1, f.begin)
        }
        Location::WholeFile => format!("the whole object is {}", f.kind),
        where_ => format!("{} {where_}, bytes {}–{}", f.kind, f.begin, f.end),
    }
}

fn hex_block(bytes: &[u8], begin: u64, end: u64, marker: &str) -> String {
    format!("<pre class=\"hex\">{}</pre>", hex::view(bytes, begin, end, marker))
}

#[cfg(test)]
mod tests {
    use super::*;
    use stowaway_detect::{Confidence, PayloadKind, PicType};

    fn finding(begin: u64, end: u64, kind: PayloadKind, location: Location) -> Finding {
        Finding { begin, end, kind, location, declared: false, confidence: Confidence::Certain }
    }

    fn report(findings: Vec<Finding>) -> Report {
        Report { pic_size: 4096, pic_type: PicType::Png, image_end: 3000, truncated: false, findings }
    }

    #[test]
    fn every_finding_gets_a_row_and_the_first_ones_a_hex_view() {
        let bytes = vec![0x41u8; 4096];
        let findings = vec![
            finding(100, 299, PayloadKind::Zip, Location::Inside("tEXt".into())),
            finding(3000, 4095, PayloadKind::MpegTs, Location::AfterImage),
        ];
        let page = render("Read from a.png.", &bytes, &report(findings), (100, 299));
        assert!(page.contains("finds 2 payloads"), "{page}");
        assert!(
            page.contains("<td>ZIP</td><td>inside tEXt</td><td>100–299</td><td>200</td><td>certain</td>"),
            "{page}"
        );
        assert!(
            page.contains("<td>MPEG-TS</td><td>after image</td><td>3000–4095</td><td>1096</td>"),
            "{page}"
        );
        assert_eq!(page.matches("<pre class=\"hex\">").count(), 2, "{page}");
        assert!(page.contains("ZIP inside tEXt, bytes 100–299"), "{page}");
        assert!(page.contains("the picture ends at byte 2999; byte 3000 on is hidden"), "{page}");
    }

    #[test]
    fn hex_views_stop_at_a_few_and_say_how_many_more() {
        let bytes = vec![0u8; 4096];
        let findings =
            (0..6).map(|i| finding(i * 100, i * 100 + 9, PayloadKind::Php, Location::Gap)).collect();
        let page = render("", &bytes, &report(findings), (0, 9));
        assert_eq!(page.matches("<tr><td>").count(), 6);
        assert_eq!(page.matches("<pre class=\"hex\">").count(), HEX_VIEWS);
        assert!(page.contains("2 more not shown in hex"), "{page}");
    }

    #[test]
    fn nothing_found_now_still_shows_the_verdicts_range() {
        let bytes = vec![0u8; 512];
        let page = render("", &bytes, &report(vec![]), (256, 511));
        assert!(page.contains("finds nothing"), "{page}");
        assert!(page.contains("the hidden range of the verdict starts at byte 256"), "{page}");
        assert!(page.contains("<b>00</b>"), "{page}");
    }
}
