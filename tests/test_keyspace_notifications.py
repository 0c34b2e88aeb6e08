"""Keyspace notifications (``r.keyspace_notifications()``, redis-py 8's
helper): channel names and notification parsing held to redis-py's own on
every form, and notifications from real servers on every transport, sync
and async, read, handled and filtered by key prefix."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis.keyspace_notifications as theirs

import babushka
import babushka.asyncio
from babushka import keyspace_notifications as ours
from babushka.keyspace_notifications import EventType, KeyNotification

WAIT = 5.0


@pytest.fixture
def name() -> str:
    return f"ks-{uuid.uuid4().hex[:10]}-"


@pytest.fixture
def notifying(r: babushka.Redis) -> Iterator[None]:
    (previous,) = r.config_get("notify-keyspace-events").values()
    r.config_set("notify-keyspace-events", "KEA")
    yield
    r.config_set("notify-keyspace-events", previous)


# -- the same values as redis-py's --------------------------------------------------


CHANNELS = [
    ("KeyspaceChannel", ("user:*",), {"db": 3}),
    ("KeyspaceChannel", ("my[key",), {}),
    ("KeyspaceChannel", (r"a\*b",), {}),
    ("KeyeventChannel", ("set",), {}),
    ("KeyeventChannel", ("*",), {"db": 1}),
    ("SubkeyspaceChannel", ("h",), {}),
    ("SubkeyeventChannel", ("h?et",), {}),
    ("SubkeyspaceitemChannel", ("h", "f[ab]"), {}),
    ("SubkeyspaceeventChannel", ("hset", "h"), {"db": 2}),
]


@pytest.mark.parametrize(("cls", "args", "kwargs"), CHANNELS)
def test_channels_are_named_as_redis_py_names_them(
    cls: str, args: tuple[str, ...], kwargs: dict[str, int]
) -> None:
    mine, reference = getattr(ours, cls)(*args, **kwargs), getattr(theirs, cls)(*args, **kwargs)
    assert str(mine) == str(reference)
    assert repr(mine) == repr(reference)
    assert mine.is_pattern == reference.is_pattern
    assert mine == str(reference)
    assert ours.get_channel_type(str(mine)).value == theirs.get_channel_type(str(mine)).value  # type: ignore[union-attr]


NOTIFICATIONS = [
    ("__keyspace@0__:user:1", "set", None),
    ("__keyspace@0__:app:user:1", b"del", "app:"),
    ("__keyspace@0__:other:1", "del", "app:"),
    ("__keyevent@5__:expired", "app:k", b"app:"),
    ("__keyspace@*__:k", "set", None),
    ("__subkeyspace@0__:h", "hset|1:a,3:bcd", None),
    ("__subkeyevent@0__:hdel", "1:h|2:f1,2:f2", None),
    ("__subkeyspaceitem@0__:h\nfield", "hexpired", None),
    ("__subkeyspaceevent@0__:hset|h", "1:x", None),
    ("plain-channel", "x", None),
]


@pytest.mark.parametrize(("channel", "data", "prefix"), NOTIFICATIONS)
def test_notifications_parse_as_redis_py_parses_them(channel: str, data: Any, prefix: Any) -> None:
    for kind in ("message", "pmessage"):
        message = {"type": kind, "pattern": None, "channel": channel.encode(), "data": data}
        mine = KeyNotification.from_message(message, key_prefix=prefix)
        reference = theirs.KeyNotification.from_message(message, key_prefix=prefix)
        assert (mine and vars(mine)) == (reference and vars(reference))
    confirmation = {"type": "subscribe", "pattern": None, "channel": channel, "data": 1}
    assert KeyNotification.from_message(confirmation) is None


def test_event_types_are_redis_pys() -> None:
    names = {n: v for n, v in vars(theirs.EventType).items() if n.isupper()}
    assert {n: v for n, v in vars(EventType).items() if n.isupper()} == names


# -- from a server ------------------------------------------------------------------


def collect(ksn: ours.KeyspaceNotifications, count: int) -> list[KeyNotification]:
    """``count`` notifications (others' keys are filtered out as ``None``)."""
    got: list[KeyNotification] = []
    for _ in range(200):
        notification = ksn.get_message(timeout=0.05)
        if notification is not None:
            got.append(notification)
            if len(got) == count:
                return got
    raise AssertionError(f"{len(got)} of {count} notifications: {got}")


def test_notifications_from_the_server(r: babushka.Redis, notifying: None, name: str) -> None:
    with r.keyspace_notifications(key_prefix=name) as ksn:
        ksn.subscribe_keyspace(f"{name}*")
        ksn.subscribe_keyevent(EventType.DEL)
        assert ksn.subscribed
        r.set(f"{name}k", "v")
        r.delete(f"{name}k")
        got = [(n.key, n.event_type, n.is_keyspace, n.database) for n in collect(ksn, 3)]
        assert got == [("k", "set", True, 0), ("k", "del", True, 0), ("k", "del", False, 0)]
        ksn.unsubscribe(ours.KeyspaceChannel(f"{name}*"), ours.KeyeventChannel(EventType.DEL))
        # Unsubscribing holds once its confirmations are read (as in redis-py).
        for _ in range(100):
            if not ksn.subscribed:
                break
            assert ksn.get_message(timeout=0.05) is None
        assert not ksn.subscribed
        r.set(f"{name}k", "again")
        assert ksn.get_message(timeout=0.2) is None


def test_handlers_and_run_in_thread(r: babushka.Redis, notifying: None, name: str) -> None:
    seen: list[KeyNotification] = []
    done = threading.Event()

    def handler(notification: KeyNotification) -> None:
        seen.append(notification)
        done.set()

    with r.keyspace_notifications() as unhandled:
        unhandled.subscribe_keyspace(f"{name}k")
        with pytest.raises(babushka.RedisError, match="has no handler registered"):
            unhandled.run_in_thread()
    ksn = r.keyspace_notifications()
    ksn.subscribe_keyspace(f"{name}h", handler=handler)
    thread = ksn.run_in_thread(poll_timeout=0.1, daemon=True)
    try:
        r.hset(f"{name}h", "f", "v")
        assert done.wait(WAIT)
        assert (seen[0].key, seen[0].event_type) == (f"{name}h", "hset")
    finally:
        thread.stop()
        thread.join(WAIT)
    assert not thread.is_alive()
    assert not ksn.subscribed


async def test_async_notifications_handlers_and_run(
    ar: babushka.asyncio.Redis, r: babushka.Redis, notifying: None, name: str
) -> None:
    ksn = ar.keyspace_notifications(key_prefix=name.encode())
    await ksn.subscribe(ours.KeyeventChannel(EventType.SET))
    await ar.set(f"{name}a", "1")
    for _ in range(100):
        notification = await ksn.get_message(timeout=0.05)
        if notification is not None:
            break
    assert notification is not None
    assert (notification.key, notification.event_type) == ("a", "set")

    got: asyncio.Queue[KeyNotification] = asyncio.Queue()

    async def handler(notification: KeyNotification) -> None:
        await got.put(notification)

    await ksn.subscribe_keyevent(EventType.LPUSH, handler=handler)
    runner = asyncio.create_task(ksn.run(poll_timeout=0.1))
    try:
        await ar.lpush(f"{name}n", "x")
        notification = await asyncio.wait_for(got.get(), WAIT)
        assert (notification.key, notification.event_type) == ("n", "lpush")
    finally:
        runner.cancel()
        await ksn.aclose()
    assert not ksn.subscribed
