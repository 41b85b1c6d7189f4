//! Client-facing errors: a Tencent code, an HTTP status and a message a person can act on.
use serde::Serialize;

/// What went wrong with a request, before it is rendered as `<Error>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WireError {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
}

impl WireError {
    pub fn invalid_argument(message: impl Into<String>) -> WireError {
        WireError { status: 400, code: "InvalidArgument", message: message.into() }
    }
    pub fn malformed_xml(message: impl Into<String>) -> WireError {
        WireError { status: 400, code: "MalformedXML", message: message.into() }
    }
}

impl std::fmt::Display for WireError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status, self.code, self.message)
    }
}

impl std::error::Error for WireError {}

/// Tencent's error body. Every SDK needs root `<Error>`; Python needs all of Code, Message,
/// Resource and RequestId non-empty (spec §5.3), so the constructor fills every field.
#[derive(Clone, Debug, Serialize)]
#[serde(rename = "Error", rename_all = "PascalCase")]
pub struct ErrorBody {
    pub code: String,
    pub message: String,
    pub resource: String,
    pub request_id: String,
    pub trace_id: String,
}

impl ErrorBody {
    pub fn new(e: &WireError, resource: &str, request_id: &str, trace_id: &str) -> ErrorBody {
        let or = |s: &str, d: &str| if s.is_empty() { d.to_string() } else { s.to_string() };
        ErrorBody {
            code: e.code.to_string(),
            message: or(&e.message, e.code),
            resource: or(resource, "/"),
            request_id: or(request_id, "-"),
            trace_id: or(trace_id, "-"),
        }
    }

    /// The full body, with the XML declaration COS documents for errors.
    pub fn render(&self) -> String {
        format!("<?xml version='1.0' encoding='utf-8' ?>\n{}", crate::to_xml(self))
    }
}
