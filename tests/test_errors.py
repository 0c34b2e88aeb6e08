"""Failures reach the caller as redis-py's exceptions, and a timed-out or
cancelled request never hands its reply to another."""

from __future__ import annotations

import asyncio
import builtins

import pytest

import babushka
import babushka.asyncio
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


def test_closed_client_raises(r: babushka.Redis) -> None:
    r.close()
    with pytest.raises(babushka.ClientClosedError):
        r.get("k")


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
    redis_server: RedisServer, core_transport: str
) -> None:
    transport = core_transport
    client = babushka.asyncio.Redis(port=redis_server.port, transport=transport)

    async def leave_a_request_behind() -> None:
        await client.ping()
        pending = asyncio.ensure_future(client.execute_command("BLPOP", "empty-list", 0.2))
        await asyncio.sleep(0.01)
        pending.cancel()

    asyncio.run(leave_a_request_behind())
    # The BLPOP's reply comes after the loop closed; with filterwarnings=error
    # an exception reported from the core's thread would fail this test.
    import time

    time.sleep(0.4)
    client._core.close()
