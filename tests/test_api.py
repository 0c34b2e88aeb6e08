"""The API around the commands, as redis-py has it: ``r[key]``, module-level
``from_url``, connection pools, ``single_connection_client``, and the
constructor's connection keywords (each has its effect or raises)."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import socket
import threading
import time
from typing import Any

import pytest
import redis
import redis.asyncio

import babushka
import babushka.asyncio
from babushka import _options, _tls
from babushka._base import ClientBase
from support.faults import wait_until
from support.servers import RedisServer


def _info(observer: redis.Redis, client_id: int) -> dict[str, Any]:
    """The server's CLIENT LIST entry of the connection with ``client_id``."""
    for entry in observer.client_list():
        if int(entry["id"]) == client_id:
            return dict(entry)
    raise AssertionError(f"no connection with id {client_id}")


def _has_setinfo(server: RedisServer) -> bool:
    return server.kind == "valkey" or server.version >= (7, 2)


# -- r[key] ------------------------------------------------------------------


def test_mapping_access(r: babushka.Redis) -> None:
    with pytest.raises(KeyError) as missing:
        r["nothing"]
    assert missing.value.args == ("nothing",)
    r["k"] = "v"
    assert r["k"] == b"v"
    assert "k" in r
    assert "nothing" not in r
    del r["k"]
    assert "k" not in r
    del r["k"]  # as redis-py: a DEL of nothing is no error


async def test_async_client_refuses_mapping_access(ar: babushka.asyncio.Redis) -> None:
    # redis-py's asyncio client refuses them: the operation could not be awaited.
    with pytest.raises(TypeError, match="retrieval"):
        ar["k"]
    with pytest.raises(TypeError, match="assignment"):
        ar["k"] = "v"
    with pytest.raises(TypeError, match="deletion"):
        del ar["k"]
    with pytest.raises(TypeError, match="inclusion"):
        "k" in ar  # noqa: B015
    assert await ar.exists("k") == 0


# -- URLs ---------------------------------------------------------------------


def test_parse_url_follows_redis_py() -> None:
    parse = _options.parse_url
    # Percent-decoded credentials; the query's db wins over the path's.
    assert parse("redis://us%40r:p%3Ass@h:7000/3?db=5") == {
        "username": "us@r",
        "password": "p:ss",
        "host": "h",
        "port": 7000,
        "db": 5,
    }
    assert parse("redis://h/3")["db"] == 3
    assert "db" not in parse("redis://h/not-a-number")  # ignored, as redis-py does
    # redis-py's conversions; the first of repeated values.
    options = parse(
        "redis://h?socket_timeout=1.5&socket_connect_timeout=2&socket_keepalive=no"
        "&max_connections=7&health_check_interval=3&retry_on_timeout=yes&protocol=3"
        "&ssl_check_hostname=0&client_name=a&client_name=b&decode_responses=false"
    )
    assert options == {
        "host": "h",
        "socket_timeout": 1.5,
        "socket_connect_timeout": 2.0,
        "socket_keepalive": False,
        "max_connections": 7,
        "health_check_interval": 3,
        "retry_on_timeout": True,
        "protocol": 3,
        "ssl_check_hostname": False,
        "client_name": "a",
        "decode_responses": False,
    }
    assert parse("unix:///run/redis.sock?db=2") == {
        "unix_socket_path": "/run/redis.sock",
        "db": 2,
    }
    assert parse("rediss://h")["ssl"] is True
    with pytest.raises(ValueError, match="Invalid value for 'socket_timeout'"):
        parse("redis://h?socket_timeout=soon")
    with pytest.raises(ValueError, match="scheme"):
        parse("localhost:6379")
    # An unknown parameter is passed on as text, and the constructor refuses it.
    assert parse("redis://h?typo=1")["typo"] == "1"
    with pytest.raises(TypeError, match="typo"):
        babushka.from_url("redis://h?typo=1")


def test_module_level_from_url(redis_server: RedisServer, transport: str) -> None:
    url = f"redis://{redis_server.host}:{redis_server.port}/6?client_name=from-url"
    client = babushka.from_url(url, transport=transport, db=2, decode_responses=True)
    assert isinstance(client, babushka.Redis)
    # As redis-py: what the URL says wins over the keyword (db 6, not 2).
    assert client.connection_kwargs["db"] == 6
    client.set("k", "v")
    assert client.info("keyspace")["db6"]["keys"] == 1
    assert client.get("k") == "v"
    assert client.client_getname() == "from-url"
    client.flushdb()
    client.close()


async def test_module_level_async_from_url(redis_server: RedisServer, transport: str) -> None:
    url = f"redis://{redis_server.host}:{redis_server.port}?db=5"
    client = babushka.asyncio.from_url(url, transport=transport)
    assert isinstance(client, babushka.asyncio.Redis)
    async with client:
        await client.set("k", "v")
        assert (await client.info("keyspace"))["db5"]["keys"] == 1
        await client.flushdb()


# -- connection pools ----------------------------------------------------------


def test_a_client_takes_its_settings_from_its_pool(
    redis_server: RedisServer, transport: str
) -> None:
    pool = babushka.ConnectionPool(
        host=redis_server.host, port=redis_server.port, db=4, transport=transport
    )
    client = babushka.Redis(connection_pool=pool)
    assert client.connection_pool is pool
    client.set("in-4", "x")
    assert client.info("keyspace")["db4"]["keys"] == 1
    with redis.Redis(port=redis_server.port) as observer:
        assert _info(observer, client.client_id())["db"] == "4"
    client.flushdb()
    client.close()


async def test_an_async_client_takes_its_settings_from_its_pool(
    redis_server: RedisServer, transport: str
) -> None:
    pool = babushka.asyncio.ConnectionPool.from_url(
        f"redis://{redis_server.host}:{redis_server.port}/4", transport=transport
    )
    client = babushka.asyncio.Redis(connection_pool=pool)
    await client.set("in-4", "x")
    assert (await client.info("keyspace"))["db4"]["keys"] == 1
    await client.flushdb()
    await client.aclose()
    await pool.disconnect()


def test_clients_of_one_pool_share_its_connections(
    redis_server: RedisServer, transport: str
) -> None:
    pool = babushka.ConnectionPool(port=redis_server.port, transport=transport)
    one = babushka.Redis(connection_pool=pool)
    two = babushka.Redis(connection_pool=pool)
    assert one.client_id() == two.client_id()
    # A client that does not own the pool leaves it open when closed.
    shared = one.client_id()
    one.close()
    assert two.client_id() == shared
    # Disconnecting the pool closes the shared connection; the next command reconnects.
    pool.disconnect()
    assert two.client_id() != shared


def test_from_pool_owns_the_pool_and_a_pool_is_a_context_manager(
    redis_server: RedisServer, transport: str
) -> None:
    with babushka.ConnectionPool(port=redis_server.port, transport=transport) as pool:
        owner = babushka.Redis.from_pool(pool)
        other = babushka.Redis(connection_pool=pool)
        first = other.client_id()
        owner.close()  # the owner disconnects the pool its clients share
        assert other.client_id() != first
    blocking = babushka.BlockingConnectionPool()
    assert (blocking.max_connections, blocking.timeout) == (50, 20)  # redis-py's defaults
    single = babushka.Redis.from_url(
        f"redis://127.0.0.1:{redis_server.port}", single_connection_client=True, transport=transport
    )
    assert single.single_connection_client and single.ping() is True
    single.close()


async def test_aclose_disconnects_only_a_pool_the_client_owns(
    redis_server: RedisServer, transport: str
) -> None:
    pool = babushka.asyncio.ConnectionPool(port=redis_server.port, transport=transport)
    one = babushka.asyncio.Redis(connection_pool=pool)
    two = babushka.asyncio.Redis(connection_pool=pool)
    first = await two.client_id()
    await one.aclose()
    assert await two.client_id() == first
    await one.aclose(close_connection_pool=True)
    assert await two.client_id() != first
    await pool.aclose()


def test_a_pool_refuses_keywords_it_cannot_honour(redis_server: RedisServer) -> None:
    pool = babushka.ConnectionPool(port=redis_server.port)
    with pytest.raises(TypeError, match="db, host"):
        babushka.Redis(host="elsewhere", db=3, connection_pool=pool)
    with pytest.raises(TypeError, match=r"babushka\.asyncio\.connection\.ConnectionPool"):
        babushka.asyncio.Redis(connection_pool=pool)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="max_connections"):
        babushka.ConnectionPool(max_connections=0)
    with pytest.raises(NotImplementedError, match="connection_class"):
        babushka.ConnectionPool(connection_class=object)
    with pytest.raises(TypeError, match="typo"):
        babushka.ConnectionPool(typo=1)


def test_max_connections_bounds_the_leased_connections(
    redis_server: RedisServer, transport: str
) -> None:
    pool = babushka.ConnectionPool(port=redis_server.port, max_connections=1, transport=transport)
    client = babushka.Redis(connection_pool=pool)
    client.delete("never")
    with client.pipeline() as watching:
        watching.watch("never")  # holds the one dedicated connection
        with pytest.raises(babushka.ConnectionError, match="Too many connections"):
            client.blpop(["never"], timeout=0.1)
    assert client.blpop(["never"], timeout=0.1) is None  # given back


# The pool is the client's; the server only holds a BLPOP.
@pytest.mark.any_server
def test_a_blocking_pool_waits_for_a_connection(redis_server: RedisServer, transport: str) -> None:
    pool = babushka.BlockingConnectionPool(
        port=redis_server.port, max_connections=1, timeout=0.3, transport=transport
    )
    assert isinstance(pool, babushka.ConnectionPool)
    client = babushka.Redis(connection_pool=pool)
    client.delete("jobs")
    # All connections busy for longer than the timeout: redis-py's error.
    holder = threading.Thread(target=client.blpop, args=(["jobs"], 1.5))
    holder.start()
    assert wait_until(lambda: _blocked(redis_server))
    with pytest.raises(babushka.ConnectionError, match=r"No connection available\."):
        client.blpop(["jobs"], timeout=0.1)
    holder.join()
    # Busy for less than the timeout: the second waits, then runs.
    generous = babushka.Redis(
        connection_pool=babushka.BlockingConnectionPool(
            port=redis_server.port, max_connections=1, timeout=10, transport=transport
        )
    )
    first = threading.Thread(target=generous.blpop, args=(["jobs"], 0.3))
    first.start()
    assert wait_until(lambda: _blocked(redis_server))
    assert generous.blpop(["jobs"], timeout=0.1) is None
    first.join()


def test_a_watch_waits_for_a_connection_of_a_blocking_pool(
    redis_server: RedisServer, transport: str
) -> None:
    pool = babushka.BlockingConnectionPool(
        port=redis_server.port, max_connections=1, timeout=10, transport=transport
    )
    client = babushka.Redis(connection_pool=pool)
    holding = threading.Event()

    def hold() -> None:
        with client.pipeline() as pipe:
            pipe.watch("k")
            holding.set()
            time.sleep(0.3)

    holder = threading.Thread(target=hold)
    holder.start()
    assert holding.wait(5)
    with client.pipeline() as pipe:
        if transport == "uds":  # the core's stream reader must not block
            with pytest.raises(babushka.ConnectionError, match=r"No connection available\."):
                pipe.watch("k")
        else:
            pipe.watch("k")  # waits until the holder's pipeline lets go
            pipe.multi()
            pipe.set("k", "v")
            assert pipe.execute() == [True]
    holder.join()


async def test_an_async_watch_does_not_block_the_loop_on_a_blocking_pool(
    redis_server: RedisServer, transport: str
) -> None:
    pool = babushka.asyncio.BlockingConnectionPool(
        port=redis_server.port, max_connections=1, timeout=10, transport=transport
    )
    client = babushka.asyncio.Redis(connection_pool=pool)
    async with client.pipeline() as holder:
        await holder.watch("k")
        async with client.pipeline() as pipe:
            with pytest.raises(babushka.ConnectionError, match=r"No connection available\."):
                await pipe.watch("k")
    await client.aclose(close_connection_pool=True)


def _blocked(server: RedisServer) -> bool:
    with redis.Redis(port=server.port) as observer:
        return any(entry["cmd"] == "blpop" for entry in observer.client_list())


# The pool is the client's; the server only holds a BLPOP.
@pytest.mark.any_server
async def test_an_async_blocking_pool_waits_for_a_connection(
    redis_server: RedisServer, transport: str
) -> None:
    pool = babushka.asyncio.BlockingConnectionPool(
        port=redis_server.port, max_connections=1, timeout=0.3, transport=transport
    )
    client = babushka.asyncio.Redis(connection_pool=pool)
    await client.delete("jobs")
    holder = asyncio.ensure_future(client.blpop(["jobs"], timeout=1.5))
    await asyncio.sleep(0.1)
    started = time.monotonic()
    with pytest.raises(babushka.ConnectionError, match=r"No connection available\."):
        await client.blpop(["jobs"], timeout=0.1)
    assert time.monotonic() - started >= 0.25  # it waited for the timeout first
    assert await holder is None
    await client.aclose(close_connection_pool=True)


# The pool is the client's; the server only holds a BLPOP.
@pytest.mark.any_server
async def test_cancelling_a_request_that_waits_for_a_connection(
    redis_server: RedisServer, transport: str
) -> None:
    pool = babushka.asyncio.BlockingConnectionPool(
        port=redis_server.port, max_connections=1, timeout=None, transport=transport
    )
    client = babushka.asyncio.Redis(connection_pool=pool)
    await client.delete("jobs")
    holder = asyncio.ensure_future(client.blpop(["jobs"], timeout=0.5))
    await asyncio.sleep(0.1)
    waiting = asyncio.ensure_future(client.blpop(["jobs"], timeout=5))
    await asyncio.sleep(0.05)
    waiting.cancel()
    assert await holder is None
    # The cancelled one never ran: the element pushed now stays in the list.
    await client.rpush("jobs", "x")
    await asyncio.sleep(0.2)
    assert await client.lrange("jobs", 0, -1) == [b"x"]
    await client.aclose(close_connection_pool=True)


# -- single_connection_client ---------------------------------------------------


def test_single_connection_client_uses_one_connection(
    redis_server: RedisServer, transport: str
) -> None:
    client = babushka.Redis(
        port=redis_server.port, single_connection_client=True, transport=transport
    )
    observer = redis.Redis(port=redis_server.port)
    client.delete("jobs")
    one = client.client_id()
    # A blocking command runs on the same connection, so the GET after it
    # waits for it, as on redis-py's one connection.
    popped: list[Any] = []
    blocker = threading.Thread(target=lambda: popped.append(client.blpop(["jobs"], 0.5)))
    blocker.start()
    assert wait_until(lambda: _info(observer, one)["cmd"] == "blpop")
    started = time.monotonic()
    assert client.get("jobs") is None
    waited = time.monotonic() - started
    blocker.join()
    assert popped == [None]
    assert waited > 0.2  # held up behind the BLPOP (it blocks 0.5 s)
    assert client.client_id() == one
    # A client of a pool with single_connection_client has a connection of its own.
    pool = babushka.ConnectionPool(port=redis_server.port, transport=transport)
    shared = babushka.Redis(connection_pool=pool)
    alone = babushka.Redis(connection_pool=pool, single_connection_client=True)
    assert alone.client_id() != shared.client_id()
    client.close()
    observer.close()


async def test_async_single_connection_client_cancel_closes_its_connection(
    redis_server: RedisServer, transport: str
) -> None:
    client = babushka.asyncio.Redis(
        port=redis_server.port, single_connection_client=True, transport=transport
    )
    await client.delete("jobs")
    one = await client.client_id()
    blocked = asyncio.ensure_future(client.blpop(["jobs"], timeout=5))
    await asyncio.sleep(0.1)
    blocked.cancel()
    # ffi and uds close the connection from the future's done-callback,
    # which runs on a later loop iteration.
    with contextlib.suppress(asyncio.CancelledError):
        await blocked
    await asyncio.sleep(0.05)
    # The BLPOP could still pop later: its connection is closed, as redis-py
    # disconnects a connection whose command was cancelled.
    await client.rpush("jobs", "x")
    assert await client.lrange("jobs", 0, -1) == [b"x"]
    assert await client.client_id() != one
    await client.aclose()


# -- the constructor's keywords ---------------------------------------------------


def test_lib_name_and_version_reach_client_setinfo(
    redis_server: RedisServer, transport: str
) -> None:
    if not _has_setinfo(redis_server):
        pytest.skip(f"{redis_server.kind} {redis_server.version} has no CLIENT SETINFO")
    observer = redis.Redis(port=redis_server.port)
    default = babushka.Redis(port=redis_server.port, transport=transport)
    entry = _info(observer, default.client_id())
    assert entry["lib-name"] == "babushka"
    assert entry["lib-ver"] == babushka.__version__
    named = babushka.Redis(
        port=redis_server.port, lib_name="app", lib_version="1.2", transport=transport
    )
    entry = _info(observer, named.client_id())
    assert (entry["lib-name"], entry["lib-ver"]) == ("app", "1.2")
    # None sends no SETINFO, as redis-py's driver_info=None.
    silent = babushka.Redis(
        port=redis_server.port, lib_name=None, lib_version=None, transport=transport
    )
    entry = _info(observer, silent.client_id())
    assert (entry["lib-name"], entry["lib-ver"]) == ("", "")
    for client in (observer, default, named, silent):
        client.close()


def test_a_server_without_setinfo_still_connects(redis_server: RedisServer) -> None:
    client = babushka.Redis(port=redis_server.port, lib_name="app")
    assert client.ping() is True  # on Redis 7.0 the SETINFO error is ignored


def _keepalive_timer(server_port: int, client_port: int) -> tuple[int, int] | None:
    """(timer kind, centiseconds left) of the TCP socket from ``client_port``
    to ``server_port``, from /proc/net/tcp (kind 2 is the keep-alive timer)."""
    with open("/proc/net/tcp") as table:
        next(table)
        for line in table:
            fields = line.split()
            local, remote, timer = fields[1], fields[2], fields[5]
            if int(local.split(":")[1], 16) == client_port and (
                int(remote.split(":")[1], 16) == server_port
            ):
                kind, when = timer.split(":")
                return int(kind, 16), int(when, 16)
    return None


def _client_port(observer: redis.Redis, client: babushka.Redis) -> int:
    return int(str(_info(observer, client.client_id())["addr"]).rsplit(":", 1)[1])


def test_socket_keepalive_options_reach_the_core_socket(
    redis_server: RedisServer, transport: str
) -> None:
    observer = redis.Redis(port=redis_server.port)

    def timer(**keywords: Any) -> tuple[int, int] | None:
        client = babushka.Redis(
            host="127.0.0.1", port=redis_server.port, transport=transport, **keywords
        )
        port = _client_port(observer, client)
        found = _keepalive_timer(redis_server.port, port)
        client.close()
        return found

    # redis-py 8's default: on, first probe after 30 s idle.
    found = timer()
    assert found is not None and found[0] == 2 and 2000 < found[1] <= 3000, found
    found = timer(socket_keepalive_options={socket.TCP_KEEPIDLE: 200})
    assert found is not None and found[0] == 2 and 15000 < found[1] <= 20000, found
    found = timer(socket_keepalive=False)
    assert found is not None and found[0] == 0, found  # no timer on an idle connection
    with pytest.raises(babushka.DataError, match="socket_keepalive_options"):
        babushka.Redis(socket_keepalive_options={socket.TCP_NODELAY: 1})
    with pytest.raises(babushka.DataError, match="positive int"):
        babushka.Redis(socket_keepalive_options={socket.TCP_KEEPCNT: 0})
    observer.close()


def test_keywords_without_a_meaning_here_raise() -> None:
    with pytest.raises(NotImplementedError, match="redis_connect_func"):
        babushka.Redis(redis_connect_func=lambda connection: None)
    with pytest.raises(NotImplementedError, match="socket_type"):
        babushka.ConnectionPool(socket_type=socket.SOCK_STREAM)
    # Gone from redis-py 8's constructor, so a TypeError there too.
    for gone in ("charset", "errors", "connection_pool_class"):
        with pytest.raises(TypeError, match=gone):
            babushka.Redis(**{gone: "utf-8"})
    with pytest.warns(DeprecationWarning, match="auto_close_connection_pool"):
        babushka.asyncio.Redis(auto_close_connection_pool=False)
    # A redis-py pool cannot say how the core connects: refused, not ignored.
    with pytest.raises(TypeError, match="connection_pool must be"):
        babushka.Redis(connection_pool=redis.ConnectionPool(port=1, db=4))  # type: ignore[arg-type]


@pytest.mark.parametrize("flavour", ["sync", "asyncio"])
def test_every_redis_py_keyword_is_taken_or_refused(flavour: str) -> None:
    """Each keyword of redis-py's constructor is one of ours (with its effect,
    tested above and in the other modules) or refused when given a value."""
    theirs = redis.Redis if flavour == "sync" else redis.asyncio.Redis
    ours = babushka.Redis if flavour == "sync" else babushka.asyncio.Redis
    # The constructor names every redis-py keyword, so a type checker sees
    # them; those that cannot have their meaning are refused given a value.
    refusable = set(_options.UNSUPPORTED) | set(_tls.UNSUPPORTED)
    taken = (
        set(inspect.signature(ClientBase.__init__).parameters) | {"auto_close_connection_pool"}
    ) - refusable
    refused = []
    for name in inspect.signature(theirs.__init__).parameters:
        if name == "self" or name in taken:
            continue
        keywords: dict[str, Any] = {name: _Given()}
        if name.startswith("ssl_"):
            keywords["ssl"] = True  # as in redis-py, they mean something only with TLS
        with pytest.raises((TypeError, NotImplementedError), match=name):
            ours(**keywords)
        refused.append(name)
    assert "redis_connect_func" in refused and "socket_read_size" in refused


class _Given:
    """A value no keyword has by default."""
