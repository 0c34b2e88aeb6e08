//! How a client turns Python strings into bytes and reply bytes back into
//! strings (redis-py's `encoding`, `encoding_errors`, `decode_responses`).

use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};

pub struct Encoding {
    /// Return `str` rather than `bytes` for string replies.
    pub decode_responses: bool,
    /// UTF-8 with strict errors: Rust encodes and decodes without calling Python.
    utf8_strict: bool,
    codec: Py<PyString>,
    errors: Py<PyString>,
}

impl Encoding {
    pub fn new(py: Python<'_>, encoding: &str, errors: &str, decode_responses: bool) -> Self {
        let normalized = encoding.to_ascii_lowercase().replace('_', "-");
        Self {
            decode_responses,
            utf8_strict: matches!(normalized.as_str(), "utf-8" | "utf8") && errors == "strict",
            codec: PyString::new(py, encoding).unbind(),
            errors: PyString::new(py, errors).unbind(),
        }
    }

    /// Whether strings are UTF-8 with strict errors (each character then
    /// takes at least one byte).
    pub fn is_utf8_strict(&self) -> bool {
        self.utf8_strict
    }

    /// Hands the encoded form of `text` to `out`.
    pub fn encode_str(
        &self,
        text: &Bound<'_, PyString>,
        out: impl FnOnce(&[u8]) -> PyResult<()>,
    ) -> PyResult<()> {
        let py = text.py();
        if self.utf8_strict {
            return out(text.to_str()?.as_bytes());
        }
        let encoded = text.call_method1(
            intern!(py, "encode"),
            (self.codec.bind(py), self.errors.bind(py)),
        )?;
        out(encoded.cast::<PyBytes>()?.as_bytes())
    }

    /// A string reply: `bytes`, or `str` when the client decodes responses.
    pub fn reply_bytes<'py>(&self, py: Python<'py>, data: &[u8]) -> PyResult<Bound<'py, PyAny>> {
        if self.decode_responses {
            self.decode(py, data)
        } else {
            Ok(PyBytes::new(py, data).into_any())
        }
    }

    /// Decodes bytes to `str` regardless of `decode_responses` (for keys of
    /// parsed structures that are always text, such as INFO fields).
    pub fn decode<'py>(&self, py: Python<'py>, data: &[u8]) -> PyResult<Bound<'py, PyAny>> {
        if self.utf8_strict {
            return Ok(PyString::from_bytes(py, data)?.into_any());
        }
        PyBytes::new(py, data).call_method1(
            intern!(py, "decode"),
            (self.codec.bind(py), self.errors.bind(py)),
        )
    }
}
