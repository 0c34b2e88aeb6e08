"""Spans and metrics for every command and pipeline: the traced ``_execute``
hooks that :class:`babushka.instrumentation.BabushkaInstrumentor` puts in
place of a client's own while it is on.

Imported only when instrumentation is switched on (it needs
``opentelemetry-api``). A span starts when the command is sent, as a child
of the caller's current span (its context is read on the caller's thread or
task, so concurrent asyncio tasks each get their own parent), and ends when
the reply arrives: on the sync client when the call returns, on the asyncio
client in a done callback of the very future the command returns, so the
command is still sent when it is called and awaiting it works as before.

Attributes follow OpenTelemetry's database semantic conventions.
"""

from __future__ import annotations

import asyncio
import collections
import ipaddress
import time
from typing import Any, Callable, Sequence

from opentelemetry import metrics, trace
from opentelemetry.metrics import CallbackOptions, Observation
from opentelemetry.trace import SpanKind, Status, StatusCode

from babushka import _core
from babushka.asyncio.client import Redis as AsyncRedis
from babushka.exceptions import ResponseError

_VERSION: str = _core.__version__

#: The conventions' bucket boundaries for ``db.client.operation.duration``.
_DURATION_BUCKETS = (0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0)

#: The core's connection counters (``_core.connection_stats()``, in its
#: order): process-wide, every client and transport.
_CONNECTION_COUNTERS = (
    ("babushka.connections.opened", "Connections opened (connected and handshake done)."),
    ("babushka.connections.failed", "Connection attempts that failed."),
    ("babushka.connections.reconnects", "Shared connections replaced after they broke."),
)

#: ``_execute_request``'s kinds (``babushka._pipeline``) as operation names.
_BATCH_NAMES = {1: "PIPELINE", 2: "MULTI"}

Attributes = dict[str, Any]


class Telemetry:
    """One instrumentation's tracer and instruments, and the wrappers that use them."""

    def __init__(
        self,
        tracer_provider: trace.TracerProvider | None,
        meter_provider: metrics.MeterProvider | None,
        query_text: bool,
    ) -> None:
        self.tracer = trace.get_tracer("babushka", _VERSION, tracer_provider)
        meter = metrics.get_meter("babushka", _VERSION, meter_provider)
        self.duration = meter.create_histogram(
            "db.client.operation.duration",
            unit="s",
            description="Duration of database client operations.",
            explicit_bucket_boundaries_advisory=_DURATION_BUCKETS,
        )
        #: One deque per server, an item per request waiting for its reply:
        #: an append and a pop (atomic, no lock) cost less per command than
        #: two measurements of an up-down counter; the gauge reads the lengths.
        self._waiting: dict[tuple[tuple[str, Any], ...], collections.deque[None]] = {}
        meter.create_observable_up_down_counter(
            "babushka.client.requests.in_flight",
            callbacks=[self._observe_waiting],
            unit="{request}",
            description="Requests sent and still waiting for their reply.",
        )
        self.query_text = query_text
        #: Whether this instrumentation is the one on: the observable counters
        #: cannot be taken back from a meter, so they fall silent instead.
        self.active = True
        for index, (name, description) in enumerate(_CONNECTION_COUNTERS):
            meter.create_observable_counter(
                name,
                callbacks=[self._observe(index)],
                unit="{connection}",
                description=description,
            )

    def _observe(self, index: int) -> Callable[[CallbackOptions], list[Observation]]:
        """Reads one of the core's process-wide counters when metrics are collected."""

        def observe(_options: CallbackOptions) -> list[Observation]:
            if not self.active:
                return []
            return [Observation(_core.connection_stats()[index])]

        return observe

    def _observe_waiting(self, _options: CallbackOptions) -> list[Observation]:
        if not self.active:
            return []
        return [Observation(len(waiting), dict(key)) for key, waiting in self._waiting.items()]

    def wrap(self, client: Any) -> None:
        """Puts traced hooks in place of ``client``'s own (once: a hook
        already traced is left alone)."""
        server = server_attributes(client.connection_kwargs)
        is_async = _is_async(client)
        execute = client._execute
        if getattr(execute, "__wrapped__", None) is None:
            client._execute = self._traced(execute, server, is_async, _command_span, batch=False)
        execute_request = client._execute_request
        if getattr(execute_request, "__wrapped__", None) is None:
            client._execute_request = self._traced(
                execute_request, server, is_async, _request_span, batch=True
            )

    def _traced(
        self,
        raw: Callable[..., Any],
        server: Attributes,
        is_async: bool,
        describe: Callable[[tuple[Any, ...], Attributes, bool], tuple[str, Attributes]],
        batch: bool,
    ) -> Callable[..., Any]:
        """``raw`` traced. A ``batch`` reply (``_execute_request``'s) is a list
        with failed commands' errors in place; a command's own reply may hold
        errors nested in it and still be a success."""
        tracer = self.tracer
        query_text = self.query_text
        finish = self._finish
        # In flight is counted per server, whatever the command.
        where = tuple((key, server[key]) for key in _METRIC_KEYS if key in server)
        waiting = self._waiting.setdefault(where, collections.deque())

        def begin(args: tuple[Any, ...]) -> tuple[trace.Span, Attributes, float]:
            name, attributes = describe(args, server, query_text)
            span = tracer.start_span(name, kind=SpanKind.CLIENT, attributes=attributes)
            waiting.append(None)
            return span, attributes, time.perf_counter()

        if is_async:

            def execute(*args: Any) -> Any:
                span, attributes, start = begin(args)
                try:
                    future = raw(*args)
                except BaseException as error:
                    finish(span, attributes, waiting, start, error)
                    raise
                future.add_done_callback(
                    lambda done: finish(span, attributes, waiting, start, _outcome(done, batch))
                )
                return future

        else:

            def execute(*args: Any) -> Any:
                span, attributes, start = begin(args)
                try:
                    reply = raw(*args)
                except BaseException as error:
                    finish(span, attributes, waiting, start, error)
                    raise
                finish(span, attributes, waiting, start, _error_in(reply) if batch else None)
                return reply

        execute.__wrapped__ = raw  # type: ignore[attr-defined]
        return execute

    def _finish(
        self,
        span: trace.Span,
        attributes: Attributes,
        waiting: collections.deque[None],
        start: float,
        error: BaseException | None,
    ) -> None:
        elapsed = time.perf_counter() - start
        measured = {key: attributes[key] for key in _METRIC_KEYS if key in attributes}
        if error is not None:
            error_type = _error_type(error)
            measured["error.type"] = error_type
            span.set_attribute("error.type", error_type)
            code = _status_code(error)
            if code is not None:
                measured["db.response.status_code"] = code
                span.set_attribute("db.response.status_code", code)
            span.record_exception(error)
            span.set_status(Status(StatusCode.ERROR, f"{type(error).__name__}: {error}"))
        span.end()
        self.duration.record(elapsed, measured)
        waiting.pop()


#: The attributes the metrics carry (the conventions' for
#: ``db.client.operation.duration``; no query text, no batch size).
_METRIC_KEYS = (
    "db.system.name",
    "db.namespace",
    "db.operation.name",
    "server.address",
    "server.port",
)


def server_attributes(kwargs: dict[str, Any]) -> Attributes:
    """What every span of a client says about its server: a Unix socket's
    path, or the host and port it was given (the host's address when it is
    one: a name may resolve to several, and the core picks)."""
    attributes: Attributes = {
        "db.system.name": "redis",
        "db.namespace": str(kwargs["db"]),
    }
    path = kwargs.get("unix_socket_path")
    if path:
        attributes["server.address"] = path
        attributes["network.peer.address"] = path
        return attributes
    host = str(kwargs["host"])
    port = int(kwargs["port"])
    attributes["server.address"] = host
    attributes["server.port"] = port
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return attributes
    attributes["network.peer.address"] = str(address)
    attributes["network.peer.port"] = port
    return attributes


def _command_span(
    args: tuple[Any, ...], server: Attributes, query_text: bool
) -> tuple[str, Attributes]:
    """``_execute(shape, *words)``: a span named after the command."""
    words = args[1:]
    name = operation_name(words)
    attributes = {**server, "db.operation.name": name}
    if query_text:
        attributes["db.query.text"] = sanitized(name, words)
    return name, attributes


def _request_span(
    args: tuple[Any, ...], server: Attributes, query_text: bool
) -> tuple[str, Attributes]:
    """``_execute_request(lease, kind, commands[, node])``: a pipeline is one
    span (``PIPELINE``, or ``MULTI`` for a transaction) with its batch size; a
    single command (a ``WATCH`` session's, one for a cluster node) is named
    after itself."""
    kind: int = args[1]
    commands: Sequence[tuple[Any, ...]] = args[2]
    attributes = dict(server)
    node = args[3] if len(args) > 3 else None
    if node:
        # A cluster client's command for one node: that node is the server.
        host, _, port = str(node).rpartition(":")
        attributes["server.address"] = host
        attributes["server.port"] = int(port)
        attributes.pop("network.peer.address", None)
        attributes.pop("network.peer.port", None)
    names = [operation_name(command[1:]) for command in commands]
    name = _BATCH_NAMES.get(kind) or (names[0] if names else "PIPELINE")
    attributes["db.operation.name"] = name
    if len(commands) > 1:
        attributes["db.operation.batch.size"] = len(commands)
    if query_text:
        attributes["db.query.text"] = "; ".join(
            sanitized(op, command[1:]) for op, command in zip(names, commands)
        )
    return name, attributes


def operation_name(words: Sequence[Any]) -> str:
    """The command's name as the command table has it (``GET``, ``CONFIG GET``)."""
    if not words:
        return ""
    first = words[0]
    if isinstance(first, (bytes, bytearray, memoryview)):
        key = bytes(first).decode(errors="replace").upper()
    else:
        key = str(first).upper()
    spec = _core.command_spec(key, words[1] if len(words) > 1 else None)
    return key if spec is None else spec.name


def sanitized(name: str, words: Sequence[Any]) -> str:
    """The command with a ``?`` for each argument: no key or value leaves."""
    named = name.count(" ") + 1
    return name + " ?" * max(len(words) - named, 0)


def _is_async(client: Any) -> bool:
    """Whether the client's hooks return futures (asyncio) or replies (sync)."""
    return isinstance(client, AsyncRedis)


def _outcome(future: Any, batch: bool) -> BaseException | None:
    """How a finished future went: its error, a batch's first failed command,
    or ``CancelledError`` (recorded as a failure, as a cancelled ``await``
    would be inside a span)."""
    if future.cancelled():
        return asyncio.CancelledError()
    error: BaseException | None = future.exception()
    if error is None and batch:
        error = _error_in(future.result())
    return error


def _error_in(reply: Any) -> BaseException | None:
    """A batch's first failed command: its reply holds error replies in place."""
    if type(reply) is list:
        for item in reply:
            if isinstance(item, BaseException):
                return item
    return None


def _error_type(error: BaseException) -> str:
    """The exception's fully qualified class name, as the conventions ask."""
    cls = type(error)
    if cls.__module__ == "builtins":
        return cls.__qualname__
    return f"{cls.__module__}.{cls.__qualname__}"


def _status_code(error: BaseException) -> str | None:
    """A server error's prefix (``WRONGTYPE``, ``ERR``, ``NOSCRIPT``)."""
    if not isinstance(error, ResponseError) or not error.args:
        return None
    prefix = str(error.args[0]).split(" ", 1)[0]
    return prefix if prefix.isupper() and prefix.isalpha() else None
