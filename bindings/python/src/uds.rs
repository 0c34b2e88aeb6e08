//! The uds transport's Python half: starting the listener, and `UdsCodec`,
//! which turns Python calls into request frames and response frames into
//! resolved waiters.
//!
//! The codec does all the per-field work in Rust, against the messages
//! generated from `core/proto`, so the `.proto` files stay the one definition
//! of the frames and the Python side only moves bytes: `submit` encodes a
//! request (raising `DataError` before anything is written), `take_output`
//! hands over everything encoded since the last call in one `bytes`, and
//! `feed` decodes whatever the socket produced and resolves each reply's
//! waiter (an asyncio future, or the sync client's waiter) with the reply
//! shaped exactly as on the other transports.

use std::collections::HashMap;
use std::sync::Arc;

use babushka_core::socket::convert::{connection_request, error_from_proto, value_from_proto};
use babushka_core::socket::proto::{self, response};
use babushka_core::socket::{self, encode_frame, FrameDecoder};
use babushka_core::{ConnectionConfig, Error, ErrorKind};
use parking_lot::Mutex;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyTuple};
use pyo3::{PyTraverseError, PyVisit};

use crate::args::encode_args;
use crate::encoding::Encoding;
use crate::errors::to_py_err;
use crate::reply::{to_python, Shape};

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
    shape: Shape,
}

struct State {
    /// Request ids start at 1: 0 marks frames about the stream itself.
    next_id: u64,
    pending: HashMap<u64, Pending>,
    /// Request frames encoded but not yet taken by the writer.
    output: Vec<u8>,
    decoder: FrameDecoder,
    /// Set once the stream is closed; later submits raise it.
    closed: Option<Error>,
}

/// The request/response codec of one client's stream to the listener.
#[pyclass(frozen, name = "UdsCodec", module = "babushka._core")]
pub struct UdsCodec {
    encoding: Arc<Encoding>,
    config: ConnectionConfig,
    state: Mutex<State>,
}

impl UdsCodec {
    pub fn new(encoding: Arc<Encoding>, config: ConnectionConfig) -> Self {
        Self {
            encoding,
            config,
            state: Mutex::new(State {
                next_id: 1,
                pending: HashMap::new(),
                output: Vec::new(),
                decoder: FrameDecoder::new(),
                closed: None,
            }),
        }
    }

    /// Marks the stream closed with `err` (unless it already is) and fails
    /// every pending request with it.
    fn fail_all(&self, py: Python<'_>, err: &Error) {
        let failed: Vec<Pending> = {
            let mut state = self.state.lock();
            if state.closed.is_none() {
                state.closed = Some(err.clone());
            }
            state.output.clear();
            state.pending.drain().map(|(_, pending)| pending).collect()
        };
        for pending in failed {
            reject(py, &pending.waiter, to_py_err(py, err));
        }
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

    /// Encodes a request whose reply will resolve `waiter` (an object with
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
        let shape = Shape::from_u8(shape)?;
        let mut words = Vec::with_capacity(args.len());
        encode_args(args, &self.encoding, &mut words)?;
        let mut state = self.state.lock();
        if let Some(err) = &state.closed {
            return Err(to_py_err(py, err));
        }
        let request_id = state.next_id;
        state.next_id += 1;
        let was_empty = state.output.is_empty();
        encode_frame(
            &proto::Request {
                request_id,
                args: words,
                ..proto::Request::default()
            },
            &mut state.output,
        );
        state.pending.insert(request_id, Pending { waiter, shape });
        Ok(was_empty)
    }

    /// Every frame encoded since the last call, as one `bytes` (empty if none).
    fn take_output<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        let output = std::mem::take(&mut self.state.lock().output);
        PyBytes::new(py, &output)
    }

    /// Decodes the response frames in `data` (plus any partial frame left
    /// from before) and resolves their waiters. Returns how many it resolved.
    fn feed(&self, py: Python<'_>, data: &[u8]) -> usize {
        let mut ready = Vec::new();
        let mut closing = None;
        {
            let mut state = self.state.lock();
            state.decoder.extend(data);
            loop {
                match state.decoder.next_message::<proto::Response>() {
                    Ok(Some(response)) => match response.result {
                        Some(response::Result::ClosingError(err)) => {
                            closing = Some(closing_error(err));
                            break;
                        }
                        // The acknowledgement of the setup frame.
                        _ if response.request_id == 0 => {}
                        // A notice, not the outcome: nothing cancels requests yet.
                        Some(response::Result::Dedicated(_)) => {}
                        result => {
                            if let Some(pending) = state.pending.remove(&response.request_id) {
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
        let count = ready.len();
        // Waiters are resolved outside the lock: resolving runs Python code,
        // which may submit again.
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
    /// codec: the collector must see them, or a loop closed with a request in
    /// flight is never freed. A codec busy on another thread at that moment
    /// is skipped, which only keeps its objects for a later collection.
    fn __traverse__(&self, visit: PyVisit<'_>) -> Result<(), PyTraverseError> {
        if let Some(state) = self.state.try_lock() {
            for pending in state.pending.values() {
                visit.call(&pending.waiter)?;
            }
        }
        Ok(())
    }

    fn __clear__(&self) {
        let taken = self
            .state
            .try_lock()
            .map(|mut state| std::mem::take(&mut state.pending));
        drop(taken);
    }

    /// How many requests wait for replies.
    fn pending(&self) -> usize {
        self.state.lock().pending.len()
    }

    #[getter]
    fn closed(&self) -> bool {
        self.state.lock().closed.is_some()
    }
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
            to_python(py, value_from_proto(value), pending.shape, encoding)
        }
        Some(response::Result::Error(err)) => Err(to_py_err(py, &error_from_proto(err))),
        // Closing errors and notices are handled by the caller; a response
        // without a result is a core bug, reported to the one request it names.
        Some(response::Result::ClosingError(_) | response::Result::Dedicated(_)) | None => {
            Err(to_py_err(
                py,
                &Error::new(
                    ErrorKind::Protocol,
                    "the socket listener sent an empty response",
                ),
            ))
        }
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
    Ok(())
}
