"""String commands on both servers, sync and async."""

from __future__ import annotations

import datetime
import time

import pytest

import babushka
from support.recorder import Encoding, sent_words_test
from support.servers import RedisServer

# Command shapes: the default transport, and the tests marked every_transport
# (a sample of each reply shape) on the others (DESIGN.md, "Tests").
pytestmark = pytest.mark.command_shapes


@pytest.mark.every_transport
def test_set_get_roundtrip_binary(r: babushka.Redis) -> None:
    assert r.set("k", b"\x00\xff\r\n") is True
    assert r.get("k") == b"\x00\xff\r\n"
    assert r.get("missing") is None


def test_set_options(r: babushka.Redis) -> None:
    assert r.set("k", "v", nx=True) is True
    assert r.set("k", "w", nx=True) is None
    assert r.get("k") == b"v"
    assert r.set("k", "w", xx=True) is True
    assert r.set("missing", "w", xx=True) is None
    assert r.exists("missing") == 0
    assert r.set("k", "x", get=True) == b"w"
    assert r.get("k") == b"x"
    assert r.ttl("k") == -1
    assert r.set("k", "y", ex=100) is True
    assert 90 < r.ttl("k") <= 100
    assert r.set("k", "z", px=datetime.timedelta(seconds=50)) is True
    assert 40_000 < r.pttl("k") <= 50_000  # PX replaced the 100 s expiry
    assert r.set("k", "z", px=1500) is True
    assert 500 < r.pttl("k") <= 1500  # an int is milliseconds
    assert r.set("k", "y", ex=datetime.timedelta(seconds=100)) is True
    assert 90 < r.ttl("k") <= 100
    assert r.set("k", "kept", keepttl=True) is True
    assert r.get("k") == b"kept"
    assert 90 < r.ttl("k") <= 100  # the expiry survived the write
    assert r.set("k", "plain") is True
    assert r.ttl("k") == -1  # a plain SET drops it: KEEPTTL is what kept it
    at = int(time.time()) + 200
    assert r.set("k", "a", exat=at) is True
    assert 190 < r.ttl("k") <= 200
    assert r.set("k", "b", pxat=at * 1000) is True
    assert 190_000 < r.pttl("k") <= 200_000


def test_set_rejects_bad_arguments_before_sending(r: babushka.Redis) -> None:
    with pytest.raises(babushka.DataError, match="'value'"):
        r.set("k", None)  # type: ignore[arg-type]
    with pytest.raises(babushka.DataError, match="ex"):
        r.set("k", "v", ex=-1)
    with pytest.raises(babushka.DataError):
        r.set("k", "v", nx=True, xx=True)
    with pytest.raises(babushka.DataError, match="'name'"):
        r.get({"a": 1})  # type: ignore[arg-type]
    assert r.dbsize() == 0


def test_counters(r: babushka.Redis) -> None:
    assert r.incr("n") == 1
    assert r.incrby("n", 5) == 6
    assert r.decr("n") == 5
    assert r.incrbyfloat("f", 1.5) == 1.5
    with pytest.raises(babushka.ResponseError, match="not an integer"):
        r.set("s", "abc")
        r.incr("s")


@pytest.mark.every_transport
def test_decode_responses(rd: babushka.Redis) -> None:
    rd.set("k", "héllo")
    assert rd.get("k") == "héllo"
    assert rd.mget(["k", "missing"]) == ["héllo", None]


@pytest.mark.every_transport
async def test_async_set_get(ar: babushka.asyncio.Redis) -> None:
    assert await ar.set("k", "v") is True
    assert await ar.get("k") == b"v"
    assert await ar.mget("k", "nope") == [b"v", None]
    with pytest.raises(babushka.DataError):
        ar.set("k", None)  # type: ignore[arg-type]


def test_float_subclass_is_sent_as_a_plain_float(r: babushka.Redis) -> None:
    class Price(float):
        def __repr__(self) -> str:
            return f"Price({float(self)})"

    r.set("k", Price(1.5))
    assert r.get("k") == b"1.5"


def test_none_inside_a_container_is_named_by_the_container(r: babushka.Redis) -> None:
    with pytest.raises(babushka.DataError, match="'names'"):
        r.delete(*["a", None])  # type: ignore[list-item]
    with pytest.raises(babushka.DataError, match="'mapping'"):
        r.mset({"a": None})  # type: ignore[dict-item]


#: Redis 8.4's value conditions and MSETEX: what is sent (the test servers
#: have none of them, but Valkey's SET IFEQ).
NEWER_SERVER_ENCODINGS: list[Encoding] = [
    ("set", ("k", "v"), {"ifeq": "old"}, ["SET", "k", "v", "IFEQ", "old"]),
    (
        "set",
        ("k", "v"),
        {"ifne": "old", "get": True, "ex": 5},
        ["SET", "k", "v", "EX", 5, "IFNE", "old", "GET"],
    ),
    ("set", ("k", "v"), {"ifdeq": "abc1"}, ["SET", "k", "v", "IFDEQ", "abc1"]),
    (
        "set",
        ("k", "v"),
        {"ifdne": "abc1", "keepttl": True},
        ["SET", "k", "v", "KEEPTTL", "IFDNE", "abc1"],
    ),
    ("delex", ("k",), {}, ["DELEX", "k"]),
    ("delex", ("k",), {"ifeq": b"v"}, ["DELEX", "k", "IFEQ", "v"]),
    ("delex", ("k",), {"ifdne": "abc1"}, ["DELEX", "k", "IFDNE", "abc1"]),
    ("digest", ("k",), {}, ["DIGEST", "k"]),
    ("msetex", ({"a": 1, "b": 2},), {}, ["MSETEX", 2, "a", 1, "b", 2]),
    (
        "msetex",
        ({"a": 1},),
        {"data_persist_option": "NX", "px": 500},
        ["MSETEX", 1, "a", 1, "NX", "PX", 500],
    ),
    ("msetex", ({"a": 1},), {"keepttl": True}, ["MSETEX", 1, "a", 1, "KEEPTTL"]),
]


test_what_newer_forms_send = sent_words_test(NEWER_SERVER_ENCODINGS)


def test_set_ifeq_where_the_server_has_it(r: babushka.Redis, redis_server: RedisServer) -> None:
    redis_server.require("SET ... IFEQ", redis=(8, 4), valkey=(8, 1))
    r.set("k", "v")
    assert r.set("k", "w", ifeq="nope") is None
    assert r.set("k", "w", ifeq="v") is True
    assert r.get("k") == b"w"


def test_newer_forms_refuse_bad_arguments(r: babushka.Redis) -> None:
    with pytest.raises(babushka.DataError, match="mutually exclusive"):
        r.set("k", "v", nx=True, ifeq="v")
    with pytest.raises(babushka.DataError, match="only one of"):
        r.set("k", "v", ifeq="v", ifne="w")
    with pytest.raises(babushka.DataError, match="only one of"):
        r.delex("k", ifdeq="a", ifdne="b")
    with pytest.raises(babushka.DataError, match="NX or XX"):
        r.msetex({"a": 1}, data_persist_option="FNX")
    with pytest.raises(babushka.DataError, match="mutually exclusive"):
        r.msetex({"a": 1}, ex=1, keepttl=True)
    with pytest.raises(babushka.DataError, match="mapping"):
        r.msetex({})
    assert r.dbsize() == 0
