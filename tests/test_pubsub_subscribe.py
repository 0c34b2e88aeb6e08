"""``subscribe()`` returns once the server holds the subscription, on every
transport, sync and async: a message published right after it, from another
connection, is received (redis-py's program, run many times so a race would
show), with channels, patterns and shard channels. A subscribe that fails
(the server cannot be reached, its confirmation is overdue) raises and holds
nothing."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest

import babushka
import babushka.asyncio
from support.faults import Proxy, unaccepting_listener
from support.servers import RedisServer

#: Rounds of the subscribe-then-publish program per test.
ROUNDS = 20

#: kind -> (the PubSub method, the client's publish method, the message type)
KINDS = {
    "channel": ("subscribe", "publish", "message"),
    "pattern": ("psubscribe", "publish", "pmessage"),
    "shard": ("ssubscribe", "spublish", "smessage"),
}


def names(kind: str) -> tuple[bytes, bytes]:
    """What to subscribe to and where to publish, unique to the round."""
    channel = f"news-{uuid.uuid4().hex[:10]}".encode()
    return (channel[:-1] + b"*" if kind == "pattern" else channel), channel


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("ignore", [False, True], ids=["confirmations", "ignored"])
def test_a_message_published_right_after_subscribe_is_received(
    r: babushka.Redis, kind: str, ignore: bool
) -> None:
    subscribe, publish, message_type = KINDS[kind]
    for _ in range(ROUNDS):
        target, channel = names(kind)
        p = r.pubsub(ignore_subscribe_messages=ignore)
        try:
            getattr(p, subscribe)(target)
            assert getattr(r, publish)(channel, "hello") == 1
            first = p.get_message(timeout=1.0)
            if ignore:
                # Read and skipped, as redis-py does: get_message says None.
                assert first is None
            else:
                assert first is not None
                assert first["type"] == subscribe
                assert first["channel"] == target
            message = p.get_message(timeout=1.0)
            assert message is not None
            assert message["type"] == message_type
            assert message["channel"] == channel
            assert message["data"] == b"hello"
        finally:
            p.close()


@pytest.mark.parametrize("kind", list(KINDS))
async def test_async_a_message_published_right_after_subscribe_is_received(
    ar: babushka.asyncio.Redis, kind: str
) -> None:
    subscribe, publish, message_type = KINDS[kind]
    for round_ in range(ROUNDS):
        target, channel = names(kind)
        ignore = round_ % 2 == 1
        p = ar.pubsub(ignore_subscribe_messages=ignore)
        try:
            await getattr(p, subscribe)(target)
            assert await getattr(ar, publish)(channel, "hello") == 1
            first = await p.get_message(timeout=1.0)
            if ignore:
                assert first is None
            else:
                assert first is not None
                assert (first["type"], first["channel"]) == (subscribe, target)
            message = await p.get_message(timeout=1.0)
            assert message is not None
            assert (message["type"], message["channel"], message["data"]) == (
                message_type,
                channel,
                b"hello",
            )
        finally:
            await p.aclose()


def test_handlers_see_a_message_published_right_after_subscribe(r: babushka.Redis) -> None:
    got: list[dict[str, Any]] = []
    for _ in range(ROUNDS):
        _, channel = names("channel")
        p = r.pubsub(ignore_subscribe_messages=True)
        try:
            p.subscribe(**{channel.decode(): got.append})
            r.publish(channel, "x")
            assert p.get_message(timeout=1.0) is None  # the confirmation, skipped
            assert p.get_message(timeout=1.0) is None  # the handler took it
        finally:
            p.close()
    assert len(got) == ROUNDS


def test_an_unreachable_server_fails_the_first_subscribe(transport: str) -> None:
    with babushka.Redis(port=1, transport=transport) as r, r.pubsub() as p:
        with pytest.raises(babushka.ConnectionError):
            p.subscribe("ch")
        # Nothing holds: no subscription, nothing more to read, and the
        # core does not keep trying on its own.
        assert p.channels == {}
        assert not p.subscribed
        assert p.get_message(timeout=0.05) is None
        with pytest.raises(babushka.ConnectionError):
            p.psubscribe("p*")
        assert p.patterns == {}


async def test_async_an_unreachable_server_fails_the_first_subscribe(transport: str) -> None:
    r = babushka.asyncio.Redis(port=1, transport=transport)
    p = r.pubsub()
    try:
        with pytest.raises(babushka.ConnectionError):
            await p.subscribe("ch")
        assert p.channels == {}
        assert not p.subscribed
        assert await p.get_message(timeout=0.05) is None
    finally:
        await p.aclose()
        await r.aclose()


def test_the_first_subscribe_waits_no_longer_than_the_connect_timeout(transport: str) -> None:
    with unaccepting_listener() as port:
        r = babushka.Redis(port=port, transport=transport, socket_connect_timeout=0.3)
        p = r.pubsub()
        started = time.monotonic()
        # redis-py raises its TimeoutError here too (a ConnectionError's kin).
        with pytest.raises((babushka.TimeoutError, babushka.ConnectionError)):
            p.subscribe("ch")
        assert time.monotonic() - started < 3.0
        assert p.channels == {}
        p.close()
        r.close()


def test_an_overdue_confirmation_raises_timeout_and_holds_nothing(
    redis_server: RedisServer, transport: str
) -> None:
    proxy = Proxy("127.0.0.1", redis_server.port)
    r = babushka.Redis(port=proxy.port, transport=transport, socket_timeout=0.5)
    publisher = babushka.Redis(port=redis_server.port, transport=transport)
    p = r.pubsub()
    try:
        held, _ = names("channel")
        p.subscribe(held)
        assert p.get_message(timeout=5)["type"] == "subscribe"  # type: ignore[index]
        late, _ = names("channel")
        proxy.hold()  # the server seems to stall: nothing reaches it
        started = time.monotonic()
        with pytest.raises(babushka.TimeoutError):
            p.subscribe(late)
        assert time.monotonic() - started < 4.0
        assert list(p.channels) == [held]
        proxy.release()
        # The connection was given up; the next one restores what held.
        deadline = time.monotonic() + 10
        while True:
            message = p.get_message(timeout=max(0.0, deadline - time.monotonic()))
            assert message is not None, "no reconnected message"
            if message["type"] == "reconnected":
                assert message["data"] == 1
                break
        assert publisher.publish(held, "still") == 1
        assert publisher.publish(late, "never") == 0
        message = p.get_message(timeout=5)
        assert message is not None
        assert (message["channel"], message["data"]) == (held, b"still")
    finally:
        p.close()
        r.close()
        publisher.close()
        proxy.close()
