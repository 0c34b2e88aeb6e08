"""Stream commands on both servers: sync, async, pipelines and RESP3, with
redis-py's values (entries as ``(id, {field: value})``, ``xread`` as
``[[stream, entries]]``)."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

import babushka
import babushka.asyncio
from support.recorder import Encoding, sent_words_test
from support.refusals import Refusal, expect_refusals
from support.scenario import Check, run_async, run_pipeline, run_resp3, run_sync, step
from support.servers import RedisServer

# Command shapes: the default transport, and the tests marked every_transport
# (a sample of each reply shape) on the others (DESIGN.md, "Tests").
pytestmark = pytest.mark.command_shapes

E1 = (b"1-0", {b"a": b"1"})
E2 = (b"2-0", {b"b": b"2", b"c": b"3"})
E3 = (b"3-0", {b"d": b"4"})


def _is_ms(value: Any) -> bool:
    return type(value) is int and 0 <= value < 60_000


SCENARIO = [
    step("xadd", "s", {"a": 1}, id="1-0", expect=b"1-0"),
    step("xadd", "s", {"b": 2, "c": 3}, id="2-0", expect=b"2-0"),
    step("xadd", "s", {"d": 4}, id="3-0", maxlen=10, approximate=False, expect=b"3-0"),
    step("xadd", "missing", {"a": 1}, nomkstream=True, expect=None),
    step("xlen", "s", expect=3),
    step("xlen", "missing", expect=0),
    step("xrange", "s", expect=[E1, E2, E3]),
    step("xrange", "s", "2-0", count=1, expect=[E2]),
    step("xrange", "missing", expect=[]),
    step("xrange", "s", count=0, expect=None),  # the server answers nil
    step("xrevrange", "s", expect=[E3, E2, E1]),
    step("xrevrange", "s", "+", "2-0", count=5, expect=[E3, E2]),
    step("xread", {"s": "1-0"}, expect=[[b"s", [E2, E3]]]),
    step("xread", {"s": 0, "missing": 0}, count=1, expect=[[b"s", [E1]]]),
    step("xread", {"s": "$"}, block=10, expect=[]),
    step("xgroup_create", "s", "g", 0, expect=True),
    step("xgroup_create", "new", "g", "$", mkstream=True, entries_read=0, expect=True),
    step("xgroup_createconsumer", "s", "g", "idle", expect=1),
    step("xreadgroup", "g", "c", {"s": ">"}, count=2, expect=[[b"s", [E1, E2]]]),
    step("xreadgroup", "g", "c", {"s": "0"}, expect=[[b"s", [E1, E2]]]),
    step("xreadgroup", "g", "c", {"s": ">"}, noack=True, expect=[[b"s", [E3]]]),
    step("xreadgroup", "g", "c", {"s": ">"}, block=10, expect=[]),
    step(
        "xpending",
        "s",
        "g",
        expect={
            "pending": 2,
            "min": b"1-0",
            "max": b"2-0",
            "consumers": [{"name": b"c", "pending": 2}],
        },
    ),
    step(
        "xpending",
        "new",
        "g",
        expect={"pending": 0, "min": None, "max": None, "consumers": []},
    ),
    step(
        "xpending_range",
        "s",
        "g",
        "-",
        "+",
        10,
        consumername="c",
        expect=Check(
            "two pending entries of c",
            lambda got: (
                [(e["message_id"], e["consumer"], e["times_delivered"]) for e in got]
                == [(b"1-0", b"c", 2), (b"2-0", b"c", 2)]
                and all(_is_ms(e["time_since_delivered"]) for e in got)
                and all(
                    list(e) == ["message_id", "consumer", "time_since_delivered", "times_delivered"]
                    for e in got
                )
            ),
        ),
    ),
    step("xpending_range", "s", "g", "-", "+", 10, idle=3_600_000, expect=[]),
    step(
        "xpending_range",
        "new",
        "g",
        None,
        None,
        None,
        expect={"pending": 0, "min": None, "max": None, "consumers": []},
    ),
    step("xclaim", "s", "g", "d", 0, ["1-0"], expect=[E1]),
    step("xclaim", "s", "g", "d", 0, ("2-0",), idle=5, retrycount=3, justid=True, expect=[b"2-0"]),
    step("xclaim", "s", "g", "d", 0, ["3-0"], force=True, justid=True, expect=[b"3-0"]),
    step("xautoclaim", "s", "g", "e", 0, count=1, expect=[b"2-0", [E1], []]),
    step("xautoclaim", "s", "g", "e", 0, "2-0", justid=True, expect=[b"2-0", b"3-0"]),
    step("xack", "s", "g", "1-0", "2-0", "9-0", expect=2),
    step("xgroup_delconsumer", "s", "g", "e", expect=1),
    step("xgroup_setid", "s", "g", "1-0", entries_read=1, expect=True),
    step(
        "xinfo_groups",
        "s",
        expect=Check(
            "one group g with str keys",
            lambda got: (
                len(got) == 1
                and got[0]["name"] == b"g"
                and got[0]["last-delivered-id"] == b"1-0"
                and got[0]["pending"] == 0
                and all(type(k) is str for k in got[0])
            ),
        ),
    ),
    step(
        "xinfo_consumers",
        "s",
        "g",
        expect=Check(
            "consumers c, d and idle",
            lambda got: (
                sorted(c["name"] for c in got) == [b"c", b"d", b"idle"]
                and all(type(k) is str and _is_ms(c["idle"]) for c in got for k in c)
            ),
        ),
    ),
    step(
        "xinfo_stream",
        "s",
        expect=Check(
            "length 3, first and last entries parsed",
            lambda got: (
                got["length"] == 3
                and got["groups"] == 1
                and got["first-entry"] == E1
                and got["last-entry"] == E3
                and got["last-generated-id"] == b"3-0"
            ),
        ),
    ),
    step(
        "xinfo_stream",
        "s",
        full=True,
        expect=Check(
            "entries as a dict, groups and consumers as dicts",
            lambda got: (
                got["entries"] == dict([E1, E2, E3])
                and got["groups"][0]["name"] == b"g"
                and sorted(c["name"] for c in got["groups"][0]["consumers"])
                == [b"c", b"d", b"idle"]
            ),
        ),
    ),
    step("xgroup_destroy", "s", "g", expect=True),
    step("xgroup_destroy", "s", "g", expect=False),
    step("xdel", "s", "1-0", "9-0", expect=1),
    step("xtrim", "s", maxlen=1, approximate=False, expect=1),
    step("xrange", "s", expect=[E3]),
    step("xadd", "s", {"e": 5}, id="4-0", minid="4-0", approximate=False, expect=b"4-0"),
    step("xrange", "s", expect=[(b"4-0", {b"e": b"5"})]),
    step("xtrim", "s", minid="5-0", approximate=False, expect=1),
    step("xtrim", "s", maxlen=0, limit=0, expect=0),
]


@pytest.mark.every_transport
def test_scenario(r: babushka.Redis) -> None:
    run_sync(r, SCENARIO)


@pytest.mark.every_transport
async def test_scenario_async(ar: babushka.asyncio.Redis) -> None:
    await run_async(ar, SCENARIO)


def test_scenario_on_resp3(redis_server: RedisServer) -> None:
    run_resp3(redis_server, SCENARIO)


@pytest.mark.every_transport
@pytest.mark.parametrize("transaction", [False, True])
def test_pipeline(r: babushka.Redis, transaction: bool) -> None:
    # Blocking reads wait only in a plain pipeline, not in MULTI.
    steps = [s for s in SCENARIO if "block" not in s[2]]
    run_pipeline(r, steps, transaction=transaction)


def test_decode_responses(rd: babushka.Redis) -> None:
    rd.xadd("s", {"é": "ü"}, id="1-0")
    assert rd.xrange("s") == [("1-0", {"é": "ü"})]
    assert rd.xread({"s": 0}) == [["s", [("1-0", {"é": "ü"})]]]
    assert rd.xinfo_stream("s")["first-entry"] == ("1-0", {"é": "ü"})


def test_a_deleted_entry_reads_as_an_empty_dict(r: babushka.Redis) -> None:
    r.xadd("s", {"a": 1}, id="1-0")
    r.xgroup_create("s", "g", 0)
    r.xreadgroup("g", "c", {"s": ">"})
    r.xdel("s", "1-0")
    # The pending entry is gone from the stream: redis-py gives (id, {}).
    assert r.xreadgroup("g", "c", {"s": "0"}) == [[b"s", [(b"1-0", {})]]]


def test_xread_blocks_on_a_dedicated_connection(
    r: babushka.Redis, redis_server: RedisServer
) -> None:
    def add_later() -> None:
        time.sleep(0.3)
        other = babushka.Redis(host=redis_server.host, port=redis_server.port)
        try:
            other.xadd("s", {"late": 1}, id="5-0")
        finally:
            other.close()

    adder = threading.Thread(target=add_later)
    reply: list[Any] = []
    reader = threading.Thread(target=lambda: reply.append(r.xread({"s": "$"}, block=10_000)))
    reader.start()
    time.sleep(0.1)
    # The shared connection answers while the XREAD waits on its own one.
    assert r.ping() is True
    adder.start()
    reader.join(timeout=10)
    adder.join(timeout=10)
    assert reply == [[[b"s", [(b"5-0", {b"late": b"1"})]]]]


def test_bad_arguments_raise_before_sending(r: babushka.Redis) -> None:
    cases: list[Refusal] = [
        ("xadd", ("s", {}), {}, "fields"),
        ("xadd", ("s", [("a", 1)]), {}, "fields"),
        ("xadd", ("s", {"a": 1}), {"maxlen": 1, "minid": "1-0"}, "maxlen and minid"),
        ("xadd", ("s", {"a": 1}), {"maxlen": -1}, "maxlen"),
        ("xadd", ("s", {"a": 1}), {"limit": 5}, "limit needs"),
        ("xrange", ("s",), {"count": -1}, "count"),
        ("xread", ({},), {}, "streams"),
        ("xread", ({"s": 0},), {"block": -1}, "block"),
        ("xread", ({"s": 0},), {"count": "2"}, "count"),
        ("xreadgroup", ("g", "c", ["s"]), {}, "streams"),
        ("xack", ("s", "g"), {}, "at least one id"),
        ("xdel", ("s",), {}, "at least one id"),
        ("xclaim", ("s", "g", "c", 0, []), {}, "message_ids"),
        ("xclaim", ("s", "g", "c", -1, ["1-0"]), {}, "min_idle_time"),
        ("xclaim", ("s", "g", "c", 0, ["1-0"]), {"idle": "5"}, "idle"),
        ("xautoclaim", ("s", "g", "c", 0), {"count": 0}, "count"),
        ("xpending_range", ("s", "g", "-", "+", -1), {}, "count"),
        ("xpending_range", ("s", "g", "-", "+", None), {}, "go together"),
        ("xpending_range", ("s", "g", None, None, None), {"idle": 0}, "need min"),
        ("xtrim", ("s",), {}, "maxlen or minid"),
        ("xgroup_create", ("s", "g"), {"entries_read": "1"}, "entries_read"),
    ]
    expect_refusals(r, cases)
    assert r.dbsize() == 0


def test_server_errors_reach_the_caller(r: babushka.Redis) -> None:
    r.set("str", "v")
    with pytest.raises(babushka.ResponseError, match="WRONGTYPE"):
        r.xadd("str", {"a": 1})
    r.xadd("s", {"a": 1}, id="5-0")
    with pytest.raises(babushka.ResponseError, match="equal or smaller"):
        r.xadd("s", {"a": 1}, id="1-0")
    with pytest.raises(babushka.ResponseError, match="NOGROUP"):
        r.xreadgroup("nogroup", "c", {"s": ">"})
    r.xgroup_create("s", "g")
    with pytest.raises(babushka.ResponseError, match="BUSYGROUP"):
        r.xgroup_create("s", "g")
    # In a pipeline, the error takes its command's place.
    pipe = r.pipeline(transaction=False)
    pipe.xlen("s").xgroup_create("s", "g").xlen("s")
    first, error, last = pipe.execute(raise_on_error=False)
    assert (first, last) == (1, 1)
    assert isinstance(error, babushka.ResponseError) and "BUSYGROUP" in str(error)


#: Redis 8.2's reference policies: what is sent (neither test server has them).
NEWER_SERVER_ENCODINGS: list[Encoding] = [
    (
        "xadd",
        ("s", {"a": 1}),
        {"ref_policy": "DELREF", "maxlen": 5},
        ["XADD", "s", "DELREF", "MAXLEN", "~", 5, "*", "a", 1],
    ),
    (
        "xtrim",
        ("s",),
        {"minid": "5-0", "ref_policy": "ACKED"},
        ["XTRIM", "s", "MINID", "~", "5-0", "ACKED"],
    ),
    ("xdelex", ("s", "1-0", "2-0"), {}, ["XDELEX", "s", "KEEPREF", "IDS", 2, "1-0", "2-0"]),
    (
        "xnack",
        ("s", "g", "FAIL", "1-0"),
        {"retrycount": 2, "force": True},
        ["XNACK", "s", "g", "FAIL", "IDS", 1, "1-0", "RETRYCOUNT", 2, "FORCE"],
    ),
    ("xcfgset", ("s",), {"idmp_duration": 60}, ["XCFGSET", "s", "IDMP-DURATION", 60]),
    (
        "xcfgset",
        ("s",),
        {"idmp_duration": 1, "idmp_maxsize": 10},
        ["XCFGSET", "s", "IDMP-DURATION", 1, "IDMP-MAXSIZE", 10],
    ),
    ("xadd", ("s", {"a": 1}), {"idmpauto": "p1"}, ["XADD", "s", "IDMPAUTO", "p1", "*", "a", 1]),
    (
        "xadd",
        ("s", {"a": 1}),
        {"idmp": ("p1", b"i1")},
        ["XADD", "s", "IDMP", "p1", "i1", "*", "a", 1],
    ),
    (
        "xread",
        ({"s": 0},),
        {"count": 2, "max_count": 5, "max_size": 1000},
        ["XREAD", "COUNT", 2, "MAXCOUNT", 5, "MAXSIZE", 1000, "STREAMS", "s", 0],
    ),
    (
        "xreadgroup",
        ("g", "c", {"s": ">"}),
        {"claim_min_idle_time": 5000, "noack": True},
        ["XREADGROUP", "GROUP", "g", "c", "NOACK", "CLAIM", 5000, "STREAMS", "s", ">"],
    ),
    (
        "xackdel",
        ("s", "g", "1-0"),
        {"ref_policy": "ACKED"},
        ["XACKDEL", "s", "g", "ACKED", "IDS", 1, "1-0"],
    ),
]


test_what_newer_forms_send = sent_words_test(NEWER_SERVER_ENCODINGS)


def test_newer_forms_refuse_bad_arguments(r: babushka.Redis) -> None:
    with pytest.raises(babushka.DataError, match="ref_policy"):
        r.xadd("s", {"a": 1}, ref_policy="DROP")
    with pytest.raises(babushka.DataError, match="ref_policy"):
        r.xtrim("s", maxlen=1, ref_policy="keepref")
    with pytest.raises(babushka.DataError, match="at least one id"):
        r.xdelex("s")
    with pytest.raises(babushka.DataError, match="at least one id"):
        r.xackdel("s", "g")
    with pytest.raises(babushka.DataError, match="mode"):
        r.xnack("s", "g", "LOUD", "1-0")
    with pytest.raises(babushka.DataError, match="retrycount"):
        r.xnack("s", "g", "FAIL", "1-0", retrycount=-1)
    with pytest.raises(babushka.DataError, match="idmp_duration or idmp_maxsize"):
        r.xcfgset("s")
    with pytest.raises(babushka.DataError, match="between 1 and 300"):
        r.xcfgset("s", idmp_duration=301)
    with pytest.raises(babushka.DataError, match="only one of idmpauto and idmp"):
        r.xadd("s", {"a": 1}, idmpauto="p", idmp=("p", "i"))
    with pytest.raises(babushka.DataError, match="id='\\*'"):
        r.xadd("s", {"a": 1}, id="1-0", idmpauto="p")
    with pytest.raises(babushka.DataError, match="tuple"):
        r.xadd("s", {"a": 1}, idmp=["p", "i"])  # type: ignore[arg-type]
    with pytest.raises(babushka.DataError, match="max_count"):
        r.xread({"s": 0}, count=5, max_count=2)
    with pytest.raises(babushka.DataError, match="claim_min_idle_time"):
        r.xreadgroup("g", "c", {"s": ">"}, claim_min_idle_time=-5)
    assert r.dbsize() == 0
