//! Credentials from a Python `credential_provider` (redis-py's
//! `CredentialProvider`: `get_credentials()` returns `(password,)` or
//! `(username, password)`), asked for every time the core opens a connection.
//!
//! The core asks from one of its worker threads, in the middle of opening a
//! connection. The call runs on Tokio's blocking pool, which takes the GIL
//! there: a worker never waits for the GIL (so the runtime keeps serving
//! other clients while Python is busy), and no thread that holds the GIL
//! waits for the core (every wait in the binding releases it first), so the
//! two cannot wait for each other.
//!
//! Nothing here puts a password in an error: a reply of the wrong shape is
//! described by its type and length only.

use std::sync::Arc;

use babushka_core::{CredentialProvider, Credentials, Error, ErrorKind};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::PyTuple;

/// A core provider that calls `provider.get_credentials()`.
pub fn from_python(provider: Arc<Py<PyAny>>) -> CredentialProvider {
    CredentialProvider(Arc::new(move || {
        let provider = Arc::clone(&provider);
        Box::pin(async move {
            tokio::task::spawn_blocking(move || Python::attach(|py| ask(py, provider.bind(py))))
                .await
                .unwrap_or_else(|_| {
                    Err(Error::new(
                        ErrorKind::Internal,
                        "credential_provider.get_credentials() could not run",
                    ))
                })
        })
    }))
}

/// Calls `get_credentials()` and checks what it returned.
pub fn ask(py: Python<'_>, provider: &Bound<'_, PyAny>) -> Result<Credentials, Error> {
    let failed = |what: String| {
        Error::new(
            ErrorKind::Authentication,
            format!("credential_provider.get_credentials() {what}"),
        )
    };
    let reply = provider
        .call_method0(intern!(py, "get_credentials"))
        .map_err(|err| {
            let kind = err
                .get_type(py)
                .name()
                .map_or_else(|_| "an exception".to_owned(), |name| name.to_string());
            failed(format!("raised {kind}: {}", err.value(py)))
        })?;
    let shape_error = || {
        let kind = reply
            .get_type()
            .name()
            .map_or_else(|_| "?".to_owned(), |name| name.to_string());
        let len = reply
            .len()
            .map_or_else(|_| String::new(), |n| format!(" of {n} items"));
        failed(format!(
            "must return (password,) or (username, password) as str, got a {kind}{len}"
        ))
    };
    let Ok(items) = reply.cast::<PyTuple>() else {
        return Err(shape_error());
    };
    let text = |at: usize| -> Option<String> { items.get_item(at).ok()?.extract().ok() };
    match items.len() {
        1 => Ok(Credentials {
            username: None,
            password: text(0).ok_or_else(shape_error)?,
        }),
        2 => Ok(Credentials {
            username: Some(text(0).ok_or_else(shape_error)?),
            password: text(1).ok_or_else(shape_error)?,
        }),
        _ => Err(shape_error()),
    }
}
