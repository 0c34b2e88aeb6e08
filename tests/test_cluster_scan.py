"""RedisCluster.scan_iter: one walk over every slot (babushka/_cluster_scan.py)
that returns every key at least once while slots move between primaries and
while a primary fails over, sync and async, on every transport; and
RedisCluster.scan as redis-py's cluster client gives it (a cursor per node).

The moving tests use a cluster of their own (they leave slots and roles
changed); each finds the nodes it needs in whatever state the tests before it
left the cluster. A key is written in every one of the 16384 slots, so a slot
the walk skipped shows as a missing key."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Callable, Iterator

import pytest

import babushka
import babushka.asyncio
from babushka import _core
from support.cluster import Cluster, timeout_for

SLOTS = 16384
#: Pages of this many keys: a primary's scan takes ~25 pages, so the changes
#: below land in the middle of a node's scan.
COUNT = 200


@functools.cache
def key_per_slot() -> tuple[str, ...]:
    """A key in each slot."""
    keys: dict[int, str] = {}
    n = 0
    while len(keys) < SLOTS:
        key = f"s:{n}"
        keys.setdefault(_core.keyslot(key.encode()), key)
        n += 1
    return tuple(keys[slot] for slot in range(SLOTS))


def fill(rc: babushka.RedisCluster) -> set[bytes]:
    # An earlier test's failover may still be settling: a node the client's
    # slot map names a primary can have been demoted since. The router sends
    # the FLUSHALL it refuses (READONLY) to the new primary, and the writes
    # below follow MOVED.
    assert rc.flushall() is True
    pipe = rc.pipeline()
    for key in key_per_slot():
        pipe.set(key, "v")
    assert all(pipe.execute())
    return {key.encode() for key in key_per_slot()}


@pytest.fixture(scope="module")
def own_cluster(server_kind: str) -> Iterator[Cluster]:
    started = Cluster.start(server_kind)
    yield started
    started.stop()


@pytest.fixture
def rc(cluster: Cluster, transport: str) -> Iterator[babushka.RedisCluster]:
    client = babushka.RedisCluster(
        host=cluster.host, port=cluster.port, transport=transport, socket_timeout=10
    )
    yield client
    client.close()


def test_scan_iter_returns_every_key_once_with_match_type_and_count(
    rc: babushka.RedisCluster,
) -> None:
    expected = fill(rc)
    seen = list(rc.scan_iter(count=500))
    # Nothing moved: each slot scanned once, so each key comes once.
    assert len(seen) == SLOTS and set(seen) == expected
    assert set(rc.scan_iter(match="s:1*")) == {k for k in expected if k.startswith(b"s:1")}
    hashes = {f"h:{n}".encode() for n in range(30)}
    for key in hashes:
        rc.hset(key, "f", "v")
    assert set(rc.scan_iter(_type="hash")) == hashes
    assert set(rc.scan_iter(match="h:*", _type="string")) == set()
    decoded = babushka.RedisCluster(
        host=rc.get_default_node().host, port=rc.get_default_node().port, decode_responses=True
    )
    try:
        assert set(decoded.scan_iter(match="h:*")) == {k.decode() for k in hashes}
    finally:
        decoded.close()


def test_scan_iter_refuses_bad_arguments(rc: babushka.RedisCluster) -> None:
    with pytest.raises(babushka.DataError, match="count"):
        list(rc.scan_iter(count="ten"))  # type: ignore[arg-type]
    with pytest.raises(babushka.DataError, match="_type"):
        list(rc.scan_iter(_type=5))  # type: ignore[arg-type]
    # target_nodes= walks those nodes' own SCAN (tests/test_cluster_api.py);
    # a name it does not know is refused before anything is sent.
    with pytest.raises(babushka.DataError, match="target_nodes"):
        rc.scan_iter(target_nodes="everywhere")


def test_scan_gives_a_cursor_per_primary(rc: babushka.RedisCluster) -> None:
    expected = fill(rc)
    cursors, keys = rc.scan(count=100)
    assert set(cursors) == {node.name for node in rc.get_primaries()}
    seen = set(keys)
    for name, cursor in cursors.items():
        node = rc.get_node(node_name=name)
        while cursor:
            page, keys = rc.scan(cursor, count=1000, target_nodes=node)
            seen.update(keys)
            cursor = page[name]
    assert seen == expected
    one, _ = rc.scan(target_nodes=rc.get_primaries()[0])
    assert list(one) == [rc.get_primaries()[0].name]


async def test_async_scan_iter_and_scan(cluster: Cluster, transport: str) -> None:
    sync = babushka.RedisCluster(host=cluster.host, port=cluster.port)
    expected = fill(sync)
    sync.close()
    arc = babushka.asyncio.RedisCluster(
        host=cluster.host, port=cluster.port, transport=transport, socket_timeout=10
    )
    try:
        seen = [key async for key in arc.scan_iter(count=500)]
        assert len(seen) == SLOTS and set(seen) == expected
        assert {k async for k in arc.scan_iter(match="s:2*")} == {
            k for k in expected if k.startswith(b"s:2")
        }
        cursors, keys = await arc.scan(count=10)
        assert set(cursors) == {node.name for node in arc.get_primaries()}
        assert len(keys) >= 3
    finally:
        await arc.aclose()


# -- the cluster changes during the walk ----------------------------------------


class Reshard:
    """Slots moved while the walk runs: called with the number of keys seen
    so far, it acts at set points. Between them it leaves slots of the node
    being scanned half-migrated (MIGRATING with part of their keys moved),
    moves slots from a node not scanned yet to the one scanned first and
    back, so a cursor per node would miss keys."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.done: set[int] = set()

    def __call__(self, seen: int) -> None:
        c = self.cluster
        if seen >= 2000 and 1 not in self.done:
            self.done.add(1)
            first = c.node_for_slot(0)
            # The other primary with the highest slots (earlier tests may
            # have given slot 16383 to the first one).
            last = max(
                (n for n in c.primaries() if n.port != first.port and c.slots_of(n)),
                key=lambda n: c.slots_of(n)[-1],
            )
            # The last node's top slots to the first one (being scanned).
            c.move_slots(c.slots_of(last)[-20:], last, first)
            # The first node's top slots start moving to the last one; half
            # of their keys go now, the rest later.
            self.leaving = (c.slots_of(first)[-60:-40], first, last)
            slots, source, target = self.leaving
            c.start_migration(slots, source, target)
            c.migrate_keys(slots[:10], source, target)
        elif seen >= 4000 and 2 not in self.done:
            self.done.add(2)
            slots, source, target = self.leaving
            self.cluster.migrate_keys(slots, source, target)
            self.cluster.finish_migration(slots, source, target)
        elif seen >= 8000 and 3 not in self.done:
            self.done.add(3)
            middle = c.node_for_slot(SLOTS // 2)
            first = c.node_for_slot(0)
            if middle.port != first.port:
                c.move_slots(c.slots_of(middle)[:20], middle, first)


class Failover:
    """A manual failover of the primary being scanned, then of another."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.done: set[int] = set()

    def __call__(self, seen: int) -> None:
        for point, slot in ((3000, 0), (9000, SLOTS - 1)):
            if seen >= point and point not in self.done:
                self.done.add(point)
                _, replica = self.cluster.synced_shard(slot)
                self.cluster.failover(replica)


CHANGES: dict[str, Callable[[Cluster], Callable[[int], None]]] = {
    "reshard": Reshard,
    "failover": Failover,
}


def moving_client(cluster: Cluster, transport: str) -> babushka.RedisCluster:
    return babushka.RedisCluster(
        host=cluster.host, port=cluster.port, transport=transport, socket_timeout=10
    )


#: The failover change waits on the cluster four times (two failovers, each
#: after its replica's resync); resharding waits less.
CHANGE_TIMEOUT = timeout_for(4)


@pytest.mark.timeout(CHANGE_TIMEOUT)
@pytest.mark.parametrize("change", sorted(CHANGES))
def test_scan_iter_sees_every_key_while_the_cluster_changes(
    own_cluster: Cluster, transport: str, change: str
) -> None:
    rc = moving_client(own_cluster, transport)
    try:
        expected = fill(rc)
        act = CHANGES[change](own_cluster)
        seen: set[bytes] = set()
        for key in rc.scan_iter(count=COUNT):
            seen.add(key)
            act(len(seen))
        assert len(act.done) >= 2, "the walk ended before the changes"  # type: ignore[attr-defined]
        assert seen == expected, sorted(expected - seen)[:10]
    finally:
        rc.close()


@pytest.mark.timeout(CHANGE_TIMEOUT)
@pytest.mark.parametrize("change", sorted(CHANGES))
async def test_async_scan_iter_sees_every_key_while_the_cluster_changes(
    own_cluster: Cluster, transport: str, change: str
) -> None:
    sync = moving_client(own_cluster, "managed")
    expected = fill(sync)
    sync.close()
    arc = babushka.asyncio.RedisCluster(
        host=own_cluster.host, port=own_cluster.port, transport=transport, socket_timeout=10
    )
    try:
        act = CHANGES[change](own_cluster)
        seen: set[bytes] = set()
        keys: AsyncIterator[bytes] = arc.scan_iter(count=COUNT)
        async for key in keys:
            seen.add(key)
            act(len(seen))
        assert len(act.done) >= 2, "the walk ended before the changes"  # type: ignore[attr-defined]
        assert seen == expected, sorted(expected - seen)[:10]
    finally:
        await arc.aclose()
