"""Type stubs for the native module built from ``bindings/python``."""

import asyncio
import contextvars
import os
from collections.abc import Generator, Sequence
from typing import Any, Callable, Self, final

__all__ = [
    "DEFAULT_MAX_BUFFERED_MESSAGES",
    "SHAPE_ACL_GETUSER",
    "SHAPE_ACL_LOG",
    "SHAPE_AUTO_CLAIM",
    "SHAPE_BOOL",
    "SHAPE_BOOL_LIST",
    "SHAPE_BYTES",
    "SHAPE_CLIENT_INFO",
    "SHAPE_CLIENT_KILL",
    "SHAPE_CLIENT_LIST",
    "SHAPE_COMMAND_INFO",
    "SHAPE_CONFIG_GET",
    "SHAPE_COORDS",
    "SHAPE_DATETIME",
    "SHAPE_DEBUG_OBJECT",
    "SHAPE_FLAT",
    "SHAPE_FLOAT",
    "SHAPE_FLOAT_LIST",
    "SHAPE_GEO_RESULTS",
    "SHAPE_INFO",
    "SHAPE_INT",
    "SHAPE_KEY_MEMBER_SCORE",
    "SHAPE_MEMORY_STATS",
    "SHAPE_OK",
    "SHAPE_PAIRS",
    "SHAPE_PAIRS_LIST",
    "SHAPE_PENDING",
    "SHAPE_PONG",
    "SHAPE_RAW",
    "SHAPE_SCAN",
    "SHAPE_SCAN_PAIRS",
    "SHAPE_SCAN_SCORED",
    "SHAPE_SCORED",
    "SHAPE_SET",
    "SHAPE_SLOWLOG_GET",
    "SHAPE_STR",
    "SHAPE_STREAMS_READ",
    "SHAPE_STREAM_ENTRIES",
    "SHAPE_STREAM_INFO",
    "SHAPE_STR_DICTS",
    "SHAPE_STR_LIST",
    "SHAPE_TIME",
    "SHAPE_TRACKING_INFO",
    "SHAPE_TRUE",
    "SHAPE_TUPLE",
    "Cancel",
    "Client",
    "CommandSpec",
    "CompletionQueue",
    "Lease",
    "ManagedSender",
    "ReplyFuture",
    "Subscriber",
    "TlsSettings",
    "UdsCancelHook",
    "UdsCodec",
    "UdsLease",
    "UdsSubscriber",
    "WriterWake",
    "__version__",
    "absent_commands",
    "command_keys",
    "command_spec",
    "command_table",
    "configure",
    "connection_stats",
    "keyslot",
    "runtime_started",
    "shutdown",
    "start_socket_listener",
    "worker_threads",
]

__version__: str
DEFAULT_MAX_BUFFERED_MESSAGES: int

# Reply shapes (the core's ``Shape``): ``babushka._shapes`` names them.
SHAPE_RAW: int
SHAPE_OK: int
SHAPE_BOOL: int
SHAPE_FLOAT: int
SHAPE_PAIRS: int
SHAPE_SCORED: int
SHAPE_SET: int
SHAPE_BOOL_LIST: int
SHAPE_FLOAT_LIST: int
SHAPE_SCAN: int
SHAPE_SCAN_PAIRS: int
SHAPE_SCAN_SCORED: int
SHAPE_INT: int
SHAPE_TUPLE: int
SHAPE_KEY_MEMBER_SCORE: int
SHAPE_BYTES: int
SHAPE_STREAM_ENTRIES: int
SHAPE_STREAMS_READ: int
SHAPE_AUTO_CLAIM: int
SHAPE_STR_DICTS: int
SHAPE_STREAM_INFO: int
SHAPE_PENDING: int
SHAPE_COORDS: int
SHAPE_GEO_RESULTS: int
SHAPE_FLAT: int
SHAPE_STR: int
SHAPE_STR_LIST: int
SHAPE_CONFIG_GET: int
SHAPE_INFO: int
SHAPE_CLIENT_LIST: int
SHAPE_CLIENT_INFO: int
SHAPE_CLIENT_KILL: int
SHAPE_TRACKING_INFO: int
SHAPE_ACL_GETUSER: int
SHAPE_ACL_LOG: int
SHAPE_SLOWLOG_GET: int
SHAPE_MEMORY_STATS: int
SHAPE_DEBUG_OBJECT: int
SHAPE_COMMAND_INFO: int
SHAPE_DATETIME: int
SHAPE_TIME: int
SHAPE_PAIRS_LIST: int
SHAPE_TRUE: int
SHAPE_PONG: int

@final
class CommandSpec:
    """One entry of the core's command table (read-only)."""

    @property
    def name(self) -> str: ...
    @property
    def flags(self) -> frozenset[str]: ...
    @property
    def resp2_shape(self) -> int: ...
    @property
    def resp3_shape(self) -> int: ...
    @property
    def timeout(self) -> str | None: ...
    @property
    def first_key(self) -> int: ...
    @property
    def last_key(self) -> int: ...
    @property
    def step(self) -> int: ...
    @property
    def movable_keys(self) -> bool: ...
    @property
    def key_specs(
        self,
    ) -> tuple[tuple[tuple[Any, ...], tuple[Any, ...], frozenset[str]], ...]: ...
    @property
    def request_policy(self) -> str | None: ...
    @property
    def response_policy(self) -> str | None: ...
    @property
    def subcommands(self) -> tuple[str, ...]: ...
    def shape(self, protocol: int) -> int:
        """The reply's shape on a connection speaking RESP ``protocol``."""

def command_spec(name: Any, subcommand: Any = None) -> CommandSpec | None:
    """The table's entry for a command (a container's subcommand's, given it)."""

def command_table() -> list[CommandSpec]:
    """Every entry, subcommands after their container, sorted by name."""

def absent_commands() -> dict[str, str]:
    """The servers' commands the table leaves out on purpose, with why."""

def keyslot(key: bytes) -> int:
    """The cluster hash slot of ``key``."""

def connection_stats() -> tuple[int, int, int]:
    """The process's connection counters, every client and transport:
    ``(connections_opened, connect_failures, reconnects)``."""

def command_keys(*args: Any) -> list[bytes]:
    """A command's keys, found by its entry's key specs."""

@final
class Client:
    """One server connection (opened lazily, reopened after a break)."""

    def __new__(
        cls,
        *,
        host: str = ...,
        port: int = ...,
        unix_path: str | None = ...,
        db: int = ...,
        username: str | None = ...,
        password: str | None = ...,
        client_name: str | None = ...,
        protocol: int = ...,
        connect_timeout: float | None = ...,
        response_timeout: float | None = ...,
        max_in_flight: int | None = ...,
        max_connections: int | None = ...,
        encoding: str = ...,
        encoding_errors: str = ...,
        decode_responses: bool = ...,
        tls: TlsSettings | None = ...,
        wait_for_connection: bool = ...,
        connection_wait_timeout: float | None = ...,
        single_connection: bool = ...,
        keepalive: bool = ...,
        keepalive_idle: float | None = ...,
        keepalive_interval: float | None = ...,
        keepalive_count: int | None = ...,
        lib_name: str | None = ...,
        lib_version: str | None = ...,
        backoff: tuple[int, float, float] = ...,
        attempts: int = ...,
        retry_on_timeout: bool = ...,
        retry_writes: bool = ...,
        retry_on_connection: bool = ...,
        health_check_interval: float | None = ...,
        credential_provider: Any = ...,
        cluster: bool = ...,
        seeds: Sequence[tuple[str, int]] = ...,
        read_from_replicas: bool = ...,
        require_full_coverage: bool = ...,
        sentinels: Sequence[tuple[str, int]] = ...,
        service: str | None = ...,
        sentinel_replica: bool = ...,
        sentinel_username: str | None = ...,
        sentinel_password: str | None = ...,
        sentinel_tls: TlsSettings | None = ...,
        min_other_sentinels: int = ...,
        force_master_ip: str | None = ...,
        sentinel_unix_socket: str | os.PathLike[str] | None = ...,
    ) -> Self: ...
    def execute(self, shape: int, *args: Any) -> Any:
        """Sends a command and blocks (GIL released) until its reply."""
    def execute_request(
        self,
        lease: Lease | None,
        kind: int,
        commands: Sequence[tuple[Any, ...]],
        node: str | None = None,
    ) -> Any:
        """Sends one command (kind 0), a pipeline (1) or a transaction (2) of
        ``(shape, name, *args)`` tuples, on ``lease`` if given (or to a cluster
        client's ``node``, ``host:port``); blocks until done."""
    def refresh_topology(self) -> None:
        """A cluster client: reads the slot map now (GIL released)."""
    def set_default_node(self, node: str | None, replica: bool = False) -> None:
        """A cluster client's keyless commands go to ``node`` (``host:port``;
        a primary stands for its shard, a ``replica`` for itself) while the
        slot map has it; ``None``: the map's first primary."""
    def default_node(self) -> str | None:
        """The node a cluster client's keyless commands go to by the current
        slot map (``None`` before it is read)."""
    def cluster_nodes(self) -> tuple[list[str], list[str]]:
        """A cluster client's ``(primaries, replicas)``, ``host:port``."""
    def slot_nodes(self, slot: int) -> list[str]:
        """A cluster client's nodes serving ``slot``, ``host:port``: its
        primary first, then its replicas (empty when no node serves it)."""
    def call(
        self,
        on_success: Callable[[Any], object],
        on_failure: Callable[[BaseException], object],
        shape: int,
        *args: Any,
    ) -> Cancel | None:
        """ffi transport: sends a command; a runtime thread calls back. Returns a
        cancel handle for a command on a dedicated connection."""
    def call_request(
        self,
        on_success: Callable[[Any], object],
        on_failure: Callable[[BaseException], object],
        lease: Lease | None,
        kind: int,
        commands: Sequence[tuple[Any, ...]],
        node: str | None = None,
    ) -> Cancel | None: ...
    def lease(self, wait: bool = ..., slot: int | None = ...) -> Lease:
        """A dedicated connection held across requests (a WATCH session);
        with every one in use, waits for one (a blocking pool) unless ``wait``
        is false. A cluster client's connects to the primary serving ``slot``."""
    def managed_sender(
        self, queue_for: Callable[[asyncio.AbstractEventLoop], CompletionQueue]
    ) -> ManagedSender:
        """The managed transport's asyncio sender; ``queue_for(loop)`` gives
        the completion queue of each event loop that calls it."""
    def subscriber(self, max_buffered_messages: int = ...) -> Subscriber:
        """A subscriber (managed and ffi transports), opened on its first command."""
    def uds_codec(self) -> UdsCodec:
        """uds transport: a frame codec for one stream, with this client's settings."""
    def close(self) -> None: ...
    def disconnect(self) -> None:
        """Closes every connection; the next command opens a new one."""
    @property
    def closed(self) -> bool: ...

@final
class TlsSettings:
    """A client's TLS settings; the core reads the files when the client is made."""

    def __new__(
        cls,
        *,
        verify_peer: bool = ...,
        check_hostname: bool = ...,
        ca_file: str | None = ...,
        ca_dir: str | None = ...,
        ca_data: bytes | None = ...,
        cert_file: str | None = ...,
        key_file: str | None = ...,
        key_password: bytes | None = ...,
        min_version: int = ...,
        ciphers: str | None = ...,
    ) -> Self: ...

@final
class Lease:
    def set_reusable(self, reusable: bool) -> None: ...
    def close(self) -> None: ...

@final
class Cancel:
    def __call__(self, *args: Any, **kwargs: Any) -> None: ...

@final
class ManagedSender:
    """Sends one client's commands for whichever event loop calls it."""

    def submit(self, shape: int, *args: Any) -> ReplyFuture:
        """Sends a command; returns a future completed at a queue drain."""
    def submit_request(
        self,
        lease: Lease | None,
        kind: int,
        commands: Sequence[tuple[Any, ...]],
        node: str | None = None,
    ) -> ReplyFuture: ...

@final
class ReplyFuture:
    """An asyncio-compatible future whose done-callbacks a drain runs in place."""

    _asyncio_future_blocking: bool
    def get_loop(self) -> asyncio.AbstractEventLoop: ...
    def done(self) -> bool: ...
    def cancelled(self) -> bool: ...
    def result(self) -> Any: ...
    def exception(self) -> BaseException | None: ...
    def add_done_callback(
        self,
        callback: Callable[[ReplyFuture], object],
        *,
        context: contextvars.Context | None = None,
    ) -> None: ...
    def remove_done_callback(self, callback: Callable[[ReplyFuture], object]) -> int: ...
    def cancel(self, msg: Any | None = None) -> bool: ...
    def __await__(self) -> Generator[Any, None, Any]: ...
    def __iter__(self) -> Generator[Any, None, Any]: ...
    def __next__(self) -> Any: ...

@final
class WriterWake:
    def __call__(self, *args: Any, **kwargs: Any) -> None: ...

@final
class CompletionQueue:
    def __new__(cls) -> Self: ...
    def fd(self) -> int: ...
    def drain(self) -> int: ...

@final
class UdsCodec:
    """Request and response frames of one stream to the socket listener."""

    def setup_frame(self, protocol_version: int | None = None) -> bytes: ...
    def set_on_output(self, on_output: Callable[[], object]) -> None:
        """Called when a lease or cancel frame lands in an empty output; must not block."""
    def submit(self, waiter: Any, shape: int, *args: Any) -> bool:
        """Encodes a request; ``waiter.set_result``/``set_exception`` gets its reply."""
    def submit_request(
        self,
        waiter: Any,
        lease: UdsLease | None,
        kind: int,
        commands: Sequence[tuple[Any, ...]],
        node: str | None = None,
    ) -> bool:
        """``submit`` for ``Client.execute_request``'s form; ``lease`` from ``open_lease``."""
    def open_lease(self, slot: int | None = ...) -> UdsLease:
        """A lease on this stream; dropping it gives the connection back (a
        cluster client's connects to the primary serving ``slot``)."""
    def open_subscriber(self, max_buffered_messages: int = ...) -> UdsSubscriber:
        """A subscriber on this stream, in the core behind the listener."""
    def take_output(self) -> bytes: ...
    def feed(self, data: bytes) -> int:
        """Decodes response frames and resolves their waiters."""
    def close(self) -> None: ...
    def connection_lost(self, message: str) -> None: ...
    def pending(self) -> int: ...
    @property
    def closed(self) -> bool: ...

@final
class UdsLease:
    """A dedicated connection held on a uds stream, named in frames by ``id``."""

    def set_reusable(self, reusable: bool) -> None: ...
    def close(self) -> None: ...
    @property
    def id(self) -> int: ...

@final
class Subscriber:
    """A subscriber in the core: a connection of its own, its subscriptions
    (restored after a reconnection) and a bounded backlog of messages."""

    def subscribe(self, waiter: Any, kind: int, *names: Any) -> None:
        """``kind`` 0 channels, 1 patterns, 2 shard channels; returns at once,
        and ``waiter.set_result(None)`` (or ``set_exception``) is called on a
        runtime thread once the server confirmed every name."""
    def unsubscribe(self, kind: int, *names: Any) -> None: ...
    def ping(self, message: Any | None = None) -> None: ...
    def monitor(self) -> None:
        """Sends ``MONITOR``: its ``OK`` and every line after it arrive as
        ``{'type': 'monitor', 'data': line}`` messages."""
    def key(self, name: Any) -> Any:
        """``name`` as messages carry it (bytes, or str with decode_responses)."""
    def get_message(self, timeout: float | None) -> dict[str, Any] | None:
        """The next message, waiting (GIL released) up to ``timeout`` seconds."""
    def pop(self) -> dict[str, Any] | None: ...
    def fd(self) -> int:
        """Readable while messages may wait; ``clear_signal()`` before taking them."""
    def clear_signal(self) -> None: ...
    def set_waker(self, waker: Callable[[], object] | None) -> None:
        """Called on a runtime thread when messages start waiting."""
    def interrupt(self) -> None:
        """Ends a wait in ``get_message`` (or the next one) with ``None``."""
    def close(self) -> None: ...
    @property
    def dropped(self) -> int: ...
    @property
    def closed(self) -> bool: ...
    @property
    def last_node(self) -> str | None:
        """The node (``host:port``) whose connection the message last taken
        came on: a cluster subscriber's shard connections name theirs."""

@final
class UdsSubscriber:
    """A subscriber on a uds stream, named in frames by ``id``; as ``Subscriber``."""

    def subscribe(self, waiter: Any, kind: int, *names: Any) -> None:
        """As ``Subscriber.subscribe``; ``waiter`` is resolved by the stream's reader."""
    def unsubscribe(self, kind: int, *names: Any) -> None: ...
    def ping(self, message: Any | None = None) -> None: ...
    def monitor(self) -> None: ...
    def key(self, name: Any) -> Any: ...
    def get_message(self, timeout: float | None) -> dict[str, Any] | None: ...
    def pop(self) -> dict[str, Any] | None: ...
    def set_waker(self, waker: Callable[[], object] | None) -> None:
        """Called by the stream's reader when a batch arrives."""
    def interrupt(self) -> None: ...
    def close(self) -> None: ...
    @property
    def dropped(self) -> int: ...
    @property
    def closed(self) -> bool: ...
    @property
    def last_node(self) -> str | None: ...
    @property
    def id(self) -> int: ...

@final
class UdsCancelHook:
    def __call__(self, *args: Any, **kwargs: Any) -> None: ...

def start_socket_listener(
    init_callback: Callable[[str | None, str | None], object],
) -> str | None: ...
def configure(worker_threads: int) -> None: ...
def worker_threads() -> int: ...
def runtime_started() -> bool: ...
def shutdown(grace: float = ...) -> None: ...

# The core's events, for babushka._logging.
def _log_topics() -> list[str]: ...
def _log_set_thresholds(levels: Sequence[int]) -> None: ...
def _log_start(
    deliver: Callable[[list[tuple[int, int, str, dict[str, str | int]]], int], None],
) -> None: ...
def _log_stop() -> None: ...
