"""babushka.sentinel against real sentinels (support/sentinel.py): discovery,
master_for/slave_for on every transport, the sentinel commands' values as
redis-py gives them, typed errors, and one SENTINEL FAILOVER under load that
all three transports' clients and redis-py's own go through together (the
failover is last: it leaves the setup with the roles swapped)."""

from __future__ import annotations

import logging
import time
from typing import Any, Awaitable, Callable

import pytest

import babushka
import babushka.asyncio
from babushka.asyncio.sentinel import Sentinel as AsyncSentinel
from babushka.sentinel import (
    MasterNotFoundError,
    Sentinel,
    SentinelConnectionPool,
    SlaveNotFoundError,
)
from support.cluster import command
from support.faults import wait_until
from support.gate import Gate
from support.sentinel import SERVICE, Sentinels
from support.sentinel_failover import AsyncGroup, Writer, fail_over
from support.servers import free_port


def port_of(client: babushka.Redis) -> int:
    return int(client.info("server")["tcp_port"])


def test_discovery_names_the_primary_and_its_replica(sentinels: Sentinels) -> None:
    with Sentinel(sentinels.addresses, socket_timeout=5) as sentinel:
        primary = sentinels.current_primary()
        assert sentinel.discover_master(SERVICE) == ("127.0.0.1", primary.port)
        replica = sentinels.replica if primary is sentinels.primary else sentinels.primary
        assert sentinel.discover_slaves(SERVICE) == [("127.0.0.1", replica.port)]
        assert sentinel.discover_slaves("no-such-service") == []
        with pytest.raises(MasterNotFoundError, match="No master found for 'no-such-service'"):
            sentinel.discover_master("no-such-service")


def test_master_for_writes_and_slave_for_reads(sentinels: Sentinels, transport: str) -> None:
    sentinel = Sentinel(sentinels.addresses, socket_timeout=5, transport=transport)
    primary = sentinels.current_primary()
    master = sentinel.master_for(SERVICE)
    slave = sentinel.slave_for(SERVICE, decode_responses=True)
    try:
        assert isinstance(master.connection_pool, SentinelConnectionPool)
        assert master.set(f"greeting:{transport}", "hello") is True
        assert master.get(f"greeting:{transport}") == b"hello"
        assert port_of(master) == primary.port
        assert port_of(slave) != primary.port
        deadline = time.monotonic() + 5
        while slave.get(f"greeting:{transport}") != "hello" and time.monotonic() < deadline:
            time.sleep(0.05)
        assert slave.get(f"greeting:{transport}") == "hello"
        # A replica refuses writes: the client is on one.
        with pytest.raises(babushka.ReadOnlyError):
            slave.set(f"greeting:{transport}", "no")
    finally:
        master.close()
        slave.close()
        sentinel.close()


def test_a_sentinel_on_a_unix_socket(sentinels: Sentinels, transport: str) -> None:
    """redis-py's way to a sentinel on a Unix socket: ``sentinel_kwargs``
    with ``unix_socket_path`` (its sentinel clients are ``Redis(host, port,
    **sentinel_kwargs)``, so every one of them connects there, whatever
    address it was given). The Sentinel object's own clients and the
    service's core client both ask that socket."""
    socket_path = sentinels.sentinels[0].socket_path
    nowhere = [("127.0.0.1", free_port())]  # not listened on: never asked
    sentinel = Sentinel(
        nowhere,
        sentinel_kwargs={"unix_socket_path": socket_path, "socket_timeout": 5},
        socket_timeout=5,
        transport=transport,
    )
    primary = sentinels.current_primary()
    master = sentinel.master_for(SERVICE)
    try:
        assert sentinel.discover_master(SERVICE) == ("127.0.0.1", primary.port)
        assert master.set(f"unix-sentinel:{transport}", "v") is True
        assert port_of(master) == primary.port
    finally:
        master.close()
        sentinel.close()


def test_no_reachable_sentinel_raises_redis_py_errors(transport: str) -> None:
    nowhere = [("127.0.0.1", free_port())]
    sentinel = Sentinel(nowhere, socket_connect_timeout=1, transport=transport)
    with pytest.raises(MasterNotFoundError, match="No master found for 'mymaster'"):
        sentinel.master_for(SERVICE).get("k")
    with pytest.raises(SlaveNotFoundError, match="No slave found for 'mymaster'"):
        sentinel.slave_for(SERVICE).get("k")
    with pytest.raises(MasterNotFoundError):
        sentinel.discover_master(SERVICE)
    # Both are connection errors, as in redis-py.
    assert issubclass(MasterNotFoundError, babushka.ConnectionError)
    assert issubclass(SlaveNotFoundError, babushka.ConnectionError)


def test_bad_arguments_raise_before_anything_is_sent(sentinels: Sentinels) -> None:
    sentinel = Sentinel(sentinels.addresses)
    with pytest.raises(TypeError, match="host"):
        sentinel.master_for(SERVICE, host="localhost")
    with pytest.raises(TypeError, match="service_name"):
        sentinel.master_for("")
    with pytest.raises(ValueError, match="min_other_sentinels"):
        Sentinel(sentinels.addresses, min_other_sentinels=-1)
    with pytest.raises(TypeError):
        Sentinel(sentinels.addresses, sentinel_kwargs={"no_such_keyword": 1})


def test_min_other_sentinels_above_what_they_see_finds_no_master(sentinels: Sentinels) -> None:
    sentinel = Sentinel(sentinels.addresses, min_other_sentinels=3)
    with pytest.raises(MasterNotFoundError):
        sentinel.discover_master(SERVICE)
    with pytest.raises(MasterNotFoundError):
        sentinel.master_for(SERVICE).get("k")


def test_sentinel_commands_have_redis_py_values(sentinels: Sentinels) -> None:
    host, port = sentinels.addresses[0]
    one = babushka.Redis(host, port)
    primary = sentinels.current_primary()
    masters = one.sentinel_masters()
    state = masters[SERVICE]
    assert state["port"] == primary.port and isinstance(state["port"], int)
    assert state["is_master"] is True and state["is_sdown"] is False
    assert state["num-other-sentinels"] == 2
    assert isinstance(state["flags"], str)
    assert one.sentinel_master(SERVICE)["name"] == SERVICE
    # As redis-py: the ip as the server sent it (bytes without decode_responses).
    assert one.sentinel_get_master_addr_by_name(SERVICE) == (b"127.0.0.1", primary.port)
    assert one.sentinel_get_master_addr_by_name("no-such-service") is None
    replicas = one.sentinel_slaves(SERVICE)
    assert [r["is_slave"] for r in replicas] == [True]
    others = one.sentinel_sentinels(SERVICE)
    assert len(others) == 2 and all(s["is_sentinel"] for s in others)
    # redis-py's bool_ok: the server's "OK 3 usable Sentinels..." is not "OK".
    assert one.sentinel_ckquorum(SERVICE) is False
    assert one.sentinel_set(SERVICE, "quorum", 2) is True
    assert one.sentinel_flushconfig() is True
    assert one.sentinel_reset("no-such-*") is False  # a count, 0: not "OK"
    assert one.sentinel_monitor("extra", "127.0.0.1", primary.port, 2) is True
    assert one.sentinel_remove("extra") is True
    with pytest.raises(babushka.ResponseError):
        one.sentinel_failover("no-such-service")
    # execute_command gives a sentinel's replies the values of the
    # sentinel_* methods (redis-py's SENTINEL response callbacks), in
    # either spelling; a subcommand redis-py does not parse comes raw.
    assert one.execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", SERVICE) == (
        b"127.0.0.1",
        primary.port,
    )
    assert one.execute_command("SENTINEL MASTERS")[SERVICE]["port"] == primary.port
    assert one.execute_command(b"sentinel", b"master", SERVICE)["is_master"] is True
    assert one.execute_command("SENTINEL", "SET", SERVICE, "quorum", 2) is True
    assert one.execute_command("SENTINEL", "CKQUORUM", SERVICE) is False
    replicas_raw = one.execute_command("SENTINEL", "REPLICAS", SERVICE)
    assert isinstance(replicas_raw, list) and isinstance(replicas_raw[0], list)
    # sentinel() is redis-py's execute_command("SENTINEL", *args) without
    # its callbacks: the reply as the server sends it.
    assert one.sentinel("get-master-addr-by-name", SERVICE) == [
        b"127.0.0.1",
        str(primary.port).encode(),
    ]
    with pytest.raises(babushka.ResponseError):
        one.sentinel_master("no-such-service")
    one.close()
    # The Sentinel object sends to every sentinel: True, or every reply.
    sentinel = Sentinel(sentinels.addresses)
    assert sentinel.sentinel_masters() is True
    states = sentinel.sentinel_master(SERVICE, return_responses=True)
    assert [s["port"] for s in states] == [primary.port] * 3
    assert sentinel.execute_command("PING") is True
    assert sentinel.execute_command("PING", return_responses=True) == [True] * 3
    sentinel.close()


async def test_asyncio_sentinel(sentinels: Sentinels, transport: str) -> None:
    primary = sentinels.current_primary()
    async with AsyncSentinel(sentinels.addresses, socket_timeout=5, transport=transport) as s:
        assert await s.discover_master(SERVICE) == ("127.0.0.1", primary.port)
        assert len(await s.discover_slaves(SERVICE)) == 1
        assert await s.sentinel_masters() is True
        master = s.master_for(SERVICE)
        assert isinstance(master, babushka.asyncio.Redis)
        assert await master.set(f"async:{transport}", "v") is True
        assert await master.get(f"async:{transport}") == b"v"
        assert int((await master.info("server"))["tcp_port"]) == primary.port
        await master.aclose()
        with pytest.raises(MasterNotFoundError):
            await s.discover_master("no-such-service")


def test_zz_failover_under_load_moves_every_client(sentinels: Sentinels) -> None:
    """The session's first SENTINEL FAILOVER: a master_for client of each
    transport and redis-py's push to their own lists at once. Every
    Babushka client writes to the new primary from its promotion on and
    loses (almost) nothing; the figures (and redis-py's) are printed for
    the record. A subscriber of each transport moves to the new primary
    and subscribes again there while the old one is still primary (the
    sentinels demote it, killing its clients, seconds later)."""
    redis = pytest.importorskip("redis.sentinel")
    sentinels.wait_ready()
    ours = Sentinel(sentinels.addresses, socket_timeout=2)
    theirs = redis.Sentinel(sentinels.addresses, socket_timeout=2)
    clients = {t: ours.master_for(SERVICE, transport=t) for t in TRANSPORTS}
    reference = theirs.master_for(SERVICE)
    writers = [
        Writer(f"babushka {t}", f"failover:{t}", client.rpush) for t, client in clients.items()
    ]
    writers.append(Writer("redis-py", "failover:redis-py", reference.rpush))
    subscribers = {
        t: ours.master_for(SERVICE, transport=t, client_name=f"subscriber-{t}") for t in TRANSPORTS
    }
    pubsubs = {t: client.pubsub() for t, client in subscribers.items()}
    for pubsub in pubsubs.values():
        pubsub.subscribe("news")
        assert pubsub.get_message(timeout=5)["type"] == "subscribe"
    moved: list[bool] = []

    def subscribers_move(old: Any, new: Any) -> None:
        names = {f"subscriber-{t}" for t in pubsubs}
        moved.append(wait_until(lambda: names <= _subscribed_names(new), timeout=5))
        # Not the sentinels' demotion (which kills the old primary's
        # clients) moved them: the old node is primary still.
        moved.append(sentinels.info(old, "replication").get("role") == "master")

    switches: list[logging.LogRecord] = []
    handler = logging.Handler(logging.INFO)
    handler.emit = switches.append  # type: ignore[method-assign]
    logger = logging.getLogger("babushka.connection")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        figures = fail_over(sentinels, writers, settle=15.0, promoted=subscribers_move)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(logging.NOTSET)
    for figure in figures:
        print(f"[{sentinels.kind}] {figure.line()}")
    try:
        for figure in figures[:3]:
            # Every push after some point landed on the new primary, and
            # that point came within the run (the +switch-master, or a
            # READONLY, moved the client).
            assert figure.on_new_primary_after is not None, figure.line()
            assert figure.on_new_primary_after < 10.0, figure.line()
            # The client moves when the leading sentinel is about to promote
            # the replica: at most a write in flight then is lost (none in
            # the runs measured; a bound, not a figure, for a busy machine).
            assert figure.lost <= figure.acknowledged / 100, figure.line()
        # The move is logged (babushka.connection, INFO) with the new
        # primary's address, by each client that followed it.
        moved_to = {
            getattr(r, "address", None)
            for r in switches
            if getattr(r, "event", "") == "sentinel_switch"
        }
        assert moved_to, [r.getMessage() for r in switches]
        assert all(
            getattr(r, "service", None) == SERVICE
            for r in switches
            if getattr(r, "event", "") == "sentinel_switch"
        )
        assert moved == [True, True], "the subscribers did not move before the demotion"
        _check_subscribers_hear_the_new_primary(sentinels, pubsubs)
    finally:
        for client in [*clients.values(), *subscribers.values()]:
            client.close()
        for pubsub in pubsubs.values():
            pubsub.close()
        reference.close()
        ours.close()


def test_zzz_a_deaf_client_is_moved_by_readonly(sentinels: Sentinels) -> None:
    """The session's second (and last) SENTINEL FAILOVER, for clients that
    hear no sentinel announce it: their sentinels are reached through gates
    that go silent before the failover (the watcher's connection stays
    open, hearing nothing; new connections, to ask where the primary is,
    still go through). Once every sentinel names the promoted replica, the
    old primary is demoted by hand (REPLICAOF, which leaves its clients
    connected, where the sentinels' own demotion seconds later kills them,
    which a client survives by reconnecting). Every deaf client (sync and
    asyncio, every transport; single commands, pipelines whose write is
    refused while their read ran, transactions refused whole) gets
    READONLY, asks the sentinels again and sends the refused request to the
    new primary: the caller sees no error, and every push from some point
    on is on the new primary. A pipeline in which something with effects
    ran (PUBLISH) is not sent again: ReadOnlyError, once, and the client
    moves all the same."""
    sentinels.wait_ready()
    gates = [Gate(host, port) for host, port in sentinels.addresses]
    deaf = Sentinel([("127.0.0.1", g.port) for g in gates], socket_timeout=5)
    deaf_async = AsyncSentinel([("127.0.0.1", g.port) for g in gates], socket_timeout=5)
    clients = {
        (t, kind): deaf.master_for(SERVICE, transport=t, client_name=f"deaf-{t}-{kind}")
        for t in TRANSPORTS
        for kind in PUSHES
    }
    writers = [
        Writer(f"deaf {t} {kind}", f"deaf:{t}:{kind}", PUSHES[kind](client), pause=0.002)
        for (t, kind), client in clients.items()
    ]
    async_clients = {
        (t, kind): deaf_async.master_for(SERVICE, transport=t, client_name=f"deaf-async-{t}-{kind}")
        for t in TRANSPORTS
        for kind in PUSHES
    }
    groups = tuple(
        AsyncGroup(
            [
                Writer(
                    f"deaf async {t} {kind}",
                    f"deaf-async:{t}:{kind}",
                    ASYNC_PUSHES[kind](async_clients[t, kind]),
                    pause=0.002,
                )
                for kind in ASYNC_PUSHES
            ],
            close=_closer([async_clients[t, kind] for kind in ASYNC_PUSHES]),
        )
        for t in TRANSPORTS
    )
    # A pipeline whose write is refused while a command with effects ran
    # (PUBLISH runs on a replica): not sent again, ReadOnlyError raised
    # once, and the client moves all the same.
    mixed = {
        t: deaf.master_for(SERVICE, transport=t, client_name=f"deaf-{t}-mixed") for t in TRANSPORTS
    }
    mixed_writers = [
        Writer(
            f"deaf {t} mixed",
            f"deaf:{t}:mixed",
            lambda key, n, client=client: (
                client.pipeline(transaction=False).rpush(key, n).publish("deaf", n).execute()
            ),
            pause=0.002,
        )
        for t, client in mixed.items()
    ]
    watchers = len(clients) + len(async_clients) + len(mixed)

    def silence() -> None:
        # Every client watches the first sentinel once it has connected:
        # wait until all of them are subscribed there, then silence.
        assert wait_until(lambda: _watching(sentinels) >= watchers, timeout=20), (
            f"{_watching(sentinels)} of {watchers} clients watch the first sentinel"
        )
        for gate in gates:
            gate.blackhole()

    def demote(old: Any, new: Any) -> None:
        # Once every sentinel names the new primary (a client asking them
        # then learns where to go), as a missed +switch-master leaves it.
        def announced() -> bool:
            return all(
                command(s.host, s.port, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", SERVICE).split()
                == [new.host, str(new.port)]
                for s in sentinels.sentinels
            )

        assert wait_until(announced, timeout=20), "the sentinels never named the new primary"
        command(old.host, old.port, "REPLICAOF", new.host, str(new.port))
        time.sleep(3.0)  # the writers go on, moved by READONLY

    records: list[logging.LogRecord] = []
    handler = logging.Handler(logging.INFO)
    handler.emit = records.append  # type: ignore[method-assign]
    logger = logging.getLogger("babushka.connection")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        figures = fail_over(
            sentinels,
            writers + mixed_writers,
            settle=3.0,
            groups=groups,
            before=silence,
            promoted=demote,
        )
    finally:
        logger.removeHandler(handler)
        logger.setLevel(logging.NOTSET)
        for client in [*clients.values(), *mixed.values()]:
            client.close()
        deaf.close()
        for gate in gates:
            gate.close()
    for figure in figures:
        print(f"[{sentinels.kind}] {figure.line()}")
    for figure in figures:
        assert figure.on_new_primary_after is not None, figure.line()
        if figure.name.endswith("mixed"):
            assert figure.errors == 1, figure.line()
            assert figure.error_kinds[0].startswith("ReadOnlyError"), figure.line()
        else:
            assert figure.errors == 0, figure.line()
    # Each was moved by a READONLY (its +switch-master never came).
    moved_by_readonly = {
        getattr(r, "client_name", None)
        for r in records
        if getattr(r, "event", "") == "sentinel_readonly"
    }
    assert moved_by_readonly == {
        *(f"deaf-{t}-{kind}" for t, kind in clients),
        *(f"deaf-async-{t}-{kind}" for t, kind in async_clients),
        *(f"deaf-{t}-mixed" for t in mixed),
    }
    switched = [r for r in records if getattr(r, "event", "") == "sentinel_switch"]
    assert not switched, "a deaf client heard the sentinels"


TRANSPORTS = ("managed", "ffi", "uds")

#: How a deaf client pushes ``n``: one command, a pipeline with a read after
#: the write (sent again whole when its write is refused: nothing else in it
#: changed anything), a transaction (refused whole by EXECABORT).
PUSHES: dict[str, Callable[[babushka.Redis], Callable[[str, int], Any]]] = {
    "one": lambda client: client.rpush,
    "pipeline": lambda client: (
        lambda key, n: client.pipeline(transaction=False).rpush(key, n).llen(key).execute()
    ),
    "transaction": lambda client: (
        lambda key, n: client.pipeline(transaction=True).rpush(key, n).llen(key).execute()
    ),
}

ASYNC_PUSHES: dict[str, Callable[[babushka.asyncio.Redis], Callable[[str, int], Any]]] = {
    "one": lambda client: client.rpush,
    "pipeline": lambda client: (
        lambda key, n: client.pipeline(transaction=False).rpush(key, n).llen(key).execute()
    ),
    "transaction": lambda client: (
        lambda key, n: client.pipeline(transaction=True).rpush(key, n).llen(key).execute()
    ),
}


def _closer(clients: list[babushka.asyncio.Redis]) -> Callable[[], Awaitable[Any]]:
    async def close() -> None:
        for client in clients:
            await client.aclose()

    return close


def _watching(sentinels: Sentinels) -> int:
    """How many clients are subscribed to the failover events on the
    first sentinel (the two channels a Babushka client's watcher takes)."""
    first = sentinels.sentinels[0]
    listing = command(first.host, first.port, "CLIENT", "LIST")
    return sum(1 for line in listing.splitlines() if " sub=2 " in line)


def _subscribed_names(node: Any) -> set[str]:
    """The names of the clients subscribed to one channel on ``node``."""
    listing = command(node.host, node.port, "CLIENT", "LIST")
    return {
        field.removeprefix("name=")
        for line in listing.splitlines()
        if " sub=1 " in line
        for field in line.split()
        if field.startswith("name=")
    }


def _check_subscribers_hear_the_new_primary(sentinels: Sentinels, pubsubs: dict[str, Any]) -> None:
    """Each subscriber said it reconnected (a ``reconnected`` message), and
    a message published on the new primary reaches it."""
    new = sentinels.current_primary()
    command(new.host, new.port, "PUBLISH", "news", "after the failover")
    for transport, pubsub in pubsubs.items():
        seen = []
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            message = pubsub.get_message(timeout=1)
            if message is None:
                continue
            seen.append(message["type"])
            if message["type"] == "message":
                assert message["data"] == b"after the failover", transport
                break
        assert "reconnected" in seen and seen[-1] == "message", (transport, seen)
