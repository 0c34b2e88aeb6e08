"""RedisCluster writing through a slot map that a failover made stale: the
node the map names a primary is a replica now. A replica answers a keyed
write ``MOVED`` (followed anyway); the writes it refuses with ``READONLY``
are the keyless ones (``FLUSHALL`` to every primary, a keyless transaction
to the default node). The router reads the map again and sends the refused
command to the new primary, so no ReadOnlyError reaches the caller: a
single command, a transaction (resent whole) and a command inside a
pipeline (resent alone), sync and async, on every transport.

A cluster of its own (each test fails a primary over). Clients read their
slot map before the failover and stay idle until after it; the core reads
the map again every 10 s, so a client whose periodic read came between the
failover and its write saw no READONLY: its round is done again."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

import babushka
import babushka.asyncio
from babushka import _core
from support.cluster import Cluster, command, timeout_for
from support.servers import RedisServer

#: Rounds of (clients, failover, writes) before a test gives up on clients
#: that kept a stale map until their write.
ROUNDS = 3
#: How long an event may take to reach its logger (a loaded machine).
EVENT_SECONDS = 10.0


@pytest.fixture(scope="module")
def own_cluster(server_kind: str) -> Iterator[Cluster]:
    started = Cluster.start(server_kind)
    yield started
    started.stop()


@pytest.fixture
def records(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG, logger="babushka.cluster")
    return caplog


@dataclass
class Keys:
    """A key served by the shard that fails over, and one served by another."""

    mark: str
    other: str


def keys_for(cluster: Cluster, shard: RedisServer) -> Keys:
    on, off = None, None
    for n in range(10_000):
        key = f"ro:{n}"
        if cluster.node_for_slot(_core.keyslot(key.encode())).port == shard.port:
            on = on or key
        else:
            off = off or key
        if on and off:
            return Keys(on, off)
    raise AssertionError("no keys on and off the shard")


def _sync_transaction(c: babushka.RedisCluster, k: Keys) -> Any:
    return c.pipeline(transaction=True).flushdb().execute()


def _sync_pipeline(c: babushka.RedisCluster, k: Keys) -> Any:
    return c.pipeline().get(k.other).flushall().execute()


async def _async_flushall(c: babushka.asyncio.RedisCluster, k: Keys) -> Any:
    return await c.flushall()


async def _async_transaction(c: babushka.asyncio.RedisCluster, k: Keys) -> Any:
    pipe = c.pipeline(transaction=True)
    pipe.flushdb()
    return await pipe.execute()


async def _async_pipeline(c: babushka.asyncio.RedisCluster, k: Keys) -> Any:
    pipe = c.pipeline()
    pipe.get(k.other)
    pipe.flushall()
    return await pipe.execute()


#: The writes, sync and async, and their replies: FLUSHALL to every primary,
#: a keyless transaction (to the default node: resent whole), and FLUSHALL
#: inside a pipeline (resent alone, the GET before it answered as it was).
#: Each empties the demoted shard's new primary of ``Keys.mark``.
WRITES: dict[
    str,
    tuple[
        Callable[[babushka.RedisCluster, Keys], Any],
        Callable[[babushka.asyncio.RedisCluster, Keys], Awaitable[Any]],
        Any,
    ],
] = {
    "flushall": (lambda c, k: c.flushall(), _async_flushall, True),
    "transaction": (_sync_transaction, _async_transaction, [True]),
    "pipeline": (_sync_pipeline, _async_pipeline, [b"v", True]),
}


def readonly_logged(records: pytest.LogCaptureFixture, name: str, address: str) -> bool:
    """Whether client ``name`` logged a READONLY from ``address``."""
    deadline = time.monotonic() + EVENT_SECONDS
    while time.monotonic() < deadline:
        for record in list(records.records):
            if (
                getattr(record, "event", None) == "readonly"
                and getattr(record, "client_name", None) == name
                and getattr(record, "address", None) == address
            ):
                return True
        time.sleep(0.05)
    return False


async def one_round(
    cluster: Cluster, transport: str, records: pytest.LogCaptureFixture, round_: int
) -> list[str]:
    """Fails over the default node's shard under idle clients, then writes
    through each; returns the clients whose write met no READONLY (their
    map was read again first), after checking every write's outcome."""
    # The default node: keyless transactions go there, FLUSHALL too.
    old, replica = cluster.synced_shard(0)
    old_name = f"{old.host}:{old.port}"
    keys = keys_for(cluster, old)

    def name(flavour: str, write: str) -> str:
        return f"ro-{transport}-{round_}-{flavour}-{write}"

    options: dict[str, Any] = {
        "host": cluster.host,
        "port": cluster.port,
        "transport": transport,
        "socket_timeout": 10,
    }
    sync_clients = {
        write: babushka.RedisCluster(**options, client_name=name("sync", write)) for write in WRITES
    }
    async_clients = {
        write: babushka.asyncio.RedisCluster(**options, client_name=name("async", write))
        for write in WRITES
    }
    unexercised: list[str] = []
    try:
        # A request reads the map where the client routes (on uds, the
        # listener's client; initialize() reads this process's).
        for sync_client in sync_clients.values():
            sync_client.get(keys.other)
        for async_client in async_clients.values():
            await async_client.get(keys.other)

        # Returns once the old primary calls itself a replica too.
        cluster.failover(replica)

        def prepare() -> None:
            command(replica.host, replica.port, "SET", keys.mark, "1")
            other = cluster.node_for_slot(_core.keyslot(keys.other.encode()))
            command(other.host, other.port, "SET", keys.other, "v")

        def check(label: str) -> None:
            # The write landed on the new primary: its copy of the mark is gone.
            assert command(replica.host, replica.port, "GET", keys.mark).strip() == "", label
            if not readonly_logged(records, label, old_name):
                unexercised.append(label)

        for write, (send, asend, expected) in WRITES.items():
            client = sync_clients[write]
            prepare()
            assert send(client, keys) == expected, write
            check(name("sync", write))
            aclient = async_clients[write]
            prepare()
            assert await asend(aclient, keys) == expected, write
            check(name("async", write))
    finally:
        for done in sync_clients.values():
            done.close()
        for adone in async_clients.values():
            await adone.aclose()
    return unexercised


@pytest.mark.timeout(timeout_for(2 * ROUNDS) + ROUNDS * 2 * len(WRITES) * EVENT_SECONDS)
async def test_writes_refused_readonly_go_to_the_new_primary(
    own_cluster: Cluster, transport: str, records: pytest.LogCaptureFixture
) -> None:
    unexercised: list[str] = []
    for round_ in range(ROUNDS):
        unexercised = await one_round(own_cluster, transport, records, round_)
        if not unexercised:
            return
    raise AssertionError(f"these clients never met READONLY in {ROUNDS} rounds: {unexercised}")


def test_a_named_node_s_readonly_reaches_the_caller(own_cluster: Cluster, transport: str) -> None:
    """``target_nodes=`` a replica: the caller chose it, so its READONLY is
    the caller's (a ReadOnlyError, as redis-py gives), not followed."""
    rc = babushka.RedisCluster(host=own_cluster.host, port=own_cluster.port, transport=transport)
    try:
        replica = rc.get_replicas()[0]
        with pytest.raises(babushka.ReadOnlyError):
            rc.flushall(target_nodes=replica)
    finally:
        rc.close()
