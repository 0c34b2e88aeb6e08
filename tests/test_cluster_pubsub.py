"""Pub/sub on a RedisCluster. A subscriber holds its shard channels on a
connection per node serving at least one of them (redis-py's cluster
``PubSub`` does too): channels of several slots on one ``PubSub``, their
messages in one inbox. It follows the slots: when a CLUSTER FAILOVER makes
a replica the primary and when a slot moves to another primary (the node
sends ``sunsubscribe`` unasked), the channels are subscribed again on the
new node and a connection left with nothing closes, so messages published
afterwards arrive and the subscriber keeps one connection per serving node
(counted with CLIENT LIST on every node). Classic channels work from any
node. Every transport, sync and async.

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
from support.cluster import SETTLE_SECONDS, Cluster, command, timeout_for

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


def arrives(
    rc: babushka.RedisCluster, p: Any, channel: str, tag: str, seen: set[str] | None = None
) -> bytes:
    """Publishes ``tag-N`` until the subscriber gets one (a publish right
    after a change may reach the old node, or come before the subscriber
    is back); returns what arrived. The types of the other messages read
    meanwhile are added to ``seen``."""
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
            if seen is not None:
                seen.add(message["type"])
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

        p.ssubscribe(f"{{room-{transport}}}sports")
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


def channel_per_primary(rc: Any, cluster: Cluster, prefix: str) -> dict[int, str]:
    """A shard channel for each primary (by port): names whose slots
    different primaries serve."""
    owner = {slot: node.port for node in cluster.primaries() for slot in cluster.slots_of(node)}
    chosen: dict[int, str] = {}
    for n in range(10_000):
        name = f"{prefix}-{n}"
        chosen.setdefault(owner[rc.keyslot(name)], name)
        if len(chosen) == len(set(owner.values())):
            return chosen
    raise AssertionError("no channel for every primary")


def shard_connections(cluster: Cluster, client_name: str) -> dict[int, int]:
    """Per node (port), the connections named ``client_name`` that hold a
    shard channel or last ran a shard (un)subscribe: a subscriber's."""
    counts: dict[int, int] = {}
    for node in cluster.nodes:
        if node.process.poll() is not None:
            continue
        listing = command(node.host, node.port, "CLIENT", "LIST")
        for line in listing.splitlines():
            fields = dict(field.partition("=")[::2] for field in line.split())
            if fields.get("name") != client_name:
                continue
            if int(fields.get("ssub", "0")) > 0 or fields.get("cmd") in (
                "ssubscribe",
                "sunsubscribe",
            ):
                counts[node.port] = counts.get(node.port, 0) + 1
    return counts


def settles(expected: Any, actual: Any, timeout: float = FOLLOW_SECONDS) -> None:
    """Waits until ``actual()`` equals ``expected()`` (both read again each
    time: the cluster may still be changing)."""
    deadline = time.monotonic() + timeout
    while True:
        want, got = expected(), actual()
        if want == got:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{got} never became {want}")
        time.sleep(0.1)


def serving(cluster: Cluster, rc: Any, channels: list[str]) -> dict[int, int]:
    """One connection per primary serving one of ``channels``."""
    return {cluster.node_for_slot(rc.keyslot(channel)).port: 1 for channel in channels}


def subscribers(cluster: Cluster, rc: Any, channels: list[str]) -> list[int]:
    """``PUBSUB SHARDNUMSUB`` of each channel on the node serving it (the
    client's ``pubsub_shardnumsub`` asks the default node only, as
    redis-py's does)."""
    counts = []
    for channel in channels:
        node = cluster.node_for_slot(rc.keyslot(channel))
        reply = command(node.host, node.port, "PUBSUB", "SHARDNUMSUB", channel).split()
        counts.append(int(reply[1]))
    return counts


def drain(p: Any, seconds: float = 0.3) -> list[dict[str, Any]]:
    """Every message that arrives within ``seconds`` of the last one."""
    got = []
    while (message := p.get_message(timeout=seconds)) is not None:
        got.append(dict(message))
    return got


def test_shard_channels_of_several_slots_on_one_pubsub(
    own_cluster: Cluster, transport: str
) -> None:
    name = f"multi-{transport}"
    rc = babushka.RedisCluster(
        host=own_cluster.host,
        port=own_cluster.port,
        transport=transport,
        socket_timeout=5,
        client_name=name,
    )
    by_port = channel_per_primary(rc, own_cluster, f"multi-{transport}")
    channels = sorted(by_port.values())
    assert len(channels) >= 3
    p = rc.pubsub()
    try:
        p.ssubscribe(*channels)
        # One confirmation per channel, as redis-py reports them.
        confirmations = drain(p)
        assert sorted(m["channel"] for m in confirmations) == [c.encode() for c in channels]
        assert {m["type"] for m in confirmations} == {"ssubscribe"}
        assert shard_connections(own_cluster, name) == serving(own_cluster, rc, channels)
        for channel in channels:
            assert rc.spublish(channel, f"to-{channel}") == 1
        # One node's message first (target_node): the others, read
        # meanwhile, come next, in their order.
        last = channels[-1]
        node = next(n for n in rc.get_nodes() if by_port.get(n.port) == last)
        message = p.get_sharded_message(target_node=node, timeout=5)
        assert message is not None
        assert (message["channel"], message["data"]) == (last.encode(), f"to-{last}".encode())
        got = [(m["channel"], m["data"]) for m in drain(p) if m["type"] == "smessage"]
        assert got == [(c.encode(), f"to-{c}".encode()) for c in channels[:-1]]
        with pytest.raises(babushka.DataError, match="target_node"):
            p.get_sharded_message(target_node=node.name)

        # One channel dropped: its node's connection closes, the others stay.
        gone, *kept = channels
        p.sunsubscribe(gone)
        message = next_message(p)
        assert (message["type"], message["channel"]) == ("sunsubscribe", gone.encode())
        assert gone.encode() not in p.shard_channels
        settles(
            lambda: serving(own_cluster, rc, kept), lambda: shard_connections(own_cluster, name)
        )
        assert rc.spublish(gone, "nobody") == 0
        assert rc.spublish(kept[0], "still") == 1
        assert next_message(p)["data"] == b"still"

        # sunsubscribe() drops every shard channel on every node.
        p.sunsubscribe()
        dropped = drain(p)
        assert sorted(m["channel"] for m in dropped) == [c.encode() for c in kept]
        assert {m["type"] for m in dropped} == {"sunsubscribe"}
        assert p.shard_channels == {}
        assert not p.subscribed
        settles(dict, lambda: shard_connections(own_cluster, name))
        assert subscribers(own_cluster, rc, channels) == [0] * len(channels)
    finally:
        p.close()
        rc.close()


@pytest.mark.timeout(timeout_for(5))
def test_several_slots_follow_a_failover_and_a_moved_slot(
    own_cluster: Cluster, transport: str
) -> None:
    name = f"follow-{transport}"
    rc = babushka.RedisCluster(
        host=own_cluster.host,
        port=own_cluster.port,
        transport=transport,
        socket_timeout=5,
        client_name=name,
    )
    channels = sorted(channel_per_primary(rc, own_cluster, f"follow-{transport}").values())
    p = rc.pubsub()
    try:
        p.ssubscribe(*channels)
        assert [m["type"] for m in drain(p)] == ["ssubscribe"] * len(channels)
        seen: set[str] = set()
        failed_over, moved, *_ = channels
        _, replica = own_cluster.synced_shard(rc.keyslot(failed_over))
        own_cluster.failover(replica)
        for channel in channels:
            arrives(rc, p, channel, f"failover-{channel}", seen)

        slot = rc.keyslot(moved)
        source, target = other_primary(own_cluster, slot)
        own_cluster.move_slots([slot], source, target)
        for channel in channels:
            arrives(rc, p, channel, f"move-{channel}", seen)
        # The moved slot's channel now shares its node's connection.
        settles(
            lambda: serving(own_cluster, rc, channels),
            lambda: shard_connections(own_cluster, name),
        )
        assert subscribers(own_cluster, rc, channels) == [1] * len(channels)
        # Nothing but published messages and the notice that the channels
        # hold again reached the user: no stray sunsubscribe of the slots
        # that left their nodes, no confirmation of their resubscription.
        seen.update(m["type"] for m in drain(p))
        assert seen <= {"smessage", "reconnected"}, seen
        assert "reconnected" in seen
    finally:
        p.close()
        rc.close()


async def test_async_shard_channels_of_several_slots(own_cluster: Cluster, transport: str) -> None:
    arc = babushka.asyncio.RedisCluster(
        host=own_cluster.host, port=own_cluster.port, transport=transport, socket_timeout=5
    )
    await arc.initialize()
    by_port = channel_per_primary(arc, own_cluster, f"amulti-{transport}")
    channels = sorted(by_port.values())
    p = arc.pubsub(ignore_subscribe_messages=True)
    try:
        await p.ssubscribe(*channels)
        for channel in channels:
            assert await arc.spublish(channel, f"to-{channel}") == 1
        last = channels[-1]
        node = next(n for n in arc.get_nodes() if by_port.get(n.port) == last)
        # The confirmations come first (each read of one is ignored: None).
        first = None
        deadline = time.monotonic() + 5
        while first is None and time.monotonic() < deadline:
            first = await p.get_sharded_message(target_node=node, timeout=0.2)
        got = [first]
        for _ in channels[:-1]:
            got.append(await anext_message(p))
        assert [(m["channel"], m["data"]) for m in got if m] == [
            (c.encode(), f"to-{c}".encode()) for c in [last, *channels[:-1]]
        ]
        await p.sunsubscribe()
        # Each confirmation read (ignored) takes its channel out.
        deadline = time.monotonic() + 5
        while p.shard_channels and time.monotonic() < deadline:
            assert await p.get_message(timeout=0.1) is None
        assert p.shard_channels == {}
        assert subscribers(own_cluster, arc, channels) == [0] * len(channels)
    finally:
        await p.aclose()
        await arc.aclose()


def test_target_node_is_for_a_cluster_pubsub() -> None:
    """Refused before anything is sent (no server needed)."""
    p = babushka.Redis(port=1).pubsub()
    with pytest.raises(babushka.DataError, match="cluster"):
        p.get_sharded_message(target_node=babushka.cluster.ClusterNode("127.0.0.1", 1))
