"""RedisCluster following a cluster that changes under it: a slot migrated
by hand (ASK while it moves, MOVED once it has), a manual failover under
steady load (no acknowledged write lost, the client on the new primary
within seconds), and kill -9 of a primary.

The tests share a cluster of their own per server kind (not the one the
other cluster tests use): each finds the slot, primary and replica it needs
in whatever state the tests before it left the cluster. Each kill takes one
replica away for good, so a cluster serves at most 3 of them (one per
transport)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

import babushka
from support.cluster import SETTLE_SECONDS, Cluster, command, timeout_for


@pytest.fixture(scope="module")
def own_cluster(server_kind: str) -> Iterator[Cluster]:
    started = Cluster.start(server_kind)
    yield started
    started.stop()


def key_with_a_replica(rc: babushka.RedisCluster, cluster: Cluster, prefix: str) -> str:
    """A key whose primary has a live replica, in sync (waiting for one: a
    replica demoted by an earlier test resyncs first)."""
    primary, _ = cluster.synced_shard()
    slots = set(cluster.slots_of(primary))
    return next(key for n in range(100_000) if rc.keyslot(key := f"{prefix}:{n}") in slots)


def test_ask_during_a_migration_and_moved_after_it(own_cluster: Cluster, transport: str) -> None:
    rc = babushka.RedisCluster(
        host=own_cluster.host, port=own_cluster.port, transport=transport, socket_timeout=10
    )
    # A slot of its own per transport: the tests share the cluster.
    tag = f"{{mig-{transport}}}"
    try:
        slot = rc.keyslot(tag)
        source = own_cluster.node_for_slot(slot)
        target = next(n for n in own_cluster.primaries() if n.port != source.port)
        source_id, target_id = own_cluster.node_id(source), own_cluster.node_id(target)
        assert rc.set(tag + "old", "1") is True

        command(target.host, target.port, "CLUSTER", "SETSLOT", str(slot), "IMPORTING", source_id)
        command(source.host, source.port, "CLUSTER", "SETSLOT", str(slot), "MIGRATING", target_id)
        # A key the source no longer has is asked of the target (ASK, then
        # ASKING + the command there); one it still has is served at home.
        assert rc.set(tag + "new", "2") is True
        assert rc.get(tag + "new") == b"2"
        assert rc.get(tag + "old") == b"1"
        # The source has not got it: asked for it, it sends the asker on.
        assert command(source.host, source.port, "GET", tag + "new").startswith("ASK ")

        command(
            source.host,
            source.port,
            "MIGRATE",
            target.host,
            str(target.port),
            "",
            "0",
            "5000",
            "KEYS",
            tag + "old",
        )
        for node in (target, source):
            command(node.host, node.port, "CLUSTER", "SETSLOT", str(slot), "NODE", target_id)
        # The source now answers MOVED: followed, and the map learns it.
        assert rc.get(tag + "old") == b"1"
        assert rc.mget(tag + "old", tag + "new") == [b"1", b"2"]
        assert rc.incr(tag + "count") == 1
        assert command(target.host, target.port, "GET", tag + "count").strip() == "1"
    finally:
        rc.close()


@pytest.mark.timeout(timeout_for(3))
def test_manual_failover_under_load_loses_no_acknowledged_write(
    own_cluster: Cluster, transport: str
) -> None:
    rc = babushka.RedisCluster(
        host=own_cluster.host, port=own_cluster.port, transport=transport, socket_timeout=5
    )
    key = key_with_a_replica(rc, own_cluster, f"failover-{transport}")
    old_primary = own_cluster.node_for_slot(rc.keyslot(key))
    old_id = own_cluster.node_id(old_primary)
    replica = own_cluster.replica_of(old_primary)
    assert replica is not None
    acknowledged = 0
    errors: list[BaseException] = []
    stop = threading.Event()

    def write() -> None:
        nonlocal acknowledged
        while not stop.is_set():
            try:
                acknowledged = rc.incr(key)
            except babushka.RedisError as error:  # typed, never anything else
                errors.append(error)
                time.sleep(0.01)

    writer = threading.Thread(target=write)
    writer.start()
    try:
        time.sleep(0.5)
        before = acknowledged
        # Asked again if the primaries did not vote in time (they vote for a
        # shard once per twice the node timeout: an earlier test's failover
        # of the same shard can still block it).
        own_cluster.failover(replica)
        switched = acknowledged
        # Soon the client writes to the new primary.
        deadline = time.monotonic() + SETTLE_SECONDS
        while acknowledged < switched + 100 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        writer.join(timeout=30)
    try:
        assert acknowledged > switched + 100 > before, (before, switched, acknowledged, errors[:3])
        # Every acknowledged increment is on the new primary.
        on_new = int(command(replica.host, replica.port, "GET", key).strip())
        assert on_new == acknowledged
        assert own_cluster.node_id(own_cluster.node_for_slot(rc.keyslot(key))) != old_id
        assert rc.get(key) == str(acknowledged).encode()
    finally:
        rc.close()


@pytest.mark.timeout(timeout_for(2))
def test_kill_9_of_a_primary(own_cluster: Cluster, transport: str) -> None:
    """Typed errors while the replica has not taken over yet, each within
    the timeout (never a hang), then the client recovers by itself."""
    timeout = 2.0
    rc = babushka.RedisCluster(
        host=own_cluster.host,
        port=own_cluster.port,
        transport=transport,
        socket_timeout=timeout,
        socket_connect_timeout=1,
    )
    key = key_with_a_replica(rc, own_cluster, f"killed-{transport}")
    primary = own_cluster.node_for_slot(rc.keyslot(key))
    replica = own_cluster.replica_of(primary)
    assert replica is not None
    try:
        assert rc.set(key, 10) is True
        node = rc.get_node(primary.host, primary.port)
        assert rc.execute_command("WAIT", 1, 5000, target_nodes=node) == 1
        primary.kill()
        errors: list[str] = []
        recovered = None
        started = time.monotonic()
        while time.monotonic() - started < SETTLE_SECONDS:
            began = time.monotonic()
            try:
                recovered = rc.incr(key)
                break
            except babushka.RedisError as error:  # typed, never anything else
                errors.append(type(error).__name__)
            finally:
                # Never a hang past the timeout (a wide margin: a busy machine).
                assert time.monotonic() - began < timeout + 3
            time.sleep(0.05)
        assert recovered == 11, errors[-3:]
        assert own_cluster.role(replica) == "master"
        assert set(errors) <= {"ConnectionError", "TimeoutError", "ClusterDownError"}, errors
        # Recovered for good: the next requests need nothing from the caller.
        assert [rc.incr(key) for _ in range(3)] == [12, 13, 14]
    finally:
        rc.close()


def test_a_watch_session_whose_slot_moves(own_cluster: Cluster, transport: str) -> None:
    """As redis-py: a slot given away while a pipeline watches its keys ends
    the session with WatchError (the watch stays behind on the old node),
    its connection closed; transaction() then starts over on the new node,
    and a WATCH answered MOVED is sent again there."""
    rc = babushka.RedisCluster(
        host=own_cluster.host, port=own_cluster.port, transport=transport, socket_timeout=10
    )
    tag = f"{{watch-moves-{transport}}}"
    key = tag + "n"

    def move_away() -> None:
        source = own_cluster.node_for_slot(slot)
        target = next(n for n in own_cluster.primaries() if n.port != source.port)
        own_cluster.move_slots([slot], source, target)

    try:
        slot = rc.keyslot(key)
        assert rc.set(key, 1) is True
        with rc.pipeline(transaction=True) as pipe:
            pipe.watch(key)
            assert pipe.get(key) == b"1"
            move_away()
            pipe.multi()
            pipe.incr(key)
            with pytest.raises(babushka.WatchError, match="Slot rebalancing"):
                pipe.execute()
        assert rc.get(key) == b"1"

        calls = []

        def bump(pipe: babushka.pipeline.Pipeline) -> None:
            calls.append(int(pipe.get(key)))
            if len(calls) == 1:
                move_away()
            pipe.multi()
            pipe.incr(key)

        assert rc.transaction(bump, key) == [2]
        assert calls == [1, 1]
        assert rc.get(key) == b"2"

        # The client's map still names the old node (nothing else told it):
        # the WATCH is answered MOVED there, and sent again to the new one.
        move_away()
        with rc.pipeline(transaction=True) as pipe:
            assert pipe.watch(key) is True
            pipe.multi()
            pipe.incr(key)
            assert pipe.execute() == [3]
    finally:
        rc.close()
