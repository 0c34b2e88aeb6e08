"""MEMORY, SLOWLOG, LATENCY, COMMAND and DEBUG OBJECT against both servers,
compared with redis-py where it parses the reply."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis

import babushka
import babushka.asyncio
from support.servers import RedisServer

pytestmark = pytest.mark.command_shapes


@pytest.fixture
def slowlog_everything(r: babushka.Redis) -> Iterator[None]:
    """Every command goes to the slow log while the test runs."""
    before = r.config_get("slowlog-log-slower-than")["slowlog-log-slower-than"]
    r.config_set("slowlog-log-slower-than", 0)
    r.slowlog_reset()
    yield
    r.config_set("slowlog-log-slower-than", before)
    r.slowlog_reset()


@pytest.mark.every_transport
def test_memory_commands(r: babushka.Redis, theirs: redis.Redis) -> None:
    r.set("k", "v" * 100)
    assert r.memory_usage("k") >= 100
    assert r.memory_usage("k", samples=0) >= 100
    assert r.memory_usage("missing") is None
    with pytest.raises(babushka.DataError, match="samples"):
        r.memory_usage("k", samples=-1)
    stats = r.memory_stats()
    expected = theirs.memory_stats()
    assert set(stats) == set(expected)
    assert {k: type(v) for k, v in stats.items()} == {k: type(v) for k, v in expected.items()}
    assert isinstance(stats["db.0"], dict) and stats["db.0"].keys() == expected["db.0"].keys()
    assert isinstance(r.memory_malloc_stats(), bytes)
    assert r.memory_purge() is True
    for left_out in (r.memory_doctor, r.memory_help):
        with pytest.raises(NotImplementedError):
            left_out()


@pytest.mark.parametrize("protocol", [2, 3])
def test_memory_stats_on_either_protocol(redis_server: RedisServer, protocol: int) -> None:
    with babushka.Redis(port=redis_server.port, protocol=protocol) as r:
        r.set("k", "v")
        stats = r.memory_stats()
        # RESP3 sends ratios as doubles; they come back as text, as on RESP2.
        assert all(isinstance(key, str) for key in stats)
        assert {type(v) for v in stats.values()} <= {int, str, dict}
        assert isinstance(stats["peak.allocated"], int)


@pytest.mark.every_transport
def test_slowlog(r: babushka.Redis, theirs: redis.Redis, slowlog_everything: None) -> None:
    r.set("slow", "v")
    entries = r.slowlog_get(1)
    assert len(entries) == 1
    entry = entries[0]
    assert entry["command"] == b"SET slow v"
    assert {"id", "start_time", "duration", "command", "client_address", "client_name"} <= set(
        entry
    )
    assert entry.keys() == theirs.slowlog_get(1)[0].keys()
    assert r.slowlog_len() >= 1
    assert r.slowlog_reset() is True
    assert r.slowlog_len() <= 1  # the reset itself may be logged
    with pytest.raises(babushka.DataError, match="num"):
        r.slowlog_get("2")  # type: ignore[arg-type]


def test_slowlog_entries_stay_bytes_when_decoding(
    rd: babushka.Redis, slowlog_everything: None
) -> None:
    # As redis-py's slowlog_get: a command's words may be any bytes.
    rd.set("decoded", "v")
    entry = rd.slowlog_get(1)[0]
    assert entry["command"] == b"SET decoded v"
    assert isinstance(entry["client_address"], bytes)


def test_latency(r: babushka.Redis) -> None:
    r.config_set("latency-monitor-threshold", 1)
    try:
        r.execute_command("DEBUG", "SLEEP", "0.02")
        latest = r.latency_latest()
        assert any(event[0] == b"command" for event in latest)
        history = r.latency_history("command")
        assert history and all(len(sample) == 2 for sample in history)
        assert r.latency_reset("command") == 1
        assert r.latency_reset() == 0
        assert r.latency_history("command") == []
    finally:
        r.config_set("latency-monitor-threshold", 0)
    for left_out in (r.latency_doctor, r.latency_graph, r.latency_histogram):
        with pytest.raises(NotImplementedError):
            left_out()


@pytest.mark.every_transport
def test_command_introspection(r: babushka.Redis, theirs: redis.Redis) -> None:
    commands = r.command()
    assert commands.keys() == theirs.command().keys()
    assert commands["get"]["arity"] == 2 and "readonly" in commands["get"]["flags"]
    assert r.command_count() == len(commands)
    names = r.command_list()
    assert b"get" in names and b"client|list" in names  # subcommands too
    assert set(r.command_list(pattern="xa*")) == {b"xack", b"xadd", b"xautoclaim"}
    assert b"get" in r.command_list(category="string")
    with pytest.raises(babushka.ResponseError):  # one filter only: the server says so
        r.command_list(pattern="x*", category="string")
    assert r.command_getkeys("MSET", "a", "1", "b", "2") == ["a", "b"]
    assert r.command_getkeysandflags("LMOVE", "a", "b", "LEFT", "RIGHT") == [
        [b"a", [b"RW", b"access", b"delete"]],
        [b"b", [b"RW", b"insert"]],
    ]
    with pytest.raises(babushka.DataError, match="command"):
        r.command_getkeys()
    for left_out in (r.command_info, r.command_docs):
        with pytest.raises(NotImplementedError):
            left_out()


def test_debug_object(r: babushka.Redis, theirs: redis.Redis) -> None:
    r.rpush("list", "a", "b")
    ours = r.debug_object("list")
    expected = theirs.debug_object("list")
    assert ours.keys() == expected.keys()
    assert ours["type"] == "Value" and isinstance(ours["refcount"], int)
    assert ours["encoding"] == expected["encoding"]
    with pytest.raises(babushka.ResponseError, match="no such key"):
        r.debug_object("missing")
    with pytest.raises(NotImplementedError):
        r.debug_segfault()


@pytest.mark.every_transport
async def test_async_diagnostics(ar: babushka.asyncio.Redis) -> None:
    await ar.set("k", "v")
    assert await ar.memory_usage("k") > 0
    assert isinstance((await ar.memory_stats())["keys.count"], int)
    assert (await ar.command())["set"]["name"] == "set"
    assert await ar.command_getkeys("GET", "k") == ["k"]
    assert isinstance(await ar.slowlog_get(), list)
    assert (await ar.debug_object("k"))["type"] == "Value"
