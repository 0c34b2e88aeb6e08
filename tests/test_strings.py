"""String commands on both servers, sync and async."""

from __future__ import annotations

import datetime
import time

import pytest

import babushka

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
