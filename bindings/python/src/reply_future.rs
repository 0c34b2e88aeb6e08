//! `ReplyFuture`: what the managed transport's `submit` returns to asyncio.
//!
//! It speaks asyncio's future protocol (`_asyncio_future_blocking`,
//! `get_loop`, `add_done_callback`, `result`, `exception`, `cancel`, ...), so
//! a Task awaits it, and `gather`, `wait_for`, `shield` and
//! `run_until_complete` take it, exactly like an `asyncio.Future`.
//!
//! What differs is how it completes. An `asyncio.Future` hands each
//! done-callback (for an awaiting Task: its wake-up) to `loop.call_soon`,
//! which builds a Python `Handle` per reply and runs it one loop iteration
//! later: about a quarter of the Python thread's work per request at 100
//! tasks (measured with callgrind, ~5,500 of ~20,000 instructions). A
//! completion-queue drain already runs as a loop callback, so it runs the
//! callbacks in place, each under the context it was registered with, as the
//! `Handle` would have. `cancel()` is called from user code, inside some task,
//! so its callbacks still go through `call_soon`.

use pyo3::exceptions::{PyKeyboardInterrupt, PyRuntimeError, PySystemExit};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyType};
use pyo3::{ffi, intern};
use pyo3::{PyTraverseError, PyVisit};

enum State {
    Pending,
    Done(Py<PyAny>),
    /// The exception instance (not a `PyErr`, so the collector can see it).
    Failed(Py<PyAny>),
    Cancelled(Option<Py<PyAny>>),
}

/// A done-callback and the `contextvars.Context` to run it in.
struct DoneCallback {
    callback: Py<PyAny>,
    context: Py<PyAny>,
}

#[pyclass(module = "babushka._core", name = "ReplyFuture")]
pub struct ReplyFuture {
    event_loop: Py<PyAny>,
    state: State,
    callbacks: Vec<DoneCallback>,
    /// asyncio's marker: set by `__next__` when a Task should wait on us.
    #[pyo3(get, set, name = "_asyncio_future_blocking")]
    blocking: bool,
    /// For a request on a dedicated connection: closes that connection when
    /// the future is cancelled (a cancelled `BLPOP` must not pop later).
    on_cancel: Option<babushka_core::Cancel>,
}

impl ReplyFuture {
    pub fn new(event_loop: Py<PyAny>) -> Self {
        Self {
            event_loop,
            state: State::Pending,
            callbacks: Vec::new(),
            blocking: false,
            on_cancel: None,
        }
    }

    /// What cancelling this future must do in the core.
    pub fn set_on_cancel(&mut self, cancel: babushka_core::Cancel) {
        self.on_cancel = Some(cancel);
    }

    /// Completes the future (unless its caller cancelled it) and runs its
    /// done-callbacks now, on this thread, which must be the loop's.
    ///
    /// Errors from callbacks go to the loop's exception handler, as they
    /// would from a `Handle`; `KeyboardInterrupt` and `SystemExit` are
    /// returned so the caller can raise them once its batch is done.
    pub fn complete(slf: &Bound<'_, Self>, outcome: PyResult<Py<PyAny>>) -> Option<PyErr> {
        let py = slf.py();
        let callbacks = {
            let mut this = slf.borrow_mut();
            if !matches!(this.state, State::Pending) {
                return None; // cancelled: the reply is dropped
            }
            this.on_cancel = None;
            this.state = match outcome {
                Ok(value) => State::Done(value),
                Err(err) => State::Failed(err.into_value(py).into_any()),
            };
            std::mem::take(&mut this.callbacks)
        };
        let mut fatal = None;
        for done in callbacks {
            if let Err(err) = run_callback(py, &done, slf.as_any()) {
                if err.is_instance_of::<PyKeyboardInterrupt>(py)
                    || err.is_instance_of::<PySystemExit>(py)
                {
                    fatal.get_or_insert(err);
                } else {
                    report_callback_error(slf, &done.callback, err);
                }
            }
        }
        fatal
    }

    fn outcome(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        match &self.state {
            State::Pending => Err(invalid_state(py, "Result is not set.")),
            State::Done(value) => Ok(value.clone_ref(py)),
            State::Failed(exception) => Err(PyErr::from_value(exception.bind(py).clone())),
            State::Cancelled(message) => Err(cancelled_error(py, message.as_ref())),
        }
    }
}

#[pymethods]
impl ReplyFuture {
    fn get_loop(&self, py: Python<'_>) -> Py<PyAny> {
        self.event_loop.clone_ref(py)
    }

    fn done(&self) -> bool {
        !matches!(self.state, State::Pending)
    }

    fn cancelled(&self) -> bool {
        matches!(self.state, State::Cancelled(_))
    }

    fn result(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        self.outcome(py)
    }

    fn exception(&self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        match &self.state {
            State::Pending => Err(invalid_state(py, "Exception is not set.")),
            State::Done(_) => Ok(None),
            State::Failed(exception) => Ok(Some(exception.clone_ref(py))),
            State::Cancelled(message) => Err(cancelled_error(py, message.as_ref())),
        }
    }

    #[pyo3(signature = (callback, *, context = None))]
    fn add_done_callback(
        slf: &Bound<'_, Self>,
        callback: Py<PyAny>,
        context: Option<Py<PyAny>>,
    ) -> PyResult<()> {
        // Like asyncio: without a context, the callback runs in a copy of
        // the one current now (a Task always passes its own).
        let context = match context {
            Some(context) => context,
            None => copy_current_context(slf.py())?,
        };
        let mut this = slf.borrow_mut();
        if matches!(this.state, State::Pending) {
            this.callbacks.push(DoneCallback { callback, context });
            return Ok(());
        }
        // Already done: asyncio schedules the callback rather than calling it.
        let event_loop = this.event_loop.clone_ref(slf.py());
        drop(this);
        schedule(slf, &event_loop, &DoneCallback { callback, context })
    }

    fn remove_done_callback(slf: &Bound<'_, Self>, callback: &Bound<'_, PyAny>) -> usize {
        let py = slf.py();
        // Compare with no borrow held: `__eq__` is Python code and may touch
        // this future.
        let registered = std::mem::take(&mut slf.borrow_mut().callbacks);
        let before = registered.len();
        let kept: Vec<DoneCallback> = registered
            .into_iter()
            .filter(|done| !done.callback.bind(py).eq(callback).unwrap_or(false))
            .collect();
        let removed = before - kept.len();
        let mut this = slf.borrow_mut();
        let added_meanwhile = std::mem::replace(&mut this.callbacks, kept);
        this.callbacks.extend(added_meanwhile);
        removed
    }

    #[pyo3(signature = (msg = None))]
    fn cancel(slf: &Bound<'_, Self>, msg: Option<Py<PyAny>>) -> PyResult<bool> {
        let (callbacks, event_loop) = {
            let mut this = slf.borrow_mut();
            if !matches!(this.state, State::Pending) {
                return Ok(false);
            }
            this.state = State::Cancelled(msg);
            if let Some(cancel) = this.on_cancel.take() {
                cancel.cancel();
            }
            (
                std::mem::take(&mut this.callbacks),
                this.event_loop.clone_ref(slf.py()),
            )
        };
        for done in &callbacks {
            schedule(slf, &event_loop, done)?;
        }
        Ok(true)
    }

    /// The message given to `cancel()`: `asyncio.gather` reads it from a
    /// child future that was cancelled, as asyncio's private API.
    #[getter(_cancel_message)]
    fn cancel_message(&self, py: Python<'_>) -> Option<Py<PyAny>> {
        match &self.state {
            State::Cancelled(Some(message)) => Some(message.clone_ref(py)),
            _ => None,
        }
    }

    /// The `CancelledError` this future raises (asyncio's private API, which
    /// `gather` and `Task` call on a cancelled child).
    fn _make_cancelled_error(&self, py: Python<'_>) -> Py<PyAny> {
        let message = match &self.state {
            State::Cancelled(message) => message.as_ref(),
            _ => None,
        };
        cancelled_error(py, message).into_value(py).into_any()
    }

    fn __await__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __iter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    /// One step of `await`: hand ourselves to the Task while pending, then
    /// return the result (as `StopIteration`) once woken.
    fn __next__(slf: &Bound<'_, Self>) -> PyResult<Option<Py<PyAny>>> {
        let mut this = slf.borrow_mut();
        if matches!(this.state, State::Pending) {
            this.blocking = true;
            return Ok(Some(slf.clone().into_any().unbind()));
        }
        let value = this.outcome(slf.py())?;
        drop(this);
        set_stop_iteration(&value);
        // `None` makes the slot return NULL, with the StopIteration just set:
        // how an iterator finishes with a value.
        Ok(None)
    }

    /// The collector must see what a future holds: a pending future and the
    /// Task waiting on it reference each other.
    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        visit.call(&self.event_loop)?;
        match &self.state {
            State::Pending | State::Cancelled(None) => {}
            State::Done(object) | State::Failed(object) | State::Cancelled(Some(object)) => {
                visit.call(object)?;
            }
        }
        for done in &self.callbacks {
            visit.call(&done.callback)?;
            visit.call(&done.context)?;
        }
        Ok(())
    }

    fn __clear__(&mut self) {
        self.callbacks.clear();
        if !matches!(self.state, State::Pending) {
            self.state = State::Cancelled(None);
        }
    }

    fn __repr__(&self) -> &'static str {
        match self.state {
            State::Pending => "<ReplyFuture pending>",
            State::Done(_) => "<ReplyFuture finished>",
            State::Failed(_) => "<ReplyFuture finished with an exception>",
            State::Cancelled(_) => "<ReplyFuture cancelled>",
        }
    }
}

/// Runs `done.callback(future)` in its context, as `Handle._run` does.
fn run_callback(py: Python<'_>, done: &DoneCallback, future: &Bound<'_, PyAny>) -> PyResult<()> {
    let context = &done.context;
    // SAFETY: `context` is a live object; PyContext_Enter checks that it is
    // a Context and not entered already, and sets an exception if not.
    if unsafe { ffi::PyContext_Enter(context.as_ptr()) } != 0 {
        return Err(PyErr::take(py)
            .unwrap_or_else(|| PyRuntimeError::new_err("cannot enter the callback's context")));
    }
    let outcome = done.callback.call1(py, (future,)).map(drop);
    // SAFETY: exits the context entered just above, on the same thread.
    if unsafe { ffi::PyContext_Exit(context.as_ptr()) } != 0 {
        return Err(PyErr::take(py)
            .unwrap_or_else(|| PyRuntimeError::new_err("cannot exit the callback's context")));
    }
    outcome
}

/// Raises `StopIteration(value)` as the interpreter's own future iterator does:
/// with the value itself as the pending exception's argument whenever that
/// is unambiguous, so no exception object is built (`yield from` takes the
/// value straight from the indicator). A pyo3 `PyErr` would build one per
/// await: ~800 instructions, 5% of a request at 100 tasks (callgrind).
fn set_stop_iteration(value: &Py<PyAny>) {
    let value = value.as_ptr();
    // SAFETY: the GIL is held (we are in a method), `value` is a live
    // object, and PyErr_SetObject takes its own references.
    unsafe {
        if ffi::PyTuple_Check(value) == 0 && ffi::PyExceptionInstance_Check(value) == 0 {
            ffi::PyErr_SetObject(ffi::PyExc_StopIteration, value);
            return;
        }
        // A tuple would be read as the exception's arguments, and an
        // exception as the exception itself: wrap them in an instance.
        let stop = ffi::PyObject_CallOneArg(ffi::PyExc_StopIteration, value);
        if !stop.is_null() {
            ffi::PyErr_SetObject(ffi::PyExc_StopIteration, stop);
            ffi::Py_DECREF(stop);
        }
    }
}

fn copy_current_context(py: Python<'_>) -> PyResult<Py<PyAny>> {
    // SAFETY: PyContext_CopyCurrent returns a new reference, or NULL with an
    // exception set.
    unsafe { Bound::from_owned_ptr_or_err(py, ffi::PyContext_CopyCurrent()) }.map(Bound::unbind)
}

/// `loop.call_soon(callback, future, context=context)`.
fn schedule(
    future: &Bound<'_, ReplyFuture>,
    event_loop: &Py<PyAny>,
    done: &DoneCallback,
) -> PyResult<()> {
    let py = future.py();
    let kwargs = PyDict::new(py);
    kwargs.set_item(intern!(py, "context"), &done.context)?;
    event_loop.bind(py).call_method(
        intern!(py, "call_soon"),
        (&done.callback, future),
        Some(&kwargs),
    )?;
    Ok(())
}

/// What `Handle._run` does with a callback's exception.
fn report_callback_error(future: &Bound<'_, ReplyFuture>, callback: &Py<PyAny>, err: PyErr) {
    let py = future.py();
    let report = move || -> PyResult<()> {
        let context = PyDict::new(py);
        let message = format!("Exception in callback {}", callback.bind(py).repr()?);
        context.set_item(intern!(py, "message"), message)?;
        context.set_item(intern!(py, "exception"), err.into_value(py))?;
        context.set_item(intern!(py, "future"), future)?;
        let event_loop = future.borrow().event_loop.clone_ref(py);
        event_loop
            .bind(py)
            .call_method1(intern!(py, "call_exception_handler"), (context,))?;
        Ok(())
    };
    if let Err(report_err) = report() {
        report_err.write_unraisable(py, Some(future.as_any()));
    }
}

fn asyncio_class<'py>(py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyType>> {
    static MODULE: PyOnceLock<Py<PyModule>> = PyOnceLock::new();
    let module = MODULE.get_or_try_init(py, || py.import("asyncio").map(Bound::unbind))?;
    module
        .bind(py)
        .getattr(name)?
        .cast_into::<PyType>()
        .map_err(PyErr::from)
}

fn invalid_state(py: Python<'_>, message: &str) -> PyErr {
    match asyncio_class(py, "InvalidStateError") {
        Ok(class) => PyErr::from_type(class, message.to_owned()),
        Err(err) => err,
    }
}

fn cancelled_error(py: Python<'_>, message: Option<&Py<PyAny>>) -> PyErr {
    match asyncio_class(py, "CancelledError") {
        Ok(class) => match message {
            Some(message) => PyErr::from_type(class, (message.clone_ref(py),)),
            None => PyErr::from_type(class, ()),
        },
        Err(err) => err,
    }
}
