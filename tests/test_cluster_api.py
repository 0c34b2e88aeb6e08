"""RedisCluster's redis-py API beyond routing: the CLUSTER commands (each sent
to the node redis-py sends it to, replies shaped as redis-py shapes them),
get_node_from_key, target_nodes on the server commands, and the pipeline
arguments a cluster refuses. Checked against the shared real cluster and
what its nodes say through redis-cli, sync and asyncio, every transport."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

import babushka
import babushka.asyncio
from babushka.cluster import ALL_NODES, PRIMARIES, REPLICA, REPLICAS, ClusterNode
from support.cluster import Cluster, command


@pytest.fixture
def rc(cluster: Cluster, transport: str) -> Iterator[babushka.RedisCluster]:
    client = babushka.RedisCluster(
        host=cluster.host, port=cluster.port, transport=transport, socket_timeout=10
    )
    client.flushall()
    yield client
    client.close()


@pytest.fixture
async def arc(cluster: Cluster, transport: str) -> AsyncIterator[babushka.asyncio.RedisCluster]:
    client = babushka.asyncio.RedisCluster(
        host=cluster.host, port=cluster.port, transport=transport, socket_timeout=10
    )
    await client.initialize()  # as redis-py's, the asyncio client reads the map on demand
    await client.flushall()
    yield client
    await client.aclose()


def cli(node: ClusterNode, *args: str) -> str:
    return command(node.host, node.port, *args).strip()


def test_cluster_myid_is_the_nodes_own(rc: babushka.RedisCluster) -> None:
    node = rc.get_primaries()[1]
    assert rc.cluster_myid(node) == cli(node, "CLUSTER", "MYID").encode()
    ids = rc.cluster_myid(rc.get_primaries())
    assert ids == {n.name: cli(n, "CLUSTER", "MYID").encode() for n in rc.get_primaries()}
    with pytest.raises(babushka.DataError, match="target_node"):
        rc.cluster_myid(None)


def test_cluster_nodes_and_slots_agree_with_the_slot_map(rc: babushka.RedisCluster) -> None:
    nodes = rc.cluster_nodes()
    assert set(nodes) == {node.name for node in rc.get_nodes()}
    for name, details in nodes.items():
        assert details["connected"] is True
        assert ("master" in details["flags"]) == (rc.get_node(node_name=name) in rc.get_primaries())
    served = sum(int(end) - int(start) + 1 for d in nodes.values() for start, end in d["slots"])
    assert served == 16384
    slots = rc.cluster_slots()
    assert sum(end - start + 1 for start, end in slots) == 16384
    for (start, _end), owners in slots.items():
        host, port = owners["primary"]
        assert rc._slot_node(start) == ClusterNode(host, port)
        (replica,) = owners["replicas"]
        assert rc._slot_node(start, replica=True) == ClusterNode(*replica)


def test_cluster_info_shards_and_replicas(rc: babushka.RedisCluster) -> None:
    info = rc.cluster_info()
    assert info["cluster_state"] == "ok" and info["cluster_slots_assigned"] == "16384"
    everywhere = rc.cluster_info(target_nodes=ALL_NODES)
    assert set(everywhere) == {node.name for node in rc.get_nodes()}
    shards = rc.cluster_shards()
    assert len(shards) == 3
    assert all(len(shard["nodes"]) == 2 for shard in shards)
    primary = rc.get_primaries()[0]
    replicas = rc.cluster_replicas(rc.cluster_myid(primary))
    assert len(replicas) == 1
    (details,) = replicas.values()
    assert details["master_id"] == rc.cluster_myid(primary).decode()
    assert rc.cluster_count_failure_report(rc.cluster_myid(primary)) == 0
    assert isinstance(rc.cluster_links(primary), list)


def test_slot_commands_go_to_the_slots_node(rc: babushka.RedisCluster) -> None:
    rc.set("{user}:1", "a")
    rc.set("{user}:2", "b")
    slot = rc.keyslot("{user}")
    assert rc.cluster_keyslot("{user}:1") == slot
    assert rc.cluster_countkeysinslot(slot) == 2
    assert sorted(rc.cluster_get_keys_in_slot(slot, 10)) == ["{user}:1", "{user}:2"]
    assert rc.cluster_setslot_stable(slot) is True
    with pytest.raises(babushka.DataError, match="slot_id"):
        rc.cluster_countkeysinslot("12")  # type: ignore[arg-type]
    with pytest.raises(babushka.DataError, match="slot"):
        rc.cluster_countkeysinslot(16384)


def test_get_node_from_key(rc: babushka.RedisCluster, cluster: Cluster) -> None:
    key = "user:7"
    primary = rc.get_node_from_key(key)
    assert primary is not None and primary.server_type == "primary"
    assert rc.cluster_countkeysinslot(rc.keyslot(key)) == 0
    rc.set(key, "x")
    # The key lives on that node: its own COUNTKEYSINSLOT says so.
    assert cli(primary, "CLUSTER", "COUNTKEYSINSLOT", str(rc.keyslot(key))) == "1"
    replica = rc.get_node_from_key(key, replica=True)
    assert replica is not None and replica.server_type == REPLICA
    server = next(node for node in cluster.nodes if node.port == primary.port)
    follower = cluster.replica_of(server)
    assert follower is not None and follower.port == replica.port
    with pytest.raises(babushka.DataError, match="replica"):
        rc.get_node_from_key(key, replica="yes")  # type: ignore[arg-type]


def test_administration_arguments_are_checked_before_sending(rc: babushka.RedisCluster) -> None:
    node = rc.get_replicas()[0]
    with pytest.raises(babushka.RedisError, match="Invalid option"):
        rc.cluster_failover(node, "SOON")
    with pytest.raises(babushka.RedisError, match="cluster_setslot_stable"):
        rc.cluster_setslot(node, "id", 1, "stable")
    with pytest.raises(babushka.RedisError, match="Invalid slot state"):
        rc.cluster_setslot(node, "id", 1, "floating")
    for refused in (rc.slaveof, rc.replicaof, rc.swapdb):
        with pytest.raises(babushka.RedisClusterException, match="not supported in cluster"):
            refused()
    with pytest.raises(NotImplementedError):
        rc.cluster_flushslots()
    # A server error is the server's: addslots of slots already served.
    with pytest.raises(babushka.ResponseError):
        rc.cluster_addslots(rc.get_primaries()[0], 0)


def test_server_commands_take_target_nodes(rc: babushka.RedisCluster) -> None:
    infos = rc.client_info(target_nodes=PRIMARIES)
    assert set(infos) == {node.name for node in rc.get_primaries()}
    node = rc.get_primaries()[2]
    assert rc.client_id(target_nodes=node) == rc.client_info(target_nodes=node)["id"]
    assert rc.slowlog_reset(target_nodes=ALL_NODES) is True
    assert rc.pubsub_numpat(target_nodes=node) == 0
    assert rc.memory_stats(target_nodes=node)["keys.count"] == 0


def test_several_nodes_replies_are_combined_as_redis_py_does(rc: babushka.RedisCluster) -> None:
    subscriber = rc.pubsub()
    subscriber.subscribe("news", "sport")
    subscriber.psubscribe("n*")
    for _ in range(3):
        assert subscriber.get_message(timeout=5) is not None
    try:
        # Each channel once, its subscribers counted over every node.
        counts = rc.pubsub_numsub("news", "sport", "none", target_nodes=ALL_NODES)
        assert counts == [(b"news", 1), (b"sport", 1), (b"none", 0)]
        assert sorted(rc.pubsub_channels(target_nodes=ALL_NODES)) == [b"news", b"sport"]
        assert rc.pubsub_numpat(target_nodes=ALL_NODES) == 1
    finally:
        subscriber.close()
    rc.set("one", 1)
    assert rc.keys(target_nodes=ALL_NODES) == [b"one"]  # primary and replica, listed once
    assert rc.client_unblock(123456789, target_nodes=PRIMARIES) == 0


def test_pipeline_refuses_what_a_cluster_pipeline_cannot_do(rc: babushka.RedisCluster) -> None:
    with pytest.raises(babushka.RedisClusterException, match="shard_hint"):
        rc.pipeline(shard_hint="x")
    with rc.pipeline() as pipe:
        pipe.set("{k}a", 1)
        with pytest.raises(babushka.RedisClusterException, match="discard"):
            pipe.discard()
        assert pipe.execute() == [True]
    with rc.pipeline(transaction=True) as pipe:
        pipe.set("{k}a", 2)
        pipe.discard()
        assert pipe.execute() == []
    assert rc.get("{k}a") == b"1"


def test_pipeline_mset_nonatomic_queues_an_mset_per_slot(rc: babushka.RedisCluster) -> None:
    mapping = {"a": 1, "b": 2, "{a}c": 3}
    slots = {rc.keyslot(key) for key in mapping}
    with rc.pipeline() as pipe:
        replies = pipe.set("x", 0).mset_nonatomic(mapping).get("{a}c").execute()
    assert replies == [True, *[True] * len(slots), b"3"]
    assert rc.mget_nonatomic(list(mapping)) == [b"1", b"2", b"3"]


def test_monitor_of_a_target_node(rc: babushka.RedisCluster) -> None:
    # A node other than the default one, where a plain monitor() would listen.
    key = next(
        k
        for k in (f"watched{n}" for n in range(100))
        if rc.get_node_from_key(k) != rc.get_default_node()
    )
    node = rc.get_node_from_key(key)
    assert node is not None
    with rc.monitor(target_node=node) as monitor:
        rc.set(key, "v")
        seen = monitor.next_command()
        while key not in seen["command"]:
            seen = monitor.next_command()
    assert seen["command"] == f"SET {key} v"
    assert seen["db"] == 0
    with pytest.raises(babushka.DataError, match="target_node"):
        rc.monitor(target_node="somewhere")  # type: ignore[arg-type]


def test_scan_iter_of_target_nodes(rc: babushka.RedisCluster) -> None:
    keys = [f"k{n}".encode() for n in range(60)]
    rc.mset_nonatomic(dict.fromkeys(keys, 1))
    assert sorted(rc.scan_iter(target_nodes=PRIMARIES)) == sorted(keys)
    node = rc.get_primaries()[0]
    own = sorted(rc.scan_iter(match="k1*", target_nodes=node))
    assert own == sorted(k for k in keys if k.startswith(b"k1") and rc.get_node_from_key(k) == node)
    with pytest.raises(babushka.DataError, match="target_nodes"):
        rc.scan_iter(target_nodes="everywhere")
    assert rc.mget_nonatomic([]) == []
    assert babushka.RedisCluster.ALL_NODES == ALL_NODES
    assert rc.PRIMARIES == PRIMARIES


async def test_asyncio_cluster_commands(arc: babushka.asyncio.RedisCluster) -> None:
    node = arc.get_primaries()[0]
    assert await arc.cluster_myid(node) == cli(node, "CLUSTER", "MYID").encode()
    assert (await arc.cluster_info())["cluster_state"] == "ok"
    slot = arc.keyslot("{a}")
    await arc.set("{a}1", 1)
    assert await arc.cluster_countkeysinslot(slot) == 1
    assert await arc.cluster_get_keys_in_slot(slot, 5) == ["{a}1"]
    assert await arc.cluster_delslots() == []
    assert arc.get_node_from_key("{a}1") == arc._slot_node(slot)
    await arc.set("{b}1", 1)
    assert set(await arc.client_info(target_nodes=PRIMARIES)) == {
        n.name for n in arc.get_primaries()
    }
    node_keys = [k async for k in arc.scan_iter(target_nodes=arc.get_node_from_key("{a}1"))]
    assert b"{a}1" in node_keys
    assert (b"{b}1" in node_keys) == (
        arc.get_node_from_key("{b}1") == arc.get_node_from_key("{a}1")
    )
    assert await arc.mget_nonatomic([]) == []
    with pytest.raises(babushka.RedisClusterException, match="shard_hint"):
        arc.pipeline(shard_hint="x")
    async with arc.pipeline() as pipe:
        with pytest.raises(babushka.RedisClusterException, match="discard"):
            await pipe.discard()
        assert await pipe.mset_nonatomic({"p": 1, "{p}q": 2}).get("{p}q").execute() == [
            True,
            b"2",
        ]
    key = next(
        k
        for k in (f"watched{n}" for n in range(100))
        if arc.get_node_from_key(k) != arc.get_default_node()
    )
    async with arc.monitor(target_node=arc.get_node_from_key(key)) as monitor:
        await arc.get(key)
        seen = await monitor.next_command()
        while key not in seen["command"]:
            seen = await monitor.next_command()
    assert seen["command"] == f"GET {key}"
    await arc.flushall()


def port_of_default(client: babushka.RedisCluster) -> int:
    """The port of the node a keyless command (INFO) reached."""
    return int(client.info("server")["tcp_port"])


def test_set_default_node_routes_keyless_commands(rc: babushka.RedisCluster) -> None:
    first = rc.get_default_node()
    assert first == rc.get_primaries()[0] and port_of_default(rc) == first.port
    replica = rc.get_replicas()[0]
    for node in (rc.get_primaries()[1], replica):
        assert rc.set_default_node(node) is True
        assert rc.get_default_node() == node
        assert port_of_default(rc) == node.port
        assert rc.execute_command("CLUSTER", "MYID") == cli(node, "CLUSTER", "MYID").encode()
    assert rc.get_default_node().server_type == REPLICA
    # Keyed commands still go to their slot's primary, not to the replica.
    assert rc.set("{d}1", "v") is True and rc.get("{d}1") == b"v"
    # The choice outlives the client's connections (on uds: a new stream).
    rc.close()
    assert port_of_default(rc) == replica.port
    # As redis-py: False, and nothing changed, for None or a node not in the cluster.
    assert rc.set_default_node(None) is False
    assert rc.set_default_node(ClusterNode("127.0.0.1", 1)) is False
    assert rc.get_default_node() == replica
    with pytest.raises(babushka.DataError, match="node"):
        rc.set_default_node("127.0.0.1:7000")  # type: ignore[arg-type]
    assert port_of_default(rc) == replica.port


def test_default_node_is_per_client(rc: babushka.RedisCluster, cluster: Cluster) -> None:
    other = babushka.RedisCluster(host=cluster.host, port=cluster.port, transport=rc.transport)
    try:
        assert rc.set_default_node(rc.get_primaries()[2]) is True
        assert port_of_default(other) == other.get_primaries()[0].port
        assert other.get_default_node() == other.get_primaries()[0]
    finally:
        other.close()


def commands_seen(client: babushka.RedisCluster, name: str) -> dict[str, str]:
    """Each node's INFO commandstats line for ``name`` (calls, rejections)."""
    stats = client.info("commandstats", target_nodes=ALL_NODES)
    return {node: str(info.get(f"cmdstat_{name}")) for node, info in stats.items()}


def test_a_keyed_command_without_its_key_is_refused_before_sending(
    rc: babushka.RedisCluster,
) -> None:
    before = commands_seen(rc, "get")
    with pytest.raises(babushka.RedisClusterException, match="Missing key"):
        rc.execute_command("GET")
    with pytest.raises(babushka.RedisClusterException, match="Missing key"):
        rc.execute_command("XREAD", "COUNT", "1")
    # In a pipeline or a transaction, nothing of it is sent.
    for transaction in (False, True):
        with rc.pipeline(transaction=transaction) as pipe:
            pipe.set("{m}1", "v").execute_command("GET")
            with pytest.raises(babushka.RedisClusterException, match="Missing key"):
                pipe.execute()
    assert rc.exists("{m}1") == 0
    assert commands_seen(rc, "get") == before
    # A script given no keys runs on some node, as in redis-py.
    assert rc.eval("return 1", 0) == 1
    # With target_nodes= the caller says where: the server answers.
    with pytest.raises(babushka.ResponseError, match="wrong number of arguments"):
        rc.execute_command("GET", target_nodes=rc.get_primaries()[0])


def test_readonly_and_readwrite_take_target_nodes(rc: babushka.RedisCluster) -> None:
    replica = rc.get_replicas()[0]
    assert rc.readonly() is True and rc.readwrite() is True
    assert "r" not in rc.client_info(target_nodes=replica)["flags"]
    replies = rc.readonly(target_nodes=REPLICAS)
    assert replies == {node.name: True for node in rc.get_replicas()}
    # The replica's connection is in READONLY mode (CLIENT INFO's flag r).
    assert "r" in rc.client_info(target_nodes=replica)["flags"]
    assert rc.readwrite(target_nodes=replica) is True
    assert "r" not in rc.client_info(target_nodes=replica)["flags"]


async def test_asyncio_default_node_and_missing_key(arc: babushka.asyncio.RedisCluster) -> None:
    node = arc.get_replicas()[1]
    assert arc.set_default_node(node) is None
    assert arc.get_default_node() == node
    assert int((await arc.info("server"))["tcp_port"]) == node.port
    for wrong in (None, ClusterNode("127.0.0.1", 1)):
        with pytest.raises(babushka.DataError, match="does not exist in the cluster"):
            arc.set_default_node(wrong)
    assert arc.get_default_node() == node
    with pytest.raises(babushka.RedisClusterException, match="Missing key"):
        await arc.execute_command("GET")
    async with arc.pipeline() as pipe:
        pipe.set("{am}1", "v").execute_command("LPOP")
        with pytest.raises(babushka.RedisClusterException, match="Missing key"):
            await pipe.execute()
    assert await arc.exists("{am}1") == 0
    replies = await arc.readonly(target_nodes=REPLICAS)
    assert replies == {n.name: True for n in arc.get_replicas()}
    assert await arc.readwrite(target_nodes=REPLICAS) == replies


def test_replace_default_node(rc: babushka.RedisCluster) -> None:
    first = rc.get_default_node()
    rc.replace_default_node()
    chosen = rc.get_default_node()
    assert chosen != first and chosen in rc.get_primaries()
    assert port_of_default(rc) == chosen.port
    replica = rc.get_replicas()[0]
    rc.replace_default_node(replica)
    assert rc.get_default_node() == replica
    with pytest.raises(babushka.DataError, match="target_node"):
        rc.replace_default_node(ClusterNode("127.0.0.1", 1))
    assert rc.get_default_node() == replica
