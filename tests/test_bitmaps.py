"""Bitmap commands (and LCS, SUBSTR) on both servers: sync, async,
pipelines and RESP3, with redis-py's ``BitFieldOperation`` builder."""

from __future__ import annotations

import pytest

import babushka
import babushka.asyncio
from babushka.commands.bitmaps import BitFieldOperation
from support.refusals import Refusal, expect_refusals
from support.scenario import scenario_tests, step

# Command shapes: the default transport, and the tests marked every_transport
# (a sample of each reply shape) on the others (DESIGN.md, "Tests").
pytestmark = pytest.mark.command_shapes

SCENARIO = [
    step("setbit", "b", 7, 1, expect=0),
    step("setbit", "b", 7, 1, expect=1),
    step("setbit", "b", 8, True, expect=0),
    step("setbit", "b", 9, 5, expect=0),
    step("setbit", "b", 9, False, expect=1),
    step("getbit", "b", 7, expect=1),
    step("getbit", "b", 100, expect=0),
    step("get", "b", expect=b"\x01\x80"),
    step("bitcount", "b", expect=2),
    step("bitcount", "b", 1, 1, expect=1),
    step("bitcount", "b", 0, 7, mode="BIT", expect=1),
    step("bitcount", "missing", expect=0),
    step("bitpos", "b", 1, expect=7),
    step("bitpos", "b", 0, 1, expect=9),
    step("bitpos", "b", 1, 8, 15, mode="bit", expect=8),
    step("set", "x", b"\xff\x00", expect=True),
    step("bitop", "and", "dest", "b", "x", expect=2),
    step("get", "dest", expect=b"\x01\x00"),
    step("bitop", "NOT", "dest", "b", expect=2),
    step("get", "dest", expect=b"\xfe\x7f"),
    step("bitop", "xor", "dest", "b", "x", "missing", expect=2),
    step("get", "dest", expect=b"\xfe\x80"),
    step("bitfield_ro", "b", "u8", 0, expect=[1]),
    step("bitfield_ro", "b", "u8", 0, items=[("u4", 8), ("i8", "#1")], expect=[1, 8, -128]),
    step("set", "s1", "ohmytext", expect=True),
    step("set", "s2", "mynewtext", expect=True),
    step("lcs", "s1", "s2", expect=b"mytext"),
    step("lcs", "s1", "s2", len=True, expect=6),
    step(
        "lcs",
        "s1",
        "s2",
        idx=True,
        minmatchlen=4,
        withmatchlen=True,
        expect=[b"matches", [[[4, 7], [5, 8], 4]], b"len", 6],
    ),
    step("substr", "s1", 0, 1, expect=b"oh"),
    step("substr", "s1", -4, expect=b"text"),
]


test_scenario, test_scenario_async, test_scenario_on_resp3, test_pipeline = scenario_tests(
    SCENARIO, transactions=(False, True)
)


@pytest.mark.every_transport
def test_bitfield(r: babushka.Redis) -> None:
    operation = r.bitfield("bf")
    assert isinstance(operation, BitFieldOperation)
    assert operation.set("u8", 0, 255).get("u8", 0).incrby("u8", 0, 10).execute() == [0, 255, 9]
    # execute() starts over; an overflow word is sent once, where it changes.
    operation.incrby("u8", 0, 300, overflow="SAT").incrby("u8", "#1", 5).overflow("sat")
    assert operation.command == [
        "BITFIELD",
        "bf",
        "OVERFLOW",
        "SAT",
        "INCRBY",
        "u8",
        0,
        300,
        "INCRBY",
        "u8",
        "#1",
        5,
    ]
    assert operation.execute() == [255, 5]
    failing = r.bitfield("bf", default_overflow="fail")
    assert failing.incrby("u8", 0, 1).execute() == [None]
    assert r.bitfield("bf").get("u8", 0).get("u8", 8).execute() == [255, 5]


async def test_bitfield_async(ar: babushka.asyncio.Redis) -> None:
    assert await ar.bitfield("bf").set("i8", 0, -1).get("u8", 0).execute() == [0, 255]


def test_bitfield_in_a_pipeline(r: babushka.Redis) -> None:
    pipe = r.pipeline()
    pipe.set("k", "v")
    pipe.bitfield("bf").set("u8", 0, 42).get("u8", 0).execute()
    pipe.bitfield_ro("bf", "u8", 0)
    assert pipe.execute() == [True, [0, 42], [42]]


def test_bad_arguments_raise_before_sending(r: babushka.Redis) -> None:
    cases: list[Refusal] = [
        ("setbit", ("b", "0", 1), {}, "offset"),
        ("getbit", ("b", 1.5), {}, "offset"),
        ("bitcount", ("b", 0), {}, "together"),
        ("bitcount", ("b",), {"mode": "BIT"}, "mode needs"),
        ("bitcount", ("b", 0, 1), {"mode": "WORD"}, "BYTE or BIT"),
        ("bitpos", ("b", 2), {}, "bit must be 0 or 1"),
        ("bitpos", ("b", 1), {"end": 3}, "end needs start"),
        ("bitpos", ("b", 1, 0), {"mode": "BIT"}, "mode needs"),
        ("bitop", ("NAND", "d", "b"), {}, "operation"),
        ("bitop", ("AND", "d"), {}, "at least one source"),
    ]
    expect_refusals(r, cases)
    with pytest.raises(babushka.DataError, match="overflow"):
        r.bitfield("b", default_overflow="clamp")
    with pytest.raises(babushka.DataError, match="overflow"):
        r.bitfield("b").overflow("clamp")
    with pytest.raises(babushka.DataError, match="increment"):
        r.bitfield("b").incrby("u8", 0, "1")  # type: ignore[arg-type]
    assert r.dbsize() == 0


def test_server_errors_reach_the_caller(r: babushka.Redis) -> None:
    r.rpush("list", "a")
    with pytest.raises(babushka.ResponseError, match="WRONGTYPE"):
        r.setbit("list", 0, 1)
    with pytest.raises(
        babushka.ResponseError, match="bit offset is not an integer or out of range"
    ):
        r.setbit("b", -1, 1)
    with pytest.raises(babushka.ResponseError, match="Invalid bitfield type"):
        r.bitfield("b").get("u99", 0).execute()
    with pytest.raises(babushka.ResponseError, match="BITOP NOT"):
        r.bitop("NOT", "d", "a", "b")
