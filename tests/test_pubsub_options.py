"""redis-py's ``PubSub`` options beyond the basics, on every transport:
``health_check_interval`` (a PING when the subscriber was idle longer, its
pong never returned) and ``push_handler_func`` (RESP3 pushes through a
callable first)."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest

import babushka
import babushka.asyncio
from support.servers import RedisServer

WAIT = 5.0


@pytest.fixture
def name() -> str:
    return f"o-{uuid.uuid4().hex[:12]}-"


def last_command(r: babushka.Redis, client_name: str) -> str:
    """The last command the server ran for the connection named ``client_name``."""
    # Parsed as redis-py parses it: a dict per connection.
    for fields in r.client_list():
        if fields.get("name") == client_name:
            return str(fields["cmd"])
    raise AssertionError(f"no connection named {client_name}")


# The check is the client's; both kinds answer a subscriber's PING alike.
@pytest.mark.any_server
@pytest.mark.parametrize("interval", [0.2, 0], ids=["every-0.2s", "off"])
def test_health_check_pings_an_idle_subscriber_and_hides_the_pong(
    r: babushka.Redis, redis_server: RedisServer, transport: str, name: str, interval: float
) -> None:
    client_name = f"{name}sub"
    with (
        babushka.Redis(
            port=redis_server.port,
            transport=transport,
            client_name=client_name,
            health_check_interval=interval,
        ) as c,
        c.pubsub() as p,
    ):
        p.subscribe(f"{name}ch")
        assert p.get_message(timeout=WAIT)["type"] == "subscribe"  # type: ignore[index]
        time.sleep(0.5)  # idle for longer than the interval
        # The read sends the health check; its pong is read and dropped.
        assert p.get_message(timeout=1.0) is None
        expected = "ping" if interval else "subscribe"
        assert last_command(r, client_name) == expected
        # The user's own pings and the messages still come through.
        p.ping("mine")
        assert p.get_message(timeout=WAIT) == {
            "type": "pong",
            "pattern": None,
            "channel": None,
            "data": b"mine",
        }
        r.publish(f"{name}ch", "after")
        assert p.get_message(timeout=WAIT)["data"] == b"after"  # type: ignore[index]


# The check is the client's; both kinds answer a subscriber's PING alike.
@pytest.mark.any_server
async def test_async_health_check_pings_an_idle_subscriber(
    r: babushka.Redis, redis_server: RedisServer, transport: str, name: str
) -> None:
    client_name = f"{name}asub"
    c = babushka.asyncio.Redis(
        port=redis_server.port,
        transport=transport,
        client_name=client_name,
        health_check_interval=0.2,
        decode_responses=True,
    )
    p = c.pubsub(ignore_subscribe_messages=True)
    try:
        await p.subscribe(f"{name}ch")
        assert await p.get_message(timeout=WAIT) is None  # the confirmation, skipped
        time.sleep(0.5)
        assert await p.get_message(timeout=1.0) is None
        assert last_command(r, client_name) == "ping"
    finally:
        await p.aclose()
        await c.aclose()


def test_health_check_interval_is_checked(redis_server: RedisServer) -> None:
    for bad in (-1, "10", None, True, float("nan")):
        with pytest.raises(babushka.DataError, match="health_check_interval"):
            babushka.Redis(port=redis_server.port, health_check_interval=bad)
    url = f"redis://127.0.0.1:{redis_server.port}/0?health_check_interval=5"
    with babushka.Redis.from_url(url) as c:
        assert c.connection_kwargs["health_check_interval"] == 5.0


def test_push_handler_func_takes_resp3_pushes(
    r: babushka.Redis, redis_server: RedisServer, transport: str, name: str
) -> None:
    got: list[list[Any]] = []

    def swallow(response: list[Any]) -> None:
        got.append(response)

    ch = f"{name}ch".encode()
    with (
        babushka.Redis(port=redis_server.port, transport=transport, protocol=3) as c,
        c.pubsub(push_handler_func=swallow) as p,
    ):
        p.subscribe(ch)
        p.psubscribe(f"{name}c*")
        r.publish(ch, "hi")
        # Every push went to the handler, which returned None: no message.
        for _ in range(4):
            assert p.get_message(timeout=1.0) is None
        assert got == [
            [b"subscribe", ch, 1],
            [b"psubscribe", f"{name}c*".encode(), 2],
            [b"message", ch, b"hi"],
            [b"pmessage", f"{name}c*".encode(), ch, b"hi"],
        ]
        # A pong is a plain reply on RESP3, not a push.
        p.ping()
        assert p.get_message(timeout=WAIT)["type"] == "pong"  # type: ignore[index]
        assert len(got) == 4


def test_push_handler_func_returns_what_is_read(
    r: babushka.Redis, redis_server: RedisServer, transport: str, name: str
) -> None:
    def shout(response: list[Any]) -> list[Any]:
        if response[0] == "message":
            return [*response[:-1], response[-1].upper()]
        return response

    with (
        babushka.Redis(
            port=redis_server.port, transport=transport, protocol=3, decode_responses=True
        ) as c,
        c.pubsub(push_handler_func=shout) as p,
    ):
        p.subscribe(f"{name}ch")
        assert p.get_message(timeout=WAIT) == {
            "type": "subscribe",
            "pattern": None,
            "channel": f"{name}ch",
            "data": 1,
        }
        r.publish(f"{name}ch", "hi")
        assert p.get_message(timeout=WAIT)["data"] == "HI"  # type: ignore[index]


def test_push_handler_func_is_not_called_on_resp2(
    r: babushka.Redis, redis_server: RedisServer, transport: str, name: str
) -> None:
    got: list[Any] = []
    with (
        babushka.Redis(port=redis_server.port, transport=transport) as c,
        c.pubsub(push_handler_func=got.append) as p,
    ):
        p.subscribe(f"{name}ch")
        assert p.get_message(timeout=WAIT)["type"] == "subscribe"  # type: ignore[index]
        assert got == []
    with pytest.raises(babushka.DataError, match="push_handler_func"):
        r.pubsub(push_handler_func="not callable")  # type: ignore[arg-type]


async def test_async_push_handler_func_may_be_a_coroutine(
    r: babushka.Redis, redis_server: RedisServer, transport: str, name: str
) -> None:
    got: list[list[Any]] = []

    async def handler(response: list[Any]) -> list[Any] | None:
        got.append(response)
        return response if response[0] == b"message" else None

    c = babushka.asyncio.Redis(port=redis_server.port, transport=transport, protocol=3)
    p = c.pubsub(push_handler_func=handler)
    try:
        await p.subscribe(f"{name}ch")
        assert await p.get_message(timeout=WAIT) is None
        r.publish(f"{name}ch", "hi")
        message = await p.get_message(timeout=WAIT)
        assert message is not None
        assert (message["type"], message["data"]) == ("message", b"hi")
        assert [push[0] for push in got] == [b"subscribe", b"message"]
    finally:
        await p.aclose()
        await c.aclose()
