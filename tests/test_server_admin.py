"""Server administration against both servers: INFO's sections, persistence,
replication, SHUTDOWN, QUIT/RESET on connections of their own, MODULE, and
error replies the server produces for real, as redis-py's classes."""

from __future__ import annotations

import datetime
from collections.abc import Iterator

import pytest
import redis

import babushka
import babushka.asyncio
import babushka.exceptions
from support.faults import wait_until
from support.servers import RedisServer

pytestmark = pytest.mark.command_shapes


@pytest.fixture
def own_server(server_kind: str) -> Iterator[RedisServer]:
    """A server of its own, for tests that change its role or stop it."""
    server = RedisServer.start(kind=server_kind)
    yield server
    server.stop()


def _steady(value: object) -> object:
    """A keyspace line without ``avg_ttl``: the server re-estimates it as it
    samples expiring keys, so two reads a moment apart can differ."""
    if isinstance(value, dict):
        return {k: v for k, v in value.items() if k != "avg_ttl"}
    return value


@pytest.mark.every_transport
def test_info_sections_are_parsed_as_redis_py_does(r: babushka.Redis, theirs: redis.Redis) -> None:
    r.set("k", "v", ex=100)
    # Fields that do not change between two calls, per section.
    for section in ("server", "keyspace", "persistence", "replication"):
        ours, expected = r.info(section), theirs.info(section)
        steady = {k for k in expected if "time" not in k and "offset" not in k}
        assert {k: _steady(ours[k]) for k in steady} == {k: _steady(expected[k]) for k in steady}, (
            section
        )
    assert r.info("keyspace")["db0"]["keys"] == 1
    for section in ("everything", "all", "default", "commandstats"):
        ours, expected = r.info(section), theirs.info(section)
        assert {type(v) for v in ours.values()} == {type(v) for v in expected.values()}
    assert isinstance(r.info("commandstats")["cmdstat_set"], dict)
    both = r.info("server", "clients")
    assert {"redis_version", "connected_clients"} <= set(both)


def test_persistence(r: babushka.Redis, redis_server: RedisServer) -> None:
    before = r.lastsave()
    assert isinstance(before, datetime.datetime)
    assert r.save() is True
    assert r.lastsave() >= before

    def idle() -> bool:
        state = r.info("persistence")
        return not state["rdb_bgsave_in_progress"] and not state["aof_rewrite_in_progress"]

    assert r.bgsave() is True
    assert wait_until(idle)
    assert r.bgsave(schedule=False) is True
    assert wait_until(idle)
    assert r.bgrewriteaof() is True
    assert wait_until(idle)


def test_keyspace_and_clock(r: babushka.Redis, redis_server: RedisServer) -> None:
    r.set("a", 1)
    assert r.swapdb(0, 3) is True
    assert r.dbsize() == 0
    assert r.swapdb(0, 3) is True
    assert r.get("a") == b"1"
    with pytest.raises(babushka.DataError, match="second"):
        r.swapdb(0, "1")  # type: ignore[arg-type]
    seconds, micros = r.time()
    assert isinstance(seconds, int) and 0 <= micros < 1_000_000
    art = r.lolwut()
    assert b"ver" in art
    assert b"ver" in r.lolwut(5, 1, 1)
    assert r.role()[0] == b"master"


def test_replication(own_server: RedisServer, redis_server: RedisServer, transport: str) -> None:
    with babushka.Redis(port=own_server.port, transport=transport) as replica:
        assert replica.slaveof(redis_server.host, redis_server.port) is True
        assert replica.role()[0] == b"slave"
        assert replica.slaveof() is True  # no arguments: NO ONE
        assert replica.role()[0] == b"master"
        assert replica.replicaof(redis_server.host, redis_server.port) == b"OK"
        assert replica.replicaof("NO", "ONE") == b"OK"
        with pytest.raises(babushka.DataError, match="port"):
            replica.slaveof(redis_server.host)
        with pytest.raises(babushka.ResponseError):  # the server's, as with redis-py
            replica.replicaof("NO ONE")
        for refused in (replica.sync, lambda: replica.psync("?", -1)):
            with pytest.raises(babushka.DataError, match="replication stream"):
                refused()


@pytest.mark.every_transport
def test_shutdown(own_server: RedisServer, transport: str) -> None:
    with babushka.Redis(port=own_server.port, transport=transport) as r:
        with pytest.raises(babushka.DataError, match="save and nosave"):
            r.shutdown(save=True, nosave=True)
        with pytest.raises(babushka.ResponseError):
            r.shutdown(abort=True)  # no shutdown to abort: the server's error
        assert r.shutdown(nosave=True) is None  # the connection closed: it stopped
    assert wait_until(lambda: own_server.process.poll() is not None)


async def test_shutdown_async(own_server: RedisServer, transport: str) -> None:
    r = babushka.asyncio.Redis(port=own_server.port, transport=transport)
    try:
        assert await r.shutdown(nosave=True, now=True) is None
    finally:
        await r.aclose()
    assert wait_until(lambda: own_server.process.poll() is not None)


@pytest.mark.every_transport
def test_quit_and_reset_leave_the_shared_connection_alone(
    redis_server: RedisServer, transport: str
) -> None:
    with babushka.Redis(port=redis_server.port, db=4, transport=transport) as r:
        r.client_setname("kept")
        r.set("in-db-4", 1)
        shared = r.client_id()
        assert r.quit() is True
        assert r.reset() == "RESET"
        assert r.execute_command("RESET") == "RESET"
        assert r.execute_command("QUIT") is True
        hello = r.execute_command("HELLO")
        assert b"proto" in hello
        # The shared connection kept its id, name and database.
        assert r.client_id() == shared
        assert r.client_getname() == "kept"
        assert r.get("in-db-4") == b"1"
        pipe = r.pipeline(transaction=False)
        # A pipeline's reset() is its own (as redis-py's); the command is sent by name.
        pipe.set("piped", 1).execute_command("RESET").get("piped")
        assert pipe.execute() == [True, "RESET", None]  # reset: db 0, on its own connection
        assert r.client_id() == shared
        r.flushdb()
    for left_out in (r.hello, r.failover):
        with pytest.raises(NotImplementedError):
            left_out()


async def test_quit_and_reset_async(ar: babushka.asyncio.Redis) -> None:
    shared = await ar.client_id()
    assert await ar.quit() is True
    assert await ar.reset() == "RESET"
    assert await ar.client_id() == shared


def test_module_commands_raise_module_error(server_kind: str, transport: str) -> None:
    server = RedisServer.start("--enable-module-command", "yes", kind=server_kind)
    r = babushka.Redis(port=server.port, transport=transport)
    theirs = redis.Redis(port=server.port, protocol=2)
    try:
        _module_errors(r, theirs)
    finally:
        r.close()
        theirs.close()
        server.stop()


def _module_errors(r: babushka.Redis, theirs: redis.Redis) -> None:
    assert r.module_list() == theirs.module_list()  # Valkey lists its Lua engine
    with pytest.raises(babushka.exceptions.ModuleError) as caught:
        r.module_load("/no/such/module.so")
    with pytest.raises(redis.exceptions.ModuleError) as expected:
        theirs.module_load("/no/such/module.so")
    assert str(caught.value) == str(expected.value)
    with pytest.raises(babushka.exceptions.ModuleError, match="no such module"):
        r.module_unload("nosuchmodule")
    with pytest.raises(babushka.ResponseError):
        r.module_loadex("/no/such/module.so", options=["a", "b"], args=["c"])


def test_server_errors_raise_redis_py_classes(own_server: RedisServer, transport: str) -> None:
    with babushka.Redis(port=own_server.port, transport=transport) as r:
        with pytest.raises(babushka.NoScriptError, match=r"^No matching script"):
            r.evalsha("0" * 40, 0)
        r.config_set("maxmemory", 1)
        try:
            with pytest.raises(babushka.OutOfMemoryError, match=r"^command not allowed") as oom:
                r.set("k", "v")
            assert oom.value.status_code == "OOM"
        finally:
            r.config_set("maxmemory", 0)
        r.config_set("requirepass", "secret")
        with (
            babushka.Redis(port=own_server.port, transport=transport) as anonymous,
            pytest.raises(babushka.AuthenticationError, match=r"^Authentication required"),
        ):
            anonymous.get("k")
        with babushka.Redis(port=own_server.port, password="secret", transport=transport) as r2:
            r2.config_set("requirepass", "")


@pytest.mark.parametrize("protocol", [2, 3])
def test_server_replies_are_the_same_on_either_protocol(
    redis_server: RedisServer, theirs: redis.Redis, protocol: int
) -> None:
    with babushka.Redis(port=redis_server.port, protocol=protocol) as r:
        assert r.config_get("maxmemory*") == theirs.config_get("maxmemory*")
        assert r.info("keyspace") == theirs.info("keyspace")
        assert r.module_list() == theirs.module_list()
        assert r.ping() is True
        assert isinstance(r.lastsave(), datetime.datetime)
        assert r.command()["get"] == theirs.command()["get"]


def test_admin_commands_in_a_transaction(r: babushka.Redis) -> None:
    with r.pipeline() as pipe:
        pipe.config_get("hz").time().info("keyspace").ping().lastsave()
        hz, (seconds, _), keyspace, pong, saved = pipe.execute()
    assert hz == {"hz": "10"} and isinstance(seconds, int) and isinstance(keyspace, dict)
    assert pong is True and isinstance(saved, datetime.datetime)
