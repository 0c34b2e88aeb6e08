//! Worker-thread configuration and runtime shutdown, as Python functions.

use std::time::Duration;

use babushka_core::runtime;
use pyo3::prelude::*;

use crate::errors::to_py_err;

/// Sets the runtime's worker count; only before the first client exists.
#[pyfunction]
fn configure(py: Python<'_>, worker_threads: usize) -> PyResult<()> {
    runtime::configure_worker_threads(worker_threads).map_err(|e| to_py_err(py, &e))
}

/// The runtime's worker count (or the count it would start with now).
#[pyfunction]
fn worker_threads(py: Python<'_>) -> PyResult<usize> {
    runtime::worker_threads().map_err(|e| to_py_err(py, &e))
}

#[pyfunction]
fn runtime_started() -> bool {
    runtime::is_started()
}

/// Removes the socket listener's socket, then stops the runtime's threads,
/// giving in-flight work `grace` seconds.
#[pyfunction]
#[pyo3(signature = (grace = 1.0))]
fn shutdown(py: Python<'_>, grace: f64) {
    let grace = Duration::try_from_secs_f64(grace).unwrap_or(Duration::ZERO);
    py.detach(|| {
        babushka_core::socket::shutdown();
        runtime::shutdown(grace);
    });
}

pub fn register(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_function(wrap_pyfunction!(configure, module)?)?;
    module.add_function(wrap_pyfunction!(worker_threads, module)?)?;
    module.add_function(wrap_pyfunction!(runtime_started, module)?)?;
    module.add_function(wrap_pyfunction!(shutdown, module)?)?;
    Ok(())
}
