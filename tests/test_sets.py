"""Set commands on both servers, sync and async."""

from __future__ import annotations

from typing import Any

import pytest

import babushka
import babushka.asyncio
from support.recorder import as_words, words_sent
from support.scenario import Check, scenario_tests, step
from support.servers import RedisServer

# Command shapes: the default transport, and the tests marked every_transport
# (a sample of each reply shape) on the others (DESIGN.md, "Tests").
pytestmark = pytest.mark.command_shapes

MEMBERS = {b"a", b"b", b"c"}

SCENARIO = [
    step("sadd", "s", "a", "b", "c", "a", expect=3),
    step("sadd", "t", "b", "c", "d", expect=3),
    step("smembers", "s", expect=Check("{a, b, c}", lambda m: m == MEMBERS)),
    step("smembers", "missing", expect=Check("empty set", lambda m: m == set())),
    step("scard", "s", expect=3),
    step("sismember", "s", "a", expect=True),
    step("sismember", "s", "z", expect=False),
    step("smismember", "s", ["a", "z"], expect=[True, False]),
    step("smismember", "s", "c", "b", expect=[True, True]),
    step("sinter", ["s", "t"], expect=Check("{b, c}", lambda m: m == {b"b", b"c"})),
    step("sunion", "s", "t", expect=Check("{a..d}", lambda m: m == {b"a", b"b", b"c", b"d"})),
    step("sdiff", "s", "t", expect=Check("{a}", lambda m: m == {b"a"})),
    step("sinterstore", "i", ["s", "t"], expect=2),
    step("sunionstore", "u", "s", "t", expect=4),
    step("sdiffstore", "d", ["t", "s"], expect=1),
    step("smembers", "d", expect=Check("{d}", lambda m: m == {b"d"})),
    step("smove", "s", "t", "a", expect=True),
    step("smove", "s", "t", "a", expect=False),
    step("srem", "t", "a", "z", expect=1),
    step(
        "sscan", "u", match="[ab]", expect=Check("(0, a b)", lambda p: sorted(p[1]) == [b"a", b"b"])
    ),
    step("srandmember", "s", expect=Check("b or c", lambda m: m in (b"b", b"c"))),
    step("srandmember", "s", 5, expect=Check("[b, c]", lambda m: sorted(m) == [b"b", b"c"])),
    step("srandmember", "s", -3, expect=Check("3 picks", lambda m: len(m) == 3)),
    step("srandmember", "missing", expect=None),
    step("spop", "s", expect=Check("b or c", lambda m: m in (b"b", b"c"))),
    step("spop", "u", 10, expect=Check("a..d", lambda m: sorted(m) == [b"a", b"b", b"c", b"d"])),
    step("spop", "u", expect=None),
    step("exists", "u", expect=0),
    step("sadd", "x", "a", "b", "c", expect=3),
    step("sadd", "y", "b", "c", "d", expect=3),
    step("sintercard", 2, ["x", "y"], expect=2),
    step("sintercard", 2, ["x", "y"], limit=1, expect=1),
    step("sintercard", 2, ["x", "missing"], expect=0),
]


test_scenario, test_scenario_async, test_scenario_on_resp3, test_pipeline = scenario_tests(SCENARIO)


@pytest.mark.parametrize(
    ("call", "words"),
    [
        (lambda r: r.sdiffcard(2, ["a", "b"]), ["SDIFFCARD", 2, "a", "b", "LIMIT", 0]),
        (lambda r: r.sunioncard(1, ["a"], limit=5), ["SUNIONCARD", 1, "a", "LIMIT", 5]),
        (
            lambda r: r.sunioncard(1, ["a"], approx=True),
            ["SUNIONCARD", 1, "a", "APPROX", "LIMIT", 0],
        ),
    ],
)
def test_what_newer_commands_send(redis_server: RedisServer, call: Any, words: list[Any]) -> None:
    """SDIFFCARD and SUNIONCARD (newer Redis than 8.4): what is sent."""
    assert words_sent(redis_server.host, redis_server.port, call) == as_words(*words)


def test_sintercard_rejects_bad_arguments_before_sending(r: babushka.Redis) -> None:
    with pytest.raises(babushka.DataError, match="numkeys"):
        r.sintercard(3, ["a", "b"])
    with pytest.raises(babushka.DataError, match="limit"):
        r.sintercard(1, ["a"], limit=-1)
    with pytest.raises(babushka.DataError, match="numkeys"):
        r.sdiffcard(1, ["a", "b"])
    with pytest.raises(babushka.DataError, match="limit"):
        r.sunioncard(1, ["a"], limit="5")  # type: ignore[arg-type]
    r.set("str", "v")
    with pytest.raises(babushka.ResponseError, match="WRONGTYPE"):
        r.sintercard(1, ["str"])


@pytest.mark.every_transport
def test_set_replies_are_python_sets(r: babushka.Redis, rd: babushka.Redis) -> None:
    r.sadd("s", b"\x00", 1, "x")
    members = r.smembers("s")
    assert type(members) is set and members == {b"\x00", b"1", b"x"}
    assert type(r.sinter("missing", "s")) is set
    rd.sadd("d", "é", "ü")
    assert rd.smembers("d") == {"é", "ü"}
    assert rd.sunion("d", "missing") == {"é", "ü"}


def test_bad_arguments_are_rejected_before_sending(r: babushka.Redis) -> None:
    with pytest.raises(babushka.DataError, match="at least one member"):
        r.sadd("s")
    with pytest.raises(babushka.DataError, match="at least one member"):
        r.srem("s")
    with pytest.raises(babushka.DataError, match="at least one key"):
        r.sinter([])
    with pytest.raises(babushka.DataError, match="values"):
        r.smismember("s", [])
    with pytest.raises(babushka.DataError, match="'values'"):
        r.sadd("s", "a", None)  # type: ignore[arg-type]
    with pytest.raises(babushka.DataError, match="count"):
        r.sscan_iter("s", count=0)
    assert r.dbsize() == 0


def test_wrong_type_is_the_servers_error(r: babushka.Redis) -> None:
    r.set("str", "v")
    with pytest.raises(babushka.ResponseError, match="WRONGTYPE"):
        r.sadd("str", "a")
    with pytest.raises(babushka.ResponseError, match="WRONGTYPE"):
        r.sinter("str", "other")


def test_sscan_iter(r: babushka.Redis) -> None:
    # More members than the listpack/intset encodings hold, so SSCAN pages.
    r.sadd("s", *(f"m{i}" for i in range(400)))
    assert sorted(r.sscan_iter("s", count=25)) == sorted(f"m{i}".encode() for i in range(400))
    assert sorted(r.sscan_iter("s", match="m39?")) == sorted(f"m39{i}".encode() for i in range(10))


async def test_sscan_iter_async(ar: babushka.asyncio.Redis) -> None:
    # Strings, not integers: an intset would be returned in a single page.
    await ar.sadd("s", *(f"m{i}" for i in range(300)))
    seen = [m async for m in ar.sscan_iter("s", count=30)]
    assert sorted(seen) == sorted(f"m{i}".encode() for i in range(300))
