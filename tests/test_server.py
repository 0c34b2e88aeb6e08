"""Server commands on both servers, sync and async."""

from __future__ import annotations

import datetime
import time
from collections.abc import Iterator

import pytest

import babushka
import babushka.asyncio
from support.servers import RedisServer

# Command shapes: the default transport, and the tests marked every_transport
# (a sample of each reply shape) on the others (DESIGN.md, "Tests").
pytestmark = pytest.mark.command_shapes


@pytest.fixture
def db2(redis_server: RedisServer, transport: str) -> Iterator[babushka.Redis]:
    client = babushka.Redis(
        host=redis_server.host, port=redis_server.port, db=2, transport=transport
    )
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


@pytest.mark.every_transport
def test_info_is_a_parsed_dict(r: babushka.Redis) -> None:
    info = r.info()
    assert isinstance(info["redis_version"], str)
    assert isinstance(info["uptime_in_seconds"], int)
    assert info["tcp_port"] == int(r.connection_kwargs["port"])
    r.set("k", "v")
    keyspace = r.info("keyspace")
    assert keyspace["db0"]["keys"] == 1  # "keys=1,expires=0,..." becomes a dict
    assert "redis_version" not in keyspace
    assert set(r.info("server", "clients")) >= {"redis_version", "connected_clients"}


def test_dbsize_and_flushdb(r: babushka.Redis, db2: babushka.Redis) -> None:
    assert r.dbsize() == 0
    r.mset({"a": 1, "b": 2})
    db2.set("c", 3)
    assert r.dbsize() == 2
    assert r.flushdb() is True
    assert r.dbsize() == 0
    assert db2.dbsize() == 1  # FLUSHDB empties only the client's database
    r.set("a", 1)
    assert r.flushdb(asynchronous=True) is True
    assert r.dbsize() == 0


def test_flushall_empties_every_database(r: babushka.Redis, db2: babushka.Redis) -> None:
    r.set("a", 1)
    db2.set("b", 2)
    assert r.flushall() is True
    assert r.dbsize() == 0 and db2.dbsize() == 0
    db2.set("b", 2)
    assert r.flushall(asynchronous=True) is True
    assert db2.dbsize() == 0


def test_config_get_and_set(r: babushka.Redis) -> None:
    before = r.config_get("maxmemory-policy")
    assert before == {"maxmemory-policy": "noeviction"}  # str, as redis-py gives it
    assert r.config_set("maxmemory-policy", "allkeys-lru") is True
    try:
        assert r.config_get("maxmemory-policy") == {"maxmemory-policy": "allkeys-lru"}
        assert r.config_set("maxmemory-policy", "noeviction", "hz", 10) is True
        got = r.config_get("maxmemory-policy", "hz")
        assert got == {"maxmemory-policy": "noeviction", "hz": "10"}
    finally:
        r.config_set("maxmemory-policy", "noeviction")
    assert len(r.config_get()) > 50
    with pytest.raises(babushka.ResponseError, match="nonexistent"):
        r.config_set("nonexistent-parameter", "1")
    with pytest.raises(babushka.DataError, match="pairs"):
        r.config_set("hz", 10, "maxmemory")


def test_config_get_decoded(rd: babushka.Redis) -> None:
    assert rd.config_get("maxmemory-policy") == {"maxmemory-policy": "noeviction"}


def test_time_and_lastsave(r: babushka.Redis) -> None:
    seconds, micros = r.time()
    assert isinstance(seconds, int) and isinstance(micros, int)
    assert abs(seconds - time.time()) < 5
    assert 0 <= micros < 1_000_000
    assert isinstance(r.lastsave(), datetime.datetime)


def test_execute_command_uses_the_commands_shape(r: babushka.Redis) -> None:
    assert r.execute_command("SET", "k", "v") is True
    assert r.execute_command("EXPIRE", "k", 10) is True
    assert r.execute_command("config", "set", "hz", "10") is True
    r.zadd("z", {"a": 1})
    assert r.execute_command("ZPOPMIN", "z") == [(b"a", 1.0)]
    assert r.execute_command("SCAN", 0) == (0, [b"k"])


@pytest.mark.every_transport
async def test_async_server_commands(ar: babushka.asyncio.Redis) -> None:
    await ar.set("k", "v")
    assert await ar.dbsize() == 1
    info = await ar.info("keyspace")
    assert info["db0"]["keys"] == 1
    assert await ar.config_get("hz") == {"hz": "10"}
    assert await ar.config_set("hz", 10) is True
    seconds, _micros = await ar.time()
    assert abs(seconds - time.time()) < 5
    assert await ar.flushdb() is True
    assert await ar.dbsize() == 0
    assert isinstance(await ar.lastsave(), datetime.datetime)
    assert await ar.flushall(asynchronous=True) is True
