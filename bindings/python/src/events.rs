//! The core's events (`babushka_core::events`) to Python, for
//! `babushka._logging`, which turns them into `logging` records.
//!
//! - `_log_topics()`: the topics' names, in the order of their numbers (the
//!   loggers are `babushka.<name>`).
//! - `_log_set_thresholds(levels)`: per topic, the lowest Python level that
//!   is wanted; the core reads it with one atomic load per event.
//! - `_log_start(deliver)`: `deliver(batch, dropped)` is called on the core's
//!   event thread, with the GIL taken once per batch; `batch` is a list of
//!   `(topic, level, message, fields)` tuples; `fields` holds the event's
//!   name (`event`) and its context (`address`, `client_name`, `error`, ...).
//! - `_log_stop()`: at interpreter exit, discards events from then on.

use babushka_core::events::{self, Event, Topic, Value};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple};

#[pyfunction]
#[pyo3(name = "_log_topics")]
fn log_topics() -> Vec<&'static str> {
    Topic::ALL.iter().map(|topic| topic.name()).collect()
}

#[pyfunction]
#[pyo3(name = "_log_set_thresholds")]
fn log_set_thresholds(levels: Vec<u8>) -> PyResult<()> {
    if levels.len() != Topic::ALL.len() {
        return Err(PyValueError::new_err(format!(
            "expected {} levels (one per topic), got {}",
            Topic::ALL.len(),
            levels.len()
        )));
    }
    for (topic, level) in Topic::ALL.into_iter().zip(levels) {
        events::set_threshold(topic, level);
    }
    Ok(())
}

#[pyfunction]
#[pyo3(name = "_log_start")]
fn log_start(deliver: Py<PyAny>) {
    events::start(Box::new(move |batch, dropped| {
        // Never at interpreter exit: `_log_stop` runs first, and a thread
        // cannot attach to an interpreter that is finalizing.
        Python::try_attach(|py| {
            let delivered =
                to_python(py, batch).and_then(|batch| deliver.call1(py, (batch, dropped)));
            if let Err(err) = delivered {
                err.write_unraisable(py, None);
            }
        });
    }));
}

#[pyfunction]
#[pyo3(name = "_log_stop")]
fn log_stop() {
    events::stop();
}

fn to_python(py: Python<'_>, batch: Vec<Event>) -> PyResult<Bound<'_, PyList>> {
    let list = PyList::empty(py);
    for event in batch {
        let fields = PyDict::new(py);
        fields.set_item("event", event.name)?;
        for (key, value) in event.fields {
            match value {
                Value::Text(text) => fields.set_item(key, text)?,
                Value::Int(number) => fields.set_item(key, number)?,
            }
        }
        let item = PyTuple::new(
            py,
            [
                (event.topic as u8).into_pyobject(py)?.into_any(),
                (event.level as u8).into_pyobject(py)?.into_any(),
                event.message.into_pyobject(py)?.into_any(),
                fields.into_any(),
            ],
        )?;
        list.append(item)?;
    }
    Ok(list)
}

pub fn register(module: &Bound<'_, PyModule>) -> PyResult<()> {
    // Set as attributes, not added: private to the package, so not in the
    // module's `__all__` (which `add_function` would extend).
    module.setattr("_log_topics", wrap_pyfunction!(log_topics, module)?)?;
    module.setattr(
        "_log_set_thresholds",
        wrap_pyfunction!(log_set_thresholds, module)?,
    )?;
    module.setattr("_log_start", wrap_pyfunction!(log_start, module)?)?;
    module.setattr("_log_stop", wrap_pyfunction!(log_stop, module)?)?;
    Ok(())
}
