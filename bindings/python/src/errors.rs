//! The one place where core errors become Python exceptions.
//!
//! The exception classes live in `babushka/exceptions.py` (so they can also
//! subclass Python's builtin `ConnectionError` and `TimeoutError`); this module
//! looks each up once and caches it.

use babushka_core::{Error, ErrorKind};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyModule, PyType};

macro_rules! exception_class {
    ($fn_name:ident, $class:literal) => {
        fn $fn_name(py: Python<'_>) -> PyResult<&Bound<'_, PyType>> {
            static CLASS: PyOnceLock<Py<PyType>> = PyOnceLock::new();
            CLASS.import(py, "babushka.exceptions", $class)
        }
    };
}

exception_class!(redis_error, "RedisError");
exception_class!(response_error, "ResponseError");
exception_class!(authentication_error, "AuthenticationError");
exception_class!(connection_error, "ConnectionError");
exception_class!(timeout_error, "TimeoutError");
exception_class!(closed_error, "ClientClosedError");
exception_class!(data_error, "DataError");
exception_class!(invalid_response, "InvalidResponse");
exception_class!(watch_error, "WatchError");
exception_class!(cluster_exception, "RedisClusterException");
exception_class!(slot_not_covered_error, "SlotNotCoveredError");

/// redis-py's classes for the server's error codes. A reply with one of
/// these codes reaches the caller without it (`ERR unknown command` reads
/// `unknown command`), as redis-py strips exactly these; any other code
/// (`WRONGTYPE`, `BUSY`) stays in the message of a plain `ResponseError`.
const CODE_CLASSES: &[(&str, &str)] = &[
    ("ERR", "ResponseError"),
    ("OOM", "OutOfMemoryError"),
    ("WRONGPASS", "AuthenticationError"),
    ("EXECABORT", "ExecAbortError"),
    ("LOADING", "BusyLoadingError"),
    ("NOSCRIPT", "NoScriptError"),
    ("READONLY", "ReadOnlyError"),
    ("NOAUTH", "AuthenticationError"),
    ("NOPERM", "NoPermissionError"),
    ("ASK", "AskError"),
    ("TRYAGAIN", "TryAgainError"),
    ("MOVED", "MovedError"),
    ("CLUSTERDOWN", "ClusterDownError"),
    ("CROSSSLOT", "ClusterCrossSlotError"),
    ("MASTERDOWN", "MasterDownError"),
];

/// `ERR` replies redis-py classes by their whole text (an exact match).
const ERR_TEXT_CLASSES: &[(&str, &str)] = &[
    // A full server refuses the connection, a wrong AUTH the user.
    ("max number of clients reached", "ConnectionError"),
    ("invalid password", "AuthenticationError"),
    // Servers have spelt the command both ways.
    (
        "wrong number of arguments for 'auth' command",
        "AuthenticationWrongNumberOfArgsError",
    ),
    (
        "wrong number of arguments for 'AUTH' command",
        "AuthenticationWrongNumberOfArgsError",
    ),
    (
        "Error loading the extension. Please check the server logs.",
        "ModuleError",
    ),
    (
        "Error unloading module: the module exports one or more module-side data types, can't unload",
        "ModuleError",
    ),
    (
        "Error unloading module: no such module with that name",
        "ModuleError",
    ),
    (
        "Error unloading module: operation not possible.",
        "ModuleError",
    ),
    // AUTH to a server with no password set (Redis 6+, then older ones).
    (
        "AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?",
        "AuthenticationError",
    ),
    (
        "Client sent AUTH, but no password is set",
        "AuthenticationError",
    ),
    ("problem with LDAP service", "ExternalAuthProviderError"),
    ("no such fieldset", "NoSuchFieldsetError"),
];

/// Converts a core error to the Python exception a redis-py user expects.
#[cold]
pub fn to_py_err(py: Python<'_>, err: &Error) -> PyErr {
    let (class, message, status_code) = match class_for(py, err) {
        Ok(found) => found,
        Err(import_failure) => return import_failure,
    };
    let exception = PyErr::from_type(class, message.to_owned());
    let value = exception.value(py);
    // Best effort, as the attributes only help: which command of a batch
    // failed (the pipeline names it in the message, as redis-py does), and
    // the error code the message no longer starts with (redis-py's
    // `status_code`).
    if let Some(index) = err.index() {
        let _ = value.setattr("command_index", index);
    }
    if let Some(code) = status_code {
        let _ = value.setattr("status_code", code);
    }
    exception
}

/// The class, the message and the stripped code of a server error reply
/// (or of a core error, which keeps its message).
fn class_for<'py, 'e>(
    py: Python<'py>,
    err: &'e Error,
) -> PyResult<(Bound<'py, PyType>, &'e str, Option<&'e str>)> {
    let message = err.message();
    let class = match err.kind() {
        ErrorKind::Response | ErrorKind::Authentication => {
            if let Some((code, class)) = err.code().and_then(coded_class) {
                let detail = message
                    .strip_prefix(code)
                    .map_or(message, |rest| rest.strip_prefix(' ').unwrap_or(rest));
                let class = if code == "ERR" {
                    err_text_class(detail)
                } else if err.kind() == ErrorKind::Authentication && class == "ResponseError" {
                    "AuthenticationError"
                } else {
                    class
                };
                return Ok((exception_named(py, class)?, detail, Some(code)));
            }
            if err.kind() == ErrorKind::Authentication {
                authentication_error(py)?
            } else {
                response_error(py)?
            }
        }
        ErrorKind::Connection => match err.code() {
            Some(babushka_core::sentinel::MASTER_NOT_FOUND) => {
                return Ok((exception_named(py, "MasterNotFoundError")?, message, None));
            }
            Some(babushka_core::sentinel::SLAVE_NOT_FOUND) => {
                return Ok((exception_named(py, "SlaveNotFoundError")?, message, None));
            }
            _ => connection_error(py)?,
        },
        ErrorKind::Timeout => timeout_error(py)?,
        ErrorKind::Closed => closed_error(py)?,
        ErrorKind::InvalidInput => data_error(py)?,
        ErrorKind::Protocol => invalid_response(py)?,
        ErrorKind::Watch => watch_error(py)?,
        ErrorKind::Cluster if err.code() == Some("SLOTNOTCOVERED") => slot_not_covered_error(py)?,
        ErrorKind::Cluster => cluster_exception(py)?,
        _ => redis_error(py)?,
    };
    Ok((class.clone(), message, None))
}

fn coded_class(code: &str) -> Option<(&'static str, &'static str)> {
    CODE_CLASSES
        .iter()
        .copied()
        .find(|(known, _)| *known == code)
}

fn err_text_class(detail: &str) -> &'static str {
    ERR_TEXT_CLASSES
        .iter()
        .find(|(text, _)| *text == detail)
        .map_or("ResponseError", |(_, class)| class)
}

/// A class of `babushka.exceptions` by name (an error path: looked up each time).
fn exception_named<'py>(py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyType>> {
    static MODULE: PyOnceLock<Py<PyModule>> = PyOnceLock::new();
    let module =
        MODULE.get_or_try_init(py, || py.import("babushka.exceptions").map(Bound::unbind))?;
    Ok(module.bind(py).getattr(name)?.cast_into::<PyType>()?)
}

/// A `DataError` for a bad argument, carrying the argument's position so the
/// Python layer can name it.
#[cold]
pub fn bad_argument(py: Python<'_>, index: usize, message: String) -> PyErr {
    match data_error(py) {
        Ok(class) => {
            let err = PyErr::from_type(class.clone(), message);
            // Best effort: the position only improves the message.
            let _ = err.value(py).setattr("arg_index", index);
            err
        }
        Err(import_failure) => import_failure,
    }
}
