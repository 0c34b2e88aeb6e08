//! The Python form of a request, as every transport's `execute_request`
//! takes it: a kind (0 one command, 1 a pipeline, 2 a transaction) and a
//! sequence of `(shape, name, *args)` tuples. Read here once, so the
//! transports agree on what they accept and how replies are shaped; each
//! encodes the commands its own way (RESP for managed and ffi, frame words
//! for uds).

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PySequence, PyTuple};

use crate::reply::{shape_from_u8, ReplyShape};

/// What `kind` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    One,
    Pipeline,
    Transaction,
}

impl Kind {
    pub fn from_u8(kind: u8) -> PyResult<Self> {
        match kind {
            0 => Ok(Self::One),
            1 => Ok(Self::Pipeline),
            2 => Ok(Self::Transaction),
            other => Err(PyValueError::new_err(format!(
                "unknown request kind {other}"
            ))),
        }
    }
}

/// Reads `commands`, encoding each tuple (from its name on) with `encode`,
/// and the shape the request's reply gets. Raises `TypeError` for a malformed
/// sequence, `ValueError` for kind 0 without exactly one command, and
/// whatever `encode` raises (`DataError`) before anything is sent.
pub fn read_commands<T>(
    kind: Kind,
    commands: &Bound<'_, PyAny>,
    mut encode: impl FnMut(&Bound<'_, PyTuple>) -> PyResult<T>,
) -> PyResult<(Vec<T>, ReplyShape)> {
    let commands = commands.cast::<PySequence>().map_err(|_| {
        PyTypeError::new_err("commands must be a sequence of (shape, name, *args) tuples")
    })?;
    let count = commands.len()?;
    let one_command = || PyValueError::new_err("kind 0 takes exactly one command");
    if kind == Kind::One && count != 1 {
        return Err(one_command());
    }
    let mut encoded = Vec::with_capacity(count);
    let mut shapes = Vec::with_capacity(count);
    for (index, item) in commands.try_iter()?.enumerate() {
        let item = item?;
        let item = item.cast::<PyTuple>().map_err(|_| {
            PyTypeError::new_err("each command must be a (shape, name, *args) tuple")
        })?;
        let shape: u8 = item.get_item(0)?.extract()?;
        shapes.push(shape_from_u8(shape)?);
        encoded.push(encode(item).map_err(|err| in_batch(item, err, index, count))?);
    }
    let shape = match kind {
        // Checked again: a sequence's iteration may disagree with its len().
        Kind::One => match shapes.as_slice() {
            [shape] => ReplyShape::One(*shape),
            _ => return Err(one_command()),
        },
        Kind::Pipeline | Kind::Transaction => ReplyShape::Each(shapes),
    };
    Ok((encoded, shape))
}

/// Names the command of a batch whose argument could not be encoded, and
/// gives the exception its position as `command_index`.
#[cold]
fn in_batch(item: &Bound<'_, PyTuple>, err: PyErr, index: usize, count: usize) -> PyErr {
    if count > 1 {
        let value = err.value(item.py());
        let name = item
            .get_item(1)
            .and_then(|name| name.str().map(|name| name.to_string()))
            .unwrap_or_else(|_| "?".to_owned());
        if let Ok(message) = value.str() {
            let numbered = format!(
                "Command # {} ({name}) of the pipeline: {message}",
                index + 1
            );
            let _ = value.setattr("args", (numbered,));
        }
        let _ = value.setattr("command_index", index);
    }
    err
}
