"""Publish/subscribe against real servers, on every transport: messages on
channels, patterns and shard channels, handlers, ``listen``, ``run_in_thread``
and its asyncio kin, restoration after the server is killed and restarted,
the unread backlog, keyspace notifications, and the publish-side commands.

Every wait here is for an event (a confirmation, a message, a pong) with a
generous timeout; nothing sleeps and hopes.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

import babushka
import babushka.asyncio
from babushka.pubsub import PubSub, Subscription
from support.servers import RedisServer

#: How long a test waits for an event that should come at once.
WAIT = 5.0


@pytest.fixture
def name() -> str:
    """A prefix no other test's channels share, so a subscriber left over by
    a failed test never receives (or counts in) this test's messages."""
    return f"t-{uuid.uuid4().hex[:12]}-"


@pytest.fixture
def p(r: babushka.Redis) -> Iterator[PubSub]:
    pubsub = r.pubsub()
    yield pubsub
    pubsub.close()


def next_message(p: PubSub, timeout: float = WAIT, **kwargs: Any) -> dict[str, Any]:
    message = p.get_message(timeout=timeout, **kwargs)
    assert message is not None, f"no message within {timeout} s"
    return message


def msg(kind: str, channel: Any, data: Any, pattern: Any = None) -> dict[str, Any]:
    return {"type": kind, "pattern": pattern, "channel": channel, "data": data}


# -- messages ----------------------------------------------------------------


def test_messages_on_channels_patterns_and_shard_channels(
    r: babushka.Redis, p: PubSub, name: str
) -> None:
    ch, pat, shard = f"{name}ch".encode(), f"{name}p*".encode(), f"{name}s".encode()
    p.subscribe(ch)
    p.psubscribe(pat)
    p.ssubscribe(shard)
    assert next_message(p) == msg("subscribe", ch, 1)
    assert next_message(p) == msg("psubscribe", pat, 2)
    assert next_message(p) == msg("ssubscribe", shard, 1)
    assert p.subscribed

    assert r.publish(ch, "hello") == 1
    assert next_message(p) == msg("message", ch, b"hello")
    assert r.publish(f"{name}pq", b"\x00\xff") == 1
    assert next_message(p) == msg("pmessage", f"{name}pq".encode(), b"\x00\xff", pat)
    assert r.spublish(shard, 42) == 1
    assert next_message(p) == msg("smessage", shard, b"42")
    assert p.get_message() is None, "nothing else came"

    p.ping()
    assert next_message(p) == msg("pong", None, b"")
    p.ping("echo")
    assert next_message(p) == msg("pong", None, b"echo")


def test_decode_responses_applies_to_messages_and_names(rd: babushka.Redis, name: str) -> None:
    with rd.pubsub() as p:
        p.subscribe(f"{name}ch".encode())
        assert next_message(p) == msg("subscribe", f"{name}ch", 1)
        assert list(p.channels) == [f"{name}ch"], "names normalised as messages carry them"
        rd.publish(f"{name}ch", "héllo")
        assert next_message(p) == msg("message", f"{name}ch", "héllo")
        p.ping()
        assert next_message(p) == msg("pong", None, "")


def test_resp3_subscribers_get_the_same_messages(
    redis_server: RedisServer, transport: str, name: str
) -> None:
    r = babushka.Redis(port=redis_server.port, transport=transport, protocol=3)
    with r, r.pubsub() as p:
        p.subscribe(f"{name}a")
        p.psubscribe(f"{name}*")
        assert next_message(p)["type"] == "subscribe"
        assert next_message(p)["type"] == "psubscribe"
        r.publish(f"{name}a", "x")
        received = [next_message(p), next_message(p)]
        assert msg("message", f"{name}a".encode(), b"x") in received
        assert msg("pmessage", f"{name}a".encode(), b"x", f"{name}*".encode()) in received
        p.ping("hi")
        assert next_message(p) == msg("pong", None, b"hi")


def test_unsubscribing_tracks_confirmations(r: babushka.Redis, p: PubSub, name: str) -> None:
    p.subscribe(f"{name}a", f"{name}b")
    p.psubscribe(f"{name}*")
    for _ in range(3):
        next_message(p)
    p.unsubscribe(f"{name}a")
    assert next_message(p) == msg("unsubscribe", f"{name}a".encode(), 2)
    assert set(p.channels) == {f"{name}b".encode()}
    p.unsubscribe()
    p.punsubscribe()
    assert next_message(p)["type"] == "unsubscribe"
    assert p.subscribed, "the pattern is still pending"
    assert next_message(p) == msg("punsubscribe", f"{name}*".encode(), 0)
    assert not p.subscribed
    assert p.channels == {} and p.patterns == {}
    assert r.publish(f"{name}b", "x") == 0
    # Nothing subscribed: get_message waits for a subscription, then gives up.
    assert p.get_message(timeout=0.05) is None


def test_ignore_subscribe_messages(r: babushka.Redis, name: str) -> None:
    with r.pubsub(ignore_subscribe_messages=True) as p:
        p.subscribe(f"{name}ch")
        p.ping()
        # The confirmation is read and skipped (None); the pong is not.
        assert p.get_message(timeout=WAIT) is None
        assert next_message(p) == msg("pong", None, b"")
    with r.pubsub() as p:
        p.subscribe(f"{name}ch")
        assert p.get_message(ignore_subscribe_messages=True, timeout=WAIT) is None
        r.publish(f"{name}ch", "x")
        assert next_message(p, ignore_subscribe_messages=True) == msg(
            "message", f"{name}ch".encode(), b"x"
        )


def test_execute_command_on_a_client_points_to_pubsub(r: babushka.Redis) -> None:
    with pytest.raises(babushka.DataError, match=r"pubsub\(\)"):
        r.execute_command("SUBSCRIBE", "ch")


def test_execute_command_on_a_subscriber(r: babushka.Redis, p: PubSub, name: str) -> None:
    p.subscribe(f"{name}ch")
    assert next_message(p)["type"] == "subscribe"
    # Sent as it is: the server confirms it, but (as in redis-py) the
    # patterns dict does not record it.
    p.execute_command("PSUBSCRIBE", f"{name}*")
    assert next_message(p) == msg("psubscribe", f"{name}*".encode(), 2)
    assert p.patterns == {}
    p.execute_command("PING")
    assert next_message(p)["type"] == "pong"
    with pytest.raises(babushka.DataError, match="GET cannot be sent on a subscriber"):
        p.execute_command("GET", "k")


def test_subscribing_to_nothing_is_refused_before_anything_is_sent(p: PubSub) -> None:
    with pytest.raises(babushka.DataError):
        p.subscribe()
    with pytest.raises(babushka.DataError, match="Invalid input of type"):
        p.subscribe(None)
    with pytest.raises(babushka.DataError, match="max_buffered_messages"):
        babushka.Redis().pubsub(max_buffered_messages=0)


def test_a_refused_subscribe_raises_and_holds_nothing(
    r: babushka.Redis, redis_server: RedisServer, transport: str, name: str
) -> None:
    user = f"{name}user"
    # A user who may only use channels of its own: a subscription elsewhere
    # is refused by the server, and subscribe() raises the refusal.
    r.execute_command("ACL", "SETUSER", user, "on", ">pw", "~*", f"&{name}mine*", "+@all")
    try:
        with (
            babushka.Redis(
                port=redis_server.port, transport=transport, username=user, password="pw"
            ) as limited,
            limited.pubsub() as p,
        ):
            p.subscribe(f"{name}mine")
            assert next_message(p)["type"] == "subscribe"
            with pytest.raises(babushka.NoPermissionError):
                p.subscribe(f"{name}theirs")
            assert list(p.channels) == [f"{name}mine".encode()]
            # Not raised a second time, and the subscriber carries on.
            p.ping()
            assert next_message(p)["type"] == "pong"
    finally:
        r.execute_command("ACL", "DELUSER", user)


# -- handlers ------------------------------------------------------------------


def test_handlers_take_their_messages(r: babushka.Redis, p: PubSub, name: str) -> None:
    got: list[dict[str, Any]] = []
    odd = b"\xff" + name.encode()  # not a valid keyword: a Subscription names it
    p.subscribe(Subscription(odd, got.append), **{f"{name}kw": got.append})
    p.psubscribe(**{f"{name}p*": got.append})
    p.subscribe(f"{name}plain")
    for _ in range(4):
        assert next_message(p)["type"].endswith("subscribe")
    r.publish(odd, "1")
    r.publish(f"{name}kw", "2")
    r.publish(f"{name}pz", "3")
    r.publish(f"{name}plain", "4")
    # Handled messages give None; the unhandled one is returned.
    returned = [p.get_message(timeout=WAIT) for _ in range(4)]
    assert returned[:3] == [None, None, None]
    assert returned[3] == msg("message", f"{name}plain".encode(), b"4")
    assert got == [
        msg("message", odd, b"1"),
        msg("message", f"{name}kw".encode(), b"2"),
        msg("pmessage", f"{name}pz".encode(), b"3", f"{name}p*".encode()),
    ]


def test_listen_yields_until_everything_is_unsubscribed(
    r: babushka.Redis, p: PubSub, name: str
) -> None:
    p.subscribe(f"{name}ch")
    seen = []
    for message in p.listen():
        seen.append(message["type"])
        if message["type"] == "subscribe":
            r.publish(f"{name}ch", "x")
        elif message["type"] == "message":
            p.unsubscribe()
    assert seen == ["subscribe", "message", "unsubscribe"]


def test_run_in_thread_runs_handlers_until_stopped(r: babushka.Redis, name: str) -> None:
    p = r.pubsub()
    got: list[dict[str, Any]] = []
    arrived = threading.Event()

    def handler(message: dict[str, Any]) -> None:
        got.append(message)
        arrived.set()

    p.subscribe(**{f"{name}ch": handler})
    thread = p.run_in_thread(daemon=True)
    deadline = time.monotonic() + WAIT
    # The subscription holds once the server counts it.
    while r.pubsub_numsub(f"{name}ch") != [(f"{name}ch".encode(), 1)]:
        assert time.monotonic() < deadline
        time.sleep(0.005)
    r.publish(f"{name}ch", "x")
    assert arrived.wait(WAIT)
    assert got == [msg("message", f"{name}ch".encode(), b"x")]
    started = time.monotonic()
    thread.stop()
    thread.join(WAIT)
    assert not thread.is_alive()
    assert time.monotonic() - started < 1.0, "stop() ends the wait at once"
    assert p._native is None, "the thread closed its subscriber"


def test_run_in_thread_needs_a_handler_for_every_subscription(
    r: babushka.Redis, p: PubSub, name: str
) -> None:
    p.subscribe(f"{name}x", **{f"{name}y": print})
    with pytest.raises(babushka.PubSubError, match=f"Channel: 'b'{name}x'' has no handler"):
        p.run_in_thread()


def test_run_in_thread_hands_exceptions_to_its_handler(r: babushka.Redis, name: str) -> None:
    p = r.pubsub()
    failures: list[tuple[BaseException, Any, Any]] = []
    handled = threading.Event()

    def broken(message: dict[str, Any]) -> None:
        raise ValueError(message["data"])

    def on_error(error: BaseException, pubsub: Any, thread: Any) -> None:
        failures.append((error, pubsub, thread))
        handled.set()

    p.subscribe(**{f"{name}ch": broken})
    thread = p.run_in_thread(exception_handler=on_error, daemon=True)
    deadline = time.monotonic() + WAIT
    while r.publish(f"{name}ch", "boom") == 0:
        assert time.monotonic() < deadline
        time.sleep(0.005)
    assert handled.wait(WAIT)
    error, pubsub, worker = failures[0]
    assert isinstance(error, ValueError) and error.args == (b"boom",)
    assert pubsub is p and worker is thread
    thread.stop()
    thread.join(WAIT)
    assert not thread.is_alive()


# -- lifecycle -----------------------------------------------------------------


def test_closing_unsubscribes_on_the_server(r: babushka.Redis, name: str) -> None:
    with r.pubsub() as p:
        p.subscribe(f"{name}ch")
        next_message(p)
        assert r.publish(f"{name}ch", "x") == 1
    assert not p.subscribed and p.channels == {}
    deadline = time.monotonic() + WAIT
    while r.publish(f"{name}ch", "x") != 0:  # the server sees the close a moment later
        assert time.monotonic() < deadline
        time.sleep(0.005)
    # A reset subscriber subscribes again on a new connection.
    p.subscribe(f"{name}again")
    assert next_message(p) == msg("subscribe", f"{name}again".encode(), 1)
    p.close()


def test_closing_the_client_closes_its_subscribers(
    redis_server: RedisServer, transport: str, name: str
) -> None:
    r = babushka.Redis(port=redis_server.port, transport=transport)
    p = r.pubsub()
    p.subscribe(f"{name}ch")
    next_message(p)
    r.close()
    assert p.get_message(timeout=WAIT) is None
    # The client itself reconnects, and so does a new subscriber of it.
    with r.pubsub() as again:
        again.subscribe(f"{name}ch")
        assert next_message(again)["type"] == "subscribe"
    p.close()
    r.close()


# -- reconnection --------------------------------------------------------------


def wait_for_type(p: PubSub, kind: str, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"no {kind} message within {timeout} s"
        message = p.get_message(timeout=remaining)
        if message is not None and message["type"] == kind:
            return message


def test_subscriptions_are_restored_after_a_kill_and_a_restart(
    server_kind: str, transport: str, name: str
) -> None:
    server = RedisServer.start(kind=server_kind)
    try:
        with babushka.Redis(port=server.port, transport=transport) as r:
            reconnects: list[dict[str, Any]] = []
            with r.pubsub(on_reconnect=reconnects.append) as p:
                p.subscribe(f"{name}ch")
                p.psubscribe(f"{name}p*")
                p.ssubscribe(f"{name}s")
                for _ in range(3):
                    next_message(p)

                server.kill()
                server.restart()
                # The core notices, reconnects, restores, and says so.
                notice = wait_for_type(p, "reconnected", timeout=15)
                assert notice == msg("reconnected", None, 3)
                assert reconnects == [notice]

                assert r.publish(f"{name}ch", "a") == 1
                assert next_message(p) == msg("message", f"{name}ch".encode(), b"a")
                assert r.publish(f"{name}pq", "b") == 1
                assert next_message(p)["type"] == "pmessage"
                assert r.spublish(f"{name}s", "c") == 1
                assert next_message(p) == msg("smessage", f"{name}s".encode(), b"c")
    finally:
        server.stop()


def test_a_dropped_connection_is_restored(
    r: babushka.Redis, redis_server: RedisServer, transport: str, name: str
) -> None:
    subscriber_client = babushka.Redis(
        port=redis_server.port, transport=transport, client_name=f"{name}sub"
    )
    with subscriber_client, subscriber_client.pubsub() as p:
        p.subscribe(f"{name}ch")
        p.ssubscribe(f"{name}s")
        next_message(p)
        next_message(p)
        # The server drops the subscriber's connection (and only it).
        victim = server_side_of(r, f"{name}sub")["id"]
        assert r.execute_command("CLIENT", "KILL", "ID", victim) == 1
        assert wait_for_type(p, "reconnected", timeout=WAIT) == msg("reconnected", None, 2)
        assert server_side_of(r, f"{name}sub")["id"] != victim
        assert r.publish(f"{name}ch", "a") == 1
        assert next_message(p) == msg("message", f"{name}ch".encode(), b"a")
        assert r.spublish(f"{name}s", "b") == 1
        assert next_message(p) == msg("smessage", f"{name}s".encode(), b"b")


# -- the unread backlog ----------------------------------------------------------


def server_side_of(r: babushka.Redis, client_name: str) -> dict[str, str]:
    """The server's view (``CLIENT LIST``) of the connection named ``client_name``."""
    for fields in r.client_list():
        if fields.get("name") == client_name:
            return fields
    raise AssertionError(f"no connection named {client_name}")


def test_twenty_thousand_unread_messages_hold_up_no_command(
    r: babushka.Redis, redis_server: RedisServer, transport: str, name: str
) -> None:
    subscriber_client = babushka.Redis(
        port=redis_server.port, transport=transport, client_name=f"{name}sub"
    )
    with subscriber_client, subscriber_client.pubsub() as p:
        p.subscribe(f"{name}ch")
        next_message(p)
        count = 20_000
        with r.pipeline(transaction=False) as pipe:
            for n in range(count):
                pipe.publish(f"{name}ch", n)
            assert pipe.execute() == [1] * count
        # The backlog is in the core, not in the server's output buffer for
        # the subscriber (which the server would cut off at its limit).
        deadline = time.monotonic() + WAIT
        while server_side_of(r, f"{name}sub")["omem"] != "0":
            assert time.monotonic() < deadline, "the core stopped reading"
            time.sleep(0.005)
        # The subscriber's own client, and another, answer in milliseconds.
        for client in (subscriber_client, r):
            for _ in range(20):
                started = time.monotonic()
                assert client.ping()
                assert time.monotonic() - started < 0.5
        # Nothing was dropped under the default bound, and order held.
        for n in range(count):
            assert next_message(p)["data"] == str(n).encode()
        assert p.dropped_messages == 0


def test_a_full_backlog_drops_the_oldest_messages_and_says_so(
    r: babushka.Redis, transport: str, name: str, caplog: pytest.LogCaptureFixture
) -> None:
    with r.pubsub(max_buffered_messages=100) as p:
        p.subscribe(f"{name}ch")
        # Wait for the subscription without reading anything.
        deadline = time.monotonic() + WAIT
        while r.pubsub_numsub(f"{name}ch") != [(f"{name}ch".encode(), 1)]:
            assert time.monotonic() < deadline
            time.sleep(0.005)
        with r.pipeline(transaction=False) as pipe:
            for n in range(1000):
                pipe.publish(f"{name}ch", n)
            pipe.execute()
        p.ping("end")  # answered after every message
        if transport != "uds":
            # Unread, the core keeps the newest 100: the count is exact.
            while p.dropped_messages < 900:
                assert time.monotonic() < deadline + WAIT
                time.sleep(0.005)
        with caplog.at_level(logging.WARNING, logger="babushka.pubsub"):
            received = []
            while True:
                message = next_message(p)
                received.append(message)
                if message["type"] == "pong":
                    break
        assert received[0]["type"] == "subscribe", "confirmations are never dropped"
        data = [int(m["data"]) for m in received[1:-1]]
        # The newest are kept, in order; every message is either received or
        # counted as dropped. (On uds one batch may already have left the
        # core before the backlog filled, so only there is the count loose.)
        assert data == sorted(data)
        assert data[-100:] == list(range(900, 1000))
        assert len(data) + p.dropped_messages == 1000
        if transport != "uds":
            assert p.dropped_messages == 900
        assert p.dropped_messages > 0
        assert "pub/sub messages were dropped" in caplog.text


# -- keyspace notifications ------------------------------------------------------


def test_keyspace_notifications(r: babushka.Redis, p: PubSub, name: str) -> None:
    (previous,) = r.config_get("notify-keyspace-events").values()
    r.config_set("notify-keyspace-events", "KEA")
    try:
        p.psubscribe(f"__keyspace@0__:{name}*")
        p.subscribe("__keyevent@0__:expired")
        next_message(p)
        next_message(p)
        r.set(f"{name}k", "v")
        assert next_message(p) == msg(
            "pmessage",
            f"__keyspace@0__:{name}k".encode(),
            b"set",
            f"__keyspace@0__:{name}*".encode(),
        )
        r.pexpire(f"{name}k", 1)
        seen = {next_message(p)["data"], next_message(p)["data"], next_message(p)["data"]}
        assert {b"expire", b"expired", f"{name}k".encode()} <= seen
    finally:
        r.config_set("notify-keyspace-events", previous)


# -- publish-side commands ---------------------------------------------------------


def test_introspection_commands(r: babushka.Redis, p: PubSub, name: str) -> None:
    p.subscribe(f"{name}a", f"{name}b")
    p.psubscribe(f"{name}*")
    p.ssubscribe(f"{name}s")
    for _ in range(4):
        next_message(p)
    assert sorted(r.pubsub_channels(f"{name}*")) == [f"{name}a".encode(), f"{name}b".encode()]
    assert r.pubsub_numsub(f"{name}a", f"{name}z") == [
        (f"{name}a".encode(), 1),
        (f"{name}z".encode(), 0),
    ]
    assert r.pubsub_numpat() >= 1
    assert r.pubsub_shardchannels(f"{name}*") == [f"{name}s".encode()]
    assert r.pubsub_shardnumsub(f"{name}s") == [(f"{name}s".encode(), 1)]
    with r.pipeline() as pipe:
        pipe.publish(f"{name}a", "x").spublish(f"{name}s", "y").pubsub_numsub(f"{name}b")
        # PUBLISH counts the pattern's subscription too.
        assert pipe.execute() == [2, 1, [(f"{name}b".encode(), 1)]]


# -- asyncio -----------------------------------------------------------------------


@pytest.fixture
async def ap(ar: babushka.asyncio.Redis) -> AsyncIterator[babushka.asyncio.pubsub.PubSub]:
    pubsub = ar.pubsub()
    yield pubsub
    await pubsub.aclose()


async def anext_message(p: Any, timeout: float = WAIT, **kwargs: Any) -> dict[str, Any]:
    message = await p.get_message(timeout=timeout, **kwargs)
    assert message is not None, f"no message within {timeout} s"
    return message


async def test_async_messages_handlers_and_iteration(
    ar: babushka.asyncio.Redis, ap: Any, name: str
) -> None:
    with pytest.raises(RuntimeError, match="did you forget to call subscribe"):
        await ap.get_message()
    got: list[dict[str, Any]] = []

    async def coroutine_handler(message: dict[str, Any]) -> None:
        got.append(message)

    await ap.subscribe(f"{name}ch", **{f"{name}h": coroutine_handler})
    await ap.psubscribe(**{f"{name}p*": got.append})
    await ap.ssubscribe(f"{name}s")
    for _ in range(4):
        assert (await anext_message(ap))["type"].endswith("subscribe")
    assert await ar.publish(f"{name}h", "1") == 1
    assert await ar.publish(f"{name}pz", "2") == 1
    assert await ap.get_message(timeout=WAIT) is None
    assert await ap.get_message(timeout=WAIT) is None
    assert got == [
        msg("message", f"{name}h".encode(), b"1"),
        msg("pmessage", f"{name}pz".encode(), b"2", f"{name}p*".encode()),
    ]
    await ar.spublish(f"{name}s", "3")
    assert await anext_message(ap) == msg("smessage", f"{name}s".encode(), b"3")
    assert await ap.get_message(timeout=0.01) is None

    # async for, on listen() and on the subscriber itself.
    await ar.publish(f"{name}ch", "x")
    async for message in ap.listen():
        assert message == msg("message", f"{name}ch".encode(), b"x")
        break
    await ap.ping("p")
    async for message in ap:
        assert message == msg("pong", None, b"p")
        break
    await ap.unsubscribe()
    await ap.punsubscribe()
    await ap.sunsubscribe()
    seen = [message["type"] async for message in ap.listen()]
    assert sorted(seen) == ["punsubscribe", "sunsubscribe", "unsubscribe", "unsubscribe"]
    assert not ap.subscribed


async def test_async_run_calls_handlers_and_its_exception_handler(
    ar: babushka.asyncio.Redis, name: str
) -> None:
    async with ar.pubsub() as p:
        got: list[Any] = []
        failures: list[BaseException] = []
        done = asyncio.Event()

        def handler(message: dict[str, Any]) -> None:
            if message["data"] == b"boom":
                raise ValueError("boom")
            got.append(message["data"])

        async def on_error(error: BaseException, pubsub: Any) -> None:
            failures.append(error)
            done.set()

        await p.subscribe(**{f"{name}ch": handler})
        task = asyncio.create_task(p.run(exception_handler=on_error, poll_timeout=0.05))
        deadline = time.monotonic() + WAIT
        while await ar.publish(f"{name}ch", "ok") == 0:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.005)
        await ar.publish(f"{name}ch", "boom")
        await asyncio.wait_for(done.wait(), WAIT)
        assert got == [b"ok"]
        assert isinstance(failures[0], ValueError)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    with pytest.raises(babushka.PubSubError, match="has no handler"):
        p2 = ar.pubsub()
        await p2.subscribe(f"{name}x")
        try:
            await p2.run()
        finally:
            await p2.aclose()


async def test_async_subscriptions_are_restored_after_a_kill_and_a_restart(
    server_kind: str, transport: str, name: str
) -> None:
    server = RedisServer.start(kind=server_kind)
    try:
        r = babushka.asyncio.Redis(port=server.port, transport=transport)
        async with r, r.pubsub() as p:
            await p.subscribe(f"{name}ch")
            await p.psubscribe(f"{name}p*")
            await anext_message(p)
            await anext_message(p)

            server.kill()
            server.restart()
            deadline = time.monotonic() + 15
            while True:
                remaining = deadline - time.monotonic()
                assert remaining > 0, "not restored in time"
                notice = await p.get_message(timeout=remaining)
                if notice is not None and notice["type"] == "reconnected":
                    break
            assert notice == msg("reconnected", None, 2)

            assert await r.publish(f"{name}ch", "after") == 1
            assert await anext_message(p) == msg("message", f"{name}ch".encode(), b"after")
            assert await r.publish(f"{name}pq", "x") == 1
            assert (await anext_message(p))["type"] == "pmessage"
    finally:
        server.stop()


async def test_async_unread_backlog_holds_up_no_command(
    ar: babushka.asyncio.Redis, ap: Any, name: str
) -> None:
    await ap.subscribe(f"{name}ch")
    await anext_message(ap)
    count = 20_000
    async with ar.pipeline(transaction=False) as pipe:
        for n in range(count):
            pipe.publish(f"{name}ch", n)
        assert await pipe.execute() == [1] * count
    for _ in range(20):
        started = time.monotonic()
        assert await ar.ping()
        assert time.monotonic() - started < 0.5
    for n in range(count):
        assert (await anext_message(ap))["data"] == str(n).encode()
    assert ap.dropped_messages == 0
