//! Server replies to Python objects, shaped the way redis-py returns them.
//!
//! Each command names a [`Shape`] when it is sent (the core's command table
//! has each command's default), so the reply is built in its final form
//! here, once, with no Python-level post-processing for the common commands
//! (`SET` gives `True`, `HGETALL` a dict, `ZSCORE` a float).

use std::panic::AssertUnwindSafe;

use babushka_core::debug::{self, PanicSite};
use babushka_core::Error;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyDict, PyFloat, PyList, PyModule, PySet, PyTuple};
use redis::Value;

use crate::encoding::Encoding;
use crate::errors::to_py_err;

/// How to shape a reply: the core's command table names the shapes (and
/// each command's default one); this module builds them.
pub use babushka_core::table::Shape;

/// The shape a Python caller passed by number (`babushka._shapes`).
pub fn shape_from_u8(value: u8) -> PyResult<Shape> {
    Shape::from_u8(value).ok_or_else(|| unknown_shape(value))
}

#[cold]
fn unknown_shape(value: u8) -> PyErr {
    PyValueError::new_err(format!("unknown reply shape {value}"))
}

/// How to shape the outcome of a request: one command's reply, or a batch's
/// list of replies with a shape for each.
#[derive(Debug, Clone)]
pub enum ReplyShape {
    One(Shape),
    Each(Vec<Shape>),
}

/// Builds the Python object for a request's reply. A batch becomes a list,
/// an error reply inside it an exception object in its place (as in
/// redis-py's `execute(raise_on_error=False)`).
///
/// Every transport builds its replies here, on whichever thread it does so
/// (the caller's, or a runtime thread for ffi's callbacks). A panic while
/// building one (a bug) ends that one request with a `RedisError` that says
/// so: it must not take the batch of replies being delivered with it (a
/// managed drain or a uds read resolves many in one call), nor the thread.
pub fn shape_reply<'py>(
    py: Python<'py>,
    value: Value,
    shape: &ReplyShape,
    encoding: &Encoding,
) -> PyResult<Bound<'py, PyAny>> {
    // Unwind safety: after a panic, what was built is dropped unseen.
    std::panic::catch_unwind(AssertUnwindSafe(|| {
        debug::maybe_panic(PanicSite::Reply);
        shape_reply_unguarded(py, value, shape, encoding)
    }))
    .unwrap_or_else(|panic| {
        Err(to_py_err(
            py,
            &Error::from_panic("building the reply", &*panic),
        ))
    })
}

fn shape_reply_unguarded<'py>(
    py: Python<'py>,
    value: Value,
    shape: &ReplyShape,
    encoding: &Encoding,
) -> PyResult<Bound<'py, PyAny>> {
    match shape {
        ReplyShape::One(shape) => to_python(py, value, *shape, encoding),
        ReplyShape::Each(shapes) => {
            let Value::Array(items) = value else {
                return Err(PyValueError::new_err(format!(
                    "a batch's reply must be an array, got {value:?}"
                )));
            };
            let list = PyList::empty(py);
            for (at, item) in items.into_iter().enumerate() {
                let shape = shapes.get(at).copied().unwrap_or(Shape::Raw);
                let item = match item {
                    error @ Value::ServerError(_) => raw(py, error, encoding)?,
                    item => to_python(py, item, shape, encoding)?,
                };
                list.append(item)?;
            }
            Ok(list.into_any())
        }
    }
}

/// Builds the Python object for a reply.
pub fn to_python<'py>(
    py: Python<'py>,
    value: Value,
    shape: Shape,
    encoding: &Encoding,
) -> PyResult<Bound<'py, PyAny>> {
    match shape {
        Shape::Raw => raw(py, value, encoding),
        Shape::Ok => match value {
            Value::Okay => Ok(true.into_pyobject(py)?.to_owned().into_any()),
            Value::SimpleString(text) if text == "OK" => {
                Ok(true.into_pyobject(py)?.to_owned().into_any())
            }
            other => raw(py, other, encoding),
        },
        Shape::Bool => match value {
            Value::Int(n) => Ok((n != 0).into_pyobject(py)?.to_owned().into_any()),
            Value::Okay => Ok(true.into_pyobject(py)?.to_owned().into_any()),
            other => raw(py, other, encoding),
        },
        Shape::Float => float(py, value, encoding),
        Shape::Int => match value {
            Value::BulkString(data) => match std::str::from_utf8(&data)
                .ok()
                .and_then(|t| t.parse::<i64>().ok())
            {
                Some(n) => Ok(n.into_pyobject(py)?.into_any()),
                None => raw(py, Value::BulkString(data), encoding),
            },
            other => raw(py, other, encoding),
        },
        Shape::Pairs => pairs(py, value, encoding).map(Bound::into_any),
        Shape::Scored => scored(py, value, encoding).map(Bound::into_any),
        Shape::Set => match value {
            Value::Array(items) | Value::Set(items) => {
                let set = PySet::empty(py)?;
                for item in items {
                    set.add(raw(py, item, encoding)?)?;
                }
                Ok(set.into_any())
            }
            other => raw(py, other, encoding),
        },
        Shape::BoolList => map_list(py, value, encoding, |py, item, encoding| {
            to_python(py, item, Shape::Bool, encoding)
        }),
        Shape::FloatList => map_list(py, value, encoding, float),
        Shape::Scan | Shape::ScanPairs | Shape::ScanScored => scan(py, value, shape, encoding),
        Shape::Tuple => match value {
            Value::Array(items) => {
                let items = items
                    .into_iter()
                    .map(|item| raw(py, item, encoding))
                    .collect::<PyResult<Vec<_>>>()?;
                Ok(PyTuple::new(py, items)?.into_any())
            }
            other => raw(py, other, encoding),
        },
        Shape::KeyMemberScore => match value {
            Value::Array(items) => match <[Value; 3]>::try_from(items) {
                Ok([key, member, score]) => {
                    let triple = [
                        raw(py, key, encoding)?,
                        raw(py, member, encoding)?,
                        float(py, score, encoding)?,
                    ];
                    Ok(PyTuple::new(py, triple)?.into_any())
                }
                Err(items) => raw(py, Value::Array(items), encoding),
            },
            other => raw(py, other, encoding),
        },
        Shape::Bytes => match value {
            Value::BulkString(data) => Ok(PyBytes::new(py, &data).into_any()),
            other => raw(py, other, encoding),
        },
        parsed => {
            let value = resp2_form(value);
            let reply = if parsed.keeps_bytes() && encoding.decode_responses {
                raw(py, value, &Encoding::new(py, "utf-8", "strict", false))?
            } else {
                raw(py, value, encoding)?
            };
            parse_in_python(py, parsed, reply)
        }
    }
}

/// A RESP3 reply in the form RESP2 gives it (maps and sets as flat arrays,
/// doubles as their text, booleans as 0/1), so a Python parser reads one
/// form whatever the protocol, and gives redis-py's RESP2 value (whose
/// order a Python set would lose: `COMMAND`'s flags).
fn resp2_form(value: Value) -> Value {
    match value {
        Value::Map(entries) => Value::Array(
            entries
                .into_iter()
                .flat_map(|(key, value)| [resp2_form(key), resp2_form(value)])
                .collect(),
        ),
        Value::Array(items) | Value::Set(items) => {
            Value::Array(items.into_iter().map(resp2_form).collect())
        }
        Value::Double(number) => Value::BulkString(number.to_string().into_bytes()),
        Value::Boolean(flag) => Value::Int(i64::from(flag)),
        Value::VerbatimString { text, .. } => Value::BulkString(text.into_bytes()),
        Value::Attribute { data, .. } => resp2_form(*data),
        other => other,
    }
}

/// Hands a reply, built as it is, to its shape's parser in
/// `babushka._replies`, `parse_<shape name>` (the shapes of
/// `Shape::parsed_in_python`).
fn parse_in_python<'py>(
    py: Python<'py>,
    shape: Shape,
    reply: Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    static PARSERS: PyOnceLock<Py<PyModule>> = PyOnceLock::new();
    let parsers =
        PARSERS.get_or_try_init(py, || py.import("babushka._replies").map(Bound::unbind))?;
    parsers
        .bind(py)
        .getattr(format!("parse_{}", shape.name().to_ascii_lowercase()))?
        .call1((reply,))
}

/// The reply as it is, recursively.
fn raw<'py>(py: Python<'py>, value: Value, encoding: &Encoding) -> PyResult<Bound<'py, PyAny>> {
    Ok(match value {
        Value::Nil => py.None().into_bound(py),
        Value::Int(n) => n.into_pyobject(py)?.into_any(),
        Value::BulkString(data) => encoding.reply_bytes(py, &data)?,
        Value::SimpleString(text) | Value::VerbatimString { text, .. } => {
            encoding.reply_bytes(py, text.as_bytes())?
        }
        Value::Okay => encoding.reply_bytes(py, b"OK")?,
        Value::Array(items) => list(py, items, encoding)?.into_any(),
        Value::Set(items) => {
            let items = items
                .into_iter()
                .map(|item| raw(py, item, encoding))
                .collect::<PyResult<Vec<_>>>()?;
            // A set of maps (RESP3 `COMMAND`'s key specs) cannot be a Python
            // set: it stays a list, in the server's order.
            match PySet::new(py, &items) {
                Ok(set) => set.into_any(),
                Err(_) => PyList::new(py, items)?.into_any(),
            }
        }
        Value::Map(entries) => {
            let dict = PyDict::new(py);
            for (key, value) in entries {
                dict.set_item(raw(py, key, encoding)?, raw(py, value, encoding)?)?;
            }
            dict.into_any()
        }
        Value::Attribute { data, .. } => raw(py, *data, encoding)?,
        Value::Double(number) => PyFloat::new(py, number).into_any(),
        Value::Boolean(flag) => flag.into_pyobject(py)?.to_owned().into_any(),
        Value::BigNumber(number) => py
            .get_type::<pyo3::types::PyInt>()
            .call1((String::from_utf8_lossy(&number).into_owned(),))?,
        Value::Push { data, .. } => list(py, data, encoding)?.into_any(),
        Value::ServerError(err) => {
            // An error nested in an array (a transaction's results): returned in
            // place as an exception object, as redis-py does for pipelines.
            let err = babushka_core::Error::from(redis::RedisError::from(err));
            to_py_err(py, &err).into_value(py).into_bound(py).into_any()
        }
        // `Value` is non-exhaustive in spirit; a future variant is reported, not dropped.
        #[allow(unreachable_patterns)]
        other => {
            return Err(PyValueError::new_err(format!(
                "unsupported reply type: {other:?}"
            )))
        }
    })
}

fn list<'py>(
    py: Python<'py>,
    items: Vec<Value>,
    encoding: &Encoding,
) -> PyResult<Bound<'py, PyList>> {
    let list = PyList::empty(py);
    for item in items {
        list.append(raw(py, item, encoding)?)?;
    }
    Ok(list)
}

fn map_list<'py>(
    py: Python<'py>,
    value: Value,
    encoding: &Encoding,
    each: impl Fn(Python<'py>, Value, &Encoding) -> PyResult<Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    match value {
        Value::Array(items) | Value::Set(items) => {
            let list = PyList::empty(py);
            for item in items {
                list.append(each(py, item, encoding)?)?;
            }
            Ok(list.into_any())
        }
        other => raw(py, other, encoding),
    }
}

fn float<'py>(py: Python<'py>, value: Value, encoding: &Encoding) -> PyResult<Bound<'py, PyAny>> {
    let parsed = match &value {
        Value::BulkString(data) => parse_float(data),
        Value::SimpleString(text) => parse_float(text.as_bytes()),
        Value::Double(number) => Some(*number),
        // Precision loss past 2^53 is what Python's float(int) does too.
        #[allow(clippy::cast_precision_loss)]
        Value::Int(n) => Some(*n as f64),
        _ => None,
    };
    match parsed {
        Some(number) => Ok(PyFloat::new(py, number).into_any()),
        None => raw(py, value, encoding),
    }
}

fn parse_float(data: &[u8]) -> Option<f64> {
    let text = std::str::from_utf8(data).ok()?;
    // Redis writes infinities as "inf"/"-inf", which Rust's parser accepts.
    text.parse::<f64>().ok()
}

/// A dict from a flat array or a RESP3 map.
fn pairs<'py>(py: Python<'py>, value: Value, encoding: &Encoding) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    match value {
        Value::Map(entries) => {
            for (key, value) in entries {
                dict.set_item(raw(py, key, encoding)?, raw(py, value, encoding)?)?;
            }
        }
        Value::Array(items) => {
            let mut items = items.into_iter();
            while let (Some(key), Some(value)) = (items.next(), items.next()) {
                dict.set_item(raw(py, key, encoding)?, raw(py, value, encoding)?)?;
            }
        }
        Value::Nil => {}
        other => {
            return Err(PyValueError::new_err(format!(
                "expected pairs, got {other:?}"
            )))
        }
    }
    Ok(dict)
}

/// `[(member, score), ...]` from a flat array (RESP2) or an array of pairs (RESP3).
fn scored<'py>(py: Python<'py>, value: Value, encoding: &Encoding) -> PyResult<Bound<'py, PyList>> {
    let list = PyList::empty(py);
    let Value::Array(items) = value else {
        return Ok(list);
    };
    let push = |member: Value, score: Value| -> PyResult<()> {
        let pair = PyTuple::new(
            py,
            [raw(py, member, encoding)?, float(py, score, encoding)?],
        )?;
        list.append(pair)
    };
    if items.iter().all(|item| matches!(item, Value::Array(_))) && !items.is_empty() {
        for item in items {
            if let Value::Array(pair) = item {
                let mut pair = pair.into_iter();
                if let (Some(member), Some(score)) = (pair.next(), pair.next()) {
                    push(member, score)?;
                }
            }
        }
    } else {
        let mut items = items.into_iter();
        while let (Some(member), Some(score)) = (items.next(), items.next()) {
            push(member, score)?;
        }
    }
    Ok(list)
}

fn scan<'py>(
    py: Python<'py>,
    value: Value,
    shape: Shape,
    encoding: &Encoding,
) -> PyResult<Bound<'py, PyAny>> {
    let Value::Array(parts) = value else {
        return raw(py, value, encoding);
    };
    let mut parts = parts.into_iter();
    let (Some(cursor), Some(items)) = (parts.next(), parts.next()) else {
        return Err(PyValueError::new_err("malformed SCAN reply"));
    };
    let cursor = to_python(py, cursor, Shape::Int, encoding)?;
    let items = match shape {
        Shape::ScanPairs => pairs(py, items, encoding)?.into_any(),
        Shape::ScanScored => scored(py, items, encoding)?.into_any(),
        _ => raw(py, items, encoding)?,
    };
    Ok(PyTuple::new(py, [cursor, items])?.into_any())
}
