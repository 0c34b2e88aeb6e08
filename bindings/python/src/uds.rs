//! The uds transport's Python half: starting the listener, and `UdsCodec`,
//! which turns Python calls into request frames and response frames into
//! resolved waiters.
//!
//! The codec does all the per-field work in Rust, against the messages
//! generated from `core/proto`, so the `.proto` files stay the one definition
//! of the frames and the Python side only moves bytes: `submit` and
//! `submit_request` encode a request (raising `DataError` before anything is
//! written), `take_output` hands over everything encoded since the last call
//! in one `bytes`, and `feed` decodes whatever the socket produced and
//! resolves each reply's waiter (an asyncio future, or the sync client's
//! waiter) with the reply shaped exactly as on the other transports.
//!
//! Like the core, the codec decides nothing about a request: batches, leases
//! and cancellation are frames the listener turns into the core's own
//! `Request`, `Lease` and `Cancel`.
//!
//! - Leases: `open_lease` returns a [`UdsLease`], which names its lease by an
//!   id the codec chose and gives it back (a release frame) when dropped.
//! - Cancellation: a request that may run on a dedicated connection (a
//!   blocking command, a leased request: `may_run_dedicated`, from the
//!   command table) has its waiter, if it is an asyncio future, call back
//!   when done, from the moment it is encoded; if it was cancelled, a cancel
//!   frame tells the core to close that connection. It follows the request
//!   on the stream, so the listener finds the request whenever it comes
//!   (the `dedicated` notice is not waited for: a cancel that waited for it
//!   could reach the core after a later request of the same client, which a
//!   cancelled `BLPOP` could then still pop).
//! - Frames encoded outside a submit (lease and cancel frames) are announced
//!   to the stream through its `on_output` callable, which writes them out.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};

use babushka_core::cluster::DefaultNode;
use babushka_core::socket::convert::{
    connection_request, error_from_proto, may_run_dedicated, value_from_proto,
};
use babushka_core::socket::proto::{self, request::Action, response};
use babushka_core::socket::{self, encode_frame, FrameDecoder, MAX_FRAME_LEN};
use babushka_core::{ConnectionConfig, Error, ErrorKind};
use parking_lot::Mutex;
use prost::Message;
use pyo3::exceptions::PyValueError;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyTuple};
use pyo3::{PyTraverseError, PyVisit};

use crate::args::{command_words_after, encode_args};
use crate::encoding::Encoding;
use crate::errors::to_py_err;
use crate::reply::{shape_from_u8, shape_reply, ReplyShape, Shape};
use crate::request::{read_commands, Kind};
use crate::uds_pubsub::{UdsInbox, UdsSubscriber};

/// Starts the process's socket listener (once; later calls find it running)
/// and calls `init_callback(path, None)`, or `init_callback(None, message)` if
/// it cannot start. Returns the path, or `None` on failure.
#[pyfunction]
fn start_socket_listener(
    py: Python<'_>,
    init_callback: &Bound<'_, PyAny>,
) -> PyResult<Option<String>> {
    match py.detach(socket::start) {
        Ok(path) => {
            let path = path.to_string_lossy().into_owned();
            init_callback.call1((path.clone(), py.None()))?;
            Ok(Some(path))
        }
        Err(err) => {
            init_callback.call1((py.None(), err.message()))?;
            Ok(None)
        }
    }
}

/// One request waiting for its reply.
struct Pending {
    waiter: Py<PyAny>,
    shape: ReplyShape,
}

/// A codec's mutable state. Its lock is never held while Python code may
/// run (not even an allocation that could start the collector): a lease
/// dropped by the collector takes it, on whatever thread that runs.
struct State {
    /// Request ids start at 1: 0 marks frames about the stream itself.
    next_id: u64,
    /// Lease ids start at 1: 0 means "no lease" in a request frame.
    next_lease: u64,
    /// The requests that may run on a dedicated connection and wait for
    /// their replies, by id, watched for cancellation (see `push`).
    watched: Vec<u64>,
    /// Subscriber ids start at 1 and are never reused on a stream.
    next_subscriber: u64,
    /// The open subscribers, by id: where their batches go.
    subscribers: HashMap<u64, Weak<UdsInbox>>,
    pending: HashMap<u64, Pending>,
    /// Request frames encoded but not yet taken by the writer.
    output: Vec<u8>,
    decoder: FrameDecoder,
    /// Set once the stream is closed; later submits raise it.
    closed: Option<Error>,
    /// How many changes of the cluster client's default node the listener
    /// has been told of (see `UdsCodec::push`).
    told_default_node: u64,
}

impl State {
    /// Appends a control frame (lease or cancel) unless the stream is
    /// closed. Returns whether the output was empty before.
    fn control(&mut self, action: Action) -> bool {
        self.control_frame(&proto::Request {
            action: Some(action),
            ..proto::Request::default()
        })
    }

    /// Queues a control frame (one that may carry more than its action).
    fn control_frame(&mut self, frame: &proto::Request) -> bool {
        if self.closed.is_some() {
            return false;
        }
        let was_empty = self.output.is_empty();
        encode_frame(frame, &mut self.output);
        was_empty
    }
}

/// What a codec shares with its leases, subscribers and cancel hooks.
pub struct Shared {
    state: Mutex<State>,
    /// The stream's `on_output()`: writes out frames encoded outside a
    /// submit. Cleared when the stream closes (and by the collector).
    on_output: Mutex<Option<Py<PyAny>>>,
}

impl Shared {
    /// Appends a control frame and, if the output was empty, tells the stream.
    pub fn control(&self, py: Python<'_>, action: Action) {
        let was_empty = self.state.lock().control(action);
        if was_empty {
            self.announce_output(py);
        }
    }

    fn announce_output(&self, py: Python<'_>) {
        let on_output = self
            .on_output
            .lock()
            .as_ref()
            .map(|hook| hook.clone_ref(py));
        if let Some(on_output) = on_output {
            if let Err(err) = on_output.call0(py) {
                err.write_unraisable(py, Some(on_output.bind(py)));
            }
        }
    }

    /// As [`Self::control`], but raises the stream's error if it is closed.
    pub fn control_checked(&self, py: Python<'_>, action: Action) -> PyResult<()> {
        let was_empty = {
            let mut state = self.state.lock();
            if let Some(err) = state.closed.clone() {
                drop(state);
                return Err(to_py_err(py, &err));
            }
            state.control(action)
        };
        if was_empty {
            self.announce_output(py);
        }
        Ok(())
    }

    /// Writes a frame that is answered like a request (a subscribe):
    /// `waiter` gets its outcome, as a request's waiter does.
    pub fn answered(&self, py: Python<'_>, waiter: Py<PyAny>, action: Action) -> PyResult<()> {
        let was_empty = {
            let mut state = self.state.lock();
            if let Some(err) = state.closed.clone() {
                drop(state);
                return Err(to_py_err(py, &err));
            }
            let request_id = state.next_id;
            state.next_id += 1;
            let was_empty = state.output.is_empty();
            encode_frame(
                &proto::Request {
                    request_id,
                    action: Some(action),
                    ..proto::Request::default()
                },
                &mut state.output,
            );
            state.pending.insert(
                request_id,
                Pending {
                    waiter,
                    shape: ReplyShape::One(Shape::Ok),
                },
            );
            was_empty
        };
        if was_empty {
            self.announce_output(py);
        }
        Ok(())
    }

    /// Registers `inbox` under a new subscriber id and writes the frames
    /// that open the subscriber and ask for its first messages.
    pub fn open_subscriber(
        &self,
        py: Python<'_>,
        inbox: &Arc<UdsInbox>,
        max_buffered: usize,
    ) -> PyResult<u64> {
        let (id, was_empty) = {
            let mut state = self.state.lock();
            if let Some(err) = state.closed.clone() {
                drop(state);
                return Err(to_py_err(py, &err));
            }
            let id = state.next_subscriber;
            state.next_subscriber += 1;
            state
                .subscribers
                .retain(|_, inbox| inbox.strong_count() > 0);
            state.subscribers.insert(id, Arc::downgrade(inbox));
            let was_empty = state.control(Action::OpenSubscriber(proto::OpenSubscriber {
                subscriber_id: id,
                max_buffered_messages: max_buffered as u64,
            }));
            state.control(Action::FetchMessages(id));
            (id, was_empty)
        };
        if was_empty {
            self.announce_output(py);
        }
        Ok(id)
    }

    /// Forgets subscriber `id` and writes its close frame.
    pub fn close_subscriber(&self, py: Python<'_>, id: u64) {
        let was_empty = {
            let mut state = self.state.lock();
            state.subscribers.remove(&id);
            state.control(Action::CloseSubscriber(id))
        };
        if was_empty {
            self.announce_output(py);
        }
    }

    /// Cancels request `request_id` (a cancelled future on a dedicated
    /// connection): its reply will go nowhere, and the core closes that
    /// connection.
    /// Nothing is sent for a request already answered (nothing to cancel)
    /// or cancelled already.
    fn cancel(&self, py: Python<'_>, request_id: u64) {
        let (was_empty, forgotten) = {
            let mut state = self.state.lock();
            let Some(forgotten) = state.pending.remove(&request_id) else {
                return;
            };
            state.watched.retain(|id| *id != request_id);
            (state.control(Action::Cancel(request_id)), forgotten)
        };
        // The waiter is let go outside the lock: dropping it may run Python code.
        drop(forgotten);
        if was_empty {
            self.announce_output(py);
        }
    }
}

/// The request/response codec of one client's stream to the listener.
#[pyclass(frozen, name = "UdsCodec", module = "babushka._core")]
pub struct UdsCodec {
    encoding: Arc<Encoding>,
    config: ConnectionConfig,
    /// Answers the listener's credentials requests (see `crate::credentials`).
    credential_provider: Option<Arc<Py<PyAny>>>,
    /// A cluster client's default node, as the wrapper's own core client
    /// holds it: every change is passed on to the listener's client before
    /// the next request, on every stream, those opened later too.
    default_node: Option<Arc<DefaultNode>>,
    shared: Arc<Shared>,
}

impl UdsCodec {
    pub fn new(
        encoding: Arc<Encoding>,
        config: ConnectionConfig,
        credential_provider: Option<Arc<Py<PyAny>>>,
        default_node: Option<Arc<DefaultNode>>,
    ) -> Self {
        Self {
            encoding,
            config,
            credential_provider,
            default_node,
            shared: Arc::new(Shared {
                state: Mutex::new(State {
                    next_id: 1,
                    next_lease: 1,
                    next_subscriber: 1,
                    subscribers: HashMap::new(),
                    pending: HashMap::new(),
                    watched: Vec::new(),
                    output: Vec::new(),
                    decoder: FrameDecoder::new(),
                    closed: None,
                    told_default_node: 0,
                }),
                on_output: Mutex::new(None),
            }),
        }
    }

    /// Marks the stream closed with `err` (unless it already is) and fails
    /// every pending request with it.
    fn fail_all(&self, py: Python<'_>, err: &Error) {
        let (failed, subscribers): (Vec<Pending>, Vec<Weak<UdsInbox>>) = {
            let mut state = self.shared.state.lock();
            if state.closed.is_none() {
                state.closed = Some(err.clone());
            }
            state.output.clear();
            state.watched.clear();
            (
                state.pending.drain().map(|(_, pending)| pending).collect(),
                state.subscribers.drain().map(|(_, inbox)| inbox).collect(),
            )
        };
        // No batch will come for them: their waits end.
        for inbox in subscribers.iter().filter_map(Weak::upgrade) {
            inbox.close(py);
        }
        // Nothing is written any more: the stream's hook (which holds the
        // stream, which holds this codec) is let go.
        let on_output = self.shared.on_output.lock().take();
        drop(on_output);
        for pending in failed {
            reject(py, &pending.waiter, to_py_err(py, err));
        }
    }

    /// Answers the listener's credentials request `ask_id` with what the
    /// provider gives (on the thread or loop that reads the stream, as
    /// redis-py's connections call it on theirs).
    fn answer_credentials(&self, py: Python<'_>, ask_id: u64) {
        let answer = match &self.credential_provider {
            Some(provider) => crate::credentials::ask(py, provider.bind(py)),
            None => Err(Error::new(
                ErrorKind::Authentication,
                "the core asked for credentials, but this client has no credential_provider",
            )),
        };
        let answer = match answer {
            Ok(credentials) => proto::CredentialsAnswer {
                ask_id,
                username: credentials.username,
                password: credentials.password,
                error: None,
            },
            Err(err) => proto::CredentialsAnswer {
                ask_id,
                error: Some(err.message().to_owned()),
                ..proto::CredentialsAnswer::default()
            },
        };
        self.shared.control(py, Action::Credentials(answer));
    }

    /// Appends a request frame for `waiter`. Returns whether the output was
    /// empty before, i.e. whether the caller must arrange a write.
    fn push(
        &self,
        py: Python<'_>,
        waiter: Py<PyAny>,
        shape: ReplyShape,
        mut frame: proto::Request,
    ) -> PyResult<bool> {
        // The listener closes a stream that sends a frame over its limit,
        // failing every request on it: refuse this one alone, unsent. (Each
        // argument is within the server's limit already; a batch of many
        // large ones can still add up to more.) The id is not set yet: allow
        // for its field's largest size.
        let size = frame.encoded_len() + REQUEST_ID_ROOM;
        if size > MAX_FRAME_LEN {
            return Err(to_py_err(py, &frame_too_long(size)));
        }
        // An asyncio future (a sync waiter cannot be cancelled).
        let watched = (may_run_dedicated(&frame)
            && waiter
                .bind(py)
                .hasattr(intern!(py, "add_done_callback"))
                .unwrap_or(false))
        .then(|| waiter.clone_ref(py));
        self.send_due_cancels(py);
        let mut state = self.shared.state.lock();
        if let Some(err) = state.closed.clone() {
            drop(state);
            return Err(to_py_err(py, &err));
        }
        let was_empty = state.output.is_empty();
        if let Some(default_node) = &self.default_node {
            // One atomic read per request; a frame only after a change.
            let changes = default_node.changes();
            if changes != state.told_default_node {
                state.told_default_node = changes;
                let chosen = default_node.chosen();
                let told = proto::Request {
                    action: Some(Action::SetDefaultNode(proto::DefaultNode {
                        node: chosen
                            .as_ref()
                            .map(|c| c.node.to_string())
                            .unwrap_or_default(),
                        replica: chosen.is_some_and(|c| c.replica),
                    })),
                    ..proto::Request::default()
                };
                encode_frame(&told, &mut state.output);
            }
        }
        frame.request_id = state.next_id;
        state.next_id += 1;
        encode_frame(&frame, &mut state.output);
        state
            .pending
            .insert(frame.request_id, Pending { waiter, shape });
        if watched.is_some() {
            state.watched.push(frame.request_id);
        }
        drop(state);
        if let Some(waiter) = watched {
            self.watch_cancel(py, frame.request_id, &waiter);
        }
        Ok(was_empty)
    }

    /// The id a request sends `lease` by; refuses another stream's lease.
    fn lease_id(&self, py: Python<'_>, lease: Option<&Bound<'_, UdsLease>>) -> PyResult<u64> {
        let Some(lease) = lease else {
            return Ok(0);
        };
        let lease = lease.get();
        if !Arc::ptr_eq(&lease.shared, &self.shared) {
            // A lease of this client's stream before it was closed (and
            // reopened on next use): what it held is gone, as the other
            // transports' closed leases are.
            if let Some(err) = lease.shared.state.lock().closed.clone() {
                return Err(to_py_err(py, &err));
            }
            return Err(PyValueError::new_err(
                "this lease belongs to another client (or to this client before a fork)",
            ));
        }
        Ok(lease.id)
    }
}

#[pymethods]
impl UdsCodec {
    /// The frame that opens the stream: the protocol version and the client's
    /// settings. `protocol_version` overrides the version (for tests).
    #[pyo3(signature = (protocol_version = None))]
    fn setup_frame<'py>(
        &self,
        py: Python<'py>,
        protocol_version: Option<u32>,
    ) -> Bound<'py, PyBytes> {
        let mut request = connection_request(&self.config);
        if let Some(version) = protocol_version {
            request.protocol_version = version;
        }
        let mut frame = Vec::new();
        encode_frame(&request, &mut frame);
        PyBytes::new(py, &frame)
    }

    /// Sets the callable the codec calls (with no arguments) when it has
    /// encoded a frame outside `submit`/`submit_request` (a lease opened,
    /// closed or released, a request cancelled) into an empty output: the
    /// stream writes it out. It may be called from any thread that drops a
    /// lease, during garbage collection too, so it must not block.
    fn set_on_output(&self, on_output: Py<PyAny>) {
        let replaced = self.shared.on_output.lock().replace(on_output);
        drop(replaced);
    }

    /// Encodes a command whose reply will resolve `waiter` (an object with
    /// `set_result` and `set_exception`). Raises `DataError` for a bad
    /// argument, before anything is queued. Returns whether the output was
    /// empty before, i.e. whether the caller must arrange a write.
    #[pyo3(signature = (waiter, shape, *args))]
    fn submit(
        &self,
        py: Python<'_>,
        waiter: Py<PyAny>,
        shape: u8,
        args: &Bound<'_, PyTuple>,
    ) -> PyResult<bool> {
        let shape = shape_from_u8(shape)?;
        let mut words = Vec::with_capacity(args.len());
        encode_args(args, &self.encoding, &mut words)?;
        let frame = proto::Request {
            args: words,
            ..proto::Request::default()
        };
        self.push(py, waiter, ReplyShape::One(shape), frame)
    }

    /// `submit` for the form `Client.execute_request` takes: `kind` 0 one
    /// command, 1 a pipeline, 2 a transaction, of `(shape, name, *args)`
    /// tuples, on `lease` (from `open_lease`) if given, or to a cluster
    /// client's `node` (`host:port`). A batch's reply is a list, error
    /// replies in it as exception objects.
    #[pyo3(signature = (waiter, lease, kind, commands, node = None))]
    fn submit_request(
        &self,
        py: Python<'_>,
        waiter: Py<PyAny>,
        lease: Option<&Bound<'_, UdsLease>>,
        kind: u8,
        commands: &Bound<'_, PyAny>,
        node: Option<String>,
    ) -> PyResult<bool> {
        let lease_id = self.lease_id(py, lease)?;
        let node = node.unwrap_or_default();
        let kind = Kind::from_u8(kind)?;
        let (mut words, shape) = read_commands(kind, commands, |item| {
            command_words_after(item, 1, &self.encoding)
        })?;
        let batch_kind = match kind {
            Kind::One => {
                let args = words.pop().expect("read_commands checked: one command");
                let frame = proto::Request {
                    args,
                    lease_id,
                    node,
                    ..proto::Request::default()
                };
                return self.push(py, waiter, shape, frame);
            }
            Kind::Pipeline => proto::BatchKind::Pipeline,
            Kind::Transaction => proto::BatchKind::Transaction,
        };
        let frame = proto::Request {
            action: Some(Action::Batch(proto::Batch {
                kind: batch_kind.into(),
                commands: words
                    .into_iter()
                    .map(|args| proto::BatchCommand { args })
                    .collect(),
            })),
            lease_id,
            node,
            ..proto::Request::default()
        };
        self.push(py, waiter, shape, frame)
    }

    /// Opens a lease: a dedicated connection for a `WATCH` session, held
    /// until the returned object is dropped. The frame goes out through
    /// `on_output`. Raises if the stream is closed; a lease the core cannot
    /// open (all `max_connections` in use) fails the requests sent on it.
    /// A cluster client's lease connects to the primary serving `slot`.
    #[pyo3(signature = (slot = None))]
    fn open_lease(&self, py: Python<'_>, slot: Option<u16>) -> PyResult<UdsLease> {
        let (id, was_empty) = {
            let mut state = self.shared.state.lock();
            if let Some(err) = state.closed.clone() {
                drop(state);
                return Err(to_py_err(py, &err));
            }
            let id = state.next_lease;
            state.next_lease += 1;
            let frame = proto::Request {
                action: Some(Action::OpenLease(id)),
                lease_slot: slot.map(u32::from),
                ..proto::Request::default()
            };
            (id, state.control_frame(&frame))
        };
        if was_empty {
            self.shared.announce_output(py);
        }
        Ok(UdsLease {
            shared: Arc::clone(&self.shared),
            id,
            reusable: AtomicBool::new(true),
        })
    }

    /// A subscriber on this stream: the core opens it (a connection of its
    /// own, on its first command) behind the listener, with a backlog of at
    /// most `max_buffered_messages` published messages. Raises if the
    /// stream is closed.
    #[pyo3(signature = (max_buffered_messages = babushka_core::pubsub::DEFAULT_MAX_BUFFERED))]
    fn open_subscriber(
        &self,
        py: Python<'_>,
        max_buffered_messages: usize,
    ) -> PyResult<UdsSubscriber> {
        if max_buffered_messages == 0 {
            return Err(to_py_err(
                py,
                &Error::new(
                    ErrorKind::InvalidInput,
                    "max_buffered_messages must be at least 1",
                ),
            ));
        }
        UdsSubscriber::open(py, &self.shared, &self.encoding, max_buffered_messages)
    }

    /// Every frame encoded since the last call, as one `bytes` (empty if none).
    fn take_output<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        let output = std::mem::take(&mut self.shared.state.lock().output);
        PyBytes::new(py, &output)
    }

    /// Decodes the response frames in `data` (plus any partial frame left
    /// from before) and resolves their waiters. Returns how many it resolved.
    fn feed(&self, py: Python<'_>, data: &[u8]) -> usize {
        let mut ready = Vec::new();
        let mut pushed = Vec::new();
        let mut asks = Vec::new();
        let mut closing = None;
        {
            let mut state = self.shared.state.lock();
            state.decoder.extend(data);
            loop {
                match state.decoder.next_message::<proto::Response>() {
                    Ok(Some(response)) => match response.result {
                        Some(response::Result::ClosingError(err)) => {
                            closing = Some(closing_error(err));
                            break;
                        }
                        // A subscriber's messages (for one closed since, none).
                        Some(response::Result::Pushed(batch)) => {
                            if let Some(inbox) = state
                                .subscribers
                                .get(&batch.subscriber_id)
                                .and_then(Weak::upgrade)
                            {
                                pushed.push((inbox, batch));
                            }
                        }
                        Some(response::Result::CredentialsRequest(ask_id)) => asks.push(ask_id),
                        // The acknowledgement of the setup frame.
                        _ if response.request_id == 0 => {}
                        // A notice, not the outcome: the request was
                        // watched for cancellation when it was sent.
                        Some(response::Result::Dedicated(_)) => {}
                        result => {
                            if let Some(pending) = state.pending.remove(&response.request_id) {
                                if !state.watched.is_empty() {
                                    state.watched.retain(|id| *id != response.request_id);
                                }
                                ready.push((pending, result));
                            }
                        }
                    },
                    Ok(None) => break,
                    Err(err) => {
                        closing = Some(Error::new(
                            ErrorKind::Connection,
                            format!("the socket listener sent a bad frame: {err}"),
                        ));
                        break;
                    }
                }
            }
        }
        // Waiters are resolved outside the lock: resolving runs Python code,
        // which may submit again.
        for (inbox, batch) in pushed {
            inbox.deliver(py, batch);
        }
        for ask_id in asks {
            self.answer_credentials(py, ask_id);
        }
        let count = ready.len();
        for (pending, result) in ready {
            resolve(py, &pending, result, &self.encoding);
        }
        if let Some(err) = closing {
            self.fail_all(py, &err);
        }
        count
    }

    /// The client closed its stream: pending and later requests fail with
    /// `ClientClosedError`.
    fn close(&self, py: Python<'_>) {
        self.fail_all(py, &Error::closed());
    }

    /// The stream broke or ended without a closing frame: pending and later
    /// requests fail with `ConnectionError(message)`.
    fn connection_lost(&self, py: Python<'_>, message: &str) {
        self.fail_all(py, &Error::new(ErrorKind::Connection, message));
    }

    /// Pending waiters (asyncio futures) hold their loop, which may hold this
    /// codec, and `on_output` holds the stream, which holds this codec: the
    /// collector must see them, or a loop closed with a request in flight is
    /// never freed. A codec busy on another thread at that moment is skipped,
    /// which only keeps its objects for a later collection.
    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        if let Some(state) = self.shared.state.try_lock() {
            for pending in state.pending.values() {
                visit.call(&pending.waiter)?;
            }
        }
        if let Some(on_output) = self.shared.on_output.try_lock() {
            if let Some(hook) = on_output.as_ref() {
                visit.call(hook)?;
            }
        }
        Ok(())
    }

    fn __clear__(&self) {
        let taken = self
            .shared
            .state
            .try_lock()
            .map(|mut state| std::mem::take(&mut state.pending));
        drop(taken);
        let hook = self
            .shared
            .on_output
            .try_lock()
            .and_then(|mut on_output| on_output.take());
        drop(hook);
    }

    /// How many requests wait for replies.
    fn pending(&self) -> usize {
        self.shared.state.lock().pending.len()
    }

    #[getter]
    fn closed(&self) -> bool {
        self.shared.state.lock().closed.is_some()
    }
}

impl UdsCodec {
    /// Writes the cancel frames of watched requests whose futures were
    /// cancelled since, ahead of the request about to be encoded. Their
    /// done-callbacks would send them too, but only on a later turn of the
    /// loop, after whatever the program sends meanwhile: a `BLPOP` cancelled
    /// and followed at once by an `RPUSH` could still pop the element. The
    /// list is empty unless a blocking request is in flight.
    fn send_due_cancels(&self, py: Python<'_>) {
        let watched: Vec<(u64, Py<PyAny>)> = {
            let state = self.shared.state.lock();
            if state.watched.is_empty() {
                return;
            }
            state
                .watched
                .iter()
                .filter_map(|id| {
                    let pending = state.pending.get(id)?;
                    Some((*id, pending.waiter.clone_ref(py)))
                })
                .collect()
        };
        let cancelled = intern!(py, "cancelled");
        for (request_id, waiter) in watched {
            let is_cancelled = waiter
                .call_method0(py, cancelled)
                .and_then(|done| done.is_truthy(py))
                .unwrap_or(false);
            if is_cancelled {
                self.shared.cancel(py, request_id);
            }
        }
    }

    /// Request `request_id` may run on a dedicated connection: if its waiter
    /// is an asyncio future, cancelling it must close that connection, so a
    /// done-callback sends a cancel frame if the future was cancelled.
    /// (Sync waiters cannot be cancelled.)
    #[cold]
    fn watch_cancel(&self, py: Python<'_>, request_id: u64, waiter: &Py<PyAny>) {
        let waiter = waiter.bind(py);
        let add_done_callback = intern!(py, "add_done_callback");
        if !waiter.hasattr(add_done_callback).unwrap_or(false) {
            return;
        }
        let hook = CancelOnCancelled {
            shared: Arc::clone(&self.shared),
            request_id,
        };
        if let Err(err) = waiter.call_method1(add_done_callback, (hook,)) {
            err.write_unraisable(py, Some(waiter));
        }
    }
}

/// A future's done-callback: sends a cancel frame if the future was cancelled.
#[pyclass(frozen, name = "UdsCancelHook", module = "babushka._core")]
pub struct CancelOnCancelled {
    shared: Arc<Shared>,
    request_id: u64,
}

#[pymethods]
impl CancelOnCancelled {
    fn __call__(&self, py: Python<'_>, future: &Bound<'_, PyAny>) -> PyResult<()> {
        if future.call_method0(intern!(py, "cancelled"))?.is_truthy()? {
            self.shared.cancel(py, self.request_id);
        }
        Ok(())
    }
}

/// A lease on a uds stream: a dedicated connection held in the core for a
/// `WATCH` session, named in frames by its id. Dropping it gives the
/// connection back (a release frame); it behaves like `_core.Lease`.
#[pyclass(frozen, name = "UdsLease", module = "babushka._core")]
pub struct UdsLease {
    shared: Arc<Shared>,
    id: u64,
    reusable: AtomicBool,
}

#[pymethods]
impl UdsLease {
    /// Whether the connection may be reused once let go (`False` after a
    /// `WATCH` that was never followed by `EXEC` or `UNWATCH`). Sent with
    /// the release.
    fn set_reusable(&self, reusable: bool) {
        self.reusable.store(reusable, Ordering::Release);
    }

    /// Closes the connection now; requests on it fail.
    fn close(&self, py: Python<'_>) {
        self.reusable.store(false, Ordering::Release);
        self.shared.control(py, Action::CloseLease(self.id));
    }

    /// The id frames name this lease by (unique on its stream).
    #[getter]
    fn id(&self) -> u64 {
        self.id
    }
}

impl Drop for UdsLease {
    fn drop(&mut self) {
        let release = Action::ReleaseLease(proto::LeaseRelease {
            lease_id: self.id,
            reusable: self.reusable.load(Ordering::Acquire),
        });
        Python::attach(|py| self.shared.control(py, release));
    }
}

/// The most a request id adds to a frame: its tag and a 10-byte varint.
const REQUEST_ID_ROOM: usize = 11;

#[cold]
fn frame_too_long(size: usize) -> Error {
    Error::new(
        ErrorKind::InvalidInput,
        format!(
            "the request is {size} bytes, over the uds transport's limit of {MAX_FRAME_LEN} \
             bytes for one request; nothing was sent (send it in smaller batches, or on \
             another transport)"
        ),
    )
}

/// A closing frame means the stream is gone, whatever the reason, so it
/// surfaces as a connection error (a closed one stays `ClientClosedError`).
#[cold]
fn closing_error(err: proto::Error) -> Error {
    let err = error_from_proto(err);
    if err.kind() == ErrorKind::Closed {
        return err;
    }
    Error::new(
        ErrorKind::Connection,
        format!("the socket listener closed the stream: {}", err.message()),
    )
}

fn resolve(
    py: Python<'_>,
    pending: &Pending,
    result: Option<response::Result>,
    encoding: &Encoding,
) {
    let outcome = match result {
        Some(response::Result::Value(value)) => {
            shape_reply(py, value_from_proto(value), &pending.shape, encoding)
        }
        Some(response::Result::Error(err)) => Err(to_py_err(py, &error_from_proto(err))),
        // Closing errors, notices and pushes are handled by the caller; a
        // response without a result is a core bug, reported to the one
        // request it names.
        Some(
            response::Result::ClosingError(_)
            | response::Result::Dedicated(_)
            | response::Result::Pushed(_)
            | response::Result::CredentialsRequest(_),
        )
        | None => Err(to_py_err(
            py,
            &Error::new(
                ErrorKind::Protocol,
                "the socket listener sent an empty response",
            ),
        )),
    };
    match outcome {
        Ok(reply) => {
            if let Err(err) = pending
                .waiter
                .call_method1(py, intern!(py, "set_result"), (reply,))
            {
                unraisable_unless_done(py, &pending.waiter, err);
            }
        }
        Err(err) => reject(py, &pending.waiter, err),
    }
}

fn reject(py: Python<'_>, waiter: &Py<PyAny>, err: PyErr) {
    if let Err(err) = waiter.call_method1(py, intern!(py, "set_exception"), (err.into_value(py),)) {
        unraisable_unless_done(py, waiter, err);
    }
}

/// A future its caller cancelled refuses a result; that is expected. Any
/// other failure to resolve a waiter is reported, not raised into the reader.
#[cold]
fn unraisable_unless_done(py: Python<'_>, waiter: &Py<PyAny>, err: PyErr) {
    let done = waiter
        .call_method0(py, intern!(py, "done"))
        .and_then(|done| done.is_truthy(py))
        .unwrap_or(false);
    if !done {
        err.write_unraisable(py, Some(waiter.bind(py)));
    }
}

pub fn register(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_function(wrap_pyfunction!(start_socket_listener, module)?)?;
    module.add_class::<UdsCodec>()?;
    module.add_class::<UdsLease>()?;
    module.add_class::<UdsSubscriber>()?;
    module.add_class::<CancelOnCancelled>()?;
    Ok(())
}
