//! Python arguments to a Redis command, with redis-py's encoding rules:
//! `bytes`, `bytearray` and `memoryview` pass as they are, `str` is encoded,
//! `int` and `float` are written in decimal, and anything else (including
//! `None` and `bool`) is a `DataError` raised before anything is sent. So is
//! an argument longer than the server takes (512 MiB), found before it is
//! copied.

use babushka_core::command::{check_arg_len, decimal, MAX_ARG_LEN};
use babushka_core::{Command, CommandBuilder};
use pyo3::buffer::PyUntypedBuffer;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyByteArray, PyBytes, PyFloat, PyInt, PyString, PyTuple};

use crate::encoding::Encoding;
use crate::errors::{bad_argument, to_py_err};

/// Where encoded arguments go: a RESP command (managed and ffi transports)
/// or a socket frame's argument list (uds).
pub trait ArgSink {
    fn push_arg(&mut self, data: &[u8]);
}

impl ArgSink for CommandBuilder {
    fn push_arg(&mut self, data: &[u8]) {
        self.arg(data);
    }
}

impl ArgSink for Vec<bytes::Bytes> {
    fn push_arg(&mut self, data: &[u8]) {
        self.push(bytes::Bytes::copy_from_slice(data));
    }
}

impl ArgSink for Vec<Vec<u8>> {
    fn push_arg(&mut self, data: &[u8]) {
        self.push(data.to_vec());
    }
}

/// Encodes each of `names` (channels, patterns) as a command argument would be.
pub fn encode_names(names: &Bound<'_, PyTuple>, encoding: &Encoding) -> PyResult<Vec<Vec<u8>>> {
    let mut words = Vec::with_capacity(names.len());
    encode_args(names, encoding, &mut words)?;
    Ok(words)
}

/// Builds the command from a tuple of Python arguments (name first).
pub fn build_command(args: &Bound<'_, PyTuple>, encoding: &Encoding) -> PyResult<Command> {
    let mut builder = CommandBuilder::new();
    encode_args(args, encoding, &mut builder)?;
    builder.finish().map_err(|err| to_py_err(args.py(), &err))
}

/// Builds a command from the items of `args` from position `skip` on (a
/// pipeline's `(shape, name, *args)` tuple, without copying it).
pub fn build_command_after(
    args: &Bound<'_, PyTuple>,
    skip: usize,
    encoding: &Encoding,
) -> PyResult<Command> {
    let mut builder = CommandBuilder::new();
    encode_args_after(args, skip, encoding, &mut builder)?;
    builder.finish().map_err(|err| to_py_err(args.py(), &err))
}

/// [`build_command_after`] for the uds transport: the command's words, as a
/// frame carries them. Refuses an empty command as the core does.
pub fn command_words_after(
    args: &Bound<'_, PyTuple>,
    skip: usize,
    encoding: &Encoding,
) -> PyResult<Vec<bytes::Bytes>> {
    let mut words = Vec::with_capacity(args.len().saturating_sub(skip));
    encode_args_after(args, skip, encoding, &mut words)?;
    if words.is_empty() {
        // The core's own refusal, so every transport says the same.
        if let Err(err) = CommandBuilder::new().finish() {
            return Err(to_py_err(args.py(), &err));
        }
    }
    Ok(words)
}

fn encode_args_after(
    args: &Bound<'_, PyTuple>,
    skip: usize,
    encoding: &Encoding,
    sink: &mut impl ArgSink,
) -> PyResult<()> {
    for (index, arg) in args.iter().enumerate().skip(skip) {
        // A queued command's method has returned: its parameter names are
        // gone, so the error names the command (`request::read_commands`).
        push_arg(sink, &arg, index - skip, encoding, Lookup::Skip)?;
    }
    Ok(())
}

/// Encodes every argument into `sink`, or raises `DataError` for the first bad one.
pub fn encode_args(
    args: &Bound<'_, PyTuple>,
    encoding: &Encoding,
    sink: &mut impl ArgSink,
) -> PyResult<()> {
    for (index, arg) in args.iter().enumerate() {
        push_arg(sink, &arg, index, encoding, Lookup::Caller)?;
    }
    Ok(())
}

/// Whether a bad argument's parameter name can be found in the caller's frames.
#[derive(Clone, Copy)]
enum Lookup {
    Caller,
    Skip,
}

fn push_arg(
    cmd: &mut impl ArgSink,
    arg: &Bound<'_, PyAny>,
    index: usize,
    encoding: &Encoding,
    lookup: Lookup,
) -> PyResult<()> {
    // Every byte string's length is checked before it is copied anywhere, so
    // a value over the server's limit costs no memory on its way to the error.
    let checked = |len: usize| check_len(len, arg, index, lookup);
    // Exact-type checks first: they are the common case and the cheapest test.
    if let Ok(bytes) = arg.cast_exact::<PyBytes>() {
        checked(bytes.as_bytes().len())?;
        cmd.push_arg(bytes.as_bytes());
    } else if let Ok(text) = arg.cast_exact::<PyString>() {
        push_str(cmd, text, encoding, checked)?;
    } else if arg.is_instance_of::<PyBool>() {
        return Err(invalid_type(arg, index, lookup));
    } else if let Ok(int) = arg.cast::<PyInt>() {
        match int.extract::<i64>() {
            Ok(value) => {
                cmd.push_arg(decimal(value, &mut [0; 20]));
            }
            // Beyond 64 bits: Python's own decimal form is exact.
            Err(_) => {
                cmd.push_arg(int.str()?.to_str()?.as_bytes());
            }
        }
    } else if let Ok(float) = arg.cast::<PyFloat>() {
        // Python's repr is the shortest form that round-trips, as redis-py
        // sends; take float's own, not a subclass's (numpy.float64 prints
        // "np.float64(1.5)").
        if float.is_exact_instance_of::<PyFloat>() {
            cmd.push_arg(float.repr()?.to_str()?.as_bytes());
        } else {
            let text = arg
                .py()
                .get_type::<PyFloat>()
                .call_method1(pyo3::intern!(arg.py(), "__repr__"), (arg,))?;
            cmd.push_arg(text.cast::<PyString>()?.to_str()?.as_bytes());
        }
    } else if let Ok(bytes) = arg.cast::<PyBytes>() {
        checked(bytes.as_bytes().len())?;
        cmd.push_arg(bytes.as_bytes());
    } else if let Ok(text) = arg.cast::<PyString>() {
        push_str(cmd, text, encoding, checked)?;
    } else if let Ok(array) = arg.cast::<PyByteArray>() {
        checked(array.len())?;
        // SAFETY: the GIL is held and nothing below runs Python code, so no
        // one can resize or free the bytearray's buffer while it is copied.
        cmd.push_arg(unsafe { array.as_bytes() });
    } else if let Ok(buffer) = PyUntypedBuffer::get(arg) {
        // memoryview (which redis-py accepts) and other buffer objects.
        checked(buffer.len_bytes())?;
        if buffer.is_c_contiguous() {
            // SAFETY: a C-contiguous buffer is `len_bytes` bytes at
            // `buf_ptr`, valid while `buffer` holds the export (which also
            // keeps a bytearray under a memoryview from being resized); the
            // GIL is held and no Python code runs while it is read.
            let data = unsafe {
                std::slice::from_raw_parts(buffer.buf_ptr().cast::<u8>(), buffer.len_bytes())
            };
            cmd.push_arg(data);
        } else {
            // A strided view: Python gathers its bytes (length checked above).
            let bytes = arg.call_method0(pyo3::intern!(arg.py(), "tobytes"))?;
            cmd.push_arg(bytes.cast::<PyBytes>()?.as_bytes());
        }
    } else if arg.hasattr(pyo3::intern!(arg.py(), "tobytes"))? {
        // An object with a `tobytes` method but no buffer to read directly.
        let bytes = arg.call_method0(pyo3::intern!(arg.py(), "tobytes"))?;
        let bytes = bytes.cast::<PyBytes>()?;
        checked(bytes.as_bytes().len())?;
        cmd.push_arg(bytes.as_bytes());
    } else {
        return Err(invalid_type(arg, index, lookup));
    }
    Ok(())
}

/// Encodes a `str` argument, refusing one over the server's limit.
fn push_str(
    cmd: &mut impl ArgSink,
    text: &Bound<'_, PyString>,
    encoding: &Encoding,
    checked: impl Fn(usize) -> PyResult<()>,
) -> PyResult<()> {
    if encoding.is_utf8_strict() {
        // Every character takes a byte or more in UTF-8: a string with more
        // characters than the limit is refused before it is encoded (which
        // copies a non-ASCII string).
        checked(text.len()?)?;
    }
    encoding.encode_str(text, |data| {
        checked(data.len())?;
        cmd.push_arg(data);
        Ok(())
    })
}

/// `DataError` for an argument the server would not take (see
/// [`babushka_core::command::MAX_ARG_LEN`]), naming it.
fn check_len(len: usize, arg: &Bound<'_, PyAny>, index: usize, lookup: Lookup) -> PyResult<()> {
    match check_arg_len(len) {
        Ok(()) => Ok(()),
        Err(_) => Err(too_long(arg, len, index, lookup)),
    }
}

#[cold]
fn too_long(arg: &Bound<'_, PyAny>, len: usize, index: usize, lookup: Lookup) -> PyErr {
    let name =
        argument_name(arg, lookup).map_or_else(|| format!("#{index}"), |name| format!("'{name}'"));
    bad_argument(
        arg.py(),
        index,
        format!(
            "Argument {name} is {len} bytes, over the server's limit of {MAX_ARG_LEN} bytes for \
             one argument (proto-max-bulk-len); nothing was sent."
        ),
    )
}

#[cold]
fn invalid_type(arg: &Bound<'_, PyAny>, index: usize, lookup: Lookup) -> PyErr {
    let type_name = arg
        .get_type()
        .name()
        .map_or_else(|_| "?".to_owned(), |name| name.to_string());
    let subject = argument_name(arg, lookup)
        .map_or_else(String::new, |name| format!(" for argument '{name}'"));
    bad_argument(
        arg.py(),
        index,
        format!("Invalid input of type: '{type_name}'{subject}. Convert to a bytes, string, int or float first."),
    )
}

/// The name of the command method's parameter that holds `arg`, if it can
/// be found: only the Python caller knows it, so it is asked on this cold path.
#[cold]
fn argument_name(arg: &Bound<'_, PyAny>, lookup: Lookup) -> Option<String> {
    match lookup {
        Lookup::Caller => arg
            .py()
            .import("babushka._argnames")
            .and_then(|module| module.call_method1("argument_name", (arg,)))
            .and_then(|name| name.extract::<Option<String>>())
            .ok()
            .flatten(),
        Lookup::Skip => None,
    }
}
