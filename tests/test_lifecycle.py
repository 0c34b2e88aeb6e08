"""Connecting lazily, reconnecting after the server restarts, and closing
without leaking file descriptors or threads."""

from __future__ import annotations

import contextlib
import gc
import os
from collections.abc import Callable

import pytest
import redis

import babushka
import babushka.asyncio
from support.faults import async_wait_until, wait_until
from support.observe import connections
from support.servers import RedisServer


@pytest.fixture
def own_server(server_kind: str) -> object:
    server = RedisServer.start(kind=server_kind)
    yield server
    server.stop()


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def thread_count() -> int:
    return len(os.listdir("/proc/self/task"))


def test_reconnects_after_server_restart(own_server: RedisServer, transport: str) -> None:
    client = babushka.Redis(port=own_server.port, transport=transport)
    client.set("k", "v")
    own_server.kill()
    with pytest.raises(babushka.ConnectionError):
        client.get("k")
    own_server.restart()
    # The broken connection was dropped. The failed attempts spent the
    # reconnect budget, so until the next attempt is due (at most
    # reconnect_backoff_cap, 1 s, later) commands fail fast; the first one
    # after that opens a new connection.
    assert wait_until(lambda: _succeeds(lambda: client.set("k", "again")), timeout=3)
    assert client.get("k") == b"again"
    client.close()


def _succeeds(call: Callable[[], object]) -> bool:
    try:
        call()
    except babushka.ConnectionError:
        return False
    return True


def test_client_name_survives_reconnect(own_server: RedisServer, transport: str) -> None:
    client = babushka.Redis(port=own_server.port, client_name="worker-7", transport=transport)
    assert client.execute_command("CLIENT", "GETNAME") == "worker-7"
    own_server.kill()
    own_server.restart()
    # The core notices the closed socket by itself; a command that raced the
    # restart may still see the old connection fail.
    with contextlib.suppress(babushka.ConnectionError):
        client.ping()
    assert client.execute_command("CLIENT", "GETNAME") == "worker-7"
    client.close()


def _settled(fds: int, threads: int) -> bool:
    return open_fds() <= fds and thread_count() <= threads


def _baseline() -> tuple[int, int]:
    gc.collect()  # clients other tests dropped close now, not during this one
    return open_fds(), thread_count()


# The descriptors and threads counted are the client's; both kinds see the
# connections close alike (conftest.py's any_server).
@pytest.mark.any_server
def test_closing_clients_leaks_no_fd_or_thread(redis_server: RedisServer, transport: str) -> None:
    observer = redis.Redis(port=redis_server.port)
    observer.ping()  # its socket is open before the count
    name = f"leak-{transport}"
    warm = babushka.Redis(port=redis_server.port, transport=transport)
    warm.ping()
    warm.close()
    fds, threads = _baseline()
    # Kept referenced until the end: close() must release everything, not the
    # garbage collector.
    clients = []
    for _ in range(30):
        client = babushka.Redis(port=redis_server.port, transport=transport, client_name=name)
        client.ping()
        client.close()
        clients.append(client)
    # The server saw every connection close; sockets close once the runtime
    # has dropped the connection task.
    assert wait_until(lambda: connections(observer, name) == [])
    assert wait_until(lambda: _settled(fds, threads))
    assert len(clients) == 30
    observer.close()


# The descriptors and threads counted are the client's.
@pytest.mark.any_server
async def test_closing_async_clients_leaks_no_fd_or_thread(
    redis_server: RedisServer, transport: str
) -> None:
    observer = redis.Redis(port=redis_server.port)
    observer.ping()
    name = f"leak-async-{transport}"
    warm = babushka.asyncio.Redis(port=redis_server.port, transport=transport)
    await warm.ping()  # the loop's completion queue, the socket listener: kept
    await warm.aclose()
    fds, threads = _baseline()
    clients = []
    for _ in range(30):
        client = babushka.asyncio.Redis(
            port=redis_server.port, transport=transport, client_name=name
        )
        await client.ping()
        await client.aclose()
        clients.append(client)
    assert await async_wait_until(lambda: connections(observer, name) == [])
    assert await async_wait_until(lambda: _settled(fds, threads))
    assert len(clients) == 30
    observer.close()


def _client_ids(observer: redis.Redis) -> set[int]:
    return {int(entry["id"]) for entry in observer.client_list()}


def test_close_then_use_reconnects(redis_server: RedisServer, transport: str) -> None:
    """As redis-py: ``with`` closes the client's connections, and a command
    after it connects again."""
    observer = redis.Redis(port=redis_server.port)
    with babushka.Redis(port=redis_server.port, transport=transport) as client:
        first = client.client_id()
        assert first in _client_ids(observer)
    assert wait_until(lambda: first not in _client_ids(observer))
    second = client.client_id()
    assert second != first
    client.close()
    assert client.ping() is True  # closed twice, used again
    observer.close()


async def test_aclose_then_use_reconnects(redis_server: RedisServer, transport: str) -> None:
    observer = redis.Redis(port=redis_server.port)
    async with babushka.asyncio.Redis(port=redis_server.port, transport=transport) as client:
        first = await client.client_id()
        assert first in _client_ids(observer)
    assert await async_wait_until(lambda: first not in _client_ids(observer))
    assert await client.client_id() != first
    await client.aclose()
    assert await client.ping() is True
    await client.aclose()
    observer.close()


def test_from_url(redis_server: RedisServer, transport: str) -> None:
    url = f"redis://{redis_server.host}:{redis_server.port}/2?transport={transport}"
    client = babushka.Redis.from_url(url)
    client.set("in-db-2", 1)
    assert client.transport == transport
    other = babushka.Redis(port=redis_server.port, db=2, transport=transport)
    assert other.get("in-db-2") == b"1"
    unix = babushka.Redis.from_url(f"unix://{redis_server.unix_socket}?db=2&transport={transport}")
    assert unix.get("in-db-2") == b"1"
    for c in (client, other, unix):
        c.flushdb()
        c.close()


def test_tcp_connections_probe_with_keepalive(own_server: RedisServer) -> None:
    client = babushka.Redis(port=own_server.port, transport="managed")
    client.ping()
    # /proc/net/tcp: "rem_address" is hex ip:port, "st" 01 is ESTABLISHED,
    # and timer "02" is the keep-alive timer, armed only with SO_KEEPALIVE.
    port = f"{own_server.port:04X}"
    timers = []
    with open("/proc/net/tcp") as table:
        for line in table.readlines()[1:]:
            fields = line.split()
            if fields[2].endswith(f":{port}") and fields[3] == "01":
                timers.append(fields[5].split(":")[0])
    client.close()
    assert timers == ["02"]


async def test_a_client_dropped_while_its_request_is_in_flight_still_answers(
    redis_server: RedisServer, transport: str
) -> None:
    if transport == "uds":
        pytest.skip("uds: the stream lives in the Python client, closed when it is collected")
    # The client is unreferenced as soon as the request is sent (redis-py
    # answers this too); its connection closes once the reply has arrived.
    reply = await babushka.asyncio.Redis(port=redis_server.port, transport=transport).echo("x")
    assert reply == b"x"
    gc.collect()
