//! `_core.Subscriber`: a core subscriber for the managed and ffi transports,
//! and [`event_to_python`], which shapes pub/sub events into redis-py's
//! message dicts for every transport (uds's `UdsSubscriber` too).
//!
//! How each side waits for messages, with one wake-up per batch:
//! - sync, managed: [`PySubscriber::get_message`] blocks with the GIL
//!   released (in slices on the main thread, so Ctrl-C is seen);
//! - asyncio, managed: the loop watches [`PySubscriber::fd`];
//! - ffi: the core calls the waker [`PySubscriber::set_waker`] installs, on
//!   a runtime thread, when messages start waiting.

use std::sync::Arc;
use std::time::{Duration, Instant};

use babushka_core::pubsub::{Ack, Event, Kind, Message, Payload, Waited};
use babushka_core::{Error, ErrorKind, Subscriber};
use pyo3::exceptions::PyValueError;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyTuple};

use crate::args::encode_names;
use crate::encoding::Encoding;
use crate::errors::to_py_err;

/// How long a wait on the main thread lasts before it looks for signals.
const SIGNAL_SLICE: Duration = Duration::from_millis(100);

/// A subscription kind as Python names it (`babushka._pubsub`).
pub fn kind_from_u8(kind: u8) -> PyResult<Kind> {
    match kind {
        0 => Ok(Kind::Channel),
        1 => Ok(Kind::Pattern),
        2 => Ok(Kind::Shard),
        other => Err(PyValueError::new_err(format!(
            "unknown subscription kind {other} (0 channel, 1 pattern, 2 shard)"
        ))),
    }
}

/// `timeout` in seconds as a duration: `None` waits for ever, anything not
/// positive does not wait.
pub fn wait_time(timeout: Option<f64>) -> Option<Duration> {
    match timeout {
        None => None,
        Some(secs) if secs > 0.0 => {
            Some(Duration::try_from_secs_f64(secs).unwrap_or(Duration::MAX))
        }
        Some(_) => Some(Duration::ZERO),
    }
}

/// A pub/sub event as Python sees it: a message dict, or the error raised.
pub fn event_to_python<'py>(
    py: Python<'py>,
    event: Event,
    encoding: &Encoding,
) -> PyResult<Bound<'py, PyAny>> {
    match event {
        Event::Message(message) => message_dict(py, message, encoding).map(Bound::into_any),
        Event::Error(err) => Err(to_py_err(py, &err)),
    }
}

/// `{'type': ..., 'pattern': ..., 'channel': ..., 'data': ...}`, with
/// `decode_responses` applied to everything but `type`, which is always a str.
fn message_dict<'py>(
    py: Python<'py>,
    message: Message,
    encoding: &Encoding,
) -> PyResult<Bound<'py, PyDict>> {
    let text = |bytes: Option<Vec<u8>>| -> PyResult<Bound<'py, PyAny>> {
        match bytes {
            Some(bytes) => encoding.reply_bytes(py, &bytes),
            None => Ok(py.None().into_bound(py)),
        }
    };
    let dict = PyDict::new(py);
    dict.set_item(intern!(py, "type"), message.kind.name())?;
    dict.set_item(intern!(py, "pattern"), text(message.pattern)?)?;
    dict.set_item(intern!(py, "channel"), text(message.channel)?)?;
    let data = match message.data {
        Payload::Bytes(bytes) => encoding.reply_bytes(py, &bytes)?,
        Payload::Count(count) => count.into_pyobject(py)?.into_any(),
    };
    dict.set_item(intern!(py, "data"), data)?;
    Ok(dict)
}

/// Whether this is the process's main thread (the one Python runs signal
/// handlers on).
fn on_main_thread() -> bool {
    // SAFETY: neither call takes arguments or can fail.
    unsafe { libc::gettid() == libc::getpid() }
}

/// Waits up to `timeout` for an event with the GIL released. On the main
/// thread the wait is cut into slices, between which pending signals run
/// (a Ctrl-C raises `KeyboardInterrupt` here). `Ok(None)` for no event.
pub fn wait_released(
    py: Python<'_>,
    timeout: Option<Duration>,
    wait: impl Fn(Option<Duration>) -> Waited + Send + Sync,
) -> PyResult<Option<Event>> {
    if !on_main_thread() {
        return Ok(py.detach(|| wait(timeout)).event());
    }
    let deadline = timeout.and_then(|timeout| Instant::now().checked_add(timeout));
    loop {
        let slice = deadline.map_or(SIGNAL_SLICE, |deadline| {
            deadline
                .saturating_duration_since(Instant::now())
                .min(SIGNAL_SLICE)
        });
        match py.detach(|| wait(Some(slice))) {
            Waited::Event(event) => return Ok(Some(event)),
            Waited::Closed | Waited::Interrupted => return Ok(None),
            Waited::TimedOut => {}
        }
        if deadline.is_some_and(|deadline| Instant::now() >= deadline) {
            return Ok(None);
        }
        py.check_signals()?;
    }
}

#[pyclass(frozen, name = "Subscriber", module = "babushka._core")]
pub struct PySubscriber {
    core: Subscriber,
    encoding: Arc<Encoding>,
    /// The node the last message taken came on (see `last_node`).
    last_node: LastNode,
}

impl PySubscriber {
    pub fn new(core: Subscriber, encoding: Arc<Encoding>) -> Self {
        Self {
            core,
            encoding,
            last_node: LastNode::default(),
        }
    }

    fn shaped(&self, py: Python<'_>, event: Option<Event>) -> PyResult<Option<Py<PyAny>>> {
        self.last_node.note(event.as_ref());
        event
            .map(|event| event_to_python(py, event, &self.encoding).map(Bound::unbind))
            .transpose()
    }
}

#[pymethods]
impl PySubscriber {
    /// Subscribes to `names` (`kind` 0 channels, 1 patterns, 2 shard
    /// channels). Returns at once; `waiter` (an object with `set_result`
    /// and `set_exception`) is resolved on a runtime thread once the server
    /// confirmed every name, or fails (the subscribe then holds nothing).
    /// The confirmations are messages too.
    #[pyo3(signature = (waiter, kind, *names))]
    fn subscribe(
        &self,
        py: Python<'_>,
        waiter: Py<PyAny>,
        kind: u8,
        names: &Bound<'_, PyTuple>,
    ) -> PyResult<()> {
        let kind = kind_from_u8(kind)?;
        let names = encode_names(names, &self.encoding)?;
        self.core
            .subscribe(kind, &names, ack_to(waiter))
            .map_err(|err| to_py_err(py, &err))
    }

    /// Unsubscribes from `names`, or from every name of the kind if none.
    #[pyo3(signature = (kind, *names))]
    fn unsubscribe(&self, py: Python<'_>, kind: u8, names: &Bound<'_, PyTuple>) -> PyResult<()> {
        let names = encode_names(names, &self.encoding)?;
        self.core
            .unsubscribe(kind_from_u8(kind)?, &names)
            .map_err(|err| to_py_err(py, &err))
    }

    /// Sends a `PING`; its answer is a `pong` message.
    #[pyo3(signature = (message = None))]
    fn ping(&self, py: Python<'_>, message: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
        let message = match message {
            Some(message) => {
                let mut words = encode_names(&PyTuple::new(py, [message])?, &self.encoding)?;
                words.pop()
            }
            None => None,
        };
        self.core
            .ping(message.as_deref())
            .map_err(|err| to_py_err(py, &err))
    }

    /// Sends `MONITOR`; its `OK` and the lines that follow are `monitor`
    /// messages.
    fn monitor(&self, py: Python<'_>) -> PyResult<()> {
        self.core.monitor().map_err(|err| to_py_err(py, &err))
    }

    /// `name` as the messages will name it: encoded, then decoded if the
    /// client decodes responses (redis-py's normalised keys).
    fn key<'py>(&self, py: Python<'py>, name: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        key(py, name, &self.encoding)
    }

    /// The next message, waiting up to `timeout` seconds (`None`: until one
    /// comes) with the GIL released; `None` if none came, the subscriber is
    /// closed, or `interrupt()` was called. An error the server sent is
    /// raised.
    #[pyo3(signature = (timeout))]
    fn get_message(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<Option<Py<PyAny>>> {
        let timeout = wait_time(timeout);
        if timeout == Some(Duration::ZERO) {
            return self.pop(py);
        }
        let inbox = Arc::clone(self.core.inbox());
        let event = wait_released(py, timeout, |slice| inbox.wait(slice))?;
        self.shaped(py, event)
    }

    /// The next message if one is waiting, else `None`.
    fn pop(&self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        let event = self.core.inbox().pop();
        self.shaped(py, event)
    }

    /// A descriptor that is readable while messages may be waiting (or the
    /// subscriber closed); call `clear_signal()` before taking them.
    fn fd(&self) -> i32 {
        self.core.inbox().fd()
    }

    fn clear_signal(&self) {
        self.core.inbox().clear_signal();
    }

    /// Calls `waker()` (on a runtime thread, with the GIL) whenever messages
    /// start waiting or the subscriber closes; `None` removes it.
    fn set_waker(&self, waker: Option<Py<PyAny>>) {
        let waker = waker.map(|waker| -> babushka_core::pubsub::Waker {
            Arc::new(move || {
                Python::attach(|py| {
                    if let Err(err) = waker.call0(py) {
                        err.write_unraisable(py, Some(waker.bind(py)));
                    }
                });
            })
        });
        self.core.inbox().set_waker(waker);
    }

    /// Ends a `get_message` that waits (or the next one) with `None`.
    fn interrupt(&self) {
        self.core.inbox().interrupt();
    }

    /// Closes the connection; messages already received can still be taken.
    fn close(&self) {
        self.core.close();
    }

    /// How many published messages were dropped because the backlog was full.
    #[getter]
    fn dropped(&self) -> u64 {
        self.core.inbox().dropped()
    }

    #[getter]
    fn closed(&self) -> bool {
        self.core.is_closed()
    }

    /// The node (`host:port`) whose connection the message last taken came
    /// on: a cluster subscriber's shard connections name theirs; `None` for
    /// anything else.
    #[getter]
    fn last_node(&self) -> Option<String> {
        self.last_node.get()
    }
}

/// The node of the message a subscriber's reader took last: one reader at
/// a time takes messages, so it asks right after taking one.
#[derive(Default)]
pub struct LastNode(parking_lot::Mutex<Option<Arc<str>>>);

impl LastNode {
    pub fn note(&self, event: Option<&Event>) {
        *self.0.lock() = event
            .and_then(Event::as_message)
            .and_then(|message| message.node.clone());
    }

    pub fn get(&self) -> Option<String> {
        self.0.lock().as_deref().map(str::to_owned)
    }
}

/// An ack that resolves `waiter` (`set_result(None)` or `set_exception`),
/// taking the GIL on whichever thread has the outcome.
fn ack_to(waiter: Py<PyAny>) -> Ack {
    Box::new(move |outcome| {
        Python::attach(|py| {
            let called = match outcome {
                Ok(()) => waiter.call_method1(py, intern!(py, "set_result"), (py.None(),)),
                Err(err) => waiter.call_method1(
                    py,
                    intern!(py, "set_exception"),
                    (to_py_err(py, &err).into_value(py),),
                ),
            };
            if let Err(err) = called {
                err.write_unraisable(py, Some(waiter.bind(py)));
            }
        });
    })
}

/// A channel or pattern name as messages will carry it.
pub fn key<'py>(
    py: Python<'py>,
    name: &Bound<'py, PyAny>,
    encoding: &Encoding,
) -> PyResult<Bound<'py, PyAny>> {
    let mut words = encode_names(&PyTuple::new(py, [name])?, encoding)?;
    let word = words.pop().ok_or_else(|| {
        to_py_err(
            py,
            &Error::new(ErrorKind::InvalidInput, "a name must be one value"),
        )
    })?;
    encoding.reply_bytes(py, &word)
}
