"""Pub/sub on a RedisCluster: a shard channel's subscriber connects to the
node serving the channel's slot and follows it when a CLUSTER FAILOVER makes
a replica the primary and when the slot moves to another primary (the node
sends ``sunsubscribe`` unasked; the subscriber reconnects there and
subscribes again), so messages published afterwards arrive; classic
channels work from any node. Every transport, sync and async.

A cluster of its own (failovers and moved slots stay); each test finds the
nodes it needs in whatever state the tests before it left."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import pytest

import babushka
import babushka.asyncio
from support.cluster import SETTLE_SECONDS, Cluster, timeout_for

#: How long a published message may take to arrive after the cluster changed
#: (the subscriber's reconnection): as long as any wait on the cluster.
FOLLOW_SECONDS = SETTLE_SECONDS


@pytest.fixture(scope="module")
def own_cluster(server_kind: str) -> Iterator[Cluster]:
    started = Cluster.start(server_kind)
    yield started
    started.stop()


def other_primary(cluster: Cluster, slot: int) -> Any:
    source = cluster.node_for_slot(slot)
    return source, next(n for n in cluster.primaries() if n.port != source.port)


def arrives(rc: babushka.RedisCluster, p: Any, channel: str, tag: str) -> bytes:
    """Publishes ``tag-N`` until the subscriber gets one (a publish right
    after a change may reach the old node, or come before the subscriber
    is back); returns what arrived."""
    deadline = time.monotonic() + FOLLOW_SECONDS
    n = 0
    while time.monotonic() < deadline:
        n += 1
        try:
            rc.spublish(channel, f"{tag}-{n}")
        except babushka.RedisError:
            time.sleep(0.1)
            continue
        message = p.get_message(timeout=0.3)
        while message is not None:
            if message["type"] == "smessage" and message["data"].startswith(tag.encode()):
                return bytes(message["data"])
            message = p.get_message(timeout=0.05)
    raise AssertionError(f"no {tag} message arrived in {FOLLOW_SECONDS} s")


def next_message(p: Any, timeout: float = 5.0) -> dict[str, Any]:
    """The next published message (``get_message`` with
    ``ignore_subscribe_messages`` answers ``None`` for a confirmation)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        message = p.get_message(timeout=0.2)
        if message is not None:
            return dict(message)
    raise AssertionError(f"no message in {timeout} s")


async def anext_message(p: Any, timeout: float = 5.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        message = await p.get_message(timeout=0.2)
        if message is not None:
            return dict(message)
    raise AssertionError(f"no message in {timeout} s")


@pytest.mark.timeout(timeout_for(5))
def test_shard_subscriber_follows_failover_and_resharding(
    own_cluster: Cluster, transport: str
) -> None:
    rc = babushka.RedisCluster(
        host=own_cluster.host, port=own_cluster.port, transport=transport, socket_timeout=5
    )
    channel = f"{{room-{transport}}}news"
    slot = rc.keyslot(channel)
    p = rc.pubsub(ignore_subscribe_messages=True)
    try:
        p.ssubscribe(channel)
        # On the slot's node: a publish there counts this subscriber.
        assert rc.spublish(channel, "first") == 1
        assert next_message(p)["data"] == b"first"

        _, replica = own_cluster.synced_shard(slot)
        own_cluster.failover(replica)
        assert arrives(rc, p, channel, "after-failover").startswith(b"after-failover")

        source, target = other_primary(own_cluster, slot)
        own_cluster.move_slots([slot], source, target)
        assert arrives(rc, p, channel, "after-move").startswith(b"after-move")
        assert own_cluster.node_for_slot(slot).port == target.port

        # Several slots on one subscriber are refused before anything is sent.
        other = next(f"x{n}" for n in range(100) if rc.keyslot(f"x{n}") != slot)
        with pytest.raises(babushka.RedisClusterException, match="one slot"):
            p.ssubscribe(other)
        p.ssubscribe(f"{{room-{transport}}}sports")  # same slot: fine
        assert rc.spublish(f"{{room-{transport}}}sports", "goal") == 1
        # Publishes made while the subscriber moved may still come first.
        message = next_message(p)
        while message["data"].startswith(b"after-"):
            message = next_message(p)
        assert (message["channel"], message["data"]) == (
            f"{{room-{transport}}}sports".encode(),
            b"goal",
        )
    finally:
        p.close()
        rc.close()


def test_classic_pubsub_in_a_cluster(own_cluster: Cluster, transport: str) -> None:
    rc = babushka.RedisCluster(
        host=own_cluster.host, port=own_cluster.port, transport=transport, socket_timeout=5
    )
    p = rc.pubsub(ignore_subscribe_messages=True)
    try:
        p.subscribe("classic")
        p.psubscribe("cla*")
        # A publish on any node reaches every node's subscribers.
        assert rc.publish("classic", "hello") >= 1
        got = {next_message(p)["type"], next_message(p)["type"]}
        assert got == {"message", "pmessage"}
    finally:
        p.close()
        rc.close()


@pytest.mark.timeout(timeout_for(3))
async def test_async_shard_subscriber_follows_a_failover(
    own_cluster: Cluster, transport: str
) -> None:
    arc = babushka.asyncio.RedisCluster(
        host=own_cluster.host, port=own_cluster.port, transport=transport, socket_timeout=5
    )
    channel = f"{{aroom-{transport}}}news"
    p = arc.pubsub(ignore_subscribe_messages=True)
    try:
        await p.ssubscribe(channel)
        assert await arc.spublish(channel, "first") == 1
        assert (await anext_message(p))["data"] == b"first"
        _, replica = own_cluster.synced_shard(arc.keyslot(channel))
        own_cluster.failover(replica)
        deadline = time.monotonic() + FOLLOW_SECONDS
        while time.monotonic() < deadline:
            try:
                await arc.spublish(channel, "after")
            except babushka.RedisError:
                await asyncio.sleep(0.1)
                continue
            message = await p.get_message(timeout=0.3)
            if message is not None and message["data"] == b"after":
                break
        else:
            raise AssertionError("no message after the failover")
    finally:
        await p.aclose()
        await arc.aclose()
