//! `_core.Client`: one connection to a server and the three ways to send a
//! command on it (blocking, managed completion queue, raw callbacks).

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use babushka_core::{runtime, Address, Client, ConnectionConfig, Error, Protocol, Value};
use pyo3::exceptions::PyValueError;
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::types::PyTuple;

use crate::args::build_command;
use crate::completions::PyCompletionQueue;
use crate::encoding::Encoding;
use crate::errors::to_py_err;
use crate::reply::{to_python, Shape};
use crate::reply_future::ReplyFuture;
use crate::uds::UdsCodec;

#[pyclass(frozen, name = "Client", module = "babushka._core")]
pub struct PyClient {
    core: Arc<Client>,
    encoding: Arc<Encoding>,
    /// Kept for the uds transport, whose setup frame carries the settings.
    config: ConnectionConfig,
}

fn seconds(value: Option<f64>, name: &str) -> PyResult<Option<Duration>> {
    value
        .map(|secs| {
            Duration::try_from_secs_f64(secs).map_err(|_| {
                PyValueError::new_err(format!(
                    "{name} must be a non-negative number of seconds, got {secs}"
                ))
            })
        })
        .transpose()
}

/// Sends commands of one client on behalf of one asyncio event loop.
#[pyclass(frozen, name = "ManagedSender", module = "babushka._core")]
pub struct ManagedSender {
    core: Arc<Client>,
    encoding: Arc<Encoding>,
    queue: Py<PyCompletionQueue>,
    event_loop: Py<PyAny>,
    /// The loop's `call_soon` and the callable that wakes the connection's writer.
    call_soon: Py<PyAny>,
    wake: Py<WriterWake>,
}

/// Wakes a client's connection writer; scheduled with `loop.call_soon` so it
/// runs once after every task that was ready has queued its command.
#[pyclass(frozen, name = "WriterWake", module = "babushka._core")]
pub struct WriterWake {
    core: Arc<Client>,
    /// Set while a wake is scheduled on the loop, so one iteration schedules one.
    scheduled: AtomicBool,
}

#[pymethods]
impl WriterWake {
    fn __call__(&self) {
        self.scheduled.store(false, Ordering::Release);
        self.core.wake();
    }
}

#[pymethods]
impl ManagedSender {
    /// Sends a command and returns the future its reply will complete. The
    /// command is encoded (and a bad argument raised) before this returns.
    #[pyo3(signature = (shape, *args))]
    fn submit<'py>(
        &self,
        py: Python<'py>,
        shape: u8,
        args: &Bound<'py, PyTuple>,
    ) -> PyResult<Bound<'py, ReplyFuture>> {
        let shape = Shape::from_u8(shape)?;
        let cmd = build_command(args, &self.encoding)?;
        let future = Bound::new(py, ReplyFuture::new(self.event_loop.clone_ref(py)))?;
        let responder =
            self.queue
                .get()
                .responder(future.clone().unbind(), shape, Arc::clone(&self.encoding));
        let handle = runtime::handle().map_err(|e| to_py_err(py, &e))?;
        let sink = Box::new(move |outcome| responder.complete(outcome));
        // Under load, one wake-up per loop iteration rather than per command:
        // waking the runtime costs this thread a syscall whenever a worker sleeps.
        if self.core.submit(handle, cmd, sink) {
            let wake = self.wake.bind(py);
            if !wake.get().scheduled.swap(true, Ordering::AcqRel) {
                if let Err(err) = self.call_soon.bind(py).call1((wake,)) {
                    // The loop cannot run it (closed?): wake now instead.
                    wake.get().scheduled.store(false, Ordering::Release);
                    self.core.wake();
                    return Err(err);
                }
            }
        }
        Ok(future)
    }
}

#[pymethods]
impl PyClient {
    #[new]
    #[pyo3(signature = (
        *, host = "localhost".to_owned(), port = 6379, unix_path = None, db = 0, username = None,
        password = None, client_name = None, protocol = 2, connect_timeout = None,
        response_timeout = None, max_in_flight = None, encoding = "utf-8", encoding_errors = "strict",
        decode_responses = false,
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        host: String,
        port: u16,
        unix_path: Option<PathBuf>,
        db: i64,
        username: Option<String>,
        password: Option<String>,
        client_name: Option<String>,
        protocol: u8,
        connect_timeout: Option<f64>,
        response_timeout: Option<f64>,
        max_in_flight: Option<usize>,
        encoding: &str,
        encoding_errors: &str,
        decode_responses: bool,
    ) -> PyResult<Self> {
        let address = match unix_path {
            Some(path) => Address::Unix(path),
            None => Address::Tcp { host, port },
        };
        let config = ConnectionConfig {
            address,
            db,
            username,
            password,
            client_name,
            protocol: Protocol::from_number(protocol).map_err(|e| to_py_err(py, &e))?,
            connect_timeout: seconds(connect_timeout, "socket_connect_timeout")?,
            response_timeout: seconds(response_timeout, "socket_timeout")?,
            max_in_flight,
        };
        // The runtime must exist before redis-rs builds anything that spawns.
        let handle = runtime::handle().map_err(|e| to_py_err(py, &e))?;
        let _guard = handle.enter();
        let core = Client::new(&config).map_err(|e| to_py_err(py, &e))?;
        Ok(Self {
            core,
            config,
            encoding: Arc::new(Encoding::new(
                py,
                encoding,
                encoding_errors,
                decode_responses,
            )),
        })
    }

    /// Sends a command and waits for its reply with the GIL released.
    #[pyo3(signature = (shape, *args))]
    fn execute<'py>(
        &self,
        py: Python<'py>,
        shape: u8,
        args: &Bound<'py, PyTuple>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let shape = Shape::from_u8(shape)?;
        let cmd = build_command(args, &self.encoding)?;
        let handle = runtime::handle().map_err(|e| to_py_err(py, &e))?;
        let core = &self.core;
        let outcome = py.detach(|| handle.block_on(core.execute(&cmd)));
        finish(py, outcome, shape, &self.encoding)
    }

    /// Managed transport for asyncio: a sender whose `submit` returns a
    /// future of `event_loop`, completed through `queue`.
    fn managed_sender(
        &self,
        py: Python<'_>,
        queue: Py<PyCompletionQueue>,
        event_loop: Py<PyAny>,
    ) -> PyResult<ManagedSender> {
        runtime::handle().map_err(|e| to_py_err(py, &e))?;
        let wake = Py::new(
            py,
            WriterWake {
                core: Arc::clone(&self.core),
                scheduled: AtomicBool::new(false),
            },
        )?;
        let call_soon = event_loop.getattr(py, intern!(py, "call_soon"))?;
        Ok(ManagedSender {
            core: Arc::clone(&self.core),
            encoding: Arc::clone(&self.encoding),
            queue,
            event_loop,
            call_soon,
            wake,
        })
    }

    /// Raw FFI transport: sends a command; on completion a runtime thread
    /// takes the GIL and calls `on_success(reply)` or `on_failure(exception)`.
    #[pyo3(signature = (on_success, on_failure, shape, *args))]
    fn call(
        &self,
        py: Python<'_>,
        on_success: Py<PyAny>,
        on_failure: Py<PyAny>,
        shape: u8,
        args: &Bound<'_, PyTuple>,
    ) -> PyResult<()> {
        let shape = Shape::from_u8(shape)?;
        let cmd = build_command(args, &self.encoding)?;
        let handle = runtime::handle().map_err(|e| to_py_err(py, &e))?;
        let callback = Callback {
            pair: Some((on_success, on_failure)),
            shape,
            encoding: Arc::clone(&self.encoding),
        };
        let core = Arc::clone(&self.core);
        handle.spawn(async move {
            let outcome = core.execute(&cmd).await;
            callback.complete(outcome);
        });
        Ok(())
    }

    /// uds transport: a codec for one stream to the socket listener, with
    /// this client's settings and encoding.
    fn uds_codec(&self) -> UdsCodec {
        UdsCodec::new(Arc::clone(&self.encoding), self.config.clone())
    }

    /// Closes the connection. Later commands raise `ClientClosedError`.
    fn close(&self) {
        self.core.close();
    }

    #[getter]
    fn closed(&self) -> bool {
        self.core.is_closed()
    }
}

fn finish<'py>(
    py: Python<'py>,
    outcome: Result<Value, Error>,
    shape: Shape,
    encoding: &Encoding,
) -> PyResult<Bound<'py, PyAny>> {
    match outcome {
        Ok(value) => to_python(py, value, shape, encoding),
        Err(err) => Err(to_py_err(py, &err)),
    }
}

/// The raw-FFI transport's pair of callbacks. Like the managed responder, a
/// request dropped without an outcome still calls `on_failure`.
struct Callback {
    /// `(on_success, on_failure)`; taken when called, so they are released
    /// while the GIL is held (a decref without it would wait for pyo3's next
    /// GIL acquisition, keeping the caller's future and loop alive until then).
    pair: Option<(Py<PyAny>, Py<PyAny>)>,
    shape: Shape,
    encoding: Arc<Encoding>,
}

impl Callback {
    fn complete(mut self, outcome: Result<Value, Error>) {
        self.deliver(outcome);
    }

    fn deliver(&mut self, outcome: Result<Value, Error>) {
        let Some((on_success, on_failure)) = self.pair.take() else {
            return;
        };
        Python::attach(|py| {
            let result = match finish(py, outcome, self.shape, &self.encoding) {
                Ok(reply) => on_success.call1(py, (reply,)),
                Err(err) => on_failure.call1(py, (err.into_value(py),)),
            };
            if let Err(err) = result {
                err.write_unraisable(py, None);
            }
            drop((on_success, on_failure));
        });
    }
}

impl Drop for Callback {
    fn drop(&mut self) {
        self.deliver(Err(Error::new(
            babushka_core::ErrorKind::Closed,
            "the request was dropped before it completed (runtime shut down)",
        )));
    }
}
