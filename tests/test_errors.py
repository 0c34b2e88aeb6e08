"""Failures reach the caller as redis-py's exceptions, and a timed-out or
cancelled request never hands its reply to another."""

from __future__ import annotations

import asyncio
import builtins
import gc
import sys
import threading
import time
import weakref
from typing import Any

import pytest
import redis

import babushka
import babushka.asyncio
from support.faults import async_wait_until, unaccepting_listener, wait_until
from support.observe import Paused, is_blocked, unread_bytes
from support.servers import RedisServer, free_port


@pytest.fixture(scope="module")
def auth_server(server_kind: str) -> object:
    server = RedisServer.start(
        "--requirepass",
        "s3cret",
        "--user",
        "alice",
        "on",
        ">wonderland",
        "~app:*",
        "+@all",
        kind=server_kind,
    )
    yield server
    server.stop()


def test_exception_hierarchy() -> None:
    assert issubclass(babushka.ConnectionError, builtins.ConnectionError)
    assert issubclass(babushka.TimeoutError, builtins.TimeoutError)
    for cls in (babushka.ConnectionError, babushka.ResponseError, babushka.DataError):
        assert issubclass(cls, babushka.RedisError)


def test_server_error_keeps_message(r: babushka.Redis) -> None:
    r.set("s", "x")
    with pytest.raises(babushka.ResponseError, match=r"^WRONGTYPE Operation against a key"):
        r.execute_command("LPUSH", "s", "a")
    with pytest.raises(babushka.ResponseError, match="unknown command"):
        r.execute_command("NOSUCHCOMMAND")


def test_connection_refused(transport: str) -> None:
    client = babushka.Redis(port=free_port(), transport=transport)
    with pytest.raises(babushka.ConnectionError):
        client.get("k")
    client.close()


async def test_connection_refused_async(transport: str) -> None:
    client = babushka.asyncio.Redis(port=free_port(), transport=transport)
    with pytest.raises(babushka.ConnectionError):
        await client.get("k")
    await client.aclose()


def test_authentication(auth_server: RedisServer, transport: str) -> None:
    wrong = babushka.Redis(port=auth_server.port, password="nope", transport=transport)
    with pytest.raises(babushka.AuthenticationError):
        wrong.ping()
    wrong.close()
    anonymous = babushka.Redis(port=auth_server.port, transport=transport)
    with pytest.raises(babushka.AuthenticationError):
        anonymous.get("k")
    anonymous.close()
    right = babushka.Redis(port=auth_server.port, password="s3cret", transport=transport)
    assert right.ping() is True
    right.close()
    alice = babushka.Redis(
        port=auth_server.port, username="alice", password="wonderland", transport=transport
    )
    assert alice.set("app:x", 1) is True
    with pytest.raises(babushka.NoPermissionError):
        alice.set("other", 1)
    alice.close()


def test_connect_timeout(transport: str) -> None:
    with unaccepting_listener() as port:
        client = babushka.Redis(port=port, socket_connect_timeout=0.5, transport=transport)
        outcome: list[Any] = []

        def connect() -> None:
            started = time.monotonic()
            try:
                client.ping()
            except BaseException as error:  # inspected below
                outcome.append(error)
            outcome.append(time.monotonic() - started)

        # In a thread, so a connect that hangs fails the test instead of stalling it.
        thread = threading.Thread(target=connect, daemon=True)
        thread.start()
        thread.join(timeout=5)
        assert not thread.is_alive(), "the connect was still waiting after 5 s"
        error, elapsed = outcome
        assert isinstance(error, babushka.TimeoutError), error
        assert isinstance(error, builtins.TimeoutError)
        assert 0.25 < elapsed < 5
        client.close()


async def test_connect_timeout_async(transport: str) -> None:
    with unaccepting_listener() as port:
        client = babushka.asyncio.Redis(port=port, socket_connect_timeout=0.5, transport=transport)
        started = time.monotonic()
        try:
            await asyncio.wait_for(client.ping(), 5)
        except babushka.TimeoutError as error:
            assert isinstance(error, builtins.TimeoutError)
        except asyncio.TimeoutError:  # wait_for's own (babushka's is caught above)
            pytest.fail("the connect was still waiting after 5 s")
        else:
            pytest.fail("a connect that cannot complete succeeded")
        assert 0.25 < time.monotonic() - started < 5
        await client.aclose()


# The pairing of replies is the client's; CLIENT PAUSE holds both kinds alike.
@pytest.mark.any_server
def test_timeout_does_not_cross_replies(redis_server: RedisServer, transport: str) -> None:
    client = babushka.Redis(port=redis_server.port, socket_timeout=1.0, transport=transport)
    admin = babushka.Redis(port=redis_server.port, transport=transport)
    client.set("k", "mine")
    client.set("other", "not mine")
    # The server holds every client's commands for 1.5 s; the client gives up at 1 s.
    admin.execute_command("CLIENT", "PAUSE", 1500, "ALL")
    with pytest.raises(babushka.TimeoutError):
        client.get("other")
    # The late reply to the first GET must go nowhere.
    assert client.get("k") == b"mine"
    client.close()
    admin.close()


async def test_cancelled_request_does_not_cross_replies(
    redis_server: RedisServer, transport: str
) -> None:
    client = babushka.asyncio.Redis(port=redis_server.port, transport=transport)
    await client.set("k", "mine")
    blocked = asyncio.ensure_future(client.execute_command("BLPOP", "empty-list", 0.5))
    await asyncio.sleep(0.05)
    blocked.cancel()
    assert await client.get("k") == b"mine"
    with pytest.raises(asyncio.CancelledError):
        await blocked
    await client.aclose()


def test_a_closed_core_raises(r: babushka.Redis) -> None:
    # close() lets a client reconnect (as redis-py's); a core closed for good
    # refuses every request with ClientClosedError.
    r._core.close()
    with pytest.raises(babushka.ClientClosedError):
        r._core.execute(0, "GET", "k")


def test_unknown_transport_lists_valid_ones() -> None:
    with pytest.raises(ValueError, match="managed, ffi, uds"):
        babushka.Redis(transport="carrier-pigeon")


def test_bad_constructor_arguments() -> None:
    with pytest.raises(babushka.DataError, match="port"):
        babushka.Redis(port=70000)
    with pytest.raises(babushka.DataError, match="db"):
        babushka.Redis(db=-1)
    with pytest.raises(babushka.DataError, match="socket_timeout"):
        babushka.Redis(socket_timeout=-1)
    with pytest.raises(TypeError, match="no_such_option"):
        babushka.Redis(no_such_option=1)
    with pytest.raises(babushka.DataError, match="ssl_cert_reqs"):
        babushka.Redis.from_url("rediss://localhost:6380?ssl_cert_reqs=sometimes")


def test_commands_that_break_one_reply_per_request_are_refused(r: babushka.Redis) -> None:
    for words in (("SUBSCRIBE", "ch"), ("MONITOR",), ("CLIENT", "REPLY", "OFF")):
        with pytest.raises(babushka.DataError, match=str(words[0])):
            r.execute_command(*words)
    # The connection still pairs every reply with its request.
    assert r.echo("still in step") == b"still in step"


# uds streams belong to their loop and are closed with it; the in-core
# transports can still hold a request when the loop is gone.
@pytest.mark.parametrize("core_transport", ["managed", "ffi"])
def test_reply_arriving_after_its_loop_closed_is_dropped_quietly(
    redis_server: RedisServer,
    core_transport: str,
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    reported: list[Any] = []
    monkeypatch.setattr(sys, "unraisablehook", reported.append)
    monkeypatch.setattr(threading, "excepthook", reported.append)
    observer = redis.Redis(port=redis_server.port)
    name = key = f"late-{core_transport}"
    observer.delete(key)
    client = babushka.asyncio.Redis(
        port=redis_server.port, transport=core_transport, client_name=name
    )
    left_behind: list[weakref.ref[Any]] = []

    async def leave_a_request_behind() -> None:
        await client.ping()
        # The server holds the write: the request is in flight when the loop closes.
        pending = client.set(key, "late")
        if isinstance(pending, asyncio.Future):  # ffi's; the core holds it until the reply
            left_behind.append(weakref.ref(pending))
        assert await async_wait_until(lambda: is_blocked(observer, name, "set"))

    with Paused(observer):
        asyncio.run(leave_a_request_behind())
    # Unpaused: the server answers the SET only now, after its loop closed.
    assert wait_until(lambda: observer.get(key) == b"late")  # answered
    assert wait_until(lambda: unread_bytes(observer, name) == 0)  # and the core read it
    # ffi: the core ran the request's callback and let it go.
    released = wait_until(lambda: gc.collect() >= 0 and all(r() is None for r in left_behind))
    # Nothing was reported: not from a runtime thread, not as unraisable, not on stderr.
    assert reported == []
    assert capfd.readouterr().err == ""
    assert released
    asyncio.run(client.aclose())
    observer.close()


async def test_cancelled_request_reply_is_skipped(
    redis_server: RedisServer, transport: str
) -> None:
    # A request cancelled after it reached the server still gets its reply,
    # on the shared connection, ahead of later requests' replies: it must go
    # nowhere, and every later request get its own.
    observer = redis.Redis(port=redis_server.port)
    name = f"cancelled-{transport}"
    observer.delete("written")
    client = babushka.asyncio.Redis(port=redis_server.port, transport=transport, client_name=name)
    try:
        await client.set("k", "v")
        with Paused(observer):
            cancelled = client.set("written", "by the cancelled request")
            # Sent, and held in the server; what follows queues behind it.
            assert await async_wait_until(lambda: is_blocked(observer, name, "set"))
            cancelled.cancel()
            gets = [client.get("k") for _ in range(50)]
        # Unpaused: the server answers the SET first, then the GETs.
        assert await asyncio.wait_for(asyncio.gather(*gets), 10) == [b"v"] * 50
        assert observer.get("written") == b"by the cancelled request"  # it did run
        assert await client.get("k") == b"v"
        assert await client.echo("after") == b"after"
    finally:
        await client.aclose()
        observer.close()
