"""Generic key commands on both servers, sync and async."""

from __future__ import annotations

import datetime
import time
from collections.abc import Iterator

import pytest

import babushka
import babushka.asyncio
from support.recorder import as_words, words_sent
from support.scenario import Check, scenario_tests, step
from support.servers import RedisServer

# Command shapes: the default transport, and the tests marked every_transport
# (a sample of each reply shape) on the others (DESIGN.md, "Tests").
pytestmark = pytest.mark.command_shapes

# Fixed when the module is imported, which may be minutes before a scenario
# runs (the suite runs on two servers in turn): checks below allow for that.
IN_AN_HOUR = int(time.time()) + 3600

SCENARIO = [
    step("set", "a", "1", expect=True),
    step("set", "b", "2", expect=True),
    step("exists", "a", "b", "a", "missing", expect=3),
    step("touch", "a", "missing", expect=1),
    step("type", "a", expect=b"string"),
    step("type", "missing", expect=b"none"),
    step("ttl", "a", expect=-1),
    step("pttl", "missing", expect=-2),
    step("expire", "a", 100, expect=True),
    step("expire", "a", 50, gt=True, expect=False),
    step("expire", "a", 200, gt=True, expect=True),
    step("expire", "a", 10, nx=True, expect=False),
    step("expire", "missing", 10, expect=False),
    step("ttl", "a", expect=Check("0 < ttl <= 200", lambda t: 190 < t <= 200)),
    step("pexpire", "a", datetime.timedelta(seconds=300), xx=True, expect=True),
    step("pttl", "a", expect=Check("0 < pttl <= 300000", lambda t: 290_000 < t <= 300_000)),
    step("persist", "a", expect=True),
    step("persist", "a", expect=False),
    step("expireat", "b", IN_AN_HOUR, expect=True),
    step("ttl", "b", expect=Check("under an hour", lambda t: 1800 < t <= 3600)),
    step("pexpireat", "b", IN_AN_HOUR * 1000, lt=True, expect=False),
    step("pexpireat", "b", (IN_AN_HOUR - 60) * 1000, lt=True, expect=True),
    step("rename", "a", "c", expect=True),
    step("renamenx", "c", "b", expect=False),
    step("renamenx", "c", "a", expect=True),
    step("copy", "a", "a2", expect=True),
    step("copy", "b", "a2", expect=False),
    step("copy", "b", "a2", replace=True, expect=True),
    step("get", "a2", expect=b"2"),
    step("keys", expect=Check("a, a2, b", lambda ks: sorted(ks) == [b"a", b"a2", b"b"])),
    step("keys", "a*", expect=Check("a, a2", lambda ks: sorted(ks) == [b"a", b"a2"])),
    step("randomkey", expect=Check("an existing key", lambda k: k in (b"a", b"a2", b"b"))),
    step("scan", 0, match="a2", count=100, expect=(0, [b"a2"])),
    step("scan", 0, _type="hash", expect=(0, [])),
    step("delete", "a", "missing", expect=1),
    step("unlink", "a2", "b", expect=2),
    step("randomkey", expect=None),
    step("dump", "missing", expect=None),
]


test_scenario, test_scenario_async, test_scenario_on_resp3, test_pipeline = scenario_tests(
    SCENARIO, transactions=(False, True)
)


def test_expire_with_datetime_and_timedelta(r: babushka.Redis) -> None:
    r.set("k", "v")
    assert r.expire("k", datetime.timedelta(minutes=1)) is True
    assert 50 < r.ttl("k") <= 60
    when = datetime.datetime.now() + datetime.timedelta(minutes=10)
    assert r.expireat("k", when) is True
    assert 590 < r.ttl("k") <= 600
    assert r.pexpireat("k", when) is True
    assert 590_000 < r.pttl("k") <= 600_000


def test_expire_rejects_bad_arguments_before_sending(r: babushka.Redis) -> None:
    r.set("k", "v")
    with pytest.raises(babushka.DataError, match="nx"):
        r.expire("k", 10, nx=True, xx=True)
    with pytest.raises(babushka.DataError, match="gt and lt"):
        r.pexpire("k", 10, gt=True, lt=True)
    with pytest.raises(babushka.DataError, match="time"):
        r.expire("k", -1)
    with pytest.raises(babushka.DataError, match="when"):
        r.expireat("k", "tomorrow")  # type: ignore[arg-type]
    with pytest.raises(babushka.DataError, match="'name'"):
        r.expire(None, 10)  # type: ignore[arg-type]
    assert r.ttl("k") == -1


def test_variadic_commands_need_a_key(r: babushka.Redis) -> None:
    for method in (r.delete, r.unlink, r.exists, r.touch):
        with pytest.raises(babushka.DataError, match="at least one key"):
            method()


def test_rename_missing_key_is_a_server_error(r: babushka.Redis) -> None:
    with pytest.raises(babushka.ResponseError, match="no such key"):
        r.rename("missing", "other")


def test_scan_iter_walks_every_page(r: babushka.Redis) -> None:
    r.mset({f"key:{i}": i for i in range(250)})
    r.set("other", "x")
    r.execute_command("HSET", "hash:1", "f", "v")
    # count=10 forces many pages, so the cursor really is followed.
    assert sorted(r.scan_iter(match="key:*", count=10)) == sorted(
        f"key:{i}".encode() for i in range(250)
    )
    assert list(r.scan_iter(_type="hash")) == [b"hash:1"]
    cursor, page = r.scan(0, match="key:*", count=10)
    assert isinstance(cursor, int) and cursor > 0
    assert all(key.startswith(b"key:") for key in page)


async def test_scan_iter_async(ar: babushka.asyncio.Redis) -> None:
    await ar.mset({f"key:{i}": i for i in range(120)})
    keys = [key async for key in ar.scan_iter(match="key:*", count=7)]
    assert sorted(keys) == sorted(f"key:{i}".encode() for i in range(120))


def test_scan_rejects_bad_arguments_before_sending(r: babushka.Redis) -> None:
    with pytest.raises(babushka.DataError, match="count"):
        r.scan(0, count=0)
    with pytest.raises(babushka.DataError, match="cursor"):
        r.scan(-1)
    with pytest.raises(babushka.DataError, match="count"):
        r.scan_iter(count="10")  # type: ignore[arg-type]


def test_decode_responses(rd: babushka.Redis) -> None:
    rd.set("clé", "v")
    assert rd.keys() == ["clé"]
    assert rd.type("clé") == "string"
    assert rd.scan() == (0, ["clé"])
    assert list(rd.scan_iter()) == ["clé"]
    assert rd.randomkey() == "clé"


@pytest.fixture
def db1(redis_server: RedisServer, transport: str) -> Iterator[babushka.Redis]:
    """A client on database 1, emptied before and after."""
    client = babushka.Redis(
        host=redis_server.host, port=redis_server.port, db=1, transport=transport
    )
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


def test_move_and_copy_across_databases(r: babushka.Redis, db1: babushka.Redis) -> None:
    r.set("k", "v")
    assert r.copy("k", "copied", destination_db=1) is True
    assert db1.get("copied") == b"v"
    assert r.move("k", 1) is True
    assert r.exists("k") == 0
    assert db1.get("k") == b"v"
    assert r.move("k", 1) is False
    with pytest.raises(babushka.DataError, match="db"):
        r.move("k", "1")  # type: ignore[arg-type]


def test_dump_and_restore(r: babushka.Redis) -> None:
    r.set("original", b"\x00value")
    payload = r.dump("original")
    assert isinstance(payload, bytes)
    assert r.restore("copy", 0, payload) == b"OK"
    assert r.get("copy") == b"\x00value"
    with pytest.raises(babushka.ResponseError, match="BUSYKEY"):
        r.restore("copy", 0, payload)
    assert r.restore("copy", 5000, payload, replace=True) == b"OK"
    assert 0 < r.pttl("copy") <= 5000
    with pytest.raises(babushka.DataError, match="idletime and frequency"):
        r.restore("other", 0, payload, idletime=1, frequency=1)
    with pytest.raises(babushka.DataError, match="ttl"):
        r.restore("other", -5, payload)
    assert r.exists("other") == 0


async def test_async_errors(ar: babushka.asyncio.Redis) -> None:
    with pytest.raises(babushka.ResponseError, match="no such key"):
        await ar.rename("missing", "other")
    with pytest.raises(babushka.DataError):
        ar.expire("k", 1, gt=True, lt=True)


def test_dump_is_bytes_even_when_decoding(rd: babushka.Redis) -> None:
    # A DUMP payload is binary; decode_responses must not try to decode it.
    rd.set("k", "v")
    payload = rd.dump("k")
    assert isinstance(payload, bytes)
    rd.delete("k")
    assert rd.restore("k", 0, payload) == "OK"
    assert rd.get("k") == "v"


def test_object_and_expiry_times(r: babushka.Redis) -> None:
    r.set("k", "12345")
    assert r.object("encoding", "k") == b"int"
    assert r.object("REFCOUNT", "k") == 1
    assert isinstance(r.object("idletime", "k"), int)
    assert r.object("encoding", "missing") is None
    assert r.expiretime("k") == -1
    assert r.pexpiretime("missing") == -2
    r.expireat("k", IN_AN_HOUR)
    assert r.expiretime("k") == IN_AN_HOUR
    assert r.pexpiretime("k") == IN_AN_HOUR * 1000
    with pytest.raises(babushka.DataError, match="infotype"):
        r.object("size", "k")
    with pytest.raises(babushka.ResponseError, match="LFU"):
        r.object("freq", "k")  # the default eviction policy keeps no frequency
    pipe = r.pipeline()
    pipe.object("encoding", "k").expiretime("k").pexpiretime("k")
    assert pipe.execute() == [b"int", IN_AN_HOUR, IN_AN_HOUR * 1000]


def test_wait_and_waitaof(r: babushka.Redis, redis_server: RedisServer) -> None:
    r.set("k", "v")
    # No replicas: WAIT answers at once with 0 (a timeout of 0 would wait for
    # ever only if replicas were asked for and missing).
    assert r.wait(0, 100) == 0
    with pytest.raises(babushka.DataError, match="num_replicas"):
        r.wait(-1, 0)
    with pytest.raises(babushka.DataError, match="timeout"):
        r.waitaof(0, 0, 1.5)  # type: ignore[arg-type]
    redis_server.require("WAITAOF", redis=(7, 2), valkey=(7, 2))
    assert r.waitaof(0, 0, 100) == [0, 0]
    with pytest.raises(babushka.ResponseError, match="appendonly"):
        r.waitaof(1, 0, 100)  # the test servers keep no AOF


def test_waitaof_encoding(redis_server: RedisServer) -> None:
    """What WAITAOF sends, on every server (Redis 7.0 answers with an error)."""
    sent = words_sent(redis_server.host, redis_server.port, lambda r: r.waitaof(0, 1, 50))
    assert sent == as_words("WAITAOF", 0, 1, 50)
