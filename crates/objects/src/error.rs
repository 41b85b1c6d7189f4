//! What went wrong, in the store's own words, and whether trying again can help.

use std::error::Error as StdError;
use std::fmt;

use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};

/// A failed S3 call: the store's S3 error code and message (`NoSuchKey`, `AccessDenied`,
/// `NotImplemented`, ...), or for failures that never produced an S3 answer (connection refused,
/// timeouts, a broken body) a Tencent-style code: `ServiceUnavailable`, `InternalError`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectError {
    pub code: String,
    pub message: String,
    /// The HTTP status the store answered with, if it answered.
    pub status: Option<u16>,
    /// Trying again may succeed (network trouble, 5xx except 501, throttling).
    pub transient: bool,
}

impl fmt::Display for ObjectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.status {
            Some(status) => write!(f, "{} (HTTP {status}): {}", self.code, self.message),
            None => write!(f, "{}: {}", self.code, self.message),
        }
    }
}

impl StdError for ObjectError {}

/// S3 codes that mean "slow down or try again", whatever the status says.
const TRANSIENT_CODES: &[&str] = &[
    "SlowDown",
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottled",
    "RequestLimitExceeded",
    "TooManyRequests",
    "RequestTimeout",
    "InternalError",
    "ServiceUnavailable",
];

impl ObjectError {
    /// A failure that never reached the store or never got a usable answer.
    pub(crate) fn transport(code: &str, message: String) -> ObjectError {
        ObjectError { code: code.to_string(), message, status: None, transient: true }
    }

    /// Whether the store answered that the object (not the bucket) does not exist.
    pub fn is_no_such_key(&self) -> bool {
        self.code == "NoSuchKey" || (self.code == "NotFound" && self.status == Some(404))
    }

    /// Classifies an SDK failure. The SDK's own retries are off; this decides ours.
    pub(crate) fn from_sdk<E>(err: SdkError<E, HttpResponse>) -> ObjectError
    where
        E: ProvideErrorMetadata + StdError + 'static,
    {
        let status = err.raw_response().map(|r| r.status().as_u16());
        match &err {
            SdkError::ServiceError(service) => {
                let e = service.err();
                let code =
                    e.code().map(str::to_string).unwrap_or_else(|| code_for_status(status).to_string());
                let message = match e.message() {
                    Some(m) if !m.is_empty() => m.to_string(),
                    _ => match status {
                        Some(s) => format!("the store answered HTTP {s} without an error message"),
                        None => "the store answered without an error message".to_string(),
                    },
                };
                let transient = is_transient(status, &code);
                ObjectError { code, message, status, transient }
            }
            SdkError::TimeoutError(_) => ObjectError::transport(
                "ServiceUnavailable",
                format!("the S3 request timed out: {}", chain(&err)),
            ),
            SdkError::DispatchFailure(d) if d.is_user() => ObjectError {
                code: "InvalidArgument".to_string(),
                message: format!("the S3 request could not be sent: {}", chain(&err)),
                status: None,
                transient: false,
            },
            SdkError::DispatchFailure(_) => ObjectError::transport(
                "ServiceUnavailable",
                format!("cannot reach the S3 store: {}", chain(&err)),
            ),
            SdkError::ResponseError(_) => ObjectError {
                status,
                ..ObjectError::transport(
                    "InternalError",
                    format!("unreadable answer from the S3 store: {}", chain(&err)),
                )
            },
            _ => ObjectError {
                code: "InternalError".to_string(),
                message: format!("the S3 request could not be built: {}", chain(&err)),
                status,
                transient: false,
            },
        }
    }
}

fn is_transient(status: Option<u16>, code: &str) -> bool {
    TRANSIENT_CODES.contains(&code)
        || matches!(status, Some(408 | 429))
        || matches!(status, Some(s) if s >= 500 && s != 501)
}

/// A code for answers without an S3 error body (HEAD requests have none).
fn code_for_status(status: Option<u16>) -> &'static str {
    match status {
        Some(400) => "InvalidRequest",
        Some(403) => "AccessDenied",
        Some(404) => "NotFound",
        Some(405) => "MethodNotAllowed",
        Some(409) => "Conflict",
        Some(412) => "PreconditionFailed",
        Some(416) => "InvalidRange",
        Some(429) => "SlowDown",
        Some(501) => "NotImplemented",
        Some(503) => "ServiceUnavailable",
        Some(s) if s >= 500 => "InternalError",
        _ => "InvalidRequest",
    }
}

/// An error and its causes on one line (`a: b: c`), without Debug dumps.
pub(crate) fn chain(err: &(dyn StdError + 'static)) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(e) = source {
        let s = e.to_string();
        if !out.ends_with(&s) {
            out.push_str(": ");
            out.push_str(&s);
        }
        source = e.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transient_rules() {
        assert!(is_transient(Some(500), "InternalError"));
        assert!(is_transient(Some(503), "SlowDown"));
        assert!(is_transient(Some(400), "RequestTimeout"));
        assert!(is_transient(Some(429), "Whatever"));
        assert!(!is_transient(Some(501), "NotImplemented"));
        assert!(!is_transient(Some(404), "NoSuchKey"));
        assert!(!is_transient(Some(403), "SignatureDoesNotMatch"));
        assert_eq!(code_for_status(Some(403)), "AccessDenied");
    }
}
