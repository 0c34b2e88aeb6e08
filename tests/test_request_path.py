"""The request path's promises, on every transport: call order is kept in
every configuration, a server that stops answering cannot wedge a client, and
the client recovers when it answers again."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

import babushka
import babushka.asyncio
from support.servers import RedisServer

#: The settings that once made requests take a per-request path (a spawned
#: task each), which could reorder them.
SETTINGS: list[dict[str, Any]] = [
    {},
    {"socket_timeout": 5.0},
    {"max_in_flight": 3},
    {"socket_timeout": 5.0, "max_in_flight": 3},
]


@pytest.fixture(scope="module")
def debug_server(server_kind: str) -> Iterator[RedisServer]:
    """A server of its own to freeze on purpose (every test server accepts ``DEBUG SLEEP``)."""
    server = RedisServer.start(kind=server_kind)
    yield server
    server.stop()


@pytest.mark.parametrize("settings", SETTINGS, ids=lambda s: ",".join(s) or "default")
async def test_commands_reach_the_server_in_call_order(
    redis_server: RedisServer, transport: str, settings: dict[str, Any]
) -> None:
    client = babushka.asyncio.Redis(port=redis_server.port, transport=transport, **settings)
    try:
        await client.delete("order")
        # Issued one after the other from one task without awaiting in
        # between, and from a fresh connection (the first ones queue while it
        # opens): the list must come out in call order.
        sent = [client.rpush("order", i) for i in range(300)]
        await asyncio.gather(*sent)
        assert await client.lrange("order", 0, -1) == [str(i).encode() for i in range(300)]
        # A command is sent when it is called: a GET issued after a SET sees it.
        setting = client.set("seen", "new")
        reading = client.get("seen")
        assert await asyncio.gather(setting, reading) == [True, b"new"]
    finally:
        await client.aclose()


@pytest.mark.parametrize("settings", SETTINGS, ids=lambda s: ",".join(s) or "default")
def test_sync_commands_keep_order_under_every_setting(
    redis_server: RedisServer, transport: str, settings: dict[str, Any]
) -> None:
    client = babushka.Redis(port=redis_server.port, transport=transport, **settings)
    try:
        client.delete("order")
        for i in range(50):
            client.rpush("order", i)
        assert client.lrange("order", 0, -1) == [str(i).encode() for i in range(50)]
    finally:
        client.close()


def _freeze(server: RedisServer, seconds: float) -> threading.Thread:
    """Freezes the whole server for ``seconds`` (DEBUG SLEEP on a connection
    of its own), from a thread; returns once the server has the command."""
    admin = babushka.Redis(port=server.port, transport="managed")
    admin.ping()
    thread = threading.Thread(target=admin.execute_command, args=("DEBUG", "SLEEP", seconds))
    thread.start()
    time.sleep(0.1)  # let DEBUG SLEEP reach the server before the test's requests
    return thread


# The timeout and the recovery are the client's; DEBUG SLEEP freezes both kinds alike.
@pytest.mark.any_server
def test_a_frozen_server_fails_requests_with_timeout_then_recovers(
    debug_server: RedisServer, transport: str
) -> None:
    client = babushka.Redis(port=debug_server.port, socket_timeout=0.5, transport=transport)
    try:
        client.set("k", "v")
        frozen = _freeze(debug_server, 2)
        started = time.monotonic()
        with pytest.raises(babushka.TimeoutError):
            client.get("k")
        assert time.monotonic() - started < 1.8, "the timeout fired before the server thawed"
        frozen.join()
        # The server answers again, on a new connection.
        assert client.get("k") == b"v"
    finally:
        client.close()


# The timeout and the recovery are the client's; DEBUG SLEEP freezes both kinds alike.
@pytest.mark.any_server
async def test_a_frozen_server_fails_every_waiting_request(
    debug_server: RedisServer, transport: str
) -> None:
    client = babushka.asyncio.Redis(port=debug_server.port, socket_timeout=0.5, transport=transport)
    try:
        await client.set("k", "v")
        frozen = _freeze(debug_server, 2)
        started = time.monotonic()
        outcomes = await asyncio.gather(
            *(client.get("k") for _ in range(20)), return_exceptions=True
        )
        assert all(isinstance(o, babushka.TimeoutError) for o in outcomes), outcomes
        assert time.monotonic() - started < 1.8
        await asyncio.get_running_loop().run_in_executor(None, frozen.join)
        assert await client.get("k") == b"v"
    finally:
        await client.aclose()


# The timeout and the recovery are the client's; CLIENT PAUSE holds both kinds alike.
@pytest.mark.any_server
def test_a_paused_server_fails_requests_with_timeout_then_recovers(
    redis_server: RedisServer, transport: str
) -> None:
    client = babushka.Redis(port=redis_server.port, socket_timeout=0.5, transport=transport)
    admin = babushka.Redis(port=redis_server.port, transport=transport)
    try:
        client.set("k", "v")
        admin.execute_command("CLIENT", "PAUSE", 1500, "ALL")
        with pytest.raises(babushka.TimeoutError):
            client.get("k")
        admin.execute_command("CLIENT", "UNPAUSE")
        assert client.get("k") == b"v"
    finally:
        client.close()
        admin.close()


def test_the_deadline_counts_from_the_call_while_connecting(transport: str) -> None:
    # A listener that accepts nothing: the connection never opens, so the
    # request's own timeout must end the wait.
    import socket

    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        # Fill the backlog so later connects hang in SYN.
        fillers = []
        for _ in range(4):
            filler = socket.socket()
            filler.setblocking(False)
            filler.connect_ex(listener.getsockname())
            fillers.append(filler)
        client = babushka.Redis(
            port=listener.getsockname()[1], socket_timeout=0.5, transport=transport
        )
        started = time.monotonic()
        with pytest.raises(babushka.TimeoutError):
            client.get("k")
        assert time.monotonic() - started < 5
        client.close()
        for filler in fillers:
            filler.close()
