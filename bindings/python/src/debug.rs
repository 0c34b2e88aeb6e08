//! `_core._debug_panic_next(site)`, in debug builds only: arms one of the
//! core's panic sites (`babushka_core::debug`) so a test can check that a
//! panic fails its request with an exception and nothing else.

use pyo3::prelude::*;

#[cfg(debug_assertions)]
mod hook {
    use babushka_core::debug::{panic_next, PanicSite};
    use pyo3::exceptions::PyValueError;
    use pyo3::prelude::*;

    /// Makes the next request through `site` panic there: `"reader"` (a
    /// connection's reader task), `"listener"` (the uds listener's reply
    /// conversion) or `"reply"` (the binding's reply conversion); `None`
    /// disarms.
    #[pyfunction]
    #[pyo3(name = "_debug_panic_next")]
    fn debug_panic_next(site: Option<&str>) -> PyResult<()> {
        let site = match site {
            None => None,
            Some("reader") => Some(PanicSite::Reader),
            Some("listener") => Some(PanicSite::Listener),
            Some("reply") => Some(PanicSite::Reply),
            Some(other) => {
                return Err(PyValueError::new_err(format!(
                    "unknown panic site {other:?}: expected reader, listener or reply"
                )))
            }
        };
        panic_next(site);
        Ok(())
    }

    pub fn register(module: &Bound<'_, PyModule>) -> PyResult<()> {
        // Set as an attribute, not added: `add_function` would also list it
        // in the module's `__all__`, which the stub (checked by stubtest
        // against this debug build) must not name, as release builds lack it.
        module.setattr(
            "_debug_panic_next",
            wrap_pyfunction!(debug_panic_next, module)?,
        )
    }
}

/// Adds the hook to the module in debug builds; release builds have none.
#[allow(clippy::unnecessary_wraps)] // fallible in debug builds
pub fn register(module: &Bound<'_, PyModule>) -> PyResult<()> {
    #[cfg(debug_assertions)]
    hook::register(module)?;
    #[cfg(not(debug_assertions))]
    let _ = module;
    Ok(())
}
