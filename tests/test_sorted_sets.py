"""Sorted-set commands on both servers, sync and async."""

from __future__ import annotations

import pytest

import babushka
import babushka.asyncio
from support.scenario import scenario_tests, step
from support.servers import RedisServer

# Command shapes: the default transport, and the tests marked every_transport
# (a sample of each reply shape) on the others (DESIGN.md, "Tests").
pytestmark = pytest.mark.command_shapes


def to_int(score: bytes | str) -> int:
    """A ``score_cast_func``: it receives the score as the server wrote it."""
    assert isinstance(score, (bytes, str)), score
    return int(float(score))


SCENARIO = [
    step("zadd", "z", {"a": 1, "b": 2.5, "c": 3}, expect=3),
    step("zadd", "z", {"a": 10, "d": 4}, nx=True, expect=1),
    step("zadd", "z", {"a": 0.5, "e": 9}, xx=True, ch=True, expect=1),
    step("zadd", "z", {"b": 1}, gt=True, ch=True, expect=0),
    step("zadd", "z", {"a": 2}, incr=True, expect=2.5),
    step("zadd", "z", {"a": 2}, incr=True, nx=True, expect=None),
    step("zcard", "z", expect=4),
    step("zscore", "z", "a", expect=2.5),
    step("zscore", "z", "missing", expect=None),
    step("zmscore", "z", ["a", "missing", "d"], expect=[2.5, None, 4.0]),
    step("zincrby", "z", 0.5, "c", expect=3.5),
    step("zincrby", "z", -1, "new", expect=-1.0),
    step("zrem", "z", "new", "missing", expect=1),
    # z is now a=2.5 b=2.5 c=3.5 d=4
    step("zrange", "z", 0, -1, expect=[b"a", b"b", b"c", b"d"]),
    step("zrange", "z", 0, 1, desc=True, withscores=True, expect=[(b"d", 4.0), (b"c", 3.5)]),
    step(
        "zrange",
        "z",
        0,
        -1,
        withscores=True,
        score_cast_func=to_int,
        expect=[(b"a", 2), (b"b", 2), (b"c", 3), (b"d", 4)],
    ),
    step("zrange", "z", "(2.5", "+inf", byscore=True, expect=[b"c", b"d"]),
    step("zrange", "z", "+inf", 3, desc=True, byscore=True, offset=0, num=1, expect=[b"d"]),
    step("zrange", "z", "[b", "[c", bylex=True, expect=[b"b", b"c"]),
    step("zrevrange", "z", 0, 1, expect=[b"d", b"c"]),
    step("zrevrange", "z", -1, -1, withscores=True, expect=[(b"a", 2.5)]),
    step("zrangebyscore", "z", 3, "+inf", expect=[b"c", b"d"]),
    step(
        "zrangebyscore",
        "z",
        "-inf",
        "+inf",
        1,
        2,
        withscores=True,
        expect=[(b"b", 2.5), (b"c", 3.5)],
    ),
    step(
        "zrevrangebyscore", "z", "+inf", "(2.5", withscores=True, expect=[(b"d", 4.0), (b"c", 3.5)]
    ),
    step(
        "zrevrangebyscore",
        "z",
        4,
        0,
        0,
        1,
        withscores=True,
        score_cast_func=to_int,
        expect=[(b"d", 4)],
    ),
    step("zcount", "z", "(2.5", 4, expect=2),
    step("zcount", "z", "-inf", "+inf", expect=4),
    step("zrank", "z", "c", expect=2),
    step("zrank", "z", "missing", expect=None),
    step("zrevrank", "z", "c", expect=1),
    step("zscan", "z", match="[ab]", expect=(0, [(b"a", 2.5), (b"b", 2.5)])),
    step("zscan", "z", match="d", score_cast_func=to_int, expect=(0, [(b"d", 4)])),
    step("zpopmin", "z", expect=[(b"a", 2.5)]),
    step("zpopmax", "z", 2, expect=[(b"d", 4.0), (b"c", 3.5)]),
    step("zpopmin", "missing", expect=[]),
    step("zadd", "r", {"x": 1, "y": 2, "z": 3, "w": 4}, expect=4),
    step("zremrangebyrank", "r", 0, 1, expect=2),
    step("zremrangebyscore", "r", "(3", "+inf", expect=1),
    step("zrange", "r", 0, -1, withscores=True, expect=[(b"z", 3.0)]),
    step("zadd", "inf", {"lo": float("-inf"), "hi": float("inf")}, expect=2),
    step(
        "zrange",
        "inf",
        0,
        -1,
        withscores=True,
        expect=[(b"lo", float("-inf")), (b"hi", float("inf"))],
    ),
]


test_scenario, test_scenario_async, test_scenario_on_resp3, test_pipeline = scenario_tests(
    SCENARIO, transactions=(False, True)
)


def test_zadd_rejects_bad_arguments_before_sending(r: babushka.Redis) -> None:
    with pytest.raises(babushka.DataError, match="at least one"):
        r.zadd("z", {})
    with pytest.raises(babushka.DataError, match="mapping"):
        r.zadd("z", ["a", 1])  # type: ignore[arg-type]
    with pytest.raises(babushka.DataError, match="nx and xx"):
        r.zadd("z", {"a": 1}, nx=True, xx=True)
    with pytest.raises(babushka.DataError, match="gt and lt"):
        r.zadd("z", {"a": 1}, gt=True, lt=True)
    with pytest.raises(babushka.DataError, match="nx cannot"):
        r.zadd("z", {"a": 1}, nx=True, gt=True)
    with pytest.raises(babushka.DataError, match="exactly one"):
        r.zadd("z", {"a": 1, "b": 2}, incr=True)
    with pytest.raises(babushka.DataError, match="'mapping'"):
        r.zadd("z", {"a": None})  # type: ignore[dict-item]
    assert r.dbsize() == 0


def test_range_rejects_bad_arguments_before_sending(r: babushka.Redis) -> None:
    r.zadd("z", {"a": 1})
    with pytest.raises(babushka.DataError, match="byscore and bylex"):
        r.zrange("z", 0, 1, byscore=True, bylex=True)
    with pytest.raises(babushka.DataError, match="withscores"):
        r.zrange("z", "-", "+", bylex=True, withscores=True)
    with pytest.raises(babushka.DataError, match="together"):
        r.zrange("z", 0, 1, byscore=True, offset=1)
    with pytest.raises(babushka.DataError, match="byscore or bylex"):
        r.zrange("z", 0, 1, offset=0, num=1)
    with pytest.raises(babushka.DataError, match="together"):
        r.zrangebyscore("z", 0, 1, start=0)
    with pytest.raises(babushka.DataError, match="at least one member"):
        r.zrem("z")
    with pytest.raises(babushka.DataError, match="members"):
        r.zmscore("z", [])
    with pytest.raises(babushka.DataError, match="cursor"):
        r.zscan("z", cursor=-1)
    assert r.zrange("z", 0, -1, withscores=True) == [(b"a", 1.0)]


def test_server_errors(r: babushka.Redis) -> None:
    r.set("s", "v")
    with pytest.raises(babushka.ResponseError, match="WRONGTYPE"):
        r.zadd("s", {"a": 1})
    with pytest.raises(babushka.ResponseError, match="not a valid float"):
        r.zadd("z", {"a": "high"})
    with pytest.raises(babushka.ResponseError, match="min or max is not a float"):
        r.zcount("z", "low", 1)


def test_decode_responses(rd: babushka.Redis) -> None:
    rd.zadd("z", {"é": 1, "ü": 2})
    assert rd.zrange("z", 0, -1, withscores=True) == [("é", 1.0), ("ü", 2.0)]
    assert rd.zrange("z", 0, 0, withscores=True, score_cast_func=str) == [("é", "1")]
    assert rd.zpopmax("z") == [("ü", 2.0)]
    assert list(rd.zscan_iter("z")) == [("é", 1.0)]


def test_zscan_iter(r: babushka.Redis) -> None:
    # Past zset-max-listpack-entries, so ZSCAN really pages.
    r.zadd("z", {f"m{i}": i for i in range(300)})
    seen = dict(r.zscan_iter("z", count=20))
    assert seen == {f"m{i}".encode(): float(i) for i in range(300)}
    assert sorted(r.zscan_iter("z", match="m29?", score_cast_func=to_int)) == [
        (f"m29{i}".encode(), 290 + i) for i in range(10)
    ]


async def test_zscan_iter_async(ar: babushka.asyncio.Redis) -> None:
    await ar.zadd("z", {f"m{i}": i for i in range(200)})
    seen = [pair async for pair in ar.zscan_iter("z", count=15, score_cast_func=to_int)]
    assert sorted(seen, key=lambda pair: pair[1]) == [(f"m{i}".encode(), i) for i in range(200)]


def test_zrank_withscore(r: babushka.Redis, redis_server: RedisServer) -> None:
    # Valkey forked from Redis 7.2.4, so every Valkey has it.
    redis_server.require("ZRANK ... WITHSCORE", redis=(7, 2), valkey=(7, 2))
    r.zadd("z", {"a": 1, "b": 2})
    assert r.zrank("z", "b", withscore=True) == [1, 2.0]
    assert r.zrevrank("z", "b", withscore=True, score_cast_func=to_int) == [0, 2]
    assert r.zrank("z", "missing", withscore=True) is None
