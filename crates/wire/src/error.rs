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
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> WireError {
        WireError { status, code, message: message.into() }
    }

    /// 400 with `code`.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> WireError {
        WireError::new(400, code, message)
    }

    /// 400 `InvalidArgument`.
    pub fn invalid_argument(message: impl Into<String>) -> WireError {
        WireError::bad_request("InvalidArgument", message)
    }

    /// 400 `MalformedXML`.
    pub fn malformed_xml(message: impl Into<String>) -> WireError {
        WireError::bad_request("MalformedXML", message)
    }

    /// 403 with `code` (`AccessDenied`, or COS's signature codes).
    pub fn forbidden(code: &'static str, message: impl Into<String>) -> WireError {
        WireError::new(403, code, message)
    }

    /// 404 with `code` (`NoSuchJob`, `NoSuchQueue`, `NoSuchKey`, …).
    pub fn not_found(code: &'static str, message: impl Into<String>) -> WireError {
        WireError::new(404, code, message)
    }

    /// 405 `MethodNotAllowed`.
    pub fn method_not_allowed(message: impl Into<String>) -> WireError {
        WireError::new(405, "MethodNotAllowed", message)
    }

    /// 500 `InternalError`.
    pub fn internal(message: impl Into<String>) -> WireError {
        WireError::new(500, "InternalError", message)
    }

    /// 501 `NotImplemented`.
    pub fn not_implemented(message: impl Into<String>) -> WireError {
        WireError::new(501, "NotImplemented", message)
    }

    /// 503 `ServiceUnavailable`: the caller may retry later.
    pub fn unavailable(message: impl Into<String>) -> WireError {
        WireError::new(503, "ServiceUnavailable", message)
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
