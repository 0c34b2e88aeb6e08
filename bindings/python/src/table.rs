//! The core's command table, as Python sees it: the reply shapes' numbers
//! (`SHAPE_RAW`, ...), each entry as a `CommandSpec` (built once, shared by
//! every lookup), and a command's keys.

use std::collections::HashMap;

use babushka_core::table::{self, Begin, CommandSpec, Find, Shape, Timeout};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyFrozenSet, PyString, PyTuple};

use crate::args::build_command;
use crate::encoding::Encoding;

/// One entry of the command table (read-only).
#[pyclass(frozen, get_all, name = "CommandSpec", module = "babushka._core")]
pub struct PyCommandSpec {
    /// Upper case; a subcommand's is `"CONTAINER SUB"`.
    name: String,
    /// `COMMAND INFO`'s flags the table keeps, and Babushka's own
    /// (`dedicated`, `session`, `unpaired`).
    flags: Py<PyFrozenSet>,
    /// The reply's shape on RESP2 and on RESP3 (`SHAPE_*` numbers).
    resp2_shape: u8,
    resp3_shape: u8,
    /// For a blocking command, where its timeout is: `last_seconds`,
    /// `first_seconds`, `at_millis:<position>`, `at_seconds:<position>` or
    /// `block_option`.
    timeout: Option<String>,
    /// `COMMAND INFO`'s legacy key range.
    first_key: i32,
    last_key: i32,
    step: i32,
    movable_keys: bool,
    /// Each key spec as `(begin, find, flags)`: `begin` is `("index", n)`,
    /// `("keyword", word, from)` or `("unknown",)`; `find` is `("range",
    /// last, step, limit)`, `("keynum", at, first, step)` or `("unknown",)`.
    key_specs: Py<PyTuple>,
    request_policy: Option<&'static str>,
    response_policy: Option<&'static str>,
    /// A container's subcommands, by name.
    subcommands: Py<PyTuple>,
}

#[pymethods]
impl PyCommandSpec {
    /// The reply's shape on a connection speaking RESP `protocol`.
    fn shape(&self, protocol: u8) -> u8 {
        if protocol >= 3 {
            self.resp3_shape
        } else {
            self.resp2_shape
        }
    }

    fn __repr__(&self) -> String {
        format!("<CommandSpec {}>", self.name)
    }
}

/// Every entry's Python object, by name: built at the first lookup.
static SPECS: PyOnceLock<HashMap<&'static str, Py<PyCommandSpec>>> = PyOnceLock::new();

fn specs(py: Python<'_>) -> PyResult<&HashMap<&'static str, Py<PyCommandSpec>>> {
    SPECS.get_or_try_init(py, || {
        table::entries()
            .map(|spec| Ok((spec.name, Py::new(py, to_python(py, spec)?)?)))
            .collect()
    })
}

fn to_python(py: Python<'_>, spec: &CommandSpec) -> PyResult<PyCommandSpec> {
    let (first_key, last_key, step) = spec.legacy_range();
    let key_specs = spec
        .keys
        .iter()
        .map(|key| {
            let begin = match key.begin {
                Begin::Index(at) => ("index", at).into_pyobject(py)?.into_any(),
                Begin::Keyword { keyword, from } => {
                    ("keyword", keyword, from).into_pyobject(py)?.into_any()
                }
                Begin::Unknown => ("unknown",).into_pyobject(py)?.into_any(),
            };
            let find = match key.find {
                Find::Range { last, step, limit } => {
                    ("range", last, step, limit).into_pyobject(py)?.into_any()
                }
                Find::KeyNum { count, first, step } => {
                    ("keynum", count, first, step).into_pyobject(py)?.into_any()
                }
                Find::Unknown => ("unknown",).into_pyobject(py)?.into_any(),
            };
            let flags: Vec<&str> = key.flags.iter().map(table::KeyFlag::name).collect();
            PyTuple::new(py, [begin, find, PyFrozenSet::new(py, flags)?.into_any()])
        })
        .collect::<PyResult<Vec<_>>>()?;
    let flags: Vec<&str> = spec.flags.iter().map(table::Flag::name).collect();
    Ok(PyCommandSpec {
        name: spec.name.to_owned(),
        flags: PyFrozenSet::new(py, flags)?.unbind(),
        resp2_shape: spec.reply.resp2 as u8,
        resp3_shape: spec.reply.resp3 as u8,
        timeout: spec.timeout.map(|timeout| match timeout {
            Timeout::LastSeconds => "last_seconds".to_owned(),
            Timeout::FirstSeconds => "first_seconds".to_owned(),
            Timeout::AtMillis(at) => format!("at_millis:{at}"),
            Timeout::AtSeconds(at) => format!("at_seconds:{at}"),
            Timeout::BlockOption => "block_option".to_owned(),
        }),
        first_key,
        last_key,
        step,
        movable_keys: spec.movable_keys(),
        key_specs: PyTuple::new(py, key_specs)?.unbind(),
        request_policy: spec.request_policy.name(),
        response_policy: spec.response_policy.name(),
        subcommands: PyTuple::new(py, spec.subcommands.iter().map(|sub| sub.name))?.unbind(),
    })
}

/// A name given as `str` or `bytes`; `None` for anything else.
fn name_bytes<'a>(name: &'a Bound<'_, PyAny>) -> Option<&'a [u8]> {
    if let Ok(text) = name.cast::<PyString>() {
        text.to_str().ok().map(str::as_bytes)
    } else if let Ok(bytes) = name.cast::<PyBytes>() {
        Some(bytes.as_bytes())
    } else {
        None
    }
}

/// The entry for a command (and, for a container, its subcommand), any
/// case; `None` for a command the table does not know.
#[pyfunction]
#[pyo3(signature = (name, subcommand = None))]
fn command_spec(
    py: Python<'_>,
    name: &Bound<'_, PyAny>,
    subcommand: Option<&Bound<'_, PyAny>>,
) -> PyResult<Option<Py<PyCommandSpec>>> {
    let Some(name) = name_bytes(name) else {
        return Ok(None);
    };
    let subcommand = subcommand.and_then(name_bytes);
    let Some(spec) = table::find(name, subcommand) else {
        return Ok(None);
    };
    Ok(specs(py)?.get(spec.name).map(|spec| spec.clone_ref(py)))
}

/// Every entry, subcommands after their container, sorted by name.
#[pyfunction]
fn command_table(py: Python<'_>) -> PyResult<Vec<Py<PyCommandSpec>>> {
    let specs = specs(py)?;
    Ok(table::entries()
        .filter_map(|spec| specs.get(spec.name).map(|spec| spec.clone_ref(py)))
        .collect())
}

/// The servers' commands the table leaves out on purpose, with why.
#[pyfunction]
fn absent_commands() -> HashMap<&'static str, &'static str> {
    table::ABSENT
        .iter()
        .map(|absent| (absent.name, absent.reason))
        .collect()
}

/// The keys of a command (its words encoded as a client would send them),
/// found by its entry's key specs.
#[pyfunction]
#[pyo3(signature = (*args))]
fn command_keys<'py>(
    py: Python<'py>,
    args: &Bound<'py, PyTuple>,
) -> PyResult<Vec<Bound<'py, PyBytes>>> {
    let cmd = build_command(args, &Encoding::new(py, "utf-8", "strict", false))?;
    Ok(table::keys(&cmd)
        .into_iter()
        .map(|key| PyBytes::new(py, key))
        .collect())
}

pub fn register(module: &Bound<'_, PyModule>) -> PyResult<()> {
    for shape in Shape::ALL {
        module.add(format!("SHAPE_{}", shape.name()), shape as u8)?;
    }
    module.add_class::<PyCommandSpec>()?;
    module.add_function(wrap_pyfunction!(command_spec, module)?)?;
    module.add_function(wrap_pyfunction!(command_table, module)?)?;
    module.add_function(wrap_pyfunction!(absent_commands, module)?)?;
    module.add_function(wrap_pyfunction!(command_keys, module)?)?;
    Ok(())
}
