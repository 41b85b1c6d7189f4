//! The store's one error type. Callers decide by kind (retry, 503, 500), never by sqlx's variants,
//! so nothing above the store depends on sqlx.
use std::fmt;
use std::sync::Arc;

#[derive(Clone, Debug)]
pub enum Error {
    /// The database is unreachable, shutting down, or has no connection free in time: the same
    /// call may succeed later.
    Unavailable(Arc<sqlx::Error>),
    /// A job named a queue that is gone (it vanished between the request's check and the insert).
    NoSuchQueue,
    /// The database refused the statement, or answered what we cannot read: retrying will not help.
    Database(Arc<sqlx::Error>),
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// Whether the same call may succeed later (a 503 rather than a 500; a retry, not a give-up).
    pub fn transient(&self) -> bool {
        matches!(self, Error::Unavailable(_))
    }

    /// The store is shutting down: its connections are closed, or what writes for it is gone.
    pub fn closed() -> Error {
        Error::Unavailable(Arc::new(sqlx::Error::PoolClosed))
    }

    /// A stored value this version cannot read (`what`: the table and column).
    pub(crate) fn unreadable(what: &str, e: impl fmt::Display) -> Error {
        Error::Database(Arc::new(sqlx::Error::Decode(format!("{what}: {e}").into())))
    }
}

impl From<sqlx::Error> for Error {
    fn from(e: sqlx::Error) -> Error {
        let unavailable = match &e {
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => true,
            sqlx::Error::WorkerCrashed => true,
            // Connection exceptions (08), the server shutting down or starting (57P0x), too many
            // connections (53300), and conflicts a retry resolves (serialization, deadlock).
            sqlx::Error::Database(db) => db.code().is_some_and(|c| {
                c.starts_with("08") || c.starts_with("57P0") || c == "53300" || c == "40001" || c == "40P01"
            }),
            _ => false,
        };
        match unavailable {
            true => Error::Unavailable(Arc::new(e)),
            false => Error::Database(Arc::new(e)),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Unavailable(e) => write!(f, "database unavailable: {e}"),
            Error::NoSuchQueue => f.write_str("the job's queue no longer exists"),
            Error::Database(e) => write!(f, "database error: {e}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Unavailable(e) | Error::Database(e) => Some(&**e),
            Error::NoSuchQueue => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_may_pass_is_transient_and_the_rest_is_not() {
        assert!(Error::from(sqlx::Error::PoolTimedOut).transient());
        assert!(Error::from(sqlx::Error::PoolClosed).transient());
        assert!(Error::from(sqlx::Error::Io(std::io::ErrorKind::ConnectionReset.into())).transient());
        assert!(!Error::from(sqlx::Error::RowNotFound).transient());
        assert!(!Error::from(sqlx::Error::ColumnNotFound("x".into())).transient());
        assert!(!Error::NoSuchQueue.transient());
    }
}
