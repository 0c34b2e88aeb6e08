"""RedisCluster against a real cluster (3 primaries, 3 replicas): routing by
slot, multi-key commands split by slot, keyless commands fanned out and
combined, pipelines, target_nodes, and following the cluster as it changes
(a slot migrated: ASK then MOVED; a manual failover under load)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

import babushka
from babushka.cluster import ALL_NODES, PRIMARIES, REPLICAS, ClusterNode
from support.cluster import Cluster, command

#: How often the core reads a cluster's slot map unprompted (cluster/mod.rs).
REFRESH_PERIOD = 10


@pytest.fixture
def rc(cluster: Cluster, transport: str) -> Iterator[babushka.RedisCluster]:
    client = babushka.RedisCluster(
        host=cluster.host, port=cluster.port, transport=transport, socket_timeout=10
    )
    client.flushall()
    yield client
    client.close()


def keys_in_different_slots(rc: babushka.RedisCluster, count: int) -> list[str]:
    """Keys whose slots are served by different primaries where possible."""
    keys, slots = [], set()
    for n in range(10_000):
        key = f"key:{n}"
        slot = rc.keyslot(key)
        if slot // 5462 not in slots:
            keys.append(key)
            slots.add(slot // 5462)
        if len(keys) == count:
            return keys
    raise AssertionError("no such keys")


def test_nodes_and_slots(rc: babushka.RedisCluster, cluster: Cluster) -> None:
    assert len(rc.get_primaries()) == 3
    assert len(rc.get_replicas()) == 3
    assert len(rc.get_nodes()) == 6
    assert rc.get_default_node() in rc.get_primaries()
    node = rc.get_node(cluster.host, cluster.port)
    assert node is not None and node.port == cluster.port
    assert rc.get_node("127.0.0.1", 1) is None
    assert rc.keyslot("foo") == 12182
    assert rc.keyslot("{foo}.bar") == 12182
    assert rc.keyslot(b"foo") == int(
        command(cluster.host, cluster.port, "CLUSTER", "KEYSLOT", "foo")
    )


def test_commands_go_to_their_keys_node(rc: babushka.RedisCluster, cluster: Cluster) -> None:
    keys = keys_in_different_slots(rc, 3)
    for key in keys:
        assert rc.set(key, key) is True
    for key in keys:
        assert rc.get(key) == key.encode()
        # The key is on the node that serves its slot, no other.
        owner = cluster.node_for_slot(rc.keyslot(key))
        assert command(owner.host, owner.port, "GET", key).strip() == key


def test_multi_key_commands_split_by_slot(rc: babushka.RedisCluster) -> None:
    keys = keys_in_different_slots(rc, 3)
    for key in keys:
        rc.set(key, "v" + key)
    assert rc.mget(keys[2], "missing", keys[0], keys[1]) == [
        b"v" + keys[2].encode(),
        None,
        b"v" + keys[0].encode(),
        b"v" + keys[1].encode(),
    ]
    assert rc.mget_nonatomic(keys) == [b"v" + k.encode() for k in keys]
    assert rc.exists(*keys, "missing") == 3
    assert rc.touch(*keys) == 3
    assert rc.delete(keys[0], "missing", keys[1]) == 2
    assert rc.unlink(keys[2]) == 1
    assert rc.exists(*keys) == 0


def test_mset_across_slots_is_refused_naming_the_keys(rc: babushka.RedisCluster) -> None:
    a, b = keys_in_different_slots(rc, 2)
    with pytest.raises(babushka.RedisClusterException) as raised:
        rc.mset({a: 1, b: 2})
    assert a in str(raised.value) and b in str(raised.value)
    assert rc.exists(a, b) == 0  # nothing was sent
    # One slot: fine.
    assert rc.mset({"{t}a": 1, "{t}b": 2}) is True
    assert rc.mset_nonatomic({a: 1, b: 2}) == [True, True]
    assert rc.mget(a, b) == [b"1", b"2"]


def test_cross_slot_commands_get_the_servers_crossslot(rc: babushka.RedisCluster) -> None:
    a, b = keys_in_different_slots(rc, 2)
    with pytest.raises(babushka.ClusterCrossSlotError, match="hash to the same slot"):
        rc.sunion(a, b)
    assert isinstance(babushka.ClusterCrossSlotError("x"), babushka.ResponseError)


def test_keyless_commands_are_combined(rc: babushka.RedisCluster) -> None:
    keys = keys_in_different_slots(rc, 3)
    for key in keys:
        rc.set(key, 1)
    assert rc.dbsize() == 3
    assert sorted(rc.keys("*")) == sorted(k.encode() for k in keys)
    assert rc.ping() is True
    assert rc.flushall() is True
    assert rc.dbsize() == 0
    assert rc.keys("*") == []


def test_target_nodes(rc: babushka.RedisCluster) -> None:
    keys = keys_in_different_slots(rc, 3)
    for key in keys:
        rc.set(key, 1)
    per_node = [rc.dbsize(target_nodes=node) for node in rc.get_primaries()]
    assert sorted(per_node) == [1, 1, 1]
    assert rc.dbsize(target_nodes=PRIMARIES) == 3
    # Replicas hold the same keys (once replicated: give them a moment).
    deadline = time.monotonic() + 10
    while rc.dbsize(target_nodes=REPLICAS) != 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert rc.dbsize(target_nodes=REPLICAS) == 3
    assert rc.ping(target_nodes=ALL_NODES) is True
    info = rc.info(target_nodes=rc.get_primaries()[0])
    assert info["role"] == "master"
    replies = rc.info(target_nodes=PRIMARIES)
    assert isinstance(replies, dict) and len(replies) == 3
    assert rc.execute_command("DBSIZE", target_nodes=PRIMARIES) == 3
    with pytest.raises(babushka.DataError, match="target_nodes"):
        rc.dbsize(target_nodes="everyone")


def test_pipeline_across_slots_keeps_order(rc: babushka.RedisCluster) -> None:
    keys = keys_in_different_slots(rc, 3)
    with rc.pipeline() as pipe:
        for n, key in enumerate(keys):
            pipe.set(key, n)
        pipe.mget(keys)
        pipe.lpush(keys[0], 1)  # WRONGTYPE, in its place
        for key in keys:
            pipe.get(key)
        results = pipe.execute(raise_on_error=False)
    assert results[:3] == [True, True, True]
    assert results[3] == [b"0", b"1", b"2"]
    assert isinstance(results[4], babushka.ResponseError)
    assert results[5:] == [b"0", b"1", b"2"]


def test_transactions_within_one_slot(rc: babushka.RedisCluster) -> None:
    with rc.pipeline(transaction=True) as pipe:
        pipe.set("{user}:a", 1).incr("{user}:a").get("{user}:a")
        assert pipe.execute() == [True, 2, b"2"]
    a, b = keys_in_different_slots(rc, 2)
    with rc.pipeline(transaction=True) as pipe:
        pipe.set(a, 1).set(b, 2)
        # redis-py's class (a RedisClusterException), raised before anything is sent.
        with pytest.raises(babushka.CrossSlotTransactionError, match="same slot"):
            pipe.execute()
    assert rc.exists(a, b) == 0
    with rc.pipeline(transaction=False) as pipe:
        # Without MULTI/EXEC the commands go to their nodes.
        assert pipe.set(a, 1).set(b, 2).execute() == [True, True]


def test_bad_arguments(cluster: Cluster) -> None:
    with pytest.raises(babushka.RedisClusterException, match="db"):
        babushka.RedisCluster(host=cluster.host, port=cluster.port, db=1)
    with pytest.raises(babushka.RedisClusterException, match="at least one node"):
        babushka.RedisCluster()
    with pytest.raises(babushka.DataError, match="startup_nodes"):
        babushka.RedisCluster(startup_nodes=[("127.0.0.1", cluster.port)])  # type: ignore[list-item]


def test_startup_nodes_skip_the_unreachable(cluster: Cluster) -> None:
    dead = ClusterNode("127.0.0.1", 1)
    client = babushka.RedisCluster(
        startup_nodes=[dead, ClusterNode(cluster.host, cluster.port)], socket_connect_timeout=2
    )
    try:
        assert client.set("k", 1) is True
    finally:
        client.close()


def test_no_node_reachable_raises_in_the_constructor() -> None:
    with pytest.raises(babushka.ConnectionError):
        babushka.RedisCluster(host="127.0.0.1", port=1, socket_connect_timeout=1)


def test_read_from_replicas(cluster: Cluster, transport: str) -> None:
    client = babushka.RedisCluster(
        host=cluster.host,
        port=cluster.port,
        read_from_replicas=True,
        socket_timeout=10,
        transport=transport,
    )
    try:
        client.delete("rr", "counter")
        assert client.set("rr", "v") is True
        # Replicated before the reads (WAIT on the key's primary).
        primary = cluster.node_for_slot(client.keyslot("rr"))
        node = client.get_node(primary.host, primary.port)
        assert client.execute_command("WAIT", 1, 5000, target_nodes=node) == 1
        # In turn from the primary and its replica (READONLY): every read
        # answered there, none redirected, all the same value.
        assert {client.get("rr") for _ in range(20)} == {b"v"}
        # Writes still go to the primary.
        assert client.incr("counter") == 1
    finally:
        client.close()


def test_from_url_blocking_commands_and_decoding(cluster: Cluster, transport: str) -> None:
    client = babushka.RedisCluster.from_url(
        f"redis://{cluster.host}:{cluster.port}/0",
        decode_responses=True,
        socket_timeout=5,
        transport=transport,
    )
    try:
        assert client.rpush("queue", "job") == 1
        # A blocking command runs on a dedicated connection to its key's node.
        assert client.blpop(["queue"], timeout=1) == ("queue", "job")
        assert client.blpop(["queue"], timeout=0.2) is None
        assert client.get("missing") is None
    finally:
        client.close()


def test_watch_needs_a_transactional_pipeline(rc: babushka.RedisCluster) -> None:
    # As redis-py's: a cluster pipeline is not transactional by default, and
    # then has no WATCH session (test_cluster_watch.py has those).
    with rc.pipeline() as pipe:
        with pytest.raises(babushka.RedisClusterException, match="transactional context"):
            pipe.watch("k")
        with pytest.raises(babushka.RedisClusterException, match="transactional context"):
            pipe.multi()
        with pytest.raises(babushka.RedisClusterException, match="transactional context"):
            pipe.unwatch()


@pytest.mark.any_server
def test_a_closed_client_opens_no_connection_by_itself(cluster: Cluster) -> None:
    """close() leaves the client usable (redis-py's), but until its next
    command it no longer reads the slot map every 10 s: a closed client
    that is still referenced opens no connection to any node by itself.
    (The core's router alone, the same on every transport and server; it
    waits out the 10 s period.)"""
    name = "closed-but-alive"

    def connections() -> int:
        return sum(
            command(node.host, node.port, "CLIENT", "LIST").count(f"name={name} ")
            for node in cluster.nodes
        )

    rc = babushka.RedisCluster(host=cluster.host, port=cluster.port, client_name=name)
    try:
        assert rc.dbsize() >= 0  # a connection to every primary
        assert connections() >= 3
        rc.close()
        deadline = time.monotonic() + 10
        while connections():
            assert time.monotonic() < deadline, "close() left connections open"
            time.sleep(0.05)
        time.sleep(REFRESH_PERIOD + 2)
        assert connections() == 0
        # Usable again; the periodic read resumes with it.
        assert rc.dbsize() >= 0
        assert connections() >= 3
    finally:
        rc.close()
