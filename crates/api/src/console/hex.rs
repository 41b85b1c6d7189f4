//! The hidden range as `hexdump -C` prints it (offset, 16 bytes in two groups of 8, ASCII between
//! bars), as HTML: hidden bytes marked, and a line where the picture truly ends.
use super::html::escape;

/// Rows shown before the hidden range (the picture's last bytes) and of it.
const ROWS_BEFORE: u64 = 2;
const ROWS_OF: u64 = 16;

/// `bytes` is the object; `begin..=end` the hidden range. Shows the rows around its start, with
/// `marker` on a line of its own just before the row where the range starts.
pub fn view(bytes: &[u8], begin: u64, end: u64, marker: &str) -> String {
    let len = bytes.len() as u64;
    let from = (begin / 16).saturating_sub(ROWS_BEFORE) * 16;
    let to = ((begin / 16 + ROWS_OF) * 16).min(len);
    let mut out = String::new();
    let mut row = from;
    while row < to {
        if row <= begin && begin < row + 16 {
            out.push_str(&format!("<span class=\"end\">── {} ──</span>\n", escape(marker)));
        }
        out.push_str(&format!("{row:08x}  "));
        let mut ascii = String::new();
        for i in 0..16u64 {
            let at = row + i;
            if i == 8 {
                out.push(' ');
            }
            if at >= len || at >= to {
                out.push_str("   ");
                continue;
            }
            let b = bytes[at as usize];
            let hidden = (begin..=end).contains(&at);
            let ch =
                if b.is_ascii_graphic() || b == b' ' { escape(&(b as char).to_string()) } else { ".".into() };
            if hidden {
                out.push_str(&format!("<b>{b:02x}</b> "));
                ascii.push_str(&format!("<b>{ch}</b>"));
            } else {
                out.push_str(&format!("{b:02x} "));
                ascii.push_str(&ch);
            }
        }
        out.push_str(&format!(" |{ascii}|\n"));
        row += 16;
    }
    out.push_str(&format!("{:08x}\n", to));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(html: &str) -> String {
        html.replace("<b>", "")
            .replace("</b>", "")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&")
    }

    #[test]
    fn rows_read_as_hexdump_c_prints_them() {
        let mut bytes = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
        bytes.extend_from_slice(b"<script>&x\x47\x40\x11\x10");
        let v = view(&bytes, 16, 27, "the picture ends at byte 15; byte 16 on is hidden");
        let lines: Vec<String> = plain(&v).lines().map(String::from).collect();
        assert_eq!(
            lines[0],
            "00000000  89 50 4e 47 0d 0a 1a 0a  00 00 00 0d 49 48 44 52  |.PNG........IHDR|"
        );
        assert!(lines[1].contains("the picture ends at byte 15; byte 16 on is hidden"), "{v}");
        // What `hexdump -C` prints for the same bytes.
        assert_eq!(lines[2], "00000010  3c 73 63 72 69 70 74 3e  26 78 47 40 11 10        |<script>&xG@..|");
        assert_eq!(lines[3], "0000001e");
        assert!(!v.contains("<script>"), "escaped: {v}");
        assert!(v.contains("<b>47</b>"), "hidden bytes marked: {v}");
        assert!(!v.contains("<b>89</b>"), "the picture's bytes are not: {v}");
    }

    #[test]
    fn a_range_deep_in_a_big_object_shows_its_neighbourhood() {
        let bytes = vec![0u8; 100_000];
        let v = plain(&view(&bytes, 50_000, 99_999, "from here"));
        let first = v.lines().next().unwrap();
        assert!(first.starts_with(&format!("{:08x}", (50_000 / 16 - 2) * 16)), "{first}");
        assert_eq!(v.lines().filter(|l| l.contains("  00 00")).count(), 18);
    }
}
