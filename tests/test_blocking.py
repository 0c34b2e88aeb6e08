"""Blocking commands (BLPOP, BZPOPMIN, ...): redis-py's signatures and reply
shapes, their own timeout on top of the socket timeout, and a dedicated
connection each, so they hold up none of the client's other requests."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any, Callable

import pytest
import redis

import babushka
import babushka.asyncio
from support.scenario import run_async, run_sync, same, step
from support.servers import RedisServer

# -- replies -------------------------------------------------------------------

#: The timeout of a step that finds nothing: short, since each of the steps'
#: runs waits it out (reply shapes are under test here; timeouts further down).
EMPTY_WAIT = 0.01

REPLIES = [
    step("rpush", "l1", "a", "b", "c", expect=3),
    step("blpop", ["empty", "l1"], 1, expect=(b"l1", b"a")),
    step("brpop", "l1", timeout=1, expect=(b"l1", b"c")),
    step("blpop", "empty", EMPTY_WAIT, expect=None),
    step("brpop", ["empty"], EMPTY_WAIT, expect=None),
    step("brpoplpush", "l1", "l2", 1, expect=b"b"),
    step("brpoplpush", "l1", "l2", EMPTY_WAIT, expect=None),
    step("blmove", "l2", "l1", 1, "LEFT", "RIGHT", expect=b"b"),
    step("blmove", "empty", "l1", EMPTY_WAIT, expect=None),
    step("rpush", "l1", "d", "e", expect=3),
    step("blmpop", 1, 2, "empty", "l1", direction="LEFT", count=2, expect=[b"l1", [b"b", b"d"]]),
    step("blmpop", 1, 1, "l1", direction="RIGHT", expect=[b"l1", [b"e"]]),
    step("blmpop", EMPTY_WAIT, 1, "l1", direction="RIGHT", expect=None),
    step("zadd", "z", {"one": 1, "two": 2, "three": 3, "half": 0.5}, expect=4),
    step("bzpopmin", ["empty", "z"], 1, expect=(b"z", b"half", 0.5)),
    step("bzpopmax", "z", 1, expect=(b"z", b"three", 3.0)),
    step("bzpopmin", "empty", EMPTY_WAIT, expect=None),
    step("bzmpop", 1, 1, ["z"], min=True, count=5, expect=[b"z", [[b"one", b"1"], [b"two", b"2"]]]),
    step("bzmpop", EMPTY_WAIT, 1, "z", max=True, expect=None),
]


def test_replies(r: babushka.Redis) -> None:
    run_sync(r, REPLIES)


async def test_replies_async(ar: babushka.asyncio.Redis) -> None:
    await run_async(ar, REPLIES)


def test_replies_match_redis_py(r: babushka.Redis, redis_server: RedisServer) -> None:
    # The same steps on redis-py, in a database of its own.
    reference = redis.Redis(host=redis_server.host, port=redis_server.port, db=1)
    reference.flushdb()
    try:
        for method, args, kwargs, _ in REPLIES:
            ours = getattr(r, method)(*args, **kwargs)
            theirs = getattr(reference, method)(*args, **kwargs)
            assert same(ours, theirs), f"{method}{args}: {ours!r} != redis-py's {theirs!r}"
    finally:
        reference.close()


def test_decoded_replies(rd: babushka.Redis) -> None:
    rd.rpush("l", "x")
    rd.zadd("z", {"m": 2.5})
    assert rd.blpop("l", 1) == ("l", "x")
    assert rd.bzpopmax("z", 1) == ("z", "m", 2.5)


def test_execute_command_gives_the_methods_shapes(r: babushka.Redis) -> None:
    r.rpush("l", "x")
    r.zadd("z", {"m": 1})
    assert r.execute_command("BLPOP", "l", 1) == (b"l", b"x")
    assert r.execute_command("BZPOPMIN", "z", 1) == (b"z", b"m", 1.0)


@pytest.mark.parametrize(
    ("call", "argument"),
    [
        (lambda c: c.blpop("k", -1), "timeout"),
        (lambda c: c.brpop("k", "soon"), "timeout"),
        (lambda c: c.blpop("k", True), "timeout"),
        (lambda c: c.brpoplpush("a", "b", float("nan")), "timeout"),
        (lambda c: c.bzpopmin("z", float("inf")), "timeout"),
        (lambda c: c.blpop([], 1), "keys"),
        (lambda c: c.blmove("a", "b", 1, src="UP"), "src"),
        (lambda c: c.blmove("a", "b", 1, dest="DOWN"), "dest"),
        (lambda c: c.blmpop(1, 2, "a", direction="LEFT"), "numkeys"),
        (lambda c: c.blmpop(1, "one", "a", direction="LEFT"), "numkeys"),
        (lambda c: c.blmpop(1, 1.0, "a", direction="LEFT"), "numkeys"),
        (lambda c: c.blmpop(1, 1, "a", direction="UP"), "direction"),
        (lambda c: c.blmpop(1, 1, "a", direction="LEFT", count=0), "count"),
        (lambda c: c.bzmpop(1, 1, ["z"]), "min or max"),
        (lambda c: c.bzmpop(1, 1, ["z"], min=True, max=True), "min or max"),
        (lambda c: c.bzmpop(1, 2, ["z"], min=True), "numkeys"),
        (lambda c: c.bzmpop(-1, 1, ["z"], min=True), "timeout"),
    ],
)
def test_bad_arguments_raise_before_sending(
    r: babushka.Redis, call: Callable[[babushka.Redis], Any], argument: str
) -> None:
    with pytest.raises(babushka.DataError, match=argument):
        call(r)
    # Nothing reached the server: the connection answers as before.
    assert r.ping() is True


# -- timeouts --------------------------------------------------------------------


# The deadline is the client's; both kinds time BLPOP out alike.
@pytest.mark.any_server
def test_own_timeout_adds_to_the_socket_timeout(redis_server: RedisServer, transport: str) -> None:
    client = babushka.Redis(port=redis_server.port, socket_timeout=0.3, transport=transport)
    try:
        started = time.monotonic()
        assert client.blpop("empty", timeout=1) is None
        waited = time.monotonic() - started
        assert 0.9 <= waited < 10, waited
    finally:
        client.close()


# The deadline is the client's; both kinds time BLPOP out alike.
@pytest.mark.any_server
async def test_own_timeout_adds_to_the_socket_timeout_async(
    redis_server: RedisServer, transport: str
) -> None:
    client = babushka.asyncio.Redis(port=redis_server.port, socket_timeout=0.3, transport=transport)
    try:
        started = time.monotonic()
        assert await client.blpop("empty", timeout=1) is None
        waited = time.monotonic() - started
        assert 0.9 <= waited < 10, waited
    finally:
        await client.aclose()


# -- a blocked command holds nobody else up ------------------------------------


def _blocked_clients(observer: redis.Redis) -> int:
    return int(observer.info("clients")["blocked_clients"])


def _wait_until_blocked(observer: redis.Redis, count: int = 1) -> None:
    deadline = time.monotonic() + 5
    while _blocked_clients(observer) < count:
        assert time.monotonic() < deadline, "the blocking command never reached the server"
        time.sleep(0.01)


@pytest.fixture
def observer(redis_server: RedisServer) -> Any:
    """A redis-py client that watches the server from outside."""
    client = redis.Redis(host=redis_server.host, port=redis_server.port)
    yield client
    client.close()


def test_get_is_answered_while_another_thread_blocks(r: babushka.Redis, observer: Any) -> None:
    r.set("k", "v")
    popped: list[Any] = []
    waiter = threading.Thread(target=lambda: popped.append(r.blpop("queue", 0)))
    waiter.start()
    try:
        _wait_until_blocked(observer)
        started = time.monotonic()
        assert r.get("k") == b"v"
        assert time.monotonic() - started < 0.5
    finally:
        observer.rpush("queue", "job")
        waiter.join(10)
    assert popped == [(b"queue", b"job")]


async def test_get_is_answered_while_another_task_blocks(
    ar: babushka.asyncio.Redis, observer: Any
) -> None:
    await ar.set("k", "v")
    waiter = asyncio.ensure_future(ar.blpop("queue", 0))
    try:
        await asyncio.to_thread(_wait_until_blocked, observer)
        started = time.monotonic()
        assert await ar.get("k") == b"v"
        assert time.monotonic() - started < 0.5
    finally:
        observer.rpush("queue", "job")
    assert await asyncio.wait_for(waiter, 10) == (b"queue", b"job")


async def test_cancelled_blpop_takes_no_later_element(
    ar: babushka.asyncio.Redis, observer: Any
) -> None:
    waiter = asyncio.ensure_future(ar.blpop("queue", 0))
    await asyncio.to_thread(_wait_until_blocked, observer)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    # The client still works...
    assert await ar.ping() is True
    # ...and the cancelled BLPOP's connection is gone: nobody is blocked on
    # the list, so a pushed element stays there.
    deadline = time.monotonic() + 5
    while _blocked_clients(observer) > 0:
        assert time.monotonic() < deadline, "the cancelled BLPOP is still blocked"
        await asyncio.sleep(0.01)
    assert await ar.rpush("queue", "job") == 1
    await asyncio.sleep(0.2)
    assert await ar.llen("queue") == 1


def _blocked_by(client_list: list[dict[str, str]], client_name: str) -> list[dict[str, str]]:
    """The connections of ``CLIENT LIST`` (parsed, as redis-py parses it)
    named ``client_name`` that are blocked (flag ``b``)."""
    return [
        fields
        for fields in client_list
        if fields.get("name") == client_name and "b" in fields.get("flags", "")
    ]


async def test_a_cancelled_blpop_is_gone_before_the_clients_next_request(
    redis_server: RedisServer, transport: str
) -> None:
    """Cancelled as soon as it is sent (before the uds listener could say it
    runs on a dedicated connection) or once blocked: the first request the
    client sends afterwards finds the server-side connection gone, and an
    element it pushes stays in the list."""
    client_name = f"cancel-{time.monotonic_ns()}"
    client = babushka.asyncio.Redis(
        port=redis_server.port, transport=transport, client_name=client_name
    )
    try:
        await client.ping()
        # A dedicated connection in the pool, so the next BLPOP goes out at once.
        assert await client.blpop("cancelq", timeout=0.01) is None
        for round_ in range(20):
            waiter = asyncio.ensure_future(client.blpop("cancelq", timeout=30))
            if round_ % 2:
                await asyncio.sleep(0.05)  # blocked in the server by now
            else:
                await asyncio.sleep(0)  # sent, and not a moment more
            waiter.cancel()
            with pytest.raises(asyncio.CancelledError):
                await waiter
            listed = await client.execute_command("CLIENT", "LIST")
            assert _blocked_by(listed, client_name) == [], f"round {round_}"
            assert await client.rpush("cancelq", "job") == 1
            assert await client.lpop("cancelq") == b"job"
    finally:
        await client.aclose()
