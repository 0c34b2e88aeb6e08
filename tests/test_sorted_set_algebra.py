"""ZUNION, ZINTER, ZDIFF (and their STORE forms), ZINTERCARD, ZMPOP,
ZRANDMEMBER, ZRANGESTORE and the lexicographic ranges, on both servers:
sync, async, pipelines and RESP3 (which gives RESP2's values: scores as
strings where redis-py leaves them so)."""

from __future__ import annotations

import pytest

import babushka
import babushka.asyncio
from support.refusals import Refusal, expect_refusals
from support.scenario import Check, scenario_tests, step

# Command shapes: the default transport, and the tests marked every_transport
# (a sample of each reply shape) on the others (DESIGN.md, "Tests").
pytestmark = pytest.mark.command_shapes


def to_int(score: bytes | str) -> int:
    """A ``score_cast_func``: it receives the score as the server wrote it."""
    assert isinstance(score, (bytes, str)), score
    return int(float(score))


SCENARIO = [
    step("zadd", "a", {"x": 1, "y": 2, "z": 3}, expect=3),
    step("zadd", "b", {"y": 10, "z": 20, "w": 0.5}, expect=3),
    step("zunion", ["a", "b"], expect=[b"w", b"x", b"y", b"z"]),
    step(
        "zunion",
        ["a", "b"],
        withscores=True,
        expect=[(b"w", 0.5), (b"x", 1.0), (b"y", 12.0), (b"z", 23.0)],
    ),
    step(
        "zunion",
        {"a": 2, "b": 1},
        aggregate="min",
        withscores=True,
        score_cast_func=to_int,
        expect=[(b"w", 0), (b"x", 2), (b"y", 4), (b"z", 6)],
    ),
    step("zinter", ["a", "b"], expect=[b"y", b"z"]),
    step(
        "zinter",
        {"a": 1, "b": 0},
        aggregate="MAX",
        withscores=True,
        expect=[(b"y", 2.0), (b"z", 3.0)],
    ),
    step("zdiff", ["a", "b"], expect=[b"x"]),
    step("zdiff", ["b", "a"], withscores=True, expect=[b"w", b"0.5"]),
    step("zunionstore", "u", ["a", "b"], expect=4),
    step("zinterstore", "i", {"a": 1, "b": 2}, aggregate="sum", expect=2),
    step("zscore", "i", "y", expect=22.0),
    step("zdiffstore", "d", ["a", "b"], expect=1),
    step("zintercard", 2, ["a", "b"], expect=2),
    step("zintercard", 2, ["a", "b"], limit=1, expect=1),
    step("zrangestore", "r", "a", 0, 1, expect=2),
    step("zrangestore", "r", "b", 1, 15, byscore=True, desc=False, expect=1),
    step("zrangestore", "r", "a", "(3", "-inf", byscore=True, desc=True, offset=0, num=1, expect=1),
    step("zrange", "r", 0, -1, expect=[b"y"]),
    step("zrandmember", "a", expect=Check("a member", lambda got: got in (b"x", b"y", b"z"))),
    step(
        "zrandmember",
        "a",
        5,
        expect=Check("all three", lambda got: sorted(got) == [b"x", b"y", b"z"]),
    ),
    step(
        "zrandmember",
        "b",
        -2,
        withscores=True,
        expect=Check(
            "flat [m, score, ...]",
            lambda got: (
                len(got) == 4
                and all(type(s) is bytes for s in got)
                and got[1] in (b"10", b"20", b"0.5")
            ),
        ),
    ),
    step("zrandmember", "missing", expect=None),
    step("zmpop", 2, ["missing", "a"], min=True, expect=[b"a", [[b"x", b"1"]]]),
    step("zmpop", 1, ["b"], max=True, count=2, expect=[b"b", [[b"z", b"20"], [b"y", b"10"]]]),
    step("zmpop", 1, ["missing"], min=True, expect=None),
    step("bzmpop", 1, 1, ["b"], min=True, expect=[b"b", [[b"w", b"0.5"]]]),
    step("zadd", "lex", {"a": 0, "b": 0, "c": 0, "d": 0}, expect=4),
    step("zlexcount", "lex", "[b", "+", expect=3),
    step("zrangebylex", "lex", "-", "(c", expect=[b"a", b"b"]),
    step("zrangebylex", "lex", "-", "+", start=1, num=2, expect=[b"b", b"c"]),
    step("zrevrangebylex", "lex", "+", "[b", expect=[b"d", b"c", b"b"]),
    step("zrevrangebylex", "lex", "+", "-", 0, 1, expect=[b"d"]),
    step("zremrangebylex", "lex", "[a", "[b", expect=2),
    step("zrange", "lex", 0, -1, expect=[b"c", b"d"]),
]


# BZMPOP does not block in MULTI: it answers at once there.
test_scenario, test_scenario_async, test_scenario_on_resp3, test_pipeline = scenario_tests(SCENARIO)


def test_decode_responses(rd: babushka.Redis) -> None:
    rd.zadd("a", {"é": 1.5})
    assert rd.zdiff(["a", "missing"], withscores=True) == ["é", "1.5"]
    assert rd.zmpop(1, ["a"], min=True) == ["a", [["é", "1.5"]]]


def test_bad_arguments_raise_before_sending(r: babushka.Redis) -> None:
    cases: list[Refusal] = [
        ("zunion", ([],), {}, "at least one key"),
        ("zunion", (["a"],), {"aggregate": "avg"}, "aggregate"),
        ("zinterstore", ("d", {}), {}, "at least one key"),
        ("zintercard", (3, ["a", "b"]), {}, "numkeys"),
        ("zintercard", (1, ["a"]), {"limit": -1}, "limit"),
        ("zmpop", (1, ["a"]), {}, "Either min or max"),
        ("zmpop", (1, ["a"]), {"min": True, "max": True}, "Either min or max"),
        ("zmpop", (2, ["a"]), {"min": True}, "numkeys"),
        ("zrandmember", ("a",), {"withscores": True}, "withscores needs count"),
        ("zrandmember", ("a", "2"), {}, "count"),
        ("zrangestore", ("d", "a", 0, 1), {"byscore": True, "bylex": True}, "mutually exclusive"),
        ("zrangestore", ("d", "a", 0, 1), {"offset": 0, "num": 1}, "byscore or bylex"),
        ("zrangebylex", ("a", "-", "+"), {"start": 0}, "together"),
    ]
    expect_refusals(r, cases)
    assert r.dbsize() == 0


def test_server_errors_reach_the_caller(r: babushka.Redis) -> None:
    r.set("str", "v")
    with pytest.raises(babushka.ResponseError, match="WRONGTYPE"):
        r.zunion(["str"])
    with pytest.raises(babushka.ResponseError, match="min or max not valid string range item"):
        r.zrangebylex("z", "a", "b")
