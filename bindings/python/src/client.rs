//! `_core.Client`: one connection to a server and the three ways to send a
//! command on it (blocking, managed completion queue, raw callbacks).

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use babushka_core::config::{LIB_NAME, LIB_VERSION};
use babushka_core::{
    runtime, Address, Backoff, Batch, Cancel, Client, ClusterOptions, ConnectionConfig, Error,
    Keepalive, Lease, Protocol, Request, RetryPolicy, Route, SentinelOptions, SentinelRole, Value,
};
use parking_lot::Mutex;
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyTuple;

use crate::args::{build_command, build_command_after};
use crate::completions::{dropped_unanswered, PyCompletionQueue};
use crate::encoding::Encoding;
use crate::errors::to_py_err;
use crate::pubsub::PySubscriber;
use crate::reply::{shape_from_u8, shape_reply, ReplyShape};
use crate::reply_future::ReplyFuture;
use crate::request::{read_commands, Kind};
use crate::tls::PyTlsSettings;
use crate::uds::UdsCodec;

#[pyclass(frozen, name = "Client", module = "babushka._core")]
pub struct PyClient {
    core: Arc<Client>,
    encoding: Arc<Encoding>,
    /// Kept for the uds transport, whose setup frame carries the settings.
    config: ConnectionConfig,
    /// The Python `credential_provider`, which a uds stream's codec calls
    /// when the listener asks for credentials.
    credential_provider: Option<Arc<Py<PyAny>>>,
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

/// A core backoff from `(kind, base, cap)`: the kind numbers
/// `babushka.backoff` gives its classes (`_core_backoff`), in seconds.
fn backoff_from((kind, base, cap): (u8, f64, f64)) -> PyResult<Backoff> {
    let base = seconds(Some(base), "backoff base")?.unwrap_or_default();
    let cap = seconds(Some(cap), "backoff cap")?.unwrap_or_default();
    Ok(match kind {
        1 => Backoff::Constant(base),
        2 => Backoff::Exponential { base, cap },
        3 => Backoff::FullJitter { base, cap },
        4 => Backoff::EqualJitter { base, cap },
        5 => Backoff::DecorrelatedJitter { base, cap },
        6 => Backoff::ExponentialWithJitter { base, cap },
        other => {
            return Err(PyValueError::new_err(format!(
                "unknown backoff kind {other}"
            )))
        }
    })
}

/// Sends commands of one client on behalf of the asyncio event loop that
/// calls it.
///
/// A client outlives event loops (`asyncio.run` twice in a script, a test
/// suite's loop per test, a loop per thread), so the sender is bound to no
/// loop: each call looks up the running loop (one call into C, far below the
/// cost of a request) and, when it is not the one of the previous call, asks
/// `queue_for(loop)` for that loop's completion queue. A future is thus always
/// of the loop that awaits it, and a closed loop leaves nothing behind.
#[pyclass(frozen, name = "ManagedSender", module = "babushka._core")]
pub struct ManagedSender {
    core: Arc<Client>,
    encoding: Arc<Encoding>,
    /// `queue_for(loop) -> CompletionQueue`: the queue a loop drains.
    queue_for: Py<PyAny>,
    /// What the last call's loop needs; replaced when another loop calls.
    binding: Mutex<Option<Arc<LoopBinding>>>,
}

/// One event loop's side of a sender.
struct LoopBinding {
    event_loop: Py<PyAny>,
    queue: Py<PyCompletionQueue>,
    /// The loop's `call_soon` and the callable that wakes the connection's writer.
    call_soon: Py<PyAny>,
    /// Per loop: a wake scheduled on a loop that closed before running it
    /// must not keep another loop's wakes from being scheduled.
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
        let shape = shape_from_u8(shape)?;
        let cmd = build_command(args, &self.encoding)?;
        self.send(py, Request::one(cmd), ReplyShape::One(shape))
    }

    /// Sends a batch (or a command on a leased connection, or to a cluster
    /// node); see `Client.execute_request`.
    #[pyo3(signature = (lease, kind, commands, node = None))]
    fn submit_request<'py>(
        &self,
        py: Python<'py>,
        lease: Option<&Bound<'py, PyLease>>,
        kind: u8,
        commands: &Bound<'py, PyAny>,
        node: Option<&str>,
    ) -> PyResult<Bound<'py, ReplyFuture>> {
        let (request, shape) = build_request(lease, kind, commands, node, &self.encoding)?;
        self.send(py, request, shape)
    }
}

impl ManagedSender {
    /// The binding of the running loop, made on the loop's first call;
    /// outside a running loop (`loop.run_until_complete(r.get(k))`), the one
    /// of the loop that called last.
    fn binding(&self, py: Python<'_>) -> PyResult<Arc<LoopBinding>> {
        static GET_RUNNING_LOOP: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
        let running = GET_RUNNING_LOOP
            .import(py, "asyncio.events", "_get_running_loop")?
            .call0()?;
        let last = self.binding.lock().clone();
        match last {
            Some(binding) if running.is_none() || running.is(binding.event_loop.bind(py)) => {
                Ok(binding)
            }
            _ if running.is_none() => Err(PyRuntimeError::new_err("no running event loop")),
            _ => {
                // Outside the lock: `queue_for` runs Python code.
                let queue: Py<PyCompletionQueue> =
                    self.queue_for.bind(py).call1((&running,))?.extract()?;
                let binding = Arc::new(LoopBinding {
                    call_soon: running.getattr(intern!(py, "call_soon"))?.unbind(),
                    event_loop: running.unbind(),
                    queue,
                    wake: Py::new(
                        py,
                        WriterWake {
                            core: Arc::clone(&self.core),
                            scheduled: AtomicBool::new(false),
                        },
                    )?,
                });
                *self.binding.lock() = Some(Arc::clone(&binding));
                Ok(binding)
            }
        }
    }

    fn send<'py>(
        &self,
        py: Python<'py>,
        request: Request,
        shape: ReplyShape,
    ) -> PyResult<Bound<'py, ReplyFuture>> {
        let binding = self.binding(py)?;
        let future = Bound::new(py, ReplyFuture::new(binding.event_loop.clone_ref(py)))?;
        let responder = binding.queue.get().responder(
            future.clone().unbind(),
            shape,
            Arc::clone(&self.encoding),
        );
        runtime::handle().map_err(|e| to_py_err(py, &e))?;
        let sink = Box::new(move |outcome| responder.complete(outcome));
        let submitted = self.core.submit(request, sink);
        if let Some(cancel) = submitted.cancel {
            future.borrow_mut().set_on_cancel(cancel);
        }
        // Under load, one wake-up per loop iteration rather than per command:
        // waking the runtime costs this thread a syscall whenever a worker sleeps.
        if submitted.wake_owed {
            let wake = binding.wake.bind(py);
            if !wake.get().scheduled.swap(true, Ordering::AcqRel) {
                if let Err(err) = binding.call_soon.bind(py).call1((wake,)) {
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
        response_timeout = None, max_in_flight = None, max_connections = None, encoding = "utf-8",
        encoding_errors = "strict", decode_responses = false, tls = None,
        wait_for_connection = false, connection_wait_timeout = None, single_connection = false,
        keepalive = true, keepalive_idle = None, keepalive_interval = None, keepalive_count = None,
        lib_name = Some(LIB_NAME.to_owned()), lib_version = Some(LIB_VERSION.to_owned()),
        backoff = (3, 0.01, 1.0), attempts = 3, retry_on_timeout = false, retry_writes = false,
        retry_on_connection = true,
        health_check_interval = None, credential_provider = None,
        cluster = false, seeds = Vec::new(), read_from_replicas = false,
        require_full_coverage = true, sentinels = Vec::new(), service = None,
        sentinel_replica = false, sentinel_username = None, sentinel_password = None,
        sentinel_tls = None, min_other_sentinels = 0, force_master_ip = None,
        sentinel_unix_socket = None,
    ))]
    // Keyword-only arguments from Python, each named at the call, so
    // neither the count nor the bools can be mixed up.
    #[allow(clippy::too_many_arguments, clippy::fn_params_excessive_bools)]
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
        max_connections: Option<usize>,
        encoding: &str,
        encoding_errors: &str,
        decode_responses: bool,
        tls: Option<&Bound<'_, PyTlsSettings>>,
        wait_for_connection: bool,
        connection_wait_timeout: Option<f64>,
        single_connection: bool,
        keepalive: bool,
        keepalive_idle: Option<f64>,
        keepalive_interval: Option<f64>,
        keepalive_count: Option<u32>,
        lib_name: Option<String>,
        lib_version: Option<String>,
        backoff: (u8, f64, f64),
        attempts: u32,
        retry_on_timeout: bool,
        retry_writes: bool,
        retry_on_connection: bool,
        health_check_interval: Option<f64>,
        credential_provider: Option<Py<PyAny>>,
        cluster: bool,
        seeds: Vec<(String, u16)>,
        read_from_replicas: bool,
        require_full_coverage: bool,
        sentinels: Vec<(String, u16)>,
        service: Option<String>,
        sentinel_replica: bool,
        sentinel_username: Option<String>,
        sentinel_password: Option<String>,
        sentinel_tls: Option<&Bound<'_, PyTlsSettings>>,
        min_other_sentinels: usize,
        force_master_ip: Option<String>,
        sentinel_unix_socket: Option<PathBuf>,
    ) -> PyResult<Self> {
        let credential_provider = credential_provider.map(Arc::new);
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
            max_connections,
            tls: tls.map(|settings| settings.get().config.clone()),
            lease_wait: if wait_for_connection {
                Some(seconds(connection_wait_timeout, "timeout")?)
            } else {
                None
            },
            single_connection,
            keepalive: if keepalive {
                Some(Keepalive {
                    idle: seconds(keepalive_idle, "TCP_KEEPIDLE")?,
                    interval: seconds(keepalive_interval, "TCP_KEEPINTVL")?,
                    count: keepalive_count,
                })
            } else {
                None
            },
            lib_name,
            lib_version,
            retry: RetryPolicy {
                backoff: backoff_from(backoff)?,
                attempts: attempts.max(1),
                on_timeout: retry_on_timeout,
                writes: retry_writes,
                on_connection: retry_on_connection,
            },
            health_check_interval: seconds(health_check_interval, "health_check_interval")?
                .filter(|interval| !interval.is_zero()),
            credential_provider: credential_provider
                .as_ref()
                .map(|provider| crate::credentials::from_python(Arc::clone(provider))),
            readonly: false,
            cluster: cluster.then(|| ClusterOptions {
                seeds: seeds
                    .into_iter()
                    .map(|(host, port)| Address::Tcp { host, port })
                    .collect(),
                read_from_replicas,
                require_full_coverage,
            }),
            // A service name makes a client of a Sentinel-managed service.
            // Sentinels on a Unix socket (redis-py's sentinel_kwargs
            // unix_socket_path) take the place of the (host, port) ones,
            // as in redis-py, whose sentinel clients all connect there.
            sentinel: service.map(|service| SentinelOptions {
                sentinels: match sentinel_unix_socket {
                    Some(path) => vec![Address::Unix(path)],
                    None => sentinels
                        .into_iter()
                        .map(|(host, port)| Address::Tcp { host, port })
                        .collect(),
                },
                service,
                role: if sentinel_replica {
                    SentinelRole::Replica
                } else {
                    SentinelRole::Primary
                },
                username: sentinel_username,
                password: sentinel_password,
                tls: sentinel_tls.map(|settings| settings.get().config.clone()),
                min_other_sentinels,
                force_host: force_master_ip,
            }),
        };
        // The runtime must exist before redis-rs builds anything that spawns.
        let handle = runtime::handle().map_err(|e| to_py_err(py, &e))?;
        let _guard = handle.enter();
        let core = Client::new(&config).map_err(|e| to_py_err(py, &e))?;
        Ok(Self {
            core,
            config,
            credential_provider,
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
        let shape = shape_from_u8(shape)?;
        let cmd = build_command(args, &self.encoding)?;
        self.wait(py, Request::one(cmd), &ReplyShape::One(shape))
    }

    /// Sends a request and waits for it with the GIL released: `kind` 0 is
    /// one command, 1 a pipeline, 2 a transaction (MULTI/EXEC); `commands` a
    /// sequence of `(shape, name, *args)` tuples; `lease` a dedicated
    /// connection from `lease()`, or `None` for the client's own routing;
    /// `node` (a cluster client's `host:port`) sends it to that node. A
    /// batch's reply is a list, error replies in it as exception objects.
    #[pyo3(signature = (lease, kind, commands, node = None))]
    fn execute_request<'py>(
        &self,
        py: Python<'py>,
        lease: Option<&Bound<'py, PyLease>>,
        kind: u8,
        commands: &Bound<'py, PyAny>,
        node: Option<&str>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let (request, shape) = build_request(lease, kind, commands, node, &self.encoding)?;
        self.wait(py, request, &shape)
    }

    /// A cluster client: reads the slot map now, waiting with the GIL
    /// released (raises if no node answers). Nothing for a standalone one.
    fn refresh_topology(&self, py: Python<'_>) -> PyResult<()> {
        let handle = runtime::handle().map_err(|e| to_py_err(py, &e))?;
        let core = &self.core;
        py.detach(|| handle.block_on(core.refresh_topology()))
            .map_err(|e| to_py_err(py, &e))
    }

    /// A cluster client's nodes, `host:port`, by the current slot map:
    /// `(primaries, replicas)`.
    fn cluster_nodes(&self) -> (Vec<String>, Vec<String>) {
        let (primaries, replicas) = self.core.cluster_nodes();
        let names = |nodes: Vec<babushka_core::cluster::NodeName>| {
            nodes.iter().map(ToString::to_string).collect()
        };
        (names(primaries), names(replicas))
    }

    /// A cluster client's keyless commands go to `node` (`host:port`, a
    /// `replica` when chosen, else a primary standing for its shard) from
    /// now on, while the slot map has it; `None`: the map's first primary.
    /// On the uds transport the codecs of this client's streams pass the
    /// choice on to the listener's client before their next request.
    #[pyo3(signature = (node, replica = false))]
    fn set_default_node(&self, py: Python<'_>, node: Option<&str>, replica: bool) -> PyResult<()> {
        let chosen = node.map(|node| babushka_core::cluster::Chosen {
            node: node.into(),
            replica,
        });
        self.core
            .set_default_node(chosen)
            .map_err(|e| to_py_err(py, &e))
    }

    /// The node a cluster client's keyless commands go to by the current
    /// slot map (`None` before it is read).
    fn default_node(&self) -> Option<String> {
        self.core.default_node().map(|node| node.to_string())
    }

    /// A cluster client's nodes serving `slot`, `host:port`, by the current
    /// slot map: its primary first, then its replicas (empty when no node
    /// serves it or the map is not read yet).
    fn slot_nodes(&self, slot: u16) -> Vec<String> {
        self.core
            .slot_nodes(slot)
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    /// A dedicated connection for a `WATCH` session; requests sent with it
    /// run on it alone. Dropping it gives the connection back to the client.
    ///
    /// When every dedicated connection is in use and the client waits for
    /// one (a `BlockingConnectionPool`), this waits with the GIL released,
    /// unless `wait` is false (an event loop's thread, which must not block:
    /// the lease it would wait for may be one its own tasks hold).
    /// A cluster client's lease is a connection to the primary serving
    /// `slot` (the watched keys' slot), which it must be given.
    #[pyo3(signature = (wait = true, slot = None))]
    fn lease(&self, py: Python<'_>, wait: bool, slot: Option<u16>) -> PyResult<PyLease> {
        runtime::handle().map_err(|e| to_py_err(py, &e))?;
        let core = &self.core;
        let taken = if wait {
            py.detach(|| core.lease(slot))
        } else {
            core.lease_now(slot)
        };
        taken
            .map(|lease| PyLease { lease })
            .map_err(|e| to_py_err(py, &e))
    }

    /// Managed transport for asyncio: a sender whose `submit` returns a
    /// future of `event_loop`, completed through `queue`.
    /// The managed transport's asyncio sender; `queue_for(loop)` gives the
    /// completion queue of each event loop that calls it.
    fn managed_sender(&self, py: Python<'_>, queue_for: Py<PyAny>) -> PyResult<ManagedSender> {
        runtime::handle().map_err(|e| to_py_err(py, &e))?;
        Ok(ManagedSender {
            core: Arc::clone(&self.core),
            encoding: Arc::clone(&self.encoding),
            queue_for,
            binding: Mutex::new(None),
        })
    }

    /// Raw FFI transport: sends a command; on completion a runtime thread
    /// takes the GIL and calls `on_success(reply)` or `on_failure(exception)`.
    /// Returns a cancel handle for a request on a dedicated connection (its
    /// `cancel()` closes that connection), else `None`.
    #[pyo3(signature = (on_success, on_failure, shape, *args))]
    fn call(
        &self,
        py: Python<'_>,
        on_success: Py<PyAny>,
        on_failure: Py<PyAny>,
        shape: u8,
        args: &Bound<'_, PyTuple>,
    ) -> PyResult<Option<PyCancel>> {
        let shape = shape_from_u8(shape)?;
        let cmd = build_command(args, &self.encoding)?;
        self.call_with(
            py,
            on_success,
            on_failure,
            Request::one(cmd),
            ReplyShape::One(shape),
        )
    }

    /// `call` for a batch, a leased connection or a cluster node (see
    /// `execute_request`).
    #[pyo3(signature = (on_success, on_failure, lease, kind, commands, node = None))]
    #[allow(clippy::too_many_arguments)]
    fn call_request<'py>(
        &self,
        py: Python<'py>,
        on_success: Py<PyAny>,
        on_failure: Py<PyAny>,
        lease: Option<&Bound<'py, PyLease>>,
        kind: u8,
        commands: &Bound<'py, PyAny>,
        node: Option<&str>,
    ) -> PyResult<Option<PyCancel>> {
        let (request, shape) = build_request(lease, kind, commands, node, &self.encoding)?;
        self.call_with(py, on_success, on_failure, request, shape)
    }

    /// A subscriber (managed and ffi transports): a connection of its own,
    /// opened on its first command, whose messages wait in a backlog of at
    /// most `max_buffered_messages` published messages (more drop the oldest).
    #[pyo3(signature = (max_buffered_messages = babushka_core::pubsub::DEFAULT_MAX_BUFFERED))]
    fn subscriber(&self, py: Python<'_>, max_buffered_messages: usize) -> PyResult<PySubscriber> {
        self.core
            .subscriber(max_buffered_messages)
            .map(|core| PySubscriber::new(core, Arc::clone(&self.encoding)))
            .map_err(|e| to_py_err(py, &e))
    }

    /// uds transport: a codec for one stream to the socket listener, with
    /// this client's settings and encoding.
    fn uds_codec(&self) -> UdsCodec {
        UdsCodec::new(
            Arc::clone(&self.encoding),
            self.config.clone(),
            self.credential_provider.clone(),
            self.core
                .cluster()
                .map(|cluster| Arc::clone(cluster.default_node())),
        )
    }

    /// Closes the connection. Later commands raise `ClientClosedError`.
    fn close(&self) {
        self.core.close();
    }

    /// Closes every connection (requests in flight fail with
    /// `ClientClosedError`, subscribers close); the next command opens a
    /// new one.
    fn disconnect(&self) {
        self.core.disconnect();
    }

    #[getter]
    fn closed(&self) -> bool {
        self.core.is_closed()
    }
}

impl PyClient {
    /// Submits `request` and blocks, with the GIL released, until its outcome.
    fn wait<'py>(
        &self,
        py: Python<'py>,
        request: Request,
        shape: &ReplyShape,
    ) -> PyResult<Bound<'py, PyAny>> {
        let handle = runtime::handle().map_err(|e| to_py_err(py, &e))?;
        let core = &self.core;
        let outcome = py.detach(|| handle.block_on(core.execute(request)));
        finish(py, outcome, shape, &self.encoding)
    }

    fn call_with(
        &self,
        py: Python<'_>,
        on_success: Py<PyAny>,
        on_failure: Py<PyAny>,
        request: Request,
        shape: ReplyShape,
    ) -> PyResult<Option<PyCancel>> {
        runtime::handle().map_err(|e| to_py_err(py, &e))?;
        let callback = Callback {
            pair: Some((on_success, on_failure)),
            shape,
            encoding: Arc::clone(&self.encoding),
        };
        let submitted = self
            .core
            .submit(request, Box::new(move |outcome| callback.complete(outcome)));
        // No event loop batches these wake-ups: wake at once.
        if submitted.wake_owed {
            self.core.wake();
        }
        Ok(submitted.cancel.map(|cancel| PyCancel { cancel }))
    }
}

/// A dedicated connection held across requests (a `WATCH` session).
#[pyclass(frozen, name = "Lease", module = "babushka._core")]
pub struct PyLease {
    lease: Lease,
}

#[pymethods]
impl PyLease {
    /// Whether the connection may be reused once let go (`False` after a
    /// `WATCH` that was never followed by `EXEC` or `UNWATCH`).
    fn set_reusable(&self, reusable: bool) {
        self.lease.set_reusable(reusable);
    }

    /// Closes the connection now; requests on it fail.
    fn close(&self) {
        self.lease.close();
    }
}

/// Cancels a request on a dedicated connection by closing that connection.
#[pyclass(frozen, name = "Cancel", module = "babushka._core")]
pub struct PyCancel {
    cancel: Cancel,
}

#[pymethods]
impl PyCancel {
    fn __call__(&self) {
        self.cancel.cancel();
    }
}

/// Builds a request from the Python form `execute_request` takes (see
/// `crate::request`).
fn build_request(
    lease: Option<&Bound<'_, PyLease>>,
    kind: u8,
    commands: &Bound<'_, PyAny>,
    node: Option<&str>,
    encoding: &Encoding,
) -> PyResult<(Request, ReplyShape)> {
    let kind = Kind::from_u8(kind)?;
    let (mut built, shape) = read_commands(kind, commands, |item| {
        build_command_after(item, 1, encoding)
    })?;
    let batch = match kind {
        Kind::One => Batch::One(built.pop().expect("read_commands checked: one command")),
        Kind::Pipeline => Batch::Pipeline(built),
        Kind::Transaction => Batch::Transaction(built),
    };
    let route = match (lease, node) {
        (Some(_), Some(_)) => {
            return Err(PyValueError::new_err(
                "a request has a lease or a node, not both",
            ))
        }
        (Some(lease), None) => Route::Lease(lease.get().lease.clone()),
        (None, Some(node)) => Route::Node(node.into()),
        (None, None) => Route::Auto,
    };
    Ok((Request { batch, route }, shape))
}

fn finish<'py>(
    py: Python<'py>,
    outcome: Result<Value, Error>,
    shape: &ReplyShape,
    encoding: &Encoding,
) -> PyResult<Bound<'py, PyAny>> {
    match outcome {
        Ok(value) => shape_reply(py, value, shape, encoding),
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
    shape: ReplyShape,
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
            let result = match finish(py, outcome, &self.shape, &self.encoding) {
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
        if self.pair.is_some() {
            self.deliver(Err(dropped_unanswered()));
        }
    }
}
