//! `UdsSubscriber`: a subscriber on a uds stream, named in frames by an id
//! its codec chose. It behaves like `_core.Subscriber`; the subscriber
//! itself (connection, subscriptions, reconnection, backlog) is the core's,
//! behind the listener.
//!
//! Its messages come in `PushBatch` frames, one per fetch. The codec keeps
//! one fetch outstanding while the subscriber has nothing buffered here, and
//! sends the next once everything buffered was taken, so at most one batch
//! waits on this side: an unread backlog stays in the core, under its bound
//! and drop policy. A batch is handed over by the stream's reader (`feed`),
//! which wakes a blocked `get_message` (GIL released) and calls the waker an
//! asyncio stream installs.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use babushka_core::pubsub::{check_subscribe, Event, Waited};
use babushka_core::socket::proto::{self, request::Action};
use babushka_core::socket::pushes::{event_from_proto, SubscriberCall};
use babushka_core::{Error, ErrorKind};
use parking_lot::{Condvar, Mutex};
use pyo3::prelude::*;
use pyo3::types::PyTuple;

use crate::args::encode_names;
use crate::encoding::Encoding;
use crate::errors::to_py_err;
use crate::pubsub::{event_to_python, key, kind_from_u8, wait_released, wait_time, LastNode};
use crate::uds::Shared;

/// What a subscriber holds on this side of the socket.
struct Local {
    events: VecDeque<Event>,
    /// A fetch was sent and its batch has not come yet.
    fetching: bool,
    dropped: u64,
    closed: bool,
    interrupted: bool,
}

/// The buffer a stream's reader fills and a subscriber takes from.
pub struct UdsInbox {
    local: Mutex<Local>,
    ready: Condvar,
    waker: Mutex<Option<Py<PyAny>>>,
}

impl UdsInbox {
    fn new() -> Self {
        Self {
            local: Mutex::new(Local {
                events: VecDeque::new(),
                // The open frame is followed by the first fetch.
                fetching: true,
                dropped: 0,
                closed: false,
                interrupted: false,
            }),
            ready: Condvar::new(),
            waker: Mutex::new(None),
        }
    }

    /// Takes a batch that answers this subscriber's fetch (the reader
    /// calls it, with the GIL).
    pub fn deliver(&self, py: Python<'_>, batch: proto::PushBatch) {
        let events = batch.events.into_iter().map(|event| {
            event_from_proto(event).unwrap_or_else(|err| {
                Event::Error(Error::new(
                    ErrorKind::Protocol,
                    format!("the socket listener sent a bad message: {}", err.message()),
                ))
            })
        });
        {
            let mut local = self.local.lock();
            local.events.extend(events);
            local.fetching = false;
            local.dropped = batch.dropped;
            local.closed |= batch.closed;
            self.ready.notify_all();
        }
        self.wake(py);
    }

    /// The stream is gone (or the subscriber closed): no batch will come.
    pub fn close(&self, py: Python<'_>) {
        {
            let mut local = self.local.lock();
            local.closed = true;
            self.ready.notify_all();
        }
        self.wake(py);
        let waker = self.waker.lock().take();
        drop(waker);
    }

    fn wake(&self, py: Python<'_>) {
        let waker = self.waker.lock().as_ref().map(|waker| waker.clone_ref(py));
        if let Some(waker) = waker {
            if let Err(err) = waker.call0(py) {
                err.write_unraisable(py, Some(waker.bind(py)));
            }
        }
    }

    /// As the core inbox's `wait`, over what has arrived on this side.
    fn wait(&self, timeout: Option<Duration>) -> Waited {
        let deadline = timeout.and_then(|timeout| Instant::now().checked_add(timeout));
        let mut local = self.local.lock();
        loop {
            if std::mem::take(&mut local.interrupted) {
                return Waited::Interrupted;
            }
            if let Some(event) = local.events.pop_front() {
                return Waited::Event(event);
            }
            if local.closed {
                return Waited::Closed;
            }
            match deadline {
                None => self.ready.wait(&mut local),
                Some(deadline) => {
                    if self.ready.wait_until(&mut local, deadline).timed_out() {
                        return local
                            .events
                            .pop_front()
                            .map_or(Waited::TimedOut, Waited::Event);
                    }
                }
            }
        }
    }

    /// Whether a fetch must go out now: nothing is buffered or on its way.
    /// Marks it sent.
    fn needs_fetch(&self) -> bool {
        let mut local = self.local.lock();
        let needed = local.events.is_empty() && !local.fetching && !local.closed;
        if needed {
            local.fetching = true;
        }
        needed
    }
}

#[pyclass(frozen, name = "UdsSubscriber", module = "babushka._core")]
pub struct UdsSubscriber {
    shared: Arc<Shared>,
    id: u64,
    inbox: Arc<UdsInbox>,
    encoding: Arc<Encoding>,
    last_node: LastNode,
}

impl UdsSubscriber {
    /// Registers a subscriber with the codec and writes its open frame and
    /// first fetch.
    pub fn open(
        py: Python<'_>,
        shared: &Arc<Shared>,
        encoding: &Arc<Encoding>,
        max_buffered: usize,
    ) -> PyResult<Self> {
        let inbox = Arc::new(UdsInbox::new());
        let id = shared.open_subscriber(py, &inbox, max_buffered)?;
        Ok(Self {
            shared: Arc::clone(shared),
            id,
            inbox,
            encoding: Arc::clone(encoding),
            last_node: LastNode::default(),
        })
    }

    fn check_open(&self, py: Python<'_>) -> PyResult<()> {
        if self.inbox.local.lock().closed {
            return Err(to_py_err(
                py,
                &Error::new(ErrorKind::Closed, "the subscriber is closed"),
            ));
        }
        Ok(())
    }

    fn send(&self, py: Python<'_>, call: &SubscriberCall) -> PyResult<()> {
        self.check_open(py)?;
        let (action, names) = call.to_proto();
        self.shared.control_checked(
            py,
            Action::SubscriberCommand(proto::SubscriberCommand {
                subscriber_id: self.id,
                action: action.into(),
                names,
            }),
        )
    }

    /// Sends the next fetch if everything buffered was taken.
    fn refill(&self, py: Python<'_>) {
        if self.inbox.needs_fetch() {
            self.shared.control(py, Action::FetchMessages(self.id));
        }
    }

    fn shaped(&self, py: Python<'_>, event: Option<Event>) -> PyResult<Option<Py<PyAny>>> {
        self.refill(py);
        self.last_node.note(event.as_ref());
        event
            .map(|event| event_to_python(py, event, &self.encoding).map(Bound::unbind))
            .transpose()
    }
}

#[pymethods]
impl UdsSubscriber {
    /// As `Subscriber.subscribe`: `kind` 0 channels, 1 patterns, 2 shard
    /// channels; `waiter` is resolved when the listener answers (by the
    /// stream's reader: an asyncio future of the stream's loop, or a sync
    /// waiter).
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
        // The core's own check, before anything is written, so every
        // transport raises the same error at the call.
        check_subscribe(kind, &names).map_err(|err| to_py_err(py, &err))?;
        self.check_open(py)?;
        let (action, names) = SubscriberCall::Subscribe(kind, names).to_proto();
        self.shared.answered(
            py,
            waiter,
            Action::SubscriberCommand(proto::SubscriberCommand {
                subscriber_id: self.id,
                action: action.into(),
                names,
            }),
        )
    }

    #[pyo3(signature = (kind, *names))]
    fn unsubscribe(&self, py: Python<'_>, kind: u8, names: &Bound<'_, PyTuple>) -> PyResult<()> {
        let kind = kind_from_u8(kind)?;
        let names = encode_names(names, &self.encoding)?;
        self.send(py, &SubscriberCall::Unsubscribe(kind, names))
    }

    #[pyo3(signature = (message = None))]
    fn ping(&self, py: Python<'_>, message: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
        let message = match message {
            Some(message) => encode_names(&PyTuple::new(py, [message])?, &self.encoding)?.pop(),
            None => None,
        };
        self.send(py, &SubscriberCall::Ping(message))
    }

    fn monitor(&self, py: Python<'_>) -> PyResult<()> {
        self.send(py, &SubscriberCall::Monitor)
    }

    fn key<'py>(&self, py: Python<'py>, name: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        key(py, name, &self.encoding)
    }

    /// As `Subscriber.get_message`.
    #[pyo3(signature = (timeout))]
    fn get_message(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<Option<Py<PyAny>>> {
        let timeout = wait_time(timeout);
        if timeout == Some(Duration::ZERO) {
            return self.pop(py);
        }
        let inbox = Arc::clone(&self.inbox);
        let event = wait_released(py, timeout, |slice| inbox.wait(slice))?;
        self.shaped(py, event)
    }

    fn pop(&self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        let event = self.inbox.local.lock().events.pop_front();
        self.shaped(py, event)
    }

    /// Calls `waker()` when a batch arrives or the subscriber closes, on the
    /// thread that reads the stream (an asyncio stream's: its loop).
    fn set_waker(&self, py: Python<'_>, waker: Option<Py<PyAny>>) {
        let pending = waker.is_some() && !self.inbox.local.lock().events.is_empty();
        let replaced = std::mem::replace(&mut *self.inbox.waker.lock(), waker);
        drop(replaced);
        if pending {
            self.inbox.wake(py);
        }
    }

    fn interrupt(&self, py: Python<'_>) {
        {
            let mut local = self.inbox.local.lock();
            local.interrupted = true;
            self.inbox.ready.notify_all();
        }
        self.inbox.wake(py);
    }

    /// Closes the subscriber (a close frame); what was received can still be taken.
    fn close(&self, py: Python<'_>) {
        let already = std::mem::replace(&mut self.inbox.local.lock().closed, true);
        if !already {
            self.shared.close_subscriber(py, self.id);
        }
        self.inbox.close(py);
    }

    #[getter]
    fn dropped(&self) -> u64 {
        self.inbox.local.lock().dropped
    }

    #[getter]
    fn closed(&self) -> bool {
        self.inbox.local.lock().closed
    }

    /// As `Subscriber.last_node`.
    #[getter]
    fn last_node(&self) -> Option<String> {
        self.last_node.get()
    }

    /// The id frames name this subscriber by (unique on its stream).
    #[getter]
    fn id(&self) -> u64 {
        self.id
    }
}

impl Drop for UdsSubscriber {
    fn drop(&mut self) {
        let already = std::mem::replace(&mut self.inbox.local.lock().closed, true);
        if !already {
            Python::attach(|py| self.shared.close_subscriber(py, self.id));
        }
    }
}
