//! The one place where core errors become Python exceptions.
//!
//! The exception classes live in `babushka/exceptions.py` (so they can also
//! subclass Python's builtin `ConnectionError` and `TimeoutError`); this module
//! looks each up once and caches it.

use babushka_core::{Error, ErrorKind};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyType;

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
exception_class!(no_script_error, "NoScriptError");
exception_class!(read_only_error, "ReadOnlyError");
exception_class!(exec_abort_error, "ExecAbortError");
exception_class!(busy_loading_error, "BusyLoadingError");
exception_class!(no_permission_error, "NoPermissionError");
exception_class!(invalid_response, "InvalidResponse");
exception_class!(watch_error, "WatchError");
exception_class!(cluster_exception, "RedisClusterException");
exception_class!(slot_not_covered_error, "SlotNotCoveredError");
exception_class!(cluster_down_error, "ClusterDownError");
exception_class!(master_down_error, "MasterDownError");
exception_class!(moved_error, "MovedError");
exception_class!(ask_error, "AskError");
exception_class!(try_again_error, "TryAgainError");
exception_class!(cross_slot_error, "ClusterCrossSlotError");

/// Converts a core error to the Python exception a redis-py user expects.
#[cold]
pub fn to_py_err(py: Python<'_>, err: &Error) -> PyErr {
    match class_for(py, err) {
        Ok(class) => {
            let exception = PyErr::from_type(class.clone(), err.message().to_owned());
            if let Some(index) = err.index() {
                // Which command of a batch failed; the pipeline names it in
                // the message, as redis-py does. Best effort: it only helps.
                let _ = exception.value(py).setattr("command_index", index);
            }
            exception
        }
        Err(import_failure) => import_failure,
    }
}

fn class_for<'py>(py: Python<'py>, err: &Error) -> PyResult<&'py Bound<'py, PyType>> {
    match err.kind() {
        ErrorKind::Response => match err.code() {
            Some("NOSCRIPT") => no_script_error(py),
            Some("READONLY") => read_only_error(py),
            Some("EXECABORT") => exec_abort_error(py),
            Some("LOADING") => busy_loading_error(py),
            Some("NOPERM") => no_permission_error(py),
            // A cluster's replies that outlived the router's retries.
            Some("CLUSTERDOWN") => cluster_down_error(py),
            Some("MASTERDOWN") => master_down_error(py),
            Some("MOVED") => moved_error(py),
            Some("ASK") => ask_error(py),
            Some("TRYAGAIN") => try_again_error(py),
            Some("CROSSSLOT") => cross_slot_error(py),
            // Two generic ERR replies redis-py classes by their text: a full
            // server refuses the connection, a wrong AUTH refuses the user.
            Some("ERR")
                if err
                    .message()
                    .starts_with("ERR max number of clients reached") =>
            {
                connection_error(py)
            }
            Some("ERR") if err.message().starts_with("ERR invalid password") => {
                authentication_error(py)
            }
            _ => response_error(py),
        },
        ErrorKind::Authentication => authentication_error(py),
        ErrorKind::Connection => connection_error(py),
        ErrorKind::Timeout => timeout_error(py),
        ErrorKind::Closed => closed_error(py),
        ErrorKind::InvalidInput => data_error(py),
        ErrorKind::Protocol => invalid_response(py),
        ErrorKind::Watch => watch_error(py),
        ErrorKind::Cluster if err.code() == Some("SLOTNOTCOVERED") => slot_not_covered_error(py),
        ErrorKind::Cluster => cluster_exception(py),
        _ => redis_error(py),
    }
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
