//! One error type for every handler. Client mistakes carry Tencent's code and a message meant for
//! the caller; internal failures are logged here and reach the caller only as a request id.
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use stowaway_objects::ObjectError;
use stowaway_wire::WireError;

#[derive(Debug)]
pub enum ApiError {
    /// The caller's mistake, rendered as is.
    Client(WireError),
    /// The job store failed: 503 if it may pass (`transient`), else 500.
    Store(stowaway_store::Error),
    /// The object store answered badly: a missing object or bucket is the caller's 404, the rest
    /// is logged.
    Storage(ObjectError),
    /// Something of ours broke (logged; the caller sees a request id).
    Internal(String),
}

pub type ApiResult<T> = Result<T, ApiError>;

/// The client errors handlers answer, named by status (the [`WireError`] constructors of the same
/// names, as an `ApiError`).
impl ApiError {
    /// 400 `InvalidArgument`.
    pub fn invalid(message: impl Into<String>) -> ApiError {
        ApiError::Client(WireError::invalid_argument(message))
    }

    /// 400 with another code (`KeyTooLong`, …).
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::Client(WireError::bad_request(code, message))
    }

    /// 401 `AccessDenied`: no credentials at all.
    pub fn unauthorized(message: impl Into<String>) -> ApiError {
        ApiError::Client(WireError::new(401, "AccessDenied", message))
    }

    /// 403 with `code`.
    pub fn forbidden(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::Client(WireError::forbidden(code, message))
    }

    /// 404 with `code`.
    pub fn not_found(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::Client(WireError::not_found(code, message))
    }

    /// 405 `MethodNotAllowed`.
    pub fn method_not_allowed(message: impl Into<String>) -> ApiError {
        ApiError::Client(WireError::method_not_allowed(message))
    }

    /// 501 `NotImplemented`.
    pub fn not_implemented(message: impl Into<String>) -> ApiError {
        ApiError::Client(WireError::not_implemented(message))
    }
}

impl From<WireError> for ApiError {
    fn from(e: WireError) -> ApiError {
        ApiError::Client(e)
    }
}

impl From<stowaway_store::Error> for ApiError {
    fn from(e: stowaway_store::Error) -> ApiError {
        ApiError::Store(e)
    }
}

impl IntoResponse for ApiError {
    /// The body is left to the request-context layer, which knows the request id and resource:
    /// the `WireError` travels in the response's extensions.
    fn into_response(self) -> Response {
        let wire = match self {
            ApiError::Client(w) => w,
            ApiError::Storage(e) if e.is_no_such_key() => {
                WireError::not_found("NoSuchKey", "the object does not exist")
            }
            ApiError::Storage(e) if e.code == "NoSuchBucket" => {
                WireError::not_found("NoSuchBucket", "the bucket does not exist")
            }
            ApiError::Storage(e) if e.code == stowaway_objects::TOO_LARGE => {
                WireError::bad_request(stowaway_objects::TOO_LARGE, e.message.clone())
            }
            ApiError::Storage(e) => {
                tracing::error!(error = %e, "object store error");
                if e.transient {
                    WireError::unavailable("the object store is unavailable; retry later")
                } else {
                    internal()
                }
            }
            ApiError::Internal(e) => {
                tracing::error!(error = %e, "internal error");
                internal()
            }
            ApiError::Store(e) => {
                tracing::error!(error = %e, "job store error");
                if e.transient() {
                    WireError::unavailable("the job store is unavailable; retry later")
                } else {
                    internal()
                }
            }
        };
        let mut response =
            StatusCode::from_u16(wire.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR).into_response();
        response.extensions_mut().insert(wire);
        response
    }
}

fn internal() -> WireError {
    WireError::internal("internal error; the server log has details under this request id")
}
