"""The one request path: ``_execute_request(lease, kind, commands)`` and
``_lease()``, on every transport (pipelines and transactions are built on them).

Each transport only carries requests, so every test here runs on all three and
the values are compared with the managed transport's where they are data.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import pytest

import babushka
import babushka.asyncio
from babushka import _shapes
from support.servers import RedisServer

ONE, PIPELINE, TRANSACTION = 0, 1, 2

#: Commands whose replies cover the shapes, an error in place, and nil.
COMMANDS: list[tuple[Any, ...]] = [
    (_shapes.OK, "SET", "s", "v"),
    (_shapes.RAW, "GET", "s"),
    (_shapes.RAW, "GET", "missing"),
    (_shapes.INT, "INCR", "n"),
    (_shapes.RAW, "LPUSH", "s", "x"),
    (_shapes.INT, "HSET", "h", "a", "1", "b", "2"),
    (_shapes.PAIRS, "HGETALL", "h"),
    (_shapes.BOOL, "EXPIRE", "s", 100),
    (_shapes.FLOAT, "INCRBYFLOAT", "f", 1.5),
    (_shapes.SET, "SMEMBERS", "nothing"),
    (_shapes.SCAN_PAIRS, "HSCAN", "h", 0),
]


def comparable(reply: Any) -> Any:
    """Exceptions compare by class and text, so replies can be compared."""
    if isinstance(reply, BaseException):
        return (type(reply), str(reply))
    if isinstance(reply, list):
        return [comparable(item) for item in reply]
    return reply


def run_everywhere(
    redis_server: RedisServer, transport: str, kind: int, commands: list[tuple[Any, ...]]
) -> tuple[Any, Any]:
    """The reply on ``transport`` and on managed, each on a fresh database."""
    replies = []
    for name in (transport, "managed"):
        client = babushka.Redis(port=redis_server.port, transport=name)
        client.flushdb()
        try:
            replies.append(comparable(client._execute_request(None, kind, commands)))
        except babushka.RedisError as error:
            replies.append(comparable(error))
        client.close()
    return replies[0], replies[1]


@pytest.mark.parametrize("kind", [ONE, PIPELINE, TRANSACTION], ids=["one", "pipeline", "multi"])
def test_every_kind_gives_the_managed_values(
    redis_server: RedisServer, transport: str, kind: int
) -> None:
    commands = COMMANDS[:1] if kind == ONE else COMMANDS
    got, managed = run_everywhere(redis_server, transport, kind, commands)
    assert got == managed
    if kind == ONE:
        assert got is True
    else:
        assert got[:4] == [True, b"v", None, 1]
        assert got[4][0] is babushka.ResponseError
        assert "WRONGTYPE" in got[4][1]
        assert got[6] == {b"a": b"1", b"b": b"2"}
        assert got[7] is True
        assert got[8] == 1.5
        assert got[9] == set()
        assert got[10] == (0, {b"a": b"1", b"b": b"2"})


def test_transaction_errors_match(redis_server: RedisServer, transport: str) -> None:
    # A command the server refuses to queue discards the transaction: the
    # error names it, with its position.
    refused = [(_shapes.OK, "SET", "k", "v"), (_shapes.RAW, "GET")]
    got, managed = run_everywhere(redis_server, transport, TRANSACTION, refused)
    assert got == managed
    assert got[0] is babushka.ResponseError
    assert "wrong number of arguments" in got[1]


def test_empty_batches(r: babushka.Redis) -> None:
    assert r._execute_request(None, PIPELINE, []) == []
    assert r._execute_request(None, TRANSACTION, []) == []


def test_decoded_replies(rd: babushka.Redis) -> None:
    reply = rd._execute_request(
        None, PIPELINE, [(_shapes.OK, "SET", "k", "é"), (_shapes.RAW, "GET", "k")]
    )
    assert reply == [True, "é"]


def test_bad_requests_raise_before_anything_is_sent(r: babushka.Redis) -> None:
    with pytest.raises(ValueError, match="unknown request kind 3"):
        r._execute_request(None, 3, [(0, "PING")])
    with pytest.raises(ValueError, match="exactly one command"):
        r._execute_request(None, ONE, [(0, "PING"), (0, "PING")])
    with pytest.raises(TypeError, match="sequence"):
        r._execute_request(None, PIPELINE, 7)
    with pytest.raises(TypeError, match="tuple"):
        r._execute_request(None, PIPELINE, [["PING"]])
    with pytest.raises(ValueError, match="unknown reply shape"):
        r._execute_request(None, PIPELINE, [(99, "PING")])
    with pytest.raises(babushka.DataError, match="at least its name"):
        r._execute_request(None, PIPELINE, [(0, "SET", "k", "v"), (0,)])
    with pytest.raises(babushka.DataError, match="NoneType"):
        r._execute_request(None, TRANSACTION, [(0, "SET", "k", None)])
    # None of the valid commands before the bad one was sent.
    assert r.exists("k") == 0
    assert r.ping() is True


# -- leases ----------------------------------------------------------------------


def test_a_watch_session_on_a_lease(redis_server: RedisServer, r: babushka.Redis) -> None:
    other = babushka.Redis(port=redis_server.port)
    r.set("balance", 10)
    lease = r._lease()
    leased_id = r._execute_request(lease, ONE, [(_shapes.INT, "CLIENT", "ID")])
    assert leased_id != r.client_id()
    assert r._execute_request(lease, ONE, [(_shapes.OK, "WATCH", "balance")]) is True
    assert r._execute_request(lease, ONE, [(_shapes.RAW, "GET", "balance")]) == b"10"
    other.set("balance", 20)  # someone else spends it meanwhile
    with pytest.raises(babushka.WatchError):
        r._execute_request(lease, TRANSACTION, [(_shapes.OK, "SET", "balance", 5)])
    # Retried without interference, the transaction runs.
    assert r._execute_request(lease, ONE, [(_shapes.OK, "WATCH", "balance")]) is True
    assert r._execute_request(lease, TRANSACTION, [(_shapes.OK, "SET", "balance", 15)]) == [True]
    assert r._execute_request(lease, ONE, [(_shapes.INT, "CLIENT", "ID")]) == leased_id
    del lease
    assert r.get("balance") == b"15"
    other.close()


async def test_an_async_watch_session_on_a_lease(
    redis_server: RedisServer, ar: babushka.asyncio.Redis
) -> None:
    other = babushka.Redis(port=redis_server.port)
    await ar.set("k", "a")
    lease = ar._lease()
    assert await ar._execute_request(lease, ONE, [(_shapes.OK, "WATCH", "k")]) is True
    other.set("k", "b")
    with pytest.raises(babushka.WatchError):
        await ar._execute_request(lease, TRANSACTION, [(_shapes.OK, "SET", "k", "c")])
    reply = await ar._execute_request(
        lease, PIPELINE, [(_shapes.OK, "WATCH", "k"), (_shapes.RAW, "GET", "k")]
    )
    assert reply == [True, b"b"]
    assert await ar._execute_request(lease, TRANSACTION, [(_shapes.OK, "SET", "k", "d")]) == [True]
    del lease
    assert await ar.get("k") == b"d"
    other.close()


@pytest.fixture
def one_connection(redis_server: RedisServer, transport: str) -> Iterator[babushka.Redis]:
    """A client allowed one dedicated connection."""
    client = babushka.Redis(port=redis_server.port, transport=transport, max_connections=1)
    yield client
    client.close()


def test_dropping_a_lease_gives_its_connection_back(one_connection: babushka.Redis) -> None:
    client = one_connection
    first = client._lease()
    first_id = client._execute_request(first, ONE, [(_shapes.INT, "CLIENT", "ID")])
    # The only dedicated connection is taken: a second lease cannot run.
    with pytest.raises(babushka.ConnectionError, match="max_connections"):
        second = client._lease()
        client._execute_request(second, ONE, [(_shapes.RAW, "PING")])
    del first
    third = client._lease()
    assert client._execute_request(third, ONE, [(_shapes.INT, "CLIENT", "ID")]) == first_id
    # Not reusable: closed when let go, and the next lease opens another.
    third.set_reusable(False)
    del third
    fourth = client._lease()
    assert client._execute_request(fourth, ONE, [(_shapes.INT, "CLIENT", "ID")]) != first_id


def test_a_closed_lease_fails_its_requests(r: babushka.Redis) -> None:
    lease = r._lease()
    assert r._execute_request(lease, ONE, [(_shapes.RAW, "PING")]) is not None
    lease.close()
    with pytest.raises(babushka.ClientClosedError):
        r._execute_request(lease, ONE, [(_shapes.RAW, "PING")])
    assert r.ping() is True


def test_a_closed_core_refuses_leases(r: babushka.Redis) -> None:
    r._core.close()  # for good (the client's close() lets it reconnect)
    with pytest.raises(babushka.ClientClosedError):
        r._core.lease()


def test_a_uds_lease_belongs_to_its_client(redis_server: RedisServer) -> None:
    one = babushka.Redis(port=redis_server.port, transport="uds")
    two = babushka.Redis(port=redis_server.port, transport="uds")
    lease = one._lease()
    with pytest.raises(ValueError, match="another client"):
        two._execute_request(lease, ONE, [(_shapes.RAW, "PING")])
    managed = babushka.Redis(port=redis_server.port)
    with pytest.raises(TypeError):
        one._execute_request(managed._lease(), ONE, [(_shapes.RAW, "PING")])
    one.close()
    two.close()
    managed.close()


# -- cancellation ------------------------------------------------------------------


def _blocked(observer: babushka.Redis) -> int:
    return int(observer.info("clients")["blocked_clients"])


def _wait_for(condition: Any, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False


async def test_a_cancelled_blpop_never_takes_a_later_element(
    redis_server: RedisServer, ar: babushka.asyncio.Redis
) -> None:
    observer = babushka.Redis(port=redis_server.port)
    for request in (
        lambda: ar.execute_command("BLPOP", "queue", 0),
        lambda: ar._execute_request(None, ONE, [(_shapes.RAW, "BLPOP", "queue", 0)]),
        lambda: ar._execute_request(None, PIPELINE, [(_shapes.RAW, "BLPOP", "queue", 0)]),
    ):
        waiting = asyncio.ensure_future(request())
        assert await asyncio.to_thread(_wait_for, lambda: _blocked(observer) == 1)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        # Its connection is closed, so the server no longer holds a BLPOP...
        assert await asyncio.to_thread(_wait_for, lambda: _blocked(observer) == 0)
        # ...and an element pushed now stays for whoever asks next.
        assert await ar.rpush("queue", "job") == 1
        await asyncio.sleep(0.05)
        assert await ar.lpop("queue") == b"job"
    observer.close()


async def test_cancelling_a_leased_request_closes_the_lease(
    redis_server: RedisServer, ar: babushka.asyncio.Redis
) -> None:
    observer = babushka.Redis(port=redis_server.port)
    lease = ar._lease()
    waiting = asyncio.ensure_future(
        ar._execute_request(lease, ONE, [(_shapes.RAW, "BLPOP", "queue", 0)])
    )
    assert await asyncio.to_thread(_wait_for, lambda: _blocked(observer) == 1)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert await asyncio.to_thread(_wait_for, lambda: _blocked(observer) == 0)
    with pytest.raises(babushka.ClientClosedError):
        await ar._execute_request(lease, ONE, [(_shapes.RAW, "PING")])
    assert await ar.rpush("queue", "job") == 1
    assert await ar.lpop("queue") == b"job"
    observer.close()
