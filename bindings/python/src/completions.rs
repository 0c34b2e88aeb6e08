//! The Python face of the managed transport's completion queue.
//!
//! An asyncio client registers [`PyCompletionQueue::fd`] with its event loop.
//! When the fd turns readable the loop calls [`PyCompletionQueue::drain`] once,
//! and that one call builds every finished reply and completes its
//! [`ReplyFuture`], running the awaiting tasks' wake-ups in place.

use std::sync::Arc;

use babushka_core::completion::CompletionQueue;
use babushka_core::{Error, ErrorKind, Value};
use parking_lot::Mutex;
use pyo3::prelude::*;
use pyo3::{PyTraverseError, PyVisit};

use crate::encoding::Encoding;
use crate::errors::to_py_err;
use crate::reply::{shape_reply, ReplyShape};
use crate::reply_future::ReplyFuture;

/// One finished request waiting for the Python thread.
pub struct Completion {
    future: Py<ReplyFuture>,
    shape: ReplyShape,
    encoding: Arc<Encoding>,
    outcome: Result<Value, Error>,
}

/// Owns a request's future until its outcome is queued. If the request is
/// dropped without an outcome (the runtime shut down, or a bug panicked), the
/// drop queues an error instead, so no caller waits forever.
pub struct Responder {
    queue: Arc<CompletionQueue<Completion>>,
    future: Option<Py<ReplyFuture>>,
    shape: ReplyShape,
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
                shape: std::mem::replace(
                    &mut self.shape,
                    ReplyShape::One(crate::reply::Shape::Raw),
                ),
                encoding: Arc::clone(&self.encoding),
                outcome,
            });
        }
    }
}

impl Drop for Responder {
    fn drop(&mut self) {
        if self.future.is_some() {
            self.push(Err(dropped_unanswered()));
        }
    }
}

/// Why a request's sink is dropped before it delivered: the runtime shut
/// down, or (while a panic unwinds) a bug on the way.
#[cold]
pub fn dropped_unanswered() -> Error {
    if std::thread::panicking() {
        Error::new(
            ErrorKind::Internal,
            "internal error (a bug in babushka, please report it): the request's reply \
             was lost to a panic",
        )
    } else {
        Error::new(
            ErrorKind::Closed,
            "the request was dropped before it completed (runtime shut down)",
        )
    }
}

#[pyclass(frozen, weakref, name = "CompletionQueue", module = "babushka._core")]
pub struct PyCompletionQueue {
    queue: Arc<CompletionQueue<Completion>>,
    /// The vector the last drain emptied, kept for its allocation.
    spare: Mutex<Vec<Completion>>,
}

impl PyCompletionQueue {
    pub fn responder(
        &self,
        future: Py<ReplyFuture>,
        shape: ReplyShape,
        encoding: Arc<Encoding>,
    ) -> Responder {
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

    /// Queued completions hold their futures, which hold their loop, whose
    /// reader holds this queue: the collector must see that cycle, or a loop
    /// closed with replies still queued would never be freed.
    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        let mut outcome = Ok(());
        self.queue.for_each(|completion| {
            if outcome.is_ok() {
                outcome = visit.call(&completion.future);
            }
        });
        outcome
    }

    fn __clear__(&self) {
        drop(self.queue.drain());
    }

    /// The file descriptor that becomes readable when completions are queued.
    fn fd(&self) -> i32 {
        self.queue.fd()
    }

    /// Completes the future of every queued completion; returns how many
    /// there were. A future its caller cancelled drops its reply.
    ///
    /// A `KeyboardInterrupt` or `SystemExit` raised by a done-callback is
    /// raised here once the whole batch is delivered.
    fn drain(&self, py: Python<'_>) -> PyResult<usize> {
        let mut batch = std::mem::take(&mut *self.spare.lock());
        self.queue.drain_into(&mut batch);
        let count = batch.len();
        let mut fatal = None;
        for completion in batch.drain(..) {
            if let Some(err) = resolve(py, completion) {
                fatal.get_or_insert(err);
            }
        }
        *self.spare.lock() = batch;
        fatal.map_or(Ok(count), Err)
    }
}

fn resolve(py: Python<'_>, completion: Completion) -> Option<PyErr> {
    let outcome = match completion.outcome {
        Ok(value) => {
            shape_reply(py, value, &completion.shape, &completion.encoding).map(Bound::unbind)
        }
        Err(err) => Err(to_py_err(py, &err)),
    };
    ReplyFuture::complete(completion.future.bind(py), outcome)
}
