"""Hash field expiry (HEXPIRE, HTTL, HPERSIST, ...) and HGETDEL, HGETEX,
HSETEX: what is sent, on every server (a recording proxy: Redis 7.0 answers
them with an unknown-command error), and what comes back, on the servers
that have them (Valkey 9.1)."""

from __future__ import annotations

import datetime
import time
from typing import Any

import pytest

import babushka
import babushka.asyncio
from support.recorder import as_words, words_sent
from support.refusals import Refusal, expect_refusals
from support.scenario import Check, run_async, run_pipeline, run_resp3, run_sync, step
from support.servers import RedisServer

# Command shapes: the default transport, and the tests marked every_transport
# (a sample of each reply shape) on the others (DESIGN.md, "Tests").
pytestmark = pytest.mark.command_shapes

LATER = datetime.datetime(2100, 1, 1, tzinfo=datetime.timezone.utc)
LATER_S = int(LATER.timestamp())

#: (method, args, kwargs, the words the server must receive).
ENCODINGS: list[tuple[str, tuple[Any, ...], dict[str, Any], list[bytes | str | int]]] = [
    ("hexpire", ("h", 100, "a", "b"), {}, ["HEXPIRE", "h", 100, "FIELDS", 2, "a", "b"]),
    (
        "hexpire",
        ("h", datetime.timedelta(minutes=1), "a"),
        {"nx": True},
        ["HEXPIRE", "h", 60, "NX", "FIELDS", 1, "a"],
    ),
    ("hpexpire", ("h", 1500, "a"), {"gt": True}, ["HPEXPIRE", "h", 1500, "GT", "FIELDS", 1, "a"]),
    (
        "hexpireat",
        ("h", LATER, "a"),
        {"xx": True},
        ["HEXPIREAT", "h", LATER_S, "XX", "FIELDS", 1, "a"],
    ),
    (
        "hpexpireat",
        ("h", LATER, "a"),
        {"lt": True},
        ["HPEXPIREAT", "h", LATER_S * 1000, "LT", "FIELDS", 1, "a"],
    ),
    ("httl", ("h", "a", "b"), {}, ["HTTL", "h", "FIELDS", 2, "a", "b"]),
    ("hpttl", ("h", "a"), {}, ["HPTTL", "h", "FIELDS", 1, "a"]),
    ("hexpiretime", ("h", "a"), {}, ["HEXPIRETIME", "h", "FIELDS", 1, "a"]),
    ("hpexpiretime", ("h", "a"), {}, ["HPEXPIRETIME", "h", "FIELDS", 1, "a"]),
    ("hpersist", ("h", "a"), {}, ["HPERSIST", "h", "FIELDS", 1, "a"]),
    ("hgetdel", ("h", "a", "b"), {}, ["HGETDEL", "h", "FIELDS", 2, "a", "b"]),
    ("hgetex", ("h", "a"), {}, ["HGETEX", "h", "FIELDS", 1, "a"]),
    ("hgetex", ("h", "a"), {"ex": 10}, ["HGETEX", "h", "EX", 10, "FIELDS", 1, "a"]),
    (
        "hgetex",
        ("h", "a"),
        {"pxat": LATER},
        ["HGETEX", "h", "PXAT", LATER_S * 1000, "FIELDS", 1, "a"],
    ),
    (
        "hgetex",
        ("h", "a", "b"),
        {"persist": True},
        ["HGETEX", "h", "PERSIST", "FIELDS", 2, "a", "b"],
    ),
    ("hsetex", ("h", "a", 1), {}, ["HSETEX", "h", "FIELDS", 1, "a", 1]),
    (
        "hsetex",
        ("h",),
        {"mapping": {"a": 1, "b": 2}, "px": 500, "data_persist_option": "FNX"},
        ["HSETEX", "h", "FNX", "PX", 500, "FIELDS", 2, "a", 1, "b", 2],
    ),
    (
        "hsetex",
        ("h", "a", "1"),
        {"items": ["b", "2"], "keepttl": True},
        ["HSETEX", "h", "KEEPTTL", "FIELDS", 2, "a", "1", "b", "2"],
    ),
    (
        "hsetex",
        ("h", "a", 1),
        {"exat": LATER},
        ["HSETEX", "h", "EXAT", LATER_S, "FIELDS", 1, "a", 1],
    ),
]


@pytest.mark.every_transport
@pytest.mark.parametrize(
    ("method", "args", "kwargs", "words"),
    ENCODINGS,
    ids=[f"{e[0]}-{n}" for n, e in enumerate(ENCODINGS)],
)
def test_what_is_sent(
    redis_server: RedisServer,
    transport: str,
    method: str,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    words: list[bytes | str | int],
) -> None:
    call = lambda r: getattr(r, method)(*args, **kwargs)  # noqa: E731
    sent = words_sent(redis_server.host, redis_server.port, call, transport)
    assert sent == as_words(*words)


def _ttl_near(seconds: int) -> Check:
    return Check(
        f"[about {seconds}]", lambda got: len(got) == 1 and seconds - 5 <= got[0] <= seconds
    )


SCENARIO = [
    step("hset", "h", mapping={"a": 1, "b": 2, "c": 3}, expect=3),
    step("hexpire", "h", 100, "a", "missing", expect=[1, -2]),
    step("hexpire", "h", 200, "a", nx=True, expect=[0]),
    step(
        "httl",
        "h",
        "a",
        "b",
        expect=Check("[~100, -1]", lambda got: 95 <= got[0] <= 100 and got[1] == -1),
    ),
    step("hpexpire", "h", 50_000, "b", expect=[1]),
    step("hpttl", "h", "b", expect=Check("[~50000]", lambda got: 45_000 <= got[0] <= 50_000)),
    step("hexpireat", "h", LATER, "c", expect=[1]),
    step("hexpiretime", "h", "c", expect=[LATER_S]),
    step("hpexpireat", "h", LATER_S * 1000 + 5, "c", gt=True, expect=[1]),
    step("hpexpiretime", "h", "c", expect=[LATER_S * 1000 + 5]),
    step("hpersist", "h", "a", "c", "missing", expect=[1, 1, -2]),
    step("httl", "h", "a", expect=[-1]),
    step("hexpire", "h", 0, "a", expect=[2]),
    step("hgetall", "h", expect={b"b": b"2", b"c": b"3"}),
    step("hsetex", "h2", "a", 1, ex=100, expect=1),
    step("httl", "h2", "a", expect=_ttl_near(100)),
    step("hsetex", "h2", mapping={"a": 2, "b": 3}, data_persist_option="FNX", expect=0),
    step("hsetex", "h2", "a", 2, items=["b", 3], keepttl=True, expect=1),
    step("httl", "h2", "a", expect=_ttl_near(100)),
    step("hgetex", "h2", "a", "b", "missing", persist=True, expect=[b"2", b"3", None]),
    step("httl", "h2", "a", expect=[-1]),
    step("hgetex", "h2", "a", px=90_000, expect=[b"2"]),
    step("httl", "h2", "a", expect=_ttl_near(90)),
    step("hgetdel", "h2", "a", "missing", expect=[b"2", None]),
    step("hgetall", "h2", expect={b"b": b"3"}),
]


def _require(redis_server: RedisServer) -> None:
    redis_server.require("hash field expiry, HGETEX, HSETEX, HGETDEL", redis=(8, 0), valkey=(9, 0))


@pytest.mark.every_transport
def test_scenario(r: babushka.Redis, redis_server: RedisServer) -> None:
    _require(redis_server)
    run_sync(r, SCENARIO)


async def test_scenario_async(ar: babushka.asyncio.Redis, redis_server: RedisServer) -> None:
    _require(redis_server)
    await run_async(ar, SCENARIO)


def test_scenario_on_resp3(redis_server: RedisServer) -> None:
    _require(redis_server)
    run_resp3(redis_server, SCENARIO)


def test_pipeline(r: babushka.Redis, redis_server: RedisServer) -> None:
    _require(redis_server)
    run_pipeline(r, SCENARIO, transaction=True)


def test_a_field_expires(r: babushka.Redis, redis_server: RedisServer) -> None:
    _require(redis_server)
    r.hset("h", mapping={"a": 1, "b": 2})
    assert r.hpexpire("h", 50, "a") == [1]
    deadline = time.monotonic() + 5
    while r.hexists("h", "a") and time.monotonic() < deadline:
        time.sleep(0.02)
    assert r.hgetall("h") == {b"b": b"2"}


def test_bad_arguments_raise_before_sending(r: babushka.Redis) -> None:
    cases: list[Refusal] = [
        ("hexpire", ("h", 10), {}, "at least one field"),
        ("hexpire", ("h", 10, "a"), {"nx": True, "gt": True}, "only one of"),
        ("hexpire", ("h", -1, "a"), {}, "seconds"),
        ("hpexpire", ("h", "10", "a"), {}, "milliseconds"),
        ("hexpireat", ("h", "soon", "a"), {}, "unix_time_seconds"),
        ("httl", ("h",), {}, "at least one field"),
        ("hgetdel", ("h",), {}, "at least one field"),
        ("hgetex", ("h", "a"), {"ex": 1, "persist": True}, "mutually exclusive"),
        ("hgetex", ("h",), {"ex": 1}, "at least one field"),
        ("hsetex", ("h",), {}, "at least one field"),
        ("hsetex", ("h", "a", 1), {"ex": 1, "keepttl": True}, "mutually exclusive"),
        ("hsetex", ("h", "a", 1), {"data_persist_option": "NX"}, "FNX or FXX"),
        ("hsetex", ("h",), {"items": ["a"]}, "pairs"),
    ]
    expect_refusals(r, cases)
    assert r.dbsize() == 0
