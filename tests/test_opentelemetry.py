"""OpenTelemetry: every command and pipeline is a span under the caller's
current span, with the database conventions' attributes, and measured in the
application's meter; nothing at all while instrumentation is off. Spans and
metrics are read back with the SDK's in-memory exporter and reader, on every
transport (each has its own ``_execute`` hooks to trace)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Span, SpanKind, StatusCode

import babushka
import babushka.asyncio
from babushka.instrumentation import BabushkaInstrumentor
from support.cluster import Cluster
from support.servers import RedisServer


class Telemetry:
    """An application's tracer and meter, kept in memory."""

    def __init__(self) -> None:
        self.exporter = InMemorySpanExporter()
        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.reader = InMemoryMetricReader()
        self.meter_provider = MeterProvider(metric_readers=[self.reader])
        self.tracer = self.tracer_provider.get_tracer("app")

    def spans(self, name: str | None = None) -> list[ReadableSpan]:
        """Babushka's finished spans (``name``'s only, if given)."""
        return [
            span
            for span in self.exporter.get_finished_spans()
            if span.instrumentation_scope is not None
            and span.instrumentation_scope.name == "babushka"
            and (name is None or span.name == name)
        ]

    def points(self, metric: str, where: dict[str, Any] | None = None) -> list[Any]:
        """``metric``'s data points (those with ``where``'s attributes, if given)."""
        data = self.reader.get_metrics_data()
        found = []
        for resource in data.resource_metrics if data is not None else []:
            for scope in resource.scope_metrics:
                for m in scope.metrics:
                    if m.name == metric:
                        found.extend(m.data.data_points)
        return [p for p in found if all(p.attributes.get(k) == v for k, v in (where or {}).items())]


@pytest.fixture
def otel() -> Iterator[Telemetry]:
    telemetry = Telemetry()
    BabushkaInstrumentor().instrument(
        tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider
    )
    yield telemetry
    BabushkaInstrumentor().uninstrument()


def _client(server: RedisServer, transport: str, **kwargs: Any) -> babushka.Redis:
    return babushka.Redis(host=server.host, port=server.port, transport=transport, **kwargs)


def _aclient(server: RedisServer, transport: str, **kwargs: Any) -> babushka.asyncio.Redis:
    return babushka.asyncio.Redis(host=server.host, port=server.port, transport=transport, **kwargs)


def _expect_command_span(span: ReadableSpan, server: RedisServer, name: str) -> None:
    assert span.name == name
    assert span.kind is SpanKind.CLIENT
    attributes = dict(span.attributes or {})
    assert attributes["db.system.name"] == "redis"
    assert attributes["db.operation.name"] == name
    assert attributes["db.namespace"] == "0"
    assert attributes["server.address"] == server.host
    assert attributes["server.port"] == server.port
    assert attributes["network.peer.address"] == server.host
    assert attributes["network.peer.port"] == server.port
    assert "db.query.text" not in attributes  # not unless asked for
    assert span.status.status_code is StatusCode.UNSET


def _expect_child(span: ReadableSpan, parent: Span) -> None:
    """``span`` was made under ``parent``, in its trace."""
    assert span.parent is not None
    assert span.parent.span_id == parent.get_span_context().span_id
    assert span.context is not None
    assert span.context.trace_id == parent.get_span_context().trace_id


def _expect_error(span: ReadableSpan, error_type: str) -> None:
    """``span`` ended in an error of the class named ``error_type``."""
    assert span.status.status_code is StatusCode.ERROR
    assert dict(span.attributes or {})["error.type"] == error_type


def _children_per_parent(spans: list[ReadableSpan]) -> dict[int, int]:
    """How many of ``spans`` each parent span (by id) has."""
    counts: dict[int, int] = {}
    for span in spans:
        assert span.parent is not None
        counts[span.parent.span_id] = counts.get(span.parent.span_id, 0) + 1
    return counts


def test_a_command_is_a_span_under_the_current_span(
    otel: Telemetry, redis_server: RedisServer, transport: str
) -> None:
    client = _client(redis_server, transport)
    try:
        with otel.tracer.start_as_current_span("request") as parent:
            assert client.set("k", "v") is True
            assert client.get("k") == b"v"
        (get,) = otel.spans("GET")
        _expect_command_span(get, redis_server, "GET")
        _expect_child(get, parent)
        assert len(otel.spans("SET")) == 1
        # The command's duration: from sending to its reply, inside the parent's.
        assert get.start_time is not None and get.end_time is not None
        assert parent.start_time is not None and get.start_time >= parent.start_time
        assert get.end_time >= get.start_time
    finally:
        client.close()


def test_a_span_without_a_current_span_is_a_root(
    otel: Telemetry, redis_server: RedisServer, transport: str
) -> None:
    client = _client(redis_server, transport)
    try:
        client.ping()
        (ping,) = otel.spans("PING")
        assert ping.parent is None
    finally:
        client.close()


def test_a_failing_command_records_its_error(
    otel: Telemetry, redis_server: RedisServer, transport: str
) -> None:
    client = _client(redis_server, transport)
    try:
        client.set("text", "not a list")
        with pytest.raises(babushka.ResponseError):
            client.lpush("text", "x")
        (span,) = otel.spans("LPUSH")
        _expect_error(span, "babushka.exceptions.ResponseError")
        assert dict(span.attributes or {})["db.response.status_code"] == "WRONGTYPE"
        (event,) = span.events
        assert event.name == "exception"
        assert (event.attributes or {})["exception.type"] == "babushka.exceptions.ResponseError"
        failed = otel.points("db.client.operation.duration", {"db.operation.name": "LPUSH"})
        assert [p.attributes["error.type"] for p in failed] == ["babushka.exceptions.ResponseError"]
    finally:
        client.close()


@pytest.mark.parametrize("transaction", [True, False], ids=["multi", "pipeline"])
def test_a_pipeline_is_one_span_with_its_batch_size(
    otel: Telemetry, redis_server: RedisServer, transport: str, transaction: bool
) -> None:
    client = _client(redis_server, transport)
    try:
        client.delete("a")
        with (
            otel.tracer.start_as_current_span("request") as parent,
            client.pipeline(transaction=transaction) as pipe,
        ):
            pipe.set("a", 1).incr("a").get("a")
            assert pipe.execute() == [True, 2, b"2"]
        name = "MULTI" if transaction else "PIPELINE"
        (span,) = otel.spans(name)
        _expect_child(span, parent)
        attributes = dict(span.attributes or {})
        assert attributes["db.operation.name"] == name
        assert attributes["db.operation.batch.size"] == 3
        assert span.status.status_code is StatusCode.UNSET
    finally:
        client.close()


def test_a_pipeline_with_a_failed_command_is_an_error(
    otel: Telemetry, redis_server: RedisServer, transport: str
) -> None:
    client = _client(redis_server, transport)
    try:
        client.set("text", "x")
        pipe = client.pipeline(transaction=False)
        pipe.incr("counter").lpush("text", "y")
        with pytest.raises(babushka.ResponseError):
            pipe.execute()
        (span,) = otel.spans("PIPELINE")
        _expect_error(span, "babushka.exceptions.ResponseError")
    finally:
        client.close()


def test_query_text_is_sanitized(redis_server: RedisServer, transport: str) -> None:
    telemetry = Telemetry()
    BabushkaInstrumentor().instrument(tracer_provider=telemetry.tracer_provider, query_text=True)
    client = _client(redis_server, transport)
    try:
        client.set("secret-key", "secret-value", ex=10)
        client.config_get("maxmemory")
        pipe = client.pipeline(transaction=False)
        pipe.get("secret-key").hset("h", "f", "v")
        pipe.execute()
    finally:
        BabushkaInstrumentor().uninstrument()
        client.close()
    texts = {span.name: dict(span.attributes or {})["db.query.text"] for span in telemetry.spans()}
    assert texts == {
        "SET": "SET ? ? ? ?",
        "CONFIG GET": "CONFIG GET ?",
        "PIPELINE": "GET ?; HSET ? ? ?",
    }


def test_metrics_go_to_the_applications_meter(
    otel: Telemetry, redis_server: RedisServer, transport: str
) -> None:
    client = _client(redis_server, transport)
    try:
        for _ in range(5):
            client.get("missing")
    finally:
        client.close()
    (point,) = otel.points("db.client.operation.duration", {"db.operation.name": "GET"})
    assert point.count == 5
    assert dict(point.attributes) == {
        "db.system.name": "redis",
        "db.namespace": "0",
        "db.operation.name": "GET",
        "server.address": redis_server.host,
        "server.port": redis_server.port,
    }
    assert 0 < point.sum < 60
    # The conventions' buckets (seconds), given as the histogram's advice.
    assert list(point.explicit_bounds)[:3] == [0.001, 0.005, 0.01]
    (in_flight,) = otel.points(
        "babushka.client.requests.in_flight", {"server.port": redis_server.port}
    )
    assert in_flight.value == 0  # every request sent has had its reply


def test_sync_threads_each_under_their_own_parent(
    otel: Telemetry, redis_server: RedisServer, transport: str
) -> None:
    client = _client(redis_server, transport)
    parents: dict[int, int] = {}

    def work(i: int) -> None:
        with otel.tracer.start_as_current_span(f"job-{i}") as parent:
            parents[i] = parent.get_span_context().span_id
            for _ in range(10):
                client.rpush(f"l{i}", "x")

    try:
        threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        client.close()
    assert _children_per_parent(otel.spans("RPUSH")) == {parents[i]: 10 for i in range(4)}


async def test_async_tasks_each_under_their_own_parent(
    otel: Telemetry, redis_server: RedisServer, transport: str
) -> None:
    client = _aclient(redis_server, transport)
    parents: dict[int, int] = {}

    async def work(i: int) -> None:
        with otel.tracer.start_as_current_span(f"task-{i}") as parent:
            parents[i] = parent.get_span_context().span_id
            for _ in range(5):
                await client.rpush(f"l{i}", "x")
                await asyncio.sleep(0)

    try:
        await asyncio.gather(*(work(i) for i in range(8)))
        # A command issued outside any span, after the tasks: a root.
        await client.ping()
    finally:
        await client.aclose()
    assert _children_per_parent(otel.spans("RPUSH")) == {parents[i]: 5 for i in range(8)}
    (ping,) = otel.spans("PING")
    assert ping.parent is None


async def test_async_command_pipeline_and_failure(
    otel: Telemetry, redis_server: RedisServer, transport: str
) -> None:
    client = _aclient(redis_server, transport)
    try:
        with otel.tracer.start_as_current_span("request") as parent:
            await client.delete("c")
            await client.set("text", "x")
            # Concurrently issued: each span ends when its own reply arrives.
            got, _ = await asyncio.gather(client.get("text"), client.ping())
            assert got == b"x"
            with pytest.raises(babushka.ResponseError):
                await client.lpush("text", "y")
            async with client.pipeline(transaction=True) as pipe:
                pipe.incr("c").incr("c")
                assert await pipe.execute() == [1, 2]
    finally:
        await client.aclose()
    spans = otel.spans()
    assert [s.name for s in spans].count("GET") == 1
    for span in spans:
        _expect_child(span, parent)
    _expect_command_span(otel.spans("GET")[0], redis_server, "GET")
    (lpush,) = otel.spans("LPUSH")
    _expect_error(lpush, "babushka.exceptions.ResponseError")
    assert [e.name for e in lpush.events] == ["exception"]
    (multi,) = otel.spans("MULTI")
    assert dict(multi.attributes or {})["db.operation.batch.size"] == 2
    assert multi.end_time is not None


async def test_a_cancelled_command_ends_its_span(
    otel: Telemetry, redis_server: RedisServer, transport: str
) -> None:
    client = _aclient(redis_server, transport)
    try:
        waiting = asyncio.ensure_future(client.blpop(["never"], timeout=5))
        await asyncio.sleep(0.1)
        in_flight = otel.points(
            "babushka.client.requests.in_flight", {"server.port": redis_server.port}
        )
        assert [p.value for p in in_flight] == [1]
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        await client.ping()
    finally:
        await client.aclose()
    (span,) = otel.spans("BLPOP")
    _expect_error(span, "asyncio.exceptions.CancelledError")


def test_clients_made_before_instrumenting_are_traced_and_then_not(
    redis_server: RedisServer, transport: str
) -> None:
    client = _client(redis_server, transport)
    try:
        telemetry = Telemetry()
        BabushkaInstrumentor().instrument(
            tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider
        )
        assert BabushkaInstrumentor().is_instrumented_by_opentelemetry
        try:
            client.get("k")
        finally:
            BabushkaInstrumentor().uninstrument()
        assert not BabushkaInstrumentor().is_instrumented_by_opentelemetry
        client.get("k")
        client.pipeline().get("k").execute()
        assert [s.name for s in telemetry.spans()] == ["GET"]
    finally:
        client.close()


async def test_an_async_client_made_before_instrumenting_is_traced(
    redis_server: RedisServer, transport: str
) -> None:
    # The managed transport binds its sender on the first command: the
    # instrumentation must survive that swap, and add no second span.
    client = _aclient(redis_server, transport)
    telemetry = Telemetry()
    BabushkaInstrumentor().instrument(tracer_provider=telemetry.tracer_provider)
    try:
        await client.get("k")
        await client.get("k")
        await client.pipeline(transaction=False).get("k").execute()
    finally:
        BabushkaInstrumentor().uninstrument()
        await client.aclose()
    assert [s.name for s in telemetry.spans()] == ["GET", "GET", "PIPELINE"]


def _operations(telemetry: Telemetry) -> int:
    """How many operations ``telemetry``'s meter has measured so far."""
    return sum(p.count for p in telemetry.points("db.client.operation.duration"))


#: The process's global providers, as a real program sets them (once): with
#: instrumentation off, nothing may reach them either.
_GLOBAL = Telemetry()
trace.set_tracer_provider(_GLOBAL.tracer_provider)
metrics.set_meter_provider(_GLOBAL.meter_provider)


def test_nothing_is_recorded_when_not_instrumented(
    redis_server: RedisServer, transport: str
) -> None:
    telemetry = _GLOBAL
    telemetry.exporter.clear()
    measured = _operations(telemetry)
    client = _client(redis_server, transport)
    try:
        # The client's hooks are the transport's own: no wrapper to run.
        assert getattr(client._execute, "__wrapped__", None) is None
        assert getattr(client._execute_request, "__wrapped__", None) is None
        with telemetry.tracer.start_as_current_span("request"):
            client.set("k", "v")
            client.pipeline().get("k").execute()
    finally:
        client.close()
    assert telemetry.spans() == []
    assert [s.name for s in telemetry.exporter.get_finished_spans()] == ["request"]
    assert _operations(telemetry) == measured


def test_instrument_refuses_a_bad_query_text() -> None:
    with pytest.raises(TypeError, match="query_text"):
        BabushkaInstrumentor().instrument(query_text="yes")  # type: ignore[arg-type]
    assert not BabushkaInstrumentor().is_instrumented_by_opentelemetry


def test_the_package_works_without_opentelemetry(redis_server: RedisServer) -> None:
    # A fresh interpreter in which opentelemetry cannot be imported.
    script = f"""
import sys
class Hide:
    def find_spec(self, name, path=None, target=None):
        if name == "opentelemetry" or name.startswith("opentelemetry."):
            raise ImportError("hidden")
sys.meta_path.insert(0, Hide())
import babushka
from babushka.instrumentation import BabushkaInstrumentor
r = babushka.Redis(port={redis_server.port})
assert r.ping() is True
try:
    BabushkaInstrumentor().instrument()
except ImportError as error:
    print(error)
else:
    raise SystemExit("instrument() worked without opentelemetry")
assert r.ping() is True
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "pip install 'babushka-redis[opentelemetry]'" in done.stdout


def test_reconnects_are_counted(otel: Telemetry, redis_server: RedisServer, transport: str) -> None:
    client = _client(redis_server, transport)
    killer = _client(redis_server, "managed")

    def counter(name: str) -> int:
        (point,) = otel.points(name)
        return int(point.value)

    try:
        client.ping()
        opened = counter("babushka.connections.opened")
        reconnects = counter("babushka.connections.reconnects")
        assert opened >= 1
        # Every other normal connection is killed: the client's next command
        # finds its shared connection broken and opens another.
        killer.execute_command("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes")
        for _ in range(50):
            try:
                client.ping()
                break
            except babushka.ConnectionError:
                continue
        assert counter("babushka.connections.reconnects") > reconnects
        assert counter("babushka.connections.opened") > opened
    finally:
        killer.close()
        client.close()
    BabushkaInstrumentor().uninstrument()
    assert otel.points("babushka.connections.opened") == []  # silent once off


def test_cluster_commands_are_spans(otel: Telemetry, cluster: Cluster, transport: str) -> None:
    rc = babushka.RedisCluster(host=cluster.host, port=cluster.port, transport=transport)
    try:
        node = rc.get_primaries()[0]
        with otel.tracer.start_as_current_span("request") as parent:
            rc.set("k", "v")
            rc.dbsize(target_nodes=node)
    finally:
        rc.close()
    (set_span,) = otel.spans("SET")
    (dbsize,) = otel.spans("DBSIZE")
    _expect_child(set_span, parent)
    _expect_child(dbsize, parent)
    # The client's address for a routed command; the node's for one sent to it.
    assert dict(set_span.attributes or {})["server.port"] == cluster.port
    attributes = dict(dbsize.attributes or {})
    assert (attributes["server.address"], attributes["server.port"]) == (node.host, node.port)


def test_instrumenting_again_replaces_the_providers(
    redis_server: RedisServer, transport: str
) -> None:
    first, second = Telemetry(), Telemetry()
    client = _client(redis_server, transport)
    try:
        BabushkaInstrumentor().instrument(tracer_provider=first.tracer_provider)
        client.get("k")
        BabushkaInstrumentor().instrument(tracer_provider=second.tracer_provider)
        client.echo("once")
    finally:
        BabushkaInstrumentor().uninstrument()
        client.close()
    assert [s.name for s in first.spans()] == ["GET"]
    assert [s.name for s in second.spans()] == ["ECHO"]  # one span: not traced twice
