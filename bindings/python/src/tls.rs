//! `_core.TlsSettings`: a client's TLS settings, handed to `Client(tls=...)`.
//! The Python layer turns redis-py's `ssl_*` keywords into these; the core
//! reads the files and checks the rest when the client is made.

use std::path::PathBuf;

use babushka_core::{TlsConfig, TlsVersion};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

#[pyclass(frozen, name = "TlsSettings", module = "babushka._core")]
pub struct PyTlsSettings {
    pub(crate) config: TlsConfig,
}

#[pymethods]
impl PyTlsSettings {
    #[new]
    #[pyo3(signature = (
        *, verify_peer = true, check_hostname = true, ca_file = None, ca_dir = None,
        ca_data = None, cert_file = None, key_file = None, key_password = None,
        min_version = 12, ciphers = None,
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        verify_peer: bool,
        check_hostname: bool,
        ca_file: Option<PathBuf>,
        ca_dir: Option<PathBuf>,
        ca_data: Option<Vec<u8>>,
        cert_file: Option<PathBuf>,
        key_file: Option<PathBuf>,
        key_password: Option<Vec<u8>>,
        min_version: u8,
        ciphers: Option<String>,
    ) -> PyResult<Self> {
        let min_version = match min_version {
            12 => TlsVersion::Tls12,
            13 => TlsVersion::Tls13,
            other => {
                return Err(PyValueError::new_err(format!(
                    "min_version must be 12 (TLS 1.2) or 13 (TLS 1.3), got {other}"
                )))
            }
        };
        Ok(Self {
            config: TlsConfig {
                verify_peer,
                check_hostname,
                ca_file,
                ca_dir,
                ca_data,
                cert_file,
                key_file,
                key_password,
                min_version,
                ciphers,
            },
        })
    }

    fn __repr__(&self) -> String {
        format!("TlsSettings({:?})", self.config)
    }
}
