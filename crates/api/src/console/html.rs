//! The console's HTML: every value an upload controls goes through [`escape`]; pages share one
//! layout and one stylesheet, and carry a Content-Security-Policy under which nothing runs.
use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use axum::response::{IntoResponse, Response};

use crate::context::OwnBody;

/// No script at all, styles and images only from the console itself, forms only to it.
pub const CSP: &str =
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A query-string value (links carry filters and keys).
pub fn url(text: &str) -> String {
    stowaway_wire::cos_sign::url_encode(text)
}

/// A whole page: `who` is the signed-in SecretId (`None`: authentication is off), `csrf` the
/// session's token for the sign-out form.
pub fn page(title: &str, who: Option<&str>, csrf: &str, body: &str) -> Response {
    let account = match who {
        Some(id) => format!(
            "<form method=\"post\" action=\"/console/logout\" class=\"who\"><span>{}</span>\
             <input type=\"hidden\" name=\"csrf\" value=\"{}\"><button>Sign out</button></form>",
            escape(id),
            escape(csrf)
        ),
        None => "<span class=\"who\">authentication off</span>".into(),
    };
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{} · Stowaway</title><link rel=\"stylesheet\" href=\"/console/style.css\"></head><body>\
         <header><nav><a href=\"/console/\" class=\"brand\">Stowaway</a> <a href=\"/console/jobs\">Jobs</a> <a href=\"/console/triggers\">Triggers</a></nav>{account}</header><main>{body}</main></body></html>",
        escape(title)
    );
    respond(html)
}

/// A bare refusal page (no session to show).
pub fn refusal(status: axum::http::StatusCode, why: &str) -> Response {
    let body = format!("<h1>Not allowed</h1><p class=\"error\">{}</p>", escape(why));
    (status, page("Not allowed", None, "", &body)).into_response()
}

pub fn respond(html: String) -> Response {
    let headers = [
        (CONTENT_TYPE, "text/html; charset=utf-8"),
        (CONTENT_SECURITY_POLICY, CSP),
        (X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (X_FRAME_OPTIONS, "DENY"),
        (CACHE_CONTROL, "no-store"),
    ];
    let mut response = (headers, html).into_response();
    response.extensions_mut().insert(OwnBody);
    response
}

pub const STYLE: &str = "\
body{margin:0;font:15px/1.45 system-ui,sans-serif;color:#1d2127;background:#f6f7f9}
header{display:flex;justify-content:space-between;align-items:center;gap:1em;padding:.6em 1em;background:#1d2127;color:#fff}
header a{color:#fff;text-decoration:none;font-weight:600}.who{display:flex;gap:.6em;align-items:center;margin:0}
main{padding:1em;max-width:72em;margin:auto}h1{font-size:1.3em}
table{border-collapse:collapse;width:100%;background:#fff}th,td{text-align:left;padding:.35em .5em;border-bottom:1px solid #e3e6ea;vertical-align:top}
td.key{word-break:break-all}.bad{color:#b3261e;font-weight:600}.ok{color:#1e6b34}
form.filters,form.inline{display:flex;flex-wrap:wrap;gap:.5em;align-items:end;margin-bottom:1em}
label{display:flex;flex-direction:column;font-size:.85em}input,select,button{font:inherit;padding:.3em .4em}
pre.hex{background:#fff;padding:.6em;overflow-x:auto;font:13px/1.35 ui-monospace,monospace}pre.hex b{background:#fde2e1;color:#8c1d18}
pre.hex .end{color:#1e6b34;font-weight:600}dl{display:grid;grid-template-columns:max-content 1fr;gap:.2em 1em;background:#fff;padding:.6em}
dt{font-weight:600}dd{margin:0;word-break:break-all}.login{max-width:22em;margin:3em auto;display:flex;flex-direction:column;gap:.6em}
.error{color:#b3261e}svg.chart{width:100%;max-width:40em;background:#fff}svg.swatch{width:.8em;height:.8em;margin-right:.4em}header nav{display:flex;gap:1em}nav.pages{margin:1em 0}img.preview{max-width:100%;max-height:24em;background:#fff;border:1px solid #e3e6ea}
@media (max-width:40em){th.wide,td.wide{display:none}main{padding:.5em}}
";

pub async fn stylesheet() -> Response {
    ([(CONTENT_TYPE, "text/css; charset=utf-8"), (CACHE_CONTROL, "max-age=300")], STYLE).into_response()
}

#[cfg(test)]
mod tests {
    #[test]
    fn markup_characters_are_escaped() {
        assert_eq!(
            super::escape(r#"<img src=x onerror="a('b')">&"#),
            "&lt;img src=x onerror=&quot;a(&#39;b&#39;)&quot;&gt;&amp;"
        );
    }
}
