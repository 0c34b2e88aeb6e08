//! The one error type of the core.
//!
//! Every failure the core can report (a server error reply, a dropped
//! connection, a timeout, a bad configuration, a closed client) becomes an
//! [`Error`] with an [`ErrorKind`]. The Python binding turns it into a Python
//! exception in exactly one function, so this file is where a newcomer looks to
//! learn what can go wrong.

use std::fmt;

use redis::RedisError;

/// What kind of failure an [`Error`] is. New kinds may be added.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The server answered with an error reply (`-ERR ...`, `-WRONGTYPE ...`).
    Response,
    /// The server refused the credentials.
    Authentication,
    /// The connection could not be made, or broke while a request was in flight.
    Connection,
    /// No reply came in the time allowed.
    Timeout,
    /// The client was closed before or while the request ran.
    Closed,
    /// The caller passed something the core cannot use (a bad URL, a bad setting).
    InvalidInput,
    /// A reply did not have the shape the command expects.
    Protocol,
    /// A key watched by a transaction changed, so the server did not run it.
    Watch,
    /// A cluster cannot serve the request as asked: the keys of an atomic
    /// command or a transaction are in different slots, no node serves a
    /// slot, no node answers at all.
    Cluster,
    /// A bug in Babushka; the message says where.
    Internal,
}

/// A failure reported by the core.
#[derive(Debug, Clone)]
pub struct Error {
    kind: ErrorKind,
    /// For server replies, the first word of the reply (`WRONGTYPE`, `NOSCRIPT`),
    /// which the binding uses to pick the exact exception class.
    code: Option<String>,
    message: String,
    /// For a failure that belongs to one command of a batch, its position.
    index: Option<usize>,
    /// The request never reached the server: it waited for a connection
    /// that could not be opened (see `crate::retry`).
    unsent: bool,
    /// Trying again cannot help (a certificate refused, TLS spoken to a
    /// plain port): a connection attempt that failed so is not repeated.
    permanent: bool,
}

impl Error {
    #[cold]
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            code: None,
            message: message.into(),
            index: None,
            unsent: false,
            permanent: false,
        }
    }

    /// An error with a server error code (`WRONGTYPE`), as rebuilt from a frame.
    #[cold]
    pub fn with_code(kind: ErrorKind, code: Option<String>, message: impl Into<String>) -> Self {
        Self {
            kind,
            code,
            message: message.into(),
            index: None,
            unsent: false,
            permanent: false,
        }
    }

    /// The same error, marked as caused by the command at `index` of a batch.
    #[cold]
    #[must_use]
    pub fn at_index(mut self, index: usize) -> Self {
        self.index = Some(index);
        self
    }

    /// The same error, marked as one whose request never reached the server.
    #[cold]
    #[must_use]
    pub fn unsent(mut self) -> Self {
        self.unsent = true;
        self
    }

    /// The same error, marked as one that trying again cannot cure.
    #[cold]
    #[must_use]
    pub fn permanent(mut self) -> Self {
        self.permanent = true;
        self
    }

    /// Whether trying again cannot cure it (see [`Self::permanent`]).
    pub fn is_permanent(&self) -> bool {
        self.permanent
    }

    /// Whether the request never reached the server (its connection could
    /// not be opened), so its outcome is known: it did nothing.
    pub fn is_unsent(&self) -> bool {
        self.unsent
    }

    /// For a failure caused by one command of a batch, its position.
    pub fn index(&self) -> Option<usize> {
        self.index
    }

    /// The error a request fails with when code serving it panicked (a bug,
    /// caught at a boundary so that it ends in an error for the requests it
    /// touched, not a lost reply or a dead process).
    #[cold]
    pub fn from_panic(what: &str, payload: &(dyn std::any::Any + Send)) -> Self {
        let detail = payload
            .downcast_ref::<&str>()
            .copied()
            .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
            .unwrap_or("(no message)");
        Self::new(
            ErrorKind::Internal,
            format!(
                "internal error (a bug in babushka, please report it): {what} panicked: {detail}"
            ),
        )
    }

    #[cold]
    pub fn closed() -> Self {
        Self::new(ErrorKind::Closed, "the client is closed")
    }

    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    pub fn code(&self) -> Option<&str> {
        self.code.as_deref()
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    pub fn is_timeout(&self) -> bool {
        self.kind == ErrorKind::Timeout
    }

    pub fn is_connection_dropped(&self) -> bool {
        self.kind == ErrorKind::Connection
    }

    pub fn is_watch_failure(&self) -> bool {
        self.kind == ErrorKind::Watch
    }

    pub fn is_server_error(&self) -> bool {
        self.kind == ErrorKind::Response
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

/// A failed read or write on a connection (the reply decoder's I/O errors).
impl From<std::io::Error> for Error {
    #[cold]
    fn from(err: std::io::Error) -> Self {
        Self::new(ErrorKind::Connection, err.to_string())
    }
}

impl From<RedisError> for Error {
    #[cold]
    fn from(err: RedisError) -> Self {
        let kind = classify(&err);
        let (code, message) = match kind {
            // Keep the server's text as redis-py does: "WRONGTYPE Operation against ...".
            ErrorKind::Response | ErrorKind::Authentication => {
                let code = err.code().map(str::to_owned);
                let message = match (err.code(), err.detail()) {
                    (Some(code), Some(detail)) => format!("{code} {detail}"),
                    (Some(code), None) => code.to_owned(),
                    (None, Some(detail)) => detail.to_owned(),
                    (None, None) => err.to_string(),
                };
                (code, message)
            }
            _ => (None, err.to_string()),
        };
        Self {
            kind,
            code,
            message,
            index: None,
            unsent: false,
            permanent: false,
        }
    }
}

fn classify(err: &RedisError) -> ErrorKind {
    use redis::ErrorKind as R;
    if err.is_timeout() {
        return ErrorKind::Timeout;
    }
    if err.is_io_error() || err.is_connection_dropped() || err.is_connection_refusal() {
        return ErrorKind::Connection;
    }
    match err.kind() {
        R::AuthenticationFailed => ErrorKind::Authentication,
        R::Server(_) | R::Extension => match err.code() {
            Some("NOAUTH" | "WRONGPASS") => ErrorKind::Authentication,
            _ => ErrorKind::Response,
        },
        R::InvalidClientConfig => ErrorKind::InvalidInput,
        R::Parse | R::UnexpectedReturnType | R::RESP3NotSupported => ErrorKind::Protocol,
        _ => ErrorKind::Internal,
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
