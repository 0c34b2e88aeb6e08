"""WATCH in a RedisCluster pipeline, as redis-py's cluster transactions: the
watched keys in one slot, a connection leased to that slot's primary from
``watch()`` until ``execute()``/``reset()``/``unwatch()``, commands run at once
until ``multi()``, ``WatchError`` when another client changed a key, and
``transaction()`` retrying; keys of another slot refused before anything is
sent. Sync and asyncio, on every transport. (A slot that moves during a
session: test_cluster_changes.py, which has a cluster of its own to move.)"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

import babushka
import babushka.asyncio
from support.cluster import Cluster, command

_names = itertools.count()


@pytest.fixture
def name(transport: str) -> str:
    """A client name of this test's own, to count its connections by."""
    return f"cwatch-{transport}-{next(_names)}"


@pytest.fixture
def rc(cluster: Cluster, transport: str, name: str) -> Iterator[babushka.RedisCluster]:
    client = babushka.RedisCluster(
        host=cluster.host,
        port=cluster.port,
        transport=transport,
        socket_timeout=10,
        client_name=name,
    )
    client.flushall()
    yield client
    client.close()


@pytest.fixture
async def arc(
    cluster: Cluster, transport: str, name: str
) -> AsyncIterator[babushka.asyncio.RedisCluster]:
    client = babushka.asyncio.RedisCluster(
        host=cluster.host,
        port=cluster.port,
        transport=transport,
        socket_timeout=10,
        client_name=name,
    )
    await client.flushall()
    yield client
    await client.aclose()


@pytest.fixture
def other(cluster: Cluster) -> Iterator[babushka.RedisCluster]:
    """Another client, whose writes a watch should see."""
    client = babushka.RedisCluster(host=cluster.host, port=cluster.port, socket_timeout=10)
    yield client
    client.close()


def connections(cluster: Cluster, key: str, name: str) -> int:
    """How many connections named ``name`` the primary serving ``key`` has."""
    node = cluster.node_for_slot(babushka_slot(key))
    listing = command(node.host, node.port, "CLIENT", "LIST")
    return sum(f" name={name} " in f" {line} " for line in listing.splitlines())


def babushka_slot(key: str) -> int:
    return babushka._core.keyslot(key.encode())


# -- sync ----------------------------------------------------------------------


def test_a_watched_transaction_runs_on_the_slots_node(rc: babushka.RedisCluster) -> None:
    rc.set("{acct}balance", 10)
    with rc.pipeline(transaction=True) as pipe:
        assert pipe.watch("{acct}balance", "{acct}log") is True
        # Until multi(), commands run at once on the session's connection.
        balance = int(pipe.get("{acct}balance"))
        assert pipe.llen("{acct}log") == 0
        pipe.multi()
        pipe.set("{acct}balance", balance - 3).rpush("{acct}log", "-3")
        assert pipe.execute() == [True, 1]
    assert rc.get("{acct}balance") == b"7"
    assert rc.lrange("{acct}log", 0, -1) == [b"-3"]


def test_a_key_changed_by_another_client_raises_watch_error(
    rc: babushka.RedisCluster, other: babushka.RedisCluster
) -> None:
    rc.set("{w}k", 1)
    with rc.pipeline(transaction=True) as pipe:
        pipe.watch("{w}k")
        other.set("{w}k", 2)
        pipe.multi()
        pipe.set("{w}k", 3)
        with pytest.raises(babushka.WatchError):
            pipe.execute()
    assert rc.get("{w}k") == b"2"
    # The pipeline is reusable afterwards: a new session, which succeeds.
    with rc.pipeline(transaction=True) as pipe:
        pipe.watch("{w}k")
        pipe.multi()
        pipe.incr("{w}k")
        assert pipe.execute() == [3]


def test_transaction_retries_until_no_watched_key_changed(
    rc: babushka.RedisCluster, other: babushka.RedisCluster
) -> None:
    rc.set("{t}n", 0)
    calls = []

    def bump(pipe: Any) -> None:
        value = int(pipe.get("{t}n"))
        calls.append(value)
        if len(calls) < 3:
            other.incr("{t}n")  # someone else writes in between: retried
        pipe.multi()
        pipe.set("{t}n", value + 10)

    assert rc.transaction(bump, "{t}n") == [True]
    assert calls == [0, 1, 2]
    assert rc.get("{t}n") == b"12"
    assert rc.transaction(lambda p: p.get("{t}n"), "{t}n", value_from_callable=True) == b"12"


def test_keys_of_another_slot_are_refused_before_anything_is_sent(
    rc: babushka.RedisCluster, cluster: Cluster, name: str
) -> None:
    assert babushka_slot("a") != babushka_slot("b")
    with rc.pipeline(transaction=True) as pipe:
        before = connections(cluster, "a", name), connections(cluster, "b", name)
        with pytest.raises(babushka.CrossSlotTransactionError, match="different slots"):
            pipe.watch("a", "b")
        assert not pipe.watching
        # No connection was leased for it.
        assert (connections(cluster, "a", name), connections(cluster, "b", name)) == before
        pipe.watch("a")
        # Read or queued, a key of another slot is refused.
        with pytest.raises(babushka.CrossSlotTransactionError, match="different slots"):
            pipe.get("b")
        with pytest.raises(babushka.CrossSlotTransactionError, match="different slots"):
            pipe.watch("b")
        # A keyless command cannot say which node it is for (redis-py's rule).
        with pytest.raises(babushka.RedisClusterException, match="slot number"):
            pipe.ping()
        pipe.multi()
        pipe.set("b", 1)
        with pytest.raises(babushka.CrossSlotTransactionError, match="same slot"):
            pipe.execute()
    assert rc.exists("a", "b") == 0
    with rc.pipeline(transaction=True) as pipe:
        assert pipe.unwatch() is True  # nothing watched: nothing sent


def test_the_lease_goes_back_on_every_way_out(
    rc: babushka.RedisCluster, other: babushka.RedisCluster, cluster: Cluster, name: str
) -> None:
    key = "{lease}k"
    rc.set(key, 0)

    def session(end: str) -> None:
        pipe = rc.pipeline(transaction=True)
        pipe.watch(key)
        pipe.get(key)
        if end == "execute":
            pipe.multi()
            pipe.incr(key)
            pipe.execute()
        elif end == "watch_error":
            other.incr(key)
            pipe.multi()
            pipe.incr(key)
            with pytest.raises(babushka.WatchError):
                pipe.execute()
        elif end == "unwatch":
            assert pipe.unwatch() is True
            pipe.reset()
        elif end == "reset":
            pipe.reset()
        elif end == "with":
            with pipe:
                pass
        elif end == "error":
            pipe.multi()
            pipe.incr(key).lpush(key, "x")  # WRONGTYPE: an error reply in place
            with pytest.raises(babushka.ResponseError):
                pipe.execute()

    session("execute")
    settled = connections(cluster, key, name)
    assert settled >= 2  # the shared connection and the session's
    for end in ("execute", "watch_error", "unwatch", "reset", "with", "error") * 4:
        session(end)
    # Each session had the connection the one before gave back: none leaked.
    assert connections(cluster, key, name) == settled
    # And what the session's connection watched is gone with it: a write by
    # another client does not fail a later transaction without WATCH.
    pipe = rc.pipeline(transaction=True)
    pipe.set(key, 1)
    assert pipe.execute() == [True]


# -- asyncio -------------------------------------------------------------------


async def test_async_watched_transaction(arc: babushka.asyncio.RedisCluster) -> None:
    # The first command of this client: the session reads the slot map first.
    async with arc.pipeline(transaction=True) as pipe:
        assert await pipe.watch("{acct}balance") is True
        assert await pipe.get("{acct}balance") is None
        pipe.multi()
        pipe.set("{acct}balance", 5).incr("{acct}balance")
        assert await pipe.execute() == [True, 6]
    assert await arc.get("{acct}balance") == b"6"


async def test_async_watch_error_and_transaction_retry(
    arc: babushka.asyncio.RedisCluster, other: babushka.RedisCluster
) -> None:
    await arc.set("{w}k", 1)
    async with arc.pipeline(transaction=True) as pipe:
        await pipe.watch("{w}k")
        other.set("{w}k", 2)
        pipe.multi()
        pipe.set("{w}k", 3)
        with pytest.raises(babushka.WatchError):
            await pipe.execute()
    assert await arc.get("{w}k") == b"2"

    calls = []

    async def bump(pipe: Any) -> None:
        value = int(await pipe.get("{w}k"))
        calls.append(value)
        if len(calls) < 2:
            other.incr("{w}k")
        pipe.multi()
        pipe.set("{w}k", value * 10)

    assert await arc.transaction(bump, "{w}k") == [True]
    assert calls == [2, 3]
    assert await arc.get("{w}k") == b"30"


async def test_async_cross_slot_refusal(arc: babushka.asyncio.RedisCluster) -> None:
    async with arc.pipeline(transaction=True) as pipe:
        with pytest.raises(babushka.CrossSlotTransactionError, match="different slots"):
            await pipe.watch("a", "b")
        await pipe.watch("a")
        with pytest.raises(babushka.CrossSlotTransactionError, match="different slots"):
            await pipe.set("b", 1)
        pipe.multi()
        pipe.set("b", 1)
        with pytest.raises(babushka.CrossSlotTransactionError, match="same slot"):
            await pipe.execute()
    assert await arc.exists("a", "b") == 0


async def test_async_lease_goes_back(
    arc: babushka.asyncio.RedisCluster,
    other: babushka.RedisCluster,
    cluster: Cluster,
    name: str,
) -> None:
    key = "{lease}k"
    await arc.set(key, 0)

    async def session(end: str) -> None:
        pipe = arc.pipeline(transaction=True)
        await pipe.watch(key)
        await pipe.get(key)
        if end == "execute":
            pipe.multi()
            pipe.incr(key)
            await pipe.execute()
        elif end == "watch_error":
            other.incr(key)
            pipe.multi()
            pipe.incr(key)
            with pytest.raises(babushka.WatchError):
                await pipe.execute()
        elif end == "unwatch":
            assert await pipe.unwatch() is True
            await pipe.reset()
        else:
            await pipe.reset()

    await session("execute")
    settled = connections(cluster, key, name)
    assert settled >= 2
    for end in ("execute", "watch_error", "unwatch", "reset") * 4:
        await session(end)
    assert connections(cluster, key, name) == settled
