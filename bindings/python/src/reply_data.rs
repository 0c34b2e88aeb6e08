//! The shapes of data-type replies that are structures (streams, geo) or
//! that RESP3 changes beyond what the common shapes undo, built as
//! redis-py's default ("legacy", RESP2) values whatever the protocol.

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString, PyTuple};
use redis::Value;

use crate::encoding::Encoding;
use babushka_core::table::resp2_double;

use crate::reply::{float, pairs, raw, to_python, Shape};

/// A reply's key/value pairs, from a RESP3 map or a flat RESP2 array.
fn entries_of(value: Value) -> Result<Vec<(Value, Value)>, Value> {
    match value {
        Value::Map(entries) => Ok(entries),
        Value::Array(items) => {
            let mut items = items.into_iter();
            let mut entries = Vec::with_capacity(items.len() / 2);
            while let (Some(key), Some(value)) = (items.next(), items.next()) {
                entries.push((key, value));
            }
            Ok(entries)
        }
        other => Err(other),
    }
}

/// A key redis-py decodes to `str` whatever `decode_responses` says.
fn str_key<'py>(py: Python<'py>, key: Value, encoding: &Encoding) -> PyResult<Bound<'py, PyAny>> {
    match key {
        Value::BulkString(data) => encoding.decode(py, &data),
        Value::SimpleString(text) => Ok(PyString::new(py, &text).into_any()),
        other => raw(py, other, encoding),
    }
}

/// The text of a key, to pick out the entries a shape treats apart.
fn key_text(key: &Value) -> &[u8] {
    match key {
        Value::BulkString(data) => data,
        Value::SimpleString(text) => text.as_bytes(),
        _ => b"",
    }
}

/// A dict with `str` keys and raw values; `each` may shape a value by key.
fn str_dict<'py>(
    py: Python<'py>,
    value: Value,
    encoding: &Encoding,
    each: impl Fn(&[u8], Value) -> PyResult<Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let entries = match entries_of(value) {
        Ok(entries) => entries,
        Err(other) => return raw(py, other, encoding),
    };
    let dict = PyDict::new(py);
    for (key, value) in entries {
        let shaped = each(key_text(&key), value)?;
        dict.set_item(str_key(py, key, encoding)?, shaped)?;
    }
    Ok(dict.into_any())
}

fn list_of<'py>(
    py: Python<'py>,
    value: Value,
    encoding: &Encoding,
    each: impl Fn(Value) -> PyResult<Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    match value {
        Value::Array(items) => {
            let list = PyList::empty(py);
            for item in items {
                list.append(each(item)?)?;
            }
            Ok(list.into_any())
        }
        other => raw(py, other, encoding),
    }
}

pub fn stream_entries<'py>(
    py: Python<'py>,
    value: Value,
    encoding: &Encoding,
) -> PyResult<Bound<'py, PyAny>> {
    list_of(py, value, encoding, |item| stream_entry(py, item, encoding))
}

/// `(id, {field: value}, *rest)`; a deleted entry `(None, None)`.
fn stream_entry<'py>(
    py: Python<'py>,
    value: Value,
    encoding: &Encoding,
) -> PyResult<Bound<'py, PyAny>> {
    match value {
        Value::Nil => Ok(PyTuple::new(py, [py.None(), py.None()])?.into_any()),
        Value::Array(parts) => {
            let mut parts = parts.into_iter();
            let mut items = Vec::with_capacity(2);
            if let Some(id) = parts.next() {
                items.push(raw(py, id, encoding)?);
            }
            // A nil field list (an entry deleted while pending) is redis-py's {}.
            items.push(match parts.next() {
                Some(fields) => pairs(py, fields, encoding)?.into_any(),
                None => PyDict::new(py).into_any(),
            });
            for rest in parts {
                items.push(raw(py, rest, encoding)?);
            }
            Ok(PyTuple::new(py, items)?.into_any())
        }
        other => raw(py, other, encoding),
    }
}

pub fn streams_read<'py>(
    py: Python<'py>,
    value: Value,
    encoding: &Encoding,
) -> PyResult<Bound<'py, PyAny>> {
    let list = PyList::empty(py);
    let push = |stream: Value, entries: Value| -> PyResult<()> {
        let pair = [
            raw(py, stream, encoding)?,
            stream_entries(py, entries, encoding)?,
        ];
        list.append(PyList::new(py, pair)?)
    };
    match value {
        Value::Nil => {}
        Value::Map(streams) => {
            for (stream, entries) in streams {
                push(stream, entries)?;
            }
        }
        Value::Array(streams) => {
            for stream in streams {
                let Value::Array(pair) = stream else {
                    list.append(raw(py, stream, encoding)?)?;
                    continue;
                };
                let mut pair = pair.into_iter();
                if let (Some(name), Some(entries)) = (pair.next(), pair.next()) {
                    push(name, entries)?;
                }
            }
        }
        other => return raw(py, other, encoding),
    }
    Ok(list.into_any())
}

pub fn auto_claim<'py>(
    py: Python<'py>,
    value: Value,
    encoding: &Encoding,
) -> PyResult<Bound<'py, PyAny>> {
    let Value::Array(parts) = value else {
        return raw(py, value, encoding);
    };
    let list = PyList::empty(py);
    for (at, part) in parts.into_iter().enumerate() {
        list.append(if at == 1 {
            stream_entries(py, part, encoding)?
        } else {
            raw(py, part, encoding)?
        })?;
    }
    Ok(list.into_any())
}

pub fn str_dicts<'py>(
    py: Python<'py>,
    value: Value,
    encoding: &Encoding,
) -> PyResult<Bound<'py, PyAny>> {
    list_of(py, value, encoding, |item| {
        str_dict(py, item, encoding, |_, value| raw(py, value, encoding))
    })
}

pub fn stream_info<'py>(
    py: Python<'py>,
    value: Value,
    encoding: &Encoding,
) -> PyResult<Bound<'py, PyAny>> {
    str_dict(py, value, encoding, |key, value| match key {
        b"first-entry" | b"last-entry" if matches!(value, Value::Array(_)) => {
            stream_entry(py, value, encoding)
        }
        // FULL: {id: {field: value}}.
        b"entries" => {
            let Value::Array(entries) = value else {
                return raw(py, value, encoding);
            };
            let dict = PyDict::new(py);
            for entry in entries {
                if let Ok(tuple) = stream_entry(py, entry, encoding)?.cast_into::<PyTuple>() {
                    dict.set_item(tuple.get_item(0)?, tuple.get_item(1)?)?;
                }
            }
            Ok(dict.into_any())
        }
        b"groups" => list_of(py, value, encoding, |group| {
            str_dict(py, group, encoding, |key, value| match key {
                b"consumers" => list_of(py, value, encoding, |consumer| {
                    str_dict(py, consumer, encoding, |_, value| raw(py, value, encoding))
                }),
                _ => raw(py, value, encoding),
            })
        }),
        _ => raw(py, value, encoding),
    })
}

const PENDING_RANGE_KEYS: [&str; 4] = [
    "message_id",
    "consumer",
    "time_since_delivered",
    "times_delivered",
];

pub fn pending<'py>(
    py: Python<'py>,
    value: Value,
    encoding: &Encoding,
) -> PyResult<Bound<'py, PyAny>> {
    let Value::Array(items) = value else {
        return raw(py, value, encoding);
    };
    if !matches!(items.first(), Some(Value::Int(_))) {
        // The range form: one array per pending entry.
        return list_of(py, Value::Array(items), encoding, |entry| {
            let Value::Array(fields) = entry else {
                return raw(py, entry, encoding);
            };
            let dict = PyDict::new(py);
            for (key, field) in PENDING_RANGE_KEYS.into_iter().zip(fields) {
                dict.set_item(key, raw(py, field, encoding)?)?;
            }
            Ok(dict.into_any())
        });
    }
    let dict = PyDict::new(py);
    let mut items = items.into_iter();
    for key in ["pending", "min", "max"] {
        dict.set_item(key, raw(py, items.next().unwrap_or(Value::Nil), encoding)?)?;
    }
    let consumers = PyList::empty(py);
    if let Ok(entries) = entries_of_consumers(items.next()) {
        for (name, count) in entries {
            let consumer = PyDict::new(py);
            consumer.set_item("name", raw(py, name, encoding)?)?;
            consumer.set_item("pending", to_python(py, count, Shape::Int, encoding)?)?;
            consumers.append(consumer)?;
        }
    }
    dict.set_item("consumers", consumers)?;
    Ok(dict.into_any())
}

/// XPENDING's consumers: `[[name, count], ...]` (nil when none is pending).
fn entries_of_consumers(value: Option<Value>) -> Result<Vec<(Value, Value)>, ()> {
    let Some(Value::Array(consumers)) = value else {
        return Err(());
    };
    Ok(consumers
        .into_iter()
        .filter_map(|consumer| match consumer {
            Value::Array(pair) => {
                let mut pair = pair.into_iter();
                Some((pair.next()?, pair.next()?))
            }
            _ => None,
        })
        .collect())
}

fn coord<'py>(py: Python<'py>, value: Value, encoding: &Encoding) -> PyResult<Bound<'py, PyAny>> {
    match value {
        Value::Array(pair) => match <[Value; 2]>::try_from(pair) {
            Ok([lon, lat]) => {
                let coords = [float(py, lon, encoding)?, float(py, lat, encoding)?];
                Ok(PyTuple::new(py, coords)?.into_any())
            }
            Err(items) => raw(py, Value::Array(items), encoding),
        },
        other => raw(py, other, encoding),
    }
}

pub fn coords<'py>(
    py: Python<'py>,
    value: Value,
    encoding: &Encoding,
) -> PyResult<Bound<'py, PyAny>> {
    list_of(py, value, encoding, |item| coord(py, item, encoding))
}

pub fn geo_results<'py>(
    py: Python<'py>,
    value: Value,
    encoding: &Encoding,
) -> PyResult<Bound<'py, PyAny>> {
    list_of(py, value, encoding, |item| {
        let Value::Array(parts) = item else {
            return raw(py, item, encoding);
        };
        let list = PyList::empty(py);
        for (at, part) in parts.into_iter().enumerate() {
            // The name first, then whichever of distance (a number as a
            // string, or a RESP3 double), hash (an integer) and position
            // (a pair) were asked for, in that order.
            list.append(match part {
                part if at == 0 => raw(py, part, encoding)?,
                part @ Value::Array(_) => coord(py, part, encoding)?,
                part @ Value::Int(_) => raw(py, part, encoding)?,
                part => float(py, part, encoding)?,
            })?;
        }
        Ok(list.into_any())
    })
}

pub fn flat<'py>(
    py: Python<'py>,
    value: Value,
    encoding: &Encoding,
) -> PyResult<Bound<'py, PyAny>> {
    let is_pairs = |items: &[Value]| {
        !items.is_empty()
            && items
                .iter()
                .all(|item| matches!(item, Value::Array(pair) if pair.len() == 2))
    };
    match value {
        Value::Map(entries) => {
            let list = PyList::empty(py);
            for (key, value) in entries {
                list.append(resp2(py, key, encoding)?)?;
                list.append(resp2(py, value, encoding)?)?;
            }
            Ok(list.into_any())
        }
        Value::Array(items) if is_pairs(&items) => {
            let list = PyList::empty(py);
            for pair in items {
                if let Value::Array(pair) = pair {
                    for item in pair {
                        list.append(resp2(py, item, encoding)?)?;
                    }
                }
            }
            Ok(list.into_any())
        }
        other => resp2(py, other, encoding),
    }
}

/// The reply as RESP2 gives it: doubles as strings, maps as flat arrays.
fn resp2<'py>(py: Python<'py>, value: Value, encoding: &Encoding) -> PyResult<Bound<'py, PyAny>> {
    match value {
        Value::Double(number) => encoding.reply_bytes(py, resp2_double(number).as_bytes()),
        Value::Array(items) => list_of(py, Value::Array(items), encoding, |item| {
            resp2(py, item, encoding)
        }),
        map @ Value::Map(_) => flat(py, map, encoding),
        other => raw(py, other, encoding),
    }
}
