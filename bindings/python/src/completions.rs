//! The Python face of the managed transport's completion queue.
//!
//! An asyncio client registers [`PyCompletionQueue::fd`] with its event loop.
//! When the fd turns readable the loop calls [`PyCompletionQueue::drain`] once,
//! and that one call builds every finished reply and resolves its future.

use std::sync::Arc;

use babushka_core::completion::CompletionQueue;
use babushka_core::{Error, ErrorKind, Value};
use parking_lot::Mutex;
use pyo3::intern;
use pyo3::prelude::*;

use crate::encoding::Encoding;
use crate::errors::to_py_err;
use crate::reply::{to_python, Shape};

/// One finished request waiting for the Python thread.
pub struct Completion {
    future: Py<PyAny>,
    shape: Shape,
    encoding: Arc<Encoding>,
    outcome: Result<Value, Error>,
}

/// Owns a request's future until its outcome is queued. If the request is
/// dropped without an outcome (the runtime shut down, or a bug panicked), the
/// drop queues an error instead, so no caller waits forever.
pub struct Responder {
    queue: Arc<CompletionQueue<Completion>>,
    future: Option<Py<PyAny>>,
    shape: Shape,
    encoding: Arc<Encoding>,
}

impl Responder {
    pub fn complete(mut self, outcome: Result<Value, Error>) {
        self.push(outcome);
    }

    fn push(&mut self, outcome: Result<Value, Error>) {
        if let Some(future) = self.future.take() {
            self.queue.push(Completion {
                future,
                shape: self.shape,
                encoding: Arc::clone(&self.encoding),
                outcome,
            });
        }
    }
}

impl Drop for Responder {
    fn drop(&mut self) {
        self.push(Err(Error::new(
            ErrorKind::Closed,
            "the request was dropped before it completed (runtime shut down)",
        )));
    }
}

#[pyclass(frozen, name = "CompletionQueue", module = "babushka._core")]
pub struct PyCompletionQueue {
    queue: Arc<CompletionQueue<Completion>>,
    /// The vector the last drain emptied, kept for its allocation.
    spare: Mutex<Vec<Completion>>,
}

impl PyCompletionQueue {
    pub fn responder(&self, future: Py<PyAny>, shape: Shape, encoding: Arc<Encoding>) -> Responder {
        Responder {
            queue: Arc::clone(&self.queue),
            future: Some(future),
            shape,
            encoding,
        }
    }
}

#[pymethods]
impl PyCompletionQueue {
    #[new]
    fn new() -> PyResult<Self> {
        Ok(Self {
            queue: Arc::new(CompletionQueue::new()?),
            spare: Mutex::new(Vec::new()),
        })
    }

    /// The file descriptor that becomes readable when completions are queued.
    fn fd(&self) -> i32 {
        self.queue.fd()
    }

    /// Resolves the future of every queued completion; returns how many there were.
    /// A future that is already done (its caller cancelled it) is skipped.
    fn drain(&self, py: Python<'_>) -> usize {
        let mut batch = std::mem::take(&mut *self.spare.lock());
        self.queue.drain_into(&mut batch);
        let count = batch.len();
        for completion in batch.drain(..) {
            resolve(py, completion);
        }
        *self.spare.lock() = batch;
        count
    }
}

fn resolve(py: Python<'_>, completion: Completion) {
    let future = completion.future.bind(py);
    let outcome = match completion.outcome {
        Ok(value) => match to_python(py, value, completion.shape, &completion.encoding) {
            Ok(object) => future.call_method1(intern!(py, "set_result"), (object,)),
            Err(err) => future.call_method1(intern!(py, "set_exception"), (err.into_value(py),)),
        },
        Err(err) => future.call_method1(
            intern!(py, "set_exception"),
            (to_py_err(py, &err).into_value(py),),
        ),
    };
    // Setting a future that is already done (its caller cancelled it) fails;
    // that reply is simply dropped. Asking `done()` first would cost every
    // reply a second method call for the sake of the rare cancelled one.
    if let Err(err) = outcome {
        let done = future
            .call_method0(intern!(py, "done"))
            .and_then(|done| done.is_truthy())
            .unwrap_or(false);
        if !done {
            err.write_unraisable(py, Some(future));
        }
    }
}
