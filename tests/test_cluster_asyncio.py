"""babushka.asyncio.RedisCluster against the shared real cluster: routing,
splits, fan-outs, target_nodes and pipelines, as the sync client's tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

import babushka
import babushka.asyncio
from babushka.cluster import PRIMARIES
from support.cluster import Cluster


@pytest.fixture
async def arc(cluster: Cluster, transport: str) -> AsyncIterator[babushka.asyncio.RedisCluster]:
    client = babushka.asyncio.RedisCluster(
        host=cluster.host, port=cluster.port, transport=transport, socket_timeout=10
    )
    await client.flushall()
    yield client
    await client.aclose()


async def test_routing_splits_and_fanouts(arc: babushka.asyncio.RedisCluster) -> None:
    keys = ["a", "b", "c", "{a}d"]
    assert len({arc.keyslot(k) for k in keys}) == 3
    for n, key in enumerate(keys):
        assert await arc.set(key, n) is True
    assert await arc.mget(keys) == [b"0", b"1", b"2", b"3"]
    assert await arc.exists(*keys) == 4
    assert await arc.dbsize() == 4
    assert sorted(await arc.keys()) == sorted(k.encode() for k in keys)
    assert await arc.dbsize(target_nodes=PRIMARIES) == 4
    assert len(arc.get_primaries()) == 3
    assert await arc.execute_command("DBSIZE", target_nodes=arc.get_primaries()[0]) >= 0
    assert await arc.mset_nonatomic({"x": 1, "y": 2}) == [True, True]
    with pytest.raises(babushka.RedisClusterException, match="same key slot"):
        await arc.mset({"x": 1, "y": 2})
    assert await arc.delete(*keys, "x", "y") == 6


async def test_pipeline(arc: babushka.asyncio.RedisCluster) -> None:
    async with arc.pipeline() as pipe:
        pipe.set("a", 1).set("b", 2).mget("a", "b").incr("b")
        assert await pipe.execute() == [True, True, [b"1", b"2"], 3]


async def test_initialize_reads_the_map(cluster: Cluster) -> None:
    client = babushka.asyncio.RedisCluster(host=cluster.host, port=cluster.port)
    try:
        assert client.get_nodes() == []
        await client.initialize()
        assert len(client.get_nodes()) == 6
    finally:
        await client.aclose()


async def test_cross_slot_transaction_is_refused(arc: babushka.asyncio.RedisCluster) -> None:
    pipe = arc.pipeline(transaction=True)
    pipe.set("a", 1).set("b", 2)
    with pytest.raises(babushka.CrossSlotTransactionError, match="same slot"):
        await pipe.execute()
    assert await arc.exists("a", "b") == 0
    pipe = arc.pipeline(transaction=True)
    pipe.set("{a}1", 1).incr("{a}1")
    assert await pipe.execute() == [True, 2]
