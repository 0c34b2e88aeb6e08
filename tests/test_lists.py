"""List commands on both servers, sync and async."""

from __future__ import annotations

import pytest

import babushka
import babushka.asyncio
from support.scenario import scenario_tests, step

# Command shapes: the default transport, and the tests marked every_transport
# (a sample of each reply shape) on the others (DESIGN.md, "Tests").
pytestmark = pytest.mark.command_shapes

SCENARIO = [
    step("lpushx", "l", "a", expect=0),
    step("rpush", "l", "c", "d", expect=2),
    step("lpush", "l", "b", "a", expect=4),  # the last value pushed ends up first
    step("rpushx", "l", "e", expect=5),
    step("lrange", "l", 0, -1, expect=[b"a", b"b", b"c", b"d", b"e"]),
    step("llen", "l", expect=5),
    step("llen", "missing", expect=0),
    step("lindex", "l", -1, expect=b"e"),
    step("lindex", "l", 99, expect=None),
    step("lset", "l", 0, "A", expect=True),
    step("linsert", "l", "before", "c", "x", expect=6),
    step("linsert", "l", "AFTER", "c", "x", expect=7),
    step("linsert", "l", "after", "nope", "x", expect=-1),
    step("lrange", "l", 1, 5, expect=[b"b", b"x", b"c", b"x", b"d"]),
    step("lpos", "l", "x", expect=2),
    step("lpos", "l", "x", rank=-1, expect=4),
    step("lpos", "l", "x", count=0, expect=[2, 4]),
    step("lpos", "l", "x", count=1, maxlen=2, expect=[]),
    step("lpos", "l", "nope", expect=None),
    step("lrem", "l", 0, "x", expect=2),
    step("ltrim", "l", 0, 3, expect=True),
    step("lrange", "l", 0, -1, expect=[b"A", b"b", b"c", b"d"]),
    step("lpop", "l", expect=b"A"),
    step("rpop", "l", expect=b"d"),
    step("lpush", "l", "z", expect=3),
    step("lpop", "l", count=2, expect=[b"z", b"b"]),
    step("rpop", "l", 5, expect=[b"c"]),
    step("lpop", "l", expect=None),
    step("lpop", "l", 2, expect=None),
    step("rpush", "src", 1, 2, 3, expect=3),
    step("lmove", "src", "dst", expect=b"1"),
    step("lmove", "src", "dst", "right", "left", expect=b"3"),
    # The ends as bytes too, as redis-py's tests give them.
    step("rpush", "src", 4, expect=2),
    step("lmove", "src", "dst", b"RIGHT", memoryview(b"LEFT"), expect=b"4"),
    step("lpop", "dst", expect=b"4"),
    step("rpoplpush", "src", "dst", expect=b"2"),
    step("rpoplpush", "src", "dst", expect=None),
    step("lrange", "dst", 0, -1, expect=[b"2", b"3", b"1"]),
    step("lmpop", 2, "missing", "dst", direction="left", expect=[b"dst", [b"2"]]),
    step("lmpop", "1", "dst", direction="RIGHT", count=5, expect=[b"dst", [b"1", b"3"]]),
    step("lmpop", 1, "dst", direction="LEFT", expect=None),
]


test_scenario, test_scenario_async, test_scenario_on_resp3, test_pipeline = scenario_tests(SCENARIO)


def test_lmpop_rejects_bad_arguments_before_sending(r: babushka.Redis) -> None:
    with pytest.raises(babushka.DataError, match="numkeys"):
        r.lmpop(2, "a", direction="LEFT")
    with pytest.raises(babushka.DataError, match="direction"):
        r.lmpop(1, "a", direction="up")
    with pytest.raises(babushka.DataError, match="count"):
        r.lmpop(1, "a", direction="LEFT", count=0)
    r.set("str", "v")
    with pytest.raises(babushka.ResponseError, match="WRONGTYPE"):
        r.lmpop(1, "str", direction="LEFT")


def test_bad_arguments_are_rejected_before_sending(r: babushka.Redis) -> None:
    for push in (r.lpush, r.rpush, r.lpushx, r.rpushx):
        with pytest.raises(babushka.DataError, match="at least one value"):
            push("l")
    with pytest.raises(babushka.DataError, match="where"):
        r.linsert("l", "middle", "a", "b")
    with pytest.raises(babushka.DataError, match="src"):
        r.lmove("a", "b", src="UP")
    with pytest.raises(babushka.DataError, match="dest"):
        r.lmove("a", "b", dest=1)  # type: ignore[arg-type]
    with pytest.raises(babushka.DataError, match="'values'"):
        r.rpush("l", "a", None)  # type: ignore[arg-type]
    assert r.dbsize() == 0


def test_server_errors(r: babushka.Redis) -> None:
    r.set("s", "v")
    with pytest.raises(babushka.ResponseError, match="WRONGTYPE"):
        r.lpush("s", "a")
    with pytest.raises(babushka.ResponseError, match="no such key"):
        r.lset("missing", 0, "v")
    r.rpush("l", "a")
    with pytest.raises(babushka.ResponseError, match="index out of range"):
        r.lset("l", 5, "v")
    with pytest.raises(babushka.ResponseError, match="positive"):
        r.lpop("l", -1)


def test_binary_and_decoded_values(r: babushka.Redis, rd: babushka.Redis) -> None:
    r.rpush("bin", b"\x00\xff", "é", 7, 1.5)
    assert r.lrange("bin", 0, -1) == [b"\x00\xff", "é".encode(), b"7", b"1.5"]
    rd.rpush("l", "é", "ü")
    assert rd.lrange("l", 0, -1) == ["é", "ü"]
    assert rd.lpop("l", 2) == ["é", "ü"]


async def test_async_errors(ar: babushka.asyncio.Redis) -> None:
    await ar.set("s", "v")
    with pytest.raises(babushka.ResponseError, match="WRONGTYPE"):
        await ar.rpush("s", "a")
    with pytest.raises(babushka.DataError):
        ar.linsert("l", "inside", "a", "b")
