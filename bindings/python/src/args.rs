//! Python arguments to a Redis command, with redis-py's encoding rules:
//! `bytes`, `bytearray` and `memoryview` pass as they are, `str` is encoded,
//! `int` and `float` are written in decimal, and anything else (including
//! `None` and `bool`) is a `DataError` raised before anything is sent.

use babushka_core::command::decimal;
use babushka_core::{Command, CommandBuilder};
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
    // Exact-type checks first: they are the common case and the cheapest test.
    if let Ok(bytes) = arg.cast_exact::<PyBytes>() {
        cmd.push_arg(bytes.as_bytes());
    } else if let Ok(text) = arg.cast_exact::<PyString>() {
        encoding.encode_str(text, |data| {
            cmd.push_arg(data);
        })?;
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
        cmd.push_arg(bytes.as_bytes());
    } else if let Ok(text) = arg.cast::<PyString>() {
        encoding.encode_str(text, |data| {
            cmd.push_arg(data);
        })?;
    } else if let Ok(array) = arg.cast::<PyByteArray>() {
        cmd.push_arg(array.to_vec().as_slice());
    } else if arg.hasattr(pyo3::intern!(arg.py(), "tobytes"))? {
        // memoryview and other buffer objects that redis-py accepts.
        let bytes = arg.call_method0(pyo3::intern!(arg.py(), "tobytes"))?;
        cmd.push_arg(bytes.cast::<PyBytes>()?.as_bytes());
    } else {
        return Err(invalid_type(arg, index, lookup));
    }
    Ok(())
}

#[cold]
fn invalid_type(arg: &Bound<'_, PyAny>, index: usize, lookup: Lookup) -> PyErr {
    let type_name = arg
        .get_type()
        .name()
        .map_or_else(|_| "?".to_owned(), |name| name.to_string());
    let py = arg.py();
    // Only the Python caller knows the parameter's name; ask it on this cold path.
    let name = match lookup {
        Lookup::Caller => py
            .import("babushka._argnames")
            .and_then(|module| module.call_method1("argument_name", (arg,)))
            .and_then(|name| name.extract::<Option<String>>())
            .ok()
            .flatten(),
        Lookup::Skip => None,
    };
    let subject = name.map_or_else(String::new, |name| format!(" for argument '{name}'"));
    bad_argument(
        py,
        index,
        format!("Invalid input of type: '{type_name}'{subject}. Convert to a bytes, string, int or float first."),
    )
}
